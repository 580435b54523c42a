import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, metricValue, predict, scrape, waitForDeployment } from '../helpers/gateway-client.js';
import { deploy, elec2Rows, registerOnnx, trainElec2 } from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';

/** One POST on a keep-alive agent of its own: resolves with the status, rejects when the connection fails. */
function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('gateway processes dying, a slow log, and a graceful stop', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let gateway: RunningGateway;
  const prefix = `res-${randomBytes(4).toString('hex')}`;
  const model = 'elec2-res';

  beforeAll(async () => {
    db = await createTestDb('res');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix, forcePathStyle: true });
    await registerOnnx(db.pool, store, model, await trainElec2());
    await deploy(db.pool, model, { champion: 1 });
    gateway = await startGateway({
      schema: db.schema,
      store: { s3Prefix: prefix },
      env: { SERVING_LOG_BUFFER_ROWS: '60', SERVING_LOG_BATCH_ROWS: '20' },
    });
  });

  afterAll(async () => {
    await gateway?.kill();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('loses no request but the one in flight on each connection of a killed process, and restarts it', async () => {
    const body = JSON.stringify({ rows: await elec2Rows(2000, 1) });
    const url = `${gateway.url}/v1/models/${model}/predict`;
    const loops = 12;
    const outcomes: { loop: number; ok: boolean; at: number }[] = [];
    let killedAt = 0;
    let stop = false;
    const loop = async (index: number) => {
      // Each client keeps one connection, so at most one of its requests can be in flight on the killed process.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        try {
          const status = await post(agent, url, body);
          outcomes.push({ loop: index, ok: status === 200, at: Date.now() });
        } catch {
          outcomes.push({ loop: index, ok: false, at: Date.now() });
        }
      }
      agent.destroy();
    };
    const running = Array.from({ length: loops }, (_, i) => loop(i));
    await eventually(() => (outcomes.length > 300 ? true : undefined));
    const [victim] = gateway.workerPids();
    killedAt = Date.now();
    gateway.killWorker(victim, 'SIGKILL');
    await gateway.waitForWorkers(2);
    const restarted = outcomes.length;
    await eventually(() => (outcomes.length > restarted + 300 ? true : undefined));
    stop = true;
    await Promise.all(running);

    const failures = outcomes.filter((o) => !o.ok);
    // At most one failure per connection, each at the kill: the request that was in flight on the dead process.
    for (let i = 0; i < loops; i++)
      expect(failures.filter((f) => f.loop === i).length).toBeLessThanOrEqual(1);
    for (const f of failures) expect(f.at).toBeGreaterThanOrEqual(killedAt);
    expect(gateway.workerPids()).not.toContain(victim);
    expect(outcomes.filter((o) => o.at > killedAt && o.ok).length).toBeGreaterThan(300);
  });

  it('sheds log rows (counted) when the database stalls, and never makes a request wait for the log', async () => {
    const rows = await elec2Rows(3000, 1);
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE predictions IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const answers = [];
      for (let i = 0; i < 200; i++) answers.push(...(await predict(gateway.url, model, rows)));
      const elapsed = Date.now() - started;
      expect(answers).toHaveLength(200);
      // 200 sequential requests while no log row can be written: served at full speed (seconds would mean waiting).
      expect(elapsed).toBeLessThan(20_000);
      const text = await scrape(gateway.url);
      expect(metricValue(text, 'slipway_gateway_log_shed_rows_total', { model })).toBeGreaterThan(0);
      expect(metricValue(text, 'slipway_gateway_log_buffered_rows')).toBeLessThanOrEqual(120);
    } finally {
      await blocker.query('COMMIT');
      blocker.release();
    }
    // Once the database answers again the buffered rows are written.
    await eventually(async () => {
      const text = await scrape(gateway.url);
      return metricValue(text, 'slipway_gateway_log_buffered_rows') === 0 ? true : undefined;
    });
  });

  it('drains on SIGTERM: requests in flight are answered and every answered row is logged', async () => {
    await waitForDeployment(gateway.url, await deploy(db.pool, model, { champion: 1 }));
    // 50 rows: within this gateway's log buffer of 60, so none is shed and every one must be written.
    const rows = await elec2Rows(4000, 5);
    const answers = (
      await Promise.all(Array.from({ length: 10 }, () => predict(gateway.url, model, rows)))
    ).flat();
    await gateway.stop();
    const { rows: logged } = await db.pool.query(
      'SELECT count(*)::int AS n FROM predictions WHERE request_id = ANY($1)',
      [answers.map((a) => a.requestId)],
    );
    expect(logged[0].n).toBe(50);
  });
});
