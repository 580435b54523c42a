import { ApplicationFailure, defineQuery, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { EvaluateActivities } from '../activities/evaluate.js';
import type { IngestActivities } from '../activities/ingest.js';
import type { RegisterActivities } from '../activities/register.js';
import type { TrainActivities } from '../activities/train.js';
import type { ValidateActivities } from '../activities/validate.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import { decideGates } from '../domain/gates.js';
import { taskQueueFor } from '../domain/task-queues.js';
import type { StageState, TrainingInput, TrainingResult, TrainingStage, TrainingStatus } from '../domain/training.js';
import { trainingStages } from '../domain/training.js';

export const trainingStatusQuery = defineQuery<TrainingStatus>('status');

/** Largest difference allowed between the trainer's own scores and the exported ONNX graph's on the test split. */
const onnxParityTolerance = 1e-5;

const retry = { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: [...nonRetryableErrorTypes] };

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

  const stages: Record<TrainingStage, StageState['state']> = { ingest: 'pending', validate: 'pending', train: 'pending', evaluate: 'pending', register: 'pending' };
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
    return finish({ outcome: 'rejected', model: spec.model, runId, rejectedAt: stage, reasons, reports: {}, ...extra });
  };

  upsertSearchAttributes({ ModelName: [spec.model] });
  await cpu.recordTrainingRun({ runId, workflowId: info.workflowId, model: spec.model, status: 'running', specHash: input.specHash, spec });
  try {
    enter('ingest');
    let ingested;
    try {
      ingested = await cpu.ingestDataset({ runId, spec });
    } catch (error) {
      const cause = (error as { cause?: ApplicationFailure }).cause;
      if (cause instanceof ApplicationFailure && cause.type === 'DataError') return await reject('ingest', [cause.message]);
      throw error;
    }
    stages.ingest = 'done';

    enter('validate');
    const validated = await cpu.validateDataset({ runId, spec, frameUri: ingested.frameUri, frameSha256: ingested.frameSha256, statsUri: ingested.statsUri });
    const validationReports = { validationJson: validated.reportUri, validationHtml: validated.reportHtmlUri };
    if (!validated.ok) {
      return await reject('validate', validated.errors, { datasetSha256: ingested.datasetSha256, reports: validationReports });
    }
    stages.validate = 'done';

    enter('train');
    let trained;
    try {
      trained = await trainer.trainModel({ runId, spec, frameUri: ingested.frameUri, frameSha256: ingested.frameSha256, splitUri: validated.splitUri, splitSha256: validated.splitSha256 });
    } catch (error) {
      const cause = (error as { cause?: ApplicationFailure }).cause;
      if (cause instanceof ApplicationFailure && (cause.type === 'InvalidParams' || cause.type === 'DataError')) {
        return await reject('train', [cause.message], { datasetSha256: ingested.datasetSha256, reports: validationReports });
      }
      throw error;
    }
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
      ...(trained.trainerPredictionsUri ? { trainerPredictionsUri: trained.trainerPredictionsUri, trainerPredictionsSha256: trained.trainerPredictionsSha256! } : {}),
      featureImportances: trained.metadata.featureImportanceGain ?? null,
    });
    const gates = decideGates(evaluated.metrics, spec.evaluation.gates, evaluated.versusChampion);
    const reasons = gates.failures.map((f) => f.message);
    if (evaluated.parityMaxAbsDiff !== undefined && !(evaluated.parityMaxAbsDiff <= onnxParityTolerance)) {
      reasons.push(`the exported ONNX graph disagrees with the trainer by ${evaluated.parityMaxAbsDiff} (> ${onnxParityTolerance})`);
    }
    const common = {
      datasetSha256: ingested.datasetSha256,
      metrics: evaluated.metrics,
      gates,
      ...(evaluated.versusChampion ? { versusChampion: evaluated.versusChampion } : {}),
      ...(evaluated.championVersion !== undefined ? { championVersion: evaluated.championVersion } : {}),
      artifactUri: trained.modelUri,
      artifactSha256: trained.modelSha256,
      reports: { ...validationReports, evaluationJson: evaluated.reportUri, evaluationHtml: evaluated.reportHtmlUri, referenceProfile: validated.profileUri },
      training: { worker: trained.worker, device: trained.device, seconds: trained.seconds, ...(trained.resumedFromStep !== undefined ? { resumedFromStep: trained.resumedFromStep } : {}) },
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
        metrics: { ...evaluated.metrics, ...(evaluated.parityMaxAbsDiff !== undefined ? { onnxParityMaxAbsDiff: evaluated.parityMaxAbsDiff } : {}) },
        artifactUri: trained.modelUri,
        artifactSha256: trained.modelSha256,
        onnxSignature: evaluated.signature,
        onnxOpset: evaluated.opset,
        metadata: { ...trained.metadata, training: common.training, ingest: { rows: ingested.rowCount, bytes: ingested.bytes, source: ingested.source } },
      },
    });
    stages.register = 'done';
    return await finish({ outcome: 'registered', model: spec.model, runId, version: registered.version, ...common });
  } catch (error) {
    const failedAt = current as TrainingStage | 'done';
    if (failedAt !== 'done') stages[failedAt] = 'failed';
    await cpu.recordTrainingRun({
      runId,
      workflowId: info.workflowId,
      model: spec.model,
      status: 'failed',
      specHash: input.specHash,
      spec,
      reason: error instanceof Error ? error.message : String(error),
    });
    throw error instanceof ApplicationFailure ? error : ApplicationFailure.fromError(error);
  }
}
