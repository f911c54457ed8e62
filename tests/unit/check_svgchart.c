/* check_svgchart.c - unit tests for app/web/svgchart.c: nice axes (table),
 * tick labels and grouped numbers, bar heights and places from values,
 * stacked columns, tooltips, escaping of every text (title, labels,
 * series names, unit), zero and empty data, huge and negative values,
 * x label thinning, accessibility pieces, no style attributes, limits
 * and the output cap. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/svgchart.h"

/* --- helpers ------------------------------------------------------------------------- */

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

typedef struct {
    double x, y, w, h;
    char fill[16];
} bar;

/* The bars (<rect class="bar s<series>" ...>) of an output, in order. */
static int bars(const char *svg, int series, bar *out, int max)
{
    char tag[32];
    snprintf(tag, sizeof tag, "<rect class=\"bar s%d\"", series);
    int n = 0;
    for (const char *p = svg; (p = strstr(p, tag)) && n < max; p += strlen(tag)) {
        bar *b = &out[n++];
        static const char *fmt =
            " x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\" fill=\"%15[^\"]\"";
        ck_assert_int_eq(sscanf(p + strlen(tag), fmt, &b->x, &b->y, &b->w, &b->h, b->fill), 5);
    }
    return n;
}

static sbuf out;
static char *render(const svgc_chart *c, int stacked)
{
    sb_init(&out, NULL, 1024 * 1024);
    sl_errbuf eb = {0};
    sl_err e = stacked ? svgc_stacked(&out, c, &eb) : svgc_bar(&out, c, &eb);
    ck_assert_msg(e == SL_OK, "render: %s", eb.msg);
    return (char *)sb_str(&out);
}

static void done(void)
{
    sb_free(&out);
}

static const svgc_series one[] = {{"rows", "#1f6feb"}};

/* --- numbers ------------------------------------------------------------------------- */

static const struct {
    int64_t max, top, step;
    int nticks;
} axis_cases[] = {
    {-5, 1, 1, 2},
    {0, 1, 1, 2},
    {1, 1, 1, 2},
    {3, 3, 1, 4},
    {5, 5, 1, 6},
    {6, 6, 2, 4},
    {7, 8, 2, 5},
    {10, 10, 2, 6},
    {11, 15, 5, 4},
    {50, 50, 10, 6},
    {99, 100, 20, 6},
    {101, 150, 50, 4},
    {1000, 1000, 200, 6},
    {18030, 20000, 5000, 5},
    {9876543210LL, 10000000000LL, 2000000000LL, 6},
    {1000000000000000LL, 1000000000000000LL, 200000000000000LL, 6},
    {INT64_MAX, 8000000000000000LL, 2000000000000000LL, 5},
};

START_TEST(test_nice_axis)
{
    svgc_axis ax;
    svgc_nice_axis(axis_cases[_i].max, &ax);
    ck_assert_int_eq(ax.top, axis_cases[_i].top);
    ck_assert_int_eq(ax.step, axis_cases[_i].step);
    ck_assert_int_eq(ax.nticks, axis_cases[_i].nticks);
    /* The invariants: top covers max, at most five intervals, 1/2/5 x 10^k. */
    if (axis_cases[_i].max > 0 && axis_cases[_i].max < INT64_MAX)
        ck_assert(ax.top >= axis_cases[_i].max);
    ck_assert(ax.nticks >= 2 && ax.nticks <= 6);
    int64_t s = ax.step;
    while (s % 10 == 0)
        s /= 10;
    ck_assert(s == 1 || s == 2 || s == 5);
}
END_TEST

START_TEST(test_short_and_group)
{
    static const struct {
        int64_t v;
        const char *s, *g;
    } c[] = {
        {0, "0", "0"},
        {7, "7", "7"},
        {950, "950", "950"},
        {1000, "1k", "1,000"},
        {1500, "1.5k", "1,500"},
        {12345, "12.34k", "12,345"},
        {999999, "999.99k", "999,999"},
        {1000000, "1M", "1,000,000"},
        {1050000, "1.05M", "1,050,000"},
        {2500000, "2.5M", "2,500,000"},
        {1250000000, "1.25B", "1,250,000,000"},
        {10000000000LL, "10B", "10,000,000,000"},
        {3000000000000LL, "3T", "3,000,000,000,000"},
        {1000000000000000LL, "1P", "1,000,000,000,000,000"},
        {-1234, "-1.23k", "-1,234"},
        {INT64_MAX, "9223.37P", "9,223,372,036,854,775,807"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        svgc_short(buf, sizeof buf, c[i].v);
        ck_assert_str_eq(buf, c[i].s);
        svgc_group(buf, sizeof buf, c[i].v);
        ck_assert_str_eq(buf, c[i].g);
    }
    svgc_short(buf, 16, INT64_MIN); /* no overflow, fits in 16 */
    ck_assert_str_eq(buf, "-9223.37P");
}
END_TEST

/* --- bar charts ---------------------------------------------------------------------- */

START_TEST(test_bar_heights)
{
    const char *labels[] = {"d1", "d2", "d3", "d4"};
    int64_t v[] = {10, 20, 50, 0};
    svgc_chart c = {.id = "rows", .title = "Rows", .unit = "rows", .x_name = "Day",
                    .nseries = 1, .series = one, .n = 4, .labels = labels, .values = v};
    const char *s = render(&c, 0);
    bar b[8];
    int n = bars(s, 0, b, 8);
    ck_assert_int_eq(n, 3); /* no bar for 0 */
    double base = SVGC_TOP + SVGC_PLOT_H;
    double want[] = {32.0, 64.0, 160.0}; /* v * 160 / top (50) */
    double slot = (double)SVGC_PLOT_W / 4, bw = slot * 0.7 > 48 ? 48 : slot * 0.7;
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq_tol(b[i].h, want[i], 0.05);
        ck_assert_double_eq_tol(b[i].y + b[i].h, base, 0.1); /* standing on the axis */
        ck_assert_double_eq_tol(b[i].x, SVGC_LEFT + i * slot + (slot - bw) / 2, 0.1);
        ck_assert_double_eq_tol(b[i].w, bw, 0.1);
        ck_assert_str_eq(b[i].fill, "#1f6feb");
    }
    ck_assert(b[0].x < b[1].x && b[1].x < b[2].x);
    /* The y axis: 0, 10, .. 50, and one column per point with its tooltip. */
    for (int t = 0; t <= 50; t += 10) {
        char tick[48];
        snprintf(tick, sizeof tick, "text-anchor=\"end\">%d</text>", t);
        ck_assert_msg(strstr(s, tick), "tick %d", t);
    }
    ck_assert_int_eq(count(s, "class=\"tick\""), 6);
    ck_assert_int_eq(count(s, "<g class=\"col\">"), 4);
    ck_assert_ptr_nonnull(strstr(s, "<title>d1: 10 rows</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>d4: 0 rows</title>"));
    ck_assert_int_eq(count(s, "class=\"xlabel\""), 4);
    ck_assert_ptr_nonnull(strstr(s, ">d3</text>"));
    /* Accessibility: role, label, description, and the same numbers as a table. */
    ck_assert_ptr_nonnull(strstr(s, "<figure class=\"chart\" id=\"rows\">"));
    ck_assert_ptr_nonnull(strstr(s, "role=\"img\" aria-label=\"Rows\""));
    ck_assert_ptr_nonnull(strstr(s, "aria-describedby=\"rows-desc\""));
    ck_assert_ptr_nonnull(strstr(s, "<desc id=\"rows-desc\">4 Day from d1 to d4: 80 rows in all,"
                                    " at most 50 (d3).</desc>"));
    ck_assert_ptr_nonnull(strstr(s, "<table class=\"vh\"><caption>Rows</caption>"));
    ck_assert_ptr_nonnull(strstr(s, "<tr><th scope=\"row\">d2</th><td>20</td></tr>"));
    ck_assert_ptr_null(strstr(s, " style="));
    ck_assert_ptr_null(strstr(s, "<script"));
    ck_assert_int_eq(count(s, "<svg"), 1);
    ck_assert_int_eq(count(s, "</svg>"), 1);
    done();
}
END_TEST

START_TEST(test_escaping)
{
    const char *labels[] = {"<script>&\"'", NULL};
    int64_t v[] = {3, 4};
    svgc_series ser[] = {{"a<b>", "red;}"}}; /* a colour that is not one gets the default */
    svgc_chart c = {.id = "x\"><script>", .title = "T <b>&\"q\" 'x'</b>",
                    .unit = "<u>", .x_name = "<th>", .empty_text = "<e>", .nseries = 1,
                    .series = ser, .n = 2, .labels = labels, .values = v};
    const char *s = render(&c, 0);
    ck_assert_ptr_null(strstr(s, "<script"));
    ck_assert_ptr_null(strstr(s, "<b>"));
    ck_assert_ptr_null(strstr(s, "<u>"));
    ck_assert_ptr_null(strstr(s, "<th>"));
    ck_assert_ptr_null(strstr(s, "red;}"));
    ck_assert_ptr_nonnull(strstr(s, "id=\"chart\"")); /* a bad id is replaced */
    ck_assert_ptr_nonnull(strstr(s, "aria-label=\"T &lt;b&gt;&amp;&quot;q&quot; &#39;x&#39;"
                                    "&lt;/b&gt;\""));
    ck_assert_ptr_nonnull(strstr(s, "<title>&lt;script&gt;&amp;&quot;&#39;: 3 &lt;u&gt;</title>"));
    ck_assert_ptr_nonnull(strstr(s, ">&lt;script&gt;&amp;&quot;&#39;</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>: 4 &lt;u&gt;</title>")); /* a NULL label is "" */
    ck_assert_ptr_nonnull(strstr(s, "<th scope=\"col\">&lt;th&gt;</th>"));
    ck_assert_int_eq(count(s, "fill=\"#1f6feb\""), 2);
    done();

    /* Stacked: series names in the legend, tooltips and table are escaped too. */
    int64_t v2[] = {1, 2};
    svgc_series two[] = {{"ok & <fine>", NULL}, {"'bad'", "#c62828"}};
    svgc_chart c2 = {.id = "o", .title = "O", .unit = "runs", .x_name = "Day", .nseries = 2,
                     .series = two, .n = 1, .labels = (const char *[]){"May 3"}, .values = v2};
    s = render(&c2, 1);
    ck_assert_ptr_null(strstr(s, "<fine>"));
    ck_assert_ptr_nonnull(strstr(s, ">ok &amp; &lt;fine&gt;</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">&#39;bad&#39;</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>May 3: 3 runs (1 ok &amp; &lt;fine&gt;, 2 "
                                    "&#39;bad&#39;)</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<th scope=\"col\">&#39;bad&#39;</th>"));
    done();
}
END_TEST

START_TEST(test_zero_and_empty)
{
    const char *labels[] = {"a", "b", "c"};
    int64_t zero[] = {0, 0, 0};
    svgc_chart c = {.id = "z", .title = "Z", .unit = "rows", .x_name = "Day",
                    .empty_text = "Nothing synced yet.", .nseries = 1, .series = one, .n = 3,
                    .labels = labels, .values = zero};
    const char *s = render(&c, 0);
    bar b[4];
    ck_assert_int_eq(bars(s, 0, b, 4), 0);
    ck_assert_int_eq(count(s, "<g class=\"col\">"), 3);
    ck_assert_int_eq(count(s, "class=\"tick\""), 2); /* 0 and 1 */
    ck_assert_ptr_nonnull(strstr(s, "text-anchor=\"end\">0</text>"));
    ck_assert_ptr_nonnull(strstr(s, "text-anchor=\"end\">1</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">Nothing synced yet.</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<td>0</td>"));
    ck_assert_ptr_null(strstr(s, " style="));
    done();

    /* No points at all: the axis, the empty text, a table that says so. */
    c.n = 0;
    c.labels = NULL;
    c.values = NULL;
    s = render(&c, 0);
    ck_assert_int_eq(count(s, "<g class=\"col\">"), 0);
    ck_assert_int_eq(count(s, "class=\"xlabel\""), 0);
    ck_assert_ptr_nonnull(strstr(s, ">Nothing synced yet.</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<desc id=\"z-desc\">No data.</desc>"));
    ck_assert_ptr_nonnull(strstr(s, "<td colspan=\"2\">No data.</td>"));
    ck_assert_ptr_nonnull(strstr(s, "</svg>"));
    done();

    /* Data but no empty text: nothing drawn across the plot. */
    int64_t some[] = {0, 5, 0};
    c.n = 3;
    c.labels = labels;
    c.values = some;
    s = render(&c, 0);
    ck_assert_ptr_null(strstr(s, "Nothing synced"));
    ck_assert_int_eq(bars(s, 0, b, 4), 1);
    done();
}
END_TEST

START_TEST(test_huge_and_negative)
{
    const char *labels[] = {"big", "tiny", "neg", "over"};
    int64_t v[] = {9876543210LL, 1, -50, 0};
    svgc_chart c = {.id = "h", .title = "H", .unit = "rows", .x_name = "Day", .nseries = 1,
                    .series = one, .n = 3, .labels = labels, .values = v};
    const char *s = render(&c, 0);
    static const char *const ticks[] = {"0", "2B", "4B", "6B", "8B", "10B"};
    for (size_t k = 0; k < sizeof ticks / sizeof ticks[0]; k++) {
        char tick[48];
        snprintf(tick, sizeof tick, "text-anchor=\"end\">%s</text>", ticks[k]);
        ck_assert_msg(strstr(s, tick), "tick %s", ticks[k]);
    }
    ck_assert_int_eq(count(s, "class=\"tick\""), 6);
    bar b[4];
    ck_assert_int_eq(bars(s, 0, b, 4), 2); /* the negative value is drawn as 0 */
    ck_assert_double_eq_tol(b[0].h, 9876543210.0 * 160 / 10000000000.0, 0.05);
    ck_assert_double_eq_tol(b[1].h, 1.0, 1e-9); /* a tiny value still shows */
    ck_assert_ptr_nonnull(strstr(s, "<title>big: 9,876,543,210 rows</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>neg: 0 rows</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<td>9,876,543,210</td>"));
    done();

    /* Past SVGC_MAX_VALUE: drawn as the cap, full height, no overflow. */
    int64_t over[] = {INT64_MAX, INT64_MAX};
    svgc_chart c2 = c;
    c2.n = 2;
    c2.labels = labels + 2;
    c2.values = over;
    s = render(&c2, 0);
    ck_assert_int_eq(bars(s, 0, b, 4), 2);
    ck_assert_double_eq_tol(b[0].h, SVGC_PLOT_H, 0.05);
    ck_assert_ptr_nonnull(strstr(s, "text-anchor=\"end\">1P</text>"));
    done();
}
END_TEST

START_TEST(test_stacked)
{
    const char *labels[] = {"d0", "d1", "d2"};
    int64_t v[] = {1, 2, 3, /* */ 0, 0, 0, /* */ 5, 0, 0};
    svgc_series ser[] = {{"ok", "#1a7f37"}, {"failed", "#c62828"}, {"skipped", "#9ca3af"}};
    svgc_chart c = {.id = "st", .title = "Outcomes", .unit = "runs", .x_name = "Day",
                    .nseries = 3, .series = ser, .n = 3, .labels = labels, .values = v};
    const char *s = render(&c, 1);
    /* max column 6: axis 0, 2, 4, 6 */
    ck_assert_int_eq(count(s, "class=\"tick\""), 4);
    ck_assert_ptr_nonnull(strstr(s, "text-anchor=\"end\">6</text>"));
    bar b0[4], b1[4], b2[4];
    ck_assert_int_eq(bars(s, 0, b0, 4), 2);
    ck_assert_int_eq(bars(s, 1, b1, 4), 1);
    ck_assert_int_eq(bars(s, 2, b2, 4), 1);
    double u = 160.0 / 6, base = SVGC_TOP + SVGC_PLOT_H;
    ck_assert_double_eq_tol(b0[0].h, 1 * u, 0.05);
    ck_assert_double_eq_tol(b1[0].h, 2 * u, 0.05);
    ck_assert_double_eq_tol(b2[0].h, 3 * u, 0.05);
    /* Stacked: each part on top of the one below, the column full height. */
    ck_assert_double_eq_tol(b0[0].y + b0[0].h, base, 0.1);
    ck_assert_double_eq_tol(b1[0].y + b1[0].h, b0[0].y, 0.1);
    ck_assert_double_eq_tol(b2[0].y + b2[0].h, b1[0].y, 0.1);
    ck_assert_double_eq_tol(b2[0].y, SVGC_TOP, 0.1);
    ck_assert_double_eq_tol(b0[1].h, 5 * u, 0.05);
    ck_assert_double_eq_tol(b0[0].x, b1[0].x, 1e-9);
    ck_assert_str_eq(b1[0].fill, "#c62828");
    ck_assert_ptr_nonnull(strstr(s, "<title>d0: 6 runs (1 ok, 2 failed, 3 skipped)</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>d1: 0 runs (0 ok, 0 failed, 0 skipped)</title>"));
    ck_assert_ptr_nonnull(strstr(s, "class=\"chart-legend\""));
    ck_assert_ptr_nonnull(strstr(s, "<tr><th scope=\"row\">d0</th><td>1</td><td>2</td><td>3</td>"
                                    "<td>6</td></tr>"));
    ck_assert_ptr_nonnull(strstr(s, "<th scope=\"col\">total</th>"));
    done();

    /* The same chart as plain bars draws series 0 only, without a legend. */
    s = render(&c, 0);
    ck_assert_int_eq(bars(s, 1, b1, 4), 0);
    ck_assert_int_eq(bars(s, 0, b0, 4), 2);
    ck_assert_ptr_null(strstr(s, "chart-legend"));
    ck_assert_ptr_nonnull(strstr(s, "text-anchor=\"end\">5</text>"));
    done();
}
END_TEST

START_TEST(test_x_labels_thinned)
{
    const char *labels[14];
    int64_t v[14];
    char names[14][8];
    for (int i = 0; i < 14; i++) {
        snprintf(names[i], sizeof names[i], "L%d", i);
        labels[i] = names[i];
        v[i] = i;
    }
    svgc_chart c = {.id = "t", .title = "T", .unit = "rows", .x_name = "Day", .nseries = 1,
                    .series = one, .n = 14, .labels = labels, .values = v};
    const char *s = render(&c, 0);
    ck_assert_int_eq(count(s, "<g class=\"col\">"), 14);
    ck_assert_int_eq(count(s, "class=\"xlabel\""), 7);
    ck_assert_ptr_nonnull(strstr(s, ">L13</text>")); /* the latest is always labelled */
    ck_assert_ptr_null(strstr(s, ">L12</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">L1</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>L12: 12 rows</title>")); /* tooltips for all */
    bar b[16];
    ck_assert_int_eq(bars(s, 0, b, 16), 13);
    done();
}
END_TEST

START_TEST(test_limits)
{
    sl_errbuf eb = {0};
    sbuf b;
    sb_init(&b, NULL, 1024 * 1024);
    int64_t v[] = {1};
    const char *labels[] = {"a"};
    svgc_chart c = {.id = "l", .title = "L", .nseries = 0, .series = one, .n = 1,
                    .labels = labels, .values = v};
    ck_assert_int_eq(svgc_bar(&b, &c, &eb), SL_EINVAL);
    c.nseries = SVGC_MAX_SERIES + 1;
    ck_assert_int_eq(svgc_stacked(&b, &c, &eb), SL_EINVAL);
    c.nseries = 1;
    c.n = SVGC_MAX_POINTS + 1;
    ck_assert_int_eq(svgc_bar(&b, &c, &eb), SL_EINVAL);
    c.n = 1;
    c.values = NULL;
    ck_assert_int_eq(svgc_bar(&b, &c, &eb), SL_EINVAL);
    ck_assert_uint_eq(b.len, 0);
    sb_free(&b);

    /* The cap: a failure leaves what was there before. */
    c.values = v;
    sb_init(&b, NULL, 600);
    ck_assert_int_eq(sb_puts(&b, "before"), SL_OK);
    ck_assert_int_eq(svgc_bar(&b, &c, &eb), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&b), "before");
    sb_free(&b);

    /* The largest chart fits in 1 MiB. */
    static int64_t big[SVGC_MAX_POINTS * SVGC_MAX_SERIES];
    static const char *bl[SVGC_MAX_POINTS];
    for (int i = 0; i < SVGC_MAX_POINTS * SVGC_MAX_SERIES; i++)
        big[i] = 1234567890123LL + i;
    for (int i = 0; i < SVGC_MAX_POINTS; i++)
        bl[i] = "Sep 30";
    svgc_series eight[SVGC_MAX_SERIES];
    for (int i = 0; i < SVGC_MAX_SERIES; i++)
        eight[i] = (svgc_series){"cancelled", NULL};
    svgc_chart m = {.id = "m", .title = "M", .unit = "runs", .x_name = "Day",
                    .nseries = SVGC_MAX_SERIES, .series = eight, .n = SVGC_MAX_POINTS,
                    .labels = bl, .values = big};
    sb_init(&b, NULL, 1024 * 1024);
    ck_assert_int_eq(svgc_stacked(&b, &m, &eb), SL_OK);
    ck_assert_int_eq(count(sb_str(&b), "<g class=\"col\">"), SVGC_MAX_POINTS);
    sb_free(&b);
}
END_TEST

static Suite *svgchart_suite(void)
{
    Suite *s = suite_create("svgchart");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_nice_axis, 0, sizeof axis_cases / sizeof axis_cases[0]);
    tcase_add_test(tc, test_short_and_group);
    tcase_add_test(tc, test_bar_heights);
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_zero_and_empty);
    tcase_add_test(tc, test_huge_and_negative);
    tcase_add_test(tc, test_stacked);
    tcase_add_test(tc, test_x_labels_thinned);
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(svgchart_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
