// The numeric core of the MLP: a flat parameter vector, forward and backward passes over mini-batches of sparse
// rows, Glorot initialization and Adam. The formulas follow scikit-learn's MLPClassifier (binary case: one
// logistic output unit, log loss, L2 penalty alpha/2 * ||W||^2 / batch size on weights but not biases) so the
// same settings train comparable networks.
import { affineRow, scatterOuter, scatterOuterBack } from './mlp-kernels.js';
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

/** The layout of a network with the given hidden layer sizes and one logistic output unit. */
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

/**
 * Per-row scratch: activations and deltas of each hidden layer, and one row's non-zero hidden units (indices,
 * values) with their back-propagated sums. Rows go through the whole network one at a time, so all of it stays in
 * the CPU's first-level cache; a batch's gradient is the sum of its rows' gradients.
 */
export interface Workspace {
  readonly activations: Float64Array[];
  readonly deltas: Float64Array[];
  readonly nzIndex: Int32Array;
  readonly nzValue: Float64Array;
  readonly back: Float64Array;
}

/** Scratch buffers sized for `net`; reuse one per training or scoring loop. */
export function createWorkspace(net: Network): Workspace {
  const hidden = net.sizes.slice(1, -1);
  const widest = Math.max(...hidden);
  return {
    activations: hidden.map((h) => new Float64Array(h)),
    deltas: hidden.map((h) => new Float64Array(h)),
    nzIndex: new Int32Array(widest),
    nzValue: new Float64Array(widest),
    back: new Float64Array(widest),
  };
}

/** Indices and values of an activation vector's entries that matter: non-zeros for ReLU, all of them for tanh. */
function rowEntries(a: Float64Array, n: number, relu: boolean, ws: Workspace): number {
  let count = 0;
  for (let j = 0; j < n; j++) {
    const v = a[j]!;
    if (relu && v === 0) continue;
    ws.nzIndex[count] = j;
    ws.nzValue[count++] = v;
  }
  return count;
}

function activate(a: Float64Array, n: number, relu: boolean): void {
  if (relu) {
    for (let i = 0; i < n; i++) if (a[i]! < 0) a[i] = 0;
  } else {
    for (let i = 0; i < n; i++) a[i] = Math.tanh(a[i]!);
  }
}

/**
 * Forward pass of one input row, given as sparse entries (idx[e], val[e]) for e in [from, to): fills the
 * workspace activations and returns the output logit.
 */
export function forwardRow(
  net: Network,
  params: Float64Array,
  idx: Int32Array,
  val: Float64Array,
  from: number,
  to: number,
  ws: Workspace,
): number {
  const { sizes, weightOffset, biasOffset } = net;
  const top = sizes.length - 2;
  const relu = net.activation === 'relu';
  affineRow(ws.activations[0]!, sizes[1]!, params, biasOffset[0]!, weightOffset[0]!, idx, val, from, to);
  for (let l = 1; l < top; l++) {
    const input = ws.activations[l - 1]!;
    activate(input, sizes[l]!, relu);
    const n = rowEntries(input, sizes[l]!, relu, ws);
    affineRow(
      ws.activations[l]!,
      sizes[l + 1]!,
      params,
      biasOffset[l]!,
      weightOffset[l]!,
      ws.nzIndex,
      ws.nzValue,
      0,
      n,
    );
  }
  // The last hidden layer's activation is fused with the output unit's dot product.
  const a = ws.activations[top - 1]!;
  const wOut = weightOffset[top]!;
  let z = params[biasOffset[top]!]!;
  for (let k = 0, h = sizes[top]!; k < h; k++) {
    const raw = a[k]!;
    const act = relu ? (raw > 0 ? raw : 0) : Math.tanh(raw);
    a[k] = act;
    z += act * params[wOut + k]!;
  }
  return z;
}

/**
 * Backward pass after `forwardRow` on the same row, where `d` is the derivative of the row's loss with respect to
 * the logit: adds the row's gradient (without the L2 term) to `grad`. Activation derivatives are written in terms
 * of the activation's output, as scikit-learn does.
 */
export function backwardRow(
  net: Network,
  params: Float64Array,
  idx: Int32Array,
  val: Float64Array,
  from: number,
  to: number,
  d: number,
  ws: Workspace,
  grad: Float64Array,
): void {
  const { sizes, weightOffset, biasOffset } = net;
  const top = sizes.length - 2;
  const relu = net.activation === 'relu';
  const a = ws.activations[top - 1]!;
  const delta = ws.deltas[top - 1]!;
  const wOut = weightOffset[top]!;
  const bTop = biasOffset[top - 1]!;
  grad[biasOffset[top]!]! += d;
  for (let k = 0, h = sizes[top]!; k < h; k++) {
    const act = a[k]!;
    grad[wOut + k]! += act * d;
    const dk = relu ? (act > 0 ? d * params[wOut + k]! : 0) : d * params[wOut + k]! * (1 - act * act);
    delta[k] = dk;
    grad[bTop + k]! += dk;
  }
  for (let l = top - 1; l >= 1; l--) {
    const input = ws.activations[l - 1]!;
    const inputDelta = ws.deltas[l - 1]!;
    const fanIn = sizes[l]!;
    // Zero ReLU outputs have zero derivative, so only the entries rowEntries keeps get a delta.
    const n = rowEntries(input, fanIn, relu, ws);
    scatterOuterBack(
      grad,
      params,
      weightOffset[l]!,
      sizes[l + 1]!,
      ws.deltas[l]!,
      0,
      ws.nzIndex,
      ws.nzValue,
      n,
      ws.back,
    );
    inputDelta.fill(0);
    const bl = biasOffset[l - 1]!;
    for (let e = 0; e < n; e++) {
      const j = ws.nzIndex[e]!;
      const act = ws.nzValue[e]!;
      const dj = relu ? ws.back[e]! : ws.back[e]! * (1 - act * act);
      inputDelta[j] = dj;
      grad[bl + j]! += dj;
    }
  }
  scatterOuter(grad, weightOffset[0]!, sizes[1]!, ws.deltas[0]!, 0, idx, val, from, to);
}

/**
 * Gradient of one mini-batch, rows `rows[start .. start+count-1]` of `x`: the mean log loss plus
 * alpha/2 * ||W||^2 / count (scikit-learn's per-batch loss, returned), differentiated into `grad`.
 */
export function batchGradient(
  net: Network,
  params: Float64Array,
  x: SparseRows,
  rows: Int32Array,
  start: number,
  count: number,
  labels: Uint8Array,
  alpha: number,
  ws: Workspace,
  grad: Float64Array,
): number {
  grad.fill(0);
  let loss = 0;
  const { rowStart, columns, values } = x;
  const inverseCount = 1 / count;
  for (let b = 0; b < count; b++) {
    const r = rows[start + b]!;
    const from = rowStart[r]!;
    const to = rowStart[r + 1]!;
    const z = forwardRow(net, params, columns, values, from, to, ws);
    const y = labels[r]!;
    const t = y === 1 ? -z : z;
    loss += t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    backwardRow(net, params, columns, values, from, to, (p - y) * inverseCount, ws, grad);
  }
  let norm = 0;
  const decay = alpha * inverseCount;
  const last = net.sizes.length - 2;
  for (let l = 0; l <= last; l++) {
    for (let i = net.weightOffset[l]!, end = net.biasOffset[l]!; i < end; i++) {
      const w = params[i]!;
      norm += w * w;
      grad[i]! += decay * w;
    }
  }
  return loss * inverseCount + 0.5 * alpha * norm * inverseCount;
}

/** Logits of the given rows of `x` (all rows when `rows` is null). */
export function predictLogits(
  net: Network,
  params: Float64Array,
  x: SparseRows,
  rows: Int32Array | null,
  ws: Workspace,
): Float64Array {
  const n = rows ? rows.length : x.rowCount;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows ? rows[i]! : i;
    out[i] = forwardRow(net, params, x.columns, x.values, x.rowStart[r]!, x.rowStart[r + 1]!, ws);
  }
  return out;
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
