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
  createRecordFields,
  isEmptyRecord,
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
  /** Numbers (NaN for missing and text); null for categorical and boolean columns. */
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

const encoder = new TextEncoder();

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function badValueText(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Parses `bytes` (whole records) into column pieces. Stops at the first problem, returning the rows before it
 * and the problem with its chunk-local row and line.
 */
export function parseCsvChunk(bytes: Uint8Array, settings: ChunkSettings): ChunkResult {
  const { delimiter, trim, maxLineBytes } = settings;
  const width = settings.modes.length;
  const tokens = new Set(settings.missingTokens.map((t) => t.trim()));
  const emptyIsMissing = tokens.has('');
  // A missing token that reads as a number ('-999') must be looked up before the number fast path.
  const numericToken = [...tokens].some((t) => parseNumberText(t) !== undefined);
  const fields = createRecordFields(width);
  const end = bytes.length;

  // Size the columns from the first record's length; they grow if the guess is short.
  let firstLength = bytes.indexOf(0x0a);
  firstLength = firstLength <= 0 ? end : firstLength + 1;
  let capacity = Math.ceil((end / firstLength) * 1.2) + 16;
  const columns: Building[] = settings.modes.map((m) => {
    const mode = modeCodes[m];
    return {
      mode,
      values: mode === MODE_INFER || mode === MODE_NUMERIC ? new Float64Array(capacity) : null,
      codes: mode === MODE_CATEGORICAL || mode === MODE_BOOLEAN ? new Int32Array(capacity) : null,
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
  });
  let recordStarts = new Int32Array(capacity);
  const grow = (): void => {
    capacity *= 2;
    const starts = new Int32Array(capacity);
    starts.set(recordStarts);
    recordStarts = starts;
    for (const c of columns) {
      if (c.values) {
        const next = new Float64Array(capacity);
        next.set(c.values);
        c.values = next;
      }
      if (c.codes) {
        const next = new Int32Array(capacity);
        next.set(c.codes);
        c.codes = next;
      }
    }
  };

  const internNumber = (c: Building, i: number, s: number, e: number, row: number, x: number): void => {
    if (c.numbersLost) {
      c.codes![i] = -2;
      return;
    }
    const size = c.dict.size;
    c.codes![i] = intern(c.dict, bytes, s, e, row, tokens, undefined, x);
    if (c.dict.size > size && ++c.numberEntries > NUMERIC_TEXT_CAP) c.numbersLost = true;
  };
  // The first text value of an inferred column: from here on its cells keep their text (it may be categorical),
  // and the numbers of the rows before it get theirs from the records again.
  const backfill = createRecordFields(width);
  const startInterning = (c: Building, j: number, upTo: number): void => {
    c.interning = true;
    c.codes = new Int32Array(capacity);
    for (let k = 0; k < upTo; k++) {
      const x = c.values![k]!;
      if (x !== x) {
        c.codes[k] = -1;
        continue;
      }
      scanRecord(bytes, recordStarts[k]!, end, true, delimiter, backfill);
      let s = backfill.starts[j]!;
      let e = backfill.ends[j]!;
      if (trim) {
        while (s < e && isSpace(bytes[s]!)) s++;
        while (e > s && isSpace(bytes[e - 1]!)) e--;
      }
      internNumber(c, k, s, e, k + 1, x);
    }
  };

  let rows = 0;
  let lines = 0;
  let problem: CsvProblem | undefined;
  let pos = 0;
  while (pos < end) {
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
    if (rows > capacity) grow();
    const i = rows - 1;
    recordStarts[i] = pos;
    for (let j = 0; j < width; j++) {
      const c = columns[j]!;
      const mode = c.mode;
      if (mode === MODE_SKIP) continue;
      const s = fields.starts[j]!;
      const e = fields.ends[j]!;
      const flag = fields.flags[j]!;
      let ts = s;
      let te = e;
      while (ts < te && isSpace(bytes[ts]!)) ts++;
      while (te > ts && isSpace(bytes[te - 1]!)) te--;
      if (ts === te && emptyIsMissing) {
        c.missing++;
        if (c.values) c.values[i] = NaN;
        if (c.codes) c.codes[i] = -1;
        continue;
      }
      if (mode <= MODE_NUMERIC && flag !== 3 && !numericToken && ts < te) {
        const x = parseDecimalBytes(bytes, ts, te);
        if (x === x) {
          c.numeric++;
          c.values![i] = x;
          if (c.interning && mode === MODE_INFER) {
            if (trim) internNumber(c, i, ts, te, row, x);
            else internNumber(c, i, s, e, row, x);
          }
          continue;
        }
      }
      let id: number;
      if (flag === 3) {
        let text = new TextDecoder().decode(bytes.subarray(s, e)).replaceAll('""', '"');
        if (trim) text = text.trim();
        const key = encoder.encode(text);
        id = intern(c.dict, key, 0, key.length, row, tokens, text);
      } else if (trim) {
        id = intern(c.dict, bytes, ts, te, row, tokens);
      } else {
        id = intern(c.dict, bytes, s, e, row, tokens);
      }
      const kind = c.dict.kinds[id]!;
      if (!c.interning && kind !== KIND_MISSING && kind !== KIND_NUMBER) startInterning(c, j, i);
      if (kind === KIND_MISSING) {
        c.missing++;
        if (c.values) c.values[i] = NaN;
        if (c.codes) c.codes[i] = -1;
        continue;
      }
      if (c.codes) c.codes[i] = id;
      if (kind === KIND_NUMBER) {
        c.numeric++;
        if (c.values) c.values[i] = c.dict.numbers[id]!;
        if (mode === MODE_BOOLEAN && c.badValues.length < MAX_BAD_VALUES)
          c.badValues.push({ row, value: badValueText(c.dict.texts[id]!) });
        continue;
      }
      if (c.values) c.values[i] = NaN;
      if (kind === KIND_TRUE || kind === KIND_FALSE) c.boolean++;
      else c.text++;
      const bad =
        mode === MODE_BOOLEAN ? kind !== KIND_TRUE && kind !== KIND_FALSE : mode !== MODE_CATEGORICAL;
      if (bad && c.badValues.length < MAX_BAD_VALUES)
        c.badValues.push({ row, value: badValueText(c.dict.texts[id]!) });
    }
    pos = next;
  }

  const trimTo = <T extends Float64Array | Int32Array>(a: T | null): T | null =>
    a === null ? null : a.length === rows ? a : (a.slice(0, rows) as T);
  return {
    rows,
    lines,
    ...(problem ? { problem } : {}),
    columns: columns.map((c): ColumnPiece | null => {
      if (c.mode === MODE_SKIP) return null;
      // A column of nothing but numbers and missing values keeps no text (the first text starts keeping it).
      const keepCodes = c.mode !== MODE_INFER || (c.interning && (!c.numbersLost || c.text + c.boolean > 0));
      const size = c.dict.size;
      return {
        values: trimTo(c.values),
        codes: keepCodes ? trimTo(c.codes) : null,
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
    }),
  };
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
