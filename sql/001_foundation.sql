-- 001_foundation.sql - schemas, settings, reaper status, snowflake ids.
--
-- Migrations are forward-only and idempotent (IF NOT EXISTS, ON CONFLICT DO
-- NOTHING, CREATE OR REPLACE): `sluice migrate` runs each file once, in its
-- own transaction, but a file must also survive being run against a
-- database where its objects already exist. Never edit an applied file:
-- add a new one.

-- gen_random_uuid() is built in from PostgreSQL 13; older servers need pgcrypto.
DO $$
BEGIN
    IF current_setting('server_version_num')::int < 130000 THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS sluice;        -- configuration: users, pipelines, settings
CREATE SCHEMA IF NOT EXISTS sluice_state;  -- watermarks (informational mirror)
CREATE SCHEMA IF NOT EXISTS sluice_runs;   -- runs, per-table stats, logs, quality
CREATE SCHEMA IF NOT EXISTS sluice_events; -- event stream, outbox messages, offsets

-- Key -> JSON settings: retention, feature flags, defaults.
CREATE TABLE IF NOT EXISTS sluice.settings (
    key        text PRIMARY KEY CHECK (key <> ''),
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text                      -- email of the user, or 'system'
);

INSERT INTO sluice.settings (key, value, updated_by) VALUES
    ('retention', '{
        "runs_max_age_days": 90,
        "runs_max_per_pipeline": 1000,
        "run_logs_max_age_days": 30,
        "quality_log_max_age_days": 90,
        "events_max_age_days": 30,
        "messages_max_age_days": 14,
        "audit_log_max_age_days": 365,
        "landing_files_max_age_days": 30,
        "login_attempts_max_age_days": 30,
        "stuck_run_timeout_minutes": 120,
        "reaper_interval_minutes": 60
    }', 'system'),
    ('features', '{
        "landing_zones": true,
        "pipeline_triggers": true,
        "pipeline_versions": true,
        "quality_checks": true,
        "audit_log": true
    }', 'system')
ON CONFLICT (key) DO NOTHING;

-- The reaper's status and cumulative counters: exactly one row.
CREATE TABLE IF NOT EXISTS sluice.reaper_status (
    id                    int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    last_run_at           timestamptz,
    last_error            text,
    runs_pruned           bigint NOT NULL DEFAULT 0,
    run_logs_pruned       bigint NOT NULL DEFAULT 0,
    quality_pruned        bigint NOT NULL DEFAULT 0,
    runs_failed           bigint NOT NULL DEFAULT 0,  -- stuck runs marked failed
    events_pruned         bigint NOT NULL DEFAULT 0,
    messages_pruned       bigint NOT NULL DEFAULT 0,
    landing_files_cleaned bigint NOT NULL DEFAULT 0,
    audit_pruned          bigint NOT NULL DEFAULT 0,
    sessions_pruned       bigint NOT NULL DEFAULT 0,
    partitions_dropped    bigint NOT NULL DEFAULT 0,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sluice.reaper_status (id) VALUES (1) ON CONFLICT (id) DO NOTHING;

-- Snowflake ids, the SQL twin of app/core/snowflake.c:
--   id = ((unix_ms - 1704067200000) << 23) | (shard << 18) | seq
-- epoch 2024-01-01T00:00Z, shard 0..31, seq 0..262143 from a sequence.
-- Time sits in the high bits, so a time window is an id range and tables
-- keyed by these ids are PARTITION BY RANGE (id).
CREATE SEQUENCE IF NOT EXISTS sluice.snowflake_seq;

CREATE OR REPLACE FUNCTION sluice.snowflake_id(shard int DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL SAFE
AS $$
DECLARE
    ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF shard IS NULL OR shard < 0 OR shard > 31 THEN
        RAISE EXCEPTION 'snowflake shard % is outside 0..31', shard
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ((ms - 1704067200000) << 23)
         | (shard::bigint << 18)
         | (nextval('sluice.snowflake_seq') % 262144);
END
$$;

-- The smallest id at or after ts: the lower bound of a partition. Times
-- before the epoch give 0, as sf_floor_for_ms() does.
CREATE OR REPLACE FUNCTION sluice.partition_id_for_ts(ts timestamptz)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT greatest(floor(extract(epoch FROM ts) * 1000)::bigint - 1704067200000, 0) << 23
$$;

-- The time an id was made at (millisecond precision).
CREATE OR REPLACE FUNCTION sluice.snowflake_ts(id bigint)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT to_timestamp(((id >> 23) + 1704067200000) / 1000.0)
$$;
