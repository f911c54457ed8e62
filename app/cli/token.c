/* token.c - `sluice token`: API bearer tokens from the command line (create,
 * list, revoke).
 *
 * A token is "slu_" + 32 random bytes in base64url. Only its SHA-256 (of the
 * whole token, prefix included) is stored, with its first TOKEN_PREFIX_LEN
 * characters so people can tell tokens apart. `create` prints the token on
 * stdout and nothing else, so scripts can capture it; it is never shown
 * again, logged, or written to the audit trail. Each change commits with
 * its sluice.audit_log row. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "crypto.h"

#define TOKEN_SCHEME "slu_"
#define TOKEN_BYTES 32
#define TOKEN_PREFIX_LEN 12

/* ---- create ----------------------------------------------------------------------- */

static const acct_cmd CREATE = {
    "token create",
    "usage: sluice token create --email E --name N [--expires-days D]\n"
    "\n"
    "Create an API token for an active user and print it on stdout (only the\n"
    "token, so a script can capture it). It acts with the user's role and is\n"
    "shown only this once: sluice keeps only its hash.\n"
    "\n"
    "  --email E          the user the token acts for\n"
    "  --name N           what the token is for (\"nightly export\")\n"
    "  --expires-days D   expire after D days (1-3650); default: never\n"
    "  --help             this text\n"
    "\n"
    "Example: TOKEN=$(sluice token create --email ana@example.com --name ci)\n",
    ACCT_O_EMAIL | ACCT_O_NAME | ACCT_O_EXPIRES_DAYS,
    ACCT_O_EMAIL | ACCT_O_NAME,
};

static int token_create(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&CREATE, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    sl_err e = db_begin(r.d, &r.eb);
    if (e == SL_OK)
        e = acct_find_user(r.d, r.a, &r.eb, o.email, 1, &u);
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    if (!u.active)
        return acct_finish(&r, acct_fail(r.cmd,
                                         "%s is deactivated; activate the user first "
                                         "(sluice user activate)",
                                         u.email));

    char *token = arena_printf(r.a, "%s%s", TOKEN_SCHEME, cr_token_new(r.a, TOKEN_BYTES));
    size_t len = strlen(token);
    char *hash = cr_sha256_hex(r.a, token, len);
    char *prefix = arena_strndup(r.a, token, TOKEN_PREFIX_LEN);
    char days[16];
    snprintf(days, sizeof days, "%d", o.expires_days);
    const char *params[] = {u.id, o.name, hash, prefix, o.expires_days ? days : NULL};
    PGresult *res;
    e = db_query(r.d, r.a, &r.eb, &res,
                 "INSERT INTO sluice.api_tokens (user_id, name, token_hash, prefix, expires_at)"
                 " VALUES ($1, $2, decode($3, 'hex'), $4,"
                 " CASE WHEN $5::int IS NULL THEN NULL ELSE now() + $5::int * interval '1 day'"
                 " END)"
                 " RETURNING id, coalesce(to_char(expires_at AT TIME ZONE 'UTC',"
                 " 'YYYY-MM-DD HH24:MI\"Z\"'), 'never')",
                 5, params);
    const char *id = e == SL_OK ? PQgetvalue(res, 0, 0) : NULL;
    if (e == SL_OK) {
        json_t *details = json_pack("{s:s, s:s, s:s}", "email", u.email, "name", o.name,
                                    "prefix", prefix);
        if (details && o.expires_days)
            json_object_set_new(details, "expires_days", json_integer(o.expires_days));
        e = acct_commit(&r, "token.create", "api_token", id, details);
    }
    if (e != SL_OK) {
        sodium_memzero(token, len);
        return acct_finish(&r, acct_dbfail(&r));
    }
    fprintf(stderr,
            "sluice token create: token %s (%s...) for %s, expires %s; it is shown only once\n",
            id, prefix, u.email, PQgetvalue(res, 0, 1));
    printf("%s\n", token);
    fflush(stdout);
    sodium_memzero(token, len);
    return acct_finish(&r, 0);
}

/* ---- list ----------------------------------------------------------------------------- */

static const acct_cmd LIST = {
    "token list",
    "usage: sluice token list [--email E]\n"
    "\n"
    "List API tokens (all, or one user's): id, user, name, prefix, created, last\n"
    "used, expiry (UTC) and state (active, revoked, expired, user-inactive).\n",
    ACCT_O_EMAIL,
    0,
};

static int token_list(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&LIST, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    acct_user u;
    if (o.email && acct_find_user(r.d, r.a, &r.eb, o.email, 0, &u) != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
#define TS(col) "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI\"Z\"'), "
    PGresult *res;
    if (db_query(r.d, r.a, &r.eb, &res,
                 "SELECT t.id, u.email, t.name, t.prefix, " TS("t.created_at") "''), "
                 TS("t.last_used_at") "'never'), " TS("t.expires_at") "'never'),"
                 " CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked'"
                 " WHEN t.expires_at <= now() THEN 'expired'"
                 " WHEN NOT u.active THEN 'user-inactive' ELSE 'active' END"
                 " FROM sluice.api_tokens t JOIN sluice.users u ON u.id = t.user_id"
                 " WHERE $1::uuid IS NULL OR t.user_id = $1::uuid"
                 " ORDER BY t.created_at, t.id",
                 1, (const char *[]){o.email ? u.id : NULL}) != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
#undef TS
    static const char *const headers[] = {"ID",      "USER",      "NAME",    "PREFIX",
                                          "CREATED", "LAST USED", "EXPIRES", "STATE"};
    acct_print_table(stdout, res, headers);
    return acct_finish(&r, 0);
}

/* ---- revoke --------------------------------------------------------------------------- */

static const acct_cmd REVOKE = {
    "token revoke",
    "usage: sluice token revoke --id ID\n"
    "\n"
    "Revoke an API token (ID as `sluice token list` shows it); it stops working\n"
    "at once. Revoking a revoked token changes nothing.\n",
    ACCT_O_ID,
    ACCT_O_ID,
};

static int token_revoke(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    acct_run r;
    int rc = acct_open(&REVOKE, argc, argv, cfg, &o, &r);
    if (rc >= 0)
        return rc;
    PGresult *res;
    sl_err e = db_begin(r.d, &r.eb);
    if (e == SL_OK)
        e = db_query(r.d, r.a, &r.eb, &res,
                     "SELECT t.name, t.prefix, t.revoked_at IS NOT NULL, u.email"
                     " FROM sluice.api_tokens t JOIN sluice.users u ON u.id = t.user_id"
                     " WHERE t.id = $1 FOR UPDATE OF t",
                     1, (const char *[]){o.id});
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    if (PQntuples(res) != 1)
        return acct_finish(&r, acct_fail(r.cmd, "no API token with id %s", o.id));
    const char *name = PQgetvalue(res, 0, 0), *prefix = PQgetvalue(res, 0, 1);
    const char *email = PQgetvalue(res, 0, 3);
    if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        printf("token %s (%s...) was already revoked; nothing changed\n", o.id, prefix);
        return acct_finish(&r, 0);
    }
    e = db_exec(r.d, &r.eb, "UPDATE sluice.api_tokens SET revoked_at = now() WHERE id = $1", 1,
                (const char *[]){o.id});
    if (e == SL_OK)
        e = acct_commit(&r, "token.revoke", "api_token", o.id,
                        json_pack("{s:s, s:s, s:s}", "email", email, "name", name, "prefix",
                                  prefix));
    if (e != SL_OK)
        return acct_finish(&r, acct_dbfail(&r));
    printf("revoked token %s (%s..., \"%s\", %s)\n", o.id, prefix, name, email);
    return acct_finish(&r, 0);
}

/* ---- sluice token ----------------------------------------------------------------------- */

static const acct_subcmd SUBS[] = {
    {"create", token_create, "create an API token for a user; prints it once"},
    {"list", token_list, "list API tokens"},
    {"revoke", token_revoke, "revoke an API token"},
};

int cmd_token(int argc, char **argv, const sl_config *cfg)
{
    return acct_dispatch("token", "Manage API bearer tokens (Authorization: Bearer slu_...).",
                         SUBS, sizeof SUBS / sizeof SUBS[0], argc, argv, cfg);
}
