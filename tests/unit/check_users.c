/* check_users.c - unit tests for the input rules of app/web/users.c: roles,
 * names and passwords (static functions, so the .c is included; the
 * library's users.o is then never pulled in, because this object already
 * defines every symbol it would provide), and the API list's cursor check.
 * Email shape and UTF-8 length are params.c's and tested in check_params.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../app/web/users.c"

START_TEST(test_roles)
{
    ck_assert_int_eq(role_ok("admin"), 1);
    ck_assert_int_eq(role_ok("editor"), 1);
    ck_assert_int_eq(role_ok("viewer"), 1);
    ck_assert_int_eq(role_ok("Admin"), 0);
    ck_assert_int_eq(role_ok(""), 0);
    ck_assert_int_eq(role_ok("public"), 0);

    json_t *opts = role_options("editor");
    ck_assert_uint_eq(json_array_size(opts), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(opts, i);
        const char *v = json_string_value(json_object_get(o, "value"));
        ck_assert_int_eq(json_is_true(json_object_get(o, "selected")), strcmp(v, "editor") == 0);
    }
    json_decref(opts);
}
END_TEST

/* The field check_password / check_name complain about, or "" for none. */
static const char *pw_error(const char *pw, const char *confirm)
{
    static char field[32];
    json_t *e = json_object();
    check_password(e, pw, confirm);
    const char *k = json_object_iter_key(json_object_iter(e));
    snprintf(field, sizeof field, "%s", k ? k : "");
    ck_assert_uint_le(json_object_size(e), 1);
    json_decref(e);
    return field;
}

START_TEST(test_password)
{
    ck_assert_str_eq(pw_error("", ""), "password");
    ck_assert_str_eq(pw_error("1234567", "1234567"), "password");
    ck_assert_str_eq(pw_error("12345678", "12345678"), "");
    ck_assert_str_eq(pw_error("12345678", "12345679"), "confirm");
    /* 8 characters, 16 bytes: counted as characters. */
    ck_assert_str_eq(pw_error("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
                     "");
    /* 7 characters, 14 bytes: too short. */
    ck_assert_str_eq(pw_error("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
                     "password");
    ck_assert_str_eq(pw_error("abcdefg\xc3", "abcdefg\xc3"), "password");

    static char big[PASSWORD_MAX + 2];
    memset(big, 'p', PASSWORD_MAX);
    big[PASSWORD_MAX] = '\0';
    ck_assert_str_eq(pw_error(big, big), "");
    big[PASSWORD_MAX] = 'p';
    big[PASSWORD_MAX + 1] = '\0';
    ck_assert_str_eq(pw_error(big, big), "password");
}
END_TEST

static int name_bad(const char *name)
{
    json_t *e = json_object();
    check_name(e, name);
    int bad = json_object_get(e, "name") != NULL;
    json_decref(e);
    return bad;
}

START_TEST(test_name)
{
    char buf[3 * 201 + 1];
    ck_assert_int_eq(name_bad(""), 1);
    ck_assert_int_eq(name_bad("Ana"), 0);
    ck_assert_int_eq(name_bad("<script>alert(1)</script>\"'&"), 0); /* escaped on output */
    ck_assert_int_eq(name_bad("two\nlines"), 1);
    ck_assert_int_eq(name_bad("tab\there"), 1);
    ck_assert_int_eq(name_bad("bad \xff byte"), 1);
    memset(buf, 'x', 200);
    buf[200] = '\0';
    ck_assert_int_eq(name_bad(buf), 0);
    buf[200] = 'x';
    buf[201] = '\0';
    ck_assert_int_eq(name_bad(buf), 1);
    /* 200 three-byte characters are 600 bytes but only 200 characters. */
    for (int i = 0; i < 200; i++)
        memcpy(buf + 3 * i, "\xe2\x82\xac", 3);
    buf[600] = '\0';
    ck_assert_int_eq(name_bad(buf), 0);
}
END_TEST

/* API cursors: (created_at at full precision, id), made by the list and
 * read back by params_page with cursor_ok as the check. */
START_TEST(test_cursor)
{
    arena *a = arena_new(0);
    const char *id = "0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b";
    const char *good = params_cursor_make(a, 2, (const char *[]){"2024-05-31T12:34:56.123456Z",
                                                                 id});
    const char *f[2];
    ck_assert_int_eq(params_cursor_parse(a, good, 2, f), 1);
    ck_assert_int_eq(cursor_ok(f), 1);
    ck_assert_str_eq(f[0], "2024-05-31T12:34:56.123456Z");
    ck_assert_str_eq(f[1], id);

    static const char *const bad[][2] = {
        {"2024-05-31T12:34:56.123456Z", "not-a-uuid"},
        {"yesterday", "0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b"},
        {"2024-05-31 12:34:56", "0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b"},
        {"2024-02-30T00:00:00Z", "0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cursor_ok(bad[i]) == 0, "case %zu accepted", i);

    /* Through the request: a good cursor sets the key, a refused one is a field error. */
    request r;
    memset(&r, 0, sizeof r);
    r.a = a;
    json_t *errors = json_object();
    long long limit;
    const char *key[2];
    r.query = arena_printf(a, "cursor=%s&limit=7", good);
    ck_assert_int_eq(params_page(&r, 2, cursor_ok, key, &limit, errors), 1);
    ck_assert_str_eq(key[1], id);
    ck_assert_int_eq(limit, 7);
    r.query = arena_printf(a, "cursor=%s",
                           params_cursor_make(a, 2, (const char *[]){"now", id}));
    ck_assert_int_eq(params_page(&r, 2, cursor_ok, key, &limit, errors), 0);
    ck_assert_ptr_nonnull(json_object_get(errors, "cursor"));
    ck_assert_ptr_null(key[0]);
    json_decref(errors);
    arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("users");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_roles);
    tcase_add_test(tc, test_password);
    tcase_add_test(tc, test_name);
    tcase_add_test(tc, test_cursor);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
