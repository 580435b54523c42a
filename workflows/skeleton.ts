import { defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SkeletonActivities } from '../activities/skeleton.js';
import type { SkeletonInput, SkeletonResult, SkeletonStage, SkeletonStatus } from '../domain/skeleton.js';
import { taskQueueFor } from '../domain/task-queues.js';

export const skeletonStatusQuery = defineQuery<SkeletonStatus>('status');

/**
 * The walking skeleton: one activity on the CPU queue writes an artifact, one on the GPU queue reads it back
 * (verifying its sha256), and a last CPU activity records the run in the database.
 */
export async function skeleton(input: SkeletonInput): Promise<SkeletonResult> {
  let stage: SkeletonStage = 'starting';
  let result: SkeletonResult | undefined = undefined;
  setHandler(skeletonStatusQuery, () => ({ stage, ...(result ? { result } : {}) }));

  const options = { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } } as const;
  const cpu = proxyActivities<SkeletonActivities>({
    ...options,
    taskQueue: taskQueueFor({ gpu: 0 }, input.queuePrefix),
  });
  const gpu = proxyActivities<SkeletonActivities>({
    ...options,
    taskQueue: taskQueueFor({ gpu: 1 }, input.queuePrefix),
  });
  const { workflowId } = workflowInfo();

  stage = 'cpu';
  const written = await cpu.skeletonWriteArtifact({ workflowId, message: input.message });
  stage = 'gpu';
  const checked = await gpu.skeletonReadArtifact({ uri: written.uri, sha256: written.sha256 });
  stage = 'recording';
  result = {
    artifactUri: written.uri,
    artifactSha256: written.sha256,
    cpuWorker: written.worker,
    gpuWorker: checked.worker,
    gpuDevice: checked.device,
  };
  await cpu.skeletonRecordRun({ runKey: workflowId, workflowId, ...result });
  stage = 'done';
  return result;
}
