/* pipeline_versions.c - a pipeline's history: the versions page, one
 * version's snapshot, the diff between any two versions, and rollback
 * (a confirmation page, then a NEW version whose snapshot equals the old
 * one, tables included); and the same through the API
 * (/api/v1/pipelines/{id}/versions[/{n}], POST /api/v1/pipelines/{id}/rollback).
 *
 * Versions are append-only rows of sluice.pipeline_versions written by
 * the model (pipeline_model.c); nothing here changes one. A deleted
 * pipeline's history is gone from view with it (404). */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "pipeline_api.h"
#include "pipeline_form.h"
#include "uuid.h"
#include "worker.h"

#define HISTORY_PAGE 50
#define API_LIMIT_DEFAULT 50
#define API_LIMIT_MAX 200
#define VERSION_MAX 2147483647LL

#define VCOLS                                                                                  \
    "version, etag, author_id, coalesce(author_email, ''), message,"                          \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"              \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
enum { V_VERSION, V_ETAG, V_AUTHOR_ID, V_AUTHOR, V_MESSAGE, V_CREATED, V_CREATED_SHORT,
       V_SNAPSHOT };

/* Keys of a snapshot shown on a version's page, in order. */
static const char *const shown_keys[] = {
    "name", "description", "status", "source_id", "destination_id", "schedule", "timezone",
    "max_retries", "timeout_seconds", "depends_on", "load_mode", "target_schema", NULL,
};

/* --- queries ---------------------------------------------------------------------------- */

/* Version n of pipeline id (with its snapshot) into *res: SL_ENOTFOUND when
 * there is none. */
static sl_err load_version(request *r, const char *id, long long n, PGresult **res,
                           sl_errbuf *eb)
{
    sl_err e = db_query(r->db, r->a, eb, res,
                        "SELECT " VCOLS ", snapshot::text FROM sluice.pipeline_versions"
                        " WHERE pipeline_id = $1 AND version = $2::int",
                        2, (const char *[]){id, arena_printf(r->a, "%lld", n)});
    if (e)
        return e;
    return PQntuples(*res) == 1 ? SL_OK : SL_ENOTFOUND;
}

/* Versions of id older than `before` (0: from the newest), newest first,
 * at most limit + 1. */
static sl_err list_versions(request *r, const char *id, long long before, int limit,
                            PGresult **res, sl_errbuf *eb)
{
    const char *params[] = {id, before ? arena_printf(r->a, "%lld", before) : NULL,
                            arena_printf(r->a, "%d", limit + 1)};
    return db_query(r->db, r->a, eb, res,
                    "SELECT " VCOLS " FROM sluice.pipeline_versions WHERE pipeline_id = $1"
                    " AND ($2::int IS NULL OR version < $2::int)"
                    " ORDER BY version DESC LIMIT $3::int",
                    3, params);
}

static json_t *snapshot_of(request *r, PGresult *res)
{
    return jsonx_parse(r->a, NULL, PQgetvalue(res, 0, V_SNAPSHOT),
                       strlen(PQgetvalue(res, 0, V_SNAPSHOT)));
}

static json_t *version_json(PGresult *res, int i, int current)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(strtoll(PQgetvalue(res, i, V_VERSION), NULL,
                                                           10)));
    json_object_set_new(o, "etag", json_string(PQgetvalue(res, i, V_ETAG)));
    json_object_set_new(o, "author_id", PQgetisnull(res, i, V_AUTHOR_ID)
                                            ? json_null()
                                            : json_string(PQgetvalue(res, i, V_AUTHOR_ID)));
    json_object_set_new(o, "author_email", json_string(PQgetvalue(res, i, V_AUTHOR)));
    json_object_set_new(o, "message", json_string(PQgetvalue(res, i, V_MESSAGE)));
    json_object_set_new(o, "has_message", json_boolean(*PQgetvalue(res, i, V_MESSAGE) != '\0'));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, V_CREATED)));
    json_object_set_new(o, "current", json_boolean(strtoll(PQgetvalue(res, i, V_VERSION), NULL,
                                                           10) == current));
    return o;
}

/* The {n} path parameter as a version number, or 0. */
static long long version_param(request *r)
{
    long long n;
    const char *s = http_path_param(r, "n");
    return s && params_int(s, 1, VERSION_MAX, &n) ? n : 0;
}

/* --- pages ------------------------------------------------------------------------------ */

void h_pipeline_versions(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    long long before = 0;
    const char *b = http_query(r, "before");
    if (b && *b && !params_int(b, 1, VERSION_MAX, &before)) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    PGresult *res;
    sl_err e = list_versions(r, id, before, HISTORY_PAGE, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    int more = n > HISTORY_PAGE;
    if (more)
        n = HISTORY_PAGE;
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = version_json(res, i, p.version);
        long long v = json_integer_value(json_object_get(o, "version"));
        json_object_set_new(o, "created_short",
                            json_string(PQgetvalue(res, i, V_CREATED_SHORT)));
        if (v > 1)
            json_object_set_new(o, "previous", json_integer(v - 1));
        json_array_append_new(items, o);
    }
    json_t *ctx = page_ctx(r, arena_printf(r->a, "History of %s", p.name), "pipelines");
    json_object_set_new(ctx, "p", pf_pipeline_view(r, &p));
    json_object_set_new(ctx, "items", items);
    json_object_set_new(ctx, "paged", json_boolean(before > 0));
    if (more)
        json_object_set_new(ctx, "older", json_string(PQgetvalue(res, n - 1, V_VERSION)));
    json_object_set_new(ctx, "diff_from", json_integer(p.version > 1 ? p.version - 1 : 1));
    json_object_set_new(ctx, "diff_to", json_integer(p.version));
    page_render(r, 200, "pipelines/versions", ctx);
}

/* Rows {label, value} of a snapshot, and its tables. */
static void put_snapshot(request *r, json_t *ctx, const json_t *snap)
{
    json_t *rows = json_array();
    for (int i = 0; shown_keys[i]; i++)
        json_array_append_new(rows, json_pack("{s:s, s:s}", "label", pl_label(shown_keys[i]),
                                              "value",
                                              pl_display(r, shown_keys[i],
                                                         json_object_get(snap,
                                                                         shown_keys[i]))));
    json_object_set_new(ctx, "fields", rows);
    json_t *tables = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tables"), i, t) {
        const char *schema = json_string_value(json_object_get(t, "source_schema"));
        const char *name = json_string_value(json_object_get(t, "source_table"));
        json_array_append_new(
            tables,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "label",
                      schema && *schema ? arena_printf(r->a, "%s.%s", schema, name ? name : "")
                                        : (name ? name : ""),
                      "target", pl_display(r, "target_table", json_object_get(t,
                                                                               "target_table")),
                      "sync_mode", pl_display(r, "sync_mode", json_object_get(t, "sync_mode")),
                      "load_mode", pl_display(r, "load_mode", json_object_get(t, "load_mode")),
                      "watermark", pl_display(r, "watermark_column",
                                              json_object_get(t, "watermark_column")),
                      "lookback", pl_display(r, "lookback_seconds",
                                             json_object_get(t, "lookback_seconds")),
                      "enabled", pl_display(r, "enabled", json_object_get(t, "enabled"))));
    }
    json_object_set_new(ctx, "has_tables", json_boolean(json_array_size(tables) > 0));
    json_object_set_new(ctx, "tables", tables);
}

/* Load pipeline and version n for a page: 1, or 0 after answering. */
static int page_version(request *r, pipeline *p, long long *n, PGresult **res)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id || pf_load(r, id, p) != 1)
        return 0;
    *n = version_param(r);
    sl_err e = *n ? load_version(r, id, *n, res, &eb) : SL_ENOTFOUND;
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such version");
        return 0;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return 0;
    }
    return 1;
}

static json_t *version_ctx(request *r, const char *title, const pipeline *p, PGresult *res)
{
    json_t *ctx = page_ctx(r, title, "pipelines");
    json_object_set_new(ctx, "p", pf_pipeline_view(r, p));
    json_t *v = version_json(res, 0, p->version);
    json_object_set_new(v, "created_short", json_string(PQgetvalue(res, 0, V_CREATED_SHORT)));
    json_object_set_new(ctx, "v", v);
    return ctx;
}

void h_pipeline_version_show(request *r)
{
    pipeline p;
    long long n;
    PGresult *res;
    if (!page_version(r, &p, &n, &res))
        return;
    json_t *ctx = version_ctx(r, arena_printf(r->a, "%s, version %lld", p.name, n), &p, res);
    put_snapshot(r, ctx, snapshot_of(r, res));
    page_render(r, 200, "pipelines/version", ctx);
}

void h_pipeline_versions_diff(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    long long from = 0, to = 0;
    const char *fs = http_query(r, "from"), *ts = http_query(r, "to");
    if (!fs || !ts || !params_int(fs, 1, VERSION_MAX, &from) ||
        !params_int(ts, 1, VERSION_MAX, &to)) {
        http_error(r, 400, "give two version numbers: ?from=N&to=M");
        return;
    }
    PGresult *ra, *rb;
    sl_err e = load_version(r, id, from, &ra, &eb);
    if (!e)
        e = load_version(r, id, to, &rb, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such version");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *ctx = page_ctx(r, arena_printf(r->a, "%s: version %lld to %lld", p.name, from, to),
                           "pipelines");
    json_object_set_new(ctx, "p", pf_pipeline_view(r, &p));
    json_t *va = version_json(ra, 0, p.version), *vb = version_json(rb, 0, p.version);
    json_object_set_new(va, "created_short", json_string(PQgetvalue(ra, 0, V_CREATED_SHORT)));
    json_object_set_new(vb, "created_short", json_string(PQgetvalue(rb, 0, V_CREATED_SHORT)));
    json_object_set_new(ctx, "from", va);
    json_object_set_new(ctx, "to", vb);
    json_object_set_new(ctx, "diff", pl_diff(r, snapshot_of(r, ra), snapshot_of(r, rb)));
    json_object_set_new(ctx, "old_label", json_string(arena_printf(r->a, "Version %lld", from)));
    json_object_set_new(ctx, "new_label", json_string(arena_printf(r->a, "Version %lld", to)));
    page_render(r, 200, "pipelines/diff", ctx);
}

static void rollback_page(request *r, int status, const pipeline *p, PGresult *res,
                          json_t *errors)
{
    long long n = strtoll(PQgetvalue(res, 0, V_VERSION), NULL, 10);
    json_t *ctx = version_ctx(r, arena_printf(r->a, "Roll %s back to version %lld", p->name, n),
                              p, res);
    json_t *current = pl_snapshot(p);
    json_object_set_new(ctx, "diff", pl_diff(r, current, snapshot_of(r, res)));
    json_object_set_new(ctx, "old_label",
                        json_string(arena_printf(r->a, "Now (version %d)", p->version)));
    json_object_set_new(ctx, "new_label",
                        json_string(arena_printf(r->a, "Version %lld (restored)",
                                                 n)));
    json_decref(current);
    json_t *list = json_array();
    const char *key;
    json_t *m;
    json_object_foreach(errors, key, m) {
        json_array_append_new(list, json_pack("{s:s, s:O}", "field", pl_label(key), "message",
                                              m));
    }
    json_decref(errors);
    json_object_set_new(ctx, "has_errors", json_boolean(json_array_size(list) > 0));
    json_object_set_new(ctx, "errors", list);
    page_render(r, status, "pipelines/rollback", ctx);
}

void h_pipeline_rollback_form(request *r)
{
    pipeline p;
    long long n;
    PGresult *res;
    if (page_version(r, &p, &n, &res))
        rollback_page(r, 200, &p, res, json_object());
}

/* Roll ed back to the snapshot of version n. SL_OK with *saved filled, or
 * SL_EINVAL with errors (field -> message) after rolling back; other codes
 * after rolling back too. */
static sl_err rollback(request *r, pl_edit *ed, long long n, PGresult *vres,
                       const char *note, pl_saved *saved, json_t *errors, sl_errbuf *eb)
{
    pipeline *next = &ed->next;
    if (pl_from_snapshot(r->a, snapshot_of(r, vres), next) != SL_OK) {
        pl_edit_abort(r);
        json_object_set_new(errors, "version", json_string("that version's snapshot is "
                                                           "unreadable"));
        return SL_EINVAL;
    }
    next->deleted = 0;
    sl_err e = pl_validate(r, next, &ed->cur, 0, NULL, errors, eb);
    if (e || json_object_size(errors) > 0) {
        pl_edit_abort(r);
        return e ? e : SL_EINVAL;
    }
    const char *message = note && *note ? arena_printf(r->a, "rollback to v%lld: %s", n, note)
                                        : arena_printf(r->a, "rollback to v%lld", n);
    json_t *extra = json_pack("{s:I}", "rollback_to", (json_int_t)n);
    ed->audit_extra = extra;
    e = pl_edit_commit(r, ed, "pipeline.rollback", message, saved, errors, eb);
    json_decref(extra);
    return e == SL_ECONFLICT ? SL_EINVAL : e;
}

void h_pipeline_rollback(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    long long n = version_param(r);
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        pf_edit_fail(r, e, &eb);
        return;
    }
    PGresult *vres;
    e = n ? load_version(r, id, n, &vres, &eb) : SL_ENOTFOUND;
    if (e) {
        pl_edit_abort(r);
        if (e == SL_ENOTFOUND)
            http_error(r, 404, "no such version");
        else
            web_db_error(r, e, &eb);
        return;
    }
    const char *note = form_str(r, "message");
    if (params_utf8_len(note) > PL_MESSAGE_MAX || params_has_control(note))
        note = "";
    json_t *errors = json_object();
    pl_saved saved;
    e = rollback(r, &ed, n, vres, note, &saved, errors, &eb);
    if (e == SL_EINVAL) {
        rollback_page(r, 422, &ed.cur, vres, errors);
        return;
    }
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    const char *where = arena_printf(r->a, "/pipelines/%s/versions", id);
    if (!saved.changed) {
        page_flash(r, "info", arena_printf(r->a, "The pipeline already matches version %lld.",
                                           n));
        http_redirect(r, 303, where);
        return;
    }
    page_done(r, where, arena_printf(r->a, "Rolled back to version %lld as version %d.", n,
                                     saved.version));
}

/* --- JSON API --------------------------------------------------------------------------- */

/* The live pipeline id for the API: 1, or 0 after answering. */
static int api_pipeline(request *r, const char **id, pipeline *p)
{
    sl_errbuf eb = {0};
    *id = pa_id(r);
    if (!*id)
        return 0;
    sl_err e = pl_load(r, *id, 0, p, &eb);
    if (e == SL_ENOTFOUND)
        http_problem(r, 404, "no such pipeline", NULL);
    else if (e)
        web_db_error(r, e, &eb);
    return e == SL_OK;
}

void h_api_pipeline_versions(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    const char *id;
    pipeline p;
    if (!api_pipeline(r, &id, &p))
        return;
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit = API_LIMIT_DEFAULT, cursor = 0;
    const char *s = params_query(r, "limit", errors);
    if (s && !params_int(s, 1, API_LIMIT_MAX, &limit))
        page_field_error(errors, "limit", "must be an integer from 1 to 200");
    s = params_query(r, "cursor", errors);
    if (s && !params_int(s, 1, VERSION_MAX, &cursor))
        page_field_error(errors, "cursor", "must be a next_cursor from an earlier page");
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = list_versions(r, id, cursor, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, version_json(res, i, p.version));
    json_t *next = n > limit ? json_string(PQgetvalue(res, (int)limit - 1, V_VERSION))
                             : json_null();
    pa_etag_header(r, p.etag);
    http_send_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void h_api_pipeline_version_get(request *r)
{
    const char *id;
    pipeline p;
    if (!api_pipeline(r, &id, &p))
        return;
    sl_errbuf eb = {0};
    long long n = version_param(r);
    PGresult *res;
    sl_err e = n ? load_version(r, id, n, &res, &eb) : SL_ENOTFOUND;
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such version", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *o = version_json(res, 0, p.version);
    json_object_set(o, "snapshot", snapshot_of(r, res));
    http_send_json(r, 200, o);
}

void h_api_pipeline_rollback(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pa_id(r);
    if (!id)
        return;
    json_t *body = pa_body(r, 0);
    if (!body)
        return;
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    json_t *errors = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "version") != 0 && strcmp(key, "message") != 0)
            page_field_error(errors, key, "unknown field");
    }
    const char *note = pa_message(r, body, errors);
    v = json_object_get(body, "version");
    long long n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (n < 1 || n > VERSION_MAX)
        page_field_error(errors, "version", "must be the number of an earlier version");
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        json_decref(errors);
        if (e == SL_ENOTFOUND)
            http_problem(r, 404, "no such pipeline", NULL);
        else
            web_db_error(r, e, &eb);
        return;
    }
    if (!pa_precondition(r, &ed.cur)) {
        json_decref(errors);
        return;
    }
    PGresult *vres = NULL;
    if (json_object_size(errors) == 0) {
        e = load_version(r, id, n, &vres, &eb);
        if (e == SL_ENOTFOUND)
            page_field_error(errors, "version", "this pipeline has no such version");
        else if (e) {
            pl_edit_abort(r);
            json_decref(errors);
            web_db_error(r, e, &eb);
            return;
        }
    }
    if (json_object_size(errors) > 0) {
        pl_edit_abort(r);
        pa_validation_failed(r, "the pipeline was not rolled back", errors);
        return;
    }
    pl_saved saved;
    e = rollback(r, &ed, n, vres, note, &saved, errors, &eb);
    if (e == SL_EINVAL) {
        pa_validation_failed(r, "the pipeline was not rolled back", errors);
        return;
    }
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    pa_send_pipeline(r, 200, id);
}
