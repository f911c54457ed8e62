-- 010_retention.sql - what the reaper (app/core/reaper.c) and the settings
-- page need beyond 001: the retention keys 001 did not seed, per-pipeline
-- retention overrides, the reaper's per-category counters and last result,
-- and an index for "the newest N quality results of each table".

-- Retention keys read by the reaper (app/core/setcat.c has their ranges);
-- keys already stored keep their values.
UPDATE sluice.settings
SET value = '{
        "quality_log_max_per_table": 100,
        "pipelines_purge_after_days": 30,
        "reaper_batch_size": 5000,
        "reaper_time_budget_seconds": 60
    }'::jsonb || value
WHERE key = 'retention' AND jsonb_typeof(value) = 'object';

-- 001 seeded two values that differ from the platform's reference defaults
-- (runs kept per pipeline 100; sign-in attempts are only needed for the
-- 15-minute throttle, and the audit log keeps every sign-in). Rows nobody
-- has edited yet (updated_by 'system', value as 001 seeded it) move to them.
UPDATE sluice.settings
SET value = jsonb_set(value, '{runs_max_per_pipeline}', '100')
WHERE key = 'retention' AND updated_by = 'system'
  AND value -> 'runs_max_per_pipeline' = '1000'::jsonb;
UPDATE sluice.settings
SET value = jsonb_set(value, '{login_attempts_max_age_days}', '1')
WHERE key = 'retention' AND updated_by = 'system'
  AND value -> 'login_attempts_max_age_days' = '30'::jsonb;

-- Per-pipeline overrides of the retention settings, NULL: none. Fields
-- (each optional): runs_max_per_pipeline, runs_max_age_days,
-- quality_log_max_per_table. Not part of the pipeline's versioned snapshot:
-- retention is housekeeping, not what the pipeline does.
ALTER TABLE sluice.pipelines ADD COLUMN IF NOT EXISTS retention jsonb;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'pipelines_retention_object'
                     AND conrelid = 'sluice.pipelines'::regclass) THEN
        ALTER TABLE sluice.pipelines ADD CONSTRAINT pipelines_retention_object
            CHECK (retention IS NULL OR jsonb_typeof(retention) = 'object');
    END IF;
END
$$;

-- Counters 001 did not have, and the last run's own result.
ALTER TABLE sluice.reaper_status
    ADD COLUMN IF NOT EXISTS pipelines_purged        bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS login_attempts_pruned   bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS webhook_receipts_pruned bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS last_duration_ms        bigint,
    ADD COLUMN IF NOT EXISTS last_complete           boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS last_counts             jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS runs                    bigint NOT NULL DEFAULT 0;

-- The newest N quality results of a table: walk this index per table.
CREATE INDEX IF NOT EXISTS quality_log_table_idx
    ON sluice_runs.quality_log (pipeline_id, table_name, id);

-- Soft-deleted pipelines by deletion time: the purge looks only at these.
CREATE INDEX IF NOT EXISTS pipelines_deleted_idx
    ON sluice.pipelines (deleted_at) WHERE deleted_at IS NOT NULL;
