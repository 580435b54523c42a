// Multi-layer perceptron classifier trained with Adam on shuffled mini-batches, with parameters and stopping rules
// named after scikit-learn's MLPClassifier. Differences: early stopping watches validation log loss (not accuracy),
// and each epoch shuffles the row order afresh (not cumulatively), so a checkpoint needs only the RNG state.
import { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint, fingerprint, float64ArraySchema } from './checkpoint-codec.js';
import { emitBinaryOutputs, meanLogLoss, sigmoid, toFloat32Values } from './classifier-onnx.js';
import type { Frame } from './frame.js';
import type { Network, Workspace } from './mlp-network.js';
import {
  adamStep,
  batchGradient,
  createNetwork,
  createWorkspace,
  predictLogits,
  initParameters,
} from './mlp-network.js';
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
import { createRng, rngFromState, shuffleInPlace, stratifiedHoldout } from './rng.js';
import type { SparseRows } from './sparse-rows.js';
import { toSparseRows } from './sparse-rows.js';
import {
  latestCheckpoint,
  type FittedModel,
  type Trainer,
  type TrainingData,
  type TrainOptions,
} from './trainer.js';

const NAME = 'mlp';

/** Parameters of the MLP trainer, named after scikit-learn's MLPClassifier (camelCase). */
export const mlpParamsSchema = z
  .object({
    hiddenLayerSizes: z.array(z.number().int().min(1).max(4096)).min(1).max(16).default([100]),
    activation: z.enum(['relu', 'tanh']).default('relu'),
    /** L2 penalty on weights (not biases), as scikit-learn's alpha. */
    alpha: z.number().finite().min(0).default(1e-4),
    batchSize: z.number().int().min(1).default(200),
    learningRateInit: z.number().finite().positive().default(1e-3),
    maxEpochs: z.number().int().min(1).max(100_000).default(200),
    /** Minimum loss improvement that resets the no-improvement counter. */
    tolerance: z.number().finite().min(0).default(1e-4),
    nIterNoChange: z.number().int().min(1).default(10),
    earlyStopping: z.boolean().default(false),
    /** Share of the training rows held out for early stopping when no validation data is passed. */
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().finite().positive().default(1e-8),
    shuffle: z.boolean().default(true),
    preprocessing: preprocessOptionsSchema.prefault({}),
  })
  .strict();

export type MlpParams = z.output<typeof mlpParamsSchema>;

const checkpointSchema = z.object({
  seed: z.number().int(),
  fingerprint: z.string(),
  plan: z.unknown(),
  hiddenLayerSizes: z.array(z.number().int()),
  activation: z.enum(['relu', 'tanh']),
  params: float64ArraySchema,
  m: float64ArraySchema,
  v: float64ArraySchema,
  adamSteps: z.number().int().min(0),
  epoch: z.number().int().min(0),
  rng: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  /** [best training loss, best validation loss]; a Float64Array so Infinity survives the trip through JSON. */
  best: float64ArraySchema,
  noImprovement: z.number().int().min(0),
  bestParams: float64ArraySchema,
  stopReason: z.string().nullable(),
});

type MlpState = z.infer<typeof checkpointSchema>;

/** Mean log loss of the network on the given rows of `x` (all rows when `rows` is null). */
function datasetLoss(
  net: Network,
  params: Float64Array,
  x: SparseRows,
  labels: Uint8Array,
  rows: Int32Array | null,
  ws: Workspace,
): number {
  const logits = predictLogits(net, params, x, rows, ws);
  return meanLogLoss(logits, rows ? Uint8Array.from(rows, (r) => labels[r]!) : labels);
}

/** A fitted MLP over a preprocessing plan; `params` must already be float32 values. */
export function mlpModel(
  plan: PreprocessPlan,
  net: Network,
  params: Float64Array,
  facts: Record<string, unknown>,
): FittedModel {
  return {
    predictProba(features: Frame): Float64Array {
      const design = transform(plan, features);
      const x = toSparseRows(design.matrix, design.rowCount, design.width);
      const logits = predictLogits(net, params, x, null, createWorkspace(net));
      const out = new Float64Array(design.rowCount);
      for (let i = 0; i < out.length; i++) out[i] = sigmoid(logits[i]!);
      return out;
    },
    toOnnx(): Uint8Array {
      const builder = createOnnxBuilder('slipway_mlp');
      let h = emitPreprocessOnnx(builder, plan);
      for (let l = 0; l + 1 < net.sizes.length; l++) {
        const [fanIn, fanOut] = [net.sizes[l]!, net.sizes[l + 1]!];
        const w = builder.floats(`W${l}`, params.subarray(net.weightOffset[l], net.biasOffset[l]), [
          fanIn,
          fanOut,
        ]);
        const b = builder.floats(`b${l}`, params.subarray(net.biasOffset[l], net.biasOffset[l]! + fanOut), [
          fanOut,
        ]);
        const z = builder.op(
          'Add',
          [builder.op('MatMul', [h, w], `matmul${l}`), b],
          l + 2 < net.sizes.length ? `z${l}` : 'logit',
        );
        h =
          l + 2 < net.sizes.length
            ? builder.op(net.activation === 'relu' ? 'Relu' : 'Tanh', [z], `h${l}`)
            : z;
      }
      emitBinaryOutputs(builder, h);
      return builder.toBytes({
        docString: 'Slipway MLP classifier',
        metadata: { trainer: NAME, activation: net.activation },
      });
    },
    metadata: () => ({
      trainer: NAME,
      ...facts,
      layerSizes: net.sizes,
      featureCount: plan.width,
      preprocessing: plan,
    }),
  };
}

function initialState(
  net: Network,
  seed: number,
  print: string,
  plan: PreprocessPlan,
  p: MlpParams,
  rng: ReturnType<typeof createRng>,
): MlpState {
  const params = initParameters(net, rng);
  return {
    seed,
    fingerprint: print,
    plan,
    hiddenLayerSizes: p.hiddenLayerSizes,
    activation: p.activation,
    params,
    m: new Float64Array(net.parameterCount),
    v: new Float64Array(net.parameterCount),
    adamSteps: 0,
    epoch: 0,
    rng: rng.state(),
    best: Float64Array.of(Infinity, Infinity),
    noImprovement: 0,
    bestParams: p.earlyStopping ? Float64Array.from(params) : new Float64Array(0),
    stopReason: null,
  };
}

function fit(data: TrainingData, options: TrainOptions<MlpParams>): FittedModel {
  checkTrainingInput(NAME, data, options);
  const p = options.params;
  const resumed = options.resumeFrom
    ? decodeCheckpoint(NAME, latestCheckpoint(options.resumeFrom), checkpointSchema)
    : undefined;
  if (resumed && resumed.seed !== options.seed) {
    throw new Error(`${NAME}: resumeFrom was written with seed ${resumed.seed}, but seed is ${options.seed}`);
  }
  if (
    resumed &&
    (resumed.activation !== p.activation || resumed.hiddenLayerSizes.join() !== p.hiddenLayerSizes.join())
  ) {
    throw new Error(`${NAME}: resumeFrom has hiddenLayerSizes/activation that differ from the parameters`);
  }
  const plan = resumed ? parsePreprocessPlan(resumed.plan) : fitPreprocessor(data.features, p.preprocessing);
  const design = transform(plan, data.features);
  // Hashing the data costs a pass over it: only checkpointing and resuming need it.
  const checkpointing = options.onProgress !== undefined && options.checkpointEvery !== undefined;
  const print = resumed || checkpointing ? fingerprint(design.matrix, data.labels) : '';
  if (resumed && resumed.fingerprint !== print) {
    throw new Error(`${NAME}: resumeFrom was written for different training data (fingerprint mismatch)`);
  }
  const x = toSparseRows(design.matrix, design.rowCount, design.width);
  const net = createNetwork(plan.width, p.hiddenLayerSizes, p.activation);
  // The holdout is drawn first from the seed, so a resumed run carves the same one before restoring the RNG.
  const rng = createRng(options.seed);
  let trainRows: Int32Array = Int32Array.from({ length: design.rowCount }, (_, i) => i);
  let valid: { x: SparseRows; labels: Uint8Array; rows: Int32Array | null } | undefined;
  if (options.validation) {
    const v = transform(plan, options.validation.features);
    valid = { x: toSparseRows(v.matrix, v.rowCount, v.width), labels: options.validation.labels, rows: null };
  } else if (p.earlyStopping) {
    const split = stratifiedHoldout(data.labels, p.validationFraction, rng);
    trainRows = split.train;
    valid = { x, labels: data.labels, rows: split.holdout };
  }
  if (p.earlyStopping && (!valid || (valid.rows ? valid.rows.length : valid.x.rowCount) === 0)) {
    throw new Error(
      `${NAME}: earlyStopping needs validation rows; raise validationFraction or pass validation data`,
    );
  }
  const state = resumed ?? initialState(net, options.seed, print, plan, p, rng);
  if (state.params.length !== net.parameterCount)
    throw new Error(`${NAME}: resumeFrom does not match this network`);
  if (p.earlyStopping && state.bestParams.length !== net.parameterCount) {
    throw new Error(
      `${NAME}: resumeFrom was written without earlyStopping; resume with the same earlyStopping`,
    );
  }
  const stateRng = rngFromState(state.rng);
  const batch = Math.min(p.batchSize, trainRows.length);
  const ws = createWorkspace(net);
  const grad = new Float64Array(net.parameterCount);
  const order = new Int32Array(trainRows.length);
  const adam = { learningRate: p.learningRateInit, beta1: p.beta1, beta2: p.beta2, epsilon: p.epsilon };
  while (state.stopReason === null && state.epoch < p.maxEpochs) {
    order.set(trainRows);
    if (p.shuffle) shuffleInPlace(order, stateRng);
    let accumulated = 0;
    for (let start = 0; start < order.length; start += batch) {
      const count = Math.min(batch, order.length - start);
      accumulated +=
        batchGradient(net, state.params, x, order, start, count, data.labels, p.alpha, ws, grad) * count;
      adamStep(state.params, grad, state.m, state.v, ++state.adamSteps, adam);
    }
    const trainLoss = accumulated / order.length;
    if (!Number.isFinite(trainLoss)) {
      throw new Error(
        `${NAME}: training diverged at epoch ${state.epoch + 1} (loss ${trainLoss}); lower learningRateInit`,
      );
    }
    state.epoch++;
    const validLoss =
      valid && (p.earlyStopping || options.onProgress)
        ? datasetLoss(net, state.params, valid.x, valid.labels, valid.rows, ws)
        : undefined;
    // scikit-learn's rule: count epochs whose score is not better than the best by `tolerance`.
    const score = p.earlyStopping ? validLoss! : trainLoss;
    const slot = p.earlyStopping ? 1 : 0;
    state.noImprovement = score > state.best[slot]! - p.tolerance ? state.noImprovement + 1 : 0;
    if (score < state.best[slot]!) {
      state.best[slot] = score;
      if (p.earlyStopping) state.bestParams.set(state.params);
    }
    if (state.noImprovement > p.nIterNoChange) {
      state.stopReason = p.earlyStopping ? 'validation-loss-stalled' : 'training-loss-stalled';
    }
    if (!options.onProgress) continue;
    state.rng = stateRng.state();
    const every = options.checkpointEvery;
    const checkpoint =
      every !== undefined && state.epoch % every === 0 ? encodeCheckpoint(NAME, state) : undefined;
    options.onProgress(
      {
        step: state.epoch,
        totalSteps: p.maxEpochs,
        trainLoss,
        ...(validLoss === undefined ? {} : { validLoss }),
      },
      checkpoint,
    );
  }
  const final = p.earlyStopping ? state.bestParams : state.params;
  return mlpModel(plan, net, toFloat32Values(final), {
    epochs: state.epoch,
    adamSteps: state.adamSteps,
    stopReason: state.stopReason ?? 'max-epochs',
    ...(p.earlyStopping ? { bestValidLoss: state.best[1] } : { bestTrainLoss: state.best[0] }),
  });
}

/** The built-in MLP classifier trainer. */
export const mlpTrainer: Trainer<MlpParams> = {
  name: NAME,
  parseParams: (raw) => parseTrainerParams(NAME, mlpParamsSchema, raw),
  fit,
};
