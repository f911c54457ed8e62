/* check_outbox.c - unit tests for app/cli/outbox.c and sql/009_outbox.sql:
 * the backoff formula (table-driven: doubling, cap, jitter and its clamp,
 * Retry-After as the minimum and its cap, odd inputs), what each answer
 * means (classify), the visibility timeout a batch needs, and against a
 * real PostgreSQL (SLUICE_TEST_DATABASE_URL; skipped without it unless
 * CI=true): enqueue_event / enqueue_notifications (per-pipeline, global,
 * inactive and unsubscribed targets, one message per target, once per
 * event), the settings, and outbox_run on messages that need no network
 * (deleted and disabled targets, claims of a stopped deliverer taken over
 * or given up). Delivery over HTTP is tests/integration/test_notify_delivery.sh. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/migrate.h"
#include "cli/outbox.h"
#include "log.h"
#include "pgtest.h"

static const char *g_url;
static char g_prefix[64];
static char g_dbname[96];
static char g_conninfo[1000];
static db *g_db;

START_TEST(test_backoff)
{
    static const struct {
        int base, max, attempt;
        double jitter;
        long retry_after;
        double want;
    } cases[] = {
        {10, 3600, 1, 0, -1, 10},         /* the first retry waits base */
        {10, 3600, 2, 0, -1, 20},         /* then it doubles */
        {10, 3600, 3, 0, -1, 40},
        {10, 3600, 4, 0, -1, 80},
        {10, 3600, 9, 0, -1, 2560},
        {10, 3600, 10, 0, -1, 3600},      /* capped at max */
        {10, 3600, 60, 0, -1, 3600},
        {10, 3600, 1000, 0, -1, 3600},    /* no overflow for silly attempts */
        {10, 3600, 1, 0.2, -1, 12},       /* jitter +20% */
        {10, 3600, 1, -0.2, -1, 8},       /* jitter -20% */
        {10, 3600, 1, 0.9, -1, 12},       /* clamped to +20% */
        {10, 3600, 1, -5, -1, 8},         /* clamped to -20% */
        {10, 3600, 10, 0.2, -1, 4320},    /* jitter applies after the cap */
        {1, 3600, 1, 0, 3, 3},            /* Retry-After 3 beats a 1 s backoff */
        {1, 3600, 1, 0.2, 3, 3},          /* whatever the jitter */
        {10, 3600, 2, 0, 3, 20},          /* a shorter Retry-After changes nothing */
        {10, 3600, 1, 0, 0, 10},          /* Retry-After 0 */
        {1, 10, 1, 0, 999999, 86400},     /* Retry-After is capped at a day */
        {0, 0, 1, 0, -1, 1},              /* base at least 1 */
        {5, 2, 3, 0, -1, 5},              /* max below base: base */
        {10, 3600, 0, 0, -1, 10},         /* attempt 0 counts as the first */
        {10, 3600, -4, 0, -1, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = outbox_backoff(cases[i].base, cases[i].max, cases[i].attempt,
                                    cases[i].jitter, cases[i].retry_after);
        ck_assert_msg(fabs(got - cases[i].want) < 1e-9, "case %zu: got %f, want %f", i, got,
                      cases[i].want);
    }
    /* NaN jitter is clamped, not passed on. */
    ck_assert(fabs(outbox_backoff(10, 100, 1, NAN, -1) - 8) < 1e-9);
}
END_TEST

START_TEST(test_classify)
{
    static const struct {
        sl_err e;
        int status;
        enum outbox_verdict want;
    } cases[] = {
        {SL_OK, 200, OUTBOX_DELIVERED},
        {SL_OK, 201, OUTBOX_DELIVERED},
        {SL_OK, 204, OUTBOX_DELIVERED},
        {SL_OK, 299, OUTBOX_DELIVERED},
        {SL_OK, 410, OUTBOX_GONE},
        {SL_OK, 400, OUTBOX_DEAD},
        {SL_OK, 401, OUTBOX_DEAD},
        {SL_OK, 403, OUTBOX_DEAD},
        {SL_OK, 404, OUTBOX_DEAD},
        {SL_OK, 413, OUTBOX_DEAD},
        {SL_OK, 422, OUTBOX_DEAD},
        {SL_OK, 499, OUTBOX_DEAD},
        {SL_OK, 408, OUTBOX_RETRY},       /* request timeout: try again */
        {SL_OK, 429, OUTBOX_RETRY},       /* too many requests: try again */
        {SL_OK, 500, OUTBOX_RETRY},
        {SL_OK, 502, OUTBOX_RETRY},
        {SL_OK, 503, OUTBOX_RETRY},
        {SL_OK, 599, OUTBOX_RETRY},
        {SL_OK, 301, OUTBOX_RETRY},       /* redirects are not followed: a failed attempt */
        {SL_OK, 302, OUTBOX_RETRY},
        {SL_OK, 307, OUTBOX_RETRY},
        {SL_OK, 100, OUTBOX_RETRY},
        {SL_OK, 600, OUTBOX_RETRY},
        {SL_ETIMEOUT, 0, OUTBOX_RETRY},
        {SL_EIO, 0, OUTBOX_RETRY},
        {SL_EIO, 200, OUTBOX_RETRY},      /* a transport error wins over a status */
        {SL_EFORBIDDEN, 0, OUTBOX_DEAD},  /* the SSRF guard */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(outbox_classify(cases[i].e, cases[i].status) == cases[i].want,
                      "case %zu (%d, %d)", i, (int)cases[i].e, cases[i].status);
    ck_assert_str_eq(outbox_verdict_name(OUTBOX_DELIVERED), "delivered");
    ck_assert_str_eq(outbox_verdict_name(OUTBOX_RETRY), "retry");
    ck_assert_str_eq(outbox_verdict_name(OUTBOX_DEAD), "dead");
    ck_assert_str_eq(outbox_verdict_name(OUTBOX_GONE), "gone");
}
END_TEST

START_TEST(test_visibility)
{
    outbox_settings s = {.visibility_timeout_seconds = 300, .concurrency = 8,
                         .timeout_seconds = 10};
    ck_assert_int_eq(outbox_visibility(&s, 100), 300);   /* (13 + 1) * 11 + 5 = 159 < 300 */
    ck_assert_int_eq(outbox_visibility(&s, 1000), 1391); /* (125 + 1) * 11 + 5 */
    s.visibility_timeout_seconds = 10;
    ck_assert_int_eq(outbox_visibility(&s, 8), 27);      /* two rounds: 2 * 11 + 5 */
    ck_assert_int_eq(outbox_visibility(&s, 9), 38);      /* three */
    s.concurrency = 0;                                    /* treated as 1 */
    ck_assert_int_eq(outbox_visibility(&s, 2), 38);
}
END_TEST

START_TEST(test_owner)
{
    const char *o = outbox_owner();
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_eq(o, outbox_owner());
    char pid[32];
    snprintf(pid, sizeof pid, ":%ld:", (long)getpid());
    ck_assert_msg(strstr(o, pid) != NULL, "%s", o);
}
END_TEST

/* --- PostgreSQL -------------------------------------------------------------------- */

static void exec_sql(const char *sql)
{
    ck_assert_msg(pgt_run(g_conninfo, sql) == 0, "%s", sql);
}

/* The first column of the first row of sql, as text ("" for NULL). */
static char *value(const char *sql)
{
    static char buf[4096];
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    db_rollback(g_db);
    sl_err e = db_query_value(g_db, a, &eb, &v, sql, 0, NULL);
    ck_assert_msg(e == SL_OK, "%s: %s", sql, eb.msg);
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    arena_free(a);
    return buf;
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
}

static void teardown(void)
{
    db_close(g_db);
    g_db = NULL;
    pgt_drop_db(g_url, g_dbname);
}

#define P "aaaaaaaa-0000-0000-0000-000000000001"
#define Q "aaaaaaaa-0000-0000-0000-000000000002"
#define T(n) "bbbbbbbb-0000-0000-0000-00000000000" #n

/* A source, a destination and pipelines P and Q; targets 1..5 with
 * subscriptions: 1 all pipelines {run.failed}; 2 P {run.failed,
 * run.succeeded}; 3 (inactive) all {run.failed}; 4 P {quality.failed};
 * 5 all {run.failed} and P {run.failed} (one message, not two). */
static void subscriptions(void)
{
    exec_sql("INSERT INTO sluice.sources (id, name, type, host, port, database, username)"
             " VALUES ('cccccccc-0000-0000-0000-000000000001', 's', 'postgresql', 'h', 5432,"
             " 'd', 'u');"
             "INSERT INTO sluice.destinations (id, name, type, host, port, database, username)"
             " VALUES ('cccccccc-0000-0000-0000-000000000002', 'd', 'postgresql', 'h', 5432,"
             " 'd', 'u');"
             "INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES"
             " ('" P "', 'p', 'cccccccc-0000-0000-0000-000000000001',"
             " 'cccccccc-0000-0000-0000-000000000002'),"
             " ('" Q "', 'q', 'cccccccc-0000-0000-0000-000000000001',"
             " 'cccccccc-0000-0000-0000-000000000002');"
             "INSERT INTO sluice.notification_targets (id, name, type, secret_enc, active) VALUES"
             " ('" T(1) "', 't1', 'webhook', 'x', true), ('" T(2) "', 't2', 'slack', 'x', true),"
             " ('" T(3) "', 't3', 'webhook', 'x', false),"
             " ('" T(4) "', 't4', 'discord', 'x', true), ('" T(5) "', 't5', 'webhook', 'x', true);"
             "INSERT INTO sluice.pipeline_notifications (pipeline_id, target_id, events) VALUES"
             " (NULL, '" T(1) "', '{run.failed}'),"
             " ('" P "', '" T(2) "', '{run.failed,run.succeeded}'),"
             " (NULL, '" T(3) "', '{run.failed}'),"
             " ('" P "', '" T(4) "', '{quality.failed}'),"
             " (NULL, '" T(5) "', '{run.failed}'), ('" P "', '" T(5) "', '{run.failed}')");
}

/* Append an event the way run.c does (enqueued in the same statement);
 * returns how many messages it made. */
static int append(const char *stream, const char *type, const char *data)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "WITH e AS (INSERT INTO sluice_events.events (stream, type, data)"
             " VALUES ('%s', '%s', '%s') RETURNING id, stream, type, data)"
             " SELECT sluice_events.enqueue_event(id, stream, type, data) FROM e",
             stream, type, data);
    char *end;
    long n = strtol(value(sql), &end, 10);
    ck_assert_msg(*end == '\0', "not a number: %s", sql);
    return (int)n;
}

START_TEST(test_enqueue)
{
    subscriptions();
    exec_sql("UPDATE sluice.settings SET value = value || '{\"max_attempts\": 5}'"
             " WHERE key = 'notifications'");
    /* run.failed of P: targets 1, 2 and 5 (once); not 3 (inactive) nor 4 (another event). */
    ck_assert_int_eq(append("pipeline:" P, "run.failed",
                            "{\"run_id\": \"7\", \"pipeline_id\": \"" P "\", \"rows\": 3}"),
                     3);
    ck_assert_str_eq(value("SELECT string_agg(t.name, ',' ORDER BY t.name)"
                           " FROM sluice_events.messages m"
                           " JOIN sluice.notification_targets t ON t.id = m.target_id"),
                     "t1,t2,t5");
    ck_assert_str_eq(value("SELECT count(DISTINCT event_id) || ' ' || min(status) || ' '"
                           " || min(attempts) || ' ' || min(max_attempts) || ' '"
                           " || min(pipeline_id::text) || ' ' || min(event_type) || ' '"
                           " || bool_and(payload = '{\"run_id\": \"7\", \"pipeline_id\": \""
                           P "\", \"rows\": 3}'::jsonb) || ' ' || bool_and(visible_at <= now())"
                           " || ' ' || bool_and(locked_by IS NULL)"
                           " FROM sluice_events.messages"),
                     "1 queued 0 5 " P " run.failed true true true");
    /* The same event again: nothing new. */
    ck_assert_str_eq(value("SELECT sluice_events.enqueue_notifications(max(id))"
                           " FROM sluice_events.events"),
                     "0");
    ck_assert_str_eq(value("SELECT count(*) FROM sluice_events.messages"), "3");
    /* Q's run.failed (the pipeline from the stream): only the global ones. */
    ck_assert_int_eq(append("pipeline:" Q, "run.failed", "{\"run_id\": \"8\"}"), 2);
    /* run.succeeded of P: target 2 only; quality.failed of P: target 4 only. */
    ck_assert_int_eq(append("pipeline:" P, "run.succeeded", "{}"), 1);
    ck_assert_int_eq(append("pipeline:" P, "quality.failed", "{}"), 1);
    /* Nobody hears schema.drifted; an event of no pipeline reaches the global ones. */
    ck_assert_int_eq(append("pipeline:" P, "schema.drifted", "{}"), 0);
    ck_assert_int_eq(append("landing:x", "run.failed", "{\"pipeline_id\": \"nonsense\"}"), 2);
    ck_assert_str_eq(value("SELECT count(*) FROM sluice_events.messages"
                           " WHERE pipeline_id IS NULL"),
                     "2");
    /* enqueue_notifications of an appended event, and of none. */
    exec_sql("INSERT INTO sluice_events.events (stream, type, data)"
             " VALUES ('pipeline:" P "', 'run.succeeded', '{}')");
    ck_assert_str_eq(value("SELECT sluice_events.enqueue_notifications(max(id))"
                           " FROM sluice_events.events"),
                     "1");
    ck_assert_str_eq(value("SELECT sluice_events.enqueue_notifications(12345)"), "0");
    ck_assert_str_eq(value("SELECT count(*) FROM sluice_events.messages"), "10");
    /* A bad max_attempts setting gives the default. */
    exec_sql("UPDATE sluice.settings SET value = value || '{\"max_attempts\": \"lots\"}'"
             " WHERE key = 'notifications'");
    ck_assert_str_eq(value("SELECT sluice_events.notify_max_attempts()"), "8");
    exec_sql("UPDATE sluice.settings SET value = value || '{\"max_attempts\": 500}'"
             " WHERE key = 'notifications'");
    ck_assert_str_eq(value("SELECT sluice_events.notify_max_attempts()"), "8");
}
END_TEST

START_TEST(test_settings)
{
    outbox_settings s;
    outbox_settings_load(g_db, &s);
    ck_assert_int_eq(s.max_attempts, 8);
    ck_assert_int_eq(s.base_backoff_seconds, 10);
    ck_assert_int_eq(s.max_backoff_seconds, 21600);
    ck_assert_int_eq(s.visibility_timeout_seconds, 300);
    ck_assert_int_eq(s.batch_size, 100);
    ck_assert_int_eq(s.concurrency, 8);
    ck_assert_int_eq(s.timeout_seconds, 10);
    exec_sql("UPDATE sluice.settings SET value = value || '{\"base_backoff_seconds\": 1,"
             " \"max_backoff_seconds\": 4, \"visibility_timeout_seconds\": 5,"
             " \"batch_size\": 7, \"concurrency\": 0}' WHERE key = 'notifications'");
    outbox_settings_load(g_db, &s);
    ck_assert_int_eq(s.base_backoff_seconds, 1);
    ck_assert_int_eq(s.max_backoff_seconds, 4);
    ck_assert_int_eq(s.visibility_timeout_seconds, 300); /* below 10: the default */
    ck_assert_int_eq(s.batch_size, 7);
    ck_assert_int_eq(s.concurrency, 8);                  /* below 1: the default */
}
END_TEST

START_TEST(test_run_without_network)
{
    subscriptions();
    outbox_counts n = {0};
    sl_errbuf eb = {0};
    /* Nothing queued. */
    ck_assert_int_eq(outbox_run(g_db, NULL, NULL, &n, &eb), SL_OK);
    ck_assert_int_eq(n.claimed, 0);
    /* m1: a target that was deleted; m2: a disabled target; m3: a claim whose
     * deliverer stopped with attempts left (taken over, then dead: deleted
     * target); m4: a claim that stopped during its last attempt; m5: a claim
     * still held by a live deliverer (not visible: untouched); m6: a retry
     * that is not due yet. */
    exec_sql("UPDATE sluice.notification_targets SET active = false,"
             " disabled_reason = 'the receiver answered 410 Gone' WHERE id = '" T(4) "';"
             "INSERT INTO sluice_events.messages (id, target_id, event_id, event_type, attempts,"
             " max_attempts, visible_at, locked_by) VALUES"
             " (1, 'dddddddd-0000-0000-0000-000000000009', 1, 'run.failed', 0, 3, now(), NULL),"
             " (2, '" T(4) "', 2, 'run.failed', 0, 3, now(), NULL),"
             " (3, 'dddddddd-0000-0000-0000-000000000009', 3, 'run.failed', 1, 3,"
             "  now() - interval '1 s', 'gone:1:x'),"
             " (4, '" T(1) "', 4, 'run.failed', 3, 3, now() - interval '1 s', 'gone:2:y'),"
             " (5, '" T(1) "', 5, 'run.failed', 1, 3, now() + interval '1 h', 'alive:3:z'),"
             " (6, '" T(1) "', 6, 'run.failed', 1, 3, now() + interval '1 h', NULL)");
    memset(&n, 0, sizeof n);
    ck_assert_msg(outbox_run(g_db, NULL, NULL, &n, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(n.claimed, 3);   /* m1, m2, m3 */
    ck_assert_int_eq(n.dead, 4);      /* and m4 */
    ck_assert_int_eq(n.delivered, 0);
    ck_assert_int_eq(n.expired, 2);   /* m3 and m4 */
    ck_assert_str_eq(value("SELECT string_agg(id || ':' || status || ':' || attempts || ':'"
                           " || coalesce(last_error, '-'), E'\\n' ORDER BY id)"
                           " FROM sluice_events.messages"),
                     "1:dead:1:the target was deleted\n"
                     "2:dead:1:the target is disabled: the receiver answered 410 Gone\n"
                     "3:dead:2:the target was deleted\n"
                     "4:dead:3:gave up after 3 attempts; the last: no result recorded (the "
                     "process delivering it, gone:2:y, stopped)\n"
                     "5:queued:1:-\n"
                     "6:queued:1:-");
    ck_assert_str_eq(value("SELECT string_agg(message_id || '/' || attempt || '/' || outcome"
                           " || '/' || coalesce(status_code::text, '-') || '/' || error,"
                           " E'\\n' ORDER BY message_id, attempt)"
                           " FROM sluice_events.delivery_attempts"),
                     "1/1/dead/-/the target was deleted\n"
                     "2/1/dead/-/the target is disabled: the receiver answered 410 Gone\n"
                     "3/1/lost/-/no result recorded: the process delivering it (gone:1:x) "
                     "stopped\n"
                     "3/2/dead/-/the target was deleted\n"
                     "4/3/lost/-/no result recorded: the process delivering it (gone:2:y) "
                     "stopped");
    ck_assert_str_eq(value("SELECT count(*) FROM sluice_events.dead_letters"), "4");
    ck_assert_str_eq(value("SELECT bool_and(dead_at IS NOT NULL AND locked_by IS NULL)"
                           " FROM sluice_events.messages WHERE status = 'dead'"),
                     "t");
    /* Nothing more is due. */
    memset(&n, 0, sizeof n);
    ck_assert_int_eq(outbox_run(g_db, NULL, NULL, &n, &eb), SL_OK);
    ck_assert_int_eq(n.claimed + n.dead, 0);
}
END_TEST

int main(void)
{
    log_init("test", LOG_ERROR);
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_backoff);
    tcase_add_test(tc, test_classify);
    tcase_add_test(tc, test_visibility);
    tcase_add_test(tc, test_owner);
    suite_add_tcase(s, tc);
    int must_fail = 0;
    g_url = pgt_url("check_outbox", &must_fail);
    if (g_url) {
        snprintf(g_prefix, sizeof g_prefix, "sluice_tobx_%ld", (long)getpid());
        TCase *pg = tcase_create("pg");
        tcase_add_checked_fixture(pg, setup, teardown);
        tcase_add_test(pg, test_enqueue);
        tcase_add_test(pg, test_settings);
        tcase_add_test(pg, test_run_without_network);
        tcase_set_timeout(pg, 60);
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
