import { z } from 'zod';

/** Input of the walking-skeleton workflow: proves every layer (queues, artifacts, database) works end to end. */
export const skeletonInputSchema = z
  .object({
    message: z.string().min(1).max(1000),
    /** Task-queue prefix, so isolated stacks (tests) don't share queues. */
    queuePrefix: z.string().min(1).default('slipway'),
  })
  .strict();
export type SkeletonInput = z.infer<typeof skeletonInputSchema>;

export const skeletonStages = ['starting', 'cpu', 'gpu', 'recording', 'done'] as const;
export type SkeletonStage = (typeof skeletonStages)[number];

export interface SkeletonResult {
  readonly artifactUri: string;
  readonly artifactSha256: string;
  readonly cpuWorker: string;
  readonly gpuWorker: string;
  readonly gpuDevice: string;
}

export interface SkeletonStatus {
  readonly stage: SkeletonStage;
  readonly result?: SkeletonResult;
}
