import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import { createRng } from '../../ml/rng.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import { resolveDataRoots } from '../../activities/dataset-source.js';
import type { Pool } from '../../platform/db.js';
import { findVersion } from '../../platform/registry.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { startTraining } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const categories = 50_000;
const rows = 100_000;
const maxPayloadBytes = 64 * 1024;

/** Every payload in a history event (inputs, results, heartbeat details, failures, markers, search attributes). */
function payloadSizes(value: unknown, where: string, out: { where: string; bytes: number }[]): void {
  if (!value || typeof value !== 'object') return;
  if (value instanceof Uint8Array) return;
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && 'metadata' in record) {
    out.push({ where, bytes: record.data.byteLength });
    return;
  }
  for (const [key, child] of Object.entries(record)) payloadSizes(child, `${where}.${key}`, out);
}

/**
 * A dataset with a 50,000-category column: the logistic regression's preprocessing plan and coefficients run to
 * megabytes. They go to the trainer-metadata artifact; the run's history carries URIs, hashes and small summaries.
 */
describe('workflow history stays small whatever the model', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let scratch: string;
  const prefix = uniquePrefix('hist');

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'slipway-hist-'));
    db = await createTestDb('hist');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `hist-${randomBytes(4).toString('hex')}`,
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
        workerIdentity: 'hist-box',
        device: 'cpu',
        codeVersion: 'test',
        // The generated dataset is in a scratch folder: that folder is the worker's data root.
        dataRoots: await resolveDataRoots([scratch]),
      },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it(`registers a model with a ${categories}-category column, and no payload in its history is over 64 KiB`, async () => {
    const rng = createRng(11);
    const lines = ['shop,amount,bought'];
    for (let i = 0; i < rows; i++) {
      const shop = i % categories;
      const amount = rng.nextFloat();
      const bought = rng.nextFloat() < (shop % 2 === 0 ? 0.2 : 0.6) + amount * 0.2 ? 1 : 0;
      lines.push(`s${String(shop).padStart(5, '0')},${amount.toFixed(4)},${bought}`);
    }
    const source = join(scratch, 'shops.csv');
    await writeFile(source, `${lines.join('\n')}\n`);
    const spec: PipelineSpec = {
      model: `shops-${randomBytes(3).toString('hex')}`,
      dataset: { source },
      target: 'bought',
      positiveClass: '1',
      drop: [],
      split: { kind: 'random', testFraction: 0.2, seed: 1 },
      validation: { failOnWarnings: false },
      trainer: { kind: 'builtin', name: 'logistic_regression', params: { maxIter: 30, solver: 'lbfgs' } },
      resources: { gpu: 0 },
      evaluation: {
        threshold: 0.5,
        slices: [],
        gates: { min: {}, max: {}, maxRegression: {} },
        bootstrap: { iterations: 100, seed: 7 },
      },
      seed: 42,
      checkpointEvery: 10,
    };
    const handle = await startTraining(client, spec, prefix);
    const result = await handle.result();
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');

    // The metadata is whole in its artifact, and large: that is what must stay out of the history.
    const version = await findVersion(db.pool, spec.model, 1);
    const metadataUri = version?.metadata.metadataUri as string;
    const metadata = JSON.parse((await store.get(metadataUri)).toString()) as {
      preprocessing: { columns: { categories?: string[] }[] };
      coefficients: Record<string, number>;
    };
    // Each shop is in two rows: nearly all land in the training split (the rest go to the unknown bucket).
    expect(metadata.preprocessing.columns.find((c) => c.categories)?.categories?.length).toBeGreaterThan(
      45_000,
    );
    expect(Object.keys(metadata.coefficients).length).toBeGreaterThan(45_000);
    expect((await store.get(metadataUri)).byteLength).toBeGreaterThan(1024 * 1024);
    expect(version?.metadata.omittedFromSummary).toEqual(
      expect.arrayContaining(['preprocessing', 'coefficients']),
    );

    const history = await handle.fetchHistory();
    const sizes: { where: string; bytes: number }[] = [];
    for (const event of history.events ?? []) payloadSizes(event, `event ${String(event.eventId)}`, sizes);
    expect(sizes.length).toBeGreaterThan(20);
    const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    expect(largest.bytes, `largest payload: ${largest.where}`).toBeLessThanOrEqual(maxPayloadBytes);
  });
});
