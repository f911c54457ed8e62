/* mysql_conn.c - the MySQL and MariaDB connector (libmariadb): connect,
 * server version, discovery.
 *
 * "mysql" and "mariadb" are two names for one implementation. The opaque
 * connection is the MYSQL handle itself, so extraction code (another file)
 * can stream from it with mysql_use_result. Connections always use TCP
 * (libmariadb would otherwise take "localhost" to mean the Unix socket) and
 * utf8mb4. Errors are translated from the client library's error numbers
 * into messages a person can act on, never containing the password.
 * Discovery reads information_schema (TABLES, COLUMNS, STATISTICS; on
 * MariaDB also CHECK_CONSTRAINTS, to tell JSON columns from LONGTEXT). Every
 * value that goes into SQL is escaped with mysql_real_escape_string. */
#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connector.h"
#include "sbuf.h"
#include "sync/mysql_conn.h"

/* The errno in libmariadb's message: "Can't connect ... (111)" or "...,
 * system error: 110"; 0 when there is none. */
static int message_errno(const char *msg)
{
    const char *at = strstr(msg, "system error: ");
    char *end = NULL;
    long v = 0;
    if (at) {
        v = strtol(at + 14, &end, 10);
    } else if ((at = strrchr(msg, '(')) != NULL) {
        v = strtol(at + 1, &end, 10);
        if (!end || *end != ')')
            v = 0;
    }
    return v > 0 && v < 4096 ? (int)v : 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The failure of mysql_real_connect after elapsed_ms, translated. */
static sl_err translate(const conn_params *p, int port, int timeout, long elapsed_ms, MYSQL *m,
                        sl_errbuf *eb)
{
    unsigned err = mysql_errno(m);
    const char *msg = mysql_error(m);
    const char *user = p->user ? p->user : "";
    const char *db = p->database ? p->database : "";
    sl_err e;
    int os = message_errno(msg);
    /* libmariadb reports a refused connection as EINPROGRESS (the errno of
     * its non-blocking connect): it is a timeout only if the time ran out. */
    if (os == EINPROGRESS)
        os = elapsed_ms >= timeout * 900L ? ETIMEDOUT : ECONNREFUSED;
    switch (err) {
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
        e = sl_fail(eb, SL_EAUTH,
                    "access denied for user \"%s\": wrong password, or the user may not "
                    "connect from this host",
                    user);
        break;
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
        e = sl_fail(eb, SL_EFORBIDDEN,
                    "access denied for user \"%s\" to database \"%s\" (it may not exist, or "
                    "the user has no privileges on it)",
                    user, db);
        break;
    case 1049: /* ER_BAD_DB_ERROR */
        e = sl_fail(eb, SL_ENOTFOUND, "database \"%s\" does not exist", db);
        break;
    case 1040: /* ER_CON_COUNT_ERROR */
        e = sl_fail(eb, SL_EDBDOWN, "the server has too many connections; try again later");
        break;
    case 1129: /* ER_HOST_IS_BLOCKED */
        e = sl_fail(eb, SL_EFORBIDDEN, "the server blocks this host after too many failed "
                                       "connections (FLUSH HOSTS unblocks it)");
        break;
    case CR_UNKNOWN_HOST:
        e = connector_fail_resolve(eb, p->host);
        break;
    case CR_SSL_CONNECTION_ERROR:
        e = sl_fail(eb, SL_EDBDOWN, "TLS (ssl_mode %s) failed: %s", connector_ssl_mode(p), msg);
        break;
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_GONE_ERROR:
        if (os == ECONNREFUSED)
            e = connector_fail_refused(eb, p->host, port);
        else if (os == ETIMEDOUT || os == EAGAIN || strstr(msg, "imeout") ||
                 strstr(msg, "timed out"))
            e = connector_fail_timeout(eb, p->host, port, timeout);
        else if (os)
            e = sl_fail(eb, SL_EDBDOWN, "could not connect to %s port %d: %s", p->host, port,
                        strerror(os));
        else
            e = sl_fail(eb, SL_EDBDOWN, "could not connect to %s port %d: %s", p->host, port,
                        msg);
        break;
    default:
        e = sl_fail(eb, SL_EDBDOWN, "could not connect: %s (error %u)", msg, err);
        break;
    }
    if (eb)
        connector_scrub(eb->msg, sizeof eb->msg, p->password);
    return e;
}

/* The TLS options for the ssl mode. libmariadb tries TLS when asked and,
 * unless verification is on, falls back to plain text when the server has
 * none; "require" is then enforced after connecting. */
static void set_tls(MYSQL *m, const char *mode)
{
    my_bool yes = 1;
    if (strcmp(mode, "disable") == 0)
        return;
    if (strcmp(mode, "prefer") == 0) {
        mysql_ssl_set(m, NULL, NULL, NULL, NULL, NULL);
        return;
    }
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes);
    if (strncmp(mode, "verify-", 7) == 0)
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
}

static sl_err my_open_as(const struct connector *self, const conn_params *p, int read_timeout,
                         void **out, sl_errbuf *eb)
{
    *out = NULL;
    sl_err e = connector_check_params(p, eb);
    if (e != SL_OK)
        return e;
    int port = connector_port(p, self), timeout = connector_timeout(p);
    MYSQL *m = mysql_init(NULL);
    if (!m)
        sl_panic("mysql_init: out of memory");
    unsigned int to = (unsigned)timeout, proto = MYSQL_PROTOCOL_TCP;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &to);
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
    if (read_timeout > 0) {
        unsigned int rt = (unsigned)read_timeout;
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    }
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char *mode = connector_ssl_mode(p);
    set_tls(m, mode);
    long t0 = now_ms();
    if (!mysql_real_connect(m, p->host, p->user && *p->user ? p->user : NULL,
                            p->password ? p->password : "",
                            p->database && *p->database ? p->database : NULL, (unsigned)port,
                            NULL, 0)) {
        e = translate(p, port, timeout, now_ms() - t0, m, eb);
        mysql_close(m);
        return e;
    }
    if (strcmp(mode, "disable") != 0 && strcmp(mode, "prefer") != 0 && !mysql_get_ssl_cipher(m)) {
        mysql_close(m);
        return sl_fail(eb, SL_EDBDOWN, "the server does not support TLS, but ssl_mode is %s",
                       mode);
    }
    *out = m;
    return SL_OK;
}

static sl_err my_open(const conn_params *p, void **out, sl_errbuf *eb)
{
    return my_open_as(&mysql_connector, p, 0, out, eb);
}

static sl_err maria_open(const conn_params *p, void **out, sl_errbuf *eb)
{
    return my_open_as(&mariadb_connector, p, 0, out, eb);
}

sl_err mysql_conn_open_reader(const conn_params *p, int read_timeout, void **conn,
                              sl_errbuf *eb)
{
    const struct connector *self = p->type && strcmp(p->type, "mariadb") == 0
                                       ? &mariadb_connector
                                       : &mysql_connector;
    return my_open_as(self, p, read_timeout, conn, eb);
}

static void my_close(void *conn)
{
    if (conn)
        mysql_close(conn);
}

static int is_mariadb(MYSQL *m)
{
    const char *v = mysql_get_server_info(m);
    return v && strstr(v, "MariaDB") != NULL;
}

static sl_err my_version(void *conn, arena *a, char **out, sl_errbuf *eb)
{
    MYSQL *m = conn;
    const char *v = mysql_get_server_info(m);
    if (!v)
        return sl_fail(eb, SL_EDB, "the server did not say its version");
    *out = arena_printf(a, "%s %s", is_mariadb(m) ? "MariaDB" : "MySQL", v);
    return SL_OK;
}

/* ---- discovery ---------------------------------------------------------- */

static sl_err query_failed(MYSQL *m, const char *what, sl_errbuf *eb)
{
    unsigned err = mysql_errno(m);
    sl_err code = (err == CR_SERVER_LOST || err == CR_SERVER_GONE_ERROR) ? SL_EDBDOWN : SL_EDB;
    return sl_fail(eb, code, "%s: %s (error %u)", what, mysql_error(m), err);
}

/* Run sql and keep the whole (small, catalog) result; NULL on failure. */
static MYSQL_RES *query(MYSQL *m, const char *sql, const char *what, sl_errbuf *eb)
{
    if (mysql_real_query(m, sql, strlen(sql)) != 0) {
        query_failed(m, what, eb);
        return NULL;
    }
    MYSQL_RES *r = mysql_store_result(m);
    if (!r)
        query_failed(m, what, eb);
    return r;
}

/* s as a quoted SQL string literal, escaped for this connection. */
static sl_err put_literal(sbuf *b, MYSQL *m, const char *s)
{
    size_t n = strlen(s);
    char *tmp = xmalloc(2 * n + 1);
    unsigned long len = mysql_real_escape_string(m, tmp, s, (unsigned long)n);
    sl_err e = sb_putc(b, '\'');
    if (e == SL_OK)
        e = sb_append(b, tmp, len);
    if (e == SL_OK)
        e = sb_putc(b, '\'');
    free(tmp);
    return e;
}

/* "IN ('a','b')", to follow a schema column: the schemas asked for, else
 * the connection's database, else (NOT IN) every database but the system
 * ones. */
static sl_err schema_filter(MYSQL *m, arena *a, const char *const *schemas, int n, char **out,
                            sl_errbuf *eb)
{
    sbuf b;
    sb_init(&b, a, 1 << 20);
    sl_err e = SL_OK;
    if (!schemas || n <= 0) {
        MYSQL_RES *r = query(m, "SELECT DATABASE()", "reading the current database", eb);
        if (!r)
            return eb ? eb->code : SL_EDB;
        MYSQL_ROW row = mysql_fetch_row(r);
        char *cur = row && row[0] ? arena_strdup(a, row[0]) : NULL;
        mysql_free_result(r);
        if (cur) {
            e = sb_puts(&b, "IN (");
            if (e == SL_OK)
                e = put_literal(&b, m, cur);
            if (e == SL_OK)
                e = sb_putc(&b, ')');
        } else {
            e = sb_puts(&b, "NOT IN ('mysql', 'information_schema', 'performance_schema', "
                            "'sys')");
        }
    } else {
        e = sb_puts(&b, "IN (");
        for (int i = 0; i < n && e == SL_OK; i++) {
            if (i)
                e = sb_putc(&b, ',');
            if (e == SL_OK)
                e = put_literal(&b, m, schemas[i] ? schemas[i] : "");
        }
        if (e == SL_OK)
            e = sb_putc(&b, ')');
    }
    if (e != SL_OK)
        return sl_fail(eb, SL_ETOOBIG, "too many schemas");
    *out = (char *)sb_str(&b);
    return SL_OK;
}

static int table_cmp(const void *x, const void *y)
{
    const conn_table *a = x, *b = y;
    int c = strcmp(a->schema, b->schema);
    return c ? c : strcmp(a->name, b->name);
}

static conn_table *find_table(conn_table *t, int n, const char *schema, const char *name)
{
    conn_table key = {0};
    key.schema = schema;
    key.name = name;
    return bsearch(&key, t, (size_t)n, sizeof *t, table_cmp);
}

static sl_err load_tables(MYSQL *m, arena *a, const char *filter, conn_table **out, int *n,
                          sl_errbuf *eb)
{
    char *sql = arena_printf(a,
                             "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS"
                             " FROM information_schema.TABLES"
                             " WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')"
                             " AND TABLE_SCHEMA %s",
                             filter);
    MYSQL_RES *r = query(m, sql, "listing tables", eb);
    if (!r)
        return eb ? eb->code : SL_EDB;
    int nt = (int)mysql_num_rows(r);
    conn_table *t = arena_calloc(a, (size_t)(nt ? nt : 1), sizeof *t);
    MYSQL_ROW row;
    int i = 0;
    while ((row = mysql_fetch_row(r)) && i < nt) {
        t[i].schema = arena_strdup(a, row[0] ? row[0] : "");
        t[i].name = arena_strdup(a, row[1] ? row[1] : "");
        t[i].est_rows = row[2] ? strtoll(row[2], NULL, 10) : -1;
        i++;
    }
    mysql_free_result(r);
    qsort(t, (size_t)i, sizeof *t, table_cmp);
    *out = t;
    *n = i;
    return SL_OK;
}

static sl_err load_columns(MYSQL *m, arena *a, const char *filter, conn_table *t, int nt,
                           sl_errbuf *eb)
{
    char *sql = arena_printf(a,
                             "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE,"
                             " IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA %s"
                             " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
                             filter);
    MYSQL_RES *r = query(m, sql, "listing columns", eb);
    if (!r)
        return eb ? eb->code : SL_EDB;
    /* Count per table, allocate, then fill. */
    int *count = arena_calloc(a, (size_t)(nt ? nt : 1), sizeof *count);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        conn_table *ti = row[0] && row[1] ? find_table(t, nt, row[0], row[1]) : NULL;
        if (ti)
            count[ti - t]++;
    }
    for (int i = 0; i < nt; i++)
        t[i].cols = arena_calloc(a, (size_t)(count[i] ? count[i] : 1), sizeof *t[i].cols);
    mysql_data_seek(r, 0);
    while ((row = mysql_fetch_row(r))) {
        conn_table *ti = row[0] && row[1] ? find_table(t, nt, row[0], row[1]) : NULL;
        if (!ti || ti->ncols >= count[ti - t])
            continue;
        conn_column *c = &ti->cols[ti->ncols++];
        c->name = arena_strdup(a, row[2] ? row[2] : "");
        c->type = arena_strdup(a, row[3] ? row[3] : "");
        c->nullable = row[4] && strcmp(row[4], "YES") == 0;
    }
    mysql_free_result(r);
    return SL_OK;
}

static conn_column *find_column(conn_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

static sl_err load_pkeys(MYSQL *m, arena *a, const char *filter, conn_table *t, int nt,
                         sl_errbuf *eb)
{
    char *sql = arena_printf(a,
                             "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SEQ_IN_INDEX"
                             " FROM information_schema.STATISTICS"
                             " WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA %s",
                             filter);
    MYSQL_RES *r = query(m, sql, "listing primary keys", eb);
    if (!r)
        return eb ? eb->code : SL_EDB;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        conn_table *ti = row[0] && row[1] ? find_table(t, nt, row[0], row[1]) : NULL;
        conn_column *c = ti && row[2] ? find_column(ti, row[2]) : NULL;
        if (!c || !row[3])
            continue;
        c->pk_position = (int)strtol(row[3], NULL, 10);
        ti->has_pk = 1;
    }
    mysql_free_result(r);
    return SL_OK;
}

/* MariaDB's JSON is LONGTEXT with CHECK (json_valid(`col`)): name it json.
 * Best effort: older servers lack CHECK_CONSTRAINTS and keep "longtext". */
static void mark_json(MYSQL *m, arena *a, const char *filter, conn_table *t, int nt)
{
    char *sql = arena_printf(a,
                             "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME"
                             " FROM information_schema.CHECK_CONSTRAINTS"
                             " WHERE CHECK_CLAUSE = CONCAT('json_valid(`', CONSTRAINT_NAME, '`)')"
                             " AND CONSTRAINT_SCHEMA %s",
                             filter);
    sl_errbuf ignore;
    MYSQL_RES *r = query(m, sql, "listing JSON columns", &ignore);
    if (!r)
        return;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        conn_table *ti = row[0] && row[1] ? find_table(t, nt, row[0], row[1]) : NULL;
        conn_column *c = ti && row[2] ? find_column(ti, row[2]) : NULL;
        if (c && strcmp(c->type, "longtext") == 0)
            c->type = "json";
    }
    mysql_free_result(r);
}

/* The tables (with columns, keys, JSON marks, watermarks) whose schema
 * matches filter. */
static sl_err list_filtered(MYSQL *m, arena *a, const char *filter, conn_table **out, int *n,
                            sl_errbuf *eb)
{
    int maria = is_mariadb(m);
    if (!maria && mysql_get_server_version(m) >= 80000) {
        /* MySQL 8 caches TABLE_ROWS for a day by default: ask for fresh ones. */
        (void)mysql_query(m, "SET SESSION information_schema_stats_expiry = 0");
    }
    conn_table *t = NULL;
    int nt = 0;
    sl_err e = load_tables(m, a, filter, &t, &nt, eb);
    if (e == SL_OK)
        e = load_columns(m, a, filter, t, nt, eb);
    if (e == SL_OK)
        e = load_pkeys(m, a, filter, t, nt, eb);
    if (e != SL_OK)
        return e;
    if (maria)
        mark_json(m, a, filter, t, nt);
    for (int i = 0; i < nt; i++)
        t[i].watermark = pick_watermark(&t[i], NULL);
    *out = t;
    *n = nt;
    return SL_OK;
}

static sl_err my_list_tables(void *conn, arena *a, const char *const *schemas, int nschemas,
                             conn_table **out, int *n, sl_errbuf *eb)
{
    MYSQL *m = conn;
    *out = NULL;
    *n = 0;
    char *filter = NULL;
    sl_err e = schema_filter(m, a, schemas, nschemas, &filter, eb);
    return e == SL_OK ? list_filtered(m, a, filter, out, n, eb) : e;
}

sl_err mysql_conn_describe(void *conn, arena *a, const char *schema, const char *table,
                           conn_table **out, sl_errbuf *eb)
{
    MYSQL *m = conn;
    *out = NULL;
    sbuf b;
    sb_init(&b, a, 1 << 20);
    /* the filter follows a schema column; TABLE_NAME is in every table it is used on */
    sl_err e = sb_puts(&b, "IN (");
    if (e == SL_OK)
        e = put_literal(&b, m, schema);
    if (e == SL_OK)
        e = sb_puts(&b, ") AND TABLE_NAME = ");
    if (e == SL_OK)
        e = put_literal(&b, m, table);
    if (e != SL_OK)
        return sl_fail(eb, SL_ETOOBIG, "the table name is too long");
    conn_table *t = NULL;
    int n = 0;
    e = list_filtered(m, a, sb_str(&b), &t, &n, eb);
    for (int i = 0; e == SL_OK && i < n; i++)
        if (strcmp(t[i].schema, schema) == 0 && strcmp(t[i].name, table) == 0)
            *out = &t[i];
    if (e == SL_OK && !*out)
        return sl_fail(eb, SL_ENOTFOUND, "source table %s.%s does not exist", schema, table);
    return e;
}

const struct connector mysql_connector = {
    .type = "mysql",
    .default_port = 3306,
    .can_source = 1,
    .can_destination = 1,
    .open = my_open,
    .close = my_close,
    .version = my_version,
    .list_tables = my_list_tables,
};

const struct connector mariadb_connector = {
    .type = "mariadb",
    .default_port = 3306,
    .can_source = 1,
    .can_destination = 1,
    .open = maria_open,
    .close = my_close,
    .version = my_version,
    .list_tables = my_list_tables,
};
