/**
 * The drift reference of a model version: what serving windows are compared against, built once from the
 * training rows and stored with the version (JSON, no NaN or Infinity). Binning follows ml/validation/binning.ts
 * (right-closed quantile cuts), with two outer bins added so a degenerate reference still shows a change:
 *
 *   edges = [nextDown(min), ...quantile cuts, max]
 *   bin 0 holds x < min, bin k+1 holds x > max (both empty in the reference), the bins between are the reference's
 *   quantile bins; a constant reference c has the three bins x < c, x = c, x > c.
 *
 * The coarse bins (PSI, Jensen-Shannon) are a subset of the fine ones (binned KS and Wasserstein) because the fine
 * count is a multiple of the coarse one and both take cut j at the same rank (quantileCuts), so one pass over a
 * window's values fills both.
 */
import type { CategoricalColumn, Column, Frame, NumericColumn } from '../frame.js';
import { binIndex, quantileCuts, sortedFinite } from '../validation/binning.js';
import { categoryCounts } from '../validation/profile.js';
import { calibrateInflation } from './calibration.js';

export interface DriftBins {
  /** Strictly increasing; bin i is edges[i-1] < x <= edges[i] (bin 0: x <= edges[0]; last: x > last edge). */
  readonly edges: readonly number[];
  readonly counts: readonly number[];
}

export interface NumericDriftReference {
  readonly name: string;
  readonly kind: 'numeric';
  readonly rowCount: number;
  /** Finite values. */
  readonly count: number;
  readonly missingCount: number;
  readonly negativeInfinityCount: number;
  readonly positiveInfinityCount: number;
  /** Over finite values; null when there are none. `std` is the population standard deviation. */
  readonly mean: number | null;
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** What Wasserstein distances are divided by: the standard deviation; 0 when constant or empty. */
  readonly spread: number;
  /** PSI and Jensen-Shannon bins; counts include -Infinity (bin 0) and +Infinity (last bin). */
  readonly bins: DriftBins;
  /** Binned KS and Wasserstein bins; finite values only. */
  readonly fine: DriftBins;
  /** Ascending finite values for the exact tests: all of them, or evenly spaced order statistics. */
  readonly sample: readonly number[];
  readonly sampled: boolean;
  /** Variance inflation per `DriftReference.calibration.chunkRows` entry (1 = none). */
  readonly inflation: readonly number[];
}

export interface CategoricalDriftReference {
  readonly name: string;
  readonly kind: 'categorical';
  readonly rowCount: number;
  /** Non-missing values. */
  readonly count: number;
  readonly missingCount: number;
  /** The most frequent categories (count descending, then label), with their counts. */
  readonly categories: readonly string[];
  readonly counts: readonly number[];
  /** Values of categories beyond `maxCategories`, and how many categories that is. */
  readonly otherCount: number;
  readonly otherDistinct: number;
  readonly inflation: readonly number[];
}

export type DriftFeatureReference = NumericDriftReference | CategoricalDriftReference;

export type CalibrationMethod = 'chunks' | 'permutation';

export interface DriftReference {
  readonly version: 1;
  readonly rowCount: number;
  readonly bins: number;
  readonly fineBins: number;
  readonly sampleSize: number;
  readonly maxCategories: number;
  /**
   * `chunks`: each feature's base test (KS, chi-square) was run on contiguous chunks of the reference rows against
   * the rest, per chunk size, to measure how much more the reference varies than independent rows would
   * (`inflation`); `permutation`: too few rows for that, the tests' own null distributions are used as they are.
   */
  readonly calibration: { readonly method: CalibrationMethod; readonly chunkRows: readonly number[] };
  readonly features: readonly DriftFeatureReference[];
}

export interface DriftReferenceOptions {
  /** Quantile bins for PSI and Jensen-Shannon (plus the two outer bins): 10 by default, 2 to 100. */
  readonly bins?: number;
  /** Quantile bins for binned KS and Wasserstein: 1000 by default; a multiple of `bins`, at most 10,000. */
  readonly fineBins?: number;
  /** Sorted values kept per numeric feature for the exact tests: 10,000 by default. */
  readonly sampleSize?: number;
  /** Categories kept by name per categorical feature: 1000 by default. */
  readonly maxCategories?: number;
  /** Columns to leave out (identifiers, timestamps, the target). */
  readonly exclude?: readonly string[];
  /** `chunks` (default) or `permutation`; see DriftReference.calibration. */
  readonly calibration?: CalibrationMethod;
  /** The smallest chunk of the chunk calibration: 50 rows by default; sizes double from there. */
  readonly minChunkRows?: number;
  /** Fewest chunks a chunk size needs to be measured: 10 by default. */
  readonly minChunks?: number;
}

const scratch = new Float64Array(1);
const scratchBits = new BigInt64Array(scratch.buffer);

/** The largest double below finite `x`. */
export function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  scratch[0] = x;
  scratchBits[0] = scratchBits[0]! + (x > 0 ? -1n : 1n);
  return scratch[0];
}

/** Drift edges of ascending finite values (see the file header); empty input gives no edges (one bin). */
export function driftEdges(sorted: Float64Array, bins: number): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  return [nextDown(sorted[0]!), ...quantileCuts(sorted, bins), sorted[n - 1]!];
}

function countBins(edges: readonly number[], sorted: Float64Array): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of sorted) counts[binIndex(edges, x)]!++;
  return counts;
}

function numericReference(
  column: NumericColumn,
  rowCount: number,
  o: ResolvedOptions,
): NumericDriftReference {
  const sorted = sortedFinite(column.values);
  const n = sorted.length;
  let missing = 0;
  let negInf = 0;
  let posInf = 0;
  for (const v of column.values) {
    if (Number.isNaN(v)) missing++;
    else if (v === Infinity) posInf++;
    else if (v === -Infinity) negInf++;
  }
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = n > 0 ? sum / n : null;
  let squares = 0;
  for (const v of sorted) squares += (v - (mean ?? 0)) ** 2;
  const std = n > 0 ? Math.sqrt(squares / n) : null;
  const edges = driftEdges(sorted, o.bins);
  const counts = countBins(edges, sorted);
  if (counts.length > 0) {
    counts[0]! += negInf;
    counts[counts.length - 1]! += posInf;
  }
  const fineEdges = driftEdges(sorted, o.fineBins);
  let sample: number[];
  if (n <= o.sampleSize) sample = Array.from(sorted);
  else {
    sample = new Array<number>(o.sampleSize);
    for (let i = 0; i < o.sampleSize; i++) sample[i] = sorted[Math.floor(((i + 0.5) * n) / o.sampleSize)]!;
  }
  return {
    name: column.name,
    kind: 'numeric',
    rowCount,
    count: n,
    missingCount: missing,
    negativeInfinityCount: negInf,
    positiveInfinityCount: posInf,
    mean,
    std,
    min: n > 0 ? sorted[0]! : null,
    max: n > 0 ? sorted[n - 1]! : null,
    // A constant's std can come out as rounding noise (1e-18, not 0); a constant has no spread.
    spread: n > 0 && sorted[0]! < sorted[n - 1]! ? std! : 0,
    bins: { edges, counts },
    fine: { edges: fineEdges, counts: countBins(fineEdges, sorted) },
    sample,
    sampled: n > o.sampleSize,
    inflation: [],
  };
}

function categoricalReference(
  column: CategoricalColumn,
  rowCount: number,
  o: ResolvedOptions,
): CategoricalDriftReference {
  const { counts, missing } = categoryCounts(column);
  const present = column.categories
    .map((value, i) => ({ value, count: counts[i] ?? 0 }))
    .filter((c) => c.count > 0)
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const kept = present.slice(0, o.maxCategories);
  const rest = present.slice(o.maxCategories);
  return {
    name: column.name,
    kind: 'categorical',
    rowCount,
    count: rowCount - missing,
    missingCount: missing,
    categories: kept.map((c) => c.value),
    counts: kept.map((c) => c.count),
    otherCount: rest.reduce((s, c) => s + c.count, 0),
    otherDistinct: rest.length,
    inflation: [],
  };
}

interface ResolvedOptions {
  readonly bins: number;
  readonly fineBins: number;
  readonly sampleSize: number;
  readonly maxCategories: number;
  readonly calibration: CalibrationMethod;
  readonly minChunkRows: number;
  readonly minChunks: number;
}

function resolveOptions(options: DriftReferenceOptions): ResolvedOptions {
  const o = {
    bins: options.bins ?? 10,
    fineBins: options.fineBins ?? 1000,
    sampleSize: options.sampleSize ?? 10_000,
    maxCategories: options.maxCategories ?? 1000,
    calibration: options.calibration ?? 'chunks',
    minChunkRows: options.minChunkRows ?? 50,
    minChunks: options.minChunks ?? 10,
  };
  const integer = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  };
  integer('bins', o.bins, 2, 100);
  integer('fineBins', o.fineBins, o.bins, 10_000);
  if (o.fineBins % o.bins !== 0)
    throw new RangeError(`fineBins (${o.fineBins}) must be a multiple of bins (${o.bins})`);
  integer('sampleSize', o.sampleSize, 10, 1_000_000);
  integer('maxCategories', o.maxCategories, 1, 100_000);
  integer('minChunkRows', o.minChunkRows, 5, 1_000_000);
  integer('minChunks', o.minChunks, 3, 10_000);
  if (o.calibration !== 'chunks' && o.calibration !== 'permutation')
    throw new RangeError(`calibration must be 'chunks' or 'permutation', got ${String(o.calibration)}`);
  return o;
}

/** The columns of `frame` that get a drift reference: all but the excluded ones. */
function referenceColumns(frame: Frame, exclude: readonly string[]): Column[] {
  const names = new Set(frame.columns.map((c) => c.name));
  const unknown = exclude.filter((name) => !names.has(name));
  if (unknown.length > 0)
    throw new RangeError(
      `exclude names column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} that the ` +
        `frame does not have; its columns are: ${[...names].join(', ')}`,
    );
  const skip = new Set(exclude);
  return frame.columns.filter((c) => !skip.has(c.name));
}

/**
 * The drift reference of a frame of training rows (in their original order: the chunk calibration reads
 * contiguous rows as a stretch of time). Pure: typed columns in, JSON-safe object out.
 */
export function buildDriftReference(frame: Frame, options: DriftReferenceOptions = {}): DriftReference {
  const o = resolveOptions(options);
  const columns = referenceColumns(frame, options.exclude ?? []);
  if (columns.length === 0) throw new RangeError('no columns left to build a drift reference from');
  const features = columns.map((c) =>
    c.kind === 'numeric'
      ? numericReference(c, frame.rowCount, o)
      : categoricalReference(c, frame.rowCount, o),
  );
  const chunkRows: number[] = [];
  if (o.calibration === 'chunks')
    for (let c = o.minChunkRows; Math.floor(frame.rowCount / c) >= o.minChunks; c *= 2) chunkRows.push(c);
  const method: CalibrationMethod = chunkRows.length > 0 ? 'chunks' : 'permutation';
  const calibrated = features.map((f, i) => ({
    ...f,
    inflation: method === 'chunks' ? calibrateInflation(f, columns[i]!, chunkRows) : [],
  }));
  return {
    version: 1,
    rowCount: frame.rowCount,
    bins: o.bins,
    fineBins: o.fineBins,
    sampleSize: o.sampleSize,
    maxCategories: o.maxCategories,
    calibration: { method, chunkRows },
    features: calibrated,
  };
}
