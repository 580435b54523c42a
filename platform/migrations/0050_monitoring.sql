-- Monitoring: one row per judged window of a model's served traffic, one row per feature per window for trends, the
-- alert transitions, and what the outbox needs to deliver webhooks at least once. Every write of a window happens
-- in one transaction keyed by (model, window start), so a retried or replayed window changes nothing.

CREATE TABLE IF NOT EXISTS monitor_windows (
  model_name text NOT NULL,
  -- The window is the half-open range [window_start, window_end) of the prediction log's `at`.
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  -- Windows judged before this one by this model's monitor (0-based, across continue-as-new).
  window_index bigint NOT NULL,
  -- The monitor workflow that judged it.
  workflow_id text NOT NULL,
  -- The version whose drift reference the window was judged against; null when nothing had answered yet.
  version integer,
  -- judged: drift was decided; too-few-rows: fewer rows than the policy's minRows; no-version: nothing to compare with.
  status text NOT NULL CHECK (status IN ('judged', 'too-few-rows', 'no-version')),
  -- Rows of the window (one per request row on the answering path), and how many of them were read (sampling).
  row_count bigint NOT NULL,
  rows_read bigint NOT NULL,
  drift_detected boolean,
  drifted_features text[] NOT NULL DEFAULT '{}',
  prediction_drift boolean,
  -- The latency and error figures, and the realised performance the window's alerts were judged on.
  slo jsonb NOT NULL,
  performance jsonb,
  -- What each alert made of this window (breach, clean, unjudged), the hysteresis state after it, and the
  -- transitions it caused.
  outcomes jsonb NOT NULL,
  alert_state jsonb NOT NULL,
  transitions jsonb NOT NULL DEFAULT '[]'::jsonb,
  report_uri text NOT NULL,
  report_html_uri text NOT NULL,
  report_sha256 text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  -- This window's own realised performance, recomputed on later ticks as late labels land.
  labelled_count bigint NOT NULL DEFAULT 0,
  performance_now jsonb,
  performance_updated_at timestamptz,
  PRIMARY KEY (model_name, window_start),
  CHECK (window_end > window_start)
);
CREATE INDEX IF NOT EXISTS monitor_windows_model_end_idx ON monitor_windows (model_name, window_end DESC);

-- One row per judged feature (source 'feature') and for the scores (source 'prediction') per window: the trend
-- of every statistic, for charts, dashboards and ad-hoc queries.
CREATE TABLE IF NOT EXISTS drift_stats (
  model_name text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  version integer NOT NULL,
  source text NOT NULL CHECK (source IN ('feature', 'prediction')),
  feature text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('numeric', 'categorical')),
  -- The test that decided, its statistic and p-value, and the calibrated, corrected threshold on that p-value
  -- (drift <=> p_value <= threshold).
  test text NOT NULL,
  statistic double precision,
  p_value double precision,
  threshold double precision,
  drift boolean NOT NULL,
  current_count bigint NOT NULL,
  reference_count bigint NOT NULL,
  -- Every statistic computed for the feature, by name (ks, ks_pvalue, psi, jensenshannon, wasserstein, ...).
  statistics jsonb NOT NULL,
  PRIMARY KEY (model_name, window_start, source, feature),
  FOREIGN KEY (model_name, window_start) REFERENCES monitor_windows (model_name, window_start)
);
CREATE INDEX IF NOT EXISTS drift_stats_feature_idx ON drift_stats (model_name, feature, window_start);

-- Alert transitions (fired, cleared), one per alert and window at most.
CREATE TABLE IF NOT EXISTS monitor_alerts (
  model_name text NOT NULL,
  alert_key text NOT NULL,
  window_start timestamptz NOT NULL,
  transition text NOT NULL CHECK (transition IN ('fired', 'cleared')),
  kind text NOT NULL,
  feature text,
  version integer,
  -- The same key travels in the webhook payload, so a receiver can drop a redelivery.
  idempotency_key text NOT NULL UNIQUE,
  details jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_name, alert_key, window_start),
  FOREIGN KEY (model_name, window_start) REFERENCES monitor_windows (model_name, window_start)
);
CREATE INDEX IF NOT EXISTS monitor_alerts_model_at_idx ON monitor_alerts (model_name, at DESC);

-- The outbox (0001) gets what at-least-once delivery needs: an idempotency key, attempts and a backoff schedule.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS idempotency_key text;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS last_error text;
CREATE UNIQUE INDEX IF NOT EXISTS outbox_idempotency_key_idx ON outbox (idempotency_key);
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (topic, next_attempt_at) WHERE delivered_at IS NULL;
