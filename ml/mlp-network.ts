// The numeric core of the MLP: a flat parameter vector, forward and backward passes over mini-batches of sparse
// rows, Glorot initialization and Adam. The formulas follow scikit-learn's MLPClassifier (binary case: one
// logistic output unit, log loss, L2 penalty alpha/2 * ||W||^2 / batch size on weights but not biases) so the
// same settings train comparable networks.
import { gatherAxpy, scatterOuter, scatterOuterBack } from './mlp-kernels.js';
import type { Rng } from './rng.js';
import type { SparseRows } from './sparse-rows.js';

export type Activation = 'relu' | 'tanh';

/** Layer sizes from inputs to the single output unit, e.g. [width, 100, 1], and where each layer's W and b sit. */
export interface Network {
  readonly sizes: readonly number[];
  readonly activation: Activation;
  /** Offset of layer l's weights (row-major [sizes[l], sizes[l+1]]) and biases in the parameter vector. */
  readonly weightOffset: readonly number[];
  readonly biasOffset: readonly number[];
  readonly parameterCount: number;
}

export function createNetwork(
  inputWidth: number,
  hidden: readonly number[],
  activation: Activation,
): Network {
  const sizes = [inputWidth, ...hidden, 1];
  const weightOffset: number[] = [];
  const biasOffset: number[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    weightOffset.push(offset);
    offset += sizes[l]! * sizes[l + 1]!;
    biasOffset.push(offset);
    offset += sizes[l + 1]!;
  }
  return { sizes, activation, weightOffset, biasOffset, parameterCount: offset };
}

/** Glorot uniform initialization of weights and biases, bound sqrt(6 / (fan_in + fan_out)), as scikit-learn. */
export function initParameters(net: Network, rng: Rng): Float64Array {
  const params = new Float64Array(net.parameterCount);
  for (let l = 0; l + 1 < net.sizes.length; l++) {
    const fanIn = net.sizes[l]!;
    const fanOut = net.sizes[l + 1]!;
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    const end = net.biasOffset[l]! + fanOut;
    for (let i = net.weightOffset[l]!; i < end; i++) params[i] = (2 * rng.nextFloat() - 1) * bound;
  }
  return params;
}

/** Scratch buffers for batches of up to `capacity` rows: activations and deltas per hidden layer, and logits. */
export interface Workspace {
  readonly capacity: number;
  readonly activations: Float64Array[];
  readonly deltas: Float64Array[];
  readonly logits: Float64Array;
  /** One row's non-zero hidden units (indices, values) and their back-propagated sums. */
  readonly nzIndex: Int32Array;
  readonly nzValue: Float64Array;
  readonly back: Float64Array;
}

export function createWorkspace(net: Network, capacity: number): Workspace {
  const hidden = net.sizes.slice(1, -1);
  const widest = Math.max(...hidden);
  return {
    capacity,
    activations: hidden.map((h) => new Float64Array(capacity * h)),
    deltas: hidden.map((h) => new Float64Array(capacity * h)),
    logits: new Float64Array(capacity),
    nzIndex: new Int32Array(widest),
    nzValue: new Float64Array(widest),
    back: new Float64Array(widest),
  };
}

/** Indices and values of one activation row's entries that matter: non-zeros for ReLU, all of them for tanh. */
function rowEntries(a: Float64Array, offset: number, n: number, relu: boolean, ws: Workspace): number {
  let count = 0;
  for (let j = 0; j < n; j++) {
    const v = a[offset + j]!;
    if (relu && v === 0) continue;
    ws.nzIndex[count] = j;
    ws.nzValue[count++] = v;
  }
  return count;
}

function activate(a: Float64Array, length: number, activation: Activation): void {
  if (activation === 'relu') {
    for (let i = 0; i < length; i++) if (a[i]! < 0) a[i] = 0;
  } else {
    for (let i = 0; i < length; i++) a[i] = Math.tanh(a[i]!);
  }
}

/**
 * Forward pass for rows `rows[start .. start+count-1]` of `x` (or rows start.. when `rows` is null): fills the
 * workspace activations and `logits[0..count-1]`.
 */
export function forward(
  net: Network,
  params: Float64Array,
  x: SparseRows,
  rows: Int32Array | null,
  start: number,
  count: number,
  ws: Workspace,
): void {
  const { sizes, weightOffset, biasOffset } = net;
  const last = sizes.length - 2;
  const relu = net.activation === 'relu';
  // First layer: only the row's non-zero inputs contribute.
  const h0 = sizes[1]!;
  const a0 = ws.activations[0]!;
  const b0 = biasOffset[0]!;
  for (let b = 0; b < count; b++) {
    const r = rows ? rows[start + b]! : start + b;
    const base = b * h0;
    for (let k = 0; k < h0; k++) a0[base + k] = params[b0 + k]!;
    gatherAxpy(
      a0,
      base,
      h0,
      params,
      weightOffset[0]!,
      x.columns,
      x.values,
      x.rowStart[r]!,
      x.rowStart[r + 1]!,
    );
  }
  activate(a0, count * h0, net.activation);
  for (let l = 1; l < last; l++) {
    const input = ws.activations[l - 1]!;
    const output = ws.activations[l]!;
    const fanIn = sizes[l]!;
    const h = sizes[l + 1]!;
    const bl = biasOffset[l]!;
    for (let b = 0; b < count; b++) {
      const base = b * h;
      for (let k = 0; k < h; k++) output[base + k] = params[bl + k]!;
      const n = rowEntries(input, b * fanIn, fanIn, relu, ws);
      gatherAxpy(output, base, h, params, weightOffset[l]!, ws.nzIndex, ws.nzValue, 0, n);
    }
    activate(output, count * h, net.activation);
  }
  const top = ws.activations[last - 1]!;
  const fanIn = sizes[last]!;
  const wOut = weightOffset[last]!;
  const bOut = params[biasOffset[last]!]!;
  for (let b = 0; b < count; b++) {
    let z = bOut;
    for (let k = 0, p = b * fanIn; k < fanIn; k++, p++) z += top[p]! * params[wOut + k]!;
    ws.logits[b] = z;
  }
}

/**
 * Backward pass after `forward` on the same batch: writes the gradient of the batch's mean log loss plus
 * alpha/2 * ||W||^2 / count into `grad` and returns that loss (scikit-learn's per-batch loss). Activation
 * derivatives are written in terms of the activation's output, as scikit-learn does.
 */
export function backward(
  net: Network,
  params: Float64Array,
  x: SparseRows,
  rows: Int32Array | null,
  start: number,
  count: number,
  labels: Uint8Array,
  alpha: number,
  ws: Workspace,
  grad: Float64Array,
): number {
  const { sizes, weightOffset, biasOffset } = net;
  const last = sizes.length - 2;
  const relu = net.activation === 'relu';
  grad.fill(0);
  let loss = 0;
  const top = ws.activations[last - 1]!;
  const topDelta = ws.deltas[last - 1]!;
  const fanTop = sizes[last]!;
  const wOut = weightOffset[last]!;
  const bOut = biasOffset[last]!;
  for (let b = 0; b < count; b++) {
    const z = ws.logits[b]!;
    const y = labels[rows ? rows[start + b]! : start + b]!;
    const t = y === 1 ? -z : z;
    loss += t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    const d = (p - y) / count;
    grad[bOut]! += d;
    for (let k = 0, q = b * fanTop; k < fanTop; k++, q++) {
      const a = top[q]!;
      grad[wOut + k]! += a * d;
      topDelta[q] = relu ? (a === 0 ? 0 : d * params[wOut + k]!) : d * params[wOut + k]! * (1 - a * a);
    }
  }
  for (let l = last - 1; l >= 1; l--) {
    const input = ws.activations[l - 1]!;
    const inputDelta = ws.deltas[l - 1]!;
    const delta = ws.deltas[l]!;
    const fanIn = sizes[l]!;
    const h = sizes[l + 1]!;
    const bl = biasOffset[l]!;
    for (let b = 0; b < count; b++) {
      const base = b * h;
      for (let k = 0; k < h; k++) grad[bl + k]! += delta[base + k]!;
      // Zero ReLU outputs have zero derivative, so only the entries rowEntries keeps need a delta.
      const n = rowEntries(input, b * fanIn, fanIn, relu, ws);
      scatterOuterBack(grad, params, weightOffset[l]!, h, delta, base, ws.nzIndex, ws.nzValue, n, ws.back);
      inputDelta.fill(0, b * fanIn, (b + 1) * fanIn);
      for (let e = 0; e < n; e++) {
        const a = ws.nzValue[e]!;
        inputDelta[b * fanIn + ws.nzIndex[e]!] = relu ? ws.back[e]! : ws.back[e]! * (1 - a * a);
      }
    }
  }
  const h0 = sizes[1]!;
  const delta0 = ws.deltas[0]!;
  const b0 = biasOffset[0]!;
  for (let b = 0; b < count; b++) {
    const r = rows ? rows[start + b]! : start + b;
    const base = b * h0;
    for (let k = 0; k < h0; k++) grad[b0 + k]! += delta0[base + k]!;
    scatterOuter(
      grad,
      weightOffset[0]!,
      h0,
      delta0,
      base,
      x.columns,
      x.values,
      x.rowStart[r]!,
      x.rowStart[r + 1]!,
    );
  }
  let norm = 0;
  const decay = alpha / count;
  for (let l = 0; l <= last; l++) {
    for (let i = weightOffset[l]!, end = biasOffset[l]!; i < end; i++) {
      const w = params[i]!;
      norm += w * w;
      grad[i]! += decay * w;
    }
  }
  return loss / count + (0.5 * alpha * norm) / count;
}

export interface AdamSettings {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** One Adam step (Kingma and Ba, 2015, with the bias correction folded into the rate, as scikit-learn does). */
export function adamStep(
  params: Float64Array,
  grad: Float64Array,
  m: Float64Array,
  v: Float64Array,
  t: number,
  s: AdamSettings,
): void {
  const rate = (s.learningRate * Math.sqrt(1 - s.beta2 ** t)) / (1 - s.beta1 ** t);
  const { beta1, beta2, epsilon } = s;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i]! -= (rate * mi) / (Math.sqrt(vi) + epsilon);
  }
}
