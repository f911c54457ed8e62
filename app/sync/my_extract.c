/* my_extract.c - MySQL and MariaDB as a sync source: the source interface
 * (source.h) over libmariadb.
 *
 * A session is one connection (mysql_conn.c opens it, TCP and utf8mb4,
 * with a read timeout) set up to print values the same way every time:
 * time_zone '+00:00' (TIMESTAMP values read in UTC), sql_mode '' (no
 * strictness or zero-date modes changing what a query means, backslash
 * escapes on), no statement time limit, long network timeouts (the
 * server waits while the destination commits a chunk), REPEATABLE READ.
 * Each table is read in one snapshot: START TRANSACTION WITH CONSISTENT
 * SNAPSHOT, READ ONLY. Rows are streamed with mysql_use_result (memory
 * bounded by a row) and turned into COPY text column by column
 * (my_types.c); a value that cannot be carried (a zero date) becomes NULL
 * and is reported through the note hook with the row's key.
 *
 * Incremental reads are `WHERE (wm >= <checkpoint> [- INTERVAL lookback
 * SECOND] OR wm IS NULL OR wm < '1000-01-01') ORDER BY wm`: the
 * checkpoint is text this file printed (myt_literal turns it back into a
 * MySQL value at full microsecond precision), and rows whose watermark is
 * NULL, or a zero date (NULL at the destination), are read on every run,
 * as NULL watermarks are for PostgreSQL sources. Identifiers are quoted
 * with backticks. An extraction the engine stops is abandoned by closing
 * the connection (draining the rest of a big result would take as long as
 * reading it); the next snapshot reconnects. */
#include <errmsg.h>
#include <mysql.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "sync/my_types.h"
#include "sync/mysql_conn.h"
#include "sync/source.h"

/* Seconds without a byte from the server before a read fails. A sorted
 * read of a big table may think that long before its first row. */
#define MY_READ_TIMEOUT 1800
/* Smaller tables are counted exactly for the progress estimate. */
#define EXACT_COUNT_BELOW 200000
#define ROW_MAX ((size_t)1 << 30)
#define NOTE_VALUE_MAX 64

typedef struct {
    MYSQL *m;           /* NULL once closed (abandoned, or lost) */
    conn_params p;      /* for reconnecting; strings owned */
    int maria;
    int in_tx;
} my_src;

/* ---- the session ------------------------------------------------------------ */

static sl_err fail_query(my_src *s, const char *what, sl_errbuf *eb)
{
    unsigned err = mysql_errno(s->m);
    int lost = err == CR_SERVER_LOST || err == CR_SERVER_GONE_ERROR;
    sl_err e = sl_fail(eb, lost ? SL_EDBDOWN : SL_EDB, "%s: %s (error %u)", what,
                       mysql_error(s->m), err);
    if (lost) {
        mysql_close(s->m);
        s->m = NULL;
        s->in_tx = 0;
    }
    return e;
}

static sl_err run(my_src *s, const char *sql, sl_errbuf *eb)
{
    if (mysql_real_query(s->m, sql, strlen(sql)) != 0)
        return fail_query(s, sql, eb);
    MYSQL_RES *r = mysql_store_result(s->m);
    if (r)
        mysql_free_result(r);
    return SL_OK;
}

static sl_err setup(my_src *s, sl_errbuf *eb)
{
    const char *v = mysql_get_server_info(s->m);
    s->maria = v && strstr(v, "MariaDB") != NULL;
    const char *stmts[] = {
        "SET NAMES utf8mb4",
        "SET SESSION time_zone = '+00:00', sql_mode = '', net_read_timeout = 3600,"
        " net_write_timeout = 3600",
        s->maria ? "SET SESSION max_statement_time = 0" : "SET SESSION max_execution_time = 0",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    };
    sl_err e = SL_OK;
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0] && e == SL_OK; i++)
        e = run(s, stmts[i], eb);
    return e;
}

static sl_err connect_src(my_src *s, const char *what, sl_errbuf *eb)
{
    void *conn = NULL;
    sl_errbuf ce = {0};
    sl_err e = mysql_conn_open_reader(&s->p, MY_READ_TIMEOUT, &conn, &ce);
    if (e != SL_OK)
        return sl_fail(eb, e, "%s: %s", what, ce.msg);
    s->m = conn;
    s->in_tx = 0;
    e = setup(s, &ce);
    if (e != SL_OK) {
        if (s->m)
            mysql_close(s->m);
        s->m = NULL;
        return sl_fail(eb, e, "%s: session settings: %s", what, ce.msg);
    }
    return SL_OK;
}

static char *dup(const char *v)
{
    return v ? xstrdup(v) : NULL;
}

static void my_close_src(void *h)
{
    my_src *s = h;
    if (!s)
        return;
    if (s->m)
        mysql_close(s->m);
    if (s->p.password)
        sodium_memzero((char *)s->p.password, strlen(s->p.password));
    const char *strs[] = {s->p.type, s->p.host, s->p.database, s->p.user, s->p.password,
                          s->p.ssl_mode};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free((char *)strs[i]);
    free(s);
}

static sl_err my_open_src(const conn_params *p, const char *what, void **h, sl_errbuf *eb)
{
    my_src *s = xcalloc(1, sizeof *s);
    s->p = *p;
    s->p.type = dup(p->type);
    s->p.host = dup(p->host);
    s->p.database = dup(p->database);
    s->p.user = dup(p->user);
    s->p.password = dup(p->password);
    s->p.ssl_mode = dup(p->ssl_mode);
    sl_err e = connect_src(s, what, eb);
    if (e != SL_OK) {
        my_close_src(s);
        return e;
    }
    *h = s;
    return SL_OK;
}

static int my_alive(void *h)
{
    const my_src *s = h;
    return s && s->m;
}

static void my_end(void *h)
{
    my_src *s = h;
    if (s->m && s->in_tx) {
        sl_errbuf ignore;
        run(s, "ROLLBACK", &ignore);
    }
    s->in_tx = 0;
}

static sl_err my_snapshot(void *h, sl_errbuf *eb)
{
    my_src *s = h;
    my_end(s); /* may find the connection lost, and forget it */
    sl_err e = s->m ? SL_OK : connect_src(s, "source", eb);
    if (e == SL_OK)
        e = run(s, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", eb);
    s->in_tx = e == SL_OK;
    return e;
}

static sl_err need_conn(my_src *s, sl_errbuf *eb)
{
    return s->m ? SL_OK : sl_fail(eb, SL_EDBDOWN, "the source connection was closed");
}

/* ---- SQL text ----------------------------------------------------------------- */

/* `name`, with backticks in it doubled. */
static const char *qident(arena *a, const char *name)
{
    sbuf b;
    sb_init(&b, a, (size_t)1 << 20);
    sb_putc(&b, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`')
            sb_putc(&b, '`');
        sb_putc(&b, *p);
    }
    sb_putc(&b, '`');
    return sb_str(&b);
}

/* The WHERE clause reading from `from` (see the top of the file); "" when
 * from is NULL; NULL (with eb) when from is not a value of the watermark's
 * type. */
static const char *where_sql(arena *a, const tsync *t, const char *from, sl_errbuf *eb)
{
    if (!from || t->wm < 0)
        return "";
    const ts_column *c = &t->cols[t->wm];
    const char *lit = myt_literal(a, c->dest_type, from);
    if (!lit) {
        sl_fail(eb, SL_EINVAL, "the watermark value \"%s\" is not a %s for column \"%s\"", from,
                t->wm_temporal ? "date or time" : "whole number", c->name);
        return NULL;
    }
    const char *col = qident(a, c->name);
    const char *back = t->wm_temporal && t->pt->lookback_seconds > 0
                           ? arena_printf(a, " - INTERVAL %ld SECOND", t->pt->lookback_seconds)
                           : "";
    const char *nulls = c->notnull ? "" : arena_printf(a, " OR %s IS NULL", col);
    const char *zero = t->wm_temporal ? arena_printf(a, " OR %s < '1000-01-01'", col) : "";
    return arena_printf(a, " WHERE (%s >= %s%s%s%s)", col, lit, back, nulls, zero);
}

static const char *select_sql(arena *a, const tsync *t, const myt_type *ty, const char *where,
                              int ordered)
{
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    sb_puts(&b, "SELECT ");
    for (int i = 0; i < t->ncols; i++) {
        const char *c = qident(a, t->cols[i].name);
        /* a FLOAT's text is rounded to 6 digits; as a double it is exact */
        sb_printf(&b, ty[i].as_double ? "%s(%s + 0e0)" : "%s%s", i ? ", " : "", c);
    }
    sb_printf(&b, " FROM %s%s", t->q_source, where);
    if (ordered && t->wm >= 0)
        sb_printf(&b, " ORDER BY %s", qident(a, t->cols[t->wm].name));
    return sb_str(&b);
}

static myt_type *types_of(arena *a, const tsync *t)
{
    myt_type *ty = arena_calloc(a, (size_t)t->ncols + 1, sizeof *ty);
    for (int i = 0; i < t->ncols; i++)
        myt_map(a, t->cols[i].src_type, &ty[i]);
    return ty;
}

/* ---- describe, watermark, estimate -------------------------------------------------- */

static sl_err my_describe(void *h, arena *a, tsync *t, sl_errbuf *eb)
{
    my_src *s = h;
    sl_err e = need_conn(s, eb);
    conn_table *ct = NULL;
    if (e == SL_OK)
        e = mysql_conn_describe(s->m, a, t->pt->schema, t->pt->source_table, &ct, eb);
    if (e != SL_OK)
        return e;
    if (ct->ncols == 0)
        return sl_fail(eb, SL_EUNSUPPORTED, "source table %s.%s has no columns", t->pt->schema,
                       t->pt->source_table);
    t->q_source = arena_printf(a, "%s.%s", qident(a, t->pt->schema),
                               qident(a, t->pt->source_table));
    t->ncols = ct->ncols;
    t->cols = arena_calloc(a, (size_t)ct->ncols, sizeof *t->cols);
    t->pk = arena_calloc(a, (size_t)ct->ncols, sizeof *t->pk);
    t->npk = 0;
    for (int i = 0; i < ct->ncols; i++) {
        ts_column *c = &t->cols[i];
        myt_type ty;
        myt_map(a, ct->cols[i].type, &ty);
        c->name = ct->cols[i].name;
        c->src_type = ct->cols[i].type;
        c->dest_type = ty.pg_type;
        c->kind = ty.kind;
        c->notnull = !ct->cols[i].nullable;
        c->pk = ct->cols[i].pk_position;
        if (c->pk > 0)
            t->npk++;
    }
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].pk > 0 && t->cols[i].pk <= t->npk)
            t->pk[t->cols[i].pk - 1] = i;
    t->est_rows = ct->est_rows;
    return src_pick_watermark(t, 1, eb);
}

/* The first column of the first row of sql as text (NULL for SQL NULL or
 * no row) into *out, its length into *len. */
static sl_err query_value(my_src *s, arena *a, const char *sql, char **out, size_t *len,
                          sl_errbuf *eb)
{
    *out = NULL;
    *len = 0;
    sl_err e = need_conn(s, eb);
    if (e != SL_OK)
        return e;
    if (mysql_real_query(s->m, sql, strlen(sql)) != 0)
        return fail_query(s, sql, eb);
    MYSQL_RES *r = mysql_store_result(s->m);
    if (!r)
        return fail_query(s, sql, eb);
    MYSQL_ROW row = mysql_fetch_row(r);
    unsigned long *lens = row ? mysql_fetch_lengths(r) : NULL;
    if (row && row[0]) {
        *out = arena_memdup(a, row[0], lens[0]);
        *len = lens[0];
    }
    mysql_free_result(r);
    return SL_OK;
}

static sl_err my_max_watermark(void *h, arena *a, const tsync *t, char **out, sl_errbuf *eb)
{
    my_src *s = h;
    const ts_column *c = &t->cols[t->wm];
    char *v = NULL;
    size_t n = 0;
    sl_err e = query_value(s, a, arena_printf(a, "SELECT MAX(%s) FROM %s", qident(a, c->name),
                                              t->q_source), &v, &n, eb);
    if (e != SL_OK || !v)
        return e;
    myt_type ty;
    myt_map(a, c->src_type, &ty);
    sbuf b, scratch;
    sb_init(&b, a, 1 << 16);
    sb_init(&scratch, a, 1 << 16);
    int changed = 0;
    if (myt_put(&ty, v, n, &b, &scratch, &changed) != SL_OK)
        return sl_fail(eb, SL_ETOOBIG, "the largest watermark value is too long");
    *out = changed ? NULL : arena_strdup(a, sb_str(&b));
    return SL_OK;
}

/* rows of EXPLAIN sql, or -1. */
static long long explain_rows(my_src *s, arena *a, const char *sql)
{
    const char *q = arena_printf(a, "EXPLAIN %s", sql);
    if (!s->m || mysql_real_query(s->m, q, strlen(q)) != 0)
        return -1;
    MYSQL_RES *r = mysql_store_result(s->m);
    if (!r)
        return -1;
    long long rows = -1;
    unsigned nf = mysql_num_fields(r);
    MYSQL_FIELD *f = mysql_fetch_fields(r);
    MYSQL_ROW row = mysql_fetch_row(r);
    for (unsigned i = 0; row && i < nf; i++)
        if (strcmp(f[i].name, "rows") == 0 && row[i])
            rows = strtoll(row[i], NULL, 10);
    mysql_free_result(r);
    return rows;
}

static long long my_estimate(void *h, arena *a, const tsync *t, const char *from)
{
    my_src *s = h;
    sl_errbuf ignore;
    const char *where = where_sql(a, t, from, &ignore);
    if (!where)
        return -1;
    long long est = t->est_rows;
    if (est >= EXACT_COUNT_BELOW && !*where)
        return est;
    if (est >= EXACT_COUNT_BELOW || est < 0) {
        long long plan = explain_rows(s, a, arena_printf(a, "SELECT 1 FROM %s%s", t->q_source,
                                                         where));
        if (plan >= EXACT_COUNT_BELOW || est >= EXACT_COUNT_BELOW)
            return plan;
    }
    char *v = NULL;
    size_t n;
    if (query_value(s, a, arena_printf(a, "SELECT COUNT(*) FROM %s%s", t->q_source, where), &v,
                    &n, &ignore) != SL_OK || !v)
        return est;
    return strtoll(v, NULL, 10);
}

/* ---- extraction ----------------------------------------------------------------- */

/* The note for a value of column c that became NULL: the column, the
 * value, and the row's key (or its place in the extraction). */
static void note_changed(src_note_cb note, void *arg, arena *a, const tsync *t, int c,
                         MYSQL_ROW row, const unsigned long *lens, long long rowno)
{
    sbuf b;
    sb_init(&b, a, 4096);
    sb_printf(&b, "column \"%s\": zero date '%.*s' loaded as NULL (", t->cols[c].name,
              (int)(lens[c] < NOTE_VALUE_MAX ? lens[c] : NOTE_VALUE_MAX), row[c]);
    if (t->npk == 0)
        sb_printf(&b, "row %lld of the extraction, no primary key", rowno);
    for (int k = 0; k < t->npk; k++) {
        int i = t->pk[k];
        int len = (int)(lens[i] < NOTE_VALUE_MAX ? lens[i] : NOTE_VALUE_MAX);
        sb_printf(&b, "%s%s=%.*s", k ? ", " : "key ", t->cols[i].name, row[i] ? len : 4,
                  row[i] ? row[i] : "NULL");
    }
    sb_putc(&b, ')');
    note(arg, sb_str(&b));
}

/* One row as a COPY text line in line. */
static sl_err row_line(const tsync *t, const myt_type *ty, MYSQL_ROW row,
                       const unsigned long *lens, sbuf *line, sbuf *scratch, int *changed_col)
{
    sl_err e = SL_OK;
    sb_clear(line);
    *changed_col = -1;
    for (int i = 0; i < t->ncols && e == SL_OK; i++) {
        if (i > 0)
            e = sb_putc(line, '\t');
        if (e != SL_OK)
            break;
        if (!row[i]) {
            e = sb_append(line, "\\N", 2);
            continue;
        }
        int changed = 0;
        e = myt_put(&ty[i], row[i], lens[i], line, scratch, &changed);
        if (changed && *changed_col < 0)
            *changed_col = i;
    }
    return e == SL_OK ? sb_putc(line, '\n') : e;
}

/* Abandon a result the caller stopped reading: shut the socket so freeing
 * it does not read the rest, and forget the connection. */
static void abandon(my_src *s, MYSQL_RES *r)
{
    mariadb_cancel(s->m);
    mysql_free_result(r);
    mysql_close(s->m);
    s->m = NULL;
    s->in_tx = 0;
}

static sl_err my_extract(void *h, arena *a, const tsync *t, const char *from, int ordered,
                         src_row_cb cb, void *arg, src_note_cb note, void *note_arg,
                         sl_errbuf *eb)
{
    my_src *s = h;
    sl_err e = need_conn(s, eb);
    const char *where = e == SL_OK ? where_sql(a, t, from, eb) : NULL;
    if (!where)
        return e == SL_OK ? SL_EINVAL : e;
    myt_type *ty = types_of(a, t);
    const char *sql = select_sql(a, t, ty, where, ordered);
    if (mysql_real_query(s->m, sql, strlen(sql)) != 0)
        return fail_query(s, "reading the table", eb);
    MYSQL_RES *r = mysql_use_result(s->m);
    if (!r)
        return fail_query(s, "reading the table", eb);
    if (mysql_num_fields(r) != (unsigned)t->ncols) {
        abandon(s, r);
        return sl_fail(eb, SL_EDB, "the table changed while it was read");
    }
    sbuf line, scratch;
    sb_init(&line, NULL, ROW_MAX);
    sb_init(&scratch, NULL, ROW_MAX);
    arena *na = arena_new(0);
    long long rowno = 0;
    int stopped = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)) != NULL) {
        unsigned long *lens = mysql_fetch_lengths(r);
        int changed = -1;
        rowno++;
        e = row_line(t, ty, row, lens, &line, &scratch, &changed);
        if (e != SL_OK) {
            e = sl_fail(eb, SL_ETOOBIG, "a row of the table is bigger than 1 GiB as COPY text");
            stopped = 1;
            break;
        }
        if (changed >= 0 && note) {
            note_changed(note, note_arg, na, t, changed, row, lens, rowno);
            arena_reset(na);
        }
        if (cb(line.ptr, line.len, arg)) {
            e = sl_fail(eb, SL_EINVAL, "the extraction was stopped");
            stopped = 1;
            break;
        }
    }
    unsigned err = stopped ? 0 : mysql_errno(s->m);
    if (err != 0) { /* the connection is not trusted after a failed read */
        int lost = err == CR_SERVER_LOST || err == CR_SERVER_GONE_ERROR;
        e = sl_fail(eb, lost ? SL_EDBDOWN : SL_EDB, "reading the table: %s (error %u)",
                    mysql_error(s->m), err);
        stopped = 1;
    }
    if (stopped)
        abandon(s, r);
    else
        mysql_free_result(r);
    arena_free(na);
    sb_free(&line);
    sb_free(&scratch);
    return e;
}

const struct src_ops src_mysql_ops = {
    .name = "mysql",
    .open = my_open_src,
    .close = my_close_src,
    .alive = my_alive,
    .snapshot = my_snapshot,
    .end = my_end,
    .describe = my_describe,
    .max_watermark = my_max_watermark,
    .estimate = my_estimate,
    .extract = my_extract,
};
