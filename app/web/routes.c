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
    {"GET", "/users", h_users_list, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"GET", "/users/new", h_users_new, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"POST", "/users", h_users_create, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"GET", "/users/{id}", h_user_show, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"POST", "/users/{id}", h_user_update, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"GET", "/users/{id}/password", h_user_password_form, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"POST", "/users/{id}/password", h_user_password, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"GET", "/users/{id}/deactivate", h_user_deactivate_form, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"POST", "/users/{id}/deactivate", h_user_deactivate, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"POST", "/users/{id}/activate", h_user_activate, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"GET", "/api/v1/users", h_api_users_list, ROLE_ADMIN, ROUTE_API, 0},
    {"GET", "/api/v1/users/{id}", h_api_user_get, ROLE_ADMIN, ROUTE_API, 0},
    {"GET", "/api/v1/me", h_api_me, ROLE_VIEWER, ROUTE_API, 0},
    {"GET", "/tokens", h_tokens_page, ROLE_VIEWER, ROUTE_PAGE, 0},
    {"POST", "/tokens", h_token_create, ROLE_VIEWER, ROUTE_PAGE, 16 * 1024},
    {"GET", "/tokens/{id}/revoke", h_token_revoke_form, ROLE_VIEWER, ROUTE_PAGE, 0},
    {"POST", "/tokens/{id}/revoke", h_token_revoke, ROLE_VIEWER, ROUTE_PAGE, 16 * 1024},
    {"GET", "/api/v1/tokens", h_api_tokens_list, ROLE_VIEWER, ROUTE_API, 0},
    {"POST", "/api/v1/tokens", h_api_token_create, ROLE_VIEWER, ROUTE_API, 16 * 1024},
    {"GET", "/api/v1/tokens/all", h_api_tokens_all, ROLE_ADMIN, ROUTE_API, 0},
    {"DELETE", "/api/v1/tokens/{id}", h_api_token_delete, ROLE_VIEWER, ROUTE_API, 0},
    {"GET", "/audit", h_audit_page, ROLE_VIEWER, ROUTE_PAGE, 0},
    {"GET", "/api/v1/audit", h_api_audit, ROLE_VIEWER, ROUTE_API, 0},
};

const struct route *routes_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}
