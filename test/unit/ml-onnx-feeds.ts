// Test helpers for the built-in trainers: raw ONNX feeds from a frame (as serving would send them), running a
// model in onnxruntime-node, and small synthetic datasets with missing values.
import * as ort from 'onnxruntime-node';
import type { Column, Frame } from '../../ml/frame.js';
import { feedsFor } from '../../platform/onnx-scoring.js';
import { createRng } from '../../ml/rng.js';
import type { TrainingData } from '../../ml/trainer.js';

export interface OnnxRun {
  readonly p1: Float64Array;
  readonly labels: number[];
  readonly probabilityDims: readonly number[];
  readonly labelDims: readonly number[];
  readonly labelType: string;
}

/** Runs model bytes on a frame and returns P(class 1), labels and the output shapes. */
export async function runOnnx(bytes: Uint8Array, frame: Frame): Promise<OnnxRun> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feedsFor(session, frame));
    const probabilities = out.probabilities!;
    const data = probabilities.data as Float32Array;
    const p1 = Float64Array.from({ length: frame.rowCount }, (_, i) => data[2 * i + 1]!);
    return {
      p1,
      labels: Array.from(out.label!.data as BigInt64Array, Number),
      probabilityDims: probabilities.dims,
      labelDims: out.label!.dims,
      labelType: out.label!.type,
    };
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const COLORS = ['red', 'green', 'blue', 'teal'];

/**
 * A small mixed dataset: numerics x1 (with NaNs), x2, and a categorical color (with missing values). The label
 * depends on x1, x2 and color, with noise; `nonlinear` makes it depend on x1 * x2 (an XOR-like pattern).
 */
export function syntheticData(
  rows: number,
  seed: number,
  options: { nonlinear?: boolean } = {},
): TrainingData {
  const rng = createRng(seed);
  const x1 = new Float64Array(rows);
  const x2 = new Float64Array(rows);
  const color = new Int32Array(rows);
  const labels = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = rng.nextFloat() * 4 - 2;
    const b = rng.nextFloat() * 10 + 5;
    const c = rng.nextInt(COLORS.length);
    const score = options.nonlinear
      ? 3 * a * (b - 10)
      : 1.5 * a - 0.4 * (b - 10) + (c === 0 ? 1 : c === 3 ? -1 : 0);
    labels[i] = rng.nextFloat() < 1 / (1 + Math.exp(-score)) ? 1 : 0;
    x1[i] = rng.nextFloat() < 0.1 ? NaN : a;
    x2[i] = b;
    color[i] = rng.nextFloat() < 0.05 ? -1 : c;
  }
  const columns: Column[] = [
    { name: 'x1', kind: 'numeric', values: x1 },
    { name: 'x2', kind: 'numeric', values: x2 },
    { name: 'color', kind: 'categorical', codes: color, categories: COLORS },
  ];
  return { features: { rowCount: rows, columns }, labels };
}

/** Scoring rows that exercise every path: NaN numeric, missing category, and a category never seen in training. */
export function edgeCaseFrame(): Frame {
  return {
    rowCount: 5,
    columns: [
      { name: 'x1', kind: 'numeric', values: Float64Array.of(NaN, 0.5, -1.25, NaN, 1e6) },
      { name: 'x2', kind: 'numeric', values: Float64Array.of(7, NaN, 12.5, 9, -3) },
      // Another dictionary order than training, plus 'purple', unseen in training.
      {
        name: 'color',
        kind: 'categorical',
        codes: Int32Array.of(-1, 0, 1, 2, 3),
        categories: ['purple', 'teal', 'red', 'blue'],
      },
    ],
  };
}
