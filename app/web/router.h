/* router.h - the routes table and path matching.
 *
 * Every route of the application is one row of the static table in
 * routes.c: method, path pattern, handler, minimum role, page or API.
 * Patterns are literal segments and `{name}` parameters that match one
 * non-empty segment (percent-decoded into request->param_values). */
#ifndef SL_ROUTER_H
#define SL_ROUTER_H

#include <stddef.h>

#include "http.h"

typedef void (*route_handler)(request *r);

enum route_kind { ROUTE_PAGE = 0, ROUTE_API };

struct route {
    const char *method;     /* "GET", "POST", ...; GET routes also answer HEAD */
    const char *pattern;    /* "/api/v1/sources/{id}" */
    route_handler handler;
    int min_role;           /* enum role */
    int kind;               /* enum route_kind */
    long long max_body;     /* bytes; 0: the configured SLUICE_WEB_MAX_BODY */
};

enum router_result { ROUTER_FOUND = 0, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD, ROUTER_BAD_PATH };

/* The table and its length (routes.c). */
const struct route *routes_table(size_t *n);

/* Match r->method and r->path against the table. On ROUTER_FOUND sets
 * r->route and the path parameters. On ROUTER_BAD_METHOD writes the
 * allowed methods ("GET, HEAD, POST") into allow. ROUTER_BAD_PATH: a
 * parameter had a bad percent-escape or a control character. */
enum router_result router_match(request *r, char *allow, size_t allowlen);
/* A route matching the path under any method, or NULL (for body limits
 * before the method is checked). */
const struct route *router_find_path(const char *path);

/* Index of a route in the table (for metrics), or -1 for NULL. */
int router_index(const struct route *rt);
int router_is_api(const struct route *rt);

#endif
