// Seeded pseudo-random numbers for trainers. xoshiro128** (Blackman and Vigna, https://prng.di.unimi.it/) has a
// 128-bit state that fits in a JSON array of four uint32, so a checkpoint can carry it and a resumed run draws
// exactly the numbers an uninterrupted run would have drawn.

/** Four uint32 words; JSON-serializable. */
export type RngState = [number, number, number, number];

export interface Rng {
  /** A uniform uint32. */
  nextUint32(): number;
  /** A uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
  /** A uniform integer in [0, n). */
  nextInt(n: number): number;
  /** The current state, to save in a checkpoint and restore with `rngFromState`. */
  state(): RngState;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A generator seeded from a 32-bit integer (other numbers are reduced modulo 2^32). The seed goes through
 * splitmix32, so nearby seeds give unrelated streams and the state is never all zeros.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng seed must be a finite number, got ${seed}`);
  const next = splitmix32(Math.trunc(seed));
  return rngFromState([next(), next(), next(), next()]);
}

/** Restores a generator from `rng.state()`. */
export function rngFromState(state: RngState): Rng {
  if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
    throw new Error('rng state must be four uint32 words');
  }
  if (state.every((w) => w === 0)) throw new Error('rng state must not be all zeros');
  let [s0, s1, s2, s3] = state;
  const nextUint32 = (): number => {
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  };
  return {
    nextUint32,
    nextFloat: () => nextUint32() / 4294967296,
    nextInt(n) {
      if (!Number.isInteger(n) || n <= 0) throw new Error(`nextInt needs a positive integer bound, got ${n}`);
      // Rejection sampling keeps the draw unbiased for bounds that do not divide 2^32.
      const limit = 4294967296 - (4294967296 % n);
      let x = nextUint32();
      while (x >= limit) x = nextUint32();
      return x % n;
    },
    state: () => [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0],
  };
}

/** Fisher-Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(array: T, rng: Rng): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = array[i]!;
    array[i] = array[j]!;
    array[j] = tmp;
  }
  return array;
}

/** A shuffled permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffleInPlace(out, rng);
}

/**
 * Splits row indices 0..n-1 into a training part and a holdout of about `fraction` of the rows, keeping the class
 * proportions of `labels` in both (each class with at least two rows gives at least one holdout row).
 * Both index lists come back sorted ascending.
 */
export function stratifiedHoldout(
  labels: Uint8Array,
  fraction: number,
  rng: Rng,
): { train: Int32Array; holdout: Int32Array } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`holdout fraction must be in (0, 1), got ${fraction}`);
  const train: number[] = [];
  const holdout: number[] = [];
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) rows.push(i);
    shuffleInPlace(rows, rng);
    const take =
      rows.length < 2 ? 0 : Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * fraction)));
    holdout.push(...rows.slice(0, take));
    train.push(...rows.slice(take));
  }
  return {
    train: Int32Array.from(train).sort(),
    holdout: Int32Array.from(holdout).sort(),
  };
}
