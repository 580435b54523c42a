import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A URL `pg` connects to. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL for a machine with none installed: PGlite (PostgreSQL compiled to WebAssembly) with its data in
 * `dataDir`, served over the wire protocol so the same `pg` code and migrations run on it.
 * `maxConnections` must exceed 1: the socket server's default of 1 drops a pool's second connection.
 */
export async function startEmbeddedPostgres(options: {
  dataDir?: string;
  port: number;
  maxConnections?: number;
  /** Slipway's schema. PGlite serves every socket connection from one session and ignores startup options, so the
   * search path is set once here, for all of them. */
  schema?: string;
}): Promise<EmbeddedPostgres> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const schema = `"${(options.schema ?? 'slipway').replaceAll('"', '""')}"`;
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public`);
  const server = new PGLiteSocketServer({
    db,
    port: options.port,
    host: '127.0.0.1',
    maxConnections: options.maxConnections ?? 20,
  });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
