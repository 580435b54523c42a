import { audit } from './audit.js';
import { inTransaction, withTransaction, type Pool, type PoolClient } from './db.js';

/** Everything a registered version records about where it came from. JSON-safe. */
export interface VersionLineage {
  readonly runId: string;
  readonly datasetSha256: string;
  /** Which read of that file (the datasets entry's read key); absent for versions registered before it existed. */
  readonly datasetReadKey?: string;
  readonly split: Record<string, unknown>;
  readonly validationReportUri: string;
  readonly evaluationReportUri: string;
  readonly referenceProfileUri: string;
  readonly specHash: string;
  readonly codeVersion: string;
  readonly trainer: string;
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, unknown>;
  readonly artifactUri: string;
  readonly artifactSha256: string;
  readonly onnxSignature: Record<string, unknown>;
  readonly onnxOpset: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

export interface ModelVersion extends VersionLineage {
  readonly model: string;
  readonly version: number;
  readonly status: string;
  readonly aliases: readonly string[];
  readonly createdAt: string;
}

/** Thrown for a model, version or alias that does not exist. */
export class RegistryNotFoundError extends Error {
  override readonly name = 'RegistryNotFound';
}

/** Locks the model's row (creating the model if needed) and returns its id. */
async function lockModel(client: PoolClient, name: string): Promise<number> {
  await client.query('INSERT INTO models (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
  const { rows } = await client.query<{ id: string }>('SELECT id FROM models WHERE name = $1 FOR UPDATE', [
    name,
  ]);
  return Number(rows[0]!.id);
}

/**
 * Registers a new version of `model`. The number is allocated under the model row's lock (never MAX+1), so any
 * number of concurrent registrations get distinct consecutive versions. Idempotent per run: a retry with the same
 * run id returns the version it got the first time, and writes nothing.
 */
export async function registerVersion(
  pool: Pool,
  model: string,
  lineage: VersionLineage,
  actor: string,
): Promise<{ version: number; created: boolean }> {
  return withTransaction(pool, async (client) => {
    const modelId = await lockModel(client, model);
    const existing = await client.query<{ version: number }>(
      'SELECT version FROM model_versions WHERE model_id = $1 AND run_id = $2',
      [modelId, lineage.runId],
    );
    if (existing.rows[0]) return { version: existing.rows[0].version, created: false };
    const { rows } = await client.query<{ last_version: number }>(
      'UPDATE models SET last_version = last_version + 1 WHERE id = $1 RETURNING last_version',
      [modelId],
    );
    const version = rows[0]!.last_version;
    await client.query(
      `INSERT INTO model_versions (model_id, version, run_id, dataset_sha256, split, validation_report_uri,
         evaluation_report_uri, reference_profile_uri, spec_hash, code_version, trainer, params, metrics,
         artifact_uri, artifact_sha256, onnx_signature, onnx_opset, metadata, dataset_read_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
      [
        modelId,
        version,
        lineage.runId,
        lineage.datasetSha256,
        JSON.stringify(lineage.split),
        lineage.validationReportUri,
        lineage.evaluationReportUri,
        lineage.referenceProfileUri,
        lineage.specHash,
        lineage.codeVersion,
        lineage.trainer,
        JSON.stringify(lineage.params),
        JSON.stringify(lineage.metrics),
        lineage.artifactUri,
        lineage.artifactSha256,
        JSON.stringify(lineage.onnxSignature),
        JSON.stringify(lineage.onnxOpset),
        JSON.stringify(lineage.metadata),
        lineage.datasetReadKey ?? null,
      ],
    );
    await audit(client, {
      actor,
      action: 'version.register',
      subject: `${model}:${version}`,
      details: { runId: lineage.runId },
    });
    return { version, created: true };
  });
}

/**
 * Moves `alias` to `version` only if it currently points at `expected` (null: the alias must not exist yet).
 * Returns whether it moved and where the alias points now; a lost race never overwrites the winner. Given a client,
 * it runs inside the caller's transaction.
 */
export async function moveAlias(
  db: Pool | PoolClient,
  move: {
    model: string;
    alias: string;
    version: number;
    expected: number | null;
    actor: string;
    source?: string;
    /** Idempotency key: a retry with the same id, after the first attempt committed, reports success. */
    requestId?: string;
  },
): Promise<{ moved: boolean; current: number | null }> {
  return inTransaction(db, async (client) => {
    const modelId = await lockModel(client, move.model);
    const { rows } = await client.query<{ version: number; request_id: string | null }>(
      'SELECT version, request_id FROM aliases WHERE model_id = $1 AND alias = $2',
      [modelId, move.alias],
    );
    const current = rows[0]?.version ?? null;
    // A retry of a move that already committed (same request id) is success, not a lost race.
    if (move.requestId !== undefined && rows[0]?.request_id === move.requestId && current === move.version) {
      return { moved: true, current };
    }
    if (current !== move.expected) return { moved: false, current };
    if (current === null) {
      await client.query(
        'INSERT INTO aliases (model_id, alias, version, updated_by, request_id) VALUES ($1, $2, $3, $4, $5)',
        [modelId, move.alias, move.version, move.actor, move.requestId ?? null],
      );
    } else {
      await client.query(
        'UPDATE aliases SET version = $3, revision = revision + 1, updated_by = $4, updated_at = now(), request_id = $5 WHERE model_id = $1 AND alias = $2',
        [modelId, move.alias, move.version, move.actor, move.requestId ?? null],
      );
    }
    await audit(client, {
      actor: move.actor,
      action: 'alias.move',
      subject: `${move.model}@${move.alias}`,
      details: { from: current, to: move.version },
      ...(move.source ? { source: move.source } : {}),
    });
    return { moved: true, current: move.version };
  });
}

/**
 * Records a dataset entry: one file (sha256) read one way (readKey, from ml/ingest/read-key.ts). The same file
 * read with other options is another entry with its own frame; the same read again changes nothing.
 */
export async function upsertDataset(
  pool: Pool,
  dataset: {
    sha256: string;
    readKey: string;
    readOptions: Record<string, unknown>;
    source: string;
    format: string;
    rowCount: number;
    frameUri: string;
    frameSha256: string;
    schema: unknown;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO datasets (sha256, read_key, read_options, source, format, row_count, frame_uri, frame_sha256, schema)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (sha256, read_key) DO NOTHING`,
    [
      dataset.sha256,
      dataset.readKey,
      JSON.stringify(dataset.readOptions),
      dataset.source,
      dataset.format,
      dataset.rowCount,
      dataset.frameUri,
      dataset.frameSha256,
      JSON.stringify(dataset.schema),
    ],
  );
}

export async function recordRun(
  pool: Pool,
  run: {
    runId: string;
    workflowId: string;
    model: string;
    status: 'running' | 'registered' | 'rejected' | 'failed';
    stage?: string;
    specHash: string;
    spec: unknown;
    reason?: string;
    details?: unknown;
  },
): Promise<void> {
  const finished = run.status !== 'running';
  await pool.query(
    `INSERT INTO runs (run_id, workflow_id, model_name, status, stage, spec_hash, spec, reason, details, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN now() END)
     ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, stage = EXCLUDED.stage, reason = EXCLUDED.reason,
       details = EXCLUDED.details, finished_at = EXCLUDED.finished_at`,
    [
      run.runId,
      run.workflowId,
      run.model,
      run.status,
      run.stage ?? null,
      run.specHash,
      JSON.stringify(run.spec),
      run.reason ?? null,
      JSON.stringify(run.details ?? {}),
      finished,
    ],
  );
}

interface VersionRow {
  name: string;
  version: number;
  run_id: string;
  status: string;
  dataset_sha256: string;
  dataset_read_key: string | null;
  split: Record<string, unknown>;
  validation_report_uri: string;
  evaluation_report_uri: string;
  reference_profile_uri: string;
  spec_hash: string;
  code_version: string;
  trainer: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifact_uri: string;
  artifact_sha256: string;
  onnx_signature: Record<string, unknown>;
  onnx_opset: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: Date;
  aliases: string[] | null;
}

const versionSelect = `
  SELECT m.name, v.*, (SELECT array_agg(a.alias ORDER BY a.alias) FROM aliases a
                        WHERE a.model_id = v.model_id AND a.version = v.version) AS aliases
  FROM model_versions v JOIN models m ON m.id = v.model_id`;

function toVersion(row: VersionRow): ModelVersion {
  return {
    model: row.name,
    version: row.version,
    status: row.status,
    aliases: row.aliases ?? [],
    createdAt: row.created_at.toISOString(),
    runId: row.run_id,
    datasetSha256: row.dataset_sha256,
    ...(row.dataset_read_key ? { datasetReadKey: row.dataset_read_key } : {}),
    split: row.split,
    validationReportUri: row.validation_report_uri,
    evaluationReportUri: row.evaluation_report_uri,
    referenceProfileUri: row.reference_profile_uri,
    specHash: row.spec_hash,
    codeVersion: row.code_version,
    trainer: row.trainer,
    params: row.params,
    metrics: row.metrics,
    artifactUri: row.artifact_uri,
    artifactSha256: row.artifact_sha256,
    onnxSignature: row.onnx_signature,
    onnxOpset: row.onnx_opset,
    metadata: row.metadata,
  };
}

/** A version by number or by alias (`champion`); undefined when there is none. */
export async function findVersion(
  pool: Pool,
  model: string,
  ref: number | { alias: string },
): Promise<ModelVersion | undefined> {
  const { rows } =
    typeof ref === 'number'
      ? await pool.query<VersionRow>(`${versionSelect} WHERE m.name = $1 AND v.version = $2`, [model, ref])
      : await pool.query<VersionRow>(
          `${versionSelect} JOIN aliases al ON al.model_id = v.model_id AND al.version = v.version
           WHERE m.name = $1 AND al.alias = $2`,
          [model, ref.alias],
        );
  return rows[0] ? toVersion(rows[0]) : undefined;
}

export async function listVersions(pool: Pool, model: string): Promise<ModelVersion[]> {
  const { rows } = await pool.query<VersionRow>(
    `${versionSelect} WHERE m.name = $1 ORDER BY v.version DESC`,
    [model],
  );
  return rows.map(toVersion);
}

export interface ModelSummary {
  readonly name: string;
  readonly latestVersion: number;
  readonly aliases: Record<string, number>;
  readonly createdAt: string;
}

export async function listModels(pool: Pool): Promise<ModelSummary[]> {
  const { rows } = await pool.query<{
    name: string;
    last_version: number;
    created_at: Date;
    aliases: Record<string, number> | null;
  }>(
    `SELECT m.name, m.last_version, m.created_at,
            (SELECT jsonb_object_agg(a.alias, a.version) FROM aliases a WHERE a.model_id = m.id) AS aliases
     FROM models m ORDER BY m.name`,
  );
  return rows.map((r) => ({
    name: r.name,
    latestVersion: r.last_version,
    aliases: r.aliases ?? {},
    createdAt: r.created_at.toISOString(),
  }));
}

export async function findRun(pool: Pool, runId: string) {
  const { rows } = await pool.query('SELECT * FROM runs WHERE run_id = $1', [runId]);
  return rows[0] as Record<string, unknown> | undefined;
}
