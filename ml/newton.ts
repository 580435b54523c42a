// Newton's method with a Cholesky solve and a backtracking Armijo line search, for smooth strictly convex
// objectives with few parameters (the Hessian is dense: n^2 memory, n^3/6 work per step). Its state, like L-BFGS's,
// is plain numbers and Float64Arrays, so a trainer can checkpoint it after any iteration.
import { z } from 'zod';
import { float64ArraySchema } from './checkpoint-codec.js';
import type { LbfgsStatus, Objective } from './lbfgs.js';
import { maxAbs } from './lbfgs.js';

export const newtonStateSchema = z.object({
  x: float64ArraySchema,
  f: z.number(),
  g: float64ArraySchema,
  iteration: z.number().int().min(0),
});

export type NewtonState = z.infer<typeof newtonStateSchema>;

/** Fills `hessian` (row-major n x n) with the Hessian at `x`. */
export type Hessian = (x: Float64Array, hessian: Float64Array) => void;

/** Evaluates the objective at `x0` and returns the initial state. */
export function createNewtonState(x0: Float64Array, objective: Objective): NewtonState {
  const x = Float64Array.from(x0);
  const g = new Float64Array(x.length);
  return { x, f: objective(x, g), g, iteration: 0 };
}

/**
 * Solves A y = b for a symmetric positive definite A (row-major n x n, overwritten by its Cholesky factor).
 * Returns null when A is not numerically positive definite.
 */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! * a[j * n + k]!;
    if (!(d > 0)) return null;
    const root = Math.sqrt(d);
    a[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / root;
    }
  }
  const y = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = y[i]!;
    for (let k = 0; k < i; k++) s -= a[i * n + k]! * y[k]!;
    y[i] = s / a[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * y[k]!;
    y[i] = s / a[i * n + i]!;
  }
  return y;
}

/**
 * One Newton iteration, updating `state` in place. Same stopping rules as `lbfgsStep`: largest gradient component
 * at most `gtol`, relative decrease of f at most `ftol`, or no step that decreases f.
 */
export function newtonStep(
  state: NewtonState,
  objective: Objective,
  hessian: Hessian,
  options: { gtol: number; ftol: number },
): LbfgsStatus {
  const n = state.x.length;
  if (maxAbs(state.g) <= options.gtol) return 'gradient-small';
  const h = new Float64Array(n * n);
  hessian(state.x, h);
  // Falls back to steepest descent should rounding make the Hessian lose positive definiteness.
  const solved = choleskySolve(h, state.g, n) ?? state.g;
  const d = Float64Array.from(solved, (v) => -v);
  let slope = 0;
  for (let i = 0; i < n; i++) slope += state.g[i]! * d[i]!;
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  let step = 1;
  for (let trial = 0; trial < 50; trial++) {
    for (let i = 0; i < n; i++) xNew[i] = state.x[i]! + step * d[i]!;
    const fNew = objective(xNew, gNew);
    if (Number.isFinite(fNew) && fNew <= state.f + 1e-4 * step * slope) {
      const decrease = (state.f - fNew) / Math.max(Math.abs(state.f), Math.abs(fNew), 1);
      state.x.set(xNew);
      state.g.set(gNew);
      state.f = fNew;
      state.iteration++;
      if (maxAbs(state.g) <= options.gtol) return 'gradient-small';
      return decrease <= options.ftol ? 'no-progress' : 'continue';
    }
    step *= 0.5;
  }
  return 'line-search-failed';
}
