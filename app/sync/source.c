/* source.c - a sync's source session: the implementation for the source's
 * type, and the calls the engine makes through it (source.h).
 *
 * A session is the implementation's handle plus the note hook; every call
 * here forwards to the implementation. The watermark choice is shared:
 * both sources pick the column discovery shows. */
#include "sync/source.h"

#include <stdlib.h>
#include <string.h>

struct src_session {
    const struct src_ops *ops;
    void *h;
    src_note_cb note;
    void *note_arg;
};

const struct src_ops *src_ops_for(const char *type)
{
    if (!type)
        return NULL;
    if (strcmp(type, "postgresql") == 0)
        return &src_pg_ops;
    if (strcmp(type, "mysql") == 0 || strcmp(type, "mariadb") == 0)
        return &src_mysql_ops;
    return NULL;
}

sl_err src_open(const conn_params *p, const char *what, src_session **out, sl_errbuf *eb)
{
    *out = NULL;
    const struct src_ops *ops = src_ops_for(p->type);
    if (!ops)
        return sl_fail(eb, SL_EUNSUPPORTED, "%s: sluice cannot read from %s databases", what,
                       p->type ? p->type : "unknown");
    void *h = NULL;
    sl_err e = ops->open(p, what, &h, eb);
    if (e != SL_OK)
        return e;
    src_session *s = xcalloc(1, sizeof *s);
    s->ops = ops;
    s->h = h;
    *out = s;
    return SL_OK;
}

void src_close(src_session *s)
{
    if (!s)
        return;
    s->ops->close(s->h);
    free(s);
}

int src_alive(const src_session *s)
{
    return s && s->ops->alive(s->h);
}

void src_set_note(src_session *s, src_note_cb note, void *arg)
{
    s->note = note;
    s->note_arg = arg;
}

sl_err src_snapshot(src_session *s, sl_errbuf *eb)
{
    return s->ops->snapshot(s->h, eb);
}

void src_end(src_session *s)
{
    s->ops->end(s->h);
}

sl_err src_describe(src_session *s, arena *a, tsync *t, sl_errbuf *eb)
{
    return s->ops->describe(s->h, a, t, eb);
}

sl_err src_max_watermark(src_session *s, arena *a, const tsync *t, char **out, sl_errbuf *eb)
{
    *out = NULL;
    return s->ops->max_watermark(s->h, a, t, out, eb);
}

long long src_estimate(src_session *s, arena *a, const tsync *t, const char *from)
{
    return s->ops->estimate(s->h, a, t, from);
}

sl_err src_extract(src_session *s, arena *a, const tsync *t, const char *from, int ordered,
                   src_row_cb cb, void *arg, sl_errbuf *eb)
{
    return s->ops->extract(s->h, a, t, from, ordered, cb, arg, s->note, s->note_arg, eb);
}

sl_err src_pick_watermark(tsync *t, int by_source_type, sl_errbuf *eb)
{
    conn_column cols[t->ncols];
    for (int i = 0; i < t->ncols; i++) {
        cols[i].name = t->cols[i].name;
        cols[i].type = by_source_type ? t->cols[i].src_type : t->cols[i].dest_type;
        cols[i].nullable = !t->cols[i].notnull;
        cols[i].pk_position = t->cols[i].pk;
    }
    conn_table ct = {.schema = t->pt->schema, .name = t->pt->source_table, .ncols = t->ncols,
                     .cols = cols, .has_pk = t->npk > 0};
    const char *override = t->pt->watermark_column;
    const char *name = pick_watermark(&ct, override);
    t->wm = -1;
    t->wm_temporal = 0;
    if (!name && override)
        return sl_fail(eb, SL_EINVAL, "watermark column \"%s\" is not a column of %s.%s",
                       override, t->pt->schema, t->pt->source_table);
    if (!name)
        return SL_OK;
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].name == name)
            t->wm = i;
    const char *type = cols[t->wm].type;
    if (!connector_watermark_type(type))
        return sl_fail(eb, SL_EINVAL, "watermark column \"%s\" is of type %s: a watermark must "
                                      "be a timestamp, a date or an integer", name, type);
    const char *dest = t->cols[t->wm].dest_type;
    t->wm_temporal = strncmp(dest, "timestamp", 9) == 0 || strcmp(dest, "date") == 0;
    return SL_OK;
}
