// The boosting loop for binary log loss: baseline = log-odds of the training prior; each iteration fits one tree to
// the gradients/hessians of the current raw scores; early stopping follows scikit-learn's rule (stop when none of
// the last n_iter_no_change validation losses beat the one before them by more than tol).
import { meanLogLoss } from '../classifier-onnx.js';
import { checkTrainingInput } from '../params.js';
import type { Rng } from '../rng.js';
import { createRng, rngFromState } from '../rng.js';
import type { FittedModel, TrainingData, TrainOptions } from '../trainer.js';
import { binCount } from './binning.js';
import { decodeGbdtCheckpoint, encodeGbdtCheckpoint, fingerprintBytes } from './checkpoint.js';
import type { GrowSettings } from './grower.js';
import { availableParallelism } from 'node:os';
import { createGrowBuffers, growTree, type GrowBuffers, type TeamContext } from './grower.js';
import { FEATURE_SPAN } from './histogram.js';
import { gbdtTeam } from './team.js';
import { createGbdtModel } from './model.js';
import type { GbdtParams } from './params.js';
import { GBDT_NAME } from './params.js';
import { prepareTraining } from './prepare.js';
import type { FeatureMeta } from './split.js';
import type { Tree } from './tree.js';
import { addTreeBinned } from './tree.js';

/**
 * Gradients and hessians of the log loss at `raw` (stored as float32, as scikit-learn does). Returns the mean loss
 * when `withLoss` is set (its log1p is skipped otherwise), else NaN.
 */
function logLossGradients(
  raw: Float64Array,
  labels: Uint8Array,
  g: Float32Array,
  h: Float32Array,
  withLoss: boolean,
): number {
  let loss = 0;
  for (let i = 0; i < raw.length; i++) {
    const f = raw[i]!;
    const e = Math.exp(-Math.abs(f));
    const p = f >= 0 ? 1 / (1 + e) : e / (1 + e);
    const y = labels[i]!;
    g[i] = p - y;
    h[i] = p * (1 - p);
    if (withLoss) loss += Math.max(f, 0) + Math.log1p(e) - y * f;
  }
  return !withLoss ? NaN : raw.length === 0 ? 0 : loss / raw.length;
}

function priorLogOdds(labels: Uint8Array): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  const p = Math.min(Math.max(positives / labels.length, 1e-15), 1 - 1e-15);
  return Math.log(p / (1 - p));
}

/** scikit-learn's `_should_stop` on losses (lower is better) after 0, 1, 2... trees. */
export function shouldStop(losses: readonly number[], nIterNoChange: number, tol: number): boolean {
  const reference = nIterNoChange + 1;
  if (losses.length < reference) return false;
  const bar = losses[losses.length - reference]! - tol;
  for (let k = losses.length - reference + 1; k < losses.length; k++) if (losses[k]! < bar) return false;
  return true;
}

/** `k` of `n` rows without replacement, in increasing order (Knuth's selection sampling); marks them in `inBag`. */
function sampleRows(rows: Uint32Array, n: number, k: number, rng: Rng, inBag: Uint8Array): number {
  let taken = 0;
  for (let i = 0; i < n; i++) {
    const pick = taken < k && rng.nextFloat() * (n - i) < k - taken;
    inBag[i] = pick ? 1 : 0;
    if (pick) rows[taken++] = i;
  }
  return taken;
}

function sampleFeatures(count: number, fraction: number, rng: Rng): Int32Array {
  const all = Int32Array.from({ length: count }, (_, i) => i);
  if (fraction >= 1) return all;
  const k = Math.max(1, Math.ceil(fraction * count));
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(count - i);
    const tmp = all[i]!;
    all[i] = all[j]!;
    all[j] = tmp;
  }
  return all.subarray(0, k).sort();
}

/** A typed array over shared memory, for the threads of a team. */
function shared<T extends Uint8Array | Uint32Array | Float32Array | Int32Array | Float64Array>(
  make: new (buffer: SharedArrayBuffer) => T,
  bytesPer: number,
  length: number,
): T {
  return new make(new SharedArrayBuffer(Math.max(1, length) * bytesPer));
}

/** The thread count of a fit: the parameter, else the machine's cores; never more than the features. */
function threadCount(params: GbdtParams, features: number): number {
  const wanted = params.threads ?? Math.min(availableParallelism(), 8);
  return Math.max(1, Math.min(wanted, features));
}

/** Trains the ensemble (see the Trainer contract in ml/trainer.ts). */
export function fitGbdt(data: TrainingData, options: TrainOptions<GbdtParams>): FittedModel {
  checkTrainingInput(GBDT_NAME, data, options);
  const { seed } = options;
  // The thread count shapes how the work is shared, never the model: checkpoints leave it out, so a run resumes
  // on a worker with another number of cores.
  const { threads: _threads, ...params } = options.params;
  const resumed = options.resumeFrom ? decodeGbdtCheckpoint(options.resumeFrom, params, seed) : undefined;
  const prep = prepareTraining(data, params, seed, options.validation, resumed?.binnings);
  const n = prep.stride;
  // Hashing the binned matrix is only worth its time when checkpoints are written or read.
  const checkpointing = options.onProgress !== undefined && options.checkpointEvery !== undefined;
  const fingerprint = resumed || checkpointing ? fingerprintBytes(prep.binned, prep.labels) : '';
  if (resumed && resumed.fingerprint !== fingerprint) {
    throw new Error('gbdt: resumeFrom was written for different training data (fingerprint mismatch)');
  }
  const baseline = resumed ? resumed.baseline : priorLogOdds(prep.labels);
  const trees: Tree[] = resumed ? [...resumed.trees] : [];
  // A stream apart from the one that drew the validation rows and the binning sample, saved in checkpoints.
  const rng = resumed ? rngFromState(resumed.rng) : createRng((seed ^ 0x5bd1e995) | 0);
  const validLosses = resumed ? [...resumed.validLosses] : [];
  let stopped = resumed?.stopped ?? false;
  // What the checkpoints so far hold: each new one carries only the trees and losses since.
  const checkpointed = { tree: trees.length, loss: validLosses.length };

  const featureCount = prep.binnings.length;
  const threads = threadCount(options.params, featureCount);
  const raw = new Float64Array(n).fill(baseline);
  for (const tree of trees) addTreeBinned(tree, prep.binned, n, raw);
  const valid = prep.valid;
  const validRaw = valid ? new Float64Array(valid.stride).fill(baseline) : null;
  if (valid && validRaw) for (const tree of trees) addTreeBinned(tree, valid.binned, valid.stride, validRaw);
  const g = threads > 1 ? shared(Float32Array, 4, n) : new Float32Array(n);
  const h = threads > 1 ? shared(Float32Array, 4, n) : new Float32Array(n);
  const reporting = options.onProgress !== undefined;
  let trainLoss = logLossGradients(raw, prep.labels, g, h, reporting);
  if (!resumed && prep.earlyStopping && valid && validRaw)
    validLosses.push(meanLogLoss(validRaw, valid.labels));

  const meta: FeatureMeta = {
    nBins: Int32Array.from(prep.binnings, binCount),
    hasMissing: Uint8Array.from(prep.binnings, (b) => (b.hasMissing ? 1 : 0)),
    categorical: Uint8Array.from(prep.binnings, (b) => (b.kind === 'categorical' ? 1 : 0)),
  };
  const settings: GrowSettings = {
    maxLeafNodes: params.maxLeafNodes,
    maxDepth: params.maxDepth,
    learningRate: params.learningRate,
    colsampleByNode: params.colsampleByNode,
    minSamplesLeaf: params.minSamplesLeaf,
    minHessianToSplit: params.minHessianToSplit,
    l2Regularization: params.l2Regularization,
  };
  const rows = threads > 1 ? shared(Uint32Array, 4, n) : new Uint32Array(n);
  const inBag = new Uint8Array(params.subsample < 1 ? n : 0);
  const bagSize = Math.max(1, Math.round(params.subsample * n));
  let buffers: GrowBuffers = createGrowBuffers(n);
  let team: TeamContext | undefined;
  if (threads > 1) {
    // Everything the helpers read lives in shared memory: the binned matrix, gradients, rows, histograms.
    const binned = shared(Uint8Array, 1, prep.binned.length);
    binned.set(prep.binned);
    const span = FEATURE_SPAN * featureCount;
    const slots = params.maxLeafNodes + 4;
    const hists = shared(Float64Array, 8, slots * span);
    buffers = {
      scratch: buffers.scratch,
      og: shared(Float32Array, 4, n),
      oh: shared(Float32Array, 4, n),
      pool: Array.from({ length: slots }, (_, k) =>
        hists.subarray((slots - 1 - k) * span, (slots - k) * span),
      ),
    };
    const fit = {
      binned,
      stride: n,
      g,
      h,
      og: buffers.og,
      oh: buffers.oh,
      rows,
      hists,
      features: shared(Int32Array, 4, 3 * featureCount),
      meta,
      constraints: {
        minSamplesLeaf: params.minSamplesLeaf,
        minHessianToSplit: params.minHessianToSplit,
        l2Regularization: params.l2Regularization,
      },
    };
    team = { team: gbdtTeam(threads), buffers: fit };
    team.team.startFit(fit);
  }

  while (!stopped && trees.length < params.maxIter) {
    let m = n;
    if (bagSize < n) m = sampleRows(rows, n, bagSize, rng, inBag);
    else for (let i = 0; i < n; i++) rows[i] = i;
    const features = sampleFeatures(featureCount, params.colsampleByTree, rng);
    const bag = rows.subarray(0, m);
    const { tree, leaves } = growTree({
      binned: prep.binned,
      stride: n,
      meta,
      g,
      h,
      rows: bag,
      allRows: m === n,
      features,
      settings,
      rng,
      buffers,
      ...(team ? { team } : {}),
    });
    for (const leaf of leaves) {
      const value = tree[leaf.node]!.value;
      for (let i = leaf.start; i < leaf.end; i++) {
        const r = bag[i]!;
        raw[r] = raw[r]! + value;
      }
    }
    if (m < n) {
      const outOfBag = new Uint32Array(n - m);
      for (let i = 0, k = 0; i < n; i++) if (inBag[i] === 0) outOfBag[k++] = i;
      addTreeBinned(tree, prep.binned, n, raw, outOfBag);
    }
    trees.push(tree);
    trainLoss = logLossGradients(raw, prep.labels, g, h, reporting);
    let validLoss: number | undefined;
    if (valid && validRaw) {
      addTreeBinned(tree, valid.binned, valid.stride, validRaw);
      validLoss = meanLogLoss(validRaw, valid.labels);
      if (prep.earlyStopping) {
        validLosses.push(validLoss);
        stopped = shouldStop(validLosses, params.nIterNoChange, params.tol);
      }
    }
    if (options.onProgress) {
      const every = options.checkpointEvery;
      let checkpoint: Uint8Array | undefined;
      if (every !== undefined && trees.length % every === 0) {
        checkpoint = encodeGbdtCheckpoint(
          {
            params,
            seed,
            fingerprint,
            binnings: prep.binnings,
            baseline,
            trees,
            rng: rng.state(),
            validLosses,
            stopped,
          },
          checkpointed,
        );
        checkpointed.tree = trees.length;
        checkpointed.loss = validLosses.length;
      }
      const progress = {
        step: trees.length,
        totalSteps: params.maxIter,
        trainLoss,
        ...(validLoss === undefined ? {} : { validLoss }),
      };
      options.onProgress(progress, checkpoint);
    }
  }

  if (!reporting) trainLoss = meanLogLoss(raw, prep.labels);
  let bestIteration = trees.length;
  if (validLosses.length > 0) {
    bestIteration = 0;
    for (let k = 1; k < validLosses.length; k++)
      if (validLosses[k]! < validLosses[bestIteration]!) bestIteration = k;
  }
  return createGbdtModel(
    { binnings: prep.binnings, baseline, trees },
    {
      iterations: trees.length,
      bestIteration,
      earlyStopped: stopped,
      earlyStopping: prep.earlyStopping,
      trainLoss,
      ...(validLosses.length > 0 ? { validLoss: validLosses[validLosses.length - 1]! } : {}),
      trainRows: n,
      validationRows: valid?.stride ?? 0,
    },
  );
}
