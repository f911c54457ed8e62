-- 014_partition_moves.sql - sluice.ensure_partition() moves rows out of the
-- default partition by key ranges: each batch is the rows between the key
-- it starts at and the key batch_rows rows on (one index probe), deleted
-- with a plain range condition. 011 picked each batch's rows by ctid in key
-- order, which cost about half again as much as moving them in one
-- statement. Same signature, same behaviour otherwise.

-- Make sure tbl has a partition for [from_ts, to_ts) (bounds: the ids of
-- sluice.partition_id_for_ts), in the caller's transaction:
--   - an existing partition with exactly these bounds: nothing to do
--     (created = false);
--   - a range that overlaps another partition: error (invalid_object_definition);
--   - otherwise the partition is made as a table of its own (LIKE tbl
--     INCLUDING ALL, with a CHECK of the range so that ATTACH need not scan
--     it), the rows of the range move out of the default partition into it
--     about batch_rows at a time (key ranges found in the key's index, in key
--     order, while others go on writing), then
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
    first_sql text;
    next_sql text;
    pass integer;
    n bigint;
    cur bigint;
    nxt bigint;
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
        -- One batch: the rows of [cur, nxt), where nxt is the key batch_rows
        -- rows on (found in the key's index; at least cur + 1, so that many
        -- rows sharing one key still move on). Pass 1 runs while others go
        -- on writing; pass 2 takes the locks ATTACH needs, so nobody can add
        -- rows of the range any more, and moves what came meanwhile (usually
        -- nothing: one index probe).
        move_sql := format(
            'WITH moved AS (DELETE FROM %1$s WHERE %2$I >= $1 AND %2$I < $2 RETURNING %3$s),'
            ' ins AS (INSERT INTO %4$s (%3$s) SELECT %3$s FROM moved RETURNING 1)'
            ' SELECT count(*) FROM ins', def, k, cols, stage);
        first_sql := format('SELECT %1$I FROM %2$s WHERE %1$I >= $1 AND %1$I < $2'
                            ' ORDER BY %1$I LIMIT 1', k, def);
        next_sql := format('SELECT %1$I FROM %2$s WHERE %1$I >= $1 AND %1$I < $2'
                           ' ORDER BY %1$I OFFSET $3 LIMIT 1', k, def);
        FOR pass IN 1 .. 2 LOOP
            IF pass = 2 THEN
                EXECUTE format('LOCK TABLE ONLY %s IN SHARE UPDATE EXCLUSIVE MODE', tbl);
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', def);
            END IF;
            EXECUTE first_sql INTO cur USING lo, hi;
            WHILE cur IS NOT NULL LOOP
                EXECUTE next_sql INTO nxt USING cur, hi, batch_rows;
                nxt := CASE WHEN nxt IS NULL THEN hi WHEN nxt <= cur THEN cur + 1 ELSE nxt END;
                EXECUTE move_sql INTO n USING cur, nxt;
                rows_moved := rows_moved + n;
                cur := CASE WHEN nxt >= hi THEN NULL ELSE nxt END;
            END LOOP;
        END LOOP;
    END IF;

    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                   tbl, stage, lo, hi);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT sluice_partition_range', stage);
    partition := stage::regclass;
    created := true;
END
$$;
