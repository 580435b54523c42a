import type { SloFigures } from '../domain/monitor.js';
import type { Pool } from './db.js';

/**
 * Reads a time window of the prediction log (platform/migrations/0010_serving.sql) the way the monitor judges it.
 * A window is the half-open range [start, end) of `at`, so consecutive windows never share or miss a row. Rows on
 * the answering path only (shadow scores are the challenger's business): one per request row, the served one when
 * there is one (a fallback logs the challenger's failure and the champion's answer under one request id).
 */

export interface WindowQuery {
  readonly model: string;
  /** ISO 8601 times; [start, end). */
  readonly start: string;
  readonly end: string;
}

/** A window as read at one moment: rows logged after `readAt` (the database's clock) are late, not part of it. */
export interface WindowSnapshot extends WindowQuery {
  readonly readAt: string;
}

/** The database's clock now: the moment a window is read at. */
export async function databaseNow(db: Pool): Promise<string> {
  const { rows } = await db.query<{ now: Date }>('SELECT now() AS now');
  return rows[0]!.now.toISOString();
}

export interface LoggedRow {
  readonly requestId: string;
  readonly version: number;
  readonly served: boolean;
  readonly score: number | null;
  readonly inputs: Record<string, unknown>;
}

/**
 * The deployment's traffic: rows the champion or the challenger answered. Shadow scores were never answers, and a
 * `direct` row (a version asked for by number outside the traffic split, migration 0011) is not the deployment's.
 */
const traffic = (p: string) => `${p}role IN ('champion', 'challenger')`;

const answering = `model_name = $1 AND at >= $2::timestamptz AND at < $3::timestamptz AND ${traffic('')}
  AND logged_at <= $4::timestamptz`;

/** Request rows on the answering path in the window. */
export async function countWindowRows(db: Pool, q: WindowSnapshot): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(DISTINCT request_id) AS n FROM predictions WHERE ${answering}`,
    [q.model, q.start, q.end, q.readAt],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * The window's request rows, one per request id. When there are more than `maxRows`, a deterministic sample of
 * about `maxRows` is read instead (by a hash of the request id, so a retry reads the same rows).
 */
export async function readWindowRows(
  db: Pool,
  q: WindowSnapshot & { readonly maxRows: number; readonly total: number },
): Promise<LoggedRow[]> {
  const modulus = 1_000_000;
  const keep = q.total > q.maxRows ? Math.floor((q.maxRows / q.total) * modulus) : modulus;
  const { rows } = await db.query<{
    request_id: string;
    version: number;
    served: boolean;
    score: number | null;
    inputs: Record<string, unknown>;
  }>(
    `SELECT DISTINCT ON (request_id) request_id, version, served, score, inputs FROM predictions
     WHERE ${answering}
       AND ($5::int >= ${modulus} OR (('x' || left(md5(request_id), 8))::bit(32)::int & 2147483647) % ${modulus} < $5::int)
     ORDER BY request_id, served DESC, at`,
    [q.model, q.start, q.end, q.readAt, keep],
  );
  return rows.map((r) => ({
    requestId: r.request_id,
    version: r.version,
    served: r.served,
    score: r.score === null ? null : Number(r.score),
    inputs: r.inputs,
  }));
}

/** How many rows each version answered in the window, most first. */
export async function servedByVersion(
  db: Pool,
  q: WindowSnapshot,
): Promise<{ version: number; rows: number }[]> {
  const { rows } = await db.query<{ version: number; n: string }>(
    `SELECT version, count(*) AS n FROM predictions WHERE ${answering} AND served
     GROUP BY version ORDER BY count(*) DESC, version DESC`,
    [q.model, q.start, q.end, q.readAt],
  );
  return rows.map((r) => ({ version: r.version, rows: Number(r.n) }));
}

/** The champion of the deployment in force at `at` (deployment_history), or null when none was set by then. */
export async function championAt(db: Pool, model: string, at: string): Promise<number | null> {
  const { rows } = await db.query<{ champion_version: number | null }>(
    `SELECT champion_version FROM deployment_history WHERE model_name = $1 AND updated_at < $2::timestamptz
     ORDER BY revision DESC LIMIT 1`,
    [model, at],
  );
  return rows[0]?.champion_version ?? null;
}

/** Latency and error figures over every answering-path row of the window (never sampled). */
export async function readSloFigures(db: Pool, q: WindowSnapshot): Promise<SloFigures> {
  const { rows } = await db.query<{
    requests: string;
    failed: string;
    fallbacks: string;
    p: number[] | null;
  }>(
    `WITH r AS (
       SELECT request_id, bool_or(served) AS answered, bool_or(served AND fallback) AS fell_back
       FROM predictions WHERE ${answering} GROUP BY request_id
     )
     SELECT (SELECT count(*) FROM r) AS requests,
            (SELECT count(*) FROM r WHERE NOT answered) AS failed,
            (SELECT count(*) FROM r WHERE fell_back) AS fallbacks,
            (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]::double precision[]) WITHIN GROUP (ORDER BY latency_ms)
               FROM predictions WHERE ${answering} AND served) AS p`,
    [q.model, q.start, q.end, q.readAt],
  );
  const row = rows[0];
  const requests = Number(row?.requests ?? 0);
  const failed = Number(row?.failed ?? 0);
  const p = row?.p ?? null;
  return {
    requests,
    failed,
    errorRate: requests > 0 ? failed / requests : null,
    fallbacks: Number(row?.fallbacks ?? 0),
    latencyP50Ms: p?.[0] ?? null,
    latencyP95Ms: p?.[1] ?? null,
    latencyP99Ms: p?.[2] ?? null,
  };
}

export interface LabelledScore {
  readonly atMs: number;
  readonly score: number;
  readonly positive: boolean;
}

/** The version's answered rows in [start, end) that have a label by now (feedback joined by request id). */
export async function readLabelledScores(
  db: Pool,
  q: WindowQuery & { readonly version: number },
): Promise<LabelledScore[]> {
  const { rows } = await db.query<{ at: Date; score: number; label_positive: boolean }>(
    `SELECT p.at, p.score, f.label_positive FROM predictions p
     JOIN feedback f ON f.request_id = p.request_id AND f.model_name = p.model_name
     WHERE p.model_name = $1 AND p.at >= $2::timestamptz AND p.at < $3::timestamptz AND ${traffic('p.')}
       AND p.served AND p.version = $4 AND p.score IS NOT NULL`,
    [q.model, q.start, q.end, q.version],
  );
  return rows.map((r) => ({ atMs: r.at.getTime(), score: Number(r.score), positive: r.label_positive }));
}

/**
 * Counts, for the model's recorded windows that start at or after `since`, the rows that landed after the window was
 * read (logged_at > read_at), and stores the counts. Returns the windows whose count grew.
 */
export async function countLateRows(
  db: Pool,
  model: string,
  since: string,
): Promise<{ start: string; lateRows: number; before: number }[]> {
  const { rows } = await db.query<{ window_start: Date; late: string; before: string }>(
    `WITH late AS (
       SELECT w.window_start, w.late_rows AS before, count(DISTINCT p.request_id) AS late
       FROM monitor_windows w
       JOIN predictions p ON p.model_name = w.model_name AND p.at >= w.window_start AND p.at < w.window_end
         AND ${traffic('p.')} AND p.logged_at > w.read_at
       WHERE w.model_name = $1 AND w.window_start >= $2::timestamptz AND w.read_at IS NOT NULL
       GROUP BY w.window_start, w.late_rows
     )
     UPDATE monitor_windows w SET late_rows = late.late FROM late
     WHERE w.model_name = $1 AND w.window_start = late.window_start AND w.late_rows <> late.late
     RETURNING w.window_start, late.late, late.before`,
    [model, since],
  );
  return rows.map((r) => ({
    start: r.window_start.toISOString(),
    lateRows: Number(r.late),
    before: Number(r.before),
  }));
}
