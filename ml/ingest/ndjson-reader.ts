import { emptyDigest, inspectBytes, type ByteSource } from './byte-source.js';
import type { Cell } from './cells.js';
import { DataError, where } from './data-error.js';
import type { RawRow, TabularReader } from './tabular.js';

export interface NdjsonReaderOptions {
  /** A line longer than this many bytes (its line ending included) is refused. Default 1 MiB. */
  readonly maxLineBytes?: number;
  /** More data rows than this is refused. Default: no limit. */
  readonly maxRows?: number;
  /** Start with these columns (in this order), e.g. a schema's. Absent: columns come from the keys seen. */
  readonly columns?: readonly string[];
  /** What a key outside `columns` does: 'add' a column (default), 'ignore' it, or fail ('error'). */
  readonly unknownKeys?: 'add' | 'ignore' | 'error';
}

const NEWLINE = 0x0a;

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Opens an NDJSON byte stream: one flat JSON object per line (keys = columns; values strings, numbers, booleans
 * or null = missing; a key a row lacks is missing too). LF or CRLF line endings, blank lines skipped, an optional
 * UTF-8 BOM. Lines are split on the raw bytes, so memory holds one line, never the file. Reads the first row
 * before returning. Rejects with a DataError: empty_file, not_ndjson, bad_encoding, bad_json, bad_header,
 * unexpected_column; and while rows are read: bad_json, line_too_long, too_many_rows.
 */
export async function openNdjson(
  source: ByteSource,
  options: NdjsonReaderOptions = {},
): Promise<TabularReader> {
  const maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  const maxRows = options.maxRows ?? Number.MAX_SAFE_INTEGER;
  const unknownKeys = options.unknownKeys ?? 'add';
  const digest = emptyDigest();
  const columns: string[] = [...(options.columns ?? [])];
  const index = new Map(columns.map((name, i) => [name, i]));
  const decoder = new TextDecoder('utf-8');

  const toRow = (text: string, row: number, line: number): RawRow => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const hint =
        text.trim() === '{' || text.trim() === '['
          ? ' (pretty-printed JSON? NDJSON needs one object per line)'
          : '';
      throw new DataError(
        'bad_json',
        `${where(row, line)} is not valid JSON${hint}: ${(error as Error).message}`,
        {
          row,
          line,
          cause: error,
        },
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DataError(
        'bad_json',
        `${where(row, line)} is ${describeJson(value)}; expected a JSON object`,
        { row, line },
      );
    }
    const cells: Cell[] = [];
    for (const [key, cell] of Object.entries(value)) {
      if (cell !== null && typeof cell === 'object') {
        throw new DataError(
          'bad_json',
          `${where(row, line)}: key "${key}" holds ${describeJson(cell)}; rows must be flat (strings, numbers, booleans, null)`,
          { row, line, column: key },
        );
      }
      let at = index.get(key);
      if (at === undefined) {
        if (key.trim() === '')
          throw new DataError('bad_header', `${where(row, line)} has an empty key`, { row, line });
        if (unknownKeys === 'ignore') continue;
        if (unknownKeys === 'error') {
          throw new DataError(
            'unexpected_column',
            `${where(row, line)} has key "${key}", which is not among the expected columns (${columns.join(', ')})`,
            { row, line, column: key },
          );
        }
        at = columns.length;
        columns.push(key);
        index.set(key, at);
      }
      cells[at] = cell as Cell;
    }
    return { row, line, cells };
  };

  async function* rows(): AsyncGenerator<RawRow> {
    let parts: Uint8Array[] = [];
    let partBytes = 0;
    let line = 0;
    let row = 0;
    // Returns the row of one complete line (without its '\n'), or undefined for a blank line.
    const finishLine = (bytes: Uint8Array): RawRow | undefined => {
      line++;
      let text = decoder.decode(bytes);
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') return undefined;
      row++;
      if (row > maxRows) {
        throw new DataError('too_many_rows', `the file has more than the limit of ${maxRows} data rows`, {
          row,
          line,
        });
      }
      return toRow(text, row, line);
    };
    const tooLong = (): DataError =>
      new DataError(
        'line_too_long',
        `${where(row + 1, line + 1)} is longer than the limit of ${maxLineBytes} bytes`,
        {
          row: row + 1,
          line: line + 1,
        },
      );

    for await (const chunk of inspectBytes(source, 'ndjson', digest)) {
      let start = 0;
      for (;;) {
        const end = chunk.indexOf(NEWLINE, start);
        if (end === -1) break;
        if (partBytes + end + 1 - start > maxLineBytes) throw tooLong();
        const piece = chunk.subarray(start, end);
        const whole = parts.length === 0 ? piece : Buffer.concat([...parts, piece]);
        parts = [];
        partBytes = 0;
        start = end + 1;
        const parsed = finishLine(whole);
        if (parsed) yield parsed;
      }
      if (start < chunk.length) {
        // Copy: the producer may reuse its buffer for the next chunk.
        parts.push(chunk.slice(start));
        partBytes += chunk.length - start;
        if (partBytes > maxLineBytes) throw tooLong();
      }
    }
    if (partBytes > 0) {
      const parsed = finishLine(Buffer.concat(parts));
      if (parsed) yield parsed;
    }
    if (row === 0)
      throw new DataError('empty_file', 'the file has no rows: expected one JSON object per line');
  }

  const iterator = rows();
  // Read the first row now so an empty or foreign file fails at open, as with CSV.
  const first = await iterator.next();
  async function* all(): AsyncGenerator<RawRow> {
    if (first.done) return;
    yield first.value;
    yield* iterator;
  }
  return { columns, rows: all(), digest };
}
