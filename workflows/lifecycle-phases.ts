// The lifecycle's phases: training (a retrain first exports the labelled traffic it trains on), rollout, and
// watching for a reason to retrain. Each leaves `state.phase` set to what comes next.
import {
  condition,
  executeChild,
  ParentClosePolicy,
  startChild,
  uuid4,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { formatDuration } from '../domain/duration.js';
import { markVersion, upsertVersion } from '../domain/lifecycle-state.js';
import {
  decideRetrain,
  describeTrigger,
  nextScheduledRetrain,
  retrainsInBudgetPeriod,
  type RetrainTrigger,
} from '../domain/retrain-policy.js';
import { rolloutWorkflowId, type RolloutResult } from '../domain/rollout.js';
import { modelNameKey } from '../domain/search-attributes.js';
import type { TrainingResult } from '../domain/training.js';
import { failureMessage, now, type EventDraft, type LifecycleRun } from './lifecycle-run.js';
import { training } from './training.js';

/** Past this many history events the lifecycle continues as a new run (it also does between loops). */
const historyLimit = 2000;

function afterTraining(run: LifecycleRun): void {
  const { state } = run;
  state.training = null;
  state.phase = state.candidate !== null ? 'rollout' : state.champion !== null ? 'monitoring' : 'idle';
}

/** Trains (a retrain on its exported traffic) and leaves the registered version as the candidate. */
export async function trainPhase(run: LifecycleRun): Promise<void> {
  const { state, policy, model } = run;
  const pending = state.training ?? { kind: 'initial' as const };
  let spec = state.spec.pipeline;
  let specHash = state.pipelineSpecHash;
  run.syncAttributes();
  if (pending.kind === 'retrain') {
    const original = policy.data.original;
    const exported = await run.exporter.exportLabelledTraffic({
      model,
      requestId: `${run.workflowId}/${run.chainId}/${pending.decidedAt ?? state.seq}`,
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
      run.emit({
        kind: 'retrain-skipped',
        message: `retrain skipped: ${exported.reason}; asking again in ${formatDuration(wait)} at the earliest`,
      });
      if (pending.trigger)
        state.deferred = { trigger: pending.trigger, until: new Date(Date.now() + wait).toISOString() };
      afterTraining(run);
      return;
    }
    run.emit({
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
  const cause = pending.reason ?? (pending.trigger ? describeTrigger(pending.trigger) : 'the first training');
  run.emit({ kind: 'training-started', message: `training (${cause})`, workflowId: trainingId });
  run.active = { kind: 'training', workflowId: trainingId };
  let result: TrainingResult;
  try {
    result = await executeChild(training, {
      workflowId: trainingId,
      taskQueue: run.taskQueue,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [{ spec, specHash, queuePrefix: run.queuePrefix, requestedBy: run.workflowId }],
      typedSearchAttributes: [{ key: modelNameKey, value: model }],
    });
  } catch (error) {
    run.emit({
      kind: 'training-failed',
      message: `training failed: ${failureMessage(error)}`,
      workflowId: trainingId,
    });
    afterTraining(run);
    return;
  } finally {
    run.active = null;
  }
  const reports = Object.fromEntries(
    Object.entries(result.reports).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  if (result.outcome !== 'registered' || result.version === undefined) {
    run.emit({
      kind: 'training-rejected',
      message: `training rejected at ${result.rejectedAt ?? 'an unknown stage'}: ${(result.reasons ?? []).join('; ')}`,
      workflowId: trainingId,
      reports,
    });
    afterTraining(run);
    return;
  }
  const version = result.version;
  if (pending.kind === 'initial' && result.datasetSha256) state.originalDatasetSha256 = result.datasetSha256;
  const metrics = result.metrics
    ? ['auc', 'accuracy']
        .map((m) => `${m} ${(result.metrics as Record<string, number>)[m]?.toFixed(4)}`)
        .join(', ')
    : '';
  const reused = result.cache?.hit ? ` (reused: ${result.cache.reason})` : '';
  if (version === state.champion) {
    run.emit({
      kind: 'trained',
      message: `training gave version ${version}, already the champion${reused}: nothing to roll out`,
      version,
      workflowId: trainingId,
      reports,
    });
    afterTraining(run);
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
  run.emit({
    kind: 'trained',
    message: `trained version ${version}${metrics ? `: ${metrics}` : ''}${reused}`,
    version,
    workflowId: trainingId,
    reports,
    ...(result.cache ? { details: { cache: result.cache } } : {}),
  });
  state.candidate = version;
  afterTraining(run);
}

/** Rolls the candidate out (a paused lifecycle waits first); promoted, it becomes the champion. */
export async function rolloutPhase(run: LifecycleRun): Promise<void> {
  const { state, model } = run;
  run.syncAttributes();
  await condition(() => !state.paused);
  const version = state.candidate!;
  const rolloutId = rolloutWorkflowId(model);
  const finish = () => {
    state.candidate = null;
    state.phase = state.champion !== null ? 'monitoring' : 'idle';
    run.loopDone = true;
  };
  let handle: ChildWorkflowHandle<(input: unknown) => Promise<RolloutResult>>;
  try {
    handle = await startChild<(input: unknown) => Promise<RolloutResult>>('rollout', {
      workflowId: rolloutId,
      taskQueue: run.taskQueue,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [{ model, version, plan: state.spec.rollout, requestedBy: run.workflowId }],
    });
  } catch (error) {
    markVersion(state, version, { state: 'rolled-back', endedAt: now(), reason: 'not rolled out' });
    run.emit({
      kind: 'rollout-blocked',
      message: `version ${version} was not rolled out: ${failureMessage(error)} (another rollout of ${model} running?)`,
      version,
      workflowId: rolloutId,
    });
    finish();
    return;
  }
  markVersion(state, version, { state: 'in-rollout' });
  run.emit({
    kind: 'rollout-started',
    message: `rolling out version ${version}${state.champion !== null ? ` against champion ${state.champion}` : ' (no champion yet)'}`,
    version,
    workflowId: rolloutId,
    runId: handle.firstExecutionRunId,
  });
  run.active = { kind: 'rollout', workflowId: rolloutId };
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
      run.setChampion(result.champion ?? version);
      run.emit({
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
      await run.ensureMonitor();
    } else {
      markVersion(state, version, { state: 'rolled-back', endedAt: now(), reason: result.reason });
      run.emit({
        kind: 'rolled-back',
        message: `version ${version} rolled back: ${result.reason}`,
        version,
        workflowId: rolloutId,
        runId: handle.firstExecutionRunId,
      });
    }
  } catch (error) {
    markVersion(state, version, { state: 'rolled-back', endedAt: now(), reason: failureMessage(error) });
    run.emit({
      kind: 'rollout-failed',
      message: `the rollout of version ${version} failed: ${failureMessage(error)}`,
      version,
      workflowId: rolloutId,
    });
  } finally {
    run.active = null;
    finish();
  }
}

/**
 * The phase between loops: waits for a reason to retrain (a person, an alert standing, the performance floor, the
 * schedule) that the policy allows now, and says 'train'; or says 'continue' when the history is long.
 */
export function createWatcher(run: LifecycleRun): () => Promise<'train' | 'continue'> {
  const { state, policy, model } = run;
  // Notes already made about triggers that did not retrain, so a standing condition is recorded once.
  const noted = new Set<string>();
  const note = (key: string, event: EventDraft) => {
    if (noted.has(key)) return;
    noted.add(key);
    run.emit(event);
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
    run.emit({
      kind: 'retrain-triggered',
      message: `retrain: ${reason}`,
      ...(trigger.kind === 'manual' ? { actor: trigger.actor } : {}),
      ...(trigger.kind === 'drift' && trigger.reportUri ? { reports: { report: trigger.reportUri } } : {}),
    });
  };

  /** What stands now: an alert on the champion, the performance floor (measured every checkEvery), the schedule. */
  const standing = async (nowMs: number, measure: boolean): Promise<RetrainTrigger[]> => {
    const triggers: RetrainTrigger[] = [];
    if (state.activeAlert && state.activeAlert.features.length > 0 && policy.triggers.drift) {
      triggers.push({
        kind: 'drift',
        features: state.activeAlert.features,
        at: state.activeAlert.since,
        ...(state.activeAlert.reportUri ? { reportUri: state.activeAlert.reportUri } : {}),
      });
    }
    const floor = policy.triggers.performance;
    if (floor && state.champion !== null && measure) {
      const measured = await run.acts.labelledPerformance({
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
    return triggers;
  };

  return async () => {
    run.syncAttributes();
    if (state.phase === 'monitoring') await run.ensureMonitor();
    let nextCheck = Date.now();
    for (;;) {
      const current = workflowInfo();
      if (current.continueAsNewSuggested || current.historyLength > historyLimit) return 'continue';
      const nowMs = Date.now();
      if (run.manual) {
        const trigger = run.manual;
        run.manual = null;
        startRetrain(trigger, describeTrigger(trigger));
        return 'train';
      }
      const deferredUntil = state.deferred ? Date.parse(state.deferred.until) : 0;
      const triggers = nowMs >= deferredUntil ? await standing(nowMs, nowMs >= nextCheck) : [];
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
      run.syncAttributes();
      const wakeAt = Math.min(
        nextCheck,
        state.deferred ? Math.max(Date.parse(state.deferred.until), Date.now() + 1) : Infinity,
      );
      run.wake = false;
      await condition(() => run.wake || run.manual !== null, Math.max(1, wakeAt - Date.now()));
    }
  };
}
