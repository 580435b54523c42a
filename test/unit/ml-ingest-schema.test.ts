import { describe, expect, it } from 'vitest';
import type { CategoricalColumn, Frame, NumericColumn } from '../../ml/frame.js';
import { DataError } from '../../ml/ingest/data-error.js';
import { inferSchema } from '../../ml/ingest/infer-schema.js';
import { binaryLabels, splitTarget } from '../../ml/ingest/labels.js';
import { readDataset, readFrame } from '../../ml/ingest/read-frame.js';
import type { DatasetSchema } from '../../domain/dataset-schema.js';
import { chunks, fixture } from './ml-ingest-sources.js';

function num(frame: Frame, name: string): number[] {
  return [...(frame.columns.find((x) => x.name === name) as NumericColumn).values];
}

function cat(frame: Frame, name: string): CategoricalColumn {
  return frame.columns.find((x) => x.name === name) as CategoricalColumn;
}

async function failure(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('schema inference', () => {
  it('infers numeric, categorical and boolean columns and the usual missing tokens', async () => {
    const csv = 'n,c,b,m\n1,x,true,NA\n2.5,y,False,?\n-3e2,x,,null\n,z,TRUE,\n';
    const inferred = await inferSchema(chunks(csv));
    expect(inferred.schema.columns).toEqual([
      { name: 'n', type: 'numeric' },
      { name: 'c', type: 'categorical' },
      { name: 'b', type: 'boolean' },
      { name: 'm', type: 'numeric' },
    ]);
    expect(inferred.rowCount).toBe(4);
    expect(inferred.columns.find((c) => c.name === 'm')?.missing).toBe(4);
    expect(inferred.columns.find((c) => c.name === 'c')?.distinct).toBe(3);
  });

  it('builds typed columns: NaN and -1 for missing, sorted categories, booleans as false/true', async () => {
    const csv = 'n,c,b\n1,x,true\n2.5, y ,False\nNaN,x,\n4,,TRUE\n';
    const { frame } = await readDataset(() => chunks(csv, 3));
    expect(num(frame, 'n')).toEqual([1, 2.5, NaN, 4]);
    expect(cat(frame, 'c').categories).toEqual(['x', 'y']);
    expect([...cat(frame, 'c').codes]).toEqual([0, 1, 0, -1]);
    expect(cat(frame, 'b').categories).toEqual(['false', 'true']);
    expect([...cat(frame, 'b').codes]).toEqual([1, 0, -1, 1]);
  });

  it('reads inf and Infinity as infinite numbers, not as text', async () => {
    const { frame } = await readDataset(() => chunks('x\n1\ninf\n-Infinity\n'));
    expect(num(frame, 'x')).toEqual([1, Infinity, -Infinity]);
  });

  it('refuses a numeric column with more non-numbers than allowed, naming column, share and examples', async () => {
    const error = await failure(readDataset(() => fixture('text-in-numeric.csv', 256)));
    expect(error.code).toBe('type_error_rate');
    expect(error.column).toBe('income');
    expect(error.row).toBe(8);
    expect(error.message).toContain('10 of its values (5.00%');
    expect(error.message).toContain('"unknown" (row 8)');
    expect(error.message).toMatch(/categorical/);
  });

  it('turns a few non-numbers into missing values with a warning when within the allowed share', async () => {
    const { frame, stats } = await readDataset(() => fixture('text-in-numeric-few.csv', 256));
    const income = num(frame, 'income');
    expect(income[41]).toBeNaN();
    expect(income.filter(Number.isNaN)).toHaveLength(1);
    const column = stats.columns.find((c) => c.name === 'income');
    expect(column?.parseErrors).toBe(1);
    expect(column?.badValues).toEqual([{ row: 42, value: 'n.a.' }]);
    expect(stats.warnings).toHaveLength(1);
    expect(stats.warnings[0]?.code).toBe('type_errors_to_missing');
    expect(stats.warnings[0]?.message).toContain('"n.a." (row 42)');
  });

  it('lets maxTypeErrorRate be raised', async () => {
    const { frame } = await readDataset(() => fixture('text-in-numeric.csv', 256), { maxTypeErrorRate: 0.1 });
    expect(num(frame, 'income').filter(Number.isNaN)).toHaveLength(10);
  });

  it('treats a mostly-text column as categorical', async () => {
    const { schema } = await readDataset(() => chunks('v\n1\na\nb\nc\n'));
    expect(schema.columns[0]?.type).toBe('categorical');
  });
});

describe('explicit schema', () => {
  const schema: DatasetSchema = {
    columns: [
      { name: 'label', type: 'numeric' },
      { name: 'age', type: 'numeric', min: 0, max: 120 },
      { name: 'city', type: 'categorical', categories: ['Oslo', 'Bergen'] },
    ],
  };

  it('builds the columns in schema order, declared categories first', async () => {
    const { frame } = await readFrame(
      chunks('age,city,label\n31,Oslo,1\n45,Trondheim,0\n52,Bergen,1\n', 2),
      schema,
    );
    expect(frame.columns.map((c) => c.name)).toEqual(['label', 'age', 'city']);
    expect(cat(frame, 'city').categories).toEqual(['Oslo', 'Bergen', 'Trondheim']);
    expect([...cat(frame, 'city').codes]).toEqual([0, 2, 1]);
  });

  it('refuses a file that lacks a declared column, naming it', async () => {
    const error = await failure(readFrame(chunks('age,label\n31,1\n'), schema));
    expect(error.code).toBe('missing_column');
    expect(error.column).toBe('city');
  });

  it('refuses undeclared columns unless allowExtraColumns', async () => {
    const csv = 'age,city,label,zip\n31,Oslo,1,0150\n';
    const error = await failure(readFrame(chunks(csv), schema));
    expect(error.code).toBe('unexpected_column');
    expect(error.message).toContain('"zip"');
    const { frame, stats } = await readFrame(chunks(csv), { ...schema, allowExtraColumns: true });
    expect(frame.columns).toHaveLength(3);
    expect(stats.warnings.map((w) => w.code)).toEqual(['extra_columns_skipped']);
  });

  it('refuses a schema that contradicts itself', async () => {
    const bad = { columns: [{ name: 'a', type: 'numeric', min: 5, max: 1 }] } as DatasetSchema;
    const error = await failure(readFrame(chunks('a\n1\n'), bad));
    expect(error.code).toBe('bad_schema');
    expect(error.message).toMatch(/min/);
  });

  it('uses the schema missing tokens instead of the defaults', async () => {
    const { frame } = await readFrame(
      chunks('a\n1\n-\nNA\n'),
      { columns: [{ name: 'a', type: 'numeric' }], missingTokens: ['-'] },
      {
        maxTypeErrorRate: 0.5,
      },
    );
    expect(num(frame, 'a')).toEqual([1, NaN, NaN]);
  });

  it('refuses a categorical column with more distinct values than maxCategories', async () => {
    const csv = 'id\n' + Array.from({ length: 20 }, (_, i) => `u${i}`).join('\n');
    const error = await failure(
      readFrame(chunks(csv, 16), { columns: [{ name: 'id', type: 'categorical' }] }, { maxCategories: 10 }),
    );
    expect(error.code).toBe('too_many_categories');
    expect(error.row).toBe(11);
  });
});

describe('labels', () => {
  it('reads 0/1, false/true and an explicit positive class', async () => {
    const { frame } = await readDataset(() => chunks('y,b,s\n1,true,>50K\n0,false,<=50K\n1,false,>50K\n'));
    expect([...binaryLabels(frame.columns[0]!)]).toEqual([1, 0, 1]);
    expect([...binaryLabels(frame.columns[1]!)]).toEqual([1, 0, 0]);
    expect([...binaryLabels(frame.columns[2]!, '>50K')]).toEqual([1, 0, 1]);
    const { features, labels } = splitTarget(frame, 's', '>50K');
    expect(features.columns.map((c) => c.name)).toEqual(['y', 'b']);
    expect([...labels]).toEqual([1, 0, 1]);
  });

  it('refuses missing labels, a single class, and an unknown positive class', async () => {
    const { frame } = await readDataset(() => fixture('nan-label.csv'));
    expect(() => binaryLabels(frame.columns[1]!)).toThrow(/row 3 is NaN/);
    const one = await readDataset(() => fixture('one-class.csv'));
    expect(() => binaryLabels(one.frame.columns[2]!)).toThrow(/exactly 2 classes, found 1/);
    const text = await readDataset(() => chunks('s\na\nb\n'));
    expect(() => binaryLabels(text.frame.columns[0]!)).toThrow(/set positiveLabel/);
    expect(() => binaryLabels(text.frame.columns[0]!, 'c')).toThrow(/"c" does not occur/);
  });
});
