#!/usr/bin/env bash
# test_feature_quality.sh - the quality_checks feature flag in the sync
# engine: with the flag off a sync records no quality result (and says so
# in the run's log), the run and its data are as usual; turned back on, the
# next sync checks again. (Route-level flags are in test_retention.sh.)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/synctest.sh
. "$(dirname "$0")/../lib/synctest.sh"

src "CREATE TABLE qflag (id integer PRIMARY KEY, must text NOT NULL, updated_at timestamptz);
     INSERT INTO qflag VALUES (1, 'a', '2024-01-01+00'), (2, 'b', '2024-01-02+00');" > /dev/null
P=$(pipe qflag)
add_table "$P" qflag
nquality() { ctl "SELECT count(*) FROM sluice_runs.quality_log WHERE run_id = $(last_run_id)"; }

ctl "UPDATE sluice.settings SET value = value || '{\"quality_checks\": false}'
     WHERE key = 'features'" > /dev/null
sl sync qflag
assert_eq "flag off: the run succeeds" "0 success" "$RC $(last_run)"
same "flag off: the data is copied" qflag "id, must, updated_at"
assert_eq "flag off: no quality result recorded" 0 "$(nquality)"
assert_contains "flag off: the log says why" "$(run_log_text)" "quality checks are turned off"
assert_eq "flag off: no quality failures counted" 0 \
    "$(ctl "SELECT quality_failures FROM sluice_runs.runs WHERE id = $(last_run_id)")"

src "INSERT INTO qflag VALUES (3, 'c', '2024-01-03+00')" > /dev/null
queue "$P" '{}'
assert_eq "flag off, tick: the run succeeds" success "$(last_status)"
assert_eq "flag off, tick: no quality result either" 0 "$(nquality)"

ctl "UPDATE sluice.settings SET value = value || '{\"quality_checks\": true}'
     WHERE key = 'features'" > /dev/null
src "INSERT INTO qflag VALUES (4, 'd', '2024-01-04+00')" > /dev/null
sl sync qflag
assert_eq "flag on: the run succeeds" "0 success" "$RC $(last_run)"
assert_eq "flag on: both checks recorded and passed" "not_null:passed|row_count:passed" \
    "$(ctl "SELECT string_agg(check_type || ':' || status, '|' ORDER BY check_type)
            FROM sluice_runs.quality_log WHERE run_id = $(last_run_id)")"
same "flag on: the data is copied" qflag "id, must, updated_at"

h_done
