import { describe, expect, it } from 'vitest';
import type { Column, Frame } from '../../ml/frame.js';
import { readDataset } from '../../ml/ingest/read-frame.js';
import { validateFrame, type ValidateOptions } from '../../ml/validation/checks.js';
import type { CheckName, CheckResult, ValidationReport } from '../../domain/validation-rules.js';
import { chunks, fixture } from './ml-ingest-sources.js';

const loose = { minRows: 1 };

function numeric(name: string, values: number[]): Column {
  return { name, kind: 'numeric', values: Float64Array.from(values) };
}

function categorical(name: string, values: (string | null)[]): Column {
  const categories = [...new Set(values.filter((v): v is string => v !== null))].sort();
  return {
    name,
    kind: 'categorical',
    categories,
    codes: Int32Array.from(values, (v) => (v === null ? -1 : categories.indexOf(v))),
  };
}

function frameOf(...columns: Column[]): Frame {
  const first = columns[0]!;
  return { rowCount: first.kind === 'numeric' ? first.values.length : first.codes.length, columns };
}

function find(report: ValidationReport, check: CheckName, column?: string): CheckResult | undefined {
  return report.results.find((r) => r.check === check && (column === undefined || r.column === column));
}

async function validateFixture(name: string, options: ValidateOptions): Promise<ValidationReport> {
  const { frame, stats } = await readDataset(() => fixture(name, 64), { maxTypeErrorRate: 1 });
  return validateFrame(frame, { ingest: stats, ...options });
}

/** 40 rows of a clean, balanced frame to which each test adds one problem. */
function clean(): Column[] {
  const n = 40;
  return [
    numeric(
      'age',
      Array.from({ length: n }, (_, i) => 20 + ((i * 7) % 41)),
    ),
    categorical(
      'city',
      Array.from({ length: n }, (_, i) => ['Oslo', 'Bergen', 'Tromsø'][i % 3]!),
    ),
    numeric(
      'label',
      Array.from({ length: n }, (_, i) => (i * 5) % 2),
    ),
  ];
}

describe('validateFrame', () => {
  it('passes a clean frame with no warning or error', () => {
    const report = validateFrame(frameOf(...clean()), { target: 'label', rules: loose });
    expect(report.results.filter((r) => r.severity !== 'info')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checksRun).toContain('label_balance');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('flags the target column missing as an error', async () => {
    const report = await validateFixture('no-target.csv', { target: 'label', rules: loose });
    expect(report.ok).toBe(false);
    expect(find(report, 'label_present')?.severity).toBe('error');
  });

  it('flags a target with one class as an error', async () => {
    const report = await validateFixture('one-class.csv', { target: 'label', rules: loose });
    const finding = find(report, 'label_classes');
    expect(finding?.severity).toBe('error');
    // The label itself is an example in the report, never in the message that every viewer of a run sees.
    expect(finding?.message).toBe('every label is the same; a classifier needs both classes to learn from');
    expect(finding?.examples).toEqual(['1']);
  });

  it('flags NaN, Infinity and missing labels as errors, listing the rows', async () => {
    const report = await validateFixture('nan-label.csv', { target: 'label', rules: loose });
    const finding = find(report, 'label_values');
    expect(finding?.severity).toBe('error');
    expect(finding?.value).toBe(3);
    expect(finding?.examples).toEqual([3, 4, 5]);
  });

  it('flags an all-missing column as an error', async () => {
    const report = await validateFixture('all-missing.csv', { target: 'label', rules: loose });
    const finding = find(report, 'missing_values', 'notes');
    expect(finding?.severity).toBe('error');
    expect(finding?.message).toMatch(/every value is missing/);
  });

  it('reports values that did not parse: a warning within the allowed share, an error beyond it', async () => {
    const few = await validateFixture('text-in-numeric-few.csv', { target: 'label', rules: loose });
    expect(find(few, 'type_parse_errors', 'income')?.severity).toBe('warning');
    const many = await validateFixture('text-in-numeric.csv', { target: 'label', rules: loose });
    const finding = find(many, 'type_parse_errors', 'income');
    expect(finding?.severity).toBe('error');
    expect(finding?.examples?.[0]).toBe('unknown (row 8)');
  });

  it('flags too few rows', () => {
    const report = validateFrame(frameOf(...clean()), { rules: { minRows: 100 } });
    expect(find(report, 'row_count')?.message).toBe('40 rows; at least 100 are required');
  });

  it('warns about a column with many missing values, with the rows', () => {
    const columns = clean();
    columns[0] = numeric(
      'age',
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? NaN : i)),
    );
    const report = validateFrame(frameOf(...columns), { target: 'label', rules: loose });
    const finding = find(report, 'missing_values', 'age');
    expect(finding?.severity).toBe('warning');
    expect(finding?.value).toBe(0.5);
    expect(finding?.examples).toEqual([1, 3, 5, 7, 9]);
  });

  it('flags infinite feature values as errors', () => {
    const columns = clean();
    columns[0] = numeric('age', [Infinity, ...Array.from({ length: 39 }, (_, i) => i)]);
    expect(find(validateFrame(frameOf(...columns), { rules: loose }), 'non_finite', 'age')?.severity).toBe(
      'error',
    );
  });

  it('checks declared ranges, categories and nullability from the schema', () => {
    const columns = clean();
    columns[0] = numeric('age', [-1, 150, NaN, ...Array.from({ length: 37 }, (_, i) => 20 + i)]);
    const report = validateFrame(frameOf(...columns), {
      target: 'label',
      rules: loose,
      schema: {
        columns: [
          { name: 'age', type: 'numeric', min: 0, max: 120, nullable: false },
          { name: 'city', type: 'categorical', categories: ['Oslo', 'Bergen'] },
          { name: 'label', type: 'numeric' },
          { name: 'zip', type: 'categorical' },
        ],
      },
    });
    expect(find(report, 'range', 'age')?.examples).toEqual(['-1 (row 1)', '150 (row 2)']);
    expect(find(report, 'not_nullable', 'age')?.examples).toEqual([3]);
    expect(find(report, 'unknown_categories', 'city')?.examples).toEqual(['Tromsø']);
    expect(find(report, 'schema_columns', 'zip')?.severity).toBe('error');
    expect(report.counts.error).toBe(4);
  });

  it('lets schema violations be warnings', () => {
    const columns = clean();
    columns[0] = numeric('age', [-1, ...Array.from({ length: 39 }, (_, i) => 20 + i)]);
    const report = validateFrame(frameOf(...columns), {
      rules: { ...loose, schemaSeverity: 'warning' },
      schema: { columns: [{ name: 'age', type: 'numeric', min: 0 }] },
    });
    expect(find(report, 'range', 'age')?.severity).toBe('warning');
  });

  it('warns about constant columns', () => {
    const report = validateFrame(
      frameOf(
        ...clean(),
        numeric('one', Array<number>(40).fill(1)),
        categorical('c', Array<string>(40).fill('x')),
      ),
      { rules: loose },
    );
    expect(find(report, 'constant_column', 'one')?.severity).toBe('warning');
    expect(find(report, 'constant_column', 'c')?.severity).toBe('warning');
  });

  it('warns about identical columns, even when their categories are numbered differently', () => {
    const city = clean()[1] as Extract<Column, { kind: 'categorical' }>;
    const reordered: Column = {
      name: 'town',
      kind: 'categorical',
      categories: [...city.categories].reverse(),
      codes: city.codes.map((c) => city.categories.length - 1 - c),
    };
    const report = validateFrame(frameOf(...clean(), reordered), { rules: loose });
    expect(find(report, 'duplicate_columns')?.examples).toEqual(['city', 'town']);
  });

  it('calls a feature that equals the target leakage, an error', () => {
    const columns = clean();
    const report = validateFrame(frameOf(...columns, { ...columns[2]!, name: 'label_copy' }), {
      target: 'label',
      rules: loose,
    });
    expect(find(report, 'label_leakage')?.severity).toBe('error');
  });

  it('counts duplicate rows exactly and names them', () => {
    const columns = [
      numeric('a', [1, 2, 1, 1, NaN, NaN, 3]),
      categorical('b', ['x', 'y', 'x', 'z', null, null, 'x']),
    ];
    const report = validateFrame(frameOf(...columns), { rules: loose });
    const finding = find(report, 'duplicate_rows');
    expect(finding?.message).toMatch(/^2 row\(s\)/);
    expect(finding?.examples).toEqual(['row 3 = row 1', 'row 6 = row 5']);
    expect(finding?.severity).toBe('warning');
  });

  it('warns when the label is badly imbalanced', () => {
    const columns = clean();
    columns[2] = numeric(
      'label',
      Array.from({ length: 40 }, (_, i) => (i === 0 ? 1 : 0)),
    );
    const finding = find(
      validateFrame(frameOf(...columns), { target: 'label', rules: loose }),
      'label_balance',
    );
    expect(finding?.severity).toBe('warning');
    expect(finding?.value).toBeCloseTo(1 / 40);
  });

  it('needs a positive label when the classes are not a natural pair', () => {
    const columns = clean();
    columns[2] = categorical(
      'income',
      Array.from({ length: 40 }, (_, i) => (i % 2 ? '>50K' : '<=50K')),
    );
    const without = validateFrame(frameOf(...columns), { target: 'income', rules: loose });
    expect(find(without, 'label_classes')?.message).toBe(
      'cannot tell which of the two labels is the positive class; set positiveClass',
    );
    expect(find(without, 'label_classes')?.examples).toEqual(['<=50K', '>50K']);
    const withLabel = validateFrame(frameOf(...columns), {
      target: 'income',
      positiveLabel: '>50K',
      rules: loose,
    });
    expect(find(withLabel, 'label_classes')).toBeUndefined();
  });

  it('flags a label with more than two classes', () => {
    const columns = clean();
    columns[2] = numeric(
      'label',
      Array.from({ length: 40 }, (_, i) => i % 3),
    );
    expect(
      find(validateFrame(frameOf(...columns), { target: 'label', rules: loose }), 'label_classes')?.message,
    ).toMatch(/3 classes/);
  });

  it('does not call the tails of a sharply peaked distribution outliers', () => {
    // Like Adult's education_num: median 10.5 and MAD 1.5 put the 1s and 2s (4.3%) beyond a robust z of 3.5, but
    // Q1 = 9 and Q3 = 13 give fences at -3 and 25.
    const counts: [number, number][] = [
      [1, 5],
      [2, 5],
      [9, 60],
      [10, 45],
      [11, 20],
      [12, 20],
      [13, 50],
      [14, 20],
      [16, 5],
    ];
    const values = counts.flatMap(([v, k]) => Array<number>(k).fill(v));
    expect(
      find(validateFrame(frameOf(numeric('edu', values)), { rules: loose }), 'outliers'),
    ).toBeUndefined();
    // The same shape with a sentinel far out is reported.
    const report = validateFrame(frameOf(numeric('edu', [...values, 99])), { rules: loose });
    expect(find(report, 'outliers')?.examples).toEqual([99]);
  });

  it('finds outliers beyond both the robust z-score and the IQR fences, and uses the fences alone when MAD is 0', () => {
    const values = Array.from({ length: 200 }, (_, i) => 50 + (i % 10));
    values[5] = 10_000;
    values[6] = -10_000;
    const report = validateFrame(frameOf(numeric('x', values)), { rules: loose });
    const finding = find(report, 'outliers', 'x');
    expect(finding?.value).toBeCloseTo(2 / 200);
    expect(finding?.examples).toEqual([-10_000, 10_000]);
    expect(finding?.severity).toBe('info');
    const many = validateFrame(frameOf(numeric('x', values)), { rules: { ...loose, maxOutlierRate: 0.005 } });
    expect(find(many, 'outliers', 'x')?.severity).toBe('warning');
    // More than half the values equal: MAD is 0, the IQR is not.
    const skewed = Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : i - 59));
    skewed[99] = 1000;
    expect(
      find(validateFrame(frameOf(numeric('y', skewed)), { rules: loose }), 'outliers', 'y')?.message,
    ).toMatch(/IQR/);
  });

  it('warns about an identifier-like categorical column', () => {
    const ids = categorical(
      'id',
      Array.from({ length: 60 }, (_, i) => `user-${i}`),
    );
    expect(find(validateFrame(frameOf(ids), { rules: loose }), 'high_cardinality', 'id')?.message).toMatch(
      /identifier/,
    );
  });

  it('orders findings errors first and counts them', async () => {
    const { frame } = await readDataset(() => chunks('a,b,label\n1,,1\n1,,1\n'));
    const report = validateFrame(frame, { target: 'label', rules: loose });
    const severities = report.results.map((r) => r.severity);
    expect(severities).toEqual(
      [...severities].sort(
        (x, y) => ['error', 'warning', 'info'].indexOf(x) - ['error', 'warning', 'info'].indexOf(y),
      ),
    );
    expect(report.counts.error).toBe(severities.filter((s) => s === 'error').length);
  });
});
