-- Rows that land too late for their window. The gateway writes the prediction log in batches, so a row lands a
-- little after the time it records (`at`); the monitor reads a window a settable lag after its end. `logged_at` is when
-- a row was written (the database's clock), `read_at` when the monitor read the window: a row of the window with
-- logged_at > read_at was not judged with it, and is counted in late_rows instead (raise the lag when it grows).
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS logged_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE monitor_windows ADD COLUMN IF NOT EXISTS read_at timestamptz;
ALTER TABLE monitor_windows ADD COLUMN IF NOT EXISTS late_rows bigint NOT NULL DEFAULT 0;
