/* routes.c - the whole HTTP surface of sluice-web, one row per route.
 *
 * Columns: method, path pattern, handler, minimum role, page or API, and a
 * body limit when the default (SLUICE_WEB_MAX_BODY) does not fit. */
#include "handlers.h"
#include "router.h"

static const struct route table[] = {
    {"GET", "/healthz", h_healthz, ROLE_PUBLIC, ROUTE_API, 0},
    {"GET", "/metrics", h_metrics, ROLE_PUBLIC, ROUTE_PAGE, 0},
    {"GET", "/login", h_login_form, ROLE_PUBLIC, ROUTE_PAGE, 0},
    {"POST", "/login", h_login, ROLE_PUBLIC, ROUTE_PAGE, 0},
    {"POST", "/logout", h_logout, ROLE_VIEWER, ROUTE_PAGE, 0},
    {"GET", "/", h_dashboard, ROLE_VIEWER, ROUTE_PAGE, 0},
};

const struct route *routes_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}
