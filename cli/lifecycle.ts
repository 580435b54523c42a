import { resolve } from 'node:path';
import type { LifecycleResult, LifecycleStatus } from '../domain/lifecycle.js';
import { InvalidLifecycleSpecError } from '../domain/lifecycle-spec.js';
import { loadLifecycleSpecFile } from '../platform/lifecycle-spec-file.js';
import { apiClient } from './api-client.js';
import { formatEvent } from './lifecycle-watch.js';

interface Connection {
  readonly apiUrl: string;
  readonly apiKey?: string;
}

/**
 * `slipway lifecycle start <spec>`: checks the spec here (every problem by field path, exit 2), then starts
 * `lifecycle-<model>` through the API with the spec resolved (paths absolute).
 */
export async function lifecycleStart(
  specPath: string,
  options: Connection & { json?: boolean },
): Promise<number> {
  let spec;
  try {
    spec = await loadLifecycleSpecFile(resolve(specPath));
  } catch (error) {
    if (error instanceof InvalidLifecycleSpecError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const started = await apiClient(options.apiUrl, options.apiKey).post<{ workflowId: string; runId: string }>(
    '/v1/lifecycles',
    { spec },
  );
  if (options.json) process.stdout.write(`${JSON.stringify(started, null, 2)}\n`);
  else {
    process.stdout.write(
      `started ${started.workflowId}\n  follow it: npx slipway lifecycle watch ${spec.model}\n  status:    npx slipway lifecycle status ${spec.model}\n`,
    );
  }
  return 0;
}

function summary(status: LifecycleStatus): string {
  const { retrain } = status;
  const lines = [
    `${status.workflowId}: ${status.stage}${status.paused ? ' (paused)' : ''}, champion ${status.champion ?? 'none'}${status.candidate !== null ? `, candidate ${status.candidate}` : ''}`,
    ...(status.active ? [`  in progress: ${status.active.kind} ${status.active.workflowId}`] : []),
    ...(status.monitor
      ? [`  monitor:     ${status.monitor.workflowId} (since ${status.monitor.startedAt})`]
      : []),
    ...(status.activeAlert ? [`  alert:       ${status.activeAlert.message}`] : []),
    `  retrains:    ${status.totals.retrains} so far; ${retrain.budgetLeft} left in the budget period; cooldown until ${retrain.cooldownUntil}${retrain.nextScheduledAt ? `; next scheduled ${retrain.nextScheduledAt}` : ''}`,
    ...(retrain.deferred ? [`  deferred:    until ${retrain.deferred.until}`] : []),
    '  versions:',
    ...status.versions.map(
      (v) =>
        `    v${v.version}  ${v.state.padEnd(11)} trained ${v.trainedAt} (${v.cause})${v.cached ? ' [reused]' : ''}${v.reason ? `: ${v.reason}` : ''}`,
    ),
    `  latest events (${status.totals.events} in all; \`slipway lifecycle watch ${status.model} --all\` shows every one):`,
    ...status.recentEvents.slice(-10).map((e) => `    ${formatEvent(e, { namespace: '' }).split('\n')[0]}`),
  ];
  return lines.join('\n');
}

/** `slipway lifecycle status <model>`: where the lifecycle is, its versions, its latest decisions. */
export async function lifecycleStatus(
  model: string,
  options: Connection & { json?: boolean },
): Promise<number> {
  const answer = await apiClient(options.apiUrl, options.apiKey).get<{
    workflowId: string;
    state: string;
    status?: LifecycleStatus;
    result?: LifecycleResult | { failure: string };
  }>(`/v1/lifecycles/${model}`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  if (answer.status) process.stdout.write(`${summary(answer.status)}\n`);
  else {
    const result = answer.result;
    const message =
      result && 'message' in result ? result.message : result && 'failure' in result ? result.failure : '';
    process.stdout.write(`${answer.workflowId}: ${answer.state.toLowerCase()}\n${message}\n`);
  }
  return answer.state === 'RUNNING' ? 0 : 1;
}

/** `slipway lifecycle retrain|pause|resume|rollback|approve|reject <model>`: an Update through the API. */
export async function lifecycleUpdate(
  model: string,
  action: 'retrain' | 'pause' | 'resume' | 'rollback' | 'approve' | 'reject',
  body: { comment?: string; toVersion?: number },
  options: Connection,
): Promise<number> {
  const answer = await apiClient(options.apiUrl, options.apiKey).post<{ message: string; rollout?: unknown }>(
    `/v1/lifecycles/${model}/${action}`,
    body,
  );
  const rollout = answer.rollout as { message?: string } | undefined;
  process.stdout.write(`${answer.message}${rollout?.message ? `\n  rollout: ${rollout.message}` : ''}\n`);
  return 0;
}
