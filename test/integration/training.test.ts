import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { findVersion, listVersions } from '../../platform/registry.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { exampleSpec, runTraining } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

describe('training pipeline on real data and the real stack', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  const prefix = uniquePrefix('train');

  beforeAll(async () => {
    db = await createTestDb('training');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `training-${randomBytes(4).toString('hex')}`,
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
        codeVersion: 'test-commit',
      },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('trains, evaluates and registers Elec2 with logistic regression, with full lineage', async () => {
    const spec = await exampleSpec('elec2-logistic.yaml');
    const result = await runTraining(client, spec, prefix);
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(result.version).toBe(1);
    expect(result.metrics?.auc).toBeGreaterThan(0.75);

    const fileSha = createHash('sha256')
      .update(await readFile(spec.dataset.source))
      .digest('hex');
    expect(result.datasetSha256).toBe(fileSha);
    const version = await findVersion(db.pool, spec.model, 1);
    expect(version).toMatchObject({
      datasetSha256: fileSha,
      codeVersion: 'test-commit',
      trainer: 'logistic_regression',
      artifactUri: result.artifactUri,
      artifactSha256: result.artifactSha256,
    });
    expect(version?.metrics.onnxParityMaxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(version?.onnxSignature).toMatchObject({
      inputs: expect.arrayContaining([expect.objectContaining({ name: 'nswprice', type: 'float32' })]),
    });
    expect(version?.onnxOpset).toHaveProperty('ai.onnx');
    expect(version?.split).toMatchObject({ kind: 'time', trainRows: 31718, testRows: 13594 });
    // The artifact in the store is the one the registry names, byte for byte.
    await expect(
      store.get(version!.artifactUri, { expectSha256: version!.artifactSha256 }),
    ).resolves.toBeInstanceOf(Buffer);
    const html = (await store.get(result.reports.evaluationHtml!)).toString();
    expect(html).toContain('<svg');
    const validation = JSON.parse((await store.get(result.reports.validationJson!)).toString()) as {
      ok: boolean;
    };
    expect(validation.ok).toBe(true);
  });

  it('trains Adult (categorical features, stratified split) with the MLP', async () => {
    const spec = await exampleSpec('adult-mlp.yaml');
    const result = await runTraining(client, spec, prefix);
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(result.metrics?.auc).toBeGreaterThan(0.85);
    const versions = await listVersions(db.pool, spec.model);
    expect(versions).toHaveLength(1);
    expect(versions[0]?.metrics.onnxParityMaxAbsDiff).toBeLessThanOrEqual(1e-5);
  });

  it.each([
    ['elec2-logistic.yaml', 'mlp', { hiddenLayerSizes: [32], maxEpochs: 20, earlyStopping: true }, 0.75],
    ['adult-mlp.yaml', 'logistic_regression', { C: 1 }, 0.85],
  ] as const)('trains %s with the %s trainer too', async (file, trainer, params, minAuc) => {
    const spec = await exampleSpec(file, {
      trainer: { kind: 'builtin', name: trainer, params: { ...params } },
    });
    const result = await runTraining(client, spec, prefix);
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(result.metrics?.auc).toBeGreaterThan(minAuc);
    const [version] = await listVersions(db.pool, spec.model);
    expect(version?.trainer).toBe(trainer);
    expect(version?.metrics.onnxParityMaxAbsDiff).toBeLessThanOrEqual(1e-5);
  });

  it('trains both datasets with gradient-boosted trees, with importances, and the same seed gives the same bytes', async () => {
    for (const [file, minAuc] of [
      ['elec2-gbdt.yaml', 0.8],
      ['adult-gbdt.yaml', 0.9],
    ] as const) {
      const spec = await exampleSpec(file);
      const result = await runTraining(client, spec, prefix);
      expect(result.reasons).toBeUndefined();
      expect(result.metrics?.auc).toBeGreaterThan(minAuc);
      const [version] = await listVersions(db.pool, spec.model);
      expect(version?.metrics.onnxParityMaxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(Object.keys(version?.metadata.featureImportanceGain as object).length).toBeGreaterThan(3);
      const report = JSON.parse((await store.get(result.reports.evaluationJson!)).toString()) as {
        featureImportances: unknown;
      };
      expect(report.featureImportances).toEqual(version?.metadata.featureImportanceGain);
      if (file === 'elec2-gbdt.yaml') {
        const again = await runTraining(client, { ...spec, model: `${spec.model}-again` }, prefix);
        expect(again.artifactSha256).toBe(result.artifactSha256);
      }
    }
  });
});
