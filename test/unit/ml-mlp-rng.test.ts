import { describe, expect, it } from 'vitest';
import { createRng, permutation, rngFromState, shuffleInPlace, stratifiedHoldout } from '../../ml/rng.js';

describe('seeded rng', () => {
  it('gives the same stream for the same seed and another for another seed', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('continues exactly from a saved state', () => {
    const a = createRng(3);
    a.nextFloat();
    const saved = a.state();
    const expected = Array.from({ length: 10 }, () => a.nextFloat());
    const b = rngFromState(JSON.parse(JSON.stringify(saved)) as typeof saved);
    expect(Array.from({ length: 10 }, () => b.nextFloat())).toEqual(expected);
  });

  it('draws floats in [0, 1) and unbiased-looking integers', () => {
    const rng = createRng(11);
    const counts = [0, 0, 0];
    let outside = 0;
    for (let i = 0; i < 30_000; i++) {
      const f = rng.nextFloat();
      if (!(f >= 0 && f < 1)) outside++;
      counts[rng.nextInt(3)]!++;
    }
    expect(outside).toBe(0);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('rejects bad seeds, states and bounds', () => {
    expect(() => createRng(NaN)).toThrow(/seed/);
    expect(() => rngFromState([0, 0, 0, 0])).toThrow(/all zeros/);
    expect(() => rngFromState([1, 2, 3] as never)).toThrow(/four uint32/);
    expect(() => createRng(1).nextInt(0)).toThrow(/positive integer/);
  });

  it('shuffles into a permutation, deterministically', () => {
    const p = permutation(50, createRng(5));
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(p)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(
      Array.from(
        shuffleInPlace(
          Int32Array.from({ length: 50 }, (_, i) => i),
          createRng(5),
        ),
      ),
    ).toEqual(Array.from(p));
  });

  it('holds out a stratified fraction', () => {
    const labels = Uint8Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const { train, holdout } = stratifiedHoldout(labels, 0.2, createRng(1));
    expect(train.length + holdout.length).toBe(200);
    expect(holdout.length).toBe(40);
    expect(Array.from(holdout).filter((i) => labels[i] === 1).length).toBe(10);
    expect(new Set([...train, ...holdout]).size).toBe(200);
    expect(() => stratifiedHoldout(labels, 1, createRng(1))).toThrow(/fraction/);
  });
});
