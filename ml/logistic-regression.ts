// L2-regularized logistic regression fitted by L-BFGS on the preprocessed design matrix. The objective is
// scikit-learn's (LogisticRegression, lbfgs solver), scaled by the total sample weight S:
//   f(w, b) = (1/S) * sum_i s_i * logloss_i + ||w||^2 / (2 * C * S)   (the intercept b is not penalized),
// and the stopping rule is also its: largest gradient component <= tolerance, at most maxIter iterations.
import { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint, fingerprint } from './checkpoint-codec.js';
import { emitBinaryOutputs, meanLogLoss, sigmoid, toFloat32Values } from './classifier-onnx.js';
import type { Frame } from './frame.js';
import type { LbfgsState, LbfgsStatus, Objective } from './lbfgs.js';
import { createLbfgsState, lbfgsStateSchema, lbfgsStep } from './lbfgs.js';
import { createOnnxBuilder } from './onnx-builder.js';
import { checkTrainingInput, parseTrainerParams } from './params.js';
import type { PreprocessPlan } from './preprocess.js';
import {
  emitPreprocessOnnx,
  fitPreprocessor,
  parsePreprocessPlan,
  preprocessOptionsSchema,
  transform,
} from './preprocess.js';
import type { SparseRows } from './sparse-rows.js';
import { toSparseRows } from './sparse-rows.js';
import type { FittedModel, Trainer, TrainingData, TrainOptions } from './trainer.js';

const NAME = 'logistic_regression';

export const logisticRegressionParamsSchema = z
  .object({
    /** Inverse regularization strength, as in scikit-learn (larger C = weaker L2 penalty). */
    C: z.number().finite().positive().default(1),
    maxIter: z.number().int().min(1).max(1_000_000).default(100),
    /** Stop when the largest gradient component of the scaled objective is at most this. */
    tolerance: z.number().finite().positive().default(1e-4),
    fitIntercept: z.boolean().default(true),
    /** 'balanced' weighs each class by n / (2 * class count), as scikit-learn's class_weight='balanced'. */
    classWeight: z.enum(['none', 'balanced']).default('none'),
    /** Number of curvature pairs L-BFGS keeps. */
    memory: z.number().int().min(1).max(100).default(10),
    preprocessing: preprocessOptionsSchema.prefault({}),
  })
  .strict();

export type LogisticRegressionParams = z.output<typeof logisticRegressionParamsSchema>;

const checkpointSchema = z.object({
  fingerprint: z.string(),
  plan: z.unknown(),
  optimizer: lbfgsStateSchema,
  status: z.enum(['continue', 'gradient-small', 'no-progress', 'line-search-failed']),
});

interface Problem {
  readonly x: SparseRows;
  readonly labels: Uint8Array;
  readonly sampleWeight: Float64Array;
  readonly weightSum: number;
  readonly penalty: number;
  readonly fitIntercept: boolean;
}

/** Linear scores b + x.w; `coef` holds w then b. */
function logits(x: SparseRows, coef: Float64Array): Float64Array {
  const { rowStart, columns, values, width } = x;
  const bias = coef[width]!;
  const out = new Float64Array(x.rowCount);
  for (let r = 0; r < x.rowCount; r++) {
    let z = bias;
    for (let k = rowStart[r]!; k < rowStart[r + 1]!; k++) z += values[k]! * coef[columns[k]!]!;
    out[r] = z;
  }
  return out;
}

function makeObjective(p: Problem): { objective: Objective; dataLoss: () => number } {
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

function sampleWeights(labels: Uint8Array, mode: LogisticRegressionParams['classWeight']): Float64Array {
  const weights = new Float64Array(labels.length).fill(1);
  if (mode === 'balanced') {
    let positives = 0;
    for (const y of labels) positives += y;
    const w1 = labels.length / (2 * positives);
    const w0 = labels.length / (2 * (labels.length - positives));
    for (let i = 0; i < labels.length; i++) weights[i] = labels[i] === 1 ? w1 : w0;
  }
  return weights;
}

/** A fitted linear model over a preprocessing plan; `coef` (w then b) must already be float32 values. */
export function linearModel(
  plan: PreprocessPlan,
  coef: Float64Array,
  facts: Record<string, unknown>,
): FittedModel {
  const width = plan.width;
  return {
    predictProba(features: Frame): Float64Array {
      const { matrix, rowCount } = transform(plan, features);
      const out = new Float64Array(rowCount);
      for (let r = 0; r < rowCount; r++) {
        let z = coef[width]!;
        for (let j = 0, p = r * width; j < width; j++, p++) z += matrix[p]! * coef[j]!;
        out[r] = sigmoid(z);
      }
      return out;
    },
    toOnnx(): Uint8Array {
      const builder = createOnnxBuilder('slipway_logistic_regression');
      const x = emitPreprocessOnnx(builder, plan);
      const weights = builder.floats('coef', coef.subarray(0, width), [width, 1]);
      const product = builder.op('MatMul', [x, weights], 'linear');
      const logit = builder.op('Add', [product, builder.floats('intercept', [coef[width]!], [1])], 'logit');
      emitBinaryOutputs(builder, logit);
      return builder.toBytes({ docString: 'Slipway logistic regression', metadata: { trainer: NAME } });
    },
    metadata: () => ({
      trainer: NAME,
      ...facts,
      featureCount: width,
      intercept: coef[width]!,
      coefficients: Object.fromEntries(plan.featureNames.map((name, j) => [name, coef[j]!])),
      preprocessing: plan,
    }),
  };
}

function fit(data: TrainingData, options: TrainOptions<LogisticRegressionParams>): FittedModel {
  checkTrainingInput(NAME, data, options);
  const params = options.params;
  const resumed = options.resumeFrom
    ? decodeCheckpoint(NAME, options.resumeFrom, checkpointSchema)
    : undefined;
  const plan = resumed
    ? parsePreprocessPlan(resumed.plan)
    : fitPreprocessor(data.features, params.preprocessing);
  const design = transform(plan, data.features);
  const print = fingerprint(design.matrix, data.labels);
  if (resumed && resumed.fingerprint !== print) {
    throw new Error(`${NAME}: resumeFrom was written for different training data (fingerprint mismatch)`);
  }
  const sampleWeight = sampleWeights(data.labels, params.classWeight);
  const weightSum = sampleWeight.reduce((a, b) => a + b, 0);
  const problem: Problem = {
    x: toSparseRows(design.matrix, design.rowCount, design.width),
    labels: data.labels,
    sampleWeight,
    weightSum,
    penalty: 1 / (params.C * weightSum),
    fitIntercept: params.fitIntercept,
  };
  const { objective, dataLoss } = makeObjective(problem);
  let state: LbfgsState;
  let status: LbfgsStatus;
  if (resumed) {
    state = resumed.optimizer;
    status = resumed.status;
    if (state.x.length !== plan.width + 1 || state.rho.length !== params.memory) {
      throw new Error(`${NAME}: resumeFrom does not match this model (width or memory parameter differs)`);
    }
  } else {
    state = createLbfgsState(new Float64Array(plan.width + 1), objective, params.memory);
    status = 'continue';
  }
  const valid = options.validation
    ? { x: toSparseRows(...matrixOf(plan, options.validation.features)), labels: options.validation.labels }
    : undefined;
  while (status === 'continue' && state.iteration < params.maxIter) {
    const before = state.iteration;
    status = lbfgsStep(state, objective, { gtol: params.tolerance, ftol: 64 * Number.EPSILON });
    // Report only steps actually taken; the accepted point was then the last one the objective evaluated.
    if (!options.onProgress || state.iteration === before) continue;
    const every = options.checkpointEvery;
    const checkpoint =
      every !== undefined && state.iteration % every === 0
        ? encodeCheckpoint(NAME, { fingerprint: print, plan, optimizer: state, status })
        : undefined;
    const validLoss = valid ? meanLogLoss(logits(valid.x, state.x), valid.labels) : undefined;
    options.onProgress(
      {
        step: state.iteration,
        totalSteps: params.maxIter,
        trainLoss: dataLoss(),
        ...(validLoss === undefined ? {} : { validLoss }),
      },
      checkpoint,
    );
  }
  const converged = status === 'gradient-small' || status === 'no-progress';
  return linearModel(plan, toFloat32Values(state.x), {
    iterations: state.iteration,
    converged,
    stopReason: status === 'continue' ? 'max-iterations' : status,
  });
}

function matrixOf(plan: PreprocessPlan, features: Frame): [Float64Array, number, number] {
  const d = transform(plan, features);
  return [d.matrix, d.rowCount, d.width];
}

/** The built-in logistic regression trainer. */
export const logisticRegressionTrainer: Trainer<LogisticRegressionParams> = {
  name: NAME,
  parseParams: (raw) => parseTrainerParams(NAME, logisticRegressionParamsSchema, raw),
  fit,
};
