/* users.c - console users, for admins: list, create, edit name and role,
 * reset a password, deactivate and reactivate; and the JSON API
 * (GET /api/v1/users, /api/v1/users/{id}, /api/v1/me). The list page walks
 * with ?after= / ?before= user ids; the API list with ?limit= and an opaque
 * ?cursor= (params_page), answering {items, next_cursor}.
 *
 * Everything here lives in the request arena. Every change runs in one
 * transaction with its audit row. Rules that protect the console from
 * locking everyone out (the last active admin cannot be demoted or
 * deactivated; nobody deactivates their own account) take row locks on
 * every active admin, always in id order, before reading the target, so
 * two admins demoting each other at the same moment cannot both succeed.
 * password_hash never leaves the database: no query here selects it. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "crypto.h"
#include "form.h"
#include "handlers.h"
#include "page.h"
#include "params.h"
#include "uuid.h"
#include "worker.h"

#define USERS_PAGE 50
#define NAME_MAX_CHARS 200  /* UTF-8 code points */
#define PASSWORD_MIN 8      /* UTF-8 code points */
#define PASSWORD_MAX 1024   /* bytes */

#define ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define SHORT(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
/* Full precision, for cursors: "2024-05-31T12:34:56.123456Z" (params_timestamp). */
#define KEY_AT(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* The columns every user query selects, in the order of enum ucol. */
#define USER_COLS                                                                              \
    "id, email, name, role, active, " ISO("last_login_at") ", " ISO("created_at") ", "       \
        ISO("updated_at") ", " SHORT("last_login_at") ", " SHORT("created_at") ", "          \
        KEY_AT("created_at")

enum ucol { C_ID, C_EMAIL, C_NAME, C_ROLE, C_ACTIVE, C_LOGIN, C_CREATED, C_UPDATED,
            C_LOGIN_SHORT, C_CREATED_SHORT, C_KEY_AT };

static const char *const role_values[] = {"admin", "editor", "viewer"};

#define LAST_ADMIN_MSG "this is the last active admin; make another user an admin first"

/* --- small helpers ---------------------------------------------------------------- */

static int role_ok(const char *s)
{
    for (size_t i = 0; i < sizeof role_values / sizeof role_values[0]; i++)
        if (strcmp(s, role_values[i]) == 0)
            return 1;
    return 0;
}

/* [{value, selected}] for the role <select>. */
static json_t *role_options(const char *current)
{
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof role_values / sizeof role_values[0]; i++)
        json_array_append_new(list, json_pack("{s:s, s:b}", "value", role_values[i], "selected",
                                              strcmp(role_values[i], current) == 0));
    return list;
}

static json_t *str_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

/* The API's view of a user row (never the password hash: it is not selected). */
static json_t *user_api_json(PGresult *res, int row)
{
    json_t *u = json_object();
    json_object_set_new(u, "id", json_string(PQgetvalue(res, row, C_ID)));
    json_object_set_new(u, "email", json_string(PQgetvalue(res, row, C_EMAIL)));
    json_object_set_new(u, "name", json_string(PQgetvalue(res, row, C_NAME)));
    json_object_set_new(u, "role", json_string(PQgetvalue(res, row, C_ROLE)));
    json_object_set_new(u, "active",
                        json_boolean(strcmp(PQgetvalue(res, row, C_ACTIVE), "t") == 0));
    json_object_set_new(u, "last_login_at", str_or_null(res, row, C_LOGIN));
    json_object_set_new(u, "created_at", json_string(PQgetvalue(res, row, C_CREATED)));
    json_object_set_new(u, "updated_at", json_string(PQgetvalue(res, row, C_UPDATED)));
    return u;
}

/* The pages' view: the API fields plus display strings and flags. */
static json_t *user_page_json(request *r, PGresult *res, int row)
{
    json_t *u = user_api_json(res, row);
    json_object_set_new(u, "last_login_short", str_or_null(res, row, C_LOGIN_SHORT));
    json_object_set_new(u, "created_short", json_string(PQgetvalue(res, row, C_CREATED_SHORT)));
    json_object_set_new(u, "is_self", json_boolean(r->user_id && strcmp(r->user_id,
                                                   PQgetvalue(res, row, C_ID)) == 0));
    return u;
}

/* Roll back the open transaction and answer with the database error. */
static void tx_fail(request *r, sl_err e, const sl_errbuf *eb)
{
    db_rollback(r->db);
    web_db_error(r, e, eb);
}

/* The {id} path parameter when it is a UUID; otherwise answer 404 and
 * return NULL. */
static const char *id_param(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, "no such user");
        return NULL;
    }
    return id;
}

/* Load user id into *res. 1: found; 0: not found (answered 404);
 * -1: database failure (answered). lock: FOR UPDATE, inside a transaction
 * (which is rolled back on failure). */
static int load_user(request *r, const char *id, int lock, PGresult **res)
{
    sl_errbuf eb = {0};
    sl_err e = db_query(r->db, r->a, &eb, res,
                        lock ? "SELECT " USER_COLS " FROM sluice.users WHERE id = $1 FOR UPDATE"
                             : "SELECT " USER_COLS " FROM sluice.users WHERE id = $1",
                        1, (const char *[]){id});
    if (e) {
        if (lock)
            tx_fail(r, e, &eb);
        else
            web_db_error(r, e, &eb);
        return -1;
    }
    if (PQntuples(*res) != 1) {
        if (lock)
            db_rollback(r->db);
        http_error(r, 404, "no such user");
        return 0;
    }
    return 1;
}

/* The user named by the {id} path parameter, unlocked, into *res. 1: found;
 * 0: answered (404 or a database error). */
static int load_path_user(request *r, PGresult **res)
{
    const char *id = id_param(r);
    return id && load_user(r, id, 0, res) == 1;
}

/* Parse the posted form; on failure answer 400 and return non-zero. */
static int form_or_fail(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) == SL_OK)
        return 0;
    http_error(r, 400, eb.msg);
    return 1;
}

/* Start a transaction (ending any left open); answer a database error and
 * return non-zero on failure. */
static int begin_or_fail(request *r)
{
    sl_errbuf eb = {0};
    db_rollback(r->db);
    sl_err e = db_begin(r->db, &eb);
    if (e) {
        tx_fail(r, e, &eb);
        return 1;
    }
    return 0;
}

/* Inside a transaction: run a statement; on failure roll back, answer the
 * database error and return non-zero. */
static int exec_or_fail(request *r, const char *sql, int n, const char *const *params)
{
    sl_errbuf eb = {0};
    sl_err e = db_exec(r->db, &eb, sql, n, params);
    if (e) {
        tx_fail(r, e, &eb);
        return 1;
    }
    return 0;
}

/* Inside a transaction: lock every active admin row (in id order, so
 * concurrent callers queue instead of deadlocking) and return how many
 * there are, or -1 after answering a database error (rolled back). */
static int lock_active_admins(request *r)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        "SELECT id FROM sluice.users WHERE role = 'admin' AND active"
                        " ORDER BY id FOR UPDATE",
                        0, NULL);
    if (e) {
        tx_fail(r, e, &eb);
        return -1;
    }
    return PQntuples(res);
}

/* Begin a transaction; when admins is given, lock the active admins and
 * count them into *admins (lock_active_admins); then load user id, locked,
 * into *res. 1: go on; 0: answered (and rolled back). */
static int begin_and_lock(request *r, const char *id, int *admins, PGresult **res)
{
    if (begin_or_fail(r))
        return 0;
    if (admins && (*admins = lock_active_admins(r)) < 0)
        return 0;
    return load_user(r, id, 1, res) == 1;
}

/* 1 when user row 0 of res is an active admin and, of the admins active
 * (how many: admins), the only one. */
static int last_admin(PGresult *res, int admins)
{
    return strcmp(PQgetvalue(res, 0, C_ROLE), "admin") == 0 &&
           strcmp(PQgetvalue(res, 0, C_ACTIVE), "t") == 0 && admins <= 1;
}

/* Inside a transaction: end every session of user id except keep (NULL:
 * all of them); *ended receives how many. Non-zero after answering a
 * database error (rolled back). */
static int end_sessions(request *r, const char *id, const char *keep, long long *ended)
{
    if (exec_or_fail(r,
                     "DELETE FROM sluice.sessions WHERE user_id = $1"
                     " AND id IS DISTINCT FROM $2::uuid",
                     2, (const char *[]){id, keep}))
        return 1;
    *ended = db_changes(r->db);
    return 0;
}

/* Write the audit row (details stolen) and commit. On failure roll back and
 * answer (500 when the audit row could not be written: a change must not
 * happen unrecorded; else the database error); returns non-zero then. */
static int record_or_fail(request *r, const char *action, const char *id, json_t *details)
{
    sl_errbuf eb = {0};
    sl_err e = audit_write(r, action, "user", id, details, NULL);
    json_decref(details);
    if (e) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return 1;
    }
    e = db_commit(r->db, &eb);
    if (e) {
        tx_fail(r, e, &eb);
        return 1;
    }
    return 0;
}

/* Nothing to change: end the transaction, flash msg and go to where. */
static void unchanged(request *r, const char *where, const char *msg)
{
    db_rollback(r->db);
    page_flash(r, "info", msg);
    http_redirect(r, 303, where);
}

/* A form page's field errors (stolen) into ctx. */
static void put_errors(json_t *ctx, json_t *errors)
{
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
}

/* Check a new password and its confirmation; field errors go to errors. */
static void check_password(json_t *errors, const char *pw, const char *confirm)
{
    if (!*pw)
        page_field_error(errors, "password", "enter a password");
    else if (strlen(pw) > PASSWORD_MAX)
        page_field_error(errors, "password", "the password is longer than 1024 bytes");
    else if (params_utf8_len(pw) < 0)
        page_field_error(errors, "password", "the password is not valid UTF-8 text");
    else if (params_utf8_len(pw) < PASSWORD_MIN)
        page_field_error(errors, "password", "the password needs at least 8 characters");
    else if (strcmp(pw, confirm) != 0)
        page_field_error(errors, "confirm", "the two passwords do not match");
}

/* Text that is not UTF-8 (PostgreSQL would refuse it) is a field error. */
static void check_name(json_t *errors, const char *name)
{
    long n = params_utf8_len(name);
    if (!*name)
        page_field_error(errors, "name", "enter a name");
    else if (n < 0)
        page_field_error(errors, "name", "the name is not valid UTF-8 text");
    else if (n > NAME_MAX_CHARS)
        page_field_error(errors, "name", "the name is longer than 200 characters");
    else if (params_has_control(name))
        page_field_error(errors, "name", "the name must be one line of text");
}

/* --- keyset pagination ------------------------------------------------------------ */

/* Newest first: (created_at, id) descending. The key is the user id plus,
 * from an API cursor, its created_at (at: text as params_timestamp
 * accepts); pages pass only the id (at NULL) and the time is looked up, so
 * a page link to a user who is gone shows an empty page. Forward: rows
 * older than the key (id NULL: from the newest); backward: rows newer than
 * it, fetched oldest-first (the caller walks them backwards). At most
 * limit + 1 rows, so the caller can tell whether there is more. */
static sl_err list_users(request *r, const char *at, const char *id, int backward, int limit,
                         PGresult **res, sl_errbuf *eb)
{
#define USER_KEY                                                                             \
    "(coalesce($1::timestamptz, (SELECT k.created_at FROM sluice.users k"                    \
    " WHERE k.id = $2::uuid)), $2::uuid)"
    const char *params[] = {at, id, arena_printf(r->a, "%d", limit + 1)};
    if (backward)
        return db_query(r->db, r->a, eb, res,
                        "SELECT " USER_COLS " FROM sluice.users WHERE (created_at, id) > "
                        USER_KEY " ORDER BY created_at, id LIMIT $3::int",
                        3, params);
    return db_query(r->db, r->a, eb, res,
                    "SELECT " USER_COLS " FROM sluice.users"
                    " WHERE $2::uuid IS NULL OR (created_at, id) < " USER_KEY
                    " ORDER BY created_at DESC, id DESC LIMIT $3::int",
                    3, params);
#undef USER_KEY
}

/* An API cursor is (created_at, id) of the last user of the page before. */
static int cursor_ok(const char *const *f)
{
    return params_timestamp(f[0]) && uuid_valid(f[1]);
}

/* --- pages -------------------------------------------------------------------------- */

void h_users_list(request *r)
{
    const char *after = http_query(r, "after");
    const char *before = http_query(r, "before");
    if (after && !*after)
        after = NULL;
    if (before && !*before)
        before = NULL;
    if ((after && !uuid_valid(after)) || (before && !uuid_valid(before)) || (after && before)) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = list_users(r, NULL, before ? before : after, before != NULL, USERS_PAGE, &res,
                          &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    int more = n > USERS_PAGE;
    if (more)
        n = USERS_PAGE;
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, user_page_json(r, res, before ? n - 1 - i : i));

    json_t *ctx = page_ctx(r, "Users", "users");
    if (n > 0) {
        const char *first = json_string_value(json_object_get(json_array_get(items, 0), "id"));
        const char *last =
            json_string_value(json_object_get(json_array_get(items, (size_t)n - 1), "id"));
        /* Newer rows exist when we came from an older page or there are
         * more before; older rows when there are more after or we came
         * from a newer page. */
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(first));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(last));
    }
    json_object_set_new(ctx, "has_users", json_boolean(n > 0));
    json_object_set_new(ctx, "users", items);
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    page_render(r, 200, "users/list", ctx);
}

/* The new-user form with the typed values (never the password). */
static void new_page(request *r, int status, const char *email, const char *name,
                     const char *role, json_t *errors)
{
    json_t *ctx = page_ctx(r, "New user", "users");
    json_object_set_new(ctx, "email", json_string(email));
    json_object_set_new(ctx, "name", json_string(name));
    json_object_set_new(ctx, "roles", role_options(role));
    put_errors(ctx, errors);
    page_render(r, status, "users/new", ctx);
}

void h_users_new(request *r)
{
    new_page(r, 200, "", "", "viewer", json_object());
}

void h_users_create(request *r)
{
    sl_errbuf eb = {0};
    if (form_or_fail(r))
        return;
    const char *email = form_str(r, "email");
    const char *name = form_str(r, "name");
    const char *role = form_str(r, "role");
    const char *pw = form_get(r, "password");
    const char *confirm = form_get(r, "confirm");
    if (!*role)
        role = "viewer";
    json_t *errors = json_object();

    if (!*email)
        page_field_error(errors, "email", "enter an email address");
    else if (!params_email(email))
        page_field_error(errors, "email", "enter an email address like name@example.com");
    check_name(errors, name);
    if (!role_ok(role)) {
        page_field_error(errors, "role", "choose admin, editor or viewer");
        role = "viewer";
    }
    check_password(errors, pw ? pw : "", confirm ? confirm : "");

    PGresult *res;
    if (!json_object_get(errors, "email")) {
        sl_err e = db_query(r->db, r->a, &eb, &res,
                            "SELECT 1 FROM sluice.users WHERE lower(email) = lower($1)", 1,
                            (const char *[]){email});
        if (e) {
            json_decref(errors);
            web_db_error(r, e, &eb);
            return;
        }
        if (PQntuples(res) > 0)
            page_field_error(errors, "email", "a user with this email already exists");
    }
    if (json_object_size(errors) > 0) {
        new_page(r, 422, email, name, role, errors);
        return;
    }

    char *hash;
    sl_err e = cr_password_hash(r->a, pw, &hash, &eb);
    if (e) {
        json_decref(errors);
        http_error(r, 500, "the password could not be hashed");
        return;
    }
    if (begin_or_fail(r)) {
        json_decref(errors);
        return;
    }
    e = db_query(r->db, r->a, &eb, &res,
                 "INSERT INTO sluice.users (email, name, role, password_hash)"
                 " VALUES ($1, $2, $3, $4) RETURNING id",
                 4, (const char *[]){email, name, role, hash});
    if (e == SL_EDB && strcmp(db_sqlstate(r->db), "23505") == 0) {
        /* Someone took the address since we looked. */
        db_rollback(r->db);
        page_field_error(errors, "email", "a user with this email already exists");
        new_page(r, 422, email, name, role, errors);
        return;
    }
    json_decref(errors);
    if (e) {
        tx_fail(r, e, &eb);
        return;
    }
    const char *id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    if (record_or_fail(r, "user.create", id,
                       json_pack("{s:s, s:s, s:s}", "email", email, "role", role, "name", name)))
        return;
    page_done(r, "/users", arena_printf(r->a, "User %s created.", email));
}

/* The edit page for user row 0 of res; name and role are what the form
 * shows (the typed values after a failed post). */
static void edit_page(request *r, int status, PGresult *res, const char *name,
                      const char *role, json_t *errors)
{
    json_t *u = user_page_json(r, res, 0);
    json_t *ctx = page_ctx(r, arena_printf(r->a, "User %s", PQgetvalue(res, 0, C_EMAIL)),
                           "users");
    json_object_set_new(ctx, "u", u);
    json_object_set_new(ctx, "name", json_string(name));
    json_object_set_new(ctx, "roles", role_options(role));
    put_errors(ctx, errors);
    page_render(r, status, "users/edit", ctx);
}

void h_user_show(request *r)
{
    PGresult *res;
    if (!load_path_user(r, &res))
        return;
    edit_page(r, 200, res, PQgetvalue(res, 0, C_NAME), PQgetvalue(res, 0, C_ROLE),
              json_object());
}

void h_user_update(request *r)
{
    const char *id = id_param(r);
    if (!id || form_or_fail(r))
        return;
    const char *name = form_str(r, "name");
    const char *role = form_str(r, "role");
    json_t *errors = json_object();
    check_name(errors, name);
    if (!role_ok(role))
        page_field_error(errors, "role", "choose admin, editor or viewer");

    PGresult *res;
    int admins;
    if (!begin_and_lock(r, id, &admins, &res)) {
        json_decref(errors);
        return;
    }
    const char *old_role = PQgetvalue(res, 0, C_ROLE);
    const char *old_name = PQgetvalue(res, 0, C_NAME);
    if (!json_object_get(errors, "role") && strcmp(role, "admin") != 0 && last_admin(res, admins))
        page_field_error(errors, "role", LAST_ADMIN_MSG);
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        edit_page(r, 422, res, name, role_ok(role) ? role : old_role, errors);
        return;
    }
    json_decref(errors);
    if (exec_or_fail(r,
                     "UPDATE sluice.users SET name = $2, role = $3, updated_at = now()"
                     " WHERE id = $1",
                     3, (const char *[]){id, name, role}))
        return;
    json_t *d = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "email",
                          PQgetvalue(res, 0, C_EMAIL), "before", "role", old_role, "name",
                          old_name, "after", "role", role, "name", name);
    if (record_or_fail(r, "user.update", id, d))
        return;
    /* An admin who demoted themselves can no longer see /users. */
    int self_demoted = strcmp(id, r->user_id) == 0 && strcmp(role, "admin") != 0;
    page_done(r, self_demoted ? "/" : "/users",
              arena_printf(r->a, "User %s saved.", PQgetvalue(res, 0, C_EMAIL)));
}

static void password_page(request *r, int status, PGresult *res, json_t *errors)
{
    json_t *ctx = page_ctx(r, "Reset password", "users");
    json_object_set_new(ctx, "u", user_page_json(r, res, 0));
    put_errors(ctx, errors);
    page_render(r, status, "users/password", ctx);
}

void h_user_password_form(request *r)
{
    PGresult *res;
    if (!load_path_user(r, &res))
        return;
    password_page(r, 200, res, json_object());
}

void h_user_password(request *r)
{
    const char *id = id_param(r);
    PGresult *res;
    if (!id || form_or_fail(r) || load_user(r, id, 0, &res) != 1)
        return;
    const char *pw = form_get(r, "password");
    const char *confirm = form_get(r, "confirm");
    json_t *errors = json_object();
    check_password(errors, pw ? pw : "", confirm ? confirm : "");
    if (json_object_size(errors) > 0) {
        password_page(r, 422, res, errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    char *hash;
    if (cr_password_hash(r->a, pw, &hash, &eb) != SL_OK) {
        http_error(r, 500, "the password could not be hashed");
        return;
    }
    /* Every session of that user ends, except the one making this request
     * when admins reset their own password. */
    long long ended;
    if (begin_or_fail(r) ||
        exec_or_fail(r,
                     "UPDATE sluice.users SET password_hash = $2, updated_at = now()"
                     " WHERE id = $1",
                     2, (const char *[]){id, hash}) ||
        end_sessions(r, id, r->session_id, &ended))
        return;
    json_t *d = json_pack("{s:s, s:I}", "email", PQgetvalue(res, 0, C_EMAIL), "sessions_ended",
                          (json_int_t)ended);
    if (record_or_fail(r, "user.password_reset", id, d))
        return;
    page_done(r, arena_printf(r->a, "/users/%s", id),
              arena_printf(r->a, "Password for %s reset; %lld session%s ended.",
                           PQgetvalue(res, 0, C_EMAIL), ended, ended == 1 ? "" : "s"));
}

/* Why user row 0 of res cannot be deactivated, or NULL when it can. */
static const char *deactivate_refusal(request *r, PGresult *res, int admins)
{
    if (last_admin(res, admins))
        return "This is the last active admin: without it nobody could manage users. "
               "Make another user an admin first.";
    if (strcmp(PQgetvalue(res, 0, C_ID), r->user_id) == 0)
        return "You cannot deactivate your own account. Ask another admin to do it.";
    return NULL;
}

static int count_active_admins(request *r)
{
    sl_errbuf eb = {0};
    char *v;
    sl_err e = db_query_value(r->db, r->a, &eb, &v,
                              "SELECT count(*) FROM sluice.users WHERE role = 'admin' AND active",
                              0, NULL);
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    return (int)strtol(v, NULL, 10);
}

static void deactivate_page(request *r, int status, PGresult *res, const char *refusal)
{
    json_t *ctx = page_ctx(r, "Deactivate user", "users");
    json_object_set_new(ctx, "u", user_page_json(r, res, 0));
    if (refusal)
        json_object_set_new(ctx, "refusal", json_string(refusal));
    page_render(r, status, "users/deactivate", ctx);
}

void h_user_deactivate_form(request *r)
{
    PGresult *res;
    if (!load_path_user(r, &res))
        return;
    int admins = count_active_admins(r);
    if (admins < 0)
        return;
    deactivate_page(r, 200, res, deactivate_refusal(r, res, admins));
}

void h_user_deactivate(request *r)
{
    const char *id = id_param(r);
    PGresult *res;
    int admins;
    if (!id || !begin_and_lock(r, id, &admins, &res))
        return;
    const char *refusal = deactivate_refusal(r, res, admins);
    if (refusal) {
        db_rollback(r->db);
        deactivate_page(r, 409, res, refusal);
        return;
    }
    const char *email = PQgetvalue(res, 0, C_EMAIL);
    if (strcmp(PQgetvalue(res, 0, C_ACTIVE), "t") != 0) {
        unchanged(r, "/users", arena_printf(r->a, "User %s was already inactive.", email));
        return;
    }
    long long ended;
    if (exec_or_fail(r, "UPDATE sluice.users SET active = false, updated_at = now() WHERE id = $1",
                     1, (const char *[]){id}) ||
        end_sessions(r, id, NULL, &ended))
        return;
    json_t *d = json_pack("{s:s, s:s, s:I}", "email", email, "role", PQgetvalue(res, 0, C_ROLE),
                          "sessions_ended", (json_int_t)ended);
    if (record_or_fail(r, "user.deactivate", id, d))
        return;
    page_done(r, "/users", arena_printf(r->a, "User %s deactivated.", email));
}

void h_user_activate(request *r)
{
    const char *id = id_param(r);
    PGresult *res;
    if (!id || !begin_and_lock(r, id, NULL, &res))
        return;
    const char *email = PQgetvalue(res, 0, C_EMAIL);
    if (strcmp(PQgetvalue(res, 0, C_ACTIVE), "t") == 0) {
        unchanged(r, arena_printf(r->a, "/users/%s", id),
                  arena_printf(r->a, "User %s was already active.", email));
        return;
    }
    if (exec_or_fail(r, "UPDATE sluice.users SET active = true, updated_at = now() WHERE id = $1",
                     1, (const char *[]){id}))
        return;
    json_t *d = json_pack("{s:s, s:s}", "email", email, "role", PQgetvalue(res, 0, C_ROLE));
    if (record_or_fail(r, "user.activate", id, d))
        return;
    page_done(r, arena_printf(r->a, "/users/%s", id),
              arena_printf(r->a, "User %s reactivated.", email));
}

/* --- JSON API ------------------------------------------------------------------------ */

void h_api_users_list(request *r)
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
    sl_err e = list_users(r, key[0], key[1], 0, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, user_api_json(res, i));
    const char *next = NULL;
    if (n > limit) {
        int last = (int)limit - 1;
        next = params_cursor_make(r->a, 2, (const char *[]){PQgetvalue(res, last, C_KEY_AT),
                                                            PQgetvalue(res, last, C_ID)});
    }
    http_send_json(r, 200, params_page_json(items, next));
}

void h_api_user_get(request *r)
{
    PGresult *res;
    if (!load_path_user(r, &res))
        return;
    http_send_json(r, 200, user_api_json(res, 0));
}

void h_api_me(request *r)
{
    http_send_json(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "id", r->user_id, "email",
                                     r->user_email, "name", r->user_name ? r->user_name : "",
                                     "role", auth_role_name(r->role)));
}
