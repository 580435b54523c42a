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
  type DriftTest,
  type ResolvedDriftOptions,
} from '../../domain/drift.js';
import type { CategoricalColumn, Column, Frame, NumericColumn } from '../frame.js';
import { categoricalLayout, categoricalSlots, locate, type BinLocator } from './buckets.js';
import { deflateLogPValue, inflationAt } from './calibration.js';
import { holm } from './correction.js';
import { ksPValue, ksTwoSampleBinned, ksTwoSampleSorted } from './ks.js';
import { chiSquareIsf, chiSquareIsfLog, chiSquareLogSf } from './special.js';
import {
  prepareReference,
  type PreparedCategorical,
  type PreparedNumeric,
  type PreparedReference,
} from './prepare.js';
import type { DriftReference, NumericDriftReference } from './reference.js';
import type { DriftReport, FeatureDrift } from './report.js';
import { resampledPValue } from './resample.js';
import {
  chiSquareHomogeneity,
  jensenShannon,
  lInfinity,
  psi,
  wassersteinBinned,
  wassersteinSorted,
} from './statistics.js';
import { formatNumber } from '../svg.js';

/** Thrown when a window cannot be compared with a reference: a column is missing or of the other kind. */
export class DriftInputError extends Error {
  override readonly name = 'DriftInputError';
}

/** A feature's statistics and test before the correction across features. */
type Tested = Omit<FeatureDrift, 'drift' | 'inflation' | 'pValue' | 'adjustedPValue' | 'threshold'> & {
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
type Statistics = { -readonly [K in StatisticName]?: FeatureDrift[K] };

/** What one pass over a numeric window column found. */
interface NumericScan {
  readonly fine: Float64Array;
  readonly finite: number;
  readonly missing: number;
  readonly negInf: number;
  readonly posInf: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

/** One pass: fine-bin counts, missing and infinite values, range and sum. Typed arrays only. */
export function scanNumeric(locator: BinLocator, values: Float64Array): NumericScan {
  const fine = new Float64Array(locator.edges.length + 1);
  let missing = 0;
  let negInf = 0;
  let posInf = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x - x !== 0) {
      if (x !== x) missing++;
      else if (x > 0) posInf++;
      else negInf++;
      continue;
    }
    fine[locate(locator, x)]!++;
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  const finite = values.length - missing - negInf - posInf;
  return { fine, finite, missing, negInf, posInf, min, max, sum };
}

function finiteSorted(values: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x - x === 0) out[k++] = x;
  }
  return out.sort();
}

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** A stable seed per feature, so Monte-Carlo p-values do not depend on the order of features. */
function featureSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function shares(counts: ArrayLike<number>): number[] {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i]!;
  return Array.from(counts, (c) => (n > 0 ? c / n : 0));
}

/**
 * ln p of a chi-square test on the same totals whose two rows share no bucket: the statistic is then the grand total
 * (Pearson's chi-square of a 2 x K table is at most N (min(2, K) - 1)), on the table's degrees of freedom.
 */
function chiSquareSeparationLogP(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  let n = 0;
  let columns = 0;
  for (let i = 0; i < reference.length; i++) {
    const col = reference[i]! + current[i]!;
    n += col;
    if (col > 0) columns++;
  }
  return chiSquareLogSf(n, Math.max(1, columns - 1));
}

function cochranHolds(reference: ArrayLike<number>, current: ArrayLike<number>): boolean {
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < reference.length; i++) {
    nr += reference[i]!;
    nc += current[i]!;
  }
  let cells = 0;
  let small = 0;
  for (let i = 0; i < reference.length; i++) {
    const col = reference[i]! + current[i]!;
    if (col === 0) continue;
    for (const row of [nr, nc]) {
      const expected = (row * col) / (nr + nc);
      if (expected < 1) return false;
      cells++;
      if (expected < 5) small++;
    }
  }
  return small <= 0.2 * cells;
}

function numericLabels(ref: NumericDriftReference, missing: boolean): string[] {
  const edges = ref.bins.edges;
  const labels: string[] = [];
  if (edges.length === 0) labels.push('values');
  else {
    labels.push(`< ${formatNumber(ref.min)}`);
    for (let i = 1; i < edges.length; i++)
      labels.push(
        i === 1
          ? `[${formatNumber(ref.min)}, ${formatNumber(edges[1])}]`
          : `(${formatNumber(edges[i - 1])}, ${formatNumber(edges[i])}]`,
      );
    labels.push(`> ${formatNumber(edges[edges.length - 1])}`);
  }
  if (missing) labels.push('missing');
  return labels;
}

function testNumeric(
  p: PreparedNumeric,
  column: NumericColumn,
  o: ResolvedDriftOptions,
  override: DriftTest | undefined,
): Tested {
  const ref = p.ref;
  const scan = scanNumeric(p.locator, column.values);
  const coarseCount = p.coarseCounts.length - 1;
  const current = new Float64Array(coarseCount + 1);
  for (let f = 0; f < scan.fine.length; f++) current[p.coarseOfFine[f]!]! += scan.fine[f]!;
  current[0]! += scan.negInf;
  current[coarseCount - 1]! += scan.posInf;
  current[coarseCount] = scan.missing;
  const reference = p.coarseCounts;

  const stats: Statistics = {};
  stats.psi = psi(reference, current);
  stats.jensenshannon = jensenShannon(reference, current);
  const hasValues = ref.count > 0 && scan.finite > 0;
  const exact = hasValues && scan.finite <= o.exactMaxRows && p.sample.length > 0;
  let ksLogP = NaN;
  let sortedCurrent: Float64Array | undefined;
  let bounds: Float64Array | undefined;
  if (hasValues) {
    if (exact) {
      sortedCurrent = finiteSorted(column.values, scan.finite);
      const ks = ksTwoSampleSorted(p.sample, sortedCurrent);
      stats.ks = ks.statistic;
      stats.ks_pvalue = ks.pValue;
      stats.ks_method = 'exact';
      ksLogP = ks.logPValue;
      stats.wasserstein = wassersteinSorted(p.sample, sortedCurrent);
    } else {
      const ks = ksTwoSampleBinned(p.fineCounts, scan.fine);
      stats.ks = ks.statistic;
      stats.ks_pvalue = ks.pValue;
      stats.ks_method = 'binned';
      ksLogP = ks.logPValue;
    }
    bounds = new Float64Array(p.fineEdges.length + 2);
    bounds.set(p.fineEdges, 1);
    bounds[0] = Math.min(scan.min, p.fineEdges[0]!);
    bounds[bounds.length - 1] = Math.max(scan.max, p.fineEdges[p.fineEdges.length - 1]!);
    // The reference's lowest bin starts at its minimum, not at the edge just below it.
    bounds[1] = ref.min!;
    if (bounds[0] > bounds[1]) bounds[0] = bounds[1];
    if (!exact) stats.wasserstein = wassersteinBinned(p.fineCounts, scan.fine, bounds);
    if (ref.spread > 0) stats.wasserstein_normalized = stats.wasserstein! / ref.spread;
  }

  const empty = column.values.length === 0 || ref.rowCount === 0;
  const auto: DriftTest = hasValues ? 'ks' : 'chi2';
  const test = override ?? auto;
  let statistic = NaN;
  let pValue = NaN;
  let logP = NaN;
  let reason = 'nothing to compare: a side has no rows';
  const seed = featureSeed(o.seed, ref.name);
  const chi = (): void => {
    const c = chiSquareHomogeneity(reference, current);
    stats.chi2 = c.statistic;
    stats.chi2_pvalue = c.pValue;
    stats.chi2_dof = c.dof;
    statistic = c.statistic;
    pValue = c.pValue;
    logP = c.logPValue;
  };
  if (!empty)
    switch (test) {
      case 'ks': {
        if (!hasValues) {
          reason = 'KS needs values on both sides, and one side has none';
          break;
        }
        statistic = stats.ks!;
        pValue = stats.ks_pvalue!;
        logP = ksLogP;
        reason = exact
          ? `KS on the values, exact (${scan.finite} values, at most ${o.exactMaxRows})`
          : `KS on the ${p.fineEdges.length + 1} fine bins (${scan.finite} values, over ${o.exactMaxRows})`;
        if (ref.missingCount > 0 || scan.missing > 0) {
          const m = chiSquareHomogeneity(
            [ref.missingCount, ref.rowCount - ref.missingCount],
            [scan.missing, column.values.length - scan.missing],
          );
          stats.missing_pvalue = m.pValue;
          pValue = Math.min(1, 2 * Math.min(pValue, m.pValue));
          logP = Math.min(0, Math.LN2 + Math.min(logP, m.logPValue));
          reason += ', with the missing share (Bonferroni of the two)';
        }
        break;
      }
      case 'chi2':
        chi();
        reason = hasValues
          ? 'chi-square over the quantile bins and the missing bucket'
          : 'chi-square over the quantile bins and the missing bucket: one side has no values';
        break;
      case 'psi':
      case 'jensenshannon': {
        const f = test === 'psi' ? psi : jensenShannon;
        statistic = test === 'psi' ? stats.psi : stats.jensenshannon;
        pValue = resampledPValue(f, reference, current, statistic, o.draws, seed);
        logP = Math.log(pValue);
        reason = `${test === 'psi' ? 'PSI' : 'Jensen-Shannon'} over the quantile bins, Monte-Carlo p-value (${o.draws} draws)`;
        break;
      }
      case 'wasserstein': {
        if (!hasValues || !bounds) {
          reason = 'Wasserstein needs values on both sides, and one side has none';
          break;
        }
        const b = bounds;
        statistic = wassersteinBinned(p.fineCounts, scan.fine, b);
        pValue = resampledPValue(
          (r, c) => wassersteinBinned(r, c, b),
          p.fineCounts,
          scan.fine,
          statistic,
          o.draws,
          seed,
        );
        logP = Math.log(pValue);
        reason = `Wasserstein on the fine bins, Monte-Carlo p-value (${o.draws} draws)`;
        break;
      }
      default:
        throw new DriftInputError(`test "${test}" does not apply to numeric feature "${ref.name}"`);
    }
  const anyMissing = ref.missingCount > 0 || scan.missing > 0;
  const keep = anyMissing ? current.length : current.length - 1;
  let separationLogP = NaN;
  if (!Number.isNaN(logP)) {
    if (test === 'ks') {
      const n1 = exact ? p.sample.length : ref.count;
      separationLogP = ksPValue(1, n1, scan.finite).logPValue + (anyMissing ? Math.LN2 : 0);
    } else if (test === 'chi2') separationLogP = chiSquareSeparationLogP(reference, current);
    else separationLogP = Math.log(1 / (o.draws + 1));
  }
  return {
    feature: ref.name,
    kind: 'numeric',
    test: empty ? null : test,
    testChosen: override ? 'override' : 'auto',
    testReason: reason,
    statistic: orNull(statistic),
    testPValue: orNull(pValue),
    logP: Number.isNaN(logP) ? null : logP,
    separationLogP: Number.isNaN(separationLogP) ? null : separationLogP,
    ...finiteStats(stats),
    reference: { rows: ref.rowCount, missing: ref.missingCount, mean: ref.mean, min: ref.min, max: ref.max },
    current: {
      rows: column.values.length,
      missing: scan.missing,
      mean: scan.finite > 0 ? scan.sum / scan.finite : null,
      min: scan.finite > 0 ? scan.min : null,
      max: scan.finite > 0 ? scan.max : null,
    },
    histogram: {
      labels: numericLabels(ref, anyMissing),
      reference: shares(reference).slice(0, keep),
      current: shares(current).slice(0, keep),
    },
  };
}

/** The statistics that have a finite value (NaN marks "does not apply here"). */
function finiteStats(stats: Statistics): Statistics {
  return Object.fromEntries(
    Object.entries(stats).filter(
      ([, v]) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
    ),
  );
}

/** Categories shown in a categorical histogram before the rest are pooled. */
const HISTOGRAM_CATEGORIES = 15;

function testCategorical(
  p: PreparedCategorical,
  column: CategoricalColumn,
  o: ResolvedDriftOptions,
  override: DriftTest | undefined,
): Tested {
  const ref = p.ref;
  const layout = categoricalLayout(ref.categories.length);
  const slots = categoricalSlots(ref, p.slotOf, column.categories);
  const current = new Float64Array(layout.size);
  const perCode = new Float64Array(column.categories.length);
  let missing = 0;
  const codes = column.codes;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code < 0) missing++;
    else perCode[code]!++;
  }
  for (let c = 0; c < perCode.length; c++) current[slots[c]!]! += perCode[c]!;
  current[layout.missing] = missing;
  const unseen = column.categories
    .map((value, c) => ({ value, count: perCode[c]!, slot: slots[c]! }))
    .filter((u) => u.slot === layout.unseen && u.count > 0)
    .sort((a, b) => b.count - a.count)
    .slice(0, 10)
    .map(({ value, count }) => ({ value, count }));
  const reference = p.counts;

  const chi = chiSquareHomogeneity(reference, current);
  const stats: Statistics = {
    chi2: chi.statistic,
    chi2_pvalue: chi.pValue,
    chi2_dof: chi.dof,
    psi: psi(reference, current),
    jensenshannon: jensenShannon(reference, current),
    linf: lInfinity(reference, current),
  };
  const hasRows = codes.length > 0 && ref.rowCount > 0;
  const cochran = hasRows && cochranHolds(reference, current);
  const auto: DriftTest = cochran ? 'chi2' : 'jensenshannon';
  const test = override ?? auto;
  let statistic = NaN;
  let pValue = NaN;
  let logP = NaN;
  let reason = 'nothing to compare: a side has no rows';
  if (!hasRows) {
    // Nothing to test.
  } else if (test === 'chi2') {
    statistic = chi.statistic;
    pValue = chi.pValue;
    logP = chi.logPValue;
    reason = cochran
      ? `chi-square over ${chi.dof + 1} categories`
      : `chi-square over ${chi.dof + 1} categories (expected counts too small for its approximation)`;
  } else if (test === 'psi' || test === 'jensenshannon' || test === 'linf') {
    const f = test === 'psi' ? psi : test === 'linf' ? lInfinity : jensenShannon;
    statistic = stats[test]!;
    pValue = resampledPValue(f, reference, current, statistic, o.draws, featureSeed(o.seed, ref.name));
    logP = Math.log(pValue);
    const name = test === 'psi' ? 'PSI' : test === 'linf' ? 'L-infinity' : 'Jensen-Shannon';
    reason =
      `${name} over the categories, Monte-Carlo p-value (${o.draws} draws)` +
      (override ? '' : ': expected counts too small for chi-square');
  } else {
    throw new DriftInputError(`test "${test}" does not apply to categorical feature "${ref.name}"`);
  }

  const separationLogP = Number.isNaN(logP)
    ? NaN
    : test === 'chi2'
      ? chiSquareSeparationLogP(reference, current)
      : Math.log(1 / (o.draws + 1));

  // Histogram: the first kept categories, the rest of them pooled with "other", then unseen and missing.
  const shown = Math.min(ref.categories.length, HISTOGRAM_CATEGORIES);
  const labels = ref.categories.slice(0, shown).map((c) => c);
  const pool = (counts: ArrayLike<number>): number[] => {
    const out = Array.from({ length: shown }, (_, i) => counts[i]!);
    let other = counts[layout.other]!;
    for (let i = shown; i < ref.categories.length; i++) other += counts[i]!;
    out.push(other, counts[layout.unseen]!, counts[layout.missing]!);
    return out;
  };
  labels.push('other', 'unseen', 'missing');
  const r = pool(reference);
  const c = pool(current);
  const keepIndex = labels.map((_, i) => i).filter((i) => i < shown || r[i]! + c[i]! > 0);
  return {
    feature: ref.name,
    kind: 'categorical',
    test: hasRows ? test : null,
    testChosen: override ? 'override' : 'auto',
    testReason: reason,
    statistic: orNull(statistic),
    testPValue: orNull(pValue),
    logP: Number.isNaN(logP) ? null : logP,
    separationLogP: Number.isNaN(separationLogP) ? null : separationLogP,
    ...finiteStats(stats),
    reference: { rows: ref.rowCount, missing: ref.missingCount },
    current: {
      rows: codes.length,
      missing,
      unseen: current[layout.unseen]!,
      ...(unseen.length > 0 ? { unseenCategories: unseen } : {}),
    },
    histogram: {
      labels: keepIndex.map((i) => labels[i]!),
      reference: keepIndex.map((i) => shares(r)[i]!),
      current: keepIndex.map((i) => shares(c)[i]!),
    },
  };
}

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
