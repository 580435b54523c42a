import { formatDuration } from './duration.js';
import type { FloorMetric, RetrainPolicy } from './lifecycle-spec.js';

/** What asks for a retrain. Plain JSON; times are ISO strings. */
export type RetrainTrigger =
  | {
      readonly kind: 'drift';
      /** The features the monitor's alert names as drifting. */
      readonly features: readonly string[];
      readonly at: string;
      readonly reportUri?: string;
    }
  | {
      readonly kind: 'performance';
      readonly metric: FloorMetric;
      readonly value: number;
      readonly labels: number;
      readonly at: string;
    }
  | { readonly kind: 'schedule'; readonly at: string }
  | { readonly kind: 'manual'; readonly actor: string; readonly at: string; readonly comment?: string };

/** What the policy remembers between decisions: when trainings started. */
export interface RetrainLedger {
  /** When the last training of any kind (first, automatic, manual) started. */
  readonly lastTrainingAt: string;
  /** Start times of automatic retrains, newest last; only those inside the budget period matter. */
  readonly automaticRetrains: readonly string[];
}

export type RetrainDecision =
  | { readonly action: 'retrain'; readonly reason: string }
  /** Allowed by the trigger but not now (cooldown, budget): ask again at `until` if the trigger still holds. */
  | { readonly action: 'defer'; readonly reason: string; readonly until: string }
  /** Not a reason to retrain under this policy. */
  | { readonly action: 'ignore'; readonly reason: string };

const at = (ms: number) => new Date(ms).toISOString();

/** Describes a trigger in a line, for decisions and the terminal. */
export function describeTrigger(trigger: RetrainTrigger): string {
  switch (trigger.kind) {
    case 'drift':
      return `drift on ${trigger.features.join(', ') || 'no feature'}`;
    case 'performance':
      return `${trigger.metric} ${trigger.value.toFixed(4)} on ${trigger.labels} labelled rows`;
    case 'schedule':
      return 'the retrain schedule';
    case 'manual':
      return `a request by ${trigger.actor}${trigger.comment ? ` (${trigger.comment})` : ''}`;
  }
}

/**
 * Whether a trigger qualifies under the policy's triggers, whatever the time: the drift must name enough of the
 * listed features, the performance must be below the floor on enough labels. Manual requests always qualify.
 */
export function triggerQualifies(
  trigger: RetrainTrigger,
  policy: RetrainPolicy,
): { ok: true; reason: string } | { ok: false; reason: string } {
  const { triggers } = policy;
  switch (trigger.kind) {
    case 'manual':
      return { ok: true, reason: describeTrigger(trigger) };
    case 'schedule':
      return triggers.schedule
        ? { ok: true, reason: `scheduled every ${formatDuration(triggers.schedule.every)}` }
        : { ok: false, reason: 'no schedule trigger in the policy' };
    case 'drift': {
      const drift = triggers.drift;
      if (!drift) return { ok: false, reason: 'no drift trigger in the policy' };
      const hits = trigger.features.filter((f) => drift.features.includes(f));
      if (hits.length < drift.minFeatures) {
        return {
          ok: false,
          reason: `drift on ${trigger.features.join(', ') || 'no feature'}: ${hits.length} of the trigger's features (${drift.features.join(', ')}) drift, ${drift.minFeatures} needed`,
        };
      }
      return { ok: true, reason: `drift on ${hits.join(', ')}` };
    }
    case 'performance': {
      const floor = triggers.performance;
      if (!floor) return { ok: false, reason: 'no performance trigger in the policy' };
      if (trigger.metric !== floor.metric) {
        return { ok: false, reason: `the floor watches ${floor.metric}, not ${trigger.metric}` };
      }
      if (trigger.labels < floor.minLabels) {
        return {
          ok: false,
          reason: `${trigger.labels} labelled rows, ${floor.minLabels} needed to judge ${floor.metric}`,
        };
      }
      if (trigger.value >= floor.floor) {
        return {
          ok: false,
          reason: `${floor.metric} ${trigger.value.toFixed(4)} is at or above the floor ${floor.floor}`,
        };
      }
      return {
        ok: true,
        reason: `${floor.metric} ${trigger.value.toFixed(4)} below the floor ${floor.floor} on ${trigger.labels} labelled rows`,
      };
    }
  }
}

/** Automatic retrains started within the budget period ending at `nowMs`, oldest first. */
export function retrainsInBudgetPeriod(
  ledger: RetrainLedger,
  policy: RetrainPolicy,
  nowMs: number,
): string[] {
  const since = nowMs - policy.budget.per;
  return ledger.automaticRetrains.filter((t) => Date.parse(t) > since).sort();
}

/**
 * The retrain decision for a trigger at `nowMs`. Manual requests retrain at once (a person decided; cooldown and
 * budget guard the automatic triggers only). An automatic trigger must qualify, then respect the cooldown (since the
 * last training of any kind) and the budget (automatic retrains per period); when only those stand in the way the
 * decision is deferred to the moment they allow it.
 */
export function decideRetrain(
  trigger: RetrainTrigger,
  policy: RetrainPolicy,
  ledger: RetrainLedger,
  nowMs: number,
): RetrainDecision {
  const qualifies = triggerQualifies(trigger, policy);
  if (!qualifies.ok) return { action: 'ignore', reason: qualifies.reason };
  if (trigger.kind === 'manual') return { action: 'retrain', reason: qualifies.reason };
  if (policy.budget.max === 0) {
    return { action: 'ignore', reason: `${qualifies.reason}, but the budget allows no automatic retrain` };
  }
  const lastTraining = Date.parse(ledger.lastTrainingAt);
  const cooldownEnds = lastTraining + policy.cooldown;
  const recent = retrainsInBudgetPeriod(ledger, policy, nowMs);
  const budgetFreesAt =
    recent.length >= policy.budget.max
      ? Date.parse(recent[recent.length - policy.budget.max]!) + policy.budget.per
      : undefined;
  const waits: { until: number; why: string }[] = [];
  if (nowMs < cooldownEnds) {
    waits.push({
      until: cooldownEnds,
      why: `cooldown of ${formatDuration(policy.cooldown)} since the training started at ${ledger.lastTrainingAt}`,
    });
  }
  if (budgetFreesAt !== undefined) {
    waits.push({
      until: budgetFreesAt,
      why: `budget of ${policy.budget.max} per ${formatDuration(policy.budget.per)} used (${recent.join(', ')})`,
    });
  }
  if (waits.length > 0) {
    const until = Math.max(...waits.map((w) => w.until));
    return {
      action: 'defer',
      until: at(until),
      reason: `${qualifies.reason}: deferred until ${at(until)} by the ${waits.map((w) => w.why).join(' and the ')}`,
    };
  }
  return { action: 'retrain', reason: qualifies.reason };
}

/** When the schedule asks next (the last training plus the period), or undefined without a schedule. */
export function nextScheduledRetrain(policy: RetrainPolicy, ledger: RetrainLedger): string | undefined {
  const every = policy.triggers.schedule?.every;
  return every === undefined ? undefined : at(Date.parse(ledger.lastTrainingAt) + every);
}
