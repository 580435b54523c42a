import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, migrate, type Pool } from '../../platform/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../platform/embedded-postgres.js';
import { DeploymentVersionError, readDeployment, writeDeployment } from '../../platform/deployments.js';
import {
  findVersion,
  listVersions,
  moveAlias,
  registerVersion,
  upsertDataset,
  type VersionLineage,
} from '../../platform/registry.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { freePort } from '../helpers/free-port.js';

const sha = (n: number) => n.toString(16).padStart(64, '0');

function lineage(runId: string): VersionLineage {
  return {
    runId,
    datasetSha256: sha(1),
    split: { kind: 'random' },
    validationReportUri: 'file:///v.json',
    evaluationReportUri: 'file:///e.json',
    referenceProfileUri: 'file:///p.json',
    specHash: sha(2),
    codeVersion: 'abc123',
    trainer: 'logistic_regression',
    params: { C: 1 },
    metrics: { auc: 0.8 },
    artifactUri: 'file:///m.onnx',
    artifactSha256: sha(3),
    onnxSignature: { inputs: [] },
    onnxOpset: { 'ai.onnx': 17 },
    metadata: {},
  };
}

/** The registry's guarantees, run on a real PostgreSQL and on the embedded one. */
function registrySuite(name: string, open: () => Promise<{ pool: Pool; close: () => Promise<void> }>) {
  describe(`registry on ${name}`, () => {
    let ctx: { pool: Pool; close: () => Promise<void> } | undefined;
    const pool = async () => {
      ctx ??= await open();
      await upsertDataset(ctx.pool, {
        sha256: sha(1),
        readKey: 'test',
        readOptions: {},
        source: '/d.csv',
        format: 'csv',
        rowCount: 10,
        frameUri: 'file:///f',
        frameSha256: sha(4),
        schema: {},
      });
      return ctx.pool;
    };
    afterAll(async () => ctx?.close());

    it('gives 20 concurrent registrations 20 distinct consecutive versions', async () => {
      const db = await pool();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => registerVersion(db, 'race', lineage(`run-${i}`), 'test')),
      );
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(results.every((r) => r.created)).toBe(true);
    });

    it('returns the same version to a retried registration and writes nothing new', async () => {
      const db = await pool();
      const first = await registerVersion(db, 'retry', lineage('run-a'), 'test');
      const again = await Promise.all(
        [1, 2, 3].map(() => registerVersion(db, 'retry', lineage('run-a'), 'test')),
      );
      expect(again).toEqual([1, 2, 3].map(() => ({ version: first.version, created: false })));
      expect(await listVersions(db, 'retry')).toHaveLength(1);
    });

    it('moves aliases by compare-and-set only', async () => {
      const db = await pool();
      await registerVersion(db, 'cas', lineage('c1'), 'test');
      await registerVersion(db, 'cas', lineage('c2'), 'test');
      expect(
        await moveAlias(db, { model: 'cas', alias: 'champion', version: 1, expected: null, actor: 'alice' }),
      ).toEqual({ moved: true, current: 1 });
      // Two racers both expecting v1: exactly one wins, the other sees the winner.
      const race = await Promise.all([
        moveAlias(db, { model: 'cas', alias: 'champion', version: 2, expected: 1, actor: 'bob' }),
        moveAlias(db, { model: 'cas', alias: 'champion', version: 2, expected: 1, actor: 'carol' }),
      ]);
      expect(race.filter((r) => r.moved)).toHaveLength(1);
      expect(race.filter((r) => !r.moved)).toEqual([{ moved: false, current: 2 }]);
      expect((await findVersion(db, 'cas', { alias: 'champion' }))?.version).toBe(2);
      await expect(
        moveAlias(db, { model: 'cas', alias: 'champion', version: 99, expected: 2, actor: 'x' }),
      ).rejects.toThrow(/foreign key/);
      // A retried move (same request id) after its first attempt committed reports success; another request doesn't.
      await registerVersion(db, 'cas', lineage('c3'), 'test');
      const first = await moveAlias(db, {
        model: 'cas',
        alias: 'champion',
        version: 3,
        expected: 2,
        actor: 'dave',
        requestId: 'req-1',
      });
      expect(first).toEqual({ moved: true, current: 3 });
      expect(
        await moveAlias(db, {
          model: 'cas',
          alias: 'champion',
          version: 3,
          expected: 2,
          actor: 'dave',
          requestId: 'req-1',
        }),
      ).toEqual({ moved: true, current: 3 });
      expect(
        await moveAlias(db, {
          model: 'cas',
          alias: 'champion',
          version: 3,
          expected: 2,
          actor: 'erin',
          requestId: 'req-2',
        }),
      ).toEqual({ moved: false, current: 3 });
      const { rows } = await db.query(
        `SELECT actor, details FROM audit_log WHERE action = 'alias.move' AND subject = 'cas@champion' ORDER BY id`,
      );
      expect(rows.map((r: { actor: string }) => r.actor)).toEqual([
        'alice',
        expect.stringMatching(/bob|carol/),
        'dave',
      ]);
    });

    it('sets deployments by compare-and-set, with history and audit, and refuses unknown versions', async () => {
      const db = await pool();
      await registerVersion(db, 'dep', lineage('d1'), 'test');
      await registerVersion(db, 'dep', lineage('d2'), 'test');
      expect(await readDeployment(db, 'dep')).toMatchObject({
        champion: null,
        challenger: null,
        revision: 0,
      });
      const base = {
        challenger: null,
        challengerWeight: 0,
        shadow: false,
        stickyKey: null,
        rolloutWorkflowId: null,
      };
      const first = await writeDeployment(db, {
        model: 'dep',
        target: { ...base, champion: 1 },
        expectedRevision: 0,
        actor: 'alice',
        reason: 'promote',
      });
      expect(first).toMatchObject({ written: true, state: { champion: 1, revision: 1, updatedBy: 'alice' } });
      const canary = {
        ...base,
        champion: 1,
        challenger: 2,
        challengerWeight: 0.05,
        rolloutWorkflowId: 'rollout-dep',
      };
      const race = await Promise.all(
        ['bob', 'carol'].map((actor) =>
          writeDeployment(db, {
            model: 'dep',
            target: canary,
            expectedRevision: 1,
            actor,
            reason: 'canary-5',
          }),
        ),
      );
      expect(race.filter((r) => r.written)).toHaveLength(1);
      expect(race.find((r) => !r.written)?.state.revision).toBe(2);
      // A retried write (same request id) after it committed is success; a different request with a stale revision is not.
      const step = { ...canary, challengerWeight: 0.25 };
      expect(
        (
          await writeDeployment(db, {
            model: 'dep',
            target: step,
            expectedRevision: 2,
            actor: 'wf',
            reason: 'canary-25',
            requestId: 'r-25',
          })
        ).written,
      ).toBe(true);
      expect(
        (
          await writeDeployment(db, {
            model: 'dep',
            target: step,
            expectedRevision: 2,
            actor: 'wf',
            reason: 'canary-25',
            requestId: 'r-25',
          })
        ).written,
      ).toBe(true);
      expect(
        (
          await writeDeployment(db, {
            model: 'dep',
            target: step,
            expectedRevision: 2,
            actor: 'wf',
            reason: 'canary-25',
            requestId: 'r-other',
          })
        ).written,
      ).toBe(false);
      await expect(
        writeDeployment(db, {
          model: 'dep',
          target: { ...base, champion: 7 },
          expectedRevision: 3,
          actor: 'x',
          reason: 'bad',
        }),
      ).rejects.toThrow(DeploymentVersionError);
      await expect(
        writeDeployment(db, {
          model: 'dep',
          target: { ...base, champion: 1, shadow: true },
          expectedRevision: 3,
          actor: 'x',
          reason: 'bad',
        }),
      ).rejects.toThrow(/needs a challenger/);
      expect(await readDeployment(db, 'dep')).toMatchObject({
        champion: 1,
        challenger: 2,
        challengerWeight: 0.25,
        revision: 3,
      });
      const history = await db.query(
        `SELECT revision, challenger_weight, reason FROM deployment_history WHERE model_name = 'dep' ORDER BY revision`,
      );
      expect(history.rows.map((r: { reason: string }) => r.reason)).toEqual([
        'promote',
        'canary-5',
        'canary-25',
      ]);
      const audits = await db.query(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'deployment.set' AND subject = 'dep'`,
      );
      expect(audits.rows[0]).toEqual({ n: 3 });
    });

    it('keeps the prediction log in daily UTC partitions', async () => {
      const db = await pool();
      await db.query(`SELECT ensure_predictions_partition('2026-03-01'::date)`);
      await db.query(`SELECT ensure_predictions_partition('2026-03-01'::date)`);
      await db.query(
        `INSERT INTO predictions (at, request_id, model_name, version, role, served, inputs, score, latency_ms)
         VALUES ('2026-03-01T23:59:59Z', 'r1', 'm', 1, 'champion', true, '{"x": 1}', 0.7, 1.5)`,
      );
      // No partition for that day yet: the insert is refused rather than landing somewhere unexpected.
      await expect(
        db.query(
          `INSERT INTO predictions (at, request_id, model_name, version, role, served, inputs, latency_ms) VALUES ('2026-03-02T00:00:00Z', 'r2', 'm', 1, 'champion', true, '{}', 1)`,
        ),
      ).rejects.toThrow(/no partition/);
      const { rows } = await db.query(
        `SELECT tableoid::regclass::text AS part FROM predictions WHERE request_id = 'r1'`,
      );
      expect(rows[0].part).toMatch(/predictions_20260301$/);
    });
  });
}

registrySuite('PostgreSQL', async () => {
  const { pool, schema } = await createTestDb('registry');
  return { pool, close: () => dropTestSchema(pool, schema) };
});

registrySuite('embedded PGlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-pglite-reg-'));
  const server: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  const pool = createPool({ url: server.url, schema: 'slipway', max: 10 });
  await migrate(pool, 'slipway');
  return {
    pool,
    close: async () => {
      await pool.end();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
