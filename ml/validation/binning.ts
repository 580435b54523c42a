/**
 * Quantile binning shared by the reference profile (training time) and whoever compares serving data against it
 * (monitoring, slices). Both sides must bin the same way, so the rule lives here once:
 *
 *   `cuts` is a strictly increasing list of k-1 finite numbers for k bins;
 *   bin 0 is x <= cuts[0], bin i is cuts[i-1] < x <= cuts[i], bin k-1 is x > cuts[k-2]
 *   (right-closed, like pandas.cut/qcut with right=True); -Infinity falls in bin 0, +Infinity in bin k-1.
 */

/**
 * Linear-interpolated quantile of ascending `sorted` values (NumPy's default 'linear' method), q in [0, 1].
 * NaN for an empty array.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const t = pos - lo;
  // NumPy's lerp: from the nearer end, so results match numpy.quantile to the last bit.
  return a === b ? a : t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** The finite values of `values`, sorted ascending (NaN = missing and ±Infinity left out). */
export function sortedFinite(values: Float64Array): Float64Array {
  let n = 0;
  for (const v of values) if (Number.isFinite(v)) n++;
  const out = new Float64Array(n);
  let i = 0;
  for (const v of values) if (Number.isFinite(v)) out[i++] = v;
  return out.sort();
}

/**
 * Cut points of (up to) `bins` equal-frequency bins over ascending finite `sorted` values. Cut j (j = 1..bins-1)
 * is the data value at rank ceil(j * n / bins) (1-based), i.e. the lower empirical quantile j/bins; repeated cuts
 * are merged and a cut equal to the maximum is dropped. So with ties there are fewer bins, and every bin holds at
 * least one of the values the cuts came from (no empty expected bin for PSI). Empty input: no cuts.
 */
export function quantileCuts(sorted: ArrayLike<number>, bins: number): number[] {
  const n = sorted.length;
  const cuts: number[] = [];
  if (n === 0) return cuts;
  const max = sorted[n - 1]!;
  for (let j = 1; j < bins; j++) {
    const cut = sorted[Math.ceil((j * n) / bins) - 1]!;
    if (cut >= max) break;
    if (cuts.length === 0 || cut > cuts[cuts.length - 1]!) cuts.push(cut);
  }
  return cuts;
}

/** The bin of `x` under `cuts` (see the file header): the number of cuts strictly below x. NaN gives -1. */
export function binIndex(cuts: ArrayLike<number>, x: number): number {
  if (Number.isNaN(x)) return -1;
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts per bin of `values` under `cuts` (length cuts.length + 1); NaN values are not counted. */
export function binCounts(cuts: ArrayLike<number>, values: ArrayLike<number>): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = binIndex(cuts, values[i]!);
    if (b >= 0) counts[b]!++;
  }
  return counts;
}
