import { describe, expect, it } from 'vitest';
import type { Objective } from '../../ml/lbfgs.js';
import { createLbfgsState, lbfgsStep } from '../../ml/lbfgs.js';
import { choleskySolve, createNewtonState, newtonStep } from '../../ml/newton.js';

// f(x) = 1/2 x'Ax - b'x + sum(x^4)/4: smooth, strictly convex, minimum where Ax - b + x^3 = 0.
const A = Float64Array.of(4, 1, 0, 1, 3, 0.5, 0, 0.5, 2);
const b = Float64Array.of(1, -2, 0.5);
const objective: Objective = (x, g) => {
  let f = 0;
  for (let i = 0; i < 3; i++) {
    let ax = 0;
    for (let j = 0; j < 3; j++) ax += A[i * 3 + j]! * x[j]!;
    g[i] = ax - b[i]! + x[i]! ** 3;
    f += 0.5 * x[i]! * ax - b[i]! * x[i]! + x[i]! ** 4 / 4;
  }
  return f;
};
const hessian = (x: Float64Array, h: Float64Array): void => {
  h.set(A);
  for (let i = 0; i < 3; i++) h[i * 3 + i]! += 3 * x[i]! ** 2;
};

describe('optimizers', () => {
  it('solves symmetric positive definite systems and refuses indefinite ones', () => {
    const y = choleskySolve(Float64Array.from(A), b, 3)!;
    for (let i = 0; i < 3; i++) {
      const row = A[i * 3]! * y[0]! + A[i * 3 + 1]! * y[1]! + A[i * 3 + 2]! * y[2]!;
      expect(row).toBeCloseTo(b[i]!, 12);
    }
    expect(choleskySolve(Float64Array.of(1, 2, 2, 1), Float64Array.of(1, 1), 2)).toBeNull();
  });

  it('L-BFGS and Newton reach the same minimum, Newton in fewer steps', () => {
    const lbfgs = createLbfgsState(new Float64Array(3), objective, 5);
    let status = 'continue';
    while (status === 'continue' && lbfgs.iteration < 200)
      status = lbfgsStep(lbfgs, objective, { gtol: 1e-10, ftol: 0 });
    expect(status).toBe('gradient-small');
    const newton = createNewtonState(new Float64Array(3), objective);
    status = 'continue';
    while (status === 'continue' && newton.iteration < 50) {
      status = newtonStep(newton, objective, hessian, { gtol: 1e-10, ftol: 0 });
    }
    expect(status).toBe('gradient-small');
    for (let i = 0; i < 3; i++) expect(newton.x[i]).toBeCloseTo(lbfgs.x[i]!, 8);
    expect(newton.iteration).toBeLessThan(lbfgs.iteration);
  });
});
