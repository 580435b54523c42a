// A byte-level CSV tokenizer (RFC 4180): finds the fields of one record at a time in a Uint8Array without making a
// string, so the column builders can parse numbers and look categories up straight from the bytes. Quoted fields
// may hold the delimiter, doubled quotes and line breaks; records end with LF, CRLF or a lone CR.

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Field boundaries of the record last scanned (capacity fixed at creation; extra fields are only counted). */
export interface RecordFields {
  /** Content bounds of each field, quotes excluded. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** 0: plain; 1: quoted; 3: quoted and holding doubled quotes (`""`) to unescape. */
  readonly flags: Uint8Array;
  /** Fields of the record (may exceed the capacity: a ragged row). */
  count: number;
  /** Line breaks inside quoted fields of the record (for line numbers). */
  innerLines: number;
  /** Where the record's first field goes in the arrays (many records can share them); capacity is per record. */
  base: number;
  /** Fields stored per record. */
  readonly capacity: number;
}

export function createRecordFields(capacity: number): RecordFields {
  return {
    starts: new Int32Array(capacity),
    ends: new Int32Array(capacity),
    flags: new Uint8Array(capacity),
    count: 0,
    innerLines: 0,
    base: 0,
    capacity,
  };
}

/** Results of `scanRecord` below 0. */
export const SCAN_INCOMPLETE = -1;
/** A closing quote followed by something other than the delimiter or a line break. */
export const SCAN_BAD_CLOSING_QUOTE = -2;
/** The data ends inside a quoted field. */
export const SCAN_UNCLOSED_QUOTE = -3;
/** A quote inside an unquoted field. */
export const SCAN_STRAY_QUOTE = -4;

/**
 * Scans the record that starts at `pos` (never inside quotes) in `bytes[0..end)`. Returns the position after its
 * line break (or `end` for a last record without one) and fills `fields`; or a negative SCAN_* code. With `final`
 * false, a record that reaches `end` without a line break is SCAN_INCOMPLETE (more bytes may complete it).
 */
export function scanRecord(
  bytes: Uint8Array,
  pos: number,
  end: number,
  final: boolean,
  delimiter: number,
  fields: RecordFields,
): number {
  const { starts, ends, flags, base, capacity } = fields;
  let count = 0;
  let innerLines = 0;
  let p = pos;
  for (;;) {
    // One field starts at p.
    if (p < end && bytes[p] === QUOTE) {
      const start = p + 1;
      let flag = 1;
      let q = start;
      for (;;) {
        q = bytes.indexOf(QUOTE, q);
        if (q === -1 || q >= end) {
          fields.count = count;
          return final ? SCAN_UNCLOSED_QUOTE : SCAN_INCOMPLETE;
        }
        if (q + 1 < end && bytes[q + 1] === QUOTE) {
          flag = 3;
          q += 2;
          continue;
        }
        if (q + 1 >= end && !final) {
          fields.count = count;
          return SCAN_INCOMPLETE;
        }
        break;
      }
      for (let i = start; i < q; i++) {
        const c = bytes[i]!;
        if (c === LF || (c === CR && bytes[i + 1] !== LF)) innerLines++;
      }
      if (count < capacity) {
        starts[base + count] = start;
        ends[base + count] = q;
        flags[base + count] = flag;
      }
      count++;
      p = q + 1;
      if (p >= end) break;
      const c = bytes[p]!;
      if (c === delimiter) {
        p++;
        continue;
      }
      if (c === LF) {
        p++;
        break;
      }
      if (c === CR) {
        if (p + 1 < end) {
          p += bytes[p + 1] === LF ? 2 : 1;
          break;
        }
        if (!final) {
          fields.count = count;
          return SCAN_INCOMPLETE;
        }
        p++;
        break;
      }
      fields.count = count;
      return SCAN_BAD_CLOSING_QUOTE;
    }
    const start = p;
    let c = 0;
    while (p < end) {
      c = bytes[p]!;
      // Most bytes are above '"' (0x22) and not the delimiter: one or two comparisons each.
      if (c === delimiter || (c <= QUOTE && (c === LF || c === CR || c === QUOTE))) break;
      p++;
    }
    if (count < capacity) {
      starts[base + count] = start;
      ends[base + count] = p;
      flags[base + count] = 0;
    }
    count++;
    if (p >= end) {
      if (!final) {
        fields.count = count;
        return SCAN_INCOMPLETE;
      }
      break;
    }
    if (c === delimiter) {
      p++;
      continue;
    }
    if (c === QUOTE) {
      fields.count = count;
      return SCAN_STRAY_QUOTE;
    }
    if (c === LF) {
      p++;
      break;
    }
    // CR: CRLF, or a lone CR ending the record.
    if (p + 1 < end) {
      p += bytes[p + 1] === LF ? 2 : 1;
      break;
    }
    if (!final) {
      fields.count = count;
      return SCAN_INCOMPLETE;
    }
    p++;
    break;
  }
  fields.count = count;
  fields.innerLines = innerLines;
  return p;
}

/** True when the record just scanned is an empty line (no bytes before its line break). */
export function isEmptyRecord(fields: RecordFields): boolean {
  const b = fields.base;
  return fields.count === 1 && fields.flags[b] === 0 && fields.starts[b] === fields.ends[b];
}

const decoder = new TextDecoder('utf-8');

/** The text of field `k` of the record just scanned, quotes unescaped. */
export function fieldText(bytes: Uint8Array, fields: RecordFields, k: number): string {
  const text = decoder.decode(bytes.subarray(fields.starts[k], fields.ends[k]));
  return fields.flags[k] === 3 ? text.replaceAll('""', '"') : text;
}

/**
 * Where the record containing the quote-aware boundary search ends: the end of the last complete record in
 * `bytes[from..to)` when scanning starts outside quotes at `from` with `inQuotes` false. Returns the position
 * after the last line break that is outside quotes (or -1 when there is none) and whether `to` is inside quotes.
 * Counting quotes is enough: a doubled quote toggles twice.
 */
export function lastRecordBoundary(
  bytes: Uint8Array,
  from: number,
  to: number,
  inQuotes: boolean,
): { boundary: number; inQuotes: boolean } {
  let boundary = -1;
  let p = from;
  let quoted = inQuotes;
  for (;;) {
    const q = bytes.indexOf(QUOTE, p);
    const segmentEnd = q === -1 || q >= to ? to : q;
    if (!quoted && segmentEnd > p) {
      const nl = bytes.lastIndexOf(LF, segmentEnd - 1);
      if (nl >= p) boundary = nl + 1;
    }
    if (segmentEnd === to) break;
    quoted = !quoted;
    p = q + 1;
  }
  return { boundary, inQuotes: quoted };
}
