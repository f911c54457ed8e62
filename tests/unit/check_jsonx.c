/* check_jsonx.c - unit tests for app/core/jsonx.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"

START_TEST(test_parse_object_and_own)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    const char *text = "{\"a\": 1, \"b\": [true, null], \"s\": \"x\"}";
    json_t *v = jsonx_parse(a, &eb, text, strlen(text));
    ck_assert_ptr_nonnull(v);
    ck_assert(json_is_object(v));
    ck_assert_int_eq(jsonx_int(v, "a", -1), 1);
    /* The arena holds the only reference: after reset ours is the last. */
    json_incref(v);
    ck_assert_uint_eq(v->refcount, 2);
    arena_reset(a);
    ck_assert_uint_eq(v->refcount, 1);
    json_decref(v);
    arena_free(a);
}
END_TEST

START_TEST(test_parse_not_terminated)
{
    arena *a = arena_new(0);
    const char buf[] = {'[', '1', ',', '2', ']', 'j', 'u', 'n', 'k'};
    json_t *v = jsonx_parse(a, NULL, buf, 5);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(json_array_size(v), 2);
    ck_assert_str_eq(jsonx_dump(a, v), "[1,2]");
    arena_free(a);
}
END_TEST

static const struct {
    const char *text;
    const char *dump; /* NULL: must fail to parse */
} parse_cases[] = {
    {"42", "42"},
    {"\"str\"", "\"str\""},
    {"null", "null"},
    {"  {\"k\" : [ 1 , 2.5 , false ] }  ", "{\"k\":[1,2.5,false]}"},
    {"{\"u\":\"\\u00e9\\n\"}", "{\"u\":\"\xc3\xa9\\n\"}"},
    {"", NULL},
    {"{", NULL},
    {"{\"a\":1,}", NULL},
    {"[1] [2]", NULL},
    {"{\"a\":1,\"a\":2}", NULL}, /* duplicate keys are rejected */
    {"\"\xff\"", NULL},          /* invalid UTF-8 */
    {"\"a\\u0000b\"", NULL},     /* NUL inside a string */
    {"nul", NULL},
};

START_TEST(test_parse_table)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    const char *t = parse_cases[_i].text;
    json_t *v = jsonx_parse(a, &eb, t, strlen(t));
    if (parse_cases[_i].dump) {
        ck_assert_msg(v != NULL, "'%s': %s", t, eb.msg);
        ck_assert_str_eq(jsonx_dump(a, v), parse_cases[_i].dump);
    } else {
        ck_assert_msg(v == NULL, "'%s' parsed", t);
        ck_assert_int_eq(eb.code, SL_EPARSE);
        ck_assert_ptr_nonnull(strstr(eb.msg, "line "));
        ck_assert_ptr_nonnull(strstr(eb.msg, "column "));
    }
    arena_free(a);
}
END_TEST

START_TEST(test_parse_error_position)
{
    sl_errbuf eb = {0};
    const char *t = "{\n  \"a\": 1,\n  oops\n}";
    ck_assert_ptr_null(jsonx_parse(NULL, &eb, t, strlen(t)));
    ck_assert_int_eq(eb.code, SL_EPARSE);
    ck_assert_ptr_nonnull(strstr(eb.msg, "line 3"));
}
END_TEST

START_TEST(test_dump)
{
    arena *a = arena_new(0);
    json_t *v = jsonx_own(a, json_pack("{s:i, s:[b, n], s:s}", "a", 1, "b", 1, "c", "q\"uote"));
    ck_assert_str_eq(jsonx_dump(a, v), "{\"a\":1,\"b\":[true,null],\"c\":\"q\\\"uote\"}");
    ck_assert_str_eq(jsonx_dump(a, NULL), "null");
    ck_assert_str_eq(jsonx_dump(a, jsonx_own(a, json_string("s"))), "\"s\"");
    ck_assert_str_eq(jsonx_dump(a, jsonx_own(a, json_integer(-7))), "-7");
    arena_free(a);
}
END_TEST

START_TEST(test_own_null)
{
    arena *a = arena_new(0);
    ck_assert_ptr_null(jsonx_own(a, NULL));
    json_t *v = json_object();
    ck_assert_ptr_eq(jsonx_own(NULL, v), v); /* no arena: caller keeps it */
    json_decref(v);
    arena_free(a);
}
END_TEST

START_TEST(test_getters)
{
    json_t *o = json_pack("{s:s, s:i, s:I, s:b, s:b, s:n, s:f, s:s}", "name", "orders", "n", 5,
                          "big", (json_int_t)9007199254740993LL, "yes", 1, "no", 0, "nil",
                          "real", 1.5, "flag", "true");
    ck_assert_ptr_nonnull(o);

    ck_assert_str_eq(jsonx_str(o, "name", "d"), "orders");
    ck_assert_str_eq(jsonx_str(o, "missing", "d"), "d");
    ck_assert_str_eq(jsonx_str(o, "n", "d"), "d");
    ck_assert_ptr_null(jsonx_str(o, "nil", NULL));

    ck_assert_int_eq(jsonx_int(o, "n", -1), 5);
    ck_assert_int_eq(jsonx_int(o, "big", -1), 9007199254740993LL);
    ck_assert_int_eq(jsonx_int(o, "real", -1), -1);
    ck_assert_int_eq(jsonx_int(o, "name", -1), -1);
    ck_assert_int_eq(jsonx_int(o, "missing", 77), 77);

    ck_assert_int_eq(jsonx_bool(o, "yes", -1), 1);
    ck_assert_int_eq(jsonx_bool(o, "no", -1), 0);
    ck_assert_int_eq(jsonx_bool(o, "flag", -1), -1); /* "true" the string is not a bool */
    ck_assert_int_eq(jsonx_bool(o, "n", -1), -1);
    ck_assert_int_eq(jsonx_bool(o, "missing", 1), 1);

    /* Not an object, or NULL: defaults. */
    json_t *arr = json_array();
    ck_assert_str_eq(jsonx_str(arr, "name", "d"), "d");
    ck_assert_int_eq(jsonx_int(NULL, "n", 3), 3);
    ck_assert_int_eq(jsonx_bool(NULL, "yes", 0), 0);
    json_decref(arr);
    json_decref(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonx");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_object_and_own);
    tcase_add_test(tc, test_parse_not_terminated);
    tcase_add_loop_test(tc, test_parse_table, 0, sizeof parse_cases / sizeof parse_cases[0]);
    tcase_add_test(tc, test_parse_error_position);
    tcase_add_test(tc, test_dump);
    tcase_add_test(tc, test_own_null);
    tcase_add_test(tc, test_getters);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
