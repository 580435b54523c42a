// Limited-memory BFGS (Nocedal and Wright, Numerical Optimization, 2nd ed., algorithms 7.4 and 7.5) with a
// backtracking Armijo line search. The whole optimizer state is a plain object of numbers and Float64Arrays, so a
// trainer can checkpoint it after any iteration and a resumed run takes exactly the same steps.
import { z } from 'zod';
import { float64ArraySchema } from './checkpoint-codec.js';

/** Fills `grad` with the gradient at `x` and returns the objective value. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export const lbfgsStateSchema = z.object({
  x: float64ArraySchema,
  f: z.number(),
  g: float64ArraySchema,
  /** Ring buffers of the last `memory` steps s = x' - x and gradient changes y = g' - g, `memory * n` each. */
  s: float64ArraySchema,
  y: float64ArraySchema,
  rho: float64ArraySchema,
  count: z.number().int().min(0),
  head: z.number().int().min(0),
  iteration: z.number().int().min(0),
});

export type LbfgsState = z.infer<typeof lbfgsStateSchema>;

export type LbfgsStatus = 'continue' | 'gradient-small' | 'no-progress' | 'line-search-failed';

/** Evaluates the objective at `x0` and returns the initial state (empty history). */
export function createLbfgsState(x0: Float64Array, objective: Objective, memory: number): LbfgsState {
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const f = objective(x, g);
  return {
    x,
    f,
    g,
    s: new Float64Array(memory * n),
    y: new Float64Array(memory * n),
    rho: new Float64Array(memory),
    count: 0,
    head: 0,
    iteration: 0,
  };
}

/** Largest absolute gradient component: the stopping criterion scipy's L-BFGS-B calls pgtol. */
export function maxAbs(values: Float64Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

function dot(a: Float64Array, aOffset: number, b: Float64Array, bOffset: number, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[aOffset + i]! * b[bOffset + i]!;
  return sum;
}

/** d = -H g by the two-loop recursion over the stored pairs, newest first. */
function direction(state: LbfgsState): Float64Array {
  const n = state.x.length;
  const memory = state.rho.length;
  const d = Float64Array.from(state.g, (v) => -v);
  const alpha = new Float64Array(memory);
  for (let k = 0; k < state.count; k++) {
    const slot = (state.head - 1 - k + memory) % memory;
    const a = state.rho[slot]! * dot(state.s, slot * n, d, 0, n);
    alpha[slot] = a;
    for (let i = 0; i < n; i++) d[i]! -= a * state.y[slot * n + i]!;
  }
  if (state.count > 0) {
    const newest = (state.head - 1 + memory) % memory;
    const gamma =
      dot(state.s, newest * n, state.y, newest * n, n) / dot(state.y, newest * n, state.y, newest * n, n);
    for (let i = 0; i < n; i++) d[i]! *= gamma;
  }
  for (let k = state.count - 1; k >= 0; k--) {
    const slot = (state.head - 1 - k + memory) % memory;
    const b = state.rho[slot]! * dot(state.y, slot * n, d, 0, n);
    const coef = alpha[slot]! - b;
    for (let i = 0; i < n; i++) d[i]! += coef * state.s[slot * n + i]!;
  }
  return d;
}

/**
 * One L-BFGS iteration, updating `state` in place. Stops (status other than 'continue') when the largest gradient
 * component is at most `gtol`, when the relative decrease of f is at most `ftol`, or when no step decreases f.
 */
export function lbfgsStep(
  state: LbfgsState,
  objective: Objective,
  options: { gtol: number; ftol: number },
): LbfgsStatus {
  const n = state.x.length;
  const memory = state.rho.length;
  if (maxAbs(state.g) <= options.gtol) return 'gradient-small';
  let d = direction(state);
  let slope = dot(state.g, 0, d, 0, n);
  if (!(slope < 0)) {
    // The curvature pairs no longer give a descent direction: forget them and go downhill.
    state.count = 0;
    d = Float64Array.from(state.g, (v) => -v);
    slope = dot(state.g, 0, d, 0, n);
  }
  // Without curvature information, the first step is scaled so it moves x by at most 1 in any coordinate.
  let step = state.count === 0 ? Math.min(1, 1 / maxAbs(d)) : 1;
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  let fNew = NaN;
  let accepted = false;
  for (let trial = 0; trial < 50; trial++) {
    for (let i = 0; i < n; i++) xNew[i] = state.x[i]! + step * d[i]!;
    fNew = objective(xNew, gNew);
    if (Number.isFinite(fNew) && fNew <= state.f + 1e-4 * step * slope) {
      accepted = true;
      break;
    }
    // Minimizer of the quadratic through f(0), f'(0) and f(step), kept within [0.1, 0.5] of the step.
    const quadratic = Number.isFinite(fNew)
      ? (-slope * step * step) / (2 * (fNew - state.f - slope * step))
      : 0;
    step = Math.min(0.5 * step, Math.max(0.1 * step, quadratic));
  }
  if (!accepted) return 'line-search-failed';
  const slot = state.head;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    const si = xNew[i]! - state.x[i]!;
    const yi = gNew[i]! - state.g[i]!;
    state.s[slot * n + i] = si;
    state.y[slot * n + i] = yi;
    sy += si * yi;
  }
  // Keep the pair only when it carries positive curvature, which keeps the implied Hessian positive definite.
  if (sy > 1e-10) {
    state.rho[slot] = 1 / sy;
    state.head = (slot + 1) % memory;
    state.count = Math.min(state.count + 1, memory);
  }
  const decrease = (state.f - fNew) / Math.max(Math.abs(state.f), Math.abs(fNew), 1);
  state.x.set(xNew);
  state.g.set(gNew);
  state.f = fNew;
  state.iteration++;
  if (maxAbs(state.g) <= options.gtol) return 'gradient-small';
  return decrease <= options.ftol ? 'no-progress' : 'continue';
}
