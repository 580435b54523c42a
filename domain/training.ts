import { z } from 'zod';
import type { GateDecision, MetricDifference, Metrics } from './gates.js';
import type { MetricName, PipelineSpec, SpecProblem } from './pipeline-spec.js';
import { defaultQueuePrefix } from './task-queues.js';

/**
 * Input of the `training` workflow: plain JSON a person can type into the Temporal UI's Start Workflow form or
 * `temporal workflow start --input`. Either the spec itself (the YAML spec as JSON) or the path of a spec file that
 * a worker reads from its spec roots. The workflow's first activity validates the spec and computes its hash; an
 * invalid spec ends the run as `rejected` with every problem listed by field path.
 */
export const trainingRequestSchema = z
  .object({
    /** The pipeline spec as JSON (validated by the first activity, so every problem is reported by field path). */
    spec: z.unknown().optional(),
    /** A YAML or JSON spec file on the worker, e.g. `examples/elec2-logistic.yaml` (relative to the repository). */
    specPath: z.string().min(1, 'expected a path').max(1024, 'expected at most 1024 characters').optional(),
    /** Who asked (API key owner, CLI user, or whoever typed it); recorded in the audit log. */
    requestedBy: z.string().min(1).max(200).default('temporal'),
    /** Task-queue prefix (`slipway` unless the stack is isolated, as in tests). */
    queuePrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lower-case letters, digits, _ and -')
      .default(defaultQueuePrefix),
    /** Accepted from older starters and ignored: the hash is always computed from the validated spec. */
    specHash: z.string().optional(),
    /** Reuse a finished run with the same dataset, spec and code (default true); false trains again. */
    cache: z.boolean().optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    if ((request.spec === undefined) === (request.specPath === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: request.spec === undefined ? [] : ['specPath'],
        message:
          'expected exactly one of "spec" (the spec as JSON) or "specPath" (a spec file on the worker)',
      });
    }
  });
export type TrainingRequest = z.input<typeof trainingRequestSchema>;
export type ParsedTrainingRequest = z.output<typeof trainingRequestSchema>;

/** A request's problems by field path (`spec.trainer.kind`, `queuePrefix`), or its parsed value. */
export function parseTrainingRequest(
  raw: unknown,
): { ok: true; request: ParsedTrainingRequest } | { ok: false; problems: SpecProblem[] } {
  const parsed = trainingRequestSchema.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, request: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => ({
      path: issue.path.join('.') || '(input)',
      message: issue.message,
    })),
  };
}

/**
 * The input recorded by runs started before the workflow validated its own input: a validated spec, its hash, the
 * queue prefix and the requester. Still accepted, so those runs replay.
 */
export interface ResolvedTrainingInput {
  readonly spec: PipelineSpec;
  readonly specHash: string;
  readonly queuePrefix: string;
  readonly requestedBy: string;
  /** Reuse a finished run with the same dataset, spec and code (default true); false trains again. */
  readonly cache?: boolean;
}

/** Whether a run reused a finished run's outputs (step caching), and why it did or did not. */
export interface TrainingCache {
  readonly hit: boolean;
  readonly reason: string;
  /** What was looked up: the dataset's sha256, the spec's hash and the worker's code version. */
  readonly key?: { readonly datasetSha256: string; readonly specHash: string; readonly codeVersion: string };
  readonly fromRunId?: string;
  readonly fromWorkflowId?: string;
  readonly version?: number;
}

/** Either shape the `training` workflow takes. */
export type TrainingInput = TrainingRequest | ResolvedTrainingInput;

/** The first stage (`spec`: validating the spec and reading its file) and the five pipeline stages. */
export const trainingStages = ['spec', 'ingest', 'validate', 'train', 'evaluate', 'register'] as const;
export type TrainingStage = (typeof trainingStages)[number];

export interface StageState {
  readonly stage: TrainingStage;
  /** `cached`: its output was reused from an earlier run (step caching). */
  readonly state: 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'cached';
}

export type TrainingOutcome = 'registered' | 'rejected';

export interface TrainingResult {
  readonly outcome: TrainingOutcome;
  readonly model: string;
  readonly runId: string;
  /** Present when registered. */
  readonly version?: number;
  /** Why not registered: which stage refused and the reasons. */
  readonly rejectedAt?: TrainingStage;
  readonly reasons?: readonly string[];
  /** For a spec rejected at the `spec` stage: every problem by field path. */
  readonly problems?: readonly SpecProblem[];
  readonly metrics?: Metrics;
  readonly gates?: GateDecision;
  readonly versusChampion?: Partial<Record<MetricName, MetricDifference>>;
  readonly championVersion?: number;
  readonly datasetSha256?: string;
  readonly artifactUri?: string;
  readonly artifactSha256?: string;
  readonly reports: {
    readonly validationJson?: string;
    readonly validationHtml?: string;
    readonly evaluationJson?: string;
    readonly evaluationHtml?: string;
    readonly referenceProfile?: string;
  };
  /** Step caching: whether this run reused a finished run's outputs, and why. */
  readonly cache?: TrainingCache;
  /** The rollout a registered version was handed to (spec option `rollout:`). */
  readonly rollout?: {
    readonly workflowId: string;
    readonly started: boolean;
    /** Why it did not start (another rollout of the model is running). */
    readonly reason?: string;
  };
  readonly training?: {
    readonly worker: string;
    readonly device: string;
    readonly resumedFromStep?: number;
    readonly seconds: number;
  };
}

export interface TrainingStatus {
  readonly runId: string;
  readonly model: string;
  readonly stage: TrainingStage | 'done';
  readonly stages: readonly StageState[];
  readonly trainQueue: string;
  readonly cache?: TrainingCache;
  readonly result?: TrainingResult;
}
