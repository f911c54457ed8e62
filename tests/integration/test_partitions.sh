#!/usr/bin/env bash
# test_partitions.sh - partition maintenance against real PostgreSQL, with
# the test clock SLUICE_NOW (as for `sluice tick`):
#   - the registry's seeded tables; premake makes exactly what is missing
#     (a partition made by hand under another name counts), in day, ISO week
#     and month widths; --dry-run changes nothing; a second run is a no-op;
#   - rows sitting in the default partition for a range being made (and for
#     a past range) move into it in batches and the attach succeeds, with
#     every row, index and no leftover CHECK; keys many rows share;
#   - a row inserted far in the future lands in the default partition and
#     moves out when its partition is premade, later;
#   - retention drops only whole old partitions: not one that reaches past
#     the cutoff, never the one holding now, never the default (the SQL
#     helper refuses both too); the reaper's dropped-partitions counter;
#   - archive: old partitions detached into the archive schema, rows kept;
#   - two `sluice partitions` and two `sluice tick --once` at once over rows
#     in the default: all exit 0, the final layout is exact, no row lost;
#   - a lock held elsewhere: "busy, retry later" recorded, exit 0, and the
#     next run does the work; the tick job with nothing due changes nothing;
#   - problems recorded (an unregistered/missing table, an overlapping range);
#   - the console: /partitions for viewers (default rows flagged), ?table=
#     paging, GET /api/v1/partitions (paging, 422), run now: confirmation page
#     and POST (admin only, audited), POST /api/v1/admin/partitions/run.
# C/SQL snowflake agreement is tests/unit/check_partman.c.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up
SLUICE=$H_ROOT/bin/sluice
OUT=$H_TMP/out
RC=0

ctl() { h_psql "$1"; }
sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn} "$SLUICE" "$@"
}
# pm NOW ARGS...: sluice partitions with SLUICE_NOW=NOW; RC, output in $OUT.
pm() {
    local now=$1
    shift
    RC=0
    SLUICE_NOW=$now sluice_cli partitions "$@" > "$OUT" 2>&1 < /dev/null || RC=$?
}
out() { cat "$OUT"; }
# parts TABLE: its partitions (names without schema) in range order.
parts() {
    ctl "SELECT coalesce(string_agg(split_part(partition, '.', 2), ' ' ORDER BY from_id), '')
         FROM sluice.partitions WHERE table_name = '$1' AND NOT is_default"
}
# mk_table NAME WIDTH PREMAKE: a table partitioned by snowflake id with a
# default partition and a second index, registered.
mk_table() {
    ctl "CREATE TABLE public.$1 (id bigint NOT NULL DEFAULT sluice.snowflake_id(), v text,
           at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
         CREATE TABLE public.${1}_default PARTITION OF public.$1 DEFAULT;
         CREATE INDEX ${1}_v_idx ON public.$1 (v);
         INSERT INTO sluice.partitioned_tables (table_name, width, premake)
         VALUES ('public.$1', '$2', $3)" > /dev/null
}
# rows TABLE TS N [STEP]: N rows from TS on, STEP apart (default 1 second).
rows() {
    ctl "INSERT INTO public.$1 (id, v, at)
         SELECT sluice.partition_id_for_ts(timestamptz '$2' + g * interval '${4:-1 second}')
                + g % 1000, 'r' || g, timestamptz '$2' + g * interval '${4:-1 second}'
         FROM generate_series(0, $3 - 1) g" > /dev/null
}
in_default() { ctl "SELECT count(*) FROM public.${1}_default"; }
result_of() { ctl "SELECT last_result FROM sluice.partitioned_tables WHERE table_name = '$1'"; }
error_of() {
    ctl "SELECT coalesce(last_error, '') FROM sluice.partitioned_tables WHERE table_name = '$1'"
}

# --- the registry -------------------------------------------------------------------

assert_eq "run_logs registered by day, 4 ahead, retention from the settings" \
    "day|4||run_logs_max_age_days|f" \
    "$(ctl "SELECT concat_ws('|', width, premake, coalesce(retention::text, ''), retention_setting,
                   archive)
            FROM sluice.partitioned_tables WHERE table_name = 'sluice_runs.run_logs'")"
assert_eq "events registered by week, retention from the settings" \
    "week|4|events_max_age_days" \
    "$(ctl "SELECT concat_ws('|', width, premake, retention_setting)
            FROM sluice.partitioned_tables WHERE table_name = 'sluice_events.events'")"
assert_eq "the settings give run_logs 30 days" "30 days" \
    "$(ctl "SELECT sluice.partition_retention(t) FROM sluice.partitioned_tables t
            WHERE table_name = 'sluice_runs.run_logs'")"
assert_eq "a fresh install: only the default partitions" \
    "sluice_events.events_default sluice_runs.run_logs_default" \
    "$(ctl "SELECT string_agg(partition, ' ' ORDER BY partition) FROM sluice.partitions")"
pm "" --help
assert_eq "sluice partitions --help" 0 "$RC"
assert_contains "--help names the options" "$(out)" "--dry-run"
pm "" --bogus
assert_eq "an unknown option is a usage error" 2 "$RC"
pm "" --table public.nope
assert_eq "an unregistered table is a usage error" 2 "$RC"
assert_contains "... and says so" "$(out)" "public.nope is not a registered"
pm "not a time"
assert_eq "a bad SLUICE_NOW is a usage error" 2 "$RC"

# --- premake: exactly what is missing -------------------------------------------------

mk_table t_day day 3
# One range of the window exists already, under a name of its own.
ctl "SELECT sluice.ensure_partition('public.t_day', '2026-03-05Z', '2026-03-06Z', 'my_0305')" \
    > /dev/null
OID_0305=$(ctl "SELECT 'public.my_0305'::regclass::oid")
pm 2026-03-04T10:00:00Z --table public.t_day --dry-run
assert_eq "dry run exits 0" 0 "$RC"
assert_eq "dry run: three planned" 3 "$(grep -c ': planned' "$OUT" || true)"
assert_contains "dry run names the ranges" "$(out)" \
    "create public.t_day_p20260304 [2026-03-04 00:00, 2026-03-05 00:00): planned (premake)"
assert_eq "dry run changes nothing" "my_0305" "$(parts public.t_day)"
assert_eq "dry run records nothing" "" "$(result_of public.t_day)"

pm 2026-03-04T10:00:00Z --table public.t_day
assert_eq "premake exits 0" 0 "$RC"
assert_eq "premake: now and 3 ahead, the hand-made one kept" \
    "t_day_p20260304 my_0305 t_day_p20260306 t_day_p20260307" "$(parts public.t_day)"
assert_eq "three done lines" 3 "$(grep -c ': done' "$OUT" || true)"
assert_eq "the hand-made partition is the same table" "$OID_0305" \
    "$(ctl "SELECT 'public.my_0305'::regclass::oid")"
assert_eq "result recorded" "created 3 partitions" "$(result_of public.t_day)"
assert_eq "bounds are the snowflake ids of UTC midnights" "t|t" \
    "$(ctl "SELECT concat_ws('|',
              from_id = sluice.partition_id_for_ts('2026-03-06Z'),
              to_id = sluice.partition_id_for_ts('2026-03-07Z'))
            FROM sluice.partitions WHERE partition = 'public.t_day_p20260306'")"
assert_eq "the view shows the range as times" "2026-03-06 00:00:00+00|2026-03-07 00:00:00+00" \
    "$(ctl "SET TimeZone = 'UTC'; SELECT from_ts || '|' || to_ts FROM sluice.partitions
            WHERE partition = 'public.t_day_p20260306'" | tail -n 1)"
assert_eq "partitions got the parent's indexes" 2 \
    "$(ctl "SELECT count(*) FROM pg_index WHERE indrelid = 'public.t_day_p20260306'::regclass")"
SNAP=$(ctl "SELECT string_agg(c.oid::text, ',' ORDER BY c.oid) FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.t_day'::regclass")
pm 2026-03-04T10:00:00Z --table public.t_day
assert_eq "second run exits 0" 0 "$RC"
assert_contains "second run: nothing created" "$(out)" "partitions: 0 created"
assert_eq "second run: the same tables" "$SNAP" \
    "$(ctl "SELECT string_agg(c.oid::text, ',' ORDER BY c.oid) FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.t_day'::regclass")"
assert_eq "second run by hand records nothing to do" "nothing to do" "$(result_of public.t_day)"

mk_table t_week week 2
mk_table t_month month 2
pm 2026-12-30T23:59:59Z --table public.t_week
assert_eq "ISO weeks across a year end (Monday starts)" \
    "t_week_p2026w53 t_week_p2027w01 t_week_p2027w02" "$(parts public.t_week)"
assert_eq "week 53 starts Monday 2026-12-28" "2026-12-28 00:00:00+00" \
    "$(ctl "SET TimeZone = 'UTC'; SELECT from_ts FROM sluice.partitions
            WHERE partition = 'public.t_week_p2026w53'" | tail -n 1)"
pm 2026-11-15T00:00:00Z --table public.t_month
assert_eq "months" "t_month_p202611 t_month_p202612 t_month_p202701" "$(parts public.t_month)"
assert_eq "December is 31 days" "31 days" \
    "$(ctl "SELECT to_ts - from_ts FROM sluice.partitions
            WHERE partition = 'public.t_month_p202612'")"

# --- rows in the default partition ------------------------------------------------------

ctl "UPDATE sluice.partitioned_tables SET batch_rows = 1000 WHERE table_name = 'public.t_day'" \
    > /dev/null
rows t_day '2026-03-08 00:00Z' 25000 '3 seconds'   # a range about to be premade
rows t_day '2026-03-01 12:00Z' 7                     # a past range without a partition
rows t_day '2026-03-06 00:00Z' 5                     # a range with a partition
assert_eq "rows without a partition wait in the default" 25007 "$(in_default t_day)"
SUM_BEFORE=$(ctl "SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(v, ',' ORDER BY id))
                  FROM public.t_day")
pm 2026-03-05T10:00:00Z --table public.t_day
assert_eq "maintenance with rows in the default exits 0" 0 "$RC"
assert_contains "25,000 rows moved into the new range" "$(out)" \
    "create public.t_day_p20260308 [2026-03-08 00:00, 2026-03-09 00:00): done, 25,000 rows moved"
assert_contains "the past range holding rows is made too" "$(out)" \
    "create public.t_day_p20260301 [2026-03-01 00:00, 2026-03-02 00:00): done, 7 rows moved"
assert_eq "the default partition is empty" 0 "$(in_default t_day)"
assert_eq "the new partition holds its rows" 25000 \
    "$(ctl "SELECT count(*) FROM public.t_day_p20260308")"
assert_eq "every row is there, unchanged" "$SUM_BEFORE" \
    "$(ctl "SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(v, ',' ORDER BY id))
            FROM public.t_day")"
assert_eq "the moved partition is attached" "t" \
    "$(ctl "SELECT relispartition FROM pg_class WHERE oid = 'public.t_day_p20260308'::regclass")"
assert_eq "no helper CHECK constraint left" 0 \
    "$(ctl "SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.t_day_p20260308'::regclass
            AND contype = 'c'")"
assert_eq "its indexes are the parent's (attached)" 2 \
    "$(ctl "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid
            WHERE x.indrelid = 'public.t_day_p20260308'::regclass")"
assert_eq "the planner's estimate is fresh (ANALYZE after the move)" 25000 \
    "$(ctl "SELECT est_rows FROM sluice.partitions WHERE partition = 'public.t_day_p20260308'")"
assert_eq "only the tables rows went into and out of were analyzed" "true|true|false" \
    "$(ctl "SELECT string_agg((last_analyze IS NULL)::text, '|' ORDER BY n) FROM (VALUES
              (1, 'sluice.settings'), (2, 'public.t_week_default'), (3, 'public.t_day_default'))
            AS v(n, t) JOIN pg_stat_user_tables s ON s.relid = v.t::regclass")"
assert_eq "recorded" "created 2 partitions, moved 25,007 rows out of the default partition" \
    "$(result_of public.t_day)"
assert_eq "the key's uniqueness still holds across the table" 0 \
    "$(ctl "SELECT count(*) FROM (SELECT id FROM public.t_day GROUP BY id HAVING count(*) > 1) d")"

# Keys need not be unique: batches step past a key that many rows share.
ctl "CREATE TABLE public.t_dup (id bigint NOT NULL, v text) PARTITION BY RANGE (id);
     CREATE TABLE public.t_dup_default PARTITION OF public.t_dup DEFAULT;
     CREATE INDEX t_dup_id_idx ON public.t_dup (id);
     INSERT INTO public.t_dup SELECT sluice.partition_id_for_ts('2026-03-04 01:00Z') + g / 5, 'd'
     FROM generate_series(0, 49) g" > /dev/null
MOVED=$(ctl "SELECT rows_moved FROM sluice.ensure_partition('public.t_dup', '2026-03-04Z',
             '2026-03-05Z', 't_dup_0304', 3)")
assert_eq "keys shared by 5 rows each: all 50 move in batches of 3" "50|50|0" \
    "$MOVED|$(ctl "SELECT count(*) FROM public.t_dup_0304")|$(in_default t_dup)"

# --- a row far in the future ------------------------------------------------------------

ctl "INSERT INTO public.t_day (id, v) VALUES
     (sluice.partition_id_for_ts('2026-06-01 08:00Z') + 1, 'future')" > /dev/null
assert_eq "a far-future row lands in the default" 1 "$(in_default t_day)"
pm 2026-03-05T11:00:00Z --table public.t_day
assert_eq "it stays there while its range is not premade" 1 "$(in_default t_day)"
assert_eq "(nothing was due)" "nothing to do" "$(result_of public.t_day)"
pm 2026-05-30T12:00:00Z --table public.t_day
assert_eq "later, premade: exit 0" 0 "$RC"
assert_eq "... and moved out of the default" 0 "$(in_default t_day)"
assert_eq "... into its own partition" "future" \
    "$(ctl "SELECT v FROM public.t_day_p20260601")"

# --- retention ------------------------------------------------------------------------

# At 2026-05-30 12:00 with 10 days the cutoff is 2026-05-20 12:00: 05-19 is
# entirely older, 05-20 reaches past the cutoff.
ctl "SELECT sluice.ensure_partition('public.t_day', '2026-05-19Z', '2026-05-20Z');
     SELECT sluice.ensure_partition('public.t_day', '2026-05-20Z', '2026-05-21Z');
     UPDATE sluice.partitioned_tables SET retention = '10 days'
     WHERE table_name = 'public.t_day'" > /dev/null
rows t_day '2026-05-19 03:00Z' 4
rows t_day '2026-05-20 03:00Z' 6
DROPPED0=$(ctl "SELECT partitions_dropped FROM sluice.reaper_status")
pm 2026-05-30T12:00:00Z --table public.t_day
assert_eq "retention exits 0" 0 "$RC"
assert_eq "only whole partitions older than the retention are dropped" \
    "t_day_p20260520 t_day_p20260530 t_day_p20260531 t_day_p20260601 t_day_p20260602" \
    "$(parts public.t_day)"
assert_eq "the rows of the partition reaching past the cutoff stay" 6 \
    "$(ctl "SELECT count(*) FROM public.t_day_p20260520")"
assert_eq "the default partition stays" 1 \
    "$(ctl "SELECT count(*) FROM sluice.partitions WHERE table_name = 'public.t_day'
            AND is_default")"
assert_contains "recorded" "$(result_of public.t_day)" "dropped 7"
assert_eq "the reaper's counter counts dropped partitions" 7 \
    "$(( $(ctl "SELECT partitions_dropped FROM sluice.reaper_status") - DROPPED0 ))"
ctl "UPDATE sluice.partitioned_tables SET retention = '1 hour'
     WHERE table_name = 'public.t_day'" > /dev/null
pm 2026-05-30T12:00:00Z --table public.t_day
assert_eq "with 1 hour: 05-20 goes, the partition holding now stays" \
    "t_day_p20260530 t_day_p20260531 t_day_p20260601 t_day_p20260602" "$(parts public.t_day)"
RC=0
ctl "SELECT sluice.drop_partition('public.t_day_default')" > /dev/null 2> "$OUT" || RC=$?
assert_eq "drop_partition refuses the default" 1 "$RC"
assert_contains "... saying why" "$(out)" "is the default partition"
RC=0
ctl "SELECT sluice.drop_partition('public.t_day_p20260530', NULL, '2026-05-30 12:00Z')" \
    > /dev/null 2> "$OUT" || RC=$?
assert_eq "drop_partition refuses the partition holding now" 1 "$RC"
assert_contains "... saying why" "$(out)" "holds the present"

# --- archive ----------------------------------------------------------------------------

mk_table t_arch week 1
ctl "UPDATE sluice.partitioned_tables SET retention = '14 days', archive = true,
     archive_schema = 'old_parts' WHERE table_name = 'public.t_arch'" > /dev/null
pm 2026-02-02T00:00:00Z --table public.t_arch
rows t_arch '2026-02-03 00:00Z' 50 '1 minute'
pm 2026-03-09T10:00:00Z --table public.t_arch
assert_eq "archive run exits 0" 0 "$RC"
assert_eq "old weeks leave the table" "t_arch_p2026w11 t_arch_p2026w12" "$(parts public.t_arch)"
assert_eq "... into the archive schema, detached" "t_arch_p2026w06:false|t_arch_p2026w07:false" \
    "$(ctl "SELECT string_agg(c.relname || ':' || c.relispartition, '|' ORDER BY c.relname)
            FROM pg_class c WHERE c.relnamespace = 'old_parts'::regnamespace AND c.relkind = 'r'")"
assert_eq "... with their rows" "50|0" \
    "$(ctl "SELECT (SELECT count(*) FROM old_parts.t_arch_p2026w06) || '|'
                   || (SELECT count(*) FROM old_parts.t_arch_p2026w07)")"
assert_contains "recorded as archived" "$(result_of public.t_arch)" "archived 2"
assert_eq "the parent no longer sees the archived rows" 0 \
    "$(ctl "SELECT count(*) FROM public.t_arch")"

# --- concurrency ------------------------------------------------------------------------

mk_table t_conc day 4
rows t_conc '2026-04-01 00:00Z' 200000 '2 seconds'   # 4.6 days of rows, all in the default
CONC_SUM=$(ctl "SELECT count(*) || ':' || sum(id) FROM public.t_conc")
ctl "UPDATE sluice.partitioned_tables SET batch_rows = 5000 WHERE table_name = 'public.t_conc'" \
    > /dev/null
PIDS=()
for i in 1 2; do
    SLUICE_NOW=2026-04-01T06:00:00Z sluice_cli partitions --table public.t_conc \
        > "$H_TMP/conc$i.out" 2>&1 < /dev/null &
    PIDS+=($!)
    SLUICE_NOW=2026-04-01T06:00:00Z SLUICE_TICK_SECONDS=1 sluice_cli tick --once \
        > "$H_TMP/tick$i.out" 2>&1 < /dev/null &
    PIDS+=($!)
done
RCS=""
for p in "${PIDS[@]}"; do
    rc=0
    wait "$p" || rc=$?
    RCS+="$rc "
done
assert_eq "two sluice partitions and two ticks at once all exit 0" "0 0 0 0 " "$RCS"
assert_eq "the layout is exact" \
    "t_conc_p20260401 t_conc_p20260402 t_conc_p20260403 t_conc_p20260404 t_conc_p20260405" \
    "$(parts public.t_conc)"
assert_eq "no row lost or doubled" "$CONC_SUM" \
    "$(ctl "SELECT count(*) || ':' || sum(id) FROM public.t_conc")"
assert_eq "the default partition is empty" 0 "$(in_default t_conc)"
assert_eq "no errors recorded" "" "$(error_of public.t_conc)"

# --- lock timeout -------------------------------------------------------------------------

mk_table t_lock day 1
rows t_lock '2026-04-10 01:00Z' 10
# Another session reads the default partition and keeps its lock for 8 s.
"$H_PG_BIN/psql" -X -q -d "$H_DATABASE_URL" -c "BEGIN; LOCK TABLE public.t_lock_default IN
    ACCESS SHARE MODE; SELECT pg_sleep(8); COMMIT;" > /dev/null 2>&1 &
HOLDER=$!
h_defer kill "$HOLDER"
lock_held() {
    [ "$(ctl "SELECT count(*) FROM pg_locks WHERE relation = 'public.t_lock_default'::regclass
              AND mode = 'AccessShareLock' AND granted AND pid <> pg_backend_pid()")" -gt 0 ]
}
h_wait_for 10 lock_held || true
T0=$(h_now_ms)
pm 2026-04-10T06:00:00Z --table public.t_lock
T1=$(h_now_ms)
assert_eq "a lock held elsewhere: exit 0" 0 "$RC"
assert_contains "reported busy" "$(out)" ": busy (canceling statement due to lock timeout)"
assert_contains "the summary counts it" "$(out)" "1 table busy (retry later), 0 failed"
assert_contains "recorded: busy, retry later" "$(result_of public.t_lock)" \
    "busy, retry later: canceling statement due to lock timeout"
assert_eq "not an error" "" "$(error_of public.t_lock)"
assert_true "gave up after about 2 s, without waiting for the holder" \
    test $((T1 - T0)) -lt 6000
assert_eq "nothing half-made: no partition, rows still in the default" ":10" \
    "$(parts public.t_lock):$(in_default t_lock)"
wait "$HOLDER" 2> /dev/null || true
pm 2026-04-10T06:00:00Z --table public.t_lock
assert_eq "after the holder: the next run does it" "t_lock_p20260410 t_lock_p20260411" \
    "$(parts public.t_lock)"
assert_eq "... and the rows moved" 0 "$(in_default t_lock)"

# --- the tick's job -----------------------------------------------------------------------

mk_table t_tick day 2
SLUICE_NOW=2026-07-01T00:30:00Z SLUICE_TICK_SECONDS=1 sluice_cli tick --once > "$OUT" 2>&1 \
    || true
assert_eq "a tick makes the partitions of a newly registered table" \
    "t_tick_p20260701 t_tick_p20260702 t_tick_p20260703" "$(parts public.t_tick)"
LAST=$(ctl "SELECT string_agg(table_name || '=' || coalesce(last_run_at::text, ''), ',')
            FROM sluice.partitioned_tables")
SLUICE_NOW=2026-07-01T00:31:00Z SLUICE_TICK_SECONDS=1 sluice_cli tick --once > "$OUT" 2>&1 \
    || true
assert_eq "a tick with nothing due writes nothing" "$LAST" \
    "$(ctl "SELECT string_agg(table_name || '=' || coalesce(last_run_at::text, ''), ',')
            FROM sluice.partitioned_tables")"

# --- problems -----------------------------------------------------------------------------

ctl "INSERT INTO sluice.partitioned_tables (table_name) VALUES ('public.gone');
     CREATE TABLE public.t_plain (id bigint);
     INSERT INTO sluice.partitioned_tables (table_name) VALUES ('public.t_plain')" > /dev/null
pm 2026-07-01T00:31:00Z --table public.gone
assert_eq "a registered table that does not exist: exit 1" 1 "$RC"
assert_eq "... recorded" "no table public.gone" "$(error_of public.gone)"
pm 2026-07-01T00:31:00Z --table public.t_plain
assert_eq "an unpartitioned table: exit 1" 1 "$RC"
assert_eq "... recorded" "public.t_plain is not a partitioned table" "$(error_of public.t_plain)"
# A partition made by hand over part of a day range blocks that range only.
ctl "SELECT sluice.ensure_partition('public.t_tick', '2026-07-04 12:00Z', '2026-07-05 12:00Z',
     'half_days')" > /dev/null
pm 2026-07-02T00:00:00Z --table public.t_tick
assert_eq "an overlapping range: exit 1" 1 "$RC"
assert_contains "... recorded with the partition in the way" "$(error_of public.t_tick)" \
    "overlaps partition public.half_days"
assert_eq "... and the other ranges are made" \
    "t_tick_p20260701 t_tick_p20260702 t_tick_p20260703 half_days" "$(parts public.t_tick)"
ctl "DELETE FROM sluice.partitioned_tables WHERE table_name IN ('public.gone', 'public.t_plain');
     DROP TABLE public.half_days" > /dev/null

# --- the console ------------------------------------------------------------------------

AD_EMAIL=admin@example.com AD_PW='admin-pass-1234'
V_EMAIL=viewer@example.com V_PW='viewer-pass-1234'
printf '%s\n' "$AD_PW" | sluice_cli user add --email "$AD_EMAIL" --role admin --name Ad > /dev/null
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi > /dev/null
AD_TOKEN=$(sluice_cli token create --email "$AD_EMAIL" --name tests 2> /dev/null)
V_TOKEN=$(sluice_cli token create --email "$V_EMAIL" --name tests 2> /dev/null)
csrf_in() {
    printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
        | sed 's/.*value="//; s/"$//'
}
login() {
    local jar=$1 tok
    rm -f "$jar"
    h_get "$H_URL/login" -b "$jar" -c "$jar"
    tok=$(csrf_in || true)
    h_get "$H_URL/login" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" \
        --data-urlencode "email=$2" --data-urlencode "password=$3" --data-urlencode "next=/"
}
page() {
    local jar=$1 path=$2
    shift 2
    h_get "$H_URL$path" -b "$jar" -c "$jar" "$@"
}
api() {
    local method=$1 path=$2 token=$3
    shift 3
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $token" "$@"
}
jsq() {
    printf '%s' "$H_BODY" | node -e '
        const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const v = eval(process.argv[1]);
        process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
    ' "$1"
}
JA=$H_TMP/admin.jar
JV=$H_TMP/viewer.jar
login "$JA" "$AD_EMAIL" "$AD_PW"
assert_eq "admin signs in" 303 "$H_STATUS"
login "$JV" "$V_EMAIL" "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# A row in t_day's default partition to flag (far from the real now).
ctl "INSERT INTO public.t_day (id, v) VALUES
     (sluice.partition_id_for_ts(now() + interval '400 days'), 'far')" > /dev/null
page "$JV" /partitions
assert_eq "viewer: GET /partitions" 200 "$H_STATUS"
assert_contains "every registered table" "$H_BODY" 'data-table="sluice_runs.run_logs"'
assert_contains "... the test tables too" "$H_BODY" 'data-table="public.t_conc"'
assert_contains "ranges as UTC times" "$H_BODY" "2026-04-03 00:00"
assert_contains "the default partition's rows flagged" "$H_BODY" \
    '<span class="badge badge-warn" data-testid="default-flag">1 row</span>'
assert_contains "the last result" "$H_BODY" "$(result_of public.t_conc)"
assert_contains "the nav marks the page" "$H_BODY" 'href="/partitions" aria-current="page"'
if [[ $H_BODY == *'href="/partitions/run"'* ]]; then
    fail "viewers get no run button"
else
    ok "viewers get no run button"
fi
page "$JV" /partitions/run
assert_eq "viewer: GET /partitions/run -> 403" 403 "$H_STATUS"
page "$JV" "/partitions?table=public.t_conc"
assert_eq "one table: 200" 200 "$H_STATUS"
assert_contains "... its partitions" "$H_BODY" "public.t_conc_p20260405"
if [[ $H_BODY == *'data-table="public.t_day"'* ]]; then
    fail "... only that table"
else
    ok "... only that table"
fi
page "$JV" "/partitions?table=public.nope"
assert_eq "an unknown table: 404" 404 "$H_STATUS"
page "$JV" "/partitions?bogus=1"
assert_eq "an undeclared parameter: 400" 400 "$H_STATUS"
page "$JV" "/partitions?table=public.t_conc&page=0"
assert_eq "page 0: 400" 400 "$H_STATUS"
# Paging: 60 partitions of one table.
mk_table t_many day 59
pm 2026-01-01T00:00:00Z --table public.t_many
page "$JV" "/partitions?table=public.t_many"
assert_eq "paging: the first page lists 50" 50 \
    "$(grep -c '<td><code>public.t_many_p2026[0-9]*</code>' <<< "$H_BODY")"
assert_contains "... newest first" "$H_BODY" "public.t_many_p20260301"
assert_contains "... and links to older" "$H_BODY" \
    'href="/partitions?table=public.t_many&amp;page=2" rel="next"'
page "$JV" "/partitions?table=public.t_many&page=2"
assert_eq "page 2 lists the other 10" 10 \
    "$(grep -c '<td><code>public.t_many_p2026[0-9]*</code>' <<< "$H_BODY")"
assert_contains "... the oldest" "$H_BODY" "public.t_many_p20260101"
page "$JV" /partitions
assert_contains "all tables: a link to the rest" "$H_BODY" \
    'href="/partitions?table=public.t_many"'

api GET /api/v1/partitions "$V_TOKEN"
assert_eq "viewer: GET /api/v1/partitions" 200 "$H_STATUS"
assert_eq "items by table name" \
    "$(printf '%s,' public.t_arch public.t_conc public.t_day public.t_lock public.t_many \
        public.t_month public.t_tick public.t_week sluice_events.events)sluice_runs.run_logs" \
    "$(jsq 'd.items.map(t => t.table).join(",")')"
assert_eq "t_day's default holds the far row" '{"rows":1,"rows_capped":false}' \
    "$(jsq 'const t = d.items.find(t => t.table === "public.t_day");
            ({rows: t.default_partition.rows, rows_capped: t.default_partition.rows_capped})')"
assert_eq "t_conc's partitions, newest first (the tick at 2026-07-01 made July's)" \
    "public.t_conc_p20260705 public.t_conc_p20260401" \
    "$(jsq 'const p = d.items.find(t => t.table === "public.t_conc").partitions;
            [p[0].partition, p[p.length - 1].partition].join(" ")')"
assert_eq "... with ranges as times and the estimate" \
    "2026-04-05T00:00:00Z 2026-04-06T00:00:00Z 27200 false" \
    "$(jsq 'const p = d.items.find(t => t.table === "public.t_conc").partitions
                .find(p => p.partition === "public.t_conc_p20260405");
            [p.from, p.to, p.est_rows, p.current].join(" ")')"
assert_eq "t_conc's retention and counts" "|10|false" \
    "$(jsq 'const t = d.items.find(t => t.table === "public.t_conc");
            [t.effective_retention, t.partitions_count, t.archive].join("|")')"
assert_eq "run_logs: retention from the settings, and what is due now" "30 days|create|premake" \
    "$(jsq 'const t = d.items.find(t => t.table === "sluice_runs.run_logs");
            [t.effective_retention, t.due[0].action, t.due[0].detail].join("|")')"
api GET "/api/v1/partitions?limit=3" "$V_TOKEN"
C1=$(jsq 'd.next_cursor')
assert_eq "?limit=3: three" 3 "$(jsq 'd.items.length')"
api GET "/api/v1/partitions?limit=3&cursor=$C1" "$V_TOKEN"
assert_eq "?cursor=: the next three" "public.t_lock,public.t_many,public.t_month" \
    "$(jsq 'd.items.map(t => t.table).join(",")')"
api GET "/api/v1/partitions?limit=0&bogus=1" "$V_TOKEN"
assert_eq "bad paging and undeclared parameters: 422" 422 "$H_STATUS"
assert_eq "... per field" '["bogus","limit"]' "$(jsq 'Object.keys(d.errors).sort()')"
api GET "/api/v1/partitions?table=public.t_lock" "$V_TOKEN"
assert_eq "?table=" "public.t_lock" "$(jsq 'd.items.map(t => t.table).join(",")')"

api POST /api/v1/admin/partitions/run "$V_TOKEN"
assert_eq "viewer: POST /api/v1/admin/partitions/run -> 403" 403 "$H_STATUS"
api POST /api/v1/admin/partitions/run "$AD_TOKEN"
assert_eq "admin: POST /api/v1/admin/partitions/run -> 200" 200 "$H_STATUS"
assert_eq "the run made run_logs' partitions (now and 4 ahead)" 5 \
    "$(ctl "SELECT count(*) FROM sluice.partitions WHERE table_name = 'sluice_runs.run_logs'
            AND NOT is_default")"
assert_eq "... and says what it did" "0|0" "$(jsq '[d.failed, d.busy].join("|")')"
assert_true "... per action" \
    test "$(jsq 'd.actions.filter(a => a.outcome === "done").length')" -ge 10
assert_eq "the run is audited" 1 \
    "$(ctl "SELECT count(*) FROM sluice.audit_log WHERE action = 'partitions.run'")"

page "$JA" /partitions
assert_contains "admin: the run button" "$H_BODY" 'href="/partitions/run"'
mk_table t_web day 1
page "$JA" /partitions/run
assert_eq "admin: the confirmation page" 200 "$H_STATUS"
assert_contains "... lists what is due" "$H_BODY" "public.t_web_p"
CS=$(csrf_in)
page "$JA" /partitions/run -X POST --data-urlencode "_csrf=$CS"
assert_eq "admin: POST /partitions/run -> 303" 303 "$H_STATUS"
assert_eq "... back to /partitions" /partitions "$(h_header Location)"
assert_eq "... done" 2 "$(ctl "SELECT count(*) FROM sluice.partitions
                              WHERE table_name = 'public.t_web' AND NOT is_default")"
page "$JA" /partitions
assert_contains "the flash says so" "$H_BODY" "Maintenance done: 2 partitions created"
assert_eq "audited twice now" 2 \
    "$(ctl "SELECT count(*) FROM sluice.audit_log WHERE action = 'partitions.run'")"
page "$JA" /partitions/run -X POST --data-urlencode "_csrf=wrong"
assert_eq "a wrong CSRF token: 403" 403 "$H_STATUS"
page "$JV" /partitions
CS=$(csrf_in)
page "$JV" /partitions/run -X POST --data-urlencode "_csrf=$CS"
assert_eq "viewer: POST /partitions/run -> 403" 403 "$H_STATUS"

h_done
