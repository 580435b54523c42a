// The prediction log, written in batches off the response path. Rows wait in a bounded buffer; when PostgreSQL
// can't keep up the buffer fills and new rows are shed (counted), so a request never waits for the log.
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { insertPredictionDocument, type PredictionRecord } from '../platform/predictions.js';
import type { FeatureBatch } from './feature-batch.js';
import type { GatewayMetrics } from './metrics.js';

/** A log row before it is serialised: the features stay in the request's batch until the row is written. */
export interface LogRow {
  readonly at: number;
  readonly requestId: string;
  readonly model: string;
  readonly version: number;
  readonly role: PredictionRecord['role'];
  readonly served: boolean;
  readonly fallback: boolean;
  readonly batch: FeatureBatch;
  readonly row: number;
  readonly score: number | null;
  readonly label: string | null;
  readonly error: string | null;
  readonly latencyMs: number;
  readonly sticky: string | null;
}

export class PredictionLog {
  private buffer: LogRow[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private retryAt = 0;

  constructor(
    private readonly deps: {
      readonly db: Pool;
      readonly log: Logger;
      readonly metrics: GatewayMetrics;
      readonly batchRows: number;
      readonly flushMs: number;
      readonly bufferRows: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.flushMs);
    this.timer.unref();
  }

  /** Queues a row; sheds it (and counts it) when the buffer is full. Never waits. */
  push(row: LogRow): void {
    if (this.buffer.length >= this.deps.bufferRows) {
      this.deps.metrics.logShed.labels(row.model).inc();
      return;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.deps.batchRows && !this.flushing) void this.flush();
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Writes what is buffered, one batch after another; one flush at a time. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.buffer.length === 0 || Date.now() < this.retryAt) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
      this.deps.metrics.logBuffered.set(this.buffer.length);
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const rows = this.buffer.slice(0, this.deps.batchRows);
      try {
        const { json, days } = serialiseLogRows(rows);
        await insertPredictionDocument(this.deps.db, json, days);
      } catch (error) {
        this.failures++;
        // Back off (up to 5 s); the rows stay buffered and shedding starts only when the buffer is full.
        this.retryAt = Date.now() + Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        this.deps.metrics.logFlushFailures.inc();
        this.deps.log.warn(
          { err: error, rows: rows.length, buffered: this.buffer.length },
          'prediction log write failed',
        );
        return;
      }
      this.failures = 0;
      this.buffer.splice(0, rows.length);
      this.deps.metrics.logWritten.inc(rows.length);
      this.deps.metrics.logBuffered.set(this.buffer.length);
    }
  }

  /** Stops the timer and writes what is left, trying for up to `timeoutMs`. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      this.retryAt = 0;
      await this.flush();
      if (this.buffer.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    if (this.buffer.length > 0)
      this.deps.log.error({ rows: this.buffer.length }, 'prediction log rows lost at shutdown');
  }
}

const quote = (text: string | null) => (text === null ? 'null' : JSON.stringify(text));

/** Feature names as JSON keys, quoted once per batch. */
const quotedNames = new WeakMap<FeatureBatch, string[]>();

/**
 * The rows as one JSON array of PredictionRecord objects (see `logRecord`), written out directly: at tens of thousands of rows a
 * second, building an object per row and its inputs only to stringify them costs more than the insert.
 */
export function serialiseLogRows(rows: readonly LogRow[]): { json: string; days: Set<string> } {
  const days = new Set<string>();
  let lastAt = NaN;
  let iso = '';
  let json = '[';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.at !== lastAt) {
      lastAt = row.at;
      iso = new Date(row.at).toISOString();
      days.add(iso.slice(0, 10));
    }
    let names = quotedNames.get(row.batch);
    if (!names)
      quotedNames.set(row.batch, (names = [...row.batch.columns.keys()].map((k) => JSON.stringify(k))));
    let inputs = '{';
    let c = 0;
    for (const column of row.batch.columns.values()) {
      const v = column.values[row.row];
      const value =
        column.kind === 'numeric'
          ? Number.isNaN(v)
            ? 'null'
            : String(v)
          : quote((v as string | null) ?? null);
      inputs += `${c === 0 ? '' : ','}${names[c]}:${value}`;
      c++;
    }
    inputs += '}';
    json +=
      `${r === 0 ? '' : ','}{"at":"${iso}","request_id":${quote(row.requestId)},"model_name":${quote(row.model)},` +
      `"version":${row.version},"role":"${row.role}","served":${row.served},"fallback":${row.fallback},` +
      `"inputs":${inputs},"score":${row.score === null ? 'null' : String(row.score)},` +
      `"predicted_label":${quote(row.label)},"error":${quote(row.error)},"latency_ms":${String(row.latencyMs)},` +
      `"sticky_key":${quote(row.sticky)}}`;
  }
  return { json: `${json}]`, days };
}

/** The record `serialiseLogRows` writes for a row, as an object. */
export function logRecord(row: LogRow): PredictionRecord {
  const inputs: Record<string, number | string | null> = {};
  for (const [name, column] of row.batch.columns) {
    const v = column.values[row.row];
    inputs[name] =
      column.kind === 'numeric' ? (Number.isNaN(v) ? null : (v as number)) : ((v as string | null) ?? null);
  }
  return {
    at: new Date(row.at).toISOString(),
    request_id: row.requestId,
    model_name: row.model,
    version: row.version,
    role: row.role,
    served: row.served,
    fallback: row.fallback,
    inputs,
    score: row.score,
    predicted_label: row.label,
    error: row.error,
    latency_ms: row.latencyMs,
    sticky_key: row.sticky,
  };
}
