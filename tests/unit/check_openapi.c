/* check_openapi.c - static/openapi.json against the routes table.
 *
 * Fails when an API route of routes_table() (method + pattern) is missing
 * from `paths`, when the document describes an operation no route serves
 * (stale), when a `{param}` of a path is not declared as a required path
 * parameter (or a declared one is not in the path), when a "$ref" does not
 * resolve, or when an operation's security and x-sluice-role disagree with
 * the route's minimum role. Each problem is printed on its own line.
 *
 * The checks are plain functions over (document, table) that return the
 * number of problems, so they are also run against a small made-up
 * document and table to show that each one catches what it should. The
 * document is read from SLUICE_OPENAPI_FILE or static/openapi.json (the
 * tests run from the repository root).
 *
 * app/web/openapi.c is #included to reset its per-worker cache between
 * steps; this object then defines h_api_openapi, so the linker never pulls
 * openapi.o out of libsluice-web.a. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>
#include <unistd.h>

#include "../../app/web/openapi.c"
#include "log.h"
#include "web/router.h"

static const char *const http_methods[] = {"get", "put", "post", "delete", "patch",
                                           "options", "head", "trace", NULL};
static const char *const role_names[] = {"public", "viewer", "editor", "admin"};

static int quiet; /* the made-up cases expect problems: do not print them */

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("openapi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int is_method(const char *key)
{
    for (int i = 0; http_methods[i]; i++)
        if (strcmp(key, http_methods[i]) == 0)
            return 1;
    return 0;
}

static void lower(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
    dst[i] = '\0';
}

/* The operation for route rt in spec, or NULL. */
static json_t *operation(const json_t *spec, const struct route *rt)
{
    char m[16];
    lower(m, sizeof m, rt->method);
    return json_object_get(json_object_get(json_object_get(spec, "paths"), rt->pattern), m);
}

/* --- JSON pointers and $ref ------------------------------------------------------------ */

/* The value at a local reference "#/a/b~1c", or NULL. */
static json_t *resolve(const json_t *spec, const char *ref)
{
    if (strncmp(ref, "#", 1) != 0)
        return NULL;
    const char *p = ref + 1;
    json_t *cur = (json_t *)spec;
    if (!*p)
        return cur;
    if (*p != '/')
        return NULL;
    while (cur && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        char tok[256];
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < sizeof tok; i++) {
            if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
                tok[k++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[k++] = p[i];
            }
        }
        tok[k] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            long idx = strtol(tok, &end, 10);
            cur = *tok && !*end && idx >= 0 ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            cur = NULL;
        }
        p += n;
    }
    return cur;
}

/* v itself, or what its "$ref" points at (NULL when that does not resolve). */
static json_t *deref(const json_t *spec, json_t *v)
{
    const char *r = json_string_value(json_object_get(v, "$ref"));
    return r ? resolve(spec, r) : v;
}

static int walk_refs(const json_t *spec, const json_t *v, const char *where)
{
    int bad = 0;
    char sub[512];
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child) {
            if (strcmp(key, "$ref") == 0) {
                const char *r = json_string_value(child);
                if (!r || !resolve(spec, r)) {
                    problem("$ref %s (at %s) does not resolve", r ? r : "(not a string)",
                            where);
                    bad++;
                }
                continue;
            }
            snprintf(sub, sizeof sub, "%s/%s", where, key);
            bad += walk_refs(spec, child, sub);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            snprintf(sub, sizeof sub, "%s/%zu", where, i);
            bad += walk_refs(spec, child, sub);
        }
    }
    return bad;
}

/* Every "$ref" in spec resolves to a value of spec (no remote references). */
static int check_refs(const json_t *spec)
{
    return walk_refs(spec, spec, "#");
}

/* --- routes against paths ------------------------------------------------------------- */

/* Every API route of the table has an operation. */
static int check_documented(const json_t *spec, const struct route *t, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind != ROUTE_API || operation(spec, &t[i]))
            continue;
        problem("%s %s (routes.c) is missing from static/openapi.json", t[i].method,
                t[i].pattern);
        bad++;
    }
    return bad;
}

/* Every operation of the document is an API route of the table. */
static int check_stale(const json_t *spec, const struct route *t, size_t n)
{
    int bad = 0;
    const char *path, *key;
    json_t *item, *v;
    json_object_foreach(json_object_get(spec, "paths"), path, item) {
        json_object_foreach(item, key, v) {
            if (!is_method(key))
                continue;
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = t[i].kind == ROUTE_API && strcasecmp(t[i].method, key) == 0 &&
                        strcmp(t[i].pattern, path) == 0;
            if (!found) {
                problem("%s %s is documented but no API route serves it%s", key, path,
                        strcmp(key, "head") == 0 ? " (HEAD is implied by GET)" : "");
                bad++;
            }
        }
    }
    return bad;
}

/* Path parameters: pname of path has a required in:path parameter, and
 * every in:path parameter (path item or operation level) is in the path. */
static int check_params_of(const json_t *spec, const char *path, const char *method,
                           const json_t *item, const json_t *op)
{
    int bad = 0;
    const json_t *lists[] = {json_object_get(item, "parameters"),
                             json_object_get(op, "parameters")};
    /* Names in the pattern. */
    char names[8][64];
    int nnames = 0;
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        size_t len = strcspn(p + 1, "}");
        if (p[1 + len] != '}' || len == 0 || len >= sizeof names[0] || nnames == 8) {
            problem("%s: malformed path template", path);
            return bad + 1;
        }
        memcpy(names[nnames], p + 1, len);
        names[nnames++][len] = '\0';
    }
    int declared[8] = {0};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *pv;
        json_array_foreach(lists[l], i, pv) {
            json_t *prm = deref(spec, pv);
            const char *in = json_string_value(json_object_get(prm, "in"));
            const char *name = json_string_value(json_object_get(prm, "name"));
            if (!prm || !in || !name) {
                problem("%s %s: parameter %zu is not a parameter object", method, path, i);
                bad++;
                continue;
            }
            if (strcmp(in, "path") != 0)
                continue;
            int k = 0;
            while (k < nnames && strcmp(names[k], name) != 0)
                k++;
            if (k == nnames) {
                problem("%s %s: path parameter {%s} is not in the path", method, path, name);
                bad++;
            } else {
                declared[k] = 1;
                if (!json_is_true(json_object_get(prm, "required"))) {
                    problem("%s %s: path parameter {%s} must be required", method, path,
                            name);
                    bad++;
                }
            }
        }
    }
    for (int k = 0; k < nnames; k++) {
        if (!declared[k]) {
            problem("%s %s: {%s} is not declared as a path parameter", method, path,
                    names[k]);
            bad++;
        }
    }
    return bad;
}

static int check_path_params(const json_t *spec)
{
    int bad = 0;
    const char *path, *key;
    json_t *item, *op;
    json_object_foreach(json_object_get(spec, "paths"), path, item) {
        json_object_foreach(item, key, op) {
            if (is_method(key))
                bad += check_params_of(spec, path, key, item, op);
        }
    }
    return bad;
}

/* Security and x-sluice-role agree with the route: public routes need no
 * credentials, others accept a bearer token or the session cookie, and
 * writes made with the cookie need the CSRF token. */
static int check_roles(const json_t *spec, const struct route *t, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *op = t[i].kind == ROUTE_API ? operation(spec, &t[i]) : NULL;
        if (!op)
            continue;
        const char *want = t[i].min_role >= 0 && t[i].min_role <= ROLE_ADMIN
                               ? role_names[t[i].min_role] : "?";
        const char *got = json_string_value(json_object_get(op, "x-sluice-role"));
        if (!got || strcmp(got, want) != 0) {
            problem("%s %s: x-sluice-role is %s, routes.c says %s", t[i].method, t[i].pattern,
                    got ? got : "missing", want);
            bad++;
        }
        json_t *sec = json_object_get(op, "security");
        if (!json_is_array(sec)) {
            problem("%s %s: no security list", t[i].method, t[i].pattern);
            bad++;
            continue;
        }
        if (t[i].min_role == ROLE_PUBLIC) {
            if (json_array_size(sec) != 0) {
                problem("%s %s: a public route must have security: []", t[i].method,
                        t[i].pattern);
                bad++;
            }
            continue;
        }
        int bearer = 0, cookie = 0, csrf_ok = 1;
        int write = strcmp(t[i].method, "GET") != 0;
        size_t k;
        json_t *req;
        json_array_foreach(sec, k, req) {
            if (json_object_get(req, "bearerAuth"))
                bearer = 1;
            if (json_object_get(req, "cookieAuth")) {
                cookie = 1;
                if (write && !json_object_get(req, "csrfToken"))
                    csrf_ok = 0;
            }
        }
        if (!bearer || !cookie || !csrf_ok) {
            problem("%s %s: security must allow bearerAuth or cookieAuth%s", t[i].method,
                    t[i].pattern, write ? " (with csrfToken)" : "");
            bad++;
        }
    }
    return bad;
}

/* --- loading -------------------------------------------------------------------------- */

static json_t *spec;

static json_t *load_doc(void)
{
    const char *path = getenv("SLUICE_OPENAPI_FILE");
    if (!path || !*path)
        path = "static/openapi.json";
    json_error_t je;
    json_t *d = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!d)
        fprintf(stderr, "openapi: %s: line %d: %s\n", path, je.line, je.text);
    return d;
}

static void setup(void)
{
    spec = load_doc();
}

static void teardown(void)
{
    json_decref(spec);
    spec = NULL;
}

/* --- the real document ------------------------------------------------------------------ */

START_TEST(test_loads_as_openapi_31)
{
    ck_assert_msg(spec != NULL, "static/openapi.json must load as JSON (no duplicate keys)");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "openapi")), "3.1.0");
    json_t *info = json_object_get(spec, "info");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(info, "title")));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(info, "version")));
    ck_assert(json_object_size(json_object_get(spec, "paths")) > 0);
}
END_TEST

START_TEST(test_every_api_route_documented)
{
    ck_assert_ptr_nonnull(spec);
    size_t n;
    const struct route *t = routes_table(&n);
    size_t api = 0;
    for (size_t i = 0; i < n; i++)
        api += t[i].kind == ROUTE_API;
    ck_assert_uint_gt(api, 30);
    int missing = check_documented(spec, t, n);
    ck_assert_msg(missing == 0, "%d API route(s) of routes.c missing from static/openapi.json "
                                "(listed above)", missing);
}
END_TEST

START_TEST(test_no_stale_operations)
{
    ck_assert_ptr_nonnull(spec);
    size_t n;
    const struct route *t = routes_table(&n);
    int stale = check_stale(spec, t, n);
    ck_assert_msg(stale == 0, "%d documented operation(s) have no route (listed above)", stale);
}
END_TEST

START_TEST(test_path_params_declared)
{
    ck_assert_ptr_nonnull(spec);
    int bad = check_path_params(spec);
    ck_assert_msg(bad == 0, "%d path parameter problem(s) (listed above)", bad);
}
END_TEST

START_TEST(test_refs_resolve)
{
    ck_assert_ptr_nonnull(spec);
    int bad = check_refs(spec);
    ck_assert_msg(bad == 0, "%d $ref(s) do not resolve (listed above)", bad);
}
END_TEST

START_TEST(test_roles_and_security_match_routes)
{
    ck_assert_ptr_nonnull(spec);
    size_t n;
    const struct route *t = routes_table(&n);
    int bad = check_roles(spec, t, n);
    ck_assert_msg(bad == 0, "%d role/security mismatch(es) (listed above)", bad);
    json_t *schemes = json_object_get(json_object_get(spec, "components"), "securitySchemes");
    json_t *bearer = json_object_get(schemes, "bearerAuth");
    ck_assert_str_eq(json_string_value(json_object_get(bearer, "type")), "http");
    ck_assert_str_eq(json_string_value(json_object_get(bearer, "scheme")), "bearer");
    json_t *cookie = json_object_get(schemes, "cookieAuth");
    ck_assert_str_eq(json_string_value(json_object_get(cookie, "in")), "cookie");
    ck_assert_str_eq(json_string_value(json_object_get(cookie, "name")), "sluice_session");
    json_t *csrf = json_object_get(schemes, "csrfToken");
    ck_assert_str_eq(json_string_value(json_object_get(csrf, "in")), "header");
    ck_assert_str_eq(json_string_value(json_object_get(csrf, "name")), "X-CSRF-Token");
}
END_TEST

/* Every operation: a summary, a unique operationId, a 2xx response, and
 * error responses that are problem documents. */
START_TEST(test_operations_complete)
{
    ck_assert_ptr_nonnull(spec);
    json_t *ids = json_object();
    const char *path, *key, *code;
    json_t *item, *op, *resp;
    int bad = 0, ops = 0;
    json_object_foreach(json_object_get(spec, "paths"), path, item) {
        json_object_foreach(item, key, op) {
            if (!is_method(key))
                continue;
            ops++;
            const char *id = json_string_value(json_object_get(op, "operationId"));
            const char *sum = json_string_value(json_object_get(op, "summary"));
            if (!id || json_object_get(ids, id)) {
                problem("%s %s: operationId missing or repeated", key, path);
                bad++;
            } else {
                json_object_set_new(ids, id, json_true());
            }
            if (!sum || !*sum) {
                problem("%s %s: no summary", key, path);
                bad++;
            }
            int ok = 0;
            json_object_foreach(json_object_get(op, "responses"), code, resp) {
                if (code[0] == '2')
                    ok = 1;
                if (code[0] != '4' && !(code[0] == '5' && strcmp(path, "/healthz") != 0))
                    continue;
                json_t *r = deref(spec, resp);
                json_t *ct = json_object_get(json_object_get(r, "content"),
                                             "application/problem+json");
                if (!ct) {
                    problem("%s %s: %s is not application/problem+json", key, path, code);
                    bad++;
                }
            }
            if (!ok) {
                problem("%s %s: no 2xx response", key, path);
                bad++;
            }
        }
    }
    json_decref(ids);
    ck_assert_int_gt(ops, 30);
    ck_assert_msg(bad == 0, "%d incomplete operation(s) (listed above)", bad);
}
END_TEST

/* The shared Problem schema and the rules for secrets. */
START_TEST(test_problem_schema_and_secrets)
{
    ck_assert_ptr_nonnull(spec);
    json_t *schemas = json_object_get(json_object_get(spec, "components"), "schemas");
    json_t *props = json_object_get(json_object_get(schemas, "Problem"), "properties");
    static const char *const fields[] = {"type", "title", "status", "detail", "errors"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ck_assert_msg(json_object_get(props, fields[i]), "Problem has no %s", fields[i]);
    static const char *const inputs[] = {"SourceCreate", "SourcePatch", "DestinationCreate",
                                         "DestinationPatch"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        json_t *pw = json_object_get(
            json_object_get(json_object_get(schemas, inputs[i]), "properties"), "password");
        ck_assert_msg(json_is_true(json_object_get(pw, "writeOnly")),
                      "%s.password must be writeOnly", inputs[i]);
    }
    static const char *const outputs[] = {"Source", "Destination", "User", "Token"};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        json_t *p = json_object_get(json_object_get(schemas, outputs[i]), "properties");
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(!json_object_get(p, "password") && !json_object_get(p, "password_hash") &&
                          !json_object_get(p, "token"),
                      "%s must not carry a secret", outputs[i]);
    }
    /* The schemas the brief names exist. */
    static const char *const named[] = {"User", "Token", "AuditEntry", "Source", "Destination",
                                        "Pipeline", "PipelineTable", "PipelineVersion",
                                        "Problem"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        ck_assert_msg(json_object_get(schemas, named[i]), "no schema %s", named[i]);
}
END_TEST


/* --- the handler ------------------------------------------------------------------------ */

static arena *HA;
static sl_config hcfg;

/* Run h_api_openapi with share_dir dir on a fresh request; *body gets the
 * body, and the status is returned. */
static int serve(request *r, const char *dir, const char **body)
{
    snprintf(hcfg.share_dir, sizeof hcfg.share_dir, "%s", dir);
    arena_reset(HA);
    memset(r, 0, sizeof *r);
    ck_assert_int_eq(http_request_init(r, HA, NULL, NULL), SL_OK);
    r->cfg = &hcfg;
    h_api_openapi(r);
    *body = sb_str(&r->out);
    return r->status;
}

static int has_header(request *r, const char *line)
{
    return strstr(sb_str(&r->headers), line) != NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_handler_reads_once)
{
    log_init("test", LOG_ERROR + 1);
    HA = arena_new(0);
    char dir[] = "/tmp/check_openapi.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sdir[64], file[96];
    snprintf(sdir, sizeof sdir, "%s/static", dir);
    snprintf(file, sizeof file, "%s/openapi.json", sdir);
    request r;
    const char *body;

    /* Missing: 404 problem, and nothing is cached. */
    ck_assert_int_eq(serve(&r, dir, &body), 404);
    ck_assert(has_header(&r, "Content-Type: application/problem+json\r\n"));
    ck_assert_ptr_nonnull(strstr(body, "not installed"));
    ck_assert_ptr_null(doc);

    /* Not JSON, or not an object: 500, not cached. */
    ck_assert_int_eq(mkdir(sdir, 0700), 0);
    write_file(file, "{\"openapi\": ");
    ck_assert_int_eq(serve(&r, dir, &body), 500);
    ck_assert(has_header(&r, "Content-Type: application/problem+json\r\n"));
    write_file(file, "[]");
    ck_assert_int_eq(serve(&r, dir, &body), 500);
    ck_assert_ptr_null(doc);

    /* Present: served as it is, then from memory. */
    write_file(file, "{\"openapi\": \"3.1.0\", \"x\": 1}\n");
    ck_assert_int_eq(serve(&r, dir, &body), 200);
    ck_assert(has_header(&r, "Content-Type: application/json\r\n"));
    ck_assert_str_eq(body, "{\"openapi\": \"3.1.0\", \"x\": 1}\n");
    write_file(file, "{\"openapi\": \"changed\"}");
    ck_assert_int_eq(serve(&r, dir, &body), 200);
    ck_assert_str_eq(body, "{\"openapi\": \"3.1.0\", \"x\": 1}\n");
    ck_assert_int_eq(unlink(file), 0);
    ck_assert_int_eq(serve(&r, dir, &body), 200);
    ck_assert_uint_eq(r.out.len, 29);

    /* The repository's own document, whole. */
    free(doc);
    doc = NULL;
    ck_assert_int_eq(serve(&r, ".", &body), 200);
    FILE *f = fopen("static/openapi.json", "rb");
    ck_assert_ptr_nonnull(f);
    static char want[OPENAPI_MAX + 1];
    size_t n = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[n] = '\0';
    ck_assert_uint_eq(r.out.len, n);
    ck_assert_int_eq(memcmp(body, want, n), 0);

    ck_assert_int_eq(rmdir(sdir), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    arena_free(HA);
}
END_TEST

/* --- the checks catch what they should ------------------------------------------------ */

static void h_x(request *r)
{
    (void)r;
}

static const struct route fake[] = {
    {"GET", "/api/v1/things", h_x, ROLE_VIEWER, ROUTE_API, 0},
    {"POST", "/api/v1/things", h_x, ROLE_EDITOR, ROUTE_API, 0},
    {"GET", "/api/v1/things/{id}/parts/{n}", h_x, ROLE_VIEWER, ROUTE_API, 0},
    {"DELETE", "/api/v1/things/{id}", h_x, ROLE_ADMIN, ROUTE_API, 0},
    {"GET", "/api/v1/open", h_x, ROLE_PUBLIC, ROUTE_API, 0},
    {"GET", "/things", h_x, ROLE_VIEWER, ROUTE_PAGE, 0},
};
#define NFAKE (sizeof fake / sizeof fake[0])

static const char fake_doc[] =
    "{\"openapi\": \"3.1.0\", \"paths\": {"
    " \"/api/v1/things\": {"
    "  \"get\": {\"x-sluice-role\": \"viewer\","
    "   \"security\": [{\"bearerAuth\": []}, {\"cookieAuth\": []}],"
    "   \"responses\": {\"200\": {\"$ref\": \"#/components/responses/Ok\"}}},"
    "  \"head\": {\"responses\": {}}},"                       /* stale: HEAD is implied */
    " \"/api/v1/things/{id}/parts/{n}\": {"
    "  \"parameters\": [{\"$ref\": \"#/components/parameters/Id\"}],"
    "  \"get\": {\"x-sluice-role\": \"editor\","                /* role mismatch */
    "   \"security\": [{\"bearerAuth\": []}, {\"cookieAuth\": []}],"
    "   \"parameters\": [{\"name\": \"m\", \"in\": \"path\", \"required\": true}],"
    "   \"responses\": {\"200\": {\"$ref\": \"#/components/responses/Ok\"}}}},"
    " \"/api/v1/things/{id}\": {"
    "  \"delete\": {\"x-sluice-role\": \"admin\","
    "   \"security\": [{\"bearerAuth\": []}, {\"cookieAuth\": []}]," /* no csrfToken */
    "   \"parameters\": [{\"name\": \"id\", \"in\": \"path\"}],"      /* not required */
    "   \"responses\": {\"204\": {\"description\": \"x\"}}}},"
    " \"/api/v1/open\": {"
    "  \"get\": {\"x-sluice-role\": \"public\", \"security\": [{\"bearerAuth\": []}],"
    "   \"responses\": {\"200\": {\"$ref\": \"#/components/responses/a~1b\"}}}},"
    " \"/api/v1/old\": {\"get\": {\"responses\": {}}}},"      /* stale */
    " \"components\": {\"responses\": {\"Ok\": {\"description\": \"ok\"},"
    "  \"a/b\": {\"description\": \"escaped\"}},"
    "  \"parameters\": {\"Id\": {\"name\": \"id\", \"in\": \"path\", \"required\": true}},"
    "  \"schemas\": {\"X\": {\"$ref\": \"#/components/schemas/Y\"},"  /* dangling */
    "   \"Z\": {\"items\": [{\"$ref\": \"other.json#/x\"}]}}}}";     /* remote */

static json_t *fake_json(void)
{
    json_error_t je;
    json_t *d = json_loads(fake_doc, 0, &je);
    ck_assert_msg(d != NULL, "fake spec: line %d: %s", je.line, je.text);
    return d;
}

START_TEST(test_catches_missing_routes)
{
    json_t *d = fake_json();
    quiet = 1;
    /* POST /api/v1/things is missing; the page route does not count. */
    ck_assert_int_eq(check_documented(d, fake, NFAKE), 1);
    json_object_set_new(json_object_get(json_object_get(d, "paths"), "/api/v1/things"),
                        "post", json_object());
    ck_assert_int_eq(check_documented(d, fake, NFAKE), 0);
    quiet = 0;
    json_decref(d);
}
END_TEST

START_TEST(test_catches_stale_operations)
{
    json_t *d = fake_json();
    quiet = 1;
    /* head on /api/v1/things and GET /api/v1/old. */
    ck_assert_int_eq(check_stale(d, fake, NFAKE), 2);
    /* A page route does not make an operation legitimate. */
    json_object_set_new(json_object_get(d, "paths"), "/things",
                        json_pack("{s:{}}", "get"));
    ck_assert_int_eq(check_stale(d, fake, NFAKE), 3);
    quiet = 0;
    json_decref(d);
}
END_TEST

START_TEST(test_catches_path_params)
{
    json_t *d = fake_json();
    quiet = 1;
    /* parts/{n}: {m} is not in the path and {n} is undeclared ({id} comes from
     * the path item through a $ref); things/{id}: declared but not required. */
    ck_assert_int_eq(check_path_params(d), 3);
    quiet = 0;
    json_decref(d);
}
END_TEST

START_TEST(test_catches_bad_refs)
{
    json_t *d = fake_json();
    quiet = 1;
    /* Y does not exist and remote references are not allowed; "a~1b" is
     * the escaped "a/b" and resolves. */
    ck_assert_int_eq(check_refs(d), 2);
    ck_assert_ptr_nonnull(resolve(d, "#/components/responses/a~1b"));
    ck_assert_ptr_nonnull(resolve(d, "#/components/schemas/Z/items/0"));
    ck_assert_ptr_null(resolve(d, "#/components/schemas/Z/items/1"));
    ck_assert_ptr_null(resolve(d, "#/components/schemas/Z/items/x"));
    ck_assert_ptr_eq(resolve(d, "#"), d);
    ck_assert_ptr_null(resolve(d, "components/schemas"));
    quiet = 0;
    json_decref(d);
}
END_TEST

START_TEST(test_catches_role_mismatch)
{
    json_t *d = fake_json();
    quiet = 1;
    /* parts/{n}: editor vs viewer; DELETE with a cookie but no CSRF token;
     * the public route asks for a bearer token. POST is undocumented here
     * (check_documented's business), so it is skipped. */
    ck_assert_int_eq(check_roles(d, fake, NFAKE), 3);
    quiet = 0;
    json_decref(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("openapi");
    TCase *tc = tcase_create("document");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_loads_as_openapi_31);
    tcase_add_test(tc, test_every_api_route_documented);
    tcase_add_test(tc, test_no_stale_operations);
    tcase_add_test(tc, test_path_params_declared);
    tcase_add_test(tc, test_refs_resolve);
    tcase_add_test(tc, test_roles_and_security_match_routes);
    tcase_add_test(tc, test_operations_complete);
    tcase_add_test(tc, test_problem_schema_and_secrets);
    suite_add_tcase(s, tc);

    TCase *neg = tcase_create("checks");
    tcase_add_test(neg, test_catches_missing_routes);
    tcase_add_test(neg, test_catches_stale_operations);
    tcase_add_test(neg, test_catches_path_params);
    tcase_add_test(neg, test_catches_bad_refs);
    tcase_add_test(neg, test_catches_role_mismatch);
    suite_add_tcase(s, neg);

    TCase *h = tcase_create("handler");
    tcase_add_test(h, test_handler_reads_once);
    suite_add_tcase(s, h);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
