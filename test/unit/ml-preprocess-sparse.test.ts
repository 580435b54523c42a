import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../ml/checkpoint-codec.js';
import type { Frame } from '../../ml/frame.js';
import { logisticRegressionTrainer as lr } from '../../ml/logistic-regression.js';
import { fitPreprocessor, transform, transformSparse } from '../../ml/preprocess.js';
import { toSparseRows } from '../../ml/sparse-rows.js';
import { edgeCaseFrame, syntheticData } from './ml-onnx-feeds.js';

describe('sparse design rows straight from a preprocessing plan', () => {
  it('keeps exactly the entries the dense matrix has, in the same order', () => {
    const { features } = syntheticData(500, 3);
    for (const frame of [features, edgeCaseFrame()]) {
      const plan = fitPreprocessor(frame, { missingIndicators: true });
      const dense = transform(plan, frame);
      expect(transformSparse(plan, frame)).toEqual(toSparseRows(dense.matrix, dense.rowCount, dense.width));
    }
  });

  it('one-hot encodes 50,000 categories at one entry per row, where the dense matrix would need 20 GB', () => {
    const rows = 50_000;
    const frame: Frame = {
      rowCount: rows,
      columns: [
        {
          name: 'shop',
          kind: 'categorical',
          categories: Array.from({ length: rows }, (_, i) => `s${i}`),
          codes: Int32Array.from({ length: rows }, (_, i) => i),
        },
        { name: 'amount', kind: 'numeric', values: Float64Array.from({ length: rows }, (_, i) => i % 7) },
      ],
    };
    const plan = fitPreprocessor(frame);
    expect(plan.width).toBe(rows + 2);
    const x = transformSparse(plan, frame);
    expect(x.columns.length).toBeLessThanOrEqual(2 * rows);
    // Row 0: its shop's one-hot column, then the scaled amount (0 scales to a non-zero value).
    expect([...x.columns.subarray(x.rowStart[0], x.rowStart[1])]).toEqual([0, rows + 1]);
  });
});

describe('logistic regression checkpoints written before sparse fingerprints', () => {
  it('still resume to the same model: the dense fingerprint is checked for them', () => {
    const data = syntheticData(400, 5);
    const params = lr.parseParams({ solver: 'lbfgs', maxIter: 30 });
    const checkpoints = new Map<number, Uint8Array>();
    const full = lr.fit(data, {
      params,
      seed: 1,
      checkpointEvery: 10,
      onProgress: (p, c) => c && checkpoints.set(p.step, c),
    });
    const envelope = JSON.parse(new TextDecoder().decode(checkpoints.get(10))) as {
      state: Record<string, unknown> & { plan: Parameters<typeof transform>[0] };
    };
    expect(envelope.state.fingerprintOf).toBe('sparse-rows');
    // What earlier code wrote: no fingerprintOf, and the hash of the dense matrix.
    delete envelope.state.fingerprintOf;
    envelope.state.fingerprint = fingerprint(
      transform(envelope.state.plan, data.features).matrix,
      data.labels,
    );
    const legacy = new TextEncoder().encode(JSON.stringify(envelope));
    const resumed = lr.fit(data, { params, seed: 1, resumeFrom: legacy });
    expect(Buffer.from(resumed.toOnnx()).equals(Buffer.from(full.toOnnx()))).toBe(true);
    const other = syntheticData(400, 6);
    expect(() => lr.fit(other, { params, seed: 1, resumeFrom: legacy })).toThrow(/different training data/);
  });
});
