import { Worker } from 'node:worker_threads';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { runCommandTrainer } from './command-trainer.js';
import { keepHeartbeating } from './heartbeat.js';
import {
  storeCheckpoint,
  type TrainDeps,
  type TrainHeartbeat,
  type TrainInput,
  type TrainOutput,
} from './train-types.js';
import type { TrainThreadInput, TrainThreadMessage } from './train-thread.js';

const threadBoot = new URL('./thread-boot.mjs', import.meta.url);
const threadEntry = new URL('./train-thread.ts', import.meta.url).href;

/** The bytes in an ArrayBuffer of their own (a Buffer may be a slice of a shared pool, which can't be transferred). */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes);
}

/** Runs a built-in trainer in a worker thread; heartbeats every step and saves checkpoints as artifacts. */
async function trainBuiltIn(
  deps: TrainDeps,
  input: TrainInput,
  resume: TrainHeartbeat | undefined,
): Promise<TrainOutput> {
  const ctx = Context.current();
  const { spec } = input;
  if (spec.trainer.kind !== 'builtin') throw new Error('not a built-in trainer');
  const started = Date.now();
  const stopEarly = keepHeartbeating(ctx, () => resume ?? { step: 0, totalSteps: 0 });
  const [frameBytes, splitBytes, resumeBytes] = await Promise.all([
    deps.store.get(input.frameUri, { expectSha256: input.frameSha256 }),
    deps.store.get(input.splitUri, { expectSha256: input.splitSha256 }),
    resume?.checkpointUri
      ? deps.store.get(resume.checkpointUri, { expectSha256: resume.checkpointSha256 })
      : undefined,
  ]);
  const workerData: TrainThreadInput = {
    entry: threadEntry,
    trainer: spec.trainer.name,
    params: spec.trainer.params,
    seed: spec.seed,
    checkpointEvery: spec.checkpointEvery,
    frameBytes: ownBuffer(frameBytes),
    splitBytes,
    target: spec.target,
    drop: spec.drop,
    ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
    ...(resumeBytes ? { resumeFrom: resumeBytes } : {}),
  };
  stopEarly();
  // The frame's bytes move to the thread instead of being copied (they can be hundreds of MB).
  const thread = new Worker(threadBoot, {
    workerData,
    transferList: [workerData.frameBytes.buffer as ArrayBuffer],
  });
  const abort = () => void thread.terminate();
  ctx.cancellationSignal.addEventListener('abort', abort, { once: true });

  let latest: TrainHeartbeat = resume ?? { step: 0, totalSteps: 0 };
  const stopHeartbeats = keepHeartbeating(ctx, () => latest);
  // Checkpoint uploads run in message order; a heartbeat names a checkpoint only once it is stored.
  let chain: Promise<void> = Promise.resolve();
  try {
    const done = await new Promise<Extract<TrainThreadMessage, { type: 'done' }>>((resolve, reject) => {
      thread.on('message', (message: TrainThreadMessage) => {
        if (message.type === 'progress') {
          const { progress, checkpoint } = message;
          chain = chain.then(async () => {
            let next: TrainHeartbeat = {
              ...latest,
              step: progress.step,
              totalSteps: progress.totalSteps,
              trainLoss: progress.trainLoss,
              ...(progress.validLoss !== undefined ? { validLoss: progress.validLoss } : {}),
            };
            if (checkpoint) {
              next = {
                ...next,
                ...(await storeCheckpoint(deps.store, input.runId, checkpoint, progress.step)),
              };
            }
            latest = next;
            ctx.heartbeat(latest);
          });
          // A checkpoint that can't be stored fails the attempt (a retry resumes from the previous one).
          chain.catch((error: unknown) => reject(error instanceof Error ? error : new Error(String(error))));
        } else if (message.type === 'done') {
          resolve(message);
        } else {
          const failure =
            message.name === 'InvalidParams' || message.name === 'DataError'
              ? ApplicationFailure.nonRetryable(message.message, message.name)
              : new Error(message.message);
          reject(failure);
        }
      });
      thread.on('error', reject);
      thread.on('exit', (code) =>
        reject(new Error(`training thread exited (code ${code}) before it finished`)),
      );
    });
    await chain;
    const [model, predictions] = await Promise.all([
      deps.store.putContent(done.onnx, { prefix: 'models', ext: 'onnx' }),
      deps.store.putContent(
        new Uint8Array(
          done.testPredictions.buffer,
          done.testPredictions.byteOffset,
          done.testPredictions.byteLength,
        ),
        {
          prefix: 'predictions',
          ext: 'f64',
        },
      ),
    ]);
    return {
      modelUri: model.uri,
      modelSha256: model.sha256,
      trainer: spec.trainer.name,
      params: done.params,
      metadata: done.metadata,
      trainerPredictionsUri: predictions.uri,
      trainerPredictionsSha256: predictions.sha256,
      ...(resume?.checkpointStep !== undefined ? { resumedFromStep: resume.checkpointStep } : {}),
      steps: latest.step,
      seconds: (Date.now() - started) / 1000,
      worker: deps.workerIdentity,
      device: deps.device,
    };
  } finally {
    stopHeartbeats();
    ctx.cancellationSignal.removeEventListener('abort', abort);
    await thread.terminate();
  }
}

/** The train stage: built-in trainers in a worker thread, `command` trainers as a child process. */
export function createTrainActivities(deps: TrainDeps) {
  return {
    async trainModel(input: TrainInput): Promise<TrainOutput> {
      const ctx = Context.current();
      const resume = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
      const log = deps.log.child({ component: 'train', runId: input.runId, attempt: ctx.info.attempt });
      if (resume?.checkpointUri) log.info({ step: resume.checkpointStep }, 'resuming from checkpoint');
      if (input.spec.trainer.kind === 'command') return runCommandTrainer(deps, input, resume);
      return trainBuiltIn(deps, input, resume);
    },
  };
}

export type TrainActivities = ReturnType<typeof createTrainActivities>;
