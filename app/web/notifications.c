/* notifications.c - the notification target pages: the list (keyset
 * pages on name), new (choose a type, then its fields), the detail page
 * (masks, the last test with the receiver's answer, the all-pipelines
 * events, the pipelines that chose it), edit ("unchanged — leave blank to
 * keep" for secrets), delete behind a confirmation page, "Send test" and
 * the all-pipelines form. The model is notification_model.c.
 *
 * A signing secret sluice makes (a new webhook target without one typed,
 * or a rotation) is shown once: the 200 page that made it (no-store,
 * never a redirect). Everything else posts, then redirects (303) with a
 * flash message; failed forms come back with 422 and the fields marked,
 * typed secrets not sent back. */
#include <string.h>

#include "audit.h"
#include "connform.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "log.h"
#include "notifications.h"
#include "page.h"
#include "params.h"
#include "sync/notify.h"
#include "worker.h"

void h_notifications_list(request *r)
{
    const char *after = http_query(r, "after"), *before = http_query(r, "before");
    const char *f[2] = {NULL, NULL};
    if (after && !*after)
        after = NULL;
    if (before && !*before)
        before = NULL;
    if ((after && before) ||
        (after && (!params_cursor_parse(r->a, after, 2, f) || !notif_cursor_ok(f))) ||
        (before && (!params_cursor_parse(r->a, before, 2, f) || !notif_cursor_ok(f)))) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = notif_list(r, f[0], f[1], before != NULL, NOTIF_PAGE, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res), more = n > NOTIF_PAGE;
    if (more)
        n = NOTIF_PAGE;
    json_t *ctx = page_ctx(r, "Notifications", "notifications");
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, notif_page_row(r, res, before ? n - 1 - i : i));
    if (n > 0) {
        int first = before ? n - 1 : 0, last = before ? 0 : n - 1;
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(notif_cursor(r, res, first)));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(notif_cursor(r, res, last)));
    }
    json_object_set_new(ctx, "items", items);
    json_object_set_new(ctx, "has_items", json_boolean(n > 0));
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    page_render(r, 200, "notifications/list", ctx);
}

/* --- forms -------------------------------------------------------------------------------- */

/* The new/edit form for f (id NULL: new). errors is stolen. */
static void form_page(request *r, int status, const char *id, PGresult *row, notif_fields *f,
                      json_t *errors)
{
    json_t *ctx = page_ctx(r, id ? arena_printf(r->a, "Edit %s", f->name)
                                 : arena_printf(r->a, "New %s target",
                                                notif_type_label(f->type)),
                           "notifications");
    json_t *fc = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b}", "name", f->name, "type",
                           f->type, "type_label", notif_type_label(f->type), "chat_id",
                           f->chat_id, "active", f->active, "rotate", f->rotate, "editing",
                           id != NULL, "retype", f->retype);
    const char *type = f->type;
    json_object_set_new(fc, "is_telegram", json_boolean(strcmp(type, "telegram") == 0));
    json_object_set_new(fc, "is_webhook", json_boolean(strcmp(type, "webhook") == 0));
    json_object_set_new(fc, "has_url", json_boolean(strcmp(type, "telegram") != 0));
    json_object_set_new(fc, "type_hint", json_string(notif_type_hint(type)));
    if (row) {
        json_t *cfg = notif_config(r, row, 0);
        json_object_set_new(fc, "url_hint", json_string(jsonx_str(cfg, "url_hint", "")));
        json_object_set_new(fc, "token_hint", json_string(jsonx_str(cfg, "token_hint", "")));
        if (!PQgetisnull(row, 0, NT_DISABLED))
            json_object_set_new(fc, "disabled_reason",
                                json_string(PQgetvalue(row, 0, NT_DISABLED)));
    }
    json_object_set_new(ctx, "f", fc);
    json_object_set_new(ctx, "action", json_string(id ? arena_printf(r->a, "/notifications/%s",
                                                                      id)
                                                      : "/notifications"));
    if (id)
        json_object_set_new(ctx, "id", json_string(id));
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    page_render(r, status, "notifications/form", ctx);
}

void h_notifications_new(request *r)
{
    const char *type = http_query(r, "type");
    if (!type || !notify_type_valid(type)) {
        json_t *ctx = page_ctx(r, "New notification target", "notifications");
        json_t *list = json_array();
        for (int i = 0; notif_types[i]; i++)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "type", notif_types[i],
                                                  "label", notif_type_label(notif_types[i]),
                                                  "hint", notif_type_hint(notif_types[i])));
        json_object_set_new(ctx, "types", list);
        json_object_set_new(ctx, "bad_type", json_boolean(type && *type));
        page_render(r, type && *type ? 404 : 200, "notifications/choose", ctx);
        return;
    }
    notif_fields f;
    notif_defaults(&f);
    f.type = type;
    form_page(r, 200, NULL, NULL, &f, json_object());
}

/* The page that shows a signing secret sluice made, once. */
static void secret_page(request *r, const char *id, const char *name, const char *secret,
                        int rotated)
{
    json_t *ctx = page_ctx(r, rotated ? "New signing secret" : "Webhook target added",
                           "notifications");
    json_object_set_new(ctx, "target", json_pack("{s:s, s:s}", "id", id, "name", name));
    json_object_set_new(ctx, "secret", json_string(secret));
    json_object_set_new(ctx, "rotated", json_boolean(rotated));
    page_render(r, 200, "notifications/secret", ctx);
}

void h_notifications_create(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    notif_fields f;
    notif_defaults(&f);
    notif_from_form(r, &f, 0);
    if (!notify_type_valid(f.type)) {
        http_error(r, 422, "choose slack, discord, telegram or webhook");
        return;
    }
    json_t *errors = json_object();
    const char *id, *made;
    if (conn_begin(r)) {
        json_decref(errors);
        return;
    }
    int rc = notif_store(r, NULL, &f, errors, &id, &made);
    if (rc == 1) {
        form_page(r, 422, NULL, NULL, &f, errors);
        return;
    }
    json_decref(errors);
    if (rc != 0)
        return;
    if (made) {
        secret_page(r, id, f.name, made, 0);
        return;
    }
    page_done(r, arena_printf(r->a, "/notifications/%s", id),
              arena_printf(r->a, "Notification target %s created. Send a test to check it.",
                           f.name));
}

/* The detail page; errors (stolen, may be NULL) belong to the
 * all-pipelines form, whose ticks are then chosen (may be NULL). */
static void show_page(request *r, int status, PGresult *res, json_t *errors, json_t *chosen)
{
    const char *id = PQgetvalue(res, 0, NT_ID);
    json_t *ctx = page_ctx(r, PQgetvalue(res, 0, NT_NAME), "notifications");
    json_t *t = notif_page_row(r, res, 0);
    json_t *global = chosen ? chosen : json_object_get(t, "all_pipelines_events");
    json_object_set_new(ctx, "global_events", notif_event_boxes(global, "all"));
    json_object_set_new(ctx, "t", t);
    json_object_set_new(ctx, "can_edit", json_boolean(r->role >= ROLE_EDITOR));
    json_object_set_new(ctx, "errors", errors ? errors : json_object());

    /* The pipelines that chose this target. */
    sl_errbuf eb = {0};
    PGresult *subs;
    sl_err e = db_query(r->db, r->a, &eb, &subs,
                        "SELECT p.id, p.name, array_to_json(n.events)::text"
                        " FROM sluice.pipeline_notifications n"
                        " JOIN sluice.pipelines p ON p.id = n.pipeline_id"
                        " WHERE n.target_id = $1 AND p.deleted_at IS NULL"
                        " ORDER BY lower(p.name), p.id LIMIT 200",
                        1, (const char *[]){id});
    json_t *list = json_array();
    if (e) {
        log_warn("notification target %s: pipelines: %s", id, eb.msg);
    } else {
        for (int i = 0; i < PQntuples(subs); i++) {
            json_t *ev = jsonx_own(r->a, notif_col_array(r, subs, i, 2));
            json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id",
                                                  PQgetvalue(subs, i, 0), "name",
                                                  PQgetvalue(subs, i, 1), "events_text",
                                                  notif_events_text(r, ev)));
        }
    }
    json_object_set_new(ctx, "has_pipelines", json_boolean(json_array_size(list) > 0));
    json_object_set_new(ctx, "pipelines", list);
    page_render(r, status, "notifications/show", ctx);
}

void h_notification_show(request *r)
{
    const char *id = notif_id_param(r);
    PGresult *res;
    if (!id || notif_load(r, id, 0, &res) != 1)
        return;
    show_page(r, 200, res, NULL, NULL);
}

void h_notification_edit(request *r)
{
    const char *id = notif_id_param(r);
    PGresult *res;
    if (!id || notif_load(r, id, 0, &res) != 1)
        return;
    notif_fields f;
    notif_from_row(r, &f, res);
    form_page(r, 200, id, res, &f, json_object());
}

void h_notification_update(request *r)
{
    sl_errbuf eb = {0};
    const char *id = notif_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    PGresult *old;
    if (conn_begin(r) || notif_load(r, id, 1, &old) != 1)
        return;
    notif_fields f;
    notif_from_row(r, &f, old);
    notif_from_form(r, &f, 1);
    json_t *errors = json_object();
    const char *saved, *made;
    int rc = notif_store(r, old, &f, errors, &saved, &made);
    if (rc == 1) {
        form_page(r, 422, id, old, &f, errors);
        return;
    }
    json_decref(errors);
    if (rc != 0)
        return;
    if (made) {
        secret_page(r, id, f.name, made, 1);
        return;
    }
    page_done(r, arena_printf(r->a, "/notifications/%s", id),
              arena_printf(r->a, "Notification target %s saved.", f.name));
}

void h_notification_delete_form(request *r)
{
    const char *id = notif_id_param(r);
    PGresult *res;
    if (!id || notif_load(r, id, 0, &res) != 1)
        return;
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Delete %s", PQgetvalue(res, 0, NT_NAME)),
                           "notifications");
    json_object_set_new(ctx, "t", notif_page_row(r, res, 0));
    page_render(r, 200, "notifications/delete", ctx);
}

void h_notification_delete(request *r)
{
    const char *id = notif_id_param(r);
    const char *name;
    if (!id || notif_delete(r, id, &name) != 0)
        return;
    page_done(r, "/notifications",
              arena_printf(r->a, "Notification target %s deleted.", name));
}

void h_notification_test(request *r)
{
    const char *id = notif_id_param(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    notif_test t;
    sl_err e = notif_send_test(r, id, &t, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such notification target");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (t.ok)
        page_flash(r, "ok", arena_printf(r->a, "Test message delivered to %s: HTTP %d in %ld ms.",
                                         t.name, t.status, t.latency_ms));
    else
        page_flash(r, "error", arena_printf(r->a, "Test message to %s failed: %s", t.name,
                                            t.error));
    http_redirect(r, 303, arena_printf(r->a, "/notifications/%s#last-test", id));
}

void h_notification_subscription(request *r)
{
    sl_errbuf eb = {0};
    const char *id = notif_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    json_t *events = jsonx_own(r->a, notif_events_from_form(r));
    PGresult *res;
    if (conn_begin(r) || notif_load(r, id, 1, &res) != 1)
        return;
    json_t *before = jsonx_own(r->a, notif_col_array(r, res, 0, NT_GLOBAL));
    sl_err e = notif_set_global(r, id, events, &eb);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return;
    }
    json_t *d = json_pack("{s:s, s:O, s:O}", "name", PQgetvalue(res, 0, NT_NAME), "from",
                          before, "to", events);
    sl_err ae = audit_write(r, "notification_target.subscribe", "notification_target", id, d,
                            NULL);
    json_decref(d);
    if (ae) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return;
    }
    if (conn_commit(r))
        return;
    const char *name = PQgetvalue(res, 0, NT_NAME);
    page_done(r, arena_printf(r->a, "/notifications/%s#all-pipelines", id),
              json_array_size(events)
                  ? arena_printf(r->a, "%s now hears every pipeline: %s.", name,
                                 notif_events_text(r, events))
                  : arena_printf(r->a, "%s no longer hears every pipeline.", name));
}

