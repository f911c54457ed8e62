/* config.c - effective configuration: defaults < config file < environment.
 *
 * One table (settings[] and its twin fields[]) describes every setting:
 * name, env var, default text, secret flag, help, and how to parse it.
 * Defaults are parsed from the table's text by the same code that parses the
 * file and the environment, so the README table cannot drift from what the
 * program does. Defaults that depend on other settings (web_socket and
 * secret_key_file under var_dir, share_dir from the executable) are derived
 * after the file and environment were applied, when the field is still "".
 *
 * Entry points: config_load(), config_parse_buffer() (the file format, also
 * fuzzed), config_print(), config_mask_url(), config_markdown_table(). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "log.h"

enum kind {
    K_STR,   /* string, copied; longer than the field is an error */
    K_URL,   /* string that must start with http:// or https:// */
    K_LEVEL, /* debug|info|warn|error */
    K_INT,   /* decimal int in [min, max] */
    K_OCTAL, /* octal int in [min, max] (file modes) */
    K_SIZE,  /* byte count, optional k/M/G suffix (powers of 1024) */
};

struct field {
    enum kind kind;
    size_t off;  /* offset in sl_config */
    size_t size; /* sizeof the field (strings: including the NUL) */
    long long min, max;
    int derived; /* default computed after load when the value is "" */
};

#define F_STR(m, k) {k, offsetof(sl_config, m), sizeof(((sl_config *)0)->m), 0, 0, 0}
#define F_DER(m) {K_STR, offsetof(sl_config, m), sizeof(((sl_config *)0)->m), 0, 0, 1}
#define F_NUM(m, k, lo, hi) {k, offsetof(sl_config, m), sizeof(((sl_config *)0)->m), lo, hi, 0}

/* The public half of the table. Keep in the same order as fields[]. */
static const config_setting settings[] = {
    {"database_url", "SLUICE_DATABASE_URL", "", 1,
     "Control database, as a libpq URL or conninfo string (required)."},
    {"var_dir", "SLUICE_VAR", "var", 0,
     "State directory (run/, landing/, secret.key); relative to the current directory."},
    {"share_dir", "SLUICE_SHARE_DIR", "<exe>/../share/sluice, else <exe>/..", 0,
     "Where templates/, static/ and sql/ live."},
    {"web_socket", "SLUICE_WEB_SOCKET", "<var>/run/sluice-web.sock", 0,
     "FastCGI unix socket that sluice-web listens on and nginx connects to."},
    {"web_socket_mode", "SLUICE_WEB_SOCKET_MODE", "0660", 0,
     "Permissions of the FastCGI socket (octal)."},
    {"web_workers", "SLUICE_WEB_WORKERS", "4", 0, "Number of sluice-web worker processes (1-256)."},
    {"web_max_requests", "SLUICE_WEB_MAX_REQUESTS", "10000", 0,
     "Requests a worker serves before it is recycled."},
    {"web_max_body", "SLUICE_WEB_MAX_BODY", "1M", 0,
     "Largest request body accepted, in bytes (suffixes k, M, G)."},
    {"log_level", "SLUICE_LOG_LEVEL", "info", 0, "Minimum log level: debug, info, warn, error."},
    {"secret_key_file", "SLUICE_SECRET_KEY_FILE", "<var>/secret.key", 0,
     "Key file for encrypting stored credentials (libsodium secretbox)."},
    {"base_url", "SLUICE_BASE_URL", "http://127.0.0.1:8080", 0,
     "Public URL of the console, used in links and notifications."},
    {"tick_seconds", "SLUICE_TICK_SECONDS", "55", 0,
     "How long one `sluice tick` keeps working before it exits (1-3600)."},
    {"db_connect_timeout", "SLUICE_DB_CONNECT_TIMEOUT", "5", 0,
     "Seconds to wait when connecting to a database (1-300)."},
    {NULL, NULL, NULL, 0, NULL},
};

/* The private half: how each setting is stored and checked. */
static const struct field fields[] = {
    F_STR(database_url, K_STR),
    F_STR(var_dir, K_STR),
    F_DER(share_dir),
    F_DER(web_socket),
    F_NUM(web_socket_mode, K_OCTAL, 0, 07777),
    F_NUM(web_workers, K_INT, 1, 256),
    F_NUM(web_max_requests, K_INT, 1, INT_MAX),
    F_NUM(web_max_body, K_SIZE, 1, 1LL << 40),
    F_STR(log_level, K_LEVEL),
    F_DER(secret_key_file),
    F_STR(base_url, K_URL),
    F_NUM(tick_seconds, K_INT, 1, 3600),
    F_NUM(db_connect_timeout, K_INT, 1, 300),
};

#define NSETTINGS (sizeof fields / sizeof fields[0])
_Static_assert(sizeof settings / sizeof settings[0] == NSETTINGS + 1,
               "settings[] and fields[] must have one row per setting");

const config_setting *config_settings(void)
{
    return settings;
}

static int find_setting(const char *name, size_t len)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].name) == len && memcmp(settings[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* ---- values ------------------------------------------------------------ */

/* Parse a signed integer in base with an optional size suffix; 0 on
 * success. Rejects empty strings, junk, and overflow. */
static int parse_number(const char *s, int base, int suffixes, long long *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, base);
    if (errno || end == s)
        return -1;
    if (suffixes && *end) {
        int shift;
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return -1;
        }
        end++;
        if (v > (LLONG_MAX >> shift) || v < -(LLONG_MAX >> shift))
            return -1;
        v *= 1LL << shift;
    }
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static const char *range_text(const struct field *f, char *buf, size_t n)
{
    switch (f->kind) {
    case K_OCTAL: snprintf(buf, n, "an octal mode 0-%llo", (unsigned long long)f->max); break;
    case K_SIZE: snprintf(buf, n, "a byte count >= %lld (suffixes k, M, G)", f->min); break;
    default: snprintf(buf, n, "an integer in %lld..%lld", f->min, f->max); break;
    }
    return buf;
}

/* Store value (a C string) into setting i of cfg; where names the source
 * ("SLUICE_X", "file line 3") for the error message. */
static sl_err set_value(sl_config *cfg, size_t i, const char *value, const char *where,
                        sl_errbuf *eb)
{
    const struct field *f = &fields[i];
    const char *name = settings[i].name;
    char *p = (char *)cfg + f->off;
    char rt[96];
    long long v;

    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c < 0x20 && *c != '\t')
            return sl_fail(eb, SL_ECONFIG, "%s: %s contains a control character", where, name);

    switch (f->kind) {
    case K_URL:
        if (value[0] && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
            return sl_fail(eb, SL_ECONFIG, "%s: %s must start with http:// or https://, got '%.64s'",
                           where, name, value);
        /* fall through */
    case K_STR:
    case K_LEVEL: {
        size_t n = strlen(value);
        if (n >= f->size)
            return sl_fail(eb, SL_ECONFIG, "%s: %s is too long (%zu bytes, at most %zu)", where,
                           name, n, f->size - 1);
        if (f->kind == K_LEVEL && log_level_parse(value) < 0)
            return sl_fail(eb, SL_ECONFIG,
                           "%s: %s must be debug, info, warn or error, got '%.32s'", where, name,
                           value);
        memcpy(p, value, n + 1);
        return SL_OK;
    }
    case K_INT:
    case K_OCTAL:
    case K_SIZE:
        if (parse_number(value, f->kind == K_OCTAL ? 8 : 10, f->kind == K_SIZE, &v) != 0 ||
            v < f->min || v > f->max)
            return sl_fail(eb, SL_ECONFIG, "%s: %s must be %s, got '%.64s'", where, name,
                           range_text(f, rt, sizeof rt), value);
        if (f->size == sizeof(int)) {
            int iv = (int)v;
            memcpy(p, &iv, sizeof iv);
        } else {
            memcpy(p, &v, sizeof v);
        }
        return SL_OK;
    }
    return sl_fail(eb, SL_EINTERNAL, "setting %s has no kind", name);
}

/* ---- the file format --------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parse one line [s, e) (no newline). */
static sl_err parse_line(sl_config *cfg, const char *s, const char *e, const char *origin,
                         int lineno, sl_errbuf *eb)
{
    char where[CFG_STR + 32];
    snprintf(where, sizeof where, "%s line %d", origin, lineno);

    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    if (s == e || *s == '#')
        return SL_OK;
    if (memchr(s, '\0', (size_t)(e - s)))
        return sl_fail(eb, SL_ECONFIG, "%s: NUL byte", where);

    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (!eq)
        return sl_fail(eb, SL_ECONFIG, "%s: expected 'key = value'", where);
    const char *ke = eq;
    while (ke > s && is_space(ke[-1]))
        ke--;
    if (ke == s)
        return sl_fail(eb, SL_ECONFIG, "%s: missing setting name before '='", where);
    int i = find_setting(s, (size_t)(ke - s));
    if (i < 0)
        return sl_fail(eb, SL_ECONFIG, "%s: unknown setting '%.*s'", where,
                       (int)((ke - s) > 64 ? 64 : (ke - s)), s);

    const char *v = eq + 1;
    while (v < e && is_space(*v))
        v++;
    if (v < e && *v == '"') {
        if (e - v < 2 || e[-1] != '"')
            return sl_fail(eb, SL_ECONFIG, "%s: %s: unterminated quoted value", where,
                           settings[i].name);
        v++;
        e--;
    }
    size_t n = (size_t)(e - v);
    if (n >= CFG_STR)
        return sl_fail(eb, SL_ECONFIG, "%s: %s is too long (%zu bytes, at most %d)", where,
                       settings[i].name, n, CFG_STR - 1);
    char value[CFG_STR];
    memcpy(value, v, n);
    value[n] = '\0';
    return set_value(cfg, (size_t)i, value, where, eb);
}

sl_err config_parse_buffer(sl_config *cfg, const char *buf, size_t len, const char *origin,
                           sl_errbuf *eb)
{
    const char *p = buf, *end = buf + len;
    int lineno = 0;
    if (!origin)
        origin = "config";
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (lineno == INT_MAX)
            return sl_fail(eb, SL_ECONFIG, "%s: too many lines", origin);
        sl_err e = parse_line(cfg, p, le, origin, ++lineno, eb);
        if (e)
            return e;
        p = nl ? nl + 1 : end;
    }
    return SL_OK;
}

/* Read a whole (small) file into a heap buffer; the caller frees *out. */
static sl_err read_file(const char *path, char **out, size_t *outlen, sl_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sl_fail(eb, SL_ECONFIG, "cannot open config file %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= (1u << 20)) {
                free(buf);
                fclose(f);
                return sl_fail(eb, SL_ECONFIG, "config file %s is larger than 1 MiB", path);
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return sl_fail(eb, SL_ECONFIG, "cannot read config file %s", path);
    }
    *out = buf;
    *outlen = len;
    return SL_OK;
}

/* ---- paths ------------------------------------------------------------- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Make path (a field of size CFG_STR) absolute against the current
 * directory. "./x" becomes "<cwd>/x"; "." becomes "<cwd>". */
static sl_err absolutize(char *path, const char *name, sl_errbuf *eb)
{
    if (path[0] == '/' || path[0] == '\0')
        return SL_OK;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return sl_fail(eb, SL_ECONFIG, "%s: cannot resolve '%s': getcwd: %s", name, path,
                       strerror(errno));
    const char *rel = path;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    if (strcmp(rel, ".") == 0)
        rel = "";
    char tmp[CFG_STR];
    int n = snprintf(tmp, sizeof tmp, "%s%s%s", cwd, rel[0] && strcmp(cwd, "/") ? "/" : "", rel);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return sl_fail(eb, SL_ECONFIG, "%s: '%s' is too long once made absolute", name, path);
    memcpy(path, tmp, (size_t)n + 1);
    return SL_OK;
}

/* Store realpath(dir) into out if dir exists and has a sql/ directory. */
static int try_share(const char *dir, char *out, size_t outlen)
{
    char probe[PATH_MAX + 8];
    if ((size_t)snprintf(probe, sizeof probe, "%s/sql", dir) >= sizeof probe || !is_dir(probe))
        return 0;
    char real[PATH_MAX];
    if (!realpath(dir, real) || strlen(real) >= outlen)
        return 0;
    memcpy(out, real, strlen(real) + 1);
    return 1;
}

/* share_dir default: <exe_dir>/../share/sluice (installed), <exe_dir>/..
 * (the repo's bin/), the current directory if it has sql/, else
 * <exe_dir>/.. anyway, else ".". */
static void derive_share_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cand[PATH_MAX + 32];
            snprintf(cand, sizeof cand, "%s/../share/sluice", exe);
            if (try_share(cand, out, outlen))
                return;
            snprintf(cand, sizeof cand, "%s/..", exe);
            if (try_share(cand, out, outlen))
                return;
            if (try_share(".", out, outlen))
                return;
            char real[PATH_MAX];
            if (realpath(cand, real) && strlen(real) < outlen) {
                memcpy(out, real, strlen(real) + 1);
                return;
            }
        }
    }
    snprintf(out, outlen, ".");
}

static sl_err derive_under_var(char *field, size_t size, const char *var, const char *leaf,
                               const char *name, sl_errbuf *eb)
{
    if (field[0])
        return SL_OK;
    int n = snprintf(field, size, "%s/%s", var, leaf);
    if (n < 0 || (size_t)n >= size) {
        field[0] = '\0';
        return sl_fail(eb, SL_ECONFIG, "%s: '%s/%s' is too long", name, var, leaf);
    }
    return SL_OK;
}

/* ---- loading ----------------------------------------------------------- */

static sl_err apply_defaults(sl_config *cfg, sl_errbuf *eb)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (fields[i].derived)
            continue;
        sl_err e = set_value(cfg, i, settings[i].def, "default", eb);
        if (e)
            return e;
    }
    return SL_OK;
}

/* Environment variables that are set and non-empty override everything. */
static sl_err apply_env(sl_config *cfg, sl_errbuf *eb)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = getenv(settings[i].env);
        if (!v || !v[0])
            continue;
        sl_err e = set_value(cfg, i, v, settings[i].env, eb);
        if (e)
            return e;
    }
    return SL_OK;
}

/* Find and parse the config file; records its path in cfg->config_file. */
static sl_err apply_file(sl_config *cfg, sl_errbuf *eb)
{
    char path[CFG_STR];
    const char *explicit_path = getenv("SLUICE_CONFIG");
    if (explicit_path && explicit_path[0]) {
        if (strlen(explicit_path) >= sizeof path)
            return sl_fail(eb, SL_ECONFIG, "SLUICE_CONFIG: path is too long");
        snprintf(path, sizeof path, "%s", explicit_path);
        if (!file_exists(path))
            return sl_fail(eb, SL_ECONFIG, "SLUICE_CONFIG: config file %s does not exist", path);
    } else {
        /* The file lives in the var dir the environment (or default) names. */
        const char *var = getenv("SLUICE_VAR");
        if (!var || !var[0])
            var = cfg->var_dir;
        int n = snprintf(path, sizeof path, "%s/sluice.conf", var);
        if (n < 0 || (size_t)n >= sizeof path || !file_exists(path))
            return SL_OK;
    }
    char *buf = NULL;
    size_t len = 0;
    sl_err e = read_file(path, &buf, &len, eb);
    if (e)
        return e;
    e = config_parse_buffer(cfg, buf, len, path, eb);
    free(buf);
    if (e)
        return e;
    memcpy(cfg->config_file, path, strlen(path) + 1);
    return absolutize(cfg->config_file, "config_file", eb);
}

sl_err config_load(sl_config *cfg, sl_errbuf *eb)
{
    sl_err e;
    if ((e = apply_defaults(cfg, eb)) || (e = apply_file(cfg, eb)) || (e = apply_env(cfg, eb)))
        return e;
    if (!cfg->var_dir[0])
        return sl_fail(eb, SL_ECONFIG, "var_dir must not be empty");
    if ((e = absolutize(cfg->var_dir, "var_dir", eb)))
        return e;
    if (!cfg->share_dir[0])
        derive_share_dir(cfg->share_dir, sizeof cfg->share_dir);
    if ((e = derive_under_var(cfg->web_socket, sizeof cfg->web_socket, cfg->var_dir,
                              "run/sluice-web.sock", "web_socket", eb)) ||
        (e = derive_under_var(cfg->secret_key_file, sizeof cfg->secret_key_file, cfg->var_dir,
                              "secret.key", "secret_key_file", eb)))
        return e;
    if ((e = absolutize(cfg->share_dir, "share_dir", eb)) ||
        (e = absolutize(cfg->web_socket, "web_socket", eb)) ||
        (e = absolutize(cfg->secret_key_file, "secret_key_file", eb)))
        return e;
    return SL_OK;
}

/* ---- printing and masking ---------------------------------------------- */

/* A bounded writer into a fixed buffer; output is always NUL-terminated and
 * silently truncated at the end. */
typedef struct {
    char *p;
    size_t len, cap;
} outbuf;

static void ob_put(outbuf *o, const char *s, size_t n)
{
    if (o->cap == 0)
        return;
    size_t room = o->cap - 1 - o->len;
    if (n > room)
        n = room;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void mask_query(outbuf *o, const char *q)
{
    /* q is after '?': name=value&name=value */
    while (*q) {
        size_t plen = strcspn(q, "&");
        const char *eq = memchr(q, '=', plen);
        if (eq && (size_t)(eq - q) == 8 && strncmp(q, "password", 8) == 0) {
            ob_put(o, q, 9);
            if (plen > 9)
                ob_put(o, "****", 4);
        } else {
            ob_put(o, q, plen);
        }
        q += plen;
        if (*q == '&')
            ob_put(o, q++, 1);
    }
}

static void mask_uri(outbuf *o, const char *url, const char *auth)
{
    ob_put(o, url, (size_t)(auth - url));
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *c = auth; c < auth + alen; c++)
        if (*c == '@')
            at = c;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon && colon + 1 < at) {
            ob_put(o, auth, (size_t)(colon + 1 - auth));
            ob_put(o, "****", 4);
            ob_put(o, at, (size_t)(auth + alen - at));
        } else {
            ob_put(o, auth, alen);
        }
    } else {
        ob_put(o, auth, alen);
    }
    const char *rest = auth + alen;
    const char *q = strchr(rest, '?');
    if (!q) {
        ob_put(o, rest, strlen(rest));
        return;
    }
    ob_put(o, rest, (size_t)(q + 1 - rest));
    mask_query(o, q + 1);
}

/* key = value conninfo: values may be single-quoted with backslash escapes. */
static void mask_conninfo(outbuf *o, const char *s)
{
    while (*s) {
        const char *start = s;
        while (*s && is_space(*s))
            s++;
        const char *k = s;
        while (*s && *s != '=' && !is_space(*s))
            s++;
        size_t klen = (size_t)(s - k);
        while (*s && is_space(*s))
            s++;
        if (*s != '=') { /* not conninfo after all: copy the rest */
            ob_put(o, start, strlen(start));
            return;
        }
        s++;
        while (*s && is_space(*s))
            s++;
        const char *v = s;
        if (*s == '\'') {
            s++;
            while (*s && *s != '\'') {
                if (*s == '\\' && s[1])
                    s++;
                s++;
            }
            if (*s == '\'')
                s++;
        } else {
            while (*s && !is_space(*s)) {
                if (*s == '\\' && s[1])
                    s++;
                s++;
            }
        }
        ob_put(o, start, (size_t)(v - start));
        if (klen == 8 && strncmp(k, "password", 8) == 0 && s > v)
            ob_put(o, "****", 4);
        else
            ob_put(o, v, (size_t)(s - v));
    }
}

void config_mask_url(const char *url, char *out, size_t outlen)
{
    outbuf o = {out, 0, outlen};
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!url)
        return;
    const char *sep = strstr(url, "://");
    size_t scheme = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (sep && (size_t)(sep - url) == scheme && scheme > 0)
        mask_uri(&o, url, sep + 3);
    else
        mask_conninfo(&o, url);
}

static void value_text(const sl_config *cfg, size_t i, char *buf, size_t n)
{
    const struct field *f = &fields[i];
    const char *p = (const char *)cfg + f->off;
    int iv;
    long long llv;
    switch (f->kind) {
    case K_STR:
    case K_URL:
    case K_LEVEL:
        snprintf(buf, n, "%s", p);
        break;
    case K_INT:
    case K_OCTAL:
        memcpy(&iv, p, sizeof iv);
        snprintf(buf, n, f->kind == K_OCTAL ? "0%o" : "%d", iv);
        break;
    case K_SIZE:
        memcpy(&llv, p, sizeof llv);
        snprintf(buf, n, "%lld", llv);
        break;
    }
}

void config_print(const sl_config *cfg, FILE *out)
{
    fprintf(out, "# config file: %s\n", cfg->config_file[0] ? cfg->config_file : "(none)");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char v[CFG_STR + 16], masked[CFG_STR + 16];
        value_text(cfg, i, v, sizeof v);
        const char *shown = v;
        if (settings[i].secret && v[0]) {
            if (fields[i].off == offsetof(sl_config, database_url)) {
                config_mask_url(v, masked, sizeof masked);
                shown = masked;
            } else {
                shown = "****";
            }
        }
        fprintf(out, "%s = %s\n", settings[i].name, shown);
    }
}

static void md_cell(FILE *out, const char *s, int code)
{
    fputs(code ? " `" : " ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
    fputs(code ? "` |" : " |", out);
}

void config_markdown_table(FILE *out)
{
    fputs("| setting | env | default | description |\n", out);
    fputs("|---|---|---|---|\n", out);
    for (const config_setting *s = settings; s->name; s++) {
        fputs("|", out);
        md_cell(out, s->name, 1);
        md_cell(out, s->env, 1);
        if (s->def[0])
            md_cell(out, s->def, 1);
        else
            md_cell(out, "(none)", 0);
        md_cell(out, s->help, 0);
        fputc('\n', out);
    }
}
