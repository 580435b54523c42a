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
import { z } from 'zod';
import type { Column, Frame } from './frame.js';
import { columnOf } from './frame.js';
import type { OnnxBuilder } from './onnx-builder.js';
import { attr, ONNX_ML_DOMAIN } from './onnx-builder.js';

export const preprocessOptionsSchema = z
  .object({
    /** Standardize numeric columns (trees do not need it). */
    standardize: z.boolean().default(true),
    /** Add a 0/1 column per numeric column that had missing values in training. */
    missingIndicators: z.boolean().default(true),
    /** Categories seen fewer times than this in training fold into the unknown bucket. */
    minCategoryCount: z.number().int().min(1).default(1),
    /** Keep at most this many categories per column (the most frequent); the rest fold into the unknown bucket. */
    maxCategories: z.number().int().min(1).optional(),
  })
  .strict();

export type PreprocessOptions = z.input<typeof preprocessOptionsSchema>;

const finite = z.number().finite();

export const numericPlanSchema = z.object({
  kind: z.literal('numeric'),
  name: z.string().min(1),
  median: finite,
  mean: finite,
  scale: finite.positive(),
  missingIndicator: z.boolean(),
});

export const categoricalPlanSchema = z.object({
  kind: z.literal('categorical'),
  name: z.string().min(1),
  /** Kept categories, in output column order. */
  categories: z.array(z.string().min(1)),
  missingBucket: z.boolean(),
});

export const preprocessPlanSchema = z.object({
  version: z.literal(1),
  columns: z.array(z.discriminatedUnion('kind', [numericPlanSchema, categoricalPlanSchema])).min(1),
  width: z.number().int().positive(),
  featureNames: z.array(z.string()),
});

export type NumericPlan = z.infer<typeof numericPlanSchema>;
export type CategoricalPlan = z.infer<typeof categoricalPlanSchema>;
export type ColumnPlan = NumericPlan | CategoricalPlan;
/** A fitted preprocessing plan; plain JSON, safe for checkpoints and registry metadata. */
export type PreprocessPlan = z.infer<typeof preprocessPlanSchema>;

export interface DesignMatrix {
  /** Row-major, `rowCount * width` values. */
  readonly matrix: Float64Array;
  readonly rowCount: number;
  readonly width: number;
  readonly featureNames: readonly string[];
}

/** Output columns of one column plan. */
export function planWidth(plan: ColumnPlan): number {
  if (plan.kind === 'numeric') return plan.missingIndicator ? 2 : 1;
  return plan.categories.length + 1 + (plan.missingBucket ? 1 : 0);
}

function outputNames(plan: ColumnPlan): string[] {
  if (plan.kind === 'numeric') return plan.missingIndicator ? [plan.name, `${plan.name}__missing`] : [plan.name];
  const names = [...plan.categories.map((c) => `${plan.name}=${c}`), `${plan.name}=__unknown__`];
  if (plan.missingBucket) names.push(`${plan.name}=__missing__`);
  return names;
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fitNumeric(name: string, values: Float64Array, options: z.output<typeof preprocessOptionsSchema>): NumericPlan {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    // The graph takes float32: a value beyond its range would turn into Infinity there.
    if (!Number.isFinite(Math.fround(v))) {
      throw new Error(`numeric column "${name}" has ${v} at row ${i}; expected finite float32 numbers, or NaN for missing`);
    }
    present.push(Math.fround(v));
  }
  const med = Math.fround(median(Float64Array.from(present).sort()));
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
  return { kind: 'numeric', name, median: med, mean, scale, missingIndicator: options.missingIndicators && missing > 0 };
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
    const top = [...kept].sort((a, b) => b.count - a.count || a.index - b.index).slice(0, options.maxCategories);
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
  if (frame.columns.length === 0) throw new Error('cannot fit preprocessing: the frame has no feature columns');
  if (frame.rowCount === 0) throw new Error('cannot fit preprocessing: the frame has no rows');
  const names = new Set<string>();
  const columns = frame.columns.map((column): ColumnPlan => {
    if (names.has(column.name)) throw new Error(`feature column "${column.name}" appears twice`);
    names.add(column.name);
    return column.kind === 'numeric'
      ? fitNumeric(column.name, column.values, parsed.data)
      : fitCategorical(column, parsed.data);
  });
  const featureNames = columns.flatMap(outputNames);
  return { version: 1, columns, width: featureNames.length, featureNames };
}

/** Validates a plan read back from JSON (a checkpoint, registry metadata); throws naming the bad field. */
export function parsePreprocessPlan(raw: unknown): PreprocessPlan {
  const parsed = preprocessPlanSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid preprocessing plan at "${issue.path.join('.')}": ${issue.message}`);
  }
  const plan = parsed.data;
  if (plan.columns.reduce((w, c) => w + planWidth(c), 0) !== plan.width || plan.featureNames.length !== plan.width) {
    throw new Error('invalid preprocessing plan: width does not match its columns');
  }
  return plan;
}

/**
 * Bucket of every row of a categorical column under `plan`: 0..k-1 for kept categories, k for unknown, k+1 for
 * missing (or k when the plan has no missing bucket). Categories are matched by string, so frames with another
 * category dictionary work too.
 */
export function categoryBuckets(plan: CategoricalPlan, column: Column): Int32Array {
  if (column.kind !== 'categorical') {
    throw new Error(`column "${plan.name}" must be categorical (it was categorical in training), got ${column.kind}`);
  }
  const k = plan.categories.length;
  const missingBucket = plan.missingBucket ? k + 1 : k;
  const index = new Map(plan.categories.map((c, i) => [c, i]));
  const lookup = Int32Array.from(column.categories, (c) => (c === '' ? missingBucket : (index.get(c) ?? k)));
  const out = new Int32Array(column.codes.length);
  for (let i = 0; i < out.length; i++) {
    const code = column.codes[i]!;
    out[i] = code < 0 ? missingBucket : (lookup[code] ?? k);
  }
  return out;
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
        throw new Error(`column "${step.name}" must be numeric (it was numeric in training), got ${column.kind}`);
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

/** Declares one ONNX input per plan column, as the trainer contract says: float or string, shape [N, 1]. */
export function declarePlanInputs(builder: OnnxBuilder, plan: PreprocessPlan): void {
  for (const step of plan.columns) builder.input(step.name, step.kind === 'numeric' ? 'float' : 'string', ['N', 1]);
}

/**
 * Emits the int64 [N,1] bucket index of a categorical input (see `categoryBuckets`) with an ai.onnx.ml
 * LabelEncoder. "" (missing) is always an explicit key, so the key list is never empty.
 */
export function emitCategoryIndexOnnx(builder: OnnxBuilder, step: CategoricalPlan, input: string): string {
  const k = step.categories.length;
  return builder.op('LabelEncoder', [input], `${step.name}_bucket`, {
    keys_strings: attr.strings([...step.categories, '']),
    values_int64s: attr.ints([...step.categories.map((_, i) => i), step.missingBucket ? k + 1 : k]),
    default_int64: attr.int(k),
  }, ONNX_ML_DOMAIN);
}

function emitNumeric(builder: OnnxBuilder, step: NumericPlan): string[] {
  const isNan = builder.op('IsNaN', [step.name], `${step.name}_isnan`);
  const med = builder.floats(`${step.name}_median`, [step.median], []);
  let value = builder.op('Where', [isNan, med, step.name], `${step.name}_imputed`);
  if (step.mean !== 0 || step.scale !== 1) {
    const centered = builder.op('Sub', [value, builder.floats(`${step.name}_mean`, [step.mean], [])], `${step.name}_centered`);
    value = builder.op('Div', [centered, builder.floats(`${step.name}_scale`, [step.scale], [])], `${step.name}_scaled`);
  }
  if (!step.missingIndicator) return [value];
  return [value, builder.op('Cast', [isNan], `${step.name}_missing`, { to: attr.int(1) })];
}

function emitCategorical(builder: OnnxBuilder, step: CategoricalPlan): string {
  const depth = planWidth(step);
  const index = emitCategoryIndexOnnx(builder, step, step.name);
  const oneHot = builder.op('OneHot', [
    index,
    builder.int64s(`${step.name}_depth`, [depth], [1]),
    builder.floats(`${step.name}_onehot_values`, [0, 1], [2]),
  ], `${step.name}_onehot3d`, { axis: attr.int(-1) });
  return builder.op('Reshape', [oneHot, builder.int64s(`${step.name}_shape`, [-1, depth], [2])], `${step.name}_onehot`);
}

/**
 * Emits the plan as ONNX nodes: declares the raw inputs (see `declarePlanInputs`) and returns the name of the
 * float [N, plan.width] tensor equal (to float32 rounding) to `transform(plan, frame).matrix`.
 */
export function emitPreprocessOnnx(builder: OnnxBuilder, plan: PreprocessPlan): string {
  declarePlanInputs(builder, plan);
  const parts = plan.columns.flatMap((step) =>
    step.kind === 'numeric' ? emitNumeric(builder, step) : [emitCategorical(builder, step)],
  );
  return builder.op('Concat', parts, 'features', { axis: attr.int(1) });
}
