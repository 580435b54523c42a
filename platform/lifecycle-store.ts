import type { LifecycleEvent, LifecycleEventKind } from '../domain/lifecycle.js';
import { audit } from './audit.js';
import { withTransaction, type Pool } from './db.js';

/** An event as stored, with the row id the history is paged by. */
export interface StoredLifecycleEvent extends LifecycleEvent {
  readonly id: number;
  readonly model: string;
  /** The lifecycle workflow that recorded it (`workflowId` is the workflow the event is about). */
  readonly lifecycleWorkflowId: string;
}

interface EventRow {
  id: string;
  workflow_id: string;
  model_name: string;
  seq: number;
  at: Date;
  kind: LifecycleEventKind;
  message: string;
  version: number | null;
  actor: string | null;
  subject_workflow_id: string | null;
  subject_run_id: string | null;
  reports: Record<string, string>;
  details: Record<string, unknown>;
}

function toEvent(row: EventRow): StoredLifecycleEvent {
  return {
    id: Number(row.id),
    model: row.model_name,
    lifecycleWorkflowId: row.workflow_id,
    seq: row.seq,
    at: row.at.toISOString(),
    kind: row.kind,
    message: row.message,
    ...(row.version !== null ? { version: row.version } : {}),
    ...(row.actor !== null ? { actor: row.actor } : {}),
    ...(row.subject_workflow_id !== null ? { workflowId: row.subject_workflow_id } : {}),
    ...(row.subject_run_id !== null ? { runId: row.subject_run_id } : {}),
    ...(Object.keys(row.reports).length > 0 ? { reports: row.reports } : {}),
    ...(Object.keys(row.details).length > 0 ? { details: row.details } : {}),
  };
}

/**
 * Appends a lifecycle's events. Idempotent: an event already stored (same workflow, chain and seq) is skipped, so
 * a retried activity writes nothing twice. Events a person caused (an actor) also go to the audit log, in the same
 * transaction.
 */
export async function recordLifecycleEvents(
  pool: Pool,
  write: { workflowId: string; chainId: string; model: string; events: readonly LifecycleEvent[] },
): Promise<number> {
  if (write.events.length === 0) return 0;
  return withTransaction(pool, async (client) => {
    let written = 0;
    for (const event of write.events) {
      const { rowCount } = await client.query(
        `INSERT INTO lifecycle_events (workflow_id, chain_id, model_name, seq, at, kind, message, version, actor,
           subject_workflow_id, subject_run_id, reports, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (workflow_id, chain_id, seq) DO NOTHING`,
        [
          write.workflowId,
          write.chainId,
          write.model,
          event.seq,
          event.at,
          event.kind,
          event.message,
          event.version ?? null,
          event.actor ?? null,
          event.workflowId ?? null,
          event.runId ?? null,
          JSON.stringify(event.reports ?? {}),
          JSON.stringify(event.details ?? {}),
        ],
      );
      if (rowCount === 1 && event.actor !== undefined) {
        await audit(client, {
          actor: event.actor,
          action: `lifecycle.${event.kind}`,
          subject: write.model,
          details: { message: event.message, workflowId: write.workflowId, seq: event.seq },
          ...(typeof event.details?.source === 'string' ? { source: event.details.source } : {}),
        });
      }
      written += rowCount ?? 0;
    }
    return written;
  });
}

/** A model's lifecycle events after row `afterId`, oldest first (the whole history when `afterId` is 0). */
export async function listLifecycleEvents(
  pool: Pool,
  query: { model: string; afterId?: number; limit?: number; kinds?: readonly string[] },
): Promise<StoredLifecycleEvent[]> {
  const { rows } = await pool.query<EventRow>(
    `SELECT id, workflow_id, model_name, seq, at, kind, message, version, actor, subject_workflow_id, subject_run_id,
            reports, details
     FROM lifecycle_events
     WHERE model_name = $1 AND id > $2 AND ($4::text[] IS NULL OR kind = ANY($4::text[]))
     ORDER BY id LIMIT $3`,
    [query.model, query.afterId ?? 0, query.limit ?? 1000, query.kinds ?? null],
  );
  return rows.map(toEvent);
}

/** The id of a model's latest event (0: none), so a watcher can start from now. */
export async function lastLifecycleEventId(pool: Pool, model: string): Promise<number> {
  const { rows } = await pool.query<{ id: string | null }>(
    'SELECT max(id)::text AS id FROM lifecycle_events WHERE model_name = $1',
    [model],
  );
  return Number(rows[0]?.id ?? 0);
}
