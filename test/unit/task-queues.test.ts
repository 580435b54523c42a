import { describe, expect, it } from 'vitest';
import {
  parseResourceTags,
  resourcesSchema,
  taskQueueFor,
  taskQueueForTag,
} from '../../domain/task-queues.js';

describe('task queues', () => {
  it('names the queues of each tag', () => {
    expect(taskQueueForTag('cpu')).toBe('slipway.cpu');
    expect(taskQueueForTag('gpu')).toBe('slipway.gpu');
    expect(taskQueueForTag('gpu:a100')).toBe('slipway.gpu.a100');
    expect(taskQueueForTag('gpu', 't-x')).toBe('t-x.gpu');
  });

  it('routes work by the resources it asks for', () => {
    expect(taskQueueFor(undefined)).toBe('slipway.cpu');
    expect(taskQueueFor({ gpu: 0 })).toBe('slipway.cpu');
    expect(taskQueueFor({ gpu: 1 })).toBe('slipway.gpu');
    expect(taskQueueFor({ gpu: 2, gpuClass: 'a100' })).toBe('slipway.gpu.a100');
  });

  it('parses tag lists and names a bad tag', () => {
    expect(parseResourceTags('cpu, gpu,gpu:h100,cpu')).toEqual(['cpu', 'gpu', 'gpu:h100']);
    expect(() => parseResourceTags('cpu,tpu')).toThrow(/"tpu"/);
    expect(() => parseResourceTags(' , ')).toThrow(/at least one/);
  });

  it('refuses a GPU class without a GPU', () => {
    const parsed = resourcesSchema.safeParse({ gpu: 0, gpuClass: 'a100' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['gpuClass']);
  });
});
