import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PreparedRollout, RolloutActivities } from '../activities/rollout.js';
import type { RolloutRequestInput, RolloutResult } from '../domain/rollout.js';
import { decideStep } from '../domain/rollout-analysis.js';
import {
  activeMs,
  approvalsNeeded,
  approverNames,
  initialState,
  isFinished,
  plannedPhases,
  type PlannedPhase,
  type RolloutState,
} from '../domain/rollout-state.js';
import { championVersionKey, modelNameKey, stageKey } from '../domain/search-attributes.js';
import { installRolloutHandlers } from './rollout-handlers.js';

export {
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  rolloutStatusQuery,
} from './rollout-handlers.js';

/**
 * Patch ids (DESIGN.md, "Changing workflow code safely"). Runs started before a patch replay the old branch.
 * - stage after traffic: a phase's Stage search attribute is set once its traffic split is written, not before.
 */
const stageAfterTrafficPatch = 'rollout-stage-after-traffic';

/** What a phase or the gate decided: go on, promote, or roll back and why. */
type Decision = { next: 'pass' } | { next: 'promote' } | { next: 'roll-back'; reason: string };

/**
 * Rolls a registered version out to production: an optional shadow phase, canary steps each judged from the
 * prediction log by `decideStep`, an approval gate, then promotion (champion alias and all traffic, by
 * compare-and-set) or roll back (all traffic to the champion; the alias never moves). One per model
 * (`rollout-<model>`). Its input is what a person can type: `{ "model": "elec2-price", "version": 3 }`.
 */
export async function rollout(input: RolloutRequestInput, carried?: RolloutState): Promise<RolloutResult> {
  const info = workflowInfo();
  const rolloutId = `${info.workflowId}/${info.firstExecutionRunId}`;
  // Activities run on the workflow's own (CPU) task queue.
  // Short timeouts: a worker that dies mid-activity delays a rollout (or a rollback) by at most this much.
  const acts = proxyActivities<RolloutActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
  // Measuring a phase scans its rows of the prediction log: long for a busy model, so it heartbeats instead.
  const measure = proxyActivities<RolloutActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
  // Rolling back (and promoting once approved) must never give up: retried with backoff until the database takes
  // the write. Only a lost compare-and-set, which no retry can win, stops a promotion.
  const persistent = proxyActivities<RolloutActivities>({
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: ['PromotionConflict'],
    },
  });

  let state: RolloutState | undefined = carried;
  let phases: PlannedPhase[] = state ? plannedPhases(state.plan, state.champion) : [];
  const subject = () => (state ? `${state.request.model}:${state.request.version}` : 'unknown');
  const setStage = (stage: string) => {
    if (state) state.stage = stage;
    upsertSearchAttributes([{ key: stageKey, value: stage }]);
  };
  const record = (actor: string, action: string, source: string, details: unknown) =>
    acts.recordRolloutEvent({ actor, action, subject: subject(), source, details });

  installRolloutHandlers({
    input,
    state: () => state,
    phases: () => phases,
    record,
  });

  if (!state) {
    upsertSearchAttributes([
      { key: modelNameKey, value: typeof input?.model === 'string' ? input.model : 'invalid' },
      { key: stageKey, value: 'preparing' },
    ]);
    let prepared: PreparedRollout;
    try {
      prepared = await acts.prepareRollout(input);
    } catch (error) {
      upsertSearchAttributes([{ key: stageKey, value: 'invalid' }]);
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof ApplicationFailure && cause.type === 'InvalidRolloutInput') {
        throw ApplicationFailure.nonRetryable(cause.message, 'InvalidRolloutInput', ...(cause.details ?? []));
      }
      throw error;
    }
    state = initialState(prepared);
    phases = plannedPhases(state.plan, state.champion);
    if (state.champion !== null) upsertSearchAttributes([{ key: championVersionKey, value: state.champion }]);
  }
  const s = state;
  const { plan, request } = { plan: s.plan, request: s.request };

  /** Continues as a new run, state and all, once the history is long; only between steps of the loop. */
  const maybeContinueAsNew = async () => {
    const now = workflowInfo();
    if (!now.continueAsNewSuggested && now.historyLength < s.continueAsNewAfterEvents) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof rollout>(input, s);
  };

  const stopReason = (): Decision => ({ next: 'roll-back', reason: stopText() });
  const stopText = () =>
    s.stop!.kind === 'reject'
      ? `rejected by ${s.stop!.by}${s.stop!.comment ? `: ${s.stop!.comment}` : ''}`
      : `aborted by ${s.stop!.by}${s.stop!.comment ? `: ${s.stop!.comment}` : ''}`;

  const enterPhase = async (phase: PlannedPhase | undefined) => {
    const split = phase
      ? {
          champion: s.champion,
          challenger: request.version,
          challengerWeight: phase.weight / 100,
          shadow: phase.shadow,
        }
      : s.traffic;
    const written = await acts.setTraffic({
      model: request.model,
      workflowId: info.workflowId,
      split,
      stickyKey: plan.stickyKey,
      expectedRevision: s.revision,
      requestId: `${rolloutId}/${phase ? phase.stage : 'claim'}`,
      reason: phase
        ? `rollout of v${request.version}: ${phase.stage}`
        : `rollout of v${request.version}: awaiting approval`,
      actor: s.requestedBy,
    });
    s.revision = written.revision;
    s.traffic = split;
    s.startedAt = written.updatedAt;
    s.startedAtMs = Date.now();
    s.pausedMs = 0;
    s.entered = true;
    delete s.metrics;
    delete s.verdict;
  };

  /** Judges the current phase every interval until it passes, fails, or someone stops it. */
  const runPhase = async (phase: PlannedPhase): Promise<Decision> => {
    // The stage changes once the phase's traffic is written, so the status never shows a split it doesn't have.
    const stageAfterTraffic = patched(stageAfterTrafficPatch);
    if (!stageAfterTraffic) setStage(phase.stage);
    if (!s.entered) await enterPhase(phase);
    s.phase = phase.kind;
    if (stageAfterTraffic) setStage(phase.stage);
    for (;;) {
      if (await condition(() => s.stop !== null, plan.analysis.intervalMs)) return stopReason();
      await maybeContinueAsNew();
      const metrics = await measure.measureStep({
        model: request.model,
        champion: s.champion!,
        challenger: request.version,
        from: s.startedAt,
        threshold: plan.analysis.threshold,
      });
      const verdict = decideStep(metrics, plan.analysis, { ...phase, elapsedMs: activeMs(s, Date.now()) });
      s.metrics = metrics;
      s.verdict = verdict;
      if (s.stop) return stopReason();
      const ended = verdict.outcome === 'fail' || (verdict.outcome === 'pass' && s.pausedSinceMs === null);
      if (ended) {
        s.history.push({
          stage: phase.stage,
          weight: phase.weight,
          shadow: phase.shadow,
          startedAt: s.startedAt,
          endedAt: metrics.to,
          outcome: verdict.outcome === 'pass' ? 'pass' : 'fail',
          verdict,
        });
        return verdict.outcome === 'pass'
          ? { next: 'pass' }
          : { next: 'roll-back', reason: `${phase.stage} failed: ${verdict.reasons.join('; ')}` };
      }
    }
  };

  /** Waits for approval, watching the last canary's metrics meanwhile; returns 'promote' or why to roll back. */
  const approvalGate = async (): Promise<Decision> => {
    const last = phases[phases.length - 1];
    if (s.phase !== 'awaiting-approval') {
      // With no canary the rollout claims the deployment first: the status never shows a gate it doesn't hold.
      if (!last) await enterPhase(undefined);
      else {
        s.startedAtMs = Date.now();
        s.pausedMs = 0;
      }
      s.phase = 'awaiting-approval';
    }
    setStage('awaiting-approval');
    const needed = approvalsNeeded(plan);
    const approved = () => approverNames(s).length >= needed && s.pausedSinceMs === null;
    for (;;) {
      if (s.stop) return stopReason();
      if (approved()) return { next: 'promote' };
      const paused = s.pausedSinceMs !== null;
      const left = plan.approval.timeoutMs - activeMs(s, Date.now());
      if (left <= 0 && !paused) {
        if (plan.approval.onTimeout === 'promote') return { next: 'promote' };
        const reason = `no approval within ${Math.round(plan.approval.timeoutMs / 1000)} s (${approverNames(s).length} of ${needed})`;
        return { next: 'roll-back', reason };
      }
      // Wake on a decision, a pause or a resume, the timeout, and (with a challenger serving) the next analysis.
      const woke = () => s.stop !== null || approved() || (s.pausedSinceMs !== null) !== paused;
      const waitMs = last
        ? paused
          ? plan.analysis.intervalMs
          : Math.min(plan.analysis.intervalMs, left)
        : paused
          ? undefined
          : left;
      if (waitMs === undefined) await condition(woke);
      else await condition(woke, waitMs);
      await maybeContinueAsNew();
      if (last && !s.stop && !approved()) {
        // Watched while it waits: a breached threshold rolls back even at the gate.
        const metrics = await measure.measureStep({
          model: request.model,
          champion: s.champion!,
          challenger: request.version,
          from: s.history[s.history.length - 1]?.startedAt ?? s.startedAt,
          threshold: plan.analysis.threshold,
        });
        const verdict = decideStep(metrics, plan.analysis, { ...last, kind: 'watch', elapsedMs: 0 });
        s.metrics = metrics;
        s.verdict = verdict;
        if (verdict.outcome === 'fail') {
          const reason = `at the approval gate, ${last.stage} traffic failed: ${verdict.reasons.join('; ')}`;
          return { next: 'roll-back', reason };
        }
      }
    }
  };

  const promote = async (): Promise<void> => {
    s.phase = 'promoting';
    setStage('promoting');
    const approvers = approverNames(s);
    const reason = approvers.length
      ? `approved by ${approvers.join(', ')}`
      : 'approval timed out with onTimeout: promote';
    await persistent.promoteChallenger({
      model: request.model,
      version: request.version,
      expectedChampion: s.champion,
      workflowId: info.workflowId,
      requestId: `${rolloutId}/promote`,
      actor: approvers.join(',') || s.requestedBy,
      reason: `rollout of v${request.version}: ${reason}`,
    });
    upsertSearchAttributes([{ key: championVersionKey, value: request.version }]);
    s.traffic = { champion: request.version, challenger: null, challengerWeight: 0, shadow: false };
    s.outcome = 'promoted';
    s.reason = reason;
    s.phase = 'promoted';
    setStage('promoted');
    await record(s.requestedBy, 'rollout.promoted', 'rollout', {
      reason,
      previousChampion: s.champion,
      workflowId: info.workflowId,
    });
  };

  const rollBack = async (reason: string): Promise<void> => {
    const current = (s.phase === 'shadow' || s.phase === 'canary') && s.entered ? phases[s.step] : undefined;
    if (current && s.history.every((h) => h.stage !== current.stage)) {
      s.history.push({
        stage: current.stage,
        weight: current.weight,
        shadow: current.shadow,
        startedAt: s.startedAt,
        endedAt: new Date().toISOString(),
        outcome: 'aborted',
        ...(s.verdict ? { verdict: s.verdict } : {}),
      });
    }
    s.phase = 'rolling-back';
    setStage('rolling-back');
    s.reason = reason;
    const restored = await persistent.restoreChampion({
      model: request.model,
      workflowId: info.workflowId,
      requestId: `${rolloutId}/rollback`,
      reason: `rollout of v${request.version} rolled back: ${reason}`,
      actor: s.stop?.by ?? s.requestedBy,
    });
    s.traffic = { champion: restored.champion, challenger: null, challengerWeight: 0, shadow: false };
    s.outcome = 'rolled-back';
    s.phase = 'rolled-back';
    setStage('rolled-back');
    await persistent.recordRolloutEvent({
      actor: s.stop?.by ?? 'rollout',
      action: 'rollout.rolled-back',
      subject: subject(),
      source: 'rollout',
      details: { reason, champion: restored.champion, workflowId: info.workflowId },
    });
  };

  try {
    let decision: Decision = { next: 'pass' };
    while (s.step < phases.length && decision.next === 'pass') {
      decision = await runPhase(phases[s.step]!);
      if (decision.next === 'pass') {
        s.step += 1;
        s.entered = false;
      }
    }
    if (decision.next === 'pass') decision = await approvalGate();
    if (decision.next === 'promote') {
      try {
        await promote();
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        if (!(cause instanceof ApplicationFailure && cause.type === 'PromotionConflict')) throw error;
        await CancellationScope.nonCancellable(() => rollBack(`promotion refused: ${cause.message}`));
      }
    } else if (decision.next === 'roll-back') {
      const { reason } = decision;
      await CancellationScope.nonCancellable(() => rollBack(reason));
    }
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    // Cancelled or failed mid-way: traffic goes back to the champion before the run ends, whatever happened.
    if (!isFinished(s)) {
      const why = isCancellation(error)
        ? 'the rollout was cancelled'
        : `the rollout failed: ${(error as Error).message}`;
      log.error('rolling back after an error', { error: String(error) });
      await CancellationScope.nonCancellable(() => rollBack(why));
    }
    throw error;
  }
  await condition(allHandlersFinished);
  return {
    model: request.model,
    version: request.version,
    outcome: s.outcome!,
    champion: s.traffic.champion,
    previousChampion: s.champion,
    reason: s.reason ?? '',
    approvals: s.approvals,
    history: s.history,
  };
}
