import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { CategoricalColumn, Frame, NumericColumn } from '../../ml/frame.js';
import { openCsv } from '../../ml/ingest/csv-reader.js';
import { DataError, type DataErrorCode } from '../../ml/ingest/data-error.js';
import { readDataset } from '../../ml/ingest/read-frame.js';
import type { RawRow } from '../../ml/ingest/tabular.js';
import { chunks, fixture, fixturePath } from './ml-ingest-sources.js';

function num(frame: Frame, name: string): number[] {
  const c = frame.columns.find((x) => x.name === name) as NumericColumn;
  return [...c.values];
}

function text(frame: Frame, name: string): (string | null)[] {
  const c = frame.columns.find((x) => x.name === name) as CategoricalColumn;
  return [...c.codes].map((code) => (code < 0 ? null : c.categories[code]!));
}

async function readAll(source: AsyncIterable<Uint8Array>, options = {}): Promise<RawRow[]> {
  const reader = await openCsv(source, options);
  const rows: RawRow[] = [];
  for await (const row of reader.rows) rows.push(row);
  return rows;
}

async function failure(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

async function expectCode(name: string, code: DataErrorCode, options = {}): Promise<DataError> {
  const error = await failure(readDataset(() => fixture(name), options));
  expect(error.code).toBe(code);
  return error;
}

describe('CSV ingest, RFC 4180', () => {
  it('reads quotes, doubled quotes, embedded delimiters and CRLF newlines, a BOM and no final newline', async () => {
    for (const open of [() => fixture('rfc4180.csv', 1), () => fixture('rfc4180.csv', 64)]) {
      const { frame, schema, stats } = await readDataset(open);
      expect(schema.columns.map((c) => [c.name, c.type])).toEqual([
        ['id', 'numeric'],
        ['name', 'categorical'],
        ['comment', 'categorical'],
        ['score', 'numeric'],
      ]);
      expect(frame.rowCount).toBe(4);
      expect(num(frame, 'id')).toEqual([1, 2, 3, 4]);
      expect(text(frame, 'name')).toEqual(['Smith, John', 'Ann', null, 'Bob']);
      expect(text(frame, 'comment')).toEqual(['He said "hi"', 'line one\r\nline two', null, 'plain']);
      expect(num(frame, 'score')).toEqual([0.5, 0.001, NaN, -2]);
      expect(stats.sha256).toBe(
        createHash('sha256')
          .update(readFileSync(fixturePath('rfc4180.csv')))
          .digest('hex'),
      );
      expect(stats.bytes).toBe(readFileSync(fixturePath('rfc4180.csv')).length);
    }
  });

  it('decodes multi-byte UTF-8 characters split across 1-byte chunks', async () => {
    const rows = await readAll(chunks('name,city\nJosé,Málaga\n張,東京\n'));
    expect(rows.map((r) => r.cells)).toEqual([
      ['José', 'Málaga'],
      ['張', '東京'],
    ]);
  });

  it('numbers rows from 1 after the header and reports the line each row ends on', async () => {
    const rows = await readAll(chunks('a,b\n1,"x\ny"\n\n2,z\n', 3));
    expect(rows.map((r) => [r.row, r.line])).toEqual([
      [1, 3],
      [2, 5],
    ]);
  });

  it('honours another delimiter', async () => {
    const { frame } = await readDataset(() => chunks('a;b\n1,5;x\n2,5;y\n'), { delimiter: ';' });
    expect(text(frame, 'a')).toEqual(['1,5', '2,5']);
  });
});

describe('CSV ingest, bad files', () => {
  it('refuses an empty file', async () => {
    const error = await expectCode('empty.csv', 'empty_file');
    expect(error.message).toMatch(/empty/);
  });

  it('refuses a file with only newlines as empty', async () => {
    expect((await failure(readDataset(() => chunks('\n\r\n\n')))).code).toBe('empty_file');
  });

  it('refuses a header without rows, naming the columns it saw', async () => {
    const error = await expectCode('header-only.csv', 'header_only');
    expect(error.message).toContain('age, income, label');
  });

  it('refuses a ragged row, naming its row and line and the expected field count', async () => {
    const error = await expectCode('ragged.csv', 'ragged_row');
    expect(error.row).toBe(2);
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/row 2 \(line 3\) has 2 fields; the header has 3/);
  });

  it('refuses duplicated column names, naming them and their positions', async () => {
    const error = await expectCode('duplicate-columns.csv', 'duplicate_columns');
    expect(error.column).toBe('age');
    expect(error.message).toContain('"age" (columns 1, 3)');
  });

  it('refuses an empty column name and hints at a pandas index', async () => {
    const error = await failure(readDataset(() => chunks(',a\n0,1\n')));
    expect(error.code).toBe('bad_header');
    expect(error.message).toMatch(/index=False/);
  });

  it('refuses a line longer than maxLineBytes, naming the row', async () => {
    const error = await expectCode('long-line.csv', 'line_too_long', { maxLineBytes: 100 });
    expect(error.row).toBe(3);
    expect(error.message).toMatch(/row 3/);
    expect(error.message).toMatch(/100 bytes/);
    // Within the limit the same file reads fine.
    const { frame } = await readDataset(() => fixture('long-line.csv'), { maxLineBytes: 1000 });
    expect(frame.rowCount).toBe(4);
  });

  it('refuses a record just over the limit, counting its line ending', async () => {
    // "1,abcdefgh\n" is 11 bytes.
    const ok = await readAll(chunks('a,b\n1,abcdefgh\n'), { maxLineBytes: 11 });
    expect(ok).toHaveLength(1);
    const error = await failure(readAll(chunks('a,b\n1,abcdefgh\n'), { maxLineBytes: 10 }));
    expect(error.code).toBe('line_too_long');
    expect(error.row).toBe(1);
  });

  it('stops an unclosed quote at maxLineBytes instead of reading the rest of the file into one value', async () => {
    const body = 'a,b\n1,"oops\n' + '2,fine\n'.repeat(1000);
    const error = await failure(readAll(chunks(body, 512), { maxLineBytes: 200 }));
    expect(error.code).toBe('line_too_long');
    expect(error.row).toBe(1);
    expect(error.message).toMatch(/unclosed quote/);
  });

  it('refuses an unclosed quote at the end of the file', async () => {
    const error = await failure(readAll(chunks('a,b\n1,"x\n2,y\n')));
    expect(error.code).toBe('bad_quote');
    expect(error.row).toBe(1);
  });

  it('refuses text after a closing quote, naming the row', async () => {
    const error = await failure(readAll(chunks('a,b\n1,2\n3,"4"5\n')));
    expect(error.code).toBe('bad_quote');
    expect(error.row).toBe(2);
  });

  it.each([
    ['image.png', /PNG image/],
    ['json-document.json', /JSON document/],
    ['page.html', /HTML/],
  ])('refuses %s as not CSV, saying what it looks like', async (name, what) => {
    const error = await expectCode(name, 'not_csv');
    expect(error.message).toMatch(what);
  });

  it('refuses arbitrary binary bytes as not CSV', async () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256);
    const error = await failure(readDataset(() => chunks(bytes, 16)));
    expect(error.code).toBe('not_csv');
    expect(error.message).toMatch(/binary/);
  });

  it('refuses a zip archive (an .xlsx) as not CSV', async () => {
    const error = await failure(
      readDataset(() => chunks(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]))),
    );
    expect(error.message).toMatch(/xlsx/);
  });

  it('refuses bytes that are not UTF-8, with the offset', async () => {
    const error = await expectCode('latin1.csv', 'bad_encoding');
    expect(error.message).toMatch(/UTF-8.*offset 1[0-9]/);
  });

  it('refuses invalid UTF-8 far past the first 4 KiB', async () => {
    const good = Buffer.from('a,b\n' + '1,2\n'.repeat(5000));
    const bytes = Buffer.concat([good, Buffer.from([0x33, 0x2c, 0xff, 0x0a])]);
    const error = await failure(readDataset(() => chunks(bytes, 1000)));
    expect(error.code).toBe('bad_encoding');
  });

  it('refuses more rows than maxRows', async () => {
    const error = await failure(readDataset(() => chunks('a\n1\n2\n3\n', 4), { maxRows: 2 }));
    expect(error.code).toBe('too_many_rows');
    expect(error.row).toBe(3);
  });
});

describe('CSV ingest, streaming', () => {
  it('yields the first rows before the source is exhausted (nothing buffers the whole input)', async () => {
    let pulled = 0;
    const total = 2000;
    function* lazy(): Generator<Uint8Array> {
      yield Buffer.from('x,y\n');
      for (let i = 0; i < total; i++) {
        pulled++;
        yield Buffer.from(`${i},${'v'.repeat(40)}\n`);
      }
    }
    const reader = await openCsv(Readable.from(lazy()));
    let seen = 0;
    for await (const row of reader.rows) {
      seen = row.row;
      if (seen === 10) break;
    }
    expect(seen).toBe(10);
    // Bounded read-ahead (the sniff window plus stream buffers), far from the whole input.
    expect(pulled).toBeLessThan(total / 2);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    function* source(): Generator<Uint8Array> {
      try {
        yield Buffer.from('x\n');
        for (let i = 0; i < 100_000; i++) yield Buffer.from(`${i}\n`);
      } finally {
        closed = true;
      }
    }
    const reader = await openCsv(Readable.from(source()));
    for await (const row of reader.rows) if (row.row === 3) break;
    await vi.waitFor(() => expect(closed).toBe(true));
  });

  it('hashes exactly the bytes it was given, whatever the chunking', async () => {
    const body = '\ufeffa,b\r\n1,"x,y"\r\n2,z';
    const expected = createHash('sha256').update(Buffer.from(body)).digest('hex');
    for (const size of [1, 2, 5, 100]) {
      const { stats } = await readDataset(() => chunks(body, size));
      expect(stats.sha256).toBe(expected);
    }
  });
});
