// The `npm start` demo: the lifecycle of elec2-price on the local stack, Elec2 replayed through the gateway, and
// each decision printed as it happens. Started (or resumed) by `slipway up` unless `--no-demo`.
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { lifecycleWorkflowId, type LifecycleStatus } from '../domain/lifecycle.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { loadLifecycleSpecFile } from '../platform/lifecycle-spec-file.js';
import { lifecycle, lifecycleStatusQuery } from '../workflows/lifecycle.js';
import { watchLifecycle } from './lifecycle-watch.js';
import { spawnEntrypoint, terminate, waitForHttp } from './processes.js';

export interface DemoContext {
  readonly config: Config;
  readonly env: Record<string, string | undefined>;
  readonly log: Logger;
  readonly client: Client;
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly gateway: ChildProcess;
  readonly uiUrl: string | undefined;
  /** The repository (the worker resolves spec paths against it) and the stack's home. */
  readonly repoRoot: string;
  readonly home: string;
  /** Registers a stop step, run in reverse order at Ctrl-C. */
  readonly onStop: (stop: () => Promise<void>) => void;
  readonly write: (text: string) => void;
}

/** The Elec2 rows the demo's first champion trains on (datasets/elec2-early.csv); the replay starts after them. */
const earlyStretchRows = 15_000;

/**
 * Starts `lifecycle-elec2-price` from the demo spec (or finds it running: a second `npm start` resumes it where it
 * was), prints how the demo approves, follows the lifecycle in the terminal, and replays Elec2 through the gateway
 * in time order from where the last replay stopped.
 */
export async function startDemo(ctx: DemoContext): Promise<void> {
  const { config, log } = ctx;
  const specPath = config.SLIPWAY_DEMO_SPEC;
  // Checked here first, so a broken demo spec is named before anything starts; the worker resolves it again.
  const spec = await loadLifecycleSpecFile(resolve(ctx.repoRoot, specPath));
  const model = spec.model;
  const workflowId = lifecycleWorkflowId(model);
  let resumed = false;
  try {
    await ctx.client.workflow.start(lifecycle, {
      workflowId,
      taskQueue: workflowTaskQueue(config.TASK_QUEUE_PREFIX),
      args: [{ specPath, requestedBy: 'npm start' }],
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    resumed = true;
  }
  const status: LifecycleStatus | undefined = resumed
    ? await ctx.client.workflow
        .getHandle(workflowId)
        .query(lifecycleStatusQuery)
        .catch(() => undefined)
    : undefined;
  const approval = spec.rollout.approval;
  const autoApprove = approval?.onTimeout === 'promote';
  const link = ctx.uiUrl
    ? `${ctx.uiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/${workflowId}`
    : workflowId;
  ctx.write(
    [
      '',
      resumed
        ? `Resuming ${workflowId} where it was${status ? ` (${status.stage}, champion ${status.champion ?? 'none'}, ${status.totals.events} events so far)` : ''}.`
        : `Started ${workflowId} from ${specPath}.`,
      `  In the Temporal UI: ${link}`,
      autoApprove
        ? `  Approvals: this demo's spec promotes an approval gate nobody answers within ${Math.round((approval?.timeout ?? 0) / 1000)} s (rollout.approval.onTimeout: promote).`
        : '  Approvals: every promotion waits for a person.',
      `  Approve yourself: npx slipway lifecycle approve ${model}    (or reject, pause, resume, retrain, rollback)`,
      `  Status:           npx slipway lifecycle status ${model}`,
      '',
    ].join('\n'),
  );

  const abort = new AbortController();
  const watching = watchLifecycle({
    apiUrl: ctx.apiUrl,
    model,
    ...(ctx.uiUrl ? { uiUrl: ctx.uiUrl } : {}),
    namespace: config.TEMPORAL_NAMESPACE,
    from: resumed ? 5 : 'all',
    signal: abort.signal,
    write: ctx.write,
  }).catch((error: unknown) => log.error({ err: error }, 'the lifecycle watch stopped'));
  ctx.onStop(async () => {
    abort.abort();
    await watching;
  });

  // The replay: the rest of Elec2 in time order, labels a day (48 half-hours) later, resumable from its state file.
  await waitForHttp(`${ctx.gatewayUrl}/v2/health/ready`, ctx.gateway, 120_000);
  const statePath = resolve(ctx.home, `replay-${model}.json`);
  const replay = spawnEntrypoint('cli/main.ts', { ...ctx.env, SLIPWAY_GATEWAY_URL: ctx.gatewayUrl }, [
    'replay',
    resolve(ctx.repoRoot, 'datasets', 'electricity.csv'),
    '--model',
    model,
    '--speed',
    String(config.SLIPWAY_DEMO_SPEED),
    '--label-delay',
    String(config.SLIPWAY_DEMO_LABEL_DELAY),
    '--start-row',
    String(earlyStretchRows),
    '--batch',
    String(Math.max(1, Math.round(config.SLIPWAY_DEMO_SPEED / 20))),
    '--state',
    statePath,
    '--progress-every',
    '30',
  ]);
  let stopping = false;
  replay.once('exit', (code, signal) => {
    if (stopping) return;
    ctx.write(
      code === 0
        ? `\nThe replay reached the end of Elec2. Delete ${statePath} to play it again.\n`
        : `\nThe replay stopped (${signal ?? `exit code ${code}`}); the stack keeps running.\n`,
    );
  });
  ctx.onStop(async () => {
    stopping = true;
    await terminate(replay);
  });
}
