import type { PipelineSpec } from '../domain/pipeline-spec.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { CommandTrainer } from '../platform/command-trainers.js';
import type { Logger } from '../platform/logger.js';

export interface TrainInput {
  readonly runId: string;
  readonly spec: PipelineSpec;
  readonly frameUri: string;
  readonly frameSha256: string;
  readonly splitUri: string;
  readonly splitSha256: string;
}

/** What the train activity heartbeats: progress, and the latest checkpoint a retry resumes from. */
export interface TrainHeartbeat {
  readonly step: number;
  readonly totalSteps: number;
  readonly trainLoss?: number;
  readonly validLoss?: number;
  readonly checkpointUri?: string;
  readonly checkpointSha256?: string;
  readonly checkpointStep?: number;
}

export interface TrainOutput {
  readonly modelUri: string;
  readonly modelSha256: string;
  readonly trainer: string;
  readonly params: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  /** The trainer's own test-split scores (Float64, little-endian), when it can score in memory. */
  readonly trainerPredictionsUri?: string;
  readonly trainerPredictionsSha256?: string;
  /** The step a retry resumed from (absent for a fresh start). */
  readonly resumedFromStep?: number;
  readonly steps: number;
  readonly seconds: number;
  readonly worker: string;
  readonly device: string;
}

export interface TrainDeps {
  /** The command trainers this worker's operator registered, by name; none by default. */
  readonly commandTrainers?: readonly CommandTrainer[];
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly workerIdentity: string;
  readonly device: string;
}

/** Stores a checkpoint under the run's prefix and returns the heartbeat fields that point a retry at it. */
export async function storeCheckpoint(
  store: ArtifactStore,
  runId: string,
  bytes: Uint8Array,
  step: number,
): Promise<Pick<TrainHeartbeat, 'checkpointUri' | 'checkpointSha256' | 'checkpointStep'>> {
  const put = await store.putContent(bytes, {
    prefix: `checkpoints/${checkpointSegment(runId)}`,
    ext: 'ckpt',
  });
  return { checkpointUri: put.uri, checkpointSha256: put.sha256, checkpointStep: step };
}

/** A run id as one artifact-key segment (run ids carry `:`, which keys don't allow). */
export function checkpointSegment(runId: string): string {
  return runId.replace(/[^A-Za-z0-9_\-=+,@~.]/g, '_');
}
