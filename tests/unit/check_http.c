/* check_http.c - unit tests for app/web/http.c (decoding, query, request
 * set-up, body reading, response building and sending).
 *
 * A fake FCGX_Request carries the FastCGI parameters in envp; its in and out
 * streams are real FCGX_Stream structs (the struct is public in fcgiapp.h)
 * whose fill/empty callbacks read from and write to memory, so the real
 * FCGX_GetStr / FCGX_PutStr / FCGX_FFlush run underneath. */
#include <check.h>
#include <fcgiapp.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "web/http.h"
#include "log.h"
#include "web/router.h"

/* ---- memory streams ------------------------------------------------------ */

struct memin {
    const char *data;
    size_t len, pos;
    size_t chunk;   /* bytes handed over per fill; 0: everything at once */
    unsigned char buf[4096];
};

static void in_fill(FCGX_Stream *s)
{
    struct memin *m = s->data;
    if (m->pos >= m->len) {
        s->isClosed = 1; /* end of the body */
        return;
    }
    size_t n = m->len - m->pos;
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    if (n > sizeof m->buf)
        n = sizeof m->buf;
    memcpy(m->buf, m->data + m->pos, n);
    m->pos += n;
    s->rdNext = s->stopUnget = m->buf;
    s->stop = s->wrNext = m->buf + n;
}

struct memout {
    sbuf sb;             /* everything flushed so far */
    unsigned char buf[16];
    int fail;            /* act as if the client went away */
    int flushes;
};

static void out_empty(FCGX_Stream *s, int do_close)
{
    struct memout *m = s->data;
    m->flushes++;
    if (m->fail) {
        s->isClosed = 1;
        s->FCGI_errno = -1;
        return;
    }
    ck_assert_int_eq(sb_append(&m->sb, m->buf, (size_t)(s->wrNext - m->buf)), SL_OK);
    s->wrNext = m->buf;
}

/* ---- the fake request -------------------------------------------------- */

typedef struct {
    FCGX_Request fr;
    FCGX_Stream in, out;
    struct memin mi;
    struct memout mo;
    char *env[32];
    request r;
    sl_errbuf eb;
    sl_err init_err;
} fake;

static arena *A;
static fake *F;

static void setup(void)
{
    A = arena_new(0);
    F = arena_calloc(A, 1, sizeof *F);
    log_init("test", LOG_ERROR + 1); /* quiet: dropped headers log errors */
}

static void teardown(void)
{
    arena_free(A);
    A = NULL;
    F = NULL;
}

/* Build the request from "NAME=value" strings (NULL-terminated) and a body;
 * returns http_request_init's answer. */
static sl_err fake_init(const char *body, size_t body_len, ...)
{
    va_list ap;
    va_start(ap, body_len);
    int n = 0;
    for (const char *e; (e = va_arg(ap, const char *)) != NULL;) {
        ck_assert_int_lt(n, 31);
        F->env[n++] = arena_strdup(A, e);
    }
    va_end(ap);
    F->env[n] = NULL;

    F->mi.data = body ? body : "";
    F->mi.len = body ? body_len : 0;
    F->in.isReader = 1;
    F->in.fillBuffProc = in_fill;
    F->in.data = &F->mi;
    F->in.rdNext = F->in.stop = F->in.stopUnget = F->in.wrNext = F->mi.buf;

    sb_init(&F->mo.sb, A, 1 << 20);
    F->out.isReader = 0;
    F->out.emptyBuffProc = out_empty;
    F->out.data = &F->mo;
    F->out.wrNext = F->mo.buf;
    F->out.stop = F->out.rdNext = F->mo.buf + sizeof F->mo.buf;

    F->fr.envp = F->env;
    F->fr.in = &F->in;
    F->fr.out = &F->out;
    F->fr.err = NULL;
    F->init_err = http_request_init(&F->r, A, &F->fr, &F->eb);
    return F->init_err;
}

#define INIT(...) fake_init(NULL, 0, __VA_ARGS__, (const char *)NULL)

/* What the client received. */
static const char *sent(void)
{
    return sb_str(&F->mo.sb);
}

/* Body part of what was sent (after the blank line), or NULL. */
static const char *sent_body(void)
{
    const char *p = strstr(sent(), "\r\n\r\n");
    return p ? p + 4 : NULL;
}

/* 1 if the sent head (before the blank line) contains line exactly. */
static int head_has_line(const char *line)
{
    const char *s = sent(), *end = strstr(s, "\r\n\r\n");
    size_t n = strlen(line);
    if (!end)
        return 0;
    for (const char *p = s; p < end;) {
        const char *eol = strstr(p, "\r\n");
        if ((size_t)(eol - p) == n && memcmp(p, line, n) == 0)
            return 1;
        p = eol + 2;
    }
    return 0;
}

/* 1 if some line of the sent head starts with prefix (case-sensitive). */
static int head_has_prefix(const char *prefix)
{
    const char *s = sent(), *end = strstr(s, "\r\n\r\n");
    size_t n = strlen(prefix);
    if (!end)
        return 0;
    for (const char *p = s; p < end; p = strstr(p, "\r\n") + 2)
        if (strncmp(p, prefix, n) == 0)
            return 1;
    return 0;
}

/* ---- http_decode --------------------------------------------------------- */

struct dec_case {
    const char *in;
    int form;
    const char *want; /* NULL: refused */
};

static const struct dec_case dec_cases[] = {
    {"", 0, ""},
    {"plain", 0, "plain"},
    {"%41", 0, "A"},
    {"%41%42C", 1, "ABC"},
    {"%4a%4A", 0, "JJ"},
    {"%7e%7E", 0, "~~"},
    {"%20", 0, " "},
    {"%25", 0, "%"},
    {"%2541", 0, "%41"}, /* decoded once only */
    {"a+b", 1, "a b"},
    {"a+b", 0, "a+b"},
    {"++", 1, "  "},
    {"%2B", 1, "+"},
    {"%2b", 0, "+"},
    {"%C3%A9", 0, "\xc3\xa9"},
    {"%FF%80", 0, "\xff\x80"}, /* bytes, not validated as UTF-8 */
    {"caf\xc3\xa9", 1, "caf\xc3\xa9"},
    /* tab, CR and LF are allowed, raw or escaped */
    {"%09", 0, "\t"},
    {"%0D%0A", 1, "\r\n"},
    {"%0a", 0, "\n"},
    {"a\tb", 0, "a\tb"},
    {"a\r\nb", 1, "a\r\nb"},
    /* bad escapes */
    {"%G1", 0, NULL},
    {"%1G", 1, NULL},
    {"%4", 0, NULL},
    {"%", 0, NULL},
    {"%%", 0, NULL},
    {"%%41", 0, NULL},
    {"abc%", 1, NULL},
    {"abc%4", 1, NULL},
    {"%-1", 0, NULL},
    {"% 1", 0, NULL},
    {"%+1", 1, NULL},
    {"%\xff\xff", 0, NULL},
    /* NUL and control characters, escaped or raw */
    {"%00", 0, NULL},
    {"a%00b", 1, NULL},
    {"%01", 0, NULL},
    {"%08", 0, NULL},
    {"%0b", 0, NULL},
    {"%0C", 0, NULL},
    {"%1b", 0, NULL},
    {"%1F", 1, NULL},
    {"%7f", 0, NULL},
    {"%7F", 1, NULL},
    {"a\x01", 0, NULL},
    {"\x1b[31m", 1, NULL},
    {"\x7f", 0, NULL},
};

START_TEST(test_decode_table)
{
    const struct dec_case *c = &dec_cases[_i];
    char *got = http_decode(A, c->in, strlen(c->in), c->form);
    if (!c->want) {
        ck_assert_msg(got == NULL, "'%s' (form %d) decoded to '%s'", c->in, c->form, got);
        return;
    }
    ck_assert_msg(got != NULL, "'%s' (form %d) refused", c->in, c->form);
    ck_assert_str_eq(got, c->want);
    ck_assert_uint_le(strlen(got), strlen(c->in));
}
END_TEST

START_TEST(test_decode_length_bounds)
{
    /* Only n bytes are read: an escape cut by n is bad, not completed. */
    ck_assert_str_eq(http_decode(A, "abcdef", 3, 0), "abc");
    ck_assert_str_eq(http_decode(A, "%41%42", 3, 0), "A");
    ck_assert_ptr_null(http_decode(A, "%41", 2, 0));
    ck_assert_ptr_null(http_decode(A, "%41", 1, 0));
    ck_assert_str_eq(http_decode(A, "%41", 0, 0), "");
    /* An embedded NUL within n is refused. */
    ck_assert_ptr_null(http_decode(A, "a\0b", 3, 0));
    /* A long input */
    size_t n = 30000;
    char *big = arena_alloc(A, n);
    for (size_t i = 0; i < n; i += 3)
        memcpy(big + i, "%7A", 3);
    char *out = http_decode(A, big, n, 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(strlen(out), n / 3);
    ck_assert_int_eq(out[0], 'z');
    ck_assert_int_eq(out[n / 3 - 1], 'z');
}
END_TEST

START_TEST(test_decode_every_escape)
{
    /* Each %XX in both cases: refused exactly for NUL, C0 controls other
     * than tab/CR/LF, and DEL. */
    for (int c = 0; c < 256; c++) {
        char in[4];
        for (int upper = 0; upper < 2; upper++) {
            snprintf(in, sizeof in, upper ? "%%%02X" : "%%%02x", c);
            char *got = http_decode(A, in, 3, upper);
            int refused = c == 0 || c == 0x7f || (c < 0x20 && c != '\t' && c != '\r' && c != '\n');
            if (refused) {
                ck_assert_msg(got == NULL, "%s accepted", in);
            } else {
                ck_assert_msg(got != NULL, "%s refused", in);
                ck_assert_int_eq((unsigned char)got[0], c);
                ck_assert_int_eq(got[1], '\0');
            }
        }
    }
}
END_TEST

/* ---- http_query -------------------------------------------------------- */

static request query_req(const char *q)
{
    request r;
    memset(&r, 0, sizeof r);
    r.a = A;
    r.query = q;
    r.path = "/";
    r.method = "GET";
    return r;
}

struct query_case {
    const char *query;
    const char *name;
    const char *want; /* NULL: absent */
};

static const struct query_case query_cases[] = {
    {"", "a", NULL},
    {"a=1", "a", "1"},
    {"a=1&b=2", "b", "2"},
    {"a=1&b=2", "c", NULL},
    {"a=1&a=2", "a", "1"},          /* first occurrence */
    {"b=0&a=1&a=2", "a", "1"},
    {"a=", "a", ""},                /* empty value */
    {"a", "a", ""},                 /* key without '=' */
    {"x&a&y=1", "a", ""},
    {"a=1=2", "a", "1=2"},          /* only the first '=' splits */
    {"ab=1", "a", NULL},            /* whole-key match only */
    {"a=1", "ab", NULL},
    {"A=1", "a", NULL},             /* case-sensitive */
    {"q=hello+world", "q", "hello world"},
    {"q=a%2Bb%26c%3Dd", "q", "a+b&c=d"},
    {"q=%C3%A9", "q", "\xc3\xa9"},
    {"my%20key=v", "my key", "v"}, /* encoded keys */
    {"my+key=v", "my key", "v"},
    {"%61=1", "a", "1"},
    {"a%3Db=1", "a=b", "1"},
    {"a%26b=1", "a&b", "1"},
    {"&&a=1&&", "a", "1"},          /* empty pieces are skipped */
    {"=x&a=1", "a", "1"},
    {"=x", "", "x"},
    {"%G1=1&a=2", "a", "2"},        /* a bad key does not stop the scan */
    {"a=%G1", "a", NULL},           /* a bad value reads as absent */
    {"a=%00", "a", NULL},
    {"a=x%0Ay", "a", "x\ny"},
    {"a=%25", "a", "%"},
    {"next=%2Fpipelines%3Fpage%3D2", "next", "/pipelines?page=2"},
};

START_TEST(test_query_table)
{
    const struct query_case *c = &query_cases[_i];
    request r = query_req(c->query);
    const char *got = http_query(&r, c->name);
    if (!c->want) {
        ck_assert_msg(got == NULL, "%s [%s] gave '%s'", c->query, c->name, got);
        return;
    }
    ck_assert_msg(got != NULL, "%s [%s] missing", c->query, c->name);
    ck_assert_str_eq(got, c->want);
}
END_TEST

START_TEST(test_query_null)
{
    request r = query_req(NULL);
    ck_assert_ptr_null(http_query(&r, "a"));
}
END_TEST

/* ---- status mapping ---------------------------------------------------- */

START_TEST(test_status_for_every_error)
{
    static const int want[SL_ERR_COUNT_] = {
        [SL_OK] = 200,         [SL_EINVAL] = 422,    [SL_ETOOBIG] = 413,
        [SL_ENOTFOUND] = 404,  [SL_EPARSE] = 400,    [SL_EIO] = 500,
        [SL_EDB] = 500,        [SL_EDBDOWN] = 503,   [SL_ECONFIG] = 500,
        [SL_EAUTH] = 401,      [SL_EFORBIDDEN] = 403, [SL_ECONFLICT] = 409,
        [SL_ETIMEOUT] = 504,   [SL_ECRYPTO] = 500,   [SL_EUNSUPPORTED] = 422,
        [SL_ECHANGED] = 412,   [SL_EINTERNAL] = 500,
    };
    for (int e = 0; e < SL_ERR_COUNT_; e++) {
        ck_assert_msg(want[e] != 0, "test table lacks code %d (%s)", e, sl_strerror(e));
        ck_assert_msg(http_status_for((sl_err)e) == want[e], "%s -> %d", sl_strerror(e),
                      http_status_for((sl_err)e));
        /* every mapped status has a reason phrase */
        ck_assert_str_ne(http_reason(http_status_for((sl_err)e)), "Unknown");
    }
    ck_assert_int_eq(http_status_for(SL_ERR_COUNT_), 500);
    ck_assert_int_eq(http_status_for((sl_err)999), 500);
}
END_TEST

START_TEST(test_reason_phrases)
{
    static const struct {
        int status;
        const char *reason;
    } cases[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {0, "Unknown"},
        {-1, "Unknown"},
        {299, "Unknown"},
        {418, "Unknown"},
        {999, "Unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(http_reason(cases[i].status), cases[i].reason);
}
END_TEST

/* ---- http_request_init ------------------------------------------------- */

START_TEST(test_init_fields)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=POST", "REQUEST_URI=/a/b%20c?x=1&y=2",
                          "REMOTE_ADDR=192.0.2.7", "CONTENT_TYPE=application/json",
                          "CONTENT_LENGTH=12", "HTTPS=on", "REQUEST_ID=abc123"),
                     SL_OK);
    request *r = &F->r;
    ck_assert_ptr_eq(r->a, A);
    ck_assert_ptr_eq(r->fcgi, &F->fr);
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->uri, "/a/b%20c?x=1&y=2");
    ck_assert_str_eq(r->path, "/a/b%20c");
    ck_assert_str_eq(r->query, "x=1&y=2");
    ck_assert_str_eq(r->remote_addr, "192.0.2.7");
    ck_assert_str_eq(r->content_type, "application/json");
    ck_assert_int_eq(r->content_length, 12);
    ck_assert_int_eq(r->https, 1);
    ck_assert_str_eq(r->request_id, "abc123");
    ck_assert_int_eq(r->status, 0);
    ck_assert_int_eq(r->responded, 0);
    ck_assert_int_eq(r->nparams, 0);
    ck_assert_ptr_null(r->route);
    ck_assert_str_eq(http_query(r, "y"), "2");
    ck_assert_str_eq(http_param(r, "REMOTE_ADDR"), "192.0.2.7");
    ck_assert_ptr_null(http_param(r, "REMOTE"));
    ck_assert_ptr_null(http_param(r, "NOPE"));
}
END_TEST

START_TEST(test_init_defaults)
{
    ck_assert_int_eq(INIT("SERVER_NAME=x"), SL_OK);
    request *r = &F->r;
    ck_assert_str_eq(r->method, "GET");
    ck_assert_str_eq(r->uri, "/");
    ck_assert_str_eq(r->path, "/");
    ck_assert_str_eq(r->query, "");
    ck_assert_str_eq(r->remote_addr, "");
    ck_assert_str_eq(r->content_type, "");
    ck_assert_int_eq(r->content_length, -1);
    ck_assert_int_eq(r->https, 0);
    /* a generated request id: 16 hex digits */
    ck_assert_uint_eq(strlen(r->request_id), 16);
    ck_assert_uint_eq(strspn(r->request_id, "0123456789abcdef"), 16);
}
END_TEST

START_TEST(test_init_empty_values)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=", "REQUEST_URI=", "CONTENT_LENGTH=", "REQUEST_ID="),
                     SL_OK);
    ck_assert_str_eq(F->r.method, "GET");
    ck_assert_str_eq(F->r.path, "/");
    ck_assert_int_eq(F->r.content_length, -1);
    ck_assert_uint_eq(strlen(F->r.request_id), 16);
}
END_TEST

START_TEST(test_init_query_split)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/p?"), SL_OK);
    ck_assert_str_eq(F->r.path, "/p");
    ck_assert_str_eq(F->r.query, "");
    teardown();
    setup();
    ck_assert_int_eq(INIT("REQUEST_URI=/p?a=1?b=2"), SL_OK);
    ck_assert_str_eq(F->r.path, "/p");
    ck_assert_str_eq(F->r.query, "a=1?b=2");
}
END_TEST

START_TEST(test_init_https_values)
{
    static const struct {
        const char *env;
        int want;
    } cases[] = {{"HTTPS=on", 1}, {"HTTPS=ON", 1}, {"HTTPS=1", 1}, {"HTTPS=off", 0},
                 {"HTTPS=", 0},   {"HTTPS=0", 0},  {"HTTPS=yes", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(INIT(cases[i].env), SL_OK);
        ck_assert_msg(F->r.https == cases[i].want, "%s", cases[i].env);
    }
}
END_TEST

START_TEST(test_init_request_id_checked)
{
    char long_id[80] = "REQUEST_ID=";
    memset(long_id + 11, 'a', 65);
    long_id[76] = '\0';
    ck_assert_int_eq(INIT(long_id), SL_OK);
    ck_assert_uint_eq(strlen(F->r.request_id), 16); /* 65 chars: replaced */

    long_id[75] = '\0'; /* 64 chars: kept */
    ck_assert_int_eq(INIT(long_id), SL_OK);
    ck_assert_uint_eq(strlen(F->r.request_id), 64);

    ck_assert_int_eq(INIT("REQUEST_ID=ab\r\nX-Evil: 1"), SL_OK);
    ck_assert_uint_eq(strlen(F->r.request_id), 16);
    ck_assert_ptr_null(strchr(F->r.request_id, '\n'));
}
END_TEST

struct cl_case {
    const char *env;
    sl_err want;
    long long len;
};

static const struct cl_case cl_cases[] = {
    {"CONTENT_LENGTH=0", SL_OK, 0},
    {"CONTENT_LENGTH=12", SL_OK, 12},
    {"CONTENT_LENGTH=9223372036854775807", SL_OK, 9223372036854775807LL},
    {"CONTENT_LENGTH=", SL_OK, -1},
    {"SERVER_NAME=x", SL_OK, -1},
    {"CONTENT_LENGTH=-1", SL_EPARSE, 0},
    {"CONTENT_LENGTH=abc", SL_EPARSE, 0},
    {"CONTENT_LENGTH=12x", SL_EPARSE, 0},
    {"CONTENT_LENGTH=12 ", SL_EPARSE, 0},
    {"CONTENT_LENGTH=1.5", SL_EPARSE, 0},
    {"CONTENT_LENGTH=0x10", SL_EPARSE, 0},
    {"CONTENT_LENGTH=9223372036854775808", SL_EPARSE, 0},
    {"CONTENT_LENGTH=99999999999999999999999", SL_EPARSE, 0},
};

START_TEST(test_init_content_length)
{
    const struct cl_case *c = &cl_cases[_i];
    sl_err e = INIT("REQUEST_URI=/", c->env);
    ck_assert_msg(e == c->want, "%s: %s", c->env, sl_strerror(e));
    if (e == SL_OK) {
        ck_assert_int_eq(F->r.content_length, c->len);
    } else {
        ck_assert_int_eq(F->eb.code, SL_EPARSE);
        ck_assert_str_eq(F->eb.msg, "bad Content-Length");
    }
}
END_TEST

START_TEST(test_init_bad_uri)
{
    static const char *const bad[] = {
        "REQUEST_URI=/a\x01", "REQUEST_URI=/a\tb",     "REQUEST_URI=/a\r\nb",
        "REQUEST_URI=/\x1b", "REQUEST_URI=/a\x7f",     "REQUEST_URI=/ok?q=\x02",
        "REQUEST_URI=a/b",   "REQUEST_URI=http://x/y", "REQUEST_URI=?a=1",
        "REQUEST_URI=*",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_err e = INIT(bad[i]);
        ck_assert_msg(e == SL_EPARSE, "%s: %s", bad[i], sl_strerror(e));
        ck_assert_int_eq(F->eb.code, SL_EPARSE);
        /* the request is still usable for an error response */
        ck_assert_ptr_nonnull(F->r.method);
        ck_assert_ptr_nonnull(F->r.path);
        ck_assert_ptr_nonnull(F->r.request_id);
    }
    /* bytes above 0x7f are not control characters */
    ck_assert_int_eq(INIT("REQUEST_URI=/caf\xc3\xa9"), SL_OK);
    ck_assert_str_eq(F->r.path, "/caf\xc3\xa9");
}
END_TEST

START_TEST(test_header_mapping)
{
    ck_assert_int_eq(INIT("CONTENT_TYPE=text/csv", "HTTP_CONTENT_TYPE=wrong/one",
                          "CONTENT_LENGTH=3", "HTTP_CONTENT_LENGTH=999",
                          "HTTP_X_FORWARDED_FOR=198.51.100.1", "HTTP_ACCEPT=application/json",
                          "HTTP_IF_MATCH=\"v1\"", "HTTP_X_Y=z"),
                     SL_OK);
    request *r = &F->r;
    ck_assert_str_eq(http_header(r, "Content-Type"), "text/csv");
    ck_assert_str_eq(http_header(r, "content-type"), "text/csv");
    ck_assert_str_eq(http_header(r, "CONTENT-TYPE"), "text/csv");
    ck_assert_str_eq(http_header(r, "Content-Length"), "3");
    ck_assert_str_eq(http_header(r, "X-Forwarded-For"), "198.51.100.1");
    ck_assert_str_eq(http_header(r, "x-forwarded-for"), "198.51.100.1");
    ck_assert_str_eq(http_header(r, "Accept"), "application/json");
    ck_assert_str_eq(http_header(r, "If-Match"), "\"v1\"");
    ck_assert_str_eq(http_header(r, "X-Y"), "z");
    ck_assert_str_eq(http_header(r, "x_y"), "z");
    ck_assert_ptr_null(http_header(r, "Cookie"));
    ck_assert_ptr_null(http_header(r, "X"));
    ck_assert_ptr_null(http_header(r, ""));
    /* an absurdly long name is truncated, not overflowed */
    char name[400];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ck_assert_ptr_null(http_header(r, name));
}
END_TEST

START_TEST(test_no_fcgi)
{
    request r;
    memset(&r, 0, sizeof r);
    ck_assert_ptr_null(http_param(&r, "REQUEST_URI"));
    ck_assert_ptr_null(http_header(&r, "Accept"));
    ck_assert_int_eq(http_request_init(&r, A, NULL, NULL), SL_OK);
    ck_assert_str_eq(r.method, "GET");
    ck_assert_str_eq(r.path, "/");
}
END_TEST

/* ---- http_read_body -------------------------------------------------------- */

static sl_err read_body_with(const char *cl, const char *body, size_t len, size_t chunk,
                             size_t max)
{
    char env[64];
    snprintf(env, sizeof env, "CONTENT_LENGTH=%s", cl);
    ck_assert_int_eq(fake_init(body, len, "REQUEST_METHOD=POST", "REQUEST_URI=/u", env,
                               (const char *)NULL),
                     SL_OK);
    F->mi.chunk = chunk;
    return http_read_body(&F->r, max, &F->eb);
}

START_TEST(test_body_none)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=GET"), SL_OK);
    ck_assert_int_eq(http_read_body(&F->r, 10, &F->eb), SL_OK);
    ck_assert_str_eq(F->r.body, "");
    ck_assert_uint_eq(F->r.body_len, 0);
    ck_assert_int_eq(F->r.body_read, 1);
}
END_TEST

START_TEST(test_body_exact)
{
    ck_assert_int_eq(read_body_with("5", "hello", 5, 0, 100), SL_OK);
    ck_assert_str_eq(F->r.body, "hello");
    ck_assert_uint_eq(F->r.body_len, 5);
    /* idempotent: a second read returns the same body */
    char *first = F->r.body;
    ck_assert_int_eq(http_read_body(&F->r, 1, &F->eb), SL_OK);
    ck_assert_ptr_eq(F->r.body, first);
}
END_TEST

START_TEST(test_body_zero_length)
{
    ck_assert_int_eq(read_body_with("0", "", 0, 0, 100), SL_OK);
    ck_assert_str_eq(F->r.body, "");
    ck_assert_uint_eq(F->r.body_len, 0);
}
END_TEST

START_TEST(test_body_at_limit_in_pieces)
{
    /* 100000 bytes in 7-byte pieces, exactly at the limit; binary safe. */
    size_t n = 100000;
    char *b = arena_alloc(A, n);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)(i * 31 % 256);
    ck_assert_int_eq(read_body_with("100000", b, n, 7, n), SL_OK);
    ck_assert_uint_eq(F->r.body_len, n);
    ck_assert_int_eq(memcmp(F->r.body, b, n), 0);
    ck_assert_int_eq(F->r.body[n], '\0');
}
END_TEST

START_TEST(test_body_too_big_announced)
{
    ck_assert_int_eq(read_body_with("11", "hello world", 11, 0, 10), SL_ETOOBIG);
    ck_assert_int_eq(F->eb.code, SL_ETOOBIG);
    ck_assert_int_eq(F->r.body_read, 0);
    /* nothing was read from the client */
    ck_assert_uint_eq(F->mi.pos, 0);
}
END_TEST

START_TEST(test_body_short)
{
    ck_assert_int_eq(read_body_with("10", "hello", 5, 2, 100), SL_EINVAL);
    ck_assert_int_eq(F->eb.code, SL_EINVAL);
    ck_assert_str_eq(F->eb.msg, "request body ended after 5 of 10 bytes");
    ck_assert_int_eq(F->r.body_read, 0);
}
END_TEST

START_TEST(test_body_longer_than_announced)
{
    ck_assert_int_eq(read_body_with("5", "hello world", 11, 0, 100), SL_ETOOBIG);
    ck_assert_int_eq(F->eb.code, SL_ETOOBIG);
    ck_assert_int_eq(F->r.body_read, 0);
}
END_TEST

/* ---- response building ----------------------------------------------------- */

START_TEST(test_send_and_headers)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    request *r = &F->r;
    http_add_header(r, "X-One", "1");
    http_send(r, 201, "text/csv", "a,b\n", 4);
    ck_assert_int_eq(r->status, 201);
    ck_assert_int_eq(r->responded, 1);
    ck_assert_str_eq(sb_str(&r->headers), "X-One: 1\r\nContent-Type: text/csv\r\n");
    ck_assert_str_eq(sb_str(&r->out), "a,b\n");
    /* http_send replaces an earlier body */
    http_puts(r, "more");
    http_send(r, 200, "text/plain", "x", 1);
    ck_assert_str_eq(sb_str(&r->out), "x");
    ck_assert_int_eq(r->status, 200);
}
END_TEST

START_TEST(test_unsafe_headers_dropped)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    request *r = &F->r;
    http_add_header(r, "X-Ok", "fine");
    http_add_header(r, "X-Bad", "a\r\nSet-Cookie: evil=1");
    http_add_header(r, "X-Bad2", "a\nb");
    http_add_header(r, "X-Bad3", "a\rb");
    http_add_header(r, "X-Evil\r\nSet-Cookie", "1");
    http_add_header(r, "", "empty name");
    ck_assert_str_eq(sb_str(&r->headers), "X-Ok: fine\r\n");
}
END_TEST

START_TEST(test_headers_capped)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    request *r = &F->r;
    char v[1024];
    memset(v, 'v', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    for (int i = 0; i < 40; i++)
        http_add_header(r, "X-Big", v);
    ck_assert_uint_le(r->headers.len, HTTP_MAX_HEADERS_BYTES);
    ck_assert_uint_gt(r->headers.len, HTTP_MAX_HEADERS_BYTES - 1100);
    /* whole lines only */
    ck_assert_int_eq(r->headers.len % (strlen("X-Big: ") + sizeof v - 1 + 2), 0);
}
END_TEST

START_TEST(test_write_printf)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    request *r = &F->r;
    http_write(r, "ab", 2);
    http_puts(r, "cd");
    http_printf(r, "-%d-%s", 42, "x");
    http_write(r, "\0z", 2);
    ck_assert_uint_eq(r->out.len, 11);
    ck_assert_int_eq(memcmp(r->out.ptr, "abcd-42-x\0z", 11), 0);
    ck_assert_int_eq(r->responded, 1);
    ck_assert_int_eq(r->status, 0);
}
END_TEST

START_TEST(test_send_json)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    request *r = &F->r;
    http_send_json(r, 200, json_pack("{s:i, s:s}", "a", 1, "b", "x"));
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(sb_str(&r->headers), "Content-Type: application/json\r\n");
    ck_assert_str_eq(sb_str(&r->out), "{\"a\":1,\"b\":\"x\"}\n");
}
END_TEST

START_TEST(test_problem)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/api/v1/x", "REQUEST_ID=rid-1"), SL_OK);
    request *r = &F->r;
    http_problem(r, 422, "bad input", json_pack("{s:s}", "name", "is required"));
    ck_assert_int_eq(r->status, 422);
    ck_assert_str_eq(sb_str(&r->headers), "Content-Type: application/problem+json\r\n");
    json_error_t je;
    json_t *p = json_loads(sb_str(&r->out), 0, &je);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "about:blank");
    ck_assert_str_eq(json_string_value(json_object_get(p, "title")), "Unprocessable Content");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 422);
    ck_assert_str_eq(json_string_value(json_object_get(p, "detail")), "bad input");
    ck_assert_str_eq(json_string_value(json_object_get(p, "request_id")), "rid-1");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "errors"), "name")),
                     "is required");
    json_decref(p);

    /* no detail, no errors */
    http_problem(r, 404, NULL, NULL);
    p = json_loads(sb_str(&r->out), 0, &je);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(json_object_get(p, "detail"));
    ck_assert_ptr_null(json_object_get(p, "errors"));
    ck_assert_str_eq(json_string_value(json_object_get(p, "title")), "Not Found");
    json_decref(p);
}
END_TEST

struct redir_case {
    const char *location;
    const char *want;
};

static const struct redir_case redir_cases[] = {
    {"/pipelines", "/pipelines"},
    {"/a?b=c#d", "/a?b=c#d"},
    {"/", "/"},
    {NULL, "/"},
    {"", "/"},
    {"pipelines", "/"},
    {"//evil.example/x", "/"},
    {"/\\evil.example", "/"},
    {"http://evil.example/", "/"},
    {"https:/evil.example", "/"},
    {"javascript:alert(1)", "/"},
    {" /x", "/"},
    /* browsers strip tab, CR and LF anywhere in a URL: "/\t/x" is "//x" */
    {"/\t/evil.example", "/"},
    {"/\n/evil.example", "/"},
    {"/\r\\evil.example", "/"},
    {"/ok\tthen", "/"},
};

START_TEST(test_redirect)
{
    const struct redir_case *c = &redir_cases[_i];
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    request *r = &F->r;
    http_puts(r, "stale body");
    http_redirect(r, 0, c->location);
    ck_assert_int_eq(r->status, 303);
    ck_assert_uint_eq(r->out.len, 0);
    char *want = arena_printf(A, "Location: %s\r\n", c->want);
    ck_assert_msg(strcmp(sb_str(&r->headers), want) == 0, "'%s' gave headers '%s'",
                  c->location ? c->location : "(null)", sb_str(&r->headers));
}
END_TEST

START_TEST(test_redirect_status)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    http_redirect(&F->r, 302, "/x");
    ck_assert_int_eq(F->r.status, 302);
    ck_assert_str_eq(sb_str(&F->r.headers), "Location: /x\r\n");
}
END_TEST

START_TEST(test_wants_json)
{
    static const struct route api = {"GET", "/api/v1/x", NULL, ROLE_PUBLIC, ROUTE_API, 0};
    static const struct route page = {"GET", "/x", NULL, ROLE_PUBLIC, ROUTE_PAGE, 0};
    ck_assert_int_eq(INIT("REQUEST_URI=/x"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 0);
    F->r.route = &page;
    ck_assert_int_eq(http_wants_json(&F->r), 0);
    F->r.route = &api;
    ck_assert_int_eq(http_wants_json(&F->r), 1);

    ck_assert_int_eq(INIT("REQUEST_URI=/api/v1/nothing"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 1);
    ck_assert_int_eq(INIT("REQUEST_URI=/api"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 0);
    ck_assert_int_eq(INIT("REQUEST_URI=/x", "HTTP_ACCEPT=application/json"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 1);
    ck_assert_int_eq(INIT("REQUEST_URI=/x", "HTTP_ACCEPT=application/problem+json"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 1);
    ck_assert_int_eq(INIT("REQUEST_URI=/x", "HTTP_ACCEPT=text/html,application/json"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 0);
    ck_assert_int_eq(INIT("REQUEST_URI=/x", "HTTP_ACCEPT=*/*"), SL_OK);
    ck_assert_int_eq(http_wants_json(&F->r), 0);
}
END_TEST

START_TEST(test_error_page_and_problem)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/nowhere"), SL_OK);
    http_error(&F->r, 404, "no such page");
    ck_assert_int_eq(F->r.status, 404);
    ck_assert_str_eq(sb_str(&F->r.headers), "Content-Type: text/html; charset=utf-8\r\n");
    ck_assert_ptr_nonnull(strstr(sb_str(&F->r.out), "<title>404 Not Found - sluice</title>"));
    ck_assert_ptr_nonnull(strstr(sb_str(&F->r.out), "<h1>404 Not Found</h1>"));
    /* the detail is not echoed into the HTML */
    ck_assert_ptr_null(strstr(sb_str(&F->r.out), "no such page"));

    ck_assert_int_eq(INIT("REQUEST_URI=/api/v1/nowhere"), SL_OK);
    http_error(&F->r, 404, "no such thing");
    ck_assert_int_eq(F->r.status, 404);
    ck_assert_str_eq(sb_str(&F->r.headers), "Content-Type: application/problem+json\r\n");
    ck_assert_ptr_nonnull(strstr(sb_str(&F->r.out), "\"detail\":\"no such thing\""));
}
END_TEST

/* ---- sending: http_finish and streaming ------------------------------------ */

START_TEST(test_finish_get)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=GET", "REQUEST_URI=/"), SL_OK);
    http_send(&F->r, 200, "text/html; charset=utf-8", "<p>hi</p>", 9);
    http_finish(&F->r);
    const char *s = sent();
    ck_assert_int_eq(strncmp(s, "Status: 200 OK\r\n", 16), 0);
    ck_assert(head_has_line("Content-Type: text/html; charset=utf-8"));
    ck_assert(head_has_line("Content-Length: 9"));
    ck_assert(head_has_line("Cache-Control: no-store"));
    ck_assert(head_has_line("X-Content-Type-Options: nosniff"));
    ck_assert(head_has_line("X-Frame-Options: DENY"));
    ck_assert(head_has_line("Referrer-Policy: same-origin"));
    ck_assert_ptr_nonnull(strstr(s, "\r\nContent-Security-Policy: default-src 'self';"));
    ck_assert_ptr_nonnull(strstr(s, "frame-ancestors 'none'\r\n"));
    ck_assert_str_eq(sent_body(), "<p>hi</p>");
    ck_assert_int_eq(F->r.io_error, 0);
    ck_assert_int_ge(F->mo.flushes, 1);
}
END_TEST

START_TEST(test_finish_defaults)
{
    /* No status set: 200; a body without a type gets text/plain. */
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    http_puts(&F->r, "ok\n");
    http_finish(&F->r);
    ck_assert_int_eq(strncmp(sent(), "Status: 200 OK\r\n", 16), 0);
    ck_assert(head_has_line("Content-Type: text/plain; charset=utf-8"));
    ck_assert(head_has_line("Content-Length: 3"));
    ck_assert_str_eq(sent_body(), "ok\n");
}
END_TEST

START_TEST(test_finish_head)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=HEAD", "REQUEST_URI=/"), SL_OK);
    http_send(&F->r, 200, "text/plain", "twelve bytes", 12);
    http_finish(&F->r);
    ck_assert(head_has_line("Content-Length: 12"));
    ck_assert_str_eq(sent_body(), "");
}
END_TEST

START_TEST(test_finish_no_content)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=DELETE", "REQUEST_URI=/x"), SL_OK);
    http_set_status(&F->r, 204);
    http_finish(&F->r);
    ck_assert_int_eq(strncmp(sent(), "Status: 204 No Content\r\n", 24), 0);
    ck_assert(!head_has_prefix("Content-Type:"));
    ck_assert(head_has_line("Content-Length: 0"));
    ck_assert_str_eq(sent_body(), "");
}
END_TEST

START_TEST(test_finish_handler_headers_win)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    http_add_header(&F->r, "cache-control", "max-age=60");
    http_redirect(&F->r, 303, "/next");
    http_finish(&F->r);
    ck_assert_int_eq(strncmp(sent(), "Status: 303 See Other\r\n", 23), 0);
    ck_assert(head_has_line("cache-control: max-age=60"));
    ck_assert(!head_has_line("Cache-Control: no-store"));
    ck_assert(head_has_line("Location: /next"));
    /* an empty redirect has no Content-Type */
    ck_assert(!head_has_prefix("Content-Type:"));
}
END_TEST

START_TEST(test_finish_client_gone)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/"), SL_OK);
    F->mo.fail = 1;
    http_send(&F->r, 200, "text/plain", "a body longer than sixteen bytes", 32);
    http_finish(&F->r);
    ck_assert_int_eq(F->r.io_error, 1);
    ck_assert_str_eq(sent(), "");
}
END_TEST

START_TEST(test_stream)
{
    ck_assert_int_eq(INIT("REQUEST_URI=/export.csv"), SL_OK);
    request *r = &F->r;
    http_add_header(r, "Content-Type", "text/csv");
    http_begin_stream(r);
    ck_assert_int_eq(r->streaming, 1);
    ck_assert_int_eq(r->status, 200);
    http_begin_stream(r); /* twice is harmless */
    http_add_header(r, "X-Late", "dropped");
    for (int i = 0; i < 100; i++)
        http_printf(r, "row,%d\n", i);
    ck_assert_uint_eq(r->out.len, 0); /* not buffered */
    http_finish(r);
    ck_assert_int_eq(strncmp(sent(), "Status: 200 OK\r\n", 16), 0);
    ck_assert(head_has_line("Content-Type: text/csv"));
    ck_assert_ptr_null(strstr(sent(), "Content-Length"));
    ck_assert_ptr_null(strstr(sent(), "X-Late"));
    const char *body = sent_body();
    ck_assert_int_eq(strncmp(body, "row,0\nrow,1\n", 12), 0);
    ck_assert_ptr_nonnull(strstr(body, "row,99\n"));
    ck_assert_int_eq(body[strlen(body) - 1], '\n');
    /* Status line and head appear once. */
    ck_assert_ptr_null(strstr(sent() + 1, "Status:"));
}
END_TEST

START_TEST(test_stream_head)
{
    ck_assert_int_eq(INIT("REQUEST_METHOD=HEAD", "REQUEST_URI=/export.csv"), SL_OK);
    http_set_status(&F->r, 200);
    http_begin_stream(&F->r);
    http_puts(&F->r, "data that must not be sent");
    http_finish(&F->r);
    ck_assert_str_eq(sent_body(), "");
    /* a stream with no explicit type still declares one */
    ck_assert(head_has_line("Content-Type: text/plain; charset=utf-8"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_decode_table, 0, (int)(sizeof dec_cases / sizeof dec_cases[0]));
    tcase_add_test(tc, test_decode_length_bounds);
    tcase_add_test(tc, test_decode_every_escape);
    tcase_add_loop_test(tc, test_query_table, 0,
                        (int)(sizeof query_cases / sizeof query_cases[0]));
    tcase_add_test(tc, test_query_null);
    tcase_add_test(tc, test_status_for_every_error);
    tcase_add_test(tc, test_reason_phrases);
    tcase_add_test(tc, test_init_fields);
    tcase_add_test(tc, test_init_defaults);
    tcase_add_test(tc, test_init_empty_values);
    tcase_add_test(tc, test_init_query_split);
    tcase_add_test(tc, test_init_https_values);
    tcase_add_test(tc, test_init_request_id_checked);
    tcase_add_loop_test(tc, test_init_content_length, 0,
                        (int)(sizeof cl_cases / sizeof cl_cases[0]));
    tcase_add_test(tc, test_init_bad_uri);
    tcase_add_test(tc, test_header_mapping);
    tcase_add_test(tc, test_no_fcgi);
    tcase_add_test(tc, test_body_none);
    tcase_add_test(tc, test_body_exact);
    tcase_add_test(tc, test_body_zero_length);
    tcase_add_test(tc, test_body_at_limit_in_pieces);
    tcase_add_test(tc, test_body_too_big_announced);
    tcase_add_test(tc, test_body_short);
    tcase_add_test(tc, test_body_longer_than_announced);
    tcase_add_test(tc, test_send_and_headers);
    tcase_add_test(tc, test_unsafe_headers_dropped);
    tcase_add_test(tc, test_headers_capped);
    tcase_add_test(tc, test_write_printf);
    tcase_add_test(tc, test_send_json);
    tcase_add_test(tc, test_problem);
    tcase_add_loop_test(tc, test_redirect, 0, (int)(sizeof redir_cases / sizeof redir_cases[0]));
    tcase_add_test(tc, test_redirect_status);
    tcase_add_test(tc, test_wants_json);
    tcase_add_test(tc, test_error_page_and_problem);
    tcase_add_test(tc, test_finish_get);
    tcase_add_test(tc, test_finish_defaults);
    tcase_add_test(tc, test_finish_head);
    tcase_add_test(tc, test_finish_no_content);
    tcase_add_test(tc, test_finish_handler_headers_win);
    tcase_add_test(tc, test_finish_client_gone);
    tcase_add_test(tc, test_stream);
    tcase_add_test(tc, test_stream_head);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
