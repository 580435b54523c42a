import type { CategoricalColumn, Column, Frame, NumericColumn } from '../frame.js';
import { binCounts, binIndex, quantileCuts, quantileSorted, sortedFinite } from './binning.js';

/**
 * Numeric feature profile. Exactness contract (monitoring relies on it):
 * - `bins.counts[i]` is the number of finite training values in bin i of `bins.cuts` under the rule of
 *   binning.ts (right-closed: bin 0 is x <= cuts[0], bin i is cuts[i-1] < x <= cuts[i], last is x > last cut);
 * - every bin count is >= 1, and count == sum(bins.counts);
 * - count + nonFiniteCount + missingCount == rowCount.
 */
export interface NumericFeatureProfile {
  readonly name: string;
  readonly kind: 'numeric';
  /** Finite values. */
  readonly count: number;
  /** NaN (missing) values. */
  readonly missingCount: number;
  readonly missingRate: number;
  /** ±Infinity values: neither missing nor binned. */
  readonly nonFiniteCount: number;
  /** Over finite values; null when there are none. `std` is the population standard deviation (ddof = 0). */
  readonly mean: number | null;
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Linear-interpolated quantiles (NumPy's default) of the finite values, keyed p01, p05, p25, p50, p75, p95, p99. */
  readonly quantiles: Readonly<Record<string, number>> | null;
  readonly bins: { readonly cuts: readonly number[]; readonly counts: readonly number[] };
}

/**
 * Categorical feature profile: `top` holds the `topK` most frequent categories (count descending, then label
 * ascending), `otherCount` all other non-missing values. count == sum(top counts) + otherCount, and
 * count + missingCount == rowCount.
 */
export interface CategoricalFeatureProfile {
  readonly name: string;
  readonly kind: 'categorical';
  readonly count: number;
  readonly missingCount: number;
  readonly missingRate: number;
  /** Categories that occur at least once. */
  readonly distinct: number;
  readonly top: readonly { readonly value: string; readonly count: number }[];
  readonly otherCount: number;
  /** How many distinct categories `otherCount` covers. */
  readonly otherDistinct: number;
}

export type FeatureProfile = NumericFeatureProfile | CategoricalFeatureProfile;

/** What monitoring compares serving traffic against. JSON-safe (no NaN/Infinity: absent statistics are null). */
export interface ReferenceProfile {
  readonly version: 1;
  readonly rowCount: number;
  /** Requested quantile bins per numeric feature (ties can leave fewer) and top-K per categorical feature. */
  readonly bins: number;
  readonly topK: number;
  readonly features: readonly FeatureProfile[];
  /** The target column's profile, when `target` was given (prior shift / label drift). */
  readonly target?: FeatureProfile;
}

export interface ProfileOptions {
  /** Quantile bins per numeric feature: 10 by default, 2 to 100. */
  readonly bins?: number;
  /** Categories kept by name per categorical feature; 20 by default. */
  readonly topK?: number;
  /** The target column: profiled apart, not among the features. */
  readonly target?: string;
  /** Columns left out entirely (identifiers, timestamps...). */
  readonly exclude?: readonly string[];
}

const QUANTILES: readonly [string, number][] = [
  ['p01', 0.01],
  ['p05', 0.05],
  ['p25', 0.25],
  ['p50', 0.5],
  ['p75', 0.75],
  ['p95', 0.95],
  ['p99', 0.99],
];

function numericProfile(column: NumericColumn, rowCount: number, bins: number): NumericFeatureProfile {
  const sorted = sortedFinite(column.values);
  let missing = 0;
  for (const v of column.values) if (Number.isNaN(v)) missing++;
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = n > 0 ? sum / n : null;
  let squares = 0;
  for (const v of sorted) squares += (v - (mean ?? 0)) ** 2;
  const cuts = quantileCuts(sorted, bins);
  return {
    name: column.name,
    kind: 'numeric',
    count: n,
    missingCount: missing,
    missingRate: rowCount === 0 ? 0 : missing / rowCount,
    nonFiniteCount: rowCount - n - missing,
    mean,
    std: n > 0 ? Math.sqrt(squares / n) : null,
    min: n > 0 ? sorted[0]! : null,
    max: n > 0 ? sorted[n - 1]! : null,
    quantiles: n > 0 ? Object.fromEntries(QUANTILES.map(([k, q]) => [k, quantileSorted(sorted, q)])) : null,
    bins: { cuts, counts: n > 0 ? binCounts(cuts, sorted) : [] },
  };
}

/** Occurrences of each category code of a column, and the missing count. */
export function categoryCounts(column: CategoricalColumn): { counts: number[]; missing: number } {
  const counts = new Array<number>(column.categories.length).fill(0);
  let missing = 0;
  for (const code of column.codes) {
    if (code < 0) missing++;
    else counts[code] = (counts[code] ?? 0) + 1;
  }
  return { counts, missing };
}

function categoricalProfile(
  column: CategoricalColumn,
  rowCount: number,
  topK: number,
): CategoricalFeatureProfile {
  const { counts, missing } = categoryCounts(column);
  const present = column.categories
    .map((value, i) => ({ value, count: counts[i] ?? 0 }))
    .filter((c) => c.count > 0)
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const top = present.slice(0, topK);
  const rest = present.slice(topK);
  return {
    name: column.name,
    kind: 'categorical',
    count: rowCount - missing,
    missingCount: missing,
    missingRate: rowCount === 0 ? 0 : missing / rowCount,
    distinct: present.length,
    top,
    otherCount: rest.reduce((s, c) => s + c.count, 0),
    otherDistinct: rest.length,
  };
}

/** The profile of one column (see NumericFeatureProfile / CategoricalFeatureProfile for the exact contract). */
export function profileColumn(
  column: Column,
  rowCount: number,
  options: ProfileOptions = {},
): FeatureProfile {
  return column.kind === 'numeric'
    ? numericProfile(column, rowCount, options.bins ?? 10)
    : categoricalProfile(column, rowCount, options.topK ?? 20);
}

/**
 * The reference profile of a training frame: per feature, numeric quantile bins with exact counts, missing rate
 * and mean/std/min/max/quantiles, or categorical top-K frequencies with an "other" bucket and missing rate.
 */
export function buildReferenceProfile(frame: Frame, options: ProfileOptions = {}): ReferenceProfile {
  const bins = options.bins ?? 10;
  const topK = options.topK ?? 20;
  if (!Number.isInteger(bins) || bins < 2 || bins > 100)
    throw new RangeError(`bins must be an integer from 2 to 100, got ${bins}`);
  if (!Number.isInteger(topK) || topK < 1)
    throw new RangeError(`topK must be a positive integer, got ${topK}`);
  const exclude = new Set(options.exclude ?? []);
  const resolved = { bins, topK };
  const features = frame.columns
    .filter((c) => c.name !== options.target && !exclude.has(c.name))
    .map((c) => profileColumn(c, frame.rowCount, resolved));
  const targetColumn = frame.columns.find((c) => c.name === options.target);
  return {
    version: 1,
    rowCount: frame.rowCount,
    bins,
    topK,
    features,
    ...(targetColumn ? { target: profileColumn(targetColumn, frame.rowCount, resolved) } : {}),
  };
}

/**
 * Counts `column`'s values into the buckets of a reference feature profile, aligned with it: numeric -> one count
 * per reference bin; categorical -> one count per `top` entry, then one for every other category. Missing (and
 * non-finite numeric) values are counted apart. This is the "actual" side of a PSI against the profile.
 */
export function countAgainstProfile(
  profile: FeatureProfile,
  column: Column,
): { counts: number[]; missing: number; nonFinite: number } {
  if (profile.kind === 'numeric') {
    if (column.kind !== 'numeric')
      throw new TypeError(`column "${column.name}" is categorical; the profile is numeric`);
    const counts = new Array<number>(profile.bins.cuts.length + 1).fill(0);
    let missing = 0;
    let nonFinite = 0;
    for (const x of column.values) {
      if (Number.isNaN(x)) missing++;
      else if (!Number.isFinite(x)) nonFinite++;
      else counts[binIndex(profile.bins.cuts, x)]!++;
    }
    return { counts, missing, nonFinite };
  }
  if (column.kind !== 'categorical')
    throw new TypeError(`column "${column.name}" is numeric; the profile is categorical`);
  const slot = new Map(profile.top.map((t, i) => [t.value, i]));
  const byCode = column.categories.map((c) => slot.get(c) ?? profile.top.length);
  const counts = new Array<number>(profile.top.length + 1).fill(0);
  let missing = 0;
  for (const code of column.codes) {
    if (code < 0) missing++;
    else counts[byCode[code] ?? profile.top.length]!++;
  }
  return { counts, missing, nonFinite: 0 };
}
