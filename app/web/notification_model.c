/* notification_model.c - notification targets as the console and the API
 * share them (see notifications.h): loading, the JSON views (masks, never
 * secrets), fields from forms and bodies, the checks of each type, storing
 * (sealing the secret part, the masks in config, the all-pipelines
 * subscription, the audit row, in one transaction), deleting, the keyset
 * list, and "Send test".
 *
 * What is secret (the Slack and Discord webhook URLs, the webhook URL, the
 * bot token, the signing secret) is sealed as one JSON object in
 * secret_enc (notify_target_seal), opened only to send or to merge an
 * edit. The config column keeps masks (url_hint, token_hint) and the chat
 * id. Audit details say which secrets changed, never what they are. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "connform.h"
#include "form.h"
#include "jsonx.h"
#include "log.h"
#include "notifications.h"
#include "page.h"
#include "params.h"
#include "sync/notify.h"
#include "uuid.h"
#include "webhook_sig.h"
#include "worker.h"

const char *const notif_types[] = {"slack", "discord", "telegram", "webhook", NULL};

static const struct {
    const char *type, *label, *hint;
} types[] = {
    {"slack", "Slack", "An incoming webhook of a Slack app posts to one channel."},
    {"discord", "Discord", "A channel webhook (Server settings, Integrations, Webhooks)."},
    {"telegram", "Telegram", "A bot (made with @BotFather) posts to a chat it is a member of."},
    {"webhook", "Webhook", "A JSON POST to any URL, signed per the Standard Webhooks spec."},
};
#define NTYPES (sizeof types / sizeof types[0])

/* --- shared helpers ----------------------------------------------------------------------- */

const char *notif_type_hint(const char *type)
{
    for (size_t i = 0; type && i < NTYPES; i++)
        if (strcmp(type, types[i].type) == 0)
            return types[i].hint;
    return "";
}

const char *notif_type_label(const char *type)
{
    for (size_t i = 0; type && i < NTYPES; i++)
        if (strcmp(type, types[i].type) == 0)
            return types[i].label;
    return type ? type : "";
}

json_t *notif_event_boxes(const json_t *chosen, const char *prefix)
{
    json_t *list = json_array();
    for (int i = 0; notify_events[i]; i++) {
        int on = 0;
        size_t j;
        json_t *v;
        json_array_foreach(chosen, j, v) on |= json_is_string(v) &&
                                               strcmp(json_string_value(v), notify_events[i]) == 0;
        char id[96];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s}", "value", notify_events[i],
                                              "label", notify_event_label(notify_events[i]),
                                              "checked", on, "id", id));
    }
    return list;
}

json_t *notif_events_from_form(request *r)
{
    json_t *out = json_array();
    for (int i = 0; notify_events[i]; i++) {
        char name[64];
        snprintf(name, sizeof name, "event:%s", notify_events[i]);
        if (form_bool(r, name))
            json_array_append_new(out, json_string(notify_events[i]));
    }
    return out;
}

const char *notif_events_check(const json_t *v, int allow_empty, json_t **out)
{
    *out = NULL;
    if (!json_is_array(v))
        return "must be an array of event names";
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !notify_event_valid(json_string_value(e)))
            return "lists an unknown event; choose from run.succeeded, run.failed, "
                   "quality.failed, dead_letters.created, schema.drifted, landing.file_rejected";
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(v, j), e))
                return "lists an event twice";
    }
    if (!allow_empty && json_array_size(v) == 0)
        return "choose at least one event";
    json_t *sorted = json_array();
    for (int k = 0; notify_events[k]; k++)
        json_array_foreach(v, i, e) if (strcmp(json_string_value(e), notify_events[k]) == 0)
            json_array_append_new(sorted, json_string(notify_events[k]));
    *out = sorted;
    return NULL;
}

const char *notif_events_text(request *r, const json_t *events)
{
    const char *s = "";
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
        s = arena_printf(r->a, "%s%s%s", s, i ? ", " : "",
                         notify_event_label(json_string_value(e)));
    return s;
}

/* --- loading ------------------------------------------------------------------------------ */

const char *notif_id_param(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, "no such notification target");
        return NULL;
    }
    return id;
}

/* Row id (FOR UPDATE when lock, inside the open transaction). 1 found; 0
 * answered 404; -1 answered an error. */
int notif_load(request *r, const char *id, int lock, PGresult **res)
{
    sl_errbuf eb = {0};
    sl_err e = db_query(r->db, r->a, &eb, res,
                        lock ? "SELECT " NOTIF_COLS ", t.secret_enc"
                               " FROM sluice.notification_targets t WHERE t.id = $1 FOR UPDATE"
                             : "SELECT " NOTIF_COLS ", t.secret_enc"
                               " FROM sluice.notification_targets t WHERE t.id = $1",
                        1, (const char *[]){id});
    if (e) {
        if (lock)
            conn_tx_fail(r, e, &eb);
        else
            web_db_error(r, e, &eb);
        return -1;
    }
    if (PQntuples(*res) != 1) {
        if (lock)
            db_rollback(r->db);
        http_error(r, 404, "no such notification target");
        return 0;
    }
    return 1;
}

json_t *notif_col_array(request *r, PGresult *res, int i, int col)
{
    if (PQgetisnull(res, i, col))
        return json_array();
    const char *t = PQgetvalue(res, i, col);
    json_t *v = json_loads(t, 0, NULL);
    if (!json_is_array(v)) {
        json_decref(v);
        return json_array();
    }
    return v;
}

json_t *notif_config(request *r, PGresult *res, int i)
{
    const char *t = PQgetvalue(res, i, NT_CONFIG);
    json_t *v = jsonx_parse(r->a, NULL, t, strlen(t));
    return json_is_object(v) ? v : jsonx_own(r->a, json_object());
}

static int col_int(PGresult *res, int i, int col)
{
    return (int)strtol(PQgetvalue(res, i, col), NULL, 10);
}

static int test_ok(PGresult *res, int i)
{
    int st = col_int(res, i, NT_TSTATUS);
    return !PQgetisnull(res, i, NT_TSTATUS) && st >= 200 && st < 300 &&
           PQgetisnull(res, i, NT_TERROR);
}

/* --- views -------------------------------------------------------------------------------- */

static json_t *nullable(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

json_t *notif_api_row(request *r, PGresult *res, int i)
{
    const char *type = PQgetvalue(res, i, NT_TYPE);
    json_t *cfg = notif_config(r, res, i);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o}", "id", PQgetvalue(res, i, NT_ID), "name",
                          PQgetvalue(res, i, NT_NAME), "type", type, "active",
                          strcmp(PQgetvalue(res, i, NT_ACTIVE), "t") == 0, "disabled_reason",
                          nullable(res, i, NT_DISABLED));
    if (strcmp(type, "telegram") == 0) {
        json_object_set_new(o, "chat_id", json_string(jsonx_str(cfg, "chat_id", "")));
        json_object_set_new(o, "bot_token_masked",
                            json_string(jsonx_str(cfg, "token_hint", "****")));
    } else {
        json_object_set_new(o, "url_masked", json_string(jsonx_str(cfg, "url_hint", "****")));
    }
    if (strcmp(type, "webhook") == 0)
        json_object_set_new(o, "has_signing_secret", json_true());
    json_object_set_new(o, "all_pipelines_events", notif_col_array(r, res, i, NT_GLOBAL));
    json_object_set_new(o, "pipeline_subscriptions",
                        json_integer(strtoll(PQgetvalue(res, i, NT_NSUBS), NULL, 10)));
    if (PQgetisnull(res, i, NT_TESTED)) {
        json_object_set_new(o, "last_test", json_null());
    } else {
        json_object_set_new(
            o, "last_test",
            json_pack("{s:s, s:b, s:i, s:i, s:o, s:o}", "at", PQgetvalue(res, i, NT_TESTED), "ok",
                      test_ok(res, i), "status", col_int(res, i, NT_TSTATUS), "latency_ms",
                      col_int(res, i, NT_TMS), "error", nullable(res, i, NT_TERROR), "answer",
                      nullable(res, i, NT_TANSWER)));
    }
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, NT_CREATED)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(res, i, NT_UPDATED)));
    return o;
}

json_t *notif_page_row(request *r, PGresult *res, int i)
{
    json_t *o = notif_api_row(r, res, i);
    const char *type = PQgetvalue(res, i, NT_TYPE);
    json_t *g = json_object_get(o, "all_pipelines_events");
    int active = strcmp(PQgetvalue(res, i, NT_ACTIVE), "t") == 0;
    json_object_set_new(o, "type_label", json_string(notif_type_label(type)));
    json_object_set_new(o, "is_telegram", json_boolean(strcmp(type, "telegram") == 0));
    json_object_set_new(o, "is_webhook", json_boolean(strcmp(type, "webhook") == 0));
    json_object_set_new(o, "destination",
                        json_string(strcmp(type, "telegram") == 0
                                        ? arena_printf(r->a, "chat %s",
                                                       jsonx_str(o, "chat_id", ""))
                                        : jsonx_str(o, "url_masked", "")));
    json_object_set_new(o, "badge", json_string(active ? "badge-ok" : "badge-off"));
    json_object_set_new(o, "status_label", json_string(active ? "active" : "disabled"));
    json_object_set_new(o, "has_global", json_boolean(json_array_size(g) > 0));
    json_object_set_new(o, "global_text", json_string(notif_events_text(r, g)));
    if (!PQgetisnull(res, i, NT_TESTED)) {
        int ok = test_ok(res, i), st = col_int(res, i, NT_TSTATUS);
        json_object_set_new(o, "test_badge", json_string(ok ? "badge-ok" : "badge-off"));
        json_object_set_new(o, "test_label",
                            json_string(st ? arena_printf(r->a, "HTTP %d", st) : "no answer"));
        json_object_set_new(o, "test_ok", json_boolean(ok));
    }
    return o;
}

/* --- fields ------------------------------------------------------------------------------- */

void notif_defaults(notif_fields *f)
{
    memset(f, 0, sizeof *f);
    f->name = f->type = f->chat_id = "";
    f->url = f->bot_token = f->secret = "";
    f->active = 1;
}

/* A secret typed into a form: not trimmed inside, but surrounding white
 * space (a paste) goes. */
static const char *secret_field(request *r, const char *name)
{
    const char *v = form_get(r, name);
    return v ? params_trim(r->a, v) : "";
}

void notif_from_form(request *r, notif_fields *f, int editing)
{
    f->name = form_str(r, "name");
    if (!editing)
        f->type = form_str(r, "type");
    f->chat_id = form_str(r, "chat_id");
    f->url = secret_field(r, "url");
    f->bot_token = secret_field(r, "bot_token");
    f->secret = secret_field(r, "signing_secret");
    f->rotate = form_bool(r, "rotate_signing_secret");
    f->active = editing ? form_bool(r, "active") : 1;
    f->retype = *f->url || *f->bot_token || *f->secret;
}

void notif_from_row(request *r, notif_fields *f, PGresult *res)
{
    notif_defaults(f);
    f->name = PQgetvalue(res, 0, NT_NAME);
    f->type = PQgetvalue(res, 0, NT_TYPE);
    f->active = strcmp(PQgetvalue(res, 0, NT_ACTIVE), "t") == 0;
    f->chat_id = jsonx_str(notif_config(r, res, 0), "chat_id", "");
}

static void json_text(request *r, const json_t *body, const char *key, const char **dst,
                      json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (!json_is_string(v))
        page_field_error(errors, key, "must be a string");
    else
        *dst = params_trim(r->a, json_string_value(v));
}

void notif_from_json(request *r, const json_t *body, notif_fields *f, json_t *errors)
{
    json_text(r, body, "name", &f->name, errors);
    json_text(r, body, "type", &f->type, errors);
    json_text(r, body, "chat_id", &f->chat_id, errors);
    json_text(r, body, "url", &f->url, errors);
    json_text(r, body, "bot_token", &f->bot_token, errors);
    json_text(r, body, "signing_secret", &f->secret, errors);
    json_t *v = json_object_get(body, "active");
    if (v && !json_is_boolean(v))
        page_field_error(errors, "active", "must be true or false");
    else if (v)
        f->active = json_is_true(v);
    v = json_object_get(body, "rotate_signing_secret");
    if (v && !json_is_boolean(v))
        page_field_error(errors, "rotate_signing_secret", "must be true or false");
    else if (v)
        f->rotate = json_is_true(v);
    v = json_object_get(body, "all_pipelines_events");
    if (v) {
        json_t *sorted;
        const char *why = json_is_null(v) ? NULL : notif_events_check(v, 1, &sorted);
        if (why)
            page_field_error(errors, "all_pipelines_events", why);
        else
            f->global = jsonx_own(r->a, json_is_null(v) ? json_array() : sorted);
    }
}

static void check_name(json_t *errors, const char *name)
{
    long n = params_utf8_len(name);
    if (!*name)
        page_field_error(errors, "name", "enter a name");
    else if (n < 0)
        page_field_error(errors, "name", "must be valid UTF-8 text");
    else if (n > NOTIF_NAME_MAX)
        page_field_error(errors, "name", "must be at most 200 characters");
    else if (params_has_control(name))
        page_field_error(errors, "name", "must be one line of text without control characters");
}

/* Check f (old: the stored secret object on edit, else NULL) and build the
 * secret object and config to store. Field errors go to errors. *made
 * gets a signing secret sluice made (to show once), else NULL. */
static void check(request *r, notif_fields *f, const json_t *old, json_t *errors,
                  json_t **secret, json_t **config, const char **made)
{
    *made = NULL;
    check_name(errors, f->name);
    if (!notify_type_valid(f->type)) {
        page_field_error(errors, "type", "choose slack, discord, telegram or webhook");
        return;
    }
    json_t *sec = jsonx_own(r->a, old ? json_deep_copy(old) : json_object());
    json_t *cfg = jsonx_own(r->a, json_object());
    const char *why;
    int telegram = strcmp(f->type, "telegram") == 0, webhook = strcmp(f->type, "webhook") == 0;
    if (telegram) {
        if (*f->url)
            page_field_error(errors, "url", "a Telegram target has a bot token and a chat id");
        if (*f->bot_token || !jsonx_str(sec, "bot_token", NULL)) {
            if ((why = notify_check_bot_token(f->bot_token)) != NULL)
                page_field_error(errors, "bot_token", why);
            else
                json_object_set_new(sec, "bot_token", json_string(f->bot_token));
        }
        if ((why = notify_check_chat_id(f->chat_id)) != NULL)
            page_field_error(errors, "chat_id", why);
        json_object_set_new(cfg, "chat_id", json_string(f->chat_id));
        json_object_set_new(cfg, "token_hint",
                            json_string(notify_mask_token(r->a,
                                                          jsonx_str(sec, "bot_token", ""))));
    } else {
        if (*f->bot_token)
            page_field_error(errors, "bot_token", "only Telegram targets have a bot token");
        if (*f->chat_id)
            page_field_error(errors, "chat_id", "only Telegram targets have a chat id");
        if (*f->url || !jsonx_str(sec, "url", NULL)) {
            if ((why = notify_check_url(f->url)) != NULL)
                page_field_error(errors, "url", why);
            else
                json_object_set_new(sec, "url", json_string(f->url));
        }
        json_object_set_new(cfg, "url_hint",
                            json_string(notify_mask_url(r->a, jsonx_str(sec, "url", ""),
                                                        webhook)));
    }
    if (webhook) {
        if (*f->secret && f->rotate) {
            page_field_error(errors, "signing_secret",
                             "type a secret or ask for a new one, not both");
        } else if (*f->secret) {
            if ((why = notify_check_secret(f->secret)) != NULL)
                page_field_error(errors, "signing_secret", why);
            else
                json_object_set_new(sec, "secret", json_string(f->secret));
        } else if (f->rotate || !jsonx_str(sec, "secret", NULL)) {
            *made = webhook_sig_secret_new(r->a);
            json_object_set_new(sec, "secret", json_string(*made));
        }
    } else if (*f->secret || f->rotate) {
        page_field_error(errors, "signing_secret", "only webhook targets are signed");
    }
    *secret = sec;
    *config = cfg;
}

/* --- storing ------------------------------------------------------------------------------ */

/* Set (events non-empty) or remove the all-pipelines subscription of
 * target id, inside the open transaction. */
sl_err notif_set_global(request *r, const char *id, const json_t *events, sl_errbuf *eb)
{
    if (json_array_size(events) == 0)
        return db_exec(r->db, eb,
                       "DELETE FROM sluice.pipeline_notifications"
                       " WHERE target_id = $1 AND pipeline_id IS NULL",
                       1, (const char *[]){id});
    return db_exec(r->db, eb,
                   "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events,"
                   " created_by) VALUES (NULL, $1,"
                   " ARRAY(SELECT json_array_elements_text($2::json)),"
                   " $3::uuid) ON CONFLICT (target_id) WHERE pipeline_id IS NULL"
                   " DO UPDATE SET events = EXCLUDED.events, updated_at = now()",
                   3, (const char *[]){id, jsonx_dump(r->a, events), r->user_id});
}

static int name_taken(request *r, const char *name, const char *except_id)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        "SELECT 1 FROM sluice.notification_targets WHERE lower(name) = lower($1)"
                        " AND ($2::uuid IS NULL OR id <> $2::uuid)",
                        2, (const char *[]){name, except_id});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    return PQntuples(res) > 0;
}

/* Validate f and store it, in the transaction the caller began: insert
 * (old NULL) or update row 0 of old (locked). Returns 0 stored and
 * committed (*id_out set, *made the secret made, if any), 1 invalid
 * (errors filled, rolled back, nothing answered), -1 answered. */
int notif_store(request *r, PGresult *old, notif_fields *f, json_t *errors,
                 const char **id_out, const char **made)
{
    const char *id = old ? PQgetvalue(old, 0, NT_ID) : NULL;
    json_t *old_secret = NULL;
    sl_errbuf eb = {0};
    if (old && notify_target_secret(r->a, PQgetvalue(old, 0, NT_NCOLS), &old_secret, &eb)) {
        /* The stored secrets cannot be opened: they must all be typed again. */
        old_secret = NULL;
        if (!*f->url && !*f->bot_token && !*f->secret)
            page_field_error(errors, strcmp(f->type, "telegram") == 0 ? "bot_token" : "url",
                             eb.msg);
    }
    json_t *secret = NULL, *config = NULL;
    check(r, f, old_secret, errors, &secret, &config, made);
    if (!json_object_get(errors, "name") && *f->name) {
        int taken = name_taken(r, f->name, id);
        if (taken < 0)
            return -1;
        if (taken)
            page_field_error(errors, "name", "a notification target with this name exists");
    }
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        *made = NULL;
        return 1;
    }
    const char *sealed = notify_target_seal(r->a, secret);
    const char *cfg = jsonx_dump(r->a, config);
    const char *active = f->active ? "t" : "f";
    PGresult *res;
    sl_err e;
    if (!old)
        e = db_query(r->db, r->a, &eb, &res,
                     "INSERT INTO sluice.notification_targets (name, type, config, secret_enc,"
                     " active, created_by) VALUES ($1, $2, $3::jsonb, $4, $5::boolean, $6::uuid)"
                     " RETURNING id",
                     6, (const char *[]){f->name, f->type, cfg, sealed, active, r->user_id});
    else
        e = db_query(r->db, r->a, &eb, &res,
                     "UPDATE sluice.notification_targets SET name = $2, config = $3::jsonb,"
                     " secret_enc = $4, active = $5::boolean,"
                     " disabled_reason = CASE WHEN $5::boolean THEN NULL ELSE disabled_reason END,"
                     " updated_at = now() WHERE id = $1 RETURNING id",
                     5, (const char *[]){id, f->name, cfg, sealed, active});
    if (e == SL_EDB && strcmp(db_sqlstate(r->db), "23505") == 0) {
        db_rollback(r->db);
        page_field_error(errors, "name", "a notification target with this name exists");
        *made = NULL;
        return 1;
    }
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    const char *new_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    if (f->global && (e = notif_set_global(r, new_id, f->global, &eb)) != SL_OK) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    json_t *d = json_pack("{s:s, s:s}", "name", f->name, "type", f->type);
    if (!old) {
        json_object_set_new(d, "active", json_boolean(f->active));
        json_object_set(d, "config", config); /* masks only */
        if (*made)
            json_object_set_new(d, "signing_secret", json_string("generated"));
    } else {
        json_t *ch = json_object();
        notif_fields o;
        notif_from_row(r, &o, old);
        conn_change(ch, "name", json_string(o.name), json_string(f->name));
        conn_change(ch, "active", json_boolean(o.active), json_boolean(f->active));
        conn_change(ch, "chat_id", json_string(o.chat_id), json_string(f->chat_id));
        if (*f->url)
            json_object_set_new(ch, "url", json_string("changed"));
        if (*f->bot_token)
            json_object_set_new(ch, "bot_token", json_string("changed"));
        if (*f->secret)
            json_object_set_new(ch, "signing_secret", json_string("changed"));
        else if (*made)
            json_object_set_new(ch, "signing_secret", json_string("rotated"));
        json_object_set_new(d, "changes", ch);
    }
    if (f->global)
        json_object_set(d, "all_pipelines_events", f->global);
    sl_err ae = audit_write(r, old ? "notification_target.update" : "notification_target.create",
                            "notification_target", new_id, d, NULL);
    json_decref(d);
    if (ae) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return -1;
    }
    if (conn_commit(r))
        return -1;
    log_info("notification target %s (%s) %s", new_id, f->type, old ? "updated" : "created");
    *id_out = new_id;
    return 0;
}

/* Delete target id. 0 deleted (committed, *name set), -1 answered. */
int notif_delete(request *r, const char *id, const char **name)
{
    PGresult *res;
    if (conn_begin(r) || notif_load(r, id, 1, &res) != 1)
        return -1;
    *name = PQgetvalue(res, 0, NT_NAME);
    sl_errbuf eb = {0};
    sl_err e = db_exec(r->db, &eb, "DELETE FROM sluice.notification_targets WHERE id = $1", 1,
                       (const char *[]){id});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    json_t *d = json_pack("{s:s, s:s, s:O}", "name", *name, "type", PQgetvalue(res, 0, NT_TYPE),
                          "all_pipelines_events",
                          jsonx_own(r->a, notif_col_array(r, res, 0, NT_GLOBAL)));
    json_object_set_new(d, "pipeline_subscriptions",
                        json_integer(strtoll(PQgetvalue(res, 0, NT_NSUBS), NULL, 10)));
    sl_err ae = audit_write(r, "notification_target.delete", "notification_target", id, d, NULL);
    json_decref(d);
    if (ae) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return -1;
    }
    return conn_commit(r) ? -1 : 0;
}

/* --- send test ---------------------------------------------------------------------------- */

/* Why a status is not a delivery, for people. */
static const char *status_problem(request *r, int status)
{
    if (status >= 200 && status < 300)
        return NULL;
    if (status >= 300 && status < 400)
        return arena_printf(r->a, "HTTP %d %s: redirects are not followed; use the final URL",
                            status, http_reason(status));
    if (status == 410)
        return "HTTP 410 Gone: the receiver says this target no longer exists";
    if (status == 429)
        return "HTTP 429 Too Many Requests: the receiver asks to slow down";
    return arena_printf(r->a, "HTTP %d %s: the receiver did not accept the message", status,
                        http_reason(status));
}

/* Send the sample message to target id and record the outcome (with its
 * audit row). SL_OK with *t filled whether or not it was delivered;
 * SL_ENOTFOUND; SL_EDB / SL_EDBDOWN. */
sl_err notif_send_test(request *r, const char *id, notif_test *t, sl_errbuf *eb)
{
    memset(t, 0, sizeof *t);
    db_rollback(r->db);
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT name, type, config::text, secret_enc"
                        " FROM sluice.notification_targets WHERE id = $1",
                        1, (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no such notification target");
    t->name = PQgetvalue(res, 0, 0);
    const char *type = PQgetvalue(res, 0, 1);
    notify_env env;
    notify_env_load(r->db, r->a, r->cfg->base_url, &env);
    json_t *cfg;
    sl_errbuf neb = {0};
    t->url = "";
    if (notify_target_open(r->a, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), &cfg, &neb)) {
        t->error = arena_strdup(r->a, neb.msg);
    } else {
        char mid[UUID_STRLEN + 1];
        uuid_v4(mid);
        const char *link = env.base_url ? arena_printf(r->a, "%s/notifications/%s",
                                                       env.base_url, id)
                                        : NULL;
        json_t *data = jsonx_own(r->a, notify_sample_event(link));
        notify_request req;
        notify_result out;
        if (notify_render(r->a, &env, type, cfg, "run.succeeded", data,
                          arena_printf(r->a, "msg_test_%s", mid), (long long)time(NULL), &req,
                          &neb)) {
            t->error = arena_strdup(r->a, neb.msg);
        } else {
            t->url = req.url_masked;
            /* No transaction is open while we wait for the receiver. */
            notify_send(r->a, &env, &req, &out, NULL);
            t->status = out.status;
            t->latency_ms = out.latency_ms;
            t->answer = out.status ? out.body_excerpt : NULL;
            t->error = out.error ? out.error : status_problem(r, out.status);
        }
    }
    t->ok = t->error == NULL;
    log_info("notification test to %s (%s, %s): %s", t->name, type, t->url,
             t->ok ? "delivered" : t->error);

    if ((e = db_begin(r->db, eb)) != SL_OK)
        return e;
    e = db_query(r->db, r->a, eb, &res,
                 "UPDATE sluice.notification_targets SET last_tested_at = now(),"
                 " last_test_status = $2::int, last_test_ms = $3::int, last_test_error = $4,"
                 " last_test_answer = $5 WHERE id = $1 RETURNING " NOTIF_ISO("last_tested_at"),
                 5,
                 (const char *[]){id, arena_printf(r->a, "%d", t->status),
                                  arena_printf(r->a, "%ld", t->latency_ms), t->error,
                                  t->answer});
    if (!e && PQntuples(res) != 1)
        e = sl_fail(eb, SL_ENOTFOUND, "no such notification target");
    /* The test is a delivery attempt like any other: the target's
     * deliveries page lists it. Attempt 0 marks a test (its message id
     * belongs to no queued message, so it is never retried). */
    if (!e)
        e = db_exec(r->db, eb,
                    "INSERT INTO sluice_events.delivery_attempts (message_id, target_id, attempt,"
                    " status_code, latency_ms, error, response_excerpt, outcome)"
                    " VALUES (sluice.snowflake_id(), $1::uuid, 0, nullif($2::int, 0), $3::int,"
                    " $4, $5, $6)",
                    6,
                    (const char *[]){id, arena_printf(r->a, "%d", t->status),
                                     arena_printf(r->a, "%ld", t->latency_ms),
                                     t->error,
                                     t->answer, t->ok ? "delivered" : "dead"});
    if (!e) {
        t->tested_at = PQgetvalue(res, 0, 0);
        json_t *d = json_pack("{s:s, s:b, s:i, s:I}", "name", t->name, "ok", t->ok, "status",
                              t->status, "latency_ms", (json_int_t)t->latency_ms);
        if (t->error)
            json_object_set_new(d, "error", json_string(t->error));
        if (audit_write(r, "notification_target.test", "notification_target", id, d, NULL))
            e = sl_fail(eb, SL_EDB, "could not record the test in the audit log");
        json_decref(d);
    }
    if (!e)
        e = db_commit(r->db, eb);
    if (e)
        db_rollback(r->db);
    return e;
}

/* --- list --------------------------------------------------------------------------------- */

int notif_cursor_ok(const char *const *f)
{
    return uuid_valid(f[1]);
}

sl_err notif_list(request *r, const char *lname, const char *id, int backward, int limit,
                        PGresult **res, sl_errbuf *eb)
{
    return db_query(r->db, r->a, eb, res,
                    backward ? "SELECT " NOTIF_COLS " FROM sluice.notification_targets t"
                               " WHERE (lower(t.name), t.id) < ($1::text, $2::uuid)"
                               " ORDER BY lower(t.name) DESC, t.id DESC LIMIT $3::int"
                             : "SELECT " NOTIF_COLS " FROM sluice.notification_targets t"
                               " WHERE $1::text IS NULL"
                               " OR (lower(t.name), t.id) > ($1::text, $2::uuid)"
                               " ORDER BY lower(t.name), t.id LIMIT $3::int",
                    3, (const char *[]){lname, id, arena_printf(r->a, "%d", limit + 1)});
}

const char *notif_cursor(request *r, PGresult *res, int i)
{
    return params_cursor_make(r->a, 2,
                              (const char *[]){PQgetvalue(res, i, NT_LNAME),
                                               PQgetvalue(res, i, NT_ID)});
}

