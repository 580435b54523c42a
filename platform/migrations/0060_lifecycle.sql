-- The lifecycle: the whole history of each model's lifecycle (decisions, alerts, versions), the labelled-traffic
-- exports retrains train on, and the lookup step caching does on finished runs.

-- One row per lifecycle event, in order. The workflow keeps only the latest few; this is the whole history.
-- (workflow_id, chain_id, seq) makes a retried write a no-op; chain_id is the first run id of the
-- continue-as-new chain, so a lifecycle started again under the same workflow id gets a history of its own.
CREATE TABLE IF NOT EXISTS lifecycle_events (
  id bigserial PRIMARY KEY,
  workflow_id text NOT NULL,
  chain_id text NOT NULL,
  model_name text NOT NULL,
  seq integer NOT NULL CHECK (seq > 0),
  at timestamptz NOT NULL,
  kind text NOT NULL,
  message text NOT NULL,
  version integer,
  actor text,
  -- The workflow the event is about (a training run, a rollout, the monitor), for links to the Temporal UI.
  subject_workflow_id text,
  subject_run_id text,
  -- Report artifacts by name (URIs).
  reports jsonb NOT NULL DEFAULT '{}'::jsonb,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workflow_id, chain_id, seq)
);
CREATE INDEX IF NOT EXISTS lifecycle_events_model_idx ON lifecycle_events (model_name, id);

-- Labelled traffic exported as a dataset for a retrain: which predictions (and original rows) went into which
-- content-addressed file. The file's sha256 is the dataset's identity once ingested (datasets.sha256).
CREATE TABLE IF NOT EXISTS traffic_exports (
  id bigserial PRIMARY KEY,
  dataset_sha256 text NOT NULL CHECK (dataset_sha256 ~ '^[0-9a-f]{64}$'),
  uri text NOT NULL,
  model_name text NOT NULL,
  -- Predictions logged at or after this time were eligible (the last training's start, or the window's age).
  since timestamptz NOT NULL,
  first_prediction_at timestamptz,
  last_prediction_at timestamptz,
  traffic_rows integer NOT NULL,
  original_rows integer NOT NULL,
  original_source text,
  settings jsonb NOT NULL,
  -- The lifecycle event that asked for it: a retried export finds its row instead of writing a second one.
  request_id text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS traffic_exports_sha_idx ON traffic_exports (dataset_sha256);

-- Step caching looks a finished run up by what determines its outputs.
CREATE INDEX IF NOT EXISTS model_versions_cache_idx ON model_versions (model_id, dataset_sha256, spec_hash);
