/* partitions.c - the partitions page (GET /partitions), its JSON twin (GET
 * /api/v1/partitions) and "run maintenance now" (GET /partitions/run, a
 * confirmation listing what is due; POST /partitions/run and POST
 * /api/v1/admin/partitions/run, admins, audited).
 *
 * Every table of sluice.partitioned_tables is shown with its settings, the
 * last maintenance result, what is due now (sluice.partition_plan), its
 * default partition (rows counted up to DEFAULT_CAP, flagged when not zero:
 * they sit in ranges without a partition) and its partitions newest first
 * (the sluice.partitions view: range as UTC times, the planner's row
 * estimate, size). The page lists PAGE_SIZE partitions per table; ?table=T
 * shows one table with ?page=N. The API lists tables with the common
 * paging convention (?limit=, ?cursor= over table names), each with all of
 * its partitions. Running maintenance here is pm_run (app/core/partman.h)
 * on the worker's connection with a time budget: what does not fit waits
 * for the next tick. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "form.h"
#include "handlers.h"
#include "page.h"
#include "params.h"
#include "partman.h"
#include "worker.h"

#define PAGE_SIZE 50
#define DEFAULT_CAP "100000"   /* rows of a default partition counted at most */
#define RUN_BUDGET_SECONDS 20  /* a web request starts no action after this long */
#define TABLE_MAX 300          /* bytes of a ?table= value */

#define ISO(col)                                                                             \
    "CASE WHEN isfinite(" col ") THEN to_char(" col " AT TIME ZONE 'UTC',"                   \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ELSE " col "::text END"
#define SHOWN(col)                                                                           \
    "CASE WHEN isfinite(" col ") THEN to_char(" col " AT TIME ZONE 'UTC',"                   \
    " 'YYYY-MM-DD HH24:MI') ELSE " col "::text END"

/* Registered tables: $1 only this one (NULL: all), $2 after this name (API
 * cursor), $3 at most this many. */
#define TABLES_SQL                                                                           \
    "SELECT t.table_name, t.width, t.premake, t.retention::text, t.retention_setting,"       \
    " sluice.partition_retention(t)::text, t.archive, t.archive_schema, t.batch_rows,"        \
    " " ISO("t.last_run_at") ", t.last_result, t.last_error,"                                \
    " to_regclass(t.table_name) IS NOT NULL,"                                                \
    " (SELECT pt.partdefid::regclass::text FROM pg_partitioned_table pt"                     \
    "  WHERE pt.partrelid = to_regclass(t.table_name) AND pt.partdefid <> 0),"               \
    " sluice.partition_default_rows(to_regclass(t.table_name), " DEFAULT_CAP "),"            \
    " (SELECT count(*) FROM sluice.partitions p"                                             \
    "  WHERE p.table_name = t.table_name AND NOT p.is_default),"                             \
    " (SELECT coalesce(sum(p.size_bytes), 0) FROM sluice.partitions p"                       \
    "  WHERE p.table_name = t.table_name),"                                                  \
    " (SELECT pg_size_pretty(coalesce(sum(p.size_bytes), 0)) FROM sluice.partitions p"       \
    "  WHERE p.table_name = t.table_name),"                                                  \
    " (SELECT p.est_rows FROM sluice.partitions p"                                           \
    "  WHERE p.table_name = t.table_name AND p.is_default),"                                 \
    " (SELECT p.size_bytes FROM sluice.partitions p"                                         \
    "  WHERE p.table_name = t.table_name AND p.is_default),"                                 \
    " (SELECT pg_size_pretty(p.size_bytes) FROM sluice.partitions p"                         \
    "  WHERE p.table_name = t.table_name AND p.is_default)"                                  \
    " FROM sluice.partitioned_tables t"                                                      \
    " WHERE ($1::text IS NULL OR t.table_name = $1) AND ($2::text IS NULL OR t.table_name > $2)" \
    " ORDER BY t.table_name LIMIT $3::int"
enum { T_NAME, T_WIDTH, T_PREMAKE, T_RETENTION, T_RSETTING, T_EFFECTIVE, T_ARCHIVE,
       T_ASCHEMA, T_BATCH, T_LAST_AT, T_LAST_RESULT, T_LAST_ERROR, T_EXISTS, T_DEFAULT,
       T_DEFAULT_ROWS, T_COUNT, T_SIZE, T_SIZE_SHOWN, T_DEFAULT_EST, T_DEFAULT_SIZE,
       T_DEFAULT_SIZE_SHOWN };

/* The non-default partitions of $1, newest first; $2 limit, $3 offset. */
#define PARTS_SQL                                                                            \
    "SELECT p.partition, p.from_id::text, p.to_id::text, " ISO("p.from_ts") ", "             \
    ISO("p.to_ts") ", " SHOWN("p.from_ts") ", " SHOWN("p.to_ts") ", p.est_rows,"             \
    " p.size_bytes, pg_size_pretty(p.size_bytes),"                                           \
    " p.from_id <= sluice.partition_id_for_ts(now())"                                        \
    " AND sluice.partition_id_for_ts(now()) < p.to_id"                                       \
    " FROM sluice.partitions p WHERE p.table_name = $1 AND NOT p.is_default"                 \
    " ORDER BY p.from_id DESC LIMIT $2::int OFFSET $3::int"
enum { P_NAME, P_FROM_ID, P_TO_ID, P_FROM, P_TO, P_FROM_SHOWN, P_TO_SHOWN, P_EST, P_SIZE,
       P_SIZE_SHOWN, P_CURRENT };

#define PLAN_SQL                                                                             \
    "SELECT table_name, action, partition, " ISO("from_ts") ", " ISO("to_ts") ", "           \
    SHOWN("from_ts") ", " SHOWN("to_ts") ", detail FROM sluice.partition_plan(now(), $1)"

static const char *val(PGresult *res, int i, int c)
{
    return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *int_or_null(PGresult *res, int i, int c)
{
    return PQgetisnull(res, i, c) ? json_null()
                                  : json_integer(strtoll(PQgetvalue(res, i, c), NULL, 10));
}

static int is_true(PGresult *res, int i, int c)
{
    return !PQgetisnull(res, i, c) && strcmp(PQgetvalue(res, i, c), "t") == 0;
}

static const char *grouped(arena *a, const char *n)
{
    char g[32];
    pm_group(g, sizeof g, n ? strtoll(n, NULL, 10) : 0);
    return arena_strdup(a, g);
}

/* What is due for table (NULL: every table, each item then names its
 * table) now (sluice.partition_plan), as JSON for the API (page = 0) or
 * the page (page = 1). */
static sl_err due_json(request *r, const char *table, int page, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res, PLAN_SQL, 1, (const char *[]){table});
    if (e)
        return e;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *o = json_object();
        if (!table)
            json_object_set_new(o, "table", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(o, "action", json_string(PQgetvalue(res, i, 1)));
        json_object_set_new(o, "partition", str_or_null(val(res, i, 2)));
        json_object_set_new(o, "from", str_or_null(val(res, i, page ? 5 : 3)));
        json_object_set_new(o, "to", str_or_null(val(res, i, page ? 6 : 4)));
        json_object_set_new(o, "detail", str_or_null(val(res, i, 7)));
        if (page)
            json_object_set_new(o, "is_error",
                                json_boolean(strcmp(PQgetvalue(res, i, 1), "error") == 0));
        json_array_append_new(list, o);
    }
    *out = list;
    return SL_OK;
}

/* The partitions of table (limit, offset), for the API or the page. */
static sl_err parts_json(request *r, const char *table, long long limit, long long offset,
                         int page, json_t **out, sl_errbuf *eb)
{
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%lld", limit);
    snprintf(off, sizeof off, "%lld", offset);
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res, PARTS_SQL, 3, (const char *[]){table, lim, off});
    if (e)
        return e;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *o = json_object();
        json_object_set_new(o, "partition", json_string(PQgetvalue(res, i, P_NAME)));
        if (page) {
            json_object_set_new(o, "from", json_string(PQgetvalue(res, i, P_FROM_SHOWN)));
            json_object_set_new(o, "to", json_string(PQgetvalue(res, i, P_TO_SHOWN)));
            json_object_set_new(o, "from_iso", json_string(PQgetvalue(res, i, P_FROM)));
            json_object_set_new(o, "est_rows",
                                json_string(PQgetisnull(res, i, P_EST)
                                                ? "–"
                                                : grouped(r->a, val(res, i, P_EST))));
            json_object_set_new(o, "size", json_string(PQgetvalue(res, i, P_SIZE_SHOWN)));
        } else {
            json_object_set_new(o, "from_id", json_string(PQgetvalue(res, i, P_FROM_ID)));
            json_object_set_new(o, "to_id", json_string(PQgetvalue(res, i, P_TO_ID)));
            json_object_set_new(o, "from", json_string(PQgetvalue(res, i, P_FROM)));
            json_object_set_new(o, "to", json_string(PQgetvalue(res, i, P_TO)));
            json_object_set_new(o, "est_rows", int_or_null(res, i, P_EST));
            json_object_set_new(o, "size_bytes", int_or_null(res, i, P_SIZE));
        }
        json_object_set_new(o, "current", json_boolean(is_true(res, i, P_CURRENT)));
        json_array_append_new(list, o);
    }
    *out = list;
    return SL_OK;
}

/* One registered table (row i of a TABLES_SQL result) for the API. */
static sl_err api_table(request *r, PGresult *t, int i, json_t **out, sl_errbuf *eb)
{
    const char *name = PQgetvalue(t, i, T_NAME);
    json_t *parts = NULL, *due = NULL;
    sl_err e = parts_json(r, name, 1000000, 0, 0, &parts, eb);
    if (!e)
        e = due_json(r, name, 0, &due, eb);
    if (e) {
        json_decref(parts);
        return e;
    }
    json_t *o = json_object();
    json_object_set_new(o, "table", json_string(name));
    json_object_set_new(o, "exists", json_boolean(is_true(t, i, T_EXISTS)));
    json_object_set_new(o, "width", json_string(PQgetvalue(t, i, T_WIDTH)));
    json_object_set_new(o, "premake", int_or_null(t, i, T_PREMAKE));
    json_object_set_new(o, "retention", str_or_null(val(t, i, T_RETENTION)));
    json_object_set_new(o, "retention_setting", str_or_null(val(t, i, T_RSETTING)));
    json_object_set_new(o, "effective_retention", str_or_null(val(t, i, T_EFFECTIVE)));
    json_object_set_new(o, "archive", json_boolean(is_true(t, i, T_ARCHIVE)));
    json_object_set_new(o, "archive_schema", json_string(PQgetvalue(t, i, T_ASCHEMA)));
    json_object_set_new(o, "batch_rows", int_or_null(t, i, T_BATCH));
    json_object_set_new(o, "last_run_at", str_or_null(val(t, i, T_LAST_AT)));
    json_object_set_new(o, "last_result", str_or_null(val(t, i, T_LAST_RESULT)));
    json_object_set_new(o, "last_error", str_or_null(val(t, i, T_LAST_ERROR)));
    json_t *def = json_null();
    if (!PQgetisnull(t, i, T_DEFAULT)) {
        long long rows = strtoll(PQgetvalue(t, i, T_DEFAULT_ROWS), NULL, 10);
        long long cap = strtoll(DEFAULT_CAP, NULL, 10);
        def = json_object();
        json_object_set_new(def, "partition", json_string(PQgetvalue(t, i, T_DEFAULT)));
        json_object_set_new(def, "rows", json_integer(rows > cap ? cap : rows));
        json_object_set_new(def, "rows_capped", json_boolean(rows > cap));
        json_object_set_new(def, "est_rows", int_or_null(t, i, T_DEFAULT_EST));
        json_object_set_new(def, "size_bytes", int_or_null(t, i, T_DEFAULT_SIZE));
    }
    json_object_set_new(o, "default_partition", def);
    json_object_set_new(o, "partitions_count", int_or_null(t, i, T_COUNT));
    json_object_set_new(o, "size_bytes", int_or_null(t, i, T_SIZE));
    json_object_set_new(o, "partitions", parts);
    json_object_set_new(o, "due", due);
    *out = o;
    return SL_OK;
}

/* One registered table for the page, with up to PAGE_SIZE partitions from
 * offset; more is set when there are more. */
static sl_err page_table(request *r, PGresult *t, int i, long long offset, int *more,
                         json_t **out, sl_errbuf *eb)
{
    const char *name = PQgetvalue(t, i, T_NAME);
    json_t *parts = NULL, *due = NULL;
    sl_err e = parts_json(r, name, PAGE_SIZE + 1, offset, 1, &parts, eb);
    if (!e)
        e = due_json(r, name, 1, &due, eb);
    if (e) {
        json_decref(parts);
        return e;
    }
    *more = json_array_size(parts) > PAGE_SIZE;
    if (*more)
        json_array_remove(parts, PAGE_SIZE);
    json_t *o = json_object();
    json_object_set_new(o, "table", json_string(name));
    json_object_set_new(o, "link", json_string(arena_printf(
                                       r->a, "/partitions?table=%s",
                                       params_urlencode(r->a, name))));
    json_object_set_new(o, "exists", json_boolean(is_true(t, i, T_EXISTS)));
    json_object_set_new(o, "width", json_string(PQgetvalue(t, i, T_WIDTH)));
    json_object_set_new(o, "premake", json_string(PQgetvalue(t, i, T_PREMAKE)));
    const char *eff = val(t, i, T_EFFECTIVE);
    const char *rset = val(t, i, T_RSETTING);
    const char *ret = eff ? eff : "keep everything";
    if (!val(t, i, T_RETENTION) && rset)
        ret = arena_printf(r->a, "%s (setting retention.%s)", eff ? eff : "keep everything",
                           rset);
    json_object_set_new(o, "retention", json_string(ret));
    json_object_set_new(o, "archive", json_boolean(is_true(t, i, T_ARCHIVE)));
    json_object_set_new(o, "archive_schema", json_string(PQgetvalue(t, i, T_ASCHEMA)));
    json_object_set_new(o, "last_run_at", str_or_null(val(t, i, T_LAST_AT)));
    json_object_set_new(o, "last_run_shown",
                        val(t, i, T_LAST_AT)
                            ? json_string(arena_printf(r->a, "%.10s %.5s",
                                                       PQgetvalue(t, i, T_LAST_AT),
                                                       PQgetvalue(t, i, T_LAST_AT) + 11))
                            : json_null());
    json_object_set_new(o, "last_result", str_or_null(val(t, i, T_LAST_RESULT)));
    json_object_set_new(o, "last_error", str_or_null(val(t, i, T_LAST_ERROR)));
    if (!PQgetisnull(t, i, T_DEFAULT)) {
        long long rows = strtoll(PQgetvalue(t, i, T_DEFAULT_ROWS), NULL, 10);
        long long cap = strtoll(DEFAULT_CAP, NULL, 10);
        json_t *def = json_object();
        char g[32];
        pm_group(g, sizeof g, rows > cap ? cap : rows);
        json_object_set_new(def, "partition", json_string(PQgetvalue(t, i, T_DEFAULT)));
        json_object_set_new(def, "rows",
                            json_string(arena_printf(r->a, "%s%s row%s",
                                                     rows > cap ? "more than " : "", g,
                                                     rows == 1 ? "" : "s")));
        json_object_set_new(def, "has_rows", json_boolean(rows > 0));
        json_object_set_new(def, "size", json_string(PQgetvalue(t, i, T_DEFAULT_SIZE_SHOWN)));
        json_object_set_new(o, "default", def);
    }
    json_object_set_new(o, "partitions_count", json_string(grouped(r->a,
                                                                   val(t, i, T_COUNT))));
    json_object_set_new(o, "size", json_string(PQgetvalue(t, i, T_SIZE_SHOWN)));
    json_object_set_new(o, "has_partitions", json_boolean(json_array_size(parts) > 0));
    json_object_set_new(o, "partitions", parts);
    json_object_set_new(o, "has_due", json_boolean(json_array_size(due) > 0));
    json_object_set_new(o, "due", due);
    *out = o;
    return SL_OK;
}

/* ?table= checked: NULL when absent (errors.table when it is malformed). */
static const char *table_param(request *r, json_t *errors)
{
    const char *t = params_query(r, "table", errors);
    if (!t)
        return NULL;
    if (!*t || strlen(t) > TABLE_MAX || params_utf8_len(t) < 0 || params_has_control(t)) {
        page_field_error(errors, "table", "must be a registered table name");
        return NULL;
    }
    return t;
}

void h_partitions_page(request *r)
{
    static const char *const declared[] = {"table", "page", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    const char *table = table_param(r, errors);
    long long pageno = 1;
    const char *ps = params_query(r, "page", errors);
    if (ps && (!table || !params_int(ps, 1, 1000000, &pageno)))
        page_field_error(errors, "page", table ? "must be a page number (1, 2, ...)"
                                               : "goes with table=");
    if (json_object_size(errors) > 0) {
        json_decref(errors);
        http_error(r, 400, "invalid query parameters: use /partitions, or "
                           "/partitions?table=T&page=N");
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *t;
    sl_err e = db_query(r->db, r->a, &eb, &t, TABLES_SQL, 3,
                        (const char *[]){table, NULL, "1000"});
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (table && PQntuples(t) == 0) {
        http_error(r, 404, "no such registered table");
        return;
    }
    json_t *tables = json_array();
    for (int i = 0; i < PQntuples(t); i++) {
        json_t *o = NULL;
        int more = 0;
        e = page_table(r, t, i, (pageno - 1) * PAGE_SIZE, &more, &o, &eb);
        if (e) {
            json_decref(tables);
            web_db_error(r, e, &eb);
            return;
        }
        if (table) {
            json_t *pager = json_object();
            const char *enc = params_urlencode(r->a, table);
            if (pageno > 1)
                json_object_set_new(pager, "newer", json_string(arena_printf(
                                                        r->a, "/partitions?table=%s&page=%lld",
                                                        enc, pageno - 1)));
            if (more)
                json_object_set_new(pager, "older", json_string(arena_printf(
                                                        r->a, "/partitions?table=%s&page=%lld",
                                                        enc, pageno + 1)));
            json_object_set_new(o, "pager", pager);
        } else if (more) {
            json_object_set_new(o, "see_all", json_true());
        }
        json_array_append_new(tables, o);
    }
    json_t *ctx = page_ctx(r, table ? arena_printf(r->a, "Partitions of %s", table)
                                    : "Partitions",
                           "partitions");
    json_object_set_new(ctx, "one_table", json_boolean(table != NULL));
    json_object_set_new(ctx, "has_tables", json_boolean(json_array_size(tables) > 0));
    json_object_set_new(ctx, "tables", tables);
    json_object_set_new(ctx, "can_run", json_boolean(r->role >= ROLE_ADMIN));
    page_render(r, 200, "partitions/list", ctx);
}

void h_api_partitions(request *r)
{
    static const char *const declared[] = {"table", "limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    const char *table = table_param(r, errors);
    const char *after = NULL;
    long long limit = PARAMS_LIMIT_DEFAULT;
    params_page(r, 1, NULL, &after, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", limit + 1);
    sl_errbuf eb = {0};
    PGresult *t;
    sl_err e = db_query(r->db, r->a, &eb, &t, TABLES_SQL, 3, (const char *[]){table, after, lim});
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *items = json_array();
    int n = PQntuples(t);
    for (int i = 0; i < n && i < limit; i++) {
        json_t *o = NULL;
        e = api_table(r, t, i, &o, &eb);
        if (e) {
            json_decref(items);
            web_db_error(r, e, &eb);
            return;
        }
        json_array_append_new(items, o);
    }
    const char *next = NULL;
    if (n > limit)
        next = params_cursor_make(r->a, 1, (const char *[]){PQgetvalue(t, (int)limit - 1,
                                                                       T_NAME)});
    http_send_json(r, 200, params_page_json(items, next));
}

/* --- running maintenance -------------------------------------------------------------- */

static void collect(void *arg, const pm_event *ev)
{
    json_t *o = json_object();
    json_object_set_new(o, "table", json_string(ev->table));
    json_object_set_new(o, "action", json_string(ev->action));
    json_object_set_new(o, "partition", str_or_null(ev->partition));
    json_object_set_new(o, "detail", str_or_null(ev->detail));
    json_object_set_new(o, "outcome", json_string(ev->outcome));
    json_object_set_new(o, "rows_moved", json_integer(ev->rows_moved));
    json_object_set_new(o, "error", str_or_null(ev->error));
    json_array_append_new((json_t *)arg, o);
}

static json_t *summary_json(const pm_summary *s)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:I, s:i, s:i, s:i}", "tables", s->tables,
                     "created", s->created, "dropped", s->dropped, "archived", s->archived,
                     "rows_moved", (json_int_t)s->rows_moved, "busy", s->busy, "failed",
                     s->failed, "partial", s->partial);
}

/* Run maintenance now for r; *actions gets what was tried (the caller owns
 * it). Audited as partitions.run. */
static sl_err run_now(request *r, pm_summary *s, json_t **actions, sl_errbuf *eb)
{
    json_t *list = json_array();
    pm_opts o = {.record_idle = 1, .budget_seconds = RUN_BUDGET_SECONDS, .report = collect,
                 .arg = list};
    sl_err e = pm_run(r->db, &o, s, eb);
    if (e) {
        json_decref(list);
        return e;
    }
    json_t *details = summary_json(s);
    audit_write(r, "partitions.run", "partitions", NULL, details, NULL);
    json_decref(details);
    *actions = list;
    return SL_OK;
}

void h_partitions_run_form(request *r)
{
    sl_errbuf eb = {0};
    json_t *due = NULL;
    sl_err e = due_json(r, NULL, 1, &due, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *ctx = page_ctx(r, "Run partition maintenance", "partitions");
    json_object_set_new(ctx, "has_due", json_boolean(json_array_size(due) > 0));
    json_object_set_new(ctx, "due", due);
    page_render(r, 200, "partitions/run", ctx);
}

void h_partitions_run(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    pm_summary s;
    json_t *actions = NULL;
    sl_err e = run_now(r, &s, &actions, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_decref(actions);
    char rows[32];
    pm_group(rows, sizeof rows, s.rows_moved);
    const char *msg = arena_printf(r->a, "Maintenance done: %d partition%s created (%s row%s "
                                         "moved out of default partitions), %d dropped, %d "
                                         "archived.",
                                   s.created, s.created == 1 ? "" : "s", rows,
                                   s.rows_moved == 1 ? "" : "s", s.dropped, s.archived);
    if (s.busy || s.failed || s.partial) {
        page_flash(r, s.failed ? "error" : "info",
                   arena_printf(r->a, "%s %d table%s busy or out of time (the next tick goes "
                                      "on), %d failed: see below.",
                                msg, s.busy + s.partial, s.busy + s.partial == 1 ? "" : "s",
                                s.failed));
        http_redirect(r, 303, "/partitions");
        return;
    }
    page_done(r, "/partitions", msg);
}

void h_api_partitions_run(request *r)
{
    sl_errbuf eb = {0};
    pm_summary s;
    json_t *actions = NULL;
    sl_err e = run_now(r, &s, &actions, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *out = summary_json(&s);
    json_object_set_new(out, "actions", actions);
    http_send_json(r, 200, out);
}
