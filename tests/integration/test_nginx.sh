#!/usr/bin/env bash
# test_nginx.sh - what nginx/local.conf.in adds in front of the pool: static
# files from static/, JSON access log, the request id passed to the pool,
# the /login rate limit, and large bodies streamed rather than refused.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

# static/ is served by nginx itself (the pool never sees /static/).
f=$(find "$H_ROOT/static" -maxdepth 1 -type f -name '*.css' -print -quit 2> /dev/null || true)
if [ -n "$f" ]; then
    assert_status "$H_URL/static/${f##*/}" 200
    assert_eq "static file served verbatim" "$(md5sum < "$f")" \
        "$(curl -fsS "$H_URL/static/${f##*/}" | md5sum)"
    assert_contains "css content type" "$(h_header Content-Type)" "text/css"
fi
assert_status "$H_URL/static/no-such-file.css" 404
assert_contains "static 404 comes from nginx" "$H_BODY" "nginx"
assert_status "$H_URL/static/../../etc/passwd" 400 --path-as-is

# Access log: one JSON object per line, with the request id.
assert_status "$H_URL/api/v1/no-such-thing" 404
rid=$(h_json request_id <<< "$H_BODY" || true)
last=$(tail -n 1 "$H_VAR/log/nginx-access.log")
assert_eq "access log line is JSON" "/api/v1/no-such-thing" "$(h_json uri <<< "$last" || true)"
assert_eq "access log has the status" "404" "$(h_json status <<< "$last" || true)"
assert_eq "the pool sees nginx's request id" "$(h_json request_id <<< "$last" || true)" "$rid"
assert_true "request id is 32 hex digits" grep -Eqx '[0-9a-f]{32}' <<< "$rid"

# POST /login: 10 a minute, burst 5; the 7th quick attempt is refused with 429.
codes=""
for _ in $(seq 1 8); do
    codes+="$(curl -s -o /dev/null -w '%{http_code}' -d _csrf=x "$H_URL/login") "
done
assert_true "first /login request passes the limit" test "${codes%% *}" != 429
assert_contains "rapid /login requests get 429 ($codes)" "$codes" "429"
assert_status "$H_URL/healthz" 200

h_done
