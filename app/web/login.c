/* login.c - sign in and sign out.
 *
 * Sign-in failures are throttled per email and per address from
 * sluice.login_attempts: past the limits the form answers 429 with
 * Retry-After until the window has passed. Unknown emails cost the same
 * time as wrong passwords. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "crypto.h"
#include "form.h"
#include "handlers.h"
#include "page.h"
#include "worker.h"

#define THROTTLE_WINDOW "15 minutes"
#define THROTTLE_WINDOW_SECONDS "900"
#define MAX_FAILS_PER_EMAIL 5
#define MAX_FAILS_PER_ADDR 20

/* A local path to go back to after signing in, or "/". */
static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strstr(next, "/login"))
        return "/";
    return next;
}

static void login_page(request *r, int status, const char *email, const char *error)
{
    json_t *ctx = page_ctx(r, "Sign in", NULL);
    const char *next = http_query(r, "next");
    if (!next)
        next = form_get(r, "next");
    json_object_set_new(ctx, "next", json_string(safe_next(next)));
    json_object_set_new(ctx, "email", json_string(email ? email : ""));
    json_object_set_new(ctx, "keep", json_boolean(form_bool(r, "keep")));
    if (error)
        json_object_set_new(ctx, "error", json_string(error));
    page_render(r, status, "login", ctx);
}

void h_login_form(request *r)
{
    if (r->role > ROLE_PUBLIC) {
        http_redirect(r, 303, "/");
        return;
    }
    login_page(r, 200, NULL, NULL);
}

static char *lower(arena *a, const char *s)
{
    char *out = arena_strdup(a, s);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

static void record_attempt(request *r, const char *email, int ok)
{
    db_exec(r->db, NULL,
            "INSERT INTO sluice.login_attempts (email, remote_addr, success) VALUES ($1, $2, $3)",
            3, (const char *[]){email, r->remote_addr, ok ? "t" : "f"});
}

void h_login(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *email = lower(r->a, form_str(r, "email"));
    const char *password = form_get(r, "password");
    if (!*email || !password || !*password) {
        login_page(r, 422, email, "Enter your email and password.");
        return;
    }
    if (strlen(email) > 254 || strlen(password) > 1024) {
        login_page(r, 422, NULL, "Email or password is too long.");
        return;
    }

    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        "SELECT count(*) FILTER (WHERE email = $1),"
                        " count(*) FILTER (WHERE remote_addr = $2)"
                        " FROM sluice.login_attempts WHERE NOT success"
                        " AND at > now() - interval '" THROTTLE_WINDOW "'"
                        " AND (email = $1 OR remote_addr = $2)",
                        2, (const char *[]){email, r->remote_addr});
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    long by_email = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    long by_addr = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    if (by_email >= MAX_FAILS_PER_EMAIL || by_addr >= MAX_FAILS_PER_ADDR) {
        audit_write(r, "login.throttled", "user", NULL, NULL, email);
        http_add_header(r, "Retry-After", THROTTLE_WINDOW_SECONDS);
        login_page(r, 429, email,
                   "Too many failed sign-ins. Wait 15 minutes and try again.");
        return;
    }

    e = db_query(r->db, r->a, &eb, &res,
                 "SELECT id, password_hash FROM sluice.users"
                 " WHERE lower(email) = $1 AND active",
                 1, (const char *[]){email});
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int ok;
    const char *user_id = NULL;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 1)) {
        user_id = PQgetvalue(res, 0, 0);
        ok = cr_password_verify(PQgetvalue(res, 0, 1), password);
    } else {
        /* Spend the same time as a real check so timing reveals nothing. */
        static const char *dummy =
            "$argon2id$v=19$m=19456,t=2,p=1$c2x1aWNlc2x1aWNlc2x1aQ$"
            "0000000000000000000000000000000000000000000";
        char *h;
        if (cr_password_hash(r->a, password, &h, NULL) == SL_OK)
            (void)cr_password_verify(dummy, password);
        ok = 0;
    }
    record_attempt(r, email, ok);
    if (!ok) {
        audit_write(r, "login.failed", "user", user_id, NULL, email);
        login_page(r, 401, email, "Email or password is incorrect.");
        return;
    }
    if (r->session_id) /* signing in again replaces the current session */
        auth_session_end(r);
    e = auth_session_start(r, user_id, form_bool(r, "keep"), &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    db_exec(r->db, NULL, "UPDATE sluice.users SET last_login_at = now() WHERE id = $1", 1,
            (const char *[]){user_id});
    r->user_id = user_id;
    r->user_email = email;
    audit_write(r, "login", "user", user_id, NULL, NULL);
    http_redirect(r, 303, safe_next(form_get(r, "next")));
}

void h_logout(request *r)
{
    audit_write(r, "logout", "user", r->user_id, NULL, NULL);
    auth_session_end(r);
    page_flash(r, "ok", "You have signed out.");
    http_redirect(r, 303, "/login");
}
