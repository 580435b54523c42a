import { resolve } from 'node:path';
import type { RolloutStatus } from '../domain/rollout.js';
import { InvalidRolloutError, parseRolloutPlanSpec } from '../domain/rollout-plan.js';
import { readDocument } from '../platform/spec-file.js';
import { apiClient, ApiError } from './api-client.js';

interface Options {
  apiUrl: string;
  apiKey?: string;
  json?: boolean;
}

type StatusBody = Partial<RolloutStatus> & { workflowId: string; state: string; failure?: string };

const refPattern = /^([a-z0-9][a-z0-9_-]{0,62}):([1-9][0-9]{0,8})$/;

/** Parses `<model>:<version>`, or prints what is expected and returns undefined. */
function parseRef(ref: string): { model: string; version: number } | undefined {
  const match = refPattern.exec(ref);
  if (!match) {
    process.stderr.write(`"${ref}" is not a model version: expected <model>:<version>, e.g. elec2-price:3\n`);
    return undefined;
  }
  return { model: match[1]!, version: Number(match[2]) };
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;

/** The status as a person reads it: where it is, the split, the checks, who approved, what it waits for. */
export function describeStatus(status: StatusBody): string {
  const lines = [
    `${status.workflowId}: ${status.model ?? '?'} v${status.version ?? '?'} (champion ${status.champion === null || status.champion === undefined ? 'none' : `v${status.champion}`})`,
    `  state ${status.state}, stage ${status.stage ?? 'unknown'}${status.paused ? ' (paused)' : ''}${status.outcome ? `, outcome ${status.outcome}` : ''}`,
  ];
  if (status.reason) lines.push(`  reason: ${status.reason}`);
  if (status.failure) lines.push(`  failure: ${status.failure}`);
  if (status.steps?.length) {
    const done = new Map(status.history?.map((h) => [h.stage, h.outcome]) ?? []);
    lines.push(
      `  phases: ${status.steps.map((s) => (done.has(s) ? `${s} (${done.get(s)})` : s === status.stage ? `[${s}]` : s)).join(' -> ')} -> approval`,
    );
  }
  const t = status.traffic;
  if (t) {
    lines.push(
      t.challenger === null
        ? `  traffic: all to ${t.champion === null ? 'nobody' : `v${t.champion}`}`
        : `  traffic: v${t.champion} ${pct(1 - t.challengerWeight)}, v${t.challenger} ${pct(t.challengerWeight)}${t.shadow ? ` (v${t.challenger} shadows the rest)` : ''}`,
    );
  }
  if (status.earliestEndAt)
    lines.push(`  phase can end at ${status.earliestEndAt}, fails closed at ${status.deadlineAt}`);
  if (status.verdict) {
    lines.push(`  verdict so far: ${status.verdict.outcome}`);
    for (const check of status.verdict.checks) lines.push(`    ${check.status.padEnd(7)} ${check.message}`);
  }
  if (status.phase === 'awaiting-approval' || status.approvals?.length) {
    const names = [...new Set(status.approvals?.map((a) => a.approver) ?? [])];
    lines.push(
      `  approvals: ${names.length} of ${status.approvalsNeeded ?? 1}${names.length ? ` (${status.approvals?.map((a) => `${a.approver} via ${a.source}`).join(', ')})` : ''}${status.approvalDeadlineAt ? `, until ${status.approvalDeadlineAt}` : ''}`,
    );
  }
  for (const refused of status.refusedApprovals ?? []) {
    lines.push(`  refused approval from ${refused.approver} via ${refused.source}: ${refused.reason}`);
  }
  return lines.join('\n');
}

/** `slipway rollout start <model>:<version> [--plan file]`. Exit 0 when started, 2 for a bad reference or plan. */
export async function rolloutStart(ref: string, options: Options & { plan?: string }): Promise<number> {
  const parsed = parseRef(ref);
  if (!parsed) return 2;
  let plan: unknown;
  if (options.plan) {
    try {
      plan = await readDocument(
        resolve(options.plan),
        (message) => new InvalidRolloutError([{ path: '(plan file)', message }]),
      );
      parseRolloutPlanSpec(plan, 'plan');
    } catch (error) {
      if (error instanceof InvalidRolloutError) {
        process.stderr.write(`${error.message}\n`);
        return 2;
      }
      throw error;
    }
  }
  const started = await apiClient(options.apiUrl, options.apiKey).post<{
    workflowId: string;
    statusUrl: string;
  }>('/v1/rollouts', { ...parsed, ...(plan === undefined ? {} : { plan }) });
  if (options.json) process.stdout.write(`${JSON.stringify(started, null, 2)}\n`);
  else
    process.stdout.write(
      `started ${started.workflowId}; follow it with \`slipway rollout status ${parsed.model}\`\n`,
    );
  return 0;
}

/** `slipway rollout status <model> [--watch]`: with --watch, prints each change until the rollout ends. */
export async function rolloutStatus(
  model: string,
  options: Options & { watch?: boolean; pollMs?: number },
): Promise<number> {
  const api = apiClient(options.apiUrl, options.apiKey);
  let last = '';
  for (;;) {
    const status = await api.get<StatusBody>(`/v1/rollouts/${model}`);
    const text = options.json ? JSON.stringify(status, null, 2) : describeStatus(status);
    if (text !== last) process.stdout.write(`${text}\n`);
    last = text;
    if (!options.watch || status.state !== 'RUNNING') return 0;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
}

/** `slipway rollout approve|reject|pause|resume|abort <model> [--comment text]`. */
export async function rolloutDecide(
  action: 'approve' | 'reject' | 'pause' | 'resume' | 'abort',
  model: string,
  options: Options & { comment?: string },
): Promise<number> {
  try {
    const answer = await apiClient(options.apiUrl, options.apiKey).post<{ message: string }>(
      `/v1/rollouts/${model}/${action}`,
      options.comment ? { comment: options.comment } : {},
    );
    process.stdout.write(options.json ? `${JSON.stringify(answer, null, 2)}\n` : `${answer.message}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      process.stderr.write(`${action} refused: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** `slipway models promote <model>:<version>` (admin): champion alias and all traffic, compare-and-set. */
export async function modelsPromote(
  ref: string,
  options: Options & { expectChampion?: string; reason?: string },
): Promise<number> {
  const parsed = parseRef(ref);
  if (!parsed) return 2;
  let expectedChampion: number | null | undefined;
  if (options.expectChampion !== undefined) {
    if (!/^(none|[1-9][0-9]*)$/.test(options.expectChampion)) {
      process.stderr.write(
        `--expect-champion: expected a version number or "none", got "${options.expectChampion}"\n`,
      );
      return 2;
    }
    expectedChampion = options.expectChampion === 'none' ? null : Number(options.expectChampion);
  }
  try {
    const result = await apiClient(options.apiUrl, options.apiKey).post<{
      champion: number;
      previousChampion: number | null;
      aliasMoved: boolean;
    }>(`/v1/models/${parsed.model}/promote`, {
      version: parsed.version,
      ...(expectedChampion !== undefined ? { expectedChampion } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
    });
    process.stdout.write(
      options.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : result.aliasMoved
          ? `${parsed.model}: champion ${result.previousChampion === null ? 'none' : `v${result.previousChampion}`} -> v${result.champion}, all traffic to v${result.champion}\n`
          : `${parsed.model}: v${result.champion} was already the champion; all traffic to it\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      process.stderr.write(`promote refused: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
