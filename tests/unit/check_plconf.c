/* check_plconf.c - unit tests for app/sync/plconf.c: source names as
 * identifier fragments (table-driven), and against a real PostgreSQL
 * (SLUICE_TEST_DATABASE_URL; skipped without it unless CI=true) loading a
 * pipeline: sealed passwords opened, schemas and load modes resolved,
 * disabled tables left out, the configured order kept, and the failures
 * (deleted pipeline, a MySQL source, a password sealed with another key). */
#include <check.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/migrate.h"
#include "keyring.h"
#include "pgtest.h"
#include "sync/plconf.h"

static const struct {
    const char *in, *out;
} idents[] = {
    {"Shop DB", "shop_db"},
    {"prod", "prod"},
    {"  Prod -- EU (main)  ", "prod_eu_main"},
    {"Ünïcode Café", "n_code_caf"},
    {"2024 orders", "2024_orders"},
    {"", "source"},
    {"!!!", "source"},
    {"a__b", "a_b"},
};

START_TEST(test_ident)
{
    arena *a = arena_new(0);
    ck_assert_str_eq(plconf_ident(a, idents[_i].in), idents[_i].out);
    arena_free(a);
}
END_TEST

static const char *g_url;
static int g_must_fail;
static char g_dbname[96], g_conninfo[1000], g_keyfile[256];
static db *g_db;

static void exec_sql(const char *sql)
{
    ck_assert_msg(pgt_run(g_conninfo, sql) == 0, "%s", sql);
}

static void setup(void)
{
    g_url = pgt_url("plconf", &g_must_fail);
    if (!g_url)
        return;
    ck_assert_int_eq(pgt_create_db(g_url, "plconf", g_dbname, sizeof g_dbname, g_conninfo,
                                   sizeof g_conninfo), 0);
    sl_errbuf eb = {0};
    g_db = db_open(g_conninfo, 5, &eb);
    ck_assert_msg(g_db != NULL, "%s", eb.msg);
    int applied = 0;
    ck_assert_msg(migrate_run(g_db, "sql", &applied, &eb) == SL_OK, "%s", eb.msg);
    snprintf(g_keyfile, sizeof g_keyfile, "/tmp/plconf-key-%d", (int)getpid());
    unsigned char key[CR_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    unlink(g_keyfile);
    int fd = open(g_keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(key, 1, sizeof key, f), sizeof key);
    fclose(f);
    sl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.secret_key_file, sizeof cfg.secret_key_file, "%s", g_keyfile);
    ck_assert_msg(keyring_load(&cfg, g_db, key, &eb) == SL_OK, "%s", eb.msg);
    arena *a = arena_new(0);
    char sql[4096];
    snprintf(sql, sizeof sql,
             "INSERT INTO sluice.sources (id, name, type, host, port, database, username,"
             " password_enc, ssl_mode) VALUES"
             " ('00000000-0000-4000-8000-000000000001', 'Shop DB', 'postgresql', 'src.example',"
             "  5433, 'shop', 'reader', '%s', 'require'),"
             " ('00000000-0000-4000-8000-000000000003', 'My', 'mysql', 'my.example', 3306,"
             "  'x', 'y', NULL, 'prefer')",
             keyring_seal(a, "s3cret src"));
    exec_sql(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO sluice.destinations (id, name, type, host, port, database, username,"
             " password_enc, raw_schema, target_schema) VALUES"
             " ('00000000-0000-4000-8000-000000000002', 'WH', 'postgresql', 'wh.example', 5432,"
             "  'wh', 'loader', '%s', 'landing', 'dw')", keyring_seal(a, "s3cret dst"));
    exec_sql(sql);
    arena_free(a);
    exec_sql("INSERT INTO sluice.pipelines (id, name, source_id, destination_id, load_mode,"
             " target_schema) VALUES"
             " ('10000000-0000-4000-8000-000000000001', 'p',"
             "  '00000000-0000-4000-8000-000000000001',"
             "  '00000000-0000-4000-8000-000000000002', 'raw', NULL),"
             " ('10000000-0000-4000-8000-000000000002', 'q',"
             "  '00000000-0000-4000-8000-000000000001',"
             "  '00000000-0000-4000-8000-000000000002', 'direct', 'marts'),"
             " ('10000000-0000-4000-8000-000000000003', 'm',"
             "  '00000000-0000-4000-8000-000000000003',"
             "  '00000000-0000-4000-8000-000000000002', 'direct', NULL)");
    exec_sql("INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table,"
             " target_table, sync_mode, load_mode, watermark_column, lookback_seconds, enabled,"
             " position) VALUES"
             " ('10000000-0000-4000-8000-000000000001', '', 'orders', NULL, 'incremental', NULL,"
             "  NULL, 0, true, 2),"
             " ('10000000-0000-4000-8000-000000000001', 'crm', 'people', 'crm_people',"
             "  'full_refresh', 'direct', 'changed', 600, true, 1),"
             " ('10000000-0000-4000-8000-000000000001', 'public', 'off', NULL, 'incremental',"
             "  NULL, NULL, 0, false, 0)");
}

static void teardown(void)
{
    if (!g_url)
        return;
    db_close(g_db);
    unlink(g_keyfile);
    pgt_drop_db(g_url, g_dbname);
}

START_TEST(test_load)
{
    if (!g_url) {
        ck_assert_msg(!g_must_fail, "SLUICE_TEST_DATABASE_URL is required (CI=true)");
        return;
    }
    arena *a = arena_new(0);
    pl_config c;
    sl_errbuf eb = {0};
    ck_assert_msg(plconf_load(g_db, a, "10000000-0000-4000-8000-000000000001", &c, &eb)
                      == SL_OK, "%s", eb.msg);
    ck_assert_str_eq(c.name, "p");
    ck_assert_str_eq(c.source_name, "Shop DB");
    ck_assert_str_eq(c.source.host, "src.example");
    ck_assert_int_eq(c.source.port, 5433);
    ck_assert_str_eq(c.source.database, "shop");
    ck_assert_str_eq(c.source.user, "reader");
    ck_assert_str_eq(c.source.ssl_mode, "require");
    ck_assert_str_eq(c.source.password, "s3cret src");
    ck_assert_str_eq(c.dest.password, "s3cret dst");
    ck_assert_str_eq(c.raw_schema, "landing");
    ck_assert_str_eq(c.target_schema, "dw"); /* the destination's */
    ck_assert_int_eq(c.ntables, 2);          /* the disabled one is left out */
    const pl_table *t = &c.tables[0];        /* position 1 first */
    ck_assert_str_eq(t->schema, "crm");
    ck_assert_str_eq(t->source_table, "people");
    ck_assert_str_eq(t->target_table, "crm_people");
    ck_assert_int_eq(t->full_refresh, 1);
    ck_assert_int_eq(t->raw, 0);             /* the table's own load mode */
    ck_assert_str_eq(t->watermark_column, "changed");
    ck_assert_int_eq((int)t->lookback_seconds, 600);
    t = &c.tables[1];
    ck_assert_str_eq(t->source_schema, "");
    ck_assert_str_eq(t->schema, "public");
    ck_assert_str_eq(t->target_table, "orders");
    ck_assert_int_eq(t->full_refresh, 0);
    ck_assert_int_eq(t->raw, 1);             /* the pipeline's */
    ck_assert_ptr_null(t->watermark_column);
    const char *pw = c.source.password;
    plconf_wipe(&c);
    ck_assert_ptr_null(c.source.password);
    ck_assert_int_eq(pw[0], 0); /* wiped in place */
    ck_assert_int_eq(plconf_load(g_db, a, "10000000-0000-4000-8000-000000000002", &c, &eb),
                     SL_OK);
    ck_assert_str_eq(c.target_schema, "marts"); /* the pipeline's */
    ck_assert_int_eq(c.ntables, 0);
    arena_free(a);
}
END_TEST

START_TEST(test_load_failures)
{
    if (!g_url)
        return;
    arena *a = arena_new(0);
    pl_config c;
    sl_errbuf eb = {0};
    /* MySQL / MariaDB may be sources; a table without a schema is in the database */
    exec_sql("INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table)"
             " VALUES ('10000000-0000-4000-8000-000000000003', '', 'items')");
    ck_assert_int_eq(plconf_load(g_db, a, "10000000-0000-4000-8000-000000000003", &c, &eb),
                     SL_OK);
    ck_assert_str_eq(c.source.type, "mysql");
    ck_assert_int_eq(c.ntables, 1);
    ck_assert_str_eq(c.tables[0].source_schema, "");
    ck_assert_str_eq(c.tables[0].schema, "x");
    plconf_wipe(&c);
    ck_assert_int_eq(plconf_load(g_db, a, "10000000-0000-4000-8000-000000000009", &c, &eb),
                     SL_ENOTFOUND);
    exec_sql("UPDATE sluice.pipelines SET deleted_at = now()"
             " WHERE id = '10000000-0000-4000-8000-000000000002'");
    ck_assert_int_eq(plconf_load(g_db, a, "10000000-0000-4000-8000-000000000002", &c, &eb),
                     SL_ENOTFOUND);
    /* a password sealed under another key */
    unsigned char other[CR_KEY_BYTES];
    randombytes_buf(other, sizeof other);
    char *sealed = cr_seal(a, other, "x");
    char sql[1024];
    snprintf(sql, sizeof sql, "UPDATE sluice.sources SET password_enc = '%s'"
             " WHERE id = '00000000-0000-4000-8000-000000000001'", sealed);
    exec_sql(sql);
    sl_err e = plconf_load(g_db, a, "10000000-0000-4000-8000-000000000001", &c, &eb);
    ck_assert_int_ne(e, SL_OK);
    ck_assert_ptr_nonnull(strstr(eb.msg, "cannot open the source password"));
    arena_free(a);
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("plconf");
    TCase *tc = tcase_create("ident");
    tcase_add_loop_test(tc, test_ident, 0, (int)(sizeof idents / sizeof idents[0]));
    suite_add_tcase(s, tc);
    TCase *pg = tcase_create("postgresql");
    tcase_set_timeout(pg, 60);
    tcase_add_checked_fixture(pg, setup, teardown);
    tcase_add_test(pg, test_load);
    tcase_add_test(pg, test_load_failures);
    suite_add_tcase(s, pg);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
