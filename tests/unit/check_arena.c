/* check_arena.c - unit tests for app/core/arena.c. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

START_TEST(test_alignment)
{
    arena *a = arena_new(0);
    for (size_t n = 0; n < 200; n++) {
        void *p = arena_alloc(a, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
    }
    arena_free(a);
}
END_TEST

START_TEST(test_many_allocs_across_blocks)
{
    arena *a = arena_new(256);
    enum { N = 2000 };
    unsigned char *ptrs[N];
    for (int i = 0; i < N; i++) {
        ptrs[i] = arena_alloc(a, 24);
        memset(ptrs[i], i & 0xff, 24);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 24; j++)
            ck_assert_uint_eq(ptrs[i][j], (unsigned)(i & 0xff));
    ck_assert_uint_eq(arena_used(a), (size_t)N * 32); /* 24 rounds up to 32 */
    arena_free(a);
}
END_TEST

START_TEST(test_big_alloc)
{
    arena *a = arena_new(1024);
    char *small1 = arena_strdup(a, "before");
    size_t big = 4u << 20;
    unsigned char *p = arena_alloc(a, big);
    memset(p, 0xab, big);
    ck_assert_uint_eq(p[0], 0xab);
    ck_assert_uint_eq(p[big - 1], 0xab);
    char *small2 = arena_strdup(a, "after");
    ck_assert_str_eq(small1, "before");
    ck_assert_str_eq(small2, "after");
    ck_assert_uint_ge(arena_used(a), big);
    arena_free(a);
}
END_TEST

START_TEST(test_calloc_zeroed)
{
    arena *a = arena_new(64);
    for (int round = 0; round < 3; round++) {
        unsigned char *p = arena_alloc(a, 100);
        memset(p, 0xff, 100);
        arena_reset(a);
        unsigned char *q = arena_calloc(a, 25, 4);
        for (int i = 0; i < 100; i++)
            ck_assert_uint_eq(q[i], 0);
        arena_reset(a);
    }
    arena_free(a);
}
END_TEST

static int order[16];
static int norder;

static void record(void *p)
{
    order[norder++] = (int)(intptr_t)p;
}

START_TEST(test_reset_runs_cleanups_lifo)
{
    arena *a = arena_new(128);
    norder = 0;
    for (int i = 1; i <= 4; i++) {
        arena_cleanup(a, record, (void *)(intptr_t)i);
        arena_alloc(a, 100); /* spread over blocks */
    }
    arena_reset(a);
    ck_assert_int_eq(norder, 4);
    ck_assert_int_eq(order[0], 4);
    ck_assert_int_eq(order[1], 3);
    ck_assert_int_eq(order[2], 2);
    ck_assert_int_eq(order[3], 1);
    ck_assert_uint_eq(arena_used(a), 0);

    /* Still works after reset, and cleanups never run twice. */
    char *s = arena_printf(a, "%s-%d", "again", 7);
    ck_assert_str_eq(s, "again-7");
    arena_reset(a);
    ck_assert_int_eq(norder, 4);

    arena_cleanup(a, record, (void *)(intptr_t)9);
    arena_free(a);
    ck_assert_int_eq(norder, 5);
    ck_assert_int_eq(order[4], 9);
}
END_TEST

static arena *g_reentrant;

static void alloc_in_cleanup(void *p)
{
    record(p);
    arena_cleanup(g_reentrant, record, (void *)(intptr_t)99);
}

START_TEST(test_cleanup_may_register_cleanup)
{
    g_reentrant = arena_new(0);
    norder = 0;
    arena_cleanup(g_reentrant, alloc_in_cleanup, (void *)(intptr_t)1);
    arena_reset(g_reentrant);
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[0], 1);
    ck_assert_int_eq(order[1], 99);
    arena_free(g_reentrant);
    ck_assert_int_eq(norder, 2);
}
END_TEST

START_TEST(test_printf)
{
    arena *a = arena_new(64);
    ck_assert_str_eq(arena_printf(a, "%d-%s-%c", 42, "x", 'y'), "42-x-y");
    ck_assert_str_eq(arena_printf(a, "%s", ""), "");
    char *long_s = arena_printf(a, "%5000s|", "end");
    ck_assert_uint_eq(strlen(long_s), 5001);
    ck_assert_str_eq(long_s + 4997, "end|");
    arena_free(a);
}
END_TEST

static const struct {
    const char *in;
    size_t n;
    const char *want;
} strndup_cases[] = {
    {"hello", 3, "hel"},
    {"hello", 5, "hello"},
    {"hi", 10, "hi"},
    {"", 0, ""},
    {"abc", 0, ""},
    {"a\0bc", 4, "a"},
};

START_TEST(test_strndup)
{
    arena *a = arena_new(0);
    char *s = arena_strndup(a, strndup_cases[_i].in, strndup_cases[_i].n);
    ck_assert_str_eq(s, strndup_cases[_i].want);
    arena_free(a);
}
END_TEST

START_TEST(test_strndup_unterminated_and_memdup)
{
    arena *a = arena_new(0);
    char raw[4] = {'w', 'x', 'y', 'z'}; /* no NUL */
    ck_assert_str_eq(arena_strndup(a, raw, 4), "wxyz");
    char *m = arena_memdup(a, "a\0b", 3);
    ck_assert_int_eq(m[0], 'a');
    ck_assert_int_eq(m[1], '\0');
    ck_assert_int_eq(m[2], 'b');
    ck_assert_int_eq(m[3], '\0');
    ck_assert_str_eq(arena_strdup(a, "copy"), "copy");
    arena_free(a);
}
END_TEST

START_TEST(test_xalloc)
{
    char *s = xstrdup("heap");
    ck_assert_str_eq(s, "heap");
    s = xrealloc(s, 100);
    ck_assert_str_eq(s, "heap");
    free(s);
    int *z = xcalloc(10, sizeof *z);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(z[i], 0);
    free(z);
    arena_free(NULL); /* allowed */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alignment);
    tcase_add_test(tc, test_many_allocs_across_blocks);
    tcase_add_test(tc, test_big_alloc);
    tcase_add_test(tc, test_calloc_zeroed);
    tcase_add_test(tc, test_reset_runs_cleanups_lifo);
    tcase_add_test(tc, test_cleanup_may_register_cleanup);
    tcase_add_test(tc, test_printf);
    tcase_add_loop_test(tc, test_strndup, 0, sizeof strndup_cases / sizeof strndup_cases[0]);
    tcase_add_test(tc, test_strndup_unterminated_and_memdup);
    tcase_add_test(tc, test_xalloc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
