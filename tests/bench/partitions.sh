#!/usr/bin/env bash
# partitions.sh - `make bench` (tests/bench/run.sh runs it last): partition
# maintenance that has to move rows out of a default partition, measured
# against pg_partman on the same layout, on a throwaway PostgreSQL
# (tests/lib/harness.sh). Writes the "## Partition maintenance" section of
# tests/bench/RESULTS.md (replacing it when it is there).
#
# The layout: a table like sluice_runs.run_logs (bigint snowflake id primary
# key, run_id, at, level, message; a second index on (run_id, id)),
# PARTITION BY RANGE (id) with PARTS daily partitions and a default
# partition holding ROWS rows of the DAYS days after them (ROWS / DAYS a
# day), vacuumed and analyzed. Both sides make the DAYS partitions and move
# the rows out of the default into them, one transaction per partition:
#   (a) `sluice partitions --table T` (SLUICE_NOW at the first of those days,
#       premake DAYS - 1);
#   (b) pg_partman's partition_data_proc (p_wait 0: no pause between
#       batches; one partition interval per batch) on a table made by
#       partman.create_parent (p_premake PARTS - 1), when the
#       postgresql-15-partman package is installed (else "not installed");
#   (c) sluice.partition_plan() on the result, when nothing is due: what
#       every tick pays.
# Each is checked: PARTS + DAYS partitions, an empty default, every row.
#
# Environment: BENCH_PM_ROWS (1000000), BENCH_PM_PARTITIONS (100),
# BENCH_PM_DAYS (10), BENCH_PM_REPS (BENCH_REPS, 3), BENCH_OUT
# (tests/bench/RESULTS.md), H_KEEP=1 keeps the cluster's directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

ROWS=${BENCH_PM_ROWS:-1000000}
PARTS=${BENCH_PM_PARTITIONS:-100}
DAYS=${BENCH_PM_DAYS:-10}
REPS=${BENCH_PM_REPS:-${BENCH_REPS:-3}}
OUT=${BENCH_OUT:-$ROOT/tests/bench/RESULTS.md}
T0=2026-01-01T00:00:00Z            # the first partition's day
PLAN_CALLS=20
for v in ROWS PARTS DAYS REPS; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ]; then
        echo "bench: BENCH_PM_$v must be a positive number" >&2
        exit 2
    fi
done
[ -x bin/sluice ] || { echo "bench: bin/sluice is missing; run make all" >&2; exit 1; }

say() { printf '%s\n' "$*"; }
step() { printf '\n# %s\n' "$*"; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
med_min() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f\n", m, v[1] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f\n", n / s; else print "-" }'; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
h_tmpdir
LOG=$H_LOG/bench-partitions.log
: > "$LOG"
say "bench: logs in $H_LOG (H_KEEP=1 keeps them)"
step "starting PostgreSQL"
h_pg_start
h_psql "ALTER SYSTEM SET shared_buffers = '256MB'" "$H_PG_ADMIN_URL" > /dev/null
h_psql "ALTER SYSTEM SET max_wal_size = '8GB'" "$H_PG_ADMIN_URL" > /dev/null
h_psql "ALTER SYSTEM SET checkpoint_timeout = '30min'" "$H_PG_ADMIN_URL" > /dev/null
h_pg_stop
h_pg_start
CTL=$H_DATABASE_URL
PG_VERSION=$(h_psql "SHOW server_version" "$CTL")
h_migrate "$CTL" >> "$LOG" 2>&1
PSQL=("$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$CTL")
sql() { "${PSQL[@]}" -tA -c "$1"; }
checkpoint() { h_psql "CHECKPOINT" "$H_PG_ADMIN_URL" > /dev/null; }
sluice_cli() {
    SLUICE_DATABASE_URL=$CTL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$ROOT SLUICE_LOG_LEVEL=warn \
        "$ROOT/bin/sluice" "$@"
}

PARTMAN=""
if [ -n "$(sql "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman'")" ]; then
    sql "CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman" >> "$LOG" 2>&1
    PARTMAN=$(sql "SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'")
fi
sql "CREATE SCHEMA bench" > /dev/null

DAY_IDS=$((86400000 << 23))
START=$(sql "SELECT timestamptz '$T0' + $PARTS * interval '1 day'")
START_ISO=$(date -u -d "$START" +%Y-%m-%dT%H:%M:%SZ)
STEP_S=$(awk -v d="$DAYS" -v r="$ROWS" 'BEGIN { printf "%.6f", d * 86400 / r }')
COLUMNS="id bigint NOT NULL, run_id bigint NOT NULL, at timestamptz NOT NULL,
         level text NOT NULL, message text NOT NULL, PRIMARY KEY (id)"

# fill TABLE: ROWS rows over the DAYS days from START (in the default
# partition), then VACUUM ANALYZE the default and CHECKPOINT.
fill() {
    "${PSQL[@]}" >> "$LOG" 2>&1 <<SQL
INSERT INTO $1
SELECT sluice.partition_id_for_ts(timestamptz '$START' + g * interval '$STEP_S seconds')
       + g % 1000,
       g % 5000, timestamptz '$START' + g * interval '$STEP_S seconds',
       (ARRAY['info', 'info', 'info', 'warn', 'debug'])[1 + g % 5],
       'copied chunk ' || g || ' of table public.orders: 10000 rows'
FROM generate_series(0, $ROWS - 1) g;
VACUUM ANALYZE ${1}_default;
SQL
    checkpoint
}

# check TABLE: "ok" when it has PARTS + DAYS partitions, an empty default
# and ROWS rows; else what is wrong.
check() {
    local got
    got=$(sql "SELECT (SELECT count(*) FROM sluice.partition_ranges('$1') WHERE NOT is_default)
                      || ' partitions, ' || (SELECT count(*) FROM ${1}_default)
                      || ' in the default, ' || (SELECT count(*) FROM $1) || ' rows'")
    if [ "$got" = "$((PARTS + DAYS)) partitions, 0 in the default, $ROWS rows" ]; then
        echo ok
    else
        echo "$got"
    fi
}

A_TIMES=() B_TIMES=()
for rep in $(seq 1 "$REPS"); do
    step "(a) sluice partitions, repetition $rep/$REPS"
    sql "DROP TABLE IF EXISTS bench.sl_t;
         DELETE FROM sluice.partitioned_tables WHERE table_name = 'bench.sl_t';
         CREATE TABLE bench.sl_t ($COLUMNS) PARTITION BY RANGE (id);
         CREATE TABLE bench.sl_t_default PARTITION OF bench.sl_t DEFAULT;
         CREATE INDEX sl_t_run_idx ON bench.sl_t (run_id, id);
         INSERT INTO sluice.partitioned_tables (table_name, width, premake)
         VALUES ('bench.sl_t', 'day', $PARTS - 1)" > /dev/null
    SLUICE_NOW=$T0 sluice_cli partitions --table bench.sl_t >> "$LOG" 2>&1
    sql "UPDATE sluice.partitioned_tables SET premake = $DAYS - 1
         WHERE table_name = 'bench.sl_t'" > /dev/null
    fill bench.sl_t
    t0=$(now)
    SLUICE_NOW=$START_ISO sluice_cli partitions --table bench.sl_t >> "$LOG" 2>&1 \
        || { say "bench: sluice partitions failed; see $LOG" >&2; exit 1; }
    A_TIMES+=("$(elapsed "$t0" "$(now)")")
    c=$(check bench.sl_t)
    [ "$c" = ok ] || { say "bench: after sluice partitions: $c" >&2; exit 1; }
    say "${A_TIMES[-1]} s"

    [ -n "$PARTMAN" ] || continue
    step "(b) pg_partman $PARTMAN partition_data_proc, repetition $rep/$REPS"
    sql "DROP TABLE IF EXISTS bench.pm_t;
         DELETE FROM partman.part_config WHERE parent_table = 'bench.pm_t';
         CREATE TABLE bench.pm_t ($COLUMNS) PARTITION BY RANGE (id);
         CREATE INDEX pm_t_run_idx ON bench.pm_t (run_id, id);
         SELECT partman.create_parent('bench.pm_t', 'id', 'native', '$DAY_IDS',
             p_premake := $PARTS - 1,
             p_start_partition := sluice.partition_id_for_ts('$T0')::text)" >> "$LOG"
    fill bench.pm_t
    t0=$(now)
    sql "CALL partman.partition_data_proc('bench.pm_t', p_wait := 0, p_quiet := true)" \
        >> "$LOG" 2>&1 || { say "bench: partition_data_proc failed; see $LOG" >&2; exit 1; }
    B_TIMES+=("$(elapsed "$t0" "$(now)")")
    c=$(check bench.pm_t)
    [ "$c" = ok ] || { say "bench: after partition_data_proc: $c" >&2; exit 1; }
    say "${B_TIMES[-1]} s"
done

step "(c) sluice.partition_plan() with nothing due, $PLAN_CALLS calls"
# Every registered table maintained at that time (run_logs and events too).
SLUICE_NOW=$START_ISO sluice_cli partitions >> "$LOG" 2>&1
C_TIMES=()
for i in $(seq 1 "$PLAN_CALLS"); do
    ms=$("${PSQL[@]}" -tA <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
\\timing on
SELECT count(*) FROM sluice.partition_plan(timestamptz '$START_ISO');
SQL
)
    C_TIMES+=("$ms")
    : "$i"
done
DUE=$(sql "SELECT count(*) FROM sluice.partition_plan(timestamptz '$START_ISO')")
[ "$DUE" = 0 ] || { say "bench: $DUE actions still due" >&2; exit 1; }

read -r A_MED A_MIN <<< "$(med_min "${A_TIMES[@]}")"
read -r C_MED C_MIN <<< "$(med_min "${C_TIMES[@]}")"
if [ "${#B_TIMES[@]}" -gt 0 ]; then
    read -r B_MED B_MIN <<< "$(med_min "${B_TIMES[@]}")"
fi
TABLE_SIZE=$(sql "SELECT pg_size_pretty(sum(pg_total_relation_size(partition)))
                  FROM sluice.partition_ranges('bench.sl_t')")

# --- the report ---------------------------------------------------------------------------

row() {
    local c out="|"
    for c in "$@"; do out+=" $c |"; done
    printf '%s\n' "$out"
}
rev=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)
section() {
    echo "## Partition maintenance"
    echo
    echo "Produced by tests/bench/partitions.sh on $(date -u '+%Y-%m-%d %H:%M UTC') (sluice $rev,"
    echo "PostgreSQL $PG_VERSION, the same throwaway-cluster settings as above; load average"
    echo "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)."
    echo
    echo "A table like sluice_runs.run_logs (snowflake id primary key, a second index) with"
    echo "$PARTS daily partitions and $ROWS rows in its default partition, belonging to the"
    echo "$DAYS days after them ($((ROWS / DAYS)) a day; $TABLE_SIZE in all afterwards). Each side"
    echo "makes those $DAYS partitions and moves the rows out of the default into them, one"
    echo "transaction per partition; every run is checked ($((PARTS + DAYS)) partitions, an empty"
    echo "default, every row). $REPS repetitions; median and min."
    echo
    row measurement median min "ratio" "rows/s (median)"
    row --- --- --- --- ---
    row "(a) \`sluice partitions\`" "$A_MED s" "$A_MIN s" 1.00 "$(per_s "$ROWS" "$A_MED")"
    if [ -n "$PARTMAN" ]; then
        row "(b) pg_partman $PARTMAN \`partition_data_proc\` (p_wait 0)" "$B_MED s" "$B_MIN s" \
            "$(ratio "$B_MED" "$A_MED") (pg_partman / sluice)" "$(per_s "$ROWS" "$B_MED")"
    else
        row "(b) pg_partman \`partition_data_proc\`" "not installed" - - -
    fi
    row "(c) \`sluice.partition_plan()\` with nothing due ($((PARTS + DAYS)) partitions)" \
        "$C_MED ms" "$C_MIN ms" "" "what each tick pays"
    echo
    echo "- (a): ${A_TIMES[*]}"
    echo "- (b): ${B_TIMES[*]:--}"
    echo
    echo "(b) needs the postgresql-15-partman package (not a dependency of sluice); without it"
    echo "the row says \"not installed\". Its children are made by partition_data_proc itself."
}

step "results"
mkdir -p "$(dirname "$OUT")"
NEW=$H_TMP/section.md
section > "$NEW"
if [ -f "$OUT" ] && grep -q '^## Partition maintenance$' "$OUT"; then
    # Replace the section: from its heading to the next "## " heading or the end.
    awk -v f="$NEW" '
        /^## Partition maintenance$/ { while ((getline l < f) > 0) print l; skip = 1; next }
        skip && /^## / { skip = 0; print ""; }
        !skip { print }' "$OUT" > "$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
else
    [ ! -s "$OUT" ] || echo >> "$OUT"
    cat "$NEW" >> "$OUT"
fi
cat "$NEW"
say ""
say "bench: wrote the partition section of $OUT"
