/* check_params.c - unit tests for app/web/params.c: declared query names,
 * strict integers, dates and timestamps, UTF-8 length, control characters,
 * email shape, URL encoding, trimming, and API paging (opaque cursors,
 * ?limit= / ?cursor=, the {items, next_cursor} body). */
#include <check.h>
#include <sodium.h>
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

static const struct {
    const char *s;
    int ok;
} ts_cases[] = {
    {"2024-05-31T12:34:56Z", 1},
    {"2024-05-31T12:34:56.123456Z", 1},
    {"2024-05-31T12:34:56.1Z", 1},
    {"2024-02-29T00:00:00.000000Z", 1},
    {"2024-12-31T23:59:59.999999Z", 1},
    {"2023-02-29T00:00:00Z", 0},      /* no such day */
    {"2024-05-31T24:00:00Z", 0},
    {"2024-05-31T12:60:00Z", 0},
    {"2024-05-31T12:34:60Z", 0},
    {"2024-05-31T12:34:56.1234567Z", 0}, /* 7 fraction digits */
    {"2024-05-31T12:34:56.Z", 0},
    {"2024-05-31T12:34:56", 0},       /* no zone */
    {"2024-05-31T12:34:56+00", 0},
    {"2024-05-31 12:34:56Z", 0},
    {"2024-05-31T12:34:56Zx", 0},
    {"2024-05-31T1:34:56Z", 0},
    {"2024-05-31T12:34:5aZ", 0},
    {"2024-05-31", 0},
    {"", 0},
    {"now", 0},
    {"2024-05-31T12:34:56.12a456Z", 0},
};

START_TEST(test_timestamp)
{
    for (size_t i = 0; i < sizeof ts_cases / sizeof ts_cases[0]; i++)
        ck_assert_msg(params_timestamp(ts_cases[i].s) == ts_cases[i].ok, "case '%s'",
                      ts_cases[i].s);
    ck_assert_int_eq(params_timestamp(NULL), 0);
}
END_TEST

/* base64url (no padding) of n bytes of raw, in a. */
static const char *b64(arena *a, const char *raw, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, cap);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

START_TEST(test_cursor_roundtrip)
{
    arena *a = arena_new(0);
    static const char *const one[] = {"7301234567890123"};
    static const char *const two[] = {"2024-05-31T12:34:56.123456Z",
                                      "0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b"};
    static const char *const three[] = {"", "\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9",
                                        "a,b;c=d&e"};
    static const char *const four[] = {"a", "b", "c", "d"};
    const char *const *sets[] = {one, two, three, four};
    for (int n = 1; n <= 4; n++) {
        const char *const *in = sets[n - 1];
        char *c = params_cursor_make(a, n, in);
        ck_assert_uint_gt(strlen(c), 0);
        ck_assert_msg(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_") == strlen(c),
                      "cursor %s is not URL-safe", c);
        const char *got[PARAMS_CURSOR_FIELDS] = {0};
        ck_assert_int_eq(params_cursor_parse(a, c, n, got), 1);
        for (int i = 0; i < n; i++)
            ck_assert_str_eq(got[i], in[i]);
        /* The field count is part of the shape. */
        if (n > 1)
            ck_assert_int_eq(params_cursor_parse(a, c, n - 1, got), 0);
        if (n < 4)
            ck_assert_int_eq(params_cursor_parse(a, c, n + 1, got), 0);
    }
    /* Same input, same cursor: "lname\nid" as sources and destinations made them. */
    ck_assert_str_eq(params_cursor_make(a, 2, (const char *[]){"shop pg", "x"}),
                     b64(a, "shop pg\nx", 9));
    arena_free(a);
}
END_TEST

START_TEST(test_cursor_malformed)
{
    arena *a = arena_new(0);
    const char *bad[] = {
        "",
        "!!!",
        "a b",
        "YQ==",                            /* padded "a" */
        b64(a, "a\nb\nc", 5),              /* three fields, two wanted */
        b64(a, "a", 1),                    /* one field, two wanted */
        b64(a, "tab\there\nx", 10),        /* control character */
        b64(a, "nul\0x\ny", 7),            /* NUL */
        b64(a, "\xff\xfe\ny", 4),          /* not UTF-8 */
        b64(a, "a\nb\r", 4),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *f[2] = {"untouched", "untouched"};
        ck_assert_msg(params_cursor_parse(a, bad[i], 2, f) == 0, "case %zu accepted", i);
        ck_assert_str_eq(f[0], "untouched");
        ck_assert_str_eq(f[1], "untouched");
    }
    char *huge = arena_alloc(a, PARAMS_CURSOR_MAX + 2);
    memset(huge, 'A', PARAMS_CURSOR_MAX + 1);
    huge[PARAMS_CURSOR_MAX + 1] = '\0';
    const char *f[1];
    ck_assert_int_eq(params_cursor_parse(a, huge, 1, f), 0);
    huge[PARAMS_CURSOR_MAX] = '\0'; /* 2048 'A's: 1536 bytes of 0x00s: NULs */
    ck_assert_int_eq(params_cursor_parse(a, huge, 1, f), 0);
    ck_assert_int_eq(params_cursor_parse(a, b64(a, "x", 1), 0, f), 0);
    ck_assert_int_eq(params_cursor_parse(a, b64(a, "x", 1), PARAMS_CURSOR_FIELDS + 1, f), 0);
    arena_free(a);
}
END_TEST

static int second_is_digits(const char *const *f)
{
    return *f[1] && strspn(f[1], "0123456789") == strlen(f[1]);
}

START_TEST(test_page)
{
    arena *a = arena_new(0);
    request r;
    memset(&r, 0, sizeof r);
    r.a = a;
    json_t *errors = json_object();
    const char *key[2] = {"stale", "stale"};
    long long limit = -1;

    r.query = "";
    ck_assert_int_eq(params_page(&r, 2, second_is_digits, key, &limit, errors), 0);
    ck_assert_int_eq(limit, PARAMS_LIMIT_DEFAULT);
    ck_assert_ptr_null(key[0]);
    ck_assert_ptr_null(key[1]);
    ck_assert_int_eq(json_object_size(errors), 0);

    const char *good = params_cursor_make(a, 2, (const char *[]){"b\xc3\xa9ta", "42"});
    r.query = arena_printf(a, "limit=200&cursor=%s", good);
    ck_assert_int_eq(params_page(&r, 2, second_is_digits, key, &limit, errors), 1);
    ck_assert_int_eq(limit, 200);
    ck_assert_str_eq(key[0], "b\xc3\xa9ta");
    ck_assert_str_eq(key[1], "42");
    ck_assert_int_eq(json_object_size(errors), 0);

    r.query = "limit=1";
    ck_assert_int_eq(params_page(&r, 2, NULL, key, &limit, errors), 0);
    ck_assert_int_eq(limit, 1);

    /* Every bad value is a field error; limit falls back to the default. */
    static const char *const bad_limits[] = {"limit=0", "limit=201", "limit=abc", "limit=",
                                             "limit=-1", "limit=1.5", "limit=%2B5"};
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        json_object_clear(errors);
        r.query = bad_limits[i];
        params_page(&r, 2, NULL, key, &limit, errors);
        ck_assert_int_eq(limit, PARAMS_LIMIT_DEFAULT);
        ck_assert_msg(json_object_get(errors, "limit") != NULL, "%s accepted", bad_limits[i]);
        ck_assert_int_eq(json_object_size(errors), 1);
    }

    /* A cursor the check refuses, a malformed one, an empty one, a bad escape. */
    const char *refused = params_cursor_make(a, 2, (const char *[]){"a", "not digits"});
    const char *bad_cursors[] = {arena_printf(a, "cursor=%s", refused), "cursor=%%%",
                                 "cursor=", "cursor=!!", "cursor=a%00b",
                                 arena_printf(a, "cursor=%s", b64(a, "42", 2))};
    for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
        json_object_clear(errors);
        key[0] = key[1] = "stale";
        r.query = bad_cursors[i];
        ck_assert_int_eq(params_page(&r, 2, second_is_digits, key, &limit, errors), 0);
        ck_assert_ptr_null(key[0]);
        ck_assert_ptr_null(key[1]);
        ck_assert_msg(json_object_get(errors, "cursor") != NULL, "%s accepted", bad_cursors[i]);
    }
    json_object_clear(errors);
    r.query = "limit=0&cursor=zz";
    params_page(&r, 1, NULL, key, &limit, errors);
    ck_assert_int_eq(json_object_size(errors), 2);
    ck_assert_str_eq(json_string_value(json_object_get(errors, "limit")),
                     "must be an integer from 1 to 200");
    ck_assert_str_eq(json_string_value(json_object_get(errors, "cursor")),
                     "is not a cursor this API returned (next_cursor)");
    json_decref(errors);
    arena_free(a);
}
END_TEST

START_TEST(test_page_json)
{
    json_t *body = params_page_json(json_pack("[i, i]", 1, 2), "abc");
    char *s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(s, "{\"items\":[1,2],\"next_cursor\":\"abc\"}");
    free(s);
    json_decref(body);
    body = params_page_json(json_array(), NULL);
    s = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(s, "{\"items\":[],\"next_cursor\":null}");
    free(s);
    json_decref(body);
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
    tcase_add_test(tc, test_timestamp);
    tcase_add_test(tc, test_cursor_roundtrip);
    tcase_add_test(tc, test_cursor_malformed);
    tcase_add_test(tc, test_page);
    tcase_add_test(tc, test_page_json);
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
