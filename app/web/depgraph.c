/* depgraph.c - the pipelines' dependency graph: layered layout and SVG.
 *
 * dg_layout_compute() assigns layers (Kahn's order; longest path from the
 * roots; a cycle is cut at the free-est node when no node is free), adds
 * dummy slots for edges spanning layers, and orders each layer with
 * barycenter sweeps down and up, keeping the order with the fewest
 * crossings (counted per pair of adjacent layers as inversions, so
 * O(E log E)). dg_svg() draws the result left to right. Memory: the
 * caller's arena. */
#include "depgraph.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tpl.h"

#define SWEEPS 8 /* down-and-up barycenter passes */

/* --- adjacency ----------------------------------------------------------------------- */

/* Compressed lists: the items of node v are idx[start[v] .. start[v+1]). */
typedef struct {
    int *start, *idx;
} adj;

/* Items 0..m-1 grouped by key[i] (0..n-1); key < 0 leaves an item out. */
static adj group_by(arena *a, int n, const int *key, int m)
{
    adj g;
    g.start = arena_calloc(a, (size_t)n + 1, sizeof(int));
    g.idx = arena_calloc(a, (size_t)m + 1, sizeof(int));
    for (int i = 0; i < m; i++)
        if (key[i] >= 0)
            g.start[key[i] + 1]++;
    for (int v = 0; v < n; v++)
        g.start[v + 1] += g.start[v];
    int *fill = arena_calloc(a, (size_t)n + 1, sizeof(int));
    for (int i = 0; i < m; i++)
        if (key[i] >= 0)
            g.idx[g.start[key[i]] + fill[key[i]]++] = i;
    return g;
}

/* --- layers -------------------------------------------------------------------------- */

static void assign_layers(arena *a, int n, const dg_edge *e, int ne, dg_layout *l)
{
    int *to = arena_calloc(a, (size_t)ne + 1, sizeof(int));
    int *from = arena_calloc(a, (size_t)ne + 1, sizeof(int));
    for (int i = 0; i < ne; i++) {
        to[i] = e[i].to;
        from[i] = e[i].from;
    }
    adj in = group_by(a, n, to, ne), out = group_by(a, n, from, ne);
    int *rem = arena_calloc(a, (size_t)n + 1, sizeof(int));
    unsigned char *placed = arena_calloc(a, (size_t)n + 1, 1);
    int *queue = arena_calloc(a, (size_t)n + 1, sizeof(int));
    int head = 0, tail = 0, done = 0;
    for (int i = 0; i < ne; i++) {
        if (e[i].from == e[i].to)
            l->back[i] = 1;
        else
            rem[e[i].to]++;
    }
    for (int v = 0; v < n; v++)
        if (rem[v] == 0)
            queue[tail++] = v;
    while (done < n) {
        if (head == tail) {
            /* Only cycles are left: free the node with the fewest unplaced
             * upstreams by cutting those edges. */
            int best = -1;
            for (int v = 0; v < n; v++)
                if (!placed[v] && (best < 0 || rem[v] < rem[best]))
                    best = v;
            for (int k = in.start[best]; k < in.start[best + 1]; k++) {
                int ei = in.idx[k];
                if (!placed[e[ei].from])
                    l->back[ei] = 1;
            }
            rem[best] = 0;
            queue[tail++] = best;
        }
        int v = queue[head++];
        placed[v] = 1;
        done++;
        int layer = 0;
        for (int k = in.start[v]; k < in.start[v + 1]; k++) {
            int ei = in.idx[k];
            if (!l->back[ei] && placed[e[ei].from] && l->layer[e[ei].from] + 1 > layer)
                layer = l->layer[e[ei].from] + 1;
        }
        l->layer[v] = layer;
        if (layer + 1 > l->nlayers)
            l->nlayers = layer + 1;
        for (int k = out.start[v]; k < out.start[v + 1]; k++) {
            int ei = out.idx[k];
            if (l->back[ei])
                continue;
            if (--rem[e[ei].to] == 0)
                queue[tail++] = e[ei].to;
        }
    }
}

/* --- order within layers ------------------------------------------------------------- */

typedef struct {
    int a, b; /* a segment: node a (layer k) -> node b (layer k + 1, or later when direct) */
} seg;

typedef struct {
    double key;
    int prev, v;
} sortkey;

static int cmp_key(const void *x, const void *y)
{
    const sortkey *p = x, *q = y;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    return p->prev - q->prev;
}

typedef struct {
    int pa, pb;
} pospair;

static int cmp_pair(const void *x, const void *y)
{
    const pospair *p = x, *q = y;
    if (p->pa != q->pa)
        return p->pa - q->pa;
    return p->pb - q->pb;
}

/* Pairs i < j with v[i] > v[j], sorting v (tmp: scratch of n). */
static long inversions(int *v, int *tmp, int n)
{
    if (n < 2)
        return 0;
    int h = n / 2;
    long c = inversions(v, tmp, h) + inversions(v + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) {
        if (v[j] < v[i]) {
            c += h - i;
            tmp[k++] = v[j++];
        } else {
            tmp[k++] = v[i++];
        }
    }
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, (size_t)n * sizeof(int));
    return c;
}

/* Crossings of the segments between adjacent layers. by_layer groups the
 * segment indices by the upper node's layer. */
static long count_crossings(const dg_layout *l, const seg *s, adj by_layer, pospair *pp,
                            int *v, int *tmp)
{
    long c = 0;
    for (int k = 0; k < l->nlayers; k++) {
        int m = 0;
        for (int q = by_layer.start[k]; q < by_layer.start[k + 1]; q++) {
            const seg *g = &s[by_layer.idx[q]];
            pp[m++] = (pospair){l->pos[g->a], l->pos[g->b]};
        }
        qsort(pp, (size_t)m, sizeof *pp, cmp_pair);
        for (int i = 0; i < m; i++)
            v[i] = pp[i].pb;
        c += inversions(v, tmp, m);
    }
    return c;
}

/* Reorder layer k by the mean place of each node's neighbours (the other
 * ends of its segments in nb); nodes without any keep their place. */
static void reorder(dg_layout *l, int *members, int size, const seg *s, adj nb, int up,
                    sortkey *keys)
{
    for (int i = 0; i < size; i++) {
        int v = members[i];
        double sum = 0;
        int cnt = 0;
        for (int q = nb.start[v]; q < nb.start[v + 1]; q++) {
            const seg *g = &s[nb.idx[q]];
            sum += l->pos[up ? g->a : g->b];
            cnt++;
        }
        keys[i] = (sortkey){cnt ? sum / cnt : l->pos[v], l->pos[v], v};
    }
    qsort(keys, (size_t)size, sizeof *keys, cmp_key);
    for (int i = 0; i < size; i++) {
        members[i] = keys[i].v;
        l->pos[keys[i].v] = i;
    }
}

/* Dummy slots for the edges that span layers, then the segments. */
static seg *add_dummies(arena *a, const dg_edge *e, dg_layout *l, int *nseg)
{
    int dummies = 0;
    for (int i = 0; i < l->ne; i++) {
        int span = l->back[i] ? 0 : l->layer[e[i].to] - l->layer[e[i].from] - 1;
        if (span > 0 && dummies + span <= DG_MAX_DUMMIES) {
            l->path_start[i] = dummies;
            l->path_len[i] = span;
            dummies += span;
        }
    }
    l->total = l->n + dummies;
    int *layer = arena_calloc(a, (size_t)l->total + 1, sizeof(int));
    memcpy(layer, l->layer, (size_t)l->n * sizeof(int));
    l->layer = layer;
    l->path = arena_calloc(a, (size_t)dummies + 1, sizeof(int));
    seg *s = arena_calloc(a, (size_t)(l->ne + dummies) + 1, sizeof(seg));
    int m = 0;
    for (int i = 0; i < l->ne; i++) {
        if (l->back[i])
            continue;
        int prev = e[i].from;
        for (int k = 0; k < l->path_len[i]; k++) {
            int d = l->n + l->path_start[i] + k;
            l->path[l->path_start[i] + k] = d;
            l->layer[d] = l->layer[e[i].from] + 1 + k;
            s[m++] = (seg){prev, d};
            prev = d;
        }
        s[m++] = (seg){prev, e[i].to};
    }
    *nseg = m;
    return s;
}

static void order_layers(arena *a, dg_layout *l, const seg *s, int m)
{
    int total = l->total;
    l->pos = arena_calloc(a, (size_t)total + 1, sizeof(int));
    l->layer_size = arena_calloc(a, (size_t)l->nlayers + 1, sizeof(int));
    adj members = group_by(a, l->nlayers, l->layer, total);
    for (int k = 0; k < l->nlayers; k++) {
        l->layer_size[k] = members.start[k + 1] - members.start[k];
        if (l->layer_size[k] > l->width)
            l->width = l->layer_size[k];
        for (int q = members.start[k]; q < members.start[k + 1]; q++)
            l->pos[members.idx[q]] = q - members.start[k];
    }
    /* Neighbours above (segments ending at v), below (starting at v), and
     * the segments between adjacent layers by the upper layer. */
    int *ka = arena_calloc(a, (size_t)m + 1, sizeof(int));
    int *kb = arena_calloc(a, (size_t)m + 1, sizeof(int));
    int *kl = arena_calloc(a, (size_t)m + 1, sizeof(int));
    for (int i = 0; i < m; i++) {
        ka[i] = s[i].a;
        kb[i] = s[i].b;
        kl[i] = l->layer[s[i].b] == l->layer[s[i].a] + 1 ? l->layer[s[i].a] : -1;
    }
    adj below = group_by(a, total, ka, m), above = group_by(a, total, kb, m);
    adj by_layer = group_by(a, l->nlayers, kl, m);
    pospair *pp = arena_calloc(a, (size_t)m + 1, sizeof *pp);
    int *v = arena_calloc(a, (size_t)m + 1, sizeof(int));
    int *tmp = arena_calloc(a, (size_t)m + 1, sizeof(int));
    sortkey *keys = arena_calloc(a, (size_t)l->width + 1, sizeof *keys);
    int *best = arena_calloc(a, (size_t)total + 1, sizeof(int));
    memcpy(best, l->pos, (size_t)total * sizeof(int));
    long best_c = count_crossings(l, s, by_layer, pp, v, tmp);
    for (int it = 0; it < SWEEPS && best_c > 0; it++) {
        for (int k = 1; k < l->nlayers; k++)
            reorder(l, members.idx + members.start[k], l->layer_size[k], s, above, 1, keys);
        for (int k = l->nlayers - 2; k >= 0; k--)
            reorder(l, members.idx + members.start[k], l->layer_size[k], s, below, 0, keys);
        long c = count_crossings(l, s, by_layer, pp, v, tmp);
        if (c < best_c) {
            best_c = c;
            memcpy(best, l->pos, (size_t)total * sizeof(int));
        }
    }
    memcpy(l->pos, best, (size_t)total * sizeof(int));
    l->crossings = best_c;
}

sl_err dg_layout_compute(arena *a, int n, const dg_edge *edges, int ne, dg_layout *out,
                         sl_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (n < 0 || n > DG_MAX_NODES)
        return sl_fail(eb, SL_EINVAL, "graph: 0 to %d nodes", DG_MAX_NODES);
    if (ne < 0 || ne > DG_MAX_EDGES || (ne > 0 && !edges))
        return sl_fail(eb, SL_EINVAL, "graph: 0 to %d edges", DG_MAX_EDGES);
    for (int i = 0; i < ne; i++)
        if (edges[i].from < 0 || edges[i].from >= n || edges[i].to < 0 || edges[i].to >= n)
            return sl_fail(eb, SL_EINVAL, "graph: edge %d names a node outside 0..%d", i,
                           n - 1);
    out->n = n;
    out->ne = ne;
    out->layer = arena_calloc(a, (size_t)n + 1, sizeof(int));
    out->back = arena_calloc(a, (size_t)ne + 1, 1);
    out->path_start = arena_calloc(a, (size_t)ne + 1, sizeof(int));
    out->path_len = arena_calloc(a, (size_t)ne + 1, sizeof(int));
    assign_layers(a, n, edges, ne, out);
    int m;
    seg *s = add_dummies(a, edges, out, &m);
    order_layers(a, out, s, m);
    return SL_OK;
}

/* The k-th segment of edge i: its ends in *a and *b; 0 past the last. */
static int segment(const dg_layout *l, const dg_edge *e, int i, int k, int *a, int *b)
{
    if (l->back[i] || k > l->path_len[i])
        return 0;
    *a = k == 0 ? e[i].from : l->path[l->path_start[i] + k - 1];
    *b = k == l->path_len[i] ? e[i].to : l->path[l->path_start[i] + k];
    return 1;
}

long dg_crossings(const dg_layout *l, const dg_edge *edges)
{
    /* Every pair of segments: quadratic, for tests and small graphs. */
    long c = 0;
    int a1, b1, a2, b2;
    for (int i = 0; i < l->ne; i++) {
        for (int k = 0; segment(l, edges, i, k, &a1, &b1); k++) {
            if (l->layer[b1] != l->layer[a1] + 1)
                continue;
            for (int j = i; j < l->ne; j++) {
                for (int q = j == i ? k + 1 : 0; segment(l, edges, j, q, &a2, &b2); q++) {
                    if (l->layer[a2] != l->layer[a1] || l->layer[b2] != l->layer[b1])
                        continue;
                    if ((long)(l->pos[a1] - l->pos[a2]) * (l->pos[b1] - l->pos[b2]) < 0)
                        c++;
                }
            }
        }
    }
    return c;
}

/* --- drawing ------------------------------------------------------------------------- */

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

const char *dg_truncate(arena *a, const char *s, int max)
{
    int chars = 0;
    size_t cut = 0;
    for (size_t i = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80)
            continue; /* a continuation byte */
        if (chars == max - 1)
            cut = i;
        if (++chars > max)
            return arena_printf(a, "%.*s\xE2\x80\xA6", (int)cut, s);
    }
    return s;
}

typedef struct {
    const char *fill, *stroke, *text;
} look;

static look status_look(const char *st)
{
    if (!st)
        return (look){"#ffffff", "#9ca3af", "never run"};
    if (strcmp(st, "success") == 0)
        return (look){"#e8f5ec", "#1a7f37", "succeeded"};
    if (strcmp(st, "failed") == 0)
        return (look){"#fdecec", "#c62828", "failed"};
    if (strcmp(st, "running") == 0)
        return (look){"#e6efff", "#1f6feb", "running"};
    if (strcmp(st, "queued") == 0)
        return (look){"#e6efff", "#1f6feb", "queued"};
    if (strcmp(st, "cancelled") == 0)
        return (look){"#fff4d6", "#9a6700", "cancelled"};
    return (look){"#f1f3f7", "#9ca3af", "skipped"};
}

static double node_x(const dg_layout *l, int v)
{
    return DG_PAD + l->layer[v] * (DG_BOX_W + DG_GAP_X);
}

static double node_y(const dg_layout *l, int v)
{
    return DG_PAD + (l->width - l->layer_size[l->layer[v]]) * (DG_BOX_H + DG_GAP_Y) / 2.0 +
           l->pos[v] * (DG_BOX_H + DG_GAP_Y);
}

static void edge_title(out_t *o, const dg_node *nodes, const dg_edge *e, int back)
{
    put(o, "<title>");
    esc(o, nodes[e->from].name);
    put(o, " \xE2\x86\x92 ");
    esc(o, nodes[e->to].name);
    if (back)
        put(o, " (part of a cycle)");
    else if ((e->kind & DG_DEPENDS) && (e->kind & DG_TRIGGER))
        put(o, " (depends on it, and runs when it succeeds)");
    else if (e->kind & DG_TRIGGER)
        put(o, " (runs when it succeeds)");
    else
        put(o, " (depends on it)");
    put(o, "</title>");
}

static void draw_edge(out_t *o, const dg_node *nodes, const dg_edge *e, const dg_layout *l,
                      int i)
{
    const char *cls, *stroke, *marker, *dash = "";
    if (l->back[i]) {
        cls = "dg-edge dg-back";
        stroke = "#c62828";
        marker = "dg-arrow-back";
        dash = " stroke-dasharray=\"5 4\"";
    } else if (e->kind & DG_DEPENDS) {
        cls = "dg-edge dg-depends";
        stroke = "#6b7280";
        marker = "dg-arrow";
    } else {
        cls = "dg-edge dg-trigger";
        stroke = "#1f6feb";
        marker = "dg-arrow-trigger";
        dash = " stroke-dasharray=\"7 3\"";
    }
    put(o, "<path class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s"
           " marker-end=\"url(#%s)\" d=\"",
        cls, stroke, dash, marker);
    double fx = node_x(l, e->from), fy = node_y(l, e->from);
    double tx = node_x(l, e->to), ty = node_y(l, e->to);
    if (e->from == e->to) { /* a loop on the right side */
        double x = fx + DG_BOX_W, cy = fy + DG_BOX_H / 2.0;
        put(o, "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x, cy - 8, x + 34, cy - 28,
            x + 34, cy + 28, x + 2, cy + 8);
    } else if (l->back[i]) { /* an arc under both boxes */
        double x1 = fx + DG_BOX_W / 2.0, y1 = fy + DG_BOX_H;
        double x2 = tx + DG_BOX_W / 2.0, y2 = ty + DG_BOX_H + 2;
        double low = (y1 > y2 ? y1 : y2) + 30;
        put(o, "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, x1, low, x2, low, x2, y2);
    } else {
        double cx = fx + DG_BOX_W, cy = fy + DG_BOX_H / 2.0;
        put(o, "M%.1f,%.1f", cx, cy);
        for (int k = 0; k <= l->path_len[i]; k++) {
            int last = k == l->path_len[i];
            int d = last ? e->to : l->path[l->path_start[i] + k];
            double px = last ? tx - 2 : node_x(l, d), py = last ? ty + DG_BOX_H / 2.0
                                                                : node_y(l, d) + DG_BOX_H / 2.0;
            double mid = (px - cx) / 2;
            put(o, " C%.1f,%.1f %.1f,%.1f %.1f,%.1f", cx + mid, cy, px - mid, py, px, py);
            if (!last) { /* straight through the dummy's column */
                cx = px + DG_BOX_W;
                cy = py;
                put(o, " L%.1f,%.1f", cx, cy);
            }
        }
    }
    put(o, "\">");
    edge_title(o, nodes, e, l->back[i]);
    put(o, "</path>");
}

static void draw_node(out_t *o, arena *a, const dg_node *nd, const dg_layout *l, int v)
{
    double x = node_x(l, v), y = node_y(l, v);
    look lk = status_look(nd->status);
    put(o, "<a class=\"dg-node\" href=\"/pipelines/");
    esc(o, nd->id);
    put(o, "\" data-status=\"%s\"><title>", nd->status ? lk.text : "none");
    esc(o, nd->name);
    put(o, " \xE2\x80\x94 %s%s</title>", lk.text, nd->paused ? ", paused" : "");
    put(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\""
           " stroke=\"%s\" stroke-width=\"1.5\"%s/>",
        x, y, DG_BOX_W, DG_BOX_H, lk.fill, lk.stroke,
        nd->paused ? " stroke-dasharray=\"4 3\"" : "");
    put(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>", x + 14, y + 16, lk.stroke);
    put(o, "<text class=\"dg-name\" x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"600\""
           " fill=\"#1d2330\">",
        x + 26, y + 20);
    esc(o, dg_truncate(a, nd->name ? nd->name : "", DG_NAME_MAX));
    put(o, "</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#5b6577\">%s%s</text>",
        x + 26, y + 36, lk.text, nd->paused ? " \xC2\xB7 paused" : "");
    put(o, "</a>");
}

sl_err dg_svg(sbuf *out, const dg_node *nodes, const dg_edge *edges, const dg_layout *l,
              sl_errbuf *eb)
{
    size_t mark = out->len;
    out_t o = {out, SL_OK};
    arena *a = arena_new(16 * 1024);
    int any_back = 0;
    for (int i = 0; i < l->ne; i++)
        any_back |= l->back[i];
    int w = l->nlayers ? 2 * DG_PAD + l->nlayers * DG_BOX_W + (l->nlayers - 1) * DG_GAP_X +
                             (any_back ? 40 : 0)
                       : 2 * DG_PAD;
    int h = l->width ? 2 * DG_PAD + l->width * (DG_BOX_H + DG_GAP_Y) - DG_GAP_Y +
                           (any_back ? 40 : 0)
                     : 2 * DG_PAD;
    put(&o, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dg\" width=\"%d\" height=\"%d\""
            " viewBox=\"0 0 %d %d\" aria-labelledby=\"dg-title\">"
            "<title id=\"dg-title\">Pipeline dependencies: %d pipelines, %d links</title>",
        w, h, w, h, l->n, l->ne);
    put(&o, "<defs>");
    static const struct {
        const char *id, *fill;
    } markers[] = {{"dg-arrow", "#6b7280"}, {"dg-arrow-trigger", "#1f6feb"},
                   {"dg-arrow-back", "#c62828"}};
    for (size_t k = 0; k < sizeof markers / sizeof markers[0]; k++)
        put(&o, "<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\""
                " markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
                "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>",
            markers[k].id, markers[k].fill);
    put(&o, "</defs><g class=\"dg-edges\">");
    for (int i = 0; i < l->ne; i++)
        draw_edge(&o, nodes, &edges[i], l, i);
    put(&o, "</g><g class=\"dg-nodes\">");
    for (int v = 0; v < l->n; v++)
        draw_node(&o, a, &nodes[v], l, v);
    put(&o, "</g></svg>");
    arena_free(a);
    if (o.e) {
        out->len = mark;
        if (out->ptr)
            out->ptr[mark] = '\0';
        return sl_fail(eb, o.e, "graph: the drawing is over %zu bytes", out->max);
    }
    return SL_OK;
}
