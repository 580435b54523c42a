import { randomBytes } from 'node:crypto';
import { createPool, migrate, quoteIdent, type Pool } from '../../platform/db.js';
import { testStack } from './stack.js';

/** A pool on a fresh schema of its own, migrated; drop it with `dropTestSchema`. */
export async function createTestDb(label: string): Promise<{ pool: Pool; schema: string; url: string }> {
  const { databaseUrl } = testStack();
  const schema = `t_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const pool = createPool({ url: databaseUrl, schema, max: 30 });
  await migrate(pool, schema);
  return { pool, schema, url: databaseUrl };
}

export async function dropTestSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
}
