import { createRequire } from 'node:module';
import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { EvaluateInput } from '../activities/evaluate.js';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { GpuDevice, TrainInput } from '../activities/train-types.js';
import { taskQueueForTag, type ResourceTag } from '../domain/task-queues.js';
import type { Logger } from '../platform/logger.js';
import { createGpuPool } from './gpu-slots.js';
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
  /** GPUs of this process: one GPU job at a time on each, across all its GPU queues. */
  readonly gpuCount: number;
  /** Their names (nvidia-smi), for the device recorded with each job. */
  readonly gpuNames?: readonly string[];
  readonly maxCpuActivities?: number;
  /** Activity interceptors for every worker of the set (the SDK's own extension point). */
  readonly activityInterceptors?: NonNullable<WorkerOptions['interceptors']>['activity'];
}

/**
 * One Temporal worker per tag: `cpu` polls `<prefix>.cpu` (workflows and CPU activities); `gpu` and `gpu:<class>`
 * poll their GPU queues with activity slots from one GPU pool per process (workers/gpu-slots.ts): at most one job
 * per GPU across all of them, none accepted that can't start, and each job on a GPU of its own.
 */
export async function createWorkerSet(options: WorkerSetOptions): Promise<Worker[]> {
  const gpus = createGpuPool(options.gpuCount, options.gpuNames);
  return Promise.all(
    options.tags.map((tag) => {
      const gpu = tag !== 'cpu';
      const identity = `${options.deps.workerIdentity}/${tag}`;
      // Work on the CPU queue computes on the CPU, also on a machine with GPUs.
      const deps = { ...options.deps, workerIdentity: identity, ...(gpu ? {} : { device: 'cpu' }) };
      const all = createActivities(deps);
      // A GPU job's activities are built for the device it was given: the command trainer's CUDA_VISIBLE_DEVICES,
      // onnxruntime's CUDA device, the device recorded in the result.
      const placed = (device: GpuDevice | undefined) =>
        device
          ? createActivities({ ...deps, gpu: device, device: `cuda:${device.index} (${device.name})` })
          : all;
      const activities = gpu
        ? {
            ...all,
            trainModel: (input: TrainInput) => gpus.withDevice((d) => placed(d).trainModel(input)),
            evaluateModel: (input: EvaluateInput) => gpus.withDevice((d) => placed(d).evaluateModel(input)),
          }
        : all;
      return Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: taskQueueForTag(tag, options.queuePrefix),
        identity,
        activities,
        ...(gpu ? {} : { workflowBundle: options.bundle }),
        ...(gpu
          ? {
              tuner: {
                activityTaskSlotSupplier: gpus.slots,
                workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
                localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
                nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
              },
            }
          : { maxConcurrentActivityTaskExecutions: options.maxCpuActivities ?? 4 }),
        ...(options.activityInterceptors ? { interceptors: { activity: options.activityInterceptors } } : {}),
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
