/* svgchart.c - bar and stacked bar charts as inline SVG, drawn on the server.
 *
 * svgc_bar() and svgc_stacked() append one <figure> (the SVG and a
 * visually hidden data table) to a caller's sbuf; they allocate nothing
 * else. The y axis comes from svgc_nice_axis(). Text goes through
 * tpl_escape_html() on its way out, in attributes and elements alike. */
#include "svgchart.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tpl.h"

#define TEXT_FILL "#5b6577"
#define GRID_STROKE "#e5e7eb"
#define AXIS_STROKE "#9ca3af"
#define FONT_SIZE 11
#define MAX_X_LABELS 8 /* more points than this: label every k-th */

static const char *const default_colors[SVGC_MAX_SERIES] = {
    "#1f6feb", "#c62828", "#9ca3af", "#d4a72c", "#7c3aed", "#0e7490", "#1a7f37", "#5b6577",
};

/* The writer: the first failure sticks, later writes are skipped. */
typedef struct {
    sbuf *b;
    sl_err e;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    if (o->e)
        return;
    va_list ap;
    va_start(ap, fmt);
    o->e = sb_vprintf(o->b, fmt, ap);
    va_end(ap);
}

static void esc(out_t *o, const char *s)
{
    if (!o->e && s)
        o->e = tpl_escape_html(o->b, s, strlen(s));
}

/* --- numbers ------------------------------------------------------------------------- */

void svgc_nice_axis(int64_t max, svgc_axis *ax)
{
    if (max <= 0) {
        *ax = (svgc_axis){1, 1, 2};
        return;
    }
    if (max > SVGC_MAX_VALUE * SVGC_MAX_SERIES)
        max = SVGC_MAX_VALUE * SVGC_MAX_SERIES;
    int64_t raw = (max + 4) / 5; /* the smallest step giving five intervals */
    int64_t mag = 1;
    while (mag <= raw / 10)
        mag *= 10;
    int64_t step = mag;
    if (step < raw)
        step = 2 * mag;
    if (step < raw)
        step = 5 * mag;
    if (step < raw)
        step = 10 * mag;
    ax->step = step;
    ax->top = (max + step - 1) / step * step;
    ax->nticks = (int)(ax->top / step) + 1;
}

void svgc_short(char *buf, size_t cap, int64_t v)
{
    static const struct {
        int64_t unit;
        const char *suffix;
    } units[] = {{1000000000000000LL, "P"}, {1000000000000LL, "T"}, {1000000000LL, "B"},
                 {1000000LL, "M"},          {1000LL, "k"}};
    const char *sign = "";
    if (v < 0) {
        sign = "-";
        v = v == INT64_MIN ? INT64_MAX : -v;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        int64_t u = units[i].unit;
        if (v < u)
            continue;
        int64_t whole = v / u;
        int cents = (int)((v % u) / (u / 100));
        if (cents == 0)
            snprintf(buf, cap, "%s%lld%s", sign, (long long)whole, units[i].suffix);
        else if (cents % 10 == 0)
            snprintf(buf, cap, "%s%lld.%d%s", sign, (long long)whole, cents / 10,
                     units[i].suffix);
        else
            snprintf(buf, cap, "%s%lld.%02d%s", sign, (long long)whole, cents,
                     units[i].suffix);
        return;
    }
    snprintf(buf, cap, "%s%lld", sign, (long long)v);
}

void svgc_group(char *buf, size_t cap, int64_t v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)v);
    char tmp[48];
    size_t j = 0;
    const char *d = digits;
    if (*d == '-')
        tmp[j++] = *d++;
    size_t len = strlen(d);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            tmp[j++] = ',';
        tmp[j++] = d[i];
    }
    tmp[j] = '\0';
    snprintf(buf, cap, "%s", tmp);
}

/* --- checks -------------------------------------------------------------------------- */

static int color_ok(const char *c)
{
    if (!c || c[0] != '#')
        return 0;
    size_t n = strlen(c + 1);
    if (n != 3 && n != 6)
        return 0;
    return strspn(c + 1, "0123456789abcdefABCDEF") == n;
}

static int id_ok(const char *id)
{
    return id && *id && strlen(id) <= 64 &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               strlen(id);
}

static sl_err check(const svgc_chart *c, sl_errbuf *eb)
{
    if (!c || c->nseries < 1 || c->nseries > SVGC_MAX_SERIES || !c->series)
        return sl_fail(eb, SL_EINVAL, "chart: 1 to %d series", SVGC_MAX_SERIES);
    if (c->n < 0 || c->n > SVGC_MAX_POINTS)
        return sl_fail(eb, SL_EINVAL, "chart: 0 to %d points", SVGC_MAX_POINTS);
    if (c->n > 0 && (!c->values || !c->labels))
        return sl_fail(eb, SL_EINVAL, "chart: points without values or labels");
    return SL_OK;
}

/* values[i][s] as drawn: 0 .. SVGC_MAX_VALUE. */
static int64_t value(const svgc_chart *c, int i, int s)
{
    int64_t v = c->values[(size_t)i * (size_t)c->nseries + (size_t)s];
    return v < 0 ? 0 : v > SVGC_MAX_VALUE ? SVGC_MAX_VALUE : v;
}

static const char *color(const svgc_chart *c, int s)
{
    return color_ok(c->series[s].color) ? c->series[s].color : default_colors[s];
}

static const char *label(const svgc_chart *c, int i)
{
    return c->labels[i] ? c->labels[i] : "";
}

/* --- drawing ------------------------------------------------------------------------- */

/* The y axis: grid lines and tick labels. */
static void draw_axis(out_t *o, const svgc_axis *ax)
{
    put(o, "<g class=\"chart-axis\" font-size=\"%d\" fill=\"" TEXT_FILL "\">", FONT_SIZE);
    for (int k = 0; k < ax->nticks; k++) {
        int64_t v = ax->step * k;
        double y = SVGC_TOP + SVGC_PLOT_H - (double)v * SVGC_PLOT_H / (double)ax->top;
        char t[16];
        svgc_short(t, sizeof t, v);
        put(o, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", SVGC_LEFT,
            SVGC_WIDTH - SVGC_RIGHT, y, y, k == 0 ? AXIS_STROKE : GRID_STROKE);
        put(o, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" dy=\"0.32em\" text-anchor=\"end\">%s"
               "</text>",
            SVGC_LEFT - 6, y, t);
    }
    put(o, "</g>");
}

/* The legend, right-aligned in the title band (stacked charts). */
static void draw_legend(out_t *o, const svgc_chart *c)
{
    double x = SVGC_WIDTH - SVGC_RIGHT;
    double w[SVGC_MAX_SERIES];
    for (int s = c->nseries - 1; s >= 0; s--) {
        const char *n = c->series[s].name ? c->series[s].name : "";
        w[s] = 16 + 6.5 * (double)strlen(n) + 12;
        x -= w[s];
    }
    put(o, "<g class=\"chart-legend\" font-size=\"%d\" fill=\"" TEXT_FILL "\">", FONT_SIZE);
    for (int s = 0; s < c->nseries; s++) {
        put(o, "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" rx=\"2\" fill=\"%s\"/>", x,
            SVGC_TOP - 22, color(c, s));
        put(o, "<text x=\"%.1f\" y=\"%d\">", x + 14, SVGC_TOP - 13);
        esc(o, c->series[s].name);
        put(o, "</text>");
        x += w[s];
    }
    put(o, "</g>");
}

/* One column's tooltip: "May 3: 1,234 rows" or "May 3: 12 runs (10 ok, 2 failed)". */
static void tooltip(out_t *o, const svgc_chart *c, int i, int stacked)
{
    char g[32];
    int64_t total = 0;
    for (int s = 0; s < (stacked ? c->nseries : 1); s++)
        total += value(c, i, s);
    svgc_group(g, sizeof g, total);
    put(o, "<title>");
    esc(o, label(c, i));
    put(o, ": %s ", g);
    esc(o, c->unit ? c->unit : "");
    if (stacked) {
        put(o, " (");
        for (int s = 0; s < c->nseries; s++) {
            svgc_group(g, sizeof g, value(c, i, s));
            put(o, "%s%s ", s ? ", " : "", g);
            esc(o, c->series[s].name);
        }
        put(o, ")");
    }
    put(o, "</title>");
}

static void draw_columns(out_t *o, const svgc_chart *c, const svgc_axis *ax, int stacked)
{
    double slot = (double)SVGC_PLOT_W / c->n;
    double bw = slot * 0.7 > 48 ? 48 : slot * 0.7;
    int every = (c->n + MAX_X_LABELS - 1) / MAX_X_LABELS;
    for (int i = 0; i < c->n; i++) {
        double x0 = SVGC_LEFT + i * slot, x = x0 + (slot - bw) / 2;
        put(o, "<g class=\"col\">");
        tooltip(o, c, i, stacked);
        put(o, "<rect class=\"hit\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\""
               " fill=\"transparent\"/>",
            x0, SVGC_TOP, slot, SVGC_PLOT_H);
        double base = SVGC_TOP + SVGC_PLOT_H;
        for (int s = 0; s < (stacked ? c->nseries : 1); s++) {
            int64_t v = value(c, i, s);
            if (v == 0)
                continue;
            double h = (double)v * SVGC_PLOT_H / (double)ax->top;
            if (h < 1)
                h = 1; /* a bar that exists is seen */
            base -= h;
            put(o, "<rect class=\"bar s%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
                   " height=\"%.1f\" fill=\"%s\"/>",
                s, x, base, bw, h, color(c, s));
        }
        put(o, "</g>");
        if ((c->n - 1 - i) % every == 0) { /* the last point always has its label */
            put(o, "<text class=\"xlabel\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\""
                   " font-size=\"%d\" fill=\"" TEXT_FILL "\">",
                x0 + slot / 2, SVGC_TOP + SVGC_PLOT_H + 18, FONT_SIZE);
            esc(o, label(c, i));
            put(o, "</text>");
        }
    }
}

/* The data table behind the picture. */
static void data_table(out_t *o, const svgc_chart *c, int stacked)
{
    int ns = stacked ? c->nseries : 1;
    char g[32];
    put(o, "<table class=\"vh\"><caption>");
    esc(o, c->title);
    put(o, "</caption><thead><tr><th scope=\"col\">");
    esc(o, c->x_name ? c->x_name : "");
    put(o, "</th>");
    for (int s = 0; s < ns; s++) {
        put(o, "<th scope=\"col\">");
        esc(o, stacked || !c->unit ? c->series[s].name : c->unit);
        put(o, "</th>");
    }
    if (stacked)
        put(o, "<th scope=\"col\">total</th>");
    put(o, "</tr></thead><tbody>");
    for (int i = 0; i < c->n; i++) {
        put(o, "<tr><th scope=\"row\">");
        esc(o, label(c, i));
        put(o, "</th>");
        int64_t total = 0;
        for (int s = 0; s < ns; s++) {
            total += value(c, i, s);
            svgc_group(g, sizeof g, value(c, i, s));
            put(o, "<td>%s</td>", g);
        }
        if (stacked) {
            svgc_group(g, sizeof g, total);
            put(o, "<td>%s</td>", g);
        }
        put(o, "</tr>");
    }
    if (c->n == 0)
        put(o, "<tr><td colspan=\"%d\">No data.</td></tr>", ns + 1 + stacked);
    put(o, "</tbody></table>");
}

/* "14 days from May 3 to May 16: 1,234 rows in all, at most 300 (May 5)." */
static void summary(out_t *o, const svgc_chart *c, int stacked)
{
    int64_t total = 0, best = -1;
    int at = 0;
    for (int i = 0; i < c->n; i++) {
        int64_t t = 0;
        for (int s = 0; s < (stacked ? c->nseries : 1); s++)
            t += value(c, i, s);
        total += t;
        if (t > best) {
            best = t;
            at = i;
        }
    }
    if (c->n == 0) {
        put(o, "No data.");
        return;
    }
    char g[32];
    put(o, "%d ", c->n);
    esc(o, c->x_name && *c->x_name ? c->x_name : "points");
    put(o, " from ");
    esc(o, label(c, 0));
    put(o, " to ");
    esc(o, label(c, c->n - 1));
    svgc_group(g, sizeof g, total);
    put(o, ": %s ", g);
    esc(o, c->unit ? c->unit : "");
    svgc_group(g, sizeof g, best);
    put(o, " in all, at most %s (", g);
    esc(o, label(c, at));
    put(o, ").");
}

static sl_err draw(sbuf *out, const svgc_chart *c, int stacked, sl_errbuf *eb)
{
    sl_err e = check(c, eb);
    if (e)
        return e;
    size_t mark = out->len;
    out_t o = {out, SL_OK};
    const char *id = id_ok(c->id) ? c->id : "chart";
    int64_t max = 0;
    for (int i = 0; i < c->n; i++) {
        int64_t t = 0;
        for (int s = 0; s < (stacked ? c->nseries : 1); s++)
            t += value(c, i, s);
        if (t > max)
            max = t;
    }
    svgc_axis ax;
    svgc_nice_axis(max, &ax);

    put(&o, "<figure class=\"chart\" id=\"%s\">", id);
    put(&o, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\""
            " aria-label=\"", SVGC_WIDTH, SVGC_HEIGHT);
    esc(&o, c->title);
    put(&o, "\" aria-describedby=\"%s-desc\" class=\"chart-svg\">", id);
    put(&o, "<title>");
    esc(&o, c->title);
    put(&o, "</title><desc id=\"%s-desc\">", id);
    summary(&o, c, stacked);
    put(&o, "</desc>");
    put(&o, "<text class=\"chart-title\" x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"600\""
            " fill=\"#1d2330\">");
    esc(&o, c->title);
    put(&o, "</text>");
    if (stacked)
        draw_legend(&o, c);
    draw_axis(&o, &ax);
    if (c->n > 0)
        draw_columns(&o, c, &ax, stacked);
    if (max == 0 && c->empty_text) {
        put(&o, "<text class=\"chart-empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\""
                " font-size=\"13\" font-style=\"italic\" fill=\"" TEXT_FILL "\">",
            SVGC_LEFT + SVGC_PLOT_W / 2, SVGC_TOP + SVGC_PLOT_H / 2);
        esc(&o, c->empty_text);
        put(&o, "</text>");
    }
    put(&o, "</svg>");
    data_table(&o, c, stacked);
    put(&o, "</figure>");
    if (o.e) {
        out->len = mark;
        if (out->ptr)
            out->ptr[mark] = '\0';
        return sl_fail(eb, o.e, "chart: the output is over %zu bytes", out->max);
    }
    return SL_OK;
}

sl_err svgc_bar(sbuf *out, const svgc_chart *c, sl_errbuf *eb)
{
    return draw(out, c, 0, eb);
}

sl_err svgc_stacked(sbuf *out, const svgc_chart *c, sl_errbuf *eb)
{
    return draw(out, c, 1, eb);
}
