/* check_depgraph.c - unit tests for app/web/depgraph.c: layers of a chain,
 * a diamond, a diamond with a long side (dummy slots), a disconnected
 * pair, cycles and self-loops (always terminate; the cut edges marked),
 * crossings removed by the barycenter sweeps, a few hundred random nodes
 * (every layer a permutation, edges forward), bad edges refused, name
 * truncation, and the SVG (links, escaping, counts, no style attributes). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/depgraph.h"

static arena *A;

static void setup(void)
{
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

static dg_layout lay(int n, const dg_edge *e, int ne)
{
    dg_layout l;
    sl_errbuf eb = {0};
    ck_assert_msg(dg_layout_compute(A, n, e, ne, &l, &eb) == SL_OK, "layout: %s", eb.msg);
    return l;
}

/* Every layer's positions are 0..size-1 exactly once; forward edges go
 * to a later layer; the sizes add up. */
static void check_sane(const dg_layout *l, const dg_edge *e)
{
    int total = 0;
    for (int k = 0; k < l->nlayers; k++) {
        int size = l->layer_size[k];
        total += size;
        ck_assert_int_le(size, l->width);
        char *seen = calloc((size_t)size + 1, 1);
        for (int v = 0; v < l->total; v++) {
            if (l->layer[v] != k)
                continue;
            ck_assert_int_ge(l->pos[v], 0);
            ck_assert_int_lt(l->pos[v], size);
            ck_assert_int_eq(seen[l->pos[v]], 0);
            seen[l->pos[v]] = 1;
        }
        free(seen);
    }
    ck_assert_int_eq(total, l->total);
    for (int i = 0; i < l->ne; i++) {
        if (l->back[i])
            continue;
        ck_assert_int_gt(l->layer[e[i].to], l->layer[e[i].from]);
        /* dummies fill exactly the layers between */
        ck_assert_int_eq(l->path_len[i], l->layer[e[i].to] - l->layer[e[i].from] - 1);
        for (int k = 0; k < l->path_len[i]; k++)
            ck_assert_int_eq(l->layer[l->path[l->path_start[i] + k]],
                             l->layer[e[i].from] + 1 + k);
    }
    ck_assert_int_eq(dg_crossings(l, e), l->crossings);
}

static int backs(const dg_layout *l)
{
    int n = 0;
    for (int i = 0; i < l->ne; i++)
        n += l->back[i];
    return n;
}

START_TEST(test_chain)
{
    dg_edge e[] = {{0, 1, DG_DEPENDS}, {1, 2, DG_DEPENDS}, {2, 3, DG_DEPENDS}};
    dg_layout l = lay(4, e, 3);
    check_sane(&l, e);
    for (int v = 0; v < 4; v++) {
        ck_assert_int_eq(l.layer[v], v);
        ck_assert_int_eq(l.pos[v], 0);
    }
    ck_assert_int_eq(l.nlayers, 4);
    ck_assert_int_eq(l.width, 1);
    ck_assert_int_eq(l.total, 4);
    ck_assert_int_eq(backs(&l), 0);

    /* The same chain given backwards (3 -> 2 -> 1 -> 0). */
    dg_edge r[] = {{3, 2, DG_DEPENDS}, {2, 1, DG_DEPENDS}, {1, 0, DG_DEPENDS}};
    l = lay(4, r, 3);
    check_sane(&l, r);
    ck_assert_int_eq(l.layer[3], 0);
    ck_assert_int_eq(l.layer[0], 3);
}
END_TEST

START_TEST(test_diamond)
{
    /* a -> b, a -> c, b -> d, c -> d */
    dg_edge e[] = {{0, 1, DG_DEPENDS}, {0, 2, DG_DEPENDS}, {1, 3, DG_DEPENDS},
                   {2, 3, DG_TRIGGER}};
    dg_layout l = lay(4, e, 4);
    check_sane(&l, e);
    ck_assert_int_eq(l.layer[0], 0);
    ck_assert_int_eq(l.layer[1], 1);
    ck_assert_int_eq(l.layer[2], 1);
    ck_assert_int_eq(l.layer[3], 2);
    ck_assert_int_eq(l.nlayers, 3);
    ck_assert_int_eq(l.width, 2);
    ck_assert_int_eq(l.crossings, 0);
    ck_assert_int_eq(l.total, 4); /* no dummies */

    /* A long side: a -> b -> c -> e and a -> d -> e: e is at layer 3 (the
     * longest path), d at 1, and d -> e passes one dummy at layer 2. */
    dg_edge f[] = {{0, 1, DG_DEPENDS}, {1, 2, DG_DEPENDS}, {2, 4, DG_DEPENDS},
                   {0, 3, DG_DEPENDS}, {3, 4, DG_DEPENDS}};
    l = lay(5, f, 5);
    check_sane(&l, f);
    ck_assert_int_eq(l.layer[4], 3);
    ck_assert_int_eq(l.layer[3], 1);
    ck_assert_int_eq(l.path_len[4], 1);
    ck_assert_int_eq(l.total, 6);
    ck_assert_int_eq(l.layer[l.path[l.path_start[4]]], 2);
    ck_assert_int_eq(l.crossings, 0);
}
END_TEST

START_TEST(test_disconnected)
{
    dg_layout l = lay(2, NULL, 0);
    check_sane(&l, NULL);
    ck_assert_int_eq(l.nlayers, 1);
    ck_assert_int_eq(l.layer[0], 0);
    ck_assert_int_eq(l.layer[1], 0);
    ck_assert_int_eq(l.pos[0], 0); /* the given order is kept */
    ck_assert_int_eq(l.pos[1], 1);
    ck_assert_int_eq(l.width, 2);

    /* Two separate pairs: a -> b, c -> d. */
    dg_edge e[] = {{0, 1, DG_DEPENDS}, {2, 3, DG_DEPENDS}};
    l = lay(4, e, 2);
    check_sane(&l, e);
    ck_assert_int_eq(l.layer[0], 0);
    ck_assert_int_eq(l.layer[2], 0);
    ck_assert_int_eq(l.layer[1], 1);
    ck_assert_int_eq(l.layer[3], 1);
    ck_assert_int_eq(l.crossings, 0);

    l = lay(0, NULL, 0);
    ck_assert_int_eq(l.nlayers, 0);
    ck_assert_int_eq(l.width, 0);
}
END_TEST

START_TEST(test_cycles_terminate)
{
    /* a -> b -> c -> a: one edge is cut, the rest is a chain. */
    dg_edge e[] = {{0, 1, DG_DEPENDS}, {1, 2, DG_DEPENDS}, {2, 0, DG_DEPENDS}};
    dg_layout l = lay(3, e, 3);
    check_sane(&l, e);
    ck_assert_int_eq(backs(&l), 1);
    ck_assert_int_eq(l.nlayers, 3);
    ck_assert(l.layer[0] != l.layer[1] && l.layer[1] != l.layer[2] &&
              l.layer[0] != l.layer[2]);

    /* A self-loop is cut and changes nothing else. */
    dg_edge s[] = {{0, 0, DG_DEPENDS}, {0, 1, DG_DEPENDS}};
    l = lay(2, s, 2);
    check_sane(&l, s);
    ck_assert_int_eq(l.back[0], 1);
    ck_assert_int_eq(l.back[1], 0);
    ck_assert_int_eq(l.layer[1], 1);

    /* A root feeding a two-cycle with a tail: r -> x <-> y -> t. */
    dg_edge t[] = {{0, 1, DG_DEPENDS}, {1, 2, DG_DEPENDS}, {2, 1, DG_TRIGGER},
                   {2, 3, DG_DEPENDS}};
    l = lay(4, t, 4);
    check_sane(&l, t);
    ck_assert_int_eq(backs(&l), 1);
    ck_assert_int_eq(l.layer[0], 0);
    ck_assert_int_lt(l.layer[1], l.layer[3]);
    ck_assert_int_lt(l.layer[2], l.layer[3]);

    /* Everything points at everything (a complete digraph on 30 nodes). */
    int n = 30, m = 0;
    dg_edge *k = calloc((size_t)(n * n), sizeof *k);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            k[m++] = (dg_edge){i, j, DG_DEPENDS};
    l = lay(n, k, m);
    check_sane(&l, k);
    ck_assert_int_eq(l.nlayers, n); /* a total order once cut */
    free(k);
}
END_TEST

START_TEST(test_crossings_reduced)
{
    /* Layer 0: a, b; layer 1: c, d. a -> d, b -> c cross in the given
     * order; the sweeps uncross them. */
    dg_edge e[] = {{0, 3, DG_DEPENDS}, {1, 2, DG_DEPENDS}};
    dg_layout l = lay(4, e, 2);
    check_sane(&l, e);
    ck_assert_int_eq(l.crossings, 0);
    ck_assert_int_eq(l.pos[0] < l.pos[1], l.pos[3] < l.pos[2]);

    /* Three upstreams each feeding the mirror downstream. */
    dg_edge f[] = {{0, 5, DG_DEPENDS}, {1, 4, DG_DEPENDS}, {2, 3, DG_DEPENDS},
                   {0, 4, DG_DEPENDS}};
    l = lay(6, f, 4);
    check_sane(&l, f);
    ck_assert_int_eq(l.crossings, 0);
}
END_TEST

START_TEST(test_hundreds)
{
    /* 400 nodes: a random DAG (edges from lower to higher index) plus a
     * few back edges that make cycles. Terminates, stays sane, and the
     * crossings it reports are the ones there are. */
    unsigned seed = 12345;
    int n = 400, m = 0;
    dg_edge *e = calloc(1200, sizeof *e);
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        int a = (int)((seed >> 8) % (unsigned)n);
        seed = seed * 1103515245u + 12345u;
        int b = (int)((seed >> 8) % (unsigned)n);
        if (a == b)
            continue;
        e[m++] = (dg_edge){a < b ? a : b, a < b ? b : a, DG_DEPENDS};
    }
    for (int i = 0; i < 20; i++)
        e[m++] = (dg_edge){(i * 37 + 200) % n, (i * 11) % 100, DG_TRIGGER};
    dg_layout l = lay(n, e, m);
    check_sane(&l, e);
    ck_assert_int_gt(backs(&l), 0);
    ck_assert_int_lt(backs(&l), 21 + 1);
    free(e);
}
END_TEST

START_TEST(test_refused)
{
    sl_errbuf eb = {0};
    dg_layout l;
    dg_edge e[] = {{0, 2, DG_DEPENDS}};
    ck_assert_int_eq(dg_layout_compute(A, 2, e, 1, &l, &eb), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(eb.msg, "outside"));
    dg_edge f[] = {{-1, 0, DG_DEPENDS}};
    ck_assert_int_eq(dg_layout_compute(A, 2, f, 1, &l, &eb), SL_EINVAL);
    ck_assert_int_eq(dg_layout_compute(A, DG_MAX_NODES + 1, NULL, 0, &l, &eb), SL_EINVAL);
    ck_assert_int_eq(dg_layout_compute(A, 2, NULL, 1, &l, &eb), SL_EINVAL);
}
END_TEST

START_TEST(test_truncate)
{
    ck_assert_str_eq(dg_truncate(A, "short", 22), "short");
    ck_assert_str_eq(dg_truncate(A, "abcdef", 6), "abcdef");
    ck_assert_str_eq(dg_truncate(A, "abcdefg", 6), "abcde\xE2\x80\xA6");
    /* Multi-byte characters are counted and never split: "é" is 2 bytes. */
    ck_assert_str_eq(dg_truncate(A, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4),
                     "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
    ck_assert_str_eq(dg_truncate(A, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4),
                     "\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x80\xA6");
    ck_assert_str_eq(dg_truncate(A, "", 3), "");
}
END_TEST

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

START_TEST(test_svg)
{
    dg_node nodes[] = {
        {"11111111-1111-4111-8111-111111111111", "raw <orders> & \"co\"", "success", 0},
        {"22222222-2222-4222-8222-222222222222", "a very long pipeline name that goes on",
         "failed", 1},
        {"33333333-3333-4333-8333-333333333333", "marts", NULL, 0},
    };
    dg_edge e[] = {{0, 1, DG_DEPENDS}, {1, 2, DG_TRIGGER}, {0, 2, DG_DEPENDS | DG_TRIGGER},
                   {2, 0, DG_DEPENDS}};
    dg_layout l = lay(3, e, 4);
    check_sane(&l, e);
    ck_assert_int_eq(backs(&l), 1);
    sbuf b;
    sb_init(&b, NULL, 1024 * 1024);
    sl_errbuf eb = {0};
    ck_assert_int_eq(dg_svg(&b, nodes, e, &l, &eb), SL_OK);
    const char *s = sb_str(&b);
    ck_assert_int_eq(count(s, "<a class=\"dg-node\""), 3);
    ck_assert_int_eq(count(s, "<path class=\"dg-edge"), 4);
    ck_assert_int_eq(count(s, "class=\"dg-edge dg-back\""), 1);
    ck_assert_int_eq(count(s, "class=\"dg-edge dg-trigger\""), 1);
    ck_assert_int_eq(count(s, "class=\"dg-edge dg-depends\""), 2);
    ck_assert_ptr_nonnull(strstr(s, "href=\"/pipelines/11111111-1111-4111-8111-111111111111\""));
    ck_assert_ptr_null(strstr(s, "<orders>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>raw &lt;orders&gt; &amp; &quot;co&quot; \xE2\x80\x94 "
                                    "succeeded</title>"));
    ck_assert_ptr_nonnull(strstr(s, ">a very long pipeline \xE2\x80\xA6</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>a very long pipeline name that goes on \xE2\x80\x94 "
                                    "failed, paused</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>raw &lt;orders&gt; &amp; &quot;co&quot; \xE2\x86\x92 "
                                    "marts (depends on it, and runs when it succeeds)</title>"));
    ck_assert_ptr_nonnull(strstr(s, "data-status=\"none\""));
    ck_assert_ptr_nonnull(strstr(s, "never run"));
    ck_assert_ptr_nonnull(strstr(s, "stroke-dasharray=\"4 3\"")); /* the paused box */
    ck_assert_ptr_null(strstr(s, " style="));
    ck_assert_int_eq(count(s, "<svg"), 1);
    /* Size: three layers wide, one slot tall (plus room for the cut edge). */
    char want[96];
    int w = 2 * DG_PAD + 3 * DG_BOX_W + 2 * DG_GAP_X + 40;
    int h = 2 * DG_PAD + l.width * (DG_BOX_H + DG_GAP_Y) - DG_GAP_Y + 40;
    snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", w, h);
    ck_assert_ptr_nonnull(strstr(s, want));
    sb_free(&b);

    /* The cap: a failure leaves the buffer as it was. */
    sb_init(&b, NULL, 300);
    ck_assert_int_eq(dg_svg(&b, nodes, e, &l, &eb), SL_ETOOBIG);
    ck_assert_uint_eq(b.len, 0);
    sb_free(&b);
}
END_TEST

static Suite *depgraph_suite(void)
{
    Suite *s = suite_create("depgraph");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_diamond);
    tcase_add_test(tc, test_disconnected);
    tcase_add_test(tc, test_cycles_terminate);
    tcase_add_test(tc, test_crossings_reduced);
    tcase_add_test(tc, test_hundreds);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_truncate);
    tcase_add_test(tc, test_svg);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(depgraph_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
