// Ingest at scale through the real workflow and the real stack: text in a numeric column is refused (nothing
// registered), the same file read two ways is two datasets entries with their own frames and lineage, Parquet is
// read from a local path and from S3 and trained on by the multi-threaded GBDT, and `slipway ingest` stores a
// frame and records its entry on its own.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

const root = join(import.meta.dirname, '..', '..');
const elec2Path = join(root, 'datasets', 'electricity.csv');
const mixedParquet = join(root, 'test', 'fixtures', 'data', 'mixed.parquet');

describe('ingest at scale on the real stack', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let dir: string;
  const prefix = uniquePrefix('scale');
  const keyPrefix = `scale-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'slipway-scale-')));
    db = await createTestDb('scale');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix: keyPrefix, forcePathStyle: true });
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
        dataRoots: await resolveDataRoots([dir]),
      },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const versionsOf = async (model: string): Promise<number> =>
    (
      await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1',
        [model],
      )
    ).rows[0]!.n;

  it('rejects Elec2 with "high" in 30 % of period at ingest, naming the column and share; nothing registered', async () => {
    const lines = (await readFile(elec2Path, 'utf8')).trimEnd().split('\n');
    const edited = lines.map((line, i) =>
      i > 0 && (i - 1) % 10 < 3 ? line.replace(/^[^,]*/, 'high') : line,
    );
    const path = join(dir, 'elec2-high.csv');
    await writeFile(path, `${edited.join('\n')}\n`);
    const model = 'elec2-high';
    const result = await runTraining(
      client,
      parsePipelineSpec({
        model,
        dataset: { source: path },
        target: 'class',
        split: { kind: 'time', testFraction: 0.3 },
        trainer: { kind: 'builtin', name: 'logistic_regression' },
      }),
      prefix,
    );
    expect(result.outcome).toBe('rejected');
    expect(result.rejectedAt).toBe('ingest');
    // The run's reason names the row, the column, the share and the rule; the values are in the report only.
    expect(result.reasons?.[0]).toBe(
      'row 1, column "period": 30% of the column\'s non-missing values do not parse as its type, more than the 1% ' +
        'allowed (dataset.maxTypeErrorRate); declare the column categorical, add the tokens to ' +
        'dataset.missingTokens, or fix the data (type_error_rate)',
    );
    const report = JSON.parse((await store.get(result.reports.validationJson!)).toString('utf8')) as {
      results: { column?: string; message: string }[];
    };
    expect(report.results[0]?.column).toBe('period');
    expect(report.results[0]?.message).toContain(
      'column "period" is numeric, but 13595 of its values (30.0% of the non-missing ones) are not numbers, ' +
        'e.g. "high" (row 1), "high" (row 2), "high" (row 3), "high" (row 11), "high" (row 12)',
    );
    expect(await versionsOf(model)).toBe(0);
    const entries = await db.pool.query('SELECT 1 FROM datasets');
    expect(entries.rowCount).toBe(0);
  });

  it('keeps the same file read two ways as two datasets entries, each version pointing at its own', async () => {
    const path = join(dir, 'electricity.csv');
    await copyFile(elec2Path, path);
    const header = (await readFile(path, 'utf8')).split('\n', 1)[0]!.trim().split(',');
    const base = {
      dataset: { source: path },
      target: 'class',
      split: { kind: 'time', testFraction: 0.3 },
      trainer: { kind: 'builtin', name: 'logistic_regression' },
    };
    const inferred = await runTraining(
      client,
      parsePipelineSpec({ ...base, model: 'elec2-inferred' }),
      prefix,
    );
    const declared = await runTraining(
      client,
      parsePipelineSpec({
        ...base,
        model: 'elec2-declared',
        schema: {
          columns: header.map((name) => ({ name, type: name === 'period' ? 'categorical' : 'numeric' })),
        },
      }),
      prefix,
    );
    expect(inferred.outcome).toBe('registered');
    expect(declared.outcome).toBe('registered');
    expect(declared.datasetSha256).toBe(inferred.datasetSha256);
    const { rows } = await db.pool.query<{
      read_key: string;
      frame_uri: string;
      schema: { columns: { name: string; type: string }[] };
      model: string;
    }>(
      `SELECT d.read_key, d.frame_uri, d.schema, m.name AS model
         FROM model_versions v JOIN models m ON m.id = v.model_id
         JOIN datasets d ON d.sha256 = v.dataset_sha256 AND d.read_key = v.dataset_read_key
        WHERE d.sha256 = $1 ORDER BY m.name`,
      [inferred.datasetSha256],
    );
    expect(rows.map((r) => r.model)).toEqual(['elec2-declared', 'elec2-inferred']);
    expect(new Set(rows.map((r) => r.read_key)).size).toBe(2);
    expect(new Set(rows.map((r) => r.frame_uri)).size).toBe(2);
    expect(rows[0]!.schema.columns[0]).toEqual({ name: 'period', type: 'categorical' });
    expect(rows[1]!.schema.columns[0]).toEqual({ name: 'period', type: 'numeric' });
    const all = await db.pool.query('SELECT 1 FROM datasets WHERE sha256 = $1', [inferred.datasetSha256]);
    expect(all.rowCount).toBe(2);
  });

  it('trains the multi-threaded GBDT on Parquet read from a local path and from S3', async () => {
    const local = join(dir, 'mixed.parquet');
    await copyFile(mixedParquet, local);
    const put = await store.put('inputs/mixed.parquet', await readFile(mixedParquet));
    const spec = (model: string, source: string) =>
      parsePipelineSpec({
        model,
        dataset: { source },
        target: 'label',
        drop: ['id'],
        split: { kind: 'stratified', testFraction: 0.25 },
        trainer: { kind: 'builtin', name: 'gbdt', params: { maxIter: 10, threads: 2 } },
      });
    const fromFile = await runTraining(client, spec('parquet-local', local), prefix);
    const fromS3 = await runTraining(client, spec('parquet-s3', put.uri), prefix);
    expect(fromFile.outcome).toBe('registered');
    expect(fromS3.outcome).toBe('registered');
    expect(fromS3.datasetSha256).toBe(fromFile.datasetSha256);
    // Same bytes, same read, same trainer and seed: the same model from either place.
    expect(fromS3.artifactSha256).toBe(fromFile.artifactSha256);
  });

  it('`slipway ingest --json` stores the frame and records the entry on its own', async () => {
    const { s3 } = testStack();
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(root, 'cli', 'main.ts'), 'ingest', mixedParquet, '--json'],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          LOG_LEVEL: 'error',
          ARTIFACT_STORE: 's3',
          S3_ENDPOINT: s3.endpoint,
          S3_REGION: s3.region,
          S3_BUCKET: s3.bucket,
          S3_PREFIX: keyPrefix,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          DATABASE_URL: testStack().databaseUrl,
          DATABASE_SCHEMA: db.schema,
        },
      },
    );
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ rows: 1000, columns: 7 });
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof report.seconds).toBe('number');
    expect(await store.head(report.frameUri as string)).toBeDefined();
    const entry = await db.pool.query('SELECT row_count FROM datasets WHERE sha256 = $1 AND read_key = $2', [
      report.sha256,
      report.readKey,
    ]);
    expect(entry.rows).toEqual([{ row_count: '1000' }]);
  });
});
