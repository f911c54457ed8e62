/* pipelines_api.c - the pipelines JSON API: /api/v1/pipelines (list with
 * keyset pagination, create), /api/v1/pipelines/{id} (get, PUT, PATCH,
 * DELETE), /{id}/tables (get, PUT) and /{id}/pause, /{id}/resume.
 *
 * Responses that show a pipeline carry `ETag: "<version>-<hash>"`; every
 * change needs `If-Match` with the current one: 428 without it, 412 when it
 * is stale (the problem body names the current etag). The check runs on
 * the row locked FOR UPDATE, so two clients with the same ETag cannot both
 * win. Input goes through the same model as the pages (pipeline_model.h);
 * a change that leaves the configuration as it was appends no version.
 * Versions and rollback are pipeline_versions.c. */
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "pipeline_api.h"
#include "router.h"
#include "uuid.h"
#include "worker.h"

#define API_LIMIT_DEFAULT 50
#define API_LIMIT_MAX 200

/* --- plumbing shared with pipeline_versions.c -------------------------------------------- */

const char *pa_id(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_problem(r, 404, "no such pipeline", NULL);
        return NULL;
    }
    return id;
}

static int is_json_type(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

json_t *pa_body(request *r, int optional)
{
    sl_errbuf eb = {0};
    if (optional && r->content_length <= 0)
        return jsonx_own(r->a, json_object());
    if (*r->content_type && !is_json_type(r->content_type)) {
        http_problem(r, 415, "send application/json", NULL);
        return NULL;
    }
    long long max = r->route && r->route->max_body ? r->route->max_body : r->cfg->web_max_body;
    sl_err e = http_read_body(r, (size_t)max, &eb);
    if (e) {
        http_problem(r, e == SL_ETOOBIG ? 413 : 400, eb.msg, NULL);
        return NULL;
    }
    if (optional && r->body_len == 0)
        return jsonx_own(r->a, json_object());
    json_t *body = jsonx_parse(r->a, &eb, r->body, r->body_len);
    if (!body) {
        http_problem(r, 400, arena_printf(r->a, "the body is not valid JSON: %s", eb.msg), NULL);
        return NULL;
    }
    if (!json_is_object(body) && !json_is_array(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return NULL;
    }
    return body;
}

const char *pa_message(request *r, const json_t *body, json_t *errors)
{
    const json_t *m = json_is_object(body) ? json_object_get(body, "message") : NULL;
    if (!m || json_is_null(m))
        return "";
    if (!json_is_string(m)) {
        page_field_error(errors, "message", "must be a string");
        return "";
    }
    const char *s = json_string_value(m);
    if (params_utf8_len(s) > PL_MESSAGE_MAX)
        page_field_error(errors, "message", "must be at most 500 characters");
    else if (params_has_control(s))
        page_field_error(errors, "message", "must be one line of text");
    return s;
}

/* 1 when the If-Match list holds "*" or the strong tag "<etag>". */
static int if_match_ok(const char *header, const char *etag)
{
    const char *p = header;
    size_t elen = etag ? strlen(etag) : 0;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == 1 && p[0] == '*')
            return 1;
        if (etag && m == elen + 2 && p[0] == '"' && p[m - 1] == '"' &&
            memcmp(p + 1, etag, elen) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int pa_precondition(request *r, const pipeline *cur)
{
    const char *h = http_header(r, "If-Match");
    if (!h || !*h) {
        pl_edit_abort(r);
        http_problem(r, 428,
                     "this change needs an If-Match header with the pipeline's current ETag "
                     "(GET the pipeline first)",
                     NULL);
        return 0;
    }
    if (if_match_ok(h, cur->etag))
        return 1;
    pl_edit_abort(r);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i}", "type", "about:blank", "title",
                          http_reason(412), "status", 412, "detail",
                          "the pipeline has changed since you read it: GET it again, "
                          "re-apply your change and send the new ETag",
                          "current_etag", arena_printf(r->a, "\"%s\"", cur->etag ? cur->etag
                                                                                 : ""),
                          "current_version", cur->version);
    if (r->request_id)
        json_object_set_new(p, "request_id", json_string(r->request_id));
    pa_etag_header(r, cur->etag);
    const char *s = jsonx_dump(r->a, p);
    json_decref(p);
    http_send(r, 412, "application/problem+json", s, strlen(s));
    return 0;
}

void pa_etag_header(request *r, const char *etag)
{
    if (etag)
        http_add_header(r, "ETag", arena_printf(r->a, "\"%s\"", etag));
}

void pa_validation_failed(request *r, const char *what, json_t *errors)
{
    http_problem(r, 422, what, errors);
}

/* The representation of a pipeline with its tables and next fire times. */
static json_t *full_json(request *r, const pipeline *p)
{
    json_t *o = pl_api_json(p, 1);
    json_t *fires = json_array();
    time_t t[PL_FIRES];
    int n = pl_next_fires(p->schedule, p->timezone, time(NULL), t, PL_FIRES);
    for (int i = 0; i < n; i++) {
        struct tm tm;
        char buf[32];
        gmtime_r(&t[i], &tm);
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_array_append_new(fires, json_string(buf));
    }
    json_object_set_new(o, "next_fire_times", fires);
    return o;
}

void pa_send_pipeline(request *r, int status, const char *id)
{
    sl_errbuf eb = {0};
    pipeline p;
    sl_err e = pl_load(r, id, 0, &p, &eb);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such pipeline", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    pa_etag_header(r, p.etag);
    if (status == 201)
        http_add_header(r, "Location", arena_printf(r->a, "/api/v1/pipelines/%s", p.id));
    http_send_json(r, status, full_json(r, &p));
}

/* --- list, create, get --------------------------------------------------------------------- */

void h_api_pipelines_list(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit = API_LIMIT_DEFAULT;
    const char *s = params_query(r, "limit", errors);
    if (s && !params_int(s, 1, API_LIMIT_MAX, &limit))
        page_field_error(errors, "limit", "must be an integer from 1 to 200");
    const char *cursor = params_query(r, "cursor", errors);
    if (cursor && !uuid_valid(cursor))
        page_field_error(errors, "cursor", "must be a next_cursor from an earlier page");
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    pipeline *list;
    int n;
    sl_err e = pl_list(r, cursor, NULL, (int)limit, &list, &n, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, pl_api_json(&list[i], 0));
    json_t *next = n > limit ? json_string(list[limit - 1].id) : json_null();
    http_send_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void h_api_pipeline_create(request *r)
{
    sl_errbuf eb = {0};
    json_t *body = pa_body(r, 0);
    if (!body)
        return;
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    json_t *errors = json_object();
    pipeline p;
    pl_defaults(&p);
    pl_apply_json(r->a, body, &p, errors);
    const char *message = pa_message(r, body, errors);
    sl_err e = pl_validate(r, &p, NULL, 1, NULL, errors, &eb);
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    if (json_object_size(errors) > 0) {
        pa_validation_failed(r, "the pipeline could not be created", errors);
        return;
    }
    pl_saved saved;
    e = pl_create(r, &p, message, &saved, errors, &eb);
    if (e == SL_ECONFLICT) {
        pa_validation_failed(r, "the pipeline could not be created", errors);
        return;
    }
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    pa_send_pipeline(r, 201, saved.id);
}

void h_api_pipeline_get(request *r)
{
    const char *id = pa_id(r);
    if (id)
        pa_send_pipeline(r, 200, id);
}

/* --- changes ------------------------------------------------------------------------------- */

enum change { CH_PUT, CH_PATCH, CH_TABLES, CH_PAUSE, CH_RESUME, CH_DELETE };

/* Names of live pipelines depending on id ("" when none). */
static const char *dependents(request *r, const char *id, sl_errbuf *eb, sl_err *e)
{
    char *v = NULL;
    *e = db_query_value(r->db, r->a, eb, &v,
                        "SELECT coalesce(string_agg(name, ', ' ORDER BY lower(name)), '')"
                        " FROM sluice.pipelines WHERE depends_on = $1 AND deleted_at IS NULL",
                        1, (const char *[]){id});
    return v ? v : "";
}

/* Apply the body to ed->next for change ch; errors for bad input. 0, or -1
 * after answering (rolled back). */
static int apply(request *r, enum change ch, const json_t *body, pl_edit *ed, json_t *errors)
{
    sl_errbuf eb = {0};
    switch (ch) {
    case CH_PUT: {
        pipeline fresh;
        pl_defaults(&fresh);
        fresh.id = ed->cur.id;
        fresh.version = ed->cur.version;
        fresh.etag = ed->cur.etag;
        fresh.tables = ed->next.tables;   /* kept unless the body lists tables */
        fresh.ntables = ed->next.ntables;
        fresh.status = ed->cur.status;
        ed->next = fresh;
        pl_apply_json(r->a, body, &ed->next, errors);
        break;
    }
    case CH_PATCH:
        pl_apply_json(r->a, body, &ed->next, errors);
        break;
    case CH_TABLES: {
        const json_t *arr = body;
        if (json_is_object(body)) {
            const char *key;
            json_t *v;
            json_object_foreach((json_t *)body, key, v) {
                if (strcmp(key, "tables") != 0 && strcmp(key, "message") != 0)
                    page_field_error(errors, key, "unknown field");
            }
            arr = json_object_get(body, "tables");
        }
        if (!json_is_array(arr))
            page_field_error(errors, "tables", "send an array of tables, or {\"tables\": [...]}");
        else
            pl_tables_from_json(r->a, arr, &ed->next.tables, &ed->next.ntables, errors);
        break;
    }
    case CH_PAUSE:
    case CH_RESUME:
        ed->next.status = ch == CH_PAUSE ? "paused" : "active";
        break;
    case CH_DELETE: {
        sl_err e;
        const char *deps = dependents(r, ed->cur.id, &eb, &e);
        if (e || *deps) {
            pl_edit_abort(r);
            if (e)
                web_db_error(r, e, &eb);
            else
                http_problem(r, 409,
                             arena_printf(r->a, "other pipelines depend on this one (%s): "
                                                "change their depends_on first", deps),
                             NULL);
            return -1;
        }
        ed->next.deleted = 1;
        break;
    }
    }
    return 0;
}

static void api_change(request *r, enum change ch)
{
    static const char *const actions[] = {"pipeline.update", "pipeline.update",
                                          "pipeline.update", "pipeline.pause",
                                          "pipeline.resume", "pipeline.delete"};
    sl_errbuf eb = {0};
    const char *id = pa_id(r);
    if (!id)
        return;
    int optional = ch == CH_PAUSE || ch == CH_RESUME || ch == CH_DELETE;
    json_t *body = pa_body(r, optional);
    if (!body)
        return;
    if (!json_is_object(body) && ch != CH_TABLES) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    json_t *errors = json_object();
    const char *message = pa_message(r, body, errors);
    if (optional) {
        const char *key;
        json_t *v;
        json_object_foreach(body, key, v) {
            if (strcmp(key, "message") != 0)
                page_field_error(errors, key, "unknown field");
        }
    }
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
    if (apply(r, ch, body, &ed, errors) < 0) {
        json_decref(errors);
        return;
    }
    if (!optional) {
        e = pl_validate(r, &ed.next, &ed.cur, 1, NULL, errors, &eb);
        if (e) {
            pl_edit_abort(r);
            json_decref(errors);
            web_db_error(r, e, &eb);
            return;
        }
    }
    if (json_object_size(errors) > 0) {
        pl_edit_abort(r);
        pa_validation_failed(r, "the pipeline was not changed", errors);
        return;
    }
    if (!*message)
        message = ch == CH_PAUSE ? "paused" : ch == CH_RESUME ? "resumed"
                  : ch == CH_DELETE ? "deleted" : ch == CH_TABLES ? "tables changed" : "";
    pl_saved saved;
    e = pl_edit_commit(r, &ed, actions[ch], message, &saved, errors, &eb);
    if (e == SL_ECONFLICT) {
        pa_validation_failed(r, "the pipeline was not changed", errors);
        return;
    }
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (ch == CH_DELETE) {
        http_set_status(r, 204);
        return;
    }
    if (ch == CH_TABLES) {
        h_api_pipeline_tables_get(r);
        return;
    }
    pa_send_pipeline(r, 200, id);
}

void h_api_pipeline_put(request *r)
{
    api_change(r, CH_PUT);
}

void h_api_pipeline_patch(request *r)
{
    api_change(r, CH_PATCH);
}

void h_api_pipeline_delete(request *r)
{
    api_change(r, CH_DELETE);
}

void h_api_pipeline_pause(request *r)
{
    api_change(r, CH_PAUSE);
}

void h_api_pipeline_resume(request *r)
{
    api_change(r, CH_RESUME);
}

void h_api_pipeline_tables_put(request *r)
{
    api_change(r, CH_TABLES);
}

void h_api_pipeline_tables_get(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pa_id(r);
    if (!id)
        return;
    pipeline p;
    sl_err e = pl_load(r, id, 0, &p, &eb);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such pipeline", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < p.ntables; i++)
        json_array_append_new(items, pl_table_json(&p.tables[i]));
    pa_etag_header(r, p.etag);
    http_send_json(r, 200, json_pack("{s:o, s:i, s:s?}", "items", items, "version", p.version,
                                     "etag", p.etag));
}
