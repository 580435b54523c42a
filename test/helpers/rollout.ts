import { randomBytes } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { rolloutWorkflowId, type RolloutStatus } from '../../domain/rollout.js';
import type { RolloutDefaults, RolloutPlanInput } from '../../domain/rollout-plan.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { promoteVersion } from '../../platform/promotion.js';
import { registerVersion, upsertDataset } from '../../platform/registry.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import { rollout, rolloutStatusQuery } from '../../workflows/rollout.js';
import { createTestDb, dropTestSchema } from './db.js';
import { testStack } from './stack.js';
import { startTrafficWriter, type Behaviour, type TrafficWriter } from './traffic-writer.js';
import { startTestWorkers, testClient, testLog, uniquePrefix, type RunningWorkers } from './workers.js';

/**
 * Registers `count` versions of `model` whose model files are real objects in the store (distinct bytes, so the
 * rollout's sha256 check has something to check). Returns the version numbers.
 */
export async function registerVersions(
  pool: Pool,
  store: ArtifactStore,
  model: string,
  count: number,
): Promise<number[]> {
  const datasetSha = randomBytes(32).toString('hex');
  await upsertDataset(pool, {
    sha256: datasetSha,
    readKey: 'test',
    readOptions: {},
    source: 'test',
    format: 'csv',
    rowCount: 1,
    frameUri: 'test://frame',
    frameSha256: datasetSha,
    schema: {},
  });
  const versions: number[] = [];
  for (let i = 0; i < count; i++) {
    const runId = `run-${model}-${i}-${randomBytes(3).toString('hex')}`;
    const artifact = await store.putContent(Buffer.from(`model ${model} ${runId}`), {
      prefix: 'models',
      ext: 'onnx',
    });
    const { version } = await registerVersion(
      pool,
      model,
      {
        runId,
        datasetSha256: datasetSha,
        split: {},
        validationReportUri: 'test://validation',
        evaluationReportUri: 'test://evaluation',
        referenceProfileUri: 'test://profile',
        specHash: 'test',
        codeVersion: 'test',
        trainer: 'logistic_regression',
        params: {},
        metrics: {},
        artifactUri: artifact.uri,
        artifactSha256: artifact.sha256,
        onnxSignature: {},
        onnxOpset: {},
        metadata: {},
      },
      'test',
    );
    versions.push(version);
  }
  return versions;
}

/** Makes `version` the champion with all traffic, as `slipway models promote` does. */
export async function makeChampion(
  pool: Pool,
  model: string,
  version: number,
  expected: number | null = null,
) {
  return promoteVersion(pool, {
    model,
    version,
    expectedChampion: expected,
    actor: 'test-admin',
    source: 'test',
    reason: 'test setup',
    requestId: `setup-${randomBytes(4).toString('hex')}`,
  });
}

/** A model name no other test uses. */
export function uniqueModel(label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`;
}

export async function startRollout(
  client: Client,
  prefix: string,
  input: { model: string; version: number; plan?: RolloutPlanInput; requestedBy?: string },
): Promise<WorkflowHandle<typeof rollout>> {
  return client.workflow.start(rollout, {
    workflowId: rolloutWorkflowId(input.model),
    taskQueue: workflowTaskQueue(prefix),
    args: [{ requestedBy: 'test', ...input }],
  });
}

/** Polls the status Query until `done` holds (or throws with the last status after `timeoutMs`). */
export async function waitForStatus(
  handle: WorkflowHandle,
  done: (status: RolloutStatus) => boolean,
  timeoutMs = 60_000,
): Promise<RolloutStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RolloutStatus | undefined;
  for (;;) {
    last = await handle.query(rolloutStatusQuery).catch(() => last);
    if (last && done(last)) return last;
    if (Date.now() > deadline) {
      // Say what the workflow waits for: its pending activities, their attempts and last failures.
      const pending = await handle
        .describe()
        .then((d) =>
          (d.raw.pendingActivities ?? []).map((a) => ({
            activity: a.activityType?.name,
            state: a.state,
            attempt: a.attempt,
            lastFailure: a.lastFailure?.message,
          })),
        )
        .catch((error: unknown) => String(error));
      throw new Error(
        `status not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}; pending: ${JSON.stringify(pending)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The deployment's history for a model: the traffic split after each write. */
export async function deploymentHistory(pool: Pool, model: string) {
  const { rows } = await pool.query<{
    revision: string;
    champion_version: number | null;
    challenger_version: number | null;
    challenger_weight: number;
    shadow: boolean;
    reason: string;
    updated_at: Date;
  }>(
    `SELECT revision, champion_version, challenger_version, challenger_weight, shadow, reason, updated_at
     FROM deployment_history WHERE model_name = $1 ORDER BY revision`,
    [model],
  );
  return rows;
}

/** Audit entries about a model, oldest first. */
export async function auditOf(pool: Pool, subjectLike: string) {
  const { rows } = await pool.query<{
    actor: string;
    action: string;
    subject: string;
    source: string | null;
    details: Record<string, unknown>;
  }>('SELECT actor, action, subject, source, details FROM audit_log WHERE subject LIKE $1 ORDER BY id', [
    subjectLike,
  ]);
  return rows;
}

/** Seconds instead of minutes: the same code paths, fast. */
export const fastRolloutDefaults: RolloutDefaults = {
  analysisIntervalMs: 500,
  bakeTimeMs: 1500,
  maxWaitMs: 10_000,
  minSamples: 60,
  approvalTimeoutMs: 60_000,
};

export interface RolloutTestStack {
  readonly db: { pool: Pool; schema: string; url: string };
  readonly store: ArtifactStore;
  /** The store's key prefix in the test bucket (a gateway given it reads the same model files). */
  readonly s3Prefix: string;
  readonly client: Client;
  readonly prefix: string;
  /** A model with v1 champion (all traffic) and v2 registered, and traffic flowing through the log. */
  championWithTraffic(
    label: string,
    challenger?: Behaviour,
    options?: { rate?: number; labelShare?: number },
  ): Promise<{ model: string; v1: number; v2: number; writer: TrafficWriter }>;
  close(): Promise<void>;
}

/** A test schema, an S3 prefix and in-process workers with fast rollout defaults on a task-queue prefix of their own. */
export async function startRolloutTestStack(
  label: string,
  defaults: RolloutDefaults = fastRolloutDefaults,
): Promise<RolloutTestStack> {
  const db = await createTestDb(label);
  const s3Prefix = `${label}-${randomBytes(4).toString('hex')}`;
  const store = createArtifactStore({
    kind: 's3',
    ...testStack().s3,
    prefix: s3Prefix,
    forcePathStyle: true,
  });
  const client = await testClient();
  const prefix = uniquePrefix(label);
  const workers: RunningWorkers = await startTestWorkers({
    tags: ['cpu'],
    prefix,
    deps: {
      db: db.pool,
      store,
      log: testLog,
      workerIdentity: `${label}-box`,
      device: 'cpu',
      codeVersion: 'test',
      rolloutDefaults: defaults,
    },
  });
  const writers: TrafficWriter[] = [];
  return {
    db,
    store,
    s3Prefix,
    client,
    prefix,
    async championWithTraffic(name, challenger = { kind: 'healthy' }, options = {}) {
      const model = uniqueModel(name);
      const [v1, v2] = await registerVersions(db.pool, store, model, 2);
      await makeChampion(db.pool, model, v1!);
      const writer = startTrafficWriter({
        pool: db.pool,
        model,
        requestsPerSecond: options.rate ?? 150,
        labelShare: options.labelShare ?? 0.5,
        behaviours: { [v2!]: challenger },
      });
      writers.push(writer);
      return { model, v1: v1!, v2: v2!, writer };
    },
    async close() {
      for (const w of writers) await w.stop();
      await workers.stop();
      await client.connection.close();
      await store.close();
      await dropTestSchema(db.pool, db.schema);
    },
  };
}

/**
 * How many analyses each phase of a rollout ran before it ended, from the workflow's history: the measureStep
 * activities between one traffic write (setTraffic) and the next write or the rollback. A fault caught "within one
 * analysis interval" shows as 1 for its phase, whatever the machine's load did to wall-clock times.
 */
export async function analysesPerPhase(handle: WorkflowHandle): Promise<number[]> {
  const history = await handle.fetchHistory();
  const counts: number[] = [];
  for (const event of history.events ?? []) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name === 'setTraffic') counts.push(0);
    else if (name === 'measureStep' && counts.length > 0) counts[counts.length - 1]! += 1;
  }
  return counts;
}
