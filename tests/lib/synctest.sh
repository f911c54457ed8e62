# synctest.sh - setup and helpers shared by the sync engine's integration
# tests (tests/integration/test_sync_*.sh); source it after harness.sh.
#
# It starts a throwaway cluster with three databases (control, source,
# destination), gives source and destination deliberately odd default
# settings (time zones, date styles, float digits, bytea output) so that
# only the engine's own session settings can make copies exact, creates
# the secret key, registers the destination through `sluice destination
# add-local` (its password sealed, so the engine opens it) and the source.
#
#   src SQL / dst SQL / ctl SQL   run SQL on a database, print rows
#   src_sql < FILE                run a script on the source (no output)
#   sl ARGS...                    bin/sluice; sets RC, output in $OUT / $ERR
#   pipe NAME                     a pipeline; prints its id
#   add_table P TABLE [SYNC_MODE] [WATERMARK] [LOOKBACK] [LOAD_MODE] [SCHEMA]
#   queue P OPTIONS_JSON          queue a run and run it (sluice tick --once)
#   last_run / last_status / last_run_id
#                                 the newest run's status (": error" if any) /
#                                 status only / id
#   run_log_text / run_stat EXPR  the newest run's log text / EXPR of its table stats
#   compare TABLE COLS [TARGET] [WHERE]
#                                 "rows_src rows_dst missing extra": rows as
#                                 text, EXCEPT ALL both ways (via dblink)
#   same NAME TABLE COLS [TARGET] assert source and destination are equal
# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are used by the test files

h_tmpdir > /dev/null
h_pg_start
h_migrate > "$H_LOG/migrate.log" 2>&1 || { cat "$H_LOG/migrate.log" >&2; exit 1; }

SLUICE=${SLUICE_BIN:-$H_ROOT/bin/sluice}
OUT=$H_TMP/out
ERR=$H_TMP/err
RC=0
SRC_URL=$(h_createdb src)
DST_URL=$(h_createdb dst)
SRC_DB=${SRC_URL##*/}
DST_DB=${DST_URL##*/}

src() { h_psql "$1" "$SRC_URL"; }
src_sql() { "$H_PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -d "$SRC_URL" > /dev/null; }
dst() { h_psql "$1" "$DST_URL"; }
ctl() { h_psql "$1"; }

# sl ARGS...: bin/sluice on the control database; RC, $OUT, $ERR.
sl() {
    RC=0
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_TICK_SECONDS=1 "$SLUICE" "$@" > "$OUT" 2> "$ERR" < /dev/null || RC=$?
}

# Odd defaults on both sides: only the engine's SETs may make copies exact.
h_psql "ALTER DATABASE \"$SRC_DB\" SET TimeZone TO 'America/St_Johns';
        ALTER DATABASE \"$SRC_DB\" SET DateStyle TO 'SQL, DMY';
        ALTER DATABASE \"$SRC_DB\" SET IntervalStyle TO 'sql_standard';
        ALTER DATABASE \"$SRC_DB\" SET extra_float_digits TO -3;
        ALTER DATABASE \"$SRC_DB\" SET bytea_output TO 'escape';
        ALTER DATABASE \"$DST_DB\" SET TimeZone TO 'Asia/Kathmandu';
        ALTER DATABASE \"$DST_DB\" SET DateStyle TO 'German';
        ALTER DATABASE \"$DST_DB\" SET IntervalStyle TO 'iso_8601';
        ALTER DATABASE \"$DST_DB\" SET extra_float_digits TO 0;" "$H_PG_ADMIN_URL" > /dev/null

sl key create
assert_eq "secret key created" 0 "$RC"

# The destination goes in through `sluice destination add-local`, so its
# password is sealed and the engine has to open it (trust auth ignores it).
RC=0
SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT "$SLUICE" \
    destination add-local --host 127.0.0.1 --port "$H_PG_PORT" --database "$DST_DB" \
    --user sluice <<< 'not-really-needed' > "$OUT" 2> "$ERR" || RC=$?
assert_eq "destination add-local" 0 "$RC"
DEST_ID=$(ctl "SELECT id FROM sluice.destinations")
assert_contains "destination password is sealed" \
    "$(ctl "SELECT password_enc FROM sluice.destinations")" "sb1:"
SOURCE_ID=$(ctl "INSERT INTO sluice.sources (name, type, host, port, database, username, ssl_mode)
    VALUES ('Shop DB', 'postgresql', '127.0.0.1', $H_PG_PORT, '$SRC_DB', 'sluice', 'disable')
    RETURNING id")

# pipe NAME: a pipeline; prints its id.
pipe() {
    ctl "INSERT INTO sluice.pipelines (name, source_id, destination_id)
         VALUES ('$1', '$SOURCE_ID', '$DEST_ID') RETURNING id"
}
# add_table PIPELINE_ID TABLE [SYNC_MODE] [WATERMARK] [LOOKBACK] [LOAD_MODE] [SCHEMA]
add_table() {
    local wm=NULL lm=NULL
    [ -z "${4:-}" ] || wm="'$4'"
    [ -z "${6:-}" ] || lm="'$6'"
    ctl "INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table,
            sync_mode, watermark_column, lookback_seconds, load_mode)
         VALUES ('$1', '${7:-public}', \$t\$$2\$t\$, '${3:-incremental}', $wm, ${5:-0}, $lm)" \
        > /dev/null
}
# queue PIPELINE_ID OPTIONS_JSON: queue a run and run it with tick --once.
queue() {
    ctl "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options)
         VALUES ('$1', 'manual', '$2')" > /dev/null
    sl tick --once
}
# The newest run's status, and its error when it has one.
last_run() {
    ctl "SELECT status || coalesce(': ' || error, '') FROM sluice_runs.runs
         ORDER BY id DESC LIMIT 1"
}
last_run_id() { ctl "SELECT id FROM sluice_runs.runs ORDER BY id DESC LIMIT 1"; }
last_status() { ctl "SELECT status FROM sluice_runs.runs ORDER BY id DESC LIMIT 1"; }
# The newest run's log lines, joined; one of its table stats' columns.
run_log_text() {
    ctl "SELECT string_agg(message, ' ') FROM sluice_runs.run_logs WHERE run_id = $(last_run_id)"
}
run_stat() {
    ctl "SELECT $1 FROM sluice_runs.run_table_stats WHERE run_id = $(last_run_id)"
}

# dblink in the destination, to compare with the source from there.
dst "CREATE SCHEMA testx; CREATE EXTENSION dblink SCHEMA testx;" > /dev/null
SETTINGS="SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
          SET extra_float_digits = 3; SET bytea_output = 'hex';"

# compare TABLE COLS [TARGET] [WHERE]: "rows_src rows_dst missing extra" with
# missing = source rows not at the destination (EXCEPT ALL), extra the
# other way; rows compared as their text.
compare() {
    local t=$1 cols=$2 target=${3:-$1} where=${4:-}
    local remote="SELECT x::text FROM (SELECT $cols FROM public.\"$t\" $where) x"
    dst "$SETTINGS
        SELECT testx.dblink_connect('s',
            'host=127.0.0.1 port=$H_PG_PORT dbname=$SRC_DB user=sluice');
        SELECT testx.dblink_exec('s', \$q\$$SETTINGS\$q\$);
        CREATE TEMP TABLE s AS SELECT * FROM testx.dblink('s', \$q\$$remote\$q\$) AS r(x text);
        CREATE TEMP TABLE d AS
            SELECT x::text FROM (SELECT $cols FROM analytics.\"$target\" $where) x;
        SELECT testx.dblink_disconnect('s');
        SELECT (SELECT count(*) FROM s) || ' ' || (SELECT count(*) FROM d) || ' '
            || (SELECT count(*) FROM (SELECT x FROM s EXCEPT ALL SELECT x FROM d) m) || ' '
            || (SELECT count(*) FROM (SELECT x FROM d EXCEPT ALL SELECT x FROM s) e);" | tail -1
}
# same NAME TABLE COLS [TARGET]: assert the destination equals the source.
same() {
    local n
    n=$(src "SELECT count(*) FROM public.\"$2\"")
    assert_eq "$1" "$n $n 0 0" "$(compare "$2" "$3" "${4:-$2}")"
}

