/**
 * Alert hysteresis: an alert fires after `k` breaching windows among the last `n` judged ones, and clears after `m`
 * clean windows in a row. Windows that could not be judged (too few rows or labels) change nothing: they are neither
 * evidence of a problem nor of its absence. Pure and JSON-safe, so the monitor workflow carries the state through
 * continue-as-new.
 */

export interface HysteresisPolicy {
  /** Breaching windows, among the last `n` judged, that fire the alert. */
  readonly k: number;
  readonly n: number;
  /** Clean windows in a row that clear a firing alert. */
  readonly m: number;
}

/** The state of one alert (one feature's drift, the performance floor, ...). */
export interface AlertState {
  readonly firing: boolean;
  /** Outcomes of the last `n` judged windows while not firing, oldest first (1 = breach). */
  readonly recent: readonly (0 | 1)[];
  /** Clean windows in a row while firing. */
  readonly clean: number;
}

export type WindowOutcome = 'breach' | 'clean' | 'unjudged';

export type AlertTransition = 'fired' | 'cleared';

export const quietAlert: AlertState = { firing: false, recent: [], clean: 0 };

/** Checks a policy; returns its problems by field name (empty when it is consistent). */
export function hysteresisProblems(
  policy: HysteresisPolicy,
): { field: keyof HysteresisPolicy; message: string }[] {
  const problems: { field: keyof HysteresisPolicy; message: string }[] = [];
  for (const field of ['k', 'n', 'm'] as const) {
    const v = policy[field];
    if (!Number.isInteger(v) || v < 1)
      problems.push({ field, message: `expected a whole number ≥ 1, got ${v}` });
  }
  if (policy.k > policy.n) {
    problems.push({
      field: 'k',
      message: `k (${policy.k}) can't exceed n (${policy.n}): the alert could never fire`,
    });
  }
  return problems;
}

/**
 * The alert's state after one more window, and whether that window fired or cleared it.
 * - not firing: the outcome joins the last `n`; `k` breaches among them fire the alert (and start its clean count);
 * - firing: a breach resets the clean count, a clean window adds to it, and `m` in a row clear the alert, which then
 *   starts again from an empty window list (old breaches don't count towards the next alert).
 */
export function stepAlert(
  state: AlertState,
  outcome: WindowOutcome,
  policy: HysteresisPolicy,
): { state: AlertState; transition?: AlertTransition } {
  if (outcome === 'unjudged') return { state };
  if (state.firing) {
    if (outcome === 'breach') return { state: { ...state, clean: 0 } };
    const clean = state.clean + 1;
    if (clean >= policy.m) return { state: quietAlert, transition: 'cleared' };
    return { state: { ...state, clean } };
  }
  const recent = [...state.recent, outcome === 'breach' ? (1 as const) : (0 as const)].slice(-policy.n);
  const breaches = recent.reduce<number>((sum, b) => sum + b, 0);
  if (outcome === 'breach' && breaches >= policy.k) {
    return { state: { firing: true, recent: [], clean: 0 }, transition: 'fired' };
  }
  return { state: { firing: false, recent, clean: 0 } };
}

/**
 * Steps every alert of a window at once. Alerts absent from `outcomes` are unjudged this window; alerts absent from
 * `states` start quiet. Returns the new states (quiet alerts with no recent breach are dropped, keeping the carried
 * state small) and the transitions, in key order.
 */
export function stepAlerts(
  states: Readonly<Record<string, AlertState>>,
  outcomes: Readonly<Record<string, WindowOutcome>>,
  policy: HysteresisPolicy,
): { states: Record<string, AlertState>; transitions: { key: string; transition: AlertTransition }[] } {
  const next: Record<string, AlertState> = {};
  const transitions: { key: string; transition: AlertTransition }[] = [];
  const keys = [...new Set([...Object.keys(states), ...Object.keys(outcomes)])].sort();
  for (const key of keys) {
    const stepped = stepAlert(states[key] ?? quietAlert, outcomes[key] ?? 'unjudged', policy);
    if (stepped.transition) transitions.push({ key, transition: stepped.transition });
    const s = stepped.state;
    if (s.firing || s.recent.some((b) => b === 1)) next[key] = s;
  }
  return { states: next, transitions };
}
