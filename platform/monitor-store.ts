import type { AlertState } from '../domain/alert-hysteresis.js';
import type { MonitorAlertEvent, WindowJudgement } from '../domain/monitor.js';
import type { DriftStatRow } from '../ml/monitor/window-figures.js';
import { audit } from './audit.js';
import { withTransaction, type Pool } from './db.js';
import { enqueueOutbox } from './outbox.js';

/** The outbox topic of monitor alerts, delivered to SLIPWAY_ALERT_WEBHOOK. */
export const alertTopic = 'monitor.alert';

export interface WindowRecord {
  readonly model: string;
  readonly workflowId: string;
  /** Who started the monitor; in each alert's audit entry. */
  readonly requestedBy: string;
  readonly judgement: WindowJudgement;
  readonly alertState: Readonly<Record<string, AlertState>>;
  readonly events: readonly MonitorAlertEvent[];
  readonly report: { readonly uri: string; readonly htmlUri: string; readonly sha256: string };
  readonly driftRows: readonly DriftStatRow[];
  /** Queue each event for the alert webhook (when one is configured). */
  readonly webhook: boolean;
}

export interface RecordedWindow {
  readonly reportUri: string;
  readonly reportHtmlUri: string;
  /** False when the window had been recorded already (a retried activity, a replayed window): nothing changed. */
  readonly created: boolean;
}

/** The recorded window starting at `start`, if any. */
export async function findWindow(
  db: Pool,
  model: string,
  start: string,
): Promise<RecordedWindow | undefined> {
  const { rows } = await db.query<{ report_uri: string; report_html_uri: string }>(
    'SELECT report_uri, report_html_uri FROM monitor_windows WHERE model_name = $1 AND window_start = $2::timestamptz',
    [model, start],
  );
  const row = rows[0];
  return row ? { reportUri: row.report_uri, reportHtmlUri: row.report_html_uri, created: false } : undefined;
}

/**
 * Writes a window in one transaction: its row, a drift_stats row per feature (and the scores), its alert
 * transitions, their audit entries and outbox events. Keyed by (model, window start): when the window is there
 * already, nothing is written and the first record is returned.
 */
export async function recordWindow(db: Pool, record: WindowRecord): Promise<RecordedWindow> {
  const j = record.judgement;
  return withTransaction(db, async (client) => {
    const inserted = await client.query(
      `INSERT INTO monitor_windows (model_name, window_start, window_end, window_index, workflow_id, version, status,
         row_count, rows_read, drift_detected, drifted_features, prediction_drift, slo, performance, outcomes,
         alert_state, transitions, report_uri, report_html_uri, report_sha256, labelled_count, performance_now,
         performance_updated_at, read_at)
       VALUES ($1, $2::timestamptz, $3::timestamptz, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
         $18, $19, $20, 0, NULL, NULL, $21::timestamptz)
       ON CONFLICT (model_name, window_start) DO NOTHING`,
      [
        record.model,
        j.range.start,
        j.range.end,
        j.range.index,
        record.workflowId,
        j.version,
        j.status,
        j.rowCount,
        j.rowsRead,
        j.status === 'judged' ? j.features.some((f) => f.drift) : null,
        j.features.filter((f) => f.drift).map((f) => f.feature),
        j.prediction ? j.prediction.drift : null,
        JSON.stringify(j.slo),
        j.performance ? JSON.stringify(j.performance) : null,
        JSON.stringify(j.outcomes),
        JSON.stringify(record.alertState),
        JSON.stringify(record.events.map((e) => ({ key: e.key, transition: e.transition }))),
        record.report.uri,
        record.report.htmlUri,
        record.report.sha256,
        j.readAt,
      ],
    );
    if (inserted.rowCount === 0) {
      const { rows } = await client.query<{ report_uri: string; report_html_uri: string }>(
        'SELECT report_uri, report_html_uri FROM monitor_windows WHERE model_name = $1 AND window_start = $2::timestamptz',
        [record.model, j.range.start],
      );
      return { reportUri: rows[0]!.report_uri, reportHtmlUri: rows[0]!.report_html_uri, created: false };
    }
    if (record.driftRows.length > 0 && j.version !== null) {
      const r = record.driftRows;
      await client.query(
        `INSERT INTO drift_stats (model_name, window_start, window_end, version, source, feature, kind, test,
           statistic, p_value, threshold, drift, current_count, reference_count, statistics)
         SELECT $1, $2::timestamptz, $3::timestamptz, $4, * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[],
           $9::double precision[], $10::double precision[], $11::double precision[], $12::boolean[], $13::bigint[],
           $14::bigint[], $15::jsonb[])`,
        [
          record.model,
          j.range.start,
          j.range.end,
          j.version,
          r.map((x) => x.source),
          r.map((x) => x.feature),
          r.map((x) => x.kind),
          r.map((x) => x.test),
          r.map((x) => x.statistic),
          r.map((x) => x.pValue),
          r.map((x) => x.threshold),
          r.map((x) => x.drift),
          r.map((x) => x.currentCount),
          r.map((x) => x.referenceCount),
          r.map((x) => JSON.stringify(x.statistics)),
        ],
      );
    }
    for (const e of record.events) {
      const payload = {
        ...e,
        reportUri: record.report.uri,
        reportHtmlUri: record.report.htmlUri,
      };
      await client.query(
        `INSERT INTO monitor_alerts (model_name, alert_key, window_start, transition, kind, feature, version,
           idempotency_key, details)
         VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7, $8, $9)`,
        [
          record.model,
          e.key,
          j.range.start,
          e.transition,
          e.kind,
          e.feature ?? null,
          e.version,
          e.idempotencyKey,
          JSON.stringify(payload),
        ],
      );
      await audit(client, {
        actor: record.workflowId,
        action: `alert.${e.transition}`,
        subject: `${record.model}:${e.key}`,
        source: 'monitor',
        details: { ...payload, monitorStartedBy: record.requestedBy },
      });
      if (record.webhook) {
        await enqueueOutbox(client, [
          {
            topic: alertTopic,
            idempotencyKey: e.idempotencyKey,
            payload: { type: `alert.${e.transition}`, ...payload },
          },
        ]);
      }
    }
    return { reportUri: record.report.uri, reportHtmlUri: record.report.htmlUri, created: true };
  });
}

/** One earlier window's statistics, for the statistic-over-time charts. */
export interface HistoryWindow {
  readonly start: string;
  readonly end: string;
  readonly version: number | null;
  readonly stats: readonly (Pick<
    DriftStatRow,
    'source' | 'feature' | 'test' | 'statistic' | 'pValue' | 'threshold' | 'drift'
  > & { readonly adjustedPValue: number | null })[];
}

/** The `limit` judged windows before `before`, oldest first, with their drift rows. */
export async function windowHistory(
  db: Pool,
  model: string,
  before: string,
  limit: number,
): Promise<HistoryWindow[]> {
  const { rows } = await db.query<{
    window_start: Date;
    window_end: Date;
    version: number | null;
    stats:
      | {
          source: 'feature' | 'prediction';
          feature: string;
          test: string;
          statistic: number | null;
          p_value: number | null;
          threshold: number | null;
          drift: boolean;
          adjusted: unknown;
        }[]
      | null;
  }>(
    `SELECT w.window_start, w.window_end, w.version,
            (SELECT json_agg(json_build_object('source', s.source, 'feature', s.feature, 'test', s.test,
                      'statistic', s.statistic, 'p_value', s.p_value, 'threshold', s.threshold, 'drift', s.drift,
                      'adjusted', s.statistics -> 'adjustedPValue'))
               FROM drift_stats s WHERE s.model_name = w.model_name AND s.window_start = w.window_start) AS stats
     FROM (SELECT * FROM monitor_windows WHERE model_name = $1 AND window_start < $2::timestamptz AND status = 'judged'
           ORDER BY window_start DESC LIMIT $3) w
     ORDER BY w.window_start`,
    [model, before, limit],
  );
  return rows.map((r) => ({
    start: r.window_start.toISOString(),
    end: r.window_end.toISOString(),
    version: r.version,
    stats: (r.stats ?? []).map((s) => ({
      source: s.source,
      feature: s.feature,
      test: s.test,
      statistic: s.statistic,
      pValue: s.p_value,
      adjustedPValue: typeof s.adjusted === 'number' ? s.adjusted : null,
      threshold: s.threshold,
      drift: s.drift,
    })),
  }));
}

/** Recorded windows that end after `from`, oldest first: those whose realised performance is recomputed. */
export async function windowsSince(
  db: Pool,
  model: string,
  from: string,
): Promise<{ start: string; end: string; version: number | null }[]> {
  const { rows } = await db.query<{ window_start: Date; window_end: Date; version: number | null }>(
    `SELECT window_start, window_end, version FROM monitor_windows
     WHERE model_name = $1 AND window_end > $2::timestamptz ORDER BY window_start`,
    [model, from],
  );
  return rows.map((r) => ({
    start: r.window_start.toISOString(),
    end: r.window_end.toISOString(),
    version: r.version,
  }));
}

/** Sets recomputed realised performance of recorded windows (labels that arrived since). Idempotent. */
export async function updateWindowPerformance(
  db: Pool,
  model: string,
  updates: readonly { start: string; labelled: number; performance: Record<string, unknown> | null }[],
): Promise<void> {
  if (updates.length === 0) return;
  await db.query(
    `UPDATE monitor_windows w SET labelled_count = u.labelled, performance_now = u.performance,
       performance_updated_at = now()
     FROM unnest($2::timestamptz[], $3::bigint[], $4::jsonb[]) AS u(start, labelled, performance)
     WHERE w.model_name = $1 AND w.window_start = u.start
       AND (w.labelled_count IS DISTINCT FROM u.labelled OR w.performance_now IS DISTINCT FROM u.performance)`,
    [
      model,
      updates.map((u) => u.start),
      updates.map((u) => u.labelled),
      updates.map((u) => (u.performance ? JSON.stringify(u.performance) : null)),
    ],
  );
}
