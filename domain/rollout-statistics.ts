// Small statistics for judging a rollout phase: rate bounds, histogram divergence, AUC from histograms.

/** z of the one-sided 99.9 % Wilson bound that lets a clearly broken challenger fail before `minSamples`. */
const earlyFailureZ = 3.09;

/** Lower bound of the Wilson score interval of `k` successes in `n` trials. */
export function wilsonLowerBound(k: number, n: number, z = earlyFailureZ): number {
  if (n === 0) return 0;
  const p = k / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - spread) / (1 + z2 / n));
}

/** Merges equal-width bins into `bins` groups (the histogram's length must be a multiple of `bins`). */
export function coarsen(histogram: readonly number[], bins: number): number[] {
  const width = Math.max(1, Math.floor(histogram.length / bins));
  const out = new Array<number>(Math.ceil(histogram.length / width)).fill(0);
  histogram.forEach((count, i) => (out[Math.floor(i / width)]! += count));
  return out;
}

/**
 * Jensen-Shannon divergence of two histograms, in bits (0: identical, 1: disjoint). Null when either is empty.
 * For two independent samples of n1 and n2 rows from one distribution over k bins it is about
 * (k - 1) / (8 ln 2) * (1/n1 + 1/n2) by chance alone: 0.014 for 500 rows each over 20 bins.
 */
export function jensenShannon(a: readonly number[], b: readonly number[]): number | null {
  const sa = a.reduce((s, x) => s + x, 0);
  const sb = b.reduce((s, x) => s + x, 0);
  if (sa === 0 || sb === 0) return null;
  let divergence = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const p = (a[i] ?? 0) / sa;
    const q = (b[i] ?? 0) / sb;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
  }
  return Math.min(1, Math.max(0, divergence));
}

/**
 * Area under the ROC curve from score histograms of the positive and negative rows (rows in the same bin count as
 * ties, half each). Null without rows of both classes.
 */
export function aucFromHistograms(positive: readonly number[], negative: readonly number[]): number | null {
  const p = positive.reduce((s, x) => s + x, 0);
  const n = negative.reduce((s, x) => s + x, 0);
  if (p === 0 || n === 0) return null;
  let below = 0;
  let wins = 0;
  for (let i = 0; i < Math.max(positive.length, negative.length); i++) {
    const pos = positive[i] ?? 0;
    const neg = negative[i] ?? 0;
    wins += pos * (below + neg / 2);
    below += neg;
  }
  return wins / (p * n);
}

/**
 * Hanley and McNeil's standard error of an AUC estimated from `positives` and `negatives` rows (Radiology 143(1),
 * 1982, https://doi.org/10.1148/radiology.143.1.7063747).
 */
export function aucStandardError(auc: number, positives: number, negatives: number): number {
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const variance =
    (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) /
    (positives * negatives);
  return Math.sqrt(Math.max(0, variance));
}
