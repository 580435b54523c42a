import { z } from 'zod';
import { callerAllows, type Caller, type Role } from './auth.js';
import type { LifecycleSpec } from './lifecycle-spec.js';
import type { RetrainLedger, RetrainTrigger } from './retrain-policy.js';
import { callerSchema } from './rollout.js';

/** The lifecycle workflow's id: one lifecycle per model. */
export function lifecycleWorkflowId(model: string): string {
  return `lifecycle-${model}`;
}

/** The model a lifecycle workflow id names, or undefined for another id. */
export function modelOfLifecycleId(workflowId: string): string | undefined {
  return /^lifecycle-([a-z0-9][a-z0-9_-]{0,62})$/.exec(workflowId)?.[1];
}

/**
 * What starts a lifecycle: plain JSON a person can type into the Temporal UI's Start Workflow form or
 * `temporal workflow start --input`: `{ "specPath": "examples/lifecycle/elec2-demo.yaml" }` or `{ "spec": {...} }`.
 */
export const lifecycleStartSchema = z
  .object({
    /** The lifecycle spec itself (YAML's content as JSON). */
    spec: z.record(z.string(), z.unknown()).optional(),
    /** A lifecycle spec file, resolved by the worker. */
    specPath: z.string().min(1).max(1000).optional(),
    /** Who asked; absent when started from Temporal directly (recorded as `temporal`). */
    requestedBy: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((input) => (input.spec === undefined) !== (input.specPath === undefined), {
    message: 'expected exactly one of spec (the lifecycle spec as JSON) or specPath (a spec file)',
  });
export type LifecycleStart = z.infer<typeof lifecycleStartSchema>;

/** The stages the Stage search attribute takes while a lifecycle runs. */
export type LifecycleStage =
  'starting' | 'training' | 'retraining' | 'rollout' | 'monitoring' | 'idle' | 'paused' | 'rejected';

/** Where the loop is; with the state, enough to continue as a new run. */
export type LifecyclePhase = 'training' | 'rollout' | 'monitoring' | 'idle';

/** One event in a lifecycle's history: a decision, an alert, a version's fate. Stored in `lifecycle_events`. */
export interface LifecycleEvent {
  /** Position in the lifecycle's history (across continue-as-new runs); idempotency key with the workflow id. */
  readonly seq: number;
  readonly at: string;
  readonly kind: LifecycleEventKind;
  /** One line for people (the terminal, the status). */
  readonly message: string;
  readonly version?: number;
  readonly actor?: string;
  /** The Temporal workflow this event is about (a training run, a rollout, the monitor), for a UI link. */
  readonly workflowId?: string;
  readonly runId?: string;
  /** Report artifacts by name (URIs). */
  readonly reports?: Readonly<Record<string, string>>;
  readonly details?: Readonly<Record<string, unknown>>;
}

export const lifecycleEventKinds = [
  'started',
  'training-started',
  'trained',
  'training-rejected',
  'training-failed',
  'rollout-started',
  'rollout-blocked',
  'promoted',
  'rolled-back',
  'rollout-failed',
  'monitor-started',
  'alert',
  'alert-cleared',
  'retrain-triggered',
  'retrain-deferred',
  'retrain-ignored',
  'retrain-skipped',
  'data-exported',
  'paused',
  'resumed',
  'rollback',
  'approval',
  'continued',
] as const;
export type LifecycleEventKind = (typeof lifecycleEventKinds)[number];

/** A version the lifecycle trained, and what became of it. */
export interface VersionRecord {
  readonly version: number;
  readonly trainedAt: string;
  readonly trainingWorkflowId: string;
  /** What led to it: the first training, or the retrain's trigger. */
  readonly cause: string;
  readonly datasetSha256?: string;
  /** Reused from an earlier run with the same dataset, spec and code (step caching). */
  readonly cached?: boolean;
  state: 'candidate' | 'in-rollout' | 'champion' | 'retired' | 'rolled-back';
  promotedAt?: string;
  endedAt?: string;
  reason?: string;
}

/** A drift or performance alert the monitor raised and has not cleared. */
export interface ActiveAlert {
  readonly since: string;
  readonly version: number;
  readonly features: readonly string[];
  readonly message: string;
  readonly reportUri?: string;
}

/** A retrain the policy deferred (cooldown, budget), asked again at `until` if its trigger still holds. */
export interface DeferredRetrain {
  readonly trigger: RetrainTrigger;
  readonly until: string;
}

/** The training a lifecycle is about to run or running. */
export interface PendingTraining {
  readonly kind: 'initial' | 'retrain';
  readonly trigger?: RetrainTrigger;
  /** The seq of the event that decided the retrain: the key of its data export. */
  readonly decidedAt?: number;
  /** Why, as the policy said it. */
  readonly reason?: string;
  readonly workflowId?: string;
  readonly startedAt?: string;
}

/**
 * Everything a lifecycle run carries into the next (continue-as-new). Small by design: the whole history lives in
 * PostgreSQL (`lifecycle_events`); here only the last few decisions and alerts.
 */
export interface LifecycleState {
  readonly spec: LifecycleSpec;
  /** sha256 of the pipeline spec's canonical JSON (the first training's spec hash). */
  readonly pipelineSpecHash: string;
  /** The dataset the first training read: what a retrain's `original` rows come from. */
  originalDatasetSha256: string | null;
  readonly requestedBy: string;
  readonly startedAt: string;
  /** How many runs this lifecycle has had (continue-as-new count + 1). */
  runNumber: number;
  /** The next event's seq. */
  seq: number;
  phase: LifecyclePhase;
  paused: boolean;
  champion: number | null;
  /** Champions before the current one, newest last (what `rollback` goes back to). */
  previousChampions: number[];
  /** A registered version waiting for (or in) its rollout. */
  candidate: number | null;
  training: PendingTraining | null;
  ledger: RetrainLedger;
  deferred: DeferredRetrain | null;
  activeAlert: ActiveAlert | null;
  /** The monitor child (it follows whichever version is the champion). */
  monitor: { workflowId: string; startedAt: string } | null;
  versions: VersionRecord[];
  recentEvents: LifecycleEvent[];
  totals: { events: number; alerts: number; retrains: number };
}

/** The workflow's input: a start request, or the state of the run before (continue-as-new). */
export type LifecycleInput = LifecycleStart | { readonly resume: LifecycleState };

/** The `status` Query. Plain JSON. */
export interface LifecycleStatus {
  readonly model: string;
  readonly workflowId: string;
  readonly stage: LifecycleStage;
  readonly phase: LifecyclePhase;
  readonly paused: boolean;
  readonly champion: number | null;
  readonly candidate: number | null;
  /** The child workflow in flight (training or rollout). */
  readonly active: { readonly kind: 'training' | 'rollout'; readonly workflowId: string } | null;
  readonly monitor: LifecycleState['monitor'];
  readonly activeAlert: ActiveAlert | null;
  readonly retrain: {
    readonly lastTrainingAt: string;
    readonly automaticRetrainsInPeriod: readonly string[];
    readonly budgetLeft: number;
    readonly cooldownUntil: string;
    readonly nextScheduledAt?: string;
    readonly deferred: DeferredRetrain | null;
  };
  readonly versions: readonly VersionRecord[];
  /** The latest events; the whole history is in `lifecycle_events` (API: GET /v1/lifecycles/:model/events). */
  readonly recentEvents: readonly LifecycleEvent[];
  readonly totals: LifecycleState['totals'];
  readonly runNumber: number;
  readonly startedAt: string;
  readonly requestedBy: string;
}

export interface LifecycleResult {
  readonly model: string;
  readonly outcome: 'rejected' | 'stopped';
  readonly problems?: readonly { path: string; message: string }[];
  readonly message: string;
}

/** An Update from a person (through the API or CLI, which pass the authenticated key). */
export const lifecycleRequestSchema = z
  .object({
    caller: callerSchema,
    comment: z.string().max(2000).optional(),
    /** Where the request came from (`api`, `cli`), for the audit log. */
    source: z.string().max(100).optional(),
  })
  .strict();
export type LifecycleRequest = z.infer<typeof lifecycleRequestSchema>;

export const rollbackRequestSchema = lifecycleRequestSchema
  .extend({
    /** The version to go back to; default: the champion before the current one. */
    toVersion: z.number().int().positive().optional(),
  })
  .strict();
export type RollbackRequest = z.infer<typeof rollbackRequestSchema>;

/** The role each lifecycle Update needs for the model (approve/reject follow the rollout's rules). */
export const lifecycleUpdateRoles = {
  retrainNow: 'operator',
  pause: 'operator',
  resume: 'operator',
  rollback: 'operator',
} as const satisfies Record<string, Role>;

/** Why `caller` may not send `update` to `model`'s lifecycle, or undefined when it may. */
export function lifecycleCallerRefusal(
  caller: Caller,
  model: string,
  update: keyof typeof lifecycleUpdateRoles,
): string | undefined {
  const needed = lifecycleUpdateRoles[update];
  return callerAllows(caller, needed, model)
    ? undefined
    : `${caller.name} (role ${caller.role}${caller.models ? `, models ${caller.models.join('|')}` : ''}) may not ${update} ${model}: that needs the ${needed} role for ${model}`;
}
