/* check_cronexpr.c - unit tests for app/core/cronexpr.c: parsing (good and
 * bad), next fire times across month ends, leap years, names, steps, macros,
 * DST changes in several zones, zone validation, and a brute-force model of
 * the DST semantics to compare cron_next() against. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cronexpr.h"

/* "2026-03-29T01:00Z" (seconds optional: "...T01:00:30Z") -> Unix seconds. */
static time_t utc(const char *iso)
{
    struct tm tm;
    int y, mo, d, h, mi, s = 0;
    memset(&tm, 0, sizeof tm);
    if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) < 5)
        ck_abort_msg("bad test time %s", iso);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return timegm(&tm);
}

static const char *iso(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%MZ", &tm);
    return buf;
}

static cron_expr must_parse(const char *s)
{
    cron_expr e;
    sl_errbuf eb = {0};
    if (cron_parse(s, &e, &eb) != SL_OK)
        ck_abort_msg("cron_parse(\"%s\") failed: %s", s, eb.msg);
    return e;
}

static void assert_same(const char *a, const char *b)
{
    cron_expr x = must_parse(a), y = must_parse(b);
    ck_assert_msg(x.minutes == y.minutes && x.hours == y.hours && x.mdays == y.mdays &&
                      x.months == y.months && x.wdays == y.wdays &&
                      x.mday_star == y.mday_star && x.wday_star == y.wday_star,
                  "\"%s\" and \"%s\" differ", a, b);
}

/* ---- parse: equivalent spellings ---------------------------------------- */

static const struct {
    const char *expr, *same_as;
} same_cases[] = {
    {"*/15 * * * *", "0,15,30,45 * * * *"},
    {"1-30/5 * * * *", "1,6,11,16,21,26 * * * *"},
    {"5/10 * * * *", "5,15,25,35,45,55 * * * *"},
    {"0-59 * * * *", "*/1 1-1,2-23,0 * * *"},
    {"0 */6 * * *", "0 0,6,12,18 * * *"},
    {"0 12/5 * * *", "0 12,17,22 * * *"},
    {"0,30 9-17/2 * * *", "0,30 9,11,13,15,17 * * *"},
    {"1,2,3-5,10-12 * * * *", "1-5,10,11,12 * * * *"},
    {"0 0 1-31/10 * *", "0 0 1,11,21,31 * *"},
    {"0 0 * JAN-MAR *", "0 0 * 1-3 *"},
    {"0 0 * jan,Jun,DEC *", "0 0 * 1,6,12 *"},
    {"0 0 * FEB-feb *", "0 0 * 2 *"},
    {"0 0 * */3 *", "0 0 * */3 *"},
    {"0 0 * JAN/4 *", "0 0 * 1,5,9 *"},
    {"0 0 * * MON-FRI", "0 0 * * 1-5"},
    {"0 0 * * mon-Fri", "0 0 * * 1,2,3,4,5"},
    {"0 0 * * sun", "0 0 * * 0"},
    {"0 0 * * 7", "0 0 * * 0"},
    {"0 0 * * SUN,7", "0 0 * * 0"},
    {"0 0 * * 5-7", "0 0 * * 0,5,6"},
    {"0 0 * * 0-7", "0 0 * * 0,1,2,3,4,5,6"},
    {"0 0 * * MON/2", "0 0 * * 1,3,5"},
    {"0 0 * * 7/2", "0 0 * * 0"},
    {"00 05 * * *", "0 5 * * *"},
    {"  0\t0  *  *  * ", "0 0 * * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
    {"@DAILY", "0 0 * * *"},
    {"  @hourly\t", "0 * * * *"},
};

START_TEST(test_parse_same)
{
    assert_same(same_cases[_i].expr, same_cases[_i].same_as);
}
END_TEST

START_TEST(test_parse_bits)
{
    cron_expr e = must_parse("* * * * *");
    ck_assert_uint_eq(e.minutes, (1ULL << 60) - 1);
    ck_assert_uint_eq(e.hours, 0xFFFFFFu);
    ck_assert_uint_eq(e.mdays, 0xFFFFFFFEu);
    ck_assert_uint_eq(e.months, 0x1FFEu);
    ck_assert_uint_eq(e.wdays, 0x7Fu);
    ck_assert_int_eq(e.mday_star, 1);
    ck_assert_int_eq(e.wday_star, 1);

    e = must_parse("59 23 31 12 6");
    ck_assert_uint_eq(e.minutes, 1ULL << 59);
    ck_assert_uint_eq(e.hours, 1u << 23);
    ck_assert_uint_eq(e.mdays, 1u << 31);
    ck_assert_uint_eq(e.months, 1u << 12);
    ck_assert_uint_eq(e.wdays, 1u << 6);
    ck_assert_int_eq(e.mday_star, 0);
    ck_assert_int_eq(e.wday_star, 0);

    /* As in Vixie cron, a field beginning with '*' counts as `*`. */
    e = must_parse("0 0 */2 * MON");
    ck_assert_uint_eq(e.mdays, 0xAAAAAAAAu);
    ck_assert_int_eq(e.mday_star, 1);
    ck_assert_int_eq(e.wday_star, 0);
    e = must_parse("0 0 1 * */2");
    ck_assert_uint_eq(e.wdays, 0x55u);
    ck_assert_int_eq(e.mday_star, 0);
    ck_assert_int_eq(e.wday_star, 1);
}
END_TEST

/* ---- parse: errors ------------------------------------------------------ */

static const struct {
    const char *expr, *want; /* want: a fragment of the message */
} bad_cases[] = {
    {"", "empty cron expression"},
    {"   \t ", "empty cron expression"},
    {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
    {"* * * * * *", "got 6"},
    {"*", "got 1"},
    {"60 * * * *", "minute: 60 is out of range 0-59"},
    {"* 24 * * *", "hour: 24 is out of range 0-23"},
    {"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
    {"* * 32 * *", "day-of-month: 32 is out of range 1-31"},
    {"* * * 13 *", "month: 13 is out of range 1-12"},
    {"* * * 0 *", "month: 0 is out of range 1-12"},
    {"* * * * 8", "day-of-week: 8 is out of range 0-7"},
    {"99999999999999999999 * * * *", "minute: 99999999999999999999 is out of range 0-59"},
    {"5-1 * * * *", "minute: range 5-1 is reversed"},
    {"* 23-0 * * *", "hour: range 23-0 is reversed"},
    {"* * * DEC-JAN *", "month: range DEC-JAN is reversed"},
    {"* * * * SAT-SUN", "day-of-week: range SAT-SUN is reversed (Sunday is 0 or 7"},
    {"*/0 * * * *", "minute: step 0 is out of range 1-59"},
    {"1-5/0 * * * *", "minute: step 0 is out of range"},
    {"*/60 * * * *", "minute: step 60 is out of range 1-59"},
    {"* */24 * * *", "hour: step 24 is out of range 1-23"},
    {"*/ * * * *", "minute: missing step after '/'"},
    {"*/x * * * *", "minute: step \"x\" is not a number"},
    {"*/5/2 * * * *", "minute: step \"5/2\" is not a number"},
    {"1,,2 * * * *", "minute: empty list item in \"1,,2\""},
    {",1 * * * *", "minute: empty list item in \",1\""},
    {"1, * * * *", "minute: empty list item in \"1,\""},
    {"-5 * * * *", "minute: missing value in \"-5\""},
    {"5- * * * *", "minute: missing value in \"5-\""},
    {"/5 * * * *", "minute: missing value in \"/5\""},
    {"5x * * * *", "minute: \"5x\" is not a number"},
    {"1-2-3 * * * *", "minute: \"2-3\" is not a number"},
    {"*-5 * * * *", "minute: \"*\" is not a number"},
    {"MON * * * *", "minute: \"MON\" is not a number"},
    {"* * * FOO *", "month: \"FOO\" is not a number or month name (JAN-DEC)"},
    {"* * * MON *", "month: \"MON\" is not a number or month name"},
    {"* * * JANUARY *", "month: \"JANUARY\" is not a number or month name"},
    {"* * * * JAN", "day-of-week: \"JAN\" is not a number or weekday name (SUN-SAT)"},
    {"* * * * FUNDAY", "day-of-week: \"FUNDAY\" is not a number or weekday name"},
    {"* * * * 1;2", "day-of-week: unexpected character ';' in \"1;2\""},
    {"* * * * *\n", "day-of-week: unexpected character '?' in \"*?\""},
    {"? * * * *", "minute: unexpected character '?'"},
    {"* * L * *", "day-of-month: \"L\" is not a number"},
    {"\xc3\xa9 * * * *", "minute: unexpected character '?'"},
    {"@reboot", "@reboot is not supported"},
    {"@REBOOT", "@reboot is not supported"},
    {"@fortnightly", "unknown macro \"@fortnightly\""},
    {"@", "unknown macro \"@\""},
    {"@daily 0", "a macro such as @daily stands alone"},
    {"0 @daily", "got 2"},
    {"@daily@hourly", "unknown macro \"@daily@hourly\""},
};

START_TEST(test_parse_bad)
{
    cron_expr e;
    sl_errbuf eb = {0};
    sl_err rc = cron_parse(bad_cases[_i].expr, &e, &eb);
    ck_assert_msg(rc == SL_EINVAL, "\"%s\" parsed (rc %d)", bad_cases[_i].expr, rc);
    ck_assert_msg(strstr(eb.msg, bad_cases[_i].want) != NULL, "\"%s\": got \"%s\", want \"%s\"",
                  bad_cases[_i].expr, eb.msg, bad_cases[_i].want);
}
END_TEST

START_TEST(test_parse_limits)
{
    cron_expr e;
    sl_errbuf eb = {0};
    char big[400];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "* * * * *", 9);
    ck_assert_int_eq(cron_parse(big, &e, &eb), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(eb.msg, "longer than 256"));
    ck_assert_int_eq(cron_parse(NULL, &e, &eb), SL_EINVAL);
    /* A long bad token is cut in the message. */
    memset(big, '7', 200);
    memcpy(big + 200, " * * * *", 9);
    ck_assert_int_eq(cron_parse(big, &e, &eb), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(eb.msg, "minute: 7777"));
    ck_assert_ptr_nonnull(strstr(eb.msg, "7777... is out of range 0-59"));
    ck_assert_uint_lt(strlen(eb.msg), 120);
}
END_TEST

/* ---- next fire time ----------------------------------------------------- */

static const struct {
    const char *tz, *expr, *after, *want; /* want NULL: SL_ENOTFOUND */
} next_cases[] = {
    /* UTC basics, seconds, steps */
    {"UTC", "* * * * *", "2026-01-01T00:00", "2026-01-01T00:01"},
    {"UTC", "* * * * *", "2026-01-01T00:00:30", "2026-01-01T00:01"},
    {"UTC", "* * * * *", "2026-01-01T00:00:59", "2026-01-01T00:01"},
    {"UTC", "*/15 * * * *", "2026-01-01T10:07", "2026-01-01T10:15"},
    {"UTC", "*/15 * * * *", "2026-01-01T10:45", "2026-01-01T11:00"},
    {"UTC", "1-30/5 * * * *", "2026-01-01T10:26", "2026-01-01T11:01"},
    {"UTC", "5/10 * * * *", "2026-01-01T10:55", "2026-01-01T11:05"},
    {"UTC", "0 */6 * * *", "2026-01-01T13:00", "2026-01-01T18:00"},
    {"UTC", "30 23 * * *", "2026-01-01T23:30", "2026-01-02T23:30"},
    /* month and year ends */
    {"UTC", "0 0 1 * *", "2026-01-31T12:00", "2026-02-01T00:00"},
    {"UTC", "0 0 31 * *", "2026-01-31T00:00", "2026-03-31T00:00"},
    {"UTC", "0 0 31 * *", "2026-04-01T00:00", "2026-05-31T00:00"},
    {"UTC", "0 12 30 * *", "2026-01-30T12:00", "2026-03-30T12:00"},
    {"UTC", "59 23 31 12 *", "2026-12-31T23:59", "2027-12-31T23:59"},
    {"UTC", "0 0 1 1 *", "2026-12-31T23:59:59", "2027-01-01T00:00"},
    /* leap years */
    {"UTC", "0 0 29 2 *", "2026-01-01T00:00", "2028-02-29T00:00"},
    {"UTC", "0 0 29 2 *", "2028-02-29T00:00", "2032-02-29T00:00"},
    {"UTC", "0 0 29 2 *", "2099-03-01T00:00", "2104-02-29T00:00"}, /* 2100 is not leap */
    {"UTC", "0 0 29 2 *", "2096-03-01T00:00", NULL},                /* 2104: > 5 years */
    {"UTC", "0 0 30 2 *", "2026-01-01T00:00", NULL},
    {"UTC", "0 0 31 4,6,9,11 *", "2026-01-01T00:00", NULL},
    /* day-of-month OR day-of-week when both are restricted */
    {"UTC", "0 12 13 * FRI", "2026-02-01T00:00", "2026-02-06T12:00"},
    {"UTC", "0 12 13 * FRI", "2026-02-06T12:00", "2026-02-13T12:00"},
    {"UTC", "0 12 13 * FRI", "2026-02-13T12:00", "2026-02-20T12:00"},
    {"UTC", "0 0 1 * MON", "2026-03-01T00:00", "2026-03-02T00:00"},
    {"UTC", "0 0 1 * MON", "2026-03-30T00:00", "2026-04-01T00:00"},
    /* ... AND when one of them begins with '*' */
    {"UTC", "0 0 */2 * MON", "2026-03-01T00:00", "2026-03-09T00:00"},
    {"UTC", "0 0 13 * *", "2026-03-01T00:00", "2026-03-13T00:00"},
    {"UTC", "0 0 * * MON", "2026-03-03T00:00", "2026-03-09T00:00"},
    {"UTC", "0 0 13 * */7", "2026-03-01T00:00", "2026-09-13T00:00"}, /* a Sunday the 13th */
    /* names */
    {"UTC", "0 9 * JAN-MAR MON-FRI", "2026-03-31T09:00", "2027-01-01T09:00"},
    {"UTC", "0 0 * * sun", "2026-03-02T00:00", "2026-03-08T00:00"},
    {"UTC", "0 0 * * 7", "2026-03-02T00:00", "2026-03-08T00:00"},
    {"UTC", "0 0 * * 5-7", "2026-03-02T00:00", "2026-03-06T00:00"},
    {"UTC", "0 0 1 oct *", "2026-03-02T00:00", "2026-10-01T00:00"},
    /* macros */
    {"UTC", "@yearly", "2026-05-05T00:00", "2027-01-01T00:00"},
    {"UTC", "@annually", "2026-01-01T00:00", "2027-01-01T00:00"},
    {"UTC", "@monthly", "2026-05-05T00:00", "2026-06-01T00:00"},
    {"UTC", "@weekly", "2026-03-04T00:00", "2026-03-08T00:00"},
    {"UTC", "@daily", "2026-03-04T00:00", "2026-03-05T00:00"},
    {"UTC", "@midnight", "2026-03-04T23:59", "2026-03-05T00:00"},
    {"UTC", "@hourly", "2026-03-04T10:00", "2026-03-04T11:00"},
    /* Europe/Berlin, no DST change */
    {"Europe/Berlin", "0 0 * * *", "2026-06-01T00:00", "2026-06-01T22:00"},
    {"Europe/Berlin", "0 0 * * *", "2026-01-01T00:00", "2026-01-01T23:00"},
    /* Berlin spring forward 2026-03-29: 02:00-02:59 does not exist */
    {"Europe/Berlin", "30 2 * * *", "2026-03-28T02:00", "2026-03-29T01:00"},
    {"Europe/Berlin", "30 2 * * *", "2026-03-29T01:00", "2026-03-30T00:30"},
    {"Europe/Berlin", "*/15 * * * *", "2026-03-29T00:45", "2026-03-29T01:00"},
    {"Europe/Berlin", "*/15 * * * *", "2026-03-29T01:00", "2026-03-29T01:15"},
    {"Europe/Berlin", "0 * * * *", "2026-03-29T00:00", "2026-03-29T01:00"},
    {"Europe/Berlin", "0 * * * *", "2026-03-29T01:00", "2026-03-29T02:00"},
    {"Europe/Berlin", "0 3 * * *", "2026-03-29T00:00", "2026-03-29T01:00"},
    {"Europe/Berlin", "0 2,3 * * *", "2026-03-29T00:00", "2026-03-29T01:00"},
    {"Europe/Berlin", "0 2,3 * * *", "2026-03-29T01:00", "2026-03-30T00:00"},
    /* Berlin fall back 2026-10-25: 02:00-02:59 happens twice */
    {"Europe/Berlin", "30 2 * * *", "2026-10-24T12:00", "2026-10-25T00:30"},
    {"Europe/Berlin", "30 2 * * *", "2026-10-25T00:30", "2026-10-26T01:30"},
    {"Europe/Berlin", "30 2 * * *", "2026-10-25T01:10", "2026-10-26T01:30"},
    {"Europe/Berlin", "0 * * * *", "2026-10-24T23:00", "2026-10-25T00:00"},
    {"Europe/Berlin", "0 * * * *", "2026-10-25T00:00", "2026-10-25T02:00"},
    {"Europe/Berlin", "0 * * * *", "2026-10-25T01:00", "2026-10-25T02:00"},
    {"Europe/Berlin", "0 3 * * *", "2026-10-25T00:00", "2026-10-25T02:00"},
    /* America/New_York: spring forward 2026-03-08 02:00 EST, back 2026-11-01 02:00 EDT */
    {"America/New_York", "30 2 * * *", "2026-03-07T12:00", "2026-03-08T07:00"},
    {"America/New_York", "30 2 * * *", "2026-03-08T07:00", "2026-03-09T06:30"},
    {"America/New_York", "0 9 * * MON-FRI", "2026-03-06T14:00", "2026-03-09T13:00"},
    {"America/New_York", "30 1 * * *", "2026-10-31T12:00", "2026-11-01T05:30"},
    {"America/New_York", "30 1 * * *", "2026-11-01T05:30", "2026-11-02T06:30"},
    {"America/New_York", "0 0 * * *", "2026-11-01T03:00", "2026-11-01T04:00"},
    {"America/New_York", "0 0 * * *", "2026-11-01T04:00", "2026-11-02T05:00"},
    /* Asia/Kolkata: +05:30, no DST */
    {"Asia/Kolkata", "0 9 * * *", "2026-01-01T00:00", "2026-01-01T03:30"},
    {"Asia/Kolkata", "0 9 * * *", "2026-01-01T03:30", "2026-01-02T03:30"},
    {"Asia/Kolkata", "*/45 * * * *", "2026-01-01T00:00", "2026-01-01T00:15"},
    {"Asia/Kolkata", "0 0 1 * *", "2026-01-31T12:00", "2026-01-31T18:30"},
    /* Australia/Lord_Howe: a DST change of 30 minutes (gap 02:00-02:29 on
     * 2026-10-04, repeated 01:30-01:59 on 2026-04-05) */
    {"Australia/Lord_Howe", "15 2 * * *", "2026-10-03T00:00", "2026-10-03T15:30"},
    {"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T00:00", "2026-04-04T14:45"},
    {"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T14:45", "2026-04-05T15:15"},
    /* before 1970 and far ahead */
    {"UTC", "0 0 1 1 *", "1969-06-01T00:00", "1970-01-01T00:00"},
    {"UTC", "0 0 * * *", "9999-12-30T12:00", "9999-12-31T00:00"},
};

START_TEST(test_next)
{
    char got[32];
    cron_expr e;
    time_t next = 0;
    sl_errbuf eb = {0};
    e = must_parse(next_cases[_i].expr);
    sl_err rc = cron_next(&e, next_cases[_i].tz, utc(next_cases[_i].after), &next, &eb);
    if (!next_cases[_i].want) {
        ck_assert_msg(rc == SL_ENOTFOUND, "%s \"%s\" after %s: rc %d, next %s", next_cases[_i].tz,
                      next_cases[_i].expr, next_cases[_i].after, rc, iso(next, got, sizeof got));
        ck_assert_ptr_nonnull(strstr(eb.msg, "five years"));
        return;
    }
    ck_assert_msg(rc == SL_OK, "%s \"%s\" after %s: rc %d (%s)", next_cases[_i].tz,
                  next_cases[_i].expr, next_cases[_i].after, rc, eb.msg);
    ck_assert_msg(next == utc(next_cases[_i].want), "%s \"%s\" after %s: got %s, want %s",
                  next_cases[_i].tz, next_cases[_i].expr, next_cases[_i].after,
                  iso(next, got, sizeof got), next_cases[_i].want);
}
END_TEST

/* ---- sequences across DST changes --------------------------------------- */

static const struct {
    const char *tz, *expr, *after;
    const char *want[8]; /* NULL-terminated */
} seq_cases[] = {
    /* Berlin spring: one fire at 03:00 CEST, no burst for the skipped hour. */
    {"Europe/Berlin", "*/15 * * * *", "2026-03-29T00:20",
     {"2026-03-29T00:30", "2026-03-29T00:45", "2026-03-29T01:00", "2026-03-29T01:15",
      "2026-03-29T01:30", NULL}},
    {"Europe/Berlin", "0 * * * *", "2026-03-28T23:30",
     {"2026-03-29T00:00", "2026-03-29T01:00", "2026-03-29T02:00", NULL}},
    {"Europe/Berlin", "30 2 * * *", "2026-03-27T12:00",
     {"2026-03-28T01:30", "2026-03-29T01:00", "2026-03-30T00:30", NULL}},
    /* Berlin fall: the repeated hour (02:00-02:59 CET) fires nothing. */
    {"Europe/Berlin", "0 * * * *", "2026-10-24T22:30",
     {"2026-10-24T23:00", "2026-10-25T00:00", "2026-10-25T02:00", "2026-10-25T03:00", NULL}},
    {"Europe/Berlin", "*/30 * * * *", "2026-10-24T23:45",
     {"2026-10-25T00:00", "2026-10-25T00:30", "2026-10-25T02:00", "2026-10-25T02:30", NULL}},
    {"Europe/Berlin", "30 2 * * *", "2026-10-24T12:00",
     {"2026-10-25T00:30", "2026-10-26T01:30", NULL}},
    /* New York */
    {"America/New_York", "0 * * * *", "2026-03-08T05:30",
     {"2026-03-08T06:00", "2026-03-08T07:00", "2026-03-08T08:00", NULL}},
    {"America/New_York", "0 * * * *", "2026-11-01T03:30",
     {"2026-11-01T04:00", "2026-11-01T05:00", "2026-11-01T07:00", NULL}},
};

START_TEST(test_next_seq)
{
    time_t out[8];
    int got = 0, n = 0;
    char b[32];
    sl_errbuf eb = {0};
    cron_expr e = must_parse(seq_cases[_i].expr);
    while (seq_cases[_i].want[n])
        n++;
    ck_assert_int_eq(cron_next_n(&e, seq_cases[_i].tz, utc(seq_cases[_i].after), out, n, &got,
                                 &eb),
                     SL_OK);
    ck_assert_int_eq(got, n);
    for (int k = 0; k < n; k++)
        ck_assert_msg(out[k] == utc(seq_cases[_i].want[k]), "%s \"%s\" #%d: got %s, want %s",
                      seq_cases[_i].tz, seq_cases[_i].expr, k, iso(out[k], b, sizeof b),
                      seq_cases[_i].want[k]);
}
END_TEST

/* ---- a brute-force model ------------------------------------------------ *
 * Walk instants minute by minute; a job fires at the first instant at which
 * the wall clock reaches or passes one of its wall minutes. Compare every
 * fire in a window around each DST change with cron_next() chained. */

static int model_match(const cron_expr *e, const struct tm *tm)
{
    if (!((e->minutes >> tm->tm_min) & 1) || !((e->hours >> tm->tm_hour) & 1) ||
        !((e->months >> (tm->tm_mon + 1)) & 1))
        return 0;
    int dom = (e->mdays >> tm->tm_mday) & 1, dow = (e->wdays >> tm->tm_wday) & 1;
    return (e->mday_star || e->wday_star) ? dom && dow : dom || dow;
}

static void set_tz(const char *tz)
{
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
}

/* Fires of e in zone tz in (from, to], into out (cap); returns the count. */
static int model_fires(const cron_expr *e, const char *tz, time_t from, time_t to, time_t *out,
                       int cap)
{
    int n = 0;
    set_tz(tz);
    /* Start a day early so "the highest wall minute seen" is right at `from`. */
    time_t t = from - 86400 - from % 60;
    struct tm tm;
    localtime_r(&t, &tm);
    time_t maxwall = timegm(&tm); /* local wall time as if UTC */
    for (t += 60; t <= to; t += 60) {
        localtime_r(&t, &tm);
        time_t wall = timegm(&tm);
        int fire = 0;
        for (time_t w = maxwall + 60; w <= wall; w += 60) {
            struct tm wt;
            gmtime_r(&w, &wt);
            fire |= model_match(e, &wt);
        }
        if (wall > maxwall)
            maxwall = wall;
        if (fire && t > from) {
            ck_assert_int_lt(n, cap);
            out[n++] = t;
        }
    }
    set_tz(NULL);
    return n;
}

static const char *const model_exprs[] = {
    "* * * * *",     "*/15 * * * *",  "0 * * * *",    "30 2 * * *",   "0 2 * * *",
    "59 1 * * *",    "0 3 * * *",     "45 1,2 * * *", "*/7 1-3 * * *", "0,30 * * * SUN",
    "15 2 29 3 *",   "0 0 * * *",     "30 1 * * *",   "5 0-4 25,1 * *", "*/20 2 * * *",
};

static const struct {
    const char *tz, *around;
} model_windows[] = {
    {"Europe/Berlin", "2026-03-29T01:00"},  {"Europe/Berlin", "2026-10-25T01:00"},
    {"America/New_York", "2026-03-08T07:00"}, {"America/New_York", "2026-11-01T06:00"},
    {"Australia/Lord_Howe", "2026-10-03T15:30"}, {"Australia/Lord_Howe", "2026-04-04T15:00"},
    {"Asia/Kolkata", "2026-03-29T01:00"},   {"UTC", "2028-02-29T00:00"},
};

START_TEST(test_model)
{
    enum { CAP = 4000 };
    static time_t want[CAP];
    char b1[32], b2[32], b3[32];
    const char *tz = model_windows[_i].tz;
    time_t from = utc(model_windows[_i].around) - 6 * 3600 + 17;
    time_t to = from + 12 * 3600;
    for (size_t x = 0; x < sizeof model_exprs / sizeof model_exprs[0]; x++) {
        cron_expr e = must_parse(model_exprs[x]);
        int n = model_fires(&e, tz, from, to, want, CAP);
        time_t at = from, next;
        sl_errbuf eb = {0};
        for (int k = 0; k < n; k++) {
            ck_assert_int_eq(cron_next(&e, tz, at, &next, &eb), SL_OK);
            ck_assert_msg(next == want[k], "%s \"%s\" after %s: got %s, model %s", tz,
                          model_exprs[x], iso(at, b1, sizeof b1), iso(next, b2, sizeof b2),
                          iso(want[k], b3, sizeof b3));
            at = next;
        }
        /* Nothing else in the window. */
        if (cron_next(&e, tz, at, &next, &eb) == SL_OK)
            ck_assert_msg(next > to, "%s \"%s\": extra fire %s", tz, model_exprs[x],
                          iso(next, b1, sizeof b1));
    }
}
END_TEST

/* ---- errors, speed, zones ------------------------------------------------ */

START_TEST(test_next_errors)
{
    cron_expr e = must_parse("0 0 * * *"), zero;
    time_t next = 0;
    sl_errbuf eb = {0};
    ck_assert_int_eq(cron_next(&e, "Mars/Olympus_Mons", 0, &next, &eb), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(eb.msg, "unknown time zone \"Mars/Olympus_Mons\""));
    ck_assert_int_eq(cron_next(&e, "../etc/passwd", 0, &next, &eb), SL_EINVAL);
    ck_assert_int_eq(cron_next(&e, NULL, 0, &next, &eb), SL_EINVAL);
    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(cron_next(&zero, "UTC", 0, &next, &eb), SL_EINVAL);
    ck_assert_int_eq(cron_next(NULL, "UTC", 0, &next, &eb), SL_EINVAL);
    ck_assert_int_eq(cron_next(&e, "UTC", (time_t)300000000000LL, &next, &eb), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(eb.msg, "out of range"));
}
END_TEST

START_TEST(test_notfound_fast)
{
    /* Check's default timeout (4 s) fails this if the search crawls. */
    static const char *const never[] = {"0 0 30 2 *", "* * 31 2,4,6,9,11 *", "59 23 31 11 *"};
    for (int rep = 0; rep < 100; rep++)
        for (size_t k = 0; k < sizeof never / sizeof never[0]; k++) {
            cron_expr e = must_parse(never[k]);
            time_t next;
            ck_assert_int_eq(cron_next(&e, "Europe/Berlin", utc("2026-01-01T00:00"), &next,
                                       NULL),
                             SL_ENOTFOUND);
        }
    /* A minute-resolution expression over a year of days is quick too. */
    cron_expr e = must_parse("59 23 31 12 *");
    time_t next;
    for (int rep = 0; rep < 100; rep++)
        ck_assert_int_eq(cron_next(&e, "America/New_York", utc("2026-01-01T05:00"), &next,
                                   NULL),
                         SL_OK);
    ck_assert_int_eq(next, utc("2027-01-01T04:59"));
}
END_TEST

START_TEST(test_next_n)
{
    time_t out[5];
    int got = -1;
    sl_errbuf eb = {0};
    cron_expr e = must_parse("0 0 29 2 *");
    ck_assert_int_eq(cron_next_n(&e, "UTC", utc("2026-01-01T00:00"), out, 5, &got, &eb), SL_OK);
    ck_assert_int_eq(got, 5);
    ck_assert_int_eq(out[0], utc("2028-02-29T00:00"));
    ck_assert_int_eq(out[1], utc("2032-02-29T00:00"));
    ck_assert_int_eq(out[4], utc("2044-02-29T00:00"));
    /* Each fire is searched for within five years of the one before. */
    ck_assert_int_eq(cron_next_n(&e, "UTC", utc("2092-03-01T00:00"), out, 5, &got, &eb), SL_OK);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(out[0], utc("2096-02-29T00:00"));
    e = must_parse("0 0 30 2 *");
    ck_assert_int_eq(cron_next_n(&e, "UTC", 0, out, 5, &got, &eb), SL_ENOTFOUND);
    ck_assert_int_eq(got, 0);
    ck_assert_int_eq(cron_next_n(&e, "Nowhere", 0, out, 5, &got, &eb), SL_EINVAL);
}
END_TEST

static const struct {
    const char *tz;
    int valid;
} tz_cases[] = {
    {"UTC", 1},
    {"Europe/Berlin", 1},
    {"America/New_York", 1},
    {"Asia/Kolkata", 1},
    {"Australia/Lord_Howe", 1},
    {"Etc/GMT+5", 1},
    {"America/Argentina/Buenos_Aires", 1},
    {"../etc/passwd", 0},
    {"Europe/../UTC", 0},
    {"..", 0},
    {"/etc/passwd", 0},
    {"/usr/share/zoneinfo/UTC", 0},
    {"", 0},
    {"Europe", 0},
    {"Europe/", 0},
    {"Europe/Berlin/", 0},
    {"Europe/Berlin ", 0},
    {"Europe/Berlin\n", 0},
    {"europe/berlin", 0},
    {"Nowhere/Land", 0},
    {"zone.tab", 0},
    {"tzdata.zi", 0},
    {"Europe\\Berlin", 0},
    {"Europe/Berlin;rm", 0},
    {"Europe/Berlin\xc3\xa9", 0},
};

START_TEST(test_tz_valid)
{
    ck_assert_msg(cron_tz_valid(tz_cases[_i].tz) == tz_cases[_i].valid, "cron_tz_valid(\"%s\")",
                  tz_cases[_i].tz);
}
END_TEST

START_TEST(test_tz_restored)
{
    cron_expr e = must_parse("0 0 * * *");
    time_t next, t = utc("2026-06-01T12:00");
    struct tm tm;

    set_tz("America/Los_Angeles");
    ck_assert_int_eq(cron_next(&e, "Asia/Kolkata", t, &next, NULL), SL_OK);
    ck_assert_int_eq(next, utc("2026-06-01T18:30"));
    ck_assert_str_eq(getenv("TZ"), "America/Los_Angeles");
    localtime_r(&t, &tm);
    ck_assert_int_eq(tm.tm_hour, 5); /* PDT, not IST */
    ck_assert_int_eq(tm.tm_gmtoff, -7 * 3600);

    set_tz(NULL);
    ck_assert_int_eq(cron_next(&e, "Europe/Berlin", t, &next, NULL), SL_OK);
    ck_assert_ptr_null(getenv("TZ"));
    char buf[48];
    ck_assert_int_eq(cron_format_local(t, "Asia/Kolkata", buf, sizeof buf, NULL), SL_OK);
    ck_assert_ptr_null(getenv("TZ"));
}
END_TEST

START_TEST(test_format_local)
{
    char buf[48];
    sl_errbuf eb = {0};
    ck_assert_int_eq(cron_format_local(utc("2026-03-29T01:00"), "Europe/Berlin", buf, sizeof buf,
                                       &eb),
                     SL_OK);
    ck_assert_str_eq(buf, "2026-03-29 03:00 CEST (+02:00)");
    ck_assert_int_eq(cron_format_local(utc("2026-03-29T00:59"), "Europe/Berlin", buf, sizeof buf,
                                       &eb),
                     SL_OK);
    ck_assert_str_eq(buf, "2026-03-29 01:59 CET (+01:00)");
    ck_assert_int_eq(cron_format_local(utc("2026-01-01T03:30"), "Asia/Kolkata", buf, sizeof buf,
                                       &eb),
                     SL_OK);
    ck_assert_str_eq(buf, "2026-01-01 09:00 IST (+05:30)");
    ck_assert_int_eq(cron_format_local(utc("2026-11-01T06:30"), "America/New_York", buf,
                                       sizeof buf, &eb),
                     SL_OK);
    ck_assert_str_eq(buf, "2026-11-01 01:30 EST (-05:00)");
    ck_assert_int_eq(cron_format_local(0, "UTC", buf, sizeof buf, &eb), SL_OK);
    ck_assert_str_eq(buf, "1970-01-01 00:00 UTC (+00:00)");
    ck_assert_int_eq(cron_format_local(0, "UTC", buf, 10, &eb), SL_ETOOBIG);
    ck_assert_int_eq(cron_format_local(0, "Nowhere", buf, sizeof buf, &eb), SL_EINVAL);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void)
{
    Suite *s = suite_create("cronexpr");
    TCase *tp = tcase_create("parse");
    tcase_add_loop_test(tp, test_parse_same, 0, N(same_cases));
    tcase_add_test(tp, test_parse_bits);
    tcase_add_loop_test(tp, test_parse_bad, 0, N(bad_cases));
    tcase_add_test(tp, test_parse_limits);
    suite_add_tcase(s, tp);

    TCase *tn = tcase_create("next");
    tcase_add_loop_test(tn, test_next, 0, N(next_cases));
    tcase_add_loop_test(tn, test_next_seq, 0, N(seq_cases));
    tcase_add_test(tn, test_next_errors);
    tcase_add_test(tn, test_notfound_fast);
    tcase_add_test(tn, test_next_n);
    suite_add_tcase(s, tn);

    TCase *tm = tcase_create("model");
    tcase_set_timeout(tm, 30);
    tcase_add_loop_test(tm, test_model, 0, N(model_windows));
    suite_add_tcase(s, tm);

    TCase *tz = tcase_create("tz");
    tcase_add_loop_test(tz, test_tz_valid, 0, N(tz_cases));
    tcase_add_test(tz, test_tz_restored);
    tcase_add_test(tz, test_format_local);
    suite_add_tcase(s, tz);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
