// Per-node gradient/hessian histograms. One Float64Array per node holds, for each feature and each of its 256
// bins, [sum of gradients, sum of hessians, row count] side by side, so one bin update touches one cache line.
// Only the smaller child of a split is built from its rows; the larger one is parent minus smaller (the
// subtraction trick of LightGBM and scikit-learn), which roughly halves the histogram work per level.

/** Doubles per feature in a histogram: 256 bins x (gradient, hessian, count). */
export const FEATURE_SPAN = 256 * 3;

/**
 * Accumulates the histogram of the rows `rows[start..end)` for the given features into `hist` (zeroed first for
 * those features). `og`/`oh` hold the gradients/hessians of those rows in the same order (gathered by the caller),
 * which keeps the inner loop's gradient reads sequential.
 */
export function buildHistogram(
  hist: Float64Array,
  binned: Uint8Array,
  stride: number,
  features: Int32Array,
  rows: Uint32Array,
  start: number,
  end: number,
  og: Float32Array,
  oh: Float32Array,
): void {
  const count = end - start;
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const base = f * FEATURE_SPAN;
    hist.fill(0, base, base + FEATURE_SPAN);
    const col = binned.subarray(f * stride, (f + 1) * stride);
    for (let i = 0; i < count; i++) {
      const b = base + col[rows[start + i]!]! * 3;
      hist[b] = hist[b]! + og[i]!;
      hist[b + 1] = hist[b + 1]! + oh[i]!;
      hist[b + 2] = hist[b + 2]! + 1;
    }
  }
}

/** The root histogram when every row of the binned matrix is in the tree: no index indirection at all. */
export function buildRootHistogram(
  hist: Float64Array,
  binned: Uint8Array,
  stride: number,
  features: Int32Array,
  g: Float32Array,
  h: Float32Array,
): void {
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const base = f * FEATURE_SPAN;
    hist.fill(0, base, base + FEATURE_SPAN);
    const col = binned.subarray(f * stride, (f + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const b = base + col[i]! * 3;
      hist[b] = hist[b]! + g[i]!;
      hist[b + 1] = hist[b + 1]! + h[i]!;
      hist[b + 2] = hist[b + 2]! + 1;
    }
  }
}

/** `out = parent - child` for the given features (`out` may be `parent`). */
export function subtractHistogram(out: Float64Array, parent: Float64Array, child: Float64Array, features: Int32Array): void {
  for (let k = 0; k < features.length; k++) {
    const base = features[k]! * FEATURE_SPAN;
    for (let j = base; j < base + FEATURE_SPAN; j++) out[j] = parent[j]! - child[j]!;
  }
}

/** Sum of gradients, hessians and rows over all bins of one feature: the node's totals. */
export function histogramTotals(hist: Float64Array, feature: number): { g: number; h: number; count: number } {
  let g = 0;
  let h = 0;
  let count = 0;
  const base = feature * FEATURE_SPAN;
  for (let j = base; j < base + FEATURE_SPAN; j += 3) {
    g += hist[j]!;
    h += hist[j + 1]!;
    count += hist[j + 2]!;
  }
  return { g, h, count };
}
