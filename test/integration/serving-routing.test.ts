import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import {
  eventually,
  metricValue,
  postJson,
  predict,
  scrape,
  waitForDeployment,
} from '../helpers/gateway-client.js';
import {
  deploy,
  elec2Features,
  elec2Rows,
  nanModel,
  registerOnnx,
  slowModel,
  trainElec2,
} from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';

interface LoggedRow {
  request_id: string;
  version: number;
  role: string;
  served: boolean;
  fallback: boolean;
  score: number | null;
  error: string | null;
  sticky_key: string | null;
}

describe('gateway routing: weights, sticky keys, shadow, fallback, refused artifacts, live deployment changes', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let gateway: RunningGateway;
  let healthy: [Uint8Array, Uint8Array];
  const prefix = `route-${randomBytes(4).toString('hex')}`;

  /** Registers the two healthy versions (1, 2) and the given extra ones (3, 4, ...) of a fresh model. */
  async function model(name: string, extra: { bytes: Uint8Array; sha256?: string }[] = []): Promise<string> {
    for (const bytes of healthy) await registerOnnx(db.pool, store, name, bytes);
    for (const e of extra)
      await registerOnnx(db.pool, store, name, e.bytes, e.sha256 ? { sha256: e.sha256 } : {});
    return name;
  }

  async function logged(ids: readonly string[], expected: number): Promise<LoggedRow[]> {
    return eventually(async () => {
      const { rows } = await db.pool.query<LoggedRow>(
        'SELECT request_id, version, role, served, fallback, score, error, sticky_key FROM predictions WHERE request_id = ANY($1)',
        [ids],
      );
      return rows.length >= expected ? rows : undefined;
    });
  }

  beforeAll(async () => {
    db = await createTestDb('route');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix, forcePathStyle: true });
    healthy = [await trainElec2({ start: 0 }), await trainElec2({ start: 10_000 })];
    gateway = await startGateway({
      schema: db.schema,
      store: { s3Prefix: prefix },
      env: { SERVING_CHALLENGER_TIMEOUT_MS: '50', SERVING_CHALLENGER_COOLDOWN_MS: '2000' },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('splits rows by the challenger weight, within a binomial tolerance, and logs what each version answered', async () => {
    const name = await model('split');
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, { champion: 1, challenger: 2, challengerWeight: 0.3 }),
    );
    const rows = await elec2Rows(5000, 25);
    const answers = (
      await Promise.all(Array.from({ length: 40 }, () => predict(gateway.url, name, rows)))
    ).flat();
    const challenger = answers.filter((a) => a.version === 2).length;
    // 1000 rows at p = 0.3: mean 300, standard deviation 14.5; five of them either way.
    expect(Math.abs(challenger - 300)).toBeLessThan(73);
    const log = await logged(
      answers.map((a) => a.requestId),
      1000,
    );
    expect(log.filter((r) => r.served && r.version === 2 && r.role === 'challenger')).toHaveLength(
      challenger,
    );
    expect(log.filter((r) => r.served && r.version === 1 && r.role === 'champion')).toHaveLength(
      1000 - challenger,
    );
  });

  it('pins a sticky caller to one version (row field or header) and spreads callers by the weight', async () => {
    const name = await model('sticky');
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, {
        champion: 1,
        challenger: 2,
        challengerWeight: 0.3,
        stickyKey: 'customer',
      }),
    );
    const [row] = await elec2Rows(100, 1);
    const customers = Array.from({ length: 400 }, (_, i) => `c-${i}`);
    const seen = new Map<string, Set<number>>();
    for (let round = 0; round < 3; round++) {
      const answers = await predict(
        gateway.url,
        name,
        customers.map((customer) => ({ ...row, customer })),
      );
      answers.forEach((a, i) =>
        seen.set(customers[i]!, (seen.get(customers[i]!) ?? new Set()).add(a.version)),
      );
    }
    expect([...seen.values()].every((versions) => versions.size === 1)).toBe(true);
    const onChallenger = [...seen.values()].filter((v) => v.has(2)).length;
    expect(Math.abs(onChallenger - 120)).toBeLessThan(46); // 400 callers at 0.3: sd 9.2
    // The header names the caller for a whole request.
    const versions = new Set<number>();
    for (let i = 0; i < 10; i++)
      for (const a of await predict(gateway.url, name, [row!], { customer: 'c-7' })) versions.add(a.version);
    expect(versions).toEqual(seen.get('c-7'));
    const log = await logged(
      [(await predict(gateway.url, name, [{ ...row, customer: 'c-9' }]))[0]!.requestId],
      1,
    );
    expect(log[0]!.sticky_key).toBe('c-9');
  });

  it('shadows: the client gets the champion, the challenger scores the same rows off the response path', async () => {
    const name = await model('shadow');
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, { champion: 1, challenger: 2, shadow: true }),
    );
    const answers = await predict(gateway.url, name, await elec2Rows(200, 20));
    expect(answers.every((a) => a.version === 1)).toBe(true);
    const log = await logged(
      answers.map((a) => a.requestId),
      40,
    );
    for (const a of answers) {
      const rows = log.filter((r) => r.request_id === a.requestId);
      expect(rows.map((r) => [r.role, r.version, r.served]).sort()).toEqual([
        ['champion', 1, true],
        ['shadow', 2, false],
      ]);
      expect(rows.find((r) => r.role === 'shadow')!.score).toEqual(expect.any(Number));
    }
  });

  it('answers from the champion when the challenger gives NaN, and counts it against the challenger', async () => {
    const name = await model('nan', [{ bytes: nanModel() }]);
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, { champion: 1, challenger: 3, challengerWeight: 1 }),
    );
    const answers = await predict(gateway.url, name, await elec2Rows(300, 10));
    expect(answers.every((a) => a.version === 1 && Number.isFinite(a.probability))).toBe(true);
    const log = await logged(
      answers.map((a) => a.requestId),
      20,
    );
    expect(
      log
        .filter((r) => r.role === 'challenger')
        .every((r) => r.version === 3 && !r.served && r.error === 'nan'),
    ).toBe(true);
    expect(log.filter((r) => r.role === 'champion').every((r) => r.served && r.fallback)).toBe(true);
    const metrics = await scrape(gateway.url);
    expect(metricValue(metrics, 'slipway_gateway_fallbacks_total', { model: name, version: '3' })).toBe(10);
    expect(
      metricValue(metrics, 'slipway_gateway_prediction_errors_total', {
        model: name,
        version: '3',
        reason: 'nan',
      }),
    ).toBe(10);
  });

  it('answers from the champion when the challenger is too slow, then skips it for the cooldown', async () => {
    const name = await model('slow', [{ bytes: slowModel(400) }]);
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, { champion: 1, challenger: 3, challengerWeight: 1 }),
    );
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(...(await predict(gateway.url, name, await elec2Rows(400 + i, 1))));
    expect(answers.map((a) => a.version)).toEqual([1, 1, 1, 1]);
    const ids = answers.map((a) => a.requestId);
    // A request's rows are logged together: once the four champion rows are there, so are the challenger's.
    const log = await eventually(async () => {
      const rows = await logged(ids, 4);
      return rows.filter((r) => r.role === 'champion').length === 4 ? rows : undefined;
    });
    const errors = log.filter((r) => r.role === 'challenger').map((r) => r.error ?? '');
    // Each gateway process times the challenger out once, then leaves it out while its circuit is open (2 s): the
    // champion answers those rows as its own, and they are no evidence against the challenger (no challenger row).
    const timeouts = errors.length;
    expect(timeouts).toBeGreaterThanOrEqual(1);
    expect(timeouts).toBeLessThanOrEqual(2);
    expect(errors.every((e) => /^timeout \(\d+\.\d ms > 50 ms\)$/.test(e))).toBe(true);
    const champion = log.filter((r) => r.role === 'champion');
    expect(champion.every((r) => r.served)).toBe(true);
    expect(champion.filter((r) => r.fallback)).toHaveLength(timeouts);
    const metrics = await scrape(gateway.url);
    expect(
      metricValue(metrics, 'slipway_gateway_prediction_errors_total', {
        model: name,
        version: '3',
        reason: 'circuit_open',
      }),
    ).toBe(4 - timeouts);
  });

  it('refuses a challenger whose file does not match its sha256: the champion answers, and it is alerted', async () => {
    const name = await model('tampered', [
      { bytes: await trainElec2({ start: 20_000 }), sha256: 'f'.repeat(64) },
    ]);
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, { champion: 1, challenger: 3, challengerWeight: 1 }),
    );
    const answers = await predict(gateway.url, name, await elec2Rows(500, 5));
    expect(answers.every((a) => a.version === 1)).toBe(true);
    const log = await logged(
      answers.map((a) => a.requestId),
      10,
    );
    for (const r of log.filter((x) => x.role === 'challenger')) {
      expect(r).toMatchObject({ version: 3, served: false, score: null });
      expect(r.error).toMatch(/refused: its artifact's sha256 is [0-9a-f]{64}, the registry says f{64}/);
    }
    const metrics = await scrape(gateway.url);
    expect(
      metricValue(metrics, 'slipway_gateway_integrity_failures_total', { model: name, version: '3' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(metrics, 'slipway_gateway_prediction_errors_total', {
        model: name,
        version: '3',
        reason: 'integrity',
      }),
    ).toBe(5);
    const audit = await db.pool.query(
      `SELECT actor, source FROM audit_log WHERE action = 'model.integrity_refused' AND subject = $1`,
      [`${name}:3`],
    );
    expect(audit.rows.length).toBeGreaterThan(0);
    expect(audit.rows[0].source).toMatch(/^gateway:/);
    expect(gateway.logs.some((l) => l.includes('failed its sha256 check') && l.includes(name))).toBe(true);
    // A tampered champion serves nothing: 503, never its scores.
    await waitForDeployment(
      gateway.url,
      await deploy(db.pool, name, { champion: 3, challenger: null, challengerWeight: 0 }),
    );
    const refused = await postJson(`${gateway.url}/v1/models/${name}/predict`, {
      rows: await elec2Rows(0, 1),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body.detail).toMatch(/refused/);
  });

  it('answers 503 with problem+json when no version can answer, and logs the rows as not served', async () => {
    const name = await model('broken', [{ bytes: nanModel() }]);
    await waitForDeployment(gateway.url, await deploy(db.pool, name, { champion: 3 }));
    const r = await postJson(`${gateway.url}/v2/models/${name}/infer`, {
      inputs: elec2Features.map((f) => ({ name: f, shape: [1, 1], datatype: 'FP32', data: [0.5] })),
    });
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.body).toMatchObject({ status: 503, title: 'No version could answer' });
    expect(r.body.error).toMatch(/broken:3 \(champion\): nan/);
  });

  it('applies a deployment change in every process within 1 s, under load, with no failed request', async () => {
    const name = await model('live');
    await waitForDeployment(gateway.url, await deploy(db.pool, name, { champion: 1 }));
    const rows = await elec2Rows(600, 1);
    const seen: { started: number; version: number }[] = [];
    let failures = 0;
    let changedAt = Infinity;
    let stop = false;
    const client = async () => {
      while (!stop) {
        const started = Date.now();
        try {
          const [a] = await predict(gateway.url, name, rows);
          seen.push({ started, version: a!.version });
        } catch {
          failures++;
        }
      }
    };
    const clients = Array.from({ length: 8 }, () => client());
    await eventually(() => (seen.length > 200 ? true : undefined));
    await deploy(db.pool, name, { champion: 2 });
    changedAt = Date.now();
    await eventually(() =>
      seen.filter((s) => s.started > changedAt + 1500).length > 200 ? true : undefined,
    );
    stop = true;
    await Promise.all(clients);
    expect(failures).toBe(0);
    expect(seen.some((s) => s.started < changedAt && s.version === 1)).toBe(true);
    // The last request the old version answered started less than 1 s after the change was committed.
    const lastOld = Math.max(...seen.filter((s) => s.version === 1).map((s) => s.started));
    expect(lastOld - changedAt).toBeLessThan(1000);
    expect(seen.filter((s) => s.started > changedAt + 1000).length).toBeGreaterThan(200);
  });

  it('sums metrics over every gateway process and batches rows that arrive together into one session.run', async () => {
    const name = await model('metrics');
    await waitForDeployment(gateway.url, await deploy(db.pool, name, { champion: 1 }));
    const [row] = await elec2Rows(700, 1);
    await Promise.all(Array.from({ length: 64 }, () => predict(gateway.url, name, [row!])));
    const text = await scrape(gateway.url);
    expect(
      metricValue(text, 'slipway_gateway_predictions_total', { model: name, version: '1', role: 'champion' }),
    ).toBe(64);
    expect(
      metricValue(text, 'slipway_gateway_requests_total', { model: name, endpoint: 'predict', code: '200' }),
    ).toBe(64);
    expect(metricValue(text, 'slipway_gateway_batch_rows_sum', { model: name, version: '1' })).toBe(64);
    // Fewer runs than requests: some runs carried several requests' rows.
    expect(metricValue(text, 'slipway_gateway_batch_rows_count', { model: name, version: '1' })).toBeLessThan(
      64,
    );
    expect(metricValue(text, 'slipway_gateway_processes')).toBe(2);
  });
});
