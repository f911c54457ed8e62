#!/usr/bin/env bash
# test_install.sh - `make install` puts binaries, share files and examples
# where a packager expects them, and the installed binaries find their share
# directory without being told.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir
dest="$H_TMP/dest"
make -s -C "$H_ROOT" install PREFIX=/usr/local DESTDIR="$dest" > "$H_TMP/install.log" 2>&1 \
    && ok "make install succeeds" || fail "make install succeeds" "$(tail -5 "$H_TMP/install.log")"

for f in bin/sluice bin/sluice-web; do
    [ -x "$dest/usr/local/$f" ] && ok "installs $f" || fail "installs $f" "missing"
done
for f in share/sluice/templates/layout.mustache share/sluice/static/css/sluice.css \
    share/sluice/sql/001_foundation.sql share/doc/sluice/examples/sluice.conf \
    share/doc/sluice/examples/sluice share/doc/sluice/examples/nginx-sluice.conf \
    share/doc/sluice/README.md; do
    [ -f "$dest/usr/local/$f" ] && ok "installs $f" || fail "installs $f" "missing"
done

out=$(env -u SLUICE_SHARE_DIR "$dest/usr/local/bin/sluice" config 2>&1 || true)
assert_contains "installed sluice finds its share dir" "$out" "share_dir = $dest/usr/local/share/sluice"
out=$("$dest/usr/local/bin/sluice" version)
assert_contains "installed sluice runs" "$out" "sluice "

h_done
