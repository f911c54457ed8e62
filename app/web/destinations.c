/* destinations.c - the databases sluice loads into: console pages (list,
 * new, detail, edit, delete, test connection, make default) and the JSON
 * API under /api/v1/destinations.
 *
 * The connection fields and password rules are connform.c's; this file adds
 * the raw schema (default staging), the target schema (default analytics)
 * and the default flag. Exactly one destination is the default while any
 * exist: the first one made becomes it, making another the default unsets
 * the old one in the same transaction, the default cannot be unset (make
 * another one the default instead) and cannot be deleted while others
 * exist. Every write takes one transaction-scoped advisory lock first
 * (DEST_LOCK_SQL, shared with `sluice destination add-local`), so these
 * rules hold under concurrent requests. Everything lives in the request
 * arena. */
#include <stdlib.h>
#include <string.h>

#include "connform.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "worker.h"

#define SCHEMA_MAX 63 /* bytes */
#define DEST_LOCK_SQL "SELECT pg_advisory_xact_lock(hashtext('sluice.destinations'))"
#define DEFAULT_DELETE_MSG                                                                   \
    "This is the default destination. Make another destination the default first, then "    \
    "delete this one."
#define DEFAULT_UNSET_MSG                                                                    \
    "this is the default destination; there must always be one, so make another "          \
    "destination the default instead"

static const char *const dest_types[] = {"postgresql", "mysql", "clickhouse", NULL};

static const conn_kind K = {
    "sluice.destinations", "destination", "Destination", "/destinations", dest_types,
    "PostgreSQL, MySQL or ClickHouse", 0, "destination_id",
};

#define DEST_COLS CONN_COLS ", raw_schema, target_schema, is_default"
enum { DC_RAW = CC_NCOLS, DC_TARGET, DC_DEFAULT };

static const char *const api_fields[] = {"name", "type", "host", "port", "database", "user",
                                         "password", "ssl_mode", "raw_schema", "target_schema",
                                         "default", NULL};
static const char *const api_readonly[] = {"id", "has_password", "status", "last_tested_at",
                                           "last_test_ms", "last_error", "server_version",
                                           "created_at", "updated_at", NULL};

typedef struct {
    conn_fields c;
    const char *raw_schema, *target_schema;
    int is_default;
    int was_default; /* the stored row is the default (edit form) */
} dest_fields;

/* --- fields -------------------------------------------------------------------------- */

static void defaults(dest_fields *f)
{
    memset(f, 0, sizeof *f);
    f->c.name = f->c.type = f->c.host = f->c.database = f->c.user = f->c.port_text = "";
    f->c.ssl_mode = "prefer";
    f->c.pw = CONN_PW_CLEAR;
    f->raw_schema = "staging";
    f->target_schema = "analytics";
}

static void from_form(request *r, dest_fields *f, int editing)
{
    conn_fields_from_form(r, &f->c, editing);
    f->raw_schema = form_str(r, "raw_schema");
    f->target_schema = form_str(r, "target_schema");
    if (!*f->raw_schema)
        f->raw_schema = "staging";
    if (!*f->target_schema)
        f->target_schema = "analytics";
    f->is_default = form_bool(r, "default");
}

static void from_row(dest_fields *f, PGresult *res)
{
    defaults(f);
    conn_fields_from_row(&f->c, res);
    f->raw_schema = PQgetvalue(res, 0, DC_RAW);
    f->target_schema = PQgetvalue(res, 0, DC_TARGET);
    f->is_default = strcmp(PQgetvalue(res, 0, DC_DEFAULT), "t") == 0;
    f->was_default = f->is_default;
}

static void from_json(request *r, const json_t *body, dest_fields *f, json_t *errors)
{
    conn_fields_from_json(r, body, &f->c, errors);
    static const char *const keys[] = {"raw_schema", "target_schema"};
    const char **dst[] = {&f->raw_schema, &f->target_schema};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (!v)
            continue;
        if (json_is_null(v))
            *dst[i] = i == 0 ? "staging" : "analytics";
        else if (json_is_string(v))
            *dst[i] = params_trim(r->a, json_string_value(v));
        else
            page_field_error(errors, keys[i], "must be a string");
    }
    json_t *v = json_object_get(body, "default");
    if (v && !json_is_boolean(v))
        page_field_error(errors, "default", "must be true or false");
    else if (v)
        f->is_default = json_is_true(v);
}

/* A schema name sluice creates and quotes itself: letters, digits and
 * underscores, not starting with a digit. */
static int schema_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SCHEMA_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static void check(request *r, dest_fields *f, json_t *errors)
{
    conn_fields_check(r, &K, &f->c, errors);
    static const char msg[] = "use 1 to 63 letters, digits and underscores, not starting with "
                              "a digit";
    if (!schema_ok(f->raw_schema))
        page_field_error(errors, "raw_schema", msg);
    if (!schema_ok(f->target_schema))
        page_field_error(errors, "target_schema", msg);
    if (!json_object_get(errors, "target_schema") && !json_object_get(errors, "raw_schema") &&
        strcmp(f->raw_schema, f->target_schema) == 0)
        page_field_error(errors, "target_schema",
                         "must differ from the raw schema (raw copies and typed tables are "
                         "kept apart)");
}

/* --- views --------------------------------------------------------------------------- */

static json_t *api_row(request *r, PGresult *res, int i)
{
    json_t *o = conn_api_json(res, i);
    json_object_set_new(o, "raw_schema", json_string(PQgetvalue(res, i, DC_RAW)));
    json_object_set_new(o, "target_schema", json_string(PQgetvalue(res, i, DC_TARGET)));
    json_object_set_new(o, "default",
                        json_boolean(strcmp(PQgetvalue(res, i, DC_DEFAULT), "t") == 0));
    return o;
}

static json_t *page_row(request *r, PGresult *res, int i)
{
    json_t *o = conn_page_json(r, res, i);
    json_object_set_new(o, "raw_schema", json_string(PQgetvalue(res, i, DC_RAW)));
    json_object_set_new(o, "target_schema", json_string(PQgetvalue(res, i, DC_TARGET)));
    json_object_set_new(o, "default",
                        json_boolean(strcmp(PQgetvalue(res, i, DC_DEFAULT), "t") == 0));
    return o;
}

static const conn_view V = {&K, DEST_COLS, "Destinations", "destinations", "d", page_row,
                            api_row};

static void form_page(request *r, int status, const char *id, dest_fields *f, json_t *errors)
{
    json_t *ctx = page_ctx(r, id ? arena_printf(r->a, "Edit %s", f->c.name) : "New destination",
                           "destinations");
    json_t *fc = conn_form_ctx(r, &K, &f->c, id != NULL);
    json_object_set_new(fc, "raw_schema", json_string(f->raw_schema));
    json_object_set_new(fc, "target_schema", json_string(f->target_schema));
    json_object_set_new(fc, "default", json_boolean(f->is_default));
    json_object_set_new(fc, "was_default", json_boolean(f->was_default));
    json_object_set_new(ctx, "f", fc);
    json_object_set_new(ctx, "action",
                        json_string(id ? arena_printf(r->a, "/destinations/%s", id)
                                       : "/destinations"));
    if (id) {
        json_object_set_new(ctx, "id", json_string(id));
        json_object_set_new(ctx, "heading",
                            json_string(arena_printf(r->a, "Edit %s", f->c.name)));
    }
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    page_render(r, status, "destinations/form", ctx);
}

/* --- storing ------------------------------------------------------------------------- */

/* Inside a transaction: take the destinations lock and count the rows.
 * -1 after answering a database error (rolled back). */
static int lock_and_count(request *r)
{
    sl_errbuf eb = {0};
    char *n;
    sl_err e = db_exec(r->db, &eb, DEST_LOCK_SQL, 0, NULL);
    if (!e)
        e = db_query_value(r->db, r->a, &eb, &n, "SELECT count(*) FROM sluice.destinations", 0,
                           NULL);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    return (int)strtol(n, NULL, 10);
}

/* Unset the current default unless it is id; *prev gets its name (or
 * NULL). Non-zero after answering a database error. */
static int unset_default(request *r, const char *id, const char **prev)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        "UPDATE sluice.destinations SET is_default = false, updated_at = now()"
                        " WHERE is_default AND id IS DISTINCT FROM $1::uuid RETURNING name",
                        1, (const char *[]){id});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return 1;
    }
    *prev = PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : NULL;
    return 0;
}

/* Validate and store f: insert (old NULL) or update row 0 of old, in the
 * open transaction, which must hold the destinations lock. Returns 0
 * stored and committed (*id_out set), 1 invalid (errors filled, rolled
 * back, nothing answered), -1 answered. count: rows before this change. */
static int store(request *r, PGresult *old, int count, dest_fields *f, json_t *errors,
                 const char **id_out)
{
    const char *id = old ? PQgetvalue(old, 0, CC_ID) : NULL;
    int was_default = old && strcmp(PQgetvalue(old, 0, DC_DEFAULT), "t") == 0;
    check(r, f, errors);
    if (!old && count == 0)
        f->is_default = 1; /* the first destination is the default */
    if (was_default && !f->is_default)
        page_field_error(errors, "default", DEFAULT_UNSET_MSG);
    if (!json_object_get(errors, "name")) {
        int taken = conn_name_taken(r, &K, f->c.name, id);
        if (taken < 0) {
            db_rollback(r->db);
            return -1;
        }
        if (taken)
            page_field_error(errors, "name", "a destination with this name already exists");
    }
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        return 1;
    }
    const char *prev = NULL;
    if (f->is_default && !was_default && unset_default(r, id, &prev))
        return -1;

    sl_errbuf eb = {0};
    PGresult *res;
    const char *port = arena_printf(r->a, "%d", f->c.port);
    const char *sealed = conn_sealed_password(r, &f->c);
    const char *dflt = f->is_default ? "t" : "f";
    sl_err e;
    if (!old)
        e = db_query(r->db, r->a, &eb, &res,
                     "INSERT INTO sluice.destinations (name, type, host, port, database,"
                     " username, password_enc, ssl_mode, raw_schema, target_schema, is_default,"
                     " created_by) VALUES ($1, $2, $3, $4::int, $5, $6, $7, $8, $9, $10,"
                     " $11::boolean, $12::uuid) RETURNING id",
                     12,
                     (const char *[]){f->c.name, f->c.type, f->c.host, port, f->c.database,
                                      f->c.user, sealed, f->c.ssl_mode, f->raw_schema,
                                      f->target_schema, dflt, r->user_id});
    else
        e = db_query(r->db, r->a, &eb, &res,
                     "UPDATE sluice.destinations SET name = $1, type = $2, host = $3,"
                     " port = $4::int, database = $5, username = $6,"
                     " password_enc = CASE WHEN $13::boolean THEN password_enc ELSE $7 END,"
                     " ssl_mode = $8, raw_schema = $9, target_schema = $10,"
                     " is_default = $11::boolean, updated_at = now()"
                     " WHERE id = $12::uuid RETURNING id",
                     13,
                     (const char *[]){f->c.name, f->c.type, f->c.host, port, f->c.database,
                                      f->c.user, sealed, f->c.ssl_mode, f->raw_schema,
                                      f->target_schema, dflt, id,
                                      f->c.pw == CONN_PW_KEEP ? "t" : "f"});
    if (e == SL_EDB && strcmp(db_sqlstate(r->db), "23505") == 0) {
        db_rollback(r->db);
        page_field_error(errors, "name", "a destination with this name already exists");
        return 1;
    }
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    const char *new_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    json_t *d;
    if (!old) {
        d = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:b, s:s, s:s, s:s, s:b}", "name",
                      f->c.name, "type", f->c.type, "host", f->c.host, "port", f->c.port,
                      "database", f->c.database, "user", f->c.user, "has_password",
                      sealed != NULL, "ssl_mode", f->c.ssl_mode, "raw_schema", f->raw_schema,
                      "target_schema", f->target_schema, "default", f->is_default);
    } else {
        dest_fields o;
        from_row(&o, old);
        json_t *ch = json_object();
        conn_change(ch, "name", json_string(o.c.name), json_string(f->c.name));
        conn_change(ch, "type", json_string(o.c.type), json_string(f->c.type));
        conn_change(ch, "host", json_string(o.c.host), json_string(f->c.host));
        conn_change(ch, "port", json_integer(strtol(o.c.port_text, NULL, 10)),
               json_integer(f->c.port));
        conn_change(ch, "database", json_string(o.c.database), json_string(f->c.database));
        conn_change(ch, "user", json_string(o.c.user), json_string(f->c.user));
        conn_change(ch, "ssl_mode", json_string(o.c.ssl_mode), json_string(f->c.ssl_mode));
        conn_change(ch, "raw_schema", json_string(o.raw_schema), json_string(f->raw_schema));
        conn_change(ch, "target_schema", json_string(o.target_schema),
               json_string(f->target_schema));
        conn_change(ch, "default", json_boolean(o.is_default), json_boolean(f->is_default));
        d = json_pack("{s:s, s:o}", "name", f->c.name, "changes", ch);
        if (f->c.pw == CONN_PW_SET)
            json_object_set_new(d, "password", json_string("changed"));
        else if (f->c.pw == CONN_PW_CLEAR && o.c.had_password)
            json_object_set_new(d, "password", json_string("cleared"));
    }
    if (prev)
        json_object_set_new(d, "previous_default", json_string(prev));
    if (conn_audit(r, &K, old ? "destination.update" : "destination.create", new_id, d) ||
        conn_commit(r))
        return -1;
    *id_out = new_id;
    return 0;
}

/* Why destination row 0 of res cannot be deleted, or NULL; "" after
 * answering a database error (rolled back). count: all destinations. */
static const char *delete_refusal(request *r, PGresult *res, int count)
{
    if (strcmp(PQgetvalue(res, 0, DC_DEFAULT), "t") == 0 && count > 1)
        return DEFAULT_DELETE_MSG;
    return conn_pipelines_refusal(r, &K, PQgetvalue(res, 0, CC_ID));
}

/* 0 deleted (*name set); 1 refused (*why set, rolled back); -1 answered. */
static int delete_dest(request *r, const char *id, const char **name, const char **why)
{
    PGresult *res;
    if (conn_begin(r))
        return -1;
    int count = lock_and_count(r);
    if (count < 0 || conn_load(r, &K, DEST_COLS, id, 1, &res) != 1)
        return -1;
    *name = PQgetvalue(res, 0, CC_NAME);
    *why = delete_refusal(r, res, count);
    if (*why && !**why)
        return -1;
    if (*why) {
        db_rollback(r->db);
        return 1;
    }
    return conn_delete_row(r, &K, res,
                           "Pipelines or landing zones use this destination. Delete them or "
                           "move them to another destination first.",
                           json_pack("{s:b}", "default",
                                     strcmp(PQgetvalue(res, 0, DC_DEFAULT), "t") == 0),
                           why);
}

/* Make id the default. 0 done (*name set; *already when it was); -1
 * answered. */
static int make_default(request *r, const char *id, const char **name, int *already)
{
    PGresult *res;
    if (conn_begin(r) || lock_and_count(r) < 0 || conn_load(r, &K, DEST_COLS, id, 1, &res) != 1)
        return -1;
    *name = PQgetvalue(res, 0, CC_NAME);
    *already = strcmp(PQgetvalue(res, 0, DC_DEFAULT), "t") == 0;
    if (*already) {
        db_rollback(r->db);
        return 0;
    }
    const char *prev = NULL;
    if (unset_default(r, id, &prev))
        return -1;
    sl_errbuf eb = {0};
    sl_err e = db_exec(r->db, &eb,
                       "UPDATE sluice.destinations SET is_default = true, updated_at = now()"
                       " WHERE id = $1",
                       1, (const char *[]){id});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    json_t *d = json_pack("{s:s, s:o}", "name", *name, "previous_default",
                          prev ? json_string(prev) : json_null());
    if (conn_audit(r, &K, "destination.make_default", id, d) || conn_commit(r))
        return -1;
    return 0;
}

/* --- pages --------------------------------------------------------------------------- */

void h_destinations_list(request *r)
{
    conn_list_handler(r, &V);
}

void h_destinations_new(request *r)
{
    dest_fields f;
    defaults(&f);
    f.c.type = "postgresql";
    form_page(r, 200, NULL, &f, json_object());
}

void h_destinations_create(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    dest_fields f;
    defaults(&f);
    from_form(r, &f, 0);
    if (conn_begin(r))
        return;
    int count = lock_and_count(r);
    if (count < 0)
        return;
    json_t *errors = json_object();
    const char *id;
    int rc = store(r, NULL, count, &f, errors, &id);
    if (rc == 1) {
        form_page(r, 422, NULL, &f, errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        page_done(r, arena_printf(r->a, "/destinations/%s", id),
                  arena_printf(r->a, "Destination %s created%s. Test the connection to check "
                                     "it.",
                               f.c.name, f.is_default ? " as the default" : ""));
}

void h_destination_show(request *r)
{
    conn_show_page(r, &V);
}

void h_destination_edit(request *r)
{
    const char *id = conn_id_param(r, &K);
    PGresult *res;
    if (!id || conn_load(r, &K, DEST_COLS, id, 0, &res) != 1)
        return;
    dest_fields f;
    from_row(&f, res);
    form_page(r, 200, id, &f, json_object());
}

void h_destination_update(request *r)
{
    sl_errbuf eb = {0};
    const char *id = conn_id_param(r, &K);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    PGresult *old;
    if (conn_begin(r))
        return;
    int count = lock_and_count(r);
    if (count < 0 || conn_load(r, &K, DEST_COLS, id, 1, &old) != 1)
        return;
    dest_fields f;
    defaults(&f);
    f.c.had_password = strcmp(PQgetvalue(old, 0, CC_HAS_PW), "t") == 0;
    f.was_default = strcmp(PQgetvalue(old, 0, DC_DEFAULT), "t") == 0;
    from_form(r, &f, 1);
    /* The default's form shows the box ticked and disabled (and sends a
     * hidden default=1): it stays the default. */
    if (f.was_default)
        f.is_default = 1;
    json_t *errors = json_object();
    const char *saved;
    int rc = store(r, old, count, &f, errors, &saved);
    if (rc == 1) {
        form_page(r, 422, id, &f, errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        page_done(r, arena_printf(r->a, "/destinations/%s", id),
                  arena_printf(r->a, "Destination %s saved.", f.c.name));
}


static int count_dests(request *r)
{
    sl_errbuf eb = {0};
    char *n;
    sl_err e = db_query_value(r->db, r->a, &eb, &n, "SELECT count(*) FROM sluice.destinations",
                              0, NULL);
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    return (int)strtol(n, NULL, 10);
}

/* delete_refusal() with the current count, for the confirmation page. */
static const char *form_refusal(request *r, PGresult *res)
{
    int count = count_dests(r);
    if (count < 0)
        return "";
    return delete_refusal(r, res, count);
}

void h_destination_delete_form(request *r)
{
    conn_delete_form(r, &V, form_refusal);
}

void h_destination_delete(request *r)
{
    conn_delete_handler(r, &V, delete_dest);
}

void h_destination_make_default(request *r)
{
    const char *id = conn_id_param(r, &K);
    const char *name;
    int already;
    if (!id || make_default(r, id, &name, &already) != 0)
        return;
    if (already) {
        page_flash(r, "info", arena_printf(r->a, "%s already is the default destination.",
                                           name));
        http_redirect(r, 303, arena_printf(r->a, "/destinations/%s", id));
        return;
    }
    page_done(r, arena_printf(r->a, "/destinations/%s", id),
              arena_printf(r->a, "%s is now the default destination.", name));
}

void h_destination_test(request *r)
{
    conn_test_page(r, &K);
}

/* --- JSON API ------------------------------------------------------------------------ */

void h_api_destinations_list(request *r)
{
    conn_list_api(r, &K, DEST_COLS, api_row);
}

void h_api_destination_get(request *r)
{
    conn_get_api(r, &V);
}


void h_api_destination_create(request *r)
{
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    dest_fields f;
    defaults(&f);
    from_json(r, body, &f, errors);
    /* Type errors so far and the field checks in store() come back together. */
    if (conn_begin(r)) {
        json_decref(errors);
        return;
    }
    int count = lock_and_count(r);
    if (count < 0) {
        json_decref(errors);
        return;
    }
    const char *id = NULL;
    int rc = store(r, NULL, count, &f, errors, &id);
    conn_api_stored(r, &V, rc, "created", errors, 201, id);
}

/* PUT replaces (absent optional fields take their defaults, an absent
 * password is kept, an absent "default" keeps the flag); PATCH changes the
 * fields given. */
static void api_change(request *r, int replace)
{
    const char *id = conn_id_param(r, &K);
    if (!id)
        return;
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    PGresult *old;
    if (conn_begin(r))
        return;
    int count = lock_and_count(r);
    if (count < 0 || conn_load(r, &K, DEST_COLS, id, 1, &old) != 1)
        return;
    json_t *errors = json_object();
    conn_json_unknown(body, api_fields, api_readonly, errors);
    dest_fields f;
    from_row(&f, old);
    if (replace) {
        int had = f.c.had_password, dflt = f.is_default;
        defaults(&f);
        f.c.had_password = had;
        f.c.pw = CONN_PW_KEEP;
        f.is_default = dflt;
    }
    const char *old_type = f.c.type, *old_port = f.c.port_text;
    from_json(r, body, &f, errors);
    if (!replace && !json_object_get(body, "port") && strcmp(old_type, f.c.type) != 0 &&
        strtol(old_port, NULL, 10) == conn_default_port(old_type))
        f.c.port_text = "";
    const char *saved;
    int rc = store(r, old, count, &f, errors, &saved);
    conn_api_stored(r, &V, rc, "changed", errors, 200, id);
}

void h_api_destination_put(request *r)
{
    api_change(r, 1);
}

void h_api_destination_patch(request *r)
{
    api_change(r, 0);
}

void h_api_destination_delete(request *r)
{
    conn_delete_api(r, &V, delete_dest);
}

void h_api_destination_test(request *r)
{
    conn_test_api(r, &K);
}
