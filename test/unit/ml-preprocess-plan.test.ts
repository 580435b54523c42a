import { describe, expect, it } from 'vitest';
import type { Frame } from '../../ml/frame.js';
import { createOnnxBuilder } from '../../ml/onnx-builder.js';
import {
  categoryBuckets,
  emitPreprocessOnnx,
  fitPreprocessor,
  parsePreprocessPlan,
  transform,
} from '../../ml/preprocess.js';
import { feedsFor } from '../../platform/onnx-scoring.js';
import * as ort from 'onnxruntime-node';

const training: Frame = {
  rowCount: 6,
  columns: [
    { name: 'age', kind: 'numeric', values: Float64Array.of(20, NaN, 40, 30, NaN, 50) },
    { name: 'height', kind: 'numeric', values: Float64Array.of(1, 2, 3, 4, 5, 6) },
    { name: 'const', kind: 'numeric', values: Float64Array.of(7, 7, 7, 7, 7, 7) },
    {
      name: 'city',
      kind: 'categorical',
      codes: Int32Array.of(0, 0, 1, 2, -1, 0),
      categories: ['paris', 'rome', 'oslo', 'lima'],
    },
  ],
};

describe('fitPreprocessor', () => {
  const plan = fitPreprocessor(training);

  it('imputes the median and adds a missing indicator only where training had missing values', () => {
    const [age, height] = plan.columns;
    expect(age).toMatchObject({ kind: 'numeric', median: 35, missingIndicator: true });
    expect(height).toMatchObject({ kind: 'numeric', median: 3.5, missingIndicator: false });
    expect(plan.featureNames.slice(0, 3)).toEqual(['age', 'age__missing', 'height']);
  });

  it('takes medians as numpy does, with ties and odd or even counts', () => {
    const medianOf = (values: number[]): unknown => {
      const frame: Frame = {
        rowCount: values.length,
        columns: [{ name: 'v', kind: 'numeric', values: Float64Array.from(values) }],
      };
      return fitPreprocessor(frame).columns[0];
    };
    expect(medianOf([5, 1, 5, 5, 2])).toMatchObject({ median: 5 });
    expect(medianOf([3, 3, 3, 1])).toMatchObject({ median: 3 });
    expect(medianOf([9, NaN, 1, 4, 7, NaN, 2, 8])).toMatchObject({ median: 5.5, missingIndicator: true });
    expect(medianOf([NaN, NaN])).toMatchObject({ median: 0, mean: 0, scale: 1 });
  });

  it('standardizes imputed values with the population standard deviation, and keeps scale 1 for constants', () => {
    const [age, height, constant] = plan.columns;
    // Imputed age: 20, 35, 40, 30, 35, 50 -> mean 35.
    expect(age).toMatchObject({ mean: 35 });
    const std = Math.sqrt((15 ** 2 + 0 + 5 ** 2 + 5 ** 2 + 0 + 15 ** 2) / 6);
    expect(age!.kind === 'numeric' && age!.scale).toBeCloseTo(std, 5);
    expect(height).toMatchObject({ mean: 3.5 });
    expect(constant).toMatchObject({ mean: 7, scale: 1 });
  });

  it('one-hot encodes seen categories with unknown and missing buckets, dropping unseen dictionary entries', () => {
    const city = plan.columns[3]!;
    expect(city).toEqual({
      kind: 'categorical',
      name: 'city',
      categories: ['paris', 'rome', 'oslo'],
      missingBucket: true,
    });
    expect(plan.featureNames.slice(-5)).toEqual([
      'city=paris',
      'city=rome',
      'city=oslo',
      'city=__unknown__',
      'city=__missing__',
    ]);
    expect(plan.width).toBe(plan.featureNames.length);
  });

  it('folds rare categories into the unknown bucket and caps the category count', () => {
    const rare = fitPreprocessor(training, { minCategoryCount: 2 }).columns[3]!;
    expect(rare.kind === 'categorical' && rare.categories).toEqual(['paris']);
    const capped = fitPreprocessor(training, { maxCategories: 2 }).columns[3]!;
    expect(capped.kind === 'categorical' && capped.categories).toEqual(['paris', 'rome']);
  });

  it('can skip standardization and missing indicators (for trees)', () => {
    const raw = fitPreprocessor(training, { standardize: false, missingIndicators: false });
    expect(raw.columns[0]).toMatchObject({ mean: 0, scale: 1, missingIndicator: false });
    const m = transform(raw, training);
    expect(m.matrix[0]).toBe(20);
    expect(m.matrix[m.width]).toBe(35);
  });

  it('rejects bad options, naming the option', () => {
    expect(() => fitPreprocessor(training, { minCategoryCount: 0 })).toThrow(/minCategoryCount/);
    expect(() => fitPreprocessor(training, { standardise: true } as never)).toThrow(/option/);
  });

  it('rejects empty frames, duplicated columns and infinite values', () => {
    expect(() => fitPreprocessor({ rowCount: 0, columns: training.columns })).toThrow(/no rows/);
    expect(() => fitPreprocessor({ rowCount: 6, columns: [] })).toThrow(/no feature columns/);
    expect(() =>
      fitPreprocessor({ rowCount: 6, columns: [training.columns[1]!, training.columns[1]!] }),
    ).toThrow(/twice/);
    const clash: Frame = {
      rowCount: 1,
      columns: [{ name: 'label', kind: 'numeric', values: Float64Array.of(1) }],
    };
    expect(() => fitPreprocessor(clash)).toThrow(/"label" has the name of an ONNX model output/);
    const inf: Frame = {
      rowCount: 2,
      columns: [{ name: 'x', kind: 'numeric', values: Float64Array.of(1, Infinity) }],
    };
    expect(() => fitPreprocessor(inf)).toThrow(/"x" has Infinity at row 1/);
    const huge: Frame = {
      rowCount: 2,
      columns: [{ name: 'x', kind: 'numeric', values: Float64Array.of(1, 1e39) }],
    };
    expect(() => fitPreprocessor(huge)).toThrow(/"x" has 1e\+39 at row 1; expected finite float32/);
  });
});

describe('transform', () => {
  const plan = fitPreprocessor(training);

  it('builds the row-major design matrix', () => {
    const m = transform(plan, training);
    expect(m.rowCount).toBe(6);
    expect(m.matrix.length).toBe(6 * plan.width);
    const row1 = Array.from(m.matrix.subarray(plan.width, 2 * plan.width));
    // age missing -> imputed 35 -> standardized 0, indicator 1; city = paris.
    expect(row1.slice(0, 2)).toEqual([0, 1]);
    expect(row1.slice(-5)).toEqual([1, 0, 0, 0, 0]);
    const row4 = Array.from(m.matrix.subarray(4 * plan.width, 5 * plan.width));
    expect(row4.slice(-5)).toEqual([0, 0, 0, 0, 1]);
  });

  it('matches categories by string, so a frame with another dictionary maps the same', () => {
    const other: Frame = {
      rowCount: 3,
      columns: training.columns.map((c) =>
        c.kind === 'categorical'
          ? { ...c, codes: Int32Array.of(0, 1, 2), categories: ['oslo', 'paris', 'tokyo'] }
          : { ...c, values: c.values.subarray(0, 3) },
      ),
    };
    const city = plan.columns[3]!;
    if (city.kind !== 'categorical') throw new Error('expected categorical');
    expect(Array.from(categoryBuckets(city, other.columns[3]!))).toEqual([2, 0, 3]);
  });

  it('fails clearly on a missing column or a column of the wrong kind', () => {
    const missing: Frame = { rowCount: 6, columns: training.columns.slice(1) };
    expect(() => transform(plan, missing)).toThrow(/column "age" not found/);
    const wrongKind: Frame = {
      rowCount: 6,
      columns: [
        { name: 'age', kind: 'categorical', codes: new Int32Array(6), categories: ['a'] },
        ...training.columns.slice(1),
      ],
    };
    expect(() => transform(plan, wrongKind)).toThrow(/"age" must be numeric/);
  });
});

describe('plan JSON', () => {
  it('survives a JSON round trip and is validated when read back', () => {
    const plan = fitPreprocessor(training);
    const back = parsePreprocessPlan(JSON.parse(JSON.stringify(plan)));
    expect(back).toEqual(plan);
    expect(() => parsePreprocessPlan({ ...plan, width: plan.width + 1 })).toThrow(/width/);
    const broken = JSON.parse(JSON.stringify(plan)) as { columns: Array<Record<string, unknown>> };
    broken.columns[0]!.scale = -1;
    expect(() => parsePreprocessPlan(broken)).toThrow(/columns\.0\.scale/);
  });
});

describe('emitPreprocessOnnx', () => {
  it('computes the same matrix in onnxruntime as transform in JS, for NaN, missing and unseen values', async () => {
    const plan = fitPreprocessor(training);
    const builder = createOnnxBuilder('preprocess_only');
    const out = emitPreprocessOnnx(builder, plan);
    builder.output(out, 'float', ['N', plan.width]);
    const scoring: Frame = {
      rowCount: 4,
      columns: [
        { name: 'age', kind: 'numeric', values: Float64Array.of(NaN, 33.3, -5, 1e4) },
        { name: 'height', kind: 'numeric', values: Float64Array.of(NaN, 2.5, 0, 1) },
        { name: 'const', kind: 'numeric', values: Float64Array.of(7, 8, NaN, 7) },
        {
          name: 'city',
          kind: 'categorical',
          codes: Int32Array.of(-1, 0, 1, 2),
          categories: ['tokyo', 'oslo', 'rome'],
        },
      ],
    };
    const session = await ort.InferenceSession.create(builder.toBytes());
    const result = await session.run(feedsFor(session, scoring));
    await session.release();
    const tensor = result[out]!;
    expect(tensor.dims).toEqual([4, plan.width]);
    const expected = transform(plan, scoring).matrix;
    const actual = tensor.data as Float32Array;
    // float32 arithmetic in the graph: compare with a relative tolerance (values reach ~1e3 here).
    for (let i = 0; i < expected.length; i++) {
      expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(expected[i]!)),
      );
    }
    // Row 1 is an unseen category: exactly the unknown bucket is set.
    expect(Array.from(actual.subarray(plan.width + plan.width - 5, 2 * plan.width))).toEqual([0, 0, 0, 1, 0]);
  });
});
