#!/usr/bin/env bash
# test_db_restart.sh - PostgreSQL goes away and comes back: /healthz says 503
# "database down" meanwhile (the workers stay up), then 200 again within a few
# seconds of the restart, served by the same master with no restart of the pool.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

export SLUICE_WEB_WORKERS=3 SLUICE_DB_CONNECT_TIMEOUT=2
h_stack_up
master=$H_WEB_PID
workers=$(h_workers)
assert_status "$H_URL/healthz" 200
assert_status "$H_URL/metrics" 200
errors_before=$(h_metric "$H_BODY" sluice_db_errors_total || echo 0)

h_pg_stop
codes=""
down=0
for _ in $(seq 1 6); do
    h_get "$H_URL/healthz"
    codes+="$H_STATUS "
    [ "$(h_json database <<< "$H_BODY" || true)" != down ] || down=$((down + 1))
done
assert_eq "healthz is 503 while PostgreSQL is down" "503 503 503 503 503 503 " "$codes"
assert_eq "healthz body says database down" 6 "$down"
assert_contains "503 is still JSON" "$(h_header Content-Type)" "application/json"
assert_eq "worker count unchanged while the database is down" \
    "$(printf '%s\n' "$workers" | grep -c .)" "$(h_workers | grep -c .)"
if [ "$(h_workers)" = "$workers" ]; then
    h_log "the same workers answered throughout"
else
    h_log "worker pids changed: $(printf '%s' "$workers" | tr '\n' ' ') -> $(h_workers | tr '\n' ' ')"
fi
assert_true "master alive" h_alive "$master"
# Other pages fail cleanly too (no hang, no 502 from nginx).
h_get "$H_URL/metrics"
assert_eq "metrics still served without the database" 200 "$H_STATUS"
errors_during=$(h_metric "$H_BODY" sluice_db_errors_total || echo 0)
assert_true "database errors counted ($errors_before -> $errors_during)" \
    test "$errors_during" -gt "$errors_before"

t0=$(h_now_ms)
h_pg_start
if h_wait_for 10 h_healthy; then
    ok "healthz 200 again $(($(h_now_ms) - t0)) ms after PostgreSQL restarted"
else
    fail "healthz 200 again within 10 s" "still $(curl -s "$H_URL/healthz")"
fi
# Every worker reconnects: enough requests to reach all of them.
codes=$(for _ in $(seq 1 12); do curl -s -o /dev/null -w '%{http_code}\n' "$H_URL/healthz"; done \
    | sort -u | tr '\n' ' ')
assert_eq "all workers answer 200 after the restart" "200 " "$codes"
assert_eq "same master pid" "$master" "$H_WEB_PID"
assert_true "master still alive" h_alive "$master"
assert_eq "worker count unchanged after the restart" \
    "$(printf '%s\n' "$workers" | grep -c .)" "$(h_workers | grep -c .)"

h_done
