/* pg_extract.c - the PostgreSQL source of a sync: session settings,
 * describing a table, its snapshot, and the COPY statement that reads it.
 *
 * Rows leave the source as COPY text and are never re-encoded, so what
 * makes them exact is here: both sessions print dates, times, intervals,
 * floats and bytea the same way (pgx_connect), and every table is read in
 * one REPEATABLE READ snapshot (pgx_snapshot). Column types are described
 * as the destination will create them: format_type() of the source type,
 * except that domains become their base type and enums (or any type that
 * lives outside pg_catalog, which the destination may not have) become
 * text, arrays of them text[]. Their COPY text is the same either way, so
 * the SELECT reads the columns as they are. */
#include "sync/pg_extract.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

/* Tables (or, when their size is unknown, extractions) smaller than this
 * are counted exactly, in the snapshot, for the progress estimate; bigger
 * ones get the statistics' or the planner's figure. */
#define EXACT_COUNT_BELOW 200000

static const char SESSION_SQL[] =
    "SELECT set_config('DateStyle', 'ISO, YMD', false), set_config('TimeZone', 'UTC', false),"
    " set_config('IntervalStyle', 'postgres', false),"
    " set_config('extra_float_digits', '3', false), set_config('bytea_output', 'hex', false),"
    " set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false),"
    " set_config('idle_in_transaction_session_timeout', '0', false)";

sl_err pgx_connect(const conn_params *p, const char *what, db **out, sl_errbuf *eb)
{
    *out = NULL;
    void *conn = NULL;
    sl_errbuf ce = {0};
    sl_err e = pg_connector.open(p, &conn, &ce);
    if (e != SL_OK)
        return sl_fail(eb, e, "%s: %s", what, ce.msg);
    db *d = db_adopt(conn);
    e = db_exec(d, &ce, SESSION_SQL, 0, NULL);
    if (e != SL_OK) {
        db_close(d);
        return sl_fail(eb, e, "%s: session settings: %s", what, ce.msg);
    }
    *out = d;
    return SL_OK;
}

sl_err pgx_snapshot(db *src, sl_errbuf *eb)
{
    db_rollback(src);
    return db_exec(src, eb, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
}

/* Columns, resolved through domains and arrays to a base type: walk the
 * type graph (domain -> base type, array -> element, once) and describe
 * the last step. $1 is the table's regclass. */
static const char Q_COLUMNS[] =
    "WITH RECURSIVE c AS ("
    " SELECT a.attnum, a.attname, a.attnotnull,"
    "  format_type(a.atttypid, a.atttypmod) AS decl, a.atttypid AS tid, a.atttypmod AS tmod,"
    "  false AS arr, 0 AS depth"
    " FROM pg_attribute a"
    " WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped"
    " UNION ALL"
    " SELECT c.attnum, c.attname, c.attnotnull, c.decl,"
    "  CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END,"
    "  CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE c.tmod END,"
    "  c.arr OR t.typtype <> 'd', c.depth + 1"
    " FROM c JOIN pg_type t ON t.oid = c.tid"
    " WHERE c.depth < 16 AND (t.typtype = 'd' OR (NOT c.arr AND t.typelem <> 0"
    "  AND t.typlen = -1 AND t.typcategory = 'A')))"
    " SELECT c.attname, c.decl, c.attnotnull,"
    "  CASE WHEN n.nspname = 'pg_catalog' THEN format_type(c.tid, c.tmod) ELSE 'text' END"
    "   || CASE WHEN c.arr THEN '[]' ELSE '' END,"
    "  CASE WHEN n.nspname = 'pg_catalog' THEN t.typname::text ELSE 'text' END, c.arr,"
    "  coalesce((SELECT k.ord FROM pg_index i"
    "   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
    "   WHERE i.indrelid = $1::regclass AND i.indisprimary AND k.attnum = c.attnum), 0)"
    " FROM c JOIN pg_type t ON t.oid = c.tid JOIN pg_namespace n ON n.oid = t.typnamespace"
    " WHERE NOT (t.typtype = 'd' OR (NOT c.arr AND t.typelem <> 0 AND t.typlen = -1"
    "  AND t.typcategory = 'A'))"
    " ORDER BY c.attnum";

/* Live rows by the statistics collector (current after bulk changes), else
 * the planner's reltuples; for a partitioned table, summed over its
 * leaves. -1 when neither knows. */
static const char Q_ESTIMATE[] =
    "SELECT CASE WHEN sum(coalesce(s.n_live_tup, 0)) > 0 THEN sum(s.n_live_tup)"
    "  WHEN count(*) FILTER (WHERE l.reltuples >= 0) = 0 THEN -1"
    "  ELSE sum(greatest(l.reltuples, 0)) END::float8"
    " FROM pg_class l LEFT JOIN pg_stat_all_tables s ON s.relid = l.oid"
    " WHERE (l.oid = $1::regclass AND l.relkind <> 'p')"
    "  OR l.oid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf)";

static enum ct_kind kind_of(const char *typname, int arr)
{
    static const char *const numbers[] = {"int2", "int4", "int8", "numeric", "float4",
                                          "float8", "oid"};
    if (arr)
        return CT_TEXT;
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (strcmp(typname, numbers[i]) == 0)
            return CT_NUMBER;
    if (strcmp(typname, "bool") == 0)
        return CT_BOOL;
    if (strcmp(typname, "json") == 0 || strcmp(typname, "jsonb") == 0)
        return CT_JSON;
    return CT_TEXT;
}

sl_err pgx_describe(db *src, arena *a, tsync *t, sl_errbuf *eb)
{
    const pl_table *pt = t->pt;
    t->q_source = arena_printf(a, "%s.%s", db_quote_ident(a, pt->schema),
                               db_quote_ident(a, pt->source_table));
    char *exists = NULL;
    const char *p1[] = {t->q_source};
    sl_err e = db_query_value(src, a, eb, &exists, "SELECT to_regclass($1)::oid::text", 1, p1);
    if (e != SL_OK)
        return e;
    if (!exists)
        return sl_fail(eb, SL_ENOTFOUND, "source table %s.%s does not exist", pt->schema,
                       pt->source_table);
    PGresult *r;
    e = db_query(src, a, eb, &r, Q_COLUMNS, 1, p1);
    if (e != SL_OK)
        return e;
    int n = PQntuples(r);
    if (n == 0)
        return sl_fail(eb, SL_EUNSUPPORTED, "source table %s.%s has no columns", pt->schema,
                       pt->source_table);
    t->ncols = n;
    t->cols = arena_calloc(a, (size_t)n, sizeof *t->cols);
    t->pk = arena_calloc(a, (size_t)n, sizeof *t->pk);
    t->npk = 0;
    for (int i = 0; i < n; i++) {
        ts_column *c = &t->cols[i];
        c->name = arena_strdup(a, PQgetvalue(r, i, 0));
        c->src_type = arena_strdup(a, PQgetvalue(r, i, 1));
        c->notnull = strcmp(PQgetvalue(r, i, 2), "t") == 0;
        c->dest_type = arena_strdup(a, PQgetvalue(r, i, 3));
        c->kind = kind_of(PQgetvalue(r, i, 4), strcmp(PQgetvalue(r, i, 5), "t") == 0);
        c->pk = (int)strtol(PQgetvalue(r, i, 6), NULL, 10);
        if (c->pk > 0)
            t->npk++;
    }
    for (int i = 0; i < n; i++)
        if (t->cols[i].pk > 0 && t->cols[i].pk <= t->npk)
            t->pk[t->cols[i].pk - 1] = i;
    char *est = NULL;
    t->est_rows = -1;
    if (db_query_value(src, a, eb, &est, Q_ESTIMATE, 1, p1) == SL_OK && est) {
        double v = strtod(est, NULL);
        t->est_rows = v < 0 ? -1 : (long long)(v + 0.5);
    }
    return SL_OK;
}

sl_err pgx_max_watermark(db *src, arena *a, const tsync *t, char **out, sl_errbuf *eb)
{
    *out = NULL;
    const char *sql = arena_printf(a, "SELECT max(%s)::text FROM %s",
                                   db_quote_ident(a, t->cols[t->wm].name), t->q_source);
    return db_query_value(src, a, eb, out, sql, 0, NULL);
}

const char *pgx_where(arena *a, const tsync *t, const char *from)
{
    if (!from || t->wm < 0)
        return "";
    const char *col = db_quote_ident(a, t->cols[t->wm].name);
    const char *lit = db_quote_literal(a, from);
    const char *type = t->cols[t->wm].dest_type;
    /* a NOT NULL column needs no IS NULL arm (which would cost the plan
     * its plain ordered index range scan) */
    const char *nulls = t->cols[t->wm].notnull ? "" : arena_printf(a, " OR %s IS NULL", col);
    if (t->wm_temporal && t->pt->lookback_seconds > 0)
        return arena_printf(a, " WHERE (%s >= %s::%s - interval '%ld seconds'%s)", col, lit,
                            type, t->pt->lookback_seconds, nulls);
    return arena_printf(a, " WHERE (%s >= %s::%s%s)", col, lit, type, nulls);
}

/* rows: the planner's estimate from EXPLAIN (FORMAT JSON), or -1. */
static long long explain_rows(db *src, arena *a, const char *select)
{
    char *plan = NULL;
    sl_errbuf ignore;
    if (db_query_value(src, a, &ignore, &plan, arena_printf(a, "EXPLAIN (FORMAT JSON) %s",
                                                            select), 0, NULL) != SL_OK || !plan)
        return -1;
    const char *p = strstr(plan, "\"Plan Rows\":");
    return p ? strtoll(p + 12, NULL, 10) : -1;
}

long long pgx_estimate(db *src, arena *a, const tsync *t, const char *where)
{
    long long est = t->est_rows;
    if (est < 0 || (*where && est >= EXACT_COUNT_BELOW)) {
        /* a big table's slice (or an unknown size): the planner's guess */
        long long plan = explain_rows(src, a, arena_printf(a, "SELECT 1 FROM %s%s",
                                                           t->q_source, where));
        if (plan >= EXACT_COUNT_BELOW || est >= EXACT_COUNT_BELOW)
            return plan;
    } else if (est >= EXACT_COUNT_BELOW) {
        return est;
    }
    char *count = NULL;
    sl_errbuf ignore;
    if (db_query_value(src, a, &ignore, &count,
                       arena_printf(a, "SELECT count(*) FROM %s%s", t->q_source, where), 0,
                       NULL) != SL_OK || !count)
        return est;
    return strtoll(count, NULL, 10);
}

const char *pgx_copy_sql(arena *a, const tsync *t, const char *where, int ordered)
{
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    sb_puts(&b, "COPY (SELECT ");
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            sb_puts(&b, ", ");
        sb_puts(&b, db_quote_ident(a, t->cols[i].name));
    }
    sb_printf(&b, " FROM %s%s", t->q_source, where);
    if (ordered && t->wm >= 0)
        sb_printf(&b, " ORDER BY %s", db_quote_ident(a, t->cols[t->wm].name));
    sb_puts(&b, ") TO STDOUT");
    return sb_str(&b);
}
