/**
 * Monte-Carlo p-values for the distance statistics (PSI, Jensen-Shannon, L-infinity, Wasserstein), which have no
 * exact null distribution: both sides are redrawn from the pooled bucket shares, as they would be if the window and
 * the reference came from one distribution (a two-sample parametric bootstrap of the permutation null), the
 * statistic recomputed, and p = (1 + #{null >= observed}) / (1 + draws) (Davison and Hinkley, "Bootstrap Methods
 * and their Application", 1997, section 4.2). A side with few rows per bucket is drawn value by value with
 * Walker's alias method (Vose, "A linear algorithm for generating random numbers with a given distribution", IEEE
 * TSE 17(9), 1991); a large one as a chain of binomials (multinomial), each binomial by inversion when its mean is
 * small and by the normal approximation when it is large.
 */
import { createRng, type Rng } from '../rng.js';

/** Binomial mean (of the rarer outcome) above which the normal approximation is used. */
const NORMAL_ABOVE = 30;

function normal(rng: Rng): number {
  const u = (rng.nextUint32() + 0.5) / 4294967296;
  const v = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Binomial(n, p) draw. */
export function binomial(rng: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const q = Math.min(p, 1 - p);
  let x: number;
  if (n * q < NORMAL_ABOVE) {
    // Inversion: walk the CDF from 0 with pmf(k + 1) = pmf(k) (n - k) / (k + 1) q / (1 - q).
    const ratio = q / (1 - q);
    let pmf = (1 - q) ** n;
    let u = rng.nextFloat();
    x = 0;
    while (u > pmf && x < n) {
      u -= pmf;
      pmf *= ((n - x) / (x + 1)) * ratio;
      x++;
    }
  } else {
    const mean = n * q;
    x = Math.round(mean + Math.sqrt(mean * (1 - q)) * normal(rng));
    x = Math.min(n, Math.max(0, x));
  }
  return q === p ? x : n - x;
}

/** A Multinomial(n, shares) draw into `out` (shares sum to 1). */
export function multinomial(rng: Rng, n: number, shares: Float64Array, out: Float64Array): void {
  let remaining = n;
  let mass = 1;
  const last = shares.length - 1;
  for (let i = 0; i <= last; i++) {
    if (remaining === 0 || i === last) {
      out[i] = i === last ? remaining : 0;
      continue;
    }
    const p = mass > 0 ? Math.min(1, shares[i]! / mass) : 1;
    const x = binomial(rng, remaining, p);
    out[i] = x;
    remaining -= x;
    mass -= shares[i]!;
  }
}

/** Walker/Vose alias tables for drawing bucket indices with the given shares in O(1) each. */
export function aliasTable(shares: Float64Array): { probability: Float64Array; alias: Int32Array } {
  const k = shares.length;
  const probability = new Float64Array(k);
  const alias = new Int32Array(k);
  const scaled = Float64Array.from(shares, (p) => p * k);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large.pop()!;
    probability[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) {
    probability[i] = 1;
    alias[i] = i;
  }
  return { probability, alias };
}

/** Rows per bucket below which a side is drawn value by value rather than as a chain of binomials. */
const DIRECT_PER_BUCKET = 50;

function draw(
  rng: Rng,
  n: number,
  shares: Float64Array,
  table: { probability: Float64Array; alias: Int32Array },
  out: Float64Array,
): void {
  const k = shares.length;
  if (n > DIRECT_PER_BUCKET * k) {
    multinomial(rng, n, shares, out);
    return;
  }
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const u = rng.nextFloat() * k;
    const j = Math.floor(u);
    out[u - j < table.probability[j]! ? j : table.alias[j]!]!++;
  }
}

/**
 * The Monte-Carlo p-value of `observed` = statistic(reference, current) under the pooled null, with `draws`
 * redraws from a generator seeded with `seed` (the same inputs give the same p-value).
 */
export function resampledPValue(
  statistic: (reference: Float64Array, current: Float64Array) => number,
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  observed: number,
  draws: number,
  seed: number,
): number {
  const k = reference.length;
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < k; i++) {
    nr += reference[i]!;
    nc += current[i]!;
  }
  if (!Number.isFinite(observed) || nr === 0 || nc === 0) return NaN;
  const shares = new Float64Array(k);
  for (let i = 0; i < k; i++) shares[i] = (reference[i]! + current[i]!) / (nr + nc);
  const rng = createRng(seed);
  const table = aliasTable(shares);
  const r = new Float64Array(k);
  const c = new Float64Array(k);
  const bar = observed - 1e-12 * Math.abs(observed);
  let atLeast = 0;
  for (let b = 0; b < draws; b++) {
    draw(rng, nr, shares, table, r);
    draw(rng, nc, shares, table, c);
    if (statistic(r, c) >= bar) atLeast++;
  }
  return (1 + atLeast) / (1 + draws);
}
