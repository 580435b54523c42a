import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { resolveDataRoots } from '../../activities/dataset-source.js';
import { parsePipelineSpec } from '../../domain/pipeline-spec.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { runTraining } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'data');

const notCsv =
  'the file is not CSV text (binary data, an image, an archive, HTML or a JSON document?) (not_csv)';

/**
 * Each bad input, the stage that must refuse it, and the one reason every viewer of the run sees: the row and the
 * column where that applies, the rule, and no value from the file. `report`: a text the validation report must hold
 * (the reader's full message, with the values that the reason leaves out).
 */
const cases: {
  file: string;
  target?: string;
  stage: string;
  reason: string;
  report?: string;
  dataset?: Record<string, unknown>;
}[] = [
  {
    file: 'empty.csv',
    stage: 'ingest',
    reason: 'the file is empty: expected a header line and at least one data row (empty_file)',
  },
  {
    file: 'header-only.csv',
    stage: 'ingest',
    reason: 'the file has a header but no data rows (header_only)',
    report: 'the file has a header (age, income, label) but no data rows',
  },
  {
    file: 'ragged.csv',
    stage: 'ingest',
    reason:
      'row 2 (line 3): the row has a different number of fields than the header (a value containing the delimiter must be quoted) (ragged_row)',
  },
  {
    file: 'text-in-numeric.csv',
    stage: 'ingest',
    reason:
      'row 8, column "income": 5% of the column\'s non-missing values do not parse as its type, more than the 1% allowed (dataset.maxTypeErrorRate); declare the column categorical, add the tokens to dataset.missingTokens, or fix the data (type_error_rate)',
    report: '"unknown" (row 8)',
  },
  {
    file: 'no-target.csv',
    stage: 'ingest',
    reason:
      'column "label": the data has no such column (named as the target, in drop or in the schema) (missing_column)',
  },
  {
    file: 'one-class.csv',
    stage: 'validate',
    reason:
      'column "label": every label is the same; a classifier needs both classes to learn from (label_classes)',
  },
  {
    file: 'all-missing.csv',
    stage: 'validate',
    reason: 'column "notes": every value is missing (missing_values)',
  },
  {
    file: 'nan-label.csv',
    stage: 'validate',
    reason:
      'rows 3, 4, 5, column "label": 3 label(s) are missing, NaN or infinite; every row needs a label (label_values)',
  },
  {
    file: 'duplicate-columns.csv',
    stage: 'ingest',
    reason:
      'line 1, column "age": the header repeats this column name; column names must be unique (duplicate_columns)',
  },
  {
    file: 'long-line.csv',
    target: 'id',
    stage: 'ingest',
    reason:
      'row 3 (line 4): the row is longer than the limit of 100 bytes (dataset.maxLineBytes) (line_too_long)',
    dataset: { maxLineBytes: 100 },
  },
  { file: 'image.png', stage: 'ingest', reason: notCsv, report: 'it looks like a PNG image' },
  { file: 'json-document.json', stage: 'ingest', reason: notCsv, dataset: { format: 'csv' } },
];

describe('bad data is refused with a clear message and nothing is registered', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  const prefix = uniquePrefix('bad');

  beforeAll(async () => {
    db = await createTestDb('bad');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `bad-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'cpu-box',
        device: 'cpu',
        codeVersion: 'test',
        dataRoots: await resolveDataRoots([fixtures]),
      },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it.each(cases)('$file is rejected at $stage', async ({ file, target, stage, reason, report, dataset }) => {
    const model = `bad-${file.replace(/[^a-z0-9]/g, '-')}`;
    const spec = parsePipelineSpec({
      model,
      dataset: { source: join(fixtures, file), ...dataset },
      target: target ?? 'label',
      split: { kind: 'random', testFraction: 0.25 },
      validation: { minRows: 1 },
      trainer: { kind: 'builtin', name: 'logistic_regression' },
    });
    const result = await runTraining(client, spec, prefix);
    expect(result.outcome).toBe('rejected');
    expect(result.rejectedAt).toBe(stage);
    expect(result.reasons).toEqual([reason]);
    // Every rejection for bad data links the validation report, which alone holds the file's values.
    expect(result.reports.validationHtml).toMatch(/\.html$/);
    const json = JSON.parse((await store.get(result.reports.validationJson!)).toString('utf8')) as {
      results: { severity: string; message: string }[];
    };
    expect(json.results.filter((r) => r.severity === 'error').length).toBeGreaterThan(0);
    if (report) expect(json.results.map((r) => r.message).join('\n')).toContain(report);
    const versions = await db.pool.query(
      `SELECT count(*)::int AS n FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1`,
      [model],
    );
    expect(versions.rows[0].n).toBe(0);
    const runs = await db.pool.query(`SELECT status, reason FROM runs WHERE model_name = $1`, [model]);
    expect(runs.rows).toEqual([{ status: 'rejected', reason }]);
  });
});
