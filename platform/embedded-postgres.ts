import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PgliteWireServer } from './pglite-wire-server.js';

export interface EmbeddedPostgres {
  /** A URL `pg` connects to. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL for a machine with none installed: PGlite (PostgreSQL compiled to WebAssembly) with its data in
 * `dataDir`, served over the wire protocol so the same `pg` code and migrations run on it, from any number of
 * connections (platform/pglite-wire-server.ts keeps each client's statements and transactions whole).
 */
export async function startEmbeddedPostgres(options: {
  dataDir?: string;
  port: number;
  /** Slipway's schema. PGlite serves every socket connection from one session and ignores startup options, so the
   * search path is set once here, for all of them. */
  schema?: string;
}): Promise<EmbeddedPostgres> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const schema = `"${(options.schema ?? 'slipway').replaceAll('"', '""')}"`;
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public`);
  const server = new PgliteWireServer(db, { port: options.port, host: '127.0.0.1' });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
