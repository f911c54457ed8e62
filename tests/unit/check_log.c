/* check_log.c - unit tests for app/core/log.c: every line is one valid JSON
 * object, whatever bytes the message holds. stderr is captured with dup2. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int g_saved_fd = -1;
static FILE *g_tmp;
static char g_out[65536];

static void capture_begin(void)
{
    fflush(stderr);
    g_tmp = tmpfile();
    ck_assert_ptr_nonnull(g_tmp);
    g_saved_fd = dup(STDERR_FILENO);
    ck_assert_int_ge(g_saved_fd, 0);
    ck_assert_int_ge(dup2(fileno(g_tmp), STDERR_FILENO), 0);
}

/* Restore stderr; returns everything written meanwhile (NUL-terminated). */
static const char *capture_end(void)
{
    fflush(stderr);
    dup2(g_saved_fd, STDERR_FILENO);
    close(g_saved_fd);
    rewind(g_tmp);
    size_t n = fread(g_out, 1, sizeof g_out - 1, g_tmp);
    g_out[n] = '\0';
    fclose(g_tmp);
    return g_out;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Parse the single line in out; fails the test unless it is exactly one
 * line holding one JSON object. The caller decrefs. */
static json_t *one_line(const char *out)
{
    ck_assert_int_eq(count_lines(out), 1);
    size_t len = strlen(out);
    ck_assert_int_eq(out[len - 1], '\n');
    json_error_t err;
    json_t *j = json_loadb(out, len - 1, 0, &err);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", err.text, out);
    ck_assert(json_is_object(j));
    return j;
}

START_TEST(test_basic_line)
{
    log_init("test", LOG_INFO);
    log_set_context(NULL, NULL);
    capture_begin();
    log_info("hello %d", 5);
    json_t *j = one_line(capture_end());
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "info");
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "hello 5");
    ck_assert_str_eq(json_string_value(json_object_get(j, "component")), "test");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")), getpid());
    const char *t = json_string_value(json_object_get(j, "time"));
    ck_assert_ptr_nonnull(t);
    /* 2026-01-02T03:04:05.678Z */
    ck_assert_uint_eq(strlen(t), 24);
    ck_assert_int_eq(t[10], 'T');
    ck_assert_int_eq(t[19], '.');
    ck_assert_int_eq(t[23], 'Z');
    ck_assert_ptr_null(json_object_get(j, "request_id"));
    ck_assert_ptr_null(json_object_get(j, "route"));
    json_decref(j);
}
END_TEST

START_TEST(test_context)
{
    log_init("web", LOG_DEBUG);
    log_set_context("req-123", "GET /api/v1/sources");
    capture_begin();
    log_error("boom");
    json_t *j = one_line(capture_end());
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "req-123");
    ck_assert_str_eq(json_string_value(json_object_get(j, "route")), "GET /api/v1/sources");
    json_decref(j);

    log_set_context(NULL, NULL);
    capture_begin();
    log_debug("quiet");
    j = one_line(capture_end());
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "debug");
    ck_assert_ptr_null(json_object_get(j, "request_id"));
    ck_assert_ptr_null(json_object_get(j, "route"));
    json_decref(j);
}
END_TEST

START_TEST(test_fields_merged)
{
    log_init("cli", LOG_INFO);
    log_set_context(NULL, NULL);
    capture_begin();
    sl_log_fields(LOG_WARN, json_pack("{s:i, s:s, s:b}", "rows", 42, "table", "orders", "ok", 0),
                  "synced %s", "orders");
    json_t *j = one_line(capture_end());
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "synced orders");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "rows")), 42);
    ck_assert_str_eq(json_string_value(json_object_get(j, "table")), "orders");
    ck_assert(json_is_false(json_object_get(j, "ok")));
    json_decref(j);

    capture_begin();
    sl_log_fields(LOG_INFO, NULL, "no fields");
    j = one_line(capture_end());
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "no fields");
    json_decref(j);
}
END_TEST

START_TEST(test_level_filtering)
{
    log_init("test", LOG_WARN);
    log_set_context(NULL, NULL);
    capture_begin();
    log_debug("d");
    log_info("i");
    sl_log_fields(LOG_INFO, json_pack("{s:i}", "n", 1), "dropped"); /* must not leak */
    ck_assert_str_eq(capture_end(), "");

    capture_begin();
    log_warn("w");
    log_error("e");
    const char *out = capture_end();
    ck_assert_int_eq(count_lines(out), 2);
    ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"w\""));
    ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"e\""));
}
END_TEST

static const struct {
    const char *name;
    const char *in;
    const char *want;
} msg_cases[] = {
    {"quotes", "say \"hi\"", "say \"hi\""},
    {"newline", "two\nlines\r\n", "two\nlines\r\n"},
    {"backslash and tab", "a\\b\tc", "a\\b\tc"},
    {"control", "bell\x01\x1f", "bell\x01\x1f"},
    {"utf-8 kept", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"invalid bytes", "x\xff\xfey", "x??y"},
    {"lone continuation", "\x80" "abc", "?abc"},
    {"truncated sequence", "end\xe2\x82", "end??"},
    {"truncated mid", "a\xe2\x82" "b", "a??b"},
    {"overlong", "\xc0\xaf", "??"},
    {"surrogate", "\xed\xa0\x80", "???"},
    {"above U+10FFFF", "\xf4\x90\x80\x80", "????"},
    {"latin-1", "caf\xe9", "caf?"},
};

START_TEST(test_hostile_messages)
{
    log_init("test", LOG_DEBUG);
    log_set_context(NULL, NULL);
    capture_begin();
    log_info("%s", msg_cases[_i].in);
    json_t *j = one_line(capture_end());
    const char *msg = json_string_value(json_object_get(j, "msg"));
    ck_assert_msg(msg && strcmp(msg, msg_cases[_i].want) == 0, "%s: got '%s'",
                  msg_cases[_i].name, msg ? msg : "(null)");
    json_decref(j);
}
END_TEST

START_TEST(test_hostile_context)
{
    log_init("test", LOG_DEBUG);
    log_set_context("id\xff\"", "/p\xc3");
    capture_begin();
    log_info("ctx");
    json_t *j = one_line(capture_end());
    ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "id?\"");
    ck_assert_str_eq(json_string_value(json_object_get(j, "route")), "/p?");
    json_decref(j);
    log_set_context(NULL, NULL);
}
END_TEST

START_TEST(test_long_message_cut_mid_sequence)
{
    /* Longer than the internal 2048-byte buffer, with multi-byte
     * characters straddling the cut: the line must still be valid. */
    static char big[6000];
    size_t n = 0;
    big[n++] = 'x';
    while (n + 3 < sizeof big) {
        memcpy(big + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    big[n] = '\0';
    log_init("test", LOG_INFO);
    log_set_context(NULL, NULL);
    capture_begin();
    log_info("%s", big);
    json_t *j = one_line(capture_end());
    const char *msg = json_string_value(json_object_get(j, "msg"));
    ck_assert_ptr_nonnull(msg);
    ck_assert_uint_gt(strlen(msg), 2000);
    ck_assert_int_eq(strncmp(msg, "x\xe2\x82\xac", 4), 0);
    json_decref(j);
}
END_TEST

static const struct {
    const char *in;
    int want;
} level_cases[] = {
    {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR},
    {"INFO", -1},         {"", -1},           {"warning", -1},    {NULL, -1},
};

START_TEST(test_level_parse)
{
    ck_assert_int_eq(log_level_parse(level_cases[_i].in), level_cases[_i].want);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_basic_line);
    tcase_add_test(tc, test_context);
    tcase_add_test(tc, test_fields_merged);
    tcase_add_test(tc, test_level_filtering);
    tcase_add_loop_test(tc, test_hostile_messages, 0, sizeof msg_cases / sizeof msg_cases[0]);
    tcase_add_test(tc, test_hostile_context);
    tcase_add_test(tc, test_long_message_cut_mid_sequence);
    tcase_add_loop_test(tc, test_level_parse, 0, sizeof level_cases / sizeof level_cases[0]);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
