/* deliveries_api.c - the JSON API of notification deliveries:
 *   GET    /api/v1/notification-targets/{id}/deliveries  a target's attempts
 *   GET    /api/v1/notification-messages                 ?status= &target_id=
 *   POST   /api/v1/notification-messages/{id}/retry      a dead letter again
 *   DELETE /api/v1/notification-messages/{id}            discard a dead letter
 *
 * Lists are newest first and follow the paging convention (?limit=,
 * ?cursor= holding the last id; {items, next_cursor}); undeclared or bad
 * parameters are 422. Unknown or malformed ids are 404; retrying or
 * discarding a message that is not dead is 409, and so is retrying one
 * whose target is deleted or disabled. Changes are audited
 * (deliveries_model.c). */
#include <string.h>

#include "deliveries.h"
#include "handlers.h"
#include "page.h"
#include "params.h"
#include "uuid.h"
#include "worker.h"

static int cursor_ok(const char *const *f)
{
    return dlv_id_ok(f[0]);
}

static void fail(request *r, sl_err e, const sl_errbuf *eb, const char *what)
{
    if (e == SL_ENOTFOUND)
        http_problem(r, 404, what, NULL);
    else
        web_db_error(r, e, eb);
}

/* A list answer from rows res of which the first limit are items. */
static void send_list(request *r, PGresult *res, long long limit, int id_col,
                      json_t *(*item)(request *, PGresult *, int))
{
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, item(r, res, i));
    const char *next = NULL;
    if (n > limit)
        next = params_cursor_make(r->a, 1,
                                  (const char *[]){PQgetvalue(res, (int)limit - 1, id_col)});
    http_send_json(r, 200, params_page_json(items, next));
}

void h_api_target_deliveries(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = dlv_target(r, http_path_param(r, "id"), &res, &eb);
    if (e) {
        fail(r, e, &eb, "no such notification target");
        return;
    }
    const char *target = PQgetvalue(res, 0, TG_ID);
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[1];
    params_page(r, 1, cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    e = dlv_attempts(r, target, key[0], NULL, limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    send_list(r, res, limit, DC_ID, dlv_attempt_json);
}

void h_api_messages_list(request *r)
{
    static const char *const declared[] = {"status", "target_id", "limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    const char *status = params_query(r, "status", errors);
    if (status && strcmp(status, "queued") != 0 && strcmp(status, "delivered") != 0 &&
        strcmp(status, "dead") != 0)
        page_field_error(errors, "status", "must be queued, delivered or dead");
    const char *target = params_query(r, "target_id", errors);
    if (target && !uuid_valid(target))
        page_field_error(errors, "target_id", "must be a notification target id (a UUID)");
    long long limit;
    const char *key[1];
    params_page(r, 1, cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = dlv_messages(r, target, status, key[0], NULL, limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    send_list(r, res, limit, MC_ID, dlv_message_json);
}

/* The message of the {id} path parameter, answering 404 / 409 (not dead)
 * itself; NULL then. */
static PGresult *dead_message(request *r, const char *verb)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = dlv_message(r, http_path_param(r, "id"), &res, &eb);
    if (e) {
        fail(r, e, &eb, "no such notification message");
        return NULL;
    }
    const char *status = PQgetvalue(res, 0, MC_STATUS);
    if (strcmp(status, "dead") != 0) {
        http_problem(r, 409,
                     arena_printf(r->a, "only dead letters can be %s; this message is %s",
                                  verb, status),
                     NULL);
        return NULL;
    }
    return res;
}

void h_api_message_retry(request *r)
{
    PGresult *res = dead_message(r, "retried");
    if (!res)
        return;
    const char *id = PQgetvalue(res, 0, MC_ID);
    dlv_select sel = {.ids = (const char *[]){id}, .n = 1};
    long long count = 0, blocked = 0;
    sl_errbuf eb = {0};
    sl_err e = dlv_retry(r, &sel, &count, &blocked, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (blocked) {
        http_problem(r, 409,
                     PQgetisnull(res, 0, MC_TARGET_NAME)
                         ? "its notification target was deleted"
                         : "its notification target is disabled: enable the target first",
                     NULL);
        return;
    }
    if (count == 0) {
        http_problem(r, 409, "the message is not a dead letter any more", NULL);
        return;
    }
    e = dlv_message(r, id, &res, &eb);
    if (e) {
        fail(r, e, &eb, "no such notification message");
        return;
    }
    http_send_json(r, 200, dlv_message_json(r, res, 0));
}

void h_api_message_delete(request *r)
{
    PGresult *res = dead_message(r, "discarded");
    if (!res)
        return;
    dlv_select sel = {.ids = (const char *[]){PQgetvalue(res, 0, MC_ID)}, .n = 1};
    long long count = 0;
    sl_errbuf eb = {0};
    sl_err e = dlv_discard(r, &sel, &count, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (count == 0) {
        http_problem(r, 409, "the message is not a dead letter any more", NULL);
        return;
    }
    http_set_status(r, 204);
}
