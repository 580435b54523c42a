// Writes prediction-log and feedback rows straight into PostgreSQL in the serving contract's shape
// (platform/migrations/0010_serving.sql), the way the gateway does: one row per scored row, written in batches a
// little after the time they record. Used to replay a CSV into the log at a chosen pace, labels some steps later.
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Pool } from '../../platform/db.js';

export interface CsvTable {
  readonly header: string[];
  /** Values as numbers where they parse, else strings. */
  readonly rows: Record<string, number | string>[];
}

/** Reads a CSV file with a header; numeric-looking cells become numbers. */
export async function readCsv(path: string): Promise<CsvTable> {
  const records = parse<Record<string, string>>(await readFile(path), {
    columns: true,
    skip_empty_lines: true,
  });
  const header = records.length > 0 ? Object.keys(records[0]!) : [];
  return {
    header,
    rows: records.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v]),
      ),
    ),
  };
}

export interface LogRow {
  readonly at: Date;
  readonly requestId: string;
  readonly model: string;
  readonly version: number;
  readonly role?: 'champion' | 'challenger' | 'shadow' | 'direct';
  readonly served?: boolean;
  readonly fallback?: boolean;
  readonly inputs: Record<string, unknown>;
  readonly score: number | null;
  readonly error?: string | null;
  readonly latencyMs?: number;
}

/** The UTC days each pool has created partitions for. */
const ensured = new WeakMap<Pool, Set<string>>();

/** Inserts log rows in one statement, creating the UTC-day partitions they need first. */
export async function insertLogRows(pool: Pool, rows: readonly LogRow[]): Promise<void> {
  if (rows.length === 0) return;
  const done = ensured.get(pool) ?? new Set<string>();
  ensured.set(pool, done);
  for (const day of new Set(rows.map((r) => r.at.toISOString().slice(0, 10)))) {
    if (done.has(day)) continue;
    await pool.query('SELECT ensure_predictions_partition($1::date)', [day]);
    done.add(day);
  }
  await pool.query(
    `INSERT INTO predictions (at, request_id, model_name, version, role, served, fallback, inputs, score,
       predicted_label, error, latency_ms)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::int[], $5::text[], $6::boolean[],
       $7::boolean[], $8::jsonb[], $9::double precision[], $10::text[], $11::text[], $12::real[])`,
    [
      rows.map((r) => r.at.toISOString()),
      rows.map((r) => r.requestId),
      rows.map((r) => r.model),
      rows.map((r) => r.version),
      rows.map((r) => r.role ?? 'champion'),
      rows.map((r) => r.served ?? true),
      rows.map((r) => r.fallback ?? false),
      rows.map((r) => JSON.stringify(r.inputs)),
      rows.map((r) => r.score),
      rows.map((r) => (r.score === null ? null : r.score >= 0.5 ? '1' : '0')),
      rows.map((r) => r.error ?? null),
      rows.map((r) => r.latencyMs ?? 1),
    ],
  );
}

/** Records labels for logged request ids, as POST /v1/feedback does; a label sent twice changes nothing. */
export async function insertLabels(
  pool: Pool,
  model: string,
  labels: readonly { requestId: string; label: string; positive: boolean }[],
): Promise<void> {
  if (labels.length === 0) return;
  await pool.query(
    `INSERT INTO feedback (request_id, model_name, label, label_positive, actor)
     SELECT r, $1, l, p, 'replay' FROM unnest($2::text[], $3::text[], $4::boolean[]) AS u(r, l, p)
     ON CONFLICT (request_id) DO NOTHING`,
    [model, labels.map((l) => l.requestId), labels.map((l) => l.label), labels.map((l) => l.positive)],
  );
}

export interface ReplayOptions {
  readonly pool: Pool;
  readonly model: string;
  readonly version: number;
  /** The rows to serve, in order: features only. */
  readonly inputs: readonly Record<string, unknown>[];
  /** The version's score of each row. */
  readonly scores: ArrayLike<number>;
  /** Each row's label and whether it is the positive class; absent: no feedback. */
  readonly labels?: readonly { label: string; positive: boolean }[];
  /** Request id of row i: `${requestPrefix}${i}`. */
  readonly requestPrefix: string;
}

/**
 * Serves rows in real time: `rowsPerSecond` rows a second, each logged with `at` = the moment it was "answered",
 * written in batches every `flushMs` (so rows land a little after their `at`, as the gateway's do); the label of row
 * i is sent when row i + `labelDelayRows` is served (the rest at the end). Resolves when every row and label is in.
 */
export async function replayLive(
  options: ReplayOptions & { rowsPerSecond: number; flushMs: number; labelDelayRows: number },
): Promise<{ startedAt: Date; endedAt: Date }> {
  const { pool, inputs } = options;
  const startedAt = new Date();
  const start = startedAt.getTime();
  let served = 0;
  let labelled = 0;
  const pendingLogs: LogRow[] = [];
  const flushLabels = async (upTo: number) => {
    if (!options.labels || upTo <= labelled) return;
    const batch = [];
    for (let i = labelled; i < upTo; i++)
      batch.push({ requestId: `${options.requestPrefix}${i}`, ...options.labels[i]! });
    await insertLabels(pool, options.model, batch);
    labelled = upTo;
  };
  while (served < inputs.length) {
    const due = Math.min(inputs.length, Math.floor(((Date.now() - start) / 1000) * options.rowsPerSecond));
    for (; served < due; served++) {
      pendingLogs.push({
        at: new Date(),
        requestId: `${options.requestPrefix}${served}`,
        model: options.model,
        version: options.version,
        inputs: inputs[served]!,
        score: Number(options.scores[served]),
        latencyMs: 1 + (served % 7) * 0.25,
      });
    }
    await insertLogRows(pool, pendingLogs.splice(0));
    await flushLabels(Math.max(0, served - options.labelDelayRows));
    // The pace of simulated traffic, not a wait for a condition.
    await new Promise((r) => setTimeout(r, options.flushMs));
  }
  await flushLabels(inputs.length);
  return { startedAt, endedAt: new Date() };
}

/** Logs every row at once with `at` = `startAt` + i * `stepMs`: traffic from the past, for a monitor to catch up on. */
export async function replayBackfill(
  options: ReplayOptions & { startAt: Date; stepMs: number },
): Promise<void> {
  const batch = 5000;
  for (let from = 0; from < options.inputs.length; from += batch) {
    const to = Math.min(options.inputs.length, from + batch);
    const rows: LogRow[] = [];
    for (let i = from; i < to; i++) {
      rows.push({
        at: new Date(options.startAt.getTime() + i * options.stepMs),
        requestId: `${options.requestPrefix}${i}`,
        model: options.model,
        version: options.version,
        inputs: options.inputs[i]!,
        score: Number(options.scores[i]),
        latencyMs: 1,
      });
    }
    await insertLogRows(options.pool, rows);
    if (options.labels) {
      await insertLabels(
        options.pool,
        options.model,
        rows.map((r, k) => ({ requestId: r.requestId, ...options.labels![from + k]! })),
      );
    }
  }
}
