#!/usr/bin/env bash
# test_errors.sh - the pool's error answers through nginx: 404 as HTML, or as
# application/problem+json under /api/; 405 with an Allow header; 413 for a
# body over SLUICE_WEB_MAX_BODY, decided on Content-Length before reading it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

export SLUICE_WEB_MAX_BODY=1048576
h_stack_up

assert_status "$H_URL/no/such/page" 404
assert_contains "404 page is HTML" "$(h_header Content-Type)" "text/html"
assert_contains "404 page has markup" "$H_BODY" "<html"

assert_status "$H_URL/api/v1/no-such-resource" 404
assert_contains "API 404 is problem+json" "$(h_header Content-Type)" "application/problem+json"
assert_eq "problem status" 404 "$(h_json status <<< "$H_BODY" || true)"
assert_true "problem has a title" h_json title <<< "$H_BODY"

assert_status "$H_URL/healthz" 405 -X DELETE
allow=$(h_header Allow)
assert_contains "405 has an Allow header with GET ($allow)" "$allow" "GET"
assert_status "$H_URL/metrics" 405 -X PUT -d x=1
assert_contains "405 Allow on /metrics" "$(h_header Allow)" "GET"

head -c $((2 * 1024 * 1024)) /dev/zero > "$H_TMP/2m"
head -c $((1024 * 1024 + 1)) /dev/zero > "$H_TMP/1m1"
assert_status "$H_URL/healthz" 413 -X POST --data-binary "@$H_TMP/2m"
# Without Expect: 100-continue the body is already on its way.
assert_status "$H_URL/healthz" 413 -X POST -H 'Expect:' --data-binary "@$H_TMP/2m"
assert_status "$H_URL/healthz" 413 -X POST -H 'Expect:' --data-binary "@$H_TMP/1m1"
assert_status "$H_URL/api/v1/anything" 413 -X POST -H 'Expect:' \
    -H 'Content-Type: application/json' --data-binary "@$H_TMP/2m"
# A body at the limit is not refused for its size (POST /healthz is a 405).
head -c $((1024 * 1024)) /dev/zero > "$H_TMP/1m"
assert_status "$H_URL/healthz" 405 -X POST -H 'Expect:' --data-binary "@$H_TMP/1m"
# A chunked body (no Content-Length; nginx streams it through) is read to
# its end and refused once it passes the limit: 413, not silently dropped.
assert_status "$H_URL/login" 413 -X POST -H 'Expect:' -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$H_TMP/2m"
# A small chunked form is read: with its CSRF token and a wrong password the
# answer is the sign-in page's 401, which needs the whole body.
jar="$H_TMP/jar"
page=$(curl -s -c "$jar" -b "$jar" "$H_URL/login")
csrf=$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' <<< "$page" | head -1)
code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" -X POST \
    -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "_csrf=$csrf&email=nobody%40example.com&password=wrong-password" \
    "$H_URL/login")
assert_eq "chunked form body is read (wrong password -> 401)" 401 "$code"
# After all that, the workers are fine.
assert_status "$H_URL/healthz" 200
assert_eq "no worker died" 0 \
    "$(h_get "$H_URL/metrics"; h_metric "$H_BODY" sluice_web_worker_crashes_total || echo 0)"

h_done
