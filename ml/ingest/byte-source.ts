import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { DataError } from './data-error.js';

/**
 * Where dataset bytes come from: any async iterable of byte chunks. A Node Readable (fs.createReadStream, an S3
 * GetObject body) is one; so is an async generator. Chunks may be any size, down to one byte.
 */
export type ByteSource = AsyncIterable<Uint8Array>;

/** Facts about the bytes that went through `inspectBytes`, complete once the stream has been read to its end. */
export interface ByteDigest {
  /** Hex sha256 of the raw bytes (BOM included), the dataset's content address. */
  sha256: string;
  /** Number of raw bytes. */
  bytes: number;
  /** True once the source has been read to its end (false if reading stopped early). */
  complete: boolean;
}

export type TextFormat = 'csv' | 'ndjson';

/** How many leading bytes are examined before deciding whether the input is text of the expected format. */
const SNIFF_BYTES = 4096;

const MAGIC: readonly (readonly [readonly number[], string])[] = [
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
  [[0x50, 0x4b, 0x03, 0x04], 'a zip archive (an .xlsx workbook is one; export it as CSV)'],
  [[0x1f, 0x8b], 'gzip-compressed (decompress it first)'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed (decompress it first)'],
  [[0x50, 0x41, 0x52, 0x31], 'a Parquet file'],
  [[0x41, 0x52, 0x52, 0x4f, 0x57, 0x31], 'an Arrow IPC file'],
  [[0x7f, 0x45, 0x4c, 0x46], 'an executable (ELF)'],
  [[0xff, 0xfe], 'UTF-16 text (re-save it as UTF-8)'],
  [[0xfe, 0xff], 'UTF-16 text (re-save it as UTF-8)'],
];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((b, i) => bytes[i] === b);
}

/** What the leading bytes look like when they are clearly not the expected text format, else undefined. */
function describeForeign(head: Uint8Array, format: TextFormat): string | undefined {
  for (const [magic, what] of MAGIC) if (startsWith(head, magic)) return what;
  if (head.includes(0)) return 'binary data (it contains NUL bytes)';
  const text = new TextDecoder('utf-8')
    .decode(head)
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('<')) return 'HTML or XML (an error page instead of the data?)';
  if (format === 'csv') {
    if (/^\{\s*"[^"]*"\s*:/.test(text))
      return "a JSON document (use format 'ndjson' for one JSON object per line)";
    if (/^\[\s*[[{"\d\]-]/.test(text)) return 'a JSON array';
  } else if (/^\[/.test(text)) {
    return 'a JSON array (NDJSON has one JSON object per line, with no enclosing brackets)';
  }
  return undefined;
}

/** Length of the longest prefix of `bytes` that ends on a UTF-8 character boundary. */
function completePrefix(bytes: Uint8Array): number {
  // A continuation byte is 10xxxxxx; walk back to the lead byte of the last character and check it is whole.
  let i = bytes.length - 1;
  let back = 0;
  while (i >= 0 && back < 3 && ((bytes[i] ?? 0) & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i < 0) return bytes.length;
  const lead = bytes[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.length - i >= need ? bytes.length : i;
}

function offsetOfInvalid(bytes: Uint8Array): number {
  // Validity of a prefix cut on a character boundary is monotone, so a binary search finds the first bad byte.
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const prefix = bytes.subarray(0, mid);
    if (isUtf8(prefix.subarray(0, completePrefix(prefix)))) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Passes the bytes of `source` through unchanged while it (1) hashes them with sha256 and counts them into
 * `digest`, (2) refuses input that is clearly not `format` text (images, archives, binary, HTML, JSON documents
 * for CSV), and (3) refuses bytes that are not valid UTF-8. Only the first 4 KiB are held back (to look at them
 * before anything is parsed) and at most 3 bytes of an incomplete character after that, so memory stays bounded.
 */
export async function* inspectBytes(
  source: ByteSource,
  format: TextFormat,
  digest: ByteDigest,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  const code = format === 'csv' ? 'not_csv' : 'not_ndjson';
  const what = format === 'csv' ? 'CSV' : 'NDJSON';
  let head: Uint8Array[] | undefined = [];
  let headBytes = 0;
  let carry = new Uint8Array(0);
  let offset = 0;
  digest.bytes = 0;
  digest.complete = false;

  const checkUtf8 = (chunk: Uint8Array, final: boolean): Uint8Array => {
    const joined = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const cut = final ? joined.length : completePrefix(joined);
    const whole = joined.subarray(0, cut);
    if (!isUtf8(whole)) {
      const at = offset + offsetOfInvalid(whole);
      throw new DataError(
        'bad_encoding',
        `the file is not valid UTF-8 text (invalid bytes near byte offset ${at}); re-save it as UTF-8`,
      );
    }
    offset += cut;
    carry = joined.slice(cut);
    return whole;
  };

  const releaseHead = (final: boolean): Uint8Array => {
    const all = Buffer.concat(head ?? []);
    head = undefined;
    const foreign = describeForeign(all.subarray(0, SNIFF_BYTES), format);
    if (foreign !== undefined) throw new DataError(code, `the file is not ${what}: it looks like ${foreign}`);
    return checkUtf8(all, final);
  };

  for await (const chunk of source) {
    hash.update(chunk);
    digest.bytes += chunk.length;
    if (head !== undefined) {
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes < SNIFF_BYTES) continue;
      const first = releaseHead(false);
      if (first.length > 0) yield first;
      continue;
    }
    const whole = checkUtf8(chunk, false);
    if (whole.length > 0) yield whole;
  }
  const last = head !== undefined ? releaseHead(true) : checkUtf8(new Uint8Array(0), true);
  if (last.length > 0) yield last;
  digest.sha256 = hash.digest('hex');
  digest.complete = true;
}

/** A fresh digest to pass to `inspectBytes`. */
export function emptyDigest(): ByteDigest {
  return { sha256: '', bytes: 0, complete: false };
}
