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
  /**
   * The trainer's full metadata (preprocessing plan, coefficients, importances) as a JSON artifact: it can be
   * megabytes, and workflow history carries only its uri, sha256 and summary.
   */
  readonly metadataUri?: string;
  readonly metadataSha256?: string;
  /** The metadata's small entries (see summarizeMetadata). */
  readonly metadataSummary?: Record<string, unknown>;
  /** Inline metadata: what a trainer returns before it is stored, and results recorded by earlier code. */
  readonly metadata?: Record<string, unknown>;
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

/** The GPU a job runs on: its index among the worker's GPUs (CUDA_VISIBLE_DEVICES, onnxruntime's deviceId). */
export interface GpuDevice {
  readonly index: number;
  readonly name: string;
}

export interface TrainDeps {
  /** The command trainers this worker's operator registered, by name; none by default. */
  readonly commandTrainers?: readonly CommandTrainer[];
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly workerIdentity: string;
  /** What the job computes on, as recorded in the result: `cpu`, or the GPU's label. */
  readonly device: string;
  /** The GPU this job was given on a GPU worker (one per job); absent on CPU and on GPU tags without a GPU. */
  readonly gpu?: GpuDevice;
}

// Checkpoints live in checkpoints.ts; both trainer kinds store theirs through it.
export { checkpointSegment, storeCheckpoint } from './checkpoints.js';
