/* tablesync.c - one table's sync, step by step (DESIGN.md section 5).
 *
 *   1. In a new REPEATABLE READ snapshot, describe the source table and
 *      pick its watermark column; choose the mode: incremental (merge by
 *      primary key), append (no primary key but a configured watermark) or
 *      full refresh (asked for, or no watermark, or no key otherwise).
 *   2. Make sure of the typed table: create it, or add the columns the
 *      source gained; report drift once (event + warning).
 *   3. Read the checkpoint from the destination's _sluice_state.
 *   4a. Incremental and append: stream `WHERE wm >= checkpoint - lookback
 *      OR wm IS NULL ORDER BY wm` into chunks; each chunk is one
 *      destination transaction: COPY into the temporary table, merge, dead
 *      letters, checkpoint (the chunk's last watermark). A crash loses and
 *      duplicates nothing: data and checkpoint commit together, and `>=`
 *      re-reads rows that share the boundary value, merged by key.
 *   4b. Full refresh (and the first sync of an incremental table into an
 *      empty target): one destination transaction that streams the COPY
 *      OUT straight into COPY IN of a shadow table (no chunk held in
 *      memory), builds the key and indexes, writes the checkpoint (the
 *      snapshot's max watermark) and swaps the shadow in. If a row cannot
 *      load, the table is read again chunk by chunk into a new shadow so
 *      the bad rows are isolated into dead letters.
 *   5. Quality checks, stats. Progress goes to the run about once a
 *      second; a cancel stops at the next chunk boundary. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jsonx.h"
#include "sync/copytext.h"
#include "sync/engine.h"
#include "sync/quality.h"

#define PROGRESS_MS 250  /* how often the row loop looks at the clock's worth */

/* One pass over the source rows of a table. */
typedef struct {
    engine *en;
    tsync *t;
    run_table *st;
    pgl_loader *ld;        /* chunked passes */
    pgl_chunk *ch;
    int per_chunk_tx;      /* incremental: each chunk commits with its checkpoint */
    int rewind_next;       /* backfill: the next checkpoint is set, not advanced */
    long long rows;        /* rows read from the source in this pass */
    long long unreported;  /* rows not yet counted in the run's progress */
    struct timespec last;
    int cancel_seen;       /* a cancel arrived: stop at the next chunk boundary */
    int stopped;           /* stopped by a cancel */
    sl_err err;            /* why the pass stopped the COPY */
    sl_errbuf eb;
    sbuf wm_after;         /* the checkpoint after the last commit */
    /* the fast path counts NULLs in NOT NULL source columns as rows pass */
    long long *nulls;
    int nn_last;           /* the last NOT NULL column's index, -1 for none */
    ct_field *fields;
} pass;

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Report rows now and then; 1 when a cancel was requested. */
static int progress(pass *p, int force)
{
    if (!force && ((p->rows & 63) != 0 || ms_since(&p->last) < PROGRESS_MS))
        return 0;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &p->last);
    int cancel = run_progress(p->en->rc, p->unreported, -1, NULL, force);
    p->unreported = 0;
    return cancel;
}

static void pass_init(pass *p, engine *en, tsync *t, run_table *st)
{
    memset(p, 0, sizeof *p);
    p->en = en;
    p->t = t;
    p->st = st;
    sb_init(&p->wm_after, NULL, 1 << 16);
    clock_gettime(CLOCK_MONOTONIC_COARSE, &p->last);
}

/* ---- the fast path: COPY OUT straight into COPY IN ------------------------- */

/* NULLs in the row's fields that the source declares NOT NULL. */
static void count_nulls(pass *p, const char *data, size_t len)
{
    int n = ct_split(data, len, p->fields, p->nn_last + 1);
    const ts_column *cols = p->t->cols;
    for (int i = 0; i <= p->nn_last && i < n; i++)
        if (cols[i].notnull && p->fields[i].null)
            p->nulls[i]++;
}

static int fast_row(const char *data, size_t len, void *arg)
{
    pass *p = arg;
    p->err = db_copy_in_put(p->en->dst, &p->eb, data, len);
    if (p->err != SL_OK)
        return 1;
    if (p->nn_last >= 0)
        count_nulls(p, data, len);
    p->rows++;
    p->unreported++;
    if (progress(p, 0)) {
        p->stopped = 1;
        p->err = sl_fail(&p->eb, SL_ECONFLICT, "cancelled");
        return 1;
    }
    return 0;
}

/* Stream the whole table into the shadow (begun). SL_EDB with a row
 * error's SQLSTATE when a row could not load: the caller goes careful. */
static sl_err fast_pass(pass *p, arena *a, sl_errbuf *eb)
{
    engine *en = p->en;
    tsync *t = p->t;
    sl_err e = db_copy_in_begin(en->dst, eb, arena_printf(a, "COPY %s (%s) FROM STDIN",
                                                          t->q_shadow, t->q_cols));
    if (e != SL_OK)
        return e;
    sl_errbuf seb = {0};
    e = src_extract(en->src, a, t, NULL, 0, fast_row, p, &seb);
    if (e != SL_OK) {
        sl_errbuf ignore;
        db_copy_in_end(en->dst, &ignore, "sluice: extraction stopped");
        if (p->err != SL_OK) {
            *eb = p->eb;
            return p->err;
        }
        return sl_fail(eb, e, "reading the source: %s", seb.msg);
    }
    return db_copy_in_end(en->dst, eb, NULL);
}

/* ---- chunked passes ---------------------------------------------------------- */

static void update_stats(pass *p)
{
    p->st->rows_extracted = p->rows;
    p->st->rows_loaded = p->ld->loaded;
    p->st->rows_failed = p->ld->failed;
    if (p->t->q_raw)
        p->st->rows_loaded_raw = p->ld->loaded + p->ld->failed;
    run_table_update(p->en->rc, p->st);
}

/* Load the chunk; in incremental passes as its own transaction with the
 * checkpoint. */
static sl_err flush(pass *p)
{
    pgl_chunk *c = p->ch;
    engine *en = p->en;
    if (c->n == 0)
        return SL_OK;
    long long before = p->ld->loaded;
    sl_err e = pgl_load(p->ld, c, &p->eb);
    if (e == SL_OK)
        e = pgl_dead_letters(p->ld, c, &p->eb);
    char *wm = NULL;
    long long total = 0;
    if (e == SL_OK && p->per_chunk_tx)
        e = pgd_state_write(en->dst, c->a, p->t, c->has_wm ? sb_str(&c->wm) : NULL,
                            p->ld->loaded - before,
                            p->rewind_next ? PGD_STATE_REWIND : PGD_STATE_ADVANCE, &wm,
                            &total, &p->eb);
    if (e == SL_OK && p->per_chunk_tx)
        e = db_commit(en->dst, &p->eb);
    if (e != SL_OK) {
        pgl_stream_abort(p->ld);
        if (p->per_chunk_tx)
            db_rollback(en->dst);
        return p->err = e;
    }
    if (p->per_chunk_tx) {
        p->rewind_next = 0;
        sb_clear(&p->wm_after);
        if (wm)
            sb_puts(&p->wm_after, wm);
        p->st->watermark_after = wm ? sb_str(&p->wm_after) : p->st->watermark_after;
        engine_mirror(en, p->t, wm, total);
    }
    update_stats(p);
    pgl_chunk_clear(c);
    int cancel = run_progress(en->rc, p->unreported, -1, NULL, 0);
    p->unreported = 0;
    if (cancel || p->cancel_seen) {
        p->stopped = 1;
        return p->err = sl_fail(&p->eb, SL_ECONFLICT, "cancelled");
    }
    return SL_OK;
}

static int chunk_row(const char *data, size_t len, void *arg)
{
    pass *p = arg;
    pgl_chunk *c = p->ch;
    if (pgl_chunk_full(c, len) && flush(p) != SL_OK)
        return 1;
    if (c->n == 0) { /* a new chunk: its transaction and its COPY, while it is read */
        p->err = p->per_chunk_tx ? db_begin(p->en->dst, &p->eb) : SL_OK;
        if (p->err == SL_OK)
            p->err = pgl_stream_begin(p->ld, &p->eb);
        if (p->err != SL_OK)
            return 1;
    }
    if (pgl_chunk_add(c, data, len, 0) != SL_OK) {
        p->err = sl_fail(&p->eb, SL_ETOOBIG, "a row of %zu bytes is over the 1 GiB limit", len);
        return 1;
    }
    p->err = pgl_stream_row(p->ld, data, len, &p->eb);
    if (p->err != SL_OK)
        return 1;
    ct_field f;
    if (p->t->wm >= 0 && ct_field_at(data, len, p->t->wm, &f) == 0 && !f.null) {
        sb_clear(&c->wm);
        c->has_wm = ct_decode(&f, &c->wm) == SL_OK;
    }
    p->rows++;
    p->unreported++;
    if (progress(p, 0)) {
        if (!p->per_chunk_tx) { /* nothing is committed before the end: stop now */
            p->stopped = 1;
            p->err = sl_fail(&p->eb, SL_ECONFLICT, "cancelled");
            return 1;
        }
        p->cancel_seen = 1;
    }
    return 0;
}

/* Stream the source's rows from `from` (NULL: all), ordered by the
 * watermark when asked, through chunks into the loader. */
static sl_err chunked_pass(pass *p, arena *a, const char *from, int ordered, sl_errbuf *eb)
{
    engine *en = p->en;
    pgl_chunk ch;
    pgl_chunk_init(&ch, en->chunk_rows, en->chunk_bytes);
    p->ch = &ch;
    sl_errbuf seb = {0};
    sl_err e = src_extract(en->src, a, p->t, from, ordered, chunk_row, p, &seb);
    if (e == SL_OK)
        e = flush(p);
    else if (p->err == SL_OK)
        p->err = sl_fail(&p->eb, e, "reading the source: %s", seb.msg);
    pgl_chunk_free(&ch);
    p->ch = NULL;
    if (p->err != SL_OK || e != SL_OK) {
        pgl_stream_abort(p->ld);
        if (p->per_chunk_tx)
            db_rollback(en->dst);
    }
    if (p->err != SL_OK) {
        *eb = p->eb;
        return p->err;
    }
    return e;
}

/* ---- full refresh ------------------------------------------------------------ */

static int row_error(engine *en, sl_err e)
{
    return e == SL_EDB && pgl_row_error(db_sqlstate(en->dst));
}

/* Shadow load, careful or fast, and the swap with the checkpoint. */
static sl_err full_load(pass *p, arena *a, long long *nulls, sl_errbuf *eb)
{
    engine *en = p->en;
    tsync *t = p->t;
    long long count = 0;
    int scan = 1; /* the careful path counts at the end; the fast one as it goes */
    p->nulls = nulls;
    p->nn_last = -1;
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].notnull)
            p->nn_last = i;
    p->fields = arena_calloc(a, (size_t)t->ncols + 1, sizeof *p->fields);
    char *max = NULL;
    sl_err e = t->wm >= 0 ? src_max_watermark(en->src, a, t, &max, eb) : SL_OK;
    if (e != SL_OK)
        return e;
    long long est = src_estimate(en->src, a, t, NULL);
    run_progress(en->rc, 0, est >= 0 ? en->rows_done + est : -1, NULL, 1);
    if (!t->q_raw) { /* raw mode needs the chunks: careful from the start */
        e = pgd_shadow_begin(en->dst, a, t, eb);
        if (e == SL_OK)
            e = fast_pass(p, a, eb);
        if (e == SL_OK) {
            count = db_changes(en->dst); /* the rows the destination took */
            scan = 0;
        }
        if (e != SL_OK)
            db_rollback(en->dst);
        if (!row_error(en, e) || p->stopped)
            goto loaded;
        for (int i = 0; i < t->ncols; i++)
            nulls[i] = 0;
        run_log(en->rc, RUN_WARN, t->pt->source_table, "a row could not be loaded (%s); "
                "loading again chunk by chunk to set the bad rows aside", eb->msg);
        run_progress(en->rc, p->unreported - p->rows, -1, NULL, 0);
        p->rows = p->unreported = 0;
        e = src_snapshot(en->src, eb);
        if (e == SL_OK && t->wm >= 0)
            e = src_max_watermark(en->src, a, t, &max, eb);
    }
    pgl_loader ld;
    if (e == SL_OK)
        e = pgd_shadow_begin(en->dst, a, t, eb);
    if (e == SL_OK && (e = pgl_init(&ld, en->dst, a, t, 1, 0, eb)) == SL_OK) {
        p->ld = &ld;
        e = chunked_pass(p, a, NULL, 0, eb);
        p->st->rows_failed = ld.failed;
        pgl_done(&ld);
        p->ld = NULL;
    }
loaded:
    if (e != SL_OK) {
        db_rollback(en->dst);
        return e;
    }
    char *wm_after = NULL;
    e = pgd_shadow_finish(en->dst, a, t, scan, &count, nulls, eb);
    if (e == SL_OK)
        e = pgd_state_write(en->dst, a, t, max, count, PGD_STATE_RESET, &wm_after, NULL, eb);
    if (e == SL_OK)
        e = pgd_shadow_swap(en->dst, a, t, eb);
    if (e != SL_OK) {
        db_rollback(en->dst);
        return e;
    }
    p->st->rows_extracted = p->rows;
    p->st->rows_loaded = count;
    if (t->q_raw)
        p->st->rows_loaded_raw = p->rows;
    p->st->watermark_after = wm_after;
    engine_mirror(en, t, wm_after, count);
    progress(p, 1);
    if (!en->quality_off)
        quality_row_count(en->rc, t->pt->source_table, p->rows, count + p->st->rows_failed,
                          en->threshold_pct, "source rows vs destination rows + dead letters");
    return SL_OK;
}

/* ---- incremental --------------------------------------------------------------- */

static sl_err incremental_load(pass *p, arena *a, const char *from, long long *nulls,
                               sl_errbuf *eb)
{
    engine *en = p->en;
    tsync *t = p->t;
    long long est = src_estimate(en->src, a, t, from);
    run_progress(en->rc, 0, est >= 0 ? en->rows_done + est : -1, NULL, 1);
    pgl_loader ld;
    sl_err e = pgl_init(&ld, en->dst, a, t, 0, 0, eb);
    if (e != SL_OK)
        return e;
    p->ld = &ld;
    p->per_chunk_tx = 1;
    e = chunked_pass(p, a, from, 1, eb);
    for (int i = 0; i < t->ncols; i++)
        nulls[i] = ld.nulls[i];
    update_stats(p);
    pgl_done(&ld);
    p->ld = NULL;
    /* merged: every row read is a row written (a key read twice would
     * show); appended: rows read again at the boundary are rightly not
     * written twice, so they count as loaded */
    int check = e == SL_OK && !en->quality_off; /* off: the quality_checks flag */
    if (check && t->mode == TS_MERGE)
        quality_row_count(en->rc, t->pt->source_table, p->rows, ld.written + ld.failed,
                          en->threshold_pct, "rows extracted vs rows written + dead letters");
    else if (check)
        quality_row_count(en->rc, t->pt->source_table, p->rows, ld.loaded + ld.failed,
                          en->threshold_pct, "rows extracted vs rows loaded + dead letters");
    return e;
}

/* ---- the table ------------------------------------------------------------------ */

static void report_drift(engine *en, const tsync *t, const pgd_drift *d)
{
    const char *label = t->pt->source_table;
    if (d->created)
        run_log(en->rc, RUN_INFO, label, "created %s", t->q_target);
    if (!d->nadded && !d->ndropped && !d->nretyped)
        return;
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[], s:[]}", "pipeline_id",
                           en->cfg.pipeline_id, "source_schema", t->pt->schema, "source_table",
                           t->pt->source_table, "target", t->q_target, "added", "dropped",
                           "retyped");
    for (int i = 0; i < d->nadded; i++) {
        json_array_append_new(json_object_get(ev, "added"),
                              json_pack("{s:s, s:s}", "column", d->added[i], "type",
                                        d->added_type[i]));
        run_log(en->rc, RUN_WARN, label, "schema drift: column \"%s\" (%s) was added at the "
                "source; added to %s", d->added[i], d->added_type[i], t->q_target);
    }
    for (int i = 0; i < d->ndropped; i++) {
        json_array_append_new(json_object_get(ev, "dropped"), json_string(d->dropped[i]));
        run_log(en->rc, RUN_WARN, label, "schema drift: column \"%s\" was dropped at the "
                "source; kept at the destination, NULL in rows loaded from now on",
                d->dropped[i]);
    }
    for (int i = 0; i < d->nretyped; i++) {
        json_array_append_new(json_object_get(ev, "retyped"),
                              json_pack("{s:s, s:s, s:s}", "column", d->retyped[i], "from",
                                        d->retyped_from[i], "to", d->retyped_to[i]));
        run_log(en->rc, RUN_WARN, label, "schema drift: column \"%s\" changed type at the "
                "source from %s to %s; the destination keeps %s, rows that do not fit go to "
                "dead letters", d->retyped[i], d->retyped_from[i], d->retyped_to[i],
                d->retyped_from[i]);
    }
    run_event(en->rc, "schema.drifted", ev);
    json_decref(ev);
}

sl_err tablesync_prepare(engine *en, arena *a, tsync *t, sl_errbuf *eb)
{
    sl_err e = src_snapshot(en->src, eb);
    if (e == SL_OK)
        e = src_describe(en->src, a, t, eb);
    if (e == SL_OK)
        pgd_names(a, t);
    return e;
}

/* The mode and, for the log, why. */
static const char *choose_mode(engine *en, tsync *t)
{
    const pl_table *pt = t->pt;
    t->mode = TS_FULL;
    if (en->opts->full_refresh)
        return "full refresh (asked for)";
    if (pt->full_refresh)
        return "full refresh (the table's sync mode)";
    if (t->wm < 0)
        return "full refresh (no watermark column)";
    if (t->npk == 0 && !pt->watermark_column)
        return "full refresh (no primary key; configure a watermark column to append instead)";
    t->mode = t->npk ? TS_MERGE : TS_APPEND;
    return t->npk ? "incremental" : "append (no primary key: rows deduplicated by a row hash)";
}

static sl_err sync_table(engine *en, arena *a, tsync *t, run_table *st, sl_errbuf *eb)
{
    const pl_table *pt = t->pt;
    const char *why = choose_mode(en, t);
    st->mode = t->mode == TS_FULL ? "full_refresh" : t->mode == TS_MERGE ? "incremental"
                                                                          : "append";
    st->watermark_column = t->wm >= 0 ? t->cols[t->wm].name : NULL;
    run_table_begin(en->rc, st);
    if (en->xops) /* MySQL, MariaDB: dest.h */
        return dstsync_table(en, a, t, st, eb);
    if (en->opts->retry_dead_letters) {
        pgd_drift drift;
        sl_err e = pgd_ensure_target(en->dst, a, t, t->mode == TS_APPEND, &drift, eb);
        report_drift(en, t, &drift);
        return e == SL_OK ? dlretry_table(en, a, t, st, eb) : e;
    }
    pgd_drift drift;
    sl_err e = pgd_ensure_target(en->dst, a, t, t->mode == TS_APPEND, &drift, eb);
    report_drift(en, t, &drift);
    char *ckpt = NULL;
    int found = 0, empty = 0;
    if (e == SL_OK)
        e = pgd_checkpoint(en->dst, a, t, &ckpt, &found, eb);
    if (e != SL_OK)
        return e;
    const char *from = ckpt;
    int backfill = t->mode != TS_FULL && en->opts->backfill_from;
    if (backfill)
        from = en->opts->backfill_from;
    st->watermark_before = ckpt;
    if (t->mode != TS_FULL && (e = pgd_target_empty(en->dst, a, t, &empty, eb)))
        return e;
    if (t->mode != TS_FULL && ckpt && !backfill && empty) {
        /* the checkpoint describes rows that are not there any more */
        run_log(en->rc, RUN_WARN, pt->source_table, "%s is %s but the checkpoint says %s was "
                "synced: reading everything again", t->q_target,
                drift.created ? "new" : "empty", ckpt);
        from = NULL;
    }
    pass p;
    pass_init(&p, en, t, st);
    p.rewind_next = backfill;
    long long *nulls = arena_calloc(a, (size_t)t->ncols, sizeof *nulls);
    if (t->mode == TS_FULL || (t->mode == TS_MERGE && !from && empty)) {
        run_log(en->rc, RUN_INFO, pt->source_table, "%s%s", why,
                t->mode == TS_FULL ? "" : ": first load into an empty table, as one swap");
        e = full_load(&p, a, nulls, eb);
    } else {
        if (backfill)
            run_log(en->rc, RUN_INFO, pt->source_table, "%s: backfill from %s (checkpoint "
                    "was %s)", why, from, ckpt ? ckpt : "none");
        else
            run_log(en->rc, RUN_INFO, pt->source_table, "%s from %s%s", why,
                    from ? from : "the beginning", from && pt->lookback_seconds > 0 &&
                    t->wm_temporal ? arena_printf(a, " minus %lds lookback",
                                                  pt->lookback_seconds) : "");
        e = incremental_load(&p, a, from, nulls, eb);
    }
    en->rows_done += p.rows;
    if (st->watermark_after == sb_str(&p.wm_after)) /* outlive the pass */
        st->watermark_after = arena_strdup(a, st->watermark_after);
    sb_free(&p.wm_after);
    if (p.stopped)
        en->cancelled = 1;
    if (e == SL_OK && !en->quality_off)
        quality_not_null(en->rc, pt->source_table, t, nulls);
    return e;
}

/* Notes from the source about values changed on the way (a MySQL zero
 * date loaded as NULL): the first few are logged one by one with the row's
 * key, the rest counted. */
#define NOTES_LOGGED 20

typedef struct {
    engine *en;
    const char *table;
    long long n;
} notes;

static void note_value(void *arg, const char *msg)
{
    notes *ns = arg;
    if (ns->n++ < NOTES_LOGGED)
        run_log(ns->en->rc, RUN_WARN, ns->table, "%s", msg);
}

static void notes_done(notes *ns)
{
    if (ns->n > NOTES_LOGGED)
        run_log(ns->en->rc, RUN_WARN, ns->table, "%lld value(s) in all were loaded as NULL "
                "because PostgreSQL cannot hold them (the first %d are logged above)", ns->n,
                NOTES_LOGGED);
}

sl_err tablesync_run(engine *en, const pl_table *pt, sl_errbuf *eb)
{
    arena *a = arena_new(0);
    tsync t;
    memset(&t, 0, sizeof t);
    t.cfg = &en->cfg;
    t.pt = pt;
    t.run_id = run_id(en->rc);
    snprintf(t.run_id_text, sizeof t.run_id_text, "%lld", t.run_id);
    run_table st = {.source_schema = pt->source_schema, .source_table = pt->source_table,
                    .target_table = pt->target_table};
    notes ns = {.en = en, .table = pt->source_table};
    src_set_note(en->src, note_value, &ns);
    sl_err e = tablesync_prepare(en, a, &t, eb);
    if (e != SL_OK)
        run_table_begin(en->rc, &st);
    else
        e = sync_table(en, a, &t, &st, eb);
    src_end(en->src); /* the snapshot ends; nothing to commit */
    src_set_note(en->src, NULL, NULL);
    notes_done(&ns);
    if (e == SL_OK) {
        if (st.rows_failed > 0)
            run_log(en->rc, RUN_WARN, pt->source_table, "%lld row(s) could not be loaded: see "
                    "%s", st.rows_failed, t.q_dead);
        run_log(en->rc, RUN_INFO, pt->source_table, "done: %lld row(s) read, %lld loaded, "
                "%lld failed%s%s", st.rows_extracted, st.rows_loaded, st.rows_failed,
                st.watermark_after ? "; checkpoint " : "",
                st.watermark_after ? st.watermark_after : "");
        run_table_end(en->rc, &st, "success", NULL);
    } else if (en->cancelled) {
        run_table_end(en->rc, &st, "cancelled", "cancelled");
    } else {
        run_log(en->rc, RUN_ERROR, pt->source_table, "%s", eb->msg);
        run_table_end(en->rc, &st, "failed", eb->msg);
    }
    arena_free(a);
    return e;
}
