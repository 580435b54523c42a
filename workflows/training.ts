import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { decideGates } from '../domain/gates.js';
import type { SpecProblem } from '../domain/pipeline-spec.js';
import { modelNameKey, stageKey } from '../domain/search-attributes.js';
import type {
  ResolvedTrainingInput,
  StageState,
  TrainingCache,
  TrainingInput,
  TrainingResult,
  TrainingStage,
  TrainingStatus,
} from '../domain/training.js';
import { parseTrainingRequest, trainingStages } from '../domain/training.js';
import { rolloutWorkflowId } from '../domain/rollout.js';
import { rollout } from './rollout.js';
import { activitiesFor, rejectionMessage, rejectionReports } from './training-activities.js';

export const trainingStatusQuery = defineQuery<TrainingStatus>('status');

/**
 * Patch ids (see DESIGN.md, "Changing workflow code safely"). Runs started before a patch replay the old branch.
 * - typed input: the workflow takes plain JSON and its first activity validates the spec;
 * - checkpoint cleanup: a finished run deletes its training checkpoints;
 * - step cache: after ingest, a finished run with the same dataset, spec and code is looked up and reused.
 */
const typedInputPatch = 'training-typed-input';
const checkpointCleanupPatch = 'training-checkpoint-cleanup';
const stepCachePatch = 'training-step-cache';

/** Largest difference allowed between the trainer's own scores and the exported ONNX graph's on the test split. */
const onnxParityTolerance = 1e-5;

/** The spec's `model` when the input names one: for the status of a run whose spec is not validated yet. */
function modelNamed(input: TrainingInput): string {
  const model = (input.spec as { model?: unknown } | undefined)?.model;
  return typeof model === 'string' ? model.slice(0, 63) : '';
}

/**
 * spec -> ingest -> validate -> train -> evaluate -> register. Takes plain JSON (`{ "spec": {...} }` or
 * `{ "specPath": "examples/elec2-logistic.yaml" }`); an invalid spec, bad data and failed gates end the run as
 * `rejected` with the reasons and the reports (nothing registered); unexpected failures fail the workflow after
 * retries. Registration and the final run record can't be cancelled half-way: a run cancelled while registering
 * completes as registered.
 */
export async function training(input: TrainingInput): Promise<TrainingResult> {
  const info = workflowInfo();
  const runId = `${info.workflowId}:${info.firstExecutionRunId}`;
  const stages: Record<TrainingStage, StageState['state']> = {
    spec: 'pending',
    ingest: 'pending',
    validate: 'pending',
    train: 'pending',
    evaluate: 'pending',
    register: 'pending',
  };
  let current: TrainingStage | 'done' = 'spec';
  let model = modelNamed(input);
  let trainQueue = '';
  let result: TrainingResult | undefined;
  let cache: TrainingCache | undefined;
  setHandler(trainingStatusQuery, () => ({
    runId,
    model,
    stage: current,
    stages: trainingStages.map((stage) => ({ stage, state: stages[stage] })),
    trainQueue,
    ...(cache ? { cache } : {}),
    ...(result ? { result } : {}),
  }));
  const setStage = (stage: string) => upsertSearchAttributes([{ key: stageKey, value: stage }]);

  let resolved: ResolvedTrainingInput;
  if (patched(typedInputPatch)) {
    setStage('spec');
    const request = parseTrainingRequest(input);
    const rejectSpec = (problems: readonly SpecProblem[]): TrainingResult => {
      stages.spec = 'failed';
      for (const s of trainingStages) if (stages[s] === 'pending') stages[s] = 'skipped';
      current = 'done';
      setStage('rejected');
      result = {
        outcome: 'rejected',
        model,
        runId,
        rejectedAt: 'spec',
        reasons: problems.map((p) => `${p.path}: ${p.message}`),
        problems,
        reports: {},
      };
      return result;
    };
    if (!request.ok) return rejectSpec(request.problems);
    const { spec: specActivity } = activitiesFor(request.request.queuePrefix, undefined);
    const checked = await specActivity.resolveTrainingSpec({
      runId,
      workflowId: info.workflowId,
      ...(request.request.spec !== undefined ? { spec: request.request.spec } : {}),
      ...(request.request.specPath !== undefined ? { specPath: request.request.specPath } : {}),
    });
    if (!checked.ok) {
      if (checked.model) model = checked.model;
      return rejectSpec(checked.problems);
    }
    resolved = {
      spec: checked.spec,
      specHash: checked.specHash,
      queuePrefix: request.request.queuePrefix,
      requestedBy: request.request.requestedBy,
      ...(request.request.cache !== undefined ? { cache: request.request.cache } : {}),
    };
  } else {
    // Started before the workflow validated its own input: the starter sent a validated spec and its hash.
    resolved = input as ResolvedTrainingInput;
  }
  stages.spec = 'done';
  return runPipeline(resolved, {
    runId,
    stages,
    setStage,
    onModel: (name, queue) => ((model = name), (trainQueue = queue)),
    onStage: (stage) => (current = stage),
    onResult: (outcome) => (result = outcome),
    onCache: (lookup) => (cache = lookup),
  });
}

interface PipelineHooks {
  readonly runId: string;
  readonly stages: Record<TrainingStage, StageState['state']>;
  setStage(stage: string): void;
  onModel(model: string, trainQueue: string): void;
  onStage(stage: TrainingStage | 'done'): void;
  onResult(result: TrainingResult): void;
  onCache(cache: TrainingCache): void;
}

/** ingest -> validate -> train -> evaluate -> register, for a validated spec. */
async function runPipeline(input: ResolvedTrainingInput, hooks: PipelineHooks): Promise<TrainingResult> {
  const { spec } = input;
  const { runId, stages } = hooks;
  const { workflowId } = workflowInfo();
  const act = activitiesFor(input.queuePrefix, spec);
  hooks.onModel(spec.model, act.trainQueue);
  let current: TrainingStage | 'done' = 'ingest';
  let cache: TrainingCache | undefined;
  const enter = (stage: TrainingStage) => {
    current = stage;
    hooks.onStage(stage);
    stages[stage] = 'running';
    hooks.setStage(stage);
  };
  const record = (status: 'running' | 'registered' | 'rejected' | 'failed', extra: object = {}) =>
    act.db.recordTrainingRun({
      runId,
      workflowId,
      model: spec.model,
      status,
      specHash: input.specHash,
      spec,
      ...extra,
    });
  // Nothing a finished run still needs: its checkpoints (kept while a retry may resume from them) go.
  const dropCheckpoints = async () => {
    if (patched(checkpointCleanupPatch)) await act.cleanup.deleteCheckpoints({ runId });
  };
  /** The run's last word: the run record (and the checkpoints' removal), which cancellation can't interrupt. */
  const finish = (ended: TrainingResult): Promise<TrainingResult> =>
    CancellationScope.nonCancellable(async () => {
      // Every result past ingest says whether step caching hit, and why (or why not).
      const outcome = cache && !ended.cache ? { ...ended, cache } : ended;
      hooks.onResult(outcome);
      current = 'done';
      hooks.onStage('done');
      for (const s of Object.keys(stages) as TrainingStage[])
        if (stages[s] === 'pending') stages[s] = 'skipped';
      hooks.setStage(outcome.outcome);
      await record(outcome.outcome, {
        ...(outcome.reasons ? { reason: outcome.reasons.join('; ') } : {}),
        details: outcome,
      });
      await dropCheckpoints();
      return outcome;
    });
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

  /**
   * Starts the model's rollout of the new version (spec option `rollout:`); it outlives this run. Refused, and said
   * so in the result, while another rollout of the model runs.
   */
  const handOver = async (version: number): Promise<NonNullable<TrainingResult['rollout']>> => {
    const rolloutId = rolloutWorkflowId(spec.model);
    try {
      await startChild(rollout, {
        workflowId: rolloutId,
        args: [{ model: spec.model, version, plan: spec.rollout, requestedBy: input.requestedBy }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      return { workflowId: rolloutId, started: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return {
        workflowId: rolloutId,
        started: false,
        reason: `a rollout of ${spec.model} is already running (${rolloutId})`,
      };
    }
  };

  upsertSearchAttributes([{ key: modelNameKey, value: spec.model }]);
  await record('running');
  try {
    enter('ingest');
    const ingested = await act.ingest.ingestDataset({ runId, spec });
    stages.ingest = 'done';

    // Step caching: the same dataset, spec and code as a finished run give the same outputs; reuse them. (Runs
    // started before caching existed replay without the lookup.)
    if (patched(stepCachePatch)) {
      const lookup =
        input.cache === false
          ? { hit: false as const, reason: 'caching is off for this run (cache: false)' }
          : await act.db.findReusableRun({
              model: spec.model,
              datasetSha256: ingested.datasetSha256,
              specHash: input.specHash,
            });
      const { result: cached, ...cacheInfo } = 'result' in lookup ? lookup : { ...lookup, result: undefined };
      cache = cacheInfo;
      hooks.onCache(cacheInfo);
      if (cached) {
        for (const s of ['validate', 'train', 'evaluate', 'register'] as const) stages[s] = 'cached';
        // The reused result is the earlier run's, less its hand-over to a rollout: this run started none.
        const reused = { ...cached };
        delete reused.rollout;
        return await finish({ ...reused, runId, cache: cacheInfo });
      }
    }

    enter('validate');
    const validated = await act.validate.validateDataset({
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
    const trained = await act.train.trainModel({
      runId,
      spec,
      frameUri: ingested.frameUri,
      frameSha256: ingested.frameSha256,
      splitUri: validated.splitUri,
      splitSha256: validated.splitSha256,
    });
    stages.train = 'done';
    // The trainer's full metadata is an artifact; results recorded before that carry it inline.
    const metadataRef = trained.metadataUri
      ? { metadataUri: trained.metadataUri, metadataSha256: trained.metadataSha256! }
      : undefined;
    const metadataSummary = trained.metadataSummary ?? trained.metadata ?? {};

    enter('evaluate');
    const evaluated = await act.evaluate.evaluateModel({
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
      ...(metadataRef ?? { featureImportances: trained.metadata?.featureImportanceGain ?? null }),
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
        ...(metadataRef ? { trainerMetadata: metadataRef.metadataUri } : {}),
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
    // Once registration starts, cancellation waits for it and the run record: never a version without its run.
    return await CancellationScope.nonCancellable(async () => {
      const registered = await act.db.registerModel({
        runId,
        model: spec.model,
        actor: input.requestedBy,
        lineage: {
          runId,
          datasetSha256: ingested.datasetSha256,
          ...(ingested.readKey ? { datasetReadKey: ingested.readKey } : {}),
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
            ...metadataSummary,
            ...(metadataRef ?? {}),
            training: common.training,
            ingest: { rows: ingested.rowCount, bytes: ingested.bytes, source: ingested.source },
          },
        },
      });
      stages.register = 'done';
      const handedOver = spec.rollout ? await handOver(registered.version) : undefined;
      return finish({
        outcome: 'registered',
        model: spec.model,
        runId,
        version: registered.version,
        ...common,
        ...(handedOver ? { rollout: handedOver } : {}),
      });
    });
  } catch (error) {
    const failedAt = current as TrainingStage | 'done';
    // Bad input at any stage (data, params, a model that can't read its data): rejected, with the message.
    const message = rejectionMessage(error);
    if (message !== undefined && failedAt !== 'done')
      return await reject(failedAt, [message], { reports: rejectionReports(error) });
    if (failedAt !== 'done') stages[failedAt] = 'failed';
    // A cancelled run is recorded as failed (in a scope cancellation can't reach) and stays cancelled; its
    // checkpoints go, since nothing resumes a cancelled run. A failed run keeps them: a reset may resume it.
    const cancelled = isCancellation(error);
    await CancellationScope.nonCancellable(async () => {
      await record('failed', {
        reason: cancelled ? 'cancelled' : error instanceof Error ? error.message : String(error),
      });
      if (cancelled) await dropCheckpoints();
    }).catch(() => undefined);
    if (cancelled || error instanceof ApplicationFailure) throw error;
    throw ApplicationFailure.fromError(error);
  }
}
