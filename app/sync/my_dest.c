/* my_dest.c - MySQL and MariaDB as a destination (dest.h): typed InnoDB
 * tables (utf8mb4) made from the source's columns, chunks merged with
 * multi-row INSERT ... ON DUPLICATE KEY UPDATE, the checkpoint in
 * `_sluice_state` in the same transaction, full refresh through a shadow
 * table and an atomic RENAME TABLE.
 *
 * Tables live in the connection's database. PostgreSQL types map to:
 * smallint/integer/bigint as such, numeric(p,s) decimal(p,s) (numeric
 * without a precision decimal(65,30), so values with more than 30
 * decimals are rounded), real float, double precision double, text
 * longtext, varchar(n)/char(n) as such, bytea longblob, boolean
 * tinyint(1), date date, time time(6), timestamp and timestamptz
 * datetime(6) (timestamptz in UTC), json/jsonb json, uuid char(36),
 * everything else (arrays, intervals, ...) longtext holding PostgreSQL's
 * text. Key columns that would be longtext are varchar(255). Values MySQL
 * cannot hold (infinity, NaN, years past 9999) fail the chunk: the
 * session is in strict mode. Every value is escaped with
 * mysql_real_escape_string. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "sync/copytext.h"
#include "sync/dest.h"

#define STMT_BYTES ((size_t)4 << 20) /* one INSERT's size, under max_allowed_packet */

typedef struct {
    MYSQL *m;
    sbuf sql, val;
} my_dest;

static sl_err fail(my_dest *d, const char *what, sl_errbuf *eb)
{
    return sl_fail(eb, SL_EDB, "destination: %s: %s (MySQL error %u)", what,
                   mysql_error(d->m), mysql_errno(d->m));
}

static sl_err run(my_dest *d, const char *sql, const char *what, sl_errbuf *eb)
{
    if (mysql_real_query(d->m, sql, strlen(sql)) != 0)
        return fail(d, what, eb);
    MYSQL_RES *r = mysql_store_result(d->m);
    if (r)
        mysql_free_result(r);
    return SL_OK;
}

/* `name` with backticks doubled. */
static char *q_ident(arena *a, const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = arena_alloc(a, 2 * n + 3);
    out[o++] = '`';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`')
            out[o++] = '`';
        out[o++] = s[i];
    }
    out[o++] = '`';
    out[o] = '\0';
    return out;
}

static void put_lit(my_dest *d, sbuf *b, const char *s, size_t n)
{
    char small[512];
    char *tmp = 2 * n + 1 <= sizeof small ? small : malloc(2 * n + 1);
    if (!tmp)
        sl_panic("out of memory");
    unsigned long k = mysql_real_escape_string(d->m, tmp, s, (unsigned long)n);
    sb_putc(b, '\'');
    sb_append(b, tmp, k);
    sb_putc(b, '\'');
    if (tmp != small)
        free(tmp);
}

static char *lit(my_dest *d, arena *a, const char *s)
{
    sbuf b;
    sb_init(&b, a, (size_t)1 << 30);
    put_lit(d, &b, s, strlen(s));
    return (char *)sb_str(&b);
}

/* The MySQL type for a PostgreSQL type (format_type text). */
static const char *my_type(arena *a, const char *pg, int pk)
{
    int p = 0, s = 0;
    if (strstr(pg, "[]"))
        return pk ? "varchar(255)" : "longtext";
    if (!strcmp(pg, "smallint") || !strcmp(pg, "integer") || !strcmp(pg, "bigint"))
        return pg[0] == 'i' ? "int" : pg;
    if (!strcmp(pg, "numeric"))
        return "decimal(65,30)";
    if (sscanf(pg, "numeric(%d,%d)", &p, &s) == 2)
        return arena_printf(a, "decimal(%d,%d)", p > 65 ? 65 : p, s > 30 ? 30 : s);
    if (!strcmp(pg, "real"))
        return "float";
    if (!strcmp(pg, "double precision"))
        return "double";
    if (sscanf(pg, "character varying(%d)", &p) == 1)
        return arena_printf(a, "varchar(%d)", p);
    if (sscanf(pg, "character(%d)", &p) == 1)
        return arena_printf(a, "char(%d)", p);
    if (!strcmp(pg, "bytea"))
        return pk ? "varbinary(255)" : "longblob";
    if (!strcmp(pg, "boolean"))
        return "tinyint(1)";
    if (!strcmp(pg, "date"))
        return "date";
    if (!strncmp(pg, "time without", 12) || !strcmp(pg, "time"))
        return "time(6)";
    if (!strncmp(pg, "timestamp", 9))
        return "datetime(6)";
    if (!strcmp(pg, "json") || !strcmp(pg, "jsonb"))
        return "json";
    if (!strcmp(pg, "uuid"))
        return "char(36)";
    return pk ? "varchar(255)" : "longtext";
}

/* How a value is written: 0 quoted text, 1 boolean, 2 bytea, 3 timestamptz. */
static int conv_of(const char *pg)
{
    if (strstr(pg, "[]"))
        return 0;
    if (!strcmp(pg, "boolean"))
        return 1;
    if (!strcmp(pg, "bytea"))
        return 2;
    if (!strcmp(pg, "timestamp with time zone"))
        return 3;
    return 0;
}

static sl_err md_open(const conn_params *p, void **h, sl_errbuf *eb)
{
    const struct connector *c = strcmp(p->type, "mysql") == 0 ? &mysql_connector
                                                               : &mariadb_connector;
    void *conn = NULL;
    sl_err e = c->open(p, &conn, eb);
    if (e != SL_OK)
        return e;
    my_dest *d = calloc(1, sizeof *d);
    if (!d)
        sl_panic("out of memory");
    d->m = conn;
    sb_init(&d->sql, NULL, (size_t)1 << 31);
    sb_init(&d->val, NULL, (size_t)1 << 31);
    e = run(d, "SET NAMES utf8mb4, time_zone = '+00:00', autocommit = 0,"
               " sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'", "session", eb);
    if (e != SL_OK) {
        mysql_close(d->m);
        sb_free(&d->sql);
        sb_free(&d->val);
        free(d);
        return e;
    }
    *h = d;
    return SL_OK;
}

static void md_close(void *h)
{
    my_dest *d = h;
    if (!d)
        return;
    mysql_close(d->m);
    sb_free(&d->sql);
    sb_free(&d->val);
    free(d);
}

static int md_alive(void *h)
{
    my_dest *d = h;
    return d && mysql_ping(d->m) == 0;
}

static sl_err md_ensure_meta(void *h, arena *a, sl_errbuf *eb)
{
    (void)a;
    return run(h, "CREATE TABLE IF NOT EXISTS `_sluice_state` ("
                  " pipeline_id varchar(64) NOT NULL, source_schema varchar(255) NOT NULL,"
                  " source_table varchar(255) NOT NULL, watermark_column varchar(255),"
                  " watermark longtext, rows_total bigint NOT NULL DEFAULT 0,"
                  " last_run_id bigint, updated_at datetime(6) NOT NULL,"
                  " PRIMARY KEY (pipeline_id, source_schema, source_table))"
                  " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4", "creating _sluice_state", eb);
}

static sl_err md_ensure_target(void *h, arena *a, const tsync *t, int *created,
                               const char ***added, int *nadded, sl_errbuf *eb)
{
    my_dest *d = h;
    *created = 0;
    *nadded = 0;
    *added = arena_calloc(a, (size_t)t->ncols + 1, sizeof **added);
    const char *tn = t->pt->target_table;
    char *q = arena_printf(a, "SELECT column_name FROM information_schema.columns"
                              " WHERE table_schema = DATABASE() AND table_name = %s",
                           lit(d, a, tn));
    if (mysql_real_query(d->m, q, strlen(q)) != 0)
        return fail(d, "reading the table's columns", eb);
    MYSQL_RES *r = mysql_store_result(d->m);
    if (!r)
        return fail(d, "reading the table's columns", eb);
    int have = (int)mysql_num_rows(r);
    char **names = arena_calloc(a, (size_t)have + 1, sizeof *names);
    MYSQL_ROW row;
    for (int i = 0; (row = mysql_fetch_row(r)) != NULL && i < have; i++)
        names[i] = arena_strdup(a, row[0] ? row[0] : "");
    mysql_free_result(r);
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    if (have == 0) {
        sb_printf(&b, "CREATE TABLE %s (", q_ident(a, tn));
        for (int i = 0; i < t->ncols; i++)
            sb_printf(&b, "%s %s, ", q_ident(a, t->cols[i].name),
                      my_type(a, t->cols[i].dest_type, t->cols[i].pk));
        sb_puts(&b, "`_sluice_run_id` bigint, `_sluice_synced_at` datetime(6)");
        if (t->npk > 0) {
            sb_puts(&b, ", PRIMARY KEY (");
            for (int k = 0; k < t->npk; k++)
                sb_printf(&b, "%s%s", k ? ", " : "", q_ident(a, t->cols[t->pk[k]].name));
            sb_puts(&b, ")");
        }
        sb_puts(&b, ") ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin");
        *created = 1;
        return run(d, sb_str(&b), "creating the table", eb);
    }
    for (int i = 0; i < t->ncols; i++) {
        int found = 0;
        for (int j = 0; j < have && !found; j++)
            found = strcasecmp(names[j], t->cols[i].name) == 0;
        if (found)
            continue;
        sb_clear(&b);
        sb_printf(&b, "ALTER TABLE %s ADD COLUMN %s %s", q_ident(a, tn),
                  q_ident(a, t->cols[i].name), my_type(a, t->cols[i].dest_type, 0));
        sl_err e = run(d, sb_str(&b), "adding a column", eb);
        if (e != SL_OK)
            return e;
        (*added)[(*nadded)++] = t->cols[i].name;
    }
    return SL_OK;
}

static char *key_where(my_dest *d, arena *a, const tsync *t)
{
    return arena_printf(a, "pipeline_id = %s AND source_schema = %s AND source_table = %s",
                        lit(d, a, t->cfg->pipeline_id), lit(d, a, t->pt->schema),
                        lit(d, a, t->pt->source_table));
}

static sl_err md_checkpoint(void *h, arena *a, const tsync *t, char **wm, sl_errbuf *eb)
{
    my_dest *d = h;
    *wm = NULL;
    char *q = arena_printf(a, "SELECT watermark, watermark_column FROM `_sluice_state` WHERE %s",
                           key_where(d, a, t));
    if (mysql_real_query(d->m, q, strlen(q)) != 0)
        return fail(d, "reading the checkpoint", eb);
    MYSQL_RES *r = mysql_store_result(d->m);
    if (!r)
        return fail(d, "reading the checkpoint", eb);
    MYSQL_ROW row = mysql_fetch_row(r);
    if (row && row[0] && row[1] && t->wm >= 0 && strcmp(row[1], t->cols[t->wm].name) == 0)
        *wm = arena_strdup(a, row[0]);
    mysql_free_result(r);
    return run(d, "COMMIT", "ending the read", eb);
}

static sl_err md_target_empty(void *h, arena *a, const tsync *t, int *empty, sl_errbuf *eb)
{
    my_dest *d = h;
    char *q = arena_printf(a, "SELECT 1 FROM %s LIMIT 1", q_ident(a, t->pt->target_table));
    if (mysql_real_query(d->m, q, strlen(q)) != 0)
        return fail(d, "reading the table", eb);
    MYSQL_RES *r = mysql_store_result(d->m);
    if (!r)
        return fail(d, "reading the table", eb);
    *empty = mysql_num_rows(r) == 0;
    mysql_free_result(r);
    return run(d, "COMMIT", "ending the read", eb);
}

static sl_err md_begin(void *h, sl_errbuf *eb)
{
    return run(h, "START TRANSACTION", "starting a transaction", eb);
}

static void md_rollback(void *h)
{
    my_dest *d = h;
    mysql_rollback(d->m);
}

/* One value of a decoded field into d->sql. */
static void put_value(my_dest *d, int conv, const char *s, size_t n)
{
    if (conv == 1) {
        sb_puts(&d->sql, n > 0 && (s[0] == 't' || s[0] == '1') ? "1" : "0");
        return;
    }
    if (conv == 2 && n >= 2 && s[0] == '\\' && s[1] == 'x') {
        sb_puts(&d->sql, "X'");
        sb_append(&d->sql, s + 2, n - 2);
        sb_putc(&d->sql, '\'');
        return;
    }
    if (conv == 3 && n > 19) { /* "...+00" (the source session is at UTC): drop the zone */
        size_t k = n;
        while (k > 19 && s[k - 1] != '+' && s[k - 1] != '-')
            k--;
        if (k > 19)
            n = k - 1;
    }
    put_lit(d, &d->sql, s, n);
}

static sl_err md_load(void *h, arena *a, const tsync *t, int into_shadow, const char *rows,
                      size_t len, int n, sl_errbuf *eb)
{
    my_dest *d = h;
    char *target = q_ident(a, into_shadow ? arena_printf(a, "%s__sluice_shadow",
                                                         t->pt->target_table)
                                          : t->pt->target_table);
    sbuf head, tail;
    sb_init(&head, a, (size_t)1 << 24);
    sb_init(&tail, a, (size_t)1 << 24);
    sb_printf(&head, "INSERT INTO %s (", target);
    sb_puts(&tail, " ON DUPLICATE KEY UPDATE ");
    for (int i = 0; i < t->ncols; i++) {
        char *c = q_ident(a, t->cols[i].name);
        sb_printf(&head, "%s, ", c);
        sb_printf(&tail, "%s = VALUES(%s), ", c, c);
    }
    sb_puts(&head, "`_sluice_run_id`, `_sluice_synced_at`) VALUES ");
    sb_puts(&tail, "`_sluice_run_id` = VALUES(`_sluice_run_id`),"
                   " `_sluice_synced_at` = VALUES(`_sluice_synced_at`)");
    int *conv = arena_calloc(a, (size_t)t->ncols + 1, sizeof *conv);
    for (int i = 0; i < t->ncols; i++)
        conv[i] = conv_of(t->cols[i].dest_type);
    ct_field *f = arena_calloc(a, (size_t)t->ncols + 1, sizeof *f);
    const char *p = rows, *end = rows + len;
    int in_stmt = 0;
    (void)n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t rl = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        int nf = ct_split(p, rl, f, t->ncols);
        if (!in_stmt) {
            sb_clear(&d->sql);
            sb_append(&d->sql, head.ptr, head.len);
            in_stmt = 1;
        } else {
            sb_putc(&d->sql, ',');
        }
        sb_putc(&d->sql, '(');
        for (int i = 0; i < t->ncols; i++) {
            if (i >= nf || f[i].null) {
                sb_puts(&d->sql, "NULL, ");
                continue;
            }
            sb_clear(&d->val);
            if (ct_decode(&f[i], &d->val) != SL_OK)
                return sl_fail(eb, SL_EINVAL, "destination: a malformed row");
            put_value(d, conv[i], d->val.ptr ? d->val.ptr : "", d->val.len);
            sb_puts(&d->sql, ", ");
        }
        sb_printf(&d->sql, "%s, UTC_TIMESTAMP(6))", t->run_id_text);
        p += rl;
        if (d->sql.len >= STMT_BYTES || p >= end) {
            if (t->npk > 0 && !into_shadow)
                sb_append(&d->sql, tail.ptr, tail.len);
            if (mysql_real_query(d->m, d->sql.ptr, d->sql.len) != 0)
                return fail(d, "loading rows", eb);
            in_stmt = 0;
        }
    }
    return SL_OK;
}

static sl_err md_commit(void *h, arena *a, const tsync *t, const char *wm, long long rows,
                        int reset, sl_errbuf *eb)
{
    my_dest *d = h;
    if (t) {
        char *q = arena_printf(
            a, "INSERT INTO `_sluice_state` (pipeline_id, source_schema, source_table,"
               " watermark_column, watermark, rows_total, last_run_id, updated_at)"
               " VALUES (%s, %s, %s, %s, %s, %lld, %s, UTC_TIMESTAMP(6))"
               " ON DUPLICATE KEY UPDATE watermark_column = VALUES(watermark_column),"
               " watermark = %s, rows_total = %s, last_run_id = VALUES(last_run_id),"
               " updated_at = VALUES(updated_at)",
            lit(d, a, t->cfg->pipeline_id), lit(d, a, t->pt->schema),
            lit(d, a, t->pt->source_table),
            t->wm >= 0 ? lit(d, a, t->cols[t->wm].name) : "NULL", wm ? lit(d, a, wm) : "NULL",
            rows, t->run_id_text, wm ? "VALUES(watermark)" : reset ? "NULL" : "watermark",
            reset ? "VALUES(rows_total)" : "rows_total + VALUES(rows_total)");
        sl_err e = run(d, q, "writing the checkpoint", eb);
        if (e != SL_OK)
            return e;
    }
    if (mysql_commit(d->m) != 0)
        return fail(d, "committing", eb);
    return SL_OK;
}

static sl_err md_shadow_begin(void *h, arena *a, const tsync *t, sl_errbuf *eb)
{
    char *tn = q_ident(a, t->pt->target_table);
    char *sh = q_ident(a, arena_printf(a, "%s__sluice_shadow", t->pt->target_table));
    sl_err e = run(h, arena_printf(a, "DROP TABLE IF EXISTS %s", sh), "dropping a shadow", eb);
    if (e == SL_OK)
        e = run(h, arena_printf(a, "CREATE TABLE %s LIKE %s", sh, tn), "creating the shadow",
                eb);
    return e;
}

static sl_err md_shadow_swap(void *h, arena *a, const tsync *t, sl_errbuf *eb)
{
    char *tn = q_ident(a, t->pt->target_table);
    char *sh = q_ident(a, arena_printf(a, "%s__sluice_shadow", t->pt->target_table));
    char *old = q_ident(a, arena_printf(a, "%s__sluice_old", t->pt->target_table));
    sl_err e = run(h, arena_printf(a, "DROP TABLE IF EXISTS %s", old), "dropping", eb);
    if (e == SL_OK) /* one statement: readers see the old table or the new one */
        e = run(h, arena_printf(a, "RENAME TABLE %s TO %s, %s TO %s", tn, old, sh, tn),
                "swapping the shadow in", eb);
    if (e == SL_OK)
        e = run(h, arena_printf(a, "DROP TABLE %s", old), "dropping the old table", eb);
    return e;
}

const struct dst_ops dst_mysql_ops = {
    .name = "mysql",
    .open = md_open,
    .close = md_close,
    .alive = md_alive,
    .ensure_meta = md_ensure_meta,
    .ensure_target = md_ensure_target,
    .checkpoint = md_checkpoint,
    .target_empty = md_target_empty,
    .begin = md_begin,
    .load = md_load,
    .commit = md_commit,
    .rollback = md_rollback,
    .shadow_begin = md_shadow_begin,
    .shadow_swap = md_shadow_swap,
};
