import type { SlotPermit, SlotReserveContext } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createGpuPool } from '../../workers/gpu-slots.js';

const reserve = (taskQueue: string): SlotReserveContext => ({
  slotType: 'activity',
  taskQueue,
  workerIdentity: 'test',
  workerBuildId: '',
  isSticky: false,
});

/** Resolves to the permit, or to 'pending' while the reservation still waits. */
async function settled(p: Promise<SlotPermit>): Promise<SlotPermit | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}

describe('GPU pool', () => {
  it('hands out one slot per GPU across all GPU queues, and a freed slot to the next waiter', async () => {
    const pool = createGpuPool(2, ['A100', 'A100']);
    const never = new AbortController().signal;
    const a = await settled(pool.slots.reserveSlot(reserve('q.gpu'), never));
    const b = await settled(pool.slots.reserveSlot(reserve('q.gpu.a100'), never));
    expect(a).not.toBe('pending');
    expect(b).not.toBe('pending');
    // A third reservation (either queue) waits: the process never polls for a GPU task it can't start.
    const third = pool.slots.reserveSlot(reserve('q.gpu'), never);
    expect(await settled(third)).toBe('pending');
    expect(pool.slots.tryReserveSlot(reserve('q.gpu'))).toBeNull();
    expect(pool.waiting()).toBe(1);
    pool.slots.releaseSlot({ permit: a });
    expect(await settled(third)).not.toBe('pending');
    expect(pool.waiting()).toBe(0);
  });

  it('gives a freed slot to the queue holding the fewest, so one queue cannot starve another', async () => {
    const pool = createGpuPool(1);
    const never = new AbortController().signal;
    const first = await pool.slots.reserveSlot(reserve('q.gpu'), never);
    const sameQueue = pool.slots.reserveSlot(reserve('q.gpu'), never);
    const otherQueue = pool.slots.reserveSlot(reserve('q.gpu.a100'), never);
    pool.slots.releaseSlot({ permit: first });
    // q.gpu asked first, but after release both hold 0: the tie goes to the first waiter.
    const winner = await Promise.race([sameQueue.then(() => 'q.gpu'), otherQueue.then(() => 'q.gpu.a100')]);
    expect(winner).toBe('q.gpu');
    pool.slots.releaseSlot({ permit: await sameQueue });
    await expect(settled(otherQueue)).resolves.not.toBe('pending');
  });

  it("rejects an aborted reservation with the signal's reason and drops it from the queue", async () => {
    const pool = createGpuPool(1);
    const never = new AbortController().signal;
    const held = await pool.slots.reserveSlot(reserve('q.gpu'), never);
    const abort = new AbortController();
    const waiting = pool.slots.reserveSlot(reserve('q.gpu'), abort.signal);
    abort.abort();
    await expect(waiting).rejects.toBe(abort.signal.reason);
    expect(pool.waiting()).toBe(0);
    pool.slots.releaseSlot({ permit: held });
    expect(pool.slots.tryReserveSlot(reserve('q.gpu'))).not.toBeNull();
  });

  it('gives each running job a GPU of its own and frees it when the job ends, even when it fails', async () => {
    const pool = createGpuPool(2, ['A100-0', 'A100-1']);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: (number | undefined)[] = [];
    const first = pool.withDevice(async (gpu) => {
      seen.push(gpu?.index);
      await gate;
    });
    const second = pool.withDevice(async (gpu) => {
      seen.push(gpu?.index);
      expect(gpu?.name).toBe('A100-1');
      await gate;
      throw new Error('job failed');
    });
    expect(pool.inUse()).toBe(2);
    await expect(pool.withDevice(() => Promise.resolve())).rejects.toThrow(/all 2 GPUs are in use/);
    release();
    await first;
    await expect(second).rejects.toThrow('job failed');
    expect(seen).toEqual([0, 1]);
    expect(pool.inUse()).toBe(0);
  });

  it('runs jobs without a device where there is no GPU (the CPU fallback)', async () => {
    const pool = createGpuPool(0);
    await expect(pool.withDevice((gpu) => Promise.resolve(gpu))).resolves.toBeUndefined();
    const never = new AbortController().signal;
    await pool.slots.reserveSlot(reserve('q.gpu'), never);
    expect(pool.slots.tryReserveSlot(reserve('q.gpu'))).toBeNull();
  });
});
