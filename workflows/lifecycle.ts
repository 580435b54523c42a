import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { ExportTrafficActivities } from '../activities/export-traffic.js';
import type { LifecycleActivities } from '../activities/lifecycle.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import {
  lifecycleCallerRefusal,
  lifecycleRequestSchema,
  lifecycleStartSchema,
  lifecycleWorkflowId,
  rollbackRequestSchema,
  type LifecycleEvent,
  type LifecycleInput,
  type LifecycleResult,
  type LifecycleState,
} from '../domain/lifecycle.js';
import {
  appendEvent,
  lifecycleStatus,
  markVersion,
  newLifecycleState,
  stageOf,
  upsertVersion,
} from '../domain/lifecycle-state.js';
import { problemsOf } from '../domain/rollout-plan.js';
import {
  decideRetrain,
  describeTrigger,
  nextScheduledRetrain,
  retrainsInBudgetPeriod,
  type RetrainTrigger,
} from '../domain/retrain-policy.js';
import {
  approvalSignalSchema,
  approverRefusal,
  decisionRequestSchema,
  rolloutWorkflowId,
  type RolloutResult,
} from '../domain/rollout.js';
import { championVersionKey, modelNameKey, stageKey } from '../domain/search-attributes.js';
import { formatDuration } from '../domain/duration.js';
import { monitorWorkflowId } from '../domain/monitor.js';
import type { TrainingResult } from '../domain/training.js';
import {
  approveSignal,
  approveUpdate,
  lifecycleStatusQuery,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  retrainNowUpdate,
  rollbackUpdate,
  type LifecycleAnswer,
} from './lifecycle-messages.js';
import { monitor, monitorAlertSignal } from './monitor.js';
import { training } from './training.js';

export * from './lifecycle-messages.js';

/** Past this many history events the lifecycle continues as a new run (it also does between loops). */
const historyLimit = 2000;

const retryForever = {
  initialInterval: '1 second',
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...nonRetryableErrorTypes, 'Conflict', 'Forbidden', 'InvalidRequest'],
};

const now = () => new Date().toISOString();
const failureMessage = (error: unknown) => {
  const cause = (error as { cause?: { message?: string } }).cause;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
};

/**
 * One model's life: training -> rollout -> monitor -> (retrain) -> rollout -> ..., each phase a child workflow,
 * for months. The retrain policy (triggers, cooldown, budget) decides when to retrain; the retrain trains on the
 * labelled traffic since the last training. Continues as a new run after each loop (and when the history grows),
 * carrying its state; the whole history of events lives in PostgreSQL (`lifecycle_events`).
 */
export async function lifecycle(input: LifecycleInput): Promise<LifecycleResult> {
  const info = workflowInfo();
  const workflowId = info.workflowId;
  const chainId = info.firstExecutionRunId;
  const queuePrefix = info.taskQueue.replace(/\.cpu$/, '');
  const acts = proxyActivities<LifecycleActivities>({
    startToCloseTimeout: '1 minute',
    retry: retryForever,
  });
  const exporter = proxyActivities<ExportTrafficActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    retry: { ...retryForever, maximumAttempts: 5 },
  });

  const reject = (problems: { path: string; message: string }[], model?: string): LifecycleResult => {
    upsertSearchAttributes([
      { key: stageKey, value: 'rejected' },
      ...(model ? [{ key: modelNameKey, value: model }] : []),
    ]);
    return {
      model: model ?? '',
      outcome: 'rejected',
      problems,
      message: `invalid lifecycle:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    };
  };

  let state: LifecycleState;
  const resumed = 'resume' in input;
  if ('resume' in input) {
    state = input.resume;
    state.runNumber += 1;
  } else {
    const parsed = lifecycleStartSchema.safeParse(input ?? {});
    if (!parsed.success) return reject(problemsOf(parsed.error));
    const resolved = await acts.resolveLifecycleSpec(parsed.data);
    if (!resolved.ok) return reject([...resolved.problems]);
    const model = resolved.spec.model;
    if (workflowId !== lifecycleWorkflowId(model)) {
      return reject(
        [
          {
            path: '(workflow id)',
            message: `a lifecycle of ${model} runs as ${lifecycleWorkflowId(model)} (one per model), not ${workflowId}`,
          },
        ],
        model,
      );
    }
    state = newLifecycleState(
      resolved.spec,
      resolved.pipelineSpecHash,
      parsed.data.requestedBy ?? 'temporal',
      now(),
    );
  }
  const model = state.spec.model;
  const policy = state.spec.retrain;

  // Events: numbered into the state at once, written to PostgreSQL in order by one chain of activities.
  const unwritten: LifecycleEvent[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    writing = writing
      .then(async () => {
        while (unwritten.length > 0) {
          const events = unwritten.splice(0, unwritten.length);
          try {
            await acts.recordLifecycleEvents({ workflowId, chainId, model, events });
          } catch (error) {
            // Only a cancelled run gets here (the write is retried until the database takes it): keep the events
            // for the next flush, and keep the chain alive.
            unwritten.unshift(...events);
            throw error;
          }
        }
      })
      .catch(() => undefined);
    return writing;
  };
  const emit = (event: Omit<LifecycleEvent, 'seq' | 'at'>): void => {
    unwritten.push(appendEvent(state, { at: now(), ...event }));
    void flush();
  };

  let stage = '';
  const syncAttributes = () => {
    const next = stageOf(state);
    if (next === stage) return;
    stage = next;
    upsertSearchAttributes([{ key: stageKey, value: stage }]);
  };
  const setChampion = (version: number) => {
    state.champion = version;
    upsertSearchAttributes([{ key: championVersionKey, value: version }]);
  };
  upsertSearchAttributes([
    { key: modelNameKey, value: model },
    ...(state.champion !== null ? [{ key: championVersionKey, value: state.champion }] : []),
  ]);
  syncAttributes();

  let active: { kind: 'training' | 'rollout'; workflowId: string } | null = null;
  let manual: RetrainTrigger | null = null;
  let wake = false;
  const poke = () => {
    wake = true;
  };

  // --- the monitor: one child for the lifecycle's life (it follows whichever version is the champion), started
  // with ABANDON so it outlives each continue-as-new, and found again by its id afterwards ---
  const monitorId = monitorWorkflowId(model);
  let monitorStarted = false;
  const ensureMonitor = async () => {
    const monitorPolicy = state.spec.monitor;
    if (state.champion === null || monitorPolicy === false || monitorStarted) return;
    if (state.monitor && (await acts.workflowRunning({ workflowId: monitorId }))) {
      monitorStarted = true;
      return;
    }
    const handle = await startChild(monitor, {
      workflowId: monitorId,
      taskQueue: info.taskQueue,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [{ model, policy: monitorPolicy, notifyWorkflowId: workflowId, requestedBy: workflowId }],
    });
    monitorStarted = true;
    const restarted = state.monitor !== null;
    state.monitor = { workflowId: monitorId, startedAt: now() };
    emit({
      kind: 'monitor-started',
      message: `${restarted ? 'monitor restarted (it was not running)' : 'monitoring the champion'}${monitorPolicy.interval !== undefined ? `: a window every ${formatDuration(monitorPolicy.interval)}` : ''}`,
      workflowId: monitorId,
      runId: handle.firstExecutionRunId,
    });
  };

  // --- the Query, Updates and Signals ---
  setHandler(lifecycleStatusQuery, () => lifecycleStatus(state, workflowId, active, Date.now()));

  const parseRequest = <S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> => {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const problems = problemsOf(parsed.error);
      throw ApplicationFailure.nonRetryable(
        problems.map((p) => `${p.path}: ${p.message}`).join('; '),
        'InvalidRequest',
      );
    }
    return parsed.data;
  };
  /** Thrown by validators: the type tells the API which HTTP status to answer (as the rollout's do). */
  const refuse = (type: 'Forbidden' | 'Conflict', message: string): never => {
    throw ApplicationFailure.create({ type, message, nonRetryable: true });
  };
  /** An activity's refusal (the rollout's answer, a lost compare-and-set) as the Update's own failure. */
  const rethrow = (error: unknown): never => {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof ApplicationFailure) {
      throw ApplicationFailure.create({
        ...(cause.type ? { type: cause.type } : {}),
        message: cause.message,
        nonRetryable: true,
      });
    }
    throw error;
  };

  setHandler(
    retrainNowUpdate,
    (request) => {
      manual = {
        kind: 'manual',
        actor: request.caller.name,
        at: now(),
        ...(request.comment ? { comment: request.comment } : {}),
      };
      poke();
      return Promise.resolve({ accepted: true as const, message: `a retrain of ${model} starts now` });
    },
    {
      validator: (raw) => {
        const request = parseRequest(lifecycleRequestSchema, raw);
        const refusal = lifecycleCallerRefusal(request.caller, model, 'retrainNow');
        if (refusal) refuse('Forbidden', refusal);
        if (state.paused) refuse('Conflict', `the lifecycle of ${model} is paused: resume it first`);
        if (state.phase === 'training' || state.phase === 'rollout' || manual) {
          refuse(
            'Conflict',
            `a ${state.phase === 'rollout' ? 'rollout' : 'training'} of ${model} is already in progress`,
          );
        }
      },
    },
  );

  const forwardToRollout = async (update: string, arg: unknown): Promise<unknown> =>
    active?.kind === 'rollout'
      ? acts.forwardUpdate({ workflowId: active.workflowId, update, arg })
      : undefined;

  const pauseOrResume = (pause: boolean) =>
    setHandler(
      pause ? pauseUpdate : resumeUpdate,
      async (request): Promise<LifecycleAnswer> => {
        state.paused = pause;
        syncAttributes();
        emit({
          kind: pause ? 'paused' : 'resumed',
          message: `${pause ? 'paused' : 'resumed'} by ${request.caller.name}${request.comment ? `: ${request.comment}` : ''}`,
          actor: request.caller.name,
          ...(request.source ? { details: { source: request.source } } : {}),
        });
        poke();
        const rollout = await forwardToRollout(pause ? 'pause' : 'resume', request).catch(
          (error: unknown) => ({
            refused: failureMessage(error),
          }),
        );
        // The decision is in the history (and the audit log) before the caller hears back.
        await flush();
        return {
          accepted: true,
          message: pause
            ? `${model}: no automatic retrain${active?.kind === 'rollout' ? ' and the rollout paused' : ''} until resumed`
            : `${model}: resumed`,
          ...(rollout !== undefined ? { rollout } : {}),
        };
      },
      {
        validator: (raw) => {
          const request = parseRequest(lifecycleRequestSchema, raw);
          const refusal = lifecycleCallerRefusal(request.caller, model, pause ? 'pause' : 'resume');
          if (refusal) refuse('Forbidden', refusal);
          if (state.paused === pause)
            refuse('Conflict', `the lifecycle of ${model} is already ${pause ? 'paused' : 'running'}`);
        },
      },
    );
  pauseOrResume(true);
  pauseOrResume(false);

  setHandler(
    rollbackUpdate,
    async (request): Promise<LifecycleAnswer> => {
      const source = request.source ? { source: request.source } : {};
      if (active?.kind === 'rollout') {
        const rollout = await forwardToRollout('abort', {
          caller: request.caller,
          comment: request.comment,
          ...source,
        });
        emit({
          kind: 'rollback',
          message: `${request.caller.name} aborted the rollout of version ${state.candidate}`,
          actor: request.caller.name,
          details: source,
        });
        await flush();
        return {
          accepted: true,
          message: `the rollout of version ${state.candidate} is rolling back`,
          rollout,
        };
      }
      const from = state.champion!;
      const to = request.toVersion ?? state.previousChampions.at(-1)!;
      const seq = state.seq;
      await acts
        .rollbackChampion({
          model,
          from,
          to,
          actor: request.caller.name,
          requestId: `${workflowId}/${chainId}/${seq}`,
          reason: `lifecycle rollback by ${request.caller.name}${request.comment ? `: ${request.comment}` : ''}`,
        })
        .catch(rethrow);
      state.previousChampions = state.previousChampions.filter((v) => v !== to);
      markVersion(state, from, {
        state: 'rolled-back',
        endedAt: now(),
        reason: `rolled back by ${request.caller.name}`,
      });
      markVersion(state, to, { state: 'champion', promotedAt: now() });
      setChampion(to);
      emit({
        kind: 'rollback',
        message: `${request.caller.name} rolled the champion back from version ${from} to ${to}`,
        actor: request.caller.name,
        version: to,
        details: { from, ...source },
      });
      await ensureMonitor();
      poke();
      await flush();
      return { accepted: true, message: `version ${to} is the champion of ${model} again` };
    },
    {
      validator: (raw) => {
        const request = parseRequest(rollbackRequestSchema, raw);
        const refusal = lifecycleCallerRefusal(request.caller, model, 'rollback');
        if (refusal) refuse('Forbidden', refusal);
        if (active?.kind === 'rollout') return;
        if (state.champion === null) refuse('Conflict', `${model} has no champion to roll back`);
        const to = request.toVersion ?? state.previousChampions.at(-1);
        if (to === undefined)
          refuse('Conflict', `${model} has had no earlier champion to go back to (name one with toVersion)`);
        if (to === state.champion) refuse('Conflict', `version ${to} is already the champion of ${model}`);
      },
    },
  );

  const decide = (approve: boolean) =>
    setHandler(
      approve ? approveUpdate : rejectUpdate,
      async (request): Promise<LifecycleAnswer> => {
        const rollout = await forwardToRollout(approve ? 'approve' : 'reject', request);
        emit({
          kind: 'approval',
          message: `${request.caller.name} ${approve ? 'approved' : 'rejected'} version ${state.candidate}${request.comment ? `: ${request.comment}` : ''}`,
          actor: request.caller.name,
          ...(state.candidate !== null ? { version: state.candidate } : {}),
          ...(request.source ? { details: { source: request.source } } : {}),
        });
        await flush();
        return { accepted: true, message: `passed to ${rolloutWorkflowId(model)}`, rollout };
      },
      {
        validator: (raw) => {
          const request = parseRequest(decisionRequestSchema, raw);
          if (active?.kind !== 'rollout') refuse('Conflict', `no rollout of ${model} is in progress`);
          const refusal = approverRefusal(
            request.caller,
            model,
            state.spec.rollout.approval?.approvers ?? [],
          );
          if (refusal) refuse('Forbidden', refusal);
        },
      },
    );
  decide(true);
  decide(false);

  setHandler(approveSignal, (raw) => {
    const parsed = approvalSignalSchema.safeParse(raw);
    if (!parsed.success || active?.kind !== 'rollout') {
      emit({
        kind: 'approval',
        message: parsed.success
          ? `an approve signal from ${parsed.data.approver} arrived with no rollout in progress; ignored`
          : `an approve signal was ignored: ${problemsOf(parsed.error)
              .map((p) => `${p.path}: ${p.message}`)
              .join('; ')}`,
      });
      return;
    }
    // A rollout that ends meanwhile has nothing left to approve; the event below still records the attempt.
    void getExternalWorkflowHandle(active.workflowId)
      .signal('approve', parsed.data)
      .catch(() => undefined);
    emit({
      kind: 'approval',
      message: `${parsed.data.approver} approved version ${state.candidate} through a Temporal signal`,
      actor: parsed.data.approver,
      details: { source: 'temporal-signal' },
    });
  });

  // The monitor's alerts: a drifting feature of the champion stands as a drift trigger until the monitor clears it.
  setHandler(monitorAlertSignal, (alert) => {
    const reports = {
      ...(alert.reportHtmlUri ? { report: alert.reportHtmlUri } : {}),
      ...(alert.reportUri ? { reportJson: alert.reportUri } : {}),
    };
    const feature = alert.kind === 'feature_drift' ? alert.feature : undefined;
    const current = alert.version !== null && alert.version === state.champion;
    if (feature !== undefined && alert.transition === 'fired' && current) {
      const features = [...new Set([...(state.activeAlert?.features ?? []), feature])];
      state.activeAlert = {
        since: state.activeAlert?.since ?? alert.window.end,
        version: alert.version,
        features,
        message: alert.message,
        ...(alert.reportHtmlUri || alert.reportUri
          ? { reportUri: alert.reportHtmlUri ?? alert.reportUri }
          : {}),
      };
    } else if (feature !== undefined && alert.transition === 'cleared' && state.activeAlert) {
      const left = state.activeAlert.features.filter((f) => f !== feature);
      state.activeAlert = left.length > 0 ? { ...state.activeAlert, features: left } : null;
    }
    emit({
      kind: alert.transition === 'fired' ? 'alert' : 'alert-cleared',
      message: `${alert.message}${alert.version !== null && !current ? ` (version ${alert.version}, no longer the champion)` : ''}`,
      ...(alert.version !== null ? { version: alert.version } : {}),
      workflowId: monitorId,
      reports,
      details: { key: alert.key, kind: alert.kind, window: alert.window },
    });
    poke();
  });

  // --- the phases ---
  const afterTraining = () => {
    state.training = null;
    state.phase = state.candidate !== null ? 'rollout' : state.champion !== null ? 'monitoring' : 'idle';
  };

  const trainPhase = async () => {
    const pending = state.training ?? { kind: 'initial' as const };
    let spec = state.spec.pipeline;
    let specHash = state.pipelineSpecHash;
    syncAttributes();
    if (pending.kind === 'retrain') {
      const original = policy.data.original;
      const exported = await exporter.exportLabelledTraffic({
        model,
        requestId: `${workflowId}/${chainId}/${pending.decidedAt ?? state.seq}`,
        since: state.ledger.lastTrainingAt,
        maxRows: policy.data.window.maxRows,
        ...(policy.data.window.maxAge !== undefined ? { maxAgeMs: policy.data.window.maxAge } : {}),
        minRows: policy.data.minRows,
        original:
          original === false || state.originalDatasetSha256 === null
            ? false
            : {
                datasetSha256: state.originalDatasetSha256,
                ...(original === true ? {} : { maxRows: original.maxRows }),
              },
        pipeline: state.spec.pipeline,
      });
      if (!exported.ok) {
        // Asked again no sooner than a cooldown (or a check) later: the traffic needs time to grow.
        const wait = Math.max(policy.checkEvery, policy.cooldown);
        emit({
          kind: 'retrain-skipped',
          message: `retrain skipped: ${exported.reason}; asking again in ${formatDuration(wait)} at the earliest`,
        });
        if (pending.trigger)
          state.deferred = { trigger: pending.trigger, until: new Date(Date.now() + wait).toISOString() };
        afterTraining();
        return;
      }
      emit({
        kind: 'data-exported',
        message: `exported ${exported.trafficRows} labelled predictions${exported.originalRows ? ` and ${exported.originalRows} original rows` : ''} as dataset ${exported.sha256.slice(0, 12)}`,
        reports: { dataset: exported.uri },
        details: {
          sha256: exported.sha256,
          firstPredictionAt: exported.firstPredictionAt,
          lastPredictionAt: exported.lastPredictionAt,
        },
      });
      spec = exported.spec;
      specHash = exported.specHash;
    }
    const startedAt = now();
    state.ledger = {
      lastTrainingAt: startedAt,
      automaticRetrains: [
        ...retrainsInBudgetPeriod(state.ledger, policy, Date.now()),
        ...(pending.kind === 'retrain' && pending.trigger?.kind !== 'manual' ? [startedAt] : []),
      ],
    };
    if (pending.kind === 'retrain') state.totals.retrains += 1;
    const trainingId = `training-${model}-${uuid4().replace(/-/g, '').slice(0, 8)}`;
    state.training = { ...pending, workflowId: trainingId, startedAt };
    const cause =
      pending.reason ?? (pending.trigger ? describeTrigger(pending.trigger) : 'the first training');
    emit({ kind: 'training-started', message: `training (${cause})`, workflowId: trainingId });
    active = { kind: 'training', workflowId: trainingId };
    let result: TrainingResult;
    try {
      result = await executeChild(training, {
        workflowId: trainingId,
        taskQueue: info.taskQueue,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [{ spec, specHash, queuePrefix, requestedBy: workflowId }],
        typedSearchAttributes: [{ key: modelNameKey, value: model }],
      });
    } catch (error) {
      emit({
        kind: 'training-failed',
        message: `training failed: ${failureMessage(error)}`,
        workflowId: trainingId,
      });
      afterTraining();
      return;
    } finally {
      active = null;
    }
    const reports = Object.fromEntries(
      Object.entries(result.reports).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    if (result.outcome !== 'registered' || result.version === undefined) {
      emit({
        kind: 'training-rejected',
        message: `training rejected at ${result.rejectedAt ?? 'an unknown stage'}: ${(result.reasons ?? []).join('; ')}`,
        workflowId: trainingId,
        reports,
      });
      afterTraining();
      return;
    }
    const version = result.version;
    if (pending.kind === 'initial' && result.datasetSha256)
      state.originalDatasetSha256 = result.datasetSha256;
    const metrics = result.metrics
      ? ['auc', 'accuracy']
          .map((m) => `${m} ${(result.metrics as Record<string, number>)[m]?.toFixed(4)}`)
          .join(', ')
      : '';
    const reused = result.cache?.hit ? ` (reused: ${result.cache.reason})` : '';
    if (version === state.champion) {
      emit({
        kind: 'trained',
        message: `training gave version ${version}, already the champion${reused}: nothing to roll out`,
        version,
        workflowId: trainingId,
        reports,
      });
      afterTraining();
      return;
    }
    upsertVersion(state, {
      version,
      trainedAt: startedAt,
      trainingWorkflowId: trainingId,
      cause,
      ...(result.datasetSha256 ? { datasetSha256: result.datasetSha256 } : {}),
      ...(result.cache?.hit ? { cached: true } : {}),
      state: 'candidate',
    });
    emit({
      kind: 'trained',
      message: `trained version ${version}${metrics ? `: ${metrics}` : ''}${reused}`,
      version,
      workflowId: trainingId,
      reports,
      ...(result.cache ? { details: { cache: result.cache } } : {}),
    });
    state.candidate = version;
    afterTraining();
  };

  let loopDone = false;
  const rolloutPhase = async () => {
    syncAttributes();
    await condition(() => !state.paused);
    const version = state.candidate!;
    const rolloutId = rolloutWorkflowId(model);
    const finish = () => {
      state.candidate = null;
      state.phase = state.champion !== null ? 'monitoring' : 'idle';
      loopDone = true;
    };
    let handle: ChildWorkflowHandle<(input: unknown) => Promise<RolloutResult>>;
    try {
      handle = await startChild<(input: unknown) => Promise<RolloutResult>>('rollout', {
        workflowId: rolloutId,
        taskQueue: info.taskQueue,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [{ model, version, plan: state.spec.rollout, requestedBy: workflowId }],
      });
    } catch (error) {
      markVersion(state, version, { state: 'rolled-back', endedAt: now(), reason: 'not rolled out' });
      emit({
        kind: 'rollout-blocked',
        message: `version ${version} was not rolled out: ${failureMessage(error)} (another rollout of ${model} running?)`,
        version,
        workflowId: rolloutId,
      });
      finish();
      return;
    }
    markVersion(state, version, { state: 'in-rollout' });
    emit({
      kind: 'rollout-started',
      message: `rolling out version ${version}${state.champion !== null ? ` against champion ${state.champion}` : ' (no champion yet)'}`,
      version,
      workflowId: rolloutId,
      runId: handle.firstExecutionRunId,
    });
    active = { kind: 'rollout', workflowId: rolloutId };
    try {
      const result = await handle.result();
      if (result.outcome === 'promoted') {
        const previous = state.champion;
        if (previous !== null && previous !== version) {
          state.previousChampions.push(previous);
          if (state.previousChampions.length > 20) state.previousChampions.shift();
          markVersion(state, previous, { state: 'retired', endedAt: now() });
        }
        markVersion(state, version, { state: 'champion', promotedAt: now() });
        setChampion(result.champion ?? version);
        emit({
          kind: 'promoted',
          message: `version ${version} promoted${previous !== null ? ` over ${previous}` : ''}: ${result.reason}`,
          version,
          workflowId: rolloutId,
          runId: handle.firstExecutionRunId,
          details: { approvals: result.approvals },
        });
        state.activeAlert = null;
        state.deferred = null;
        state.phase = 'monitoring';
        await ensureMonitor();
      } else {
        markVersion(state, version, { state: 'rolled-back', endedAt: now(), reason: result.reason });
        emit({
          kind: 'rolled-back',
          message: `version ${version} rolled back: ${result.reason}`,
          version,
          workflowId: rolloutId,
          runId: handle.firstExecutionRunId,
        });
      }
    } catch (error) {
      markVersion(state, version, { state: 'rolled-back', endedAt: now(), reason: failureMessage(error) });
      emit({
        kind: 'rollout-failed',
        message: `the rollout of version ${version} failed: ${failureMessage(error)}`,
        version,
        workflowId: rolloutId,
      });
    } finally {
      active = null;
      finish();
    }
  };

  // Notes already made about triggers that did not retrain, so a standing condition is recorded once.
  const noted = new Set<string>();
  const note = (key: string, event: Omit<LifecycleEvent, 'seq' | 'at'>) => {
    if (noted.has(key)) return;
    noted.add(key);
    emit(event);
  };
  const startRetrain = (trigger: RetrainTrigger, reason: string) => {
    // With no champion there is no traffic to learn from: train on the pipeline's own data again.
    state.training = {
      kind: state.champion === null ? 'initial' : 'retrain',
      trigger,
      decidedAt: state.seq,
      reason,
    };
    state.phase = 'training';
    state.deferred = null;
    noted.clear();
    emit({
      kind: 'retrain-triggered',
      message: `retrain: ${reason}`,
      ...(trigger.kind === 'manual' ? { actor: trigger.actor } : {}),
      ...(trigger.kind === 'drift' && trigger.reportUri ? { reports: { report: trigger.reportUri } } : {}),
    });
  };

  const watchPhase = async (): Promise<'train' | 'continue'> => {
    syncAttributes();
    if (state.phase === 'monitoring') await ensureMonitor();
    let nextCheck = Date.now();
    for (;;) {
      const current = workflowInfo();
      if (current.continueAsNewSuggested || current.historyLength > historyLimit) return 'continue';
      const nowMs = Date.now();
      if (manual) {
        const trigger = manual;
        manual = null;
        startRetrain(trigger, describeTrigger(trigger));
        return 'train';
      }
      const triggers: RetrainTrigger[] = [];
      const deferredUntil = state.deferred ? Date.parse(state.deferred.until) : 0;
      if (nowMs >= deferredUntil) {
        if (state.activeAlert && state.activeAlert.features.length > 0 && policy.triggers.drift) {
          triggers.push({
            kind: 'drift',
            features: state.activeAlert.features,
            at: state.activeAlert.since,
            ...(state.activeAlert.reportUri ? { reportUri: state.activeAlert.reportUri } : {}),
          });
        }
        const floor = policy.triggers.performance;
        if (floor && state.champion !== null && nowMs >= nextCheck) {
          const measured = await acts.labelledPerformance({
            model,
            version: state.champion,
            metric: floor.metric,
            windowRows: floor.windowRows,
          });
          if (measured.value !== null) {
            triggers.push({
              kind: 'performance',
              metric: floor.metric,
              value: measured.value,
              labels: measured.labels,
              at: now(),
            });
          }
        }
        const scheduled = nextScheduledRetrain(policy, state.ledger);
        if (scheduled && nowMs >= Date.parse(scheduled)) triggers.push({ kind: 'schedule', at: scheduled });
      }
      if (nowMs >= nextCheck) nextCheck = nowMs + policy.checkEvery;
      for (const trigger of triggers) {
        const decision = decideRetrain(trigger, policy, state.ledger, Date.now());
        if (decision.action === 'ignore') {
          if (trigger.kind === 'drift')
            note(`ignore:${trigger.features.join(',')}`, {
              kind: 'retrain-ignored',
              message: decision.reason,
            });
          continue;
        }
        if (state.paused) {
          note(`paused:${trigger.kind}`, {
            kind: 'retrain-deferred',
            message: `${describeTrigger(trigger)}: no retrain while paused`,
          });
          continue;
        }
        if (decision.action === 'retrain') {
          startRetrain(trigger, decision.reason);
          return 'train';
        }
        state.deferred = { trigger, until: decision.until };
        note(`defer:${trigger.kind}:${decision.until}`, {
          kind: 'retrain-deferred',
          message: decision.reason,
        });
      }
      syncAttributes();
      const wakeAt = Math.min(
        nextCheck,
        state.deferred ? Math.max(Date.parse(state.deferred.until), Date.now() + 1) : Infinity,
      );
      wake = false;
      await condition(() => wake || manual !== null, Math.max(1, wakeAt - Date.now()));
    }
  };

  // --- the loop ---
  if (!resumed)
    emit({
      kind: 'started',
      message: `lifecycle of ${model} started by ${state.requestedBy}`,
      actor: state.requestedBy,
    });
  for (;;) {
    if (state.phase === 'training') await trainPhase();
    else if (state.phase === 'rollout') await rolloutPhase();
    else if ((await watchPhase()) === 'continue') break;
    syncAttributes();
    if (loopDone) break;
  }
  await flush();
  await condition(allHandlersFinished);
  await flush();
  return continueAsNew<typeof lifecycle>({ resume: state });
}
