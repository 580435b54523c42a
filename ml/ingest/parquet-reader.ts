// Parquet input through hyparquet (https://github.com/hyparam/hyparquet, pure JavaScript): the file is read once
// (hashed for its content address), its footer checked, and its row groups decoded one at a time into the same
// column builders, schema inference and findings as CSV and NDJSON.
import { createHash } from 'node:crypto';
import { parquetMetadata, parquetRead, type FileMetaData, type SchemaElement } from 'hyparquet';
import type { ByteSource } from './byte-source.js';
import type { Cell } from './cells.js';
import { cellToBoolean, cellToNumber, MISSING, normalizeCell } from './cells.js';
import { createColumnBuilder, typeErrorRateError, type BadValue } from './column-builder.js';
import { DataError } from './data-error.js';
import { DISTINCT_CAP, type InferredColumn, type InferredSchema } from './infer-schema.js';
import type { IngestStats, ReadWarning } from './read-frame.js';
import type {
  ColumnSpec,
  ColumnType,
  DatasetSchema,
  ResolvedReadOptions,
} from '../../domain/dataset-schema.js';
import type { Frame } from '../frame.js';

type Physical = 'number' | 'boolean' | 'text' | 'time';

const MAGIC = [0x50, 0x41, 0x52, 0x31];

function physicalOf(element: SchemaElement): Physical | undefined {
  if (element.num_children) return undefined;
  const logical = element.logical_type?.type;
  if (logical === 'TIMESTAMP' || logical === 'DATE' || element.converted_type === 'DATE') return 'time';
  if (element.converted_type?.startsWith('TIMESTAMP')) return 'time';
  switch (element.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY':
      if (logical === 'STRING' || element.converted_type === 'UTF8' || logical === 'ENUM') return 'text';
      if (logical === 'DECIMAL' || element.converted_type === 'DECIMAL') return 'number';
      return undefined;
    default:
      return undefined;
  }
}

/** A decoded parquet value as a cell: bigints and dates as numbers (dates: milliseconds since the epoch). */
function toCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  return value as Cell;
}

async function readAll(source: ByteSource): Promise<{ bytes: Uint8Array; sha256: string }> {
  const hash = createHash('sha256');
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    parts.push(chunk);
    total += chunk.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** The bytes as an ArrayBuffer, without a copy when they own theirs. */
function wholeBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

function openMetadata(bytes: Uint8Array): FileMetaData {
  const n = bytes.length;
  const magic = (at: number) => MAGIC.every((b, i) => bytes[at + i] === b);
  if (n === 0) throw new DataError('empty_file', 'the file is empty: expected a Parquet file');
  if (n < 12 || !magic(0) || !magic(n - 4)) {
    throw new DataError(
      'not_parquet',
      'the file is not Parquet: it does not start and end with the Parquet magic bytes "PAR1"',
    );
  }
  try {
    return parquetMetadata(wholeBuffer(bytes));
  } catch (error) {
    throw new DataError('not_parquet', `the Parquet footer cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Calls `each(rowOffset, columns)` for every row group, with its columns decoded to cells. */
async function forEachRowGroup(
  bytes: Uint8Array,
  metadata: FileMetaData,
  names: readonly string[],
  each: (rowOffset: number, columns: Map<string, Cell[]>) => void,
): Promise<void> {
  const file = wholeBuffer(bytes);
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const columns = new Map<string, Cell[]>(names.map((name) => [name, new Array<Cell>(end - start)]));
    await parquetRead({
      file,
      metadata,
      rowStart: start,
      rowEnd: end,
      columns: [...names],
      onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
        const target = columns.get(columnName);
        if (!target) return;
        for (let r = Math.max(rowStart, start); r < Math.min(rowEnd, end); r++) {
          target[r - start] = toCell((columnData as ArrayLike<unknown>)[r - rowStart]);
        }
      },
    });
    each(start, columns);
    start = end;
  }
}

interface Tally {
  nonMissing: number;
  numeric: number;
  boolean: number;
  badValues: BadValue[];
  distinct: Set<string>;
}

export interface ParquetFrameResult {
  readonly frame: Frame;
  readonly schema: DatasetSchema;
  readonly stats: IngestStats;
  readonly inferred?: InferredSchema;
}

/**
 * Reads a Parquet source into a frame. Numbers (ints, floats, decimals) are numeric; timestamps and dates are
 * numeric (milliseconds since the epoch); booleans are boolean; strings (plain or dictionary-encoded) are typed by
 * the same inference as CSV text (so a string column of mostly numbers is numeric and its text is reported).
 * Nested columns are refused by name. With `schema`, its columns are built in its order with its types.
 */
export async function readParquetFrame(
  source: ByteSource,
  resolved: ResolvedReadOptions,
  schema: DatasetSchema | undefined,
): Promise<ParquetFrameResult> {
  const { bytes, sha256 } = await readAll(source);
  const metadata = openMetadata(bytes);
  const top = metadata.schema.slice(1);
  // Only top-level leaves are columns; a group (list, map, struct) is refused.
  const fileColumns: { name: string; physical: Physical }[] = [];
  for (let i = 0; i < top.length; i++) {
    const element = top[i]!;
    const physical = physicalOf(element);
    if (!physical) {
      throw new DataError(
        'bad_parquet_type',
        `column "${element.name}" has Parquet type ${element.num_children ? 'group (list, map or struct)' : `${element.type}${element.converted_type ? `/${element.converted_type}` : ''}`}; ` +
          'expected numbers, booleans, strings, dates or timestamps',
        { column: element.name },
      );
    }
    fileColumns.push({ name: element.name, physical });
    // Skip the children of a group (none here: groups were refused above).
    i += element.num_children ?? 0;
  }
  const rowCount = Number(metadata.num_rows);
  if (rowCount > resolved.maxRows) {
    throw new DataError(
      'too_many_rows',
      `the file has more than the limit of ${resolved.maxRows} data rows`,
      {
        row: resolved.maxRows + 1,
      },
    );
  }
  if (rowCount === 0) throw new DataError('header_only', 'the file has columns but no rows');
  const warnings: ReadWarning[] = [];
  const fileNames = fileColumns.map((c) => c.name);
  let specs: ColumnSpec[];
  let inferred: InferredSchema | undefined;
  if (schema) {
    const absent = schema.columns.filter((c) => !fileNames.includes(c.name)).map((c) => c.name);
    if (absent.length > 0) {
      throw new DataError(
        'missing_column',
        `the file lacks column${absent.length > 1 ? 's' : ''} ${absent.map((a) => `"${a}"`).join(', ')} that the ` +
          `schema declares; the file's columns are: ${fileNames.join(', ')}`,
        { column: absent[0] },
      );
    }
    const extra = fileNames.filter((n) => !schema.columns.some((c) => c.name === n));
    if (extra.length > 0 && !schema.allowExtraColumns) {
      throw new DataError(
        'unexpected_column',
        `the file has column${extra.length > 1 ? 's' : ''} ${extra.map((e) => `"${e}"`).join(', ')} that the ` +
          'schema does not declare; declare them or set allowExtraColumns',
        { column: extra[0] },
      );
    }
    if (extra.length > 0) {
      warnings.push({
        code: 'extra_columns_skipped',
        message: `columns not in the schema were skipped: ${extra.join(', ')}`,
      });
    }
    specs = schema.columns;
  } else {
    // Strings get the same inference as CSV text: one pass over their row groups first.
    const texts = fileColumns.filter((c) => c.physical === 'text').map((c) => c.name);
    const tallies = new Map<string, Tally>(
      texts.map((n) => [n, { nonMissing: 0, numeric: 0, boolean: 0, badValues: [], distinct: new Set() }]),
    );
    if (texts.length > 0) {
      await forEachRowGroup(bytes, metadata, texts, (offset, columns) => {
        for (const [name, cells] of columns) {
          const t = tallies.get(name)!;
          cells.forEach((cell, i) => {
            const value = normalizeCell(cell, resolved.missingTokens, resolved.trim);
            if (value === MISSING) return;
            t.nonMissing++;
            if (cellToNumber(value) !== undefined) t.numeric++;
            else if (t.badValues.length < 5)
              t.badValues.push({ row: offset + i + 1, value: String(value).slice(0, 60) });
            if (cellToBoolean(value) !== undefined) t.boolean++;
            if (t.distinct.size < DISTINCT_CAP) t.distinct.add(String(value));
          });
        }
      });
    }
    const columns = fileColumns.map(({ name, physical }): InferredColumn => {
      const t = tallies.get(name);
      let type: ColumnType = physical === 'boolean' ? 'boolean' : 'numeric';
      if (t && t.nonMissing > 0) {
        if (t.boolean === t.nonMissing) type = 'boolean';
        else if (t.numeric >= resolved.numericShare * t.nonMissing) type = 'numeric';
        else type = 'categorical';
      }
      const parseErrors = t && type === 'numeric' ? t.nonMissing - t.numeric : 0;
      return {
        name,
        type,
        missing: t ? rowCount - t.nonMissing : 0,
        nonMissing: t ? t.nonMissing : rowCount,
        numeric: t ? t.numeric : physical === 'boolean' ? 0 : rowCount,
        boolean: t ? t.boolean : physical === 'boolean' ? rowCount : 0,
        parseErrors,
        parseErrorRate: t && t.nonMissing > 0 ? parseErrors / t.nonMissing : 0,
        badValues: type === 'numeric' && t ? t.badValues : [],
        distinct: t ? t.distinct.size : 0,
        distinctCapped: t ? t.distinct.size >= DISTINCT_CAP : false,
      };
    });
    for (const column of columns) {
      const error = typeErrorRateError(column, resolved.maxTypeErrorRate);
      if (error) throw error;
    }
    specs = columns.map((c) => ({ name: c.name, type: c.type }));
    inferred = {
      schema: { columns: specs, missingTokens: [...resolved.missingTokens] },
      columns,
      rowCount,
      sha256,
      bytes: bytes.length,
    };
  }

  const settings = {
    missingTokens: resolved.missingTokens,
    trim: resolved.trim,
    maxCategories: resolved.maxCategories,
    expectedRows: rowCount,
  };
  // Columns of numbers read as numeric go straight into their Float64Array; the rest through the builders.
  const physical = new Map(fileColumns.map((c) => [c.name, c.physical]));
  const direct = new Map<string, { values: Float64Array; missing: number }>();
  const builders = new Map<string, ReturnType<typeof createColumnBuilder>>();
  for (const spec of specs) {
    const kind = physical.get(spec.name);
    if (spec.type === 'numeric' && (kind === 'number' || kind === 'time')) {
      direct.set(spec.name, { values: new Float64Array(rowCount), missing: 0 });
    } else builders.set(spec.name, createColumnBuilder(spec, settings));
  }
  await forEachRowGroup(
    bytes,
    metadata,
    specs.map((s) => s.name),
    (offset, columns) => {
      for (const [name, cells] of columns) {
        const numbers = direct.get(name);
        if (numbers) {
          const { values } = numbers;
          for (let i = 0; i < cells.length; i++) {
            const x = cells[i];
            if (x === null || x === undefined) {
              values[offset + i] = NaN;
              numbers.missing++;
            } else values[offset + i] = x as number;
          }
          continue;
        }
        const builder = builders.get(name)!;
        for (let i = 0; i < cells.length; i++) builder.add(cells[i], offset + i + 1);
      }
    },
  );
  const built = specs.map((s) => {
    const numbers = direct.get(s.name);
    if (!numbers) return builders.get(s.name)!.finish();
    return {
      column: { name: s.name, kind: 'numeric' as const, values: numbers.values },
      stats: {
        name: s.name,
        type: 'numeric' as const,
        missing: numbers.missing,
        parseErrors: 0,
        parseErrorRate: 0,
        badValues: [],
      },
    };
  });
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
    schema: schema ?? inferred!.schema,
    stats: {
      rowCount,
      sha256,
      bytes: bytes.length,
      columns: built.map((b) => b.stats),
      warnings,
    },
    ...(inferred ? { inferred } : {}),
  };
}
