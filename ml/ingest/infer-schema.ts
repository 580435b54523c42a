import type { ByteSource } from './byte-source.js';
import { cellToBoolean, cellToNumber, MISSING, normalizeCell } from './cells.js';
import { typeErrorRateError, type BadValue } from './column-builder.js';
import { openReader } from './open-reader.js';
import {
  resolveReadOptions,
  type ColumnType,
  type DatasetSchema,
  type ReadOptions,
} from '../../domain/dataset-schema.js';

/** Per-column facts from the inference pass. JSON-safe. */
export interface InferredColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly missing: number;
  readonly nonMissing: number;
  /** Non-missing values that parse as numbers / as true-false. */
  readonly numeric: number;
  readonly boolean: number;
  /** For numeric and boolean columns: non-missing values that do not parse (they will become missing). */
  readonly parseErrors: number;
  readonly parseErrorRate: number;
  /** Up to 5 values that are not numbers, with their data row (numeric columns: the ones that will not parse). */
  readonly badValues: readonly BadValue[];
  /** Distinct non-missing values, counted up to `DISTINCT_CAP` (then `distinctCapped` is true). */
  readonly distinct: number;
  readonly distinctCapped: boolean;
}

export interface InferredSchema {
  readonly schema: DatasetSchema;
  readonly columns: readonly InferredColumn[];
  readonly rowCount: number;
  readonly sha256: string;
  readonly bytes: number;
}

/** Distinct values tracked per column during inference; bounds memory on identifier-like columns. */
export const DISTINCT_CAP = 10_000;

interface Tally {
  nonMissing: number;
  numeric: number;
  boolean: number;
  badValues: BadValue[];
  distinct: Set<string>;
  capped: boolean;
}

/**
 * Streams the whole input once and infers each column's type. A column is `boolean` when every non-missing value
 * is true/false, `numeric` when at least `numericShare` (0.5) of them are numbers, otherwise `categorical`; an
 * all-missing column is numeric. So a column of mostly numbers with some text is numeric, and its text is reported
 * below rather than silently turning the column categorical. A numeric column whose non-numbers exceed `maxTypeErrorRate`
 * (0.01) fails with `type_error_rate`, naming the column and example values: they would silently become missing.
 * Also fails with every reader error (empty_file, header_only, ragged_row, line_too_long, not_csv, ...).
 */
export async function inferSchema(source: ByteSource, options: ReadOptions = {}): Promise<InferredSchema> {
  const resolved = resolveReadOptions(options);
  if (resolved.format === 'parquet') {
    const { readParquetFrame } = await import('./parquet-reader.js');
    return (await readParquetFrame(source, resolved, undefined)).inferred!;
  }
  if (resolved.format === 'csv') {
    const { readCsvFrame, SecondPassNeeded } = await import('./csv-frame.js');
    try {
      return (await readCsvFrame(source, resolved, undefined, options.threads ?? 1)).inferred!;
    } catch (error) {
      if (error instanceof SecondPassNeeded) return error.inferred;
      throw error;
    }
  }
  const reader = await openReader(source, resolved);
  const tallies: Tally[] = [];
  let rowCount = 0;
  for await (const { row, cells } of reader.rows) {
    rowCount = row;
    while (tallies.length < reader.columns.length) {
      tallies.push({
        nonMissing: 0,
        numeric: 0,
        boolean: 0,
        badValues: [],
        distinct: new Set(),
        capped: false,
      });
    }
    for (let j = 0; j < cells.length; j++) {
      const value = normalizeCell(cells[j], resolved.missingTokens, resolved.trim);
      if (value === MISSING) continue;
      const tally = tallies[j]!;
      tally.nonMissing++;
      if (cellToNumber(value) !== undefined) tally.numeric++;
      else if (tally.badValues.length < 5) tally.badValues.push({ row, value: String(value).slice(0, 60) });
      if (cellToBoolean(value) !== undefined) tally.boolean++;
      if (!tally.capped) {
        tally.distinct.add(String(value));
        if (tally.distinct.size >= DISTINCT_CAP) tally.capped = true;
      }
    }
  }

  const columns = reader.columns.map((name, j): InferredColumn => {
    const t = tallies[j] ?? {
      nonMissing: 0,
      numeric: 0,
      boolean: 0,
      badValues: [],
      distinct: new Set(),
      capped: false,
    };
    let type: ColumnType = 'categorical';
    if (t.nonMissing === 0) type = 'numeric';
    else if (t.boolean === t.nonMissing) type = 'boolean';
    else if (t.numeric >= resolved.numericShare * t.nonMissing) type = 'numeric';
    const parseErrors = type === 'numeric' ? t.nonMissing - t.numeric : 0;
    return {
      name,
      type,
      missing: rowCount - t.nonMissing,
      nonMissing: t.nonMissing,
      numeric: t.numeric,
      boolean: t.boolean,
      parseErrors,
      parseErrorRate: t.nonMissing === 0 ? 0 : parseErrors / t.nonMissing,
      badValues: type === 'numeric' ? t.badValues : [],
      distinct: t.distinct.size,
      distinctCapped: t.capped,
    };
  });
  for (const column of columns) {
    const error = typeErrorRateError(column, resolved.maxTypeErrorRate);
    if (error) throw error;
  }
  const schema: DatasetSchema = {
    columns: columns.map((c) => ({ name: c.name, type: c.type })),
    missingTokens: [...resolved.missingTokens],
  };
  return { schema, columns, rowCount, sha256: reader.digest.sha256, bytes: reader.digest.bytes };
}
