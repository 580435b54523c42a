import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
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

/** Each bad input, the stage that must refuse it, and what the message must say. */
const cases: {
  file: string;
  target?: string;
  stage: string;
  message: RegExp;
  dataset?: Record<string, unknown>;
}[] = [
  { file: 'empty.csv', stage: 'ingest', message: /empty/i },
  { file: 'header-only.csv', stage: 'ingest', message: /header.*no data rows|no data rows/i },
  { file: 'ragged.csv', stage: 'ingest', message: /row 2\b.*2 fields|row 2\b/i },
  { file: 'text-in-numeric.csv', stage: 'ingest', message: /"income"/ },
  { file: 'no-target.csv', stage: 'ingest', message: /target column "label" is not in the data/ },
  { file: 'one-class.csv', stage: 'validate', message: /class/i },
  { file: 'all-missing.csv', stage: 'validate', message: /"notes".*missing|notes/i },
  { file: 'nan-label.csv', stage: 'validate', message: /label/i },
  { file: 'duplicate-columns.csv', stage: 'ingest', message: /repeats column names: "age"/ },
  {
    file: 'long-line.csv',
    target: 'id',
    stage: 'ingest',
    message: /row 3\b/,
    dataset: { maxLineBytes: 100 },
  },
  { file: 'image.png', stage: 'ingest', message: /not CSV|PNG/i },
  { file: 'json-document.json', stage: 'ingest', message: /not CSV|JSON/i, dataset: { format: 'csv' } },
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
        dataRoots: [await realpath(fixtures)],
      },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it.each(cases)('$file is rejected at $stage', async ({ file, target, stage, message, dataset }) => {
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
    expect(result.reasons?.join('\n')).toMatch(message);
    if (stage === 'validate') expect(result.reports.validationHtml).toMatch(/\.html$/);
    const versions = await db.pool.query(
      `SELECT count(*)::int AS n FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1`,
      [model],
    );
    expect(versions.rows[0].n).toBe(0);
    const runs = await db.pool.query(`SELECT status FROM runs WHERE model_name = $1`, [model]);
    expect(runs.rows).toEqual([{ status: 'rejected' }]);
  });

  it('refuses to read outside the data roots, and a trainer program the worker does not allow', async () => {
    const base = {
      target: 'label',
      split: { kind: 'random', testFraction: 0.25 },
      validation: { minRows: 1 },
    };
    const outside = await runTraining(
      client,
      parsePipelineSpec({
        ...base,
        model: 'bad-outside',
        dataset: { source: '/etc/hostname' },
        trainer: { kind: 'builtin', name: 'logistic_regression' },
      }),
      prefix,
    );
    expect(outside).toMatchObject({ outcome: 'rejected', rejectedAt: 'ingest' });
    expect(outside.reasons?.[0]).toMatch(/not under an allowed data root/);

    const program = await runTraining(
      client,
      parsePipelineSpec({
        ...base,
        model: 'bad-program',
        dataset: { source: join(fixtures, 'text-in-numeric-few.csv') },
        trainer: { kind: 'command', command: ['/bin/sh', '-c', 'echo pwned'] },
      }),
      prefix,
    );
    expect(program).toMatchObject({ outcome: 'rejected', rejectedAt: 'train' });
    expect(program.reasons?.[0]).toMatch(/"\/bin\/sh" is not an allowed trainer program/);
  });
});
