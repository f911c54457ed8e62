# harness.sh - the test harness: throwaway PostgreSQL, sluice-web and nginx in
# a temporary directory, TAP-like assertions, and cleanup of all of it at exit.
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "$0")/../lib/harness.sh"
#   h_stack_up                        # tmpdir + PostgreSQL + migrate + pool + nginx
#   assert_status "$H_URL/healthz" 200
#   h_done                            # prints the count; exits 1 if anything failed
#
# Processes are started with setsid, so each one leads its own process group
# and is stopped by pid (SIGTERM, then SIGKILL of its group) by the EXIT trap.
# Assertions never return non-zero (set -e must not cut a file short); they
# set H_LAST_OK=1/0 for a caller that wants to branch. Exported state:
#   H_ROOT H_TMP H_VAR H_LOG   paths (H_TMP: the test's temporary directory)
#   H_PG_PORT H_DATABASE_URL H_PG_DATA H_PG_BIN H_PG_ADMIN_URL
#   H_WEB_PID H_WEB_SOCKET     the pool's master pid and socket
#   H_URL H_HTTP_PORT H_NGINX_PID
# Set H_KEEP=1 to keep the temporary directories (and see their path).

# shellcheck shell=bash
# shellcheck disable=SC2034 # H_* variables are read by the test files that source this
H_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
H_N=0
H_PASSED=0
H_FAILED=0
H_LAST_OK=1
H_DONE=0
# State starts empty: never inherit another harness's stack from the environment.
H_TMP="" H_VAR="" H_LOG="" H_TMPDIRS=()
H_PG_DATA="" H_PG_PORT="" H_DATABASE_URL="" H_PG_ADMIN_URL=""
H_WEB_PID="" H_WEB_SOCKET="" H_NGINX_PID="" H_HTTP_PORT="" H_URL=""
H_PG_BIN=${SLUICE_PG_BINDIR:-}
if [ -z "$H_PG_BIN" ]; then
    H_PG_BIN=$(pg_config --bindir 2> /dev/null || true)
    [ -x "$H_PG_BIN/initdb" ] || H_PG_BIN=/usr/lib/postgresql/15/bin
fi

h_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the PostgreSQL owner (postgres when we are root).
h_as_pg() {
    if h_is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

h_log() { echo "# $*"; }

# h_alive PID: the process exists and is not a zombie.
h_alive() {
    local line state
    read -r line 2> /dev/null < "/proc/$1/stat" || return 1
    state=${line##*) }
    [ "${state%% *}" != Z ]
}

# h_wait_for SECONDS COMMAND...: poll every 0.05 s until COMMAND succeeds;
# returns 1 after SECONDS (a whole number; 0 means one try).
h_wait_for() {
    local timeout=$1 deadline
    shift
    deadline=$((${EPOCHREALTIME/./} + timeout * 1000000))
    while ! "$@"; do
        [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# h_now_ms: wall-clock milliseconds.
h_now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

_h_dead() { ! h_alive "$1"; }

# h_stop_pid PID [TIMEOUT]: SIGTERM, wait, then SIGKILL its process group.
h_stop_pid() {
    local pid=$1 timeout=${2:-10}
    [ -n "$pid" ] || return 0
    if h_alive "$pid"; then
        kill -TERM "$pid" 2> /dev/null || true
        h_wait_for "$timeout" _h_dead "$pid" || true
    fi
    kill -KILL -- "-$pid" 2> /dev/null || true
    kill -KILL "$pid" 2> /dev/null || true
}

# --- temporary directories and ports --------------------------------------------

# h_tmpdir: make a temporary directory (0755 so the postgres user can reach
# it), removed at exit; sets H_TMP (and H_VAR, H_LOG inside it). Call it
# directly, not in $(...): the cleanup list lives in this shell.
h_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/sluice-t.XXXXXX")
    chmod 0755 "$d"
    H_TMPDIRS+=("$d")
    H_TMP=$d
    H_VAR=$d/var
    H_LOG=$d/log
    mkdir -p "$H_VAR/run" "$H_LOG"
    export H_TMP H_VAR H_LOG
}

_h_need_tmp() {
    if [ -z "$H_TMP" ] || [ ! -d "$H_TMP" ]; then
        h_tmpdir
    fi
}

_h_port_in_use() { [ -n "$(ss -Hltn "sport = :$1" 2> /dev/null)" ]; }
# Any socket at all on the port (listening, connected, TIME_WAIT).
_h_port_used() { [ -n "$(ss -Htan "sport = :$1" 2> /dev/null)" ]; }

# h_free_port: print a TCP port no socket uses, random below the kernel's
# ephemeral range (so no outgoing connection can be holding it) and spread
# widely so parallel test files rarely race for the same one.
h_free_port() {
    local p i lo=32768 span
    read -r lo _ 2> /dev/null < /proc/sys/net/ipv4/ip_local_port_range || true
    span=$((lo - 1 - 10000))
    [ "$span" -gt 1000 ] || span=20000
    for i in $(seq 1 200); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
        if ! _h_port_used "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
        : "$i"
    done
    echo "h_free_port: no free port" >&2
    return 1
}

# --- PostgreSQL ----------------------------------------------------------------------

# h_pg_start: start a throwaway cluster (trust auth on 127.0.0.1, a free port,
# durability off for speed) in $H_TMP/pg, or restart the one already made there
# on the same port; create a fresh database. Exports H_PG_PORT, H_PG_DATA,
# H_PG_ADMIN_URL (database postgres) and H_DATABASE_URL (the fresh database).
h_pg_start() {
    _h_need_tmp
    if [ -z "$H_PG_DATA" ]; then
        H_PG_DATA=$H_TMP/pg
        H_PG_PORT=$(h_free_port) || return 1
        mkdir -p "$H_PG_DATA"
        if h_is_root; then chown postgres: "$H_PG_DATA"; fi
        chmod 0700 "$H_PG_DATA"
        h_as_pg "$H_PG_BIN/initdb" -D "$H_PG_DATA" -U sluice -A trust -E UTF8 --locale=C \
            >> "$H_LOG/postgres.log" 2>&1 || { tail -n 20 "$H_LOG/postgres.log" >&2; return 1; }
        cat >> "$H_PG_DATA/postgresql.conf" <<EOF
include_if_exists 'port.conf'
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 200
EOF
        export H_PG_DATA
        _h_pg_first_start || return 1
        H_DATABASE_URL=$(h_createdb sluice) || return 1
        export H_DATABASE_URL
        # A command that restarts this cluster (for unit tests of reconnects).
        {
            echo '#!/bin/sh'
            echo '# restart the throwaway PostgreSQL cluster of this test run'
            if h_is_root; then
                printf 'exec runuser -u postgres -- %q -D %q -w -t 30 -m fast restart ' \
                    "$H_PG_BIN/pg_ctl" "$H_PG_DATA"
            else
                printf 'exec %q -D %q -w -t 30 -m fast restart ' "$H_PG_BIN/pg_ctl" "$H_PG_DATA"
            fi
            printf '>> %q 2>&1\n' "$H_LOG/postgres.log"
        } > "$H_TMP/pg-restart"
        chmod 0755 "$H_TMP/pg-restart"
        H_PG_RESTART_CMD=$H_TMP/pg-restart
        export H_PG_RESTART_CMD
    else
        _h_pg_ctl_start
    fi
}

# First start: if the port was taken meanwhile, try another (3 times).
_h_pg_first_start() {
    local i
    for i in 1 2 3; do
        echo "port = $H_PG_PORT" > "$H_PG_DATA/port.conf"
        chmod 0644 "$H_PG_DATA/port.conf"
        if _h_pg_ctl_start 2> /dev/null; then
            H_PG_ADMIN_URL=postgresql://sluice@127.0.0.1:$H_PG_PORT/postgres
            export H_PG_PORT H_PG_ADMIN_URL
            return 0
        fi
        grep -q 'could not bind\|could not create any TCP' "$H_LOG/postgres.log" || break
        h_log "PostgreSQL port $H_PG_PORT was taken; trying another ($i)"
        H_PG_PORT=$(h_free_port) || return 1
    done
    tail -n 20 "$H_LOG/postgres.log" >&2
    return 1
}

_h_pg_ctl_start() {
    h_as_pg "$H_PG_BIN/pg_ctl" -D "$H_PG_DATA" -w -t 30 start >> "$H_LOG/postgres.log" 2>&1 \
        || { tail -n 20 "$H_LOG/postgres.log" >&2; return 1; }
}

# h_pg_running: the throwaway cluster is up.
h_pg_running() {
    [ -n "$H_PG_DATA" ] && [ -f "$H_PG_DATA/postmaster.pid" ] \
        && h_as_pg "$H_PG_BIN/pg_ctl" -D "$H_PG_DATA" status > /dev/null 2>&1
}

# h_pg_stop: fast shutdown of the throwaway cluster (no-op if not running).
h_pg_stop() {
    h_pg_running || return 0
    h_as_pg "$H_PG_BIN/pg_ctl" -D "$H_PG_DATA" -w -t 30 -m fast stop \
        >> "$H_LOG/postgres.log" 2>&1 \
        || h_as_pg "$H_PG_BIN/pg_ctl" -D "$H_PG_DATA" -w -m immediate stop \
            >> "$H_LOG/postgres.log" 2>&1 || true
}

# A postmaster caught mid-start by a signal (no postmaster.pid yet, so
# pg_ctl cannot see it) is found by its data directory and shut down (SIGINT:
# fast shutdown), then killed if it lingers.
_h_pg_reap() {
    local pids p
    [ -n "$H_PG_DATA" ] || return 0
    pids=$(pgrep -f -- "postgres -D $H_PG_DATA\$" 2> /dev/null || true)
    [ -n "$pids" ] || return 0
    for p in $pids; do
        kill -INT "$p" 2> /dev/null || true
        h_wait_for 10 _h_dead "$p" || kill -KILL "$p" 2> /dev/null || true
    done
}

h_pg_restart() {
    h_pg_stop
    h_pg_start
}

# h_createdb NAME_PREFIX: create a fresh database, print its URL.
h_createdb() {
    local name
    name=${1:-t}_$$_${RANDOM}${RANDOM}
    "$H_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$H_PG_ADMIN_URL" \
        -c "CREATE DATABASE \"$name\"" >> "$H_LOG/postgres.log" 2>&1 || return 1
    printf 'postgresql://sluice@127.0.0.1:%s/%s\n' "$H_PG_PORT" "$name"
}

# h_psql SQL [URL]: run SQL (default on H_DATABASE_URL), print unaligned rows.
h_psql() {
    "$H_PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -d "${2:-$H_DATABASE_URL}" -c "$1"
}

# h_migrate [URL]: bin/sluice migrate on H_DATABASE_URL (or URL).
h_migrate() {
    SLUICE_DATABASE_URL=${1:-$H_DATABASE_URL} SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" migrate
}

# --- sluice-web ----------------------------------------------------------------------

# h_web_start: bin/sluice-web in the background (SLUICE_VAR=$H_VAR, log in
# $H_LOG/web.log); waits up to 10 s for the socket. Exports H_WEB_PID (the
# master) and H_WEB_SOCKET. SLUICE_WEB_* from the caller's environment apply.
h_web_start() {
    _h_need_tmp
    H_WEB_SOCKET=$H_VAR/run/sluice-web.sock
    if [ ! -s "$H_VAR/secret.key" ]; then
        (umask 077 && head -c 32 /dev/urandom > "$H_VAR/secret.key")
    fi
    rm -f "$H_WEB_SOCKET"
    SLUICE_DATABASE_URL=${H_DATABASE_URL:-${SLUICE_DATABASE_URL:-}} \
        SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT SLUICE_WEB_SOCKET=$H_WEB_SOCKET \
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info} \
        SLUICE_BASE_URL=${SLUICE_BASE_URL:-http://127.0.0.1:${H_HTTP_PORT:-80}} \
        setsid "$H_ROOT/bin/sluice-web" < /dev/null >> "$H_LOG/web.log" 2>&1 &
    H_WEB_PID=$!
    export H_WEB_PID H_WEB_SOCKET
    h_wait_for 10 _h_web_ready || true
    if [ ! -S "$H_WEB_SOCKET" ]; then
        tail -n 20 "$H_LOG/web.log" >&2
        echo "h_web_start: no socket at $H_WEB_SOCKET (master alive: $(h_alive "$H_WEB_PID" \
            && echo yes || echo no))" >&2
        return 1
    fi
}

# The socket is there, or the master is gone (no point waiting).
_h_web_ready() { [ -S "$H_WEB_SOCKET" ] || ! h_alive "$H_WEB_PID"; }

# h_web_stop: SIGTERM the master, SIGKILL its group after 10 s.
h_web_stop() {
    h_stop_pid "$H_WEB_PID" 10
    H_WEB_PID=""
}

# h_workers: the pids of the master's live (non-zombie) children, one a line,
# sorted.
h_workers() {
    pgrep -P "$H_WEB_PID" -r R,S,D,T,t 2> /dev/null | sort -n || true
}

# --- nginx ---------------------------------------------------------------------------

# h_nginx_start: render nginx/local.conf.in for $H_VAR on H_HTTP_PORT (if set)
# or a free port and start nginx; exports H_URL, H_HTTP_PORT, H_NGINX_PID.
h_nginx_start() {
    _h_need_tmp
    local conf=$H_VAR/nginx/nginx.conf
    [ -n "${H_HTTP_PORT:-}" ] || H_HTTP_PORT=$(h_free_port)
    "$H_ROOT/scripts/stack.sh" render-nginx "$conf" "$H_VAR" "$H_HTTP_PORT" \
        "${H_WEB_SOCKET:-$H_VAR/run/sluice-web.sock}" || return 1
    mkdir -p "$H_VAR/log"
    setsid nginx -p "$H_VAR/nginx/" -c "$conf" -e "$H_VAR/log/nginx-error.log" \
        < /dev/null >> "$H_LOG/nginx.log" 2>&1 &
    H_NGINX_PID=$!
    H_URL=http://127.0.0.1:$H_HTTP_PORT
    export H_URL H_HTTP_PORT H_NGINX_PID
    if ! h_wait_for 10 _h_port_in_use "$H_HTTP_PORT"; then
        cat "$H_LOG/nginx.log" "$H_VAR/log/nginx-error.log" >&2 2> /dev/null || true
        echo "h_nginx_start: nginx is not listening on $H_HTTP_PORT" >&2
        return 1
    fi
}

h_nginx_stop() {
    h_stop_pid "$H_NGINX_PID" 10
    H_NGINX_PID=""
}

# h_healthy: GET $H_URL/healthz answers 200.
h_healthy() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$H_URL/healthz")" = 200 ]; }

# h_stack_up: temporary directory, PostgreSQL, migrations, the pool, nginx;
# waits (15 s) for /healthz to answer 200.
h_stack_up() {
    _h_need_tmp
    [ -n "${H_HTTP_PORT:-}" ] || H_HTTP_PORT=$(h_free_port) || return 1
    h_pg_start || return 1
    h_migrate "$H_DATABASE_URL" >> "$H_LOG/migrate.log" 2>&1 \
        || { tail -n 20 "$H_LOG/migrate.log" >&2; echo "h_stack_up: migrate failed" >&2; return 1; }
    h_web_start || return 1
    h_nginx_start || return 1
    if ! h_wait_for 15 h_healthy; then
        tail -n 20 "$H_LOG/web.log" >&2
        echo "h_stack_up: $H_URL/healthz is not 200 after 15 s" >&2
        return 1
    fi
}

# --- MariaDB -------------------------------------------------------------------------

H_MY_PID=""
H_MY_DIR=""

# h_mariadb_start: a throwaway MariaDB (never the system service): datadir made
# by mariadb-install-db in $H_TMP/mariadb, mariadbd as the unprivileged mysql
# user when we are root, listening on 127.0.0.1 and a free port, its socket in
# the same directory. Creates database sluice_src and a user sluice (for '%'
# and '127.0.0.1') with a random password and every privilege on it; root
# connects without a password over the socket (h_mysql). A second call after
# h_mariadb_stop restarts the same server on the same port. Stopped by pid at
# exit. Exports H_MY_PORT H_MY_USER H_MY_PASSWORD H_MY_DB H_MY_PID H_MY_SOCKET
# H_MY_DIR (logs: $H_LOG/mariadb.log, $H_MY_DIR/error.log).
h_mariadb_start() {
    _h_need_tmp
    local bin=${SLUICE_MARIADBD:-} i logsize
    [ -n "$bin" ] || bin=$(command -v mariadbd 2> /dev/null || echo /usr/sbin/mariadbd)
    local -a as_user=()
    if h_is_root; then as_user=(--user=mysql); fi
    if [ -z "$H_MY_DIR" ]; then
        H_MY_DIR=$H_TMP/mariadb
        H_MY_SOCKET=$H_MY_DIR/mysqld.sock
        mkdir -p "$H_MY_DIR/data" "$H_MY_DIR/tmp"
        if h_is_root; then chown -R mysql: "$H_MY_DIR"; fi
        mariadb-install-db --no-defaults --datadir="$H_MY_DIR/data" "${as_user[@]}" \
            --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
            >> "$H_LOG/mariadb.log" 2>&1 \
            || { tail -n 20 "$H_LOG/mariadb.log" >&2; H_MY_DIR=""; return 1; }
        H_MY_PORT=""
        h_defer _h_mariadb_forget
    fi
    for i in 1 2 3; do
        [ -n "$H_MY_PORT" ] || H_MY_PORT=$(h_free_port) || return 1
        logsize=$(stat -c %s "$H_MY_DIR/error.log" 2> /dev/null || echo 0)
        setsid "$bin" --no-defaults "${as_user[@]}" --datadir="$H_MY_DIR/data" \
            --port="$H_MY_PORT" --bind-address=127.0.0.1 --skip-networking=0 \
            --socket="$H_MY_SOCKET" --pid-file="$H_MY_DIR/mysqld.pid" \
            --log-error="$H_MY_DIR/error.log" --tmpdir="$H_MY_DIR/tmp" --skip-name-resolve \
            --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
            --innodb-flush-log-at-trx-commit=0 --character-set-server=utf8mb4 \
            --collation-server=utf8mb4_unicode_ci \
            < /dev/null >> "$H_LOG/mariadb.log" 2>&1 &
        H_MY_PID=$!
        export H_MY_PID H_MY_PORT H_MY_SOCKET H_MY_DIR
        h_wait_for 60 _h_my_ready || true
        if h_alive "$H_MY_PID" && _h_my_ping; then
            break
        fi
        h_stop_pid "$H_MY_PID" 10
        H_MY_PID=""
        if [ "$i" -lt 3 ] && tail -c +"$((logsize + 1))" "$H_MY_DIR/error.log" 2> /dev/null \
            | grep -q 'Bind on TCP/IP port\|Address already in use'; then
            h_log "MariaDB port $H_MY_PORT was taken; trying another ($i)"
            H_MY_PORT=""
            continue
        fi
        tail -n 20 "$H_MY_DIR/error.log" >&2 2> /dev/null || true
        echo "h_mariadb_start: mariadbd did not start" >&2
        return 1
    done
    if [ -z "${H_MY_PASSWORD:-}" ]; then
        H_MY_USER=sluice
        H_MY_DB=sluice_src
        H_MY_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
        h_mysql "CREATE DATABASE IF NOT EXISTS \`$H_MY_DB\`;
            CREATE USER IF NOT EXISTS '$H_MY_USER'@'%' IDENTIFIED BY '$H_MY_PASSWORD';
            CREATE USER IF NOT EXISTS '$H_MY_USER'@'127.0.0.1' IDENTIFIED BY '$H_MY_PASSWORD';
            GRANT ALL ON \`$H_MY_DB\`.* TO '$H_MY_USER'@'%';
            GRANT ALL ON \`$H_MY_DB\`.* TO '$H_MY_USER'@'127.0.0.1';" "" \
            || { echo "h_mariadb_start: could not create the user" >&2; return 1; }
        export H_MY_USER H_MY_PASSWORD H_MY_DB
    fi
}

_h_my_ping() {
    mariadb-admin --no-defaults -uroot --socket="$H_MY_SOCKET" --connect-timeout=2 ping \
        > /dev/null 2>&1
}
# Answers, or is gone (no point waiting).
_h_my_ready() { ! h_alive "$H_MY_PID" || _h_my_ping; }

# h_mysql SQL [DB]: run SQL as root over the socket (default database H_MY_DB;
# "" for none), print tab-separated rows without a header.
h_mysql() {
    local db=${2-${H_MY_DB:-}}
    mariadb --no-defaults -uroot --socket="$H_MY_SOCKET" -N -B -e "$1" ${db:+"$db"}
}

# h_mariadb_stop: SIGTERM mariadbd (a clean shutdown), SIGKILL after 30 s.
h_mariadb_stop() {
    h_stop_pid "$H_MY_PID" 30
    H_MY_PID=""
}

# At cleanup: stop, and forget the server so the next start makes a new one.
_h_mariadb_forget() {
    h_mariadb_stop
    H_MY_DIR="" H_MY_PORT="" H_MY_PASSWORD="" H_MY_SOCKET=""
}

# --- ClickHouse -----------------------------------------------------------------------

H_CH_PID="" H_CH_PORT="" H_CH_DIR=""

# h_clickhouse_start: a throwaway clickhouse-server (Debian's package;
# never the system service) with its config.xml and users.xml in
# $H_TMP/clickhouse, data and temporary files there too, listening on
# 127.0.0.1 (HTTP on a free port, native TCP on another), as the
# clickhouse user when we are root. User default with password
# $H_CH_PASSWORD when set, else a random one.
# Waits for /ping; stopped by pid at exit. Exports H_CH_PORT H_CH_PASSWORD
# H_CH_PID H_CH_DIR. Returns 1 when the server is not installed.
h_clickhouse_start() {
    _h_need_tmp
    local bin=${SLUICE_CLICKHOUSE:-} tcp
    [ -n "$bin" ] || bin=$(command -v clickhouse-server 2> /dev/null || true)
    if [ -z "$bin" ]; then
        echo "h_clickhouse_start: clickhouse-server is not installed" >&2
        return 1
    fi
    H_CH_DIR=$H_TMP/clickhouse
    mkdir -p "$H_CH_DIR/data" "$H_CH_DIR/tmp" "$H_CH_DIR/user_files" "$H_CH_DIR/log"
    H_CH_PORT=$(h_free_port) || return 1
    tcp=$(h_free_port) || return 1
    [ -n "${H_CH_PASSWORD:-}" ] || H_CH_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    cat > "$H_CH_DIR/config.xml" << EOF
<yandex>
  <logger><level>warning</level><log>$H_CH_DIR/log/server.log</log>
    <errorlog>$H_CH_DIR/log/error.log</errorlog><console>0</console></logger>
  <http_port>$H_CH_PORT</http_port>
  <tcp_port>$tcp</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$H_CH_DIR/data/</path>
  <tmp_path>$H_CH_DIR/tmp/</tmp_path>
  <user_files_path>$H_CH_DIR/user_files/</user_files_path>
  <users_config>$H_CH_DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
EOF
    cat > "$H_CH_DIR/users.xml" << EOF
<yandex>
  <profiles><default></default></profiles>
  <users><default><password>$H_CH_PASSWORD</password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
    local -a as_user=()
    if h_is_root; then
        chown -R clickhouse: "$H_CH_DIR"
        as_user=(runuser -u clickhouse --)
    fi
    setsid "${as_user[@]}" "$bin" --config-file="$H_CH_DIR/config.xml" \
        < /dev/null >> "$H_LOG/clickhouse.log" 2>&1 &
    H_CH_PID=$!
    export H_CH_PID H_CH_PORT H_CH_PASSWORD H_CH_DIR
    h_defer h_clickhouse_stop
    h_wait_for 60 _h_ch_ready || true
    if ! h_alive "$H_CH_PID"; then
        tail -n 20 "$H_CH_DIR/log/error.log" >&2 2> /dev/null || true
        echo "h_clickhouse_start: clickhouse-server did not start" >&2
        return 1
    fi
}

_h_ch_ready() {
    ! h_alive "$H_CH_PID" \
        || [ "$(curl -s -m 2 "http://127.0.0.1:$H_CH_PORT/ping" 2> /dev/null)" = "Ok." ]
}

# h_ch SQL: run SQL over HTTP as default (POST); print the answer.
h_ch() {
    curl -sS -H "X-ClickHouse-User: default" -H "X-ClickHouse-Key: $H_CH_PASSWORD" \
        --data-binary "$1" "http://127.0.0.1:$H_CH_PORT/"
}

# h_clickhouse_stop: SIGTERM, SIGKILL after 30 s.
h_clickhouse_stop() {
    h_stop_pid "$H_CH_PID" 30
    H_CH_PID=""
}

# --- webhook receiver ----------------------------------------------------------------

H_RECV_PID="" H_RECV_PORT="" H_RECV_URL="" H_RECV_LOG=""

# h_receiver_start: tests/lib/receiver.mjs on 127.0.0.1 and a free port, in
# the background, recording every request to $H_TMP/receiver.jsonl; stopped
# by pid at cleanup. Exports H_RECV_PID, H_RECV_PORT, H_RECV_URL
# (http://127.0.0.1:PORT) and H_RECV_LOG. It answers 200 until told
# otherwise (h_receiver_mode).
h_receiver_start() {
    _h_need_tmp
    local out=$H_TMP/receiver.out
    H_RECV_LOG=$H_TMP/receiver.jsonl
    : > "$out"
    setsid node "$H_ROOT/tests/lib/receiver.mjs" --log "$H_RECV_LOG" \
        < /dev/null > "$out" 2>> "$H_LOG/receiver.log" &
    H_RECV_PID=$!
    h_defer h_receiver_stop
    if ! h_wait_for 10 grep -q '^listening ' "$out"; then
        cat "$H_LOG/receiver.log" >&2
        echo "h_receiver_start: the receiver did not start" >&2
        return 1
    fi
    H_RECV_PORT=$(awk '/^listening / { print $2; exit }' "$out")
    H_RECV_URL=http://127.0.0.1:$H_RECV_PORT
    export H_RECV_PID H_RECV_PORT H_RECV_URL H_RECV_LOG
}

h_receiver_stop() {
    h_stop_pid "$H_RECV_PID" 5
    H_RECV_PID=""
}

# h_receiver_mode MODE [key=value...]: how the receiver answers from now on:
# MODE is 200, 500, 429, 410, 302, hang or any status; keys: path=/x (only
# that path; default every path), retry_after=N, retry_date=true, seconds=N
# (hang), location=URL (302), body=TEXT, times=N (then back to the default).
# MODE "sequence" takes codes=500,500,200 (one per request). "reset" forgets
# every mode. Non-zero when the receiver refuses it.
h_receiver_mode() {
    local mode=$1 kv k v json
    shift
    case "$mode" in
        reset) json='{"reset":true' ;;
        sequence) json='{"sequence":[]' ;;
        *) json=$(printf '{"mode":"%s"' "$mode") ;;
    esac
    for kv in "$@"; do
        k=${kv%%=*} v=${kv#*=}
        case "$k" in
            codes) json=${json/\"sequence\":[]/\"sequence\":[\"${v//,/\",\"}\"]} ;;
            retry_after|seconds|times) json+=$(printf ',"%s":%d' "$k" "$v") ;;
            retry_date) json+=$(printf ',"%s":%s' "$k" "$v") ;;
            *) json+=$(printf ',"%s":%s' "$k" \
                "$(node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$v")") ;;
        esac
    done
    json+='}'
    curl -s -f -m 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "$json" "$H_RECV_URL/_control"
}

# h_receiver_requests [PATH]: the requests recorded so far, one JSON object a
# line (see receiver.mjs), optionally only those to PATH; `| wc -l` counts.
h_receiver_requests() {
    [ -f "$H_RECV_LOG" ] || return 0
    if [ $# -eq 0 ]; then
        cat "$H_RECV_LOG"
    else
        grep -F "\"path\":\"$1\"," "$H_RECV_LOG" || true
    fi
}

# h_receiver_clear: forget the requests recorded so far.
h_receiver_clear() {
    : > "$H_RECV_LOG"
}

# --- cleanup -------------------------------------------------------------------------

H_DEFERRED=()

# h_defer COMMAND...: run COMMAND (as given) at cleanup, before anything else
# is stopped; last deferred, first run.
h_defer() {
    H_DEFERRED+=("$(printf '%q ' "$@")")
}

h_cleanup() {
    local d i
    for ((i = ${#H_DEFERRED[@]} - 1; i >= 0; i--)); do
        eval "${H_DEFERRED[i]}" > /dev/null 2>&1 || true
    done
    H_DEFERRED=()
    h_nginx_stop
    h_web_stop
    h_pg_stop
    _h_pg_reap
    if [ "${H_KEEP:-0}" = 1 ]; then
        [ "${#H_TMPDIRS[@]}" -eq 0 ] || h_log "kept ${H_TMPDIRS[*]}"
    else
        for d in "${H_TMPDIRS[@]+"${H_TMPDIRS[@]}"}"; do
            rm -rf "$d"
        done
    fi
    H_TMPDIRS=()
    # Forget the stack, so the next h_stack_up starts afresh.
    H_TMP="" H_PG_DATA="" H_HTTP_PORT="" H_URL="" H_DATABASE_URL=""
}

# H_REPORT=0 (before sourcing) turns off the TAP side of the exit trap, for
# scripts such as tests/run.sh that only use the harness to start things.
H_REPORT=${H_REPORT:-1}

_h_on_exit() {
    local rc=$?
    set +e
    if [ "$H_REPORT" = 1 ] && [ "$H_DONE" != 1 ] && [ "$rc" -ne 0 ]; then
        echo "not ok $((H_N + 1)) - ${0##*/} aborted (exit $rc)"
        H_FAILED=$((H_FAILED + 1))
        _h_dump_logs
    fi
    h_cleanup
    if [ "$rc" -eq 0 ] && [ "$H_FAILED" -gt 0 ]; then
        rc=1
    fi
    exit "$rc"
}
trap _h_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_h_dump_logs() {
    local f
    for f in "$H_LOG/web.log" "${H_VAR:-/nonexistent}/log/nginx-error.log"; do
        if [ -s "$f" ]; then
            echo "# --- last lines of $f"
            tail -n 8 "$f" | cut -c1-400 | sed 's/^/#   /'
        fi
    done
}

# --- assertions ------------------------------------------------------------------------

ok() {
    H_N=$((H_N + 1))
    H_PASSED=$((H_PASSED + 1))
    H_LAST_OK=1
    echo "ok $H_N - $1"
}

fail() {
    H_N=$((H_N + 1))
    H_FAILED=$((H_FAILED + 1))
    H_LAST_OK=0
    echo "not ok $H_N - $1: ${2:-failed}"
}

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        fail "$1" "expected '$2', got '$3'"
    fi
}

# assert_contains NAME HAYSTACK NEEDLE
assert_contains() {
    if [[ $2 == *"$3"* ]]; then
        ok "$1"
    else
        fail "$1" "'$3' not found in '$(printf '%s' "$2" | head -c 300)'"
    fi
}

# assert_true NAME COMMAND...: passes if COMMAND succeeds (its stdout is
# discarded).
assert_true() {
    local name=$1
    shift
    if "$@" > /dev/null; then
        ok "$name"
    else
        fail "$name" "command failed: $*"
    fi
}

# h_get URL [curl args...]: one request; sets H_STATUS, H_BODY, H_HEADERS
# (the raw response headers, CRs removed). H_STATUS is 000 if curl failed.
h_get() {
    local url=$1 bodyf hdrf
    shift
    _h_need_tmp
    bodyf=$H_TMP/.h_body
    hdrf=$H_TMP/.h_headers
    : > "$bodyf"
    : > "$hdrf"
    H_STATUS=$(curl -s -m 15 -o "$bodyf" -D "$hdrf" -w '%{http_code}' "$@" "$url" || true)
    [ -n "$H_STATUS" ] || H_STATUS=000
    H_BODY=$(cat "$bodyf")
    H_HEADERS=$(tr -d '\r' < "$hdrf")
}

# h_header NAME: the value of response header NAME of the last h_get.
h_header() {
    printf '%s\n' "$H_HEADERS" | awk -v n="$1" 'BEGIN { n = tolower(n) }
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
            v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }'
}

# assert_status URL EXPECTED [curl args...]: request URL, expect the status.
# H_STATUS, H_BODY and H_HEADERS stay set for further assertions.
assert_status() {
    local url=$1 want=$2 method=GET explicit="" prev="" a
    shift 2
    for a in "$@"; do
        case "$prev" in -X|--request) explicit=$a ;; esac
        case "$a" in
            -X?*) explicit=${a#-X} ;;
            -I|--head) explicit=HEAD ;;
            -d|--data*|-F|--form*|-T|--upload-file) method=POST ;;
        esac
        prev=$a
    done
    [ -z "$explicit" ] || method=$explicit
    h_get "$url" "$@"
    if [ "$H_STATUS" = "$want" ]; then
        ok "$method ${url#"${H_URL:-}"} -> $want"
    else
        fail "$method ${url#"${H_URL:-}"} -> $want" \
            "got $H_STATUS: $(printf '%s' "$H_BODY" | head -c 300)"
    fi
}

# h_json PATH: read JSON on stdin, print the value at PATH (a.b.0.c; strings
# raw, anything else as JSON, missing: nothing and exit 1; bad JSON: exit 2).
h_json() {
    node -e '
        let d;
        try { d = JSON.parse(require("fs").readFileSync(0, "utf8")); }
        catch (e) { process.exit(2); }
        for (const k of process.argv[1].split(".").filter(Boolean)) {
            if (d === null || typeof d !== "object" || !(k in d)) process.exit(1);
            d = d[k];
        }
        process.stdout.write(typeof d === "string" ? d : JSON.stringify(d));
    ' "$1"
}

# h_metric TEXT NAME_WITH_LABELS: the value of one Prometheus sample in TEXT
# (exact series match, e.g. 'sluice_http_requests_total{route="/healthz",status="200"}').
h_metric() {
    printf '%s\n' "$1" | awk -v s="$2" '
        substr($0, 1, 1) != "#" {
            v = $NF; $NF = ""; sub(/[ \t]+$/, "");
            if ($0 == s) { print v; found = 1; exit } }
        END { exit !found }'
}

# h_done: print the summary; the EXIT trap makes the exit status 1 on failure.
h_done() {
    H_DONE=1
    echo "# ${0##*/}: $H_PASSED passed, $H_FAILED failed"
    if [ "$H_N" -eq 0 ]; then
        echo "not ok 1 - ${0##*/} ran no tests"
        H_FAILED=1
    fi
    [ "$H_FAILED" -eq 0 ] || _h_dump_logs
    [ "$H_FAILED" -eq 0 ] && exit 0
    exit 1
}
