#!/usr/bin/env bash
# test_sync_pg.sh - the PostgreSQL -> PostgreSQL sync engine, end to end,
# through `sluice sync` and `sluice tick --once` (for runs queued with
# options such as chunk_rows) against a throwaway cluster: control,
# source and destination are three databases of it.
#
# Equality is checked as a multiset (EXCEPT ALL both ways, over each row's
# text, so numeric scale and json bytes count) plus row counts; the
# databases' default settings are deliberately odd (time zones, date
# styles, float digits, bytea output) so that only the engine's own session
# settings can make the copies exact.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

# ==== every type, byte for byte =====================================================

src_sql <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE types (
    id integer PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric(12,4), nfree numeric,
    r real, d double precision, t text, vc varchar(10), ch char(3), b bytea, bo boolean,
    dt date, tm time, tmtz time with time zone, ts timestamp, tstz timestamptz, iv interval,
    u uuid, js json, jb jsonb, ai integer[], at text[], m mood, ma mood[], dom posint,
    updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO types VALUES
 (1, -32768, -2147483648, -9223372036854775808, -12345678.1234, 'NaN', 'NaN', 'Infinity',
  '', '', 'a', '\x', false, '4713-01-01 BC', '00:00', '00:00+14', '-infinity', '-infinity',
  '-178000000 years', '00000000-0000-0000-0000-000000000000', '{}', '{}', '{}', '{}', 'sad',
  '{}', 1, '2024-01-01 00:00:00+00'),
 (2, 32767, 2147483647, 9223372036854775807, 99999999.9999, '-1.000000000000000000000001',
  '-Infinity', '-1.7976931348623157e308', E'tab\there\nnewline\\ back\\slash \\N',
  'ten chars!', 'xy', '\x00ff10', true, 'infinity', '24:00:00', '23:59:59.999999-12',
  'infinity', 'infinity', '1 year 2 mons 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"b": 1,   "a" : [1, 2.50, "x"] , "a": null}', '{"b": 1, "a": [1, 2.50]}',
  '{1,NULL,-3}', '{"with \"quote\"","comma,here",NULL,"NULL","","{}"}', 'happy',
  '{sad,NULL,happy}', 2147483647, '2024-01-01 00:00:00+00'),
 (3, 0, 0, 0, 0.0001, 123456789012345678901234567890.123456789, 1.17549435e-38,
  2.2250738585072014e-308, 'héllo wörld — 日本語 ✓ 😀🎉 👩‍👩‍👧', 'émoji😀', '€ ',
  '\xdeadbeef', NULL, '2000-02-29', '12:34:56.789012', '12:00:00+05:30',
  '1999-12-31 23:59:59.999999', '2024-02-29 12:34:56.123456+00', '-1 days +02:00:00.000001',
  NULL, '[1, "two", {"three": 3.0}]', '["héllo", "😀", {"k": "v\u0041"}]',
  '{{1,2},{3,4}}', '{"a b","c\\d"}', 'ok', '{happy}', 42, '2024-01-01 00:00:00+00'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-02 00:00:00+00'),
 (5, 1, 2, 3, -0.5, 1e-20, 3.14159274, 0.1, E'line1\r\nline2\x01\x7f', 'a''b', 'q"',
  '\x5c', true, '0001-01-01', '23:59:59.999999', '00:00:01-03:30',
  '294276-12-31 23:59:59.999999', '1970-01-01 00:00:00.000001+00', '-00:00:00.000001',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '"just a string"', 'null', '{2147483647}',
  '{"\\N"}', 'sad', '{ok,ok}', 7, '2024-01-03 00:00:00+00');
SQL
TYPE_COLS='id, i2, i4, i8, n, nfree, r, d, t, vc, ch, b, bo, dt, tm, tmtz, ts, tstz, iv, u,
    js, jb, ai, at, m, ma, dom, updated_at'
P_TYPES=$(pipe types)
add_table "$P_TYPES" types

sl sync types
assert_eq "types: first sync exits 0" 0 "$RC"
assert_eq "types: run succeeded" success "$(last_run)"
same "types: every value round-trips (first load, shadow path)" types "$TYPE_COLS"
TYPES="integer,smallint,integer,bigint,numeric(12,4),numeric,real,double precision,text"
TYPES="$TYPES,character varying(10),character(3),bytea,boolean,date,time without time zone"
TYPES="$TYPES,time with time zone,timestamp without time zone,timestamp with time zone"
TYPES="$TYPES,interval,uuid,json,jsonb,integer[],text[],text,text[],integer"
TYPES="$TYPES,timestamp with time zone,bigint,timestamp with time zone"
assert_eq "types: destination column types" "$TYPES" \
    "$(dst "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = 'analytics.types'::regclass AND attnum > 0")"
assert_eq "types: primary key as the source's" "PRIMARY KEY (id)" \
    "$(dst "SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'analytics.types'::regclass AND contype = 'p'")"
assert_eq "types: json keeps its bytes" \
    '{"b": 1,   "a" : [1, 2.50, "x"] , "a": null}' \
    "$(dst "SELECT js FROM analytics.types WHERE id = 2")"
assert_eq "types: numeric NaN and scale" "NaN|99999999.9999|0.0001" \
    "$(dst "SELECT (SELECT nfree FROM analytics.types WHERE id = 1) || '|'
            || (SELECT n FROM analytics.types WHERE id = 2) || '|'
            || (SELECT n FROM analytics.types WHERE id = 3)")"
assert_eq "types: microseconds in UTC" "2024-02-29 12:34:56.123456+00" \
    "$(dst "$SETTINGS SELECT tstz FROM analytics.types WHERE id = 3")"
assert_eq "types: unicode and emoji intact" "héllo wörld — 日本語 ✓ 😀🎉 👩‍👩‍👧|émoji😀" \
    "$(dst "SELECT t || '|' || vc FROM analytics.types WHERE id = 3")"

# the merge path, for every type: touch every row, sync incrementally
src "UPDATE types SET updated_at = '2024-05-01 00:00:00+00'::timestamptz
                                  + id * interval '1 microsecond'" > /dev/null
sl sync types
assert_eq "types: incremental sync succeeded" "0 success" "$RC $(last_run)"
same "types: every value round-trips (merge path)" types "$TYPE_COLS"
assert_eq "types: all rows came through the merge" 5 \
    "$(dst "SELECT count(*) FROM analytics.types WHERE _sluice_run_id = $(last_run_id)")"
sl sync types --full-refresh
assert_eq "types: full refresh succeeded" "0 success" "$RC $(last_run)"
same "types: every value round-trips (full refresh)" types "$TYPE_COLS"
assert_eq "types: checkpoint is the max watermark, as the source prints it" \
    "updated_at|2024-05-01 00:00:00.000005+00" \
    "$(dst "SELECT watermark_column || '|' || watermark FROM staging._sluice_state
            WHERE source_table = 'types'")"
assert_eq "types: checkpoint mirrored in the control database" "2024-05-01 00:00:00.000005+00" \
    "$(ctl "SELECT watermark FROM sluice_state.watermarks WHERE source_table = 'types'")"

# the comparison can fail: one json value with other whitespace is a difference
dst "UPDATE analytics.types SET js = '{\"b\":1}' WHERE id = 5" > /dev/null
assert_eq "types: a changed json byte is seen by the comparison" "5 5 1 1" \
    "$(compare types "$TYPE_COLS")"
sl sync types --full-refresh
same "types: a full refresh repairs it" types "$TYPE_COLS"

# ==== chunk boundaries, updates, lookback, NULL watermarks ============================

src "CREATE TABLE bound (id integer PRIMARY KEY, v text, updated_at timestamp);
     INSERT INTO bound SELECT g, 'v' || g, '2024-01-01'::timestamp + (g / 10) * interval '1 hour'
     FROM generate_series(1, 95) g;" > /dev/null
P_BOUND=$(pipe bound)
add_table "$P_BOUND" bound
sl sync bound
assert_eq "bound: first sync" "0 success" "$RC $(last_run)"
# 20 new rows that share watermark values with each other and with the
# checkpoint (the last hour holds 5 synced rows and gets 5 more), an update
# to an old row, in chunks of 7 rows: every boundary splits a value
src "INSERT INTO bound SELECT g, 'new' || g, '2024-01-01'::timestamp + (g / 10) * interval '1 hour'
     FROM generate_series(96, 115) g;
     UPDATE bound SET v = 'updated', updated_at = '2024-01-01 11:00' WHERE id = 3;" > /dev/null
queue "$P_BOUND" '{"chunk_rows": 7}'
assert_eq "bound: chunked run" "0 success" "$RC $(last_run)"
same "bound: rows sharing watermarks across chunk boundaries: none lost, none twice" bound \
    "id, v, updated_at"
# read: the 6 synced rows of the checkpoint's hour again, 20 new, the update
assert_eq "bound: 27 rows read, the checkpoint's 6 again among them" "27|27" \
    "$(ctl "SELECT rows_extracted || '|' || rows_loaded FROM sluice_runs.run_table_stats
            WHERE run_id = $(last_run_id)")"
assert_eq "bound: the update to an old row arrived" updated \
    "$(dst "SELECT v FROM analytics.bound WHERE id = 3")"
assert_eq "bound: checkpoint after the run" "2024-01-01 11:00:00" \
    "$(dst "SELECT watermark FROM staging._sluice_state WHERE source_table = 'bound'")"
assert_eq "bound: watermark before/after in the stats" "2024-01-01 09:00:00|2024-01-01 11:00:00" \
    "$(ctl "SELECT watermark_before || '|' || watermark_after FROM sluice_runs.run_table_stats
            WHERE run_id = $(last_run_id)")"

# lookback: a row committed late with an older watermark arrives when the
# lookback covers it, and (proving the window is what does it) one older
# than the window does not
src "CREATE TABLE late (id integer PRIMARY KEY, updated_at timestamptz);
     INSERT INTO late VALUES (1, '2024-03-01 12:00+00'), (2, '2024-03-01 13:00+00');" > /dev/null
P_LATE=$(pipe late)
add_table "$P_LATE" late incremental "" 3600
sl sync late
src "INSERT INTO late VALUES (3, '2024-03-01 12:30+00'), (4, '2024-03-01 11:30+00');" > /dev/null
sl sync late
assert_eq "late: sync with a lookback" "0 success" "$RC $(last_run)"
assert_eq "late: the late row inside the lookback arrived, the older one did not" "1,2,3" \
    "$(dst "SELECT string_agg(id::text, ',' ORDER BY id) FROM analytics.late")"
assert_eq "late: the checkpoint did not move back" "2024-03-01 13:00:00+00" \
    "$(dst "SELECT watermark FROM staging._sluice_state WHERE source_table = 'late'")"

# NULL watermarks: such rows are read on every run (merged by key), so none
# is ever lost, even when it changes without getting a watermark
src "CREATE TABLE nullwm (id integer PRIMARY KEY, v text, updated_at timestamptz);
     INSERT INTO nullwm VALUES (1, 'a', NULL), (2, 'b', '2024-01-01+00'), (3, 'c', NULL);" \
    > /dev/null
P_NULL=$(pipe nullwm)
add_table "$P_NULL" nullwm
sl sync nullwm
same "nullwm: first sync" nullwm "id, v, updated_at"
src "INSERT INTO nullwm VALUES (4, 'd', NULL); UPDATE nullwm SET v = 'c2' WHERE id = 3;
     INSERT INTO nullwm VALUES (5, 'e', '2024-01-02+00');" > /dev/null
sl sync nullwm
same "nullwm: new and changed NULL-watermark rows arrive" nullwm "id, v, updated_at"
# read: the 3 NULL rows, the checkpoint's row again, the new one
assert_eq "nullwm: NULL rows are read again each run" 5 \
    "$(ctl "SELECT rows_extracted FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)")"

# ==== a 10 MB value, in a chunk of its own ==============================================

src "CREATE TABLE big_value (id integer PRIMARY KEY, body text, updated_at timestamptz);
     INSERT INTO big_value VALUES (1, 'small', '2024-01-01+00');" > /dev/null
P_BIG=$(pipe big_value)
add_table "$P_BIG" big_value
sl sync big_value
src "INSERT INTO big_value SELECT 2, string_agg(md5(g::text) || E'\t\\\\😀', '')
         || repeat('x', 10 * 1024 * 1024 - sum(length(md5(g::text) || E'\t\\\\😀'))::int),
         '2024-01-02+00' FROM generate_series(1, 100000) g;
     INSERT INTO big_value VALUES (3, 'after', '2024-01-03+00');" > /dev/null
queue "$P_BIG" '{"chunk_bytes": 1048576}'
assert_eq "10 MB: the run with 1 MiB chunks succeeded" "0 success" "$RC $(last_run)"
assert_eq "10 MB: the value is 10 MiB long" 10485760 \
    "$(dst "SELECT length(body) FROM analytics.big_value WHERE id = 2")"
same "10 MB: the big value round-trips" big_value "id, md5(body), updated_at"

# ==== schema drift ========================================================================

src "CREATE TABLE drift (id integer PRIMARY KEY, a text, gone text, num integer,
         updated_at timestamptz);
     INSERT INTO drift VALUES (1, 'x', 'g1', 10, '2024-01-01+00');" > /dev/null
P_DRIFT=$(pipe drift)
add_table "$P_DRIFT" drift
sl sync drift
src "ALTER TABLE drift ADD COLUMN added numeric(5,1) DEFAULT 1.5;
     ALTER TABLE drift DROP COLUMN gone;
     ALTER TABLE drift ALTER COLUMN num TYPE text;
     INSERT INTO drift (id, a, num, added, updated_at) VALUES (2, 'y', '20', 2.5, '2024-01-02+00'),
         (3, 'z', 'not a number', 3.5, '2024-01-03+00');" > /dev/null
sl sync drift
assert_eq "drift: the run succeeds (the row that cannot load is a dead letter)" \
    "0 success" "$RC $(last_run)"
assert_eq "drift: the new column was added with the source's type" "numeric(5,1)" \
    "$(dst "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'analytics.drift'::regclass AND attname = 'added'")"
# (row 1 was read again at the boundary, with the new column's default)
assert_eq "drift: rows carry the new column; the dropped one is kept, NULL for new rows" \
    "1|x|g1|10|1.5|2|y|20|2.5" \
    "$(dst "SELECT string_agg(concat_ws('|', id, a, gone, num, added), '|' ORDER BY id)
            FROM analytics.drift")"
EV=$(ctl "SELECT data FROM sluice_events.events WHERE type = 'schema.drifted'")
assert_contains "drift: event names the added column" "$EV" \
    '"added": [{"type": "numeric(5,1)", "column": "added"}]'
assert_contains "drift: event names the dropped column" "$EV" '"dropped": ["gone"]'
assert_contains "drift: event names the retyped column" "$EV" \
    '"retyped": [{"to": "text", "from": "integer", "column": "num"}]'
assert_eq "drift: warnings in the run's log" 3 \
    "$(ctl "SELECT count(*) FROM sluice_runs.run_logs WHERE run_id = $(last_run_id)
            AND level = 'warn' AND message LIKE 'schema drift:%'")"
assert_contains "drift: the retyped value that does not fit is a dead letter" \
    "$(dst "SELECT row_data->>'num' || ' / ' || error_text FROM staging._dead_letters
            WHERE table_name = 'drift'")" "not a number / invalid input syntax for type integer"
sl sync drift
assert_eq "drift: reported once, not on every run" 1 \
    "$(ctl "SELECT count(*) FROM sluice_events.events WHERE type = 'schema.drifted'")"

# ==== dead letters =======================================================================

src "CREATE TABLE dl (id integer PRIMARY KEY, amount integer, note text, updated_at timestamptz);
     INSERT INTO dl SELECT g, g, 'n' || g, '2024-01-01+00' FROM generate_series(1, 10) g;" \
    > /dev/null
P_DL=$(pipe dl)
add_table "$P_DL" dl
sl sync dl
# the destination now refuses some rows: a CHECK, and a NOT NULL the source lacks
dst "ALTER TABLE analytics.dl ADD CONSTRAINT small CHECK (amount < 1000);
     ALTER TABLE analytics.dl ALTER COLUMN note SET NOT NULL;" > /dev/null
src "INSERT INTO dl SELECT g, CASE WHEN g IN (37, 38, 150) THEN 5000 ELSE g END,
         CASE WHEN g = 99 THEN NULL ELSE 'n' || g END, '2024-01-02+00'
     FROM generate_series(11, 200) g;" > /dev/null
queue "$P_DL" '{"chunk_rows": 50}'
assert_eq "dead letters: the run still succeeds" "0 success" "$RC $(last_run)"
assert_eq "dead letters: exactly the 4 bad rows are set aside" "37,38,99,150" \
    "$(dst "SELECT string_agg(row_data->>'id', ',' ORDER BY (row_data->>'id')::int)
            FROM staging._dead_letters WHERE table_name = 'dl'")"
assert_eq "dead letters: every other row loaded" 196 "$(dst "SELECT count(*) FROM analytics.dl")"
assert_eq "dead letters: the rest is exact" "200 196 4 0" \
    "$(compare dl "id, amount, note, updated_at")"
assert_contains "dead letters: the CHECK error is kept" \
    "$(dst "SELECT error_text FROM staging._dead_letters WHERE row_data->>'id' = '37'")" \
    'violates check constraint "small"'
assert_contains "dead letters: the NOT NULL error is kept" \
    "$(dst "SELECT error_text FROM staging._dead_letters WHERE row_data->>'id' = '99'")" \
    'null value in column "note"'
assert_eq "dead letters: the row is kept as JSON of the source's text" \
    '{"id": "99", "note": null, "amount": "99", "updated_at": "2024-01-02 00:00:00+00"}' \
    "$(dst "SELECT row_data FROM staging._dead_letters WHERE row_data->>'id' = '99'")"
assert_eq "dead letters: counted in the table stats and the run" "4|4" \
    "$(ctl "SELECT s.rows_failed || '|' || r.dead_letters FROM sluice_runs.run_table_stats s
            JOIN sluice_runs.runs r ON r.id = s.run_id WHERE s.run_id = $(last_run_id)")"
assert_eq "dead letters: the event is there" 1 \
    "$(ctl "SELECT count(*) FROM sluice_events.events WHERE type = 'dead_letters.created'
            AND data::text LIKE '%$(last_run_id)%'")"
assert_eq "dead letters: the checkpoint moved past them" "2024-01-02 00:00:00+00" \
    "$(dst "SELECT watermark FROM staging._sluice_state WHERE source_table = 'dl'")"

# the same constraints on a full refresh: the streamed load fails, the
# careful one isolates the same rows and swaps in the rest
sl sync dl --full-refresh
assert_eq "dead letters: full refresh succeeds" "0 success" "$RC $(last_run)"
assert_eq "dead letters: full refresh keeps the constraints and loads the rest" "196|4" \
    "$(dst "SELECT count(*) FROM analytics.dl")|$(ctl "SELECT rows_failed
            FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)")"
assert_contains "dead letters: full refresh said why it went careful" \
    "$(run_log_text)" \
    "loading again chunk by chunk"

# retry: with the cause fixed, a queued retry loads them and resolves them
dst "ALTER TABLE analytics.dl DROP CONSTRAINT small;
     ALTER TABLE analytics.dl ALTER COLUMN note DROP NOT NULL;" > /dev/null
queue "$P_DL" '{"retry_dead_letters": true}'
assert_eq "retry: the run succeeds" "0 success" "$RC $(last_run)"
assert_eq "retry: every dead letter is resolved" 0 \
    "$(dst "SELECT count(*) FROM staging._dead_letters WHERE table_name = 'dl'
            AND resolved_at IS NULL")"
same "retry: the destination equals the source" dl "id, amount, note, updated_at"

# ==== tables without a primary key =======================================================

src "CREATE TABLE nopk (a integer, b text, updated_at timestamptz);
     INSERT INTO nopk SELECT g % 13, 'b' || g,
         '2024-01-01+00'::timestamptz + (g / 5) * interval '1 minute'
     FROM generate_series(1, 60) g;
     CREATE TABLE nopk_full (a integer, b text);
     INSERT INTO nopk_full VALUES (1, 'x'), (1, 'x'), (2, 'y');" > /dev/null
P_NOPK=$(pipe nopk)
add_table "$P_NOPK" nopk incremental updated_at
add_table "$P_NOPK" nopk_full
sl sync nopk
assert_eq "no key: sync" "0 success" "$RC $(last_run)"
assert_eq "no key: append mode with a watermark, full refresh without" \
    "nopk=append,nopk_full=full_refresh" \
    "$(ctl "SELECT string_agg(source_table || '=' || mode, ',' ORDER BY source_table)
            FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)")"
same "no key: full refresh keeps duplicate rows" nopk_full "a, b"
src "INSERT INTO nopk SELECT g % 13, 'b' || g,
         '2024-01-01+00'::timestamptz + (g / 5) * interval '1 minute'
     FROM generate_series(61, 100) g;" > /dev/null
queue "$P_NOPK" '{"chunk_rows": 7, "tables": ["nopk"]}'
assert_eq "no key: append in chunks of 7" "0 success" "$RC $(last_run)"
same "no key: boundary rows are not duplicated" nopk "a, b, updated_at"
assert_eq "no key: the row hash is unique" 1 \
    "$(dst "SELECT count(*) FROM pg_indexes WHERE tablename = 'nopk'
            AND indexdef LIKE 'CREATE UNIQUE INDEX%(_sluice_row_hash)'")"

# ==== raw mode ============================================================================

src "CREATE TABLE rawt (id integer PRIMARY KEY, n numeric(6,2), ok boolean, doc jsonb,
         t text, updated_at timestamptz);
     INSERT INTO rawt VALUES (1, 12.50, true, '{\"k\": [1, 2]}', 'tab	x', '2024-01-01+00'),
         (2, NULL, false, NULL, 'b\\\\s', '2024-01-02+00');" > /dev/null
P_RAW=$(pipe rawt)
add_table "$P_RAW" rawt incremental "" 0 raw
sl sync rawt
assert_eq "raw: sync" "0 success" "$RC $(last_run)"
assert_eq "raw: staging.<source>_<table>_raw holds the rows as typed JSON" \
    '{"n": 12.50, "t": "tab\tx", "id": 1, "ok": true, "doc": {"k": [1, 2]},'\
' "updated_at": "2024-01-01 00:00:00+00"}' \
    "$(dst "SELECT _data FROM staging.shop_db_rawt_raw WHERE _data->>'id' = '1'")"
assert_eq "raw: run id and both rows" "2|$(last_run_id)" \
    "$(dst "SELECT count(*) || '|' || max(_sluice_run_id) FROM staging.shop_db_rawt_raw")"
same "raw: and the typed table" rawt "id, n, ok, doc, t, updated_at"
assert_eq "raw: counted as loaded raw" 2 \
    "$(run_stat rows_loaded_raw)"

# ==== identifiers that need quoting, integer and date watermarks ==========================

src_sql <<'SQL'
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."Weird ""Name""" ("Select" integer PRIMARY KEY, "a b" text,
    "Ünïcode" text, "seq" bigint NOT NULL);
INSERT INTO "Sales Data"."Weird ""Name""" VALUES (1, 'x', 'ü', 10), (2, 'y', 'ß', 20);
CREATE TABLE dated (id integer PRIMARY KEY, created_at date, v text);
INSERT INTO dated VALUES (1, '2024-01-01', 'a'), (2, '2024-01-05', 'b');
SQL
P_Q=$(pipe quoting)
add_table "$P_Q" 'Weird "Name"' incremental seq 3600 "" "Sales Data"
add_table "$P_Q" dated incremental "" 86400
sl sync quoting
assert_eq "quoting: sync" "0 success" "$RC $(last_run)"
assert_eq "quoting: the table and its columns, as named" "1|x|ü|10,2|y|ß|20" \
    "$(dst "SELECT string_agg(concat_ws('|', \"Select\", \"a b\", \"Ünïcode\", seq), ','
            ORDER BY \"Select\") FROM analytics.\"Weird \"\"Name\"\"\"")"
src 'INSERT INTO "Sales Data"."Weird ""Name""" VALUES (3, $$z$$, $$ø$$, 15), (4, $$w$$, $$å$$, 25);
     INSERT INTO dated VALUES (3, $$2024-01-04$$, $$late but within a day$$),
                              (4, $$2024-01-02$$, $$too late$$);' > /dev/null
sl sync quoting
assert_eq "integer watermark: no lookback, so only seq >= 20 comes (documented)" "1,2,4" \
    "$(dst "SELECT string_agg(\"Select\"::text, ',' ORDER BY 1)
            FROM analytics.\"Weird \"\"Name\"\"\"")"
assert_eq "date watermark: a one-day lookback brings the row of the day before" "1,2,3" \
    "$(dst "SELECT string_agg(id::text, ',' ORDER BY id) FROM analytics.dated")"
assert_eq "quoting: checkpoints" "Weird \"Name\":seq=25,dated:created_at=2024-01-05" \
    "$(dst "SELECT string_agg(source_table || ':' || watermark_column || '=' || watermark, ','
            ORDER BY source_table) FROM staging._sluice_state
            WHERE source_table IN ('dated', 'Weird \"Name\"')")"

# ==== backfill ===========================================================================

sl sync bound --backfill-from '2024-01-01 05:00'
assert_eq "backfill: run" "0 success" "$RC $(last_run)"
assert_eq "backfill: reads from the given value, not the checkpoint" \
    "$(src "SELECT count(*) FROM bound
            WHERE updated_at >= '2024-01-01 05:00'")|2024-01-01 11:00:00" \
    "$(ctl "SELECT rows_extracted || '|' || watermark_after FROM sluice_runs.run_table_stats
            WHERE run_id = $(last_run_id)")"
# a backfill that stops after its first chunk leaves the checkpoint where
# it got to: the next runs go on from there
queue "$P_BOUND" '{"chunk_rows": 10, "backfill_from": "2024-01-01 01:00"}'
assert_eq "backfill: chunked run" "0 success" "$RC $(last_run)"
same "backfill: still equal" bound "id, v, updated_at"

# ==== failures stay in their table ========================================================

src "CREATE TABLE fine (id integer PRIMARY KEY, updated_at timestamptz);
     INSERT INTO fine VALUES (1, now());" > /dev/null
P_FAIL=$(pipe failing)
add_table "$P_FAIL" does_not_exist
add_table "$P_FAIL" fine
add_table "$P_FAIL" dl incremental no_such_column
sl sync failing
assert_eq "failures: the run fails, exit status 1" 1 "$RC"
assert_eq "failures: the good table still synced" 1 "$(dst "SELECT count(*) FROM analytics.fine")"
assert_eq "failures: per-table outcome" "dl=failed,does_not_exist=failed,fine=success" \
    "$(ctl "SELECT string_agg(source_table || '=' || status, ',' ORDER BY source_table)
            FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)")"
assert_contains "failures: the run's error says what" "$(last_run)" \
    '2 of 3 tables failed; public.dl: watermark column "no_such_column" is not a column'
assert_contains "failures: a missing table is named" \
    "$(ctl "SELECT error FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)
            AND source_table = 'does_not_exist'")" \
    "source table public.does_not_exist does not exist"
sl sync failing --table nope
assert_eq "failures: an unknown --table fails the run" 1 "$RC"
assert_contains "failures: ... and says so" "$(last_run)" '"nope" is not an enabled table'

# ==== partitioned source, progress counters ===============================================

src "CREATE TABLE parted (id integer, region text, updated_at timestamptz,
         PRIMARY KEY (id, region)) PARTITION BY LIST (region);
     CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
     CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');
     INSERT INTO parted SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END,
         '2024-01-01+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 500) g;
     ANALYZE parted;" > /dev/null
P_PART=$(pipe parted)
add_table "$P_PART" parted
sl sync parted
assert_eq "partitioned: sync" "0 success" "$RC $(last_run)"
same "partitioned: all partitions' rows" parted "id, region, updated_at"
assert_eq "partitioned: composite primary key" "PRIMARY KEY (id, region)" \
    "$(dst "SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'analytics.parted'::regclass AND contype = 'p'")"
assert_eq "progress: rows done and the estimate" "500|500" \
    "$(ctl "SELECT rows_done || '|' || rows_estimate FROM sluice_runs.runs
            WHERE id = $(last_run_id)")"

# ==== a full refresh keeps what depends on the typed table ================================

dst "CREATE VIEW analytics.nullwm_v AS SELECT id, v FROM analytics.nullwm;
     CREATE INDEX nullwm_v_idx ON analytics.nullwm (v);" > /dev/null
oid_before=$(dst "SELECT 'analytics.nullwm'::regclass::oid")
src "UPDATE nullwm SET v = v || '!'" > /dev/null
sl sync nullwm --full-refresh
assert_eq "dependents: full refresh with a view on the table" "0 success" "$RC $(last_run)"
same "dependents: rows replaced" nullwm "id, v, updated_at"
assert_eq "dependents: the view sees them, the table was kept" "a!,b!,c2!,d!,e!|$oid_before" \
    "$(dst "SELECT string_agg(v, ',' ORDER BY id) FROM analytics.nullwm_v")|$(dst \
        "SELECT 'analytics.nullwm'::regclass::oid")"
assert_eq "dependents: indexes kept" 1 \
    "$(dst "SELECT count(*) FROM pg_indexes WHERE indexname = 'nullwm_v_idx'")"

# ==== quality checks that fail ===========================================================

src "CREATE TABLE qual (id integer PRIMARY KEY, must text NOT NULL, updated_at timestamptz);
     INSERT INTO qual VALUES (1, 'a', '2024-01-01+00');" > /dev/null
P_QUAL=$(pipe qual)
add_table "$P_QUAL" qual
sl sync qual
# the destination blanks one column and swallows the row with id 3
dst "CREATE FUNCTION analytics.meddle() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN IF NEW.id = 3 THEN RETURN NULL; END IF; NEW.must := NULL; RETURN NEW; END \$\$;
     CREATE TRIGGER meddle BEFORE INSERT OR UPDATE ON analytics.qual
     FOR EACH ROW EXECUTE FUNCTION analytics.meddle();" > /dev/null
src "INSERT INTO qual VALUES (2, 'b', '2024-01-02+00'), (3, 'c', '2024-01-03+00'),
         (4, 'd', '2024-01-04+00');" > /dev/null
sl sync qual
assert_eq "quality: the run itself succeeds" "0 success" "$RC $(last_run)"
assert_eq "quality: both checks failed, with what was found" \
    "not_null:failed:0:3:{must}|row_count:failed:4:3:" \
    "$(ctl "SELECT string_agg(check_type || ':' || status || ':' || expected || ':' || actual
            || ':' || coalesce(columns::text, ''), '|' ORDER BY check_type)
            FROM sluice_runs.quality_log WHERE run_id = $(last_run_id)")"
assert_eq "quality: counted on the run, with its event" "2|1" \
    "$(ctl "SELECT quality_failures FROM sluice_runs.runs WHERE id = $(last_run_id)")|$(ctl \
        "SELECT count(*) FROM sluice_events.events WHERE type = 'quality.failed'")"
ctl "INSERT INTO sluice.settings (key, value) VALUES ('quality', '{\"row_count_threshold_pct\": 30}')
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" > /dev/null
src "UPDATE qual SET updated_at = '2024-02-01+00'" > /dev/null
sl sync qual
assert_eq "quality: within the threshold (1 of 4 rows off = 25% <= 30%) it passes" \
    "passed|25" \
    "$(ctl "SELECT status || '|' || round(discrepancy_pct) FROM sluice_runs.quality_log
            WHERE run_id = $(last_run_id) AND check_type = 'row_count'")"
ctl "DELETE FROM sluice.settings WHERE key = 'quality'" > /dev/null

# ==== a checkpoint without its rows ======================================================

dst "DROP TABLE analytics.bound" > /dev/null
sl sync bound
assert_eq "dropped table: recreated and reloaded, not just rows past the checkpoint" \
    "0 success" "$RC $(last_run)"
same "dropped table: every row is back" bound "id, v, updated_at"
assert_contains "dropped table: the log says why everything was read" "$(run_log_text)" \
    "reading everything again"
dst "TRUNCATE analytics.bound" > /dev/null
sl sync bound
same "truncated table: every row is back" bound "id, v, updated_at"

h_done
