import { emptyDigest, inspectBytes, type ByteSource } from './byte-source.js';
import { checkHeader, csvProblemError, type CsvProblem } from './csv-errors.js';
import {
  createRecordFields,
  fieldText,
  isEmptyRecord,
  scanRecord,
  SCAN_BAD_CLOSING_QUOTE,
  SCAN_INCOMPLETE,
  SCAN_STRAY_QUOTE,
} from './csv-tokenizer.js';
import { DataError } from './data-error.js';
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

/** Most fields a record may have before it is refused as ragged (the header's count is the real limit). */
const MAX_FIELDS = 100_000;

/**
 * Opens a CSV byte stream record by record, with the tokenizer the columnar reader uses (RFC 4180: quoted fields
 * with delimiters, doubled quotes and newlines; CRLF or LF; an optional UTF-8 BOM; an optional final newline).
 * Reads the header before returning; the rows then stream with backpressure, so memory holds the bytes of the
 * record being read, never the file. Empty lines are skipped. Rejects with a DataError: empty_file, not_csv,
 * bad_encoding, bad_header, duplicate_columns; and while rows are read: ragged_row, line_too_long, bad_quote,
 * too_many_rows, header_only.
 */
export async function openCsv(source: ByteSource, options: CsvReaderOptions = {}): Promise<TabularReader> {
  const maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  const maxRows = options.maxRows ?? Number.MAX_SAFE_INTEGER;
  const delimiter = (options.delimiter ?? ',').charCodeAt(0);
  const digest = emptyDigest();
  const input = inspectBytes(source, 'csv', digest)[Symbol.asyncIterator]();
  const fields = createRecordFields(MAX_FIELDS);
  let bytes = new Uint8Array(0);
  let pos = 0;
  let ended = false;
  let lines = 0;

  const more = async (): Promise<void> => {
    const next = await input.next();
    if (next.done) {
      ended = true;
      return;
    }
    const joined = new Uint8Array(bytes.length - pos + next.value.length);
    joined.set(bytes.subarray(pos));
    joined.set(next.value, bytes.length - pos);
    bytes = joined;
    pos = 0;
  };

  /** The next non-empty record (its fields in `fields`), or false at the end; a problem is returned as such. */
  const nextRecord = async (row: number): Promise<boolean | CsvProblem> => {
    for (;;) {
      if (pos >= bytes.length) {
        if (ended) return false;
        await more();
        continue;
      }
      const end = scanRecord(bytes, pos, bytes.length, ended, delimiter, fields);
      if (end === SCAN_INCOMPLETE) {
        if (bytes.length - pos > maxLineBytes) return { kind: 'unterminated', row, line: lines + 1 };
        await more();
        continue;
      }
      if (end < 0) {
        const kind =
          end === SCAN_BAD_CLOSING_QUOTE
            ? 'bad_closing_quote'
            : end === SCAN_STRAY_QUOTE
              ? 'stray_quote'
              : bytes.length - pos > maxLineBytes
                ? 'unterminated'
                : 'unclosed_quote';
        return { kind, row, line: lines + 1 + fields.innerLines };
      }
      lines += 1 + fields.innerLines;
      const size = end - pos;
      pos = end;
      if (isEmptyRecord(fields)) continue;
      if (size > maxLineBytes) return { kind: 'too_long', row, line: lines, size };
      return true;
    }
  };

  // The header: the first record that is not blank. A BOM before it is not part of it.
  await more();
  while (!ended && bytes.length < 3) await more();
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
  let header: string[] | undefined;
  for (;;) {
    const found = await nextRecord(0);
    if (found === false) {
      throw new DataError(
        'empty_file',
        'the file is empty: expected a header line and at least one data row',
      );
    }
    if (found !== true) {
      if (found.kind === 'too_long' || found.kind === 'unterminated') {
        throw new DataError('line_too_long', `the header is longer than the limit of ${maxLineBytes} bytes`, {
          line: lines + 1,
        });
      }
      throw new DataError(
        'bad_quote',
        `a quoted value in the header (line ${lines + 1}) is not closed properly`,
        {
          line: lines + 1,
        },
      );
    }
    const names = Array.from({ length: Math.min(fields.count, MAX_FIELDS) }, (_, k) =>
      fieldText(bytes, fields, k),
    );
    if (names.every((n) => n.trim() === '')) continue;
    header = checkHeader(names);
    break;
  }
  const width = header.length;

  async function* rows(): AsyncGenerator<RawRow> {
    let row = 0;
    try {
      for (;;) {
        const found = await nextRecord(row + 1);
        if (found === false) break;
        if (found !== true) throw csvProblemError(found, 0, 0, width, maxLineBytes);
        row++;
        if (fields.count !== width) {
          throw csvProblemError(
            { kind: 'ragged', row, line: lines, fields: fields.count },
            0,
            0,
            width,
            maxLineBytes,
          );
        }
        if (row > maxRows) {
          throw new DataError('too_many_rows', `the file has more than the limit of ${maxRows} data rows`, {
            row,
            line: lines,
          });
        }
        // Decode against the bytes of this record before the next read replaces them.
        const cells = Array.from({ length: width }, (_, k) => fieldText(bytes, fields, k));
        yield { row, line: lines, cells };
      }
    } finally {
      // Stops the source when the consumer leaves early.
      await input.return?.(undefined);
    }
    if (row === 0) {
      throw new DataError('header_only', `the file has a header (${header!.join(', ')}) but no data rows`);
    }
  }

  return { columns: header, rows: rows(), digest };
}
