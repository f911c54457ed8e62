/* check_router.c - unit tests for app/web/router.c (path matching, 404 vs 405).
 *
 * router.c is #included to reach the static match_pattern(); since this
 * object then defines every symbol router.o does, the linker never pulls
 * router.o out of libsluice-web.a. routes.c is #included too, with its
 * routes_table() renamed, so the tests can swap in a table of their own to
 * exercise the Allow list and HEAD handling; the real table is checked only
 * for its stable rows (/healthz, /metrics, /). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/web/router.c"

#define routes_table routes_table_real
#include "../../app/web/routes.c"
#undef routes_table

/* ---- a switchable routes table ---------------------------------------- */

static void h_a(request *r) { (void)r; }
static void h_b(request *r) { (void)r; }

static const struct route fake_table[] = {
    {"GET", "/things", h_a, ROLE_VIEWER, ROUTE_PAGE, 0},
    {"POST", "/things", h_b, ROLE_EDITOR, ROUTE_PAGE, 0},
    {"GET", "/things/new", h_a, ROLE_EDITOR, ROUTE_PAGE, 0},
    {"GET", "/things/{id}", h_a, ROLE_VIEWER, ROUTE_PAGE, 0},
    {"POST", "/things/{id}", h_b, ROLE_EDITOR, ROUTE_PAGE, 0},
    {"DELETE", "/things/{id}", h_b, ROLE_ADMIN, ROUTE_PAGE, 0},
    {"PUT", "/api/v1/things/{id}/tags/{tag}", h_b, ROLE_EDITOR, ROUTE_API, 0},
    {"POST", "/upload", h_b, ROLE_EDITOR, ROUTE_PAGE, 1024},
    {"GET", "/", h_a, ROLE_PUBLIC, ROUTE_PAGE, 0},
};

static int use_fake;

const struct route *routes_table(size_t *n)
{
    if (use_fake) {
        *n = sizeof fake_table / sizeof fake_table[0];
        return fake_table;
    }
    return routes_table_real(n);
}

static arena *A;

static void setup(void)
{
    A = arena_new(0);
    use_fake = 0;
}

static void teardown(void)
{
    arena_free(A);
    A = NULL;
}

static request mkreq(const char *method, const char *path)
{
    request r;
    memset(&r, 0, sizeof r);
    r.a = A;
    r.method = method;
    r.path = path;
    r.query = "";
    return r;
}

/* ---- match_pattern ------------------------------------------------------ */

struct pat_case {
    const char *pattern;
    const char *path;
    int want;            /* 1 match, 0 no match, -1 bad parameter */
    const char *p0, *v0; /* first parameter name/value when matched */
    const char *p1, *v1;
};

static const struct pat_case pat_cases[] = {
    /* literals */
    {"/", "/", 1, NULL, NULL, NULL, NULL},
    {"/healthz", "/healthz", 1, NULL, NULL, NULL, NULL},
    {"/healthz", "/healthy", 0, NULL, NULL, NULL, NULL},
    {"/healthz", "/healthzz", 0, NULL, NULL, NULL, NULL},
    {"/healthz", "/health", 0, NULL, NULL, NULL, NULL},
    {"/healthz", "/HEALTHZ", 0, NULL, NULL, NULL, NULL},
    {"/a/b", "/a/b", 1, NULL, NULL, NULL, NULL},
    {"/a/b", "/a", 0, NULL, NULL, NULL, NULL},
    {"/a", "/a/b", 0, NULL, NULL, NULL, NULL},
    /* literal segments are compared raw: no decoding */
    {"/a", "/%61", 0, NULL, NULL, NULL, NULL},
    /* trailing slash and empty segments are not the same path */
    {"/healthz", "/healthz/", 0, NULL, NULL, NULL, NULL},
    {"/a/b", "/a/b/", 0, NULL, NULL, NULL, NULL},
    {"/a/b", "/a//b", 0, NULL, NULL, NULL, NULL},
    {"/a/b", "//a/b", 0, NULL, NULL, NULL, NULL},
    {"/", "//", 0, NULL, NULL, NULL, NULL},
    {"/", "", 0, NULL, NULL, NULL, NULL},
    {"/healthz", "healthz", 0, NULL, NULL, NULL, NULL},
    /* parameters */
    {"/s/{id}", "/s/42", 1, "id", "42", NULL, NULL},
    {"/s/{id}", "/s/", 0, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s", 0, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/42/", 0, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/42/x", 0, NULL, NULL, NULL, NULL},
    {"/s/{id}/edit", "/s/7/edit", 1, "id", "7", NULL, NULL},
    {"/s/{id}/edit", "/s//edit", 0, NULL, NULL, NULL, NULL},
    {"/s/{id}/edit", "/s/7/view", 0, NULL, NULL, NULL, NULL},
    {"/s/{a}/t/{b}", "/s/x/t/y", 1, "a", "x", "b", "y"},
    {"/{a}/{b}", "/one/two", 1, "a", "one", "b", "two"},
    /* parameters are percent-decoded in path mode: '+' stays '+' */
    {"/s/{id}", "/s/a%20b", 1, "id", "a b", NULL, NULL},
    {"/s/{id}", "/s/a+b", 1, "id", "a+b", NULL, NULL},
    {"/s/{id}", "/s/%2Fetc%2fpasswd", 1, "id", "/etc/passwd", NULL, NULL},
    {"/s/{id}", "/s/%C3%A9t%C3%A9", 1, "id", "\xc3\xa9t\xc3\xa9", NULL, NULL},
    {"/s/{id}", "/s/%09", 1, "id", "\t", NULL, NULL},
    /* bad escapes and control characters in a parameter */
    {"/s/{id}", "/s/%G1", -1, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/%4", -1, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/abc%", -1, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/%00", -1, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/%01", -1, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/%7f", -1, NULL, NULL, NULL, NULL},
    {"/s/{id}", "/s/a\x01", -1, NULL, NULL, NULL, NULL},
    /* an escape cut by the segment end is bad, not joined with the next */
    {"/s/{id}/x", "/s/%4/1x", 0, NULL, NULL, NULL, NULL},
    {"/s/{id}/{b}", "/s/%4/1x", -1, NULL, NULL, NULL, NULL},
    /* a bad escape elsewhere does not matter when the literal differs */
    {"/s/{id}/edit", "/s/%G1/view", 0, NULL, NULL, NULL, NULL},
    /* braces only make a parameter when they wrap the whole segment */
    {"/s/x{id}", "/s/x42", 0, NULL, NULL, NULL, NULL},
    {"/s/x{id}", "/s/x{id}", 1, NULL, NULL, NULL, NULL},
};

START_TEST(test_match_pattern_table)
{
    const struct pat_case *c = &pat_cases[_i];
    request r = mkreq("GET", c->path);
    /* Without a request: the match/no-match answer only (a bad escape is
     * only found when decoding, so it counts as a match here). */
    int shape = match_pattern(c->pattern, c->path, NULL);
    ck_assert_msg(shape == (c->want != 0), "%s vs %s: shape %d", c->pattern, c->path, shape);
    /* The router decodes only rows whose shape matched (decoding runs
     * segment by segment, before later literals are compared). */
    if (!shape)
        return;
    int got = match_pattern(c->pattern, c->path, &r);
    ck_assert_msg(got == c->want, "%s vs %s: got %d want %d", c->pattern, c->path, got, c->want);
    if (got != 1)
        return;
    int want_n = c->p0 ? (c->p1 ? 2 : 1) : 0;
    ck_assert_int_eq(r.nparams, want_n);
    if (c->p0) {
        ck_assert_str_eq(r.param_names[0], c->p0);
        ck_assert_str_eq(r.param_values[0], c->v0);
        ck_assert_str_eq(http_path_param(&r, c->p0), c->v0);
    }
    if (c->p1) {
        ck_assert_str_eq(r.param_names[1], c->p1);
        ck_assert_str_eq(r.param_values[1], c->v1);
        ck_assert_str_eq(http_path_param(&r, c->p1), c->v1);
    }
    ck_assert_ptr_null(http_path_param(&r, "nope"));
}
END_TEST

START_TEST(test_match_pattern_max_params)
{
    /* HTTP_MAX_PARAMS parameters fit. */
    char pat[256] = "", path[256] = "";
    size_t pl = 0, sl = 0;
    for (int i = 0; i < HTTP_MAX_PARAMS; i++) {
        pl += (size_t)snprintf(pat + pl, sizeof pat - pl, "/{p%d}", i);
        sl += (size_t)snprintf(path + sl, sizeof path - sl, "/v%d", i);
    }
    request r = mkreq("GET", path);
    ck_assert_int_eq(match_pattern(pat, path, &r), 1);
    ck_assert_int_eq(r.nparams, HTTP_MAX_PARAMS);
    ck_assert_str_eq(http_path_param(&r, "p0"), "v0");
    ck_assert_str_eq(http_path_param(&r, "p7"), "v7");
}
END_TEST

/* ---- router_match against a table of our own -------------------------- */

struct match_case {
    const char *method;
    const char *path;
    enum router_result want;
    int row;            /* index into fake_table when found */
    const char *allow;  /* Allow list on ROUTER_BAD_METHOD */
    const char *param;  /* value of {id} when found, or NULL */
};

static const struct match_case match_cases[] = {
    {"GET", "/things", ROUTER_FOUND, 0, NULL, NULL},
    {"HEAD", "/things", ROUTER_FOUND, 0, NULL, NULL},
    {"POST", "/things", ROUTER_FOUND, 1, NULL, NULL},
    {"DELETE", "/things", ROUTER_BAD_METHOD, -1, "GET, HEAD, POST", NULL},
    {"PUT", "/things", ROUTER_BAD_METHOD, -1, "GET, HEAD, POST", NULL},
    {"get", "/things", ROUTER_BAD_METHOD, -1, "GET, HEAD, POST", NULL},
    /* first row wins: the literal /things/new comes before {id} */
    {"GET", "/things/new", ROUTER_FOUND, 2, NULL, NULL},
    {"POST", "/things/new", ROUTER_FOUND, 4, NULL, "new"},
    {"GET", "/things/42", ROUTER_FOUND, 3, NULL, "42"},
    {"HEAD", "/things/42", ROUTER_FOUND, 3, NULL, "42"},
    {"POST", "/things/42", ROUTER_FOUND, 4, NULL, "42"},
    {"DELETE", "/things/a%2Fb", ROUTER_FOUND, 5, NULL, "a/b"},
    {"PATCH", "/things/42", ROUTER_BAD_METHOD, -1, "GET, HEAD, POST, DELETE", NULL},
    {"PUT", "/upload", ROUTER_BAD_METHOD, -1, "POST", NULL},
    {"GET", "/upload", ROUTER_BAD_METHOD, -1, "POST", NULL},
    {"HEAD", "/upload", ROUTER_BAD_METHOD, -1, "POST", NULL},
    {"GET", "/api/v1/things/1/tags/x", ROUTER_BAD_METHOD, -1, "PUT", NULL},
    {"PUT", "/api/v1/things/1/tags/x", ROUTER_FOUND, 6, NULL, "1"},
    /* not found */
    {"GET", "/nothing", ROUTER_NOT_FOUND, -1, "", NULL},
    {"GET", "/things/", ROUTER_NOT_FOUND, -1, "", NULL},
    {"GET", "/things//", ROUTER_NOT_FOUND, -1, "", NULL},
    {"GET", "/things/42/", ROUTER_NOT_FOUND, -1, "", NULL},
    {"GET", "//things", ROUTER_NOT_FOUND, -1, "", NULL},
    {"GET", "/api/v1/things/1/tags/", ROUTER_NOT_FOUND, -1, "", NULL},
    {"GET", "", ROUTER_NOT_FOUND, -1, "", NULL},
    /* a bad parameter on a route whose method matches */
    {"GET", "/things/%G1", ROUTER_BAD_PATH, -1, NULL, NULL},
    {"GET", "/things/%4", ROUTER_BAD_PATH, -1, NULL, NULL},
    {"GET", "/things/%", ROUTER_BAD_PATH, -1, NULL, NULL},
    {"POST", "/things/%00", ROUTER_BAD_PATH, -1, NULL, NULL},
    {"DELETE", "/things/%1b", ROUTER_BAD_PATH, -1, NULL, NULL},
    {"GET", "/things/%G1/edit", ROUTER_NOT_FOUND, -1, "", NULL},
    /* ... the method check comes first */
    {"PATCH", "/things/%G1", ROUTER_BAD_METHOD, -1, "GET, HEAD, POST, DELETE", NULL},
};

START_TEST(test_router_match_table)
{
    const struct match_case *c = &match_cases[_i];
    use_fake = 1;
    request r = mkreq(c->method, c->path);
    char allow[64];
    memset(allow, 'X', sizeof allow);
    enum router_result got = router_match(&r, allow, sizeof allow);
    ck_assert_msg(got == c->want, "%s %s: got %d want %d", c->method, c->path, got, c->want);
    if (c->want == ROUTER_FOUND) {
        ck_assert_ptr_eq(r.route, &fake_table[c->row]);
        ck_assert_int_eq(router_index(r.route), c->row);
        if (c->param)
            ck_assert_str_eq(http_path_param(&r, "id"), c->param);
        else
            ck_assert_int_eq(r.nparams, 0);
    } else {
        ck_assert_ptr_null(r.route);
    }
    if (c->allow)
        ck_assert_str_eq(allow, c->allow);
}
END_TEST

START_TEST(test_router_match_allow_truncated)
{
    use_fake = 1;
    request r = mkreq("PATCH", "/things/42");
    char allow[10];
    ck_assert_int_eq(router_match(&r, allow, sizeof allow), ROUTER_BAD_METHOD);
    ck_assert_uint_lt(strlen(allow), sizeof allow);
    ck_assert_str_eq(allow, "GET, HEAD");
    /* No buffer at all is fine too. */
    request r2 = mkreq("PATCH", "/things/42");
    ck_assert_int_eq(router_match(&r2, NULL, 0), ROUTER_BAD_METHOD);
}
END_TEST

START_TEST(test_router_find_path)
{
    use_fake = 1;
    ck_assert_ptr_eq(router_find_path("/things"), &fake_table[0]);
    ck_assert_ptr_eq(router_find_path("/things/9"), &fake_table[3]);
    ck_assert_ptr_eq(router_find_path("/upload"), &fake_table[7]);
    ck_assert_int_eq(router_find_path("/upload")->max_body, 1024);
    ck_assert_ptr_null(router_find_path("/upload/"));
    ck_assert_ptr_null(router_find_path("/nothing"));
    /* find_path does not decode: a bad escape still names the route */
    ck_assert_ptr_eq(router_find_path("/things/%G1"), &fake_table[3]);
}
END_TEST

START_TEST(test_router_index_and_kind)
{
    use_fake = 1;
    size_t n;
    const struct route *t = routes_table(&n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(router_index(&t[i]), (int)i);
    ck_assert_int_eq(router_index(NULL), -1);
    struct route stray = fake_table[0];
    ck_assert_int_eq(router_index(&stray), -1);
    ck_assert_int_eq(router_index(t + n), -1);
    ck_assert_int_eq(router_is_api(&t[6]), 1);
    ck_assert_int_eq(router_is_api(&t[0]), 0);
    ck_assert_int_eq(router_is_api(NULL), 0);
}
END_TEST

/* ---- the real table: stable rows only ------------------------------------ */

static int real_index_of(const char *method, const char *pattern)
{
    size_t n;
    const struct route *t = routes_table_real(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].method, method) == 0 && strcmp(t[i].pattern, pattern) == 0)
            return (int)i;
    return -1;
}

START_TEST(test_real_table_stable_routes)
{
    size_t n;
    const struct route *t = routes_table(&n);
    ck_assert_ptr_eq(t, routes_table_real(&n));
    ck_assert_uint_ge(n, 3);

    static const char *const paths[] = {"/healthz", "/metrics", "/"};
    for (size_t i = 0; i < 3; i++) {
        int want = real_index_of("GET", paths[i]);
        ck_assert_msg(want >= 0, "no GET %s row", paths[i]);
        request r = mkreq("GET", paths[i]);
        char allow[128];
        ck_assert_int_eq(router_match(&r, allow, sizeof allow), ROUTER_FOUND);
        ck_assert_int_eq(router_index(r.route), want);
        ck_assert_ptr_nonnull(r.route->handler);
        ck_assert_int_eq(r.nparams, 0);

        request h = mkreq("HEAD", paths[i]);
        ck_assert_int_eq(router_match(&h, allow, sizeof allow), ROUTER_FOUND);
        ck_assert_ptr_eq(h.route, r.route);
    }
    /* load balancers probe /healthz without credentials */
    int hz = real_index_of("GET", "/healthz");
    ck_assert_int_eq(t[hz].min_role, ROLE_PUBLIC);
    ck_assert_int_eq(router_is_api(&t[hz]), 1);
    ck_assert_int_eq(router_is_api(&t[real_index_of("GET", "/")]), 0);
}
END_TEST

START_TEST(test_real_table_errors)
{
    char allow[128];
    request r = mkreq("DELETE", "/healthz");
    ck_assert_int_eq(router_match(&r, allow, sizeof allow), ROUTER_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD");
    ck_assert_ptr_null(r.route);

    request m = mkreq("POST", "/metrics");
    ck_assert_int_eq(router_match(&m, allow, sizeof allow), ROUTER_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD");

    static const char *const missing[] = {"/healthz/", "/metrics/", "//", "/healthz/x",
                                          "/no-such-page-at-all-xyz", "/HEALTHZ", ""};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        request x = mkreq("GET", missing[i]);
        ck_assert_msg(router_match(&x, allow, sizeof allow) == ROUTER_NOT_FOUND, "%s",
                      missing[i]);
        ck_assert_str_eq(allow, "");
        ck_assert_ptr_null(router_find_path(missing[i]));
    }
    ck_assert_ptr_nonnull(router_find_path("/healthz"));
    ck_assert_str_eq(router_find_path("/healthz")->pattern, "/healthz");
}
END_TEST

START_TEST(test_real_table_wellformed)
{
    /* Every row: a known method, a pattern starting with '/', a handler,
     * a role in range, a sane body limit, and no duplicate rows. */
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    size_t n;
    const struct route *t = routes_table_real(&n);
    for (size_t i = 0; i < n; i++) {
        int known = 0;
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++)
            known |= strcmp(t[i].method, methods[m]) == 0;
        ck_assert_msg(known, "row %zu: method %s", i, t[i].method);
        ck_assert_msg(t[i].pattern[0] == '/', "row %zu: %s", i, t[i].pattern);
        ck_assert_ptr_nonnull(t[i].handler);
        ck_assert_int_ge(t[i].min_role, ROLE_PUBLIC);
        ck_assert_int_le(t[i].min_role, ROLE_ADMIN);
        ck_assert_int_ge(t[i].max_body, 0);
        /* no two rows share method and pattern */
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(t[i].method, t[j].method) != 0 ||
                              strcmp(t[i].pattern, t[j].pattern) != 0,
                          "rows %zu and %zu: %s %s", j, i, t[i].method, t[i].pattern);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_match_pattern_table, 0,
                        (int)(sizeof pat_cases / sizeof pat_cases[0]));
    tcase_add_test(tc, test_match_pattern_max_params);
    tcase_add_loop_test(tc, test_router_match_table, 0,
                        (int)(sizeof match_cases / sizeof match_cases[0]));
    tcase_add_test(tc, test_router_match_allow_truncated);
    tcase_add_test(tc, test_router_find_path);
    tcase_add_test(tc, test_router_index_and_kind);
    tcase_add_test(tc, test_real_table_stable_routes);
    tcase_add_test(tc, test_real_table_errors);
    tcase_add_test(tc, test_real_table_wellformed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
