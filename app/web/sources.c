/* sources.c - the databases sluice copies from: console pages (list, new,
 * detail, edit, delete, test connection, discover) and the JSON API under
 * /api/v1/sources.
 *
 * The connection fields and password rules are connform.c's; this file adds
 * what only sources have: the PostgreSQL schema include list, table filters
 * (globs, '!' excludes) and the sync method, and discovery (list_tables,
 * then the filters, then the watermark each table would get). Every change
 * runs in one transaction with its audit row. A source that pipelines use
 * cannot be deleted (the foreign key is RESTRICT; we say so first).
 * Everything lives in the request arena. */
#include <stdlib.h>
#include <string.h>

#include "connform.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "worker.h"

#define SCHEMAS_MAX 100
#define FILTERS_MAX 200
#define PATTERN_MAX 200   /* bytes */
#define SCHEMA_NAME_MAX 63 /* bytes, PostgreSQL's NAMEDATALEN - 1 */

static const char *const source_types[] = {"postgresql", "mysql", "mariadb", NULL};

static const conn_kind K = {
    "sluice.sources", "source", "Source", "/sources", source_types,
    "PostgreSQL, MySQL or MariaDB", 1, "source_id",
};

#define SOURCE_COLS                                                                          \
    CONN_COLS ", array_to_json(schema_include)::text, array_to_json(table_filters)::text,"  \
              " sync_method"
enum { SC_SCHEMAS = CC_NCOLS, SC_FILTERS, SC_SYNC };

static const struct {
    const char *value, *label;
} sync_methods[] = {
    {"auto", "auto: incremental where a watermark column exists, else full refresh"},
    {"incremental", "incremental: only tables with a watermark column"},
    {"full_refresh", "full refresh: copy every table whole each run"},
};
#define NSYNC (sizeof sync_methods / sizeof sync_methods[0])

static const char *const api_fields[] = {"name", "type", "host", "port", "database", "user",
                                         "password", "ssl_mode", "schema_include",
                                         "table_filters", "sync_method", NULL};
static const char *const api_readonly[] = {"id", "has_password", "status", "last_tested_at",
                                           "last_test_ms", "last_error", "server_version",
                                           "created_at", "updated_at", NULL};

/* A source as forms and bodies describe it. */
typedef struct {
    conn_fields c;
    json_t *schemas;           /* array of strings (owned by the arena) */
    json_t *filters;           /* array of strings */
    const char *sync_method;
    const char *schemas_text;  /* as typed or as stored, for the form */
    const char *filters_text;
} source_fields;

/* --- fields -------------------------------------------------------------------------- */

static json_t *list_json(request *r, const char **items, int n)
{
    json_t *a = jsonx_own(r->a, json_array());
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

/* The items of a JSON array of strings joined by sep, in the arena. */
static const char *join(request *r, const json_t *arr, const char *sep)
{
    const char *s = "";
    for (size_t i = 0; i < json_array_size(arr); i++)
        s = arena_printf(r->a, "%s%s%s", s, i ? sep : "",
                         json_string_value(json_array_get(arr, i)));
    return s;
}

static void defaults(source_fields *f)
{
    memset(f, 0, sizeof *f);
    f->c.name = f->c.type = f->c.host = f->c.database = f->c.user = f->c.port_text = "";
    f->c.ssl_mode = "prefer";
    f->c.pw = CONN_PW_CLEAR;
    f->sync_method = "auto";
    f->schemas_text = f->filters_text = "";
}

static void from_form(request *r, source_fields *f, int editing)
{
    conn_fields_from_form(r, &f->c, editing);
    int n;
    f->schemas_text = form_str(r, "schema_include");
    f->filters_text = form_str(r, "table_filters");
    const char **items = conn_split_list(r->a, f->schemas_text, &n);
    f->schemas = list_json(r, items, n);
    items = conn_split_list(r->a, f->filters_text, &n);
    f->filters = list_json(r, items, n);
    f->sync_method = form_str(r, "sync_method");
    if (!*f->sync_method)
        f->sync_method = "auto";
}

static void from_row(request *r, source_fields *f, PGresult *res)
{
    defaults(f);
    conn_fields_from_row(&f->c, res);
    f->schemas = jsonx_own(r->a, conn_json_array_col(res, 0, SC_SCHEMAS));
    f->filters = jsonx_own(r->a, conn_json_array_col(res, 0, SC_FILTERS));
    f->sync_method = PQgetvalue(res, 0, SC_SYNC);
    f->schemas_text = join(r, f->schemas, ", ");
    f->filters_text = join(r, f->filters, "\n");
}

/* body[key]: an array of strings (null: empty) into *dst. */
static void json_list(request *r, const json_t *body, const char *key, json_t **dst,
                      json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (json_is_null(v)) {
        *dst = jsonx_own(r->a, json_array());
        return;
    }
    size_t i;
    json_t *item;
    int ok = json_is_array(v);
    json_array_foreach(v, i, item) ok &= json_is_string(item);
    if (!ok) {
        page_field_error(errors, key, "must be an array of strings");
        return;
    }
    json_t *out = jsonx_own(r->a, json_array());
    json_array_foreach(v, i, item) {
        const char *s = params_trim(r->a, json_string_value(item));
        int dup = 0;
        for (size_t j = 0; j < json_array_size(out); j++)
            dup |= strcmp(json_string_value(json_array_get(out, j)), s) == 0;
        if (!dup)
            json_array_append_new(out, json_string(s));
    }
    *dst = out;
}

static void from_json(request *r, const json_t *body, source_fields *f, json_t *errors)
{
    conn_fields_from_json(r, body, &f->c, errors);
    json_list(r, body, "schema_include", &f->schemas, errors);
    json_list(r, body, "table_filters", &f->filters, errors);
    json_t *v = json_object_get(body, "sync_method");
    if (v && !json_is_string(v))
        page_field_error(errors, "sync_method", "must be a string");
    else if (v)
        f->sync_method = json_string_value(v);
}

/* "" when pattern is a usable glob, else what is wrong with it. */
static const char *pattern_problem(const char *p)
{
    const char *g = p[0] == '!' ? p + 1 : p;
    if (!*g)
        return "a lone '!' excludes nothing; write !pattern";
    if (strlen(p) > PATTERN_MAX)
        return "is longer than 200 bytes";
    if (params_utf8_len(p) < 0 || params_has_control(p))
        return "must be text without control characters";
    for (const char *s = g; *s; s++) {
        if (*s == '!' && s != g)
            continue;
        if (*s == '[') {
            const char *close = strchr(s + 2, ']');
            if (!s[1] || !close)
                return "has a '[' without a closing ']'";
            s = close;
        }
    }
    return "";
}

static void check(request *r, source_fields *f, json_t *errors)
{
    conn_fields_check(r, &K, &f->c, errors);
    size_t n = json_array_size(f->schemas);
    if (n > 0 && strcmp(f->c.type, "postgresql") == 0) {
        if (n > SCHEMAS_MAX)
            page_field_error(errors, "schema_include", "list at most 100 schemas");
        for (size_t i = 0; i < n; i++) {
            const char *s = json_string_value(json_array_get(f->schemas, i));
            if (!*s || strlen(s) > SCHEMA_NAME_MAX || params_utf8_len(s) < 0 ||
                params_has_control(s))
                page_field_error(errors, "schema_include",
                                 arena_printf(r->a, "\"%s\" is not a schema name (1 to 63 bytes)",
                                              params_utf8_len(s) < 0 ? "?" : s));
        }
    } else if (n > 0 && *f->c.type) {
        page_field_error(errors, "schema_include",
                         "only PostgreSQL sources have schemas; for MySQL and MariaDB the "
                         "database is the schema, so leave this empty");
    }
    n = json_array_size(f->filters);
    if (n > FILTERS_MAX)
        page_field_error(errors, "table_filters", "list at most 200 patterns");
    for (size_t i = 0; i < n; i++) {
        const char *p = json_string_value(json_array_get(f->filters, i));
        const char *why = pattern_problem(p);
        if (*why)
            page_field_error(errors, "table_filters",
                             arena_printf(r->a, "pattern \"%s\" %s",
                                          params_utf8_len(p) < 0 ? "?" : p, why));
    }
    int ok = 0;
    for (size_t i = 0; i < NSYNC; i++)
        ok |= strcmp(f->sync_method, sync_methods[i].value) == 0;
    if (!ok)
        page_field_error(errors, "sync_method", "choose auto, incremental or full_refresh");
}

/* --- views --------------------------------------------------------------------------- */

static json_t *sync_options(const char *current)
{
    json_t *list = json_array();
    for (size_t i = 0; i < NSYNC; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "value", sync_methods[i].value,
                                              "label", sync_methods[i].label, "selected",
                                              strcmp(sync_methods[i].value, current) == 0));
    return list;
}

static json_t *api_row(request *r, PGresult *res, int i)
{
    json_t *o = conn_api_json(res, i);
    json_object_set_new(o, "schema_include", conn_json_array_col(res, i, SC_SCHEMAS));
    json_object_set_new(o, "table_filters", conn_json_array_col(res, i, SC_FILTERS));
    json_object_set_new(o, "sync_method", json_string(PQgetvalue(res, i, SC_SYNC)));
    return o;
}

static json_t *page_row(request *r, PGresult *res, int i)
{
    json_t *o = conn_page_json(r, res, i);
    json_t *schemas = jsonx_own(r->a, conn_json_array_col(res, i, SC_SCHEMAS));
    json_t *filters = jsonx_own(r->a, conn_json_array_col(res, i, SC_FILTERS));
    json_object_set(o, "schema_include", schemas);
    json_object_set(o, "table_filters", filters);
    json_object_set_new(o, "has_schemas", json_boolean(json_array_size(schemas) > 0));
    json_object_set_new(o, "has_filters", json_boolean(json_array_size(filters) > 0));
    json_object_set_new(o, "is_postgresql",
                        json_boolean(strcmp(PQgetvalue(res, i, CC_TYPE), "postgresql") == 0));
    json_object_set_new(o, "sync_method", json_string(PQgetvalue(res, i, SC_SYNC)));
    return o;
}

static const conn_view V = {&K, SOURCE_COLS, "Sources", "sources", "s", page_row, api_row};

/* The new/edit form. id: NULL for new. errors is stolen. */
static void form_page(request *r, int status, const char *id, source_fields *f, json_t *errors)
{
    json_t *ctx = page_ctx(r, id ? arena_printf(r->a, "Edit %s", f->c.name) : "New source",
                           "sources");
    json_t *fc = conn_form_ctx(r, &K, &f->c, id != NULL);
    json_object_set_new(fc, "schema_include", json_string(f->schemas_text));
    json_object_set_new(fc, "table_filters", json_string(f->filters_text));
    json_object_set_new(fc, "sync_methods", sync_options(f->sync_method));
    json_object_set_new(ctx, "f", fc);
    json_object_set_new(ctx, "action", json_string(id ? arena_printf(r->a, "/sources/%s", id)
                                                      : "/sources"));
    if (id) {
        json_object_set_new(ctx, "id", json_string(id));
        json_object_set_new(ctx, "heading", json_string(arena_printf(r->a, "Edit %s",
                                                                     f->c.name)));
    }
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    page_render(r, status, "sources/form", ctx);
}

/* --- storing ------------------------------------------------------------------------- */

/* Validate f and store it: insert (old NULL) or update row 0 of old (locked
 * in the open transaction). Returns 0 stored and committed (*id_out set),
 * 1 invalid (errors filled, rolled back, nothing answered), -1 answered. */
static int store(request *r, PGresult *old, source_fields *f, json_t *errors,
                 const char **id_out)
{
    const char *id = old ? PQgetvalue(old, 0, CC_ID) : NULL;
    check(r, f, errors);
    if (!json_object_get(errors, "name")) {
        int taken = conn_name_taken(r, &K, f->c.name, id);
        if (taken < 0) {
            db_rollback(r->db);
            return -1;
        }
        if (taken)
            page_field_error(errors, "name", "a source with this name already exists");
    }
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        return 1;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    const char *port = arena_printf(r->a, "%d", f->c.port);
    const char *sealed = conn_sealed_password(r, &f->c);
    const char *keep = f->c.pw == CONN_PW_KEEP ? "t" : "f";
    const char *schemas = jsonx_dump(r->a, f->schemas), *filters = jsonx_dump(r->a, f->filters);
    sl_err e;
    if (!old)
        e = db_query(r->db, r->a, &eb, &res,
                     "INSERT INTO sluice.sources (name, type, host, port, database, username,"
                     " password_enc, ssl_mode, schema_include, table_filters, sync_method,"
                     " created_by) VALUES ($1, $2, $3, $4::int, $5, $6, $7, $8,"
                     " ARRAY(SELECT json_array_elements_text($9::json)),"
                     " ARRAY(SELECT json_array_elements_text($10::json)), $11, $12::uuid)"
                     " RETURNING id",
                     12,
                     (const char *[]){f->c.name, f->c.type, f->c.host, port, f->c.database,
                                      f->c.user, sealed, f->c.ssl_mode, schemas, filters,
                                      f->sync_method, r->user_id});
    else
        e = db_query(r->db, r->a, &eb, &res,
                     "UPDATE sluice.sources SET name = $1, type = $2, host = $3, port = $4::int,"
                     " database = $5, username = $6,"
                     " password_enc = CASE WHEN $13::boolean THEN password_enc ELSE $7 END,"
                     " ssl_mode = $8,"
                     " schema_include = ARRAY(SELECT json_array_elements_text($9::json)),"
                     " table_filters = ARRAY(SELECT json_array_elements_text($10::json)),"
                     " sync_method = $11, updated_at = now()"
                     " WHERE id = $12::uuid RETURNING id",
                     13,
                     (const char *[]){f->c.name, f->c.type, f->c.host, port, f->c.database,
                                      f->c.user, sealed, f->c.ssl_mode, schemas, filters,
                                      f->sync_method, id, keep});
    if (e == SL_EDB && strcmp(db_sqlstate(r->db), "23505") == 0) {
        db_rollback(r->db);
        page_field_error(errors, "name", "a source with this name already exists");
        return 1;
    }
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    const char *new_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    json_t *d;
    if (!old) {
        d = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:b, s:s, s:O, s:O, s:s}", "name",
                      f->c.name, "type", f->c.type, "host", f->c.host, "port", f->c.port,
                      "database", f->c.database, "user", f->c.user, "has_password",
                      sealed != NULL, "ssl_mode", f->c.ssl_mode, "schema_include", f->schemas,
                      "table_filters", f->filters, "sync_method", f->sync_method);
    } else {
        json_t *ch = json_object();
        source_fields o;
        from_row(r, &o, old);
        conn_change(ch, "name", json_string(o.c.name), json_string(f->c.name));
        conn_change(ch, "type", json_string(o.c.type), json_string(f->c.type));
        conn_change(ch, "host", json_string(o.c.host), json_string(f->c.host));
        conn_change(ch, "port", json_integer(strtol(o.c.port_text, NULL, 10)),
               json_integer(f->c.port));
        conn_change(ch, "database", json_string(o.c.database), json_string(f->c.database));
        conn_change(ch, "user", json_string(o.c.user), json_string(f->c.user));
        conn_change(ch, "ssl_mode", json_string(o.c.ssl_mode), json_string(f->c.ssl_mode));
        conn_change(ch, "schema_include", json_incref(o.schemas), json_incref(f->schemas));
        conn_change(ch, "table_filters", json_incref(o.filters), json_incref(f->filters));
        conn_change(ch, "sync_method", json_string(o.sync_method), json_string(f->sync_method));
        d = json_pack("{s:s, s:o}", "name", f->c.name, "changes", ch);
        if (f->c.pw == CONN_PW_SET)
            json_object_set_new(d, "password", json_string("changed"));
        else if (f->c.pw == CONN_PW_CLEAR && o.c.had_password)
            json_object_set_new(d, "password", json_string("cleared"));
    }
    if (conn_audit(r, &K, old ? "source.update" : "source.create", new_id, d) ||
        conn_commit(r))
        return -1;
    *id_out = new_id;
    return 0;
}

/* Delete source id. 0 deleted (committed; *name set); 1 refused (*why set,
 * rolled back); -1 answered. */
static int delete_source(request *r, const char *id, const char **name, const char **why)
{
    PGresult *res;
    if (conn_begin(r) || conn_load(r, &K, SOURCE_COLS, id, 1, &res) != 1)
        return -1;
    *name = PQgetvalue(res, 0, CC_NAME);
    *why = conn_pipelines_refusal(r, &K, id);
    if (*why && !**why)
        return -1;
    if (*why) {
        db_rollback(r->db);
        return 1;
    }
    return conn_delete_row(r, &K, res,
                           "Pipelines use this source. Delete those pipelines or move them to "
                           "another source first.",
                           NULL, why);
}

/* --- discovery ----------------------------------------------------------------------- */

typedef struct {
    PGresult *row;     /* the source (SOURCE_COLS) */
    conn_table *tables;
    int ntables;       /* all tables found */
    int *keep;         /* per table: selected by the filters */
    int nkept;
} discovery;

/* List the tables of source id and apply its filters. SL_OK with *d
 * filled; SL_ENOTFOUND; SL_EDB/SL_EDBDOWN (database); any other code is
 * the source's problem, with the connector's message in eb. */
static sl_err discover(request *r, const char *id, discovery *d, sl_errbuf *eb)
{
    memset(d, 0, sizeof *d);
    sl_err e = db_query(r->db, r->a, eb, &d->row,
                        "SELECT " SOURCE_COLS " FROM sluice.sources WHERE id = $1", 1,
                        (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(d->row) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no such source");
    conn_params p;
    if ((e = conn_params_for(r, &K, id, &p, eb)) != SL_OK)
        return e;
    const struct connector *c = connector_for(p.type);
    if (!c) {
        const char *why = connector_unsupported_reason(p.type);
        return sl_fail(eb, SL_EUNSUPPORTED, "%s", why ? why : "no connector for this type");
    }
    json_t *schemas = jsonx_own(r->a, conn_json_array_col(d->row, 0, SC_SCHEMAS));
    json_t *filters = jsonx_own(r->a, conn_json_array_col(d->row, 0, SC_FILTERS));
    int ns = (int)json_array_size(schemas), nf = (int)json_array_size(filters);
    const char **sv = arena_alloc(r->a, (size_t)(ns + 1) * sizeof *sv);
    const char **fv = arena_alloc(r->a, (size_t)(nf + 1) * sizeof *fv);
    for (int i = 0; i < ns; i++)
        sv[i] = json_string_value(json_array_get(schemas, i));
    for (int i = 0; i < nf; i++)
        fv[i] = json_string_value(json_array_get(filters, i));

    void *conn = NULL;
    sl_errbuf ceb = {0};
    e = c->open(&p, &conn, &ceb);
    if (!e) {
        e = c->list_tables(conn, r->a, ns ? sv : NULL, ns, &d->tables, &d->ntables, &ceb);
        c->close(conn);
    }
    if (e) {
        const char *msg = conn_scrub(r->a, ceb.msg[0] ? ceb.msg : sl_strerror(e), p.password);
        /* Never let a connector's code look like our database failing. */
        sl_fail(eb, e == SL_EDB || e == SL_EDBDOWN ? SL_EIO : e, "%s", msg);
        return eb->code;
    }
    d->keep = arena_alloc(r->a, (size_t)(d->ntables + 1) * sizeof *d->keep);
    for (int i = 0; i < d->ntables; i++) {
        d->keep[i] = table_selected(nf ? fv : NULL, nf, d->tables[i].schema, d->tables[i].name);
        d->nkept += d->keep[i];
    }
    return SL_OK;
}

static int by_pk_position(const void *a, const void *b)
{
    const conn_column *x = a, *y = b;
    return x->pk_position - y->pk_position;
}

/* One discovered table as JSON (page adds display strings when page). */
static json_t *table_json(request *r, const conn_table *t, const char *sync_method, int page)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string(t->schema ? t->schema : ""));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "estimated_rows", t->est_rows < 0 ? json_null()
                                                             : json_integer(t->est_rows));
    json_t *cols = json_array();
    conn_column *pk = arena_alloc(r->a, (size_t)(t->ncols + 1) * sizeof *pk);
    int npk = 0;
    for (int i = 0; i < t->ncols; i++) {
        const conn_column *c = &t->cols[i];
        json_t *col = json_pack("{s:s, s:s, s:b, s:i}", "name", c->name, "type", c->type,
                                "nullable", c->nullable, "pk_position", c->pk_position);
        if (page)
            json_object_set_new(col, "in_pk", json_boolean(c->pk_position > 0));
        json_array_append_new(cols, col);
        if (c->pk_position > 0)
            pk[npk++] = *c;
    }
    qsort(pk, (size_t)npk, sizeof *pk, by_pk_position);
    json_t *pkj = json_array();
    for (int i = 0; i < npk; i++)
        json_array_append_new(pkj, json_string(pk[i].name));
    const char *wm = pick_watermark(t, NULL);
    const char *mode = strcmp(sync_method, "full_refresh") == 0 || !wm ? "full_refresh"
                                                                        : "incremental";
    json_object_set_new(o, "primary_key", pkj);
    json_object_set_new(o, "columns", cols);
    json_object_set_new(o, "watermark", wm ? json_string(wm) : json_null());
    json_object_set_new(o, "sync_mode", json_string(mode));
    if (page) {
        const char *rows = "unknown";
        if (t->est_rows >= 0) {
            /* 1234567 -> "1,234,567" */
            char digits[32], out[48];
            int n = snprintf(digits, sizeof digits, "%lld", t->est_rows), k = 0;
            for (int i = 0; i < n; i++) {
                if (i > 0 && (n - i) % 3 == 0)
                    out[k++] = ',';
                out[k++] = digits[i];
            }
            out[k] = '\0';
            rows = arena_strdup(r->a, out);
        }
        json_object_set_new(o, "rows", json_string(rows));
        json_object_set_new(o, "pk_text", json_string(npk ? join(r, pkj, ", ") : ""));
        json_object_set_new(o, "ncols", json_integer(t->ncols));
    }
    return o;
}

/* --- pages --------------------------------------------------------------------------- */

void h_sources_list(request *r)
{
    conn_list_handler(r, &V);
}

void h_sources_new(request *r)
{
    source_fields f;
    defaults(&f);
    f.c.type = "postgresql";
    form_page(r, 200, NULL, &f, json_object());
}

void h_sources_create(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    source_fields f;
    defaults(&f);
    from_form(r, &f, 0);
    json_t *errors = json_object();
    const char *id;
    if (conn_begin(r)) {
        json_decref(errors);
        return;
    }
    int rc = store(r, NULL, &f, errors, &id);
    if (rc == 1) {
        form_page(r, 422, NULL, &f, errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        page_done(r, arena_printf(r->a, "/sources/%s", id),
                  arena_printf(r->a, "Source %s created. Test the connection to check it.",
                               f.c.name));
}

void h_source_show(request *r)
{
    conn_show_page(r, &V);
}

void h_source_edit(request *r)
{
    const char *id = conn_id_param(r, &K);
    PGresult *res;
    if (!id || conn_load(r, &K, SOURCE_COLS, id, 0, &res) != 1)
        return;
    source_fields f;
    from_row(r, &f, res);
    form_page(r, 200, id, &f, json_object());
}

void h_source_update(request *r)
{
    sl_errbuf eb = {0};
    const char *id = conn_id_param(r, &K);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    PGresult *old;
    if (conn_begin(r) || conn_load(r, &K, SOURCE_COLS, id, 1, &old) != 1)
        return;
    source_fields f;
    defaults(&f);
    f.c.had_password = strcmp(PQgetvalue(old, 0, CC_HAS_PW), "t") == 0;
    from_form(r, &f, 1);
    json_t *errors = json_object();
    const char *saved;
    int rc = store(r, old, &f, errors, &saved);
    if (rc == 1) {
        form_page(r, 422, id, &f, errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        page_done(r, arena_printf(r->a, "/sources/%s", id),
                  arena_printf(r->a, "Source %s saved.", f.c.name));
}


static const char *delete_refusal(request *r, PGresult *res)
{
    return conn_pipelines_refusal(r, &K, PQgetvalue(res, 0, CC_ID));
}

void h_source_delete_form(request *r)
{
    conn_delete_form(r, &V, delete_refusal);
}

void h_source_delete(request *r)
{
    conn_delete_handler(r, &V, delete_source);
}

void h_source_test(request *r)
{
    conn_test_page(r, &K);
}

void h_source_discover(request *r)
{
    const char *id = conn_id_param(r, &K);
    if (!id)
        return;
    sl_errbuf eb = {0};
    discovery d;
    sl_err e = discover(r, id, &d, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such source");
        return;
    }
    if (e == SL_EDB || e == SL_EDBDOWN) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Discover %s", PQgetvalue(d.row, 0, CC_NAME)),
                           "sources");
    json_object_set_new(ctx, "s", page_row(r, d.row, 0));
    if (e) {
        json_object_set_new(ctx, "error", json_string(eb.msg));
    } else {
        const char *sync = PQgetvalue(d.row, 0, SC_SYNC);
        json_t *tables = json_array();
        for (int i = 0; i < d.ntables; i++)
            if (d.keep[i])
                json_array_append_new(tables, table_json(r, &d.tables[i], sync, 1));
        json_object_set_new(ctx, "tables", tables);
        json_object_set_new(ctx, "has_tables", json_boolean(d.nkept > 0));
        json_object_set_new(ctx, "found", json_integer(d.ntables));
        json_object_set_new(ctx, "selected", json_integer(d.nkept));
        json_object_set_new(ctx, "excluded", json_integer(d.ntables - d.nkept));
    }
    page_render(r, 200, "sources/discover", ctx);
}

/* --- JSON API ------------------------------------------------------------------------ */

void h_api_sources_list(request *r)
{
    conn_list_api(r, &K, SOURCE_COLS, api_row);
}

void h_api_source_get(request *r)
{
    conn_get_api(r, &V);
}


void h_api_source_create(request *r)
{
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    source_fields f;
    defaults(&f);
    f.schemas = jsonx_own(r->a, json_array());
    f.filters = jsonx_own(r->a, json_array());
    from_json(r, body, &f, errors);
    /* Type errors so far and the field checks in store() come back together. */
    const char *id = NULL;
    if (conn_begin(r)) {
        json_decref(errors);
        return;
    }
    int rc = store(r, NULL, &f, errors, &id);
    conn_api_stored(r, &V, rc, "created", errors, 201, id);
}

/* PUT (replace: absent optional fields take their defaults; an absent
 * password keeps the stored one, since it is never sent back) and PATCH
 * (only the fields given change). */
static void api_change(request *r, int replace)
{
    const char *id = conn_id_param(r, &K);
    if (!id)
        return;
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    PGresult *old;
    if (conn_begin(r) || conn_load(r, &K, SOURCE_COLS, id, 1, &old) != 1)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    source_fields f;
    from_row(r, &f, old);
    if (replace) {
        int had = f.c.had_password;
        defaults(&f);
        f.schemas = jsonx_own(r->a, json_array());
        f.filters = jsonx_own(r->a, json_array());
        f.c.had_password = had;
        f.c.pw = CONN_PW_KEEP;
    }
    const char *old_type = f.c.type, *old_port = f.c.port_text;
    from_json(r, body, &f, errors);
    /* A new type without a port: the old default port follows the type. */
    if (!replace && !json_object_get(body, "port") && strcmp(old_type, f.c.type) != 0 &&
        strtol(old_port, NULL, 10) == conn_default_port(old_type))
        f.c.port_text = "";
    const char *saved;
    int rc = store(r, old, &f, errors, &saved);
    conn_api_stored(r, &V, rc, "changed", errors, 200, id);
}

void h_api_source_put(request *r)
{
    api_change(r, 1);
}

void h_api_source_patch(request *r)
{
    api_change(r, 0);
}

void h_api_source_delete(request *r)
{
    conn_delete_api(r, &V, delete_source);
}

void h_api_source_test(request *r)
{
    conn_test_api(r, &K);
}

void h_api_source_discover(request *r)
{
    const char *id = conn_id_param(r, &K);
    if (!id)
        return;
    sl_errbuf eb = {0};
    discovery d;
    sl_err e = discover(r, id, &d, &eb);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such source", NULL);
        return;
    }
    if (e == SL_EDB || e == SL_EDBDOWN) {
        web_db_error(r, e, &eb);
        return;
    }
    if (e) {
        /* The source could not be read: the other server's fault, not ours. */
        http_problem(r, 502, eb.msg, NULL);
        return;
    }
    const char *sync = PQgetvalue(d.row, 0, SC_SYNC);
    json_t *tables = json_array();
    for (int i = 0; i < d.ntables; i++)
        if (d.keep[i])
            json_array_append_new(tables, table_json(r, &d.tables[i], sync, 0));
    http_send_json(r, 200, json_pack("{s:s, s:i, s:i, s:o}", "source_id", id, "found",
                                     d.ntables, "selected", d.nkept, "tables", tables));
}
