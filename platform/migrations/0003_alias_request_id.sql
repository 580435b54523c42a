-- Which request last moved an alias, so a retried move (same request id) is recognised as already done.
ALTER TABLE aliases ADD COLUMN IF NOT EXISTS request_id text;
