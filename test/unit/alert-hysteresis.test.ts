import { describe, expect, it } from 'vitest';
import {
  hysteresisProblems,
  quietAlert,
  stepAlert,
  stepAlerts,
  type AlertState,
  type AlertTransition,
  type WindowOutcome,
} from '../../domain/alert-hysteresis.js';

const policy = { k: 3, n: 5, m: 2 };

/** Feeds outcomes ('B' breach, 'c' clean, '.' unjudged) and returns the transition after each window. */
function run(pattern: string, p = policy): (AlertTransition | '')[] {
  let state: AlertState = quietAlert;
  const codes: Record<string, WindowOutcome> = { B: 'breach', c: 'clean', '.': 'unjudged' };
  return [...pattern].map((ch) => {
    const stepped = stepAlert(state, codes[ch]!, p);
    state = stepped.state;
    return stepped.transition ?? '';
  });
}

describe('alert hysteresis: fire after k of n windows, clear after m clean ones', () => {
  it('fires on the k-th breach within the last n judged windows, not before', () => {
    expect(run('BBB')).toEqual(['', '', 'fired']);
    expect(run('BcBcB')).toEqual(['', '', '', '', 'fired']);
  });

  it('does not fire when the breaches are spread wider than n windows', () => {
    // 3 breaches, but never 3 within any 5 consecutive judged windows.
    expect(run('BccBccBccB')).not.toContain('fired');
  });

  it('ignores unjudged windows: they neither count towards n nor break a streak', () => {
    expect(run('B..B..B')).toEqual(['', '', '', '', '', '', 'fired']);
    // Firing, then a run of unjudged windows does not clear it; two clean ones do.
    expect(run('BBB...cc')).toEqual(['', '', 'fired', '', '', '', '', 'cleared']);
  });

  it('clears after m clean windows in a row; a breach in between starts the count again', () => {
    expect(run('BBBcc')).toEqual(['', '', 'fired', '', 'cleared']);
    expect(run('BBBcBcc')).toEqual(['', '', 'fired', '', '', '', 'cleared']);
  });

  it('after clearing, old breaches do not count towards the next alert', () => {
    expect(run('BBBccB')).toEqual(['', '', 'fired', '', 'cleared', '']);
    expect(run('BBBccBBB')).toEqual(['', '', 'fired', '', 'cleared', '', '', 'fired']);
  });

  it('k = n = m = 1 follows every window', () => {
    expect(run('BcBBc', { k: 1, n: 1, m: 1 })).toEqual(['fired', 'cleared', 'fired', '', 'cleared']);
  });

  it('a long stationary run never fires and stays small', () => {
    let state: AlertState = quietAlert;
    for (let i = 0; i < 10_000; i++) state = stepAlert(state, 'clean', policy).state;
    expect(state.firing).toBe(false);
    expect(state.recent.length).toBeLessThanOrEqual(policy.n);
  });

  it('steps many alerts at once, keeping only the ones with something to remember', () => {
    const first = stepAlerts({}, { 'drift:a': 'breach', 'drift:b': 'clean', latency: 'unjudged' }, policy);
    expect(Object.keys(first.states)).toEqual(['drift:a']);
    expect(first.transitions).toEqual([]);
    let states = first.states;
    let transitions: { key: string; transition: AlertTransition }[] = [];
    for (let i = 0; i < 2; i++) {
      ({ states, transitions } = stepAlerts(states, { 'drift:a': 'breach' }, policy));
    }
    expect(transitions).toEqual([{ key: 'drift:a', transition: 'fired' }]);
    // An alert absent from a window's outcomes is unjudged there: still firing.
    ({ states, transitions } = stepAlerts(states, { 'drift:b': 'breach' }, policy));
    expect(states['drift:a']?.firing).toBe(true);
    expect(transitions).toEqual([]);
  });

  it('refuses a policy that could never fire', () => {
    expect(hysteresisProblems({ k: 4, n: 3, m: 1 })).toEqual([
      { field: 'k', message: "k (4) can't exceed n (3): the alert could never fire" },
    ]);
    expect(hysteresisProblems({ k: 0, n: 3, m: 1.5 }).map((p) => p.field)).toEqual(['k', 'm']);
    expect(hysteresisProblems(policy)).toEqual([]);
  });
});
