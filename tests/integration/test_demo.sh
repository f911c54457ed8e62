#!/usr/bin/env bash
# test_demo.sh - the demo shop of `make run`: scripts/demo.sql loads the same
# realistic tables every time (counts, keys, types, no primary key on
# page_views, no watermark column on countries); `sluice demo setup` refuses
# bad options and a missing default destination (writing nothing), registers
# the source with its password sealed and the pipeline demo_shop with version
# 1 exactly as the console's model writes it (the API serves the same
# configuration, the ETag is the hash of the canonical snapshot), queues one
# manual run, audits both, does nothing the second time, and reuses the
# source after the pipeline is deleted; its first run syncs every row. Then
# scripts/stack.sh: SLUICE_DEMO=0 makes no demo, the next start makes it and
# syncs it before printing the URL, a third start adds nothing.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@"
}
DEMO_URL=postgresql://sluice@127.0.0.1:$H_PG_PORT/demo_$$
WH_DB=wh_$$
h_psql "CREATE DATABASE demo_$$" "$H_PG_ADMIN_URL" > /dev/null
h_psql "CREATE DATABASE $WH_DB" "$H_PG_ADMIN_URL" > /dev/null
load_demo() {
    "$H_PG_BIN/psql" -X -q -1 -v ON_ERROR_STOP=1 -d "$DEMO_URL" -f "$H_ROOT/scripts/demo.sql"
}
# A fingerprint of every demo row.
fingerprint() {
    h_psql "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
        SELECT 'c' || c::text AS x FROM customers c UNION ALL
        SELECT 'o' || o::text FROM orders o UNION ALL SELECT 'e' || e::text FROM events e
        UNION ALL SELECT 'p' || p::text FROM page_views p
        UNION ALL SELECT 'k' || k::text FROM countries k) t" "$DEMO_URL"
}

# --- scripts/demo.sql --------------------------------------------------------------------

load_demo > "$H_LOG/demo.log" 2>&1 && rc=0 || rc=$?
assert_eq "demo.sql loads" 0 "$rc"
assert_eq "row counts" '30|2000|5000|8000|3000' "$(h_psql "SELECT
    (SELECT count(*) FROM countries) || '|' || (SELECT count(*) FROM customers) || '|' ||
    (SELECT count(*) FROM orders) || '|' || (SELECT count(*) FROM events) || '|' ||
    (SELECT count(*) FROM page_views)" "$DEMO_URL")"
assert_eq "primary keys: all but page_views" 'countries,customers,events,orders' \
    "$(h_psql "SELECT string_agg(conrelid::regclass::text, ',' ORDER BY conrelid::regclass::text)
               FROM pg_constraint WHERE contype = 'p' AND connamespace = 'public'::regnamespace" \
        "$DEMO_URL")"
assert_eq "updated_at on customers, orders, events only" 'customers,events,orders' \
    "$(h_psql "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM
               information_schema.columns WHERE table_schema = 'public'
               AND column_name = 'updated_at'" "$DEMO_URL")"
ORDER_TYPES='id:bigint customer_id:bigint status:order_status total:numeric(12,2)'
ORDER_TYPES+=' currency:character(3) items:jsonb placed_at:timestamp with time zone'
ORDER_TYPES+=' updated_at:timestamp with time zone'
assert_eq "column types of orders" "$ORDER_TYPES" \
    "$(h_psql "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ' '
               ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.orders'::regclass
               AND attnum > 0 AND NOT attisdropped" "$DEMO_URL")"
assert_eq "every order status occurs" 'paid,pending,refunded,shipped' \
    "$(h_psql "SELECT string_agg(DISTINCT status::text, ',') FROM orders" "$DEMO_URL")"
assert_eq "order totals are the sum of their items" 0 \
    "$(h_psql "SELECT count(*) FROM orders o WHERE total <> (SELECT sum((i->>'unit_price')::numeric
               * (i->>'qty')::int) FROM jsonb_array_elements(o.items) i)" "$DEMO_URL")"
assert_eq "events.id is a bigserial" "nextval('events_id_seq'::regclass)" \
    "$(h_psql "SELECT column_default FROM information_schema.columns WHERE table_name = 'events'
               AND column_name = 'id'" "$DEMO_URL")"
assert_eq "updated_at never before the row's creation" 0 \
    "$(h_psql "SELECT (SELECT count(*) FROM customers WHERE updated_at < created_at)
               + (SELECT count(*) FROM orders WHERE updated_at < placed_at)
               + (SELECT count(*) FROM events WHERE updated_at < occurred_at)" "$DEMO_URL")"
FP1=$(fingerprint)
load_demo >> "$H_LOG/demo.log" 2>&1 && rc=0 || rc=$?
assert_eq "demo.sql loads again over itself" 0 "$rc"
assert_eq "the same data the second time (deterministic)" "$FP1" "$(fingerprint)"

# --- sluice demo setup: options and refusals --------------------------------------------

out=$(sluice_cli demo setup --help) && rc=0 || rc=$?
assert_eq "demo setup --help exits 0" 0 "$rc"
assert_contains "--help shows the usage" "$out" "usage: sluice demo setup --host H"
out=$(sluice_cli demo setup --port 5432 --user u < /dev/null 2>&1) && rc=0 || rc=$?
assert_eq "missing --host -> 2" 2 "$rc"
assert_contains "names the missing option" "$out" "--host is required"
out=$(sluice_cli demo setup --host h --port 70000 --user u < /dev/null 2>&1) && rc=0 || rc=$?
assert_eq "bad port -> 2" 2 "$rc"
out=$(sluice_cli demo setup --host h --port 1 --user u extra < /dev/null 2>&1) && rc=0 || rc=$?
assert_eq "stray argument -> 2" 2 "$rc"

DEMO_ARGS=(--host 127.0.0.1 --port "$H_PG_PORT" --user sluice --database "demo_$$")
out=$(printf 'x\n' | sluice_cli demo setup "${DEMO_ARGS[@]}" 2>&1) && rc=0 || rc=$?
assert_eq "no default destination -> 1" 1 "$rc"
assert_contains "says what to do" "$out" "sluice destination add-local"
assert_eq "nothing written without a destination" '0|0|0' \
    "$(h_psql "SELECT (SELECT count(*) FROM sluice.sources) || '|' ||
               (SELECT count(*) FROM sluice.pipelines) || '|' ||
               (SELECT count(*) FROM sluice_runs.runs)")"

printf '\n' | sluice_cli destination add-local --host 127.0.0.1 --port "$H_PG_PORT" \
    --database "$WH_DB" --user sluice > /dev/null
DST=$(h_psql "SELECT id FROM sluice.destinations WHERE is_default")

# --- sluice demo setup: the first time -----------------------------------------------------

SECRET=demo-pass-4711
out=$(printf '%s\n' "$SECRET" | sluice_cli demo setup "${DEMO_ARGS[@]}" 2>&1) && rc=0 || rc=$?
assert_eq "demo setup exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
assert_true "last line: run N queued" grep -Eq '^run [0-9]+ queued$' <<< "$(tail -n 1 <<< "$out")"
RUN=$(sed -n 's/^run \([0-9]*\) queued$/\1/p' <<< "$out")
assert_true "the password is not printed" bash -c "! grep -q '$SECRET' <<< \"\$1\"" _ "$out"

SRC=$(h_psql "SELECT id FROM sluice.sources WHERE name = 'Demo shop'")
assert_true "source Demo shop registered" test -n "$SRC"
assert_eq "source fields" "postgresql|127.0.0.1|$H_PG_PORT|demo_$$|sluice|{public}|registered" \
    "$(h_psql "SELECT type || '|' || host || '|' || port || '|' || database || '|' || username
               || '|' || schema_include::text || '|' || status FROM sluice.sources
               WHERE id = '$SRC'")"
assert_eq "password stored sealed" 't|f' \
    "$(h_psql "SELECT password_enc LIKE 'sb1:%', strpos(password_enc, '$SECRET') > 0
               FROM sluice.sources WHERE id = '$SRC'" | tr -d ' ')"

P=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'demo_shop' AND deleted_at IS NULL")
assert_true "pipeline demo_shop registered" test -n "$P"
assert_eq "pipeline fields" "$SRC|$DST|active|0 * * * *|UTC|direct|1" \
    "$(h_psql "SELECT source_id || '|' || destination_id || '|' || status || '|' || schedule
               || '|' || timezone || '|' || load_mode || '|' || version FROM sluice.pipelines
               WHERE id = '$P'")"
assert_eq "next run at the next full hour" t \
    "$(h_psql "SELECT next_run_at = date_trunc('hour', now()) + interval '1 hour'
               FROM sluice.pipelines WHERE id = '$P'")"
TABLES='public.customers:incremental public.orders:incremental public.events:incremental'
TABLES+=' public.page_views:full_refresh public.countries:full_refresh'
assert_eq "tables in order, incremental where a watermark exists" "$TABLES" \
    "$(h_psql "SELECT string_agg(source_schema || '.' || source_table || ':' || sync_mode, ' '
               ORDER BY position) FROM sluice.pipeline_tables WHERE pipeline_id = '$P'
               AND enabled AND watermark_column IS NULL AND target_table IS NULL
               AND load_mode IS NULL")"
assert_eq "one version, the current one" '1|1|1' \
    "$(h_psql "SELECT count(*) || '|' || max(v.version) || '|'
               || bool_and(v.id = p.current_version_id)::int
               FROM sluice.pipeline_versions v JOIN sluice.pipelines p ON p.id = v.pipeline_id
               WHERE p.id = '$P'")"
assert_eq "one queued manual run of it" "$RUN|queued|manual" \
    "$(h_psql "SELECT id || '|' || status || '|' || trigger FROM sluice_runs.runs
               WHERE pipeline_id = '$P'")"
assert_eq "audited: source.create, pipeline.create" 'pipeline.create,source.create' \
    "$(h_psql "SELECT string_agg(action, ',' ORDER BY action) FROM sluice.audit_log
               WHERE object_id IN ('$SRC', '$P')")"

# The stored snapshot is the console's: the API (pl_load + pl_snapshot) shows
# the same configuration, and the ETag is the hash of the canonical text.
printf '%s\n' 'admin-pass-1234' | sluice_cli user add --email ad@example.com --role admin \
    --name Ad > /dev/null
TOKEN=$(sluice_cli token create --email ad@example.com --name tests 2> /dev/null)
api() {
    local method=$1 path=$2
    shift 2
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' "$@"
}
api GET "/api/v1/pipelines/$P"
assert_eq "API GET -> 200" 200 "$H_STATUS"
ETAG=$(h_header ETag)
assert_eq "the API's ETag is the stored one" "\"$(h_psql "SELECT etag FROM
    sluice.pipeline_versions WHERE pipeline_id = '$P'")\"" "$ETAG"
SNAP=$(h_psql "SELECT snapshot FROM sluice.pipeline_versions WHERE pipeline_id = '$P'")
same=$(node -e '
    const snap = JSON.parse(process.argv[1]), api = JSON.parse(process.argv[2]);
    const canon = v => Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
        : v !== null && typeof v === "object"
        ? "{" + Object.keys(v).sort().map(k => JSON.stringify(k) + ":" + canon(v[k]))
            .join(",") + "}"
        : JSON.stringify(v);
    const bad = Object.keys(snap).filter(k => k !== "deleted" && canon(snap[k]) !== canon(api[k]));
    const hash = require("crypto").createHash("sha256").update(canon(snap)).digest("hex");
    console.log(bad.length ? "differ: " + bad.join(",") : "same");
    console.log(Object.keys(snap).sort().join(","));
    console.log("1-" + hash.slice(0, 20));
' "$SNAP" "$H_BODY")
assert_eq "the API shows the snapshot's configuration" same "$(sed -n 1p <<< "$same")"
KEYS='deleted,depends_on,description,destination_id,load_mode,max_retries,name,schedule,'
KEYS+='source_id,status,tables,target_schema,timeout_seconds,timezone'
assert_eq "the snapshot has the console's keys" "$KEYS" \
    "$(sed -n 2p <<< "$same")"
assert_eq "ETag = 1- + sha256 of the canonical snapshot" "\"$(sed -n 3p <<< "$same")\"" "$ETAG"
api PATCH "/api/v1/pipelines/$P" -H "If-Match: $ETAG" -d '{"max_retries": 3}'
assert_eq "an unchanged PATCH -> 200" 200 "$H_STATUS"
assert_eq "... appends no version" 1 \
    "$(h_psql "SELECT count(*) FROM sluice.pipeline_versions WHERE pipeline_id = '$P'")"

# --- sluice demo setup: again ------------------------------------------------------------

out=$(printf '%s\n' "$SECRET" | sluice_cli demo setup "${DEMO_ARGS[@]}" 2>&1) && rc=0 || rc=$?
assert_eq "a second demo setup exits 0" 0 "$rc"
assert_eq "... says the pipeline exists" "pipeline exists" "$(tail -n 1 <<< "$out")"
assert_eq "... adds nothing" '1|1|1|1' \
    "$(h_psql "SELECT (SELECT count(*) FROM sluice.sources) || '|' ||
               (SELECT count(*) FROM sluice.pipelines) || '|' ||
               (SELECT count(*) FROM sluice.pipeline_versions) || '|' ||
               (SELECT count(*) FROM sluice_runs.runs)")"

# --- the first run ---------------------------------------------------------------------------

sluice_cli tick --once >> "$H_LOG/tick.log" 2>&1 || true
row=$(h_psql "SELECT status || '|' || coalesce(error, '') FROM sluice_runs.runs
              WHERE id = $RUN")
assert_eq "sluice tick --once ran the demo run" "success|" "$row"
WH_URL=postgresql://sluice@127.0.0.1:$H_PG_PORT/$WH_DB
for t in customers orders events page_views countries; do
    assert_eq "analytics.$t has every row" \
        "$(h_psql "SELECT count(*) FROM public.$t" "$DEMO_URL")" \
        "$(h_psql "SELECT count(*) FROM analytics.$t" "$WH_URL" 2> /dev/null || echo missing)"
done
assert_eq "the run's rows_loaded is the sum" 18030 \
    "$(h_psql "SELECT rows_loaded FROM sluice_runs.runs WHERE id = $RUN")"

# --- deleted: the source is reused, --no-run queues nothing ------------------------------------

api GET "/api/v1/pipelines/$P"
api DELETE "/api/v1/pipelines/$P" -H "If-Match: $(h_header ETag)"
assert_true "the pipeline is deleted through the API" test "$H_STATUS" -lt 300
out=$(printf '%s\n' "$SECRET" | sluice_cli demo setup --no-run "${DEMO_ARGS[@]}" 2>&1) \
    && rc=0 || rc=$?
assert_eq "demo setup after a delete exits 0" 0 "$rc"
assert_contains "... reuses the source" "$out" "source \"Demo shop\" exists ($SRC)"
assert_eq "... --no-run: no run queued" "no run queued" "$(tail -n 1 <<< "$out")"
P2=$(h_psql "SELECT id FROM sluice.pipelines WHERE name = 'demo_shop' AND deleted_at IS NULL")
assert_eq "... a new pipeline, no run of it" "true|0" \
    "$(h_psql "SELECT ('$P2' <> '$P') || '|' || (SELECT count(*) FROM sluice_runs.runs
               WHERE pipeline_id = '$P2')")"

# --- scripts/stack.sh --------------------------------------------------------------------------

stack=$H_ROOT/scripts/stack.sh
var=$H_TMP/stackvar
port=$(h_free_port)
h_defer env SLUICE_VAR="$var" "$stack" stop
stack_start() {
    env -u SLUICE_PG_PORT -u SLUICE_DATABASE_URL -u SLUICE_WEB_SOCKET -u SLUICE_BASE_URL \
        SLUICE_VAR="$var" SLUICE_HTTP_PORT="$port" "$@" "$stack" start 2>&1
}
stack_sql() {
    local url
    url=$(SLUICE_VAR=$var "$stack" env | sed -n "s/^export SLUICE_DATABASE_URL=//p")
    url=${url//\'/}
    "$H_PG_BIN/psql" -X -tA -d "${url%/*}/${2:-sluice}" -c "$1"
}

out=$(stack_start SLUICE_DEMO=0) && rc=0 || rc=$?
assert_eq "stack.sh start with SLUICE_DEMO=0 exits 0" 0 "$rc"
assert_eq "... and makes no demo" "0" \
    "$(stack_sql "SELECT count(*) FROM pg_database WHERE datname = 'sluice_demo'" postgres)"
out=$(stack_start) && rc=0 || rc=$?
assert_eq "the next start exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
assert_contains "... loads the demo" "$out" "loaded the demo shop into sluice_demo"
assert_contains "... syncs it" "$out" "demo pipeline synced: 18030 rows"
before_url=${out%%sluice is running at*}
assert_contains "... before printing the URL" "$before_url" "demo pipeline synced"
assert_eq "... one source, one pipeline, one successful run" '1|1|success' \
    "$(stack_sql "SELECT (SELECT count(*) FROM sluice.sources WHERE name = 'Demo shop') || '|'
                  || (SELECT count(*) FROM sluice.pipelines WHERE name = 'demo_shop') || '|'
                  || (SELECT string_agg(status, ',') FROM sluice_runs.runs)")"
assert_eq "... the warehouse has the orders" 5000 \
    "$(stack_sql "SELECT count(*) FROM analytics.orders" sluice_warehouse 2>&1)"
out=$(stack_start) && rc=0 || rc=$?
assert_eq "a third start exits 0" 0 "$rc"
assert_true "... does not touch the demo" bash -c "! grep -q demo <<< \"\$1\"" _ "$out"
assert_eq "... adds nothing" '1|1|1' \
    "$(stack_sql "SELECT (SELECT count(*) FROM sluice.sources) || '|'
                  || (SELECT count(*) FROM sluice.pipelines) || '|'
                  || (SELECT count(*) FROM sluice_runs.runs)")"

h_done
