import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { trainerEnvHelp } from '../../domain/pipeline-spec.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { runCli, startTestApi } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

describe('the slipway CLI and the training API', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let api: { app: FastifyInstance; url: string };
  let dir: string;
  const prefix = uniquePrefix('cli');

  beforeAll(async () => {
    db = await createTestDb('cli');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `cli-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'cpu-box',
        device: 'cpu',
        codeVersion: 'test',
      },
    });
    api = await startTestApi({ client, db: db.pool, store, queuePrefix: prefix });
    dir = await mkdtemp(join(tmpdir(), 'slipway-cli-'));
  });

  afterAll(async () => {
    await api?.app.close();
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('`slipway train --json` registers a version and prints its lineage; `models list/show` read it back', async () => {
    const trained = await runCli(['train', 'examples/elec2-logistic.yaml', '--json', '--api', api.url]);
    expect(trained.stderr).toContain('started training-elec2-price-');
    expect(trained.code).toBe(0);
    const result = JSON.parse(trained.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ outcome: 'registered', model: 'elec2-price', version: 1 });
    expect(result.datasetSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.artifactUri).toMatch(/^s3:\/\//);
    expect(result.artifactSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.reports).toMatchObject({
      evaluationHtml: expect.stringMatching(/\.html$/),
      validationHtml: expect.stringMatching(/\.html$/),
    });

    const list = await runCli(['models', 'list', '--json', '--api', api.url]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ name: 'elec2-price', latestVersion: 1 }),
    ]);

    const show = await runCli(['models', 'show', 'elec2-price:1', '--json', '--api', api.url]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({
      model: 'elec2-price',
      version: 1,
      datasetSha256: result.datasetSha256,
      codeVersion: 'test',
    });

    const missing = await runCli(['models', 'show', 'elec2-price:9', '--api', api.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no version 9');
  });

  it('refuses a bad spec before anything starts, listing every problem by field path', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      'model: Bad Name\ndataset: {}\ntarget: y\nsplit: { kind: sideways }\ntrainer: { kind: builtin, name: xgboost }\nresources: { gpu: 0, gpuClass: a100 }\n',
    );
    const run = await runCli(['train', bad, '--api', api.url]);
    expect(run.code).toBe(2);
    for (const path of ['model', 'dataset.source', 'split.kind', 'trainer.name', 'resources.gpuClass'])
      expect(run.stderr).toContain(`${path}:`);

    const post = (spec: unknown) =>
      fetch(`${api.url}/v1/training-runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ spec }),
      });
    const response = await post({ model: 'x' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['dataset', 'target', 'split', 'trainer']),
    );

    // A spec that names a program, or sets an environment variable that changes which code runs, is refused
    // before anything starts, naming the field and the reason.
    const argv = await post({
      model: 'x',
      dataset: { source: 'electricity.csv' },
      target: 'class',
      split: { kind: 'time' },
      trainer: {
        kind: 'command',
        command: ['python3', '-c', 'open("/tmp/pwned", "w").write("x")'],
        env: { LD_PRELOAD: '/tmp/evil.so' },
      },
    });
    expect(argv.status).toBe(400);
    expect(((await argv.json()) as { errors: unknown[] }).errors).toEqual([
      {
        path: 'trainer.name',
        message: 'expected a registered trainer name: 1-63 lower-case letters, digits, _ and -',
      },
      {
        path: 'trainer.env.LD_PRELOAD',
        message: `a spec may not set LD_PRELOAD (${trainerEnvHelp})`,
      },
      {
        path: 'trainer.command',
        message:
          "a spec cannot name a program to run (command); name a trainer that the worker's operator registered, with trainer.name",
      },
    ]);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM runs WHERE model_name = 'x'`);
    expect(rows[0].n).toBe(0);
  });

  it('exits non-zero with the reason when a gate rejects the model', async () => {
    const spec = join(dir, 'strict.yaml');
    await writeFile(
      spec,
      `model: elec2-strict\ndataset: { source: ${join(process.cwd(), 'datasets', 'electricity.csv')} }\ntarget: class\nsplit: { kind: time, testFraction: 0.3 }\ntrainer: { kind: builtin, name: logistic_regression }\nevaluation: { gates: { min: { auc: 0.99 } } }\n`,
    );
    const run = await runCli(['train', spec, '--api', api.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/rejected at evaluate/);
    expect(run.stdout).toMatch(/auc 0\.\d+ < minimum 0\.99/);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM models m JOIN model_versions v ON v.model_id = m.id WHERE m.name = 'elec2-strict'`,
    );
    expect(rows[0].n).toBe(0);
    const runs = await db.pool.query(`SELECT status, reason FROM runs WHERE model_name = 'elec2-strict'`);
    expect(runs.rows).toEqual([{ status: 'rejected', reason: expect.stringContaining('auc') }]);
  });
});
