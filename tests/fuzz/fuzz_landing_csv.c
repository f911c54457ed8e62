// fuzz-sources: app/sync/landing_csv.c app/sync/landing_types.c app/sync/landing_jsonl.c
// fuzz-sources: app/sync/copytext.c app/core/sbuf.c app/core/arena.c app/core/err.c
// fuzz-ldlibs: -lcsv
/* fuzz_landing_csv.c - libFuzzer target for reading landing files
 * (app/sync/landing_csv.c, landing_types.c, landing_jsonl.c).
 *
 * Input: byte 0 picks the delimiter and quote, byte 1 the column types
 * (three of them) and how the rest is fed (whole, or in pieces of 1..16
 * bytes); the rest is the file. Invariants beyond memory safety:
 * - every record's line number is at least 1 and never goes down;
 * - a record becomes a COPY row only when it has exactly the declared
 *   number of fields and no error, and then the row has exactly that many
 *   fields (ct_split) and no raw newline;
 * - feeding the same bytes in pieces gives the same records as at once;
 * - the same bytes as JSON Lines: every line either fails with a reason or
 *   gives members whose values convert (or are refused) without crashing,
 *   a converted value never holding a raw tab or newline. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/landing_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCOLS 3

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant failed: %s\n", what);
        abort();
    }
}

typedef struct {
    lp_type types[NCOLS];
    sbuf row;
    long long last_line;
    unsigned long hash;   /* of the records seen, to compare feeds */
    long records, rows;
} state;

static unsigned long mix(unsigned long h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211UL;
    return h;
}

static int on_record(void *arg, long long line, const lp_field *f, int nf, const char *error)
{
    state *s = arg;
    check(line >= 1, "line >= 1");
    check(line >= s->last_line, "lines never go down");
    s->last_line = line;
    s->records++;
    s->hash = mix(s->hash, &line, sizeof line);
    s->hash = mix(s->hash, &nf, sizeof nf);
    for (int i = 0; i < nf; i++) {
        s->hash = mix(s->hash, &f[i].kind, sizeof f[i].kind);
        if (f[i].kind != LP_NULL)
            s->hash = mix(s->hash, f[i].p, f[i].n);
    }
    if (error)
        return 0;
    sb_clear(&s->row);
    lp_bad bad;
    int r = lp_row_copy(s->types, NCOLS, f, nf, &s->row, &bad);
    if (nf != NCOLS) {
        check(r == -1 && bad.col == -1, "a wrong field count is refused");
        return 0;
    }
    if (r != 0) {
        check(bad.col >= 0 && bad.col < NCOLS && bad.why, "a refusal names its column");
        check(s->row.len == 0, "a refused row leaves nothing");
        return 0;
    }
    s->rows++;
    check(ct_split(s->row.ptr ? s->row.ptr : "", s->row.len, NULL, 0) == NCOLS,
          "a row has exactly the declared number of fields");
    check(!s->row.ptr || !memchr(s->row.ptr, '\n', s->row.len), "no raw newline in a row");
    return 0;
}

static void run_csv(const uint8_t *data, size_t size, char delim, char quote, size_t step,
                    state *s)
{
    lcsv *x = lcsv_new(delim, quote, on_record, s);
    sl_errbuf eb = {0};
    sl_err e = SL_OK;
    for (size_t i = 0; i < size && e == SL_OK; i += step)
        e = lcsv_feed(x, (const char *)data + i, size - i < step ? size - i : step, &eb);
    if (e == SL_OK)
        lcsv_finish(x, &eb);
    lcsv_free(x);
}

typedef struct {
    lp_type types[NCOLS];
    arena *a;
    sbuf out;
    lj_member m[16];
} jstate;

static int on_line(void *arg, long long line, const char *p, size_t n, int too_long)
{
    jstate *j = arg;
    check(line >= 1, "JSON line >= 1");
    arena_reset(j->a);
    const char *why = NULL;
    int nm = lj_object(j->a, p, n, j->m, 16, &why);
    if (nm < 0) {
        check(why != NULL, "a bad line says why");
        return 0;
    }
    check(nm <= 16, "members within the room");
    for (int i = 0; i < nm; i++) {
        sb_clear(&j->out);
        if (!lp_value_copy(j->types[i % NCOLS], &j->m[i].v, &j->out))
            check(!memchr(j->out.ptr ? j->out.ptr : "", '\n', j->out.len) &&
                      !memchr(j->out.ptr ? j->out.ptr : "", '\t', j->out.len),
                  "a JSON value is one COPY field");
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = {',', ';', '\t', '|'};
    if (size < 2)
        return 0;
    char delim = delims[data[0] & 3];
    char quote = data[0] & 4 ? '\'' : '"';
    state s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < NCOLS; i++)
        s.types[i] = (lp_type)((data[1] >> (i * 2)) % (LT_ANY + 1));
    size_t step = (size_t)(data[1] >> 4) + 1;
    data += 2;
    size -= 2;
    sb_init(&s.row, NULL, (size_t)1 << 26);
    run_csv(data, size, delim, quote, size ? size : 1, &s);
    state t;
    memset(&t, 0, sizeof t);
    memcpy(t.types, s.types, sizeof t.types);
    sb_init(&t.row, NULL, (size_t)1 << 26);
    unsigned long whole = s.hash;
    long records = s.records;
    run_csv(data, size, delim, quote, step, &t);
    check(t.hash == whole && t.records == records, "pieces give the same records");
    sb_free(&s.row);
    sb_free(&t.row);

    jstate j;
    memset(&j, 0, sizeof j);
    memcpy(j.types, s.types, sizeof j.types);
    j.a = arena_new(0);
    sb_init(&j.out, NULL, (size_t)1 << 26);
    lj_reader *x = lj_new(on_line, &j);
    lj_feed(x, (const char *)data, size);
    lj_finish(x);
    lj_free(x);
    sb_free(&j.out);
    arena_free(j.a);
    return 0;
}
