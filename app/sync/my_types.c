/* my_types.c - MySQL / MariaDB types and values in PostgreSQL terms: the
 * type map (myt_map), values as COPY text (myt_put), and watermark values
 * back as MySQL expressions (myt_literal).
 *
 * Rows come over the text protocol, where most values are already the
 * text PostgreSQL reads (integers, decimals, doubles printed to round-trip,
 * strings in utf8mb4, dates and times with the session in UTC); what
 * needs work is done here: booleans, binary strings as bytea hex, BIT as a
 * bit string, SET as an array, TIMESTAMP with its zone, and zero dates
 * ('0000-00-00', or a zero month or day), which PostgreSQL has no value
 * for and which become NULL, reported to the caller. Nothing allocates
 * except into the buffers and arena given. */
#include "sync/my_types.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PostgreSQL's largest varchar(n); longer strings are text. */
#define PG_VARCHAR_MAX 10485760

/* ---- the type map --------------------------------------------------------- */

/* The number in "(n" / "(n,m" after the base word: args[0], args[1]; -1
 * when absent. */
static void type_args(const char *p, long args[2])
{
    args[0] = args[1] = -1;
    if (*p != '(')
        return;
    char *end;
    args[0] = strtol(p + 1, &end, 10);
    if (end == p + 1)
        args[0] = -1;
    if (*end == ',') {
        const char *q = end + 1;
        args[1] = strtol(q, &end, 10);
        if (end == q)
            args[1] = -1;
    }
}

static int is_word(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(w, *list) == 0)
            return 1;
    return 0;
}

void myt_map(arena *a, const char *column_type, myt_type *out)
{
    static const char *const texts[] = {"tinytext", "text", "mediumtext", "longtext", NULL};
    static const char *const blobs[] = {"binary", "varbinary", "tinyblob", "blob",
                                        "mediumblob", "longblob", NULL};
    static const char *const geometry[] = {"geometry", "point", "linestring", "polygon",
                                           "multipoint", "multilinestring", "multipolygon",
                                           "geometrycollection", "geomcollection", NULL};
    static const char *const decimals[] = {"decimal", "numeric", "dec", "fixed", NULL};
    char w[32];
    size_t n = 0;
    const char *t = column_type ? column_type : "";
    while (t[n] && t[n] != '(' && t[n] != ' ' && n < sizeof w - 1) {
        w[n] = (char)tolower((unsigned char)t[n]);
        n++;
    }
    w[n] = '\0';
    long arg[2];
    type_args(t + n, arg);
    int uns = strstr(t, "unsigned") != NULL;
    memset(out, 0, sizeof *out);
    out->pg_type = "text";
    out->conv = MYT_TEXT;
    out->kind = CT_TEXT;
    if (strcmp(w, "tinyint") == 0 && arg[0] == 1) {
        out->pg_type = "boolean";
        out->conv = MYT_BOOL;
        out->kind = CT_BOOL;
        return;
    }
    out->conv = MYT_NUMBER;
    out->kind = CT_NUMBER;
    if (strcmp(w, "tinyint") == 0) {
        out->pg_type = "smallint";
    } else if (strcmp(w, "smallint") == 0) {
        out->pg_type = uns ? "integer" : "smallint";
    } else if (strcmp(w, "mediumint") == 0) {
        out->pg_type = "integer";
    } else if (strcmp(w, "int") == 0 || strcmp(w, "integer") == 0) {
        out->pg_type = uns ? "bigint" : "integer";
    } else if (strcmp(w, "bigint") == 0) {
        out->pg_type = uns ? "numeric(20,0)" : "bigint";
    } else if (is_word(w, decimals)) {
        long p = arg[0] > 0 ? arg[0] : 10, s = arg[1] >= 0 ? arg[1] : 0;
        out->pg_type = arena_printf(a, "numeric(%ld,%ld)", p, s);
    } else if (strcmp(w, "float") == 0) {
        out->pg_type = "real";
        out->as_double = 1;
    } else if (strcmp(w, "double") == 0 || strcmp(w, "real") == 0) {
        out->pg_type = "double precision";
    } else if (strcmp(w, "year") == 0) {
        out->pg_type = "smallint";
    } else {
        out->conv = MYT_TEXT;
        out->kind = CT_TEXT;
    }
    if (out->conv == MYT_NUMBER)
        return;
    if (strcmp(w, "char") == 0 || strcmp(w, "varchar") == 0) {
        if (arg[0] >= 1 && arg[0] <= PG_VARCHAR_MAX)
            out->pg_type = arena_printf(a, "character varying(%ld)", arg[0]);
    } else if (is_word(w, texts) || strcmp(w, "enum") == 0) {
        out->pg_type = "text";
    } else if (is_word(w, blobs) || is_word(w, geometry)) {
        out->pg_type = "bytea";
        out->conv = MYT_BYTES;
    } else if (strcmp(w, "date") == 0) {
        out->pg_type = "date";
        out->conv = MYT_DATE;
    } else if (strcmp(w, "datetime") == 0) {
        out->pg_type = arena_printf(a, "timestamp(%ld) without time zone",
                                    arg[0] >= 0 && arg[0] <= 6 ? arg[0] : 0);
        out->conv = MYT_DATETIME;
    } else if (strcmp(w, "timestamp") == 0) {
        out->pg_type = arena_printf(a, "timestamp(%ld) with time zone",
                                    arg[0] >= 0 && arg[0] <= 6 ? arg[0] : 0);
        out->conv = MYT_TIMESTAMP;
    } else if (strcmp(w, "time") == 0) {
        out->pg_type = "interval"; /* -838:59:59 .. 838:59:59: a duration */
    } else if (strcmp(w, "json") == 0) {
        out->pg_type = "jsonb";
        out->kind = CT_JSON;
    } else if (strcmp(w, "set") == 0) {
        out->pg_type = "text[]";
        out->conv = MYT_SET;
    } else if (strcmp(w, "bit") == 0) {
        out->bits = arg[0] >= 1 && arg[0] <= 64 ? (int)arg[0] : 1;
        out->pg_type = arena_printf(a, "bit varying(%d)", out->bits);
        out->conv = MYT_BIT;
    } else if (strcmp(w, "uuid") == 0) {
        out->pg_type = "uuid";
    } else if (strcmp(w, "inet4") == 0 || strcmp(w, "inet6") == 0) {
        out->pg_type = "inet";
    }
}

/* ---- values ------------------------------------------------------------------ */

static int digits(const char *p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return 1;
}

static int days_in(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int myt_valid_date(const char *v, size_t n)
{
    int y, m, d;
    if (n < 10 || v[4] != '-' || v[7] != '-' || !digits(v, 4, &y) || !digits(v + 5, 2, &m) ||
        !digits(v + 8, 2, &d))
        return 0;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days_in(y, m);
}

static sl_err put_hex(const unsigned char *v, size_t n, sbuf *out)
{
    static const char hex[] = "0123456789abcdef";
    char buf[512];
    sl_err e = sb_append(out, "\\\\x", 3);
    size_t k = 0;
    for (size_t i = 0; i < n && e == SL_OK; i++) {
        buf[k++] = hex[v[i] >> 4];
        buf[k++] = hex[v[i] & 15];
        if (k == sizeof buf) {
            e = sb_append(out, buf, k);
            k = 0;
        }
    }
    return e == SL_OK ? sb_append(out, buf, k) : e;
}

static sl_err put_bits(const unsigned char *v, size_t n, int bits, sbuf *out)
{
    char buf[64];
    for (int i = bits - 1, k = 0; i >= 0; i--, k++) {
        size_t byte = (size_t)i / 8;
        int bit = byte < n ? (v[n - 1 - byte] >> (i % 8)) & 1 : 0;
        buf[k] = bit ? '1' : '0';
    }
    return sb_append(out, buf, (size_t)bits);
}

/* Whether a SET member must be quoted as an array element. */
static int needs_quotes(const char *s, size_t n)
{
    if (n == 0 || (n == 4 && strncasecmp(s, "null", 4) == 0))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (strchr("\"\\{},", s[i]) || isspace((unsigned char)s[i]))
            return 1;
    return 0;
}

/* 'a,b c' as the array text {a,"b c"} in scratch, then COPY-escaped. */
static sl_err put_set(const char *v, size_t n, sbuf *out, sbuf *scratch)
{
    sb_clear(scratch);
    sl_err e = sb_putc(scratch, '{');
    size_t start = 0;
    for (size_t i = 0; n > 0 && i <= n && e == SL_OK; i++) {
        if (i < n && v[i] != ',')
            continue;
        const char *m = v + start;
        size_t len = i - start;
        if (start > 0)
            e = sb_putc(scratch, ',');
        if (e == SL_OK && !needs_quotes(m, len)) {
            e = sb_append(scratch, m, len);
        } else if (e == SL_OK) {
            e = sb_putc(scratch, '"');
            for (size_t k = 0; k < len && e == SL_OK; k++) {
                if (m[k] == '"' || m[k] == '\\')
                    e = sb_putc(scratch, '\\');
                if (e == SL_OK)
                    e = sb_putc(scratch, m[k]);
            }
            if (e == SL_OK)
                e = sb_putc(scratch, '"');
        }
        start = i + 1;
    }
    if (e == SL_OK)
        e = sb_putc(scratch, '}');
    return e == SL_OK ? ct_encode(scratch->ptr, scratch->len, out) : e;
}

sl_err myt_put(const myt_type *ty, const char *v, size_t n, sbuf *out, sbuf *scratch,
               int *changed)
{
    switch (ty->conv) {
    case MYT_TEXT:
        return ct_encode(v, n, out);
    case MYT_NUMBER:
        return sb_append(out, v, n);
    case MYT_BOOL:
        return sb_putc(out, n == 1 && v[0] == '0' ? 'f' : 't');
    case MYT_BYTES:
        return put_hex((const unsigned char *)v, n, out);
    case MYT_DATE:
    case MYT_DATETIME:
    case MYT_TIMESTAMP:
        if (!myt_valid_date(v, n)) {
            *changed = 1;
            return sb_append(out, "\\N", 2);
        }
        if (ty->conv != MYT_TIMESTAMP)
            return sb_append(out, v, n);
        sl_err e = sb_append(out, v, n);
        return e == SL_OK ? sb_append(out, "+00", 3) : e;
    case MYT_SET:
        return put_set(v, n, out, scratch);
    case MYT_BIT:
        return put_bits((const unsigned char *)v, n, ty->bits, out);
    }
    return ct_encode(v, n, out);
}

/* ---- watermark values as MySQL expressions ----------------------------------------- */

/* Up to max digits at *p (at least one) into *v; advances *p. */
static int number(const char **p, int max, int *v)
{
    int x = 0, k = 0;
    while (k < max && **p >= '0' && **p <= '9') {
        x = x * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    *v = x;
    return k > 0;
}

typedef struct {
    int y, mo, d, h, mi, s;
    char frac[7];   /* six digits */
    int has_zone;
    int zone_min;   /* east of UTC */
} parsed_ts;

/* "YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][ ][Z|UTC|+HH[[:]MM]]"; 0 when not that. */
static int parse_ts(const char *s, parsed_ts *t)
{
    memset(t, 0, sizeof *t);
    memcpy(t->frac, "000000", 7);
    const char *p = s;
    while (*p == ' ')
        p++;
    const char *y0 = p;
    if (!number(&p, 4, &t->y) || p - y0 != 4 || *p++ != '-' || !number(&p, 2, &t->mo) ||
        *p++ != '-' || !number(&p, 2, &t->d))
        return 0;
    if (t->y < 1 || t->mo < 1 || t->mo > 12 || t->d < 1 || t->d > days_in(t->y, t->mo))
        return 0;
    if ((*p == ' ' || *p == 'T') && p[1] >= '0' && p[1] <= '9') {
        p++;
        if (!number(&p, 2, &t->h) || *p++ != ':' || !number(&p, 2, &t->mi))
            return 0;
        if (*p == ':') {
            p++;
            if (!number(&p, 2, &t->s))
                return 0;
        }
        if (*p == '.') {
            p++;
            int k = 0;
            while (*p >= '0' && *p <= '9') {
                if (k < 6)
                    t->frac[k] = *p;
                k++;
                p++;
            }
            if (k == 0 || k > 6)
                return 0;
        }
        if (t->h > 23 || t->mi > 59 || t->s > 59)
            return 0;
    }
    while (*p == ' ')
        p++;
    if (*p == 'Z' || strcmp(p, "UTC") == 0) {
        t->has_zone = 1;
        p += *p == 'Z' ? 1 : 3;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, zh = 0, zm = 0;
        const char *z0 = p;
        if (!number(&p, 2, &zh) || p - z0 != 2)
            return 0;
        if (*p == ':')
            p++;
        if (*p >= '0' && *p <= '9' && !number(&p, 2, &zm))
            return 0;
        if (zh > 15 || zm > 59)
            return 0;
        t->has_zone = 1;
        t->zone_min = sign * (zh * 60 + zm);
    }
    return *p == '\0';
}

const char *myt_literal(arena *a, const char *pg_type, const char *text)
{
    if (!text || !pg_type)
        return NULL;
    if (strcmp(pg_type, "date") != 0 && strncmp(pg_type, "timestamp", 9) != 0) {
        const char *p = text + (*text == '-');
        size_t n = strlen(p);
        if (n == 0 || n > 20 || strspn(p, "0123456789") != n)
            return NULL;
        return arena_strdup(a, text);
    }
    parsed_ts t;
    if (!parse_ts(text, &t))
        return NULL;
    if (strcmp(pg_type, "date") == 0)
        return arena_printf(a, "CAST('%04d-%02d-%02d' AS DATE)", t.y, t.mo, t.d);
    const char *dt = arena_printf(a, "CAST('%04d-%02d-%02d %02d:%02d:%02d.%s' AS DATETIME(6))",
                                  t.y, t.mo, t.d, t.h, t.mi, t.s, t.frac);
    int tz = strstr(pg_type, "with time zone") != NULL && strstr(pg_type, "without") == NULL;
    if (!tz || !t.has_zone || t.zone_min == 0)
        return dt;
    int z = t.zone_min < 0 ? -t.zone_min : t.zone_min;
    return arena_printf(a, "CONVERT_TZ(%s, '%c%02d:%02d', '+00:00')", dt,
                        t.zone_min < 0 ? '-' : '+', z / 60, z % 60);
}
