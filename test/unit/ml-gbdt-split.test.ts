import { describe, expect, it } from 'vitest';
import { MISSING_BIN } from '../../ml/gbdt/binning.js';
import { FEATURE_SPAN, subtractHistogram } from '../../ml/gbdt/histogram.js';
import type { FeatureMeta } from '../../ml/gbdt/split.js';
import { findBestSplit, nodeValue } from '../../ml/gbdt/split.js';

/** A one-feature histogram from per-bin [gradient sum, hessian sum, count]. */
function histogram(bins: Record<number, [number, number, number]>): Float64Array {
  const hist = new Float64Array(FEATURE_SPAN);
  for (const [b, [g, h, n]] of Object.entries(bins)) hist.set([g, h, n], Number(b) * 3);
  return hist;
}

function totals(hist: Float64Array): { g: number; h: number; n: number; value: number } {
  let g = 0;
  let h = 0;
  let n = 0;
  for (let j = 0; j < FEATURE_SPAN; j += 3) {
    g += hist[j]!;
    h += hist[j + 1]!;
    n += hist[j + 2]!;
  }
  return { g, h, n, value: nodeValue(g, h, 0) };
}

const meta = (nBins: number, hasMissing: boolean, categorical: boolean): FeatureMeta => ({
  nBins: Int32Array.of(nBins),
  hasMissing: Uint8Array.of(hasMissing ? 1 : 0),
  categorical: Uint8Array.of(categorical ? 1 : 0),
});
const loose = { minSamplesLeaf: 1, minHessianToSplit: 1e-3, l2Regularization: 0 };
const features = Int32Array.of(0);

describe('findBestSplit', () => {
  it('splits a numeric feature where the gradient sign changes, with the XGBoost gain', () => {
    const hist = histogram({ 0: [-10, 5, 20], 1: [-8, 5, 20], 2: [9, 5, 20], 3: [11, 5, 20] });
    const s = findBestSplit(hist, features, meta(4, false, false), totals(hist), loose)!;
    expect(s.binThreshold).toBe(1);
    expect(s.missingLeft).toBe(false);
    expect(s.nLeft).toBe(40);
    // loss(node) - loss(left) - loss(right) with loss = G * (-G / H)
    expect(s.gain).toBeCloseTo(-(2 * 2) / 20 + (18 * 18) / 10 + (20 * 20) / 10, 9);
  });

  it('learns to send missing values left when they behave like the low bins', () => {
    const hist = histogram({ 0: [-10, 5, 20], 1: [9, 5, 20], 2: [11, 5, 20], [MISSING_BIN]: [-12, 5, 20] });
    const s = findBestSplit(hist, features, meta(3, true, false), totals(hist), loose)!;
    expect(s.binThreshold).toBe(0);
    expect(s.missingLeft).toBe(true);
    expect(s.nLeft).toBe(40);
  });

  it('can split missing against everything else', () => {
    const hist = histogram({ 0: [5, 5, 20], 1: [5, 5, 20], [MISSING_BIN]: [-10, 5, 20] });
    const s = findBestSplit(hist, features, meta(2, true, false), totals(hist), loose)!;
    expect(s.binThreshold).toBe(1);
    expect(s.missingLeft).toBe(false);
    expect(s.nRight).toBe(20);
  });

  it('respects minSamplesLeaf and returns null when no split qualifies', () => {
    const hist = histogram({ 0: [-10, 5, 5], 1: [10, 5, 50] });
    expect(
      findBestSplit(hist, features, meta(2, false, false), totals(hist), { ...loose, minSamplesLeaf: 10 }),
    ).toBeNull();
    expect(findBestSplit(hist, features, meta(2, false, false), totals(hist), loose)).not.toBeNull();
  });

  it('groups categories by gradient/hessian ratio rather than by code', () => {
    // Codes 0 and 2 push one way, 1 and 3 the other: no single threshold on the codes separates them.
    const hist = histogram({ 0: [-10, 5, 20], 1: [10, 5, 20], 2: [-9, 5, 20], 3: [11, 5, 20] });
    const s = findBestSplit(hist, features, meta(4, false, true), totals(hist), loose)!;
    expect(s.leftBins).not.toBeNull();
    const left = new Set(s.leftBins);
    expect(left.has(0) === left.has(2)).toBe(true);
    expect(left.has(1) === left.has(3)).toBe(true);
    expect(left.has(0) !== left.has(1)).toBe(true);
    expect(s.nLeft).toBe(40);
  });

  it('ignores categories with too little support', () => {
    const hist = histogram({ 0: [-10, 5, 20], 1: [10, 5, 20], 2: [-3, 0.5, 2] });
    const s = findBestSplit(hist, features, meta(3, false, true), totals(hist), loose)!;
    expect(s.leftBins).not.toContain(2);
  });
});

describe('subtractHistogram', () => {
  it('gives the sibling as parent minus child on used bins and the missing bin', () => {
    const parent = histogram({ 0: [3, 2, 4], 1: [1, 1, 2], [MISSING_BIN]: [2, 2, 2] });
    const child = histogram({ 0: [1, 1, 1], [MISSING_BIN]: [2, 1, 1] });
    const out = new Float64Array(FEATURE_SPAN);
    subtractHistogram(out, parent, child, features, Int32Array.of(2));
    expect([...out.subarray(0, 6)]).toEqual([2, 1, 3, 1, 1, 2]);
    expect([...out.subarray(MISSING_BIN * 3)]).toEqual([0, 1, 1]);
  });
});
