import type {
  LifecycleEvent,
  LifecycleStage,
  LifecycleState,
  LifecycleStatus,
  VersionRecord,
} from './lifecycle.js';
import type { LifecycleSpec } from './lifecycle-spec.js';
import { nextScheduledRetrain, retrainsInBudgetPeriod } from './retrain-policy.js';

/** Events kept in the workflow's state (the rest is in PostgreSQL). */
export const recentEventsKept = 30;
/** Versions kept in the workflow's state: a version a week is two years. */
export const versionsKept = 100;

/** The state of a lifecycle that has not trained yet. */
export function newLifecycleState(
  spec: LifecycleSpec,
  pipelineSpecHash: string,
  requestedBy: string,
  now: string,
): LifecycleState {
  return {
    spec,
    pipelineSpecHash,
    originalDatasetSha256: null,
    requestedBy,
    startedAt: now,
    runNumber: 1,
    seq: 1,
    phase: 'training',
    paused: false,
    champion: null,
    previousChampions: [],
    candidate: null,
    training: { kind: 'initial' },
    ledger: { lastTrainingAt: now, automaticRetrains: [] },
    deferred: null,
    activeAlert: null,
    monitor: null,
    versions: [],
    recentEvents: [],
    totals: { events: 0, alerts: 0, retrains: 0 },
  };
}

/** Gives the event its seq, keeps it among the recent ones, and counts it. Mutates `state`. */
export function appendEvent(state: LifecycleState, event: Omit<LifecycleEvent, 'seq'>): LifecycleEvent {
  const full: LifecycleEvent = { seq: state.seq, ...event };
  state.seq += 1;
  state.totals.events += 1;
  if (event.kind === 'alert') state.totals.alerts += 1;
  state.recentEvents.push(full);
  if (state.recentEvents.length > recentEventsKept)
    state.recentEvents.splice(0, state.recentEvents.length - recentEventsKept);
  return full;
}

/** Adds or replaces a version's record, keeping the newest `versionsKept`. Mutates `state`. */
export function upsertVersion(state: LifecycleState, record: VersionRecord): void {
  const i = state.versions.findIndex((v) => v.version === record.version);
  if (i >= 0) state.versions[i] = record;
  else state.versions.push(record);
  state.versions.sort((a, b) => a.version - b.version);
  if (state.versions.length > versionsKept) state.versions.splice(0, state.versions.length - versionsKept);
}

/** Updates a version's fate, if the state still holds it. Mutates `state`. */
export function markVersion(
  state: LifecycleState,
  version: number,
  change: Partial<Pick<VersionRecord, 'state' | 'promotedAt' | 'endedAt' | 'reason'>>,
): void {
  const record = state.versions.find((v) => v.version === version);
  if (record) Object.assign(record, change);
}

/** The Stage search attribute for where the lifecycle is. */
export function stageOf(state: LifecycleState): LifecycleStage {
  if (state.paused) return 'paused';
  switch (state.phase) {
    case 'training':
      return state.training?.kind === 'retrain' ? 'retraining' : 'training';
    case 'rollout':
      return 'rollout';
    case 'monitoring':
      return 'monitoring';
    case 'idle':
      return 'idle';
  }
}

/** The `status` Query's answer. */
export function lifecycleStatus(
  state: LifecycleState,
  workflowId: string,
  active: LifecycleStatus['active'],
  nowMs: number,
): LifecycleStatus {
  const policy = state.spec.retrain;
  const recent = retrainsInBudgetPeriod(state.ledger, policy, nowMs);
  const nextScheduledAt = nextScheduledRetrain(policy, state.ledger);
  return {
    model: state.spec.model,
    workflowId,
    stage: stageOf(state),
    phase: state.phase,
    paused: state.paused,
    champion: state.champion,
    candidate: state.candidate,
    active,
    monitor: state.monitor,
    activeAlert: state.activeAlert,
    retrain: {
      lastTrainingAt: state.ledger.lastTrainingAt,
      automaticRetrainsInPeriod: recent,
      budgetLeft: Math.max(0, policy.budget.max - recent.length),
      cooldownUntil: new Date(Date.parse(state.ledger.lastTrainingAt) + policy.cooldown).toISOString(),
      ...(nextScheduledAt ? { nextScheduledAt } : {}),
      deferred: state.deferred,
    },
    versions: state.versions,
    recentEvents: state.recentEvents,
    totals: state.totals,
    runNumber: state.runNumber,
    startedAt: state.startedAt,
    requestedBy: state.requestedBy,
  };
}
