import { createRequire } from 'node:module';
import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { taskQueueForTag, type ResourceTag } from '../domain/task-queues.js';
import type { Logger } from '../platform/logger.js';
import { createSlots, inGpuSlot } from './gpu-slots.js';
import { temporalLogger } from '../platform/temporal.js';

const require = createRequire(import.meta.url);

/** Bundles the workflows once; every worker of the process reuses the bundle. */
export async function bundleWorkflows(log?: Logger): Promise<WorkflowBundleWithSourceMap> {
  const started = Date.now();
  const bundle = await bundleWorkflowCode({
    ...(log ? { logger: temporalLogger(log) } : {}),
    workflowsPath: require.resolve('../workflows/index.ts'),
    // Workflow sources use NodeNext `.js` specifiers for `.ts` files.
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
    }),
  });
  log?.info({ ms: Date.now() - started }, 'workflow bundle built');
  return bundle;
}

export interface WorkerSetOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly tags: readonly ResourceTag[];
  readonly queuePrefix: string;
  readonly deps: ActivityDeps;
  readonly bundle: WorkflowBundleWithSourceMap;
  /** Activity slots per GPU queue: one job per GPU. */
  readonly gpuCount: number;
  readonly maxCpuActivities?: number;
}

/**
 * One Temporal worker per tag: `cpu` polls `<prefix>.cpu` (workflows and CPU activities); `gpu` and `gpu:<class>`
 * poll their GPU queues with few activity slots, so a GPU never runs two jobs at once.
 */
export async function createWorkerSet(options: WorkerSetOptions): Promise<Worker[]> {
  // Shared by every GPU queue of this process: tags `gpu` and `gpu:a100` on one machine still mean one job per GPU.
  const gpuSlots = createSlots(Math.max(1, options.gpuCount));
  return Promise.all(
    options.tags.map((tag) => {
      const gpu = tag !== 'cpu';
      const identity = `${options.deps.workerIdentity}/${tag}`;
      const all = createActivities({ ...options.deps, workerIdentity: identity });
      const activities = gpu
        ? {
            ...all,
            trainModel: inGpuSlot(gpuSlots, all.trainModel.bind(all)),
            evaluateModel: inGpuSlot(gpuSlots, all.evaluateModel.bind(all)),
          }
        : all;
      return Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: taskQueueForTag(tag, options.queuePrefix),
        identity,
        activities,
        ...(gpu ? {} : { workflowBundle: options.bundle }),
        maxConcurrentActivityTaskExecutions: gpu
          ? Math.max(1, options.gpuCount)
          : (options.maxCpuActivities ?? 4),
        shutdownGraceTime: '10 seconds',
        // Progress (epoch, loss, checkpoint) reaches the status endpoint within a second or two, not every 24 s.
        maxHeartbeatThrottleInterval: '2 seconds',
      });
    }),
  );
}

/** Runs the workers until `signal` aborts, then drains them (in-flight activities finish or time out). */
export async function runWorkerSet(workers: readonly Worker[], signal: AbortSignal): Promise<void> {
  const stop = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  signal.addEventListener('abort', stop, { once: true });
  try {
    // One worker failing stops the others too: a process half-polling its queues is worse than a restart.
    const results = await Promise.allSettled(
      workers.map((w) =>
        w.run().catch((error: unknown) => {
          stop();
          throw error;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
