import {
  ApplicationFailure,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ModelImportActivities } from '../activities/model-import.js';
import type { RegisterActivities } from '../activities/register.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import type { ModelImportInput, ModelImportResult } from '../domain/model-import.js';
import { taskQueueFor } from '../domain/task-queues.js';

/**
 * Registers an ONNX model trained elsewhere: checks it against its reference data (signature, validation, scores,
 * metrics, missing-value probe), then registers it like a trained version. Bad input ends as `rejected` with every
 * reason, and nothing is registered.
 */
export async function modelImport(input: ModelImportInput): Promise<ModelImportResult> {
  const cpu = proxyActivities<ModelImportActivities & RegisterActivities>({
    taskQueue: taskQueueFor({ gpu: 0 }, input.queuePrefix),
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
    retry: {
      maximumAttempts: 5,
      initialInterval: '1 second',
      nonRetryableErrorTypes: [...nonRetryableErrorTypes],
    },
  });
  upsertSearchAttributes({ ModelName: [input.model] });
  const { requestedBy: _by, queuePrefix: _queue, ...request } = input;
  let prepared;
  try {
    prepared = await cpu.importOnnxModel({ ...request, importId: workflowInfo().workflowId });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof ApplicationFailure && cause.type === 'DataError')
      return { outcome: 'rejected', model: input.model, reasons: [cause.message], reports: {} };
    throw error;
  }
  if (!prepared.ok)
    return { outcome: 'rejected', model: input.model, reasons: prepared.reasons, reports: prepared.reports };
  const { version } = await cpu.registerModel({
    runId: prepared.lineage.runId,
    model: input.model,
    actor: input.requestedBy,
    lineage: prepared.lineage,
  });
  return {
    outcome: 'registered',
    model: input.model,
    version,
    metrics: prepared.lineage.metrics as Record<string, number>,
    artifactUri: prepared.lineage.artifactUri,
    artifactSha256: prepared.lineage.artifactSha256,
    acceptsMissing: prepared.acceptsMissing,
    classes: prepared.classes,
    warnings: prepared.warnings,
    reports: prepared.reports,
  };
}
