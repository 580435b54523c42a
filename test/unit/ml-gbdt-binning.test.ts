import { describe, expect, it } from 'vitest';
import type { Frame } from '../../ml/frame.js';
import { binFrame, binOfValue, fitBinning, MISSING_BIN, numericThresholds } from '../../ml/gbdt/binning.js';
import { createRng } from '../../ml/rng.js';

const allRows = (n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => i);

describe('numericThresholds', () => {
  it('puts every distinct value in its own bin when there are few, with float32 edges', () => {
    const values = Float64Array.from([0.1, 0.2, 0.2, 0.3, 5, -1].map(Math.fround));
    const edges = numericThresholds(values, 255);
    expect(edges).toHaveLength(4);
    for (const e of edges) expect(Math.fround(e)).toBe(e);
    const bins = [...values].map((v) => binOfValue(Float64Array.from(edges), v));
    expect(bins).toEqual([1, 2, 2, 3, 4, 0]);
  });

  it('keeps adjacent float32 values apart even when their midpoint rounds onto the upper one', () => {
    const lo = Math.fround(1);
    const hi = 1 + 2 ** -23; // the next float32 after 1
    const edges = numericThresholds(Float64Array.from([lo, hi]), 255);
    expect(edges).toHaveLength(1);
    const t = Float64Array.from(edges);
    expect(binOfValue(t, lo)).toBe(0);
    expect(binOfValue(t, hi)).toBe(1);
  });

  it('uses at most maxBins bins for many distinct values, spread by quantiles', () => {
    const values = Float64Array.from({ length: 10_000 }, (_, i) => Math.fround(i / 7));
    const edges = numericThresholds(values, 16);
    expect(edges.length).toBe(15);
    const t = Float64Array.from(edges);
    const counts = new Array<number>(16).fill(0);
    for (const v of values) counts[binOfValue(t, v)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(500);
  });
});

describe('fitBinning / binFrame', () => {
  const frame: Frame = {
    rowCount: 6,
    columns: [
      { name: 'x', kind: 'numeric', values: Float64Array.from([1, 2, NaN, 3, 2, 1]) },
      {
        name: 'c',
        kind: 'categorical',
        codes: Int32Array.from([0, 1, -1, 1, 0, 0]),
        categories: ['a', 'b', 'never'],
      },
    ],
  };

  it('sends NaN and missing categories to the missing bin and records that the feature has missing values', () => {
    const binnings = fitBinning(frame, allRows(6), 255, createRng(1));
    const binned = binFrame(binnings, frame, null, true);
    expect([...binned.subarray(0, 6)]).toEqual([0, 1, MISSING_BIN, 2, 1, 0]);
    expect([...binned.subarray(6, 12)]).toEqual([0, 1, MISSING_BIN, 1, 0, 0]);
    expect(binnings.map((b) => b.hasMissing)).toEqual([true, true]);
    // A category absent from the training rows gets no bin.
    expect(binnings[1]).toMatchObject({ kind: 'categorical', categories: ['a', 'b'] });
  });

  it('maps categories by name, so another frame with other codes bins the same, and unknown ones as missing', () => {
    const binnings = fitBinning(frame, allRows(6), 255, createRng(1));
    const other: Frame = {
      rowCount: 4,
      columns: [
        // 2.5000001 is 2.5 in float32, the precision ONNX sees, so it falls on the lower side of the 2.5 edge.
        { name: 'x', kind: 'numeric', values: Float64Array.from([0, 9, 2.6, 2.5000001]) },
        {
          name: 'c',
          kind: 'categorical',
          codes: Int32Array.from([0, 1, 2, 2]),
          categories: ['b', 'zzz', 'a'],
        },
      ],
    };
    const binned = binFrame(binnings, other, null, false);
    expect([...binned.subarray(4, 8)]).toEqual([1, MISSING_BIN, 0, 0]);
    expect([...binned.subarray(0, 4)]).toEqual([0, 2, 2, 1]);
  });

  it('bins many values exactly as a plain binary search over the edges would, edges themselves included', () => {
    const rng = createRng(5);
    const values = Float64Array.from({ length: 5000 }, () => rng.nextFloat() * 10 - 5);
    const f: Frame = { rowCount: 5000, columns: [{ name: 'x', kind: 'numeric', values }] };
    const binnings = fitBinning(f, allRows(5000), 255, createRng(1));
    const edges = binnings[0]!.kind === 'numeric' ? binnings[0]!.thresholds : [];
    expect(edges.length).toBe(254);
    const probe = Float64Array.from([...values, ...edges, -Infinity, Infinity, 1e39]);
    const binned = binFrame(
      binnings,
      { rowCount: probe.length, columns: [{ name: 'x', kind: 'numeric', values: probe }] },
      null,
      false,
    );
    const t = Float64Array.from(edges);
    probe.forEach((v, i) => expect(binned[i]).toBe(binOfValue(t, Math.fround(v))));
    expect(binned[5000]).toBe(0);
    expect(binned[probe.length - 1]).toBe(254);
  });

  it('keeps the most frequent categories when there are more than maxBins', () => {
    const codes = Int32Array.from([0, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
    const f: Frame = {
      rowCount: 10,
      columns: [{ name: 'c', kind: 'categorical', codes, categories: ['a', 'b', 'c', 'd'] }],
    };
    const [b] = fitBinning(f, allRows(10), 2, createRng(1));
    expect(b).toMatchObject({ categories: ['c', 'd'] });
  });

  it('names the missing column and a kind mismatch', () => {
    const binnings = fitBinning(frame, allRows(6), 255, createRng(1));
    expect(() => binFrame(binnings, { rowCount: 0, columns: [frame.columns[0]!] }, null, false)).toThrow(
      /"c" is missing/,
    );
    const swapped: Frame = {
      rowCount: 1,
      columns: [
        { name: 'x', kind: 'categorical', codes: Int32Array.from([0]), categories: ['a'] },
        frame.columns[1]!,
      ],
    };
    expect(() => binFrame(binnings, swapped, null, false)).toThrow(/"x" is categorical/);
  });
});
