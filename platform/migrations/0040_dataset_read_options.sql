-- A dataset entry is one file read one way. The same bytes read with other options (another delimiter, other
-- missing tokens, a declared schema...) give another frame, so the entry is keyed on the file's sha256 and a key
-- of the read options (read_key: sha256 of their canonical JSON, kept beside it in read_options). Entries written
-- before this migration get read_key 'legacy'. Versions point at the entry they were trained from.

ALTER TABLE datasets ADD COLUMN IF NOT EXISTS read_key text;
ALTER TABLE datasets ADD COLUMN IF NOT EXISTS read_options jsonb;
UPDATE datasets SET read_key = 'legacy' WHERE read_key IS NULL;
UPDATE datasets SET read_options = '{}'::jsonb WHERE read_options IS NULL;
ALTER TABLE datasets ALTER COLUMN read_key SET NOT NULL;
ALTER TABLE datasets ALTER COLUMN read_options SET NOT NULL;

ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS dataset_read_key text;
UPDATE model_versions SET dataset_read_key = 'legacy' WHERE dataset_read_key IS NULL;

ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_dataset_sha256_fkey;
ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_dataset_fkey;
ALTER TABLE datasets DROP CONSTRAINT IF EXISTS datasets_pkey;
ALTER TABLE datasets ADD CONSTRAINT datasets_pkey PRIMARY KEY (sha256, read_key);
-- A version registered by a worker that does not send the read key yet leaves it NULL (not checked).
ALTER TABLE model_versions
  ADD CONSTRAINT model_versions_dataset_fkey FOREIGN KEY (dataset_sha256, dataset_read_key)
  REFERENCES datasets (sha256, read_key);
