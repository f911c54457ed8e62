/* check_my_types.c - unit tests for app/sync/my_types.c: the MySQL ->
 * PostgreSQL type map, values as COPY text (zero dates, booleans, bytea,
 * bit strings, sets) and watermark values as MySQL expressions, all
 * table-driven; and, when SLUICE_TEST_DATABASE_URL is set, that every
 * mapped type name is exactly what format_type() prints (else the drift
 * check would see a retyped column on every run). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "sync/my_types.h"

static int g_must_fail;

/* ---- the type map ------------------------------------------------------------- */

static const struct {
    const char *mysql, *pg;
    enum myt_conv conv;
    enum ct_kind kind;
    int as_double;
} map_cases[] = {
    {"tinyint(1)", "boolean", MYT_BOOL, CT_BOOL, 0},
    {"tinyint(4)", "smallint", MYT_NUMBER, CT_NUMBER, 0},
    {"tinyint", "smallint", MYT_NUMBER, CT_NUMBER, 0},
    {"tinyint(3) unsigned", "smallint", MYT_NUMBER, CT_NUMBER, 0},
    {"smallint(6)", "smallint", MYT_NUMBER, CT_NUMBER, 0},
    {"smallint(5) unsigned", "integer", MYT_NUMBER, CT_NUMBER, 0},
    {"mediumint(9)", "integer", MYT_NUMBER, CT_NUMBER, 0},
    {"mediumint(8) unsigned", "integer", MYT_NUMBER, CT_NUMBER, 0},
    {"int(11)", "integer", MYT_NUMBER, CT_NUMBER, 0},
    {"int", "integer", MYT_NUMBER, CT_NUMBER, 0},
    {"int(10) unsigned", "bigint", MYT_NUMBER, CT_NUMBER, 0},
    {"int unsigned zerofill", "bigint", MYT_NUMBER, CT_NUMBER, 0},
    {"bigint(20)", "bigint", MYT_NUMBER, CT_NUMBER, 0},
    {"bigint(20) unsigned", "numeric(20,0)", MYT_NUMBER, CT_NUMBER, 0},
    {"decimal(12,2)", "numeric(12,2)", MYT_NUMBER, CT_NUMBER, 0},
    {"decimal(65,30) unsigned", "numeric(65,30)", MYT_NUMBER, CT_NUMBER, 0},
    {"decimal(10,0)", "numeric(10,0)", MYT_NUMBER, CT_NUMBER, 0},
    {"float", "real", MYT_NUMBER, CT_NUMBER, 1},
    {"float(7,3)", "real", MYT_NUMBER, CT_NUMBER, 1},
    {"double", "double precision", MYT_NUMBER, CT_NUMBER, 0},
    {"double(10,2)", "double precision", MYT_NUMBER, CT_NUMBER, 0},
    {"char(3)", "character varying(3)", MYT_TEXT, CT_TEXT, 0},
    {"varchar(255)", "character varying(255)", MYT_TEXT, CT_TEXT, 0},
    {"char(0)", "text", MYT_TEXT, CT_TEXT, 0},
    {"tinytext", "text", MYT_TEXT, CT_TEXT, 0},
    {"text", "text", MYT_TEXT, CT_TEXT, 0},
    {"mediumtext", "text", MYT_TEXT, CT_TEXT, 0},
    {"longtext", "text", MYT_TEXT, CT_TEXT, 0},
    {"binary(4)", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"varbinary(16)", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"tinyblob", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"blob", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"mediumblob", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"longblob", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"point", "bytea", MYT_BYTES, CT_TEXT, 0},
    {"date", "date", MYT_DATE, CT_TEXT, 0},
    {"datetime", "timestamp(0) without time zone", MYT_DATETIME, CT_TEXT, 0},
    {"datetime(3)", "timestamp(3) without time zone", MYT_DATETIME, CT_TEXT, 0},
    {"datetime(6)", "timestamp(6) without time zone", MYT_DATETIME, CT_TEXT, 0},
    {"timestamp", "timestamp(0) with time zone", MYT_TIMESTAMP, CT_TEXT, 0},
    {"timestamp(6)", "timestamp(6) with time zone", MYT_TIMESTAMP, CT_TEXT, 0},
    {"time", "interval", MYT_TEXT, CT_TEXT, 0},
    {"time(3)", "interval", MYT_TEXT, CT_TEXT, 0},
    {"year(4)", "smallint", MYT_NUMBER, CT_NUMBER, 0},
    {"year", "smallint", MYT_NUMBER, CT_NUMBER, 0},
    {"json", "jsonb", MYT_TEXT, CT_JSON, 0},
    {"enum('a','b,c')", "text", MYT_TEXT, CT_TEXT, 0},
    {"set('a','b')", "text[]", MYT_SET, CT_TEXT, 0},
    {"bit(1)", "bit varying(1)", MYT_BIT, CT_TEXT, 0},
    {"bit(64)", "bit varying(64)", MYT_BIT, CT_TEXT, 0},
    {"uuid", "uuid", MYT_TEXT, CT_TEXT, 0},
    {"inet4", "inet", MYT_TEXT, CT_TEXT, 0},
    {"inet6", "inet", MYT_TEXT, CT_TEXT, 0},
    {"vector(3)", "text", MYT_TEXT, CT_TEXT, 0},
    {"", "text", MYT_TEXT, CT_TEXT, 0},
};

START_TEST(test_map)
{
    arena *a = arena_new(0);
    myt_type t;
    myt_map(a, map_cases[_i].mysql, &t);
    ck_assert_msg(strcmp(t.pg_type, map_cases[_i].pg) == 0, "%s -> %s, not %s",
                  map_cases[_i].mysql, t.pg_type, map_cases[_i].pg);
    ck_assert_int_eq(t.conv, map_cases[_i].conv);
    ck_assert_int_eq(t.kind, map_cases[_i].kind);
    ck_assert_int_eq(t.as_double, map_cases[_i].as_double);
    arena_free(a);
}
END_TEST

START_TEST(test_map_bits)
{
    arena *a = arena_new(0);
    myt_type t;
    myt_map(a, "bit(10)", &t);
    ck_assert_int_eq(t.bits, 10);
    myt_map(a, "bit", &t);
    ck_assert_int_eq(t.bits, 1);
    ck_assert_str_eq(t.pg_type, "bit varying(1)");
    myt_map(a, NULL, &t);
    ck_assert_str_eq(t.pg_type, "text");
    arena_free(a);
}
END_TEST

/* ---- values ----------------------------------------------------------------------- */

static const struct {
    const char *type;
    const char *v;
    size_t n;       /* 0: strlen(v) */
    const char *copy;
    int changed;
} put_cases[] = {
    {"int(11)", "-2147483648", 0, "-2147483648", 0},
    {"bigint(20) unsigned", "18446744073709551615", 0, "18446744073709551615", 0},
    {"decimal(12,2)", "-0.50", 0, "-0.50", 0},
    {"tinyint(1)", "0", 0, "f", 0},
    {"tinyint(1)", "1", 0, "t", 0},
    {"tinyint(1)", "-5", 0, "t", 0},
    {"varchar(10)", "a\tb\nc\\d\re", 0, "a\\tb\\nc\\\\d\\re", 0},
    {"text", "\xf0\x9f\x98\x80 emoji", 0, "\xf0\x9f\x98\x80 emoji", 0},
    {"blob", "\x00\xff\x10\\", 4, "\\\\x00ff105c", 0},
    {"varbinary(4)", "", 0, "\\\\x", 0},
    {"date", "2024-02-29", 0, "2024-02-29", 0},
    {"date", "0000-00-00", 0, "\\N", 1},
    {"date", "2024-00-15", 0, "\\N", 1},
    {"date", "2024-05-00", 0, "\\N", 1},
    {"date", "0000-01-01", 0, "\\N", 1},
    {"date", "2023-02-29", 0, "\\N", 1},
    {"date", "9999-12-31", 0, "9999-12-31", 0},
    {"datetime(6)", "2024-01-01 12:00:00.000001", 0, "2024-01-01 12:00:00.000001", 0},
    {"datetime", "0000-00-00 00:00:00", 0, "\\N", 1},
    {"timestamp(3)", "2024-02-29 12:00:00.500", 0, "2024-02-29 12:00:00.500+00", 0},
    {"timestamp", "0000-00-00 00:00:00", 0, "\\N", 1},
    {"time", "-838:59:59", 0, "-838:59:59", 0},
    {"set('a','b','c d')", "a,c d", 0, "{a,\"c d\"}", 0},
    {"set('a')", "", 0, "{}", 0},
    {"set('x\"y','NULL','p\\\\q','{')", "x\"y,NULL,p\\q,{", 0,
     "{\"x\\\\\"y\",\"NULL\",\"p\\\\\\\\q\",\"{\"}", 0},
    {"bit(10)", "\x02\x01", 2, "1000000001", 0},
    {"bit(1)", "\x01", 1, "1", 0},
    {"bit(8)", "\x05", 1, "00000101", 0},
    {"bit(64)", "\x80\x00\x00\x00\x00\x00\x00\x01", 8,
     "1000000000000000000000000000000000000000000000000000000000000001", 0},
    {"json", "{\"a\": \"t\\tb\"}", 0, "{\"a\": \"t\\\\tb\"}", 0},
};

START_TEST(test_put)
{
    arena *a = arena_new(0);
    myt_type t;
    myt_map(a, put_cases[_i].type, &t);
    sbuf out, scratch;
    sb_init(&out, a, 1 << 20);
    sb_init(&scratch, a, 1 << 20);
    size_t n = put_cases[_i].n ? put_cases[_i].n : strlen(put_cases[_i].v);
    int changed = 0;
    ck_assert_int_eq(myt_put(&t, put_cases[_i].v, n, &out, &scratch, &changed), SL_OK);
    ck_assert_msg(strcmp(sb_str(&out), put_cases[_i].copy) == 0, "%s '%s' -> '%s', not '%s'",
                  put_cases[_i].type, put_cases[_i].v, sb_str(&out), put_cases[_i].copy);
    ck_assert_int_eq(changed, put_cases[_i].changed);
    arena_free(a);
}
END_TEST

START_TEST(test_put_cap)
{
    arena *a = arena_new(0);
    myt_type t;
    myt_map(a, "blob", &t);
    sbuf out, scratch;
    sb_init(&out, a, 8);
    sb_init(&scratch, a, 8);
    int changed = 0;
    ck_assert_int_eq(myt_put(&t, "abcdef", 6, &out, &scratch, &changed), SL_ETOOBIG);
    arena_free(a);
}
END_TEST

/* ---- watermark values back as MySQL expressions -------------------------------------- */

static const struct {
    const char *pg_type, *text, *sql; /* sql NULL: refused */
} lit_cases[] = {
    {"bigint", "25", "25"},
    {"integer", "-7", "-7"},
    {"numeric(20,0)", "18446744073709551615", "18446744073709551615"},
    {"bigint", "1e3", NULL},
    {"bigint", "1; DROP TABLE t", NULL},
    {"bigint", "", NULL},
    {"bigint", "-", NULL},
    {"date", "2024-01-05", "CAST('2024-01-05' AS DATE)"},
    {"date", "2024-01-05 10:00", "CAST('2024-01-05' AS DATE)"},
    {"date", "2024-02-30", NULL},
    {"timestamp(6) without time zone", "2024-01-01 11:00:00.000001",
     "CAST('2024-01-01 11:00:00.000001' AS DATETIME(6))"},
    {"timestamp(0) without time zone", "2024-01-01 05:00",
     "CAST('2024-01-01 05:00:00.000000' AS DATETIME(6))"},
    {"timestamp(0) without time zone", "2024-01-01T05:00:07.5",
     "CAST('2024-01-01 05:00:07.500000' AS DATETIME(6))"},
    {"timestamp(0) without time zone", "2024-01-01 05:00+02",
     "CAST('2024-01-01 05:00:00.000000' AS DATETIME(6))"},
    {"timestamp(3) with time zone", "2024-03-01 13:00:00.123+00",
     "CAST('2024-03-01 13:00:00.123000' AS DATETIME(6))"},
    {"timestamp(3) with time zone", "2024-03-01 13:00:00Z",
     "CAST('2024-03-01 13:00:00.000000' AS DATETIME(6))"},
    {"timestamp(6) with time zone", "2024-03-01 13:00:00+05:30",
     "CONVERT_TZ(CAST('2024-03-01 13:00:00.000000' AS DATETIME(6)), '+05:30', '+00:00')"},
    {"timestamp(6) with time zone", "2024-03-01 13:00:00-0330",
     "CONVERT_TZ(CAST('2024-03-01 13:00:00.000000' AS DATETIME(6)), '-03:30', '+00:00')"},
    {"timestamp(6) with time zone", "2024-03-01", "CAST('2024-03-01 00:00:00.000000' AS "
                                                  "DATETIME(6))"},
    {"timestamp(6) with time zone", "2024-03-01 13:00:00.1234567", NULL},
    {"timestamp(6) with time zone", "2024-03-01 25:00:00", NULL},
    {"timestamp(6) with time zone", "2024-03-01 13:00:00' OR 1=1 --", NULL},
    {"timestamp(6) with time zone", "yesterday", NULL},
    {"timestamp(6) with time zone", "0000-00-00 00:00:00", NULL},
};

START_TEST(test_literal)
{
    arena *a = arena_new(0);
    const char *got = myt_literal(a, lit_cases[_i].pg_type, lit_cases[_i].text);
    if (!lit_cases[_i].sql)
        ck_assert_msg(got == NULL, "'%s' gave %s", lit_cases[_i].text, got);
    else
        ck_assert_msg(got && strcmp(got, lit_cases[_i].sql) == 0, "'%s' gave %s",
                      lit_cases[_i].text, got ? got : "NULL");
    arena_free(a);
}
END_TEST

START_TEST(test_valid_date)
{
    ck_assert_int_eq(myt_valid_date("2000-02-29", 10), 1);
    ck_assert_int_eq(myt_valid_date("1900-02-29", 10), 0);
    ck_assert_int_eq(myt_valid_date("2024-04-31", 10), 0);
    ck_assert_int_eq(myt_valid_date("2024-13-01", 10), 0);
    ck_assert_int_eq(myt_valid_date("2024-01-0", 9), 0);
    ck_assert_int_eq(myt_valid_date("2024/01/01", 10), 0);
    ck_assert_int_eq(myt_valid_date("0001-01-01 00:00:00", 19), 1);
}
END_TEST

/* ---- the names are format_type()'s ------------------------------------------------------ */

START_TEST(test_format_type)
{
    const char *url = pgt_url("check_my_types", &g_must_fail);
    if (!url) {
        ck_assert_int_eq(g_must_fail, 0);
        return;
    }
    PGconn *c = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    arena *a = arena_new(0);
    for (size_t i = 0; i < sizeof map_cases / sizeof map_cases[0]; i++) {
        myt_type t;
        myt_map(a, map_cases[i].mysql, &t);
        /* the typmod lives on a column: make one */
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE TEMP TABLE ft (c %s)", t.pg_type);
        PGresult *r = PQexec(c, sql);
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", t.pg_type,
                      PQerrorMessage(c));
        PQclear(r);
        r = PQexec(c, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                      " WHERE attrelid = 'ft'::regclass AND attname = 'c'");
        ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
        ck_assert_msg(strcmp(PQgetvalue(r, 0, 0), t.pg_type) == 0, "%s: format_type says %s",
                      t.pg_type, PQgetvalue(r, 0, 0));
        PQclear(r);
        PQclear(PQexec(c, "DROP TABLE ft"));
    }
    arena_free(a);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("my_types");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_map, 0, (int)(sizeof map_cases / sizeof map_cases[0]));
    tcase_add_test(tc, test_map_bits);
    tcase_add_loop_test(tc, test_put, 0, (int)(sizeof put_cases / sizeof put_cases[0]));
    tcase_add_test(tc, test_put_cap);
    tcase_add_loop_test(tc, test_literal, 0, (int)(sizeof lit_cases / sizeof lit_cases[0]));
    tcase_add_test(tc, test_valid_date);
    suite_add_tcase(s, tc);
    TCase *pg = tcase_create("server");
    tcase_set_timeout(pg, 30);
    tcase_add_test(pg, test_format_type);
    suite_add_tcase(s, pg);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
