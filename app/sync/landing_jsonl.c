/* landing_jsonl.c - JSON Lines: lines from a stream of bytes, and one
 * line's object split into its members with each value's exact text.
 *
 * jansson checks the line (valid JSON, UTF-8, no \u0000, no key twice);
 * then a small scanner walks the object's top level and hands each value
 * over as the text the file holds, so numbers keep every digit (jansson
 * would turn 0.1 into a double) and objects and arrays go to jsonb as they
 * are. Keys and string values with escapes are decoded by jansson. */
#include "sync/landing_parse.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- lines ------------------------------------------------------------------------ */

struct lj_reader {
    lj_line_fn fn;
    void *arg;
    sbuf line;
    long long lineno;     /* the line being read (1-based) */
    int too_long;
    int started;          /* the byte order mark question is settled */
    int stop;
};

lj_reader *lj_new(lj_line_fn fn, void *arg)
{
    lj_reader *x = xcalloc(1, sizeof *x);
    x->fn = fn;
    x->arg = arg;
    x->lineno = 1;
    sb_init(&x->line, NULL, LJ_LINE_MAX);
    return x;
}

void lj_free(lj_reader *x)
{
    if (!x)
        return;
    sb_free(&x->line);
    free(x);
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* The line collected so far is complete: hand it over. */
static void emit(lj_reader *x)
{
    const char *p = x->line.ptr ? x->line.ptr : "";
    size_t n = x->line.len;
    if (!x->started) {
        x->started = 1;
        if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
            n -= 3;
        }
    }
    if (n > 0 && p[n - 1] == '\r' && !x->too_long)
        n--;
    if ((x->too_long || !blank(p, n)) && x->fn(x->arg, x->lineno, p, n, x->too_long) != 0)
        x->stop = 1;
    sb_clear(&x->line);
    x->too_long = 0;
    x->lineno++;
}

static void collect(lj_reader *x, const char *s, size_t n)
{
    if (x->too_long)
        return;
    if (sb_append(&x->line, s, n) != SL_OK) {
        size_t room = x->line.max - x->line.len;
        sb_append(&x->line, s, room);
        x->too_long = 1;
    }
}

sl_err lj_feed(lj_reader *x, const char *buf, size_t n)
{
    while (n > 0 && !x->stop) {
        const char *nl = memchr(buf, '\n', n);
        size_t k = nl ? (size_t)(nl - buf) : n;
        collect(x, buf, k);
        if (!nl)
            break;
        emit(x);
        buf += k + 1;
        n -= k + 1;
    }
    return x->stop ? SL_ECONFLICT : SL_OK;
}

sl_err lj_finish(lj_reader *x)
{
    if (!x->stop && (x->line.len > 0 || x->too_long))
        emit(x);
    return x->stop ? SL_ECONFLICT : SL_OK;
}

/* ---- one object ------------------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* The end of the string starting at s[i] == '"' (just past its closing
 * quote); *esc says whether it has escapes. */
static size_t skip_string(const char *s, size_t i, size_t n, int *esc)
{
    *esc = 0;
    for (i++; i < n; i++) {
        if (s[i] == '\\') {
            *esc = 1;
            i++;
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return n;
}

/* The end of the value at s[i] (valid JSON: jansson said so). */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    int esc;
    if (s[i] == '"')
        return skip_string(s, i, n, &esc);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, i, n, &esc);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']')
                depth--;
            i++;
            if (depth == 0)
                return i;
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\r' && s[i] != '\n')
        i++;
    return i;
}

/* The string s[0..n) (with its quotes) decoded, in a. */
static const char *decode(arena *a, const char *s, size_t n, int esc, size_t *len)
{
    if (!esc) {
        *len = n - 2;
        return arena_strndup(a, s + 1, n - 2);
    }
    json_error_t err;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY, &err);
    if (!json_is_string(v)) {
        json_decref(v);
        *len = 0;
        return "";
    }
    *len = json_string_length(v);
    const char *out = arena_memdup(a, json_string_value(v), *len + 1);
    json_decref(v);
    return out;
}

int lj_object(arena *a, const char *line, size_t n, lj_member *m, int max, const char **why)
{
    json_error_t err;
    json_t *doc = json_loadb(line, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
                                          JSON_REJECT_DUPLICATES, &err);
    if (!doc) {
        int dup = strstr(err.text, "duplicate") != NULL;
        *why = dup ? "has a key twice" : arena_printf(a, "is not valid JSON (%s)", err.text);
        return -1;
    }
    int object = json_is_object(doc);
    size_t size = object ? json_object_size(doc) : 0;
    json_decref(doc);
    if (!object) {
        *why = "is not a JSON object";
        return -1;
    }
    if (size > (size_t)max) {
        *why = "has more than 4096 keys";
        return -1;
    }
    size_t i = skip_ws(line, 0, n) + 1; /* past '{' */
    int count = 0;
    for (;;) {
        i = skip_ws(line, i, n);
        if (i >= n || line[i] == '}')
            break;
        if (line[i] == ',') {
            i++;
            continue;
        }
        int esc;
        size_t kend = skip_string(line, i, n, &esc);
        lj_member *mm = &m[count++];
        mm->key = decode(a, line + i, kend - i, esc, &mm->key_n);
        i = skip_ws(line, kend, n) + 1; /* past ':' */
        i = skip_ws(line, i, n);
        size_t vend = skip_value(line, i, n);
        lp_field *f = &mm->v;
        f->raw = line + i;
        f->raw_n = vend - i;
        f->p = f->raw;
        f->n = f->raw_n;
        switch (line[i]) {
        case '"':
            f->kind = LP_TEXT;
            skip_string(line, i, n, &esc);
            f->p = decode(a, line + i, vend - i, esc, &f->n);
            break;
        case '{':
        case '[': f->kind = LP_JCOMPOSITE; break;
        case 't':
        case 'f': f->kind = LP_JBOOL; break;
        case 'n': f->kind = LP_NULL; break;
        default: f->kind = LP_JNUMBER; break;
        }
        i = vend;
        if (count == max)
            break;
    }
    return count;
}
