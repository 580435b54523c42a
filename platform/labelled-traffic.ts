import type { Pool } from './db.js';

/** A served prediction with the label that arrived for it. */
export interface LabelledRow {
  readonly at: string;
  readonly requestId: string;
  readonly version: number;
  readonly inputs: Record<string, unknown>;
  /** The label as the client sent it. */
  readonly label: string;
}

/**
 * The latest `maxRows` served predictions of `model` logged at or after `since` that have a label, oldest first.
 * One row per request: the answer the client got (a shadow's score is not traffic).
 */
export async function selectLabelledTraffic(
  pool: Pool,
  query: { model: string; since: string; maxRows: number },
): Promise<LabelledRow[]> {
  const { rows } = await pool.query<{
    at: Date;
    request_id: string;
    version: number;
    inputs: Record<string, unknown>;
    label: string;
  }>(
    `SELECT p.at, p.request_id, p.version, p.inputs, f.label
     FROM predictions p JOIN feedback f ON f.request_id = p.request_id AND f.model_name = p.model_name
     WHERE p.model_name = $1 AND p.served AND p.at >= $2
     ORDER BY p.at DESC, p.request_id DESC
     LIMIT $3`,
    [query.model, query.since, query.maxRows],
  );
  return rows.reverse().map((r) => ({
    at: r.at.toISOString(),
    requestId: r.request_id,
    version: r.version,
    inputs: r.inputs,
    label: r.label,
  }));
}

/** Scores and labels of a version's latest `rows` labelled, served predictions (for a performance floor). */
export async function selectLabelledScores(
  pool: Pool,
  query: { model: string; version: number; rows: number; since?: string },
): Promise<{ scores: Float64Array; labels: Uint8Array }> {
  const { rows } = await pool.query<{ score: number; positive: boolean }>(
    `SELECT p.score, f.label_positive AS positive
     FROM predictions p JOIN feedback f ON f.request_id = p.request_id AND f.model_name = p.model_name
     WHERE p.model_name = $1 AND p.version = $2 AND p.served AND p.score IS NOT NULL AND p.at >= $4
     ORDER BY p.at DESC LIMIT $3`,
    [query.model, query.version, query.rows, query.since ?? '-infinity'],
  );
  const scores = new Float64Array(rows.length);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    scores[i] = Number(r.score);
    labels[i] = r.positive ? 1 : 0;
  });
  return { scores, labels };
}

export interface TrafficExportRecord {
  readonly datasetSha256: string;
  readonly uri: string;
  readonly model: string;
  readonly since: string;
  readonly firstPredictionAt: string | null;
  readonly lastPredictionAt: string | null;
  readonly trafficRows: number;
  readonly originalRows: number;
  readonly originalSource: string | null;
  readonly settings: Record<string, unknown>;
  readonly requestId: string;
}

/** Records an export; a second record with the same request id keeps the first and returns it. */
export async function recordTrafficExport(
  pool: Pool,
  record: TrafficExportRecord,
): Promise<TrafficExportRecord> {
  await pool.query(
    `INSERT INTO traffic_exports (dataset_sha256, uri, model_name, since, first_prediction_at, last_prediction_at,
       traffic_rows, original_rows, original_source, settings, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (request_id) DO NOTHING`,
    [
      record.datasetSha256,
      record.uri,
      record.model,
      record.since,
      record.firstPredictionAt,
      record.lastPredictionAt,
      record.trafficRows,
      record.originalRows,
      record.originalSource,
      JSON.stringify(record.settings),
      record.requestId,
    ],
  );
  return (await findTrafficExport(pool, record.requestId))!;
}

/** The export made for `requestId`, if any (a retried export returns the first one's file). */
export async function findTrafficExport(
  pool: Pool,
  requestId: string,
): Promise<TrafficExportRecord | undefined> {
  const { rows } = await pool.query<{
    dataset_sha256: string;
    uri: string;
    model_name: string;
    since: Date;
    first_prediction_at: Date | null;
    last_prediction_at: Date | null;
    traffic_rows: number;
    original_rows: number;
    original_source: string | null;
    settings: Record<string, unknown>;
    request_id: string;
  }>('SELECT * FROM traffic_exports WHERE request_id = $1', [requestId]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    datasetSha256: r.dataset_sha256,
    uri: r.uri,
    model: r.model_name,
    since: r.since.toISOString(),
    firstPredictionAt: r.first_prediction_at?.toISOString() ?? null,
    lastPredictionAt: r.last_prediction_at?.toISOString() ?? null,
    trafficRows: r.traffic_rows,
    originalRows: r.original_rows,
    originalSource: r.original_source,
    settings: r.settings,
    requestId: r.request_id,
  };
}

/**
 * Where a registered dataset's typed frame is, by its sha256. The same file read with other options is another
 * entry (another read key): the one `model`'s first version was trained from wins, else the newest.
 */
export async function findDatasetFrame(
  pool: Pool,
  sha256: string,
  model: string,
): Promise<{ frameUri: string; frameSha256: string; source: string; rowCount: number } | undefined> {
  const { rows } = await pool.query<{
    frame_uri: string;
    frame_sha256: string;
    source: string;
    row_count: string;
  }>(
    `SELECT d.frame_uri, d.frame_sha256, d.source, d.row_count
       FROM datasets d
      WHERE d.sha256 = $1
      ORDER BY (SELECT min(v.version)
                  FROM model_versions v JOIN models m ON m.id = v.model_id
                 WHERE m.name = $2 AND v.dataset_sha256 = d.sha256 AND v.dataset_read_key = d.read_key)
                 NULLS LAST,
               d.created_at DESC
      LIMIT 1`,
    [sha256, model],
  );
  const r = rows[0];
  return r
    ? { frameUri: r.frame_uri, frameSha256: r.frame_sha256, source: r.source, rowCount: Number(r.row_count) }
    : undefined;
}
