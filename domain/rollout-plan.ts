import { z } from 'zod';
import { durationSchema, formatDuration } from './duration.js';
import { actorNameSchema } from './model-name.js';

/**
 * A rollout plan as a person writes it (YAML, JSON, a Temporal UI form): every field optional. `resolveRolloutPlan`
 * fills the durations from the deployment's settings and the thresholds from the defaults documented here, and
 * checks what only makes sense together. docs/rollout.md describes every field.
 */
const phaseFields = {
  /** Least time in the phase before it can pass (the challenger must also meet every threshold). */
  bakeTime: durationSchema({ min: 100 }).optional(),
  /** Least scored rows per version before the phase can pass. */
  minSamples: z.number().int().min(1).max(100_000_000).optional(),
  /** Longest time the phase may take: still too few samples or a missing metric then fails the rollout. */
  maxWait: durationSchema({ min: 100 }).optional(),
};

export const shadowPlanSpecSchema = z.object(phaseFields).strict();

export const canaryStepSpecSchema = z
  .object({
    /** Share of live requests the challenger answers, in percent (the rest stay with the champion). */
    weight: z
      .number({ message: 'expected a percentage such as 5' })
      .gt(0, 'expected a percentage above 0')
      .lt(100, 'expected a percentage below 100 (promotion sends 100 %)'),
    ...phaseFields,
  })
  .strict();

const rate = (what: string) =>
  z
    .number({ message: `${what}: expected a share between 0 and 1` })
    .min(0)
    .max(1, 'expected a share ≤ 1');

export const analysisSpecSchema = z
  .object({
    /** How often a phase's metrics are computed and judged; a fault rolls back within one interval. */
    interval: durationSchema({ min: 100 }).optional(),
    /** Largest share of the challenger's rows that may fail (error, NaN, timeout). Default 0.01. */
    maxErrorRate: rate('maxErrorRate').optional(),
    /** Largest share of challenger-routed requests the champion may have to answer instead. Default 0.01. */
    maxFallbackRate: rate('maxFallbackRate').optional(),
    /** Largest challenger p99 latency as a multiple of the champion's p99 on the same step. Default 1.5. */
    maxLatencyRatio: z.number().min(1, 'expected a ratio ≥ 1').max(1000).optional(),
    /** Slack added to the latency limit, so sub-millisecond noise can't fail a step. Default 5 ms. */
    latencyToleranceMs: z.number().min(0).max(60_000).optional(),
    /** Largest Jensen-Shannon divergence (bits, 0..1) between the two versions' score distributions. Default 0.1. */
    maxScoreDivergence: z.number().gt(0).max(1).optional(),
    /** Largest drop of online accuracy (labelled rows) against the champion, in accuracy units. Default 0.02. */
    maxAccuracyDrop: rate('maxAccuracyDrop').optional(),
    /** Largest drop of online AUC against the champion. Default 0.02. */
    maxAucDrop: rate('maxAucDrop').optional(),
    /** Labelled rows per version before accuracy and AUC are judged. Default 200. */
    minLabels: z.number().int().min(1).max(100_000_000).optional(),
    /**
     * `when-available` (default): accuracy and AUC are judged once `minLabels` labels arrived, skipped otherwise.
     * `required`: a phase can't pass without them, and their absence at `maxWait` fails the rollout.
     */
    labels: z.enum(['when-available', 'required']).optional(),
    /** Score at or above which a prediction counts as the positive class for online accuracy. Default 0.5. */
    threshold: z.number().gt(0).lt(1).optional(),
  })
  .strict();

export const approvalSpecSchema = z
  .object({
    /**
     * Who may approve: API key names for the `approve` Update (which also needs the approver role for the model),
     * and the names the Temporal `approve` Signal may carry. Empty (default): anyone with the approver role,
     * through the Update only.
     */
    approvers: z.array(actorNameSchema).max(100).optional(),
    /** Two different people must approve. */
    twoPersonRule: z.boolean().optional(),
    /** How long the gate waits for approval. */
    timeout: durationSchema({ min: 100 }).optional(),
    /** What an unanswered gate does at its timeout. Default `rollback`. */
    onTimeout: z.enum(['rollback', 'promote']).optional(),
  })
  .strict();

export const rolloutPlanSpecSchema = z
  .object({
    /** The challenger scores every request off the response path before it answers any; `false` skips it. */
    shadow: z
      .union([shadowPlanSpecSchema, z.literal(false)], {
        message: 'expected shadow settings ({ bakeTime, minSamples, maxWait }) or false',
      })
      .optional(),
    /** Canary steps in increasing weight. Default 5, 25 and 50 %. */
    steps: z.array(canaryStepSpecSchema).min(1, 'expected at least one canary step').max(20).optional(),
    /**
     * The challenger keeps shadowing the champion's requests during canary steps (default true): its scores are
     * then paired with the champion's on the same inputs, and online accuracy compares both on the same labels.
     */
    shadowDuringCanary: z.boolean().optional(),
    analysis: analysisSpecSchema.optional(),
    approval: approvalSpecSchema.optional(),
    /** Request header or row field whose value pins a caller to one version; null: random per request. */
    stickyKey: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected a header or field name (letters, digits, _ . -)')
      .nullable()
      .optional(),
  })
  .strict();

export type RolloutPlanSpec = z.infer<typeof rolloutPlanSpecSchema>;
/** A plan as written: durations as text (`30s`) or milliseconds. */
export type RolloutPlanInput = z.input<typeof rolloutPlanSpecSchema>;

/** Defaults of the durations and sample counts, from the deployment's settings (platform/config.ts). */
export interface RolloutDefaults {
  readonly analysisIntervalMs: number;
  readonly bakeTimeMs: number;
  readonly maxWaitMs: number;
  readonly minSamples: number;
  readonly approvalTimeoutMs: number;
  /**
   * History length (events) after which the workflow continues as a new run, carrying its state; Temporal's own
   * suggestion triggers it earlier when the server makes one. Not a plan value.
   */
  readonly continueAsNewAfterEvents?: number;
}

export const builtInRolloutDefaults: RolloutDefaults = {
  analysisIntervalMs: 60_000,
  bakeTimeMs: 10 * 60_000,
  maxWaitMs: 60 * 60_000,
  minSamples: 500,
  approvalTimeoutMs: 24 * 60 * 60_000,
};

export interface PhasePlan {
  readonly bakeTimeMs: number;
  readonly minSamples: number;
  readonly maxWaitMs: number;
}

export interface CanaryStepPlan extends PhasePlan {
  /** Percent of live requests the challenger answers. */
  readonly weight: number;
}

export interface AnalysisPlan {
  readonly intervalMs: number;
  readonly maxErrorRate: number;
  readonly maxFallbackRate: number;
  readonly maxLatencyRatio: number;
  readonly latencyToleranceMs: number;
  readonly maxScoreDivergence: number;
  readonly maxAccuracyDrop: number;
  readonly maxAucDrop: number;
  readonly minLabels: number;
  readonly labels: 'when-available' | 'required';
  readonly threshold: number;
}

export interface ApprovalPlan {
  readonly approvers: readonly string[];
  readonly twoPersonRule: boolean;
  readonly timeoutMs: number;
  readonly onTimeout: 'rollback' | 'promote';
}

/** A plan with every value filled in: what the rollout workflow runs. Plain JSON. */
export interface RolloutPlan {
  readonly shadow: PhasePlan | null;
  readonly steps: readonly CanaryStepPlan[];
  readonly shadowDuringCanary: boolean;
  readonly analysis: AnalysisPlan;
  readonly approval: ApprovalPlan;
  readonly stickyKey: string | null;
}

export const defaultAnalysis: Omit<AnalysisPlan, 'intervalMs'> = {
  maxErrorRate: 0.01,
  maxFallbackRate: 0.01,
  maxLatencyRatio: 1.5,
  latencyToleranceMs: 5,
  maxScoreDivergence: 0.1,
  maxAccuracyDrop: 0.02,
  maxAucDrop: 0.02,
  minLabels: 200,
  labels: 'when-available',
  threshold: 0.5,
};

export const defaultStepWeights = [5, 25, 50] as const;

/** One problem of a rollout request, by field path. */
export interface RolloutProblem {
  readonly path: string;
  readonly message: string;
}

/** Thrown for a bad rollout request or plan; lists every problem by field path. */
export class InvalidRolloutError extends Error {
  override readonly name = 'InvalidRolloutInput';
  constructor(readonly problems: readonly RolloutProblem[]) {
    super(`invalid rollout:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

type Issue = z.core.$ZodIssue;

/**
 * A union that failed as a whole (`shadow: { ... } | false`) reports the branch that got furthest, the one whose
 * problems are all inside the value, so a typo in `shadow.bakeTime` is named there rather than at `shadow`.
 */
function expandUnion(issue: Issue, base: PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branch = issue.errors.find((issues) => issues.length > 0 && issues.every((i) => i.path.length > 0));
    if (branch) return branch.flatMap((i) => expandUnion(i, path));
  }
  return [{ path, message: issue.message }];
}

/** zod issues as problems, paths prefixed (e.g. `plan.`). */
export function problemsOf(error: z.ZodError, prefix = ''): RolloutProblem[] {
  return error.issues
    .flatMap((issue) => expandUnion(issue, []))
    .map(({ path, message }) => ({
      path: [prefix, ...path.map(String)].filter(Boolean).join('.') || '(input)',
      message,
    }));
}

/** Validates a plan document (YAML, JSON, an HTTP body); throws InvalidRolloutError with every problem. */
export function parseRolloutPlanSpec(raw: unknown, prefix = ''): RolloutPlanSpec {
  const parsed = rolloutPlanSpecSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new InvalidRolloutError(problemsOf(parsed.error, prefix));
  return parsed.data;
}

/**
 * Fills a plan's unset values (durations and sample counts from `defaults`, thresholds from `defaultAnalysis`) and
 * checks the rules that span fields: weights increase, no phase's bake time exceeds its maximum wait, a two-person
 * rule with a named list names two people. Throws InvalidRolloutError naming each problem (paths under `prefix`).
 */
export function resolveRolloutPlan(
  spec: RolloutPlanSpec,
  defaults: RolloutDefaults,
  prefix = 'plan',
): RolloutPlan {
  const problems: RolloutProblem[] = [];
  const at = (...path: (string | number)[]) => [prefix, ...path].filter((p) => p !== '').join('.');
  const phase = (raw: z.infer<typeof shadowPlanSpecSchema>, path: (string | number)[]): PhasePlan => {
    const bakeTimeMs = raw.bakeTime ?? defaults.bakeTimeMs;
    // An unset maximum wait is never shorter than the phase's own bake time.
    const resolved = {
      bakeTimeMs,
      minSamples: raw.minSamples ?? defaults.minSamples,
      maxWaitMs: raw.maxWait ?? Math.max(defaults.maxWaitMs, bakeTimeMs),
    };
    if (resolved.maxWaitMs < resolved.bakeTimeMs) {
      problems.push({
        path: at(...path, 'maxWait'),
        message: `${formatDuration(resolved.maxWaitMs)} is shorter than the bake time ${formatDuration(resolved.bakeTimeMs)}`,
      });
    }
    return resolved;
  };
  const shadow = spec.shadow === false ? null : phase(spec.shadow ?? {}, ['shadow']);
  const stepSpecs: z.infer<typeof canaryStepSpecSchema>[] =
    spec.steps ?? defaultStepWeights.map((weight) => ({ weight }));
  const steps = stepSpecs.map((step, i) => ({ weight: step.weight, ...phase(step, ['steps', i]) }));
  steps.forEach((step, i) => {
    const before = steps[i - 1];
    if (before && step.weight <= before.weight) {
      problems.push({
        path: at('steps', i, 'weight'),
        message: `expected weights in increasing order (${step.weight} % follows ${before.weight} %)`,
      });
    }
  });
  const approvers = [...new Set(spec.approval?.approvers ?? [])];
  const twoPersonRule = spec.approval?.twoPersonRule ?? false;
  if (twoPersonRule && approvers.length === 1) {
    problems.push({
      path: at('approval', 'approvers'),
      message:
        'the two-person rule needs at least two approvers (or none listed: anyone with the approver role)',
    });
  }
  if (problems.length > 0) throw new InvalidRolloutError(problems);
  return {
    shadow,
    steps,
    shadowDuringCanary: spec.shadowDuringCanary ?? true,
    analysis: {
      intervalMs: spec.analysis?.interval ?? defaults.analysisIntervalMs,
      maxErrorRate: spec.analysis?.maxErrorRate ?? defaultAnalysis.maxErrorRate,
      maxFallbackRate: spec.analysis?.maxFallbackRate ?? defaultAnalysis.maxFallbackRate,
      maxLatencyRatio: spec.analysis?.maxLatencyRatio ?? defaultAnalysis.maxLatencyRatio,
      latencyToleranceMs: spec.analysis?.latencyToleranceMs ?? defaultAnalysis.latencyToleranceMs,
      maxScoreDivergence: spec.analysis?.maxScoreDivergence ?? defaultAnalysis.maxScoreDivergence,
      maxAccuracyDrop: spec.analysis?.maxAccuracyDrop ?? defaultAnalysis.maxAccuracyDrop,
      maxAucDrop: spec.analysis?.maxAucDrop ?? defaultAnalysis.maxAucDrop,
      minLabels: spec.analysis?.minLabels ?? defaultAnalysis.minLabels,
      labels: spec.analysis?.labels ?? defaultAnalysis.labels,
      threshold: spec.analysis?.threshold ?? defaultAnalysis.threshold,
    },
    approval: {
      approvers,
      twoPersonRule,
      timeoutMs: spec.approval?.timeout ?? defaults.approvalTimeoutMs,
      onTimeout: spec.approval?.onTimeout ?? 'rollback',
    },
    stickyKey: spec.stickyKey ?? null,
  };
}
