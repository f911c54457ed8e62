/* http.c - request accessors and response building over libfcgi.
 *
 * Everything a request owns lives in its arena. Responses are buffered in
 * r->out (capped at HTTP_MAX_RESPONSE) and sent by http_finish() with the
 * security headers every response carries; http_begin_stream() switches a
 * response to writing straight through. */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <fcgiapp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "router.h"

#define FCGI(r) ((FCGX_Request *)(r)->fcgi)

static const char *security_headers =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: same-origin\r\n"
    "X-Frame-Options: DENY\r\n";

const char *http_param(const request *r, const char *name)
{
    return r->fcgi ? FCGX_GetParam(name, FCGI(r)->envp) : NULL;
}

const char *http_header(const request *r, const char *name)
{
    char key[128];
    size_t n = 0;
    if (strcasecmp(name, "Content-Type") == 0)
        return http_param(r, "CONTENT_TYPE");
    if (strcasecmp(name, "Content-Length") == 0)
        return http_param(r, "CONTENT_LENGTH");
    n = (size_t)snprintf(key, sizeof key, "HTTP_");
    for (const char *p = name; *p && n + 1 < sizeof key; p++)
        key[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    key[n] = '\0';
    return http_param(r, key);
}

const char *http_path_param(const request *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->param_values[i];
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *http_decode(arena *a, const char *s, size_t n, int form)
{
    char *out = arena_alloc(a, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return NULL;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && form) {
            c = ' ';
        }
        /* Control characters are refused, except tab, CR and LF, which
         * text fields may legitimately carry. */
        if (c == 0 || c == 0x7f || (c < 0x20 && c != '\t' && c != '\r' && c != '\n'))
            return NULL;
        out[j++] = (char)c;
    }
    out[j] = '\0';
    return out;
}

int http_query_next(const char **p, http_qpair *q)
{
    const char *s = *p;
    if (!s || !*s)
        return 0;
    const char *amp = strchr(s, '&');
    size_t len = amp ? (size_t)(amp - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    q->name = s;
    q->name_len = eq ? (size_t)(eq - s) : len;
    q->value = eq ? eq + 1 : NULL;
    q->value_len = eq ? len - q->name_len - 1 : 0;
    *p = amp ? amp + 1 : NULL;
    return 1;
}

int http_query_find(const request *r, const char *name, http_qpair *q)
{
    const char *p = r->query;
    while (http_query_next(&p, q)) {
        char *key = http_decode(r->a, q->name, q->name_len, 1);
        if (key && strcmp(key, name) == 0)
            return 1;
    }
    return 0;
}

const char *http_query(const request *r, const char *name)
{
    http_qpair q;
    if (!http_query_find(r, name, &q))
        return NULL;
    return q.value ? http_decode(r->a, q.value, q.value_len, 1) : "";
}

sl_err http_read_body(request *r, size_t max, sl_errbuf *eb)
{
    if (r->body_read)
        return SL_OK;
    if (r->content_length < 0) {
        /* No Content-Length: a chunked body that nginx streams through.
         * Read to the end, refusing it once it passes max. */
        sbuf b;
        sb_init(&b, r->a, max);
        char tmp[16384];
        int n;
        while ((n = FCGX_GetStr(tmp, (int)sizeof tmp, FCGI(r)->in)) > 0)
            if (sb_append(&b, tmp, (size_t)n) != SL_OK)
                return sl_fail(eb, SL_ETOOBIG, "request body exceeds the limit of %zu bytes",
                               max);
        r->body = b.ptr ? b.ptr : arena_strdup(r->a, "");
        r->body_len = b.len;
        r->body_read = 1;
        return SL_OK;
    }
    if ((unsigned long long)r->content_length > max)
        return sl_fail(eb, SL_ETOOBIG, "request body of %lld bytes exceeds the limit of %zu",
                       r->content_length, max);
    size_t want = (size_t)r->content_length;
    char *buf = arena_alloc(r->a, want + 1);
    size_t got = 0;
    while (got < want) {
        int chunk = want - got > 65536 ? 65536 : (int)(want - got);
        int n = FCGX_GetStr(buf + got, chunk, FCGI(r)->in);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < want)
        return sl_fail(eb, SL_EINVAL, "request body ended after %zu of %zu bytes", got, want);
    /* Anything beyond CONTENT_LENGTH means the framing lies. */
    char extra;
    if (FCGX_GetStr(&extra, 1, FCGI(r)->in) > 0)
        return sl_fail(eb, SL_ETOOBIG, "request body is longer than its Content-Length");
    buf[want] = '\0';
    r->body = buf;
    r->body_len = want;
    r->body_read = 1;
    return SL_OK;
}

long http_body_read(request *r, void *buf, size_t n, sl_errbuf *eb)
{
    if (r->body_read) {
        sl_fail(eb, SL_EINVAL, "the request body was read already");
        return -1;
    }
    if (r->body_eof || n == 0)
        return 0;
    if (!r->fcgi) {
        sl_fail(eb, SL_EIO, "no request stream");
        return -1;
    }
    long long limit = r->route && r->route->max_body ? r->route->max_body
                      : r->cfg                        ? r->cfg->web_max_body
                                                      : 0;
    long long want = n > (1u << 20) ? (1 << 20) : (long long)n;
    if (r->content_length >= 0 && want > r->content_length - r->body_streamed)
        want = r->content_length - r->body_streamed;
    /* One byte past the limit is enough to know it was passed. */
    if (limit > 0 && want > limit - r->body_streamed + 1)
        want = limit - r->body_streamed + 1;
    if (want <= 0) {
        r->body_eof = 1;
        return 0;
    }
    FCGX_Stream *in = FCGI(r)->in;
    int got = FCGX_GetStr(buf, (int)want, in);
    if (got > 0) {
        r->body_streamed += got;
        if (limit > 0 && r->body_streamed > limit) {
            sl_fail(eb, SL_ETOOBIG, "the request body is larger than %lld bytes", limit);
            return -1;
        }
        return got;
    }
    if (FCGX_GetError(in) != 0) {
        sl_fail(eb, SL_EIO, "the connection was lost after %lld bytes of the body",
                r->body_streamed);
        return -1;
    }
    if (r->content_length >= 0 && r->body_streamed < r->content_length) {
        sl_fail(eb, SL_EIO, "the request body ended after %lld of %lld bytes", r->body_streamed,
                r->content_length);
        return -1;
    }
    r->body_eof = 1;
    return 0;
}

static int header_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 0;
    return 1;
}

void http_set_status(request *r, int status)
{
    r->status = status;
    r->responded = 1;
}

void http_add_header(request *r, const char *name, const char *value)
{
    if (!header_safe(name) || !header_safe(value) || !*name) {
        log_error("dropped unsafe response header '%s'", name);
        return;
    }
    if (r->streaming) {
        log_error("header '%s' added after the response started", name);
        return;
    }
    if (sb_printf(&r->headers, "%s: %s\r\n", name, value) != SL_OK)
        log_error("response headers too large; dropped '%s'", name);
}

static void out_write(request *r, const void *p, size_t n)
{
    if (r->io_error || n == 0)
        return;
    if (FCGX_PutStr(p, (int)n, FCGI(r)->out) < 0)
        r->io_error = 1;
}

void http_write(request *r, const void *p, size_t n)
{
    r->responded = 1;
    if (r->streaming) {
        if (strcmp(r->method, "HEAD") != 0)
            out_write(r, p, n);
        return;
    }
    if (sb_append(&r->out, p, n) != SL_OK) {
        log_error("response body exceeds %d bytes", HTTP_MAX_RESPONSE);
        r->status = 500;
    }
}

void http_puts(request *r, const char *s)
{
    http_write(r, s, strlen(s));
}

void http_printf(request *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(r->a, fmt, ap);
    va_end(ap);
    http_puts(r, s);
}

void http_send(request *r, int status, const char *content_type, const char *body, size_t n)
{
    http_set_status(r, status);
    sb_clear(&r->out);
    http_add_header(r, "Content-Type", content_type);
    http_write(r, body, n);
}

void http_send_json(request *r, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s) {
        http_send(r, 500, "text/plain; charset=utf-8", "internal error\n", 15);
        return;
    }
    http_send(r, status, "application/json", s, strlen(s));
    http_write(r, "\n", 1);
    free(s);
}

void http_problem(request *r, int status, const char *detail, json_t *errors)
{
    json_t *p = json_object();
    json_object_set_new(p, "type", json_string("about:blank"));
    json_object_set_new(p, "title", json_string(http_reason(status)));
    json_object_set_new(p, "status", json_integer(status));
    if (detail)
        json_object_set_new(p, "detail", json_string(detail));
    if (errors)
        json_object_set_new(p, "errors", errors);
    if (r->request_id)
        json_object_set_new(p, "request_id", json_string(r->request_id));
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    http_send(r, status, "application/problem+json", s ? s : "{}", s ? strlen(s) : 2);
    free(s);
}

/* No control characters: browsers drop tab, CR and LF anywhere in a URL,
 * so "/\t/evil.example" would be followed as "//evil.example". */
static int url_clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

void http_redirect(request *r, int status, const char *location)
{
    http_set_status(r, status ? status : 303);
    sb_clear(&r->out);
    /* Only local paths: never an open redirect. */
    if (!location || location[0] != '/' || location[1] == '/' || location[1] == '\\' ||
        !url_clean(location))
        location = "/";
    http_add_header(r, "Location", location);
}

int http_wants_json(const request *r)
{
    if (r->route && router_is_api(r->route))
        return 1;
    if (strncmp(r->path, "/api/", 5) == 0)
        return 1;
    const char *accept = http_header(r, "Accept");
    return accept && strstr(accept, "json") && !strstr(accept, "text/html");
}

/* The page-side error renderer is replaceable so templates can take over
 * once they are loaded; this default is plain, escaped-free HTML. */
void (*http_error_page_hook)(request *r, int status, const char *detail);

void http_error(request *r, int status, const char *detail)
{
    if (http_wants_json(r)) {
        http_problem(r, status, detail, NULL);
        return;
    }
    if (http_error_page_hook) {
        http_error_page_hook(r, status, detail);
        return;
    }
    char *body = arena_printf(r->a,
                              "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                              "<title>%d %s - sluice</title></head><body><h1>%d %s</h1>"
                              "<p><a href=\"/\">Back to sluice</a></p></body></html>\n",
                              status, http_reason(status), status, http_reason(status));
    http_send(r, status, "text/html; charset=utf-8", body, strlen(body));
}

static int has_header(const request *r, const char *name)
{
    size_t n = strlen(name);
    const char *p = sb_str(&r->headers);
    while (*p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            return 1;
        p = strstr(p, "\r\n");
        if (!p)
            break;
        p += 2;
    }
    return 0;
}

static void send_head(request *r, int with_length)
{
    char line[128];
    int n = snprintf(line, sizeof line, "Status: %d %s\r\n", r->status, http_reason(r->status));
    out_write(r, line, (size_t)n);
    out_write(r, security_headers, strlen(security_headers));
    if (!has_header(r, "Cache-Control"))
        out_write(r, "Cache-Control: no-store\r\n", 25);
    if (!has_header(r, "Content-Type") && r->status != 204 && r->status != 304 &&
        (r->out.len || r->streaming))
        out_write(r, "Content-Type: text/plain; charset=utf-8\r\n", 41);
    out_write(r, r->headers.ptr, r->headers.len);
    if (with_length) {
        n = snprintf(line, sizeof line, "Content-Length: %zu\r\n", r->out.len);
        out_write(r, line, (size_t)n);
    }
    out_write(r, "\r\n", 2);
}

void http_begin_stream(request *r)
{
    if (r->streaming)
        return;
    if (!r->status)
        r->status = 200;
    r->responded = 1;
    r->streaming = 1; /* before send_head: a stream always declares a type */
    send_head(r, 0);
}

void http_finish(request *r)
{
    if (r->streaming) {
        FCGX_FFlush(FCGI(r)->out);
        return;
    }
    if (!r->status)
        r->status = 200;
    send_head(r, 1);
    if (strcmp(r->method, "HEAD") != 0)
        out_write(r, r->out.ptr, r->out.len);
    FCGX_FFlush(FCGI(r)->out);
}

int http_status_for(sl_err e)
{
    switch (e) {
    case SL_OK: return 200;
    case SL_EINVAL: return 422;
    case SL_ETOOBIG: return 413;
    case SL_ENOTFOUND: return 404;
    case SL_EPARSE: return 400;
    case SL_EIO: return 500;
    case SL_EDB: return 500;
    case SL_EDBDOWN: return 503;
    case SL_ECONFIG: return 500;
    case SL_EAUTH: return 401;
    case SL_EFORBIDDEN: return 403;
    case SL_ECONFLICT: return 409;
    case SL_ETIMEOUT: return 504;
    case SL_ECRYPTO: return 500;
    case SL_EUNSUPPORTED: return 422;
    case SL_ECHANGED: return 412;
    case SL_EINTERNAL: return 500;
    case SL_ERR_COUNT_: break;
    }
    return 500;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

sl_err http_request_init(request *r, arena *a, void *fcgi, sl_errbuf *eb)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    r->fcgi = fcgi;
    r->content_length = -1;
    sb_init(&r->headers, a, HTTP_MAX_HEADERS_BYTES);
    sb_init(&r->out, a, HTTP_MAX_RESPONSE);

    const char *v = http_param(r, "REQUEST_METHOD");
    r->method = v && *v ? v : "GET";
    v = http_param(r, "REQUEST_URI");
    r->uri = v && *v ? v : "/";
    const char *q = strchr(r->uri, '?');
    r->path = q ? arena_strndup(a, r->uri, (size_t)(q - r->uri)) : r->uri;
    r->query = q ? q + 1 : "";
    v = http_param(r, "REMOTE_ADDR");
    r->remote_addr = v ? v : "";
    v = http_param(r, "CONTENT_TYPE");
    r->content_type = v ? v : "";
    v = http_param(r, "HTTPS");
    r->https = v && (strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);

    v = http_param(r, "REQUEST_ID");
    if (v && *v && strlen(v) <= 64 && header_safe(v))
        r->request_id = v;
    else
        r->request_id = arena_printf(a, "%08x%08x", (unsigned)random(), (unsigned)random());

    if (r->path[0] != '/')
        return sl_fail(eb, SL_EPARSE, "request path must start with '/'");
    for (const char *p = r->uri; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return sl_fail(eb, SL_EPARSE, "request URI has a control character");

    v = http_param(r, "CONTENT_LENGTH");
    if (v && *v) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || *end || n < 0)
            return sl_fail(eb, SL_EPARSE, "bad Content-Length");
        r->content_length = n;
    }
    return SL_OK;
}
