#!/usr/bin/env bash
# test_landing_load.sh - loading landing files end to end: files uploaded
# through the API (PUT /api/v1/landing-zones/{zone}/files/{name}; rows put
# in place with psql when the upload routes are not there), then
# `sluice tick --once`, with the control database as the destination:
#   - CSV with a BOM, CRLF, quotes, a quoted newline, NULL and '' loaded
#     exactly (EXCEPT against expected rows), types inferred, line numbers;
#   - JSON Lines: exact numbers, booleans, dates, nested values as jsonb;
#   - declared types with load_partial: good rows load, bad rows (type,
#     field count, UTF-8, JSON) land in staging._dead_letters with their
#     line numbers and reasons, counts on the file;
#   - reject mode: nothing loaded (no table made), the file rejected with the
#     first bad lines, a landing.file_rejected event and a notification
#     message for a target subscribed to it;
#   - raw mode writes staging.landing_<zone>_raw;
#   - a table that lacks a column of the file: rejected as a mismatch;
#   - loading the same file again (a crash after the destination commit,
#     and a file left 'loading') keeps its rows once;
#   - a pipeline with a landing_zone_upload trigger gets a run queued;
#   - retention (sluice reap) purges old processed files: bytes deleted,
#     row kept as 'purged';
#   - the preview page shows the table's newest rows, escaped;
#   - the landing_zones flag off: uploaded files wait.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info} SLUICE_TICK_SECONDS=1 \
        "$H_ROOT/bin/sluice" "$@"
}
tick() { sluice_cli tick --once >> "$H_LOG/tick.log" 2>&1 || true; }

ED_EMAIL=ed@example.com
printf '%s\n' 'editor-pass-5678' | sluice_cli user add --email "$ED_EMAIL" --role editor \
    --name Ed > /dev/null 2>&1
TOKEN=$(sluice_cli token create --email "$ED_EMAIL" --name tests 2> /dev/null)
assert_true "editor token made" test -n "$TOKEN"

DBNAME=${H_DATABASE_URL##*/}
CLOSED_PORT=$(h_free_port)
DEST=00000000-0000-4000-8000-0000000000b1
h_psql "INSERT INTO sluice.destinations (id, name, type, host, port, database, username,
                                         is_default)
        VALUES ('$DEST', 'warehouse', 'postgresql', '127.0.0.1', $H_PG_PORT, '$DBNAME',
                'sluice', true)" > /dev/null

# zone NAME TABLE FORMAT SCHEMA_MODE ON_MISMATCH LOAD_MODE [DELIM] [DECLARED]: prints its id.
zone() {
    h_psql "INSERT INTO sluice.landing_zones (name, destination_id, target_schema, target_table,
              format, csv_delimiter, schema_mode, declared_columns, on_mismatch, load_mode)
            VALUES ('$1', '$DEST', 'landing_t', '$2', '$3', '${7:-,}', '$4',
                    '${8:-[]}'::jsonb, '$5', '$6') RETURNING id"
}

USED=$H_TMP/uploads   # one line per upload: api or psql
: > "$USED"
# upload ZONE_ID ZONE_NAME NAME FILE: the file into the zone; prints its id.
upload() {
    local zid=$1 zname=$2 name=$3 file=$4 id sha size
    h_get "$H_URL/api/v1/landing-zones/$zname/files/$name" -X PUT \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
        --data-binary "@$file"
    if [ "$H_STATUS" = 201 ]; then
        id=$(printf '%s' "$H_BODY" | h_json id || printf '%s' "$H_BODY" | h_json file.id)
        if [ -n "$id" ]; then
            echo api >> "$USED"
            printf '%s\n' "$id"
            return
        fi
    fi
    # The upload routes are not there (yet): what an upload records, by hand.
    echo psql >> "$USED"
    sha=$(sha256sum "$file" | cut -d' ' -f1)
    size=$(stat -c %s "$file")
    id=$(h_psql "WITH n AS (SELECT sluice.snowflake_id() AS id),
                 f AS (INSERT INTO sluice.landing_files (id, zone_id, original_name, stored_name,
                   size_bytes, sha256, content_type)
                   SELECT n.id, '$zid', '$name', n.id::text, $size, '$sha', 'text/plain' FROM n
                   RETURNING id)
                 INSERT INTO sluice_events.events (stream, type, data)
                 SELECT 'landing:$zid', 'landing.file_uploaded',
                        jsonb_build_object('zone_id', '$zid', 'zone_name', '$zname',
                                           'file_id', f.id::text, 'file_name', '$name')
                 FROM f RETURNING data ->> 'file_id'")
    mkdir -p "$H_VAR/landing/$zid"
    cp "$file" "$H_VAR/landing/$zid/$id"
    printf '%s\n' "$id"
}
status_of() {
    h_psql "SELECT status || '|' || rows_loaded || '|' || rows_rejected
            FROM sluice.landing_files WHERE id = $1"
}
error_of() { h_psql "SELECT coalesce(error, '') FROM sluice.landing_files WHERE id = $1"; }
# same TABLE EXPECTED_SELECT: rows of TABLE (its non-_sluice columns) equal the expected.
same() {
    local cols
    cols=$(h_psql "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
                   FROM pg_attribute WHERE attrelid = '$1'::regclass AND attnum > 0
                   AND NOT attisdropped AND attname NOT LIKE '\\_sluice\\_%'")
    h_psql "SELECT (SELECT count(*) FROM $1) = (SELECT count(*) FROM ($2) e)
            AND NOT EXISTS (SELECT $cols FROM $1 EXCEPT ($2))
            AND NOT EXISTS (($2) EXCEPT SELECT $cols FROM $1)"
}
types_of() {
    h_psql "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', '
                              ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = '$1'::regclass AND attnum > 0
            AND NOT attisdropped"
}

# A pipeline with a landing_zone_upload trigger on zone csvq (made before
# the upload, so the upload fires it).
h_psql "INSERT INTO sluice.sources (id, name, type, host, port, database, username)
        VALUES ('00000000-0000-4000-8000-0000000000a2', 'downdb', 'postgresql', '127.0.0.1',
                $CLOSED_PORT, 'x', 'sluice');
        INSERT INTO sluice.pipelines (id, name, source_id, destination_id)
        VALUES ('10000000-0000-4000-8000-000000000003', 'landing_pl',
                '00000000-0000-4000-8000-0000000000a2', '$DEST');
        INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table)
        VALUES ('10000000-0000-4000-8000-000000000003', 'public', 'things');
        INSERT INTO sluice.pipeline_triggers (pipeline_id, type, config)
        VALUES ('10000000-0000-4000-8000-000000000003', 'landing_zone_upload',
                '{\"zone_name\": \"csvq\"}')" > /dev/null
# A notification target that hears landing.file_rejected for everything.
h_psql "INSERT INTO sluice.notification_targets (id, name, type, config, secret_enc)
        VALUES ('20000000-0000-4000-8000-000000000001', 'ops', 'webhook', '{}', 'sb1:none');
        INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events)
        VALUES (NULL, '20000000-0000-4000-8000-000000000001', '{landing.file_rejected}')" \
    > /dev/null

F=$H_TMP/files
mkdir -p "$F"

# --- CSV: BOM, CRLF, quotes, a quoted newline, NULL and '' ------------------------------
Z_CSV=$(zone csvq csvq csv infer reject direct)
printf '\xef\xbb\xbf"Order ID",Name,Amount,Day,Note\r\n1,"Smith, John",12.50,2024-01-31,"said ""hi"""\r\n2,"two\r\nlines",-3,2024-02-29,\r\n3,Zo\xc3\xab,0.001,2023-12-01,""\r\n' \
    > "$F/q.csv"
FID_CSV=$(upload "$Z_CSV" csvq orders.csv "$F/q.csv")

# --- JSON Lines ---------------------------------------------------------------------------
Z_JL=$(zone jl jl jsonl infer reject direct)
cat > "$F/j.jsonl" <<'EOF'
{"id": 1, "price": 0.1, "big": 12345678901234567890, "ok": true, "day": "2024-05-01", "tags": ["a", "b"], "info": {"k": "v"}, "name": "x\ty"}
{"id": 2, "price": 2, "big": 1, "ok": false, "day": null, "tags": [], "info": {}, "name": "Zo\u00eb"}

{"id": 3, "price": 1e2, "ok": null}
EOF
FID_JL=$(upload "$Z_JL" jl j.jsonl "$F/j.jsonl")

# --- declared types, load_partial, ';' -------------------------------------------------------
DECL='[{"name":"id","type":"int"},{"name":"amount","type":"numeric"},
       {"name":"day","type":"date"},{"name":"ok","type":"boolean"},
       {"name":"at","type":"timestamptz"},{"name":"note","type":"text"},
       {"name":"meta","type":"jsonb"}]'
Z_DECL=$(zone decl decl csv declared load_partial direct ';' "$DECL")
{
    printf 'id;amount;day;ok;at;note;meta\n'
    printf '1;10.5;2024-01-01;yes;2024-01-01T10:00:00Z;first;{"a":1}\n'
    printf 'x;1;2024-01-01;no;2024-01-01 10:00;bad id;null\n'
    printf '2;1;2024-02-30;no;2024-01-01 10:00;bad day;null\n'
    printf '3;2;2024-03-01\n'
    printf '4;2;2024-03-01;1;2024-03-01 12:00:00+02:00;"multi\nline";[1,2]\n'
    printf '5;3;2024-03-02;0;;\xff;\n'
    printf '6;4;2024-03-03;true;;ok;{"b":\n'
    printf '7;5;2024-03-04;false;;;\n'
} > "$F/d.csv"
FID_DECL=$(upload "$Z_DECL" decl d.csv "$F/d.csv")

# --- reject mode ----------------------------------------------------------------------------
Z_REJ=$(zone rej rej csv declared reject direct ',' \
    '[{"name":"id","type":"int"},{"name":"name","type":"text"}]')
printf 'id,name\n1,a\noops,b\n3,c\nfour,d\n' > "$F/r.csv"
FID_REJ=$(upload "$Z_REJ" rej r.csv "$F/r.csv")

# --- raw mode ----------------------------------------------------------------------------------
Z_RAW=$(zone rawz rawt csv infer reject raw)
printf 'a,b\n1,x\n2,y\n' > "$F/raw.csv"
FID_RAW=$(upload "$Z_RAW" rawz raw.csv "$F/raw.csv")

# --- an existing table without the file's column ----------------------------------------------
h_psql "CREATE SCHEMA IF NOT EXISTS landing_t;
        CREATE TABLE landing_t.mism (x int, _sluice_file_id bigint, _sluice_line bigint,
                                     _sluice_loaded_at timestamptz DEFAULT now())" > /dev/null
Z_MIS=$(zone mism mism csv infer load_partial direct)
printf 'x,y\n1,2\n' > "$F/m.csv"
FID_MIS=$(upload "$Z_MIS" mism m.csv "$F/m.csv")

h_log "uploads: $(grep -c api "$USED") through the API, $(grep -c psql "$USED") by hand"
tick

# --- CSV ----------------------------------------------------------------------------------------
assert_eq "CSV: loaded, 3 rows, none bad" "loaded|3|0" "$(status_of "$FID_CSV")"
assert_eq "CSV: inferred types" \
    "order_id bigint, name text, amount numeric, day date, note text, _sluice_file_id bigint, _sluice_line bigint, _sluice_loaded_at timestamp with time zone" \
    "$(types_of landing_t.csvq)"
assert_eq "CSV: rows exactly (quotes, CRLF in quotes, BOM gone, NULL vs '')" t \
    "$(same landing_t.csvq "VALUES (1::bigint, 'Smith, John', 12.50::numeric, '2024-01-31'::date,
                                    'said \"hi\"'),
                                   (2, E'two\\r\\nlines', -3, '2024-02-29', NULL),
                                   (3, 'Zoë', 0.001, '2023-12-01', '')")"
assert_eq "CSV: line numbers and file id on the rows" "2,3,5|$FID_CSV" \
    "$(h_psql "SELECT string_agg(_sluice_line::text, ',' ORDER BY _sluice_line) || '|' ||
               min(_sluice_file_id) FROM landing_t.csvq")"
assert_eq "CSV: a landing.file_loaded event" 1 \
    "$(h_psql "SELECT count(*) FROM sluice_events.events WHERE type = 'landing.file_loaded'
               AND data ->> 'file_id' = '$FID_CSV' AND (data ->> 'rows_loaded')::int = 3
               AND stream = 'landing:$Z_CSV'")"
assert_eq "CSV: loaded_at set, no error" "t|" \
    "$(h_psql "SELECT loaded_at IS NOT NULL, coalesce(error, '') FROM sluice.landing_files
               WHERE id = $FID_CSV" | tr -d '\n')"

# --- JSON Lines ---------------------------------------------------------------------------------
assert_eq "JSONL: loaded, 3 rows" "loaded|3|0" "$(status_of "$FID_JL")"
assert_eq "JSONL: inferred types" \
    "id bigint, price numeric, big numeric, ok boolean, day date, tags jsonb, info jsonb, name text" \
    "$(types_of landing_t.jl | sed 's/, _sluice_file_id.*//')"
assert_eq "JSONL: rows exactly (every digit, nested values)" t \
    "$(same landing_t.jl "VALUES (1::bigint, 0.1::numeric, 12345678901234567890::numeric, true,
                                  '2024-05-01'::date, '[\"a\",\"b\"]'::jsonb, '{\"k\":\"v\"}'::jsonb,
                                  E'x\\ty'),
                                 (2, 2, 1, false, NULL, '[]', '{}', 'Zoë'),
                                 (3, 100, NULL, NULL, NULL, NULL, NULL, NULL)")"
assert_eq "JSONL: line numbers (a blank line counted)" "1,2,4" \
    "$(h_psql "SELECT string_agg(_sluice_line::text, ',' ORDER BY _sluice_line)
               FROM landing_t.jl")"
assert_eq "JSONL: 0.1 kept as written" "0.1" \
    "$(h_psql "SELECT price::text FROM landing_t.jl WHERE id = 1")"

# --- declared, load_partial ----------------------------------------------------------------------
assert_eq "declared: 3 rows loaded, 5 bad" "loaded|3|5" "$(status_of "$FID_DECL")"
assert_eq "declared: the table has the declared types" \
    "id integer, amount numeric, day date, ok boolean, at timestamp with time zone, note text, meta jsonb" \
    "$(types_of landing_t.decl | sed 's/, _sluice_file_id.*//')"
assert_eq "declared: the good rows exactly" t \
    "$(same landing_t.decl "VALUES (1, 10.5::numeric, '2024-01-01'::date, true,
                                    '2024-01-01 10:00:00+00'::timestamptz, 'first',
                                    '{\"a\":1}'::jsonb),
                                   (4, 2, '2024-03-01', true, '2024-03-01 10:00:00+00',
                                    E'multi\\nline', '[1,2]'),
                                   (7, 5, '2024-03-04', false, NULL, NULL, NULL)")"
assert_eq "declared: dead letters at lines 3, 4, 5, 8, 9" "3,4,5,8,9" \
    "$(h_psql "SELECT string_agg(row_data ->> 'line', ',' ORDER BY (row_data ->> 'line')::int)
               FROM staging._dead_letters WHERE run_id = $FID_DECL")"
assert_eq "declared: dead letters name the zone and the table" "landing:decl|decl|$Z_DECL" \
    "$(h_psql "SELECT DISTINCT source_name || '|' || table_name || '|' || pipeline_id
               FROM staging._dead_letters WHERE run_id = $FID_DECL")"
DL=$(h_psql "SELECT string_agg(error_text, ' / ' ORDER BY id) FROM staging._dead_letters
             WHERE run_id = $FID_DECL")
assert_contains "dead letter: a bad integer" "$DL" 'line 3: column id: "x" is not an integer'
assert_contains "dead letter: a bad date" "$DL" 'line 4: column day: "2024-02-30" is not a date'
assert_contains "dead letter: too few fields" "$DL" 'line 5: has 3 fields, expected 7'
assert_contains "dead letter: bad UTF-8" "$DL" 'line 8: column note: "?" is not valid UTF-8'
assert_contains "dead letter: bad JSON" "$DL" 'line 9: column meta: "{"b":" is not valid JSON'
assert_eq "dead letter keeps the record's fields" '["x", "1", "2024-01-01", "no", "2024-01-01 10:00", "bad id", "null"]' \
    "$(h_psql "SELECT row_data -> 'fields' FROM staging._dead_letters
               WHERE run_id = $FID_DECL AND row_data ->> 'line' = '3'")"
assert_contains "declared: the file's error counts them" "$(error_of "$FID_DECL")" \
    "5 bad records in dead letters: line 3: column id"

# --- reject -----------------------------------------------------------------------------------
assert_eq "reject: rejected, nothing loaded, 2 bad" "rejected|0|2" "$(status_of "$FID_REJ")"
assert_eq "reject: no table was left behind" "" \
    "$(h_psql "SELECT to_regclass('landing_t.rej')")"
ERR=$(error_of "$FID_REJ")
assert_contains "reject: the error names the first bad lines" "$ERR" \
    'line 3: column id: "oops" is not an integer; line 5: column id: "four"'
assert_eq "reject: a landing.file_rejected event with the reason" 1 \
    "$(h_psql "SELECT count(*) FROM sluice_events.events WHERE type = 'landing.file_rejected'
               AND data ->> 'file_id' = '$FID_REJ' AND data ->> 'zone_name' = 'rej'
               AND data ->> 'reason' LIKE '2 bad records, nothing loaded: line 3%'")"
assert_eq "reject: a notification message for the subscribed target" 1 \
    "$(h_psql "SELECT count(*) FROM sluice_events.messages m JOIN sluice_events.events e
               ON e.id = m.event_id WHERE m.event_type = 'landing.file_rejected'
               AND m.target_id = '20000000-0000-4000-8000-000000000001'
               AND e.data ->> 'file_id' = '$FID_REJ'")"
assert_eq "reject: no dead letters for a rejected file" 0 \
    "$(h_psql "SELECT count(*) FROM staging._dead_letters WHERE run_id = $FID_REJ")"

# --- raw -----------------------------------------------------------------------------------------
assert_eq "raw: loaded" "loaded|2|0" "$(status_of "$FID_RAW")"
assert_eq "raw: the raw table holds the rows as JSON" '2:{"a": 1, "b": "x"}|3:{"a": 2, "b": "y"}' \
    "$(h_psql "SELECT string_agg(_sluice_line || ':' || _data::text, '|' ORDER BY _sluice_line)
               FROM staging.landing_rawz_raw WHERE _sluice_file_id = $FID_RAW")"
assert_eq "raw: the typed table too" 2 "$(h_psql "SELECT count(*) FROM landing_t.rawt")"

# --- mismatch --------------------------------------------------------------------------------
assert_eq "mismatch: rejected" "rejected|0|0" "$(status_of "$FID_MIS")"
assert_contains "mismatch: says which column" "$(error_of "$FID_MIS")" \
    "the table landing_t.mism has no column y"
assert_eq "mismatch: nothing loaded" 0 "$(h_psql "SELECT count(*) FROM landing_t.mism")"

# --- the trigger ----------------------------------------------------------------------------------
assert_eq "landing_zone_upload: the upload queued a run of the pipeline" 1 \
    "$(h_psql "SELECT count(*) >= 1 FROM sluice_runs.runs
               WHERE pipeline_id = '10000000-0000-4000-8000-000000000003'
               AND trigger = 'landing'" | sed 's/t/1/')"

# --- loading again is idempotent ------------------------------------------------------------------
# A crash after the destination commit: the file is left 'loading' with its rows in.
h_psql "UPDATE sluice.landing_files SET status = 'loading' WHERE id IN ($FID_CSV, $FID_DECL)" \
    > /dev/null
tick
assert_eq "again: the CSV file loaded once more" "loaded|3|0" "$(status_of "$FID_CSV")"
assert_eq "again: its rows are there once" 3 \
    "$(h_psql "SELECT count(*) FROM landing_t.csvq WHERE _sluice_file_id = $FID_CSV")"
assert_eq "again: the rows are still exact" t \
    "$(same landing_t.csvq "VALUES (1::bigint, 'Smith, John', 12.50::numeric, '2024-01-31'::date,
                                    'said \"hi\"'),
                                   (2, E'two\\r\\nlines', -3, '2024-02-29', NULL),
                                   (3, 'Zoë', 0.001, '2023-12-01', '')")"
assert_eq "again: dead letters once" "3|5" \
    "$(h_psql "SELECT (SELECT count(*) FROM landing_t.decl) || '|' ||
               (SELECT count(*) FROM staging._dead_letters WHERE run_id = $FID_DECL)")"
# Reloading by putting it back to 'uploaded' does the same.
h_psql "UPDATE sluice.landing_files SET status = 'uploaded' WHERE id = $FID_RAW" > /dev/null
tick
assert_eq "again: raw rows once" "loaded|2|0|2|2" \
    "$(status_of "$FID_RAW")|$(h_psql "SELECT count(*) FROM staging.landing_rawz_raw")|$(h_psql "SELECT count(*) FROM landing_t.rawt")"

# --- a second file into the same (existing) table, typed by the table ------------------------------
printf 'Order ID,name,amount,day,note\n4,four,4,2024-04-04,x\n' > "$F/q2.csv"
FID_CSV2=$(upload "$Z_CSV" csvq orders2.csv "$F/q2.csv")
tick
assert_eq "second file: loaded into the existing table" "loaded|1|0|4" \
    "$(status_of "$FID_CSV2")|$(h_psql "SELECT count(*) FROM landing_t.csvq")"

# --- the preview page --------------------------------------------------------------------------
JAR=$H_TMP/ed.jar
h_get "$H_URL/login" -c "$JAR" -b "$JAR"
CSRF=$(printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
    | sed 's/.*value="//; s/"$//')
h_get "$H_URL/login" -c "$JAR" -b "$JAR" --data-urlencode "_csrf=$CSRF" \
    --data-urlencode "email=$ED_EMAIL" --data-urlencode 'password=editor-pass-5678' \
    --data-urlencode "next=/"
assert_status "$H_URL/landing/$Z_CSV/preview" 200 -b "$JAR"
assert_contains "preview: the table's columns" "$H_BODY" '<th scope="col">order_id</th>'
assert_contains "preview: the newest file's row first" "$H_BODY" '<td>four</td>'
assert_contains "preview: values escaped" "$H_BODY" 'said &quot;hi&quot;'
assert_eq "preview: 4 rows" 4 "$(printf '%s' "$H_BODY" | sed -n '/<tbody>/,/<\/tbody>/p' \
    | grep -c '<tr>')"
assert_status "$H_URL/landing/$Z_REJ/preview" 200 -b "$JAR"
assert_contains "preview: no table yet" "$H_BODY" 'nothing has been loaded yet'
assert_status "$H_URL/landing/00000000-0000-4000-8000-00000000dead/preview" 404 -b "$JAR"
assert_status "$H_URL/landing/nope/preview" 404 -b "$JAR"

# --- the flag -----------------------------------------------------------------------------------
h_psql "INSERT INTO sluice.settings (key, value, updated_by) VALUES
          ('features', '{\"landing_zones\": false}', 'test')
        ON CONFLICT (key) DO UPDATE SET value = sluice.settings.value || EXCLUDED.value" \
    > /dev/null
printf 'a,b\n3,z\n' > "$F/raw2.csv"
FID_OFF=$(upload "$Z_RAW" rawz raw2.csv "$F/raw2.csv")
tick
assert_eq "flag off: an uploaded file waits" "uploaded|0|0" "$(status_of "$FID_OFF")"
h_psql "UPDATE sluice.settings SET value = value || '{\"landing_zones\": true}'
        WHERE key = 'features'" > /dev/null
tick
assert_eq "flag on again: it loads" "loaded|1|0|" "$(status_of "$FID_OFF")|$(error_of "$FID_OFF")"

# --- retention ---------------------------------------------------------------------------------
h_psql "UPDATE sluice.landing_zones SET processed_max_age_days = 1, auto_purge = true
        WHERE id = '$Z_JL';
        UPDATE sluice.landing_files SET loaded_at = now() - interval '3 days'
        WHERE id = $FID_JL" > /dev/null
assert_true "retention: the stored file is there before" test -f "$H_VAR/landing/$Z_JL/$FID_JL"
sluice_cli reap >> "$H_LOG/reap.log" 2>&1 || true
assert_eq "retention: the old file is purged, the row kept" "purged|3|0" \
    "$(status_of "$FID_JL")"
assert_true "retention: its bytes are gone" test ! -e "$H_VAR/landing/$Z_JL/$FID_JL"
assert_eq "retention: newer files stay" "loaded" \
    "$(h_psql "SELECT status FROM sluice.landing_files WHERE id = $FID_CSV")"
assert_true "retention: newer bytes stay" test -f "$H_VAR/landing/$Z_CSV/$FID_CSV"
assert_eq "retention: counted in reaper_status" t \
    "$(h_psql "SELECT landing_files_cleaned >= 1 FROM sluice.reaper_status")"

h_done
