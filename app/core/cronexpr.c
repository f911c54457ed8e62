/* cronexpr.c - five-field cron expressions: parse, validate, next fire time.
 *
 * cron_parse() turns text into a cron_expr (bit sets, no allocation);
 * cron_next() finds the first fire time after an instant in an IANA zone;
 * cron_tz_valid() says whether a zone name is one the system knows.
 *
 * Time model. A cron expression names wall-clock minutes (local date and
 * time in the zone). Fire times are those minutes mapped to instants by f:
 *   - a wall time that exists once fires at that instant;
 *   - a wall time that occurs twice (fall back) fires once, at its first
 *     occurrence: in Europe/Berlin on 2026-10-25, `30 2 * * *` fires at
 *     02:30 CEST (00:30 UTC) only, and `0 * * * *` fires at 02:00 CEST and
 *     next at 03:00 CET: the repeated hour 02:00-02:59 CET fires nothing;
 *   - a wall time that does not exist (spring forward) fires at the first
 *     instant after the gap: in Europe/Berlin on 2026-03-29, `30 2 * * *`
 *     fires at 03:00 CEST (01:00 UTC). Every skipped minute maps to that same
 *     instant, so `*\/15 * * * *` fires once at 03:00, not four times.
 * f never decreases as the wall time grows, so cron_next() searches wall
 * minutes in calendar order (skipping whole months, days and hours that
 * cannot match) and returns f of the first match whose instant is after
 * `after`. The search gives up after five years of wall time (SL_ENOTFOUND).
 *
 * Zones come from the system tz database (/usr/share/zoneinfo, Debian
 * package tzdata). cron_next() and cron_format_local() set TZ, call tzset(),
 * use localtime_r() for UTC offsets, and restore the caller's TZ before
 * returning: no effect is visible after the call, but they are not safe to
 * run concurrently with other threads that use local time (sluice's
 * processes are single-threaded).
 *
 * Day-of-month and day-of-week combine as in Vixie cron: if either field
 * begins with `*` (`*`, `*\/2`), a day must match both; if both are
 * restricted, a day matches if either does (`0 0 1 * MON` = the 1st and
 * every Monday). */
#include "cronexpr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "arena.h"

#define CRON_MAX_LEN 256                 /* longest expression accepted */
#define CRON_ZONEDIR "/usr/share/zoneinfo"
#define CRON_TZ_MAX 128                  /* longest zone name accepted */
#define CRON_SEARCH_DAYS (5 * 366)       /* "within five years" */
#define CRON_TIME_MIN (-62135596800LL)   /* 0001-01-01T00:00:00Z */
#define CRON_TIME_MAX 253402300799LL     /* 9999-12-31T23:59:59Z */

/* ---- field descriptions ------------------------------------------------ */

typedef struct {
    const char *name;     /* for messages */
    int min, max;         /* accepted values */
    int open_max;         /* upper end of `a/n` and `*` */
    const char *const *names; /* 3-letter names for values min.., or NULL */
} field_desc;

static const char *const month_names[] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL,
};
static const char *const wday_names[] = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL,
};

enum { F_MIN, F_HOUR, F_MDAY, F_MON, F_WDAY, F_COUNT };

static const field_desc fields[F_COUNT] = {
    {"minute", 0, 59, 59, NULL},
    {"hour", 0, 23, 23, NULL},
    {"day-of-month", 1, 31, 31, NULL},
    {"month", 1, 12, 12, month_names},
    /* 7 is Sunday too; `*` and `a/n` stop at Saturday so 0 is not doubled. */
    {"day-of-week", 0, 7, 6, wday_names},
};

static const struct {
    const char *name;
    const char *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* ---- parsing ----------------------------------------------------------- */

/* A token made printable for messages: control and non-ASCII bytes -> '?',
 * cut at 40 bytes with "...". */
static const char *show(const char *p, size_t n, char *buf, size_t cap)
{
    size_t lim = n > 40 ? 40 : n, o = 0;
    for (size_t i = 0; i < lim && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (lim < n && o + 4 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Parse one value (number or name) from [p, end) of field f. */
static sl_err parse_value(const field_desc *f, const char *p, const char *end, int *out,
                          sl_errbuf *eb)
{
    char tb[64];
    size_t n = (size_t)(end - p);
    if (n == 0)
        return sl_fail(eb, SL_EINVAL, "%s: missing value", f->name);
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        for (const char *q = p; q < end; q++) {
            if (!isdigit((unsigned char)*q))
                return sl_fail(eb, SL_EINVAL, "%s: \"%s\" is not a number", f->name,
                               show(p, n, tb, sizeof tb));
            if (v <= 100000)
                v = v * 10 + (*q - '0');
        }
        if (v < f->min || v > f->max)
            return sl_fail(eb, SL_EINVAL, "%s: %s is out of range %d-%d", f->name,
                           show(p, n, tb, sizeof tb), f->min, f->max);
        *out = (int)v;
        return SL_OK;
    }
    if (f->names && n == 3) {
        for (int i = 0; f->names[i]; i++) {
            if (strncasecmp(p, f->names[i], 3) == 0) {
                *out = f->min + i;
                return SL_OK;
            }
        }
    }
    return sl_fail(eb, SL_EINVAL, "%s: \"%s\" is not a %s", f->name, show(p, n, tb, sizeof tb),
                   f->names == month_names ? "number or month name (JAN-DEC)"
                   : f->names            ? "number or weekday name (SUN-SAT)"
                                         : "number");
}

/* Parse a step after '/' in [p, end). */
static sl_err parse_step(const field_desc *f, const char *p, const char *end, int *out,
                         sl_errbuf *eb)
{
    char tb[64];
    size_t n = (size_t)(end - p);
    long v = 0;
    if (n == 0)
        return sl_fail(eb, SL_EINVAL, "%s: missing step after '/'", f->name);
    for (const char *q = p; q < end; q++) {
        if (!isdigit((unsigned char)*q))
            return sl_fail(eb, SL_EINVAL, "%s: step \"%s\" is not a number", f->name,
                           show(p, n, tb, sizeof tb));
        if (v <= 100000)
            v = v * 10 + (*q - '0');
    }
    if (v < 1 || v > f->max)
        return sl_fail(eb, SL_EINVAL, "%s: step %s is out of range 1-%d", f->name,
                       show(p, n, tb, sizeof tb), f->max);
    *out = (int)v;
    return SL_OK;
}

/* Parse one list item ("*", "5", "1-5", "*\/15", "1-30/5", "5/10") of field
 * f in [p, end) and set its bits in *bits. */
static sl_err parse_item(const field_desc *f, const char *p, const char *end, uint64_t *bits,
                         sl_errbuf *eb)
{
    char tb[64];
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *base_end = slash ? slash : end;
    int lo, hi, step = 1;
    sl_err rc;

    if (base_end == p || base_end[-1] == '-' || *p == '-')
        return sl_fail(eb, SL_EINVAL, "%s: missing value in \"%s\"", f->name,
                       show(p, (size_t)(end - p), tb, sizeof tb));
    if (slash && (rc = parse_step(f, slash + 1, end, &step, eb)) != SL_OK)
        return rc;
    if (base_end - p == 1 && *p == '*') {
        lo = f->min;
        hi = f->open_max;
    } else {
        const char *dash = memchr(p, '-', (size_t)(base_end - p));
        if ((rc = parse_value(f, p, dash ? dash : base_end, &lo, eb)) != SL_OK)
            return rc;
        if (dash) {
            if ((rc = parse_value(f, dash + 1, base_end, &hi, eb)) != SL_OK)
                return rc;
            if (hi < lo)
                return sl_fail(eb, SL_EINVAL, "%s: range %s is reversed%s", f->name,
                               show(p, (size_t)(base_end - p), tb, sizeof tb),
                               f->names == wday_names && hi == 0
                                   ? " (Sunday is 0 or 7: write 6-7)" : "");
        } else {
            hi = slash ? f->open_max : lo;
            if (hi < lo) /* `7/2` in day-of-week */
                hi = lo;
        }
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    return SL_OK;
}

/* Parse field number fi from [p, end) into *bits. */
static sl_err parse_field(int fi, const char *p, const char *end, uint64_t *bits, sl_errbuf *eb)
{
    const field_desc *f = &fields[fi];
    char tb[64];
    *bits = 0;
    for (const char *q = p; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (!isalnum(c) && c != '*' && c != ',' && c != '-' && c != '/')
            return sl_fail(eb, SL_EINVAL, "%s: unexpected character '%s' in \"%s\"", f->name,
                           show(q, 1, tb, 8), show(p, (size_t)(end - p), tb + 8, sizeof tb - 8));
    }
    for (const char *q = p;;) {
        const char *comma = memchr(q, ',', (size_t)(end - q));
        const char *item_end = comma ? comma : end;
        if (item_end == q)
            return sl_fail(eb, SL_EINVAL, "%s: empty list item in \"%s\"", f->name,
                           show(p, (size_t)(end - p), tb, sizeof tb));
        sl_err rc = parse_item(f, q, item_end, bits, eb);
        if (rc != SL_OK)
            return rc;
        if (!comma)
            break;
        q = comma + 1;
    }
    return SL_OK;
}

static int is_sep(char c)
{
    return c == ' ' || c == '\t';
}

static sl_err parse_macro(const char *s, size_t n, cron_expr *e, sl_errbuf *eb)
{
    char tb[64];
    if (n == 7 && strncasecmp(s, "@reboot", 7) == 0)
        return sl_fail(eb, SL_EINVAL, "@reboot is not supported: schedules run on the clock; "
                                      "use a time-based expression such as @daily");
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (strlen(macros[i].name) == n && strncasecmp(s, macros[i].name, n) == 0)
            return cron_parse(macros[i].expansion, e, eb);
    return sl_fail(eb, SL_EINVAL,
                   "unknown macro \"%s\" (use @yearly, @annually, @monthly, @weekly, @daily, "
                   "@midnight or @hourly)", show(s, n, tb, sizeof tb));
}

sl_err cron_parse(const char *s, cron_expr *e, sl_errbuf *eb)
{
    const char *start[F_COUNT + 1], *stop[F_COUNT + 1];
    int nf = 0;
    size_t len;

    memset(e, 0, sizeof *e);
    if (!s)
        return sl_fail(eb, SL_EINVAL, "empty cron expression");
    len = strlen(s);
    if (len > CRON_MAX_LEN)
        return sl_fail(eb, SL_EINVAL, "cron expression is longer than %d characters",
                       CRON_MAX_LEN);

    /* Split on blanks; remember at most one field too many. */
    const char *p = s, *end = s + len;
    int total = 0;
    while (p < end) {
        while (p < end && is_sep(*p))
            p++;
        if (p == end)
            break;
        const char *q = p;
        while (q < end && !is_sep(*q))
            q++;
        if (nf <= F_COUNT) {
            start[nf] = p;
            stop[nf] = q;
            nf++;
        }
        total++;
        p = q;
    }
    if (total == 0)
        return sl_fail(eb, SL_EINVAL, "empty cron expression");
    if (*start[0] == '@') {
        if (total != 1)
            return sl_fail(eb, SL_EINVAL, "a macro such as @daily stands alone");
        return parse_macro(start[0], (size_t)(stop[0] - start[0]), e, eb);
    }
    if (total != F_COUNT)
        return sl_fail(eb, SL_EINVAL, "expected 5 fields (minute hour day-of-month month "
                                      "day-of-week), got %d", total);

    uint64_t bits[F_COUNT];
    for (int i = 0; i < F_COUNT; i++) {
        sl_err rc = parse_field(i, start[i], stop[i], &bits[i], eb);
        if (rc != SL_OK) {
            memset(e, 0, sizeof *e);
            return rc;
        }
    }
    if (bits[F_WDAY] & (1ULL << 7))
        bits[F_WDAY] = (bits[F_WDAY] | 1) & 0x7f;
    e->minutes = bits[F_MIN];
    e->hours = (uint32_t)bits[F_HOUR];
    e->mdays = (uint32_t)bits[F_MDAY];
    e->months = (uint16_t)bits[F_MON];
    e->wdays = (uint8_t)bits[F_WDAY];
    e->mday_star = *start[F_MDAY] == '*';
    e->wday_star = *start[F_WDAY] == '*';
    return SL_OK;
}

/* ---- calendar arithmetic (proleptic Gregorian, no time zones) ---------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 for y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Lowest set bit of mask at position >= from, or -1. */
static int next_bit(uint64_t mask, int from)
{
    if (from > 63)
        return -1;
    mask &= ~0ULL << from;
    return mask ? __builtin_ctzll(mask) : -1;
}

static int day_matches(const cron_expr *e, int mday, int64_t days)
{
    int wday = (int)(days - floor_div(days + 4, 7) * 7 + 4); /* 1970-01-01 was a Thursday */
    int dom = (e->mdays >> mday) & 1, dow = (e->wdays >> wday) & 1;
    if (e->mday_star || e->wday_star)
        return dom && dow;
    return dom || dow;
}

/* The first wall-clock minute >= m (minutes since 1970-01-01 00:00 local,
 * as if local time were UTC) that matches e, if it is <= limit. */
static int find_wall(const cron_expr *e, int64_t m, int64_t limit, int64_t *out)
{
    while (m <= limit) {
        int64_t days = floor_div(m, 1440), y;
        int mon, mday;
        int rem = (int)(m - days * 1440), h = rem / 60, mi = rem % 60;
        civil_from_days(days, &y, &mon, &mday);
        if (!((e->months >> mon) & 1)) {
            m = (mon == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, mon + 1, 1)) * 1440;
            continue;
        }
        if (!day_matches(e, mday, days)) {
            m = (days + 1) * 1440;
            continue;
        }
        int nh = next_bit(e->hours, h);
        if (nh < 0 || nh > 23) {
            m = (days + 1) * 1440;
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = 0;
        }
        int nm = next_bit(e->minutes, mi);
        if (nm < 0 || nm > 59) {
            m = days * 1440 + (h + 1) * 60;
            continue;
        }
        m = days * 1440 + h * 60 + nm;
        if (m > limit)
            return 0;
        *out = m;
        return 1;
    }
    return 0;
}

/* ---- time zones -------------------------------------------------------- */

int cron_tz_valid(const char *tz)
{
    char path[sizeof CRON_ZONEDIR + CRON_TZ_MAX + 2];
    struct stat st;
    char magic[4];
    size_t n;

    if (!tz || !*tz)
        return 0;
    if (strcmp(tz, "UTC") == 0)
        return 1;
    n = strlen(tz);
    if (n > CRON_TZ_MAX || tz[0] == '/' || strstr(tz, "..") || tz[n - 1] == '/')
        return 0;
    for (const char *p = tz; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && c != '_' && c != '+' && c != '-' && c != '/')
            return 0;
    }
    snprintf(path, sizeof path, "%s/%s", CRON_ZONEDIR, tz);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    /* zone.tab, tzdata.zi and friends live there too: insist on TZif. */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    n = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    return n == sizeof magic && memcmp(magic, "TZif", 4) == 0;
}

typedef struct {
    char *prev; /* the caller's TZ (xstrdup'd), or NULL if unset */
} tz_saved;

/* Switch the process to zone tz (already validated). */
static void tz_enter(const char *tz, tz_saved *sv)
{
    char val[sizeof CRON_ZONEDIR + CRON_TZ_MAX + 3];
    struct stat st;
    const char *cur = getenv("TZ");

    sv->prev = cur ? xstrdup(cur) : NULL;
    snprintf(val, sizeof val, ":%s/%s", CRON_ZONEDIR, tz);
    if (strcmp(tz, "UTC") == 0 && stat(val + 1, &st) != 0)
        snprintf(val, sizeof val, "UTC0");
    if (!cur || strcmp(cur, val) != 0)
        setenv("TZ", val, 1);
    tzset();
}

static void tz_leave(tz_saved *sv)
{
    const char *cur = getenv("TZ");
    if (sv->prev) {
        if (!cur || strcmp(cur, sv->prev) != 0)
            setenv("TZ", sv->prev, 1);
    } else {
        unsetenv("TZ");
    }
    tzset();
    free(sv->prev);
    sv->prev = NULL;
}

/* UTC offset in seconds at instant t in the current zone (0 if unknown). */
static long utc_offset(time_t t)
{
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return tm.tm_gmtoff;
}

/* The instant for local wall time L (seconds since 1970-01-01 00:00 local):
 * its first occurrence, or the first instant after the gap it falls in. */
static time_t wall_to_instant(int64_t L)
{
    long offs[3] = {utc_offset((time_t)(L - 86400)), utc_offset((time_t)L),
                    utc_offset((time_t)(L + 86400))};
    int64_t best = 0, lo = 0, hi = 0;
    int found = 0;

    for (int i = 0; i < 3; i++) {
        int64_t t = L - offs[i];
        if (i == 0 || t < lo)
            lo = t;
        if (i == 0 || t > hi)
            hi = t;
        if (t + utc_offset((time_t)t) == L && (!found || t < best)) {
            best = t;
            found = 1;
        }
    }
    if (found)
        return (time_t)best;
    /* In a gap: local(lo) < L < local(hi); find the first t with local(t) >= L. */
    if (!(lo + utc_offset((time_t)lo) < L && hi + utc_offset((time_t)hi) > L))
        return (time_t)(L - offs[1]);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (mid + utc_offset((time_t)mid) >= L)
            hi = mid;
        else
            lo = mid;
    }
    return (time_t)hi;
}

static sl_err check_args(const cron_expr *e, const char *tz, time_t after, sl_errbuf *eb)
{
    if (!e || !e->minutes || !e->hours || !e->months || (!e->mdays && !e->wdays))
        return sl_fail(eb, SL_EINVAL, "empty cron expression");
    if (!cron_tz_valid(tz))
        return sl_fail(eb, SL_EINVAL, "unknown time zone \"%.64s\"", tz ? tz : "");
    if ((int64_t)after < CRON_TIME_MIN || (int64_t)after > CRON_TIME_MAX)
        return sl_fail(eb, SL_EINVAL, "time %lld is out of range", (long long)after);
    return SL_OK;
}

/* The search itself; the zone is already in effect. */
static sl_err next_in_zone(const cron_expr *e, time_t after, time_t *next, sl_errbuf *eb)
{
    int64_t local = (int64_t)after + utc_offset(after);
    int64_t m = floor_div(local, 60);
    int64_t limit = m + (int64_t)CRON_SEARCH_DAYS * 1440;
    int64_t w;

    /* Each round that does not return moves past one matching minute whose
     * instant is not after `after`: a minute of a repeated hour, or the
     * minute `after` is in. A few hundred rounds is far more than needed. */
    for (int round = 0; round < 100000; round++) {
        if (!find_wall(e, m, limit, &w))
            break;
        time_t t = wall_to_instant(w * 60);
        if (t > after) {
            *next = t;
            return SL_OK;
        }
        m = w + 1;
    }
    return sl_fail(eb, SL_ENOTFOUND, "the expression does not fire within five years");
}

sl_err cron_next(const cron_expr *e, const char *tz, time_t after, time_t *next, sl_errbuf *eb)
{
    tz_saved sv;
    sl_err rc = check_args(e, tz, after, eb);
    if (rc != SL_OK)
        return rc;
    tz_enter(tz, &sv);
    rc = next_in_zone(e, after, next, eb);
    tz_leave(&sv);
    return rc;
}

sl_err cron_next_n(const cron_expr *e, const char *tz, time_t after, time_t *out, int n,
                   int *got, sl_errbuf *eb)
{
    tz_saved sv;
    sl_err rc = check_args(e, tz, after, eb);
    *got = 0;
    if (rc != SL_OK)
        return rc;
    tz_enter(tz, &sv);
    for (int i = 0; i < n; i++) {
        rc = next_in_zone(e, after, &out[i], eb);
        if (rc != SL_OK)
            break;
        after = out[i];
        (*got)++;
    }
    tz_leave(&sv);
    if (rc == SL_ENOTFOUND && *got > 0)
        rc = SL_OK;
    return rc;
}

sl_err cron_format_local(time_t t, const char *tz, char *buf, size_t cap, sl_errbuf *eb)
{
    tz_saved sv;
    struct tm tm;
    sl_err rc = SL_OK;

    if (cap)
        buf[0] = '\0';
    if (!cron_tz_valid(tz))
        return sl_fail(eb, SL_EINVAL, "unknown time zone \"%.64s\"", tz ? tz : "");
    tz_enter(tz, &sv);
    if (!localtime_r(&t, &tm)) {
        rc = sl_fail(eb, SL_EINVAL, "time %lld is out of range", (long long)t);
    } else {
        long off = tm.tm_gmtoff, aoff = off < 0 ? -off : off;
        int n = snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d %s (%c%02ld:%02ld)",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_zone ? tm.tm_zone : "", off < 0 ? '-' : '+', aoff / 3600,
                         aoff % 3600 / 60);
        if (n < 0 || (size_t)n >= cap)
            rc = sl_fail(eb, SL_ETOOBIG, "buffer too small for a formatted time");
    }
    tz_leave(&sv);
    return rc;
}
