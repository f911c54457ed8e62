/* check_settings.c - unit tests for app/core/settings.c: typed fields of a
 * settings object (table-driven: types, integral reals, ranges, missing),
 * and reads from sluice.settings against a real PostgreSQL
 * (SLUICE_TEST_DATABASE_URL; skipped without it unless CI=true): the
 * seeded rows, missing rows and fields, non-object rows, out-of-range
 * values, and an unreachable database giving the defaults. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/migrate.h"
#include "log.h"
#include "pgtest.h"
#include "settings.h"

static const char *g_url;
static char g_prefix[64];
static char g_dbname[96];
static char g_conninfo[1000];
static db *g_db;

START_TEST(test_obj_int)
{
    json_t *o = json_loads("{\"n\": 4, \"big\": 9000000000, \"neg\": -3, \"r\": 5.0,"
                           " \"frac\": 2.5, \"s\": \"7\", \"b\": true, \"z\": null,"
                           " \"inf\": 1e300}",
                           0, NULL);
    ck_assert_ptr_nonnull(o);
    static const struct {
        const char *field;
        long long def, min, max, want;
    } cases[] = {
        {"n", 1, 0, 10, 4},               /* an integer in range */
        {"n", 1, 5, 10, 1},               /* below min: the default */
        {"n", 1, 0, 3, 1},                /* above max: the default */
        {"big", 1, 0, LLONG_MAX, 9000000000LL},
        {"neg", 7, LLONG_MIN, LLONG_MAX, -3},
        {"neg", 7, 0, 100, 7},
        {"r", 1, 0, 10, 5},               /* an integral real counts */
        {"frac", 1, 0, 10, 1},            /* a fraction does not */
        {"s", 1, 0, 10, 1},               /* nor a string */
        {"b", 1, 0, 10, 1},               /* nor a bool */
        {"z", 1, 0, 10, 1},               /* nor null */
        {"inf", 1, LLONG_MIN, LLONG_MAX, 1}, /* nor a real out of range */
        {"missing", 42, 0, 100, 42},
        {NULL, 9, 0, 100, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(settings_obj_int(o, cases[i].field, cases[i].def, cases[i].min,
                                       cases[i].max) == cases[i].want,
                      "case %zu (%s)", i, cases[i].field ? cases[i].field : "NULL");
    ck_assert_int_eq(settings_obj_int(NULL, "n", 3, 0, 10), 3);
    json_t *arr = json_array();
    ck_assert_int_eq(settings_obj_int(arr, "n", 3, 0, 10), 3);
    json_decref(arr);
    json_decref(o);
}
END_TEST

START_TEST(test_obj_bool)
{
    json_t *o = json_loads("{\"t\": true, \"f\": false, \"n\": 1, \"s\": \"true\"}", 0, NULL);
    ck_assert_int_eq(settings_obj_bool(o, "t", 0), 1);
    ck_assert_int_eq(settings_obj_bool(o, "f", 1), 0);
    ck_assert_int_eq(settings_obj_bool(o, "n", 0), 0);   /* only true / false */
    ck_assert_int_eq(settings_obj_bool(o, "s", 0), 0);
    ck_assert_int_eq(settings_obj_bool(o, "missing", 1), 1);
    ck_assert_int_eq(settings_obj_bool(NULL, "t", 0), 0);
    json_decref(o);
}
END_TEST

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
}

static void teardown(void)
{
    db_close(g_db);
    g_db = NULL;
    pgt_drop_db(g_url, g_dbname);
}

START_TEST(test_get)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    json_t *o = NULL;
    ck_assert_msg(settings_get(g_db, a, "scheduler", &o, &eb) == SL_OK, "%s", eb.msg);
    ck_assert(json_is_object(o));
    ck_assert_int_eq(json_object_size(o), 5);
    ck_assert_int_eq(settings_obj_int(o, "max_concurrent_runs", 0, 0, 100), 4);
    ck_assert_int_eq(settings_get(g_db, a, "no_such_row", &o, &eb), SL_ENOTFOUND);
    ck_assert_ptr_null(o);
    exec_sql("INSERT INTO sluice.settings (key, value) VALUES ('arr', '[1, 2]')");
    ck_assert_int_eq(settings_get(g_db, a, "arr", &o, &eb), SL_ENOTFOUND);
    ck_assert_int_eq(settings_get(g_db, a, "", &o, &eb), SL_EINVAL);
    arena_free(a);
}
END_TEST

START_TEST(test_typed_reads)
{
    ck_assert_int_eq(settings_int(g_db, "scheduler", "max_concurrent_runs", 9), 4);
    ck_assert_int_eq(settings_int(g_db, "scheduler", "stuck_run_timeout_seconds", 9), 120);
    ck_assert_int_eq(settings_int(g_db, "retention", "runs_max_age_days", 1), 90);
    ck_assert_int_eq(settings_int(g_db, "scheduler", "missing", 9), 9);
    ck_assert_int_eq(settings_int(g_db, "no_such_row", "x", -1), -1);
    ck_assert_int_eq(settings_bool(g_db, "features", "audit_log", 0), 1);
    ck_assert_int_eq(settings_bool(g_db, "features", "missing", 1), 1);
    exec_sql("UPDATE sluice.settings SET value = value || '{\"max_concurrent_runs\": 0}'"
             " WHERE key = 'scheduler'");
    ck_assert_int_eq(settings_int(g_db, "scheduler", "max_concurrent_runs", 4), 0);
    ck_assert_int_eq(settings_int_range(g_db, "scheduler", "max_concurrent_runs", 4, 1, 1000),
                     4);
    exec_sql("UPDATE sluice.settings SET value = value || '{\"max_concurrent_runs\": 12}'"
             " WHERE key = 'scheduler'");
    ck_assert_int_eq(settings_int_range(g_db, "scheduler", "max_concurrent_runs", 4, 1, 1000),
                     12);
    /* A database that cannot be reached gives the defaults. */
    db *down = db_open_lazy("postgresql://sluice@127.0.0.1:1/x?connect_timeout=1", 1);
    ck_assert_int_eq(settings_int(down, "scheduler", "max_concurrent_runs", 7), 7);
    ck_assert_int_eq(settings_bool(down, "features", "audit_log", 0), 0);
    db_close(down);
}
END_TEST

int main(void)
{
    log_init("test", LOG_ERROR);
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("objects");
    tcase_add_test(tc, test_obj_int);
    tcase_add_test(tc, test_obj_bool);
    suite_add_tcase(s, tc);
    int must_fail = 0;
    g_url = pgt_url("check_settings", &must_fail);
    if (g_url) {
        snprintf(g_prefix, sizeof g_prefix, "sluice_tset_%ld", (long)getpid());
        TCase *pg = tcase_create("pg");
        tcase_add_checked_fixture(pg, setup, teardown);
        tcase_add_test(pg, test_get);
        tcase_add_test(pg, test_typed_reads);
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
