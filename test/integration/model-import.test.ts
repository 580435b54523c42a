import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { findVersion } from '../../platform/registry.js';
import { repoRoot, runCli, startTestApi } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { postJson } from '../helpers/gateway-client.js';
import { deploy } from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'models');
const adult = join(repoRoot, 'datasets', 'adult.csv');

describe('slipway models import: an ONNX model trained elsewhere, served like a built-in one', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let api: { app: FastifyInstance; url: string };
  let gateway: RunningGateway | undefined;
  let dir: string;
  const prefix = uniquePrefix('import');
  const s3Prefix = `import-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDb('import');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix: s3Prefix, forcePathStyle: true });
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
      },
    });
    api = await startTestApi({ client, db: db.pool, store, queuePrefix: prefix });
    dir = await mkdtemp(join(tmpdir(), 'slipway-import-'));
  });

  afterAll(async () => {
    await gateway?.stop();
    await api?.app.close();
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers a scikit-learn pipeline converted with skl2onnx, with its signature, profile and metrics', async () => {
    const run = await runCli([
      'models',
      'import',
      join(fixtures, 'adult-sklearn.onnx'),
      '--name',
      'adult-sklearn',
      '--reference',
      adult,
      '--target',
      'income',
      '--positive-class',
      '>50K',
      '--json',
      '--api',
      api.url,
    ]);
    expect(run.stderr).toContain('started import-adult-sklearn-');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      outcome: 'registered',
      model: 'adult-sklearn',
      version: 1,
      classes: ['<=50K', '>50K'],
      acceptsMissing: true,
    });
    expect(result.metrics.auc).toBeGreaterThan(0.85);
    const version = await findVersion(db.pool, 'adult-sklearn', 1);
    expect(version).toMatchObject({
      trainer: 'onnx-import',
      params: { target: 'income', positiveClass: '>50K' },
    });
    expect(version!.metadata.serving).toMatchObject({
      probabilities: { output: 'probabilities', width: 2, positiveIndex: 1 },
      classes: ['<=50K', '>50K'],
      acceptsMissing: true,
    });
    expect((version!.onnxSignature.inputs as unknown[]).length).toBe(14);
    const profile = JSON.parse((await store.get(version!.referenceProfileUri)).toString('utf8')) as {
      features: { name: string }[];
      rowCount: number;
    };
    expect(profile.features.map((f) => f.name)).toContain('occupation');
    expect(profile.rowCount).toBeGreaterThan(30_000);
    // The same files again are the same import: no second version.
    const again = await runCli([
      'models',
      'import',
      join(fixtures, 'adult-sklearn.onnx'),
      '--name',
      'adult-sklearn',
      '--reference',
      adult,
      '--target',
      'income',
      '--positive-class',
      '>50K',
      '--json',
      '--api',
      api.url,
    ]);
    expect(JSON.parse(again.stdout).version).toBe(1);
  });

  it('serves it: `slipway predict` on CSV rows gives the probabilities scikit-learn gives', async () => {
    await deploy(db.pool, 'adult-sklearn', { champion: 1 });
    gateway = await startGateway({ schema: db.schema, store: { s3Prefix } });
    const lines = (await readFile(adult, 'utf8')).split('\n');
    const csv = join(dir, 'rows.csv');
    await writeFile(csv, lines.slice(0, 201).join('\n'));
    const run = await runCli(['predict', 'adult-sklearn', csv, '--json', '--gateway', gateway.url]);
    expect(run.stderr).toContain('left out columns the model does not take: income');
    expect(run.code).toBe(0);
    const predictions = JSON.parse(run.stdout) as { probability: number; label: string; version: number }[];
    const expected = (await readFile(join(fixtures, 'adult-sklearn-expected.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[1]));
    expect(predictions).toHaveLength(200);
    predictions.forEach((p, i) => {
      expect(Math.abs(p.probability - expected[i]!)).toBeLessThan(1e-5);
      expect(p.label).toBe(p.probability > 0.5 ? '>50K' : '<=50K');
      expect(p.version).toBe(1);
    });
    // Missing numbers are imputed inside the graph, so null is accepted; a category it never saw is too.
    const r = await postJson(`${gateway.url}/v1/models/adult-sklearn/predict`, {
      rows: [
        {
          age: null,
          fnlwgt: 1e5,
          education_num: 9,
          capital_gain: 0,
          capital_loss: 0,
          hr_per_week: 40,
          type_employer: 'Martian',
          education: 'HS-grad',
          marital: 'Never-married',
          occupation: null,
          relationship: 'Own-child',
          race: 'White',
          sex: 'Male',
          country: 'United-States',
        },
      ],
    });
    expect(r.status).toBe(200);
    const inline = await runCli([
      'predict',
      'adult-sklearn',
      '{"rows": [{"age": 30}]}',
      '--gateway',
      gateway.url,
    ]);
    expect(inline.code).toBe(1);
    expect(inline.stderr).toMatch(/rows\.0\.fnlwgt: missing/);
  });

  it('refuses a model whose probabilities are a ZipMap, and reference data that lacks its inputs, registering nothing', async () => {
    const zipmap = await runCli([
      'models',
      'import',
      join(fixtures, 'adult-sklearn-zipmap.onnx'),
      '--name',
      'adult-zipmap',
      '--reference',
      adult,
      '--target',
      'income',
      '--positive-class',
      '>50K',
      '--api',
      api.url,
    ]);
    expect(zipmap.code).toBe(1);
    expect(zipmap.stdout).toMatch(/ZipMap.*zipmap': False/);
    const partial = join(dir, 'partial.csv');
    const lines = (await readFile(adult, 'utf8')).split('\n').slice(0, 500);
    await writeFile(
      partial,
      lines
        .map((l) =>
          l
            .split(',')
            .filter((_, i) => i !== 6)
            .join(','),
        )
        .join('\n'),
    );
    const missing = await runCli([
      'models',
      'import',
      join(fixtures, 'adult-sklearn.onnx'),
      '--name',
      'adult-partial',
      '--reference',
      partial,
      '--target',
      'income',
      '--positive-class',
      '>50K',
      '--api',
      api.url,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/input "occupation" has no column of that name in the reference data/);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM models WHERE name IN ('adult-zipmap', 'adult-partial')`,
    );
    expect(rows[0].n).toBe(0);
    const absent = await runCli([
      'models',
      'import',
      join(dir, 'nope.onnx'),
      '--name',
      'x',
      '--reference',
      adult,
      '--api',
      api.url,
    ]);
    expect(absent.code).toBe(2);
  });
});
