import { binIndex, quantileSorted } from '../validation/binning.js';
import { checkBinaryInputs } from './classification.js';

/** One reliability bin: scores in (lower, upper] (the first bin also holds `lower` itself). */
export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean score of the bin's rows; null for an empty bin. */
  readonly meanPredicted: number | null;
  /** Share of positives among the bin's rows; null for an empty bin. */
  readonly observedRate: number | null;
}

export interface Calibration {
  readonly strategy: 'uniform' | 'quantile';
  readonly bins: readonly CalibrationBin[];
  /** Expected calibration error: sum over bins of count/n * |observedRate - meanPredicted|. */
  readonly ece: number;
  /** The largest |observedRate - meanPredicted| of a non-empty bin. */
  readonly maxGap: number;
}

export interface CalibrationOptions {
  /** Number of bins, 10 by default. */
  readonly bins?: number;
  /** 'uniform' (equal-width on [0, 1], the default) or 'quantile' (equal-count edges from the scores). */
  readonly strategy?: 'uniform' | 'quantile';
}

/**
 * Reliability-diagram bins, binned as scikit-learn's calibration_curve does (a score equal to an inner edge goes
 * to the lower bin; uniform edges are i * (1 / bins), like numpy.linspace). Unlike scikit-learn, empty bins are
 * kept (with null means) so every report has the same bins.
 */
export function calibrationBins(
  labels: Uint8Array,
  scores: Float64Array,
  options: CalibrationOptions = {},
): Calibration {
  checkBinaryInputs(labels, scores);
  const k = options.bins ?? 10;
  const strategy = options.strategy ?? 'uniform';
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`bins must be a positive integer, got ${k}`);
  let edges: number[];
  if (strategy === 'uniform') {
    const step = 1 / k;
    edges = Array.from({ length: k + 1 }, (_, i) => (i === k ? 1 : i * step));
  } else {
    const sorted = Float64Array.from(scores).sort();
    edges = Array.from({ length: k + 1 }, (_, i) => quantileSorted(sorted, i / k));
  }
  const inner = edges.slice(1, -1);
  const count = new Float64Array(k);
  const sumScore = new Float64Array(k);
  const sumLabel = new Float64Array(k);
  for (let i = 0; i < labels.length; i++) {
    const b = binIndex(inner, scores[i]!);
    count[b]!++;
    sumScore[b]! += scores[i]!;
    sumLabel[b]! += labels[i]!;
  }
  const n = labels.length;
  let ece = 0;
  let maxGap = 0;
  const bins = Array.from({ length: k }, (_, b): CalibrationBin => {
    const c = count[b]!;
    const meanPredicted = c > 0 ? sumScore[b]! / c : null;
    const observedRate = c > 0 ? sumLabel[b]! / c : null;
    if (meanPredicted !== null && observedRate !== null) {
      const gap = Math.abs(observedRate - meanPredicted);
      ece += (c / n) * gap;
      maxGap = Math.max(maxGap, gap);
    }
    return { lower: edges[b]!, upper: edges[b + 1]!, count: c, meanPredicted, observedRate };
  });
  return { strategy, bins, ece: n > 0 ? ece : 0, maxGap };
}
