-- 003_config.sql - the configuration model: sources, destinations,
-- pipelines, their tables, and the append-only version history of
-- pipelines.
--
-- Credentials are stored sealed (libsodium secretbox under the master key,
-- text "sb1:..."); they are never returned by the console or the API.

CREATE TABLE IF NOT EXISTS sluice.sources (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    type            text NOT NULL CHECK (type IN ('postgresql', 'mysql', 'mariadb')),
    host            text NOT NULL CHECK (host <> ''),
    port            integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    database        text NOT NULL DEFAULT '',
    username        text NOT NULL DEFAULT '',
    password_enc    text,                     -- sealed; NULL: no password
    ssl_mode        text NOT NULL DEFAULT 'prefer'
                    CHECK (ssl_mode IN ('disable', 'prefer', 'require', 'verify-ca', 'verify-full')),
    schema_include  text[] NOT NULL DEFAULT '{}',   -- PostgreSQL schemas to scan; {} = all
    table_filters   text[] NOT NULL DEFAULT '{}',   -- globs; '!glob' excludes
    sync_method     text NOT NULL DEFAULT 'auto'
                    CHECK (sync_method IN ('auto', 'incremental', 'full_refresh')),
    status          text NOT NULL DEFAULT 'registered'
                    CHECK (status IN ('registered', 'connected', 'error')),
    last_tested_at  timestamptz,
    last_test_ms    integer,
    last_error      text,
    server_version  text,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS sources_name_key ON sluice.sources (lower(name));

CREATE TABLE IF NOT EXISTS sluice.destinations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    type            text NOT NULL CHECK (type IN ('postgresql', 'mysql', 'clickhouse')),
    host            text NOT NULL CHECK (host <> ''),
    port            integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    database        text NOT NULL DEFAULT '',
    username        text NOT NULL DEFAULT '',
    password_enc    text,
    ssl_mode        text NOT NULL DEFAULT 'prefer'
                    CHECK (ssl_mode IN ('disable', 'prefer', 'require', 'verify-ca', 'verify-full')),
    raw_schema      text NOT NULL DEFAULT 'staging' CHECK (raw_schema <> ''),
    target_schema   text NOT NULL DEFAULT 'analytics' CHECK (target_schema <> ''),
    is_default      boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'registered'
                    CHECK (status IN ('registered', 'connected', 'error')),
    last_tested_at  timestamptz,
    last_test_ms    integer,
    last_error      text,
    server_version  text,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS destinations_name_key ON sluice.destinations (lower(name));
-- At most one default; the application keeps exactly one while any exist.
CREATE UNIQUE INDEX IF NOT EXISTS destinations_one_default
    ON sluice.destinations (is_default) WHERE is_default;

CREATE TABLE IF NOT EXISTS sluice.pipelines (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    description      text NOT NULL DEFAULT '',
    source_id        uuid NOT NULL REFERENCES sluice.sources (id) ON DELETE RESTRICT,
    destination_id   uuid NOT NULL REFERENCES sluice.destinations (id) ON DELETE RESTRICT,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    schedule         text,                    -- five-field cron; NULL: manual only
    timezone         text NOT NULL DEFAULT 'UTC',
    max_retries      integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 20),
    timeout_seconds  integer NOT NULL DEFAULT 3600 CHECK (timeout_seconds BETWEEN 10 AND 604800),
    depends_on       uuid REFERENCES sluice.pipelines (id) ON DELETE SET NULL,
    load_mode        text NOT NULL DEFAULT 'direct' CHECK (load_mode IN ('direct', 'raw')),
    target_schema    text,                    -- NULL: the destination's target schema
    version          integer NOT NULL DEFAULT 0,  -- current version number
    current_version_id uuid,                  -- -> pipeline_versions.id
    next_run_at      timestamptz,             -- precomputed by the scheduler
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz              -- soft delete; purged by retention
);
CREATE UNIQUE INDEX IF NOT EXISTS pipelines_name_key
    ON sluice.pipelines (lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS pipelines_source_idx ON sluice.pipelines (source_id);
CREATE INDEX IF NOT EXISTS pipelines_destination_idx ON sluice.pipelines (destination_id);
CREATE INDEX IF NOT EXISTS pipelines_due_idx
    ON sluice.pipelines (next_run_at) WHERE deleted_at IS NULL AND status = 'active';

CREATE TABLE IF NOT EXISTS sluice.pipeline_tables (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_id       uuid NOT NULL REFERENCES sluice.pipelines (id) ON DELETE CASCADE,
    source_schema     text NOT NULL DEFAULT '',
    source_table      text NOT NULL CHECK (source_table <> ''),
    target_table      text,                   -- NULL: same as source_table
    sync_mode         text NOT NULL DEFAULT 'incremental'
                      CHECK (sync_mode IN ('incremental', 'full_refresh')),
    load_mode         text CHECK (load_mode IN ('direct', 'raw')),  -- NULL: the pipeline's
    watermark_column  text,                   -- NULL: picked automatically
    lookback_seconds  integer NOT NULL DEFAULT 0 CHECK (lookback_seconds BETWEEN 0 AND 31536000),
    enabled           boolean NOT NULL DEFAULT true,
    position          integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pipeline_id, source_schema, source_table)
);

-- Append-only snapshots of a pipeline and its tables. etag is derived from
-- the snapshot; the API's ETag / If-Match compare with the current one.
CREATE TABLE IF NOT EXISTS sluice.pipeline_versions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_id   uuid NOT NULL REFERENCES sluice.pipelines (id) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version > 0),
    snapshot      jsonb NOT NULL,
    etag          text NOT NULL,
    message       text NOT NULL DEFAULT '',
    author_id     uuid,
    author_email  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pipeline_id, version)
);
CREATE INDEX IF NOT EXISTS pipeline_versions_pipeline_idx
    ON sluice.pipeline_versions (pipeline_id, version DESC);
