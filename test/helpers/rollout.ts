import { randomBytes } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { rolloutWorkflowId, type RolloutStatus } from '../../domain/rollout.js';
import type { RolloutPlanSpec } from '../../domain/rollout-plan.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { promoteVersion } from '../../platform/promotion.js';
import { registerVersion, upsertDataset } from '../../platform/registry.js';
import { rollout, rolloutStatusQuery } from '../../workflows/rollout.js';

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
  input: { model: string; version: number; plan?: RolloutPlanSpec; requestedBy?: string },
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
    if (Date.now() > deadline)
      throw new Error(`status not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
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
