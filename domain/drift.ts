import { z } from 'zod';

/**
 * The drift tests a feature can be judged by. Numeric: ks (default), psi, jensenshannon, wasserstein, chi2 (over
 * the quantile bins and the missing bucket). Categorical: chi2 (default), psi, jensenshannon, linf.
 */
export const driftTestSchema = z.enum(['ks', 'chi2', 'psi', 'jensenshannon', 'wasserstein', 'linf']);
export type DriftTest = z.infer<typeof driftTestSchema>;

export const NUMERIC_DRIFT_TESTS: readonly DriftTest[] = [
  'ks',
  'psi',
  'jensenshannon',
  'wasserstein',
  'chi2',
];
export const CATEGORICAL_DRIFT_TESTS: readonly DriftTest[] = ['chi2', 'psi', 'jensenshannon', 'linf'];

/**
 * How a window is compared with a drift reference. Every field is optional; the defaults are in
 * `resolveDriftOptions`. Part of the monitor policy, and what `slipway drift` accepts as flags.
 */
export const driftOptionsSchema = z
  .object({
    /** Chance that a window with no drift in any feature alerts (family-wise over features). 0.05. */
    alpha: z.number().gt(0).lt(1).optional(),
    /** Multiple-testing correction across features: holm (default), or none (each feature at alpha). */
    correction: z.enum(['holm', 'none']).optional(),
    /** The test per feature name, instead of the automatic choice. */
    tests: z.record(z.string(), driftTestSchema).optional(),
    /** Windows with at most this many values per numeric feature get the exact KS and Wasserstein. 10,000. */
    exactMaxRows: z.number().int().min(1).max(1_000_000).optional(),
    /** reference: deflate p-values by the reference's chunk calibration (default); none: use them as they are. */
    calibration: z.enum(['reference', 'none']).optional(),
    /** Monte-Carlo redraws behind the p-values of the distance tests. 999. */
    draws: z.number().int().min(99).max(100_000).optional(),
    /** Seed of those redraws, so a report can be reproduced. 1. */
    seed: z.number().int().optional(),
  })
  .strict();
export type DriftOptions = z.infer<typeof driftOptionsSchema>;
export type ResolvedDriftOptions = Required<Omit<DriftOptions, 'tests'>> & {
  readonly tests: Readonly<Record<string, DriftTest>>;
};

/** The options with their defaults filled in. */
export function resolveDriftOptions(options: DriftOptions = {}): ResolvedDriftOptions {
  return {
    alpha: options.alpha ?? 0.05,
    correction: options.correction ?? 'holm',
    tests: options.tests ?? {},
    exactMaxRows: options.exactMaxRows ?? 10_000,
    calibration: options.calibration ?? 'reference',
    draws: options.draws ?? 999,
    seed: options.seed ?? 1,
  };
}
