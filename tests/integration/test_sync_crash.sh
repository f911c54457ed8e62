#!/usr/bin/env bash
# test_sync_crash.sh - the sync engine under kill -9, cancels and readers:
#   - an incremental sync of 300,000 rows in small chunks is killed (-9) at
#     several points; after each kill the checkpoint agrees with the data
#     (every source row below it is at the destination, nothing else is),
#     and a final run leaves the destination equal to the source, with no
#     duplicates;
#   - full refreshes killed midway leave the old table exactly as it was;
#   - while a full refresh runs, a reader in another session sees the old
#     rows, never an empty or half table, until the swap, then the new ones;
#   - a cancel stops at a chunk boundary, keeping what was committed;
#   - the sync's memory stays small (peak RSS of a 300,000-row full refresh).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

ROWS=300000
COLS="id, v, pad, updated_at"

# bg ARGS...: bin/sluice in the background, in its own process group; BG_PID.
bg() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_TICK_SECONDS=1 setsid "$SLUICE" "$@" > "$H_LOG/bg.log" 2>&1 < /dev/null &
    BG_PID=$!
}
# kill9_after SECONDS: kill -9 the background sync after SECONDS (if alive).
kill9_after() {
    sleep "$1"
    kill -KILL "$BG_PID" 2> /dev/null || true
    wait "$BG_PID" 2> /dev/null || true
}
# The killed run's row stays 'running' until the reaper; let the next claim go.
forget_killed() {
    ctl "UPDATE sluice_runs.runs SET status = 'failed', finished_at = now(), error = 'killed'
         WHERE status = 'running'" > /dev/null
}
ckpt() {
    dst "SELECT coalesce(watermark, '') FROM staging._sluice_state WHERE source_table = '$1'"
}

src "CREATE TABLE crash (id bigint PRIMARY KEY, v text, pad text, updated_at timestamptz NOT NULL);
     INSERT INTO crash VALUES (0, 'seed', '', '2023-12-31+00');" > /dev/null
P=$(pipe crash)
add_table "$P" crash
sl sync crash
assert_eq "crash: first sync of one row" "0 success" "$RC $(last_run)"
# 300,000 rows, 50 per watermark value: chunk boundaries split values
src "INSERT INTO crash SELECT g, 'v1', repeat(md5(g::text), 3),
         '2024-01-01+00'::timestamptz + (g / 50) * interval '1 second'
     FROM generate_series(1, $ROWS) g;" > /dev/null

# ==== kill -9 in the middle of chunked incremental syncs =================================

partial=0
for delay in 0.3 0.6 1 1.5 2.5; do
    ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
         VALUES ('$P', 'manual', '{\"chunk_rows\": 2000}')" > /dev/null
    bg tick --once
    kill9_after "$delay"
    forget_killed
    c=$(ckpt crash)
    n=$(dst "SELECT count(*) FROM analytics.crash")
    if [ "$n" -gt 1 ] && [ "$n" -lt $((ROWS + 1)) ]; then partial=$((partial + 1)); fi
    # below the checkpoint: every source row is there; overall: nothing
    # that is not in the source
    read -r s_below d_below missing _ <<< "$(compare crash "$COLS" crash \
        "WHERE updated_at < '$c'::timestamptz")"
    assert_eq "crash after ${delay}s: all $s_below rows below the checkpoint ($c) are there" \
        "$s_below 0" "$d_below $missing"
    read -r _ d_all _ extra <<< "$(compare crash "$COLS")"
    assert_eq "crash after ${delay}s: $d_all rows, none that the source lacks" 0 "$extra"
done
assert_true "crash: at least one kill hit a run midway" test "$partial" -ge 1
queue "$P" '{"chunk_rows": 2000}'
assert_eq "crash: a last run succeeds" "0 success" "$RC $(last_run)"
same "crash: the destination equals the source, no duplicates" crash "$COLS"
assert_eq "crash: the checkpoint is the source's max watermark" \
    "$(src "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SELECT max(updated_at) FROM crash")" \
    "$(ckpt crash)"

# ==== cancel: stops at a chunk boundary ===================================================

# every row changes, its watermark moves forward
src "UPDATE crash SET v = 'v2', updated_at = '2024-02-01+00'::timestamptz
                                            + (id / 50) * interval '1 second'" > /dev/null
some_v2() { [ "$(dst "SELECT count(*) FROM analytics.crash WHERE v = 'v2'")" -gt 0 ]; }
ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
     VALUES ('$P', 'manual', '{\"chunk_rows\": 2000}')" > /dev/null
bg tick --once
h_wait_for 20 some_v2 || true
ctl "UPDATE sluice_runs.runs SET cancel_requested = true WHERE status = 'running'" > /dev/null
h_wait_for 30 _h_dead "$BG_PID" || true
wait "$BG_PID" 2> /dev/null || true
assert_eq "cancel: the run is cancelled" cancelled "$(last_status)"
assert_eq "cancel: so is its table" cancelled \
    "$(ctl "SELECT status FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)")"
done_rows=$(dst "SELECT count(*) FROM analytics.crash WHERE v = 'v2'")
assert_true "cancel: it stopped partway ($done_rows rows of $ROWS)" test "$done_rows" -lt "$ROWS"
assert_eq "cancel: whole chunks of 2000 were kept" 0 $((done_rows % 2000))
c=$(ckpt crash)
read -r s_below _ missing _ <<< "$(compare crash "$COLS" crash \
    "WHERE updated_at < '$c'::timestamptz")"
assert_eq "cancel: all $s_below source rows below the checkpoint ($c) were committed" 0 \
    "$missing"
assert_true "cancel: ... which is more than nothing" test "$s_below" -gt 0
assert_contains "cancel: the log says what stayed" \
    "$(run_log_text)" \
    "stopped at a chunk boundary"
sl sync crash
assert_eq "cancel: the next run finishes the job" "0 success" "$RC $(last_run)"
same "cancel: equal afterwards" crash "$COLS"

# ==== full refresh: readers see the old rows until the swap ==============================

observe() {
    dst "SELECT count(*) || ' ' || count(*) FILTER (WHERE v = '$1') FROM analytics.crash"
}
N=$((ROWS + 1))
src "UPDATE crash SET v = 'v3'" > /dev/null
t0=$(h_now_ms)
bg sync crash --full-refresh
old=0 new=0 bad=""
while h_alive "$BG_PID"; do
    o=$(observe v3)
    case "$o" in
        "$N 0") old=$((old + 1)) ;;
        "$N $N") new=$((new + 1)) ;;
        *) bad="$bad [$o]" ;;
    esac
done
wait "$BG_PID" && rc=0 || rc=$?
took=$(($(h_now_ms) - t0))
assert_eq "readers: the full refresh succeeded" "0 success" "$rc $(last_run)"
assert_eq "readers: never an empty or partial table" "" "$bad"
assert_true "readers: the old rows were visible while it ran ($old times in ${took} ms)" \
    test "$old" -ge 2
assert_eq "readers: the new rows after it" "$N $N" "$(observe v3)"
same "readers: equal after the swap" crash "$COLS"
assert_eq "readers: the primary key is back under its name" 1 \
    "$(dst "SELECT count(*) FROM pg_indexes WHERE tablename = 'crash'
            AND indexname = 'crash_pkey'")"

# ==== full refresh: killed midway, the old table stays ===================================

digest() { dst "SELECT md5(string_agg(x::text, '' ORDER BY id)) FROM analytics.crash x"; }
hits=0
for part in 15 35 55; do
    delay=$(awk -v ms="$took" -v p="$part" 'BEGIN { printf "%.2f", ms * p / 100000 }')
    before=$(digest)
    src "UPDATE crash SET v = 'v4-$part'" > /dev/null
    bg sync crash --full-refresh
    kill9_after "$delay"
    if [ "$(last_status)" != running ]; then
        h_log "the refresh finished before the kill at ${delay}s; nothing to check"
        continue
    fi
    hits=$((hits + 1))
    forget_killed
    # The kill can land after the swap committed but before the run recorded
    # its end: then the table is the whole new one. Never anything between.
    n=$(src "SELECT count(*) FROM public.crash")
    if [ "$(digest)" = "$before" ]; then
        ok "full refresh killed after ${delay}s: the old table is intact"
    else
        assert_eq "full refresh killed after ${delay}s: the swap had committed, the new table whole" \
            "$n $n 0 0" "$(compare crash "$COLS")"
    fi
    assert_eq "full refresh killed after ${delay}s: no shadow table left" 0 \
        "$(dst "SELECT count(*) FROM pg_class WHERE relname = 'crash__sluice_shadow'")"
done
assert_true "full refresh: the kills hit running refreshes ($hits of 3)" test "$hits" -ge 1

# ==== memory: a 300,000-row full refresh stays small =====================================

dst "CREATE INDEX crash_v_idx ON analytics.crash (v); GRANT SELECT ON analytics.crash TO PUBLIC" \
    > /dev/null
RC=0
SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
    /usr/bin/time -f '%M' -o "$H_TMP/rss" "$SLUICE" sync crash --full-refresh \
    > "$OUT" 2> "$ERR" || RC=$?
assert_eq "memory: full refresh succeeded" 0 "$RC"
rss=$(tail -1 "$H_TMP/rss")
if [ -z "${SLUICE_BIN:-}" ]; then
    assert_true "memory: peak RSS ${rss} KiB is under 64 MiB" test "$rss" -lt 65536
else
    h_log "peak RSS ${rss} KiB of $SLUICE_BIN (not checked: not the release build)"
fi
assert_eq "memory: the user's index and grant survived the swap" "crash_v_idx|true" \
    "$(dst "SELECT (SELECT indexname FROM pg_indexes WHERE indexname = 'crash_v_idx') || '|'
            || has_table_privilege('public', 'analytics.crash', 'SELECT')")"

h_done
