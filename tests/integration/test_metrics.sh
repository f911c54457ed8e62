#!/usr/bin/env bash
# test_metrics.sh - GET /metrics: Prometheus text; the /healthz request
# counter counts every request whichever worker served it; the latency
# histogram and the pool and database counters are there.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up
series='sluice_http_requests_total{route="/healthz",status="200"}'

assert_status "$H_URL/metrics" 200
assert_contains "metrics content type" "$(h_header Content-Type)" "text/plain"
before=$(h_metric "$H_BODY" "$series" || echo 0)
for _ in $(seq 1 7); do
    curl -fsS -o /dev/null "$H_URL/healthz"
done
assert_status "$H_URL/metrics" 200
after=$(h_metric "$H_BODY" "$series" || echo missing)
assert_eq "healthz counter grew by the 7 requests made" "$((before + 7))" "$after"

assert_contains "TYPE line for the counter" "$H_BODY" \
    "# TYPE sluice_http_requests_total counter"
assert_contains "TYPE line for the histogram" "$H_BODY" \
    "# TYPE sluice_http_request_duration_seconds histogram"
buckets=$(printf '%s\n' "$H_BODY" | grep '^sluice_http_request_duration_seconds_bucket{' \
    | grep 'route="/healthz"' || true)
assert_contains "histogram has buckets" "$buckets" 'le="'
assert_contains "histogram has +Inf" "$buckets" 'le="+Inf"'
# Cumulative buckets never decrease and +Inf equals _count.
vals=$(printf '%s\n' "$buckets" | awk '{ print $NF }')
if [ -n "$vals" ] && printf '%s\n' "$vals" | sort -n -c 2> /dev/null; then
    ok "buckets are cumulative"
else
    fail "buckets are cumulative" "$(printf '%s' "$vals" | tr '\n' ' ')"
fi
count=$(printf '%s\n' "$H_BODY" \
    | awk '/^sluice_http_request_duration_seconds_count\{/ && /route="\/healthz"/ { print $NF }')
inf=$(printf '%s\n' "$buckets" | awk '/le="\+Inf"/ { print $NF }')
assert_eq "+Inf bucket equals _count" "$count" "$inf"
assert_true "_count covers the requests made" test "${count:-0}" -ge 7
assert_true "worker restarts counter" h_metric "$H_BODY" sluice_web_worker_restarts_total
assert_true "database errors counter" h_metric "$H_BODY" sluice_db_errors_total

h_done
