-- 011_partitions.sql - partition maintenance: the registry of tables
-- partitioned by snowflake id, helpers to make and drop partitions, the
-- plan of what is due, and the sluice.partitions view.
--
-- Tables keyed by snowflake ids (sluice.snowflake_id(): time in the high
-- bits) are PARTITION BY RANGE (id) with a DEFAULT partition, so a time
-- window is an id range. `sluice partitions` (and every tick, app/core/
-- partman.c) reads sluice.partition_plan() and, for each registered table:
--   - premake: makes the partition holding now and `premake` more after it
--     (UTC days, ISO weeks starting Monday, or calendar months), plus the
--     past ranges that hold rows in the default partition, unless they are
--     entirely older than the retention;
--   - moves the rows a new range takes out of the default partition first
--     (sluice.ensure_partition): ATTACH PARTITION would fail while the
--     default holds any of them;
--   - retention: drops (or detaches into archive_schema) partitions whose
--     upper bound is older than now - retention. Never the partition that
--     holds now, never the default partition.
-- Names: <table>_p20261121 (day), <table>_p2026w47 (ISO week), <table>_p202611
-- (month), the table's name shortened when the whole would pass 63 bytes.

-- One row per table maintained.
--   table_name        schema.table as to_regclass() reads it
--   width             day | week | month: the span of one partition (UTC)
--   premake           partitions kept ready after the one holding now
--   retention         drop partitions entirely older than this; when NULL,
--                     retention_setting names a field of the 'retention'
--                     settings row holding days (missing, 0 or not a number:
--                     keep); both NULL: keep everything
--   archive           detach old partitions into archive_schema instead of
--                     dropping them
--   batch_rows        rows moved out of the default partition per statement
--   last_run_at, last_result, last_error: the last maintenance that did
--                     something to this table (or was run by hand)
CREATE TABLE IF NOT EXISTS sluice.partitioned_tables (
    table_name        text PRIMARY KEY CHECK (table_name <> ''),
    width             text NOT NULL DEFAULT 'day' CHECK (width IN ('day', 'week', 'month')),
    premake           integer NOT NULL DEFAULT 4 CHECK (premake BETWEEN 0 AND 100),
    retention         interval CHECK (retention > interval '0'),
    retention_setting text,
    archive           boolean NOT NULL DEFAULT false,
    archive_schema    text NOT NULL DEFAULT 'sluice_archive' CHECK (archive_schema <> ''),
    batch_rows        integer NOT NULL DEFAULT 10000 CHECK (batch_rows BETWEEN 1 AND 1000000),
    last_run_at       timestamptz,
    last_result       text,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sluice.partitioned_tables (table_name, width, premake, retention_setting) VALUES
    ('sluice_runs.run_logs', 'day', 4, 'run_logs_max_age_days'),
    ('sluice_events.events', 'week', 4, 'events_max_age_days')
ON CONFLICT (table_name) DO NOTHING;

-- The span of one partition of a width.
CREATE OR REPLACE FUNCTION sluice.partition_step(width text)
RETURNS interval
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE width WHEN 'day' THEN interval '1 day'
                      WHEN 'week' THEN interval '7 days'
                      WHEN 'month' THEN interval '1 month' END
$$;

-- The start of the width-long range (UTC) that holds ts, moved n ranges on.
CREATE OR REPLACE FUNCTION sluice.partition_start(width text, ts timestamptz, n integer DEFAULT 0)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT (date_trunc(width, ts AT TIME ZONE 'UTC') + n * sluice.partition_step(width))
           AT TIME ZONE 'UTC'
$$;

-- The name of tbl's partition of width starting at from_ts (without schema).
CREATE OR REPLACE FUNCTION sluice.partition_name(tbl regclass, width text, from_ts timestamptz)
RETURNS text
LANGUAGE sql STABLE STRICT
AS $$
    SELECT left(c.relname, 63 - length(x.s)) || x.s
    FROM pg_class c,
         LATERAL (SELECT '_p' || to_char(from_ts AT TIME ZONE 'UTC',
                     CASE width WHEN 'day' THEN 'YYYYMMDD'
                                WHEN 'week' THEN 'IYYY"w"IW'
                                ELSE 'YYYYMM' END)) AS x(s)
    WHERE c.oid = tbl
$$;

-- The partitions of tbl with their id bounds [from_id, to_id) (MINVALUE and
-- MAXVALUE as the smallest and largest bigint; NULL for the default).
CREATE OR REPLACE FUNCTION sluice.partition_ranges(tbl regclass)
RETURNS TABLE (partition regclass, from_id bigint, to_id bigint, is_default boolean)
LANGUAGE sql STABLE STRICT
AS $$
    SELECT c.oid::regclass,
           CASE WHEN b.lo IS NULL THEN NULL
                WHEN b.lo = 'MINVALUE' THEN '-9223372036854775808'::bigint
                ELSE b.lo::bigint END,
           CASE WHEN b.hi IS NULL THEN NULL
                WHEN b.hi = 'MAXVALUE' THEN '9223372036854775807'::bigint
                ELSE b.hi::bigint END,
           b.expr = 'DEFAULT'
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid)) AS e(expr)
    CROSS JOIN LATERAL (SELECT e.expr,
                               substring(e.expr FROM 'FROM \(''?(-?[0-9]+|MINVALUE)''?\)'),
                               substring(e.expr FROM ' TO \(''?(-?[0-9]+|MAXVALUE)''?\)'))
                        AS b(expr, lo, hi)
    WHERE i.inhparent = tbl
$$;

-- Why tbl cannot be maintained (NULL when it can): it must be partitioned
-- by range on one bigint column.
CREATE OR REPLACE FUNCTION sluice.partition_key_problem(tbl regclass)
RETURNS text
LANGUAGE sql STABLE STRICT
AS $$
    SELECT CASE WHEN pt.partrelid IS NULL THEN format('%s is not a partitioned table', tbl)
                WHEN pt.partstrat <> 'r' OR pt.partnatts <> 1 OR a.attname IS NULL
                     OR a.atttypid <> 'bigint'::regtype
                THEN format('%s is not partitioned by range on one bigint column', tbl) END
    FROM (SELECT tbl AS oid) t
    LEFT JOIN pg_partitioned_table pt ON pt.partrelid = t.oid
    LEFT JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
$$;

-- The partition key column of tbl; raises (wrong_object_type) unless tbl is
-- partitioned by range on one bigint column.
CREATE OR REPLACE FUNCTION sluice.partition_key(tbl regclass)
RETURNS name
LANGUAGE plpgsql STABLE STRICT
AS $$
DECLARE
    problem text := sluice.partition_key_problem(tbl);
    k name;
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT a.attname INTO k
    FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = tbl;
    RETURN k;
END
$$;

-- Make sure tbl has a partition for [from_ts, to_ts) (bounds: the ids of
-- sluice.partition_id_for_ts), in the caller's transaction:
--   - an existing partition with exactly these bounds: nothing to do
--     (created = false);
--   - a range that overlaps another partition: error (invalid_object_definition);
--   - otherwise the partition is made as a table of its own (LIKE tbl
--     INCLUDING ALL, with a CHECK of the range so that ATTACH need not scan
--     it), the rows of the range move out of the default partition into it
--     batch_rows at a time (in key order, while others go on writing), then
--     the default is locked (ACCESS EXCLUSIVE: it is scanned by ATTACH
--     anyway), the rows that came meanwhile move too, and the table is
--     attached. Readers never miss a row: the move and the attach commit
--     together.
-- part_name (without schema; the partition goes in tbl's schema) defaults to
-- the registry's naming for tbl's width, else <table>_p<YYYYMMDD"t"HH24MISS>.
-- Run it with a short lock_timeout: a lock that is not granted in time
-- raises lock_not_available and the caller tries again later.
CREATE OR REPLACE FUNCTION sluice.ensure_partition(
    tbl regclass, from_ts timestamptz, to_ts timestamptz,
    part_name text DEFAULT NULL, batch_rows integer DEFAULT 10000,
    OUT partition regclass, OUT created boolean, OUT rows_moved bigint)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    k name := sluice.partition_key(tbl);
    lo bigint := sluice.partition_id_for_ts(from_ts);
    hi bigint := sluice.partition_id_for_ts(to_ts);
    nsp name;
    rel name;
    def regclass;
    stage text;
    cols text;
    over text;
    move_sql text;
    n bigint;
    last_key bigint;
    cur bigint;
BEGIN
    created := false;
    rows_moved := 0;
    IF from_ts IS NULL OR to_ts IS NULL OR lo >= hi THEN
        RAISE EXCEPTION 'partition range [%, %) of % is empty', from_ts, to_ts, tbl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch_rows IS NULL OR batch_rows < 1 THEN
        RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT r.partition INTO partition
    FROM sluice.partition_ranges(tbl) r
    WHERE NOT r.is_default AND r.from_id = lo AND r.to_id = hi;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT string_agg(r.partition::text, ', ') INTO over
    FROM sluice.partition_ranges(tbl) r
    WHERE NOT r.is_default AND r.from_id < hi AND r.to_id > lo;
    IF over IS NOT NULL THEN
        RAISE EXCEPTION 'range [%, %) of % overlaps its partition %', from_ts, to_ts, tbl, over
            USING ERRCODE = 'invalid_object_definition';
    END IF;

    SELECT ns.nspname, c.relname INTO nsp, rel
    FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
    WHERE c.oid = tbl;
    IF part_name IS NULL THEN
        SELECT sluice.partition_name(tbl, t.width, from_ts) INTO part_name
        FROM sluice.partitioned_tables t
        WHERE to_regclass(t.table_name) = tbl;
    END IF;
    IF part_name IS NULL THEN
        part_name := left(rel, 40) || '_p'
                     || to_char(from_ts AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24MISS');
    END IF;
    stage := format('%I.%I', nsp, part_name);
    IF to_regclass(stage) IS NOT NULL THEN
        RAISE EXCEPTION 'cannot make partition % of %: a table of that name exists', stage, tbl
            USING ERRCODE = 'duplicate_table';
    END IF;

    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING ALL)', stage, tbl);
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT sluice_partition_range'
                   ' CHECK (%I IS NOT NULL AND %I >= %s AND %I < %s)',
                   stage, k, k, lo, k, hi);

    SELECT pt.partdefid::regclass INTO def
    FROM pg_partitioned_table pt
    WHERE pt.partrelid = tbl AND pt.partdefid <> 0;
    IF def IS NOT NULL THEN
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
        FROM pg_attribute a
        WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
        -- One batch: the next batch_rows rows of the range in key order, from
        -- the key the last batch ended at (the rows it moved are gone for us).
        move_sql := format(
            'WITH moved AS (DELETE FROM %1$s WHERE ctid = ANY (ARRAY('
            ' SELECT ctid FROM %1$s WHERE %2$I >= $1 AND %2$I < $2 ORDER BY %2$I LIMIT $3))'
            ' RETURNING %3$s),'
            ' ins AS (INSERT INTO %4$s (%3$s) SELECT %3$s FROM moved RETURNING %2$I)'
            ' SELECT count(*), max(%2$I) FROM ins', def, k, cols, stage);
        cur := lo;
        LOOP
            EXECUTE move_sql INTO n, last_key USING cur, hi, batch_rows;
            rows_moved := rows_moved + n;
            EXIT WHEN n < batch_rows;
            cur := last_key;
        END LOOP;
        -- Nobody may add rows of the range now; move what came meanwhile.
        EXECUTE format('LOCK TABLE ONLY %s IN SHARE UPDATE EXCLUSIVE MODE', tbl);
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', def);
        LOOP
            EXECUTE move_sql INTO n, last_key USING lo, hi, batch_rows;
            rows_moved := rows_moved + n;
            EXIT WHEN n < batch_rows;
        END LOOP;
    END IF;

    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                   tbl, stage, lo, hi);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT sluice_partition_range', stage);
    partition := stage::regclass;
    created := true;
END
$$;

-- Drop partition part, or, with archive_schema, detach it and move it into
-- that schema (made when missing). Refuses the default partition and the
-- partition that holds at_ts (invalid_parameter_value), and an archive
-- schema that already holds a table of that name (duplicate_table). Returns
-- 'dropped' or 'archived'. Needs an ACCESS EXCLUSIVE lock on the parent for
-- a moment: run it with a short lock_timeout.
CREATE OR REPLACE FUNCTION sluice.drop_partition(part regclass, archive_schema text DEFAULT NULL,
                                                 at_ts timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    parent regclass;
    r record;
    now_id bigint := sluice.partition_id_for_ts(at_ts);
BEGIN
    SELECT i.inhparent::regclass INTO parent
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhrelid = part AND c.relispartition;
    IF parent IS NULL THEN
        RAISE EXCEPTION '% is not a partition', part USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO r FROM sluice.partition_ranges(parent) x WHERE x.partition = part;
    IF r.is_default THEN
        RAISE EXCEPTION '% is the default partition of %: it is never dropped', part, parent
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF r.from_id <= now_id AND now_id < r.to_id THEN
        RAISE EXCEPTION '% holds the present (%): it is never dropped', part, at_ts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF archive_schema IS NULL THEN
        EXECUTE format('DROP TABLE %s', part);
        RETURN 'dropped';
    END IF;
    IF to_regclass(format('%I.%I', archive_schema,
                          (SELECT c.relname FROM pg_class c WHERE c.oid = part))) IS NOT NULL THEN
        RAISE EXCEPTION 'cannot archive %: %.% exists', part, archive_schema,
            (SELECT c.relname FROM pg_class c WHERE c.oid = part)
            USING ERRCODE = 'duplicate_table';
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', archive_schema);
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, part);
    EXECUTE format('ALTER TABLE %s SET SCHEMA %I', part, archive_schema);
    RETURN 'archived';
END
$$;

-- The retention of a registered table as of the settings: retention, else
-- the days in settings 'retention' -> retention_setting (>= 1), else NULL
-- (keep everything).
CREATE OR REPLACE FUNCTION sluice.partition_retention(t sluice.partitioned_tables)
RETURNS interval
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(t.retention,
                    (SELECT floor((s.value ->> t.retention_setting)::numeric)::int
                            * interval '1 day'
                     FROM sluice.settings s
                     WHERE s.key = 'retention' AND t.retention_setting IS NOT NULL
                       AND jsonb_typeof(s.value -> t.retention_setting) = 'number'
                       AND (s.value ->> t.retention_setting)::numeric >= 1
                       AND (s.value ->> t.retention_setting)::numeric <= 36500))
$$;

-- What maintenance would do at at_ts (for one table, or all): one row per
-- action, in the order to do them:
--   create   partition, from_ts, to_ts: a range to make (detail: 'premake' or
--            'rows in the default partition')
--   drop / archive  partition (with its range): entirely older than the
--            retention (detail names it)
--   error    detail says why the table (or a range of it) cannot be kept
-- No rows: nothing is due. Reads the catalog and probes the default
-- partition's key index; changes nothing.
CREATE OR REPLACE FUNCTION sluice.partition_plan(at_ts timestamptz DEFAULT now(),
                                                 only_table text DEFAULT NULL)
RETURNS TABLE (table_name text, action text, partition text, from_ts timestamptz,
               to_ts timestamptz, detail text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    t sluice.partitioned_tables;
    rel regclass;
    problem text;
    k name;
    nsp name;
    def regclass;
    ret interval;
    cutoff bigint;
    now_id bigint := sluice.partition_id_for_ts(at_ts);
    start_id bigint;
    fa bigint[];
    ta bigint[];
    na text[];
    want_from timestamptz[];
    want_why text[];
    lo timestamptz;
    hi timestamptz;
    lo_id bigint;
    hi_id bigint;
    cur bigint;
    over text;
    i integer;
    r record;
BEGIN
    FOR t IN SELECT * FROM sluice.partitioned_tables p
             WHERE only_table IS NULL OR p.table_name = only_table
             ORDER BY p.table_name
    LOOP
        table_name := t.table_name;
        partition := NULL;
        from_ts := NULL;
        to_ts := NULL;
        rel := to_regclass(t.table_name);
        problem := CASE WHEN rel IS NULL THEN format('no table %s', t.table_name)
                        ELSE sluice.partition_key_problem(rel) END;
        IF problem IS NOT NULL THEN
            action := 'error';
            detail := problem;
            RETURN NEXT;
            CONTINUE;
        END IF;
        k := sluice.partition_key(rel);
        SELECT ns.nspname INTO nsp
        FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = rel;
        SELECT pt.partdefid::regclass INTO def
        FROM pg_partitioned_table pt WHERE pt.partrelid = rel AND pt.partdefid <> 0;
        ret := sluice.partition_retention(t);
        cutoff := CASE WHEN ret IS NULL THEN NULL
                       ELSE sluice.partition_id_for_ts(at_ts - ret) END;
        SELECT array_agg(x.from_id), array_agg(x.to_id), array_agg(x.partition::text)
        INTO fa, ta, na
        FROM sluice.partition_ranges(rel) x WHERE NOT x.is_default;
        fa := coalesce(fa, '{}');
        ta := coalesce(ta, '{}');
        na := coalesce(na, '{}');

        -- Ranges wanted: past ones holding rows in the default partition
        -- (found by probing its key: one probe per range, and one more),
        -- then the one holding now and `premake` after it.
        want_from := '{}';
        want_why := '{}';
        start_id := sluice.partition_id_for_ts(sluice.partition_start(t.width, at_ts));
        IF def IS NOT NULL THEN
            EXECUTE format('SELECT min(%I) FROM %s WHERE %I >= 0', k, def, k) INTO cur;
            i := 0;
            WHILE cur IS NOT NULL AND cur < start_id AND i < 1000 LOOP
                lo := sluice.partition_start(t.width, sluice.snowflake_ts(cur));
                hi := sluice.partition_start(t.width, lo, 1);
                IF cutoff IS NULL OR sluice.partition_id_for_ts(hi) > cutoff THEN
                    want_from := want_from || lo;
                    want_why := want_why || 'rows in the default partition'::text;
                END IF;
                EXECUTE format('SELECT min(%I) FROM %s WHERE %I >= $1', k, def, k)
                    INTO cur USING sluice.partition_id_for_ts(hi);
                i := i + 1;
            END LOOP;
        END IF;
        FOR i IN 0 .. t.premake LOOP
            want_from := want_from || sluice.partition_start(t.width, at_ts, i);
            want_why := want_why || 'premake'::text;
        END LOOP;

        FOR i IN 1 .. coalesce(array_length(want_from, 1), 0) LOOP
            lo := want_from[i];
            hi := sluice.partition_start(t.width, lo, 1);
            lo_id := sluice.partition_id_for_ts(lo);
            hi_id := sluice.partition_id_for_ts(hi);
            CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(fa, ta) AS x(f, u)
                                  WHERE x.f <= lo_id AND x.u >= hi_id);
            SELECT string_agg(x.n, ', ') INTO over
            FROM unnest(fa, ta, na) AS x(f, u, n)
            WHERE x.f < hi_id AND x.u > lo_id;
            from_ts := lo;
            to_ts := hi;
            IF over IS NOT NULL THEN
                action := 'error';
                partition := NULL;
                detail := format('range [%s, %s) overlaps partition %s', lo, hi, over);
            ELSE
                action := 'create';
                partition := format('%I.%I', nsp, sluice.partition_name(rel, t.width, lo));
                detail := want_why[i];
            END IF;
            RETURN NEXT;
        END LOOP;

        -- Retention: whole partitions older than now - retention, never the
        -- one holding now (nor the default, which has no bounds).
        IF cutoff IS NOT NULL THEN
            FOR r IN SELECT x.f, x.u, x.n FROM unnest(fa, ta, na) AS x(f, u, n)
                     WHERE x.u <= cutoff AND x.u <= now_id
                     ORDER BY x.f
            LOOP
                action := CASE WHEN t.archive THEN 'archive' ELSE 'drop' END;
                partition := r.n;
                from_ts := CASE WHEN r.f < 0 THEN '-infinity' ELSE sluice.snowflake_ts(r.f) END;
                to_ts := sluice.snowflake_ts(r.u);
                detail := format('older than the retention (%s)', ret);
                RETURN NEXT;
            END LOOP;
        END IF;
    END LOOP;
END
$$;

-- Rows in tbl's default partition, counted up to cap (cap + 1 means "more
-- than cap"); NULL when it has none.
CREATE OR REPLACE FUNCTION sluice.partition_default_rows(tbl regclass, cap bigint DEFAULT 100000)
RETURNS bigint
LANGUAGE plpgsql STABLE STRICT
AS $$
DECLARE
    def regclass;
    n bigint;
BEGIN
    SELECT pt.partdefid::regclass INTO def
    FROM pg_partitioned_table pt WHERE pt.partrelid = tbl AND pt.partdefid <> 0;
    IF def IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT $1) s', def)
        INTO n USING cap + 1;
    RETURN n;
END
$$;

-- Every partition of every registered table: its range as ids and as
-- times (-infinity / infinity for MINVALUE / MAXVALUE; NULL for the
-- default), the planner's row estimate (NULL before the first ANALYZE) and
-- the size with indexes and TOAST.
CREATE OR REPLACE VIEW sluice.partitions AS
SELECT t.table_name,
       r.partition::text AS partition,
       r.is_default,
       r.from_id,
       r.to_id,
       CASE WHEN r.from_id IS NULL THEN NULL
            WHEN r.from_id < 0 THEN '-infinity'::timestamptz
            ELSE sluice.snowflake_ts(r.from_id) END AS from_ts,
       CASE WHEN r.to_id IS NULL THEN NULL
            WHEN r.to_id = 9223372036854775807 THEN 'infinity'::timestamptz
            WHEN r.to_id < 0 THEN '-infinity'::timestamptz
            ELSE sluice.snowflake_ts(r.to_id) END AS to_ts,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS est_rows,
       pg_total_relation_size(r.partition) AS size_bytes
FROM sluice.partitioned_tables t
CROSS JOIN LATERAL sluice.partition_ranges(to_regclass(t.table_name)) r
JOIN pg_class c ON c.oid = r.partition;
