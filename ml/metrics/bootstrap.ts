import { quantileSorted } from '../validation/binning.js';
import { ascendingOrder, checkBinaryInputs, rowLogLoss, thresholdMetrics } from './classification.js';

export type BootstrapMetric = 'auc' | 'logLoss' | 'brier' | 'accuracy' | 'precision' | 'recall' | 'f1';

/** For which metrics a larger value is better. */
export const HIGHER_IS_BETTER: Readonly<Record<BootstrapMetric, boolean>> = {
  auc: true,
  logLoss: false,
  brier: false,
  accuracy: true,
  precision: true,
  recall: true,
  f1: true,
};

/** The paired comparison of one metric. All differences are candidate minus champion. JSON-safe. */
export interface BootstrapComparison {
  readonly metric: BootstrapMetric;
  readonly higherIsBetter: boolean;
  /** The metric of each model on all rows (null: AUC with one class). */
  readonly candidate: number | null;
  readonly champion: number | null;
  /** candidate - champion on all rows. */
  readonly diff: number | null;
  /** Mean of the resampled differences and the percentile interval at `confidence`. */
  readonly meanDiff: number | null;
  readonly ciLow: number | null;
  readonly ciHigh: number | null;
  readonly confidence: number;
  /** Share of resamples in which the candidate was strictly better. */
  readonly candidateBetterShare: number | null;
  /** Resamples used (AUC skips resamples that hold one class only). */
  readonly iterations: number;
  readonly seed: number;
}

export interface BootstrapOptions {
  /** Metrics to compare; default auc, logLoss, brier. */
  readonly metrics?: readonly BootstrapMetric[];
  /** Resamples, 1000 by default. */
  readonly iterations?: number;
  /** PRNG seed, so a report can be reproduced exactly. Default 42. */
  readonly seed?: number;
  /** Interval level, 0.95 by default. */
  readonly confidence?: number;
  /** Decision threshold of accuracy/precision/recall/F1, 0.5 by default. */
  readonly threshold?: number;
}

/** mulberry32: a small, fast, seedable 32-bit PRNG (public domain construction), uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A metric of one model as a function of row weights (summing to `total`). */
type Evaluate = (weights: Float64Array, total: number) => number | null;

/** Weighted AUC over rows pre-sorted by score, with the tie groups found once: O(n) per call, no sort. */
function aucEvaluator(labels: Uint8Array, scores: Float64Array): Evaluate {
  const order = ascendingOrder(scores);
  const n = order.length;
  const sortedLabels = new Uint8Array(n);
  const groupEnds: number[] = [];
  for (let k = 0; k < n; k++) {
    sortedLabels[k] = labels[order[k]!]!;
    if (k === n - 1 || scores[order[k + 1]!] !== scores[order[k]!]) groupEnds.push(k + 1);
  }
  const ends = Uint32Array.from(groupEnds);
  return (w) => {
    let negativesBelow = 0;
    let positives = 0;
    let area = 0;
    let k = 0;
    for (let g = 0; g < ends.length; g++) {
      const end = ends[g]!;
      let pos = 0;
      let neg = 0;
      for (; k < end; k++) {
        const weight = w[order[k]!]!;
        if (sortedLabels[k] === 1) pos += weight;
        else neg += weight;
      }
      area += pos * (negativesBelow + neg / 2);
      negativesBelow += neg;
      positives += pos;
    }
    return positives === 0 || negativesBelow === 0 ? null : area / (positives * negativesBelow);
  };
}

function meanEvaluator(perRow: Float64Array): Evaluate {
  return (w, total) => {
    let s = 0;
    for (let i = 0; i < perRow.length; i++) s += perRow[i]! * w[i]!;
    return s / total;
  };
}

/** A metric of one model as a function of row weights, with everything that does not depend on them precomputed. */
function evaluator(
  metric: BootstrapMetric,
  labels: Uint8Array,
  scores: Float64Array,
  threshold: number,
): Evaluate {
  switch (metric) {
    case 'auc':
      return aucEvaluator(labels, scores);
    case 'logLoss':
      return meanEvaluator(Float64Array.from(labels, (y, i) => rowLogLoss(y, scores[i]!)));
    case 'brier':
      return meanEvaluator(Float64Array.from(labels, (y, i) => (scores[i]! - y) ** 2));
    default: {
      // 0 = tn, 1 = fp, 2 = fn, 3 = tp.
      const cell = Uint8Array.from(labels, (y, i) => y * 2 + (scores[i]! >= threshold ? 1 : 0));
      return (w) => {
        let tn = 0;
        let fp = 0;
        let fn = 0;
        let tp = 0;
        for (let i = 0; i < cell.length; i++) {
          const c = cell[i];
          const weight = w[i]!;
          if (c === 0) tn += weight;
          else if (c === 1) fp += weight;
          else if (c === 2) fn += weight;
          else tp += weight;
        }
        return thresholdMetrics({ tn, fp, fn, tp })[metric];
      };
    }
  }
}

/**
 * Paired bootstrap of candidate-minus-champion differences, both models scored on the same rows: each resample
 * draws n rows with replacement (seeded, so reproducible), and both models are measured on that same resample,
 * which cancels the row-to-row variance the two share. Returns, per metric, the full-data difference, the mean
 * resampled difference and a percentile confidence interval. Cost: one sort per model, then O(n) per resample
 * and metric (resamples are row weights, not copies).
 */
export function pairedBootstrap(
  labels: Uint8Array,
  candidateScores: Float64Array,
  championScores: Float64Array,
  options: BootstrapOptions = {},
): BootstrapComparison[] {
  checkBinaryInputs(labels, candidateScores);
  checkBinaryInputs(labels, championScores);
  const n = labels.length;
  if (n === 0) throw new RangeError('no rows to compare on');
  const metrics = options.metrics ?? ['auc', 'logLoss', 'brier'];
  const iterations = options.iterations ?? 1000;
  const seed = options.seed ?? 42;
  const confidence = options.confidence ?? 0.95;
  const threshold = options.threshold ?? 0.5;
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(`iterations must be a positive integer, got ${iterations}`);

  const pairs = metrics.map((m) => ({
    metric: m,
    candidate: evaluator(m, labels, candidateScores, threshold),
    champion: evaluator(m, labels, championScores, threshold),
    diffs: [] as number[],
    better: 0,
  }));
  const random = mulberry32(seed);
  const weights = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    // A resample of n rows with replacement, as the number of times each row was drawn.
    weights.fill(0);
    for (let k = 0; k < n; k++) weights[Math.floor(random() * n)]!++;
    for (const p of pairs) {
      const a = p.candidate(weights, n);
      const b = p.champion(weights, n);
      if (a === null || b === null) continue;
      p.diffs.push(a - b);
      if (HIGHER_IS_BETTER[p.metric] ? a > b : a < b) p.better++;
    }
  }

  const ones = new Float64Array(n).fill(1);
  return pairs.map((p): BootstrapComparison => {
    const candidate = p.candidate(ones, n);
    const champion = p.champion(ones, n);
    const sorted = Float64Array.from(p.diffs).sort();
    const used = sorted.length;
    const alpha = (1 - confidence) / 2;
    return {
      metric: p.metric,
      higherIsBetter: HIGHER_IS_BETTER[p.metric],
      candidate,
      champion,
      diff: candidate === null || champion === null ? null : candidate - champion,
      meanDiff: used > 0 ? sorted.reduce((s, d) => s + d, 0) / used : null,
      ciLow: used > 0 ? quantileSorted(sorted, alpha) : null,
      ciHigh: used > 0 ? quantileSorted(sorted, 1 - alpha) : null,
      confidence,
      candidateBetterShare: used > 0 ? p.better / used : null,
      iterations: used,
      seed,
    };
  });
}
