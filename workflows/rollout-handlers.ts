// The rollout workflow's messages (Query, Updates, Signal) and their handlers. Defined beside the workflow, so api/
// and cli/ get typed handles; each Update's validator refuses a caller the rollout must not obey.
import {
  ApplicationFailure,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  setHandler,
} from '@temporalio/workflow';
import type { Caller } from '../domain/auth.js';
import {
  approvalSignalSchema,
  decisionRequestSchema,
  type ApprovalOutcome,
  type ApprovalSignal,
  type DecisionRequest,
  type RolloutRequestInput,
  type RolloutStatus,
} from '../domain/rollout.js';
import {
  addApproval,
  approvalRefusal,
  operatorRefusal,
  rejectionRefusal,
  statusOf,
  type PlannedPhase,
  type RolloutState,
} from '../domain/rollout-state.js';

export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');
/** Approve at the gate; the validator refuses a caller without the approver role for the model. */
export const approveUpdate = defineUpdate<ApprovalOutcome, [DecisionRequest]>('approve');
/** Reject: roll back now (approver role). */
export const rejectUpdate = defineUpdate<{ message: string }, [DecisionRequest]>('reject');
/** Hold the rollout where it is (operator role); a breached threshold still rolls back. */
export const pauseUpdate = defineUpdate<{ message: string }, [DecisionRequest]>('pause');
export const resumeUpdate = defineUpdate<{ message: string }, [DecisionRequest]>('resume');
/** Roll back now (operator role). */
export const abortUpdate = defineUpdate<{ message: string }, [DecisionRequest]>('abort');
/**
 * Approve from the Temporal UI's "Send a Signal" or `temporal workflow signal --name approve --input
 * '{"approver":"alice"}'`: counted when the name is among the plan's approvers, recorded as coming through Temporal
 * (whose namespace permissions decide who may send it).
 */
export const approveSignal = defineSignal<[ApprovalSignal]>('approve');

/** Thrown by validators: the type tells the API which HTTP status to answer. */
function refuse(type: 'Forbidden' | 'Conflict' | 'InvalidRequest', message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

function parseDecision(raw: DecisionRequest): DecisionRequest & { caller: Caller } {
  const parsed = decisionRequestSchema.safeParse(raw);
  if (!parsed.success)
    refuse(
      'InvalidRequest',
      `a decision needs { caller: { name, role }, comment? }: ${parsed.error.message}`,
    );
  return parsed.data;
}

/** What the handlers need from the running workflow. */
export interface RolloutHandlerContext {
  readonly input: RolloutRequestInput;
  /** The state once the input is resolved; undefined while preparing. */
  readonly state: () => RolloutState | undefined;
  readonly phases: () => readonly PlannedPhase[];
  /** Appends to the audit log (an activity). */
  readonly record: (actor: string, action: string, source: string, details: unknown) => Promise<void>;
}

/** Registers the status Query, the approve/reject/pause/resume/abort Updates and the approve Signal. */
export function installRolloutHandlers(ctx: RolloutHandlerContext): void {
  const { input, record } = ctx;
  setHandler(rolloutStatusQuery, () => {
    const state = ctx.state();
    return state
      ? statusOf(state, ctx.phases(), Date.now())
      : ({
          // What was typed, whatever it is: the input is validated by the first activity.
          model: typeof input?.model === 'string' ? input.model : '',
          version: typeof input?.version === 'number' ? input.version : 0,
          champion: null,
          phase: 'preparing',
          stage: 'preparing',
          step: null,
          steps: [],
          traffic: { champion: null, challenger: null, challengerWeight: 0, shadow: false },
          paused: false,
          approvals: [],
          refusedApprovals: [],
          approvalsNeeded: 1,
          history: [],
        } satisfies RolloutStatus);
  });

  setHandler(
    approveUpdate,
    async (request) => {
      const outcome = addApproval(ctx.state()!, {
        approver: request.caller.name,
        at: new Date().toISOString(),
        source: request.source ?? 'api',
        ...(request.from ? { from: request.from } : {}),
        ...(request.comment ? { comment: request.comment } : {}),
      });
      await record(request.caller.name, 'rollout.approve', request.source ?? 'api', {
        from: request.from,
        comment: request.comment,
        counted: outcome.counted,
        approvers: outcome.approvers,
        needed: outcome.needed,
      });
      return outcome;
    },
    {
      validator: (raw: DecisionRequest) => {
        const request = parseDecision(raw);
        const refusal = approvalRefusal(ctx.state(), request.caller);
        if (refusal) refuse(refusal.type, refusal.message);
      },
    },
  );

  setHandler(approveSignal, async (raw) => {
    const parsed = approvalSignalSchema.safeParse(raw);
    const approver = parsed.success
      ? parsed.data.approver
      : String((raw as { approver?: unknown })?.approver);
    const comment = parsed.success ? parsed.data.comment : undefined;
    const at = new Date().toISOString();
    const refusal = parsed.success
      ? approvalRefusal(ctx.state(), { signal: approver })?.message
      : `a malformed approve Signal (expected {"approver": "<name>", "comment": "..."}): ${parsed.error.issues[0]?.message}`;
    if (refusal) {
      ctx.state()?.refused.push({ approver, at, source: 'temporal-signal', reason: refusal });
      log.warn('approve Signal refused', { approver, refusal });
      await record(approver, 'rollout.approve.refused', 'temporal-signal', { comment, reason: refusal });
      return;
    }
    const outcome = addApproval(ctx.state()!, {
      approver,
      at,
      source: 'temporal-signal',
      ...(comment ? { comment } : {}),
    });
    await record(approver, 'rollout.approve', 'temporal-signal', {
      comment,
      counted: outcome.counted,
      approvers: outcome.approvers,
      needed: outcome.needed,
      note: 'through Temporal: the namespace permissions decide who may send this Signal',
    });
  });

  const stopHandler = (kind: 'reject' | 'abort') => async (request: DecisionRequest) => {
    ctx.state()!.stop = {
      kind,
      by: request.caller.name,
      source: request.source ?? 'api',
      ...(request.comment ? { comment: request.comment } : {}),
    };
    await record(request.caller.name, `rollout.${kind}`, request.source ?? 'api', {
      comment: request.comment,
      from: request.from,
    });
    return {
      message: `${kind === 'reject' ? 'rejected' : 'aborted'} by ${request.caller.name}: rolling back`,
    };
  };
  setHandler(rejectUpdate, stopHandler('reject'), {
    validator: (raw: DecisionRequest) => {
      const refusal = rejectionRefusal(ctx.state(), parseDecision(raw).caller);
      if (refusal) refuse(refusal.type, refusal.message);
    },
  });
  setHandler(abortUpdate, stopHandler('abort'), {
    validator: (raw: DecisionRequest) => {
      const refusal = operatorRefusal(ctx.state(), parseDecision(raw).caller, 'abort');
      if (refusal) refuse(refusal.type, refusal.message);
    },
  });
  for (const [update, action] of [
    [pauseUpdate, 'pause'],
    [resumeUpdate, 'resume'],
  ] as const) {
    setHandler(
      update,
      async (request) => {
        const s = ctx.state()!;
        if (action === 'pause') s.pausedSinceMs = Date.now();
        else {
          s.pausedMs += Date.now() - (s.pausedSinceMs ?? Date.now());
          s.pausedSinceMs = null;
        }
        await record(request.caller.name, `rollout.${action}`, request.source ?? 'api', {
          comment: request.comment,
          from: request.from,
          stage: s.stage,
        });
        return {
          message: `${action === 'pause' ? 'paused' : 'resumed'} at ${s.stage} by ${request.caller.name}`,
        };
      },
      {
        validator: (raw: DecisionRequest) => {
          const refusal = operatorRefusal(ctx.state(), parseDecision(raw).caller, action);
          if (refusal) refuse(refusal.type, refusal.message);
        },
      },
    );
  }
}
