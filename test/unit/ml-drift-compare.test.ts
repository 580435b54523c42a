import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareWindow, DriftInputError } from '../../ml/drift/compare.js';
import { holm } from '../../ml/drift/correction.js';
import { ksPValue, ksTwoSampleSorted } from '../../ml/drift/ks.js';
import { chiSquareHomogeneity } from '../../ml/drift/statistics.js';
import { buildDriftReference, type NumericDriftReference } from '../../ml/drift/reference.js';
import type { FeatureDrift } from '../../ml/drift/report.js';
import { categorical, createRng, frameOf, normals, numeric } from './ml-drift-frames.js';

const rng = createRng(5);
const byName = (features: readonly FeatureDrift[], name: string): FeatureDrift =>
  features.find((f) => f.feature === name)!;
const pick = (labels: string[], n: number, weights: number[]): string[] => {
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: n }, () => {
    let u = rng.nextFloat() * total;
    let i = 0;
    while (u >= weights[i]! && i < weights.length - 1) u -= weights[i++]!;
    return labels[i]!;
  });
};

const reference = buildDriftReference(
  frameOf(
    numeric('amount', normals(rng, 4000, 100, 15)),
    categorical('channel', pick(['web', 'app', 'store'], 4000, [5, 3, 2])),
  ),
);

describe('compareWindow: the JSON report', () => {
  const same = frameOf(
    numeric('amount', normals(rng, 800, 100, 15)),
    categorical('channel', pick(['web', 'app', 'store'], 800, [5, 3, 2])),
  );
  const report = compareWindow(reference, same);

  it('lists per feature its kind, verdict and each applicable statistic by name', () => {
    const amount = byName(report.features, 'amount');
    expect(amount).toMatchObject({
      feature: 'amount',
      kind: 'numeric',
      drift: false,
      test: 'ks',
      ks_method: 'exact',
    });
    for (const k of [
      'ks',
      'ks_pvalue',
      'wasserstein',
      'wasserstein_normalized',
      'jensenshannon',
      'psi',
    ] as const)
      expect(typeof amount[k]).toBe('number');
    expect(amount.chi2).toBeUndefined();
    const channel = byName(report.features, 'channel');
    expect(channel).toMatchObject({ feature: 'channel', kind: 'categorical', drift: false, test: 'chi2' });
    for (const k of ['chi2', 'chi2_pvalue', 'jensenshannon', 'linf', 'psi'] as const)
      expect(typeof channel[k]).toBe('number');
    expect(channel.ks).toBeUndefined();
  });

  it('records the threshold, the calibration method and the correction, and is plain JSON', () => {
    expect(report).toMatchObject({ version: 1, drift: false, alpha: 0.05, correction: 'holm' });
    expect(report.calibration.method).toBe('chunks');
    expect(report.calibration.description).toMatch(/chunks of 50, 100, 200, 400 rows/);
    for (const f of report.features) {
      expect(f.threshold).toBeGreaterThan(0);
      expect(f.drift).toBe(f.pValue! <= f.threshold!);
    }
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('is reproducible: the same window gives the same report', () => {
    expect(compareWindow(reference, same)).toEqual(report);
  });
});

describe('compareWindow: detection', () => {
  it('flags a shifted numeric feature and a changed category mix, and only those', () => {
    const report = compareWindow(
      reference,
      frameOf(
        numeric('amount', normals(rng, 800, 106, 15)),
        categorical('channel', pick(['web', 'app', 'store'], 800, [5, 3, 2])),
      ),
    );
    expect(report.driftedFeatures).toEqual(['amount']);
    const mix = compareWindow(
      reference,
      frameOf(
        numeric('amount', normals(rng, 800, 100, 15)),
        categorical('channel', pick(['web', 'app', 'store'], 800, [3, 3, 4])),
      ),
    );
    expect(mix.driftedFeatures).toEqual(['channel']);
  });

  it('counts a category the reference never had as a change, and names it', () => {
    const labels = pick(['web', 'app', 'store'], 800, [5, 3, 2]);
    for (let i = 0; i < 120; i++) labels[i] = i % 2 ? 'kiosk' : 'phone';
    const report = compareWindow(
      reference,
      frameOf(numeric('amount', normals(rng, 800, 100, 15)), categorical('channel', labels)),
    );
    const channel = byName(report.features, 'channel');
    expect(channel.drift).toBe(true);
    expect(channel.current.unseen).toBe(120);
    expect(channel.current.unseenCategories).toEqual([
      { value: 'kiosk', count: 60 },
      { value: 'phone', count: 60 },
    ]);
    expect(channel.histogram.labels).toContain('unseen');
  });

  it('flags a jump in the missing share even when the values keep their distribution', () => {
    const values = normals(rng, 800, 100, 15);
    for (let i = 0; i < 160; i++) values[i * 5] = NaN;
    const report = compareWindow(
      reference,
      frameOf(
        numeric('amount', values),
        categorical('channel', pick(['web', 'app', 'store'], 800, [5, 3, 2])),
      ),
    );
    const amount = byName(report.features, 'amount');
    expect(amount.ks_pvalue).toBeGreaterThan(0.01);
    expect(amount.missing_pvalue).toBeLessThan(1e-10);
    expect(amount.drift).toBe(true);
  });

  it('measures prediction drift with the same machinery on a score column', () => {
    const scores = Float64Array.from(normals(rng, 3000, 0, 1), (z) => 1 / (1 + Math.exp(-z)));
    const ref = buildDriftReference(frameOf(numeric('score', scores)));
    const stable = Float64Array.from(normals(rng, 500, 0, 1), (z) => 1 / (1 + Math.exp(-z)));
    const shifted = Float64Array.from(normals(rng, 500, 0.4, 1), (z) => 1 / (1 + Math.exp(-z)));
    expect(compareWindow(ref, frameOf(numeric('score', stable))).drift).toBe(false);
    expect(compareWindow(ref, frameOf(numeric('score', shifted))).driftedFeatures).toEqual(['score']);
  });
});

describe('compareWindow: degenerate references still detect a change', () => {
  it('a constant feature: the same constant is fine, a spread of values is drift', () => {
    const ref = buildDriftReference(frameOf(numeric('c', new Array(2000).fill(0.003467))));
    const constant = compareWindow(ref, frameOf(numeric('c', new Array(300).fill(0.003467))));
    expect(constant.drift).toBe(false);
    expect(byName(constant.features, 'c').ks).toBe(0);
    const spread = compareWindow(ref, frameOf(numeric('c', normals(rng, 300, 0.003467, 0.001))));
    const c = byName(spread.features, 'c');
    expect(c.drift).toBe(true);
    expect(c.psi).toBeGreaterThan(1);
    // Half below and half above the constant: the outer bins hold the change.
    expect(c.histogram.current[0]).toBeGreaterThan(0.3);
    expect(c.histogram.current[2]).toBeGreaterThan(0.3);
  });

  it('a single category: a second one is drift', () => {
    const ref = buildDriftReference(frameOf(categorical('k', new Array(1000).fill('a'))));
    expect(compareWindow(ref, frameOf(categorical('k', new Array(200).fill('a')))).drift).toBe(false);
    const mixed = compareWindow(ref, frameOf(categorical('k', pick(['a', 'b'], 200, [9, 1]))));
    expect(mixed.drift).toBe(true);
  });

  it('an all-missing feature: values arriving is drift; still all missing is not', () => {
    const numRef = buildDriftReference(frameOf(numeric('m', new Array(1000).fill(NaN))));
    expect(compareWindow(numRef, frameOf(numeric('m', new Array(100).fill(NaN)))).drift).toBe(false);
    const arrived = compareWindow(numRef, frameOf(numeric('m', normals(rng, 100))));
    expect(byName(arrived.features, 'm')).toMatchObject({ drift: true, test: 'chi2' });
    const catRef = buildDriftReference(frameOf(categorical('k', new Array(1000).fill(null))));
    expect(compareWindow(catRef, frameOf(categorical('k', pick(['a', 'b'], 100, [1, 1])))).drift).toBe(true);
  });
});

describe('compareWindow: test choice', () => {
  it('uses exact KS up to exactMaxRows values and binned KS above, the two close', () => {
    const window = frameOf(
      numeric('amount', normals(rng, 3000, 100.5, 15)),
      categorical('channel', pick(['web', 'app', 'store'], 3000, [5, 3, 2])),
    );
    const exact = byName(compareWindow(reference, window).features, 'amount');
    const binned = byName(compareWindow(reference, window, { exactMaxRows: 1000 }).features, 'amount');
    expect(exact.ks_method).toBe('exact');
    expect(binned.ks_method).toBe('binned');
    expect(binned.testReason).toMatch(/fine bins/);
    expect(Math.abs(exact.ks! - binned.ks!)).toBeLessThan(0.01);
    expect(Math.abs(exact.wasserstein! - binned.wasserstein!)).toBeLessThan(0.05 * exact.wasserstein! + 0.05);
  });

  it('gives the exact KS of the reference sample against the window values', () => {
    const values = normals(rng, 600, 101, 15);
    const ref = buildDriftReference(frameOf(numeric('v', normals(rng, 1500, 100, 15))));
    const f = byName(compareWindow(ref, frameOf(numeric('v', values))).features, 'v');
    const direct = ksTwoSampleSorted(
      Float64Array.from((ref.features[0] as NumericDriftReference).sample),
      Float64Array.from(values).sort(),
    );
    expect(f.ks).toBe(direct.statistic);
    expect(f.ks_pvalue).toBe(direct.pValue);
  });

  it('falls back from chi-square to Jensen-Shannon when expected counts are too small', () => {
    const report = compareWindow(
      reference,
      frameOf(
        numeric('amount', normals(rng, 12, 100, 15)),
        categorical('channel', pick(['web', 'app', 'store'], 12, [5, 3, 2])),
      ),
    );
    const channel = byName(report.features, 'channel');
    expect(channel.test).toBe('jensenshannon');
    expect(channel.testReason).toMatch(/Monte-Carlo p-value \(999 draws\): expected counts too small/);
    expect(channel.pValue).toBeGreaterThan(0.001);
  });

  it('takes a test per feature, and refuses one that does not apply', () => {
    const window = frameOf(
      numeric('amount', normals(rng, 500, 100, 15)),
      categorical('channel', pick(['web', 'app', 'store'], 500, [5, 3, 2])),
    );
    const report = compareWindow(reference, window, { tests: { amount: 'psi', channel: 'linf' } });
    expect(byName(report.features, 'amount')).toMatchObject({ test: 'psi', testChosen: 'override' });
    expect(byName(report.features, 'amount').statistic).toBe(byName(report.features, 'amount').psi);
    expect(byName(report.features, 'channel')).toMatchObject({ test: 'linf', testChosen: 'override' });
    expect(() =>
      compareWindow(reference, window, { tests: { channel: 'ks', amount: 'linf', nope: 'psi' } }),
    ).toThrow(
      /tests.channel: "ks" does not apply to a categorical feature.*tests.amount: "linf" does not apply to a numeric feature.*"nope"/,
    );
  });

  it('refuses a window whose columns do not match, listing every problem', () => {
    const wrong = frameOf(categorical('amount', ['1', '2']));
    expect(() => compareWindow(reference, wrong)).toThrow(DriftInputError);
    expect(() => compareWindow(reference, wrong)).toThrow(
      /column "amount" is categorical, the reference's is numeric; column "channel" is missing/,
    );
  });

  it('reports a window without rows as not tested', () => {
    const report = compareWindow(reference, frameOf(numeric('amount', []), categorical('channel', [])));
    expect(report.drift).toBe(false);
    expect(report.features.map((f) => f.test)).toEqual([null, null]);
  });
});

describe('holm', () => {
  it('matches the step-down procedure and its adjusted p-values', () => {
    // Holm (1979): sorted 0.01, 0.02, 0.03, 0.2 against 0.05/4, 0.05/3, 0.05/2, 0.05.
    const r = holm([0.03, 0.01, 0.2, 0.02], 0.05);
    expect(r.reject).toEqual([false, true, false, false]);
    expect(r.adjusted.map((p) => Number(p.toFixed(10)))).toEqual([0.06, 0.04, 0.2, 0.06]);
    // Every input: reject <=> p <= level.
    [0.03, 0.01, 0.2, 0.02].forEach((p, i) => expect(p <= r.level[i]!).toBe(r.reject[i]));
    expect(holm([0.001, 0.012, 0.04], 0.05).reject).toEqual([true, true, true]);
  });
});

describe('SciPy parity through the whole comparison', () => {
  const fixtures = JSON.parse(
    readFileSync(new URL('../fixtures/drift/scipy-parity.json', import.meta.url), 'utf8'),
  ) as {
    ks: { name: string; a: number[]; b: number[]; statistic: number; pvalue: number; wasserstein: number }[];
  };
  it.each(
    fixtures.ks
      .filter((c) => c.a.length >= 40 && c.a.length <= 10_000 && c.b.length <= 10_000)
      .map((c) => [c.name, c] as const),
  )('%s', (_, c) => {
    const ref = buildDriftReference(frameOf(numeric('v', c.a)), { calibration: 'permutation' });
    const f = byName(compareWindow(ref, frameOf(numeric('v', c.b)), { calibration: 'none' }).features, 'v');
    expect(Math.abs(f.ks! - c.statistic)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(f.ks_pvalue! - c.pvalue)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(f.wasserstein! - c.wasserstein)).toBeLessThanOrEqual(1e-9 * Math.max(1, c.wasserstein));
  });
});

describe('p-values far in the tail', () => {
  it('keep their logarithm where they underflow, so calibration does not turn every large change into drift', () => {
    const separated = ksPValue(1, 5000, 5000);
    expect(separated.pValue).toBe(0);
    expect(separated.logPValue).toBeLessThan(-4000);
    expect(Number.isFinite(separated.logPValue)).toBe(true);
    const chi = chiSquareHomogeneity([1e6, 0], [0, 1e6]);
    expect(chi.pValue).toBe(0);
    expect(chi.logPValue).toBeLessThan(-1e5);
    expect(Number.isFinite(chi.logPValue)).toBe(true);
  });

  it('so a strongly inflated feature needs a change beyond its usual variation to drift', () => {
    // Levels that wander in the reference: every stretch differs from the rest, and the inflation says how much.
    const levels = new Float64Array(20_000);
    for (let i = 0; i < levels.length; i++) levels[i] = Math.floor(i / 1000) + normals(rng, 1, 0, 0.3)[0]!;
    const ref = buildDriftReference(frameOf(numeric('level', levels)));
    const usual = compareWindow(ref, frameOf(numeric('level', levels.slice(5000, 5400))));
    const f = byName(usual.features, 'level');
    expect(f.testPValue).toBeLessThan(1e-50);
    expect(f.inflation).toBeGreaterThan(10);
    expect(f.drift).toBe(false);
    const beyond = compareWindow(
      ref,
      frameOf(
        numeric(
          'level',
          levels.slice(5000, 5400).map((x) => x + 40),
        ),
      ),
    );
    expect(byName(beyond.features, 'level').drift).toBe(true);
  });
});
