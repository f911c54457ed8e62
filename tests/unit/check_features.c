/* check_features.c - unit tests for app/web/features.c: which feature flag
 * governs a route pattern (table-driven, including routes that do not exist
 * yet, such as the landing zones', which must be covered the day they are
 * added), every row of the real routes table, and the messages a refused
 * route answers with. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "web/features.h"
#include "web/router.h"

struct flag_case {
    const char *pattern, *want; /* want NULL: no flag governs it */
};

static const struct flag_case cases[] = {
    /* landing zones: every route under /landing*, page or API, present or future */
    {"/landing", "landing_zones"},
    {"/landing-zones", "landing_zones"},
    {"/landing-zones/{id}", "landing_zones"},
    {"/landing-zones/{id}/files/{file}/delete", "landing_zones"},
    {"/landing/{zone}/upload", "landing_zones"},
    {"/api/v1/landing-zones", "landing_zones"},
    {"/api/v1/landing-zones/{id}/files", "landing_zones"},
    {"/api/v1/landing/{zone}", "landing_zones"},
    /* the audit log */
    {"/audit", "audit_log"},
    {"/api/v1/audit", "audit_log"},
    {"/auditors", NULL},
    /* triggers, wherever the segment sits, and the webhook receiver */
    {"/pipelines/{id}/triggers", "pipeline_triggers"},
    {"/pipelines/{id}/triggers/new", "pipeline_triggers"},
    {"/triggers/{id}/edit", "pipeline_triggers"},
    {"/api/v1/triggers/{id}/rotate-secret", "pipeline_triggers"},
    {"/api/v1/pipelines/{id}/triggers", "pipeline_triggers"},
    {"/api/v1/hooks/{id}", "pipeline_triggers"},
    /* versions: history, diff and rollback of pipelines */
    {"/pipelines/{id}/versions", "pipeline_versions"},
    {"/pipelines/{id}/versions/diff", "pipeline_versions"},
    {"/pipelines/{id}/versions/{n}/rollback", "pipeline_versions"},
    {"/api/v1/pipelines/{id}/versions/{n}", "pipeline_versions"},
    {"/api/v1/pipelines/{id}/rollback", "pipeline_versions"},
    {"/sources/{id}/versions", NULL}, /* only a pipeline's */
    /* quality pages, when they come */
    {"/runs/{id}/quality", "quality_checks"},
    {"/api/v1/quality", "quality_checks"},
    /* everything else */
    {"/", NULL},
    {"/pipelines", NULL},
    {"/pipelines/{id}", NULL},
    {"/pipelines/{id}/retention", NULL},
    {"/settings", NULL},
    {"/events", NULL},
    {"/api/v1/events", NULL},
    {"/api/v1/settings", NULL},
    {"/api/v1/runs/{id}/logs", NULL},
    {"/partitions", NULL},
    {"/api/v1", NULL},
    {"/api/v1/", NULL},
    {"", NULL},
    {"landing", NULL},
    {NULL, NULL},
};

START_TEST(test_route_flag)
{
    const struct flag_case *c = &cases[_i];
    const char *got = features_route_flag(c->pattern);
    if (c->want)
        ck_assert_msg(got && strcmp(got, c->want) == 0, "%s -> %s, want %s",
                      c->pattern ? c->pattern : "(null)", got ? got : "(none)", c->want);
    else
        ck_assert_msg(got == NULL, "%s -> %s, want none", c->pattern ? c->pattern : "(null)",
                      got);
}
END_TEST

/* Every row of the real table: exactly the routes the flags name. */
START_TEST(test_routes_table)
{
    size_t n;
    const struct route *t = routes_table(&n);
    int audit = 0, versions = 0, triggers = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = t[i].pattern;
        const char *f = features_route_flag(p);
        int is_audit = strcmp(p, "/audit") == 0 || strcmp(p, "/api/v1/audit") == 0;
        int is_versions = strstr(p, "/pipelines/{id}/versions") || strstr(p, "/rollback");
        int is_triggers = strstr(p, "triggers") || strncmp(p, "/api/v1/hooks/", 14) == 0;
        int is_landing = strncmp(p, "/landing", 8) == 0 || strncmp(p, "/api/v1/landing", 15) == 0;
        const char *want = is_audit      ? "audit_log"
                           : is_versions ? "pipeline_versions"
                           : is_triggers ? "pipeline_triggers"
                           : is_landing  ? "landing_zones"
                                         : NULL;
        if (want)
            ck_assert_msg(f && strcmp(f, want) == 0, "%s %s -> %s, want %s", t[i].method, p,
                          f ? f : "(none)", want);
        else
            ck_assert_msg(f == NULL || strcmp(f, "quality_checks") == 0, "%s %s -> %s",
                          t[i].method, p, f);
        audit += is_audit;
        versions += is_versions != 0;
        triggers += is_triggers != 0;
    }
    ck_assert_int_ge(audit, 2);
    ck_assert_int_ge(versions, 5);
    ck_assert_int_ge(triggers, 1);
}
END_TEST

START_TEST(test_messages)
{
    ck_assert_str_eq(features_off_message("landing_zones"), "landing zones are turned off");
    ck_assert_str_eq(features_off_message("audit_log"), "the audit log is turned off");
    ck_assert_str_eq(features_off_message("pipeline_triggers"), "triggers are turned off");
    ck_assert_str_eq(features_off_message("pipeline_versions"), "version history is turned off");
    ck_assert_str_eq(features_off_message("quality_checks"), "quality checks are turned off");
    ck_assert_ptr_null(features_off_message("nope"));
    ck_assert_ptr_null(features_off_message(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("features");
    TCase *tc = tcase_create("web");
    tcase_add_loop_test(tc, test_route_flag, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_routes_table);
    tcase_add_test(tc, test_messages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
