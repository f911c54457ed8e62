/* pipeline_retention.c - a pipeline's own retention limits, overriding the
 * global retention settings for its runs and quality results: the page
 * /pipelines/{id}/retention and GET/PUT /api/v1/pipelines/{id}/retention.
 *
 * Overrides live in sluice.pipelines.retention (NULL: none) and are read by
 * the reaper (app/core/reaper.c). They are housekeeping, not what the
 * pipeline does, so changing them makes no new version; the change is
 * audited as 'pipeline.retention' with before and after. A field left
 * empty (null in JSON) follows the global setting. */
#include <string.h>

#include "audit.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "pipeline_api.h"
#include "setcat.h"
#include "uuid.h"
#include "worker.h"

static const char *const fields[] = {"runs_max_per_pipeline", "runs_max_age_days",
                                     "quality_log_max_per_table", NULL};

typedef struct {
    const char *id, *name;
    json_t *overrides;  /* the stored object ({} when none), in r's arena */
    json_t *globals;    /* the 'retention' settings row (may be NULL), in r's arena */
} pr_state;

/* Load a live pipeline's overrides and the global settings. SL_ENOTFOUND
 * for an unknown or deleted pipeline. With lock, the pipeline row is
 * locked in the open transaction. */
static sl_err load(request *r, const char *id, int lock, pr_state *s, sl_errbuf *eb)
{
    memset(s, 0, sizeof *s);
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        lock ? "SELECT name, retention::text FROM sluice.pipelines"
                               " WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
                             : "SELECT name, retention::text FROM sluice.pipelines"
                               " WHERE id = $1 AND deleted_at IS NULL",
                        1, (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no such pipeline");
    s->id = id;
    s->name = PQgetvalue(res, 0, 0);
    const char *text = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
    json_t *o = text ? jsonx_parse(r->a, NULL, text, strlen(text)) : NULL;
    s->overrides = json_is_object(o) ? o : jsonx_own(r->a, json_object());
    char *g = NULL;
    if (db_query_value(r->db, r->a, NULL, &g,
                       "SELECT value::text FROM sluice.settings WHERE key = 'retention'", 0,
                       NULL) == SL_OK && g)
        s->globals = jsonx_parse(r->a, NULL, g, strlen(g));
    return SL_OK;
}

/* The override of field when it is valid, else NULL (borrowed). */
static json_t *override_of(const pr_state *s, const char *field)
{
    json_t *v = json_object_get(s->overrides, field);
    const setcat_field *f = setcat_find("retention", field);
    if (!v || !json_is_integer(v) || json_integer_value(v) < f->min ||
        json_integer_value(v) > f->max)
        return NULL;
    return v;
}

/* {overrides, defaults, effective}: what the API answers. */
static json_t *state_json(const pr_state *s)
{
    json_t *ov = json_object(), *def = json_object(), *eff = json_object();
    for (int i = 0; fields[i]; i++) {
        long long g = setcat_int(s->globals, "retention", fields[i]);
        json_t *v = override_of(s, fields[i]);
        json_object_set_new(ov, fields[i], v ? json_incref(v) : json_null());
        json_object_set_new(def, fields[i], json_integer(g));
        json_object_set_new(eff, fields[i], v ? json_incref(v) : json_integer(g));
    }
    return json_pack("{s:s, s:o, s:o, s:o}", "pipeline_id", s->id, "overrides", ov, "defaults",
                     def, "effective", eff);
}

/* Store next ({field: int}, maybe empty) as the overrides, audited, in one
 * transaction. Answers on failure and returns 1; 0 when saved (*changed
 * says whether anything differed). */
static int store(request *r, const char *id, json_t *next, int *changed, int *gone)
{
    sl_errbuf eb = {0};
    pr_state s;
    *changed = 0;
    *gone = 0;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, &eb);
    if (!e)
        e = load(r, id, 1, &s, &eb);
    if (e == SL_ENOTFOUND) {
        db_rollback(r->db);
        *gone = 1;
        return 0;
    }
    json_t *before = json_object();
    for (int i = 0; !e && fields[i]; i++) {
        json_t *v = override_of(&s, fields[i]);
        if (v)
            json_object_set(before, fields[i], v);
    }
    if (!e && !json_equal(before, next)) {
        *changed = 1;
        e = db_exec(r->db, &eb,
                    "UPDATE sluice.pipelines SET retention = $2::jsonb WHERE id = $1", 2,
                    (const char *[]){id, json_object_size(next) ? jsonx_dump(r->a, next)
                                                                : NULL});
        if (!e) {
            json_t *d = json_pack("{s:s, s:O, s:O}", "name", s.name, "before", before, "after",
                                  next);
            e = audit_write(r, "pipeline.retention", "pipeline", id, d, NULL);
            json_decref(d);
        }
    }
    json_decref(before);
    if (!e && !*changed)
        r->audited = 1; /* nothing changed: nothing for the audit fallback to record */
    if (!e)
        e = db_commit(r->db, &eb);
    if (e) {
        db_rollback(r->db);
        web_db_error(r, e, &eb);
        return 1;
    }
    return 0;
}

/* --- the page ------------------------------------------------------------------------------ */

static void render(request *r, int status, const pr_state *s, const json_t *typed,
                   json_t *errors)
{
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Retention of %s", s->name), "pipelines");
    json_t *list = json_array();
    for (int i = 0; fields[i]; i++) {
        const setcat_field *f = setcat_find("retention", fields[i]);
        json_t *v = override_of(s, fields[i]);
        const json_t *t = typed ? json_object_get(typed, fields[i]) : NULL;
        const char *value = t ? json_string_value(t)
                          : v ? arena_printf(r->a, "%lld", (long long)json_integer_value(v))
                              : "";
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "name", fields[i], "id",
                              arena_printf(r->a, "r-%s", fields[i]), "label", f->label,
                              "value", value ? value : "", "global",
                              (json_int_t)setcat_int(s->globals, "retention", fields[i]), "min",
                              (json_int_t)f->min, "max", (json_int_t)f->max);
        if (f->unit)
            json_object_set_new(o, "unit", json_string(f->unit));
        json_t *err = errors ? json_object_get(errors, fields[i]) : NULL;
        if (err)
            json_object_set(o, "error", err);
        json_array_append_new(list, o);
    }
    json_object_set_new(ctx, "p", json_pack("{s:s, s:s}", "id", s->id, "name", s->name));
    json_object_set_new(ctx, "fields", list);
    json_object_set_new(ctx, "invalid", json_boolean(errors && json_object_size(errors) > 0));
    json_object_set_new(ctx, "can_edit", json_boolean(r->role >= ROLE_EDITOR));
    json_decref(errors);
    page_render(r, status, "pipelines/retention", ctx);
}

static const char *page_id(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, "no such pipeline");
        return NULL;
    }
    return id;
}

void h_pipeline_retention(request *r)
{
    const char *id = page_id(r);
    if (!id)
        return;
    pr_state s;
    sl_errbuf eb = {0};
    sl_err e = load(r, id, 0, &s, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such pipeline");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    render(r, 200, &s, NULL, NULL);
}

void h_pipeline_retention_save(request *r)
{
    const char *id = page_id(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    json_t *next = jsonx_own(r->a, json_object());
    json_t *typed = jsonx_own(r->a, json_object());
    json_t *errors = json_object();
    for (int i = 0; fields[i]; i++) {
        const char *text = form_str(r, fields[i]);
        json_object_set_new(typed, fields[i], json_string(text));
        if (!*text)
            continue;
        const setcat_field *f = setcat_find("retention", fields[i]);
        const char *msg = NULL;
        json_t *v = setcat_check_text(r->a, f, text, &msg);
        if (!v)
            page_field_error(errors, fields[i],
                             arena_printf(r->a, "%s %s, or empty for the global setting.",
                                          f->label, msg));
        else
            json_object_set_new(next, fields[i], v);
    }
    if (json_object_size(errors) > 0) {
        pr_state s;
        sl_err e = load(r, id, 0, &s, &eb);
        if (e) {
            json_decref(errors);
            if (e == SL_ENOTFOUND)
                http_error(r, 404, "no such pipeline");
            else
                web_db_error(r, e, &eb);
            return;
        }
        render(r, 422, &s, typed, errors);
        return;
    }
    json_decref(errors);
    int changed = 0, gone = 0;
    if (store(r, id, next, &changed, &gone))
        return;
    if (gone) {
        http_error(r, 404, "no such pipeline");
        return;
    }
    page_done(r, arena_printf(r->a, "/pipelines/%s", id),
              changed ? "Retention saved." : "Nothing changed.");
}

/* --- the API ------------------------------------------------------------------------------- */

static void send_state(request *r, const char *id)
{
    pr_state s;
    sl_errbuf eb = {0};
    sl_err e = load(r, id, 0, &s, &eb);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such pipeline", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, 200, state_json(&s));
}

void h_api_pipeline_retention_get(request *r)
{
    const char *id = pa_id(r);
    if (id)
        send_state(r, id);
}

void h_api_pipeline_retention_put(request *r)
{
    const char *id = pa_id(r);
    if (!id)
        return;
    json_t *body = pa_body(r, 0);
    if (!body)
        return;
    json_t *errors = json_object();
    json_t *next = jsonx_own(r->a, json_object());
    if (!json_is_object(body))
        page_field_error(errors, "body", "must be a JSON object");
    const char *key;
    json_t *v;
    if (json_is_object(body))
        json_object_foreach(body, key, v) {
            const setcat_field *f = NULL;
            for (int i = 0; fields[i]; i++)
                if (strcmp(fields[i], key) == 0)
                    f = setcat_find("retention", key);
            const char *msg = NULL;
            json_t *ok = NULL;
            if (!f)
                page_field_error(errors, key, "unknown field");
            else if (!json_is_null(v) && !(ok = setcat_check_json(r->a, f, v, &msg)))
                page_field_error(errors, key, msg);
            else if (ok)
                json_object_set_new(next, key, ok);
        }
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid retention overrides", errors);
        return;
    }
    json_decref(errors);
    int changed = 0, gone = 0;
    if (store(r, id, next, &changed, &gone))
        return;
    if (gone) {
        http_problem(r, 404, "no such pipeline", NULL);
        return;
    }
    send_state(r, id);
}
