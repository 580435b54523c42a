import { describe, expect, it } from 'vitest';
import { retrainPolicySchema, type RetrainPolicy } from '../../domain/lifecycle-spec.js';
import {
  decideRetrain,
  nextScheduledRetrain,
  retrainsInBudgetPeriod,
  type RetrainLedger,
  type RetrainTrigger,
} from '../../domain/retrain-policy.js';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const minute = 60_000;

const policy: RetrainPolicy = retrainPolicySchema.parse({
  cooldown: '10m',
  budget: { max: 2, per: '1h' },
  triggers: {
    drift: { features: ['vicprice', 'transfer'] },
    performance: { metric: 'accuracy', floor: 0.6, minLabels: 100, windowRows: 500 },
    schedule: { every: '30m' },
  },
});

const ledger = (lastTrainingAt: number, automatic: number[] = []): RetrainLedger => ({
  lastTrainingAt: iso(lastTrainingAt),
  automaticRetrains: automatic.map(iso),
});

const drift = (features: string[]): RetrainTrigger => ({ kind: 'drift', features, at: iso(t0) });
const performance = (value: number, labels = 300): RetrainTrigger => ({
  kind: 'performance',
  metric: 'accuracy',
  value,
  labels,
  at: iso(t0),
});

describe('the retrain policy', () => {
  it('retrains on drift of a listed feature once the cooldown is over', () => {
    expect(decideRetrain(drift(['vicprice', 'period']), policy, ledger(t0), t0 + 11 * minute)).toEqual({
      action: 'retrain',
      reason: 'drift on vicprice',
    });
  });

  it('ignores drift on features the trigger does not list', () => {
    const decision = decideRetrain(drift(['period', 'nswdemand']), policy, ledger(t0), t0 + 11 * minute);
    expect(decision.action).toBe('ignore');
    expect(decision.reason).toMatch(/0 of the trigger's features \(vicprice, transfer\) drift, 1 needed/);
  });

  it('defers a qualifying trigger to the end of the cooldown, counted from the last training', () => {
    const decision = decideRetrain(drift(['transfer']), policy, ledger(t0), t0 + 3 * minute);
    expect(decision).toEqual({
      action: 'defer',
      until: iso(t0 + 10 * minute),
      reason: expect.stringMatching(/deferred until .* by the cooldown of 10m since the training started at/),
    });
  });

  it('defers past a used-up budget until its oldest retrain leaves the period', () => {
    const used = ledger(t0 + 20 * minute, [t0 + 5 * minute, t0 + 20 * minute]);
    const decision = decideRetrain(performance(0.5), policy, used, t0 + 40 * minute);
    expect(decision.action).toBe('defer');
    expect(decision).toMatchObject({ until: iso(t0 + 65 * minute) });
    expect(decision.reason).toMatch(/budget of 2 per 1h used/);
    // An hour after the first one, the budget has room again.
    expect(decideRetrain(performance(0.5), policy, used, t0 + 66 * minute).action).toBe('retrain');
    expect(retrainsInBudgetPeriod(used, policy, t0 + 66 * minute)).toEqual([iso(t0 + 20 * minute)]);
  });

  it('waits for the later of cooldown and budget when both stand in the way', () => {
    const both = ledger(t0 + 50 * minute, [t0, t0 + 50 * minute]);
    const decision = decideRetrain(drift(['vicprice']), policy, both, t0 + 52 * minute);
    expect(decision).toMatchObject({ action: 'defer', until: iso(t0 + 60 * minute) });
    expect(decision.reason).toMatch(/cooldown .* and the budget/);
  });

  it('judges the performance floor only on enough labels and below the floor', () => {
    const later = t0 + 11 * minute;
    expect(decideRetrain(performance(0.55), policy, ledger(t0), later).action).toBe('retrain');
    expect(decideRetrain(performance(0.65), policy, ledger(t0), later)).toMatchObject({
      action: 'ignore',
      reason: expect.stringMatching(/0.6500 is at or above the floor 0.6/),
    });
    expect(decideRetrain(performance(0.3, 99), policy, ledger(t0), later)).toMatchObject({
      action: 'ignore',
      reason: '99 labelled rows, 100 needed to judge accuracy',
    });
  });

  it('schedules from the last training, and a manual request skips cooldown and budget', () => {
    expect(nextScheduledRetrain(policy, ledger(t0))).toBe(iso(t0 + 30 * minute));
    const spent = ledger(t0, [t0 - minute, t0]);
    expect(
      decideRetrain({ kind: 'manual', actor: 'alice', at: iso(t0) }, policy, spent, t0 + minute),
    ).toEqual({
      action: 'retrain',
      reason: 'a request by alice',
    });
    expect(decideRetrain({ kind: 'schedule', at: iso(t0) }, policy, spent, t0 + minute).action).toBe('defer');
  });

  it('never retrains automatically on a budget of 0, and ignores triggers the policy lacks', () => {
    const none = retrainPolicySchema.parse({ budget: { max: 0 } });
    expect(decideRetrain(drift(['vicprice']), none, ledger(t0), t0 + 100 * minute)).toMatchObject({
      action: 'ignore',
      reason: 'no drift trigger in the policy',
    });
    const zero: RetrainPolicy = { ...policy, budget: { max: 0, per: 3_600_000 } };
    expect(decideRetrain(drift(['vicprice']), zero, ledger(t0), t0 + 100 * minute).action).toBe('ignore');
  });
});
