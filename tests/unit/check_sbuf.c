/* check_sbuf.c - unit tests for app/core/sbuf.c, heap- and arena-backed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

/* Each test runs twice: _i == 0 heap-backed, _i == 1 arena-backed. */
static arena *g_arena;

static void init_buf(sbuf *b, int use_arena, size_t max)
{
    g_arena = use_arena ? arena_new(128) : NULL;
    sb_init(b, g_arena, max);
}

static void done_buf(sbuf *b)
{
    sb_free(b);
    arena_free(g_arena);
    g_arena = NULL;
}

START_TEST(test_empty)
{
    sbuf b;
    init_buf(&b, _i, 100);
    ck_assert_str_eq(sb_str(&b), "");
    ck_assert_uint_eq(b.len, 0);
    sb_clear(&b); /* fine before any append */
    ck_assert_int_eq(sb_append(&b, "", 0), SL_OK);
    ck_assert_str_eq(sb_str(&b), "");
    done_buf(&b);
}
END_TEST

START_TEST(test_append)
{
    sbuf b;
    init_buf(&b, _i, 1000);
    ck_assert_int_eq(sb_puts(&b, "hello"), SL_OK);
    ck_assert_int_eq(sb_putc(&b, ' '), SL_OK);
    ck_assert_int_eq(sb_append(&b, "world!!!", 5), SL_OK);
    ck_assert_str_eq(sb_str(&b), "hello world");
    ck_assert_uint_eq(b.len, 11);
    ck_assert_int_eq(sb_append(&b, "a\0b", 3), SL_OK);
    ck_assert_uint_eq(b.len, 14);
    ck_assert_int_eq(memcmp(b.ptr + 11, "a\0b", 4), 0); /* NUL-terminated too */
    sb_clear(&b);
    ck_assert_str_eq(sb_str(&b), "");
    ck_assert_int_eq(sb_puts(&b, "again"), SL_OK);
    ck_assert_str_eq(sb_str(&b), "again");
    done_buf(&b);
}
END_TEST

START_TEST(test_growth_keeps_contents)
{
    sbuf b;
    init_buf(&b, _i, 1 << 20);
    char want[20001];
    for (int i = 0; i < 20000; i++) {
        char c = (char)('a' + i % 26);
        want[i] = c;
        ck_assert_int_eq(sb_putc(&b, c), SL_OK);
    }
    want[20000] = '\0';
    ck_assert_uint_eq(b.len, 20000);
    ck_assert_str_eq(sb_str(&b), want);
    ck_assert_uint_ge(b.cap, 20001);
    done_buf(&b);
}
END_TEST

START_TEST(test_cap)
{
    sbuf b;
    init_buf(&b, _i, 10);
    ck_assert_int_eq(sb_puts(&b, "12345678"), SL_OK);
    ck_assert_int_eq(sb_puts(&b, "abc"), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&b), "12345678");
    ck_assert_uint_eq(b.len, 8);
    ck_assert_int_eq(sb_printf(&b, "%d", 123), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&b), "12345678");
    ck_assert_int_eq(sb_puts(&b, "90"), SL_OK); /* exactly the cap */
    ck_assert_str_eq(sb_str(&b), "1234567890");
    ck_assert_int_eq(sb_putc(&b, 'x'), SL_ETOOBIG);
    ck_assert_int_eq(sb_append(&b, "", 0), SL_OK);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_str_eq(sb_str(&b), "1234567890");
    /* A huge length must not wrap around the cap check. */
    ck_assert_int_eq(sb_append(&b, "x", (size_t)-1), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&b), "1234567890");
    done_buf(&b);
}
END_TEST

START_TEST(test_cap_zero)
{
    sbuf b;
    init_buf(&b, _i, 0);
    ck_assert_int_eq(sb_putc(&b, 'x'), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&b), "");
    done_buf(&b);
}
END_TEST

START_TEST(test_printf_growth)
{
    sbuf b;
    init_buf(&b, _i, 1 << 16);
    char want[8192];
    size_t wl = 0;
    for (int i = 0; i < 500; i++) {
        ck_assert_int_eq(sb_printf(&b, "%d,", i * 7), SL_OK);
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "%d,", i * 7);
    }
    ck_assert_uint_eq(b.len, wl);
    ck_assert_str_eq(sb_str(&b), want);
    ck_assert_int_eq(sb_printf(&b, "%s", ""), SL_OK);
    ck_assert_uint_eq(b.len, wl);
    done_buf(&b);
}
END_TEST

START_TEST(test_arena_memory_is_arenas)
{
    arena *a = arena_new(256);
    sbuf b;
    sb_init(&b, a, 4096);
    size_t before = arena_used(a);
    ck_assert_int_eq(sb_puts(&b, "in the arena"), SL_OK);
    ck_assert_uint_gt(arena_used(a), before);
    sb_free(&b); /* no-op for the memory, forgets the pointer */
    ck_assert_ptr_null(b.ptr);
    ck_assert_uint_eq(b.len, 0);
    arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sbuf");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_empty, 0, 2);
    tcase_add_loop_test(tc, test_append, 0, 2);
    tcase_add_loop_test(tc, test_growth_keeps_contents, 0, 2);
    tcase_add_loop_test(tc, test_cap, 0, 2);
    tcase_add_loop_test(tc, test_cap_zero, 0, 2);
    tcase_add_loop_test(tc, test_printf_growth, 0, 2);
    tcase_add_test(tc, test_arena_memory_is_arenas);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
