#!/usr/bin/env bash
# run.sh - run the test suites and add up the results.
#
#   tests/run.sh [unit|integration|e2e|fuzz|all]...   (default: all)
#
#   unit         every build/tests/check_* (SLUICE_UNIT_DIR overrides the
#                directory), from the repo root, against a throwaway PostgreSQL
#                (SLUICE_TEST_DATABASE_URL, SLUICE_TEST_PG_RESTART_CMD)
#   integration  every tests/integration/test_*.sh (each brings its own stack),
#                SLUICE_TEST_JOBS (default 3) at a time
#   e2e          node tests/e2e/run.mjs against a stack brought up here
#                (SLUICE_E2E_URL); skipped without node_modules/playwright-core,
#                unless CI=true, where that is a failure
#   fuzz         tests/fuzz/run.sh ${FUZZ_SECONDS:-30}, if it exists
#
# The last line is exactly "N passed, N failed"; the exit status is 1 if
# anything failed. Per-file time limits: SLUICE_TEST_TIMEOUT (default 600 s).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

TIMEOUT=${SLUICE_TEST_TIMEOUT:-600}
declare -A PASSED=() FAILED=() NOTE=()
ORDER=()
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/sluice-run.XXXXXX")
# The harness's exit trap stops whatever is left; remove our logs first.
CURRENT_PID=""
_run_on_exit() {
    local rc=$?
    # Interrupted: let the running test file clean up its own stack.
    if [ -n "$CURRENT_PID" ] && h_alive "$CURRENT_PID"; then
        kill -TERM "$CURRENT_PID" 2> /dev/null || true
        h_wait_for 20 _h_dead "$CURRENT_PID" || true
    fi
    rm -rf "$LOGS"
    (exit "$rc")
    _h_on_exit
}
trap _run_on_exit EXIT

say() { printf '%s\n' "$*"; }
stage_begin() {
    ORDER+=("$1")
    PASSED[$1]=0
    FAILED[$1]=0
    NOTE[$1]=""
    say ""
    say "=== $1"
}
add() { # STAGE PASSED FAILED
    PASSED[$1]=$((PASSED[$1] + $2))
    FAILED[$1]=$((FAILED[$1] + $3))
}
# run_logged LOG COMMAND...: run with the time limit, output to LOG, shown as
# it comes (tail --pid, not a pipe, so a stray process holding the output
# open cannot hang the run).
run_logged() {
    local log=$1 rc pid
    shift
    : > "$log"
    timeout -k 10 "$TIMEOUT" "$@" < /dev/null > "$log" 2>&1 &
    pid=$!
    CURRENT_PID=$pid
    tail -s 0.1 -n +1 -f --pid="$pid" "$log" || true
    wait "$pid" && rc=0 || rc=$?
    CURRENT_PID=""
    [ "$rc" -ne 124 ] || say "# timed out after ${TIMEOUT}s: $*"
    return "$rc"
}

# --- unit --------------------------------------------------------------------------

stage_unit() {
    stage_begin unit
    local dir=${SLUICE_UNIT_DIR:-build/tests} bins=() b log rc sums checks fails errs
    for b in "$dir"/check_*; do
        [ -f "$b" ] && [ -x "$b" ] && bins+=("$b")
    done
    if [ "${#bins[@]}" -eq 0 ]; then
        if compgen -G 'tests/unit/check_*.c' > /dev/null; then
            say "unit: no test binaries in $dir (build them with make units)"
            add unit 0 1
        else
            NOTE[unit]="no unit tests"
        fi
        return 0
    fi
    say "unit: starting a throwaway PostgreSQL"
    h_tmpdir
    if ! h_pg_start; then
        say "not ok - unit: could not start PostgreSQL"
        add unit 0 1
        h_cleanup
        return 0
    fi
    export SLUICE_TEST_DATABASE_URL=$H_DATABASE_URL
    export SLUICE_TEST_PG_RESTART_CMD=$H_PG_RESTART_CMD
    say "unit: SLUICE_TEST_DATABASE_URL=$SLUICE_TEST_DATABASE_URL"
    for b in "${bins[@]}"; do
        say "--- unit: $b"
        log=$LOGS/${b##*/}.log
        run_logged "$log" "$b" && rc=0 || rc=$?
        # Check's summary: "100%: Checks: 12, Failures: 0, Errors: 0" (one per runner).
        sums=$(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' \
            "$log" | awk '{ c += $1; f += $2; e += $3 } END { print c + 0, f + 0, e + 0, NR }')
        read -r checks fails errs _ <<< "$sums"
        add unit $((checks - fails - errs)) $((fails + errs))
        if [ "$rc" -ne 0 ] && [ $((fails + errs)) -eq 0 ]; then
            say "not ok - $b exited with status $rc without reporting a failed check"
            add unit 0 1
        fi
    done
    unset SLUICE_TEST_DATABASE_URL SLUICE_TEST_PG_RESTART_CMD
    h_cleanup
}

# --- TAP-ish files (integration) ---------------------------------------------------

# count_tap STAGE LOG RC NAME: add the file's ok / not ok lines to STAGE.
count_tap() {
    local stage=$1 log=$2 rc=$3 name=$4 p f
    p=$(grep -c '^ok ' "$log" || true)
    f=$(grep -c '^not ok ' "$log" || true)
    add "$stage" "$p" "$f"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        say "not ok - $name exited with status $rc"
        add "$stage" 0 1
    elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        say "not ok - $name reported no results"
        add "$stage" 0 1
    fi
}

# Integration files bring their own stacks on free ports, so they can run side
# by side: SLUICE_TEST_JOBS at a time (default 3; most of their time is spent
# waiting on servers, not on the CPU). Each file's log is printed whole when
# it finishes, with how long it took.
stage_integration() {
    stage_begin integration
    local jobs=${SLUICE_TEST_JOBS:-3} t n=0 running=0 pid rc
    local -A file_of=() start_of=()
    for t in tests/integration/test_*.sh; do
        [ -f "$t" ] || continue
        n=$((n + 1))
        if [ "$running" -ge "$jobs" ]; then
            wait -n -p pid && rc=0 || rc=$?
            _integration_done "$pid" "$rc"
            running=$((running - 1))
        fi
        timeout -k 10 "$TIMEOUT" bash "$t" < /dev/null > "$LOGS/${t##*/}.log" 2>&1 &
        file_of[$!]=$t
        start_of[$!]=$SECONDS
        running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do
        wait -n -p pid && rc=0 || rc=$?
        _integration_done "$pid" "$rc"
        running=$((running - 1))
    done
    [ "$n" -gt 0 ] || NOTE[integration]="no integration tests"
}

# _integration_done PID RC: print a finished file's log and count it (reads
# the caller's file_of / start_of).
_integration_done() {
    local t=${file_of[$1]} log
    log=$LOGS/${t##*/}.log
    say "--- integration: $t ($((SECONDS - start_of[$1])) s)"
    cat "$log"
    [ "$2" -ne 124 ] || say "# timed out after ${TIMEOUT}s: $t"
    count_tap integration "$log" "$2" "$t"
}

# --- e2e ---------------------------------------------------------------------------

# "<stage>: N passed, N failed" from a runner's output.
count_summary() {
    local stage=$1 log=$2 rc=$3 name=$4 line p f
    line=$(grep -E "^$stage: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        read -r p f <<< "$(sed -E 's/^[a-z0-9]+: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' \
            <<< "$line")"
        add "$stage" "$p" "$f"
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            say "not ok - $name exited with status $rc"
            add "$stage" 0 1
        fi
    else
        say "not ok - $name printed no '$stage: N passed, N failed' line (exit $rc)"
        add "$stage" 0 1
    fi
}

stage_e2e() {
    stage_begin e2e
    local why="" log rc pw
    [ -d node_modules/playwright-core ] || why="node_modules/playwright-core is missing (npm ci)"
    [ -n "$why" ] || command -v node > /dev/null || why="node is missing"
    [ -n "$why" ] || [ -x /usr/bin/chromium ] || why="/usr/bin/chromium is missing"
    if [ -n "$why" ]; then
        if [ "${CI:-}" = true ]; then
            say "not ok - e2e cannot run: $why (CI=true)"
            add e2e 0 1
        else
            say "e2e: skipped: $why"
            NOTE[e2e]="skipped: $why"
        fi
        return 0
    fi
    say "e2e: starting a stack"
    h_tmpdir
    if ! h_stack_up; then
        say "not ok - e2e: could not start the stack"
        add e2e 0 1
        h_cleanup
        return 0
    fi
    export SLUICE_E2E_URL=$H_URL
    # An admin account for tests that sign in, once `sluice user` exists.
    if "$ROOT/bin/sluice" user --help > /dev/null 2>&1; then
        pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
        if printf '%s\n' "$pw" | SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR \
                SLUICE_SHARE_DIR=$ROOT "$ROOT/bin/sluice" user add --email admin@localhost \
                --role admin --name Admin > /dev/null 2>> "$H_LOG/admin.log"; then
            export SLUICE_E2E_ADMIN_EMAIL=admin@localhost SLUICE_E2E_ADMIN_PASSWORD=$pw
        fi
    fi
    export SLUICE_E2E_DATABASE_URL=$H_DATABASE_URL
    # For config.test.mjs: a small source database (e2e_src) and an empty one
    # (e2e_dst) in the harness cluster, which trusts loopback (any password).
    if "$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$H_PG_ADMIN_URL" \
            -c "CREATE DATABASE e2e_src" -c "CREATE DATABASE e2e_dst" \
            >> "$H_LOG/e2e_src.log" 2>&1 \
        && "$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -1 -d "${H_PG_ADMIN_URL%/*}/e2e_src" \
            -f tests/e2e/e2e_src.sql >> "$H_LOG/e2e_src.log" 2>&1; then
        export SLUICE_E2E_PG_HOST=127.0.0.1 SLUICE_E2E_PG_PORT=$H_PG_PORT \
            SLUICE_E2E_PG_USER=sluice SLUICE_E2E_PG_PASSWORD=e2e-any-password \
            SLUICE_E2E_PG_DB=e2e_src SLUICE_E2E_PG_DEST_DB=e2e_dst
    else
        say "e2e: could not create the e2e_src database ($H_LOG/e2e_src.log)"
    fi
    # The demo pipeline and a tick loop (for sync.test.mjs), once `sluice demo` exists.
    if "$ROOT/bin/sluice" demo --help > /dev/null 2>&1; then
        local tick_pid
        if tick_pid=$(tests/e2e/demo.sh 2>> "$H_LOG/demo.log"); then
            h_defer h_stop_pid "$tick_pid"
        else
            say "e2e: could not set up the demo pipeline ($H_LOG/demo.log):"
            tail -n 5 "$H_LOG/demo.log" | sed 's/^/#   /'
        fi
    fi
    say "--- e2e: node tests/e2e/run.mjs ($SLUICE_E2E_URL)"
    log=$LOGS/e2e.log
    run_logged "$log" node tests/e2e/run.mjs && rc=0 || rc=$?
    count_summary e2e "$log" "$rc" tests/e2e/run.mjs
    if [ "${FAILED[e2e]}" -gt 0 ]; then
        say "# last lines of the pool's log:"
        tail -n 10 "$H_LOG/web.log" | cut -c1-300 | sed 's/^/#   /'
    fi
    unset SLUICE_E2E_URL SLUICE_E2E_ADMIN_EMAIL SLUICE_E2E_ADMIN_PASSWORD SLUICE_E2E_DATABASE_URL
    unset SLUICE_E2E_PG_HOST SLUICE_E2E_PG_PORT SLUICE_E2E_PG_USER SLUICE_E2E_PG_PASSWORD \
        SLUICE_E2E_PG_DB SLUICE_E2E_PG_DEST_DB
    h_cleanup
}

# --- fuzz --------------------------------------------------------------------------

stage_fuzz() {
    stage_begin fuzz
    local log rc
    if [ ! -x tests/fuzz/run.sh ]; then
        say "fuzz: skipped: tests/fuzz/run.sh is missing"
        NOTE[fuzz]="skipped: no tests/fuzz/run.sh"
        return 0
    fi
    say "--- fuzz: tests/fuzz/run.sh ${FUZZ_SECONDS:-30}"
    log=$LOGS/fuzz.log
    run_logged "$log" tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" && rc=0 || rc=$?
    count_summary fuzz "$log" "$rc" tests/fuzz/run.sh
}

# --- main --------------------------------------------------------------------------

stages=("$@")
[ "${#stages[@]}" -gt 0 ] || stages=(all)
for s in "${stages[@]}"; do
    case "$s" in
        all) stage_unit; stage_integration; stage_e2e; stage_fuzz ;;
        unit) stage_unit ;;
        integration) stage_integration ;;
        e2e) stage_e2e ;;
        fuzz) stage_fuzz ;;
        *)
            echo "usage: tests/run.sh [unit|integration|e2e|fuzz|all]..." >&2
            exit 2
            ;;
    esac
done

total_p=0
total_f=0
say ""
say "=== summary"
for s in "${ORDER[@]}"; do
    printf '%-12s %d passed, %d failed%s\n' "$s:" "${PASSED[$s]}" "${FAILED[$s]}" \
        "${NOTE[$s]:+ (${NOTE[$s]})}"
    total_p=$((total_p + PASSED[$s]))
    total_f=$((total_f + FAILED[$s]))
done
say "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
