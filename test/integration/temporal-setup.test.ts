import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { inheritedEnvironment } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { requireSearchAttributes, searchAttributeStatus } from '../../platform/search-attributes.js';
import { findExecutable } from '../../platform/tool-cache.js';
import { repoRoot, runCli } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { testClient } from '../helpers/workers.js';

const run = promisify(execFile);

/**
 * `slipway temporal setup` on a namespace that has never seen Slipway (any cluster, not only the dev server that
 * registers the attributes at start), and the start-up error of a worker that finds them missing.
 */
describe('slipway temporal setup', () => {
  let client: Client;
  let db: { pool: Pool; schema: string; url: string };
  const namespace = `slipway-setup-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    client = await testClient();
    db = await createTestDb('setup');
    const temporal = await findExecutable('temporal', inheritedEnvironment().PATH);
    if (!temporal) throw new Error('the temporal CLI is not on PATH or in the tool cache');
    await run(temporal, [
      'operator',
      'namespace',
      'create',
      '--namespace',
      namespace,
      '--address',
      testStack().temporalAddress,
    ]);
    // A new namespace is served once the frontend's namespace cache has it.
    for (const deadline = Date.now() + 60_000; ;) {
      const ok = await client.connection.operatorService
        .listSearchAttributes({ namespace })
        .then(() => true)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} never became available`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  afterAll(async () => {
    await client?.connection.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const env = () => ({ TEMPORAL_ADDRESS: testStack().temporalAddress, TEMPORAL_NAMESPACE: namespace });

  it('a worker on a namespace without the search attributes refuses to start, naming the command', async () => {
    await expect(requireSearchAttributes(client.connection.operatorService, namespace)).rejects.toThrow(
      `Temporal namespace "${namespace}" is not set up for Slipway's search attributes (missing ModelName, Stage, ChampionVersion). Run \`slipway temporal setup\``,
    );
    const worker = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: repoRoot,
      env: {
        ...inheritedEnvironment(),
        ...env(),
        DATABASE_URL: db.url,
        DATABASE_SCHEMA: db.schema,
        ARTIFACT_ROOT: `/tmp/slipway-setup-${randomBytes(4).toString('hex')}`,
        TASK_QUEUE_PREFIX: `t-setup-${randomBytes(4).toString('hex')}`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('Run `slipway temporal setup`');
  });

  it('--check reports them missing; setup adds them; a second setup changes nothing', async () => {
    const check = await runCli(['temporal', 'setup', '--check'], env());
    expect(check.code).toBe(1);
    expect(check.stdout).toBe(
      'missing  ModelName (KEYWORD)\nmissing  Stage (KEYWORD)\nmissing  ChampionVersion (INT)\n',
    );

    const first = await runCli(['temporal', 'setup'], env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('added    ModelName\nadded    Stage\nadded    ChampionVersion\n');
    const status = await searchAttributeStatus(client.connection.operatorService, namespace);
    expect(status.present.map((k) => `${k.name}:${k.type}`)).toEqual([
      'ModelName:KEYWORD',
      'Stage:KEYWORD',
      'ChampionVersion:INT',
    ]);

    const second = await runCli(['temporal', 'setup'], env());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('already set up');
    expect(second.stdout).not.toContain('added');
    expect((await runCli(['temporal', 'setup', '--check'], env())).code).toBe(0);
    await expect(
      requireSearchAttributes(client.connection.operatorService, namespace),
    ).resolves.toBeUndefined();
  });
});
