/* retention.c - the reaper from the web: the retention panel of /settings,
 * "Run now" (a confirmation page that shows what a dry run would delete,
 * then the POST), GET /api/v1/admin/retention and POST
 * /api/v1/admin/retention/run.
 *
 * A run from the web takes at most RETENTION_WEB_BUDGET seconds (less when
 * the reaper_time_budget_seconds setting says so); what is left waits for
 * the next run, as the tick's runs do. Runs (not dry runs) are audited as
 * 'retention.run' with their counts. Only admins reach these routes. */
#include <string.h>

#include "audit.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "log.h"
#include "page.h"
#include "pipeline_api.h"
#include "reaper.h"
#include "retention.h"
#include "setcat.h"
#include "settings.h"
#include "worker.h"

static const struct {
    const char *key, *label;
} labels[] = {
    {"sessions", "Expired sessions"},
    {"login_attempts", "Sign-in attempts"},
    {"webhook_receipts", "Webhook receipts"},
    {"run_logs", "Run log lines"},
    {"quality", "Quality results"},
    {"events", "Events"},
    {"audit", "Audit entries"},
    {"pipelines", "Deleted pipelines purged"},
    {"runs", "Runs"},
    {"landing_files", "Processed landing files"},
    {"messages", "Delivered notifications"},
};

static long long num_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* Rows {label, key, count[, total]} for a counts object (and totals). */
static json_t *rows_of(const json_t *counts, const json_t *totals)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        json_t *o = json_pack("{s:s, s:s, s:I}", "key", labels[i].key, "label", labels[i].label,
                              "count", (json_int_t)num_of(counts, labels[i].key));
        if (totals)
            json_object_set_new(o, "total", json_integer(num_of(totals, labels[i].key)));
        json_array_append_new(rows, o);
    }
    return rows;
}

json_t *retention_panel(request *r)
{
    json_t *st = NULL;
    sl_errbuf eb = {0};
    if (reaper_status_json(r->db, r->a, &st, &eb) != SL_OK) {
        log_error("retention: status: %s", eb.msg);
        return json_pack("{s:b}", "unavailable", 1);
    }
    json_t *p = json_object();
    const char *at = jsonx_str(st, "last_run_at", NULL);
    json_object_set_new(p, "has_run", json_boolean(at != NULL));
    if (at) {
        json_object_set_new(p, "last_run_at", json_string(at));
        char *shown = arena_printf(r->a, "%.19s", at);
        if (strlen(shown) > 10)
            shown[10] = ' ';
        json_object_set_new(p, "last_run_shown", json_string(shown));
    }
    json_object_set_new(p, "duration_ms", json_integer(num_of(st, "last_duration_ms")));
    json_object_set_new(p, "complete", json_boolean(jsonx_bool(st, "last_complete", 1)));
    const char *err = jsonx_str(st, "last_error", NULL);
    if (err)
        json_object_set_new(p, "last_error", json_string(err));
    json_object_set_new(p, "runs", json_integer(num_of(st, "runs")));
    json_object_set_new(p, "runs_failed", json_integer(num_of(st, "runs_failed")));
    json_object_set_new(p, "rows", rows_of(json_object_get(st, "last_counts"),
                                           json_object_get(st, "totals")));
    json_object_set_new(p, "interval_minutes",
                        json_integer(settings_int_range(r->db, "retention",
                                                        "reaper_interval_minutes", 60, 1,
                                                        10080)));
    json_decref(st);
    return p;
}

/* Run the reaper on r's connection within the web's budget. */
static sl_err web_reap(request *r, int dry, reaper_result *res, sl_errbuf *eb)
{
    long long budget = settings_int_range(r->db, "retention", "reaper_time_budget_seconds", 60,
                                          1, 3600);
    reaper_opts o = {.dry_run = dry,
                     .var_dir = r->cfg->var_dir,
                     .budget_seconds = budget < RETENTION_WEB_BUDGET ? (double)budget
                                                                     : RETENTION_WEB_BUDGET};
    sl_err e = reaper_run(r->db, &o, res, eb);
    if (dry)
        r->audited = 1; /* a dry run changes nothing: no audit row */
    if (!e && !dry) {
        json_t *d = reaper_result_json(res, 0);
        audit_write(r, "retention.run", "retention", NULL, d, NULL);
        json_decref(d);
    }
    return e;
}

static long long total_of(const reaper_result *res)
{
    long long t = 0;
    for (int c = 0; c < REAP_NCATS; c++)
        t += res->counts[c];
    return t;
}

void h_settings_retention_form(request *r)
{
    reaper_result res;
    sl_errbuf eb = {0};
    sl_err e = web_reap(r, 1, &res, &eb);
    if (e == SL_ECONFLICT) {
        page_flash(r, "error", "The reaper is running right now; try again in a minute.");
        http_redirect(r, 303, "/settings#retention-status");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *j = reaper_result_json(&res, 1);
    json_t *ctx = page_ctx(r, "Apply retention now", "settings");
    json_object_set_new(ctx, "rows", rows_of(json_object_get(j, "counts"), NULL));
    json_object_set_new(ctx, "total", json_integer(total_of(&res)));
    json_object_set_new(ctx, "complete", json_boolean(res.complete));
    if (res.error[0])
        json_object_set_new(ctx, "error", json_string(res.error));
    json_decref(j);
    page_render(r, 200, "settings/retention_run", ctx);
}

void h_settings_retention_run(request *r)
{
    reaper_result res;
    sl_errbuf eb = {0};
    sl_err e = web_reap(r, 0, &res, &eb);
    if (e == SL_ECONFLICT) {
        page_flash(r, "error", "The reaper is running right now; try again in a minute.");
        http_redirect(r, 303, "/settings#retention-status");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    const char *msg = arena_printf(r->a, "Retention applied: %lld row%s deleted%s%s%s.",
                                   total_of(&res), total_of(&res) == 1 ? "" : "s",
                                   res.complete ? "" : " (out of time: the rest goes next run)",
                                   res.error[0] ? "; " : "", res.error);
    if (res.errors)
        page_flash(r, "error", msg);
    else
        page_flash(r, "ok", msg);
    http_redirect(r, 303, "/settings#retention-status");
}

void h_api_retention_status(request *r)
{
    if (r->query && *r->query) {
        http_problem(r, 422, "this resource takes no query parameters", NULL);
        return;
    }
    json_t *st = NULL;
    sl_errbuf eb = {0};
    sl_err e = reaper_status_json(r->db, r->a, &st, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, 200, st);
}

void h_api_retention_run(request *r)
{
    json_t *body = pa_body(r, 1);
    if (!body)
        return;
    json_t *errors = json_object();
    int dry = 0;
    const char *key;
    json_t *v;
    if (!json_is_object(body))
        page_field_error(errors, "body", "must be a JSON object");
    else
        json_object_foreach(body, key, v) {
            if (strcmp(key, "dry_run") != 0)
                page_field_error(errors, key, "unknown field");
            else if (!json_is_boolean(v))
                page_field_error(errors, key, "must be true or false");
            else
                dry = json_is_true(v);
        }
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid request", errors);
        return;
    }
    json_decref(errors);
    reaper_result res;
    sl_errbuf eb = {0};
    sl_err e = web_reap(r, dry, &res, &eb);
    if (e == SL_ECONFLICT) {
        http_problem(r, 409, "another process is applying retention right now; try again", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, 200, reaper_result_json(&res, dry));
}
