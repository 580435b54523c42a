import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * Runs `slipway up` in its own process group until its output satisfies `done`, then sends Ctrl-C (SIGINT) to the
 * group, as a terminal does.
 */
async function upThenCtrlC(
  env: Record<string, string | undefined>,
  done: (output: string) => boolean,
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
      if (done(output)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`slipway up exited early (${code}):\n${output}`)));
  });
  process.kill(-child.pid!, 'SIGINT');
  return { code: await exited, output };
}

/**
 * The demo lifecycle with every duration in seconds: a monitor window every 2 s, one short canary step, approval
 * gates that promote after 3 s, and one retrain at most, so the run ends in a known state.
 */
function fastDemoSpec(): string {
  return JSON.stringify({
    pipeline: join(root, 'examples', 'elec2-early-logistic.yaml'),
    monitor: { interval: '2s', lag: '500ms', minRows: 150, predictionDrift: false },
    rollout: {
      shadow: { bakeTime: '1s', minSamples: 50, maxWait: '60s' },
      steps: [{ weight: 50, bakeTime: '1s', minSamples: 50, maxWait: '60s' }],
      analysis: {
        interval: '500ms',
        maxAccuracyDrop: 0.1,
        maxAucDrop: 0.15,
        maxScoreDivergence: 0.9,
        minLabels: 50,
        latencyToleranceMs: 250,
      },
      approval: { timeout: '3s', onTimeout: 'promote' },
    },
    retrain: {
      checkEvery: '1s',
      cooldown: '2s',
      budget: { max: 1, per: '1h' },
      triggers: { drift: { features: ['vicprice', 'vicdemand', 'transfer'] } },
      data: { window: { maxRows: 3000 }, minRows: 500, original: false },
    },
  });
}

describe('npm start (slipway up)', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('runs a whole lifecycle on its own, stops on Ctrl-C leaving no process, and resumes it on the next start', async () => {
    const home = await mkdtemp(join(tmpdir(), 'slipway-up-'));
    dirs.push(home);
    const specPath = join(home, 'fast-demo.json');
    await writeFile(specPath, fastDemoSpec());
    const env = {
      ...inheritedEnvironment(),
      SLIPWAY_HOME: home,
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      API_PORT: String(await freePort()),
      EMBEDDED_DB_PORT: String(await freePort()),
      SERVING_PORT: String(await freePort()),
      SLIPWAY_DEMO_SPEC: specPath,
      SLIPWAY_DEMO_SPEED: '300',
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
    };
    const ui = `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`;

    // First start: a champion is trained and promoted, the replay drifts, an alert fires, the retrain goes through
    // shadow and a canary and is promoted; each decision is printed as it happens, with its links.
    const first = await upThenCtrlC(env, (output) => /promoted\s+version 2 promoted over 1/.test(output));
    expect(first.code).toBe(0);
    const out = first.output;
    expect(out).toContain(`Temporal UI:   ${ui}`);
    expect(out).toContain(`Gateway:       http://127.0.0.1:${env.SERVING_PORT}`);
    expect(out).toContain(`Started lifecycle-elec2-price from ${specPath}`);
    expect(out).toMatch(/Approvals: this demo's spec promotes an approval gate nobody answers within 3 s/);
    const order = [
      /trained\s+trained version 1/,
      /promoted\s+version 1 promoted/,
      /alert\s+feature "(vicprice|vicdemand|transfer)" drifted/,
      /retrain-triggered retrain: drift on (vicprice|vicdemand|transfer)/,
      /trained\s+trained version 2/,
      /traffic\s+v2 answers 0 % and shadows the rest/,
      /traffic\s+v2 answers 50 %/,
      /promoted\s+version 2 promoted over 1/,
    ].map((pattern) => out.search(pattern));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).toContain(`Temporal UI: ${ui}/namespaces/default/workflows/training-elec2-price-`);
    expect(out).toMatch(/evaluation report: .*\.html/);
    expect(out).toMatch(/drift report: .*\.html/);
    await vi.waitFor(async () => expect(await processesMentioning(home)).toEqual([]), {
      timeout: 15_000,
      interval: 100,
    });
    const replayed = JSON.parse(await readFile(join(home, 'replay-elec2-price.json'), 'utf8')) as {
      nextRow: number;
    };
    expect(replayed.nextRow).toBeGreaterThan(17_424);

    // Second start: the same lifecycle resumes where it was, and so does the replay.
    const second = await upThenCtrlC(env, (output) =>
      /replay: .*rows (\d+)\.\.45312/.test(output.slice(output.indexOf('Resuming'))),
    );
    expect(second.code).toBe(0);
    expect(second.output).toMatch(
      /Resuming lifecycle-elec2-price where it was \(\w+, champion 2, \d+ events so far\)/,
    );
    const resumedAt = Number(/replay: .*rows (\d+)\.\.45312/.exec(second.output)?.[1]);
    expect(resumedAt).toBe(replayed.nextRow + 1);
    await vi.waitFor(async () => expect(await processesMentioning(home)).toEqual([]), {
      timeout: 15_000,
      interval: 100,
    });

    // Both starts' data is in the embedded database: one lifecycle, started once, with version 2 the champion.
    const pg = await startEmbeddedPostgres({ dataDir: join(home, 'pgdata'), port: await freePort() });
    const pool = createPool({ url: pg.url, schema: 'slipway', max: 1 });
    try {
      const { rows: skeletons } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM skeleton_runs',
      );
      expect(skeletons[0]?.n).toBe(2);
      const { rows: started } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM lifecycle_events WHERE kind = 'started'",
      );
      expect(started[0]?.n).toBe(1);
      const { rows: champion } = await pool.query<{ version: number }>(
        `SELECT a.version FROM aliases a JOIN models m ON m.id = a.model_id WHERE m.name = 'elec2-price' AND a.alias = 'champion'`,
      );
      expect(champion[0]?.version).toBe(2);
    } finally {
      await pool.end();
      await pg.stop();
    }
  });
});
