#!/usr/bin/env bash
# mysql.sh - `make bench`, MariaDB -> PostgreSQL: how fast `sluice sync`
# copies a MariaDB table into PostgreSQL, against the obvious pipe, on a
# throwaway MariaDB and PostgreSQL (tests/lib/harness.sh). Writes (or
# replaces) the "MariaDB -> PostgreSQL" section of tests/bench/RESULTS.md;
# run.sh calls it after its own report, and it runs alone as well.
#
#   (a) baseline: `mariadb --batch --quick --skip-column-names -e "SELECT
#       ..."` piped through sed into `psql -c "\copy orders FROM STDIN"`.
#       --batch prints tab-separated rows and escapes tab, newline and
#       backslash the way COPY text reads them, but prints NULL as the word
#       NULL: sed turns a whole NULL field into \N (only `weight` is
#       nullable in this table, and no text column holds the word NULL, so
#       the pipe is exact here; it is not in general). The session runs in
#       UTC on both ends (time_zone, PGTZ), so TIMESTAMP values mean the
#       same; tinyint(1)'s 0/1 are valid booleans. The target table has the
#       types and primary key sluice creates.
#   (b) sluice sync --full-refresh of the same table into a fresh database;
#       ratio to (a), target <= 1.3; peak RSS
#   (c) pgloader, when installed
# (a) and (b) alternate, BENCH_REPS times each; median and minimum. The
# table is like run.sh's orders table: bigint key, two ints, varchar,
# decimal(12,2), JSON, a TIMESTAMP(6) and an indexed DATETIME(6),
# tinyint(1), a nullable double.
#
# Environment: BENCH_MY_ROWS (1000000), BENCH_REPS (3), BENCH_OUT
# (tests/bench/RESULTS.md), H_KEEP=1 keeps the servers' directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

ROWS=${BENCH_MY_ROWS:-1000000}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_OUT:-$ROOT/tests/bench/RESULTS.md}
TARGET=1.3
for v in ROWS REPS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] \
        || { echo "bench: BENCH_${v/ROWS/MY_ROWS} must be a positive number" >&2; exit 2; }
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
verdict() {
    awk -v v="$1" -v t="$2" 'BEGIN { if (v == "-" || v == "") print "-";
        else print (v + 0 <= t + 0) ? "ok" : "MISSED" }'
}

# --- servers ------------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
h_tmpdir > /dev/null
LOG=$H_LOG/bench-mysql.log
: > "$LOG"
say "bench (MariaDB): logs in $H_LOG (H_KEEP=1 keeps them)"
step "starting PostgreSQL and MariaDB"
h_pg_start
h_psql "ALTER SYSTEM SET shared_buffers = '256MB'" "$H_PG_ADMIN_URL" > /dev/null
h_psql "ALTER SYSTEM SET max_wal_size = '8GB'" "$H_PG_ADMIN_URL" > /dev/null
h_psql "ALTER SYSTEM SET checkpoint_timeout = '30min'" "$H_PG_ADMIN_URL" > /dev/null
h_pg_stop
h_pg_start
CTL=$H_DATABASE_URL
h_migrate "$CTL" >> "$LOG" 2>&1
(umask 077 && head -c 32 /dev/urandom > "$H_VAR/secret.key")
h_mariadb_start
MY=(mariadb --no-defaults -uroot --socket="$H_MY_SOCKET" --default-character-set=utf8mb4)
# room for the table in memory, as PostgreSQL has; the bench user without a
# password (the harness's user has a random one the bench would have to seal)
"${MY[@]}" -e "SET GLOBAL innodb_buffer_pool_size = 512 * 1024 * 1024;
    ALTER USER '$H_MY_USER'@'127.0.0.1' IDENTIFIED BY '';
    ALTER USER '$H_MY_USER'@'%' IDENTIFIED BY '';" >> "$LOG" 2>&1
PG_VERSION=$(h_psql "SHOW server_version" "$CTL")
MY_VERSION=$("${MY[@]}" -N -B -e "SELECT VERSION()")
PSQL=("$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)

SLUICE_CMD=$H_TMP/sluice
{
    echo '#!/bin/sh'
    printf 'SLUICE_DATABASE_URL=%q SLUICE_VAR=%q SLUICE_SHARE_DIR=%q SLUICE_LOG_LEVEL=warn\n' \
        "$CTL" "$H_VAR" "$ROOT"
    echo 'export SLUICE_DATABASE_URL SLUICE_VAR SLUICE_SHARE_DIR SLUICE_LOG_LEVEL'
    printf 'exec %q "$@"\n' "$ROOT/bin/sluice"
} > "$SLUICE_CMD"
chmod 0755 "$SLUICE_CMD"

HAVE_GNU_TIME=0
[ -x /usr/bin/time ] && /usr/bin/time -f '%M' true > /dev/null 2>&1 && HAVE_GNU_TIME=1
# measure COMMAND...: M_SECONDS, M_RSS_KB (GNU time; 0 without it), M_RC
measure() {
    local t0 t1
    M_RSS_KB=0
    t0=$(now)
    if [ "$HAVE_GNU_TIME" = 1 ]; then
        /usr/bin/time -f '%M' -o "$H_TMP/.rss" "$@" >> "$LOG" 2>&1 && M_RC=0 || M_RC=$?
        M_RSS_KB=$(tail -n 1 "$H_TMP/.rss" | tr -dc '0-9')
    else
        "$@" >> "$LOG" 2>&1 && M_RC=0 || M_RC=$?
    fi
    t1=$(now)
    M_SECONDS=$(elapsed "$t0" "$t1")
}

# --- the table ---------------------------------------------------------------------------

# The PostgreSQL side of the baseline: the types sluice creates, and the key.
PG_COLS="id bigint, customer_id integer, quantity integer,
    status character varying(16), total numeric(12,2), attributes jsonb,
    created_at timestamp(6) with time zone, updated_at timestamp(6) without time zone,
    paid boolean, weight double precision"
PG_ORDERS="$PG_COLS, PRIMARY KEY (id)"
step "building orders in MariaDB ($ROWS rows)"
t0=$(now)
"${MY[@]}" "$H_MY_DB" >> "$LOG" 2>&1 <<SQL
SET time_zone = '+00:00';
CREATE TABLE orders (
    id          bigint NOT NULL PRIMARY KEY,
    customer_id int NOT NULL,
    quantity    int NOT NULL,
    status      varchar(16) NOT NULL,
    total       decimal(12,2) NOT NULL,
    attributes  json NOT NULL,
    created_at  timestamp(6) NOT NULL DEFAULT '2024-01-01 00:00:00',
    updated_at  datetime(6) NOT NULL,
    paid        tinyint(1) NOT NULL,
    weight      double NULL,
    KEY orders_updated_at_idx (updated_at)
) ENGINE=InnoDB;
INSERT INTO orders
SELECT seq,
       1 + (seq * 7919) % 250000,
       1 + seq % 7,
       ELT(1 + seq % 5, 'pending', 'paid', 'shipped', 'delivered', 'refunded'),
       ((seq * 104729) % 10000000) / 100.0,
       JSON_OBJECT('sku', CONCAT('SKU-', 1000 + seq % 5000),
                   'channel', ELT(1 + seq % 4, 'web', 'ios', 'android', 'pos'),
                   'gift', seq % 11 = 0,
                   'tags', JSON_ARRAY(CONCAT('t', seq % 13), CONCAT('t', seq % 17))),
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq * 20) SECOND,
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq * 20) SECOND + INTERVAL (seq % 97) HOUR,
       seq % 3 <> 0,
       IF(seq % 50 = 0, NULL, (seq % 9973) / 7.0e0)
FROM seq_1_to_$ROWS;
ANALYZE TABLE orders;
SQL
BUILD_S=$(elapsed "$t0" "$(now)")
TABLE_MB=$("${MY[@]}" -N -B -e "SELECT ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576)
    FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$H_MY_DB' AND TABLE_NAME = 'orders'")
say "built in $BUILD_S s ($TABLE_MB MB with indexes)"
# warm the buffer pool for both contenders alike
"${MY[@]}" -N -B -e "SELECT COUNT(*), SUM(LENGTH(attributes)) FROM $H_MY_DB.orders" >> "$LOG"

"${PSQL[@]}" -d "$CTL" >> "$LOG" 2>&1 <<SQL
INSERT INTO sluice.sources (name, type, host, port, database, username, ssl_mode)
VALUES ('bench maria', 'mariadb', '127.0.0.1', $H_MY_PORT, '$H_MY_DB', '$H_MY_USER', 'disable');
SQL
N_REG=0
# register NAME DEST_URL: a full-refresh pipeline of orders into DEST_URL's database.
register() {
    N_REG=$((N_REG + 1))
    "${PSQL[@]}" -d "$CTL" >> "$LOG" 2>&1 <<SQL
INSERT INTO sluice.destinations (name, type, host, port, database, username, ssl_mode)
VALUES ('bench my dest $N_REG', 'postgresql', '127.0.0.1', $H_PG_PORT, '${2##*/}', 'sluice',
        'disable');
WITH p AS (
    INSERT INTO sluice.pipelines (name, source_id, destination_id)
    SELECT '$1', s.id, d.id FROM sluice.sources s, sluice.destinations d
    WHERE s.name = 'bench maria' AND d.name = 'bench my dest $N_REG' RETURNING id)
INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table, sync_mode)
SELECT id, '', 'orders', 'full_refresh' FROM p;
SQL
}
checkpoint() { h_psql "CHECKPOINT" "$H_PG_ADMIN_URL" > /dev/null; }
count_in() { h_psql "SELECT count(*) FROM $2" "$1" 2> /dev/null || echo "?"; }

# --- (a) and (b), interleaved ---------------------------------------------------------------

BASE_DST=$(h_createdb mycopy)
A_TIMES=() B_TIMES=() B_RSS=()
SYNC_FAILED="" ROWS_OK=1
SELECT_ALL="SET time_zone = '+00:00'; SELECT id, customer_id, quantity, status, total,
    attributes, created_at, updated_at, paid, weight FROM $H_MY_DB.orders"
for rep in $(seq 1 "$REPS"); do
    step "(a) mariadb --batch | sed | psql \\copy, repetition $rep/$REPS"
    h_psql "SET client_min_messages = warning; DROP TABLE IF EXISTS public.orders;
            CREATE TABLE public.orders ($PG_ORDERS)" "$BASE_DST" > /dev/null
    checkpoint
    t0=$(now)
    "${MY[@]}" --batch --quick --skip-column-names -e "$SELECT_ALL" \
        | sed -e 's/\tNULL$/\t\\N/' \
        | PGTZ=UTC "${PSQL[@]}" -d "$BASE_DST" -c '\copy public.orders FROM STDIN'
    A_TIMES+=("$(elapsed "$t0" "$(now)")")
    n=$(count_in "$BASE_DST" public.orders)
    [ "$n" = "$ROWS" ] || { say "bench: the pipe copied $n rows, not $ROWS" >&2; exit 1; }
    say "${A_TIMES[-1]} s"

    [ -z "$SYNC_FAILED" ] || continue
    step "(b) sluice sync --full-refresh, repetition $rep/$REPS"
    dest=$(h_createdb myfull)
    register "bench_my_$rep" "$dest"
    checkpoint
    measure "$SLUICE_CMD" sync "bench_my_$rep" --full-refresh
    if [ "$M_RC" -ne 0 ]; then
        SYNC_FAILED=$(grep '^sluice sync: ' "$LOG" | tail -n 1 | cut -c1-200)
        SYNC_FAILED=${SYNC_FAILED:-exit status $M_RC}
        say "bench: sluice sync failed: $SYNC_FAILED" >&2
        continue
    fi
    B_TIMES+=("$M_SECONDS")
    B_RSS+=("$M_RSS_KB")
    n=$(count_in "$dest" analytics.orders)
    [ "$n" = "$ROWS" ] || ROWS_OK=0
    say "$M_SECONDS s, peak RSS $((M_RSS_KB / 1024)) MiB, $n rows at the destination"
    if [ "$rep" = 1 ]; then # the copies agree, row for row
        same=$(h_psql "CREATE EXTENSION IF NOT EXISTS dblink;
            SELECT count(*) FROM (SELECT id, customer_id, quantity, status, total, attributes,
                created_at, updated_at, paid, weight FROM analytics.orders
            EXCEPT SELECT * FROM dblink('dbname=${BASE_DST##*/} port=$H_PG_PORT
                host=127.0.0.1 user=sluice', 'SELECT * FROM public.orders')
                AS b($PG_COLS)) x" "$dest" 2>> "$LOG" | tail -n 1 || echo "?")
        say "rows that differ from the pipe's copy: $same"
        R_DIFF=$same
    fi
done

read -r A_MED A_MIN <<< "$(med_min "${A_TIMES[@]}")"
B_MED="" B_MIN="" B_RATIO="" B_RATIO_MIN="" RSS=""
if [ -z "$SYNC_FAILED" ]; then
    read -r B_MED B_MIN <<< "$(med_min "${B_TIMES[@]}")"
    B_RATIO=$(ratio "$B_MED" "$A_MED")
    B_RATIO_MIN=$(ratio "$B_MIN" "$A_MIN")
    RSS=$(printf '%s\n' "${B_RSS[@]}" | sort -n | tail -n 1)
fi

# --- (c) pgloader ---------------------------------------------------------------------------

C_TIMES=()
if command -v pgloader > /dev/null; then
    for rep in $(seq 1 "$REPS"); do
        step "(c) pgloader, repetition $rep/$REPS"
        dest=$(h_createdb mypgl)
        checkpoint
        t0=$(now)
        pgloader --quiet "mysql://$H_MY_USER@127.0.0.1:$H_MY_PORT/$H_MY_DB" "$dest" \
            >> "$LOG" 2>&1 || { say "bench: pgloader failed; see $LOG" >&2; C_TIMES=(); break; }
        C_TIMES+=("$(elapsed "$t0" "$(now)")")
        say "${C_TIMES[-1]} s"
    done
fi
C_MED="" C_MIN="" C_RATIO=""
if [ "${#C_TIMES[@]}" -gt 0 ]; then
    read -r C_MED C_MIN <<< "$(med_min "${C_TIMES[@]}")"
    [ -z "$B_MED" ] || C_RATIO=$(ratio "$B_MED" "$C_MED")
fi

# --- the section -----------------------------------------------------------------------------

fmt_s() { [ -n "${1:-}" ] && printf '%.2f s' "$1" || printf '%s' "${2:--}"; }
row() {
    local c out="|"
    for c in "$@"; do out+=" $c |"; done
    printf '%s\n' "$out"
}
NA="failed: ${SYNC_FAILED//|/\\|}"
section() {
    echo "## MariaDB -> PostgreSQL"
    echo
    echo "Produced by tests/bench/mysql.sh on $(date -u '+%Y-%m-%d %H:%M UTC'):"
    echo "MariaDB $MY_VERSION into PostgreSQL ${PG_VERSION%% *} (throwaway servers on this"
    echo "machine; InnoDB buffer pool 512 MB), table \`orders\`, $ROWS rows, $TABLE_MB MB with indexes"
    echo "(built in $(fmt_s "$BUILD_S")); $REPS repetitions, median and min; load average"
    echo "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo
    row measurement median min ratio target ""
    row --- --- --- --- --- ---
    # shellcheck disable=SC2016 # Markdown backquotes
    row '(a) `mariadb --batch --quick` \| sed \| `psql \copy`' "$(fmt_s "$A_MED")" \
        "$(fmt_s "$A_MIN")" 1.00 "" baseline
    row '(b) `sluice sync --full-refresh`' "$(fmt_s "$B_MED" "$NA")" "$(fmt_s "$B_MIN")" \
        "${B_RATIO:--} (min/min ${B_RATIO_MIN:--})" "<= $TARGET" "$(verdict "$B_RATIO" "$TARGET")"
    row "(c) pgloader" "$(fmt_s "$C_MED" "pgloader not installed")" "$(fmt_s "$C_MIN")" \
        "${C_RATIO:--} (sluice / pgloader)" "" ""
    echo
    echo "- every repetition (s): (a) ${A_TIMES[*]}; (b) ${B_TIMES[*]:--}; (c) ${C_TIMES[*]:--}"
    if [ -n "$RSS" ] && [ "$RSS" -gt 0 ]; then
        echo "- peak RSS of \`sluice sync\`: $(awk -v k="$RSS" 'BEGIN { printf "%.1f", k / 1024 }')"\
" MiB; rows at the destination: $([ "$ROWS_OK" = 1 ] && echo "all $ROWS" || echo "WRONG")"
    fi
    echo "- rows of sluice's copy that differ from the pipe's: ${R_DIFF:-not compared}"
    echo "- (a) prints NULL as the word NULL and sed makes it \\N (exact for this table only);"
    echo "  sluice converts every value itself (zero dates, bit, set, binary, FLOAT read exactly)."
}

step "results"
mkdir -p "$(dirname "$OUT")"
touch "$OUT"
# replace an earlier section (up to the next "## " heading), else append
awk 'BEGIN { skip = 0 }
     /^## MariaDB -> PostgreSQL$/ { skip = 1; next }
     skip && /^## / { skip = 0 }
     !skip { print }' "$OUT" > "$H_TMP/results"
{
    sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$H_TMP/results"
    echo
    section
} > "$OUT"
section
say ""
say "bench: wrote the MariaDB section of $OUT"
