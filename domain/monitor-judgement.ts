import type { WindowOutcome } from './alert-hysteresis.js';
import {
  errorsAlertKey,
  featureAlertKey,
  latencyAlertKey,
  performanceAlertKey,
  predictionAlertKey,
  type FeatureVerdict,
  type PerformanceFigures,
  type SloFigures,
} from './monitor.js';
import { lowerIsBetter, type MonitorPolicy, type PerformanceMetric } from './monitor-policy.js';

/**
 * What each alert makes of one window: `breach`, `clean`, or `unjudged` when the window can't tell (too few rows,
 * labels or requests, or no bound set). Pure, so the hysteresis that follows sees the same input on every replay.
 */
export function windowOutcomes(
  window: {
    readonly status: 'judged' | 'too-few-rows' | 'no-version';
    readonly features: readonly FeatureVerdict[];
    readonly prediction: FeatureVerdict | null;
    readonly performance: PerformanceFigures | null;
    readonly slo: SloFigures;
  },
  policy: Pick<MonitorPolicy, 'performance' | 'slo'>,
): Record<string, WindowOutcome> {
  const outcomes: Record<string, WindowOutcome> = {};
  if (window.status === 'judged') {
    for (const f of window.features) {
      // A feature with nothing to test in this window (all missing on both sides) is not evidence either way.
      outcomes[featureAlertKey(f.feature)] =
        f.pValue === null && !f.drift ? 'unjudged' : f.drift ? 'breach' : 'clean';
    }
    if (window.prediction) {
      const p = window.prediction;
      outcomes[predictionAlertKey] =
        p.pValue === null && !p.drift ? 'unjudged' : p.drift ? 'breach' : 'clean';
    }
  }
  outcomes[performanceAlertKey] = performanceOutcome(window.performance, policy.performance);
  const slo = window.slo;
  const enough = slo.requests >= policy.slo.minRequests;
  outcomes[errorsAlertKey] =
    !enough || slo.errorRate === null
      ? 'unjudged'
      : slo.errorRate > policy.slo.maxErrorRate
        ? 'breach'
        : 'clean';
  outcomes[latencyAlertKey] =
    !enough || policy.slo.latencyP99Ms === null || slo.latencyP99Ms === null
      ? 'unjudged'
      : slo.latencyP99Ms > policy.slo.latencyP99Ms
        ? 'breach'
        : 'clean';
  return outcomes;
}

function performanceOutcome(
  figures: PerformanceFigures | null,
  policy: MonitorPolicy['performance'],
): WindowOutcome {
  if (!figures || figures.value === null || figures.labelled < policy.minLabels) return 'unjudged';
  const metric = figures.metric as PerformanceMetric;
  if (lowerIsBetter.has(metric)) {
    if (policy.ceiling === null) return 'unjudged';
    return figures.value > policy.ceiling ? 'breach' : 'clean';
  }
  if (policy.floor === null) return 'unjudged';
  return figures.value < policy.floor ? 'breach' : 'clean';
}

/** A person's sentence for an alert transition, from the window that caused it. */
export function describeTransition(
  key: string,
  transition: 'fired' | 'cleared',
  window: {
    readonly features: readonly FeatureVerdict[];
    readonly prediction: FeatureVerdict | null;
    readonly performance: PerformanceFigures | null;
    readonly slo: SloFigures;
  },
  policy: Pick<MonitorPolicy, 'alerts' | 'performance' | 'slo'>,
  reason?: string,
): string {
  const { k, n, m } = policy.alerts;
  const when =
    reason ??
    (transition === 'fired' ? `in ${k} of the last ${n} judged windows` : `clean for ${m} windows in a row`);
  const verdict = (v: FeatureVerdict | null | undefined, what: string) =>
    v
      ? `${what} ${transition === 'fired' ? 'drifted' : 'no longer drifts'} (${v.test} ${fmt(v.statistic)}, p ${fmtP(v.pValue)})`
      : `${what} ${transition === 'fired' ? 'drifted' : 'no longer drifts'}`;
  if (key.startsWith('drift:')) {
    const feature = key.slice('drift:'.length);
    return `${verdict(
      window.features.find((f) => f.feature === feature),
      `feature "${feature}"`,
    )} ${when}`;
  }
  if (key === predictionAlertKey) return `${verdict(window.prediction, 'the score distribution')} ${when}`;
  if (key === performanceAlertKey) {
    const p = window.performance;
    const bound = lowerIsBetter.has(policy.performance.metric)
      ? `above ${policy.performance.ceiling}`
      : `below ${policy.performance.floor}`;
    const value = p
      ? `${p.metric} ${fmt(p.value)} on ${p.labelled} labelled rows`
      : policy.performance.metric;
    return transition === 'fired' ? `${value}, ${bound}, ${when}` : `${value}, back within bounds, ${when}`;
  }
  if (key === latencyAlertKey) {
    return `p99 latency ${fmt(window.slo.latencyP99Ms)} ms (limit ${policy.slo.latencyP99Ms} ms) ${
      transition === 'fired' ? 'over the limit' : 'within the limit'
    } ${when}`;
  }
  return `${window.slo.failed} of ${window.slo.requests} rows got no answer (limit ${
    policy.slo.maxErrorRate * 100
  } %) ${transition === 'fired' ? 'over the limit' : 'within the limit'} ${when}`;
}

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return 'n/a';
  return Math.abs(x) >= 1000 || x === 0 ? String(Math.round(x * 1000) / 1000) : x.toPrecision(3);
}

function fmtP(p: number | null): string {
  if (p === null) return 'n/a';
  return p < 1e-9 ? '< 1e-9' : `= ${p.toPrecision(2)}`;
}
