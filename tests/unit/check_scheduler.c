/* check_scheduler.c - unit tests for app/cli/scheduler.c against a real
 * PostgreSQL (SLUICE_TEST_DATABASE_URL; skipped without it unless
 * CI=true): the SLUICE_NOW clock (formats, UTC without an offset, bad
 * text), settings with their defaults and clamps, claiming under the
 * limit (count, not_before on the clock, one running run per pipeline),
 * retries (which triggers, attempts left, paused pipelines, idempotence,
 * backoff with jitter and cap on the clock), and due schedules (computed
 * without firing, across a DST gap, fired once). */
#include <check.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/migrate.h"
#include "cli/scheduler.h"
#include "log.h"
#include "pgtest.h"

static const char *g_url;
static char g_prefix[64];
static char g_dbname[96];
static char g_conninfo[1000];
static db *g_db;

#define P1 "10000000-0000-4000-8000-000000000001"
#define P2 "10000000-0000-4000-8000-000000000002"
#define P3 "10000000-0000-4000-8000-000000000003"
#define EPOCH_2030 1893456000.0 /* 2030-01-01T00:00:00Z */

static const char *q1(const char *sql)
{
    static char out[4096];
    PGconn *c = PQconnectdb(g_conninfo);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ck_abort_msg("%s: %s", sql, PQerrorMessage(c));
    snprintf(out, sizeof out, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "<none>");
    PQclear(r);
    PQfinish(c);
    return out;
}

static void exec_sql(const char *sql)
{
    ck_assert_msg(pgt_run(g_conninfo, sql) == 0, "%s", sql);
}

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
    ck_assert_int_eq(pgt_seed_endpoints(g_conninfo), 0);
    exec_sql("INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES"
             " ('" P1 "', 'one', '00000000-0000-4000-8000-000000000001',"
             "  '00000000-0000-4000-8000-000000000002'),"
             " ('" P2 "', 'two', '00000000-0000-4000-8000-000000000001',"
             "  '00000000-0000-4000-8000-000000000002'),"
             " ('" P3 "', 'three', '00000000-0000-4000-8000-000000000001',"
             "  '00000000-0000-4000-8000-000000000002')");
}

static void teardown(void)
{
    db_close(g_db);
    g_db = NULL;
    pgt_drop_db(g_url, g_dbname);
}

/* --- the clock ---------------------------------------------------------------------- */

START_TEST(test_clock)
{
    sl_errbuf eb = {0};
    sched_clock c;
    arena *a = arena_new(0);
    ck_assert_int_eq(sched_clock_init(&c, g_db, NULL, &eb), SL_OK);
    ck_assert_int_eq(c.set, 0);
    ck_assert_ptr_null(sched_clock_sql(&c, a));
    ck_assert_int_eq(sched_clock_init(&c, g_db, "", &eb), SL_OK);
    ck_assert_int_eq(c.set, 0);

    /* A session zone far from UTC: text without an offset is still UTC. */
    char sql[300];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET TimeZone = 'Asia/Kathmandu'", g_dbname);
    exec_sql(sql);
    db *d = db_open(g_conninfo, 5, &eb);
    ck_assert_ptr_nonnull(d);
    static const char *const same[] = {"2030-01-01T00:00:00Z", "2030-01-01 00:00:00",
                                       "2030-01-01T00:00:00", "2030-01-01",
                                       "2030-01-01T02:00:00+02:00", "2029-12-31 19:00-05",
                                       "2030-01-01 05:45:00+0545"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        ck_assert_msg(sched_clock_init(&c, d, same[i], &eb) == SL_OK, "%s: %s", same[i],
                      eb.msg);
        ck_assert_int_eq(c.set, 1);
        double t = sched_clock_epoch(&c);
        ck_assert_msg(t >= EPOCH_2030 && t < EPOCH_2030 + 5, "%s: %f", same[i], t);
        const char *s = sched_clock_sql(&c, a);
        ck_assert_msg(strncmp(s, "2030-01-01 00:00:0", 18) == 0 && strstr(s, "+00"), "%s: %s",
                      same[i], s);
    }
    /* It goes on ticking. */
    ck_assert_int_eq(sched_clock_init(&c, d, "2030-01-01T00:00:00Z", &eb), SL_OK);
    double t0 = sched_clock_epoch(&c);
    usleep(200000);
    ck_assert(sched_clock_epoch(&c) - t0 >= 0.19);
    static const char *const bad[] = {"soon", "2030-13-01", "2030-01-01T25:00:00Z", "12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(sched_clock_init(&c, d, bad[i], &eb) == SL_EINVAL, "%s", bad[i]);
        ck_assert(strstr(eb.msg, "SLUICE_NOW") != NULL);
        ck_assert_int_eq(c.set, 0);
    }
    db_close(d);
    arena_free(a);
}
END_TEST

/* --- settings ----------------------------------------------------------------------- */

START_TEST(test_settings)
{
    sched_settings s;
    sched_settings_load(g_db, &s);
    ck_assert_int_eq(s.max_concurrent_runs, 4);
    ck_assert_int_eq(s.default_max_retries, 3);
    ck_assert_int_eq(s.retry_base_seconds, 30);
    ck_assert_int_eq(s.retry_max_seconds, 3600);
    ck_assert_int_eq(s.stuck_run_timeout_seconds, 120);
    exec_sql("UPDATE sluice.settings SET value = '{\"max_concurrent_runs\": 0,"
             " \"default_max_retries\": 5, \"retry_base_seconds\": 100,"
             " \"retry_max_seconds\": 50, \"stuck_run_timeout_seconds\": 10}'"
             " WHERE key = 'scheduler'");
    sched_settings_load(g_db, &s);
    ck_assert_int_eq(s.max_concurrent_runs, 4);        /* 0 is out of range */
    ck_assert_int_eq(s.default_max_retries, 5);
    ck_assert_int_eq(s.retry_base_seconds, 100);
    ck_assert_int_eq(s.retry_max_seconds, 100);        /* never below the base */
    ck_assert_int_eq(s.stuck_run_timeout_seconds, 120); /* below 60: the default */
    exec_sql("DELETE FROM sluice.settings WHERE key = 'scheduler'");
    sched_settings_load(g_db, &s);
    ck_assert_int_eq(s.max_concurrent_runs, 4);
    ck_assert_int_eq(s.retry_max_seconds, 3600);
}
END_TEST

/* --- claiming ----------------------------------------------------------------------- */

static long long insert_run(const char *pipeline, const char *extra_cols, const char *extra_vals)
{
    char sql[1000];
    snprintf(sql, sizeof sql,
             "INSERT INTO sluice_runs.runs (pipeline_id%s) VALUES ('%s'%s) RETURNING id",
             extra_cols, pipeline, extra_vals);
    return strtoll(q1(sql), NULL, 10);
}

START_TEST(test_claim_limit)
{
    sl_errbuf eb = {0};
    sched_clock now = {0}, later = {0};
    ck_assert_int_eq(sched_clock_init(&later, g_db, "2100-01-01T00:00:00Z", &eb), SL_OK);
    long long r1 = insert_run(P1, "", "");
    long long r2 = insert_run(P2, "", "");
    long long r3 = insert_run(P3, ", not_before", ", now() + interval '1 hour'");
    long long r4 = insert_run(P2, "", "");
    run_ctx *a = NULL, *b = NULL, *c = NULL;
    int at_limit = -1;
    ck_assert_msg(sched_claim(g_db, g_conninfo, &now, 2, &a, &at_limit, &eb) == SL_OK, "%s",
                  eb.msg);
    ck_assert_int_eq(run_id(a), r1); /* oldest first */
    ck_assert_int_eq(sched_claim(g_db, g_conninfo, &now, 2, &b, &at_limit, &eb), SL_OK);
    ck_assert_int_eq(run_id(b), r2);
    /* r3 is due on the later clock, but two runs are running. */
    ck_assert_int_eq(sched_claim(g_db, g_conninfo, &later, 2, &c, &at_limit, &eb),
                     SL_ENOTFOUND);
    ck_assert_int_eq(at_limit, 1);
    ck_assert_ptr_null(c);
    /* Under a higher limit: r3 waits for its not_before, r4 for its pipeline. */
    ck_assert_int_eq(sched_claim(g_db, g_conninfo, &now, 10, &c, &at_limit, &eb), SL_ENOTFOUND);
    ck_assert_int_eq(at_limit, 0);
    /* On a clock past not_before, r3 may go. */
    ck_assert_int_eq(sched_claim(g_db, g_conninfo, &later, 10, &c, &at_limit, &eb), SL_OK);
    ck_assert_int_eq(run_id(c), r3);
    ck_assert_int_eq(run_finish(b, "success", NULL, &eb), SL_OK);
    ck_assert_int_eq(sched_claim(g_db, g_conninfo, &now, 3, &b, &at_limit, &eb), SL_OK);
    ck_assert_int_eq(run_id(b), r4);
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice_runs.runs WHERE status = 'running'"), "3");
    ck_assert_int_eq(run_finish(a, "success", NULL, &eb), SL_OK);
    ck_assert_int_eq(run_finish(b, "success", NULL, &eb), SL_OK);
    ck_assert_int_eq(run_finish(c, "success", NULL, &eb), SL_OK);
    /* A queued run of a deleted pipeline is skipped, not claimed. */
    long long r5 = insert_run(P1, "", "");
    exec_sql("UPDATE sluice.pipelines SET deleted_at = now() WHERE id = '" P1 "'");
    ck_assert_int_eq(sched_claim(g_db, g_conninfo, &now, 3, &a, &at_limit, &eb), SL_ENOTFOUND);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT status FROM sluice_runs.runs WHERE id = %lld", r5);
    ck_assert_str_eq(q1(sql), "skipped");
}
END_TEST

/* --- retries ------------------------------------------------------------------------ */

/* A failed run of pipeline p, finished now (retry_of 0: none). */
static long long failed_run(const char *p, const char *trigger, int attempt, long long retry_of)
{
    char of[32] = "NULL", vals[300];
    if (retry_of)
        snprintf(of, sizeof of, "%lld", retry_of);
    snprintf(vals, sizeof vals,
             ", 'failed', '%s', %d, %s, now(), now(), 'boom', '{\"tables\": [\"x\"]}'",
             trigger, attempt, of);
    return insert_run(p,
                      ", status, trigger, attempt, retry_of, started_at, finished_at, error,"
                      " options",
                      vals);
}

START_TEST(test_retries)
{
    sl_errbuf eb = {0};
    sched_clock clk;
    ck_assert_int_eq(sched_clock_init(&clk, g_db, "2030-01-01T00:00:00Z", &eb), SL_OK);
    sched_settings s = {.max_concurrent_runs = 4, .default_max_retries = 3,
                        .retry_base_seconds = 100, .retry_max_seconds = 300,
                        .stuck_run_timeout_seconds = 120};
    exec_sql("UPDATE sluice.pipelines SET max_retries = 3");
    long long manual = failed_run(P2, "manual", 1, 0);
    long long plain_retry = failed_run(P3, "retry", 1, 0); /* a dead-letter retry by a person */
    int n = -1;
    ck_assert_msg(sched_retries(g_db, &clk, &s, &n, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(n, 0);
    (void)manual;
    (void)plain_retry;

    long long first = failed_run(P1, "scheduled", 1, 0);
    ck_assert_int_eq(sched_retries(g_db, &clk, &s, &n, &eb), SL_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(sched_retries(g_db, &clk, &s, &n, &eb), SL_OK);
    ck_assert_int_eq(n, 0); /* once per attempt */
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT status || '|' || trigger || '|' || attempt || '|' || retry_of || '|'"
             " || options::text || '|' || (extract(epoch FROM not_before"
             " - '2030-01-01 00:00:00+00') BETWEEN 80 AND 121)"
             " FROM sluice_runs.runs WHERE retry_of = %lld",
             first);
    char want[200];
    snprintf(want, sizeof want, "queued|retry|2|%lld|{\"tables\": [\"x\"]}|true", first);
    ck_assert_str_eq(q1(sql), want);

    /* Attempt 3 fails: its backoff would be 400 s, capped at 300 (-20%). */
    snprintf(sql, sizeof sql, "DELETE FROM sluice_runs.runs WHERE retry_of = %lld", first);
    exec_sql(sql);
    long long third = failed_run(P1, "retry", 3, first);
    ck_assert_int_eq(sched_retries(g_db, &clk, &s, &n, &eb), SL_OK);
    ck_assert_int_eq(n, 1);
    snprintf(sql, sizeof sql,
             "SELECT attempt || '|' || (extract(epoch FROM not_before"
             " - '2030-01-01 00:00:00+00') BETWEEN 239 AND 301)"
             " FROM sluice_runs.runs WHERE retry_of = %lld AND id > %lld",
             first, third);
    ck_assert_str_eq(q1(sql), "4|true");

    /* Attempt 4 of max_retries 3: no more. */
    snprintf(sql, sizeof sql, "DELETE FROM sluice_runs.runs WHERE retry_of = %lld AND id > %lld",
             first, third);
    exec_sql(sql);
    failed_run(P1, "retry", 4, first);
    ck_assert_int_eq(sched_retries(g_db, &clk, &s, &n, &eb), SL_OK);
    ck_assert_int_eq(n, 0);

    /* A paused pipeline is not retried; a newer run makes an old failure moot. */
    failed_run(P2, "webhook", 1, 0);
    exec_sql("UPDATE sluice.pipelines SET status = 'paused' WHERE id = '" P2 "'");
    long long f3 = failed_run(P3, "dependency", 1, 0);
    insert_run(P3, "", "");
    ck_assert_int_eq(sched_retries(g_db, &clk, &s, &n, &eb), SL_OK);
    ck_assert_int_eq(n, 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sluice_runs.runs WHERE retry_of = %lld", f3);
    ck_assert_str_eq(q1(sql), "0");
}
END_TEST

/* --- due schedules ------------------------------------------------------------------ */

START_TEST(test_due)
{
    sl_errbuf eb = {0};
    sched_clock clk;
    /* The night Berlin springs forward: 02:30 does not exist; it fires at 03:00 CEST. */
    ck_assert_int_eq(sched_clock_init(&clk, g_db, "2030-03-30T12:00:00Z", &eb), SL_OK);
    exec_sql("UPDATE sluice.pipelines SET schedule = '30 2 * * *', timezone = 'Europe/Berlin'"
             " WHERE id = '" P1 "'");
    sched_due_counts n;
    ck_assert_msg(sched_due(g_db, &clk, &n, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(n.computed, 1);
    ck_assert_int_eq(n.queued, 0);
    ck_assert_str_eq(q1("SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
                        " FROM sluice.pipelines WHERE id = '" P1 "'"),
                     "2030-03-31 01:00");
    ck_assert_int_eq(sched_clock_init(&clk, g_db, "2030-03-31T01:00:00Z", &eb), SL_OK);
    ck_assert_int_eq(sched_due(g_db, &clk, &n, &eb), SL_OK);
    ck_assert_int_eq(n.queued, 1);
    ck_assert_str_eq(q1("SELECT trigger || '|' || status FROM sluice_runs.runs"
                        " WHERE pipeline_id = '" P1 "'"),
                     "scheduled|queued");
    ck_assert_str_eq(q1("SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
                        " FROM sluice.pipelines WHERE id = '" P1 "'"),
                     "2030-04-01 00:30");
    /* Due again while the run is still queued: a skipped slot. */
    ck_assert_int_eq(sched_clock_init(&clk, g_db, "2030-04-01T00:30:00Z", &eb), SL_OK);
    ck_assert_int_eq(sched_due(g_db, &clk, &n, &eb), SL_OK);
    ck_assert_int_eq(n.queued, 0);
    ck_assert_int_eq(n.skipped, 1);
    ck_assert_str_eq(q1("SELECT skip_reason || '|' || (finished_at IS NOT NULL)"
                        " FROM sluice_runs.runs WHERE status = 'skipped'"),
                     "already queued|true");
    /* Nothing due: nothing happens. */
    ck_assert_int_eq(sched_due(g_db, &clk, &n, &eb), SL_OK);
    ck_assert_int_eq(n.queued + n.skipped + n.computed, 0);
}
END_TEST

int main(void)
{
    int must_fail = 0;
    g_url = pgt_url("check_scheduler", &must_fail);
    if (!g_url)
        return must_fail ? EXIT_FAILURE : EXIT_SUCCESS;
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    log_init("test", LOG_ERROR);
    snprintf(g_prefix, sizeof g_prefix, "sluice_tsch_%ld", (long)getpid());
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("pg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_settings);
    tcase_add_test(tc, test_claim_limit);
    tcase_add_test(tc, test_retries);
    tcase_add_test(tc, test_due);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    pgt_drop_dbs_like(g_url, g_prefix);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
