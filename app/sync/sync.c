/* sync.c - the sync engine's entry point: one run of one pipeline.
 *
 * sync_run() reads the pipeline (plconf), opens one source and one
 * destination session for the whole run (src_open for the source, of
 * whichever type; pgx_connect for a PostgreSQL destination: the settings
 * that make COPY text exact; dest.h for MySQL, MariaDB and ClickHouse
 * ones), makes sure of the destination's checkpoint and
 * dead letter tables, then syncs the selected tables one after another
 * (tablesync.c). A failing table does not stop the others; a cancel stops
 * the run at the next chunk boundary. The run's bookkeeping (logs,
 * progress, stats, quality, events) goes through run.h. */
#include "sync/sync.h"

#include <stdio.h>
#include <string.h>

#include "jsonx.h"
#include "settings.h"
#include "sync/engine.h"
#include "sync/pg_extract.h"
#include "sync/quality.h"

void sync_opts_from_run(run_ctx *rc, sync_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    const json_t *o = rc ? run_options(rc) : NULL;
    if (!json_is_object(o))
        return;
    const json_t *tables = json_object_get(o, "tables");
    if (json_is_array(tables) && json_array_size(tables) > 0)
        opts->tables = tables;
    opts->full_refresh = jsonx_bool(o, "full_refresh", 0);
    opts->retry_dead_letters = jsonx_bool(o, "retry_dead_letters", 0);
    const char *from = jsonx_str(o, "backfill_from", NULL);
    opts->backfill_from = from && *from ? from : NULL;
    long long rows = jsonx_int(o, "chunk_rows", 0), bytes = jsonx_int(o, "chunk_bytes", 0);
    opts->chunk_rows = rows > 0 && rows <= 10000000 ? (long)rows : 0;
    opts->chunk_bytes = bytes > 0 && bytes <= (1LL << 30) ? (long)bytes : 0;
}

/* Whether pt is named by name ("schema.table", or "table" in any schema). */
static int names_table(const char *name, const pl_table *pt)
{
    if (strcmp(name, pt->source_table) == 0)
        return 1;
    size_t sl = strlen(pt->schema);
    return strncmp(name, pt->schema, sl) == 0 && name[sl] == '.' &&
           strcmp(name + sl + 1, pt->source_table) == 0;
}

/* Mark the tables selected by opts in sel; SL_ENOTFOUND naming a table
 * that is not (enabled) in the pipeline. */
static sl_err select_tables(const pl_config *cfg, const sync_opts *opts, char *sel,
                            sl_errbuf *eb)
{
    const char *names[256];
    size_t n = 0;
    if (opts->only_table)
        names[n++] = opts->only_table;
    for (size_t i = 0; opts->tables && i < json_array_size(opts->tables) && n < 256; i++) {
        const char *s = json_string_value(json_array_get(opts->tables, i));
        if (s && *s)
            names[n++] = s;
    }
    for (int t = 0; t < cfg->ntables; t++)
        sel[t] = n == 0;
    for (size_t k = 0; k < n; k++) {
        int found = 0;
        for (int t = 0; t < cfg->ntables; t++)
            if (names_table(names[k], &cfg->tables[t]))
                sel[t] = found = 1;
        if (!found)
            return sl_fail(eb, SL_ENOTFOUND, "table \"%s\" is not an enabled table of pipeline "
                                             "\"%s\"", names[k], cfg->name);
    }
    return SL_OK;
}

void engine_mirror(engine *en, const tsync *t, const char *wm, long long rows)
{
    char rows_text[24];
    snprintf(rows_text, sizeof rows_text, "%lld", rows);
    const char *p[] = {en->cfg.pipeline_id, t->pt->source_schema, t->pt->source_table,
                       t->wm >= 0 ? t->cols[t->wm].name : NULL, wm, rows_text,
                       t->run_id_text};
    sl_errbuf eb = {0};
    if (db_exec(run_db(en->rc), &eb,
                "INSERT INTO sluice_state.watermarks (pipeline_id, source_schema, source_table,"
                " watermark_column, watermark, rows_total, last_run_id, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
                " ON CONFLICT (pipeline_id, source_schema, source_table) DO UPDATE SET"
                " watermark_column = EXCLUDED.watermark_column,"
                " watermark = EXCLUDED.watermark, rows_total = EXCLUDED.rows_total,"
                " last_run_id = EXCLUDED.last_run_id, updated_at = now()",
                7, p) != SL_OK)
        run_log(en->rc, RUN_WARN, t->pt->source_table,
                "could not mirror the checkpoint into the control database: %s", eb.msg);
}

/* Open (or, after a broken connection, reopen) both sessions. */
static sl_err connect_both(engine *en, sl_errbuf *eb)
{
    if (en->src && !src_alive(en->src)) {
        src_close(en->src);
        en->src = NULL;
    }
    if (en->xd && !en->xops->alive(en->xd)) {
        en->xops->close(en->xd);
        en->xd = NULL;
    }
    if (en->dst && !db_conn(en->dst)) {
        db_close(en->dst);
        en->dst = NULL;
    }
    sl_err e = SL_OK;
    if (!en->src)
        e = src_open(&en->cfg.source, "source", &en->src, eb);
    if (e == SL_OK && en->xops && !en->xd)
        e = en->xops->open(&en->cfg.dest, &en->xd, eb);
    if (e == SL_OK && !en->xops && !en->dst) {
        e = pgx_connect(&en->cfg.dest, "destination", &en->dst, eb);
        if (e == SL_OK)
            e = pgd_session(en->dst, eb);
    }
    return e;
}

static void close_both(engine *en)
{
    src_close(en->src);
    db_close(en->dst);
    if (en->xd)
        en->xops->close(en->xd);
    en->xd = NULL;
    en->src = NULL;
    en->dst = NULL;
}

/* The tables, one after another; the first error (or the cancel) wins. */
static sl_err run_tables(engine *en, const char *sel, sl_errbuf *eb)
{
    sl_err first = SL_OK;
    int failed = 0, total = 0;
    char first_table[300] = "";
    for (int i = 0; i < en->cfg.ntables; i++) {
        if (!sel[i])
            continue;
        total++;
        const pl_table *pt = &en->cfg.tables[i];
        sl_errbuf teb = {0};
        sl_err e = SL_OK;
        if (run_progress(en->rc, 0, -1, NULL, 0)) {
            en->cancelled = 1;
        } else {
            e = connect_both(en, &teb);
            if (e == SL_OK)
                e = tablesync_run(en, pt, &teb);
            else
                run_log(en->rc, RUN_ERROR, pt->source_table, "%s", teb.msg);
        }
        if (en->cancelled)
            return sl_fail(eb, SL_ECONFLICT, "cancelled");
        if (e == SL_OK)
            continue;
        failed++;
        if (first == SL_OK) {
            first = e;
            *eb = teb;
            snprintf(first_table, sizeof first_table, "%s.%s", pt->schema, pt->source_table);
        }
    }
    if (failed > 1 || (failed == 1 && total > 1)) {
        char msg[SL_ERRBUF_SIZE];
        memcpy(msg, eb->msg, sizeof msg);
        sl_fail(eb, first, "%d of %d tables failed; %.200s: %.280s", failed, total, first_table,
                msg);
    }
    return first;
}

sl_err sync_run(run_ctx *rc, const sync_opts *opts, sl_errbuf *eb)
{
    engine en;
    memset(&en, 0, sizeof en);
    en.rc = rc;
    en.opts = opts;
    en.chunk_rows = opts->chunk_rows > 0 ? (int)opts->chunk_rows : ENGINE_CHUNK_ROWS;
    en.chunk_bytes = opts->chunk_bytes > 0 ? (size_t)opts->chunk_bytes : ENGINE_CHUNK_BYTES;
    arena *a = arena_new(0);
    sl_err e = plconf_load(run_db(rc), a, run_pipeline_id(rc), &en.cfg, eb);
    if (e != SL_OK)
        goto out;
    char *sel = arena_calloc(a, (size_t)en.cfg.ntables + 1, 1);
    e = select_tables(&en.cfg, opts, sel, eb);
    if (e != SL_OK)
        goto out;
    if (en.cfg.ntables == 0) {
        run_log(rc, RUN_WARN, NULL, "pipeline \"%s\" has no enabled tables: nothing to do",
                en.cfg.name);
        goto out;
    }
    en.xops = dst_ops_for(en.cfg.dest.type);
    e = connect_both(&en, eb);
    if (e == SL_OK)
        e = en.xops ? en.xops->ensure_meta(en.xd, a, eb)
                    : pgd_ensure_meta(en.dst, a, &en.cfg, eb);
    if (e != SL_OK)
        goto out;
    en.threshold_pct = quality_threshold(run_db(rc));
    en.quality_off = !settings_feature(run_db(rc), "quality_checks");
    if (en.quality_off)
        run_log(rc, RUN_INFO, NULL, "quality checks are turned off (Settings, feature flags)");
    run_log(rc, RUN_INFO, NULL, "%s from %s:%d/%s to %s:%d/%s (schemas %s, %s)",
            opts->retry_dead_letters ? "retrying dead letters"
            : opts->full_refresh     ? "full refresh"
                                     : "syncing",
            en.cfg.source.host, en.cfg.source.port, en.cfg.source.database, en.cfg.dest.host,
            en.cfg.dest.port, en.cfg.dest.database, en.cfg.target_schema, en.cfg.raw_schema);
    e = run_tables(&en, sel, eb);
out:
    close_both(&en);
    plconf_wipe(&en.cfg);
    arena_free(a);
    return e;
}
