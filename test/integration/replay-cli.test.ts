// `slipway replay` on a CSV of its own (not Elec2's file): through a real gateway, in the order of a time column, the
// label posted for each row, and a second run resuming where the first stopped.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { runCli } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { deploy, elec2Features, elec2Rows, registerOnnx, trainElec2 } from '../helpers/serving-models.js';
import { testStack } from '../helpers/stack.js';

describe('slipway replay', { timeout: 180_000 }, () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let gateway: RunningGateway;
  let dir: string;
  const model = `replay-${randomBytes(3).toString('hex')}`;
  const s3Prefix = `replay-${randomBytes(4).toString('hex')}`;
  /** Data rows in file order; the `ts` column puts them in reverse order. */
  let rows: { id: string; ts: string; features: Record<string, number>; label: string }[];

  beforeAll(async () => {
    db = await createTestDb('replay_cli');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix: s3Prefix, forcePathStyle: true });
    const { version } = await registerOnnx(db.pool, store, model, await trainElec2());
    await deploy(db.pool, model, { champion: version });
    gateway = await startGateway({ schema: db.schema, store: { s3Prefix }, processes: 1 });
    dir = await mkdtemp(join(tmpdir(), 'slipway-replay-'));
    const features = await elec2Rows(20_000, 100);
    rows = features.map((f, i) => ({
      id: `row-${i}`,
      ts: new Date(Date.UTC(2026, 0, 1) + (100 - i) * 60_000).toISOString(),
      features: f,
      label: i % 3 === 0 ? '1' : '0',
    }));
    const header = ['id', 'ts', ...elec2Features, 'class'];
    const lines = rows.map((r) =>
      [r.id, r.ts, ...elec2Features.map((f) => r.features[f]), r.label].join(','),
    );
    await writeFile(join(dir, 'traffic.csv'), `${header.join(',')}\n${lines.join('\n')}\n`);
  });

  afterAll(async () => {
    await gateway?.stop();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const replay = (...args: string[]) =>
    runCli(['replay', join(dir, 'traffic.csv'), '--model', model, '--gateway', gateway.url, ...args]);

  it('asks which column is the label when more than one could be', async () => {
    const result = await replay('--speed', '1000');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--label-column \(candidates: id, ts, class\)/);
  });

  it('plays the rows in time order, posts every label, and resumes from its state file', async () => {
    const state = join(dir, 'state.json');
    const common = ['--label-column', 'class', '--time-column', 'ts', '--label-delay', '5', '--state', state];
    const first = await replay('--speed', '500', '--limit', '60', ...common);
    expect(first.stderr).toContain('replay finished: 60 rows sent, 60 labels posted');
    expect(first.code).toBe(0);
    const second = await replay('--speed', '500', ...common);
    expect(second.stderr).toContain('rows 61..100 of 100');
    expect(second.stderr).toContain('replay finished: 40 rows sent, 40 labels posted');
    expect(JSON.parse(await readFile(state, 'utf8'))).toMatchObject({ nextRow: 100, pending: [] });

    // Logged in time order (the file's last row first), each with the label of its own row.
    await expect
      .poll(
        async () =>
          (await db.pool.query('SELECT 1 FROM predictions WHERE model_name = $1', [model])).rowCount,
        {
          timeout: 10_000,
        },
      )
      .toBe(100);
    // A label that reached the gateway before its prediction was logged joins it at the gateway's next sweep.
    await expect
      .poll(
        async () =>
          (
            await db.pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM predictions p JOIN feedback f ON f.request_id = p.request_id
               WHERE p.model_name = $1`,
              [model],
            )
          ).rows[0]!.n,
        { timeout: 10_000 },
      )
      .toBe(100);
    const { rows: logged } = await db.pool.query<{ inputs: Record<string, number>; label: string | null }>(
      `SELECT p.inputs, f.label FROM predictions p LEFT JOIN feedback f ON f.request_id = p.request_id
       WHERE p.model_name = $1 ORDER BY p.at, p.request_id`,
      [model],
    );
    const inTimeOrder = [...rows].reverse();
    // Requests of a batch share their time: compare as sets of (row, label) per time, in order overall.
    const key = (features: Record<string, number>) =>
      elec2Features.map((f) => Math.fround(features[f]!)).join(',');
    expect(logged.map((l) => `${key(l.inputs)}=${l.label}`).sort()).toEqual(
      inTimeOrder.map((r) => `${key(r.features)}=${r.label}`).sort(),
    );
    expect(key(logged[0]!.inputs)).toBe(key(inTimeOrder[0]!.features));
    expect(key(logged.at(-1)!.inputs)).toBe(key(inTimeOrder.at(-1)!.features));
  });
});
