import { randomBytes } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { findVersion } from '../../platform/registry.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/gateway-client.js';
import { deploy, elec2Features, elec2Rows, registerOnnx, trainElec2 } from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';

describe('the gateway speaks the Open Inference Protocol and row JSON', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let gateway: RunningGateway;
  const prefix = `oip-${randomBytes(4).toString('hex')}`;
  const model = 'elec2-oip';

  beforeAll(async () => {
    db = await createTestDb('oip');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix, forcePathStyle: true });
    const v1 = await registerOnnx(db.pool, store, model, await trainElec2());
    await deploy(db.pool, model, { champion: v1.version });
    gateway = await startGateway({ schema: db.schema, store: { s3Prefix: prefix } });
  });

  afterAll(async () => {
    await gateway?.stop();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('answers a KServe V2 inference request with the probabilities onnxruntime gives on the registered file', async () => {
    const rows = await elec2Rows(20_000, 5);
    // The request shape KServe documents: named tensors, shape, datatype, flat row-major data, an id to echo.
    const request = {
      id: 'req-42',
      inputs: elec2Features.map((name) => ({
        name,
        shape: [5, 1],
        datatype: 'FP32',
        data: rows.map((r) => r[name]),
      })),
      outputs: [{ name: 'probabilities' }, { name: 'label' }],
    };
    const response = await fetch(`${gateway.url}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
    };
    expect(body).toMatchObject({ model_name: model, model_version: '1', id: 'req-42' });
    expect(body.outputs.map((o) => o.name)).toEqual(['probabilities', 'label']);

    const version = await findVersion(db.pool, model, 1);
    const bytes = await store.get(version!.artifactUri, { expectSha256: version!.artifactSha256 });
    const session = await ort.InferenceSession.create(bytes);
    const feeds = Object.fromEntries(
      elec2Features.map((name) => [
        name,
        new ort.Tensor('float32', Float32Array.from(rows.map((r) => r[name]!)), [5, 1]),
      ]),
    );
    const direct = await session.run(feeds);
    await session.release();
    const probabilities = body.outputs[0]!;
    expect(probabilities).toMatchObject({ shape: [5, 2], datatype: 'FP32' });
    // The same float32 numbers, bit for bit.
    expect(Float32Array.from(probabilities.data)).toEqual(direct.probabilities!.data as Float32Array);
    expect(body.outputs[1]!.data).toEqual(Array.from(direct.label!.data as BigInt64Array, Number));
  });

  it('answers row JSON per row with probability, label, version and a request id, and logs each row', async () => {
    const rows = await elec2Rows(30_000, 3);
    const response = await fetch(`${gateway.url}/v1/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      predictions: { requestId: string; version: number; probability: number; label: string }[];
    };
    expect(body.predictions).toHaveLength(3);
    for (const p of body.predictions) {
      expect(p).toMatchObject({ version: 1, label: p.probability > 0.5 ? '1' : '0' });
      expect(p.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const ids = body.predictions.map((p) => p.requestId);
    const logged = await eventually(async () => {
      const { rows: found } = await db.pool.query(
        'SELECT request_id, version, role, served, fallback, inputs, score, predicted_label, error FROM predictions WHERE request_id = ANY($1)',
        [ids],
      );
      return found.length === 3 ? found : undefined;
    });
    for (const row of logged) {
      const answer = body.predictions.find((p) => p.requestId === row.request_id)!;
      expect(row).toMatchObject({
        version: 1,
        role: 'champion',
        served: true,
        fallback: false,
        error: null,
        predicted_label: answer.label,
      });
      expect(row.score).toBeCloseTo(answer.probability, 12);
      expect(Object.keys(row.inputs as object).sort()).toEqual([...elec2Features].sort());
    }
  });

  it('serves health, server and model metadata, and readiness', async () => {
    expect((await fetch(`${gateway.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/v2/models/${model}/ready`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/v2/models/${model}/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/v2/models/nope/ready`)).status).toBe(404);
    const metadata = (await (await fetch(`${gateway.url}/v2/models/${model}`)).json()) as { inputs: unknown };
    expect(metadata).toMatchObject({
      name: model,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'request_id', datatype: 'BYTES', shape: [-1] },
      ],
    });
    expect(metadata.inputs).toEqual(
      elec2Features.map((name) => ({ name, datatype: 'FP32', shape: [-1, 1] })),
    );
    expect(await (await fetch(`${gateway.url}/v2`)).json()).toMatchObject({ name: 'slipway' });
  });
});
