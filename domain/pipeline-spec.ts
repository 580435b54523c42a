import { z } from 'zod';
import { datasetSchemaSchema } from './dataset-schema.js';
import { modelNameSchema } from './model-name.js';
import { rolloutPlanSpecSchema } from './rollout-plan.js';
import { validationRulesSchema } from './validation-rules.js';
import { resourcesSchema } from './task-queues.js';

const fraction = (what: string) =>
  z
    .number({ message: `${what}: expected a number` })
    .gt(0, `${what} must be > 0`)
    .lt(1, `${what} must be < 1`);

export const datasetSourceSchema = z
  .object({
    /** A file path (relative to the spec file), file:// URI, or s3://bucket/key. */
    source: z.string().min(1, 'expected a file path or an s3:// URI'),
    format: z.enum(['csv', 'ndjson']).optional(),
    delimiter: z.string().length(1, 'expected one character').optional(),
    /** A record longer than this many bytes is refused, naming its row. */
    maxLineBytes: z.number().int().positive().optional(),
    maxRows: z.number().int().positive().optional(),
    missingTokens: z.array(z.string()).optional(),
    /** Share of a numeric column's values allowed not to parse (they become missing); above it ingest fails. */
    maxTypeErrorRate: z.number().min(0).max(1).optional(),
  })
  .strict();

export const splitSchema = z.discriminatedUnion(
  'kind',
  [
    z
      .object({
        kind: z.literal('random'),
        testFraction: fraction('testFraction').default(0.2),
        seed: z.number().int().default(42),
      })
      .strict(),
    z
      .object({
        kind: z.literal('stratified'),
        testFraction: fraction('testFraction').default(0.2),
        seed: z.number().int().default(42),
      })
      .strict(),
    z
      .object({
        kind: z.literal('time'),
        testFraction: fraction('testFraction').default(0.2),
        /** The column that orders rows in time; absent means file order. */
        orderBy: z.string().min(1).optional(),
        seed: z.number().int().default(42),
      })
      .strict(),
  ],
  { message: 'expected split.kind to be random, stratified or time' },
);

/** Validation thresholds (see ml/validation/rules.ts for each one's meaning and default) and the run's policy. */
export const validationSpecSchema = validationRulesSchema
  .extend({
    /** Treat warnings as errors: the run stops on any warning. */
    failOnWarnings: z.boolean().default(false),
  })
  .strict();

export const builtInTrainerNameSchema = z.enum(['logistic_regression', 'mlp', 'gbdt']);

export const trainerSpecSchema = z.discriminatedUnion(
  'kind',
  [
    z
      .object({
        kind: z.literal('builtin'),
        name: builtInTrainerNameSchema,
        params: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    z
      .object({
        kind: z.literal('command'),
        /** argv of the program; see docs/trainer-contract.md. Relative paths resolve against the spec's folder. */
        command: z.array(z.string().min(1)).min(1, 'expected at least the program to run'),
        params: z.record(z.string(), z.unknown()).default({}),
        /** Extra environment for the program (no secrets: specs are stored in the registry). */
        env: z
          .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name'), z.string())
          .default({}),
      })
      .strict(),
  ],
  { message: 'expected trainer.kind to be builtin or command' },
);

const metricName = z.enum(['auc', 'accuracy', 'precision', 'recall', 'f1', 'log_loss', 'brier']);
export type MetricName = z.infer<typeof metricName>;

export const evaluationSpecSchema = z
  .object({
    threshold: z.number().gt(0).lt(1).default(0.5),
    /** Columns whose categories (or quantile bins) get their own metrics. */
    slices: z.array(z.string().min(1)).default([]),
    gates: z
      .object({
        /** Absolute bounds: higher-is-better metrics must reach `min`, log_loss/brier must stay under `max`. */
        min: z.partialRecord(metricName, z.number()).default({}),
        max: z.partialRecord(metricName, z.number()).default({}),
        /** Largest allowed drop against the current champion on the same rows (in the metric's units). */
        maxRegression: z.partialRecord(metricName, z.number().min(0)).default({}),
      })
      .strict()
      .default({ min: {}, max: {}, maxRegression: {} }),
    bootstrap: z
      .object({
        iterations: z.number().int().min(100).max(10_000).default(1000),
        seed: z.number().int().default(7),
      })
      .strict()
      .default({ iterations: 1000, seed: 7 }),
  })
  .strict();

export const pipelineSpecSchema = z
  .object({
    model: modelNameSchema,
    description: z.string().max(2000).optional(),
    dataset: datasetSourceSchema,
    target: z.string().min(1, 'expected the name of the label column'),
    /** The label value that counts as the positive class (as written in the file); absent: inferred for 0/1, true/false. */
    positiveClass: z.string().min(1).optional(),
    /** Columns not to use as features (identifiers, leakage). */
    drop: z.array(z.string().min(1)).default([]),
    split: splitSchema,
    /** Absent: inferred from the data. */
    schema: datasetSchemaSchema.optional(),
    validation: validationSpecSchema.default({ failOnWarnings: false }),
    trainer: trainerSpecSchema,
    resources: resourcesSchema.default({ gpu: 0 }),
    evaluation: evaluationSpecSchema.default({
      threshold: 0.5,
      slices: [],
      gates: { min: {}, max: {}, maxRegression: {} },
      bootstrap: { iterations: 1000, seed: 7 },
    }),
    seed: z.number().int().default(42),
    /** Training checkpoints every N steps (epochs or trees). */
    checkpointEvery: z.number().int().min(1).default(1),
    /**
     * Hand the registered version straight to a rollout with this plan (docs/rollout.md; `{}` for the defaults).
     * Absent: the version is registered and waits for `slipway rollout start`.
     */
    rollout: rolloutPlanSpecSchema.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.drop.includes(spec.target)) {
      ctx.addIssue({
        code: 'custom',
        path: ['drop'],
        message: `the target "${spec.target}" cannot also be dropped`,
      });
    }
    if (spec.schema && !spec.schema.columns.some((c) => c.name === spec.target)) {
      ctx.addIssue({
        code: 'custom',
        path: ['schema', 'columns'],
        message: `the schema has no column for the target "${spec.target}"`,
      });
    }
  });

export type PipelineSpec = z.infer<typeof pipelineSpecSchema>;
export type MetricGates = PipelineSpec['evaluation']['gates'];

/** One problem of a spec, by field path. */
export interface SpecProblem {
  readonly path: string;
  readonly message: string;
}

/** Thrown for a bad spec; lists every problem by field path. */
export class InvalidSpecError extends Error {
  override readonly name = 'InvalidSpec';
  constructor(readonly problems: readonly SpecProblem[]) {
    super(`invalid pipeline spec:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

/** Validates a parsed spec document (from YAML, JSON or an HTTP body); throws InvalidSpecError with every problem. */
export function parsePipelineSpec(raw: unknown): PipelineSpec {
  const parsed = pipelineSpecSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new InvalidSpecError(
    parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(spec)', message: issue.message })),
  );
}
