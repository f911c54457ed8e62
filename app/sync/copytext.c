/* copytext.c - PostgreSQL COPY text format: fields, escapes, rows as JSON.
 *
 * The rules are the server's own (copyfromparse.c, copyto.c): a tab always
 * separates fields (a tab inside a value is written as \t), "\N" compared
 * before decoding means NULL, and escapes are decoded as the server decodes
 * them. Entry points: ct_split / ct_field_at to find fields, ct_decode /
 * ct_encode for values, ct_row_json / ct_row_from_json for dead letters
 * and raw mode. */
#include "copytext.h"

#include <stdlib.h>
#include <string.h>

/* ---- fields -------------------------------------------------------------- */

static size_t strip_newline(const char *row, size_t len)
{
    if (len > 0 && row[len - 1] == '\n')
        len--;
    return len;
}

static void set_field(ct_field *f, const char *p, size_t n)
{
    f->p = p;
    f->len = n;
    f->null = n == 2 && p[0] == '\\' && p[1] == 'N';
}

int ct_split(const char *row, size_t len, ct_field *f, int max)
{
    len = strip_newline(row, len);
    const char *p = row, *end = row + len;
    int n = 0;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (n < max)
            set_field(&f[n], p, (size_t)(stop - p));
        n++;
        if (!tab)
            break;
        p = tab + 1;
    }
    return n;
}

int ct_field_at(const char *row, size_t len, int i, ct_field *out)
{
    len = strip_newline(row, len);
    const char *p = row, *end = row + len;
    for (int k = 0; k < i; k++) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        if (!tab)
            return -1;
        p = tab + 1;
    }
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    set_field(out, p, (size_t)((tab ? tab : end) - p));
    return 0;
}

/* ---- escapes ------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

sl_err ct_decode(const ct_field *f, sbuf *b)
{
    if (f->null)
        return SL_OK;
    const char *p = f->p, *end = f->p + f->len;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        const char *stop = bs ? bs : end;
        sl_err e = sb_append(b, p, (size_t)(stop - p));
        if (e != SL_OK || !bs)
            return e;
        p = bs + 1;
        if (p >= end)
            return SL_OK; /* a lone trailing backslash is dropped */
        char c = *p++;
        switch (c) {
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            int v = c - '0';
            for (int k = 0; k < 2 && p < end && *p >= '0' && *p <= '7'; k++)
                v = v * 8 + (*p++ - '0');
            c = (char)(v & 0xff);
            break;
        }
        case 'x':
            if (p < end && hexval(*p) >= 0) {
                int v = hexval(*p++);
                if (p < end && hexval(*p) >= 0)
                    v = v * 16 + hexval(*p++);
                c = (char)v;
            }
            break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'v': c = '\v'; break;
        default: break; /* \c is c */
        }
        e = sb_putc(b, c);
        if (e != SL_OK)
            return e;
    }
    return SL_OK;
}

/* The escape letter for byte c, or 0 when c is written as it is. */
static char escape_of(unsigned char c)
{
    switch (c) {
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\v': return 'v';
    default: return 0;
    }
}

sl_err ct_encode(const char *s, size_t n, sbuf *b)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char esc = escape_of((unsigned char)s[i]);
        if (!esc)
            continue;
        char pair[2] = {'\\', esc};
        sl_err e = sb_append(b, s + start, i - start);
        if (e == SL_OK)
            e = sb_append(b, pair, 2);
        if (e != SL_OK)
            return e;
        start = i + 1;
    }
    return sb_append(b, s + start, n - start);
}

/* ---- JSON ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid.
 * Rejects overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

static const char REPLACEMENT[] = "\\ufffd";

sl_err ct_json_string(const char *s, size_t n, sbuf *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    sl_err e = sb_putc(out, '"');
    size_t start = 0, i = 0;
    while (e == SL_OK && i < n) {
        unsigned char c = u[i];
        size_t ulen = c >= 0x80 ? utf8_len(u + i, n - i) : 1;
        if (c >= 0x20 && c != '"' && c != '\\' && ulen > 0) {
            i += ulen;
            continue;
        }
        e = sb_append(out, s + start, i - start);
        if (e != SL_OK)
            break;
        if (c == '"' || c == '\\') {
            char pair[2] = {'\\', (char)c};
            e = sb_append(out, pair, 2);
        } else if (c == 0 || ulen == 0) {
            e = sb_append(out, REPLACEMENT, sizeof REPLACEMENT - 1);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            e = sb_append(out, esc, sizeof esc);
        }
        i++;
        start = i;
    }
    if (e == SL_OK)
        e = sb_append(out, s + start, n - start);
    if (e == SL_OK)
        e = sb_putc(out, '"');
    return e;
}

/* Whether s is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s, size_t n)
{
    size_t i = 0;
#define DIGITS_FROM(i) ((i) < n && s[i] >= '0' && s[i] <= '9')
    if (i < n && s[i] == '-')
        i++;
    if (!DIGITS_FROM(i))
        return 0;
    if (s[i] == '0')
        i++;
    else
        while (DIGITS_FROM(i))
            i++;
    if (i < n && s[i] == '.') {
        i++;
        if (!DIGITS_FROM(i))
            return 0;
        while (DIGITS_FROM(i))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!DIGITS_FROM(i))
            return 0;
        while (DIGITS_FROM(i))
            i++;
    }
#undef DIGITS_FROM
    return i == n;
}

/* Whether s is one JSON value that jsonb will take (jansson's reading,
 * which refuses \u0000 and numbers it cannot hold: those stay strings). */
static int is_json_value(const char *s, size_t n)
{
    json_error_t err;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &err);
    if (!v)
        return 0;
    json_decref(v);
    return 1;
}

static sl_err json_value(const char *s, size_t n, enum ct_kind kind, sbuf *out)
{
    switch (kind) {
    case CT_NUMBER:
        if (is_json_number(s, n))
            return sb_append(out, s, n);
        break;
    case CT_BOOL:
        if (n == 1 && (s[0] == 't' || s[0] == 'f'))
            return sb_puts(out, s[0] == 't' ? "true" : "false");
        break;
    case CT_JSON:
        if (is_json_value(s, n))
            return sb_append(out, s, n);
        break;
    case CT_TEXT:
        break;
    }
    return ct_json_string(s, n, out);
}

sl_err ct_row_json(const char *row, size_t len, const char *const *names,
                   const enum ct_kind *kinds, int ncols, sbuf *scratch, sbuf *out)
{
    size_t body = strip_newline(row, len);
    const char *p = row, *end = row + body;
    int more = 1; /* fields remain in the row */
    sl_err e = sb_putc(out, '{');
    for (int i = 0; i < ncols && e == SL_OK; i++) {
        ct_field f = {NULL, 0, 1};
        if (more) {
            const char *tab = memchr(p, '\t', (size_t)(end - p));
            set_field(&f, p, (size_t)((tab ? tab : end) - p));
            more = tab != NULL;
            p = tab ? tab + 1 : end;
        }
        if (i > 0)
            e = sb_putc(out, ',');
        if (e == SL_OK)
            e = ct_json_string(names[i], strlen(names[i]), out);
        if (e == SL_OK)
            e = sb_putc(out, ':');
        if (e != SL_OK)
            break;
        if (f.null) {
            e = sb_puts(out, "null");
            continue;
        }
        sb_clear(scratch);
        e = ct_decode(&f, scratch);
        if (e == SL_OK)
            e = json_value(scratch->ptr ? scratch->ptr : "", scratch->len,
                           kinds ? kinds[i] : CT_TEXT, out);
    }
    if (e == SL_OK)
        e = sb_putc(out, '}');
    return e;
}

sl_err ct_row_from_json(const json_t *obj, const char *const *names, int ncols, sbuf *out)
{
    if (!json_is_object(obj))
        return SL_EINVAL;
    sl_err e = SL_OK;
    for (int i = 0; i < ncols && e == SL_OK; i++) {
        if (i > 0)
            e = sb_putc(out, '\t');
        const json_t *v = json_object_get(obj, names[i]);
        if (e != SL_OK)
            break;
        if (!v || json_is_null(v)) {
            e = sb_append(out, "\\N", 2);
        } else if (json_is_string(v)) {
            e = ct_encode(json_string_value(v), json_string_length(v), out);
        } else {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!text)
                sl_panic("json_dumps: out of memory");
            e = ct_encode(text, strlen(text), out);
            free(text);
        }
    }
    if (e == SL_OK)
        e = sb_putc(out, '\n');
    return e;
}
