/* runs.c - the Runs pages: the list (filters: pipeline, status, queued
 * date; keyset pagination), a run (status, timings, progress, per-table
 * statistics, logs with a level filter and "load older", quality results,
 * dead letters read from the destination), and the forms that change
 * runs: queue one from a pipeline page (Sync now, Full refresh after a
 * confirmation page, Backfill from a value), cancel (confirmation page),
 * retry dead letters.
 *
 * A queued or running run's page refreshes itself every two seconds
 * without JavaScript (<meta http-equiv="refresh"> inside <noscript>);
 * with it, static/js/runs.js polls /api/v1/runs/{id} and its logs and
 * updates the bar and the log tail in place. Queries and views are
 * runs_model.c's. */
#include <string.h>

#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "runs.h"
#include "uuid.h"
#include "worker.h"

/* --- list --------------------------------------------------------------------------- */

/* /runs?<filters>&<cursor>=<id>. */
static const char *list_link(request *r, const runs_filter *f, const char *cursor,
                             const char *id)
{
    const char *names[] = {"pipeline", "status", "from", "to"};
    const char *vals[] = {f->pipeline, f->status, f->from, f->to};
    const char *q = "";
    for (int i = 0; i < 4; i++)
        if (*vals[i])
            q = arena_printf(r->a, "%s%s%s=%s", q, *q ? "&" : "", names[i],
                             params_urlencode(r->a, vals[i]));
    if (cursor)
        q = arena_printf(r->a, "%s%s%s=%s", q, *q ? "&" : "", cursor, id);
    return *q ? arena_printf(r->a, "/runs?%s", q) : "/runs";
}

/* Options of the pipeline filter (live pipelines by name). */
static json_t *pipeline_options(request *r, const char *selected)
{
    json_t *arr = json_array();
    PGresult *res;
    if (db_query(r->db, r->a, NULL, &res,
                 "SELECT id::text, name FROM sluice.pipelines WHERE deleted_at IS NULL"
                 " ORDER BY lower(name), id LIMIT 1000",
                 0, NULL) != SL_OK)
        return arr;
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "id", PQgetvalue(res, i, 0),
                                             "name", PQgetvalue(res, i, 1), "selected",
                                             strcmp(PQgetvalue(res, i, 0), selected) == 0));
    return arr;
}

static json_t *status_options(const char *selected)
{
    static const char *const st[] = {"queued", "running", "success", "failed", "cancelled",
                                     "skipped", NULL};
    json_t *arr = json_array();
    for (int i = 0; st[i]; i++)
        json_array_append_new(arr, json_pack("{s:s, s:b}", "value", st[i], "selected",
                                             strcmp(st[i], selected) == 0));
    return arr;
}

static void list_page(request *r, int status, runs_filter *f, json_t *errors, json_t *entries,
                      json_t *pager)
{
    /* Values that cannot be shown (bad UTF-8) are blanked; errors say why. */
    const char **v[] = {&f->pipeline, &f->status, &f->from, &f->to};
    for (int i = 0; i < 4; i++)
        if (params_utf8_len(*v[i]) < 0)
            *v[i] = "";
    json_t *ctx = page_ctx(r, "Runs", "runs");
    json_object_set_new(ctx, "f", json_pack("{s:s, s:s, s:s, s:s}", "pipeline", f->pipeline,
                                            "status", f->status, "from", f->from, "to", f->to));
    json_object_set_new(ctx, "pipelines", pipeline_options(r, f->pipeline));
    json_object_set_new(ctx, "statuses", status_options(f->status));
    json_object_set_new(ctx, "filtered",
                        json_boolean(*f->pipeline || *f->status || *f->from || *f->to));
    json_object_set_new(ctx, "invalid", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "has_entries", json_boolean(json_array_size(entries) > 0));
    json_object_set_new(ctx, "entries", entries ? entries : json_array());
    json_object_set_new(ctx, "pager", pager ? pager : json_object());
    page_render(r, status, "runs/list", ctx);
}

void h_runs_list(request *r)
{
    static const char *const declared[] = {"pipeline", "status", "from", "to", "before",
                                           "after", NULL};
    runs_filter f;
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    runs_parse_filter(r, &f, errors, 0);
    if (json_object_size(errors) > 0) {
        list_page(r, 422, &f, errors, NULL, NULL);
        return;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = runs_fetch(r, &f, &res, &eb);
    int n = e ? 0 : PQntuples(res), shown = n > RUNS_PAGE ? RUNS_PAGE : n;
    int newer = 0, older = 0;
    const char *newest = NULL, *oldest = NULL;
    if (!e && shown) {
        newest = PQgetvalue(res, f.after ? shown - 1 : 0, RC_ID);
        oldest = PQgetvalue(res, f.after ? 0 : shown - 1, RC_ID);
        if (f.after) {
            newer = n > RUNS_PAGE;
            e = runs_exist_beyond(r, &f, oldest, -1, &older, &eb);
        } else {
            older = n > RUNS_PAGE;
            if (f.before)
                e = runs_exist_beyond(r, &f, newest, 1, &newer, &eb);
        }
    }
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    json_t *entries = json_array();
    for (int k = 0; k < shown; k++)
        json_array_append_new(entries, runs_page_json(r, res, f.after ? shown - 1 - k : k));
    json_t *pager = json_object();
    if (newer)
        json_object_set_new(pager, "newer", json_string(list_link(r, &f, "after", newest)));
    if (older)
        json_object_set_new(pager, "older", json_string(list_link(r, &f, "before", oldest)));
    if (!shown && (f.before || f.after))
        json_object_set_new(pager, "newest", json_string(list_link(r, &f, NULL, NULL)));
    list_page(r, 200, &f, errors, entries, pager);
}

/* --- one run ------------------------------------------------------------------------ */

/* The {id} path parameter when it is a run id; otherwise answers 404. */
static const char *run_param(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!runs_id_ok(id)) {
        http_error(r, 404, "no such run");
        return NULL;
    }
    return id;
}

/* Load the run of the path: the row, or NULL after answering. */
static PGresult *load_run(request *r, const char **id)
{
    *id = run_param(r);
    if (!*id)
        return NULL;
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = runs_load(r, *id, &res, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such run");
        return NULL;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return NULL;
    }
    return res;
}

static json_t *level_options(const char *selected)
{
    static const char *const v[] = {"", "info", "warn", "error", "debug", NULL};
    static const char *const l[] = {"All levels", "Info and above", "Warnings and errors",
                                    "Errors only", "Debug and above", NULL};
    json_t *arr = json_array();
    for (int i = 0; v[i]; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "value", v[i], "label", l[i],
                                             "selected", strcmp(v[i], selected) == 0));
    return arr;
}

/* ctx.logs, logs_older (link), logs_latest (link when not at the end),
 * last_log_id; 0 or -1 after answering an error. */
static int put_logs(request *r, json_t *ctx, const char *id, const char *level,
                    const char *older)
{
    runs_log_query q = {.min_level = *level ? level : NULL, .before_id = older, .tail = 1,
                        .limit = RUNS_LOG_TAIL};
    json_t *items;
    int more;
    sl_errbuf eb = {0};
    sl_err e = runs_logs(r, id, &q, &items, &more, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    const char *lv = *level ? arena_printf(r->a, "level=%s&", level) : "";
    size_t n = json_array_size(items);
    if (more && n)
        json_object_set_new(ctx, "logs_older",
                            json_string(arena_printf(r->a, "/runs/%s?%solder=%s#logs", id, lv,
                                                     jsonx_str(json_array_get(items, 0), "id",
                                                               ""))));
    if (older)
        json_object_set_new(ctx, "logs_latest",
                            json_string(arena_printf(r->a, "/runs/%s%s%s#logs", id,
                                                     *level ? "?level=" : "", level)));
    if (n && !older)
        json_object_set_new(ctx, "last_log_id",
                            json_string(jsonx_str(json_array_get(items, n - 1), "id", "")));
    json_object_set_new(ctx, "has_logs", json_boolean(n > 0));
    json_object_set_new(ctx, "logs", items);
    return 0;
}

void h_run_show(request *r)
{
    static const char *const declared[] = {"level", "older", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    const char *level = params_query(r, "level", errors);
    const char *older = params_query(r, "older", errors);
    if (level && *level && !runs_level_ok(level))
        page_field_error(errors, "level", "must be debug, info, warn or error");
    if (older && *older && !runs_id_ok(older))
        page_field_error(errors, "older", "must be a log line id");
    if (json_object_size(errors) > 0) {
        http_error(r, 400, arena_printf(r->a, "bad link: %s", jsonx_dump(r->a, errors)));
        json_decref(errors);
        return;
    }
    json_decref(errors);
    level = level ? level : "";
    older = older && *older ? older : NULL;
    const char *id;
    PGresult *res = load_run(r, &id);
    if (!res)
        return;
    json_t *run = runs_page_json(r, res, 0);
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Run %s", id), "runs");
    json_object_set_new(ctx, "run", run);
    int active = json_is_true(json_object_get(run, "active"));
    int editor = r->role >= ROLE_EDITOR;
    json_object_set_new(ctx, "refresh", json_boolean(active));
    json_object_set_new(ctx, "can_cancel", json_boolean(active && editor));
    json_object_set_new(ctx, "level", json_string(level));
    json_object_set_new(ctx, "level_filtered", json_boolean(*level != '\0'));
    json_object_set_new(ctx, "levels", level_options(level));
    json_object_set_new(ctx, "viewing_older", json_boolean(older != NULL));
    sl_errbuf eb = {0};
    json_t *tables = NULL, *quality = NULL;
    sl_err e = runs_tables(r, id, 0, &tables, &eb);
    if (!e)
        e = runs_quality(r, id, &quality, &eb);
    if (e) {
        json_decref(tables);
        json_decref(ctx);
        web_db_error(r, e, &eb);
        return;
    }
    json_object_set_new(ctx, "has_tables", json_boolean(json_array_size(tables) > 0));
    json_object_set_new(ctx, "tables", tables);
    json_object_set_new(ctx, "has_quality", json_boolean(json_array_size(quality) > 0));
    json_object_set_new(ctx, "quality", quality);
    if (put_logs(r, ctx, id, level, older) != 0) {
        json_decref(ctx);
        return;
    }
    if (json_is_true(json_object_get(run, "has_dead_letters"))) {
        json_t *dead = NULL;
        const char *problem = NULL;
        e = runs_dead_letters(r, id, &dead, &problem, &eb);
        if (e) {
            json_decref(ctx);
            web_db_error(r, e, &eb);
            return;
        }
        json_t *d = json_object();
        if (problem)
            json_object_set_new(d, "problem", json_string(problem));
        if (dead) {
            size_t n = json_array_size(dead);
            if (n > RUNS_DEAD_MAX) {
                json_array_remove(dead, n - 1);
                json_object_set_new(d, "more", json_true());
            }
            json_object_set_new(d, "has_items", json_boolean(json_array_size(dead) > 0));
            json_object_set_new(d, "items", dead);
        }
        json_object_set_new(ctx, "dead", d);
        json_object_set_new(ctx, "can_retry", json_boolean(editor && !active));
    }
    page_render(r, 200, "runs/show", ctx);
}

/* --- cancel and retry --------------------------------------------------------------- */

void h_run_cancel_form(request *r)
{
    const char *id;
    PGresult *res = load_run(r, &id);
    if (!res)
        return;
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Cancel run %s", id), "runs");
    json_object_set_new(ctx, "run", runs_page_json(r, res, 0));
    page_render(r, 200, "runs/cancel", ctx);
}

void h_run_cancel(request *r)
{
    sl_errbuf eb = {0};
    const char *id = run_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *status = NULL;
    sl_err e = runs_cancel_for(r, id, &status, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such run");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    const char *where = arena_printf(r->a, "/runs/%s", id);
    if (status && strcmp(status, "cancelled") == 0)
        page_done(r, where, arena_printf(r->a, "Run %s cancelled.", id));
    else if (status && strcmp(status, "running") == 0)
        page_done(r, where,
                  arena_printf(r->a, "Run %s will stop at the next chunk boundary; what was "
                                     "committed before stays.", id));
    else {
        page_flash(r, "info", arena_printf(r->a, "Run %s had already finished (%s).", id,
                                           status ? status : "?"));
        http_redirect(r, 303, where);
    }
}

void h_run_retry(request *r)
{
    sl_errbuf eb = {0};
    const char *id;
    PGresult *res = load_run(r, &id);
    if (!res)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *where = arena_printf(r->a, "/runs/%s", id);
    const char **tables;
    int n;
    sl_err e = runs_dead_tables(r, id, &tables, &n, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (n == 0) {
        page_flash(r, "info", "This run has no dead letters to retry.");
        http_redirect(r, 303, where);
        return;
    }
    const char *pid = PQgetvalue(res, 0, RC_PIPELINE_ID);
    runs_request rq = {.mode = "sync", .tables = tables, .ntables = n, .retry_dead_letters = 1};
    json_t *errors = json_object();
    int found;
    e = runs_check_request(r, pid, &rq, errors, &found, &eb);
    int64_t run_no = 0;
    if (!e && found && json_object_size(errors) == 0)
        e = runs_queue_for(r, pid, &rq, &run_no, &eb);
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    if (!found || json_object_size(errors) > 0) {
        page_flash(r, "error",
                   !found ? "The pipeline of this run was deleted; nothing to retry into."
                          : arena_printf(r->a, "Cannot retry: %s",
                                         jsonx_str(errors, "tables", "the tables changed")));
        json_decref(errors);
        http_redirect(r, 303, where);
        return;
    }
    json_decref(errors);
    page_done(r, arena_printf(r->a, "/runs/%lld", (long long)run_no),
              arena_printf(r->a, "Run %lld queued to retry the dead letters of run %s.",
                           (long long)run_no, id));
}

/* --- queue from a pipeline ---------------------------------------------------------- */

/* The pipeline of the path: its name, or NULL after answering 404. */
static const char *pipeline_of_path(request *r, const char **id)
{
    *id = http_path_param(r, "id");
    char *name = NULL;
    sl_errbuf eb = {0};
    sl_err e = SL_ENOTFOUND;
    if (*id && uuid_valid(*id))
        e = db_query_value(r->db, r->a, &eb, &name,
                           "SELECT name FROM sluice.pipelines WHERE id = $1::uuid"
                           " AND deleted_at IS NULL",
                           1, (const char *[]){*id});
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such pipeline");
        return NULL;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return NULL;
    }
    return name;
}

static void queue_page(request *r, int status, const char *pid, const char *name,
                       const char *mode, const char *backfill, json_t *errors)
{
    static const char *const modes[] = {"sync", "full_refresh", "backfill", NULL};
    static const char *const labels[] = {"Sync now", "Full refresh", "Backfill", NULL};
    const char *m = "sync";
    for (int i = 0; mode && modes[i]; i++)
        if (strcmp(mode, modes[i]) == 0)
            m = modes[i];
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Run %s", name), "pipelines");
    json_object_set_new(ctx, "pipeline", json_pack("{s:s, s:s}", "id", pid, "name", name));
    json_t *opts = json_array();
    for (int i = 0; modes[i]; i++)
        json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", modes[i], "label",
                                              labels[i], "selected", strcmp(m, modes[i]) == 0));
    json_object_set_new(ctx, "modes", opts);
    json_object_set_new(ctx, "is_sync", json_boolean(strcmp(m, "sync") == 0));
    json_object_set_new(ctx, "is_full_refresh", json_boolean(strcmp(m, "full_refresh") == 0));
    json_object_set_new(ctx, "is_backfill", json_boolean(strcmp(m, "backfill") == 0));
    json_object_set_new(ctx, "mode", json_string(m));
    json_object_set_new(ctx, "backfill_from",
                        json_string(backfill && params_utf8_len(backfill) >= 0 ? backfill : ""));
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    page_render(r, status, "runs/new", ctx);
}

void h_pipeline_run_form(request *r)
{
    const char *pid;
    const char *name = pipeline_of_path(r, &pid);
    if (!name)
        return;
    const char *mode = http_query(r, "mode");
    queue_page(r, 200, pid, name, mode, http_query(r, "backfill_from"), json_object());
}

void h_pipeline_run_queue(request *r)
{
    sl_errbuf eb = {0};
    const char *pid;
    const char *name = pipeline_of_path(r, &pid);
    if (!name)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    runs_request rq = {.mode = form_str(r, "mode"), .backfill_from = form_str(r, "backfill_from")};
    const char *table = form_str(r, "table");
    if (*table) {
        rq.tables = arena_calloc(r->a, 1, sizeof *rq.tables);
        rq.tables[0] = table;
        rq.ntables = 1;
    }
    json_t *errors = json_object();
    int found;
    sl_err e = runs_check_request(r, pid, &rq, errors, &found, &eb);
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    if (!found) {
        json_decref(errors);
        http_error(r, 404, "no such pipeline");
        return;
    }
    if (json_object_size(errors) > 0) {
        queue_page(r, 422, pid, name, rq.mode, form_str(r, "backfill_from"), errors);
        return;
    }
    json_decref(errors);
    int64_t run_no = 0;
    e = runs_queue_for(r, pid, &rq, &run_no, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such pipeline");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    const char *what = strcmp(rq.mode, "full_refresh") == 0 ? "Full refresh"
                       : strcmp(rq.mode, "backfill") == 0
                           ? arena_printf(r->a, "Backfill from %s", rq.backfill_from)
                           : "Sync";
    page_done(r, arena_printf(r->a, "/runs/%lld", (long long)run_no),
              arena_printf(r->a, "%s of \"%s\" queued as run %lld; it starts within seconds "
                                 "when a tick is running.",
                           what, name, (long long)run_no));
}
