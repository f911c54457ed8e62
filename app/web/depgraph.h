/* depgraph.h - the pipelines' dependency graph: a layered layout and its
 * drawing as SVG (depgraph.c).
 *
 * Layout (after Sugiyama): longest-path layers from the roots (a node's
 * layer is one more than its deepest upstream's), edges that span several
 * layers routed through placeholder ("dummy") slots, and the order inside
 * each layer improved by barycenter sweeps, keeping the order with the
 * fewest crossings. Cycles are refused when pipelines are saved, but the
 * layout never trusts that: when no node is free it cuts the incoming
 * edges of one (marked back, drawn dashed) and goes on, so it always
 * terminates. Everything is allocated in the caller's arena. */
#ifndef SL_WEB_DEPGRAPH_H
#define SL_WEB_DEPGRAPH_H

#include "arena.h"
#include "err.h"
#include "sbuf.h"

#define DG_MAX_NODES 5000     /* nodes one layout takes */
#define DG_MAX_EDGES 20000    /* edges one layout takes */
#define DG_MAX_DUMMIES 50000  /* placeholder slots; edges past it are drawn direct */

/* Edge kinds, a bit mask: one edge may be both. */
#define DG_DEPENDS 1 /* the downstream's depends_on names the upstream */
#define DG_TRIGGER 2 /* a pipeline_success trigger of the downstream watches it */

typedef struct {
    int from, to; /* node indices: upstream -> downstream */
    int kind;     /* DG_DEPENDS | DG_TRIGGER */
} dg_edge;

typedef struct {
    int n;               /* real nodes (0 .. n-1) */
    int total;           /* real and dummy nodes (dummies are n .. total-1) */
    int *layer;          /* [total] layer of each node, from 0 */
    int *pos;            /* [total] place within its layer, from 0 */
    int nlayers;
    int *layer_size;     /* [nlayers] nodes (real and dummy) in each layer */
    int width;           /* the largest layer_size (0 for no nodes) */
    int ne;
    unsigned char *back; /* [ne] 1: cut to break a cycle (or a self-loop) */
    int *path_start;     /* [ne] edge e passes dummies path[path_start[e] ..] */
    int *path_len;       /* [ne] how many (0: adjacent layers, back edges) */
    int *path;
    long crossings;      /* crossings between adjacent layers, as laid out */
} dg_layout;

/* Lay out n nodes (in the order given: it is the starting order within
 * each layer, so pass them sorted by name) and ne edges. SL_EINVAL for an
 * edge naming a node outside 0..n-1, or counts past DG_MAX_NODES /
 * DG_MAX_EDGES. out's arrays live in a. */
sl_err dg_layout_compute(arena *a, int n, const dg_edge *edges, int ne, dg_layout *out,
                         sl_errbuf *eb);

/* Crossings between adjacent layers of the layout (what dg_layout_compute
 * minimises), recounted from pos. */
long dg_crossings(const dg_layout *l, const dg_edge *edges);

/* A node as drawn. */
typedef struct {
    const char *id;     /* its page is /pipelines/<id> */
    const char *name;   /* shown truncated; the whole name in <title> */
    const char *status; /* its latest run's status, or NULL for never run */
    int paused;
} dg_node;

/* Geometry of the drawing (SVG units = CSS pixels). */
#define DG_BOX_W 180
#define DG_BOX_H 44
#define DG_GAP_X 72
#define DG_GAP_Y 16
#define DG_PAD 16
#define DG_NAME_MAX 22 /* characters of a name shown in a box */

/* Append the graph as an <svg> to out: a box per real node (a link to its
 * page, coloured by status, with <title>), an arrow per edge (dependency
 * grey, trigger blue, cut edges red and dashed; each with a <title>).
 * Every name is escaped. SL_ETOOBIG at out's cap (out is truncated back
 * to its length on entry). */
sl_err dg_svg(sbuf *out, const dg_node *nodes, const dg_edge *edges, const dg_layout *l,
              sl_errbuf *eb);

/* s cut to at most max characters (UTF-8 aware) with "…" when it was
 * longer; in a. */
const char *dg_truncate(arena *a, const char *s, int max);

#endif
