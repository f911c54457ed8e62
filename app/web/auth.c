/* auth.c - principals, roles, sessions and CSRF (see auth.h).
 *
 * Tokens never touch the database in clear: the cookie and bearer values
 * are random 32-byte strings and the tables hold their SHA-256. Sessions
 * slide: last_seen_at is bumped at most once a minute, and a session whose
 * idle_timeout or absolute expires_at has passed is gone. */
#include "auth.h"

#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "form.h"
#include "log.h"
#include "router.h"
#include "worker.h"

#define SESSION_HOURS 12
#define KEEP_DAYS 30

static const char *role_names[] = {"public", "viewer", "editor", "admin"};

int auth_role_parse(const char *s)
{
    for (int i = ROLE_VIEWER; i <= ROLE_ADMIN; i++)
        if (s && strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

const char *auth_role_name(int role)
{
    return role >= ROLE_PUBLIC && role <= ROLE_ADMIN ? role_names[role] : NULL;
}

static void set_principal(request *r, PGresult *res, int row, int col)
{
    r->user_id = arena_strdup(r->a, PQgetvalue(res, row, col));
    r->user_email = arena_strdup(r->a, PQgetvalue(res, row, col + 1));
    r->user_name = arena_strdup(r->a, PQgetvalue(res, row, col + 2));
    int role = auth_role_parse(PQgetvalue(res, row, col + 3));
    r->role = role < 0 ? ROLE_PUBLIC : role;
}

/* Find the row whose token_hash is the SHA-256 of token with sql (its one
 * parameter: that hash in hex). 1 and *res set when exactly one row matches,
 * 0 when none does, -1 on database failure (details in eb). */
static int by_token_hash(request *r, const char *sql, const char *token, PGresult **res,
                         sl_errbuf *eb)
{
    const char *hash = cr_sha256_hex(r->a, token, strlen(token));
    if (db_query(r->db, r->a, eb, res, sql, 1, (const char *[]){hash}))
        return -1;
    return PQntuples(*res) == 1;
}

/* 1 found, 0 not found, -1 database failure (details in eb). */
static int from_bearer(request *r, const char *token, sl_errbuf *eb)
{
    static const char sql[] =
        "SELECT t.id, u.id, u.email, u.name, u.role,"
        " t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'"
        " FROM sluice.api_tokens t JOIN sluice.users u ON u.id = t.user_id"
        " WHERE t.token_hash = decode($1, 'hex') AND t.revoked_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active";
    PGresult *res;
    int found = by_token_hash(r, sql, token, &res, eb);
    if (found != 1)
        return found;
    set_principal(r, res, 0, 1);
    r->via_token = 1;
    if (strcmp(PQgetvalue(res, 0, 5), "t") == 0)
        db_exec(r->db, NULL, "UPDATE sluice.api_tokens SET last_used_at = now() WHERE id = $1",
                1, (const char *[]){PQgetvalue(res, 0, 0)});
    return 1;
}

/* As from_bearer, for the session cookie. */
static int from_session(request *r, const char *token, sl_errbuf *eb)
{
    static const char sql[] =
        "SELECT s.id, s.csrf_token, u.id, u.email, u.name, u.role,"
        " s.last_seen_at < now() - interval '1 minute'"
        " FROM sluice.sessions s JOIN sluice.users u ON u.id = s.user_id"
        " WHERE s.token_hash = decode($1, 'hex') AND s.expires_at > now()"
        " AND s.last_seen_at > now() - s.idle_timeout AND u.active";
    PGresult *res;
    int found = by_token_hash(r, sql, token, &res, eb);
    if (found != 1)
        return found;
    r->session_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    r->csrf_token = arena_strdup(r->a, PQgetvalue(res, 0, 1));
    set_principal(r, res, 0, 2);
    if (strcmp(PQgetvalue(res, 0, 6), "t") == 0)
        db_exec(r->db, NULL, "UPDATE sluice.sessions SET last_seen_at = now() WHERE id = $1", 1,
                (const char *[]){r->session_id});
    return 1;
}

/* The origin this request was sent to, as a browser would spell it. */
static const char *own_origin(request *r)
{
    const char *host = http_header(r, "Host");
    if (!host || !*host)
        return NULL;
    return arena_printf(r->a, "%s://%s", r->https ? "https" : "http", host);
}

static int same_origin(request *r, const char *origin)
{
    const char *own = own_origin(r);
    if (own && strcasecmp(origin, own) == 0)
        return 1;
    /* The configured public URL counts too (a proxy may rewrite Host). */
    const char *base = r->cfg->base_url;
    size_t n = strlen(origin);
    return n && strncasecmp(base, origin, n) == 0 && (base[n] == '\0' || base[n] == '/');
}

/* 0 when the request may go on, else the status to refuse it with (403,
 * or the form's own 400/413/415 when its body cannot be read). */
static int csrf_check(request *r, const char **why)
{
    const char *origin = http_header(r, "Origin");
    if (origin && *origin && strcmp(origin, "null") != 0 && !same_origin(r, origin)) {
        *why = "cross-origin request refused";
        return 403;
    }
    const char *site = http_header(r, "Sec-Fetch-Site");
    if (site && strcmp(site, "cross-site") == 0) {
        *why = "cross-site request refused";
        return 403;
    }
    const char *sent = http_header(r, "X-CSRF-Token");
    /* A multipart body is an upload that streams to disk: the token comes
     * from the header or ?_csrf=, never from the body. */
    if (!sent && strncasecmp(r->content_type, "multipart/form-data", 19) == 0)
        sent = http_query(r, "_csrf");
    if (!sent && strncasecmp(r->content_type, "application/x-www-form-urlencoded", 33) == 0) {
        sl_errbuf eb = {0};
        sl_err e = form_parse(r, &eb);
        if (e != SL_OK) {
            *why = arena_strdup(r->a, eb.msg);
            return e == SL_ETOOBIG ? 413 : e == SL_EUNSUPPORTED ? 415 : 400;
        }
        sent = form_get(r, "_csrf");
    }
    const char *want = r->csrf_token ? r->csrf_token : cookie_get(r, CSRF_COOKIE);
    if (!sent || !want || !*want || !cr_equal(sent, want)) {
        *why = "the form's security token is missing or out of date; reload the page and "
               "try again";
        return 403;
    }
    return 0;
}

static void refuse_anonymous(request *r)
{
    if (router_is_api(r->route) || http_wants_json(r)) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"sluice\"");
        http_problem(r, 401, "sign in or send an API token", NULL);
        return;
    }
    const char *next = strcmp(r->method, "GET") == 0 ? r->uri : "/";
    char *enc = arena_alloc(r->a, strlen(next) * 3 + 1), *q = enc;
    for (const unsigned char *p = (const unsigned char *)next; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-_.~", *p)) {
            *q++ = (char)*p;
        } else {
            q += snprintf(q, 4, "%%%02X", *p);
        }
    }
    *q = '\0';
    http_redirect(r, 303, arena_printf(r->a, "/login?next=%s", enc));
}

int auth_guard(request *r)
{
    r->role = ROLE_PUBLIC;
    int need = r->route->min_role;
    /* A public API route acts for nobody; its handler authenticates the
     * request itself if it must (webhooks, by signature). Credentials are
     * not looked at, and with no ambient authority CSRF has nothing to
     * protect. */
    if (need == ROLE_PUBLIC && router_is_api(r->route))
        return 1;
    const char *authz = http_header(r, "Authorization");
    int found = 0;
    sl_errbuf eb = {0};

    if (authz && strncasecmp(authz, "Bearer ", 7) == 0 && router_is_api(r->route)) {
        found = from_bearer(r, authz + 7, &eb);
        if (found < 0) {
            web_db_error(r, eb.code, &eb);
            return 0;
        }
        if (!found) {
            http_add_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
            http_problem(r, 401, "the API token is invalid, expired or revoked", NULL);
            return 0;
        }
    } else {
        const char *token = cookie_get(r, SESSION_COOKIE);
        if (token && *token && r->cfg->database_url[0]) {
            found = from_session(r, token, &eb);
            if (found < 0 && need > ROLE_PUBLIC) {
                web_db_error(r, eb.code, &eb);
                return 0;
            }
            /* Public pages still work while the database is away. */
            if (found == 0)
                cookie_set(r, SESSION_COOKIE, "", 0);
        }
    }

    if (need > r->role) {
        if (r->role == ROLE_PUBLIC)
            refuse_anonymous(r);
        else
            http_error(r, 403, "your role does not allow this");
        return 0;
    }
    int safe = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0 ||
               strcmp(r->method, "OPTIONS") == 0;
    const char *why = NULL;
    int refuse = safe || r->via_token ? 0 : csrf_check(r, &why);
    if (refuse) {
        log_warn("refused %s %s: %s", r->method, r->path, why);
        http_error(r, refuse, why);
        return 0;
    }
    return 1;
}

sl_err auth_session_start(request *r, const char *user_id, int keep, sl_errbuf *eb)
{
    char *token = cr_token_new(r->a, 32);
    char *hash = cr_sha256_hex(r->a, token, strlen(token));
    char *csrf = cr_token_new(r->a, 32);
    const char *ua = http_header(r, "User-Agent");
    char *life = arena_printf(r->a, "%d hours", keep ? KEEP_DAYS * 24 : SESSION_HOURS);
    const char *params[] = {hash, user_id, csrf, keep ? "t" : "f", life, r->remote_addr,
                            ua ? arena_strndup(r->a, ua, 512) : NULL};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "INSERT INTO sluice.sessions (token_hash, user_id, csrf_token,"
                        " keep_signed_in, idle_timeout, expires_at, remote_addr, user_agent)"
                        " VALUES (decode($1, 'hex'), $2, $3, $4::boolean,"
                        " CASE WHEN $4::boolean THEN $5::interval ELSE interval '2 hours' END,"
                        " now() + $5::interval, $6, $7) RETURNING id",
                        7, params);
    if (e)
        return e;
    r->session_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    r->csrf_token = csrf;
    cookie_set(r, SESSION_COOKIE, token, keep ? (long)KEEP_DAYS * 86400 : -1);
    cookie_set(r, CSRF_COOKIE, "", 0);
    return SL_OK;
}

void auth_session_end(request *r)
{
    if (r->session_id)
        db_exec(r->db, NULL, "DELETE FROM sluice.sessions WHERE id = $1", 1,
                (const char *[]){r->session_id});
    cookie_set(r, SESSION_COOKIE, "", 0);
    r->session_id = NULL;
    r->csrf_token = NULL;
}

const char *auth_csrf_token(request *r)
{
    if (r->csrf_token)
        return r->csrf_token;
    const char *c = cookie_get(r, CSRF_COOKIE);
    if (c && strlen(c) >= 32)
        return c;
    char *t = cr_token_new(r->a, 32);
    cookie_set(r, CSRF_COOKIE, t, -1);
    r->csrf_token = NULL;
    return t;
}
