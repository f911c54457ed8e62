#!/usr/bin/env bash
# demo.sh - give the e2e stack what `make run` gives a new user: the demo shop
# (scripts/demo.sql in a database of the harness cluster), the default
# destination, the pipeline demo_shop (`sluice demo setup --no-run`: the
# browser test queues the first run with "Sync now"), and a tick loop that
# runs queued runs as they come (sluice tick LISTENs for them).
#
#   tests/e2e/demo.sh     (from tests/run.sh's e2e stage, after h_stack_up)
#
# Reads the harness's exported H_PG_PORT, H_PG_ADMIN_URL, H_DATABASE_URL,
# H_VAR and H_LOG. Prints the tick loop's pid (it leads its own process
# group; stop it with h_stop_pid). Exit status 1, with the reason on
# stderr, when anything fails; nothing is left running then.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${H_PG_PORT:?} ${H_PG_ADMIN_URL:?} ${H_DATABASE_URL:?} ${H_VAR:?} ${H_LOG:?}"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
DEMO_DB=sluice_demo
WH_DB=sluice_warehouse

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$ROOT \
        "$ROOT/bin/sluice" "$@"
}

for db in "$DEMO_DB" "$WH_DB"; do
    "${PSQL[@]}" -d "$H_PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" \
        >&2
done
"${PSQL[@]}" -1 -d "${H_PG_ADMIN_URL%/*}/$DEMO_DB" -f "$ROOT/scripts/demo.sql" >&2
# The harness cluster trusts loopback connections: no password (empty line).
printf '\n' | sluice_cli destination add-local --name "Local warehouse" --host 127.0.0.1 \
    --port "$H_PG_PORT" --database "$WH_DB" --user sluice >&2
printf '\n' | sluice_cli demo setup --host 127.0.0.1 --port "$H_PG_PORT" --user sluice \
    --database "$DEMO_DB" --no-run >&2
# The demo is scheduled hourly; keep that schedule from firing during the
# browser tests (sync.test.mjs expects to make the first run itself).
"${PSQL[@]}" -d "$H_DATABASE_URL" -c \
    "UPDATE sluice.pipelines SET next_run_at = now() + interval '1 day' WHERE name = 'demo_shop'" >&2

# shellcheck disable=SC2016 # expanded by the inner bash
SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$ROOT \
    setsid bash -c 'while :; do "$1" tick; sleep 1; done' "e2e tick loop" "$ROOT/bin/sluice" \
    < /dev/null >> "$H_LOG/tick.log" 2>&1 &
echo "$!"
