#!/usr/bin/env bash
# upload.sh - `make bench` (tests/bench/run.sh runs it): landing zone uploads
# through nginx, measured against nginx writing the same body to a file of
# its own, on a throwaway stack (tests/lib/harness.sh: PostgreSQL, the pool
# with 2 workers, nginx). Writes the "## Landing zone uploads" section of
# tests/bench/RESULTS.md (replacing it when it is there).
#
#   (a) baseline: PUT of the file to a second nginx on the same machine whose
#       location takes it with the DAV module (dav_methods PUT): nginx reads
#       the body into its client_body_temp_path file and renames it into
#       place, which is what nginx's own temporary body file costs;
#   (b) PUT /api/v1/landing-zones/{zone}/files/{name} of the same file
#       through the stack's nginx: streamed to the worker unbuffered,
#       hashed (SHA-256), written, fsynced, renamed and recorded;
#   (c) the same file as multipart/form-data (POST .../files);
#   (d) the peak RSS (VmHWM) of the worker that read each body (found by the
#       growth of its rchar), against the 64 MiB target.
# The file is SIZE bytes of zeros (a sparse file, so reading it costs curl
# next to nothing); every upload is checked (201, size, sha256) and its file
# deleted before the next. (a), (b) and (c) alternate, REPS times each.
#
# Environment: BENCH_UPLOAD_MIB (1024), BENCH_UPLOAD_REPS (BENCH_REPS, 3),
# BENCH_OUT (tests/bench/RESULTS.md), H_KEEP=1 keeps the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
H_REPORT=0
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

MIB=${BENCH_UPLOAD_MIB:-1024}
REPS=${BENCH_UPLOAD_REPS:-${BENCH_REPS:-3}}
OUT=${BENCH_OUT:-$ROOT/tests/bench/RESULTS.md}
RSS_TARGET_KB=65536
for v in MIB REPS; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ]; then
        echo "bench: BENCH_UPLOAD_$v must be a positive number" >&2
        exit 2
    fi
done
for b in bin/sluice bin/sluice-web; do
    [ -x "$b" ] || { echo "bench: $b is missing; run make all" >&2; exit 1; }
done
SIZE=$((MIB * 1048576))

say() { printf '%s\n' "$*"; }
step() { printf '\n# %s\n' "$*"; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
med_min() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f\n", m, v[1] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'; }
mbps() { awk -v n="$SIZE" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f MB/s", n / s / 1e6 }'; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
step "starting the stack"
export SLUICE_WEB_WORKERS=2
h_stack_up
LOG=$H_LOG/upload-bench.log
: > "$LOG"
say "bench: logs in $H_LOG (H_KEEP=1 keeps them)"
sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$ROOT \
        SLUICE_LOG_LEVEL=warn "$ROOT/bin/sluice" "$@"
}
printf '%s\n' 'bench-password-1234' | sluice_cli user add --email bench@example.com \
    --role editor --name Bench >> "$LOG" 2>&1
TOKEN=$(sluice_cli token create --email bench@example.com --name bench 2>> "$LOG")
DEST=00000000-0000-4000-8000-0000000000be
h_psql "INSERT INTO sluice.destinations (id, name, type, host, port, database, username)
        VALUES ('$DEST', 'bench', 'postgresql', '127.0.0.1', $H_PG_PORT, 'x', 'sluice');
        INSERT INTO sluice.landing_zones (name, destination_id, target_table, max_file_bytes)
        VALUES ('bench', '$DEST', 'bench_t', 8589934592)" > /dev/null
ZONE_ID=$(h_psql "SELECT id FROM sluice.landing_zones WHERE name = 'bench'")

# The baseline nginx: one DAV location, temporary files next to the stack's.
DAV_PORT=$(h_free_port)
DAV_DIR=$H_TMP/dav
mkdir -p "$DAV_DIR/root" "$DAV_DIR/tmp" "$DAV_DIR/logs"
user_line=""
if h_is_root; then user_line="user root;"; fi
cat > "$DAV_DIR/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $DAV_DIR/nginx.pid;
error_log $DAV_DIR/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $DAV_DIR/tmp;
    server {
        listen 127.0.0.1:$DAV_PORT;
        client_max_body_size 0;
        client_body_timeout 60s;
        location /put/ {
            root $DAV_DIR/root;
            dav_methods PUT;
            create_full_put_path on;
        }
    }
}
EOF
setsid nginx -p "$DAV_DIR/" -c "$DAV_DIR/nginx.conf" < /dev/null >> "$LOG" 2>&1 &
DAV_PID=$!
h_defer h_stop_pid "$DAV_PID" 5
_dav_up() { _h_port_in_use "$DAV_PORT"; }
h_wait_for 10 _dav_up || { say "bench: the baseline nginx did not start" >&2; exit 1; }

FILE=$H_TMP/upload.bin
truncate -s "$SIZE" "$FILE"
step "the sha256 of $MIB MiB of zeros"
SHA=$(sha256sum "$FILE" | cut -d' ' -f1)

# curl_put ARGS...: one upload; prints the HTTP status, body to $H_TMP/.b
curl_up() {
    curl -s -m 900 -o "$H_TMP/.b" -w '%{http_code}' "$@" || echo 000
}
# The worker whose rchar grew by the whole body since snapshot().
declare -A RCHAR=()
snapshot() {
    local w
    RCHAR=()
    for w in $(h_workers); do
        RCHAR[$w]=$(awk '/^rchar/ { print $2 }' "/proc/$w/io" 2> /dev/null || echo 0)
    done
}
reader_hwm() {
    local w now
    for w in $(h_workers); do
        now=$(awk '/^rchar/ { print $2 }' "/proc/$w/io" 2> /dev/null || echo 0)
        if [ -n "${RCHAR[$w]:-}" ] && [ $((now - RCHAR[$w])) -ge "$SIZE" ]; then
            awk '/^VmHWM/ { print $2 }' "/proc/$w/status"
            return
        fi
    done
    echo 0
}
check_upload() { # STATUS JSON_PATH_PREFIX
    local st=$1 pre=$2 size sha
    size=$(h_json "${pre}size_bytes" < "$H_TMP/.b" || true)
    sha=$(h_json "${pre}sha256" < "$H_TMP/.b" || true)
    if [ "$st" != 201 ] || [ "$size" != "$SIZE" ] || [ "$sha" != "$SHA" ]; then
        say "bench: an upload failed: HTTP $st, size $size, sha256 $sha" >&2
        head -c 300 "$H_TMP/.b" >&2
        exit 1
    fi
}
clear_zone() {
    h_psql "DELETE FROM sluice.landing_files" > /dev/null
    rm -f "$H_VAR/landing/$ZONE_ID"/[0-9]*
}

A_T=() B_T=() C_T=() B_RSS=() C_RSS=()
for rep in $(seq 1 "$REPS"); do
    step "repetition $rep/$REPS"
    sync
    t0=$(now)
    st=$(curl_up -T "$FILE" "http://127.0.0.1:$DAV_PORT/put/f$rep.bin")
    A_T+=("$(elapsed "$t0" "$(now)")")
    got=$(stat -c %s "$DAV_DIR/root/put/f$rep.bin" 2> /dev/null || echo 0)
    if [ "$st" != 201 ] || [ "$got" != "$SIZE" ]; then
        say "bench: the baseline PUT failed: HTTP $st, $got bytes" >&2
        exit 1
    fi
    rm -f "$DAV_DIR/root/put/f$rep.bin"
    say "(a) nginx DAV PUT: ${A_T[-1]} s"

    sync
    snapshot
    t0=$(now)
    st=$(curl_up -H "Authorization: Bearer $TOKEN" -T "$FILE" \
        "$H_URL/api/v1/landing-zones/bench/files/f$rep.bin")
    B_T+=("$(elapsed "$t0" "$(now)")")
    check_upload "$st" ""
    B_RSS+=("$(reader_hwm)")
    clear_zone
    say "(b) sluice PUT: ${B_T[-1]} s, worker VmHWM ${B_RSS[-1]} kB"

    sync
    snapshot
    t0=$(now)
    st=$(curl_up -H "Authorization: Bearer $TOKEN" -F "files=@$FILE;filename=m$rep.bin" \
        "$H_URL/api/v1/landing-zones/bench/files")
    C_T+=("$(elapsed "$t0" "$(now)")")
    check_upload "$st" "files.0."
    C_RSS+=("$(reader_hwm)")
    clear_zone
    say "(c) sluice multipart: ${C_T[-1]} s, worker VmHWM ${C_RSS[-1]} kB"
done

read -r A_MED A_MIN <<< "$(med_min "${A_T[@]}")"
read -r B_MED B_MIN <<< "$(med_min "${B_T[@]}")"
read -r C_MED C_MIN <<< "$(med_min "${C_T[@]}")"
HASH="the CPU's SHA extensions"
grep -qw sha_ni /proc/cpuinfo || HASH="libsodium's portable SHA-256: no SHA extensions here"
RSS_MAX=$(printf '%s\n' "${B_RSS[@]}" "${C_RSS[@]}" | sort -n | tail -n 1)
RSS_MIB=$(awk -v k="$RSS_MAX" 'BEGIN { printf "%.1f", k / 1024 }')
VERDICT=$([ "$RSS_MAX" -gt 0 ] && [ "$RSS_MAX" -lt "$RSS_TARGET_KB" ] && echo ok || echo MISSED)

row() {
    local c out="|"
    for c in "$@"; do out+=" $c |"; done
    printf '%s\n' "$out"
}
rev=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)
section() {
    echo "## Landing zone uploads"
    echo
    echo "Produced by tests/bench/upload.sh on $(date -u '+%Y-%m-%d %H:%M UTC') (sluice $rev;"
    echo "load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)."
    echo
    echo "One $MIB MiB file (zeros, read from a sparse file) sent with curl over loopback, $REPS"
    echo "times each, alternating; median and min. Every upload is checked (201, size, sha256)."
    echo
    row measurement median min ratio throughput ""
    row --- --- --- --- --- ---
    row "(a) nginx alone: DAV PUT into its temporary body file, renamed" "$A_MED s" \
        "$A_MIN s" 1.00 "$(mbps "$A_MED")" baseline
    row "(b) sluice: \`PUT /api/v1/landing-zones/{zone}/files/{name}\`" "$B_MED s" \
        "$B_MIN s" "$(ratio "$B_MED" "$A_MED")" "$(mbps "$B_MED")" ""
    row "(c) sluice: multipart \`POST /api/v1/landing-zones/{zone}/files\`" "$C_MED s" \
        "$C_MIN s" "$(ratio "$C_MED" "$A_MED")" "$(mbps "$C_MED")" ""
    echo
    row measurement "peak RSS" target ""
    row --- --- --- ---
    row "(d) the worker that read the body, largest of (b) and (c)" "$RSS_MIB MiB" \
        "< 64 MiB, flat" "$VERDICT"
    echo
    echo "- (a): ${A_T[*]}"
    echo "- (b): ${B_T[*]}; VmHWM ${B_RSS[*]} kB"
    echo "- (c): ${C_T[*]}; VmHWM ${C_RSS[*]} kB"
    echo
    echo "(b) and (c) stream the body from nginx to the worker unbuffered (FastCGI), compute"
    echo "its SHA-256 as it passes, write it to a temporary file, fsync it, rename it and"
    echo "record it in the control database; (a) writes it once without fsync."
    echo "SHA-256 on this machine: $HASH."
    echo "Peak RSS is VmHWM of /proc/PID/status of the worker whose rchar grew by the file's"
    echo "size; memory does not grow with the file."
}

step "results"
mkdir -p "$(dirname "$OUT")"
NEW=$H_TMP/section.md
section > "$NEW"
if [ -f "$OUT" ] && grep -q '^## Landing zone uploads$' "$OUT"; then
    # Replace the section: from its heading to the next "## " heading or the end.
    awk -v f="$NEW" '
        /^## Landing zone uploads$/ { while ((getline l < f) > 0) print l; skip = 1; next }
        skip && /^## / { skip = 0; print ""; }
        !skip { print }' "$OUT" > "$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
else
    [ ! -s "$OUT" ] || echo >> "$OUT"
    cat "$NEW" >> "$OUT"
fi
cat "$NEW"
say ""
say "bench: wrote the upload section of $OUT"
