// fuzz-sources: app/sync/copytext.c app/core/sbuf.c app/core/arena.c app/core/err.c
/* fuzz_copytext.c - libFuzzer target for COPY text rows (app/sync/copytext.c).
 *
 * The input is one row. Invariants checked beyond memory safety:
 * - ct_split counts one field more than the row has tabs (a trailing "\n"
 *   aside), and ct_field_at agrees with it field by field;
 * - decoding a field, encoding the result and decoding again gives the same
 *   bytes, and the encoding contains no tab or newline;
 * - ct_row_json (text kinds, and mixed kinds) always gives JSON that jansson
 *   parses (numbers past a double's range aside) as an object with one key
 *   per column; with text kinds, a value
 *   is null exactly when the field is \N, and a string equal to the decoded
 *   bytes whenever those are valid UTF-8 without NUL;
 * - ct_row_from_json of that object gives a row with the same number of
 *   fields whose NULLs and (UTF-8-clean) values are the same. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/copytext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 16

static const char *const names[MAXF] = {"a", "b", "c", "d", "e", "f", "g", "h",
                                        "i", "j", "k", "l", "m", "n", "o", "p"};

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant failed: %s\n", what);
        abort();
    }
}

/* Valid UTF-8 with no NUL, by a small decoder of its own. */
static int clean_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        unsigned min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static void check_json(const char *row, size_t len, const ct_field *f, int nf,
                       const enum ct_kind *kinds, sbuf *scratch, sbuf *dec)
{
    int ncols = nf < MAXF ? nf : MAXF;
    sbuf js;
    sb_init(&js, NULL, (size_t)1 << 26);
    check(ct_row_json(row, len, names, kinds, ncols, scratch, &js) == SL_OK, "row_json ok");
    json_error_t err;
    json_t *obj = json_loadb(js.ptr, js.len, JSON_DECODE_INT_AS_REAL, &err);
    if (!obj && kinds && strstr(err.text, "overflow")) {
        /* a number too big for a double is still JSON (and jsonb takes it) */
        sb_free(&js);
        return;
    }
    check(obj && json_is_object(obj), "row_json is a JSON object");
    check((int)json_object_size(obj) == ncols, "one key per column");
    for (int i = 0; i < ncols && !kinds; i++) {
        json_t *v = json_object_get(obj, names[i]);
        check(v != NULL, "key present");
        check(json_is_null(v) == f[i].null, "null exactly for \\N");
        sb_clear(dec);
        ct_decode(&f[i], dec);
        if (!f[i].null && clean_utf8((const unsigned char *)sb_str(dec), dec->len)) {
            check(json_is_string(v), "text value is a string");
            check(json_string_length(v) == dec->len &&
                      memcmp(json_string_value(v), sb_str(dec), dec->len) == 0,
                  "string equals decoded field");
        }
    }
    if (!kinds) {
        sbuf back;
        sb_init(&back, NULL, (size_t)1 << 26);
        check(ct_row_from_json(obj, names, ncols, &back) == SL_OK, "row_from_json ok");
        check(back.len > 0 && back.ptr[back.len - 1] == '\n', "row ends in a newline");
        ct_field g[MAXF];
        check(ct_split(back.ptr, back.len, g, MAXF) == ncols, "same field count back");
        sbuf d2;
        sb_init(&d2, NULL, (size_t)1 << 26);
        for (int i = 0; i < ncols; i++) {
            check(g[i].null == f[i].null, "same NULLs back");
            sb_clear(dec);
            sb_clear(&d2);
            ct_decode(&f[i], dec);
            ct_decode(&g[i], &d2);
            if (clean_utf8((const unsigned char *)sb_str(dec), dec->len))
                check(dec->len == d2.len && memcmp(sb_str(dec), sb_str(&d2), d2.len) == 0,
                      "same value back");
        }
        sb_free(&d2);
        sb_free(&back);
    }
    json_decref(obj);
    sb_free(&js);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    const char *row = (const char *)data;
    size_t body = size > 0 && row[size - 1] == '\n' ? size - 1 : size;
    int tabs = 0;
    for (size_t i = 0; i < body; i++)
        tabs += row[i] == '\t';

    ct_field f[MAXF];
    int nf = ct_split(row, size, f, MAXF);
    check(nf == tabs + 1, "one field more than tabs");

    sbuf dec, enc, dec2;
    sb_init(&dec, NULL, (size_t)1 << 20);
    sb_init(&enc, NULL, (size_t)1 << 22);
    sb_init(&dec2, NULL, (size_t)1 << 20);
    for (int i = 0; i < nf && i < MAXF; i++) {
        ct_field g;
        check(ct_field_at(row, size, i, &g) == 0, "field_at finds the field");
        check(g.p == f[i].p && g.len == f[i].len && g.null == f[i].null, "field_at agrees");
        sb_clear(&dec);
        sb_clear(&enc);
        sb_clear(&dec2);
        check(ct_decode(&f[i], &dec) == SL_OK, "decode ok");
        check(dec.len <= f[i].len, "decoding never grows");
        check(ct_encode(sb_str(&dec), dec.len, &enc) == SL_OK, "encode ok");
        check(!memchr(sb_str(&enc), '\t', enc.len) && !memchr(sb_str(&enc), '\n', enc.len),
              "encoding has no tab or newline");
        ct_field e;
        check(ct_split(sb_str(&enc), enc.len, &e, 1) == 1, "encoding is one field");
        check(ct_decode(&e, &dec2) == SL_OK, "decode again ok");
        check(dec.len == dec2.len && memcmp(sb_str(&dec), sb_str(&dec2), dec.len) == 0,
              "decode(encode(x)) == x");
    }
    ct_field past;
    check(ct_field_at(row, size, nf, &past) == -1, "no field past the last");

    check_json(row, size, f, nf, NULL, &dec2, &dec);
    static const enum ct_kind mixed[MAXF] = {CT_NUMBER, CT_BOOL, CT_JSON, CT_TEXT,
                                             CT_JSON,   CT_NUMBER, CT_BOOL, CT_JSON,
                                             CT_NUMBER, CT_BOOL, CT_JSON, CT_TEXT,
                                             CT_JSON,   CT_NUMBER, CT_BOOL, CT_JSON};
    check_json(row, size, f, nf, mixed, &dec2, &dec);
    sb_free(&dec);
    sb_free(&enc);
    sb_free(&dec2);
    return 0;
}
