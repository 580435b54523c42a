import type { Pool } from './db.js';

/** One row of the prediction log (see platform/migrations/0010_serving.sql for each column's meaning). */
export interface PredictionRecord {
  readonly at: string;
  readonly request_id: string;
  readonly model_name: string;
  readonly version: number;
  readonly role: 'champion' | 'challenger' | 'shadow' | 'direct';
  readonly served: boolean;
  readonly fallback: boolean;
  readonly inputs: Record<string, unknown>;
  readonly score: number | null;
  readonly predicted_label: string | null;
  readonly error: string | null;
  readonly latency_ms: number;
  readonly sticky_key: string | null;
}

const columns =
  'at, request_id, model_name, version, role, served, fallback, inputs, score, predicted_label, error, latency_ms, sticky_key';
const recordType =
  'at timestamptz, request_id text, model_name text, version integer, role text, served boolean, fallback boolean, ' +
  'inputs jsonb, score double precision, predicted_label text, error text, latency_ms real, sticky_key text';

/** Per pool, the UTC days whose partition has been made sure of. */
const knownDays = new WeakMap<Pool, Set<string>>();

async function ensurePartitions(pool: Pool, days: ReadonlySet<string>): Promise<void> {
  let known = knownDays.get(pool);
  if (!known) knownDays.set(pool, (known = new Set()));
  for (const day of days) {
    if (known.has(day)) continue;
    // Two writers creating the same day race; the loser's statement fails, and the retry finds the table.
    await pool
      .query('SELECT ensure_predictions_partition($1::date)', [day])
      .catch(() => pool.query('SELECT ensure_predictions_partition($1::date)', [day]));
    known.add(day);
  }
}

/**
 * Appends rows to the prediction log in one statement (the rows travel as one JSON document), creating the UTC
 * day partitions they need first.
 */
export async function insertPredictions(pool: Pool, records: readonly PredictionRecord[]): Promise<void> {
  if (records.length === 0) return;
  await insertPredictionDocument(
    pool,
    JSON.stringify(records),
    new Set(records.map((r) => r.at.slice(0, 10))),
  );
}

/**
 * Appends rows given as a JSON array of PredictionRecord objects already serialised (the gateway writes it without
 * building the objects). `days` lists the rows' UTC days (YYYY-MM-DD).
 */
export async function insertPredictionDocument(
  pool: Pool,
  json: string,
  days: ReadonlySet<string>,
): Promise<void> {
  await ensurePartitions(pool, days);
  const insert = () =>
    pool.query(
      `INSERT INTO predictions (${columns}) SELECT ${columns} FROM jsonb_to_recordset($1::jsonb) AS x(${recordType})`,
      [json],
    );
  try {
    await insert();
  } catch (error) {
    // A partition dropped behind our back (retention): make sure of the days again, once.
    if (!/no partition of relation/.test((error as Error).message)) throw error;
    knownDays.delete(pool);
    await ensurePartitions(pool, days);
    await insert();
  }
}
