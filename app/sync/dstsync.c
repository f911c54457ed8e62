/* dstsync.c - one table's sync into a destination other than PostgreSQL
 * (dest.h), the same steps as tablesync.c in a simpler form:
 *
 *   1. the typed table made or given the source's new columns;
 *   2. the checkpoint read back from the destination;
 *   3a. incremental (a primary key and a watermark): rows from
 *       `checkpoint - lookback` ordered by the watermark, in chunks; each
 *       chunk is merged by key and commits with its checkpoint (the chunk's
 *       last watermark, never moving back), so a crash loses nothing and
 *       rows read again are merged by key;
 *   3b. full refresh (asked for, no watermark, no key, or the first load
 *       into an empty table): every row into a fresh shadow table, chunk by
 *       chunk, then the swap, then the checkpoint (the snapshot's max
 *       watermark). A crash before the swap leaves the old table; between
 *       the swap and the checkpoint, the next run re-reads from the old
 *       checkpoint and merges by key.
 * Rows a destination refuses fail the table (there are no dead letters
 * here yet). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/copytext.h"
#include "sync/dest.h"
#include "sync/engine.h"

typedef struct {
    engine *en;
    tsync *t;
    run_table *st;
    int shadow;          /* loading the full refresh's shadow */
    sbuf data;           /* the chunk's rows */
    int n;
    sbuf wm;             /* the chunk's last non-NULL watermark */
    int has_wm;
    sbuf ckpt;           /* the checkpoint after the last commit */
    int has_ckpt;
    int rewind;          /* backfill: the first checkpoint is set, not advanced */
    long long rows, loaded, unreported;
    sl_err err;
    sl_errbuf eb;
    int stopped;
    arena *a;
} xpass;

const struct dst_ops *dst_ops_for(const char *type)
{
    if (type && (strcmp(type, "mysql") == 0 || strcmp(type, "mariadb") == 0))
        return &dst_mysql_ops;
    if (type && strcmp(type, "clickhouse") == 0)
        return &dst_clickhouse_ops;
    return NULL;
}

/* Compare two watermark texts: as integers when both are, else as text
 * (ISO dates and timestamps at one UTC offset sort as text). */
static int wm_cmp(const char *x, const char *y)
{
    char *ex, *ey;
    long long a = strtoll(x, &ex, 10), b = strtoll(y, &ey, 10);
    if (*x && *y && *ex == '\0' && *ey == '\0')
        return (a > b) - (a < b);
    return strcmp(x, y);
}

/* The checkpoint kept in the control database (ckpt_in_control). */
static sl_err control_read(engine *en, arena *a, const tsync *t, char **wm, sl_errbuf *eb)
{
    const char *p[] = {en->cfg.pipeline_id, t->pt->source_schema, t->pt->source_table,
                       t->wm >= 0 ? t->cols[t->wm].name : NULL};
    *wm = NULL;
    sl_err e = db_query_value(run_db(en->rc), a, eb, wm,
                              "SELECT watermark FROM sluice_state.watermarks"
                              " WHERE pipeline_id = $1 AND source_schema = $2"
                              " AND source_table = $3 AND watermark_column = $4", 4, p);
    return e == SL_ENOTFOUND ? SL_OK : e;
}

/* Write it; unlike engine_mirror, a failure fails the table. */
static sl_err control_write(engine *en, const tsync *t, const char *wm, long long rows,
                            sl_errbuf *eb)
{
    char rows_text[24];
    snprintf(rows_text, sizeof rows_text, "%lld", rows);
    const char *p[] = {en->cfg.pipeline_id, t->pt->source_schema, t->pt->source_table,
                       t->wm >= 0 ? t->cols[t->wm].name : NULL, wm, rows_text,
                       t->run_id_text};
    sl_errbuf ceb = {0};
    if (db_exec(run_db(en->rc), &ceb,
                "INSERT INTO sluice_state.watermarks (pipeline_id, source_schema, source_table,"
                " watermark_column, watermark, rows_total, last_run_id, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
                " ON CONFLICT (pipeline_id, source_schema, source_table) DO UPDATE SET"
                " watermark_column = EXCLUDED.watermark_column,"
                " watermark = EXCLUDED.watermark, rows_total = EXCLUDED.rows_total,"
                " last_run_id = EXCLUDED.last_run_id, updated_at = now()",
                7, p) != SL_OK)
        return sl_fail(eb, SL_EDB, "writing the checkpoint into the control database: %s",
                       ceb.msg);
    return SL_OK;
}

/* Load the chunk; incremental chunks commit with their checkpoint. */
static sl_err xflush(xpass *p)
{
    const struct dst_ops *o = p->en->xops;
    void *h = p->en->xd;
    if (p->n == 0)
        return SL_OK;
    sl_err e = o->begin(h, &p->eb);
    if (e == SL_OK)
        e = o->load(h, p->a, p->t, p->shadow, p->data.ptr, p->data.len, p->n, &p->eb);
    const char *wm = NULL;
    if (!p->shadow && p->has_wm) {
        wm = sb_str(&p->wm);
        if (p->has_ckpt && !p->rewind && wm_cmp(wm, sb_str(&p->ckpt)) < 0)
            wm = sb_str(&p->ckpt); /* a lookback never moves it back */
    }
    if (e == SL_OK)
        e = o->commit(h, p->a, p->shadow ? NULL : p->t, wm, p->n, 0, &p->eb);
    if (e != SL_OK) {
        o->rollback(h);
        return p->err = e;
    }
    p->loaded += p->n;
    if (wm && !p->shadow) {
        char *copy = arena_strdup(p->a, wm);
        sb_clear(&p->ckpt);
        sb_puts(&p->ckpt, copy);
        p->has_ckpt = 1;
        p->rewind = 0;
        p->st->watermark_after = arena_strdup(p->a, copy);
        if (!o->ckpt_in_control)
            engine_mirror(p->en, p->t, copy, p->loaded);
        else if (control_write(p->en, p->t, copy, p->loaded, &p->eb) != SL_OK)
            return p->err = SL_EDB;
    }
    p->st->rows_extracted = p->rows;
    p->st->rows_loaded = p->loaded;
    run_table_update(p->en->rc, p->st);
    sb_clear(&p->data);
    p->n = 0;
    p->has_wm = 0;
    if (run_progress(p->en->rc, p->unreported, -1, NULL, 0)) {
        p->stopped = 1;
        return p->err = sl_fail(&p->eb, SL_ECONFLICT, "cancelled");
    }
    p->unreported = 0;
    return SL_OK;
}

static int xrow(const char *row, size_t len, void *arg)
{
    xpass *p = arg;
    if (p->n > 0 && (p->n >= p->en->chunk_rows || p->data.len + len > p->en->chunk_bytes) &&
        xflush(p) != SL_OK)
        return 1;
    if (sb_append(&p->data, row, len) != SL_OK) {
        p->err = sl_fail(&p->eb, SL_ETOOBIG, "a row of %zu bytes is too big", len);
        return 1;
    }
    if (len == 0 || row[len - 1] != '\n')
        sb_putc(&p->data, '\n');
    p->n++;
    ct_field f;
    if (p->t->wm >= 0 && ct_field_at(row, len, p->t->wm, &f) == 0 && !f.null) {
        sb_clear(&p->wm);
        p->has_wm = ct_decode(&f, &p->wm) == SL_OK;
    }
    p->rows++;
    p->unreported++;
    return 0;
}

static sl_err xpass_run(xpass *p, const char *from, int ordered, sl_errbuf *eb)
{
    sl_errbuf seb = {0};
    sl_err e = src_extract(p->en->src, p->a, p->t, from, ordered, xrow, p, &seb);
    if (e == SL_OK)
        e = xflush(p);
    else if (p->err == SL_OK)
        p->err = sl_fail(&p->eb, e, "reading the source: %s", seb.msg);
    if (p->err != SL_OK) {
        *eb = p->eb;
        return p->err;
    }
    return e;
}

sl_err dstsync_table(engine *en, arena *a, tsync *t, run_table *st, sl_errbuf *eb)
{
    const struct dst_ops *o = en->xops;
    void *h = en->xd;
    const pl_table *pt = t->pt;
    const char *label = pt->source_table;
    if (en->opts->retry_dead_letters) {
        run_log(en->rc, RUN_INFO, label, "the %s destination keeps no dead letters: nothing "
                "to retry", o->name);
        return SL_OK;
    }
    int created = 0, nadded = 0;
    const char **added = NULL;
    sl_err e = o->ensure_target(h, a, t, &created, &added, &nadded, eb);
    if (e != SL_OK)
        return e;
    if (created)
        run_log(en->rc, RUN_INFO, label, "created %s", pt->target_table);
    for (int i = 0; i < nadded; i++)
        run_log(en->rc, RUN_WARN, label, "schema drift: column \"%s\" was added at the "
                "source; added to %s", added[i], pt->target_table);
    char *ckpt = NULL;
    int empty = 0;
    e = o->ckpt_in_control ? control_read(en, a, t, &ckpt, eb)
                           : o->checkpoint(h, a, t, &ckpt, eb);
    if (e == SL_OK && t->mode == TS_MERGE)
        e = o->target_empty(h, a, t, &empty, eb);
    if (e != SL_OK)
        return e;
    st->watermark_before = ckpt;
    int backfill = t->mode == TS_MERGE && en->opts->backfill_from;
    const char *from = backfill ? en->opts->backfill_from : ckpt;
    if (t->mode == TS_MERGE && !backfill && empty)
        from = NULL;
    xpass p;
    memset(&p, 0, sizeof p);
    p.en = en;
    p.t = t;
    p.st = st;
    p.a = a;
    p.rewind = backfill;
    sb_init(&p.data, NULL, (size_t)1 << 31);
    sb_init(&p.wm, NULL, 1 << 16);
    sb_init(&p.ckpt, NULL, 1 << 16);
    if (ckpt) {
        sb_puts(&p.ckpt, ckpt);
        p.has_ckpt = 1;
    }
    if (t->mode != TS_MERGE || !from) {
        run_log(en->rc, RUN_INFO, label, "%s into %s (%s): a shadow table swapped in",
                t->mode == TS_MERGE ? "first load" : "full refresh", pt->target_table, o->name);
        char *max = NULL;
        e = t->wm >= 0 ? src_max_watermark(en->src, a, t, &max, eb) : SL_OK;
        p.shadow = 1;
        if (e == SL_OK)
            e = o->shadow_begin(h, a, t, eb);
        if (e == SL_OK)
            e = xpass_run(&p, NULL, 0, eb);
        if (e == SL_OK)
            e = o->shadow_swap(h, a, t, eb);
        if (e == SL_OK)
            e = o->begin(h, eb);
        if (e == SL_OK)
            e = o->commit(h, a, t, max, p.loaded, 1, eb);
        if (e != SL_OK) {
            o->rollback(h);
        } else {
            st->watermark_after = max;
            if (!o->ckpt_in_control)
                engine_mirror(en, t, max, p.loaded);
            else
                e = control_write(en, t, max, p.loaded, eb);
        }
    } else {
        run_log(en->rc, RUN_INFO, label, "incremental into %s (%s) from %s", pt->target_table,
                o->name, from);
        e = xpass_run(&p, from, 1, eb);
    }
    st->rows_extracted = p.rows;
    st->rows_loaded = p.loaded;
    en->rows_done += p.rows;
    if (p.stopped)
        en->cancelled = 1;
    sb_free(&p.data);
    sb_free(&p.wm);
    sb_free(&p.ckpt);
    return e;
}
