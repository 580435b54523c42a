// Per-node gradient/hessian histograms. One Float64Array per node holds, for each feature and each of its 256
// bins, [sum of gradients, sum of hessians, row count] side by side, so one bin update touches one cache line.
// Only the smaller child of a split is built from its rows; the larger one is parent minus smaller (the
// subtraction trick of LightGBM and scikit-learn), which roughly halves the histogram work per level.
// Features are accumulated two per pass over the rows: each gradient is loaded once for both, and the two
// independent chains of additions keep the CPU busy while one waits on a store to the same bin.
import { MISSING_BIN } from './binning.js';

/** Doubles per feature in a histogram: 256 bins x (gradient, hessian, count). */
export const FEATURE_SPAN = 256 * 3;
const MISSING_OFFSET = MISSING_BIN * 3;

/** Zeroes the bins a feature can use: its `nBins` value bins and the missing bin. */
function clearFeature(hist: Float64Array, base: number, nBins: number): void {
  hist.fill(0, base, base + nBins * 3);
  hist.fill(0, base + MISSING_OFFSET, base + FEATURE_SPAN);
}

/** Adds rows to the histograms of two features at once; `rows` null means rows 0..count-1. */
function accumulatePair(
  hist: Float64Array,
  c0: Uint8Array,
  c1: Uint8Array,
  b0: number,
  b1: number,
  rows: Uint32Array | null,
  start: number,
  count: number,
  og: Float32Array,
  oh: Float32Array,
): void {
  if (rows) {
    for (let i = 0; i < count; i++) {
      const r = rows[start + i]!;
      const gi = og[i]!;
      const hi = oh[i]!;
      const x = b0 + c0[r]! * 3;
      const y = b1 + c1[r]! * 3;
      hist[x] = hist[x]! + gi;
      hist[x + 1] = hist[x + 1]! + hi;
      hist[x + 2] = hist[x + 2]! + 1;
      hist[y] = hist[y]! + gi;
      hist[y + 1] = hist[y + 1]! + hi;
      hist[y + 2] = hist[y + 2]! + 1;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const gi = og[i]!;
    const hi = oh[i]!;
    const x = b0 + c0[i]! * 3;
    const y = b1 + c1[i]! * 3;
    hist[x] = hist[x]! + gi;
    hist[x + 1] = hist[x + 1]! + hi;
    hist[x + 2] = hist[x + 2]! + 1;
    hist[y] = hist[y]! + gi;
    hist[y + 1] = hist[y + 1]! + hi;
    hist[y + 2] = hist[y + 2]! + 1;
  }
}

/** Adds rows to the histogram of one feature; `rows` null means rows 0..count-1. */
function accumulateOne(
  hist: Float64Array,
  col: Uint8Array,
  base: number,
  rows: Uint32Array | null,
  start: number,
  count: number,
  og: Float32Array,
  oh: Float32Array,
): void {
  for (let i = 0; i < count; i++) {
    const b = base + col[rows ? rows[start + i]! : i]! * 3;
    hist[b] = hist[b]! + og[i]!;
    hist[b + 1] = hist[b + 1]! + oh[i]!;
    hist[b + 2] = hist[b + 2]! + 1;
  }
}

/**
 * Accumulates the histogram of the rows `rows[start..end)` for the given features into `hist` (cleared first for
 * those features). `og`/`oh` hold the gradients/hessians of those rows in the same order (gathered by the caller),
 * which keeps the inner loop's gradient reads sequential. With `rows` null, the rows are 0..end-1 themselves.
 */
export function buildHistogram(
  hist: Float64Array,
  binned: Uint8Array,
  stride: number,
  features: Int32Array,
  nBins: Int32Array,
  rows: Uint32Array | null,
  start: number,
  end: number,
  og: Float32Array,
  oh: Float32Array,
): void {
  const count = end - start;
  const column = (f: number): Uint8Array => binned.subarray(f * stride, (f + 1) * stride);
  let k = 0;
  for (; k + 1 < features.length; k += 2) {
    const f0 = features[k]!;
    const f1 = features[k + 1]!;
    clearFeature(hist, f0 * FEATURE_SPAN, nBins[f0]!);
    clearFeature(hist, f1 * FEATURE_SPAN, nBins[f1]!);
    accumulatePair(
      hist,
      column(f0),
      column(f1),
      f0 * FEATURE_SPAN,
      f1 * FEATURE_SPAN,
      rows,
      start,
      count,
      og,
      oh,
    );
  }
  if (k < features.length) {
    const f = features[k]!;
    clearFeature(hist, f * FEATURE_SPAN, nBins[f]!);
    accumulateOne(hist, column(f), f * FEATURE_SPAN, rows, start, count, og, oh);
  }
}

/** `out = parent - child` for the given features (`out` may be `parent`). */
export function subtractHistogram(
  out: Float64Array,
  parent: Float64Array,
  child: Float64Array,
  features: Int32Array,
  nBins: Int32Array,
): void {
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const base = f * FEATURE_SPAN;
    const used = base + nBins[f]! * 3;
    for (let j = base; j < used; j++) out[j] = parent[j]! - child[j]!;
    for (let j = base + MISSING_OFFSET; j < base + FEATURE_SPAN; j++) out[j] = parent[j]! - child[j]!;
  }
}

/** Sum of gradients, hessians and rows over all bins of one feature: the node's totals. */
export function histogramTotals(
  hist: Float64Array,
  feature: number,
  nBins: number,
): { g: number; h: number; count: number } {
  let g = 0;
  let h = 0;
  let count = 0;
  const base = feature * FEATURE_SPAN;
  for (let b = 0; b <= nBins; b++) {
    const j = base + (b < nBins ? b : MISSING_BIN) * 3;
    g += hist[j]!;
    h += hist[j + 1]!;
    count += hist[j + 2]!;
  }
  return { g, h, count };
}
