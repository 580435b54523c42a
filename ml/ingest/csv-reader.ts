import { Readable, pipeline } from 'node:stream';
import { parse, CsvError, type Info } from 'csv-parse';
import { emptyDigest, inspectBytes, type ByteSource } from './byte-source.js';
import { DataError, where } from './data-error.js';
import type { RawRow, TabularReader } from './tabular.js';

export interface CsvReaderOptions {
  /** Field delimiter, one character (default ','). */
  readonly delimiter?: string;
  /**
   * A record longer than this many bytes is refused. A record's size counts all its bytes: quotes, delimiters,
   * quoted newlines and its own line ending. Default 1 MiB.
   */
  readonly maxLineBytes?: number;
  /** More data rows than this is refused. Default: no limit. */
  readonly maxRows?: number;
}

interface ParsedRecord {
  readonly record: string[];
  /** Line the record ends on, and bytes consumed through its line ending (csv-parse's info at that moment). */
  readonly lines: number;
  readonly bytes: number;
}

/** Turns csv-parse's errors into DataErrors that name the row the way the rest of ingest does. */
function toDataError(error: unknown, maxLineBytes: number): unknown {
  if (!(error instanceof CsvError)) return error;
  // csv-parse copies its info (records parsed so far, current line) onto the error object.
  const context = error as unknown as { records?: number; lines?: number };
  const recordNumber = (context.records ?? 0) + 1;
  const line = context.lines;
  const place = recordNumber === 1 ? `the header (line ${line ?? 1})` : where(recordNumber - 1, line);
  const rowContext = recordNumber === 1 ? { line } : { row: recordNumber - 1, line };
  switch (error.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return new DataError(
        'line_too_long',
        `${place} is longer than the limit of ${maxLineBytes} bytes (if that row should be short: an unclosed ` +
          'quote makes the rest of the file one value)',
        { ...rowContext, cause: error },
      );
    case 'CSV_QUOTE_NOT_CLOSED':
      return new DataError(
        'bad_quote',
        `a quoted value in ${place} is never closed (the file ends inside it)`,
        { ...rowContext, cause: error },
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new DataError(
        'bad_quote',
        `${place}: a quoted value must end with a quote followed by the delimiter or the end of the line ` +
          '(write a quote inside a quoted value as two quotes "")',
        { ...rowContext, cause: error },
      );
    default:
      return new DataError('not_csv', `the file is not valid CSV at ${place}: ${error.message}`, {
        ...rowContext,
        cause: error,
      });
  }
}

/** Checks the header: names trimmed, none empty, none repeated. */
function checkHeader(header: readonly string[]): string[] {
  const names = header.map((name) => name.trim());
  names.forEach((name, i) => {
    if (name === '') {
      throw new DataError(
        'bad_header',
        `header column ${i + 1} has an empty name; every column needs a name` +
          (i === 0
            ? ' (an unnamed first column is often a pandas index: write the CSV with index=False)'
            : ''),
        { line: 1 },
      );
    }
  });
  const seen = new Map<string, number[]>();
  names.forEach((name, i) => seen.set(name, [...(seen.get(name) ?? []), i + 1]));
  const repeated = [...seen].filter(([, positions]) => positions.length > 1);
  if (repeated.length > 0) {
    const list = repeated
      .map(([name, positions]) => `"${name}" (columns ${positions.join(', ')})`)
      .join(', ');
    throw new DataError(
      'duplicate_columns',
      `the header repeats column names: ${list}; column names must be unique`,
      {
        line: 1,
        column: repeated[0]?.[0],
      },
    );
  }
  return names;
}

/**
 * Opens a CSV byte stream (RFC 4180: quoted fields with delimiters, doubled quotes and newlines; CRLF or LF; an
 * optional UTF-8 BOM; an optional final newline). Reads the header before returning; the rows then stream with
 * backpressure through csv-parse, so memory holds one record plus parser buffers, never the file. Empty lines are
 * skipped. Rejects with a DataError: empty_file, not_csv, bad_encoding, bad_header, duplicate_columns; and while
 * rows are read: ragged_row, line_too_long, bad_quote, too_many_rows, header_only.
 */
export async function openCsv(source: ByteSource, options: CsvReaderOptions = {}): Promise<TabularReader> {
  const maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  const maxRows = options.maxRows ?? Number.MAX_SAFE_INTEGER;
  const digest = emptyDigest();
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ',',
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: maxLineBytes,
  });
  // csv-parse's `info: true` builds two objects of a dozen fields per record (a quarter of the parse time on
  // Elec2). Its live counters hold the same two numbers at the moment a record is pushed, which is synchronous
  // inside the parse of a chunk, so they are read there instead.
  const live: Info = parser.info;
  const push = parser.push.bind(parser);
  parser.push = (record: unknown): boolean =>
    push(
      record === null
        ? null
        : ({ record: record as string[], lines: live.lines, bytes: live.bytes } satisfies ParsedRecord),
    );
  // pipeline() destroys every stage when one fails or the consumer stops early, which also ends the source.
  pipeline(Readable.from(inspectBytes(source, 'csv', digest)), parser, () => undefined);
  const records = (parser as AsyncIterable<ParsedRecord>)[Symbol.asyncIterator]();

  let first: IteratorResult<ParsedRecord>;
  do {
    try {
      first = await records.next();
    } catch (error) {
      throw toDataError(error, maxLineBytes);
    }
    // Lines of nothing but whitespace before the header (a stray '\r', a few spaces) are not a header.
  } while (!first.done && first.value.record.every((field) => field.trim() === ''));
  if (first.done) {
    throw new DataError('empty_file', 'the file is empty: expected a header line and at least one data row');
  }
  const header = checkHeader(first.value.record);
  let previousBytes = first.value.bytes;
  if (previousBytes > maxLineBytes) {
    throw new DataError('line_too_long', `the header is longer than the limit of ${maxLineBytes} bytes`, {
      line: 1,
    });
  }

  async function* rows(): AsyncGenerator<RawRow> {
    let row = 0;
    try {
      for (;;) {
        let next: IteratorResult<ParsedRecord>;
        try {
          next = await records.next();
        } catch (error) {
          throw toDataError(error, maxLineBytes);
        }
        if (next.done) break;
        const { record, lines: line, bytes } = next.value;
        row++;
        // max_record_size counts field bytes only and bounds memory while a record is parsed; the byte offsets also
        // count delimiters, quotes and the line ending, which is what the limit is defined on.
        const size = bytes - previousBytes;
        previousBytes = bytes;
        if (size > maxLineBytes) {
          throw new DataError(
            'line_too_long',
            `${where(row, line)} is ${size} bytes; the limit is ${maxLineBytes}`,
            {
              row,
              line,
            },
          );
        }
        if (record.length !== header.length) {
          throw new DataError(
            'ragged_row',
            `${where(row, line)} has ${record.length} field${record.length === 1 ? '' : 's'}; the header has ` +
              `${header.length} (a value containing the delimiter must be quoted)`,
            { row, line },
          );
        }
        if (row > maxRows) {
          throw new DataError('too_many_rows', `the file has more than the limit of ${maxRows} data rows`, {
            row,
            line,
          });
        }
        yield { row, line, cells: record };
      }
    } finally {
      // Stops the parser and, through pipeline(), the source when the consumer leaves early.
      parser.destroy();
    }
    if (row === 0) {
      throw new DataError('header_only', `the file has a header (${header.join(', ')}) but no data rows`);
    }
  }

  return { columns: header, rows: rows(), digest };
}
