// Preprocessing that trainers fit on training data, apply in JS, and emit into the ONNX graph, so the same raw
// features give the same design matrix at training time and at serving time.
//
// Numeric column -> median imputation (+ a 0/1 missing indicator when the training data had missing values)
//                   -> standardization (x - mean) / scale.
// Categorical column -> one-hot over the kept categories, plus an unknown bucket (unseen and rare categories) and a
//                   missing bucket when the training data had missing values.
//
// The graph takes float32, so numeric values are rounded to float32 before anything else here too, and every
// fitted constant is a float32 value: the JS matrix and the ONNX tensor then differ only by float32 arithmetic.
//
// The plan's shape lives in ml/preprocess-plan.ts and its ONNX form in ml/preprocess-onnx.ts; this module
// re-exports both, so callers import everything preprocessing from here.
import type { z } from 'zod';
import type { Column, Frame } from './frame.js';
import { columnOf } from './frame.js';
import type {
  CategoricalPlan,
  ColumnPlan,
  NumericPlan,
  PreprocessOptions,
  PreprocessPlan,
} from './preprocess-plan.js';
import { categoryBuckets, outputNames, planWidth, preprocessOptionsSchema } from './preprocess-plan.js';
import type { SparseRows } from './sparse-rows.js';

export * from './preprocess-plan.js';
export * from './preprocess-onnx.js';

/** The contract's output names (ml/trainer.ts): an input of the same name could not exist in the graph. */
const RESERVED_NAMES = new Set(['label', 'probabilities']);

/** What `transform` returns: the dense design matrix and the name of each of its columns. */
export interface DesignMatrix {
  /** Row-major, `rowCount * width` values. */
  readonly matrix: Float64Array;
  readonly rowCount: number;
  readonly width: number;
  readonly featureNames: readonly string[];
}

/** Rearranges `a` so a[k] holds the k-th smallest value (Hoare's selection; O(n) on average, unlike a sort). */
function selectInPlace(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    // Median of three as the pivot keeps sorted and constant columns linear.
    const mid = (lo + hi) >> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** Median as numpy computes it (mean of the two middle values for an even count); 0 for no values. */
function median(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return 0;
  const a = values.slice();
  const mid = n >> 1;
  const upper = selectInPlace(a, mid);
  if (n % 2 === 1) return upper;
  // After selection every value left of `mid` is <= a[mid]: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

function fitNumeric(
  name: string,
  values: Float64Array,
  options: z.output<typeof preprocessOptionsSchema>,
): NumericPlan {
  const buffer = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    // The graph takes float32: a value beyond its range would turn into Infinity there.
    const v32 = Math.fround(v);
    if (!Number.isFinite(v32)) {
      throw new Error(
        `numeric column "${name}" has ${v} at row ${i}; expected finite float32 numbers, or NaN for missing`,
      );
    }
    buffer[count++] = v32;
  }
  const present = buffer.subarray(0, count);
  const med = Math.fround(median(present));
  const missing = values.length - present.length;
  let mean = 0;
  let scale = 1;
  if (options.standardize && values.length > 0) {
    let sum = med * missing;
    for (const v of present) sum += v;
    const mu = sum / values.length;
    let ss = (med - mu) * (med - mu) * missing;
    for (const v of present) ss += (v - mu) * (v - mu);
    const std = Math.sqrt(ss / values.length);
    mean = Math.fround(mu);
    // A constant column keeps scale 1, as scikit-learn's StandardScaler does.
    scale = std > 1e-12 * Math.max(1, Math.abs(mu)) ? Math.fround(std) : 1;
  }
  return {
    kind: 'numeric',
    name,
    median: med,
    mean,
    scale,
    missingIndicator: options.missingIndicators && missing > 0,
  };
}

function fitCategorical(
  column: Extract<Column, { kind: 'categorical' }>,
  options: z.output<typeof preprocessOptionsSchema>,
): CategoricalPlan {
  const counts = new Float64Array(column.categories.length);
  let missing = 0;
  for (const code of column.codes) {
    if (code < 0 || column.categories[code] === '') missing++;
    else counts[code]!++;
  }
  let kept = column.categories
    .map((category, index) => ({ category, index, count: counts[index]! }))
    .filter((c) => c.category !== '' && c.count >= options.minCategoryCount);
  if (options.maxCategories !== undefined && kept.length > options.maxCategories) {
    const top = [...kept]
      .sort((a, b) => b.count - a.count || a.index - b.index)
      .slice(0, options.maxCategories);
    const keep = new Set(top.map((c) => c.index));
    kept = kept.filter((c) => keep.has(c.index));
  }
  const categories = kept.map((c) => c.category);
  if (new Set(categories).size !== categories.length) {
    throw new Error(`categorical column "${column.name}" lists the same category twice`);
  }
  return { kind: 'categorical', name: column.name, categories, missingBucket: missing > 0 };
}

/**
 * Fits a preprocessing plan on the feature columns of a training frame.
 * Throws on bad options (naming the option), an empty frame, or infinite numeric values.
 */
export function fitPreprocessor(frame: Frame, options: PreprocessOptions = {}): PreprocessPlan {
  const parsed = preprocessOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid preprocessing option "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }
  if (frame.columns.length === 0)
    throw new Error('cannot fit preprocessing: the frame has no feature columns');
  if (frame.rowCount === 0) throw new Error('cannot fit preprocessing: the frame has no rows');
  const names = new Set<string>();
  const columns = frame.columns.map((column): ColumnPlan => {
    if (names.has(column.name)) throw new Error(`feature column "${column.name}" appears twice`);
    if (RESERVED_NAMES.has(column.name)) {
      throw new Error(`feature column "${column.name}" has the name of an ONNX model output; rename it`);
    }
    names.add(column.name);
    return column.kind === 'numeric'
      ? fitNumeric(column.name, column.values, parsed.data)
      : fitCategorical(column, parsed.data);
  });
  const featureNames = columns.flatMap(outputNames);
  return { version: 1, columns, width: featureNames.length, featureNames };
}

/** Applies a fitted plan to a frame (matched by column name; extra columns are ignored). */
export function transform(plan: PreprocessPlan, frame: Frame): DesignMatrix {
  const n = frame.rowCount;
  const width = plan.width;
  const matrix = new Float64Array(n * width);
  let offset = 0;
  for (const step of plan.columns) {
    const column = columnOf(frame, step.name);
    if (step.kind === 'numeric') {
      if (column.kind !== 'numeric') {
        throw new Error(
          `column "${step.name}" must be numeric (it was numeric in training), got ${column.kind}`,
        );
      }
      const { median: med, mean, scale, missingIndicator } = step;
      for (let i = 0, p = offset; i < n; i++, p += width) {
        const v = column.values[i]!;
        const missing = Number.isNaN(v);
        matrix[p] = ((missing ? med : Math.fround(v)) - mean) / scale;
        if (missingIndicator) matrix[p + 1] = missing ? 1 : 0;
      }
    } else {
      const buckets = categoryBuckets(step, column);
      for (let i = 0, p = offset; i < n; i++, p += width) matrix[p + buckets[i]!] = 1;
    }
    offset += planWidth(step);
  }
  return { matrix, rowCount: n, width, featureNames: plan.featureNames };
}

/**
 * `transform` straight to sparse rows, without the dense matrix: the same non-zero entries that
 * `toSparseRows(transform(plan, frame).matrix, ...)` keeps, in the same order, at O(rows * columns) memory instead
 * of O(rows * width). A one-hot column with 50,000 categories is one entry per row here, not 50,000.
 */
export function transformSparse(plan: PreprocessPlan, frame: Frame): SparseRows {
  const n = frame.rowCount;
  const steps = plan.columns.map((step) => {
    const column = columnOf(frame, step.name);
    if (step.kind === 'numeric' && column.kind !== 'numeric') {
      throw new Error(
        `column "${step.name}" must be numeric (it was numeric in training), got ${column.kind}`,
      );
    }
    return { step, column, buckets: step.kind === 'categorical' ? categoryBuckets(step, column) : undefined };
  });
  const perRow = plan.columns.reduce(
    (a, step) => a + (step.kind === 'numeric' && step.missingIndicator ? 2 : 1),
    0,
  );
  const rowStart = new Int32Array(n + 1);
  let columns = new Int32Array(n * perRow);
  let values = new Float64Array(n * perRow);
  let k = 0;
  for (let i = 0; i < n; i++) {
    rowStart[i] = k;
    let offset = 0;
    for (const { step, column, buckets } of steps) {
      if (step.kind === 'numeric') {
        const v = (column as Extract<Column, { kind: 'numeric' }>).values[i]!;
        const missing = Number.isNaN(v);
        const scaled = ((missing ? step.median : Math.fround(v)) - step.mean) / step.scale;
        if (scaled !== 0) {
          columns[k] = offset;
          values[k++] = scaled;
        }
        if (step.missingIndicator && missing) {
          columns[k] = offset + 1;
          values[k++] = 1;
        }
      } else {
        columns[k] = offset + buckets![i]!;
        values[k++] = 1;
      }
      offset += planWidth(step);
    }
  }
  rowStart[n] = k;
  if (k < columns.length) {
    columns = columns.slice(0, k);
    values = values.slice(0, k);
  }
  return { rowCount: n, width: plan.width, rowStart, columns, values };
}
