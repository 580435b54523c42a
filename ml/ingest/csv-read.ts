// Streams a CSV source into parsed chunks: hashes and checks the bytes as they arrive (inspectBytes), reads the
// header, cuts the rest into chunks at record boundaries found by counting quotes, and parses each chunk in this
// thread (one-chunk inputs) or in a pool of worker threads, with a bounded number of chunks in flight.
import { emptyDigest, inspectBytes, type ByteDigest, type ByteSource } from './byte-source.js';
import { parseCsvChunk, type ChunkResult, type ChunkSettings, type ColumnMode } from './csv-chunk.js';
import { checkHeader, csvProblemError } from './csv-errors.js';
import { csvChunkPool } from './csv-pool.js';
import {
  createRecordFields,
  fieldText,
  lastRecordBoundary,
  scanRecord,
  SCAN_INCOMPLETE,
} from './csv-tokenizer.js';
import { DataError } from './data-error.js';

export interface CsvReadOptions {
  readonly delimiter: string;
  readonly maxLineBytes: number;
  readonly maxRows: number;
  readonly trim: boolean;
  readonly missingTokens: readonly string[];
  /** Worker threads for inputs larger than one chunk; 1 parses everything in this thread. */
  readonly threads: number;
  /** Bytes per chunk (default 8 MiB). */
  readonly chunkBytes?: number;
}

export interface CsvChunks {
  readonly header: readonly string[];
  readonly modes: readonly ColumnMode[];
  /** The parsed chunks in file order; their rows add up to `rowCount`. */
  readonly chunks: ChunkResult[];
  readonly rowCount: number;
  readonly digest: ByteDigest;
}

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** A copy of `bytes[start..end)` in a buffer of its own (Buffer#slice would be a view). */
function copyOf(bytes: Uint8Array, start: number, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads `source` as CSV into parsed chunks; `modesFor` picks each file column's mode once the header is known (and
 * may throw, e.g. for a column the schema lacks). Throws the DataError of the first problem in file order.
 */
export async function readCsvChunks(
  source: ByteSource,
  options: CsvReadOptions,
  modesFor: (header: readonly string[]) => ColumnMode[],
): Promise<CsvChunks> {
  const delimiter = options.delimiter.charCodeAt(0);
  const { maxLineBytes, maxRows } = options;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const digest = emptyDigest();
  let parts: Uint8Array[] = [];
  let partBytes = 0;
  let header: string[] | undefined;
  let modes: ColumnMode[] = [];
  let settings: ChunkSettings | undefined;
  let headerLines = 0;
  let bomChecked = false;
  const fields = createRecordFields(4096);

  const results: Promise<ChunkResult>[] = [];
  let failed = false;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const pool = options.threads > 1 ? csvChunkPool(options.threads) : undefined;

  const dispatch = (bytes: Uint8Array, final: boolean): void => {
    if (!pool || (results.length === 0 && final)) {
      const result = parseCsvChunk(bytes, settings!);
      if (result.problem) failed = true;
      results.push(Promise.resolve(result));
      return;
    }
    inFlight++;
    const promise = pool.parse(bytes, settings!).finally(() => {
      inFlight--;
      wake?.();
    });
    promise.then(
      (r) => {
        if (r.problem) failed = true;
      },
      () => {
        failed = true;
      },
    );
    results.push(promise);
  };

  /** Finds the header in the parts so far; returns false when more bytes are needed. */
  const readHeader = (final: boolean): boolean => {
    let bytes = concat(parts, partBytes);
    let pos = 0;
    if (!bomChecked && (bytes.length >= 3 || final)) {
      bomChecked = true;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
    } else if (!bomChecked) return false;
    for (;;) {
      if (pos >= bytes.length && final) {
        throw new DataError(
          'empty_file',
          'the file is empty: expected a header line and at least one data row',
        );
      }
      const next = scanRecord(bytes, pos, bytes.length, final, delimiter, fields);
      if (next === SCAN_INCOMPLETE || (next >= 0 && next - pos > maxLineBytes)) {
        if (bytes.length - pos > maxLineBytes || next >= 0) {
          throw new DataError(
            'line_too_long',
            `the header is longer than the limit of ${maxLineBytes} bytes`,
            {
              line: headerLines + 1,
            },
          );
        }
        bytes = copyOf(bytes, pos);
        parts = [bytes];
        partBytes = bytes.length;
        return false;
      }
      if (next < 0) {
        throw new DataError(
          'bad_quote',
          `a quoted value in the header (line ${headerLines + 1}) is not closed properly`,
          {
            line: headerLines + 1,
          },
        );
      }
      headerLines += 1 + fields.innerLines;
      const names = Array.from({ length: Math.min(fields.count, fields.starts.length) }, (_, k) =>
        fieldText(bytes, fields, k),
      );
      pos = next;
      // Lines of nothing but whitespace before the header (a stray '\r', a few spaces) are not a header.
      if (names.every((n) => n.trim() === '')) continue;
      header = checkHeader(names);
      modes = modesFor(header);
      settings = {
        delimiter,
        modes,
        missingTokens: options.missingTokens,
        trim: options.trim,
        maxLineBytes,
      };
      const rest = copyOf(bytes, pos);
      parts = rest.length > 0 ? [rest] : [];
      partBytes = rest.length;
      return true;
    }
  };

  for await (const piece of inspectBytes(source, 'csv', digest)) {
    parts.push(piece);
    partBytes += piece.length;
    if (!header && !readHeader(false)) continue;
    if (partBytes < chunkBytes) continue;
    const bytes = concat(parts, partBytes);
    const { boundary } = lastRecordBoundary(bytes, 0, bytes.length, false);
    if (boundary > 0) {
      const rest = copyOf(bytes, boundary);
      parts = rest.length > 0 ? [rest] : [];
      partBytes = rest.length;
      dispatch(bytes.subarray(0, boundary), false);
    } else {
      parts = [bytes];
      if (bytes.length > maxLineBytes) {
        // No record ends within the limit: let the chunk parser report it, at its row.
        dispatch(bytes.subarray(0, maxLineBytes + 1), true);
        failed = true;
      }
    }
    while (pool && inFlight > pool.size + 1 && !failed) await new Promise<void>((r) => (wake = r));
    if (failed) break;
  }
  if (!failed) {
    if (!header) readHeader(true);
    if (partBytes > 0) dispatch(concat(parts, partBytes), true);
  }

  let rowCount = 0;
  let lines = headerLines;
  const chunks: ChunkResult[] = [];
  for (const promise of results) {
    const result = await promise;
    if (result.problem) {
      throw csvProblemError(result.problem, rowCount, lines, header!.length, maxLineBytes);
    }
    if (rowCount + result.rows > maxRows) {
      throw new DataError('too_many_rows', `the file has more than the limit of ${maxRows} data rows`, {
        row: maxRows + 1,
      });
    }
    rowCount += result.rows;
    lines += result.lines;
    chunks.push(result);
  }
  if (rowCount === 0) {
    throw new DataError('header_only', `the file has a header (${header!.join(', ')}) but no data rows`);
  }
  return { header: header!, modes, chunks, rowCount, digest };
}
