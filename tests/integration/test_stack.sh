#!/usr/bin/env bash
# test_stack.sh - scripts/stack.sh (what `make run` / `make stop` call) in a
# temporary SLUICE_VAR: start brings up everything and answers; a second start
# is harmless; env, status and the files it makes are right; stop leaves no
# process behind; a taken HTTP port is refused; a var dir the postgres user
# cannot reach falls back to a data directory under /tmp.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir
stack=$H_ROOT/scripts/stack.sh
var=$H_TMP/stackvar
port=$(h_free_port)
unset SLUICE_PG_PORT SLUICE_DATABASE_URL SLUICE_WEB_SOCKET SLUICE_BASE_URL
export SLUICE_VAR=$var SLUICE_HTTP_PORT=$port
h_defer env SLUICE_VAR="$var" "$stack" stop
url=http://127.0.0.1:$port

leftovers() { pgrep -af -- "$1" | grep -v -e "pgrep" || true; }
port_free() { [ -z "$(ss -Hltn "sport = :$1")" ]; }
connect_fails() { ! PGCONNECT_TIMEOUT=3 "$H_PG_BIN/psql" -X -tA -d "$1" -c "SELECT 1" > /dev/null 2>&1; }

out=$("$stack" start 2>&1) && rc=0 || rc=$?
assert_eq "stack.sh start exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
assert_contains "start prints the URL" "$out" "$url"
assert_status "$url/healthz" 200
assert_eq "database is up" up "$(h_json database <<< "$H_BODY" || true)"
assert_status "$url/static/no-such-file.css" 404

# Files and their modes.
assert_eq "secret.key is 32 bytes" 32 "$(stat -c %s "$var/secret.key" 2> /dev/null || echo 0)"
assert_eq "secret.key is 0600" 600 "$(stat -c %a "$var/secret.key" 2> /dev/null)"
assert_eq "pg-password is 0600" 600 "$(stat -c %a "$var/pg-password" 2> /dev/null)"
assert_true "stack.env remembers the PostgreSQL port" grep -q '^SLUICE_PG_PORT=[0-9]' \
    "$var/stack.env"
if h_is_root; then
    assert_eq "var/pg belongs to postgres" postgres "$(stat -c %U "$var/pg")"
    assert_true "nginx runs its workers as root (to reach the socket)" \
        grep -qx 'user root;' "$var/nginx/nginx.conf"
fi
assert_true "the pool's socket is in var/run" test -S "$var/run/sluice-web.sock"
assert_true "nginx access log is JSON lines" h_json status < <(tail -n 1 "$var/log/nginx-access.log")

# status and env.
"$stack" status > /dev/null && rc=0 || rc=$?
assert_eq "status exits 0 with everything up" 0 "$rc"
envout=$("$stack" env)
for k in SLUICE_URL SLUICE_DATABASE_URL SLUICE_VAR SLUICE_SHARE_DIR SLUICE_WEB_SOCKET; do
    assert_contains "env exports $k" "$envout" "export $k="
done
got=$(eval "$envout"; printf '%s|%s' "$SLUICE_URL" "$SLUICE_VAR")
assert_eq "env values" "$url|$var" "$got"
dburl=$(eval "$envout"; printf '%s' "$SLUICE_DATABASE_URL")
assert_true "migrations were applied to the stack's database" \
    test "$(h_psql "SELECT count(*) FROM sluice.schema_migrations" "$dburl" || echo 0)" -ge 1
assert_true "PostgreSQL refuses a wrong password" \
    connect_fails "$(printf '%s' "$dburl" | sed 's/:[^:@]*@/:wrong@/')"
h_wait_for 5 test -s "$var/log/tick.log" || true
assert_true "the tick loop ran bin/sluice tick" test -s "$var/log/tick.log"

if bin_user=$("$H_ROOT/bin/sluice" user --help 2>&1) && [ -n "$bin_user" ]; then
    assert_eq "admin-password is 0600" 600 "$(stat -c %a "$var/admin-password" 2> /dev/null)"
    assert_contains "start prints the admin login" "$out" "admin@localhost"
fi

# A second start changes nothing.
pids_of() { cat "$var/run/web.pid" "$var/run/nginx.pid" "$var/run/tick.pid" "$var/pg/postmaster.pid" \
    2> /dev/null | grep -x '[0-9]*' | tr '\n' ' '; }
before=$(pids_of)
out=$("$stack" start 2>&1) && rc=0 || rc=$?
assert_eq "second start exits 0" 0 "$rc"
assert_eq "second start keeps the same processes" "$before" "$(pids_of)"
assert_contains "second start says what was already running" "$out" "already running"
assert_status "$url/healthz" 200

# stop: nothing left.
pgport=$(grep '^SLUICE_PG_PORT=' "$var/stack.env" | cut -d= -f2)
out=$("$stack" stop 2>&1) && rc=0 || rc=$?
assert_eq "stop exits 0" 0 "$rc"
assert_eq "no process mentions the var dir after stop" "" "$(leftovers "$var")"
assert_true "nothing listens on the HTTP port" port_free "$port"
assert_true "nothing listens on the PostgreSQL port" port_free "$pgport"
assert_true "socket removed" test ! -e "$var/run/sluice-web.sock"
"$stack" status > /dev/null && rc=0 || rc=$?
assert_eq "status exits 3 when stopped" 3 "$rc"
out=$("$stack" stop 2>&1) && rc=0 || rc=$?
assert_eq "stop when stopped is harmless" 0 "$rc"

# Start after stop reuses the PostgreSQL port and the data.
out=$("$stack" start 2>&1) && rc=0 || rc=$?
assert_eq "restart after stop exits 0" 0 "$rc"
assert_eq "the PostgreSQL port is reused" "$pgport" \
    "$(grep '^SLUICE_PG_PORT=' "$var/stack.env" | cut -d= -f2)"
assert_status "$url/healthz" 200
"$stack" stop > /dev/null 2>&1
assert_eq "nothing left after the second stop" "" "$(leftovers "$var")"

# A port taken by someone else is refused before anything starts.
h_nginx_start
out=$(SLUICE_HTTP_PORT=$H_HTTP_PORT "$stack" start 2>&1) && rc=0 || rc=$?
assert_true "start on a taken port fails" test "$rc" -ne 0
assert_contains "and says the port is in use" "$out" "port $H_HTTP_PORT is already in use"
assert_eq "and starts nothing" "" "$(leftovers "$var")"
h_nginx_stop

# A var dir behind a 0700 parent: the cluster falls back to /tmp.
if h_is_root; then
    closed=$H_TMP/closed
    mkdir -m 0700 "$closed"
    cvar=$closed/var
    h_defer env SLUICE_VAR="$cvar" "$stack" stop
    out=$(SLUICE_VAR=$cvar "$stack" start 2>&1) && rc=0 || rc=$?
    assert_eq "start with a var dir postgres cannot reach exits 0" 0 "$rc"
    fallback=$(grep '^SLUICE_PG_DATA=' "$cvar/stack.env" 2> /dev/null | cut -d= -f2 || true)
    [ -z "$fallback" ] || h_defer rm -rf "$(dirname "$fallback")"
    assert_contains "the data directory fell back to /tmp" "$fallback" "/tmp/sluice-pg."
    assert_contains "start explains the fallback" "$out" "cannot reach"
    assert_status "$url/healthz" 200
    SLUICE_VAR=$cvar "$stack" stop > /dev/null 2>&1
    assert_eq "nothing left after stop (fallback)" "" \
        "$(leftovers "$cvar"; [ -z "$fallback" ] || leftovers "$fallback")"
fi

h_done
