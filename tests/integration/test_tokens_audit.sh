#!/usr/bin/env bash
# test_tokens_audit.sh - API tokens (pages and JSON) and the audit log (page
# and JSON) against the real stack: sign in with a cookie jar and the login
# form's CSRF token, create a token on the page (shown once, only its hash
# stored), use it as a bearer token on the API (never on pages), revoke and
# expire it, viewer vs admin rules, CSRF on JSON calls made with a cookie,
# audit filters, and keyset pagination that visits every row exactly once
# (the API's ?limit= / ?cursor= -> {items, next_cursor}; the pages' links).
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

PW=tokens-test-password
# argon2id (libsodium crypto_pwhash_str) of $PW, so the test needs no CLI.
HASH='$argon2id$v=19$m=19456,t=2,p=1$X7+edk/Jk+Dlgpw1blXOTg$RgRVk1NS0wry+UCiomCl3zQsGxW6hOP9PTodnZoqSnA'
h_psql "INSERT INTO sluice.users (email, name, role, password_hash) VALUES
    ('admin@example.com', 'Ada Admin', 'admin', '$HASH'),
    ('viewer@example.com', 'Vic Viewer', 'viewer', '$HASH')" > /dev/null

ADMIN_JAR=$H_TMP/admin.jar
VIEWER_JAR=$H_TMP/viewer.jar

# jsq EXPR: evaluate a JavaScript expression over the JSON on stdin (as d).
jsq() {
    node -e '
        const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const v = eval(process.argv[1]);
        process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
    ' "$1"
}

# csrf_of FILE: the first _csrf value in an HTML form.
csrf_of() { sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' "$1" | head -n 1; }

# login JAR EMAIL: sign in through the form; prints the status.
login() {
    local jar=$1 email=$2 csrf
    curl -s -c "$jar" -b "$jar" -o "$H_TMP/login.html" "$H_URL/login"
    csrf=$(csrf_of "$H_TMP/login.html")
    curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' --data-urlencode "_csrf=$csrf" \
        --data-urlencode "email=$email" --data-urlencode "password=$PW" "$H_URL/login"
}

# page_csrf JAR: the session's CSRF token, from the tokens page form.
page_csrf() {
    curl -s -b "$1" -c "$1" -o "$H_TMP/csrf.html" "$H_URL/tokens"
    csrf_of "$H_TMP/csrf.html"
}

# new_token_page JAR NAME EXPIRES: POST /tokens; leaves H_STATUS/H_BODY and
# prints nothing; TOKEN is set from the .secret box (or empty).
new_token_page() {
    local csrf
    csrf=$(page_csrf "$1")
    h_get "$H_URL/tokens" -b "$1" -c "$1" --data-urlencode "_csrf=$csrf" \
        --data-urlencode "name=$2" --data-urlencode "expires=$3"
    TOKEN=$(printf '%s' "$H_BODY" | grep -o 'slu_[A-Za-z0-9_-]\{43\}' | head -n 1 || true)
}

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# --- sign in --------------------------------------------------------------------

assert_eq "admin signs in through the form" 303 "$(login "$ADMIN_JAR" admin@example.com)"
assert_status "$H_URL/tokens" 200 -b "$ADMIN_JAR"
assert_contains "empty state for own tokens" "$H_BODY" "You have no API tokens"
assert_contains "admins see the All tokens section" "$H_BODY" "All tokens"
assert_contains "create form has a labelled name field" "$H_BODY" '<label for="token-name">'

# --- create on the page: shown once, only the hash stored ---------------------------

new_token_page "$ADMIN_JAR" "ci deploy" 30
assert_eq "POST /tokens answers 200 (no redirect)" 200 "$H_STATUS"
assert_true "the page shows a slu_ token" test -n "$TOKEN"
assert_contains "token is in a .secret box" "$H_BODY" 'class="secret"'
assert_contains "copy-it-now warning" "$H_BODY" "copy it now, it will not be shown again"
assert_eq "token page is not cached" "no-store" "$(h_header Cache-Control)"
assert_eq "no Location header" "" "$(h_header Location)"
if printf '%s\n' "$H_HEADERS" | grep -qF "$TOKEN"; then
    fail "the token is in no response header"
else
    ok "the token is in no response header"
fi
ADMIN_TOKEN=$TOKEN
row=$(h_psql "SELECT encode(token_hash, 'hex') || '|' || prefix || '|' || name || '|'
    || (expires_at BETWEEN now() + interval '29 days' AND now() + interval '31 days')
    FROM sluice.api_tokens WHERE name = 'ci deploy'")
assert_eq "DB holds sha256 of the whole token, its 12-char prefix, 30-day expiry" \
    "$(sha256 "$ADMIN_TOKEN")|${ADMIN_TOKEN:0:12}|ci deploy|true" "$row"
assert_eq "the token itself is stored nowhere" 0 \
    "$(h_psql "SELECT (SELECT count(*) FROM sluice.api_tokens
        WHERE strpos(name || prefix, '$ADMIN_TOKEN') > 0)
        + (SELECT count(*) FROM sluice.audit_log WHERE strpos(details::text, '$ADMIN_TOKEN') > 0)")"
assert_eq "token.create audited with name and prefix" "ci deploy|${ADMIN_TOKEN:0:12}|admin@example.com" \
    "$(h_psql "SELECT details->>'name' || '|' || (details->>'prefix') || '|' || actor_email
        FROM sluice.audit_log WHERE action = 'token.create'")"
ADMIN_TOKEN_ID=$(h_psql "SELECT id FROM sluice.api_tokens WHERE name = 'ci deploy'")

assert_status "$H_URL/tokens" 200 -b "$ADMIN_JAR"
assert_contains "list shows the name" "$H_BODY" "ci deploy"
assert_contains "list shows the prefix with an ellipsis" "$H_BODY" "${ADMIN_TOKEN:0:12}…"
if [[ $H_BODY == *"$ADMIN_TOKEN"* ]]; then
    fail "list never shows the whole token"
else
    ok "list never shows the whole token"
fi
assert_contains "status active" "$H_BODY" ">active<"

assert_status "$H_URL/tokens" 403 -b "$ADMIN_JAR" -d "name=no-csrf&expires=30"
assert_eq "no token made by a form post without CSRF" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.api_tokens WHERE name = 'no-csrf'")"

# Validation: duplicate, empty, too long, bad expiry; values kept.
new_token_page "$ADMIN_JAR" "ci deploy" 90
assert_eq "duplicate name -> 422" 422 "$H_STATUS"
assert_contains "duplicate name error" "$H_BODY" 'id="name-error"'
assert_contains "field marked invalid" "$H_BODY" 'aria-invalid="true" aria-describedby="name-error"'
assert_contains "typed value kept" "$H_BODY" 'value="ci deploy"'
assert_eq "no token shown on error" "" "$TOKEN"
new_token_page "$ADMIN_JAR" "   " 90
assert_eq "empty name -> 422" 422 "$H_STATUS"
new_token_page "$ADMIN_JAR" "$(printf 'x%.0s' $(seq 1 101))" 90
assert_eq "101-character name -> 422" 422 "$H_STATUS"
new_token_page "$ADMIN_JAR" "ok name" 7
assert_eq "expiry outside the choices -> 422" 422 "$H_STATUS"
assert_contains "expiry error" "$H_BODY" 'id="expires-error"'
new_token_page "$ADMIN_JAR" "<b>bold</b>" never
assert_eq "HTML in a name is fine" 200 "$H_STATUS"
assert_contains "name is escaped" "$H_BODY" "&lt;b&gt;bold&lt;/b&gt;"
assert_eq "never-expiring token has NULL expires_at" "t" \
    "$(h_psql "SELECT expires_at IS NULL FROM sluice.api_tokens WHERE name = '<b>bold</b>'")"

# --- bearer use -------------------------------------------------------------------

AUTH=(-H "Authorization: Bearer $ADMIN_TOKEN")
assert_status "$H_URL/api/v1/audit" 200 "${AUTH[@]}"
assert_contains "audit API is JSON" "$(h_header Content-Type)" "application/json"
assert_eq "audit API has items" true "$(jsq 'Array.isArray(d.items) && d.items.length > 0' <<< "$H_BODY")"
assert_eq "ids are strings" string "$(jsq 'typeof d.items[0].id' <<< "$H_BODY")"
assert_eq "last_used_at recorded" t \
    "$(h_psql "SELECT last_used_at IS NOT NULL FROM sluice.api_tokens WHERE id = '$ADMIN_TOKEN_ID'")"
assert_status "$H_URL/tokens" 303 "${AUTH[@]}"
assert_contains "bearer is not accepted on pages: redirect to sign-in" "$(h_header Location)" "/login"
assert_status "$H_URL/api/v1/audit" 401 -H "Authorization: Bearer slu_not-a-real-token"
assert_status "$H_URL/api/v1/tokens" 200 "${AUTH[@]}"
assert_eq "token list via API has the token by id" "ci deploy" \
    "$(jsq "d.items.find(i => i.id === '$ADMIN_TOKEN_ID').name" <<< "$H_BODY")"
assert_eq "token list has no secrets" false \
    "$(jsq 'JSON.stringify(d).includes("token_hash") || d.items.some(i => "token" in i)' <<< "$H_BODY")"
assert_eq "token list entry has the prefix" "${ADMIN_TOKEN:0:12}" \
    "$(jsq 'd.items.find(i => i.name === "ci deploy").prefix' <<< "$H_BODY")"

# --- JSON create: CSRF with a cookie, validation ----------------------------------------

CSRF=$(page_csrf "$ADMIN_JAR")
assert_status "$H_URL/api/v1/tokens" 403 -b "$ADMIN_JAR" -H "Content-Type: application/json" \
    -d '{"name":"no csrf"}'
assert_eq "no token made without CSRF" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.api_tokens WHERE name = 'no csrf'")"
assert_status "$H_URL/api/v1/tokens" 201 -b "$ADMIN_JAR" -H "X-CSRF-Token: $CSRF" \
    -H "Content-Type: application/json" -d '{"name":"from api","expires_days":7}'
API_TOKEN=$(jsq d.token <<< "$H_BODY")
API_TOKEN_ID=$(jsq d.id <<< "$H_BODY")
assert_eq "201 returns the token once, with prefix" "${API_TOKEN:0:12}" "$(jsq d.prefix <<< "$H_BODY")"
assert_eq "API-made token is stored as its hash" "$(sha256 "$API_TOKEN")" \
    "$(h_psql "SELECT encode(token_hash, 'hex') FROM sluice.api_tokens WHERE id = '$API_TOKEN_ID'")"
assert_status "$H_URL/api/v1/tokens" 201 "${AUTH[@]}" -H "Content-Type: application/json" \
    -d '{"name":"by bearer"}'
assert_eq "bearer POST needs no CSRF; no expiry given -> null" null \
    "$(jsq 'd.expires_at === null ? "null" : d.expires_at' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/tokens" 422 "${AUTH[@]}" -H "Content-Type: application/json" \
    -d '{"name":"","expires_days":0,"scope":"all"}'
assert_contains "problem+json" "$(h_header Content-Type)" "application/problem+json"
assert_eq "field errors for name, expires_days, unknown field" "true|true|true" \
    "$(jsq '[!!d.errors.name, !!d.errors.expires_days, !!d.errors.scope].join("|")' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/tokens" 422 "${AUTH[@]}" -H "Content-Type: application/json" \
    -d '{"name":"ci deploy"}'
assert_contains "duplicate name via API" "$(jsq 'd.errors.name' <<< "$H_BODY")" "already"
assert_status "$H_URL/api/v1/tokens" 400 "${AUTH[@]}" -H "Content-Type: application/json" \
    -d '{"name":'
assert_status "$H_URL/api/v1/tokens" 422 "${AUTH[@]}" -H "Content-Type: application/json" \
    -d '["x"]'

# --- revoke and expiry ------------------------------------------------------------------

assert_status "$H_URL/tokens/$API_TOKEN_ID/revoke" 200 -b "$ADMIN_JAR"
assert_contains "confirmation page has a POST form" "$H_BODY" "action=\"/tokens/$API_TOKEN_ID/revoke\""
assert_contains "confirmation asks with data-confirm for JS users" "$H_BODY" "data-confirm="
assert_status "$H_URL/api/v1/audit" 200 -H "Authorization: Bearer $API_TOKEN"
CSRF=$(page_csrf "$ADMIN_JAR")
assert_status "$H_URL/tokens/$API_TOKEN_ID/revoke" 303 -b "$ADMIN_JAR" -c "$ADMIN_JAR" \
    --data-urlencode "_csrf=$CSRF"
assert_eq "revoke redirects to the list" "/tokens" "$(h_header Location)"
assert_status "$H_URL/api/v1/audit" 401 -H "Authorization: Bearer $API_TOKEN"
assert_eq "revoked token is 401 and token.revoke is audited" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'token.revoke'
        AND object_id = '$API_TOKEN_ID' AND details->>'name' = 'from api'")"
assert_status "$H_URL/tokens" 200 -b "$ADMIN_JAR"
assert_contains "flash after revoking" "$H_BODY" "revoked."
assert_contains "revoked status shown" "$H_BODY" ">revoked<"
assert_status "$H_URL/tokens/$API_TOKEN_ID/revoke" 200 -b "$ADMIN_JAR"
assert_contains "confirmation for a revoked token says so" "$H_BODY" "already revoked"

h_psql "UPDATE sluice.api_tokens SET expires_at = now() - interval '1 minute'
    WHERE name = '<b>bold</b>'" > /dev/null
new_token_page "$ADMIN_JAR" "soon expired" 30
EXPIRED_TOKEN=$TOKEN
assert_status "$H_URL/api/v1/audit" 200 -H "Authorization: Bearer $EXPIRED_TOKEN"
h_psql "UPDATE sluice.api_tokens SET expires_at = now() - interval '1 second'
    WHERE name = 'soon expired'" > /dev/null
assert_status "$H_URL/api/v1/audit" 401 -H "Authorization: Bearer $EXPIRED_TOKEN"
assert_status "$H_URL/tokens" 200 -b "$ADMIN_JAR"
assert_contains "expired status shown" "$H_BODY" ">expired<"
# The revoked name is free again; the expired one is not (it is not revoked).
assert_status "$H_URL/api/v1/tokens" 201 "${AUTH[@]}" -H "Content-Type: application/json" \
    -d '{"name":"from api"}'

# --- viewers --------------------------------------------------------------------------

assert_eq "viewer signs in" 303 "$(login "$VIEWER_JAR" viewer@example.com)"
assert_status "$H_URL/tokens" 200 -b "$VIEWER_JAR"
if [[ $H_BODY == *"All tokens"* || $H_BODY == *"ci deploy"* ]]; then
    fail "viewers see only their own tokens"
else
    ok "viewers see only their own tokens"
fi
new_token_page "$VIEWER_JAR" "viewer script" 90
VIEWER_TOKEN=$TOKEN
assert_eq "viewer creates a token on the page" 200 "$H_STATUS"
VAUTH=(-H "Authorization: Bearer $VIEWER_TOKEN")
assert_status "$H_URL/api/v1/audit" 200 "${VAUTH[@]}"
assert_status "$H_URL/api/v1/tokens" 201 "${VAUTH[@]}" -H "Content-Type: application/json" \
    -d '{"name":"viewer second","expires_days":365}'
VIEWER2_ID=$(jsq d.id <<< "$H_BODY")
assert_status "$H_URL/api/v1/tokens/all" 403 "${VAUTH[@]}"
assert_status "$H_URL/api/v1/users" 403 "${VAUTH[@]}"
assert_status "$H_URL/api/v1/tokens" 200 "${VAUTH[@]}"
assert_eq "viewer's API list holds only their tokens" "viewer script,viewer second" \
    "$(jsq 'd.items.map(i => i.name).sort().join(",")' <<< "$H_BODY")"
# `sluice token create` makes the same kind of token.
CLI_TOKEN=$(SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
    "$H_ROOT/bin/sluice" token create --email viewer@example.com --name "from cli" 2> /dev/null || true)
assert_true "sluice token create prints a slu_ token" test "${CLI_TOKEN:0:4}" = slu_
assert_status "$H_URL/api/v1/audit?limit=1" 200 -H "Authorization: Bearer $CLI_TOKEN"
assert_status "$H_URL/tokens" 200 -b "$VIEWER_JAR"
assert_contains "CLI-made token listed on the owner's page" "$H_BODY" "${CLI_TOKEN:0:12}…"
# Someone else's token: 404, not 403.
assert_status "$H_URL/api/v1/tokens/$ADMIN_TOKEN_ID" 404 -X DELETE "${VAUTH[@]}"
assert_status "$H_URL/tokens/$ADMIN_TOKEN_ID/revoke" 404 -b "$VIEWER_JAR"
CSRF=$(page_csrf "$VIEWER_JAR")
assert_status "$H_URL/tokens/$ADMIN_TOKEN_ID/revoke" 404 -b "$VIEWER_JAR" \
    --data-urlencode "_csrf=$CSRF"
assert_eq "admin's token still active" t \
    "$(h_psql "SELECT revoked_at IS NULL FROM sluice.api_tokens WHERE id = '$ADMIN_TOKEN_ID'")"
assert_status "$H_URL/tokens/not-a-uuid/revoke" 404 -b "$VIEWER_JAR"
assert_status "$H_URL/api/v1/tokens/not-a-uuid" 404 -X DELETE "${VAUTH[@]}"
# Admins see and revoke everyone's.
assert_status "$H_URL/api/v1/tokens/all" 200 "${AUTH[@]}"
assert_eq "admin's all-tokens API names the owner" viewer@example.com \
    "$(jsq 'd.items.find(i => i.name === "viewer script").owner_email' <<< "$H_BODY")"
assert_status "$H_URL/tokens" 200 -b "$ADMIN_JAR"
assert_contains "admin page lists other people's tokens with the owner" "$H_BODY" \
    "viewer@example.com"
assert_status "$H_URL/api/v1/tokens/$VIEWER2_ID" 204 -X DELETE "${AUTH[@]}"
assert_eq "admin revoked the viewer's token" f \
    "$(h_psql "SELECT revoked_at IS NULL FROM sluice.api_tokens WHERE id = '$VIEWER2_ID'")"
assert_status "$H_URL/api/v1/tokens/$VIEWER2_ID" 204 -X DELETE "${AUTH[@]}"
VIEWER_TOKEN_ID=$(h_psql "SELECT id FROM sluice.api_tokens WHERE name = 'viewer script'")
assert_status "$H_URL/api/v1/tokens/$VIEWER_TOKEN_ID" 204 -X DELETE "${VAUTH[@]}"
assert_status "$H_URL/api/v1/audit" 401 "${VAUTH[@]}"

# --- audit filters ------------------------------------------------------------------------

h_psql "INSERT INTO sluice.audit_log (at, actor_email, action, object_type, object_id, details)
    VALUES ('2023-02-28 23:59:59+00', 'd@example.com', 'test.date', 't', '0', '{}'),
           ('2023-03-01 00:00:00+00', 'd@example.com', 'test.date', 't', '1', '{}'),
           ('2023-03-01 23:59:59+00', 'd@example.com', 'test.date', 't', '2', '{\"k\": [1, 2]}'),
           ('2023-03-02 00:00:00+00', 'd@example.com', 'test.date', 't', '3', '{}');
    INSERT INTO sluice.audit_log (action, object_type) VALUES ('test.system', 'cron')" > /dev/null

assert_status "$H_URL/api/v1/audit?actor=VIEWER%40EXAMPLE&limit=200" 200 "${AUTH[@]}"
assert_eq "actor filter: case-insensitive substring" "true" \
    "$(jsq 'd.items.length > 0 && d.items.every(i => i.actor_email === "viewer@example.com")' \
        <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?actor=system" 200 "${AUTH[@]}"
assert_eq "actor=system finds rows without an actor" "test.system" \
    "$(jsq 'd.items.map(i => i.action).join(",")' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?action=token.&limit=200" 200 "${AUTH[@]}"
assert_eq "action prefix token. matches token.*" "token.create,token.revoke" \
    "$(jsq '[...new Set(d.items.map(i => i.action))].sort().join(",")' <<< "$H_BODY")"
assert_eq "prefix result count matches the DB" \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action LIKE 'token.%'")" \
    "$(jsq 'd.items.length' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?action=token.revoke" 200 "${AUTH[@]}"
assert_eq "exact action: only that action, every row of it" \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'token.revoke'")|true" \
    "$(jsq 'd.items.length + "|" + d.items.every(i => i.action === "token.revoke")' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?action=token" 200 "${AUTH[@]}"
assert_eq "action without a trailing dot is exact" 0 "$(jsq 'd.items.length' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?action=test.date&from=2023-03-01&to=2023-03-01" 200 "${AUTH[@]}"
assert_eq "date range is inclusive, UTC" "2,1" "$(jsq 'd.items.map(i => i.object_id).join(",")' <<< "$H_BODY")"
assert_eq "RFC 3339 time" "2023-03-01T23:59:59.000Z" "$(jsq 'd.items[0].at' <<< "$H_BODY")"
assert_eq "details is an object" '{"k":[1,2]}' "$(jsq 'd.items[0].details' <<< "$H_BODY")"
assert_eq "item fields" "action,actor_email,actor_id,at,details,id,object_id,object_type,remote_addr,request_id" \
    "$(jsq 'Object.keys(d.items[0]).sort().join(",")' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?action=test.date&from=2023-03-02" 200 "${AUTH[@]}"
assert_eq "from only" "3" "$(jsq 'd.items.map(i => i.object_id).join(",")' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?action=test.date&to=2023-02-28" 200 "${AUTH[@]}"
assert_eq "to only" "0" "$(jsq 'd.items.map(i => i.object_id).join(",")' <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?from=2023-02-30&to=soon&limit=0&cursor=x&before=1&colour=red" \
    422 "${AUTH[@]}"
assert_contains "bad params are problem+json" "$(h_header Content-Type)" "application/problem+json"
assert_eq "per-field errors (before is not the API's)" "before,colour,cursor,from,limit,to" \
    "$(jsq 'Object.keys(d.errors).sort().join(",")' <<< "$H_BODY")"
assert_eq "before is an unknown parameter" "unknown parameter" \
    "$(jsq d.errors.before <<< "$H_BODY")"
assert_status "$H_URL/api/v1/audit?from=2023-03-05&to=2023-03-01" 422 "${AUTH[@]}"
assert_status "$H_URL/api/v1/audit?from=%ZZ" 422 "${AUTH[@]}"
assert_contains "an undecodable value is refused, not ignored" "$H_BODY" '"from"'

assert_status "$H_URL/api/v1/audit?limit=201" 422 "${AUTH[@]}"

assert_status "$H_URL/audit?action=test.date&from=2023-03-01&to=2023-03-01" 200 -b "$VIEWER_JAR"
assert_contains "page shows the compact details" "$H_BODY" "{&quot;k&quot;:[1,2]}"
assert_contains "page keeps the filter values" "$H_BODY" 'value="2023-03-01"'
assert_contains "page shows UTC time" "$H_BODY" "2023-03-01 23:59:59"
assert_eq "page rows" 2 "$(printf '%s' "$H_BODY" | grep -c '<tr data-id=')"
assert_status "$H_URL/audit?from=2023-13-01" 422 -b "$VIEWER_JAR"
assert_contains "bad date on the page is a field error" "$H_BODY" 'id="from-error"'
assert_contains "field is marked invalid" "$H_BODY" 'aria-invalid="true" aria-describedby="from-error"'
assert_status "$H_URL/audit?actor=nobody-at-all" 200 -b "$VIEWER_JAR"
assert_contains "empty state" "$H_BODY" "No audit entries match these filters"
assert_status "$H_URL/audit?actor=system" 200 -b "$VIEWER_JAR"
assert_contains "system actor shown" "$H_BODY" "<em>system</em>"
assert_status "$H_URL/audit" 303
assert_contains "signed-out visitors are sent to sign in" "$(h_header Location)" "/login"

# --- pagination ------------------------------------------------------------------------------

h_psql "INSERT INTO sluice.audit_log (actor_email, action, object_type, object_id)
    SELECT 'pager@example.com', 'test.page', 'n', g::text FROM generate_series(1, 123) g" > /dev/null
want=$(h_psql "SELECT id FROM sluice.audit_log WHERE action = 'test.page' ORDER BY id DESC")

# walk_api URL_WITH_QUERY [curl args]: follow next_cursor until null; WALK_IDS gets
# every item's id (one a line), WALK_PAGES the pages, WALK_SIZES their sizes.
walk_api() {
    local base=$1 url=$1 next
    shift
    WALK_IDS="" WALK_PAGES=0 WALK_SIZES=""
    while :; do
        h_get "$url" "$@"
        if [ "$H_STATUS" != 200 ]; then
            fail "walk: GET ${url#"$H_URL"} -> 200" "got $H_STATUS: ${H_BODY:0:200}"
            break
        fi
        WALK_PAGES=$((WALK_PAGES + 1))
        WALK_IDS+=$(jsq 'd.items.map(i => i.id).join("\n")' <<< "$H_BODY")$'\n'
        WALK_SIZES+="$(jsq 'd.items.length' <<< "$H_BODY") "
        next=$(jsq 'd.next_cursor === null ? "" : d.next_cursor' <<< "$H_BODY")
        [ -n "$next" ] && [ "$WALK_PAGES" -lt 100 ] || break
        url="$base&cursor=$next"
    done
    WALK_IDS=$(printf '%s' "$WALK_IDS" | sed '/^$/d')
}

# API: follow next_cursor until null.
walk_api "$H_URL/api/v1/audit?action=test.page&limit=50" "${AUTH[@]}"
assert_eq "API: 3 pages of 50/50/23" "50 50 23 " "$WALK_SIZES"
assert_eq "API: the cursor walks every row exactly once, newest first" "$want" "$WALK_IDS"
h_get "$H_URL/api/v1/audit?action=test.page&limit=123" "${AUTH[@]}"
assert_eq "API: the last page's next_cursor is null" "123|null" \
    "$(jsq 'd.items.length + "|" + d.next_cursor' <<< "$H_BODY")"
h_get "$H_URL/api/v1/audit?action=test.page&limit=122" "${AUTH[@]}"
LAST=$(jsq d.next_cursor <<< "$H_BODY")
assert_true "next_cursor is opaque and URL-safe" grep -Eq '^[A-Za-z0-9_-]+$' <<< "$LAST"
h_get "$H_URL/api/v1/audit?action=test.page&cursor=$LAST" "${AUTH[@]}"
assert_eq "API: a cursor keeps its place; the default limit applies" \
    "$(tail -n 1 <<< "$want")|null" \
    "$(jsq 'd.items.map(i => i.id).join(",") + "|" + d.next_cursor' <<< "$H_BODY")"
OLDEST=$(tail -n 1 <<< "$want")
FORGED=$(printf 'x%s' "$OLDEST" | base64 -w0 | tr '+/' '-_' | tr -d '=')
for q in "cursor=$OLDEST" "cursor=" "cursor=$LAST%3D" "cursor=$FORGED" "cursor=%ZZ" \
    "before=$OLDEST" "limit=0" "limit=201" "limit=x"; do
    assert_status "$H_URL/api/v1/audit?action=test.page&$q" 422 "${AUTH[@]}"
done

# Page: follow the Older links, which keep the filters.
got="" url="$H_URL/audit?action=test.page" pages=0 links=""
while :; do
    h_get "$url" -b "$VIEWER_JAR"
    [ "$H_STATUS" = 200 ] || break
    pages=$((pages + 1))
    got+=$(printf '%s' "$H_BODY" | sed -n 's/.*<tr data-id="\([0-9]*\)">.*/\1/p')$'\n'
    older=$(printf '%s' "$H_BODY" | sed -n 's/.*<a href="\([^"]*\)" rel="next">Older.*/\1/p' | sed 's/&amp;/\&/g')
    newer=$(printf '%s' "$H_BODY" | sed -n 's/.*<a href="\([^"]*\)" rel="prev">.*/\1/p' | sed 's/&amp;/\&/g')
    links+="$pages:${newer:+newer}:${older:+older} "
    [ -n "$older" ] && [ "$pages" -lt 10 ] || break
    url="$H_URL$older"
done
assert_eq "page: 3 pages" 3 "$pages"
assert_eq "page: Newer/Older links where they belong" "1::older 2:newer:older 3:newer: " "$links"
assert_contains "links keep the filters" "$newer" "action=test.page"
assert_eq "page: Older walks every row exactly once" "$want" "$(printf '%s' "$got" | sed '/^$/d')"
# Back up with Newer from the last page: the middle page again.
h_get "$H_URL$newer" -b "$VIEWER_JAR"
assert_eq "Newer from the last page shows the 50 entries before it" \
    "$(printf '%s\n' "$want" | sed -n '51,100p')" \
    "$(printf '%s' "$H_BODY" | sed -n 's/.*<tr data-id="\([0-9]*\)">.*/\1/p')"

# Tokens: 60 more for the admin and 5 for the viewer; 6 of the admin's share one
# created_at (the id breaks the tie) and 2 sit a microsecond either side of it, so
# cursors must keep full precision.
h_psql "INSERT INTO sluice.api_tokens (user_id, name, token_hash, prefix, created_at)
    SELECT u.id, 'bulk ' || g, decode(md5('bulk' || g), 'hex'), 'slu_bulk' || g,
           CASE WHEN g <= 6 THEN timestamptz '2020-01-01 00:00:00.000001Z'
                WHEN g = 7 THEN timestamptz '2020-01-01 00:00:00Z'
                WHEN g = 8 THEN timestamptz '2020-01-01 00:00:00.000002Z'
                ELSE now() - g * interval '1 hour' END
    FROM sluice.users u, generate_series(1, 60) g WHERE u.email = 'admin@example.com';
    INSERT INTO sluice.api_tokens (user_id, name, token_hash, prefix, created_at)
    SELECT u.id, 'vbulk ' || g, decode(md5('vbulk' || g), 'hex'), 'slu_vbulk' || g,
           timestamptz '2020-01-01 00:00:00.000001Z'
    FROM sluice.users u, generate_series(1, 5) g WHERE u.email = 'viewer@example.com'" \
    > /dev/null
tokens_in_order() { # [EMAIL]: token ids newest first, everyone's without EMAIL
    h_psql "SELECT t.id FROM sluice.api_tokens t JOIN sluice.users u ON u.id = t.user_id
        WHERE '${1:-}' = '' OR u.email = '${1:-}' ORDER BY t.created_at DESC, t.id DESC"
}
ADMIN_N=$(tokens_in_order admin@example.com | wc -l)
ALL_N=$(tokens_in_order | wc -l)
assert_true "the admin has more than 60 tokens" test "$ADMIN_N" -gt 60
walk_api "$H_URL/api/v1/tokens?limit=7" "${AUTH[@]}"
assert_eq "own tokens, limit=7: every one exactly once, newest first" \
    "$(tokens_in_order admin@example.com)" "$WALK_IDS"
assert_eq "own tokens, limit=7: ceil($ADMIN_N / 7) pages" $(((ADMIN_N + 6) / 7)) "$WALK_PAGES"
walk_api "$H_URL/api/v1/tokens?limit=50" "${AUTH[@]}"
assert_eq "own tokens, limit=50: pages of 50 and the rest" "50 $((ADMIN_N - 50)) " "$WALK_SIZES"
walk_api "$H_URL/api/v1/tokens/all?limit=4" "${AUTH[@]}"
assert_eq "all tokens, limit=4: every one exactly once, across owners and ties" \
    "$(tokens_in_order)" "$WALK_IDS"
walk_api "$H_URL/api/v1/tokens/all?limit=200" "${AUTH[@]}"
assert_eq "all tokens, limit=200: one page" "$ALL_N " "$WALK_SIZES"
# A cursor from everyone's list used on one's own list still means "older than that
# token" (the newest token is the viewer's, made by the CLI).
h_get "$H_URL/api/v1/tokens/all?limit=1" "${AUTH[@]}"
assert_eq "the newest token comes first" "$(tokens_in_order | head -n 1)|from cli" \
    "$(jsq 'd.items[0].id + "|" + d.items[0].name' <<< "$H_BODY")"
TCUR=$(jsq d.next_cursor <<< "$H_BODY")
assert_true "token next_cursor is opaque and URL-safe" grep -Eq '^[A-Za-z0-9_-]+$' <<< "$TCUR"
assert_status "$H_URL/api/v1/tokens?cursor=$TCUR&limit=200" 200 "${AUTH[@]}"
assert_eq "own list after the viewer's newest token: the admin's older ones" \
    "$(h_psql "SELECT t.id FROM sluice.api_tokens t, sluice.api_tokens n
        WHERE n.name = 'from cli' AND t.user_id = (SELECT id FROM sluice.users
            WHERE email = 'admin@example.com') AND (t.created_at, t.id) < (n.created_at, n.id)
        ORDER BY t.created_at DESC, t.id DESC")" \
    "$(jsq 'd.items.map(i => i.id).join("\n")' <<< "$H_BODY")"
NEWEST_ID=$(tokens_in_order | head -n 1)
TFORGED=$(printf '2020-02-30T00:00:00Z\n%s' "$NEWEST_ID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
for path in /api/v1/tokens /api/v1/tokens/all; do
    for q in "cursor=$NEWEST_ID" "cursor=nope" "cursor=" "cursor=$TFORGED" "before=$NEWEST_ID" \
        "limit=0" "limit=201" "colour=red"; do
        assert_status "$H_URL$path?$q" 422 "${AUTH[@]}"
    done
done
assert_status "$H_URL/api/v1/tokens?limit=0&cursor=nope&before=x" 422 "${AUTH[@]}"
assert_eq "tokens: an error per bad or undeclared parameter" "before,cursor,limit" \
    "$(jsq 'Object.keys(d.errors).sort().join(",")' <<< "$H_BODY")"
assert_contains "tokens: 422 is problem+json" "$(h_header Content-Type)" "application/problem+json"

h_done
