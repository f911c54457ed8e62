/* ch_dest.c - ClickHouse as a destination (dest.h), over the HTTP
 * interface (ch_conn.c's connection): tables
 * `ENGINE = ReplacingMergeTree(_sluice_synced_at) ORDER BY (<key>)`, rows
 * streamed as `INSERT ... FORMAT TabSeparated`, the checkpoint kept in the
 * control database (sluice_state.watermarks) by dstsync.c only after
 * ClickHouse acknowledged the insert.
 *
 * At least once: a crash between an acknowledged insert and the
 * checkpoint sends those rows again on the next run. Repeats of a key
 * collapse when ClickHouse merges parts (the newest _sluice_synced_at
 * wins); until then queries should use FINAL or argMax(col,
 * _sluice_synced_at) grouped by the key.
 *
 * Types: smallint Int16, integer Int32, bigint Int64, numeric(p,s)
 * Decimal(p,s) (p up to 38; numeric without a precision String), real
 * Float32, double Float64, boolean UInt8, date Date, uuid UUID, timestamp
 * and timestamptz DateTime64(6, 'UTC') on servers from version 20 on and
 * String ('YYYY-MM-DD hh:mm:ss.ffffff', UTC) before (18.16 has no
 * DateTime64); everything else (text, json, bytea as PostgreSQL's \x hex,
 * arrays, intervals) String. Columns outside the key are Nullable. Dates
 * outside ClickHouse's range (before 1970) fail the insert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbuf.h"
#include "sync/ch_conn.h"
#include "sync/copytext.h"
#include "sync/dest.h"

typedef struct {
    void *conn;
    int modern;   /* version 20 or later: DateTime64 */
    sbuf body, val;
} ch_dest;

static sl_err cd_open(const conn_params *p, void **h, sl_errbuf *eb)
{
    void *conn = NULL;
    sl_err e = clickhouse_connector.open(p, &conn, eb);
    if (e != SL_OK)
        return e;
    ch_dest *d = calloc(1, sizeof *d);
    if (!d)
        sl_panic("out of memory");
    d->conn = conn;
    d->modern = strtol(ch_conn_version(conn), NULL, 10) >= 20;
    sb_init(&d->body, NULL, (size_t)1 << 31);
    sb_init(&d->val, NULL, (size_t)1 << 31);
    *h = d;
    return SL_OK;
}

static void cd_close(void *h)
{
    ch_dest *d = h;
    if (!d)
        return;
    clickhouse_connector.close(d->conn);
    sb_free(&d->body);
    sb_free(&d->val);
    free(d);
}

static sl_err post(ch_dest *d, const char *sql, sbuf *answer, const char *what, sl_errbuf *eb)
{
    sl_errbuf ceb = {0};
    sl_err e = ch_conn_post(d->conn, sql, NULL, 0, answer, &ceb);
    if (e != SL_OK)
        return sl_fail(eb, e, "destination: %s: %s", what, ceb.msg);
    return SL_OK;
}

static int cd_alive(void *h)
{
    sl_errbuf eb;
    return post(h, "SELECT 1", NULL, "ping", &eb) == SL_OK;
}

static sl_err cd_ensure_meta(void *h, arena *a, sl_errbuf *eb)
{
    return SL_OK; /* the checkpoint is in the control database */
}

/* `name` with backticks and backslashes escaped. */
static char *q_ident(arena *a, const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = arena_alloc(a, 2 * n + 3);
    out[o++] = '`';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`' || s[i] == '\\')
            out[o++] = '\\';
        out[o++] = s[i];
    }
    out[o++] = '`';
    out[o] = '\0';
    return out;
}

/* 'text' with quotes and backslashes escaped. */
static char *q_lit(arena *a, const char *s)
{
    char *q = q_ident(a, s);
    q[0] = q[strlen(q) - 1] = '\'';
    return q;
}

static const char *ch_type(ch_dest *d, arena *a, const char *pg)
{
    int p = 0, s = 0;
    if (strstr(pg, "[]"))
        return "String";
    if (!strcmp(pg, "smallint"))
        return "Int16";
    if (!strcmp(pg, "integer"))
        return "Int32";
    if (!strcmp(pg, "bigint"))
        return "Int64";
    if (sscanf(pg, "numeric(%d,%d)", &p, &s) == 2 && p <= 38)
        return arena_printf(a, "Decimal(%d,%d)", p, s);
    if (!strcmp(pg, "real"))
        return "Float32";
    if (!strcmp(pg, "double precision"))
        return "Float64";
    if (!strcmp(pg, "boolean"))
        return "UInt8";
    if (!strcmp(pg, "date"))
        return "Date";
    if (!strcmp(pg, "uuid"))
        return "UUID";
    if (!strncmp(pg, "timestamp", 9))
        return d->modern ? "DateTime64(6, 'UTC')" : "String";
    return "String";
}

static const char *col_type(ch_dest *d, arena *a, const ts_column *c)
{
    const char *ty = ch_type(d, a, c->dest_type);
    return c->pk ? ty : arena_printf(a, "Nullable(%s)", ty);
}

static sl_err cd_ensure_target(void *h, arena *a, const tsync *t, int *created,
                               const char ***added, int *nadded, sl_errbuf *eb)
{
    ch_dest *d = h;
    *created = 0;
    *nadded = 0;
    *added = arena_calloc(a, (size_t)t->ncols + 1, sizeof **added);
    const char *tn = t->pt->target_table;
    sbuf ans;
    sb_init(&ans, a, (size_t)1 << 24);
    sl_err e = post(d, arena_printf(a, "SELECT name FROM system.columns WHERE database = "
                                       "currentDatabase() AND table = %s FORMAT TabSeparated",
                                    q_lit(a, tn)),
                    &ans, "reading the table's columns", eb);
    if (e != SL_OK)
        return e;
    const char *cols = ans.ptr ? ans.ptr : "";
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    if (!*cols) {
        sb_printf(&b, "CREATE TABLE %s (", q_ident(a, tn));
        for (int i = 0; i < t->ncols; i++)
            sb_printf(&b, "%s %s, ", q_ident(a, t->cols[i].name), col_type(d, a, &t->cols[i]));
        sb_printf(&b, "`_sluice_run_id` Int64, `_sluice_synced_at` %s) ENGINE = "
                      "ReplacingMergeTree(_sluice_synced_at) ORDER BY (",
                  d->modern ? "DateTime64(6, 'UTC')" : "DateTime");
        if (t->npk == 0)
            sb_puts(&b, "tuple()");
        for (int k = 0; k < t->npk; k++)
            sb_printf(&b, "%s%s", k ? ", " : "", q_ident(a, t->cols[t->pk[k]].name));
        sb_puts(&b, ")");
        *created = 1;
        return post(d, sb_str(&b), NULL, "creating the table", eb);
    }
    for (int i = 0; i < t->ncols; i++) {
        const char *name = t->cols[i].name;
        size_t n = strlen(name);
        int found = 0;
        for (const char *p = cols; *p && !found;) {
            size_t l = strcspn(p, "\n");
            found = l == n && memcmp(p, name, n) == 0;
            p += l + (p[l] == '\n');
        }
        if (found)
            continue;
        sb_clear(&b);
        sb_printf(&b, "ALTER TABLE %s ADD COLUMN %s Nullable(%s)", q_ident(a, tn),
                  q_ident(a, name), ch_type(d, a, t->cols[i].dest_type));
        e = post(d, sb_str(&b), NULL, "adding a column", eb);
        if (e != SL_OK)
            return e;
        (*added)[(*nadded)++] = name;
    }
    return SL_OK;
}

static sl_err cd_checkpoint(void *h, arena *a, const tsync *t, char **wm, sl_errbuf *eb)
{
    *wm = NULL; /* dstsync.c reads it from the control database */
    return SL_OK;
}

static sl_err cd_target_empty(void *h, arena *a, const tsync *t, int *empty, sl_errbuf *eb)
{
    sbuf ans;
    sb_init(&ans, a, 1 << 16);
    sl_err e = post(h, arena_printf(a, "SELECT count() FROM %s", q_ident(a, t->pt->target_table)),
                    &ans, "counting rows", eb);
    if (e == SL_OK)
        *empty = strtoll(ans.ptr ? ans.ptr : "0", NULL, 10) == 0;
    return e;
}

static sl_err cd_begin(void *h, sl_errbuf *eb)
{
    return SL_OK; /* no transactions: each insert is acknowledged on its own */
}

static void cd_rollback(void *h)
{
}

/* A decoded value into the TabSeparated body, escaped the way ClickHouse
 * reads it. */
static void put_tsv(sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                        : c == '\0' ? "\\0" : NULL;
        if (esc)
            sb_puts(b, esc);
        else
            sb_putc(b, c);
    }
}

static sl_err cd_load(void *h, arena *a, const tsync *t, int into_shadow, const char *rows,
                      size_t len, int n, sl_errbuf *eb)
{
    ch_dest *d = h;
    const char *tn = into_shadow ? arena_printf(a, "%s__sluice_shadow", t->pt->target_table)
                                 : t->pt->target_table;
    sbuf q;
    sb_init(&q, a, (size_t)1 << 24);
    sb_printf(&q, "INSERT INTO %s (", q_ident(a, tn));
    for (int i = 0; i < t->ncols; i++)
        sb_printf(&q, "%s, ", q_ident(a, t->cols[i].name));
    sb_puts(&q, "`_sluice_run_id`, `_sluice_synced_at`) FORMAT TabSeparated");
    /* 1 boolean, 2 timestamp with time zone */
    int *conv = arena_calloc(a, (size_t)t->ncols + 1, sizeof *conv);
    for (int i = 0; i < t->ncols; i++)
        conv[i] = !strcmp(t->cols[i].dest_type, "boolean") ? 1
                  : !strcmp(t->cols[i].dest_type, "timestamp with time zone") ? 2 : 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[64], sec[32];
    strftime(sec, sizeof sec, "%Y-%m-%d %H:%M:%S", &tm);
    if (d->modern)
        snprintf(stamp, sizeof stamp, "%s.%06ld", sec, now.tv_nsec / 1000);
    else
        snprintf(stamp, sizeof stamp, "%s", sec);
    ct_field *f = arena_calloc(a, (size_t)t->ncols + 1, sizeof *f);
    sb_clear(&d->body);
    const char *p = rows, *end = rows + len;
    (void)n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t rl = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        int nf = ct_split(p, rl, f, t->ncols);
        for (int i = 0; i < t->ncols; i++) {
            if (i >= nf || f[i].null) {
                sb_puts(&d->body, "\\N\t");
                continue;
            }
            sb_clear(&d->val);
            if (ct_decode(&f[i], &d->val) != SL_OK)
                return sl_fail(eb, SL_EINVAL, "destination: a malformed row");
            const char *s = d->val.ptr ? d->val.ptr : "";
            size_t vl = d->val.len;
            if (conv[i] == 1) {
                s = vl > 0 && s[0] == 't' ? "1" : "0";
                vl = 1;
            } else if (conv[i] == 2 && vl > 19) { /* the source session is at UTC */
                size_t k = vl;
                while (k > 19 && s[k - 1] != '+' && s[k - 1] != '-')
                    k--;
                if (k > 19)
                    vl = k - 1;
            }
            put_tsv(&d->body, s, vl);
            sb_putc(&d->body, '\t');
        }
        sb_printf(&d->body, "%s\t%s\n", t->run_id_text, stamp);
        p += rl;
    }
    sl_errbuf ceb = {0};
    sl_err e = ch_conn_post(d->conn, sb_str(&q), d->body.ptr ? d->body.ptr : "", d->body.len,
                            NULL, &ceb);
    if (e != SL_OK)
        return sl_fail(eb, e, "destination: loading rows: %s", ceb.msg);
    return SL_OK;
}

static sl_err cd_commit(void *h, arena *a, const tsync *t, const char *wm, long long rows,
                        int reset, sl_errbuf *eb)
{
    return SL_OK; /* acknowledged already; dstsync.c writes the checkpoint */
}

static sl_err cd_shadow_begin(void *h, arena *a, const tsync *t, sl_errbuf *eb)
{
    char *tn = q_ident(a, t->pt->target_table);
    char *sh = q_ident(a, arena_printf(a, "%s__sluice_shadow", t->pt->target_table));
    sl_err e = post(h, arena_printf(a, "DROP TABLE IF EXISTS %s", sh), NULL, "dropping a shadow",
                    eb);
    if (e == SL_OK)
        e = post(h, arena_printf(a, "CREATE TABLE %s AS %s", sh, tn), NULL,
                 "creating the shadow", eb);
    return e;
}

static sl_err cd_shadow_swap(void *h, arena *a, const tsync *t, sl_errbuf *eb)
{
    char *tn = q_ident(a, t->pt->target_table);
    char *sh = q_ident(a, arena_printf(a, "%s__sluice_shadow", t->pt->target_table));
    char *old = q_ident(a, arena_printf(a, "%s__sluice_old", t->pt->target_table));
    sl_err e = post(h, arena_printf(a, "DROP TABLE IF EXISTS %s", old), NULL, "dropping", eb);
    if (e == SL_OK)
        e = post(h, arena_printf(a, "RENAME TABLE %s TO %s, %s TO %s", tn, old, sh, tn), NULL,
                 "swapping the shadow in", eb);
    if (e == SL_OK)
        e = post(h, arena_printf(a, "DROP TABLE %s", old), NULL, "dropping the old table", eb);
    return e;
}

const struct dst_ops dst_clickhouse_ops = {
    .name = "clickhouse",
    .ckpt_in_control = 1,
    .open = cd_open,
    .close = cd_close,
    .alive = cd_alive,
    .ensure_meta = cd_ensure_meta,
    .ensure_target = cd_ensure_target,
    .checkpoint = cd_checkpoint,
    .target_empty = cd_target_empty,
    .begin = cd_begin,
    .load = cd_load,
    .commit = cd_commit,
    .rollback = cd_rollback,
    .shadow_begin = cd_shadow_begin,
    .shadow_swap = cd_shadow_swap,
};
