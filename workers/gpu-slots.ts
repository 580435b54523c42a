// One job per GPU, enforced where Temporal hands out work: a GPU worker's activity slots come from a custom slot
// supplier (the SDK's worker tuner) shared by all of the process's GPU task queues (`gpu`, `gpu:a100`...). The SDK
// reserves a slot before it polls, so a process with N GPUs never holds more than N GPU tasks, and never accepts
// one it can't start at once: a job waiting for a GPU stays in Temporal's queue, where an idle GPU worker on
// another machine takes it. Each running job gets a GPU of its own.
import type {
  ActivitySlotInfo,
  CustomSlotSupplier,
  SlotPermit,
  SlotReleaseContext,
  SlotReserveContext,
} from '@temporalio/worker';
import type { GpuDevice } from '../activities/train-types.js';

interface Permit extends SlotPermit {
  readonly taskQueue: string;
}

interface Waiter {
  readonly taskQueue: string;
  readonly grant: (permit: Permit) => void;
}

/**
 * The GPUs of one worker process: `slots` is the activity slot supplier every GPU queue's worker uses, and
 * `withDevice` gives a running job a GPU of its own. With `count` 0 (GPU tags on a machine without a GPU) there is
 * one slot and no device: the job runs on the CPU fallback.
 */
export function createGpuPool(count: number, names: readonly string[] = []) {
  const size = Math.max(1, count);
  let free = size;
  const held = new Map<string, number>();
  const waiting: Waiter[] = [];
  const grant = (taskQueue: string): Permit => {
    held.set(taskQueue, (held.get(taskQueue) ?? 0) + 1);
    return { taskQueue };
  };
  const devices: boolean[] = Array.from({ length: count }, () => false);

  const slots: CustomSlotSupplier<ActivitySlotInfo> = {
    type: 'custom',
    reserveSlot(ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
      if (free > 0) {
        free--;
        return Promise.resolve(grant(ctx.taskQueue));
      }
      return new Promise<SlotPermit>((resolve, reject) => {
        const waiter: Waiter = {
          taskQueue: ctx.taskQueue,
          grant: (permit) => {
            abortSignal.removeEventListener('abort', onAbort);
            resolve(permit);
          },
        };
        // Rejected with the signal's own reason: the SDK takes that as a clean abort (worker shutdown), not an error.
        const onAbort = () => {
          const i = waiting.indexOf(waiter);
          if (i >= 0) waiting.splice(i, 1);
          reject(abortSignal.reason as Error);
        };
        if (abortSignal.aborted) return onAbort();
        abortSignal.addEventListener('abort', onAbort, { once: true });
        waiting.push(waiter);
      });
    },
    tryReserveSlot(ctx: SlotReserveContext): SlotPermit | null {
      if (free <= 0) return null;
      free--;
      return grant(ctx.taskQueue);
    },
    markSlotUsed(): void {},
    releaseSlot(ctx: SlotReleaseContext<ActivitySlotInfo>): void {
      const queue = (ctx.permit as Permit).taskQueue;
      held.set(queue, Math.max(0, (held.get(queue) ?? 1) - 1));
      if (waiting.length === 0) {
        free++;
        return;
      }
      // A freed slot goes to the queue holding the fewest (first come among equals), so one queue's idle polls
      // can't keep another queue's work waiting for long.
      let pick = 0;
      for (let i = 1; i < waiting.length; i++) {
        if ((held.get(waiting[i]!.taskQueue) ?? 0) < (held.get(waiting[pick]!.taskQueue) ?? 0)) pick = i;
      }
      const [next] = waiting.splice(pick, 1);
      next!.grant(grant(next!.taskQueue));
    },
  };

  return {
    slots,
    /** GPUs in the pool (0: the CPU fallback). */
    count,
    /**
     * Runs `job` on a free GPU of its own (the lowest free index) and frees it after. Slots never exceed GPUs, so
     * a job finds one free; `job` gets undefined where the pool has no GPU.
     */
    async withDevice<T>(job: (gpu: GpuDevice | undefined) => Promise<T>): Promise<T> {
      if (count === 0) return job(undefined);
      const index = devices.indexOf(false);
      if (index < 0) throw new Error(`all ${count} GPUs are in use: a job started without a free GPU`);
      devices[index] = true;
      try {
        return await job({ index, name: names[index] ?? `GPU ${index}` });
      } finally {
        devices[index] = false;
      }
    },
    /** For tests and metrics: reservations waiting for a slot, and GPUs in use. */
    waiting: () => waiting.length,
    inUse: () => devices.filter(Boolean).length,
  };
}

export type GpuPool = ReturnType<typeof createGpuPool>;
