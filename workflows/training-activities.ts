// The training workflow's activities (options sized to each, on the queues a spec's resources name) and how it
// reads their failures. Workflow code: imports @temporalio/workflow, domain/ and activity types only.
import {
  ActivityCancellationType,
  ApplicationFailure,
  proxyActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CheckpointActivities } from '../activities/checkpoints.js';
import type { EvaluateActivities } from '../activities/evaluate.js';
import type { IngestActivities } from '../activities/ingest.js';
import type { RegisterActivities } from '../activities/register.js';
import type { ResolveSpecActivities } from '../activities/resolve-spec.js';
import type { TrainActivities } from '../activities/train.js';
import type { TrainingCacheActivities } from '../activities/training-cache.js';
import type { ValidateActivities } from '../activities/validate.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import { taskQueueFor } from '../domain/task-queues.js';
import { trainingTimeouts, type StepTimeouts } from '../domain/training-timeouts.js';
import type { TrainingResult } from '../domain/training.js';

/** Failure types that mean "the input is bad": the run ends as rejected with the message, not as failed. */
const rejectionTypes = new Set(['DataError', 'InvalidParams', 'InvalidSpec']);

/** The message of an activity failure caused by bad input, or undefined for any other error. */
export function rejectionMessage(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type && rejectionTypes.has(cause.type)
    ? cause.message
    : undefined;
}

/** The validation report an ingest rejection wrote (the full finding, values included), if any. */
export function rejectionReports(error: unknown): TrainingResult['reports'] {
  const cause = (error as { cause?: unknown }).cause;
  const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const reports = (
    details as { reports?: { validationJson?: unknown; validationHtml?: unknown } } | undefined
  )?.reports;
  return typeof reports?.validationJson === 'string' && typeof reports.validationHtml === 'string'
    ? { validationJson: reports.validationJson, validationHtml: reports.validationHtml }
    : {};
}

function activityOptions(taskQueue: string, t: StepTimeouts): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: t.startToClose,
    ...(t.heartbeat ? { heartbeatTimeout: t.heartbeat } : {}),
    ...(t.scheduleToClose ? { scheduleToCloseTimeout: t.scheduleToClose } : {}),
    retry: {
      ...(t.maximumAttempts !== undefined ? { maximumAttempts: t.maximumAttempts } : {}),
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [...nonRetryableErrorTypes],
    },
  };
}

/** The activities of a run, each with timeouts sized to its work, on the queues its spec's resources name. */
export function activitiesFor(queuePrefix: string, spec: Pick<PipelineSpec, 'resources'> | undefined) {
  const cpuQueue = taskQueueFor({ gpu: 0 }, queuePrefix);
  // Train and evaluate go to the queue the spec's resources name, and nowhere else: with no worker polling it the
  // activity waits there (visible as a scheduled activity in the status), it never falls back to a CPU worker.
  const trainQueue = taskQueueFor(spec?.resources, queuePrefix);
  const t = trainingTimeouts;
  return {
    trainQueue,
    spec: proxyActivities<ResolveSpecActivities>(activityOptions(cpuQueue, t.spec)),
    ingest: proxyActivities<IngestActivities>(activityOptions(cpuQueue, t.ingest)),
    validate: proxyActivities<ValidateActivities>(activityOptions(cpuQueue, t.validate)),
    // A cancelled run waits for its training to stop before it deletes the checkpoints that training writes.
    train: proxyActivities<TrainActivities>({
      ...activityOptions(trainQueue, t.train),
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    evaluate: proxyActivities<EvaluateActivities>(activityOptions(trainQueue, t.evaluate)),
    // The run record, registration, and the step cache's lookup of a finished run.
    db: proxyActivities<RegisterActivities & TrainingCacheActivities>(
      activityOptions(cpuQueue, t.databaseWrite),
    ),
    cleanup: proxyActivities<CheckpointActivities>(activityOptions(cpuQueue, t.cleanup)),
  };
}
