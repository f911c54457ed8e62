/* notifications_api.c - notification targets in the JSON API:
 * /api/v1/notification-targets (GET list with ?limit= and ?cursor=, POST),
 * /{id} (GET, PATCH, DELETE) and /{id}/test (POST). Bodies are checked
 * member by member (unknown and read-only members are 422); answers show
 * masks (url_masked, bot_token_masked), never secrets, except a signing
 * secret sluice made, returned once as signing_secret. The model is
 * notification_model.c. */
#include <string.h>

#include "connform.h"
#include "handlers.h"
#include "jsonx.h"
#include "notifications.h"
#include "page.h"
#include "params.h"
#include "worker.h"

static const char *const api_fields[] = {"name", "type", "active", "url", "bot_token",
                                         "chat_id", "signing_secret", "rotate_signing_secret",
                                         "all_pipelines_events", NULL};
static const char *const api_readonly[] = {"id", "disabled_reason", "url_masked",
                                           "bot_token_masked", "has_signing_secret",
                                           "pipeline_subscriptions", "last_test", "created_at",
                                           "updated_at", NULL};

void h_api_notification_targets_list(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[2];
    params_page(r, 2, notif_cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = notif_list(r, key[0], key[1], 0, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, notif_api_row(r, res, i));
    http_send_json(r, 200, params_page_json(items, n > limit ? notif_cursor(r, res, (int)limit - 1)
                                                             : NULL));
}

void h_api_notification_target_get(request *r)
{
    const char *id = notif_id_param(r);
    PGresult *res;
    if (!id || notif_load(r, id, 0, &res) != 1)
        return;
    http_send_json(r, 200, notif_api_row(r, res, 0));
}

/* Answer a stored change with the row as it is now (and a secret made). */
static void answer_row(request *r, int status, const char *id, const char *made)
{
    PGresult *res;
    if (notif_load(r, id, 0, &res) != 1)
        return;
    json_t *o = notif_api_row(r, res, 0);
    if (made)
        json_object_set_new(o, "signing_secret", json_string(made));
    if (status == 201)
        http_add_header(r, "Location",
                        arena_printf(r->a, "/api/v1/notification-targets/%s", id));
    http_send_json(r, status, o);
}

void h_api_notification_target_create(request *r)
{
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    notif_fields f;
    notif_defaults(&f);
    notif_from_json(r, body, &f, errors);
    if (json_object_get(body, "rotate_signing_secret"))
        page_field_error(errors, "rotate_signing_secret", "only when changing a target");
    if (!*f.type)
        page_field_error(errors, "type", "choose slack, discord, telegram or webhook");
    const char *id, *made;
    if (conn_begin(r)) {
        json_decref(errors);
        return;
    }
    int rc = notif_store(r, NULL, &f, errors, &id, &made);
    if (rc == 1) {
        http_problem(r, 422, "the notification target was not created", errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        answer_row(r, 201, id, made);
}

void h_api_notification_target_patch(request *r)
{
    const char *id = notif_id_param(r);
    if (!id)
        return;
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    PGresult *old;
    if (conn_begin(r) || notif_load(r, id, 1, &old) != 1)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    notif_fields f;
    notif_from_row(r, &f, old);
    const char *type = f.type;
    notif_from_json(r, body, &f, errors);
    if (strcmp(type, f.type) != 0) {
        page_field_error(errors, "type", "cannot change; make a new target of the other type");
        f.type = type;
    }
    const char *saved, *made;
    int rc = notif_store(r, old, &f, errors, &saved, &made);
    if (rc == 1) {
        http_problem(r, 422, "the notification target was not changed", errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        answer_row(r, 200, id, made);
}

void h_api_notification_target_delete(request *r)
{
    const char *id = notif_id_param(r);
    const char *name;
    if (id && notif_delete(r, id, &name) == 0)
        http_set_status(r, 204);
}

void h_api_notification_target_test(request *r)
{
    const char *id = notif_id_param(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    notif_test t;
    sl_err e = notif_send_test(r, id, &t, &eb);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such notification target", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, 200,
                   json_pack("{s:b, s:i, s:I, s:o, s:o, s:s, s:s}", "ok", t.ok, "status",
                             t.status, "latency_ms", (json_int_t)t.latency_ms, "error",
                             t.error ? json_string(t.error) : json_null(), "answer",
                             t.answer ? json_string(t.answer) : json_null(), "url", t.url,
                             "tested_at", t.tested_at));
}

