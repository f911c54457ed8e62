#!/usr/bin/env bash
# test_notify_targets.sh - notification targets and subscriptions through
# nginx: CRUD over HTML forms (cookie jars) and the JSON API (bearer
# tokens), with validation naming each field; secrets (webhook URLs, a bot
# token, signing secrets) sealed (sb1:) and never in a response, page, log
# line, audit row or the config column; "Send test" to the harness's
# receiver for each type (Slack blocks, Discord embed, Telegram sendMessage
# at telegram_base, a signed webhook whose signature verifies), showing the
# status and the receiver's answer; answers 500 / 410 / 302 (not followed)
# / a hang cut by timeout_seconds; the SSRF guard refusing 127.0.0.1 and
# 10.0.0.1 (before connecting, without hanging) until
# allow_private_networks; per-pipeline and all-pipelines subscriptions on
# pages and in the API (and notification_recipients()); viewers read but
# change nothing; deletes behind a confirmation page; audit rows.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

# Keep every response (headers and body) to check that no secret left.
eval "$(declare -f h_get | sed '1s/^h_get/_h_get_raw/')"
h_get() {
    _h_get_raw "$@"
    { printf '%s\n' "$H_HEADERS"; printf '%s\n' "$H_BODY"; } >> "$H_TMP/responses.log"
}

h_stack_up
h_receiver_start
R=$H_RECV_URL

ED_PW='editor-pass-5678'
V_PW='viewer-pass-4321'
SLACK_KEY='SlackK3yAbCdEf0123456789xyz'
SLACK_URL="$R/services/T0001ABC/B0002DEF/$SLACK_KEY"
DISCORD_KEY='DiscordTok3n-qwertyuiopASDFGH_123'
DISCORD_URL="$R/api/webhooks/987654321/$DISCORD_KEY"
TG_TOKEN='123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'
TG_TOKEN2='555666777:BBHnewtokenNEWTOKENnewtoken12345'
HOOK_PATH='/in/h00k-Pr1vate-Path'
HOOK_URL="$R$HOOK_PATH?key=HookQueryKey42"
HOOK_SECRET='whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
FORM_URL="$R/services/T9/B9/TypedIntoAFailedForm77"
SECRETS=("$SLACK_KEY" "$DISCORD_KEY" "$TG_TOKEN" "${TG_TOKEN#*:}" "${TG_TOKEN2#*:}"
    "h00k-Pr1vate-Path" "HookQueryKey42" "${HOOK_SECRET#whsec_}" "TypedIntoAFailedForm77")

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@"
}
for u in editor:editor:$ED_PW viewer:viewer:$V_PW; do
    IFS=: read -r who role pw <<< "$u"
    printf '%s\n' "$pw" | sluice_cli user add --email "$who@example.com" --role "$role" \
        --name "$who" > /dev/null
done
ED_TOKEN=$(sluice_cli token create --email editor@example.com --name tests)
V_TOKEN=$(sluice_cli token create --email viewer@example.com --name tests)

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
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
loc_id() { h_header Location | grep -o '[0-9a-f-]\{36\}' | head -n 1 || true; }
setting() {
    h_psql "UPDATE sluice.settings SET value = value || '$1'::jsonb WHERE key = 'notifications'"
}
count_of() {
    node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0)).length))'
}
names_of() {
    node -e 'for (const t of JSON.parse(require("fs").readFileSync(0)))
        process.stdout.write(t.name + ";")'
}
# jerr KEY: errors[KEY] of the last answer (keys like "items[0].events" hold dots).
jerr() {
    node -e 'const b = JSON.parse(require("fs").readFileSync(0));
        process.stdout.write(String(b.errors[process.argv[1]]))' "$1" <<< "$H_BODY"
}
subs_where() { h_psql "SELECT count(*) FROM sluice.pipeline_notifications WHERE $1"; }
last_req() { h_receiver_requests | tail -n 1; }
recv_count() { h_receiver_requests | wc -l | tr -d ' '; }

login "$JE" editor@example.com "$ED_PW"
assert_eq "editor signs in" 303 "$H_STATUS"
login "$JV" viewer@example.com "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# Settings as the migration seeds them; the Bot API goes to the receiver.
assert_eq "notifications settings seeded" \
    'https://api.telegram.org|false|10|8|10' \
    "$(h_psql "SELECT value->>'telegram_base', value->>'allow_private_networks',
        value->>'timeout_seconds', value->>'max_attempts', value->>'base_backoff_seconds'
        FROM sluice.settings WHERE key = 'notifications'" | tr -d ' ')"
setting "{\"telegram_base\": \"$R/tg\"}"

# --- list, choose, empty states ------------------------------------------------------

page "$JV" /notifications
assert_eq "list page (viewer)" 200 "$H_STATUS"
assert_contains "empty state" "$H_BODY" "No notification targets yet."
assert_contains "nav item" "$H_BODY" 'href="/notifications" aria-current="page">Notifications</a>'
assert_lacks "viewer gets no New button" "$H_BODY" 'href="/notifications/new"'
page "$JE" /notifications
assert_contains "editor gets the New button" "$H_BODY" 'href="/notifications/new"'
page "$JE" /notifications/new
assert_eq "choose a type" 200 "$H_STATUS"
for t in slack discord telegram webhook; do
    assert_contains "type $t offered" "$H_BODY" "/notifications/new?type=$t"
done
page "$JE" "/notifications/new?type=email"
assert_eq "unknown type 404" 404 "$H_STATUS"
page "$JE" "/notifications/new?type=telegram"
assert_contains "telegram form has a bot token" "$H_BODY" 'name="bot_token" type="password"'
assert_contains "telegram form has a chat id" "$H_BODY" 'name="chat_id"'
assert_lacks "telegram form has no URL" "$H_BODY" 'name="url"'

# --- create over the form: validation, then a Slack target ---------------------------

post "$JE" /notifications type=slack name=ops url="ftp://example.com/x"
assert_eq "bad URL: 422" 422 "$H_STATUS"
assert_contains "URL error" "$H_BODY" 'must start with https:// (or http://)'
assert_contains "URL marked invalid" "$H_BODY" \
    'value="" aria-describedby="url-hint url-error" aria-invalid="true"'
assert_contains "name kept" "$H_BODY" 'value="ops"'
post "$JE" /notifications type=slack name="" url="$FORM_URL"
assert_eq "no name: 422" 422 "$H_STATUS"
assert_contains "name error" "$H_BODY" '<p class="field-error" id="name-error">enter a name</p>'
assert_lacks "a typed URL is not sent back" "$H_BODY" "TypedIntoAFailedForm77"
assert_contains "asked to type it again" "$H_BODY" "What you typed was not kept; type it again."
assert_eq "nothing stored" 0 "$(h_psql 'SELECT count(*) FROM sluice.notification_targets')"

post "$JE" /notifications type=slack name="Ops Slack" url="$SLACK_URL"
assert_eq "slack created: 303" 303 "$H_STATUS"
SLACK_ID=$(loc_id)
assert_true "slack id" test -n "$SLACK_ID"
page "$JE" "/notifications/$SLACK_ID"
assert_eq "slack page" 200 "$H_STATUS"
assert_contains "flash" "$H_BODY" "Notification target Ops Slack created."
assert_contains "masked URL" "$H_BODY" "$R/services/T000…/****"
assert_lacks "no key on the page" "$H_BODY" "$SLACK_KEY"
assert_contains "not tested yet" "$H_BODY" "Not tested yet."
post "$JE" /notifications type=discord name="ops slack" url="$DISCORD_URL"
assert_eq "duplicate name (any case): 422" 422 "$H_STATUS"
assert_contains "duplicate name message" "$H_BODY" "a notification target with this name exists"

SEALED=$(h_psql "SELECT secret_enc FROM sluice.notification_targets WHERE id = '$SLACK_ID'")
assert_eq "secret sealed (sb1:)" "sb1:" "${SEALED:0:4}"
assert_lacks "sealed text holds no key" "$SEALED" "$SLACK_KEY"
assert_eq "config has only the mask" "{\"url_hint\": \"$R/services/T000…/****\"}" \
    "$(h_psql "SELECT config::text FROM sluice.notification_targets WHERE id = '$SLACK_ID'")"

# --- the SSRF guard: the receiver is on loopback --------------------------------------

post "$JE" "/notifications/$SLACK_ID/test"
assert_eq "test redirects" 303 "$H_STATUS"
assert_contains "back to the target" "$(h_header Location)" "/notifications/$SLACK_ID#last-test"
page "$JE" "/notifications/$SLACK_ID"
assert_contains "refused by the guard" "$H_BODY" \
    "refused by the SSRF guard before connecting to 127.0.0.1: 127.0.0.1 is a loopback address"
assert_contains "no answer" "$H_BODY" 'data-testid="test-http">no answer<'
assert_eq "the receiver saw nothing" 0 "$(recv_count)"

# 10.0.0.1 (unroutable here): refused before any connection, so at once.
api "$ED_TOKEN" POST /api/v1/notification-targets \
    '{"name":"private hook","type":"webhook","url":"http://10.0.0.1:9/x",
      "signing_secret":"'"$HOOK_SECRET"'"}'
assert_eq "private webhook created" 201 "$H_STATUS"
PRIV_ID=$(jv id)
assert_eq "a typed secret is not returned" "" "$(jv signing_secret)"
t0=$(h_now_ms)
api "$ED_TOKEN" POST "/api/v1/notification-targets/$PRIV_ID/test"
t1=$(h_now_ms)
assert_eq "test answers 200" 200 "$H_STATUS"
assert_eq "not delivered" false "$(jv ok)"
assert_eq "no status" 0 "$(jv status)"
assert_contains "10.0.0.1 refused before connecting" "$(jv error)" \
    "refused by the SSRF guard before connecting to 10.0.0.1: 10.0.0.1 is a private address"
assert_true "refused at once, no hang ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 3000
assert_eq "URL masked to its host" "http://10.0.0.1:9/…" "$(jv url)"

setting '{"allow_private_networks": true}'

# --- Slack: delivered, answer shown ----------------------------------------------------

h_receiver_mode 200 body='ok from the receiver'
post "$JE" "/notifications/$SLACK_ID/test"
page "$JE" "/notifications/$SLACK_ID"
assert_contains "delivered flash" "$H_BODY" "Test message delivered to Ops Slack: HTTP 200 in"
assert_contains "status 200" "$H_BODY" 'data-testid="test-http">HTTP 200<'
assert_contains "outcome delivered" "$H_BODY" 'data-testid="test-status">delivered<'
assert_contains "the receiver's answer" "$H_BODY" 'data-testid="test-answer">ok from the receiver<'
REQ=$(last_req)
assert_eq "slack: posted to the webhook URL" \
    "POST /services/T0001ABC/B0002DEF/$SLACK_KEY" \
    "$(h_json method <<< "$REQ") $(h_json path <<< "$REQ")"
assert_eq "slack: JSON" "application/json" "$(h_json headers.content-type <<< "$REQ")"
SBODY=$(h_json body <<< "$REQ")
assert_eq "slack: header block" "Run succeeded: sluice test" \
    "$(h_json blocks.0.text.text <<< "$SBODY")"
assert_eq "slack: fields" '*Rows*
1,234' "$(h_json blocks.1.fields.2.text <<< "$SBODY")"
assert_eq "slack: button to the target page" \
    "http://127.0.0.1:$H_HTTP_PORT/notifications/$SLACK_ID" \
    "$(h_json blocks.2.elements.0.url <<< "$SBODY")"
assert_contains "slack: text fallback" "$(h_json text <<< "$SBODY")" \
    "Run succeeded: sluice test - Rows: 1,234, Duration: 5.7 s"

# --- Discord over the API ---------------------------------------------------------------

api "$ED_TOKEN" POST /api/v1/notification-targets \
    '{"name":"Ops Discord","type":"discord","url":"'"$DISCORD_URL"'",
      "all_pipelines_events":["run.failed"]}'
assert_eq "discord created" 201 "$H_STATUS"
DISCORD_ID=$(jv id)
assert_eq "Location" "/api/v1/notification-targets/$DISCORD_ID" "$(h_header Location)"
assert_eq "discord mask" "$R/api/webhooks/9876…/****" "$(jv url_masked)"
assert_eq "discord all pipelines" '["run.failed"]' "$(jv all_pipelines_events)"
assert_eq "no url field back" "" "$(jv url)"
api "$ED_TOKEN" POST "/api/v1/notification-targets/$DISCORD_ID/test"
assert_eq "discord delivered" "true 200 ok from the receiver" "$(jv ok) $(jv status) $(jv answer)"
REQ=$(last_req)
assert_eq "discord: path" "/api/webhooks/987654321/$DISCORD_KEY" "$(h_json path <<< "$REQ")"
DBODY=$(h_json body <<< "$REQ")
assert_eq "discord: green embed" "3061373 Run succeeded: sluice test" \
    "$(h_json embeds.0.color <<< "$DBODY") $(h_json embeds.0.title <<< "$DBODY")"
assert_eq "discord: no mentions" '[]' "$(h_json allowed_mentions.parse <<< "$DBODY")"

# --- Telegram over the API, at telegram_base -----------------------------------------

api "$ED_TOKEN" POST /api/v1/notification-targets \
    '{"name":"Ops Telegram","type":"telegram","bot_token":"'"$TG_TOKEN"'",
      "chat_id":"-1001234567890"}'
assert_eq "telegram created" 201 "$H_STATUS"
TG_ID=$(jv id)
assert_eq "telegram token masked" "1234…:****" "$(jv bot_token_masked)"
assert_eq "telegram chat id shown" "-1001234567890" "$(jv chat_id)"
api "$ED_TOKEN" POST /api/v1/notification-targets \
    '{"name":"bad tg","type":"telegram","bot_token":"nope","chat_id":"x1",
      "url":"https://a.example"}'
assert_eq "bad telegram: 422" 422 "$H_STATUS"
assert_eq "bad token" "must look like 123456789:AA... (from @BotFather)" "$(jv errors.bot_token)"
assert_eq "bad chat id" "must be a number (e.g. -1001234567890) or @channelname" \
    "$(jv errors.chat_id)"
assert_eq "no URL for telegram" "a Telegram target has a bot token and a chat id" \
    "$(jv errors.url)"
h_receiver_mode 200 body='{"ok":true,"result":{"message_id":7}}'
api "$ED_TOKEN" POST "/api/v1/notification-targets/$TG_ID/test"
assert_eq "telegram delivered" "true 200" "$(jv ok) $(jv status)"
assert_eq "telegram: the Bot API's answer" '{"ok":true,"result":{"message_id":7}}' "$(jv answer)"
assert_eq "telegram: URL masked" "$R/tg/bot1234…:****/sendMessage" "$(jv url)"
REQ=$(last_req)
assert_eq "telegram: sendMessage at telegram_base" "/tg/bot$TG_TOKEN/sendMessage" \
    "$(h_json path <<< "$REQ")"
TBODY=$(h_json body <<< "$REQ")
assert_eq "telegram: chat, HTML, no preview" "-1001234567890 HTML true" \
    "$(h_json chat_id <<< "$TBODY") $(h_json parse_mode <<< "$TBODY") \
$(h_json disable_web_page_preview <<< "$TBODY")"
assert_eq "telegram: text" "<b>Run succeeded: sluice test</b>
Rows: 1,234
Duration: 5.7 s
<a href=\"http://127.0.0.1:$H_HTTP_PORT/notifications/$TG_ID\">Open</a>" \
    "$(h_json text <<< "$TBODY")"

# --- webhook over the form: the secret made and shown once; the signature verifies ----

post "$JE" /notifications type=webhook name="Ops Hook" url="$HOOK_URL"
assert_eq "webhook created: the secret page" 200 "$H_STATUS"
assert_eq "no-store" "no-store" "$(h_header Cache-Control)"
made_secret() {
    printf '%s' "$H_BODY" | grep -o 'id="signing-secret">whsec_[A-Za-z0-9+/=]*' | sed 's/.*>//'
}
MADE=$(made_secret)
assert_eq "secret shown" "whsec_" "${MADE:0:6}"
HOOK_ID=$(h_psql "SELECT id FROM sluice.notification_targets WHERE name = 'Ops Hook'")
page "$JE" "/notifications/$HOOK_ID"
assert_lacks "secret not on the target page" "$H_BODY" "${MADE#whsec_}"
assert_contains "webhook mask: host only" "$H_BODY" "<code data-testid=\"url-mask\">$R/…</code>"
h_receiver_mode 204 body=''
post "$JE" "/notifications/$HOOK_ID/test"
REQ=$(last_req)
assert_eq "webhook: path and query" "$HOOK_PATH key=HookQueryKey42" \
    "$(h_json path <<< "$REQ") $(h_json query <<< "$REQ")"
verify() { # REQ SECRET: recompute the signature of the recorded request
    node -e '
        const crypto = require("crypto");
        const r = JSON.parse(process.argv[1]), secret = process.argv[2];
        const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
        const body = Buffer.from(r.body_base64, "base64");
        const id = r.headers["webhook-id"], ts = r.headers["webhook-timestamp"];
        const mac = crypto.createHmac("sha256", key)
            .update(Buffer.concat([Buffer.from(`${id}.${ts}.`), body])).digest("base64");
        const ok = r.headers["webhook-signature"].split(" ").includes(`v1,${mac}`);
        const age = Math.abs(Date.now() / 1000 - Number(ts));
        process.stdout.write(ok && age < 60 ? "verified" : "bad");
    ' "$1" "$2"
}
assert_eq "webhook: signature verifies with the secret" verified "$(verify "$REQ" "$MADE")"
assert_eq "webhook: not with another" bad "$(verify "$REQ" "$HOOK_SECRET")"
WBODY=$(h_json body <<< "$REQ")
assert_eq "webhook: {type, timestamp, data}" "run.succeeded true 1234" \
    "$(h_json type <<< "$WBODY") $(h_json data.test <<< "$WBODY") $(h_json data.rows <<< "$WBODY")"
assert_true "webhook: RFC 3339 timestamp" \
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
    <<< "$(h_json timestamp <<< "$WBODY")"
assert_contains "webhook: msg id" "$(h_json headers.webhook-id <<< "$REQ")" "msg_test_"
page "$JE" "/notifications/$HOOK_ID"
assert_contains "204 is delivered" "$H_BODY" 'data-testid="test-status">delivered<'

# Rotate over the form (shown once), then over the API.
post "$JE" "/notifications/$HOOK_ID" name="Ops Hook" active=1 rotate_signing_secret=1
assert_eq "rotated: the secret page" 200 "$H_STATUS"
assert_contains "rotation heading" "$H_BODY" "New signing secret"
MADE2=$(made_secret)
assert_true "a new secret" test "$MADE2" != "$MADE" -a "${MADE2:0:6}" = whsec_
post "$JE" "/notifications/$HOOK_ID/test"
assert_eq "signed with the new one" verified "$(verify "$(last_req)" "$MADE2")"
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$HOOK_ID" '{"rotate_signing_secret":true}'
assert_eq "API rotation" 200 "$H_STATUS"
MADE3=$(jv signing_secret)
assert_true "API returns the new secret once" test "${MADE3:0:6}" = whsec_ -a "$MADE3" != "$MADE2"
api "$ED_TOKEN" GET "/api/v1/notification-targets/$HOOK_ID"
assert_eq "and never again" "" "$(jv signing_secret)"
assert_eq "has a signing secret" true "$(jv has_signing_secret)"
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$HOOK_ID" \
    '{"signing_secret":"whsec_abc","rotate_signing_secret":true,"type":"slack","colour":"red"}'
assert_eq "bad patch: 422" 422 "$H_STATUS"
assert_eq "type fixed" "cannot change; make a new target of the other type" "$(jv errors.type)"
assert_eq "unknown field" "unknown field" "$(jv errors.colour)"
assert_eq "secret and rotation" "type a secret or ask for a new one, not both" \
    "$(jv errors.signing_secret)"

# --- receivers that do not take it ---------------------------------------------------------

h_receiver_mode 500 body='boom'
api "$ED_TOKEN" POST "/api/v1/notification-targets/$SLACK_ID/test"
assert_eq "500: not delivered" "false 500 boom" "$(jv ok) $(jv status) $(jv answer)"
assert_eq "500 explained" \
    "HTTP 500 Internal Server Error: the receiver did not accept the message" \
    "$(jv error)"
h_receiver_mode 410
api "$ED_TOKEN" POST "/api/v1/notification-targets/$SLACK_ID/test"
assert_eq "410 explained" "HTTP 410 Gone: the receiver says this target no longer exists" \
    "$(jv error)"
h_receiver_mode 302 location="$R/redirected"
n0=$(recv_count)
api "$ED_TOKEN" POST "/api/v1/notification-targets/$SLACK_ID/test"
assert_eq "302 answered" "false 302" "$(jv ok) $(jv status)"
assert_eq "302 explained" "HTTP 302 Found: redirects are not followed; use the final URL" \
    "$(jv error)"
sleep 0.3
assert_eq "redirect not followed: one request" $((n0 + 1)) "$(recv_count)"
assert_eq "nothing went to the Location" 0 "$(h_receiver_requests /redirected | wc -l | tr -d ' ')"
page "$JE" "/notifications/$SLACK_ID"
assert_contains "page shows the 302" "$H_BODY" 'data-testid="test-http">HTTP 302<'
assert_contains "page shows why" "$H_BODY" "redirects are not followed"
h_receiver_mode hang seconds=30
setting '{"timeout_seconds": 2}'
t0=$(h_now_ms)
api "$ED_TOKEN" POST "/api/v1/notification-targets/$SLACK_ID/test"
t1=$(h_now_ms)
assert_eq "hang: timed out" "false 0" "$(jv ok) $(jv status)"
assert_eq "hang explained" "no answer from 127.0.0.1 within 2 s" "$(jv error)"
assert_true "cut after about 2 s ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 1900 -a $((t1 - t0)) -lt 6000
setting '{"timeout_seconds": 10}'
h_receiver_mode reset

# The guard again, now that private networks are allowed: 127.0.0.1 goes through.
setting '{"allow_private_networks": false}'
n0=$(recv_count)
api "$ED_TOKEN" POST "/api/v1/notification-targets/$TG_ID/test"
assert_contains "loopback refused again" "$(jv error)" "127.0.0.1 is a loopback address"
assert_eq "nothing reached the receiver" "$n0" "$(recv_count)"
setting '{"allow_private_networks": true}'

# --- edit: blank keeps the secret ----------------------------------------------------------

page "$JE" "/notifications/$TG_ID/edit"
assert_eq "edit page" 200 "$H_STATUS"
assert_contains "token unchanged hint" "$H_BODY" \
    "Now <code>1234…:****</code>: unchanged — leave blank to keep."
assert_contains "chat id shown" "$H_BODY" 'value="-1001234567890"'
assert_lacks "no token on the edit page" "$H_BODY" "${TG_TOKEN#*:}"
post "$JE" "/notifications/$TG_ID" name="Ops Telegram 2" chat_id="@ops_alerts" active=1 \
    bot_token=""
assert_eq "saved" 303 "$H_STATUS"
api "$ED_TOKEN" POST "/api/v1/notification-targets/$TG_ID/test"
assert_eq "same token kept" "/tg/bot$TG_TOKEN/sendMessage" "$(h_json path <<< "$(last_req)")"
assert_eq "new chat id" "@ops_alerts" "$(h_json chat_id <<< "$(h_json body <<< "$(last_req)")")"
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$TG_ID" \
    '{"bot_token":"'"$TG_TOKEN2"'","active":false}'
assert_eq "token replaced, deactivated" "5556…:**** false" "$(jv bot_token_masked) $(jv active)"
api "$ED_TOKEN" POST "/api/v1/notification-targets/$TG_ID/test"
assert_eq "the new token is used (inactive targets can be tested)" \
    "/tg/bot$TG_TOKEN2/sendMessage" \
    "$(h_json path <<< "$(last_req)")"
h_psql "UPDATE sluice.notification_targets SET disabled_reason = '410 Gone from the receiver'
    WHERE id = '$TG_ID'" > /dev/null
page "$JE" "/notifications/$TG_ID"
assert_contains "disabled reason shown" "$H_BODY" "Disabled: 410 Gone from the receiver"
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$TG_ID" '{"active":true}'
assert_eq "reactivated, reason cleared" "true null" "$(jv active) $(jv disabled_reason)"

# --- viewers read, never change --------------------------------------------------------------

api "$V_TOKEN" GET /api/v1/notification-targets
assert_eq "viewer lists" 200 "$H_STATUS"
assert_eq "five targets" 5 "$(jv items | count_of)"
api "$V_TOKEN" GET "/api/v1/notification-targets/$SLACK_ID"
assert_eq "viewer reads one (masked)" "200 $R/services/T000…/****" "$H_STATUS $(jv url_masked)"
api "$V_TOKEN" POST /api/v1/notification-targets \
    '{"name":"v","type":"slack","url":"https://x.example/a"}'
assert_eq "viewer cannot create" 403 "$H_STATUS"
api "$V_TOKEN" PATCH "/api/v1/notification-targets/$SLACK_ID" '{"name":"v"}'
assert_eq "viewer cannot change" 403 "$H_STATUS"
api "$V_TOKEN" DELETE "/api/v1/notification-targets/$SLACK_ID"
assert_eq "viewer cannot delete" 403 "$H_STATUS"
api "$V_TOKEN" POST "/api/v1/notification-targets/$SLACK_ID/test"
assert_eq "viewer cannot send tests" 403 "$H_STATUS"
page "$JV" "/notifications/$SLACK_ID"
assert_eq "viewer sees the page" 200 "$H_STATUS"
assert_lacks "without Send test" "$H_BODY" 'data-testid="send-test"'
page "$JV" /notifications/new
assert_eq "viewer: no new form" 403 "$H_STATUS"
page "$JV" "/notifications/$SLACK_ID/edit"
assert_eq "viewer: no edit form" 403 "$H_STATUS"
post "$JV" "/notifications/$SLACK_ID/test"
assert_eq "viewer: no test over the form" 403 "$H_STATUS"
post "$JV" "/notifications/$SLACK_ID/delete"
assert_eq "viewer: no delete" 403 "$H_STATUS"
api "$ED_TOKEN" GET /api/v1/notification-targets/not-a-uuid
assert_eq "malformed id: 404" 404 "$H_STATUS"
api "$ED_TOKEN" GET /api/v1/notification-targets/00000000-0000-4000-8000-000000000000
assert_eq "unknown id: 404" 404 "$H_STATUS"

# Paging: two at a time, every target once, by name.
names=""
cursor=""
for i in 1 2 3 4; do
    api "$V_TOKEN" GET "/api/v1/notification-targets?limit=2${cursor:+&cursor=$cursor}"
    names+=$(jv items | names_of)
    cursor=$(jv next_cursor)
    [ "$cursor" != null ] || break
done
assert_eq "pages walk every target" \
    "Ops Discord;Ops Hook;Ops Slack;Ops Telegram 2;private hook;" "$names"
api "$V_TOKEN" GET "/api/v1/notification-targets?limit=0&x=1"
assert_eq "bad paging: 422" "422 unknown parameter" "$H_STATUS $(jv errors.x)"

# --- subscriptions -----------------------------------------------------------------------------

DBNAME=${H_DATABASE_URL##*/}
PL=10000000-0000-4000-8000-000000000001
PL2=10000000-0000-4000-8000-000000000002
h_psql "INSERT INTO sluice.sources (id, name, type, host, port, database, username)
  VALUES ('00000000-0000-4000-8000-0000000000a1', 'src', 'postgresql', '127.0.0.1', 5, 'x', 'u');
  INSERT INTO sluice.destinations (id, name, type, host, port, database, username, is_default)
  VALUES ('00000000-0000-4000-8000-0000000000b1', 'dst', 'postgresql', '127.0.0.1',
          $H_PG_PORT, '$DBNAME', 'sluice', true);
  INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES
   ('$PL', 'orders_pl', '00000000-0000-4000-8000-0000000000a1',
    '00000000-0000-4000-8000-0000000000b1'),
   ('$PL2', 'events_pl', '00000000-0000-4000-8000-0000000000a1',
    '00000000-0000-4000-8000-0000000000b1');" \
    > /dev/null

page "$JE" "/pipelines/$PL"
assert_eq "pipeline page" 200 "$H_STATUS"
assert_contains "notifications section" "$H_BODY" 'id="notifications-heading">Notifications</h2>'
assert_contains "nothing of its own yet" "$H_BODY" "No target hears this pipeline alone."
assert_contains "the all-pipelines target shown" "$H_BODY" ">Ops Discord</a> (Run failed)"
assert_contains "targets offered" "$H_BODY" \
    "<option value=\"$SLACK_ID\">Ops Slack (Slack)</option>"
assert_contains "run.failed ticked by default" "$H_BODY" \
    'name="event:run.failed" value="1" checked'
post "$JE" "/pipelines/$PL/notifications" target_id="$SLACK_ID"
assert_eq "no events: 422" 422 "$H_STATUS"
assert_contains "events error" "$H_BODY" \
    '<p class="field-error" id="events-error">choose at least one event</p>'
assert_contains "target kept" "$H_BODY" "<option value=\"$SLACK_ID\" selected>"
post "$JE" "/pipelines/$PL/notifications" "event:run.failed=1"
assert_eq "no target: 422" 422 "$H_STATUS"
assert_contains "target error" "$H_BODY" "choose a target"
post "$JE" "/pipelines/$PL/notifications" target_id="$SLACK_ID" "event:run.failed=1" \
    "event:schema.drifted=1"
assert_eq "subscribed: 303" 303 "$H_STATUS"
assert_eq "back to the section" "/pipelines/$PL#notifications" "$(h_header Location)"
page "$JE" "/pipelines/$PL"
assert_contains "listed" "$H_BODY" "Ops Slack</a> <span class=\"hint\">Slack</span></td>"
assert_contains "with its events" "$H_BODY" "<td>Run failed, Schema drift</td>"
post "$JE" "/pipelines/$PL/notifications" target_id="$SLACK_ID" "event:run.succeeded=1"
assert_eq "same target again replaces" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.pipeline_notifications WHERE pipeline_id = '$PL'")"
assert_eq "its events replaced" "{run.succeeded}" \
    "$(h_psql "SELECT events FROM sluice.pipeline_notifications WHERE pipeline_id = '$PL'")"
SUB_ID=$(h_psql "SELECT id FROM sluice.pipeline_notifications WHERE pipeline_id = '$PL'")
page "$JV" "/pipelines/$PL"
assert_lacks "viewer: no add form" "$H_BODY" "action=\"/pipelines/$PL/notifications\""
post "$JV" "/pipelines/$PL/notifications" target_id="$SLACK_ID" "event:run.failed=1"
assert_eq "viewer cannot subscribe" 403 "$H_STATUS"

api "$V_TOKEN" GET "/api/v1/pipelines/$PL/notifications"
assert_eq "API: subscriptions" "200 $SLACK_ID [\"run.succeeded\"] $DISCORD_ID" \
    "$H_STATUS $(jv items.0.target_id) $(jv items.0.events) $(jv all_pipelines.0.target_id)"
api "$ED_TOKEN" PUT "/api/v1/pipelines/$PL/notifications" \
    '{"items":[{"target_id":"'"$TG_ID"'","events":["schema.drifted","run.failed"]},
               {"target_id":"'"$HOOK_ID"'","events":["quality.failed"]}]}'
assert_eq "API: replaced" 200 "$H_STATUS"
assert_eq "API: two, events in order, Slack gone" \
    "Ops Hook Ops Telegram 2 [\"run.failed\",\"schema.drifted\"] " \
    "$(jv items.0.target_name) $(jv items.1.target_name) $(jv items.1.events) \
$(jv items.2.target_name)"
api "$ED_TOKEN" PUT "/api/v1/pipelines/$PL/notifications" \
    '{"items":[{"target_id":"'"$TG_ID"'","events":[]},
               {"target_id":"00000000-0000-4000-8000-000000000000","events":["run.failed"]},
               {"target_id":"'"$TG_ID"'","events":["nope"],"x":1}]}'
assert_eq "API: bad list 422" 422 "$H_STATUS"
assert_eq "empty events" "choose at least one event" "$(jerr 'items[0].events')"
assert_eq "unknown target" "no such notification target" "$(jerr 'items[1].target_id')"
assert_eq "twice" "lists this target twice" "$(jerr 'items[2].target_id')"
assert_contains "unknown event" "$(jerr 'items[2].events')" "lists an unknown event"
assert_eq "extra field" "unknown field" "$(jerr 'items[2].x')"
api "$ED_TOKEN" GET "/api/v1/pipelines/00000000-0000-4000-8000-000000000000/notifications"
assert_eq "API: unknown pipeline 404" 404 "$H_STATUS"
api "$V_TOKEN" PUT "/api/v1/pipelines/$PL/notifications" '{"items":[]}'
assert_eq "API: viewer cannot PUT" 403 "$H_STATUS"

# Global subscription on the target page.
post "$JE" "/notifications/$HOOK_ID/subscription" "event:run.succeeded=1" \
    "event:landing.file_rejected=1"
assert_eq "all pipelines saved" 303 "$H_STATUS"
page "$JE" "/notifications/$HOOK_ID"
assert_contains "global flash" "$H_BODY" \
    "Ops Hook now hears every pipeline: Run succeeded, Landing file rejected."
assert_contains "ticked" "$H_BODY" 'name="event:landing.file_rejected" value="1" checked'
assert_contains "pipelines listed on the target" "$H_BODY" \
    ">orders_pl</a></td><td>Quality check failed</td>"

# Who hears what (the outbox asks notification_recipients()).
recips() {
    h_psql "SELECT string_agg(t.name, ',' ORDER BY t.name)
        FROM sluice.notification_recipients('$1', '$2') r
        JOIN sluice.notification_targets t ON t.id = r.target_id"
}
assert_eq "orders run.failed: own + global" "Ops Discord,Ops Telegram 2" \
    "$(recips "$PL" run.failed)"
assert_eq "events_pl run.failed: global only" "Ops Discord" "$(recips "$PL2" run.failed)"
assert_eq "run.succeeded: hook (global, once)" "Ops Hook" "$(recips "$PL" run.succeeded)"
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$DISCORD_ID" '{"active":false}'
assert_eq "inactive targets hear nothing" "Ops Telegram 2" "$(recips "$PL" run.failed)"
api "$ED_TOKEN" PATCH "/api/v1/notification-targets/$DISCORD_ID" \
    '{"all_pipelines_events":[],"active":true}'
assert_eq "global removed" "[]" "$(jv all_pipelines_events)"
assert_eq "events_pl hears nothing now" "" "$(recips "$PL2" run.failed)"

# Removing a pipeline's subscription: a confirmation page first.
SUB_ID=$(h_psql "SELECT id FROM sluice.pipeline_notifications
    WHERE pipeline_id = '$PL' AND target_id = '$TG_ID'")
page "$JE" "/pipelines/$PL/notifications/$SUB_ID/remove"
assert_eq "remove confirmation" 200 "$H_STATUS"
assert_contains "asks" "$H_BODY" "Stop notifying Ops Telegram 2?"
post "$JE" "/pipelines/$PL/notifications/$SUB_ID/remove"
assert_eq "removed" 303 "$H_STATUS"
assert_eq "one left" 1 "$(subs_where "pipeline_id = '$PL'")"
HOOK_SUB=$(h_psql "SELECT id FROM sluice.pipeline_notifications WHERE pipeline_id = '$PL'")
post "$JE" "/pipelines/$PL2/notifications/$HOOK_SUB/remove"
assert_eq "another pipeline's subscription: 404" 404 "$H_STATUS"
assert_eq "and kept" 1 "$(subs_where "id = '$HOOK_SUB'")"

# --- delete ------------------------------------------------------------------------------------

page "$JE" "/notifications/$HOOK_ID/delete"
assert_eq "delete confirmation" 200 "$H_STATUS"
assert_contains "delete asks" "$H_BODY" "Delete Ops Hook?"
assert_contains "with data-confirm" "$H_BODY" 'data-confirm="Delete this notification target?"'
post "$JE" "/notifications/$HOOK_ID/delete"
assert_eq "deleted: 303" 303 "$H_STATUS"
assert_eq "to the list" "/notifications" "$(h_header Location)"
assert_eq "subscriptions went with it" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.pipeline_notifications WHERE target_id = '$HOOK_ID'")"
api "$ED_TOKEN" DELETE "/api/v1/notification-targets/$PRIV_ID"
assert_eq "API delete 204" 204 "$H_STATUS"
api "$ED_TOKEN" GET "/api/v1/notification-targets/$PRIV_ID"
assert_eq "then 404" 404 "$H_STATUS"

# --- audit, and no secret anywhere -----------------------------------------------------------

AUDIT=$(h_psql "SELECT action || ' ' || details::text FROM sluice.audit_log
    WHERE action LIKE 'notification_target.%' OR action = 'pipeline.notifications' ORDER BY id")
for a in create update delete test subscribe; do
    assert_contains "audited: notification_target.$a" "$AUDIT" "notification_target.$a "
done
assert_contains "audited: pipeline.notifications" "$AUDIT" "pipeline.notifications "
assert_contains "audit says a secret changed, not what" "$AUDIT" '"bot_token": "changed"'
assert_contains "rotation audited" "$AUDIT" '"signing_secret": "rotated"'
CONFIGS=$(h_psql "SELECT config::text FROM sluice.notification_targets")
LEAKS=0
for s in "${SECRETS[@]}"; do
    for f in "$H_TMP/responses.log" "$H_LOG/web.log" "$H_VAR/log/nginx-error.log"; do
        if [ -f "$f" ] && grep -qF -- "$s" "$f"; then
            LEAKS=$((LEAKS + 1))
            echo "# leak: ${s:0:6}... in $f"
        fi
    done
    if [[ $AUDIT == *"$s"* || $CONFIGS == *"$s"* ]]; then
        LEAKS=$((LEAKS + 1))
        echo "# leak: ${s:0:6}... in the audit log or config"
    fi
done
assert_eq "no secret in any response, log, audit row or config" 0 "$LEAKS"
# The secrets sluice made: in the one answer that made each, nowhere else.
for s in "${MADE#whsec_}" "${MADE2#whsec_}" "${MADE3#whsec_}"; do
    assert_eq "made secret ${s:0:4}... in one response" 1 \
        "$(grep -cF -- "$s" "$H_TMP/responses.log")"
    assert_eq "made secret ${s:0:4}... in no log, audit row or config" 0 \
        "$(cat "$H_LOG/web.log" "$H_VAR/log/nginx-error.log" 2> /dev/null \
            | grep -cF -- "$s" || true)$([[ $AUDIT$CONFIGS == *"$s"* ]] && echo leak)"
done

h_done
