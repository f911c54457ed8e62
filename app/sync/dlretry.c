/* dlretry.c - re-apply a table's unresolved dead letters (a run queued
 * with {"retry_dead_letters": true}, once the cause is fixed).
 *
 * Dead letters keep the row as {"column": "text as the source printed
 * it"}, so each turns back into the exact COPY text row (columns added
 * since are NULL, columns dropped since are ignored) and goes through the
 * same load as a chunk of a normal run, bad rows isolated the same way.
 * In one destination transaction per batch: the rows that load are merged
 * and their dead letters marked resolved; the others get retried_at and
 * the new error. A merge never takes a row back to an older watermark
 * than the destination holds (a newer version synced since wins; its dead
 * letter is resolved as superseded). */
#include <stdlib.h>
#include <string.h>

#include "sync/copytext.h"
#include "sync/engine.h"

#define BATCH_MAX 1000

/* Fill c with the next dead letters after *last_id (up to the chunk's
 * caps); *last_id moves to the last one taken. */
static sl_err next_batch(engine *en, const tsync *t, pgl_chunk *c, const char *const *names,
                         long long *last_id, sbuf *line, sl_errbuf *eb)
{
    char after[24], limit[24];
    snprintf(after, sizeof after, "%lld", *last_id);
    snprintf(limit, sizeof limit, "%d", en->chunk_rows < BATCH_MAX ? en->chunk_rows : BATCH_MAX);
    const char *sql = arena_printf(c->a, "SELECT id, row_data::text FROM %s"
                                         " WHERE pipeline_id = $1 AND source_schema = $2"
                                         " AND table_name = $3 AND resolved_at IS NULL"
                                         " AND id > $4 ORDER BY id LIMIT $5", t->q_dead);
    const char *p[] = {t->cfg->pipeline_id, t->pt->schema, t->pt->source_table, after, limit};
    PGresult *r;
    sl_err e = db_query(en->dst, c->a, eb, &r, sql, 5, p);
    for (int i = 0; e == SL_OK && i < PQntuples(r); i++) {
        long long id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        json_error_t jerr;
        json_t *obj = json_loads(PQgetvalue(r, i, 1), 0, &jerr);
        sb_clear(line);
        sl_err ce = obj ? ct_row_from_json(obj, names, t->ncols, line) : SL_EPARSE;
        json_decref(obj);
        if (ce == SL_OK && pgl_chunk_full(c, line->len))
            break;
        if (ce == SL_OK)
            ce = pgl_chunk_add(c, line->ptr, line->len, id);
        *last_id = id;
        if (ce != SL_OK)
            run_log(en->rc, RUN_WARN, t->pt->source_table, "dead letter %lld cannot be "
                    "turned back into a row (%s); left as it is", id, sl_strerror(ce));
    }
    return e;
}

/* Mark the batch: resolved, or retried with the new error. */
static sl_err mark(engine *en, const tsync *t, pgl_chunk *c, sl_errbuf *eb)
{
    sbuf ids;
    sb_init(&ids, c->a, (size_t)1 << 24);
    sb_putc(&ids, '{');
    int n = 0;
    sl_err e = SL_OK;
    const char *retried = arena_printf(c->a, "UPDATE %s SET retried_at = now(), error_text = $2"
                                             " WHERE id = $1", t->q_dead);
    for (int i = 0; i < c->n && e == SL_OK; i++) {
        char id[24];
        snprintf(id, sizeof id, "%lld", c->tag[i]);
        if (c->failed[i]) {
            const char *p[] = {id, c->error[i]};
            e = db_exec(en->dst, eb, retried, 2, p);
        } else {
            sb_printf(&ids, "%s%s", n++ ? "," : "", id);
        }
    }
    sb_putc(&ids, '}');
    if (e == SL_OK && n > 0) {
        const char *p[] = {sb_str(&ids)};
        e = db_exec(en->dst, eb, arena_printf(c->a, "UPDATE %s SET retried_at = now(),"
                                                    " resolved_at = now()"
                                                    " WHERE id = ANY ($1::bigint[])",
                                              t->q_dead), 1, p);
    }
    return e;
}

sl_err dlretry_table(engine *en, arena *a, tsync *t, run_table *st, sl_errbuf *eb)
{
    const char *names[t->ncols];
    for (int i = 0; i < t->ncols; i++)
        names[i] = t->cols[i].name;
    pgl_loader ld;
    sl_err e = pgl_init(&ld, en->dst, a, t, 0, 1, eb);
    if (e != SL_OK)
        return e;
    pgl_chunk c;
    pgl_chunk_init(&c, en->chunk_rows, en->chunk_bytes);
    sbuf line;
    sb_init(&line, NULL, (size_t)1 << 31);
    long long last_id = 0, seen = 0;
    for (;;) {
        long long before = last_id;
        pgl_chunk_clear(&c);
        e = next_batch(en, t, &c, names, &last_id, &line, eb);
        if (e != SL_OK || last_id == before)
            break;
        seen += c.n;
        e = db_begin(en->dst, eb);
        if (e == SL_OK)
            e = pgl_load(&ld, &c, eb);
        if (e == SL_OK)
            e = mark(en, t, &c, eb);
        if (e == SL_OK)
            e = db_commit(en->dst, eb);
        if (e != SL_OK) {
            db_rollback(en->dst);
            break;
        }
        st->rows_extracted = seen;
        st->rows_loaded = ld.loaded;
        st->rows_failed = ld.failed;
        run_table_update(en->rc, st);
        if (run_progress(en->rc, c.n, -1, NULL, 0)) {
            en->cancelled = 1;
            e = sl_fail(eb, SL_ECONFLICT, "cancelled");
            break;
        }
    }
    sb_free(&line);
    pgl_chunk_free(&c);
    pgl_done(&ld);
    if (e == SL_OK)
        run_log(en->rc, RUN_INFO, t->pt->source_table, "retried %lld dead letter(s): %lld "
                "loaded and resolved, %lld still failing", seen, ld.loaded, ld.failed);
    return e;
}
