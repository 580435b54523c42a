/**
 * A window of serving rows compared with a drift reference: per feature every statistic that applies, the test
 * chosen (by type and size, or per feature by the caller), its p-value calibrated against the reference and
 * corrected across features (Holm), and the verdict.
 *
 * Automatic choice:
 * - numeric: two-sample KS, exact (raw window values against the reference's sample) up to `exactMaxRows` values,
 *   on the fine bins above; combined (Bonferroni) with a chi-square test of the missing share when either side has
 *   missing values. Chi-square over the bins and the missing bucket when either side has no values at all (an
 *   all-missing reference or window).
 * - categorical: chi-square when its approximation holds (Cochran: every expected count >= 1 and at least 80 %
 *   >= 5); otherwise Jensen-Shannon with a Monte-Carlo p-value, which is valid at any size.
 */
import {
  CATEGORICAL_DRIFT_TESTS,
  NUMERIC_DRIFT_TESTS,
  resolveDriftOptions,
  type DriftOptions,
} from '../../domain/drift.js';
import type { CategoricalColumn, Column, Frame, NumericColumn } from '../frame.js';
import { deflateLogPValue, inflationAt } from './calibration.js';
import { testCategorical } from './categorical-test.js';
import { holm } from './correction.js';
import { DriftInputError } from './feature-test.js';
import { testNumeric } from './numeric-test.js';
import { prepareReference, type PreparedReference } from './prepare.js';
import type { DriftReference } from './reference.js';
import type { DriftReport, FeatureDrift } from './report.js';
import { chiSquareIsf, chiSquareIsfLog } from './special.js';

export { DriftInputError } from './feature-test.js';

function calibrationDescription(method: string, chunkRows: readonly number[]): string {
  if (method === 'none')
    return "the tests' p-values as they are (the reference's calibration is switched off)";
  if (method === 'permutation')
    return "the tests' p-values as they are (exact or asymptotic permutation nulls, Monte-Carlo for the distances): the reference was too short to calibrate on chunks";
  return (
    `the tests' p-values deflated by each feature's inflation, measured on contiguous chunks of the reference ` +
    `against the rest (chunks of ${chunkRows.join(', ')} rows)`
  );
}

/**
 * Compares the columns of `frame` (a window of serving rows; extra columns are ignored) with `reference`, feature by
 * feature. Throws DriftInputError when a reference feature is missing from the frame or is of the other kind, and
 * when an option names an unknown feature or a test that does not apply.
 */
export function compareWindow(
  reference: DriftReference | PreparedReference,
  frame: Frame,
  options: DriftOptions = {},
): DriftReport {
  const prepared = 'reference' in reference ? reference : prepareReference(reference);
  const ref = prepared.reference;
  const o = resolveDriftOptions(options);
  const byName = new Map(frame.columns.map((c): [string, Column] => [c.name, c]));
  const names = new Set(ref.features.map((f) => f.name));
  const problems: string[] = [];
  for (const f of ref.features) {
    const column = byName.get(f.name);
    if (!column) problems.push(`column "${f.name}" is missing`);
    else if (column.kind !== f.kind)
      problems.push(`column "${f.name}" is ${column.kind}, the reference's is ${f.kind}`);
  }
  for (const [name, test] of Object.entries(o.tests)) {
    const f = ref.features.find((x) => x.name === name);
    if (!names.has(name) || !f)
      problems.push(`tests names feature "${name}", which the reference does not have`);
    else if (!(f.kind === 'numeric' ? NUMERIC_DRIFT_TESTS : CATEGORICAL_DRIFT_TESTS).includes(test))
      problems.push(
        `tests.${name}: "${test}" does not apply to a ${f.kind} feature; use one of ` +
          (f.kind === 'numeric' ? NUMERIC_DRIFT_TESTS : CATEGORICAL_DRIFT_TESTS).join(', '),
      );
  }
  if (problems.length > 0)
    throw new DriftInputError(`the window does not match the drift reference: ${problems.join('; ')}`);

  const tested = prepared.features.map((p) => {
    const column = byName.get(p.ref.name)!;
    const override = o.tests[p.ref.name];
    return p.kind === 'numeric'
      ? testNumeric(p, column as NumericColumn, o, override)
      : testCategorical(p, column as CategoricalColumn, o, override);
  });

  const method = o.calibration === 'none' ? 'none' : ref.calibration.method;
  // The inflation is capped so that a window completely separated from the reference still alerts: deflated by the
  // cap, the most extreme p-value the test can give at these sizes comes out at alpha / (2m), below Holm's first
  // level. Without the cap a feature whose stretches of rows differ wildly (a random walk, a trend) could never
  // alert at all, whatever happened to it.
  const tests = tested.filter((t) => t.logP !== null).length;
  const firstLevel = chiSquareIsf(o.alpha / (2 * Math.max(1, tests)), 1);
  const inflation = prepared.features.map((p, i) => {
    const t = tested[i]!;
    if (method !== 'chunks' || t.separationLogP === null) return 1;
    const measured = inflationAt(ref.calibration.chunkRows, p.ref.inflation, t.current.rows);
    if (measured <= 1) return 1;
    const cap = Math.max(1, chiSquareIsfLog(Math.min(0, t.separationLogP), 1) / firstLevel);
    return Math.min(measured, cap);
  });
  const calibrated = tested.map((t, i) => (t.logP === null ? null : deflateLogPValue(t.logP, inflation[i]!)));
  const withP = calibrated.map((p, i) => (p === null ? -1 : i)).filter((i) => i >= 0);
  const family = withP.map((i) => calibrated[i]!);
  const corrected =
    o.correction === 'holm'
      ? holm(family, o.alpha)
      : {
          adjusted: family,
          reject: family.map((p) => p <= o.alpha),
          level: family.map(() => o.alpha),
        };
  const features: FeatureDrift[] = tested.map(({ logP: _, separationLogP: __, ...t }, i) => {
    const k = withP.indexOf(i);
    return {
      ...t,
      drift: k >= 0 && corrected.reject[k]!,
      inflation: inflation[i]!,
      pValue: calibrated[i] ?? null,
      adjustedPValue: k >= 0 ? corrected.adjusted[k]! : null,
      threshold: k >= 0 ? corrected.level[k]! : null,
    };
  });
  const drifted = features.filter((f) => f.drift).map((f) => f.feature);
  return {
    version: 1,
    drift: drifted.length > 0,
    driftedFeatures: drifted,
    alpha: o.alpha,
    correction: o.correction,
    calibration: {
      method,
      chunkRows: method === 'chunks' ? ref.calibration.chunkRows : [],
      description: calibrationDescription(method, ref.calibration.chunkRows),
    },
    reference: { rows: ref.rowCount },
    current: { rows: frame.rowCount },
    features,
  };
}
