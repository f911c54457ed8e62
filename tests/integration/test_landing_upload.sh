#!/usr/bin/env bash
# test_landing_upload.sh - landing zones and streaming uploads end to end,
# through nginx and the pool:
#   - zones over the API: create (validation: names, UUID-like names,
#     identifiers, declared columns, sizes, unknown fields), get by id and by
#     name, list with cursors, patch, delete refused with files (409) and
#     done with ?purge=true (rows and bytes gone); the feature flag hides it all;
#   - uploads: multipart with two files (both stored byte for byte, sha256
#     and size recorded, the name sluice's own), raw PUT with Content-Length
#     and chunked, identical content reported as a duplicate (not stored
#     again, no event), the landing.file_uploaded event with its data and
#     the audit rows, traversal and control-character names stored safely
#     (NUL refused), a body with no final boundary refused with nothing left;
#   - limits: 413 over a zone's max with Content-Length (before anything is
#     written) and chunked / multipart (the temporary file, watched while it
#     grows, never passes the limit), nothing left behind; a client killed
#     mid-upload (Content-Length and chunked) leaves no row and no file;
#   - 2 GiB streamed with PUT: stored whole, the right sha256, and the peak
#     RSS (VmHWM) of the worker that read it (found by its rchar) under
#     64 MiB;
#   - roles and CSRF: a viewer gets 403 on both upload routes; the page form
#     needs ?_csrf= (403 without), answers 303 to the zone page with a flash
#     (or 201 JSON for upload.js), and bearer API uploads need no token;
#   - pages: the list, the zone page with its files, the new / edit forms
#     (422 with kept values), the delete confirmation with its purge box.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

export SLUICE_WEB_WORKERS=2
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
    > /dev/null 2>&1
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi \
    > /dev/null 2>&1
ED=$(sluice_cli token create --email "$ED_EMAIL" --name tests 2> /dev/null)
VI=$(sluice_cli token create --email "$V_EMAIL" --name tests 2> /dev/null)
assert_true "editor and viewer tokens made" test -n "$ED" -a -n "$VI"

DEST=00000000-0000-4000-8000-0000000000d1
h_psql "INSERT INTO sluice.destinations (id, name, type, host, port, database, username,
                                         is_default, target_schema)
        VALUES ('$DEST', 'warehouse', 'postgresql', '127.0.0.1', $H_PG_PORT, 'x', 'sluice',
                true, 'analytics')" > /dev/null

assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
jget() { printf '%s' "$H_BODY" | h_json "$1" || true; }
nitems() { # the length of .items in H_BODY
    printf '%s' "$H_BODY" | node -e \
        'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).items.length)'
}
api() { # METHOD PATH TOKEN [curl args]: a JSON request
    local method=$1 path=$2 token=$3
    shift 3
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
AUTH=(-H "Authorization: Bearer $ED")
ZURL=$H_URL/api/v1/landing-zones
rows() { h_psql "SELECT count(*) FROM sluice.landing_files${1:+ WHERE $1}"; }
tmp_files() { find "$H_VAR/landing" -name '.tmp-*' 2> /dev/null | wc -l; }
# up CURL_ARGS...: an upload with curl (long timeout); H_STATUS, H_BODY.
up() {
    : > "$H_TMP/.up_body"
    H_STATUS=$(curl -s -m 300 -o "$H_TMP/.up_body" -w '%{http_code}' "$@" || true)
    [ -n "$H_STATUS" ] || H_STATUS=000
    H_BODY=$(cat "$H_TMP/.up_body")
}

# --- zones over the API -----------------------------------------------------------------

api POST /api/v1/landing-zones "$ED" -d '{"name": "Orders-in", "description": "daily orders",
    "destination_id": "'$DEST'", "target_table": "orders", "format": "csv",
    "csv_delimiter": ";", "schema_mode": "declared",
    "declared_columns": [{"name": "id", "type": "int"}, {"name": "amount", "type": "numeric"}],
    "max_file_bytes": 3221225472}'
assert_eq "create a zone: 201" 201 "$H_STATUS"
Z=$(jget id)
assert_eq "zone name kept" Orders-in "$(jget name)"
assert_eq "zone delimiter" ";" "$(jget csv_delimiter)"
assert_eq "zone target schema defaults to the destination's" analytics \
    "$(jget effective_target_schema)"
assert_eq "zone target_schema null" null "$(jget target_schema)"
assert_eq "declared columns kept" \
    '[{"name":"id","type":"int"},{"name":"amount","type":"numeric"}]' "$(jget declared_columns)"
assert_eq "Location header" "/api/v1/landing-zones/$Z" "$(h_header Location)"
assert_eq "zone audited" 1 "$(h_psql "SELECT count(*) FROM sluice.audit_log
    WHERE action = 'landing_zone.create' AND object_id = '$Z'")"

api POST /api/v1/landing-zones "$ED" -d '{"name": "orders-IN", "destination_id": "'$DEST'",
    "target_table": "t"}'
assert_eq "a name taken in another case: 422" "422:A landing zone with this name already exists." \
    "$H_STATUS:$(jget errors.name)"
api POST /api/v1/landing-zones "$ED" -d '{"name": "12345678-1234-4234-8234-123456789012",
    "destination_id": "'$DEST'", "target_table": "t"}'
assert_eq "a UUID-like name: 422" 422 "$H_STATUS"
assert_contains "its message" "$(jget errors.name)" "letters, digits"
api POST /api/v1/landing-zones "$ED" -d '{"name": "../x", "destination_id": "nope",
    "target_table": "1bad", "format": "xml", "schema_mode": "declared",
    "declared_columns": [{"name": "a", "type": "money"}], "max_file_bytes": 9999999999,
    "processed_max_age_days": 0, "color": "red", "id": "x", "csv_quote": "`"}'
assert_eq "many bad fields: 422" 422 "$H_STATUS"
for k in name destination_id target_table format declared_columns max_file_bytes \
    processed_max_age_days color id csv_quote; do
    assert_true "error for $k" test -n "$(jget "errors.$k")"
done
assert_eq "unknown field" "unknown field" "$(jget errors.color)"
assert_eq "read-only field" "is read-only" "$(jget errors.id)"
api POST /api/v1/landing-zones "$ED" -d '{"name": "z2", "destination_id": "'$DEST'",
    "target_table": "t", "schema_mode": "infer", "declared_columns": [{"name":"a","type":"int"}]}'
assert_eq "columns with an inferred schema: 422" 422 "$H_STATUS"
api POST /api/v1/landing-zones "$ED" -d '{"name": "z2", "destination_id": "'$DEST'",
    "target_table": "t", "schema_mode": "declared", "declared_columns":
    [{"name":"a","type":"int"},{"name":"A","type":"text"}]}'
assert_eq "a column declared twice: 422" "422:column A is declared twice" \
    "$H_STATUS:$(jget errors.declared_columns)"

api POST /api/v1/landing-zones "$ED" -d '{"name": "small", "destination_id": "'$DEST'",
    "target_table": "small_t", "format": "jsonl", "max_file_bytes": 1048576}'
assert_eq "a small zone: 201" 201 "$H_STATUS"
ZS=$(jget id)
api POST /api/v1/landing-zones "$VI" -d '{"name": "nope", "destination_id": "'$DEST'",
    "target_table": "t"}'
assert_eq "a viewer cannot create a zone" 403 "$H_STATUS"

api GET /api/v1/landing-zones/orders-in "$VI"
assert_eq "get by name, any case" "200:$Z" "$H_STATUS:$(jget id)"
api GET "/api/v1/landing-zones/$Z" "$VI"
assert_eq "get by id" "200:Orders-in" "$H_STATUS:$(jget name)"
api GET /api/v1/landing-zones/no-such "$VI"
assert_eq "unknown zone: 404" 404 "$H_STATUS"
api GET /api/v1/landing-zones/00000000-0000-4000-8000-000000000000 "$VI"
assert_eq "unknown zone id: 404" 404 "$H_STATUS"
api GET '/api/v1/landing-zones?limit=1' "$VI"
assert_eq "list page 1" "200:Orders-in" "$H_STATUS:$(jget items.0.name)"
CUR=$(jget next_cursor)
api GET "/api/v1/landing-zones?limit=1&cursor=$CUR" "$VI"
assert_eq "list page 2" "small:null" "$(jget items.0.name):$(jget next_cursor)"
api GET '/api/v1/landing-zones?sort=x' "$VI"
assert_eq "undeclared list parameter: 422" 422 "$H_STATUS"

api PATCH "/api/v1/landing-zones/$ZS" "$ED" -d '{"description": "json lines", "auto_purge": false,
    "target_schema": "inbox"}'
assert_eq "patch: 200" "200:json lines:false:inbox" \
    "$H_STATUS:$(jget description):$(jget auto_purge):$(jget target_schema)"
assert_eq "patch keeps the rest" "jsonl:1048576" "$(jget format):$(jget max_file_bytes)"
assert_contains "patch audited with its changes" "$(h_psql "SELECT details FROM sluice.audit_log
    WHERE action = 'landing_zone.update' AND object_id = '$ZS'")" '"auto_purge": {"to": false'

# --- uploads: multipart, PUT, chunked ----------------------------------------------------

printf 'id;amount\r\n1;2.50\r\n2;"3,75"\r\n' > "$H_TMP/a.csv"
head -c 300000 /dev/urandom > "$H_TMP/b.bin"
up -H "Authorization: Bearer $ED" -F "files=@$H_TMP/a.csv;type=text/csv" \
    -F "files=@$H_TMP/b.bin;filename=b data.bin" -F "note=ignored field" \
    "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "multipart with two files: 201" 201 "$H_STATUS"
F1=$(jget files.0.id)
F2=$(jget files.1.id)
assert_eq "file 1 name and type" "a.csv:text/csv" \
    "$(jget files.0.name):$(jget files.0.content_type)"
assert_eq "file 2 name" "b data.bin" "$(jget files.1.name)"
assert_eq "file 1 sha256" "$(sha "$H_TMP/a.csv")" "$(jget files.0.sha256)"
assert_eq "file 2 sha256" "$(sha "$H_TMP/b.bin")" "$(jget files.1.sha256)"
assert_eq "file 2 size" 300000 "$(jget files.1.size_bytes)"
assert_eq "status uploaded, no duplicate" "uploaded:null" \
    "$(jget files.0.status):$(jget files.0.duplicate_of)"
assert_eq "stored under its id" "$F1" "$(jget files.0.stored_name)"
assert_true "file 1 bytes on disk" cmp -s "$H_TMP/a.csv" "$H_VAR/landing/$Z/$F1"
assert_true "file 2 bytes on disk" cmp -s "$H_TMP/b.bin" "$H_VAR/landing/$Z/$F2"
assert_eq "file mode 0640" 640 "$(stat -c %a "$H_VAR/landing/$Z/$F1")"
assert_eq "two rows, the uploader recorded" "2:$ED_EMAIL" \
    "$(rows "zone_id = '$Z'"):$(h_psql "SELECT DISTINCT uploaded_by_email
        FROM sluice.landing_files WHERE zone_id = '$Z'")"
assert_eq "no temporary file left" 0 "$(tmp_files)"

head -c 123457 /dev/urandom > "$H_TMP/c.bin"
up -H "Authorization: Bearer $ED" -T "$H_TMP/c.bin" -H 'Content-Type: application/x-ndjson' \
    "$H_URL/api/v1/landing-zones/orders-in/files/c.jsonl"
assert_eq "raw PUT with Content-Length: 201" "201:c.jsonl:application/x-ndjson" \
    "$H_STATUS:$(jget name):$(jget content_type)"
F3=$(jget id)
assert_eq "PUT sha256 and size" "$(sha "$H_TMP/c.bin"):123457" "$(jget sha256):$(jget size_bytes)"
assert_true "PUT bytes on disk" cmp -s "$H_TMP/c.bin" "$H_VAR/landing/$Z/$F3"

head -c 200001 /dev/urandom > "$H_TMP/d.bin"
up -H "Authorization: Bearer $ED" -H 'Transfer-Encoding: chunked' --data-binary "@$H_TMP/d.bin" \
    -X PUT "$H_URL/api/v1/landing-zones/$Z/files/d.bin"
assert_eq "raw PUT chunked: 201" 201 "$H_STATUS"
F4=$(jget id)
assert_eq "chunked sha256 and size" "$(sha "$H_TMP/d.bin"):200001" \
    "$(jget sha256):$(jget size_bytes)"
assert_true "chunked bytes on disk" cmp -s "$H_TMP/d.bin" "$H_VAR/landing/$Z/$F4"
: > "$H_TMP/empty.csv"
up "${AUTH[@]}" -T "$H_TMP/empty.csv" "$ZURL/$Z/files/empty.csv"
assert_eq "an empty file is a file" "201:0" "$H_STATUS:$(jget size_bytes)"
FE=$(jget id)

# The event, its data, the audit rows.
EV="SELECT count(*) FROM sluice_events.events WHERE type = 'landing.file_uploaded'
    AND stream = 'landing:$Z'"
assert_eq "one landing.file_uploaded event per file" 5 "$(h_psql "$EV")"
assert_eq "event data" "$Z|Orders-in|Orders-in|c.jsonl|123457|$(sha "$H_TMP/c.bin")" \
    "$(h_psql "SELECT data->>'zone_id', data->>'zone', data->>'zone_name', data->>'name',
        data->>'size', data->>'sha256' FROM sluice_events.events
        WHERE type = 'landing.file_uploaded' AND data->>'file_id' = '$F3'")"
assert_eq "uploads audited with name, size and sha256" "c.jsonl|123457|$(sha "$H_TMP/c.bin")" \
    "$(h_psql "SELECT details->>'name', details->>'size', details->>'sha256'
        FROM sluice.audit_log WHERE action = 'landing.upload' AND object_id = '$F3'")"
assert_eq "an audit row per upload" 5 "$(h_psql "SELECT count(*) FROM sluice.audit_log
    WHERE action = 'landing.upload'")"

# Duplicates: recorded, reported, not stored again, no event.
cp "$H_TMP/b.bin" "$H_TMP/b-again.bin"
up "${AUTH[@]}" -T "$H_TMP/b-again.bin" "$ZURL/$Z/files/b-again.bin"
assert_eq "identical content: 201, rejected as a duplicate" "201:rejected:$F2" \
    "$H_STATUS:$(jget status):$(jget duplicate_of)"
FD=$(jget id)
assert_eq "its reason" "identical to file $F2" "$(jget error)"
assert_eq "its bytes are not kept" null "$(jget stored_name)"
assert_true "nothing on disk under its id" test ! -e "$H_VAR/landing/$Z/$FD"
assert_eq "no event for a duplicate" 5 "$(h_psql "$EV")"
up "${AUTH[@]}" -F "files=@$H_TMP/c.bin;filename=x1" -F "files=@$H_TMP/c.bin;filename=x2" \
    -F "files=@$H_TMP/d.bin;filename=x3" "$ZURL/small/files"
assert_eq "duplicates within one request and zone" "201:null:$(jget files.0.id):null" \
    "$H_STATUS:$(jget files.0.duplicate_of):$(jget files.1.duplicate_of):$(jget \
        files.2.duplicate_of)"
assert_eq "the same bytes in another zone are not a duplicate" uploaded "$(jget files.0.status)"

# --- names --------------------------------------------------------------------------------

printf 'x\n' > "$H_TMP/n.txt"
up -H "Authorization: Bearer $ED" -F "files=@$H_TMP/n.txt;filename=../../etc/passwd" \
    "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "traversal in a multipart name" "201:passwd" "$H_STATUS:$(jget files.0.name)"
FT=$(jget files.0.id)
assert_true "stored under sluice's name" test -f "$H_VAR/landing/$Z/$FT"
assert_true "nothing outside the zone" test ! -e "$H_VAR/etc/passwd" -a ! -e "$H_VAR/landing/etc"
printf 'y\n' > "$H_TMP/n2.txt"
up "${AUTH[@]}" -T "$H_TMP/n2.txt" "$ZURL/$Z/files/..%2F..%2Fx"
assert_eq "traversal in a PUT name" "201:x" "$H_STATUS:$(jget name)"
printf 'z\n' > "$H_TMP/n3.txt"
up -H "Authorization: Bearer $ED" -T "$H_TMP/n3.txt" \
    "$H_URL/api/v1/landing-zones/$Z/files/a%0Ab%09c%E2%80%AE.csv"
assert_eq "control characters and bidi overrides dropped" "201:abc.csv" "$H_STATUS:$(jget name)"
up -H "Authorization: Bearer $ED" -T "$H_TMP/n3.txt" "$H_URL/api/v1/landing-zones/$Z/files/a%00b"
assert_eq "a NUL in the name is refused" 400 "$H_STATUS"
up -H "Authorization: Bearer $ED" -T "$H_TMP/n3.txt" "$H_URL/api/v1/landing-zones/$Z/files/..%2F"
assert_eq "a name that is only a path: 422" 422 "$H_STATUS"
# A raw multipart body with a control character and a quote in the name.
printf -- '--BB\r\nContent-Disposition: form-data; name="files"; %s\r\n\r\nqq\r\n--BB--\r\n' \
    'filename="q\"'$'\001''w.csv"' > "$H_TMP/raw.mp"
up -H "Authorization: Bearer $ED" -H 'Content-Type: multipart/form-data; boundary=BB' \
    --data-binary "@$H_TMP/raw.mp" "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "quoted name with an escaped quote and a control character" '201:q"w.csv' \
    "$H_STATUS:$(jget files.0.name)"
N_BEFORE=$(rows)
printf -- '--BB\r\nContent-Disposition: form-data; name="files"; %s\r\n\r\ntruncated' \
    'filename="t.csv"' > "$H_TMP/trunc.mp"
up -H "Authorization: Bearer $ED" -H 'Content-Type: multipart/form-data; boundary=BB' \
    --data-binary "@$H_TMP/trunc.mp" "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "no final boundary: 400" 400 "$H_STATUS"
assert_contains "its reason" "$(jget detail)" "closing boundary"
printf -- '--BB\nContent-Disposition: form-data; name="files"; filename="lf.csv"\n\nx\n--BB--\n' \
    > "$H_TMP/lf.mp"
up -H "Authorization: Bearer $ED" -H 'Content-Type: multipart/form-data; boundary=BB' \
    --data-binary "@$H_TMP/lf.mp" "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "LF-only line ends: 400" 400 "$H_STATUS"
up -H "Authorization: Bearer $ED" -H 'Content-Type: text/csv' --data-binary "@$H_TMP/a.csv" \
    "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "POST that is not multipart: 415" 415 "$H_STATUS"
up -H "Authorization: Bearer $ED" -F "note=no files" "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "multipart without a file: 422" 422 "$H_STATUS"
assert_eq "refused bodies leave no row" "$N_BEFORE" "$(rows)"
assert_eq "and no temporary file" 0 "$(tmp_files)"

# --- limits ----------------------------------------------------------------------------------

head -c 4194304 /dev/urandom > "$H_TMP/big4.bin"
N_BEFORE=$(rows)
up "${AUTH[@]}" -T "$H_TMP/big4.bin" "$ZURL/small/files/big"
assert_eq "over the zone's max with Content-Length: 413" 413 "$H_STATUS"
assert_contains "its reason" "$(jget detail)" "limit of 1048576 bytes"

# Watch the temporary files while a slow chunked upload passes the limit.
watch_tmp() { # writes the largest .tmp-* size seen to $1 until $2 exists
    local max=0 s f
    while [ ! -e "$2" ]; do
        for f in "$H_VAR"/landing/*/.tmp-*; do
            [ -e "$f" ] || continue
            s=$(stat -c %s "$f" 2> /dev/null || echo 0)
            [ "$s" -le "$max" ] || max=$s
        done
        echo "$max" > "$1"
        sleep 0.01
    done
}
rm -f "$H_TMP/stop"
watch_tmp "$H_TMP/max1" "$H_TMP/stop" &
WATCH=$!
up -H "Authorization: Bearer $ED" -H 'Transfer-Encoding: chunked' --limit-rate 2M \
    --data-binary "@$H_TMP/big4.bin" -X PUT "$H_URL/api/v1/landing-zones/$ZS/files/big"
S1=$H_STATUS
up -H "Authorization: Bearer $ED" --limit-rate 2M -F "files=@$H_TMP/big4.bin" \
    "$H_URL/api/v1/landing-zones/$ZS/files"
S2=$H_STATUS
touch "$H_TMP/stop"
wait "$WATCH" || true
assert_eq "over the max, chunked: 413" 413 "$S1"
assert_eq "over the max, multipart: 413" 413 "$S2"
MAX=$(cat "$H_TMP/max1")
assert_true "a temporary file was seen ($MAX bytes)" test "$MAX" -gt 0
assert_true "it never passed the limit ($MAX <= 1048576)" test "$MAX" -le 1048576
assert_eq "nothing recorded" "$N_BEFORE" "$(rows)"
assert_eq "nothing left on disk" 0 "$(tmp_files)"

# A client that goes away mid-upload: killed while its temporary file grows.
kill_mid_upload() { # NAME CURL_ARGS...
    local name=$1 pid i grown=0
    shift
    curl -s -o /dev/null -m 120 --limit-rate 1M -H "Authorization: Bearer $ED" "$@" &
    pid=$!
    for i in $(seq 1 200); do
        if [ "$(find "$H_VAR/landing" -name '.tmp-*' -size +100k 2> /dev/null | wc -l)" -gt 0 ]
        then
            grown=1
            break
        fi
        sleep 0.05
        : "$i"
    done
    kill "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    assert_eq "$name: the upload had started" 1 "$grown"
    h_wait_for 10 test "$(tmp_files)" -eq 0 || true
    wait_gone() { [ "$(tmp_files)" -eq 0 ]; }
    h_wait_for 10 wait_gone || true
    assert_eq "$name: no temporary file left" 0 "$(tmp_files)"
    assert_eq "$name: no row" "$N_BEFORE" "$(rows)"
}
head -c 67108864 /dev/zero > "$H_TMP/zero64.bin"
kill_mid_upload "killed PUT with Content-Length" -T "$H_TMP/zero64.bin" \
    "$H_URL/api/v1/landing-zones/$Z/files/killed.bin"
kill_mid_upload "killed chunked PUT" -H 'Transfer-Encoding: chunked' -X PUT \
    --data-binary "@$H_TMP/zero64.bin" "$H_URL/api/v1/landing-zones/$Z/files/killed2.bin"
kill_mid_upload "killed multipart" -F "files=@$H_TMP/zero64.bin" \
    "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "the pool is still whole" 2 "$(h_workers | wc -l)"

# --- 2 GiB through nginx, memory flat ---------------------------------------------------------

truncate -s 2G "$H_TMP/two.bin"
TWO_SHA=$(sha "$H_TMP/two.bin")
declare -A RCHAR=()
for w in $(h_workers); do
    RCHAR[$w]=$(awk '/^rchar/ { print $2 }' "/proc/$w/io")
done
T0=$(h_now_ms)
up "${AUTH[@]}" -T "$H_TMP/two.bin" "$ZURL/$Z/files/two.bin"
T1=$(h_now_ms)
h_log "2 GiB PUT took $(( (T1 - T0) / 1000 )).$(( (T1 - T0) % 1000 / 100 )) s"
assert_eq "2 GiB PUT: 201" 201 "$H_STATUS"
assert_eq "2 GiB: size and sha256" "2147483648:$TWO_SHA" "$(jget size_bytes):$(jget sha256)"
FBIG=$(jget id)
assert_eq "2 GiB on disk" 2147483648 \
    "$(stat -c %s "$H_VAR/landing/$Z/$FBIG" 2> /dev/null || echo 0)"
READER=""
for w in $(h_workers); do
    now=$(awk '/^rchar/ { print $2 }' "/proc/$w/io")
    if [ -n "${RCHAR[$w]:-}" ] && [ $((now - RCHAR[$w])) -ge 2147483648 ]; then READER=$w; fi
done
assert_true "the worker that read the body found ($READER)" test -n "$READER"
HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/${READER:-$H_WEB_PID}/status" 2> /dev/null || echo 0)
h_log "peak RSS (VmHWM) of worker $READER: $HWM kB"
assert_true "its peak RSS stayed under 64 MiB ($HWM kB)" test "$HWM" -gt 0 -a "$HWM" -lt 65536
rm -f "$H_TMP/two.bin" "$H_VAR/landing/$Z/$FBIG"
h_psql "DELETE FROM sluice.landing_files WHERE id = $FBIG" > /dev/null

# --- roles, CSRF and the pages ---------------------------------------------------------------

up -H "Authorization: Bearer $VI" -T "$H_TMP/n.txt" "$H_URL/api/v1/landing-zones/$Z/files/v.txt"
assert_eq "viewer PUT: 403" 403 "$H_STATUS"
up -H "Authorization: Bearer $VI" -F "files=@$H_TMP/n.txt" "$H_URL/api/v1/landing-zones/$Z/files"
assert_eq "viewer multipart: 403" 403 "$H_STATUS"

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
    src=127.0.5.$LOGINS
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
login "$JE" "$ED_EMAIL" "$ED_PW"
login "$JV" "$V_EMAIL" "$V_PW"

page "$JE" /landing
assert_eq "the list page" 200 "$H_STATUS"
assert_contains "it lists the zone" "$H_BODY" ">Orders-in</a>"
assert_contains "with where it loads" "$H_BODY" "<code>analytics.orders</code>"
assert_contains "the nav link" "$H_BODY" '<a href="/landing" aria-current="page">Landing</a>'
page "$JE" "/landing/$Z"
assert_eq "the zone page" 200 "$H_STATUS"
CSRF=$(csrf_in)
assert_contains "the upload form posts multipart with the token in the URL" "$H_BODY" \
    "enctype=\"multipart/form-data\" action=\"/landing/$Z/files?_csrf=$CSRF\""
assert_contains "the progress script" "$H_BODY" '<script src="/static/js/upload.js" defer>'
assert_contains "the files table: a file" "$H_BODY" "c.jsonl <span class=\"hint\">#$F3</span>"
assert_contains "its short sha256" "$H_BODY" ">$(sha "$H_TMP/c.bin" | cut -c1-12)</code>"
assert_contains "the duplicate's reason" "$H_BODY" "identical to file $F2"
assert_contains "the uploader" "$H_BODY" "<td>$ED_EMAIL</td>"
assert_contains "the declared columns" "$H_BODY" "<code>amount numeric</code>"

printf 'p1\n' > "$H_TMP/p1.csv"
printf 'p2\n' > "$H_TMP/p2.csv"
page "$JE" "/landing/$Z/files" -F "files=@$H_TMP/p1.csv" -F "files=@$H_TMP/p2.csv"
assert_eq "page upload without the token: 403" 403 "$H_STATUS"
page "$JE" "/landing/$Z/files?_csrf=wrong" -F "files=@$H_TMP/p1.csv"
assert_eq "page upload with a wrong token: 403" 403 "$H_STATUS"
page "$JV" "/landing/$Z/files?_csrf=$CSRF" -F "files=@$H_TMP/p1.csv"
assert_eq "viewer page upload: 403" 403 "$H_STATUS"
page "$JE" "/landing/$Z/files?_csrf=$CSRF" -F "files=@$H_TMP/p1.csv" -F "files=@$H_TMP/p2.csv"
assert_eq "page upload: 303 to the zone page" "303:/landing/$Z" "$H_STATUS:$(h_header Location)"
page "$JE" "/landing/$Z"
assert_contains "the flash names each file" "$H_BODY" \
    "Uploaded 2 files: p1.csv (3 bytes) stored as file"
assert_contains "both listed" "$H_BODY" "p2.csv <span"
page "$JE" "/landing/$Z/files?_csrf=$CSRF" -F "files=@$H_TMP/p1.csv" -H 'Accept: application/json'
P1=$(h_psql "SELECT id FROM sluice.landing_files WHERE original_name = 'p1.csv'
    AND duplicate_of IS NULL")
assert_eq "upload.js's request: 201 JSON" "201:/landing/$Z:$P1" \
    "$H_STATUS:$(jget location):$(jget files.0.duplicate_of)"
assert_contains "its message" "$(jget message)" "p1.csv is identical to file"
page "$JE" "/landing/$ZS/files?_csrf=$CSRF" -F "files=@$H_TMP/big4.bin"
assert_eq "a page upload's refusal: the zone page again, 413" 413 "$H_STATUS"
assert_contains "with the reason above the form" "$H_BODY" \
    'data-testid="upload-error">the file is larger than this zone'
page "$JV" "/landing/$Z"
assert_lacks "a viewer sees no upload form" "$H_BODY" 'enctype="multipart/form-data"'

page "$JE" /landing/new
assert_eq "the new zone form" 200 "$H_STATUS"
CSRF=$(csrf_in)
page "$JE" /landing --data-urlencode "_csrf=$CSRF" --data-urlencode "name=bad name" \
    --data-urlencode "destination_id=$DEST" --data-urlencode "target_table=" \
    --data-urlencode "format=csv" --data-urlencode "csv_delimiter=tab" \
    --data-urlencode "csv_quote=double" --data-urlencode "schema_mode=declared" \
    --data-urlencode $'declared_columns=id int\nbroken' --data-urlencode "on_mismatch=reject" \
    --data-urlencode "load_mode=direct" --data-urlencode "max_file_mb=99999" \
    --data-urlencode "processed_max_age_days=7"
assert_eq "an invalid zone form: 422" 422 "$H_STATUS"
assert_contains "field errors" "$H_BODY" 'id="target_table-error"'
assert_contains "the columns line named" "$H_BODY" "line 2: write one column per line"
assert_contains "the size named" "$H_BODY" 'id="max_file_mb-error"'
assert_contains "typed values kept" "$H_BODY" 'value="bad name"'
assert_contains "the delimiter kept" "$H_BODY" '<option value="tab" selected>'
page "$JE" /landing --data-urlencode "_csrf=$CSRF" --data-urlencode "name=web-zone" \
    --data-urlencode "destination_id=$DEST" --data-urlencode "target_table=web_t" \
    --data-urlencode "format=csv" --data-urlencode "csv_delimiter=pipe" \
    --data-urlencode "csv_quote=single" --data-urlencode "schema_mode=declared" \
    --data-urlencode $'declared_columns=id int\r\nwhen: timestamptz\r\n' \
    --data-urlencode "on_mismatch=load_partial" --data-urlencode "load_mode=raw" \
    --data-urlencode "max_file_mb=16" --data-urlencode "processed_max_age_days=7" \
    --data-urlencode "csv_header=1"
assert_eq "a zone from the form: 303" 303 "$H_STATUS"
ZW=${H_HEADERS##*Location: /landing/}
ZW=${ZW%%$'\n'*}
api GET "/api/v1/landing-zones/$ZW" "$VI"
assert_eq "stored as typed: delimiter, quote, header" "|:':true" \
    "$(jget csv_delimiter):$(jget csv_quote):$(jget csv_header)"
assert_eq "stored as typed: columns" \
    '[{"name":"id","type":"int"},{"name":"when","type":"timestamptz"}]' "$(jget declared_columns)"
assert_eq "stored as typed: the rest" "16777216:7:false:load_partial:raw" \
    "$(jget max_file_bytes):$(jget processed_max_age_days):$(jget auto_purge):$(jget \
        on_mismatch):$(jget load_mode)"
page "$JE" "/landing/$ZW/edit"
assert_contains "the edit form shows the columns" "$H_BODY" $'id int\nwhen timestamptz</textarea>'
assert_contains "and the size in MiB" "$H_BODY" 'value="16"'

page "$JE" "/landing/$Z/delete"
assert_contains "the delete page offers the purge" "$H_BODY" 'name="purge"'
CSRF=$(csrf_in)
page "$JE" "/landing/$Z/delete" --data-urlencode "_csrf=$CSRF"
assert_eq "delete with files, no purge: 409" 409 "$H_STATUS"
assert_contains "it says why" "$H_BODY" "Also delete its files"
api DELETE "/api/v1/landing-zones/$Z" "$ED"
assert_eq "API delete with files: 409" 409 "$H_STATUS"
assert_contains "it says how" "$(jget detail)" "?purge=true"
api DELETE "/api/v1/landing-zones/$Z?purge=maybe" "$ED"
assert_eq "a bad purge value: 422" 422 "$H_STATUS"
page "$JE" "/landing/$Z/delete" --data-urlencode "_csrf=$CSRF" --data-urlencode "purge=1"
assert_eq "delete with purge: 303" "303:/landing" "$H_STATUS:$(h_header Location)"
assert_eq "its rows are gone" 0 "$(rows "zone_id = '$Z'")"
assert_true "its directory is gone" test ! -e "$H_VAR/landing/$Z"
assert_eq "the delete audited" "true" "$(h_psql "SELECT details->>'purged' FROM sluice.audit_log
    WHERE action = 'landing_zone.delete' AND object_id = '$Z'")"
api DELETE "/api/v1/landing-zones/$ZW" "$ED"
assert_eq "API delete of an empty zone: 204" 204 "$H_STATUS"

# --- paging ---------------------------------------------------------------------------------

h_psql "INSERT INTO sluice.landing_files (zone_id, original_name, size_bytes, sha256)
        SELECT '$ZS', 'bulk-' || g || '.csv', g, lpad(to_hex(g), 64, '0')
        FROM generate_series(1, 60) g;
        INSERT INTO sluice.landing_zones (name, destination_id, target_table)
        SELECT 'zz-' || lpad(g::text, 2, '0'), '$DEST', 't' FROM generate_series(1, 55) g" \
    > /dev/null
NFILES=$(rows "zone_id = '$ZS'")
page "$JE" "/landing/$ZS"
assert_eq "the zone page shows 50 files" 50 "$(grep -c '<tr data-file=' <<< "$H_BODY")"
OLDER=$(grep -o 'href="/landing/[^"]*?after=[0-9]*" rel="next"' <<< "$H_BODY" \
    | sed 's/.*after=//; s/".*//')
assert_true "with a link to older files" test -n "$OLDER"
page "$JE" "/landing/$ZS?after=$OLDER"
assert_eq "the second page has the rest" $((NFILES - 50)) \
    "$(grep -c '<tr data-file=' <<< "$H_BODY")"
assert_contains "and a link back" "$H_BODY" 'rel="prev">&larr; Newer</a>'
page "$JE" "/landing/$ZS?after=x"
assert_eq "a bad page link: 400" 400 "$H_STATUS"
SEEN=0
CUR=""
for i in $(seq 1 10); do
    api GET "/api/v1/landing-zones/small/files?limit=20${CUR:+&cursor=$CUR}" "$VI"
    SEEN=$((SEEN + $(nitems)))
    CUR=$(jget next_cursor)
    [ "$CUR" != null ] || break
    : "$i"
done
assert_eq "the API pages through every file" "$NFILES" "$SEEN"
page "$JE" /landing
assert_eq "the list shows 50 zones" 50 "$(grep -c '<a href="/landing/[0-9a-f-]*">' <<< "$H_BODY")"
assert_contains "with a next page" "$H_BODY" 'rel="next">Next &rarr;</a>'
api GET '/api/v1/landing-zones?limit=200' "$VI"
assert_eq "the API lists every zone" "$(h_psql "SELECT count(*) FROM sluice.landing_zones")" \
    "$(nitems)"
api DELETE "/api/v1/destinations/$DEST" "$ED"
assert_eq "a destination with zones cannot be deleted" 409 "$H_STATUS"
assert_contains "it says why" "$(jget detail)" "landing zones use this destination"

# --- the feature flag ------------------------------------------------------------------------

h_psql "INSERT INTO sluice.settings (key, value, updated_by)
        VALUES ('features', '{\"landing_zones\": false}', 'test')
        ON CONFLICT (key) DO UPDATE SET value = sluice.settings.value || EXCLUDED.value" \
    > /dev/null
api GET /api/v1/landing-zones "$VI"
assert_eq "flag off: API 404" 404 "$H_STATUS"
up -H "Authorization: Bearer $ED" -T "$H_TMP/n.txt" "$H_URL/api/v1/landing-zones/small/files/f.txt"
assert_eq "flag off: upload 404" 404 "$H_STATUS"
page "$JE" /landing
assert_eq "flag off: page 404" 404 "$H_STATUS"
page "$JE" /
assert_lacks "flag off: no nav link" "$H_BODY" 'href="/landing"'

h_done
