#!/usr/bin/env bash
# test_sync_dest_clickhouse.sh - PostgreSQL -> ClickHouse through the
# destination interface (app/sync/dest.h, ch_dest.c) against Debian's
# clickhouse-server (h_clickhouse_start): typed ReplacingMergeTree tables,
# every column compared (each column's text, in key order, as COPY prints
# it on one side and TabSeparated on the other) after OPTIMIZE ... FINAL,
# incremental updates converging, the checkpoint in the control database,
# a crash between an acknowledged insert and the checkpoint (the rows go
# again; FINAL shows no repeats), and a full refresh swapped in.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

# the password synctest.sh sealed for the destination
H_CH_PASSWORD=not-really-needed
h_clickhouse_start
CH_VERSION=$(h_ch "SELECT version()")
h_log "ClickHouse $CH_VERSION"
CH_DEST_ID=$(ctl "INSERT INTO sluice.destinations (name, type, host, port, database, username,
                      password_enc, ssl_mode)
    SELECT 'CH', 'clickhouse', '127.0.0.1', $H_CH_PORT, 'default', 'default',
           password_enc, 'disable' FROM sluice.destinations WHERE id = '$DEST_ID'
    RETURNING id")
cpipe() {
    ctl "INSERT INTO sluice.pipelines (name, source_id, destination_id)
         VALUES ('$1', '$SOURCE_ID', '$CH_DEST_ID') RETURNING id"
}

# per-column checksums: "count md5 md5 ..." of each column's text in key order
colsums() {
    local file=$1 n i out
    n=$(head -n 1 "$file" | awk -F '\t' '{print NF}')
    out="$(wc -l < "$file")"
    for ((i = 1; i <= n; i++)); do
        out="$out $(cut -f "$i" "$file" | md5sum | cut -c1-8)"
    done
    echo "$out"
}
PG_SEL="id, i2, i8, amount, r, note, vc, b, bo::int, d, ts::text,
        (tstz AT TIME ZONE 'UTC')::text, js::text, u, ai::text, (updated_at AT TIME ZONE 'UTC')::text"
CH_SEL="id, i2, i8, amount, r, note, vc, b, bo, d, ts, tstz, js, u, ai, updated_at"
if [ "${CH_VERSION%%.*}" -ge 20 ]; then # DateTime64: print as PostgreSQL does
    CH_SEL="id, i2, i8, amount, r, note, vc, b, bo, d,
        replaceRegexpOne(toString(ts), '\\\\.?0+\$', ''), replaceRegexpOne(toString(tstz), '\\\\.?0+\$', ''),
        js, u, ai, replaceRegexpOne(toString(updated_at), '\\\\.?0+\$', '')"
fi
sums_pg() {
    "$H_PG_BIN/psql" -X -q -d "$SRC_URL" -c "$SETTINGS" \
        -c "COPY (SELECT $PG_SEL FROM public.$1 ORDER BY id) TO STDOUT" > "$H_TMP/pg.tsv"
    colsums "$H_TMP/pg.tsv"
}
sums_ch() {
    # TabSeparated escapes ' as \' where COPY does not
    h_ch "SELECT $CH_SEL FROM $1 FINAL ORDER BY id FORMAT TabSeparated" \
        | sed "s/\\\\'/'/g" > "$H_TMP/ch.tsv"
    colsums "$H_TMP/ch.tsv"
}

src_sql <<'SQL'
CREATE TABLE orders (
    id integer PRIMARY KEY, i2 smallint, i8 bigint, amount numeric(12,2),
    r double precision, note text, vc varchar(10), b bytea, bo boolean, d date,
    ts timestamp, tstz timestamptz, js jsonb, u uuid, ai integer[],
    updated_at timestamptz NOT NULL);
INSERT INTO orders VALUES
 (1, -32768, -9223372036854775808, -1234567890.12, 0.1, E'tab\there\nnl \\ back\\N', 'ten chars!',
  '\x00ff10', true, '2000-02-29', '1999-12-31 23:59:59.999999', '2024-02-29 12:34:56.123456+05',
  '{"a": [1, 2.5, "x"]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,-3}',
  '2024-01-01 00:00:00+00'),
 (2, 32767, 9223372036854775807, 0.01, -2.5e-300, 'héllo 日本語 😀🎉', 'émoji😀',
  '\x', false, '2105-12-31', '2024-01-01 00:00:00', '1970-01-02 00:00:00.000001+00',
  '"s''q"', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{}', '2024-01-01 00:00:00+00'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '2024-01-02 00:00:00+00');
INSERT INTO orders (id, note, amount, updated_at)
    SELECT g, 'row ' || g, g * 1.25, '2024-01-03+00'::timestamptz + (g / 10) * interval '1 hour'
    FROM generate_series(4, 200) g;
SQL
P=$(cpipe orders)
add_table "$P" orders

sl sync orders
assert_eq "clickhouse: first sync" "0 success" "$RC $(last_run)"
assert_contains "clickhouse: ReplacingMergeTree by the key, versioned by _sluice_synced_at" \
    "$(h_ch "SELECT engine_full FROM system.tables WHERE database = 'default' AND name = 'orders'")" \
    "ReplacingMergeTree(_sluice_synced_at) ORDER BY id"
TYPES="Int32 Nullable(Int16) Nullable(Int64) Nullable(Decimal(12, 2)) Nullable(Float64)"
TYPES="$TYPES Nullable(String) Nullable(String) Nullable(String) Nullable(UInt8) Nullable(Date)"
assert_contains "clickhouse: column types mapped" \
    "$(h_ch "SELECT arrayStringConcat(groupArray(type), ' ') FROM (SELECT type FROM system.columns
             WHERE database = 'default' AND table = 'orders')")" "$TYPES"
h_ch "OPTIMIZE TABLE orders FINAL" > /dev/null
assert_eq "clickhouse: counts and per-column checksums equal" "$(sums_pg orders)" \
    "$(sums_ch orders)"
assert_eq "clickhouse: 4-byte UTF-8 and escapes intact" \
    'héllo 日本語 😀🎉|tab	here
nl \ back\N' \
    "$(h_ch "SELECT concat(note, '|', (SELECT note FROM orders WHERE id = 1)) FROM orders
             WHERE id = 2 FORMAT TSVRaw")"
assert_eq "clickhouse: checkpoint in the control database" "2024-01-03 20:00:00+00|200" \
    "$(ctl "SELECT watermark || '|' || rows_total FROM sluice_state.watermarks
            WHERE source_table = 'orders'")"

# the comparison can fail
h_ch "ALTER TABLE orders UPDATE note = 'changed' WHERE id = 7" > /dev/null 2>&1 \
    || h_ch "INSERT INTO orders (id, note, _sluice_run_id, _sluice_synced_at)
             VALUES (7, 'changed', 0, now() + 3600)" > /dev/null
sleep 1
assert_true "clickhouse: a changed value is seen by the checksums" \
    test "$(sums_pg orders)" != "$(sums_ch orders)"

# incremental: updates (also to the row changed above) and new rows sharing
# watermark values, in chunks of 7 rows; FINAL converges
sleep 1 # a newer _sluice_synced_at than the edit above (second precision before 20.x)
src "UPDATE orders SET note = 'updated', amount = 9.99, updated_at = '2024-01-03 20:00+00'
     WHERE id IN (1, 7);
     INSERT INTO orders (id, note, updated_at)
     SELECT g, 'new ' || g, '2024-01-03+00'::timestamptz + (g / 10) * interval '1 hour'
     FROM generate_series(201, 230) g;" > /dev/null
sleep 1
queue "$P" '{"chunk_rows": 7}'
assert_eq "clickhouse: chunked incremental run" "0 success" "$RC $(last_run)"
assert_eq "clickhouse: 33 rows read (the checkpoint's value again)" "33|33" \
    "$(run_stat "rows_extracted || '|' || rows_loaded")"
assert_eq "clickhouse: incremental: FINAL equals the source" "$(sums_pg orders)" \
    "$(sums_ch orders)"
assert_eq "clickhouse: checkpoint advanced" "2024-01-03 23:00:00+00" \
    "$(ctl "SELECT watermark FROM sluice_state.watermarks WHERE source_table = 'orders'")"

# a crash after ClickHouse acknowledged inserts and before the checkpoint was
# written: the checkpoint is still the old one, so the rows go again
h_ch "OPTIMIZE TABLE orders FINAL" > /dev/null
src "UPDATE orders SET note = 'crash ' || id, updated_at = '2024-01-04+00' WHERE id <= 20" > /dev/null
sleep 1
sl sync orders
assert_eq "clickhouse: run before the crash" "0 success 21" "$RC $(last_run) $(run_stat rows_extracted)"
ctl "UPDATE sluice_state.watermarks SET watermark = '2024-01-03 23:00:00+00'
     WHERE source_table = 'orders'" > /dev/null
sleep 1
sl sync orders
assert_eq "clickhouse: the run after the crash re-sends the rows" "0 success 21" \
    "$RC $(last_run) $(run_stat rows_extracted)"
assert_eq "clickhouse: with FINAL no key appears twice" "230 230" \
    "$(h_ch "SELECT count(), uniqExact(id) FROM orders FINAL FORMAT TSV" | tr '\t' ' ')"
h_ch "OPTIMIZE TABLE orders FINAL" > /dev/null
assert_eq "clickhouse: after OPTIMIZE ... FINAL the repeats are merged away" "230" \
    "$(h_ch "SELECT count() FROM orders")"
assert_eq "clickhouse: after the crash: equal" "$(sums_pg orders)" "$(sums_ch orders)"

# full refresh: deleted rows disappear, the table is swapped
src "DELETE FROM orders WHERE id > 100" > /dev/null
sl sync orders --full-refresh
assert_eq "clickhouse: full refresh" "0 success" "$RC $(last_run)"
assert_eq "clickhouse: full refresh: equal" "$(sums_pg orders)" "$(sums_ch orders)"
assert_eq "clickhouse: no shadow or old table left" "orders" \
    "$(h_ch "SELECT arrayStringConcat(groupArray(name), ' ') FROM system.tables
             WHERE database = 'default'")"
assert_eq "clickhouse: full refresh checkpoint" "2024-01-04 00:00:00+00|100" \
    "$(ctl "SELECT watermark || '|' || rows_total FROM sluice_state.watermarks
            WHERE source_table = 'orders'")"

# drift: a new column is added (Nullable)
src "ALTER TABLE orders ADD COLUMN extra text;
     UPDATE orders SET extra = 'x' || id, updated_at = '2024-02-01+00' WHERE id <= 5" > /dev/null
sleep 1
sl sync orders
assert_eq "clickhouse: drift run" "0 success" "$RC $(last_run)"
assert_eq "clickhouse: added column arrives" "5 x1" \
    "$(h_ch "SELECT count(extra), min(extra) FROM orders FINAL FORMAT TSV" | tr '\t' ' ')"

# a table without a key or watermark: a full refresh every time, ORDER BY tuple()
src "CREATE TABLE plain (v text, n integer);
     INSERT INTO plain SELECT 'v' || g, g FROM generate_series(1, 50) g;" > /dev/null
P2=$(cpipe plain)
add_table "$P2" plain
sl sync plain
assert_eq "clickhouse: plain table" "0 success 50" \
    "$RC $(last_run) $(h_ch "SELECT count() FROM plain")"
src "DELETE FROM plain WHERE n > 10" > /dev/null
sl sync plain
assert_eq "clickhouse: plain table refreshed" "0 success 10 55" \
    "$RC $(last_run) $(h_ch "SELECT count(), sum(n) FROM plain FORMAT TSV" | tr '\t' ' ')"

h_done
