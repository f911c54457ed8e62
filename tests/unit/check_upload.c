/* check_upload.c - unit tests for app/web/upload.c's file names
 * (upload_clean_name), table-driven: paths of both kinds, dot names,
 * control characters (C0, DEL, C1), bidirectional overrides, invalid UTF-8
 * (stray bytes, overlong forms, surrogates), trimming, and the 255-byte cut
 * that keeps a short extension and never splits a character; then 20,000
 * random names that must come back valid UTF-8, without '/', '\' or a
 * control character, and at most 255 bytes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "web/upload.h"

static arena *A;

static void setup(void)
{
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

static const struct {
    const char *in, *want; /* want NULL: refused */
} names[] = {
    {"a.csv", "a.csv"},
    {"../../etc/passwd", "passwd"},
    {"/abs/path/x.jsonl", "x.jsonl"},
    {"C:\\Users\\me\\data.csv", "data.csv"},
    {"mixed/..\\both/f", "f"},
    {"dir/", NULL},
    {"..\\", NULL},
    {"", NULL},
    {".", NULL},
    {"..", NULL},
    {"a/..", NULL},
    {"   ", NULL},
    {"\x01\x02\x7f", NULL},
    {"...", "..."},
    {".hidden", ".hidden"},
    {"  spaced  .csv  ", "spaced  .csv"},
    {"a\x01" "b\tc\nd\re\x7f.csv", "abcde.csv"},
    {"a\xc2\x85" "b\xc2\x9f" "c", "abc"},                 /* C1 controls */
    {"evil\xe2\x80\xae" "txt.exe", "eviltxt.exe"},       /* U+202E */
    {"x\xe2\x81\xa6y\xe2\x80\x8fz", "xyz"},               /* U+2066, U+200F */
    {"caf\xe9.csv", "caf_.csv"},                         /* Latin-1 byte */
    {"\xc0\xaf" "x", "__x"},                             /* overlong '/' */
    {"\xed\xa0\x80" "x", "___x"},                        /* a surrogate */
    {"\xf4\x90\x80\x80", "____"},                        /* past U+10FFFF */
    {"\xe2\x82", "__"},                                  /* cut short */
    {"donn\xc3\xa9" "es \xf0\x9f\x98\x80.csv", "donn\xc3\xa9" "es \xf0\x9f\x98\x80.csv"},
    {"tab\there", "tabhere"},
};

START_TEST(test_names)
{
    char *got = upload_clean_name(A, names[_i].in);
    if (!names[_i].want)
        ck_assert_msg(got == NULL, "'%s' gave '%s'", names[_i].in, got ? got : "");
    else
        ck_assert_msg(got && strcmp(got, names[_i].want) == 0, "'%s' gave '%s', want '%s'",
                      names[_i].in, got ? got : "(null)", names[_i].want);
}
END_TEST

START_TEST(test_null)
{
    ck_assert_ptr_null(upload_clean_name(A, NULL));
}
END_TEST

static char *repeat(const char *s, int n, const char *tail)
{
    size_t sl = strlen(s), tl = strlen(tail);
    char *out = arena_alloc(A, sl * (size_t)n + tl + 1), *p = out;
    for (int i = 0; i < n; i++, p += sl)
        memcpy(p, s, sl);
    memcpy(p, tail, tl + 1);
    return out;
}

START_TEST(test_long_names)
{
    /* ASCII: the stem is cut, the extension stays, 255 bytes in all. */
    char *got = upload_clean_name(A, repeat("a", 300, ".csv"));
    ck_assert_uint_eq(strlen(got), UPLOAD_NAME_MAX);
    ck_assert_str_eq(got, repeat("a", 251, ".csv"));
    /* Two-byte characters: never split; 125 of them fit before ".csv". */
    got = upload_clean_name(A, repeat("\xc3\xa9", 200, ".csv"));
    ck_assert_str_eq(got, repeat("\xc3\xa9", 125, ".csv"));
    /* An extension longer than 16 bytes is not an extension. */
    got = upload_clean_name(A, repeat("a", 300, ".bbbbbbbbbbbbbbbbbbbb"));
    ck_assert_str_eq(got, repeat("a", 255, ""));
    /* Exactly 255 bytes is kept as it is. */
    got = upload_clean_name(A, repeat("b", 251, ".txt"));
    ck_assert_str_eq(got, repeat("b", 251, ".txt"));
    /* Four-byte characters at the cut. */
    got = upload_clean_name(A, repeat("\xf0\x9f\x98\x80", 70, ""));
    ck_assert_str_eq(got, repeat("\xf0\x9f\x98\x80", 63, ""));
}
END_TEST

static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3
                : (*s & 0xf8) == 0xf0                ? 4
                                                     : 0;
        if (!n)
            return 0;
        for (int i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

START_TEST(test_random_names)
{
    static const char alphabet[] = "ab./\\. \t\x01\x7f\xc3\xa9\xe2\x80\xae\xf0\x9f\x98\x80\xff";
    unsigned seed = 12345;
    char buf[600];
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        buf[n] = '\0';
        char *got = upload_clean_name(A, buf);
        if (!got)
            continue;
        ck_assert_uint_gt(strlen(got), 0);
        ck_assert_uint_le(strlen(got), UPLOAD_NAME_MAX);
        ck_assert_msg(valid_utf8((const unsigned char *)got), "invalid UTF-8 from round %d",
                      round);
        ck_assert_ptr_null(strpbrk(got, "/\\\x01\x7f\t"));
        ck_assert_str_ne(got, ".");
        ck_assert_str_ne(got, "..");
        ck_assert(got[0] != ' ' && got[strlen(got) - 1] != ' ');
        if (round % 1000 == 0)
            arena_reset(A);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("upload");
    TCase *t = tcase_create("names");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, test_names, 0, (int)(sizeof names / sizeof names[0]));
    tcase_add_test(t, test_null);
    tcase_add_test(t, test_long_names);
    tcase_add_test(t, test_random_names);
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
