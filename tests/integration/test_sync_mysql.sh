#!/usr/bin/env bash
# test_sync_mysql.sh - MariaDB as a sync source into PostgreSQL, end to end,
# through `sluice sync` and `sluice tick --once`, against a throwaway MariaDB
# (h_mariadb_start) and the harness's PostgreSQL (control and destination).
#
#   - every mapped type round-trips value by value: the destination is
#     compared with a table of the expected PostgreSQL values (row text,
#     EXCEPT ALL both ways), on the first load, the merge path and a full
#     refresh; the destination's column types; no drift on reruns;
#   - unsigned limits (0 and the maximum of each), 4-byte UTF-8;
#   - zero dates become NULL with a note in the run's log (the row's key),
#     and a row whose zero date meets a NOT NULL at the destination is a
#     dead letter while the rest loads;
#   - incremental: ties across chunks of 7 (none lost, none twice), the
#     microsecond checkpoint read back exactly, an update to an old row,
#     NULL and zero-date watermarks (read on every run), lookback, integer
#     and date watermarks, identifiers with backticks;
#   - drift: a column added in MariaDB is added at the destination;
#   - kill -9 in the middle of a chunked sync, then a rerun: equal.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

h_mariadb_start

# my_sql < FILE / my SQL: run SQL on the MariaDB source (root, database
# sluice_src, utf8mb4); my prints tab-separated rows.
MY=(mariadb --no-defaults -uroot --socket="$H_MY_SOCKET" --default-character-set=utf8mb4 -N -B)
my_sql() { "${MY[@]}" "$H_MY_DB"; }
my() { "${MY[@]}" -e "$1" "$H_MY_DB"; }

# The MariaDB source's password is sealed like the destination's: the
# engine must open it, and MariaDB checks it (synctest.sh sealed
# 'not-really-needed' for the destination; the MariaDB user gets it too).
my "ALTER USER '$H_MY_USER'@'%' IDENTIFIED BY 'not-really-needed';
    ALTER USER '$H_MY_USER'@'127.0.0.1' IDENTIFIED BY 'not-really-needed';"
MY_SOURCE_ID=$(ctl "INSERT INTO sluice.sources (name, type, host, port, database, username,
                        password_enc, ssl_mode)
    SELECT 'Maria Shop', 'mariadb', '127.0.0.1', $H_MY_PORT, '$H_MY_DB', '$H_MY_USER',
           password_enc, 'disable' FROM sluice.destinations WHERE id = '$DEST_ID'
    RETURNING id")
assert_contains "the MariaDB password is sealed" \
    "$(ctl "SELECT password_enc FROM sluice.sources WHERE id = '$MY_SOURCE_ID'")" "sb1:"

# pipe NAME: a pipeline from MariaDB into the destination; prints its id.
pipe() {
    ctl "INSERT INTO sluice.pipelines (name, source_id, destination_id)
         VALUES ('$1', '$MY_SOURCE_ID', '$DEST_ID') RETURNING id"
}
# my_table PIPELINE_ID TABLE [SYNC_MODE] [WATERMARK] [LOOKBACK] [SCHEMA]: the
# schema is empty by default (the connection's database).
my_table() {
    local wm=NULL
    [ -z "${4:-}" ] || wm="'$4'"
    ctl "INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table,
            sync_mode, watermark_column, lookback_seconds)
         VALUES ('$1', '${6:-}', \$t\$$2\$t\$, '${3:-incremental}', $wm, ${5:-0})" > /dev/null
}
# cmp_exp TARGET EXPECTED COLS: "rows_dst rows_exp missing extra" between
# analytics.TARGET and testx.EXPECTED in the destination, rows as text.
cmp_exp() {
    dst "$SETTINGS
        SELECT (SELECT count(*) FROM analytics.\"$1\") || ' ' || (SELECT count(*) FROM testx.$2)
            || ' ' || (SELECT count(*) FROM (SELECT x::text FROM (SELECT $3 FROM testx.$2) x
                       EXCEPT ALL SELECT x::text FROM (SELECT $3 FROM analytics.\"$1\") x) m)
            || ' ' || (SELECT count(*) FROM (SELECT x::text
                       FROM (SELECT $3 FROM analytics.\"$1\") x
                       EXCEPT ALL SELECT x::text FROM (SELECT $3 FROM testx.$2) x) e)"
}
# cmp_rows MYSQL_SELECT PG_SELECT: "rows_src rows_dst missing extra" between
# MariaDB's rows and the destination's, each row one line of text.
cmp_rows() {
    my "$1" | LC_ALL=C sort > "$H_TMP/rows_src"
    dst "$SETTINGS $2" | LC_ALL=C sort > "$H_TMP/rows_dst"
    echo "$(wc -l < "$H_TMP/rows_src") $(wc -l < "$H_TMP/rows_dst")" \
        "$(LC_ALL=C comm -23 "$H_TMP/rows_src" "$H_TMP/rows_dst" | wc -l)" \
        "$(LC_ALL=C comm -13 "$H_TMP/rows_src" "$H_TMP/rows_dst" | wc -l)"
}
ckpt() {
    dst "SELECT coalesce(watermark, '') FROM staging._sluice_state WHERE source_table = '$1'"
}
# The newest run's warnings, one per line.
warnings() {
    ctl "SELECT message FROM sluice_runs.run_logs WHERE run_id = $(last_run_id)
         AND level = 'warn' ORDER BY id"
}

# ==== every type, value by value =====================================================

my_sql <<'SQL'
SET time_zone = '+00:00';
CREATE TABLE types (
    id int PRIMARY KEY,
    b tinyint(1), ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
    mi mediumint, miu mediumint unsigned, i int, iu int unsigned, bi bigint,
    biu bigint unsigned, dec1 decimal(12,4), decu decimal(20,0) unsigned,
    f float, d double,
    ch char(3), vc varchar(10), tt tinytext, tx text, mt mediumtext, lt longtext,
    bn binary(4), vb varbinary(8), tb tinyblob, bl blob, mb mediumblob, lb longblob,
    dt date, dtm datetime, dtm6 datetime(6), ts timestamp(3) NULL, tm time(6), y year,
    j json, e enum('sad','ok','happy'), st set('a','b','c d','x"y'), bt bit(10), b1 bit(1),
    u uuid, ip4 inet4, ip6 inet6,
    updated_at datetime(6) NOT NULL
) ENGINE=InnoDB;
INSERT INTO types VALUES
 (1, 0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -99999999.9999, 0, -3.4028234663852886e38, -1.7976931348623157e308,
  '', '', '', '', '', '', '', '', '', '', '', '',
  '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000',
  '-838:59:59.000000', 1901, '{}', 'sad', '', b'0', b'0',
  '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', '2024-01-01 00:00:00'),
 (2, 1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615, 99999999.9999, 99999999999999999999,
  3.4028234663852886e38, 1.7976931348623157e308,
  'xyz', 'ten chars!', 'tab\there', 'new\nline \\ back\\slash \\N', 'cr\rlf', 'x',
  0xdeadbeef, 0x00ff10, 0x5c, 0x0a09, 0x00, 0xff,
  '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999',
  '838:59:59.000000', 2155, '{"b": 1,   "a" : [1, 2.50, "x"]}', 'happy', 'a,b,c d,x"y',
  b'1111111111', b'1', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2024-01-01 00:00:01'),
 (3, 5, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0.0001, 1, 3.14159274, 0.1,
  '€ ', 'émoji😀', 'héllo wörld — 日本語 ✓ 😀🎉 👩‍👩‍👧', '𝄞 music', 'ü', '😀',
  0x00000001, '', 0x00, 0xc3a9, 0x5c4e, 0x090a0d,
  '2000-02-29', '2024-02-29 12:34:56', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.123',
  '-12:30:00.5', 2024, '["héllo", "😀", {"k": "v\\u0041"}]', 'ok', 'c d', b'1000000001', b'1',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1', '::ffff:192.168.0.1',
  '2024-01-01 00:00:02'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 00:00:03'),
 (5, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.5000, NULL,
  1.1754943508222875e-38, 2.2250738585072014e-308, 'a''b', 'q"', NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, '0001-01-01', NULL, '1970-01-01 00:00:00.000001',
  '1970-01-01 00:00:01.500', '-00:00:00.000001', 0, '"just a string"', NULL, 'a,b', b'101', NULL,
  NULL, NULL, NULL, '2024-01-01 00:00:04'),
 (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  1.401298464324817e-45, 5e-324, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, '12:34:56.789012', NULL, 'null', NULL, 'b', NULL, NULL,
  NULL, NULL, NULL, '2024-01-01 00:00:05');
SQL

dst_sql() { "$H_PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -d "$DST_URL" > /dev/null; }
dst_sql <<'SQL'
CREATE TABLE testx.types_exp (
    id integer, b boolean, ti smallint, tiu smallint, si smallint, siu integer, mi integer,
    miu integer, i integer, iu bigint, bi bigint, biu numeric(20,0), dec1 numeric(12,4),
    decu numeric(20,0), f real, d double precision, ch varchar(3), vc varchar(10), tt text,
    tx text, mt text, lt text, bn bytea, vb bytea, tb bytea, bl bytea, mb bytea, lb bytea,
    dt date, dtm timestamp(0), dtm6 timestamp(6), ts timestamptz(3), tm interval, y smallint,
    j jsonb, e text, st text[], bt varbit(10), b1 varbit(1), u uuid, ip4 inet, ip6 inet,
    updated_at timestamp(6));
SET TimeZone = 'UTC';
INSERT INTO testx.types_exp VALUES
 (1, false, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -99999999.9999, 0, '-3.4028234663852886e38', '-1.7976931348623157e308',
  '', '', '', '', '', '', '\x00000000', '\x', '\x', '\x', '\x', '\x',
  '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00', '1970-01-01 00:00:01+00',
  '-838:59:59', 1901, '{}', 'sad', '{}', B'0000000000', B'0',
  '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', '2024-01-01 00:00:00'),
 (2, true, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615, 99999999.9999, 99999999999999999999,
  '3.4028234663852886e38', '1.7976931348623157e308',
  'xyz', 'ten chars!', E'tab\there', E'new\nline \\ back\\slash \\N', E'cr\rlf', 'x',
  '\xdeadbeef', '\x00ff10', '\x5c', '\x0a09', '\x00', '\xff',
  '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999+00', '838:59:59', 2155, '{"b": 1, "a": [1, 2.50, "x"]}', 'happy',
  ARRAY['a', 'b', 'c d', 'x"y'], B'1111111111', B'1', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2024-01-01 00:00:01'),
 (3, true, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0.0001, 1, '3.14159274', 0.1,
  '€', 'émoji😀', 'héllo wörld — 日本語 ✓ 😀🎉 👩‍👩‍👧', '𝄞 music', 'ü', '😀',
  '\x00000001', '\x', '\x00', '\xc3a9', '\x5c4e', '\x090a0d',
  '2000-02-29', '2024-02-29 12:34:56', '2024-02-29 12:34:56.123456',
  '2024-02-29 12:34:56.123+00', '-12:30:00.5', 2024, '["héllo", "😀", {"k": "vA"}]', 'ok',
  ARRAY['c d'], B'1000000001', B'1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1',
  '::ffff:192.168.0.1', '2024-01-01 00:00:02'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 00:00:03'),
 (5, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.5, NULL,
  '1.1754943508222875e-38', '2.2250738585072014e-308', 'a''b', 'q"', NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, '0001-01-01', NULL, '1970-01-01 00:00:00.000001',
  '1970-01-01 00:00:01.5+00', '-00:00:00.000001', 0, '"just a string"', NULL, ARRAY['a', 'b'],
  B'0000000101', NULL, NULL, NULL, NULL, '2024-01-01 00:00:04'),
 (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '1.401298464324817e-45', '5e-324', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, '12:34:56.789012', NULL, 'null', NULL, ARRAY['b'], NULL,
  NULL, NULL, NULL, NULL, '2024-01-01 00:00:05');
SQL
TYPE_COLS='id, b, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec1, decu, f, d, ch, vc, tt, tx,
    mt, lt, bn, vb, tb, bl, mb, lb, dt, dtm, dtm6, ts, tm, y, j, e, st, bt, b1, u, ip4, ip6,
    updated_at'

P_TYPES=$(pipe types)
my_table "$P_TYPES" types
sl sync types
assert_eq "types: first sync exits 0" "0 success" "$RC $(last_run)"
assert_eq "types: every value as expected (first load, shadow path)" "6 6 0 0" \
    "$(cmp_exp types types_exp "$TYPE_COLS")"
TYPES="integer,boolean,smallint,smallint,smallint,integer,integer,integer,integer,bigint"
TYPES="$TYPES,bigint,numeric(20,0),numeric(12,4),numeric(20,0),real,double precision"
TYPES="$TYPES,character varying(3),character varying(10),text,text,text,text"
TYPES="$TYPES,bytea,bytea,bytea,bytea,bytea,bytea,date,timestamp(0) without time zone"
TYPES="$TYPES,timestamp(6) without time zone,timestamp(3) with time zone,interval,smallint"
TYPES="$TYPES,jsonb,text,text[],bit varying(10),bit varying(1),uuid,inet,inet"
TYPES="$TYPES,timestamp(6) without time zone,bigint,timestamp with time zone"
assert_eq "types: destination column types (the README's table)" "$TYPES" \
    "$(dst "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = 'analytics.types'::regclass AND attnum > 0
            AND NOT attisdropped")"
assert_eq "types: primary key as the source's" "PRIMARY KEY (id)" \
    "$(dst "SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'analytics.types'::regclass AND contype = 'p'")"
assert_eq "types: unsigned limits, 0 and the maximum of each" \
    "0|0|0|0|0|255|65535|16777215|4294967295|18446744073709551615" \
    "$(dst "SELECT concat_ws('|', (SELECT concat_ws('|', tiu, siu, miu, iu, biu)
                                   FROM analytics.types WHERE id = 1),
                                  (SELECT concat_ws('|', tiu, siu, miu, iu, biu)
                                   FROM analytics.types WHERE id = 2))")"
assert_eq "types: 4-byte UTF-8 in varchar and text" "émoji😀|😀|𝄞 music" \
    "$(dst "SELECT concat_ws('|', vc, lt, tx) FROM analytics.types WHERE id = 3")"
assert_eq "types: FLOAT exact (not MariaDB's 6-digit text), DOUBLE exact" \
    "3.1415927|0.1|1e-45|5e-324" \
    "$(dst "SET extra_float_digits = 1;
            SELECT concat_ws('|', (SELECT f FROM analytics.types WHERE id = 3),
                                  (SELECT d FROM analytics.types WHERE id = 3),
                                  (SELECT f FROM analytics.types WHERE id = 6),
                                  (SELECT d FROM analytics.types WHERE id = 6))")"
assert_eq "types: TIMESTAMP read in UTC, with microseconds of DATETIME(6)" \
    "2024-02-29 12:34:56.123+00|2024-02-29 12:34:56.123456" \
    "$(dst "$SETTINGS SELECT ts || '|' || dtm6 FROM analytics.types WHERE id = 3")"
assert_eq "types: checkpoint at microsecond precision, as MariaDB prints it" \
    "updated_at|2024-01-01 00:00:05.000000" \
    "$(dst "SELECT watermark_column || '|' || watermark FROM staging._sluice_state
            WHERE source_table = 'types'")"

# the comparison can fail: one changed value is seen
dst "UPDATE analytics.types SET f = 3.1415925 WHERE id = 3" > /dev/null
assert_eq "types: a changed float is seen by the comparison" "6 6 1 1" \
    "$(cmp_exp types types_exp "$TYPE_COLS")"

# the merge path: every row touched, synced incrementally
my "UPDATE types SET updated_at = '2024-05-01 00:00:00' + INTERVAL id MICROSECOND" > /dev/null
dst "UPDATE testx.types_exp SET updated_at = '2024-05-01 00:00:00'::timestamp
                                            + id * interval '1 microsecond'" > /dev/null
sl sync types
assert_eq "types: incremental sync" "0 success" "$RC $(last_run)"
assert_eq "types: every value as expected (merge path)" "6 6 0 0" \
    "$(cmp_exp types types_exp "$TYPE_COLS")"
assert_eq "types: all rows came through the merge" 6 \
    "$(dst "SELECT count(*) FROM analytics.types WHERE _sluice_run_id = $(last_run_id)")"
sl sync types --full-refresh
assert_eq "types: full refresh" "0 success" "$RC $(last_run)"
assert_eq "types: every value as expected (full refresh)" "6 6 0 0" \
    "$(cmp_exp types types_exp "$TYPE_COLS")"
assert_eq "types: no drift reported over three runs (type names as format_type prints them)" 0 \
    "$(ctl "SELECT count(*) FROM sluice_events.events WHERE type = 'schema.drifted'")"
assert_eq "types: checkpoint" "2024-05-01 00:00:00.000006" "$(ckpt types)"

# ==== raw mode: values typed in JSON =================================================

P_RAW=$(pipe rawtypes)
ctl "INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table, sync_mode,
        load_mode, target_table) VALUES ('$P_RAW', '', 'types', 'full_refresh', 'raw',
        'types_raw')" > /dev/null
sl sync rawtypes
assert_eq "raw: sync" "0 success" "$RC $(last_run)"
assert_eq "raw: booleans, numbers and JSON typed in the raw table" \
    'true|18446744073709551615|{"a": [1, 2.50, "x"], "b": 1}|ten chars!' \
    "$(dst "SELECT concat_ws('|', _data->'b', _data->'biu', _data->'j', _data->>'vc')
            FROM staging.maria_shop_types_raw WHERE _data->>'id' = '2'")"

# ==== zero dates =========================================================================

my_sql <<'SQL'
SET SESSION sql_mode = '';
CREATE TABLE zeros (id int PRIMARY KEY, d date, dt datetime, ts timestamp NULL,
    dnn date NOT NULL, updated_at datetime(6) NOT NULL) ENGINE=InnoDB;
INSERT INTO zeros VALUES
    (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '2024-01-01',
     '2024-01-01 00:00:01'),
    (2, '2024-00-15', '2024-05-00 10:00:00', '2024-01-01 10:00:00', '2024-01-02',
     '2024-01-01 00:00:02'),
    (3, '2024-02-29', '2024-02-29 23:59:59', NULL, '0000-00-00', '2024-01-01 00:00:03');
SQL
P_ZERO=$(pipe zeros)
my_table "$P_ZERO" zeros
sl sync zeros
assert_eq "zero dates: the run succeeds" "0 success" "$RC $(last_run)"
assert_eq "zero dates: loaded as NULL, the rest kept" \
    "1||||2024-01-01,2|||2024-01-01 10:00:00+00|2024-01-02,3|2024-02-29|2024-02-29 23:59:59||" \
    "$(dst "$SETTINGS SELECT string_agg(concat_ws('|', id, coalesce(d::text, ''),
            coalesce(dt::text, ''), coalesce(ts::text, ''), coalesce(dnn::text, '')), ','
            ORDER BY id) FROM analytics.zeros")"
W=$(warnings)
assert_contains "zero dates: a note names the column, the value and the row's key" "$W" \
    "column \"d\": zero date '0000-00-00' loaded as NULL (key id=1)"
assert_contains "zero dates: a zero month is noted too" "$W" \
    "column \"d\": zero date '2024-00-15' loaded as NULL (key id=2)"
assert_contains "zero dates: and a NOT NULL column's" "$W" \
    "column \"dnn\": zero date '0000-00-00' loaded as NULL (key id=3)"
assert_eq "zero dates: one note per row that had one" 3 \
    "$(printf '%s\n' "$W" | grep -c 'zero date')"
assert_eq "zero dates: the NOT NULL quality check sees the NULL" "failed|{dnn}" \
    "$(ctl "SELECT status || '|' || columns::text FROM sluice_runs.quality_log
            WHERE run_id = $(last_run_id) AND check_type = 'not_null'")"
# NOT NULL at the destination: that row is a dead letter, the others load
dst "UPDATE analytics.zeros SET dnn = '2000-01-01' WHERE dnn IS NULL;
     ALTER TABLE analytics.zeros ALTER COLUMN dnn SET NOT NULL" > /dev/null
my "SET SESSION sql_mode = '';
    INSERT INTO zeros VALUES (4, '0000-00-00', NULL, NULL, '0000-00-00', '2024-01-01 00:00:04'),
                             (5, '0000-00-00', NULL, NULL, '2024-01-05', '2024-01-01 00:00:05')"
sl sync zeros
assert_eq "zero dates: with NOT NULL at the destination the run still succeeds" \
    "0 success" "$RC $(last_run)"
# (row 3, the checkpoint's, is read again at the boundary: it fails the same way)
assert_eq "zero dates: those rows are dead letters, with why" "3|true,4|true" \
    "$(dst "SELECT string_agg(row_data->>'id' || '|'
                || (error_text LIKE 'null value in column \"dnn\"%'), ',' ORDER BY id)
            FROM staging._dead_letters WHERE table_name = 'zeros'")"
assert_eq "zero dates: the dead letter keeps the row, the zero date as NULL" \
    '{"d": null, "dt": null, "id": "4", "ts": null, "dnn": null,'\
' "updated_at": "2024-01-01 00:00:04.000000"}' \
    "$(dst "SELECT row_data FROM staging._dead_letters WHERE row_data->>'id' = '4'")"
assert_eq "zero dates: the other rows loaded" "1,2,3,5" \
    "$(dst "SELECT string_agg(id::text, ',' ORDER BY id) FROM analytics.zeros")"

# ==== chunk boundaries, microseconds, an old row updated =====================================

my "CREATE TABLE bound (id int PRIMARY KEY, v varchar(20), updated_at datetime(6) NULL);
    INSERT INTO bound SELECT seq, CONCAT('v', seq),
        '2024-01-01 00:00:00.000001' + INTERVAL (seq DIV 10) HOUR FROM seq_1_to_95;
    INSERT INTO bound VALUES (200, 'a microsecond before', '2024-01-01 09:00:00');"
BOUND_MY="SELECT CONCAT_WS('|', id, v, IFNULL(DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f'),
          'null')) FROM bound"
BOUND_PG="SELECT concat_ws('|', id, v, coalesce(to_char(updated_at,
          'YYYY-MM-DD HH24:MI:SS.US'), 'null')) FROM analytics.bound"
P_BOUND=$(pipe bound)
my_table "$P_BOUND" bound
sl sync bound
assert_eq "bound: first sync" "0 success" "$RC $(last_run)"
assert_eq "bound: checkpoint with its microsecond" "2024-01-01 09:00:00.000001" "$(ckpt bound)"
# 20 new rows sharing watermark values with each other and with the
# checkpoint, an update to an old row, in chunks of 7
my "INSERT INTO bound SELECT seq, CONCAT('new', seq),
        '2024-01-01 00:00:00.000001' + INTERVAL (seq DIV 10) HOUR FROM seq_96_to_115;
    UPDATE bound SET v = 'updated', updated_at = '2024-01-01 11:00:00.000001' WHERE id = 3;"
queue "$P_BOUND" '{"chunk_rows": 7}'
assert_eq "bound: chunked run" "0 success" "$RC $(last_run)"
assert_eq "bound: rows sharing watermarks across chunk boundaries: none lost, none twice" \
    "116 116 0 0" "$(cmp_rows "$BOUND_MY" "$BOUND_PG")"
# the checkpoint's hour (6) again, 20 new, the update; not row 200, one
# microsecond below the checkpoint (a checkpoint cut to seconds would read it)
assert_eq "bound: 27 rows read: the checkpoint came back at full precision" "27|27" \
    "$(run_stat "rows_extracted || '|' || rows_loaded")"
assert_eq "bound: the update to an old row arrived" updated \
    "$(dst "SELECT v FROM analytics.bound WHERE id = 3")"
assert_eq "bound: watermark before/after in the stats" \
    "2024-01-01 09:00:00.000001|2024-01-01 11:00:00.000001" \
    "$(run_stat "watermark_before || '|' || watermark_after")"
sl sync bound --backfill-from '2024-01-01T05:00:00Z'
assert_eq "bound: backfill from a typed value" "0 success|$(my "SELECT COUNT(*) FROM bound
    WHERE updated_at >= '2024-01-01 05:00:00'")" "$RC $(last_status)|$(run_stat rows_extracted)"
sl sync bound --backfill-from 'yesterday'
assert_contains "bound: a backfill value that is no date fails the table, saying so" \
    "$(last_run)" 'the watermark value "yesterday" is not a date or time for column "updated_at"'

# ==== NULL and zero-date watermarks ==========================================================

my_sql <<'SQL'
SET SESSION sql_mode = '';
CREATE TABLE nullwm (id int PRIMARY KEY, v varchar(10), updated_at datetime NULL);
INSERT INTO nullwm VALUES (1, 'a', NULL), (2, 'b', '2024-01-01'), (3, 'c', NULL),
    (6, 'z', '0000-00-00 00:00:00');
SQL
NULL_MY="SELECT CONCAT_WS('|', id, v, IF(updated_at < '1000-01-01' OR updated_at IS NULL, 'null',
         DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s'))) FROM nullwm"
NULL_PG="SELECT concat_ws('|', id, v, coalesce(updated_at::text, 'null')) FROM analytics.nullwm"
P_NULL=$(pipe nullwm)
my_table "$P_NULL" nullwm
sl sync nullwm
assert_eq "nullwm: first sync" "4 4 0 0" "$(cmp_rows "$NULL_MY" "$NULL_PG")"
my "SET SESSION sql_mode = '';
    INSERT INTO nullwm VALUES (4, 'd', NULL), (5, 'e', '2024-01-02');
    UPDATE nullwm SET v = 'c2' WHERE id = 3; UPDATE nullwm SET v = 'z2' WHERE id = 6;"
sl sync nullwm
assert_eq "nullwm: new and changed NULL / zero-date watermark rows arrive" "6 6 0 0" \
    "$(cmp_rows "$NULL_MY" "$NULL_PG")"
# the 3 NULL rows, the zero-date row, the checkpoint's row again, the new one
assert_eq "nullwm: NULL and zero-date rows are read again each run" 6 "$(run_stat rows_extracted)"
assert_eq "nullwm: the checkpoint is a real date" "2024-01-02 00:00:00" "$(ckpt nullwm)"

# ==== lookback (TIMESTAMP), integer and date watermarks, backticks ==============================

my_sql <<'SQL'
SET time_zone = '+00:00';
CREATE TABLE late (id int PRIMARY KEY, updated_at timestamp(6) NULL);
INSERT INTO late VALUES (1, '2024-03-01 12:00:00'), (2, '2024-03-01 13:00:00.5');
CREATE TABLE `we``ird tbl` (`sel ect` int PRIMARY KEY, `a``b` varchar(5),
    seq bigint unsigned NOT NULL);
INSERT INTO `we``ird tbl` VALUES (1, 'x', 10), (2, 'y', 18446744073709551600);
CREATE TABLE dated (id int PRIMARY KEY, created_at date, v varchar(30));
INSERT INTO dated VALUES (1, '2024-01-01', 'a'), (2, '2024-01-05', 'b');
SQL
P_LATE=$(pipe late)
my_table "$P_LATE" late incremental "" 3600
sl sync late
assert_eq "late: checkpoint of a TIMESTAMP, in UTC" "2024-03-01 13:00:00.500000+00" "$(ckpt late)"
my "SET time_zone = '+00:00';
    INSERT INTO late VALUES (3, '2024-03-01 12:30:00'), (4, '2024-03-01 11:30:00.5');"
sl sync late
assert_eq "late: sync with a lookback" "0 success" "$RC $(last_run)"
assert_eq "late: the late row inside the lookback arrived, the older one did not" "1,2,3" \
    "$(dst "SELECT string_agg(id::text, ',' ORDER BY id) FROM analytics.late")"
assert_eq "late: the checkpoint did not move back" "2024-03-01 13:00:00.500000+00" "$(ckpt late)"

P_Q=$(pipe quoting)
my_table "$P_Q" 'we`ird tbl' incremental seq 3600 "$H_MY_DB"
my_table "$P_Q" dated incremental "" 86400
sl sync quoting
assert_eq "quoting: sync" "0 success" "$RC $(last_run)"
assert_eq "quoting: the table and its columns, as named" "1|x|10,2|y|18446744073709551600" \
    "$(dst "SELECT string_agg(concat_ws('|', \"sel ect\", \"a\`b\", seq), ','
            ORDER BY \"sel ect\") FROM analytics.\"we\`ird tbl\"")"
my 'INSERT INTO `we``ird tbl` VALUES (3, "z", 15), (4, "w", 18446744073709551615);
    INSERT INTO dated VALUES (3, "2024-01-04", "late but within a day"),
                             (4, "2024-01-02", "too late");'
sl sync quoting
assert_eq "integer watermark (bigint unsigned): no lookback, only seq >= the checkpoint" \
    "1,2,4" "$(dst "SELECT string_agg(\"sel ect\"::text, ',' ORDER BY 1)
                    FROM analytics.\"we\`ird tbl\"")"
assert_eq "date watermark: a one-day lookback brings the row of the day before" "1,2,3" \
    "$(dst "SELECT string_agg(id::text, ',' ORDER BY id) FROM analytics.dated")"
assert_eq "quoting: checkpoints" \
    "dated:created_at=2024-01-05,we\`ird tbl:seq=18446744073709551615" \
    "$(dst "SELECT string_agg(source_table || ':' || watermark_column || '=' || watermark, ','
            ORDER BY source_table) FROM staging._sluice_state
            WHERE source_table IN ('dated', 'we\`ird tbl')")"

# ==== drift ====================================================================================

my "CREATE TABLE drift (id int PRIMARY KEY, a varchar(5), updated_at datetime NOT NULL);
    INSERT INTO drift VALUES (1, 'x', '2024-01-01');"
P_DRIFT=$(pipe drift)
my_table "$P_DRIFT" drift
sl sync drift
my "ALTER TABLE drift ADD COLUMN added decimal(5,1) DEFAULT 1.5;
    INSERT INTO drift VALUES (2, 'y', '2024-01-02', 2.5);"
sl sync drift
assert_eq "drift: the run succeeds" "0 success" "$RC $(last_run)"
assert_eq "drift: the new column was added with the mapped type" "numeric(5,1)" \
    "$(dst "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'analytics.drift'::regclass AND attname = 'added'")"
assert_eq "drift: rows carry it" "1|x|1.5,2|y|2.5" \
    "$(dst "SELECT string_agg(concat_ws('|', id, a, added), ',' ORDER BY id)
            FROM analytics.drift")"
assert_contains "drift: the event names the added column" \
    "$(ctl "SELECT data FROM sluice_events.events WHERE type = 'schema.drifted'")" \
    '"added": [{"type": "numeric(5,1)", "column": "added"}]'
sl sync drift
assert_eq "drift: reported once" 1 \
    "$(ctl "SELECT count(*) FROM sluice_events.events WHERE type = 'schema.drifted'")"

# ==== failures stay in their table ============================================================

P_FAIL=$(pipe failing)
my_table "$P_FAIL" does_not_exist
my_table "$P_FAIL" drift
sl sync failing
assert_eq "failures: a missing table fails the run, the other table syncs" \
    "1|does_not_exist=failed,drift=success" \
    "$RC|$(ctl "SELECT string_agg(source_table || '=' || status, ',' ORDER BY source_table)
                FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)")"
assert_contains "failures: ... and names it" "$(last_run)" \
    "source table $H_MY_DB.does_not_exist does not exist"

# ==== kill -9 in the middle of chunked syncs =================================================

ROWS=200000
my "CREATE TABLE crash (id bigint PRIMARY KEY, v varchar(10), pad varchar(100),
        updated_at datetime(6) NOT NULL);
    INSERT INTO crash VALUES (0, 'seed', '', '2023-12-31');"
P_CRASH=$(pipe crash)
my_table "$P_CRASH" crash
sl sync crash
assert_eq "crash: first sync of one row" "0 success" "$RC $(last_run)"
my "INSERT INTO crash SELECT seq, 'v1', REPEAT(MD5(seq), 3),
        '2024-01-01' + INTERVAL (seq DIV 50) SECOND + INTERVAL 7 MICROSECOND
    FROM seq_1_to_$ROWS"
CRASH_MY="SELECT CONCAT_WS('|', id, v, pad, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f'))
          FROM crash"
CRASH_PG="SELECT concat_ws('|', id, v, pad, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US'))
          FROM analytics.crash"
bg() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_TICK_SECONDS=1 setsid "$SLUICE" "$@" > "$H_LOG/bg.log" 2>&1 < /dev/null &
    BG_PID=$!
}
partial=0
for delay in 0.5 1 2; do
    ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
         VALUES ('$P_CRASH', 'manual', '{\"chunk_rows\": 2000}')" > /dev/null
    bg tick --once
    sleep "$delay"
    kill -KILL "$BG_PID" 2> /dev/null || true
    wait "$BG_PID" 2> /dev/null || true
    ctl "UPDATE sluice_runs.runs SET status = 'failed', finished_at = now(), error = 'killed'
         WHERE status = 'running'" > /dev/null
    c=$(ckpt crash)
    n=$(dst "SELECT count(*) FROM analytics.crash")
    if [ "$n" -gt 1 ] && [ "$n" -lt $((ROWS + 1)) ]; then partial=$((partial + 1)); fi
    read -r s_below d_below missing _ <<< "$(cmp_rows "$CRASH_MY WHERE updated_at < '$c'" \
        "$CRASH_PG WHERE updated_at < '$c'")"
    assert_eq "crash after ${delay}s: all $s_below rows below the checkpoint ($c) are there" \
        "$s_below 0" "$d_below $missing"
    read -r _ d_all _ extra <<< "$(cmp_rows "$CRASH_MY" "$CRASH_PG")"
    assert_eq "crash after ${delay}s: $d_all rows, none that the source lacks" 0 "$extra"
done
assert_true "crash: at least one kill hit a run midway" test "$partial" -ge 1
queue "$P_CRASH" '{"chunk_rows": 2000}'
assert_eq "crash: a last run succeeds" "0 success" "$RC $(last_run)"
assert_eq "crash: the destination equals the source, no duplicates" \
    "$((ROWS + 1)) $((ROWS + 1)) 0 0" "$(cmp_rows "$CRASH_MY" "$CRASH_PG")"
assert_eq "crash: the checkpoint is the source's max watermark" \
    "$(my "SELECT MAX(updated_at) FROM crash")" "$(ckpt crash)"
# a full refresh killed midway leaves the old table; rerun, equal
my "UPDATE crash SET v = 'v2'"
bg sync crash --full-refresh
sleep 1
kill -KILL "$BG_PID" 2> /dev/null || true
wait "$BG_PID" 2> /dev/null || true
ctl "UPDATE sluice_runs.runs SET status = 'failed', finished_at = now(), error = 'killed'
     WHERE status = 'running'" > /dev/null
sl sync crash --full-refresh
assert_eq "crash: full refresh after a killed one" "0 success" "$RC $(last_run)"
assert_eq "crash: equal after the full refresh" "$((ROWS + 1)) $((ROWS + 1)) 0 0" \
    "$(cmp_rows "$CRASH_MY" "$CRASH_PG")"

# ==== cancel: the extraction is abandoned at a chunk boundary ================================

# every row changes, its watermark moves past the checkpoint
my "UPDATE crash SET v = 'v3', updated_at = '2024-02-01' + INTERVAL (id DIV 50) SECOND"
some_v3() { [ "$(dst "SELECT count(*) FROM analytics.crash WHERE v = 'v3'")" -gt 0 ]; }
ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
     VALUES ('$P_CRASH', 'manual', '{\"chunk_rows\": 2000}')" > /dev/null
bg tick --once
h_wait_for 30 some_v3 || true
ctl "UPDATE sluice_runs.runs SET cancel_requested = true WHERE status = 'running'" > /dev/null
t0=$(h_now_ms)
h_wait_for 30 _h_dead "$BG_PID" || true
wait "$BG_PID" 2> /dev/null || true
took=$(($(h_now_ms) - t0))
assert_eq "cancel: the run is cancelled" cancelled "$(last_status)"
assert_true "cancel: it stopped soon, not after reading the rest (${took} ms)" \
    test "$took" -lt 10000
done_rows=$(dst "SELECT count(*) FROM analytics.crash WHERE v = 'v3'")
assert_true "cancel: it stopped partway ($done_rows rows of $ROWS)" test "$done_rows" -lt "$ROWS"
assert_eq "cancel: whole chunks of 2000 were kept" 0 $((done_rows % 2000))
sl sync crash
assert_eq "cancel: the next run finishes the job" "0 success" "$RC $(last_run)"
assert_eq "cancel: equal afterwards" "$((ROWS + 1)) $((ROWS + 1)) 0 0" \
    "$(cmp_rows "$CRASH_MY" "$CRASH_PG")"

h_done
