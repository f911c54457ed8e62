/* check_copytext.c - unit tests for app/sync/copytext.c: splitting, escapes
 * (table-driven), JSON out and back, and agreement with a real server's
 * COPY (when SLUICE_TEST_DATABASE_URL is set). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/copytext.h"
#include "pgtest.h"

static int g_must_fail;

/* ---- splitting ----------------------------------------------------------- */

START_TEST(test_split_basic)
{
    const char *row = "1\tabc\t\\N\t\n";
    ct_field f[8];
    int n = ct_split(row, strlen(row), f, 8);
    ck_assert_int_eq(n, 4);
    ck_assert_uint_eq(f[0].len, 1);
    ck_assert_int_eq(memcmp(f[0].p, "1", 1), 0);
    ck_assert_uint_eq(f[1].len, 3);
    ck_assert_int_eq(f[1].null, 0);
    ck_assert_int_eq(f[2].null, 1);
    ck_assert_uint_eq(f[3].len, 0);
    ck_assert_int_eq(f[3].null, 0);
}
END_TEST

START_TEST(test_split_edges)
{
    ct_field f[2];
    ck_assert_int_eq(ct_split("", 0, f, 2), 1);
    ck_assert_uint_eq(f[0].len, 0);
    ck_assert_int_eq(ct_split("\n", 1, f, 2), 1);
    ck_assert_int_eq(ct_split("a\tb\tc\td", 7, f, 2), 4); /* counts past max */
    ck_assert_int_eq(memcmp(f[1].p, "b", 1), 0);
    ck_assert_int_eq(ct_split("x", 1, NULL, 0), 1);
    /* "\\N" (an escaped backslash then N) is the text \N, not NULL */
    ck_assert_int_eq(ct_split("\\\\N", 3, f, 2), 1);
    ck_assert_int_eq(f[0].null, 0);
    /* only a bare \N is NULL */
    ck_assert_int_eq(ct_split("\\Nx", 3, f, 2), 1);
    ck_assert_int_eq(f[0].null, 0);
}
END_TEST

START_TEST(test_field_at)
{
    const char *row = "10\t2024-01-02 03:04:05.123456+00\t\\N\n";
    ct_field f;
    ck_assert_int_eq(ct_field_at(row, strlen(row), 1, &f), 0);
    ck_assert_uint_eq(f.len, strlen("2024-01-02 03:04:05.123456+00"));
    ck_assert_int_eq(ct_field_at(row, strlen(row), 2, &f), 0);
    ck_assert_int_eq(f.null, 1);
    ck_assert_int_eq(ct_field_at(row, strlen(row), 0, &f), 0);
    ck_assert_uint_eq(f.len, 2);
    ck_assert_int_eq(ct_field_at(row, strlen(row), 3, &f), -1);
}
END_TEST

/* ---- escapes ------------------------------------------------------------- */

static const struct {
    const char *in;
    const char *out;
    size_t outlen;
} decode_cases[] = {
    {"plain", "plain", 5},
    {"a\\tb", "a\tb", 3},
    {"\\b\\f\\n\\r\\t\\v", "\b\f\n\r\t\v", 6},
    {"back\\\\slash", "back\\slash", 10},
    {"\\101\\102", "AB", 2},        /* octal */
    {"\\7", "\a", 1},               /* short octal */
    {"\\1234", "S4", 2},            /* three octal digits at most */
    {"\\x41\\x4a", "AJ", 2},        /* hex */
    {"\\x4", "\x04", 1},            /* one hex digit */
    {"\\x414", "A4", 2},            /* two hex digits at most */
    {"\\xg", "xg", 2},              /* \x without a digit is x */
    {"\\q\\\"", "q\"", 2},          /* any other \c is c */
    {"end\\", "end", 3},            /* lone trailing backslash dropped */
    {"\\N", "", 0},                 /* NULL decodes to nothing */
    {"\\000", "\0", 1},
    {"h\xc3\xa9llo \xf0\x9f\x98\x80", "h\xc3\xa9llo \xf0\x9f\x98\x80", 11},
};

START_TEST(test_decode_table)
{
    sbuf b;
    sb_init(&b, NULL, 1024);
    ct_field f;
    ct_split(decode_cases[_i].in, strlen(decode_cases[_i].in), &f, 1);
    ck_assert_int_eq(ct_decode(&f, &b), SL_OK);
    ck_assert_uint_eq(b.len, decode_cases[_i].outlen);
    ck_assert_int_eq(memcmp(sb_str(&b), decode_cases[_i].out, b.len), 0);
    sb_free(&b);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
    /* every byte value, alone and in context, survives encode + decode */
    sbuf enc, dec;
    sb_init(&enc, NULL, 4096);
    sb_init(&dec, NULL, 4096);
    for (int c = 1; c < 256; c++) {
        char s[3] = {'a', (char)c, 'z'};
        sb_clear(&enc);
        sb_clear(&dec);
        ck_assert_int_eq(ct_encode(s, 3, &enc), SL_OK);
        ck_assert_ptr_null(memchr(enc.ptr, '\t', enc.len));
        ck_assert_ptr_null(memchr(enc.ptr, '\n', enc.len));
        ct_field f;
        ck_assert_int_eq(ct_split(enc.ptr, enc.len, &f, 1), 1);
        ck_assert_int_eq(f.null, 0);
        ck_assert_int_eq(ct_decode(&f, &dec), SL_OK);
        ck_assert_uint_eq(dec.len, 3);
        ck_assert_int_eq(memcmp(dec.ptr, s, 3), 0);
    }
    sb_clear(&enc);
    ck_assert_int_eq(ct_encode("\\N", 2, &enc), SL_OK);
    ck_assert_str_eq(sb_str(&enc), "\\\\N");
    sb_clear(&enc);
    ck_assert_int_eq(ct_encode("a\tb\nc\\", 6, &enc), SL_OK);
    ck_assert_str_eq(sb_str(&enc), "a\\tb\\nc\\\\");
    sb_free(&enc);
    sb_free(&dec);
}
END_TEST

START_TEST(test_caps)
{
    sbuf b;
    sb_init(&b, NULL, 4);
    ct_field f;
    ct_split("abcdef", 6, &f, 1);
    ck_assert_int_eq(ct_decode(&f, &b), SL_ETOOBIG);
    sb_clear(&b);
    ck_assert_int_eq(ct_encode("a\tbc", 4, &b), SL_ETOOBIG);
    sb_free(&b);
}
END_TEST

/* ---- JSON ---------------------------------------------------------------- */

static char *row_json(const char *row, const char *const *names, const enum ct_kind *kinds,
                      int n)
{
    sbuf out, scratch;
    sb_init(&out, NULL, 1 << 20);
    sb_init(&scratch, NULL, 1 << 20);
    ck_assert_int_eq(ct_row_json(row, strlen(row), names, kinds, n, &scratch, &out), SL_OK);
    sb_free(&scratch);
    char *s = xstrdup(sb_str(&out));
    sb_free(&out);
    return s;
}

START_TEST(test_json_text)
{
    const char *names[] = {"id", "name", "note", "missing"};
    char *s = row_json("7\tO'Brien \"Bob\"\\ttab\t\\N\n", names, NULL, 4);
    ck_assert_str_eq(s, "{\"id\":\"7\",\"name\":\"O'Brien \\\"Bob\\\"\\u0009tab\","
                        "\"note\":null,\"missing\":null}");
    free(s);
    /* extra fields are ignored */
    s = row_json("1\t2\t3", names, NULL, 2);
    ck_assert_str_eq(s, "{\"id\":\"1\",\"name\":\"2\"}");
    free(s);
}
END_TEST

START_TEST(test_json_kinds)
{
    const char *names[] = {"n", "nan", "b", "j", "bad", "x"};
    enum ct_kind kinds[] = {CT_NUMBER, CT_NUMBER, CT_BOOL, CT_JSON, CT_JSON, CT_BOOL};
    char *s = row_json("-12.50e+3\tNaN\tt\t{\"a\": [1, 2]}\t{oops\tmaybe", names, kinds, 6);
    ck_assert_str_eq(s, "{\"n\":-12.50e+3,\"nan\":\"NaN\",\"b\":true,\"j\":{\"a\": [1, 2]},"
                        "\"bad\":\"{oops\",\"x\":\"maybe\"}");
    free(s);
    const char *n1[] = {"a", "b", "c", "d"};
    enum ct_kind k1[] = {CT_NUMBER, CT_NUMBER, CT_NUMBER, CT_JSON};
    s = row_json("01\t1.\t-\t\"\\\\u0000\"", n1, k1, 4);
    ck_assert_str_eq(s, "{\"a\":\"01\",\"b\":\"1.\",\"c\":\"-\",\"d\":\"\\\"\\\\u0000\\\"\"}");
    free(s);
}
END_TEST

START_TEST(test_json_utf8)
{
    const char *names[] = {"v"};
    /* valid multibyte text passes through; NUL, a bad byte, an overlong
     * form and a surrogate become U+FFFD */
    char *s = row_json("\xe2\x82\xac\xf0\x9f\x8e\x89", names, NULL, 1);
    ck_assert_str_eq(s, "{\"v\":\"\xe2\x82\xac\xf0\x9f\x8e\x89\"}");
    free(s);
    s = row_json("a\\000b\xff" "c\xc0\xaf" "d\xed\xa0\x80", names, NULL, 1);
    ck_assert_str_eq(s, "{\"v\":\"a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd\"}");
    free(s);
    json_error_t err;
    json_t *v = json_loads("{\"v\":\"a\\ufffdb\"}", 0, &err);
    ck_assert_ptr_nonnull(v);
    json_decref(v);
}
END_TEST

START_TEST(test_json_roundtrip)
{
    const char *names[] = {"id", "t", "n", "j"};
    const char *row = "42\ttab\\there\\\\ and \\\\N\t\\N\t{\"k\": \"v\"}\n";
    char *s = row_json(row, names, NULL, 4);
    json_error_t err;
    json_t *obj = json_loads(s, 0, &err);
    ck_assert_ptr_nonnull(obj);
    sbuf out;
    sb_init(&out, NULL, 4096);
    ck_assert_int_eq(ct_row_from_json(obj, names, 4, &out), SL_OK);
    ck_assert_str_eq(sb_str(&out), row);
    /* typed values come back as their JSON text; unknown columns are NULL */
    json_t *typed = json_pack("{s:b, s:f, s:{s:i}}", "a", 1, "b", 2.5, "c", "x", 1);
    const char *n2[] = {"a", "b", "c", "zzz"};
    sb_clear(&out);
    ck_assert_int_eq(ct_row_from_json(typed, n2, 4, &out), SL_OK);
    ck_assert_str_eq(sb_str(&out), "true\t2.5\t{\"x\":1}\t\\N\n");
    json_t *arr = json_array();
    ck_assert_int_eq(ct_row_from_json(arr, n2, 1, &out), SL_EINVAL);
    json_decref(arr);
    json_decref(typed);
    json_decref(obj);
    sb_free(&out);
    free(s);
}
END_TEST

/* ---- against a real server ---------------------------------------------- */

static int copy_out_rows(PGconn *c, const char *sql, char **rows, int max)
{
    PGresult *r = PQexec(c, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_COPY_OUT);
    PQclear(r);
    int n = 0;
    char *buf;
    int len;
    while ((len = PQgetCopyData(c, &buf, 0)) > 0) {
        if (n < max)
            rows[n++] = strndup(buf, (size_t)len);
        PQfreemem(buf);
    }
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    return n;
}

START_TEST(test_server_agrees)
{
    const char *url = pgt_url("copytext", &g_must_fail);
    if (!url) {
        ck_assert_msg(!g_must_fail, "SLUICE_TEST_DATABASE_URL is required (CI=true)");
        return;
    }
    PGconn *c = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    /* values with every awkward byte, as the server writes them */
    const char *values =
        "(VALUES (1, E'tab\\there', NULL::text), (2, E'nl\\nand\\r\\\\ bs', E'\\\\N'),"
        " (3, E'\\x01\\x02\\x1f\\x7f', ''), (4, E'\\u00e9\\U0001F600', E'\\b\\f\\v'))"
        " v(id, a, b)";
    char sql[1024];
    snprintf(sql, sizeof sql, "COPY (SELECT * FROM %s ORDER BY id) TO STDOUT", values);
    char *rows[8];
    int n = copy_out_rows(c, sql, rows, 8);
    ck_assert_int_eq(n, 4);
    snprintf(sql, sizeof sql, "SELECT a, b FROM %s ORDER BY id", values);
    PGresult *r = PQexec(c, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    sbuf b, enc;
    sb_init(&b, NULL, 4096);
    sb_init(&enc, NULL, 4096);
    for (int i = 0; i < n; i++) {
        ct_field f[3];
        ck_assert_int_eq(ct_split(rows[i], strlen(rows[i]), f, 3), 3);
        for (int k = 1; k <= 2; k++) {
            ck_assert_int_eq(f[k].null, PQgetisnull(r, i, k - 1));
            sb_clear(&b);
            ck_assert_int_eq(ct_decode(&f[k], &b), SL_OK);
            ck_assert_str_eq(sb_str(&b), PQgetvalue(r, i, k - 1));
            /* and our encoding is the server's */
            if (!f[k].null) {
                sb_clear(&enc);
                ck_assert_int_eq(ct_encode(b.ptr ? b.ptr : "", b.len, &enc), SL_OK);
                ck_assert_uint_eq(enc.len, f[k].len);
                ck_assert_int_eq(memcmp(sb_str(&enc), f[k].p, enc.len), 0);
            }
        }
        free(rows[i]);
    }
    PQclear(r);
    /* JSON made from a row loads into jsonb and gives the values back */
    n = copy_out_rows(c, "COPY (SELECT E'x\\001y', U&'caf\\00e9', NULL::text) TO STDOUT",
                      rows, 8);
    ck_assert_int_eq(n, 1);
    const char *names[] = {"a", "b", "c"};
    sbuf js;
    sb_init(&js, NULL, 4096);
    ck_assert_int_eq(ct_row_json(rows[0], strlen(rows[0]), names, NULL, 3, &b, &js), SL_OK);
    const char *p[] = {sb_str(&js)};
    r = PQexecParams(c, "SELECT $1::jsonb->>'a' = E'x\\001y', $1::jsonb->>'b',"
                        " $1::jsonb->'c' = 'null'::jsonb", 1, NULL, p, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "t");
    ck_assert_str_eq(PQgetvalue(r, 0, 1), "caf\xc3\xa9");
    ck_assert_str_eq(PQgetvalue(r, 0, 2), "t");
    PQclear(r);
    free(rows[0]);
    sb_free(&js);
    sb_free(&b);
    sb_free(&enc);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("copytext");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_split_basic);
    tcase_add_test(tc, test_split_edges);
    tcase_add_test(tc, test_field_at);
    tcase_add_loop_test(tc, test_decode_table, 0,
                        (int)(sizeof decode_cases / sizeof decode_cases[0]));
    tcase_add_test(tc, test_encode_roundtrip);
    tcase_add_test(tc, test_caps);
    tcase_add_test(tc, test_json_text);
    tcase_add_test(tc, test_json_kinds);
    tcase_add_test(tc, test_json_utf8);
    tcase_add_test(tc, test_json_roundtrip);
    suite_add_tcase(s, tc);
    TCase *pg = tcase_create("server");
    tcase_set_timeout(pg, 30);
    tcase_add_test(pg, test_server_agrees);
    suite_add_tcase(s, pg);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
