import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLabelledTraffic, type ExportTrafficInput } from '../../activities/export-traffic.js';
import { createLifecycleActivities } from '../../activities/lifecycle.js';
import { parsePipelineSpec } from '../../domain/pipeline-spec.js';
import type { Frame } from '../../ml/frame.js';
import { encodeFrameToArrow } from '../../ml/ingest/arrow-codec.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { insertPredictions, type PredictionRecord } from '../../platform/predictions.js';
import { upsertDataset } from '../../platform/registry.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';

const model = 'credit';
const t0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (i: number) => new Date(t0 + i * 1000).toISOString();

const pipeline = parsePipelineSpec({
  model,
  dataset: { source: '/data/credit.csv', delimiter: ';', maxRows: 10 },
  target: 'default',
  drop: ['id'],
  split: { kind: 'time' },
  trainer: { kind: 'builtin', name: 'logistic_regression' },
});

/** The original dataset: columns id, amount, region, default (id is dropped by the spec). */
const original: Frame = {
  rowCount: 3,
  columns: [
    { name: 'id', kind: 'numeric', values: Float64Array.from([1, 2, 3]) },
    { name: 'amount', kind: 'numeric', values: Float64Array.from([10.5, NaN, 30]) },
    {
      name: 'region',
      kind: 'categorical',
      codes: Int32Array.from([0, 1, -1]),
      categories: ['north', 'south, east'],
    },
    { name: 'default', kind: 'categorical', codes: Int32Array.from([0, 1, 0]), categories: ['no', 'yes'] },
  ],
};

function prediction(i: number, overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    at: at(i),
    request_id: `req-${i}`,
    model_name: model,
    version: 1,
    role: 'champion',
    served: true,
    fallback: false,
    inputs: { amount: 100 + i, region: i % 2 === 0 ? 'north' : 'say "hi"' },
    score: 0.5,
    predicted_label: 'no',
    error: null,
    latency_ms: 1,
    sticky_key: null,
    ...overrides,
  };
}

describe('labelled traffic exported as a dataset for a retrain (real PostgreSQL and S3)', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let originalSha: string;

  beforeAll(async () => {
    db = await createTestDb('export');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `export-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    const frame = await store.putContent(encodeFrameToArrow(original), { prefix: 'frames', ext: 'arrow' });
    originalSha = randomBytes(32).toString('hex');
    await upsertDataset(db.pool, {
      sha256: originalSha,
      readKey: 'test',
      readOptions: {},
      source: '/data/credit.csv',
      format: 'csv',
      rowCount: 3,
      frameUri: frame.uri,
      frameSha256: frame.sha256,
      schema: {},
    });
    // Rows 0..9 served and labelled, except: 3 has no label, 5 was shadowed too (one extra, unserved row), 7 belongs
    // to another model, 8 was logged before the window. A shadow row never counts as traffic.
    const rows = Array.from({ length: 10 }, (_, i) => prediction(i + 1));
    rows[6] = prediction(7, { model_name: 'other' });
    rows[7] = prediction(8, { at: new Date(t0 - 3_600_000).toISOString() });
    rows.push(
      prediction(5, { role: 'shadow', served: false, version: 2, inputs: { amount: -1, region: 'x' } }),
    );
    await insertPredictions(db.pool, rows);
    for (const i of [1, 2, 4, 5, 6, 7, 8, 9, 10]) {
      await db.pool.query(
        `INSERT INTO feedback (request_id, model_name, label, label_positive, actor) VALUES ($1, $2, $3, $4, 'test')`,
        [`req-${i}`, i === 7 ? 'other' : model, i % 3 === 0 ? 'yes' : 'no', i % 3 === 0],
      );
    }
  });

  afterAll(async () => {
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const input = (overrides: Partial<ExportTrafficInput> = {}): ExportTrafficInput => ({
    model,
    requestId: `req-${randomBytes(4).toString('hex')}`,
    since: at(0),
    maxRows: 100,
    minRows: 1,
    original: false,
    pipeline,
    ...overrides,
  });

  it('joins served predictions with their labels since the last training, after the original rows, as CSV', async () => {
    const result = await exportLabelledTraffic(
      { db: db.pool, store },
      input({ original: { datasetSha256: originalSha, maxRows: 2 } }),
    );
    if (!result.ok) throw new Error(result.reason);
    expect(result.trafficRows).toBe(7);
    expect(result.originalRows).toBe(2);
    const text = (await store.get(result.uri, { expectSha256: result.sha256 })).toString();
    expect(text.split('\r\n')).toEqual([
      'id,amount,region,default',
      '2,,"south, east",yes',
      '3,30,,no',
      ',101,"say ""hi""",no',
      ',102,north,no',
      ',104,north,no',
      ',105,"say ""hi""",no',
      ',106,north,yes',
      ',109,"say ""hi""",yes',
      ',110,north,no',
      '',
    ]);
    // The retrain reads the export: same spec, the export as its dataset, read as plain CSV.
    expect(result.spec.dataset).toEqual({ source: result.uri, format: 'csv' });
    expect(result.spec.drop).toEqual(['id']);
    expect(result.firstPredictionAt).toBe(at(1));
    expect(result.lastPredictionAt).toBe(at(10));
    const { rows } = await db.pool.query(
      'SELECT dataset_sha256, traffic_rows, original_rows, original_source FROM traffic_exports WHERE uri = $1',
      [result.uri],
    );
    expect(rows).toEqual([
      {
        dataset_sha256: result.sha256,
        traffic_rows: 7,
        original_rows: 2,
        original_source: '/data/credit.csv',
      },
    ]);
  });

  it('keeps the latest rows of the window, and without the original rows writes the features it logged', async () => {
    const result = await exportLabelledTraffic({ db: db.pool, store }, input({ maxRows: 2 }));
    if (!result.ok) throw new Error(result.reason);
    const text = (await store.get(result.uri)).toString();
    expect(text).toBe('amount,id,region,default\r\n109,,"say ""hi""",yes\r\n110,,north,no\r\n');
  });

  it('is content-addressed and idempotent per request: a retry returns the first export even after more traffic', async () => {
    const first = input();
    const a = await exportLabelledTraffic({ db: db.pool, store }, first);
    const b = await exportLabelledTraffic({ db: db.pool, store }, input());
    if (!a.ok || !b.ok) throw new Error('expected exports');
    expect(b.sha256).toBe(a.sha256);
    await insertPredictions(db.pool, [prediction(11)]);
    await db.pool.query(
      `INSERT INTO feedback (request_id, model_name, label, label_positive, actor) VALUES ('req-11', $1, 'no', false, 'test')`,
      [model],
    );
    const retried = await exportLabelledTraffic({ db: db.pool, store }, first);
    expect(retried).toMatchObject({ ok: true, sha256: a.sha256, trafficRows: 7 });
    const fresh = await exportLabelledTraffic({ db: db.pool, store }, input());
    expect(fresh).toMatchObject({ ok: true, trafficRows: 8 });
  });

  it('refuses too few labelled rows, saying how many there were, and writes nothing', async () => {
    const before = await db.pool.query('SELECT count(*)::int AS n FROM traffic_exports');
    const result = await exportLabelledTraffic({ db: db.pool, store }, input({ since: at(9), minRows: 5 }));
    expect(result).toEqual({
      ok: false,
      trafficRows: 3,
      reason: `3 labelled predictions since ${at(9)}, fewer than the 5 a retrain needs (retrain.data.minRows)`,
    });
    const after = await db.pool.query('SELECT count(*)::int AS n FROM traffic_exports');
    expect(after.rows[0]).toEqual(before.rows[0]);
  });

  it('narrows the window to its maximum age', async () => {
    const result = await exportLabelledTraffic(
      { db: db.pool, store },
      input({ since: new Date(t0 - 7_200_000).toISOString(), maxAgeMs: Date.now() - t0 + 60_000 }),
    );
    // The prediction logged an hour before t0 is older than the window, though after `since`.
    expect(result).toMatchObject({ ok: true, trafficRows: 8 });
  });
});

describe("the performance floor's measurement: a version's latest labelled, served predictions", () => {
  let db: { pool: Pool; schema: string };

  beforeAll(async () => {
    db = await createTestDb('perf');
    // Version 2 served rows 0..9 (scores i/10), labels: positive for i >= 5, except row 9; row 3 has no label; a
    // shadow row and a version-1 row are not the version's traffic.
    const rows: PredictionRecord[] = Array.from({ length: 10 }, (_, i) =>
      prediction(i + 1, { model_name: 'perf', version: 2, score: i / 10, request_id: `p-${i}` }),
    );
    rows.push(
      prediction(20, { model_name: 'perf', version: 2, role: 'shadow', served: false, request_id: 'p-0' }),
    );
    rows.push(prediction(21, { model_name: 'perf', version: 1, score: 0.99, request_id: 'p-v1' }));
    await insertPredictions(db.pool, rows);
    for (let i = 0; i < 10; i++) {
      if (i === 3) continue;
      const positive = i >= 5 && i !== 9;
      await db.pool.query(
        `INSERT INTO feedback (request_id, model_name, label, label_positive, actor) VALUES ($1, 'perf', $2, $3, 'test')`,
        [`p-${i}`, positive ? 'yes' : 'no', positive],
      );
    }
    await db.pool.query(
      `INSERT INTO feedback (request_id, model_name, label, label_positive, actor) VALUES ('p-v1', 'perf', 'no', false, 'test')`,
    );
  });

  afterAll(async () => {
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('measures accuracy and AUC over the latest window of labelled rows', async () => {
    const acts = createLifecycleActivities({ db: db.pool });
    // Labelled rows 0,1,2,4..9; predicted positive from score 0.5 (rows 5..9); wrong only on row 9.
    expect(
      await acts.labelledPerformance({ model: 'perf', version: 2, metric: 'accuracy', windowRows: 100 }),
    ).toEqual({
      labels: 9,
      value: 8 / 9,
    });
    // The latest 3: rows 7, 8, 9 (all predicted positive; 9 is negative).
    expect(
      await acts.labelledPerformance({ model: 'perf', version: 2, metric: 'accuracy', windowRows: 3 }),
    ).toEqual({
      labels: 3,
      value: 2 / 3,
    });
    // Positives 5..8 (scores .5-.8) against negatives 0,1,2,4,9: 4 of the 20 pairs misordered (row 9's .9).
    expect(
      await acts.labelledPerformance({ model: 'perf', version: 2, metric: 'auc', windowRows: 100 }),
    ).toEqual({
      labels: 9,
      value: 16 / 20,
    });
    expect(
      await acts.labelledPerformance({ model: 'perf', version: 3, metric: 'auc', windowRows: 100 }),
    ).toEqual({
      labels: 0,
      value: null,
    });
  });
});
