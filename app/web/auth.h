/* auth.h - who is asking, and may they: the one place roles are checked.
 *
 * auth_guard() runs before every handler. It identifies the principal (an
 * API bearer token on /api routes, else the session cookie), compares its
 * role with the route's minimum role, and for state-changing requests made
 * with a cookie checks the Origin and the CSRF token. When it refuses, it
 * has already answered: 401 (or a redirect to /login for pages), 403, or
 * 503 when the database is away. */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include "http.h"

#define SESSION_COOKIE "sluice_session"
#define CSRF_COOKIE "sluice_csrf"

/* 1: the handler may run; 0: the request was answered. */
int auth_guard(request *r);

/* Start a session for a user (sets the cookie, fills r's principal).
 * keep: "keep me signed in" (30 days instead of 12 hours, and no idle
 * expiry shorter than that). SL_EDB/SL_EDBDOWN on database failure. */
sl_err auth_session_start(request *r, const char *user_id, int keep, sl_errbuf *eb);
/* End the current session (row deleted, cookie cleared). */
void auth_session_end(request *r);
/* The CSRF token to embed in forms for this request: the session's, or for
 * a signed-out visitor a random one kept in a cookie (set here if needed). */
const char *auth_csrf_token(request *r);
/* Role names: "admin" <-> ROLE_ADMIN, ...; -1 / NULL when unknown. */
int auth_role_parse(const char *s);
const char *auth_role_name(int role);

#endif
