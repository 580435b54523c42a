import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { insertPredictions } from '../../platform/predictions.js';
import { newRequestId } from '../../platform/request-id.js';
import { startTestApi } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, metricValue, postJson, predict, scrape } from '../helpers/gateway-client.js';
import { deploy, elec2Rows, registerOnnx, trainElec2 } from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';
import { testClient } from '../helpers/workers.js';

describe('feedback: late labels joined to logged predictions', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let gateway: RunningGateway;
  let client: Client;
  let api: { app: FastifyInstance; url: string };
  const prefix = `fb-${randomBytes(4).toString('hex')}`;
  const model = 'elec2-fb';
  const feedbackUrl = () => `${gateway.url}/v1/feedback`;
  const labels = async (ids: readonly string[]) =>
    (
      await db.pool.query<{
        request_id: string;
        model_name: string;
        label: string;
        label_positive: boolean;
        actor: string;
      }>(
        'SELECT request_id, model_name, label, label_positive, actor FROM feedback WHERE request_id = ANY($1)',
        [ids],
      )
    ).rows;
  /** Predictions that are in the log (the log is written a little after the answers). */
  async function loggedPredictions(count: number) {
    const answers = await predict(gateway.url, model, await elec2Rows(7000, count));
    await eventually(async () => {
      const { rows } = await db.pool.query(
        'SELECT count(*)::int AS n FROM predictions WHERE request_id = ANY($1)',
        [answers.map((a) => a.requestId)],
      );
      return rows[0].n === count ? true : undefined;
    });
    return answers;
  }

  beforeAll(async () => {
    db = await createTestDb('fb');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix, forcePathStyle: true });
    await registerOnnx(db.pool, store, model, await trainElec2());
    await deploy(db.pool, model, { champion: 1 });
    client = await testClient();
    api = await startTestApi({
      client,
      db: db.pool,
      store,
      queuePrefix: `fb-${randomBytes(3).toString('hex')}`,
    });
    // Log rows wait up to 2 s before they are written, so a label can overtake its prediction; pending labels expire
    // after 6 s.
    gateway = await startGateway({
      schema: db.schema,
      store: { s3Prefix: prefix },
      env: {
        SERVING_LOG_FLUSH_MS: '2000',
        SERVING_LOG_BATCH_ROWS: '100000',
        SERVING_FEEDBACK_PENDING_S: '6',
      },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await api?.app.close();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('joins a label to its prediction, takes the same label again, and refuses a different one', async () => {
    const [a] = await loggedPredictions(1);
    const first = await postJson(feedbackUrl(), { requestId: a!.requestId, label: '1' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ results: [{ requestId: a!.requestId, outcome: 'recorded', model }] });
    expect(await labels([a!.requestId])).toEqual([
      { request_id: a!.requestId, model_name: model, label: '1', label_positive: true, actor: 'local' },
    ]);
    // The number 1 is the class "1": the same label, so nothing changes.
    const again = await postJson(feedbackUrl(), { requestId: a!.requestId, label: 1 });
    expect(again.body.results[0].outcome).toBe('unchanged');
    const other = await postJson(feedbackUrl(), { requestId: a!.requestId, label: '0' });
    expect(other.status).toBe(409);
    expect(other.body.errors).toEqual([{ field: 'label', problem: 'this request is already labelled "1"' }]);
  });

  it('takes a batch whole or not at all, naming every bad item by its path', async () => {
    const answers = await loggedPredictions(3);
    const bad = await postJson(feedbackUrl(), {
      items: [
        { requestId: answers[0]!.requestId, label: '0' },
        { requestId: answers[1]!.requestId, label: { value: 1 } },
        { requestId: answers[2]!.requestId, label: 'maybe' },
        { requestId: 'not-a-request-id', label: '1' },
        { requestId: '018f0000-0000-7000-8000-000000000000', label: '1' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { field: 'items.1.label', problem: 'expected a class label (a string, number or boolean), got object' },
    ]);
    const refused = await postJson(feedbackUrl(), {
      items: [
        { requestId: answers[0]!.requestId, label: '0' },
        { requestId: answers[2]!.requestId, label: 'maybe' },
        { requestId: 'not-a-request-id', label: '1' },
        { requestId: '018f0000-0000-7000-8000-000000000000', label: '1' },
      ],
    });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body.errors).toEqual([
      { field: 'items.1.label', problem: `"maybe" is not a class of model ${model}; expected "0" or "1"` },
      {
        field: 'items.2.requestId',
        problem: 'unknown request id "not-a-request-id": the gateway never issued it',
      },
      {
        field: 'items.3.requestId',
        problem:
          'unknown request id "018f0000-0000-7000-8000-000000000000": no prediction with this id was logged',
      },
    ]);
    expect(await labels(answers.map((a) => a.requestId))).toEqual([]);
    const good = await postJson(
      feedbackUrl(),
      answers.map((a, i) => ({ requestId: a.requestId, label: i % 2 === 0 ? '0' : '1' })),
    );
    expect(good.status).toBe(200);
    expect((good.body as { results: { outcome: string }[] }).results.map((r) => r.outcome)).toEqual([
      'recorded',
      'recorded',
      'recorded',
    ]);
  });

  it('keeps a label that overtakes its prediction until the prediction is logged', async () => {
    const [a] = await predict(gateway.url, model, await elec2Rows(7100, 1));
    const early = await postJson(feedbackUrl(), { requestId: a!.requestId, label: '0' });
    expect(early.status).toBe(200);
    expect(early.body.results).toEqual([{ requestId: a!.requestId, outcome: 'pending' }]);
    const joined = await eventually(async () => {
      const rows = await labels([a!.requestId]);
      return rows.length === 1 ? rows[0] : undefined;
    });
    expect(joined).toMatchObject({ model_name: model, label: '0', label_positive: false });
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM feedback_pending');
    expect(rows[0].n).toBe(0);
  });

  it('drops a pending label whose prediction never turns up, and counts it', async () => {
    const neverServed = newRequestId();
    const r = await postJson(feedbackUrl(), { requestId: neverServed, label: '1' });
    expect(r.body.results[0].outcome).toBe('pending');
    await eventually(async () => {
      const { rows } = await db.pool.query(
        'SELECT count(*)::int AS n FROM feedback_pending WHERE request_id = $1',
        [neverServed],
      );
      return rows[0].n === 0 ? true : undefined;
    }, 20_000);
    expect(await labels([neverServed])).toEqual([]);
    expect(
      metricValue(await scrape(gateway.url), 'slipway_gateway_feedback_total', { outcome: 'expired' }),
    ).toBe(1);
  });

  it('takes a label long after its prediction, and through the control API with the same rules', async () => {
    const at = Date.now() - 40 * 24 * 3600 * 1000;
    const old = newRequestId(at);
    const [features] = await elec2Rows(7200, 1);
    await insertPredictions(db.pool, [
      {
        at: new Date(at).toISOString(),
        request_id: old,
        model_name: model,
        version: 1,
        role: 'champion',
        served: true,
        fallback: false,
        inputs: features!,
        score: 0.8,
        predicted_label: '1',
        error: null,
        latency_ms: 1,
        sticky_key: null,
      },
    ]);
    const viaApi = await api.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      // The API listens on loopback and checks the Host header; inject sends none of its own.
      headers: { host: new URL(api.url).host },
      payload: { requestId: old, label: 'true' },
    });
    expect(viaApi.statusCode).toBe(422);
    expect(viaApi.json().errors).toEqual([
      { field: 'label', problem: `"true" is not a class of model ${model}; expected "0" or "1"` },
    ]);
    const recorded = await api.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      // The API listens on loopback and checks the Host header; inject sends none of its own.
      headers: { host: new URL(api.url).host },
      payload: [{ requestId: old, label: '1' }],
    });
    expect(recorded.statusCode).toBe(200);
    expect(recorded.json()).toEqual({ results: [{ requestId: old, outcome: 'recorded', model }] });
    expect((await postJson(feedbackUrl(), { requestId: old, label: '1' })).body.results[0].outcome).toBe(
      'unchanged',
    );
  });
});
