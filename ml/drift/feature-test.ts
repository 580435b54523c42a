/**
 * What the per-feature tests share: the shape of a tested feature before the correction across features, the
 * statistics by name, and small helpers.
 */
import type { FeatureDrift } from './report.js';
import { chiSquareLogSf } from './special.js';

/** Thrown when a window cannot be compared with a reference: a column is missing or of the other kind. */
export class DriftInputError extends Error {
  override readonly name = 'DriftInputError';
}

/** A feature's statistics and test before the correction across features. */
export type Tested = Omit<FeatureDrift, 'drift' | 'inflation' | 'pValue' | 'adjustedPValue' | 'threshold'> & {
  /** ln testPValue, finite where the p-value underflows (see KsResult.logPValue); null when nothing was tested. */
  readonly logP: number | null;
  /** ln of the p-value the test would give the most extreme window of this size (a complete separation). */
  readonly separationLogP: number | null;
};

type StatisticName =
  | 'ks'
  | 'ks_pvalue'
  | 'ks_method'
  | 'wasserstein'
  | 'wasserstein_normalized'
  | 'jensenshannon'
  | 'psi'
  | 'chi2'
  | 'chi2_pvalue'
  | 'chi2_dof'
  | 'linf'
  | 'missing_pvalue';
export type Statistics = { -readonly [K in StatisticName]?: FeatureDrift[K] };

export const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** A stable seed per feature, so Monte-Carlo p-values do not depend on the order of features. */
export function featureSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Counts as shares of their total (all 0 for an empty side). */
export function shares(counts: ArrayLike<number>): number[] {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i]!;
  return Array.from(counts, (c) => (n > 0 ? c / n : 0));
}

/**
 * ln p of a chi-square test on the same totals whose two rows share no bucket: the statistic is then the grand total
 * (Pearson's chi-square of a 2 x K table is at most N (min(2, K) - 1)), on the table's degrees of freedom.
 */
export function chiSquareSeparationLogP(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  let n = 0;
  let columns = 0;
  for (let i = 0; i < reference.length; i++) {
    const col = reference[i]! + current[i]!;
    n += col;
    if (col > 0) columns++;
  }
  return chiSquareLogSf(n, Math.max(1, columns - 1));
}

/** The statistics that have a finite value (NaN marks "does not apply here"). */
export function finiteStats(stats: Statistics): Statistics {
  return Object.fromEntries(
    Object.entries(stats).filter(
      ([, v]) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
    ),
  );
}
