import { z } from 'zod';
import { callerAllows, roles, type Caller } from './auth.js';
import { actorNameSchema, modelNameSchema } from './model-name.js';
import type { StepVerdict } from './rollout-analysis.js';
import type { StepMetrics } from './rollout-metrics.js';
import {
  InvalidRolloutError,
  problemsOf,
  resolveRolloutPlan,
  type RolloutProblem,
  rolloutPlanSpecSchema,
  type RolloutDefaults,
  type RolloutPlan,
} from './rollout-plan.js';

/** The rollout workflow's id: one rollout per model at a time. */
export function rolloutWorkflowId(model: string): string {
  return `rollout-${model}`;
}

/**
 * What starts a rollout: plain JSON a person can type into the Temporal UI's Start Workflow form or
 * `temporal workflow start --input`, e.g. `{ "model": "elec2-price", "version": 3, "plan": { ... } }`.
 */
export const rolloutRequestSchema = z
  .object({
    model: modelNameSchema,
    version: z
      .number({ message: 'expected a registered version number such as 3' })
      .int('expected a whole version number')
      .positive('expected a version number ≥ 1'),
    plan: rolloutPlanSpecSchema.optional(),
    /** Who asked; absent when started from Temporal directly (recorded as `temporal`). */
    requestedBy: z.string().min(1).max(200).optional(),
  })
  .strict();

export type RolloutRequest = z.infer<typeof rolloutRequestSchema>;
/** The request as written: durations as text (`30s`) or milliseconds. */
export type RolloutRequestInput = z.input<typeof rolloutRequestSchema>;

/**
 * Validates a rollout request and resolves its plan; throws InvalidRolloutError listing every problem by path, the
 * plan's cross-field ones (step order, waits shorter than bake times) included even when other fields are wrong too.
 */
export function parseRolloutRequest(
  raw: unknown,
  defaults: RolloutDefaults,
): { request: RolloutRequest; plan: RolloutPlan } {
  const parsed = rolloutRequestSchema.safeParse(raw ?? {});
  const problems: RolloutProblem[] = parsed.success ? [] : problemsOf(parsed.error);
  const rawPlan = (raw as { plan?: unknown } | null | undefined)?.plan;
  const planSpec = rolloutPlanSpecSchema.safeParse(rawPlan ?? {});
  let plan: RolloutPlan | undefined;
  if (planSpec.success) {
    try {
      plan = resolveRolloutPlan(planSpec.data, defaults);
    } catch (error) {
      if (!(error instanceof InvalidRolloutError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (!parsed.success || !plan || problems.length > 0) throw new InvalidRolloutError(problems);
  return { request: parsed.data, plan };
}

export type RolloutPhase =
  | 'preparing'
  | 'shadow'
  | 'canary'
  | 'awaiting-approval'
  | 'promoting'
  | 'rolling-back'
  | 'promoted'
  | 'rolled-back';

/** The Stage search attribute: shadow, canary-5, ..., awaiting-approval, promoted, rolled-back. */
export function stageName(phase: RolloutPhase, weight?: number): string {
  return phase === 'canary' ? `canary-${weight ?? 0}` : phase;
}

/** Who may call an Update: the authenticated caller the API (or CLI, through the API) passes on. */
export const callerSchema = z
  .object({
    name: z.string().min(1).max(200),
    role: z.enum(roles),
    models: z.array(z.string()).readonly().optional(),
  })
  .strict();

export const decisionRequestSchema = z
  .object({
    caller: callerSchema,
    comment: z.string().max(2000).optional(),
    /** Where the request came from (`api`, `cli`), for the audit log. */
    source: z.string().max(100).optional(),
    /** The client's network address, as the API saw it. */
    from: z.string().max(200).optional(),
  })
  .strict();
export type DecisionRequest = z.infer<typeof decisionRequestSchema>;

/** The Temporal UI / CLI Signal: `{ "approver": "alice", "comment": "looks good" }`. */
export const approvalSignalSchema = z
  .object({ approver: actorNameSchema, comment: z.string().max(2000).optional() })
  .strict();
export type ApprovalSignal = z.infer<typeof approvalSignalSchema>;

export interface Approval {
  readonly approver: string;
  readonly at: string;
  /** `api`, `cli`, or `temporal-signal` (the Temporal UI or `temporal workflow signal`). */
  readonly source: string;
  /** The client's address when it came through the API. */
  readonly from?: string;
  readonly comment?: string;
}

export interface RefusedApproval extends Approval {
  readonly reason: string;
}

export interface ApprovalOutcome {
  /** Whether this approval counted (a second approval by the same person does not). */
  readonly counted: boolean;
  readonly approvers: readonly string[];
  readonly needed: number;
  readonly message: string;
}

/** One phase as it ended: the traffic it had, its last metrics' verdict, how long it ran. */
export interface PhaseRecord {
  readonly stage: string;
  readonly weight: number;
  readonly shadow: boolean;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly outcome: 'pass' | 'fail' | 'aborted';
  readonly verdict?: StepVerdict;
}

/** What the rollout writes to the deployment: the champion, the challenger and the split. */
export interface TrafficSplit {
  readonly champion: number | null;
  readonly challenger: number | null;
  /** Share of live requests the challenger answers, 0..1. */
  readonly challengerWeight: number;
  readonly shadow: boolean;
}

export type RolloutOutcome = 'promoted' | 'rolled-back';

/** The `status` Query. Plain JSON. */
export interface RolloutStatus {
  readonly model: string;
  readonly version: number;
  readonly champion: number | null;
  readonly phase: RolloutPhase;
  readonly stage: string;
  /** Index into the plan's phases (shadow first when planned), or null outside them. */
  readonly step: number | null;
  readonly steps: readonly string[];
  readonly traffic: TrafficSplit;
  readonly paused: boolean;
  readonly plan?: RolloutPlan;
  readonly requestedBy?: string;
  /** The current phase's metrics per version and the verdict on them so far. */
  readonly metrics?: StepMetrics;
  readonly verdict?: StepVerdict;
  readonly stepStartedAt?: string;
  /** The earliest the current phase can end (its bake time, pauses added) and the latest (its maximum wait). */
  readonly earliestEndAt?: string;
  readonly deadlineAt?: string;
  readonly approvals: readonly Approval[];
  readonly refusedApprovals: readonly RefusedApproval[];
  readonly approvalsNeeded: number;
  readonly approvalDeadlineAt?: string;
  readonly history: readonly PhaseRecord[];
  readonly outcome?: RolloutOutcome;
  readonly reason?: string;
}

export interface RolloutResult {
  readonly model: string;
  readonly version: number;
  readonly outcome: RolloutOutcome;
  /** The champion after the rollout. */
  readonly champion: number | null;
  readonly previousChampion: number | null;
  readonly reason: string;
  readonly approvals: readonly Approval[];
  readonly history: readonly PhaseRecord[];
}

/** Whether `caller` may decide (approve or reject) for `model` under `approvers` (empty: any approver). */
export function approverRefusal(
  caller: Caller,
  model: string,
  approvers: readonly string[],
): string | undefined {
  if (!callerAllows(caller, 'approver', model)) {
    return `${caller.name} (role ${caller.role}${caller.models ? `, models ${caller.models.join('|')}` : ''}) may not approve or reject ${model}: that needs the approver role for ${model}`;
  }
  if (approvers.length > 0 && !approvers.includes(caller.name)) {
    return `${caller.name} is not among this rollout's approvers (${approvers.join(', ')})`;
  }
  return undefined;
}
