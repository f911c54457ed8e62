/* notify_http.c - sending one notification request with libcurl, and the
 * SSRF guard that every connection passes (see notify.h).
 *
 * The guard sits in CURLOPT_OPENSOCKETFUNCTION: libcurl calls it with each
 * address it resolved, just before it would open a socket to it, so what
 * is judged is the address actually connected to (not the URL's text, and
 * not an earlier lookup a DNS rebinding could change). A refused address
 * gets no socket: nothing is ever sent to it, and libcurl moves on to the
 * host's next address, if any. Redirects are not followed, only http and
 * https are spoken, proxies from the environment are ignored.
 *
 * The answer is read into a capped buffer; its first NOTIFY_EXCERPT_MAX
 * bytes are kept (as valid UTF-8, with the request's secrets scrubbed).
 * Error texts name the host at most, never the path or query. */
#include "notify.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"

#define READ_CAP (256 * 1024) /* bytes of an answer read before giving up on the rest */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl's global set-up is not thread-safe; deliverers send from threads. */
static void global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

struct notify_conn {
    CURL *curl;
    int allow_private;   /* what the guard allowed when its connections were opened */
};

notify_conn *notify_conn_new(void)
{
    global_init();
    notify_conn *c = xcalloc(1, sizeof *c);
    c->curl = curl_easy_init();
    if (!c->curl)
        sl_panic("notify: curl_easy_init failed");
    return c;
}

void notify_conn_free(notify_conn *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

/* --- the SSRF guard ----------------------------------------------------------------------- */

static enum notify_addr_class classify_v4(const unsigned char b[4])
{
    unsigned a0 = b[0], a1 = b[1], a2 = b[2];
    if (a0 == 0)
        return NOTIFY_ADDR_UNSPECIFIED;
    if (a0 == 127)
        return NOTIFY_ADDR_LOOPBACK;
    if (a0 == 10 || (a0 == 172 && (a1 & 0xf0) == 16) || (a0 == 192 && a1 == 168))
        return NOTIFY_ADDR_PRIVATE;
    if (a0 == 100 && (a1 & 0xc0) == 64)
        return NOTIFY_ADDR_SHARED;
    if (a0 == 169 && a1 == 254)
        return NOTIFY_ADDR_LINK_LOCAL;
    if (a0 >= 224 && a0 <= 239)
        return NOTIFY_ADDR_MULTICAST;
    if (a0 >= 240)
        return NOTIFY_ADDR_RESERVED; /* 240/4 and the broadcast address */
    if ((a0 == 192 && a1 == 0 && a2 == 0) || (a0 == 192 && a1 == 0 && a2 == 2) ||
        (a0 == 198 && (a1 & 0xfe) == 18) || (a0 == 198 && a1 == 51 && a2 == 100) ||
        (a0 == 203 && a1 == 0 && a2 == 113))
        return NOTIFY_ADDR_RESERVED;
    return NOTIFY_ADDR_PUBLIC;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static enum notify_addr_class classify_v6(const unsigned char b[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (all_zero(b, 15) && b[15] == 0)
        return NOTIFY_ADDR_UNSPECIFIED;
    if (all_zero(b, 15) && b[15] == 1)
        return NOTIFY_ADDR_LOOPBACK;
    /* Forms that carry an IPv4 address are judged by it. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || all_zero(b, 12))
        return classify_v4(b + 12);
    if (b[0] == 0x20 && b[1] == 0x02)
        return classify_v4(b + 2); /* 6to4 */
    if (b[0] == 0xff)
        return NOTIFY_ADDR_MULTICAST;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return NOTIFY_ADDR_LINK_LOCAL;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return NOTIFY_ADDR_UNIQUE_LOCAL; /* deprecated site-local fec0::/10 */
    if ((b[0] & 0xfe) == 0xfc)
        return NOTIFY_ADDR_UNIQUE_LOCAL;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return NOTIFY_ADDR_RESERVED; /* documentation 2001:db8::/32 */
    return NOTIFY_ADDR_PUBLIC;
}

enum notify_addr_class notify_addr_classify(const struct sockaddr *sa)
{
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return classify_v4((const unsigned char *)&in->sin_addr);
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return classify_v6(in6->sin6_addr.s6_addr);
    }
    return NOTIFY_ADDR_RESERVED;
}

const char *notify_addr_class_name(enum notify_addr_class c)
{
    switch (c) {
    case NOTIFY_ADDR_PUBLIC: return "public";
    case NOTIFY_ADDR_LOOPBACK: return "loopback";
    case NOTIFY_ADDR_PRIVATE: return "private";
    case NOTIFY_ADDR_SHARED: return "shared (carrier-grade NAT)";
    case NOTIFY_ADDR_LINK_LOCAL: return "link-local";
    case NOTIFY_ADDR_UNIQUE_LOCAL: return "unique-local";
    case NOTIFY_ADDR_UNSPECIFIED: return "unspecified";
    case NOTIFY_ADDR_MULTICAST: return "multicast";
    case NOTIFY_ADDR_RESERVED: return "reserved";
    }
    return "unknown";
}

int notify_addr_allowed(enum notify_addr_class c, int allow_private)
{
    switch (c) {
    case NOTIFY_ADDR_PUBLIC: return 1;
    case NOTIFY_ADDR_LOOPBACK:
    case NOTIFY_ADDR_PRIVATE:
    case NOTIFY_ADDR_SHARED:
    case NOTIFY_ADDR_LINK_LOCAL:
    case NOTIFY_ADDR_UNIQUE_LOCAL:
    case NOTIFY_ADDR_UNSPECIFIED: return allow_private != 0;
    case NOTIFY_ADDR_MULTICAST:
    case NOTIFY_ADDR_RESERVED: return 0;
    }
    return 0;
}

/* --- Retry-After -------------------------------------------------------------------------- */

#define RETRY_AFTER_MAX (366L * 24 * 3600)

long notify_retry_after(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0)
        return -1;
    size_t digits = strspn(value, "0123456789");
    if (digits == n) {
        if (n > 10)
            return RETRY_AFTER_MAX;
        long long v = strtoll(value, NULL, 10);
        return v > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)v;
    }
    /* IMF-fixdate, then the obsolete RFC 850 and asctime forms (RFC 9110 5.6.7). */
    static const char *const forms[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                        "%a %b %e %H:%M:%S %Y"};
    char buf[64];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, value, n);
    buf[n] = '\0';
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(buf, forms[i], &tm);
        if (!end || *end)
            continue;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return -1;
        if (t <= now)
            return 0;
        return t - now > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)(t - now);
    }
    return -1;
}

/* --- one request -------------------------------------------------------------------------- */

typedef struct {
    int allow_private;
    int refused;                 /* addresses the guard refused */
    int allowed;                 /* addresses it let through */
    char refusal[160];           /* the first refusal, for the error */
    int private_would_do;        /* allow_private_networks would let it through */
    char *body;                  /* the answer's first bytes */
    size_t body_len, body_total;
    char retry_after[128];
    int have_retry_after;
} xfer;

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *ad)
{
    xfer *x = clientp;
    (void)purpose;
    const struct sockaddr *sa = &ad->addr;
    enum notify_addr_class c = notify_addr_classify(sa);
    if (!notify_addr_allowed(c, x->allow_private)) {
        char text[INET6_ADDRSTRLEN] = "?";
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
                      sizeof text);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      text, sizeof text);
        if (!x->refused++) {
            snprintf(x->refusal, sizeof x->refusal, "%s is a %s address", text,
                     notify_addr_class_name(c));
            x->private_would_do = notify_addr_allowed(c, 1);
        }
        return CURL_SOCKET_BAD;
    }
    x->allowed++;
    return socket(ad->family, ad->socktype, ad->protocol);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->body_len < NOTIFY_EXCERPT_MAX) {
        size_t take = NOTIFY_EXCERPT_MAX - x->body_len;
        if (take > n)
            take = n;
        memcpy(x->body + x->body_len, p, take);
        x->body_len += take;
    }
    x->body_total += n;
    return x->body_total > READ_CAP ? 0 : n; /* enough: stop reading a huge answer */
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t vlen = n - (sizeof name - 1);
        if (vlen >= sizeof x->retry_after)
            vlen = sizeof x->retry_after - 1;
        memcpy(x->retry_after, p + sizeof name - 1, vlen);
        x->retry_after[vlen] = '\0';
        x->retry_after[strcspn(x->retry_after, "\r\n")] = '\0';
        x->have_retry_after = 1;
    } else if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        x->have_retry_after = 0; /* a new response (after 100 Continue) */
    }
    return n;
}

/* text with every occurrence of each secret replaced by "****". */
static const char *scrub(arena *a, const char *text, const char *const *secrets)
{
    for (; secrets && *secrets; secrets++) {
        const char *s = *secrets;
        size_t sl = strlen(s);
        if (sl < 4 || !strstr(text, s))
            continue;
        const char *out = "", *p = text, *hit;
        while ((hit = strstr(p, s)) != NULL) {
            out = arena_printf(a, "%s%.*s****", out, (int)(hit - p), p);
            p = hit + sl;
        }
        text = arena_printf(a, "%s%s", out, p);
    }
    return text;
}

/* The answer's bytes as valid UTF-8 without control characters other than
 * tab and newline (others become U+FFFD / a space). */
static const char *clean_excerpt(arena *a, const char *p, size_t n, const char *const *secrets)
{
    char *raw = arena_strndup(a, p, n);
    for (size_t i = 0; i < n && raw[i]; i++) {
        unsigned char c = (unsigned char)raw[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            raw[i] = ' ';
    }
    /* The cut at NOTIFY_EXCERPT_MAX may split a code point: notify_clip mends it. */
    return scrub(a, notify_clip(a, raw, NOTIFY_EXCERPT_MAX), secrets);
}

static long ms_between(const struct timespec *t0, const struct timespec *t1)
{
    return (long)((t1->tv_sec - t0->tv_sec) * 1000 + (t1->tv_nsec - t0->tv_nsec) / 1000000);
}

/* The host of url (for messages), or "the receiver". */
static const char *host_of(arena *a, const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    const char *out = "the receiver";
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host)
        out = arena_strdup(a, host);
    curl_free(host);
    curl_url_cleanup(u);
    return out;
}

sl_err notify_send(arena *a, const notify_env *env, const notify_request *req,
                   notify_result *res, sl_errbuf *eb)
{
    return notify_send_on(NULL, a, env, req, res, eb);
}

sl_err notify_send_on(notify_conn *conn, arena *a, const notify_env *env,
                      const notify_request *req, notify_result *res, sl_errbuf *eb)
{
    memset(res, 0, sizeof *res);
    res->retry_after_seconds = -1;
    res->body_excerpt = "";
    if (!req || !req->url || !req->body) {
        res->error = "nothing to send";
        return sl_fail(eb, SL_EINVAL, "%s", res->error);
    }
    global_init();
    int timeout = env && env->timeout_seconds > 0 ? env->timeout_seconds
                                                  : NOTIFY_TIMEOUT_DEFAULT;
    if (timeout > NOTIFY_TIMEOUT_MAX)
        timeout = NOTIFY_TIMEOUT_MAX;
    xfer x;
    memset(&x, 0, sizeof x);
    x.allow_private = env ? env->allow_private : 0;
    x.body = arena_alloc(a, NOTIFY_EXCERPT_MAX + 1);
    char errbuf[CURL_ERROR_SIZE] = "";

    CURL *c;
    if (conn) {
        /* Open connections were vetted under the guard of their time: a
         * stricter guard now must not reuse them. */
        if (conn->allow_private && !x.allow_private) {
            curl_easy_cleanup(conn->curl);
            conn->curl = curl_easy_init();
            if (!conn->curl)
                sl_panic("notify: curl_easy_init failed");
        }
        conn->allow_private = x.allow_private;
        c = conn->curl;
        curl_easy_reset(c);
    } else if ((c = curl_easy_init()) == NULL) {
        res->error = "could not start an HTTP client";
        return sl_fail(eb, SL_EIO, "%s", res->error);
    }
    struct curl_slist *hdrs = NULL;
    for (const char *const *h = req->headers; h && *h; h++)
        hdrs = curl_slist_append(hdrs, *h);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout * 1000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout * 1000L);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode cc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->latency_ms = ms_between(&t0, &t1);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    if (!conn)
        curl_easy_cleanup(c);

    const char *const *secrets = req->secrets;
    if (status > 0 && (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && x.body_total > READ_CAP))) {
        res->status = (int)status;
        res->body_excerpt = clean_excerpt(a, x.body, x.body_len, secrets);
        if (x.have_retry_after)
            res->retry_after_seconds = notify_retry_after(x.retry_after, time(NULL));
        return SL_OK;
    }
    const char *host = host_of(a, req->url);
    sl_err code;
    if (x.refused && !x.allowed) {
        res->error = arena_printf(a, "refused by the SSRF guard before connecting to %s: %s%s",
                                  host, x.refusal,
                                  x.private_would_do
                                      ? " (allow_private_networks in the notifications"
                                        " settings lets targets reach private networks)"
                                      : "");
        code = SL_EFORBIDDEN;
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        res->error = arena_printf(a, "no answer from %s within %d s", host, timeout);
        code = SL_ETIMEOUT;
    } else {
        const char *why = *errbuf ? errbuf : curl_easy_strerror(cc);
        res->error = scrub(a, arena_printf(a, "%s", why), secrets);
        code = SL_EIO;
    }
    /* libcurl names hosts, not paths; the scrub is the belt to those braces. */
    res->error = scrub(a, res->error, secrets);
    return sl_fail(eb, code, "%s", res->error);
}
