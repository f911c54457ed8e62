#!/usr/bin/env bash
# test_sigterm.sh - SIGTERM to the master: it drains, its workers exit, it
# exits 0 within a few seconds and removes its socket.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

export SLUICE_WEB_WORKERS=3
h_stack_up
master=$H_WEB_PID
workers=$(h_workers)
assert_eq "three workers" 3 "$(printf '%s\n' "$workers" | grep -c .)"
assert_true "socket exists" test -S "$H_WEB_SOCKET"

gone() { ! h_alive "$master"; }
t0=$(h_now_ms)
kill -TERM "$master"
if h_wait_for 5 gone; then
    ok "master exited $(($(h_now_ms) - t0)) ms after SIGTERM"
    # The master is this shell's child: wait gives its exit status.
    wait "$master" && rc=0 || rc=$?
    assert_eq "master exit status" 0 "$rc"
else
    fail "master exits within 5 s of SIGTERM" "still running"
fi
assert_true "socket removed" test ! -e "$H_WEB_SOCKET"
left=""
for w in $workers; do
    if h_alive "$w"; then left+="$w "; fi
done
assert_eq "no worker left behind" "" "$left"
h_get "$H_URL/healthz"
assert_eq "nginx answers 502 with the pool gone" 502 "$H_STATUS"
H_WEB_PID=""

# Started again on the same socket path, it serves again.
h_web_start
h_wait_for 10 h_healthy || true
assert_status "$H_URL/healthz" 200

h_done
