// One pass over a CSV source to a typed frame: the chunks of csv-read.ts are joined column by column (each chunk's
// piece released once copied, so memory holds the frame about once), with each column's type inferred from what
// its cells were (or taken from a declared schema), and the same findings and errors as the two-pass readers.
import type { Column, Frame } from '../frame.js';
import { KIND_FALSE, KIND_MISSING, KIND_TRUE } from './cell-bytes.js';
import type { ChunkResult, ColumnMode } from './csv-chunk.js';
import { readCsvChunks } from './csv-read.js';
import type { ByteSource } from './byte-source.js';
import { typeErrorRateError, type BadValue, type ColumnReadStats } from './column-builder.js';
import { checkExtraColumns, DataError, where } from './data-error.js';
import { DISTINCT_CAP, type InferredColumn, type InferredSchema } from './infer-schema.js';
import type { IngestStats, ReadWarning } from './read-frame.js';
import type {
  ColumnSpec,
  ColumnType,
  DatasetSchema,
  ResolvedReadOptions,
} from '../../domain/dataset-schema.js';

export interface CsvFrameResult {
  readonly frame: Frame;
  readonly schema: DatasetSchema;
  readonly stats: IngestStats;
  readonly inferred?: InferredSchema;
}

/** A column read as categorical whose numbers' text was not kept: the caller reads again with the types fixed. */
export class SecondPassNeeded extends Error {
  override readonly name = 'SecondPassNeeded';
  constructor(readonly inferred: InferredSchema) {
    super(
      'a categorical column holds more distinct numbers than were kept; reading again with the types known',
    );
  }
}

interface Merged {
  readonly missing: number;
  readonly numeric: number;
  readonly boolean: number;
  readonly text: number;
  readonly badValues: BadValue[];
  readonly numbersLost: boolean;
  /** Distinct texts over all chunks, in order of first appearance, with their kind and first data row. */
  readonly texts: string[];
  readonly kinds: number[];
  readonly firstRows: number[];
  /** Per chunk: local dictionary id -> global id. */
  readonly remaps: Int32Array[];
}

function mergeColumn(chunks: readonly ChunkResult[], j: number): Merged {
  const texts: string[] = [];
  const kinds: number[] = [];
  const firstRows: number[] = [];
  const index = new Map<string, number>();
  const remaps: Int32Array[] = [];
  const badValues: BadValue[] = [];
  let missing = 0;
  let numeric = 0;
  let boolean = 0;
  let text = 0;
  let numbersLost = false;
  let rowOffset = 0;
  for (const chunk of chunks) {
    const piece = chunk.columns[j]!;
    missing += piece.missing;
    numeric += piece.numeric;
    boolean += piece.boolean;
    text += piece.text;
    numbersLost ||= piece.numbersLost;
    for (const b of piece.badValues)
      if (badValues.length < 5) badValues.push({ row: b.row + rowOffset, value: b.value });
    const remap = new Int32Array(piece.texts.length);
    piece.texts.forEach((t, k) => {
      let id = index.get(t);
      if (id === undefined) {
        id = texts.length;
        index.set(t, id);
        texts.push(t);
        kinds.push(piece.kinds[k]!);
        firstRows.push(piece.firstRows[k]! + rowOffset);
      }
      remap[k] = id;
    });
    remaps.push(remap);
    rowOffset += chunk.rows;
  }
  return { missing, numeric, boolean, text, badValues, numbersLost, texts, kinds, firstRows, remaps };
}

function inferType(m: Merged, numericShare: number): ColumnType {
  const nonMissing = m.numeric + m.boolean + m.text;
  if (nonMissing === 0) return 'numeric';
  if (m.boolean === nonMissing) return 'boolean';
  // Mostly numbers is numeric: the text among them is reported (type_error_rate), never silently categorical.
  if (m.numeric >= numericShare * nonMissing) return 'numeric';
  return 'categorical';
}

function numericColumn(name: string, chunks: readonly ChunkResult[], j: number, rows: number): Column {
  const values = new Float64Array(rows);
  let at = 0;
  for (const chunk of chunks) {
    const piece = chunk.columns[j]!;
    if (piece.values) values.set(piece.values, at);
    else values.fill(NaN, at, at + chunk.rows);
    at += chunk.rows;
  }
  return { name, kind: 'numeric', values };
}

function codedColumn(
  name: string,
  chunks: readonly ChunkResult[],
  j: number,
  rows: number,
  codeOf: Int32Array[],
  categories: readonly string[],
): Column {
  const codes = new Int32Array(rows);
  let at = 0;
  chunks.forEach((chunk, k) => {
    const local = chunk.columns[j]!.codes!;
    const map = codeOf[k]!;
    for (let i = 0; i < local.length; i++) {
      const c = local[i]!;
      codes[at++] = c < 0 ? -1 : map[c]!;
    }
  });
  return { name, kind: 'categorical', codes, categories };
}

/** Per chunk, local id -> final code, through the global ids. */
function localCodes(m: Merged, globalCode: (id: number) => number): Int32Array[] {
  return m.remaps.map((remap) => remap.map((id) => globalCode(id)));
}

function tooManyCategories(name: string, m: Merged, ids: number[], limit: number): DataError {
  const byRow = [...ids].sort((a, b) => m.firstRows[a]! - m.firstRows[b]!);
  const row = m.firstRows[byRow[limit]!]!;
  return new DataError(
    'too_many_categories',
    `column "${name}" has more than ${limit} distinct values at ${where(row)}; an identifier? leave it out of ` +
      'the data, or raise maxCategories',
    { row, column: name },
  );
}

function buildColumn(
  spec: ColumnSpec,
  m: Merged,
  chunks: readonly ChunkResult[],
  j: number,
  rows: number,
  maxCategories: number,
): Column {
  if (spec.type === 'numeric') return numericColumn(spec.name, chunks, j, rows);
  if (spec.type === 'boolean') {
    const codes = localCodes(m, (id) =>
      m.kinds[id] === KIND_TRUE ? 1 : m.kinds[id] === KIND_FALSE ? 0 : -1,
    );
    return codedColumn(spec.name, chunks, j, rows, codes, ['false', 'true']);
  }
  const declared = spec.categories ?? [];
  const declaredIndex = new Map(declared.map((c, i) => [c, i]));
  const found: number[] = [];
  for (let id = 0; id < m.texts.length; id++) {
    if (m.kinds[id] !== KIND_MISSING && !declaredIndex.has(m.texts[id]!)) found.push(id);
  }
  if (found.length > maxCategories) throw tooManyCategories(spec.name, m, found, maxCategories);
  const sorted = found.map((id) => m.texts[id]!).sort();
  const rank = new Map(sorted.map((c, i) => [c, declared.length + i]));
  const codes = localCodes(m, (id) =>
    m.kinds[id] === KIND_MISSING ? -1 : (declaredIndex.get(m.texts[id]!) ?? rank.get(m.texts[id]!) ?? -1),
  );
  return codedColumn(spec.name, chunks, j, rows, codes, [...declared, ...sorted]);
}

function parseErrorsOf(type: ColumnType, m: Merged): number {
  if (type === 'numeric') return m.boolean + m.text;
  if (type === 'boolean') return m.numeric + m.text;
  return 0;
}

/**
 * Reads a CSV source in one pass. With `schema`, its columns are built in its order with its types (missing and
 * undeclared columns refused as readFrame does); without, every column's type is inferred (as inferSchema does:
 * boolean when all values are true/false, numeric when at least `numericShare` of them are numbers, categorical
 * otherwise) and `inferred` describes what was seen.
 * @throws SecondPassNeeded in the rare case described on it
 */
export async function readCsvFrame(
  source: ByteSource,
  resolved: ResolvedReadOptions,
  schema: DatasetSchema | undefined,
  threads: number,
  chunkBytes?: number,
): Promise<CsvFrameResult> {
  const warnings: ReadWarning[] = [];
  let positions: number[] = [];
  const read = await readCsvChunks(
    source,
    {
      delimiter: resolved.delimiter,
      maxLineBytes: resolved.maxLineBytes,
      maxRows: resolved.maxRows,
      trim: resolved.trim,
      missingTokens: [...resolved.missingTokens],
      threads,
      ...(chunkBytes === undefined ? {} : { chunkBytes }),
    },
    (header): ColumnMode[] => {
      if (!schema) return header.map(() => 'infer');
      const names = schema.columns.map((c) => c.name);
      positions = names.map((name) => header.indexOf(name));
      const absent = names.filter((_, k) => positions[k] === -1);
      if (absent.length > 0) {
        throw new DataError(
          'missing_column',
          `the file lacks column${absent.length > 1 ? 's' : ''} ${absent.map((a) => `"${a}"`).join(', ')} that the ` +
            `schema declares; the file's columns are: ${header.join(', ')}`,
          { column: absent[0] },
        );
      }
      const extra = header.filter((name) => !names.includes(name));
      checkExtraColumns(extra, schema.allowExtraColumns, warnings);
      return header.map((name) => schema.columns.find((c) => c.name === name)?.type ?? 'skip');
    },
  );
  const { chunks, rowCount } = read;
  const order = schema ? positions : read.header.map((_, j) => j);
  const merged = order.map((j) => mergeColumn(chunks, j));
  const specs: ColumnSpec[] = schema
    ? schema.columns
    : read.header.map((name, j) => ({ name, type: inferType(merged[j]!, resolved.numericShare) }));

  let inferred: InferredSchema | undefined;
  if (!schema) {
    const columns = specs.map((spec, j): InferredColumn => {
      const m = merged[j]!;
      const nonMissing = m.numeric + m.boolean + m.text;
      const parseErrors = parseErrorsOf(spec.type, m);
      const distinct = m.texts.length - m.kinds.filter((k) => k === KIND_MISSING).length;
      return {
        name: spec.name,
        type: spec.type,
        missing: m.missing,
        nonMissing,
        numeric: m.numeric,
        boolean: m.boolean,
        parseErrors,
        parseErrorRate: nonMissing === 0 ? 0 : parseErrors / nonMissing,
        badValues: spec.type === 'numeric' ? m.badValues : [],
        distinct: Math.min(m.numbersLost ? Math.max(distinct, DISTINCT_CAP) : distinct, DISTINCT_CAP),
        distinctCapped: m.numbersLost || distinct >= DISTINCT_CAP,
      };
    });
    for (const column of columns) {
      const error = typeErrorRateError(column, resolved.maxTypeErrorRate);
      if (error) throw error;
    }
    const types = specs.map((s) => ({ name: s.name, type: s.type }));
    const missingTokens = [...resolved.missingTokens];
    inferred = {
      schema: { columns: types, missingTokens },
      columns,
      rowCount,
      sha256: read.digest.sha256,
      bytes: read.digest.bytes,
    };
    if (specs.some((s, j) => s.type === 'categorical' && merged[j]!.numbersLost && merged[j]!.numeric > 0)) {
      throw new SecondPassNeeded(inferred);
    }
  }

  const built: Column[] = [];
  const stats: ColumnReadStats[] = [];
  specs.forEach((spec, k) => {
    const j = order[k]!;
    const m = merged[k]!;
    built.push(buildColumn(spec, m, chunks, j, rowCount, resolved.maxCategories));
    // The pieces are copied: let them go before the next column is built.
    for (const chunk of chunks) chunk.columns[j] = null;
    const nonMissing = m.numeric + m.boolean + m.text;
    const parseErrors = parseErrorsOf(spec.type, m);
    stats.push({
      name: spec.name,
      type: spec.type,
      missing: m.missing,
      parseErrors,
      parseErrorRate: nonMissing === 0 ? 0 : parseErrors / nonMissing,
      badValues: spec.type === 'categorical' || parseErrors === 0 ? [] : m.badValues,
    });
  });
  for (const s of stats) {
    const error = typeErrorRateError(s, resolved.maxTypeErrorRate);
    if (error) throw error;
    if (s.parseErrors > 0) {
      warnings.push({
        code: 'type_errors_to_missing',
        column: s.name,
        message:
          `column "${s.name}": ${s.parseErrors} value(s) that are not ${s.type === 'numeric' ? 'numbers' : 'true/false'} ` +
          `became missing, e.g. ${s.badValues.map((b) => `"${b.value}" (row ${b.row})`).join(', ')}`,
      });
    }
  }
  const finalSchema: DatasetSchema = schema ?? inferred!.schema;
  return {
    frame: { rowCount, columns: built },
    schema: finalSchema,
    stats: { rowCount, sha256: read.digest.sha256, bytes: read.digest.bytes, columns: stats, warnings },
    ...(inferred ? { inferred } : {}),
  };
}
