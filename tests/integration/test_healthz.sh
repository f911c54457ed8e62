#!/usr/bin/env bash
# test_healthz.sh - GET /healthz through nginx: 200 and a JSON body that says
# the database is up, with the version and the answering worker's pid.
set -euo pipefail
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
assert_contains "nginx logs the request as JSON" \
    "$(tail -n 1 "$H_VAR/log/nginx-access.log")" '"uri":"/healthz","status":200'
assert_status "$H_URL/static/no-such-file.css" 404
assert_status "$H_URL/static/../../etc/passwd" 400 --path-as-is

h_done
