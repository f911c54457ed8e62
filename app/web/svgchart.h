/* svgchart.h - bar charts drawn on the server as inline SVG (svgchart.c).
 *
 * A chart is a <figure class="chart">: an <svg role="img"> with an
 * aria-label, a <title>, a <desc> summary, a title line, a y axis with
 * "nice" ticks (1, 2 or 5 times a power of ten; labels like 2.5M), x labels,
 * one column per point with a <title> tooltip, a legend for stacked
 * charts, and a visually hidden <table class="vh"> with the same numbers
 * for screen readers and text browsers. Every piece of text is
 * HTML-escaped; colours are presentation attributes (fill=, stroke=) and
 * classes, never style attributes, so a CSP of style-src 'self' holds.
 *
 * The output is appended to an sbuf whose cap the caller chooses; a chart
 * of SVGC_MAX_POINTS points and SVGC_MAX_SERIES series fits in 1 MiB (a
 * 14-day chart takes a few KiB).
 * X labels: every one up to 8 points, else every k-th (8 or fewer shown). */
#ifndef SL_WEB_SVGCHART_H
#define SL_WEB_SVGCHART_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sbuf.h"

#define SVGC_MAX_SERIES 8
#define SVGC_MAX_POINTS 400
#define SVGC_MAX_VALUE 1000000000000000LL /* 10^15; larger values are drawn as this */

/* Geometry (viewBox units); the plot is the box inside the margins. */
#define SVGC_WIDTH 520
#define SVGC_HEIGHT 232
#define SVGC_TOP 44    /* title and legend band */
#define SVGC_BOTTOM 28 /* x labels */
#define SVGC_LEFT 44   /* y tick labels */
#define SVGC_RIGHT 12
#define SVGC_PLOT_W (SVGC_WIDTH - SVGC_LEFT - SVGC_RIGHT)   /* 464 */
#define SVGC_PLOT_H (SVGC_HEIGHT - SVGC_TOP - SVGC_BOTTOM)  /* 160 */

typedef struct {
    const char *name;  /* legend, tooltips, table header */
    const char *color; /* "#rgb" or "#rrggbb"; anything else gets a default */
} svgc_series;

typedef struct {
    const char *id;         /* unique in the page; [A-Za-z0-9_-] ("chart" otherwise) */
    const char *title;      /* title line, aria-label, <title>, table caption */
    const char *unit;       /* what the values count, for tooltips: "rows", "runs" */
    const char *x_name;     /* header of the label column in the table: "Day" */
    const char *empty_text; /* drawn across the plot when every value is 0 (or NULL) */
    int nseries;            /* 1 .. SVGC_MAX_SERIES */
    const svgc_series *series;
    int n;                       /* points, 0 .. SVGC_MAX_POINTS */
    const char *const *labels;   /* n x-axis labels (NULL entries: "") */
    const int64_t *values;       /* n * nseries, point-major: values[i * nseries + s] */
} svgc_chart;

/* Append a bar chart of series 0 of c to out. SL_EINVAL (with a message)
 * for a chart outside the limits above, SL_ETOOBIG at out's cap; on
 * failure out is truncated back to its length on entry. Negative values
 * are drawn as 0. */
sl_err svgc_bar(sbuf *out, const svgc_chart *c, sl_errbuf *eb);

/* The same with every series stacked in each column (series 0 at the
 * bottom) and a legend; tooltips give the total and each part. */
sl_err svgc_stacked(sbuf *out, const svgc_chart *c, sl_errbuf *eb);

/* The y axis for values up to max: top = the smallest multiple of step at
 * or above max, step = 1, 2 or 5 times a power of ten giving at most five
 * intervals, nticks = top / step + 1. max <= 0 gives {1, 1, 2}. */
typedef struct {
    int64_t top, step;
    int nticks;
} svgc_axis;
void svgc_nice_axis(int64_t max, svgc_axis *ax);

/* v as a tick label into buf: "950", "1.5k", "2M", "1.25B", "3T" (at most
 * two decimals, trailing zeros dropped). buf of 16 bytes always suffices. */
void svgc_short(char *buf, size_t cap, int64_t v);

/* v with thousands separators into buf: "1,234,567". 32 bytes suffice. */
void svgc_group(char *buf, size_t cap, int64_t v);

#endif
