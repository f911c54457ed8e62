-- 012_partition_names.sql - partition and table names in sluice.partitions,
-- sluice.partition_plan() and their messages always carry the schema:
-- regclass's text leaves it out for tables on the search_path (public), so
-- 011 showed "t_p20260101" for public.t_p20260101.

-- rel as schema.name, each part quoted when it needs to be.
CREATE OR REPLACE FUNCTION sluice.qualified_name(rel regclass)
RETURNS text
LANGUAGE sql STABLE STRICT
AS $$
    SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$$;

CREATE OR REPLACE FUNCTION sluice.partition_key_problem(tbl regclass)
RETURNS text
LANGUAGE sql STABLE STRICT
AS $$
    SELECT CASE WHEN pt.partrelid IS NULL
                THEN format('%s is not a partitioned table', sluice.qualified_name(tbl))
                WHEN pt.partstrat <> 'r' OR pt.partnatts <> 1 OR a.attname IS NULL
                     OR a.atttypid <> 'bigint'::regtype
                THEN format('%s is not partitioned by range on one bigint column',
                            sluice.qualified_name(tbl)) END
    FROM (SELECT tbl AS oid) t
    LEFT JOIN pg_partitioned_table pt ON pt.partrelid = t.oid
    LEFT JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
$$;

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
        SELECT array_agg(x.from_id), array_agg(x.to_id),
               array_agg(sluice.qualified_name(x.partition))
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

CREATE OR REPLACE VIEW sluice.partitions AS
SELECT t.table_name,
       sluice.qualified_name(r.partition) AS partition,
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
