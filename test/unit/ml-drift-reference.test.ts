import { describe, expect, it } from 'vitest';
import { binLocator, fineBin, locate } from '../../ml/drift/buckets.js';
import { prepareReference, DriftReferenceError } from '../../ml/drift/prepare.js';
import {
  buildDriftReference,
  nextDown,
  type CategoricalDriftReference,
  type NumericDriftReference,
} from '../../ml/drift/reference.js';
import { categorical, createRng, frameOf, normals, numeric } from './ml-drift-frames.js';

const rng = createRng(11);
const x = normals(rng, 5000, 10, 2);
x[3] = NaN;
x[4] = Infinity;
x[5] = -Infinity;
const city = categorical(
  'city',
  Array.from({ length: 5000 }, (_, i) => (i % 10 === 0 ? null : ['paris', 'lyon', 'nice', 'brest'][i % 4]!)),
);
const frame = frameOf(
  numeric('x', x),
  city,
  numeric(
    'id',
    Array.from({ length: 5000 }, (_, i) => i),
  ),
);

describe('buildDriftReference', () => {
  const ref = buildDriftReference(frame, { exclude: ['id'], sampleSize: 1000 });
  const num = ref.features[0] as NumericDriftReference;
  const cat = ref.features[1] as CategoricalDriftReference;

  it('is plain JSON: it survives a round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(ref))).toEqual(ref);
    expect(ref.features.map((f) => f.name)).toEqual(['x', 'city']);
  });

  it('bins numeric values between two outer bins that are empty in the reference', () => {
    expect(num.count).toBe(4997);
    expect(num.missingCount).toBe(1);
    expect(num.bins.edges[0]).toBe(nextDown(num.min!));
    expect(num.bins.edges.at(-1)).toBe(num.max);
    expect(num.bins.counts.length).toBe(num.bins.edges.length + 1);
    // The infinities sit in the outer bins; the finite values in the 10 quantile bins between.
    expect(num.bins.counts[0]).toBe(1);
    expect(num.bins.counts.at(-1)).toBe(1);
    expect(num.bins.counts.slice(1, -1).every((c) => c >= 490 && c <= 510)).toBe(true);
    expect(num.fine.counts.reduce((a, b) => a + b, 0)).toBe(4997);
    expect(num.fine.counts[0]).toBe(0);
    expect(num.fine.counts.at(-1)).toBe(0);
    // Every coarse edge is a fine edge, so one pass over a window fills both.
    for (const e of num.bins.edges) expect(num.fine.edges).toContain(e);
  });

  it('keeps a bounded sorted sample of evenly spaced order statistics', () => {
    expect(num.sample.length).toBe(1000);
    expect(num.sampled).toBe(true);
    expect([...num.sample].sort((a, b) => a - b)).toEqual(num.sample);
    expect(num.sample[0]).toBeGreaterThanOrEqual(num.min!);
    expect(Math.abs(num.sample[500]! - 10)).toBeLessThan(0.15);
    expect(num.spread).toBeCloseTo(num.std!, 12);
    expect(num.std!).toBeGreaterThan(1.9);
  });

  it('keeps category frequencies, most frequent first, with the missing count', () => {
    expect(cat.categories).toEqual(['brest', 'lyon', 'nice', 'paris']);
    expect(cat.counts.reduce((a, b) => a + b, 0) + cat.missingCount).toBe(5000);
    expect(cat.missingCount).toBe(500);
    const capped = buildDriftReference(frameOf(city), { maxCategories: 2 })
      .features[0] as CategoricalDriftReference;
    expect(capped.categories).toHaveLength(2);
    expect(capped.otherDistinct).toBe(2);
    expect(capped.otherCount + capped.counts.reduce((a, b) => a + b, 0)).toBe(4500);
  });

  it('gives a constant feature three bins: below, at and above the constant', () => {
    const c = buildDriftReference(frameOf(numeric('c', new Array(300).fill(0.003467))), {
      calibration: 'permutation',
    }).features[0] as NumericDriftReference;
    expect(c.bins.edges).toEqual([nextDown(0.003467), 0.003467]);
    expect(c.bins.counts).toEqual([0, 300, 0]);
    expect(c.spread).toBe(0);
  });

  it('handles an all-missing feature and an empty frame', () => {
    const m = buildDriftReference(frameOf(numeric('m', [NaN, NaN, NaN])))
      .features[0] as NumericDriftReference;
    expect(m.count).toBe(0);
    expect(m.bins).toEqual({ edges: [], counts: [0] });
    expect(m.sample).toEqual([]);
    expect(m.mean).toBeNull();
    const e = buildDriftReference(frameOf(numeric('e', [])));
    expect(e.rowCount).toBe(0);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });

  it('records the chunk calibration, or falls back to permutation when the reference is short', () => {
    expect(ref.calibration.method).toBe('chunks');
    expect(ref.calibration.chunkRows).toEqual([50, 100, 200, 400]);
    expect(num.inflation).toHaveLength(4);
    const short = buildDriftReference(frameOf(numeric('s', [1, 2, 3, 4, 5])));
    expect(short.calibration).toEqual({ method: 'permutation', chunkRows: [] });
  });

  it('refuses bad options and unknown excluded columns, naming them', () => {
    expect(() => buildDriftReference(frame, { bins: 1 })).toThrow(
      /bins must be an integer from 2 to 100, got 1/,
    );
    expect(() => buildDriftReference(frame, { bins: 10, fineBins: 105 })).toThrow(/multiple of bins/);
    expect(() => buildDriftReference(frame, { exclude: ['nope'] })).toThrow(
      /"nope".*columns are: x, city, id/,
    );
    expect(() => buildDriftReference(frame, { exclude: ['x', 'city', 'id'] })).toThrow(/no columns left/);
  });
});

describe('prepareReference', () => {
  const ref = buildDriftReference(frame, { exclude: ['id'] });

  it('turns a reference into typed arrays once', () => {
    expect(prepareReference(ref)).toBe(prepareReference(ref));
  });

  it('refuses a damaged reference with the feature and the problem', () => {
    const damaged = JSON.parse(JSON.stringify(ref)) as {
      features: { fine: { edges: number[] } }[];
    } & typeof ref;
    damaged.features[0]!.fine.edges.reverse();
    expect(() => prepareReference(damaged)).toThrow(DriftReferenceError);
    expect(() => prepareReference(damaged)).toThrow(/feature "x": fine.edges are not strictly increasing/);
    expect(() => prepareReference({ ...ref, version: 2 as 1 })).toThrow(/not a drift reference of version 1/);
  });
});

describe('binLocator', () => {
  it('finds the same bin as a binary search, on edges and between them, for skewed and discrete data', () => {
    const r = createRng(4);
    for (const transform of [
      (z: number) => z,
      (z: number) => Math.exp(2 * z),
      (z: number) => (1 - 0.5 * (1 + Math.tanh(z))) ** -3,
      (z: number) => Math.round(3 * z),
    ]) {
      const values = Float64Array.from(normals(r, 20_000), transform);
      const ref = buildDriftReference(frameOf(numeric('v', values)), { calibration: 'permutation' });
      const edges = Float64Array.from((ref.features[0] as NumericDriftReference).fine.edges);
      const locator = binLocator(edges);
      const probes = [
        ...Float64Array.from(normals(r, 5000), transform),
        ...edges,
        ...edges.map((e) => e + Math.abs(e) * 1e-15 + 1e-300),
        ...edges.map(nextDown),
        -Infinity,
        Infinity,
        edges[0]! - 1,
      ];
      for (const x of probes)
        if (locate(locator, x) !== fineBin(edges, x)) throw new Error(`bin of ${x} differs`);
    }
  });
});
