import type { FeatureVerdict, PerformanceFigures } from '../../domain/monitor.js';
import type { PerformanceMetric } from '../../domain/monitor-policy.js';
import type { FeatureDrift } from '../drift/report.js';
import { binaryMetrics } from '../metrics/classification.js';

/** One feature's (or the scores') row of drift_stats: the trend of every statistic, window after window. */
export interface DriftStatRow {
  readonly source: 'feature' | 'prediction';
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly test: string;
  readonly statistic: number | null;
  readonly pValue: number | null;
  readonly threshold: number | null;
  readonly drift: boolean;
  readonly currentCount: number;
  readonly referenceCount: number;
  /** Every statistic by name. */
  readonly statistics: Record<string, unknown>;
}

/** A feature's drift result as the workflow's history carries it: the verdict and what decided it. */
export function verdictOf(f: FeatureDrift): FeatureVerdict {
  return {
    feature: f.feature,
    kind: f.kind,
    test: f.test ?? 'none',
    statistic: f.statistic,
    pValue: f.pValue,
    threshold: f.threshold,
    drift: f.drift,
  };
}

/** A feature's drift result as a drift_stats row: every statistic, without the histograms. */
export function statRow(
  source: DriftStatRow['source'],
  f: FeatureDrift,
  referenceCount: number,
): DriftStatRow {
  const { histogram: _histogram, reference: _reference, current, ...statistics } = f;
  return {
    source,
    feature: f.feature,
    kind: f.kind,
    test: f.test ?? 'none',
    statistic: f.statistic,
    pValue: f.pValue,
    threshold: f.threshold,
    drift: f.drift,
    currentCount: current.rows,
    referenceCount,
    statistics,
  };
}

/** Realised performance of labelled scores at `threshold`, by every metric; null values when there are none. */
export function performanceOf(
  labelled: readonly { readonly score: number; readonly positive: boolean }[],
  metric: PerformanceMetric,
  threshold: number,
  range: { from: string; to: string },
): PerformanceFigures {
  const empty = { metric, labelled: labelled.length, threshold, ...range };
  if (labelled.length === 0) {
    return { ...empty, value: null, accuracy: null, auc: null, logLoss: null, brier: null };
  }
  const labels = Uint8Array.from(labelled, (l) => (l.positive ? 1 : 0));
  const scores = Float64Array.from(labelled, (l) => Math.min(1, Math.max(0, l.score)));
  const m = binaryMetrics(labels, scores, threshold);
  const byName: Record<typeof metric, number | null> = {
    accuracy: m.accuracy,
    auc: m.auc,
    f1: m.f1,
    precision: m.precision,
    recall: m.recall,
    log_loss: m.logLoss,
    brier: m.brier,
  };
  return {
    ...empty,
    value: byName[metric],
    accuracy: m.accuracy,
    auc: m.auc,
    logLoss: m.logLoss,
    brier: m.brier,
  };
}
