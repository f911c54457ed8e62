/* check_err.c - unit tests for app/core/err.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

START_TEST(test_every_code_has_distinct_text)
{
    for (int i = 0; i < SL_ERR_COUNT_; i++) {
        const char *t = sl_strerror((sl_err)i);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_gt(strlen(t), 0);
        ck_assert_str_ne(t, "unknown error");
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(t, sl_strerror((sl_err)j)) != 0, "codes %d and %d share '%s'",
                          i, j, t);
    }
    ck_assert_str_eq(sl_strerror(SL_OK), "ok");
    ck_assert_str_eq(sl_strerror(SL_ERR_COUNT_), "unknown error");
    ck_assert_str_eq(sl_strerror((sl_err)12345), "unknown error");
}
END_TEST

START_TEST(test_fail_fills_buffer)
{
    sl_errbuf eb;
    sl_errbuf_clear(&eb);
    ck_assert_int_eq(eb.code, SL_OK);
    ck_assert_str_eq(eb.msg, "");
    ck_assert_int_eq(sl_fail(&eb, SL_EINVAL, "bad %s at %d", "thing", 3), SL_EINVAL);
    ck_assert_int_eq(eb.code, SL_EINVAL);
    ck_assert_str_eq(eb.msg, "bad thing at 3");
    sl_errbuf_clear(&eb);
    ck_assert_int_eq(eb.code, SL_OK);
    ck_assert_str_eq(eb.msg, "");
}
END_TEST

START_TEST(test_fail_null_buffer)
{
    ck_assert_int_eq(sl_fail(NULL, SL_EDB, "ignored %d", 1), SL_EDB);
    sl_errbuf_clear(NULL);
}
END_TEST

START_TEST(test_fail_truncates_safely)
{
    static char big[4096];
    memset(big, 'x', sizeof big - 1);
    sl_errbuf eb;
    memset(&eb, 0x55, sizeof eb);
    ck_assert_int_eq(sl_fail(&eb, SL_ETOOBIG, "%s", big), SL_ETOOBIG);
    ck_assert_uint_eq(strlen(eb.msg), SL_ERRBUF_SIZE - 1);
    ck_assert_int_eq(eb.msg[SL_ERRBUF_SIZE - 1], '\0');
    ck_assert_int_eq(eb.msg[0], 'x');
}
END_TEST

int main(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_code_has_distinct_text);
    tcase_add_test(tc, test_fail_fills_buffer);
    tcase_add_test(tc, test_fail_null_buffer);
    tcase_add_test(tc, test_fail_truncates_safely);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
