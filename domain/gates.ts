import type { MetricGates, MetricName } from './pipeline-spec.js';

/** Metrics where lower is better; for the others higher is better. */
const lowerIsBetter: ReadonlySet<MetricName> = new Set(['log_loss', 'brier']);

export type Metrics = Partial<Record<MetricName, number>>;

/** A candidate-minus-champion difference with its bootstrap confidence interval. */
export interface MetricDifference {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

export interface GateFailure {
  readonly metric: MetricName;
  readonly gate: 'min' | 'max' | 'maxRegression' | 'missing';
  readonly value: number | null;
  readonly bound: number;
  readonly message: string;
}

export interface GateDecision {
  readonly passed: boolean;
  readonly failures: readonly GateFailure[];
}

/**
 * Decides the evaluation gates. Fails closed: a gated metric that is missing or not finite fails.
 * A regression gate compares the candidate with the champion on the same rows; it fails when the point estimate
 * of the drop exceeds the allowance (the bootstrap interval is reported, not used, so a noisy small test set can't
 * wave a real regression through). With no champion, regression gates pass (there is nothing to regress from).
 */
export function decideGates(
  metrics: Metrics,
  gates: MetricGates,
  versusChampion?: Partial<Record<MetricName, MetricDifference>>,
): GateDecision {
  const failures: GateFailure[] = [];
  const value = (m: MetricName) => {
    const v = metrics[m];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  for (const [m, bound] of Object.entries(gates.min) as [MetricName, number][]) {
    const v = value(m);
    if (v === undefined)
      failures.push({ metric: m, gate: 'missing', value: null, bound, message: `${m} is missing` });
    else if (v < bound)
      failures.push({
        metric: m,
        gate: 'min',
        value: v,
        bound,
        message: `${m} ${v.toFixed(4)} < minimum ${bound}`,
      });
  }
  for (const [m, bound] of Object.entries(gates.max) as [MetricName, number][]) {
    const v = value(m);
    if (v === undefined)
      failures.push({ metric: m, gate: 'missing', value: null, bound, message: `${m} is missing` });
    else if (v > bound)
      failures.push({
        metric: m,
        gate: 'max',
        value: v,
        bound,
        message: `${m} ${v.toFixed(4)} > maximum ${bound}`,
      });
  }
  if (versusChampion) {
    for (const [m, allowed] of Object.entries(gates.maxRegression) as [MetricName, number][]) {
      const diff = versusChampion[m];
      if (!diff || !Number.isFinite(diff.mean)) {
        failures.push({
          metric: m,
          gate: 'missing',
          value: null,
          bound: allowed,
          message: `${m} difference to the champion is missing`,
        });
        continue;
      }
      const drop = lowerIsBetter.has(m) ? diff.mean : -diff.mean;
      if (drop > allowed) {
        failures.push({
          metric: m,
          gate: 'maxRegression',
          value: drop,
          bound: allowed,
          message: `${m} is ${drop.toFixed(4)} worse than the champion (allowed ${allowed}; 95% CI of the difference ${diff.low.toFixed(4)}..${diff.high.toFixed(4)})`,
        });
      }
    }
  }
  return { passed: failures.length === 0, failures };
}
