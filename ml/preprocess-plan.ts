// The fitted preprocessing plan: its JSON shape (zod schemas, so a plan read back from a checkpoint or the
// registry is validated) and the output layout every consumer agrees on. See ml/preprocess.ts for fitting and
// applying a plan and ml/preprocess-onnx.ts for emitting it into an ONNX graph.
import { z } from 'zod';
import type { Column } from './frame.js';

/** Options of `fitPreprocessor`; every field has a default. */
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

/** A whole plan: one step per feature column, in frame order, and the names of the output columns. */
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

/** Output columns of one column plan. */
export function planWidth(plan: ColumnPlan): number {
  if (plan.kind === 'numeric') return plan.missingIndicator ? 2 : 1;
  return plan.categories.length + 1 + (plan.missingBucket ? 1 : 0);
}

/** Names of the output columns of one column plan, in order. */
export function outputNames(plan: ColumnPlan): string[] {
  if (plan.kind === 'numeric')
    return plan.missingIndicator ? [plan.name, `${plan.name}__missing`] : [plan.name];
  const names = [...plan.categories.map((c) => `${plan.name}=${c}`), `${plan.name}=__unknown__`];
  if (plan.missingBucket) names.push(`${plan.name}=__missing__`);
  return names;
}

/** Validates a plan read back from JSON (a checkpoint, registry metadata); throws naming the bad field. */
export function parsePreprocessPlan(raw: unknown): PreprocessPlan {
  const parsed = preprocessPlanSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid preprocessing plan at "${issue.path.join('.')}": ${issue.message}`);
  }
  const plan = parsed.data;
  if (
    plan.columns.reduce((w, c) => w + planWidth(c), 0) !== plan.width ||
    plan.featureNames.length !== plan.width
  ) {
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
    throw new Error(
      `column "${plan.name}" must be categorical (it was categorical in training), got ${column.kind}`,
    );
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
