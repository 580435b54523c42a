import { z } from 'zod';
import { durationSchema, formatDuration } from './duration.js';
import { modelNameSchema } from './model-name.js';
import { monitorPolicySpecSchema, type MonitorPolicySpec } from './monitor-policy.js';
import { pipelineSpecSchema, type PipelineSpec, type SpecProblem } from './pipeline-spec.js';
import { problemsOf, rolloutPlanSpecSchema } from './rollout-plan.js';

/**
 * The lifecycle spec: one model's life as a person writes it (YAML, JSON, the Temporal UI's input form). It names
 * the pipeline spec (inline or by path), the rollout plan every new version goes through, the monitor policy, and
 * the retrain policy. Every duration is a setting here, so a test runs the same code paths in seconds.
 * docs/lifecycle.md describes every field.
 */

const day = 86_400_000;
const week = 7 * day;

/** Higher-is-better metrics a performance floor can watch on labelled traffic. */
export const floorMetricSchema = z.enum(['accuracy', 'auc', 'f1', 'precision', 'recall']);
export type FloorMetric = z.infer<typeof floorMetricSchema>;

export const driftTriggerSchema = z
  .object({
    /** Retrain when the monitor's drift alert names at least `minFeatures` of these features. */
    features: z
      .array(z.string().min(1, 'expected a feature name'), { message: 'expected a list of feature names' })
      .min(1, 'expected at least one feature (drift on which features should retrain?)')
      .max(1000),
    minFeatures: z.number().int().min(1).default(1),
  })
  .strict();

export const performanceTriggerSchema = z
  .object({
    metric: floorMetricSchema.default('accuracy'),
    /** Retrain when the metric over the latest labelled traffic of the champion falls below this. */
    floor: z
      .number({ message: 'expected a number between 0 and 1' })
      .gt(0, 'expected a floor above 0')
      .lt(1, 'expected a floor below 1'),
    /** The latest this many labelled rows of the champion are judged; fewer than `minLabels` are not judged. */
    windowRows: z.number().int().min(10).max(10_000_000).default(1000),
    minLabels: z.number().int().min(10).max(10_000_000).default(200),
  })
  .strict();

export const scheduleTriggerSchema = z
  .object({
    /** Retrain this long after the last training, whatever the monitor says. */
    every: durationSchema({ min: 100, max: 366 * day }),
  })
  .strict();

export const retrainDataSchema = z
  .object({
    /** The labelled traffic since the last training, at most this many of the latest rows and this old. */
    window: z
      .object({
        maxRows: z.number().int().min(1).max(100_000_000).default(100_000),
        maxAge: durationSchema({ min: 100, max: 366 * day }).optional(),
      })
      .strict()
      .default({ maxRows: 100_000 }),
    /** Fewer labelled rows than this: the retrain is skipped, and says so. */
    minRows: z.number().int().min(1).max(100_000_000).default(200),
    /**
     * Also train on the original data (the pipeline spec's dataset), before the traffic rows: `true`, `false`, or
     * `{ maxRows }` for its latest rows only.
     */
    original: z
      .union([z.boolean(), z.object({ maxRows: z.number().int().min(1).max(100_000_000) }).strict()], {
        message: 'expected true, false or { maxRows }',
      })
      .default(false),
  })
  .strict();

export const retrainPolicySchema = z
  .object({
    triggers: z
      .object({
        drift: driftTriggerSchema.optional(),
        performance: performanceTriggerSchema.optional(),
        schedule: scheduleTriggerSchema.optional(),
      })
      .strict()
      .default({}),
    /**
     * How often standing conditions are looked at again: the performance floor, an alert still active after a
     * deferral, a retrain skipped for too few labelled rows.
     */
    checkEvery: durationSchema({ min: 100, max: day }).default(60_000),
    /** Least time between the start of one training and an automatic retrain. */
    cooldown: durationSchema({ min: 0, max: 366 * day }).default(60 * 60_000),
    /** Most automatic retrains per period (a week unless `per` says otherwise). */
    budget: z
      .object({
        max: z.number().int().min(0).max(10_000),
        per: durationSchema({ min: 100, max: 366 * day }).default(week),
      })
      .strict()
      .default({ max: 3, per: week }),
    data: retrainDataSchema.default({ window: { maxRows: 100_000 }, minRows: 200, original: false }),
  })
  .strict();

export type RetrainPolicy = z.infer<typeof retrainPolicySchema>;

export const lifecycleSpecSchema = z
  .object({
    /** The model; defaults to the pipeline spec's, and must agree with it. */
    model: modelNameSchema.optional(),
    description: z.string().max(2000).optional(),
    /** The pipeline spec, inline, or a path to its file (relative to this spec's file). */
    pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
      message: 'expected a path to a pipeline spec file, or the pipeline spec itself',
    }),
    /** The rollout plan (docs/rollout.md) every new version goes through; absent: the defaults. */
    rollout: rolloutPlanSpecSchema.optional(),
    /** The monitor policy (docs/monitoring.md), passed to the `monitor` workflow; `false`: no monitor. */
    monitor: z
      .union([monitorPolicySpecSchema, z.literal(false)], {
        message: 'expected the monitor policy, or false for none',
      })
      .optional(),
    retrain: retrainPolicySchema.default({
      triggers: {},
      checkEvery: 60_000,
      cooldown: 60 * 60_000,
      budget: { max: 3, per: week },
      data: { window: { maxRows: 100_000 }, minRows: 200, original: false },
    }),
  })
  .strict();

export type LifecycleSpecDocument = z.infer<typeof lifecycleSpecSchema>;

/** A lifecycle spec with its pipeline spec resolved and checked: what the `lifecycle` workflow runs. Plain JSON. */
export interface LifecycleSpec {
  readonly model: string;
  readonly description?: string;
  readonly pipeline: PipelineSpec;
  /** The rollout plan as written (durations in ms); the rollout workflow resolves it. */
  readonly rollout: z.infer<typeof rolloutPlanSpecSchema>;
  /** The monitor policy as written (durations in ms); false: the lifecycle runs no monitor. */
  readonly monitor: MonitorPolicySpec | false;
  readonly retrain: RetrainPolicy;
}

/** Thrown for a bad lifecycle spec; lists every problem by field path. */
export class InvalidLifecycleSpecError extends Error {
  override readonly name = 'InvalidSpec';
  constructor(readonly problems: readonly SpecProblem[]) {
    super(`invalid lifecycle spec:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

/** Reads the document's shape; the pipeline may still be a path. Throws InvalidLifecycleSpecError. */
export function parseLifecycleDocument(raw: unknown): LifecycleSpecDocument {
  const parsed = lifecycleSpecSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  throw new InvalidLifecycleSpecError(problemsOf(parsed.error, ''));
}

/** Validates an inline pipeline spec, problems under `pipeline.`. */
export function parseInlinePipeline(raw: unknown): PipelineSpec {
  const parsed = pipelineSpecSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new InvalidLifecycleSpecError(problemsOf(parsed.error, 'pipeline'));
}

/**
 * The checks that span fields: a policy that contradicts itself, a model name the pipeline disagrees with, drift
 * triggers on columns that are not features. Returns every problem (empty: consistent).
 */
export function lifecycleProblems(doc: LifecycleSpecDocument, pipeline: PipelineSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const { retrain } = doc;
  const { triggers } = retrain;
  if (doc.model !== undefined && doc.model !== pipeline.model) {
    problems.push({
      path: 'model',
      message: `"${doc.model}" disagrees with the pipeline spec's model "${pipeline.model}"`,
    });
  }
  const named = Object.entries(triggers)
    .filter(([, trigger]) => trigger !== undefined)
    .map(([name]) => name);
  if (retrain.budget.max === 0 && named.length > 0) {
    problems.push({
      path: 'retrain.budget.max',
      message: `a budget of 0 retrains per ${formatDuration(retrain.budget.per)} means the ${named.join(', ')} trigger${named.length > 1 ? 's' : ''} could never fire; raise the budget or remove the triggers`,
    });
  }
  const every = triggers.schedule?.every;
  if (every !== undefined) {
    if (retrain.cooldown >= every) {
      problems.push({
        path: 'retrain.cooldown',
        message: `the cooldown ${formatDuration(retrain.cooldown)} is not shorter than the schedule period ${formatDuration(every)}: scheduled retrains would be refused by the cooldown`,
      });
    }
    const scheduled = Math.floor(retrain.budget.per / every);
    if (retrain.budget.max > 0 && scheduled > retrain.budget.max) {
      problems.push({
        path: 'retrain.triggers.schedule.every',
        message: `a retrain every ${formatDuration(every)} asks for ${scheduled} per ${formatDuration(retrain.budget.per)}, more than the budget of ${retrain.budget.max}`,
      });
    }
  }
  const { window, minRows, original } = retrain.data;
  if (window.maxRows < minRows && original === false) {
    problems.push({
      path: 'retrain.data.minRows',
      message: `${minRows} rows are needed but the window keeps at most ${window.maxRows}: no retrain could ever run`,
    });
  }
  const performance = triggers.performance;
  if (performance && performance.minLabels > performance.windowRows) {
    problems.push({
      path: 'retrain.triggers.performance.minLabels',
      message: `${performance.minLabels} labels are needed but the window judges at most ${performance.windowRows} rows`,
    });
  }
  const notFeatures = new Set([pipeline.target, ...pipeline.drop]);
  const schemaColumns = pipeline.schema?.columns.map((c) => c.name);
  triggers.drift?.features.forEach((feature, i) => {
    if (notFeatures.has(feature)) {
      problems.push({
        path: `retrain.triggers.drift.features.${i}`,
        message: `"${feature}" is ${feature === pipeline.target ? 'the target' : 'dropped'} in the pipeline spec, not a feature`,
      });
    } else if (schemaColumns && !schemaColumns.includes(feature)) {
      problems.push({
        path: `retrain.triggers.drift.features.${i}`,
        message: `"${feature}" is not a column of the pipeline spec's schema`,
      });
    }
  });
  const drift = triggers.drift;
  if (drift && doc.monitor === false) {
    problems.push({
      path: 'retrain.triggers.drift',
      message: 'drift alerts come from the monitor, and this lifecycle has none (monitor: false)',
    });
  }
  const watched = doc.monitor ? doc.monitor.features : undefined;
  drift?.features.forEach((feature, i) => {
    if (watched && !watched.includes(feature)) {
      problems.push({
        path: `retrain.triggers.drift.features.${i}`,
        message: `"${feature}" is not among the monitor's features (monitor.features), so it can never drift`,
      });
    }
  });
  if (drift && drift.minFeatures > drift.features.length) {
    problems.push({
      path: 'retrain.triggers.drift.minFeatures',
      message: `${drift.minFeatures} features must drift but only ${drift.features.length} are named`,
    });
  }
  return problems;
}

/** Puts a checked document and its resolved pipeline together; throws InvalidLifecycleSpecError on any problem. */
export function assembleLifecycleSpec(doc: LifecycleSpecDocument, pipeline: PipelineSpec): LifecycleSpec {
  const problems = lifecycleProblems(doc, pipeline);
  if (problems.length > 0) throw new InvalidLifecycleSpecError(problems);
  return {
    model: pipeline.model,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    pipeline,
    rollout: doc.rollout ?? {},
    monitor: doc.monitor ?? {},
    retrain: doc.retrain,
  };
}
