/* triggers.c - the Triggers pages: the card on the pipeline page (its
 * partial triggers/card, filled by trg_put_pipeline), the full list of a
 * pipeline's triggers, add, edit (cooldown, upstream or zone), enable and
 * disable, delete and rotate a webhook's secret (each behind a confirmation
 * page that works without JavaScript).
 *
 * Adding a webhook trigger or rotating its secret answers 200 with the
 * secret page (no-store, never a redirect): the secret is in that one
 * response and nowhere else, not in a URL, a flash message, a log line or
 * the audit trail. Everything else posts, then redirects (303) back to the
 * pipeline page with a flash message. Entry points: the h_*trigger*
 * handlers. */
#include <string.h>

#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "pipeline_form.h"
#include "triggers.h"
#include "uuid.h"
#include "worker.h"

static void not_found(request *r)
{
    http_error(r, 404, "no such trigger");
}

/* Answer a failed load or change: 404 for SL_ENOTFOUND, else the database
 * error. */
static void fail(request *r, sl_err e, const sl_errbuf *eb)
{
    if (e == SL_ENOTFOUND)
        not_found(r);
    else
        web_db_error(r, e, eb);
}

/* Load the trigger of the {id} path parameter into *res; 0 after
 * answering. */
static int load(request *r, PGresult **res)
{
    sl_errbuf eb = {0};
    sl_err e = trg_load(r, http_path_param(r, "id"), 0, res, &eb);
    if (e) {
        fail(r, e, &eb);
        return 0;
    }
    return 1;
}

static const char *back_to(request *r, const char *pipeline_id)
{
    return arena_printf(r->a, "/pipelines/%s#triggers", pipeline_id);
}

/* --- list ------------------------------------------------------------------------------- */

void h_pipeline_triggers(request *r)
{
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    const char *after = http_query(r, "after");
    if (after && !uuid_valid(after))
        after = NULL;
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = trg_list(r, id, NULL, after, TRIGGERS_PAGE, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < TRIGGERS_PAGE; i++)
        json_array_append_new(items, trg_page_json(r, res, i));
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Triggers of %s", p.name), "pipelines");
    json_object_set_new(ctx, "pipeline", json_pack("{s:s, s:s}", "id", p.id, "name", p.name));
    json_object_set_new(ctx, "triggers",
                        json_pack("{s:o, s:b, s:s}", "items", items, "has_items", n > 0,
                                  "pipeline_id", p.id));
    json_object_set_new(ctx, "paged", json_boolean(after != NULL));
    if (n > TRIGGERS_PAGE)
        json_object_set_new(ctx, "next", json_string(PQgetvalue(res, TRIGGERS_PAGE - 1, TC_ID)));
    page_render(r, 200, "triggers/list", ctx);
}

/* --- add and edit ----------------------------------------------------------------------- */

static const struct {
    const char *value, *label, *hint;
} type_choices[] = {
    {"pipeline_success", "Another pipeline succeeds",
     "Runs this pipeline after each successful run of the pipeline you choose."},
    {"landing_zone_upload", "A file lands in a zone",
     "Runs this pipeline when a file is uploaded to the landing zone you name."},
    {"webhook", "A signed webhook arrives",
     "Gives you a URL and a secret; a POST signed with the secret (Standard Webhooks) runs "
     "this pipeline."},
};

/* The form page for pipeline p: new (t NULL) or edit trigger t (its page
 * view). vals: what was typed (NULL: defaults / the trigger's values);
 * errors stolen (NULL: none). */
static void form_page(request *r, int status, const pipeline *p, json_t *t, json_t *vals,
                      json_t *errors)
{
    const char *type = vals ? jsonx_str(vals, "type", "") : t ? jsonx_str(t, "type", "") : "";
    const char *upstream = vals ? jsonx_str(vals, "upstream_pipeline_id", "")
                                : t ? jsonx_str(t, "upstream_id", "") : "";
    sl_errbuf eb = {0};
    json_t *choices = NULL;
    sl_err e = trg_upstream_choices(r, p->id, upstream, &choices, &eb);
    if (e) {
        json_decref(t);
        json_decref(vals);
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    json_t *ctx = page_ctx(r, t ? "Edit trigger" : "Add a trigger", "pipelines");
    json_object_set_new(ctx, "pipeline", json_pack("{s:s, s:s}", "id", p->id, "name", p->name));
    json_t *types = json_array();
    for (size_t i = 0; i < sizeof type_choices / sizeof type_choices[0]; i++)
        json_array_append_new(types,
                              json_pack("{s:s, s:s, s:s, s:b}", "value", type_choices[i].value,
                                        "label", type_choices[i].label, "hint",
                                        type_choices[i].hint, "checked",
                                        strcmp(type, type_choices[i].value) == 0));
    json_object_set_new(ctx, "types", types);
    json_object_set_new(ctx, "upstreams", choices);
    json_object_set_new(ctx, "zones", trg_zone_choices(r));
    json_object_set_new(ctx, "has_upstreams", json_boolean(json_array_size(choices) > 0));
    if (!vals) {
        vals = json_object();
        json_object_set_new(vals, "zone_name",
                            json_string(t ? jsonx_str(t, "zone_name", "") : ""));
        json_object_set_new(vals, "cooldown_seconds",
                            t ? json_incref(json_object_get(t, "cooldown_seconds"))
                              : json_integer(TRIGGER_COOLDOWN_DEFAULT));
        json_object_set_new(vals, "enabled",
                            json_boolean(!t || json_is_true(json_object_get(t, "enabled"))));
    }
    json_object_set_new(ctx, "vals", vals);
    json_object_set_new(ctx, "errors", errors ? errors : json_object());
    json_object_set_new(ctx, "show_upstream",
                        json_boolean(!t || json_is_true(json_object_get(t, "is_success"))));
    json_object_set_new(ctx, "show_zone",
                        json_boolean(!t || json_is_true(json_object_get(t, "is_landing"))));
    if (t) {
        json_object_set_new(ctx, "trigger", t);
        json_object_set_new(ctx, "editing", json_true());
    }
    page_render(r, status, "triggers/form", ctx);
}

void h_pipeline_trigger_new(request *r)
{
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    form_page(r, 200, &p, NULL, NULL, NULL);
}

/* The typed values of the add / edit form, as trg_input (fields of other
 * types ignored) and as vals for re-rendering; errors get what does not
 * parse. */
static void read_form(request *r, const char *type, trg_input *in, json_t *vals, json_t *errors)
{
    in->type = type;
    in->upstream = in->zone = NULL;
    in->cooldown = -1;
    const char *up = form_str(r, "upstream_pipeline_id");
    const char *zone = form_str(r, "zone_name");
    const char *cool = form_str(r, "cooldown_seconds");
    if (strcmp(type, "pipeline_success") == 0)
        in->upstream = up;
    else if (strcmp(type, "landing_zone_upload") == 0)
        in->zone = zone;
    if (!*cool)
        page_field_error(errors, "cooldown_seconds", "Enter a number of seconds (0 for none).");
    else if (!params_int(cool, 0, TRIGGER_COOLDOWN_MAX, &in->cooldown))
        in->cooldown = -2; /* trg_check says what is wrong */
    in->enabled = form_bool(r, "enabled");
    json_object_set_new(vals, "type", json_string(type));
    json_object_set_new(vals, "upstream_pipeline_id", json_string(up));
    json_object_set_new(vals, "zone_name", json_string(zone));
    json_object_set_new(vals, "cooldown_seconds", json_string(cool));
    json_object_set_new(vals, "enabled", json_boolean(in->enabled));
}

/* The secret page: shown once, after adding a webhook trigger or rotating
 * its secret. */
static void secret_page(request *r, const pipeline *p, const char *id, const char *secret,
                        int rotated)
{
    json_t *ctx = page_ctx(r, rotated ? "New webhook secret" : "Webhook trigger added",
                           "pipelines");
    json_object_set_new(ctx, "pipeline", json_pack("{s:s, s:s}", "id", p->id, "name", p->name));
    json_object_set_new(ctx, "trigger_id", json_string(id));
    json_object_set_new(ctx, "url", json_string(trg_hook_url(r, id)));
    json_object_set_new(ctx, "secret", json_string(secret));
    json_object_set_new(ctx, "secret_key", json_string(secret + strlen("whsec_")));
    json_object_set_new(ctx, "rotated", json_boolean(rotated));
    page_render(r, 200, "triggers/secret", ctx);
}

void h_pipeline_trigger_create(request *r)
{
    const char *id = pf_id_param(r);
    pipeline p;
    if (!id || pf_load(r, id, &p) != 1)
        return;
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *type = form_str(r, "type");
    trg_input in;
    json_t *vals = json_object(), *errors = json_object();
    read_form(r, type, &in, vals, errors);
    trg_check(&in, NULL, 1, "", errors);
    const char *tid = NULL, *secret = NULL;
    sl_err e = SL_EINVAL;
    if (json_object_size(errors) == 0)
        e = trg_create(r, p.id, &in, "", errors, &tid, &secret, &eb);
    if (e == SL_EINVAL) {
        form_page(r, 422, &p, NULL, vals, errors);
        return;
    }
    json_decref(vals);
    json_decref(errors);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    if (secret) {
        secret_page(r, &p, tid, secret, 0);
        return;
    }
    page_done(r, back_to(r, p.id), "Trigger added.");
}

/* Load the {id} trigger and its pipeline for an edit page; 0 after
 * answering. */
static int load_with_pipeline(request *r, PGresult **res, pipeline *p)
{
    if (!load(r, res))
        return 0;
    return pf_load(r, PQgetvalue(*res, 0, TC_PIPELINE_ID), p) == 1;
}

void h_trigger_edit(request *r)
{
    PGresult *res;
    pipeline p;
    if (!load_with_pipeline(r, &res, &p))
        return;
    form_page(r, 200, &p, trg_page_json(r, res, 0), NULL, NULL);
}

void h_trigger_update(request *r)
{
    PGresult *res;
    pipeline p;
    if (!load_with_pipeline(r, &res, &p))
        return;
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *id = PQgetvalue(res, 0, TC_ID), *type = PQgetvalue(res, 0, TC_TYPE);
    trg_input in;
    json_t *vals = json_object(), *errors = json_object();
    read_form(r, type, &in, vals, errors);
    trg_check(&in, type, 0, "", errors);
    int changed = 0;
    sl_err e = SL_EINVAL;
    if (json_object_size(errors) == 0)
        e = trg_update(r, id, &in, "", errors, &changed, &eb);
    if (e == SL_EINVAL) {
        form_page(r, 422, &p, trg_page_json(r, res, 0), vals, errors);
        return;
    }
    json_decref(vals);
    json_decref(errors);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    page_done(r, back_to(r, p.id), changed ? "Trigger saved." : "Nothing changed.");
}

/* --- enable / disable ------------------------------------------------------------------- */

static void set_enabled(request *r, int enabled)
{
    PGresult *res;
    if (!load(r, &res))
        return;
    trg_input in = {.cooldown = -1, .enabled = enabled};
    json_t *errors = json_object();
    int changed = 0;
    sl_errbuf eb = {0};
    sl_err e = trg_update(r, PQgetvalue(res, 0, TC_ID), &in, "", errors, &changed, &eb);
    json_decref(errors);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    page_done(r, back_to(r, PQgetvalue(res, 0, TC_PIPELINE_ID)),
              enabled ? "Trigger enabled." : "Trigger disabled.");
}

void h_trigger_enable(request *r)
{
    set_enabled(r, 1);
}

void h_trigger_disable(request *r)
{
    set_enabled(r, 0);
}

/* --- delete and rotate (confirmation pages) --------------------------------------------- */

static void confirm_page(request *r, const char *tpl, const char *title)
{
    PGresult *res;
    if (!load(r, &res))
        return;
    json_t *ctx = page_ctx(r, title, "pipelines");
    json_t *t = trg_page_json(r, res, 0);
    if (strcmp(tpl, "triggers/rotate") == 0 && !json_is_true(json_object_get(t, "is_webhook"))) {
        json_decref(t);
        json_decref(ctx);
        http_error(r, 409, "only a webhook trigger has a secret");
        return;
    }
    json_object_set_new(ctx, "trigger", t);
    page_render(r, 200, tpl, ctx);
}

void h_trigger_delete_form(request *r)
{
    confirm_page(r, "triggers/delete", "Delete trigger");
}

void h_trigger_delete(request *r)
{
    const char *pid = NULL;
    sl_errbuf eb = {0};
    sl_err e = trg_delete(r, http_path_param(r, "id"), &pid, &eb);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    page_done(r, back_to(r, pid), "Trigger deleted.");
}

void h_trigger_rotate_form(request *r)
{
    confirm_page(r, "triggers/rotate", "Rotate webhook secret");
}

void h_trigger_rotate(request *r)
{
    PGresult *res;
    pipeline p;
    if (!load_with_pipeline(r, &res, &p))
        return;
    const char *secret = NULL;
    sl_errbuf eb = {0};
    sl_err e = trg_rotate(r, PQgetvalue(res, 0, TC_ID), &secret, &eb);
    if (e == SL_EUNSUPPORTED) {
        http_error(r, 409, "only a webhook trigger has a secret");
        return;
    }
    if (e) {
        fail(r, e, &eb);
        return;
    }
    secret_page(r, &p, PQgetvalue(res, 0, TC_ID), secret, 1);
}
