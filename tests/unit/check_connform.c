/* check_connform.c - unit tests for app/web/connform.c: list splitting,
 * opaque cursors, scrubbing secrets from messages, default ports, and the
 * field checks of the connection form (one table of cases). */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/connform.h"

static const char *const types[] = {"postgresql", "mysql", "mariadb", NULL};
static const conn_kind K = {"sluice.sources", "source", "Source", "/sources", types,
                            "PostgreSQL, MySQL or MariaDB", 1, "source_id"};

static arena *A;

static void setup(void)
{
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

START_TEST(test_split)
{
    static const struct {
        const char *in, *joined;
        int n;
    } cases[] = {
        {"", "", 0},
        {" , \n\t,", "", 0},
        {"public", "public|", 1},
        {"a, b  c\n\nd,,a", "a|b|c|d|", 4},
        {"orders*\r\n!orders_archive\r\n", "orders*|!orders_archive|", 2},
        {"x,x,x", "x|", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = -1;
        const char **items = conn_split_list(A, cases[i].in, &n);
        char buf[256] = "";
        size_t used = 0;
        for (int j = 0; j < n && used < sizeof buf; j++)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s|", items[j]);
        ck_assert_msg(n == cases[i].n, "case %zu: n %d", i, n);
        ck_assert_str_eq(buf, cases[i].joined);
    }
}
END_TEST

START_TEST(test_cursor_roundtrip)
{
    static const char *names[] = {"shop pg", "", "ünïcødé name", "a,b;c=d&e"};
    const char *id = "0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *c = conn_cursor_make(A, names[i], id);
        ck_assert_ptr_nonnull(c);
        ck_assert_msg(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                          == strlen(c),
                      "cursor %s is not URL-safe", c);
        const char *lname = NULL, *got = NULL;
        ck_assert_int_eq(conn_cursor_parse(A, c, &lname, &got), 1);
        ck_assert_str_eq(lname, names[i]);
        ck_assert_str_eq(got, id);
    }
}
END_TEST

/* base64url (no padding) of raw, in A. */
static const char *b64(const char *raw, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(A, cap);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

START_TEST(test_cursor_malformed)
{
    const char *bad[] = {
        "",
        "!!!",
        "bm90IGEgY3Vyc29y", /* "not a cursor": no newline */
        b64("name\nnot-a-uuid", 16),
        b64("tab\there\n0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b", 45),
        b64("nul\0x\n0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b", 42),
        b64("\xff\xfe\n0b6f4c1e-3a2d-4f5e-8a9b-0c1d2e3f4a5b", 39),
        "c2hvcCBwZwowYjZmNGMxZS0zYTJkLTRmNWUtOGE5Yi0wYzFkMmUzZjRhNWI=", /* padded */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *lname = "untouched", *id = "untouched";
        ck_assert_msg(conn_cursor_parse(A, bad[i], &lname, &id) == 0, "case %zu accepted", i);
    }
    char *huge = arena_alloc(A, 5000);
    memset(huge, 'A', 4999);
    huge[4999] = '\0';
    const char *l, *d;
    ck_assert_int_eq(conn_cursor_parse(A, huge, &l, &d), 0);
}
END_TEST

START_TEST(test_scrub)
{
    ck_assert_str_eq(conn_scrub(A, "pw=abc123 failed", "abc123"), "pw=******** failed");
    ck_assert_str_eq(conn_scrub(A, "abcabcabc", "abc"), "************************");
    ck_assert_str_eq(conn_scrub(A, "x", "a-much-longer-secret"), "x");
    ck_assert_str_eq(conn_scrub(A, "no secret", NULL), "no secret");
    ck_assert_str_eq(conn_scrub(A, "no secret", ""), "no secret");
    ck_assert_str_eq(conn_scrub(A, "a1a1a", "a"), "********1********1********");
}
END_TEST

START_TEST(test_default_ports)
{
    ck_assert_int_eq(conn_default_port("postgresql"), 5432);
    ck_assert_int_eq(conn_default_port("mysql"), 3306);
    ck_assert_int_eq(conn_default_port("mariadb"), 3306);
    ck_assert_int_eq(conn_default_port("clickhouse"), 8123);
    ck_assert_int_eq(conn_default_port("nope"), 0);
}
END_TEST

/* One field changed from a valid form; the error key expected (NULL: none)
 * and a piece of its message. */
static const struct {
    const char *field, *value, *err_key, *msg_part;
} check_cases[] = {
    {NULL, NULL, NULL, NULL},
    {"name", "", "name", "enter a name"},
    {"name", "line\nbreak", "name", "one line"},
    {"name", "\xc3\x28", "name", "UTF-8"},
    {"type", "", "type", "choose a type"},
    {"type", "mongodb", "type", "not supported yet"},
    {"type", "clickhouse", "type", "ClickHouse cannot be a source"},
    {"type", "oracle", "type", "unknown database type 'oracle'; choose PostgreSQL"},
    {"host", "", "host", "host name or IP address"},
    {"host", "db.example.com", NULL, NULL},
    {"host", "::1", NULL, NULL},
    {"host", "bad host", "host", "letters, digits"},
    {"host", "-oProxyCommand", "host", "letters, digits"},
    {"host", "/var/run/postgresql", "host", "letters, digits"},
    {"port", "", NULL, NULL},
    {"port", "65535", NULL, NULL},
    {"port", "0", "port", "1 to 65535"},
    {"port", "65536", "port", "1 to 65535"},
    {"port", "54a", "port", "1 to 65535"},
    {"port", " 5432", "port", "1 to 65535"},
    {"database", "", "database", "database name"},
    {"user", "", "user", "user name"},
    {"user", "tab\tuser", "user", "control characters"},
    {"ssl_mode", "always", "ssl_mode", "verify-full"},
    {"ssl_mode", "verify-full", NULL, NULL},
    {"password", "ok pass with spaces", NULL, NULL},
    {"password", "new\nline", "password", "control characters"},
    {"password", "\xff", "password", "UTF-8"},
};

START_TEST(test_fields_check)
{
    request r;
    memset(&r, 0, sizeof r);
    r.a = A;
    for (size_t i = 0; i < sizeof check_cases / sizeof check_cases[0]; i++) {
        conn_fields f = {.name = "Shop", .type = "postgresql", .host = "127.0.0.1",
                         .port_text = "", .database = "shop", .user = "sluice",
                         .ssl_mode = "prefer", .pw = CONN_PW_KEEP};
        const char *field = check_cases[i].field, *v = check_cases[i].value;
        if (field && strcmp(field, "name") == 0) f.name = v;
        if (field && strcmp(field, "type") == 0) f.type = v;
        if (field && strcmp(field, "host") == 0) f.host = v;
        if (field && strcmp(field, "port") == 0) f.port_text = v;
        if (field && strcmp(field, "database") == 0) f.database = v;
        if (field && strcmp(field, "user") == 0) f.user = v;
        if (field && strcmp(field, "ssl_mode") == 0) f.ssl_mode = v;
        if (field && strcmp(field, "password") == 0) {
            f.pw = CONN_PW_SET;
            f.password = v;
        }
        json_t *errors = json_object();
        conn_fields_check(&r, &K, &f, errors);
        if (!check_cases[i].err_key) {
            ck_assert_msg(json_object_size(errors) == 0, "case %zu: unexpected errors (%s)", i,
                          json_string_value(json_object_iter_value(json_object_iter(errors))));
        } else {
            ck_assert_msg(json_object_size(errors) == 1, "case %zu: %zu errors", i,
                          json_object_size(errors));
            const char *msg = json_string_value(json_object_get(errors, check_cases[i].err_key));
            ck_assert_msg(msg && strstr(msg, check_cases[i].msg_part), "case %zu: got '%s'", i,
                          msg ? msg : "(none)");
        }
        if (!field || (strcmp(field, "port") == 0 && !*v))
            ck_assert_int_eq(f.port, 5432); /* the type's default */
        json_decref(errors);
    }
}
END_TEST

START_TEST(test_password_set_and_clear)
{
    request r;
    memset(&r, 0, sizeof r);
    r.a = A;
    conn_fields f = {.name = "n", .type = "mysql", .host = "h", .port_text = "",
                     .database = "d", .user = "u", .ssl_mode = "prefer", .pw = CONN_PW_SET,
                     .password = "secret", .clear_requested = 1};
    json_t *errors = json_object();
    conn_fields_check(&r, &K, &f, errors);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(errors, "password")),
                                 "not both"));
    ck_assert_int_eq(f.port, 3306);
    json_decref(errors);

    /* The form context never carries a password. */
    json_t *ctx = conn_form_ctx(&r, &K, &f, 1);
    char *dump = json_dumps(ctx, JSON_COMPACT);
    ck_assert_ptr_null(strstr(dump, "secret"));
    ck_assert(json_is_true(json_object_get(ctx, "retype_password")));
    free(dump);
    json_decref(ctx);
}
END_TEST

static Suite *connform_suite(void)
{
    Suite *s = suite_create("connform");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_cursor_roundtrip);
    tcase_add_test(tc, test_cursor_malformed);
    tcase_add_test(tc, test_scrub);
    tcase_add_test(tc, test_default_ports);
    tcase_add_test(tc, test_fields_check);
    tcase_add_test(tc, test_password_set_and_clear);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    SRunner *sr = srunner_create(connform_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
