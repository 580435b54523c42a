-- The model registry: models, versions with lineage, aliases moved by compare-and-set, datasets, training runs.

CREATE TABLE IF NOT EXISTS models (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text,
  -- The last version number handed out; allocation happens under this row's lock, never as MAX(version) + 1.
  last_version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS datasets (
  sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  source text NOT NULL,
  format text NOT NULL,
  row_count bigint NOT NULL,
  frame_uri text NOT NULL,
  frame_sha256 text NOT NULL,
  schema jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS runs (
  run_id text PRIMARY KEY,
  workflow_id text NOT NULL,
  model_name text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'registered', 'rejected', 'failed')),
  stage text,
  spec_hash text NOT NULL,
  spec jsonb NOT NULL,
  reason text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS runs_model_idx ON runs (model_name, started_at DESC);

CREATE TABLE IF NOT EXISTS model_versions (
  model_id bigint NOT NULL REFERENCES models (id),
  version integer NOT NULL CHECK (version > 0),
  run_id text NOT NULL,
  status text NOT NULL DEFAULT 'candidate' CHECK (status IN ('candidate', 'archived')),
  dataset_sha256 text NOT NULL REFERENCES datasets (sha256),
  split jsonb NOT NULL,
  validation_report_uri text NOT NULL,
  evaluation_report_uri text NOT NULL,
  reference_profile_uri text NOT NULL,
  spec_hash text NOT NULL,
  code_version text NOT NULL,
  trainer text NOT NULL,
  params jsonb NOT NULL,
  metrics jsonb NOT NULL,
  artifact_uri text NOT NULL,
  artifact_sha256 text NOT NULL CHECK (artifact_sha256 ~ '^[0-9a-f]{64}$'),
  onnx_signature jsonb NOT NULL,
  onnx_opset jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, version),
  -- A retried register finds its version by run id instead of taking a new one.
  UNIQUE (model_id, run_id)
);

CREATE TABLE IF NOT EXISTS aliases (
  model_id bigint NOT NULL REFERENCES models (id),
  alias text NOT NULL CHECK (alias ~ '^[a-z][a-z0-9_-]{0,31}$'),
  version integer NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version)
);
