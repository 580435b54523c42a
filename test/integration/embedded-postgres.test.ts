import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../platform/embedded-postgres.js';
import { freePort } from '../helpers/free-port.js';

/**
 * The embedded database serves many connections (workers, API, gateway processes) from one PGlite session. A
 * parameterised query is several protocol messages (Parse, Bind, Execute, Sync); those of two clients must never
 * interleave, or one client's parameters bind to the other's statement. Nor may a query run inside another
 * client's open transaction.
 */
describe('embedded PostgreSQL (PGlite) with concurrent clients', () => {
  let dir: string;
  let server: EmbeddedPostgres;
  let pool: pg.Pool;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-pglite-'));
    server = await startEmbeddedPostgres({ dataDir: join(dir, 'pgdata'), port: await freePort() });
    pool = new pg.Pool({ connectionString: server.url, max: 20 });
  });

  afterAll(async () => {
    await pool?.end();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every parameterised query with its own parameters, with transactions running beside it', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS mix_probe (id int PRIMARY KEY, v text)');
    let wrong = 0;
    const work = Array.from({ length: 1500 }, async (_, i) => {
      if (i % 5 === 0) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('INSERT INTO mix_probe VALUES ($1, $2)', [i, `v${i}`]);
          const { rows } = await client.query<{ v: string }>('SELECT v FROM mix_probe WHERE id = $1', [i]);
          if (rows[0]?.v !== `v${i}`) wrong += 1;
          await client.query(i % 10 === 0 ? 'COMMIT' : 'ROLLBACK');
        } finally {
          client.release();
        }
        return;
      }
      const sum = await pool.query<{ v: number }>('SELECT $1::int + $2::int + $3::int AS v', [i, 1, 2]);
      if (sum.rows[0]?.v !== i + 3) wrong += 1;
      const text = await pool.query<{ v: string }>('SELECT $1::text AS v', [`row-${i}`]);
      if (text.rows[0]?.v !== `row-${i}`) wrong += 1;
    });
    await Promise.all(work);
    expect(wrong).toBe(0);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM mix_probe');
    expect(rows[0]?.n).toBe(150);
  });

  it("keeps a transaction to its client: another client's statements wait for it to end", async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS tx_probe (id int PRIMARY KEY, by text)');
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('INSERT INTO tx_probe VALUES ($1, $2)', [1, 'holder']);
      // Issued while the transaction is open: it must not run inside it (it would see the uncommitted row, and the
      // holder's rollback would undo its insert).
      const other = pool.query('INSERT INTO tx_probe VALUES ($1, $2)', [2, 'other']);
      await new Promise((r) => setTimeout(r, 200));
      await holder.query('ROLLBACK');
      await other;
    } finally {
      holder.release();
    }
    const { rows } = await pool.query<{ id: number; by: string }>('SELECT id, by FROM tx_probe ORDER BY id');
    expect(rows).toEqual([{ id: 2, by: 'other' }]);
  });
});
