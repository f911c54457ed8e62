/* check_partman.c - app/core/partman.c: number and result texts, and,
 * against a real PostgreSQL (SLUICE_TEST_DATABASE_URL; see pgtest.h) with
 * the real sql/ applied: the C snowflake functions agree with their SQL
 * twins over 10,000 random timestamps and ids (sf_floor_for_ms with
 * sluice.partition_id_for_ts, sf_unix_ms with sluice.snowflake_ts), and
 * pm_run makes what is due once (a second run plans nothing), reports each
 * action, and records the result. tests/integration/test_partitions.sh
 * covers the rest (rows in the default, retention, archive, concurrency,
 * lock timeouts). */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/migrate.h"
#include "db.h"
#include "log.h"
#include "partman.h"
#include "pgtest.h"
#include "sbuf.h"
#include "snowflake.h"

#define N_RANDOM 10000

static const char *g_url;
static char g_prefix[64];
static char g_dbname[96];
static char g_conninfo[1000];
static db *g_db;

/* --- texts ------------------------------------------------------------------------- */

static const struct {
    long long n;
    const char *want;
} group_cases[] = {
    {0, "0"},           {7, "7"},
    {999, "999"},       {1000, "1,000"},
    {12345, "12,345"},  {1000000, "1,000,000"},
    {-1234, "-1,234"},  {9223372036854775807LL, "9,223,372,036,854,775,807"},
};

START_TEST(test_group)
{
    char buf[32];
    pm_group(buf, sizeof buf, group_cases[_i].n);
    ck_assert_str_eq(buf, group_cases[_i].want);
}
END_TEST

START_TEST(test_group_small_buffer)
{
    char buf[4];
    pm_group(buf, sizeof buf, 1234567);
    ck_assert_int_eq(strlen(buf), 3); /* truncated, terminated */
    ck_assert_str_eq(buf, "1,2");
}
END_TEST

START_TEST(test_result_text)
{
    arena *a = arena_new(0);
    ck_assert_str_eq(pm_result_text(a, 0, 0, 0, 0), "nothing to do");
    ck_assert_str_eq(pm_result_text(a, 1, 0, 0, 0), "created 1 partition");
    ck_assert_str_eq(pm_result_text(a, 2, 1234, 0, 0),
                     "created 2 partitions, moved 1,234 rows out of the default partition");
    ck_assert_str_eq(pm_result_text(a, 0, 0, 3, 1), "dropped 3, archived 1");
    ck_assert_str_eq(pm_result_text(a, 1, 1, 1, 0),
                     "created 1 partition, moved 1 row out of the default partition, dropped 1");
    arena_free(a);
}
END_TEST

/* --- against PostgreSQL ------------------------------------------------------------ */

static void setup(void)
{
    ck_assert_int_eq(pgt_create_db(g_url, g_prefix, g_dbname, sizeof g_dbname, g_conninfo,
                                   sizeof g_conninfo),
                     0);
    sl_errbuf eb = {0};
    g_db = db_open(g_conninfo, 5, &eb);
    ck_assert_msg(g_db != NULL, "%s", eb.msg);
    int applied = 0;
    ck_assert_msg(migrate_run(g_db, "sql", &applied, &eb) == SL_OK, "%s", eb.msg);
}

static void teardown(void)
{
    db_close(g_db);
    g_db = NULL;
    pgt_drop_db(g_url, g_dbname);
}

/* A uniform 64-bit random number from drand48's generator. */
static uint64_t rnd64(void)
{
    return ((uint64_t)(mrand48() & 0xffffffff) << 32) | (uint64_t)(mrand48() & 0xffffffff);
}

START_TEST(test_snowflake_agrees_with_sql)
{
    long seed = (long)time(NULL);
    srand48(seed);
    /* Microsecond times from 2020 (before the epoch: ids clamp to 0) to
     * 2057, plus edges; and ids of random times, shards and sequences. */
    static const int64_t edges_us[] = {
        1704067200000000LL,  /* the epoch */
        1704067199999999LL,  /* just before it */
        1704067200000999LL,  /* within its first ms */
        1577836800000000LL,  /* 2020-01-01 */
        1763683200000000LL,  /* 2025-11-21 00:00 */
        1763769599999999LL,  /* 2025-11-21 23:59:59.999999 */
        2145916800000000LL,  /* 2038-01-01 */
        2777777777777777LL,  /* 2058-01-08: the last years of 40 bits of ms */
    };
    enum { NE = sizeof edges_us / sizeof edges_us[0] };
    const int64_t lo = 1577836800000000LL, span = 2777777777777777LL - 1577836800000000LL;
    int64_t *us = calloc(N_RANDOM, sizeof *us), *ids = calloc(N_RANDOM, sizeof *ids);
    ck_assert_ptr_nonnull(us);
    ck_assert_ptr_nonnull(ids);
    for (int i = 0; i < N_RANDOM; i++) {
        us[i] = i < NE ? edges_us[i] : lo + (int64_t)(rnd64() % (uint64_t)span);
        int64_t ms = SF_EPOCH_MS + (int64_t)(rnd64() % ((1ULL << 40) - 1));
        ids[i] = sf_make(ms, (int)(rnd64() % 32), (int)(rnd64() % 262144));
    }
    /* Both as array literals: {1,2,...}. */
    arena *a = arena_new(0);
    sbuf ua, ia;
    sb_init(&ua, a, 1 << 20);
    sb_init(&ia, a, 1 << 20);
    sb_puts(&ua, "{");
    sb_puts(&ia, "{");
    for (int i = 0; i < N_RANDOM; i++) {
        sb_printf(&ua, "%s%" PRId64, i ? "," : "", us[i]);
        sb_printf(&ia, "%s%" PRId64, i ? "," : "", ids[i]);
    }
    sb_puts(&ua, "}");
    sb_puts(&ia, "}");
    PGresult *res = NULL;
    sl_errbuf eb = {0};
    sl_err e = db_query(
        g_db, a, &eb, &res,
        "SELECT sluice.partition_id_for_ts(timestamptz 'epoch'"
        "   + (x.u / 1000000) * interval '1 second' + (x.u % 1000000) * interval '1 microsecond'),"
        " (extract(epoch FROM sluice.snowflake_ts(x.i)) * 1000)::bigint"
        " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS x(u, i, n) ORDER BY x.n",
        2, (const char *[]){sb_str(&ua), sb_str(&ia)});
    ck_assert_msg(e == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(PQntuples(res), N_RANDOM);
    int mismatches = 0;
    for (int i = 0; i < N_RANDOM; i++) {
        int64_t want_floor = sf_floor_for_ms(us[i] / 1000);
        int64_t want_ms = sf_unix_ms(ids[i]);
        int64_t got_floor = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        int64_t got_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        if (got_floor != want_floor || got_ms != want_ms) {
            if (mismatches++ < 5)
                fprintf(stderr,
                        "seed %ld: us %" PRId64 ": floor C %" PRId64 " SQL %" PRId64
                        "; id %" PRId64 ": ms C %" PRId64 " SQL %" PRId64 "\n",
                        seed, us[i], want_floor, got_floor, ids[i], want_ms, got_ms);
        }
    }
    ck_assert_msg(mismatches == 0, "%d of %d disagree (seed %ld)", mismatches, N_RANDOM, seed);
    /* The edges by hand: before the epoch is 0; the epoch's first ms too. */
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    ck_assert_str_eq(PQgetvalue(res, 1, 0), "0");
    ck_assert_str_eq(PQgetvalue(res, 2, 0), "0");
    ck_assert_str_eq(PQgetvalue(res, 3, 0), "0");
    free(us);
    free(ids);
    arena_free(a);
}
END_TEST

static int g_reports[8];
static long long g_rows;

static void count_report(void *arg, const pm_event *ev)
{
    (void)arg;
    static const char *const outcomes[] = {"planned", "done", "exists", "busy", "failed",
                                           "skipped"};
    for (int i = 0; i < 6; i++)
        if (strcmp(ev->outcome, outcomes[i]) == 0)
            g_reports[i]++;
    g_rows += ev->rows_moved;
}

static const char *q1(const char *sql)
{
    static char out[512];
    arena *a = arena_new(0);
    char *v = NULL;
    sl_errbuf eb = {0};
    ck_assert_msg(db_query_value(g_db, a, &eb, &v, sql, 0, NULL) == SL_OK, "%s: %s", sql,
                  eb.msg);
    snprintf(out, sizeof out, "%s", v ? v : "(null)");
    arena_free(a);
    return out;
}

START_TEST(test_run_once)
{
    sl_errbuf eb = {0};
    ck_assert_int_eq(db_exec(g_db, &eb,
                             "INSERT INTO sluice_runs.run_logs (id, run_id, message)"
                             " SELECT sluice.partition_id_for_ts('2026-03-04 05:00Z') + g, 1, 'x'"
                             " FROM generate_series(1, 300) g",
                             0, NULL),
                     SL_OK);
    pm_summary s;
    memset(g_reports, 0, sizeof g_reports);
    pm_opts dry = {.at = "2026-03-04 12:00:00+00", .dry_run = 1, .report = count_report};
    ck_assert_int_eq(pm_run(g_db, &dry, &s, &eb), SL_OK);
    ck_assert_int_eq(g_reports[0], 10); /* 5 days of run_logs, 5 weeks of events */
    ck_assert_int_eq(s.actions, 10);
    ck_assert_int_eq(s.tables, 2);
    ck_assert_int_eq(s.created, 0);
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice.partitions WHERE NOT is_default"), "0");

    memset(g_reports, 0, sizeof g_reports);
    g_rows = 0;
    pm_opts o = {.at = "2026-03-04 12:00:00+00", .report = count_report};
    ck_assert_int_eq(pm_run(g_db, &o, &s, &eb), SL_OK);
    ck_assert_int_eq(s.created, 10);
    ck_assert_int_eq(s.rows_moved, 300);
    ck_assert_int_eq(g_rows, 300);
    ck_assert_int_eq(g_reports[1], 10);
    ck_assert_int_eq(s.busy + s.failed + s.partial + s.dropped, 0);
    ck_assert_str_eq(q1("SELECT string_agg(partition, ',' ORDER BY from_id) FROM sluice.partitions"
                        " WHERE table_name = 'sluice_runs.run_logs' AND NOT is_default"),
                     "sluice_runs.run_logs_p20260304,sluice_runs.run_logs_p20260305,"
                     "sluice_runs.run_logs_p20260306,sluice_runs.run_logs_p20260307,"
                     "sluice_runs.run_logs_p20260308");
    ck_assert_str_eq(q1("SELECT string_agg(partition, ',' ORDER BY from_id) FROM sluice.partitions"
                        " WHERE table_name = 'sluice_events.events' AND NOT is_default"),
                     "sluice_events.events_p2026w10,sluice_events.events_p2026w11,"
                     "sluice_events.events_p2026w12,sluice_events.events_p2026w13,"
                     "sluice_events.events_p2026w14");
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice_runs.run_logs_p20260304"), "300");
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice_runs.run_logs_default"), "0");
    ck_assert_str_eq(q1("SELECT last_result FROM sluice.partitioned_tables"
                        " WHERE table_name = 'sluice_runs.run_logs'"),
                     "created 5 partitions, moved 300 rows out of the default partition");
    ck_assert_str_eq(q1("SELECT last_error IS NULL AND last_run_at IS NOT NULL"
                        " FROM sluice.partitioned_tables"
                        " WHERE table_name = 'sluice_runs.run_logs'"),
                     "t");

    /* Again: nothing is due; nothing is recorded without record_idle. */
    memset(g_reports, 0, sizeof g_reports);
    ck_assert_int_eq(pm_run(g_db, &o, &s, &eb), SL_OK);
    ck_assert_int_eq(s.actions, 0);
    ck_assert_int_eq(s.created, 0);
    ck_assert_int_eq(g_reports[1] + g_reports[0], 0);
    ck_assert_str_eq(q1("SELECT last_result FROM sluice.partitioned_tables"
                        " WHERE table_name = 'sluice_runs.run_logs'"),
                     "created 5 partitions, moved 300 rows out of the default partition");
    o.record_idle = 1;
    ck_assert_int_eq(pm_run(g_db, &o, &s, &eb), SL_OK);
    ck_assert_str_eq(q1("SELECT string_agg(last_result, ',') FROM sluice.partitioned_tables"),
                     "nothing to do,nothing to do");

    /* An unregistered table is SL_ENOTFOUND. */
    pm_opts bad = {.table = "public.nope"};
    ck_assert_int_eq(pm_run(g_db, &bad, &s, &eb), SL_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(eb.msg, "public.nope"));
}
END_TEST

int main(void)
{
    log_init("test", LOG_ERROR);
    Suite *s = suite_create("partman");
    TCase *tc = tcase_create("texts");
    tcase_add_loop_test(tc, test_group, 0, sizeof group_cases / sizeof group_cases[0]);
    tcase_add_test(tc, test_group_small_buffer);
    tcase_add_test(tc, test_result_text);
    suite_add_tcase(s, tc);
    int must_fail = 0;
    g_url = pgt_url("check_partman", &must_fail);
    if (g_url) {
        snprintf(g_prefix, sizeof g_prefix, "sluice_tp_%ld", (long)getpid());
        TCase *pg = tcase_create("pg");
        tcase_add_checked_fixture(pg, setup, teardown);
        tcase_add_test(pg, test_snowflake_agrees_with_sql);
        tcase_add_test(pg, test_run_once);
        tcase_set_timeout(pg, 120);
        suite_add_tcase(s, pg);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (g_url)
        pgt_drop_dbs_like(g_url, g_prefix);
    return failed || must_fail ? EXIT_FAILURE : EXIT_SUCCESS;
}
