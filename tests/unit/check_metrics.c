/* check_metrics.c - unit tests for app/web/metrics.c (shared counters and
 * their Prometheus text).
 *
 * metrics keeps one process-wide mapping; Check runs each test in its own
 * fork, and each test maps a fresh, zeroed region with metrics_init(). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "web/metrics.h"

static arena *A;

static void setup(void)
{
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
    A = NULL;
}

static const char *names3(int i)
{
    static const char *const n[] = {"/a", "/b", "/api/v1/things/{id}"};
    return i >= 0 && i < 3 ? n[i] : "?";
}

static const char *render(void)
{
    sbuf out;
    sb_init(&out, A, 1 << 20);
    ck_assert_int_eq(metrics_render(&out, names3), SL_OK);
    return sb_str(&out);
}

/* 1 when text has line as one whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

/* The value on the line that starts with prefix followed by a space, or -1. */
static double value_of(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

#define ASSERT_LINE(text, line) ck_assert_msg(has_line(text, line), "missing line: %s", line)

static const char tail_zero[] =
    "# HELP sluice_web_worker_restarts_total Workers replaced by the master.\n"
    "# TYPE sluice_web_worker_restarts_total counter\n"
    "sluice_web_worker_restarts_total 0\n"
    "# HELP sluice_web_worker_crashes_total Workers that exited abnormally.\n"
    "# TYPE sluice_web_worker_crashes_total counter\n"
    "sluice_web_worker_crashes_total 0\n"
    "# HELP sluice_web_workers Live workers.\n"
    "# TYPE sluice_web_workers gauge\n"
    "sluice_web_workers 0\n"
    "# HELP sluice_db_errors_total Database errors seen by workers.\n"
    "# TYPE sluice_db_errors_total counter\n"
    "sluice_db_errors_total 0\n";

START_TEST(test_before_init)
{
    /* Runs first, so nothing has mapped the region in this process yet
     * even without fork mode. Everything is a harmless no-op. */
    metrics_request(0, 200, 0.1);
    metrics_worker_restart(1);
    metrics_set_workers(3);
    metrics_db_error();
    sbuf out;
    sb_init(&out, A, 1024);
    ck_assert_int_eq(metrics_render(&out, names3), SL_EINTERNAL);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_empty_render_exact)
{
    metrics_init(3);
    const char *want_head =
        "# HELP sluice_http_requests_total HTTP requests by route and status.\n"
        "# TYPE sluice_http_requests_total counter\n"
        "# HELP sluice_http_request_duration_seconds Request latency by route.\n"
        "# TYPE sluice_http_request_duration_seconds histogram\n";
    const char *got = render();
    char *want = arena_printf(A, "%s%s", want_head, tail_zero);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_render_exact)
{
    metrics_init(2);
    metrics_request(0, 200, 0.001);
    metrics_request(0, 200, 0.2);
    metrics_request(0, 404, 3.0);
    metrics_request(1, 299, 20.0);  /* unknown status: "other"; beyond the last bucket */
    metrics_request(-1, 404, 0.0);  /* no route */
    metrics_request(7, 500, 0.01);  /* out of range: counted as unmatched */
    metrics_worker_restart(0);
    metrics_worker_restart(1);
    metrics_worker_restart(1);
    metrics_set_workers(4);
    metrics_db_error();
    const char *want =
        "# HELP sluice_http_requests_total HTTP requests by route and status.\n"
        "# TYPE sluice_http_requests_total counter\n"
        "sluice_http_requests_total{route=\"/a\",status=\"200\"} 2\n"
        "sluice_http_requests_total{route=\"/a\",status=\"404\"} 1\n"
        "sluice_http_requests_total{route=\"/b\",status=\"other\"} 1\n"
        "sluice_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"
        "sluice_http_requests_total{route=\"unmatched\",status=\"500\"} 1\n"
        "# HELP sluice_http_request_duration_seconds Request latency by route.\n"
        "# TYPE sluice_http_request_duration_seconds histogram\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.01\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.025\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.05\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"2.5\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"5\"} 3\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"10\"} 3\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"
        "sluice_http_request_duration_seconds_sum{route=\"/a\"} 3.201000\n"
        "sluice_http_request_duration_seconds_count{route=\"/a\"} 3\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.005\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.01\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.025\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.05\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.1\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.25\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.5\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"1\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"2.5\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"5\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"10\"} 0\n"
        "sluice_http_request_duration_seconds_bucket{route=\"/b\",le=\"+Inf\"} 1\n"
        "sluice_http_request_duration_seconds_sum{route=\"/b\"} 20.000000\n"
        "sluice_http_request_duration_seconds_count{route=\"/b\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.005\"} 1\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.01\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.025\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.05\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.1\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.25\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.5\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"1\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"2.5\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"5\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"10\"} 2\n"
        "sluice_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"+Inf\"} 2\n"
        "sluice_http_request_duration_seconds_sum{route=\"unmatched\"} 0.010000\n"
        "sluice_http_request_duration_seconds_count{route=\"unmatched\"} 2\n"
        "# HELP sluice_web_worker_restarts_total Workers replaced by the master.\n"
        "# TYPE sluice_web_worker_restarts_total counter\n"
        "sluice_web_worker_restarts_total 3\n"
        "# HELP sluice_web_worker_crashes_total Workers that exited abnormally.\n"
        "# TYPE sluice_web_worker_crashes_total counter\n"
        "sluice_web_worker_crashes_total 2\n"
        "# HELP sluice_web_workers Live workers.\n"
        "# TYPE sluice_web_workers gauge\n"
        "sluice_web_workers 4\n"
        "# HELP sluice_db_errors_total Database errors seen by workers.\n"
        "# TYPE sluice_db_errors_total counter\n"
        "sluice_db_errors_total 1\n";
    ck_assert_str_eq(render(), want);
}
END_TEST

START_TEST(test_every_known_status)
{
    static const int known[] = {200, 201, 202, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405,
                                409, 410, 412, 413, 415, 422, 428, 429, 500, 502, 503, 504};
    static const int unknown[] = {0, -1, 100, 203, 299, 307, 308, 411, 418, 451, 501, 599, 1000};
    metrics_init(3);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        for (size_t k = 0; k <= i; k++)
            metrics_request(2, known[i], 0.001);
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        metrics_request(2, unknown[i], 0.001);
    const char *t = render();
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char *line = arena_printf(A,
                                  "sluice_http_requests_total{route=\"/api/v1/things/{id}\","
                                  "status=\"%d\"} %zu",
                                  known[i], i + 1);
        ASSERT_LINE(t, line);
    }
    ASSERT_LINE(t,
                "sluice_http_requests_total{route=\"/api/v1/things/{id}\",status=\"other\"} 13");
    /* statuses never seen and the unknown ones get no line of their own */
    ck_assert_ptr_null(strstr(t, "status=\"418\""));
    ck_assert_ptr_null(strstr(t, "status=\"0\""));
    ck_assert_ptr_null(strstr(t, "route=\"/a\""));
    size_t total = 13;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        total += i + 1;
    ck_assert_double_eq(
        value_of(t, "sluice_http_request_duration_seconds_count{route=\"/api/v1/things/{id}\"}"),
        (double)total);
}
END_TEST

static const double les[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NLES (sizeof les / sizeof les[0])

START_TEST(test_histogram_cumulative)
{
    /* Durations spread over every bucket, boundaries included; each
     * rendered bucket must equal the number of durations <= le, buckets
     * must never decrease, and +Inf must equal the count. */
    metrics_init(1);
    double d[400];
    size_t n = 0;
    for (size_t i = 0; i < NLES; i++) {
        d[n++] = les[i];              /* on the boundary: counts in this bucket */
        d[n++] = les[i] * 1.0001;     /* just above: the next one */
        d[n++] = les[i] * 0.5;
    }
    d[n++] = 0;
    d[n++] = -0.5;                    /* a clock step backwards: the first bucket */
    d[n++] = 11;
    d[n++] = 3600;
    unsigned x = 12345;
    while (n < sizeof d / sizeof d[0]) {
        x = x * 1103515245u + 12345u;
        d[n++] = (double)(x % 2000000) / 100000.0; /* 0 .. 20 s */
    }
    for (size_t i = 0; i < n; i++)
        metrics_request(0, 200, d[i]);

    const char *t = render();
    double prev = 0;
    for (size_t b = 0; b < NLES; b++) {
        size_t want = 0;
        for (size_t i = 0; i < n; i++)
            want += d[i] <= les[b];
        char *key = arena_printf(A, "sluice_http_request_duration_seconds_bucket{route=\"/a\","
                                    "le=\"%g\"}", les[b]);
        double got = value_of(t, key);
        ck_assert_msg(got == (double)want, "%s: got %g want %zu", key, got, want);
        ck_assert(got >= prev);
        prev = got;
    }
    double inf = value_of(t, "sluice_http_request_duration_seconds_bucket{route=\"/a\","
                             "le=\"+Inf\"}");
    double count = value_of(t, "sluice_http_request_duration_seconds_count{route=\"/a\"}");
    ck_assert_double_eq(inf, (double)n);
    ck_assert_double_eq(count, (double)n);
    ck_assert(inf >= prev);
    ck_assert_double_eq(value_of(t, "sluice_http_requests_total{route=\"/a\",status=\"200\"}"),
                        (double)n);
    /* the sum: microsecond resolution, negatives count as zero */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d[i] > 0 ? d[i] : 0;
    double got_sum = value_of(t, "sluice_http_request_duration_seconds_sum{route=\"/a\"}");
    ck_assert_msg(fabs(got_sum - sum) < 1e-6 * (double)n + 1e-6, "sum %f vs %f", got_sum, sum);
}
END_TEST

START_TEST(test_negative_duration)
{
    metrics_init(1);
    metrics_request(0, 204, -3.0);
    const char *t = render();
    ASSERT_LINE(t, "sluice_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1");
    ASSERT_LINE(t, "sluice_http_request_duration_seconds_sum{route=\"/a\"} 0.000000");
    ASSERT_LINE(t, "sluice_http_requests_total{route=\"/a\",status=\"204\"} 1");
}
END_TEST

START_TEST(test_worker_counters)
{
    metrics_init(0);
    for (int i = 0; i < 5; i++)
        metrics_worker_restart(i % 2);
    metrics_set_workers(8);
    metrics_set_workers(6); /* a gauge: last value wins */
    for (int i = 0; i < 7; i++)
        metrics_db_error();
    metrics_request(0, 200, 0.001); /* no routes at all: unmatched */
    const char *t = render();
    ASSERT_LINE(t, "sluice_web_worker_restarts_total 5");
    ASSERT_LINE(t, "sluice_web_worker_crashes_total 2");
    ASSERT_LINE(t, "sluice_web_workers 6");
    ASSERT_LINE(t, "sluice_db_errors_total 7");
    ASSERT_LINE(t, "sluice_http_requests_total{route=\"unmatched\",status=\"200\"} 1");
}
END_TEST

START_TEST(test_render_too_small)
{
    metrics_init(3);
    metrics_request(0, 200, 0.1);
    sbuf out;
    sb_init(&out, A, 200);
    ck_assert_int_eq(metrics_render(&out, names3), SL_ETOOBIG);
    ck_assert_uint_le(out.len, 200);
}
END_TEST

START_TEST(test_shared_across_fork)
{
    /* Counts made in forked children (the workers) are visible in the
     * parent (the master), and concurrent increments are not lost. */
    enum { KIDS = 4, PER = 5000 };
    metrics_init(3);
    metrics_set_workers(KIDS);
    pid_t pids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        pids[k] = fork();
        ck_assert_int_ge(pids[k], 0);
        if (pids[k] == 0) {
            for (int i = 0; i < PER; i++)
                metrics_request(1, i % 2 ? 200 : 404, 0.002);
            metrics_request(-1, 404, 0.3);
            metrics_db_error();
            _exit(0);
        }
    }
    for (int k = 0; k < KIDS; k++) {
        int st;
        ck_assert_int_eq(waitpid(pids[k], &st, 0), pids[k]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        metrics_worker_restart(0);
    }
    const char *t = render();
    char *l200 = arena_printf(A, "sluice_http_requests_total{route=\"/b\",status=\"200\"} %d",
                              KIDS * PER / 2);
    char *l404 = arena_printf(A, "sluice_http_requests_total{route=\"/b\",status=\"404\"} %d",
                              KIDS * PER / 2);
    ASSERT_LINE(t, l200);
    ASSERT_LINE(t, l404);
    char *cnt = arena_printf(A, "sluice_http_request_duration_seconds_count{route=\"/b\"} %d",
                             KIDS * PER);
    ASSERT_LINE(t, cnt);
    char *b005 = arena_printf(A, "sluice_http_request_duration_seconds_bucket{route=\"/b\","
                                 "le=\"0.005\"} %d", KIDS * PER);
    ASSERT_LINE(t, b005);
    ASSERT_LINE(t, "sluice_http_request_duration_seconds_sum{route=\"/b\"} 40.000000");
    ASSERT_LINE(t, "sluice_http_requests_total{route=\"unmatched\",status=\"404\"} 4");
    ASSERT_LINE(t, "sluice_db_errors_total 4");
    ASSERT_LINE(t, "sluice_web_worker_restarts_total 4");
    ASSERT_LINE(t, "sluice_web_workers 4");
    ck_assert_ptr_null(strstr(t, "route=\"/a\""));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_before_init); /* keep first */
    tcase_add_test(tc, test_empty_render_exact);
    tcase_add_test(tc, test_render_exact);
    tcase_add_test(tc, test_every_known_status);
    tcase_add_test(tc, test_histogram_cumulative);
    tcase_add_test(tc, test_negative_duration);
    tcase_add_test(tc, test_worker_counters);
    tcase_add_test(tc, test_render_too_small);
    tcase_add_test(tc, test_shared_across_fork);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
