/* landing_types.c - the column types of landing files: names, the check
 * every value passes before it is sent to COPY, inference from the data,
 * safe column names, and a record turned into one COPY text row.
 *
 * The checks are the destination's own input rules, narrowed to forms
 * that mean one thing (ISO dates, '.' as the decimal point), so a row that
 * passes here loads; what the destination still refuses (a value past a
 * numeric(p,s), a constraint on an existing table) is isolated by the
 * loader. landing_parse.h lists the forms each type takes. */
#include "sync/landing_parse.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- type names ---------------------------------------------------------------- */

static const struct {
    const char *name;
    lp_type t;
} type_names[] = {
    {"int", LT_INT},        {"integer", LT_INT},   {"int4", LT_INT},
    {"bigint", LT_BIGINT},  {"int8", LT_BIGINT},   {"numeric", LT_NUMERIC},
    {"decimal", LT_NUMERIC}, {"boolean", LT_BOOL}, {"bool", LT_BOOL},
    {"date", LT_DATE},      {"timestamptz", LT_TIMESTAMPTZ},
    {"timestamp", LT_TIMESTAMPTZ}, {"text", LT_TEXT}, {"jsonb", LT_JSONB},
    {"json", LT_JSONB},
};

int lp_type_parse(const char *name, lp_type *out)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcasecmp(name, type_names[i].name) == 0) {
            *out = type_names[i].t;
            return 0;
        }
    }
    return -1;
}

const char *lp_type_name(lp_type t)
{
    switch (t) {
    case LT_TEXT: return "text";
    case LT_INT: return "int";
    case LT_BIGINT: return "bigint";
    case LT_NUMERIC: return "numeric";
    case LT_BOOL: return "boolean";
    case LT_DATE: return "date";
    case LT_TIMESTAMPTZ: return "timestamptz";
    case LT_JSONB: return "jsonb";
    case LT_ANY: return "any";
    }
    return "?";
}

const char *lp_type_sql(lp_type t)
{
    switch (t) {
    case LT_INT: return "integer";
    case LT_BIGINT: return "bigint";
    case LT_NUMERIC: return "numeric";
    case LT_BOOL: return "boolean";
    case LT_DATE: return "date";
    case LT_TIMESTAMPTZ: return "timestamp with time zone";
    case LT_JSONB: return "jsonb";
    case LT_TEXT:
    case LT_ANY: return "text";
    }
    return "text";
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

lp_type lp_type_of_pg(const char *ft)
{
    if (strcmp(ft, "integer") == 0 || strcmp(ft, "smallint") == 0)
        return LT_INT;
    if (strcmp(ft, "bigint") == 0)
        return LT_BIGINT;
    if (starts(ft, "numeric") || strcmp(ft, "real") == 0 || strcmp(ft, "double precision") == 0)
        return LT_NUMERIC;
    if (strcmp(ft, "boolean") == 0)
        return LT_BOOL;
    if (strcmp(ft, "date") == 0)
        return LT_DATE;
    if (starts(ft, "timestamp"))
        return LT_TIMESTAMPTZ;
    if (strcmp(ft, "text") == 0 || starts(ft, "character"))
        return LT_TEXT;
    if (strcmp(ft, "json") == 0 || strcmp(ft, "jsonb") == 0)
        return LT_JSONB;
    return LT_ANY;
}

enum ct_kind lp_type_kind(lp_type t)
{
    switch (t) {
    case LT_INT:
    case LT_BIGINT:
    case LT_NUMERIC: return CT_NUMBER;
    case LT_BOOL: return CT_BOOL;
    case LT_JSONB: return CT_JSON;
    case LT_TEXT:
    case LT_DATE:
    case LT_TIMESTAMPTZ:
    case LT_ANY: return CT_TEXT;
    }
    return CT_TEXT;
}

/* ---- UTF-8 ------------------------------------------------------------------------ */

int lp_utf8_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
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
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

/* ---- value forms ------------------------------------------------------------------ */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1]))
        (*n)--;
}

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

/* An integer within [min, max]: 1 fits, 0 not an integer, -1 out of range.
 * *lead0 says whether it has a leading zero (and more digits). */
static int integer(const char *s, size_t n, int64_t min, int64_t max, int *lead0)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return 0;
    if (lead0)
        *lead0 = s[i] == '0' && n - i > 1;
    uint64_t v = 0, lim = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
    int over = 0;
    for (; i < n; i++) {
        if (!digit(s[i]))
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    return over ? -1 : 1;
}

#define EXP_MAX 1000 /* |exponent| of a numeric; past it, out of range */

/* A decimal number: 1 fits, 0 not a number, -1 out of range. *lead0 as
 * integer(). */
static int decimal(const char *s, size_t n, int *lead0)
{
    size_t i = 0, intd = 0, fracd = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t start = i;
    while (i < n && digit(s[i])) {
        i++;
        intd++;
    }
    if (lead0)
        *lead0 = intd > 1 && s[start] == '0';
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && digit(s[i])) {
            i++;
            fracd++;
        }
    }
    if (intd + fracd == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n || !digit(s[i]))
            return 0;
        long e = 0;
        for (; i < n && digit(s[i]); i++)
            if (e <= EXP_MAX)
                e = e * 10 + (s[i] - '0');
        if (i < n)
            return 0;
        return e > EXP_MAX ? -1 : 1;
    }
    return i == n ? 1 : 0;
}

static const char *const true_words[] = {"true", "t", "yes", "y", "on", "1", NULL};
static const char *const false_words[] = {"false", "f", "no", "n", "off", "0", NULL};

/* 't', 'f', or 0 when s is not a boolean. strict: only the words
 * inference takes (true/false/t/f/yes/no). */
static char boolean(const char *s, size_t n, int strict)
{
    int last = strict ? 3 : 6;
    for (int i = 0; true_words[i] && i < last; i++) {
        if (strlen(true_words[i]) == n && strncasecmp(s, true_words[i], n) == 0)
            return 't';
        if (strlen(false_words[i]) == n && strncasecmp(s, false_words[i], n) == 0)
            return 'f';
    }
    return 0;
}

/* n digits at s as a number, or -1. */
static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY-MM-DD at s (at least 10 bytes): 1 a real day, 0 not. */
static int ymd(const char *s, size_t n)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n < 10 || s[4] != '-' || s[7] != '-')
        return 0;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return 0;
    int max = days[m - 1] + (m == 2 && leap(y));
    return d <= max;
}

/* An offset at s[0..n): Z, or [+-]HH, [+-]HH:MM, [+-]HHMM. */
static int offset(const char *s, size_t n)
{
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z'))
        return 1;
    if (n < 3 || (s[0] != '+' && s[0] != '-'))
        return 0;
    int h = num(s + 1, 2), m = 0;
    if (n == 6 && s[3] == ':')
        m = num(s + 4, 2);
    else if (n == 5)
        m = num(s + 3, 2);
    else if (n != 3)
        return 0;
    return h >= 0 && h <= 15 && m >= 0 && m <= 59;
}

/* A timestamp (a date alone counts: midnight UTC). */
static int timestamp(const char *s, size_t n)
{
    if (!ymd(s, n))
        return 0;
    if (n == 10)
        return 1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return 0;
    size_t i = 11;
    if (n < i + 5 || s[i + 2] != ':')
        return 0;
    int h = num(s + i, 2), mi = num(s + i + 3, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59)
        return 0;
    i += 5;
    if (i < n && s[i] == ':') {
        int sec = n >= i + 3 ? num(s + i + 1, 2) : -1;
        if (sec < 0 || sec > 59)
            return 0;
        i += 3;
        if (i < n && s[i] == '.') {
            size_t f = ++i;
            while (i < n && digit(s[i]))
                i++;
            if (i == f || i - f > 9)
                return 0;
        }
    }
    if (i < n && s[i] == ' ')
        i++;
    return i == n || offset(s + i, n - i);
}

static int json_ok(const char *s, size_t n)
{
    json_error_t err;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &err);
    if (!v)
        return 0;
    json_decref(v);
    return 1;
}

/* ---- values --------------------------------------------------------------------- */

static const char *put(sbuf *out, const char *s, size_t n)
{
    size_t before = out->len;
    if (ct_encode(s, n, out) != SL_OK) {
        out->len = before;
        if (out->ptr)
            out->ptr[before] = '\0';
        return "is too long";
    }
    return NULL;
}

static const char *put_null(sbuf *out)
{
    return sb_append(out, "\\N", 2) == SL_OK ? NULL : "is too long";
}

/* A non-text type's value from its text s[0..n) (already UTF-8 checked). */
static const char *typed(lp_type t, const char *s, size_t n, sbuf *out)
{
    trim(&s, &n);
    if (n == 0)
        return put_null(out);
    int r;
    switch (t) {
    case LT_INT:
        r = integer(s, n, INT32_MIN, INT32_MAX, NULL);
        return r > 0 ? put(out, s, n) : r < 0 ? "is out of range for int" : "is not an integer";
    case LT_BIGINT:
        r = integer(s, n, INT64_MIN, INT64_MAX, NULL);
        return r > 0 ? put(out, s, n) : r < 0 ? "is out of range for bigint"
                                              : "is not an integer";
    case LT_NUMERIC:
        r = decimal(s, n, NULL);
        return r > 0 ? put(out, s, n) : r < 0 ? "is out of range for numeric"
                                              : "is not a number";
    case LT_BOOL: {
        char b = boolean(s, n, 0);
        return b ? put(out, &b, 1) : "is not a boolean (true/false, yes/no, 1/0)";
    }
    case LT_DATE:
        return n == 10 && ymd(s, n) ? put(out, s, n) : "is not a date (YYYY-MM-DD)";
    case LT_TIMESTAMPTZ:
        return timestamp(s, n) ? put(out, s, n)
                               : "is not a timestamp (YYYY-MM-DD HH:MM:SS[+HH:MM])";
    case LT_JSONB:
        return json_ok(s, n) ? put(out, s, n) : "is not valid JSON";
    case LT_TEXT:
    case LT_ANY:
        break;
    }
    return put(out, s, n);
}

const char *lp_value_copy(lp_type t, const lp_field *f, sbuf *out)
{
    if (f->kind == LP_NULL)
        return put_null(out);
    if (!lp_utf8_ok(f->p, f->n))
        return memchr(f->p, 0, f->n) ? "contains a NUL byte" : "is not valid UTF-8";
    int json = f->raw != NULL;
    if (t == LT_TEXT || t == LT_ANY)
        return put(out, f->p, f->n);
    if (json && t == LT_JSONB)
        return put(out, f->raw, f->raw_n);
    if (f->kind == LP_JCOMPOSITE)
        return t == LT_JSONB ? put(out, f->p, f->n) : "is a JSON object or array";
    return typed(t, f->p, f->n, out);
}

/* ---- names ------------------------------------------------------------------------ */

#define IDENT_MAX 63

char *lp_ident(arena *a, const char *s, size_t n, int pos)
{
    char *out = arena_alloc(a, IDENT_MAX + 3);
    size_t o = 0;
    int gap = 0;
    for (size_t i = 0; i < n && o < IDENT_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit((char)c);
        if (!alnum) {
            gap = 1;
            continue;
        }
        if (o == 0 && digit((char)c)) {
            out[o++] = 'c';
            out[o++] = '_';
        } else if (gap && o > 0) {
            out[o++] = '_';
        }
        gap = 0;
        if (o < IDENT_MAX)
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
    if (o == 0)
        return arena_printf(a, "column_%d", pos);
    return out;
}

static const char *const reserved[] = {"_sluice_file_id", "_sluice_line", "_sluice_loaded_at"};

static int taken(char **names, int upto, const char *name, int self)
{
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
        if (strcmp(reserved[k], name) == 0)
            return 1;
    for (int i = 0; i < upto; i++)
        if (i != self && strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

void lp_dedupe(arena *a, char **names, int n)
{
    for (int i = 0; i < n; i++) {
        if (!taken(names, i, names[i], i))
            continue;
        /* A later name equal to the new one keeps its place: the suffix is
         * chosen against every name, earlier and later. */
        for (int k = 2;; k++) {
            char *cand = arena_printf(a, "%.*s_%d", IDENT_MAX - 8, names[i], k);
            if (!taken(names, n, cand, i)) {
                names[i] = cand;
                break;
            }
        }
    }
}

/* ---- inference -------------------------------------------------------------------- */

#define BIT(t) (1u << (t))
#define ALL_CANDS (BIT(LT_BIGINT) | BIT(LT_NUMERIC) | BIT(LT_BOOL) | BIT(LT_DATE) | BIT(LT_TIMESTAMPTZ))

void lp_infer_init(lp_infer *s)
{
    s->cand = ALL_CANDS;
    s->values = 0;
    s->composite = 0;
}

/* The candidates a value's text fits. */
static unsigned fits_text(const char *s, size_t n, int json_string)
{
    unsigned c = 0;
    int lead0 = 0;
    if (!json_string) {
        if (integer(s, n, INT64_MIN, INT64_MAX, &lead0) > 0 && !lead0)
            c |= BIT(LT_BIGINT);
        lead0 = 0;
        if (decimal(s, n, &lead0) > 0 && !lead0)
            c |= BIT(LT_NUMERIC);
        if (boolean(s, n, 1))
            c |= BIT(LT_BOOL);
    }
    if (n == 10 && ymd(s, n))
        c |= BIT(LT_DATE);
    if (timestamp(s, n))
        c |= BIT(LT_TIMESTAMPTZ);
    return c;
}

void lp_infer_add(lp_infer *s, const lp_field *f)
{
    if (f->kind == LP_NULL)
        return;
    const char *p = f->p;
    size_t n = f->n;
    if (f->kind == LP_TEXT && f->raw == NULL)
        trim(&p, &n);
    if (n == 0 && f->kind == LP_TEXT && f->raw == NULL)
        return;
    s->values++;
    switch (f->kind) {
    case LP_JCOMPOSITE:
        s->composite = 1;
        s->cand = 0;
        return;
    case LP_JBOOL:
        s->cand &= BIT(LT_BOOL);
        return;
    case LP_JNUMBER: {
        unsigned c = BIT(LT_NUMERIC);
        if (integer(p, n, INT64_MIN, INT64_MAX, NULL) > 0)
            c |= BIT(LT_BIGINT);
        s->cand &= c;
        return;
    }
    case LP_TEXT:
        if (!lp_utf8_ok(p, n)) {
            s->cand = 0;
            return;
        }
        s->cand &= fits_text(p, n, f->raw != NULL);
        return;
    case LP_NULL:
        return;
    }
}

lp_type lp_infer_type(const lp_infer *s)
{
    static const lp_type order[] = {LT_BIGINT, LT_NUMERIC, LT_BOOL, LT_DATE, LT_TIMESTAMPTZ};
    if (s->composite)
        return LT_JSONB;
    if (s->values == 0)
        return LT_TEXT;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (s->cand & BIT(order[i]))
            return order[i];
    return LT_TEXT;
}

/* ---- rows ------------------------------------------------------------------------- */

int lp_row_copy(const lp_type *types, int ncols, const lp_field *f, int nf, sbuf *out,
                lp_bad *bad)
{
    size_t before = out->len;
    bad->col = -1;
    bad->why = NULL;
    bad->nfields = nf;
    if (nf != ncols) {
        bad->why = nf < ncols ? "has too few fields" : "has too many fields";
        return -1;
    }
    for (int i = 0; i < ncols; i++) {
        const char *why = i > 0 && sb_putc(out, '\t') != SL_OK ? "is too long" : NULL;
        if (!why)
            why = lp_value_copy(types[i], &f[i], out);
        if (why) {
            out->len = before;
            if (out->ptr)
                out->ptr[before] = '\0';
            bad->col = i;
            bad->why = why;
            return -1;
        }
    }
    return 0;
}
