/* check_snowflake.c - unit tests for app/core/snowflake.c. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "snowflake.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct {
    int64_t ms;
    int shard, seq;
    int64_t want;
} make_cases[] = {
    {SF_EPOCH_MS, 0, 0, 0},
    {SF_EPOCH_MS, 0, 1, 1},
    {SF_EPOCH_MS, 1, 0, 1LL << 18},
    {SF_EPOCH_MS, 31, 0, 31LL << 18},
    {SF_EPOCH_MS, 0, 262143, 262143},
    {SF_EPOCH_MS + 1, 0, 0, 1LL << 23},
    {SF_EPOCH_MS + 1, 3, 5, (1LL << 23) | (3LL << 18) | 5},
    /* 2024-01-01T00:00:01Z: what sluice.snowflake_id() gives for that second. */
    {1704067201000LL, 0, 0, 8388608000LL},
    /* 2026-01-01T00:00:00Z */
    {1767225600000LL, 7, 100, ((1767225600000LL - SF_EPOCH_MS) << 23) | (7LL << 18) | 100},
    /* Out-of-range shard and seq are masked into their bits. */
    {SF_EPOCH_MS, 32, 0, 0},
    {SF_EPOCH_MS, 0, 262144, 0},
    /* Before the epoch clamps to the epoch. */
    {SF_EPOCH_MS - 1000, 0, 0, 0},
    {0, 2, 9, (2LL << 18) | 9},
};

START_TEST(test_make)
{
    ck_assert_int_eq(sf_make(make_cases[_i].ms, make_cases[_i].shard, make_cases[_i].seq),
                     make_cases[_i].want);
}
END_TEST

START_TEST(test_roundtrip)
{
    static const int64_t ms[] = {SF_EPOCH_MS, SF_EPOCH_MS + 1, 1717171717171LL,
                                 1767225600000LL, 2145916800000LL /* 2058: near the end */};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (int shard = 0; shard < 32; shard += 7)
            for (int seq = 0; seq < 262144; seq += 65535)
                ck_assert_int_eq(sf_unix_ms(sf_make(ms[i], shard, seq)), ms[i]);
    ck_assert_int_eq(sf_unix_ms(0), SF_EPOCH_MS);
}
END_TEST

START_TEST(test_floor)
{
    ck_assert_int_eq(sf_floor_for_ms(SF_EPOCH_MS), 0);
    ck_assert_int_eq(sf_floor_for_ms(SF_EPOCH_MS - 5), 0);
    ck_assert_int_eq(sf_floor_for_ms(SF_EPOCH_MS + 86400000LL), 86400000LL << 23);
    static const int64_t ms[] = {SF_EPOCH_MS + 1, 1717171717171LL, 1767225600000LL};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        int64_t lo = sf_floor_for_ms(ms[i]), hi = sf_floor_for_ms(ms[i] + 1);
        /* Every id of that millisecond is in [lo, hi). */
        ck_assert_int_le(lo, sf_make(ms[i], 0, 0));
        ck_assert_int_lt(sf_make(ms[i], 31, 262143), hi);
        ck_assert_int_eq(hi - lo, 1LL << 23);
        ck_assert_int_lt(sf_make(ms[i] - 1, 31, 262143), lo);
    }
}
END_TEST

START_TEST(test_next_monotonic)
{
    enum { N = 100000 };
    int64_t before = wall_ms();
    int64_t prev = sf_next(4);
    for (int i = 1; i < N; i++) {
        int64_t id = sf_next(4);
        ck_assert_int_gt(id, prev);
        ck_assert_int_eq((id >> 18) & 31, 4);
        prev = id;
    }
    int64_t after = wall_ms();
    ck_assert_int_ge(sf_unix_ms(prev), before);
    ck_assert_int_le(sf_unix_ms(prev), after + 1);
    ck_assert_int_gt(prev, 0);
}
END_TEST

START_TEST(test_next_tracks_clock)
{
    int64_t t0 = wall_ms();
    int64_t id = sf_next(0);
    int64_t t1 = wall_ms();
    ck_assert_int_ge(sf_unix_ms(id), t0);
    ck_assert_int_le(sf_unix_ms(id), t1);
    ck_assert_int_eq((id >> 18) & 31, 0);
}
END_TEST

START_TEST(test_next_shards_interleave)
{
    /* Mixing shards in one process: ids stay increasing per shard (the
     * shard sits above the sequence, so not across shards) and unique. */
    int64_t last[32] = {0};
    for (int i = 0; i < 32000; i++) {
        int shard = (i * 7) % 32;
        int64_t id = sf_next(shard);
        ck_assert_int_gt(id, last[shard]);
        ck_assert_int_eq((id >> 18) & 31, shard);
        for (int s = 0; s < 32; s++)
            ck_assert_int_ne(id, last[s]);
        last[shard] = id;
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snowflake");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_make, 0, sizeof make_cases / sizeof make_cases[0]);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_floor);
    tcase_add_test(tc, test_next_monotonic);
    tcase_add_test(tc, test_next_tracks_clock);
    tcase_add_test(tc, test_next_shards_interleave);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
