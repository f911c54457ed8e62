#!/usr/bin/env bash
# test_retention.sh - settings, retention and the event log against the real
# stack: `sluice reap` deletes exactly what the settings say (runs beyond the
# newest N and older than the age, per-pipeline overrides winning, run logs
# of the default partition only, quality results by age and per table, audit
# entries, events, sessions, sign-in attempts, webhook receipts, soft-deleted
# pipelines purged with their runs, versions and triggers), in batches
# smaller than the work, within a time budget; a dry run counts the same and
# deletes nothing; sluice.reaper_status counts; POST
# /api/v1/admin/retention/run (admins only) and the settings page's "Run
# now"; the settings page and API (typed validation, 422 with field
# errors, audited before/after, config.changed events); feature flags that
# hide and refuse their routes and stop the tick firing triggers; the
# events page and API (filters, keyset pagination) and the consumers panel.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_TICK_SECONDS=1 "$H_ROOT/bin/sluice" "$@"
}
q() { h_psql "$1"; }

A_EMAIL=admin@example.com A_PW='admin-pass-1234'
E_EMAIL=ed@example.com E_PW='editor-pass-5678'
V_EMAIL=vi@example.com V_PW='viewer-pass-4321'
printf '%s\n' "$A_PW" | sluice_cli user add --email "$A_EMAIL" --role admin --name Ada > /dev/null
printf '%s\n' "$E_PW" | sluice_cli user add --email "$E_EMAIL" --role editor --name Ed > /dev/null
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi > /dev/null
A_TOKEN=$(sluice_cli token create --email "$A_EMAIL" --name tests 2> /dev/null)
E_TOKEN=$(sluice_cli token create --email "$E_EMAIL" --name tests 2> /dev/null)
V_TOKEN=$(sluice_cli token create --email "$V_EMAIL" --name tests 2> /dev/null)
assert_true "tokens made" test -n "$A_TOKEN" -a -n "$E_TOKEN" -a -n "$V_TOKEN"

JA=$H_TMP/admin.jar
JV=$H_TMP/viewer.jar
csrf_in() {
    printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
        | sed 's/.*value="//; s/"$//'
}
LOGINS=0
login() {
    local jar=$1 tok src
    LOGINS=$((LOGINS + 1))
    src=127.0.3.$LOGINS
    rm -f "$jar"
    h_get "$H_URL/login" -b "$jar" -c "$jar" --interface "$src"
    tok=$(csrf_in || true)
    h_get "$H_URL/login" -b "$jar" -c "$jar" --interface "$src" --data-urlencode "_csrf=$tok" \
        --data-urlencode "email=$2" --data-urlencode "password=$3" --data-urlencode "next=/"
}
page() {
    local jar=$1 path=$2
    shift 2
    h_get "$H_URL$path" -b "$jar" -c "$jar" "$@"
}
post() {
    local jar=$1 path=$2 tok args=() f
    shift 2
    page "$jar" /
    tok=$(csrf_in)
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    h_get "$H_URL$path" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" "${args[@]}"
}
api() {
    local method=$1 path=$2 token=$3
    shift 3
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' "$@"
}
jget() { printf '%s' "$H_BODY" | h_json "$1" || true; }
# jsb EXPR: a JavaScript expression over the last body, parsed as d.
jsb() {
    printf '%s' "$H_BODY" | node -e '
        const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const v = eval(process.argv[1]);
        console.log(typeof v === "string" ? v : JSON.stringify(v));' "$1"
}
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
# reap_json ARGS...: sluice reap --json; the result in REAP.
reap_json() {
    REAP=$(sluice_cli reap --json "$@" 2> "$H_TMP/reap.err") || true
}
rget() { printf '%s' "$REAP" | h_json "$1" || true; }

login "$JA" "$A_EMAIL" "$A_PW"
assert_eq "admin signs in" 303 "$H_STATUS"
login "$JV" "$V_EMAIL" "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# --- seed: four pipelines and their history -------------------------------------------

DBNAME=${H_DATABASE_URL##*/}
q "INSERT INTO sluice.sources (name, type, host, port, database, username)
   VALUES ('src', 'postgresql', '127.0.0.1', 5432, 'x', 'u'),
          ('src3', 'postgresql', '127.0.0.1', 5432, 'x', 'u');
   INSERT INTO sluice.destinations (name, type, host, port, database, username, is_default)
   VALUES ('dst', 'postgresql', '127.0.0.1', 5432, 'x', 'u', true),
          ('dst3', 'postgresql', '127.0.0.1', 5432, 'x', 'u', false)" > /dev/null
SRC=$(q "SELECT id FROM sluice.sources WHERE name = 'src'")
DST=$(q "SELECT id FROM sluice.destinations WHERE name = 'dst'")
SRC3=$(q "SELECT id FROM sluice.sources WHERE name = 'src3'")
DST3=$(q "SELECT id FROM sluice.destinations WHERE name = 'dst3'")
newp() { # name source destination deleted_at-expression
    q "INSERT INTO sluice.pipelines (name, source_id, destination_id, deleted_at)
       VALUES ('$1', '$2', '$3', $4) RETURNING id"
}
P1=$(newp p1 "$SRC" "$DST" NULL)
P2=$(newp p2 "$SRC" "$DST" NULL)
P3=$(newp p3 "$SRC3" "$DST3" "now() - interval '40 days'")
P4=$(newp p4 "$SRC" "$DST" "now() - interval '10 days'")

# runs PIPELINE STATUS COUNT AGE_SQL [STEP_SQL]: COUNT runs queued at
# now - AGE - i * STEP (i = COUNT..1, so ids rise with time), finished unless
# queued or running; ids from their time, so the id order is the time order.
runs() {
    local step=${5:-"interval '1 minute'"}
    q "INSERT INTO sluice_runs.runs (id, pipeline_id, status, queued_at, started_at, finished_at)
       SELECT sluice.partition_id_for_ts(t) + (random() * 1000)::int, '$1', '$2', t, t,
              CASE WHEN '$2' IN ('queued', 'running') THEN NULL ELSE t END
       FROM (SELECT now() - $4 - i * $step AS t FROM generate_series($3, 1, -1) i) s" \
        > /dev/null
}
nruns() { q "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = '$1'"; }

# p1: 3 old finished, 1 old running, 12 recent finished, 1 queued now.
runs "$P1" success 3 "interval '40 days'"
runs "$P1" running 1 "interval '39 days'"
runs "$P1" failed 12 "interval '1 minute'" "interval '1 hour'"
runs "$P1" queued 1 "interval '0 seconds'" "interval '1 second'"
RUNNING=$(q "SELECT id FROM sluice_runs.runs WHERE pipeline_id = '$P1' AND status = 'running'")
OLDRUN=$(q "SELECT min(id) FROM sluice_runs.runs WHERE pipeline_id = '$P1'")
q "INSERT INTO sluice_runs.run_table_stats (run_id, source_table) VALUES ($OLDRUN, 't')" \
    > /dev/null
# p2: 8 recent; p3 (purged): 4; p4 (deleted 10 days ago: kept): 2.
runs "$P2" success 8 "interval '1 minute'" "interval '1 hour'"
runs "$P3" success 4 "interval '45 days'" "interval '1 hour'"
runs "$P4" success 2 "interval '11 days'" "interval '1 hour'"
NEWEST_P2=$(q "SELECT max(id) FROM sluice_runs.runs WHERE pipeline_id = '$P2'")
q "INSERT INTO sluice.pipeline_versions (pipeline_id, version, snapshot, etag)
   VALUES ('$P3', 1, '{}', 'a'), ('$P3', 2, '{}', 'b');
   INSERT INTO sluice.pipeline_tables (pipeline_id, source_table) VALUES ('$P3', 'orders');
   INSERT INTO sluice.pipeline_triggers (pipeline_id, type, config)
   VALUES ('$P3', 'pipeline_success', jsonb_build_object('upstream_pipeline_id', '$P1'))" \
    > /dev/null

# Run logs: a range partition made before any row falls in it (rows there
# belong to partition upkeep, never to the reaper); 6 old lines of a kept
# run in the default partition, 4 recent ones, 2 old ones in the real
# partition, 3 recent lines of a run that is deleted (they go with it).
q "CREATE TABLE sluice_runs.run_logs_t_test PARTITION OF sluice_runs.run_logs
   FOR VALUES FROM (sluice.partition_id_for_ts(now() - interval '13 days'))
   TO (sluice.partition_id_for_ts(now() - interval '11 days'))" > /dev/null
logs() { # RUN COUNT AGE_SQL
    q "INSERT INTO sluice_runs.run_logs (id, run_id, at, message)
       SELECT sluice.partition_id_for_ts(now() - $3) + i, $1, now() - $3, 'line ' || i
       FROM generate_series(1, $2) i" > /dev/null
}
logs "$RUNNING" 6 "interval '10 days'"
logs "$RUNNING" 4 "interval '1 minute'"
logs "$RUNNING" 2 "interval '12 days'"
logs "$OLDRUN" 3 "interval '2 minutes'"
assert_eq "two old log lines sit in the real partition" 2 \
    "$(q "SELECT count(*) FROM sluice_runs.run_logs_t_test")"

# Quality: p1 'orders' 7 recent (keep 4), 'customers' 2 old + 3 recent;
# p2 'items' 3 recent (p2 keeps 1 by its override).
quality() { # PIPELINE RUN TABLE COUNT AGE_SQL
    q "INSERT INTO sluice_runs.quality_log (id, run_id, pipeline_id, table_name, check_type,
           status, checked_at)
       SELECT sluice.partition_id_for_ts(now() - $5) + i, $2, '$1', '$3', 'row_count',
              'passed', now() - $5
       FROM generate_series(1, $4) i" > /dev/null
}
quality "$P1" "$RUNNING" orders 7 "interval '1 hour'"
quality "$P1" "$RUNNING" customers 2 "interval '70 days'"
quality "$P1" "$RUNNING" customers 3 "interval '2 hours'"
quality "$P2" "$NEWEST_P2" items 3 "interval '50 minutes'"

# Audit: 5 old, 3 within the age. Events: 4 old in the default partition.
q "INSERT INTO sluice.audit_log (at, action) SELECT now() - interval '100 days', 'old.thing'
   FROM generate_series(1, 5);
   INSERT INTO sluice.audit_log (at, action) SELECT now() - interval '10 days', 'new.thing'
   FROM generate_series(1, 3);
   INSERT INTO sluice_events.events (id, stream, type, at)
   SELECT sluice.partition_id_for_ts(now() - interval '20 days') + i, 'test:old', 'test.old',
          now() - interval '20 days' FROM generate_series(1, 4) i" > /dev/null

# Sessions: 2 expired, 1 idle past its timeout, 1 good. Sign-in attempts:
# 4 older than a day. Webhook receipts: 3 past the replay window, 1 fresh.
VID=$(q "SELECT id FROM sluice.users WHERE email = '$V_EMAIL'")
q "INSERT INTO sluice.sessions (token_hash, user_id, csrf_token, expires_at, last_seen_at)
   SELECT decode(md5(k), 'hex'), '$VID', 'x', now() + e, now() - l
   FROM (VALUES ('s1', interval '-1 hour', interval '2 hours'),
                ('s2', interval '-1 day', interval '2 days'),
                ('s3', interval '1 day', interval '3 hours'),
                ('s4', interval '1 day', interval '0')) v (k, e, l);
   INSERT INTO sluice.login_attempts (email, at) SELECT 'x@example.com', now() - interval '2 days'
   FROM generate_series(1, 4);
   WITH t AS (INSERT INTO sluice.pipeline_triggers (pipeline_id, type, secret_enc)
              VALUES ('$P1', 'webhook', 'sb1:not-a-real-secret') RETURNING id)
   INSERT INTO sluice.webhook_receipts (trigger_id, msg_id, received_at)
   SELECT t.id, 'm' || i, now() - CASE WHEN i <= 3 THEN interval '1 hour' ELSE interval '0' END
   FROM t, generate_series(1, 4) i" > /dev/null
HOOK=$(q "SELECT id FROM sluice.pipeline_triggers WHERE type = 'webhook'")

# Landing: zone z1 purges after 5 days, z2 never (auto_purge off). Due in
# z1: a file loaded 10 days ago (its bytes on disk go) and a duplicate
# rejected 10 days ago (no bytes). Not due: loaded 2 days ago, still
# 'uploaded', already purged, and z2's old file.
Z1=$(q "INSERT INTO sluice.landing_zones (name, destination_id, target_table,
        processed_max_age_days) VALUES ('z1', '$DST', 't1', 5) RETURNING id")
Z2=$(q "INSERT INTO sluice.landing_zones (name, destination_id, target_table, auto_purge)
        VALUES ('z2', '$DST', 't2', false) RETURNING id")
lfile() { # ZONE STATUS AGE_SQL KEEP_BYTES: a file row (and its bytes); prints its id
    local id
    id=$(q "INSERT INTO sluice.landing_files (zone_id, original_name, size_bytes, sha256, status,
            uploaded_at, loaded_at) VALUES ('$1', 'f.csv', 3, repeat('a', 64), '$2',
            now() - $3, CASE WHEN '$2' IN ('loaded', 'rejected') THEN now() - $3 END)
            RETURNING id")
    if [ "$4" = yes ]; then
        mkdir -p "$H_VAR/landing/$1"
        printf 'a,b' > "$H_VAR/landing/$1/$id"
        q "UPDATE sluice.landing_files SET stored_name = id::text WHERE id = $id" > /dev/null
    fi
    printf '%s\n' "$id"
}
F_OLD=$(lfile "$Z1" loaded "interval '10 days'" yes)
F_DUP=$(lfile "$Z1" rejected "interval '10 days'" no)
F_NEW=$(lfile "$Z1" loaded "interval '2 days'" yes)
F_WAIT=$(lfile "$Z1" uploaded "interval '10 days'" yes)
F_GONE=$(lfile "$Z1" purged "interval '10 days'" no)
F_KEEP=$(lfile "$Z2" loaded "interval '10 days'" yes)
# Outbox messages: 3 delivered 20 days ago go; one delivered 2 days ago and
# a dead letter of 20 days ago stay.
q "INSERT INTO sluice_events.messages (target_id, event_id, event_type, status, delivered_at,
       dead_at)
   SELECT gen_random_uuid(), i, 'run.failed', s, CASE WHEN s = 'delivered' THEN now() - a END,
          CASE WHEN s = 'dead' THEN now() - a END
   FROM (VALUES (1, 'delivered', interval '20 days'), (2, 'delivered', interval '20 days'),
                (3, 'delivered', interval '20 days'), (4, 'delivered', interval '2 days'),
                (5, 'dead', interval '20 days')) v (i, s, a)" > /dev/null
lstatus() { q "SELECT status || ' ' || coalesce(stored_name, '-') FROM sluice.landing_files
               WHERE id = $1"; }

# --- settings through the API, overrides through the pipeline API -----------------------

api PATCH /api/v1/settings "$A_TOKEN" -d '{"retention": {"runs_max_per_pipeline": 5,
    "runs_max_age_days": 30, "run_logs_max_age_days": 7, "quality_log_max_per_table": 4,
    "quality_log_max_age_days": 60, "audit_log_max_age_days": 90, "events_max_age_days": 14,
    "login_attempts_max_age_days": 1, "pipelines_purge_after_days": 30,
    "reaper_batch_size": 10}}'
assert_eq "PATCH /api/v1/settings -> 200" 200 "$H_STATUS"
assert_eq "the answer has the new batch size" 10 "$(jget retention.reaper_batch_size)"
assert_eq "runs kept per pipeline stored" 5 \
    "$(q "SELECT value ->> 'runs_max_per_pipeline' FROM sluice.settings WHERE key = 'retention'")"
assert_eq "keys the catalog does not show are kept" 14 \
    "$(q "SELECT value ->> 'messages_max_age_days' FROM sluice.settings WHERE key = 'retention'")"

api PUT "/api/v1/pipelines/$P2/retention" "$E_TOKEN" \
    -d '{"runs_max_per_pipeline": 3, "quality_log_max_per_table": 1, "runs_max_age_days": null}'
assert_eq "editor PUTs p2's retention overrides" 200 "$H_STATUS"
assert_eq "override in the answer" 3 "$(jget overrides.runs_max_per_pipeline)"
assert_eq "null follows the global setting" null "$(jget overrides.runs_max_age_days)"
assert_eq "effective age is the global one" 30 "$(jget effective.runs_max_age_days)"
assert_eq "defaults show the global count" 5 "$(jget defaults.runs_max_per_pipeline)"
assert_eq "stored as the pipeline's retention" \
    '{"runs_max_per_pipeline": 3, "quality_log_max_per_table": 1}' \
    "$(q "SELECT retention FROM sluice.pipelines WHERE id = '$P2'")"
assert_eq "override change audited" 1 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'pipeline.retention'
          AND object_id = '$P2' AND details -> 'after' ->> 'runs_max_per_pipeline' = '3'")"
assert_eq "and appended as a config.changed event on the pipeline's stream" 1 \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE stream = 'pipeline:$P2'
          AND type = 'config.changed' AND data ->> 'action' = 'pipeline.retention'")"
api PUT "/api/v1/pipelines/$P2/retention" "$V_TOKEN" -d '{}'
assert_eq "viewers cannot change overrides" 403 "$H_STATUS"
api PUT "/api/v1/pipelines/$P2/retention" "$E_TOKEN" -d '{"runs_max_per_pipeline": -1, "x": 1}'
assert_eq "bad overrides -> 422" 422 "$H_STATUS"
assert_contains "per-field error" "$(jget errors.runs_max_per_pipeline)" "whole number from 0"
assert_contains "unknown field refused" "$(jget errors.x)" "unknown field"
api GET "/api/v1/pipelines/not-a-uuid/retention" "$V_TOKEN"
assert_eq "malformed id -> 404" 404 "$H_STATUS"
api GET "/api/v1/pipelines/$P3/retention" "$V_TOKEN"
assert_eq "a deleted pipeline has no retention page -> 404" 404 "$H_STATUS"

# The page: shows the override, a bad value is 422 with the typed value kept.
page "$JA" "/pipelines/$P2/retention"
assert_eq "GET /pipelines/{id}/retention -> 200" 200 "$H_STATUS"
assert_contains "override shown in its field" "$H_BODY" \
    'name="runs_max_per_pipeline" type="number" inputmode="numeric" min="0" max="1000000"'
assert_contains "with its value" "$H_BODY" 'step="1" value="3" placeholder="5"'
post "$JA" "/pipelines/$P2/retention" runs_max_per_pipeline=lots quality_log_max_per_table=1
assert_eq "bad override on the page -> 422" 422 "$H_STATUS"
assert_contains "typed value kept" "$H_BODY" 'value="lots"'
assert_contains "field error shown" "$H_BODY" 'id="r-runs_max_per_pipeline-error"'
assert_eq "nothing saved" 3 \
    "$(q "SELECT retention ->> 'runs_max_per_pipeline' FROM sluice.pipelines WHERE id = '$P2'")"
page "$JA" "/pipelines/$P1"
assert_contains "the pipeline page links its retention" "$H_BODY" "/pipelines/$P1/retention"

# --- the dry run counts exactly, deletes nothing ----------------------------------------

# Row counts of everything the reaper touches, one line.
snapshot() {
    q "SELECT (SELECT count(*) FROM sluice_runs.runs) || ' ' ||
              (SELECT count(*) FROM sluice_runs.run_logs) || ' ' ||
              (SELECT count(*) FROM sluice_runs.quality_log) || ' ' ||
              (SELECT count(*) FROM sluice.audit_log WHERE action LIKE '%.thing') || ' ' ||
              (SELECT count(*) FROM sluice_events.events WHERE stream = 'test:old') || ' ' ||
              (SELECT count(*) FROM sluice.sessions) || ' ' ||
              (SELECT count(*) FROM sluice.login_attempts WHERE email = 'x@example.com') || ' ' ||
              (SELECT count(*) FROM sluice.webhook_receipts) || ' ' ||
              (SELECT count(*) FROM sluice.pipelines) || ' ' ||
              (SELECT count(*) FROM sluice.landing_files WHERE status = 'purged') || ' ' ||
              (SELECT count(*) FROM sluice_events.messages)"
}
BEFORE=$(snapshot)
EXPECT='{"sessions":3,"login_attempts":4,"webhook_receipts":3,"run_logs":6,"quality":7,'
EXPECT+='"events":4,"audit":5,"pipelines":1,"runs":20,"landing_files":2,"messages":3}'
reap_json --dry-run
assert_eq "dry run: counts per category" "$EXPECT" "$(rget counts)"
assert_eq "dry run says so" true "$(rget dry_run)"
assert_eq "dry run total" 58 "$(rget total)"
assert_eq "dry run deleted nothing" "$BEFORE" "$(snapshot)"
assert_eq "dry run leaves the status alone" "" \
    "$(q "SELECT last_run_at FROM sluice.reaper_status")"
assert_contains "plain output names what would go" "$(sluice_cli reap --dry-run)" \
    "58 would be deleted"

# --- the real run: exactly the same, in batches of 10 -------------------------------------

reap_json
assert_eq "reap: same counts as the dry run" "$EXPECT" "$(rget counts)"
assert_eq "reap: complete" true "$(rget complete)"
assert_eq "reap: no errors" 0 "$(rget errors)"
assert_eq "p1 keeps the newest 5 (queued, 4 finished) and its running run" 6 "$(nruns "$P1")"
assert_eq "p1: the running run survives its age" 1 \
    "$(q "SELECT count(*) FROM sluice_runs.runs WHERE id = $RUNNING")"
assert_eq "p1: the queued run survives" 1 \
    "$(q "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = '$P1' AND status = 'queued'")"
assert_eq "p1: nothing older than 30 days but the running run" 1 \
    "$(q "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = '$P1'
          AND queued_at < now() - interval '30 days'")"
assert_eq "p2: its override (3) wins over the global 5" 3 "$(nruns "$P2")"
assert_eq "p2: the newest three" 3 \
    "$(q "SELECT count(*) FROM (SELECT id FROM sluice_runs.runs WHERE pipeline_id = '$P2'
          ORDER BY id DESC LIMIT 3) s JOIN sluice_runs.runs r USING (id)")"
assert_eq "p3 (deleted 40 days ago) is purged" 0 \
    "$(q "SELECT count(*) FROM sluice.pipelines WHERE id = '$P3'")"
assert_eq "with its runs" 0 "$(nruns "$P3")"
assert_eq "with its versions, tables and triggers" "0 0 0" \
    "$(q "SELECT concat_ws(' ',
            (SELECT count(*) FROM sluice.pipeline_versions WHERE pipeline_id = '$P3'),
            (SELECT count(*) FROM sluice.pipeline_tables WHERE pipeline_id = '$P3'),
            (SELECT count(*) FROM sluice.pipeline_triggers WHERE pipeline_id = '$P3'))")"
assert_eq "p4 (deleted 10 days ago) stays with its runs" "1 2" \
    "$(q "SELECT count(*) || ' ' || (SELECT count(*) FROM sluice_runs.runs
          WHERE pipeline_id = '$P4') FROM sluice.pipelines WHERE id = '$P4'")"
assert_eq "run stats went with their run" 0 \
    "$(q "SELECT count(*) FROM sluice_runs.run_table_stats WHERE run_id = $OLDRUN")"
assert_eq "log lines: 4 recent + 2 in the real partition remain" 6 \
    "$(q "SELECT count(*) FROM sluice_runs.run_logs")"
assert_eq "the real partition's old lines are untouched" 2 \
    "$(q "SELECT count(*) FROM sluice_runs.run_logs_t_test")"
assert_eq "lines of a deleted run went with it" 0 \
    "$(q "SELECT count(*) FROM sluice_runs.run_logs WHERE run_id = $OLDRUN")"
assert_eq "quality: orders 4, customers 3, items 1" "customers 3,items 1,orders 4" \
    "$(q "SELECT string_agg(table_name || ' ' || n, ',' ORDER BY table_name) FROM
          (SELECT table_name, count(*) n FROM sluice_runs.quality_log GROUP BY 1) s")"
assert_eq "quality: the newest results are the ones kept" 4 \
    "$(q "SELECT count(*) FROM (SELECT id FROM sluice_runs.quality_log WHERE table_name = 'orders'
          ORDER BY id DESC LIMIT 4) s JOIN sluice_runs.quality_log USING (id)")"
assert_eq "audit: the 3 recent entries remain" "3 0" \
    "$(q "SELECT count(*) FILTER (WHERE action = 'new.thing') || ' ' ||
          count(*) FILTER (WHERE action = 'old.thing') FROM sluice.audit_log")"
assert_eq "events: the old ones are gone" 0 \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE stream = 'test:old'")"
assert_eq "sessions: only good ones remain" 0 \
    "$(q "SELECT count(*) FROM sluice.sessions WHERE expires_at <= now()
          OR last_seen_at <= now() - idle_timeout")"
assert_eq "the good seeded session remains" 1 \
    "$(q "SELECT count(*) FROM sluice.sessions WHERE token_hash = decode(md5('s4'), 'hex')")"
assert_eq "old sign-in attempts gone" 0 \
    "$(q "SELECT count(*) FROM sluice.login_attempts WHERE email = 'x@example.com'")"
assert_eq "fresh webhook receipt kept" 1 "$(q "SELECT count(*) FROM sluice.webhook_receipts")"
assert_eq "landing: the old loaded file is purged" "purged -" "$(lstatus "$F_OLD")"
assert_eq "landing: its bytes are gone" no \
    "$(test -e "$H_VAR/landing/$Z1/$F_OLD" && echo yes || echo no)"
assert_eq "landing: the old duplicate is purged" "purged -" "$(lstatus "$F_DUP")"
assert_eq "landing: a file within the zone's age stays" "loaded $F_NEW" "$(lstatus "$F_NEW")"
assert_eq "landing: its bytes too" yes \
    "$(test -e "$H_VAR/landing/$Z1/$F_NEW" && echo yes || echo no)"
assert_eq "landing: a file not loaded yet stays" "uploaded $F_WAIT" "$(lstatus "$F_WAIT")"
assert_eq "landing: a zone without auto purge keeps its files" "loaded $F_KEEP" \
    "$(lstatus "$F_KEEP")"
assert_eq "landing: purged_at set" 1 \
    "$(q "SELECT count(*) FROM sluice.landing_files WHERE id = $F_OLD AND purged_at IS NOT NULL")"
: "$F_GONE"
assert_eq "messages: the recent delivery and the dead letter remain" "delivered 4,dead 5" \
    "$(q "SELECT string_agg(status || ' ' || event_id, ',' ORDER BY event_id)
          FROM sluice_events.messages")"
page "$JA" /tokens
assert_eq "the admin's own session survived" 200 "$H_STATUS"
q "DELETE FROM sluice.sources WHERE id = '$SRC3';
   DELETE FROM sluice.destinations WHERE id = '$DST3'" \
    > /dev/null
assert_eq "p3's source and destination can be deleted now" 0 \
    "$(q "SELECT count(*) FROM sluice.sources WHERE id = '$SRC3'")"

# --- the status -----------------------------------------------------------------------------

assert_eq "reaper_status counters" "20 6 7 4 5 3 1 4 3 2 3 1" \
    "$(q "SELECT concat_ws(' ', runs_pruned, run_logs_pruned, quality_pruned, events_pruned,
          audit_pruned, sessions_pruned, pipelines_purged, login_attempts_pruned,
          webhook_receipts_pruned, landing_files_cleaned, messages_pruned, runs)
          FROM sluice.reaper_status")"
assert_eq "last run recorded, complete, no error" "t t t" \
    "$(q "SELECT concat_ws(' ', last_run_at > now() - interval '1 minute', last_complete,
          last_error IS NULL) FROM sluice.reaper_status")"
assert_eq "last counts stored" 20 "$(q "SELECT last_counts ->> 'runs' FROM sluice.reaper_status")"
assert_eq "a retention.completed event" 58 \
    "$(q "SELECT data ->> 'total' FROM sluice_events.events WHERE type = 'retention.completed'")"

reap_json
assert_eq "a second run finds nothing" 0 "$(rget total)"
assert_eq "counters unchanged, runs 2" "20 2" \
    "$(q "SELECT runs_pruned || ' ' || runs FROM sluice.reaper_status")"
assert_eq "an empty run appends no event" 1 \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE type = 'retention.completed'")"

# --- batches, budget --------------------------------------------------------------------

q "INSERT INTO sluice_events.events (id, stream, type, at)
   SELECT sluice.partition_id_for_ts(now() - interval '30 days') + i, 'test:bulk', 'test.bulk',
          now() - interval '30 days' FROM generate_series(1, 1234) i" > /dev/null
reap_json
assert_eq "1234 old events in batches of 10: all go" 1234 "$(rget counts.events)"
assert_eq "none left" 0 \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE stream = 'test:bulk'")"

# attempts EMAIL N: N sign-in attempts three days old; attempts_of EMAIL: how many remain.
attempts() {
    q "INSERT INTO sluice.login_attempts (email, at)
       SELECT '$1', now() - interval '3 days' FROM generate_series(1, $2)" > /dev/null
}
attempts_of() { q "SELECT count(*) FROM sluice.login_attempts WHERE email = '$1'"; }
attempts bulk@example.com 100000
reap_json --batch 1 --budget 1
assert_eq "one row a batch for 1 s: out of time" false "$(rget complete)"
FIRST=$(rget counts.login_attempts)
assert_true "some went ($FIRST)" test "$FIRST" -gt 0 -a "$FIRST" -lt 100000
assert_eq "the status says incomplete" f "$(q "SELECT last_complete FROM sluice.reaper_status")"
reap_json
assert_eq "the next run takes the rest" $((100000 - FIRST)) "$(rget counts.login_attempts)"
assert_eq "then complete" true "$(rget complete)"
assert_eq "nothing left" 0 "$(attempts_of bulk@example.com)"

# --- run now: API (admins only) and the page ----------------------------------------------

attempts now@example.com 3
RUNS0=$(q "SELECT runs FROM sluice.reaper_status")
api POST /api/v1/admin/retention/run "$E_TOKEN" -d '{}'
assert_eq "editors may not run retention" 403 "$H_STATUS"
api POST /api/v1/admin/retention/run "$V_TOKEN" -d '{}'
assert_eq "viewers may not run retention" 403 "$H_STATUS"
api POST /api/v1/admin/retention/run "$A_TOKEN" -d '{"dry_run": "yes", "x": 1}'
assert_eq "bad body -> 422" 422 "$H_STATUS"
assert_contains "dry_run must be boolean" "$(jget errors.dry_run)" "true or false"
NAUDIT=$(q "SELECT count(*) FROM sluice.audit_log")
api POST /api/v1/admin/retention/run "$A_TOKEN" -d '{"dry_run": true}'
assert_eq "dry run over the API -> 200" 200 "$H_STATUS"
assert_eq "counts the 3 attempts" 3 "$(jget counts.login_attempts)"
assert_eq "deletes nothing" 3 "$(attempts_of now@example.com)"
assert_eq "a dry run is not a run" "$RUNS0" "$(q "SELECT runs FROM sluice.reaper_status")"
assert_eq "nor audited" "$NAUDIT" "$(q "SELECT count(*) FROM sluice.audit_log")"
api POST /api/v1/admin/retention/run "$A_TOKEN"
assert_eq "run now over the API (no body) -> 200" 200 "$H_STATUS"
assert_eq "deleted the 3 attempts" 3 "$(jget counts.login_attempts)"
assert_eq "complete" true "$(jget complete)"
assert_eq "status: one more run" $((RUNS0 + 1)) "$(q "SELECT runs FROM sluice.reaper_status")"
assert_eq "audited as retention.run" 1 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'retention.run'
          AND details -> 'counts' ->> 'login_attempts' = '3'")"
api GET /api/v1/admin/retention "$A_TOKEN"
assert_eq "GET /api/v1/admin/retention -> 200" 200 "$H_STATUS"
assert_eq "status: runs" $((RUNS0 + 1)) "$(jget runs)"
assert_eq "status: total runs pruned" 20 "$(jget totals.runs)"
api GET /api/v1/admin/retention "$V_TOKEN"
assert_eq "status is for admins" 403 "$H_STATUS"
# Another process holding the reaper's lock: 409, nothing done.
advisory_locks() { q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"; }
_locked() { [ "$(advisory_locks)" -gt 0 ]; }
_unlocked() { [ "$(advisory_locks)" -eq 0 ]; }
"$H_PG_BIN/psql" -X -q -d "$H_DATABASE_URL" -c \
    "SELECT pg_advisory_lock(hashtext('sluice.tick.reaper')); SELECT pg_sleep(60)" \
    > /dev/null 2>&1 &
LOCKER_PID=$!
h_wait_for 10 _locked || true
api POST /api/v1/admin/retention/run "$A_TOKEN"
assert_eq "while another process reaps -> 409" 409 "$H_STATUS"
reap_json
assert_contains "sluice reap says so too" "$(cat "$H_TMP/reap.err")" "another process"
q "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted" \
    > /dev/null
wait "$LOCKER_PID" 2> /dev/null || true
h_wait_for 10 _unlocked || true

attempts page@example.com 2
page "$JA" /settings/retention/run
assert_eq "GET /settings/retention/run: a confirmation -> 200" 200 "$H_STATUS"
assert_contains "it shows the dry run's count" "$H_BODY" \
    '<tr data-key="login_attempts"><th scope="row">Sign-in attempts</th><td class="num">2</td>'
assert_contains "a POST form asks first" "$H_BODY" 'data-confirm="Delete these rows now?"'
assert_eq "the confirmation deleted nothing" 2 \
    "$(attempts_of page@example.com)"
page "$JV" /settings/retention/run
assert_eq "viewers get no confirmation page" 403 "$H_STATUS"
post "$JA" /settings/retention/run
assert_eq "POST /settings/retention/run -> 303" 303 "$H_STATUS"
assert_eq "back to the panel" "/settings#retention-status" "$(h_header Location)"
assert_eq "the rows went" 0 \
    "$(attempts_of page@example.com)"
page "$JA" /settings
assert_contains "flash with the count" "$H_BODY" "Retention applied: 2 rows deleted."
assert_contains "the panel shows the counters" "$H_BODY" \
    '<tr data-key="runs"><th scope="row">Runs</th><td class="num">0</td><td class="num">20</td>'
assert_contains "the panel offers Run now" "$H_BODY" 'href="/settings/retention/run"'

# --- the settings page ----------------------------------------------------------------------

page "$JA" /settings
assert_eq "GET /settings -> 200" 200 "$H_STATUS"
for s in retention scheduler notifications quality features; do
    assert_contains "section $s" "$H_BODY" "data-testid=\"settings-$s\""
done
assert_contains "stuck-run timeout shown under retention (scheduler setting)" "$H_BODY" \
    'name="scheduler.stuck_run_timeout_seconds"'
assert_contains "labelled inputs" "$H_BODY" '<label for="s-retention-runs_max_age_days">'
assert_contains "the admin's nav has Settings" "$H_BODY" \
    '<a href="/settings" aria-current="page">Settings</a>'
page "$JV" /settings
assert_eq "viewers may read the settings" 200 "$H_STATUS"
assert_contains "read-only for them" "$H_BODY" "<fieldset disabled>"
assert_lacks "no save buttons for viewers" "$H_BODY" "Save Retention"
assert_lacks "no Settings in a viewer's nav" "$H_BODY" 'href="/settings"'
post "$JV" /settings section=retention retention.runs_max_age_days=1
assert_eq "viewers cannot save" 403 "$H_STATUS"

# every field of the retention section, with one bad value
retention_form() {
    post "$JA" /settings section=retention retention.runs_max_per_pipeline=5 \
        retention.runs_max_age_days="$1" retention.run_logs_max_age_days=7 \
        retention.quality_log_max_per_table=4 retention.quality_log_max_age_days=60 \
        retention.audit_log_max_age_days=90 retention.pipelines_purge_after_days=30 \
        scheduler.stuck_run_timeout_seconds="$2" retention.landing_files_max_age_days=30 \
        retention.events_max_age_days=14 retention.login_attempts_max_age_days=1 \
        retention.messages_max_age_days=14 \
        retention.reaper_interval_minutes=60 retention.reaper_batch_size=10 \
        retention.reaper_time_budget_seconds=60
}
AUD0=$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'settings.update'")
retention_form abc 30
assert_eq "bad values -> 422" 422 "$H_STATUS"
assert_contains "nothing saved banner" "$H_BODY" "Nothing was saved."
assert_contains "error for the run age" "$H_BODY" \
    'id="s-retention-runs_max_age_days-error">Run age must be a whole number from 0 to 36500.</p>'
assert_contains "error for the stuck-run timeout (60..86400)" "$H_BODY" \
    'timeout_seconds-error">Stuck-run timeout must be a whole number from 60 to 86400.'
assert_contains "marked invalid" "$H_BODY" 'aria-invalid="true"'
assert_contains "typed value kept" "$H_BODY" 'value="abc"'
assert_eq "nothing written" 30 \
    "$(q "SELECT value ->> 'runs_max_age_days' FROM sluice.settings WHERE key = 'retention'")"
assert_eq "not audited" "$AUD0" \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'settings.update'")"
retention_form 45 300
assert_eq "good values -> 303" 303 "$H_STATUS"
assert_eq "back to the section" "/settings#retention" "$(h_header Location)"
assert_eq "run age saved" 45 \
    "$(q "SELECT value ->> 'runs_max_age_days' FROM sluice.settings WHERE key = 'retention'")"
assert_eq "the stuck-run timeout is written to the scheduler's row" 300 \
    "$(q "SELECT value ->> 'stuck_run_timeout_seconds' FROM sluice.settings
          WHERE key = 'scheduler'")"
assert_eq "by whom" "$A_EMAIL" \
    "$(q "SELECT updated_by FROM sluice.settings WHERE key = 'retention'")"
assert_eq "audited with before and after of what changed only" \
    '45 30 300 120 2' \
    "$(q "SELECT concat_ws(' ', c #> '{retention.runs_max_age_days,after}',
            c #> '{retention.runs_max_age_days,before}',
            c #> '{scheduler.stuck_run_timeout_seconds,after}',
            c #> '{scheduler.stuck_run_timeout_seconds,before}',
            (SELECT count(*) FROM jsonb_object_keys(c)))
          FROM (SELECT details -> 'changed' AS c FROM sluice.audit_log
                WHERE action = 'settings.update' ORDER BY id DESC LIMIT 1) s")"
assert_eq "a config.changed event for the change" 1 \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE type = 'config.changed'
          AND stream = 'settings:retention,scheduler'
          AND data -> 'details' -> 'changed' ? 'retention.runs_max_age_days'")"
page "$JA" /settings
assert_contains "flash" "$H_BODY" "Retention settings saved."
retention_form 45 300
page "$JA" /settings
assert_contains "saving the same values changes nothing" "$H_BODY" "Nothing changed."
assert_eq "and records nothing (no generic audit row either)" 0 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action LIKE 'http.%'")"

# The scheduler's retry rule between two fields.
post "$JA" /settings section=scheduler scheduler.max_concurrent_runs=4 \
    scheduler.default_max_retries=3 scheduler.retry_base_seconds=600 scheduler.retry_max_seconds=60
assert_eq "retry max below retry base -> 422" 422 "$H_STATUS"
assert_contains "said at the field" "$H_BODY" "must not be shorter than the first retry"

# --- the settings API ---------------------------------------------------------------------

api GET /api/v1/settings "$V_TOKEN"
assert_eq "viewers read the settings" 200 "$H_STATUS"
assert_eq "retention shown" 45 "$(jget retention.runs_max_age_days)"
assert_eq "scheduler shown" 300 "$(jget scheduler.stuck_run_timeout_seconds)"
assert_eq "notifications shown" 8 "$(jget notifications.max_attempts)"
assert_eq "a default fills a missing field (quality row absent)" 0 \
    "$(jget quality.row_count_threshold_pct)"
assert_eq "flags" true "$(jget features.audit_log)"
api GET '/api/v1/settings?x=1' "$V_TOKEN"
assert_eq "query parameters -> 422" 422 "$H_STATUS"
api PATCH /api/v1/settings "$V_TOKEN" -d '{"features": {"audit_log": false}}'
assert_eq "viewers may not PATCH" 403 "$H_STATUS"
api PATCH /api/v1/settings "$A_TOKEN" -d '{"retention": {"runs_max_age_days": -1, "bogus": 1,
    "reaper_batch_size": "10"}, "features": {"audit_log": "no"}, "nogroup": {},
    "quality": {"row_count_threshold_pct": 101}}'
assert_eq "bad PATCH -> 422" 422 "$H_STATUS"
assert_contains "range" "$H_BODY" \
    '"retention.runs_max_age_days":"must be a whole number from 0 to 36500"'
ERRS=$(printf '%s' "$H_BODY" | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));
    console.log(Object.keys(d.errors).sort().join(","))')
WANT="features.audit_log,nogroup,quality.row_count_threshold_pct,retention.bogus,"
WANT+="retention.reaper_batch_size,retention.runs_max_age_days"
assert_eq "an error per bad field" "$WANT" "$ERRS"
assert_eq "nothing saved" 45 \
    "$(q "SELECT value ->> 'runs_max_age_days' FROM sluice.settings WHERE key = 'retention'")"
api PATCH /api/v1/settings "$A_TOKEN" \
    -d '{"scheduler": {"retry_base_seconds": 100, "retry_max_seconds": 50}}'
assert_eq "cross-field rule over the API -> 422" 422 "$H_STATUS"
assert_contains "keyed by the field" "$H_BODY" '"scheduler.retry_max_seconds"'
api PATCH /api/v1/settings "$A_TOKEN" -d '{"quality": {"row_count_threshold_pct": 2.5}}'
assert_eq "a number setting -> 200" 200 "$H_STATUS"
assert_eq "stored" 2.5 "$(jget quality.row_count_threshold_pct)"
h_get "$H_URL/api/v1/settings" -X PATCH -H "Authorization: Bearer $A_TOKEN" \
    -H 'Content-Type: text/plain' -d 'x'
assert_eq "not JSON -> 415" 415 "$H_STATUS"

# --- feature flags ---------------------------------------------------------------------------

flag() { # NAME true|false
    api PATCH /api/v1/settings "$A_TOKEN" -d "{\"features\": {\"$1\": $2}}"
    assert_eq "turn $1 $2" 200 "$H_STATUS"
}
# audit log: hidden and refused, never stops recording
flag audit_log false
page "$JA" /audit
assert_eq "/audit -> 404 when off" 404 "$H_STATUS"
assert_contains "says why" "$H_BODY" "the audit log is turned off"
api GET /api/v1/audit "$A_TOKEN"
assert_eq "/api/v1/audit -> 404 when off" 404 "$H_STATUS"
assert_eq "as a problem" "the audit log is turned off" "$(jget detail)"
page "$JA" /
assert_lacks "no Audit log in the nav" "$H_BODY" 'href="/audit"'
N0=$(q "SELECT count(*) FROM sluice.audit_log")
flag audit_log true
assert_eq "changes are still recorded while the page is off" $((N0 + 1)) \
    "$(q "SELECT count(*) FROM sluice.audit_log")"
page "$JA" /audit
assert_eq "/audit back when on" 200 "$H_STATUS"
assert_contains "Audit log back in the nav" "$H_BODY" 'href="/audit"'

# versions: history refused, versions still recorded
flag pipeline_versions false
page "$JA" "/pipelines/$P1/versions"
assert_eq "history page -> 404 when off" 404 "$H_STATUS"
assert_contains "says why" "$H_BODY" "version history is turned off"
api GET "/api/v1/pipelines/$P1/versions" "$V_TOKEN"
assert_eq "versions API -> 404 when off" 404 "$H_STATUS"
api POST "/api/v1/pipelines/$P1/rollback" "$E_TOKEN" -d '{"version": 1}'
assert_eq "rollback -> 404 when off" 404 "$H_STATUS"
page "$JA" "/pipelines/$P1"
assert_lacks "no History button" "$H_BODY" "/pipelines/$P1/versions"
flag pipeline_versions true
page "$JA" "/pipelines/$P1/versions"
assert_eq "history back when on" 200 "$H_STATUS"
page "$JA" "/pipelines/$P1"
assert_contains "History button back" "$H_BODY" "/pipelines/$P1/versions"

# triggers: pages, API and the webhook receiver refused
flag pipeline_triggers false
page "$JA" "/pipelines/$P1/triggers"
assert_eq "triggers page -> 404 when off" 404 "$H_STATUS"
assert_contains "says why" "$H_BODY" "triggers are turned off"
api GET "/api/v1/pipelines/$P1/triggers" "$V_TOKEN"
assert_eq "triggers API -> 404 when off" 404 "$H_STATUS"
api GET "/api/v1/triggers/$HOOK" "$V_TOKEN"
assert_eq "a trigger -> 404 when off" 404 "$H_STATUS"
h_get "$H_URL/api/v1/hooks/$HOOK" -X POST -H 'Content-Type: application/json' -d '{}'
assert_eq "the webhook receiver -> 404 when off" 404 "$H_STATUS"
flag pipeline_triggers true
api GET "/api/v1/pipelines/$P1/triggers" "$V_TOKEN"
assert_eq "triggers API back when on" 200 "$H_STATUS"

# --- events: API filters, pagination, the page --------------------------------------------

DAY=$(date -u -d '3 days ago' +%F)
q "INSERT INTO sluice_events.events (id, stream, type, data, at)
   SELECT sluice.partition_id_for_ts(t) + i, 'test:page',
          CASE WHEN i % 12 < 7 THEN 'test.alpha' ELSE 'test.beta' END,
          jsonb_build_object('n', i), t
   FROM (SELECT i, ('$DAY'::date::timestamp AT TIME ZONE 'UTC') + i * interval '1 minute' AS t
         FROM generate_series(1, 120) i) s" > /dev/null
NALPHA=$(q "SELECT count(*) FROM sluice_events.events WHERE type = 'test.alpha'")
# walk TYPE LIMIT: follow next_cursor; prints the ids, one a line.
walk() {
    local cursor="" url
    while :; do
        url="/api/v1/events?type=$1&limit=$2"
        [ -z "$cursor" ] || url="$url&cursor=$cursor"
        api GET "$url" "$V_TOKEN"
        [ "$H_STATUS" = 200 ] || { echo "status $H_STATUS"; return; }
        printf '%s' "$H_BODY" | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));
            for (const e of d.items) console.log(e.id)'
        cursor=$(jget next_cursor)
        [ "$cursor" != null ] && [ -n "$cursor" ] || break
    done
}
W=$(walk test.alpha 30)
assert_eq "every alpha event once over pages of 30" "$NALPHA" \
    "$(printf '%s\n' "$W" | sort -u | wc -l)"
assert_eq "newest first" "$(printf '%s\n' "$W" | sort -rn)" "$W"
assert_eq "exact type matches only its own" "$NALPHA" "$(printf '%s\n' "$W" | wc -l)"
assert_eq "a prefix matches both types" 120 "$(walk test. 50 | wc -l)"
api GET "/api/v1/events?stream=test:page&limit=1" "$V_TOKEN"
assert_eq "by stream" "test:page" "$(jget items.0.stream)"
assert_eq "data is JSON" 120 "$(jget items.0.data.n)"
assert_eq "ids are strings" string "$(jsb 'typeof d.items[0].id')"
q "INSERT INTO sluice_events.events (id, stream, type, at)
   SELECT sluice.partition_id_for_ts(t) + 1, 'test:page', 'test.alpha', t
   FROM (SELECT ('$DAY'::date::timestamp AT TIME ZONE 'UTC') - interval '1 minute' AS t) s" \
    > /dev/null
NALPHA=$((NALPHA + 1))
api GET "/api/v1/events?type=test.&from=$DAY&to=$DAY&limit=200" "$V_TOKEN"
assert_eq "a date range (inclusive, UTC): the day's 120, not the one the minute before" 120 \
    "$(jsb 'd.items.length')"
api GET "/api/v1/events?pipeline=$P2&limit=200" "$V_TOKEN"
assert_eq "by pipeline: its stream" "pipeline:$P2" "$(jget items.0.stream)"
api GET "/api/v1/events?from=2030-13-01&bogus=1&pipeline=x&limit=0" "$V_TOKEN"
assert_eq "bad filters -> 422" 422 "$H_STATUS"
ERRS=$(printf '%s' "$H_BODY" | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));
    console.log(Object.keys(d.errors).sort().join(","))')
assert_eq "an error per bad parameter" "bogus,from,limit,pipeline" "$ERRS"

page "$JV" "/events?type=test.alpha"
assert_eq "GET /events -> 200" 200 "$H_STATUS"
assert_eq "50 events a page" 50 "$(printf '%s' "$H_BODY" | grep -c '<tr data-id=')"
assert_contains "data as compact JSON" "$H_BODY" '<code class="event-data">{&quot;n&quot;:'
assert_contains "Events in the nav, current" "$H_BODY" \
    '<a href="/events" aria-current="page">Events</a>'
OLDER=$(printf '%s' "$H_BODY" | grep -o 'href="/events?type=test.alpha&amp;before=[0-9]*"' \
    | sed 's/href="//; s/"$//; s/&amp;/\&/')
assert_true "an Older link" test -n "$OLDER"
page "$JV" "$OLDER"
assert_eq "the rest on page two" $((NALPHA - 50)) \
    "$(printf '%s' "$H_BODY" | grep -c '<tr data-id=')"
assert_contains "a Newer link back" "$H_BODY" 'rel="prev"'
page "$JV" "/events?from=2030-02-30"
assert_eq "bad date on the page -> 422" 422 "$H_STATUS"
assert_contains "field error" "$H_BODY" 'id="from-error"'
page "$JV" "/events?pipeline=$P2"
assert_contains "the pipeline is chosen in the filter" "$H_BODY" \
    "<option value=\"$P2\" selected>p2</option>"
assert_contains "its config.changed event, linked to the pipeline" "$H_BODY" \
    "href=\"/pipelines/$P2\">pipeline:$P2</a>"

# Consumers: the lag view in a panel and the API.
MID=$(q "SELECT id FROM sluice_events.events WHERE stream = 'test:page'
         ORDER BY id LIMIT 1 OFFSET 99")
q "INSERT INTO sluice_events.consumer_offsets (consumer, last_event_id)
   VALUES ('test-consumer', $MID)" > /dev/null
BEHIND=$(q "SELECT count(*) FROM sluice_events.events WHERE id > $MID")
api GET /api/v1/events/consumers "$V_TOKEN"
assert_eq "GET /api/v1/events/consumers -> 200" 200 "$H_STATUS"
LAG=$(jsb 'const c = d.items.find(x => x.consumer === "test-consumer");
    c.events_behind + " " + c.last_event_id')
assert_eq "lag and offset of the consumer" "$BEHIND $MID" "$LAG"
page "$JV" /events
assert_contains "the consumers panel" "$H_BODY" '<tr data-consumer="test-consumer">'
assert_contains "shows how far behind" "$H_BODY" "<td class=\"num\">$BEHIND</td>"
assert_contains "and the time of the last event read" "$H_BODY" "${DAY}T01:39"

# --- triggers off: the tick fires nothing; the lag grows; on: it catches up ---------------

q "DELETE FROM sluice_runs.runs WHERE status IN ('queued', 'running')" > /dev/null
UP=$(newp up "$SRC" "$DST" NULL)
DOWN=$(newp down "$SRC" "$DST" NULL)
q "INSERT INTO sluice.pipeline_triggers (pipeline_id, type, config, cooldown_seconds, created_at)
   VALUES ('$DOWN', 'pipeline_success', jsonb_build_object('upstream_pipeline_id', '$UP'), 0,
           now() - interval '1 hour');
   UPDATE sluice_events.consumer_offsets
   SET last_event_id = (SELECT max(id) FROM sluice_events.events)
   WHERE consumer = 'triggers'" > /dev/null
FIRED=$(q "INSERT INTO sluice_events.events (stream, type, data)
   VALUES ('pipeline:$UP', 'run.succeeded',
           jsonb_build_object('pipeline_id', '$UP', 'run_id', '1'))
   RETURNING id")
flag pipeline_triggers false
OFF0=$(q "SELECT last_event_id FROM sluice_events.consumer_offsets WHERE consumer = 'triggers'")
sluice_cli tick --once > "$H_TMP/tick.log" 2>&1 || true
assert_eq "tick with triggers off: no run queued for the downstream" 0 "$(nruns "$DOWN")"
assert_eq "the consumer did not move" "$OFF0" \
    "$(q "SELECT last_event_id FROM sluice_events.consumer_offsets WHERE consumer = 'triggers'")"
# lag_of CONSUMER: events_behind from the API.
lag_of() {
    api GET /api/v1/events/consumers "$V_TOKEN"
    printf '%s' "$H_BODY" | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));
        console.log(d.items.find(x => x.consumer === process.argv[1]).events_behind)' "$1"
}
assert_eq "the lag counts the unread run.succeeded (and the flag's own event)" \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE id > $OFF0")" "$(lag_of triggers)"
assert_true "at least the run.succeeded" test "$(lag_of triggers)" -ge 1
flag pipeline_triggers true
sluice_cli tick --once > "$H_TMP/tick.log" 2>&1 || true
assert_eq "tick with triggers on: the downstream is queued" 1 "$(nruns "$DOWN")"
OFF1=$(q "SELECT last_event_id FROM sluice_events.consumer_offsets WHERE consumer = 'triggers'")
assert_true "the consumer moved past the run.succeeded" test "$OFF1" -ge "$FIRED"
assert_eq "its lag is what lies beyond its new offset" \
    "$(q "SELECT count(*) FROM sluice_events.events WHERE id > $OFF1")" "$(lag_of triggers)"

# --- the tick's reaper job runs once per interval -------------------------------------------

q "UPDATE sluice.reaper_status
   SET last_run_at = now() - interval '2 hours', last_complete = true" > /dev/null
R0=$(q "SELECT runs FROM sluice.reaper_status")
sluice_cli tick --once > "$H_TMP/tick.log" 2>&1 || true
reaper_runs() { q "SELECT runs FROM sluice.reaper_status"; }
assert_eq "a tick past the interval reaps" $((R0 + 1)) "$(reaper_runs)"
sluice_cli tick --once > "$H_TMP/tick.log" 2>&1 || true
assert_eq "the next tick within the interval does not" $((R0 + 1)) "$(reaper_runs)"

h_done
