// The output head every built-in binary classifier shares: from a logit tensor [N,1] to the contract's outputs
// `probabilities` float [N,2] and `label` int64 [N] (see ml/trainer.ts).
import type { OnnxBuilder } from './onnx-builder.js';
import { attr } from './onnx-builder.js';

/** Emits sigmoid, the two probability columns and the arg-max label, and declares both graph outputs. */
export function emitBinaryOutputs(builder: OnnxBuilder, logit: string): void {
  const p1 = builder.op('Sigmoid', [logit], 'p1');
  const p0 = builder.op('Sub', [builder.floats('one', [1], []), p1], 'p0');
  builder.node('Concat', [p0, p1], ['probabilities'], { axis: attr.int(1) });
  // Ties (p = 0.5 exactly) go to class 0, as ArgMax picks the first maximum.
  builder.node('ArgMax', ['probabilities'], ['label'], { axis: attr.int(1), keepdims: attr.int(0) });
  builder.output('label', 'int64', ['N']);
  builder.output('probabilities', 'float', ['N', 2]);
}

/** Logistic function, stable for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(t)) without overflow. */
export function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

/** Mean binary log loss of logits against 0/1 labels. */
export function meanLogLoss(logits: Float64Array, labels: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += softplus(labels[i] === 1 ? -logits[i]! : logits[i]!);
  return logits.length === 0 ? 0 : sum / logits.length;
}

/** A float32 copy of parameters: what the ONNX graph stores, so JS scoring uses the very same numbers. */
export function toFloat32Values(values: Float64Array): Float64Array {
  return Float64Array.from(values, (v) => Math.fround(v));
}
