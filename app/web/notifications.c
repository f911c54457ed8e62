/* notifications.c - notification targets (Slack, Discord, Telegram, signed
 * webhooks) in the console and under /api/v1/notification-targets: list,
 * new (choose a type, then its fields), detail, edit, delete (behind a
 * confirmation page), "Send test", and the "all pipelines" subscription.
 *
 * What is secret (the Slack and Discord webhook URLs, the webhook URL, the
 * bot token, the signing secret) is sealed as one JSON object in
 * secret_enc (notify_target_seal) and never sent back: pages and answers
 * show masks kept in the config column (url_hint, token_hint), edit forms
 * say "unchanged — leave blank to keep". A signing secret sluice makes (a
 * new webhook target without one typed, or a rotation) is shown once: the
 * 200 page that made it (no-store, never a redirect) or the API answer.
 * "Send test" posts a sample run.succeeded message synchronously with
 * notify_render + notify_send, records the outcome on the row and audits
 * it. Every change runs in one transaction with its audit row; the audit
 * details say which secrets changed, never what they are. */
#include <stdlib.h>
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
#include "webhook_sig.h"
#include "worker.h"

#define ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Every query on targets selects these, in enum order. */
#define T_COLS                                                                               \
    "t.id, t.name, t.type, t.config::text, t.active, t.disabled_reason, "                    \
    ISO("t.last_tested_at") ", t.last_test_status, t.last_test_ms, t.last_test_error,"       \
    " t.last_test_answer, " ISO("t.created_at") ", " ISO("t.updated_at") ", lower(t.name),"  \
    " (SELECT array_to_json(g.events)::text FROM sluice.pipeline_notifications g"            \
    " WHERE g.target_id = t.id AND g.pipeline_id IS NULL),"                                  \
    " (SELECT count(*) FROM sluice.pipeline_notifications s"                                 \
    " WHERE s.target_id = t.id AND s.pipeline_id IS NOT NULL)"
enum { TC_ID, TC_NAME, TC_TYPE, TC_CONFIG, TC_ACTIVE, TC_DISABLED, TC_TESTED, TC_TSTATUS,
       TC_TMS, TC_TERROR, TC_TANSWER, TC_CREATED, TC_UPDATED, TC_LNAME, TC_GLOBAL, TC_NSUBS,
       TC_NCOLS };

static const struct {
    const char *type, *label, *hint;
} types[] = {
    {"slack", "Slack", "An incoming webhook of a Slack app posts to one channel."},
    {"discord", "Discord", "A channel webhook (Server settings, Integrations, Webhooks)."},
    {"telegram", "Telegram", "A bot (made with @BotFather) posts to a chat it is a member of."},
    {"webhook", "Webhook", "A JSON POST to any URL, signed per the Standard Webhooks spec."},
};
#define NTYPES (sizeof types / sizeof types[0])

static const char *const api_fields[] = {"name", "type", "active", "url", "bot_token",
                                         "chat_id", "signing_secret", "rotate_signing_secret",
                                         "all_pipelines_events", NULL};
static const char *const api_readonly[] = {"id", "disabled_reason", "url_masked",
                                           "bot_token_masked", "has_signing_secret",
                                           "pipeline_subscriptions", "last_test", "created_at",
                                           "updated_at", NULL};

/* A target as a form or a body describes it. Secrets are "" when not
 * typed (keep the stored one on edit). */
typedef struct {
    const char *name, *type, *chat_id;
    const char *url, *bot_token, *secret;
    int active;
    int rotate;                /* make a new signing secret */
    json_t *global;            /* all-pipelines events to set, or NULL: unchanged */
    int retype;                /* a secret was typed into a form that failed */
} target_fields;

/* --- shared helpers ---------------------------------------------------------------------- */

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

static const char *id_param(request *r)
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
static int load(request *r, const char *id, int lock, PGresult **res)
{
    sl_errbuf eb = {0};
    sl_err e = db_query(r->db, r->a, &eb, res,
                        lock ? "SELECT " T_COLS ", t.secret_enc"
                               " FROM sluice.notification_targets t WHERE t.id = $1 FOR UPDATE"
                             : "SELECT " T_COLS ", t.secret_enc"
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

static json_t *col_json_array(request *r, PGresult *res, int i, int col)
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

static json_t *config_of(request *r, PGresult *res, int i)
{
    const char *t = PQgetvalue(res, i, TC_CONFIG);
    json_t *v = jsonx_parse(r->a, NULL, t, strlen(t));
    return json_is_object(v) ? v : jsonx_own(r->a, json_object());
}

static int col_int(PGresult *res, int i, int col)
{
    return (int)strtol(PQgetvalue(res, i, col), NULL, 10);
}

static int test_ok(PGresult *res, int i)
{
    int st = col_int(res, i, TC_TSTATUS);
    return !PQgetisnull(res, i, TC_TSTATUS) && st >= 200 && st < 300 &&
           PQgetisnull(res, i, TC_TERROR);
}

/* --- views -------------------------------------------------------------------------------- */

static json_t *nullable(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static json_t *api_row(request *r, PGresult *res, int i)
{
    const char *type = PQgetvalue(res, i, TC_TYPE);
    json_t *cfg = config_of(r, res, i);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o}", "id", PQgetvalue(res, i, TC_ID), "name",
                          PQgetvalue(res, i, TC_NAME), "type", type, "active",
                          strcmp(PQgetvalue(res, i, TC_ACTIVE), "t") == 0, "disabled_reason",
                          nullable(res, i, TC_DISABLED));
    if (strcmp(type, "telegram") == 0) {
        json_object_set_new(o, "chat_id", json_string(jsonx_str(cfg, "chat_id", "")));
        json_object_set_new(o, "bot_token_masked",
                            json_string(jsonx_str(cfg, "token_hint", "****")));
    } else {
        json_object_set_new(o, "url_masked", json_string(jsonx_str(cfg, "url_hint", "****")));
    }
    if (strcmp(type, "webhook") == 0)
        json_object_set_new(o, "has_signing_secret", json_true());
    json_object_set_new(o, "all_pipelines_events", col_json_array(r, res, i, TC_GLOBAL));
    json_object_set_new(o, "pipeline_subscriptions",
                        json_integer(strtoll(PQgetvalue(res, i, TC_NSUBS), NULL, 10)));
    if (PQgetisnull(res, i, TC_TESTED)) {
        json_object_set_new(o, "last_test", json_null());
    } else {
        json_object_set_new(
            o, "last_test",
            json_pack("{s:s, s:b, s:i, s:i, s:o, s:o}", "at", PQgetvalue(res, i, TC_TESTED), "ok",
                      test_ok(res, i), "status", col_int(res, i, TC_TSTATUS), "latency_ms",
                      col_int(res, i, TC_TMS), "error", nullable(res, i, TC_TERROR), "answer",
                      nullable(res, i, TC_TANSWER)));
    }
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, TC_CREATED)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(res, i, TC_UPDATED)));
    return o;
}

static json_t *page_row(request *r, PGresult *res, int i)
{
    json_t *o = api_row(r, res, i);
    const char *type = PQgetvalue(res, i, TC_TYPE);
    json_t *g = json_object_get(o, "all_pipelines_events");
    int active = strcmp(PQgetvalue(res, i, TC_ACTIVE), "t") == 0;
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
    if (!PQgetisnull(res, i, TC_TESTED)) {
        int ok = test_ok(res, i), st = col_int(res, i, TC_TSTATUS);
        json_object_set_new(o, "test_badge", json_string(ok ? "badge-ok" : "badge-off"));
        json_object_set_new(o, "test_label",
                            json_string(st ? arena_printf(r->a, "HTTP %d", st) : "no answer"));
        json_object_set_new(o, "test_ok", json_boolean(ok));
    }
    return o;
}

/* --- fields ------------------------------------------------------------------------------- */

static void defaults(target_fields *f)
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

static void from_form(request *r, target_fields *f, int editing)
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

static void from_row(request *r, target_fields *f, PGresult *res)
{
    defaults(f);
    f->name = PQgetvalue(res, 0, TC_NAME);
    f->type = PQgetvalue(res, 0, TC_TYPE);
    f->active = strcmp(PQgetvalue(res, 0, TC_ACTIVE), "t") == 0;
    f->chat_id = jsonx_str(config_of(r, res, 0), "chat_id", "");
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

static void from_json(request *r, const json_t *body, target_fields *f, json_t *errors)
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
static void check(request *r, target_fields *f, const json_t *old, json_t *errors,
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

/* --- storing -------------------------------------------------------------------------------- */

/* Set (events non-empty) or remove the all-pipelines subscription of
 * target id, inside the open transaction. */
static sl_err set_global(request *r, const char *id, const json_t *events, sl_errbuf *eb)
{
    if (json_array_size(events) == 0)
        return db_exec(r->db, eb,
                       "DELETE FROM sluice.pipeline_notifications"
                       " WHERE target_id = $1 AND pipeline_id IS NULL",
                       1, (const char *[]){id});
    return db_exec(r->db, eb,
                   "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events,"
                   " created_by) VALUES (NULL, $1, ARRAY(SELECT json_array_elements_text($2::json)),"
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
static int store(request *r, PGresult *old, target_fields *f, json_t *errors,
                 const char **id_out, const char **made)
{
    const char *id = old ? PQgetvalue(old, 0, TC_ID) : NULL;
    json_t *old_secret = NULL;
    sl_errbuf eb = {0};
    if (old && notify_target_secret(r->a, PQgetvalue(old, 0, TC_NCOLS), &old_secret, &eb)) {
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
    if (f->global && (e = set_global(r, new_id, f->global, &eb)) != SL_OK) {
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
        target_fields o;
        from_row(r, &o, old);
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
static int delete_target(request *r, const char *id, const char **name)
{
    PGresult *res;
    if (conn_begin(r) || load(r, id, 1, &res) != 1)
        return -1;
    *name = PQgetvalue(res, 0, TC_NAME);
    sl_errbuf eb = {0};
    sl_err e = db_exec(r->db, &eb, "DELETE FROM sluice.notification_targets WHERE id = $1", 1,
                       (const char *[]){id});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    json_t *d = json_pack("{s:s, s:s, s:O}", "name", *name, "type", PQgetvalue(res, 0, TC_TYPE),
                          "all_pipelines_events",
                          jsonx_own(r->a, col_json_array(r, res, 0, TC_GLOBAL)));
    json_object_set_new(d, "pipeline_subscriptions",
                        json_integer(strtoll(PQgetvalue(res, 0, TC_NSUBS), NULL, 10)));
    sl_err ae = audit_write(r, "notification_target.delete", "notification_target", id, d, NULL);
    json_decref(d);
    if (ae) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return -1;
    }
    return conn_commit(r) ? -1 : 0;
}

/* --- send test ------------------------------------------------------------------------------ */

typedef struct {
    int ok, status;
    long latency_ms;
    const char *name, *url, *error, *answer, *tested_at;
} test_result;

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
static sl_err send_test(request *r, const char *id, test_result *t, sl_errbuf *eb)
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
                 " last_test_answer = $5 WHERE id = $1 RETURNING " ISO("last_tested_at"),
                 5,
                 (const char *[]){id, arena_printf(r->a, "%d", t->status),
                                  arena_printf(r->a, "%ld", t->latency_ms), t->error,
                                  t->answer});
    if (!e && PQntuples(res) != 1)
        e = sl_fail(eb, SL_ENOTFOUND, "no such notification target");
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

/* --- list ------------------------------------------------------------------------------------ */

static int cursor_ok(const char *const *f)
{
    return uuid_valid(f[1]);
}

static sl_err list_rows(request *r, const char *lname, const char *id, int backward, int limit,
                        PGresult **res, sl_errbuf *eb)
{
    return db_query(r->db, r->a, eb, res,
                    backward ? "SELECT " T_COLS " FROM sluice.notification_targets t"
                               " WHERE (lower(t.name), t.id) < ($1::text, $2::uuid)"
                               " ORDER BY lower(t.name) DESC, t.id DESC LIMIT $3::int"
                             : "SELECT " T_COLS " FROM sluice.notification_targets t"
                               " WHERE $1::text IS NULL"
                               " OR (lower(t.name), t.id) > ($1::text, $2::uuid)"
                               " ORDER BY lower(t.name), t.id LIMIT $3::int",
                    3, (const char *[]){lname, id, arena_printf(r->a, "%d", limit + 1)});
}

static const char *row_cursor(request *r, PGresult *res, int i)
{
    return params_cursor_make(r->a, 2,
                              (const char *[]){PQgetvalue(res, i, TC_LNAME),
                                               PQgetvalue(res, i, TC_ID)});
}

void h_notifications_list(request *r)
{
    const char *after = http_query(r, "after"), *before = http_query(r, "before");
    const char *f[2] = {NULL, NULL};
    if (after && !*after)
        after = NULL;
    if (before && !*before)
        before = NULL;
    if ((after && before) ||
        (after && (!params_cursor_parse(r->a, after, 2, f) || !cursor_ok(f))) ||
        (before && (!params_cursor_parse(r->a, before, 2, f) || !cursor_ok(f)))) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = list_rows(r, f[0], f[1], before != NULL, NOTIF_PAGE, &res, &eb);
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
        json_array_append_new(items, page_row(r, res, before ? n - 1 - i : i));
    if (n > 0) {
        int first = before ? n - 1 : 0, last = before ? 0 : n - 1;
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(row_cursor(r, res, first)));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(row_cursor(r, res, last)));
    }
    json_object_set_new(ctx, "items", items);
    json_object_set_new(ctx, "has_items", json_boolean(n > 0));
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    page_render(r, 200, "notifications/list", ctx);
}

/* --- forms ------------------------------------------------------------------------------------ */

/* The new/edit form for f (id NULL: new). errors is stolen. */
static void form_page(request *r, int status, const char *id, PGresult *row, target_fields *f,
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
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(type, types[i].type) == 0)
            json_object_set_new(fc, "type_hint", json_string(types[i].hint));
    if (row) {
        json_t *cfg = config_of(r, row, 0);
        json_object_set_new(fc, "url_hint", json_string(jsonx_str(cfg, "url_hint", "")));
        json_object_set_new(fc, "token_hint", json_string(jsonx_str(cfg, "token_hint", "")));
        if (!PQgetisnull(row, 0, TC_DISABLED))
            json_object_set_new(fc, "disabled_reason",
                                json_string(PQgetvalue(row, 0, TC_DISABLED)));
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
        for (size_t i = 0; i < NTYPES; i++)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "type", types[i].type,
                                                  "label", types[i].label, "hint",
                                                  types[i].hint));
        json_object_set_new(ctx, "types", list);
        json_object_set_new(ctx, "bad_type", json_boolean(type && *type));
        page_render(r, type && *type ? 404 : 200, "notifications/choose", ctx);
        return;
    }
    target_fields f;
    defaults(&f);
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
    target_fields f;
    defaults(&f);
    from_form(r, &f, 0);
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
    int rc = store(r, NULL, &f, errors, &id, &made);
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
    const char *id = PQgetvalue(res, 0, TC_ID);
    json_t *ctx = page_ctx(r, PQgetvalue(res, 0, TC_NAME), "notifications");
    json_t *t = page_row(r, res, 0);
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
            json_t *ev = jsonx_own(r->a, col_json_array(r, subs, i, 2));
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
    const char *id = id_param(r);
    PGresult *res;
    if (!id || load(r, id, 0, &res) != 1)
        return;
    show_page(r, 200, res, NULL, NULL);
}

void h_notification_edit(request *r)
{
    const char *id = id_param(r);
    PGresult *res;
    if (!id || load(r, id, 0, &res) != 1)
        return;
    target_fields f;
    from_row(r, &f, res);
    form_page(r, 200, id, res, &f, json_object());
}

void h_notification_update(request *r)
{
    sl_errbuf eb = {0};
    const char *id = id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    PGresult *old;
    if (conn_begin(r) || load(r, id, 1, &old) != 1)
        return;
    target_fields f;
    from_row(r, &f, old);
    from_form(r, &f, 1);
    json_t *errors = json_object();
    const char *saved, *made;
    int rc = store(r, old, &f, errors, &saved, &made);
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
    const char *id = id_param(r);
    PGresult *res;
    if (!id || load(r, id, 0, &res) != 1)
        return;
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Delete %s", PQgetvalue(res, 0, TC_NAME)),
                           "notifications");
    json_object_set_new(ctx, "t", page_row(r, res, 0));
    page_render(r, 200, "notifications/delete", ctx);
}

void h_notification_delete(request *r)
{
    const char *id = id_param(r);
    const char *name;
    if (!id || delete_target(r, id, &name) != 0)
        return;
    page_done(r, "/notifications",
              arena_printf(r->a, "Notification target %s deleted.", name));
}

void h_notification_test(request *r)
{
    const char *id = id_param(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    test_result t;
    sl_err e = send_test(r, id, &t, &eb);
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
    const char *id = id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    json_t *events = jsonx_own(r->a, notif_events_from_form(r));
    PGresult *res;
    if (conn_begin(r) || load(r, id, 1, &res) != 1)
        return;
    json_t *before = jsonx_own(r->a, col_json_array(r, res, 0, TC_GLOBAL));
    sl_err e = set_global(r, id, events, &eb);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return;
    }
    json_t *d = json_pack("{s:s, s:O, s:O}", "name", PQgetvalue(res, 0, TC_NAME), "from",
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
    const char *name = PQgetvalue(res, 0, TC_NAME);
    page_done(r, arena_printf(r->a, "/notifications/%s#all-pipelines", id),
              json_array_size(events)
                  ? arena_printf(r->a, "%s now hears every pipeline: %s.", name,
                                 notif_events_text(r, events))
                  : arena_printf(r->a, "%s no longer hears every pipeline.", name));
}

/* --- JSON API ---------------------------------------------------------------------------------- */

void h_api_notification_targets_list(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[2];
    params_page(r, 2, cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = list_rows(r, key[0], key[1], 0, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_row(r, res, i));
    http_send_json(r, 200, params_page_json(items, n > limit ? row_cursor(r, res, (int)limit - 1)
                                                             : NULL));
}

void h_api_notification_target_get(request *r)
{
    const char *id = id_param(r);
    PGresult *res;
    if (!id || load(r, id, 0, &res) != 1)
        return;
    http_send_json(r, 200, api_row(r, res, 0));
}

/* Answer a stored change with the row as it is now (and a secret made). */
static void answer_row(request *r, int status, const char *id, const char *made)
{
    PGresult *res;
    if (load(r, id, 0, &res) != 1)
        return;
    json_t *o = api_row(r, res, 0);
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
    target_fields f;
    defaults(&f);
    from_json(r, body, &f, errors);
    if (json_object_get(body, "rotate_signing_secret"))
        page_field_error(errors, "rotate_signing_secret", "only when changing a target");
    if (!*f.type)
        page_field_error(errors, "type", "choose slack, discord, telegram or webhook");
    const char *id, *made;
    if (conn_begin(r)) {
        json_decref(errors);
        return;
    }
    int rc = store(r, NULL, &f, errors, &id, &made);
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
    const char *id = id_param(r);
    if (!id)
        return;
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    PGresult *old;
    if (conn_begin(r) || load(r, id, 1, &old) != 1)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    target_fields f;
    from_row(r, &f, old);
    const char *type = f.type;
    from_json(r, body, &f, errors);
    if (strcmp(type, f.type) != 0) {
        page_field_error(errors, "type", "cannot change; make a new target of the other type");
        f.type = type;
    }
    const char *saved, *made;
    int rc = store(r, old, &f, errors, &saved, &made);
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
    const char *id = id_param(r);
    const char *name;
    if (id && delete_target(r, id, &name) == 0)
        http_set_status(r, 204);
}

void h_api_notification_target_test(request *r)
{
    const char *id = id_param(r);
    if (!id)
        return;
    sl_errbuf eb = {0};
    test_result t;
    sl_err e = send_test(r, id, &t, &eb);
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
