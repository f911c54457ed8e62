// fuzz-sources: app/web/http.c app/web/router.c
// fuzz-sources: app/core/arena.c app/core/sbuf.c app/core/err.c app/core/log.c
// fuzz-libs: fcgi
/* fuzz_http.c - libFuzzer target for the request layer: http_decode (path
 * and form mode), http_query, http_request_init and router_match.
 *
 * Every result is compared with a small reference implementation written
 * here, and invariants are asserted: decoded text never holds NUL or a
 * control character other than tab/CR/LF and is never longer than its
 * input; a routed request's parameters are exactly the decoded segments;
 * 404 / 405 / found agree with router_find_path and the Allow list.
 *
 * The routes are the real ones: routes.c's rows (method, pattern, kind) are
 * read from app/web/routes.c at start-up (SLUICE_ROUTES_C overrides the
 * path), because linking routes.c would drag in every handler of the
 * application. The handler column is not needed for matching. Build and
 * run through tests/fuzz/run.sh; by hand, from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iapp -Iapp/core \
 *       -I/usr/include/postgresql tests/fuzz/fuzz_http.c app/web/http.c app/web/router.c \
 *       app/core/arena.c app/core/sbuf.c app/core/err.c app/core/log.c \
 *       -ljansson -lfcgi -o build/fuzz_http
 *   ./build/fuzz_http tests/fuzz/corpus/http */
#include <fcgiapp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "web/http.h"
#include "web/router.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_http: %s:%d: check failed: %s\n", __FILE__, __LINE__,      \
                    #cond);                                                                    \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* ---- the routes table, read from routes.c ------------------------------ */

static struct route *g_routes;
static size_t g_nroutes;

const struct route *routes_table(size_t *n)
{
    *n = g_nroutes;
    return g_routes;
}

static void dummy_handler(request *r)
{
    (void)r;
}

static char *dupn(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Blank out comments so a commented row is not read. */
static void strip_comments(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                return;
        } else if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            char *end = e ? e + 2 : p + strlen(p);
            memset(p, ' ', (size_t)(end - p));
            p = end - 1;
        } else if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                *p++ = ' ';
            if (!*p)
                return;
        }
    }
}

/* A string literal at *pp (after optional spaces); NULL if there is none. */
static char *literal(const char **pp)
{
    const char *p = *pp;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != '"')
        return NULL;
    const char *e = strchr(p + 1, '"');
    if (!e || memchr(p + 1, '\\', (size_t)(e - p - 1)))
        return NULL;
    *pp = e + 1;
    return dupn(p + 1, (size_t)(e - p - 1));
}

static void load_routes(void)
{
    const char *env = getenv("SLUICE_ROUTES_C");
    const char *tries[] = {env, "app/web/routes.c", "../app/web/routes.c",
                           "../../app/web/routes.c"};
    char *src = NULL;
    const char *used = NULL;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0] && !src; i++)
        if (tries[i] && (src = slurp(tries[i])) != NULL)
            used = tries[i];
    if (!src) {
        fprintf(stderr, "fuzz_http: cannot read app/web/routes.c (run from the repository "
                        "root or set SLUICE_ROUTES_C)\n");
        abort();
    }
    strip_comments(src);
    const char *p = strstr(src, "struct route table[]");
    p = p ? strchr(p, '{') : NULL;
    const char *end = p ? strstr(p, "};") : NULL;
    size_t cap = 16;
    g_routes = xcalloc(cap, sizeof *g_routes);
    int healthz = 0;
    while (p && end && (p = strstr(p + 1, "{\"")) != NULL && p < end) {
        const char *q = p + 1;
        char *method = literal(&q);
        while (*q == ' ' || *q == ',' || *q == '\n')
            q++;
        char *pattern = literal(&q);
        const char *close = strchr(q, '}');
        if (!method || !pattern || !close || close > end) {
            fprintf(stderr, "fuzz_http: %s: cannot read the row at '%.60s'\n", used, p);
            abort();
        }
        if (g_nroutes == cap)
            g_routes = xrealloc(g_routes, (cap *= 2) * sizeof *g_routes);
        struct route *rt = &g_routes[g_nroutes++];
        memset(rt, 0, sizeof *rt);
        rt->method = method;
        rt->pattern = pattern;
        rt->handler = dummy_handler;
        char *row = dupn(q, (size_t)(close - q));
        rt->kind = strstr(row, "ROUTE_API") ? ROUTE_API : ROUTE_PAGE;
        free(row);
        healthz |= strcmp(pattern, "/healthz") == 0;
        p = close;
    }
    if (g_nroutes == 0 || !healthz) {
        fprintf(stderr, "fuzz_http: %s: found %zu routes and %s /healthz; has the table's "
                        "format changed?\n", used, g_nroutes, healthz ? "a" : "no");
        abort();
    }
    fprintf(stderr, "fuzz_http: %zu routes from %s\n", g_nroutes, used);
    free(src);
}

/* ---- reference implementations ---------------------------------------------- */

static int ref_hex(int c)
{
    const char *digits = "0123456789abcdef";
    if (c >= 'A' && c <= 'F')
        c += 'a' - 'A';
    const char *d = c ? strchr(digits, c) : NULL;
    return d ? (int)(d - digits) : -1;
}

static int ref_allowed(int c)
{
    return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7f);
}

/* Decode into out (n + 1 bytes); returns the length, or -1 when refused. */
static long ref_decode(const char *s, size_t n, int form, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3 || ref_hex((unsigned char)s[i + 1]) < 0 ||
                ref_hex((unsigned char)s[i + 2]) < 0)
                return -1;
            c = ref_hex((unsigned char)s[i + 1]) * 16 + ref_hex((unsigned char)s[i + 2]);
            i += 2;
        } else if (form && c == '+') {
            c = ' ';
        }
        if (!ref_allowed(c))
            return -1;
        out[j++] = (char)c;
    }
    out[j] = '\0';
    return (long)j;
}

static void check_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    CHECK(n <= max);
    for (size_t i = 0; i < n; i++)
        CHECK(ref_allowed((unsigned char)s[i]));
}

static void check_decode(arena *a, const char *s, size_t n, int form)
{
    char *got = http_decode(a, s, n, form);
    char *want = arena_alloc(a, n + 1);
    long wlen = ref_decode(s, n, form, want);
    if (wlen < 0) {
        CHECK(got == NULL);
        return;
    }
    CHECK(got != NULL);
    check_text(got, n);
    CHECK(strlen(got) == (size_t)wlen);
    CHECK(memcmp(got, want, (size_t)wlen + 1) == 0);
}

/* http_query's contract: the first piece whose decoded key is name; its
 * decoded value, "" without '=', NULL when absent or undecodable. */
static const char *ref_query(arena *a, const char *q, const char *name, int *found)
{
    *found = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *key = arena_alloc(a, klen + 1);
        if (ref_decode(q, klen, 1, key) >= 0 && strcmp(key, name) == 0) {
            *found = 1;
            if (!eq)
                return "";
            char *v = arena_alloc(a, len - klen);
            return ref_decode(eq + 1, len - klen - 1, 1, v) >= 0 ? v : NULL;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void check_query(request *r, const char *name)
{
    int found;
    const char *want = ref_query(r->a, r->query, name, &found);
    const char *got = http_query(r, name);
    if (!want) {
        CHECK(got == NULL);
        return;
    }
    CHECK(got != NULL);
    CHECK(strcmp(got, want) == 0);
    check_text(got, strlen(r->query));
}

/* ---- routing ---------------------------------------------------------------- */

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                      "get"};
#define NMETHODS (sizeof methods / sizeof methods[0])

/* After ROUTER_FOUND: each {param} holds exactly the decoded path segment. */
static void check_params(request *r)
{
    const char *pat = r->route->pattern, *path = r->path;
    int k = 0;
    while (*pat && *path) {
        pat++;
        path++;
        size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
        if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
            CHECK(k < r->nparams);
            CHECK(strlen(r->param_names[k]) == pl - 2);
            CHECK(memcmp(r->param_names[k], pat + 1, pl - 2) == 0);
            char *want = arena_alloc(r->a, sl + 1);
            CHECK(ref_decode(path, sl, 0, want) >= 0);
            CHECK(strcmp(r->param_values[k], want) == 0);
            check_text(r->param_values[k], sl);
            CHECK(sl > 0);
            k++;
        } else {
            CHECK(pl == sl && memcmp(pat, path, pl) == 0);
        }
        pat += pl;
        path += sl;
    }
    CHECK(*pat == '\0' && *path == '\0');
    CHECK(k == r->nparams);
}

static void check_route(arena *a, const char *method, const char *path)
{
    request r;
    memset(&r, 0, sizeof r);
    r.a = a;
    r.method = method;
    r.path = path;
    r.query = "";
    char allow[256];
    enum router_result res = router_match(&r, allow, sizeof allow);
    const struct route *any = router_find_path(path);
    switch (res) {
    case ROUTER_FOUND:
        CHECK(r.route != NULL && any != NULL);
        CHECK(router_index(r.route) >= 0 && (size_t)router_index(r.route) < g_nroutes);
        CHECK(strcmp(r.route->method, method) == 0 ||
              (strcmp(method, "HEAD") == 0 && strcmp(r.route->method, "GET") == 0));
        CHECK(r.nparams >= 0 && r.nparams <= HTTP_MAX_PARAMS);
        CHECK(router_is_api(r.route) == (r.route->kind == ROUTE_API));
        check_params(&r);
        break;
    case ROUTER_NOT_FOUND:
        CHECK(r.route == NULL && any == NULL);
        CHECK(allow[0] == '\0');
        break;
    case ROUTER_BAD_METHOD:
        CHECK(r.route == NULL && any != NULL);
        CHECK(allow[0] != '\0');
        /* the Allow list never offers the method that was refused */
        for (const char *p = allow; *p;) {
            size_t n = strcspn(p, ",");
            CHECK(!(n == strlen(method) && memcmp(p, method, n) == 0));
            p += n;
            while (*p == ',' || *p == ' ')
                p++;
        }
        break;
    case ROUTER_BAD_PATH:
        CHECK(r.route == NULL && any != NULL);
        break;
    default:
        CHECK(!"unknown router result");
    }
}

/* ---- http_request_init over a fake FastCGI request ------------------------------ */

static void check_request(arena *a, const char *method, const char *uri, const char *query_name)
{
    char *env[4];
    env[0] = arena_printf(a, "REQUEST_METHOD=%s", method);
    env[1] = arena_printf(a, "REQUEST_URI=%s", uri);
    env[2] = "CONTENT_LENGTH=";
    env[3] = NULL;
    FCGX_Request fr;
    memset(&fr, 0, sizeof fr);
    fr.envp = env;
    request r;
    sl_errbuf eb;
    sl_err e = http_request_init(&r, a, &fr, &eb);
    CHECK(r.method && r.path && r.query && r.request_id);
    if (e != SL_OK) {
        CHECK(e == SL_EPARSE && eb.code == SL_EPARSE);
        return;
    }
    const char *u = *uri ? uri : "/";
    CHECK(strcmp(r.uri, u) == 0);
    CHECK(r.path[0] == '/');
    for (const char *p = r.uri; *p; p++)
        CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    size_t pl = strlen(r.path);
    CHECK(strncmp(r.uri, r.path, pl) == 0);
    CHECK(strchr(r.path, '?') == NULL);
    if (r.uri[pl] == '?')
        CHECK(strcmp(r.query, r.uri + pl + 1) == 0);
    else
        CHECK(r.uri[pl] == '\0' && r.query[0] == '\0');
    CHECK(r.content_length == -1);

    check_route(a, r.method, r.path);
    check_query(&r, query_name);
    check_query(&r, "a");
    check_query(&r, "next");
    check_query(&r, "");
}

/* ---- entry points ----------------------------------------------------------------- */

static arena *g_arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_ERROR + 1); /* silence */
    load_routes();
    g_arena = arena_new(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = g_arena;
    arena_reset(a);
    const char *s = (const char *)data;

    /* http_decode on the raw bytes, NULs included, in both modes. */
    check_decode(a, s, size, 0);
    check_decode(a, s, size, 1);

    /* The rest reads C strings: the first byte picks a method, the input
     * up to its first NUL is a path / URI, and what follows a NUL (if
     * anything) is a query parameter name. */
    if (size == 0)
        return 0;
    const char *method = methods[data[0] % NMETHODS];
    char *text = arena_strndup(a, s + 1, size - 1);
    size_t tlen = strlen(text);
    const char *name = tlen + 1 < size - 1 ? arena_strndup(a, s + 2 + tlen, size - 2 - tlen)
                                           : "q";

    check_route(a, method, text);
    check_request(a, method, text, name);
    return 0;
}
