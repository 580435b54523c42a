import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { InvalidSpecError } from '../domain/pipeline-spec.js';
import type { TrainingResult, TrainingStatus } from '../domain/training.js';
import { loadSpecFile } from '../platform/spec-file.js';
import { ApiError, apiClient } from './api-client.js';

interface RunStatus extends Partial<TrainingStatus> {
  state: string;
  pending?: {
    activity: string;
    state: string;
    attempt: number;
    heartbeat?: { step?: number; totalSteps?: number; trainLoss?: number };
  }[];
  waiting?: string[];
  failure?: string;
}

function summary(result: TrainingResult): string {
  const lines = [
    result.outcome === 'registered'
      ? `registered ${result.model} version ${result.version}`
      : `not registered: rejected at ${result.rejectedAt}`,
  ];
  for (const reason of result.reasons ?? []) lines.push(`  - ${reason}`);
  if (result.metrics) {
    lines.push(
      `  metrics: ${Object.entries(result.metrics)
        .map(([k, v]) => `${k}=${v.toFixed(4)}`)
        .join(' ')}`,
    );
  }
  if (result.datasetSha256) lines.push(`  dataset sha256: ${result.datasetSha256}`);
  if (result.artifactUri) lines.push(`  model: ${result.artifactUri} (sha256 ${result.artifactSha256})`);
  for (const [name, uri] of Object.entries(result.reports)) lines.push(`  ${name}: ${uri}`);
  if (result.rollout) {
    lines.push(
      result.rollout.started
        ? `  rollout: started ${result.rollout.workflowId} (slipway rollout status ${result.model})`
        : `  rollout: not started: ${result.rollout.reason}`,
    );
  }
  return lines.join('\n');
}

/** One line for a running run: its stage, training progress, and what it waits for. */
function statusLine(status: RunStatus): string {
  const train = status.pending?.find((p) => p.activity === 'trainModel')?.heartbeat;
  const progress = train?.totalSteps
    ? ` ${train.step}/${train.totalSteps}${train.trainLoss !== undefined ? ` loss ${train.trainLoss.toFixed(4)}` : ''}`
    : '';
  return `[${status.stage ?? status.state}]${progress}${status.waiting?.length ? ` (${status.waiting.join('; ')})` : ''}`;
}

/** Prints a finished run's result (or failure); returns the exit code: 0 registered, 1 otherwise. */
function printFinished(status: RunStatus, json: boolean | undefined): number {
  if (status.result) {
    process.stdout.write(
      json ? `${JSON.stringify(status.result, null, 2)}\n` : `${summary(status.result)}\n`,
    );
    return status.result.outcome === 'registered' ? 0 : 1;
  }
  process.stderr.write(`run ${status.state.toLowerCase()}: ${status.failure ?? 'no result'}\n`);
  if (json)
    process.stdout.write(
      `${JSON.stringify({ outcome: 'failed', state: status.state, failure: status.failure }, null, 2)}\n`,
    );
  return 1;
}

/** Statuses of a POST worth retrying with the same Idempotency-Key: no answer, or a gateway's. */
const retryable = new Set([0, 502, 503, 504]);

/**
 * `slipway run <workflowId>`: a run's stage and progress while it runs; its result once finished (read from the
 * workflow result, so it works with no worker running). Exit 0 registered, 1 rejected or failed, 3 still running.
 */
export async function runShowCommand(
  workflowId: string,
  options: { json?: boolean; apiUrl: string; apiKey?: string },
): Promise<number> {
  const api = apiClient(options.apiUrl, options.apiKey);
  const status = await api.get<RunStatus>(`/v1/training-runs/${encodeURIComponent(workflowId)}`);
  if (status.state === 'RUNNING') {
    process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${statusLine(status)}\n`);
    return 3;
  }
  return printFinished(status, options.json);
}

/**
 * `slipway train <spec>`: starts a training run through the API, shows each stage and the training progress while it
 * waits, prints the result. Exit code 0 when a version was registered; 1 when rejected or failed; 2 for a bad spec.
 */
export async function trainCommand(
  specPath: string,
  options: { json?: boolean; apiUrl: string; apiKey?: string; pollMs?: number; idempotencyKey?: string },
): Promise<number> {
  let spec;
  try {
    spec = await loadSpecFile(resolve(specPath));
  } catch (error) {
    if (error instanceof InvalidSpecError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const api = apiClient(options.apiUrl, options.apiKey);
  // The key fixes the run: a POST retried after a lost answer (or the same key given again) gets the same run.
  const idempotencyKey = options.idempotencyKey ?? randomUUID();
  let started: { workflowId: string; statusUrl: string } | undefined;
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await api.post<{ workflowId: string; statusUrl: string }>(
        '/v1/training-runs',
        { spec },
        { 'idempotency-key': idempotencyKey },
      );
    } catch (error) {
      if (!(error instanceof ApiError) || !retryable.has(error.status) || attempt >= 4) throw error;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
  process.stderr.write(`started ${started.workflowId}\n`);
  let lastLine = '';
  for (;;) {
    const status = await api.get<RunStatus>(started.statusUrl);
    const line = statusLine(status);
    if (line !== lastLine && !options.json) process.stderr.write(`${line}\n`);
    lastLine = line;
    if (status.state !== 'RUNNING') return printFinished(status, options.json);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
}
