import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, loadMigrations, migrate, quoteIdent, withTransaction } from '../../platform/db.js';
import { startEmbeddedPostgres } from '../../platform/embedded-postgres.js';
import { freePort } from '../helpers/free-port.js';
import { testStack } from '../helpers/stack.js';

describe('migrations on a real PostgreSQL', () => {
  const schema = `t_mig_${randomBytes(4).toString('hex')}`;
  const pool = createPool({ url: testStack().databaseUrl, schema, max: 10 });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await pool.end();
  });

  it('applies every migration once, even when five runners race', async () => {
    const all = (await loadMigrations()).map((m) => m.version);
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool, schema)));
    expect(results.flat().sort()).toEqual(all);
    expect(await migrate(pool, schema)).toEqual([]);
    const { rows } = await pool.query<{ version: string }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(all);
  });

  it('refuses to go on when an applied migration was edited', async () => {
    await pool.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0001'`);
    await expect(migrate(pool, schema)).rejects.toThrow(/0001_foundation was changed after it was applied/);
  });

  it('keeps the audit log append-only', async () => {
    await pool.query(`INSERT INTO audit_log (actor, action, subject) VALUES ('alice', 'test', 'x')`);
    await expect(pool.query(`UPDATE audit_log SET actor = 'mallory'`)).rejects.toThrow(/append-only/);
    await expect(pool.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
  });

  it('rolls a failed transaction back whole', async () => {
    await expect(
      withTransaction(pool, async (client) => {
        await client.query(`INSERT INTO outbox (topic, payload) VALUES ('t', '{}')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM outbox`);
    expect(rows[0].n).toBe(0);
  });
});

describe('the embedded PostgreSQL (PGlite)', () => {
  it('runs the same migrations, keeps data across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-pglite-'));
    try {
      const port = await freePort();
      let server = await startEmbeddedPostgres({ dataDir: dir, port });
      let pool = createPool({ url: server.url, schema: 'slipway', max: 5 });
      expect((await migrate(pool, 'slipway')).length).toBeGreaterThan(0);
      await pool.query(`INSERT INTO audit_log (actor, action, subject) VALUES ('bob', 'restart-test', 'db')`);
      await pool.end();
      await server.stop();

      server = await startEmbeddedPostgres({ dataDir: dir, port });
      pool = createPool({ url: server.url, schema: 'slipway', max: 5 });
      expect(await migrate(pool, 'slipway')).toEqual([]);
      const { rows } = await pool.query(`SELECT actor FROM audit_log WHERE action = 'restart-test'`);
      expect(rows).toEqual([{ actor: 'bob' }]);
      await pool.end();
      await server.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
