import { describe, expect, it } from 'vitest';
import type { WindowOutcome } from '../../domain/alert-hysteresis.js';
import { parseMonitorRequest, windowAt, type SloFigures } from '../../domain/monitor.js';
import { windowOutcomes } from '../../domain/monitor-judgement.js';
import { InvalidMonitorError, resolveMonitorPolicy } from '../../domain/monitor-policy.js';

const defaults = { intervalMs: 3_600_000, lagMs: 60_000 };

function problems(raw: unknown): { path: string; message: string }[] {
  try {
    parseMonitorRequest(raw, defaults);
  } catch (error) {
    if (error instanceof InvalidMonitorError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the request to be refused');
}

describe('monitor request and policy', () => {
  it('a bare model name is a complete request: defaults from the settings and the documented values', () => {
    const { request, policy } = parseMonitorRequest({ model: 'elec2-price' }, defaults);
    expect(request.model).toBe('elec2-price');
    expect(policy).toMatchObject({
      intervalMs: 3_600_000,
      lagMs: 60_000,
      minRows: 200,
      maxRows: 100_000,
      features: null,
      predictionDrift: true,
      alerts: { k: 3, n: 5, m: 3 },
      performance: { metric: 'accuracy', floor: null, minLabels: 200, lookback: 6 },
      slo: { latencyP99Ms: null, maxErrorRate: 0.01, minRequests: 100 },
      maxHistoryEvents: 2000,
    });
  });

  it('reads durations as people write them', () => {
    const { policy } = parseMonitorRequest({ model: 'm', policy: { interval: '15m', lag: '30s' } }, defaults);
    expect(policy.intervalMs).toBe(900_000);
    expect(policy.lagMs).toBe(30_000);
  });

  it('lists every problem of a bad request by field path', () => {
    const found = problems({
      model: 'Bad Name',
      startAt: 'yesterday',
      policy: {
        interval: 'often',
        minRows: 0,
        alerts: { k: 'three' },
        drift: { alpha: 2 },
        performance: { metric: 'mape' },
        surprise: true,
      },
      extra: 1,
    });
    const paths = found.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'model',
        'startAt',
        'policy.interval',
        'policy.minRows',
        'policy.alerts.k',
        'policy.drift.alpha',
        'policy.performance.metric',
        'policy',
        '(input)',
      ]),
    );
    expect(found.find((p) => p.path === 'policy.interval')?.message).toMatch(/duration such as/);
  });

  it('checks the rules across fields even when other fields are malformed', () => {
    const found = problems({
      model: 'm',
      policy: { interval: 'hourly', alerts: { k: 9, n: 2 }, colour: 'red' },
    });
    expect(found).toEqual([
      expect.objectContaining({ path: 'policy.interval' }),
      { path: 'policy', message: 'Unrecognized key: "colour"' },
      { path: 'policy.alerts.k', message: "k (9) can't exceed n (2): the alert could never fire" },
    ]);
  });

  it('refuses a policy that contradicts itself, naming each field', () => {
    const found = problems({
      model: 'm',
      policy: {
        alerts: { k: 6, n: 5 },
        minRows: 500,
        maxRows: 100,
        features: ['a', 'b', 'a'],
        drift: { tests: { c: 'ks' } },
        performance: { metric: 'log_loss', floor: 0.3 },
        lag: '2d',
      },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'policy.alerts.k', message: "k (6) can't exceed n (5): the alert could never fire" },
        { path: 'policy.maxRows', message: 'maxRows (100) is below minRows (500)' },
        { path: 'policy.features.2', message: '"a" is listed twice' },
        { path: 'policy.drift.tests.c', message: '"c" is not among the judged features' },
        {
          path: 'policy.performance.floor',
          message: 'log_loss is better when lower: give a ceiling, not a floor',
        },
        { path: 'policy.lag', message: '2d is longer than a day' },
      ]),
    );
    expect(() => resolveMonitorPolicy({ performance: { metric: 'auc', ceiling: 0.1 } }, defaults)).toThrow(
      /auc is better when higher: give a floor/,
    );
  });

  it('windows follow each other without a gap: each starts where the last ended', () => {
    const policy = { intervalMs: 2000, lagMs: 500 };
    const first = windowAt('2026-01-01T00:00:00.000Z', 0, policy);
    expect(first.range).toEqual({
      index: 0,
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T00:00:02.000Z',
    });
    expect(first.dueAtMs).toBe(Date.parse('2026-01-01T00:00:02.500Z'));
    const second = windowAt(first.range.end, 1, policy);
    expect(second.range.start).toBe(first.range.end);
  });
});

describe('window outcomes', () => {
  const { policy } = parseMonitorRequest(
    {
      model: 'm',
      policy: { performance: { floor: 0.8, minLabels: 10 }, slo: { latencyP99Ms: 50, minRequests: 10 } },
    },
    defaults,
  );
  const slo: SloFigures = {
    requests: 100,
    failed: 0,
    errorRate: 0,
    fallbacks: 0,
    latencyP50Ms: 1,
    latencyP95Ms: 2,
    latencyP99Ms: 3,
  };
  const verdict = (feature: string, drift: boolean, pValue: number | null = drift ? 1e-6 : 0.4) => ({
    feature,
    kind: 'numeric' as const,
    test: 'ks',
    statistic: 0.1,
    pValue,
    threshold: 0.01,
    drift,
  });
  const perf = (value: number | null, labelled: number) => ({
    metric: 'accuracy',
    labelled,
    value,
    accuracy: value,
    auc: null,
    logLoss: null,
    brier: null,
    from: 'a',
    to: 'b',
    threshold: 0.5,
  });

  it('judges each feature, the scores, performance and the SLOs', () => {
    const outcomes = windowOutcomes(
      {
        status: 'judged',
        features: [verdict('a', true), verdict('b', false), verdict('c', false, null)],
        prediction: verdict('score', false),
        performance: perf(0.7, 50),
        slo: { ...slo, failed: 5, errorRate: 0.05, latencyP99Ms: 80 },
      },
      policy,
    );
    expect(outcomes).toEqual<Record<string, WindowOutcome>>({
      'drift:a': 'breach',
      'drift:b': 'clean',
      'drift:c': 'unjudged',
      prediction_drift: 'clean',
      performance: 'breach',
      errors: 'breach',
      latency: 'breach',
    });
  });

  it('too few rows, labels or requests leave those alerts unjudged', () => {
    const outcomes = windowOutcomes(
      {
        status: 'too-few-rows',
        features: [],
        prediction: null,
        performance: perf(0.5, 9),
        slo: { ...slo, requests: 9 },
      },
      policy,
    );
    expect(outcomes).toEqual({ performance: 'unjudged', errors: 'unjudged', latency: 'unjudged' });
  });
});
