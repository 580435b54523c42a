import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { TrainingResult } from '../../domain/training.js';
import { loadSpecFile } from '../../platform/spec-file.js';
import { training } from '../../workflows/training.js';

export const examplesDir = join(import.meta.dirname, '..', '..', 'examples');

/** An example spec, with a model name of its own so tests don't share registry rows. */
export async function exampleSpec(
  file: string,
  overrides: Partial<PipelineSpec> = {},
): Promise<PipelineSpec> {
  const spec = await loadSpecFile(join(examplesDir, file));
  return { ...spec, model: `${spec.model}-${randomBytes(3).toString('hex')}`, ...overrides };
}

/** Starts the training workflow on the queues of `prefix` with the plain input a person would type. */
export async function startTraining(
  client: Client,
  spec: PipelineSpec,
  prefix: string,
  options: { cache?: boolean } = {},
) {
  return client.workflow.start(training, {
    workflowId: `training-${spec.model}-${randomBytes(4).toString('hex')}`,
    taskQueue: workflowTaskQueue(prefix),
    args: [{ spec, queuePrefix: prefix, requestedBy: 'test', ...options }],
  });
}

export async function runTraining(
  client: Client,
  spec: PipelineSpec,
  prefix: string,
  options: { cache?: boolean } = {},
): Promise<TrainingResult> {
  return (await startTraining(client, spec, prefix, options)).result();
}
