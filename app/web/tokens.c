/* tokens.c - API tokens in the console and the JSON API: list, create
 * (the token is shown once), revoke.
 *
 * A token is "slu_" + 32 random bytes in base64url. Only the SHA-256 of the
 * whole token is stored (token_hash), with its first TOKEN_PREFIX_LEN
 * characters (prefix) so people can tell tokens apart; auth.c looks bearer
 * tokens up by that hash, and `sluice token create` makes the same format.
 * The token appears in exactly one response: the page that POST /tokens
 * renders (200, never a redirect, Cache-Control: no-store) or the 201 answer
 * of POST /api/v1/tokens. Never in a URL, a cookie, a log line or the audit
 * trail.
 *
 * Everyone manages their own tokens; admins also see and revoke everyone's.
 * Someone else's token is 404 to a non-admin (never 403), so ids reveal
 * nothing. Lists are newest first: the page walks with ?before= token ids,
 * the API with ?limit= and an opaque ?cursor= (params_page), answering
 * {items, next_cursor}. Entry points: the h_token* / h_api_token* handlers. */
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "crypto.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "router.h"
#include "uuid.h"
#include "worker.h"

#define TOKEN_SCHEME "slu_"
#define TOKEN_RANDOM_BYTES 32
#define TOKEN_PREFIX_LEN 12
#define TOKEN_NAME_MAX 100
#define TOKEN_DAYS_MAX 3650
#define TOKENS_PAGE 50

/* Expiry choices offered by the form; "" is the default choice. */
static const struct {
    const char *value, *label;
    int days;
} expiry_choices[] = {
    {"never", "Never", 0},
    {"30", "30 days", 30},
    {"90", "90 days", 90},
    {"365", "365 days", 365},
};
#define EXPIRY_DEFAULT "90"

/* A token as the revoke paths see it. */
typedef struct {
    const char *id, *name, *prefix, *user_id, *owner, *status;
} token_row;

/* A token just made: token is the secret, everything else is public. */
typedef struct {
    const char *id, *name, *prefix, *token, *created_at, *expires_at;
} token_new;

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* Full precision, for cursors: "2024-05-31T12:34:56.123456Z" (params_timestamp). */
#define KEY_AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define STATUS_SQL                                                                           \
    "CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked'"                                      \
    " WHEN t.expires_at IS NOT NULL AND t.expires_at <= now() THEN 'expired'"                \
    " ELSE 'active' END"

/* --- validation -------------------------------------------------------------- */

static void check_name(const char *name, json_t *errors, int api)
{
    long n = params_utf8_len(name);
    if (!*name)
        page_field_error(errors, "name", api ? "is required" : "Enter a name for the token.");
    else if (n < 0)
        page_field_error(errors, "name", "must be valid UTF-8 text");
    else if (n > TOKEN_NAME_MAX)
        page_field_error(errors, "name",
                         api ? "must be at most 100 characters" : "Use at most 100 characters.");
    else if (params_has_control(name))
        page_field_error(errors, "name", "must not contain control characters");
}

static int errors_empty(const json_t *errors)
{
    return json_object_size(errors) == 0;
}

/* --- queries ------------------------------------------------------------------ */

/* Tokens of owner (NULL: everyone's), newest first ((created_at, id)
 * descending), older than the key token (id NULL: from the newest). The key
 * is the token id plus, from an API cursor, its created_at (at: text as
 * params_timestamp accepts); pages pass only the id (at NULL) and the time
 * is looked up. At most limit + 1 rows so the caller can tell whether there
 * is a next page. Columns: id, name, prefix, created, last used, expires,
 * revoked (ISO or NULL), status, owner email, created_at at full precision. */
static sl_err list_tokens(request *r, const char *owner, const char *at, const char *id,
                          int limit, PGresult **res, sl_errbuf *eb)
{
    const char *params[] = {owner, at, id, arena_printf(r->a, "%d", limit + 1)};
    return db_query(r->db, r->a, eb, res,
                    "SELECT t.id, t.name, t.prefix, " ISO("t.created_at") ", "
                    ISO("t.last_used_at") ", " ISO("t.expires_at") ", " ISO("t.revoked_at") ", "
                    STATUS_SQL ", u.email, " KEY_AT("t.created_at")
                    " FROM sluice.api_tokens t JOIN sluice.users u ON u.id = t.user_id"
                    " WHERE ($1::uuid IS NULL OR t.user_id = $1::uuid)"
                    " AND ($3::uuid IS NULL OR (t.created_at, t.id) <"
                    " (coalesce($2::timestamptz, (SELECT c.created_at FROM sluice.api_tokens c"
                    " WHERE c.id = $3::uuid)), $3::uuid))"
                    " ORDER BY t.created_at DESC, t.id DESC LIMIT $4::int",
                    4, params);
}

static const char *val(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
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

static json_t *jstr_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A token prefix as pages show it: "slu_AbCdEfGh…". */
static const char *ellipsis(request *r, const char *prefix)
{
    return arena_printf(r->a, "%s\xe2\x80\xa6", prefix);
}

/* One row of list_tokens for a page template. */
static json_t *page_row(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    const char *status = PQgetvalue(res, i, 7);
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, 0)));
    json_object_set_new(o, "name", json_string(PQgetvalue(res, i, 1)));
    json_object_set_new(o, "prefix", json_string(ellipsis(r, PQgetvalue(res, i, 2))));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, 3)));
    json_object_set_new(o, "created", json_string(short_time(r, val(res, i, 3), "")));
    json_object_set_new(o, "last_used_at", jstr_or_null(val(res, i, 4)));
    json_object_set_new(o, "last_used", json_string(short_time(r, val(res, i, 4), "never")));
    json_object_set_new(o, "expires_at", jstr_or_null(val(res, i, 5)));
    json_object_set_new(o, "expires", json_string(short_time(r, val(res, i, 5), "never")));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "active", json_boolean(strcmp(status, "active") == 0));
    json_object_set_new(o, "revocable", json_boolean(strcmp(status, "revoked") != 0));
    json_object_set_new(o, "owner", json_string(PQgetvalue(res, i, 8)));
    return o;
}

/* One row of list_tokens for the JSON API (no secrets: there are none). */
static json_t *api_row(PGresult *res, int i, int with_owner)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, 0)));
    json_object_set_new(o, "name", json_string(PQgetvalue(res, i, 1)));
    json_object_set_new(o, "prefix", json_string(PQgetvalue(res, i, 2)));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, 3)));
    json_object_set_new(o, "last_used_at", jstr_or_null(val(res, i, 4)));
    json_object_set_new(o, "expires_at", jstr_or_null(val(res, i, 5)));
    json_object_set_new(o, "revoked_at", jstr_or_null(val(res, i, 6)));
    json_object_set_new(o, "status", json_string(PQgetvalue(res, i, 7)));
    if (with_owner)
        json_object_set_new(o, "owner_email", json_string(PQgetvalue(res, i, 8)));
    return o;
}

/* Write the audit row of a token change (details stolen) and commit; on
 * failure roll back. SL_EDB when the row could not be written (a change
 * must not happen unrecorded), else what db_commit says. */
static sl_err record(request *r, const char *action, const char *id, json_t *details,
                     sl_errbuf *eb)
{
    sl_err e = audit_write(r, action, "api_token", id, details, NULL);
    json_decref(details);
    if (e)
        e = sl_fail(eb, SL_EDB, "could not record %s in the audit log", action);
    else
        e = db_commit(r->db, eb);
    if (e)
        db_rollback(r->db);
    return e;
}

/* Make a token for r's user. SL_OK with *out filled; SL_ECONFLICT when the
 * user already has a non-revoked token of that name (errors.name set);
 * SL_EDB / SL_EDBDOWN otherwise. days 0: never expires. The token, the
 * row and the audit entry are made in one transaction. */
static sl_err create_token(request *r, const char *name, int days, json_t *errors,
                           token_new *out, sl_errbuf *eb)
{
    PGresult *res;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    /* Lock the owner so two requests cannot both pass the name check. */
    e = db_query(r->db, r->a, eb, &res,
                 "SELECT EXISTS (SELECT 1 FROM sluice.api_tokens WHERE user_id = $1"
                 " AND name = $2 AND revoked_at IS NULL)"
                 " FROM sluice.users WHERE id = $1 FOR UPDATE",
                 2, (const char *[]){r->user_id, name});
    if (e)
        goto fail;
    if (PQntuples(res) != 1) {
        e = sl_fail(eb, SL_EINTERNAL, "the signed-in user %s is gone", r->user_id);
        goto fail;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        db_rollback(r->db);
        page_field_error(errors, "name",
                         "You already have a token with this name; choose another name or "
                         "revoke that token first.");
        return SL_ECONFLICT;
    }

    char *token = arena_printf(r->a, TOKEN_SCHEME "%s", cr_token_new(r->a, TOKEN_RANDOM_BYTES));
    char *hash = cr_sha256_hex(r->a, token, strlen(token));
    char *prefix = arena_strndup(r->a, token, TOKEN_PREFIX_LEN);
    const char *params[] = {r->user_id, name, hash, prefix,
                            days ? arena_printf(r->a, "%d", days) : NULL};
    e = db_query(r->db, r->a, eb, &res,
                 "INSERT INTO sluice.api_tokens (user_id, name, token_hash, prefix, expires_at)"
                 " VALUES ($1, $2, decode($3, 'hex'), $4,"
                 " now() + make_interval(days => $5::int))"
                 " RETURNING id, " ISO("created_at") ", " ISO("expires_at"),
                 5, params);
    if (e)
        goto fail;
    out->id = PQgetvalue(res, 0, 0);
    out->name = name;
    out->prefix = prefix;
    out->token = token;
    out->created_at = PQgetvalue(res, 0, 1);
    out->expires_at = val(res, 0, 2);
    return record(r, "token.create", out->id,
                  json_pack("{s:s, s:s, s:o}", "name", name, "prefix", prefix, "expires",
                            jstr_or_null(out->expires_at)),
                  eb);
fail:
    db_rollback(r->db);
    return e;
}

/* Find token id as r's principal may see it (their own; anyone's for an
 * admin), locking the row when lock is set (inside a transaction).
 * SL_ENOTFOUND for a malformed id, a missing token or someone else's. */
static sl_err find_token(request *r, const char *id, int lock, token_row *t, sl_errbuf *eb)
{
    if (!id || !uuid_valid(id))
        return SL_ENOTFOUND;
    PGresult *res;
    const char *params[] = {id, r->user_id, r->role >= ROLE_ADMIN ? "t" : "f"};
#define FIND_SQL                                                                             \
    "SELECT t.id, t.name, t.prefix, t.user_id, u.email, " STATUS_SQL                         \
    " FROM sluice.api_tokens t JOIN sluice.users u ON u.id = t.user_id"                      \
    " WHERE t.id = $1::uuid AND (t.user_id = $2::uuid OR $3::boolean)"
    sl_err e = db_query(r->db, r->a, eb, &res, lock ? FIND_SQL " FOR UPDATE OF t" : FIND_SQL, 3,
                        params);
#undef FIND_SQL
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return SL_ENOTFOUND;
    t->id = PQgetvalue(res, 0, 0);
    t->name = PQgetvalue(res, 0, 1);
    t->prefix = PQgetvalue(res, 0, 2);
    t->user_id = PQgetvalue(res, 0, 3);
    t->owner = PQgetvalue(res, 0, 4);
    t->status = PQgetvalue(res, 0, 5);
    return SL_OK;
}

/* Revoke token id. SL_OK (t filled; t->status is "revoked" when it already
 * was, and then nothing changed), SL_ENOTFOUND as find_token, SL_EDB... */
static sl_err revoke_token(request *r, const char *id, token_row *t, sl_errbuf *eb)
{
    if (!id || !uuid_valid(id))
        return SL_ENOTFOUND;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    e = find_token(r, id, 1, t, eb);
    if (e || strcmp(t->status, "revoked") == 0) {
        db_rollback(r->db);
        return e;
    }
    e = db_exec(r->db, eb, "UPDATE sluice.api_tokens SET revoked_at = now() WHERE id = $1", 1,
                (const char *[]){t->id});
    if (e) {
        db_rollback(r->db);
        return e;
    }
    return record(r, "token.revoke", t->id,
                  json_pack("{s:s, s:s, s:s, s:s}", "name", t->name, "prefix", t->prefix, "owner",
                            t->owner, "status_was", t->status),
                  eb);
}

/* Answer a find_token / revoke_token failure: 404 for SL_ENOTFOUND (a
 * problem document when api is set), else the database error. */
static void token_error(request *r, sl_err e, const sl_errbuf *eb, int api)
{
    if (e != SL_ENOTFOUND)
        web_db_error(r, e, eb);
    else if (api)
        http_problem(r, 404, "no such token", NULL);
    else
        http_error(r, 404, "no such token");
}

/* --- pages -------------------------------------------------------------------- */

/* A page cursor: a token id, or NULL when absent or malformed. */
static const char *cursor(request *r, const char *name)
{
    const char *c = http_query(r, name);
    return c && uuid_valid(c) ? c : NULL;
}

/* Fill ctx[key] with a page of tokens, ctx[has_key] with whether there are
 * any, and ctx[key_more] with the cursor of the next page (absent when
 * there is none). */
static sl_err put_tokens(request *r, json_t *ctx, const char *owner, const char *before,
                         const char *key, const char *has_key, const char *key_more,
                         sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = list_tokens(r, owner, NULL, before, TOKENS_PAGE, &res, eb);
    if (e)
        return e;
    int n = PQntuples(res);
    json_t *list = json_array();
    for (int i = 0; i < n && i < TOKENS_PAGE; i++)
        json_array_append_new(list, page_row(r, res, i));
    json_object_set_new(ctx, key, list);
    json_object_set_new(ctx, has_key, json_boolean(n > 0));
    if (n > TOKENS_PAGE)
        json_object_set_new(ctx, key_more, json_string(PQgetvalue(res, TOKENS_PAGE - 1, 0)));
    return SL_OK;
}

/* The tokens page: the caller's tokens, everyone's for an admin, and the
 * create form with values and errors (both may be NULL; errors stolen). */
static void tokens_page(request *r, int status, const char *name, const char *expires,
                        json_t *errors)
{
    sl_errbuf eb = {0};
    json_t *ctx = page_ctx(r, "API tokens", "tokens");
    const char *before = cursor(r, "before"), *all_before = cursor(r, "all_before");
    sl_err e = put_tokens(r, ctx, r->user_id, before, "tokens", "has_tokens", "more", &eb);
    if (!e && r->role >= ROLE_ADMIN)
        e = put_tokens(r, ctx, NULL, all_before, "all_tokens", "has_all_tokens", "all_more",
                       &eb);
    if (e) {
        json_decref(ctx);
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    json_object_set_new(ctx, "paged", json_boolean(before != NULL));
    json_object_set_new(ctx, "all_paged", json_boolean(all_before != NULL));
    json_object_set_new(ctx, "name", json_string(name && params_utf8_len(name) >= 0 ? name : ""));
    if (!expires)
        expires = EXPIRY_DEFAULT;
    json_t *choices = json_array();
    for (size_t i = 0; i < sizeof expiry_choices / sizeof expiry_choices[0]; i++)
        json_array_append_new(choices,
                              json_pack("{s:s, s:s, s:b}", "value", expiry_choices[i].value,
                                        "label", expiry_choices[i].label, "selected",
                                        strcmp(expires, expiry_choices[i].value) == 0));
    json_object_set_new(ctx, "expiry_choices", choices);
    json_object_set_new(ctx, "errors", errors ? errors : json_object());
    page_render(r, status, "tokens/list", ctx);
}

void h_tokens_page(request *r)
{
    tokens_page(r, 200, NULL, NULL, NULL);
}

void h_token_create(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *name = form_str(r, "name");
    const char *expires = form_str(r, "expires");
    json_t *errors = json_object();
    check_name(name, errors, 0);
    int days = -1;
    for (size_t i = 0; i < sizeof expiry_choices / sizeof expiry_choices[0]; i++)
        if (strcmp(expires, expiry_choices[i].value) == 0)
            days = expiry_choices[i].days;
    if (days < 0) {
        page_field_error(errors, "expires", "Choose when the token expires.");
        expires = NULL;
    }
    if (!errors_empty(errors)) {
        tokens_page(r, 422, name, expires, errors);
        return;
    }
    token_new t;
    sl_err e = create_token(r, name, days, errors, &t, &eb);
    if (e == SL_ECONFLICT) {
        tokens_page(r, 422, name, expires, errors);
        return;
    }
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *ctx = page_ctx(r, "Token created", "tokens");
    json_object_set_new(ctx, "token", json_string(t.token));
    json_object_set_new(ctx, "name", json_string(t.name));
    json_object_set_new(ctx, "prefix", json_string(ellipsis(r, t.prefix)));
    json_object_set_new(ctx, "expires", json_string(short_time(r, t.expires_at, "never")));
    json_object_set_new(ctx, "base_url", json_string(r->cfg->base_url));
    /* 200 with no-store (the default): the token is in no URL and no cookie. */
    page_render(r, 200, "tokens/created", ctx);
}

void h_token_revoke_form(request *r)
{
    sl_errbuf eb = {0};
    token_row t;
    sl_err e = find_token(r, http_path_param(r, "id"), 0, &t, &eb);
    if (e) {
        token_error(r, e, &eb, 0);
        return;
    }
    json_t *ctx = page_ctx(r, "Revoke token", "tokens");
    json_object_set_new(ctx, "token",
                        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "id", t.id, "name", t.name,
                                  "prefix", ellipsis(r, t.prefix),
                                  "owner", t.owner, "own", strcmp(t.user_id, r->user_id) == 0,
                                  "revoked", strcmp(t.status, "revoked") == 0));
    page_render(r, 200, "tokens/revoke", ctx);
}

void h_token_revoke(request *r)
{
    sl_errbuf eb = {0};
    token_row t;
    sl_err e = revoke_token(r, http_path_param(r, "id"), &t, &eb);
    if (e) {
        token_error(r, e, &eb, 0);
        return;
    }
    if (strcmp(t.status, "revoked") == 0) {
        page_flash(r, "info", arena_printf(r->a, "Token \"%s\" was already revoked.", t.name));
        http_redirect(r, 303, "/tokens");
        return;
    }
    page_done(r, "/tokens", arena_printf(r->a, "Token \"%s\" revoked.", t.name));
}

/* --- JSON API ------------------------------------------------------------------- */

/* An API cursor is (created_at, id) of the last token of the page before. */
static int cursor_ok(const char *const *f)
{
    return params_timestamp(f[0]) && uuid_valid(f[1]);
}

static void api_list(request *r, const char *owner)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[2];
    params_page(r, 2, cursor_ok, key, &limit, errors);
    if (!errors_empty(errors)) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);

    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = list_tokens(r, owner, key[0], key[1], (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, api_row(res, i, owner == NULL));
    const char *next = NULL;
    if (n > limit) {
        int last = (int)limit - 1;
        next = params_cursor_make(r->a, 2, (const char *[]){PQgetvalue(res, last, 9),
                                                            PQgetvalue(res, last, 0)});
    }
    http_send_json(r, 200, params_page_json(items, next));
}

void h_api_tokens_list(request *r)
{
    api_list(r, r->user_id);
}

void h_api_tokens_all(request *r)
{
    api_list(r, NULL);
}

static int is_json_type(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

void h_api_token_create(request *r)
{
    sl_errbuf eb = {0};
    if (*r->content_type && !is_json_type(r->content_type)) {
        http_problem(r, 415, "send the token as application/json", NULL);
        return;
    }
    long long max = r->route->max_body ? r->route->max_body : r->cfg->web_max_body;
    sl_err e = http_read_body(r, (size_t)max, &eb);
    if (e) {
        http_problem(r, e == SL_ETOOBIG ? 413 : 400, eb.msg, NULL);
        return;
    }
    json_t *body = jsonx_parse(r->a, &eb, r->body, r->body_len);
    if (!body) {
        http_problem(r, 400, arena_printf(r->a, "the body is not valid JSON: %s", eb.msg), NULL);
        return;
    }
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return;
    }
    json_t *errors = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "name") != 0 && strcmp(key, "expires_days") != 0)
            page_field_error(errors, key, "unknown field");
    }
    const char *name = "";
    v = json_object_get(body, "name");
    if (v && !json_is_string(v))
        page_field_error(errors, "name", "must be a string");
    else if (v)
        name = params_trim(r->a, json_string_value(v));
    check_name(name, errors, 1);
    int days = 0;
    v = json_object_get(body, "expires_days");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > TOKEN_DAYS_MAX)
            page_field_error(errors, "expires_days",
                             "must be null (never) or an integer from 1 to 3650");
        else
            days = (int)json_integer_value(v);
    }
    if (!errors_empty(errors)) {
        http_problem(r, 422, "the token could not be created", errors);
        return;
    }
    token_new t;
    e = create_token(r, name, days, errors, &t, &eb);
    if (e == SL_ECONFLICT) {
        http_problem(r, 422, "the token could not be created", errors);
        return;
    }
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    /* The one time the token leaves the server. */
    http_send_json(r, 201,
                   json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", t.id, "name", t.name,
                             "prefix", t.prefix, "token", t.token, "created_at", t.created_at,
                             "expires_at", jstr_or_null(t.expires_at)));
}

void h_api_token_delete(request *r)
{
    sl_errbuf eb = {0};
    token_row t;
    sl_err e = revoke_token(r, http_path_param(r, "id"), &t, &eb);
    if (e) {
        token_error(r, e, &eb, 1);
        return;
    }
    http_set_status(r, 204);
}
