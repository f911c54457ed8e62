#!/usr/bin/env bash
# test_connectors_mariadb.sh - the MySQL/MariaDB connector against a real,
# throwaway MariaDB (h_mariadb_start), through `sluice source-probe`:
# connecting (version, elapsed time), the failures a person must be able to
# act on (wrong password, closed port, unknown host, unknown database, TLS
# required but absent), discovery (tables, types as the server spells them,
# nullability, primary keys and their positions, TABLE_ROWS estimates,
# watermark choice and override) and table filters.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir > /dev/null
h_mariadb_start

SLUICE=${SLUICE_BIN:-$H_ROOT/bin/sluice}
OUT=$H_TMP/out
RC=0
# probe [PASSWORD] -- ARGS...: sluice source-probe on the test server as the
# sluice user (unless ARGS say otherwise). Sets RC; the JSON is in $OUT.
probe() {
    local pw=$H_MY_PASSWORD
    if [ "$1" != -- ]; then
        pw=$1
        shift
    fi
    shift # --
    RC=0
    SLUICE_PROBE_PASSWORD=$pw "$SLUICE" source-probe --type mariadb --host 127.0.0.1 \
        --port "$H_MY_PORT" --user "$H_MY_USER" --database "$H_MY_DB" --timeout 5 "$@" \
        > "$OUT" 2> "$H_TMP/err" || RC=$?
}
: > "$H_TMP/err"
# jv EXPR: evaluate a JavaScript expression over the last answer (d), with
# T(name) the table called name and C(table, column) one of its columns;
# strings print raw, anything else as JSON.
jv() {
    node -e '
        const fs = require("fs");
        let d;
        try { d = JSON.parse(fs.readFileSync(process.argv[2], "utf8")); } catch (e) {
            process.stdout.write("NOT JSON: " + fs.readFileSync(process.argv[2], "utf8")
                .slice(0, 200) + fs.readFileSync(process.argv[3], "utf8").slice(0, 300));
            process.exit(0);
        }
        const T = (n) => (d.tables || []).find((t) => t.name === n);
        const C = (t, c) => T(t).columns.find((x) => x.name === c);
        let v;
        try { v = eval(process.argv[1]); } catch (e) { v = "ERROR: " + e.message; }
        process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
    ' "$1" "$OUT" "$H_TMP/err"
}

# --- a source database ---------------------------------------------------------------

h_mysql "
CREATE TABLE orders (
    id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    paid tinyint(1) NOT NULL DEFAULT 0,
    amount decimal(12,2),
    status enum('new','paid','shipped') NOT NULL DEFAULT 'new',
    doc json,
    note varchar(200) CHARACTER SET utf8mb4,
    created_at timestamp NULL,
    updated_at datetime(6) NOT NULL
) ENGINE=InnoDB;
CREATE TABLE line_items (
    order_id bigint NOT NULL,
    line int NOT NULL,
    sku varchar(32),
    created_at timestamp NULL,
    PRIMARY KEY (line, order_id)
) ENGINE=InnoDB;
CREATE TABLE nopk (a int, updated_at tinyint(1)) ENGINE=InnoDB;
CREATE TABLE orders_tmp (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE VIEW v_orders AS SELECT id, amount FROM orders;
INSERT INTO orders (amount, updated_at) SELECT seq / 100, now(6) FROM seq_1_to_250;
ANALYZE TABLE orders;
CREATE DATABASE crm;
CREATE TABLE crm.users (id int PRIMARY KEY, email varchar(255) NOT NULL,
    modified_at date) ENGINE=InnoDB;
GRANT SELECT ON crm.* TO '$H_MY_USER'@'%';
GRANT SELECT ON crm.* TO '$H_MY_USER'@'127.0.0.1';
" > /dev/null

# --- help -----------------------------------------------------------------------------

RC=0
"$SLUICE" --help > "$OUT" 2>&1 || RC=$?
assert_eq "sluice --help exits 0" 0 "$RC"
if grep -q source-probe "$OUT"; then
    fail "source-probe is hidden from sluice --help"
else
    ok "source-probe is hidden from sluice --help"
fi
RC=0
"$SLUICE" source-probe --help > "$OUT" 2>&1 || RC=$?
assert_eq "source-probe --help exits 0" 0 "$RC"
assert_contains "source-probe --help documents the password variable" "$(cat "$OUT")" \
    SLUICE_PROBE_PASSWORD
RC=0
"$SLUICE" source-probe --type mariadb > "$OUT" 2>&1 || RC=$?
assert_eq "source-probe without --host is a usage error" 2 "$RC"

# --- connecting -----------------------------------------------------------------------

probe -- --no-tables
assert_eq "probe: exit 0" 0 "$RC"
assert_eq "probe: ok" true "$(jv d.ok)"
assert_contains "probe: version says MariaDB" "$(jv d.version)" "MariaDB 10."
assert_eq "probe: elapsed_ms is a small number" true \
    "$(jv 'd.elapsed_ms >= 0 && d.elapsed_ms < 5000')"
assert_eq "probe: error is null" null "$(jv d.error)"
assert_eq "probe: --no-tables lists none" true "$(jv 'd.tables === undefined')"
assert_eq "probe: the password is never printed" 0 "$(grep -c "$H_MY_PASSWORD" "$OUT" || true)"

probe "wrong-$H_MY_PASSWORD" -- --no-tables
assert_eq "wrong password: exit 1" 1 "$RC"
assert_eq "wrong password: not ok" false "$(jv d.ok)"
assert_contains "wrong password: access denied" "$(jv d.error)" "access denied for user \"sluice\""
assert_eq "wrong password: an authentication failure" "authentication required" "$(jv d.code)"
assert_eq "wrong password: not echoed" 0 "$(grep -c "wrong-$H_MY_PASSWORD" "$OUT" || true)"

CLOSED=$(h_free_port)
probe -- --no-tables --port "$CLOSED"
assert_eq "closed port: exit 1" 1 "$RC"
assert_contains "closed port: refused" "$(jv d.error)" \
    "could not connect to 127.0.0.1:$CLOSED: connection refused"
assert_eq "closed port: unavailable" "database unavailable" "$(jv d.code)"
assert_eq "closed port: fails fast" true "$(jv 'd.elapsed_ms < 4000')"

RC=0
SLUICE_PROBE_PASSWORD=x "$SLUICE" source-probe --type mysql --host no-such-host.invalid \
    --user sluice --no-tables > "$OUT" 2>&1 || RC=$?
assert_eq "unknown host: exit 1" 1 "$RC"
assert_eq "unknown host: message" 'could not resolve host "no-such-host.invalid"' "$(jv d.error)"

probe -- --no-tables --database no_such_db
assert_eq "database without grants: exit 1" 1 "$RC"
assert_contains "database without grants: denied" "$(jv d.error)" \
    'access denied for user "sluice" to database "no_such_db"'
# root (no password, over TCP here) may see every database: a missing one is "not found"
RC=0
SLUICE_PROBE_PASSWORD='' "$SLUICE" source-probe --type mariadb --host 127.0.0.1 \
    --port "$H_MY_PORT" --user root --database no_such_db --no-tables > "$OUT" 2>&1 || RC=$?
assert_eq "unknown database: message" 'database "no_such_db" does not exist' "$(jv d.error)"
assert_eq "unknown database: not found" "not found" "$(jv d.code)"

probe -- --no-tables --ssl-mode require
assert_eq "ssl_mode require without TLS on the server: exit 1" 1 "$RC"
assert_eq "ssl_mode require: message" "the server does not support TLS, but ssl_mode is require" \
    "$(jv d.error)"
probe -- --no-tables --ssl-mode prefer
assert_eq "ssl_mode prefer falls back to plain text" true "$(jv d.ok)"
probe -- --no-tables --ssl-mode disable
assert_eq "ssl_mode disable connects" true "$(jv d.ok)"

RC=0
SLUICE_PROBE_PASSWORD=$H_MY_PASSWORD "$SLUICE" source-probe --type mysql --host localhost \
    --port "$H_MY_PORT" --user "$H_MY_USER" --database "$H_MY_DB" --no-tables \
    > "$OUT" 2>&1 || RC=$?
assert_eq "type mysql, host localhost: TCP, not the default socket" true "$(jv d.ok)"

# --- discovery ------------------------------------------------------------------------

probe --
assert_eq "discovery: ok" true "$(jv d.ok)"
assert_eq "discovery: base tables of the connection's database, by name (no views)" \
    '["line_items","nopk","orders","orders_tmp"]' "$(jv 'd.tables.map((t) => t.name)')"
assert_eq "discovery: schema is the database" "$H_MY_DB" "$(jv 'T("orders").schema')"

assert_eq "orders: columns in order" \
    '["id","paid","amount","status","doc","note","created_at","updated_at"]' \
    "$(jv 'T("orders").columns.map((c) => c.name)')"
assert_eq "orders.id: bigint(20) unsigned" "bigint(20) unsigned" "$(jv 'C("orders","id").type')"
assert_eq "orders.paid: tinyint(1)" "tinyint(1)" "$(jv 'C("orders","paid").type')"
assert_eq "orders.amount: decimal(12,2)" "decimal(12,2)" "$(jv 'C("orders","amount").type')"
assert_eq "orders.status: enum" "enum('new','paid','shipped')" "$(jv 'C("orders","status").type')"
assert_eq "orders.doc: json (not longtext)" json "$(jv 'C("orders","doc").type')"
assert_eq "orders.updated_at: datetime(6)" "datetime(6)" "$(jv 'C("orders","updated_at").type')"
assert_eq "orders.note: varchar(200)" "varchar(200)" "$(jv 'C("orders","note").type')"
assert_eq "orders: nullability" '[false,false,true,false,true,true,true,false]' \
    "$(jv 'T("orders").columns.map((c) => c.nullable)')"
assert_eq "orders: primary key id" '[1,0,0,0,0,0,0,0]' \
    "$(jv 'T("orders").columns.map((c) => c.pk_position)')"
assert_eq "orders: has_pk" true "$(jv 'T("orders").has_pk')"
EST=$(h_mysql "SELECT TABLE_ROWS FROM information_schema.TABLES
               WHERE TABLE_SCHEMA = '$H_MY_DB' AND TABLE_NAME = 'orders'")
assert_eq "orders: est_rows is the server's TABLE_ROWS" "$EST" "$(jv 'T("orders").est_rows')"
assert_eq "orders: the estimate is near the 250 rows" true \
    "$(jv 'T("orders").est_rows > 150 && T("orders").est_rows < 350')"
assert_eq "orders: watermark updated_at" updated_at "$(jv 'T("orders").watermark')"

assert_eq "line_items: composite key positions (line, order_id)" '[2,1,0,0]' \
    "$(jv 'T("line_items").columns.map((c) => c.pk_position)')"
assert_eq "line_items: watermark created_at (timestamp)" created_at \
    "$(jv 'T("line_items").watermark')"
assert_eq "line_items: created_at type" timestamp "$(jv 'C("line_items","created_at").type')"
assert_eq "nopk: has_pk false" false "$(jv 'T("nopk").has_pk')"
assert_eq "nopk: tinyint(1) updated_at is no watermark" null "$(jv 'T("nopk").watermark')"
assert_eq "nopk: estimate is a number" true "$(jv 'typeof T("nopk").est_rows === "number"')"

# --- watermark override ----------------------------------------------------------------

probe -- --watermark CREATED_AT --table orders
assert_eq "override: names a column (any case), its spelling returned" created_at \
    "$(jv 'T("orders").watermark')"
probe -- --watermark no_such_column --table orders
assert_eq "override naming no column: null" null "$(jv 'T("orders").watermark')"
assert_contains "override naming no column: said" "$(jv 'T("orders").watermark_error')" \
    'no column named "no_such_column"'

# --- table filters ----------------------------------------------------------------------

probe -- --table 'order*' --table '!*_tmp'
assert_eq "filter: include and exclude" '["orders"]' "$(jv 'd.tables.map((t) => t.name)')"
probe -- --table '!orders*'
assert_eq "filter: exclude only" '["line_items","nopk"]' "$(jv 'd.tables.map((t) => t.name)')"
probe -- --table "$H_MY_DB.line_*" --table "other_db.*"
assert_eq "filter: schema-qualified" '["line_items"]' "$(jv 'd.tables.map((t) => t.name)')"
probe -- --table '[ln]*' --table '!n?pk'
assert_eq "filter: classes and ?" '["line_items"]' "$(jv 'd.tables.map((t) => t.name)')"

# --- schemas (databases) ------------------------------------------------------------------

probe -- --schema crm
assert_eq "schema crm: its tables" '["crm.users"]' \
    "$(jv 'd.tables.map((t) => t.schema + "." + t.name)')"
assert_eq "crm.users: watermark modified_at (date)" modified_at "$(jv 'T("users").watermark')"
assert_eq "crm.users: email NOT NULL" false "$(jv 'C("users","email").nullable')"
probe -- --schema crm --schema "$H_MY_DB" --table '*.users' --table 'orders'
assert_eq "two schemas, ordered by schema" '["crm.users","sluice_src.orders"]' \
    "$(jv 'd.tables.map((t) => t.schema + "." + t.name)')"
probe -- --schema "it's \"odd\"\\"
assert_eq "a schema name with quotes is escaped, not executed" '[]' "$(jv 'd.tables')"
assert_eq "  ... and is no error" true "$(jv 'd.ok')"

h_done
