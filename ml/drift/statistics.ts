/**
 * Distances between a reference and a current distribution, from their definitions. Distributions are counts per
 * bucket (bins or categories) in the same order on both sides; shares are counts over their side's total.
 */
import { chiSquareLogSf } from './special.js';

/** The share below which PSI counts a bucket's share as this value, so an empty bucket does not give infinity. */
export const PSI_EPSILON = 1e-4;

function total(counts: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i]!;
  return s;
}

/**
 * Population stability index: sum over buckets of (c - r) ln(c / r), r and c the reference and current shares,
 * each raised to at least `epsilon` (Yurdakul and Naranjo, "Statistical properties of the population stability
 * index", Journal of Risk Model Validation 14(4), 2020). 0 for equal shares; NaN if a side is empty.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  const nr = total(reference);
  const nc = total(current);
  if (nr === 0 || nc === 0) return NaN;
  let s = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]! / nr, epsilon);
    const c = Math.max(current[i]! / nc, epsilon);
    s += (c - r) * Math.log(c / r);
  }
  return s;
}

/**
 * Jensen-Shannon distance in bits: the square root of JSD(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2
 * and base-2 logarithms (Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37(1),
 * 1991; Endres and Schindelin 2003 for the square root being a metric). In [0, 1]. SciPy's
 * `jensenshannon(p, q, base=2)`.
 */
export function jensenShannon(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const nr = total(reference);
  const nc = total(current);
  if (nr === 0 || nc === 0) return NaN;
  let s = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]! / nr;
    const q = current[i]! / nc;
    const m = (p + q) / 2;
    if (p > 0) s += p * Math.log(p / m);
    if (q > 0) s += q * Math.log(q / m);
  }
  return Math.sqrt(Math.max(0, s / 2 / Math.LN2));
}

/** L-infinity (Chebyshev) distance between the two share vectors: the largest change of any bucket's share. */
export function lInfinity(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const nr = total(reference);
  const nc = total(current);
  if (nr === 0 || nc === 0) return NaN;
  let d = 0;
  for (let i = 0; i < reference.length; i++) d = Math.max(d, Math.abs(reference[i]! / nr - current[i]! / nc));
  return d;
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pValue: number;
  /** ln pValue, finite where pValue underflows to 0 (what the calibration needs). */
  readonly logPValue: number;
  readonly dof: number;
}

/**
 * Pearson's chi-square test of homogeneity on the 2 x K table (reference counts; current counts): sum of
 * (O - E)^2 / E with E = row total x column total / grand total, K - 1 degrees of freedom, buckets empty on both
 * sides left out. With one degree of freedom Yates' continuity correction is applied, (|O - E| - 1/2)^2 / E with
 * the 1/2 capped at |O - E| (Yates 1934), as SciPy's `chi2_contingency` does by default. With one bucket there is
 * nothing to test: statistic 0, p-value 1.
 */
export function chiSquareHomogeneity(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
): ChiSquareResult {
  const nr = total(reference);
  const nc = total(current);
  if (nr === 0 || nc === 0) return { statistic: NaN, pValue: NaN, logPValue: NaN, dof: 0 };
  const n = nr + nc;
  let columns = 0;
  for (let i = 0; i < reference.length; i++) if (reference[i]! + current[i]! > 0) columns++;
  const dof = columns - 1;
  if (dof <= 0) return { statistic: 0, pValue: 1, logPValue: 0, dof: 0 };
  let s = 0;
  for (let i = 0; i < reference.length; i++) {
    const col = reference[i]! + current[i]!;
    if (col === 0) continue;
    for (const [observed, rowTotal] of [
      [reference[i]!, nr],
      [current[i]!, nc],
    ] as const) {
      const expected = (rowTotal * col) / n;
      let diff = Math.abs(observed - expected);
      if (dof === 1) diff -= Math.min(0.5, diff);
      s += (diff * diff) / expected;
    }
  }
  const logPValue = chiSquareLogSf(s, dof);
  return { statistic: s, pValue: Math.exp(logPValue), logPValue, dof };
}

/**
 * First Wasserstein distance between two ascending, finite samples: the integral of |F1(x) - F2(x)| over x
 * (Vallender, "Calculation of the Wasserstein distance between probability distributions on the line", Theory
 * Probab. Appl. 18(4), 1974). SciPy's `wasserstein_distance(u, v)`.
 */
export function wassersteinSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return NaN;
  let i = 0;
  let j = 0;
  let x = Math.min(a[0]!, b[0]!);
  let s = 0;
  while (i < n1 || j < n2) {
    while (i < n1 && a[i]! <= x) i++;
    while (j < n2 && b[j]! <= x) j++;
    if (i === n1 && j === n2) break;
    const next = Math.min(i < n1 ? a[i]! : Infinity, j < n2 ? b[j]! : Infinity);
    s += Math.abs(i / n1 - j / n2) * (next - x);
    x = next;
  }
  return s;
}

/**
 * The first Wasserstein distance between two binned samples, each bin's share spread evenly over the bin, so both
 * CDFs are piecewise linear between `bounds` (length bins + 1, ascending; bins may be empty) and |F1 - F2| is
 * integrated exactly on each bin. An approximation of `wassersteinSorted` within one bin's width of mass.
 */
export function wassersteinBinned(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  bounds: ArrayLike<number>,
): number {
  const nr = total(reference);
  const nc = total(current);
  if (nr === 0 || nc === 0) return NaN;
  let cr = 0;
  let cc = 0;
  let s = 0;
  for (let k = 0; k < reference.length; k++) {
    const d0 = cr / nr - cc / nc;
    cr += reference[k]!;
    cc += current[k]!;
    const d1 = cr / nr - cc / nc;
    const width = bounds[k + 1]! - bounds[k]!;
    if (!(width > 0)) continue;
    // The integral of |linear from d0 to d1| over the bin; where the sign changes, two triangles.
    s +=
      d0 * d1 >= 0
        ? (width * (Math.abs(d0) + Math.abs(d1))) / 2
        : (width * (d0 * d0 + d1 * d1)) / (2 * (Math.abs(d0) + Math.abs(d1)));
  }
  return s;
}
