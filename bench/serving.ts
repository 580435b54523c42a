// bench/serving: the gateway against a no-op node:http server, raw session.run in-process, and FastAPI +
// onnxruntime (uvicorn), on the same ONNX file, the same cores and one load generator (autocannon) for all.
//
//   npx tsx bench/serving.ts [--duration 10] [--connections 32] [--processes <cores>]
//
// Uses DATABASE_URL when set, otherwise starts a PostgreSQL of its own (the prediction log is on, as in production).
// Prints a markdown report; bench/results/serving.md keeps one with the machine it ran on.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { createLocalArtifactStore } from '../platform/local-artifact-store.js';
import { createPool, migrate } from '../platform/db.js';
import { findPostgresBinDir, startLocalPostgres } from '../platform/local-postgres.js';
import { inheritedEnvironment } from '../platform/config.js';
import {
  deploy,
  elec2Features,
  elec2Rows,
  registerOnnx,
  trainElec2,
} from '../test/helpers/serving-models.js';
import { freePort } from '../test/helpers/free-port.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const duration = arg('duration', 10);
const connections = arg('connections', 32);
const processes = arg('processes', availableParallelism());
const root = join(import.meta.dirname, '..');

interface Run {
  readonly target: string;
  readonly rows: number;
  readonly rate?: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

function start(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  ready: RegExp,
): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-3000)}`)),
    );
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never answered`);
}

async function load(target: string, url: string, body: string, rows: number, rate?: number): Promise<Run> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
    ...(rate ? { overallRate: rate } : {}),
  });
  return {
    target,
    rows,
    ...(rate ? { rate } : {}),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

/** session.run in this process on prebuilt tensors, as fast as it goes, for `duration` seconds. */
async function rawSessionRun(path: string, rows: Record<string, number>[]): Promise<number> {
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const feeds = Object.fromEntries(
    elec2Features.map((f) => [
      f,
      new ort.Tensor('float32', Float32Array.from(rows.map((r) => r[f]!)), [rows.length, 1]),
    ]),
  );
  for (let i = 0; i < 200; i++) await session.run(feeds);
  let runs = 0;
  const end = performance.now() + duration * 1000;
  while (performance.now() < end) {
    await session.run(feeds);
    runs++;
  }
  await session.release();
  return runs / duration;
}

async function metrics(
  url: string,
): Promise<{ written: number; shed: number; batches: number; rows: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    written: value('slipway_gateway_log_rows_written_total'),
    shed: value('slipway_gateway_log_shed_rows_total'),
    batches: value('slipway_gateway_batch_rows_count'),
    rows: value('slipway_gateway_batch_rows_sum'),
  };
}

async function main(): Promise<void> {
  const env = inheritedEnvironment();
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-serving-'));
  await chmod(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const binDir = await findPostgresBinDir(env.PATH);
      if (!binDir) throw new Error('set DATABASE_URL or install PostgreSQL');
      const pg = await startLocalPostgres({ binDir, dataDir: join(dir, 'pg'), port: await freePort(), env });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }
    const schema = 'bench_serving';
    const pool = createPool({ url: databaseUrl, schema, max: 4 });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await migrate(pool, schema);
    const store = createLocalArtifactStore({ root: join(dir, 'artifacts') });
    const bytes = await trainElec2();
    const modelPath = join(dir, 'elec2.onnx');
    await writeFile(modelPath, bytes);
    await registerOnnx(pool, store, 'elec2', bytes);
    await deploy(pool, 'elec2', { champion: 1 });

    const one = JSON.stringify({ rows: await elec2Rows(30_000, 1) });
    const batchRows = await elec2Rows(30_000, 256);
    const many = JSON.stringify({ rows: batchRows });
    const ports = {
      gateway: await freePort(),
      noop: await freePort(),
      fastify: await freePort(),
      fastapi: await freePort(),
    };
    const startGateway = (port: number, extra: Record<string, string> = {}) =>
      spawn(process.execPath, ['--import', 'tsx', 'serving/main.ts'], {
        cwd: root,
        env: {
          ...env,
          LOG_LEVEL: 'warn',
          DATABASE_URL: databaseUrl,
          DATABASE_SCHEMA: schema,
          ARTIFACT_STORE: 'local',
          ARTIFACT_ROOT: join(dir, 'artifacts'),
          SERVING_PORT: String(port),
          SERVING_PROCESSES: String(processes),
          SLIPWAY_API_KEYS: '',
          ...extra,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    const gateway = startGateway(ports.gateway);
    stops.push(() => stopProcess(gateway));
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    await waitFor(`${gatewayUrl}/v2/health/ready`);
    const noop = await start(
      process.execPath,
      ['--import', 'tsx', 'bench/serving-noop.ts', String(ports.noop), String(processes)],
      env,
      /listening/,
    );
    stops.push(() => stopProcess(noop));
    const fastify = await start(
      process.execPath,
      ['--import', 'tsx', 'bench/serving-noop.ts', String(ports.fastify), String(processes), 'fastify'],
      env,
      /listening/,
    );
    stops.push(() => stopProcess(fastify));
    // uvicorn and its worker processes form one process group, stopped together.
    const fastapi = spawn(
      'python3',
      ['bench/serving_fastapi.py', '--port', String(ports.fastapi), '--workers', String(processes)],
      {
        cwd: root,
        env: { ...env, SERVING_MODEL: modelPath },
        stdio: 'ignore',
        detached: true,
      },
    );
    stops.push(async () => {
      process.kill(-fastapi.pid!, 'SIGTERM');
      await new Promise((r) => fastapi.once('exit', r));
    });
    await waitFor(`http://127.0.0.1:${ports.fastapi}/health`);

    const urls = {
      'no-op node:http': `http://127.0.0.1:${ports.noop}/v1/models/elec2/predict`,
      'no-op Fastify': `http://127.0.0.1:${ports.fastify}/v1/models/elec2/predict`,
      gateway: `${gatewayUrl}/v1/models/elec2/predict`,
      fastapi: `http://127.0.0.1:${ports.fastapi}/v1/models/elec2/predict`,
    };
    const startLoad = loadavg()[0]!;
    const runs: Run[] = [];
    // Warm-up: JIT, connections, onnxruntime's first runs.
    for (const url of Object.values(urls)) await load('warm-up', url, one, 1).catch(() => undefined);
    const before = await metrics(gatewayUrl);
    for (const [body, rows] of [
      [one, 1],
      [many, 256],
    ] as const) {
      for (const target of ['no-op node:http', 'no-op Fastify', 'gateway', 'fastapi'] as const)
        if (rows === 1 || target !== 'no-op Fastify') runs.push(await load(target, urls[target], body, rows));
      const max = runs.find((r) => r.target === 'gateway' && r.rows === rows)!.rps;
      runs.push(
        await load('gateway at half load', urls.gateway, body, rows, Math.max(1, Math.round(max / 2))),
      );
    }
    const after = await metrics(gatewayUrl);
    await stopProcess(gateway);

    // What the prediction log costs: the same gateway with a log buffer of one row, so nearly every row is shed
    // (counted) instead of written to PostgreSQL on these same cores.
    const shedding = startGateway(ports.gateway, { SERVING_LOG_BUFFER_ROWS: '1' });
    stops.push(() => stopProcess(shedding));
    await waitFor(`${gatewayUrl}/v2/health/ready`);
    await load('warm-up', urls.gateway, one, 1);
    for (const [body, rows] of [
      [one, 1],
      [many, 256],
    ] as const)
      runs.push(await load('gateway, log shed (not written)', urls.gateway, body, rows));
    const raw1 = await rawSessionRun(modelPath, batchRows.slice(0, 1));
    const raw256 = await rawSessionRun(modelPath, batchRows);
    const endLoad = loadavg()[0]!;

    const find = (target: string, rows: number) => runs.find((r) => r.target === target && r.rows === rows)!;
    const lines = [
      `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}, onnxruntime-node ${ort.env.versions.common}.`,
      `Load average at start / end: ${startLoad.toFixed(2)} / ${endLoad.toFixed(2)}. Gateway and no-op server: ${processes} processes; uvicorn: ${processes} workers; autocannon: ${connections} connections, ${duration} s a run.`,
      '',
      '| target | rows a request | requests/s | rows/s | p50 ms | p99 ms | errors |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...runs.map(
        (r) =>
          `| ${r.target}${r.rate ? ` (${r.rate} req/s)` : ''} | ${r.rows} | ${r.rps.toFixed(0)} | ${(r.rps * r.rows).toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} |`,
      ),
      `| raw session.run in-process | 1 | ${raw1.toFixed(0)} runs/s | ${raw1.toFixed(0)} | | | |`,
      `| raw session.run in-process | 256 | ${raw256.toFixed(0)} runs/s | ${(raw256 * 256).toFixed(0)} | | | |`,
      '',
      `Fastify answering the same fixed JSON (parsing the body): ${((find('no-op Fastify', 1).rps / find('no-op node:http', 1).rps) * 100).toFixed(1)} % of node:http's requests/s.`,
      `Goals, 1-row requests: gateway / no-op = ${((find('gateway', 1).rps / find('no-op node:http', 1).rps) * 100).toFixed(1)} % (goal >= 85 %); gateway / FastAPI = ${(find('gateway', 1).rps / find('fastapi', 1).rps).toFixed(2)}x (goal >= 3x); p99 at half load = ${find('gateway at half load', 1).p99} ms (goal <= 5 ms).`,
      `256-row requests: gateway / FastAPI = ${(find('gateway', 256).rps / find('fastapi', 256).rps).toFixed(2)}x; p99 at half load = ${find('gateway at half load', 256).p99} ms.`,
      `Prediction log during the runs: ${after.written - before.written} rows written, ${after.shed - before.shed} shed; ${after.rows - before.rows} rows scored in ${after.batches - before.batches} session.run calls (${((after.rows - before.rows) / Math.max(1, after.batches - before.batches)).toFixed(1)} rows a run).`,
    ];
    console.log(lines.join('\n'));
    await pool.end();
    await store.close();
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
