/* check_pipeline_model.c - unit tests for the parts of app/web/pipeline_model.c
 * and pipeline_check.c that need no database: canonical snapshots and
 * ETags, snapshot round trips, JSON input (types, nulls, unknown fields,
 * tables), lookback parsing and formatting, schedule previews. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "web/pipeline_model.h"

static arena *A;

static void setup(void)
{
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

static pl_table one_table = {"shop", "orders", NULL, "incremental", NULL, NULL, 7200, 1};

static void sample(pipeline *p)
{
    pl_defaults(p);
    p->name = "orders";
    p->description = "d\xc3\xa9j\xc3\xa0 \"vu\"";
    p->source_id = "11111111-1111-4111-8111-111111111111";
    p->destination_id = "22222222-2222-4222-8222-222222222222";
    p->schedule = "0 3 * * *";
    p->tables = &one_table;
    p->ntables = 1;
}

START_TEST(test_defaults)
{
    pipeline p;
    pl_defaults(&p);
    ck_assert_str_eq(p.status, "active");
    ck_assert_str_eq(p.timezone, "UTC");
    ck_assert_str_eq(p.load_mode, "direct");
    ck_assert_int_eq(p.max_retries, 3);
    ck_assert_int_eq(p.timeout_seconds, 3600);
    ck_assert_ptr_null(p.schedule);
    ck_assert_int_eq(p.ntables, 0);
}
END_TEST

START_TEST(test_canonical_and_etag)
{
    pipeline p;
    sample(&p);
    json_t *snap = pl_snapshot(&p);
    /* Sorted keys, compact, UTF-8 as is, every config field, no ids or times. */
    ck_assert_str_eq(pl_canonical(A, snap),
                     "{\"deleted\":false,\"depends_on\":null,\"description\":\"d\xc3\xa9j\xc3\xa0"
                     " \\\"vu\\\"\",\"destination_id\":\"22222222-2222-4222-8222-222222222222\","
                     "\"load_mode\":\"direct\",\"max_retries\":3,\"name\":\"orders\","
                     "\"schedule\":\"0 3 * * *\",\"source_id\":"
                     "\"11111111-1111-4111-8111-111111111111\",\"status\":\"active\","
                     "\"tables\":[{\"enabled\":true,\"load_mode\":null,\"lookback_seconds\":7200,"
                     "\"source_schema\":\"shop\",\"source_table\":\"orders\",\"sync_mode\":"
                     "\"incremental\",\"target_table\":null,\"watermark_column\":null}],"
                     "\"target_schema\":null,\"timeout_seconds\":3600,\"timezone\":\"UTC\"}");
    /* sha256 of that text, first 20 hex digits, after the version. */
    ck_assert_str_eq(pl_etag(A, 7, snap), "7-d966b5d8e227d2a11d85");
    ck_assert_str_eq(pl_etag(A, 8, snap), "8-d966b5d8e227d2a11d85");
    /* Any config change changes the hash; the version does not enter it. */
    p.max_retries = 4;
    json_t *other = pl_snapshot(&p);
    ck_assert_str_ne(pl_etag(A, 7, other), "7-d966b5d8e227d2a11d85");
    json_decref(other);
    json_decref(snap);
}
END_TEST

START_TEST(test_snapshot_round_trip)
{
    pipeline p, q;
    sample(&p);
    p.depends_on = "33333333-3333-4333-8333-333333333333";
    p.target_schema = "mart";
    p.status = "paused";
    json_t *snap = pl_snapshot(&p);
    /* Through text, as the database stores it. */
    json_t *loaded = json_loads(pl_canonical(A, snap), 0, NULL);
    pl_defaults(&q);
    q.id = "keep-me";
    ck_assert_int_eq(pl_from_snapshot(A, loaded, &q), SL_OK);
    ck_assert_str_eq(q.id, "keep-me");
    json_t *again = pl_snapshot(&q);
    ck_assert_str_eq(pl_canonical(A, again), pl_canonical(A, snap));
    ck_assert_int_eq(q.ntables, 1);
    ck_assert_int_eq(q.tables[0].lookback_seconds, 7200);
    ck_assert_ptr_null(q.tables[0].load_mode);
    json_decref(again);
    json_decref(loaded);
    json_decref(snap);

    json_t *bad = json_pack("{s:i}", "name", 1);
    ck_assert_int_eq(pl_from_snapshot(A, bad, &q), SL_EPARSE);
    json_decref(bad);
    bad = json_pack("{s:s}", "name", "x"); /* no tables */
    ck_assert_int_eq(pl_from_snapshot(A, bad, &q), SL_EPARSE);
    json_decref(bad);
}
END_TEST

START_TEST(test_api_json_hides_noise)
{
    pipeline p;
    sample(&p);
    p.id = "44444444-4444-4444-8444-444444444444";
    p.version = 3;
    p.etag = "3-abc";
    json_t *full = pl_api_json(&p, 1);
    ck_assert_ptr_null(json_object_get(full, "deleted"));
    ck_assert_int_eq(json_array_size(json_object_get(full, "tables")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(full, "etag")), "3-abc");
    json_decref(full);
    /* List rows have a count and no tables (and need no table array). */
    p.tables = NULL;
    p.ntables = 5;
    json_t *row = pl_api_json(&p, 0);
    ck_assert_ptr_null(json_object_get(row, "tables"));
    ck_assert_int_eq(json_integer_value(json_object_get(row, "table_count")), 5);
    json_decref(row);
}
END_TEST

static json_t *parse(const char *s)
{
    json_t *v = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(v);
    return v;
}

START_TEST(test_apply_json)
{
    pipeline p;
    sample(&p);
    json_t *errors = json_object();
    json_t *body = parse("{\"name\": \"  renamed  \", \"schedule\": null, \"target_schema\": \"\","
                         " \"description\": null, \"max_retries\": 7, \"id\": \"ignored\","
                         " \"etag\": \"x\", \"message\": \"note\"}");
    pl_apply_json(A, body, &p, errors);
    ck_assert_int_eq(json_object_size(errors), 0);
    ck_assert_str_eq(p.name, "renamed");
    ck_assert_ptr_null(p.schedule);
    ck_assert_ptr_null(p.target_schema);
    ck_assert_str_eq(p.description, "");
    ck_assert_int_eq(p.max_retries, 7);
    ck_assert_int_eq(p.ntables, 1); /* no "tables": kept */
    json_decref(body);

    body = parse("{\"colour\": 1, \"name\": null, \"max_retries\": \"3\", \"timeout_seconds\":"
                 " 1.5, \"tables\": {}, \"status\": 4}");
    pl_apply_json(A, body, &p, errors);
    ck_assert_str_eq(json_string_value(json_object_get(errors, "colour")), "unknown field");
    ck_assert_str_eq(json_string_value(json_object_get(errors, "name")), "must be a string");
    ck_assert_str_eq(json_string_value(json_object_get(errors, "max_retries")),
                     "must be an integer");
    ck_assert_ptr_nonnull(json_object_get(errors, "timeout_seconds"));
    ck_assert_ptr_nonnull(json_object_get(errors, "tables"));
    ck_assert_ptr_nonnull(json_object_get(errors, "status"));
    ck_assert_str_eq(p.name, "renamed"); /* wrong types change nothing */
    json_decref(body);
    json_decref(errors);
}
END_TEST

START_TEST(test_tables_from_json)
{
    json_t *errors = json_object();
    json_t *arr = parse("[{\"source_table\": \"a\"},"
                        " {\"source_schema\": \"s\", \"source_table\": \"b\", \"load_mode\":"
                        " \"inherit\", \"lookback_seconds\": \"2h\", \"enabled\": false,"
                        " \"watermark_column\": \"\", \"sync_mode\": \"full_refresh\"},"
                        " {\"source_table\": 3, \"lookback_seconds\": \"2w\", \"enabled\": 1,"
                        " \"extra\": true}, 7]");
    pl_table *t;
    int n;
    pl_tables_from_json(A, arr, &t, &n, errors);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(t[0].source_schema, "");
    ck_assert_str_eq(t[0].sync_mode, "incremental");
    ck_assert_int_eq(t[0].enabled, 1);
    ck_assert_str_eq(t[1].source_schema, "s");
    ck_assert_ptr_null(t[1].load_mode);
    ck_assert_ptr_null(t[1].watermark_column);
    ck_assert_int_eq(t[1].lookback_seconds, 7200);
    ck_assert_int_eq(t[1].enabled, 0);
    ck_assert_ptr_nonnull(json_object_get(errors, "tables[2].source_table"));
    ck_assert_ptr_nonnull(json_object_get(errors, "tables[2].lookback_seconds"));
    ck_assert_ptr_nonnull(json_object_get(errors, "tables[2].enabled"));
    ck_assert_str_eq(json_string_value(json_object_get(errors, "tables[2].extra")),
                     "unknown field");
    ck_assert_ptr_nonnull(json_object_get(errors, "tables[3].source_table"));
    ck_assert_ptr_null(json_object_get(errors, "tables[0].source_table"));
    ck_assert_ptr_null(json_object_get(errors, "tables[1].lookback_seconds"));
    json_decref(arr);
    json_decref(errors);

    errors = json_object();
    arr = json_array();
    for (int i = 0; i < PL_MAX_TABLES + 1; i++)
        json_array_append_new(arr, json_pack("{s:s}", "source_table", "x"));
    pl_tables_from_json(A, arr, &t, &n, errors);
    ck_assert_int_eq(n, PL_MAX_TABLES);
    ck_assert_str_eq(json_string_value(json_object_get(errors, "tables")),
                     "at most 500 tables per pipeline");
    json_decref(arr);
    json_decref(errors);
}
END_TEST

static const struct {
    const char *s;
    int ok;
    long long want;
} lookback_cases[] = {
    {"0", 1, 0},          {"90", 1, 90},        {"90s", 1, 90},      {"15m", 1, 900},
    {"2h", 1, 7200},      {"1d", 1, 86400},     {"365d", 1, 31536000}, {"366d", 0, 0},
    {"31536000", 1, 31536000}, {"31536001", 0, 0}, {"", 0, 0},       {"h", 0, 0},
    {"-1", 0, 0},         {"-1h", 0, 0},        {"1.5h", 0, 0},      {"2w", 0, 0},
    {" 2h", 0, 0},        {"2 h", 0, 0},        {"2H", 0, 0},        {"99999999999999d", 0, 0},
};

START_TEST(test_lookback)
{
    for (size_t i = 0; i < sizeof lookback_cases / sizeof lookback_cases[0]; i++) {
        long long v = -7;
        int ok = pl_parse_lookback(lookback_cases[i].s, &v);
        ck_assert_msg(ok == lookback_cases[i].ok, "'%s': ok %d", lookback_cases[i].s, ok);
        if (ok)
            ck_assert_msg(v == lookback_cases[i].want, "'%s': %lld", lookback_cases[i].s, v);
        else
            ck_assert_int_eq(v, -7);
    }
    ck_assert_int_eq(pl_parse_lookback(NULL, &(long long){0}), 0);
    ck_assert_str_eq(pl_format_lookback(A, 0), "0");
    ck_assert_str_eq(pl_format_lookback(A, 45), "45s");
    ck_assert_str_eq(pl_format_lookback(A, 900), "15m");
    ck_assert_str_eq(pl_format_lookback(A, 7200), "2h");
    ck_assert_str_eq(pl_format_lookback(A, 172800), "2d");
    ck_assert_str_eq(pl_format_lookback(A, 3660), "61m");
    /* format then parse is the identity */
    for (long long s = 0; s < 200000; s += 97) {
        long long back;
        ck_assert(pl_parse_lookback(pl_format_lookback(A, s), &back));
        ck_assert_int_eq(back, s);
    }
}
END_TEST

START_TEST(test_next_fires)
{
    time_t t[PL_FIRES];
    /* 2024-05-31 12:00:00 UTC */
    time_t now = 1717156800;
    ck_assert_int_eq(pl_next_fires("0 3 * * *", "UTC", now, t, PL_FIRES), 3);
    ck_assert_str_eq(pl_format_time(A, t[0], "UTC"), "2024-06-01 03:00 UTC");
    ck_assert_str_eq(pl_format_time(A, t[1], "UTC"), "2024-06-02 03:00 UTC");
    ck_assert_str_eq(pl_format_time(A, t[2], "UTC"), "2024-06-03 03:00 UTC");
    ck_assert_int_eq(pl_next_fires("0 3 * * *", "Europe/Berlin", now, t, 1), 1);
    ck_assert_str_eq(pl_format_time(A, t[0], "Europe/Berlin"), "2024-06-01 03:00 CEST");
    ck_assert_str_eq(pl_format_time(A, t[0], "UTC"), "2024-06-01 01:00 UTC");
    ck_assert_int_eq(pl_next_fires(NULL, "UTC", now, t, 3), 0);
    ck_assert_int_eq(pl_next_fires("61 * * * *", "UTC", now, t, 3), 0);
    /* the process's own zone is left as it was */
    setenv("TZ", "America/New_York", 1);
    pl_format_time(A, now, "Asia/Tokyo");
    ck_assert_str_eq(getenv("TZ"), "America/New_York");
    unsetenv("TZ");
    pl_format_time(A, now, "Asia/Tokyo");
    ck_assert_ptr_null(getenv("TZ"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pipeline_model");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_canonical_and_etag);
    tcase_add_test(tc, test_snapshot_round_trip);
    tcase_add_test(tc, test_api_json_hides_noise);
    tcase_add_test(tc, test_apply_json);
    tcase_add_test(tc, test_tables_from_json);
    tcase_add_test(tc, test_lookback);
    tcase_add_test(tc, test_next_fires);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
