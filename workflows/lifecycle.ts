import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import {
  lifecycleStartSchema,
  lifecycleWorkflowId,
  type LifecycleInput,
  type LifecycleResult,
  type LifecycleState,
} from '../domain/lifecycle.js';
import { newLifecycleState } from '../domain/lifecycle-state.js';
import { problemsOf } from '../domain/rollout-plan.js';
import { modelNameKey, stageKey } from '../domain/search-attributes.js';
import { installLifecycleHandlers } from './lifecycle-handlers.js';
import { createWatcher, rolloutPhase, trainPhase } from './lifecycle-phases.js';
import { createLifecycleRun, now } from './lifecycle-run.js';

export * from './lifecycle-messages.js';

function rejected(problems: { path: string; message: string }[], model?: string): LifecycleResult {
  upsertSearchAttributes([
    { key: stageKey, value: 'rejected' },
    ...(model ? [{ key: modelNameKey, value: model }] : []),
  ]);
  return {
    model: model ?? '',
    outcome: 'rejected',
    problems,
    message: `invalid lifecycle:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
  };
}

/**
 * One model's life: training -> rollout -> monitor -> (retrain) -> rollout -> ..., each phase a child workflow,
 * for months. The retrain policy (triggers, cooldown, budget) decides when to retrain; the retrain trains on the
 * labelled traffic since the last training. Continues as a new run after each loop (and when the history grows),
 * carrying its state; the whole history of events lives in PostgreSQL (`lifecycle_events`). Its input is what a
 * person can type: `{ "specPath": "examples/lifecycle/elec2-demo.yaml" }` or `{ "spec": { ... } }`.
 */
export async function lifecycle(input: LifecycleInput): Promise<LifecycleResult> {
  const info = workflowInfo();
  let state: LifecycleState;
  const resumed = 'resume' in input;
  if ('resume' in input) {
    state = input.resume;
    state.runNumber += 1;
  } else {
    const parsed = lifecycleStartSchema.safeParse(input ?? {});
    if (!parsed.success) return rejected(problemsOf(parsed.error));
    const { resolveLifecycleSpec } = proxyActivities<LifecycleActivities>({
      startToCloseTimeout: '1 minute',
      retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: [...nonRetryableErrorTypes] },
    });
    const resolved = await resolveLifecycleSpec(parsed.data);
    if (!resolved.ok) return rejected([...resolved.problems]);
    const model = resolved.spec.model;
    if (info.workflowId !== lifecycleWorkflowId(model)) {
      return rejected(
        [
          {
            path: '(workflow id)',
            message: `a lifecycle of ${model} runs as ${lifecycleWorkflowId(model)} (one per model), not ${info.workflowId}`,
          },
        ],
        model,
      );
    }
    state = newLifecycleState(
      resolved.spec,
      resolved.pipelineSpecHash,
      parsed.data.requestedBy ?? 'temporal',
      now(),
    );
  }

  const run = createLifecycleRun(state, info);
  installLifecycleHandlers(run);
  const watch = createWatcher(run);
  if (!resumed) {
    run.emit({
      kind: 'started',
      message: `lifecycle of ${run.model} started by ${state.requestedBy}`,
      actor: state.requestedBy,
    });
  }
  for (;;) {
    if (state.phase === 'training') await trainPhase(run);
    else if (state.phase === 'rollout') await rolloutPhase(run);
    else if ((await watch()) === 'continue') break;
    run.syncAttributes();
    if (run.loopDone) break;
  }
  await run.flush();
  await condition(allHandlersFinished);
  await run.flush();
  return continueAsNew<typeof lifecycle>({ resume: state });
}
