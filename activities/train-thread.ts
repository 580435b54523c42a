// Runs one built-in trainer inside a worker thread (activities/thread-runner.ts), so training never blocks the
// activity worker's event loop (heartbeats, cancellation and other activities keep flowing).
import { trainTestData } from '../ml/dataset.js';
import { columnOf } from '../ml/frame.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import { classNames } from '../ml/ingest/labels.js';
import { decodeSplit } from '../ml/split.js';
import { trainerByName } from '../ml/trainers.js';
import type { TrainProgress } from '../ml/trainer.js';
import { serveThread } from './thread-serve.js';
import { summarizeMetadata } from './trainer-metadata.js';

export interface TrainThreadInput {
  readonly trainer: string;
  readonly params: Record<string, unknown>;
  readonly seed: number;
  readonly checkpointEvery: number;
  frameBytes?: Uint8Array;
  readonly splitBytes: Uint8Array;
  readonly target: string;
  readonly positiveClass?: string;
  readonly drop: readonly string[];
  /** The checkpoints to resume from, oldest first (see `TrainOptions.resumeFrom`). */
  readonly resumeFrom?: readonly Uint8Array[];
}

export interface TrainThreadProgress {
  readonly progress: TrainProgress;
  readonly checkpoint?: Uint8Array;
  /** The checkpoint holds only what changed since the previous one: a retry needs the whole chain. */
  readonly incremental?: boolean;
}

export interface TrainThreadDone {
  readonly onnx: Uint8Array;
  /** The trainer's full metadata as JSON (it can be megabytes: a plan with 50,000 categories). */
  readonly metadataJson: Uint8Array;
  readonly metadataSummary: Record<string, unknown>;
  /** The trainer's own P(class 1) on the test split, to check the ONNX graph against. */
  readonly testPredictions: Float64Array;
  readonly trainRows: number;
  readonly params: Record<string, unknown>;
}

serveThread<TrainThreadInput, TrainThreadDone, TrainThreadProgress>((input, post) => {
  // Decodes the frame and copies out the train and test rows, keeping no reference to the Arrow bytes or the
  // whole frame, so both can be collected before training starts: at 1M x 50 that is the difference between
  // holding the data once and holding it three times.
  const bytes = input.frameBytes!;
  input.frameBytes = undefined;
  const frame = decodeFrameFromArrow(bytes);
  // The class labels as the data writes them, for the gateway's answers and for feedback labels.
  const classes = classNames(columnOf(frame, input.target), input.positiveClass);
  const { train, test } = trainTestData(frame, decodeSplit(input.splitBytes), {
    target: input.target,
    drop: input.drop,
    ...(input.positiveClass ? { positiveClass: input.positiveClass } : {}),
  });
  const trainer = trainerByName(input.trainer);
  let params: unknown;
  try {
    params = trainer.parseParams(input.params);
  } catch (error) {
    throw Object.assign(new Error((error as Error).message), { name: 'InvalidParams' });
  }
  const incremental = trainer.incrementalCheckpoints === true;
  const model = trainer.fit(train, {
    params,
    seed: input.seed,
    checkpointEvery: input.checkpointEvery,
    ...(input.resumeFrom ? { resumeFrom: input.resumeFrom } : {}),
    onProgress: (progress, checkpoint) =>
      post({ progress, ...(checkpoint ? { checkpoint, incremental } : {}) }),
  });
  // classes first: small, so the summary (the registry row the gateway reads) always keeps it.
  const metadata = { classes, ...model.metadata() };
  const done: TrainThreadDone = {
    onnx: model.toOnnx(),
    metadataJson: Buffer.from(JSON.stringify(metadata)),
    metadataSummary: summarizeMetadata(metadata),
    testPredictions: model.predictProba(test.features),
    trainRows: train.labels.length,
    params: params as Record<string, unknown>,
  };
  return { value: done, transfer: [done.testPredictions.buffer as ArrayBuffer] };
});
