/* auth.c - role checks for every route (see auth.h).
 *
 * Until accounts exist every principal is anonymous: public routes run,
 * everything else is refused the way it will be for a signed-out user. */
#include "auth.h"

#include <string.h>

#include "router.h"

int auth_guard(request *r)
{
    r->role = ROLE_PUBLIC;
    if (r->route->min_role <= ROLE_PUBLIC)
        return 1;
    if (router_is_api(r->route) || http_wants_json(r)) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"sluice\"");
        http_problem(r, 401, "sign in or send an API token", NULL);
        return 0;
    }
    http_redirect(r, 303, "/login");
    return 0;
}
