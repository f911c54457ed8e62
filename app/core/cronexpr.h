/* cronexpr.h - five-field cron expressions: parse, validate, next fire time.
 *
 * Fields: minute hour day-of-month month day-of-week, each `*`, a number, a
 * range `a-b`, a list `a,b`, a step `*\/n` or `a-b/n`; months JAN-DEC and
 * weekdays SUN-SAT by name (case-insensitive), weekday 7 = Sunday. Macros:
 * @yearly @annually @monthly @weekly @daily @midnight @hourly. As in Vixie
 * cron, when both day-of-month and day-of-week are restricted, a day matches
 * if either does.
 *
 * Times are evaluated in an IANA time zone ("UTC", "Europe/Berlin"). Across
 * DST changes: a wall-clock time that does not exist (spring forward) fires
 * once, at the first instant after the gap; a wall-clock time that occurs
 * twice (fall back) fires once, at its first occurrence. */
#ifndef SL_CRONEXPR_H
#define SL_CRONEXPR_H

#include <stdint.h>
#include <time.h>

#include "err.h"

typedef struct {
    uint64_t minutes;  /* bit i: minute i (0-59) */
    uint32_t hours;    /* bit i: hour i (0-23) */
    uint32_t mdays;    /* bit i: day i (1-31) */
    uint16_t months;   /* bit i: month i (1-12) */
    uint8_t wdays;     /* bit i: weekday i (0-6, 0 = Sunday) */
    uint8_t mday_star; /* day-of-month was `*` */
    uint8_t wday_star; /* day-of-week was `*` */
} cron_expr;

/* Parse s into e. SL_EINVAL with a message naming the field and the bad
 * part ("hour: 25 is out of range 0-23") on failure. */
sl_err cron_parse(const char *s, cron_expr *e, sl_errbuf *eb);

/* 1 if tz names a time zone the system knows ("UTC" always), else 0. */
int cron_tz_valid(const char *tz);

/* The first fire time strictly after `after` (Unix seconds), in time zone
 * tz. SL_ENOTFOUND when none exists within five years (e.g. Feb 30),
 * SL_EINVAL for an unknown zone. */
sl_err cron_next(const cron_expr *e, const char *tz, time_t after, time_t *next,
                 sl_errbuf *eb);

/* Up to n successive fire times after `after` into out[0..n-1]; *got says
 * how many. SL_OK if at least one was found (fewer than n when the
 * expression stops firing within five years), SL_ENOTFOUND if none, and
 * SL_EINVAL as cron_next(). For "next runs" previews. */
sl_err cron_next_n(const cron_expr *e, const char *tz, time_t after, time_t *out, int n,
                   int *got, sl_errbuf *eb);

/* Format instant t as local time in zone tz into buf (cap bytes), as
 * "2026-03-29 03:00 CEST (+02:00)". SL_EINVAL for an unknown zone,
 * SL_ETOOBIG if buf is too small (48 bytes always suffice). */
sl_err cron_format_local(time_t t, const char *tz, char *buf, size_t cap, sl_errbuf *eb);

#endif
