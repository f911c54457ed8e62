/* multipart.c - the multipart/form-data push parser (see multipart.h).
 *
 * One state machine over the bytes fed. Delimiters are found with memchr
 * for CR and a byte-wise match after it; a partial match at the end of a
 * chunk is just a count (k bytes of the delimiter matched), and when the
 * match fails those k bytes are reported from the delimiter itself. That is
 * exact because CR occurs in a delimiter only as its first byte (boundaries
 * cannot hold CR), so a failed match can only restart at the byte that
 * broke it. Part headers are collected in a fixed buffer and parsed once
 * their blank line arrives. The parser allocates nothing. */
#include "multipart.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define FN_SEGMENTS 16 /* RFC 2231 continuations of filename* */

enum state {
    ST_PREAMBLE,   /* before the first delimiter */
    ST_HEADERS,    /* a part's header block */
    ST_BODY,       /* a part's data */
    ST_AFTER,      /* a delimiter was matched: "--", padding or CRLF next */
    ST_PADDING,    /* spaces and tabs after a delimiter */
    ST_LF,         /* the CR after a delimiter was seen; LF next */
    ST_DASH,       /* one '-' after a delimiter; the second closes */
    ST_EPILOGUE,   /* after the close delimiter */
    ST_ERROR,
};

struct mp_parser {
    enum state st;
    mp_err err;
    const char *why;
    mp_callbacks cb;
    void *ud;
    int max_parts, nparts;
    int in_part;               /* a part's on_part was called, not yet its end */
    size_t k;                  /* delimiter bytes matched */
    size_t dlen;
    char delim[MP_BOUNDARY_MAX + 5]; /* CR LF "--" boundary */
    size_t hlen;
    char hbuf[MP_HEADER_MAX + 1];
    size_t vlen;
    char vbuf[2 * MP_HEADER_MAX + 64]; /* decoded header values */
    mp_part part;
};

size_t mp_parser_size(void)
{
    return sizeof(struct mp_parser);
}

static int bchar(int c, int last)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    if (c == ' ')
        return !last;
    return c && strchr("'()+_,-./:=?", c) != NULL;
}

static int boundary_ok(const char *b, size_t n)
{
    if (n < 1 || n > MP_BOUNDARY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!bchar((unsigned char)b[i], i == n - 1))
            return 0;
    return 1;
}

mp_parser *mp_init(void *mem, const char *boundary, int max_parts, const mp_callbacks *cb,
                   void *ud)
{
    size_t n = boundary ? strlen(boundary) : 0;
    if (!boundary_ok(boundary ? boundary : "", n))
        return NULL;
    mp_parser *p = mem;
    memset(p, 0, sizeof *p);
    p->st = ST_PREAMBLE;
    p->cb = *cb;
    p->ud = ud;
    p->max_parts = max_parts > 0 ? max_parts : MP_MAX_PARTS_DEFAULT;
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, boundary, n);
    p->dlen = n + 4;
    p->k = 2; /* the body may open with the delimiter: a CRLF before it is implied */
    return p;
}

int mp_parts(const mp_parser *p)
{
    return p->nparts;
}

const char *mp_strerror(const mp_parser *p)
{
    return p->why ? p->why : "no error";
}

static mp_err fail(mp_parser *p, mp_err e, const char *why)
{
    p->st = ST_ERROR;
    p->err = e;
    p->why = why;
    return e;
}

/* --- header values ----------------------------------------------------------------- */

/* Append n bytes and a NUL to vbuf; the start, or NULL when full. */
static char *vput(mp_parser *p, const char *s, size_t n)
{
    if (p->vlen + n + 1 > sizeof p->vbuf)
        return NULL;
    char *d = p->vbuf + p->vlen;
    memcpy(d, s, n);
    d[n] = '\0';
    p->vlen += n + 1;
    return d;
}

static int is_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A parameter value at *sp (a token, or a quoted string that is unescaped:
 * \" and \\ are escapes, other backslashes stay). Into vbuf; NULL on a
 * malformed value or a full buffer. *sp moves past it. */
static char *param_value(mp_parser *p, const char **sp, const char *end)
{
    const char *s = *sp;
    if (s < end && *s == '"') {
        s++;
        if (p->vlen >= sizeof p->vbuf)
            return NULL;
        char *d = p->vbuf + p->vlen, *start = d;
        char *lim = p->vbuf + sizeof p->vbuf - 1;
        while (s < end && *s != '"') {
            char c = *s++;
            if (c == '\\' && s < end && (*s == '"' || *s == '\\'))
                c = *s++;
            if (d >= lim)
                return NULL;
            *d++ = c;
        }
        if (s >= end)
            return NULL; /* no closing quote */
        s++;
        *d = '\0';
        p->vlen += (size_t)(d - start) + 1;
        *sp = s;
        return start;
    }
    const char *t = s;
    /* Tokens; browsers also send raw UTF-8 unquoted now and then. */
    while (t < end && (is_tchar((unsigned char)*t) || (unsigned char)*t >= 0x80))
        t++;
    if (t == s)
        return NULL;
    *sp = t;
    return vput(p, s, (size_t)(t - s));
}

/* Percent-decode s (RFC 5987 value-chars) in place; 0 on a bad escape or
 * a NUL. */
static int pct_decode(char *s)
{
    char *d = s;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            int hi = hexval((unsigned char)s[1]), lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
            if (hi < 0 || lo < 0)
                return 0;
            c = hi * 16 + lo;
            if (c == 0)
                return 0;
            s += 2;
        }
        *d++ = (char)c;
    }
    *d = '\0';
    return 1;
}

/* Strip "charset'language'" from an extended value; 1 when the charset is
 * UTF-8 or US-ASCII (*rest then points past the second quote). */
static int ext_charset(const char *v, const char **rest)
{
    const char *q1 = strchr(v, '\'');
    const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (!q2)
        return 0;
    size_t n = (size_t)(q1 - v);
    if (!((n == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
          (n == 8 && strncasecmp(v, "us-ascii", 8) == 0)))
        return 0;
    *rest = q2 + 1;
    return 1;
}

typedef struct {
    const char *seg[FN_SEGMENTS]; /* filename*N values (raw) */
    int ext[FN_SEGMENTS];         /* segment N was filename*N* */
    const char *star;             /* filename* */
} fn_star;

/* Assemble filename* (or its continuations) into vbuf; NULL when absent or
 * unusable. */
static const char *star_filename(mp_parser *p, const fn_star *f)
{
    if (f->star) {
        const char *rest;
        char *v = (char *)f->star;
        if (!ext_charset(v, &rest))
            return NULL;
        char *out = vput(p, rest, strlen(rest));
        return out && pct_decode(out) ? out : NULL;
    }
    if (!f->seg[0])
        return NULL;
    char *out = NULL;
    for (int i = 0; i < FN_SEGMENTS && f->seg[i]; i++) {
        const char *v = f->seg[i];
        if (i == 0 && f->ext[0] && !ext_charset(v, &v))
            return NULL;
        size_t n = strlen(v);
        if (p->vlen + n + 1 > sizeof p->vbuf)
            return NULL;
        /* Segments are concatenated: overwrite the previous NUL. */
        char *d = p->vbuf + (out ? p->vlen - 1 : p->vlen);
        memcpy(d, v, n);
        d[n] = '\0';
        if (f->ext[i] && !pct_decode(d))
            return NULL;
        if (!out)
            out = d;
        p->vlen = (size_t)(d - p->vbuf) + strlen(d) + 1;
    }
    return out;
}

/* Parse a Content-Disposition value [s, end). 0 on a malformed one. */
static int disposition(mp_parser *p, const char *s, const char *end)
{
    s = skip_ws(s, end);
    while (s < end && is_tchar((unsigned char)*s))
        s++; /* the disposition type: form-data (others are read the same way) */
    fn_star f;
    memset(&f, 0, sizeof f);
    const char *plain = NULL, *name = NULL;
    for (;;) {
        s = skip_ws(s, end);
        if (s >= end)
            break;
        if (*s != ';')
            return 0;
        s = skip_ws(s + 1, end);
        if (s >= end)
            break; /* a trailing ';' */
        const char *k = s;
        while (s < end && is_tchar((unsigned char)*s))
            s++;
        size_t kn = (size_t)(s - k);
        s = skip_ws(s, end);
        if (kn == 0 || s >= end || *s != '=')
            return 0;
        s = skip_ws(s + 1, end);
        char *v = param_value(p, &s, end);
        if (!v)
            return 0;
        if (kn == 4 && strncasecmp(k, "name", 4) == 0) {
            if (!name)
                name = v;
        } else if (kn == 8 && strncasecmp(k, "filename", 8) == 0) {
            if (!plain)
                plain = v;
        } else if (kn == 9 && strncasecmp(k, "filename*", 9) == 0) {
            if (!f.star)
                f.star = v;
        } else if (kn > 9 && strncasecmp(k, "filename*", 9) == 0) {
            /* filename*N or filename*N* */
            int idx = 0, digits = 0;
            size_t i = 9;
            while (i < kn && k[i] >= '0' && k[i] <= '9' && digits < 3) {
                idx = idx * 10 + (k[i] - '0');
                i++;
                digits++;
            }
            int ext = i < kn && k[i] == '*';
            if (digits == 0 || i + (size_t)ext != kn || (digits > 1 && k[9] == '0'))
                continue; /* not a continuation: ignored */
            if (idx < FN_SEGMENTS && !f.seg[idx]) {
                f.seg[idx] = v;
                f.ext[idx] = ext;
            }
        }
    }
    const char *star = star_filename(p, &f);
    p->part.name = name ? name : "";
    p->part.filename = star ? star : plain;
    return 1;
}

static int name_is(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/* Parse the header block hbuf[0, hlen) (lines ending in CRLF, the last one
 * empty). Unfolds continuation lines. */
static mp_err parse_headers(mp_parser *p)
{
    p->vlen = 0;
    p->part.name = "";
    p->part.filename = NULL;
    p->part.content_type = "";
    p->part.index = p->nparts - 1;
    /* Unfold in place: CRLF followed by SP / HT becomes one space. */
    size_t n = 0;
    for (size_t i = 0; i < p->hlen; i++) {
        if (p->hbuf[i] == '\r' && i + 2 < p->hlen && p->hbuf[i + 1] == '\n' &&
            (p->hbuf[i + 2] == ' ' || p->hbuf[i + 2] == '\t')) {
            p->hbuf[n++] = ' ';
            i += 2;
            continue;
        }
        p->hbuf[n++] = p->hbuf[i];
    }
    const char *s = p->hbuf, *end = p->hbuf + n;
    while (s < end) {
        const char *eol = memchr(s, '\r', (size_t)(end - s));
        if (!eol)
            return fail(p, MP_EPARSE, "a part header line does not end with CRLF");
        if (eol == s)
            break; /* the blank line */
        if (*s == ' ' || *s == '\t')
            return fail(p, MP_EPARSE, "a part's headers begin with a continuation line");
        const char *colon = memchr(s, ':', (size_t)(eol - s));
        if (!colon || colon == s)
            return fail(p, MP_EPARSE, "a part header line has no name");
        for (const char *c = s; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return fail(p, MP_EPARSE, "a part header name has a bad character");
        size_t kn = (size_t)(colon - s);
        const char *v = skip_ws(colon + 1, eol), *ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (name_is(s, kn, "Content-Disposition")) {
            if (!disposition(p, v, ve))
                return fail(p, MP_EPARSE, "a part's Content-Disposition is malformed");
        } else if (name_is(s, kn, "Content-Type")) {
            size_t vn = (size_t)(ve - v);
            const char *ct = vput(p, v, vn > 255 ? 255 : vn);
            if (!ct)
                return fail(p, MP_EHEADERS, "the part headers are too large");
            p->part.content_type = ct;
        }
        s = eol + 2;
    }
    return MP_OK;
}

/* --- the state machine ----------------------------------------------------------------- */

static mp_err part_end(mp_parser *p)
{
    if (p->in_part) {
        p->in_part = 0;
        if (p->cb.on_part_end && p->cb.on_part_end(p->ud) != 0)
            return fail(p, MP_EABORTED, "the upload was stopped");
    }
    return MP_OK;
}

static mp_err emit(mp_parser *p, const char *s, size_t n)
{
    if (n && p->st == ST_BODY && p->cb.on_data && p->cb.on_data(p->ud, s, n) != 0)
        return fail(p, MP_EABORTED, "the upload was stopped");
    return MP_OK;
}

/* Scan body or preamble bytes for the delimiter; returns bytes consumed
 * (stops right after a full delimiter, with the state moved on). */
static size_t scan(mp_parser *p, const char *d, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p->k == 0) {
            const char *cr = memchr(d + i, '\r', n - i);
            size_t run = cr ? (size_t)(cr - (d + i)) : n - i;
            if (emit(p, d + i, run))
                return n;
            i += run;
            if (!cr)
                break;
            p->k = 1;
            i++;
            continue;
        }
        if (d[i] == p->delim[p->k]) {
            p->k++;
            i++;
            if (p->k == p->dlen) {
                p->k = 0;
                p->st = ST_AFTER;
                return i;
            }
            continue;
        }
        /* Not a delimiter after all: what matched so far was data. */
        size_t held = p->k;
        p->k = 0;
        if (emit(p, p->delim, held))
            return n;
    }
    return i;
}

/* One byte of a header block. */
static mp_err header_byte(mp_parser *p, char c)
{
    if (c == '\0')
        return fail(p, MP_EPARSE, "a part header holds a NUL byte");
    if (p->hlen >= MP_HEADER_MAX)
        return fail(p, MP_EHEADERS, "the part headers are larger than 8192 bytes");
    char prev = p->hlen ? p->hbuf[p->hlen - 1] : '\n';
    if (c == '\n' && prev != '\r')
        return fail(p, MP_EPARSE, "a part header line ends with a bare LF");
    if (prev == '\r' && c != '\n')
        return fail(p, MP_EPARSE, "a part header holds a bare CR");
    p->hbuf[p->hlen++] = c;
    /* The block ends with an empty line: "\r\n" alone, or "\r\n\r\n". */
    int done = (p->hlen == 2 && memcmp(p->hbuf, "\r\n", 2) == 0) ||
               (p->hlen >= 4 && memcmp(p->hbuf + p->hlen - 4, "\r\n\r\n", 4) == 0);
    if (!done)
        return MP_OK;
    if (parse_headers(p))
        return p->err;
    p->st = ST_BODY;
    p->k = 0;
    p->in_part = 1;
    if (p->cb.on_part && p->cb.on_part(p->ud, &p->part) != 0)
        return fail(p, MP_EABORTED, "the upload was stopped");
    return MP_OK;
}

/* A delimiter line ended (CRLF): the previous part is over, the next begins. */
static mp_err next_part(mp_parser *p)
{
    if (part_end(p))
        return p->err;
    if (p->nparts >= p->max_parts)
        return fail(p, MP_ETOOMANY, "the body has too many parts");
    p->nparts++;
    p->hlen = 0;
    p->st = ST_HEADERS;
    return MP_OK;
}

mp_err mp_feed(mp_parser *p, const char *data, size_t n)
{
    size_t i = 0;
    while (i < n && p->st != ST_ERROR) {
        char c = data[i];
        switch (p->st) {
        case ST_PREAMBLE:
        case ST_BODY:
            i += scan(p, data + i, n - i);
            break;
        case ST_HEADERS:
            if (header_byte(p, c))
                return p->err;
            i++;
            break;
        case ST_AFTER:
            i++;
            if (c == '-')
                p->st = ST_DASH;
            else if (c == ' ' || c == '\t')
                p->st = ST_PADDING;
            else if (c == '\r')
                p->st = ST_LF;
            else
                return fail(p, MP_EPARSE, "a boundary is followed by something else than CRLF");
            break;
        case ST_PADDING:
            i++;
            if (c == '\r')
                p->st = ST_LF;
            else if (c != ' ' && c != '\t')
                return fail(p, MP_EPARSE, "a boundary is followed by something else than CRLF");
            break;
        case ST_LF:
            i++;
            if (c != '\n')
                return fail(p, MP_EPARSE, "a boundary line ends with a bare CR");
            if (next_part(p))
                return p->err;
            break;
        case ST_DASH:
            i++;
            if (c != '-')
                return fail(p, MP_EPARSE, "a boundary is followed by a single '-'");
            if (part_end(p))
                return p->err;
            p->st = ST_EPILOGUE;
            break;
        case ST_EPILOGUE:
            i = n;
            break;
        case ST_ERROR:
            break;
        }
    }
    return p->st == ST_ERROR ? p->err : MP_OK;
}

mp_err mp_finish(mp_parser *p)
{
    if (p->st == ST_ERROR)
        return p->err;
    if (p->st != ST_EPILOGUE)
        return fail(p, MP_ETRUNCATED, "the body ended before its closing boundary");
    return MP_OK;
}

/* --- Content-Type ------------------------------------------------------------------------ */

int mp_boundary(const char *ct, char *out)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, "multipart/form-data", 19) != 0)
        return 0;
    const char *s = ct + 19;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != ';')
            return 0;
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        const char *k = s;
        while (is_tchar((unsigned char)*s))
            s++;
        size_t kn = (size_t)(s - k);
        if (*s != '=' || kn == 0)
            return 0;
        s++;
        char val[MP_BOUNDARY_MAX + 2];
        size_t vn = 0;
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1])
                    s++;
                if (vn > MP_BOUNDARY_MAX)
                    return 0;
                val[vn++] = *s++;
            }
            if (*s != '"')
                return 0;
            s++;
        } else {
            while (is_tchar((unsigned char)*s)) {
                if (vn > MP_BOUNDARY_MAX)
                    return 0;
                val[vn++] = *s++;
            }
        }
        val[vn] = '\0';
        if (kn == 8 && strncasecmp(k, "boundary", 8) == 0) {
            if (!boundary_ok(val, vn))
                return 0;
            memcpy(out, val, vn + 1);
            return 1;
        }
    }
    return 0;
}
