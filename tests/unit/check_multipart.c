/* check_multipart.c - unit tests for app/web/multipart.c, table-driven.
 *
 * Every case of the table is run three ways and must give the same parts,
 * bytes and verdict: the whole body in one feed, split in two feeds at
 * every byte offset (so each boundary, header and CRLF is cut everywhere),
 * and one byte per feed. Parts are rendered as "[name|filename|type]data;"
 * (filename "-" when the part is not a file), so a case states exactly what
 * the caller sees. Also: Content-Type boundary extraction, boundary
 * validation, max parts, aborting callbacks, the byte invariant. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/multipart.h"

#define OUT_MAX 65536

typedef struct {
    char out[OUT_MAX];
    size_t len;
    size_t data_bytes;
    int abort_on_data; /* return non-zero from on_data after this many calls (0: never) */
    int data_calls;
} sink;

static void put(sink *s, const char *p, size_t n)
{
    ck_assert_uint_lt(s->len + n, OUT_MAX);
    memcpy(s->out + s->len, p, n);
    s->len += n;
    s->out[s->len] = '\0';
}

static int on_part(void *ud, const mp_part *part)
{
    sink *s = ud;
    put(s, "[", 1);
    put(s, part->name, strlen(part->name));
    put(s, "|", 1);
    const char *fn = part->filename ? part->filename : "-";
    put(s, fn, strlen(fn));
    put(s, "|", 1);
    put(s, part->content_type, strlen(part->content_type));
    put(s, "]", 1);
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    sink *s = ud;
    ck_assert_uint_gt(n, 0);
    put(s, p, n);
    s->data_bytes += n;
    s->data_calls++;
    return s->abort_on_data && s->data_calls >= s->abort_on_data;
}

static int on_end(void *ud)
{
    put(ud, ";", 1);
    return 0;
}

static const mp_callbacks CB = {on_part, on_data, on_end};

/* Parse body fed at the offsets in cuts (ascending, ncuts of them); the
 * verdict of feed + finish. */
static mp_err run(const char *boundary, int max_parts, const char *body, size_t n,
                  const size_t *cuts, int ncuts, sink *s)
{
    static _Alignas(max_align_t) char mem[64 * 1024];
    ck_assert_uint_le(mp_parser_size(), sizeof mem);
    memset(s->out, 0, 1);
    s->len = s->data_bytes = 0;
    s->data_calls = 0;
    mp_parser *p = mp_init(mem, boundary, max_parts, &CB, s);
    ck_assert_ptr_nonnull(p);
    size_t at = 0;
    mp_err e = MP_OK;
    for (int i = 0; i <= ncuts && e == MP_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        e = mp_feed(p, body + at, to - at);
        at = to;
    }
    mp_err f = mp_finish(p);
    if (e == MP_OK)
        e = f;
    else
        ck_assert_int_eq(f, e); /* errors stick */
    ck_assert_uint_le(s->data_bytes, n);
    return e;
}

#define CD "Content-Disposition: form-data; "

static const struct tcase_s {
    const char *what;
    const char *body;
    mp_err want;
    const char *parts; /* what the sink saw (checked when want is MP_OK or set) */
} cases[] = {
    {"one part", "--XyZ\r\n" CD "name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n"
                 "\r\nhello\r\n--XyZ--\r\n",
     MP_OK, "[f|a.txt|text/plain]hello;"},
    {"two files and a field",
     "--XyZ\r\n" CD "name=\"_csrf\"\r\n\r\ntok\r\n"
     "--XyZ\r\n" CD "name=\"files\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n"
     "id,x\r\n1,2\r\n"
     "\r\n--XyZ\r\n" CD "name=\"files\"; filename=\"b.jsonl\"\r\n\r\n{\"a\":1}\n"
     "\r\n--XyZ--",
     MP_OK, "[_csrf|-|]tok;[files|a.csv|text/csv]id,x\r\n1,2\r\n;[files|b.jsonl|]{\"a\":1}\n;"},
    {"preamble and epilogue",
     "This is the preamble.\r\n--XyY is not it\r\n--XyZ\r\n" CD "name=\"a\"\r\n\r\nA\r\n"
     "--XyZ--\r\nepilogue --XyZ\r\n--XyZ\r\ngarbage",
     MP_OK, "[a|-|]A;"},
    {"empty file", "--XyZ\r\n" CD "name=\"f\"; filename=\"e.txt\"\r\n\r\n\r\n--XyZ--\r\n", MP_OK,
     "[f|e.txt|];"},
    {"empty filename (no file chosen)",
     "--XyZ\r\n" CD "name=\"files\"; filename=\"\"\r\nContent-Type: application/octet-stream"
     "\r\n\r\n\r\n--XyZ--\r\n",
     MP_OK, "[files||application/octet-stream];"},
    {"no parts at all", "--XyZ--\r\n", MP_OK, ""},
    {"no headers in a part", "--XyZ\r\n\r\nraw\r\n--XyZ--", MP_OK, "[|-|]raw;"},
    {"quoted filename with ../ and escapes",
     "--XyZ\r\n" CD "name=\"f\"; filename=\"../../etc/a\\\"b\\\\c\\d.csv\"\r\n\r\nx\r\n--XyZ--",
     MP_OK, "[f|../../etc/a\"b\\c\\d.csv|]x;"},
    {"unquoted parameters, any case",
     "--XyZ\r\ncontent-disposition: FORM-DATA; NAME=f; FileName=plain.txt\r\n"
     "CONTENT-TYPE:text/plain  \r\n\r\nx\r\n--XyZ--",
     MP_OK, "[f|plain.txt|text/plain]x;"},
    {"filename* wins over filename",
     "--XyZ\r\n" CD "name=\"f\"; filename=\"EUR rates.csv\"; "
     "filename*=UTF-8''%E2%82%AC%20rates.csv\r\n\r\nx\r\n--XyZ--",
     MP_OK, "[f|\xe2\x82\xac rates.csv|]x;"},
    {"filename* before filename, with a language",
     "--XyZ\r\n" CD "filename*=utf-8'en'na%C3%AFve.txt; filename=\"naive.txt\"; name=f\r\n"
     "\r\nx\r\n--XyZ--",
     MP_OK, "[f|na\xc3\xafve.txt|]x;"},
    {"RFC 2231 continuations",
     "--XyZ\r\n" CD "name=f; filename*1=\"-part.csv\"; filename*0*=UTF-8''%E2%82%AC\r\n"
     "\r\nx\r\n--XyZ--",
     MP_OK, "[f|\xe2\x82\xac-part.csv|]x;"},
    {"filename* in another charset is ignored",
     "--XyZ\r\n" CD "name=f; filename=\"e.csv\"; filename*=ISO-8859-1''%E9.csv\r\n\r\nx\r\n"
     "--XyZ--",
     MP_OK, "[f|e.csv|]x;"},
    {"filename* with a bad escape or NUL is ignored",
     "--XyZ\r\n" CD "name=f; filename=\"ok.csv\"; filename*=UTF-8''bad%0G%00.csv\r\n\r\nx\r\n"
     "--XyZ--",
     MP_OK, "[f|ok.csv|]x;"},
    {"raw UTF-8 and control characters in a filename are passed on",
     "--XyZ\r\n" CD "name=f; filename=\"caf\xc3\xa9\x01\t.csv\"\r\n\r\nx\r\n--XyZ--", MP_OK,
     "[f|caf\xc3\xa9\x01\t.csv|]x;"},
    {"folded header",
     "--XyZ\r\nContent-Disposition: form-data;\r\n\tname=\"f\";\r\n filename=\"a\"\r\n\r\n"
     "x\r\n--XyZ--",
     MP_OK, "[f|a|]x;"},
    {"transport padding after boundaries",
     "--XyZ \t \r\n" CD "name=a\r\n\r\nA\r\n--XyZ\t\r\n" CD "name=b\r\n\r\nB\r\n--XyZ--  ",
     MP_OK, "[a|-|]A;[b|-|]B;"},
    {"near-delimiters in the data stay data",
     "--XyZ\r\n" CD "name=f; filename=a\r\n\r\n"
     "1\r\n--XyY\r2\r\r\n-3\r\n--Xy\n\r\n\r--X\r\r"
     "\r\n--XyZ--",
     MP_OK, "[f|a|]1\r\n--XyY\r2\r\r\n-3\r\n--Xy\n\r\n\r--X\r\r;"},
    {"a boundary followed by other characters", "--XyZ\r\n" CD "name=f\r\n\r\nx\r\n--XyZZ\r\n",
     MP_EPARSE, NULL},
    {"a boundary followed by one dash", "--XyZ\r\n" CD "name=f\r\n\r\nx\r\n--XyZ-x",
     MP_EPARSE, NULL},
    {"LF-only line ends are refused",
     "--XyZ\n" CD "name=\"f\"\n\nhello\n--XyZ--\n", MP_EPARSE, NULL},
    {"LF-only header lines are refused", "--XyZ\r\n" CD "name=\"f\"\n\nhello\r\n--XyZ--",
     MP_EPARSE, NULL},
    {"a bare CR in the headers", "--XyZ\r\n" CD "name=\"f\"\rx\r\n\r\nhello\r\n--XyZ--",
     MP_EPARSE, NULL},
    {"a NUL in the headers", "--XyZ\r\n" CD "name=\"f\0\"\r\n\r\nhello\r\n--XyZ--",
     MP_EPARSE, NULL},
    {"a header line without a colon", "--XyZ\r\nContent-Disposition form-data\r\n\r\nx\r\n"
     "--XyZ--", MP_EPARSE, NULL},
    {"a first header line that is a continuation", "--XyZ\r\n " CD "name=f\r\n\r\nx\r\n"
     "--XyZ--", MP_EPARSE, NULL},
    {"an unterminated quoted name", "--XyZ\r\n" CD "name=\"f\r\n\r\nx\r\n--XyZ--",
     MP_EPARSE, NULL},
    {"a parameter without a value", "--XyZ\r\n" CD "name\r\n\r\nx\r\n--XyZ--", MP_EPARSE,
     NULL},
    {"missing final boundary: data ends", "--XyZ\r\n" CD "name=f\r\n\r\nhello\r\n",
     MP_ETRUNCATED, "[f|-|]hello"},
    {"missing final boundary: ends after a boundary",
     "--XyZ\r\n" CD "name=f\r\n\r\nhello\r\n--XyZ", MP_ETRUNCATED, "[f|-|]hello"},
    {"missing final boundary: ends after one dash",
     "--XyZ\r\n" CD "name=f\r\n\r\nhello\r\n--XyZ-", MP_ETRUNCATED, "[f|-|]hello"},
    {"missing final boundary: ends in the headers", "--XyZ\r\n" CD "name=f\r\n",
     MP_ETRUNCATED, ""},
    {"missing final boundary: a new part never closed",
     "--XyZ\r\n" CD "name=a\r\n\r\nA\r\n--XyZ\r\n", MP_ETRUNCATED, "[a|-|]A;"},
    {"no boundary at all", "just some text\r\nwith lines\r\n", MP_ETRUNCATED, ""},
    {"empty body", "", MP_ETRUNCATED, ""},
};

#define NCASES (sizeof cases / sizeof cases[0])

static void check_case(const struct tcase_s *c, mp_err got, const sink *s, const char *how)
{
    ck_assert_msg(got == c->want, "%s (%s): verdict %d, want %d", c->what, how, got, c->want);
    if (c->parts)
        ck_assert_msg(strcmp(s->out, c->parts) == 0, "%s (%s): got '%s', want '%s'", c->what,
                      how, s->out, c->parts);
}

/* The body length: bodies hold no NUL except the case that tests one. */
static size_t body_len(const struct tcase_s *c)
{
    if (strstr(c->what, "NUL in the headers"))
        return strlen(c->body) + 1 + strlen(c->body + strlen(c->body) + 1);
    return strlen(c->body);
}

START_TEST(test_table_whole)
{
    const struct tcase_s *c = &cases[_i];
    sink s = {0};
    check_case(c, run("XyZ", 0, c->body, body_len(c), NULL, 0, &s), &s, "one feed");
}
END_TEST

START_TEST(test_table_every_split)
{
    const struct tcase_s *c = &cases[_i];
    size_t n = body_len(c);
    sink s = {0};
    for (size_t cut = 0; cut <= n; cut++) {
        char how[64];
        snprintf(how, sizeof how, "split at %zu", cut);
        check_case(c, run("XyZ", 0, c->body, n, &cut, 1, &s), &s, how);
    }
}
END_TEST

START_TEST(test_table_byte_by_byte)
{
    const struct tcase_s *c = &cases[_i];
    size_t n = body_len(c);
    size_t *cuts = calloc(n + 1, sizeof *cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    sink s = {0};
    check_case(c, run("XyZ", 0, c->body, n, cuts, n ? (int)n - 1 : 0, &s), &s, "bytewise");
    free(cuts);
}
END_TEST

/* A realistic browser body with a long boundary, cut at every pair of
 * offsets around each delimiter (three feeds). */
START_TEST(test_three_feeds_around_boundaries)
{
    const char *b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    char body[1024];
    int n = snprintf(body, sizeof body,
                     "--%s\r\n" CD "name=\"files\"; filename=\"x.csv\"\r\n"
                     "Content-Type: text/csv\r\n\r\na,b\r\n1,2\r\n--%s\r\n" CD
                     "name=\"files\"; filename=\"y.csv\"\r\n\r\nc\r\n--%s--\r\n",
                     b, b, b);
    const char *want = "[files|x.csv|text/csv]a,b\r\n1,2;[files|y.csv|]c;";
    sink s = {0};
    for (size_t i = 0; i <= (size_t)n; i += 3)
        for (size_t j = i; j <= (size_t)n; j += 5) {
            size_t cuts[2] = {i, j};
            ck_assert_int_eq(run(b, 0, body, (size_t)n, cuts, 2, &s), MP_OK);
            ck_assert_str_eq(s.out, want);
        }
}
END_TEST

START_TEST(test_huge_headers)
{
    size_t pad = MP_HEADER_MAX + 10;
    char *body = malloc(pad + 256);
    int n = snprintf(body, 256, "--XyZ\r\n" CD "name=\"f\"\r\nX-Pad: ");
    memset(body + n, 'a', pad);
    memcpy(body + n + pad, "\r\n\r\nx\r\n--XyZ--", 15);
    size_t len = (size_t)n + pad + 14;
    sink s = {0};
    ck_assert_int_eq(run("XyZ", 0, body, len, NULL, 0, &s), MP_EHEADERS);
    ck_assert_str_eq(s.out, "");
    /* Exactly MP_HEADER_MAX bytes of header block is fine, one more is not. */
    size_t fixed = strlen(CD "name=\"f\"\r\nX-Pad: ") + 4;
    pad = MP_HEADER_MAX - fixed;
    memset(body + n, 'a', pad);
    memcpy(body + n + pad, "\r\n\r\nx\r\n--XyZ--", 15);
    len = (size_t)n + pad + 14;
    ck_assert_int_eq(run("XyZ", 0, body, len, NULL, 0, &s), MP_OK);
    ck_assert_str_eq(s.out, "[f|-|]x;");
    pad++;
    memset(body + n, 'a', pad);
    memcpy(body + n + pad, "\r\n\r\nx\r\n--XyZ--", 15);
    ck_assert_int_eq(run("XyZ", 0, body, len + 1, NULL, 0, &s), MP_EHEADERS);
    free(body);
}
END_TEST

START_TEST(test_max_parts)
{
    const char *body = "--XyZ\r\n\r\na\r\n--XyZ\r\n\r\nb\r\n--XyZ\r\n\r\nc\r\n--XyZ--";
    sink s = {0};
    ck_assert_int_eq(run("XyZ", 3, body, strlen(body), NULL, 0, &s), MP_OK);
    ck_assert_str_eq(s.out, "[|-|]a;[|-|]b;[|-|]c;");
    ck_assert_int_eq(run("XyZ", 2, body, strlen(body), NULL, 0, &s), MP_ETOOMANY);
    ck_assert_str_eq(s.out, "[|-|]a;[|-|]b;");
}
END_TEST

START_TEST(test_abort_from_callback)
{
    const char *body = "--XyZ\r\n" CD "name=f\r\n\r\n0123456789\r\n--XyZ--";
    static _Alignas(max_align_t) char mem[64 * 1024];
    sink s = {0};
    s.abort_on_data = 1;
    mp_parser *p = mp_init(mem, "XyZ", 0, &CB, &s);
    size_t head = strlen("--XyZ\r\n" CD "name=f\r\n\r\n");
    ck_assert_int_eq(mp_feed(p, body, head), MP_OK); /* the headers only */
    ck_assert_str_eq(s.out, "[f|-|]");
    ck_assert_int_eq(mp_feed(p, body + head, strlen(body) - head), MP_EABORTED);
    ck_assert_int_eq(mp_feed(p, body, 5), MP_EABORTED);
    ck_assert_int_eq(mp_finish(p), MP_EABORTED);
    ck_assert_str_eq(mp_strerror(p), "the upload was stopped");
    ck_assert_int_eq(mp_parts(p), 1);
}
END_TEST

START_TEST(test_errors_explained)
{
    static _Alignas(max_align_t) char mem[64 * 1024];
    sink s = {0};
    mp_parser *p = mp_init(mem, "XyZ", 0, &CB, &s);
    ck_assert_str_eq(mp_strerror(p), "no error");
    ck_assert_int_eq(mp_feed(p, "--XyZ\r\n\r\nabc", 12), MP_OK);
    ck_assert_int_eq(mp_finish(p), MP_ETRUNCATED);
    ck_assert_str_eq(mp_strerror(p), "the body ended before its closing boundary");
}
END_TEST

START_TEST(test_boundary_validation)
{
    static _Alignas(max_align_t) char mem[64 * 1024];
    sink s = {0};
    char b71[72];
    memset(b71, 'b', 71);
    b71[71] = '\0';
    ck_assert_ptr_null(mp_init(mem, "", 0, &CB, &s));
    ck_assert_ptr_null(mp_init(mem, NULL, 0, &CB, &s));
    ck_assert_ptr_null(mp_init(mem, b71, 0, &CB, &s));
    ck_assert_ptr_null(mp_init(mem, "ab\rc", 0, &CB, &s));
    ck_assert_ptr_null(mp_init(mem, "abc ", 0, &CB, &s));
    ck_assert_ptr_null(mp_init(mem, "a\"b", 0, &CB, &s));
    b71[70] = '\0';
    ck_assert_ptr_nonnull(mp_init(mem, b71, 0, &CB, &s));
    ck_assert_ptr_nonnull(mp_init(mem, "a b'()+_,-./:=?Z9", 0, &CB, &s));
}
END_TEST

#define B70 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const struct {
    const char *ct;
    const char *want; /* NULL: refused */
} ctypes[] = {
    {"multipart/form-data; boundary=abc", "abc"},
    {"multipart/form-data;boundary=----WebKitFormBoundaryx", "----WebKitFormBoundaryx"},
    {"Multipart/Form-Data; BOUNDARY=x", "x"},
    {"multipart/form-data; charset=utf-8; boundary=\"a b:c\"", "a b:c"},
    {"multipart/form-data; boundary=\"q\\\"\"", NULL}, /* '"' is not a bchar */
    {"  multipart/form-data ; boundary=z", "z"},
    {"multipart/form-data; boundary=\"abc \"", NULL},
    {"multipart/form-data; boundary=", NULL},
    {"multipart/form-data; boundary=\"\"", NULL},
    {"multipart/form-data", NULL},
    {"multipart/mixed; boundary=abc", NULL},
    {"application/x-www-form-urlencoded", NULL},
    {"multipart/form-data; boundary=\"unterminated", NULL},
    {"multipart/form-data; boundary=a;", "a"}, /* what follows is not read */
    {"multipart/form-data; boundary=" B70, B70},
    {"multipart/form-data; boundary=" B70 "b", NULL},
    {"", NULL},
};

START_TEST(test_content_type_boundary)
{
    char out[MP_BOUNDARY_MAX + 1];
    int ok = mp_boundary(ctypes[_i].ct, out);
    if (ctypes[_i].want) {
        ck_assert_msg(ok, "'%s' refused", ctypes[_i].ct);
        ck_assert_str_eq(out, ctypes[_i].want);
    } else {
        ck_assert_msg(!ok, "'%s' accepted", ctypes[_i].ct);
    }
    ck_assert_int_eq(mp_boundary(NULL, out), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("multipart");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, test_table_whole, 0, NCASES);
    tcase_add_loop_test(t, test_table_every_split, 0, NCASES);
    tcase_add_loop_test(t, test_table_byte_by_byte, 0, NCASES);
    tcase_add_test(t, test_three_feeds_around_boundaries);
    tcase_add_test(t, test_huge_headers);
    tcase_add_test(t, test_max_parts);
    tcase_add_test(t, test_abort_from_callback);
    tcase_add_test(t, test_errors_explained);
    tcase_add_test(t, test_boundary_validation);
    tcase_add_loop_test(t, test_content_type_boundary, 0,
                        (int)(sizeof ctypes / sizeof ctypes[0]));
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
