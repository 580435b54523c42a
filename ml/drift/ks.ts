/**
 * The two-sample Kolmogorov-Smirnov test (two-sided): D = sup_x |F1(x) - F2(x)| over the right-continuous
 * empirical CDFs, and P(D >= d) when both samples come from one continuous distribution.
 *
 * p-values, as SciPy's `ks_2samp(method='auto')` defines them so the two agree:
 * - exact when both sizes are at most 10,000: the share of the C(n1 + n2, n1) equally likely merge orders (lattice
 *   paths from (0, 0) to (n1, n2)) that leave the band |i/n1 - j/n2| < d (Hodges, "The significance probability
 *   of the Smirnov two-sample test", Arkiv for Matematik 3, 1958), counted by dynamic programming over the band,
 *   or for equal sizes by the reflection principle;
 * - asymptotic above: the one-sample distribution of D_en with en = n1 n2 / (n1 + n2) rounded to an integer
 *   (see kolmogorov.ts).
 * Ties are allowed in the statistic (it is evaluated after all equal values); the p-value then is conservative.
 */
import { kolmogorovSmirnovSf } from './kolmogorov.js';

/** Largest size of either sample for which `ksPValue` counts paths exactly (SciPy's MAX_AUTO_N). */
export const KS_EXACT_MAX_N = 10_000;

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  /**
   * ln pValue. Where pValue underflows to 0 (or is computed as 0 for a complete separation), the leading term of
   * the asymptotic tail, ln 2 - (6 en d + 1)^2 / (18 en) (twice the one-sided approximation of Smirnov's
   * distribution), so the calibration can still tell p = 1e-320 from p = 1e-3000.
   */
  readonly logPValue: number;
  readonly method: 'exact' | 'asymptotic';
}

function withLog(statistic: number, pValue: number, method: KsResult['method'], en: number): KsResult {
  const logPValue = pValue > 1e-300 ? Math.log(pValue) : Math.LN2 - (6 * en * statistic + 1) ** 2 / (18 * en);
  return { statistic, pValue, logPValue: Math.min(0, logPValue), method };
}

/** D of two ascending samples (NaN-free), evaluated at every distinct value after all its ties. */
export function ksStatisticSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < n1 && a[i]! <= x) i++;
    while (j < n2 && b[j]! <= x) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  return d;
}

/**
 * D of two samples binned on the same edges: counts per bin, in bin order. The ECDFs are compared at the bin
 * edges only, so this is D of the data when every distinct value has its own bin, and a lower bound otherwise.
 */
export function ksStatisticBinned(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n1 = 0;
  let n2 = 0;
  for (let k = 0; k < a.length; k++) n1 += a[k]!;
  for (let k = 0; k < b.length; k++) n2 += b[k]!;
  let c1 = 0;
  let c2 = 0;
  let d = 0;
  for (let k = 0; k < a.length; k++) {
    c1 += a[k]!;
    c2 += b[k]!;
    const diff = Math.abs(c1 / n1 - c2 / n2);
    if (diff > d) d = diff;
  }
  return d;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * P(D >= h / lcm) exactly. A path point (i, j) (i values of sample 1 and j of sample 2 seen) is inside the band when
 * |i n2/g - j n1/g| < h, in integers; u holds, per point, the share of the paths to it that stayed inside, which
 * obeys u(i, j) = (i u(i-1, j) + j u(i, j-1)) / (i + j) and so never overflows.
 */
function exactPValue(n1: number, n2: number, h: number): number {
  const g = gcd(n1, n2);
  const a = n2 / g;
  const b = n1 / g;
  const u = new Float64Array(n2 + 1);
  const inverse = new Float64Array(n1 + n2 + 1);
  for (let k = 1; k < inverse.length; k++) inverse[k] = 1 / k;
  let prevLo = 0;
  for (let i = 0; i <= n1; i++) {
    // Inside: (i a - h) / b < j < (i a + h) / b.
    const lo = Math.max(0, Math.floor((i * a - h) / b) + 1);
    const hi = Math.min(n2, Math.ceil((i * a + h) / b) - 1);
    for (let j = prevLo; j < lo && j <= n2; j++) u[j] = 0;
    prevLo = lo;
    if (lo > hi) return 1;
    if (i === 0) {
      for (let j = lo; j <= hi; j++) u[j] = 1;
      continue;
    }
    let left = 0;
    for (let j = lo; j <= hi; j++) {
      left = (i * u[j]! + j * left) * inverse[i + j]!;
      u[j] = left;
    }
  }
  return Math.min(1, Math.max(0, 1 - u[n2]!));
}

/**
 * P(D >= h/n) for two samples of n each, by the reflection principle (Gnedenko and Korolyuk, "On the maximum
 * discrepancy between two empirical distributions", Doklady Akademii Nauk SSSR 80, 1951):
 * 2 sum_{k >= 1} (-1)^(k+1) C(2n, n - kh) / C(2n, n), with the ratios built up as products so nothing overflows.
 * O(n) instead of the band count's O(n d n).
 */
function equalSizePValue(n: number, h: number): number {
  let ratio = 1;
  let sum = 0;
  for (let k = 1; k * h <= n; k++) {
    for (let j = (k - 1) * h + 1; j <= k * h; j++) ratio *= (n - j + 1) / (n + j);
    sum += k % 2 === 1 ? ratio : -ratio;
    if (ratio < 1e-300) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * The two-sided p-value of D = `d` for sample sizes n1 and n2, and the statistic as the test used it (on the
 * exact path, `d` rounded to the lattice of attainable values, as SciPy does).
 */
export function ksPValue(d: number, n1: number, n2: number): KsResult {
  if (n1 <= 0 || n2 <= 0) return { statistic: NaN, pValue: NaN, logPValue: NaN, method: 'exact' };
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const lcm = (n1 / gcd(n1, n2)) * n2;
    const h = Math.round(d * lcm);
    const statistic = h / lcm;
    if (h === 0) return withLog(statistic, 1, 'exact', en);
    // Far in the tail the path count, 1 - (share of paths inside), has only absolute precision (about 1e-15) and
    // takes O(n1 n2) steps. There the two-sample Dvoretzky-Kiefer-Wolfowitz inequality P(D >= d) <= C exp(-2 en
    // d^2) (Wei and Dudley, Statistics & Probability Letters 82(3), 2012), C a small constant, puts p below about
    // 1e-10, and the asymptotic value is within 1e-9 of it and keeps its order of magnitude, which the
    // calibration's deflation needs.
    if (Math.exp(-2 * en * statistic * statistic) < 1e-11)
      return withLog(statistic, kolmogorovSmirnovSf(roundHalfEven(en), statistic), 'exact', en);
    const pValue = n1 === n2 ? equalSizePValue(n1, h) : exactPValue(n1, n2, h);
    return withLog(statistic, pValue, 'exact', en);
  }
  return ksAsymptoticPValue(d, n1, n2);
}

/** The asymptotic p-value whatever the sizes (SciPy's `method='asymp'`): cheap, for the calibration's chunks. */
export function ksAsymptoticPValue(d: number, n1: number, n2: number): KsResult {
  if (n1 <= 0 || n2 <= 0) return { statistic: NaN, pValue: NaN, logPValue: NaN, method: 'asymptotic' };
  const en = (n1 * n2) / (n1 + n2);
  return withLog(d, kolmogorovSmirnovSf(Math.max(1, roundHalfEven(en)), d), 'asymptotic', en);
}

/** The two-sample test on two ascending, NaN-free samples. */
export function ksTwoSampleSorted(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  return ksPValue(ksStatisticSorted(a, b), a.length, b.length);
}

/** The two-sample test on two samples binned on the same edges (see `ksStatisticBinned`). */
export function ksTwoSampleBinned(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  let n1 = 0;
  let n2 = 0;
  for (let k = 0; k < a.length; k++) n1 += a[k]!;
  for (let k = 0; k < b.length; k++) n2 += b[k]!;
  return ksPValue(ksStatisticBinned(a, b), n1, n2);
}
