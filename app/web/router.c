/* router.c - match a request path against the routes table.
 *
 * Linear scan: the table is a few dozen rows and matching a row is a
 * segment-by-segment compare without allocation until a match is found. */
#include "router.h"

#include <stdio.h>
#include <string.h>

/* Compare one pattern with a path. Returns 1 on match and, when r is not
 * NULL, records decoded parameters; -1 when a parameter fails to decode. */
static int match_pattern(const char *pat, const char *path, request *r)
{
    const char *p = pat, *s = path;
    int nparams = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        const char *se = strchr(s, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0)
                return 0;
            if (r) {
                if (nparams >= HTTP_MAX_PARAMS)
                    return 0;
                char *val = http_decode(r->a, s, slen, 0);
                if (!val)
                    return -1;
                r->param_names[nparams] = arena_strndup(r->a, p + 1, plen - 2);
                r->param_values[nparams] = val;
            }
            nparams++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return 0;
    if (r)
        r->nparams = nparams;
    return 1;
}

static int method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return 1;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

enum router_result router_match(request *r, char *allow, size_t allowlen)
{
    size_t n;
    const struct route *t = routes_table(&n);
    int path_found = 0;
    if (allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!match_pattern(t[i].pattern, r->path, NULL))
            continue;
        path_found = 1;
        if (method_matches(t[i].method, r->method)) {
            int m = match_pattern(t[i].pattern, r->path, r);
            if (m < 0)
                return ROUTER_BAD_PATH;
            r->route = &t[i];
            return ROUTER_FOUND;
        }
        if (allowlen && !strstr(allow, t[i].method)) {
            size_t used = strlen(allow);
            snprintf(allow + used, allowlen - used, "%s%s%s", used ? ", " : "", t[i].method,
                     strcmp(t[i].method, "GET") == 0 ? ", HEAD" : "");
        }
    }
    return path_found ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

const struct route *router_find_path(const char *path)
{
    size_t n;
    const struct route *t = routes_table(&n);
    for (size_t i = 0; i < n; i++)
        if (match_pattern(t[i].pattern, path, NULL))
            return &t[i];
    return NULL;
}

int router_index(const struct route *rt)
{
    size_t n;
    const struct route *t = routes_table(&n);
    if (!rt || rt < t || rt >= t + n)
        return -1;
    return (int)(rt - t);
}

int router_is_api(const struct route *rt)
{
    return rt && rt->kind == ROUTE_API;
}
