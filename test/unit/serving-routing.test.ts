import { describe, expect, it } from 'vitest';
import { hash32, route, stickyBucket } from '../../domain/routing.js';

describe('routing a row of a deployment', () => {
  const deployment = { champion: 1, challenger: 2, challengerWeight: 0.25, shadow: false };

  it('sends a draw below the weight to the challenger and the rest to the champion', () => {
    expect(route(deployment, 0.1)).toEqual({ arm: 'challenger', shadow: false });
    expect(route(deployment, 0.25)).toEqual({ arm: 'champion', shadow: false });
    expect(route({ ...deployment, shadow: true }, 0.9)).toEqual({ arm: 'champion', shadow: true });
    expect(route({ ...deployment, challenger: null, challengerWeight: 0 }, 0)).toEqual({
      arm: 'champion',
      shadow: false,
    });
    // No champion: the challenger is the only version there is.
    expect(route({ ...deployment, champion: null }, 0.99)).toEqual({ arm: 'challenger', shadow: false });
  });

  it('hashes UTF-8 bytes with FNV-1a and a murmur3 finish, the same for any string encoding in JavaScript', () => {
    expect(hash32('')).toBe(hash32(''));
    expect(hash32('customer-1')).not.toBe(hash32('customer-2'));
    // A character outside the BMP hashes as its four UTF-8 bytes, not as two UTF-16 halves.
    expect(hash32('\u{1F600}')).not.toBe(hash32('\uD83D'));
    expect(hash32('é')).toBe(hash32('\u00e9'));
    expect(Number.isInteger(hash32('x')) && hash32('x') >= 0 && hash32('x') < 2 ** 32).toBe(true);
  });

  it('spreads sticky callers uniformly and keeps a caller in the challenger as its weight grows', () => {
    const buckets = Array.from({ length: 20_000 }, (_, i) => stickyBucket('m', 2, `user-${i}`));
    const share = (w: number) => buckets.filter((b) => b < w).length / buckets.length;
    for (const w of [0.05, 0.25, 0.5]) expect(Math.abs(share(w) - w)).toBeLessThan(0.015);
    const at5 = new Set(buckets.flatMap((b, i) => (b < 0.05 ? [i] : [])));
    const at25 = new Set(buckets.flatMap((b, i) => (b < 0.25 ? [i] : [])));
    expect([...at5].every((i) => at25.has(i))).toBe(true);
    // A new challenger draws a new sample of callers.
    const next = Array.from({ length: 20_000 }, (_, i) => stickyBucket('m', 3, `user-${i}`));
    const both = next.filter((b, i) => b < 0.25 && buckets[i]! < 0.25).length / 20_000;
    expect(Math.abs(both - 0.0625)).toBeLessThan(0.01);
  });
});
