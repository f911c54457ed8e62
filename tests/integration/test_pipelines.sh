#!/usr/bin/env bash
# test_pipelines.sh - pipelines through nginx, over HTML forms and the JSON API:
# create (and validation: cron with the parser's message, time zones, presets,
# the next three fire times), tables from discovery (watermarks, overrides,
# lookback, a source that cannot be reached and typed tables), dependency
# cycles, ETag / If-Match (428, 412, 200 with a new ETag that is the hash of
# the snapshot), the two-tabs conflict of the edit form (409, exactly one new
# version), versions appended for every change, diffs, rollback (tables too),
# pause / resume / delete (soft; the name becomes free), viewers refused on
# every write, unknown and malformed ids, and the audit trail.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

ED_EMAIL=ed@example.com
ED_PW='editor-pass-5678'
V_EMAIL=vi@example.com
V_PW='viewer-pass-4321'

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@"
}
printf '%s\n' "$ED_PW" | sluice_cli user add --email "$ED_EMAIL" --role editor --name Ed \
    > /dev/null
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi \
    > /dev/null
ED_TOKEN=$(sluice_cli token create --email "$ED_EMAIL" --name tests 2> /dev/null)
V_TOKEN=$(sluice_cli token create --email "$V_EMAIL" --name tests 2> /dev/null)
assert_true "editor token made" test -n "$ED_TOKEN"

# The source is this very PostgreSQL: discovery reads real tables. A second
# source points at a closed port: discovery fails there.
DBNAME=${H_DATABASE_URL##*/}
CLOSED_PORT=$(h_free_port)
h_psql "CREATE SCHEMA shop;
  CREATE TABLE shop.orders (id int PRIMARY KEY, updated_at timestamptz, amount numeric);
  CREATE TABLE shop.customers (id int PRIMARY KEY, name text);
  CREATE TABLE shop.events (id bigint PRIMARY KEY, created_at timestamptz);
  INSERT INTO sluice.sources (name, type, host, port, database, username, schema_include)
  VALUES ('shopdb', 'postgresql', '127.0.0.1', $H_PG_PORT, '$DBNAME', 'sluice', '{shop}'),
         ('downdb', 'postgresql', '127.0.0.1', $CLOSED_PORT, 'x', 'sluice', '{}');
  INSERT INTO sluice.destinations (name, type, host, port, database, username, is_default)
  VALUES ('warehouse', 'postgresql', '127.0.0.1', $H_PG_PORT, '$DBNAME', 'sluice', true),
         ('other', 'postgresql', '127.0.0.1', $H_PG_PORT, '$DBNAME', 'sluice', false);" \
    > /dev/null
SRC=$(h_psql "SELECT id FROM sluice.sources WHERE name = 'shopdb'")
DOWN=$(h_psql "SELECT id FROM sluice.sources WHERE name = 'downdb'")
DST=$(h_psql "SELECT id FROM sluice.destinations WHERE name = 'warehouse'")
DST2=$(h_psql "SELECT id FROM sluice.destinations WHERE name = 'other'")

JE=$H_TMP/editor.jar
JE2=$H_TMP/editor2.jar
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
    h_get "$H_URL$path" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" "${args[@]}"
}
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
# api METHOD PATH TOKEN [curl args]: a JSON API call.
api() {
    local method=$1 path=$2 token=$3
    shift 3
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' "$@"
}
jget() { printf '%s' "$H_BODY" | h_json "$1" || true; }
# The version field of the first form on the page in H_BODY.
form_version() {
    printf '%s' "$H_BODY" | grep -o 'name="version" value="[0-9]*"' | head -n 1 | grep -o '[0-9]*'
}
pver() { h_psql "SELECT version FROM sluice.pipelines WHERE id = '$1'"; }
nversions() { h_psql "SELECT count(*) FROM sluice.pipeline_versions WHERE pipeline_id = '$1'"; }

# The pipeline form's fields, with overrides (name=value replaces).
FORM_BASE=(description= "source_id=$SRC" "destination_id=$DST" status=active
    schedule_preset=daily schedule= timezone=UTC max_retries=3 timeout_seconds=3600
    depends_on= load_mode=direct target_schema= message=)
form_fields() {
    local f k out=() skip
    for f in "${FORM_BASE[@]}"; do
        k=${f%%=*}
        skip=0
        for o in "$@"; do [ "${o%%=*}" = "$k" ] && skip=1; done
        [ "$skip" = 1 ] || out+=("$f")
    done
    printf '%s\n' "${out[@]}" "$@"
}
post_pipeline() {
    local jar=$1 path=$2 fields=()
    shift 2
    mapfile -t fields < <(form_fields "$@")
    post "$jar" "$path" "${fields[@]}"
}

# Expected fire times of `0 3 * * *` in UTC: 03:00 on three consecutive days.
if [ $((10#$(date -u +%H%M))) -lt 300 ]; then D0=$(date -u +%F); else
    D0=$(date -u -d tomorrow +%F); fi
D1=$(date -u -d "$D0 + 1 day" +%F)
D2=$(date -u -d "$D0 + 2 day" +%F)

login "$JE" "$ED_EMAIL" "$ED_PW"
assert_eq "editor signs in" 303 "$H_STATUS"
login "$JE2" "$ED_EMAIL" "$ED_PW"
login "$JV" "$V_EMAIL" "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# --- list and new form ---------------------------------------------------------------

page "$JE" /pipelines
assert_eq "GET /pipelines -> 200" 200 "$H_STATUS"
assert_contains "empty state" "$H_BODY" "No pipelines yet."
assert_contains "nav has Pipelines, current" "$H_BODY" \
    'href="/pipelines" aria-current="page">Pipelines'
page "$JE" /pipelines/new
assert_eq "GET /pipelines/new -> 200" 200 "$H_STATUS"
assert_contains "default destination preselected" "$H_BODY" \
    "<option value=\"$DST\" selected>warehouse (default)</option>"
assert_contains "preset every 5 minutes" "$H_BODY" 'Every 5 minutes (*/5 * * * *)'
assert_contains "preset weekly" "$H_BODY" '(0 3 * * 1)'
assert_contains "preset manual" "$H_BODY" '<option value="manual">Manual only'
assert_contains "new form: next run 1 (daily default)" "$H_BODY" "<time>$D0 03:00 UTC</time>"
assert_contains "new form: next run 3" "$H_BODY" "<time>$D2 03:00 UTC</time>"

# --- create: validation ----------------------------------------------------------------

post_pipeline "$JE" /pipelines name=orders schedule_preset=custom "schedule=0 25 * * *" \
    timezone=Mars/Olympus max_retries=21 timeout_seconds=5 target_schema='bad-name'
assert_eq "invalid fields -> 422" 422 "$H_STATUS"
assert_contains "cron: the parser's message" "$H_BODY" \
    '<p class="field-error" id="schedule-error">hour: 25 is out of range 0-23</p>'
assert_contains "cron field marked invalid" "$H_BODY" 'schedule-error" aria-invalid="true"'
assert_contains "time zone refused" "$H_BODY" 'id="timezone-error">is not a time zone'
assert_contains "max retries range" "$H_BODY" 'id="max_retries-error">must be from 0 to 20'
assert_contains "timeout range" "$H_BODY" 'id="timeout_seconds-error">must be from 10 to 604800'
assert_contains "target schema identifier chars" "$H_BODY" 'id="target_schema-error">must be'
assert_contains "typed cron kept" "$H_BODY" 'value="0 25 * * *"'
assert_contains "custom preset kept" "$H_BODY" '<option value="custom" selected>'
assert_eq "nothing created" 0 "$(h_psql "SELECT count(*) FROM sluice.pipelines")"

post_pipeline "$JE" /pipelines name= "source_id="
assert_eq "missing name and source -> 422" 422 "$H_STATUS"
assert_contains "name required" "$H_BODY" 'id="name-error">is required'
assert_contains "source required" "$H_BODY" 'id="source_id-error">is required: choose a source'

post_pipeline "$JE" /pipelines name=x schedule_preset=custom schedule=
assert_eq "custom preset without an expression -> 422" 422 "$H_STATUS"
assert_contains "empty custom cron" "$H_BODY" 'id="schedule-error">enter a cron expression'

post_pipeline "$JE" /pipelines name=preview schedule_preset=custom "schedule=30 6 * * MON-FRI" \
    timezone=Europe/Berlin _action=preview
assert_eq "preview -> 200" 200 "$H_STATUS"
assert_contains "preview: local times in the zone" "$H_BODY" "06:30 CE"
assert_contains "preview: UTC beside them" "$H_BODY" ":30 UTC</time>"
assert_eq "preview saves nothing" 0 "$(h_psql "SELECT count(*) FROM sluice.pipelines")"

# --- create over HTML ------------------------------------------------------------------

post_pipeline "$JE" /pipelines name=orders "description=Orders to the warehouse"
assert_eq "create -> 303" 303 "$H_STATUS"
P=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'orders'")
assert_eq "create redirects to the tables" "/pipelines/$P/edit#tables" "$(h_header Location)"
assert_eq "created with the daily preset" '0 3 * * *|UTC|3|3600|active' \
    "$(h_psql "SELECT schedule, timezone, max_retries, timeout_seconds, status
               FROM sluice.pipelines WHERE id = '$P'")"
assert_eq "version 1" 1 "$(pver "$P")"
assert_eq "one version row" 1 "$(nversions "$P")"
assert_true "etag is 1-<20 hex>" grep -Eq '^1-[0-9a-f]{20}$' \
    <<< "$(h_psql "SELECT etag FROM sluice.pipeline_versions WHERE pipeline_id = '$P'")"
assert_eq "next_run_at precomputed (03:00 UTC)" "$D0 03:00" \
    "$(h_psql "SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
               FROM sluice.pipelines WHERE id = '$P'")"

page "$JE" "/pipelines/$P"
assert_eq "detail -> 200" 200 "$H_STATUS"
assert_contains "detail: description" "$H_BODY" "Orders to the warehouse"
assert_contains "detail: schedule text" "$H_BODY" "Daily at 03:00"
FIRES=$(printf '%s' "$H_BODY" | grep -o "<time>[0-9-]* [0-9:]* UTC</time>" | tr '\n' ' ')
assert_eq "detail: the next three fire times are 03:00 on consecutive days" \
    "<time>$D0 03:00 UTC</time> <time>$D1 03:00 UTC</time> <time>$D2 03:00 UTC</time> " \
    "$FIRES"

post_pipeline "$JE" /pipelines name=ORDERS
assert_eq "duplicate name (any case) -> 422" 422 "$H_STATUS"
assert_contains "duplicate name message" "$H_BODY" 'another pipeline is already called'

# --- tables from discovery ---------------------------------------------------------------

page "$JE" "/pipelines/$P/edit"
assert_eq "edit -> 200" 200 "$H_STATUS"
assert_contains "picker lists shop.orders" "$H_BODY" '<code>shop.orders</code>'
assert_contains "picker shows the watermark it found" "$H_BODY" \
    'watermark <code>updated_at</code>'
assert_contains "picker: customers has none" "$H_BODY" 'no watermark: full refresh'
assert_lacks "picker respects the schema list" "$H_BODY" '<code>sluice.users</code>'
V=$(form_version)
assert_eq "edit form carries version 1" 1 "$V"
ADD_COUNT=$(printf '%s' "$H_BODY" | grep -o 'name="add_count" value="[0-9]*"' | grep -o '[0-9]*')
idx_of() {
    local q='&quot;'
    printf '%s' "$H_BODY" | grep -o "name=\"add[0-9]*\" value=\"\[${q}shop$q,$q$1$q\]\"" \
        | grep -o 'add[0-9]*' | grep -o '[0-9]*'
}
I_ORD=$(idx_of orders)
I_CUS=$(idx_of customers)
post "$JE" "/pipelines/$P/tables/add" version=1 "add_count=$ADD_COUNT" \
    "add$I_ORD=[\"shop\",\"orders\"]" "add$I_CUS=[\"shop\",\"customers\"]"
assert_eq "add two tables -> 303" 303 "$H_STATUS"
assert_eq "tables stored with sync modes from discovery" \
    'shop|customers|full_refresh|0|shop|orders|incremental|1' \
    "$(h_psql "SELECT string_agg(source_schema || '|' || source_table || '|' || sync_mode
               || '|' || position, '|' ORDER BY position) FROM sluice.pipeline_tables
               WHERE pipeline_id = '$P'")"
assert_eq "adding tables made version 2" 2 "$(pver "$P")"
assert_eq "version 2 note names them (in the source's order)" \
    'added shop.customers, shop.orders' \
    "$(h_psql "SELECT message FROM sluice.pipeline_versions WHERE pipeline_id = '$P'
               AND version = 2")"

# tables form: t0 = customers, t1 = orders
TROW=(t_count=2 t0_schema=shop t0_table=customers t0_lookback=0 t0_target=
    t0_enabled=1 t1_schema=shop t1_table=orders t1_sync=incremental t1_load= t1_wm=
    t1_target= t1_enabled=1)
post "$JE" "/pipelines/$P/tables" version=2 "${TROW[@]}" t0_sync=incremental t0_wm= \
    t0_load= t1_lookback=0
assert_eq "incremental without a watermark -> 422" 422 "$H_STATUS"
assert_contains "no watermark message on the row" "$H_BODY" \
    'id="t0_sync-error">shop.customers has no watermark column'
assert_contains "row marked invalid" "$H_BODY" \
    'aria-invalid="true" aria-describedby="t0_sync-error"'
post "$JE" "/pipelines/$P/tables" version=2 "${TROW[@]}" t0_sync=incremental t0_wm=nope \
    t0_load= t1_lookback=0
assert_eq "override naming no column -> 422" 422 "$H_STATUS"
assert_contains "unknown column message" "$H_BODY" 'shop.customers has no column nope'
post "$JE" "/pipelines/$P/tables" version=2 "${TROW[@]}" t1_lookback=2h \
    t0_sync=incremental t0_wm=id t0_load=raw "message=id as watermark"
assert_eq "override makes incremental valid -> 303" 303 "$H_STATUS"
assert_eq "tables saved: lookback 2h, override, load mode" \
    'customers|0|id|raw|orders|7200||' \
    "$(h_psql "SELECT string_agg(source_table || '|' || lookback_seconds || '|'
               || coalesce(watermark_column, '') || '|' || coalesce(load_mode, ''), '|'
               ORDER BY position) FROM sluice.pipeline_tables WHERE pipeline_id = '$P'")"
assert_eq "version 3" 3 "$(pver "$P")"
post "$JE" "/pipelines/$P/tables" version=3 t_count=1 t0_schema=shop t0_table=customers \
    t0_sync=full_refresh t0_lookback=90x t0_enabled=1
assert_eq "bad lookback -> 422" 422 "$H_STATUS"
assert_contains "lookback message" "$H_BODY" 'id="t0_lookback-error">must be seconds'

# a source that cannot be reached: discovery fails, typed tables still work
post_pipeline "$JE" /pipelines name=offline "source_id=$DOWN" schedule_preset=manual
assert_eq "create on an unreachable source -> 303" 303 "$H_STATUS"
PD=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'offline'")
assert_eq "manual schedule is NULL" "" \
    "$(h_psql "SELECT coalesce(schedule, '') FROM sluice.pipelines WHERE id = '$PD'")"
page "$JE" "/pipelines/$PD/edit"
assert_contains "discovery failed message" "$H_BODY" 'discovery failed: '
assert_contains "manual entry offered" "$H_BODY" 'name="manual"'
post "$JE" "/pipelines/$PD/tables/add" version=1 add_count=0 "manual=public.things, bare"
assert_eq "typed tables added -> 303" 303 "$H_STATUS"
assert_eq "typed tables: full refresh, schema split" \
    'public|things|full_refresh||bare|full_refresh' \
    "$(h_psql "SELECT string_agg(source_schema || '|' || source_table || '|' || sync_mode, '|'
               ORDER BY position) FROM sluice.pipeline_tables WHERE pipeline_id = '$PD'")"
post "$JE" "/pipelines/$PD/tables" version=2 t_count=1 t0_schema=public t0_table=things \
    t0_sync=incremental t0_lookback=0 t0_enabled=1
assert_eq "incremental unchecked source, no override -> 422" 422 "$H_STATUS"
assert_contains "says discovery failed" "$H_BODY" \
    'the source could not be checked (discovery failed:'
post "$JE" "/pipelines/$PD/tables/add" version=2 add_count=0 manual=
assert_eq "adding nothing -> 422" 422 "$H_STATUS"
assert_contains "adding nothing message" "$H_BODY" 'id="manual-error">choose at least one table'

# many tables: the tables form of 60 rows (about 500 fields) saves in one go
MANY=$(seq -f 'public.t%02g' 1 60 | paste -sd, -)
post "$JE" "/pipelines/$PD/tables/add" version=2 add_count=0 "manual=$MANY"
assert_eq "60 typed tables added -> 303" 303 "$H_STATUS"
page "$JE" "/pipelines/$PD/edit"
MANY_FORM=()
for i in $(seq 0 61); do
    MANY_FORM+=("t${i}_sync=full_refresh" "t${i}_load=raw" "t${i}_wm=" "t${i}_lookback=1h"
        "t${i}_target=" "t${i}_enabled=1")
done
mapfile -t HIDDEN < <(printf '%s' "$H_BODY" \
    | grep -o 'name="t[0-9]*_\(schema\|table\)" value="[^"]*"' \
    | sed 's/name="\([^"]*\)" value="\([^"]*\)"/\1=\2/')
post "$JE" "/pipelines/$PD/tables" version=3 t_count=62 "${HIDDEN[@]}" "${MANY_FORM[@]}"
assert_eq "tables form with 62 rows -> 303" 303 "$H_STATUS"
assert_eq "62 tables saved as raw, 1h lookback" '62|62' \
    "$(h_psql "SELECT count(*) || '|' || count(*) FILTER (WHERE load_mode = 'raw'
               AND lookback_seconds = 3600) FROM sluice.pipeline_tables
               WHERE pipeline_id = '$PD'")"

# --- dependency cycles -------------------------------------------------------------------

post_pipeline "$JE" /pipelines name=alpha schedule_preset=manual
PA=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'alpha'")
post_pipeline "$JE" /pipelines name=beta schedule_preset=manual
PB=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'beta'")
post_pipeline "$JE" "/pipelines/$PA" version=1 name=alpha schedule_preset=manual \
    "depends_on=$PB"
assert_eq "alpha depends on beta -> 303" 303 "$H_STATUS"
post_pipeline "$JE" "/pipelines/$PB" version=1 name=beta schedule_preset=manual \
    "depends_on=$PA"
assert_eq "beta depends on alpha -> 422" 422 "$H_STATUS"
assert_contains "cycle named" "$H_BODY" \
    'id="depends_on-error">would create a cycle: beta -&gt; alpha -&gt; beta'
post_pipeline "$JE" "/pipelines/$PB" version=1 name=beta schedule_preset=manual \
    "depends_on=$PB"
assert_eq "self dependency -> 422" 422 "$H_STATUS"
assert_contains "self cycle named" "$H_BODY" 'would create a cycle: beta -&gt; beta'
page "$JE" "/pipelines/$PB/edit"
assert_lacks "depends-on select leaves out the pipeline itself" "$H_BODY" \
    "<option value=\"$PB\""
api GET "/api/v1/pipelines/$PB" "$ED_TOKEN"
EB=$(h_header ETag)
api PATCH "/api/v1/pipelines/$PB" "$ED_TOKEN" -H "If-Match: $EB" -d "{\"depends_on\":\"$PA\"}"
assert_eq "API: cycle -> 422" 422 "$H_STATUS"
assert_eq "API: cycle message" 'would create a cycle: beta -> alpha -> beta' \
    "$(jget errors.depends_on)"
# gamma depends on alpha, alpha on beta: beta -> gamma closes a cycle of three.
post_pipeline "$JE" /pipelines name=gamma schedule_preset=manual "depends_on=$PA"
PG=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'gamma'")
api PATCH "/api/v1/pipelines/$PB" "$ED_TOKEN" -H "If-Match: $EB" -d "{\"depends_on\":\"$PG\"}"
assert_eq "API: longer cycle -> 422" 422 "$H_STATUS"
assert_eq "API: longer cycle message" 'would create a cycle: beta -> gamma -> alpha -> beta' \
    "$(jget errors.depends_on)"

# --- ETag / If-Match ---------------------------------------------------------------------

api GET "/api/v1/pipelines/$P" "$ED_TOKEN"
assert_eq "API GET -> 200" 200 "$H_STATUS"
E3=$(h_header ETag)
assert_true "ETag is quoted version-hash" grep -Eq '^"3-[0-9a-f]{20}"$' <<< "$E3"
assert_eq "body etag matches the header" "$E3" "\"$(jget etag)\""
assert_eq "API GET lists tables" 'orders' "$(jget tables.1.source_table)"
assert_eq "API GET next fire times" "${D0}T03:00:00Z" "$(jget next_fire_times.0)"
api GET "/api/v1/pipelines/$P/versions/3" "$ED_TOKEN"
SNAP=$(jget snapshot)
HASH=$(node -e '
    const canon = v => Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
        : v !== null && typeof v === "object"
        ? "{" + Object.keys(v).sort().map(k => JSON.stringify(k) + ":" + canon(v[k]))
            .join(",") + "}"
        : JSON.stringify(v);
    const s = canon(JSON.parse(process.argv[1]));
    const h = require("crypto").createHash("sha256").update(s).digest("hex");
    process.stdout.write(h.slice(0, 20));
' "$SNAP")
assert_eq "ETag = version + sha256 of the canonical snapshot" "\"3-$HASH\"" "$E3"

api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -d '{"max_retries": 5}'
assert_eq "PATCH without If-Match -> 428" 428 "$H_STATUS"
assert_contains "428 is problem+json" "$(h_header Content-Type)" application/problem+json
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H 'If-Match: "2-00000000000000000000"' \
    -d '{"max_retries": 5}'
assert_eq "PATCH with a stale ETag -> 412" 412 "$H_STATUS"
assert_eq "412 names the current etag" "$E3" "$(jget current_etag)"
assert_eq "nothing changed after 412/428" 3 "$(pver "$P")"
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: W/$E3" -d '{"max_retries": 5}'
assert_eq "a weak ETag never matches -> 412" 412 "$H_STATUS"
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: \"0-nope\", $E3" \
    -d '{"max_retries": 5, "message": "more retries"}'
assert_eq "PATCH with the current ETag -> 200" 200 "$H_STATUS"
E4=$(h_header ETag)
assert_true "new ETag is version 4" grep -Eq '^"4-[0-9a-f]{20}"$' <<< "$E4"
assert_eq "PATCH applied" 5 "$(jget max_retries)"
assert_eq "PATCH kept the rest" 'Orders to the warehouse' "$(jget description)"
assert_eq "version 4 note" 'more retries' \
    "$(h_psql "SELECT message FROM sluice.pipeline_versions WHERE pipeline_id = '$P'
               AND version = 4")"
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: $E3" -d '{"max_retries": 6}'
assert_eq "reusing the old ETag -> 412" 412 "$H_STATUS"
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: $E4" \
    -d '{"schedule": "61 * * * *", "bogus": 1, "max_retries": "x"}'
assert_eq "PATCH invalid -> 422" 422 "$H_STATUS"
assert_eq "422 names schedule" 'minute: 61 is out of range 0-59' "$(jget errors.schedule)"
assert_eq "422 names unknown fields" 'unknown field' "$(jget errors.bogus)"
assert_eq "422 names type errors" 'must be an integer' "$(jget errors.max_retries)"
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: $E4" -d '{"max_retries": 5}'
assert_eq "PATCH with no change -> 200" 200 "$H_STATUS"
assert_eq "no change, same ETag" "$E4" "$(h_header ETag)"
assert_eq "no change, no version" 4 "$(nversions "$P")"

# PUT: a full replacement (tables kept when not listed)
api PUT "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: $E4" \
    -d "{\"name\": \"orders\", \"source_id\": \"$SRC\", \"destination_id\": \"$DST2\",
         \"schedule\": \"@hourly\", \"timezone\": \"America/New_York\"}"
assert_eq "PUT -> 200" 200 "$H_STATUS"
E5=$(h_header ETag)
SEEN="$(jget max_retries)|$(jget description)|$(jget destination_name)"
SEEN+="|$(jget schedule)|$(jget timezone)"
assert_eq "PUT resets what it leaves out" '3||other|@hourly|America/New_York' "$SEEN"
assert_eq "PUT kept the tables" 2 "$(h_psql "SELECT count(*) FROM sluice.pipeline_tables
                                            WHERE pipeline_id = '$P'")"
api PUT "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: $E5" -d '{"description": "x"}'
assert_eq "PUT without required fields -> 422" 422 "$H_STATUS"
assert_eq "PUT: name required" 'is required' "$(jget errors.name)"

# tables through the API
api GET "/api/v1/pipelines/$P/tables" "$ED_TOKEN"
assert_eq "GET tables -> 200" 200 "$H_STATUS"
assert_eq "GET tables: override listed" id "$(jget items.0.watermark_column)"
api PUT "/api/v1/pipelines/$P/tables" "$ED_TOKEN" \
    -d '[{"source_schema": "shop", "source_table": "events"}]'
assert_eq "PUT tables without If-Match -> 428" 428 "$H_STATUS"
api PUT "/api/v1/pipelines/$P/tables" "$ED_TOKEN" -H "If-Match: $E5" \
    -d '{"tables": [{"source_schema": "shop", "source_table": "events", "lookback_seconds": "1d"},
                    {"source_schema": "shop", "source_table": "customers"}]}'
assert_eq "PUT tables: incremental without watermark -> 422" 422 "$H_STATUS"
assert_contains "PUT tables: field named by index" "$(jget errors)" 'tables[1].sync_mode'
api PUT "/api/v1/pipelines/$P/tables" "$ED_TOKEN" -H "If-Match: $E5" \
    -d '{"tables": [{"source_schema": "shop", "source_table": "events", "lookback_seconds": "1d"},
                    {"source_schema": "shop", "source_table": "customers",
                     "sync_mode": "full_refresh", "enabled": false}], "message": "api tables"}'
assert_eq "PUT tables -> 200" 200 "$H_STATUS"
E6=$(h_header ETag)
assert_true "PUT tables: new ETag" grep -Eq '^"6-' <<< "$E6"
assert_eq "PUT tables replaced the list" 'events|86400|true|customers|0|false' \
    "$(h_psql "SELECT string_agg(source_table || '|' || lookback_seconds || '|' || enabled, '|'
               ORDER BY position) FROM sluice.pipeline_tables WHERE pipeline_id = '$P'")"

# --- the two-tabs conflict of the edit form -------------------------------------------------

page "$JE" "/pipelines/$P/edit"
TAB1=$(form_version)
page "$JE2" "/pipelines/$P/edit"
TAB2=$(form_version)
assert_eq "both tabs loaded version 6" "6 6" "$TAB1 $TAB2"
EDIT=(name=orders "destination_id=$DST2" schedule_preset=custom "schedule=@hourly"
    timezone=America/New_York)
post_pipeline "$JE" "/pipelines/$P" "version=$TAB1" "${EDIT[@]}" max_retries=7 \
    "message=from tab one"
assert_eq "tab one saves -> 303" 303 "$H_STATUS"
post_pipeline "$JE2" "/pipelines/$P" "version=$TAB2" "${EDIT[@]}" max_retries=9 \
    "description=tab two text"
assert_eq "tab two -> 409" 409 "$H_STATUS"
assert_contains "conflict message" "$H_BODY" \
    "Someone else changed this pipeline (version 7 by $ED_EMAIL at "
assert_contains "conflict says nothing was saved" "$H_BODY" \
    'while you were editing. Your changes were not saved.'
assert_contains "their value beside yours" "$H_BODY" \
    '<tr><td>Max retries</td><td>7</td><td>9</td></tr>'
assert_contains "link to their changes" "$H_BODY" "/versions/diff?from=6&amp;to=7"
assert_contains "typed values kept" "$H_BODY" 'tab two text'
assert_eq "the form now carries version 7" 7 "$(form_version)"
assert_eq "exactly one new version" 7 "$(nversions "$P")"
assert_eq "tab two was not written" '7|' \
    "$(h_psql "SELECT max_retries || '|' || description FROM sluice.pipelines
               WHERE id = '$P'")"
post_pipeline "$JE2" "/pipelines/$P" version=7 "${EDIT[@]}" max_retries=9
assert_eq "resubmitting on top of version 7 -> 303" 303 "$H_STATUS"
assert_eq "version 8 has tab two's value" '8|9' \
    "$(h_psql "SELECT version || '|' || max_retries FROM sluice.pipelines WHERE id = '$P'")"

# --- versions, diff, rollback -----------------------------------------------------------------

assert_eq "versions 1..8, contiguous" '1,2,3,4,5,6,7,8' \
    "$(h_psql "SELECT string_agg(version::text, ',' ORDER BY version)
               FROM sluice.pipeline_versions WHERE pipeline_id = '$P'")"
assert_eq "current pointer on the last version" 8 \
    "$(h_psql "SELECT v.version FROM sluice.pipelines p JOIN sluice.pipeline_versions v
               ON v.id = p.current_version_id WHERE p.id = '$P'")"
assert_eq "authors recorded" "$ED_EMAIL" \
    "$(h_psql "SELECT DISTINCT author_email FROM sluice.pipeline_versions
               WHERE pipeline_id = '$P'")"
page "$JV" "/pipelines/$P/versions"
assert_eq "viewer reads the history" 200 "$H_STATUS"
assert_contains "history lists version 8 as current" "$H_BODY" \
    'v8</a> <span class="badge badge-ok">current</span>'
assert_contains "history shows notes" "$H_BODY" 'from tab one'
assert_lacks "viewer sees no rollback links" "$H_BODY" 'Roll back to this version'
page "$JE" "/pipelines/$P/versions/diff?from=3&to=8"
assert_eq "diff -> 200" 200 "$H_STATUS"
assert_contains "diff: max retries" "$H_BODY" \
    '<tr data-key="max_retries"><td>Max retries</td><td><del>3</del></td><td><ins>9</ins>'
assert_contains "diff: destination by name" "$H_BODY" \
    '<td><del>warehouse</del></td><td><ins>other</ins></td>'
assert_contains "diff: schedule" "$H_BODY" '<del>0 3 * * *</del></td><td><ins>@hourly</ins>'
assert_contains "diff: table added" "$H_BODY" 'Added <code>shop.events</code>'
assert_contains "diff: table removed" "$H_BODY" 'Removed <code>shop.orders</code>'
assert_contains "diff: table changed" "$H_BODY" 'Changed <code>shop.customers</code>'
assert_lacks "diff: unchanged fields left out" "$H_BODY" 'data-key="load_mode"'
page "$JE" "/pipelines/$P/versions/diff?from=8&to=8"
assert_contains "diff of a version with itself" "$H_BODY" 'No differences.'
page "$JE" "/pipelines/$P/versions/diff?from=1&to=99"
assert_eq "diff with an unknown version -> 404" 404 "$H_STATUS"
page "$JE" "/pipelines/$P/versions/diff?from=x&to=2"
assert_eq "diff with a malformed version -> 400" 400 "$H_STATUS"
page "$JE" "/pipelines/$P/versions/3"
assert_contains "version page shows its tables" "$H_BODY" '<code>shop.orders</code>'

page "$JE" "/pipelines/$P/versions/3/rollback"
assert_eq "rollback confirmation -> 200" 200 "$H_STATUS"
assert_contains "confirmation posts back" "$H_BODY" \
    "action=\"/pipelines/$P/versions/3/rollback\" data-confirm="
post "$JE" "/pipelines/$P/versions/3/rollback"
assert_eq "rollback -> 303" 303 "$H_STATUS"
assert_eq "rollback is version 9, noted" '9|rollback to v3' \
    "$(h_psql "SELECT version || '|' || message FROM sluice.pipeline_versions
               WHERE pipeline_id = '$P' ORDER BY version DESC LIMIT 1")"
assert_eq "rollback snapshot equals version 3's" t \
    "$(h_psql "SELECT (SELECT snapshot FROM sluice.pipeline_versions WHERE pipeline_id = '$P'
               AND version = 3) = (SELECT snapshot FROM sluice.pipeline_versions
               WHERE pipeline_id = '$P' AND version = 9)")"
assert_eq "rollback restored the fields" '3|0 3 * * *|UTC|warehouse' \
    "$(h_psql "SELECT p.max_retries || '|' || p.schedule || '|' || p.timezone || '|' || d.name
               FROM sluice.pipelines p JOIN sluice.destinations d ON d.id = p.destination_id
               WHERE p.id = '$P'")"
assert_eq "rollback restored the tables" 'customers|id|incremental|orders|7200|incremental' \
    "$(h_psql "SELECT string_agg(source_table || '|' || CASE WHEN source_table = 'orders'
               THEN lookback_seconds::text ELSE coalesce(watermark_column, '') END || '|'
               || sync_mode, '|' ORDER BY position) FROM sluice.pipeline_tables
               WHERE pipeline_id = '$P'")"
assert_eq "same ETag hash as version 3" \
    "$(h_psql "SELECT substr(etag, 3) FROM sluice.pipeline_versions WHERE pipeline_id = '$P'
               AND version = 3")" \
    "$(h_psql "SELECT substr(etag, 3) FROM sluice.pipeline_versions WHERE pipeline_id = '$P'
               AND version = 9")"

api GET "/api/v1/pipelines/$P" "$ED_TOKEN"
E9=$(h_header ETag)
api POST "/api/v1/pipelines/$P/rollback" "$ED_TOKEN" -d '{"version": 6}'
assert_eq "API rollback without If-Match -> 428" 428 "$H_STATUS"
api POST "/api/v1/pipelines/$P/rollback" "$ED_TOKEN" -H "If-Match: $E9" -d '{"version": 77}'
assert_eq "API rollback to an unknown version -> 422" 422 "$H_STATUS"
assert_eq "API rollback: version named" 'this pipeline has no such version' \
    "$(jget errors.version)"
api POST "/api/v1/pipelines/$P/rollback" "$ED_TOKEN" -H "If-Match: $E9" \
    -d '{"version": 6, "message": "api"}'
assert_eq "API rollback -> 200" 200 "$H_STATUS"
assert_eq "API rollback restored version 6's tables" 'events,customers' \
    "$(jget tables.0.source_table),$(jget tables.1.source_table)"
assert_eq "API rollback is version 10" 10 "$(jget version)"
api GET "/api/v1/pipelines/$P/versions?limit=3" "$ED_TOKEN"
assert_eq "API versions: newest first" '10|rollback to v6: api' \
    "$(jget items.0.version)|$(jget items.0.message)"
assert_eq "API versions: cursor" 8 "$(jget next_cursor)"
api GET "/api/v1/pipelines/$P/versions?limit=3&cursor=8" "$ED_TOKEN"
assert_eq "API versions: next page" '7|5' "$(jget items.0.version)|$(jget items.2.version)"
api GET "/api/v1/pipelines/$P/versions/1" "$ED_TOKEN"
assert_eq "API version 1 snapshot" 'orders|0 3 * * *|false' \
    "$(jget snapshot.name)|$(jget snapshot.schedule)|$(jget snapshot.deleted)"
api GET "/api/v1/pipelines/$P/versions/0" "$ED_TOKEN"
assert_eq "API version 0 -> 404" 404 "$H_STATUS"

# --- pause, resume, delete ----------------------------------------------------------------

post "$JE" "/pipelines/$P/pause"
assert_eq "pause -> 303" 303 "$H_STATUS"
assert_eq "paused, version 11" 'paused|11' \
    "$(h_psql "SELECT status || '|' || version FROM sluice.pipelines WHERE id = '$P'")"
page "$JE" "/pipelines/$P"
assert_contains "detail shows paused" "$H_BODY" 'data-testid="status">paused'
assert_contains "detail offers resume" "$H_BODY" "action=\"/pipelines/$P/resume\""
post "$JE" "/pipelines/$P/pause"
assert_eq "pausing again -> 303" 303 "$H_STATUS"
assert_eq "pausing again appends nothing" 11 "$(pver "$P")"
post "$JE" "/pipelines/$P/resume"
assert_eq "resume -> active, version 12" 'active|12' \
    "$(h_psql "SELECT status || '|' || version FROM sluice.pipelines WHERE id = '$P'")"
api GET "/api/v1/pipelines/$P" "$ED_TOKEN"
E12=$(h_header ETag)
api POST "/api/v1/pipelines/$P/pause" "$ED_TOKEN"
assert_eq "API pause without If-Match -> 428" 428 "$H_STATUS"
api POST "/api/v1/pipelines/$P/pause" "$ED_TOKEN" -H "If-Match: $E12"
assert_eq "API pause -> 200" 200 "$H_STATUS"
assert_eq "API pause: status" paused "$(jget status)"
E13=$(h_header ETag)
api POST "/api/v1/pipelines/$P/resume" "$ED_TOKEN" -H "If-Match: $E13" -d '{"message":"go"}'
assert_eq "API resume -> 200" 200 "$H_STATUS"
assert_eq "API resume note" 'go' \
    "$(h_psql "SELECT message FROM sluice.pipeline_versions WHERE pipeline_id = '$P'
               ORDER BY version DESC LIMIT 1")"
E14=$(h_header ETag)

page "$JE" "/pipelines/$PB/delete"
assert_eq "delete confirmation -> 200" 200 "$H_STATUS"
assert_contains "beta has dependents" "$H_BODY" 'Other pipelines depend on this one (alpha)'
post "$JE" "/pipelines/$PB/delete"
assert_eq "deleting a dependency -> 409" 409 "$H_STATUS"
page "$JE" "/pipelines/$P/delete"
assert_contains "delete confirmation has a POST form" "$H_BODY" \
    "action=\"/pipelines/$P/delete\" data-confirm="
post "$JE" "/pipelines/$P/delete" "message=retired"
assert_eq "delete -> 303" 303 "$H_STATUS"
assert_eq "delete goes to the list" /pipelines "$(h_header Location)"
assert_eq "soft delete: row kept, deleted_at set, last version noted" 'true|15|retired|true' \
    "$(h_psql "SELECT (deleted_at IS NOT NULL) || '|' || p.version || '|' || v.message || '|'
               || (v.snapshot->>'deleted') FROM sluice.pipelines p JOIN sluice.pipeline_versions v
               ON v.id = p.current_version_id WHERE p.id = '$P'")"
page "$JE" /pipelines
assert_lacks "deleted pipeline gone from the list" "$H_BODY" "href=\"/pipelines/$P\""
page "$JE" "/pipelines/$P"
assert_eq "deleted pipeline page -> 404" 404 "$H_STATUS"
page "$JE" "/pipelines/$P/versions"
assert_eq "deleted pipeline history -> 404" 404 "$H_STATUS"
api GET "/api/v1/pipelines/$P" "$ED_TOKEN"
assert_eq "API GET deleted -> 404" 404 "$H_STATUS"
api PATCH "/api/v1/pipelines/$P" "$ED_TOKEN" -H "If-Match: $E14" -d '{"max_retries":1}'
assert_eq "API PATCH deleted -> 404" 404 "$H_STATUS"
api POST /api/v1/pipelines "$ED_TOKEN" -d "{\"name\": \"Orders\", \"source_id\": \"$SRC\"}"
assert_eq "the deleted name is free again -> 201" 201 "$H_STATUS"
PN=$(jget id)
assert_eq "201 Location" "/api/v1/pipelines/$PN" "$(h_header Location)"
assert_true "201 ETag" grep -Eq '^"1-[0-9a-f]{20}"$' <<< "$(h_header ETag)"
assert_eq "201 uses the default destination" warehouse "$(jget destination_name)"
EN=$(h_header ETag)
# Four clients with the same ETag at the same moment: the row lock lets one win.
RACERS=()
for i in 1 2 3 4; do
    curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $ED_TOKEN" \
        -H 'Content-Type: application/json' -H "If-Match: $EN" \
        -d "{\"description\": \"racer $i\"}" "$H_URL/api/v1/pipelines/$PN" > "$H_TMP/race.$i" &
    RACERS+=($!)
done
wait "${RACERS[@]}" # only these: the stack's processes are children of this shell too
assert_eq "racing PATCHes: one 200, three 412" '200 412 412 412' \
    "$(cat "$H_TMP"/race.* | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "racing PATCHes: one new version" 2 "$(nversions "$PN")"
api GET "/api/v1/pipelines/$PG" "$ED_TOKEN"
api DELETE "/api/v1/pipelines/$PG" "$ED_TOKEN"
assert_eq "API DELETE without If-Match -> 428" 428 "$H_STATUS"
api DELETE "/api/v1/pipelines/$PG" "$ED_TOKEN" -H "If-Match: $(h_psql "SELECT '\"' || v.etag
    || '\"' FROM sluice.pipelines p JOIN sluice.pipeline_versions v ON v.id =
    p.current_version_id WHERE p.id = '$PG'")"
assert_eq "API DELETE -> 204" 204 "$H_STATUS"

# --- list API and pagination ----------------------------------------------------------------

api GET "/api/v1/pipelines?limit=2" "$V_TOKEN"
assert_eq "API list -> 200" 200 "$H_STATUS"
assert_eq "API list, sorted by name" 'alpha|beta' "$(jget items.0.name)|$(jget items.1.name)"
CUR=$(jget next_cursor)
api GET "/api/v1/pipelines?limit=2&cursor=$CUR" "$V_TOKEN"
assert_eq "API list page 2" 'offline|Orders' "$(jget items.0.name)|$(jget items.1.name)"
assert_eq "API list: last page" null "$(jget next_cursor)"
api GET "/api/v1/pipelines?limit=0" "$V_TOKEN"
assert_eq "API list: bad limit -> 422" 422 "$H_STATUS"
api GET "/api/v1/pipelines?cursor=zzz" "$V_TOKEN"
assert_eq "API list: bad cursor -> 422" 422 "$H_STATUS"
api GET "/api/v1/pipelines?colour=red" "$V_TOKEN"
assert_eq "API list: unknown parameter -> 422" 422 "$H_STATUS"

# pages of the list: 50 a page, forward and back
list_rows() { grep -c '<td><a href="/pipelines/[^"/]*">' <<< "$H_BODY"; }
for i in $(seq -w 1 50); do
    api POST /api/v1/pipelines "$ED_TOKEN" -d "{\"name\": \"zz-$i\", \"source_id\": \"$SRC\"}"
done
assert_eq "50 more made" 54 "$(h_psql "SELECT count(*) FROM sluice.pipelines
                                       WHERE deleted_at IS NULL")"
page "$JV" /pipelines
assert_eq "page 1: 50 rows" 50 "$(list_rows)"
assert_lacks "page 1: no previous link" "$H_BODY" 'rel="prev"'
NEXT=$(printf '%s' "$H_BODY" | grep -o 'href="/pipelines?after=[^"]*"' \
    | sed 's/.*after=//; s/"$//')
assert_true "page 1: a next link" test -n "$NEXT"
page "$JV" "/pipelines?after=$NEXT"
assert_eq "page 2: the last 4 rows" 4 "$(list_rows)"
assert_contains "page 2 ends with zz-50" "$H_BODY" '>zz-50</a>'
assert_lacks "page 2: no next link" "$H_BODY" 'rel="next"'
PREV=$(printf '%s' "$H_BODY" | grep -o 'href="/pipelines?before=[^"]*"' \
    | sed 's/.*before=//; s/"$//')
page "$JV" "/pipelines?before=$PREV"
assert_eq "back to page 1: 50 rows" 50 "$(list_rows)"
assert_eq "back to page 1: starts with alpha" alpha \
    "$(printf '%s' "$H_BODY" | grep -o '<td><a href="/pipelines/[^"]*">[^<]*' | head -n 1 \
       | sed 's/.*">//')"
assert_contains "back on page 1: next link again" "$H_BODY" 'rel="next"'
page "$JV" "/pipelines?after=nope"
assert_eq "malformed page link -> 400" 400 "$H_STATUS"

# --- viewers read, never write --------------------------------------------------------------

page "$JV" /pipelines
assert_eq "viewer lists" 200 "$H_STATUS"
assert_lacks "viewer sees no New button" "$H_BODY" 'href="/pipelines/new"'
page "$JV" "/pipelines/$PA"
assert_eq "viewer reads a pipeline" 200 "$H_STATUS"
assert_lacks "viewer sees no Edit" "$H_BODY" "/pipelines/$PA/edit"
page "$JV" "/pipelines/$PA/versions/diff?from=1&to=2"
assert_eq "viewer reads a diff" 200 "$H_STATUS"
for path in /pipelines/new "/pipelines/$PA/edit" "/pipelines/$PA/delete" \
    "/pipelines/$PA/versions/1/rollback"; do
    page "$JV" "$path"
    assert_eq "viewer GET $path -> 403" 403 "$H_STATUS"
done
for path in /pipelines "/pipelines/$PA" "/pipelines/$PA/tables" "/pipelines/$PA/tables/add" \
    "/pipelines/$PA/pause" "/pipelines/$PA/resume" "/pipelines/$PA/delete" \
    "/pipelines/$PA/versions/1/rollback"; do
    post "$JV" "$path" name=x version=2
    assert_eq "viewer POST $path -> 403" 403 "$H_STATUS"
done
EA=$(h_psql "SELECT '\"' || v.etag || '\"' FROM sluice.pipelines p JOIN
    sluice.pipeline_versions v ON v.id = p.current_version_id WHERE p.id = '$PA'")
for call in "POST /api/v1/pipelines" "PUT /api/v1/pipelines/$PA" \
    "PATCH /api/v1/pipelines/$PA" "DELETE /api/v1/pipelines/$PA" \
    "PUT /api/v1/pipelines/$PA/tables" "POST /api/v1/pipelines/$PA/pause" \
    "POST /api/v1/pipelines/$PA/resume" "POST /api/v1/pipelines/$PA/rollback"; do
    api "${call% *}" "${call#* }" "$V_TOKEN" -H "If-Match: $EA" -d '{"version": 1}'
    assert_eq "viewer API $call -> 403" 403 "$H_STATUS"
done
for path in "/api/v1/pipelines/$PA" "/api/v1/pipelines/$PA/tables" \
    "/api/v1/pipelines/$PA/versions" "/api/v1/pipelines/$PA/versions/1"; do
    api GET "$path" "$V_TOKEN"
    assert_eq "viewer API GET $path -> 200" 200 "$H_STATUS"
done
assert_eq "alpha untouched by the viewer" 2 "$(pver "$PA")"

# --- unknown and malformed ids -----------------------------------------------------------------

NOPE=00000000-0000-4000-8000-000000000000
for path in /pipelines/not-a-uuid "/pipelines/$NOPE" "/pipelines/$NOPE/edit" \
    "/pipelines/$NOPE/versions" "/pipelines/$PA/versions/99" "/pipelines/$PA/versions/abc" \
    "/pipelines/$PA/versions/-1" "/pipelines/%27%3B/delete"; do
    page "$JE" "$path"
    assert_eq "GET $path -> 404" 404 "$H_STATUS"
done
post "$JE" "/pipelines/$NOPE" name=x version=1
assert_eq "POST unknown pipeline -> 404" 404 "$H_STATUS"
post "$JE" "/pipelines/$PA/versions/99/rollback"
assert_eq "rollback to an unknown version -> 404" 404 "$H_STATUS"
for path in /api/v1/pipelines/not-a-uuid "/api/v1/pipelines/$NOPE" \
    "/api/v1/pipelines/$NOPE/tables" "/api/v1/pipelines/$NOPE/versions" \
    "/api/v1/pipelines/$PA/versions/99" "/api/v1/pipelines/$PA/versions/x"; do
    api GET "$path" "$ED_TOKEN"
    assert_eq "API GET $path -> 404" 404 "$H_STATUS"
done
api PATCH "/api/v1/pipelines/$NOPE" "$ED_TOKEN" -H 'If-Match: *' -d '{}'
assert_eq "API PATCH unknown -> 404" 404 "$H_STATUS"

# --- audit -------------------------------------------------------------------------------------

ACTIONS=pipeline.create,pipeline.delete,pipeline.pause,pipeline.resume
ACTIONS+=,pipeline.rollback,pipeline.update
assert_eq "audit: every kind of change recorded" "$ACTIONS" \
    "$(h_psql "SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM sluice.audit_log
               WHERE object_type = 'pipeline'")"
assert_eq "audit: one row per version of the orders pipeline" "$(nversions "$P")" \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE object_type = 'pipeline'
               AND object_id = '$P'")"
assert_eq "audit: rollback details carry the version numbers" '9|8|3' \
    "$(h_psql "SELECT (details->>'version') || '|' || (details->>'previous_version') || '|'
               || (details->>'rollback_to') FROM sluice.audit_log
               WHERE action = 'pipeline.rollback' AND object_id = '$P' ORDER BY id LIMIT 1")"

h_done
