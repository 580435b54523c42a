import { describe, expect, it } from 'vitest';
import type { Column, Frame } from '../../ml/frame.js';
import { binIndex, quantileCuts, quantileSorted } from '../../ml/validation/binning.js';
import {
  buildReferenceProfile,
  countAgainstProfile,
  type NumericFeatureProfile,
} from '../../ml/validation/profile.js';

function numeric(name: string, values: number[]): Column {
  return { name, kind: 'numeric', values: Float64Array.from(values) };
}

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('quantile binning', () => {
  it('cuts at lower empirical quantiles, right-closed', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantileCuts(sorted, 4)).toEqual([3, 5, 8]);
    expect([0, 3, 3.5, 5, 8, 8.01, 100].map((x) => binIndex([3, 5, 8], x))).toEqual([0, 0, 1, 1, 2, 3, 3]);
    expect(binIndex([3, 5, 8], -Infinity)).toBe(0);
    expect(binIndex([3, 5, 8], Infinity)).toBe(3);
    expect(binIndex([3, 5, 8], NaN)).toBe(-1);
  });

  it('merges tied cuts and never leaves an empty bin', () => {
    const sorted = [...Array<number>(90).fill(0), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantileCuts(sorted, 10)).toEqual([0]);
    expect(quantileCuts([7, 7, 7], 5)).toEqual([]);
  });

  it('interpolates quantiles like NumPy', () => {
    // python3 -c "import numpy as np; print([repr(x) for x in np.quantile([1, 2, 4, 8], [0.25, 0.5, 0.9])],
    //   [repr(x) for x in np.quantile([0.1, 0.2, 0.7, 0.9], [0.1, 0.33, 0.77, 0.9])])"   (NumPy 2.4.6)
    expect([0.25, 0.5, 0.9].map((q) => quantileSorted([1, 2, 4, 8], q))).toEqual([
      1.75, 3, 6.800000000000001,
    ]);
    expect([0.1, 0.33, 0.77, 0.9].map((q) => quantileSorted([0.1, 0.2, 0.7, 0.9], q))).toEqual([
      0.13, 0.199, 0.762, 0.8400000000000001,
    ]);
  });
});

describe('buildReferenceProfile', () => {
  const random = mulberry(3);
  const n = 1000;
  const x = Array.from({ length: n }, (_, i) =>
    i % 50 === 0 ? NaN : i % 97 === 0 ? Infinity : Math.round(random() * 1000) / 10,
  );
  const cities = ['Oslo', 'Bergen', 'Tromsø', 'Bodø', 'Molde'];
  const codes = Int32Array.from({ length: n }, (_, i) =>
    i % 40 === 0 ? -1 : Math.floor(random() ** 2 * cities.length),
  );
  const frame: Frame = {
    rowCount: n,
    columns: [
      numeric('x', x),
      { name: 'city', kind: 'categorical', codes, categories: cities },
      numeric(
        'label',
        Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)),
      ),
    ],
  };

  it('gives numeric bins whose counts are exact, all non-empty, and sum with missing and infinite to the rows', () => {
    const profile = buildReferenceProfile(frame, { bins: 10, target: 'label' });
    const f = profile.features[0] as NumericFeatureProfile;
    expect(f.missingCount).toBe(20);
    expect(f.nonFiniteCount).toBe(x.filter((v) => v === Infinity).length);
    expect(f.count + f.missingCount + f.nonFiniteCount).toBe(n);
    expect(f.bins.counts.reduce((s, c) => s + c, 0)).toBe(f.count);
    expect(f.bins.counts.every((c) => c > 0)).toBe(true);
    expect(f.bins.cuts).toHaveLength(9);
    // Brute force: count each finite value into its bin by the documented rule.
    const brute = new Array<number>(10).fill(0);
    for (const v of x) {
      if (!Number.isFinite(v)) continue;
      let b = 0;
      while (b < f.bins.cuts.length && v > f.bins.cuts[b]!) b++;
      brute[b]!++;
    }
    expect(f.bins.counts).toEqual(brute);
    const finite = x.filter(Number.isFinite);
    const mean = finite.reduce((s, v) => s + v, 0) / finite.length;
    expect(f.mean).toBeCloseTo(mean, 10);
    expect(f.std).toBeCloseTo(Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / finite.length), 10);
    expect(f.min).toBe(Math.min(...finite));
    expect(profile.target?.name).toBe('label');
    expect(profile.features.map((p) => p.name)).toEqual(['x', 'city']);
  });

  it('gives categorical top-K with an other bucket that adds up', () => {
    const profile = buildReferenceProfile(frame, { topK: 2 });
    const city = profile.features[1]!;
    if (city.kind !== 'categorical') throw new Error('expected categorical');
    expect(city.top).toHaveLength(2);
    expect(city.top[0]!.count).toBeGreaterThanOrEqual(city.top[1]!.count);
    expect(city.missingCount).toBe(25);
    expect(city.top.reduce((s, t) => s + t.count, 0) + city.otherCount).toBe(city.count);
    expect(city.count + city.missingCount).toBe(n);
    expect(city.otherDistinct).toBe(city.distinct - 2);
  });

  it('is JSON-safe: no NaN or Infinity, even for an all-missing column', () => {
    const profile = buildReferenceProfile({
      rowCount: 3,
      columns: [numeric('gone', [NaN, NaN, NaN]), numeric('inf', [Infinity, 1, 2])],
    });
    const json = JSON.stringify(profile);
    expect(json).not.toMatch(/NaN|Infinity/);
    expect(JSON.parse(json)).toEqual(profile);
    expect(profile.features[0]).toMatchObject({ count: 0, mean: null, bins: { cuts: [], counts: [] } });
  });

  it('counts new data into the reference buckets (the actual side of a PSI)', () => {
    const profile = buildReferenceProfile(frame, { bins: 4, topK: 2 });
    const f = profile.features[0] as NumericFeatureProfile;
    const same = countAgainstProfile(f, frame.columns[0]!);
    expect(same.counts).toEqual(f.bins.counts);
    expect(same.missing).toBe(f.missingCount);
    const serving = countAgainstProfile(f, numeric('x', [-5, f.bins.cuts[0]!, 1e9, NaN, -Infinity]));
    expect(serving.counts).toEqual([2, 0, 0, 1]);
    expect(serving).toMatchObject({ missing: 1, nonFinite: 1 });
    const city = profile.features[1]!;
    const seen = countAgainstProfile(city, {
      name: 'city',
      kind: 'categorical',
      categories: ['Paris', city.kind === 'categorical' ? city.top[0]!.value : ''],
      codes: Int32Array.from([0, 1, 1, -1]),
    });
    expect(seen).toEqual({ counts: [2, 0, 1], missing: 1, nonFinite: 0 });
  });

  it('refuses nonsense options', () => {
    expect(() => buildReferenceProfile(frame, { bins: 1 })).toThrow(/bins/);
    expect(() => buildReferenceProfile(frame, { topK: 0 })).toThrow(/topK/);
  });
});
