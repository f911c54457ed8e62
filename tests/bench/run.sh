#!/usr/bin/env bash
# run.sh - `make bench`: how fast and how lean `sluice sync` is, measured
# against the obvious alternatives in the same run, on the same throwaway
# PostgreSQL (tests/lib/harness.sh), and written to tests/bench/RESULTS.md.
#
#   (a) baseline: psql "\copy (SELECT * FROM orders) TO STDOUT" piped into
#       psql "\copy orders FROM STDIN" between two databases of the cluster
#       (the target table has the primary key, as sluice's has)
#   (b) sluice sync --full-refresh of the same table into a fresh
#       destination database; ratio to (a), target <= 1.15
#   (c) pgloader of the same table, when `pgloader` is installed
#   (d) sluice sync of DELTA changed rows in the synced table, against the
#       psql pipe of those rows alone (WHERE updated_at >= X); target <= 3x
#   (e) peak RSS of sluice sync at ROWS and at BIG_ROWS; target <= 64 MiB,
#       and flat (the bigger table costs no more memory)
#   (f) GET /healthz through nginx and the pool, against nginx serving a
#       static file, requests per second with concurrent keep-alive clients
#   (h) MariaDB -> PostgreSQL full sync vs a mariadb | psql pipe
#       (tests/bench/mysql.sh, its own servers and section)
# Every timed step runs REPS times ((a) and (b) interleaved); the table shows
# the median and the minimum. The source table is like a real orders table:
# 10 columns (bigint key, two integers, text, numeric(12,2), jsonb, two
# timestamptz of which updated_at is indexed, boolean, double precision),
# built with generate_series.
#
# Environment: BENCH_ROWS (1000000), BENCH_BIG_ROWS (5000000; 0 skips it),
# BENCH_REPS (3), BENCH_DELTA (10000), BENCH_HTTP_REQUESTS (5000),
# BENCH_HTTP_CONCURRENCY (16), BENCH_OUT (tests/bench/RESULTS.md), BENCH_RSS=poll
# (poll /proc for the peak RSS even when GNU time exists), H_KEEP=1 keeps
# the cluster's directory. Not part of `make test`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

ROWS=${BENCH_ROWS:-1000000}
BIG_ROWS=${BENCH_BIG_ROWS:-5000000}
REPS=${BENCH_REPS:-3}
DELTA=${BENCH_DELTA:-10000}
HTTP_REQUESTS=${BENCH_HTTP_REQUESTS:-5000}
HTTP_CONCURRENCY=${BENCH_HTTP_CONCURRENCY:-16}
OUT=${BENCH_OUT:-$ROOT/tests/bench/RESULTS.md}
RSS_TARGET_MIB=64
FULL_TARGET=1.15
INCR_TARGET=3

for v in ROWS BIG_ROWS REPS DELTA HTTP_REQUESTS HTTP_CONCURRENCY; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: BENCH_$v must be a number" >&2; exit 2; }
done
if [ "$REPS" -lt 1 ] || [ "$ROWS" -lt "$DELTA" ] || [ "$DELTA" -lt 1 ]; then
    echo "bench: need BENCH_REPS >= 1 and BENCH_ROWS >= BENCH_DELTA >= 1" >&2
    exit 2
fi
for b in bin/sluice bin/sluice-web; do
    [ -x "$b" ] || { echo "bench: $b is missing; run make all" >&2; exit 1; }
done

say() { printf '%s\n' "$*"; }
step() { printf '\n# %s\n' "$*"; }

# --- numbers ---------------------------------------------------------------------

now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
# median and min of the arguments: "MEDIAN MIN"
med_min() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f\n", m, v[1] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'; }
# verdict VALUE TARGET: "ok" when VALUE <= TARGET
verdict() {
    awk -v v="$1" -v t="$2" 'BEGIN { if (v == "-" || v == "") print "-";
        else print (v + 0 <= t + 0) ? "ok" : "MISSED" }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f\n", k / 1024 }'; }

# --- the measurement of one command ---------------------------------------------------

HAVE_GNU_TIME=0
[ -x /usr/bin/time ] && /usr/bin/time -f '%M' true > /dev/null 2>&1 && HAVE_GNU_TIME=1
[ "${BENCH_RSS:-}" != poll ] || HAVE_GNU_TIME=0   # to check the fallback

# measure LOG COMMAND...: run COMMAND (output appended to LOG); sets
# M_SECONDS (wall clock), M_RSS_KB (peak resident set of COMMAND itself:
# GNU time's "Maximum resident set size", else VmHWM of /proc/PID/status
# polled every 20 ms) and M_RC.
measure() {
    local log=$1 t0 t1 rss_file pid key hwm
    shift
    rss_file=$H_TMP/.rss
    : > "$rss_file"
    M_RSS_KB=0
    t0=$(now)
    if [ "$HAVE_GNU_TIME" = 1 ]; then
        /usr/bin/time -f '%M' -o "$rss_file" "$@" >> "$log" 2>&1 && M_RC=0 || M_RC=$?
        t1=$(now)
        # GNU time reports "Command exited with non-zero status N" first.
        M_RSS_KB=$(tail -n 1 "$rss_file" | tr -dc '0-9')
    else
        "$@" >> "$log" 2>&1 &
        pid=$!
        while h_alive "$pid"; do
            # Builtins only: the poller should not steal the CPU it measures.
            while read -r key hwm _; do
                if [ "$key" = VmHWM: ]; then
                    [ "$hwm" -le "$M_RSS_KB" ] || M_RSS_KB=$hwm
                    break
                fi
            done < "/proc/$pid/status" 2> /dev/null || true
            sleep 0.02
        done
        wait "$pid" && M_RC=0 || M_RC=$?
        t1=$(now)
    fi
    M_RSS_KB=${M_RSS_KB:-0}
    M_SECONDS=$(elapsed "$t0" "$t1")
}

# --- the cluster, databases and the sluice configuration -------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
h_tmpdir
LOG=$H_LOG/bench.log
: > "$LOG"
say "bench: logs in $H_LOG (H_KEEP=1 keeps them)"
step "starting PostgreSQL"
h_pg_start
# Room for the big table: fewer forced checkpoints, a realistic buffer pool.
h_psql "ALTER SYSTEM SET shared_buffers = '256MB'" "$H_PG_ADMIN_URL" > /dev/null
h_psql "ALTER SYSTEM SET max_wal_size = '8GB'" "$H_PG_ADMIN_URL" > /dev/null
h_psql "ALTER SYSTEM SET checkpoint_timeout = '30min'" "$H_PG_ADMIN_URL" > /dev/null
h_pg_stop
h_pg_start
CTL=$H_DATABASE_URL
PG_VERSION=$(h_psql "SHOW server_version" "$CTL")
h_migrate "$CTL" >> "$LOG" 2>&1
(umask 077 && head -c 32 /dev/urandom > "$H_VAR/secret.key")
SRC=$(h_createdb src)
BASE_DST=$(h_createdb copy)
PSQL=("$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)

# bin/sluice with the bench's configuration: a script, so GNU time can run
# it (it execs, so what is measured is the sluice process itself).
SLUICE_CMD=$H_TMP/sluice
{
    echo '#!/bin/sh'
    printf 'SLUICE_DATABASE_URL=%q SLUICE_VAR=%q SLUICE_SHARE_DIR=%q SLUICE_LOG_LEVEL=warn\n' \
        "$CTL" "$H_VAR" "$ROOT"
    echo 'export SLUICE_DATABASE_URL SLUICE_VAR SLUICE_SHARE_DIR SLUICE_LOG_LEVEL'
    printf 'exec %q "$@"\n' "$ROOT/bin/sluice"
} > "$SLUICE_CMD"
chmod 0755 "$SLUICE_CMD"
sluice_cli() { "$SLUICE_CMD" "$@"; }

HAVE_SYNC=0
SYNC_FAILED=""
sluice_cli sync --help > /dev/null 2>&1 && HAVE_SYNC=1

# The orders table (DDL shared by the source and the baseline's target).
ORDERS_COLUMNS="
    id          bigint PRIMARY KEY,
    customer_id integer NOT NULL,
    quantity    integer NOT NULL,
    status      text NOT NULL,
    total       numeric(12,2) NOT NULL,
    attributes  jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    paid        boolean NOT NULL,
    weight      double precision"

# build_table NAME ROWS: the source table with ROWS rows, indexed, vacuumed
# (hint bits set, so no reader pays for them) and analyzed.
build_table() {
    "${PSQL[@]}" -d "$SRC" >> "$LOG" 2>&1 <<SQL
DROP TABLE IF EXISTS public.$1;
CREATE TABLE public.$1 ($ORDERS_COLUMNS);
INSERT INTO public.$1
SELECT i,
       1 + (i * 7919) % 250000,
       1 + i % 7,
       (ARRAY['pending', 'paid', 'shipped', 'delivered', 'refunded'])[1 + i % 5],
       ((i * 104729) % 10000000) / 100.0,
       jsonb_build_object('sku', 'SKU-' || (1000 + i % 5000), 'channel',
                          (ARRAY['web', 'ios', 'android', 'pos'])[1 + i % 4],
                          'gift', i % 11 = 0,
                          'tags', jsonb_build_array('t' || i % 13, 't' || i % 17)),
       timestamptz '2024-01-01 00:00+00' + i * interval '20 seconds',
       timestamptz '2024-01-01 00:00+00' + i * interval '20 seconds'
           + (i % 97) * interval '1 hour',
       i % 3 <> 0,
       CASE WHEN i % 50 = 0 THEN NULL ELSE (i % 9973) / 7.0 END
FROM generate_series(1::bigint, $2) AS i;
CREATE INDEX ${1}_updated_at_idx ON public.$1 (updated_at);
VACUUM ANALYZE public.$1;
SQL
}

# register NAME TABLE DEST_URL MODE: a pipeline NAME syncing source table
# TABLE into the database of DEST_URL (a new destination), MODE incremental
# or full_refresh. Prints nothing; the pipeline is looked up by name.
N_REG=0
register() {
    local name=$1 table=$2 dest=$3 mode=$4 db
    N_REG=$((N_REG + 1))
    db=${dest##*/}
    "${PSQL[@]}" -d "$CTL" >> "$LOG" 2>&1 <<SQL
INSERT INTO sluice.sources (name, type, host, port, database, username, schema_include,
                            ssl_mode)
SELECT 'bench source', 'postgresql', '127.0.0.1', $H_PG_PORT, '${SRC##*/}', 'sluice',
       '{public}', 'disable'
WHERE NOT EXISTS (SELECT 1 FROM sluice.sources WHERE name = 'bench source');
INSERT INTO sluice.destinations (name, type, host, port, database, username, ssl_mode)
VALUES ('bench destination $N_REG', 'postgresql', '127.0.0.1', $H_PG_PORT, '$db', 'sluice',
        'disable');
WITH p AS (
    INSERT INTO sluice.pipelines (name, source_id, destination_id)
    SELECT '$name', s.id, d.id FROM sluice.sources s, sluice.destinations d
    WHERE s.name = 'bench source' AND d.name = 'bench destination $N_REG'
    RETURNING id)
INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table, sync_mode)
SELECT id, 'public', '$table', '$mode' FROM p;
SQL
}

# A row count in the destination: the typed table wherever sluice put it.
dest_count() { # DEST_URL TABLE
    h_psql "SELECT count(*) FROM analytics.$2" "$1" 2> /dev/null || echo "?"
}

checkpoint() { h_psql "CHECKPOINT" "$H_PG_ADMIN_URL" > /dev/null; }

declare -A R=()   # results by key
# R_pair KEY1 KEY2 "V1 V2": R[KEY1]=V1, R[KEY2]=V2
R_pair() {
    local a b
    read -r a b <<< "$3"
    R[$1]=$a
    R[$2]=$b
}

# --- the source table ---------------------------------------------------------------

step "building public.orders ($ROWS rows)"
t0=$(now)
build_table orders "$ROWS"
R[build_s]=$(elapsed "$t0" "$(now)")
R[table_size]=$(h_psql "SELECT pg_size_pretty(pg_total_relation_size('public.orders'))" "$SRC")
say "built in ${R[build_s]} s (${R[table_size]} with indexes)"

# --- (a) and (b), interleaved ------------------------------------------------------------

A_TIMES=() B_TIMES=() B_RSS=() COPY_RSS=()
B_ROWS_OK=1
for rep in $(seq 1 "$REPS"); do
    step "(a) psql \\copy pipe, repetition $rep/$REPS"
    h_psql "DROP TABLE IF EXISTS public.orders; CREATE TABLE public.orders ($ORDERS_COLUMNS)" \
        "$BASE_DST" > /dev/null
    checkpoint
    t0=$(now)
    "${PSQL[@]}" -d "$SRC" -c '\copy (SELECT * FROM public.orders) TO STDOUT' \
        | "${PSQL[@]}" -d "$BASE_DST" -c '\copy public.orders FROM STDIN'
    A_TIMES+=("$(elapsed "$t0" "$(now)")")
    n=$(h_psql "SELECT count(*) FROM public.orders" "$BASE_DST")
    [ "$n" = "$ROWS" ] || { say "bench: the baseline copied $n rows, not $ROWS" >&2; exit 1; }
    say "${A_TIMES[-1]} s"
    # The harness check of (e): the same copy-out, measured by measure().
    if [ "$rep" = 1 ]; then
        measure "$LOG" "${PSQL[@]}" -d "$SRC" \
            -c "\\copy (SELECT * FROM public.orders) TO '/dev/null'"
        COPY_RSS+=("$M_RSS_KB")
    fi

    [ "$HAVE_SYNC" = 1 ] || continue
    step "(b) sluice sync --full-refresh, repetition $rep/$REPS"
    dest=$(h_createdb full)
    register "bench_full_$rep" orders "$dest" full_refresh
    checkpoint
    measure "$LOG" "$SLUICE_CMD" sync "bench_full_$rep" --full-refresh
    if [ "$M_RC" -ne 0 ]; then
        # Report it and go on without the sync measurements.
        SYNC_FAILED=$(tail -n 20 "$LOG" | grep '^sluice sync: ' | tail -n 1 | cut -c1-200)
        [ -n "$SYNC_FAILED" ] || SYNC_FAILED="exit status $M_RC"
        say "bench: sluice sync failed (exit $M_RC): $SYNC_FAILED" >&2
        HAVE_SYNC=0
        B_TIMES=()
        continue
    fi
    B_TIMES+=("$M_SECONDS")
    B_RSS+=("$M_RSS_KB")
    n=$(dest_count "$dest" orders)
    [ "$n" = "$ROWS" ] || B_ROWS_OK=0
    say "$M_SECONDS s, peak RSS $(mib "$M_RSS_KB") MiB, $n rows at the destination"
done

R_pair a_med a_min "$(med_min "${A_TIMES[@]}")"
R[copy_rss]=$(mib "${COPY_RSS[0]}")
if [ "$HAVE_SYNC" = 1 ]; then
    R_pair b_med b_min "$(med_min "${B_TIMES[@]}")"
    R[b_ratio]=$(ratio "${R[b_med]}" "${R[a_med]}")
    R[b_ratio_min]=$(ratio "${R[b_min]}" "${R[a_min]}")
    R[rss_1m]=$(mib "$(printf '%s\n' "${B_RSS[@]}" | sort -n | tail -n 1)")
    R[b_rows_ok]=$B_ROWS_OK
fi

# --- (c) pgloader ------------------------------------------------------------------------

C_TIMES=()
if command -v pgloader > /dev/null; then
    for rep in $(seq 1 "$REPS"); do
        step "(c) pgloader, repetition $rep/$REPS"
        dest=$(h_createdb pgl)
        checkpoint
        t0=$(now)
        pgloader --quiet "$SRC" "$dest" >> "$LOG" 2>&1 \
            || { say "bench: pgloader failed; see $LOG" >&2; C_TIMES=(); break; }
        C_TIMES+=("$(elapsed "$t0" "$(now)")")
        say "${C_TIMES[-1]} s"
    done
fi
if [ "${#C_TIMES[@]}" -gt 0 ]; then
    R_pair c_med c_min "$(med_min "${C_TIMES[@]}")"
    [ -z "${R[b_med]:-}" ] || R[c_ratio]=$(ratio "${R[b_med]}" "${R[c_med]}")
fi

# --- (d) incremental -------------------------------------------------------------------

D_TIMES=() D_BASE=() D_RSS=()
if [ "$HAVE_SYNC" = 1 ]; then
    step "(d) the incremental pipeline's first sync (initial load)"
    INC_DEST=$(h_createdb incr)
    register bench_incr orders "$INC_DEST" incremental
    measure "$LOG" "$SLUICE_CMD" sync bench_incr
    if [ "$M_RC" -ne 0 ]; then
        say "bench: the initial incremental sync failed; see $LOG" >&2
        exit 1
    fi
    R[d_initial]=$M_SECONDS
    say "$M_SECONDS s, peak RSS $(mib "$M_RSS_KB") MiB"
    DELTA_DST=$(h_createdb delta)
    stride=$((ROWS / DELTA))
    for rep in $(seq 1 "$REPS"); do
        step "(d) $DELTA changed rows, repetition $rep/$REPS"
        # DELTA rows spread over the table: every stride-th row, shifted per repetition.
        X=$(h_psql "SELECT clock_timestamp()" "$SRC")
        h_psql "UPDATE public.orders SET updated_at = clock_timestamp(), total = total + 1,
                    status = 'shipped', attributes = attributes || '{\"rev\": $rep}'
                WHERE id % $stride = $((rep % stride)) AND id <= $((stride * DELTA))" \
            "$SRC" > /dev/null
        h_psql "VACUUM ANALYZE public.orders" "$SRC" > /dev/null
        checkpoint
        measure "$LOG" "$SLUICE_CMD" sync bench_incr
        [ "$M_RC" -eq 0 ] || { say "bench: the incremental sync failed; see $LOG" >&2; exit 1; }
        D_TIMES+=("$M_SECONDS")
        D_RSS+=("$M_RSS_KB")
        changed=$(h_psql "SELECT count(*) FROM analytics.orders WHERE updated_at >= '$X'" \
            "$INC_DEST" 2> /dev/null || echo "?")
        # The baseline: copying exactly those rows with the psql pipe.
        h_psql "DROP TABLE IF EXISTS public.orders; CREATE TABLE public.orders ($ORDERS_COLUMNS)" \
            "$DELTA_DST" > /dev/null
        checkpoint
        t0=$(now)
        "${PSQL[@]}" -d "$SRC" \
            -c "\\copy (SELECT * FROM public.orders WHERE updated_at >= '$X') TO STDOUT" \
            | "${PSQL[@]}" -d "$DELTA_DST" -c '\copy public.orders FROM STDIN'
        D_BASE+=("$(elapsed "$t0" "$(now)")")
        n=$(h_psql "SELECT count(*) FROM public.orders" "$DELTA_DST")
        say "sluice ${D_TIMES[-1]} s ($changed rows newer than the update at the destination)," \
            "psql pipe ${D_BASE[-1]} s ($n rows)"
        R[d_rows]=$n
    done
    R_pair d_med d_min "$(med_min "${D_TIMES[@]}")"
    R_pair dbase_med dbase_min "$(med_min "${D_BASE[@]}")"
    R[d_ratio]=$(ratio "${R[d_med]}" "${R[dbase_med]}")
    R[d_rss]=$(mib "$(printf '%s\n' "${D_RSS[@]}" | sort -n | tail -n 1)")
fi

# --- (e) the big table --------------------------------------------------------------------

if [ "$BIG_ROWS" -gt 0 ] && [ "$HAVE_SYNC" = 1 ]; then
    step "(e) building public.orders_big ($BIG_ROWS rows)"
    t0=$(now)
    build_table orders_big "$BIG_ROWS"
    R[big_build_s]=$(elapsed "$t0" "$(now)")
    R[big_size]=$(h_psql "SELECT pg_size_pretty(pg_total_relation_size('public.orders_big'))" \
        "$SRC")
    say "built in ${R[big_build_s]} s (${R[big_size]})"
    step "(e) sluice sync --full-refresh of $BIG_ROWS rows"
    dest=$(h_createdb big)
    register bench_big orders_big "$dest" full_refresh
    checkpoint
    measure "$LOG" "$SLUICE_CMD" sync bench_big --full-refresh
    [ "$M_RC" -eq 0 ] || { say "bench: the big sync failed; see $LOG" >&2; exit 1; }
    R[big_s]=$M_SECONDS
    R[rss_big]=$(mib "$M_RSS_KB")
    R[big_rows]=$(dest_count "$dest" orders_big)
    say "$M_SECONDS s, peak RSS ${R[rss_big]} MiB, ${R[big_rows]} rows at the destination"
    h_psql "DROP TABLE public.orders_big" "$SRC" > /dev/null
fi

# --- (f) /healthz through nginx ----------------------------------------------------------

# rps URL: requests per second of HTTP_REQUESTS GETs of URL, HTTP_CONCURRENCY
# at a time over keep-alive connections (curl --parallel); prints
# "RPS FAILURES".
rps() {
    local url=$1 cfg=$H_TMP/.curl.cfg i t0 t1 codes bad
    : > "$cfg"
    for i in $(seq 1 "$HTTP_REQUESTS"); do
        printf 'url = "%s"\noutput = "/dev/null"\n' "$url" >> "$cfg"
        : "$i"
    done
    t0=$(now)
    codes=$(curl -s --no-progress-meter --parallel --parallel-max "$HTTP_CONCURRENCY" \
        -K "$cfg" -w '%{http_code}\n' || true)
    t1=$(now)
    bad=$(grep -vc '^200$' <<< "$codes" || true)
    awk -v n="$HTTP_REQUESTS" -v s="$(elapsed "$t0" "$t1")" -v b="$bad" \
        'BEGIN { printf "%.0f %d\n", n / s, b }'
}

step "(f) /healthz through nginx vs a static file"
h_web_start
h_nginx_start
h_wait_for 15 h_healthy || { say "bench: /healthz did not answer" >&2; exit 1; }
STATIC_PATH=/static/css/sluice.css
R[static_bytes]=$(stat -c %s "$ROOT$STATIC_PATH")
R[health_bytes]=$(curl -s "$H_URL/healthz" | wc -c)
rps "$H_URL/healthz" > /dev/null   # warm-up: every worker connected
HZ=() ST=()
for rep in $(seq 1 "$REPS"); do
    read -r v bad <<< "$(rps "$H_URL/healthz")"
    [ "$bad" = 0 ] || say "bench: $bad /healthz requests were not 200"
    HZ+=("$v")
    read -r v bad <<< "$(rps "$H_URL$STATIC_PATH")"
    [ "$bad" = 0 ] || say "bench: $bad static requests were not 200"
    ST+=("$v")
    say "repetition $rep/$REPS: /healthz ${HZ[-1]} req/s, static ${ST[-1]} req/s"
done
R_pair hz_med hz_min "$(med_min "${HZ[@]}")"
R_pair st_med st_min "$(med_min "${ST[@]}")"
R[hz_ratio]=$(ratio "${R[hz_med]}" "${R[st_med]}")
R[workers]=$(h_workers | wc -l)

# --- the report ---------------------------------------------------------------------------

fmt_s() { [ -n "${1:-}" ] && printf '%.2f s' "$1" || printf '%s' "${2:--}"; }
fmt_mib() { [ -n "${1:-}" ] && printf '%s MiB' "$1" || printf '%s' "${2:--}"; }
fmt_rps() { printf '%.0f req/s' "$1"; }
# row CELL...: one Markdown table row
row() {
    local c out="|"
    for c in "$@"; do out+=" $c |"; done
    printf '%s\n' "$out"
}
NA="sluice sync not available"
[ -z "$SYNC_FAILED" ] || NA="failed: ${SYNC_FAILED//|/\\|}"
big_note="not run"
if [ -n "${R[big_s]:-}" ]; then
    big_note="$(fmt_s "${R[big_s]}"); table ${R[big_size]},"
    big_note+=" built in $(fmt_s "${R[big_build_s]}")"
fi
d_initial_ratio=""
[ -z "${R[d_initial]:-}" ] || d_initial_ratio=$(ratio "${R[d_initial]}" "${R[a_med]}")

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -- app 2> /dev/null | head -n 1)
[ -z "$dirty" ] || rev="$rev (with uncommitted changes in app/)"
rss_flat="-"
if [ -n "${R[rss_1m]:-}" ] && [ -n "${R[rss_big]:-}" ]; then
    rss_flat=$(awk -v a="${R[rss_1m]}" -v b="${R[rss_big]}" \
        'BEGIN { printf "%+.1f MiB (%s)", b - a, (b <= a * 1.1 + 2) ? "flat" : "GROWS" }')
fi
rss_how="GNU time's maximum resident set size"
[ "$HAVE_GNU_TIME" = 1 ] || rss_how="VmHWM of /proc/PID/status, polled every 20 ms"
pg_note="one throwaway cluster: fsync, synchronous_commit and full_page_writes off;"
pg_note+=" shared_buffers 256MB"
# shellcheck disable=SC2016 # Markdown backquotes
copy='psql `\copy` pipe'

report() {
    echo "# sluice benchmarks"
    echo
    echo "Produced by \`make bench\` (tests/bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Re-run it to refresh this file; the numbers are only comparable within one run."
    echo
    row machine ""
    row --- ---
    row CPU "${cpu:-unknown}, $(nproc) threads"
    row memory "$mem"
    row kernel "$(uname -sr)"
    row PostgreSQL "$PG_VERSION ($pg_note)"
    row sluice "$rev"
    row table "public.orders, $ROWS rows, ${R[table_size]} with indexes (built in $(fmt_s \
        "${R[build_s]}"))"
    row repetitions "$REPS per measurement; median and min"
    row "load average" "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end \
(other work on the machine shares the CPUs)"
    echo
    echo "## Sync"
    echo
    row measurement median min ratio target ""
    row --- --- --- --- --- ---
    row "(a) $copy, $ROWS rows" "$(fmt_s "${R[a_med]}")" "$(fmt_s "${R[a_min]}")" 1.00 "" \
        baseline
    row "(b) \`sluice sync --full-refresh\`, $ROWS rows" "$(fmt_s "${R[b_med]:-}" "$NA")" \
        "$(fmt_s "${R[b_min]:-}")" "${R[b_ratio]:--} (min/min ${R[b_ratio_min]:--})" \
        "<= $FULL_TARGET" "$(verdict "${R[b_ratio]:-}" "$FULL_TARGET")"
    row "(c) pgloader, $ROWS rows" "$(fmt_s "${R[c_med]:-}" "pgloader not installed")" \
        "$(fmt_s "${R[c_min]:-}")" "${R[c_ratio]:--} (sluice / pgloader)" "" ""
    row "(d) \`sluice sync\`, $DELTA changed rows" "$(fmt_s "${R[d_med]:-}" "$NA")" \
        "$(fmt_s "${R[d_min]:-}")" "${R[d_ratio]:--}" "<= $INCR_TARGET" \
        "$(verdict "${R[d_ratio]:-}" "$INCR_TARGET")"
    row "(d) $copy of those ${R[d_rows]:-$DELTA} rows" "$(fmt_s "${R[dbase_med]:-}")" \
        "$(fmt_s "${R[dbase_min]:-}")" 1.00 "" baseline
    row "(d) first incremental sync (initial load), $ROWS rows" \
        "$(fmt_s "${R[d_initial]:-}" "$NA")" "" "${d_initial_ratio:--}" "" ""
    echo
    echo "## Memory"
    echo
    row measurement "peak RSS" target ""
    row --- --- --- ---
    row "(e) \`sluice sync\`, $ROWS rows (largest of the (b) runs)" \
        "$(fmt_mib "${R[rss_1m]:-}" "$NA")" "<= $RSS_TARGET_MIB MiB" \
        "$(verdict "${R[rss_1m]:-}" "$RSS_TARGET_MIB")"
    row "(e) \`sluice sync\`, $BIG_ROWS rows ($big_note)" "$(fmt_mib "${R[rss_big]:-}")" \
        "<= $RSS_TARGET_MIB MiB, flat: $rss_flat" "$(verdict "${R[rss_big]:-}" "$RSS_TARGET_MIB")"
    row "(e) \`sluice sync\`, $DELTA changed rows" "$(fmt_mib "${R[d_rss]:-}")" "" ""
    row "reference: \`psql -c \"\\copy (SELECT * ...) TO '/dev/null'\"\`, $ROWS rows" \
        "$(fmt_mib "${R[copy_rss]}")" "" ""
    echo
    echo "Peak RSS is $rss_how of the \`sluice\` process."
    echo
    echo "## Every repetition (seconds; req/s for the web)"
    echo
    echo "- (a) psql pipe: ${A_TIMES[*]}"
    echo "- (b) sluice sync --full-refresh: ${B_TIMES[*]:--}"
    echo "- (c) pgloader: ${C_TIMES[*]:--}"
    echo "- (d) sluice sync, changed rows: ${D_TIMES[*]:--}"
    echo "- (d) psql pipe, changed rows: ${D_BASE[*]:--}"
    echo "- (f) /healthz: ${HZ[*]}; static: ${ST[*]}"
    echo
    echo "## Web"
    echo
    row measurement median min ratio ""
    row --- --- --- --- ---
    row "(f) GET /healthz through nginx and the pool" \
        "$(fmt_rps "${R[hz_med]}")" "$(fmt_rps "${R[hz_min]}")" "${R[hz_ratio]}" \
        "${R[health_bytes]} bytes, ${R[workers]} workers"
    row "(f) GET $STATIC_PATH from nginx" "$(fmt_rps "${R[st_med]}")" \
        "$(fmt_rps "${R[st_min]}")" 1.00 "baseline, ${R[static_bytes]} bytes"
    echo
    echo "$HTTP_REQUESTS requests per measurement, $HTTP_CONCURRENCY at a time over keep-alive"
    echo "connections (\`curl --parallel\`, on the same machine, so the client shares the"
    echo "CPUs). /healthz asks the control database on every request."
}

step "results"
mkdir -p "$(dirname "$OUT")"
report > "$OUT"
# Notification delivery measures itself on its own stack and adds its section.
step "(g) notification deliveries (tests/bench/notify.sh)"
BENCH_OUT=$OUT BENCH_REPS=$REPS "$ROOT/tests/bench/notify.sh" --append \
    || say "bench: tests/bench/notify.sh failed; its section is missing" >&2
# MariaDB -> PostgreSQL measures itself on its own servers and adds its section.
step "(h) MariaDB -> PostgreSQL (tests/bench/mysql.sh)"
BENCH_OUT=$OUT BENCH_REPS=$REPS "$ROOT/tests/bench/mysql.sh" \
    || say "bench: tests/bench/mysql.sh failed; its section is missing" >&2
# Partition maintenance (and pg_partman when installed) on its own cluster.
step "(i) partition maintenance (tests/bench/partitions.sh)"
BENCH_OUT=$OUT BENCH_REPS=$REPS "$ROOT/tests/bench/partitions.sh" \
    || say "bench: tests/bench/partitions.sh failed; its section is missing" >&2
# Landing zone uploads through nginx against nginx alone, on their own stack.
step "(j) landing zone uploads (tests/bench/upload.sh)"
BENCH_OUT=$OUT BENCH_REPS=$REPS "$ROOT/tests/bench/upload.sh" \
    || say "bench: tests/bench/upload.sh failed; its section is missing" >&2
# PostgreSQL -> ClickHouse rows/s on its own servers (when clickhouse-server is installed).
step "(k) PostgreSQL -> ClickHouse (tests/bench/clickhouse.sh)"
BENCH_OUT=$OUT BENCH_REPS=$REPS "$ROOT/tests/bench/clickhouse.sh" \
    || say "bench: tests/bench/clickhouse.sh failed; its section is missing" >&2
cat "$OUT"
say ""
say "bench: wrote $OUT"
