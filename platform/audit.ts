import type { Pool, PoolClient } from './db.js';

/** One entry of the append-only audit log: who did what to which subject, from where. */
export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: unknown;
  /** Where the request came from (API, CLI, Temporal signal, workflow). */
  readonly source?: string;
}

/** Appends to the audit log; inside the caller's transaction when given a client. */
export async function audit(db: Pool | PoolClient, entry: AuditEntry): Promise<void> {
  await db.query(
    'INSERT INTO audit_log (actor, action, subject, source, details) VALUES ($1, $2, $3, $4, $5)',
    [entry.actor, entry.action, entry.subject, entry.source ?? null, JSON.stringify(entry.details)],
  );
}
