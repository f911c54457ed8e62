/* pipelines.c - the Pipelines pages: list, new, detail, edit (the pipeline's
 * own fields; its tables are pipeline_tables.c), pause, resume and delete
 * (soft: a confirmation page, then deleted_at and a last version).
 *
 * Forms work on plain string values ("vals", what the person typed) that
 * are turned into a pipeline and checked by the model (pipeline_model.h),
 * which the JSON API uses too. The edit forms carry the version they were
 * loaded from; a save against a newer version is refused with 409 and the
 * other person's values beside the typed ones, never written over (the
 * check runs on the row locked FOR UPDATE). Every
 * change is one transaction that appends a version. */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "notifications.h"
#include "page.h"
#include "params.h"
#include "pipeline_form.h"
#include "runs.h"
#include "triggers.h"
#include "uuid.h"
#include "worker.h"

#define LIST_PAGE 50

/* --- list --------------------------------------------------------------------------- */

static json_t *list_row(request *r, const pipeline *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "source_name", json_string(p->source_name));
    json_object_set_new(o, "destination_name", json_string(p->destination_name));
    json_object_set_new(o, "schedule", json_string(pf_schedule_text(r, p->schedule, p->timezone)));
    json_object_set_new(o, "status", json_string(p->status));
    json_object_set_new(o, "paused", json_boolean(strcmp(p->status, "paused") == 0));
    json_object_set_new(o, "tables", json_integer(p->ntables));
    json_object_set_new(o, "version", json_integer(p->version));
    json_object_set_new(o, "updated_at", json_string(p->updated_at));
    return o;
}

void h_pipelines_list(request *r)
{
    const char *after = http_query(r, "after"), *before = http_query(r, "before");
    if (after && !*after)
        after = NULL;
    if (before && !*before)
        before = NULL;
    if ((after && !uuid_valid(after)) || (before && !uuid_valid(before)) || (after && before)) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    sl_errbuf eb = {0};
    pipeline *list;
    int n;
    sl_err e = pl_list(r, after, before, LIST_PAGE, &list, &n, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int more = n > LIST_PAGE;
    if (more)
        n = LIST_PAGE;
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, list_row(r, &list[i]));
    json_t *ctx = page_ctx(r, "Pipelines", "pipelines");
    if (n > 0) {
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(list[0].id));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(list[n - 1].id));
    }
    runs_put_last(r, items); /* runs.h: last run and freshness per row */
    json_object_set_new(ctx, "items", items);
    json_object_set_new(ctx, "has_items", json_boolean(n > 0));
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    page_render(r, 200, "pipelines/list", ctx);
}

/* --- new / create ------------------------------------------------------------------- */

static void new_page(request *r, int status, json_t *vals, json_t *errors)
{
    sl_errbuf eb = {0};
    json_t *ctx = page_ctx(r, "New pipeline", "pipelines");
    sl_err e = pf_form_ctx(r, ctx, vals, NULL, &eb);
    if (e) {
        json_decref(ctx);
        json_decref(vals);
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    json_object_set_new(ctx, "vals", vals);
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    page_render(r, status, "pipelines/new", ctx);
}

void h_pipelines_new(request *r)
{
    pipeline p;
    pl_defaults(&p);
    json_t *vals = pf_vals_from_pipeline(r, &p);
    json_object_set_new(vals, "schedule_preset", json_string("daily"));
    json_object_set_new(vals, "schedule", json_string("0 3 * * *"));
    /* Preselect the only source, and the default destination. */
    char *only = NULL;
    db_query_value(r->db, r->a, NULL, &only,
                   "SELECT min(id::text) FROM sluice.sources HAVING count(*) = 1", 0, NULL);
    if (only)
        json_object_set_new(vals, "source_id", json_string(only));
    char *def = NULL;
    db_query_value(r->db, r->a, NULL, &def,
                   "SELECT id FROM sluice.destinations WHERE is_default", 0, NULL);
    if (def)
        json_object_set_new(vals, "destination_id", json_string(def));
    new_page(r, 200, vals, json_object());
}

void h_pipelines_create(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    json_t *vals = pf_vals_from_form(r), *errors = json_object();
    pipeline p;
    pl_defaults(&p);
    pf_apply_vals(r, vals, &p, errors);
    const char *message = pf_note(r, vals, errors);
    sl_err e = pl_validate(r, &p, NULL, 1, NULL, errors, &eb);
    if (e) {
        json_decref(vals);
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    int preview = strcmp(form_str(r, "_action"), "preview") == 0;
    if (json_object_size(errors) > 0 || preview) {
        new_page(r, preview && !json_object_size(errors) ? 200 : 422, vals, errors);
        return;
    }
    pl_saved saved;
    e = pl_create(r, &p, message, &saved, errors, &eb);
    if (e == SL_ECONFLICT) {
        new_page(r, 422, vals, errors);
        return;
    }
    json_decref(vals);
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    page_done(r, arena_printf(r->a, "/pipelines/%s/edit#tables", saved.id),
              arena_printf(r->a, "Pipeline \"%s\" created (version 1). Now choose its tables.",
                           p.name));
}

void h_pipeline_show(request *r)
{
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    json_t *ctx = page_ctx(r, p.name, "pipelines");
    json_object_set_new(ctx, "p", pf_pipeline_view(r, &p));
    pf_put_fires(r, ctx, p.schedule, p.timezone);
    runs_put_pipeline(r, ctx, p.id); /* runs.h: the Runs card (runs/pipeline_actions) */
    trg_put_pipeline(r, ctx, p.id);  /* triggers.h: the Triggers card (triggers/card) */
    notif_put_pipeline(r, ctx, p.id); /* notifications.h: notifications/pipeline */
    page_render(r, 200, "pipelines/show", ctx);
}

void h_pipeline_edit(request *r)
{
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    pf_edit_view v = {0};
    pf_edit_page(r, 200, &p, &v);
}

/* Table errors after a change of source belong to the source field on the
 * pipeline form (the tables form is not what was submitted). */
static void tables_summary(json_t *errors)
{
    const char *key;
    json_t *m;
    json_object_foreach(errors, key, m) {
        if (strncmp(key, "tables", 6) == 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "does not fit the pipeline's tables: %s",
                     json_string_value(m));
            page_field_error(errors, "source_id", msg);
            return;
        }
    }
}

void h_pipeline_update(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    int base = pf_form_version(r);
    int preview = strcmp(form_str(r, "_action"), "preview") == 0;
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        pf_edit_fail(r, e, &eb);
        return;
    }
    json_t *vals = pf_vals_from_form(r), *errors = json_object();
    pf_apply_vals(r, vals, &ed.next, errors);
    const char *message = pf_note(r, vals, errors);
    if (base != ed.cur.version && !preview) {
        pf_edit_view v = {.vals = vals,
                       .conflict = pf_conflict_box(r, &ed.cur, &ed.next, base,
                                                "changes were")};
        pl_edit_abort(r);
        json_decref(errors);
        pf_edit_page(r, 409, &ed.cur, &v);
        return;
    }
    e = pl_validate(r, &ed.next, &ed.cur, 1, NULL, errors, &eb);
    tables_summary(errors);
    if (e) {
        pl_edit_abort(r);
        json_decref(vals);
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    if (json_object_size(errors) > 0 || preview) {
        pl_edit_abort(r);
        pf_edit_view v = {.vals = vals, .errors = errors, .form_version = base};
        pf_edit_page(r, json_object_size(errors) > 0 ? 422 : 200, &ed.cur, &v);
        return;
    }
    pl_saved saved;
    e = pl_edit_commit(r, &ed, "pipeline.update", message, &saved, errors, &eb);
    if (e == SL_ECONFLICT) {
        pf_edit_view v = {.vals = vals, .errors = errors};
        pf_edit_page(r, 422, &ed.cur, &v);
        return;
    }
    json_decref(vals);
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    page_done(r, arena_printf(r->a, "/pipelines/%s", id),
              saved.changed ? arena_printf(r->a, "Pipeline \"%s\" saved (version %d).",
                                           ed.next.name, saved.version)
                            : "No changes to save.");
}

/* --- pause, resume, delete ---------------------------------------------------------- */

static void set_status(request *r, const char *status, const char *action)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        pf_edit_fail(r, e, &eb);
        return;
    }
    ed.next.status = status;
    pl_saved saved;
    json_t *errors = json_object();
    e = pl_edit_commit(r, &ed, action, strcmp(status, "paused") == 0 ? "paused" : "resumed",
                       &saved, errors, &eb);
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    const char *where = arena_printf(r->a, "/pipelines/%s", id);
    if (!saved.changed) {
        page_flash(r, "info", arena_printf(r->a, "Pipeline \"%s\" was already %s.",
                                           ed.cur.name, status));
        http_redirect(r, 303, where);
        return;
    }
    page_done(r, where, arena_printf(r->a, "Pipeline \"%s\" %s (version %d).", ed.cur.name,
                                     strcmp(status, "paused") == 0 ? "paused" : "resumed",
                                     saved.version));
}

void h_pipeline_pause(request *r)
{
    set_status(r, "paused", "pipeline.pause");
}

void h_pipeline_resume(request *r)
{
    set_status(r, "active", "pipeline.resume");
}

/* Names of live pipelines that depend on id, as one string ("" when none). */
static sl_err dependents(request *r, const char *id, const char **names, sl_errbuf *eb)
{
    char *v = NULL;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              "SELECT coalesce(string_agg(name, ', ' ORDER BY lower(name)), '')"
                              " FROM sluice.pipelines WHERE depends_on = $1"
                              " AND deleted_at IS NULL",
                              1, (const char *[]){id});
    *names = v ? v : "";
    return e;
}

static void delete_page(request *r, int status, const pipeline *p, const char *deps)
{
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Delete %s", p->name), "pipelines");
    json_object_set_new(ctx, "p", pf_pipeline_view(r, p));
    if (*deps)
        json_object_set_new(ctx, "refusal",
                            json_string(arena_printf(r->a, "Other pipelines depend on this one "
                                                           "(%s). Change their \"Depends on\" "
                                                           "first.", deps)));
    page_render(r, status, "pipelines/delete", ctx);
}

void h_pipeline_delete_form(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    const char *deps;
    sl_err e = dependents(r, id, &deps, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    delete_page(r, 200, &p, deps);
}

void h_pipeline_delete(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        pf_edit_fail(r, e, &eb);
        return;
    }
    const char *deps;
    e = dependents(r, id, &deps, &eb);
    if (e || *deps) {
        pl_edit_abort(r);
        if (e)
            web_db_error(r, e, &eb);
        else
            delete_page(r, 409, &ed.cur, deps);
        return;
    }
    const char *message = form_str(r, "message");
    if (params_utf8_len(message) > PL_MESSAGE_MAX || params_has_control(message))
        message = "";
    ed.next.deleted = 1;
    pl_saved saved;
    json_t *errors = json_object();
    e = pl_edit_commit(r, &ed, "pipeline.delete", *message ? message : "deleted", &saved,
                       errors, &eb);
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    page_done(r, "/pipelines", arena_printf(r->a, "Pipeline \"%s\" deleted.", ed.cur.name));
}
