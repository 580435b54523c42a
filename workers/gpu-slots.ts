import { Context } from '@temporalio/activity';

/** At most `size` jobs at once, first come first served: one job per GPU across all of a process's GPU queues. */
export function createSlots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  const acquire = () =>
    free > 0 ? (free--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve));
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    async run<T>(job: () => Promise<T>): Promise<T> {
      await acquire();
      try {
        return await job();
      } finally {
        release();
      }
    },
    /** Jobs waiting for a slot (for tests and metrics). */
    waiting: () => waiting.length,
  };
}

export type Slots = ReturnType<typeof createSlots>;

/**
 * Wraps an activity so it runs in a GPU slot. While it waits it keeps heartbeating the details it started with, so
 * the wait neither looks like a dead worker nor loses the checkpoint a retry resumes from.
 */
export function inGpuSlot<A extends unknown[], R>(
  slots: Slots,
  activity: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const ctx = Context.current();
    const details: unknown = ctx.info.heartbeatDetails;
    const timer = setInterval(() => ctx.heartbeat(details), 5000);
    let started = false;
    try {
      return await slots.run(() => {
        started = true;
        clearInterval(timer);
        return activity(...args);
      });
    } finally {
      if (!started) clearInterval(timer);
    }
  };
}
