/* notification_subs.c - which notification targets hear which events of a
 * pipeline: the "Notifications" section of the pipeline page (filled by
 * notif_put_pipeline, partial notifications/pipeline), adding or changing
 * one (POST /pipelines/{id}/notifications: a target and event boxes; a
 * failed form comes back on its own page with the fields marked), removing
 * one behind a confirmation page, and the API list
 * /api/v1/pipelines/{id}/notifications (GET, and PUT to replace it).
 *
 * A pipeline has at most one subscription per target; the "all pipelines"
 * ones live on the targets (notifications.c) and are shown here for
 * information. Every change is audited as "pipeline.notifications" with
 * the pipeline's subscriptions before and after. */
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
#include "uuid.h"
#include "worker.h"

#define SUBS_MAX 100 /* subscriptions one PUT may list */

/* Columns of subs(): subscription id, target id, target name, type,
 * active, events (JSON), disabled reason. */
enum { SC_ID, SC_TARGET, SC_NAME, SC_TYPE, SC_ACTIVE, SC_EVENTS, SC_DISABLED };

/* The subscriptions of pipeline_id (NULL: the all-pipelines ones), by
 * target name. */
static sl_err subs(request *r, const char *pipeline_id, PGresult **res, sl_errbuf *eb)
{
    return db_query(r->db, r->a, eb, res,
                    "SELECT n.id, t.id, t.name, t.type, t.active, array_to_json(n.events)::text,"
                    " t.disabled_reason FROM sluice.pipeline_notifications n"
                    " JOIN sluice.notification_targets t ON t.id = n.target_id"
                    " WHERE n.pipeline_id IS NOT DISTINCT FROM $1::uuid"
                    " ORDER BY lower(t.name), t.id",
                    1, (const char *[]){pipeline_id});
}

static json_t *events_col(request *r, PGresult *res, int i)
{
    const char *t = PQgetvalue(res, i, SC_EVENTS);
    json_t *v = jsonx_parse(r->a, NULL, t, strlen(t));
    return json_is_array(v) ? v : jsonx_own(r->a, json_array());
}

static json_t *sub_page_json(request *r, PGresult *res, int i)
{
    int active = strcmp(PQgetvalue(res, i, SC_ACTIVE), "t") == 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", PQgetvalue(res, i, SC_ID),
                          "target_id", PQgetvalue(res, i, SC_TARGET), "target_name",
                          PQgetvalue(res, i, SC_NAME), "type_label",
                          notif_type_label(PQgetvalue(res, i, SC_TYPE)), "events_text",
                          notif_events_text(r, events_col(r, res, i)), "active", active);
    if (!PQgetisnull(res, i, SC_DISABLED))
        json_object_set_new(o, "disabled_reason", json_string(PQgetvalue(res, i, SC_DISABLED)));
    return o;
}

static json_t *sub_api_json(request *r, PGresult *res, int i)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:O}", "target_id", PQgetvalue(res, i, SC_TARGET),
                     "target_name", PQgetvalue(res, i, SC_NAME), "target_type",
                     PQgetvalue(res, i, SC_TYPE), "target_active",
                     strcmp(PQgetvalue(res, i, SC_ACTIVE), "t") == 0, "events",
                     events_col(r, res, i));
}

/* [{target_id, events}] of a subs() result: what the audit compares. */
static json_t *audit_list(request *r, PGresult *res)
{
    json_t *a = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:O}", "target_id",
                                           PQgetvalue(res, i, SC_TARGET), "target",
                                           PQgetvalue(res, i, SC_NAME), "events",
                                           events_col(r, res, i)));
    return a;
}

/* Every target, for the add form's choices. */
static sl_err targets(request *r, PGresult **res, sl_errbuf *eb)
{
    return db_query(r->db, r->a, eb, res,
                    "SELECT id, name, type, active FROM sluice.notification_targets"
                    " ORDER BY lower(name), id LIMIT 500",
                    0, NULL);
}

/* The form's context: subscriptions, global ones, target choices, boxes
 * ticked from chosen (NULL: run.failed), the target preselected. */
static json_t *section(request *r, const char *pipeline_id, const json_t *chosen,
                       const char *target_id, sl_errbuf *eb)
{
    PGresult *mine, *global, *all;
    if (subs(r, pipeline_id, &mine, eb) || subs(r, NULL, &global, eb) || targets(r, &all, eb))
        return NULL;
    json_t *s = json_object();
    json_object_set_new(s, "pipeline_id", json_string(pipeline_id));
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(mine); i++)
        json_array_append_new(items, sub_page_json(r, mine, i));
    json_object_set_new(s, "has_items", json_boolean(json_array_size(items) > 0));
    json_object_set_new(s, "items", items);
    json_t *g = json_array();
    for (int i = 0; i < PQntuples(global); i++)
        json_array_append_new(g, sub_page_json(r, global, i));
    json_object_set_new(s, "has_global", json_boolean(json_array_size(g) > 0));
    json_object_set_new(s, "global", g);
    json_t *opts = json_array();
    for (int i = 0; i < PQntuples(all); i++) {
        const char *id = PQgetvalue(all, i, 0);
        json_array_append_new(
            opts, json_pack("{s:s, s:s, s:b}", "id", id, "label",
                            arena_printf(r->a, "%s (%s%s)", PQgetvalue(all, i, 1),
                                         notif_type_label(PQgetvalue(all, i, 2)),
                                         strcmp(PQgetvalue(all, i, 3), "t") == 0 ? ""
                                                                                 : ", disabled"),
                            "selected", target_id && strcmp(target_id, id) == 0));
    }
    json_object_set_new(s, "has_targets", json_boolean(json_array_size(opts) > 0));
    json_object_set_new(s, "targets", opts);
    json_t *def = NULL;
    if (!chosen)
        chosen = def = json_pack("[s]", "run.failed");
    json_object_set_new(s, "events", notif_event_boxes(chosen, "sub"));
    json_decref(def);
    return s;
}

void notif_put_pipeline(request *r, json_t *ctx, const char *pipeline_id)
{
    if (!pipeline_id || !uuid_valid(pipeline_id))
        return;
    sl_errbuf eb = {0};
    json_t *s = section(r, pipeline_id, NULL, NULL, &eb);
    if (!s) {
        log_warn("notifications of pipeline %s: %s", pipeline_id, eb.msg);
        return;
    }
    json_object_set_new(ctx, "notifications", s);
}

/* --- pages -------------------------------------------------------------------------------- */

/* The pipeline of the {id} path parameter (not deleted): its name, or
 * NULL after answering 404 / a database error. lock: FOR UPDATE, inside
 * the open transaction (rolled back on failure). */
static const char *pipeline_param(request *r, int lock, const char **id_out)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, "no such pipeline");
        return NULL;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        lock ? "SELECT name FROM sluice.pipelines WHERE id = $1"
                               " AND deleted_at IS NULL FOR UPDATE"
                             : "SELECT name FROM sluice.pipelines WHERE id = $1"
                               " AND deleted_at IS NULL",
                        1, (const char *[]){id});
    if (e) {
        if (lock)
            db_rollback(r->db);
        web_db_error(r, e, &eb);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        if (lock)
            db_rollback(r->db);
        http_error(r, 404, "no such pipeline");
        return NULL;
    }
    *id_out = id;
    return PQgetvalue(res, 0, 0);
}

/* Audit and commit a change of pipeline id's subscriptions (before: a
 * subs() result read in the transaction before the change). 0 done; -1
 * answered. */
static int finish_change(request *r, const char *id, const char *name, PGresult *before)
{
    sl_errbuf eb = {0};
    PGresult *after;
    sl_err e = subs(r, id, &after, &eb);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    json_t *d = json_pack("{s:s, s:o, s:o}", "name", name, "from", audit_list(r, before), "to",
                          audit_list(r, after));
    sl_err ae = audit_write(r, "pipeline.notifications", "pipeline", id, d, NULL);
    json_decref(d);
    if (ae) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return -1;
    }
    return conn_commit(r) ? -1 : 0;
}

/* Insert or replace the subscription of pipeline id to target tid. */
static sl_err upsert(request *r, const char *id, const char *tid, const json_t *events,
                     sl_errbuf *eb)
{
    return db_exec(r->db, eb,
                   "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events,"
                   " created_by) VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)),"
                   " $4::uuid) ON CONFLICT (pipeline_id, target_id) WHERE pipeline_id IS NOT NULL"
                   " DO UPDATE SET events = EXCLUDED.events, updated_at = now()",
                   4, (const char *[]){id, tid, jsonx_dump(r->a, events), r->user_id});
}

/* 1 when target tid exists, 0 when not, -1 after answering. */
static int target_exists(request *r, const char *tid)
{
    if (!uuid_valid(tid))
        return 0;
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        "SELECT 1 FROM sluice.notification_targets WHERE id = $1", 1,
                        (const char *[]){tid});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    return PQntuples(res) == 1;
}

/* The add form on its own page, for a post that failed. errors stolen. */
static void subscribe_page(request *r, const char *id, const char *name, const json_t *events,
                           const char *tid, json_t *errors)
{
    sl_errbuf eb = {0};
    json_t *s = section(r, id, events, tid, &eb);
    if (!s) {
        json_decref(errors);
        web_db_error(r, eb.code ? eb.code : SL_EDB, &eb);
        return;
    }
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Notifications of %s", name), "pipelines");
    json_object_set_new(ctx, "pipeline", json_pack("{s:s, s:s}", "id", id, "name", name));
    json_object_set_new(ctx, "notifications", s);
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "has_errors", json_boolean(1));
    page_render(r, 422, "notifications/subscribe", ctx);
}

void h_pipeline_notifications_save(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *id;
    if (conn_begin(r))
        return;
    const char *name = pipeline_param(r, 1, &id);
    if (!name)
        return;
    const char *tid = form_str(r, "target_id");
    json_t *events = jsonx_own(r->a, notif_events_from_form(r));
    json_t *errors = json_object();
    int found = *tid ? target_exists(r, tid) : 0;
    if (found < 0) {
        json_decref(errors);
        return;
    }
    if (!*tid)
        page_field_error(errors, "target_id", "choose a target");
    else if (!found)
        page_field_error(errors, "target_id", "that target does not exist any more");
    if (json_array_size(events) == 0)
        page_field_error(errors, "events", "choose at least one event");
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        subscribe_page(r, id, name, events, tid, errors);
        return;
    }
    json_decref(errors);
    PGresult *before;
    sl_err e = subs(r, id, &before, &eb);
    if (!e)
        e = upsert(r, id, tid, events, &eb);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return;
    }
    if (finish_change(r, id, name, before))
        return;
    page_done(r, arena_printf(r->a, "/pipelines/%s#notifications", id),
              arena_printf(r->a, "Notifications saved: %s.", notif_events_text(r, events)));
}

/* The subscription of the {sid} parameter on pipeline id: 1 and *res (its
 * subs() columns), 0 after answering 404, -1 after an error. */
static int load_sub(request *r, const char *id, PGresult **res)
{
    const char *sid = http_path_param(r, "sid");
    if (!sid || !uuid_valid(sid)) {
        http_error(r, 404, "no such notification subscription");
        return 0;
    }
    sl_errbuf eb = {0};
    sl_err e = db_query(r->db, r->a, &eb, res,
                        "SELECT n.id, t.id, t.name, t.type, t.active,"
                        " array_to_json(n.events)::text, t.disabled_reason"
                        " FROM sluice.pipeline_notifications n"
                        " JOIN sluice.notification_targets t ON t.id = n.target_id"
                        " WHERE n.id = $1 AND n.pipeline_id = $2",
                        2, (const char *[]){sid, id});
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    if (PQntuples(*res) != 1) {
        http_error(r, 404, "no such notification subscription");
        return 0;
    }
    return 1;
}

void h_pipeline_notification_remove_form(request *r)
{
    const char *id;
    const char *name = pipeline_param(r, 0, &id);
    PGresult *res;
    if (!name || load_sub(r, id, &res) != 1)
        return;
    json_t *ctx = page_ctx(r, "Remove notification", "pipelines");
    json_object_set_new(ctx, "pipeline", json_pack("{s:s, s:s}", "id", id, "name", name));
    json_object_set_new(ctx, "sub", sub_page_json(r, res, 0));
    page_render(r, 200, "notifications/remove", ctx);
}

void h_pipeline_notification_remove(request *r)
{
    const char *id;
    if (conn_begin(r))
        return;
    const char *name = pipeline_param(r, 1, &id);
    PGresult *res, *before;
    if (!name)
        return;
    int rc = load_sub(r, id, &res);
    if (rc != 1) {
        db_rollback(r->db);
        return;
    }
    sl_errbuf eb = {0};
    sl_err e = subs(r, id, &before, &eb);
    if (!e)
        e = db_exec(r->db, &eb, "DELETE FROM sluice.pipeline_notifications WHERE id = $1", 1,
                    (const char *[]){PQgetvalue(res, 0, SC_ID)});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return;
    }
    if (finish_change(r, id, name, before))
        return;
    page_done(r, arena_printf(r->a, "/pipelines/%s#notifications", id),
              arena_printf(r->a, "%s no longer hears this pipeline.",
                           PQgetvalue(res, 0, SC_NAME)));
}

/* --- JSON API ----------------------------------------------------------------------------- */

static void answer_list(request *r, const char *id)
{
    sl_errbuf eb = {0};
    PGresult *mine, *global;
    sl_err e = subs(r, id, &mine, &eb);
    if (!e)
        e = subs(r, NULL, &global, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *items = json_array(), *all = json_array();
    for (int i = 0; i < PQntuples(mine); i++)
        json_array_append_new(items, sub_api_json(r, mine, i));
    for (int i = 0; i < PQntuples(global); i++)
        json_array_append_new(all, sub_api_json(r, global, i));
    http_send_json(r, 200, json_pack("{s:s, s:o, s:o}", "pipeline_id", id, "items", items,
                                     "all_pipelines", all));
}

void h_api_pipeline_notifications_get(request *r)
{
    const char *id;
    if (pipeline_param(r, 0, &id))
        answer_list(r, id);
}

/* Check body.items: [{target_id, events}], distinct existing targets.
 * Field errors under "items[i].field". -1 after answering. */
static int check_items(request *r, const json_t *items, json_t *errors)
{
    if (!json_is_array(items)) {
        page_field_error(errors, "items", "must be an array of {target_id, events}");
        return 0;
    }
    if (json_array_size(items) > SUBS_MAX)
        page_field_error(errors, "items", "list at most 100 subscriptions");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *key = arena_printf(r->a, "items[%zu]", i);
        if (!json_is_object(it)) {
            page_field_error(errors, key, "must be an object {target_id, events}");
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach(it, k, v)
            if (strcmp(k, "target_id") != 0 && strcmp(k, "events") != 0)
                page_field_error(errors, arena_printf(r->a, "%s.%s", key, k), "unknown field");
        const char *tid = jsonx_str(it, "target_id", NULL);
        const char *tkey = arena_printf(r->a, "%s.target_id", key);
        if (!tid) {
            page_field_error(errors, tkey, "must be a target's id");
        } else {
            int found = target_exists(r, tid);
            if (found < 0)
                return -1;
            if (!found)
                page_field_error(errors, tkey, "no such notification target");
            for (size_t j = 0; j < i; j++)
                if (strcmp(jsonx_str(json_array_get(items, j), "target_id", ""), tid) == 0)
                    page_field_error(errors, tkey, "lists this target twice");
        }
        json_t *sorted;
        const char *why = notif_events_check(json_object_get(it, "events"), 0, &sorted);
        if (why)
            page_field_error(errors, arena_printf(r->a, "%s.events", key), why);
        else
            json_object_set_new(it, "events", sorted);
    }
    return 0;
}

void h_api_pipeline_notifications_put(request *r)
{
    const char *id;
    json_t *body = conn_json_body(r);
    if (!body || conn_begin(r))
        return;
    const char *name = pipeline_param(r, 1, &id);
    if (!name)
        return;
    json_t *errors = json_object();
    static const char *const allowed[] = {"items", NULL};
    conn_json_unknown(body, allowed, NULL, errors);
    json_t *items = json_object_get(body, "items");
    if (!items)
        page_field_error(errors, "items", "required: the list of {target_id, events}");
    else if (check_items(r, items, errors) < 0) {
        json_decref(errors);
        return;
    }
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        http_problem(r, 422, "the notifications were not changed", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *before;
    json_t *keep = jsonx_own(r->a, json_array());
    sl_err e = subs(r, id, &before, &eb);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (e)
            break;
        json_array_append_new(keep, json_string(jsonx_str(it, "target_id", "")));
        e = upsert(r, id, jsonx_str(it, "target_id", ""), json_object_get(it, "events"), &eb);
    }
    if (!e)
        e = db_exec(r->db, &eb,
                    "DELETE FROM sluice.pipeline_notifications WHERE pipeline_id = $1"
                    " AND target_id::text NOT IN"
                    " (SELECT lower(json_array_elements_text($2::json)))",
                    2, (const char *[]){id, jsonx_dump(r->a, keep)});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return;
    }
    if (finish_change(r, id, name, before))
        return;
    answer_list(r, id);
}
