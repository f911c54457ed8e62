/* connector.c - finding a connector by type, "Test connection", table filters
 * (globs) and the choice of watermark column.
 *
 * The connectors themselves live one per file (pg_conn.c, mysql_conn.c,
 * ch_conn.c); this file holds what is common to all of them: the registry,
 * the shared wording of connection failures, and the pure functions that
 * decide which tables a pipeline copies and how it copies them. Nothing
 * here allocates except connector_test (in the caller's arena). */
#include "connector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- registry ----------------------------------------------------------- */

static const struct {
    const char *name;
    const struct connector *c;
} registry[] = {
    {"postgresql", &pg_connector},
    {"postgres", &pg_connector}, /* the name people type */
    {"mysql", &mysql_connector},
    {"mariadb", &mariadb_connector},
    {"clickhouse", &clickhouse_connector},
};
#define NREGISTRY (sizeof registry / sizeof registry[0])

const struct connector *connector_for(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < NREGISTRY; i++)
        if (strcmp(registry[i].name, type) == 0)
            return registry[i].c;
    return NULL;
}

/* Why type has no connector; NULL when it has one. The text lives in a
 * thread-local buffer until the next call. */
const char *connector_unsupported_reason(const char *type)
{
    static _Thread_local char buf[128];
    if (!type || !*type)
        return "no database type given";
    if (connector_for(type))
        return NULL;
    if (strcasecmp(type, "mongodb") == 0 || strcasecmp(type, "mongo") == 0)
        return "MongoDB sources are not supported yet";
    /* Echo at most 48 printable ASCII bytes of what we were given. */
    char shown[49];
    size_t n = 0;
    for (const char *s = type; *s && n < sizeof shown - 1; s++)
        shown[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    shown[n] = '\0';
    snprintf(buf, sizeof buf, "unknown database type '%s'%s", shown, type[n] ? "..." : "");
    return buf;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

sl_err connector_test(const conn_params *p, arena *a, char **version, long *elapsed_ms,
                      sl_errbuf *eb)
{
    *version = NULL;
    *elapsed_ms = 0;
    const struct connector *c = connector_for(p->type);
    if (!c) {
        const char *why = connector_unsupported_reason(p->type);
        sl_err code = (p->type && (strcasecmp(p->type, "mongodb") == 0 ||
                                   strcasecmp(p->type, "mongo") == 0))
                          ? SL_EUNSUPPORTED
                          : SL_EINVAL;
        return sl_fail(eb, code, "%s", why);
    }
    long t0 = now_ms();
    void *conn = NULL;
    sl_err e = c->open(p, &conn, eb);
    if (e == SL_OK) {
        e = c->version(conn, a, version, eb);
        c->close(conn);
    }
    *elapsed_ms = now_ms() - t0;
    return e;
}

/* ---- shared pieces for the connector files ------------------------------- */

int connector_port(const conn_params *p, const struct connector *c)
{
    return p->port > 0 ? p->port : c->default_port;
}

int connector_timeout(const conn_params *p)
{
    return p->connect_timeout > 0 ? p->connect_timeout : 10;
}

static const char *const ssl_modes[] = {
    "disable", "prefer", "require", "verify-ca", "verify-full",
};

const char *connector_ssl_mode(const conn_params *p)
{
    return p->ssl_mode && *p->ssl_mode ? p->ssl_mode : "prefer";
}

static int has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

sl_err connector_check_params(const conn_params *p, sl_errbuf *eb)
{
    if (!p->host || !*p->host)
        return sl_fail(eb, SL_EINVAL, "no host given");
    if (has_control(p->host) || strlen(p->host) > 255)
        return sl_fail(eb, SL_EINVAL, "the host name is not valid");
    /* libpq reads "/dir" as a Unix socket and "a,b" as a host list; a
     * socket would reach a local server as a local user (peer, trust). */
    if (p->host[0] == '@' || strpbrk(p->host, "/\\, "))
        return sl_fail(eb, SL_EINVAL, "the host must be a name or an IP address "
                                      "(Unix sockets and host lists are not supported)");
    if (p->port < 0 || p->port > 65535)
        return sl_fail(eb, SL_EINVAL, "port %d is out of range (1-65535)", p->port);
    if (has_control(p->user))
        return sl_fail(eb, SL_EINVAL, "the user name contains control characters");
    if (has_control(p->database))
        return sl_fail(eb, SL_EINVAL, "the database name contains control characters");
    if (p->password && strpbrk(p->password, "\r\n"))
        return sl_fail(eb, SL_EINVAL, "the password contains a line break");
    const char *m = connector_ssl_mode(p);
    for (size_t i = 0; i < sizeof ssl_modes / sizeof ssl_modes[0]; i++)
        if (strcmp(m, ssl_modes[i]) == 0)
            return SL_OK;
    return sl_fail(eb, SL_EINVAL,
                   "unknown ssl_mode (use disable, prefer, require, verify-ca or verify-full)");
}

/* "host:port", with brackets around an IPv6 literal. */
static void host_port(char *out, size_t cap, const char *host, int port)
{
    if (!host || !*host)
        host = "localhost";
    if (strchr(host, ':'))
        snprintf(out, cap, "[%s]:%d", host, port);
    else
        snprintf(out, cap, "%s:%d", host, port);
}

sl_err connector_fail_refused(sl_errbuf *eb, const char *host, int port)
{
    char hp[300];
    host_port(hp, sizeof hp, host, port);
    return sl_fail(eb, SL_EDBDOWN,
                   "could not connect to %s: connection refused \xe2\x80\x94 is the server "
                   "running and accepting TCP connections?",
                   hp);
}

sl_err connector_fail_resolve(sl_errbuf *eb, const char *host)
{
    return sl_fail(eb, SL_EDBDOWN, "could not resolve host \"%s\"", host ? host : "");
}

sl_err connector_fail_timeout(sl_errbuf *eb, const char *host, int port, int seconds)
{
    char hp[300];
    host_port(hp, sizeof hp, host, port);
    return sl_fail(eb, SL_ETIMEOUT, "timed out after %d s connecting to %s", seconds, hp);
}

void connector_scrub(char *msg, size_t cap, const char *secret)
{
    if (!msg || !secret || cap == 0)
        return;
    size_t slen = strlen(secret);
    if (slen < 3 || !strstr(msg, secret))
        return;
    char out[SL_ERRBUF_SIZE * 2];
    size_t n = 0, lim = cap < sizeof out ? cap : sizeof out;
    for (const char *s = msg; *s && n + 1 < lim;) {
        if (strncmp(s, secret, slen) == 0) {
            for (const char *r = "***"; *r && n + 1 < lim; r++)
                out[n++] = *r;
            s += slen;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    memcpy(msg, out, n + 1);
}

/* ---- globs -------------------------------------------------------------- */

/* Bytes in the UTF-8 character at s (1 for a stray continuation byte). */
static size_t char_len(const char *s)
{
    size_t n = 1;
    while (n < 4 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n++;
    return ((unsigned char)s[0] & 0x80) ? n : 1;
}

/* A bracket expression; p points just past '['. Returns 1 if byte c is in
 * it, 0 if not (setting *end just past the closing ']'), or -1 when there
 * is no closing ']' (the '[' is then an ordinary character). */
static int class_match(const char *p, unsigned char c, const char **end)
{
    int negate = 0, found = 0;
    if (*p == '!' || *p == '^') {
        negate = 1;
        p++;
    }
    const char *first = p;
    while (*p && (*p != ']' || p == first)) {
        if (*p == '\\' && p[1])
            p++;
        unsigned char lo = (unsigned char)*p++, hi = lo;
        if (p[0] == '-' && p[1] && p[1] != ']') {
            p++;
            if (*p == '\\' && p[1])
                p++;
            hi = (unsigned char)*p++;
        }
        if (lo <= c && c <= hi)
            found = 1;
    }
    if (*p != ']')
        return -1;
    *end = p + 1;
    return found != negate;
}

/* Iterative matching with one backtrack point (the last `*`): a later star
 * supersedes earlier ones, so the work is at most |pattern| * |s| steps,
 * never exponential. */
int glob_match(const char *pattern, const char *s)
{
    const char *p = pattern, *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return 1;
            star_p = p;
            star_s = s;
            continue;
        }
        int m = 0;
        const char *np = p + 1;
        size_t adv = 1;
        if (*p == '?') {
            m = 1;
            adv = char_len(s);
        } else if (*p == '[') {
            int r = class_match(p + 1, (unsigned char)*s, &np);
            if (r < 0) {
                np = p + 1;
                m = *s == '[';
            } else {
                m = r;
            }
        } else if (*p == '\\' && p[1]) {
            m = p[1] == *s;
            np = p + 2;
        } else if (*p) {
            m = *p == *s;
        }
        if (m) {
            p = np;
            s += adv;
            continue;
        }
        if (!star_p)
            return 0;
        star_s += char_len(star_s);
        s = star_s;
        p = star_p;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* The pattern has a '.' that is not escaped: it names schema.table. */
static int qualified_pattern(const char *p)
{
    for (; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '.')
            return 1;
    }
    return 0;
}

int table_selected(const char *const *patterns, int npatterns, const char *schema,
                   const char *table)
{
    char stackbuf[600];
    char *qualified = NULL;
    int have_include = 0, included = 0, excluded = 0;
    if (!table)
        return 0;
    for (int i = 0; i < npatterns && !excluded; i++) {
        const char *pat = patterns[i];
        if (!pat || !*pat)
            continue;
        int negate = pat[0] == '!';
        const char *body = pat + negate;
        if (!*body)
            continue;
        const char *subject = table;
        if (qualified_pattern(body) && schema) {
            if (!qualified) {
                size_t need = strlen(schema) + strlen(table) + 2;
                qualified = need <= sizeof stackbuf ? stackbuf : xmalloc(need);
                snprintf(qualified, need, "%s.%s", schema, table);
            }
            subject = qualified;
        }
        int m = glob_match(body, subject);
        if (negate) {
            excluded = m;
        } else {
            have_include = 1;
            included |= m;
        }
    }
    if (qualified && qualified != stackbuf)
        free(qualified);
    return !excluded && (!have_include || included);
}

/* ---- watermarks --------------------------------------------------------- */

int connector_watermark_type(const char *type)
{
    static const char *const ok[] = {
        "timestamp", "timestamptz", "datetime", "date",     "smallint", "integer", "int",
        "bigint",    "int2",        "int4",     "int8",     "mediumint", "tinyint",
    };
    char word[32];
    size_t n = 0;
    if (!type)
        return 0;
    while (*type == ' ')
        type++;
    size_t tlen = strlen(type);
    if (tlen && type[tlen - 1] == ']') /* an array */
        return 0;
    while (type[n] && type[n] != '(' && type[n] != ' ' && n < sizeof word - 1) {
        word[n] = (char)tolower((unsigned char)type[n]);
        n++;
    }
    word[n] = '\0';
    if (type[n] && type[n] != '(' && type[n] != ' ')
        return 0; /* longer than any name we accept */
    if (strcmp(word, "tinyint") == 0 && strncmp(type + n, "(1)", 3) == 0)
        return 0; /* MySQL's boolean */
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(word, ok[i]) == 0)
            return 1;
    return 0;
}

/* The column of t named name: exactly, else ignoring case. */
static const conn_column *find_column(const conn_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    for (int i = 0; i < t->ncols; i++)
        if (strcasecmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

const char *pick_watermark(const conn_table *t, const char *override)
{
    static const char *const candidates[] = {
        "updated_at", "modified_at", "last_modified", "updated", "created_at",
    };
    if (!t)
        return NULL;
    if (override && *override) {
        const conn_column *c = find_column(t, override);
        return c ? c->name : NULL;
    }
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        const conn_column *c = find_column(t, candidates[i]);
        if (c && connector_watermark_type(c->type))
            return c->name;
    }
    return NULL;
}
