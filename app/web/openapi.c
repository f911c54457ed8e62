/* openapi.c - GET /api/v1/openapi.json: the OpenAPI 3.1 document of the
 * JSON API, served from <share_dir>/static/openapi.json.
 *
 * Each worker reads and checks the file once, on the first request that
 * asks, and keeps it for its lifetime (the worker owns the buffer; it is
 * never freed). A missing file is a 404 problem and an unreadable or
 * invalid one a 500; neither is cached, so the next request tries again.
 * tests/unit/check_openapi.c keeps the document in step with routes.c. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"

#define OPENAPI_PATH "static/openapi.json" /* under share_dir */
#define OPENAPI_MAX (4 * 1024 * 1024)      /* bytes */

static char *doc;      /* the document, NUL-terminated; NULL until read */
static size_t doc_len;

/* Read path into a new xmalloc'd buffer (*out, *len). SL_ENOTFOUND when
 * there is no such file, SL_ETOOBIG past OPENAPI_MAX, SL_EIO on a read
 * error, SL_EPARSE when it is not a JSON object. */
static sl_err load(const char *path, char **out, size_t *len, sl_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sl_fail(eb, errno == ENOENT ? SL_ENOTFOUND : SL_EIO, "%s: %s", path,
                       strerror(errno));
    char *buf = xmalloc(OPENAPI_MAX + 1);
    size_t n = fread(buf, 1, OPENAPI_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    sl_err e = SL_OK;
    if (bad)
        e = sl_fail(eb, SL_EIO, "%s: read error", path);
    else if (n > OPENAPI_MAX)
        e = sl_fail(eb, SL_ETOOBIG, "%s: larger than %d bytes", path, OPENAPI_MAX);
    if (e) {
        free(buf);
        return e;
    }
    buf[n] = '\0';
    json_error_t je;
    json_t *v = json_loadb(buf, n, 0, &je);
    int object = json_is_object(v);
    json_decref(v);
    if (!object) {
        free(buf);
        return sl_fail(eb, SL_EPARSE, "%s: not a JSON object (line %d: %s)", path, je.line,
                       v ? "the top level must be an object" : je.text);
    }
    *out = buf;
    *len = n;
    return SL_OK;
}

void h_api_openapi(request *r)
{
    if (!doc) {
        sl_errbuf eb = {0};
        const char *path = arena_printf(r->a, "%s/" OPENAPI_PATH, r->cfg->share_dir);
        sl_err e = load(path, &doc, &doc_len, &eb);
        if (e == SL_ENOTFOUND) {
            log_warn("openapi: %s", eb.msg);
            http_problem(r, 404, "the OpenAPI document is not installed", NULL);
            return;
        }
        if (e) {
            log_error("openapi: %s", eb.msg);
            http_problem(r, 500, "the OpenAPI document cannot be read", NULL);
            return;
        }
    }
    http_add_header(r, "Cache-Control", "public, max-age=300");
    http_send(r, 200, "application/json", doc, doc_len);
}
