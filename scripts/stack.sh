#!/usr/bin/env bash
# stack.sh - the local stack: a private PostgreSQL 15 cluster, the sluice-web
# pool, nginx and a tick loop, everything under $SLUICE_VAR (default <repo>/var).
#
#   scripts/stack.sh start     start what is not running (`make run`)
#   scripts/stack.sh stop      stop everything start started (`make stop`)
#   scripts/stack.sh restart   stop, then start
#   scripts/stack.sh status    what is running (exit 0 all up, 3 otherwise)
#   scripts/stack.sh env       `export SLUICE_...` lines for a shell: eval "$(...)"
#   scripts/stack.sh logs [-f] the tail of every log (or follow them)
#   scripts/stack.sh render-nginx OUT VAR PORT SOCKET
#                              render nginx/local.conf.in (used by the tests)
#
# Environment: SLUICE_VAR, SLUICE_HTTP_PORT (default 8080), SLUICE_PG_PORT
# (default: remembered in var/stack.env, else a free port), SLUICE_PG_BINDIR,
# SLUICE_DEMO=0 (no demo shop; see ensure_demo), and every SLUICE_* setting
# the binaries read (passed through).
#
# Layout of var/:
#   pg/             the PostgreSQL data directory (owned by postgres when root)
#   pg-password     the `sluice` superuser's password (0600)
#   secret.key      32 random bytes for libsodium secretbox (0600)
#   admin-password  the admin@localhost password, once accounts exist (0600)
#   stack.env       KEY=value lines remembered between starts (ports, paths)
#   run/            pid files and sockets;  log/  every log;  nginx/  nginx prefix
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HEALTH_TIMEOUT=30       # seconds to wait for /healthz after start
STOP_TIMEOUT=15         # seconds between SIGTERM and SIGKILL
TICK_INTERVAL=1         # seconds between ticks (each tick itself waits up to tick_seconds
                        # for queued runs, so "Sync now" starts within a second)

die() { echo "stack: error: $*" >&2; exit 1; }
say() { echo "stack: $*"; }
warn() { echo "stack: warning: $*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the PostgreSQL owner: the `postgres` user when we are root
# (initdb refuses root), else ourselves.
as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

random_password() {
    # 32 characters of [A-Za-z0-9]: safe in a URL without escaping.
    local pw=""
    while [ "${#pw}" -lt 32 ]; do
        pw+=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    done
    printf '%s\n' "${pw:0:32}"
}

pg_bindir() {
    local d
    if [ -n "${SLUICE_PG_BINDIR:-}" ]; then
        printf '%s\n' "$SLUICE_PG_BINDIR"
        return
    fi
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        printf '%s\n' "$d"
        return
    fi
    d=/usr/lib/postgresql/15/bin
    [ -x "$d/initdb" ] || die "PostgreSQL server binaries not found (pg_config --bindir, $d);" \
        "run scripts/deps.sh or set SLUICE_PG_BINDIR"
    printf '%s\n' "$d"
}

port_in_use() {
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# A free port below the kernel's ephemeral range (so no outgoing connection
# can be holding it) that no socket uses in any state.
free_port() {
    local p i lo=32768 span
    read -r lo _ 2>/dev/null < /proc/sys/net/ipv4/ip_local_port_range || true
    span=$((lo - 1 - 10000))
    [ "$span" -gt 1000 ] || span=20000
    for i in $(seq 1 200); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
        if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
            printf '%s\n' "$p"
            return 0
        fi
        : "$i"
    done
    die "no free TCP port found"
}

# --- var/stack.env: KEY=value lines ---------------------------------------

state_get() {
    local key=$1 k v
    [ -f "$STATE" ] || return 1
    while IFS='=' read -r k v; do
        if [ "$k" = "$key" ]; then
            printf '%s\n' "$v"
            return 0
        fi
    done < "$STATE"
    return 1
}

state_set() {
    local key=$1 val=$2 tmp
    tmp=$(mktemp "$STATE.XXXXXX")
    if [ -f "$STATE" ]; then
        grep -v "^$key=" "$STATE" > "$tmp" || true
    fi
    printf '%s=%s\n' "$key" "$val" >> "$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$STATE"
}

# --- pid files ---------------------------------------------------------------

# alive PID: the process exists and is not a zombie (an orphan's zombie may
# linger until init reaps it, and kill -0 succeeds on zombies).
alive() {
    local line state
    read -r line 2>/dev/null < "/proc/$1/stat" || return 1
    state=${line##*) }
    [ "${state%% *}" != Z ]
}

# pid_of FILE PATTERN: print the pid in FILE if that process is alive and its
# command line contains PATTERN (guards against a reused pid).
pid_of() {
    local file=$1 pattern=$2 pid cmd
    [ -s "$file" ] || return 1
    read -r pid < "$file" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
    [[ $cmd == *"$pattern"* ]] || return 1
    printf '%s\n' "$pid"
}

# stop_pid NAME FILE PATTERN: SIGTERM, wait STOP_TIMEOUT, then SIGKILL the
# whole process group (every daemon is started with setsid, so its pid is
# its group id and its children are in the group).
stop_pid() {
    local name=$1 file=$2 pattern=$3 pid i
    if ! pid=$(pid_of "$file" "$pattern"); then
        rm -f "$file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((STOP_TIMEOUT * 10))); do
        alive "$pid" || break
        sleep 0.1
        : "$i"
    done
    if alive "$pid"; then
        warn "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Leftovers in the group (workers of a killed master, a sleeping tick loop).
    if pgrep -g "$pid" -r R,S,D,T,t,I > /dev/null 2>&1; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$file"
    say "stopped $name (pid $pid)"
}

# --- paths -------------------------------------------------------------------

setup_paths() {
    local v=${SLUICE_VAR:-$ROOT/var}
    VAR=$(realpath -m -- "$v")
    RUN=$VAR/run
    LOGDIR=$VAR/log
    NGX=$VAR/nginx
    STATE=$VAR/stack.env
    PGPASS_FILE=$VAR/pg-password
    WEB_SOCKET=${SLUICE_WEB_SOCKET:-$RUN/sluice-web.sock}
    PGBIN=$(pg_bindir)
    # Where the cluster lives: var/pg, or a fallback recorded in stack.env.
    PGDATA_DIR=$(state_get SLUICE_PG_DATA 2>/dev/null || printf '%s\n' "$VAR/pg")
    PGSOCK_DIR=$(state_get SLUICE_PG_SOCKDIR 2>/dev/null || printf '%s\n' "$RUN")
}

make_dirs() {
    umask 022
    mkdir -p "$VAR" "$RUN" "$LOGDIR" "$NGX/tmp"
    if is_root; then
        # PostgreSQL (as postgres) puts its socket in run/.
        chgrp postgres "$RUN"
        chmod 0775 "$RUN"
    fi
}

# --- PostgreSQL ----------------------------------------------------------------

pg_running() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] || return 1
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

pg_pid() {
    local pid
    [ -f "$PGDATA_DIR/postmaster.pid" ] || return 1
    read -r pid < "$PGDATA_DIR/postmaster.pid" || return 1
    printf '%s\n' "$pid"
}

# Decide where the data directory goes. As root the cluster runs as postgres,
# which must be able to reach var/; if a parent directory is closed to it
# (say a 0700 home), fall back to a directory under /tmp owned by postgres and
# remember it in stack.env.
choose_pg_dirs() {
    if [ -f "$PGDATA_DIR/PG_VERSION" ] || ! is_root; then
        return
    fi
    if runuser -u postgres -- test -x "$VAR" -a -x "$RUN"; then
        PGDATA_DIR=$VAR/pg
        PGSOCK_DIR=$RUN
        return
    fi
    local fb
    fb=$(mktemp -d /tmp/sluice-pg.XXXXXXXX)
    chown postgres: "$fb"
    chmod 0700 "$fb"
    PGDATA_DIR=$fb/data
    PGSOCK_DIR=$fb
    state_set SLUICE_PG_DATA "$PGDATA_DIR"
    state_set SLUICE_PG_SOCKDIR "$PGSOCK_DIR"
    warn "the postgres user cannot reach $VAR (a parent directory is closed to it);"
    warn "the cluster lives in $PGDATA_DIR instead (recorded in $STATE)."
    warn "To keep it under var/, make the parents traversable (chmod o+x) or set SLUICE_VAR."
}

pg_port() {
    local p
    if [ -n "${SLUICE_PG_PORT:-}" ]; then
        [[ $SLUICE_PG_PORT =~ ^[0-9]+$ ]] || die "SLUICE_PG_PORT must be a number"
        printf '%s\n' "$SLUICE_PG_PORT"
        return
    fi
    if p=$(state_get SLUICE_PG_PORT); then
        printf '%s\n' "$p"
        return
    fi
    free_port
}

pg_init() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
    local pw
    if [ ! -s "$PGPASS_FILE" ]; then
        (umask 077 && random_password > "$PGPASS_FILE")
    fi
    read -r pw < "$PGPASS_FILE"
    mkdir -p "$PGDATA_DIR"
    if is_root; then chown postgres: "$PGDATA_DIR"; fi
    chmod 0700 "$PGDATA_DIR"
    say "initdb $PGDATA_DIR"
    # The password travels through a pipe, never a file: the inner shell (as
    # postgres) makes its own pipe, since it may not reopen one root created.
    # shellcheck disable=SC2016 # expanded by the inner bash
    printf '%s\n' "$pw" | as_pg bash -c 'exec "$0" "$@" --pwfile=<(cat)' \
        "$PGBIN/initdb" -D "$PGDATA_DIR" -U sluice \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
        -E UTF8 --locale=C >> "$LOGDIR/postgres.log" 2>&1 \
        || die "initdb failed; see $LOGDIR/postgres.log"
    printf "\ninclude_if_exists 'sluice-stack.conf'\n" >> "$PGDATA_DIR/postgresql.conf"
}

pg_start() {
    choose_pg_dirs
    if pg_running; then
        PG_PORT=$(state_get SLUICE_PG_PORT || pg_port)
        say "postgres already running (pid $(pg_pid), port $PG_PORT)"
        return 0
    fi
    pg_init
    PG_PORT=$(pg_port)
    if port_in_use "$PG_PORT"; then
        if [ -n "${SLUICE_PG_PORT:-}" ]; then
            die "SLUICE_PG_PORT=$PG_PORT is in use by another process"
        fi
        local old=$PG_PORT
        PG_PORT=$(free_port)
        warn "remembered PostgreSQL port $old is taken; using $PG_PORT"
    fi
    state_set SLUICE_PG_PORT "$PG_PORT"
    local sockdir=$PGSOCK_DIR
    if [ $((${#sockdir} + 20)) -gt 107 ]; then
        warn "$sockdir is too long for a unix socket path; PostgreSQL listens on TCP only"
        sockdir=""
    fi
    {
        echo "# written by scripts/stack.sh on each start"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = '$sockdir'"
        echo "password_encryption = 'scram-sha-256'"
        echo "max_connections = 100"
    } > "$PGDATA_DIR/sluice-stack.conf"
    chmod 0644 "$PGDATA_DIR/sluice-stack.conf"
    # pg_ctl's and the server's output go to our log through an inherited fd,
    # so the log may live where postgres could not open a file itself.
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -t 30 start >> "$LOGDIR/postgres.log" 2>&1 \
        || { tail -n 20 "$LOGDIR/postgres.log" >&2; die "PostgreSQL failed to start"; }
    say "started postgres (pid $(pg_pid), 127.0.0.1:$PG_PORT)"
}

pg_ensure_db() {
    local pw have
    read -r pw < "$PGPASS_FILE"
    have=$(PGPASSWORD=$pw "$PGBIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U sluice -d postgres \
        -tAc "SELECT 1 FROM pg_database WHERE datname = 'sluice'") \
        || die "cannot connect to PostgreSQL on port $PG_PORT; see $LOGDIR/postgres.log"
    if [ "$have" != "1" ]; then
        PGPASSWORD=$pw "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sluice sluice
        say "created database sluice"
    fi
}

pg_stop() {
    if ! pg_running; then
        return 0
    fi
    local pid
    pid=$(pg_pid || echo '?')
    if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" stop -m fast -w -t 30 \
            >> "$LOGDIR/postgres.log" 2>&1; then
        warn "fast shutdown failed; trying immediate"
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" stop -m immediate -w -t 10 \
            >> "$LOGDIR/postgres.log" 2>&1 || true
    fi
    say "stopped postgres (pid $pid)"
}

# --- the application -----------------------------------------------------------

database_url() {
    local pw port
    read -r pw < "$PGPASS_FILE"
    port=$(state_get SLUICE_PG_PORT)
    printf 'postgresql://sluice:%s@127.0.0.1:%s/sluice\n' "$pw" "$port"
}

http_port() {
    if [ -n "${SLUICE_HTTP_PORT:-}" ]; then
        printf '%s\n' "$SLUICE_HTTP_PORT"
    else
        state_get SLUICE_HTTP_PORT 2>/dev/null || echo 8080
    fi
}

export_app_env() {
    export SLUICE_VAR=$VAR
    export SLUICE_SHARE_DIR=${SLUICE_SHARE_DIR:-$ROOT}
    export SLUICE_WEB_SOCKET=$WEB_SOCKET
    SLUICE_DATABASE_URL=$(database_url)
    export SLUICE_DATABASE_URL
    export SLUICE_BASE_URL=${SLUICE_BASE_URL:-http://127.0.0.1:$HTTP_PORT}
}

ensure_secret_key() {
    local key=$VAR/secret.key
    if [ ! -s "$key" ]; then
        (umask 077 && head -c 32 /dev/urandom > "$key")
        say "created $key"
    fi
    chmod 0600 "$key"
}

migrate() {
    "$ROOT/bin/sluice" migrate 2>> "$LOGDIR/migrate.log" \
        || { tail -n 20 "$LOGDIR/migrate.log" >&2; die "bin/sluice migrate failed"; }
}

web_start() {
    local pid i
    if pid=$(pid_of "$RUN/web.pid" sluice-web); then
        say "sluice-web already running (pid $pid)"
        return 0
    fi
    [ "${#WEB_SOCKET}" -lt 100 ] || die "socket path too long: $WEB_SOCKET (set SLUICE_VAR shorter)"
    rm -f "$WEB_SOCKET"
    setsid "$ROOT/bin/sluice-web" < /dev/null >> "$LOGDIR/web.log" 2>&1 &
    pid=$!
    echo "$pid" > "$RUN/web.pid"
    for i in $(seq 1 100); do
        [ -S "$WEB_SOCKET" ] && break
        alive "$pid" || break
        sleep 0.1
        : "$i"
    done
    if ! alive "$pid" || [ ! -S "$WEB_SOCKET" ]; then
        tail -n 20 "$LOGDIR/web.log" >&2
        die "sluice-web did not start (no socket at $WEB_SOCKET); see $LOGDIR/web.log"
    fi
    say "started sluice-web (pid $pid, $WEB_SOCKET)"
}

render_nginx() {
    local out=$1 var=$2 port=$3 socket=$4 tpl user_line=""
    tpl=$(< "$ROOT/nginx/local.conf.in")
    if is_root; then user_line="user root;"; fi
    shopt -u patsub_replacement 2> /dev/null || true
    tpl=${tpl//@USER_LINE@/$user_line}
    tpl=${tpl//@VAR@/$var}
    tpl=${tpl//@ROOT@/$ROOT}
    tpl=${tpl//@PORT@/$port}
    tpl=${tpl//@SOCKET@/$socket}
    mkdir -p "$(dirname "$out")" "$var/nginx/tmp" "$var/log" "$var/run"
    printf '%s\n' "$tpl" > "$out"
}

nginx_start() {
    local pid i
    if pid=$(pid_of "$RUN/nginx.pid" nginx); then
        say "nginx already running (pid $pid)"
        return 0
    fi
    render_nginx "$NGX/nginx.conf" "$VAR" "$HTTP_PORT" "$WEB_SOCKET"
    setsid nginx -p "$NGX/" -c "$NGX/nginx.conf" -e "$LOGDIR/nginx-error.log" \
        < /dev/null >> "$LOGDIR/nginx.log" 2>&1 &
    pid=$!
    # nginx writes the same pid to run/nginx.pid itself; write it first so a
    # failed start is still found by stop.
    echo "$pid" > "$RUN/nginx.pid"
    for i in $(seq 1 50); do
        port_in_use "$HTTP_PORT" && break
        alive "$pid" || break
        sleep 0.1
        : "$i"
    done
    if ! alive "$pid"; then
        tail -n 20 "$LOGDIR/nginx-error.log" >&2 || true
        die "nginx did not start; see $LOGDIR/nginx-error.log"
    fi
    state_set SLUICE_HTTP_PORT "$HTTP_PORT"
    say "started nginx (pid $pid, http://127.0.0.1:$HTTP_PORT)"
}

tick_start() {
    local pid
    if pid=$(pid_of "$RUN/tick.pid" "sluice tick loop"); then
        say "tick loop already running (pid $pid)"
        return 0
    fi
    # $0 of the loop is "sluice tick loop" so pid_of can recognise it.
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'while :; do "$1" tick; sleep "$2"; done' "sluice tick loop" \
        "$ROOT/bin/sluice" "$TICK_INTERVAL" < /dev/null >> "$LOGDIR/tick.log" 2>&1 &
    pid=$!
    echo "$pid" > "$RUN/tick.pid"
    say "started tick loop (pid $pid, every ${TICK_INTERVAL}s, $LOGDIR/tick.log)"
}

wait_healthy() {
    local url=$1 i
    for i in $(seq 1 $((HEALTH_TIMEOUT * 5))); do
        if curl -fsS -m 2 -o /dev/null "$url/healthz" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
        : "$i"
    done
    echo "--- $LOGDIR/web.log" >&2
    tail -n 20 "$LOGDIR/web.log" >&2 || true
    echo "--- $LOGDIR/nginx-error.log" >&2
    tail -n 20 "$LOGDIR/nginx-error.log" >&2 || true
    die "$url/healthz did not answer within ${HEALTH_TIMEOUT}s (the rest is left running;" \
        "scripts/stack.sh stop)"
}

# ---------------------------------------------------------------------------
# HOOK (accounts): once `sluice user` exists, the first start creates the admin
# account admin@localhost with a random password, saved in var/admin-password
# (0600) and printed once. Nothing happens while `sluice user` is missing.
# ---------------------------------------------------------------------------
ADMIN_NEW_PASSWORD=""
ensure_admin() {
    local file=$VAR/admin-password pw
    [ -s "$file" ] && return 0
    "$ROOT/bin/sluice" user --help > /dev/null 2>&1 || return 0
    pw=$(random_password)
    if ! printf '%s\n' "$pw" | "$ROOT/bin/sluice" user add --email admin@localhost \
            --role admin --name Admin >> "$LOGDIR/admin.log" 2>&1; then
        warn "could not create admin@localhost (see $LOGDIR/admin.log); if it exists"
        warn "already, set a password: bin/sluice user set-password --email admin@localhost"
        return 0
    fi
    (umask 077 && printf '%s\n' "$pw" > "$file")
    ADMIN_NEW_PASSWORD=$pw
}

# ---------------------------------------------------------------------------
# HOOK (destinations): on first start, offer the embedded cluster itself as the
# default destination: create the database sluice_warehouse in it and register
# "Local warehouse" (postgresql, 127.0.0.1, the cluster's port, user sluice)
# with `sluice destination add-local`, which reads the password on stdin and
# stores it sealed. Nothing happens once any destination exists, or while
# `sluice destination` is missing. Runs after migrations.
# ---------------------------------------------------------------------------
WAREHOUSE_DB=sluice_warehouse
ensure_local_destination() {
    local pw n have
    "$ROOT/bin/sluice" destination --help > /dev/null 2>&1 || return 0
    read -r pw < "$PGPASS_FILE"
    if ! n=$(PGPASSWORD=$pw "$PGBIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U sluice -d sluice \
            -tAc "SELECT count(*) FROM sluice.destinations" 2>> "$LOGDIR/destination.log"); then
        warn "could not count destinations (see $LOGDIR/destination.log)"
        return 0
    fi
    [ "$n" = 0 ] || return 0
    have=$(PGPASSWORD=$pw "$PGBIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U sluice -d postgres \
        -tAc "SELECT 1 FROM pg_database WHERE datname = '$WAREHOUSE_DB'") || have=""
    if [ "$have" != 1 ]; then
        PGPASSWORD=$pw "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sluice "$WAREHOUSE_DB" \
            2>> "$LOGDIR/destination.log" || { warn "could not create $WAREHOUSE_DB"; return 0; }
        say "created database $WAREHOUSE_DB"
    fi
    if printf '%s\n' "$pw" | "$ROOT/bin/sluice" destination add-local --name "Local warehouse" \
            --host 127.0.0.1 --port "$PG_PORT" --database "$WAREHOUSE_DB" --user sluice \
            >> "$LOGDIR/destination.log" 2>&1; then
        say "offered $WAREHOUSE_DB as the default destination \"Local warehouse\""
    else
        warn "could not register the local warehouse (see $LOGDIR/destination.log)"
    fi
}

# ---------------------------------------------------------------------------
# HOOK (demo): so a new user sees real runs at once, the first start loads a
# demo shop (scripts/demo.sql: customers, orders, events, page_views,
# countries) into the database sluice_demo of the embedded cluster, registers
# the source "Demo shop" and the pipeline demo_shop into the default
# destination with `sluice demo setup` (password on stdin, stored sealed), and
# runs that first run in the foreground with `sluice tick --once` before the
# URL is printed. Nothing happens when SLUICE_DEMO=0, when a source "Demo shop"
# exists, or once stack.env records SLUICE_DEMO_DONE=1 (a demo the user
# deleted stays deleted; remove that line to get it back), or while
# `sluice demo` is missing. A failure warns and never fails the start. Runs
# after ensure_local_destination and before the tick loop starts.
# ---------------------------------------------------------------------------
DEMO_DB=sluice_demo
DEMO_TIMEOUT=300        # seconds the foreground demo run may take
demo_psql() { # DATABASE SQL: one value
    PGPASSWORD=$DEMO_PW "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U sluice -d "$1" \
        -v ON_ERROR_STOP=1 -tAc "$2"
}
ensure_demo() {
    local have out run row status rows err i log=$LOGDIR/demo.log
    [ "${SLUICE_DEMO:-1}" != 0 ] || return 0
    [ "$(state_get SLUICE_DEMO_DONE 2>/dev/null || true)" != 1 ] || return 0
    "$ROOT/bin/sluice" demo --help > /dev/null 2>&1 || return 0
    read -r DEMO_PW < "$PGPASS_FILE"
    if ! have=$(demo_psql sluice "SELECT count(*) FROM sluice.sources
            WHERE lower(name) = 'demo shop'" 2>> "$log"); then
        warn "could not look for the demo source (see $log)"
        return 0
    fi
    if [ "$have" != 0 ]; then
        state_set SLUICE_DEMO_DONE 1
        return 0
    fi
    have=$(demo_psql postgres "SELECT 1 FROM pg_database WHERE datname = '$DEMO_DB'" \
        2>> "$log") || have=""
    if [ "$have" != 1 ]; then
        PGPASSWORD=$DEMO_PW "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sluice "$DEMO_DB" \
            2>> "$log" || { warn "could not create $DEMO_DB (see $log)"; return 0; }
    fi
    if ! PGPASSWORD=$DEMO_PW "$PGBIN/psql" -X -q -1 -v ON_ERROR_STOP=1 -h 127.0.0.1 \
            -p "$PG_PORT" -U sluice -d "$DEMO_DB" -f "$ROOT/scripts/demo.sql" >> "$log" 2>&1; then
        warn "could not load scripts/demo.sql into $DEMO_DB (see $log)"
        return 0
    fi
    if ! out=$(printf '%s\n' "$DEMO_PW" | "$ROOT/bin/sluice" demo setup --host 127.0.0.1 \
            --port "$PG_PORT" --user sluice --database "$DEMO_DB" 2>> "$log"); then
        printf '%s\n' "$out" >> "$log"
        warn "could not set up the demo pipeline (see $log)"
        return 0
    fi
    printf '%s\n' "$out" >> "$log"
    state_set SLUICE_DEMO_DONE 1
    say "loaded the demo shop into $DEMO_DB; pipeline demo_shop syncs it every hour"
    run=$(printf '%s\n' "$out" | sed -n 's/^run \([0-9][0-9]*\) queued$/\1/p')
    [ -n "$run" ] || return 0
    say "running the demo pipeline once (log: $LOGDIR/tick.log)"
    timeout -k 10 "$DEMO_TIMEOUT" "$ROOT/bin/sluice" tick --once < /dev/null \
        >> "$LOGDIR/tick.log" 2>&1 || warn "sluice tick exited with status $? (see tick.log)"
    # A tick loop already running (a stack started before) may have claimed
    # the run first: then wait for it to finish there.
    for i in $(seq 1 $((DEMO_TIMEOUT * 2))); do
        row=$(demo_psql sluice "SELECT status || '|' || rows_loaded || '|'
                || coalesce(replace(error, E'\n', ' '), '') FROM sluice_runs.runs
                WHERE id = $run" 2>> "$log") || row=""
        IFS='|' read -r status rows err <<< "$row"
        case "$status" in queued | running) sleep 0.5 ;; *) break ;; esac
        : "$i"
    done
    case "$status" in
        success) say "demo pipeline synced: $rows rows (run $run)" ;;
        queued | running) say "demo run $run is still $status; see the console" ;;
        "") warn "demo run $run: could not read its status (see $log)" ;;
        *) warn "demo run $run $status: ${err:-see the console}" ;;
    esac
}

# --- commands ------------------------------------------------------------------

cmd_start() {
    setup_paths
    for b in sluice sluice-web; do
        [ -x "$ROOT/bin/$b" ] || die "bin/$b is missing; build it with make all"
    done
    command -v nginx > /dev/null || die "nginx not found; run scripts/deps.sh"
    make_dirs
    HTTP_PORT=$(http_port)
    [[ $HTTP_PORT =~ ^[0-9]+$ ]] || die "SLUICE_HTTP_PORT must be a number"
    if ! pid_of "$RUN/nginx.pid" nginx > /dev/null && port_in_use "$HTTP_PORT"; then
        die "port $HTTP_PORT is already in use by another program; stop it or choose" \
            "another port: SLUICE_HTTP_PORT=8081 make run"
    fi
    pg_start
    pg_ensure_db
    export_app_env
    ensure_secret_key
    migrate
    ensure_local_destination
    ensure_demo
    web_start
    nginx_start
    tick_start
    local url=http://127.0.0.1:$HTTP_PORT
    wait_healthy "$url"
    ensure_admin
    echo
    echo "sluice is running at $url"
    if [ -n "$ADMIN_NEW_PASSWORD" ]; then
        echo "  admin login: admin@localhost / $ADMIN_NEW_PASSWORD"
        echo "  (shown once; also in $VAR/admin-password)"
    elif [ -s "$VAR/admin-password" ]; then
        echo "  admin login: admin@localhost (password in $VAR/admin-password)"
    fi
    echo "  logs: $LOGDIR   stop: make stop   shell env: eval \"\$(scripts/stack.sh env)\""
}

cmd_stop() {
    setup_paths
    [ -d "$RUN" ] || { say "nothing to stop"; return 0; }
    stop_pid "tick loop" "$RUN/tick.pid" "sluice tick loop"
    stop_pid nginx "$RUN/nginx.pid" nginx
    stop_pid sluice-web "$RUN/web.pid" sluice-web
    rm -f "$WEB_SOCKET"
    pg_stop
}

cmd_status() {
    setup_paths
    local up=0 total=4 pid port
    if pg_running; then
        say "postgres    running (pid $(pg_pid), 127.0.0.1:$(state_get SLUICE_PG_PORT))"
        up=$((up + 1))
    else
        say "postgres    stopped"
    fi
    if pid=$(pid_of "$RUN/web.pid" sluice-web); then
        say "sluice-web  running (pid $pid, $(pgrep -c -P "$pid" || true) workers)"
        up=$((up + 1))
    else
        say "sluice-web  stopped"
    fi
    port=$(state_get SLUICE_HTTP_PORT 2>/dev/null || echo 8080)
    if pid=$(pid_of "$RUN/nginx.pid" nginx); then
        say "nginx       running (pid $pid, http://127.0.0.1:$port)"
        up=$((up + 1))
    else
        say "nginx       stopped"
    fi
    if pid=$(pid_of "$RUN/tick.pid" "sluice tick loop"); then
        say "tick loop   running (pid $pid)"
        up=$((up + 1))
    else
        say "tick loop   stopped"
    fi
    [ "$up" -eq "$total" ] || return 3
}

cmd_env() {
    setup_paths
    if [ ! -s "$PGPASS_FILE" ] || ! state_get SLUICE_PG_PORT > /dev/null; then
        die "the stack has never been started here ($VAR); run make run"
    fi
    local port
    port=$(state_get SLUICE_HTTP_PORT 2>/dev/null || echo 8080)
    printf 'export SLUICE_URL=%q\n' "http://127.0.0.1:$port"
    printf 'export SLUICE_DATABASE_URL=%q\n' "$(database_url)"
    printf 'export SLUICE_VAR=%q\n' "$VAR"
    printf 'export SLUICE_SHARE_DIR=%q\n' "${SLUICE_SHARE_DIR:-$ROOT}"
    printf 'export SLUICE_WEB_SOCKET=%q\n' "$WEB_SOCKET"
}

cmd_logs() {
    setup_paths
    local f files=()
    for f in "$LOGDIR"/*.log; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ] || { say "no logs in $LOGDIR"; return 0; }
    if [ "${1:-}" = "-f" ]; then
        exec tail -n 20 -F "${files[@]}"
    fi
    tail -n "${LINES_PER_LOG:-30}" "${files[@]}"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

main() {
    case "${1:-}" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        restart) cmd_stop && cmd_start ;;
        status) cmd_status ;;
        env) cmd_env ;;
        logs) shift; cmd_logs "$@" ;;
        render-nginx)
            [ "$#" -eq 5 ] || usage
            render_nginx "$2" "$3" "$4" "$5"
            ;;
        *) usage ;;
    esac
}

main "$@"
