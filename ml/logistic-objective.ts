// The L2-regularized logistic loss over sparse rows, with its gradient and Hessian, scaled as scikit-learn's
// LogisticRegression scales it (by the total sample weight S):
//   f(w, b) = (1/S) * sum_i s_i * logloss_i + ||w||^2 / (2 * C * S)   (the intercept b is not penalized).
// Coefficient vectors hold w (one per design column) then b.
import type { Objective } from './lbfgs.js';
import type { SparseRows } from './sparse-rows.js';

export interface LogisticProblem {
  readonly x: SparseRows;
  readonly labels: Uint8Array;
  readonly sampleWeight: Float64Array;
  readonly weightSum: number;
  /** 1 / (C * S): the L2 coefficient of the scaled objective. */
  readonly penalty: number;
  readonly fitIntercept: boolean;
}

/** Linear scores b + x.w for every row. */
export function logits(x: SparseRows, coef: Float64Array): Float64Array {
  const { rowStart, columns, values, width } = x;
  const bias = coef[width]!;
  const out = new Float64Array(x.rowCount);
  for (let r = 0; r < x.rowCount; r++) {
    let z = bias;
    for (let k = rowStart[r]!, end = rowStart[r + 1]!; k < end; k++) z += values[k]! * coef[columns[k]!]!;
    out[r] = z;
  }
  return out;
}

/**
 * The objective with its gradient, plus the unweighted mean log loss of the last evaluation (what progress
 * reports call the training loss).
 */
export function logisticObjective(p: LogisticProblem): { objective: Objective; dataLoss: () => number } {
  let lastDataLoss = NaN;
  const objective: Objective = (coef, grad) => {
    const { rowStart, columns, values, width } = p.x;
    const { labels, sampleWeight } = p;
    grad.fill(0);
    const bias = coef[width]!;
    let loss = 0;
    let unweighted = 0;
    let gBias = 0;
    for (let r = 0; r < p.x.rowCount; r++) {
      const from = rowStart[r]!;
      const to = rowStart[r + 1]!;
      let z = bias;
      for (let k = from; k < to; k++) z += values[k]! * coef[columns[k]!]!;
      // One exp and one log1p per row give both the loss and the probability, stably for any z:
      // log(1 + exp(t)) = max(t, 0) + log1p(exp(-|z|)) for t = +-z, and sigmoid from the same exp(-|z|).
      const e = Math.exp(-Math.abs(z));
      const positive = labels[r] === 1;
      const l = (positive ? (z < 0 ? -z : 0) : z > 0 ? z : 0) + Math.log1p(e);
      const probability = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      const s = sampleWeight[r]!;
      unweighted += l;
      loss += s * l;
      const residual = s * (positive ? probability - 1 : probability);
      gBias += residual;
      for (let k = from; k < to; k++) grad[columns[k]!]! += residual * values[k]!;
    }
    let norm = 0;
    for (let j = 0; j < width; j++) {
      const w = coef[j]!;
      norm += w * w;
      grad[j] = grad[j]! / p.weightSum + p.penalty * w;
    }
    grad[width] = p.fitIntercept ? gBias / p.weightSum : 0;
    lastDataLoss = unweighted / p.x.rowCount;
    return loss / p.weightSum + 0.5 * p.penalty * norm;
  };
  return { objective, dataLoss: () => lastDataLoss };
}

/**
 * Writes the objective's Hessian at `coef` into `hessian` (row-major, (width+1)^2). Without an intercept, its row
 * and column are the identity so a Newton step leaves b at 0. Costs O(sum of squared non-zeros per row).
 */
export function logisticHessian(p: LogisticProblem, coef: Float64Array, hessian: Float64Array): void {
  const { rowStart, columns, values, width } = p.x;
  const n = width + 1;
  hessian.fill(0);
  const z = logits(p.x, coef);
  for (let r = 0; r < p.x.rowCount; r++) {
    const zr = z[r]!;
    const e = Math.exp(-Math.abs(zr));
    const q = e / ((1 + e) * (1 + e));
    const weight = (p.sampleWeight[r]! * q) / p.weightSum;
    const from = rowStart[r]!;
    const to = rowStart[r + 1]!;
    // Columns are ascending within a row, so (a, b >= a) fills the upper triangle only.
    for (let a = from; a < to; a++) {
      const wa = weight * values[a]!;
      const rowOffset = columns[a]! * n;
      for (let b = a; b < to; b++) hessian[rowOffset + columns[b]!]! += wa * values[b]!;
      hessian[rowOffset + width]! += wa;
    }
    hessian[width * n + width]! += weight;
  }
  for (let i = 0; i < width; i++) hessian[i * n + i]! += p.penalty;
  if (!p.fitIntercept) {
    for (let i = 0; i < width; i++) hessian[i * n + width] = 0;
    hessian[width * n + width] = 1;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) hessian[i * n + j] = hessian[j * n + i]!;
}
