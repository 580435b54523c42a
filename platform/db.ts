import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from './logger.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Quotes an SQL identifier (schema names come from config and tests). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A pg pool whose connections all work inside `schema` (created by the migrations). Keeping Slipway's tables in a
 * schema of their own lets them share a database, and gives each test suite a clean namespace.
 */
export function createPool(options: { url: string; schema: string; max?: number; log?: Logger }): Pool {
  // The search path travels in the startup packet, so every connection is in the schema before its first query.
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    options: `-c search_path=${quoteIdent(options.schema)},public`,
  });
  pool.on('error', (error) => options.log?.warn({ err: error }, 'idle database client failed'));
  return pool;
}

/** Runs `fn` in a transaction on one client: committed when it resolves, rolled back when it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that can't even roll back is discarded rather than handed to the next caller.
    await client
      .query('ROLLBACK')
      .catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs `fn` in a transaction: a new one on a pool, or the caller's own when given a client that is already inside
 * one, so several writes (an alias move and a deployment change, say) can commit together.
 */
export async function inTransaction<T>(
  db: Pool | PoolClient,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return db instanceof pg.Pool ? withTransaction(db, fn) : fn(db);
}

export interface Migration {
  readonly version: string;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

/** The plain-SQL migrations shipped in platform/migrations, in file-name order (`0001_name.sql`). */
export async function loadMigrations(dir: string = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(join(dir, file), 'utf8');
      return {
        version: file.slice(0, 4),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

/** Thrown when an applied migration's file changed since it ran: the database and the code disagree. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    readonly version: string,
  ) {
    super(message);
  }
}

/**
 * Applies pending migrations in order, each in its own transaction, recording them in `schema_migrations`.
 * Safe to run twice and from several processes at once: a session advisory lock serializes the runners.
 * Returns the versions it applied.
 */
export async function migrate(pool: Pool, schema: string, log?: Logger): Promise<string[]> {
  const migrations = await loadMigrations();
  const client = await pool.connect();
  const lockKey = createHash('sha256').update(`slipway-migrate:${schema}`).digest().readBigInt64BE(0);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey.toString()]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`SET search_path TO ${quoteIdent(schema)}, public`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const done: string[] = [];
    for (const m of migrations) {
      const previous = applied.get(m.version);
      if (previous !== undefined) {
        if (previous !== m.checksum) {
          throw new MigrationError(
            `migration ${m.version}_${m.name} was changed after it was applied; add a new migration instead`,
            m.version,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(
          `migration ${m.version}_${m.name} failed: ${(error as Error).message}`,
          m.version,
        );
      }
      log?.info({ version: m.version, name: m.name }, 'migration applied');
      done.push(m.version);
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey.toString()]).catch(() => undefined);
    client.release();
  }
}

/** A cheap liveness probe for the health endpoint. */
export async function pingDatabase(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
