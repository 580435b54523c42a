import { describe, expect, it, vi } from 'vitest';
import { createSlots } from '../../workers/gpu-slots.js';

describe('GPU slots', () => {
  it('runs at most `size` jobs at once, in arrival order, and frees a slot when a job fails', async () => {
    const slots = createSlots(1);
    const log: string[] = [];
    let release!: () => void;
    const first = slots.run(async () => {
      log.push('a start');
      await new Promise<void>((r) => (release = r));
      log.push('a end');
    });
    const second = slots.run(() => {
      log.push('b start');
      return Promise.reject(new Error('b failed'));
    });
    const third = slots.run(() => {
      log.push('c start');
      return Promise.resolve(3);
    });
    await vi.waitFor(() => expect(slots.waiting()).toBe(2));
    expect(log).toEqual(['a start']);
    release();
    await first;
    await expect(second).rejects.toThrow('b failed');
    await expect(third).resolves.toBe(3);
    expect(log).toEqual(['a start', 'a end', 'b start', 'c start']);
  });

  it('lets two jobs share two slots', async () => {
    const slots = createSlots(2);
    let running = 0;
    let peak = 0;
    const job = () =>
      slots.run(async () => {
        peak = Math.max(peak, ++running);
        // Yield, so that every job the slots let through is running at once before any finishes.
        await new Promise((r) => setImmediate(r));
        running--;
      });
    await Promise.all([job(), job(), job(), job()]);
    expect(peak).toBe(2);
  });
});
