// Parquet input through parquet-wasm (https://github.com/kylebarron/parquet-wasm: the Rust parquet crate compiled
// to WebAssembly) and apache-arrow: the bytes are read once (hashed for the content address), then decoded one row
// group at a time into Arrow and appended to the frame's columns. Text columns get the same inference and findings
// as CSV text, decided once per distinct value (weighted by how often it occurs), not once per cell.
// bench/results/ingest.md says why parquet-wasm rather than hyparquet.
import { createHash } from 'node:crypto';
import { DataType, DateUnit, tableFromIPC, TimeUnit, Type, type Data, type Table } from 'apache-arrow';
import * as parquet from 'parquet-wasm/node';
import type { Frame } from '../frame.js';
import type { ByteSource } from './byte-source.js';
import { parseBooleanText, parseNumberText } from './cells.js';
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

type Physical = 'number' | 'time' | 'boolean' | 'text';

const MAGIC = [0x50, 0x41, 0x52, 0x31];
const KIND_TEXT = 0;
const KIND_NUMBER = 1;
const KIND_FALSE = 2;
const KIND_TRUE = 3;
const KIND_MISSING = 4;

/** One file column as it is being read: numbers, or distinct texts with their counts and first rows. */
interface Gathered {
  readonly name: string;
  readonly physical: Physical;
  values: Float64Array | null;
  codes: Int32Array | null;
  readonly texts: string[];
  readonly index: Map<string, number>;
  counts: number[];
  firstRows: number[];
  nulls: number;
}

function physicalOf(type: DataType): Physical | undefined {
  if (DataType.isFloat(type) || DataType.isInt(type)) return 'number';
  if (DataType.isTimestamp(type) || DataType.isDate(type)) return 'time';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'text';
  if (DataType.isDictionary(type))
    return physicalOf(type.dictionary as DataType) === 'text' ? 'text' : undefined;
  return undefined;
}

/** The source's bytes as a Blob (no second copy of the whole file in this heap) and their sha256. */
async function readAll(source: ByteSource): Promise<{ blob: Blob; size: number; sha256: string }> {
  const hash = createHash('sha256');
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    parts.push(chunk);
    size += chunk.length;
  }
  return { blob: new Blob(parts), size, sha256: hash.digest('hex') };
}

async function openParquet(blob: Blob): Promise<parquet.ParquetFile> {
  const n = blob.size;
  if (n === 0) throw new DataError('empty_file', 'the file is empty: expected a Parquet file');
  const head = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
  const tail = new Uint8Array(await blob.slice(Math.max(0, n - 4)).arrayBuffer());
  const magic = (bytes: Uint8Array) => MAGIC.every((b, i) => bytes[i] === b);
  if (n < 12 || !magic(head) || !magic(tail)) {
    throw new DataError(
      'not_parquet',
      'the file is not Parquet: it does not start and end with the Parquet magic bytes "PAR1"',
    );
  }
  try {
    // The reader fetches each row group's byte ranges from the Blob as it needs them.
    return await parquet.ParquetFile.fromFile(blob);
  } catch (error) {
    throw new DataError('not_parquet', `the Parquet footer cannot be read: ${String(error)}`, {
      cause: error,
    });
  }
}

/** Milliseconds per unit of a timestamp's or date's stored integers. */
function msPerUnit(type: DataType): number {
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? 86_400_000 : 1;
  if (!DataType.isTimestamp(type)) return 1;
  const unit = type.unit;
  return unit === TimeUnit.SECOND
    ? 1000
    : unit === TimeUnit.MILLISECOND
      ? 1
      : unit === TimeUnit.MICROSECOND
        ? 1e-3
        : 1e-6;
}

/** Appends one Arrow chunk of a numeric or time column at `offset`. */
function appendNumbers(g: Gathered, data: Data, offset: number): void {
  const values = g.values!;
  const type = data.type;
  const raw = data.values as ArrayLike<number | bigint>;
  const scale = g.physical === 'time' ? msPerUnit(type) : 1;
  for (let i = 0; i < data.length; i++) {
    if (!data.getValid(i)) {
      values[offset + i] = NaN;
      g.nulls++;
      continue;
    }
    const v = raw[data.offset + i]!;
    values[offset + i] = (typeof v === 'bigint' ? Number(v) : v) * scale;
  }
}

function intern(g: Gathered, text: string, row: number): number {
  let id = g.index.get(text);
  if (id === undefined) {
    id = g.texts.length;
    g.index.set(text, id);
    g.texts.push(text);
    g.counts.push(0);
    g.firstRows.push(row);
  }
  return id;
}

/** Appends one Arrow chunk of a text or boolean column at `offset`, as ids of distinct texts (-1 null). */
function appendTexts(g: Gathered, data: Data, offset: number): void {
  const codes = g.codes!;
  const type = data.type;
  let local: Int32Array | undefined;
  if (DataType.isDictionary(type)) {
    const dictionary = data.dictionary!;
    local = new Int32Array(dictionary.length);
    for (let k = 0; k < dictionary.length; k++) {
      const t = dictionary.get(k) as string | null;
      // The first row of an entry is set by the first cell that uses it.
      local[k] = t === null ? -1 : intern(g, t, Number.MAX_SAFE_INTEGER);
    }
  }
  const indices = data.values as ArrayLike<number | bigint>;
  const vector = local ? undefined : data;
  for (let i = 0; i < data.length; i++) {
    if (!data.getValid(i)) {
      codes[offset + i] = -1;
      g.nulls++;
      continue;
    }
    let id: number;
    if (local) id = local[Number(indices[data.offset + i])]!;
    else if (g.physical === 'boolean')
      id = intern(g, readBool(vector!, i) ? 'true' : 'false', offset + i + 1);
    else id = intern(g, readUtf8(vector!, i), offset + i + 1);
    codes[offset + i] = id;
    if (id >= 0) {
      g.counts[id] = g.counts[id]! + 1;
      if (g.firstRows[id]! > offset + i + 1) g.firstRows[id] = offset + i + 1;
    }
  }
}

const decoder = new TextDecoder();

function readUtf8(data: Data, i: number): string {
  const offsets = data.valueOffsets as ArrayLike<number | bigint>;
  const start = Number(offsets[data.offset + i]);
  const end = Number(offsets[data.offset + i + 1]);
  return decoder.decode((data.values as Uint8Array).subarray(start, end));
}

function readBool(data: Data, i: number): boolean {
  const bit = data.offset + i;
  return (((data.values as Uint8Array)[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

function kindOf(text: string, missingTokens: ReadonlySet<string>): { kind: number; number: number } {
  const trimmed = text.trim();
  if (missingTokens.has(trimmed)) return { kind: KIND_MISSING, number: NaN };
  const number = parseNumberText(trimmed);
  if (number !== undefined) return { kind: KIND_NUMBER, number };
  const bool = parseBooleanText(trimmed);
  if (bool !== undefined) return { kind: bool ? KIND_TRUE : KIND_FALSE, number: NaN };
  return { kind: KIND_TEXT, number: NaN };
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
  const { blob, size, sha256 } = await readAll(source);
  const file = await openParquet(blob);
  try {
    const arrowSchema = tableFromIPC(file.schema().intoIPCStream()).schema;
    const fileColumns = arrowSchema.fields.map((field) => {
      const physical = physicalOf(field.type as DataType);
      if (!physical) {
        throw new DataError(
          'bad_parquet_type',
          `column "${field.name}" has type ${Type[(field.type as DataType).typeId]} (${String(field.type)}); ` +
            'expected numbers, booleans, strings, dates or timestamps (decimals: cast them to float)',
          { column: field.name },
        );
      }
      return { name: field.name, physical };
    });
    const metadata = file.metadata();
    const rowCount = metadata.fileMetadata().numRows();
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
      checkExtraColumns(extra, schema.allowExtraColumns, warnings);
    }
    const wanted = schema
      ? fileColumns.filter((c) => schema.columns.some((s) => s.name === c.name))
      : fileColumns;
    const gathered = new Map<string, Gathered>(
      wanted.map((c) => [
        c.name,
        {
          name: c.name,
          physical: c.physical,
          values: c.physical === 'number' || c.physical === 'time' ? new Float64Array(rowCount) : null,
          codes: c.physical === 'text' || c.physical === 'boolean' ? new Int32Array(rowCount) : null,
          texts: [],
          index: new Map(),
          counts: [],
          firstRows: [],
          nulls: 0,
        },
      ]),
    );

    // Row group by row group: decoded in WebAssembly, handed over as Arrow, appended to the columns.
    let offset = 0;
    for (let group = 0; group < metadata.numRowGroups(); group++) {
      const table: Table = tableFromIPC((await file.read({ rowGroups: [group] })).intoIPCStream());
      table.schema.fields.forEach((field, k) => {
        const g = gathered.get(field.name);
        const vector = table.getChildAt(k);
        if (!g || !vector) return;
        let at = offset;
        for (const data of vector.data as Data[]) {
          if (g.values) appendNumbers(g, data, at);
          else appendTexts(g, data, at);
          at += data.length;
        }
      });
      offset += table.numRows;
    }

    return assemble(gathered, wanted, schema, resolved, { rowCount, sha256, bytes: size, warnings });
  } finally {
    file.free();
  }
}

function assemble(
  gathered: Map<string, Gathered>,
  wanted: readonly { name: string; physical: Physical }[],
  schema: DatasetSchema | undefined,
  resolved: ResolvedReadOptions,
  facts: { rowCount: number; sha256: string; bytes: number; warnings: ReadWarning[] },
): ParquetFrameResult {
  const { rowCount, warnings } = facts;
  const tokens = resolved.missingTokens;
  const classified = new Map(
    [...gathered.values()].map((g) => [g.name, g.texts.map((t) => kindOf(t, tokens))] as const),
  );
  const tally = (g: Gathered) => {
    const kinds = classified.get(g.name)!;
    let missing = g.nulls;
    let numeric = g.values ? rowCount - g.nulls : 0;
    let boolean = 0;
    let text = 0;
    g.counts.forEach((count, id) => {
      const kind = kinds[id]!.kind;
      if (kind === KIND_MISSING) missing += count;
      else if (kind === KIND_NUMBER) numeric += count;
      else if (kind === KIND_TRUE || kind === KIND_FALSE) boolean += count;
      else text += count;
    });
    return { missing, numeric, boolean, text, nonMissing: rowCount - missing };
  };
  /** The first 5 values, in row order, whose kind `bad` says is not of the column's type. */
  const badValuesOf = (g: Gathered, bad: (kind: number) => boolean): BadValue[] => {
    const kinds = classified.get(g.name)!;
    return g.texts
      .map((t, id) => ({ row: g.firstRows[id]!, value: t.length > 60 ? `${t.slice(0, 57)}...` : t, id }))
      .filter((v) => g.counts[v.id]! > 0 && bad(kinds[v.id]!.kind))
      .sort((a, b) => a.row - b.row)
      .slice(0, 5)
      .map(({ row, value }) => ({ row, value }));
  };

  let specs: ColumnSpec[];
  let inferred: InferredSchema | undefined;
  if (schema) specs = schema.columns;
  else {
    const columns = wanted.map(({ name, physical }): InferredColumn => {
      const g = gathered.get(name)!;
      const t = tally(g);
      let type: ColumnType = physical === 'boolean' ? 'boolean' : 'numeric';
      if (physical === 'text' && t.nonMissing > 0) {
        if (t.boolean === t.nonMissing) type = 'boolean';
        else if (t.numeric >= resolved.numericShare * t.nonMissing) type = 'numeric';
        else type = 'categorical';
      }
      const parseErrors = type === 'numeric' ? t.nonMissing - t.numeric : 0;
      const distinct = g.values ? 0 : g.texts.length;
      return {
        name,
        type,
        missing: t.missing,
        nonMissing: t.nonMissing,
        numeric: t.numeric,
        boolean: t.boolean,
        parseErrors,
        parseErrorRate: t.nonMissing === 0 ? 0 : parseErrors / t.nonMissing,
        badValues: parseErrors > 0 ? badValuesOf(g, (k) => k !== KIND_NUMBER) : [],
        distinct: Math.min(distinct, DISTINCT_CAP),
        distinctCapped: distinct >= DISTINCT_CAP,
      };
    });
    for (const column of columns) {
      const error = typeErrorRateError(column, resolved.maxTypeErrorRate);
      if (error) throw error;
    }
    specs = columns.map((c) => ({ name: c.name, type: c.type }));
    inferred = {
      schema: { columns: specs, missingTokens: [...tokens] },
      columns,
      rowCount,
      sha256: facts.sha256,
      bytes: facts.bytes,
    };
  }

  const built = specs.map((spec) =>
    buildColumn(spec, gathered.get(spec.name)!, classified.get(spec.name)!, tally, badValuesOf, resolved),
  );
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
      sha256: facts.sha256,
      bytes: facts.bytes,
      columns: built.map((b) => b.stats),
      warnings,
    },
    ...(inferred ? { inferred } : {}),
  };
}

function buildColumn(
  spec: ColumnSpec,
  g: Gathered,
  kinds: readonly { kind: number; number: number }[],
  tally: (g: Gathered) => {
    missing: number;
    numeric: number;
    boolean: number;
    text: number;
    nonMissing: number;
  },
  badValuesOf: (g: Gathered, bad: (kind: number) => boolean) => BadValue[],
  resolved: ResolvedReadOptions,
): { column: Frame['columns'][number]; stats: ColumnReadStats } {
  const t = tally(g);
  const n = (g.values ?? g.codes!).length;
  const stats = (parseErrors: number, badValues: BadValue[]): ColumnReadStats => ({
    name: spec.name,
    type: spec.type,
    missing: t.missing,
    parseErrors,
    parseErrorRate: t.nonMissing === 0 ? 0 : parseErrors / t.nonMissing,
    badValues,
  });
  if (spec.type === 'numeric') {
    if (g.values)
      return { column: { name: spec.name, kind: 'numeric', values: g.values }, stats: stats(0, []) };
    const values = new Float64Array(n);
    const codes = g.codes!;
    for (let i = 0; i < n; i++) values[i] = codes[i]! < 0 ? NaN : kinds[codes[i]!]!.number;
    const parseErrors = t.nonMissing - t.numeric;
    return {
      column: { name: spec.name, kind: 'numeric', values },
      stats: stats(parseErrors, parseErrors > 0 ? badValuesOf(g, (k) => k !== KIND_NUMBER) : []),
    };
  }
  // Categorical and boolean: codes into categories; numbers spelled as text ('3', '0.5').
  const codeText = g.codes
    ? undefined
    : (i: number) => (Number.isNaN(g.values![i]!) ? null : String(g.values![i]));
  if (spec.type === 'boolean') {
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = g.codes ? g.codes[i]! : -1;
      const kind = c < 0 ? KIND_MISSING : kinds[c]!.kind;
      codes[i] = kind === KIND_TRUE ? 1 : kind === KIND_FALSE ? 0 : -1;
    }
    const parseErrors = t.nonMissing - t.boolean;
    return {
      column: { name: spec.name, kind: 'categorical', codes, categories: ['false', 'true'] },
      stats: stats(
        parseErrors,
        parseErrors > 0 ? badValuesOf(g, (k) => k !== KIND_TRUE && k !== KIND_FALSE) : [],
      ),
    };
  }
  const declared = spec.categories ?? [];
  const declaredIndex = new Map(declared.map((c, i) => [c, i]));
  const texts = g.codes ? g.texts : [];
  const found = texts.filter(
    (text, id) => g.counts[id]! > 0 && kinds[id]!.kind !== KIND_MISSING && !declaredIndex.has(text),
  );
  let numberTexts: string[] = [];
  if (codeText) {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const text = codeText(i);
      if (text !== null) seen.add(text);
    }
    numberTexts = [...seen].filter((text) => !declaredIndex.has(text));
  }
  const all = [...found, ...numberTexts];
  if (all.length > resolved.maxCategories) {
    throw new DataError(
      'too_many_categories',
      `column "${spec.name}" has more than ${resolved.maxCategories} distinct values at ${where(n)}; an identifier? ` +
        'leave it out of the data, or raise maxCategories',
      { column: spec.name },
    );
  }
  const sorted = all.sort();
  const rank = new Map(sorted.map((c, i) => [c, declared.length + i]));
  const codeOf = (text: string): number => declaredIndex.get(text) ?? rank.get(text) ?? -1;
  const codes = new Int32Array(n);
  if (g.codes) {
    const byId = texts.map((text, id) => (kinds[id]!.kind === KIND_MISSING ? -1 : codeOf(text)));
    for (let i = 0; i < n; i++) codes[i] = g.codes[i]! < 0 ? -1 : byId[g.codes[i]!]!;
  } else {
    for (let i = 0; i < n; i++) {
      const text = codeText!(i);
      codes[i] = text === null ? -1 : codeOf(text);
    }
  }
  return {
    column: { name: spec.name, kind: 'categorical', codes, categories: [...declared, ...sorted] },
    stats: stats(0, []),
  };
}
