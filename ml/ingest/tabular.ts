import type { ByteDigest } from './byte-source.js';
import type { Cell } from './cells.js';

/** One data row as a reader hands it over. */
export interface RawRow {
  /** 1-based data row number (a CSV header is not counted). */
  readonly row: number;
  /** 1-based line of the file on which the row ends (differs from `row` with a header or quoted newlines). */
  readonly line: number;
  /** One cell per entry of the reader's `columns`; for NDJSON, entries past `cells.length` are missing. */
  readonly cells: readonly Cell[];
}

/**
 * A streaming table reader: `columns` and then `rows`, one pass, bounded memory. Reading `rows` to the end fills
 * `digest` (sha256 and byte count of the raw input).
 */
export interface TabularReader {
  /** Column names in file order. CSV: fixed by the header. NDJSON: grows as rows bring new keys. */
  readonly columns: readonly string[];
  readonly rows: AsyncIterable<RawRow>;
  readonly digest: ByteDigest;
}
