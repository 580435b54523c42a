import { dirname, resolve } from 'node:path';
import { ingestSource } from '../activities/ingest.js';
import { defaultDatasetLimits, resolveDataRoots, resolveSource } from '../activities/dataset-source.js';
import type { DatasetFormat } from '../domain/dataset-schema.js';
import { DataError } from '../ml/ingest/data-error.js';
import { artifactStoreSettings, type Config } from '../platform/config.js';
import { createArtifactStore } from '../platform/create-artifact-store.js';
import { createPool, migrate, type Pool } from '../platform/db.js';

/** What `slipway ingest --json` prints. */
export interface IngestReport {
  readonly rows: number;
  readonly columns: number;
  readonly schema: readonly { name: string; type: string }[];
  readonly sha256: string;
  readonly readKey: string;
  readonly bytes: number;
  readonly frameUri: string;
  readonly warnings: readonly string[];
  readonly seconds: number;
}

/**
 * `slipway ingest <file>`: reads a CSV, NDJSON or Parquet file (a path or an s3:// URI in the artifact bucket) the
 * way a training run's ingest stage does, stores its typed frame in the artifact store, records the datasets entry
 * when DATABASE_URL is set, and prints rows, columns, the inferred schema, the sha256 and the seconds it took.
 * Exit code 0, or 1 for data that can't be read (the message names the row or column).
 */
export async function ingestCommand(
  file: string,
  options: { format?: DatasetFormat; json?: boolean; config: Config },
): Promise<number> {
  const started = performance.now();
  const store = createArtifactStore(artifactStoreSettings(options.config));
  let db: Pool | undefined;
  try {
    if (options.config.DATABASE_URL) {
      db = createPool({ url: options.config.DATABASE_URL, schema: options.config.DATABASE_SCHEMA, max: 2 });
      await migrate(db, options.config.DATABASE_SCHEMA);
    }
    // The person running the command names the file: its own folder is the data root, under the usual caps.
    const local = !file.startsWith('s3://');
    const path = local ? resolve(file) : file;
    const limits = {
      maxBytes: options.config.SLIPWAY_MAX_DATASET_BYTES ?? defaultDatasetLimits.maxBytes,
      maxRows: options.config.SLIPWAY_MAX_DATASET_ROWS ?? defaultDatasetLimits.maxRows,
    };
    const source = await resolveSource(path, options.format, store, {
      dataRoots: local ? await resolveDataRoots([dirname(path)]) : [],
      limits,
    });
    const { result, frameObject, readKey } = await ingestSource({ store, ...(db ? { db } : {}) }, source, {
      readOptions: { maxRows: limits.maxRows },
    }).finally(() => source.close());
    const report: IngestReport = {
      rows: result.frame.rowCount,
      columns: result.frame.columns.length,
      schema: result.schema.columns.map((c) => ({ name: c.name, type: c.type })),
      sha256: result.stats.sha256,
      readKey,
      bytes: result.stats.bytes,
      frameUri: frameObject.uri,
      warnings: result.stats.warnings.map((w) => w.message),
      seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
    };
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const width = Math.max(...report.schema.map((c) => c.name.length));
    const lines = [
      `${report.rows} rows, ${report.columns} columns, ${report.bytes} bytes in ${report.seconds.toFixed(2)} s`,
      `sha256 ${report.sha256}`,
      `frame  ${report.frameUri}`,
      'schema:',
      ...report.schema.map((c) => `  ${c.name.padEnd(width)}  ${c.type}`),
      ...report.warnings.map((w) => `warning: ${w}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof DataError || (error instanceof Error && error.name === 'DataError')) {
      // Run by the data's owner on their machine: the message may quote the file's values.
      process.stderr.write(`${file}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await db?.end();
    await store.close();
  }
}
