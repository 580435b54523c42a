import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { servingInterfaceOf } from '../../domain/serving-interface.js';
import { trainerByName } from '../../ml/trainers.js';
import { loadModel, modelSignature } from '../../platform/onnx-scoring.js';
import { FeedError, VersionScorer } from '../../serving/version-scorer.js';
import { logRecord, serialiseLogRows, type LogRow } from '../../serving/prediction-log.js';
import type { FeatureBatch } from '../../serving/feature-batch.js';
import { runOnnx, syntheticData } from './ml-onnx-feeds.js';

async function scorer(batches: number[]) {
  const data = syntheticData(400, 3);
  const trainer = trainerByName('logistic_regression');
  const bytes = trainer.fit(data, { params: trainer.parseParams({}), seed: 1 }).toOnnx();
  const { signature } = modelSignature(await loadModel(bytes), bytes);
  const session = await ort.InferenceSession.create(bytes);
  const iface = servingInterfaceOf({ onnxSignature: signature, metadata: {} });
  return { bytes, scorer: new VersionScorer(session, iface, (rows) => batches.push(rows)) };
}

const batch = (x1: number[], x2: number[], color: (string | null)[]): FeatureBatch => ({
  rowCount: x1.length,
  columns: new Map([
    ['x1', { kind: 'numeric', values: Float64Array.from(x1) }],
    ['x2', { kind: 'numeric', values: Float64Array.from(x2) }],
    ['color', { kind: 'categorical', values: color }],
  ]),
});

describe('same-tick micro-batching', () => {
  it('scores requests that arrive together in one session.run, each getting its own rows back', async () => {
    const batches: number[] = [];
    const { bytes, scorer: s } = await scorer(batches);
    const a = batch([0.5, NaN], [7, 12], ['red', null]);
    const b = batch([-1, 1, 2], [5, 6, 9], ['blue', 'purple', 'teal']);
    const [ra, rb] = await Promise.all([s.score(a, null), s.score(b, Int32Array.of(2, 0))]);
    expect(batches).toEqual([4]);
    expect(ra.batchRows).toBe(4);
    // The same numbers onnxruntime gives for those rows on their own.
    const direct = await runOnnx(bytes, {
      rowCount: 4,
      columns: [
        { name: 'x1', kind: 'numeric', values: Float64Array.of(0.5, NaN, 2, -1) },
        { name: 'x2', kind: 'numeric', values: Float64Array.of(7, 12, 9, 5) },
        {
          name: 'color',
          kind: 'categorical',
          codes: Int32Array.of(0, -1, 2, 1),
          categories: ['red', 'blue', 'teal'],
        },
      ],
    });
    expect([...ra.p, ...rb.p]).toEqual(Array.from(direct.p1, (p) => Math.fround(p)));
    expect([...ra.positive, ...rb.positive]).toEqual(direct.labels);
    // Requests in different ticks are separate runs.
    await s.score(a, null);
    expect(batches).toEqual([4, 2]);
  });

  it('fails a request the version cannot take on its own, before it joins a batch', async () => {
    const { scorer: s } = await scorer([]);
    const noColor: FeatureBatch = {
      rowCount: 1,
      columns: new Map([['x1', { kind: 'numeric', values: Float64Array.of(1) }]]),
    };
    const ok = s.score(batch([1], [2], ['red']), null);
    await expect(s.score(noColor, null)).rejects.toBeInstanceOf(FeedError);
    await expect(ok).resolves.toMatchObject({ batchRows: 1 });
  });
});

describe('the prediction log serialiser', () => {
  it('writes exactly the records the rows stand for, as one JSON document', () => {
    const b = batch([0.5, NaN], [7, 12], ['red "quoted"', null]);
    const rows: LogRow[] = [
      {
        at: Date.UTC(2026, 0, 1, 23, 59, 59, 999),
        requestId: 'a',
        model: 'm',
        version: 1,
        role: 'champion',
        served: true,
        fallback: false,
        batch: b,
        row: 0,
        score: 0.25,
        label: '0',
        error: null,
        latencyMs: 0.125,
        sticky: null,
      },
      {
        at: Date.UTC(2026, 0, 2),
        requestId: 'b',
        model: 'm',
        version: 2,
        role: 'challenger',
        served: false,
        fallback: false,
        batch: b,
        row: 1,
        score: null,
        label: null,
        error: 'nan',
        latencyMs: 3,
        sticky: 'c\\1',
      },
    ];
    const { json, days } = serialiseLogRows(rows);
    expect(JSON.parse(json)).toEqual(rows.map(logRecord));
    expect([...days]).toEqual(['2026-01-01', '2026-01-02']);
    expect(logRecord(rows[1]!).inputs).toEqual({ x1: null, x2: 12, color: null });
  });
});
