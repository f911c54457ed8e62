/* landing_csv.c - CSV records from a stream of bytes, with libcsv.
 *
 * libcsv does the quoting (delimiter and quote from the zone, CSV_STRICT
 * off, CSV_EMPTY_IS_NULL so an empty unquoted field is NULL); this file
 * adds what a loader needs around it: the line each record starts on, a
 * byte order mark skipped, caps on a field, a record and its field count,
 * and a quoted field that never closes reported as a malformed record
 * instead of swallowing the file in silence.
 *
 * Line numbers: bytes are handed to libcsv one physical line at a time (up
 * to and including its "\n"), and a record starts on the line at whose
 * beginning the parser was between records. Spaces are data (libcsv's
 * default would trim unquoted fields). */
#include "sync/landing_parse.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

/* libcsv's parser states (libcsv.c; struct csv_parser.pstate is public). */
#define PS_ROW_NOT_BEGUN 0
#define PS_FIELD_BEGUN 2

#define BLOCK 65536 /* libcsv's growth step for a field's buffer */

struct lcsv {
    struct csv_parser p;
    lcsv_record_fn fn;
    void *arg;
    sbuf row;                 /* the record's fields back to back */
    size_t *off, *len;
    char *null;
    lp_field *f;
    int nf, cap;
    const char *row_error;    /* the record is malformed: why */
    long long line;           /* the physical line being read (1-based) */
    long long rec_line;       /* where the current record started */
    int started;              /* the byte order mark question is settled */
    char pend[3];
    size_t npend;
    int stop;                 /* fn asked to stop */
    int unclosed;             /* finishing a record whose quote never closed */
};

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

lcsv *lcsv_new(char delim, char quote, lcsv_record_fn fn, void *arg)
{
    lcsv *x = xcalloc(1, sizeof *x);
    if (csv_init(&x->p, CSV_EMPTY_IS_NULL) != 0)
        sl_panic("csv_init: out of memory");
    csv_set_delim(&x->p, (unsigned char)delim);
    csv_set_quote(&x->p, (unsigned char)quote);
    csv_set_space_func(&x->p, no_space);
    csv_set_blk_size(&x->p, BLOCK);
    x->fn = fn;
    x->arg = arg;
    sb_init(&x->row, NULL, LCSV_ROW_MAX);
    x->line = 1;
    x->rec_line = 1;
    return x;
}

void lcsv_free(lcsv *x)
{
    if (!x)
        return;
    csv_free(&x->p);
    sb_free(&x->row);
    free(x->off);
    free(x->len);
    free(x->null);
    free(x->f);
    free(x);
}

long long lcsv_line(const lcsv *x)
{
    return x->line;
}

/* libcsv: a field ended. */
static void on_field(void *s, size_t n, void *data)
{
    lcsv *x = data;
    if (x->stop || x->row_error)
        return;
    if (x->nf >= LCSV_FIELDS_MAX) {
        x->row_error = "has more than 4096 fields";
        return;
    }
    if (x->nf == x->cap) {
        int cap = x->cap ? x->cap * 2 : 64;
        x->off = xrealloc(x->off, (size_t)cap * sizeof *x->off);
        x->len = xrealloc(x->len, (size_t)cap * sizeof *x->len);
        x->null = xrealloc(x->null, (size_t)cap);
        x->f = xrealloc(x->f, (size_t)cap * sizeof *x->f);
        x->cap = cap;
    }
    x->off[x->nf] = x->row.len;
    x->len[x->nf] = s ? n : 0;
    x->null[x->nf] = s == NULL;
    if (s && n > 0 && sb_append(&x->row, s, n) != SL_OK) {
        x->row_error = "is longer than 64 MiB";
        return;
    }
    x->nf++;
}

/* libcsv: a record ended. */
static void on_record(int c, void *data)
{
    (void)c;
    lcsv *x = data;
    if (!x->stop) {
        for (int i = 0; i < x->nf; i++) {
            lp_field *f = &x->f[i];
            f->kind = x->null[i] ? LP_NULL : LP_TEXT;
            f->p = x->row.ptr ? x->row.ptr + x->off[i] : "";
            f->n = x->len[i];
            f->raw = NULL;
            f->raw_n = 0;
        }
        const char *err = x->unclosed ? "has a quoted field that is never closed" : x->row_error;
        if (x->fn(x->arg, x->rec_line, x->f, x->nf, err) != 0)
            x->stop = 1;
    }
    sb_clear(&x->row);
    x->nf = 0;
    x->row_error = NULL;
    x->rec_line = x->line; /* a record after a lone CR starts on this line */
}

/* Parse bytes that hold at most one "\n", at their end. */
static sl_err parse_line(lcsv *x, const char *s, size_t n, sl_errbuf *fatal)
{
    if (x->p.pstate == PS_ROW_NOT_BEGUN)
        x->rec_line = x->line;
    if (csv_parse(&x->p, s, n, on_field, on_record, x) != n)
        return sl_fail(fatal, SL_ETOOBIG, "line %lld: %s", x->line,
                       csv_strerror(csv_error(&x->p)));
    if (csv_get_buffer_size(&x->p) > LCSV_FIELD_MAX)
        return sl_fail(fatal, SL_ETOOBIG, "line %lld: a field is longer than 64 MiB (a quote "
                                          "that is never closed?)", x->rec_line);
    if (n > 0 && s[n - 1] == '\n')
        x->line++;
    return x->stop ? SL_ECONFLICT : SL_OK;
}

static sl_err parse(lcsv *x, const char *s, size_t n, sl_errbuf *fatal)
{
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        size_t k = nl ? (size_t)(nl - s) + 1 : n;
        sl_err e = parse_line(x, s, k, fatal);
        if (e != SL_OK)
            return e;
        s += k;
        n -= k;
    }
    return SL_OK;
}

static const char BOM[3] = {'\xEF', '\xBB', '\xBF'};

sl_err lcsv_feed(lcsv *x, const char *buf, size_t n, sl_errbuf *fatal)
{
    if (x->stop)
        return SL_ECONFLICT;
    while (!x->started && n > 0) {
        x->pend[x->npend++] = *buf++;
        n--;
        if (memcmp(x->pend, BOM, x->npend) != 0) {
            x->started = 1;
            sl_err e = parse(x, x->pend, x->npend, fatal);
            if (e != SL_OK)
                return e;
        } else if (x->npend == sizeof BOM) {
            x->started = 1; /* a byte order mark: dropped */
        }
    }
    return parse(x, buf, n, fatal);
}

sl_err lcsv_finish(lcsv *x, sl_errbuf *fatal)
{
    if (x->stop)
        return SL_ECONFLICT;
    if (!x->started) {
        x->started = 1;
        if (x->npend < sizeof BOM || memcmp(x->pend, BOM, sizeof BOM) != 0) {
            sl_err e = parse(x, x->pend, x->npend, fatal);
            if (e != SL_OK)
                return e;
        }
    }
    x->unclosed = x->p.pstate == PS_FIELD_BEGUN && x->p.quoted;
    if (x->p.pstate == PS_ROW_NOT_BEGUN)
        x->rec_line = x->line;
    csv_fini(&x->p, on_field, on_record, x);
    x->unclosed = 0;
    return x->stop ? SL_ECONFLICT : SL_OK;
}
