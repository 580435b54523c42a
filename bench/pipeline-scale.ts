// The 1M x 50 pipeline end to end through the real training workflow on the real stack: ingest -> validate -> train
// -> evaluate -> register, once with the GBDT and once with logistic regression. A worker process (workers/main.ts,
// as production runs it) serves a queue of its own; per-stage timings come from each run's own history, the
// worker's peak RSS from /proc (VmHWM: the process, its threads included), and the time outside activities is the
// run's wall time minus the union of its activities' scheduled-to-closed spans.
//
//   npx tsx bench/scale-data.ts                                   # once: bench/.cache/scale-1000000.csv
//   set -a; eval "$(bash infra/scripts/provision.sh start)"; set +a   # Temporal, PostgreSQL, MinIO on loopback
//   npx tsx bench/pipeline-scale.ts [--trainers gbdt,logistic_regression]
//   bash infra/scripts/provision.sh stop
import { spawn } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { temporal } from '@temporalio/proto';
import { parsePipelineSpec } from '../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import type { TrainingResult } from '../domain/training.js';
import { inheritedEnvironment, loadConfig } from '../platform/config.js';
import { specHash } from '../platform/spec-file.js';
import { connectClient, temporalTarget } from '../platform/temporal.js';
import { training } from '../workflows/training.js';
import { benchDir, cacheDir, scaleCsvPath } from './datasets.js';

const args = process.argv.slice(2);
const trainers = (
  args.includes('--trainers') ? args[args.indexOf('--trainers') + 1]! : 'gbdt,logistic_regression'
).split(',');
const env = inheritedEnvironment();
const config = loadConfig(env);
const csv = scaleCsvPath(1_000_000);
if (!existsSync(csv)) throw new Error(`write the data first: npx tsx bench/scale-data.ts (${csv})`);
if (!config.TEMPORAL_ADDRESS || !config.DATABASE_URL || config.ARTIFACT_STORE !== 's3') {
  throw new Error(
    'start the stack and export its settings first: set -a; eval "$(bash infra/scripts/provision.sh start)"; set +a',
  );
}

const prefix = `bench-${randomBytes(3).toString('hex')}`;
const schema = `bench_${randomBytes(3).toString('hex')}`;
const worker = spawn(process.execPath, ['--import', 'tsx', join(benchDir, '..', 'workers', 'main.ts')], {
  env: {
    ...env,
    WORKER_TAGS: 'cpu',
    TASK_QUEUE_PREFIX: prefix,
    DATABASE_SCHEMA: schema,
    S3_PREFIX: prefix,
    SLIPWAY_DATA_ROOTS: cacheDir,
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const peakRssMib = (): number => {
  const status = readFileSync(`/proc/${worker.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
};

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** Per-activity spans (scheduled -> closed) and the wall time of a run, from its history. */
function spans(events: temporal.api.history.v1.IHistoryEvent[]): {
  wall: number;
  stages: { activity: string; queued: number; ran: number; total: number; start: number; end: number }[];
} {
  const scheduled = new Map<string, { activity: string; at: number; started?: number }>();
  const stages: {
    activity: string;
    queued: number;
    ran: number;
    total: number;
    start: number;
    end: number;
  }[] = [];
  const first = ms(events[0]?.eventTime);
  const last = ms(events.at(-1)?.eventTime);
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(id, {
        activity: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
        at: ms(e.eventTime),
      });
    }
    if (e.activityTaskStartedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (s) s.started = ms(e.eventTime);
    }
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (closed) {
      const s = scheduled.get(String(closed.scheduledEventId));
      if (!s) continue;
      const end = ms(e.eventTime);
      stages.push({
        activity: s.activity,
        queued: (s.started ?? s.at) - s.at,
        ran: end - (s.started ?? s.at),
        total: end - s.at,
        start: s.at,
        end,
      });
    }
  }
  return { wall: last - first, stages };
}

function outsideActivities(wall: number, stages: { start: number; end: number }[], origin: number): number {
  const sorted = [...stages].sort((a, b) => a.start - b.start);
  let covered = 0;
  let until = origin;
  for (const s of sorted) {
    const from = Math.max(s.start, until);
    if (s.end > from) covered += s.end - from;
    until = Math.max(until, s.end);
  }
  return wall - covered;
}

const client = await connectClient(temporalTarget(config));
// The bucket provision.sh's MinIO starts without, and a worker that polls before the first run starts (its start-up,
// a workflow bundle, is not the pipeline's time).
const s3 = new S3Client({
  region: config.S3_REGION,
  forcePathStyle: true,
  ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
  ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
    ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
    : {}),
});
await s3.send(new CreateBucketCommand({ Bucket: config.S3_BUCKET })).catch((error: Error) => {
  if (!/BucketAlready/.test(error.name)) throw error;
});
s3.destroy();
for (;;) {
  const queue = await client.workflowService.describeTaskQueue({
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: { name: workflowTaskQueue(prefix) },
    taskQueueType: 1,
  });
  if ((queue.pollers ?? []).length > 0) break;
  await new Promise((r) => setTimeout(r, 500));
}
const lines: string[] = [];
try {
  for (const trainer of trainers) {
    const spec = parsePipelineSpec({
      model: `scale-${trainer.replace(/_/g, '-')}`,
      dataset: { source: csv },
      target: 'label',
      split: { kind: 'random', testFraction: 0.2 },
      trainer: {
        kind: 'builtin',
        name: trainer,
        params: trainer === 'gbdt' ? { maxIter: 100, earlyStopping: false, threads: 2 } : {},
      },
      checkpointEvery: 10,
    });
    const handle = await client.workflow.start(training, {
      workflowId: `bench-${spec.model}-${randomBytes(3).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec, specHash: specHash(spec), queuePrefix: prefix, requestedBy: 'bench' }],
    });
    const result: TrainingResult = await handle.result();
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const { wall, stages } = spans(events);
    const outside = outsideActivities(wall, stages, ms(events[0]?.eventTime));
    const s = (x: number): string => (x / 1000).toFixed(1);
    lines.push(
      `### ${trainer}: ${result.outcome}${result.version ? ` as version ${result.version}` : ''}` +
        `${result.metrics?.auc ? `, test AUC ${result.metrics.auc.toFixed(4)}` : ''}${result.reasons ? ` (${result.reasons.join('; ')})` : ''}`,
      '',
      '| activity | queued s | ran s | total s |',
      '| --- | --- | --- | --- |',
      ...stages.map((st) => `| ${st.activity} | ${s(st.queued)} | ${s(st.ran)} | ${s(st.total)} |`),
      `| **run wall time** | | | **${s(wall)}** |`,
      `| time outside activities | | | ${s(outside)} (${((100 * outside) / wall).toFixed(1)} %) |`,
      '',
      `Worker peak RSS so far (VmHWM): ${peakRssMib().toFixed(0)} MiB. Load average (1 min) after the run: ${loadavg()[0]!.toFixed(2)}.`,
      '',
    );
    process.stderr.write(`${lines.slice(-12).join('\n')}\n`);
  }
} finally {
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  await client.connection.close();
}
process.stdout.write(`${lines.join('\n')}\n`);
