import { describe, expect, it } from 'vitest';
import type { Frame } from '../../ml/frame.js';
import { decodeSplit, encodeSplit, splitRows } from '../../ml/split.js';

const n = 1000;
const frame: Frame = {
  rowCount: n,
  columns: [
    { name: 't', kind: 'numeric', values: Float64Array.from({ length: n }, (_, i) => (i * 7919) % n) },
  ],
};
const labels = Uint8Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0));

describe('splitRows', () => {
  it('stratified keeps the class share in both parts', () => {
    const s = splitRows(frame, labels, { kind: 'stratified', testFraction: 0.3, seed: 1 });
    expect(s.train.length + s.test.length).toBe(n);
    const share = (rows: Int32Array) => rows.reduce((a, r) => a + labels[r]!, 0) / rows.length;
    expect(share(s.test)).toBeCloseTo(0.1, 2);
    expect(share(s.train)).toBeCloseTo(0.1, 2);
    expect(new Set([...s.train, ...s.test]).size).toBe(n);
  });

  it('random is seeded: same seed same rows, other seed other rows', () => {
    const a = splitRows(frame, labels, { kind: 'random', testFraction: 0.2, seed: 5 });
    const b = splitRows(frame, labels, { kind: 'random', testFraction: 0.2, seed: 5 });
    const c = splitRows(frame, labels, { kind: 'random', testFraction: 0.2, seed: 6 });
    expect([...a.test]).toEqual([...b.test]);
    expect([...a.test]).not.toEqual([...c.test]);
    expect(a.test.length).toBe(200);
  });

  it('time puts the latest rows in the test set', () => {
    const fileOrder = splitRows(frame, labels, { kind: 'time', testFraction: 0.25, seed: 0 });
    expect(fileOrder.test[0]).toBe(750);
    const byColumn = splitRows(frame, labels, { kind: 'time', testFraction: 0.25, seed: 0, orderBy: 't' });
    const t = (frame.columns[0] as { values: Float64Array }).values;
    const maxTrain = Math.max(...[...byColumn.train].map((r) => t[r]!));
    const minTest = Math.min(...[...byColumn.test].map((r) => t[r]!));
    expect(maxTrain).toBeLessThan(minTest);
  });

  it('refuses a fraction that leaves a part empty', () => {
    expect(() =>
      splitRows({ rowCount: 3, columns: [] }, new Uint8Array(3), {
        kind: 'random',
        testFraction: 0.1,
        seed: 0,
      }),
    ).toThrow(/empty/);
  });

  it('round-trips through bytes', () => {
    const s = splitRows(frame, labels, { kind: 'random', testFraction: 0.2, seed: 5 });
    const back = decodeSplit(encodeSplit(s));
    expect([...back.train]).toEqual([...s.train]);
    expect([...back.test]).toEqual([...s.test]);
    expect(() => decodeSplit(new Uint8Array(5))).toThrow(/malformed/);
  });
});

describe('decodeSplit on pooled buffers', () => {
  it('reads a small Buffer that shares its memory pool with others', () => {
    const s = { train: Int32Array.from([0, 2]), test: Int32Array.from([1]) };
    const pooled = Buffer.from(encodeSplit(s)); // small Buffers live inside a shared 8 KiB pool
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    expect([...decodeSplit(pooled).train]).toEqual([0, 2]);
  });
});
