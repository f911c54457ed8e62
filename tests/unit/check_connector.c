/* check_connector.c - unit tests for app/sync/connector.c (globs, table
 * filters, watermark choice, the registry, Test connection) and for the
 * connection and discovery halves of pg_conn.c, mysql_conn.c and ch_conn.c.
 *
 * The pure functions are table-driven. Connection failures that need no
 * server (closed port, unknown host) always run, for every connector. The
 * PostgreSQL discovery tests need SLUICE_TEST_DATABASE_URL (see pgtest.h)
 * and work in two fresh schemas, dropped at the end. MariaDB is covered by
 * tests/integration/test_connectors_mariadb.sh, which starts a server. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pgtest.h"
#include "sync/connector.h"

/* ---- globs ------------------------------------------------------------- */

static const struct {
    const char *pat, *s;
    int want;
} globs[] = {
    {"", "", 1},
    {"", "a", 0},
    {"abc", "abc", 1},
    {"abc", "abd", 0},
    {"abc", "ab", 0},
    {"ab", "abc", 0},
    {"*", "", 1},
    {"*", "anything", 1},
    {"**", "x", 1},
    {"a*", "a", 1},
    {"a*", "abc", 1},
    {"a*", "ba", 0},
    {"*c", "abc", 1},
    {"*c", "abd", 0},
    {"a*c", "ac", 1},
    {"a*c", "abbbc", 1},
    {"a*c", "abbbd", 0},
    {"a*b*c", "axxbyyc", 1},
    {"a*b*c", "axxcyyb", 0},
    {"*orders*", "all_orders_2024", 1},
    {"?", "a", 1},
    {"?", "", 0},
    {"?", "ab", 0},
    {"a?c", "abc", 1},
    {"a?c", "ac", 0},
    {"??", "\xc3\xa9", 0}, /* é is one character */
    {"?", "\xc3\xa9", 1},
    {"caf?", "caf\xc3\xa9", 1},
    {"*?", "\xc3\xa9", 1},
    {"[abc]", "b", 1},
    {"[abc]", "d", 0},
    {"[a-c]x", "bx", 1},
    {"[a-c]x", "dx", 0},
    {"[!a-c]x", "dx", 1},
    {"[!a-c]x", "ax", 0},
    {"[^a]", "b", 1},
    {"[]a]", "]", 1},
    {"[]a]", "a", 1},
    {"[!]]", "]", 0},
    {"[a-]", "-", 1},
    {"t_[0-9][0-9]", "t_42", 1},
    {"t_[0-9][0-9]", "t_4x", 0},
    {"[abc", "[abc", 1}, /* unterminated: the '[' is literal */
    {"[abc", "a", 0},
    {"\\*", "*", 1},
    {"\\*", "a", 0},
    {"\\?", "?", 1},
    {"\\[a]", "[a]", 1},
    {"a\\", "a\\", 1}, /* a trailing backslash is itself */
    {"[\\]]", "]", 1},
    {"Orders", "orders", 0}, /* case-sensitive */
    {"*_tmp", "x_tmp", 1},
    {"*_tmp", "x_tmpx", 0},
    {"*a*a*a*", "aaa", 1},
    {"*a*a*a*", "aa", 0},
};

START_TEST(test_glob_table)
{
    for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++)
        ck_assert_msg(glob_match(globs[i].pat, globs[i].s) == globs[i].want,
                      "glob_match(\"%s\", \"%s\") should be %d", globs[i].pat, globs[i].s,
                      globs[i].want);
}
END_TEST

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Patterns that make a naive recursive matcher take exponential time. */
START_TEST(test_glob_pathological)
{
    size_t n = 100000;
    char *s = malloc(n + 2);
    memset(s, 'a', n);
    s[n] = '\0';
    long t0 = ms_now();
    ck_assert_int_eq(glob_match("a*a*a*a*a*b", s), 0);
    ck_assert_int_eq(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", s), 0);
    ck_assert_int_eq(glob_match("*?*?*?*?*?*?*?*?*?*?*?*?*?b", s), 0);
    ck_assert_int_eq(glob_match("[a]*[a]*[a]*[a]*[!a]", s), 0);
    s[n] = 'b';
    s[n + 1] = '\0';
    ck_assert_int_eq(glob_match("a*a*a*a*a*b", s), 1);
    ck_assert_int_eq(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", s), 1);
    long took = ms_now() - t0;
    ck_assert_msg(took < 2000, "pathological globs took %ld ms", took);
    free(s);
}
END_TEST

/* ---- table filters ----------------------------------------------------- */

START_TEST(test_table_selected)
{
    const char *none[] = {NULL};
    const char *inc[] = {"orders", "line_*"};
    const char *exc[] = {"!*_tmp", "!audit"};
    const char *both[] = {"s*", "!*_tmp", "!sessions"};
    const char *qual[] = {"sales.*", "!sales.secret*"};
    const char *qual_exc[] = {"!archive.*"};
    const char *empty[] = {"", "!"};
    const char *wild_schema[] = {"*.users"};
    const char *esc[] = {"a\\.b"};

    ck_assert_int_eq(table_selected(none, 0, "public", "anything"), 1);
    ck_assert_int_eq(table_selected(inc, 2, "public", "orders"), 1);
    ck_assert_int_eq(table_selected(inc, 2, "public", "line_items"), 1);
    ck_assert_int_eq(table_selected(inc, 2, "public", "customers"), 0);
    ck_assert_int_eq(table_selected(inc, 2, "public", "orders2"), 0);
    /* only excludes: everything else is kept */
    ck_assert_int_eq(table_selected(exc, 2, "public", "orders"), 1);
    ck_assert_int_eq(table_selected(exc, 2, "public", "orders_tmp"), 0);
    ck_assert_int_eq(table_selected(exc, 2, "public", "audit"), 0);
    ck_assert_int_eq(table_selected(exc, 2, "public", "audit_log"), 1);
    /* include + exclude: exclusion wins */
    ck_assert_int_eq(table_selected(both, 3, "public", "sales"), 1);
    ck_assert_int_eq(table_selected(both, 3, "public", "sales_tmp"), 0);
    ck_assert_int_eq(table_selected(both, 3, "public", "sessions"), 0);
    ck_assert_int_eq(table_selected(both, 3, "public", "orders"), 0);
    /* schema-qualified patterns match "schema.table" */
    ck_assert_int_eq(table_selected(qual, 2, "sales", "orders"), 1);
    ck_assert_int_eq(table_selected(qual, 2, "public", "orders"), 0);
    ck_assert_int_eq(table_selected(qual, 2, "sales", "secret_keys"), 0);
    ck_assert_int_eq(table_selected(qual_exc, 1, "archive", "orders"), 0);
    ck_assert_int_eq(table_selected(qual_exc, 1, "public", "orders"), 1);
    ck_assert_int_eq(table_selected(wild_schema, 1, "crm", "users"), 1);
    ck_assert_int_eq(table_selected(wild_schema, 1, "crm", "users2"), 0);
    /* an unqualified pattern never sees the schema */
    const char *pub[] = {"public*"};
    ck_assert_int_eq(table_selected(pub, 1, "public", "orders"), 0);
    /* empty patterns are ignored */
    ck_assert_int_eq(table_selected(empty, 2, "public", "orders"), 1);
    /* an escaped dot is a table-name character, not a schema separator */
    ck_assert_int_eq(table_selected(esc, 1, "public", "a.b"), 1);
    ck_assert_int_eq(table_selected(esc, 1, "a", "b"), 0);
    /* long names take the heap path */
    char longschema[700], longtable[700];
    memset(longschema, 's', sizeof longschema - 1);
    longschema[sizeof longschema - 1] = '\0';
    memset(longtable, 't', sizeof longtable - 1);
    longtable[sizeof longtable - 1] = '\0';
    const char *longpat[] = {"s*.t*"};
    ck_assert_int_eq(table_selected(longpat, 1, longschema, longtable), 1);
    ck_assert_int_eq(table_selected(inc, 2, "public", NULL), 0);
}
END_TEST

/* ---- watermarks -------------------------------------------------------- */

static const struct {
    const char *type;
    int want;
} wm_types[] = {
    {"timestamp without time zone", 1},
    {"timestamp(3) with time zone", 1},
    {"timestamptz", 1},
    {"date", 1},
    {"integer", 1},
    {"bigint", 1},
    {"smallint", 1},
    {"datetime", 1},
    {"datetime(6)", 1},
    {"timestamp(6)", 1},
    {"int(11)", 1},
    {"bigint(20) unsigned", 1},
    {"mediumint(9)", 1},
    {"tinyint(4)", 1},
    {"TIMESTAMP", 1},
    {"DateTime", 1},
    {"tinyint(1)", 0},
    {"time without time zone", 0},
    {"time", 0},
    {"text", 0},
    {"varchar(32)", 0},
    {"numeric(12,2)", 0},
    {"integer[]", 0},
    {"timestamp with time zone[]", 0},
    {"interval", 0},
    {"datetimeoffset", 0},
    {"", 0},
    {NULL, 0},
};

START_TEST(test_watermark_types)
{
    for (size_t i = 0; i < sizeof wm_types / sizeof wm_types[0]; i++)
        ck_assert_msg(connector_watermark_type(wm_types[i].type) == wm_types[i].want,
                      "connector_watermark_type(\"%s\") should be %d",
                      wm_types[i].type ? wm_types[i].type : "(null)", wm_types[i].want);
}
END_TEST

#define COLS(...) ((conn_column[]){__VA_ARGS__})
#define TABLE(arr) {"s", "t", -1, (int)(sizeof arr / sizeof arr[0]), arr, 0, NULL}

START_TEST(test_pick_watermark)
{
    conn_column c1[] = {{"id", "bigint", 0, 1},
                        {"created_at", "timestamp with time zone", 0, 0},
                        {"updated_at", "timestamp with time zone", 1, 0}};
    conn_table t1 = TABLE(c1);
    ck_assert_str_eq(pick_watermark(&t1, NULL), "updated_at");
    ck_assert_str_eq(pick_watermark(&t1, ""), "updated_at");

    /* preference order: modified_at before last_modified before created_at */
    conn_column c2[] = {{"created_at", "datetime(6)", 0, 0},
                        {"last_modified", "datetime", 0, 0},
                        {"modified_at", "date", 0, 0}};
    conn_table t2 = TABLE(c2);
    ck_assert_str_eq(pick_watermark(&t2, NULL), "modified_at");

    /* updated_at of a non-watermark type is skipped */
    conn_column c3[] = {{"updated_at", "text", 0, 0}, {"updated", "int(11)", 0, 0}};
    conn_table t3 = TABLE(c3);
    ck_assert_str_eq(pick_watermark(&t3, NULL), "updated");

    /* nothing suitable: full refresh */
    conn_column c4[] = {{"id", "integer", 0, 1}, {"updated_at", "tinyint(1)", 0, 0},
                        {"name", "text", 1, 0}};
    conn_table t4 = TABLE(c4);
    ck_assert_ptr_null(pick_watermark(&t4, NULL));

    /* names compare ignoring case; the table's spelling comes back */
    conn_column c5[] = {{"ID", "integer", 0, 1}, {"Updated_At", "timestamp", 0, 0}};
    conn_table t5 = TABLE(c5);
    ck_assert_str_eq(pick_watermark(&t5, NULL), "Updated_At");
    ck_assert_str_eq(pick_watermark(&t5, "id"), "ID");

    /* an exact match beats a case-insensitive one */
    conn_column c6[] = {{"UPDATED_AT", "timestamp", 0, 0}, {"updated_at", "timestamp", 0, 0}};
    conn_table t6 = TABLE(c6);
    ck_assert_str_eq(pick_watermark(&t6, NULL), "updated_at");

    /* an override wins, whatever its type, if it names a column */
    ck_assert_str_eq(pick_watermark(&t1, "created_at"), "created_at");
    ck_assert_str_eq(pick_watermark(&t4, "name"), "name");
    ck_assert_str_eq(pick_watermark(&t4, "NAME"), "name");
    ck_assert_ptr_null(pick_watermark(&t1, "no_such_column"));
    ck_assert_ptr_null(pick_watermark(NULL, NULL));

    conn_table empty = {"s", "t", -1, 0, NULL, 0, NULL};
    ck_assert_ptr_null(pick_watermark(&empty, NULL));
}
END_TEST

/* ---- registry, parameters, messages ----------------------------------- */

START_TEST(test_connector_for)
{
    const struct connector *pg = connector_for("postgresql");
    ck_assert_ptr_nonnull(pg);
    ck_assert_str_eq(pg->type, "postgresql");
    ck_assert_int_eq(pg->default_port, 5432);
    ck_assert_int_eq(pg->can_source, 1);
    ck_assert_ptr_eq(connector_for("postgres"), pg);
    const struct connector *my = connector_for("mysql"), *maria = connector_for("mariadb");
    ck_assert_ptr_nonnull(my);
    ck_assert_ptr_nonnull(maria);
    ck_assert_str_eq(my->type, "mysql");
    ck_assert_str_eq(maria->type, "mariadb");
    ck_assert_int_eq(my->default_port, 3306);
    ck_assert_ptr_eq(my->list_tables, maria->list_tables);
    const struct connector *ch = connector_for("clickhouse");
    ck_assert_ptr_nonnull(ch);
    ck_assert_int_eq(ch->default_port, 8123);
    ck_assert_int_eq(ch->can_source, 0);
    ck_assert_int_eq(ch->can_destination, 1);

    ck_assert_ptr_null(connector_for("mongodb"));
    ck_assert_ptr_null(connector_for("oracle"));
    ck_assert_ptr_null(connector_for(""));
    ck_assert_ptr_null(connector_for(NULL));
    ck_assert_ptr_null(connector_for("PostgreSQL")); /* type names are exact */

    ck_assert_ptr_null(connector_unsupported_reason("mysql"));
    ck_assert_str_eq(connector_unsupported_reason("mongodb"),
                     "MongoDB sources are not supported yet");
    ck_assert_str_eq(connector_unsupported_reason("oracle"), "unknown database type 'oracle'");
    ck_assert_str_eq(connector_unsupported_reason("a\nb"), "unknown database type 'a?b'");
    ck_assert_str_eq(connector_unsupported_reason(""), "no database type given");
    ck_assert_str_eq(connector_unsupported_reason(NULL), "no database type given");
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *r = connector_unsupported_reason(longname);
    ck_assert_ptr_nonnull(strstr(r, "..."));
    ck_assert_uint_lt(strlen(r), 100);
}
END_TEST

START_TEST(test_connector_test_unknown)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = (char *)"unset";
    long ms = -5;
    conn_params p = {.type = "mongodb", .host = "db.example"};
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EUNSUPPORTED);
    ck_assert_str_eq(eb.msg, "MongoDB sources are not supported yet");
    ck_assert_ptr_null(v);
    ck_assert_int_eq(ms, 0);
    p.type = "db2";
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EINVAL);
    ck_assert_str_eq(eb.msg, "unknown database type 'db2'");
    arena_free(a);
}
END_TEST

START_TEST(test_check_params)
{
    sl_errbuf eb = {0};
    conn_params ok = {.type = "postgresql", .host = "db.example", .port = 5432, .user = "u"};
    ck_assert_int_eq(connector_check_params(&ok, &eb), SL_OK);
    conn_params p = ok;
    p.host = "";
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_EINVAL);
    p = ok;
    p.host = "db\nexample";
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_EINVAL);
    const char *bad_hosts[] = {"/var/run/postgresql", "@abstract", "a,b", "db example",
                               "..\\pipe", "h/x"};
    for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
        p = ok;
        p.host = bad_hosts[i];
        ck_assert_msg(connector_check_params(&p, &eb) == SL_EINVAL, "host %s", bad_hosts[i]);
    }
    const char *good_hosts[] = {"db.example", "10.0.0.1", "::1", "fe80::1%eth0", "localhost"};
    for (size_t i = 0; i < sizeof good_hosts / sizeof good_hosts[0]; i++) {
        p = ok;
        p.host = good_hosts[i];
        ck_assert_msg(connector_check_params(&p, &eb) == SL_OK, "host %s", good_hosts[i]);
    }
    p = ok;
    p.port = 70000;
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(eb.msg, "70000"));
    p = ok;
    p.user = "u\x01";
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_EINVAL);
    p = ok;
    p.password = "pw\r\nX-Evil: 1";
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_EINVAL);
    ck_assert_ptr_null(strstr(eb.msg, "Evil"));
    p = ok;
    p.ssl_mode = "sometimes";
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_EINVAL);
    p.ssl_mode = "verify-full";
    ck_assert_int_eq(connector_check_params(&p, &eb), SL_OK);
    p.ssl_mode = NULL;
    ck_assert_str_eq(connector_ssl_mode(&p), "prefer");

    ck_assert_int_eq(connector_port(&ok, &pg_connector), 5432);
    p = ok;
    p.port = 0;
    ck_assert_int_eq(connector_port(&p, &mysql_connector), 3306);
    ck_assert_int_eq(connector_timeout(&p), 10);
    p.connect_timeout = 3;
    ck_assert_int_eq(connector_timeout(&p), 3);
}
END_TEST

START_TEST(test_messages_and_scrub)
{
    sl_errbuf eb = {0};
    ck_assert_int_eq(connector_fail_refused(&eb, "db.example", 5432), SL_EDBDOWN);
    ck_assert_str_eq(eb.msg, "could not connect to db.example:5432: connection refused "
                             "\xe2\x80\x94 is the server running and accepting TCP connections?");
    connector_fail_refused(&eb, "::1", 3306);
    ck_assert_ptr_nonnull(strstr(eb.msg, "[::1]:3306"));
    ck_assert_int_eq(connector_fail_resolve(&eb, "nope.invalid"), SL_EDBDOWN);
    ck_assert_str_eq(eb.msg, "could not resolve host \"nope.invalid\"");
    ck_assert_int_eq(connector_fail_timeout(&eb, "h", 1, 7), SL_ETIMEOUT);
    ck_assert_str_eq(eb.msg, "timed out after 7 s connecting to h:1");

    char msg[64] = "password=hunter2 and hunter2 again";
    connector_scrub(msg, sizeof msg, "hunter2");
    ck_assert_str_eq(msg, "password=*** and *** again");
    char msg2[64] = "ab ab";
    connector_scrub(msg2, sizeof msg2, "ab"); /* too short to scrub safely */
    ck_assert_str_eq(msg2, "ab ab");
    connector_scrub(msg2, sizeof msg2, NULL);
    ck_assert_str_eq(msg2, "ab ab");
}
END_TEST

/* ---- connection failures that need no server ---------------------------- */

/* A loopback port nothing listens on (bound, then released). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void expect_refused(const char *type)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    long ms = -1;
    int port = closed_port();
    conn_params p = {.type = type, .host = "127.0.0.1", .port = port, .user = "u",
                     .password = "s3cret-pw", .connect_timeout = 5};
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EDBDOWN);
    char want[128];
    snprintf(want, sizeof want, "could not connect to 127.0.0.1:%d: connection refused", port);
    ck_assert_msg(strncmp(eb.msg, want, strlen(want)) == 0, "%s: got \"%s\"", type, eb.msg);
    ck_assert_ptr_null(strstr(eb.msg, "s3cret"));
    ck_assert_ptr_null(v);
    ck_assert_int_ge(ms, 0);
    ck_assert_int_lt(ms, 4000); /* refused is immediate, not a timeout */
    arena_free(a);
}

static void expect_unresolved(const char *type)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    long ms = 0;
    conn_params p = {.type = type, .host = "no-such-host.invalid", .user = "u",
                     .connect_timeout = 5};
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EDBDOWN);
    ck_assert_str_eq(eb.msg, "could not resolve host \"no-such-host.invalid\"");
    arena_free(a);
}

START_TEST(test_refused_pg)
{
    expect_refused("postgresql");
    expect_unresolved("postgresql");
}
END_TEST

START_TEST(test_refused_mysql)
{
    expect_refused("mysql");
    expect_refused("mariadb");
    expect_unresolved("mariadb");
}
END_TEST

START_TEST(test_refused_clickhouse)
{
    expect_refused("clickhouse");
    expect_unresolved("clickhouse");
    /* a host that would reshape the URL is refused before any request */
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    long ms = 0;
    conn_params p = {.type = "clickhouse", .host = "evil.example/x?y=", .port = 8123};
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EINVAL);
    p.host = "user@evil.example";
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EINVAL);
    arena_free(a);
}
END_TEST

/* ---- PostgreSQL, with a server ----------------------------------------- */

static const char *g_url;
static int g_must_fail;
static char g_s1[64], g_s2[64];
static conn_params g_pg;
static PQconninfoOption *g_opts;

static const char *opt(const char *key)
{
    for (PQconninfoOption *o = g_opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val;
    return NULL;
}

static void pg_setup(void)
{
    g_url = pgt_url("check_connector", &g_must_fail);
    if (!g_url)
        return;
    char *err = NULL;
    g_opts = PQconninfoParse(g_url, &err);
    ck_assert_msg(g_opts != NULL, "bad SLUICE_TEST_DATABASE_URL: %s", err ? err : "");
    const char *port = opt("port");
    g_pg = (conn_params){
        .type = "postgresql",
        .host = opt("host") ? opt("host") : "127.0.0.1",
        .port = port ? (int)strtol(port, NULL, 10) : 0,
        .database = opt("dbname"),
        .user = opt("user"),
        .password = opt("password"),
        .ssl_mode = "disable",
        .connect_timeout = 5,
    };
    pgt_unique(g_s1, sizeof g_s1, "cconn_a");
    pgt_unique(g_s2, sizeof g_s2, "cconn_b");
    char sql[4096];
    snprintf(sql, sizeof sql,
             "CREATE SCHEMA %1$s; CREATE SCHEMA %2$s;"
             "CREATE TABLE %1$s.t_types (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL,"
             " note text, flags integer[], gone int, updated_at timestamptz,"
             " created_at timestamp(3));"
             "ALTER TABLE %1$s.t_types DROP COLUMN gone;"
             "CREATE TABLE %1$s.t_comp (a int, b text, c date, PRIMARY KEY (b, a));"
             "CREATE TABLE %1$s.t_never (x int);"
             "CREATE TABLE %1$s.t_rows (id int PRIMARY KEY, modified_at date);"
             "INSERT INTO %1$s.t_rows SELECT g, current_date FROM generate_series(1, 1000) g;"
             "CREATE TABLE %1$s.t_part (id bigint, d date, v text, PRIMARY KEY (id, d))"
             " PARTITION BY RANGE (d);"
             "CREATE TABLE %1$s.t_part_2023 PARTITION OF %1$s.t_part"
             " FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
             "CREATE TABLE %1$s.t_part_2024 PARTITION OF %1$s.t_part"
             " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
             "INSERT INTO %1$s.t_part SELECT g, date '2023-06-01' + (g %% 400), 'x'"
             " FROM generate_series(1, 300) g;"
             "CREATE TABLE %1$s.\"MixedCase\" (\"Id\" int PRIMARY KEY,"
             " \"Updated_At\" timestamp NOT NULL);"
             "CREATE VIEW %1$s.v_rows AS SELECT * FROM %1$s.t_rows;"
             "CREATE TABLE %2$s.other (id serial PRIMARY KEY, updated int);"
             "ANALYZE %1$s.t_types; ANALYZE %1$s.t_comp; ANALYZE %1$s.t_rows;"
             "ANALYZE %1$s.t_part; ANALYZE %2$s.other;",
             g_s1, g_s2);
    ck_assert_int_eq(pgt_run(g_url, sql), 0);
}

static void pg_teardown(void)
{
    if (g_url) {
        char sql[256];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s "
                                  "CASCADE",
                 g_s1, g_s2);
        pgt_run(g_url, sql);
    }
    PQconninfoFree(g_opts);
    g_opts = NULL;
}

#define NEED_PG()                                                                   \
    do {                                                                            \
        if (!g_url) {                                                               \
            ck_assert_msg(!g_must_fail, "SLUICE_TEST_DATABASE_URL is required");    \
            return;                                                                 \
        }                                                                           \
    } while (0)

static const conn_table *find(const conn_table *t, int n, const char *schema, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].schema, schema) == 0 && strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static const conn_column *col(const conn_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    ck_abort_msg("%s has no column %s", t->name, name);
    return NULL;
}

static void list(const char *const *schemas, int nschemas, arena *a, conn_table **t, int *n)
{
    const struct connector *c = connector_for("postgresql");
    sl_errbuf eb = {0};
    void *conn = NULL;
    ck_assert_msg(c->open(&g_pg, &conn, &eb) == SL_OK, "open: %s", eb.msg);
    ck_assert_msg(c->list_tables(conn, a, schemas, nschemas, t, n, &eb) == SL_OK,
                  "list_tables: %s", eb.msg);
    /* discovery leaves no transaction open behind it */
    ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
    c->close(conn);
}

START_TEST(test_pg_list_tables)
{
    NEED_PG();
    arena *a = arena_new(0);
    conn_table *t = NULL;
    int n = -1;
    const char *s1[] = {g_s1};
    list(s1, 1, a, &t, &n);

    /* tables only (no view), partitions not listed, ordered by name */
    ck_assert_int_eq(n, 6);
    const char *order[] = {"MixedCase", "t_comp", "t_never", "t_part", "t_rows", "t_types"};
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(t[i].schema, g_s1);
        ck_assert_str_eq(t[i].name, order[i]);
    }

    const conn_table *ty = find(t, n, g_s1, "t_types");
    ck_assert_int_eq(ty->ncols, 6); /* the dropped column is gone */
    ck_assert_str_eq(ty->cols[0].name, "id");
    ck_assert_str_eq(ty->cols[0].type, "bigint");
    ck_assert_int_eq(ty->cols[0].nullable, 0);
    ck_assert_int_eq(ty->cols[0].pk_position, 1);
    ck_assert_str_eq(col(ty, "amount")->type, "numeric(12,2)");
    ck_assert_int_eq(col(ty, "amount")->nullable, 0);
    ck_assert_int_eq(col(ty, "amount")->pk_position, 0);
    ck_assert_str_eq(col(ty, "note")->type, "text");
    ck_assert_int_eq(col(ty, "note")->nullable, 1);
    ck_assert_str_eq(col(ty, "flags")->type, "integer[]");
    ck_assert_str_eq(col(ty, "updated_at")->type, "timestamp with time zone");
    ck_assert_str_eq(col(ty, "created_at")->type, "timestamp(3) without time zone");
    ck_assert_str_eq(ty->cols[5].name, "created_at"); /* in column order */
    ck_assert_int_eq(ty->has_pk, 1);
    ck_assert_str_eq(ty->watermark, "updated_at");
    ck_assert_int_eq(ty->est_rows, 0); /* analyzed, empty */

    const conn_table *cp = find(t, n, g_s1, "t_comp");
    ck_assert_int_eq(col(cp, "b")->pk_position, 1);
    ck_assert_int_eq(col(cp, "a")->pk_position, 2);
    ck_assert_int_eq(col(cp, "c")->pk_position, 0);
    ck_assert_int_eq(col(cp, "a")->nullable, 0); /* primary key columns are NOT NULL */
    ck_assert_int_eq(col(cp, "c")->nullable, 1);
    ck_assert_int_eq(cp->has_pk, 1);
    ck_assert_ptr_null(cp->watermark);

    const conn_table *nv = find(t, n, g_s1, "t_never");
    ck_assert_int_eq(nv->est_rows, -1); /* never analyzed */
    ck_assert_int_eq(nv->has_pk, 0);
    ck_assert_int_eq(nv->cols[0].pk_position, 0);

    const conn_table *rw = find(t, n, g_s1, "t_rows");
    ck_assert_int_eq(rw->est_rows, 1000);
    ck_assert_str_eq(rw->watermark, "modified_at");

    const conn_table *pt = find(t, n, g_s1, "t_part");
    ck_assert_int_eq(pt->est_rows, 300); /* the partitions' estimates, added */
    ck_assert_int_eq(pt->has_pk, 1);
    ck_assert_int_eq(col(pt, "id")->pk_position, 1);
    ck_assert_int_eq(col(pt, "d")->pk_position, 2);
    ck_assert_int_eq(pt->ncols, 3);

    const conn_table *mc = find(t, n, g_s1, "MixedCase");
    ck_assert_str_eq(mc->watermark, "Updated_At");
    ck_assert_int_eq(col(mc, "Id")->pk_position, 1);
    ck_assert_int_eq(mc->est_rows, -1);
    arena_free(a);
}
END_TEST

START_TEST(test_pg_schemas)
{
    NEED_PG();
    arena *a = arena_new(0);
    conn_table *t = NULL;
    int n = 0;
    const char *s2[] = {g_s2};
    list(s2, 1, a, &t, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(t[0].name, "other");
    ck_assert_str_eq(col(&t[0], "id")->type, "integer");
    ck_assert_str_eq(t[0].watermark, "updated");

    const char *both[] = {g_s2, g_s1};
    list(both, 2, a, &t, &n);
    ck_assert_int_eq(n, 7);
    ck_assert_str_eq(t[0].schema, g_s1); /* ordered by schema, whatever the argument order */
    ck_assert_str_eq(t[6].schema, g_s2);

    const char *nothing[] = {"no_such_schema_x", "it's \"odd\"\\"};
    list(nothing, 2, a, &t, &n);
    ck_assert_int_eq(n, 0);

    /* default: every non-system schema; both of ours, no catalogs, no partitions */
    list(NULL, 0, a, &t, &n);
    ck_assert_ptr_nonnull(find(t, n, g_s1, "t_types"));
    ck_assert_ptr_nonnull(find(t, n, g_s2, "other"));
    ck_assert_ptr_null(find(t, n, g_s1, "t_part_2023"));
    for (int i = 0; i < n; i++) {
        ck_assert_str_ne(t[i].schema, "pg_catalog");
        ck_assert_str_ne(t[i].schema, "information_schema");
        ck_assert_int_ne(strncmp(t[i].schema, "pg_toast", 8), 0);
        if (i > 0) {
            int c = strcmp(t[i - 1].schema, t[i].schema);
            ck_assert(c < 0 || (c == 0 && strcmp(t[i - 1].name, t[i].name) < 0));
        }
    }

    /* the filters a pipeline would apply */
    const char *pats[] = {"t_*", "!t_never", "!*.t_comp"};
    const char *s1[] = {g_s1};
    int kept = 0;
    list(s1, 1, a, &t, &n);
    for (int i = 0; i < n; i++)
        kept += table_selected(pats, 3, t[i].schema, t[i].name);
    ck_assert_int_eq(kept, 3); /* t_part, t_rows, t_types */
    arena_free(a);
}
END_TEST

START_TEST(test_pg_connect_failures)
{
    NEED_PG();
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    long ms = -1;
    ck_assert_msg(connector_test(&g_pg, a, &v, &ms, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(strncmp(v, "PostgreSQL ", 11), 0);
    ck_assert_int_ge(ms, 0);

    conn_params p = g_pg;
    p.database = "no_such_database_for_sluice";
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_ENOTFOUND);
    ck_assert_str_eq(eb.msg, "database \"no_such_database_for_sluice\" does not exist");

    p = g_pg;
    p.user = "no_such_role_for_sluice";
    ck_assert_int_eq(connector_test(&p, a, &v, &ms, &eb), SL_EAUTH);
    ck_assert_str_eq(eb.msg, "role \"no_such_role_for_sluice\" does not exist");

    /* the throwaway server has no TLS */
    p = g_pg;
    p.ssl_mode = "require";
    sl_err e = connector_test(&p, a, &v, &ms, &eb);
    if (e != SL_OK) {
        ck_assert_int_eq(e, SL_EDBDOWN);
        ck_assert_str_eq(eb.msg, "the server does not support SSL, but ssl_mode is require");
    }
    arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("connector");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_glob_table);
    tcase_add_test(pure, test_glob_pathological);
    tcase_add_test(pure, test_table_selected);
    tcase_add_test(pure, test_watermark_types);
    tcase_add_test(pure, test_pick_watermark);
    tcase_add_test(pure, test_connector_for);
    tcase_add_test(pure, test_connector_test_unknown);
    tcase_add_test(pure, test_check_params);
    tcase_add_test(pure, test_messages_and_scrub);
    suite_add_tcase(s, pure);

    TCase *net = tcase_create("unreachable");
    tcase_set_timeout(net, 60);
    tcase_add_test(net, test_refused_pg);
    tcase_add_test(net, test_refused_mysql);
    tcase_add_test(net, test_refused_clickhouse);
    suite_add_tcase(s, net);

    TCase *pg = tcase_create("postgresql");
    tcase_set_timeout(pg, 60);
    tcase_add_unchecked_fixture(pg, pg_setup, pg_teardown);
    tcase_add_test(pg, test_pg_list_tables);
    tcase_add_test(pg, test_pg_schemas);
    tcase_add_test(pg, test_pg_connect_failures);
    suite_add_tcase(s, pg);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
