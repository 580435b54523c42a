-- The gateway's additions to the serving contract of 0010 (nothing renamed, nothing dropped).

-- A prediction asked for by version number (`/versions/{v}/...`) when that version is neither the champion nor the
-- challenger is logged with role 'direct': it was served, but not as part of the deployment's traffic split.
ALTER TABLE predictions DROP CONSTRAINT IF EXISTS predictions_role_check;
ALTER TABLE predictions ADD CONSTRAINT predictions_role_check
  CHECK (role IN ('champion', 'challenger', 'shadow', 'direct'));

-- Labels whose prediction is not in the log yet (the log is written in batches, a little after the answer). Each
-- gateway moves them into `feedback` once the prediction's row turns up; a label still here at `expires_at` named a
-- request that was never logged, and is dropped (counted in slipway_gateway_feedback_total{outcome="expired"}).
CREATE TABLE IF NOT EXISTS feedback_pending (
  request_id text PRIMARY KEY,
  label text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  actor text NOT NULL,
  -- The models the sender's key may label; null: any. Checked when the prediction turns up.
  allowed_models text[]
);
CREATE INDEX IF NOT EXISTS feedback_pending_expires_idx ON feedback_pending (expires_at);
