/* auth.h - who is asking, and may they: the one place roles are checked.
 *
 * auth_guard() runs before every handler. It identifies the principal
 * (session cookie or bearer token), compares its role with the route's
 * minimum role, and checks CSRF for state-changing requests. When it
 * refuses, it has already answered (401/403, or a redirect to /login). */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include "http.h"

/* 1: the handler may run; 0: the request was answered. */
int auth_guard(request *r);

#endif
