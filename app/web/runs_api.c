/* runs_api.c - runs over the JSON API:
 *   POST /api/v1/pipelines/{id}/runs   queue: {"mode": "sync" | "full_refresh" |
 *                                     "backfill", "backfill_from": "...",
 *                                     "tables": [...]} -> 202 {id, status, links}
 *   GET  /api/v1/runs                  ?pipeline= &status= &from= &to= &limit= &cursor=
 *                                     -> {items, next_cursor}
 *   GET  /api/v1/runs/{id}             the run, its progress and per-table stats,
 *                                     quality results
 *   GET  /api/v1/runs/{id}/logs        ?level= (minimum) &after= (a log id) &limit=
 *                                     -> {items (oldest first), next_cursor}
 *   POST /api/v1/runs/{id}/cancel      queued: cancelled now; running: asked to stop
 *   POST /api/v1/runs/{id}/retry-dead-letters   queue a retry of its dead letters
 * Ids of runs and log lines are strings (they exceed what JavaScript
 * numbers hold exactly). Views and queries are runs_model.c's. */
#include <string.h>

#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "pipeline_api.h"
#include "runs.h"
#include "worker.h"

static const char *run_param(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!runs_id_ok(id)) {
        http_problem(r, 404, "no such run", NULL);
        return NULL;
    }
    return id;
}

/* 404 or the database error for e. */
static void fail(request *r, sl_err e, const sl_errbuf *eb, const char *what)
{
    if (e == SL_ENOTFOUND)
        http_problem(r, 404, what, NULL);
    else
        web_db_error(r, e, eb);
}

static void send_queued(request *r, int64_t run_no)
{
    const char *id = arena_printf(r->a, "%lld", (long long)run_no);
    const char *self = arena_printf(r->a, "/api/v1/runs/%s", id);
    http_add_header(r, "Location", self);
    http_send_json(r, 202,
                   json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "id", id, "status", "queued",
                             "links", "self", self, "html", arena_printf(r->a, "/runs/%s", id),
                             "logs", arena_printf(r->a, "/api/v1/runs/%s/logs", id)));
}

/* The body's members as a runs_request; type errors go to errors. */
static void request_from_json(request *r, const json_t *body, runs_request *rq, json_t *errors)
{
    static const char *const allowed[] = {"mode", "backfill_from", "tables", NULL};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        int known = 0;
        for (int i = 0; allowed[i]; i++)
            known |= strcmp(key, allowed[i]) == 0;
        if (!known)
            page_field_error(errors, key, "unknown field");
    }
    memset(rq, 0, sizeof *rq);
    const json_t *mode = json_object_get(body, "mode");
    if (mode && !json_is_null(mode) && !json_is_string(mode))
        page_field_error(errors, "mode", "must be a string");
    rq->mode = json_is_string(mode) ? json_string_value(mode) : "sync";
    const json_t *bf = json_object_get(body, "backfill_from");
    if (bf && !json_is_null(bf) && !json_is_string(bf))
        page_field_error(errors, "backfill_from", "must be a string");
    rq->backfill_from = json_is_string(bf) ? json_string_value(bf) : NULL;
    const json_t *tables = json_object_get(body, "tables");
    if (!tables || json_is_null(tables))
        return;
    if (!json_is_array(tables)) {
        page_field_error(errors, "tables", "must be an array of table names");
        return;
    }
    size_t n = json_array_size(tables);
    rq->tables = arena_calloc(r->a, n + 1, sizeof *rq->tables);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(tables, i);
        if (!json_is_string(t) || !*json_string_value(t)) {
            page_field_error(errors, "tables", "must be an array of table names");
            return;
        }
        rq->tables[rq->ntables++] = json_string_value(t);
    }
}

void h_api_pipeline_run_queue(request *r)
{
    const char *pid = pa_id(r);
    if (!pid)
        return;
    json_t *body = pa_body(r, 1);
    if (!body)
        return;
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    json_t *errors = json_object();
    runs_request rq;
    request_from_json(r, body, &rq, errors);
    sl_errbuf eb = {0};
    int found = 1;
    sl_err e = SL_OK;
    if (json_object_size(errors) == 0)
        e = runs_check_request(r, pid, &rq, errors, &found, &eb);
    if (e || !found) {
        json_decref(errors);
        fail(r, e ? e : SL_ENOTFOUND, &eb, "no such pipeline");
        return;
    }
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "the run request is not valid", errors);
        return;
    }
    json_decref(errors);
    int64_t run_no = 0;
    e = runs_queue_for(r, pid, &rq, &run_no, &eb);
    if (e) {
        fail(r, e, &eb, "no such pipeline");
        return;
    }
    send_queued(r, run_no);
}

void h_api_runs_list(request *r)
{
    static const char *const declared[] = {"pipeline", "status", "from", "to", "limit",
                                           "cursor", NULL};
    runs_filter f;
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    runs_parse_filter(r, &f, errors, 1);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = runs_fetch(r, &f, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < f.limit; i++)
        json_array_append_new(items, runs_api_json(r, res, i));
    json_t *next = n > f.limit ? json_string(PQgetvalue(res, (int)f.limit - 1, RC_ID))
                               : json_null();
    http_send_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void h_api_run_get(request *r)
{
    const char *id = run_param(r);
    if (!id)
        return;
    if (r->query && *r->query) {
        http_problem(r, 422, "this resource takes no query parameters", NULL);
        return;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = runs_load(r, id, &res, &eb);
    json_t *tables = NULL, *quality = NULL;
    if (!e)
        e = runs_tables(r, id, 1, &tables, &eb);
    if (!e)
        e = runs_quality(r, id, &quality, &eb);
    if (e) {
        json_decref(tables);
        fail(r, e, &eb, "no such run");
        return;
    }
    json_t *o = runs_api_json(r, res, 0);
    json_object_set_new(o, "tables", tables);
    json_object_set_new(o, "quality", quality);
    http_add_header(r, "Cache-Control", "no-store");
    http_send_json(r, 200, o);
}

void h_api_run_logs(request *r)
{
    static const char *const declared[] = {"level", "after", "limit", NULL};
    const char *id = run_param(r);
    if (!id)
        return;
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    runs_log_query q = {.limit = RUNS_LOG_TAIL};
    const char *level = params_query(r, "level", errors);
    if (level && *level && !runs_level_ok(level))
        page_field_error(errors, "level", "must be debug, info, warn or error");
    q.min_level = level && *level ? level : NULL;
    const char *after = params_query(r, "after", errors);
    if (after && *after && !runs_id_ok(after))
        page_field_error(errors, "after", "must be a log line id");
    q.after_id = after && *after ? after : NULL;
    const char *limit = params_query(r, "limit", errors);
    if (limit && !params_int(limit, 1, RUNS_LOG_API_MAX, &q.limit))
        page_field_error(errors, "limit", "must be an integer from 1 to 1000");
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    char *exists = NULL;
    sl_err e = db_query_value(r->db, r->a, &eb, &exists,
                              "SELECT status FROM sluice_runs.runs WHERE id = $1::bigint", 1,
                              (const char *[]){id});
    json_t *items = NULL;
    int more = 0;
    if (!e)
        e = runs_logs(r, id, &q, &items, &more, &eb);
    if (e) {
        fail(r, e, &eb, "no such run");
        return;
    }
    size_t n = json_array_size(items);
    json_t *next = more && n ? json_string(jsonx_str(json_array_get(items, n - 1), "id", ""))
                             : json_null();
    http_add_header(r, "Cache-Control", "no-store");
    http_send_json(r, 200, json_pack("{s:o, s:o, s:s}", "items", items, "next_cursor", next,
                                     "run_status", exists));
}

void h_api_run_cancel(request *r)
{
    const char *id = run_param(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    const char *status = NULL;
    sl_err e = runs_cancel_for(r, id, &status, &eb);
    if (e) {
        fail(r, e, &eb, "no such run");
        return;
    }
    if (!status || (strcmp(status, "cancelled") != 0 && strcmp(status, "running") != 0)) {
        http_problem(r, 409, arena_printf(r->a, "run %s has already finished (%s)", id,
                                          status ? status : "unknown"), NULL);
        return;
    }
    int running = strcmp(status, "running") == 0;
    http_send_json(r, running ? 202 : 200,
                   json_pack("{s:s, s:s, s:b}", "id", id, "status", status, "cancel_requested",
                             running));
}

void h_api_run_retry(request *r)
{
    const char *id = run_param(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = runs_load(r, id, &res, &eb);
    const char **tables = NULL;
    int n = 0;
    if (!e)
        e = runs_dead_tables(r, id, &tables, &n, &eb);
    if (e) {
        fail(r, e, &eb, "no such run");
        return;
    }
    if (n == 0) {
        http_problem(r, 409, "this run has no dead letters to retry", NULL);
        return;
    }
    const char *pid = PQgetvalue(res, 0, RC_PIPELINE_ID);
    runs_request rq = {.mode = "sync", .tables = tables, .ntables = n, .retry_dead_letters = 1};
    json_t *errors = json_object();
    int found;
    e = runs_check_request(r, pid, &rq, errors, &found, &eb);
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    if (!found || json_object_size(errors) > 0) {
        http_problem(r, 409,
                     !found ? "the run's pipeline was deleted"
                            : "the pipeline's tables changed since this run",
                     errors);
        return;
    }
    json_decref(errors);
    int64_t run_no = 0;
    e = runs_queue_for(r, pid, &rq, &run_no, &eb);
    if (e) {
        fail(r, e, &eb, "no such pipeline");
        return;
    }
    send_queued(r, run_no);
}
