#!/usr/bin/env bash
# test_sources.sh - Sources and Destinations, through nginx, against the
# harness's PostgreSQL and a throwaway MariaDB: CRUD over HTML forms (cookie
# jars) and the JSON API (bearer tokens); validation naming each field;
# test connection success and failure (wrong password, closed port, unknown
# host) with the connector's message on the page and in JSON; discovery with
# schema lists and globs; passwords sealed (sb1:) and never in a response,
# page, audit row or log line; viewers read but change nothing; exactly one
# default destination; deletes refused while pipelines use a row; keyset
# pagination; `sluice destination add-local` and the stack's first-start hook.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

# Keep every response (headers and body), to check at the end that no
# password ever left the server.
eval "$(declare -f h_get | sed '1s/^h_get/_h_get_raw/')"
h_get() {
    _h_get_raw "$@"
    { printf '%s\n' "$H_HEADERS"; printf '%s\n' "$H_BODY"; } >> "$H_TMP/responses.log"
}

h_stack_up
h_mariadb_start

ADMIN_PW='admin-pass-1234'
ED_PW='editor-pass-5678'
V_PW='viewer-pass-4321'
PG_PW='Pg-Src-S3cret-7f3a'        # sent for the PostgreSQL source (trust ignores it)
PG_PW2='Pg-Src-N3w-S3cret-91c2'   # its replacement
WRONG_PW='Wr0ng-Maria-Pass-55e1'  # refused by MariaDB
DEST_PW='Dest-S3cret-Pass-0b7d'
FORM_PW='Typed-In-Failed-Form-c4d2'
SECRETS=("$PG_PW" "$PG_PW2" "$WRONG_PW" "$DEST_PW" "$FORM_PW" "$H_MY_PASSWORD")

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@"
}

for u in admin:admin:$ADMIN_PW editor:editor:$ED_PW viewer:viewer:$V_PW; do
    IFS=: read -r who role pw <<< "$u"
    printf '%s\n' "$pw" | sluice_cli user add --email "$who@example.com" --role "$role" \
        --name "$who" > /dev/null
done
ED_TOKEN=$(sluice_cli token create --email editor@example.com --name tests)
V_TOKEN=$(sluice_cli token create --email viewer@example.com --name tests)
assert_true "tokens made by the CLI" test "${ED_TOKEN:0:4}${V_TOKEN:0:4}" = slu_slu_

JE=$H_TMP/editor.jar
JV=$H_TMP/viewer.jar

csrf_in() {
    printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
        | sed 's/.*value="//; s/"$//'
}
LOGINS=0
login() {
    local jar=$1 tok src
    LOGINS=$((LOGINS + 1))
    src=127.0.2.$LOGINS
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
csrf_of() {
    page "$1" /
    csrf_in
}
# post JAR PATH field=value...: a form post with the jar's CSRF token.
post() {
    local jar=$1 path=$2 tok args=() f
    shift 2
    tok=$(csrf_of "$jar")
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    h_get "$H_URL$path" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" ${args[@]+"${args[@]}"}
}
# api TOKEN METHOD PATH [JSON]
api() {
    local tok=$1 method=$2 path=$3
    if [ $# -ge 4 ]; then
        h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $tok" \
            -H 'Content-Type: application/json' --data-binary "$4"
    else
        h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $tok"
    fi
}
jv() { h_json "$1" <<< "$H_BODY" || true; }
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
count() { grep -o -- "$2" <<< "$1" | wc -l | tr -d ' '; }
loc_id() { h_header Location | grep -o '[0-9a-f-]\{36\}$' || true; }

login "$JE" editor@example.com "$ED_PW"
assert_eq "editor signs in" 303 "$H_STATUS"
login "$JV" viewer@example.com "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# --- data to discover ----------------------------------------------------------------

SRC_URL=$(h_createdb src)
SRC_DB=${SRC_URL##*/}
h_psql "CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id bigint PRIMARY KEY, total numeric(12,2),
        updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE shop.orders_items (order_id bigint, line int, sku text,
        created_at timestamp, PRIMARY KEY (order_id, line));
    CREATE TABLE shop.orders_archive (id bigint PRIMARY KEY, updated_at timestamptz);
    CREATE TABLE shop.orders_notes (note text);
    CREATE TABLE shop.customers (id int PRIMARY KEY, name text);
    CREATE TABLE public.orders_public (id int PRIMARY KEY);
    INSERT INTO shop.orders SELECT g, g, now() FROM generate_series(1, 500) g;
    ANALYZE shop.orders;" "$SRC_URL" > /dev/null
h_mysql "CREATE TABLE orders (id BIGINT PRIMARY KEY, modified_at DATETIME(3) NOT NULL);
    CREATE TABLE orders_2024 (id INT PRIMARY KEY, note VARCHAR(20));
    CREATE TABLE orders_archive (id INT PRIMARY KEY, updated_at DATETIME);
    CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100));"

# --- sources: pages ---------------------------------------------------------------------

page "$JE" /sources
assert_eq "GET /sources -> 200" 200 "$H_STATUS"
assert_contains "empty state" "$H_BODY" "No sources yet."
assert_contains "nav has Sources" "$H_BODY" 'href="/sources" aria-current="page">Sources'
assert_contains "nav has Destinations" "$H_BODY" 'href="/destinations"'

page "$JE" /sources/new
assert_eq "GET /sources/new -> 200" 200 "$H_STATUS"
for f in name type host port database user password ssl_mode schema_include table_filters \
    sync_method; do
    assert_contains "new form labels $f" "$H_BODY" "<label for=\"$f\">"
done
assert_contains "MongoDB offered as not supported" "$H_BODY" 'MongoDB (not supported yet)'

# Everything wrong at once: one message per field, typed values kept.
post "$JE" /sources name= type=mongodb "host=bad host" port=70000 database= user= \
    "password=$FORM_PW" ssl_mode=sometimes "table_filters=[abc" sync_method=often
assert_eq "invalid source form -> 422" 422 "$H_STATUS"
for f in name type host port database user ssl_mode table_filters sync_method; do
    assert_contains "field error for $f" "$H_BODY" "id=\"$f-error\""
done
assert_contains "mongodb refused with the connector's reason" "$H_BODY" \
    "MongoDB sources are not supported yet"
assert_contains "host kept as typed" "$H_BODY" 'value="bad host"'
assert_contains "port kept as typed" "$H_BODY" 'value="70000"'
assert_contains "filters kept as typed" "$H_BODY" '>[abc</textarea>'
assert_contains "aria-invalid on the host" "$H_BODY" \
    'aria-invalid="true" aria-describedby="host-error"'
assert_lacks "typed password not sent back" "$H_BODY" "$FORM_PW"
assert_contains "asked to retype the password" "$H_BODY" "type it again"

post "$JE" /sources "name=Shop PG" type=postgresql host=127.0.0.1 "port=$H_PG_PORT" \
    "database=$SRC_DB" user=sluice "password=$PG_PW" ssl_mode=disable schema_include=shop \
    "table_filters=orders*
!orders_archive" sync_method=auto
assert_eq "create PostgreSQL source -> 303" 303 "$H_STATUS"
PG_ID=$(loc_id)
assert_true "redirects to the new source" test -n "$PG_ID"
page "$JE" "/sources/$PG_ID"
assert_contains "flash after create" "$H_BODY" "Source Shop PG created."
assert_eq "password sealed (sb1:)" sb1: \
    "$(h_psql "SELECT left(password_enc, 4) FROM sluice.sources WHERE id = '$PG_ID'")"
assert_eq "schemas stored" '{shop}' \
    "$(h_psql "SELECT schema_include FROM sluice.sources WHERE id = '$PG_ID'")"
assert_eq "filters stored" '{orders*,!orders_archive}' \
    "$(h_psql "SELECT table_filters FROM sluice.sources WHERE id = '$PG_ID'")"
SEALED1=$(h_psql "SELECT password_enc FROM sluice.sources WHERE id = '$PG_ID'")

post "$JE" /sources "name=shop pg" type=mysql host=db.example port= database=x user=y
assert_eq "duplicate name (any case) -> 422" 422 "$H_STATUS"
assert_contains "says the name is taken" "$H_BODY" "a source with this name already exists"

post "$JE" /sources name=Other type=mysql host=db.example database=x user=y \
    schema_include=public
assert_eq "schemas on a MySQL source -> 422" 422 "$H_STATUS"
assert_contains "schema list is PostgreSQL only" "$H_BODY" "only PostgreSQL sources have schemas"

page "$JE" "/sources/$PG_ID"
assert_eq "source page -> 200" 200 "$H_STATUS"
assert_contains "shows the host" "$H_BODY" "<code>127.0.0.1</code>"
assert_contains "password shown only as stored" "$H_BODY" "stored, encrypted (never shown)"
assert_contains "not tested yet" "$H_BODY" "Not tested yet."
assert_contains "has a Test connection button" "$H_BODY" "action=\"/sources/$PG_ID/test\""
assert_contains "has a Discover link" "$H_BODY" "href=\"/sources/$PG_ID/discover\""
assert_contains "shows the filters" "$H_BODY" "<code>!orders_archive</code>"

post "$JE" "/sources/$PG_ID/test"
assert_eq "POST test -> 303" 303 "$H_STATUS"
assert_eq "back to the source" "/sources/$PG_ID" "$(h_header Location)"
page "$JE" "/sources/$PG_ID"
assert_contains "flash: connected" "$H_BODY" "Connected to Shop PG in"
assert_contains "status badge connected" "$H_BODY" 'data-testid="test-status">connected<'
assert_contains "server version shown" "$H_BODY" 'data-testid="server-version">'
assert_eq "status recorded" connected \
    "$(h_psql "SELECT status FROM sluice.sources WHERE id = '$PG_ID'")"
assert_eq "time and duration recorded" t \
    "$(h_psql "SELECT last_tested_at IS NOT NULL AND last_test_ms >= 0
        AND server_version <> '' FROM sluice.sources WHERE id = '$PG_ID'")"

page "$JE" "/sources/$PG_ID/discover"
assert_eq "discover page -> 200" 200 "$H_STATUS"
assert_contains "lists shop.orders" "$H_BODY" 'data-table="shop.orders"'
assert_contains "lists shop.orders_items" "$H_BODY" 'data-table="shop.orders_items"'
assert_contains "lists shop.orders_notes" "$H_BODY" 'data-table="shop.orders_notes"'
assert_lacks "orders_archive excluded by !" "$H_BODY" 'shop.orders_archive'
assert_lacks "customers left out by orders*" "$H_BODY" 'shop.customers'
assert_lacks "public not in the schema list" "$H_BODY" 'orders_public'
assert_contains "summary counts" "$H_BODY" "5 table(s) found, 3 selected by the table filters"
assert_contains "watermark picked" "$H_BODY" '<code class="watermark">updated_at</code>'
assert_contains "created_at as a watermark" "$H_BODY" '<code class="watermark">created_at</code>'
assert_contains "full refresh without one" "$H_BODY" "full refresh (no watermark column)"
assert_contains "composite primary key" "$H_BODY" "<code>order_id, line</code>"
assert_contains "columns in a details element" "$H_BODY" "<summary>4 columns</summary>"
assert_contains "column types shown" "$H_BODY" "numeric(12,2)"
assert_contains "row estimate shown" "$H_BODY" "<td>500</td>"

page "$JE" "/sources/$PG_ID/edit"
assert_eq "edit form -> 200" 200 "$H_STATUS"
assert_contains "password hint" "$H_BODY" \
    "unchanged — leave blank to keep the stored password"
assert_contains "clear password box" "$H_BODY" 'name="clear_password"'
assert_contains "password field empty" "$H_BODY" \
    'name="password" type="password" autocomplete="new-password" value=""'
assert_contains "filters one per line" "$H_BODY" ">orders*
!orders_archive</textarea>"

SAVE=(type=postgresql host=127.0.0.1 "port=$H_PG_PORT" "database=$SRC_DB" user=sluice
    ssl_mode=disable schema_include=shop "table_filters=orders*, !orders_archive"
    sync_method=incremental)
post "$JE" "/sources/$PG_ID" "name=Shop PG" "${SAVE[@]}" password=
assert_eq "save with a blank password -> 303" 303 "$H_STATUS"
assert_eq "blank password keeps the stored one" "$SEALED1" \
    "$(h_psql "SELECT password_enc FROM sluice.sources WHERE id = '$PG_ID'")"
assert_eq "sync method saved" incremental \
    "$(h_psql "SELECT sync_method FROM sluice.sources WHERE id = '$PG_ID'")"
post "$JE" "/sources/$PG_ID" "name=Shop PG" "${SAVE[@]}" "password=$PG_PW2"
SEALED2=$(h_psql "SELECT password_enc FROM sluice.sources WHERE id = '$PG_ID'")
assert_true "a new password replaces it" test "$SEALED2" != "$SEALED1" -a "${SEALED2:0:4}" = sb1:
post "$JE" "/sources/$PG_ID" "name=Shop PG" "${SAVE[@]}" password=x clear_password=1
assert_eq "new password and clear together -> 422" 422 "$H_STATUS"
assert_contains "says not both" "$H_BODY" "not both"
post "$JE" "/sources/$PG_ID" "name=Shop PG" "${SAVE[@]}" clear_password=1
assert_eq "clear password -> 303" 303 "$H_STATUS"
assert_eq "password cleared" t \
    "$(h_psql "SELECT password_enc IS NULL FROM sluice.sources WHERE id = '$PG_ID'")"
post "$JE" "/sources/$PG_ID" "name=Shop PG" "${SAVE[@]}" "password=$PG_PW2"
post "$JE" "/sources/$PG_ID" "name=Shop PG" type=mysql host=127.0.0.1 database=x user=y \
    schema_include=shop
assert_eq "edit: MySQL with schemas -> 422" 422 "$H_STATUS"
assert_contains "edit keeps the typed type" "$H_BODY" '<option value="mysql" selected>'
assert_eq "nothing saved on 422" postgresql \
    "$(h_psql "SELECT type FROM sluice.sources WHERE id = '$PG_ID'")"

# --- sources: JSON API, MariaDB -------------------------------------------------------------

MY_BODY=$(printf '{"name": "Shop Maria", "type": "mariadb", "host": "127.0.0.1", "port": %s,
    "database": "%s", "user": "%s", "password": "%s", "table_filters": ["orders*",
    "!orders_archive"]}' "$H_MY_PORT" "$H_MY_DB" "$H_MY_USER" "$H_MY_PASSWORD")
api "$ED_TOKEN" POST /api/v1/sources "$MY_BODY"
assert_eq "API create -> 201" 201 "$H_STATUS"
MY_ID=$(jv id)
assert_eq "Location of the new source" "/api/v1/sources/$MY_ID" "$(h_header Location)"
assert_eq "has_password true" true "$(jv has_password)"
assert_lacks "no password member" "$H_BODY" '"password"'
assert_eq "filters echoed" '["orders*","!orders_archive"]' "$(jv table_filters)"
assert_eq "status registered" registered "$(jv status)"
assert_eq "sealed too" sb1: \
    "$(h_psql "SELECT left(password_enc, 4) FROM sluice.sources WHERE id = '$MY_ID'")"

api "$ED_TOKEN" POST "/api/v1/sources/$MY_ID/test"
assert_eq "API test -> 200" 200 "$H_STATUS"
assert_eq "MariaDB connects" true "$(jv ok)"
assert_eq "status connected" connected "$(jv status)"
assert_contains "server version is MariaDB's" "$(jv server_version)" MariaDB
assert_eq "no error" null "$(jv error)"
assert_true "elapsed_ms is a number" test "$(jv elapsed_ms)" -ge 0

api "$ED_TOKEN" GET "/api/v1/sources/$MY_ID/discover"
assert_eq "API discover -> 200" 200 "$H_STATUS"
assert_eq "found 4 tables" 4 "$(jv found)"
assert_eq "selected 2 tables" 2 "$(jv selected)"
assert_eq "first: orders" orders "$(jv tables.0.name)"
assert_eq "orders watermark" modified_at "$(jv tables.0.watermark)"
assert_eq "orders primary key" '["id"]' "$(jv tables.0.primary_key)"
assert_eq "orders sync mode" incremental "$(jv tables.0.sync_mode)"
assert_eq "second: orders_2024" orders_2024 "$(jv tables.1.name)"
assert_eq "no watermark: null" null "$(jv tables.1.watermark)"
assert_eq "no watermark: full refresh" full_refresh "$(jv tables.1.sync_mode)"
assert_eq "column types" varchar\(20\) "$(jv tables.1.columns.1.type)"
assert_lacks "archive excluded" "$H_BODY" orders_archive
assert_lacks "users excluded" "$H_BODY" '"users"'

# Failures, with messages a person can act on.
api "$ED_TOKEN" PATCH "/api/v1/sources/$MY_ID" "{\"password\": \"$WRONG_PW\"}"
assert_eq "PATCH password -> 200" 200 "$H_STATUS"
api "$ED_TOKEN" POST "/api/v1/sources/$MY_ID/test"
assert_eq "wrong password: ok false" false "$(jv ok)"
assert_eq "wrong password: status error" error "$(jv status)"
assert_contains "wrong password: says access denied" "$(jv error)" \
    'access denied for user "sluice": wrong password'
assert_eq "server_version null on failure" null "$(jv server_version)"
post "$JE" "/sources/$MY_ID/test"
page "$JE" "/sources/$MY_ID"
assert_contains "page flash names the failure" "$H_BODY" \
    "Connection to Shop Maria failed: access denied for user &quot;sluice&quot;"
assert_contains "page shows the error text" "$H_BODY" 'data-testid="test-error">access denied'
assert_contains "status badge error" "$H_BODY" 'data-testid="status">error<'
page "$JE" "/sources/$MY_ID/discover"
assert_eq "discover with a bad password is not a 500" 200 "$H_STATUS"
assert_contains "discover shows the connector's message" "$H_BODY" \
    'data-testid="discover-error">access denied for user &quot;sluice&quot;'
api "$ED_TOKEN" GET "/api/v1/sources/$MY_ID/discover"
assert_eq "API discover failure -> 502" 502 "$H_STATUS"
assert_contains "API discover failure message" "$(jv detail)" "access denied"

CLOSED=$(h_free_port)
api "$ED_TOKEN" POST /api/v1/sources "{\"name\": \"Closed\", \"type\": \"mysql\",
    \"host\": \"127.0.0.1\", \"port\": $CLOSED, \"database\": \"d\", \"user\": \"u\"}"
CLOSED_ID=$(jv id)
api "$ED_TOKEN" POST "/api/v1/sources/$CLOSED_ID/test"
assert_eq "closed port: ok false" false "$(jv ok)"
assert_contains "closed port: connection refused" "$(jv error)" \
    "could not connect to 127.0.0.1:$CLOSED: connection refused"
api "$ED_TOKEN" POST /api/v1/sources '{"name": "Nowhere", "type": "postgresql",
    "host": "nohost.invalid", "database": "d", "user": "u"}'
NOHOST_ID=$(jv id)
assert_eq "default port for postgresql" 5432 "$(jv port)"
T0=$(h_now_ms)
api "$ED_TOKEN" POST "/api/v1/sources/$NOHOST_ID/test"
assert_contains "unknown host: could not resolve" "$(jv error)" \
    'could not resolve host "nohost.invalid"'
assert_true "the test is quick (< 8 s)" test $(($(h_now_ms) - T0)) -lt 8000
post "$JE" "/sources/$NOHOST_ID/test"
page "$JE" "/sources/$NOHOST_ID"
assert_contains "unknown host on the page" "$H_BODY" \
    "could not resolve host &quot;nohost.invalid&quot;"

api "$ED_TOKEN" PATCH "/api/v1/sources/$MY_ID" "{\"password\": \"$H_MY_PASSWORD\"}"
api "$ED_TOKEN" PATCH "/api/v1/sources/$MY_ID" '{"sync_method": "full_refresh"}'
assert_eq "PATCH without password keeps it" true "$(jv has_password)"
api "$ED_TOKEN" POST "/api/v1/sources/$MY_ID/test"
assert_eq "connects again with the kept password" true "$(jv ok)"
api "$ED_TOKEN" PATCH "/api/v1/sources/$MY_ID" '{"password": null}'
assert_eq "password null clears it" false "$(jv has_password)"
assert_eq "cleared in the database" t \
    "$(h_psql "SELECT password_enc IS NULL FROM sluice.sources WHERE id = '$MY_ID'")"
api "$ED_TOKEN" PATCH "/api/v1/sources/$MY_ID" "{\"password\": \"$H_MY_PASSWORD\"}"
api "$ED_TOKEN" PATCH "/api/v1/sources/$CLOSED_ID" '{"type": "postgresql"}'
assert_eq "PATCH type keeps an explicit port" "$CLOSED" "$(jv port)"
api "$ED_TOKEN" PATCH "/api/v1/sources/$NOHOST_ID" '{"type": "mysql"}'
assert_eq "PATCH type moves a default port along" 3306 "$(jv port)"

# PUT replaces: optional fields return to their defaults, the password stays.
api "$ED_TOKEN" PUT "/api/v1/sources/$MY_ID" "{\"name\": \"Shop Maria\", \"type\": \"mariadb\",
    \"host\": \"127.0.0.1\", \"port\": $H_MY_PORT, \"database\": \"$H_MY_DB\",
    \"user\": \"$H_MY_USER\"}"
assert_eq "PUT -> 200" 200 "$H_STATUS"
assert_eq "PUT resets filters" '[]' "$(jv table_filters)"
assert_eq "PUT resets sync method" auto "$(jv sync_method)"
assert_eq "PUT keeps the password" true "$(jv has_password)"
api "$ED_TOKEN" PATCH "/api/v1/sources/$MY_ID" '{"table_filters": ["orders*", "!orders_archive"]}'

# Validation, field by field.
api "$ED_TOKEN" POST /api/v1/sources '{}'
assert_eq "empty body -> 422" 422 "$H_STATUS"
for f in name type host database user; do
    assert_true "error for missing $f" test -n "$(jv "errors.$f")"
done
api "$ED_TOKEN" POST /api/v1/sources '{"name": "M", "type": "mongodb", "host": "h",
    "database": "d", "user": "u", "colour": "red", "status": "connected", "port": "5432",
    "schema_include": "public", "table_filters": ["[x"], "sync_method": 1}'
assert_eq "bad body -> 422" 422 "$H_STATUS"
assert_contains "mongodb not supported yet" "$(jv errors.type)" "not supported yet"
assert_eq "unknown field" "unknown field" "$(jv errors.colour)"
assert_eq "read-only field" "is read-only" "$(jv errors.status)"
assert_contains "port must be an integer" "$(jv errors.port)" "integer"
assert_eq "schemas must be an array" "must be an array of strings" "$(jv errors.schema_include)"
assert_eq "sync_method must be a string" "must be a string" "$(jv errors.sync_method)"
assert_eq "problem+json" application/problem+json "$(h_header Content-Type)"
api "$ED_TOKEN" POST /api/v1/sources '{"name": "M", "type": "mysql", "host": "h",
    "database": "d", "user": "u", "port": 0, "table_filters": ["[x", "!"],
    "ssl_mode": "always", "sync_method": "sometimes"}'
assert_contains "port range" "$(jv errors.port)" "1 to 65535"
assert_contains "unclosed bracket" "$(jv errors.table_filters)" "without a closing"
assert_contains "ssl mode" "$(jv errors.ssl_mode)" "verify-full"
assert_contains "sync method" "$(jv errors.sync_method)" "full_refresh"
api "$ED_TOKEN" POST /api/v1/sources '{"name": "shop maria", "type": "mysql", "host": "h",
    "database": "d", "user": "u"}'
assert_contains "API duplicate name" "$(jv errors.name)" "already exists"
api "$ED_TOKEN" POST /api/v1/sources 'not json'
assert_eq "not JSON -> 400" 400 "$H_STATUS"
api "$ED_TOKEN" POST /api/v1/sources '[1]'
assert_eq "not an object -> 422" 422 "$H_STATUS"
api "$ED_TOKEN" GET /api/v1/sources/00000000-0000-4000-8000-000000000000
assert_eq "unknown id -> 404" 404 "$H_STATUS"
api "$ED_TOKEN" GET /api/v1/sources/not-a-uuid
assert_eq "malformed id -> 404" 404 "$H_STATUS"
page "$JE" /sources/not-a-uuid
assert_eq "malformed id page -> 404" 404 "$H_STATUS"

# Keyset pagination: 7 sources now, pages of 3.
for n in alpha bravo charlie; do
    api "$ED_TOKEN" POST /api/v1/sources "{\"name\": \"P $n\", \"type\": \"mysql\",
        \"host\": \"h\", \"database\": \"d\", \"user\": \"u\"}"
done
TOTAL=$(h_psql "SELECT count(*) FROM sluice.sources")
assert_eq "7 sources" 7 "$TOTAL"
NAMES="" CURSOR="" PAGES=0
while :; do
    api "$V_TOKEN" GET "/api/v1/sources?limit=3${CURSOR:+&cursor=$CURSOR}"
    [ "$H_STATUS" = 200 ] || break
    PAGES=$((PAGES + 1))
    NAMES+=$(node -e 'for (const s of JSON.parse(require("fs").readFileSync(0)).items)
        process.stdout.write(s.name + "|")' <<< "$H_BODY")
    CURSOR=$(jv next_cursor)
    [ "$CURSOR" != null ] && [ "$PAGES" -lt 10 ] || break
done
assert_eq "3 pages of 3" 3 "$PAGES"
assert_eq "every source once, by name" \
    "Closed|Nowhere|P alpha|P bravo|P charlie|Shop Maria|Shop PG|" "$NAMES"
api "$V_TOKEN" GET "/api/v1/sources?limit=0"
assert_eq "limit 0 -> 422" 422 "$H_STATUS"
api "$V_TOKEN" GET "/api/v1/sources?limit=201"
assert_eq "limit 201 -> 422" 422 "$H_STATUS"
api "$V_TOKEN" GET "/api/v1/sources?cursor=bogus"
assert_eq "bad cursor -> 422" 422 "$H_STATUS"
assert_contains "names the cursor" "$(jv errors.cursor)" "cursor"
api "$V_TOKEN" GET "/api/v1/sources?colour=red"
assert_eq "undeclared parameter -> 422" 422 "$H_STATUS"
api "$V_TOKEN" GET "/api/v1/sources"
assert_eq "default page holds all 7" 7 "$(node -e 'process.stdout.write(String(JSON.parse(
    require("fs").readFileSync(0)).items.length))' <<< "$H_BODY")"
assert_eq "no next cursor" null "$(jv next_cursor)"
page "$JE" /sources
assert_contains "list shows the endpoint" "$H_BODY" "<code>127.0.0.1:$H_PG_PORT/$SRC_DB</code>"
assert_contains "list shows status badges" "$H_BODY" \
    '<span class="badge badge-ok">connected</span>'
assert_contains "list shows last tested" "$H_BODY" '<time datetime="'

# Page list: 50 a page, keyset links both ways (rows made directly; removed after).
h_psql "INSERT INTO sluice.sources (name, type, host, port, database, username)
    SELECT 'Z bulk ' || lpad(g::text, 2, '0'), 'mysql', 'h', 3306, 'd', 'u'
    FROM generate_series(1, 50) g" > /dev/null
page "$JE" /sources
assert_eq "first page holds 50" 50 "$(count "$H_BODY" '<td><a href="/sources/')"
assert_lacks "no Previous on the first page" "$H_BODY" 'rel="prev"'
NEXT=$(grep -o 'href="/sources?after=[^"]*"' <<< "$H_BODY" | sed 's/^href="//; s/"$//')
assert_true "a Next link" test -n "$NEXT"
page "$JE" "$NEXT"
assert_eq "second page holds the other 7" 7 "$(count "$H_BODY" '<td><a href="/sources/')"
assert_contains "second page ends with the last name" "$H_BODY" "Z bulk 50"
assert_lacks "no Next on the last page" "$H_BODY" 'rel="next"'
PREV=$(grep -o 'href="/sources?before=[^"]*"' <<< "$H_BODY" | sed 's/^href="//; s/"$//')
page "$JE" "$PREV"
assert_eq "Previous gives 50 again" 50 "$(count "$H_BODY" '<td><a href="/sources/')"
assert_contains "starting from the first name" "$(grep -o '<td><a href="/sources/[^<]*' \
    <<< "$H_BODY" | head -n 1)" ">Closed"
page "$JE" "/sources?after=garbage"
assert_eq "a malformed page link -> 400" 400 "$H_STATUS"
h_psql "DELETE FROM sluice.sources WHERE name LIKE 'Z bulk %'" > /dev/null

# --- destinations ------------------------------------------------------------------------------

WH_URL=$(h_createdb wh)
WH_DB=${WH_URL##*/}
page "$JE" /destinations
assert_contains "destinations empty state" "$H_BODY" "No destinations yet."
page "$JE" /destinations/new
assert_contains "raw schema default" "$H_BODY" \
    'name="raw_schema" type="text" autocomplete="off" maxlength="63" value="staging"'
assert_contains "target schema default" "$H_BODY" 'value="analytics"'
post "$JE" /destinations name=Bad type=mariadb host=h database=d user=u raw_schema=bad-name \
    target_schema=
assert_eq "invalid destination -> 422" 422 "$H_STATUS"
assert_contains "mariadb cannot be a destination" "$H_BODY" "MariaDB cannot be a destination"
assert_contains "raw schema error" "$H_BODY" 'id="raw_schema-error"'
post "$JE" /destinations name=Bad type=postgresql host=h database=d user=u raw_schema=same \
    target_schema=same
assert_contains "schemas must differ" "$H_BODY" "must differ from the raw schema"

post "$JE" /destinations "name=Warehouse A" type=postgresql host=127.0.0.1 "port=$H_PG_PORT" \
    "database=$WH_DB" user=sluice "password=$DEST_PW" ssl_mode=disable raw_schema=staging \
    target_schema=analytics
assert_eq "create destination -> 303" 303 "$H_STATUS"
A_ID=$(loc_id)
assert_eq "the first destination is the default" t \
    "$(h_psql "SELECT is_default FROM sluice.destinations WHERE id = '$A_ID'")"
page "$JE" "/destinations/$A_ID"
assert_contains "flash says default" "$H_BODY" "created as the default"
assert_contains "default badge" "$H_BODY" "default destination"
post "$JE" "/destinations/$A_ID/test"
page "$JE" "/destinations/$A_ID"
assert_contains "destination connects" "$H_BODY" "Connected to Warehouse A in"
api "$ED_TOKEN" POST "/api/v1/destinations/$A_ID/test"
assert_eq "API destination test" true "$(jv ok)"
page "$JE" "/destinations/$A_ID/edit"
assert_contains "the default's box is fixed" "$H_BODY" 'checked disabled'
assert_contains "and says how to change it" "$H_BODY" "make another destination the default"

api "$ED_TOKEN" POST /api/v1/destinations "{\"name\": \"Warehouse B\", \"type\": \"clickhouse\",
    \"host\": \"127.0.0.1\", \"database\": \"default\", \"user\": \"default\",
    \"default\": false}"
assert_eq "API create destination -> 201" 201 "$H_STATUS"
B_ID=$(jv id)
assert_eq "clickhouse default port" 8123 "$(jv port)"
assert_eq "B is not the default" false "$(jv default)"
assert_eq "raw schema default" staging "$(jv raw_schema)"
api "$ED_TOKEN" POST /api/v1/destinations "{\"name\": \"Warehouse C\", \"type\": \"postgresql\",
    \"host\": \"127.0.0.1\", \"port\": $H_PG_PORT, \"database\": \"$WH_DB\", \"user\": \"sluice\",
    \"password\": \"$DEST_PW\", \"default\": true, \"target_schema\": \"marts\"}"
C_ID=$(jv id)
assert_eq "C is the default" true "$(jv default)"
assert_eq "exactly one default" "1|$C_ID" \
    "$(h_psql "SELECT count(*) || '|' || max(id::text) FROM sluice.destinations WHERE is_default")"
api "$ED_TOKEN" PATCH "/api/v1/destinations/$C_ID" '{"default": false}'
assert_eq "unsetting the default -> 422" 422 "$H_STATUS"
assert_contains "says make another the default" "$(jv errors.default)" \
    "make another destination the default"
api "$ED_TOKEN" DELETE "/api/v1/destinations/$C_ID"
assert_eq "deleting the default -> 409" 409 "$H_STATUS"
assert_contains "says make another default first" "$(jv detail)" \
    "Make another destination the default first"
page "$JE" "/destinations/$C_ID/delete"
assert_contains "delete page refuses the default" "$H_BODY" \
    "Make another destination the default first"
post "$JE" "/destinations/$A_ID/default"
assert_eq "make default -> 303" 303 "$H_STATUS"
assert_eq "A is the default again, alone" "1|$A_ID" \
    "$(h_psql "SELECT count(*) || '|' || max(id::text) FROM sluice.destinations WHERE is_default")"
api "$ED_TOKEN" PATCH "/api/v1/destinations/$B_ID" '{"default": true, "raw_schema": "raw"}'
assert_eq "PATCH default true moves it" "1|$B_ID" \
    "$(h_psql "SELECT count(*) || '|' || max(id::text) FROM sluice.destinations WHERE is_default")"
assert_eq "and changes the schema" raw "$(jv raw_schema)"
post "$JE" "/destinations/$A_ID" "name=Warehouse A" type=postgresql host=127.0.0.1 \
    "port=$H_PG_PORT" "database=$WH_DB" user=sluice ssl_mode=disable raw_schema=staging \
    target_schema=analytics default=1
assert_eq "form: tick default -> 303" 303 "$H_STATUS"
assert_eq "form moved the default to A" "1|$A_ID" \
    "$(h_psql "SELECT count(*) || '|' || max(id::text) FROM sluice.destinations WHERE is_default")"
assert_eq "blank password kept on edit" sb1: \
    "$(h_psql "SELECT left(password_enc, 4) FROM sluice.destinations WHERE id = '$A_ID'")"
api "$ED_TOKEN" DELETE "/api/v1/destinations/$C_ID"
assert_eq "C deleted once not the default -> 204" 204 "$H_STATUS"
api "$V_TOKEN" GET /api/v1/destinations
assert_eq "two destinations listed" "Warehouse A|Warehouse B|" \
    "$(node -e 'for (const s of JSON.parse(require("fs").readFileSync(0)).items)
        process.stdout.write(s.name + "|")' <<< "$H_BODY")"
assert_lacks "destination API omits passwords" "$H_BODY" '"password"'
page "$JV" /destinations
assert_contains "list marks the default" "$H_BODY" 'data-testid="default">default<'

# --- pipelines hold on to sources and destinations -------------------------------------------

h_psql "INSERT INTO sluice.pipelines (name, source_id, destination_id)
    VALUES ('nightly orders', '$PG_ID', '$B_ID')" > /dev/null
page "$JE" "/sources/$PG_ID/delete"
assert_contains "delete page names the pipeline" "$H_BODY" \
    "This source is used by 1 pipeline (nightly orders)"
assert_lacks "no delete button then" "$H_BODY" "Delete source</button>"
post "$JE" "/sources/$PG_ID/delete"
assert_eq "deleting a used source -> 409" 409 "$H_STATUS"
api "$ED_TOKEN" DELETE "/api/v1/sources/$PG_ID"
assert_eq "API delete of a used source -> 409" 409 "$H_STATUS"
assert_contains "API says why" "$(jv detail)" "used by 1 pipeline (nightly orders)"
api "$ED_TOKEN" DELETE "/api/v1/destinations/$B_ID"
assert_eq "API delete of a used destination -> 409" 409 "$H_STATUS"
assert_contains "destination refusal names it" "$(jv detail)" "nightly orders"
assert_eq "both still there" 2 "$(h_psql "SELECT (SELECT count(*) FROM sluice.sources
    WHERE id = '$PG_ID') + (SELECT count(*) FROM sluice.destinations WHERE id = '$B_ID')")"
h_psql "DELETE FROM sluice.pipelines" > /dev/null

# --- viewers read, and change nothing ----------------------------------------------------------

page "$JV" /sources
assert_eq "viewer lists sources" 200 "$H_STATUS"
assert_lacks "no New source button for viewers" "$H_BODY" 'href="/sources/new"'
page "$JV" "/sources/$PG_ID"
assert_eq "viewer sees a source" 200 "$H_STATUS"
assert_lacks "no Test button for viewers" "$H_BODY" "/test"
assert_lacks "no Edit link for viewers" "$H_BODY" "/edit"
page "$JV" "/destinations/$A_ID"
assert_eq "viewer sees a destination" 200 "$H_STATUS"
api "$V_TOKEN" GET "/api/v1/sources/$PG_ID"
assert_eq "viewer API get" 200 "$H_STATUS"
BEFORE=$(h_psql "SELECT md5(string_agg(s::text, ',' ORDER BY id)) FROM sluice.sources s")
BEFORE_D=$(h_psql "SELECT md5(string_agg(d::text, ',' ORDER BY id)) FROM sluice.destinations d")
for p in /sources "/sources/$PG_ID" "/sources/$PG_ID/delete" "/sources/$PG_ID/test" \
    /destinations "/destinations/$B_ID" "/destinations/$B_ID/delete" \
    "/destinations/$B_ID/default" "/destinations/$B_ID/test"; do
    post "$JV" "$p" name=x type=mysql host=h database=d user=u
    assert_eq "viewer POST $p -> 403" 403 "$H_STATUS"
done
for p in /sources/new "/sources/$PG_ID/edit" "/sources/$PG_ID/discover" /destinations/new; do
    page "$JV" "$p"
    assert_eq "viewer GET $p -> 403" 403 "$H_STATUS"
done
for r in sources destinations; do
    id=$PG_ID
    [ "$r" = sources ] || id=$B_ID
    api "$V_TOKEN" POST "/api/v1/$r" '{"name": "x"}'
    assert_eq "viewer API POST $r -> 403" 403 "$H_STATUS"
    api "$V_TOKEN" PUT "/api/v1/$r/$id" '{"name": "x"}'
    assert_eq "viewer API PUT $r -> 403" 403 "$H_STATUS"
    api "$V_TOKEN" PATCH "/api/v1/$r/$id" '{"name": "x"}'
    assert_eq "viewer API PATCH $r -> 403" 403 "$H_STATUS"
    api "$V_TOKEN" DELETE "/api/v1/$r/$id"
    assert_eq "viewer API DELETE $r -> 403" 403 "$H_STATUS"
    api "$V_TOKEN" POST "/api/v1/$r/$id/test"
    assert_eq "viewer API test $r -> 403" 403 "$H_STATUS"
done
api "$V_TOKEN" GET "/api/v1/sources/$PG_ID/discover"
assert_eq "viewer API discover -> 403" 403 "$H_STATUS"
assert_eq "viewer changed no source" "$BEFORE" \
    "$(h_psql "SELECT md5(string_agg(s::text, ',' ORDER BY id)) FROM sluice.sources s")"
assert_eq "viewer changed no destination" "$BEFORE_D" \
    "$(h_psql "SELECT md5(string_agg(d::text, ',' ORDER BY id)) FROM sluice.destinations d")"

# --- deletes ------------------------------------------------------------------------------------

page "$JE" "/sources/$CLOSED_ID/delete"
assert_contains "confirmation page" "$H_BODY" 'data-confirm="Delete this source?"'
post "$JE" "/sources/$CLOSED_ID/delete"
assert_eq "delete source -> 303" 303 "$H_STATUS"
assert_eq "back to the list" /sources "$(h_header Location)"
api "$ED_TOKEN" GET "/api/v1/sources/$CLOSED_ID"
assert_eq "deleted source -> 404" 404 "$H_STATUS"
api "$ED_TOKEN" DELETE "/api/v1/sources/$NOHOST_ID"
assert_eq "API delete -> 204" 204 "$H_STATUS"
post "$JE" "/destinations/$B_ID/delete"
assert_eq "delete a non-default destination -> 303" 303 "$H_STATUS"
api "$ED_TOKEN" DELETE "/api/v1/destinations/$A_ID"
assert_eq "the last (default) destination may go" 204 "$H_STATUS"
assert_eq "no destinations left" 0 "$(h_psql "SELECT count(*) FROM sluice.destinations")"

# --- audit trail ------------------------------------------------------------------------------

for a in source.create source.update source.delete source.test destination.create \
    destination.update destination.delete destination.test destination.make_default; do
    assert_true "audit has $a" test "$(h_psql "SELECT count(*) FROM sluice.audit_log
        WHERE action = '$a'")" -ge 1
done
assert_eq "a password change is noted, not stored" changed \
    "$(h_psql "SELECT details->>'password' FROM sluice.audit_log WHERE action = 'source.update'
        AND object_id = '$MY_ID' AND details ? 'password' ORDER BY id LIMIT 1")"
assert_contains "failed tests are audited with the message" \
    "$(h_psql "SELECT details->>'error' FROM sluice.audit_log WHERE action = 'source.test'
        AND object_id = '$MY_ID' AND NOT (details->>'ok')::boolean LIMIT 1")" "access denied"

# --- sluice destination add-local ----------------------------------------------------------------

OUT=$(printf '%s\n' "$DEST_PW" | sluice_cli destination add-local --host 127.0.0.1 \
    --port "$H_PG_PORT" --database "$WH_DB" --user sluice 2>&1)
assert_contains "add-local creates" "$OUT" 'created destination "Local warehouse"'
assert_eq "it is the default, sealed" "true|sb1:" \
    "$(h_psql "SELECT is_default || '|' || left(password_enc, 4) FROM sluice.destinations
        WHERE name = 'Local warehouse'")"
OUT=$(printf '%s\n' other | sluice_cli destination add-local --host h --port 1 --database d \
    --user u 2>&1)
assert_contains "add-local twice does nothing" "$OUT" "nothing to do"
assert_eq "still one destination" 1 "$(h_psql "SELECT count(*) FROM sluice.destinations")"
LOCAL_ID=$(h_psql "SELECT id FROM sluice.destinations WHERE name = 'Local warehouse'")
api "$ED_TOKEN" POST "/api/v1/destinations/$LOCAL_ID/test"
assert_eq "the web opens what the CLI sealed" true "$(jv ok)"
set +e
sluice_cli destination add-local --host h --port 99999 --database d --user u < /dev/null \
    > /dev/null 2>&1
RC=$?
set -e
assert_eq "bad port is a usage error" 2 "$RC"
assert_true "audit row from the CLI" test "$(h_psql "SELECT count(*) FROM sluice.audit_log
    WHERE action = 'destination.create' AND actor_email = 'cli'")" -eq 1

# --- secrets never leave ------------------------------------------------------------------------

assert_eq "every stored password is sealed" 0 \
    "$(h_psql "SELECT count(*) FROM (SELECT password_enc FROM sluice.sources UNION ALL
        SELECT password_enc FROM sluice.destinations) p
        WHERE password_enc IS NOT NULL AND password_enc NOT LIKE 'sb1:%'")"
AUDIT=$(h_psql "SELECT string_agg(details::text, ' ') FROM sluice.audit_log")
LOGS=("$H_LOG/web.log" "$H_VAR/log/nginx-error.log" "$H_VAR/log/nginx-access.log"
    "$H_LOG/nginx.log")
assert_true "responses were captured" test -s "$H_TMP/responses.log"
for s in "${SECRETS[@]}"; do
    if grep -qF -- "$s" "$H_TMP/responses.log"; then
        fail "password ${s:0:4}... never in a response" "found in responses.log"
    else
        ok "password ${s:0:4}... never in a response"
    fi
    assert_lacks "password ${s:0:4}... not in the audit trail" "$AUDIT" "$s"
    found=""
    for f in "${LOGS[@]}"; do
        if [ -f "$f" ] && grep -qF -- "$s" "$f"; then found+=" $f"; fi
    done
    assert_eq "password ${s:0:4}... in no log" "" "$found"
done

# --- the stack offers its own database on first start ---------------------------------------

SV=$(mktemp -d /tmp/sluice-sv.XXXXXX)
chmod 0755 "$SV"
h_defer rm -rf "$SV"
SPORT=$(h_free_port)
h_defer env SLUICE_VAR="$SV" "$H_ROOT/scripts/stack.sh" stop
if SLUICE_VAR=$SV SLUICE_HTTP_PORT=$SPORT "$H_ROOT/scripts/stack.sh" start \
        > "$H_TMP/stack.out" 2>&1; then
    ok "stack starts"
    STACK_DB=$(eval "$(SLUICE_VAR=$SV "$H_ROOT/scripts/stack.sh" env)"
        printf '%s\n' "$SLUICE_DATABASE_URL")
    assert_contains "stack says it offered the warehouse" "$(cat "$H_TMP/stack.out")" \
        'default destination "Local warehouse"'
    SPG=$(grep '^SLUICE_PG_PORT=' "$SV/stack.env" | cut -d= -f2)
    assert_eq "Local warehouse registered" \
        "postgresql|127.0.0.1|$SPG|sluice_warehouse|sluice|true|sb1:" \
        "$("$H_PG_BIN/psql" -X -tA -d "$STACK_DB" -c "SELECT type || '|' || host
            || '|' || port || '|' || database || '|' || username || '|' || is_default || '|'
            || left(password_enc, 4) FROM sluice.destinations")"
    assert_eq "sluice_warehouse exists" 1 \
        "$("$H_PG_BIN/psql" -X -tA -d "$STACK_DB" -c \
            "SELECT count(*) FROM pg_database WHERE datname = 'sluice_warehouse'")"
    SLUICE_VAR=$SV "$H_ROOT/scripts/stack.sh" restart > "$H_TMP/stack2.out" 2>&1 || true
    assert_eq "a second start adds nothing" 1 \
        "$("$H_PG_BIN/psql" -X -tA -d "$STACK_DB" -c \
            "SELECT count(*) FROM sluice.destinations")"
    assert_lacks "stack output never shows the cluster password" \
        "$(cat "$H_TMP/stack.out" "$H_TMP/stack2.out")" "$(cat "$SV/pg-password")"
    SLUICE_VAR=$SV "$H_ROOT/scripts/stack.sh" stop > /dev/null 2>&1 || true
else
    fail "stack starts" "$(tail -n 5 "$H_TMP/stack.out")"
fi

h_done
