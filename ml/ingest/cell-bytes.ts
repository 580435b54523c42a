// Cell values straight from bytes: decimal numbers parsed without making a string, and a dictionary that interns
// the distinct texts of a column by their bytes (one string per distinct value, not one per cell).
import { parseBooleanText, parseNumberText } from './cells.js';

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];
const latin1 = new TextDecoder('latin1');

/**
 * The number that `bytes[s..e)` spells in plain decimal or scientific notation (`-1.5e3`, `.5`, `5.`, `+2`), or
 * NaN when it is anything else (inf, hex, text). Exactly `Number(text)` for those forms: up to 15 significant
 * digits and a power of ten up to 22 take Clinger's fast path (one correctly rounded operation), the rest go
 * through `Number`.
 */
export function parseDecimalBytes(bytes: Uint8Array, s: number, e: number): number {
  let p = s;
  let negative = false;
  let c = bytes[p]!;
  if (c === 0x2d || c === 0x2b) {
    negative = c === 0x2d;
    p++;
  }
  let mantissa = 0;
  let significant = 0;
  let scale = 0;
  let any = false;
  while (p < e) {
    c = bytes[p]! - 0x30;
    if (c < 0 || c > 9) break;
    any = true;
    if (significant > 0 || c !== 0) {
      significant++;
      if (significant <= 15) mantissa = mantissa * 10 + c;
      else scale++;
    }
    p++;
  }
  if (p < e && bytes[p] === 0x2e) {
    p++;
    while (p < e) {
      c = bytes[p]! - 0x30;
      if (c < 0 || c > 9) break;
      any = true;
      if (significant > 0 || c !== 0) {
        significant++;
        if (significant <= 15) {
          mantissa = mantissa * 10 + c;
          scale--;
        }
      } else scale--;
      p++;
    }
  }
  if (!any) return NaN;
  let exponent = 0;
  if (p < e && (bytes[p] === 0x65 || bytes[p] === 0x45)) {
    p++;
    let expNegative = false;
    if (p < e && (bytes[p] === 0x2d || bytes[p] === 0x2b)) {
      expNegative = bytes[p] === 0x2d;
      p++;
    }
    const expStart = p;
    while (p < e) {
      c = bytes[p]! - 0x30;
      if (c < 0 || c > 9) break;
      if (exponent < 100_000) exponent = exponent * 10 + c;
      p++;
    }
    if (p === expStart) return NaN;
    if (expNegative) exponent = -exponent;
  }
  if (p !== e) return NaN;
  if (significant > 15) return Number(latin1.decode(bytes.subarray(s, e)));
  const power = scale + exponent;
  let value: number;
  if (mantissa === 0) value = 0;
  else if (power >= 0 && power <= 22) value = mantissa * POW10[power]!;
  else if (power < 0 && power >= -22) value = mantissa / POW10[-power]!;
  else return Number(latin1.decode(bytes.subarray(s, e)));
  return negative ? -value : value;
}

/** What a distinct text is. */
export const KIND_TEXT = 0;
export const KIND_NUMBER = 1;
export const KIND_FALSE = 2;
export const KIND_TRUE = 3;
export const KIND_MISSING = 4;

/** Distinct texts of one column, interned by their bytes. */
export interface ByteDictionary {
  /** The distinct texts, in order of first appearance. */
  readonly texts: string[];
  /** KIND_* of each text. */
  kinds: Uint8Array;
  /** The number of each KIND_NUMBER text. */
  numbers: Float64Array;
  /** Local row of each text's first appearance. */
  firstRows: Int32Array;
  size: number;
  /** Direct-mapped cache on (length, first and last byte) -> id: most lookups of a small column end here. */
  readonly recent: Int32Array;
  table: Int32Array;
  hashes: Int32Array;
  offsets: Int32Array;
  arena: Uint8Array;
  arenaUsed: number;
}

export function createByteDictionary(): ByteDictionary {
  return {
    texts: [],
    kinds: new Uint8Array(64),
    numbers: new Float64Array(64),
    firstRows: new Int32Array(64),
    size: 0,
    recent: new Int32Array(1024).fill(-1),
    table: new Int32Array(128).fill(-1),
    hashes: new Int32Array(64),
    offsets: new Int32Array(65),
    arena: new Uint8Array(1024),
    arenaUsed: 0,
  };
}

function hashBytes(bytes: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}

function sameBytes(d: ByteDictionary, id: number, bytes: Uint8Array, s: number, e: number): boolean {
  const start = d.offsets[id]!;
  if (d.offsets[id + 1]! - start !== e - s) return false;
  const arena = d.arena;
  for (let i = 0; i < e - s; i++) if (arena[start + i] !== bytes[s + i]) return false;
  return true;
}

function growEntries(d: ByteDictionary): void {
  const n = d.kinds.length * 2;
  const kinds = new Uint8Array(n);
  kinds.set(d.kinds);
  d.kinds = kinds;
  const numbers = new Float64Array(n);
  numbers.set(d.numbers);
  d.numbers = numbers;
  const firstRows = new Int32Array(n);
  firstRows.set(d.firstRows);
  d.firstRows = firstRows;
  const hashes = new Int32Array(n);
  hashes.set(d.hashes);
  d.hashes = hashes;
  const offsets = new Int32Array(n + 1);
  offsets.set(d.offsets);
  d.offsets = offsets;
}

function rehash(d: ByteDictionary): void {
  const table = new Int32Array(d.table.length * 2).fill(-1);
  const mask = table.length - 1;
  for (let id = 0; id < d.size; id++) {
    let slot = d.hashes[id]! & mask;
    while (table[slot] !== -1) slot = (slot + 1) & mask;
    table[slot] = id;
  }
  d.table = table;
}

/** How a new text is classified when it is first seen. */
export interface Classifier {
  readonly missingTokens: ReadonlySet<string>;
}

function classify(text: string, missingTokens: ReadonlySet<string>): { kind: number; number: number } {
  const trimmed = text.trim();
  if (missingTokens.has(trimmed)) return { kind: KIND_MISSING, number: NaN };
  const number = parseNumberText(trimmed);
  if (number !== undefined) return { kind: KIND_NUMBER, number };
  const bool = parseBooleanText(trimmed);
  if (bool !== undefined) return { kind: bool ? KIND_TRUE : KIND_FALSE, number: NaN };
  return { kind: KIND_TEXT, number: NaN };
}

const utf8 = new TextDecoder('utf-8');
const LAZY = '\u0000lazy';

/** Every text of the dictionary, decoding the ones `intern` left for later. */
export function textsOf(d: ByteDictionary): string[] {
  for (let id = 0; id < d.size; id++) {
    if (d.texts[id] === LAZY) d.texts[id] = utf8.decode(d.arena.subarray(d.offsets[id], d.offsets[id + 1]));
  }
  return d.texts;
}

/**
 * The id of the text `bytes[s..e)` (the text itself; `text` when the bytes are not the text, e.g. quotes to
 * unescape), adding it (classified against `missingTokens`) the first time, at local row `row`. With `number`
 * (not NaN), the bytes are known to spell that number: the text is decoded later, by `textsOf`, only if needed.
 */
export function intern(
  d: ByteDictionary,
  bytes: Uint8Array,
  s: number,
  e: number,
  row: number,
  missingTokens: ReadonlySet<string>,
  text?: string,
  number = NaN,
): number {
  const length = e - s;
  const cacheKey = length === 0 ? 0 : (length * 61 + bytes[s]! * 31 + bytes[e - 1]!) & 1023;
  const cached = d.recent[cacheKey]!;
  if (cached >= 0 && sameBytes(d, cached, bytes, s, e)) return cached;
  const found = lookup(d, bytes, s, e, row, missingTokens, text, number);
  d.recent[cacheKey] = found;
  return found;
}

function lookup(
  d: ByteDictionary,
  bytes: Uint8Array,
  s: number,
  e: number,
  row: number,
  missingTokens: ReadonlySet<string>,
  text: string | undefined,
  number: number,
): number {
  const h = hashBytes(bytes, s, e);
  const mask = d.table.length - 1;
  let slot = h & mask;
  for (;;) {
    const id = d.table[slot]!;
    if (id === -1) break;
    if (d.hashes[id] === h && sameBytes(d, id, bytes, s, e)) return id;
    slot = (slot + 1) & mask;
  }
  const id = d.size;
  if (id + 1 >= d.kinds.length) growEntries(d);
  const length = e - s;
  if (d.arenaUsed + length > d.arena.length) {
    const arena = new Uint8Array(Math.max(d.arena.length * 2, d.arenaUsed + length));
    arena.set(d.arena.subarray(0, d.arenaUsed));
    d.arena = arena;
  }
  d.arena.set(bytes.subarray(s, e), d.arenaUsed);
  d.offsets[id] = d.arenaUsed;
  d.arenaUsed += length;
  d.offsets[id + 1] = d.arenaUsed;
  if (number === number) {
    d.texts.push(LAZY);
    d.kinds[id] = KIND_NUMBER;
    d.numbers[id] = number;
  } else {
    const value = text ?? utf8.decode(bytes.subarray(s, e));
    const classified = classify(value, missingTokens);
    d.texts.push(value);
    d.kinds[id] = classified.kind;
    d.numbers[id] = classified.number;
  }
  d.firstRows[id] = row;
  d.hashes[id] = h;
  d.table[slot] = id;
  d.size = id + 1;
  if (d.size * 2 > d.table.length) rehash(d);
  return id;
}
