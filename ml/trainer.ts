import type { Frame } from './frame.js';

/**
 * The contract every built-in trainer (logistic regression, MLP, gradient-boosted trees) implements.
 *
 * Binary classification only for now: labels are 0/1. Training is pure and synchronous CPU work; the caller runs it
 * off the event loop (a worker thread) and turns `onProgress` into Temporal heartbeats and checkpoint artifacts.
 *
 * ONNX contract of every exported model (so serving takes raw features and there is no training/serving skew):
 * - one input per feature, named exactly as the feature column: numeric -> tensor(float) [N,1] (NaN = missing),
 *   categorical -> tensor(string) [N,1] ("" = missing; unseen categories go to an unknown bucket);
 * - outputs `label` tensor(int64) [N] and `probabilities` tensor(float) [N,2] (columns: class 0, class 1);
 * - preprocessing (imputation, standardization, one-hot) lives inside the graph.
 */
export interface TrainingData {
  /** Feature columns only (the target is not among them). */
  readonly features: Frame;
  /** 0/1 per row. */
  readonly labels: Uint8Array;
}

export interface TrainProgress {
  /** Unit of work done so far (epochs for LR/MLP, trees for GBDT) and the planned total. */
  readonly step: number;
  readonly totalSteps: number;
  readonly trainLoss: number;
  readonly validLoss?: number;
}

export interface TrainOptions<P> {
  readonly params: P;
  readonly seed: number;
  /** Called after each step. `checkpoint` is present every `checkpointEvery` steps: opaque bytes to resume from. */
  readonly onProgress?: (progress: TrainProgress, checkpoint?: Uint8Array) => void;
  readonly checkpointEvery?: number;
  /**
   * Bytes from earlier `onProgress` checkpoints: training continues from the last. A trainer with
   * `incrementalCheckpoints` needs the whole chain since its first checkpoint, oldest first; the others read only
   * the last (see {@link latestCheckpoint}).
   */
  readonly resumeFrom?: Uint8Array | readonly Uint8Array[];
  /** Optional held-out data for early stopping (trainers may also carve their own validation fraction). */
  readonly validation?: TrainingData;
}

export interface FittedModel {
  /** P(label = 1) for each row of `features`, computed the way the ONNX graph does (to 1e-5). */
  predictProba(features: Frame): Float64Array;
  /** The ONNX model bytes (see the contract above). */
  toOnnx(): Uint8Array;
  /** Small JSON-safe facts for the registry: e.g. feature importances, iterations actually run. */
  metadata(): Record<string, unknown>;
}

export interface Trainer<P> {
  readonly name: string;
  /**
   * Each checkpoint holds only what changed since the previous one (GBDT: the new trees), so resuming takes the
   * chain; the store keeps every link while the run may resume. Otherwise each checkpoint is complete.
   */
  readonly incrementalCheckpoints?: boolean;
  /** Validates and fills defaults; throws a clear error naming the bad parameter. */
  parseParams(raw: unknown): P;
  fit(data: TrainingData, options: TrainOptions<P>): FittedModel;
}

/** The checkpoint a trainer with complete checkpoints resumes from: the last of the chain it is given. */
export function latestCheckpoint(resumeFrom: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const last = resumeFrom instanceof Uint8Array ? resumeFrom : resumeFrom[resumeFrom.length - 1];
  if (!last) throw new Error('resumeFrom is an empty list of checkpoints');
  return last;
}
