/**
 * The drift report of one window: what the CLI prints, the monitor stores as an artifact (JSON and HTML), and the
 * trend rows are cut from. JSON-safe: statistics that do not apply, or could not be computed, are absent or null.
 */
import type { DriftTest } from '../../domain/drift.js';
import type { CalibrationMethod } from './reference.js';

/** Shares per bucket of the reference and the window, for the histogram of the report. */
export interface DriftHistogram {
  readonly labels: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

export interface SideSummary {
  readonly rows: number;
  readonly missing: number;
  /** Numeric: over finite values. */
  readonly mean?: number | null;
  readonly min?: number | null;
  readonly max?: number | null;
}

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  /** The verdict: pValue <= threshold. */
  readonly drift: boolean;
  /** The test behind the verdict; null when the window has nothing to test (no rows). */
  readonly test: DriftTest | null;
  readonly testChosen: 'auto' | 'override';
  /** Why this test, in words. */
  readonly testReason: string;
  /** The value of the test's statistic. */
  readonly statistic: number | null;
  /** The test's own p-value, under independent rows (for KS and chi-square the same as ks_pvalue, chi2_pvalue). */
  readonly testPValue: number | null;
  /** How much more the reference varies between stretches of rows than independent rows would (1: not at all). */
  readonly inflation: number;
  /** The calibrated p-value: testPValue deflated by the inflation (see calibration.ts). */
  readonly pValue: number | null;
  /** pValue after Holm's correction across features. */
  readonly adjustedPValue: number | null;
  /** The level Holm's procedure compared pValue with: drift <=> pValue <= threshold. */
  readonly threshold: number | null;
  /** Two-sample Kolmogorov-Smirnov D and p-value; `ks_method` says exact (raw values) or binned (fine bins). */
  readonly ks?: number;
  readonly ks_pvalue?: number;
  readonly ks_method?: 'exact' | 'binned';
  /** First Wasserstein distance in the feature's units, and divided by the reference's standard deviation. */
  readonly wasserstein?: number;
  readonly wasserstein_normalized?: number;
  /** Jensen-Shannon distance, base 2, over the reference's buckets (including missing and unseen). */
  readonly jensenshannon?: number;
  readonly psi?: number;
  readonly chi2?: number;
  readonly chi2_pvalue?: number;
  readonly chi2_dof?: number;
  readonly linf?: number;
  /** Chi-square p-value of the missing share, when either side has missing values and the test is KS. */
  readonly missing_pvalue?: number;
  readonly reference: SideSummary;
  readonly current: SideSummary & {
    /** Categorical: values of categories the reference never had, and the most frequent of them. */
    readonly unseen?: number;
    readonly unseenCategories?: readonly { readonly value: string; readonly count: number }[];
  };
  readonly histogram: DriftHistogram;
}

export interface DriftReport {
  readonly version: 1;
  /** Some feature drifted. */
  readonly drift: boolean;
  readonly driftedFeatures: readonly string[];
  readonly alpha: number;
  readonly correction: 'holm' | 'none';
  readonly calibration: {
    readonly method: CalibrationMethod | 'none';
    readonly chunkRows: readonly number[];
    readonly description: string;
  };
  readonly reference: { readonly rows: number };
  readonly current: { readonly rows: number };
  readonly features: readonly FeatureDrift[];
}

/**
 * One window's verdicts, as the history chart needs them: a DriftReport's features have all of it, and so do rows
 * kept per window and feature (feature, test, statistic, p-value, threshold, verdict).
 */
export interface DriftHistoryEntry {
  /** The window's label on the time axis, e.g. its end time. */
  readonly window: string;
  readonly features: readonly Pick<
    FeatureDrift,
    'feature' | 'test' | 'statistic' | 'pValue' | 'threshold' | 'drift'
  >[];
}
