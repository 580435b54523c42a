// The lifecycle's Query, Updates and Signals (defined in lifecycle-messages.ts): what a person, the Temporal UI and
// the monitor can tell a running lifecycle, each Update checked by its validator before it changes anything.
import { ApplicationFailure, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import {
  lifecycleCallerRefusal,
  lifecycleRequestSchema,
  rollbackRequestSchema,
} from '../domain/lifecycle.js';
import { lifecycleStatus, markVersion } from '../domain/lifecycle-state.js';
import { problemsOf } from '../domain/rollout-plan.js';
import {
  approvalSignalSchema,
  approverRefusal,
  decisionRequestSchema,
  rolloutWorkflowId,
} from '../domain/rollout.js';
import {
  approveSignal,
  approveUpdate,
  lifecycleStatusQuery,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  retrainNowUpdate,
  rollbackUpdate,
  type LifecycleAnswer,
} from './lifecycle-messages.js';
import { failureMessage, now, type LifecycleRun } from './lifecycle-run.js';
import { monitorAlertSignal } from './monitor.js';

function parseRequest<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = problemsOf(parsed.error);
    throw ApplicationFailure.nonRetryable(
      problems.map((p) => `${p.path}: ${p.message}`).join('; '),
      'InvalidRequest',
    );
  }
  return parsed.data;
}

/** Thrown by validators: the type tells the API which HTTP status to answer (as the rollout's do). */
function refuse(type: 'Forbidden' | 'Conflict', message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** An activity's refusal (the rollout's answer, a lost compare-and-set) as the Update's own failure. */
function rethrow(error: unknown): never {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof ApplicationFailure) {
    throw ApplicationFailure.create({
      ...(cause.type ? { type: cause.type } : {}),
      message: cause.message,
      nonRetryable: true,
    });
  }
  throw error;
}

export function installLifecycleHandlers(run: LifecycleRun): void {
  const { state, model, acts } = run;

  setHandler(lifecycleStatusQuery, () => lifecycleStatus(state, run.workflowId, run.active, Date.now()));

  setHandler(
    retrainNowUpdate,
    (request) => {
      run.manual = {
        kind: 'manual',
        actor: request.caller.name,
        at: now(),
        ...(request.comment ? { comment: request.comment } : {}),
      };
      run.poke();
      return Promise.resolve({ accepted: true as const, message: `a retrain of ${model} starts now` });
    },
    {
      validator: (raw) => {
        const request = parseRequest(lifecycleRequestSchema, raw);
        const refusal = lifecycleCallerRefusal(request.caller, model, 'retrainNow');
        if (refusal) refuse('Forbidden', refusal);
        if (state.paused) refuse('Conflict', `the lifecycle of ${model} is paused: resume it first`);
        if (state.phase === 'training' || state.phase === 'rollout' || run.manual) {
          refuse(
            'Conflict',
            `a ${state.phase === 'rollout' ? 'rollout' : 'training'} of ${model} is already in progress`,
          );
        }
      },
    },
  );

  const forwardToRollout = async (update: string, arg: unknown): Promise<unknown> =>
    run.active?.kind === 'rollout'
      ? acts.forwardUpdate({ workflowId: run.active.workflowId, update, arg })
      : undefined;

  for (const pause of [true, false]) {
    setHandler(
      pause ? pauseUpdate : resumeUpdate,
      async (request): Promise<LifecycleAnswer> => {
        state.paused = pause;
        run.syncAttributes();
        run.emit({
          kind: pause ? 'paused' : 'resumed',
          message: `${pause ? 'paused' : 'resumed'} by ${request.caller.name}${request.comment ? `: ${request.comment}` : ''}`,
          actor: request.caller.name,
          ...(request.source ? { details: { source: request.source } } : {}),
        });
        run.poke();
        const rollout = await forwardToRollout(pause ? 'pause' : 'resume', request).catch(
          (error: unknown) => ({ refused: failureMessage(error) }),
        );
        // The decision is in the history (and the audit log) before the caller hears back.
        await run.flush();
        return {
          accepted: true,
          message: pause
            ? `${model}: no automatic retrain${run.active?.kind === 'rollout' ? ' and the rollout paused' : ''} until resumed`
            : `${model}: resumed`,
          ...(rollout !== undefined ? { rollout } : {}),
        };
      },
      {
        validator: (raw) => {
          const request = parseRequest(lifecycleRequestSchema, raw);
          const refusal = lifecycleCallerRefusal(request.caller, model, pause ? 'pause' : 'resume');
          if (refusal) refuse('Forbidden', refusal);
          if (state.paused === pause)
            refuse('Conflict', `the lifecycle of ${model} is already ${pause ? 'paused' : 'running'}`);
        },
      },
    );
  }

  setHandler(
    rollbackUpdate,
    async (request): Promise<LifecycleAnswer> => {
      const source = request.source ? { source: request.source } : {};
      if (run.active?.kind === 'rollout') {
        const rollout = await forwardToRollout('abort', {
          caller: request.caller,
          comment: request.comment,
          ...source,
        });
        run.emit({
          kind: 'rollback',
          message: `${request.caller.name} aborted the rollout of version ${state.candidate}`,
          actor: request.caller.name,
          details: source,
        });
        await run.flush();
        return {
          accepted: true,
          message: `the rollout of version ${state.candidate} is rolling back`,
          rollout,
        };
      }
      const from = state.champion!;
      const to = request.toVersion ?? state.previousChampions.at(-1)!;
      await acts
        .rollbackChampion({
          model,
          from,
          to,
          actor: request.caller.name,
          requestId: `${run.workflowId}/${run.chainId}/${state.seq}`,
          reason: `lifecycle rollback by ${request.caller.name}${request.comment ? `: ${request.comment}` : ''}`,
        })
        .catch(rethrow);
      state.previousChampions = state.previousChampions.filter((v) => v !== to);
      markVersion(state, from, {
        state: 'rolled-back',
        endedAt: now(),
        reason: `rolled back by ${request.caller.name}`,
      });
      markVersion(state, to, { state: 'champion', promotedAt: now() });
      run.setChampion(to);
      run.emit({
        kind: 'rollback',
        message: `${request.caller.name} rolled the champion back from version ${from} to ${to}`,
        actor: request.caller.name,
        version: to,
        details: { from, ...source },
      });
      await run.ensureMonitor();
      run.poke();
      await run.flush();
      return { accepted: true, message: `version ${to} is the champion of ${model} again` };
    },
    {
      validator: (raw) => {
        const request = parseRequest(rollbackRequestSchema, raw);
        const refusal = lifecycleCallerRefusal(request.caller, model, 'rollback');
        if (refusal) refuse('Forbidden', refusal);
        if (run.active?.kind === 'rollout') return;
        if (state.champion === null) refuse('Conflict', `${model} has no champion to roll back`);
        const to = request.toVersion ?? state.previousChampions.at(-1);
        if (to === undefined)
          refuse('Conflict', `${model} has had no earlier champion to go back to (name one with toVersion)`);
        if (to === state.champion) refuse('Conflict', `version ${to} is already the champion of ${model}`);
      },
    },
  );

  for (const approve of [true, false]) {
    setHandler(
      approve ? approveUpdate : rejectUpdate,
      async (request): Promise<LifecycleAnswer> => {
        const rollout = await forwardToRollout(approve ? 'approve' : 'reject', request);
        run.emit({
          kind: 'approval',
          message: `${request.caller.name} ${approve ? 'approved' : 'rejected'} version ${state.candidate}${request.comment ? `: ${request.comment}` : ''}`,
          actor: request.caller.name,
          ...(state.candidate !== null ? { version: state.candidate } : {}),
          ...(request.source ? { details: { source: request.source } } : {}),
        });
        await run.flush();
        return { accepted: true, message: `passed to ${rolloutWorkflowId(model)}`, rollout };
      },
      {
        validator: (raw) => {
          const request = parseRequest(decisionRequestSchema, raw);
          if (run.active?.kind !== 'rollout') refuse('Conflict', `no rollout of ${model} is in progress`);
          const refusal = approverRefusal(
            request.caller,
            model,
            state.spec.rollout.approval?.approvers ?? [],
          );
          if (refusal) refuse('Forbidden', refusal);
        },
      },
    );
  }

  setHandler(approveSignal, (raw) => {
    const parsed = approvalSignalSchema.safeParse(raw);
    const active = run.active;
    if (!parsed.success || active?.kind !== 'rollout') {
      run.emit({
        kind: 'approval',
        message: parsed.success
          ? `an approve signal from ${parsed.data.approver} arrived with no rollout in progress; ignored`
          : `an approve signal was ignored: ${problemsOf(parsed.error)
              .map((p) => `${p.path}: ${p.message}`)
              .join('; ')}`,
      });
      return;
    }
    // A rollout that ends meanwhile has nothing left to approve; the event below still records the attempt.
    void getExternalWorkflowHandle(active.workflowId)
      .signal('approve', parsed.data)
      .catch(() => undefined);
    run.emit({
      kind: 'approval',
      message: `${parsed.data.approver} approved version ${state.candidate} through a Temporal signal`,
      actor: parsed.data.approver,
      details: { source: 'temporal-signal' },
    });
  });

  // The monitor's alerts: a drifting feature of the champion stands as a drift trigger until the monitor clears it.
  setHandler(monitorAlertSignal, (alert) => {
    const reports = {
      ...(alert.reportHtmlUri ? { report: alert.reportHtmlUri } : {}),
      ...(alert.reportUri ? { reportJson: alert.reportUri } : {}),
    };
    const feature = alert.kind === 'feature_drift' ? alert.feature : undefined;
    const current = alert.version !== null && alert.version === state.champion;
    if (feature !== undefined && alert.transition === 'fired' && current) {
      const features = [...new Set([...(state.activeAlert?.features ?? []), feature])];
      state.activeAlert = {
        since: state.activeAlert?.since ?? alert.window.end,
        version: alert.version,
        features,
        message: alert.message,
        ...(alert.reportHtmlUri || alert.reportUri
          ? { reportUri: alert.reportHtmlUri ?? alert.reportUri }
          : {}),
      };
    } else if (feature !== undefined && alert.transition === 'cleared' && state.activeAlert) {
      const left = state.activeAlert.features.filter((f) => f !== feature);
      state.activeAlert = left.length > 0 ? { ...state.activeAlert, features: left } : null;
    }
    run.emit({
      kind: alert.transition === 'fired' ? 'alert' : 'alert-cleared',
      message: `${alert.message}${alert.version !== null && !current ? ` (version ${alert.version}, no longer the champion)` : ''}`,
      ...(alert.version !== null ? { version: alert.version } : {}),
      workflowId: run.monitorId,
      reports,
      details: { key: alert.key, kind: alert.kind, window: alert.window },
    });
    run.poke();
  });
}
