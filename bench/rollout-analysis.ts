// How long one rollout analysis takes (the measureStep activity's SQL, platform/rollout-metrics.ts) as a phase's
// traffic grows: requests shadowed by the challenger (two prediction rows each) with half of them labelled, on a real
// PostgreSQL (DATABASE_URL, or one started here from the local installation).
//
//   npx tsx bench/rollout-analysis.ts            # 10k, 100k and 1M requests in one phase; median of 5 analyses each
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { inheritedEnvironment } from '../platform/config.js';
import { createPool, migrate, quoteIdent } from '../platform/db.js';
import { findPostgresBinDir, startLocalPostgres } from '../platform/local-postgres.js';
import { readStepMetrics } from '../platform/rollout-metrics.js';
import { freePort } from '../test/helpers/free-port.js';

const sizes = [10_000, 100_000, 1_000_000];
const repeat = 5;

async function database(): Promise<{ url: string; stop: () => Promise<void> }> {
  const env = inheritedEnvironment();
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, stop: () => Promise.resolve() };
  const binDir = await findPostgresBinDir(env.PATH);
  if (!binDir) throw new Error('PostgreSQL not found: set DATABASE_URL or install PostgreSQL');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-pg-'));
  await chmod(dir, 0o755);
  const pg = await startLocalPostgres({ binDir, dataDir: join(dir, 'pg'), port: await freePort(), env });
  return {
    url: pg.url,
    stop: async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const { url, stop } = await database();
const schema = `bench_rollout_${process.pid}`;
const pool = createPool({ url, schema, max: 8 });
await migrate(pool, schema);
console.log(
  `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}`,
);
const { rows: version } = await pool.query<{ server_version: string }>('SHOW server_version');
console.log(
  `PostgreSQL ${version[0]?.server_version}; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(', ')} at the start\n`,
);
console.log('| requests in the phase | prediction rows | labels | analysis, median of 5 (min) |');
console.log('| --------------------- | --------------- | ------ | ---------------------------- |');
try {
  for (const n of sizes) {
    const model = `bench-${n}`;
    const from = new Date(Date.now() - 10 * 60_000);
    await pool.query('SELECT ensure_predictions_partition($1::date)', [from.toISOString().slice(0, 10)]);
    await pool.query('SELECT ensure_predictions_partition($1::date)', [
      new Date().toISOString().slice(0, 10),
    ]);
    // Each request: the champion's answer and the challenger's shadow score, close to each other; half labelled.
    await pool.query(
      `INSERT INTO predictions (at, request_id, model_name, version, role, served, fallback, inputs, score, predicted_label, error, latency_ms)
       SELECT $2::timestamptz + (i * interval '600 seconds') / $3, $1 || ':' || i, $1, v, role, role = 'champion', false, '{}'::jsonb,
              s, CASE WHEN s >= 0.5 THEN '1' ELSE '0' END, NULL, 1 + random() * 3
       FROM generate_series(1, $3) AS i,
            LATERAL (SELECT random() AS base) b,
            LATERAL (VALUES (1, 'champion', b.base), (2, 'shadow', least(1, greatest(0, b.base + (random() - 0.5) * 0.02)))) AS x(v, role, s)`,
      [model, from.toISOString(), n],
    );
    await pool.query(
      `INSERT INTO feedback (request_id, model_name, label, label_positive, actor)
       SELECT $1 || ':' || i, $1, CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, random() < 0.5, 'bench'
       FROM generate_series(1, $2, 2) AS i`,
      [model, n],
    );
    await pool.query('ANALYZE predictions');
    await pool.query('ANALYZE feedback');
    const times: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const started = performance.now();
      const metrics = await readStepMetrics(pool, {
        model,
        champion: 1,
        challenger: 2,
        from: from.toISOString(),
        threshold: 0.5,
      });
      times.push(performance.now() - started);
      if (metrics.paired.samples !== n)
        throw new Error(`expected ${n} paired requests, got ${metrics.paired.samples}`);
    }
    times.sort((a, b) => a - b);
    const fmt = (ms: number) => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
    console.log(
      `| ${n.toLocaleString('en')} | ${(2 * n).toLocaleString('en')} | ${Math.ceil(n / 2).toLocaleString('en')} | ${fmt(times[Math.floor(repeat / 2)]!)} (${fmt(times[0]!)}) |`,
    );
  }
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
  await stop();
}
