/**
 * The test of a categorical feature in a window: its categories counted into the reference's buckets (unseen ones
 * apart), then chi-square, PSI, Jensen-Shannon and L-infinity, and the chosen test's p-value (see compare.ts).
 */
import type { DriftTest, ResolvedDriftOptions } from '../../domain/drift.js';
import type { CategoricalColumn } from '../frame.js';
import { categoricalLayout, categoricalSlots } from './buckets.js';
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
import type { PreparedCategorical } from './prepare.js';
import { resampledPValue } from './resample.js';
import { chiSquareHomogeneity, jensenShannon, lInfinity, psi } from './statistics.js';

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

/** Categories shown in a categorical histogram before the rest are pooled. */
const HISTOGRAM_CATEGORIES = 15;

export function testCategorical(
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
