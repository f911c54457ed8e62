#!/usr/bin/env bash
# test_openapi.sh - GET /api/v1/openapi.json through nginx (200, application/json,
# OpenAPI 3.1.0, the file itself, HEAD, no sign-in needed), the document valid
# OpenAPI 3.1, and the document against the server: a walk through the API
# (users, tokens, audit, sources, destinations, pipelines with ETag/If-Match,
# runs) where every answer's status must be one the operation documents and
# its body must match the documented schema for that status and media type
# (problem+json included), with the documented ETag and Location headers.
#
# The schema checks use Python's jsonschema and openapi-spec-validator; when
# they are missing, those checks are skipped (said so) and the statuses are
# still checked.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up
DOC=$H_ROOT/static/openapi.json

# --- the document itself ----------------------------------------------------------------

assert_status "$H_URL/api/v1/openapi.json" 200
assert_contains "served as JSON" "$(h_header Content-Type)" "application/json"
assert_eq "openapi is 3.1.0" "3.1.0" "$(h_json openapi <<< "$H_BODY" || true)"
assert_true "the body is static/openapi.json byte for byte" cmp -s "$H_TMP/.h_body" "$DOC"
assert_status "$H_URL/api/v1/openapi.json" 200 -I
assert_contains "HEAD is JSON too" "$(h_header Content-Type)" "application/json"
if [[ $H_BODY != *'"openapi"'* ]]; then ok "HEAD has no body"; else fail "HEAD has no body"; fi
assert_status "$H_URL/api/v1/openapi.json" 405 -X POST

PY_OK=0
if python3 -c 'import jsonschema, openapi_spec_validator' 2> /dev/null; then
    PY_OK=1
    if out=$(python3 - "$DOC" 2>&1 << 'EOF'
import json, sys
from openapi_spec_validator import validate
validate(json.load(open(sys.argv[1])))
EOF
    ); then
        ok "the document is valid OpenAPI 3.1 (openapi-spec-validator)"
    else
        fail "the document is valid OpenAPI 3.1 (openapi-spec-validator)" "$(tail -n 5 <<< "$out")"
    fi
else
    ok "# skip: python3 jsonschema / openapi-spec-validator not installed; schemas unchecked"
fi

# expect WANT METHOD TEMPLATE: the last answer had status WANT, and (with Python) it
# matches what the document says about TEMPLATE's METHOD answering WANT.
expect() {
    local want=$1 method=$2 tmpl=$3 name out
    name="$method $tmpl -> $want"
    if [ "$H_STATUS" != "$want" ]; then
        fail "$name" "got $H_STATUS: $(head -c 300 <<< "$H_BODY")"
        return 0
    fi
    if [ "$PY_OK" = 0 ]; then
        ok "$name"
        return 0
    fi
    printf '%s\n' "$H_HEADERS" > "$H_TMP/.contract_headers"
    if out=$(python3 "$H_ROOT/tests/lib/contract.py" "$DOC" "$method" "$tmpl" "$H_STATUS" \
        "$H_TMP/.h_body" "$H_TMP/.contract_headers" 2>&1); then
        ok "$name (matches the document)"
    else
        fail "$name (matches the document)" "$(tail -n 3 <<< "$out")"
    fi
}

# api TOKEN METHOD PATH [JSON] [curl args...] (JSON: any first argument not starting with -)
api() {
    local tok=$1 method=$2 path=$3 args=()
    shift 3
    if [ $# -ge 1 ] && [[ $1 != -* ]]; then
        args=(-H 'Content-Type: application/json' --data-binary "$1")
        shift
    fi
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $tok" ${args[@]+"${args[@]}"} "$@"
}
jv() { h_json "$1" <<< "$H_BODY" || true; }

# walk TOKEN TEMPLATE PATH_WITH_QUERY: follow next_cursor from PATH until null, each page
# checked against TEMPLATE's documented 200; WALK_IDS gets every item id, one a line.
walk() {
    local tok=$1 tmpl=$2 path=$3 next pages=0
    WALK_IDS=""
    while :; do
        api "$tok" GET "$path${next:+&cursor=$next}"
        expect 200 GET "$tmpl"
        [ "$H_STATUS" = 200 ] || break
        pages=$((pages + 1))
        WALK_IDS+=$(node -e 'for (const i of JSON.parse(require("fs").readFileSync(0, "utf8"))
            .items) console.log(i.id)' <<< "$H_BODY")$'\n'
        next=$(jv next_cursor)
        [ "$next" != null ] && [ "$pages" -lt 50 ] || break
    done
    WALK_IDS=$(sed '/^$/d' <<< "$WALK_IDS")
}

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@"
}
printf '%s\n' 'admin-pass-9876' | sluice_cli user add --email admin@example.com --role admin \
    --name Admin > /dev/null
T=$(sluice_cli token create --email admin@example.com --name contract 2> /dev/null)
assert_true "a token from the CLI" test "${T:0:4}" = slu_

# --- meta, users, tokens, audit ---------------------------------------------------------

h_get "$H_URL/healthz"
expect 200 GET /healthz
h_get "$H_URL/api/v1/me"
expect 401 GET /api/v1/me
api "$T" GET /api/v1/me
expect 200 GET /api/v1/me
ME=$(jv id)
api "$T" GET /api/v1/users
expect 200 GET /api/v1/users
api "$T" GET "/api/v1/users?limit=0"
expect 422 GET /api/v1/users
api "$T" GET "/api/v1/users?after=$ME"
expect 422 GET /api/v1/users
api "$T" GET "/api/v1/users?cursor=$ME"
expect 422 GET /api/v1/users
h_psql "INSERT INTO sluice.users (email) VALUES ('u1@example.com'), ('u2@example.com')" \
    > /dev/null
walk "$T" /api/v1/users "/api/v1/users?limit=1"
assert_eq "users: next_cursor walks every user once, newest first" \
    "$(h_psql "SELECT id FROM sluice.users ORDER BY created_at DESC, id DESC")" "$WALK_IDS"
api "$T" GET "/api/v1/users/$ME"
expect 200 GET "/api/v1/users/{id}"
api "$T" GET /api/v1/users/not-a-uuid
expect 404 GET "/api/v1/users/{id}"

api "$T" POST /api/v1/tokens '{"name": "contract-2", "expires_days": 30}'
expect 201 POST /api/v1/tokens
TOK_ID=$(jv id)
api "$T" POST /api/v1/tokens '{"name": ""}'
expect 422 POST /api/v1/tokens
h_get "$H_URL/api/v1/tokens" -H "Authorization: Bearer $T" -H 'Content-Type: text/plain' \
    --data-binary '{"name": "x"}'
expect 415 POST /api/v1/tokens
api "$T" POST /api/v1/tokens '{"name": '
expect 400 POST /api/v1/tokens
api "$T" GET /api/v1/tokens
expect 200 GET /api/v1/tokens
api "$T" GET "/api/v1/tokens?bogus=1"
expect 422 GET /api/v1/tokens
api "$T" GET "/api/v1/tokens?before=$TOK_ID"
expect 422 GET /api/v1/tokens
walk "$T" /api/v1/tokens "/api/v1/tokens?limit=1"
assert_eq "tokens: next_cursor walks every token once, newest first" \
    "$(h_psql "SELECT id FROM sluice.api_tokens ORDER BY created_at DESC, id DESC")" "$WALK_IDS"
api "$T" GET /api/v1/tokens/all
expect 200 GET /api/v1/tokens/all
walk "$T" /api/v1/tokens/all "/api/v1/tokens/all?limit=1"
assert_eq "all tokens: next_cursor walks every token once" \
    "$(h_psql "SELECT id FROM sluice.api_tokens ORDER BY created_at DESC, id DESC")" "$WALK_IDS"
api "$T" GET "/api/v1/tokens/all?cursor=x"
expect 422 GET /api/v1/tokens/all
api "$T" DELETE "/api/v1/tokens/$TOK_ID"
expect 204 DELETE "/api/v1/tokens/{id}"
api "$T" DELETE /api/v1/tokens/00000000-0000-0000-0000-000000000000
expect 404 DELETE "/api/v1/tokens/{id}"
api "$T" GET "/api/v1/audit?limit=5&action=token."
expect 200 GET /api/v1/audit
api "$T" GET "/api/v1/audit?from=2024-02-30"
expect 422 GET /api/v1/audit
api "$T" GET "/api/v1/audit?before=1"
expect 422 GET /api/v1/audit
walk "$T" /api/v1/audit "/api/v1/audit?action=token.&limit=1"
assert_eq "audit: next_cursor walks every matching entry once, newest first" \
    "$(h_psql "SELECT id FROM sluice.audit_log WHERE action LIKE 'token.%' ORDER BY id DESC")" \
    "$WALK_IDS"

# --- sources and destinations -----------------------------------------------------------

SRC_URL=$(h_createdb src)
SRC_DB=${SRC_URL##*/}
h_psql "CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id bigint PRIMARY KEY, total numeric(12,2),
        updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE shop.customers (id int PRIMARY KEY, name text, created_at timestamptz);
    INSERT INTO shop.orders SELECT g, g, now() FROM generate_series(1, 20) g;" \
    "$SRC_URL" > /dev/null
DST_URL=$(h_createdb dst)
DST_DB=${DST_URL##*/}
conn() { # NAME TYPE DB [extra members]
    printf '{"name": "%s", "type": "%s", "host": "127.0.0.1", "port": %s, "database": "%s",
        "user": "sluice", "password": "not-needed-5e1f"%s}' "$1" "$2" "$H_PG_PORT" "$3" "${4:-}"
}

api "$T" POST /api/v1/sources "$(conn shop postgresql "$SRC_DB" ', "schema_include": ["shop"]')"
expect 201 POST /api/v1/sources
SRC=$(jv id)
api "$T" POST /api/v1/sources '{"name": "", "type": "mongodb", "id": "x"}'
expect 422 POST /api/v1/sources
api "$T" GET /api/v1/sources
expect 200 GET /api/v1/sources
api "$T" GET "/api/v1/sources?cursor=%%%"
expect 422 GET /api/v1/sources
api "$T" GET "/api/v1/sources/$SRC"
expect 200 GET "/api/v1/sources/{id}"
api "$T" PATCH "/api/v1/sources/$SRC" '{"table_filters": ["orders*", "cust*"]}'
expect 200 PATCH "/api/v1/sources/{id}"
api "$T" PUT "/api/v1/sources/$SRC" \
    "$(conn shop postgresql "$SRC_DB" ', "schema_include": ["shop"], "sync_method": "auto"')"
expect 200 PUT "/api/v1/sources/{id}"
api "$T" PUT "/api/v1/sources/$SRC" '{"name": "shop"}'
expect 422 PUT "/api/v1/sources/{id}"
api "$T" POST "/api/v1/sources/$SRC/test"
expect 200 POST "/api/v1/sources/{id}/test"
assert_eq "the source connects" true "$(jv ok)"
api "$T" GET "/api/v1/sources/$SRC/discover"
expect 200 GET "/api/v1/sources/{id}/discover"
api "$T" GET /api/v1/sources/00000000-0000-0000-0000-000000000000/discover
expect 404 GET "/api/v1/sources/{id}/discover"

api "$T" POST /api/v1/destinations "$(conn warehouse postgresql "$DST_DB")"
expect 201 POST /api/v1/destinations
DST=$(jv id)
api "$T" GET /api/v1/destinations
expect 200 GET /api/v1/destinations
api "$T" GET "/api/v1/destinations/$DST"
expect 200 GET "/api/v1/destinations/{id}"
api "$T" PATCH "/api/v1/destinations/$DST" '{"raw_schema": "1bad", "port": "x"}'
expect 422 PATCH "/api/v1/destinations/{id}"
api "$T" PATCH "/api/v1/destinations/$DST" '{"raw_schema": "raw"}'
expect 200 PATCH "/api/v1/destinations/{id}"
api "$T" PUT "/api/v1/destinations/$DST" "$(conn warehouse postgresql "$DST_DB")"
expect 200 PUT "/api/v1/destinations/{id}"
api "$T" POST "/api/v1/destinations/$DST/test"
expect 200 POST "/api/v1/destinations/{id}/test"

# --- pipelines ----------------------------------------------------------------------------

api "$T" POST /api/v1/pipelines "{\"name\": \"orders\", \"source_id\": \"$SRC\",
    \"schedule\": \"*/15 * * * *\", \"tables\": [{\"source_schema\": \"shop\",
    \"source_table\": \"orders\", \"lookback_seconds\": \"5m\"}]}"
expect 201 POST /api/v1/pipelines
PL=$(jv id)
ETAG=$(h_header ETag)
api "$T" POST /api/v1/pipelines "{\"name\": \"bad\", \"source_id\": \"$SRC\",
    \"schedule\": \"61 * * * *\", \"tables\": [{\"source_table\": \"nope\"}]}"
expect 422 POST /api/v1/pipelines
api "$T" GET /api/v1/pipelines
expect 200 GET /api/v1/pipelines
api "$T" GET "/api/v1/pipelines/$PL"
expect 200 GET "/api/v1/pipelines/{id}"
api "$T" GET "/api/v1/pipelines/$PL/tables"
expect 200 GET "/api/v1/pipelines/{id}/tables"
api "$T" PATCH "/api/v1/pipelines/$PL" '{"max_retries": 5}'
expect 428 PATCH "/api/v1/pipelines/{id}"
api "$T" PATCH "/api/v1/pipelines/$PL" '{"max_retries": 5}' -H 'If-Match: "1-stale"'
expect 412 PATCH "/api/v1/pipelines/{id}"
api "$T" PATCH "/api/v1/pipelines/$PL" '{"max_retries": 5, "message": "more retries"}' \
    -H "If-Match: $ETAG"
expect 200 PATCH "/api/v1/pipelines/{id}"
ETAG=$(h_header ETag)
api "$T" PUT "/api/v1/pipelines/$PL/tables" '[{"source_schema": "shop",
    "source_table": "orders"}, {"source_schema": "shop", "source_table": "customers",
    "sync_mode": "full_refresh"}]' -H "If-Match: $ETAG"
expect 200 PUT "/api/v1/pipelines/{id}/tables"
ETAG=$(h_header ETag)
api "$T" PUT "/api/v1/pipelines/$PL" "{\"name\": \"orders\", \"source_id\": \"$SRC\",
    \"destination_id\": \"$DST\", \"timeout_seconds\": 600}" -H "If-Match: $ETAG"
expect 200 PUT "/api/v1/pipelines/{id}"
ETAG=$(h_header ETag)
api "$T" GET "/api/v1/pipelines/$PL/versions?limit=2"
expect 200 GET "/api/v1/pipelines/{id}/versions"
api "$T" GET "/api/v1/pipelines/$PL/versions/1"
expect 200 GET "/api/v1/pipelines/{id}/versions/{n}"
api "$T" GET "/api/v1/pipelines/$PL/versions/99"
expect 404 GET "/api/v1/pipelines/{id}/versions/{n}"
api "$T" POST "/api/v1/pipelines/$PL/rollback" '{"version": 99}' -H "If-Match: $ETAG"
expect 422 POST "/api/v1/pipelines/{id}/rollback"
api "$T" POST "/api/v1/pipelines/$PL/rollback" '{"version": 1}' -H "If-Match: $ETAG"
expect 200 POST "/api/v1/pipelines/{id}/rollback"
ETAG=$(h_header ETag)
api "$T" POST "/api/v1/pipelines/$PL/pause" -H "If-Match: $ETAG"
expect 200 POST "/api/v1/pipelines/{id}/pause"
ETAG=$(h_header ETag)
api "$T" POST "/api/v1/pipelines/$PL/resume" '{"message": "back on"}' -H "If-Match: $ETAG"
expect 200 POST "/api/v1/pipelines/{id}/resume"
ETAG=$(h_header ETag)

# --- runs --------------------------------------------------------------------------------

api "$T" POST "/api/v1/pipelines/$PL/runs" '{"mode": "backfill"}'
expect 422 POST "/api/v1/pipelines/{id}/runs"
api "$T" POST "/api/v1/pipelines/$PL/runs"
expect 202 POST "/api/v1/pipelines/{id}/runs"
RUN=$(jv id)
api "$T" GET "/api/v1/runs?pipeline=$PL&limit=10"
expect 200 GET /api/v1/runs
api "$T" GET "/api/v1/runs?status=bogus"
expect 422 GET /api/v1/runs
api "$T" GET "/api/v1/runs/$RUN"
expect 200 GET "/api/v1/runs/{id}"
api "$T" GET /api/v1/runs/abc
expect 404 GET "/api/v1/runs/{id}"
api "$T" GET "/api/v1/runs/$RUN/logs?level=info"
expect 200 GET "/api/v1/runs/{id}/logs"
api "$T" POST "/api/v1/runs/$RUN/retry-dead-letters"
expect 409 POST "/api/v1/runs/{id}/retry-dead-letters"
api "$T" POST "/api/v1/runs/$RUN/cancel"
expect 200 POST "/api/v1/runs/{id}/cancel"
api "$T" POST "/api/v1/runs/$RUN/cancel"
expect 200 POST "/api/v1/runs/{id}/cancel"
assert_eq "cancelling twice is still cancelled" cancelled "$(jv status)"

# --- deletes -------------------------------------------------------------------------------

api "$T" DELETE "/api/v1/sources/$SRC"
expect 409 DELETE "/api/v1/sources/{id}"
api "$T" DELETE "/api/v1/pipelines/$PL"
expect 428 DELETE "/api/v1/pipelines/{id}"
api "$T" DELETE "/api/v1/pipelines/$PL" -H "If-Match: $ETAG"
expect 204 DELETE "/api/v1/pipelines/{id}"
api "$T" DELETE "/api/v1/destinations/$DST"
expect 409 DELETE "/api/v1/destinations/{id}"

h_done
