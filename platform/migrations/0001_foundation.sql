-- Foundation: the audit log, the outbox, and the rows the walking-skeleton workflow writes.

CREATE TABLE IF NOT EXISTS audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  source text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Append-only: updates and deletes are refused by the database itself.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE IF NOT EXISTS outbox (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  topic text NOT NULL,
  payload jsonb NOT NULL,
  delivered_at timestamptz
);

CREATE TABLE IF NOT EXISTS skeleton_runs (
  run_key text PRIMARY KEY,
  workflow_id text NOT NULL,
  cpu_worker text NOT NULL,
  gpu_worker text NOT NULL,
  artifact_uri text NOT NULL,
  artifact_sha256 text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
