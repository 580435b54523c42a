import { createHmac } from 'node:crypto';
import { withTransaction, type Pool, type PoolClient } from './db.js';

/**
 * The outbox: events written in the same transaction as the change they announce, then delivered to a webhook at
 * least once by `deliverOutbox`. Each event carries an idempotency key (also in its payload and the
 * `Idempotency-Key` header), so a receiver drops a redelivery.
 */

export interface OutboxEvent {
  readonly topic: string;
  readonly idempotencyKey: string;
  /** JSON; delivered as the request body. */
  readonly payload: Record<string, unknown>;
}

/** Adds events inside the caller's transaction; an event whose key is already there is left as it is. */
export async function enqueueOutbox(client: PoolClient, events: readonly OutboxEvent[]): Promise<number> {
  let added = 0;
  for (const e of events) {
    const { rowCount } = await client.query(
      `INSERT INTO outbox (topic, payload, idempotency_key) VALUES ($1, $2, $3)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [e.topic, JSON.stringify({ ...e.payload, idempotencyKey: e.idempotencyKey }), e.idempotencyKey],
    );
    added += rowCount ?? 0;
  }
  return added;
}

export interface WebhookTarget {
  readonly url: string;
  /** When set, each request carries `X-Slipway-Signature: sha256=<hex HMAC of the body>`. */
  readonly secret?: string;
  readonly timeoutMs: number;
}

export interface DeliveryOutcome {
  readonly delivered: number;
  readonly failed: number;
  /** Events still waiting (matching the filter), whether due now or backing off. */
  readonly pending: number;
  /** How long until the earliest waiting event is due (0: now); null when none waits. */
  readonly nextAttemptInMs: number | null;
  readonly errors: readonly string[];
}

/** Retry delay after `attempts` failed deliveries: 1 s doubling, at most 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

/** The body's signature, as the `X-Slipway-Signature` header carries it. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function post(target: WebhookTarget, body: string, key: string): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': key,
    'user-agent': 'slipway-alerts',
  };
  if (target.secret) headers['x-slipway-signature'] = webhookSignature(target.secret, body);
  const response = await fetch(target.url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(target.timeoutMs),
    redirect: 'error',
  });
  // Drain the body so the connection is reusable; its content does not matter.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
}

/**
 * Delivers the due events of `topic` (optionally only those whose payload's `filter` fields match), oldest first.
 * Each event is claimed with a row lock that other deliverers skip, so two deliverers never send it at once; a
 * delivered event is marked, a failed one backs off. A crash between the POST and the mark sends it again later:
 * at least once, never silently dropped.
 */
export async function deliverOutbox(
  pool: Pool,
  options: {
    readonly topic: string;
    readonly target: WebhookTarget;
    readonly filter?: Readonly<Record<string, string>>;
    readonly limit?: number;
  },
): Promise<DeliveryOutcome> {
  const filter = JSON.stringify(options.filter ?? {});
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM outbox WHERE topic = $1 AND delivered_at IS NULL AND next_attempt_at <= now() AND payload @> $2::jsonb
     ORDER BY next_attempt_at, id LIMIT $3`,
    [options.topic, filter, options.limit ?? 100],
  );
  let delivered = 0;
  let failed = 0;
  const errors: string[] = [];
  for (const { id } of rows) {
    await withTransaction(pool, async (client) => {
      const claimed = await client.query<{
        payload: Record<string, unknown>;
        idempotency_key: string | null;
      }>(
        `SELECT payload, idempotency_key FROM outbox WHERE id = $1 AND delivered_at IS NULL FOR UPDATE SKIP LOCKED`,
        [id],
      );
      const row = claimed.rows[0];
      if (!row) return;
      const body = JSON.stringify(row.payload);
      try {
        await post(options.target, body, row.idempotency_key ?? `outbox-${id}`);
        await client.query('UPDATE outbox SET delivered_at = now(), attempts = attempts + 1 WHERE id = $1', [
          id,
        ]);
        delivered++;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const { rows: updated } = await client.query<{ attempts: number }>(
          'UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1 RETURNING attempts',
          [id, message.slice(0, 1000)],
        );
        const attempts = updated[0]?.attempts ?? 1;
        await client.query(
          `UPDATE outbox SET next_attempt_at = now() + ($2::double precision * interval '1 millisecond') WHERE id = $1`,
          [id, backoffMs(attempts)],
        );
        failed++;
        errors.push(`${row.idempotency_key ?? id}: ${message}`);
      }
    });
    // A receiver that failed once this pass is likely down: the rest wait for the next pass instead of each
    // waiting out its own timeout.
    if (failed > 0) break;
  }
  const { rows: left } = await pool.query<{ n: string; wait_ms: number | null }>(
    `SELECT count(*) AS n,
            greatest(0, extract(epoch FROM min(next_attempt_at) - now()) * 1000)::double precision AS wait_ms
     FROM outbox WHERE topic = $1 AND delivered_at IS NULL AND payload @> $2::jsonb`,
    [options.topic, filter],
  );
  const pending = Number(left[0]?.n ?? 0);
  const wait = left[0]?.wait_ms;
  return {
    delivered,
    failed,
    pending,
    nextAttemptInMs: pending > 0 && wait !== null && wait !== undefined ? Math.ceil(Number(wait)) : null,
    errors,
  };
}

/** Events of `topic` not delivered yet (whose payload matches `filter`). */
export async function pendingOutbox(
  pool: Pool,
  topic: string,
  filter: Readonly<Record<string, string>> = {},
): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM outbox WHERE topic = $1 AND delivered_at IS NULL AND payload @> $2::jsonb',
    [topic, JSON.stringify(filter)],
  );
  return Number(rows[0]?.n ?? 0);
}
