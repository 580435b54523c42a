import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CategoricalColumn, Frame, NumericColumn } from '../../ml/frame.js';
import { DataError } from '../../ml/ingest/data-error.js';
import { readDataset, readFrame } from '../../ml/ingest/read-frame.js';
import { fixture, fixturePath } from './ml-ingest-sources.js';

// The files come from test/fixtures/make_parquet.py (pyarrow); see its docstring for what each holds.
const parquet = { format: 'parquet' as const };

function num(frame: Frame, name: string): number[] {
  return [...(frame.columns.find((c) => c.name === name) as NumericColumn).values];
}

function text(frame: Frame, name: string): (string | null)[] {
  const c = frame.columns.find((x) => x.name === name) as CategoricalColumn;
  return [...c.codes].map((code) => (code < 0 ? null : c.categories[code]!));
}

async function failure(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('Parquet ingest', () => {
  it('reads every row group: int64, float with nulls, bool, timestamp, dictionary-encoded and plain strings', async () => {
    const { frame, schema, stats, inferred } = await readDataset(
      () => fixture('mixed.parquet', 4096),
      parquet,
    );
    expect(schema.columns).toEqual([
      { name: 'id', type: 'numeric' },
      { name: 'price', type: 'numeric' },
      { name: 'flag', type: 'boolean' },
      { name: 'seen', type: 'numeric' },
      { name: 'city', type: 'categorical' },
      { name: 'note', type: 'categorical' },
      { name: 'label', type: 'numeric' },
    ]);
    expect(frame.rowCount).toBe(1000);
    const ids = num(frame, 'id');
    expect(ids.slice(0, 3)).toEqual([0, 1, 2]);
    // Rows 250, 500 and 750 open the 2nd, 3rd and 4th row groups.
    expect([ids[249], ids[250], ids[999]]).toEqual([249, 250, 999]);
    const price = num(frame, 'price');
    expect(price[0]).toBeNaN();
    expect(price[1]).toBe(-9.75);
    expect(price.filter(Number.isNaN)).toHaveLength(Math.ceil(1000 / 17));
    expect(text(frame, 'flag').slice(0, 4)).toEqual([null, 'false', 'false', 'true']);
    expect(num(frame, 'seen')[1]).toBe(1_600_000_000_000 + 60_000);
    expect(text(frame, 'city').slice(0, 4)).toEqual([null, 'Bergen', 'Tromsø', 'Oslo']);
    expect((frame.columns.find((c) => c.name === 'city') as CategoricalColumn).categories).toEqual([
      'Bergen',
      'Oslo',
      'Tromsø',
    ]);
    expect(text(frame, 'note')[8]).toBe('n1');
    expect(stats.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(fixturePath('mixed.parquet')))
        .digest('hex'),
    );
    expect(inferred?.columns.find((c) => c.name === 'city')?.missing).toBe(Math.ceil(1000 / 11));
  });

  it('builds a declared schema in its order and types', async () => {
    const { frame } = await readFrame(
      fixture('mixed.parquet', 4096),
      {
        columns: [
          { name: 'label', type: 'categorical' },
          { name: 'price', type: 'numeric' },
        ],
        allowExtraColumns: true,
      },
      parquet,
    );
    expect(frame.columns.map((c) => c.name)).toEqual(['label', 'price']);
    expect(text(frame, 'label').slice(0, 3)).toEqual(['0', '1', '0']);
  });

  it('reports a string column of mostly numbers with text in it, naming the column, share and rows', async () => {
    const error = await failure(readDataset(() => fixture('text-in-numeric.parquet'), parquet));
    expect(error.code).toBe('type_error_rate');
    expect(error.column).toBe('period');
    expect(error.row).toBe(1);
    expect(error.message).toContain('60 of its values (30.0% of the non-missing ones)');
    expect(error.message).toContain('"high" (row 1)');
  });

  it('refuses a nested column by name, and bytes that are not Parquet', async () => {
    const nested = await failure(readDataset(() => fixture('nested.parquet'), parquet));
    expect(nested.code).toBe('bad_parquet_type');
    expect(nested.column).toBe('tags');
    const csv = await failure(readDataset(() => fixture('rfc4180.csv'), parquet));
    expect(csv.code).toBe('not_parquet');
    expect(csv.message).toMatch(/PAR1/);
  });
});
