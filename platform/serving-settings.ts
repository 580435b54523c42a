import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * The serving gateway's settings (and the CLI's and API's gateway-related ones), part of the one environment schema
 * in config.ts. Durations are settings so tests run the same code paths in seconds.
 */
export const servingSettingsShape = {
  SERVING_HOST: z.string().min(1).default('127.0.0.1'),
  SERVING_PORT: port.default(8081),
  /** Gateway processes sharing the port (node:cluster); default: one per core. */
  SERVING_PROCESSES: count(1, 256).optional(),
  /** Largest request body, in bytes; a bigger one gets 413. */
  SERVING_MAX_BODY_BYTES: count(1024, 1 << 30).default(4 * 1024 * 1024),
  /** Most rows in one request; more gets 413. */
  SERVING_MAX_BATCH_ROWS: count(1, 1_000_000).default(1000),
  /** Requests a minute per client (API key name, else address) and gateway process; 0: no limit. */
  SERVING_RATE_LIMIT_PER_MINUTE: count(0, 100_000_000).default(0),
  /** How often each gateway process checks for a deployment change (well under the 1 s it has to apply one). */
  SERVING_DEPLOYMENT_POLL_MS: count(10, 60_000).default(250),
  /** A challenger batch slower than this counts as a timeout and its rows are answered by the champion. */
  SERVING_CHALLENGER_TIMEOUT_MS: count(1, 600_000).default(100),
  /** After a challenger timeout, its rows go straight to the champion (counted as errors) for this long. */
  SERVING_CHALLENGER_COOLDOWN_MS: count(0, 3_600_000).default(5000),
  /** onnxruntime sessions a gateway process keeps; deployed versions are never evicted. */
  SERVING_MAX_SESSIONS: count(1, 10_000).default(16),
  /** Threads onnxruntime uses inside one run (each gateway process already has a core). */
  SERVING_ORT_THREADS: count(1, 256).default(1),
  /** Prediction log: rows per insert, the longest a row waits before it is written, and the buffer's bound. */
  SERVING_LOG_BATCH_ROWS: count(1, 1_000_000).default(2000),
  SERVING_LOG_FLUSH_MS: count(1, 600_000).default(200),
  SERVING_LOG_BUFFER_ROWS: count(1, 100_000_000).default(100_000),
  /** Shadow rows waiting to be scored; past this, shadow work is dropped (and counted), never the answers. */
  SERVING_SHADOW_QUEUE_ROWS: count(0, 10_000_000).default(10_000),
  /** Database connections per gateway process. */
  SERVING_DB_POOL_MAX: count(1, 200).default(4),
  /** How long a label may wait for its prediction to be logged before it is dropped as unknown. */
  SERVING_FEEDBACK_PENDING_S: count(1, 7 * 24 * 3600).default(600),
  /** Where the CLI finds the gateway. */
  SLIPWAY_GATEWAY_URL: z
    .url({ message: 'expected a URL such as http://127.0.0.1:8081' })
    .default('http://127.0.0.1:8081'),
  /** Largest model or reference file the control API takes for `slipway models import`, in bytes. */
  SLIPWAY_UPLOAD_MAX_BYTES: count(1024, 64 * 1024 * 1024 * 1024).default(512 * 1024 * 1024),
};
