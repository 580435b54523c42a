// The lifecycle workflow's Query, Updates and Signals, for the workflow and its callers (api/, cli/, tests).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LifecycleRequest, LifecycleStatus, RollbackRequest } from '../domain/lifecycle.js';
import type { ApprovalSignal, DecisionRequest } from '../domain/rollout.js';

/** What an accepted lifecycle Update answers. */
export interface LifecycleAnswer {
  readonly accepted: true;
  readonly message: string;
  /** The active rollout's own answer, for Updates passed through to it. */
  readonly rollout?: unknown;
}

export const lifecycleStatusQuery = defineQuery<LifecycleStatus>('status');

/** Retrain now, whatever the triggers say (cooldown and budget guard automatic retrains only). Operator role. */
export const retrainNowUpdate = defineUpdate<LifecycleAnswer, [LifecycleRequest]>('retrainNow');
/** No automatic retrain, and the active rollout paused, until `resume`. Operator role. */
export const pauseUpdate = defineUpdate<LifecycleAnswer, [LifecycleRequest]>('pause');
export const resumeUpdate = defineUpdate<LifecycleAnswer, [LifecycleRequest]>('resume');
/** Abort the active rollout, or, with none, make the previous champion (or `toVersion`) the champion again. */
export const rollbackUpdate = defineUpdate<LifecycleAnswer, [RollbackRequest]>('rollback');
/** Passed through to the active rollout's `approve` / `reject` Update, under the rollout's identity rules. */
export const approveUpdate = defineUpdate<LifecycleAnswer, [DecisionRequest]>('approve');
export const rejectUpdate = defineUpdate<LifecycleAnswer, [DecisionRequest]>('reject');
/** The Temporal UI / CLI approval, passed to the active rollout's `approve` Signal. */
export const approveSignal = defineSignal<[ApprovalSignal]>('approve');
