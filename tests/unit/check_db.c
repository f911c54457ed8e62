/* check_db.c - unit tests for app/core/db.c against a real PostgreSQL
 * (SLUICE_TEST_DATABASE_URL; see pgtest.h). Each run works in its own
 * schema, dropped at the end. Quoting and unreachable-server tests need no
 * server and always run. SLUICE_TEST_PG_RESTART_CMD, when set, is a shell
 * command that restarts the server: the reconnect test uses it. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "pgtest.h"

static const char *g_url;
static char g_schema[96];

static db *open_db(void)
{
    sl_errbuf eb = {0};
    db *d = db_open(g_url, 5, &eb);
    ck_assert_msg(d != NULL, "db_open: %s", eb.msg);
    char *sql = NULL;
    arena *a = arena_new(0);
    sql = arena_printf(a, "SET search_path = %s", db_quote_ident(a, g_schema));
    ck_assert_int_eq(db_exec(d, &eb, sql, 0, NULL), SL_OK);
    arena_free(a);
    return d;
}

static long long count_rows(db *d, const char *table)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    char *sql = arena_printf(a, "SELECT count(*) FROM %s", table);
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, sql, 0, NULL), SL_OK);
    long long n = strtoll(v, NULL, 10);
    arena_free(a);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- with a server ------------------------------------------------------- */

static const char *hostile[] = {
    "plain",
    "it's",
    "'; DROP TABLE t_params; --",
    "Robert'); DROP TABLE students;--",
    "back\\slash \\' \\\\",
    "$1 $2 ?",
    "h\xc3\xa9llo \xe2\x9c\x93",
    "",
    "tab\tnew\nline",
};
#define NHOSTILE (int)(sizeof hostile / sizeof hostile[0])

START_TEST(test_params_roundtrip)
{
    db *d = open_db();
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(d, &eb, "CREATE TABLE t_params (id int PRIMARY KEY, v text)", 0,
                             NULL),
                     SL_OK);
    char id[16];
    for (int i = 0; i < NHOSTILE; i++) {
        snprintf(id, sizeof id, "%d", i);
        const char *p[] = {id, hostile[i]};
        ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_params VALUES ($1, $2)", 2, p), SL_OK);
        ck_assert_int_eq(db_changes(d), 1);
    }
    const char *pn[] = {"100", NULL};
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_params VALUES ($1, $2)", 2, pn), SL_OK);

    PGresult *r = NULL;
    ck_assert_int_eq(db_query(d, a, &eb, &r, "SELECT id, v FROM t_params ORDER BY id", 0, NULL),
                     SL_OK);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(PQntuples(r), NHOSTILE + 1);
    ck_assert_int_eq(db_changes(d), NHOSTILE + 1);
    for (int i = 0; i < NHOSTILE; i++) {
        ck_assert_int_eq(PQgetisnull(r, i, 1), 0);
        ck_assert_str_eq(PQgetvalue(r, i, 1), hostile[i]);
    }
    ck_assert_str_eq(PQgetvalue(r, NHOSTILE, 0), "100");
    ck_assert_int_eq(PQgetisnull(r, NHOSTILE, 1), 1);
    /* The table survived every "injection". */
    ck_assert_int_eq(count_rows(d, "t_params"), NHOSTILE + 1);
    arena_free(a); /* clears r */
    db_close(d);
}
END_TEST

START_TEST(test_query_value)
{
    db *d = open_db();
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = (char *)"unset";
    const char *p[] = {"41"};
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, "SELECT $1::int + 1", 1, p), SL_OK);
    ck_assert_str_eq(v, "42");
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, "SELECT NULL::text", 0, NULL), SL_OK);
    ck_assert_ptr_null(v);
    sl_errbuf_clear(&eb);
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, "SELECT 1 WHERE false", 0, NULL),
                     SL_ENOTFOUND);
    ck_assert_int_eq(eb.code, SL_ENOTFOUND);
    const char *pn[] = {NULL};
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, "SELECT coalesce($1, 'was null')", 1, pn),
                     SL_OK);
    ck_assert_str_eq(v, "was null");
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, "SELECT current_setting('application_name')"
                                    " || '/' || current_setting('client_encoding')",
                                    0, NULL),
                     SL_OK);
    ck_assert_str_eq(v, "sluice/UTF8");
    arena_free(a);
    db_close(d);
}
END_TEST

START_TEST(test_errors_and_sqlstate)
{
    db *d = open_db();
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(d, &eb, "CREATE TABLE t_uniq (k text PRIMARY KEY)", 0, NULL),
                     SL_OK);
    const char *p[] = {"same"};
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_uniq VALUES ($1)", 1, p), SL_OK);
    ck_assert_str_eq(db_sqlstate(d), "");
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_uniq VALUES ($1)", 1, p), SL_EDB);
    ck_assert_int_eq(eb.code, SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "23505");
    ck_assert_ptr_nonnull(strstr(eb.msg, "duplicate key"));
    ck_assert_ptr_null(strchr(eb.msg, '\n'));

    /* Syntax error, then the connection is fine and sqlstate is reset. */
    ck_assert_int_eq(db_exec(d, &eb, "SELEC 1", 0, NULL), SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "42601");
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_OK);
    ck_assert_str_eq(db_sqlstate(d), "");

    /* One statement per call: a stacked statement is refused. */
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1; DROP TABLE t_uniq", 0, NULL), SL_EDB);
    ck_assert_int_eq(count_rows(d, "t_uniq"), 1);

    /* COPY through db_query is refused and leaves the connection usable. */
    ck_assert_int_eq(db_exec(d, &eb, "COPY t_uniq FROM STDIN", 0, NULL), SL_EINVAL);
    ck_assert_int_eq(db_exec(d, &eb, "COPY t_uniq TO STDOUT", 0, NULL), SL_EINVAL);
    ck_assert_int_eq(count_rows(d, "t_uniq"), 1);
    ck_assert_uint_eq(db_reconnects(d), 0);
    db_close(d);
}
END_TEST

START_TEST(test_transactions)
{
    db *d = open_db();
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(d, &eb, "CREATE TABLE t_tx (n int UNIQUE)", 0, NULL), SL_OK);
    const char *p1[] = {"1"}, *p2[] = {"2"};

    ck_assert_int_eq(db_begin(d, &eb), SL_OK);
    ck_assert_int_eq(db_begin(d, &eb), SL_EINVAL);
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_tx VALUES ($1)", 1, p1), SL_OK);
    db_rollback(d);
    ck_assert_int_eq(count_rows(d, "t_tx"), 0);

    ck_assert_int_eq(db_begin(d, &eb), SL_OK);
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_tx VALUES ($1)", 1, p1), SL_OK);
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_tx VALUES ($1)", 1, p2), SL_OK);
    ck_assert_int_eq(db_commit(d, &eb), SL_OK);
    ck_assert_int_eq(count_rows(d, "t_tx"), 2);

    /* A failed statement dooms the transaction: commit must say so. */
    ck_assert_int_eq(db_begin(d, &eb), SL_OK);
    const char *p3[] = {"3"};
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_tx VALUES ($1)", 1, p3), SL_OK);
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_tx VALUES ($1)", 1, p1), SL_EDB);
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "25P02");
    ck_assert_int_eq(db_commit(d, &eb), SL_EDB);
    ck_assert_int_eq(count_rows(d, "t_tx"), 2);

    /* Outside a transaction: commit refuses, rollback is harmless. */
    ck_assert_int_eq(db_commit(d, &eb), SL_EINVAL);
    db_rollback(d);
    db_rollback(d);
    ck_assert_int_eq(count_rows(d, "t_tx"), 2);
    db_close(d);
}
END_TEST

struct sink {
    char *buf;
    size_t len, cap;
    int calls, stop_after;
};

static int sink_cb(const char *data, size_t len, void *arg)
{
    struct sink *s = arg;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->buf = realloc(s->buf, s->cap);
        ck_assert_ptr_nonnull(s->buf);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after;
}

START_TEST(test_copy_roundtrip)
{
    db *d = open_db();
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(d, &eb, "CREATE TABLE t_copy (id int PRIMARY KEY, v text, n numeric)",
                             0, NULL),
                     SL_OK);
    enum { ROWS = 5000 };
    size_t cap = ROWS * 64, len = 0;
    char *in = malloc(cap);
    for (int i = 0; i < ROWS; i++) {
        /* Text format escapes: tab and newline inside a value, NULL. */
        if (i % 7 == 0)
            len += (size_t)snprintf(in + len, cap - len, "%d\t\\N\t%d.5\n", i, i);
        else
            len += (size_t)snprintf(in + len, cap - len, "%d\trow\\t%d\\nx '\"\t%d.5\n", i, i, i);
    }
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY t_copy (id, v, n) FROM STDIN"), SL_OK);
    /* A statement in the middle of a COPY is refused. */
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_EINVAL);
    size_t chunk = 1, off = 0;
    while (off < len) { /* odd chunk sizes: rows split anywhere */
        size_t n = chunk < len - off ? chunk : len - off;
        ck_assert_int_eq(db_copy_in_put(d, &eb, in + off, n), SL_OK);
        off += n;
        chunk = chunk * 3 + 1;
        if (chunk > 9000)
            chunk = 7;
    }
    ck_assert_int_eq(db_copy_in_end(d, &eb, NULL), SL_OK);
    ck_assert_int_eq(db_changes(d), ROWS);
    ck_assert_int_eq(count_rows(d, "t_copy"), ROWS);

    struct sink s = {0};
    const char *out_sql = "COPY (SELECT id, v, n FROM t_copy ORDER BY id) TO STDOUT";
    ck_assert_int_eq(db_copy_out(d, &eb, out_sql, sink_cb, &s), SL_OK);
    ck_assert_int_eq(s.calls, ROWS);
    ck_assert_int_eq(db_changes(d), ROWS);
    ck_assert_uint_eq(s.len, len);
    ck_assert_int_eq(memcmp(s.buf, in, len), 0);
    free(s.buf);
    free(in);
    db_close(d);
}
END_TEST

START_TEST(test_copy_abort_and_errors)
{
    db *d = open_db();
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(d, &eb, "CREATE TABLE t_copy2 (id int PRIMARY KEY)", 0, NULL), SL_OK);

    /* Abort on request: nothing is loaded, the connection is usable. */
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY t_copy2 FROM STDIN"), SL_OK);
    ck_assert_int_eq(db_copy_in_put(d, &eb, "1\n2\n", 4), SL_OK);
    ck_assert_int_eq(db_copy_in_end(d, &eb, "changed my mind"), SL_OK);
    ck_assert_int_eq(count_rows(d, "t_copy2"), 0);

    /* Bad data: the error comes at the end, with the server's sqlstate. */
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY t_copy2 FROM STDIN"), SL_OK);
    ck_assert_int_eq(db_copy_in_put(d, &eb, "1\nnot a number\n", 15), SL_OK);
    ck_assert_int_eq(db_copy_in_end(d, &eb, NULL), SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "22P02");
    ck_assert_int_eq(count_rows(d, "t_copy2"), 0);

    /* Misuse. */
    ck_assert_int_eq(db_copy_in_put(d, &eb, "1\n", 2), SL_EINVAL);
    ck_assert_int_eq(db_copy_in_end(d, &eb, NULL), SL_EINVAL);
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY t_copy2 TO STDOUT"), SL_EINVAL);
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY no_such_table FROM STDIN"), SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "42P01");
    ck_assert_int_eq(db_copy_out(d, &eb, "COPY t_copy2 FROM STDIN", sink_cb, NULL), SL_EINVAL);

    /* Inside a transaction, rollback ends a COPY still in progress. */
    ck_assert_int_eq(db_begin(d, &eb), SL_OK);
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY t_copy2 FROM STDIN"), SL_OK);
    ck_assert_int_eq(db_copy_in_put(d, &eb, "5\n", 2), SL_OK);
    db_rollback(d);
    ck_assert_int_eq(count_rows(d, "t_copy2"), 0);

    /* A callback that stops the copy early. */
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO t_copy2 SELECT generate_series(1, 200000)", 0,
                             NULL),
                     SL_OK);
    struct sink s = {.stop_after = 3};
    ck_assert_int_eq(db_copy_out(d, &eb, "COPY t_copy2 TO STDOUT", sink_cb, &s), SL_EINVAL);
    ck_assert_int_eq(s.calls, 3);
    free(s.buf);
    ck_assert_int_eq(count_rows(d, "t_copy2"), 200000);
    ck_assert_uint_eq(db_reconnects(d), 0);
    db_close(d);
}
END_TEST

START_TEST(test_quoting_against_server)
{
    db *d = open_db();
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    const char *names[] = {"we\"ird name", "Select", "a;b--c", "\"\"", "h\xc3\xa9"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *q = db_quote_ident(a, names[i]);
        char *sql = arena_printf(a, "CREATE TABLE %s (%s int)", q, q);
        ck_assert_msg(db_exec(d, &eb, sql, 0, NULL) == SL_OK, "%s: %s", sql, eb.msg);
        const char *p[] = {names[i]};
        char *v = NULL;
        ck_assert_int_eq(db_query_value(d, a, &eb, &v,
                                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON"
                                        " n.oid = c.relnamespace WHERE relname = $1"
                                        " AND nspname = current_schema()",
                                        1, p),
                         SL_OK);
        ck_assert_str_eq(v, "1");
    }
    for (int i = 0; i < NHOSTILE; i++) {
        char *sql = arena_printf(a, "SELECT %s = $1", db_quote_literal(a, hostile[i]));
        const char *p[] = {hostile[i]};
        char *v = NULL;
        ck_assert_msg(db_query_value(d, a, &eb, &v, sql, 1, p) == SL_OK, "%s: %s", sql, eb.msg);
        ck_assert_str_eq(v, "t");
    }
    /* Whatever standard_conforming_strings says. */
    ck_assert_int_eq(db_exec(d, &eb, "SET standard_conforming_strings = off", 0, NULL), SL_OK);
    const char *bs[] = {"back\\slash \\' \\\\"};
    char *v = NULL;
    char *sql = arena_printf(a, "SELECT %s = $1", db_quote_literal(a, bs[0]));
    ck_assert_int_eq(db_query_value(d, a, &eb, &v, sql, 1, bs), SL_OK);
    ck_assert_str_eq(v, "t");
    arena_free(a);
    db_close(d);
}
END_TEST

/* The server ends our backend (as on a restart). Idle: the next statement
 * reconnects transparently. Inside a transaction: the loss is reported and
 * nothing runs outside the transaction until it is acknowledged. */
START_TEST(test_backend_terminated)
{
    db *d = open_db();
    db *admin = open_db();
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    /* search_path is per session: after a reconnect use qualified names. */
    char *t = arena_printf(a, "%s.t_term", db_quote_ident(a, g_schema));
    char *ins = arena_printf(a, "INSERT INTO %s VALUES ($1)", t);
    ck_assert_int_eq(db_exec(d, &eb, "CREATE TABLE t_term (n int)", 0, NULL), SL_OK);
    char pid[32];
    for (int round = 0; round < 3; round++) {
        int in_tx = round > 0;
        if (in_tx) {
            ck_assert_int_eq(db_begin(d, &eb), SL_OK);
            const char *p[] = {"1"};
            ck_assert_int_eq(db_exec(d, &eb, ins, 1, p), SL_OK);
        }
        snprintf(pid, sizeof pid, "%d", PQbackendPID(db_conn(d)));
        const char *pp[] = {pid};
        char *v = NULL;
        ck_assert_int_eq(db_query_value(admin, a, &eb, &v, "SELECT pg_terminate_backend($1)", 1,
                                        pp),
                         SL_OK);
        ck_assert_str_eq(v, "t");
        for (int i = 0; i < 100; i++) { /* until the backend is gone */
            ck_assert_int_eq(db_query_value(admin, a, &eb, &v,
                                            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                            1, pp),
                             SL_OK);
            if (strcmp(v, "0") == 0)
                break;
            sleep_ms(20);
        }
        sleep_ms(50);
        if (!in_tx) {
            ck_assert_msg(db_exec(d, &eb, "SELECT 1", 0, NULL) == SL_OK, "%s", eb.msg);
            ck_assert_uint_eq(db_reconnects(d), 1);
        } else {
            const char *p[] = {"2"};
            ck_assert_int_eq(db_exec(d, &eb, ins, 1, p), SL_EDBDOWN);
            ck_assert_int_eq(db_exec(d, &eb, ins, 1, p), SL_EDBDOWN);
            ck_assert_int_eq(db_exec(d, &eb, "ROLLBACK TO SAVEPOINT x", 0, NULL), SL_EDBDOWN);
            if (round == 1) /* acknowledged by a failing commit */
                ck_assert_int_eq(db_commit(d, &eb), SL_EDBDOWN);
            else /* or by a plain ROLLBACK */
                ck_assert_int_eq(db_exec(d, &eb, " rollback work ;", 0, NULL), SL_OK);
            ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_OK);
            ck_assert_uint_eq(db_reconnects(d), (unsigned)round + 1);
        }
    }
    ck_assert_int_eq(count_rows(d, t), 0);
    arena_free(a);
    db_close(admin);
    db_close(d);
}
END_TEST

START_TEST(test_server_restart)
{
    const char *cmd = getenv("SLUICE_TEST_PG_RESTART_CMD");
    if (!cmd || !*cmd) {
        fprintf(stderr, "check_db: SKIP test_server_restart (set SLUICE_TEST_PG_RESTART_CMD)\n");
        return;
    }
    db *d = open_db();
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_OK);

    /* Idle connection: at most SL_EDBDOWN until the server is back, then OK. */
    ck_assert_int_eq(system(cmd), 0);
    int ok = 0;
    for (int i = 0; i < 300 && !ok; i++) {
        sl_err e = db_exec(d, &eb, "SELECT 1", 0, NULL);
        if (e == SL_OK) {
            ok = 1;
        } else {
            ck_assert_msg(e == SL_EDBDOWN, "got %d: %s", e, eb.msg);
            sleep_ms(100);
        }
    }
    ck_assert_msg(ok, "never reconnected: %s", eb.msg);
    ck_assert_uint_eq(db_reconnects(d), 1);

    /* Inside a transaction the break must be reported, then the next unit of
     * work reconnects. */
    ck_assert_int_eq(db_begin(d, &eb), SL_OK);
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_OK);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_EDBDOWN);
    ck_assert_int_eq(eb.code, SL_EDBDOWN);
    db_rollback(d);
    ok = 0;
    for (int i = 0; i < 300 && !ok; i++) {
        sl_err e = db_exec(d, &eb, "SELECT 2", 0, NULL);
        ck_assert_msg(e == SL_OK || e == SL_EDBDOWN, "got %d: %s", e, eb.msg);
        ok = e == SL_OK;
        if (!ok)
            sleep_ms(100);
    }
    ck_assert_msg(ok, "never reconnected: %s", eb.msg);
    ck_assert_uint_eq(db_reconnects(d), 2);
    db_close(d);
}
END_TEST

/* ---- without a server ---------------------------------------------------- */

START_TEST(test_quote_ident_text)
{
    arena *a = arena_new(0);
    ck_assert_str_eq(db_quote_ident(a, "users"), "\"users\"");
    ck_assert_str_eq(db_quote_ident(a, "we\"ird"), "\"we\"\"ird\"");
    ck_assert_str_eq(db_quote_ident(a, "\"\""), "\"\"\"\"\"\"");
    ck_assert_str_eq(db_quote_ident(a, ""), "\"\"");
    ck_assert_ptr_null(db_quote_ident(a, NULL));
    ck_assert_str_eq(db_quote_ident_n(a, "ab\"c", 4), "\"ab\"\"c\"");
    ck_assert_ptr_null(db_quote_ident_n(a, "ab\0c", 4));
    ck_assert_str_eq(db_quote_literal(a, "it's"), "'it''s'");
    ck_assert_str_eq(db_quote_literal(a, ""), "''");
    ck_assert_str_eq(db_quote_literal(a, "a\\b'c"), " E'a\\\\b''c'");
    ck_assert_ptr_null(db_quote_literal(a, NULL));
    arena_free(a);
}
END_TEST

START_TEST(test_unreachable)
{
    sl_errbuf eb = {0};
    db *d = db_open("postgresql://nobody@127.0.0.1:1/nothing", 2, &eb);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(eb.code, SL_EDBDOWN);
    ck_assert_ptr_nonnull(strstr(eb.msg, "database connection failed"));

    /* Lazy: every use fails with SL_EDBDOWN, and keeps trying. */
    d = db_open_lazy("postgresql://nobody@127.0.0.1:1/nothing", 2);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(db_conn(d));
    for (int i = 0; i < 2; i++) {
        sl_errbuf_clear(&eb);
        ck_assert_int_eq(db_exec(d, &eb, "SELECT 1", 0, NULL), SL_EDBDOWN);
        ck_assert_int_eq(eb.code, SL_EDBDOWN);
    }
    ck_assert_int_eq(db_ensure(d, &eb), SL_EDBDOWN);
    ck_assert_int_eq(db_begin(d, &eb), SL_EDBDOWN);
    ck_assert_int_eq(db_copy_in_begin(d, &eb, "COPY x FROM STDIN"), SL_EDBDOWN);
    db_rollback(d); /* harmless */
    ck_assert_uint_eq(db_reconnects(d), 0);
    db_close(d);
}
END_TEST

/* Passwords never appear in error messages, even when libpq echoes input. */
START_TEST(test_password_not_echoed)
{
    const char *urls[] = {
        "postgresql://bob:s3cretPW@127.0.0.1:1/db",
        "postgresql://bob:s3cretPW@127.0.0.1:1/db?sslmode=bogus",
        "postgresql://bob:s3cret%zzPW@127.0.0.1:1/db",
        "postgresql://bob:s3cretPW@127.0.0.1:notaport/db",
        "host=127.0.0.1 port=1 user=bob password=s3cretPW",
        "host=127.0.0.1 port=1 user=bob password='s3cretPW' bogus=1",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        sl_errbuf eb = {0};
        db *d = db_open(urls[i], 2, &eb);
        ck_assert_ptr_null(d);
        ck_assert_int_eq(eb.code, SL_EDBDOWN);
        ck_assert_msg(strstr(eb.msg, "s3cret") == NULL, "leaked in: %s", eb.msg);
    }
}
END_TEST

static int g_must_fail;

static void setup_schema(void)
{
    pgt_unique(g_schema, sizeof g_schema, "sluice_t_db");
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", g_schema);
    if (pgt_run(g_url, sql) != 0) {
        fprintf(stderr, "check_db: cannot create schema %s\n", g_schema);
        exit(EXIT_FAILURE);
    }
}

static void drop_schema(void)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", g_schema);
    pgt_run(g_url, sql);
}

int main(void)
{
    g_url = pgt_url("check_db", &g_must_fail);
    Suite *s = suite_create("db");
    TCase *nodb = tcase_create("nodb");
    tcase_add_test(nodb, test_quote_ident_text);
    tcase_add_test(nodb, test_unreachable);
    tcase_add_test(nodb, test_password_not_echoed);
    tcase_set_timeout(nodb, 30);
    suite_add_tcase(s, nodb);
    if (g_url) {
        setup_schema();
        TCase *pg = tcase_create("pg");
        tcase_add_test(pg, test_params_roundtrip);
        tcase_add_test(pg, test_query_value);
        tcase_add_test(pg, test_errors_and_sqlstate);
        tcase_add_test(pg, test_transactions);
        tcase_add_test(pg, test_copy_roundtrip);
        tcase_add_test(pg, test_copy_abort_and_errors);
        tcase_add_test(pg, test_quoting_against_server);
        tcase_add_test(pg, test_backend_terminated);
        tcase_add_test(pg, test_server_restart);
        tcase_set_timeout(pg, 90);
        suite_add_tcase(s, pg);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (g_url)
        drop_schema();
    return failed || g_must_fail ? EXIT_FAILURE : EXIT_SUCCESS;
}
