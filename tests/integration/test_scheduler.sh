#!/usr/bin/env bash
# test_scheduler.sh - `sluice tick`'s scheduler against real PostgreSQL and
# real syncs, with the test clock SLUICE_NOW:
#   - the 'scheduler' settings row and its defaults;
#   - a due schedule queues one run (and it runs); a NULL next_run_at is
#     computed without firing, in the pipeline's time zone; catch-up once
#     after downtime; paused pipelines and never-firing schedules;
#   - a slot whose pipeline is running or queued is recorded as a skipped
#     run with the reason; depends_on: upstream failed / running / queued
#     skips, upstream succeeded runs;
#   - retries: an unreachable source fails, retries wait base * 2^(n-1)
#     +-20% (capped), are linked to the first run, stop after max_retries;
#     manual runs are not retried; jitter spreads;
#   - timeout_seconds: a slow sync is stopped at a chunk boundary and
#     recorded failed "timed out";
#   - kill -9 of a tick mid-sync: the run stays running while its heartbeat
#     is fresh, is left alone while another process holds the housekeeping
#     job's lock, then is failed "heartbeat lost" and retried to success;
#   - twenty ticks at once over more queued runs than max_concurrent_runs:
#     every run once, no pipeline twice at a time, never over the limit;
#   - a waiting tick fires a schedule at the minute boundary.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

TLOG=$H_LOG/ticks.log

# tick_at NOW ARGS...: bin/sluice tick with SLUICE_NOW=NOW ("" for the real
# clock); RC; its log appended to $TLOG.
tick_at() {
    local now=$1
    shift
    RC=0
    echo "--- tick $* (SLUICE_NOW=$now)" >> "$TLOG"
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_TICK_SECONDS=${TICK_SECONDS:-1} SLUICE_LOG_LEVEL=info SLUICE_NOW=$now \
        "$SLUICE" tick "$@" >> "$TLOG" 2>&1 < /dev/null || RC=$?
}
# iso OFFSET: the real time plus OFFSET seconds, as 2026-01-02T03:04:05Z.
iso() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
# only_active P...: pause every other pipeline and cancel their queued runs,
# so a section's clock moves nothing it does not look at.
only_active() {
    local ids
    ids=$(printf "'%s'," "$@")
    ctl "UPDATE sluice.pipelines SET status = CASE WHEN id IN (${ids%,}) THEN 'active'
           ELSE 'paused' END;
         UPDATE sluice_runs.runs SET status = 'cancelled', finished_at = now()
           WHERE status = 'queued' AND pipeline_id NOT IN (${ids%,})" > /dev/null
}
runs_of() { ctl "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = '$1' ${2:-}"; }
next_of() {
    ctl "SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
         FROM sluice.pipelines WHERE id = '$1'"
}
sched_pipe() { # sched_pipe NAME TABLE SCHEDULE [TZ]: a scheduled pipeline; prints its id
    local id
    id=$(pipe "$1")
    add_table "$id" "$2"
    ctl "UPDATE sluice.pipelines SET schedule = '$3', timezone = '${4:-UTC}' WHERE id = '$id'" \
        > /dev/null
    echo "$id"
}
due_now() { ctl "UPDATE sluice.pipelines SET next_run_at = now() - interval '1 minute'
                 WHERE id = '$1'" > /dev/null; }

src "CREATE TABLE small (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
     INSERT INTO small SELECT g, 'v' || g, now() FROM generate_series(1, 100) g;
     CREATE TABLE small2 (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
     INSERT INTO small2 SELECT g, 'w' || g, now() FROM generate_series(1, 50) g;" > /dev/null

# --- settings and usage ------------------------------------------------------------

assert_eq "the scheduler settings row and its defaults" \
    "4|3|30|3600|120" \
    "$(ctl "SELECT concat_ws('|', value->'max_concurrent_runs', value->'default_max_retries',
             value->'retry_base_seconds', value->'retry_max_seconds',
             value->'stuck_run_timeout_seconds') FROM sluice.settings WHERE key = 'scheduler'")"
assert_eq "runs.not_before exists" "timestamp with time zone" \
    "$(ctl "SELECT data_type FROM information_schema.columns WHERE table_schema = 'sluice_runs'
            AND table_name = 'runs' AND column_name = 'not_before'")"
sl tick --help
assert_contains "tick --help documents SLUICE_NOW as test-only" "$(cat "$OUT")" \
    "For tests only: SLUICE_NOW"
tick_at "yesterday-ish" --once
assert_eq "a bad SLUICE_NOW: exit 2" 2 "$RC"
assert_contains "naming it" "$(tail -n 3 "$TLOG")" "is not a timestamp"

# --- due schedules ------------------------------------------------------------------

PA=$(sched_pipe sched_a small '*/5 * * * *')
PZ=$(sched_pipe sched_ny small2 '0 9 * * *' America/New_York)
PP=$(sched_pipe sched_paused small '* * * * *')
PB=$(sched_pipe sched_bad small '* * * * *')
ctl "UPDATE sluice.pipelines SET status = 'paused' WHERE id = '$PP';
     UPDATE sluice.pipelines SET schedule = '61 * * * *' WHERE id = '$PB'" > /dev/null

tick_at 2030-01-01T00:02:00Z --once
assert_eq "tick with SLUICE_NOW exits 0" 0 "$RC"
assert_eq "a NULL next_run_at is computed on the clock" "2030-01-01 00:05:00" "$(next_of "$PA")"
assert_eq "without firing" 0 "$(runs_of "$PA")"
assert_eq "in the pipeline's time zone (09:00 New York = 14:00 UTC)" "2030-01-01 14:00:00" \
    "$(next_of "$PZ")"
assert_eq "a paused pipeline is left alone" "" "$(next_of "$PP")"
assert_eq "a schedule that never fires gets infinity" infinity \
    "$(ctl "SELECT next_run_at FROM sluice.pipelines WHERE id = '$PB'")"
assert_contains "with a warning" "$(cat "$TLOG")" "never fires"

tick_at 2030-01-01T00:05:00Z --once
assert_eq "the due schedule queued one scheduled run, and the tick ran it" \
    "1|scheduled|success|1" \
    "$(ctl "SELECT count(*) || '|' || min(trigger) || '|' || min(status) || '|' || min(attempt)
            FROM sluice_runs.runs WHERE pipeline_id = '$PA'")"
assert_eq "next_run_at moved to the next slot" "2030-01-01 00:10:00" "$(next_of "$PA")"
assert_eq "the rows arrived" 100 "$(dst "SELECT count(*) FROM analytics.small")"
tick_at 2030-01-01T00:06:00Z --once
assert_eq "not due again before the next slot" 1 "$(runs_of "$PA")"

# Downtime: next_run_at a month back; many slots missed, one run.
ctl "UPDATE sluice.pipelines SET next_run_at = '2029-12-01 00:00+00' WHERE id = '$PA'" \
    > /dev/null
tick_at 2030-01-01T00:07:30Z --once
assert_eq "catch-up once: one run for a month of missed slots" 2 \
    "$(runs_of "$PA" "AND trigger = 'scheduled'")"
assert_eq "and next_run_at in the future of the clock" "2030-01-01 00:10:00" "$(next_of "$PA")"
assert_eq "no skipped runs either" 0 "$(runs_of "$PA" "AND status = 'skipped'")"

# --- already running / queued -------------------------------------------------------

only_active "$PA"
FAKE=$(ctl "INSERT INTO sluice_runs.runs (pipeline_id, status, trigger, started_at, heartbeat_at,
              claimed_by) VALUES ('$PA', 'running', 'manual', now(), now(), 'elsewhere:1')
            RETURNING id")
due_now "$PA"
tick_at "" --once
assert_eq "a slot of a running pipeline is recorded skipped, with the reason" \
    "skipped|scheduled|already running|true" \
    "$(ctl "SELECT status || '|' || trigger || '|' || skip_reason || '|'
                   || (finished_at IS NOT NULL) FROM sluice_runs.runs
            WHERE pipeline_id = '$PA' ORDER BY id DESC LIMIT 1")"
assert_eq "with its run.skipped event" "already running" \
    "$(ctl "SELECT data->>'reason' FROM sluice_events.events WHERE type = 'run.skipped'
            AND stream = 'pipeline:$PA' ORDER BY id DESC LIMIT 1")"
assert_true "next_run_at moved on" \
    test "$(ctl "SELECT next_run_at > now() FROM sluice.pipelines WHERE id = '$PA'")" = t
assert_eq "the running run was left alone" running \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE id = $FAKE")"
ctl "UPDATE sluice_runs.runs SET status = 'success', finished_at = now() WHERE id = $FAKE" \
    > /dev/null
QR=$(ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger) VALUES ('$PA', 'manual')
          RETURNING id")
due_now "$PA"
tick_at "" --once
assert_eq "a slot of a queued pipeline is skipped too" "already queued" \
    "$(ctl "SELECT skip_reason FROM sluice_runs.runs WHERE pipeline_id = '$PA'
            AND status = 'skipped' ORDER BY id DESC LIMIT 1")"
assert_eq "and the queued run ran" success \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE id = $QR")"

# --- dependencies -------------------------------------------------------------------

UP=$(pipe upstream_pl)
add_table "$UP" small
DN=$(sched_pipe downstream_pl small2 '0 0 1 1 *')
ctl "UPDATE sluice.pipelines SET depends_on = '$UP' WHERE id = '$DN'" > /dev/null
only_active "$UP" "$DN"
last_dn() {
    ctl "SELECT status || '|' || coalesce(skip_reason, '') FROM sluice_runs.runs
         WHERE pipeline_id = '$DN' ORDER BY id DESC LIMIT 1"
}
ctl "INSERT INTO sluice_runs.runs (pipeline_id, status, trigger, started_at, finished_at, error)
     VALUES ('$UP', 'failed', 'manual', now(), now(), 'boom')" > /dev/null
due_now "$DN"
tick_at "" --once
assert_eq "upstream failed: skipped with the reason" "skipped|upstream upstream_pl failed" \
    "$(last_dn)"
UR=$(ctl "INSERT INTO sluice_runs.runs (pipeline_id, status, trigger, started_at, heartbeat_at,
            claimed_by) VALUES ('$UP', 'running', 'manual', now(), now(), 'elsewhere:2')
          RETURNING id")
due_now "$DN"
tick_at "" --once
assert_eq "upstream running: skipped" "skipped|upstream upstream_pl is running" "$(last_dn)"
ctl "UPDATE sluice_runs.runs SET status = 'success', finished_at = now() WHERE id = $UR" \
    > /dev/null
UQ=$(ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger) VALUES ('$UP', 'manual')
          RETURNING id")
due_now "$DN"
tick_at "" --once
assert_eq "upstream queued: skipped as running" "skipped|upstream upstream_pl is running" \
    "$(last_dn)"
assert_eq "the upstream's queued run then ran and succeeded" success \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE id = $UQ")"
due_now "$DN"
tick_at "" --once
assert_eq "upstream succeeded: the downstream runs" "success|" "$(last_dn)"
assert_eq "skipped slots are not retried and did not block it" "3|1" \
    "$(ctl "SELECT count(*) FILTER (WHERE status = 'skipped') || '|'
                   || count(*) FILTER (WHERE status = 'success')
            FROM sluice_runs.runs WHERE pipeline_id = '$DN'")"

# --- retries ------------------------------------------------------------------------

CLOSED=$(h_free_port)
DOWN_SRC=$(ctl "INSERT INTO sluice.sources (name, type, host, port, database, username)
    VALUES ('down', 'postgresql', '127.0.0.1', $CLOSED, 'x', 'sluice') RETURNING id")
down_pipe() { # down_pipe NAME MAX_RETRIES: a yearly pipeline on the unreachable source
    ctl "INSERT INTO sluice.pipelines (name, source_id, destination_id, schedule, max_retries)
         VALUES ('$1', '$DOWN_SRC', '$DEST_ID', '0 0 1 1 *', $2) RETURNING id"
}
RP=$(down_pipe retry_pl 2)
add_table "$RP" orders
only_active "$RP"
due_now "$RP"
tick_at "" --once
R1=$(ctl "SELECT id FROM sluice_runs.runs WHERE pipeline_id = '$RP' AND attempt = 1")
assert_eq "attempt 1 (scheduled) failed at connect" "failed|scheduled|true" \
    "$(ctl "SELECT status || '|' || trigger || '|' || (error LIKE '%$CLOSED%')
            FROM sluice_runs.runs WHERE id = $R1")"
assert_eq "a retry is queued: attempt 2, linked to the first run" "queued|retry|2|$R1" \
    "$(ctl "SELECT status || '|' || trigger || '|' || attempt || '|' || retry_of
            FROM sluice_runs.runs WHERE pipeline_id = '$RP' AND id > $R1")"
OFF=$(ctl "SELECT round(extract(epoch FROM r.not_before - f.finished_at)::numeric, 1)
           FROM sluice_runs.runs r, sluice_runs.runs f WHERE f.id = $R1 AND r.retry_of = $R1")
assert_true "not before finish + 30 s +-20% (got $OFF s)" \
    test "$(ctl "SELECT $OFF BETWEEN 23.5 AND 36.5")" = t
assert_contains "the failed run's log says when" \
    "$(ctl "SELECT string_agg(message, ' ') FROM sluice_runs.run_logs WHERE run_id = $R1")" \
    "attempt 2 of 3 queued as run"
tick_at "" --once
assert_eq "the retry is not claimed before not_before" queued \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE retry_of = $R1 AND attempt = 2")"

ctl "UPDATE sluice.settings SET value = value || '{\"retry_max_seconds\": 35}'
     WHERE key = 'scheduler'" > /dev/null
T2=$(iso 40)
tick_at "$T2" --once
assert_eq "at the clock past not_before, attempt 2 ran and failed" failed \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE retry_of = $R1 AND attempt = 2")"
assert_eq "attempt 3 queued, linked to the first run" "queued|retry|$R1" \
    "$(ctl "SELECT status || '|' || trigger || '|' || retry_of FROM sluice_runs.runs
            WHERE pipeline_id = '$RP' AND attempt = 3")"
OFF3=$(ctl "SELECT round(extract(epoch FROM not_before - '$T2'::timestamptz)::numeric, 1)
            FROM sluice_runs.runs WHERE retry_of = $R1 AND attempt = 3")
assert_true "its backoff (60 s) is capped by retry_max_seconds 35 with jitter (got $OFF3 s)" \
    test "$(ctl "SELECT $OFF3 BETWEEN 27.5 AND 36")" = t
tick_at "$(iso 120)" --once
assert_eq "attempt 3 ran, and max_retries 2 stops there" "3|3|1,2,3" \
    "$(ctl "SELECT count(*) || '|' || count(*) FILTER (WHERE status = 'failed') || '|'
                   || string_agg(attempt::text, ',' ORDER BY attempt)
            FROM sluice_runs.runs WHERE pipeline_id = '$RP'")"
tick_at "$(iso 4000)" --once
assert_eq "nothing more, even much later" 3 "$(runs_of "$RP")"
ctl "UPDATE sluice.settings SET value = value - 'retry_max_seconds' WHERE key = 'scheduler'" \
    > /dev/null

ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger) VALUES ('$RP', 'manual')" > /dev/null
tick_at "" --once
assert_eq "a manual run that fails is not retried" "failed|manual|0" \
    "$(ctl "SELECT status || '|' || trigger || '|' || (SELECT count(*) FROM sluice_runs.runs
             WHERE pipeline_id = '$RP' AND status = 'queued')
            FROM sluice_runs.runs WHERE pipeline_id = '$RP' ORDER BY id DESC LIMIT 1")"

# Jitter: six failures at once, six backoffs in 30 s +-20%, not all equal.
JP=()
for i in 1 2 3 4 5 6; do
    JP+=("$(down_pipe "jitter_$i" 3)")
    add_table "${JP[-1]}" orders
    due_now "${JP[-1]}"
done
only_active "${JP[@]}"
tick_at "" --once
JIT=$(ctl "SELECT count(*) || '|' || bool_and(extract(epoch FROM r.not_before - f.finished_at)
                                              BETWEEN 23.5 AND 36.5)
                  || '|' || count(DISTINCT round(extract(epoch FROM r.not_before)::numeric, 1))
           FROM sluice_runs.runs r JOIN sluice_runs.runs f ON f.id = r.retry_of
           WHERE r.trigger = 'retry' AND r.pipeline_id IN
             (SELECT id FROM sluice.pipelines WHERE name LIKE 'jitter_%')")
assert_eq "six retries, each 30 s +-20%" "6|true" "${JIT%|*}"
assert_true "jitter spreads them (${JIT##*|} distinct)" test "${JIT##*|}" -ge 3
ctl "UPDATE sluice.pipelines SET status = 'paused' WHERE id = '${JP[0]}'" > /dev/null
tick_at "" --once
assert_eq "pausing a pipeline skips its queued retry" "skipped|pipeline paused" \
    "$(ctl "SELECT status || '|' || skip_reason FROM sluice_runs.runs
            WHERE pipeline_id = '${JP[0]}' AND trigger = 'retry'")"
assert_eq "the other retries wait on" 5 \
    "$(ctl "SELECT count(*) FROM sluice_runs.runs WHERE trigger = 'retry' AND status = 'queued'
            AND pipeline_id IN (SELECT id FROM sluice.pipelines WHERE name LIKE 'jitter_%')")"

# --- timeout ------------------------------------------------------------------------

# A slow destination: a row trigger on the typed table sleeps (sleep_conf.s
# seconds a row); incremental merges fire it row by row.
dst "CREATE TABLE public.sleep_conf (s float8 NOT NULL);
     INSERT INTO public.sleep_conf VALUES (0.01);
     CREATE FUNCTION public.slow_row() RETURNS trigger LANGUAGE plpgsql AS
       \$\$ BEGIN PERFORM pg_sleep((SELECT s FROM public.sleep_conf)); RETURN NEW; END \$\$;" \
    > /dev/null
src "CREATE TABLE slow (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
     INSERT INTO slow VALUES (0, 'seed', '2024-01-01+00');" > /dev/null
SP=$(pipe slow_pl)
add_table "$SP" slow
only_active "$SP"
ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger) VALUES ('$SP', 'manual')" > /dev/null
tick_at "" --once
assert_eq "slow_pl: first sync" success "$(last_status)"
dst "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON analytics.slow
     FOR EACH ROW EXECUTE FUNCTION public.slow_row()" > /dev/null
src "INSERT INTO slow SELECT g, 'v', '2024-02-01+00'::timestamptz + g * interval '1 second'
     FROM generate_series(1, 3000) g" > /dev/null
ctl "UPDATE sluice.pipelines SET timeout_seconds = 10 WHERE id = '$SP';
     INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
     VALUES ('$SP', 'manual', '{\"chunk_rows\": 50}')" > /dev/null
T0=$(h_now_ms)
tick_at "" --once
EL=$(($(h_now_ms) - T0))
TR=$(last_run_id)
assert_eq "the slow run failed: timed out (not cancelled)" \
    "failed|timed out after 10 s (the pipeline's timeout_seconds)" \
    "$(ctl "SELECT status || '|' || error FROM sluice_runs.runs WHERE id = $TR")"
assert_true "stopped soon after 10 s (${EL} ms)" test "$EL" -ge 10000 -a "$EL" -lt 20000
LOADED=$(dst "SELECT count(*) FROM analytics.slow")
assert_true "at a chunk boundary: some rows loaded, not all ($LOADED)" \
    test "$LOADED" -gt 50 -a "$LOADED" -lt 3001
# The first chunk re-reads the seed row at the checkpoint (>=): whole chunks of 50.
assert_eq "whole chunks only" 0 "$((LOADED % 50))"
assert_contains "its log says so" \
    "$(ctl "SELECT string_agg(message, ' ') FROM sluice_runs.run_logs WHERE run_id = $TR")" \
    "timed out after 10 s"
assert_eq "a timed-out manual run is not retried" 0 \
    "$(runs_of "$SP" "AND status = 'queued'")"

# --- stuck run: kill -9 mid-sync ----------------------------------------------------

ctl "UPDATE sluice.pipelines SET timeout_seconds = 3600 WHERE id = '$SP'" > /dev/null
KR=$(ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
          VALUES ('$SP', 'scheduled', '{\"chunk_rows\": 50}') RETURNING id")
SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
    SLUICE_TICK_SECONDS=1 setsid "$SLUICE" tick --once >> "$TLOG" 2>&1 < /dev/null &
KPID=$!
moving() {
    [ "$(ctl "SELECT status = 'running' AND rows_done > 0 FROM sluice_runs.runs
              WHERE id = $KR")" = t ]
}
h_wait_for 20 moving || true
kill -KILL "$KPID" 2> /dev/null || true
wait "$KPID" 2> /dev/null || true
assert_eq "the killed tick's run is left running" running \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE id = $KR")"
dst "UPDATE public.sleep_conf SET s = 0" > /dev/null
tick_at "" --once
assert_eq "while its heartbeat is fresh, nobody fails it" running \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE id = $KR")"
# Another process holds the housekeeping job's lock: this tick leaves it.
"$H_PG_BIN/psql" -X -q -d "$H_DATABASE_URL" \
    -c "SELECT pg_advisory_lock(hashtext('sluice.tick.stuck_runs'))" \
    -c "SELECT pg_sleep(120)" > /dev/null 2>&1 &
LPID=$!
lock_held() {
    [ "$(ctl "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
              AND objid = hashtext('sluice.tick.stuck_runs')::oid")" = 1 ]
}
h_wait_for 10 lock_held || true
tick_at "$(iso 200)" --once
assert_eq "a tick without the job's lock leaves the stuck run alone" running \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE id = $KR")"
ctl "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'
     AND objid = hashtext('sluice.tick.stuck_runs')::oid" > /dev/null
wait "$LPID" 2> /dev/null || true
tick_at "$(iso 200)" --once
assert_eq "past stuck_run_timeout_seconds: failed, heartbeat lost" "failed|true" \
    "$(ctl "SELECT status || '|' || (error LIKE 'heartbeat lost%')
            FROM sluice_runs.runs WHERE id = $KR")"
assert_eq "and retried under the retry rules" "queued|retry|2" \
    "$(ctl "SELECT status || '|' || trigger || '|' || attempt FROM sluice_runs.runs
            WHERE retry_of = $KR")"
tick_at "$(iso 300)" --once
assert_eq "the retry ran to success" success \
    "$(ctl "SELECT status FROM sluice_runs.runs WHERE retry_of = $KR")"
assert_eq "every row is at the destination, once" "3001 3001" \
    "$(dst "SELECT count(*) || ' ' || count(DISTINCT id) FROM analytics.slow")"

# --- twenty ticks, max_concurrent_runs 3 ----------------------------------------------

CP=()
for i in 1 2 3 4 5 6 7 8; do
    src "CREATE TABLE conc_$i (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
         INSERT INTO conc_$i VALUES (0, 'seed', '2024-01-01+00');" > /dev/null
    CP+=("$(pipe "conc_$i")")
    add_table "${CP[-1]}" "conc_$i"
    ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger) VALUES ('${CP[-1]}', 'manual')" \
        > /dev/null
done
only_active "${CP[@]}"
tick_at "" --once
assert_eq "eight first syncs" 8 \
    "$(ctl "SELECT count(*) FROM sluice_runs.runs WHERE status = 'success'
            AND pipeline_id IN (SELECT id FROM sluice.pipelines WHERE name LIKE 'conc_%')")"
dst "UPDATE public.sleep_conf SET s = 0.02" > /dev/null
for i in 1 2 3 4 5 6 7 8; do
    dst "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON analytics.conc_$i
         FOR EACH ROW EXECUTE FUNCTION public.slow_row()" > /dev/null
    src "INSERT INTO conc_$i SELECT g, 'v', '2024-02-01+00'::timestamptz + g * interval '1 s'
         FROM generate_series(1, 60) g" > /dev/null
done
ctl "UPDATE sluice.settings SET value = value || '{\"max_concurrent_runs\": 3}'
     WHERE key = 'scheduler'" > /dev/null
FIRST=$(ctl "SELECT coalesce(max(id), 0) FROM sluice_runs.runs")
for p in "${CP[@]}" "${CP[0]}" "${CP[1]}" "${CP[2]}" "${CP[3]}"; do
    ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger) VALUES ('$p', 'manual')" > /dev/null
done
PIDS=()
for i in $(seq 20); do
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=info "$SLUICE" tick --once > /dev/null 2> "$H_TMP/conc-$i.log" &
    PIDS+=($!)
done
MAXRUN=0
SAMPLES=0
any_alive() {
    local p
    for p in "${PIDS[@]}"; do h_alive "$p" && return 0; done
    return 1
}
while any_alive; do
    n=$(ctl "SELECT count(*) FROM sluice_runs.runs WHERE status = 'running'")
    [ "$n" -le "$MAXRUN" ] || MAXRUN=$n
    SAMPLES=$((SAMPLES + 1))
    sleep 0.05
done
RCS=""
for p in "${PIDS[@]}"; do wait "$p" && RCS="${RCS}0" || RCS="${RCS}1"; done
assert_eq "twenty ticks exit 0" "$(printf '0%.0s' $(seq 20))" "$RCS"
assert_eq "all twelve runs succeeded" 12 \
    "$(ctl "SELECT count(*) FROM sluice_runs.runs WHERE id > $FIRST AND status = 'success'")"
assert_eq "sampled running runs ($SAMPLES samples): at most 3, and 3 were reached" 3 "$MAXRUN"
assert_eq "by their times, never more than 3 at once" t \
    "$(ctl "SELECT coalesce(max(n), 0) <= 3 FROM (SELECT (SELECT count(*)
              FROM sluice_runs.runs b WHERE b.id > $FIRST
              AND b.started_at <= a.started_at AND a.started_at < b.finished_at) AS n
            FROM sluice_runs.runs a WHERE a.id > $FIRST) s")"
assert_eq "no pipeline ran twice at a time" 0 \
    "$(ctl "SELECT count(*) FROM sluice_runs.runs a JOIN sluice_runs.runs b
            ON a.pipeline_id = b.pipeline_id AND a.id < b.id AND a.id > $FIRST
            AND a.started_at < b.finished_at AND b.started_at < a.finished_at")"
assert_eq "each run ran once (one tick log line, one end event each)" "12|12" \
    "$(cat "$H_TMP"/conc-*.log | grep -o 'running run [0-9]*' | sort | uniq | wc -l \
        | tr -d ' ')|$(ctl "SELECT count(*) FROM sluice_events.events
                            WHERE type = 'run.succeeded' AND correlation_id::bigint > $FIRST")"
assert_eq "no run line twice" "" \
    "$(cat "$H_TMP"/conc-*.log | grep -o 'running run [0-9]*' | sort | uniq -d)"
ctl "UPDATE sluice.settings SET value = value - 'max_concurrent_runs' WHERE key = 'scheduler'" \
    > /dev/null

# --- a waiting tick fires at the minute boundary --------------------------------------

only_active "$PA"
ctl "UPDATE sluice.pipelines SET schedule = '* * * * *',
       next_run_at = '2031-01-01 00:01:00+00' WHERE id = '$PA'" > /dev/null
BEFORE=$(runs_of "$PA")
TICK_SECONDS=8 tick_at 2031-01-01T00:00:57Z
assert_eq "the waiting tick exits 0" 0 "$RC"
assert_eq "it fired the schedule once" "$((BEFORE + 1))" "$(runs_of "$PA")"
# From the moment the tick read its clock (its "SLUICE_NOW is set" line).
T0=$(grep 'SLUICE_NOW is set' "$TLOG" | tail -n 1 | sed 's/.*"time":"\([^"]*\)".*/\1/')
T0=$(date -u -d "$T0" +%s%3N)
AT=$(ctl "SELECT round(extract(epoch FROM queued_at)::numeric * 1000) FROM sluice_runs.runs
          WHERE pipeline_id = '$PA' ORDER BY id DESC LIMIT 1")
assert_true "at the minute boundary, 3 s in, not at the 5 s poll ($((AT - T0)) ms)" \
    test "$((AT - T0))" -ge 2800 -a "$((AT - T0))" -lt 4500
assert_eq "next_run_at: the minute after" "2031-01-01 00:02:00" "$(next_of "$PA")"

h_done
