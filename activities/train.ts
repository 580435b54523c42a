import { Context } from '@temporalio/activity';
import { findResumePoint, storeCheckpoint, type CheckpointRef, type ResumePoint } from './checkpoints.js';
import { runCommandTrainer } from './command-trainer.js';
import { keepHeartbeating } from './heartbeat.js';
import { ownBuffer, runInThread } from './thread-runner.js';
import type { TrainThreadDone, TrainThreadInput, TrainThreadProgress } from './train-thread.js';
import { storeMetadata } from './trainer-metadata.js';
import type { TrainDeps, TrainHeartbeat, TrainInput, TrainOutput } from './train-types.js';

const threadEntry = new URL('./train-thread.ts', import.meta.url);

/** Runs a built-in trainer in a worker thread; heartbeats every step and stores checkpoints as artifacts. */
async function trainBuiltIn(
  deps: TrainDeps,
  input: TrainInput,
  resume: ResumePoint | undefined,
  ctx: Context,
  latest: { beat: TrainHeartbeat },
): Promise<TrainOutput> {
  const { spec } = input;
  if (spec.trainer.kind !== 'builtin') throw new Error('not a built-in trainer');
  const started = Date.now();
  const [frameBytes, splitBytes] = await Promise.all([
    deps.store.get(input.frameUri, { expectSha256: input.frameSha256 }),
    deps.store.get(input.splitUri, { expectSha256: input.splitSha256 }),
  ]);
  const frame = ownBuffer(frameBytes);
  const threadInput: TrainThreadInput = {
    trainer: spec.trainer.name,
    params: spec.trainer.params,
    seed: spec.seed,
    checkpointEvery: spec.checkpointEvery,
    frameBytes: frame,
    splitBytes,
    target: spec.target,
    drop: spec.drop,
    ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
    ...(resume ? { resumeFrom: resume.chain } : {}),
  };
  // Checkpoint uploads run in message order; a heartbeat names a checkpoint only once it is stored.
  let chain: Promise<void> = Promise.resolve();
  let previous: CheckpointRef | undefined = resume?.newest;
  let failed: Error | undefined;
  // A checkpoint that can't be stored stops the thread and fails the attempt (a retry resumes from the one before).
  const storeFailed = new AbortController();
  const done = await runInThread<TrainThreadDone, TrainThreadProgress>({
    entry: threadEntry,
    input: threadInput,
    // The frame's bytes move to the thread instead of being copied (they can be hundreds of MB).
    transfer: [frame.buffer],
    signal: AbortSignal.any([ctx.cancellationSignal, storeFailed.signal]),
    onProgress: ({ progress, checkpoint, incremental }) => {
      chain = chain.then(async () => {
        let next: TrainHeartbeat = {
          ...latest.beat,
          step: progress.step,
          totalSteps: progress.totalSteps,
          trainLoss: progress.trainLoss,
          ...(progress.validLoss !== undefined ? { validLoss: progress.validLoss } : {}),
        };
        if (checkpoint) {
          const stored = await storeCheckpoint(
            deps.store,
            input.runId,
            checkpoint,
            progress.step,
            incremental ? previous : undefined,
          );
          previous = { step: progress.step, attempt: ctx.info.attempt };
          next = { ...next, ...stored };
        }
        latest.beat = next;
        ctx.heartbeat(next);
      });
      chain.catch((error: unknown) => {
        failed ??= error instanceof Error ? error : new Error(String(error));
        storeFailed.abort();
      });
    },
  }).catch((error: unknown) => {
    throw failed ?? error;
  });
  await chain;
  const [model, predictions, metadata] = await Promise.all([
    deps.store.putContent(done.onnx, { prefix: 'models', ext: 'onnx' }),
    deps.store.putContent(
      new Uint8Array(
        done.testPredictions.buffer,
        done.testPredictions.byteOffset,
        done.testPredictions.byteLength,
      ),
      { prefix: 'predictions', ext: 'f64' },
    ),
    deps.store.putContent(done.metadataJson, {
      prefix: 'trainer-metadata',
      ext: 'json',
      contentType: 'application/json',
    }),
  ]);
  return {
    modelUri: model.uri,
    modelSha256: model.sha256,
    trainer: spec.trainer.name,
    params: done.params,
    metadataUri: metadata.uri,
    metadataSha256: metadata.sha256,
    metadataSummary: done.metadataSummary,
    trainerPredictionsUri: predictions.uri,
    trainerPredictionsSha256: predictions.sha256,
    ...(resume ? { resumedFromStep: resume.newest.step } : {}),
    steps: latest.beat.step,
    seconds: (Date.now() - started) / 1000,
    worker: deps.workerIdentity,
    device: deps.device,
  };
}

/**
 * The heartbeat a command trainer resumes from: the newest complete checkpoint in the store, or for a run whose
 * checkpoints were written by earlier code, the one its last heartbeat names.
 */
function commandResume(
  found: ResumePoint | undefined,
  beat: TrainHeartbeat | undefined,
): TrainHeartbeat | undefined {
  if (!found) return beat?.checkpointUri ? beat : undefined;
  return {
    ...(beat ?? { step: 0, totalSteps: 0 }),
    checkpointUri: found.newest.uri,
    checkpointSha256: found.newest.sha256,
    checkpointStep: found.newest.step,
  };
}

/** The train stage: built-in trainers in a worker thread, `command` trainers as a child process. */
export function createTrainActivities(deps: TrainDeps) {
  return {
    async trainModel(input: TrainInput): Promise<TrainOutput> {
      const ctx = Context.current();
      const beat = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
      const log = deps.log.child({ component: 'train', runId: input.runId, attempt: ctx.info.attempt });
      const latest = { beat: beat ?? { step: 0, totalSteps: 0 } };
      // One heartbeat loop from the first line to the last, stopped on every path out: downloads, the thread's
      // start and the uploads never look like a dead worker, and nothing keeps beating after the activity ends.
      const stopHeartbeats = keepHeartbeating(ctx, () => latest.beat);
      try {
        const found =
          ctx.info.attempt > 1 || beat ? await findResumePoint(deps.store, input.runId) : undefined;
        if (found)
          log.info({ step: found.newest.step, links: found.chain.length }, 'resuming from checkpoint');
        let output: TrainOutput;
        if (input.spec.trainer.kind === 'command') {
          // The command trainer heartbeats its own progress lines from here on.
          stopHeartbeats();
          output = await runCommandTrainer(deps, input, commandResume(found, beat));
        } else {
          if (!found && beat?.checkpointUri) {
            // Written by earlier code (no step in its key): a single complete checkpoint.
            const bytes = await deps.store.get(beat.checkpointUri, { expectSha256: beat.checkpointSha256 });
            const step = beat.checkpointStep ?? 0;
            output = await trainBuiltIn(
              deps,
              input,
              { chain: [bytes], newest: { step, attempt: 0, uri: beat.checkpointUri, sha256: '' } },
              ctx,
              latest,
            );
          } else {
            output = await trainBuiltIn(deps, input, found, ctx, latest);
          }
        }
        if (output.metadataUri || !output.metadata) return output;
        // A command trainer's metadata (its metrics file) goes to an artifact like a built-in trainer's.
        const { metadata, ...rest } = output;
        return { ...rest, ...(await storeMetadata(deps.store, metadata)) };
      } catch (error) {
        // Stopped because the run was cancelled (a killed trainer exits with an error of its own): report the
        // attempt as cancelled, so the run ends cancelled rather than failed.
        const reason: unknown = ctx.cancellationSignal.reason;
        if (ctx.cancellationSignal.aborted && reason instanceof Error) throw reason;
        throw error;
      } finally {
        stopHeartbeats();
      }
    },
  };
}

export type TrainActivities = ReturnType<typeof createTrainActivities>;
