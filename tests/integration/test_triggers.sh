#!/usr/bin/env bash
# test_triggers.sh - pipeline triggers end to end, through nginx and the real
# `sluice` binary:
#   - the API: create (validation: types, upstream required/unknown/self/
#     loops, duplicates, zones, cooldown range, unknown fields), get, list
#     with cursors, patch, delete, rotate; viewers read but never change;
#     every change audited;
#   - pipeline_success: a real `sluice sync` of the upstream succeeds and
#     `sluice triggers` queues the dependent once (trigger 'dependency',
#     options naming the event); running it again queues nothing; a burst of
#     three events within the cooldown queues one run (two suppressed); the
#     offset advances and consumer_lag shows 0; `sluice tick --once` fires
#     and runs it; triggers made after an event, disabled triggers and paused
#     pipelines do not fire;
#   - exactly once: a batch whose offset update fails queues nothing, and the
#     retry queues the run once; an event committed late (its transaction
#     open while a newer event committed) is not skipped;
#   - landing_zone_upload with synthetic landing.file_uploaded events;
#   - webhooks: good signature 202 and a queued run, bad / missing / wrong
#     version signature 401, a timestamp 10 minutes off 400, a replayed
#     webhook-id 400, cooldown 200 suppressed, unknown / malformed / disabled
#     trigger 404, a paused pipeline 409, a body over 256 KiB 413, a stray
#     session cookie neither needed nor used, rotation (old secret 401);
#     the secret appears only in the answer that made it, never in pages,
#     API answers, the audit trail or logs;
#   - pages: the Triggers card, the add form (422 with kept values, field
#     errors), add, enable/disable, edit, delete and rotate behind
#     confirmation pages, the secret page shown once, CSRF.
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
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info} SLUICE_TICK_SECONDS=1 \
        "$H_ROOT/bin/sluice" "$@"
}
printf '%s\n' "$ED_PW" | sluice_cli user add --email "$ED_EMAIL" --role editor --name Ed \
    > /dev/null 2>&1
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi \
    > /dev/null 2>&1
ED_TOKEN=$(sluice_cli token create --email "$ED_EMAIL" --name tests 2> /dev/null)
V_TOKEN=$(sluice_cli token create --email "$V_EMAIL" --name tests 2> /dev/null)
assert_true "editor token made" test -n "$ED_TOKEN"

# A real upstream (shop.orders of this database into this database) and
# dependents whose source is a closed port (their runs fail fast).
DBNAME=${H_DATABASE_URL##*/}
CLOSED_PORT=$(h_free_port)
h_psql "CREATE SCHEMA shop;
  CREATE TABLE shop.orders (id int PRIMARY KEY, amount numeric(12,2),
                            updated_at timestamptz NOT NULL);
  INSERT INTO shop.orders SELECT g, g * 1.25, now() - g * interval '1 second'
  FROM generate_series(1, 300) g;
  INSERT INTO sluice.sources (id, name, type, host, port, database, username, schema_include)
  VALUES ('00000000-0000-4000-8000-0000000000a1', 'shopdb', 'postgresql', '127.0.0.1',
          $H_PG_PORT, '$DBNAME', 'sluice', '{shop}'),
         ('00000000-0000-4000-8000-0000000000a2', 'downdb', 'postgresql', '127.0.0.1',
          $CLOSED_PORT, 'x', 'sluice', '{}');
  INSERT INTO sluice.destinations (id, name, type, host, port, database, username, is_default)
  VALUES ('00000000-0000-4000-8000-0000000000b1', 'warehouse', 'postgresql', '127.0.0.1',
          $H_PG_PORT, '$DBNAME', 'sluice', true);
  INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES
   ('10000000-0000-4000-8000-000000000001', 'upstream_pl',
    '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000002', 'dependent_pl',
    '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000003', 'landing_pl',
    '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000004', 'hook_pl',
    '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000005', 'other_pl',
    '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000b1'),
   ('10000000-0000-4000-8000-000000000006', 'late_pl',
    '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000b1');
  INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table) VALUES
   ('10000000-0000-4000-8000-000000000001', 'shop', 'orders'),
   ('10000000-0000-4000-8000-000000000002', 'public', 'things'),
   ('10000000-0000-4000-8000-000000000003', 'public', 'things'),
   ('10000000-0000-4000-8000-000000000004', 'public', 'things'),
   ('10000000-0000-4000-8000-000000000005', 'public', 'things'),
   ('10000000-0000-4000-8000-000000000006', 'public', 'things');" > /dev/null
UP=10000000-0000-4000-8000-000000000001
DEP=10000000-0000-4000-8000-000000000002
LAND=10000000-0000-4000-8000-000000000003
HOOK=10000000-0000-4000-8000-000000000004
OTHER=10000000-0000-4000-8000-000000000005
LATE=10000000-0000-4000-8000-000000000006

JE=$H_TMP/editor.jar
JV=$H_TMP/viewer.jar

H_LOGIN_NET=127.0.4 # console.sh: each sign-in from its own address (nginx limits /login)
# runs_of PIPELINE TRIGGER: how many runs of PIPELINE have that trigger.
runs_of() {
    h_psql "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = '$1' AND trigger = '$2'"
}
# event PIPELINE [TYPE]: append a run.succeeded (or TYPE) event for PIPELINE;
# prints its id.
event() {
    h_psql "INSERT INTO sluice_events.events (stream, type, data)
            VALUES ('pipeline:$1', '${2:-run.succeeded}',
                    jsonb_build_object('pipeline_id', '$1', 'run_id', '0', 'status', 'success'))
            RETURNING id"
}
# landing ZONE FILE: a landing.file_uploaded event; prints its id.
landing() {
    h_psql "INSERT INTO sluice_events.events (stream, type, data)
            VALUES ('zone:$1', 'landing.file_uploaded',
                    jsonb_build_object('zone_name', '$1', 'file_id', '$2',
                                       'filename', '$2.csv'))
            RETURNING id"
}
TRIG_OUT=$H_TMP/triggers.out
TRIG_LOG=$H_TMP/cli.log
# fire: `sluice triggers`; its stdout in TRIG_OUT, stderr appended to TRIG_LOG.
FIRE_RC=0
fire() {
    FIRE_RC=0
    sluice_cli triggers > "$TRIG_OUT" 2>> "$TRIG_LOG" || FIRE_RC=$?
}
offset() {
    h_psql "SELECT last_event_id FROM sluice_events.consumer_offsets WHERE consumer = 'triggers'"
}
cool_off() { # TRIGGER: as if it last fired long ago
    h_psql "UPDATE sluice.pipeline_triggers SET last_fired_at = now() - interval '1 day'
            WHERE id = '$1'" > /dev/null
}

# doc_ok METHOD TEMPLATE: the last answer (status, headers, body) is one the
# OpenAPI document describes for that operation (with Python's jsonschema;
# skipped without it).
DOC=$H_ROOT/static/openapi.json
PY_OK=0
python3 -c 'import jsonschema' 2> /dev/null && PY_OK=1
doc_ok() {
    local name="$1 $2 -> $H_STATUS matches the OpenAPI document" out
    if [ "$PY_OK" = 0 ]; then
        ok "# skip: $name (no jsonschema)"
        return 0
    fi
    printf '%s\n' "$H_HEADERS" > "$H_TMP/.contract_headers"
    if out=$(python3 "$H_ROOT/tests/lib/contract.py" "$DOC" "$1" "$2" "$H_STATUS" "$H_TMP/.h_body" \
        "$H_TMP/.contract_headers" 2>&1); then
        ok "$name"
    else
        fail "$name" "$(tail -n 2 <<< "$out")"
    fi
}

login "$JE" "$ED_EMAIL" "$ED_PW"
assert_eq "editor signs in" 303 "$H_STATUS"
login "$JV" "$V_EMAIL" "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# --- the migration ---------------------------------------------------------------------

assert_eq "the consumer's offset row exists, at 0" "triggers|0" \
    "$(h_psql "SELECT consumer || '|' || last_event_id FROM sluice_events.consumer_offsets")"
assert_eq "consumer_lag has its columns" \
    "consumer|last_event_id|newest_id|events_behind|updated_at" \
    "$(h_psql "SELECT string_agg(column_name, '|' ORDER BY ordinal_position)
               FROM information_schema.columns
               WHERE table_schema = 'sluice_events' AND table_name = 'consumer_lag'")"

# --- the API: create and validate ------------------------------------------------------

api POST "/api/v1/pipelines/$DEP/triggers" "$ED_TOKEN" \
    -d "{\"type\":\"pipeline_success\",\"config\":{\"upstream_pipeline_id\":\"$UP\"}}"
assert_eq "POST /api/v1/pipelines/{id}/triggers -> 201" 201 "$H_STATUS"
doc_ok POST /api/v1/pipelines/{id}/triggers
T_DEP=$(jget id)
assert_eq "Location is the trigger" "/api/v1/triggers/$T_DEP" "$(h_header Location)"
assert_eq "defaults: enabled, cooldown 60, never fired, no secret" \
    "pipeline_success|$UP|60|true|null|0|0|false|null" \
    "$(jsq '[d.type, d.config.upstream_pipeline_id, d.cooldown_seconds, d.enabled,
             d.last_fired_at, d.fire_count, d.suppressed_count, d.has_secret,
             d.webhook_url].map(String).join("|")')"
assert_eq "no secret in a pipeline_success answer" "undefined" "$(jsq 'typeof d.secret')"
assert_eq "created by the token's user" "$ED_EMAIL" "$(jget created_by_email)"
assert_eq "audited as trigger.create" "1" \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'trigger.create'
               AND object_id = '$T_DEP' AND actor_email = '$ED_EMAIL'
               AND details->>'type' = 'pipeline_success'")"

bad_create() { # NAME PIPELINE BODY FIELD
    api POST "/api/v1/pipelines/$2/triggers" "$ED_TOKEN" -d "$3"
    assert_eq "$1 -> 422" 422 "$H_STATUS"
    assert_eq "$1: errors name $4" true \
        "$(jsq "Object.keys(d.errors || {}).includes('$4')")"
}
bad_create "no type" "$DEP" '{}' type
doc_ok POST /api/v1/pipelines/{id}/triggers
bad_create "unknown type" "$DEP" '{"type":"cron"}' type
bad_create "upstream missing" "$DEP" '{"type":"pipeline_success"}' config.upstream_pipeline_id
bad_create "upstream not a uuid" "$DEP" \
    '{"type":"pipeline_success","config":{"upstream_pipeline_id":"x"}}' \
    config.upstream_pipeline_id
bad_create "unknown upstream" "$DEP" \
    '{"type":"pipeline_success",
      "config":{"upstream_pipeline_id":"10000000-0000-4000-8000-0000000000ff"}}' \
    config.upstream_pipeline_id
bad_create "its own upstream" "$DEP" \
    "{\"type\":\"pipeline_success\",\"config\":{\"upstream_pipeline_id\":\"$DEP\"}}" \
    config.upstream_pipeline_id
bad_create "a loop (upstream already runs after it)" "$UP" \
    "{\"type\":\"pipeline_success\",\"config\":{\"upstream_pipeline_id\":\"$DEP\"}}" \
    config.upstream_pipeline_id
assert_contains "the loop is named" "$(jsq 'd.errors["config.upstream_pipeline_id"]')" \
    "make a loop"
bad_create "the same upstream twice" "$DEP" \
    "{\"type\":\"pipeline_success\",\"config\":{\"upstream_pipeline_id\":\"$UP\"}}" \
    config.upstream_pipeline_id
bad_create "zone missing" "$LAND" '{"type":"landing_zone_upload"}' config.zone_name
bad_create "zone with a newline" "$LAND" \
    '{"type":"landing_zone_upload","config":{"zone_name":"a\nb"}}' config.zone_name
bad_create "an upstream on a webhook" "$HOOK" \
    "{\"type\":\"webhook\",\"config\":{\"upstream_pipeline_id\":\"$UP\"}}" \
    config.upstream_pipeline_id
bad_create "negative cooldown" "$HOOK" '{"type":"webhook","cooldown_seconds":-1}' \
    cooldown_seconds
bad_create "cooldown over a week" "$HOOK" '{"type":"webhook","cooldown_seconds":604801}' \
    cooldown_seconds
bad_create "cooldown as a string" "$HOOK" '{"type":"webhook","cooldown_seconds":"5"}' \
    cooldown_seconds
bad_create "an unknown field" "$HOOK" '{"type":"webhook","secret":"mine"}' secret
bad_create "an unknown config field" "$HOOK" '{"type":"webhook","config":{"url":"x"}}' \
    config.url
assert_eq "nothing was made by the refused requests" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.pipeline_triggers")"
api POST "/api/v1/pipelines/10000000-0000-4000-8000-0000000000ff/triggers" "$ED_TOKEN" \
    -d '{"type":"webhook"}'
assert_eq "an unknown pipeline -> 404" 404 "$H_STATUS"
api POST "/api/v1/pipelines/$DEP/triggers" "$ED_TOKEN" -d 'not json'
assert_eq "a body that is not JSON -> 400" 400 "$H_STATUS"

# Viewers read, never change.
api GET "/api/v1/triggers/$T_DEP" "$V_TOKEN"
assert_eq "viewer GET /api/v1/triggers/{id} -> 200" 200 "$H_STATUS"
doc_ok GET /api/v1/triggers/{id}
api POST "/api/v1/pipelines/$DEP/triggers" "$V_TOKEN" -d '{"type":"webhook"}'
assert_eq "viewer cannot create -> 403" 403 "$H_STATUS"
api PATCH "/api/v1/triggers/$T_DEP" "$V_TOKEN" -d '{"enabled":false}'
assert_eq "viewer cannot patch -> 403" 403 "$H_STATUS"
doc_ok PATCH /api/v1/triggers/{id}
api DELETE "/api/v1/triggers/$T_DEP" "$V_TOKEN"
assert_eq "viewer cannot delete -> 403" 403 "$H_STATUS"
api POST "/api/v1/triggers/$T_DEP/rotate-secret" "$V_TOKEN"
assert_eq "viewer cannot rotate -> 403" 403 "$H_STATUS"
api GET "/api/v1/triggers/not-a-uuid" "$V_TOKEN"
assert_eq "a malformed id -> 404" 404 "$H_STATUS"
api GET "/api/v1/triggers/20000000-0000-4000-8000-000000000000" "$V_TOKEN"
assert_eq "an unknown id -> 404" 404 "$H_STATUS"
doc_ok GET /api/v1/triggers/{id}
api POST "/api/v1/triggers/$T_DEP/rotate-secret" "$ED_TOKEN"
assert_eq "rotating a trigger without a secret -> 409" 409 "$H_STATUS"
doc_ok POST /api/v1/triggers/{id}/rotate-secret

# --- pipeline_success: a real upstream run -------------------------------------------------

sluice_cli sync "$UP" > "$H_TMP/sync.out" 2>> "$TRIG_LOG" || true
RUN_UP=$(h_psql "SELECT id FROM sluice_runs.runs WHERE pipeline_id = '$UP' ORDER BY id DESC
                 LIMIT 1")
assert_eq "sluice sync of the upstream succeeds" "success|300" \
    "$(h_psql "SELECT status || '|' || rows_loaded FROM sluice_runs.runs WHERE id = $RUN_UP")"
EV_UP=$(h_psql "SELECT id FROM sluice_events.events WHERE type = 'run.succeeded'
                AND correlation_id = '$RUN_UP'")
assert_true "its run.succeeded event" test -n "$EV_UP"
assert_eq "nothing queued before the triggers run" 0 "$(runs_of "$DEP" dependency)"
fire
assert_eq "sluice triggers exits 0" 0 "$FIRE_RC"
assert_contains "it says one run was queued" "$(cat "$TRIG_OUT")" "1 run(s) queued"
assert_eq "the dependent is queued once" 1 "$(runs_of "$DEP" dependency)"
assert_eq "as a queued dependency run naming the event, trigger and upstream run" \
    "queued|$EV_UP|$T_DEP|$RUN_UP|run.succeeded" \
    "$(h_psql "SELECT status || '|' || (options->>'event_id') || '|' || (options->>'trigger_id')
               || '|' || (options->>'upstream_run_id') || '|' || (options->>'event_type')
               FROM sluice_runs.runs WHERE pipeline_id = '$DEP' AND trigger = 'dependency'")"
assert_eq "the offset moved past the event" t \
    "$(h_psql "SELECT last_event_id >= $EV_UP FROM sluice_events.consumer_offsets
               WHERE consumer = 'triggers'")"
assert_eq "consumer_lag: 0 events behind" "triggers|0" \
    "$(h_psql "SELECT consumer || '|' || events_behind FROM sluice_events.consumer_lag")"
api GET "/api/v1/triggers/$T_DEP" "$V_TOKEN"
assert_eq "the trigger counts the fire and names the run" \
    "1|$(h_psql "SELECT id FROM sluice_runs.runs WHERE pipeline_id = '$DEP'")|true" \
    "$(jsq '[d.fire_count, d.last_run_id, d.last_fired_at !== null].join("|")')"
fire
assert_eq "running the consumer again queues nothing" 1 "$(runs_of "$DEP" dependency)"

# A burst of three events within the cooldown: one run, two suppressed.
cool_off "$T_DEP"
event "$UP" > /dev/null
event "$UP" > /dev/null
event "$UP" > /dev/null
fire
assert_eq "a burst of three queues one run" 2 "$(runs_of "$DEP" dependency)"
assert_eq "and counts two suppressed" "2|2" \
    "$(h_psql "SELECT fire_count || '|' || suppressed_count FROM sluice.pipeline_triggers
               WHERE id = '$T_DEP'")"
assert_contains "the command says so" "$(cat "$TRIG_OUT")" "2 suppressed by cooldowns"
event "$UP" > /dev/null
fire
assert_eq "another event inside the cooldown: suppressed too" "2|3" \
    "$(runs_of "$DEP" dependency)|$(h_psql "SELECT suppressed_count FROM
        sluice.pipeline_triggers WHERE id = '$T_DEP'")"
assert_eq "lag 0 after the burst" 0 \
    "$(h_psql "SELECT events_behind FROM sluice_events.consumer_lag")"

# Other event types and other pipelines' successes fire nothing but move the offset.
event "$OTHER" > /dev/null
LAST=$(event "$UP" run.failed)
fire
assert_eq "run.failed and other pipelines fire nothing" 2 "$(runs_of "$DEP" dependency)"
assert_eq "but the offset passes them" "$LAST" "$(offset)"

# The tick fires triggers too (and then runs what they queued).
cool_off "$T_DEP"
EV_T=$(event "$UP")
sluice_cli tick --once 2>> "$TRIG_LOG" || true
assert_eq "sluice tick --once fires the trigger" 3 "$(runs_of "$DEP" dependency)"
assert_eq "and runs the queued dependent (it fails: its source is closed)" "failed" \
    "$(h_psql "SELECT status FROM sluice_runs.runs WHERE pipeline_id = '$DEP'
               AND trigger = 'dependency' AND options->>'event_id' = '$EV_T'")"
assert_eq "the tick advanced the offset" t "$(h_psql "SELECT $(offset) >= $EV_T")"

# Disabled triggers and paused pipelines do not fire.
api PATCH "/api/v1/triggers/$T_DEP" "$ED_TOKEN" -d '{"enabled":false}'
assert_eq "PATCH enabled=false -> 200" "200|false" "$H_STATUS|$(jget enabled)"
doc_ok PATCH /api/v1/triggers/{id}
assert_eq "audited with the change" "true|false" \
    "$(h_psql "SELECT (details->'changes'->'enabled'->>'from') || '|'
                      || (details->'changes'->'enabled'->>'to')
               FROM sluice.audit_log WHERE action = 'trigger.update' AND object_id = '$T_DEP'
               ORDER BY id DESC LIMIT 1")"
cool_off "$T_DEP"
event "$UP" > /dev/null
fire
assert_eq "a disabled trigger does not fire" 3 "$(runs_of "$DEP" dependency)"
api PATCH "/api/v1/triggers/$T_DEP" "$ED_TOKEN" -d '{"enabled":true,"cooldown_seconds":0}'
assert_eq "PATCH enabled and cooldown -> 200" "200|true|0" \
    "$H_STATUS|$(jget enabled)|$(jget cooldown_seconds)"
api PATCH "/api/v1/triggers/$T_DEP" "$ED_TOKEN" -d '{"type":"webhook"}'
assert_eq "the type cannot change -> 422" 422 "$H_STATUS"
doc_ok PATCH /api/v1/triggers/{id}
h_psql "UPDATE sluice.pipelines SET status = 'paused' WHERE id = '$DEP'" > /dev/null
event "$UP" > /dev/null
fire
assert_eq "a paused pipeline is not queued" 3 "$(runs_of "$DEP" dependency)"
assert_contains "and the command counts it" "$(cat "$TRIG_OUT")" "1 for paused pipelines"
h_psql "UPDATE sluice.pipelines SET status = 'active' WHERE id = '$DEP'" > /dev/null

# A trigger made after an event is not fired by it.
event "$OTHER" > /dev/null
api POST "/api/v1/pipelines/$LATE/triggers" "$ED_TOKEN" \
    -d "{\"type\":\"pipeline_success\",\"config\":{\"upstream_pipeline_id\":\"$OTHER\"},
         \"cooldown_seconds\":0}"
T_LATE=$(jget id)
assert_eq "trigger on other_pl made (cooldown 0)" 201 "$H_STATUS"
fire
assert_eq "an event older than the trigger does not fire it" 0 "$(runs_of "$LATE" dependency)"
event "$OTHER" > /dev/null
event "$OTHER" > /dev/null
fire
assert_eq "with cooldown 0 every newer event fires" 2 "$(runs_of "$LATE" dependency)"

# --- exactly once -------------------------------------------------------------------------

# The offset update fails: the batch's runs are rolled back with it.
h_psql "CREATE FUNCTION pg_temp_fail() RETURNS trigger LANGUAGE plpgsql AS
          \$\$ BEGIN RAISE EXCEPTION 'offset write refused (test)'; END \$\$;
        CREATE TRIGGER refuse_offset BEFORE UPDATE ON sluice_events.consumer_offsets
          FOR EACH ROW EXECUTE FUNCTION pg_temp_fail();" > /dev/null
BEFORE=$(offset)
EV_X=$(event "$OTHER")
fire
assert_eq "a failed batch exits 1" 1 "$FIRE_RC"
assert_eq "and queued nothing" 2 "$(runs_of "$LATE" dependency)"
assert_eq "and left the offset" "$BEFORE" "$(offset)"
assert_eq "nor counted a fire" 2 \
    "$(h_psql "SELECT fire_count FROM sluice.pipeline_triggers WHERE id = '$T_LATE'")"
h_psql "DROP TRIGGER refuse_offset ON sluice_events.consumer_offsets;
        DROP FUNCTION pg_temp_fail();" > /dev/null
fire
assert_eq "the retry queues the run once" 3 "$(runs_of "$LATE" dependency)"
assert_eq "for that event" 1 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE options->>'event_id' = '$EV_X'")"

# An event committed late: its transaction began (and wrote) before a newer
# event committed. The consumer waits for it instead of skipping it.
"$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$H_DATABASE_URL" -c "BEGIN;
   INSERT INTO sluice_events.events (stream, type, data) VALUES ('pipeline:$OTHER',
     'run.succeeded', jsonb_build_object('pipeline_id', '$OTHER', 'run_id', 'slow'));
   SELECT pg_sleep(4); COMMIT;" > /dev/null 2>&1 &
SLOW_PID=$!
slow_open() {
    [ "$(h_psql "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL
                 AND query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()")" = 1 ]
}
assert_true "a slow transaction holds an uncommitted event" h_wait_for 10 slow_open
EV_FAST=$(event "$OTHER")
fire
assert_eq "the newer committed event waits for the older open one" 3 \
    "$(runs_of "$LATE" dependency)"
assert_eq "the offset stays below it" t "$(h_psql "SELECT $(offset) < $EV_FAST")"
assert_contains "and the command says events are held back" "$(cat "$TRIG_OUT")" \
    "held back (waiting for the transaction of pid"
wait "$SLOW_PID" || true
fire
assert_eq "once it commits, both fire" 5 "$(runs_of "$LATE" dependency)"
assert_eq "each event exactly once" "1|1" \
    "$(h_psql "SELECT count(*) FILTER (WHERE options->>'upstream_run_id' = 'slow') || '|' ||
                      count(*) FILTER (WHERE options->>'event_id' = '$EV_FAST')
               FROM sluice_runs.runs WHERE pipeline_id = '$LATE'")"
assert_eq "lag 0 at the end" 0 "$(h_psql "SELECT events_behind FROM sluice_events.consumer_lag")"

# Two consumers at once: one takes the batch, the other finds it busy.
h_psql "UPDATE sluice.pipeline_triggers SET cooldown_seconds = 0 WHERE id = '$T_LATE'" \
    > /dev/null
for _ in 1 2 3 4 5; do event "$OTHER" > /dev/null; done
PIDS=()
for i in 1 2 3 4; do
    sluice_cli triggers > "$H_TMP/par.$i" 2>> "$TRIG_LOG" &
    PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
assert_eq "four consumers at once fire five events exactly once" 10 \
    "$(runs_of "$LATE" dependency)"

# --- landing_zone_upload -------------------------------------------------------------------

api POST "/api/v1/pipelines/$LAND/triggers" "$ED_TOKEN" \
    -d '{"type":"landing_zone_upload","config":{"zone_name":"uploads"},"cooldown_seconds":30}'
assert_eq "landing_zone_upload trigger -> 201" "201|uploads|30" \
    "$H_STATUS|$(jget config.zone_name)|$(jget cooldown_seconds)"
T_LAND=$(jget id)
api POST "/api/v1/pipelines/$LAND/triggers" "$ED_TOKEN" \
    -d '{"type":"landing_zone_upload","config":{"zone_name":"uploads"}}'
assert_eq "the same zone twice -> 422" 422 "$H_STATUS"
EV_L=$(landing uploads f1)
landing elsewhere f2 > /dev/null
fire
assert_eq "a file in the zone queues the pipeline once" 1 "$(runs_of "$LAND" landing)"
assert_eq "with the file and the event" "f1|$EV_L|$T_LAND" \
    "$(h_psql "SELECT (options->>'file_id') || '|' || (options->>'event_id') || '|'
               || (options->>'trigger_id') FROM sluice_runs.runs
               WHERE pipeline_id = '$LAND' AND trigger = 'landing'")"
landing uploads f3 > /dev/null
fire
assert_eq "a second file within the cooldown is suppressed" "1|1" \
    "$(runs_of "$LAND" landing)|$(h_psql "SELECT suppressed_count FROM sluice.pipeline_triggers
                                          WHERE id = '$T_LAND'")"
cool_off "$T_LAND"
landing UPLOADS f4 > /dev/null
fire
assert_eq "zone names match whatever their case" 2 "$(runs_of "$LAND" landing)"
api POST "/api/v1/pipelines/$LAND/triggers" "$ED_TOKEN" \
    -d '{"type":"landing_zone_upload","config":{"zone_name":"Uploads"}}'
assert_eq "the same zone in other case -> 422" 422 "$H_STATUS"
# Five requests racing to add the same zone: one 201, four 422 (never a 500).
PIDS=()
for i in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $ED_TOKEN" \
        -H 'Content-Type: application/json' \
        -d '{"type":"landing_zone_upload","config":{"zone_name":"race"}}' \
        "$H_URL/api/v1/pipelines/$LAND/triggers" > "$H_TMP/race.$i" &
    PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
assert_eq "racing creates of one zone: one 201, four 422" "201 422 422 422 422" \
    "$(cat "$H_TMP"/race.* | sort | tr '\n' ' ' | sed 's/ $//')"
api DELETE "/api/v1/triggers/$(h_psql "SELECT id FROM sluice.pipeline_triggers
                                       WHERE config->>'zone_name' = 'race'")" "$ED_TOKEN"
assert_eq "the raced trigger deleted" 204 "$H_STATUS"

# --- webhooks ------------------------------------------------------------------------------

BODYF=$H_TMP/hook-body.json
printf '{"ref":"main","note":"caf\xc3\xa9"}' > "$BODYF"
# sign SECRET ID TS [FILE]: the base64 HMAC-SHA256 of "ID.TS.<file>" keyed with the
# secret's decoded bytes, made with openssl as the secret page shows.
sign() {
    local key
    key=$(printf '%s' "${1#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
    { printf '%s.%s.' "$2" "$3"; cat "${4:-$BODYF}"; } \
        | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64
}
# hook TRIGGER ID TS SIGNATURE [curl args]: POST the body file with the three headers.
hook() {
    local t=$1 id=$2 ts=$3 sig=$4
    shift 4
    h_get "$H_URL/api/v1/hooks/$t" -X POST -H "webhook-id: $id" -H "webhook-timestamp: $ts" \
        -H "webhook-signature: $sig" -H 'Content-Type: application/json' \
        --data-binary @"$BODYF" "$@"
}
# good TRIGGER ID [curl args]: a correctly signed request, now.
good() {
    local t=$1 id=$2 ts
    shift 2
    ts=$(date +%s)
    hook "$t" "$id" "$ts" "v1,$(sign "$SECRET" "$id" "$ts")" "$@"
}

api POST "/api/v1/pipelines/$HOOK/triggers" "$ED_TOKEN" -d '{"type":"webhook"}'
assert_eq "webhook trigger -> 201" 201 "$H_STATUS"
doc_ok POST /api/v1/pipelines/{id}/triggers
T_HOOK=$(jget id)
SECRET=$(jget secret)
assert_true "the answer carries the secret, whsec_ + base64 of 32 bytes" \
    bash -c "[[ '$SECRET' =~ ^whsec_[A-Za-z0-9+/]{43}=$ ]]"
assert_eq "and the URL to call" "$H_URL/api/v1/hooks/$T_HOOK|true" \
    "$(jget webhook_url)|$(jget has_secret)"
assert_eq "the secret is stored sealed" "t|f" \
    "$(h_psql "SELECT secret_enc LIKE 'sb1:%', position('${SECRET#whsec_}' in secret_enc) > 0
               FROM sluice.pipeline_triggers WHERE id = '$T_HOOK'")"
api GET "/api/v1/triggers/$T_HOOK" "$ED_TOKEN"
assert_lacks "GET never shows the secret" "$H_BODY" "whsec_"
assert_eq "but says there is one" true "$(jget has_secret)"
api GET "/api/v1/pipelines/$HOOK/triggers" "$V_TOKEN"
assert_lacks "nor the list" "$H_BODY" "whsec_"
doc_ok GET /api/v1/pipelines/{id}/triggers

good "$T_HOOK" msg-1
assert_eq "a good signature -> 202" 202 "$H_STATUS"
doc_ok POST /api/v1/hooks/{id}
RUN_H=$(jget run_id)
assert_eq "the answer names the queued run" "queued|$HOOK|/api/v1/runs/$RUN_H" \
    "$(jget status)|$(jget pipeline_id)|$(h_header Location)"
assert_eq "a webhook run is queued with the message id" "queued|webhook|msg-1|$T_HOOK" \
    "$(h_psql "SELECT status || '|' || trigger || '|' || (options->>'webhook_id') || '|'
               || (options->>'trigger_id') FROM sluice_runs.runs WHERE id = $RUN_H")"
assert_eq "audited as trigger.webhook by nobody" "webhook||fired|$RUN_H" \
    "$(h_psql "SELECT actor_email || '|' || coalesce(actor_id::text, '') || '|'
               || (details->>'outcome') || '|' || (details->>'run_id')
               FROM sluice.audit_log WHERE action = 'trigger.webhook'")"
hook_runs() { runs_of "$HOOK" webhook; }

good "$T_HOOK" msg-1
assert_eq "the same webhook-id again -> 400" 400 "$H_STATUS"
assert_contains "as a replay" "$(jget detail)" "replay"
doc_ok POST /api/v1/hooks/{id}
assert_eq "problem+json" "application/problem+json" "$(h_header Content-Type)"
good "$T_HOOK" msg-2
assert_eq "a new message within the cooldown -> 200" 200 "$H_STATUS"
doc_ok POST /api/v1/hooks/{id}
assert_eq "suppressed, with the time left" "true|true" \
    "$(jsq '[d.suppressed, d.retry_after > 0 && d.retry_after <= 60].join("|")')"
assert_eq "nothing more queued" 1 "$(hook_runs)"
assert_eq "the suppression is counted" 1 \
    "$(h_psql "SELECT suppressed_count FROM sluice.pipeline_triggers WHERE id = '$T_HOOK'")"
good "$T_HOOK" msg-2
assert_eq "a suppressed message cannot be replayed either -> 400" 400 "$H_STATUS"

cool_off "$T_HOOK"
TS=$(date +%s)
OTHER_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
hook "$T_HOOK" msg-3 "$TS" "v1,$(sign "$OTHER_SECRET" msg-3 "$TS")"
assert_eq "signed with another secret -> 401" 401 "$H_STATUS"
doc_ok POST /api/v1/hooks/{id}
assert_eq "as a problem" "application/problem+json" "$(h_header Content-Type)"
printf '{"ref":"evil"}' > "$H_TMP/other-body"
hook "$T_HOOK" msg-3 "$TS" "v1,$(sign "$SECRET" msg-3 "$TS" "$H_TMP/other-body")"
assert_eq "the signature of another body -> 401" 401 "$H_STATUS"
hook "$T_HOOK" msg-3 "$TS" "v1,$(sign "$SECRET" msg-4 "$TS")"
assert_eq "the signature of another id -> 401" 401 "$H_STATUS"
hook "$T_HOOK" msg-3 "$TS" "v2,$(sign "$SECRET" msg-3 "$TS")"
assert_eq "a wrong version prefix -> 401" 401 "$H_STATUS"
hook "$T_HOOK" msg-3 "$TS" "v1,not-base64!"
assert_eq "bad base64 -> 401" 401 "$H_STATUS"
h_get "$H_URL/api/v1/hooks/$T_HOOK" -X POST -H "webhook-id: msg-3" \
    -H "webhook-timestamp: $TS" --data-binary @"$BODYF"
assert_eq "no webhook-signature -> 401" 401 "$H_STATUS"
h_get "$H_URL/api/v1/hooks/$T_HOOK" -X POST -H "webhook-timestamp: $TS" \
    -H "webhook-signature: v1,$(sign "$SECRET" msg-3 "$TS")" --data-binary @"$BODYF"
assert_eq "no webhook-id -> 401" 401 "$H_STATUS"
h_get "$H_URL/api/v1/hooks/$T_HOOK" -X POST -H "webhook-id: msg-3" \
    -H "webhook-signature: v1,$(sign "$SECRET" msg-3 "$TS")" --data-binary @"$BODYF"
assert_eq "no webhook-timestamp -> 401" 401 "$H_STATUS"
h_get "$H_URL/api/v1/hooks/$T_HOOK" -X POST --data-binary @"$BODYF"
assert_eq "no headers at all -> 401" 401 "$H_STATUS"
OLD_TS=$(($(date +%s) - 600))
hook "$T_HOOK" msg-3 "$OLD_TS" "v1,$(sign "$SECRET" msg-3 "$OLD_TS")"
assert_eq "a correctly signed timestamp 10 minutes old -> 400" 400 "$H_STATUS"
assert_contains "said to be too old" "$(jget detail)" "too old"
NEW_TS=$(($(date +%s) + 600))
hook "$T_HOOK" msg-3 "$NEW_TS" "v1,$(sign "$SECRET" msg-3 "$NEW_TS")"
assert_eq "10 minutes in the future -> 400" 400 "$H_STATUS"
assert_eq "none of the refusals queued a run or a receipt" "1|2" \
    "$(hook_runs)|$(h_psql "SELECT count(*) FROM sluice.webhook_receipts
                            WHERE trigger_id = '$T_HOOK'")"
hook "$T_HOOK" msg-3 "$TS" \
    "v1a,xyz v1,$(sign "$OTHER_SECRET" msg-3 "$TS") v1,$(sign "$SECRET" msg-3 "$TS")"
assert_eq "one good signature among several -> 202" 202 "$H_STATUS"
assert_eq "a second run queued" 2 "$(hook_runs)"

# 404 alike for unknown, malformed and disabled triggers.
good 20000000-0000-4000-8000-000000000000 msg-9
assert_eq "an unknown trigger -> 404" 404 "$H_STATUS"
doc_ok POST /api/v1/hooks/{id}
UNKNOWN_DETAIL=$(jget detail)
good not-a-uuid msg-9
assert_eq "a malformed id -> 404" 404 "$H_STATUS"
good "$T_DEP" msg-9
assert_eq "a trigger that is not a webhook -> 404" 404 "$H_STATUS"
api PATCH "/api/v1/triggers/$T_HOOK" "$ED_TOKEN" -d '{"enabled":false}'
good "$T_HOOK" msg-9
assert_eq "a disabled trigger -> 404, the same answer" "404|$UNKNOWN_DETAIL" \
    "$H_STATUS|$(jget detail)"
api PATCH "/api/v1/triggers/$T_HOOK" "$ED_TOKEN" -d '{"enabled":true}'

# A paused pipeline: 409 and nothing recorded, so the sender's retry works later.
cool_off "$T_HOOK"
h_psql "UPDATE sluice.pipelines SET status = 'paused' WHERE id = '$HOOK'" > /dev/null
good "$T_HOOK" msg-p
assert_eq "a paused pipeline -> 409" 409 "$H_STATUS"
doc_ok POST /api/v1/hooks/{id}
h_psql "UPDATE sluice.pipelines SET status = 'active' WHERE id = '$HOOK'" > /dev/null
good "$T_HOOK" msg-p
assert_eq "the same message after resuming -> 202" 202 "$H_STATUS"

# Cookies are neither needed nor used: a stray session and a foreign Origin.
cool_off "$T_HOOK"
good "$T_HOOK" msg-c -b "$JE" -H 'Origin: https://evil.example'
assert_eq "with a stray session cookie and a foreign Origin -> 202" 202 "$H_STATUS"
assert_eq "and it acted for nobody (not the cookie's user)" "webhook|" \
    "$(h_psql "SELECT actor_email || '|' || coalesce(actor_id::text, '')
               FROM sluice.audit_log WHERE action = 'trigger.webhook'
               AND details->>'webhook_id' = 'msg-c'")"
head -c 300000 /dev/zero | tr '\0' 'x' > "$H_TMP/big-body"
TS=$(date +%s)
h_get "$H_URL/api/v1/hooks/$T_HOOK" -X POST -H "webhook-id: msg-big" \
    -H "webhook-timestamp: $TS" \
    -H "webhook-signature: v1,$(sign "$SECRET" msg-big "$TS" "$H_TMP/big-body")" \
    --data-binary @"$H_TMP/big-body"
assert_eq "a body over 256 KiB -> 413" 413 "$H_STATUS"
doc_ok POST /api/v1/hooks/{id}
assert_status "$H_URL/api/v1/hooks/$T_HOOK" 405
assert_eq "405 allows POST" "POST" "$(h_header Allow)"

# Old receipts are pruned by the consumer (the window is long over for them).
h_psql "UPDATE sluice.webhook_receipts SET received_at = now() - interval '11 minutes'
        WHERE msg_id = 'msg-1'" > /dev/null
fire
assert_eq "receipts older than twice the window are pruned" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.webhook_receipts WHERE msg_id = 'msg-1'")"

# Rotation: the old secret stops working at once.
OLD_SECRET=$SECRET
api POST "/api/v1/triggers/$T_HOOK/rotate-secret" "$ED_TOKEN"
assert_eq "rotate-secret -> 200" 200 "$H_STATUS"
doc_ok POST /api/v1/triggers/{id}/rotate-secret
SECRET=$(jget secret)
assert_true "a new secret" bash -c "[[ '$SECRET' =~ ^whsec_ && '$SECRET' != '$OLD_SECRET' ]]"
assert_eq "with the URL" "$H_URL/api/v1/hooks/$T_HOOK" "$(jget webhook_url)"
cool_off "$T_HOOK"
TS=$(date +%s)
hook "$T_HOOK" msg-r1 "$TS" "v1,$(sign "$OLD_SECRET" msg-r1 "$TS")"
assert_eq "the old secret -> 401" 401 "$H_STATUS"
good "$T_HOOK" msg-r2
assert_eq "the new secret -> 202" 202 "$H_STATUS"
assert_eq "rotation audited without the secret" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'trigger.rotate_secret'
               AND object_id = '$T_HOOK' AND actor_email = '$ED_EMAIL'")"

# --- API lists walk with cursors ---------------------------------------------------------------

api POST "/api/v1/pipelines/$LAND/triggers" "$ED_TOKEN" \
    -d '{"type":"landing_zone_upload","config":{"zone_name":"second"}}'
api POST "/api/v1/pipelines/$LAND/triggers" "$ED_TOKEN" -d '{"type":"webhook","enabled":false}'
assert_eq "a disabled webhook trigger -> 201" "201|false" "$H_STATUS|$(jget enabled)"
WANT=$(h_psql "SELECT string_agg(id::text, ' ' ORDER BY created_at, id)
               FROM sluice.pipeline_triggers WHERE pipeline_id = '$LAND'")
GOT="" CUR="" PAGES=0
while :; do
    api GET "/api/v1/pipelines/$LAND/triggers?limit=1${CUR:+&cursor=$CUR}" "$V_TOKEN"
    [ "$H_STATUS" = 200 ] || break
    PAGES=$((PAGES + 1))
    GOT="$GOT${GOT:+ }$(jsq 'd.items.map(i => i.id).join(" ")')"
    CUR=$(jsq 'd.next_cursor || ""')
    [ -n "$CUR" ] && [ "$PAGES" -lt 10 ] || break
done
assert_eq "limit=1 walks every trigger once, oldest first" "3|$WANT" "$PAGES|$GOT"
api GET "/api/v1/pipelines/$LAND/triggers?cursor=bogus" "$V_TOKEN"
assert_eq "a forged cursor -> 422" 422 "$H_STATUS"
doc_ok GET /api/v1/pipelines/{id}/triggers
api GET "/api/v1/pipelines/$LAND/triggers?sort=id" "$V_TOKEN"
assert_eq "an undeclared parameter -> 422" 422 "$H_STATUS"
api GET "/api/v1/pipelines/10000000-0000-4000-8000-0000000000ff/triggers" "$V_TOKEN"
assert_eq "the triggers of an unknown pipeline -> 404" 404 "$H_STATUS"
T_DEL=$(h_psql "SELECT id FROM sluice.pipeline_triggers WHERE pipeline_id = '$LAND'
                AND config->>'zone_name' = 'second'")
api DELETE "/api/v1/triggers/$T_DEL" "$ED_TOKEN"
assert_eq "DELETE -> 204" 204 "$H_STATUS"
doc_ok DELETE /api/v1/triggers/{id}
api GET "/api/v1/triggers/$T_DEL" "$V_TOKEN"
assert_eq "then GET -> 404" 404 "$H_STATUS"
api DELETE "/api/v1/triggers/$T_DEL" "$ED_TOKEN"
assert_eq "and DELETE again -> 404" 404 "$H_STATUS"

# --- the pipeline_triggers feature flag ------------------------------------------------------

h_psql "UPDATE sluice.settings SET value = value || '{\"pipeline_triggers\": false}'
        WHERE key = 'features'" > /dev/null
cool_off "$T_DEP"
EV_OFF=$(event "$UP")
fire
assert_contains "turned off, the consumer does nothing" "$(cat "$TRIG_OUT")" "turned off"
assert_eq "nothing queued, the event left waiting" "0|t" \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE options->>'event_id' = '$EV_OFF'")|$(
       h_psql "SELECT $(offset) < $EV_OFF")"
good "$T_HOOK" msg-off
assert_eq "webhooks answer 404 while triggers are off" 404 "$H_STATUS"
api GET "/api/v1/triggers/$T_DEP" "$V_TOKEN"
assert_eq "so does the triggers API" 404 "$H_STATUS"
page "$JE" "/pipelines/$DEP"
assert_lacks "and the pipeline page has no Triggers card" "$H_BODY" 'id="triggers-heading"'
h_psql "UPDATE sluice.settings SET value = value || '{\"pipeline_triggers\": true}'
        WHERE key = 'features'" > /dev/null
fire
assert_eq "back on, the waiting event fires" 1 \
    "$(h_psql "SELECT count(*) FROM sluice_runs.runs WHERE options->>'event_id' = '$EV_OFF'
               AND trigger = 'dependency'")"

# --- pages -----------------------------------------------------------------------------------

page "$JE" "/pipelines/$DEP"
assert_eq "the pipeline page -> 200" 200 "$H_STATUS"
assert_contains "has the Triggers card" "$H_BODY" '<h2 id="triggers-heading">Triggers</h2>'
assert_contains "listing the upstream" "$H_BODY" \
    "<a href=\"/pipelines/$UP\">upstream_pl</a> succeeds"
assert_contains "with its fires and suppressions" "$H_BODY" "(3 suppressed)"
assert_contains "editors may add one" "$H_BODY" "/pipelines/$DEP/triggers/new"
assert_contains "and delete one" "$H_BODY" "/triggers/$T_DEP/delete"
page "$JV" "/pipelines/$DEP"
assert_contains "viewers see the card" "$H_BODY" 'data-testid="pipeline-triggers"'
assert_lacks "but no add link" "$H_BODY" "/triggers/new"
assert_lacks "and no delete link" "$H_BODY" "/triggers/$T_DEP/delete"
page "$JE" "/pipelines/$OTHER"
assert_contains "a pipeline without triggers says so" "$H_BODY" "No triggers"
page "$JE" "/pipelines/$HOOK"
assert_contains "a webhook trigger shows its URL" "$H_BODY" "/api/v1/hooks/$T_HOOK"
assert_contains "and a rotate link" "$H_BODY" "/triggers/$T_HOOK/rotate"
page "$JE" "/pipelines/$DEP/triggers"
assert_eq "the full list page -> 200" 200 "$H_STATUS"
assert_contains "lists the trigger" "$H_BODY" "data-trigger=\"$T_DEP\""

page "$JV" "/pipelines/$OTHER/triggers/new"
assert_eq "viewers cannot open the add form" 403 "$H_STATUS"
page "$JE" "/pipelines/$OTHER/triggers/new"
assert_eq "the add form -> 200" 200 "$H_STATUS"
assert_contains "offers upstream_pl" "$H_BODY" "<option value=\"$UP\">upstream_pl</option>"
assert_lacks "but not the pipeline itself" "$H_BODY" "<option value=\"$OTHER\">"
assert_contains "with the default cooldown" "$H_BODY" \
    'name="cooldown_seconds" type="number" min="0" max="604800" step="1" value="60"'
TOK=$(csrf_in)
page "$JE" "/pipelines/$OTHER/triggers" --data-urlencode "type=webhook"
assert_eq "a form post without the CSRF token -> 403" 403 "$H_STATUS"
page "$JE" "/pipelines/$OTHER/triggers" --data-urlencode "_csrf=$TOK" \
    --data-urlencode "type=pipeline_success" --data-urlencode "upstream_pipeline_id=" \
    --data-urlencode "cooldown_seconds=15" --data-urlencode "enabled=1"
assert_eq "no upstream chosen -> 422" 422 "$H_STATUS"
assert_contains "the field is marked" "$H_BODY" \
    'aria-invalid="true" aria-describedby="upstream_pipeline_id-error"'
assert_contains "with a message" "$H_BODY" "Choose the pipeline whose success starts this one."
assert_contains "the typed cooldown is kept" "$H_BODY" 'value="15"'
assert_contains "and the chosen type" "$H_BODY" 'value="pipeline_success" checked'
page "$JE" "/pipelines/$OTHER/triggers" --data-urlencode "_csrf=$TOK" \
    --data-urlencode "type=landing_zone_upload" --data-urlencode "zone_name=" \
    --data-urlencode "cooldown_seconds=abc"
assert_eq "no zone and a bad cooldown -> 422" 422 "$H_STATUS"
assert_contains "the zone is marked" "$H_BODY" 'id="zone_name-error"'
assert_contains "so is the cooldown" "$H_BODY" 'id="cooldown_seconds-error"'
page "$JE" "/pipelines/$OTHER/triggers" --data-urlencode "_csrf=$TOK"
assert_eq "no type -> 422" 422 "$H_STATUS"
assert_contains "the type is marked" "$H_BODY" 'id="type-error"'
page "$JE" "/pipelines/$OTHER/triggers" --data-urlencode "_csrf=$TOK" \
    --data-urlencode "type=pipeline_success" --data-urlencode "upstream_pipeline_id=$UP" \
    --data-urlencode "zone_name=ignored" --data-urlencode "cooldown_seconds=15" \
    --data-urlencode "enabled=1"
assert_eq "adding a trigger -> 303" 303 "$H_STATUS"
assert_eq "back to the pipeline's triggers" "/pipelines/$OTHER#triggers" "$(h_header Location)"
T_PAGE=$(h_psql "SELECT id FROM sluice.pipeline_triggers WHERE pipeline_id = '$OTHER'")
assert_eq "stored as typed (the zone of another type ignored)" \
    "pipeline_success|{\"upstream_pipeline_id\": \"$UP\"}|15|true|$ED_EMAIL" \
    "$(h_psql "SELECT type || '|' || config::text || '|' || cooldown_seconds || '|' || enabled
               || '|' || created_by_email FROM sluice.pipeline_triggers WHERE id = '$T_PAGE'")"
page "$JE" "/pipelines/$OTHER"
assert_contains "the flash says so" "$H_BODY" "Trigger added."

page "$JE" "/triggers/$T_PAGE/disable" --data-urlencode "_csrf=$TOK"
assert_eq "disable -> 303" "303|f" \
    "$H_STATUS|$(h_psql "SELECT enabled FROM sluice.pipeline_triggers WHERE id = '$T_PAGE'")"
page "$JV" "/triggers/$T_PAGE/enable" --data-urlencode "_csrf=$(csrf_of "$JV")"
assert_eq "viewers cannot enable -> 403" 403 "$H_STATUS"
page "$JE" "/triggers/$T_PAGE/enable" --data-urlencode "_csrf=$TOK"
assert_eq "enable -> 303" "303|t" \
    "$H_STATUS|$(h_psql "SELECT enabled FROM sluice.pipeline_triggers WHERE id = '$T_PAGE'")"
page "$JE" "/triggers/$T_PAGE/edit"
assert_eq "the edit form -> 200" 200 "$H_STATUS"
assert_contains "shows the cooldown" "$H_BODY" 'value="15"'
assert_contains "and the upstream chosen" "$H_BODY" \
    "<option value=\"$UP\" selected>upstream_pl</option>"
assert_lacks "no zone field for this type" "$H_BODY" 'id="zone_name"'
page "$JE" "/triggers/$T_PAGE" --data-urlencode "_csrf=$TOK" \
    --data-urlencode "upstream_pipeline_id=$UP" --data-urlencode "cooldown_seconds=-5" \
    --data-urlencode "enabled=1"
assert_eq "a negative cooldown -> 422" 422 "$H_STATUS"
page "$JE" "/triggers/$T_PAGE" --data-urlencode "_csrf=$TOK" \
    --data-urlencode "upstream_pipeline_id=$UP" --data-urlencode "cooldown_seconds=120" \
    --data-urlencode "enabled=1"
assert_eq "saving -> 303, cooldown 120" "303|120" \
    "$H_STATUS|$(h_psql "SELECT cooldown_seconds FROM sluice.pipeline_triggers
                         WHERE id = '$T_PAGE'")"

page "$JE" "/triggers/$T_PAGE/delete"
assert_eq "the delete confirmation -> 200" 200 "$H_STATUS"
assert_contains "a form that posts the deletion" "$H_BODY" "action=\"/triggers/$T_PAGE/delete\""
assert_contains "with a JavaScript confirmation too" "$H_BODY" \
    'data-confirm="Delete this trigger?"'
page "$JE" "/triggers/$T_PAGE/delete" --data-urlencode "_csrf=$TOK"
assert_eq "delete -> 303 and gone" "303|0" \
    "$H_STATUS|$(h_psql "SELECT count(*) FROM sluice.pipeline_triggers WHERE id = '$T_PAGE'")"
assert_eq "deletion audited" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'trigger.delete'
               AND object_id = '$T_PAGE'")"
page "$JE" "/triggers/$T_PAGE/delete"
assert_eq "a deleted trigger's pages -> 404" 404 "$H_STATUS"
page "$JE" "/triggers/$T_DEP/rotate"
assert_eq "rotating a trigger without a secret -> 409" 409 "$H_STATUS"

# A webhook trigger from the form: the secret page, once.
page "$JE" "/pipelines/$OTHER/triggers" --data-urlencode "_csrf=$TOK" \
    --data-urlencode "type=webhook" --data-urlencode "cooldown_seconds=0" \
    --data-urlencode "enabled=1"
assert_eq "adding a webhook trigger answers the secret page (200, no redirect)" 200 "$H_STATUS"
assert_contains "not cached" "$(h_header Cache-Control)" "no-store"
PAGE_SECRET=$(printf '%s' "$H_BODY" | grep -o 'id="hook-secret">whsec_[^<]*' | sed 's/.*>//')
T_PHOOK=$(h_psql "SELECT id FROM sluice.pipeline_triggers WHERE pipeline_id = '$OTHER'
                  AND type = 'webhook'")
assert_true "the page shows the secret" test -n "$PAGE_SECRET"
assert_contains "and the URL" "$H_BODY" "$H_URL/api/v1/hooks/$T_PHOOK"
# The shell recipe the page shows works as written.
RECIPE=$(printf '%s' "$H_BODY" | sed -n '/<pre class="secret"><code>/,/<\/code><\/pre>/p' \
    | sed 's/<pre class="secret"><code>//; s/<\/code><\/pre>//' \
    | sed "s/&#39;/'/g; s/&quot;/\"/g; s/&amp;/\\&/g; s/&lt;/</g; s/&gt;/>/g")
assert_contains "the page's shell recipe queues a run" "$(bash -c "$RECIPE" 2> /dev/null)" \
    '"status":"queued"'
page "$JE" "/pipelines/$OTHER"
assert_lacks "the pipeline page never shows it again" "$H_BODY" "$PAGE_SECRET"
assert_lacks "no whsec_ at all" "$H_BODY" "whsec_"
page "$JE" "/triggers/$T_PHOOK/rotate"
assert_eq "the rotate confirmation -> 200" 200 "$H_STATUS"
assert_contains "posts the rotation" "$H_BODY" "action=\"/triggers/$T_PHOOK/rotate\""
page "$JE" "/triggers/$T_PHOOK/rotate" --data-urlencode "_csrf=$TOK"
assert_eq "rotate -> 200 with the new secret" 200 "$H_STATUS"
NEW_PAGE_SECRET=$(printf '%s' "$H_BODY" | grep -o 'id="hook-secret">whsec_[^<]*' | sed 's/.*>//')
assert_true "a different one" test -n "$NEW_PAGE_SECRET" -a "$NEW_PAGE_SECRET" != "$PAGE_SECRET"
assert_contains "saying the old one stopped working" "$H_BODY" "The old secret stopped working"

# --- secrets never leak ------------------------------------------------------------------

api GET "/api/v1/audit?limit=200" "$ED_TOKEN"
AUDIT_API=$H_BODY
page "$JE" "/audit"
AUDIT_PAGE=$H_BODY
ALL_AUDIT=$(h_psql "SELECT string_agg(coalesce(details::text, ''), ' ') FROM sluice.audit_log")
LOGS=$(cat "$H_LOG"/*.log "$H_VAR"/log/*.log "$TRIG_LOG" 2> /dev/null)
for s in "$OLD_SECRET" "$SECRET" "$PAGE_SECRET" "$NEW_PAGE_SECRET"; do
    k=${s#whsec_}
    for where in AUDIT_API AUDIT_PAGE ALL_AUDIT LOGS; do
        if [[ ${!where} == *"$k"* ]]; then
            fail "no secret in $where" "found ${k:0:6}..."
        else
            ok "no secret in $where (${k:0:6}...)"
        fi
    done
done
assert_lacks "no whsec_ in the audit trail" "$ALL_AUDIT" "whsec_"
assert_lacks "no whsec_ in any log" "$LOGS" "whsec_"

h_done
