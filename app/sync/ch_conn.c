/* ch_conn.c - the ClickHouse connector (a destination), over ClickHouse's
 * HTTP interface with libcurl: connect, server version.
 *
 * "Connecting" is one `SELECT version()` request, which proves the server is
 * there and takes the credentials (sent as X-ClickHouse-User and
 * X-ClickHouse-Key headers, never in the URL). The connection keeps one curl
 * handle, so later requests reuse the TCP connection. ssl_mode require and
 * verify-* mean HTTPS (verify-*: check the certificate and host name); no
 * redirects are followed and no proxy is used. Discovery is not written
 * yet (SL_EUNSUPPORTED). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "sbuf.h"
#include "sync/ch_conn.h"

#define CH_BODY_MAX (1 << 20) /* answers to our small queries */

typedef struct {
    CURL *curl;
    char *base;     /* http(s)://host:port/ */
    char *host;
    int port;
    int timeout;
    char *user_hdr; /* "X-ClickHouse-User: ..." */
    char *key_hdr;  /* "X-ClickHouse-Key: ..." (zeroed on close) */
    char *database; /* NULL: the user's default */
    char *user;
    char version[64];
} ch_conn;

static void global_init(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

/* Host names and IP literals only: nothing that could reshape the URL. */
static int host_ok(const char *h)
{
    for (; *h; h++)
        if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') || (*h >= '0' && *h <= '9') ||
              *h == '.' || *h == '-' || *h == '_' || *h == ':'))
            return 0;
    return 1;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    sbuf *b = userdata;
    return sb_append(b, ptr, size * n) == SL_OK ? size * n : 0; /* 0 aborts: too big */
}

static void free_conn(ch_conn *ch)
{
    if (!ch)
        return;
    if (ch->curl)
        curl_easy_cleanup(ch->curl);
    if (ch->key_hdr) {
        memset(ch->key_hdr, 0, strlen(ch->key_hdr));
        free(ch->key_hdr);
    }
    free(ch->user_hdr);
    free(ch->base);
    free(ch->host);
    free(ch->database);
    free(ch->user);
    free(ch);
}

/* The first line of a ClickHouse error body, trimmed to fit. */
static void first_line(char *out, size_t cap, const char *body)
{
    size_t n = strcspn(body, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, body, n);
    out[n] = '\0';
}

/* A transport failure, translated. */
static sl_err transport_failed(ch_conn *ch, CURLcode rc, sl_errbuf *eb)
{
    long os = 0;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return connector_fail_resolve(eb, ch->host);
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(ch->curl, CURLINFO_OS_ERRNO, &os);
        if (os == ECONNREFUSED || os == 0)
            return connector_fail_refused(eb, ch->host, ch->port);
        if (os == ETIMEDOUT)
            return connector_fail_timeout(eb, ch->host, ch->port, ch->timeout);
        return sl_fail(eb, SL_EDBDOWN, "could not connect to %s port %d: %s", ch->host, ch->port,
                       strerror((int)os));
    case CURLE_OPERATION_TIMEDOUT:
        return connector_fail_timeout(eb, ch->host, ch->port, ch->timeout);
    case CURLE_WRITE_ERROR:
        return sl_fail(eb, SL_ETOOBIG, "the ClickHouse answer exceeded %d bytes", CH_BODY_MAX);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return sl_fail(eb, SL_EDBDOWN, "TLS to %s port %d failed: %s", ch->host, ch->port,
                       curl_easy_strerror(rc));
    default:
        return sl_fail(eb, SL_EDBDOWN, "could not talk to ClickHouse at %s port %d: %s",
                       ch->host, ch->port, curl_easy_strerror(rc));
    }
}

/* An HTTP error answer, translated: ClickHouse says "Code: N. DB::Exception:
 * ..." in the body. */
static sl_err answer_failed(ch_conn *ch, long status, const char *body, sl_errbuf *eb)
{
    const char *user = ch->user ? ch->user : "default";
    if (status == 401 || status == 403 || strstr(body, "Code: 516.") ||
        strstr(body, "Code: 192.") || strstr(body, "Code: 193.") ||
        strstr(body, "AUTHENTICATION_FAILED"))
        return sl_fail(eb, SL_EAUTH, "authentication failed for user \"%s\" (wrong password, "
                                     "or the user may not connect from this host)",
                       user);
    if (strstr(body, "Code: 81.") || strstr(body, "UNKNOWN_DATABASE"))
        return sl_fail(eb, SL_ENOTFOUND, "database \"%s\" does not exist",
                       ch->database ? ch->database : "");
    char line[SL_ERRBUF_SIZE - 64];
    first_line(line, sizeof line, body);
    return sl_fail(eb, status >= 500 ? SL_EDBDOWN : SL_EDB, "ClickHouse answered %ld: %s",
                   status, line[0] ? line : "(no details)");
}

/* GET base?query=sql (and &database=); the answer body goes to body. */
static sl_err ch_query(ch_conn *ch, const char *sql, sbuf *body, sl_errbuf *eb)
{
    char *q = curl_easy_escape(ch->curl, sql, 0);
    char *d = ch->database ? curl_easy_escape(ch->curl, ch->database, 0) : NULL;
    if (!q || (ch->database && !d))
        sl_panic("curl_easy_escape: out of memory");
    size_t ulen = strlen(ch->base) + strlen(q) + (d ? strlen(d) : 0) + 32;
    char *url = xmalloc(ulen);
    snprintf(url, ulen, "%s?query=%s%s%s", ch->base, q, d ? "&database=" : "", d ? d : "");
    curl_free(q);
    curl_free(d);
    struct curl_slist *hdrs = NULL;
    if (ch->user_hdr)
        hdrs = curl_slist_append(hdrs, ch->user_hdr);
    if (ch->key_hdr)
        hdrs = curl_slist_append(hdrs, ch->key_hdr);
    curl_easy_setopt(ch->curl, CURLOPT_URL, url);
    curl_easy_setopt(ch->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(ch->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(ch->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(ch->curl, CURLOPT_WRITEDATA, body);
    CURLcode rc = curl_easy_perform(ch->curl);
    curl_easy_setopt(ch->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    free(url);
    if (rc != CURLE_OK)
        return transport_failed(ch, rc, eb);
    long status = 0;
    curl_easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return answer_failed(ch, status, sb_str(body), eb);
    return SL_OK;
}

sl_err ch_conn_post(void *conn, const char *query, const char *body, size_t len,
                    sbuf *answer, sl_errbuf *eb)
{
    ch_conn *ch = conn;
    sbuf local;
    sb_init(&local, NULL, CH_BODY_MAX);
    sbuf *out = answer ? answer : &local;
    char *d = ch->database ? curl_easy_escape(ch->curl, ch->database, 0) : NULL;
    char *q = body ? curl_easy_escape(ch->curl, query, 0) : NULL;
    if ((ch->database && !d) || (body && !q))
        sl_panic("curl_easy_escape: out of memory");
    size_t ulen = strlen(ch->base) + (q ? strlen(q) : 0) + (d ? strlen(d) : 0) + 32;
    char *url = xmalloc(ulen);
    snprintf(url, ulen, "%s?%s%s%s%s%s", ch->base, q ? "query=" : "", q ? q : "",
             q && d ? "&" : "", d ? "database=" : "", d ? d : "");
    curl_free(q);
    curl_free(d);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: text/plain");
    if (ch->user_hdr)
        hdrs = curl_slist_append(hdrs, ch->user_hdr);
    if (ch->key_hdr)
        hdrs = curl_slist_append(hdrs, ch->key_hdr);
    curl_easy_setopt(ch->curl, CURLOPT_URL, url);
    curl_easy_setopt(ch->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDS, body ? body : query);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(body ? len : strlen(query)));
    curl_easy_setopt(ch->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(ch->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(ch->curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(ch->curl, CURLOPT_TIMEOUT, 0L); /* loads take as long as they take */
    CURLcode rc = curl_easy_perform(ch->curl);
    curl_easy_setopt(ch->curl, CURLOPT_TIMEOUT, (long)(ch->timeout * 3));
    curl_easy_setopt(ch->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    free(url);
    sl_err e = SL_OK;
    long status = 0;
    if (rc != CURLE_OK) {
        e = transport_failed(ch, rc, eb);
    } else {
        curl_easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            e = answer_failed(ch, status, sb_str(out), eb);
    }
    sb_free(&local);
    return e;
}

const char *ch_conn_version(void *conn)
{
    return ((ch_conn *)conn)->version;
}

static char *hdr(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *s = xmalloc(n);
    snprintf(s, n, "%s: %s", name, value);
    return s;
}

static sl_err ch_open(const conn_params *p, void **out, sl_errbuf *eb)
{
    *out = NULL;
    sl_err e = connector_check_params(p, eb);
    if (e != SL_OK)
        return e;
    if (!host_ok(p->host))
        return sl_fail(eb, SL_EINVAL, "the host name is not valid");
    const char *mode = connector_ssl_mode(p);
    int tls = strcmp(mode, "require") == 0 || strncmp(mode, "verify-", 7) == 0;
    global_init();
    ch_conn *ch = xcalloc(1, sizeof *ch);
    ch->curl = curl_easy_init();
    if (!ch->curl)
        sl_panic("curl_easy_init failed");
    ch->host = xstrdup(p->host);
    ch->port = p->port > 0 ? p->port : (tls ? 8443 : clickhouse_connector.default_port);
    ch->timeout = connector_timeout(p);
    size_t blen = strlen(p->host) + 32;
    ch->base = xmalloc(blen);
    snprintf(ch->base, blen, "%s://%s%s%s:%d/", tls ? "https" : "http",
             strchr(p->host, ':') ? "[" : "", p->host, strchr(p->host, ':') ? "]" : "",
             ch->port);
    if (p->user && *p->user) {
        ch->user = xstrdup(p->user);
        ch->user_hdr = hdr("X-ClickHouse-User", p->user);
    }
    if (p->password && *p->password)
        ch->key_hdr = hdr("X-ClickHouse-Key", p->password);
    if (p->database && *p->database)
        ch->database = xstrdup(p->database);

    CURL *c = ch->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)ch->timeout);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(ch->timeout * 3));
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, strncmp(mode, "verify-", 7) == 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, strcmp(mode, "verify-full") == 0 ? 2L : 0L);

    arena *a = arena_new(0);
    sbuf body;
    sb_init(&body, a, CH_BODY_MAX);
    e = ch_query(ch, "SELECT version()", &body, eb);
    if (e == SL_OK) {
        first_line(ch->version, sizeof ch->version, sb_str(&body));
        if (!ch->version[0])
            e = sl_fail(eb, SL_EDB, "ClickHouse did not say its version");
    }
    arena_free(a);
    if (e != SL_OK) {
        if (eb)
            connector_scrub(eb->msg, sizeof eb->msg, p->password);
        free_conn(ch);
        return e;
    }
    *out = ch;
    return SL_OK;
}

static void ch_close(void *conn)
{
    free_conn(conn);
}

static sl_err ch_version(void *conn, arena *a, char **out, sl_errbuf *eb)
{
    ch_conn *ch = conn;
    *out = arena_printf(a, "ClickHouse %s", ch->version);
    return SL_OK;
}

static sl_err ch_list_tables(void *conn, arena *a, const char *const *schemas, int nschemas,
                             conn_table **out, int *n, sl_errbuf *eb)
{
    *out = NULL;
    *n = 0;
    return sl_fail(eb, SL_EUNSUPPORTED, "listing ClickHouse tables is not supported yet");
}

const struct connector clickhouse_connector = {
    .type = "clickhouse",
    .default_port = 8123,
    .can_source = 0,
    .can_destination = 1,
    .open = ch_open,
    .close = ch_close,
    .version = ch_version,
    .list_tables = ch_list_tables,
};
