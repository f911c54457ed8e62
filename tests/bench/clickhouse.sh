#!/usr/bin/env bash
# clickhouse.sh - `make bench`, PostgreSQL -> ClickHouse: rows per second of
# `sluice sync --full-refresh` copying a 1,000,000-row table from a
# throwaway PostgreSQL into a throwaway clickhouse-server (Debian's,
# tests/lib/harness.sh h_clickhouse_start), every run checked (count() at
# the destination). Writes (or replaces) the "PostgreSQL -> ClickHouse"
# section of tests/bench/RESULTS.md; run.sh calls it, and it runs alone.
#
# Environment: BENCH_CH_ROWS (1000000), BENCH_REPS (3), BENCH_OUT
# (tests/bench/RESULTS.md), H_KEEP=1 keeps the servers' directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

ROWS=${BENCH_CH_ROWS:-1000000}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_OUT:-$ROOT/tests/bench/RESULTS.md}
for v in ROWS REPS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] \
        || { echo "bench: BENCH_${v/ROWS/CH_ROWS} must be a positive number" >&2; exit 2; }
done
[ -x bin/sluice ] || { echo "bench: bin/sluice is missing; run make all" >&2; exit 1; }
command -v clickhouse-server > /dev/null || { echo "bench: clickhouse-server is not installed" >&2; exit 1; }

say() { printf '%s\n' "$*"; }
step() { printf '\n# %s\n' "$*"; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
h_tmpdir > /dev/null
LOG=$H_LOG/bench-clickhouse.log
: > "$LOG"
say "bench (ClickHouse): logs in $H_LOG (H_KEEP=1 keeps them)"
step "starting PostgreSQL and ClickHouse"
h_pg_start
CTL=$H_DATABASE_URL
h_migrate "$CTL" >> "$LOG" 2>&1
SRC_URL=$(h_createdb src)
SRC_DB=${SRC_URL##*/}
H_CH_PASSWORD=bench-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
h_clickhouse_start
CH_VERSION=$(h_ch "SELECT version()")
PG_VERSION=$(h_psql "SHOW server_version" "$CTL")
sl() {
    SLUICE_DATABASE_URL=$CTL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$ROOT SLUICE_LOG_LEVEL=warn \
        "$ROOT/bin/sluice" "$@"
}
sl key create >> "$LOG" 2>&1
# seal the ClickHouse password through add-local (a PostgreSQL destination),
# then copy it to the ClickHouse destination
sl destination add-local --host 127.0.0.1 --port "$H_PG_PORT" --database "$SRC_DB" \
    --user sluice <<< "$H_CH_PASSWORD" >> "$LOG" 2>&1
h_psql "INSERT INTO sluice.destinations (name, type, host, port, database, username,
            password_enc, ssl_mode)
        SELECT 'CH', 'clickhouse', '127.0.0.1', $H_CH_PORT, 'default', 'default',
               password_enc, 'disable' FROM sluice.destinations WHERE type = 'postgresql';
        INSERT INTO sluice.sources (name, type, host, port, database, username, ssl_mode)
        VALUES ('src', 'postgresql', '127.0.0.1', $H_PG_PORT, '$SRC_DB', 'sluice', 'disable');
        INSERT INTO sluice.pipelines (name, source_id, destination_id)
        SELECT 'orders', s.id, d.id FROM sluice.sources s, sluice.destinations d
        WHERE d.type = 'clickhouse';
        INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table)
        SELECT id, 'public', 'orders' FROM sluice.pipelines;" "$CTL" > /dev/null

step "building orders in PostgreSQL ($ROWS rows)"
h_psql "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer NOT NULL,
            quantity integer NOT NULL, status varchar(16) NOT NULL, total numeric(12,2) NOT NULL,
            attributes jsonb NOT NULL, created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL, paid boolean NOT NULL, weight double precision);
        INSERT INTO orders SELECT g, g % 10007, 1 + g % 9, (ARRAY['new','paid','shipped'])[1 + g % 3],
            (g % 100000) / 100.0, jsonb_build_object('sku', 'S' || g % 997, 'gift', g % 2 = 0),
            '2024-01-01+00'::timestamptz + g * interval '1 second',
            '2024-01-01+00'::timestamptz + g * interval '1 second', g % 2 = 0,
            CASE WHEN g % 5 = 0 THEN NULL ELSE g / 7.0 END
        FROM generate_series(1, $ROWS) g;" "$SRC_URL" > /dev/null
h_psql "VACUUM ANALYZE orders" "$SRC_URL" > /dev/null

TIMES=()
ROWS_OK=1
for ((i = 1; i <= REPS; i++)); do
    step "run $i of $REPS: sluice sync orders --full-refresh"
    t0=$(now)
    sl sync orders --full-refresh >> "$LOG" 2>&1 || { echo "bench: sync failed" >&2; tail -n 5 "$LOG" >&2; exit 1; }
    t1=$(now)
    TIMES+=("$(elapsed "$t0" "$t1")")
    n=$(h_ch "SELECT count() FROM orders")
    [ "$n" = "$ROWS" ] || { ROWS_OK=0; echo "bench: $n rows in ClickHouse, not $ROWS" >&2; }
    say "${TIMES[-1]} s, $n rows"
done
read -r MED MIN < <(printf '%s\n' "${TIMES[@]}" | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1] }')
RPS_MED=$(awk -v r="$ROWS" -v s="$MED" 'BEGIN { printf "%d", r / s }')
RPS_MAX=$(awk -v r="$ROWS" -v s="$MIN" 'BEGIN { printf "%d", r / s }')

section() {
    echo "## PostgreSQL -> ClickHouse"
    echo
    echo "Produced by tests/bench/clickhouse.sh on $(date -u '+%Y-%m-%d %H:%M UTC'):"
    echo "PostgreSQL ${PG_VERSION%% *} into ClickHouse $CH_VERSION (throwaway servers on this"
    echo "machine, HTTP interface), table \`orders\` (10 columns: bigint key, ints, varchar,"
    echo "numeric(12,2), jsonb, two timestamptz, boolean, a nullable double), $ROWS rows;"
    echo "\`sluice sync --full-refresh\` (a shadow ReplacingMergeTree table loaded in chunks of"
    echo "50,000 rows as INSERT ... FORMAT TabSeparated, then RENAME); $REPS repetitions; load"
    echo "average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo
    echo "| measurement | median | best |"
    echo "| --- | --- | --- |"
    echo "| seconds | $MED s | $MIN s |"
    echo "| rows/s | $RPS_MED | $RPS_MAX |"
    echo
    echo "- every repetition (s): ${TIMES[*]}"
    echo "- rows in ClickHouse after each run: $([ "$ROWS_OK" = 1 ] && echo "all $ROWS" || echo WRONG)"
}

step "results"
mkdir -p "$(dirname "$OUT")"
touch "$OUT"
awk 'BEGIN { skip = 0 }
     /^## PostgreSQL -> ClickHouse$/ { skip = 1; next }
     skip && /^## / { skip = 0 }
     !skip { print }' "$OUT" > "$H_TMP/results"
{
    sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$H_TMP/results"
    echo
    section
} > "$OUT"
section
say ""
say "bench: wrote the ClickHouse section of $OUT"
