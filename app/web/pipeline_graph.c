/* pipeline_graph.c - GET /pipelines/graph: which pipelines feed which.
 *
 * Edges run upstream -> downstream: from a pipeline's depends_on, and from
 * enabled pipeline_success triggers when sluice.pipeline_triggers exists
 * (read through to_jsonb, so the page does not break when that table gains
 * or loses columns). Pipelines with links are drawn by depgraph.c; the others are
 * listed beside it. The links are also given as a table. */
#include <stdlib.h>
#include <string.h>

#include "depgraph.h"
#include "handlers.h"
#include "page.h"
#include "worker.h"

#define GRAPH_SVG_MAX (8 * 1024 * 1024)

/* The upstream a pipeline_success trigger watches (007_triggers.sql). */
#define TRIGGER_UPSTREAM "j->'config'->>'upstream_pipeline_id'"

typedef struct {
    const char *id;
    int index;
} id_index;

static int cmp_id(const void *x, const void *y)
{
    return strcmp(((const id_index *)x)->id, ((const id_index *)y)->id);
}

static int find(const id_index *ids, int n, const char *id)
{
    id_index key = {id, 0};
    const id_index *hit = bsearch(&key, ids, (size_t)n, sizeof *ids, cmp_id);
    return hit ? hit->index : -1;
}

static int cmp_edge(const void *x, const void *y)
{
    const dg_edge *p = x, *q = y;
    return p->from != q->from ? p->from - q->from : p->to - q->to;
}

/* Edges (pipeline indices) from depends_on and, when the table exists,
 * pipeline_success triggers; duplicates merged into one with both kinds. */
static sl_err load_edges(request *r, PGresult *pl, const id_index *ids, int n, dg_edge **out,
                         int *ne, sl_errbuf *eb)
{
    char *has = NULL;
    sl_err e = db_query_value(r->db, r->a, eb, &has,
                              "SELECT to_regclass('sluice.pipeline_triggers') IS NOT NULL", 0,
                              NULL);
    if (e)
        return e;
    PGresult *tr = NULL;
    if (has && strcmp(has, "t") == 0) {
        e = db_query(r->db, r->a, eb, &tr,
                     "SELECT j->>'pipeline_id', " TRIGGER_UPSTREAM
                     " FROM (SELECT to_jsonb(t) AS j FROM sluice.pipeline_triggers t) s"
                     " WHERE j->>'type' = 'pipeline_success'"
                     " AND coalesce(j->>'enabled', 'true') <> 'false'",
                     0, NULL);
        if (e)
            return e;
    }
    int cap = n + (tr ? PQntuples(tr) : 0);
    dg_edge *ed = arena_calloc(r->a, (size_t)cap + 1, sizeof *ed);
    int m = 0;
    for (int i = 0; i < PQntuples(pl); i++) {
        int up = PQgetisnull(pl, i, 3) ? -1 : find(ids, n, PQgetvalue(pl, i, 3));
        if (up >= 0 && m < DG_MAX_EDGES)
            ed[m++] = (dg_edge){up, i, DG_DEPENDS};
    }
    for (int i = 0; tr && i < PQntuples(tr); i++) {
        int down = PQgetisnull(tr, i, 0) ? -1 : find(ids, n, PQgetvalue(tr, i, 0));
        int up = PQgetisnull(tr, i, 1) ? -1 : find(ids, n, PQgetvalue(tr, i, 1));
        if (down >= 0 && up >= 0 && m < DG_MAX_EDGES)
            ed[m++] = (dg_edge){up, down, DG_TRIGGER};
    }
    qsort(ed, (size_t)m, sizeof *ed, cmp_edge);
    int k = 0;
    for (int i = 0; i < m; i++) {
        if (k > 0 && ed[k - 1].from == ed[i].from && ed[k - 1].to == ed[i].to)
            ed[k - 1].kind |= ed[i].kind;
        else
            ed[k++] = ed[i];
    }
    *out = ed;
    *ne = k;
    return SL_OK;
}

static const char *badge(const char *st)
{
    if (!st)
        return "badge-plain";
    if (strcmp(st, "success") == 0)
        return "badge-ok";
    if (strcmp(st, "failed") == 0)
        return "badge-off";
    if (strcmp(st, "running") == 0 || strcmp(st, "queued") == 0)
        return "badge-run";
    if (strcmp(st, "cancelled") == 0)
        return "badge-warn";
    return "badge-plain";
}

static json_t *node_json(PGresult *pl, int i)
{
    const char *st = PQgetisnull(pl, i, 4) ? NULL : PQgetvalue(pl, i, 4);
    return json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", PQgetvalue(pl, i, 0), "name",
                     PQgetvalue(pl, i, 1), "status", st ? st : "never run", "badge", badge(st),
                     "paused", strcmp(PQgetvalue(pl, i, 2), "paused") == 0);
}

static const char *kind_text(int kind)
{
    if ((kind & DG_DEPENDS) && (kind & DG_TRIGGER))
        return "depends on it; runs when it succeeds";
    return kind & DG_TRIGGER ? "runs when it succeeds" : "depends on it";
}

void h_pipelines_graph(request *r)
{
    sl_errbuf eb = {0};
    PGresult *pl;
    sl_err e = db_query(r->db, r->a, &eb, &pl,
                        "SELECT p.id::text, p.name, p.status, p.depends_on::text, l.status"
                        " FROM sluice.pipelines p"
                        " LEFT JOIN LATERAL (SELECT status FROM sluice_runs.runs"
                        /* a range, so the planner walks runs_pipeline_idx rather
                         * than the whole primary key for pipelines without runs */
                        "   WHERE pipeline_id >= p.id AND pipeline_id <= p.id"
                        "   ORDER BY pipeline_id, id DESC LIMIT 1) l ON true"
                        " WHERE p.deleted_at IS NULL ORDER BY lower(p.name), p.id"
                        " LIMIT $1::int",
                        1, (const char *[]){arena_printf(r->a, "%d", DG_MAX_NODES)});
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(pl);
    id_index *ids = arena_calloc(r->a, (size_t)n + 1, sizeof *ids);
    for (int i = 0; i < n; i++)
        ids[i] = (id_index){PQgetvalue(pl, i, 0), i};
    qsort(ids, (size_t)n, sizeof *ids, cmp_id);
    dg_edge *edges;
    int ne;
    e = load_edges(r, pl, ids, n, &edges, &ne, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }

    /* The drawing holds the pipelines with links, in name order. */
    int *at = arena_calloc(r->a, (size_t)n + 1, sizeof *at);
    for (int i = 0; i < n; i++)
        at[i] = -1;
    for (int k = 0; k < ne; k++)
        at[edges[k].from] = at[edges[k].to] = 0;
    int gn = 0;
    dg_node *nodes = arena_calloc(r->a, (size_t)n + 1, sizeof *nodes);
    json_t *alone = json_array();
    for (int i = 0; i < n; i++) {
        if (at[i] < 0) {
            json_array_append_new(alone, node_json(pl, i));
            continue;
        }
        at[i] = gn;
        nodes[gn++] = (dg_node){PQgetvalue(pl, i, 0), PQgetvalue(pl, i, 1),
                                PQgetisnull(pl, i, 4) ? NULL : PQgetvalue(pl, i, 4),
                                strcmp(PQgetvalue(pl, i, 2), "paused") == 0};
    }
    json_t *links = json_array();
    dg_edge *ge = arena_calloc(r->a, (size_t)ne + 1, sizeof *ge);
    for (int k = 0; k < ne; k++) {
        ge[k] = (dg_edge){at[edges[k].from], at[edges[k].to], edges[k].kind};
        json_array_append_new(links,
                              json_pack("{s:o, s:o, s:s}", "up", node_json(pl, edges[k].from),
                                        "down", node_json(pl, edges[k].to), "kind",
                                        kind_text(edges[k].kind)));
    }
    json_t *ctx = page_ctx(r, "Pipeline dependencies", "pipelines");
    if (ne > 0) {
        dg_layout lay;
        sbuf svg;
        sb_init(&svg, r->a, GRAPH_SVG_MAX);
        e = dg_layout_compute(r->a, gn, ge, ne, &lay, &eb);
        if (!e)
            e = dg_svg(&svg, nodes, ge, &lay, &eb);
        if (e) {
            json_decref(ctx);
            json_decref(alone);
            json_decref(links);
            http_error(r, 500, eb.msg);
            return;
        }
        int cycles = 0;
        for (int k = 0; k < ne; k++)
            cycles |= lay.back[k];
        json_object_set_new(ctx, "graph", json_string(sb_str(&svg)));
        json_object_set_new(ctx, "cycles", json_boolean(cycles));
    }
    json_object_set_new(ctx, "has_graph", json_boolean(ne > 0));
    json_object_set_new(ctx, "has_pipelines", json_boolean(n > 0));
    json_object_set_new(ctx, "graph_count", json_integer(gn));
    json_object_set_new(ctx, "link_count", json_integer(ne));
    json_object_set_new(ctx, "has_alone", json_boolean(json_array_size(alone) > 0));
    json_object_set_new(ctx, "alone", alone);
    json_object_set_new(ctx, "links", links);
    page_render(r, 200, "pipelines/graph", ctx);
}
