#!/usr/bin/env bash
# test_runs.sh - runs end to end, through nginx and the real `sluice` binary:
# queueing over the API (202, validation, roles) and from the pipeline page
# (CSRF, Sync now, Backfill, the Full refresh confirmation), `sluice tick`
# claiming and running queued runs (a source that cannot be reached ends the
# run 'failed' with the connector's message in the run and its log), five
# ticks started at once never running a run twice, a waiting tick starting
# a newly queued run within a second, cancels (queued: at once; running:
# requested), a lost heartbeat failing the run, `sluice sync`, the runs list
# (filters, keyset pages), the run page (stats, logs with levels and "load
# older", quality, dead letters read from the destination, retry), the API
# shapes, viewers refused on every change, and the audit trail.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=SCRIPTDIR/../lib/console.sh
. "$(dirname "$0")/../lib/console.sh"

h_stack_up

ED_EMAIL=ed@example.com
ED_PW='editor-pass-5678'
V_EMAIL=vi@example.com
V_PW='viewer-pass-4321'

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn} "$H_ROOT/bin/sluice" "$@"
}
printf '%s\n' "$ED_PW" | sluice_cli user add --email "$ED_EMAIL" --role editor --name Ed \
    > /dev/null
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi \
    > /dev/null
ED_TOKEN=$(sluice_cli token create --email "$ED_EMAIL" --name tests 2> /dev/null)
V_TOKEN=$(sluice_cli token create --email "$V_EMAIL" --name tests 2> /dev/null)
assert_true "editor token made" test -n "$ED_TOKEN"

# Sources that cannot be reached (a closed port): every sync fails fast at
# connect. The destination is this PostgreSQL (dead letters are read there);
# a second destination is closed too.
DBNAME=${H_DATABASE_URL##*/}
CLOSED_PORT=$(h_free_port)
h_psql "INSERT INTO sluice.sources (id, name, type, host, port, database, username)
  VALUES ('00000000-0000-4000-8000-0000000000a1', 'downdb', 'postgresql', '127.0.0.1',
          $CLOSED_PORT, 'shop', 'sluice');
  INSERT INTO sluice.destinations (id, name, type, host, port, database, username, is_default)
  VALUES ('00000000-0000-4000-8000-0000000000b1', 'warehouse', 'postgresql', '127.0.0.1',
          $H_PG_PORT, '$DBNAME', 'sluice', true),
         ('00000000-0000-4000-8000-0000000000b2', 'gone', 'postgresql', '127.0.0.1',
          $CLOSED_PORT, 'x', 'sluice', false);
  INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES
   ('10000000-0000-4000-8000-000000000001', 'orders_pl', '00000000-0000-4000-8000-0000000000a1',
    '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000002', 'events_pl', '00000000-0000-4000-8000-0000000000a1',
    '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000003', 'third_pl', '00000000-0000-4000-8000-0000000000a1',
    '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000004', 'remote_pl', '00000000-0000-4000-8000-0000000000a1',
    '00000000-0000-4000-8000-0000000000b2');
  INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table, sync_mode) VALUES
   ('10000000-0000-4000-8000-000000000001', 'public', 'orders', 'incremental'),
   ('10000000-0000-4000-8000-000000000001', 'public', 'customers', 'full_refresh'),
   ('10000000-0000-4000-8000-000000000002', 'public', 'events', 'full_refresh'),
   ('10000000-0000-4000-8000-000000000003', 'public', 'things', 'full_refresh');" > /dev/null
P1=10000000-0000-4000-8000-000000000001
P2=10000000-0000-4000-8000-000000000002
P3=10000000-0000-4000-8000-000000000003
P4=10000000-0000-4000-8000-000000000004

JE=$H_TMP/editor.jar
JV=$H_TMP/viewer.jar

H_LOGIN_NET=127.0.3 # console.sh: each sign-in from its own address (nginx limits /login)
run_status() { h_psql "SELECT status FROM sluice_runs.runs WHERE id = $1"; }
status_is() { [ "$(run_status "$1")" = "$2" ]; }
location_run() { h_header Location | sed -n 's|^/runs/\([0-9]*\)$|\1|p'; }

login "$JE" "$ED_EMAIL" "$ED_PW"
assert_eq "editor signs in" 303 "$H_STATUS"
login "$JV" "$V_EMAIL" "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# --- queue over the API ------------------------------------------------------------

api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"mode":"sync"}'
assert_eq "POST /api/v1/pipelines/{id}/runs -> 202" 202 "$H_STATUS"
R1=$(jget id)
assert_eq "the answer says queued" queued "$(jget status)"
assert_eq "links.self" "/api/v1/runs/$R1" "$(jget links.self)"
assert_eq "links.html" "/runs/$R1" "$(jget links.html)"
assert_eq "Location header" "/api/v1/runs/$R1" "$(h_header Location)"
assert_eq "the run is queued in the database" queued "$(run_status "$R1")"
assert_eq "trigger manual, requested by the token's user" "manual|$ED_EMAIL|{}" \
    "$(h_psql "SELECT trigger || '|' || requested_by_email || '|' || options::text
               FROM sluice_runs.runs WHERE id = $R1")"

api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" \
    -d '{"mode":"full_refresh","tables":["public.orders","orders","public.orders"]}'
assert_eq "full refresh of a table -> 202" 202 "$H_STATUS"
R2=$(jget id)
assert_eq "full refresh options and trigger (duplicates dropped)" \
    'full_refresh|{"tables": ["public.orders", "orders"], "full_refresh": true}' \
    "$(h_psql "SELECT trigger || '|' || options::text FROM sluice_runs.runs WHERE id = $R2")"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" \
    -d '{"mode":"backfill","backfill_from":"2024-01-01"}'
assert_eq "backfill -> 202" 202 "$H_STATUS"
R3=$(jget id)
assert_eq "backfill options" 'backfill|2024-01-01' \
    "$(h_psql "SELECT trigger || '|' || (options->>'backfill_from')
               FROM sluice_runs.runs WHERE id = $R3")"
api POST "/api/v1/pipelines/$P2/runs" "$ED_TOKEN"
assert_eq "an empty body means sync" 202 "$H_STATUS"
R4=$(jget id)

api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"mode":"backfill"}'
assert_eq "backfill without a value -> 422" 422 "$H_STATUS"
assert_true "errors.backfill_from" test -n "$(jget errors.backfill_from)"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"mode":"sync","backfill_from":"x"}'
assert_eq "backfill_from with sync -> 422" 422 "$H_STATUS"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"mode":"bogus"}'
assert_eq "unknown mode -> 422" "422 yes" "$H_STATUS $( [ -n "$(jget errors.mode)" ] && echo yes)"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"tables":["public.nope"]}'
assert_eq "a table not in the pipeline -> 422" 422 "$H_STATUS"
assert_contains "errors.tables names it" "$(jget errors.tables)" "public.nope"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"tables":"public.orders"}'
assert_eq "tables not an array -> 422" 422 "$H_STATUS"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"mode":"sync","priority":1}'
assert_eq "unknown field -> 422" "422 unknown field" "$H_STATUS $(jget errors.priority)"
api POST "/api/v1/pipelines/$P1/runs" "$ED_TOKEN" -d '{"mode":'
assert_eq "bad JSON -> 400" 400 "$H_STATUS"
h_get "$H_URL/api/v1/pipelines/$P1/runs" -H "Authorization: Bearer $ED_TOKEN" \
    -H 'Content-Type: text/plain' -d 'x'
assert_eq "not JSON -> 415" 415 "$H_STATUS"
api POST "/api/v1/pipelines/nope/runs" "$ED_TOKEN" -d '{}'
assert_eq "malformed pipeline id -> 404" 404 "$H_STATUS"
api POST "/api/v1/pipelines/10000000-0000-4000-8000-00000000ffff/runs" "$ED_TOKEN" -d '{}'
assert_eq "unknown pipeline -> 404" 404 "$H_STATUS"
api POST "/api/v1/pipelines/$P1/runs" "$V_TOKEN" -d '{"mode":"sync"}'
assert_eq "viewer cannot queue (API) -> 403" 403 "$H_STATUS"
assert_eq "nothing queued by refused requests" 4 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs")"
assert_eq "audit rows for the API queues" 4 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'run.queue'
               AND actor_email = '$ED_EMAIL' AND object_type = 'run'")"

# --- queue from the pipeline page ------------------------------------------------

page "$JE" "/pipelines/$P1"
assert_eq "pipeline page 200" 200 "$H_STATUS"
assert_contains "Sync now button" "$H_BODY" 'data-testid="sync-now"'
assert_contains "Full refresh goes to a confirmation" "$H_BODY" \
    "/pipelines/$P1/runs/new?mode=full_refresh"
assert_contains "Backfill from field, labelled" "$H_BODY" "<label for=\"backfill-from-$P1\">"
assert_contains "recent runs on the pipeline page" "$H_BODY" "/runs/$R1"
CS=$(csrf_in)
page "$JE" "/pipelines/$P1/runs" -d mode=sync
assert_eq "page POST without CSRF -> 403" 403 "$H_STATUS"
page "$JE" "/pipelines/$P1/runs" --data-urlencode "_csrf=$CS" -d mode=sync
assert_eq "Sync now -> 303" 303 "$H_STATUS"
R5=$(location_run)
assert_true "redirected to the new run" test -n "$R5"
assert_eq "queued by the editor" "queued|manual|$ED_EMAIL" \
    "$(h_psql "SELECT status || '|' || trigger || '|' || requested_by_email
               FROM sluice_runs.runs WHERE id = ${R5:-0}")"
page "$JE" "/runs/$R5"
assert_contains "flash says queued" "$H_BODY" "queued as run $R5"
page "$JE" "/pipelines/$P1/runs" --data-urlencode "_csrf=$CS" -d mode=backfill \
    -d backfill_from=
assert_eq "Backfill without a value -> 422" 422 "$H_STATUS"
assert_contains "the field says what to enter" "$H_BODY" 'id="backfill_from-error"'
assert_contains "aria-invalid on it" "$H_BODY" 'aria-invalid="true"'
page "$JE" "/pipelines/$P1/runs" --data-urlencode "_csrf=$CS" -d mode=backfill \
    --data-urlencode "backfill_from=2024-06-01 00:00:00"
assert_eq "Backfill from a value -> 303" 303 "$H_STATUS"
R6=$(location_run)
assert_eq "backfill queued" "backfill|2024-06-01 00:00:00" \
    "$(h_psql "SELECT trigger || '|' || (options->>'backfill_from')
               FROM sluice_runs.runs WHERE id = ${R6:-0}")"
page "$JE" "/pipelines/$P1/runs/new?mode=full_refresh"
assert_eq "full refresh confirmation page" 200 "$H_STATUS"
assert_contains "it asks first" "$H_BODY" "Yes, full refresh"
assert_contains "with data-confirm for scripts" "$H_BODY" 'data-confirm='
page "$JE" "/pipelines/$P1/runs" --data-urlencode "_csrf=$CS" -d mode=full_refresh
assert_eq "confirmed full refresh -> 303" 303 "$H_STATUS"
R7=$(location_run)
assert_eq "full refresh queued" "full_refresh|true" \
    "$(h_psql "SELECT trigger || '|' || (options->>'full_refresh')
               FROM sluice_runs.runs WHERE id = ${R7:-0}")"

page "$JV" "/pipelines/$P1"
assert_lacks "viewers see no Sync now" "$H_BODY" 'data-testid="sync-now"'
assert_contains "viewers see the recent runs" "$H_BODY" "/runs/$R7"
VCS=$(csrf_in)
page "$JV" "/pipelines/$P1/runs" --data-urlencode "_csrf=$VCS" -d mode=sync
assert_eq "viewer cannot queue (page) -> 403" 403 "$H_STATUS"
page "$JV" "/pipelines/$P1/runs/new?mode=sync"
assert_eq "viewer cannot open the run form -> 403" 403 "$H_STATUS"

# --- cancel ------------------------------------------------------------------------

page "$JE" "/runs/$R7/cancel"
assert_eq "cancel confirmation page" 200 "$H_STATUS"
assert_contains "it says the queued run goes at once" "$H_BODY" "cancelled at once"
CS=$(csrf_in)
page "$JE" "/runs/$R7/cancel" --data-urlencode "_csrf=$CS"
assert_eq "cancel a queued run -> 303" 303 "$H_STATUS"
assert_eq "the queued run is cancelled at once" "cancelled|cancelled before it started" \
    "$(h_psql "SELECT status || '|' || error FROM sluice_runs.runs WHERE id = $R7")"
assert_eq "with a run.cancelled event" "run.cancelled|pipeline:$P1|cancelled" \
    "$(h_psql "SELECT type || '|' || stream || '|' || (data->>'status')
               FROM sluice_events.events WHERE correlation_id = '$R7'")"
api POST "/api/v1/runs/$R6/cancel" "$V_TOKEN"
assert_eq "viewer cannot cancel -> 403" 403 "$H_STATUS"
api POST "/api/v1/runs/$R6/cancel" "$ED_TOKEN"
assert_eq "API cancel of a queued run -> 200" "200 cancelled false" \
    "$H_STATUS $(jget status) $(jget cancel_requested)"
api POST "/api/v1/runs/$R6/cancel" "$ED_TOKEN"
assert_eq "cancelling it again is harmless -> 200" "200 cancelled" "$H_STATUS $(jget status)"
api POST "/api/v1/runs/99999/cancel" "$ED_TOKEN"
assert_eq "cancel of an unknown run -> 404" 404 "$H_STATUS"
assert_eq "cancels are audited" 3 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'run.cancel'")"

# --- ticks run queued runs ---------------------------------------------------------

# Left queued: R1 R2 R3 (orders_pl), R4 (events_pl), R5 (orders_pl).
T0=$(h_now_ms)
sluice_cli tick --once 2> "$H_TMP/tick1.log" && TICK_RC=0 || TICK_RC=$?
assert_eq "tick --once exits 0" 0 "$TICK_RC"
assert_eq "every queued run was claimed and failed" 0 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE status IN ('queued', 'running')")"
assert_eq "oldest first" "$R1 $R2 $R3 $R4 $R5" \
    "$(h_psql "SELECT string_agg(id::text, ' ' ORDER BY started_at, id) FROM sluice_runs.runs
               WHERE status = 'failed'")"
ERR=$(h_psql "SELECT error FROM sluice_runs.runs WHERE id = $R1")
assert_contains "the run's error is the connector's (host:port)" "$ERR" "127.0.0.1:$CLOSED_PORT"
assert_eq "the error is in the run's log too" t \
    "$(h_psql "SELECT count(*) > 0 FROM sluice_runs.run_logs WHERE run_id = $R1
               AND level = 'error' AND position(\$q\$$ERR\$q\$ IN message) > 0")"
assert_eq "one run.failed event per run" "5|5" \
    "$(h_psql "SELECT count(*) || '|' || count(DISTINCT correlation_id) FROM sluice_events.events
               WHERE type = 'run.failed'")"
assert_eq "event data" "orders_pl|failed|$P1|$R1" \
    "$(h_psql "SELECT concat_ws('|', data->>'pipeline_name', data->>'status',
                                data->>'pipeline_id', data->>'run_id')
               FROM sluice_events.events WHERE type = 'run.failed' AND correlation_id = '$R1'")"

api POST "/api/v1/runs/$R1/cancel" "$ED_TOKEN"
assert_eq "cancelling a failed run -> 409" 409 "$H_STATUS"
assert_eq "and it stays failed" failed "$(run_status "$R1")"

# Five ticks at once over six queued runs of three pipelines: each run is
# claimed once, runs of one pipeline never overlap.
QUEUED=()
for p in $P1 $P2 $P3 $P1 $P2 $P3; do
    api POST "/api/v1/pipelines/$p/runs" "$ED_TOKEN" -d '{}'
    QUEUED+=("$(jget id)")
done
PIDS=()
for i in 1 2 3 4 5; do
    sluice_cli tick --once 2> "$H_TMP/tick-par-$i.log" &
    PIDS+=($!)
done
RCS=""
for p in "${PIDS[@]}"; do
    wait "$p" && RCS="$RCS 0" || RCS="$RCS $?"
done
assert_eq "five ticks exit 0" " 0 0 0 0 0" "$RCS"
IDS=$(IFS=,; echo "${QUEUED[*]}")
assert_eq "all six runs finished" 6 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE id IN ($IDS) AND status = 'failed'")"
assert_eq "each run ran once (one end event, one runner error line each)" "6|6|6" \
    "$(h_psql "SELECT (SELECT count(*) FROM sluice_events.events
                      WHERE correlation_id IN (SELECT id::text FROM sluice_runs.runs
                                               WHERE id IN ($IDS))) || '|' ||
                     (SELECT count(*) FROM sluice_runs.run_logs WHERE run_id IN ($IDS)
                      AND message LIKE 'run failed:%') || '|' ||
                     (SELECT count(DISTINCT run_id) FROM sluice_runs.run_logs
                      WHERE run_id IN ($IDS) AND message LIKE 'run failed:%')")"
assert_eq "each claimed run says who ran it" 6 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE id IN ($IDS)
               AND claimed_by ~ ':[0-9]+$'")"
assert_eq "runs of one pipeline never overlapped" 0 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs a JOIN sluice_runs.runs b
               ON a.pipeline_id = b.pipeline_id AND a.id < b.id
               AND a.started_at < b.finished_at AND b.started_at < a.finished_at")"

# A waiting tick (LISTEN) starts a newly queued run within a second; of five
# waiting ticks exactly one runs it.
PIDS=()
for i in 1 2 3 4 5; do
    SLUICE_LOG_LEVEL=info SLUICE_TICK_SECONDS=4 sluice_cli tick 2> "$H_TMP/tick-wait-$i.log" &
    PIDS+=($!)
done
sleep 1
api POST "/api/v1/pipelines/$P2/runs" "$ED_TOKEN" -d '{}'
RW=$(jget id)
h_wait_for 5 status_is "$RW" failed || true
assert_eq "the queued run ran" failed "$(run_status "$RW")"
assert_eq "it started within a second of being queued" t \
    "$(h_psql "SELECT started_at - queued_at < interval '1 second'
               FROM sluice_runs.runs WHERE id = $RW")"
for p in "${PIDS[@]}"; do wait "$p" || true; done
assert_eq "exactly one tick ran it" 1 \
    "$(grep -l "running run $RW" "$H_TMP"/tick-wait-*.log 2> /dev/null | wc -l | tr -d ' ')"

# --- a running run: cancel request, lost heartbeat ---------------------------------

RR=$(h_psql "INSERT INTO sluice_runs.runs (pipeline_id, status, started_at, heartbeat_at,
               claimed_by) VALUES ('$P3', 'running', now(), now(), 'elsewhere:1') RETURNING id")
api POST "/api/v1/runs/$RR/cancel" "$ED_TOKEN"
assert_eq "API cancel of a running run -> 202, requested" "202 running true" \
    "$H_STATUS $(jget status) $(jget cancel_requested)"
assert_eq "cancel_requested recorded" t \
    "$(h_psql "SELECT cancel_requested FROM sluice_runs.runs WHERE id = $RR")"
page "$JE" "/runs/$RR"
assert_contains "the page says it is stopping" "$H_BODY" 'data-testid="cancel-requested"'
assert_contains "a running run's page refreshes itself without scripts" "$H_BODY" \
    '<noscript><meta http-equiv="refresh" content="2"></noscript>'
assert_contains "and loads the live script" "$H_BODY" '/static/js/runs.js'
h_psql "UPDATE sluice_runs.runs SET heartbeat_at = now() - interval '3 minutes'
        WHERE id = $RR" > /dev/null
api POST "/api/v1/pipelines/$P3/runs" "$ED_TOKEN" -d '{}'
RB=$(jget id)
sluice_cli tick --once 2> "$H_TMP/tick-stale.log" || true
assert_eq "a lost heartbeat fails the run" "failed|true" \
    "$(h_psql "SELECT status || '|' || (error LIKE 'heartbeat lost%')
               FROM sluice_runs.runs WHERE id = $RR")"
assert_eq "with its run.failed event" 1 \
    "$(h_psql "SELECT count(*) FROM sluice_events.events
               WHERE correlation_id = '$RR' AND type = 'run.failed'")"
assert_eq "the pipeline's queued run then ran" failed "$(run_status "$RB")"
page "$JE" "/runs/$RR"
assert_lacks "finished runs do not refresh" "$H_BODY" 'http-equiv="refresh"'

# --- sluice sync -------------------------------------------------------------------

sluice_cli sync orders_pl > "$H_TMP/sync.out" 2> "$H_TMP/sync.err" && SRC_RC=0 || SRC_RC=$?
assert_eq "sluice sync of an unreachable source exits 1" 1 "$SRC_RC"
assert_contains "it prints the run's log lines" "$(cat "$H_TMP/sync.out")" "ERROR"
assert_contains "and the outcome" "$(cat "$H_TMP/sync.out")" ": failed"
assert_eq "recorded as a cli run" "failed|cli" \
    "$(h_psql "SELECT status || '|' || trigger FROM sluice_runs.runs ORDER BY id DESC LIMIT 1")"
sluice_cli sync "$P2" > /dev/null 2>&1 && RC=0 || RC=$?
assert_eq "by id too (exit 1: failed)" "1 $P2" \
    "$RC $(h_psql "SELECT pipeline_id FROM sluice_runs.runs ORDER BY id DESC LIMIT 1")"
sluice_cli sync nope > /dev/null 2> "$H_TMP/sync.err" && RC=0 || RC=$?
assert_eq "unknown pipeline: exit 1" 1 "$RC"
assert_contains "says so" "$(cat "$H_TMP/sync.err")" "no pipeline is called 'nope'"
sluice_cli sync > /dev/null 2>&1 && RC=0 || RC=$?
assert_eq "no pipeline given: exit 2" 2 "$RC"
sluice_cli sync orders_pl --full-refresh --backfill-from 1 > /dev/null 2>&1 && RC=0 || RC=$?
assert_eq "conflicting options: exit 2" 2 "$RC"
assert_contains "--help" "$(sluice_cli sync --help)" "--backfill-from VALUE"

# --- a real sync: source and destination are this PostgreSQL -----------------------

h_psql "CREATE SCHEMA shop;
  CREATE TABLE shop.orders (id int PRIMARY KEY, amount numeric(12,2),
                            updated_at timestamptz NOT NULL);
  INSERT INTO shop.orders SELECT g, g * 1.25, now() - g * interval '1 second'
  FROM generate_series(1, 5000) g;
  ANALYZE shop.orders;
  INSERT INTO sluice.sources (id, name, type, host, port, database, username, schema_include)
  VALUES ('00000000-0000-4000-8000-0000000000a2', 'shopdb', 'postgresql', '127.0.0.1',
          $H_PG_PORT, '$DBNAME', 'sluice', '{shop}');
  INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES
   ('10000000-0000-4000-8000-000000000005', 'real_pl', '00000000-0000-4000-8000-0000000000a2',
    '00000000-0000-4000-8000-0000000000b1');
  INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table)
  VALUES ('10000000-0000-4000-8000-000000000005', 'shop', 'orders');" > /dev/null
P5=10000000-0000-4000-8000-000000000005
api POST "/api/v1/pipelines/$P5/runs" "$ED_TOKEN" -d '{"mode":"sync"}'
RS=$(jget id)
sluice_cli tick --once 2> "$H_TMP/tick-real.log" || true
assert_eq "a real sync succeeds" "success|5000|5000|1/1" \
    "$(h_psql "SELECT status || '|' || rows_loaded || '|' || rows_done || '|'
               || tables_done || '/' || tables_total FROM sluice_runs.runs WHERE id = $RS")"
assert_eq "the rows are at the destination" 5000 \
    "$(h_psql "SELECT count(*) FROM analytics.orders")"
api GET "/api/v1/runs/$RS" "$V_TOKEN"
assert_eq "its progress reached 100%" "100 5000 success" \
    "$(jsq '[d.progress.percent, d.tables[0].rows_extracted, d.tables[0].status].join(" ")')"
assert_eq "its run.succeeded event" "5000|real_pl" \
    "$(h_psql "SELECT (data->>'rows') || '|' || (data->>'pipeline_name')
               FROM sluice_events.events WHERE correlation_id = '$RS' AND type = 'run.succeeded'")"
page "$JV" "/runs/$RS"
assert_contains "the run page shows the table" "$H_BODY" '<code>shop.orders</code>'
assert_contains "and the engine's log lines" "$H_BODY" 'class="log-info"'

# --- a run with stats, logs, quality and dead letters ------------------------------

RD=$(h_psql "INSERT INTO sluice_runs.runs (pipeline_id, status, trigger, queued_at, started_at,
               finished_at, rows_done, rows_estimate, rows_extracted, rows_loaded,
               dead_letters, quality_failures, tables_total, tables_done)
             VALUES ('$P1', 'success', 'manual', now() - interval '1 hour',
               now() - interval '1 hour', now() - interval '59 minutes', 1500, 1500, 1502,
               1500, 2, 1, 2, 2) RETURNING id")
h_psql "INSERT INTO sluice_runs.run_table_stats (run_id, source_schema, source_table,
          target_table, status, mode, rows_extracted, rows_loaded, rows_failed,
          watermark_column, watermark_before, watermark_after, finished_at, duration_ms)
        VALUES ($RD, 'public', 'orders', 'orders', 'success', 'incremental', 1002, 1000, 2,
                'updated_at', '2024-01-01', '2024-02-01', now(), 1234),
               ($RD, 'public', 'customers', NULL, 'success', 'full_refresh', 500, 500, 0,
                NULL, NULL, NULL, now(), 50);
        INSERT INTO sluice_runs.quality_log (run_id, pipeline_id, table_name, check_type,
          status, expected, actual, columns, message)
        VALUES ($RD, '$P1', 'public.orders', 'not_null', 'failed', 0, 2, '{email}',
                '2 NULLs in email');
        INSERT INTO sluice_runs.run_logs (run_id, level, table_name, message)
        SELECT $RD, CASE WHEN g % 50 = 0 THEN 'error' WHEN g % 10 = 0 THEN 'warn'
                         ELSE 'info' END, 'public.orders', 'line ' || g
        FROM generate_series(1, 250) g;
        SET client_min_messages = warning;
        CREATE SCHEMA IF NOT EXISTS staging;
        CREATE TABLE IF NOT EXISTS staging._dead_letters (id bigserial PRIMARY KEY,
          pipeline_id uuid NOT NULL, run_id bigint NOT NULL, source_name text NOT NULL,
          source_schema text NOT NULL, table_name text NOT NULL, row_data jsonb NOT NULL,
          error_text text, failed_at timestamptz NOT NULL DEFAULT now(),
          retried_at timestamptz, resolved_at timestamptz);
        INSERT INTO staging._dead_letters (pipeline_id, run_id, source_name, source_schema,
          table_name, row_data, error_text)
        VALUES ('$P1', $RD, 'downdb', 'public', 'orders', '{\"id\": 7, \"amount\": \"x<b>\"}',
                'invalid input syntax for type numeric: \"x<b>\"'),
               ('$P1', $RD, 'downdb', 'public', 'orders', '{\"id\": 8}', 'null value');" \
    > /dev/null

page "$JV" "/runs/$RD"
assert_eq "run page 200 for a viewer" 200 "$H_STATUS"
assert_contains "status" "$H_BODY" \
    '<span class="badge badge-ok" data-run-status data-testid="status">success</span>'
assert_contains "progress at 100%" "$H_BODY" 'value="100"'
assert_contains "per-table stats" "$H_BODY" '<code>public.orders</code> &rarr; <code>orders</code>'
assert_contains "rows with separators" "$H_BODY" '1,002'
assert_contains "watermark before -> after" "$H_BODY" '2024-01-01 &rarr; 2024-02-01'
assert_contains "quality result" "$H_BODY" '2 NULLs in email'
assert_contains "dead letters read from the destination" "$H_BODY" \
    'invalid input syntax for type numeric'
assert_contains "dead letter rows are escaped" "$H_BODY" 'x&lt;b&gt;'
assert_contains "with their table and state" "$H_BODY" \
    '<code>public.orders</code></td><td>null value</td>'
assert_lacks "viewers get no retry button" "$H_BODY" 'data-testid="retry-dead-letters"'
assert_eq "the log tail is 200 lines" 200 \
    "$(printf '%s' "$H_BODY" | grep -c '<li class="log-')"
assert_contains "newest last" "$(printf '%s' "$H_BODY" | grep '<li class="log-' | tail -n 1)" \
    'line 250'
assert_contains "load older link" "$H_BODY" 'data-testid="logs-older"'
OLDER=$(printf '%s' "$H_BODY" | grep -o 'href="[^"]*older=[0-9]*#logs"' | head -n 1 \
    | sed 's/href="//; s/"$//')
page "$JV" "$OLDER"
assert_eq "the older lines" "50 line 1 line 50" \
    "$(printf '%s' "$H_BODY" | grep -c '<li class="log-') \
$(printf '%s' "$H_BODY" | grep '<li class="log-' | head -n 1 | grep -o 'line [0-9]*') \
$(printf '%s' "$H_BODY" | grep '<li class="log-' | tail -n 1 | grep -o 'line [0-9]*')"
assert_contains "and a way back" "$H_BODY" 'Back to the latest lines'
page "$JV" "/runs/$RD?level=error"
assert_eq "level filter: errors only" 5 "$(printf '%s' "$H_BODY" | grep -c '<li class="log-error')"
assert_lacks "no info lines" "$H_BODY" '<li class="log-info'
page "$JV" "/runs/$RD?level=loud"
assert_eq "unknown level -> 400" 400 "$H_STATUS"

page "$JE" "/runs/$RD"
assert_contains "editors get Retry dead letters" "$H_BODY" 'data-testid="retry-dead-letters"'
CS=$(csrf_in)
page "$JE" "/runs/$RD/retry" --data-urlencode "_csrf=$CS"
assert_eq "retry dead letters -> 303" 303 "$H_STATUS"
RT=$(location_run)
assert_eq "a retry run with the failed tables" \
    'retry|{"tables": ["public.orders"], "retry_dead_letters": true}' \
    "$(h_psql "SELECT trigger || '|' || options::text FROM sluice_runs.runs WHERE id = ${RT:-0}")"
assert_eq "audited" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'run.retry_dead_letters'
               AND object_id = '${RT:-0}'")"
api POST "/api/v1/runs/$RD/retry-dead-letters" "$V_TOKEN"
assert_eq "viewer cannot retry -> 403" 403 "$H_STATUS"
api POST "/api/v1/runs/$R1/retry-dead-letters" "$ED_TOKEN"
assert_eq "a run without dead letters -> 409" 409 "$H_STATUS"

# A destination that cannot be reached is reported, not an error page.
RX=$(h_psql "INSERT INTO sluice_runs.runs (pipeline_id, status, dead_letters, started_at,
               finished_at) VALUES ('$P4', 'failed', 3, now(), now()) RETURNING id")
page "$JV" "/runs/$RX"
assert_eq "run page with an unreachable destination 200" 200 "$H_STATUS"
assert_contains "it says the destination cannot be reached" "$H_BODY" \
    'the destination &quot;gone&quot; cannot be reached'

# --- the API shapes ------------------------------------------------------------------

api GET "/api/v1/runs/$RD" "$V_TOKEN"
assert_eq "GET /api/v1/runs/{id} 200" 200 "$H_STATUS"
assert_eq "progress fields" '{"rows_done":1500,"rows_estimate":1500,"percent":100}' \
    "$(jsq '({rows_done: d.progress.rows_done, rows_estimate: d.progress.rows_estimate,
              percent: d.progress.percent})')"
assert_eq "ids are strings; totals" "string 1500 2 1 false" \
    "$(jsq '[typeof d.id, d.rows_loaded, d.dead_letters, d.quality_failures, d.active].join(" ")')"
assert_eq "per-table stats" "public.customers:500:500:0:,public.orders:1002:1000:2:2024-02-01" \
    "$(jsq 'd.tables.map(t => [t.source_schema + "." + t.source_table, t.rows_extracted,
             t.rows_loaded, t.rows_failed, t.watermark_after || ""].join(":")).join(",")')"
assert_eq "quality" "not_null failed email" \
    "$(jsq '[d.quality[0].check, d.quality[0].status, d.quality[0].columns[0]].join(" ")')"
api GET "/api/v1/runs/abc" "$V_TOKEN"
assert_eq "malformed run id -> 404" 404 "$H_STATUS"
api GET "/api/v1/runs/12345" "$V_TOKEN"
assert_eq "unknown run -> 404 problem" "404 application/problem+json" \
    "$H_STATUS $(h_header Content-Type | cut -d';' -f1)"
page "$JV" "/runs/12345"
assert_eq "unknown run page -> 404" 404 "$H_STATUS"

api GET "/api/v1/runs/$RD/logs?limit=100" "$V_TOKEN"
assert_eq "logs: first page oldest first" "100 line 1 line 100" \
    "$(jsq '[d.items.length, d.items[0].message, d.items[99].message].join(" ")')"
CUR=$(jget next_cursor)
SEEN=100
while [ -n "$CUR" ] && [ "$CUR" != null ]; do
    api GET "/api/v1/runs/$RD/logs?limit=100&after=$CUR" "$V_TOKEN"
    SEEN=$((SEEN + $(jsq 'd.items.length')))
    CUR=$(jget next_cursor)
done
assert_eq "the after cursor walks every line once" 250 "$SEEN"
api GET "/api/v1/runs/$RD/logs?level=warn" "$V_TOKEN"
assert_eq "level is a minimum (warn and error)" "25 warn,error" \
    "$(jsq '[d.items.length,
             [...new Set(d.items.map(i => i.level))].sort().reverse().join(",")].join(" ")')"
api GET "/api/v1/runs/$RD/logs?level=nope&limit=0" "$V_TOKEN"
assert_eq "bad level and limit -> 422 with both fields" "422 true true" \
    "$H_STATUS $(jsq '!!d.errors.level') $(jsq '!!d.errors.limit')"

# --- the runs list -------------------------------------------------------------------

h_psql "INSERT INTO sluice_runs.runs (pipeline_id, status, queued_at, started_at, finished_at)
        SELECT CASE WHEN g % 2 = 0 THEN '$P2'::uuid ELSE '$P3'::uuid END,
               CASE WHEN g % 3 = 0 THEN 'success' ELSE 'failed' END,
               now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'
        FROM generate_series(1, 110) g" > /dev/null
TOTAL=$(h_psql "SELECT count(*) FROM sluice_runs.runs")
page "$JV" /runs
assert_eq "runs list 200" 200 "$H_STATUS"
assert_contains "Runs in the nav, current" "$H_BODY" 'href="/runs" aria-current="page"'
assert_eq "50 on a page" 50 "$(printf '%s' "$H_BODY" | grep -c '<tr data-id=')"
SEEN_IDS=$(printf '%s' "$H_BODY" | grep -o '<tr data-id="[0-9]*"' | grep -o '[0-9]*')
NEXT=$(printf '%s' "$H_BODY" | grep -o 'href="/runs?before=[0-9]*" rel="next"' \
    | sed 's/href="//; s/" rel.*//' || true)
while [ -n "$NEXT" ]; do
    page "$JV" "$NEXT"
    SEEN_IDS="$SEEN_IDS
$(printf '%s' "$H_BODY" | grep -o '<tr data-id="[0-9]*"' | grep -o '[0-9]*')"
    NEXT=$(printf '%s' "$H_BODY" | grep -o 'href="/runs?before=[0-9]*" rel="next"' \
        | sed 's/href="//; s/" rel.*//' || true)
done
assert_eq "the pages visit every run once" "$TOTAL $TOTAL" \
    "$(printf '%s\n' "$SEEN_IDS" | grep -c .) $(printf '%s\n' "$SEEN_IDS" | sort -u | grep -c .)"
assert_contains "the last page links back" "$H_BODY" 'rel="prev"'
page "$JV" "/runs?status=success&pipeline=$P2"
N=$(printf '%s' "$H_BODY" | grep -c '<tr data-id=' || true)
assert_eq "filter by status and pipeline" \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE status = 'success'
               AND pipeline_id = '$P2'")" "$N"
assert_lacks "only successes" "$H_BODY" 'data-testid="status">failed<'
page "$JV" "/runs?from=2999-01-01"
assert_contains "date filter: empty state" "$H_BODY" 'No runs match these filters.'
TODAY=$(date -u +%F)
page "$JV" "/runs?from=$TODAY&to=$TODAY&status=failed"
assert_eq "date range filter" \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE status = 'failed'
               AND (queued_at AT TIME ZONE 'UTC')::date = '$TODAY'")" \
    "$(printf '%s' "$H_BODY" | grep -c '<tr data-id=' || true)"
page "$JV" "/runs?status=exploded&from=2024-02-30"
assert_eq "bad filters -> 422" 422 "$H_STATUS"
assert_contains "with field errors" "$H_BODY" 'id="status-error"'
assert_contains "for the date too" "$H_BODY" 'id="from-error"'

api GET "/api/v1/runs?limit=7" "$V_TOKEN"
assert_eq "API list 200, 7 items" "200 7" "$H_STATUS $(jsq 'd.items.length')"
CUR=$(jget next_cursor)
API_SEEN=$(jsq 'd.items.map(i => i.id).join("\n")')
while [ -n "$CUR" ] && [ "$CUR" != null ]; do
    api GET "/api/v1/runs?limit=50&cursor=$CUR" "$V_TOKEN"
    API_SEEN="$API_SEEN
$(jsq 'd.items.map(i => i.id).join("\n")')"
    CUR=$(jget next_cursor)
done
assert_eq "the API cursor visits every run once" "$TOTAL $TOTAL" \
    "$(printf '%s\n' "$API_SEEN" | grep -c .) $(printf '%s\n' "$API_SEEN" | sort -u | grep -c .)"
api GET "/api/v1/runs?status=success&pipeline=$P2&limit=200" "$V_TOKEN"
assert_eq "API filters" "$N/$N" "$(jsq 'd.items.length + "/" + d.items.filter(i =>
    i.status === "success" && i.pipeline_id === "'"$P2"'").length')"
api GET "/api/v1/runs?limit=0&bogus=1&pipeline=x" "$V_TOKEN"
assert_eq "API: bad limit, unknown and malformed parameters -> 422" "422 true true true" \
    "$H_STATUS $(jsq '!!d.errors.limit') $(jsq '!!d.errors.bogus') $(jsq '!!d.errors.pipeline')"

# --- pipelines list: last run and freshness ------------------------------------------

page "$JV" /pipelines
assert_contains "last run status on the pipelines list" "$H_BODY" 'data-testid="last-run"'
assert_contains "freshness of a pipeline synced before" "$H_BODY" 'synced 59 min ago'
assert_contains "freshness of one never synced" "$H_BODY" 'never synced'
assert_contains "freshness of one synced now" "$H_BODY" 'synced just now'

h_done
