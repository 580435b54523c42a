import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../ml/rng.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, metricValue, postJson, scrape } from '../helpers/gateway-client.js';
import { deploy, elec2Features, elec2Rows, registerOnnx, trainElec2 } from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';

const secret = (name: string) => `${name}-${'s'.repeat(20)}`;
const keys = {
  viewer: secret('viewer'),
  operator: secret('operator'),
  scoped: secret('scoped'),
  fuzz: secret('fuzz'),
  burst: secret('burst'),
};
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('bad requests, malformed bodies, keys and rate limits at the gateway', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let gateway: RunningGateway;
  let rows: Record<string, number>[];
  const prefix = `req-${randomBytes(4).toString('hex')}`;
  const model = 'elec2-req';
  const strict = 'elec2-strict';
  const undeployed = 'elec2-undeployed';

  beforeAll(async () => {
    db = await createTestDb('req');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix, forcePathStyle: true });
    const bytes = await trainElec2();
    await registerOnnx(db.pool, store, model, bytes);
    await registerOnnx(db.pool, store, strict, bytes, { metadata: { acceptsMissing: false } });
    await registerOnnx(db.pool, store, undeployed, bytes);
    await deploy(db.pool, model, { champion: 1 });
    await deploy(db.pool, strict, { champion: 1 });
    rows = await elec2Rows(1000, 3);
    gateway = await startGateway({
      schema: db.schema,
      store: { s3Prefix: prefix },
      env: {
        SLIPWAY_API_KEYS: [
          `viewer1:viewer:${keys.viewer}`,
          `op1:operator:${keys.operator}`,
          `scoped1:viewer:${keys.scoped}:another-model`,
          `fuzz1:viewer:${keys.fuzz}`,
          `burst1:viewer:${keys.burst}`,
        ].join(','),
        SERVING_MAX_BODY_BYTES: String(64 * 1024),
        SERVING_MAX_BATCH_ROWS: '100',
        SERVING_RATE_LIMIT_PER_MINUTE: '1000',
      },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const predictUrl = (name = model) => `${gateway.url}/v1/models/${name}/predict`;
  const inferUrl = (name = model) => `${gateway.url}/v2/models/${name}/infer`;
  const tensors = (data: number[] = [0.5]) =>
    elec2Features.map((f) => ({ name: f, shape: [data.length, 1], datatype: 'FP32', data }));

  /** Expects a problem+json answer with `status` whose errors name `field`. */
  async function expectProblem(
    call: ReturnType<typeof postJson>,
    status: number,
    field: string,
    problem?: RegExp,
  ) {
    const r = await call;
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    expect(r.body.error).toBe(r.body.detail);
    const named = (r.body.errors as { field: string; problem: string }[]).find((e) => e.field === field);
    expect(named, `errors: ${JSON.stringify(r.body.errors)}`).toBeDefined();
    if (problem) expect(named!.problem).toMatch(problem);
  }

  it('names the field of every bad request and never runs the model for one', async () => {
    const k = auth(keys.viewer);
    const row = rows[0]!;
    await expectProblem(postJson(predictUrl('no-such-model'), { rows }, k), 404, '(path)', /not deployed/);
    await expectProblem(
      postJson(`${gateway.url}/v1/models/${model}/versions/99/predict`, { rows }, k),
      404,
      '(path)',
      /no version 99/,
    );
    await expectProblem(
      postJson(`${gateway.url}/v2/models/${model}/versions/abc/infer`, { inputs: tensors() }, k),
      404,
      '(path)',
    );
    const { nswprice: _dropped, ...missing } = row;
    await expectProblem(
      postJson(predictUrl(), { rows: [row, missing] }, k),
      400,
      'rows.1.nswprice',
      /missing/,
    );
    await expectProblem(
      postJson(predictUrl(), { rows: [{ ...row, colour: 'red' }] }, k),
      400,
      'rows.0.colour',
      /not a feature/,
    );
    await expectProblem(
      postJson(predictUrl(), { rows: [{ ...row, nswprice: 'high' }] }, k),
      400,
      'rows.0.nswprice',
      /expected a number, got a string \("high"\)/,
    );
    await expectProblem(
      postJson(
        predictUrl(),
        '{"rows":[{"period":1e999,"nswprice":0,"nswdemand":0,"vicprice":0,"vicdemand":0,"transfer":0}]}',
        k,
      ),
      400,
      'rows.0.period',
      /not a finite number/,
    );
    await expectProblem(
      postJson(predictUrl(strict), { rows: [{ ...row, transfer: null }] }, k),
      400,
      'rows.0.transfer',
      /missing values \(null\) are not accepted/,
    );
    await expectProblem(postJson(predictUrl(), { rows: [] }, k), 400, 'rows');
    await expectProblem(postJson(predictUrl(), { rows, extra: 1 }, k), 400, 'extra');
    await expectProblem(
      postJson(predictUrl(), { rows: Array.from({ length: 101 }, () => row) }, k),
      413,
      'rows',
      /over the cap of 100/,
    );
    await expectProblem(
      postJson(inferUrl(), { inputs: tensors(new Array<number>(101).fill(0)) }, k),
      413,
      'inputs.0.shape',
    );
    await expectProblem(
      postJson(predictUrl(), { rows: [{ ...row, period: 'x'.repeat(70_000) }] }, k),
      413,
      '(body)',
      /over the cap of 65536 bytes/,
    );
    await expectProblem(postJson(predictUrl(), '{"rows": [', k), 400, '(body)', /not valid JSON/);
    await expectProblem(
      postJson(
        inferUrl(),
        { inputs: tensors().map((t, i) => (i === 2 ? { ...t, datatype: 'BYTES' } : t)) },
        k,
      ),
      400,
      'inputs.2.datatype',
      /BYTES doesn't fit input "nswdemand"/,
    );
    await expectProblem(
      postJson(inferUrl(), { inputs: tensors().map((t, i) => (i === 1 ? { ...t, shape: [1, 2] } : t)) }, k),
      400,
      'inputs.1.shape',
      /expected \[N\] or \[N, 1\]/,
    );
    await expectProblem(
      postJson(inferUrl(), { inputs: tensors().map((t, i) => (i === 0 ? { ...t, data: [1, 2] } : t)) }, k),
      400,
      'inputs.0.data',
      /2 values, but shape \[1, 1\] needs 1/,
    );
    await expectProblem(
      postJson(inferUrl(), { inputs: tensors().slice(1) }, k),
      400,
      'inputs',
      /missing input "period"/,
    );
    await expectProblem(
      postJson(
        inferUrl(),
        { inputs: [...tensors(), { name: 'x', shape: [1], datatype: 'FP32', data: [1] }] },
        k,
      ),
      400,
      'inputs.6.name',
      /no input/,
    );
    await expectProblem(
      postJson(inferUrl(), { inputs: tensors(), outputs: [{ name: 'logits' }] }, k),
      400,
      'outputs.0.name',
    );
    const form = await fetch(predictUrl(), {
      method: 'POST',
      headers: { ...k, 'content-type': 'text/csv' },
      body: 'a,b',
    });
    expect(form.status).toBe(415);
    const get = await fetch(predictUrl(), { headers: k });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    // A body over the cap without a length header is cut off too.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        predictUrl(),
        { method: 'POST', headers: { ...k, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('x'.repeat(8192));
      req.end();
    });
    expect(chunked).toBe(413);
    const metrics = await scrape(gateway.url);
    for (const name of [model, strict]) {
      expect(metricValue(metrics, 'slipway_gateway_predictions_total', { model: name })).toBe(0);
      expect(metricValue(metrics, 'slipway_gateway_batch_rows_count', { model: name })).toBe(0);
    }
  });

  it('takes null as a missing value where the model imputes it', async () => {
    const r = await postJson(predictUrl(), { rows: [{ ...rows[0], nswprice: null }] }, auth(keys.viewer));
    expect(r.status).toBe(200);
    expect(r.body.predictions[0].probability).toEqual(expect.any(Number));
  });

  it('survives a fuzz of malformed bodies: no 5xx, every process still up', async () => {
    const rng = createRng(20_240_611);
    const pick = <T>(list: readonly T[]): T => list[rng.nextInt(list.length)]!;
    const valid = JSON.stringify({ rows });
    const validInfer = JSON.stringify({ id: 'x', inputs: tensors([0.1, 0.2]) });
    const nasty: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      'x',
      [],
      {},
      [[]],
      { a: { b: [] } },
      -0,
      'NaN',
      '1e999',
    ];
    const bodies: (string | Buffer)[] = [
      '',
      ' ',
      'null',
      '"rows"',
      '[1,2,3]',
      '{"rows":null}',
      '{"rows":{}}',
      '{"rows":[null]}',
      '{"rows":[[1,2,3]]}',
      '{"__proto__":{"rows":1}}',
      '{"rows":[{"__proto__":{"x":1}}]}',
      '{"constructor":{"prototype":{"x":1}}}',
      '{"rows":[{"period":NaN}]}',
      '{"rows":[{"period":Infinity}]}',
      '{"inputs":[{"name":"period","shape":[-1,1],"datatype":"FP32","data":[1]}]}',
      '{"inputs":[{"name":"period","shape":[1e300,1],"datatype":"FP32","data":[1]}]}',
      '{"inputs":[{"name":"period","shape":[1.5,1],"datatype":"FP32","data":[1]}]}',
      '{"inputs":[{"name":"period","shape":"1,1","datatype":"FP32","data":[1]}]}',
      `{"inputs":[{"name":"period","shape":[1,1],"datatype":"FP32","data":${'['.repeat(5000)}${']'.repeat(5000)}}]}`,
      `{"rows":${'['.repeat(100_000)}${']'.repeat(100_000)}}`.slice(0, 60_000),
      '\uFEFF{"rows":[]}',
      '{"rows":[{"period":"\u0000"}]}',
      '{"rows":[{"\uD800":1}]}',
      randomBytes(2048),
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    ];
    for (let i = 0; i < 150; i++) {
      const base = pick([valid, validInfer]);
      const cut = rng.nextInt(base.length);
      switch (rng.nextInt(4)) {
        case 0:
          bodies.push(base.slice(0, cut));
          break;
        case 1:
          bodies.push(base.slice(0, cut) + String.fromCharCode(rng.nextInt(128)) + base.slice(cut + 1));
          break;
        case 2: {
          // A valid document with one value swapped for something of another type.
          const doc = JSON.parse(base) as Record<string, unknown>;
          const target = (
            'rows' in doc ? (doc.rows as unknown[])[rng.nextInt(3)] : pick(doc.inputs as unknown[])
          ) as Record<string, unknown>;
          const keysOf = Object.keys(target);
          target[pick(keysOf)] = pick(nasty);
          bodies.push(JSON.stringify(doc));
          break;
        }
        default:
          bodies.push(JSON.stringify(pick(nasty)));
      }
    }
    const statuses = new Map<number, number>();
    for (const body of bodies) {
      for (const url of [predictUrl(), inferUrl(), `${gateway.url}/v1/feedback`]) {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            ...auth(url.endsWith('feedback') ? keys.operator : keys.fuzz),
            'content-type': 'application/json',
          },
          body,
        });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `body ${String(body).slice(0, 200)} -> ${url}`).toBeLessThan(500);
      }
    }
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    expect((await fetch(`${gateway.url}/v2/health/live`)).status).toBe(200);
    expect((await postJson(predictUrl(), { rows }, auth(keys.fuzz))).status).toBe(200);
    expect(gateway.logs.some((l) => l.includes('gateway process exited'))).toBe(false);
  });

  it('asks for a key when keys are configured: any role predicts, operator labels, scopes hold', async () => {
    const anonymous = await postJson(predictUrl(), { rows });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
    expect(anonymous.body.detail).toMatch(/API key is required/);
    expect((await postJson(predictUrl(), { rows }, auth('wrong-key-0123456789'))).status).toBe(401);
    expect((await postJson(predictUrl(), { rows }, auth(keys.viewer))).status).toBe(200);
    expect((await postJson(inferUrl(), { inputs: tensors() }, auth(keys.operator))).status).toBe(200);
    const scoped = await postJson(predictUrl(), { rows }, auth(keys.scoped));
    expect(scoped.status).toBe(403);
    expect(scoped.body.detail).toMatch(/may not act on model elec2-req/);
    const label = { requestId: '0190a7c0-0000-7000-8000-000000000000', label: '1' };
    const viewer = await postJson(`${gateway.url}/v1/feedback`, label, auth(keys.viewer));
    expect(viewer.status).toBe(403);
    expect(viewer.body.detail).toMatch(/has role viewer; this needs operator/);
    expect((await postJson(`${gateway.url}/v1/feedback`, label, auth(keys.operator))).status).toBe(422);
    expect((await fetch(`${gateway.url}/v2/models/${model}`)).status).toBe(401);
    expect((await fetch(`${gateway.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(200);
  });

  it('limits each client to its rate and says when to retry', async () => {
    const [row] = rows;
    const statuses: number[] = [];
    const retryAfter: string[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 130; i++) {
          const r = await postJson(predictUrl(), { rows: [row] }, auth(keys.burst));
          statuses.push(r.status);
          if (r.status === 429) retryAfter.push(r.headers.get('retry-after') ?? '');
        }
      }),
    );
    const ok = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 429).length;
    const seen = `200: ${ok}, 429: ${refused}, others: [${statuses.filter((s) => s !== 200 && s !== 429).join(', ')}]`;
    // 1300 requests against a limit of 1000 a minute: some refused, the rest answered, nothing else. Each gateway
    // process holds its share of the limit (500 of 1000 with two), and the cluster spreads connections between
    // them, not always evenly: at least one share is answered, and never more than the whole limit plus what it
    // refilled while the test ran.
    expect(
      statuses.every((s) => s === 200 || s === 429),
      seen,
    ).toBe(true);
    expect(refused, seen).toBeGreaterThan(0);
    expect(ok, seen).toBeGreaterThanOrEqual(500);
    expect(ok, seen).toBeLessThanOrEqual(1000 + Math.ceil(((Date.now() - started) * 1000) / 60_000));
    expect(retryAfter.every((r) => Number(r) >= 1)).toBe(true);
    // Another client is not affected.
    expect((await postJson(predictUrl(), { rows }, auth(keys.viewer))).status).toBe(200);
    expect(metricValue(await scrape(gateway.url), 'slipway_gateway_rate_limited_total')).toBeGreaterThan(0);
  });

  it('serves a registered version asked for by number even when it is not deployed, logged as direct', async () => {
    await expectProblem(
      postJson(predictUrl(undeployed), { rows }, auth(keys.viewer)),
      404,
      '(path)',
      /not deployed/,
    );
    const direct = await postJson(
      `${gateway.url}/v1/models/${undeployed}/versions/1/predict`,
      { rows },
      auth(keys.viewer),
    );
    expect(direct.status).toBe(200);
    const ids = (direct.body.predictions as { requestId: string; version: number }[]).map((p) => p.requestId);
    const logged = await eventually(async () => {
      const { rows: found } = await db.pool.query(
        'SELECT role, served FROM predictions WHERE request_id = ANY($1)',
        [ids],
      );
      return found.length === 3 ? found : undefined;
    });
    expect(logged.every((r) => r.role === 'direct' && r.served)).toBe(true);
  });
});
