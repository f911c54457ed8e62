-- 013_landing.sql - landing zones and the files uploaded into them.
--
-- A zone says where its files go (a destination, an optional schema, a
-- table), how they are read (CSV with delimiter / quote / header, or JSON
-- Lines), what they should look like (declared columns, or inferred), what
-- happens to a file that does not fit (reject it, or load what fits and
-- dead-letter the rest), how big a file may be and how long processed files
-- are kept.
--
-- Files on disk: <SLUICE_VAR>/landing/<zone id>/<file id>, written by
-- sluice-web (app/web/upload.c) as .tmp-<random> in the same directory while
-- the body streams in, then fsynced, renamed to the file's id and recorded
-- with its landing.file_uploaded event in one transaction. The original name
-- is metadata only (sanitised: no path, no control characters, at most 255
-- bytes). A file whose bytes equal a file already in the zone (same sha256,
-- not purged) is recorded as 'rejected' with duplicate_of set and its bytes
-- are not kept (stored_name NULL).
--
-- landing_files.status:
--   uploaded -> loading -> loaded | rejected      (the tick's loader)
--   rejected                                     (at upload: a duplicate)
--   loaded | rejected -> purged                  (retention: bytes deleted)

CREATE TABLE IF NOT EXISTS sluice.landing_zones (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Slug-like: letters, digits, '-', '_', '.'; never a UUID (the API takes
    -- a zone's id or name in the same place).
    name                    text NOT NULL
                            CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    description             text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    destination_id          uuid NOT NULL REFERENCES sluice.destinations (id),
    target_schema           text                  -- NULL: the destination's target schema
                            CHECK (target_schema ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
    target_table            text NOT NULL
                            CHECK (target_table ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
    format                  text NOT NULL DEFAULT 'csv' CHECK (format IN ('csv', 'jsonl')),
    csv_delimiter           text NOT NULL DEFAULT ','
                            CHECK (csv_delimiter IN (',', ';', E'\t', '|')),
    csv_quote               text NOT NULL DEFAULT '"' CHECK (csv_quote IN ('"', '''')),
    csv_header              boolean NOT NULL DEFAULT true,
    schema_mode             text NOT NULL DEFAULT 'infer'
                            CHECK (schema_mode IN ('declared', 'infer')),
    -- [{"name": "id", "type": "int"}, ...]; types: int, numeric, boolean,
    -- date, timestamptz, text, jsonb. Empty unless schema_mode is declared.
    declared_columns        jsonb NOT NULL DEFAULT '[]'
                            CHECK (jsonb_typeof(declared_columns) = 'array'),
    on_mismatch             text NOT NULL DEFAULT 'reject'
                            CHECK (on_mismatch IN ('reject', 'load_partial')),
    load_mode               text NOT NULL DEFAULT 'direct' CHECK (load_mode IN ('direct', 'raw')),
    max_file_bytes          bigint NOT NULL DEFAULT 1073741824
                            CHECK (max_file_bytes BETWEEN 1 AND 8589934592),
    processed_max_age_days  integer NOT NULL DEFAULT 30
                            CHECK (processed_max_age_days BETWEEN 1 AND 3650),
    auto_purge              boolean NOT NULL DEFAULT true,
    created_by              uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (schema_mode = 'declared' OR declared_columns = '[]'::jsonb)
);
CREATE UNIQUE INDEX IF NOT EXISTS landing_zones_name_key ON sluice.landing_zones (lower(name));
CREATE INDEX IF NOT EXISTS landing_zones_destination_idx
    ON sluice.landing_zones (destination_id);

CREATE TABLE IF NOT EXISTS sluice.landing_files (
    id                 bigint PRIMARY KEY DEFAULT sluice.snowflake_id(),
    zone_id            uuid NOT NULL REFERENCES sluice.landing_zones (id) ON DELETE CASCADE,
    original_name      text NOT NULL
                       CHECK (original_name <> '' AND octet_length(original_name) <= 255),
    stored_name        text,                      -- the name on disk (the id); NULL: no bytes kept
    size_bytes         bigint NOT NULL CHECK (size_bytes >= 0),
    sha256             text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type       text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT 'uploaded'
                       CHECK (status IN ('uploaded', 'loading', 'loaded', 'rejected', 'purged')),
    rows_loaded        bigint NOT NULL DEFAULT 0,
    rows_rejected      bigint NOT NULL DEFAULT 0,
    error              text,                      -- why it was rejected
    uploaded_by        uuid,
    uploaded_by_email  text,
    uploaded_at        timestamptz NOT NULL DEFAULT now(),
    loaded_at          timestamptz,
    purged_at          timestamptz,
    duplicate_of       bigint                     -- the file with the same bytes
                       REFERENCES sluice.landing_files (id) ON DELETE SET NULL
);
-- A zone's files, newest first (the zone page, the API list).
CREATE INDEX IF NOT EXISTS landing_files_zone_idx ON sluice.landing_files (zone_id, id DESC);
-- Duplicate detection at upload.
CREATE INDEX IF NOT EXISTS landing_files_sha256_idx ON sluice.landing_files (sha256, zone_id);
-- The loader's queue.
CREATE INDEX IF NOT EXISTS landing_files_uploaded_idx
    ON sluice.landing_files (id) WHERE status = 'uploaded';
