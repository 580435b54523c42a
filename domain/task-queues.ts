import { z } from 'zod';

/** A worker's resource tag: `cpu`, `gpu`, or `gpu:<class>` (e.g. `gpu:a100`). */
export const resourceTagSchema = z
  .string()
  .regex(
    /^(cpu|gpu|gpu:[a-z0-9_-]+)$/,
    'expected cpu, gpu or gpu:<class> (lower-case letters, digits, _ and -)',
  );
export type ResourceTag = z.infer<typeof resourceTagSchema>;

/** What a pipeline stage asks for. */
export const resourcesSchema = z
  .object({
    gpu: z.number().int().min(0).max(16).default(0),
    gpuClass: z
      .string()
      .regex(/^[a-z0-9_-]+$/, 'expected a GPU class such as a100 (lower-case letters, digits, _ and -)')
      .optional(),
  })
  .strict()
  .refine((r) => r.gpuClass === undefined || r.gpu > 0, {
    message: 'gpuClass needs gpu >= 1',
    path: ['gpuClass'],
  });
export type Resources = z.infer<typeof resourcesSchema>;

export const defaultQueuePrefix = 'slipway';

/** The task queue a worker with `tag` polls: `slipway.cpu`, `slipway.gpu`, `slipway.gpu.<class>`. */
export function taskQueueForTag(tag: ResourceTag, prefix: string = defaultQueuePrefix): string {
  if (tag === 'cpu') return `${prefix}.cpu`;
  if (tag === 'gpu') return `${prefix}.gpu`;
  return `${prefix}.gpu.${tag.slice('gpu:'.length)}`;
}

/** The task queue for work needing `resources`: the CPU queue, the generic GPU queue, or a GPU class's queue. */
export function taskQueueFor(
  resources: Partial<Resources> | undefined,
  prefix: string = defaultQueuePrefix,
): string {
  const gpu = resources?.gpu ?? 0;
  if (gpu <= 0) return taskQueueForTag('cpu', prefix);
  return resources?.gpuClass
    ? taskQueueForTag(`gpu:${resources.gpuClass}`, prefix)
    : taskQueueForTag('gpu', prefix);
}

/** Parses a comma-separated tag list, dropping duplicates; throws naming the bad tag. */
export function parseResourceTags(list: string): ResourceTag[] {
  const tags = list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (tags.length === 0) throw new Error('worker tags: expected at least one of cpu, gpu, gpu:<class>');
  for (const tag of tags) {
    const parsed = resourceTagSchema.safeParse(tag);
    if (!parsed.success)
      throw new Error(`worker tag "${tag}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return [...new Set(tags)];
}

/** The workflow task queue: workflows are orchestration only and run on CPU workers. */
export function workflowTaskQueue(prefix: string = defaultQueuePrefix): string {
  return taskQueueForTag('cpu', prefix);
}
