import { callerAllows, type Caller } from './auth.js';
import {
  approverRefusal,
  stageName,
  type Approval,
  type ApprovalOutcome,
  type PhaseRecord,
  type RefusedApproval,
  type RolloutPhase,
  type RolloutRequest,
  type RolloutStatus,
  type TrafficSplit,
} from './rollout.js';
import type { StepVerdict } from './rollout-analysis.js';
import type { StepMetrics } from './rollout-metrics.js';
import type { PhasePlan, RolloutPlan } from './rollout-plan.js';

/** One phase the challenger goes through before the approval gate. */
export interface PlannedPhase extends PhasePlan {
  readonly stage: string;
  readonly kind: 'shadow' | 'canary';
  /** Percent of live requests the challenger answers. */
  readonly weight: number;
  readonly shadow: boolean;
}

/** The plan's phases in order: shadow (when planned), then each canary step. None without a champion to compare. */
export function plannedPhases(plan: RolloutPlan, champion: number | null): PlannedPhase[] {
  if (champion === null) return [];
  return [
    ...(plan.shadow
      ? [{ stage: 'shadow', kind: 'shadow' as const, weight: 0, shadow: true, ...plan.shadow }]
      : []),
    ...plan.steps.map((step) => ({
      ...step,
      stage: stageName('canary', step.weight),
      kind: 'canary' as const,
      shadow: plan.shadowDuringCanary,
    })),
  ];
}

/** A request to end the rollout early: a rejection by an approver or an abort by an operator. */
export interface StopRequest {
  readonly kind: 'reject' | 'abort';
  readonly by: string;
  readonly source: string;
  readonly comment?: string;
}

/**
 * Everything the rollout workflow knows, as plain JSON: carried into the next run when the history grows long
 * (continue-as-new), so a rollout of any length keeps its place, its approvals and its clock.
 */
export interface RolloutState {
  readonly request: RolloutRequest;
  readonly plan: RolloutPlan;
  readonly requestedBy: string;
  readonly champion: number | null;
  readonly continueAsNewAfterEvents: number;
  phase: RolloutPhase;
  stage: string;
  /** Index into `plannedPhases`; equal to their count at the approval gate. */
  step: number;
  /** Whether the current phase's traffic has been written. */
  entered: boolean;
  /** When the current phase (or the approval gate) started: workflow time in ms, and the database's time. */
  startedAtMs: number;
  startedAt: string;
  /** Paused time within the current phase, and since when it is paused (null: running). */
  pausedMs: number;
  pausedSinceMs: number | null;
  revision: number;
  traffic: TrafficSplit;
  approvals: Approval[];
  refused: RefusedApproval[];
  stop: StopRequest | null;
  metrics?: StepMetrics;
  verdict?: StepVerdict;
  history: PhaseRecord[];
  outcome?: 'promoted' | 'rolled-back';
  reason?: string;
}

export function initialState(prepared: {
  request: RolloutRequest;
  plan: RolloutPlan;
  requestedBy: string;
  champion: number | null;
  revision: number;
  continueAsNewAfterEvents: number;
}): RolloutState {
  return {
    ...prepared,
    phase: 'preparing',
    stage: 'preparing',
    step: 0,
    entered: false,
    startedAtMs: 0,
    startedAt: new Date(0).toISOString(),
    pausedMs: 0,
    pausedSinceMs: null,
    traffic: { champion: prepared.champion, challenger: null, challengerWeight: 0, shadow: false },
    approvals: [],
    refused: [],
    stop: null,
    history: [],
  };
}

/** Time spent in the current phase, paused time excluded. */
export function activeMs(state: RolloutState, nowMs: number): number {
  const pausedNow = state.pausedSinceMs === null ? 0 : nowMs - state.pausedSinceMs;
  return Math.max(0, nowMs - state.startedAtMs - state.pausedMs - pausedNow);
}

export function approvalsNeeded(plan: RolloutPlan): number {
  return plan.approval.twoPersonRule ? 2 : 1;
}

/** Distinct people who approved: the same person twice (by Update and Signal alike) counts once. */
export function approverNames(state: RolloutState): string[] {
  return [...new Set(state.approvals.map((a) => a.approver))];
}

export function isFinished(state: RolloutState | undefined): boolean {
  return state?.phase === 'promoted' || state?.phase === 'rolled-back';
}

/** Phases in which people may still steer the rollout. */
function steerable(state: RolloutState | undefined): RolloutState | undefined {
  const phase = state?.phase;
  return phase === 'shadow' || phase === 'canary' || phase === 'awaiting-approval' ? state : undefined;
}

/** Why a request is refused: `Forbidden` (who asks) or `Conflict` (not now). */
export interface Refusal {
  readonly type: 'Forbidden' | 'Conflict';
  readonly message: string;
}

const forbidden = (message: string | undefined): Refusal | undefined =>
  message === undefined ? undefined : { type: 'Forbidden', message };
const conflict = (message: string): Refusal => ({ type: 'Conflict', message });

/** Why an approval can't count now (wrong phase, not an approver), or undefined when it can. */
export function approvalRefusal(
  state: RolloutState | undefined,
  who: Caller | { signal: string },
): Refusal | undefined {
  if (!state || state.phase !== 'awaiting-approval') {
    return conflict(`the rollout is not awaiting approval (stage ${state?.stage ?? 'preparing'})`);
  }
  if ('signal' in who) {
    const listed = state.plan.approval.approvers;
    if (listed.length === 0) {
      return forbidden(
        'this rollout lists no approvers, so a Temporal Signal cannot approve it: use the approve Update (slipway rollout approve)',
      );
    }
    return listed.includes(who.signal)
      ? undefined
      : forbidden(`${who.signal} is not among this rollout's approvers (${listed.join(', ')})`);
  }
  return forbidden(approverRefusal(who, state.request.model, state.plan.approval.approvers));
}

/** Why a rejection can't be made now, or undefined. */
export function rejectionRefusal(state: RolloutState | undefined, caller: Caller): Refusal | undefined {
  const live = steerable(state);
  if (!live) return conflict(`the rollout can no longer be rejected (stage ${state?.stage ?? 'preparing'})`);
  return forbidden(approverRefusal(caller, live.request.model, live.plan.approval.approvers));
}

/** Why an operator action (pause, resume, abort) can't be made now, or undefined. */
export function operatorRefusal(
  state: RolloutState | undefined,
  caller: Caller,
  action: 'pause' | 'resume' | 'abort',
): Refusal | undefined {
  const live = steerable(state);
  if (!live) return conflict(`the rollout can no longer be changed (stage ${state?.stage ?? 'preparing'})`);
  if (!callerAllows(caller, 'operator', live.request.model)) {
    return forbidden(
      `${caller.name} (role ${caller.role}) may not ${action} the rollout of ${live.request.model}: that needs the operator role for it`,
    );
  }
  if (action === 'pause' && live.pausedSinceMs !== null) return conflict('the rollout is already paused');
  if (action === 'resume' && live.pausedSinceMs === null) return conflict('the rollout is not paused');
  return undefined;
}

/** Records an approval that passed its checks; a repeat by the same person is kept in the record but not counted. */
export function addApproval(state: RolloutState, approval: Approval): ApprovalOutcome {
  const already = approverNames(state).includes(approval.approver);
  state.approvals.push(approval);
  const approvers = approverNames(state);
  const needed = approvalsNeeded(state.plan);
  const left = Math.max(0, needed - approvers.length);
  return {
    counted: !already,
    approvers,
    needed,
    message: already
      ? `${approval.approver} has already approved; ${approvers.length} of ${needed} approvals, ${left} more needed from someone else`
      : left > 0
        ? `approved by ${approvers.join(', ')}; ${left} more approval needed from someone else (two-person rule)`
        : `approved by ${approvers.join(', ')}: promoting v${state.request.version}`,
  };
}

/** The `status` Query's answer. */
export function statusOf(state: RolloutState, phases: readonly PlannedPhase[], nowMs: number): RolloutStatus {
  const inPhase = (state.phase === 'shadow' || state.phase === 'canary') && state.entered;
  const current = inPhase ? phases[state.step] : undefined;
  const paused = state.pausedSinceMs !== null;
  const pausedSoFar = state.pausedMs + (paused ? nowMs - state.pausedSinceMs! : 0);
  const at = (ms: number) => new Date(state.startedAtMs + ms + pausedSoFar).toISOString();
  const gate = state.phase === 'awaiting-approval';
  return {
    model: state.request.model,
    version: state.request.version,
    champion: state.champion,
    phase: state.phase,
    stage: state.stage,
    step: current ? state.step : null,
    steps: phases.map((p) => p.stage),
    traffic: state.traffic,
    paused,
    plan: state.plan,
    requestedBy: state.requestedBy,
    ...(state.metrics ? { metrics: state.metrics } : {}),
    ...(state.verdict ? { verdict: state.verdict } : {}),
    ...(current || gate ? { stepStartedAt: new Date(state.startedAtMs).toISOString() } : {}),
    ...(current ? { earliestEndAt: at(current.bakeTimeMs), deadlineAt: at(current.maxWaitMs) } : {}),
    approvals: state.approvals,
    refusedApprovals: state.refused,
    approvalsNeeded: approvalsNeeded(state.plan),
    ...(gate ? { approvalDeadlineAt: at(state.plan.approval.timeoutMs) } : {}),
    history: state.history,
    ...(state.outcome ? { outcome: state.outcome } : {}),
    ...(state.reason ? { reason: state.reason } : {}),
  };
}
