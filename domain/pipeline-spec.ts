import { z } from 'zod';
import { datasetFormatSchema, datasetSchemaSchema } from './dataset-schema.js';
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
    /** Absent: from the file name (.ndjson/.jsonl, .parquet), else CSV. */
    format: datasetFormatSchema.optional(),
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

/**
 * Environment variables a spec may set for a command trainer. An allowlist, not a denylist: a spec is data that
 * anyone with the operator role can submit, and variables such as LD_PRELOAD, NODE_OPTIONS, PYTHONPATH, PATH or
 * HOME change which code runs. Thread-count knobs of the common numeric libraries are allowed, and every name in
 * the trainer's own `TRAINER_` namespace.
 */
export const trainerEnvNames = [
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
  'NUMEXPR_NUM_THREADS',
  'VECLIB_MAXIMUM_THREADS',
] as const;
const trainerEnvPattern = /^TRAINER_[A-Z0-9_]{1,64}$/;

/** Whether a spec may set the environment variable `name` for a command trainer. */
export function isAllowedTrainerEnv(name: string): boolean {
  return (trainerEnvNames as readonly string[]).includes(name) || trainerEnvPattern.test(name);
}

export const trainerEnvHelp = `allowed: TRAINER_* (upper-case letters, digits, _) and ${trainerEnvNames.join(', ')}`;

const trainerEnvSchema = z
  .record(z.string(), z.string().max(4096, 'expected at most 4096 characters'))
  .default({})
  .superRefine((env, ctx) => {
    for (const [name, value] of Object.entries(env)) {
      if (!isAllowedTrainerEnv(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `a spec may not set ${name} (${trainerEnvHelp})`,
        });
      } else if (value.includes('\0')) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'expected no NUL character' });
      }
    }
  });

/** A key a command-trainer spec must not carry: the program a worker runs is its operator's choice, not the spec's. */
const refusedKey = (key: string) =>
  z
    .never({
      error: `a spec cannot name a program to run (${key}); name a trainer that the worker's operator registered, with trainer.name`,
    })
    .optional();

const trainerNameHelp = 'expected a registered trainer name: 1-63 lower-case letters, digits, _ and -';
export const commandTrainerNameSchema = z
  .string({ error: trainerNameHelp })
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, trainerNameHelp);

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
        /** A trainer the worker's operator registered (SLIPWAY_COMMAND_TRAINERS); see docs/trainer-contract.md. */
        name: commandTrainerNameSchema,
        params: z.record(z.string(), z.unknown()).default({}),
        /** Extra environment for the program, limited to `isAllowedTrainerEnv` names (no secrets: specs are stored). */
        env: trainerEnvSchema,
        command: refusedKey('command'),
        argv: refusedKey('argv'),
        args: refusedKey('args'),
        program: refusedKey('program'),
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
