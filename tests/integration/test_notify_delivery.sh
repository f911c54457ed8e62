#!/usr/bin/env bash
# test_notify_delivery.sh - the notification outbox end to end: messages
# enqueued with their events (the transactional outbox) and delivered by
# the real `sluice notify` / `sluice tick` to the harness's receiver
# (tests/lib/receiver.mjs) through the real libcurl path:
#   - the exact body of each format arrives (Slack blocks, Discord embed,
#     Telegram sendMessage at telegram_base, the signed webhook) with the
#     message id as webhook-id, and the webhook signature verifies with the
#     target's secret (recomputed with node's crypto);
#   - retries: 500 three times then 200, the attempts spaced by the backoff
#     formula (base_backoff_seconds 1: 1, 2, 4 s, +-20% jitter); 429 with
#     Retry-After 3 waits at least 3 s; dead-lettering after max_attempts;
#     410 disables the target (audited) and dead-letters what follows
#     without a request; a 302 is not followed and counts as a failed
#     attempt; a hang is cut by timeout_seconds; other 4xx are dead at once;
#     a deleted target's message is dead with the reason;
#   - two `sluice notify` at once deliver 200 messages once each; 500
#     messages with `sluice notify` killed (-9) while requests hang: after
#     the visibility timeout a rerun delivers every message, none is
#     answered twice (receiver log), the lost attempts are recorded;
#   - the transactional outbox: a run that finishes (a real failing `sluice
#     sync`) enqueues exactly one message per subscribed target, linked to
#     its run.failed event; a queued run that never finished enqueues
#     nothing; when the enqueue fails, the run's end is not recorded either
#     (same transaction); `sluice tick --once` delivers them;
#   - the deliveries page and API: attempts and dead letters, paging,
#     retry and discard (single, selected, all; confirmation pages; CSRF;
#     viewers read only; 404 / 409 / 422), every change audited; each API
#     answer checked against static/openapi.json (as test_openapi.sh does).
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up
h_receiver_start
R=$H_RECV_URL

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn} SLUICE_TICK_SECONDS=1 \
        SLUICE_BASE_URL=http://console.example "$H_ROOT/bin/sluice" "$@"
}
ED_PW='editor-pass-5678'
V_PW='viewer-pass-4321'
for u in editor:editor:$ED_PW viewer:viewer:$V_PW; do
    IFS=: read -r who role pw <<< "$u"
    printf '%s\n' "$pw" | sluice_cli user add --email "$who@example.com" --role "$role" \
        --name "$who" > /dev/null
done
ED_TOKEN=$(sluice_cli token create --email editor@example.com --name tests 2> /dev/null)
V_TOKEN=$(sluice_cli token create --email viewer@example.com --name tests 2> /dev/null)

# api TOKEN METHOD PATH [JSON]
api() {
    local tok=$1 method=$2 path=$3
    if [ $# -ge 4 ]; then
        h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $tok" \
            -H 'Content-Type: application/json' --data-binary "$4" -m 30
    else
        h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $tok" -m 30
    fi
}
jv() { h_json "$1" <<< "$H_BODY" || true; }
q() { h_psql "$1"; }
setting() {
    q "UPDATE sluice.settings SET value = value || '$1'::jsonb WHERE key = 'notifications'"
}
# jvs PATH...: the values at PATHs of the last answer, space separated.
jvs() {
    local out=() k
    for k in "$@"; do out+=("$(jv "$k")"); done
    printf '%s' "${out[*]}"
}
# has PATH...: "yes" for each PATH of the last answer that holds something.
has() {
    local out=() k
    for k in "$@"; do [ -n "$(jv "$k")" ] && out+=(yes) || out+=(no); done
    printf '%s' "${out[*]}"
}
# summary C D R X G T: the line `sluice notify` prints.
summary() {
    printf 'notify: %s claimed, %s delivered, %s to retry, %s dead-lettered, ' "$1" "$2" "$3" "$4"
    printf '%s target(s) disabled, %s stopped claim(s) taken over' "$5" "$6"
}
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
# assert_between NAME LOW HIGH VALUE (numbers, inclusive)
assert_between() {
    if awk -v l="$2" -v h="$3" -v v="$4" 'BEGIN { exit !(v >= l && v <= h) }'; then
        ok "$1 ($4)"
    else
        fail "$1" "$4 is not within [$2, $3]"
    fi
}

# The deliverer's settings for the test: private addresses allowed (the
# receiver is on loopback), a 1 s backoff base, short timeouts.
setting '{"allow_private_networks": true, "telegram_base": "'"$R"'/tg",
          "base_backoff_seconds": 1, "max_backoff_seconds": 60, "timeout_seconds": 2,
          "visibility_timeout_seconds": 10, "max_attempts": 8}'

# Pipelines p1..p9 (a source on a closed port: their runs fail at once).
DBNAME=${H_DATABASE_URL##*/}
CLOSED_PORT=$(h_free_port)
q "INSERT INTO sluice.sources (id, name, type, host, port, database, username)
   VALUES ('00000000-0000-4000-8000-0000000000a1', 'downdb', 'postgresql', '127.0.0.1',
           $CLOSED_PORT, 'x', 'sluice');
   INSERT INTO sluice.destinations (id, name, type, host, port, database, username)
   VALUES ('00000000-0000-4000-8000-0000000000b1', 'warehouse', 'postgresql', '127.0.0.1',
           $H_PG_PORT, '$DBNAME', 'sluice');
   INSERT INTO sluice.pipelines (id, name, source_id, destination_id)
   SELECT ('10000000-0000-4000-8000-00000000000' || i)::uuid, 'p' || i,
          '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1'
   FROM generate_series(1, 9) i;
   INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table)
   SELECT id, 'public', 'things' FROM sluice.pipelines;" > /dev/null
P() { printf '10000000-0000-4000-8000-00000000000%s' "$1"; }

# target NAME TYPE JSON-FIELDS: create a target over the API; prints its id.
target() {
    api "$ED_TOKEN" POST /api/v1/notification-targets \
        "{\"name\":\"$1\",\"type\":\"$2\",$3}"
    [ "$H_STATUS" = 201 ] || { echo "target $1: $H_STATUS $H_BODY" >&2; return 1; }
    jv id
}
# subscribe TARGET PIPELINE-NUMBER EVENT...
subscribe() {
    local t=$1 p=$2 ev
    shift 2
    ev=$(printf '%s,' "$@")
    q "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events)
       VALUES ('$(P "$p")', '$t', '{${ev%,}}')" > /dev/null
}
# event PIPELINE-NUMBER TYPE DATA-JSON: append an event the way run.c does
# (its messages enqueued in the same statement); prints how many.
event() {
    q "WITH e AS (INSERT INTO sluice_events.events (stream, type, data)
         VALUES ('pipeline:$(P "$1")', '$2', '$3'::jsonb) RETURNING id, stream, type, data)
       SELECT sluice_events.enqueue_event(id, stream, type, data) FROM e"
}
# The messages of target T: "status attempts" lines by id.
mstate() {
    q "SELECT status || ' ' || attempts FROM sluice_events.messages
       WHERE target_id = '$1' ORDER BY id"
}
reqs() { h_receiver_requests "$1"; }
nreqs() { h_receiver_requests "$1" | wc -l | tr -d ' '; }
# Receipt times (ms) of the requests to PATH, one a line.
times_of() {
    reqs "$1" | node -e '
        for (const l of require("fs").readFileSync(0, "utf8").split("\n"))
            if (l) console.log(JSON.parse(l).at)'
}
notify() { sluice_cli notify "$@" > "$H_TMP/notify.out" 2>> "$H_LOG/notify.log"; }

# --- each format's exact body; the webhook signature ------------------------------------

HOOK_SECRET='whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
TG_TOKEN='123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'
SLACK=$(target "f slack" slack '"url":"'"$R"'/slack/T1/B2/SlackKey"')
DISCORD=$(target "f discord" discord '"url":"'"$R"'/discord/api/webhooks/1/DiscordKey"')
TELEGRAM=$(target "f telegram" telegram '"bot_token":"'"$TG_TOKEN"'","chat_id":"-100123"')
HOOK=$(target "f hook" webhook '"url":"'"$R"'/hook?k=1","signing_secret":"'"$HOOK_SECRET"'"')
for t in "$SLACK" "$DISCORD" "$TELEGRAM" "$HOOK"; do subscribe "$t" 1 run.failed; done
RUN_DATA='{"run_id": "7001", "pipeline_id": "'"$(P 1)"'", "pipeline_name": "orders <nightly>",
  "status": "failed", "rows": 1234567, "duration_ms": 83456, "dead_letters": 0,
  "error": "connection refused: could not connect to \"db1\" & gave up"}'
assert_eq "run.failed of p1: one message per subscribed target" 4 \
    "$(event 1 run.failed "$RUN_DATA")"
assert_eq "nothing sent before sluice notify" 0 "$(h_receiver_requests | wc -l)"
notify
assert_eq "sluice notify: four delivered" \
    "$(summary 4 4 0 0 0 0)" \
    "$(cat "$H_TMP/notify.out")"
for t in "$SLACK" "$DISCORD" "$TELEGRAM" "$HOOK"; do
    assert_eq "delivered on the first attempt ($t)" "delivered 1" "$(mstate "$t")"
done
# body PATH: the body of the last request to PATH, its "timestamp" (the
# time of the attempt) replaced by T.
body() { reqs "$1" | tail -n 1 | h_json body | sed 's/"timestamp":"[0-9T:Z-]*"/"timestamp":"T"/'; }
EXP='{"text":"Run failed: orders &lt;nightly&gt; - Rows: 1,234,567, Duration: 1 min 23 s, Run'
EXP+=': 7001\nError: connection refused: could not connect to \"db1\" &amp; gave up\n<http://c'
EXP+='onsole.example/runs/7001|Open run>","blocks":[{"type":"header","text":{"type":"plain_tex'
EXP+='t","text":"Run failed: orders <nightly>","emoji":true}},{"type":"section","fields":[{"ty'
EXP+='pe":"mrkdwn","text":"*Pipeline*\norders &lt;nightly&gt;"},{"type":"mrkdwn","text":"*Outc'
EXP+='ome*\nfailed"},{"type":"mrkdwn","text":"*Rows*\n1,234,567"},{"type":"mrkdwn","text":"*Du'
EXP+='ration*\n1 min 23 s"},{"type":"mrkdwn","text":"*Run*\n7001"}]},{"type":"section","text":'
EXP+='{"type":"mrkdwn","text":"*Error*\n```connection refused: could not connect to \"db1\" &a'
EXP+='mp; gave up```"}},{"type":"actions","elements":[{"type":"button","text":{"type":"plain_t'
EXP+='ext","text":"Open run"},"url":"http://console.example/runs/7001"}]}]}'
assert_eq "slack: blocks with a text fallback, escaped, linking to the run" \
    "$EXP" \
    "$(body /slack/T1/B2/SlackKey)"
EXP='{"embeds":[{"title":"Run failed: orders <nightly>","url":"http://console.example/runs/70'
EXP+='01","description":"**Error**\n```\nconnection refused: could not connect to \"db1\" & ga'
EXP+='ve up\n```","color":14687834,"fields":[{"name":"Pipeline","value":"orders <nightly\\>","'
EXP+='inline":true},{"name":"Outcome","value":"failed","inline":true},{"name":"Rows","value":"'
EXP+='1,234,567","inline":true},{"name":"Duration","value":"1 min 23 s","inline":true},{"name"'
EXP+=':"Run","value":"7001","inline":true}],"footer":{"text":"sluice"},"timestamp":"T"}],"allo'
EXP+='wed_mentions":{"parse":[]}}'
assert_eq "discord: a red embed with fields" \
    "$EXP" \
    "$(body /discord/api/webhooks/1/DiscordKey)"
EXP='{"chat_id":"-100123","text":"<b>Run failed: orders &lt;nightly&gt;</b>\nRows: 1,234,567\'
EXP+='nDuration: 1 min 23 s\nRun: 7001\n\n<b>Error</b>\n<pre>connection refused: could not con'
EXP+='nect to &quot;db1&quot; &amp; gave up</pre>\n<a href=\"http://console.example/runs/7001\'
EXP+='">Open run</a>","parse_mode":"HTML","disable_web_page_preview":true}'
assert_eq "telegram: sendMessage at telegram_base, HTML escaped" \
    "$EXP" \
    "$(body "/tg/bot$TG_TOKEN/sendMessage")"
EXP='{"type":"run.failed","timestamp":"T","data":{"rows":1234567,"error":"connection refused:'
EXP+=' could not connect to \"db1\" & gave up","run_id":"7001","status":"failed","duration_ms"'
EXP+=':83456,"pipeline_id":"10000000-0000-4000-8000-000000000001","dead_letters":0,"pipeline_n'
EXP+='ame":"orders <nightly>","run_url":"http://console.example/runs/7001"}}'
assert_eq "webhook: {type, timestamp, data} with the event's data" \
    "$EXP" \
    "$(body /hook)"
HREQ=$(reqs /hook | tail -n 1)
HOOK_MSG=$(q "SELECT id FROM sluice_events.messages WHERE target_id = '$HOOK'")
assert_eq "webhook-id is the message id" "$HOOK_MSG" "$(h_json headers.webhook-id <<< "$HREQ")"
assert_eq "the query string kept" "k=1" "$(h_json query <<< "$HREQ")"
assert_eq "the body's timestamp is webhook-timestamp" \
    "$(date -u -d "@$(h_json headers.webhook-timestamp <<< "$HREQ")" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(h_json body <<< "$HREQ" | h_json timestamp)"
# verify REQ SECRET: recompute the Standard Webhooks signature of a recorded request.
verify() {
    node -e '
        const crypto = require("crypto");
        const r = JSON.parse(process.argv[1]), secret = process.argv[2];
        const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
        const body = Buffer.from(r.body_base64, "base64");
        const id = r.headers["webhook-id"], ts = r.headers["webhook-timestamp"];
        const mac = crypto.createHmac("sha256", key)
            .update(Buffer.concat([Buffer.from(`${id}.${ts}.`), body])).digest("base64");
        const ok = (r.headers["webhook-signature"] || "").split(" ").includes(`v1,${mac}`);
        const age = Math.abs(Date.now() / 1000 - Number(ts));
        process.stdout.write(ok && age < 300 ? "verified" : "bad");
    ' "$1" "$2"
}
assert_eq "the signature verifies with the target's secret" verified \
    "$(verify "$HREQ" "$HOOK_SECRET")"
assert_eq "and not with another" bad \
    "$(verify "$HREQ" whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY=)"
assert_eq "one attempt each, HTTP 200, logged" "4 200 delivered" \
    "$(q "SELECT count(*) || ' ' || min(status_code) || ' ' || min(outcome)
          FROM sluice_events.delivery_attempts")"
notify
assert_eq "a second sluice notify finds nothing" \
    "$(summary 0 0 0 0 0 0)" \
    "$(cat "$H_TMP/notify.out")"
assert_eq "nothing sent twice" 4 "$(h_receiver_requests | wc -l | tr -d ' ')"

# rx JSON: tell the receiver how to answer (POST /_control).
rx() {
    curl -s -f -m 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "$1" "$R/_control"
}
# hook NAME PATH: a webhook target at the receiver's PATH; prints its id.
hook() { target "$1" webhook '"url":"'"$R$2"'","signing_secret":"'"$HOOK_SECRET"'"'; }
# ids_of PATH: the webhook-id of each request to PATH, one a line.
ids_of() { reqs "$1" | node -e 'for (const l of require("fs").readFileSync(0, "utf8").split("\n"))
    if (l) console.log(JSON.parse(l).headers["webhook-id"])'; }
# gaps PATH: seconds between consecutive requests to PATH, one a line.
gaps() { times_of "$1" | awk 'NR > 1 { printf "%.3f\n", ($1 - p) / 1000 } { p = $1 }'; }
# attempts T: "attempt status outcome" lines of target T, oldest first.
attempts() {
    q "SELECT attempt || ' ' || coalesce(status_code::text, '-') || ' ' || outcome
       FROM sluice_events.delivery_attempts WHERE target_id = '$1' ORDER BY id"
}
lasterr() {
    q "SELECT coalesce(last_error, '-') FROM sluice_events.messages
       WHERE target_id = '$1' ORDER BY id DESC LIMIT 1"
}

# --- 500, 500, 500, 200: three retries spaced 1, 2 and 4 s (+-20%) ------------------------

FLAKY=$(hook flaky /flaky)
subscribe "$FLAKY" 2 run.failed
h_receiver_mode sequence codes=500,500,500,200 path=/flaky
event 2 run.failed '{"run_id": "7002"}' > /dev/null
notify --drain --max-seconds 40
assert_eq "flaky: four attempts, the last delivered" "1 500 retry
2 500 retry
3 500 retry
4 200 delivered" "$(attempts "$FLAKY")"
assert_eq "flaky: delivered after 4 attempts" "delivered 4" "$(mstate "$FLAKY")"
assert_eq "flaky: the same webhook-id, the message's, every time" \
    "$(q "SELECT id FROM sluice_events.messages WHERE target_id = '$FLAKY'")" \
    "$(ids_of /flaky | sort -u)"
mapfile -t G < <(gaps /flaky)
assert_eq "flaky: three gaps" 3 "${#G[@]}"
assert_between "retry 1 after base 1 s +-20%" 0.8 1.9 "${G[0]:-0}"
assert_between "retry 2 after 2 s +-20%" 1.6 3.1 "${G[1]:-0}"
assert_between "retry 3 after 4 s +-20%" 3.2 5.5 "${G[2]:-0}"
assert_eq "flaky: the errors and the answers kept" \
    'HTTP 500 {"ok":false,"error":"mode 500"}' \
    "$(q "SELECT error || ' ' || response_excerpt FROM sluice_events.delivery_attempts
          WHERE target_id = '$FLAKY' AND attempt = 1")"
assert_eq "flaky: latency recorded" t \
    "$(q "SELECT bool_and(latency_ms BETWEEN 0 AND 2000) FROM sluice_events.delivery_attempts
          WHERE target_id = '$FLAKY'")"

# --- 429 with Retry-After 3: the next attempt not before 3 s ------------------------------

BUSY=$(hook busy /busy)
subscribe "$BUSY" 3 run.failed
h_receiver_mode sequence codes=429,200 path=/busy retry_after=3
event 3 run.failed '{"run_id": "7003"}' > /dev/null
notify --drain --max-seconds 30
assert_eq "busy: 429 then delivered" "1 429 retry
2 200 delivered" "$(attempts "$BUSY")"
assert_between "busy: Retry-After 3 honoured (not the 1 s backoff)" 3.0 4.2 "$(gaps /busy)"

# --- 500 until max_attempts: dead-lettered ---------------------------------------------------

DOWN=$(hook down /down)
subscribe "$DOWN" 4 run.failed
h_receiver_mode 500 path=/down
setting '{"max_attempts": 3}'
event 4 run.failed '{"run_id": "7004"}' > /dev/null
setting '{"max_attempts": 8}'
notify --drain --max-seconds 30
assert_eq "down: three attempts (max_attempts at enqueue), then dead" "1 500 retry
2 500 retry
3 500 dead" "$(attempts "$DOWN")"
assert_eq "down: dead after 3" "dead 3" "$(mstate "$DOWN")"
assert_eq "down: the reason" "gave up after 3 attempts; the last: HTTP 500" "$(lasterr "$DOWN")"
assert_eq "down: in the dead-letter view" "1 gave up after 3 attempts; the last: HTTP 500" \
    "$(q "SELECT count(*) || ' ' || min(reason) FROM sluice_events.dead_letters
          WHERE target_id = '$DOWN'")"
assert_eq "down: 3 requests" 3 "$(nreqs /down)"
DOWN_MSG=$(q "SELECT id FROM sluice_events.messages WHERE target_id = '$DOWN'")

# --- 410: dead, the target disabled, what follows dead-lettered without a request ---------

GONE=$(hook gone /gone)
subscribe "$GONE" 5 run.failed
h_receiver_mode 410 path=/gone
event 5 run.failed '{"run_id": "7005"}' > /dev/null
event 5 run.failed '{"run_id": "7006"}' > /dev/null
notify --once --batch 1
assert_eq "gone: one request" 1 "$(nreqs /gone)"
assert_eq "gone: the first dead, the target disabled" "$(summary 1 0 0 1 1 0)" \
    "$(cat "$H_TMP/notify.out")"
notify
assert_eq "gone: still one request" 1 "$(nreqs /gone)"
assert_eq "gone: both dead, the second never sent" "dead 1
dead 1" "$(mstate "$GONE")"
GONE_FIRST=$(q "SELECT min(id) FROM sluice_events.messages WHERE target_id = '$GONE'")
assert_eq "gone: the first's reason" \
    "HTTP 410 Gone: the receiver asked to stop; the target is disabled" \
    "$(q "SELECT last_error FROM sluice_events.messages WHERE id = $GONE_FIRST")"
assert_eq "gone: the second's reason" \
    "the target is disabled: the receiver answered 410 Gone to message $GONE_FIRST" \
    "$(lasterr "$GONE")"
assert_eq "gone: the target is disabled, with the reason" \
    "false the receiver answered 410 Gone to message $GONE_FIRST" \
    "$(q "SELECT active || ' ' || disabled_reason FROM sluice.notification_targets
          WHERE id = '$GONE'")"
assert_eq "gone: audited (by the system, with the message)" "1 - $GONE_FIRST" \
    "$(q "SELECT count(*) || ' ' || coalesce(min(actor_email), '-') || ' '
                 || min(details ->> 'message_id')
          FROM sluice.audit_log WHERE object_id = '$GONE'
           AND action = 'notification_target.disable'")"
assert_eq "gone: the second dead without a request" "$(summary 1 0 0 1 0 0)" \
    "$(cat "$H_TMP/notify.out")"
assert_eq "gone: a disabled target gets no new messages" 0 \
    "$(event 5 run.failed '{"run_id": "7007"}')"

# --- a 302 is not followed: a failed attempt -----------------------------------------------

MOVED=$(hook moved /moved)
subscribe "$MOVED" 6 run.failed
h_receiver_mode 302 path=/moved location="$R/elsewhere"
setting '{"max_attempts": 2}'
event 6 run.failed '{"run_id": "7008"}' > /dev/null
setting '{"max_attempts": 8}'
notify --drain --max-seconds 30
assert_eq "moved: two attempts, each a failure" "1 302 retry
2 302 dead" "$(attempts "$MOVED")"
assert_eq "moved: the Location never requested" "2 0" "$(nreqs /moved) $(nreqs /elsewhere)"
assert_eq "moved: the reason" \
    "gave up after 2 attempts; the last: HTTP 302 (redirects are not followed)" \
    "$(lasterr "$MOVED")"

# --- a hang is cut by timeout_seconds (2) --------------------------------------------------

SLOW=$(hook slow /slow)
subscribe "$SLOW" 7 run.failed
h_receiver_mode hang path=/slow seconds=20
setting '{"max_attempts": 1}'
event 7 run.failed '{"run_id": "7009"}' > /dev/null
setting '{"max_attempts": 8}'
t0=$(h_now_ms)
notify
t1=$(h_now_ms)
assert_between "slow: sluice notify returned after the timeout (ms)" 1800 6000 $((t1 - t0))
assert_eq "slow: no status, dead after its one attempt" "1 - dead" "$(attempts "$SLOW")"
assert_eq "slow: the error" \
    "no answer from 127.0.0.1 within 2 s" \
    "$(q "SELECT error FROM sluice_events.delivery_attempts WHERE target_id = '$SLOW'")"
assert_between "slow: latency about the timeout" 1800 4000 \
    "$(q "SELECT latency_ms FROM sluice_events.delivery_attempts WHERE target_id = '$SLOW'")"

# --- other 4xx: dead at once; a deleted target's message: dead with the reason ------------

BAD=$(hook bad /bad)
DEL=$(hook deleted /deleted)
subscribe "$BAD" 8 run.failed
subscribe "$DEL" 8 run.failed
h_receiver_mode 400 path=/bad
assert_eq "p8: two messages" 2 "$(event 8 run.failed '{"run_id": "7010"}')"
api "$ED_TOKEN" DELETE "/api/v1/notification-targets/$DEL"
assert_eq "target deleted" 204 "$H_STATUS"
notify
assert_eq "bad: dead at once" "1 400 dead" "$(attempts "$BAD")"
assert_eq "bad: permanent" "HTTP 400 (permanent: not retried)" "$(lasterr "$BAD")"
assert_eq "deleted: dead, the reason, no request" "dead 1 the target was deleted 0" \
    "$(mstate "$DEL") $(lasterr "$DEL") $(nreqs /deleted)"
BAD_MSG=$(q "SELECT id FROM sluice_events.messages WHERE target_id = '$BAD'")
h_receiver_mode reset

# --- two deliverers at once: every message once --------------------------------------------

CONC=$(hook conc /conc)
q "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events)
   VALUES ('$(P 1)', '$CONC', '{schema.drifted}')" > /dev/null
rx '{"path": "/conc", "mode": "hang", "seconds": 0.02}'
assert_eq "conc: 200 messages enqueued" 200 \
    "$(q "WITH e AS (INSERT INTO sluice_events.events (stream, type, data)
            SELECT 'pipeline:$(P 1)', 'schema.drifted', jsonb_build_object('n', g)
            FROM generate_series(1, 200) g RETURNING id, stream, type, data)
          SELECT sum(sluice_events.enqueue_event(id, stream, type, data)) FROM e")"
sluice_cli notify --batch 10 > "$H_TMP/conc1.out" 2>> "$H_LOG/notify.log" &
C1=$!
sluice_cli notify --batch 10 > "$H_TMP/conc2.out" 2>> "$H_LOG/notify.log" &
C2=$!
wait "$C1" "$C2"
assert_eq "conc: 200 requests, 200 webhook-ids" "200 200" \
    "$(nreqs /conc) $(ids_of /conc | sort -u | wc -l | tr -d ' ')"
assert_eq "conc: each delivered on its one attempt" "delivered 1 200" \
    "$(q "SELECT min(status) || ' ' || max(attempts) || ' ' || count(*)
          FROM sluice_events.messages WHERE target_id = '$CONC'")"
claimed() { sed -n 's/^notify: \([0-9]*\) claimed.*/\1/p' "$1"; }
assert_eq "conc: the two claimed 200 between them" 200 \
    $(( $(claimed "$H_TMP/conc1.out") + $(claimed "$H_TMP/conc2.out") ))

# --- kill -9 mid-batch: nothing lost, nothing answered twice -------------------------------

KILL=$(hook kill /kill)
q "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events)
   VALUES ('$(P 1)', '$KILL', '{quality.failed}')" > /dev/null
setting '{"timeout_seconds": 5, "visibility_timeout_seconds": 10, "concurrency": 8}'
assert_eq "kill: 500 messages enqueued" 500 \
    "$(q "WITH e AS (INSERT INTO sluice_events.events (stream, type, data)
            SELECT 'pipeline:$(P 1)', 'quality.failed', jsonb_build_object('n', g)
            FROM generate_series(1, 500) g RETURNING id, stream, type, data)
          SELECT sum(sluice_events.enqueue_event(id, stream, type, data)) FROM e")"
# The receiver answers the first 200 requests, then holds every request.
SEQ=$(printf '"200",%.0s' $(seq 1 200))
rx "{\"path\": \"/kill\", \"sequence\": [${SEQ%,}], \"mode\": \"hang\", \"seconds\": 120}"
# In a subshell that reaps it quietly (no "Killed" report); its pid in kill.pid.
(
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=warn "$H_ROOT/bin/sluice" notify --batch 8 \
        > "$H_TMP/kill.out" 2>> "$H_LOG/notify.log" &
    echo $! > "$H_TMP/kill.pid"
    wait
) 2> /dev/null &
KSUB=$!
_held() { [ "$(nreqs /kill)" -ge 208 ]; }
assert_true "kill: 200 answered, then 8 requests held" h_wait_for 60 _held
kill -KILL "$(cat "$H_TMP/kill.pid")"
wait "$KSUB" || true
# 8 requests held by the receiver, and up to 7 more claimed behind them (the
# next batch is claimed when fewer jobs than threads are left).
read -r K_DONE K_CLAIMED K_QUEUED <<< "$(q "SELECT count(*) FILTER (WHERE status = 'delivered')
        || ' ' || count(*) FILTER (WHERE status = 'queued' AND locked_by IS NOT NULL
                                   AND visible_at > now())
        || ' ' || count(*) FILTER (WHERE status = 'queued' AND locked_by IS NULL)
    FROM sluice_events.messages WHERE target_id = '$KILL'")"
assert_eq "kill: at the kill, 200 delivered, the rest claimed or queued" "200 500" \
    "$K_DONE $((K_DONE + K_CLAIMED + K_QUEUED))"
assert_between "kill: 8 to 15 claimed" 8 15 "$K_CLAIMED"
HELD=$(nreqs /kill)
h_receiver_mode reset
t0=$(h_now_ms)
notify --drain --max-seconds 90
t1=$(h_now_ms)
assert_eq "kill: every message delivered after the rerun" "delivered 500" \
    "$(q "SELECT min(status) || ' ' || count(*) FROM sluice_events.messages
          WHERE target_id = '$KILL' AND status = 'delivered'")"
assert_eq "kill: none queued or dead" 0 \
    "$(q "SELECT count(*) FROM sluice_events.messages
          WHERE target_id = '$KILL' AND status <> 'delivered'")"
assert_between "kill: the held ones waited for the visibility timeout (ms)" 9000 40000 \
    $((t1 - t0))
ids_of /kill > "$H_TMP/kill.ids"
# Answered: the first 200 requests and every one after the held ones.
{ head -n 200 "$H_TMP/kill.ids"; tail -n +"$((HELD + 1))" "$H_TMP/kill.ids"; } \
    > "$H_TMP/kill.answered"
assert_eq "kill: 500 answered requests, 500 webhook-ids (none answered twice)" "500 500" \
    "$(wc -l < "$H_TMP/kill.answered" | tr -d ' ') $(sort -u "$H_TMP/kill.answered" | wc -l \
        | tr -d ' ')"
sed -n "201,${HELD}p" "$H_TMP/kill.ids" | sort > "$H_TMP/kill.held"
assert_eq "kill: each held message answered once afterwards" "$(wc -l < "$H_TMP/kill.held")" \
    "$(sort "$H_TMP/kill.answered" | comm -12 - "$H_TMP/kill.held" | wc -l)"
assert_eq "kill: the lost attempts recorded, the claims taken over" "$K_CLAIMED $K_CLAIMED" \
    "$(q "SELECT count(*) FROM sluice_events.delivery_attempts
          WHERE target_id = '$KILL' AND outcome = 'lost'") $(sed -n \
          's/.*, \([0-9]*\) stopped.*/\1/p' "$H_TMP/notify.out")"
assert_eq "kill: those were delivered on attempt 2" "$K_CLAIMED 2" \
    "$(q "SELECT count(*) || ' ' || min(attempts) FROM sluice_events.messages m
          WHERE target_id = '$KILL' AND EXISTS (SELECT 1 FROM sluice_events.delivery_attempts a
              WHERE a.message_id = m.id AND a.outcome = 'lost')")"
setting '{"timeout_seconds": 2}'

# --- the transactional outbox with real runs ---------------------------------------------------

TX=$(hook tx /tx)
subscribe "$TX" 9 run.failed
api "$ED_TOKEN" POST /api/v1/notification-targets \
    '{"name":"all","type":"webhook","url":"'"$R"'/all",
      "signing_secret":"'"$HOOK_SECRET"'","all_pipelines_events":["run.failed"]}'
ALL=$(jv id)
assert_eq "all-pipelines target" 201 "$H_STATUS"
sluice_cli sync p9 > "$H_LOG/sync1.log" 2>&1 || true
RUN1=$(q "SELECT id FROM sluice_runs.runs WHERE pipeline_id = '$(P 9)' ORDER BY id LIMIT 1")
assert_eq "p9's run failed" failed "$(q "SELECT status FROM sluice_runs.runs WHERE id = $RUN1")"
assert_eq "its run.failed event enqueued exactly one message per subscribed target" \
    "$(printf 'run.failed %s\n' "$ALL" "$TX" | sort)" \
    "$(q "SELECT e.type || ' ' || m.target_id FROM sluice_events.messages m
          JOIN sluice_events.events e ON e.id = m.event_id
          WHERE e.correlation_id = '$RUN1' ORDER BY m.target_id::text")"
assert_eq "the message carries the run's data" "$RUN1 failed $(P 9)" \
    "$(q "SELECT min(payload ->> 'run_id') || ' ' || min(payload ->> 'status') || ' '
                 || min(pipeline_id::text)
          FROM sluice_events.messages m JOIN sluice_events.events e ON e.id = m.event_id
          WHERE e.correlation_id = '$RUN1'")"
api "$ED_TOKEN" POST "/api/v1/pipelines/$(P 9)/runs" '{}'
RUN2=$(jv id)
# run_story RUN: "status events messages" of a run.
run_story() {
    q "SELECT status || ' '
              || (SELECT count(*) FROM sluice_events.events WHERE correlation_id = '$1') || ' '
              || (SELECT count(*) FROM sluice_events.messages WHERE payload ->> 'run_id' = '$1')
       FROM sluice_runs.runs WHERE id = $1"
}
assert_eq "a run queued (never finished): no event, no message" "queued 0 0" \
    "$(run_story "${RUN2:-0}")"
api "$ED_TOKEN" POST "/api/v1/runs/$RUN2/cancel"
# When the enqueue fails, the run's end is not recorded either: one transaction.
q "CREATE FUNCTION public.refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS
   \$\$ BEGIN RAISE EXCEPTION 'outbox refused (test)'; END \$\$;
   CREATE TRIGGER refuse_outbox BEFORE INSERT ON sluice_events.messages
   FOR EACH ROW EXECUTE FUNCTION public.refuse_outbox()" > /dev/null
sluice_cli sync p9 > "$H_LOG/sync3.log" 2>&1 || true
q "DROP TRIGGER refuse_outbox ON sluice_events.messages" > /dev/null
RUN3=$(q "SELECT max(id) FROM sluice_runs.runs WHERE pipeline_id = '$(P 9)'")
assert_eq "enqueue refused: the run's end not recorded, no event, no message" "running 0 0" \
    "$(run_story "$RUN3")"
assert_contains "the sync said so" "$(cat "$H_LOG/sync3.log")" "outbox refused (test)"
q "UPDATE sluice_runs.runs SET status = 'failed', finished_at = now() WHERE id = $RUN3" > /dev/null
# Each tick delivers (its notify job).
sluice_cli tick --once > "$H_LOG/tick.log" 2>&1 || true
assert_eq "sluice tick --once delivered both" "1 1 delivered" \
    "$(nreqs /tx) $(nreqs /all) $(q "SELECT min(status) FROM sluice_events.messages
                                      WHERE target_id IN ('$TX', '$ALL')")"
assert_eq "the run's id in the webhook body" "$RUN1" \
    "$(reqs /tx | h_json body | h_json data.run_id)"

# doc METHOD TEMPLATE: the last answer matches what static/openapi.json says
# about TEMPLATE's METHOD answering its status (the contract check of
# test_openapi.sh; skipped without Python's jsonschema).
DOC=$H_ROOT/static/openapi.json
PY_OK=0
python3 -c 'import jsonschema' 2> /dev/null && PY_OK=1
doc() {
    local out
    [ "$PY_OK" = 1 ] || { ok "# skip: $1 $2 $H_STATUS unchecked (no jsonschema)"; return 0; }
    printf '%s\n' "$H_HEADERS" > "$H_TMP/.contract_headers"
    if out=$(python3 "$H_ROOT/tests/lib/contract.py" "$DOC" "$1" "$2" "$H_STATUS" "$H_TMP/.h_body" \
        "$H_TMP/.contract_headers" 2>&1); then
        ok "$1 $2 -> $H_STATUS matches the document"
    else
        fail "$1 $2 -> $H_STATUS matches the document" "$(tail -n 3 <<< "$out")"
    fi
}
DLV=/api/v1/notification-targets/{id}/deliveries
MSGS=/api/v1/notification-messages
MRETRY=/api/v1/notification-messages/{id}/retry
MDEL=/api/v1/notification-messages/{id}

# --- the API -------------------------------------------------------------------------------

FLAKY_MSG=$(q "SELECT id FROM sluice_events.messages WHERE target_id = '$FLAKY'")
api "$V_TOKEN" GET "/api/v1/notification-targets/$FLAKY/deliveries"
assert_eq "deliveries API (viewer): 200" 200 "$H_STATUS"
doc GET "$DLV"
# each FIELD...: the FIELDs of every item of the last answer, items split by ",".
each() {
    node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const f = process.argv.slice(1);
        process.stdout.write(d.items.map(i => f.map(k => i[k]).join(" ")).join(","))' \
        "$@" <<< "$H_BODY"
}
assert_eq "attempts newest first" "4 200 delivered,3 500 retry,2 500 retry,1 500 retry" \
    "$(each attempt status_code outcome)"
assert_eq "an attempt's fields" \
    "$FLAKY_MSG run.failed HTTP 500 {\"ok\":false,\"error\":\"mode 500\"} null" \
    "$(jvs items.1.message_id items.1.event_type items.1.error items.1.response_excerpt \
        next_cursor)"
assert_true "latency_ms and at" node -e 'const a = JSON.parse(process.argv[1]).items[0];
    const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    process.exit(Number.isInteger(a.latency_ms) && at.test(a.at) ? 0 : 1)' "$H_BODY"
api "$V_TOKEN" GET "/api/v1/notification-targets/$FLAKY/deliveries?limit=3"
CUR=$(jv next_cursor)
assert_eq "limit 3: three and a cursor" "4,3,2 yes" \
    "$(each attempt | tr -d ' ') $(has next_cursor)"
api "$V_TOKEN" GET "/api/v1/notification-targets/$FLAKY/deliveries?limit=3&cursor=$CUR"
assert_eq "the next page: the first attempt, the end" "1 null" "$(jvs items.0.attempt next_cursor)"
api "$V_TOKEN" GET "/api/v1/notification-targets/$FLAKY/deliveries?limit=0&cursor=zz%25&x=1"
assert_eq "bad paging and unknown parameters: 422 per field" "422 yes yes yes" \
    "$H_STATUS $(has errors.limit errors.cursor errors.x)"
doc GET "$DLV"
api "$V_TOKEN" GET /api/v1/notification-targets/00000000-0000-4000-8000-00000000ffff/deliveries
assert_eq "unknown target: 404" 404 "$H_STATUS"
doc GET "$DLV"
api "$V_TOKEN" GET /api/v1/notification-targets/nope/deliveries
assert_eq "malformed target id: 404" 404 "$H_STATUS"

DEAD_N=$(q "SELECT count(*) FROM sluice_events.messages WHERE status = 'dead'")
api "$V_TOKEN" GET "/api/v1/notification-messages?status=dead&limit=200"
doc GET "$MSGS"
assert_eq "dead letters over the API: all of them, dead" "$DEAD_N dead" \
    "$(each status | tr ',' '\n' | grep -c .) $(each status | tr ',' '\n' | sort -u)"
api "$V_TOKEN" GET "/api/v1/notification-messages?status=dead&target_id=$DOWN"
assert_eq "a target's dead letter: its fields" \
    "$DOWN_MSG down run.failed dead 3 3 500 gave up after 3 attempts; the last: HTTP 500 \
7004 $(P 4) null" \
    "$(jvs items.0.id items.0.target_name items.0.event_type items.0.status items.0.attempts \
        items.0.max_attempts items.0.last_status_code items.0.last_error) \
$(jvs items.0.data.run_id items.0.pipeline_id items.0.next_attempt_at)"
api "$V_TOKEN" GET "/api/v1/notification-messages?status=lost&target_id=nope"
assert_eq "bad filters: 422" "422 yes yes" \
    "$H_STATUS $(has errors.status errors.target_id)"
doc GET "$MSGS"
api "$V_TOKEN" GET "/api/v1/notification-messages?target_id=$KILL&limit=2"
assert_eq "messages of a target, newest first, paged" \
    "$(q "SELECT string_agg(id::text, ' ' ORDER BY id DESC) FROM (SELECT id
          FROM sluice_events.messages WHERE target_id = '$KILL' ORDER BY id DESC LIMIT 2) x")
$KILL $KILL delivered yes" \
    "$(jv items.0.id) $(jv items.1.id)
$(jvs items.0.target_id items.1.target_id items.1.status) $(has next_cursor)"

api "$V_TOKEN" POST "/api/v1/notification-messages/$DOWN_MSG/retry"
assert_eq "viewer cannot retry" 403 "$H_STATUS"
doc POST "$MRETRY"
api "$ED_TOKEN" POST "/api/v1/notification-messages/$DOWN_MSG/retry"
assert_eq "retry a dead letter: 200, queued from attempt 0" "200 queued 0 null" \
    "$H_STATUS $(jv status) $(jv attempts) $(jv last_error)"
doc POST "$MRETRY"
assert_eq "retry audited" "1 editor@example.com" \
    "$(q "SELECT count(*) || ' ' || min(actor_email) FROM sluice.audit_log
          WHERE action = 'notification_message.retry' AND object_id = '$DOWN_MSG'")"
api "$ED_TOKEN" POST "/api/v1/notification-messages/$DOWN_MSG/retry"
assert_eq "retry a queued message: 409" 409 "$H_STATUS"
doc POST "$MRETRY"
notify
assert_eq "the retried message delivered, with the same webhook-id" "delivered 1 $DOWN_MSG" \
    "$(mstate "$DOWN") $(ids_of /down | tail -n 1)"
api "$ED_TOKEN" POST "/api/v1/notification-messages/$GONE_FIRST/retry"
assert_eq "retry for a disabled target: 409, still dead" "409 dead" \
    "$H_STATUS $(q "SELECT status FROM sluice_events.messages WHERE id = $GONE_FIRST")"
api "$ED_TOKEN" POST /api/v1/notification-messages/12x/retry
assert_eq "malformed message id: 404" 404 "$H_STATUS"
api "$ED_TOKEN" POST /api/v1/notification-messages/1/retry
assert_eq "unknown message: 404" 404 "$H_STATUS"
doc POST "$MRETRY"

api "$ED_TOKEN" DELETE "/api/v1/notification-messages/$FLAKY_MSG"
assert_eq "discard a delivered message: 409" 409 "$H_STATUS"
doc DELETE "$MDEL"
api "$V_TOKEN" DELETE "/api/v1/notification-messages/$BAD_MSG"
assert_eq "viewer cannot discard" 403 "$H_STATUS"
api "$ED_TOKEN" DELETE "/api/v1/notification-messages/$BAD_MSG"
doc DELETE "$MDEL"
assert_eq "discard a dead letter: 204, gone, its attempt kept" "204 0 1" \
    "$H_STATUS $(q "SELECT (SELECT count(*) FROM sluice_events.messages WHERE id = $BAD_MSG)
                          || ' ' || count(*)
                   FROM sluice_events.delivery_attempts WHERE message_id = $BAD_MSG")"
api "$ED_TOKEN" DELETE "/api/v1/notification-messages/$BAD_MSG"
assert_eq "discard again: 404" 404 "$H_STATUS"
assert_eq "discard audited" 1 \
    "$(q "SELECT count(*) FROM sluice.audit_log
          WHERE action = 'notification_message.discard' AND object_id = '$BAD_MSG'")"

# --- the deliveries page ---------------------------------------------------------------------

JE=$H_TMP/editor.jar
JV=$H_TMP/viewer.jar
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
# post JAR PATH field=value...: a form post with the jar's CSRF token.
post() {
    local jar=$1 path=$2 tok args=() f
    shift 2
    page "$jar" /notifications
    tok=$(csrf_in)
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    h_get "$H_URL$path" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" ${args[@]+"${args[@]}"}
}
rows() { printf '%s' "$H_BODY" | grep -c "$1" || true; }
login "$JE" editor@example.com "$ED_PW"
login "$JV" viewer@example.com "$V_PW"

page "$JV" "/notifications/$MOVED/deliveries"
assert_eq "page (viewer): 200" 200 "$H_STATUS"
assert_contains "the target's name and counts" "$H_BODY" "Deliveries of moved"
assert_contains "attempts: status and the error" "$H_BODY" "HTTP 302 (redirects are not followed)"
assert_eq "two attempt rows" 2 "$(rows '<tr data-id="[0-9]*" data-message=')"
MOVED_MSG=$(q "SELECT id FROM sluice_events.messages WHERE target_id = '$MOVED'")
assert_contains "the dead letter listed with its reason" "$H_BODY" \
    "gave up after 2 attempts; the last: HTTP 302 (redirects are not followed)"
assert_lacks "no retry button for a viewer" "$H_BODY" "Retry selected"
page "$JV" "/notifications/$GONE/deliveries"
assert_contains "a disabled target says why" "$H_BODY" \
    "This target is disabled: the receiver answered 410 Gone to message $GONE_FIRST"
post "$JV" "/notifications/$MOVED/messages/$MOVED_MSG/retry"
assert_eq "viewer cannot retry on the page" 403 "$H_STATUS"

page "$JE" "/notifications/$MOVED/deliveries"
assert_contains "editor: per-message retry" "$H_BODY" \
    "formaction=\"/notifications/$MOVED/messages/$MOVED_MSG/retry\""
assert_contains "editor: bulk actions" "$H_BODY" "Retry selected"
h_get "$H_URL/notifications/$MOVED/messages/$MOVED_MSG/retry" -b "$JE" -c "$JE" -d x=1
assert_eq "retry without the CSRF token: 403" 403 "$H_STATUS"
post "$JE" "/notifications/$MOVED/messages/$MOVED_MSG/retry"
assert_eq "retry: 303 back to the page" "303 /notifications/$MOVED/deliveries" \
    "$H_STATUS $(h_header Location)"
assert_eq "retried: queued from attempt 0" "queued 0" "$(mstate "$MOVED")"
page "$JE" "/notifications/$MOVED/deliveries"
assert_contains "flash" "$H_BODY" "1 dead letter queued again"

# Three more dead letters of "slow" (400 now), then discard two selected, then all.
h_receiver_mode 400 path=/slow
for n in 1 2 3; do event 7 run.failed "{\"run_id\": \"71$n\"}" > /dev/null; done
notify
SLOW_IDS=($(q "SELECT id FROM sluice_events.messages WHERE target_id = '$SLOW'
               AND status = 'dead' ORDER BY id"))
assert_eq "slow: four dead letters" 4 "${#SLOW_IDS[@]}"
post "$JE" "/notifications/$SLOW/dead-letters/discard" "m.0=${SLOW_IDS[1]}" "m.3=${SLOW_IDS[2]}"
assert_eq "bulk discard: a confirmation page first" 200 "$H_STATUS"
assert_contains "it names both" "$H_BODY" \
    "<li><code>${SLOW_IDS[1]}</code></li><li><code>${SLOW_IDS[2]}</code></li>"
assert_contains "and how many" "$H_BODY" "2 dead letters"
assert_eq "nothing discarded yet" 4 \
    "$(q "SELECT count(*) FROM sluice_events.messages WHERE target_id = '$SLOW'")"
post "$JE" "/notifications/$SLOW/dead-letters/discard" "m.0=${SLOW_IDS[1]}" \
    "m.1=${SLOW_IDS[2]}" confirm=yes
assert_eq "confirmed: 303" 303 "$H_STATUS"
assert_eq "the two selected are gone" "${SLOW_IDS[0]} ${SLOW_IDS[3]}" \
    "$(q "SELECT string_agg(id::text, ' ' ORDER BY id) FROM sluice_events.messages
          WHERE target_id = '$SLOW'")"
assert_eq "bulk discard audited once, with the ids" "2 [\"${SLOW_IDS[1]}\", \"${SLOW_IDS[2]}\"]" \
    "$(q "SELECT details ->> 'count' || ' ' || (details -> 'message_ids')::text
          FROM sluice.audit_log
          WHERE action = 'notification_message.discard' AND object_id = '$SLOW'")"
post "$JE" "/notifications/$SLOW/dead-letters/retry"
assert_eq "retry with nothing selected: back with a message" 303 "$H_STATUS"
page "$JE" "/notifications/$SLOW/deliveries"
assert_contains "select first" "$H_BODY" "Select the dead letters to retry first."
post "$JE" "/notifications/$SLOW/dead-letters/retry" "m.5=${SLOW_IDS[3]}"
assert_eq "retry selected: the one queued" "dead queued" \
    "$(q "SELECT string_agg(status, ' ' ORDER BY id) FROM sluice_events.messages
          WHERE target_id = '$SLOW'")"
page "$JE" "/notifications/$SLOW/dead-letters/discard"
assert_eq "discard all: a GET confirmation" 200 "$H_STATUS"
assert_contains "all of them" "$H_BODY" "All 1 dead letter of this target"
post "$JE" "/notifications/$SLOW/dead-letters/discard" all=1 confirm=yes
assert_eq "all discarded; the queued one stays" "queued" \
    "$(q "SELECT string_agg(status, ' ') FROM sluice_events.messages WHERE target_id = '$SLOW'")"
page "$JE" "/notifications/$SLOW/messages/${SLOW_IDS[3]}/discard"
assert_contains "single discard of a queued message: nothing to discard" "$H_BODY" \
    "the message is not a dead letter (any more)"

post "$JE" "/notifications/$GONE/dead-letters/retry" all=1
page "$JE" "/notifications/$GONE/deliveries"
assert_contains "retry all for a disabled target: refused" "$H_BODY" \
    "The target is disabled: enable it before retrying its dead letters."
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$GONE" '{"active": true}'
post "$JE" "/notifications/$GONE/dead-letters/retry" all=1
assert_eq "enabled again: retry all queues both" "queued 0
queued 0" "$(mstate "$GONE")"

page "$JE" "/notifications/$KILL/deliveries"
assert_eq "page: 50 attempts of 508" 50 "$(rows '<tr data-id="[0-9]*" data-message=')"
OLDER=$(printf '%s' "$H_BODY" | grep -o 'href="[^"]*before=[0-9]*#attempts"' | head -n 1 \
    | sed 's/href="//; s/"$//; s/&amp;/\&/g')
assert_contains "an Older link" "$OLDER" "/notifications/$KILL/deliveries?before="
page "$JE" "$OLDER"
assert_eq "the next 50" 50 "$(rows '<tr data-id="[0-9]*" data-message=')"
assert_contains "and a Newer link" "$H_BODY" "after="
page "$JE" "/notifications/$KILL/deliveries?before=abc"
assert_eq "a malformed page link: 422" 422 "$H_STATUS"
page "$JE" /notifications/00000000-0000-4000-8000-00000000ffff/deliveries
assert_eq "unknown target page: 404" 404 "$H_STATUS"
page "$JE" "/notifications/$FLAKY"
assert_contains "the target page links here" "$H_BODY" "/notifications/$FLAKY/deliveries"

h_done
