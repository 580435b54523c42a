// Parses one chunk of CSV records (complete records, starting outside quotes) into typed column pieces. Pure and
// synchronous: the same function runs in the reading thread for small inputs and in worker threads for large ones,
// which is why every result is plain data of typed arrays (transferable) and problems name chunk-local rows.
import {
  createByteDictionary,
  intern,
  KIND_FALSE,
  KIND_MISSING,
  KIND_NUMBER,
  KIND_TRUE,
  parseDecimalBytes,
  textsOf,
  type ByteDictionary,
} from './cell-bytes.js';
import { parseNumberText } from './cells.js';
import type { CsvProblem } from './csv-errors.js';
import {
  isEmptyRecord,
  type RecordFields,
  scanRecord,
  SCAN_BAD_CLOSING_QUOTE,
  SCAN_STRAY_QUOTE,
} from './csv-tokenizer.js';

/** How a file column is read: its type inferred, or declared, or not at all. */
export type ColumnMode = 'infer' | 'numeric' | 'categorical' | 'boolean' | 'skip';

export interface ChunkSettings {
  readonly delimiter: number;
  /** One mode per file column (header order). */
  readonly modes: readonly ColumnMode[];
  readonly missingTokens: readonly string[];
  readonly trim: boolean;
  readonly maxLineBytes: number;
}

/** A value that is not of its column's type, with its chunk-local row. */
export interface ChunkBadValue {
  readonly row: number;
  readonly value: string;
}

/** One column of one chunk. */
export interface ColumnPiece {
  /** Numbers (NaN for missing and text); null for categorical and boolean columns, and where all are NaN. */
  readonly values: Float64Array | null;
  /** Dictionary ids; -1 missing; -2 a number whose text was not kept. Null when no text needs keeping. */
  readonly codes: Int32Array | null;
  readonly texts: readonly string[];
  readonly kinds: Uint8Array;
  readonly firstRows: Int32Array;
  readonly missing: number;
  readonly numeric: number;
  readonly boolean: number;
  /** Non-missing values that are neither numbers nor booleans. */
  readonly text: number;
  readonly badValues: readonly ChunkBadValue[];
  /** Numbers stopped being interned (too many distinct): a categorical reading needs a second pass. */
  readonly numbersLost: boolean;
}

export interface ChunkResult {
  readonly rows: number;
  /** Lines the chunk spans (line breaks consumed, plus one for a last line without one). */
  readonly lines: number;
  /** One piece per file column (null for skipped ones); assembly releases each once it is copied. */
  readonly columns: (ColumnPiece | null)[];
  readonly problem?: CsvProblem;
}

/** Distinct numbers a column interns (to keep their text for a categorical reading) before it stops. */
export const NUMERIC_TEXT_CAP = 10_000;
const MAX_BAD_VALUES = 5;
const MODE_INFER = 0;
const MODE_NUMERIC = 1;
const MODE_CATEGORICAL = 2;
const MODE_BOOLEAN = 3;
const MODE_SKIP = 4;
const modeCodes: Record<ColumnMode, number> = {
  infer: MODE_INFER,
  numeric: MODE_NUMERIC,
  categorical: MODE_CATEGORICAL,
  boolean: MODE_BOOLEAN,
  skip: MODE_SKIP,
};

interface Building {
  readonly mode: number;
  values: Float64Array | null;
  codes: Int32Array | null;
  readonly dict: ByteDictionary;
  numberEntries: number;
  /** Infer mode: numbers' texts are kept (codes exist) from the column's first text value on. */
  interning: boolean;
  numbersLost: boolean;
  missing: number;
  numeric: number;
  boolean: number;
  text: number;
  readonly badValues: ChunkBadValue[];
}

interface Cells {
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly rows: number;
  /** Content bounds and flags of cell (row i, column j) at i * width + j. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly flags: Uint8Array;
}

interface FillSettings {
  readonly trim: boolean;
  readonly tokens: ReadonlySet<string>;
  readonly emptyIsMissing: boolean;
  /** A missing token reads as a number ('-999'): every cell must be looked up before the number fast path. */
  readonly numericToken: boolean;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function badValueText(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The dictionary id of cell k (unescaping quotes and trimming as configured). */
function internCell(
  c: Building,
  cells: Cells,
  k: number,
  s: number,
  e: number,
  row: number,
  f: FillSettings,
): number {
  const { bytes } = cells;
  if (cells.flags[k] === 3) {
    let text = decoder.decode(bytes.subarray(s, e)).replaceAll('""', '"');
    if (f.trim) text = text.trim();
    const key = encoder.encode(text);
    return intern(c.dict, key, 0, key.length, row, f.tokens, text);
  }
  if (f.trim) {
    while (s < e && isSpace(bytes[s]!)) s++;
    while (e > s && isSpace(bytes[e - 1]!)) e--;
  }
  return intern(c.dict, bytes, s, e, row, f.tokens);
}

function internNumber(
  c: Building,
  cells: Cells,
  k: number,
  i: number,
  row: number,
  x: number,
  f: FillSettings,
): void {
  if (c.numbersLost) {
    c.codes![i] = -2;
    return;
  }
  let s = cells.starts[k]!;
  let e = cells.ends[k]!;
  if (f.trim) {
    while (s < e && isSpace(cells.bytes[s]!)) s++;
    while (e > s && isSpace(cells.bytes[e - 1]!)) e--;
  }
  const size = c.dict.size;
  c.codes![i] = intern(c.dict, cells.bytes, s, e, row, f.tokens, undefined, x);
  if (c.dict.size > size && ++c.numberEntries > NUMERIC_TEXT_CAP) c.numbersLost = true;
}

/**
 * Fills an inferred or numeric column: numbers take the fast path; other cells are looked up in the column's
 * dictionary. An inferred column starts keeping its numbers' text (codes) at its first text value, and takes the
 * text of the numbers before it from their cells.
 */
function fillNumbers(c: Building, cells: Cells, j: number, f: FillSettings): void {
  const { bytes, width, rows, starts, ends, flags } = cells;
  const values = c.values!;
  const infer = c.mode === MODE_INFER;
  for (let i = 0, k = j; i < rows; i++, k += width) {
    let s = starts[k]!;
    let e = ends[k]!;
    while (s < e && isSpace(bytes[s]!)) s++;
    while (e > s && isSpace(bytes[e - 1]!)) e--;
    if (s === e && f.emptyIsMissing) {
      c.missing++;
      values[i] = NaN;
      if (c.codes) c.codes[i] = -1;
      continue;
    }
    if (s < e && flags[k] !== 3 && !f.numericToken) {
      const x = parseDecimalBytes(bytes, s, e);
      if (x === x) {
        c.numeric++;
        values[i] = x;
        if (c.interning && infer) internNumber(c, cells, k, i, i + 1, x, f);
        continue;
      }
    }
    const id = internCell(c, cells, k, starts[k]!, ends[k]!, i + 1, f);
    const kind = c.dict.kinds[id]!;
    if (kind === KIND_MISSING) {
      c.missing++;
      values[i] = NaN;
      if (c.codes) c.codes[i] = -1;
      continue;
    }
    if (kind === KIND_NUMBER) {
      c.numeric++;
      values[i] = c.dict.numbers[id]!;
      if (c.codes) c.codes[i] = id;
      continue;
    }
    if (infer && !c.interning) {
      // The first text value: keep the text of every cell from here on, and of the numbers before it.
      c.interning = true;
      c.codes = new Int32Array(rows);
      for (let r = 0, q = j; r < i; r++, q += width) {
        const x = values[r]!;
        if (x !== x) c.codes[r] = -1;
        else internNumber(c, cells, q, r, r + 1, x, f);
      }
    }
    values[i] = NaN;
    if (c.codes) c.codes[i] = id;
    if (kind === KIND_TRUE || kind === KIND_FALSE) c.boolean++;
    else c.text++;
    if (c.badValues.length < MAX_BAD_VALUES)
      c.badValues.push({ row: i + 1, value: badValueText(c.dict.texts[id]!) });
  }
}

/** Fills a declared categorical or boolean column: every cell is looked up in the dictionary. */
function fillCoded(c: Building, cells: Cells, j: number, f: FillSettings): void {
  const { width, rows, starts, ends } = cells;
  const codes = c.codes!;
  const boolean = c.mode === MODE_BOOLEAN;
  let lastStart = -1;
  let lastEnd = -1;
  let lastId = -1;
  for (let i = 0, k = j; i < rows; i++, k += width) {
    const s = starts[k]!;
    const e = ends[k]!;
    const id = s === lastStart && e === lastEnd ? lastId : internCell(c, cells, k, s, e, i + 1, f);
    lastStart = s;
    lastEnd = e;
    lastId = id;
    const kind = c.dict.kinds[id]!;
    if (kind === KIND_MISSING) {
      c.missing++;
      codes[i] = -1;
      continue;
    }
    codes[i] = id;
    if (kind === KIND_NUMBER) c.numeric++;
    else if (kind === KIND_TRUE || kind === KIND_FALSE) c.boolean++;
    else c.text++;
    const bad = boolean && kind !== KIND_TRUE && kind !== KIND_FALSE;
    if (bad && c.badValues.length < MAX_BAD_VALUES)
      c.badValues.push({ row: i + 1, value: badValueText(c.dict.texts[id]!) });
  }
}

/**
 * Parses `bytes` (whole records) into column pieces: first every record's cells (their bounds), then each column
 * in a loop of its own. Stops at the first problem, returning the rows before it and the problem with its
 * chunk-local row and line.
 */
export function parseCsvChunk(bytes: Uint8Array, settings: ChunkSettings): ChunkResult {
  const { delimiter, maxLineBytes } = settings;
  const width = settings.modes.length;
  const tokens = new Set(settings.missingTokens.map((t) => t.trim()));
  const fill: FillSettings = {
    trim: settings.trim,
    tokens,
    emptyIsMissing: tokens.has(''),
    numericToken: [...tokens].some((t) => parseNumberText(t) !== undefined),
  };
  const end = bytes.length;

  // Size the cell arrays from the first record's length; they grow if the guess is short.
  let firstLength = bytes.indexOf(0x0a);
  firstLength = firstLength <= 0 ? end : firstLength + 1;
  let capacity = Math.ceil((end / firstLength) * 1.1) + 16;
  let fields: RecordFields = {
    starts: new Int32Array(capacity * width),
    ends: new Int32Array(capacity * width),
    flags: new Uint8Array(capacity * width),
    count: 0,
    innerLines: 0,
    base: 0,
    capacity: width,
  };

  let rows = 0;
  let lines = 0;
  let problem: CsvProblem | undefined;
  let pos = 0;
  while (pos < end) {
    if (rows >= capacity) {
      capacity *= 2;
      const grown = (a: Int32Array): Int32Array => {
        const b = new Int32Array(capacity * width);
        b.set(a);
        return b;
      };
      const flags = new Uint8Array(capacity * width);
      flags.set(fields.flags);
      fields = { ...fields, starts: grown(fields.starts), ends: grown(fields.ends), flags };
    }
    fields.base = rows * width;
    const next = scanRecord(bytes, pos, end, true, delimiter, fields);
    if (next < 0) {
      const row = rows + 1;
      if (next === SCAN_BAD_CLOSING_QUOTE || next === SCAN_STRAY_QUOTE) {
        problem = {
          kind: next === SCAN_STRAY_QUOTE ? 'stray_quote' : 'bad_closing_quote',
          row,
          line: lines + 1 + fields.innerLines,
        };
      } else {
        let rest = 0;
        for (let i = pos; i < end; i++) if (bytes[i] === 0x0a) rest++;
        problem = {
          kind: end - pos > maxLineBytes ? 'unterminated' : 'unclosed_quote',
          row,
          line: lines + Math.max(rest, 1),
        };
      }
      break;
    }
    lines += 1 + fields.innerLines;
    if (isEmptyRecord(fields)) {
      pos = next;
      continue;
    }
    const row = rows + 1;
    if (next - pos > maxLineBytes) {
      problem = { kind: 'too_long', row, line: lines, size: next - pos };
      break;
    }
    if (fields.count !== width) {
      problem = { kind: 'ragged', row, line: lines, fields: fields.count };
      break;
    }
    rows = row;
    pos = next;
  }

  const cells: Cells = { bytes, width, rows, starts: fields.starts, ends: fields.ends, flags: fields.flags };
  const columns = settings.modes.map((m, j): ColumnPiece | null => {
    const mode = modeCodes[m];
    if (mode === MODE_SKIP) return null;
    const c: Building = {
      mode,
      values: mode === MODE_INFER || mode === MODE_NUMERIC ? new Float64Array(rows) : null,
      codes: mode === MODE_CATEGORICAL || mode === MODE_BOOLEAN ? new Int32Array(rows) : null,
      dict: createByteDictionary(),
      numberEntries: 0,
      interning: mode !== MODE_INFER,
      numbersLost: false,
      missing: 0,
      numeric: 0,
      boolean: 0,
      text: 0,
      badValues: [],
    };
    if (c.values) fillNumbers(c, cells, j, fill);
    else fillCoded(c, cells, j, fill);
    // A column of nothing but numbers and missing values keeps no text (the first text starts keeping it).
    const keepCodes = c.mode !== MODE_INFER || (c.interning && (!c.numbersLost || c.text + c.boolean > 0));
    const size = c.dict.size;
    return {
      // An inferred column without a single number here keeps no numbers: all of its values are NaN.
      values: c.mode === MODE_INFER && c.numeric === 0 ? null : c.values,
      codes: keepCodes ? c.codes : null,
      texts: textsOf(c.dict),
      kinds: c.dict.kinds.slice(0, size),
      firstRows: c.dict.firstRows.slice(0, size),
      missing: c.missing,
      numeric: c.numeric,
      boolean: c.boolean,
      text: c.text,
      badValues: c.badValues,
      numbersLost: c.numbersLost || (c.mode === MODE_INFER && !keepCodes && c.numeric > 0),
    };
  });
  return { rows, lines, ...(problem ? { problem } : {}), columns };
}

/** The typed arrays of a chunk result, to hand to `postMessage` as its transfer list. */
export function chunkTransferList(result: ChunkResult): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const c of result.columns) {
    if (!c) continue;
    if (c.values) list.push(c.values.buffer as ArrayBuffer);
    if (c.codes) list.push(c.codes.buffer as ArrayBuffer);
    list.push(c.kinds.buffer as ArrayBuffer, c.firstRows.buffer as ArrayBuffer);
  }
  return list;
}
