#!/usr/bin/env bash
# test_healthz.sh - GET /healthz through nginx: 200 and a JSON body that says
# the database is up, with the version and the answering worker's pid.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

assert_status "$H_URL/healthz" 200
assert_contains "healthz is JSON" "$(h_header Content-Type)" "application/json"
assert_eq "status is ok" "ok" "$(h_json status <<< "$H_BODY" || true)"
assert_eq "database is up" "up" "$(h_json database <<< "$H_BODY" || true)"
assert_eq "version matches VERSION" "$(cat "$H_ROOT/VERSION")" \
    "$(h_json version <<< "$H_BODY" || true)"
pid=$(h_json pid <<< "$H_BODY" || true)
if [[ $pid =~ ^[0-9]+$ ]] && h_workers | grep -qx "$pid"; then
    ok "pid is one of the master's workers"
else
    fail "pid is one of the master's workers" "pid '$pid' not in: $(h_workers | tr '\n' ' ')"
fi

# Requests are spread over the workers: 40 requests see more than one pid.
pids=$(for _ in $(seq 1 40); do curl -fsS "$H_URL/healthz" | grep -o '"pid": *[0-9]*'; done \
    | sort -u)
if [ "$(printf '%s\n' "$pids" | grep -c .)" -ge 2 ]; then
    ok "requests reach more than one worker"
else
    fail "requests reach more than one worker" "only pid $pids answered"
fi

# / is the console (or a redirect to its login page): HTML in the end.
assert_status "$H_URL/" 200 -L
assert_contains "GET / is HTML" "$(h_header Content-Type)" "text/html"
assert_contains "GET / has a sluice title" "$H_BODY" "<title>"

h_done
