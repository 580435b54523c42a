-- Serving: what each model serves (read by every gateway), the history of that, the prediction log and late labels.
-- The rollout workflow writes deployments; gateways read them; the monitor and the rollout analysis read the log.

CREATE TABLE IF NOT EXISTS deployments (
  model_name text PRIMARY KEY,
  -- The version that answers by default; null: the model serves nothing yet.
  champion_version integer,
  -- The version under test; null: none.
  challenger_version integer,
  -- Share of live requests the challenger answers (0..1); the rest go to the champion.
  challenger_weight double precision NOT NULL DEFAULT 0 CHECK (challenger_weight >= 0 AND challenger_weight <= 1),
  -- The challenger also scores every champion-answered request off the response path; the client gets the champion's answer.
  shadow boolean NOT NULL DEFAULT false,
  -- A request header or row field whose value pins a caller to one version (hash of the value); null: random per request.
  sticky_key text,
  -- The rollout workflow that owns this deployment now, if any.
  rollout_workflow_id text,
  -- Compare-and-set: every write names the revision it read and bumps it.
  revision bigint NOT NULL DEFAULT 1,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The write that set this state, so a retried write (same request id) is recognised as already done.
  request_id text,
  CHECK (challenger_version IS NOT NULL OR (challenger_weight = 0 AND NOT shadow)),
  CHECK (champion_version IS NOT NULL OR challenger_version IS NOT NULL OR challenger_weight = 0)
);

-- Every state a deployment has had, in order: what the traffic split was at any moment (rollout analysis, audits).
CREATE TABLE IF NOT EXISTS deployment_history (
  model_name text NOT NULL,
  revision bigint NOT NULL,
  champion_version integer,
  challenger_version integer,
  challenger_weight double precision NOT NULL,
  shadow boolean NOT NULL,
  sticky_key text,
  rollout_workflow_id text,
  reason text NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_name, revision)
);

-- One row per scored row per version that scored it. A request with N rows gives N request ids (one per row).
-- A shadowed or failed-over row has two rows here: the champion's and the challenger's.
CREATE TABLE IF NOT EXISTS predictions (
  at timestamptz NOT NULL,
  -- What the client got back for this row, and what feedback names.
  request_id text NOT NULL,
  model_name text NOT NULL,
  -- The version that produced this row's score (or failed to).
  version integer NOT NULL,
  -- The version's role when it scored: champion, challenger, or shadow (challenger scoring off the response path).
  role text NOT NULL CHECK (role IN ('champion', 'challenger', 'shadow')),
  -- Whether this score is the answer the client got.
  served boolean NOT NULL,
  -- The champion answered because the challenger failed on this row (error, NaN or timeout).
  fallback boolean NOT NULL DEFAULT false,
  -- The raw features as the client sent them (after validation).
  inputs jsonb NOT NULL,
  -- Probability of the positive class; null when this version failed.
  score double precision,
  predicted_label text,
  -- Why this version failed on this row (timeout, nan, the error's message); null on success.
  error text,
  latency_ms real NOT NULL,
  sticky_key text,
  PRIMARY KEY (request_id, role, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS predictions_model_at_idx ON predictions (model_name, at);

-- Daily partitions (UTC days, whatever the session's time zone), created by the log writer before it inserts into a
-- new day. Two writers racing on the same day: one creates it, the other's statement fails and it retries.
CREATE OR REPLACE FUNCTION ensure_predictions_partition(day date) RETURNS void AS $$
DECLARE
  name text := 'predictions_' || to_char(day, 'YYYYMMDD');
BEGIN
  EXECUTE format(
    'CREATE TABLE IF NOT EXISTS %I PARTITION OF predictions FOR VALUES FROM (%L) TO (%L)',
    name, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC'
  );
END;
$$ LANGUAGE plpgsql;

-- Late labels, joined to predictions by request id. A label may arrive before its prediction is logged (the log is
-- written in batches) or long after; idempotent per request id.
CREATE TABLE IF NOT EXISTS feedback (
  request_id text PRIMARY KEY,
  model_name text NOT NULL,
  -- The label as the client sent it, and whether it is the model's positive class.
  label text NOT NULL,
  label_positive boolean NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_model_received_idx ON feedback (model_name, received_at);
