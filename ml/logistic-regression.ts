// L2-regularized logistic regression on the preprocessed design matrix, with scikit-learn LogisticRegression's
// objective (ml/logistic-objective.ts) and stopping rule (largest gradient component <= tolerance, at most maxIter
// iterations). Two solvers, as scikit-learn has: Newton with a Cholesky solve, which converges in a handful of
// iterations while the design is narrow (a few hundred columns), and L-BFGS for wide designs.
import { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint, fingerprint } from './checkpoint-codec.js';
import { emitBinaryOutputs, meanLogLoss, sigmoid, toFloat32Values } from './classifier-onnx.js';
import type { Frame } from './frame.js';
import type { LbfgsStatus } from './lbfgs.js';
import { createLbfgsState, lbfgsStateSchema, lbfgsStep } from './lbfgs.js';
import type { LogisticProblem } from './logistic-objective.js';
import { logisticHessian, logisticObjective, logits } from './logistic-objective.js';
import { createNewtonState, newtonStateSchema, newtonStep } from './newton.js';
import { createOnnxBuilder } from './onnx-builder.js';
import { checkTrainingInput, parseTrainerParams } from './params.js';
import type { PreprocessPlan } from './preprocess.js';
import {
  emitPreprocessOnnx,
  fitPreprocessor,
  parsePreprocessPlan,
  preprocessOptionsSchema,
  transform,
  transformSparse,
} from './preprocess.js';
import {
  latestCheckpoint,
  type FittedModel,
  type Trainer,
  type TrainingData,
  type TrainOptions,
} from './trainer.js';

const NAME = 'logistic_regression';

/** Parameters of the logistic regression trainer, named after scikit-learn's LogisticRegression. */
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
    /** 'auto' picks newton-cholesky up to 400 design columns and lbfgs above. */
    solver: z.enum(['auto', 'lbfgs', 'newton-cholesky']).default('auto'),
    /** Number of curvature pairs L-BFGS keeps. */
    memory: z.number().int().min(1).max(100).default(10),
    preprocessing: preprocessOptionsSchema.prefault({}),
  })
  .strict();

export type LogisticRegressionParams = z.output<typeof logisticRegressionParamsSchema>;

const checkpointSchema = z.object({
  fingerprint: z.string(),
  /** What the fingerprint hashes: the sparse design rows; absent (checkpoints of earlier code): the dense matrix. */
  fingerprintOf: z.literal('sparse-rows').optional(),
  plan: z.unknown(),
  solver: z.enum(['lbfgs', 'newton-cholesky']),
  /** The state of whichever solver ran. */
  lbfgs: lbfgsStateSchema.optional(),
  newton: newtonStateSchema.optional(),
  status: z.enum(['continue', 'gradient-small', 'no-progress', 'line-search-failed']),
});

/** Newton's dense Hessian costs (width+1)^2 memory and (width+1)^3/6 work per iteration: fine up to here. */
const NEWTON_MAX_PARAMETERS = 400;

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
      // Adding only the non-zero terms, in column order, gives the same doubles as the dense sum.
      return logits(transformSparse(plan, features), coef).map(sigmoid);
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
    ? decodeCheckpoint(NAME, latestCheckpoint(options.resumeFrom), checkpointSchema)
    : undefined;
  const plan = resumed
    ? parsePreprocessPlan(resumed.plan)
    : fitPreprocessor(data.features, params.preprocessing);
  // Sparse rows straight from the plan: a one-hot column of 50,000 categories costs one entry per row.
  const x = transformSparse(plan, data.features);
  // Hashing the data costs a pass over it: only checkpointing and resuming need it.
  const checkpointing = options.onProgress !== undefined && options.checkpointEvery !== undefined;
  const print =
    resumed && !resumed.fingerprintOf
      ? fingerprint(transform(plan, data.features).matrix, data.labels)
      : resumed || checkpointing
        ? fingerprint(x.values, x.columns, x.rowStart, data.labels)
        : '';
  if (resumed && resumed.fingerprint !== print) {
    throw new Error(`${NAME}: resumeFrom was written for different training data (fingerprint mismatch)`);
  }
  const n = plan.width + 1;
  const solver =
    params.solver === 'auto' ? (n <= NEWTON_MAX_PARAMETERS ? 'newton-cholesky' : 'lbfgs') : params.solver;
  if (resumed && resumed.solver !== solver) {
    throw new Error(
      `${NAME}: resumeFrom was written by the ${resumed.solver} solver, but this run uses ${solver}`,
    );
  }
  const sampleWeight = sampleWeights(data.labels, params.classWeight);
  const weightSum = sampleWeight.reduce((a, b) => a + b, 0);
  const problem: LogisticProblem = {
    x,
    labels: data.labels,
    sampleWeight,
    weightSum,
    penalty: 1 / (params.C * weightSum),
    fitIntercept: params.fitIntercept,
  };
  const { objective, dataLoss } = logisticObjective(problem);
  const stopping = { gtol: params.tolerance, ftol: 64 * Number.EPSILON };
  let status = resumed?.status ?? 'continue';
  let step: () => LbfgsStatus;
  let state: { readonly x: Float64Array; readonly iteration: number };
  let snapshot: () => Record<string, unknown>;
  if (solver === 'lbfgs') {
    const lbfgs = resumed?.lbfgs ?? createLbfgsState(new Float64Array(n), objective, params.memory);
    if (lbfgs.x.length !== n || lbfgs.rho.length !== params.memory) {
      throw new Error(`${NAME}: resumeFrom does not match this model (width or memory parameter differs)`);
    }
    step = () => lbfgsStep(lbfgs, objective, stopping);
    state = lbfgs;
    snapshot = () => ({ lbfgs });
  } else {
    const newton = resumed?.newton ?? createNewtonState(new Float64Array(n), objective);
    if (newton.x.length !== n)
      throw new Error(`${NAME}: resumeFrom does not match this model (width differs)`);
    step = () => newtonStep(newton, objective, (x, h) => logisticHessian(problem, x, h), stopping);
    state = newton;
    snapshot = () => ({ newton });
  }
  const valid = options.validation
    ? { x: transformSparse(plan, options.validation.features), labels: options.validation.labels }
    : undefined;
  while (status === 'continue' && state.iteration < params.maxIter) {
    const before = state.iteration;
    status = step();
    // Report only steps actually taken; the accepted point was then the last one the objective evaluated.
    if (!options.onProgress || state.iteration === before) continue;
    const every = options.checkpointEvery;
    const checkpoint =
      every !== undefined && state.iteration % every === 0
        ? encodeCheckpoint(NAME, {
            fingerprint: print,
            ...(resumed && !resumed.fingerprintOf ? {} : { fingerprintOf: 'sparse-rows' }),
            plan,
            solver,
            status,
            ...snapshot(),
          })
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
    solver,
    iterations: state.iteration,
    converged,
    stopReason: status === 'continue' ? 'max-iterations' : status,
  });
}

/** The built-in logistic regression trainer. */
export const logisticRegressionTrainer: Trainer<LogisticRegressionParams> = {
  name: NAME,
  parseParams: (raw) => parseTrainerParams(NAME, logisticRegressionParamsSchema, raw),
  fit,
};
