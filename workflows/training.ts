import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EvaluateActivities } from '../activities/evaluate.js';
import type { IngestActivities } from '../activities/ingest.js';
import type { RegisterActivities } from '../activities/register.js';
import type { TrainActivities } from '../activities/train.js';
import type { ValidateActivities } from '../activities/validate.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import { decideGates } from '../domain/gates.js';
import { taskQueueFor } from '../domain/task-queues.js';
import type {
  StageState,
  TrainingInput,
  TrainingResult,
  TrainingStage,
  TrainingStatus,
} from '../domain/training.js';
import { trainingStages } from '../domain/training.js';

export const trainingStatusQuery = defineQuery<TrainingStatus>('status');

/** Largest difference allowed between the trainer's own scores and the exported ONNX graph's on the test split. */
const onnxParityTolerance = 1e-5;

/** Failure types that mean "the input is bad": the run ends as rejected with the message, not as failed. */
const rejectionTypes = new Set(['DataError', 'InvalidParams', 'InvalidSpec']);

/** The message of an activity failure caused by bad input, or undefined for any other error. */
function rejectionMessage(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type && rejectionTypes.has(cause.type)
    ? cause.message
    : undefined;
}

/** The validation report an ingest rejection wrote (the full finding, values included), if any. */
function rejectionReports(error: unknown): TrainingResult['reports'] {
  const cause = (error as { cause?: unknown }).cause;
  const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const reports = (
    details as { reports?: { validationJson?: unknown; validationHtml?: unknown } } | undefined
  )?.reports;
  return typeof reports?.validationJson === 'string' && typeof reports.validationHtml === 'string'
    ? { validationJson: reports.validationJson, validationHtml: reports.validationHtml }
    : {};
}

const retry = {
  maximumAttempts: 5,
  initialInterval: '1 second',
  nonRetryableErrorTypes: [...nonRetryableErrorTypes],
};

/**
 * ingest -> validate -> train -> evaluate -> register. Bad data and failed gates end the run as `rejected` with
 * the reasons and the reports (nothing registered); unexpected failures fail the workflow after retries.
 */
export async function training(input: TrainingInput): Promise<TrainingResult> {
  const { spec } = input;
  const info = workflowInfo();
  const runId = `${info.workflowId}:${info.firstExecutionRunId}`;
  const cpuQueue = taskQueueFor({ gpu: 0 }, input.queuePrefix);
  const trainQueue = taskQueueFor(spec.resources, input.queuePrefix);

  const cpu = proxyActivities<IngestActivities & ValidateActivities & RegisterActivities>({
    taskQueue: cpuQueue,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
    retry,
  });
  // Train and evaluate go to the queue the spec's resources name, and nowhere else: with no worker polling it the
  // activity waits there (visible as a scheduled activity in the status), it never falls back to a CPU worker.
  const trainer = proxyActivities<TrainActivities>({
    taskQueue: trainQueue,
    startToCloseTimeout: '4 hours',
    // A worker that dies mid-training is noticed within this, and the retry resumes from the last checkpoint.
    heartbeatTimeout: '20 seconds',
    retry,
  });
  const evaluator = proxyActivities<EvaluateActivities>({
    taskQueue: trainQueue,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '2 minutes',
    retry,
  });

  const stages: Record<TrainingStage, StageState['state']> = {
    ingest: 'pending',
    validate: 'pending',
    train: 'pending',
    evaluate: 'pending',
    register: 'pending',
  };
  let current: TrainingStage | 'done' = 'ingest';
  let result: TrainingResult | undefined;
  setHandler(trainingStatusQuery, () => ({
    runId,
    model: spec.model,
    stage: current,
    stages: trainingStages.map((stage) => ({ stage, state: stages[stage] })),
    trainQueue,
    ...(result ? { result } : {}),
  }));
  const enter = (stage: TrainingStage) => {
    current = stage;
    stages[stage] = 'running';
    upsertSearchAttributes({ Stage: [stage] });
  };
  const finish = async (outcome: TrainingResult): Promise<TrainingResult> => {
    result = outcome;
    current = 'done';
    for (const s of trainingStages) if (stages[s] === 'pending') stages[s] = 'skipped';
    upsertSearchAttributes({ Stage: [outcome.outcome] });
    await cpu.recordTrainingRun({
      runId,
      workflowId: info.workflowId,
      model: spec.model,
      status: outcome.outcome,
      specHash: input.specHash,
      spec,
      ...(outcome.reasons ? { reason: outcome.reasons.join('; ') } : {}),
      details: outcome,
    });
    return outcome;
  };
  const reject = (stage: TrainingStage, reasons: string[], extra: Partial<TrainingResult> = {}) => {
    stages[stage] = 'failed';
    return finish({
      outcome: 'rejected',
      model: spec.model,
      runId,
      rejectedAt: stage,
      reasons,
      reports: {},
      ...extra,
    });
  };

  upsertSearchAttributes({ ModelName: [spec.model] });
  await cpu.recordTrainingRun({
    runId,
    workflowId: info.workflowId,
    model: spec.model,
    status: 'running',
    specHash: input.specHash,
    spec,
  });
  try {
    enter('ingest');
    const ingested = await cpu.ingestDataset({ runId, spec });
    stages.ingest = 'done';

    enter('validate');
    const validated = await cpu.validateDataset({
      runId,
      spec,
      frameUri: ingested.frameUri,
      frameSha256: ingested.frameSha256,
      statsUri: ingested.statsUri,
    });
    const validationReports = {
      validationJson: validated.reportUri,
      validationHtml: validated.reportHtmlUri,
    };
    if (!validated.ok) {
      return await reject('validate', validated.errors, {
        datasetSha256: ingested.datasetSha256,
        reports: validationReports,
      });
    }
    stages.validate = 'done';

    enter('train');
    const trained = await trainer.trainModel({
      runId,
      spec,
      frameUri: ingested.frameUri,
      frameSha256: ingested.frameSha256,
      splitUri: validated.splitUri,
      splitSha256: validated.splitSha256,
    });
    stages.train = 'done';

    enter('evaluate');
    const evaluated = await evaluator.evaluateModel({
      runId,
      spec,
      frameUri: ingested.frameUri,
      frameSha256: ingested.frameSha256,
      splitUri: validated.splitUri,
      splitSha256: validated.splitSha256,
      modelUri: trained.modelUri,
      modelSha256: trained.modelSha256,
      ...(trained.trainerPredictionsUri
        ? {
            trainerPredictionsUri: trained.trainerPredictionsUri,
            trainerPredictionsSha256: trained.trainerPredictionsSha256!,
          }
        : {}),
      featureImportances: trained.metadata.featureImportanceGain ?? null,
    });
    const gates = decideGates(evaluated.metrics, spec.evaluation.gates, evaluated.versusChampion);
    const reasons = gates.failures.map((f) => f.message);
    const parity = evaluated.parityMaxAbsDiff;
    if (parity !== undefined && !(typeof parity === 'number' && parity <= onnxParityTolerance)) {
      reasons.push(
        `the exported ONNX graph disagrees with the trainer's own scores (max difference ${parity ?? 'not comparable'}, allowed ${onnxParityTolerance})`,
      );
    }
    const common = {
      datasetSha256: ingested.datasetSha256,
      metrics: evaluated.metrics,
      gates,
      ...(evaluated.versusChampion ? { versusChampion: evaluated.versusChampion } : {}),
      ...(evaluated.championVersion !== undefined ? { championVersion: evaluated.championVersion } : {}),
      artifactUri: trained.modelUri,
      artifactSha256: trained.modelSha256,
      reports: {
        ...validationReports,
        evaluationJson: evaluated.reportUri,
        evaluationHtml: evaluated.reportHtmlUri,
        referenceProfile: validated.profileUri,
      },
      training: {
        worker: trained.worker,
        device: trained.device,
        seconds: trained.seconds,
        ...(trained.resumedFromStep !== undefined ? { resumedFromStep: trained.resumedFromStep } : {}),
      },
    };
    if (reasons.length > 0) return await reject('evaluate', reasons, common);
    stages.evaluate = 'done';

    enter('register');
    const registered = await cpu.registerModel({
      runId,
      model: spec.model,
      actor: input.requestedBy,
      lineage: {
        runId,
        datasetSha256: ingested.datasetSha256,
        split: validated.split,
        validationReportUri: validated.reportUri,
        evaluationReportUri: evaluated.reportUri,
        referenceProfileUri: validated.profileUri,
        specHash: input.specHash,
        trainer: trained.trainer,
        params: trained.params,
        metrics: {
          ...evaluated.metrics,
          ...(typeof parity === 'number' ? { onnxParityMaxAbsDiff: parity } : {}),
        },
        artifactUri: trained.modelUri,
        artifactSha256: trained.modelSha256,
        onnxSignature: evaluated.signature,
        onnxOpset: evaluated.opset,
        metadata: {
          ...trained.metadata,
          training: common.training,
          ingest: { rows: ingested.rowCount, bytes: ingested.bytes, source: ingested.source },
        },
      },
    });
    stages.register = 'done';
    return await finish({
      outcome: 'registered',
      model: spec.model,
      runId,
      version: registered.version,
      ...common,
    });
  } catch (error) {
    const failedAt = current as TrainingStage | 'done';
    // Bad input at any stage (data, params, a model that can't read its data): rejected, with the message.
    const message = rejectionMessage(error);
    if (message !== undefined && failedAt !== 'done')
      return await reject(failedAt, [message], { reports: rejectionReports(error) });
    if (failedAt !== 'done') stages[failedAt] = 'failed';
    // A cancelled run is recorded as failed (in a scope cancellation can't reach) and stays cancelled.
    const record = () =>
      cpu.recordTrainingRun({
        runId,
        workflowId: info.workflowId,
        model: spec.model,
        status: 'failed',
        specHash: input.specHash,
        spec,
        reason: isCancellation(error) ? 'cancelled' : error instanceof Error ? error.message : String(error),
      });
    await CancellationScope.nonCancellable(record).catch(() => undefined);
    if (isCancellation(error) || error instanceof ApplicationFailure) throw error;
    throw ApplicationFailure.fromError(error);
  }
}
