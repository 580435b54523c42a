// Runs one built-in trainer inside a worker thread, so training never blocks the activity worker's event loop
// (heartbeats, cancellation and other activities keep flowing). Talks to its parent by messages only.
import { parentPort, workerData } from 'node:worker_threads';
import { trainTestData } from '../ml/dataset.js';
import { columnOf } from '../ml/frame.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import { classNames } from '../ml/ingest/labels.js';
import { decodeSplit } from '../ml/split.js';
import { trainerByName } from '../ml/trainers.js';
import type { TrainProgress } from '../ml/trainer.js';

export interface TrainThreadInput {
  readonly entry: string;
  readonly trainer: string;
  readonly params: Record<string, unknown>;
  readonly seed: number;
  readonly checkpointEvery: number;
  readonly frameBytes: Uint8Array;
  readonly splitBytes: Uint8Array;
  readonly target: string;
  readonly positiveClass?: string;
  readonly drop: readonly string[];
  readonly resumeFrom?: Uint8Array;
}

export type TrainThreadMessage =
  | { type: 'progress'; progress: TrainProgress; checkpoint?: Uint8Array }
  | {
      type: 'done';
      onnx: Uint8Array;
      metadata: Record<string, unknown>;
      /** The trainer's own P(class 1) on the test split, to check the ONNX graph against. */
      testPredictions: Float64Array;
      trainRows: number;
      params: Record<string, unknown>;
    }
  | { type: 'error'; message: string; name: string };

const input = workerData as TrainThreadInput;
const port = parentPort!;

/**
 * Decodes the frame and copies out the train and test rows, keeping no reference to the Arrow bytes or the whole
 * frame, so both can be collected before training starts: at 1M x 50 that is the difference between holding the
 * data once and holding it three times.
 */
function takeData(): ReturnType<typeof trainTestData> & { classes: [string, string] } {
  const bytes = input.frameBytes;
  (input as { frameBytes?: Uint8Array }).frameBytes = undefined;
  const frame = decodeFrameFromArrow(bytes);
  // The class labels as the data writes them, for the gateway's answers and for feedback labels.
  const classes = classNames(columnOf(frame, input.target), input.positiveClass);
  return {
    classes,
    ...trainTestData(frame, decodeSplit(input.splitBytes), {
      target: input.target,
      drop: input.drop,
      ...(input.positiveClass ? { positiveClass: input.positiveClass } : {}),
    }),
  };
}

try {
  const { train, test, classes } = takeData();
  const trainer = trainerByName(input.trainer);
  let params: unknown;
  try {
    params = trainer.parseParams(input.params);
  } catch (error) {
    throw Object.assign(new Error((error as Error).message), { name: 'InvalidParams' });
  }
  const model = trainer.fit(train, {
    params,
    seed: input.seed,
    checkpointEvery: input.checkpointEvery,
    ...(input.resumeFrom ? { resumeFrom: input.resumeFrom } : {}),
    onProgress: (progress, checkpoint) => {
      const message: TrainThreadMessage = {
        type: 'progress',
        progress,
        ...(checkpoint ? { checkpoint } : {}),
      };
      port.postMessage(message);
    },
  });
  const done: TrainThreadMessage = {
    type: 'done',
    onnx: model.toOnnx(),
    metadata: { ...model.metadata(), classes },
    testPredictions: model.predictProba(test.features),
    trainRows: train.labels.length,
    params: params as Record<string, unknown>,
  };
  port.postMessage(done);
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  const message: TrainThreadMessage = { type: 'error', message: e.message, name: e.name };
  port.postMessage(message);
}
