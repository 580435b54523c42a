import type { Client, WorkflowHandle } from '@temporalio/client';
import { lifecycleWorkflowId, type LifecycleStatus } from '../../domain/lifecycle.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { Pool } from '../../platform/db.js';
import { lifecycle, lifecycleStatusQuery } from '../../workflows/lifecycle.js';

/** Starts `lifecycle-<model>` on the queues of `prefix` with a typed-JSON input, as the Temporal UI would. */
export async function startLifecycle(
  client: Client,
  prefix: string,
  model: string,
  input: { spec?: Record<string, unknown>; specPath?: string },
  workflowId = lifecycleWorkflowId(model),
): Promise<WorkflowHandle<typeof lifecycle>> {
  return client.workflow.start(lifecycle, {
    workflowId,
    taskQueue: workflowTaskQueue(prefix),
    args: [{ ...input, requestedBy: 'test' }],
  });
}

/** Polls the lifecycle's status until `done` holds (through continue-as-new: the handle follows the id). */
export async function waitForLifecycle(
  handle: WorkflowHandle,
  done: (status: LifecycleStatus) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<LifecycleStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: LifecycleStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(lifecycleStatusQuery).catch(() => last);
    if (last && done(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out waiting for ${what}; last status:\n${JSON.stringify(last ? { ...last, spec: undefined } : null, null, 2)}`,
  );
}

/** The kinds of a model's lifecycle events, in order. */
export async function eventKinds(pool: Pool, model: string): Promise<string[]> {
  const { rows } = await pool.query<{ kind: string }>(
    'SELECT kind FROM lifecycle_events WHERE model_name = $1 ORDER BY id',
    [model],
  );
  return rows.map((r) => r.kind);
}

/** The message an Update was refused with (its cause's, which names the reason), or throws if it was accepted. */
export async function refusal(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause;
    return cause?.message ?? (error as Error).message;
  }
  throw new Error('expected the Update to be refused');
}
