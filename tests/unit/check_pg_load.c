/* check_pg_load.c - unit tests for app/sync/pg_load.c: chunks (rows, caps,
 * offsets), which errors count as a row's, and against a real PostgreSQL
 * (SLUICE_TEST_DATABASE_URL; skipped without it unless CI=true) the load of
 * a chunk: bad rows isolated by splitting, only them, with their errors,
 * sent at once or streamed; the last row of a repeated key winning; the
 * append mode's row hash. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "sync/pg_dest.h"
#include "sync/pg_load.h"

/* ---- chunks ---------------------------------------------------------------- */

START_TEST(test_chunk_rows)
{
    pgl_chunk c;
    pgl_chunk_init(&c, 3, 1000);
    ck_assert_int_eq(pgl_chunk_full(&c, 10), 0);
    ck_assert_int_eq(pgl_chunk_add(&c, "1\ta\n", 4, 7), SL_OK);
    ck_assert_int_eq(pgl_chunk_add(&c, "2\tb", 3, 8), SL_OK); /* a newline is added */
    ck_assert_int_eq(pgl_chunk_add(&c, "", 0, 9), SL_OK);
    ck_assert_int_eq(c.n, 3);
    ck_assert_str_eq(c.data.ptr, "1\ta\n2\tb\n\n");
    ck_assert_uint_eq(c.off[0], 0);
    ck_assert_uint_eq(c.off[1], 4);
    ck_assert_uint_eq(c.off[2], 8);
    ck_assert_uint_eq(c.off[3], 9);
    ck_assert_int_eq((int)c.tag[1], 8);
    ck_assert_int_eq(c.failed[2], 0);
    ck_assert_int_eq(pgl_chunk_full(&c, 1), 1); /* by rows */
    pgl_chunk_clear(&c);
    ck_assert_int_eq(c.n, 0);
    ck_assert_uint_eq(c.data.len, 0);
    ck_assert_int_eq(pgl_chunk_full(&c, 5000), 0); /* a big row alone is a chunk */
    pgl_chunk_free(&c);
}
END_TEST

START_TEST(test_chunk_bytes)
{
    pgl_chunk c;
    pgl_chunk_init(&c, 1000, 16);
    char row[64];
    memset(row, 'x', sizeof row);
    ck_assert_int_eq(pgl_chunk_add(&c, row, 10, 0), SL_OK);
    ck_assert_int_eq(pgl_chunk_full(&c, 5), 0);  /* 11 + 5 = 16 fits */
    ck_assert_int_eq(pgl_chunk_full(&c, 6), 1);  /* 17 would not */
    /* one row bigger than the cap is still taken, on its own */
    pgl_chunk_clear(&c);
    ck_assert_int_eq(pgl_chunk_add(&c, row, sizeof row, 0), SL_OK);
    ck_assert_uint_eq(c.data.len, sizeof row + 1);
    ck_assert_int_eq(pgl_chunk_full(&c, 1), 1);
    /* over 1 GiB is refused before anything is read */
    ck_assert_int_eq(pgl_chunk_add(&c, row, ((size_t)1 << 30) + 1, 0), SL_ETOOBIG);
    ck_assert_int_eq(c.n, 1);
    pgl_chunk_free(&c);
}
END_TEST

START_TEST(test_row_errors)
{
    static const struct {
        const char *state;
        int row;
    } cases[] = {
        {"22P02", 1}, /* invalid text representation */
        {"22001", 1}, /* string data right truncation */
        {"23502", 1}, /* not null violation */
        {"23514", 1}, /* check violation */
        {"23505", 1}, /* unique violation */
        {"54000", 1}, /* index row too big */
        {"P0001", 1}, /* raise exception */
        {"42P01", 0}, /* undefined table */
        {"42501", 0}, /* insufficient privilege */
        {"08006", 0}, /* connection failure */
        {"53100", 0}, /* disk full */
        {"25P02", 0}, /* in failed transaction */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(pgl_row_error(cases[i].state) == cases[i].row, "%s", cases[i].state);
}
END_TEST

/* ---- against PostgreSQL --------------------------------------------------------- */

static const char *g_url;
static int g_must_fail;
static char g_dbname[96], g_conninfo[1000];
static db *g_db;
static arena *g_a;
static pl_config g_cfg;
static pl_table g_pt;
static tsync g_t;
static ts_column g_cols[3];
static int g_pk[1];

static const char *q1(const char *sql)
{
    static char out[4096];
    PGconn *c = PQconnectdb(g_conninfo);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ck_abort_msg("%s: %s", sql, PQerrorMessage(c));
    snprintf(out, sizeof out, "%s", PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0)
                                                                            : "");
    PQclear(r);
    PQfinish(c);
    return out;
}

/* A table t (id integer primary key, v integer, note text) at the
 * destination, described as a sync would, with CHECK (v < 100) added. */
static void setup(void)
{
    g_url = pgt_url("pg_load", &g_must_fail);
    if (!g_url)
        return;
    ck_assert_int_eq(pgt_create_db(g_url, "pgload", g_dbname, sizeof g_dbname, g_conninfo,
                                   sizeof g_conninfo), 0);
    sl_errbuf eb = {0};
    g_db = db_open(g_conninfo, 5, &eb);
    ck_assert_msg(g_db != NULL, "%s", eb.msg);
    g_a = arena_new(0);
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.pipeline_id = "10000000-0000-4000-8000-000000000001";
    g_cfg.source_name = "Unit Source";
    g_cfg.raw_schema = "staging";
    g_cfg.target_schema = "analytics";
    g_pt = (pl_table){.source_schema = "", .schema = "public", .source_table = "t",
                      .target_table = "t"};
    g_cols[0] = (ts_column){"id", "integer", "integer", 1, 1, CT_NUMBER};
    g_cols[1] = (ts_column){"v", "integer", "integer", 0, 0, CT_NUMBER};
    g_cols[2] = (ts_column){"note", "text", "text", 0, 0, CT_TEXT};
    g_pk[0] = 0;
    memset(&g_t, 0, sizeof g_t);
    g_t.cfg = &g_cfg;
    g_t.pt = &g_pt;
    g_t.run_id = 42;
    snprintf(g_t.run_id_text, sizeof g_t.run_id_text, "42");
    g_t.ncols = 3;
    g_t.cols = g_cols;
    g_t.npk = 1;
    g_t.pk = g_pk;
    g_t.wm = -1;
    g_t.mode = TS_MERGE;
    pgd_names(g_a, &g_t);
    ck_assert_msg(pgd_ensure_meta(g_db, g_a, &g_cfg, &eb) == SL_OK, "%s", eb.msg);
    pgd_drift drift;
    ck_assert_msg(pgd_ensure_target(g_db, g_a, &g_t, 0, &drift, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(drift.created, 1);
    ck_assert_msg(db_exec(g_db, &eb, "ALTER TABLE analytics.t ADD CHECK (v < 100)", 0, NULL)
                      == SL_OK, "%s", eb.msg);
}

static void teardown(void)
{
    if (!g_url)
        return;
    db_close(g_db);
    arena_free(g_a);
    pgt_drop_db(g_url, g_dbname);
}

/* Rows id 1..n with v = id, except v = 500 for the ids in bad. */
static void fill(pgl_chunk *c, int n, const int *bad, int nbad)
{
    for (int id = 1; id <= n; id++) {
        int v = id;
        for (int k = 0; k < nbad; k++)
            if (bad[k] == id)
                v = 500;
        char row[64];
        int len = snprintf(row, sizeof row, "%d\t%d\tn%d\n", id, v, id);
        ck_assert_int_eq(pgl_chunk_add(c, row, (size_t)len, 0), SL_OK);
    }
}

static void load_chunk(int streamed, int n, const int *bad, int nbad)
{
    if (!g_url) {
        ck_assert_msg(!g_must_fail, "SLUICE_TEST_DATABASE_URL is required (CI=true)");
        return;
    }
    sl_errbuf eb = {0};
    pgl_loader l;
    ck_assert_msg(pgl_init(&l, g_db, g_a, &g_t, 0, 0, &eb) == SL_OK, "%s", eb.msg);
    pgl_chunk c;
    pgl_chunk_init(&c, 1000, 1 << 20);
    ck_assert_int_eq(db_begin(g_db, &eb), SL_OK);
    if (streamed) {
        ck_assert_msg(pgl_stream_begin(&l, &eb) == SL_OK, "%s", eb.msg);
        fill(&c, n, bad, nbad);
        for (int i = 0; i < c.n; i++)
            ck_assert_int_eq(pgl_stream_row(&l, c.data.ptr + c.off[i], c.off[i + 1] - c.off[i],
                                            &eb), SL_OK);
    } else {
        fill(&c, n, bad, nbad);
    }
    ck_assert_msg(pgl_load(&l, &c, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_msg(pgl_dead_letters(&l, &c, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_msg(db_commit(g_db, &eb) == SL_OK, "%s", eb.msg);
    for (int i = 0; i < c.n; i++) {
        int want = 0;
        for (int k = 0; k < nbad; k++)
            want |= bad[k] == i + 1;
        ck_assert_msg(c.failed[i] == want, "row %d failed=%d", i + 1, c.failed[i]);
        if (want)
            ck_assert_ptr_nonnull(strstr(c.error[i], "violates check constraint"));
    }
    ck_assert_int_eq((int)l.loaded, n - nbad);
    ck_assert_int_eq((int)l.failed, nbad);
    pgl_chunk_free(&c);
    pgl_done(&l);
}

START_TEST(test_bad_rows_isolated)
{
    static const int bad[] = {3, 10, 11, 19, 64};
    load_chunk(_i, 64, bad, 5);
    if (!g_url)
        return;
    ck_assert_str_eq(q1("SELECT count(*) FROM analytics.t"), "59");
    ck_assert_str_eq(q1("SELECT string_agg(row_data->>'id', ',' ORDER BY id)"
                        " FROM staging._dead_letters"), "3,10,11,19,64");
    ck_assert_str_eq(q1("SELECT DISTINCT run_id || ' ' || source_name || ' ' || table_name"
                        " FROM staging._dead_letters"), "42 Unit Source t");
    ck_assert_str_eq(q1("SELECT row_data::text FROM staging._dead_letters"
                        " WHERE row_data->>'id' = '10'"),
                     "{\"v\": \"500\", \"id\": \"10\", \"note\": \"n10\"}");
    ck_assert_str_eq(q1("SELECT count(*) FROM analytics.t WHERE v <> id OR note <> 'n' || id"
                        " OR _sluice_run_id <> 42"), "0");
}
END_TEST

START_TEST(test_every_row_bad)
{
    static const int bad[] = {1, 2, 3, 4, 5};
    load_chunk(0, 5, bad, 5);
    if (g_url)
        ck_assert_str_eq(q1("SELECT count(*) FROM analytics.t"), "0");
}
END_TEST

START_TEST(test_last_row_of_a_key_wins)
{
    if (!g_url)
        return;
    sl_errbuf eb = {0};
    pgl_loader l;
    ck_assert_int_eq(pgl_init(&l, g_db, g_a, &g_t, 0, 0, &eb), SL_OK);
    pgl_chunk c;
    pgl_chunk_init(&c, 1000, 1 << 20);
    const char *rows[] = {"1\t1\tfirst\n", "2\t2\tonly\n", "1\t1\tsecond\n", "1\t1\tthird\n"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pgl_chunk_add(&c, rows[i], strlen(rows[i]), 0), SL_OK);
    ck_assert_int_eq(db_begin(g_db, &eb), SL_OK);
    ck_assert_msg(pgl_load(&l, &c, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(db_commit(g_db, &eb), SL_OK);
    ck_assert_str_eq(q1("SELECT string_agg(id || '=' || note, ',' ORDER BY id)"
                        " FROM analytics.t"), "1=third,2=only");
    /* and an update of the same key in the next chunk */
    pgl_chunk_clear(&c);
    ck_assert_int_eq(pgl_chunk_add(&c, "2\t7\tnew\n", 8, 0), SL_OK);
    ck_assert_int_eq(db_begin(g_db, &eb), SL_OK);
    ck_assert_msg(pgl_load(&l, &c, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(db_commit(g_db, &eb), SL_OK);
    ck_assert_str_eq(q1("SELECT note || v FROM analytics.t WHERE id = 2"), "new7");
    pgl_chunk_free(&c);
    pgl_done(&l);
}
END_TEST

START_TEST(test_fatal_error_is_returned)
{
    if (!g_url)
        return;
    sl_errbuf eb = {0};
    pgl_loader l;
    ck_assert_int_eq(pgl_init(&l, g_db, g_a, &g_t, 0, 0, &eb), SL_OK);
    pgl_chunk c;
    pgl_chunk_init(&c, 1000, 1 << 20);
    ck_assert_int_eq(pgl_chunk_add(&c, "1\t1\tx\n", 6, 0), SL_OK);
    /* a table that is gone is not the rows' fault: no splitting, an error */
    ck_assert_int_eq(db_exec(g_db, &eb, "DROP TABLE analytics.t", 0, NULL), SL_OK);
    ck_assert_int_eq(db_begin(g_db, &eb), SL_OK);
    ck_assert_int_eq(pgl_load(&l, &c, &eb), SL_EDB);
    ck_assert_ptr_nonnull(strstr(eb.msg, "does not exist"));
    ck_assert_int_eq(c.failed[0], 0);
    db_rollback(g_db);
    pgl_chunk_free(&c);
    pgl_done(&l);
}
END_TEST

START_TEST(test_state_advances_only)
{
    if (!g_url)
        return;
    static ts_column cols[2] = {{"id", "integer", "integer", 1, 1, CT_NUMBER},
                                {"at", "timestamp with time zone", "timestamp with time zone",
                                 0, 0, CT_TEXT}};
    tsync t = g_t;
    t.cols = cols;
    t.ncols = 2;
    t.wm = 1;
    sl_errbuf eb = {0};
    char *wm = NULL;
    long long rows = 0;
    const char *steps[][3] = {
        /* write, exact?, expected checkpoint */
        {"2024-01-01 10:00:00+00", "0", "2024-01-01 10:00:00+00"},
        {"2024-01-01 09:00:00+00", "0", "2024-01-01 10:00:00+00"}, /* never back */
        {"2024-01-01 10:00:00.000001+00", "0", "2024-01-01 10:00:00.000001+00"},
        {NULL, "0", "2024-01-01 10:00:00.000001+00"},             /* no watermark: kept */
        {"2023-06-01 00:00:00+00", "2", "2023-06-01 00:00:00+00"}, /* backfill: set */
        {"2023-05-01 00:00:00+00", "1", "2023-05-01 00:00:00+00"}, /* full refresh */
    };
    static const long long want_rows[] = {10, 20, 30, 40, 50, 10};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        enum pgd_state_how how = steps[i][1][0] == '1'   ? PGD_STATE_RESET
                                 : steps[i][1][0] == '2' ? PGD_STATE_REWIND
                                                         : PGD_STATE_ADVANCE;
        ck_assert_int_eq(db_begin(g_db, &eb), SL_OK);
        ck_assert_msg(pgd_state_write(g_db, g_a, &t, steps[i][0], 10, how, &wm, &rows, &eb)
                          == SL_OK, "%s", eb.msg);
        ck_assert_int_eq(db_commit(g_db, &eb), SL_OK);
        ck_assert_str_eq(wm, steps[i][2]);
        ck_assert_int_eq((int)rows, (int)want_rows[i]); /* added up; a reset sets it */
    }
    char *found_wm = NULL;
    int found = 0;
    ck_assert_int_eq(pgd_checkpoint(g_db, g_a, &t, &found_wm, &found, &eb), SL_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(found_wm, "2023-05-01 00:00:00+00");
    /* another watermark column: the checkpoint does not apply */
    static ts_column other[2] = {{"id", "integer", "integer", 1, 1, CT_NUMBER},
                                 {"changed", "bigint", "bigint", 0, 0, CT_NUMBER}};
    t.cols = other;
    ck_assert_int_eq(pgd_checkpoint(g_db, g_a, &t, &found_wm, &found, &eb), SL_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_ptr_null(found_wm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pg_load");
    TCase *tc = tcase_create("chunks");
    tcase_add_test(tc, test_chunk_rows);
    tcase_add_test(tc, test_chunk_bytes);
    tcase_add_test(tc, test_row_errors);
    suite_add_tcase(s, tc);
    TCase *pg = tcase_create("postgresql");
    tcase_set_timeout(pg, 60);
    tcase_add_checked_fixture(pg, setup, teardown);
    tcase_add_loop_test(pg, test_bad_rows_isolated, 0, 2);
    tcase_add_test(pg, test_every_row_bad);
    tcase_add_test(pg, test_last_row_of_a_key_wins);
    tcase_add_test(pg, test_fatal_error_is_returned);
    tcase_add_test(pg, test_state_advances_only);
    suite_add_tcase(s, pg);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
