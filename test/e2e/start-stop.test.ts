import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { inheritedEnvironment } from '../../platform/config.js';
import { createPool } from '../../platform/db.js';
import { startEmbeddedPostgres } from '../../platform/embedded-postgres.js';
import { freePort } from '../helpers/free-port.js';

const root = join(import.meta.dirname, '..', '..');

/** PIDs of live processes whose environment mentions `marker` (the stack's SLIPWAY_HOME). */
async function processesMentioning(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.includes(marker)) found.push(Number(entry));
  }
  return found;
}

/** Runs `slipway up` in its own process group, waits until it is ready, then sends Ctrl-C (SIGINT) to the group. */
async function upThenCtrlC(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'up'], {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Press Ctrl-C to stop.')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`slipway up exited early (${code}):\n${output}`)));
  });
  process.kill(-child.pid!, 'SIGINT');
  return { code: await exited, output };
}

describe('npm start (slipway up)', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('comes up, runs the skeleton, and leaves no process behind after Ctrl-C; data survives a restart', async () => {
    const home = await mkdtemp(join(tmpdir(), 'slipway-up-'));
    dirs.push(home);
    const env = {
      ...inheritedEnvironment(),
      SLIPWAY_HOME: home,
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      API_PORT: String(await freePort()),
      SERVING_PORT: String(await freePort()),
      EMBEDDED_DB_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
    };
    for (let round = 1; round <= 2; round++) {
      const { code, output } = await upThenCtrlC(env);
      expect(output).toContain(`Temporal UI:   http://127.0.0.1:${env.TEMPORAL_UI_PORT}`);
      expect(output).toContain(`Gateway:       http://127.0.0.1:${env.SERVING_PORT}`);
      expect(code).toBe(0);
      // Nothing that carried this stack's home may still run once the kernel has reaped what exited.
      await vi.waitFor(async () => expect(await processesMentioning(home)).toEqual([]), {
        timeout: 10_000,
        interval: 100,
      });
    }
    // Both rounds' skeleton runs are in the embedded database: its data outlived the first shutdown.
    const pg = await startEmbeddedPostgres({ dataDir: join(home, 'pgdata'), port: await freePort() });
    const pool = createPool({ url: pg.url, schema: 'slipway', max: 1 });
    try {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM skeleton_runs');
      expect(rows[0]?.n).toBe(2);
    } finally {
      await pool.end();
      await pg.stop();
    }
  });
});
