/**
 * Special functions behind the drift tests' p-values: log-gamma, the regularized incomplete gamma function and the
 * chi-square distribution built on it. Written from their textbook definitions:
 * - log-gamma: Lanczos' approximation with Godfrey's g = 7, n = 9 coefficients (about 15 significant digits),
 *   https://en.wikipedia.org/wiki/Lanczos_approximation, and the reflection formula below 0.5;
 * - P(a, x) by its power series and Q(a, x) = 1 - P(a, x) by Legendre's continued fraction evaluated with the
 *   modified Lentz method (Press et al., Numerical Recipes, 3rd ed., section 6.2);
 * - chi-square survival function: Q(k/2, x/2).
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln |Gamma(x)| for x > 0 (and by reflection for non-integer x < 0.5). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;

/** ln of x^a e^-x / Gamma(a), the common factor of the series and the continued fraction. */
function logPrefactor(a: number, x: number): number {
  return a * Math.log(x) - x - logGamma(a);
}

function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(logPrefactor(a, x));
}

/** ln of Legendre's continued fraction part of Q(a, x), without the prefactor. */
function upperFractionLog(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.log(h);
}

/** The regularized upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerSeries(a, x) : Math.exp(logPrefactor(a, x) + upperFractionLog(a, x));
}

/** ln Q(a, x), accurate where Q itself underflows (x in the thousands). */
export function gammaLogQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return -Infinity;
  return x < a + 1 ? Math.log1p(-lowerSeries(a, x)) : logPrefactor(a, x) + upperFractionLog(a, x);
}

/** Survival function of the chi-square distribution with `dof` degrees of freedom: P(X >= x). */
export function chiSquareSf(x: number, dof: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  return Math.min(1, Math.max(0, gammaQ(dof / 2, x / 2)));
}

/** ln P(X >= x) for the chi-square distribution, finite far beyond where the survival function underflows. */
export function chiSquareLogSf(x: number, dof: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 0;
  return Math.min(0, gammaLogQ(dof / 2, x / 2));
}

/**
 * Inverse survival function of the chi-square distribution from the logarithm of the probability: the x with
 * ln chiSquareSf(x, dof) = logP. Newton's method on the log survival function (its derivative is -pdf/sf), kept
 * inside a bracket that doubles until it holds logP and falls back to bisection, to full double precision;
 * logP = -Infinity gives Infinity and logP = 0 gives 0.
 */
export function chiSquareIsfLog(logP: number, dof: number): number {
  if (!(logP <= 0)) return NaN;
  if (logP === -Infinity) return Infinity;
  if (logP === 0) return 0;
  let lo = 0;
  let hi = Math.max(1, dof);
  while (chiSquareLogSf(hi, dof) > logP) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  const a = dof / 2;
  const logNorm = a * Math.LN2 + logGamma(a);
  let x = 0.5 * (lo + hi);
  for (let i = 0; i < 200; i++) {
    const logSf = chiSquareLogSf(x, dof);
    const f = logSf - logP;
    if (f === 0) return x;
    if (f > 0) lo = x;
    else hi = x;
    // d/dx ln sf(x) = -pdf(x) / sf(x), pdf(x) = x^(a-1) e^(-x/2) / (2^a Gamma(a)).
    const slope = -Math.exp((a - 1) * Math.log(x) - x / 2 - logNorm - logSf);
    let next = x - f / slope;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 1e-15 * x || hi - lo <= 1e-15 * hi) return next;
    x = next;
  }
  return x;
}

/** Inverse survival function of the chi-square distribution: the x with chiSquareSf(x, dof) = p. */
export function chiSquareIsf(p: number, dof: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  return chiSquareIsfLog(Math.log(p), dof);
}
