/* check_uuid.c - unit tests for app/core/uuid.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "uuid.h"

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

START_TEST(test_format_and_bits)
{
    for (int n = 0; n < 200; n++) {
        char u[UUID_STRLEN + 1];
        memset(u, 'Z', sizeof u);
        uuid_v4(u);
        ck_assert_uint_eq(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                ck_assert_int_eq(u[i], '-');
            else
                ck_assert_msg(is_lower_hex(u[i]), "char %d of %s", i, u);
        }
        ck_assert_int_eq(u[14], '4');                  /* version nibble */
        ck_assert_ptr_nonnull(strchr("89ab", u[19]));  /* variant 10xx */
        ck_assert_int_eq(uuid_valid(u), 1);
    }
}
END_TEST

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_unique)
{
    enum { N = 1000 };
    static char ids[N][UUID_STRLEN + 1];
    for (int i = 0; i < N; i++)
        uuid_v4(ids[i]);
    qsort(ids, N, sizeof ids[0], cmp);
    for (int i = 1; i < N; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
}
END_TEST

static const struct {
    const char *s;
    int want;
} valid_cases[] = {
    {"123e4567-e89b-42d3-a456-426614174000", 1},
    {"123E4567-E89B-42D3-A456-426614174000", 1},
    {"00000000-0000-0000-0000-000000000000", 1},
    {"ffffffff-ffff-ffff-ffff-ffffffffffff", 1},
    {"123e4567-e89b-12d3-a456-426614174000", 1}, /* any version is canonical */
    {"123e4567e89b42d3a456426614174000", 0},     /* no dashes */
    {"123e4567-e89b-42d3-a456-42661417400", 0},  /* short */
    {"123e4567-e89b-42d3-a456-4266141740000", 0}, /* long */
    {"123e4567-e89b-42d3-a456-42661417400g", 0}, /* non-hex */
    {"123e4567_e89b-42d3-a456-426614174000", 0}, /* wrong separator */
    {"{123e4567-e89b-42d3-a456-426614174000}", 0},
    {" 123e4567-e89b-42d3-a456-426614174000", 0},
    {"123e4567-e89b-42d3-a456-426614174000 ", 0},
    {"123e4567-e89b-42d3-a4560426614174000", 0},
    {"", 0},
    {"-", 0},
    {NULL, 0},
};

START_TEST(test_valid)
{
    ck_assert_msg(uuid_valid(valid_cases[_i].s) == valid_cases[_i].want, "'%s'",
                  valid_cases[_i].s ? valid_cases[_i].s : "(null)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uuid");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_format_and_bits);
    tcase_add_test(tc, test_unique);
    tcase_add_loop_test(tc, test_valid, 0, sizeof valid_cases / sizeof valid_cases[0]);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
