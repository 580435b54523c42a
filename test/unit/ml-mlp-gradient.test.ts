import { describe, expect, it } from 'vitest';
import {
  adamStep,
  batchGradient,
  createNetwork,
  createWorkspace,
  initParameters,
} from '../../ml/mlp-network.js';
import { createRng } from '../../ml/rng.js';
import { toSparseRows } from '../../ml/sparse-rows.js';

/** A row-major matrix whose rows have 0 to `width` non-zeros, to reach every branch of the kernels. */
function sparseInputs(rows: number, width: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const m = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const nonZeros = r % (width + 1);
    for (let j = 0; j < nonZeros; j++) m[r * width + ((j * 3 + r) % width)] = rng.nextFloat() * 2 - 1;
  }
  return m;
}

describe('mlp network gradient', () => {
  for (const activation of ['relu', 'tanh'] as const) {
    it(`matches finite differences (${activation}, two odd-sized hidden layers, 0..7 inputs per row)`, () => {
      const width = 7;
      const rows = 24;
      const x = toSparseRows(sparseInputs(rows, width, 3), rows, width);
      const labels = Uint8Array.from({ length: rows }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
      const net = createNetwork(width, [5, 3], activation);
      const params = initParameters(net, createRng(activation === 'relu' ? 1 : 2));
      const ws = createWorkspace(net);
      const order = Int32Array.from({ length: rows }, (_, i) => rows - 1 - i);
      const alpha = 0.3;
      const grad = new Float64Array(net.parameterCount);
      const loss = (p: Float64Array): number =>
        batchGradient(net, p, x, order, 2, 20, labels, alpha, ws, new Float64Array(net.parameterCount));
      batchGradient(net, params, x, order, 2, 20, labels, alpha, ws, grad);
      let worst = 0;
      for (let i = 0; i < net.parameterCount; i++) {
        const plus = Float64Array.from(params);
        const minus = Float64Array.from(params);
        plus[i]! += 1e-6;
        minus[i]! -= 1e-6;
        const numeric = (loss(plus) - loss(minus)) / 2e-6;
        worst = Math.max(worst, Math.abs(numeric - grad[i]!));
      }
      expect(worst).toBeLessThan(1e-6);
      expect(grad.some((g) => g !== 0)).toBe(true);
    });
  }

  it('takes Adam steps against the gradient with bias-corrected size', () => {
    const params = Float64Array.of(1, -1);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    adamStep(params, Float64Array.of(2, -0.5), m, v, 1, {
      learningRate: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    });
    // First step: m/sqrt(v) after bias correction is sign(g), so each parameter moves by the learning rate.
    expect(params[0]).toBeCloseTo(0.9, 6);
    expect(params[1]).toBeCloseTo(-0.9, 6);
  });
});
