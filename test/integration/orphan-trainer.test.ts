// A command trainer dies with its worker: SIGKILL a real worker process (workers/main.ts) while its trainer runs, and
// the trainer's whole process group (the program and a child it started) is gone within 5 s, so a retry on another
// worker never runs beside an orphan.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { inheritedEnvironment } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { exampleSpec, startTraining } from '../helpers/training.js';
import { testClient, uniquePrefix } from '../helpers/workers.js';

/** The live (not zombie) processes whose process group is `pgid`, from /proc. */
async function liveMembers(pgid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces, inside parentheses): state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

async function pollFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A trainer that starts a child of its own, records both pids, says it is at step 1, and then trains "forever".
const trainer = `
sleep 600 &
echo "$$ $!" > "$TRAINER_PIDFILE"
echo 'SLIPWAY_PROGRESS {"step": 1, "totalSteps": 100}'
wait
`;

describe('a command trainer dies with its worker', () => {
  let db: { pool: Pool; schema: string; url: string };
  let client: Client;
  let dir: string;
  let worker: ChildProcess | undefined;
  let handle: WorkflowHandle | undefined;
  const prefix = uniquePrefix('orphan');

  beforeAll(async () => {
    db = await createTestDb('orphan');
    client = await testClient();
    dir = await mkdtemp(join(tmpdir(), 'slipway-orphan-'));
    await writeFile(join(dir, 'trainer.sh'), trainer);
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await handle?.terminate('test over').catch(() => undefined);
    await client?.connection.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL of the worker: the trainer and what it started are gone within 5 s', async () => {
    const stack = testStack();
    worker = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: repoRoot,
      env: {
        ...inheritedEnvironment(),
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
        S3_PREFIX: `orphan-${randomBytes(4).toString('hex')}`,
        TASK_QUEUE_PREFIX: prefix,
        WORKER_TAGS: 'cpu',
        LOG_LEVEL: 'warn',
        SLIPWAY_CODE_VERSION: 'test',
        SLIPWAY_COMMAND_TRAINERS: `forever=/bin/sh:${join(dir, 'trainer.sh')}`,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const pidfile = join(dir, 'pids');
    const spec = await exampleSpec('elec2-python.yaml', {
      trainer: { kind: 'command', name: 'forever', params: {}, env: { TRAINER_PIDFILE: pidfile } },
    });
    handle = await startTraining(client, spec, prefix);

    const [trainerPid, childPid] = await pollFor(
      'the trainer to start',
      async () => {
        const text = await readFile(pidfile, 'utf8').catch(() => '');
        return /^\d+ \d+\n$/.test(text) ? text.trim().split(' ').map(Number) : undefined;
      },
      240_000,
    );
    const stat = await readFile(`/proc/${trainerPid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    const members = await liveMembers(pgid);
    // The group: the watchdog shell that leads it, the trainer, the trainer's child (and the watchdog's poll).
    expect(members).toEqual(expect.arrayContaining([pgid, trainerPid, childPid]));
    expect(pgid).not.toBe(worker.pid);

    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    await pollFor(
      'the trainer process group to be gone',
      async () => ((await liveMembers(pgid)).length === 0 ? true : undefined),
      5_000,
    );
    const goneAfterMs = Date.now() - killedAt;
    expect(goneAfterMs).toBeLessThan(5_000);
    process.stderr.write(
      `orphan-trainer: process group gone ${goneAfterMs} ms after SIGKILL of the worker\n`,
    );
  });
});
