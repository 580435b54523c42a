/**
 * Calibration of the drift tests against the reference itself.
 *
 * The tests' p-values (KS, chi-square, the resampled distances) assume that rows are independent draws. Training
 * rows in time order are not: a week of Elec2 differs from the whole training period more than a week of shuffled
 * rows would, and a test that ignores this alerts on ordinary variation. So each feature's base test is run on
 * contiguous chunks of the reference against the rest of it, for chunk sizes doubling from `minChunkRows`, and the
 * chunk p-values measure the inflation: lambda = median(chi2_1 quantile of 1 - p) / median(chi2_1), at least 1.
 * With a few dozen chunks that median is noisy (a median of 12 chi2_1 values is off by half its size), so the
 * median's distribution-free 90 % lower confidence bound (an order statistic, from the binomial distribution of
 * the number of values below the median) stands in for it: under independence lambda is then 1 nine times in
 * ten, and the tests keep their power; where it is far above 1, a lower bound of it is applied. A window's p-value
 * is deflated by the lambda of its size,
 * p' = chi2_1.sf(chi2_1.isf(p) / lambda). This is genomic control (Devlin and Roeder, "Genomic control for
 * association studies", Biometrics 55(4), 1999) applied per feature and window size, in the spirit of the
 * first-order Rao-Scott correction for chi-square tests on dependent samples (Rao and Scott, JASA 76, 1981).
 */
import type { CategoricalColumn, Column, NumericColumn } from '../frame.js';
import {
  categoricalLayout,
  categoricalReferenceCounts,
  categoricalSlots,
  categorySlotMap,
  binLocator,
  locate,
} from './buckets.js';
import { ksAsymptoticPValue, ksStatisticBinned } from './ks.js';
import type { DriftFeatureReference } from './reference.js';
import { chiSquareIsfLog, chiSquareLogSf } from './special.js';
import { chiSquareHomogeneity } from './statistics.js';

/** Median of the chi-square distribution with one degree of freedom. */
const CHI2_1_MEDIAN = 0.454936423119572;
/** Most chunks measured per chunk size (evenly spread over the reference). */
const MAX_CHUNKS = 64;

/**
 * The one-sided lower confidence bound of the median at level `confidence`: the r-th smallest value, r the largest
 * rank with P(Binomial(n, 1/2) <= r - 1) <= 1 - confidence (the median is below it with at most that chance).
 */
export function medianLowerBound(values: readonly number[], confidence = 0.9): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  let cdf = 0;
  let pmf = 0.5 ** n;
  let r = 0;
  for (let k = 0; k < n; k++) {
    cdf += pmf;
    if (cdf > 1 - confidence) break;
    r = k + 1;
    pmf *= (n - k) / (k + 1);
  }
  return r === 0 ? -Infinity : s[r - 1]!;
}

/** The bucket of every reference row (-1: not counted by the base test). */
function rowBuckets(ref: DriftFeatureReference, column: Column): { buckets: Int32Array; size: number } {
  if (ref.kind === 'numeric') {
    const values = (column as NumericColumn).values;
    const locator = binLocator(Float64Array.from(ref.fine.edges));
    const buckets = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      buckets[i] = Number.isFinite(x) ? locate(locator, x) : -1;
    }
    return { buckets, size: locator.edges.length + 1 };
  }
  const categorical = column as CategoricalColumn;
  const layout = categoricalLayout(ref.categories.length);
  const slots = categoricalSlots(ref, categorySlotMap(ref), categorical.categories);
  const buckets = new Int32Array(categorical.codes.length);
  for (let i = 0; i < buckets.length; i++) {
    const code = categorical.codes[i]!;
    buckets[i] = code < 0 ? layout.missing : slots[code]!;
  }
  return { buckets, size: layout.size };
}

/** ln p-value of the feature's base test for one chunk against the rest (binned KS, or chi-square). */
function chunkLogPValue(
  ref: DriftFeatureReference,
  chunk: Float64Array,
  rest: Float64Array,
  chunkCount: number,
  restCount: number,
): number {
  if (ref.kind === 'numeric') {
    if (chunkCount === 0 || restCount === 0) return NaN;
    // The asymptotic p-value: calibration needs its order of magnitude, not the exact path count.
    return ksAsymptoticPValue(ksStatisticBinned(rest, chunk), restCount, chunkCount).logPValue;
  }
  return chiSquareHomogeneity(rest, chunk).logPValue;
}

/**
 * The inflation of `ref`'s base test at each of `chunkRows` (see the file header), from the reference's own rows
 * in their order. 1 where too few chunks gave a p-value for a lower bound.
 */
export function calibrateInflation(
  ref: DriftFeatureReference,
  column: Column,
  chunkRows: readonly number[],
): number[] {
  const { buckets, size } = rowBuckets(ref, column);
  const totals =
    ref.kind === 'numeric' ? Float64Array.from(ref.fine.counts) : categoricalReferenceCounts(ref);
  let totalCount = 0;
  for (const c of totals) totalCount += c;
  const n = buckets.length;
  const chunk = new Float64Array(size);
  const rest = new Float64Array(size);
  return chunkRows.map((rows) => {
    const available = Math.floor(n / rows);
    const used = Math.min(available, MAX_CHUNKS);
    const quantiles: number[] = [];
    for (let t = 0; t < used; t++) {
      const start = Math.floor((t * available) / used) * rows;
      chunk.fill(0);
      let chunkCount = 0;
      for (let i = start; i < start + rows; i++) {
        const b = buckets[i]!;
        if (b >= 0) {
          chunk[b]!++;
          chunkCount++;
        }
      }
      for (let b = 0; b < size; b++) rest[b] = totals[b]! - chunk[b]!;
      const logP = chunkLogPValue(ref, chunk, rest, chunkCount, totalCount - chunkCount);
      if (!Number.isNaN(logP)) quantiles.push(Math.min(chiSquareIsfLog(logP, 1), 1e9));
    }
    return Math.max(1, medianLowerBound(quantiles) / CHI2_1_MEDIAN);
  });
}

/**
 * The inflation for a window of `rows` rows: log-linear interpolation between the measured chunk sizes; below the
 * smallest, the smallest's; above the largest, extrapolated with the growth of the last doubling (between none and
 * proportional), since natural variation between stretches of time tends to grow with their length.
 */
export function inflationAt(
  chunkRows: readonly number[],
  inflation: readonly number[],
  rows: number,
): number {
  const k = Math.min(chunkRows.length, inflation.length);
  if (k === 0 || !(rows > 0)) return 1;
  if (rows <= chunkRows[0]!) return inflation[0]!;
  for (let i = 1; i < k; i++) {
    if (rows <= chunkRows[i]!) {
      const t = Math.log(rows / chunkRows[i - 1]!) / Math.log(chunkRows[i]! / chunkRows[i - 1]!);
      return inflation[i - 1]! * (inflation[i]! / inflation[i - 1]!) ** t;
    }
  }
  const last = inflation[k - 1]!;
  if (k < 2) return last;
  const slope = Math.min(
    1,
    Math.max(0, Math.log(last / inflation[k - 2]!) / Math.log(chunkRows[k - 1]! / chunkRows[k - 2]!)),
  );
  return last * (rows / chunkRows[k - 1]!) ** slope;
}

/**
 * A p-value, given by its logarithm, deflated by inflation `lambda`: chi2_1.sf(chi2_1.isf(p) / lambda), computed
 * in logs so a p-value far below the smallest double still deflates to the right answer.
 */
export function deflateLogPValue(logP: number, lambda: number): number {
  if (Number.isNaN(logP)) return NaN;
  if (lambda <= 1) return Math.exp(logP);
  return Math.exp(chiSquareLogSf(chiSquareIsfLog(Math.min(0, logP), 1) / lambda, 1));
}
