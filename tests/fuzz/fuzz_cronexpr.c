// fuzz-sources: app/core/cronexpr.c app/core/err.c app/core/arena.c
/* fuzz_cronexpr.c - libFuzzer target for cron expressions (cron_parse,
 * cron_next).
 *
 * Invariants checked beyond memory safety: a rejected expression leaves a
 * non-empty message; for an accepted one, cron_next() in UTC from a fixed
 * instant returns a time after it that (by a small matcher written here,
 * which reads the expression text itself, independently of cron_parse's
 * bit sets) matches the expression, with no matching day in between, or
 * SL_ENOTFOUND only if no day in the next five years matches. In
 * Europe/Berlin the result is after `after`, is a matching wall time or the
 * first instant after a DST gap, and is stable (asking again from one second
 * before gives the same answer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cronexpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the independent matcher ------------------------------------------- */

static const char *const mons[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dows[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const int lo_of[5] = {0, 0, 1, 1, 0}, hi_of[5] = {59, 23, 31, 12, 6};

static int value_of(int f, const char *s, size_t n)
{
    if (n == 3 && (f == 3 || f == 4)) {
        for (int i = 0; i < (f == 3 ? 12 : 7); i++)
            if (strncasecmp(s, f == 3 ? mons[i] : dows[i], 3) == 0)
                return f == 3 ? i + 1 : i;
    }
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Does value v (already accepted) match item [s, s+n) of field f? */
static int item_matches(int f, const char *s, size_t n, int v)
{
    const char *slash = memchr(s, '/', n);
    size_t bn = slash ? (size_t)(slash - s) : n;
    int step = slash ? value_of(-1, slash + 1, n - bn - 1) : 1;
    int a, b;
    if (bn == 1 && s[0] == '*') {
        a = lo_of[f];
        b = hi_of[f];
    } else {
        const char *dash = memchr(s, '-', bn);
        a = value_of(f, s, dash ? (size_t)(dash - s) : bn);
        b = dash ? value_of(f, dash + 1, bn - (size_t)(dash - s) - 1) : (slash ? hi_of[f] : a);
        if (b < a)
            b = a;
    }
    /* Day-of-week 7 is Sunday: test 0 as 7 too. */
    int hit = v >= a && v <= b && (v - a) % step == 0;
    if (f == 4 && v == 0)
        hit |= 7 >= a && 7 <= b && (7 - a) % step == 0;
    return hit;
}

static int field_matches(int f, const char *s, size_t n, int v)
{
    while (n > 0) {
        const char *comma = memchr(s, ',', n);
        size_t in = comma ? (size_t)(comma - s) : n;
        if (item_matches(f, s, in, v))
            return 1;
        if (!comma)
            break;
        s += in + 1;
        n -= in + 1;
    }
    return 0;
}

typedef struct {
    const char *p[5];
    size_t n[5];
} fields5;

static int split(const char *s, fields5 *fs)
{
    static const struct {
        const char *m, *x;
    } mac[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
               {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
               {"@hourly", "0 * * * *"}};
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '@') {
        size_t n = strcspn(s, " \t");
        for (size_t i = 0; i < sizeof mac / sizeof mac[0]; i++)
            if (n == strlen(mac[i].m) && strncasecmp(s, mac[i].m, n) == 0)
                return split(mac[i].x, fs);
        return 0;
    }
    for (int f = 0; f < 5; f++) {
        while (*s == ' ' || *s == '\t')
            s++;
        fs->p[f] = s;
        fs->n[f] = strcspn(s, " \t");
        if (fs->n[f] == 0)
            return 0;
        s += fs->n[f];
    }
    return 1;
}

static int date_matches(const fields5 *fs, const struct tm *tm)
{
    if (!field_matches(3, fs->p[3], fs->n[3], tm->tm_mon + 1))
        return 0;
    int dom = field_matches(2, fs->p[2], fs->n[2], tm->tm_mday);
    int dow = field_matches(4, fs->p[4], fs->n[4], tm->tm_wday);
    if (fs->p[2][0] == '*' || fs->p[4][0] == '*')
        return dom && dow;
    return dom || dow;
}

static int time_matches(const fields5 *fs, const struct tm *tm)
{
    return date_matches(fs, tm) && field_matches(1, fs->p[1], fs->n[1], tm->tm_hour) &&
           field_matches(0, fs->p[0], fs->n[0], tm->tm_min);
}

/* ---- checks ------------------------------------------------------------ */

static void fail(const char *what, const char *expr, time_t after, time_t next)
{
    fprintf(stderr, "fuzz_cronexpr: %s: \"%s\" after %lld -> %lld\n", what, expr,
            (long long)after, (long long)next);
    abort();
}

static void check_minute(const fields5 *fs, const char *expr, time_t after, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    if (time_matches(fs, &tm))
        fail("an earlier minute matches", expr, after, t);
}

static void check_utc(const cron_expr *e, const fields5 *fs, const char *expr, time_t after)
{
    time_t next = 0;
    struct tm tm;
    sl_errbuf eb;
    sl_err rc = cron_next(e, "UTC", after, &next, &eb);

    if (rc == SL_ENOTFOUND) {
        /* No day in the next five years may match. */
        for (time_t d = after - after % 86400; d < after + 5 * 365 * 86400LL; d += 86400) {
            gmtime_r(&d, &tm);
            if (date_matches(fs, &tm))
                fail("ENOTFOUND but a day matches", expr, after, d);
        }
        return;
    }
    if (rc != SL_OK)
        fail("cron_next failed", expr, after, 0);
    if (next <= after || next % 60 != 0)
        fail("not after, or not on a minute", expr, after, next);
    gmtime_r(&next, &tm);
    if (!time_matches(fs, &tm))
        fail("next does not match", expr, after, next);
    /* Nothing earlier: minute by minute for a day and around the end,
     * whole days in between (hours and minutes are never empty). */
    time_t t = after - after % 60 + 60, stop = next < t + 86400 ? next : t + 86400;
    for (; t < stop; t += 60)
        check_minute(fs, expr, after, t);
    time_t d = t + (86400 - t % 86400) % 86400, nd = next - next % 86400;
    for (; t < next && t < d; t += 60)
        check_minute(fs, expr, after, t);
    for (; d < nd; d += 86400) {
        gmtime_r(&d, &tm);
        if (date_matches(fs, &tm))
            fail("an earlier day matches", expr, after, d);
    }
    for (t = t > d ? t : d; t < next; t += 60)
        check_minute(fs, expr, after, t);
}

static void check_berlin(const cron_expr *e, const fields5 *fs, const char *expr, time_t after)
{
    time_t next = 0, again = 0, prev;
    struct tm tm, tp;
    sl_err rc = cron_next(e, "Europe/Berlin", after, &next, NULL);
    if (rc == SL_ENOTFOUND)
        return;
    if (rc != SL_OK || next <= after)
        fail("Berlin: not after", expr, after, next);
    if (cron_next(e, "Europe/Berlin", next - 1, &again, NULL) != SL_OK || again != next)
        fail("Berlin: unstable", expr, next - 1, again);
    /* cron_next restored TZ (":Europe/Berlin", set at start), so localtime is Berlin. */
    prev = next - 1;
    localtime_r(&next, &tm);
    localtime_r(&prev, &tp);
    if (tm.tm_sec != 0)
        fail("Berlin: not on a minute", expr, after, next);
    if (!time_matches(fs, &tm) && tm.tm_gmtoff == tp.tm_gmtoff)
        fail("Berlin: neither a match nor the end of a gap", expr, after, next);
    /* Never the second occurrence of a repeated wall time. */
    for (time_t back = 1800; back <= 3600; back += 1800) {
        time_t t = next - back;
        localtime_r(&t, &tp);
        if (tp.tm_year == tm.tm_year && tp.tm_yday == tm.tm_yday && tp.tm_hour == tm.tm_hour &&
            tp.tm_min == tm.tm_min)
            fail("Berlin: second occurrence of a wall time", expr, after, next);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    char buf[512];
    cron_expr e;
    sl_errbuf eb;
    fields5 fs;

    if (!init) {
        setenv("TZ", ":Europe/Berlin", 1);
        tzset();
        init = 1;
    }
    if (size >= sizeof buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';

    eb.msg[0] = '\0';
    if (cron_parse(buf, &e, &eb) != SL_OK) {
        if (eb.msg[0] == '\0')
            abort();
        return 0;
    }
    if (strlen(buf) != size) /* an embedded NUL: the parsed text is shorter */
        return 0;
    if (!split(buf, &fs))
        fail("accepted but not five fields", buf, 0, 0);

    /* 2026-03-28T12:00Z (a day before Berlin's spring change), and an instant
     * derived from the input within the following year. */
    time_t base = 1774699200;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    check_utc(&e, &fs, buf, base);
    check_utc(&e, &fs, buf, base + (time_t)(h % (366 * 86400u)));
    check_berlin(&e, &fs, buf, base);
    check_berlin(&e, &fs, buf, base + 210 * 86400 + (time_t)(h % (3 * 86400u))); /* ~Oct 25 */
    if (strcmp(getenv("TZ") ? getenv("TZ") : "", ":Europe/Berlin") != 0)
        abort();
    return 0;
}
