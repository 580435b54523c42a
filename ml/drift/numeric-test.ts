/**
 * The test of a numeric feature in a window: one pass over its values into the reference's fine bins, then PSI,
 * Jensen-Shannon, KS and Wasserstein (exact on raw values up to `exactMaxRows`, binned above), and the chosen test's
 * p-value (see compare.ts for the choice).
 */
import type { DriftTest, ResolvedDriftOptions } from '../../domain/drift.js';
import type { NumericColumn } from '../frame.js';
import { formatNumber } from '../svg.js';
import { locate, type BinLocator } from './buckets.js';
import {
  chiSquareSeparationLogP,
  DriftInputError,
  featureSeed,
  finiteStats,
  orNull,
  shares,
  type Statistics,
  type Tested,
} from './feature-test.js';
import { ksPValue, ksTwoSampleBinned, ksTwoSampleSorted } from './ks.js';
import type { PreparedNumeric } from './prepare.js';
import type { NumericDriftReference } from './reference.js';
import { resampledPValue } from './resample.js';
import {
  chiSquareHomogeneity,
  jensenShannon,
  psi,
  wassersteinBinned,
  wassersteinSorted,
} from './statistics.js';

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

export function testNumeric(
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
