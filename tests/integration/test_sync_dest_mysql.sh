#!/usr/bin/env bash
# test_sync_dest_mysql.sh - PostgreSQL -> MariaDB through the destination
# interface (app/sync/dest.h, my_dest.c): typed tables, every mapped type
# compared column by column (a checksum of each column's text on both
# sides, NULLs included), incremental merges, rows sharing watermarks across
# chunk boundaries, the checkpoint in _sluice_state, and a full refresh
# swapped in with RENAME TABLE.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

h_mariadb_start
MY=(mariadb --no-defaults -uroot --socket="$H_MY_SOCKET" --default-character-set=utf8mb4 -N -B)
my() { "${MY[@]}" -e "SET SESSION group_concat_max_len = 1000000000; $1" "$H_MY_DB"; }

# the MariaDB destination, its password sealed like the PostgreSQL one's
my "ALTER USER '$H_MY_USER'@'%' IDENTIFIED BY 'not-really-needed';
    ALTER USER '$H_MY_USER'@'127.0.0.1' IDENTIFIED BY 'not-really-needed';"
MY_DEST_ID=$(ctl "INSERT INTO sluice.destinations (name, type, host, port, database, username,
                      password_enc, ssl_mode)
    SELECT 'Maria DW', 'mysql', '127.0.0.1', $H_MY_PORT, '$H_MY_DB', '$H_MY_USER',
           password_enc, 'disable' FROM sluice.destinations WHERE id = '$DEST_ID'
    RETURNING id")
mpipe() {
    ctl "INSERT INTO sluice.pipelines (name, source_id, destination_id)
         VALUES ('$1', '$SOURCE_ID', '$MY_DEST_ID') RETURNING id"
}

# checksums COLS_PG COLS_MY TABLE: "count md5 md5 ..." on both sides; each
# column's values as text joined in key order, NULL as <null>.
sums_pg() {
    local t=$1 q="SELECT count(*)" c
    shift
    for c in "$@"; do
        q="$q || ' ' || md5(coalesce(string_agg(coalesce(($c)::text, '<null>'), ',' ORDER BY id), ''))"
    done
    src "$SETTINGS $q FROM public.$t" | tail -1
}
sums_my() {
    local t=$1 q="SELECT concat_ws(' ', count(*)" c
    shift
    for c in "$@"; do
        q="$q, md5(coalesce(group_concat(coalesce($c, '<null>') ORDER BY id SEPARATOR ','), ''))"
    done
    my "$q) FROM \`$t\`"
}

src_sql <<'SQL'
CREATE TABLE orders (
    id integer PRIMARY KEY, i2 smallint, i8 bigint, amount numeric(12,2), nfree numeric,
    r double precision, note text, vc varchar(10), b bytea, bo boolean, d date,
    ts timestamp, tstz timestamptz, js jsonb, u uuid, ai integer[],
    updated_at timestamptz NOT NULL);
INSERT INTO orders VALUES
 (1, -32768, -9223372036854775808, -1234567890.12, 1.5, 0.1, E'tab\there\nnl \\ back', 'ten chars!',
  '\x00ff10', true, '2000-02-29', '1999-12-31 23:59:59.999999', '2024-02-29 12:34:56.123456+05',
  '{"a": [1, 2.5, "x"]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,-3}',
  '2024-01-01 00:00:00+00'),
 (2, 32767, 9223372036854775807, 0.01, 123456789.000000001, -2.5e-300, 'héllo 日本語 😀🎉', 'émoji😀',
  '\x', false, '0001-01-01', '2024-01-01 00:00:00', '1970-01-01 00:00:00.000001+00',
  '"s''q"', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{}', '2024-01-01 00:00:00+00'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '2024-01-02 00:00:00+00');
INSERT INTO orders (id, note, amount, updated_at)
    SELECT g, 'row ' || g, g * 1.25, '2024-01-03+00'::timestamptz + (g / 10) * interval '1 hour'
    FROM generate_series(4, 200) g;
SQL
PG_COLS=(i2 i8 amount nfree r note vc "encode(b, 'hex')" "bo::int" d
         "to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')" "to_char(tstz, 'YYYY-MM-DD HH24:MI:SS.US')"
         "js::text" u "ai::text" "to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US')")
MY_COLS=(i2 i8 amount "cast(nfree AS char)" r note vc "lower(hex(b))" bo d ts tstz js u ai
         updated_at)
P=$(mpipe orders)
add_table "$P" orders

MY_TYPES="int(11),smallint(6),bigint(20),decimal(12,2),decimal(65,30),double,longtext"
MY_TYPES="$MY_TYPES,varchar(10),longblob,tinyint(1),date,datetime(6),datetime(6),longtext"
MY_TYPES="$MY_TYPES,char(36),longtext,datetime(6),bigint(20),datetime(6)"
sl sync orders
assert_eq "mysql: first sync exits 0" "0 success" "$RC $(last_run)"
assert_eq "mysql: destination column types" \
    "$MY_TYPES" \
    "$(my "SELECT group_concat(column_type ORDER BY ordinal_position) FROM
           information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'orders'")"
assert_eq "mysql: primary key" "id" \
    "$(my "SELECT group_concat(column_name) FROM information_schema.key_column_usage
           WHERE table_schema = DATABASE() AND table_name = 'orders'
             AND constraint_name = 'PRIMARY'")"
assert_eq "mysql: json column is json (checked)" 1 \
    "$(my "SELECT json_valid(js) FROM orders WHERE id = 1")"
# numeric without precision: decimal(65,30) pads; compare its value as PostgreSQL would
PG_COLS[3]="nfree::numeric(65,30)"
assert_eq "mysql: counts and per-column checksums equal" "$(sums_pg orders "${PG_COLS[@]}")" \
    "$(sums_my orders "${MY_COLS[@]}")"
assert_eq "mysql: 4-byte UTF-8 intact" "héllo 日本語 😀🎉|émoji😀" \
    "$(my "SELECT concat(note, '|', vc) FROM orders WHERE id = 2")"
assert_eq "mysql: timestamptz stored in UTC" "2024-02-29 07:34:56.123456" \
    "$(my "SELECT tstz FROM orders WHERE id = 1")"
assert_eq "mysql: checkpoint in _sluice_state" "updated_at|2024-01-03 20:00:00+00|200" \
    "$(my "SELECT concat(watermark_column, '|', watermark, '|', rows_total)
           FROM _sluice_state WHERE source_table = 'orders'")"

# the comparison can fail
my "UPDATE orders SET note = 'changed' WHERE id = 7"
assert_true "mysql: a changed value is seen by the checksums" \
    test "$(sums_pg orders "${PG_COLS[@]}")" != "$(sums_my orders "${MY_COLS[@]}")"

# incremental: an update, new rows sharing watermark values with the
# checkpoint and with each other, in chunks of 7 rows
src "UPDATE orders SET note = 'updated', amount = 9.99, updated_at = '2024-01-03 20:00+00'
     WHERE id IN (1, 7);
     INSERT INTO orders (id, note, updated_at)
     SELECT g, 'new ' || g, '2024-01-03+00'::timestamptz + (g / 10) * interval '1 hour'
     FROM generate_series(201, 230) g;" > /dev/null
queue "$P" '{"chunk_rows": 7}'
assert_eq "mysql: chunked incremental run" "0 success" "$RC $(last_run)"
assert_eq "mysql: incremental: checksums equal (ties across chunks, updates merged)" \
    "$(sums_pg orders "${PG_COLS[@]}")" "$(sums_my orders "${MY_COLS[@]}")"
assert_eq "mysql: rows read again from the checkpoint's watermark, merged by key" "33|33" \
    "$(run_stat "rows_extracted || '|' || rows_loaded")"
assert_eq "mysql: checkpoint advanced" "2024-01-03 23:00:00+00" \
    "$(my "SELECT watermark FROM _sluice_state WHERE source_table = 'orders'")"
assert_eq "mysql: checkpoint mirrored in the control database" "2024-01-03 23:00:00+00" \
    "$(ctl "SELECT watermark FROM sluice_state.watermarks WHERE source_table = 'orders'")"
# a run with nothing new reads only the checkpoint's value again
sl sync orders
assert_eq "mysql: nothing new" "0 success 1" "$RC $(last_run) $(run_stat rows_extracted)"

# full refresh: rows deleted at the source disappear; the table is swapped
src "DELETE FROM orders WHERE id > 100" > /dev/null
my "CREATE OR REPLACE VIEW busy AS SELECT 1 AS x"
sl sync orders --full-refresh
assert_eq "mysql: full refresh" "0 success" "$RC $(last_run)"
assert_eq "mysql: full refresh: checksums equal" "$(sums_pg orders "${PG_COLS[@]}")" \
    "$(sums_my orders "${MY_COLS[@]}")"
assert_eq "mysql: no shadow or old table left" "busy orders _sluice_state" \
    "$(my "SELECT group_concat(table_name ORDER BY table_name SEPARATOR ' ')
           FROM information_schema.tables WHERE table_schema = DATABASE()")"
assert_eq "mysql: full refresh checkpoint reset to the max watermark" \
    "2024-01-03 20:00:00+00|100" \
    "$(my "SELECT concat(watermark, '|', rows_total) FROM _sluice_state
           WHERE source_table = 'orders'")"

# drift: a column added at the source is added at the destination
src "ALTER TABLE orders ADD COLUMN extra text;
     UPDATE orders SET extra = 'x' || id, updated_at = '2024-02-01+00' WHERE id <= 5" > /dev/null
sl sync orders
assert_eq "mysql: drift run" "0 success" "$RC $(last_run)"
assert_eq "mysql: added column arrives" "5|x1" \
    "$(my "SELECT concat(count(extra), '|', min(extra)) FROM orders")"
assert_contains "mysql: drift logged" "$(run_log_text)" 'column "extra" was added'

# a table without a watermark: full refresh every time
src "CREATE TABLE plain (id integer PRIMARY KEY, v text);
     INSERT INTO plain SELECT g, 'v' || g FROM generate_series(1, 50) g;" > /dev/null
P2=$(mpipe plain)
add_table "$P2" plain
sl sync plain
assert_eq "mysql: plain table" "0 success 50" "$RC $(last_run) $(my "SELECT count(*) FROM plain")"
src "DELETE FROM plain WHERE id > 10" > /dev/null
sl sync plain
assert_eq "mysql: plain table refreshed" "0 success 10" \
    "$RC $(last_run) $(my "SELECT count(*) FROM plain")"

h_done
