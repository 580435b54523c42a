// A new user's first steps: `git clone` of this checkout's HEAD into an empty folder with nothing beside it, a fresh
// HOME, no environment variable but PATH and HOME, `npm ci` (from npm's package cache, the one thing shared, going to
// the registry only for a package the cache lacks), then
// the clone's own worker and API against the test stack, and one `slipway train` of the README's example.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritedEnvironment } from '../../platform/config.js';
import { stopChild } from '../../platform/temporal-dev-server.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { freePort } from '../helpers/free-port.js';
import { testStack } from '../helpers/stack.js';
import { uniquePrefix } from '../helpers/workers.js';

const run = promisify(execFile);

/** Runs a command to completion with exactly `env`; resolves with its output, rejects with it on failure. */
async function sh(command: string, args: string[], cwd: string, env: Record<string, string>) {
  return run(command, args, { cwd, env, maxBuffer: 1 << 26, timeout: 600_000 });
}

describe('a fresh clone works with the README commands and nothing else', () => {
  let parent: string;
  let home: string;
  let clone: string;
  let db: Awaited<ReturnType<typeof createTestDb>>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    parent = await realpath(await mkdtemp(join(tmpdir(), 'slipway-clone-')));
    home = await mkdtemp(join(tmpdir(), 'slipway-home-'));
    clone = join(parent, 'slipway');
    db = await createTestDb('clone');
  });

  afterAll(async () => {
    for (const child of children) await stopChild(child, 10_000).catch(() => undefined);
    if (db) await dropTestSchema(db.pool, db.schema);
    await Promise.all([parent, home].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('clones, installs with `npm ci` and no variable set, and trains the Elec2 example against the stack', async () => {
    const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot });
    // A fresh user: a HOME of their own, no npm_config_* or any other variable, only PATH. npm's package cache is
    // reachable (in CI it holds every package, as .ci/run's own npm ci filled it); nothing else of this HOME is.
    const env = { PATH: inheritedEnvironment().PATH ?? '/usr/bin:/bin', HOME: home };
    const { stdout: cache } = await run('npm', ['config', 'get', 'cache'], { cwd: tmpdir() });
    await mkdir(join(home, '.npm'), { recursive: true });
    await symlink(join(cache.trim(), '_cacache'), join(home, '.npm', '_cacache'));

    await sh('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone], parent, env);
    await sh('git', ['checkout', '--quiet', '--detach', head.trim()], clone, env);
    expect(await readdir(parent)).toEqual(['slipway']);

    const ci = await sh('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], clone, env);
    expect(ci.stdout).toMatch(/added \d+ packages/);
    // onnxruntime-node's install script, which downloads CUDA files, did not run (or skipped itself).
    await expect(
      readdir(join(clone, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64')),
    ).resolves.not.toContain('libonnxruntime_providers_cuda.so');

    const stack = testStack();
    const apiPort = await freePort();
    const stackEnv = {
      ...env,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: stack.temporalNamespace,
      DATABASE_URL: db.url,
      DATABASE_SCHEMA: db.schema,
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: stack.s3.endpoint,
      S3_BUCKET: stack.s3.bucket,
      S3_REGION: stack.s3.region,
      S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      S3_PREFIX: `clone-${uniquePrefix('x')}`,
      TASK_QUEUE_PREFIX: uniquePrefix('clone'),
      API_PORT: String(apiPort),
      SLIPWAY_API_URL: `http://127.0.0.1:${apiPort}`,
      LOG_LEVEL: 'warn',
    };
    for (const entry of ['workers/main.ts', 'api/main.ts']) {
      children.push(
        spawn(process.execPath, ['--import', 'tsx', entry], {
          cwd: clone,
          env: stackEnv,
          stdio: ['ignore', 'inherit', 'inherit'],
        }),
      );
    }
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${apiPort}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (children.some((c) => c.exitCode !== null)) throw new Error("the clone's worker or API exited");
      if (Date.now() > deadline) throw new Error("the clone's API did not answer within 180 s");
      await new Promise((r) => setTimeout(r, 250));
    }

    const trained = await sh(
      'npx',
      ['--no', 'slipway', 'train', 'examples/elec2-logistic.yaml', '--json'],
      clone,
      stackEnv,
    );
    const result = JSON.parse(trained.stdout) as { outcome: string; model: string; version: number };
    expect(result).toMatchObject({ outcome: 'registered', model: 'elec2-price', version: 1 });
    // The data came from the clone's own datasets/, nothing outside it.
    const { rows } = await db.pool.query<{ source: string }>(
      `SELECT v.metadata->'ingest'->>'source' AS source FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'elec2-price'`,
    );
    expect(rows).toEqual([{ source: join(clone, 'datasets', 'electricity.csv') }]);
  }, 600_000);
});
