/* triggers_api.c - the JSON API of pipeline triggers:
 *   GET/POST /api/v1/pipelines/{id}/triggers, GET/PATCH/DELETE
 *   /api/v1/triggers/{id}, POST /api/v1/triggers/{id}/rotate-secret.
 *
 * Bodies: {"type", "config": {"upstream_pipeline_id" | "zone_name"},
 * "cooldown_seconds", "enabled"}; undeclared fields are 422. A webhook's
 * "secret" appears only in the 201 of its creation and the 200 of a
 * rotation. Lists follow the paging convention (?limit=, ?cursor= over
 * (created_at, id); {items, next_cursor}). Unknown or malformed ids, and
 * triggers of deleted pipelines, are 404. */
#include <string.h>

#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "pipeline_api.h"
#include "triggers.h"
#include "uuid.h"
#include "worker.h"

static void not_found(request *r)
{
    http_problem(r, 404, "no such trigger", NULL);
}

static void fail(request *r, sl_err e, const sl_errbuf *eb)
{
    if (e == SL_ENOTFOUND)
        not_found(r);
    else
        web_db_error(r, e, eb);
}

/* Send trigger id (loaded afresh) with status; secret added when given. */
static void send_trigger(request *r, int status, const char *id, const char *secret)
{
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = trg_load(r, id, 0, &res, &eb);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    json_t *o = trg_api_json(r, res, 0);
    if (secret)
        json_object_set_new(o, "secret", json_string(secret));
    if (status == 201)
        http_add_header(r, "Location", arena_printf(r->a, "/api/v1/triggers/%s", id));
    http_send_json(r, status, o);
}

/* Read body fields into in. fields allowed: type (when creating), config,
 * cooldown_seconds, enabled. Problems go into errors. */
static void read_body(request *r, const json_t *body, int creating, trg_input *in,
                      json_t *errors)
{
    in->type = NULL;
    in->upstream = in->zone = NULL;
    in->cooldown = -1;
    in->enabled = -1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v) {
        if (strcmp(k, "type") == 0) {
            if (!json_is_string(v))
                page_field_error(errors, k, "must be a string");
            else
                in->type = json_string_value(v);
        } else if (strcmp(k, "cooldown_seconds") == 0) {
            if (!json_is_integer(v))
                page_field_error(errors, k, "must be an integer");
            else
                in->cooldown = json_integer_value(v) < 0 ? -2 : json_integer_value(v);
        } else if (strcmp(k, "enabled") == 0) {
            if (!json_is_boolean(v))
                page_field_error(errors, k, "must be true or false");
            else
                in->enabled = json_is_true(v);
        } else if (strcmp(k, "config") == 0) {
            if (!json_is_object(v)) {
                page_field_error(errors, k, "must be an object");
                continue;
            }
            const char *ck;
            json_t *cv;
            json_object_foreach(v, ck, cv) {
                const char *name = arena_printf(r->a, "config.%s", ck);
                if (strcmp(ck, "upstream_pipeline_id") != 0 && strcmp(ck, "zone_name") != 0)
                    page_field_error(errors, name, "unknown field");
                else if (!json_is_string(cv))
                    page_field_error(errors, name, "must be a string");
                else if (strcmp(ck, "upstream_pipeline_id") == 0)
                    in->upstream = json_string_value(cv);
                else
                    in->zone = params_trim(r->a, json_string_value(cv));
            }
        } else {
            page_field_error(errors, k, "unknown field");
        }
    }
    if (creating && in->enabled < 0)
        in->enabled = 1;
}

void h_api_pipeline_triggers(request *r)
{
    const char *id = pa_id(r);
    if (!id)
        return;
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[2];
    params_page(r, 2, NULL, key, &limit, errors);
    if (key[0] && (!params_timestamp(key[0]) || !uuid_valid(key[1])))
        page_field_error(errors, "cursor", "is not a cursor of this list");
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    char *exists = NULL;
    sl_err e = db_query_value(r->db, r->a, &eb, &exists,
                              "SELECT 1 FROM sluice.pipelines WHERE id = $1::uuid"
                              " AND deleted_at IS NULL",
                              1, (const char *[]){id});
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such pipeline", NULL);
        return;
    }
    PGresult *res;
    if (!e)
        e = trg_list(r, id, key[0], key[1], (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, trg_api_json(r, res, i));
    const char *next = NULL;
    if (n > limit) {
        int last = (int)limit - 1;
        next = params_cursor_make(r->a, 2, (const char *[]){PQgetvalue(res, last, TC_KEY),
                                                            PQgetvalue(res, last, TC_ID)});
    }
    http_send_json(r, 200, params_page_json(items, next));
}

void h_api_pipeline_trigger_create(request *r)
{
    const char *id = pa_id(r);
    if (!id)
        return;
    json_t *body = pa_body(r, 0);
    if (!body)
        return;
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    trg_input in;
    json_t *errors = json_object();
    read_body(r, body, 1, &in, errors);
    trg_check(&in, NULL, 1, "config.", errors);
    const char *tid = NULL, *secret = NULL;
    sl_errbuf eb = {0};
    sl_err e = SL_EINVAL;
    if (json_object_size(errors) == 0)
        e = trg_create(r, id, &in, "config.", errors, &tid, &secret, &eb);
    if (e == SL_EINVAL) {
        pa_validation_failed(r, "the trigger could not be created", errors);
        return;
    }
    json_decref(errors);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, "no such pipeline", NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    /* The one time a webhook's secret leaves the server (besides a rotation). */
    send_trigger(r, 201, tid, secret);
}

void h_api_trigger_get(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        not_found(r);
        return;
    }
    send_trigger(r, 200, id, NULL);
}

void h_api_trigger_patch(request *r)
{
    const char *id = http_path_param(r, "id");
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = trg_load(r, id, 0, &res, &eb);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    json_t *body = pa_body(r, 0);
    if (!body)
        return;
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    trg_input in;
    json_t *errors = json_object();
    read_body(r, body, 0, &in, errors);
    trg_check(&in, PQgetvalue(res, 0, TC_TYPE), 0, "config.", errors);
    int changed = 0;
    e = SL_EINVAL;
    if (json_object_size(errors) == 0)
        e = trg_update(r, id, &in, "config.", errors, &changed, &eb);
    if (e == SL_EINVAL) {
        pa_validation_failed(r, "the trigger could not be changed", errors);
        return;
    }
    json_decref(errors);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    send_trigger(r, 200, id, NULL);
}

void h_api_trigger_delete(request *r)
{
    sl_errbuf eb = {0};
    sl_err e = trg_delete(r, http_path_param(r, "id"), NULL, &eb);
    if (e) {
        fail(r, e, &eb);
        return;
    }
    http_set_status(r, 204);
}

void h_api_trigger_rotate(request *r)
{
    const char *id = http_path_param(r, "id");
    const char *secret = NULL;
    sl_errbuf eb = {0};
    sl_err e = trg_rotate(r, id, &secret, &eb);
    if (e == SL_EUNSUPPORTED) {
        http_problem(r, 409, "only a webhook trigger has a secret to rotate", NULL);
        return;
    }
    if (e) {
        fail(r, e, &eb);
        return;
    }
    http_send_json(r, 200,
                   json_pack("{s:s, s:s, s:s}", "id", id, "secret", secret, "webhook_url",
                             trg_hook_url(r, id)));
}
