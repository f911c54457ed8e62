/* user.c - `sluice user`: console accounts from the command line (add, list,
 * set-password, set-role, deactivate, activate).
 *
 * Passwords come from the first line of stdin, or from a prompt without
 * echo when stdin is a terminal; only their argon2id hash is stored. Every
 * change runs in one transaction together with its sluice.audit_log row.
 * The last active admin can be neither demoted nor deactivated: the active
 * admins are locked (FOR UPDATE, in id order) before that is checked, so
 * two concurrent demotions cannot both pass. Each command owns one arena
 * and one connection for its run. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "crypto.h"

/* ---- add ------------------------------------------------------------------------ */

static const acct_cmd ADD = {
    "user add",
    "usage: sluice user add --email E --role admin|editor|viewer [--name N] [--if-missing]\n"
    "\n"
    "Create a console user. The password is the first line of stdin (when stdin\n"
    "is a terminal: asked twice, without echo); at least 8 characters. Prints\n"
    "the new user's id.\n"
    "\n"
    "  --email E      login email; unique regardless of case\n"
    "  --role R       admin, editor or viewer\n"
    "  --name N       display name\n"
    "  --if-missing   when the user exists, print its id and change nothing (exit 0;\n"
    "                 stdin is not read)\n"
    "  --help         this text\n"
    "\n"
    "Example: printf '%s\\n' \"$PW\" | sluice user add --email ana@example.com --role admin\n"
    "Exit status: 0 done, 1 failed (e.g. the user exists), 2 usage error.\n",
    ACCT_O_EMAIL | ACCT_O_ROLE | ACCT_O_NAME | ACCT_O_IF_MISSING,
    ACCT_O_EMAIL | ACCT_O_ROLE,
};

/* The user exists: fine with --if-missing (print its id), an error otherwise. */
static int exists(acct_run *r, const acct_opts *o, const char *id)
{
    if (!o->if_missing)
        return acct_fail(r->cmd, "a user with email %s already exists", o->email);
    fprintf(stderr, "sluice %s: a user with email %s already exists; nothing changed\n",
            r->cmd, o->email);
    printf("%s\n", id);
    return 0;
}

/* Read a password (acct_read_password, asking with prompt) and hash it.
 * The hash lives in r->a; NULL after printing why. */
static char *read_password_hash(acct_run *r, const char *prompt)
{
    char pw[ACCT_PASSWORD_MAX + 1];
    char *hash = NULL;
    int rc = acct_read_password(r->cmd, prompt, pw, sizeof pw);
    if (rc == 0 && cr_password_hash(r->a, pw, &hash, &r->eb) != SL_OK)
        rc = acct_dbfail(r);
    sodium_memzero(pw, sizeof pw);
    return rc ? NULL : hash;
}

static int user_add(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&ADD, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    sl_err e = acct_find_user(r.d, r.a, &r.eb, o.email, 0, &u);
    if (e == SL_OK)
        return acct_finish(&r, exists(&r, &o, u.id));
    if (e != SL_ENOTFOUND)
        return acct_finish(&r, acct_dbfail(&r));
    char *hash = read_password_hash(&r, arena_printf(r.a, "Password for %s: ", o.email));
    if (!hash)
        return acct_finish(&r, 1);

    char *id = NULL;
    const char *params[] = {o.email, o.name ? o.name : "", o.role, hash};
    e = db_begin(r.d, &r.eb);
    if (e == SL_OK)
        e = db_query_value(r.d, r.a, &r.eb, &id,
                           "INSERT INTO sluice.users (email, name, role, password_hash)"
                           " VALUES ($1, $2, $3, $4) RETURNING id",
                           4, params);
    if (e == SL_EDB && strcmp(db_sqlstate(r.d), "23505") == 0) {
        /* Created by someone else since we looked. */
        db_rollback(r.d);
        if (acct_find_user(r.d, r.a, &r.eb, o.email, 0, &u) != SL_OK)
            return acct_finish(&r, acct_dbfail(&r));
        return acct_finish(&r, exists(&r, &o, u.id));
    }
    if (e == SL_OK)
        e = acct_commit(&r, "user.create", "user", id,
                        json_pack("{s:s, s:s}", "email", o.email, "role", o.role));
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    printf("%s\n", id);
    return acct_finish(&r, 0);
}

/* ---- list ----------------------------------------------------------------------- */

static const acct_cmd LIST = {
    "user list",
    "usage: sluice user list\n"
    "\n"
    "List console users: email, name, role, whether active, last login (UTC).\n",
    0,
    0,
};

static int user_list(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&LIST, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    PGresult *res;
    if (db_query(r.d, r.a, &r.eb, &res,
                 "SELECT email, nullif(name, ''), role,"
                 " CASE WHEN active THEN 'yes' ELSE 'no' END,"
                 " coalesce(to_char(last_login_at AT TIME ZONE 'UTC',"
                 " 'YYYY-MM-DD HH24:MI\"Z\"'), 'never')"
                 " FROM sluice.users ORDER BY lower(email)",
                 0, NULL) != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    static const char *const headers[] = {"EMAIL", "NAME", "ROLE", "ACTIVE", "LAST LOGIN"};
    acct_print_table(stdout, res, headers);
    if (PQntuples(res) == 0)
        fprintf(stderr, "sluice user list: no users yet (create one with `sluice user add`)\n");
    return acct_finish(&r, 0);
}

/* ---- set-password ----------------------------------------------------------------- */

/* Inside the transaction: end every console session of user id; *ended
 * receives how many. */
static sl_err end_sessions(acct_run *r, const char *id, long long *ended)
{
    sl_err e = db_exec(r->d, &r->eb, "DELETE FROM sluice.sessions WHERE user_id = $1", 1,
                       (const char *[]){id});
    if (e == SL_OK)
        *ended = db_changes(r->d);
    return e;
}

static const acct_cmd SET_PASSWORD = {
    "user set-password",
    "usage: sluice user set-password --email E\n"
    "\n"
    "Set a user's password: the first line of stdin (when stdin is a terminal:\n"
    "asked twice, without echo); at least 8 characters. The user's console\n"
    "sessions end; API tokens are not touched.\n",
    ACCT_O_EMAIL,
    ACCT_O_EMAIL,
};

static int user_set_password(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&SET_PASSWORD, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    if (acct_find_user(r.d, r.a, &r.eb, o.email, 0, &u) != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    char *hash = read_password_hash(&r, arena_printf(r.a, "New password for %s: ", u.email));
    if (!hash)
        return acct_finish(&r, 1);

    long long ended = 0;
    sl_err e = db_begin(r.d, &r.eb);
    if (e == SL_OK)
        e = db_exec(r.d, &r.eb,
                    "UPDATE sluice.users SET password_hash = $2, updated_at = now()"
                    " WHERE id = $1",
                    2, (const char *[]){u.id, hash});
    if (e == SL_OK && db_changes(r.d) != 1)
        e = sl_fail(&r.eb, SL_ENOTFOUND, "user %s was deleted meanwhile", o.email);
    if (e == SL_OK)
        e = end_sessions(&r, u.id, &ended);
    if (e == SL_OK)
        e = acct_commit(&r, "user.password_reset", "user", u.id,
                        json_pack("{s:s, s:I}", "email", u.email, "sessions_ended",
                                  (json_int_t)ended));
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    printf("password of %s changed; %lld session%s ended\n", u.email, ended,
           ended == 1 ? "" : "s");
    return acct_finish(&r, 0);
}

/* ---- set-role, deactivate, activate -------------------------------------------------- */

/* Begin a transaction, lock every active admin (in id order, so concurrent
 * callers queue instead of deadlocking), then the user; *others receives
 * how many active admins there are besides the user. */
static sl_err lock_user_and_admins(acct_run *r, const char *email, acct_user *u, int *others)
{
    PGresult *res;
    sl_err e = db_begin(r->d, &r->eb);
    if (e == SL_OK)
        e = db_query(r->d, r->a, &r->eb, &res,
                     "SELECT id FROM sluice.users WHERE role = 'admin' AND active"
                     " ORDER BY id FOR UPDATE",
                     0, NULL);
    if (e == SL_OK)
        e = acct_find_user(r->d, r->a, &r->eb, email, 1, u);
    if (e != SL_OK)
        return e;
    *others = 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), u->id) != 0)
            (*others)++;
    return SL_OK;
}

/* When u is the last active admin (others: the other active admins), say
 * that it cannot be verb-ed and return 1 (the exit status); else 0. */
static int last_admin_refused(acct_run *r, const acct_user *u, int others, const char *verb)
{
    if (!u->active || strcmp(u->role, "admin") != 0 || others > 0)
        return 0;
    return acct_fail(r->cmd,
                     "refusing to %s %s: it is the last active admin "
                     "(make another user admin first)",
                     verb, u->email);
}

static const acct_cmd SET_ROLE = {
    "user set-role",
    "usage: sluice user set-role --email E --role admin|editor|viewer\n"
    "\n"
    "Change a user's role. The last active admin cannot be demoted: make\n"
    "another user admin first.\n",
    ACCT_O_EMAIL | ACCT_O_ROLE,
    ACCT_O_EMAIL | ACCT_O_ROLE,
};

static int user_set_role(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&SET_ROLE, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    int others = 0;
    if (lock_user_and_admins(&r, o.email, &u, &others) != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    if (strcmp(u.role, o.role) == 0) {
        printf("%s is already %s; nothing changed\n", u.email, o.role);
        return acct_finish(&r, 0);
    }
    if (last_admin_refused(&r, &u, others, "demote"))
        return acct_finish(&r, 1);
    sl_err e = db_exec(r.d, &r.eb,
                       "UPDATE sluice.users SET role = $2, updated_at = now() WHERE id = $1", 2,
                       (const char *[]){u.id, o.role});
    if (e == SL_OK)
        e = acct_commit(&r, "user.update", "user", u.id, /* as the console does */
                        json_pack("{s:s, s:{s:s}, s:{s:s}}", "email", u.email, "before", "role",
                                  u.role, "after", "role", o.role));
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    printf("%s is now %s (was %s)\n", u.email, o.role, u.role);
    return acct_finish(&r, 0);
}

static const acct_cmd DEACTIVATE = {
    "user deactivate",
    "usage: sluice user deactivate --email E\n"
    "\n"
    "Stop a user from signing in: their console sessions end and their API\n"
    "tokens stop working (they work again after `sluice user activate`). The last\n"
    "active admin cannot be deactivated.\n",
    ACCT_O_EMAIL,
    ACCT_O_EMAIL,
};

static int user_deactivate(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&DEACTIVATE, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    int others = 0;
    if (lock_user_and_admins(&r, o.email, &u, &others) != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    if (!u.active) {
        printf("%s is already deactivated; nothing changed\n", u.email);
        return acct_finish(&r, 0);
    }
    if (last_admin_refused(&r, &u, others, "deactivate"))
        return acct_finish(&r, 1);
    long long ended = 0;
    sl_err e = db_exec(r.d, &r.eb,
                       "UPDATE sluice.users SET active = false, updated_at = now() WHERE id = $1",
                       1, (const char *[]){u.id});
    if (e == SL_OK)
        e = end_sessions(&r, u.id, &ended);
    if (e == SL_OK)
        e = acct_commit(&r, "user.deactivate", "user", u.id,
                        json_pack("{s:s, s:I}", "email", u.email, "sessions_ended",
                                  (json_int_t)ended));
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    printf("%s deactivated; %lld session%s ended\n", u.email, ended, ended == 1 ? "" : "s");
    return acct_finish(&r, 0);
}

static const acct_cmd ACTIVATE = {
    "user activate",
    "usage: sluice user activate --email E\n"
    "\n"
    "Let a deactivated user sign in again.\n",
    ACCT_O_EMAIL,
    ACCT_O_EMAIL,
};

static int user_activate(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&ACTIVATE, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    sl_err e = db_begin(r.d, &r.eb);
    if (e == SL_OK)
        e = acct_find_user(r.d, r.a, &r.eb, o.email, 1, &u);
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    if (u.active) {
        printf("%s is already active; nothing changed\n", u.email);
        return acct_finish(&r, 0);
    }
    e = db_exec(r.d, &r.eb,
                "UPDATE sluice.users SET active = true, updated_at = now() WHERE id = $1", 1,
                (const char *[]){u.id});
    if (e == SL_OK)
        e = acct_commit(&r, "user.activate", "user", u.id, json_pack("{s:s}", "email", u.email));
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    printf("%s activated\n", u.email);
    return acct_finish(&r, 0);
}

/* ---- sluice user ---------------------------------------------------------------------- */

static const acct_subcmd SUBS[] = {
    {"add", user_add, "create a user (password from stdin)"},
    {"list", user_list, "list users"},
    {"set-password", user_set_password, "set a user's password (from stdin); ends sessions"},
    {"set-role", user_set_role, "change a user's role"},
    {"deactivate", user_deactivate, "stop a user from signing in; ends sessions"},
    {"activate", user_activate, "let a deactivated user sign in again"},
};

int cmd_user(int argc, char **argv, const sl_config *cfg)
{
    return acct_dispatch("user", "Manage console users (roles: admin, editor, viewer).", SUBS,
                         sizeof SUBS / sizeof SUBS[0], argc, argv, cfg);
}
