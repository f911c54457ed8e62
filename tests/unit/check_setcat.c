/* check_setcat.c - unit tests for app/core/setcat.c: the catalog is
 * consistent (defaults inside their ranges, every field in a section, no
 * duplicates), values typed into the page and sent as JSON are checked the
 * same way (table-driven), effective values fall back to defaults, and the
 * rule between the scheduler's retry fields holds. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "setcat.h"

static arena *A;

static void setup(void)
{
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

START_TEST(test_catalog_consistent)
{
    size_t n, ns;
    const setcat_field *f = setcat_fields(&n);
    setcat_sections(&ns);
    ck_assert_uint_gt(n, 20);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(setcat_section_find(f[i].section) != NULL, "%s.%s: no section %s",
                      f[i].group, f[i].name, f[i].section);
        ck_assert_ptr_eq(setcat_find(f[i].group, f[i].name), &f[i]); /* no duplicates */
        ck_assert_msg(f[i].label && *f[i].label, "%s has a label", f[i].name);
        if (f[i].type == SETCAT_INT || f[i].type == SETCAT_NUM)
            ck_assert_msg(f[i].def >= (double)f[i].min && f[i].def <= (double)f[i].max,
                          "%s.%s default %g outside %lld..%lld", f[i].group, f[i].name,
                          f[i].def, f[i].min, f[i].max);
        if (f[i].type == SETCAT_URL) {
            const char *msg;
            json_t *v = json_string(f[i].def_text);
            json_t *ok = setcat_check_json(A, &f[i], v, &msg);
            ck_assert_msg(ok != NULL, "%s default URL valid", f[i].name);
            json_decref(ok);
            json_decref(v);
        }
    }
    /* every section shows at least one field */
    const setcat_section *s = setcat_sections(&ns);
    for (size_t k = 0; k < ns; k++) {
        int seen = 0;
        for (size_t i = 0; i < n; i++)
            seen += strcmp(f[i].section, s[k].key) == 0;
        ck_assert_msg(seen > 0, "section %s is empty", s[k].key);
    }
    /* the retention fields the reaper reads and the flags the web gates */
    const char *reaper[] = {"runs_max_per_pipeline", "runs_max_age_days", "run_logs_max_age_days",
                            "quality_log_max_per_table", "quality_log_max_age_days",
                            "audit_log_max_age_days", "pipelines_purge_after_days",
                            "landing_files_max_age_days", "events_max_age_days",
                            "login_attempts_max_age_days", "reaper_interval_minutes",
                            "reaper_batch_size", "reaper_time_budget_seconds", NULL};
    for (int i = 0; reaper[i]; i++)
        ck_assert_msg(setcat_find("retention", reaper[i]) != NULL, "retention.%s", reaper[i]);
    const char *flags[] = {"quality_checks", "landing_zones", "audit_log", "pipeline_triggers",
                           "pipeline_versions", NULL};
    for (int i = 0; flags[i]; i++)
        ck_assert_int_eq(setcat_find("features", flags[i])->type, SETCAT_BOOL);
    /* the stuck-run timeout lives in the scheduler's row, shown under retention */
    const setcat_field *st = setcat_find("scheduler", "stuck_run_timeout_seconds");
    ck_assert_str_eq(st->section, "retention");
    ck_assert_ptr_null(setcat_find("retention", "nope"));
    ck_assert_ptr_null(setcat_find(NULL, "x"));
    ck_assert(setcat_group_known("features"));
    ck_assert(!setcat_group_known("secret_key_check"));
}
END_TEST

/* --- text typed into the page ----------------------------------------------------------- */

struct text_case {
    const char *group, *name, *text;
    const char *want; /* the value as compact JSON, or NULL for an error */
    const char *msg;  /* a piece of the error, when want is NULL */
};

static const struct text_case text_cases[] = {
    {"retention", "runs_max_age_days", "90", "90", NULL},
    {"retention", "runs_max_age_days", "  7 ", "7", NULL},
    {"retention", "runs_max_age_days", "0", "0", NULL},
    {"retention", "runs_max_age_days", "36500", "36500", NULL},
    {"retention", "runs_max_age_days", "36501", NULL, "from 0 to 36500"},
    {"retention", "runs_max_age_days", "-1", NULL, "whole number"},
    {"retention", "runs_max_age_days", "+5", NULL, "whole number"},
    {"retention", "runs_max_age_days", "5.0", NULL, "whole number"},
    {"retention", "runs_max_age_days", "1e3", NULL, "whole number"},
    {"retention", "runs_max_age_days", "abc", NULL, "whole number"},
    {"retention", "runs_max_age_days", "9999999999999999999999", NULL, "whole number"},
    {"retention", "runs_max_age_days", "", NULL, "enter a value"},
    {"retention", "runs_max_age_days", "   ", NULL, "enter a value"},
    {"retention", "runs_max_age_days", NULL, NULL, "enter a value"},
    {"retention", "login_attempts_max_age_days", "0", NULL, "from 1 to 3650"},
    {"retention", "reaper_batch_size", "9", NULL, "from 10 to 100000"},
    {"scheduler", "stuck_run_timeout_seconds", "59", NULL, "from 60 to 86400"},
    {"scheduler", "stuck_run_timeout_seconds", "60", "60", NULL},
    {"quality", "row_count_threshold_pct", "2.5", "2.5", NULL},
    {"quality", "row_count_threshold_pct", "100", "100", NULL},
    {"quality", "row_count_threshold_pct", ".5", "0.5", NULL},
    {"quality", "row_count_threshold_pct", "100.01", NULL, "number from 0 to 100"},
    {"quality", "row_count_threshold_pct", "-0.1", NULL, "number from 0 to 100"},
    {"quality", "row_count_threshold_pct", "nan", NULL, "number"},
    {"quality", "row_count_threshold_pct", "inf", NULL, "number"},
    {"features", "audit_log", NULL, "false", NULL},
    {"features", "audit_log", "1", "true", NULL},
    {"features", "audit_log", "on", "true", NULL},
    {"features", "audit_log", "off", "false", NULL},
    {"features", "audit_log", "0", "false", NULL},
    {"notifications", "telegram_base", "https://api.telegram.org", "\"https://api.telegram.org\"",
     NULL},
    {"notifications", "telegram_base", " http://proxy.local:8080/tg ",
     "\"http://proxy.local:8080/tg\"", NULL},
    {"notifications", "telegram_base", "ftp://x.example", NULL, "http:// or https://"},
    {"notifications", "telegram_base", "https://", NULL, "URL"},
    {"notifications", "telegram_base", "https:///path", NULL, "URL"},
    {"notifications", "telegram_base", "https://a b", NULL, "URL"},
    {"notifications", "telegram_base", "https://a\"<b>", NULL, "URL"},
};

START_TEST(test_check_text)
{
    const struct text_case *c = &text_cases[_i];
    const setcat_field *f = setcat_find(c->group, c->name);
    ck_assert_ptr_nonnull(f);
    const char *msg = NULL;
    json_t *v = setcat_check_text(A, f, c->text, &msg);
    if (c->want) {
        ck_assert_msg(v != NULL, "%s: %s refused: %s", c->name, c->text, msg);
        char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_str_eq(got, c->want);
        free(got);
        ck_assert_ptr_null(msg);
    } else {
        ck_assert_msg(v == NULL, "%s: '%s' accepted", c->name, c->text ? c->text : "(null)");
        ck_assert_ptr_nonnull(msg);
        ck_assert_msg(strstr(msg, c->msg) != NULL, "'%s' lacks '%s'", msg, c->msg);
    }
    json_decref(v);
}
END_TEST

/* --- JSON sent to the API ------------------------------------------------------------------- */

struct json_case {
    const char *group, *name, *json, *want; /* want NULL: refused */
};

static const struct json_case json_cases[] = {
    {"retention", "runs_max_per_pipeline", "5", "5"},
    {"retention", "runs_max_per_pipeline", "5.0", "5"},
    {"retention", "runs_max_per_pipeline", "5.5", NULL},
    {"retention", "runs_max_per_pipeline", "\"5\"", NULL},
    {"retention", "runs_max_per_pipeline", "true", NULL},
    {"retention", "runs_max_per_pipeline", "null", NULL},
    {"retention", "runs_max_per_pipeline", "-1", NULL},
    {"retention", "runs_max_per_pipeline", "1000001", NULL},
    {"retention", "runs_max_per_pipeline", "1e300", NULL},
    {"quality", "row_count_threshold_pct", "3", "3"},
    {"quality", "row_count_threshold_pct", "0.25", "0.25"},
    {"quality", "row_count_threshold_pct", "\"1\"", NULL},
    {"quality", "row_count_threshold_pct", "101", NULL},
    {"features", "pipeline_versions", "false", "false"},
    {"features", "pipeline_versions", "true", "true"},
    {"features", "pipeline_versions", "0", NULL},
    {"features", "pipeline_versions", "\"false\"", NULL},
    {"notifications", "telegram_base", "\"https://t.example\"", "\"https://t.example\""},
    {"notifications", "telegram_base", "5", NULL},
};

START_TEST(test_check_json)
{
    const struct json_case *c = &json_cases[_i];
    const setcat_field *f = setcat_find(c->group, c->name);
    json_t *in = json_loads(c->json, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(in);
    const char *msg = NULL;
    json_t *v = setcat_check_json(A, f, in, &msg);
    if (c->want) {
        ck_assert_msg(v != NULL, "%s %s refused: %s", c->name, c->json, msg);
        char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_str_eq(got, c->want);
        free(got);
    } else {
        ck_assert_msg(v == NULL, "%s %s accepted", c->name, c->json);
        ck_assert_ptr_nonnull(msg);
    }
    json_decref(v);
    json_decref(in);
}
END_TEST

START_TEST(test_values_and_defaults)
{
    json_t *o = json_loads("{\"runs_max_age_days\": 12, \"events_max_age_days\": -3,"
                           " \"audit_log_max_age_days\": \"7\"}",
                           0, NULL);
    ck_assert_int_eq(setcat_int(o, "retention", "runs_max_age_days"), 12);
    ck_assert_int_eq(setcat_int(o, "retention", "events_max_age_days"), 30);   /* out of range */
    ck_assert_int_eq(setcat_int(o, "retention", "audit_log_max_age_days"), 365); /* a string */
    ck_assert_int_eq(setcat_int(o, "retention", "reaper_batch_size"), 5000);  /* missing */
    ck_assert_int_eq(setcat_int(NULL, "retention", "runs_max_per_pipeline"), 100);
    json_t *v = setcat_value(setcat_find("retention", "runs_max_age_days"), o);
    ck_assert_int_eq(json_integer_value(v), 12);
    json_decref(v);
    v = setcat_value(setcat_find("retention", "events_max_age_days"), o);
    ck_assert_int_eq(json_integer_value(v), 30);
    json_decref(v);
    v = setcat_value(setcat_find("features", "audit_log"), NULL);
    ck_assert(json_is_true(v));
    json_decref(v);
    v = setcat_value(setcat_find("notifications", "telegram_base"), NULL);
    ck_assert_str_eq(json_string_value(v), "https://api.telegram.org");
    json_decref(v);
    v = setcat_value(setcat_find("quality", "row_count_threshold_pct"), NULL);
    ck_assert(json_is_integer(v) && json_integer_value(v) == 0);
    json_decref(v);
    json_decref(o);
}
END_TEST

START_TEST(test_group_rules)
{
    const char *field = NULL;
    json_t *o = json_loads("{\"retry_base_seconds\": 600, \"retry_max_seconds\": 60}", 0, NULL);
    const char *msg = setcat_check_group(A, "scheduler", o, &field);
    ck_assert_ptr_nonnull(msg);
    ck_assert_str_eq(field, "retry_max_seconds");
    json_object_set_new(o, "retry_max_seconds", json_integer(600));
    ck_assert_ptr_null(setcat_check_group(A, "scheduler", o, &field));
    /* defaults (30 s, 3600 s) hold */
    ck_assert_ptr_null(setcat_check_group(A, "scheduler", NULL, &field));
    ck_assert_ptr_null(setcat_check_group(A, "retention", o, &field));
    json_decref(o);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("setcat");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_catalog_consistent);
    tcase_add_loop_test(tc, test_check_text, 0, sizeof text_cases / sizeof text_cases[0]);
    tcase_add_loop_test(tc, test_check_json, 0, sizeof json_cases / sizeof json_cases[0]);
    tcase_add_test(tc, test_values_and_defaults);
    tcase_add_test(tc, test_group_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
