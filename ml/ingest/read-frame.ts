import { availableParallelism } from 'node:os';
import type { Frame } from '../frame.js';
import type { ByteSource } from './byte-source.js';
import { createColumnBuilder, typeErrorRateError, type ColumnReadStats } from './column-builder.js';
import { readCsvFrame, SecondPassNeeded } from './csv-frame.js';
import { DataError } from './data-error.js';
import { readParquetFrame } from './parquet-reader.js';
import { inferSchema, type InferredSchema } from './infer-schema.js';
import { openReader } from './open-reader.js';
import {
  datasetSchemaSchema,
  resolveReadOptions,
  type DatasetSchema,
  type ReadOptions,
} from '../../domain/dataset-schema.js';

/** Something that did not stop the read but that the validation report should show. JSON-safe. */
export interface ReadWarning {
  readonly code: 'type_errors_to_missing' | 'extra_columns_skipped';
  readonly column?: string;
  readonly message: string;
}

/** What pass 2 produced. `stats` feeds `validateFrame` (its type-parse check); the rest is JSON-safe. */
export interface ReadFrameResult {
  readonly frame: Frame;
  readonly schema: DatasetSchema;
  readonly stats: IngestStats;
}

/** JSON-safe facts about one read, kept with the dataset's lineage. */
export interface IngestStats {
  readonly rowCount: number;
  readonly sha256: string;
  readonly bytes: number;
  readonly columns: readonly ColumnReadStats[];
  readonly warnings: readonly ReadWarning[];
}

export interface ReadFrameOptions extends ReadOptions {
  /** Rows expected (e.g. pass 1's rowCount): buffers are sized once instead of grown. */
  readonly expectedRows?: number;
}

/**
 * Pass 2: streams the input once more and builds the typed frame that `schema` describes (its columns, in its
 * order). Values that do not parse as their column's type become missing; when their share of a column's
 * non-missing values is above `maxTypeErrorRate` the read fails with `type_error_rate`, otherwise a warning says
 * so. Fails with `missing_column` when the file lacks a schema column and with `unexpected_column` for a file
 * column the schema lacks (unless `schema.allowExtraColumns`), plus every reader error. Memory: the frame being
 * built and one record, never the input.
 */
export async function readFrame(
  source: ByteSource,
  schema: DatasetSchema,
  options: ReadFrameOptions = {},
): Promise<ReadFrameResult> {
  const parsed = datasetSchemaSchema.safeParse(schema);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(
      'bad_schema',
      `the schema is invalid at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`,
    );
  }
  const resolved = resolveReadOptions(options, schema.missingTokens);
  if (resolved.format === 'csv') return readCsvFrame(source, resolved, schema, threadsFor(options));
  if (resolved.format === 'parquet') return readParquetFrame(source, resolved, schema);
  const names = schema.columns.map((c) => c.name);
  const allowExtra = schema.allowExtraColumns ?? false;
  const reader = await openReader(source, resolved, {
    columns: names,
    unknownKeys: allowExtra ? 'ignore' : 'error',
  });

  // Where each schema column sits in the reader's cells (NDJSON: the schema's columns come first).
  const positions = names.map((name) => reader.columns.indexOf(name));
  const warnings: ReadWarning[] = [];
  const settings = {
    missingTokens: resolved.missingTokens,
    trim: resolved.trim,
    maxCategories: resolved.maxCategories,
    ...(options.expectedRows === undefined ? {} : { expectedRows: options.expectedRows }),
  };
  const builders = schema.columns.map((spec) => createColumnBuilder(spec, settings));
  let rowCount = 0;
  for await (const { row, cells } of reader.rows) {
    rowCount = row;
    for (let j = 0; j < builders.length; j++) builders[j]!.add(cells[positions[j]!], row);
  }

  const built = builders.map((b) => b.finish());
  for (const { stats } of built) {
    const error = typeErrorRateError(stats, resolved.maxTypeErrorRate);
    if (error) throw error;
    if (stats.parseErrors > 0) {
      warnings.push({
        code: 'type_errors_to_missing',
        column: stats.name,
        message:
          `column "${stats.name}": ${stats.parseErrors} value(s) that are not ${stats.type === 'numeric' ? 'numbers' : 'true/false'} ` +
          `became missing, e.g. ${stats.badValues.map((b) => `"${b.value}" (row ${b.row})`).join(', ')}`,
      });
    }
  }
  return {
    frame: { rowCount, columns: built.map((b) => b.column) },
    schema,
    stats: {
      rowCount,
      sha256: reader.digest.sha256,
      bytes: reader.digest.bytes,
      columns: built.map((b) => b.stats),
      warnings,
    },
  };
}

/** Threads for parsing a large CSV: the option, else the machine's cores. */
export function threadsFor(options: ReadOptions): number {
  return options.threads ?? Math.max(1, Math.min(availableParallelism(), 8));
}

export interface ReadDatasetResult extends ReadFrameResult {
  /** Pass 1's findings; absent when an explicit schema was given (no inference pass). */
  readonly inferred?: InferredSchema;
}

/**
 * Both passes: infers the schema (unless `schema` is given) from one stream, then builds the frame from a second.
 * `open` must return a fresh stream of the same bytes each time it is called; a different sha256 on the second
 * pass (the object changed in between) is refused.
 */
export async function readDataset(
  open: () => ByteSource,
  options: ReadOptions & { readonly schema?: DatasetSchema } = {},
): Promise<ReadDatasetResult> {
  const { schema, ...readOptions } = options;
  if (schema) return readFrame(open(), schema, readOptions);
  const resolved = resolveReadOptions(readOptions);
  if (resolved.format === 'parquet') return readParquetFrame(open(), resolved, undefined);
  if (resolved.format === 'csv') {
    // One pass infers and builds; rarely (see SecondPassNeeded) a second one builds with the types fixed.
    try {
      return await readCsvFrame(open(), resolved, undefined, threadsFor(readOptions));
    } catch (error) {
      if (!(error instanceof SecondPassNeeded)) throw error;
      const again = await readCsvFrame(open(), resolved, error.inferred.schema, threadsFor(readOptions));
      if (again.stats.sha256 !== error.inferred.sha256) {
        throw new DataError(
          'source_changed',
          `the input changed between the two reads (sha256 ${error.inferred.sha256} then ${again.stats.sha256})`,
        );
      }
      return { ...again, inferred: error.inferred };
    }
  }
  const inferred = await inferSchema(open(), readOptions);
  const result = await readFrame(open(), inferred.schema, {
    ...readOptions,
    expectedRows: inferred.rowCount,
  });
  if (result.stats.sha256 !== inferred.sha256) {
    throw new DataError(
      'source_changed',
      `the input changed between the two reads (sha256 ${inferred.sha256} then ${result.stats.sha256})`,
    );
  }
  return { ...result, inferred };
}
