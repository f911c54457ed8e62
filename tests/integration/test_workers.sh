#!/usr/bin/env bash
# test_workers.sh - the pool keeps its workers: one killed with SIGKILL is
# replaced within a second, SIGHUP replaces all of them, and a worker is
# recycled after SLUICE_WEB_MAX_REQUESTS requests; the site answers throughout.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

export SLUICE_WEB_WORKERS=3
h_stack_up
master=$H_WEB_PID

before=$(h_workers)
assert_eq "master has SLUICE_WEB_WORKERS children" 3 "$(printf '%s\n' "$before" | grep -c .)"

# --- SIGKILL one worker: back to 3 within a second, with a new pid.
victim=$(printf '%s\n' "$before" | head -n 1)
replaced() {
    local now
    now=$(h_workers)
    [ "$(printf '%s\n' "$now" | grep -c .)" -eq 3 ] && ! printf '%s\n' "$now" | grep -qx "$victim"
}
t0=$(h_now_ms)
kill -KILL "$victim"
if h_wait_for 1 replaced; then
    ok "killed worker replaced in $(($(h_now_ms) - t0)) ms"
else
    fail "killed worker replaced within 1 s" "workers now: $(h_workers | tr '\n' ' ')"
fi
after=$(h_workers)
survivors=$(comm -12 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -c . || true)
assert_eq "the other workers were left alone" 2 "$survivors"
assert_status "$H_URL/healthz" 200
assert_eq "same master" "$master" "$H_WEB_PID"
assert_status "$H_URL/metrics" 200
restarts=$(h_metric "$H_BODY" sluice_web_worker_restarts_total || echo missing)
assert_true "restart counted in metrics ($restarts)" test "$restarts" -ge 1 2> /dev/null

# --- SIGHUP: every worker replaced.
before=$(h_workers)
all_new() {
    local now
    now=$(h_workers)
    [ "$(printf '%s\n' "$now" | grep -c .)" -eq 3 ] \
        && [ -z "$(comm -12 <(printf '%s\n' "$before") <(printf '%s\n' "$now"))" ]
}
kill -HUP "$master"
if h_wait_for 10 all_new; then
    ok "SIGHUP replaced all workers"
else
    fail "SIGHUP replaced all workers" \
        "before: $(printf '%s' "$before" | tr '\n' ' '), now: $(h_workers | tr '\n' ' ')"
fi
assert_true "master survives SIGHUP" h_alive "$master"
assert_status "$H_URL/healthz" 200

# --- Requests during a roll are all answered.
codes=$(for _ in $(seq 1 30); do
    curl -s -o /dev/null -w '%{http_code}\n' "$H_URL/healthz"
    [ "$_" != 10 ] || kill -HUP "$master"
done | sort | uniq -c | tr -s ' ' | tr '\n' ',')
assert_eq "30 requests across a SIGHUP all get 200" " 30 200," "$codes"

# --- max_requests: one worker recycled after 3 requests.
h_web_stop
SLUICE_WEB_WORKERS=1 SLUICE_WEB_MAX_REQUESTS=3 h_web_start
h_wait_for 5 test "$(h_workers | grep -c .)" -eq 1 || true
pids=$(for _ in $(seq 1 7); do curl -fsS "$H_URL/healthz" | grep -o '"pid": *[0-9]*'; done)
distinct=$(printf '%s\n' "$pids" | sort -u | grep -c . || true)
assert_true "7 requests with max_requests=3 see at least 3 workers ($distinct)" \
    test "$distinct" -ge 3
assert_eq "all 7 answered" 7 "$(printf '%s\n' "$pids" | grep -c '[0-9]')"

h_done
