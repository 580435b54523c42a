import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CategoricalColumn, NumericColumn } from '../../ml/frame.js';
import { DataError } from '../../ml/ingest/data-error.js';
import { openNdjson } from '../../ml/ingest/ndjson-reader.js';
import { readDataset, readFrame } from '../../ml/ingest/read-frame.js';
import { chunks, fixture } from './ml-ingest-sources.js';

async function failure(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

const ndjson = { format: 'ndjson' } as const;

describe('NDJSON ingest', () => {
  it('reads one object per line, CRLF and blank lines, keys appearing late, null and absent keys as missing', async () => {
    const { frame, schema } = await readDataset(() => fixture('good.ndjson', 5), ndjson);
    expect(schema.columns).toEqual([
      { name: 'age', type: 'numeric' },
      { name: 'city', type: 'categorical' },
      { name: 'member', type: 'boolean' },
      { name: 'label', type: 'numeric' },
      { name: 'extra', type: 'categorical' },
    ]);
    expect(frame.rowCount).toBe(3);
    const age = frame.columns[0] as NumericColumn;
    expect([...age.values]).toEqual([31, 45, 52]);
    const city = frame.columns[1] as CategoricalColumn;
    expect([...city.codes].map((c) => (c < 0 ? null : city.categories[c]))).toEqual(['Oslo', null, 'Bergen']);
    const member = frame.columns[2] as CategoricalColumn;
    expect([...member.codes]).toEqual([1, 0, -1]);
    const extra = frame.columns[4] as CategoricalColumn;
    expect([...extra.codes]).toEqual([-1, -1, 0]);
  });

  it('numbers rows and lines (blank lines count as lines, not rows)', async () => {
    const reader = await openNdjson(chunks('{"a":1}\n\n{"a":2}\n'));
    const seen: [number, number][] = [];
    for await (const row of reader.rows) seen.push([row.row, row.line]);
    expect(seen).toEqual([
      [1, 1],
      [2, 3],
    ]);
  });

  it('refuses a line that is not JSON, naming the row', async () => {
    const error = await failure(readDataset(() => chunks('{"a":1}\n{"a":2\n'), ndjson));
    expect(error.code).toBe('bad_json');
    expect(error.row).toBe(2);
  });

  it('refuses a pretty-printed JSON document with a hint', async () => {
    const error = await failure(readDataset(() => fixture('json-document.json'), ndjson));
    expect(error.code).toBe('bad_json');
    expect(error.message).toMatch(/pretty-printed/);
  });

  it('refuses a JSON array as not NDJSON', async () => {
    const error = await failure(readDataset(() => chunks('[{"a":1},{"a":2}]'), ndjson));
    expect(error.code).toBe('not_ndjson');
  });

  it('refuses a line that is an array or holds a nested object', async () => {
    expect((await failure(readDataset(() => chunks('{"a":1}\n[1]\n'), ndjson))).message).toMatch(
      /row 2.*an array/,
    );
    const nested = await failure(readDataset(() => chunks('{"a":{"b":1}}\n'), ndjson));
    expect(nested.column).toBe('a');
    expect(nested.message).toMatch(/flat/);
  });

  it('refuses an empty file and binary bytes', async () => {
    expect((await failure(readDataset(() => chunks('\n\n'), ndjson))).code).toBe('empty_file');
    expect((await failure(readDataset(() => fixture('image.png'), ndjson))).code).toBe('not_ndjson');
  });

  it('refuses a line longer than maxLineBytes while it is still arriving', async () => {
    let pulled = 0;
    function* endless(): Generator<Uint8Array> {
      yield Buffer.from('{"a":1}\n{"a":"');
      for (;;) {
        pulled++;
        yield Buffer.from('x'.repeat(100));
        if (pulled > 10_000) throw new Error('the reader kept reading');
      }
    }
    const error = await failure(
      readDataset(() => Readable.from(endless()), { ...ndjson, maxLineBytes: 1000 }),
    );
    expect(error.code).toBe('line_too_long');
    expect(error.row).toBe(2);
    expect(pulled).toBeLessThan(100);
  });

  it('refuses keys outside an explicit schema unless extra columns are allowed', async () => {
    const schema = { columns: [{ name: 'a', type: 'numeric' as const }] };
    const error = await failure(readFrame(chunks('{"a":1,"b":2}\n'), schema, ndjson));
    expect(error.code).toBe('unexpected_column');
    expect(error.column).toBe('b');
    const { frame } = await readFrame(
      chunks('{"a":1,"b":2}\n{"b":3}\n'),
      { ...schema, allowExtraColumns: true },
      ndjson,
    );
    expect([...(frame.columns[0] as NumericColumn).values]).toEqual([1, NaN]);
  });
});
