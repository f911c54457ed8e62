/* triggers_model.c - pipeline triggers behind the console and the API (see
 * triggers.h): queries, views, validation and audited changes.
 *
 * config by type: pipeline_success {"upstream_pipeline_id"},
 * landing_zone_upload {"zone_name"}, webhook {} (its secret is secret_enc,
 * "whsec_..." sealed with the master key). Changes to pipeline_success
 * triggers take one transaction-level advisory lock, so two requests cannot
 * together close a loop (A after B, B after A) that each alone would not. */
#include "triggers.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "features.h"
#include "jsonx.h"
#include "keyring.h"
#include "log.h"
#include "page.h"
#include "params.h"
#include "uuid.h"
#include "webhook_sig.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define KEY_AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define GRAPH_LOCK "SELECT pg_advisory_xact_lock(hashtext('sluice.triggers.graph'))"

#define TRG_COLS                                                                             \
    "SELECT t.id, t.pipeline_id, p.name, t.type, t.config::text, t.cooldown_seconds,"        \
    " t.enabled, " ISO("t.last_fired_at") ", t.last_run_id, t.fire_count,"                   \
    " t.suppressed_count, " ISO("t.last_suppressed_at") ", t.created_by_email, "             \
    ISO("t.created_at") ", " ISO("t.updated_at") ", up.name, up.deleted_at IS NOT NULL, "    \
    KEY_AT("t.created_at")                                                                   \
    " FROM sluice.pipeline_triggers t"                                                       \
    " JOIN sluice.pipelines p ON p.id = t.pipeline_id AND p.deleted_at IS NULL"              \
    " LEFT JOIN sluice.pipelines up ON t.type = 'pipeline_success'"                          \
    " AND up.id::text = t.config ->> 'upstream_pipeline_id'"

static const char *const types[] = {"pipeline_success", "landing_zone_upload", "webhook", NULL};

int trg_type_ok(const char *s)
{
    for (int i = 0; s && types[i]; i++)
        if (strcmp(s, types[i]) == 0)
            return 1;
    return 0;
}

static const char *val(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *key(request *r, const char *prefix, const char *name)
{
    return arena_printf(r->a, "%s%s", prefix, name);
}

/* --- validation ------------------------------------------------------------------------ */

void trg_check(const trg_input *in, const char *cur_type, int creating, const char *prefix,
               json_t *errors)
{
    char k[64];
    const char *type = creating ? in->type : cur_type;
    if (creating && (!in->type || !*in->type))
        page_field_error(errors, "type", "Choose what fires the trigger.");
    else if (creating && !trg_type_ok(in->type))
        page_field_error(errors, "type",
                         "must be pipeline_success, landing_zone_upload or webhook");
    else if (!creating && in->type && strcmp(in->type, cur_type) != 0)
        page_field_error(errors, "type",
                         "cannot be changed; delete the trigger and add another");
    if (in->cooldown != -1 && (in->cooldown < 0 || in->cooldown > TRIGGER_COOLDOWN_MAX))
        page_field_error(errors, "cooldown_seconds",
                         "must be a whole number of seconds from 0 to 604800 (a week)");
    if (!trg_type_ok(type))
        return;
    int success = strcmp(type, "pipeline_success") == 0;
    int landing = strcmp(type, "landing_zone_upload") == 0;
    snprintf(k, sizeof k, "%supstream_pipeline_id", prefix);
    if (in->upstream && !success)
        page_field_error(errors, k, "only a pipeline_success trigger has an upstream");
    else if (success && creating && (!in->upstream || !*in->upstream))
        page_field_error(errors, k, "Choose the pipeline whose success starts this one.");
    else if (success && in->upstream && !uuid_valid(in->upstream))
        page_field_error(errors, k, "must be the id of a pipeline");
    snprintf(k, sizeof k, "%szone_name", prefix);
    if (in->zone && !landing) {
        page_field_error(errors, k, "only a landing_zone_upload trigger has a zone");
    } else if (landing && (in->zone || creating)) {
        const char *z = in->zone ? in->zone : "";
        long n = params_utf8_len(z);
        if (!*z)
            page_field_error(errors, k, "Enter the name of the landing zone.");
        else if (n < 0 || params_has_control(z))
            page_field_error(errors, k, "must be text on one line");
        else if (n > TRIGGER_ZONE_MAX)
            page_field_error(errors, k, "must be at most 200 characters");
    }
}

/* Inside a transaction holding GRAPH_LOCK: may pipeline self wait for
 * upstream? Adds errors[k] when not. */
static sl_err check_upstream(request *r, const char *self, const char *upstream, const char *k,
                             json_t *errors, sl_errbuf *eb)
{
    if (strcmp(self, upstream) == 0) {
        page_field_error(errors, k, "A pipeline cannot wait for its own success.");
        return SL_OK;
    }
    PGresult *res;
    /* Does the upstream, transitively, already wait for self? Then the
     * new edge would close a loop. Disabled triggers count: enabling one
     * must not close a loop either. */
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "WITH RECURSIVE down(id) AS (SELECT $1::uuid UNION"
                        " SELECT t.pipeline_id FROM sluice.pipeline_triggers t JOIN down d"
                        " ON t.config ->> 'upstream_pipeline_id' = d.id::text"
                        " WHERE t.type = 'pipeline_success')"
                        " SELECT (SELECT name FROM sluice.pipelines WHERE id = $2::uuid"
                        " AND deleted_at IS NULL),"
                        " EXISTS (SELECT 1 FROM down WHERE id = $2::uuid)",
                        2, (const char *[]){self, upstream});
    if (e)
        return e;
    if (PQgetisnull(res, 0, 0))
        page_field_error(errors, k, "There is no such pipeline (or it was deleted).");
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        page_field_error(errors, k,
                         arena_printf(r->a, "\"%s\" already runs after this pipeline (through "
                                            "its triggers); waiting for it would make a loop.",
                                      PQgetvalue(res, 0, 0)));
    return SL_OK;
}

/* Inside a transaction: does pipeline_id have another trigger of type on
 * the same upstream / zone (config_key = value)? Adds errors[k]. */
static sl_err check_unique(request *r, const char *pipeline_id, const char *except,
                           const char *type, const char *config_key, const char *value,
                           const char *k, json_t *errors, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT 1 FROM sluice.pipeline_triggers WHERE pipeline_id = $1::uuid"
                        " AND type = $2 AND lower(config ->> $3) = lower($4)"
                        " AND ($5::uuid IS NULL OR id <> $5::uuid)",
                        5, (const char *[]){pipeline_id, type, config_key, value, except});
    if (!e && PQntuples(res) > 0)
        page_field_error(errors, k,
                         strcmp(type, "pipeline_success") == 0
                             ? "This pipeline already has a trigger on that upstream."
                             : "This pipeline already has a trigger on that zone.");
    return e;
}

/* --- queries ---------------------------------------------------------------------------- */

sl_err trg_load(request *r, const char *id, int lock, PGresult **res, sl_errbuf *eb)
{
    if (!id || !uuid_valid(id))
        return SL_ENOTFOUND;
    sl_err e = db_query(r->db, r->a, eb, res,
                        lock ? TRG_COLS " WHERE t.id = $1::uuid FOR UPDATE OF t"
                             : TRG_COLS " WHERE t.id = $1::uuid",
                        1, (const char *[]){id});
    if (!e && PQntuples(*res) != 1)
        return SL_ENOTFOUND;
    return e;
}

sl_err trg_list(request *r, const char *pipeline_id, const char *after_at, const char *after_id,
                int limit, PGresult **res, sl_errbuf *eb)
{
    const char *params[] = {pipeline_id, after_at, after_id, arena_printf(r->a, "%d", limit + 1)};
    return db_query(r->db, r->a, eb, res,
                    TRG_COLS " WHERE t.pipeline_id = $1::uuid"
                    " AND ($3::uuid IS NULL OR (t.created_at, t.id) >"
                    " (coalesce($2::timestamptz, (SELECT c.created_at FROM"
                    " sluice.pipeline_triggers c WHERE c.id = $3::uuid)), $3::uuid))"
                    " ORDER BY t.created_at, t.id LIMIT $4::int",
                    4, params);
}

const char *trg_hook_url(request *r, const char *id)
{
    const char *base = r->cfg->base_url;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return arena_printf(r->a, "%.*s/api/v1/hooks/%s", (int)n, base, id);
}

/* --- views ------------------------------------------------------------------------------ */

json_t *trg_api_json(request *r, PGresult *res, int i)
{
    const char *id = PQgetvalue(res, i, TC_ID), *type = PQgetvalue(res, i, TC_TYPE);
    const char *cfg = PQgetvalue(res, i, TC_CONFIG);
    json_t *config = json_loads(cfg, 0, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "pipeline_id", json_string(PQgetvalue(res, i, TC_PIPELINE_ID)));
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "config", config ? config : json_object());
    json_object_set_new(o, "cooldown_seconds",
                        json_integer(strtoll(PQgetvalue(res, i, TC_COOLDOWN), NULL, 10)));
    json_object_set_new(o, "enabled",
                        json_boolean(strcmp(PQgetvalue(res, i, TC_ENABLED), "t") == 0));
    json_object_set_new(o, "last_fired_at", jstr(val(res, i, TC_LAST_FIRED)));
    json_object_set_new(o, "last_run_id", jstr(val(res, i, TC_LAST_RUN)));
    json_object_set_new(o, "fire_count",
                        json_integer(strtoll(PQgetvalue(res, i, TC_FIRES), NULL, 10)));
    json_object_set_new(o, "suppressed_count",
                        json_integer(strtoll(PQgetvalue(res, i, TC_SUPPRESSED), NULL, 10)));
    json_object_set_new(o, "last_suppressed_at", jstr(val(res, i, TC_LAST_SUPPRESSED)));
    int hook = strcmp(type, "webhook") == 0;
    json_object_set_new(o, "webhook_url", hook ? json_string(trg_hook_url(r, id)) : json_null());
    json_object_set_new(o, "has_secret", json_boolean(hook));
    json_object_set_new(o, "created_by_email", jstr(val(res, i, TC_CREATED_BY)));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, TC_CREATED)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(res, i, TC_UPDATED)));
    json_object_set_new(
        o, "links",
        json_pack("{s:s, s:s, s:s}", "self", arena_printf(r->a, "/api/v1/triggers/%s", id),
                  "pipeline",
                  arena_printf(r->a, "/api/v1/pipelines/%s", PQgetvalue(res, i, TC_PIPELINE_ID)),
                  "html",
                  arena_printf(r->a, "/pipelines/%s#triggers",
                               PQgetvalue(res, i, TC_PIPELINE_ID))));
    return o;
}

/* "2024-05-31T12:34:56Z" -> "2024-05-31 12:34 UTC"; dflt for NULL. */
static const char *short_time(request *r, const char *iso, const char *dflt)
{
    if (!iso || strlen(iso) < 16)
        return dflt;
    char *s = arena_printf(r->a, "%.16s UTC", iso);
    s[10] = ' ';
    return s;
}

static const char *cooldown_text(request *r, long long s)
{
    if (s == 0)
        return "none";
    if (s % 3600 == 0)
        return arena_printf(r->a, "%lld h", s / 3600);
    if (s % 60 == 0)
        return arena_printf(r->a, "%lld min", s / 60);
    return arena_printf(r->a, "%lld s", s);
}

json_t *trg_page_json(request *r, PGresult *res, int i)
{
    json_t *o = trg_api_json(r, res, i);
    const char *type = PQgetvalue(res, i, TC_TYPE);
    json_t *config = json_object_get(o, "config");
    json_object_set_new(o, "is_success", json_boolean(strcmp(type, "pipeline_success") == 0));
    json_object_set_new(o, "is_landing", json_boolean(strcmp(type, "landing_zone_upload") == 0));
    json_object_set_new(o, "is_webhook", json_boolean(strcmp(type, "webhook") == 0));
    const char *text = strcmp(type, "pipeline_success") == 0 ? "Pipeline success"
                       : strcmp(type, "webhook") == 0        ? "Webhook"
                                                             : "Landing zone upload";
    json_object_set_new(o, "type_text", json_string(text));
    json_object_set_new(o, "upstream_id",
                        json_string(jsonx_str(config, "upstream_pipeline_id", "")));
    json_object_set_new(o, "upstream_name",
                        json_string(val(res, i, TC_UP_NAME) ? val(res, i, TC_UP_NAME)
                                                             : "an unknown pipeline"));
    json_object_set_new(o, "upstream_deleted",
                        json_boolean(!val(res, i, TC_UP_NAME) ||
                                     strcmp(PQgetvalue(res, i, TC_UP_DELETED), "t") == 0));
    json_object_set_new(o, "zone_name", json_string(jsonx_str(config, "zone_name", "")));
    json_object_set_new(o, "has_suppressed",
                        json_boolean(strtoll(PQgetvalue(res, i, TC_SUPPRESSED), NULL, 10) > 0));
    json_object_set_new(o, "pipeline_name", json_string(PQgetvalue(res, i, TC_PIPELINE_NAME)));
    json_object_set_new(o, "cooldown_text",
                        json_string(cooldown_text(
                            r, strtoll(PQgetvalue(res, i, TC_COOLDOWN), NULL, 10))));
    json_object_set_new(o, "last_fired_text",
                        json_string(short_time(r, val(res, i, TC_LAST_FIRED), "never")));
    return o;
}

void trg_put_pipeline(request *r, json_t *ctx, const char *pipeline_id)
{
    if (!feature_enabled(r, "pipeline_triggers"))
        return;
    sl_errbuf eb = {0};
    PGresult *res;
    if (trg_list(r, pipeline_id, NULL, NULL, TRIGGERS_PAGE, &res, &eb) != SL_OK) {
        log_error("triggers of pipeline %s: %s", pipeline_id, eb.msg);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < TRIGGERS_PAGE; i++)
        json_array_append_new(items, trg_page_json(r, res, i));
    json_object_set_new(ctx, "triggers",
                        json_pack("{s:o, s:b, s:b, s:s}", "items", items, "has_items", n > 0,
                                  "more", n > TRIGGERS_PAGE, "pipeline_id", pipeline_id));
}

sl_err trg_upstream_choices(request *r, const char *self, const char *selected, json_t **out,
                            sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT id, name FROM sluice.pipelines WHERE deleted_at IS NULL"
                        " AND id <> $1::uuid ORDER BY lower(name), id LIMIT $2::int",
                        2,
                        (const char *[]){self, arena_printf(r->a, "%d", TRIGGER_CHOICES_MAX)});
    if (e)
        return e;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "id", id, "name",
                                              PQgetvalue(res, i, 1), "selected",
                                              selected && strcmp(selected, id) == 0));
    }
    *out = list;
    return SL_OK;
}

json_t *trg_zone_choices(request *r)
{
    sl_errbuf eb = {0};
    PGresult *res;
    json_t *list = json_array();
    if (db_query(r->db, r->a, &eb, &res,
                 "SELECT name FROM sluice.landing_zones ORDER BY lower(name) LIMIT $1::int", 1,
                 (const char *[]){arena_printf(r->a, "%d", TRIGGER_CHOICES_MAX)}) != SL_OK) {
        log_warn("landing zones for the trigger form: %s", eb.msg);
        return list;
    }
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, json_pack("{s:s}", "name", PQgetvalue(res, i, 0)));
    return list;
}

/* --- changes ------------------------------------------------------------------------------ */

/* Write the audit row (details stolen) and commit; roll back on failure. */
static sl_err record(request *r, const char *action, const char *id, json_t *details,
                     sl_errbuf *eb)
{
    sl_err e = audit_write(r, action, "pipeline_trigger", id, details, NULL);
    json_decref(details);
    if (e)
        e = sl_fail(eb, SL_EDB, "could not record %s in the audit log", action);
    else
        e = db_commit(r->db, eb);
    if (e)
        db_rollback(r->db);
    return e;
}

/* The config object for in (type given), as JSON text in the arena. */
static const char *config_text(request *r, const char *type, const char *upstream,
                               const char *zone)
{
    json_t *c = json_object();
    if (strcmp(type, "pipeline_success") == 0)
        json_object_set_new(c, "upstream_pipeline_id", json_string(upstream));
    else if (strcmp(type, "landing_zone_upload") == 0)
        json_object_set_new(c, "zone_name", json_string(zone));
    const char *s = jsonx_dump(r->a, c);
    json_decref(c);
    return s;
}

/* Inside a transaction: the checks that need the database for a trigger
 * of pipeline_id (except: its own id when updating) with type on upstream
 * or zone. Adds errors. */
static sl_err check_db(request *r, const char *pipeline_id, const char *except, const char *type,
                       const char *upstream, const char *zone, const char *prefix,
                       json_t *errors, sl_errbuf *eb)
{
    sl_err e = SL_OK;
    if (strcmp(type, "pipeline_success") == 0) {
        const char *k = key(r, prefix, "upstream_pipeline_id");
        e = db_exec(r->db, eb, GRAPH_LOCK, 0, NULL);
        if (!e)
            e = check_upstream(r, pipeline_id, upstream, k, errors, eb);
        if (!e && json_object_size(errors) == 0)
            e = check_unique(r, pipeline_id, except, type, "upstream_pipeline_id", upstream, k,
                             errors, eb);
    } else if (strcmp(type, "landing_zone_upload") == 0) {
        e = check_unique(r, pipeline_id, except, type, "zone_name", zone,
                         key(r, prefix, "zone_name"), errors, eb);
    }
    return e;
}

/* After a failed write: a unique key (the same upstream or zone twice,
 * written by a request racing this one) is the field's error, SL_EINVAL. */
static sl_err unique_error(request *r, sl_err e, const char *type, const char *prefix,
                           json_t *errors)
{
    if (e != SL_EDB || strcmp(db_sqlstate(r->db), "23505") != 0)
        return e;
    int success = strcmp(type, "pipeline_success") == 0;
    page_field_error(errors, key(r, prefix, success ? "upstream_pipeline_id" : "zone_name"),
                     success ? "This pipeline already has a trigger on that upstream."
                             : "This pipeline already has a trigger on that zone.");
    return SL_EINVAL;
}

sl_err trg_create(request *r, const char *pipeline_id, const trg_input *in, const char *prefix,
                  json_t *errors, const char **id, const char **secret, sl_errbuf *eb)
{
    *id = *secret = NULL;
    PGresult *res;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    e = db_query(r->db, r->a, eb, &res,
                 "SELECT 1 FROM sluice.pipelines WHERE id = $1::uuid AND deleted_at IS NULL"
                 " FOR SHARE",
                 1, (const char *[]){pipeline_id});
    if (!e && PQntuples(res) != 1)
        e = SL_ENOTFOUND;
    if (!e)
        e = check_db(r, pipeline_id, NULL, in->type, in->upstream, in->zone, prefix, errors, eb);
    if (!e && json_object_size(errors) > 0)
        e = SL_EINVAL;
    const char *sealed = NULL;
    if (!e && strcmp(in->type, "webhook") == 0) {
        *secret = webhook_sig_secret_new(r->a);
        sealed = keyring_seal(r->a, *secret);
    }
    long long cooldown = in->cooldown >= 0 ? in->cooldown : TRIGGER_COOLDOWN_DEFAULT;
    const char *cfg = e ? NULL : config_text(r, in->type, in->upstream, in->zone);
    if (!e)
        e = db_query(r->db, r->a, eb, &res,
                     "INSERT INTO sluice.pipeline_triggers (pipeline_id, type, config,"
                     " secret_enc, cooldown_seconds, enabled, created_by, created_by_email)"
                     " VALUES ($1::uuid, $2, $3::jsonb, $4, $5::int, $6::boolean, $7::uuid, $8)"
                     " RETURNING id",
                     8,
                     (const char *[]){pipeline_id, in->type, cfg, sealed,
                                      arena_printf(r->a, "%lld", cooldown),
                                      in->enabled == 0 ? "f" : "t", r->user_id, r->user_email});
    if (e) {
        e = unique_error(r, e, in->type, prefix, errors);
        db_rollback(r->db);
        *secret = NULL;
        return e;
    }
    *id = PQgetvalue(res, 0, 0);
    json_t *details = json_pack("{s:s, s:s, s:o, s:I, s:b}", "pipeline_id", pipeline_id, "type",
                                in->type, "config", json_loads(cfg, 0, NULL), "cooldown_seconds",
                                (json_int_t)cooldown, "enabled", in->enabled != 0);
    e = record(r, "trigger.create", *id, details, eb);
    if (e)
        *id = *secret = NULL;
    return e;
}

/* One changed field into the audit details: {from, to}. */
static void changed_field(json_t *changes, const char *name, json_t *from, json_t *to)
{
    json_object_set_new(changes, name, json_pack("{s:o, s:o}", "from", from, "to", to));
}

sl_err trg_update(request *r, const char *id, const trg_input *in, const char *prefix,
                  json_t *errors, int *changed, sl_errbuf *eb)
{
    *changed = 0;
    PGresult *res;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    e = trg_load(r, id, 1, &res, eb);
    if (e) {
        db_rollback(r->db);
        return e;
    }
    const char *type = PQgetvalue(res, 0, TC_TYPE);
    const char *pipeline_id = PQgetvalue(res, 0, TC_PIPELINE_ID);
    json_t *cur = jsonx_own(r->a, json_loads(PQgetvalue(res, 0, TC_CONFIG), 0, NULL));
    const char *up = in->upstream ? in->upstream : jsonx_str(cur, "upstream_pipeline_id", "");
    const char *zone = in->zone ? in->zone : jsonx_str(cur, "zone_name", "");
    long long cooldown = strtoll(PQgetvalue(res, 0, TC_COOLDOWN), NULL, 10);
    int enabled = strcmp(PQgetvalue(res, 0, TC_ENABLED), "t") == 0;
    json_t *changes = json_object();
    if (in->upstream && strcmp(in->upstream, jsonx_str(cur, "upstream_pipeline_id", "")) != 0)
        changed_field(changes, "upstream_pipeline_id",
                      json_string(jsonx_str(cur, "upstream_pipeline_id", "")),
                      json_string(in->upstream));
    if (in->zone && strcmp(in->zone, jsonx_str(cur, "zone_name", "")) != 0)
        changed_field(changes, "zone_name", json_string(jsonx_str(cur, "zone_name", "")),
                      json_string(in->zone));
    if (json_object_size(changes) > 0)
        e = check_db(r, pipeline_id, id, type, up, zone, prefix, errors, eb);
    if (!e && json_object_size(errors) > 0)
        e = SL_EINVAL;
    if (in->cooldown >= 0 && in->cooldown != cooldown)
        changed_field(changes, "cooldown_seconds", json_integer(cooldown),
                      json_integer(in->cooldown));
    if (in->enabled >= 0 && in->enabled != enabled)
        changed_field(changes, "enabled", json_boolean(enabled), json_boolean(in->enabled));
    if (e || json_object_size(changes) == 0) {
        json_decref(changes);
        db_rollback(r->db);
        return e;
    }
    e = db_exec(r->db, eb,
                "UPDATE sluice.pipeline_triggers SET config = $2::jsonb,"
                " cooldown_seconds = $3::int, enabled = $4::boolean, updated_at = now()"
                " WHERE id = $1::uuid",
                4,
                (const char *[]){id, config_text(r, type, up, zone),
                                 arena_printf(r->a, "%lld",
                                              in->cooldown >= 0 ? in->cooldown : cooldown),
                                 (in->enabled >= 0 ? in->enabled : enabled) ? "t" : "f"});
    if (e) {
        e = unique_error(r, e, type, prefix, errors);
        json_decref(changes);
        db_rollback(r->db);
        return e;
    }
    *changed = 1;
    return record(r, "trigger.update", id,
                  json_pack("{s:s, s:s, s:o}", "pipeline_id", pipeline_id, "type", type,
                            "changes", changes),
                  eb);
}

sl_err trg_delete(request *r, const char *id, const char **pipeline_id, sl_errbuf *eb)
{
    PGresult *res;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (!e)
        e = trg_load(r, id, 1, &res, eb);
    if (!e)
        e = db_exec(r->db, eb, "DELETE FROM sluice.pipeline_triggers WHERE id = $1::uuid", 1,
                    (const char *[]){id});
    if (e) {
        db_rollback(r->db);
        return e;
    }
    const char *pid = PQgetvalue(res, 0, TC_PIPELINE_ID);
    if (pipeline_id)
        *pipeline_id = pid;
    return record(r, "trigger.delete", id,
                  json_pack("{s:s, s:s, s:o}", "pipeline_id", pid, "type",
                            PQgetvalue(res, 0, TC_TYPE), "config",
                            json_loads(PQgetvalue(res, 0, TC_CONFIG), 0, NULL)),
                  eb);
}

sl_err trg_rotate(request *r, const char *id, const char **secret, sl_errbuf *eb)
{
    *secret = NULL;
    PGresult *res;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (!e)
        e = trg_load(r, id, 1, &res, eb);
    if (!e && strcmp(PQgetvalue(res, 0, TC_TYPE), "webhook") != 0)
        e = sl_fail(eb, SL_EUNSUPPORTED, "only a webhook trigger has a secret");
    const char *s = e ? NULL : webhook_sig_secret_new(r->a);
    if (!e)
        e = db_exec(r->db, eb,
                    "UPDATE sluice.pipeline_triggers SET secret_enc = $2, updated_at = now()"
                    " WHERE id = $1::uuid",
                    2, (const char *[]){id, keyring_seal(r->a, s)});
    if (e) {
        db_rollback(r->db);
        return e;
    }
    e = record(r, "trigger.rotate_secret", id,
               json_pack("{s:s}", "pipeline_id", PQgetvalue(res, 0, TC_PIPELINE_ID)), eb);
    if (!e)
        *secret = s;
    return e;
}
