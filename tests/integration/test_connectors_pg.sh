#!/usr/bin/env bash
# test_connectors_pg.sh - the PostgreSQL connector against a cluster that asks
# for passwords (scram-sha-256; the harness's own cluster trusts everyone, so
# a wrong password could not fail there), through `sluice source-probe`:
# right, wrong and missing passwords, unknown role and database, closed port,
# and a discovery that runs read-only.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir > /dev/null
SLUICE=${SLUICE_BIN:-$H_ROOT/bin/sluice}
OUT=$H_TMP/out
RC=0
PW="Pa55 w'o\"rd-$RANDOM"

# --- a cluster with password authentication ------------------------------------------

DATA=$H_TMP/pgpw
mkdir -p "$DATA"
printf '%s\n' "$PW" > "$H_TMP/pwfile"
if h_is_root; then chown postgres: "$DATA" "$H_TMP/pwfile"; fi
chmod 0700 "$DATA"
h_as_pg "$H_PG_BIN/initdb" -D "$DATA" -U sluice --auth=scram-sha-256 --pwfile="$H_TMP/pwfile" \
    -E UTF8 --locale=C > "$H_LOG/pgpw.log" 2>&1 || { tail -n 20 "$H_LOG/pgpw.log" >&2; exit 1; }
rm -f "$H_TMP/pwfile"
PORT=""
for _ in 1 2 3; do
    PORT=$(h_free_port)
    cat >> "$DATA/postgresql.conf" << EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
EOF
    if h_as_pg "$H_PG_BIN/pg_ctl" -D "$DATA" -w -t 30 start >> "$H_LOG/pgpw.log" 2>&1; then
        break
    fi
    PORT=""
done
[ -n "$PORT" ] || { tail -n 20 "$H_LOG/pgpw.log" >&2; exit 1; }
h_defer h_as_pg "$H_PG_BIN/pg_ctl" -D "$DATA" -w -t 30 -m fast stop

PGPASSWORD=$PW "$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U sluice \
    -d postgres -c "CREATE DATABASE src" \
    -c "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'" > /dev/null
PGPASSWORD=$PW "$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U sluice \
    -d src -c "CREATE TABLE public.items (id int PRIMARY KEY, updated_at timestamptz)" \
    -c "GRANT SELECT ON public.items TO reader" > /dev/null

# probe PASSWORD ARGS...: source-probe as sluice on database src (unless ARGS say
# otherwise); RC and $OUT.
probe() {
    local pw=$1
    shift
    RC=0
    SLUICE_PROBE_PASSWORD=$pw "$SLUICE" source-probe --type postgresql --host 127.0.0.1 \
        --port "$PORT" --database src --user sluice --ssl-mode disable --timeout 5 "$@" \
        > "$OUT" 2>&1 || RC=$?
}
field() { h_json "$1" < "$OUT" || true; }

# --- passwords ----------------------------------------------------------------------

probe "$PW"
assert_eq "right password: exit 0" 0 "$RC"
assert_eq "right password: ok" true "$(field ok)"
assert_contains "right password: version" "$(field version)" "PostgreSQL 15"
assert_eq "right password: discovery" items "$(field tables.0.name)"
assert_eq "right password: watermark" updated_at "$(field tables.0.watermark)"
assert_eq "right password: est_rows unknown before ANALYZE" null "$(field tables.0.est_rows)"

probe "not-$PW" --no-tables
assert_eq "wrong password: exit 1" 1 "$RC"
assert_eq "wrong password: message" 'password authentication failed for user "sluice"' \
    "$(field error)"
assert_eq "wrong password: an authentication failure" "authentication required" "$(field code)"
if grep -qF "$PW" "$OUT"; then
    fail "wrong password: the password is not echoed"
else
    ok "wrong password: the password is not echoed"
fi

probe "" --no-tables
assert_eq "no password: message" \
    'the server asks for a password for user "sluice" and none was given' "$(field error)"

probe "$PW" --no-tables --user nobody
assert_eq "unknown role: refused like a wrong password (the server says no more)" \
    'password authentication failed for user "nobody"' "$(field error)"

probe "$PW" --no-tables --database no_such_db
assert_eq "unknown database: message" 'database "no_such_db" does not exist' "$(field error)"
assert_eq "unknown database: not found" "not found" "$(field code)"

probe "$PW" --no-tables --port "$(h_free_port)"
assert_contains "closed port: refused" "$(field error)" "connection refused"

probe "$PW" --no-tables --ssl-mode require
assert_eq "ssl_mode require, server without TLS" \
    "the server does not support SSL, but ssl_mode is require" "$(field error)"

# a user with SELECT only still discovers (discovery reads catalogs, read-only)
RC=0
SLUICE_PROBE_PASSWORD=reader-pw "$SLUICE" source-probe --type postgresql --host 127.0.0.1 \
    --port "$PORT" --database src --user reader --ssl-mode disable > "$OUT" 2>&1 || RC=$?
assert_eq "read-only user: ok" true "$(field ok)"
assert_eq "read-only user: primary key" 1 "$(field tables.0.columns.0.pk_position)"

h_done
