import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { CategoricalColumn, Frame, NumericColumn } from '../../ml/frame.js';
import { decodeFrameFromArrow, encodeFrameToArrow } from '../../ml/ingest/arrow-codec.js';
import { DataError } from '../../ml/ingest/data-error.js';
import { readDataset } from '../../ml/ingest/read-frame.js';
import { fixture, fixturePath } from './ml-ingest-sources.js';

const frame: Frame = {
  rowCount: 5,
  columns: [
    { name: 'x', kind: 'numeric', values: Float64Array.from([1.5, NaN, -0, 1e300, -Infinity]) },
    {
      name: 'city',
      kind: 'categorical',
      codes: Int32Array.from([1, -1, 0, 1, 2]),
      categories: ['Oslo', 'Bergen', 'Tromsø'],
    },
    // A name that would reorder in a plain JS object, and a column of nothing but missing values.
    { name: '10', kind: 'categorical', codes: Int32Array.from([-1, -1, -1, -1, -1]), categories: [] },
  ],
};

describe('Arrow codec', () => {
  it('round-trips a frame: values, missing values, categories and column order', () => {
    const bytes = encodeFrameToArrow(frame);
    expect(Buffer.from(bytes.subarray(0, 6)).toString('latin1')).toBe('ARROW1');
    const back = decodeFrameFromArrow(bytes);
    expect(back.rowCount).toBe(5);
    expect(back.columns.map((c) => c.name)).toEqual(['x', 'city', '10']);
    expect([...(back.columns[0] as NumericColumn).values]).toEqual([1.5, NaN, -0, 1e300, -Infinity]);
    const city = back.columns[1] as CategoricalColumn;
    expect(city.categories).toEqual(['Oslo', 'Bergen', 'Tromsø']);
    expect([...city.codes]).toEqual([1, -1, 0, 1, 2]);
    expect([...(back.columns[2] as CategoricalColumn).codes]).toEqual([-1, -1, -1, -1, -1]);
  });

  it('writes Float64 and Dictionary<Utf8, Int32> columns with nulls for missing values', () => {
    const table = tableFromIPC(encodeFrameToArrow(frame));
    expect(String(table.schema.fields[0]?.type)).toBe('Float64');
    expect(String(table.schema.fields[1]?.type)).toBe('Dictionary<Int32, Utf8>');
    expect(table.getChild('x')?.nullCount).toBe(1);
    expect(table.getChild('city')?.get(1)).toBeNull();
    expect(table.getChild('city')?.get(4)).toBe('Tromsø');
  });

  it('round-trips a frame read from CSV', async () => {
    const { frame: read } = await readDataset(() => fixture('rfc4180.csv'));
    const back = decodeFrameFromArrow(encodeFrameToArrow(read));
    expect(back).toEqual(read);
  });

  it('decodes a file written by pyarrow (int64, string, bool, dictionary, float32 with nulls)', () => {
    // test/fixtures/data/pyarrow-mixed.arrow was written with pyarrow 26:
    // pa.table({'i64': pa.array([1, None, 3], pa.int64()), 's': pa.array(['a', None, 'b']),
    //   'b': pa.array([True, False, None]), 'd': pa.array(['x', 'y', 'x']).dictionary_encode(),
    //   'f32': pa.array([0.5, None, 2.0], pa.float32())}); feather.write_feather(t, path, compression='uncompressed')
    const decoded = decodeFrameFromArrow(readFileSync(fixturePath('pyarrow-mixed.arrow')));
    const [i64, s, b, d, f32] = decoded.columns as [
      NumericColumn,
      CategoricalColumn,
      CategoricalColumn,
      CategoricalColumn,
      NumericColumn,
    ];
    expect([...i64.values]).toEqual([1, NaN, 3]);
    expect([...s.codes].map((c) => s.categories[c] ?? null)).toEqual(['a', null, 'b']);
    expect([...b.codes].map((c) => b.categories[c] ?? null)).toEqual(['true', 'false', null]);
    expect(d.categories).toEqual(['x', 'y']);
    expect([...d.codes]).toEqual([0, 1, 0]);
    expect([...f32.values]).toEqual([0.5, NaN, 2]);
  });

  it('refuses bytes that are not Arrow', () => {
    expect(() => decodeFrameFromArrow(Buffer.from('a,b\n1,2\n'))).toThrow(DataError);
  });
});
