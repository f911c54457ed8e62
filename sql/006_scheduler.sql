-- 006_scheduler.sql - what `sluice tick`'s scheduler needs beyond 005: a
-- run's earliest start (retries wait out their backoff), one retry per
-- attempt whoever queues it, and the scheduler's settings.

-- A queued run is not claimed before not_before (NULL: at once). Retries
-- are queued with not_before = failure time + backoff.
ALTER TABLE sluice_runs.runs ADD COLUMN IF NOT EXISTS not_before timestamptz;

-- Each attempt of a retried run exists once: ticks on many hosts may all
-- notice the same failure, and only one retry is queued for it.
CREATE UNIQUE INDEX IF NOT EXISTS runs_retry_once ON sluice_runs.runs (retry_of, attempt)
    WHERE retry_of IS NOT NULL;

-- Failed runs by the time they failed: the retry step looks at recent ones.
CREATE INDEX IF NOT EXISTS runs_failed_idx ON sluice_runs.runs (finished_at)
    WHERE status = 'failed';

-- The scheduler's settings (read by app/cli/scheduler.c through
-- app/core/settings.c; a missing or out-of-range key means its default):
--   max_concurrent_runs        runs 'running' at once across every host (1..1000)
--   default_max_retries        retries of a pipeline whose max_retries is NULL (0..20)
--   retry_base_seconds         backoff of the first retry; doubles per attempt (1..86400)
--   retry_max_seconds          the backoff's cap (1..604800)
--   stuck_run_timeout_seconds  a running run without a heartbeat this long has
--                              failed ("heartbeat lost") (60..86400)
INSERT INTO sluice.settings (key, value, updated_by) VALUES
    ('scheduler', '{
        "max_concurrent_runs": 4,
        "default_max_retries": 3,
        "retry_base_seconds": 30,
        "retry_max_seconds": 3600,
        "stuck_run_timeout_seconds": 120
    }', 'system')
ON CONFLICT (key) DO NOTHING;
