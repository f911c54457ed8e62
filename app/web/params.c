/* params.c - declared request parameters and strict value parsers (see
 * params.h).
 *
 * Everything here is pure string work on request data that is already in
 * the request arena; nothing touches the database or the response. Page
 * cursors are base64url (libsodium) so they travel in query strings as
 * they are; they are opaque to clients, not secret or signed: a forged one
 * can only name another place to start a keyset walk, and callers check
 * each field's shape before it reaches SQL. */
#include "params.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* errors[key] = msg unless set; a key that is not valid UTF-8 (JSON keys
 * must be) is reported under "query". 1 when something was added. */
static int add_error(json_t *errors, const char *key, const char *msg)
{
    if (json_object_get(errors, key))
        return 0;
    if (json_object_set_new(errors, key, json_string(msg)) == 0)
        return 1;
    if (json_object_get(errors, "query"))
        return 0;
    return json_object_set_new(errors, "query",
                               json_string("a parameter name is not valid UTF-8")) == 0;
}

const char *params_query(const request *r, const char *name, json_t *errors)
{
    http_qpair q;
    if (!http_query_find(r, name, &q))
        return NULL;
    if (!q.value)
        return "";
    char *v = http_decode(r->a, q.value, q.value_len, 1);
    if (!v)
        add_error(errors, name, "bad escape or control character");
    return v;
}

int params_undeclared(const request *r, const char *const *declared, json_t *errors)
{
    int added = 0;
    const char *p = r->query;
    http_qpair q;
    while (http_query_next(&p, &q)) {
        if (q.name_len == 0)
            continue;
        char *key = http_decode(r->a, q.name, q.name_len, 1);
        int known = 0;
        for (size_t i = 0; key && declared[i]; i++)
            if (strcmp(declared[i], key) == 0)
                known = 1;
        size_t shown = q.name_len > 64 ? 64 : q.name_len;
        if (!key)
            added += add_error(errors, arena_strndup(r->a, q.name, shown), "bad escape");
        else if (!known)
            added += add_error(errors, key, "unknown parameter");
    }
    return added;
}

int params_int(const char *s, long long min, long long max, long long *out)
{
    if (!s)
        return 0;
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!*d)
        return 0;
    for (const char *q = d; *q; q++)
        if (*q < '0' || *q > '9')
            return 0;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int params_date(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        return 0;
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int last = mdays[m - 1] + (m == 2 && leap);
    return d <= last;
}

long params_utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p;
        int extra;
        unsigned cp, min;
        if (c < 0x80) {
            p++;
            n++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return -1;
        }
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        p += extra + 1;
        n++;
    }
    return n;
}

int params_has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

int params_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || strlen(s) > PARAMS_EMAIL_MAX ||
        params_utf8_len(s) < 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("<>()[],;:\"\\", *p))
            return 0;
    const char *d = at + 1;
    if (!*d)
        return 0;
    for (const char *label = d;;) {
        const char *dot = strchr(label, '.');
        size_t n = dot ? (size_t)(dot - label) : strlen(label);
        if (n == 0 || label[0] == '-' || label[n - 1] == '-')
            return 0;
        if (!dot)
            return 1;
        label = dot + 1;
    }
}

char *params_urlencode(arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = arena_alloc(a, strlen(s) * 3 + 1), *q = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *q++ = (char)*p;
        } else {
            *q++ = '%';
            *q++ = hex[*p >> 4];
            *q++ = hex[*p & 15];
        }
    }
    *q = '\0';
    return out;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

const char *params_trim(arena *a, const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n && is_space(s[i]))
        i++;
    while (n > i && is_space(s[n - 1]))
        n--;
    if (i == 0 && s[n] == '\0')
        return s;
    return arena_strndup(a, s + i, n - i);
}

int params_timestamp(const char *s)
{
    int h, mi, sec;
    if (!s || strlen(s) < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!params_date(date) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &sec) || h > 23 || mi > 59 || sec > 59)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        size_t n = strspn(p + 1, "0123456789");
        if (n < 1 || n > 6)
            return 0;
        p += 1 + n;
    }
    return strcmp(p, "Z") == 0;
}

/* --- API paging ---------------------------------------------------------------------- */

char *params_cursor_make(arena *a, int n, const char *const *fields)
{
    const char *raw = "";
    for (int i = 0; i < n; i++)
        raw = arena_printf(a, "%s%s%s", raw, i ? "\n" : "", fields[i]);
    size_t len = strlen(raw);
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, cap);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

int params_cursor_parse(arena *a, const char *cursor, int n, const char **fields)
{
    size_t len = strlen(cursor);
    if (len == 0 || len > PARAMS_CURSOR_MAX || n < 1 || n > PARAMS_CURSOR_FIELDS)
        return 0;
    unsigned char *bin = arena_alloc(a, len + 1);
    size_t got = 0;
    if (sodium_base642bin(bin, len, cursor, len, NULL, &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return 0;
    bin[got] = '\0';
    if (memchr(bin, '\0', got))
        return 0;
    const char *part[PARAMS_CURSOR_FIELDS];
    char *s = (char *)bin;
    for (int i = 0; i < n; i++) {
        part[i] = s;
        char *nl = strchr(s, '\n');
        if ((nl != NULL) != (i < n - 1))
            return 0; /* too few or too many fields */
        if (nl) {
            *nl = '\0';
            s = nl + 1;
        }
        if (params_utf8_len(part[i]) < 0 || params_has_control(part[i]))
            return 0;
    }
    memcpy(fields, part, (size_t)n * sizeof *fields);
    return 1;
}

int params_page(const request *r, int n, int (*check)(const char *const *fields),
                const char **fields, long long *limit, json_t *errors)
{
    for (int i = 0; i < n; i++)
        fields[i] = NULL;
    *limit = PARAMS_LIMIT_DEFAULT;
    const char *s = params_query(r, "limit", errors);
    if (s && !params_int(s, 1, PARAMS_LIMIT_MAX, limit))
        add_error(errors, "limit", "must be an integer from 1 to 200");
    const char *cursor = params_query(r, "cursor", errors);
    if (!cursor)
        return 0;
    const char *got[PARAMS_CURSOR_FIELDS];
    if (!params_cursor_parse(r->a, cursor, n, got) || (check && !check(got))) {
        add_error(errors, "cursor", "is not a cursor this API returned (next_cursor)");
        return 0;
    }
    memcpy(fields, got, (size_t)n * sizeof *fields);
    return 1;
}

json_t *params_page_json(json_t *items, const char *next_cursor)
{
    json_t *body = json_object();
    json_object_set_new(body, "items", items);
    json_object_set_new(body, "next_cursor", next_cursor ? json_string(next_cursor) : json_null());
    return body;
}
