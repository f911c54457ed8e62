/* pg_conn.c - the PostgreSQL connector: connect, server version, discovery.
 *
 * The opaque connection is the PGconn itself, so the extraction and loading
 * code (other files) can use libpq on it directly. Connecting translates
 * libpq's messages into ones a person can act on (wrong password, server not
 * running, unknown host, unknown database, timeout), never containing the
 * password. Discovery runs three catalog queries (tables, columns, primary
 * keys) in one read-only REPEATABLE READ transaction so they agree. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "sbuf.h"

static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* The first line of a libpq message, with the "connection to server at
 * ... failed: " prefix removed, into out. */
static void first_line(char *out, size_t cap, const char *msg)
{
    const char *fail = strstr(msg, "failed: ");
    if (fail && strncmp(msg, "connection to server", 20) == 0)
        msg = fail + 8;
    while (*msg == ' ')
        msg++;
    size_t n = strcspn(msg, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

/* The quoted name after `prefix"` in msg, e.g. the role in
 * `role "x" does not exist`, into out; 0 when absent. */
static int quoted_after(const char *msg, const char *prefix, char *out, size_t cap)
{
    const char *p = strstr(msg, prefix);
    if (!p)
        return 0;
    p += strlen(prefix);
    const char *q = strchr(p, '"');
    if (!q)
        return 0;
    size_t n = (size_t)(q - p) < cap - 1 ? (size_t)(q - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

/* libpq's connection failure, translated. */
static sl_err translate(const conn_params *p, int port, int timeout, const char *msg,
                        sl_errbuf *eb)
{
    const char *user = p->user && *p->user ? p->user : "";
    char name[128];
    sl_err e;
    if (strstr(msg, "password authentication failed"))
        e = sl_fail(eb, SL_EAUTH, "password authentication failed for user \"%s\"", user);
    else if (strstr(msg, "no password supplied"))
        e = sl_fail(eb, SL_EAUTH, "the server asks for a password for user \"%s\" and none "
                                  "was given", user);
    else if (quoted_after(msg, "role \"", name, sizeof name) && strstr(msg, "does not exist"))
        e = sl_fail(eb, SL_EAUTH, "role \"%s\" does not exist", name);
    else if (strstr(msg, "no pg_hba.conf entry"))
        e = sl_fail(eb, SL_EAUTH, "the server does not accept connections from this host for "
                                  "user \"%s\" (no pg_hba.conf entry)", user);
    else if (quoted_after(msg, "database \"", name, sizeof name) &&
             strstr(msg, "does not exist"))
        e = sl_fail(eb, SL_ENOTFOUND, "database \"%s\" does not exist", name);
    else if (strstr(msg, "Connection refused"))
        e = connector_fail_refused(eb, p->host, port);
    else if (strstr(msg, "could not translate host name"))
        e = connector_fail_resolve(eb, p->host);
    else if (strstr(msg, "timeout expired") || strstr(msg, "Connection timed out"))
        e = connector_fail_timeout(eb, p->host, port, timeout);
    else if (strstr(msg, "does not support SSL"))
        e = sl_fail(eb, SL_EDBDOWN, "the server does not support SSL, but ssl_mode is %s",
                    connector_ssl_mode(p));
    else if (strstr(msg, "the database system is starting up") ||
             strstr(msg, "the database system is shutting down"))
        e = sl_fail(eb, SL_EDBDOWN, "the server is starting up or shutting down; try again");
    else {
        char line[SL_ERRBUF_SIZE - 128];
        first_line(line, sizeof line, msg);
        e = sl_fail(eb, SL_EDBDOWN, "could not connect to %s port %d: %s", p->host, port, line);
    }
    if (eb)
        connector_scrub(eb->msg, sizeof eb->msg, p->password);
    return e;
}

static sl_err pg_open(const conn_params *p, void **out, sl_errbuf *eb)
{
    *out = NULL;
    sl_err e = connector_check_params(p, eb);
    if (e != SL_OK)
        return e;
    int port = connector_port(p, &pg_connector), timeout = connector_timeout(p);
    char sport[16], stimeout[16];
    snprintf(sport, sizeof sport, "%d", port);
    snprintf(stimeout, sizeof stimeout, "%d", timeout);
    const char *keys[] = {"host",           "port",     "dbname",           "user",
                          "password",       "sslmode",  "connect_timeout",  "application_name",
                          "client_encoding", NULL};
    const char *vals[] = {p->host,
                          sport,
                          p->database && *p->database ? p->database : NULL,
                          p->user && *p->user ? p->user : NULL,
                          p->password && *p->password ? p->password : NULL,
                          connector_ssl_mode(p),
                          stimeout,
                          "sluice",
                          "UTF8",
                          NULL};
    /* Unused slots (NULL values) must not end the list early: compact. */
    const char *k2[10], *v2[10];
    int n = 0;
    for (int i = 0; keys[i]; i++)
        if (vals[i]) {
            k2[n] = keys[i];
            v2[n++] = vals[i];
        }
    k2[n] = v2[n] = NULL;
    PGconn *c = PQconnectdbParams(k2, v2, 0);
    if (!c)
        sl_panic("PQconnectdbParams: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        e = translate(p, port, timeout, PQerrorMessage(c), eb);
        PQfinish(c);
        return e;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    *out = c;
    return SL_OK;
}

static void pg_close(void *conn)
{
    if (conn)
        PQfinish(conn);
}

/* A failed query: the server's primary message, or a lost connection. */
static sl_err query_failed(PGconn *c, PGresult *r, const char *what, sl_errbuf *eb)
{
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    sl_err code = PQstatus(c) == CONNECTION_OK ? SL_EDB : SL_EDBDOWN;
    char line[SL_ERRBUF_SIZE - 64];
    first_line(line, sizeof line, msg ? msg : PQerrorMessage(c));
    if (r)
        PQclear(r);
    return sl_fail(eb, code, "%s: %s", what, line);
}

static sl_err pg_version(void *conn, arena *a, char **out, sl_errbuf *eb)
{
    PGconn *c = conn;
    const char *v = PQparameterStatus(c, "server_version");
    if (!v) {
        PGresult *r = PQexec(c, "SHOW server_version");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            return query_failed(c, r, "reading the server version", eb);
        *out = arena_printf(a, "PostgreSQL %s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return SL_OK;
    }
    *out = arena_printf(a, "PostgreSQL %s", v);
    return SL_OK;
}

/* ---- discovery ---------------------------------------------------------- */

/* schemas as a text[] literal ({"a","b\"c"}), or NULL for none. */
static const char *schema_array(arena *a, const char *const *schemas, int n, sl_errbuf *eb,
                                sl_err *e)
{
    sbuf b;
    *e = SL_OK;
    if (!schemas || n <= 0)
        return NULL;
    sb_init(&b, a, 1 << 20);
    sl_err r = sb_putc(&b, '{');
    for (int i = 0; i < n && r == SL_OK; i++) {
        r = sb_puts(&b, i ? ",\"" : "\"");
        for (const char *s = schemas[i] ? schemas[i] : ""; *s && r == SL_OK; s++) {
            if (*s == '"' || *s == '\\')
                r = sb_putc(&b, '\\');
            if (r == SL_OK)
                r = sb_putc(&b, *s);
        }
        if (r == SL_OK)
            r = sb_putc(&b, '"');
    }
    if (r == SL_OK)
        r = sb_putc(&b, '}');
    if (r != SL_OK)
        *e = sl_fail(eb, SL_ETOOBIG, "too many schemas");
    return sb_str(&b);
}

/* The tables to describe: ordinary and partitioned tables, not partitions,
 * not the system schemas (nor other sessions' temporary ones), limited to
 * $1 when it is not NULL. Columns: oid, schema, name, estimate. */
static const char TABLES_CTE[] =
    "WITH t AS ("
    " SELECT c.oid, n.nspname, c.relname,"
    "  CASE WHEN c.relkind = 'p' THEN"
    "   (SELECT CASE WHEN count(*) FILTER (WHERE l.reltuples >= 0) = 0 THEN -1"
    "           ELSE sum(greatest(l.reltuples, 0)) END"
    "    FROM pg_partition_tree(c.oid) pt JOIN pg_class l ON l.oid = pt.relid"
    "    WHERE pt.isleaf)"
    "  ELSE c.reltuples END::float8 AS est"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
    "  AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    "  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
    "  AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[])))";

static const char Q_TABLES[] = " SELECT oid, nspname, relname, est FROM t"
                               " ORDER BY nspname COLLATE \"C\", relname COLLATE \"C\"";

static const char Q_COLUMNS[] =
    " SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull"
    " FROM pg_attribute a JOIN t ON t.oid = a.attrelid"
    " WHERE a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attrelid, a.attnum";

static const char Q_PKEYS[] =
    " SELECT i.indrelid, a.attname, k.ord"
    " FROM pg_index i JOIN t ON t.oid = i.indrelid"
    " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
    " WHERE i.indisprimary"
    " ORDER BY i.indrelid, k.ord";

typedef struct {
    unsigned oid;
    int idx; /* into the output array */
} oid_ix;

static int oid_cmp(const void *x, const void *y)
{
    unsigned a = ((const oid_ix *)x)->oid, b = ((const oid_ix *)y)->oid;
    return a < b ? -1 : a > b;
}

static unsigned parse_oid(const char *s)
{
    return (unsigned)strtoul(s, NULL, 10);
}

static int find_table(const oid_ix *map, int n, unsigned oid)
{
    oid_ix key = {oid, 0};
    const oid_ix *hit = bsearch(&key, map, (size_t)n, sizeof *map, oid_cmp);
    return hit ? hit->idx : -1;
}

static PGresult *run(PGconn *c, arena *a, const char *q, const char *arr)
{
    const char *sql = arena_printf(a, "%s%s", TABLES_CTE, q);
    const char *params[1] = {arr};
    return PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
}

static sl_err exec_simple(PGconn *c, const char *sql, sl_errbuf *eb)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return query_failed(c, r, "discovery", eb);
    PQclear(r);
    return SL_OK;
}

/* Tables with their row estimates, and the oid -> index map. */
static sl_err load_tables(PGconn *c, arena *a, const char *arr, conn_table **out, int *n,
                          oid_ix **map, sl_errbuf *eb)
{
    PGresult *r = run(c, a, Q_TABLES, arr);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return query_failed(c, r, "listing tables", eb);
    int nt = PQntuples(r);
    conn_table *t = arena_calloc(a, (size_t)(nt ? nt : 1), sizeof *t);
    oid_ix *m = arena_calloc(a, (size_t)(nt ? nt : 1), sizeof *m);
    for (int i = 0; i < nt; i++) {
        m[i].oid = parse_oid(PQgetvalue(r, i, 0));
        m[i].idx = i;
        t[i].schema = arena_strdup(a, PQgetvalue(r, i, 1));
        t[i].name = arena_strdup(a, PQgetvalue(r, i, 2));
        double est = PQgetisnull(r, i, 3) ? -1 : strtod(PQgetvalue(r, i, 3), NULL);
        t[i].est_rows = est < 0 ? -1 : (long long)(est + 0.5);
    }
    PQclear(r);
    qsort(m, (size_t)nt, sizeof *m, oid_cmp);
    *out = t;
    *n = nt;
    *map = m;
    return SL_OK;
}

static sl_err load_columns(PGconn *c, arena *a, const char *arr, conn_table *t, int nt,
                           const oid_ix *map, sl_errbuf *eb)
{
    PGresult *r = run(c, a, Q_COLUMNS, arr);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return query_failed(c, r, "listing columns", eb);
    int nr = PQntuples(r);
    /* Count per table, allocate, then fill (rows come grouped by table). */
    int *count = arena_calloc(a, (size_t)(nt ? nt : 1), sizeof *count);
    for (int i = 0; i < nr; i++) {
        int ti = find_table(map, nt, parse_oid(PQgetvalue(r, i, 0)));
        if (ti >= 0)
            count[ti]++;
    }
    for (int i = 0; i < nt; i++)
        t[i].cols = arena_calloc(a, (size_t)(count[i] ? count[i] : 1), sizeof *t[i].cols);
    for (int i = 0; i < nr; i++) {
        int ti = find_table(map, nt, parse_oid(PQgetvalue(r, i, 0)));
        if (ti < 0)
            continue;
        conn_column *col = &t[ti].cols[t[ti].ncols++];
        col->name = arena_strdup(a, PQgetvalue(r, i, 1));
        col->type = arena_strdup(a, PQgetvalue(r, i, 2));
        col->nullable = strcmp(PQgetvalue(r, i, 3), "t") != 0;
    }
    PQclear(r);
    return SL_OK;
}

static sl_err load_pkeys(PGconn *c, arena *a, const char *arr, conn_table *t, int nt,
                         const oid_ix *map, sl_errbuf *eb)
{
    PGresult *r = run(c, a, Q_PKEYS, arr);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return query_failed(c, r, "listing primary keys", eb);
    for (int i = 0; i < PQntuples(r); i++) {
        int ti = find_table(map, nt, parse_oid(PQgetvalue(r, i, 0)));
        if (ti < 0)
            continue;
        const char *name = PQgetvalue(r, i, 1);
        long pos = strtol(PQgetvalue(r, i, 2), NULL, 10);
        for (int k = 0; k < t[ti].ncols; k++)
            if (strcmp(t[ti].cols[k].name, name) == 0) {
                t[ti].cols[k].pk_position = (int)pos;
                t[ti].has_pk = 1;
            }
    }
    PQclear(r);
    return SL_OK;
}

static sl_err pg_list_tables(void *conn, arena *a, const char *const *schemas, int nschemas,
                             conn_table **out, int *n, sl_errbuf *eb)
{
    PGconn *c = conn;
    *out = NULL;
    *n = 0;
    if (PQserverVersion(c) < 120000)
        return sl_fail(eb, SL_EUNSUPPORTED, "PostgreSQL %d.%d is too old: sluice needs 12 or "
                                            "newer",
                       PQserverVersion(c) / 10000, PQserverVersion(c) / 100 % 100);
    sl_err e;
    const char *arr = schema_array(a, schemas, nschemas, eb, &e);
    if (e != SL_OK)
        return e;
    e = exec_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", eb);
    if (e != SL_OK)
        return e;
    conn_table *t = NULL;
    oid_ix *map = NULL;
    int nt = 0;
    e = load_tables(c, a, arr, &t, &nt, &map, eb);
    if (e == SL_OK)
        e = load_columns(c, a, arr, t, nt, map, eb);
    if (e == SL_OK)
        e = load_pkeys(c, a, arr, t, nt, map, eb);
    sl_errbuf ignore;
    if (e != SL_OK) {
        exec_simple(c, "ROLLBACK", &ignore);
        return e;
    }
    e = exec_simple(c, "COMMIT", eb);
    if (e != SL_OK)
        return e;
    for (int i = 0; i < nt; i++)
        t[i].watermark = pick_watermark(&t[i], NULL);
    *out = t;
    *n = nt;
    return SL_OK;
}

const struct connector pg_connector = {
    .type = "postgresql",
    .default_port = 5432,
    .can_source = 1,
    .can_destination = 1,
    .open = pg_open,
    .close = pg_close,
    .version = pg_version,
    .list_tables = pg_list_tables,
};
