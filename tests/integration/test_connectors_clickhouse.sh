#!/usr/bin/env bash
# test_connectors_clickhouse.sh - the ClickHouse connector's HTTP side,
# through `sluice source-probe --type clickhouse`. ClickHouse itself is not
# installed here, so a small node HTTP server stands in for it, answering the
# way ClickHouse does (version text; "Code: 516" with 403 for bad credentials;
# "Code: 81" for an unknown database) and recording each request, so the test
# can check what sluice sends: the query in the URL, credentials only in the
# X-ClickHouse-* headers, no redirects followed. Set SLUICE_TEST_CLICKHOUSE=
# host:port to also run the first checks against a real server (user
# default, no password).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir > /dev/null
SLUICE=${SLUICE_BIN:-$H_ROOT/bin/sluice}
OUT=$H_TMP/out
REQS=$H_TMP/requests.jsonl
RC=0

cat > "$H_TMP/fake-clickhouse.js" << 'EOF'
// A stand-in for ClickHouse's HTTP interface; logs each request as a JSON line.
const http = require("http");
const fs = require("fs");
const [portFile, log] = process.argv.slice(2);
const srv = http.createServer((req, res) => {
    const u = new URL(req.url, "http://x");
    fs.appendFileSync(log, JSON.stringify({ method: req.method, url: req.url,
        user: req.headers["x-clickhouse-user"] || null,
        key: req.headers["x-clickhouse-key"] || null,
        authorization: req.headers["authorization"] || null }) + "\n");
    const user = req.headers["x-clickhouse-user"], key = req.headers["x-clickhouse-key"];
    if (user === "mover") {
        res.writeHead(302, { Location: "http://127.0.0.1:1/elsewhere" });
        return res.end();
    }
    if (user !== "sluice" || key !== "ch-pw") {
        res.writeHead(403, { "X-ClickHouse-Exception-Code": "516" });
        return res.end("Code: 516. DB::Exception: " + user + ": Authentication failed: " +
            "password is incorrect, or there is no user with such name. " +
            "(AUTHENTICATION_FAILED) (version 24.8.1.1 (official build))\n");
    }
    if (u.searchParams.get("database") === "nodb") {
        res.writeHead(404, { "X-ClickHouse-Exception-Code": "81" });
        return res.end("Code: 81. DB::Exception: Database nodb does not exist. " +
            "(UNKNOWN_DATABASE) (version 24.8.1.1 (official build))\n");
    }
    if (u.searchParams.get("query") === "SELECT version()") {
        res.writeHead(200, { "Content-Type": "text/tab-separated-values; charset=UTF-8" });
        return res.end("24.8.1.1\n");
    }
    res.writeHead(400);
    res.end("Code: 62. DB::Exception: Syntax error. (SYNTAX_ERROR)\n");
});
srv.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(srv.address().port)));
EOF
: > "$REQS"
setsid node "$H_TMP/fake-clickhouse.js" "$H_TMP/port" "$REQS" < /dev/null \
    > "$H_LOG/fake-clickhouse.log" 2>&1 &
FAKE_PID=$!
h_defer h_stop_pid "$FAKE_PID" 5
h_wait_for 10 test -s "$H_TMP/port" || { cat "$H_LOG/fake-clickhouse.log" >&2; exit 1; }
PORT=$(cat "$H_TMP/port")

# probe PASSWORD ARGS...: source-probe --type clickhouse on the stand-in; RC, $OUT.
probe() {
    local pw=$1
    shift
    RC=0
    SLUICE_PROBE_PASSWORD=$pw "$SLUICE" source-probe --type clickhouse --host 127.0.0.1 \
        --port "$PORT" --user sluice --timeout 5 "$@" > "$OUT" 2>&1 || RC=$?
}
field() { h_json "$1" < "$OUT" || true; }
last_request() { tail -n 1 "$REQS" | h_json "$1" || true; }

probe ch-pw
assert_eq "connect: exit 0" 0 "$RC"
assert_eq "connect: ok" true "$(field ok)"
assert_eq "connect: version" "ClickHouse 24.8.1.1" "$(field version)"
assert_eq "connect: listing tables is not supported yet (no failure)" \
    "listing ClickHouse tables is not supported yet" "$(field tables_error)"
assert_eq "request: GET" GET "$(last_request method)"
assert_eq "request: the query in the URL" "/?query=SELECT%20version%28%29" "$(last_request url)"
assert_eq "request: X-ClickHouse-User" sluice "$(last_request user)"
assert_eq "request: X-ClickHouse-Key" ch-pw "$(last_request key)"
assert_eq "request: no Basic auth" null "$(last_request authorization)"
assert_eq "request: the password is never in a URL" 0 \
    "$(grep -o '"url":"[^"]*"' "$REQS" | grep -c ch-pw || true)"

probe ch-pw --database analytics --no-tables
assert_eq "database: ok" true "$(field ok)"
assert_eq "database: sent as a parameter" \
    "/?query=SELECT%20version%28%29&database=analytics" "$(last_request url)"

probe wrong --no-tables
assert_eq "wrong password: exit 1" 1 "$RC"
assert_eq "wrong password: authentication failure" "authentication required" "$(field code)"
assert_contains "wrong password: message" "$(field error)" \
    'authentication failed for user "sluice"'

probe ch-pw --database nodb --no-tables
assert_eq "unknown database: message" 'database "nodb" does not exist' "$(field error)"
assert_eq "unknown database: not found" "not found" "$(field code)"

N=$(wc -l < "$REQS")
RC=0
SLUICE_PROBE_PASSWORD=x "$SLUICE" source-probe --type clickhouse --host 127.0.0.1 \
    --port "$PORT" --user mover --no-tables > "$OUT" 2>&1 || RC=$?
assert_eq "redirect: not followed, an error" "ClickHouse answered 302: (no details)" \
    "$(field error)"
assert_eq "redirect: one request only" $((N + 1)) "$(wc -l < "$REQS")"

probe ch-pw --no-tables --port "$(h_free_port)"
assert_contains "closed port: refused" "$(field error)" "connection refused"
assert_eq "closed port: unavailable" "database unavailable" "$(field code)"

if [ -n "${SLUICE_TEST_CLICKHOUSE:-}" ]; then
    RC=0
    SLUICE_PROBE_PASSWORD='' "$SLUICE" source-probe --type clickhouse \
        --host "${SLUICE_TEST_CLICKHOUSE%:*}" --port "${SLUICE_TEST_CLICKHOUSE##*:}" \
        --user default --no-tables > "$OUT" 2>&1 || RC=$?
    assert_contains "real ClickHouse: version" "$(field version)" "ClickHouse "
fi

h_done
