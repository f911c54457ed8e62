#!/usr/bin/env bash
# notify.sh - how fast `sluice notify` delivers the notification outbox:
# deliveries per second of BENCH_NOTIFY_MESSAGES (5000) signed webhook
# messages to the harness's receiver (tests/lib/receiver.mjs) on loopback,
# through the whole path (claim with SKIP LOCKED, open the target's sealed
# secret, render, sign, POST with libcurl, record the attempt and the
# outcome), with the default settings (batch_size 100, concurrency 8) and
# with concurrency 1; and, as the ceiling, the receiver alone: the same
# number of POSTs of one rendered body with `curl --parallel`, 8 at a time.
# Every repetition starts from N freshly enqueued messages and checks that
# all N were delivered and the receiver saw exactly N requests.
#
#   tests/bench/notify.sh            print the Markdown section
#   tests/bench/notify.sh --append   append it to BENCH_OUT (tests/bench/RESULTS.md)
#
# Environment: BENCH_NOTIFY_MESSAGES (5000), BENCH_REPS (3), BENCH_OUT, H_KEEP=1.
# Called by tests/bench/run.sh (`make bench`) after its own report.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

N=${BENCH_NOTIFY_MESSAGES:-5000}
REPS=${BENCH_REPS:-3}
OUT=${BENCH_OUT:-$ROOT/tests/bench/RESULTS.md}
APPEND=0
[ "${1:-}" != --append ] || APPEND=1
for v in N REPS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] \
        || { echo "notify bench: $v must be a positive number" >&2; exit 2; }
done
for b in bin/sluice bin/sluice-web; do
    [ -x "$b" ] || { echo "notify bench: $b is missing; run make all" >&2; exit 1; }
done

say() { printf '%s\n' "$*" >&2; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f\n", n / s }'; }
# "MEDIAN MIN MAX" of the arguments
stats() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

say "notify bench: starting PostgreSQL, sluice-web, nginx and the receiver"
h_stack_up > /dev/null
h_receiver_start
SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$ROOT
SLUICE_LOG_LEVEL=warn
export SLUICE_DATABASE_URL SLUICE_VAR SLUICE_SHARE_DIR SLUICE_LOG_LEVEL
sluice_cli() { "$ROOT/bin/sluice" "$@"; }
q() { h_psql "$1"; }
printf '%s\n' 'bench-pass-1234' | sluice_cli user add --email bench@example.com --role editor \
    --name bench > /dev/null
TOKEN=$(sluice_cli token create --email bench@example.com --name bench 2> /dev/null)
q "UPDATE sluice.settings SET value = value || '{\"allow_private_networks\": true}'
   WHERE key = 'notifications'" > /dev/null
curl -s -o "$H_TMP/target.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' "$H_URL/api/v1/notification-targets" \
    --data-binary '{"name":"bench","type":"webhook","url":"'"$H_RECV_URL"'/bench",
        "signing_secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "all_pipelines_events":["run.succeeded"]}' > "$H_TMP/target.status"
[ "$(cat "$H_TMP/target.status")" = 201 ] \
    || { say "notify bench: could not create the target: $(cat "$H_TMP/target.json")"; exit 1; }

# enqueue: N run.succeeded events (as a run appends them) and their messages.
enqueue() {
    local n
    n=$(q "WITH e AS (INSERT INTO sluice_events.events (stream, type, data)
             SELECT 'pipeline:10000000-0000-4000-8000-000000000001', 'run.succeeded',
                    jsonb_build_object('run_id', g::text, 'pipeline_name', 'orders nightly',
                        'status', 'success', 'rows', 1000 + g, 'duration_ms', 5000 + g,
                        'error', NULL, 'dead_letters', 0)
             FROM generate_series(1, $N) g RETURNING id, stream, type, data)
           SELECT sum(sluice_events.enqueue_event(id, stream, type, data)) FROM e")
    [ "$n" = "$N" ] || { say "notify bench: enqueued $n messages, not $N"; exit 1; }
}
# deliver CONCURRENCY: time `sluice notify` over N fresh messages; prints
# "DELIVERIES/S CPU-MICROSECONDS-PER-DELIVERY" (user + system time of sluice).
HAVE_GNU_TIME=0
[ -x /usr/bin/time ] && /usr/bin/time -f '%U' true > /dev/null 2>&1 && HAVE_GNU_TIME=1
deliver() {
    local t0 t1 got reqs cpu=-
    q "UPDATE sluice.settings SET value = value || '{\"concurrency\": $1}'
       WHERE key = 'notifications'" > /dev/null
    enqueue
    h_receiver_clear
    q "CHECKPOINT" > /dev/null
    t0=$(now)
    if [ "$HAVE_GNU_TIME" = 1 ]; then
        /usr/bin/time -f '%U %S' -o "$H_TMP/cpu" "$ROOT/bin/sluice" notify \
            >> "$H_LOG/bench-notify.log" 2>&1 < /dev/null
    else
        sluice_cli notify >> "$H_LOG/bench-notify.log" 2>&1
    fi
    t1=$(now)
    [ "$HAVE_GNU_TIME" = 0 ] \
        || cpu=$(awk -v n="$N" '{ printf "%.0f", ($1 + $2) * 1e6 / n }' "$H_TMP/cpu")
    got=$(q "SELECT count(*) FROM sluice_events.messages WHERE status <> 'delivered'")
    reqs=$(h_receiver_requests | wc -l | tr -d ' ')
    if [ "$got" != 0 ] || [ "$reqs" != "$N" ]; then
        say "notify bench: $got messages not delivered, $reqs requests (want 0 and $N)"
        exit 1
    fi
    echo "$(rate "$N" "$(elapsed "$t0" "$t1")") $cpu"
}

# The ceiling: the receiver alone, N POSTs of one rendered body (BODY).
baseline() {
    local cfg=$H_TMP/.curl.cfg i t0 t1
    : > "$cfg"
    printf '%s' "$BODY" > "$H_TMP/body.json"
    for i in $(seq 1 "$N"); do
        [ "$i" = 1 ] || printf 'next\n' >> "$cfg"
        printf 'url = "%s/bench"\noutput = "/dev/null"\ndata-binary = "@%s"\n' \
            "$H_RECV_URL" "$H_TMP/body.json" >> "$cfg"
        printf 'header = "Content-Type: application/json"\nheader = "webhook-id: %s"\n' \
            "$i" >> "$cfg"
    done
    h_receiver_clear
    t0=$(now)
    curl -s --no-progress-meter --parallel --parallel-max 8 -K "$cfg" > /dev/null 2>&1 || true
    t1=$(now)
    got=$(h_receiver_requests | wc -l | tr -d ' ')
    [ "$got" = "$N" ] || { say "notify bench: the receiver saw $got of $N curl requests"; exit 1; }
    rate "$N" "$(elapsed "$t0" "$t1")"
}

C8=() C1=() BASE=() CPU=()
say "notify bench: warm-up"
deliver 8 > /dev/null
BODY=$(h_receiver_requests | tail -n 1 | h_json body)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
    read -r r c <<< "$(deliver 8)"
    C8+=("$r")
    CPU+=("$c")
    read -r r c <<< "$(deliver 1)"
    C1+=("$r")
    BASE+=("$(baseline)")
    say "notify bench: repetition $rep/$REPS: concurrency 8 ${C8[-1]}/s," \
        "concurrency 1 ${C1[-1]}/s, curl --parallel ${BASE[-1]} req/s"
done
read -r c8_med c8_min c8_max <<< "$(stats "${C8[@]}")"
read -r c1_med c1_min c1_max <<< "$(stats "${C1[@]}")"
read -r b_med b_min b_max <<< "$(stats "${BASE[@]}")"
cpu_med="-"
[ "${CPU[0]}" = - ] || read -r cpu_med _ _ <<< "$(stats "${CPU[@]}")"
ratio=$(awk -v a="$c8_med" -v b="$b_med" 'BEGIN { printf "%.2f", a / b }')

section() {
    echo
    echo "## Notifications"
    echo
    echo "| measurement | median | min | max |  |"
    echo "| --- | --- | --- | --- | --- |"
    echo "| (g) \`sluice notify\`, $N signed webhook messages, concurrency 8 (default) |" \
        "$c8_med deliveries/s | $c8_min | $c8_max | $ratio of the receiver's ceiling |"
    echo "| (g) \`sluice notify\`, $N messages, concurrency 1 | $c1_med deliveries/s |" \
        "$c1_min | $c1_max |  |"
    echo "| (g) the receiver alone: $N POSTs of one body, \`curl --parallel\` 8 at a time |" \
        "$b_med req/s | $b_min | $b_max | ceiling |"
    echo "| (g) CPU time of \`sluice notify\` per delivery (user + system), concurrency 8 |" \
        "$cpu_med µs |  |  |  |"
    echo
    echo "Each measurement delivers $N freshly enqueued messages to one webhook target at"
    echo "tests/lib/receiver.mjs on loopback (which appends every request to a JSON-lines"
    echo "log before answering) and checks that all $N were delivered exactly once: claim"
    echo "(batches of 100, SKIP LOCKED), open the sealed secret, render and sign, POST"
    echo "with libcurl, record the attempt and the outcome. $REPS repetitions; the"
    echo "receiver, PostgreSQL and sluice share the machine's $(nproc) CPUs (load average"
    echo "$LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)."
}
if [ "$APPEND" = 1 ]; then
    section >> "$OUT"
    say "notify bench: appended to $OUT"
else
    section
fi
