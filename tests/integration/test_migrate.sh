#!/usr/bin/env bash
# test_migrate.sh - `sluice migrate`: applies every sql/NNN_*.sql once, a
# second run applies nothing, five runs at once on a fresh database all
# succeed and record each version exactly once, and an applied file that
# changed is refused.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir
h_pg_start
nfiles=$(find "$H_ROOT/sql" -maxdepth 1 -name '[0-9]*_*.sql' | wc -l)
versions_sql="SELECT count(*) || ' ' || count(DISTINCT version) FROM sluice.schema_migrations"

# First run on a fresh database.
out=$(h_migrate 2>&1) && rc=0 || rc=$?
assert_eq "first migrate exits 0" 0 "$rc"
assert_eq "every sql file recorded once" "$nfiles $nfiles" "$(h_psql "$versions_sql")"
assert_eq "checksums are sha256 hex" "$nfiles" \
    "$(h_psql "SELECT count(*) FROM sluice.schema_migrations WHERE checksum ~ '^[0-9a-f]{64}\$'")"
schema_before=$(h_psql "SELECT count(*) FROM information_schema.tables
                        WHERE table_schema LIKE 'sluice%'")
assert_true "migrations created tables ($schema_before)" test "$schema_before" -ge "$nfiles"

# Second run: nothing to do.
out=$(h_migrate 2>&1) && rc=0 || rc=$?
assert_eq "second migrate exits 0" 0 "$rc"
assert_contains "second migrate says so" "$out" "database is up to date"
assert_eq "second migrate recorded nothing new" "$nfiles $nfiles" "$(h_psql "$versions_sql")"
assert_eq "second migrate created nothing" "$schema_before" \
    "$(h_psql "SELECT count(*) FROM information_schema.tables WHERE table_schema LIKE 'sluice%'")"

# Five at once on another fresh database: the advisory lock serialises them.
url=$(h_createdb conc)
pids=()
for i in 1 2 3 4 5; do
    h_migrate "$url" > "$H_TMP/conc.$i.log" 2>&1 &
    pids+=($!)
done
rcs=""
for p in "${pids[@]}"; do
    wait "$p" && rcs+="0 " || rcs+="$? "
done
assert_eq "five concurrent migrates all exit 0" "0 0 0 0 0 " "$rcs"
assert_eq "concurrent: each version recorded once" "$nfiles $nfiles" \
    "$(h_psql "$versions_sql" "$url")"
assert_eq "concurrent: same schema as a single run" "$schema_before" \
    "$(h_psql "SELECT count(*) FROM information_schema.tables
               WHERE table_schema LIKE 'sluice%'" "$url")"

# A changed, already applied file is refused and nothing is applied.
share=$H_TMP/share
mkdir -p "$share"
cp -R "$H_ROOT/sql" "$share/sql"
first=$(find "$share/sql" -maxdepth 1 -name '[0-9]*_*.sql' | sort | head -n 1)
printf '\n-- edited after it was applied\n' >> "$first"
out=$(SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$share \
    "$H_ROOT/bin/sluice" migrate 2>&1) && rc=0 || rc=$?
assert_true "a changed applied migration is refused (exit $rc)" test "$rc" -ne 0
assert_contains "the refusal names the file" "$out" "${first##*/}"

h_done
