// Each drift statistic against SciPy's on the committed fixtures of test/fixtures/drift/generate.py (ties, constant
// inputs, unseen categories, exact and asymptotic KS). The bar is 1e-9, relative for values above 1.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kolmogorovSmirnovSf } from '../../ml/drift/kolmogorov.js';
import { ksStatisticSorted, ksTwoSampleBinned, ksTwoSampleSorted } from '../../ml/drift/ks.js';
import {
  chiSquareHomogeneity,
  jensenShannon,
  lInfinity,
  psi,
  wassersteinSorted,
} from '../../ml/drift/statistics.js';

interface KsCase {
  name: string;
  a: number[];
  b: number[];
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymptotic';
  wasserstein: number;
}
interface BinnedCase {
  name: string;
  countsA: number[];
  countsB: number[];
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymptotic';
}
interface TableCase {
  name: string;
  reference: number[];
  current: number[];
  chi2: number;
  chi2_pvalue: number;
  chi2_dof: number;
  jensenshannon: number;
  psi: number;
  linf: number;
}
const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/drift/scipy-parity.json', import.meta.url), 'utf8'),
) as {
  ks: KsCase[];
  binned: BinnedCase[];
  tables: TableCase[];
  kolmogorov: { n: number; x: number; sf: number }[];
};

function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

const sorted = (xs: number[]): Float64Array => Float64Array.from(xs).sort();

describe('two-sample KS equals scipy.stats.ks_2samp', () => {
  it.each(fixtures.ks.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const result = ksTwoSampleSorted(sorted(c.a), sorted(c.b));
    expect(result.method).toBe(c.method);
    expectClose(result.statistic, c.statistic);
    expectClose(result.pValue, c.pvalue);
    // Argument order does not matter.
    expectClose(ksStatisticSorted(sorted(c.b), sorted(c.a)), c.statistic);
  });

  it('covers exact and asymptotic p-values, ties, constants and the far tail', () => {
    expect(new Set(fixtures.ks.map((c) => c.method))).toEqual(new Set(['exact', 'asymptotic']));
    expect(fixtures.ks.some((c) => c.name.startsWith('ties'))).toBe(true);
    expect(fixtures.ks.some((c) => c.name.startsWith('constant'))).toBe(true);
    expect(fixtures.ks.some((c) => c.pvalue < 1e-12)).toBe(true);
    expect(fixtures.ks.some((c) => c.pvalue > 0.5)).toBe(true);
  });
});

describe('binned KS equals ks_2samp on the raw values when each value has its own bin', () => {
  it.each(fixtures.binned.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const result = ksTwoSampleBinned(c.countsA, c.countsB);
    expect(result.method).toBe(c.method);
    expectClose(result.statistic, c.statistic);
    expectClose(result.pValue, c.pvalue);
  });
});

describe('Wasserstein distance equals scipy.stats.wasserstein_distance', () => {
  it.each(fixtures.ks.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expectClose(wassersteinSorted(sorted(c.a), sorted(c.b)), c.wasserstein);
  });
});

describe('contingency statistics equal SciPy (chi2_contingency, jensenshannon base 2) and NumPy (PSI, L-inf)', () => {
  it.each(fixtures.tables.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const chi = chiSquareHomogeneity(c.reference, c.current);
    expectClose(chi.statistic, c.chi2);
    expectClose(chi.pValue, c.chi2_pvalue);
    expect(chi.dof).toBe(c.chi2_dof);
    expectClose(jensenShannon(c.reference, c.current), c.jensenshannon);
    expectClose(psi(c.reference, c.current), c.psi);
    expectClose(lInfinity(c.reference, c.current), c.linf);
  });
});

describe('one-sample KS distribution equals scipy.stats.kstwo.sf', () => {
  it('across exact, Pelz-Good, Ruben-Gambino and Smirnov regions', () => {
    expect(fixtures.kolmogorov.length).toBeGreaterThan(100);
    for (const { n, x, sf } of fixtures.kolmogorov) {
      const ours = kolmogorovSmirnovSf(n, x);
      if (Math.abs(ours - sf) > 1e-9) throw new Error(`n ${n}, x ${x}: ${ours} vs SciPy ${sf}`);
    }
  });
});
