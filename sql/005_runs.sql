-- 005_runs.sql - runs and what they record as they go (stats, logs,
-- quality), and the event stream that finishing a run appends to.
--
-- High-volume rows use snowflake ids (sluice.snowflake_id()): time sits in
-- the high bits, so run_logs and events are range-partitioned by id, with a
-- default partition; partition maintenance makes ranges ahead of time.

CREATE TABLE IF NOT EXISTS sluice_runs.runs (
    id                 bigint PRIMARY KEY DEFAULT sluice.snowflake_id(),
    pipeline_id        uuid NOT NULL REFERENCES sluice.pipelines (id) ON DELETE CASCADE,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'success', 'failed', 'cancelled', 'skipped')),
    trigger            text NOT NULL DEFAULT 'manual'
                       CHECK (trigger IN ('scheduled', 'manual', 'full_refresh', 'backfill', 'retry',
                                          'dependency', 'webhook', 'landing', 'cli')),
    options            jsonb NOT NULL DEFAULT '{}',  -- {"tables":[..], "full_refresh":bool, "backfill_from":".."}
    requested_by       uuid,
    requested_by_email text,
    attempt            integer NOT NULL DEFAULT 1,
    retry_of           bigint,
    queued_at          timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    heartbeat_at       timestamptz,
    claimed_by         text,                     -- host:pid of the process running it
    cancel_requested   boolean NOT NULL DEFAULT false,
    tables_total       integer NOT NULL DEFAULT 0,
    tables_done        integer NOT NULL DEFAULT 0,
    current_table      text,
    rows_done          bigint NOT NULL DEFAULT 0,    -- progress: rows moved so far
    rows_estimate      bigint,                       -- progress: rows expected in all
    progress_at        timestamptz,
    rows_extracted     bigint NOT NULL DEFAULT 0,
    rows_loaded        bigint NOT NULL DEFAULT 0,
    dead_letters       bigint NOT NULL DEFAULT 0,
    quality_failures   integer NOT NULL DEFAULT 0,
    error              text,
    skip_reason        text
);
CREATE INDEX IF NOT EXISTS runs_pipeline_idx ON sluice_runs.runs (pipeline_id, id DESC);
CREATE INDEX IF NOT EXISTS runs_active_idx ON sluice_runs.runs (status, id)
    WHERE status IN ('queued', 'running');
-- A pipeline runs at most once at a time, whoever claims it.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_running ON sluice_runs.runs (pipeline_id)
    WHERE status = 'running';

CREATE TABLE IF NOT EXISTS sluice_runs.run_table_stats (
    run_id            bigint NOT NULL REFERENCES sluice_runs.runs (id) ON DELETE CASCADE,
    source_schema     text NOT NULL DEFAULT '',
    source_table      text NOT NULL,
    target_table      text,
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'success', 'failed', 'cancelled', 'skipped')),
    mode              text,                      -- incremental | full_refresh | append
    rows_extracted    bigint NOT NULL DEFAULT 0,
    rows_loaded_raw   bigint NOT NULL DEFAULT 0,
    rows_loaded       bigint NOT NULL DEFAULT 0,
    rows_failed       bigint NOT NULL DEFAULT 0,
    watermark_column  text,
    watermark_before  text,
    watermark_after   text,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    duration_ms       bigint,
    error             text,
    PRIMARY KEY (run_id, source_schema, source_table)
);

CREATE TABLE IF NOT EXISTS sluice_runs.run_logs (
    id          bigint NOT NULL DEFAULT sluice.snowflake_id(),
    run_id      bigint NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    level       text NOT NULL DEFAULT 'info' CHECK (level IN ('debug', 'info', 'warn', 'error')),
    table_name  text,
    message     text NOT NULL,
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE IF NOT EXISTS sluice_runs.run_logs_default
    PARTITION OF sluice_runs.run_logs DEFAULT;
CREATE INDEX IF NOT EXISTS run_logs_run_idx ON sluice_runs.run_logs (run_id, id);

CREATE TABLE IF NOT EXISTS sluice_runs.quality_log (
    id               bigint PRIMARY KEY DEFAULT sluice.snowflake_id(),
    run_id           bigint NOT NULL REFERENCES sluice_runs.runs (id) ON DELETE CASCADE,
    pipeline_id      uuid NOT NULL,
    table_name       text NOT NULL,
    check_type       text NOT NULL,              -- row_count | not_null
    status           text NOT NULL CHECK (status IN ('passed', 'failed', 'warning')),
    expected         bigint,
    actual           bigint,
    discrepancy_pct  double precision,
    columns          text[],
    message          text,
    checked_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS quality_log_run_idx ON sluice_runs.quality_log (run_id);

-- The informational mirror of each table's checkpoint (the truth lives in
-- the destination's _sluice_state, committed with the data).
CREATE TABLE IF NOT EXISTS sluice_state.watermarks (
    pipeline_id       uuid NOT NULL REFERENCES sluice.pipelines (id) ON DELETE CASCADE,
    source_schema     text NOT NULL DEFAULT '',
    source_table      text NOT NULL,
    watermark_column  text,
    watermark         text,
    rows_total        bigint NOT NULL DEFAULT 0,
    last_run_id       bigint,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline_id, source_schema, source_table)
);

-- The append-only event stream (run.succeeded, run.failed, schema.drifted,
-- quality.failed, dead_letters.created, landing.file_uploaded, ...).
CREATE TABLE IF NOT EXISTS sluice_events.events (
    id              bigint NOT NULL DEFAULT sluice.snowflake_id(),
    stream          text NOT NULL,               -- e.g. 'pipeline:<uuid>'
    type            text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    metadata        jsonb NOT NULL DEFAULT '{}',
    correlation_id  text,
    causation_id    text,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE IF NOT EXISTS sluice_events.events_default
    PARTITION OF sluice_events.events DEFAULT;
CREATE INDEX IF NOT EXISTS events_stream_idx ON sluice_events.events (stream, id);
CREATE INDEX IF NOT EXISTS events_type_idx ON sluice_events.events (type, id);
