/* check_params.c - unit tests for app/web/params.c: declared query names,
 * strict integers and dates, UTF-8 length, control characters, email
 * shape, URL encoding, trimming. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "web/params.h"

static const struct {
    const char *s;
    long long min, max;
    int ok;
    long long want;
} int_cases[] = {
    {"0", 0, 10, 1, 0},
    {"10", 0, 10, 1, 10},
    {"11", 0, 10, 0, 0},
    {"-1", 0, 10, 0, 0},
    {"-5", -10, 10, 1, -5},
    {"", 0, 10, 0, 0},
    {"-", -10, 10, 0, 0},
    {"+1", 0, 10, 0, 0},
    {" 1", 0, 10, 0, 0},
    {"1 ", 0, 10, 0, 0},
    {"1e3", 0, 10000, 0, 0},
    {"0x10", 0, 100, 0, 0},
    {"007", 0, 10, 1, 7},
    {"9223372036854775807", 1, 9223372036854775807LL, 1, 9223372036854775807LL},
    {"9223372036854775808", 1, 9223372036854775807LL, 0, 0},
    {"99999999999999999999999", 1, 9223372036854775807LL, 0, 0},
    {"200", 1, 200, 1, 200},
    {"201", 1, 200, 0, 0},
};

START_TEST(test_int)
{
    for (size_t i = 0; i < sizeof int_cases / sizeof int_cases[0]; i++) {
        long long v = -42;
        int ok = params_int(int_cases[i].s, int_cases[i].min, int_cases[i].max, &v);
        ck_assert_msg(ok == int_cases[i].ok, "case '%s': ok %d", int_cases[i].s, ok);
        ck_assert_msg(v == (ok ? int_cases[i].want : -42), "case '%s': value %lld",
                      int_cases[i].s, v);
    }
    long long v = 1;
    ck_assert_int_eq(params_int(NULL, 0, 1, &v), 0);
}
END_TEST

static const struct {
    const char *s;
    int ok;
} date_cases[] = {
    {"2024-05-31", 1},  {"2024-02-29", 1}, {"2023-02-29", 0}, {"2000-02-29", 1},
    {"1900-02-29", 0},  {"2024-04-31", 0}, {"2024-13-01", 0}, {"2024-00-10", 0},
    {"2024-01-00", 0},  {"0000-01-01", 0}, {"0001-01-01", 1}, {"9999-12-31", 1},
    {"2024-1-01", 0},   {"2024/01/01", 0}, {"2024-01-01T", 0}, {"24-01-01", 0},
    {"", 0},            {"yesterday", 0},  {"2024-01-0a", 0}, {" 2024-01-01", 0},
    {"2024-12-31", 1},  {"2024-11-31", 0},
};

START_TEST(test_date)
{
    for (size_t i = 0; i < sizeof date_cases / sizeof date_cases[0]; i++)
        ck_assert_msg(params_date(date_cases[i].s) == date_cases[i].ok, "case '%s'",
                      date_cases[i].s);
    ck_assert_int_eq(params_date(NULL), 0);
}
END_TEST

static const struct {
    const char *s;
    long want;
} utf8_cases[] = {
    {"", 0},
    {"abc", 3},
    {"caf\xc3\xa9", 4},                 /* é */
    {"\xc3\xa9t\xc3\xa9", 3},           /* été */
    {"\xe2\x82\xac", 1},                /* € */
    {"\xe2\x80\xa6", 1},                /* … */
    {"\xf0\x9f\x98\x80", 1},            /* emoji */
    {"\xc3", -1},                       /* truncated */
    {"\xc3(", -1},                      /* bad continuation */
    {"\xc0\xaf", -1},                   /* overlong '/' */
    {"\xe0\x80\xaf", -1},               /* overlong, 3 bytes */
    {"\xed\xa0\x80", -1},               /* surrogate */
    {"\xf4\x90\x80\x80", -1},           /* past U+10FFFF */
    {"\xff", -1},
    {"\x80", -1},                       /* lone continuation */
};

START_TEST(test_utf8_len)
{
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++)
        ck_assert_msg(params_utf8_len(utf8_cases[i].s) == utf8_cases[i].want, "case %zu", i);
}
END_TEST

START_TEST(test_control)
{
    ck_assert_int_eq(params_has_control("plain text"), 0);
    ck_assert_int_eq(params_has_control("caf\xc3\xa9"), 0);
    ck_assert_int_eq(params_has_control("a\tb"), 1);
    ck_assert_int_eq(params_has_control("a\nb"), 1);
    ck_assert_int_eq(params_has_control("a\x7f"), 1);
    ck_assert_int_eq(params_has_control("\x01"), 1);
}
END_TEST

static const struct {
    const char *s;
    int want;
} email_cases[] = {
    {"ana@example.com", 1},
    {"Ana.Maria+tag@Example.CO.uk", 1},
    {"admin@localhost", 1},
    {"o'brien@example.com", 1},
    {"j\xc3\xbcrgen@example.de", 1},  /* UTF-8 local part */
    {"", 0},
    {"not-an-email", 0},
    {"@example.com", 0},
    {"ana@", 0},
    {"ana@@example.com", 0},
    {"a@b@example.com", 0},
    {"ana maria@example.com", 0},
    {"ana@exa mple.com", 0},
    {"ana@example..com", 0},
    {"ana@.example.com", 0},
    {"ana@example.com.", 0},
    {"ana@-example.com", 0},
    {"ana@example-.com", 0},
    {"<ana>@example.com", 0},
    {"ana@example.com\"", 0},
    {"ana@ex\tample.com", 0},
    {"ana@ex\x7f" "ample.com", 0},
    {"j\xc3@example.com", 0},         /* truncated UTF-8 */
};

START_TEST(test_email)
{
    ck_assert_msg(params_email(email_cases[_i].s) == email_cases[_i].want, "'%s'",
                  email_cases[_i].s);
}
END_TEST

START_TEST(test_email_length)
{
    char buf[300];
    memset(buf, 'a', sizeof buf);
    /* 242 + "@example.com" (12) = 254 bytes: the limit. */
    memcpy(buf + 242, "@example.com", 13);
    ck_assert_int_eq(params_email(buf), 1);
    memset(buf, 'a', sizeof buf);
    memcpy(buf + 243, "@example.com", 13);
    ck_assert_int_eq(params_email(buf), 0);
}
END_TEST

START_TEST(test_urlencode_and_trim)
{
    arena *a = arena_new(0);
    ck_assert_str_eq(params_urlencode(a, "user.create"), "user.create");
    ck_assert_str_eq(params_urlencode(a, "a b&c=d/e%"), "a%20b%26c%3Dd%2Fe%25");
    ck_assert_str_eq(params_urlencode(a, "ann@x.io"), "ann%40x.io");
    ck_assert_str_eq(params_urlencode(a, "\xc3\xa9~-_"), "%C3%A9~-_");
    ck_assert_str_eq(params_urlencode(a, ""), "");
    ck_assert_str_eq(params_trim(a, "  ci deploy \t\n"), "ci deploy");
    ck_assert_str_eq(params_trim(a, "   "), "");
    const char *same = "x";
    ck_assert_ptr_eq(params_trim(a, same), same);
    arena_free(a);
}
END_TEST

START_TEST(test_undeclared)
{
    arena *a = arena_new(0);
    request r;
    memset(&r, 0, sizeof r);
    r.a = a;
    static const char *const declared[] = {"actor", "limit", NULL};

    json_t *errors = json_object();
    r.query = "actor=x&limit=5&limit=6&actor";
    ck_assert_int_eq(params_undeclared(&r, declared, errors), 0);
    ck_assert_int_eq(json_object_size(errors), 0);

    r.query = "actor=x&colour=red&sort&colour=blue&&%61ctor=y";
    ck_assert_int_eq(params_undeclared(&r, declared, errors), 2);
    ck_assert_str_eq(json_string_value(json_object_get(errors, "colour")), "unknown parameter");
    ck_assert_ptr_nonnull(json_object_get(errors, "sort"));
    ck_assert_ptr_null(json_object_get(errors, "actor"));

    json_object_clear(errors);
    r.query = "%zz=1";
    ck_assert_int_eq(params_undeclared(&r, declared, errors), 1);
    ck_assert_str_eq(json_string_value(json_object_get(errors, "%zz")), "bad escape");

    json_object_clear(errors);
    r.query = "";
    ck_assert_int_eq(params_undeclared(&r, declared, errors), 0);
    json_decref(errors);
    arena_free(a);
}
END_TEST

START_TEST(test_query)
{
    arena *a = arena_new(0);
    request r;
    memset(&r, 0, sizeof r);
    r.a = a;
    json_t *errors = json_object();
    r.query = "actor=ann%40x.io&action=user.&flag&from=%ZZ&to=a%01b&actor=second";
    ck_assert_str_eq(params_query(&r, "actor", errors), "ann@x.io");
    ck_assert_str_eq(params_query(&r, "action", errors), "user.");
    ck_assert_str_eq(params_query(&r, "flag", errors), "");
    ck_assert_ptr_null(params_query(&r, "limit", errors));
    ck_assert_int_eq(json_object_size(errors), 0);
    ck_assert_ptr_null(params_query(&r, "from", errors));
    ck_assert_ptr_null(params_query(&r, "to", errors));
    ck_assert_int_eq(json_object_size(errors), 2);
    ck_assert_ptr_nonnull(json_object_get(errors, "from"));
    ck_assert_ptr_nonnull(json_object_get(errors, "to"));

    /* A name that is not UTF-8 cannot be a JSON key: reported as "query". */
    json_object_clear(errors);
    static const char *const declared[] = {"actor", NULL};
    r.query = "%C3%28=1";
    ck_assert_int_eq(params_undeclared(&r, declared, errors), 1);
    ck_assert_str_eq(json_string_value(json_object_get(errors, "query")),
                     "a parameter name is not valid UTF-8");
    json_decref(errors);
    arena_free(a);
}
END_TEST

static Suite *params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_date);
    tcase_add_test(tc, test_utf8_len);
    tcase_add_test(tc, test_control);
    tcase_add_loop_test(tc, test_email, 0, sizeof email_cases / sizeof email_cases[0]);
    tcase_add_test(tc, test_email_length);
    tcase_add_test(tc, test_urlencode_and_trim);
    tcase_add_test(tc, test_undeclared);
    tcase_add_test(tc, test_query);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(params_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
