/* pg_load.c - load chunks of COPY text rows into a PostgreSQL destination,
 * isolating the rows that cannot load.
 *
 * A chunk holds its rows back to back, so any run of rows is one
 * contiguous COPY. Incremental tables COPY a chunk into the session's
 * temporary table and merge it into the typed table by primary key
 * (INSERT ... ON CONFLICT DO UPDATE; if a key appears twice in a chunk the
 * later row wins), or, without a key, append it deduplicated by a hash of
 * the row. A full refresh that had to take the careful road COPYs chunks
 * straight into the shadow table. The caller owns the transaction; this
 * file only uses savepoints inside it.
 *
 * When a chunk fails because of its data, it is split in halves, each
 * tried under a savepoint, down to single rows: O(bad rows x log chunk)
 * attempts, and every good row still loads. */
#include "sync/pg_load.h"

#include <stdlib.h>
#include <string.h>

#include "sync/copytext.h"

#define ROW_MAX ((size_t)1 << 30)  /* PostgreSQL's own limit on a field */
#define SCRATCH_MAX ((size_t)1 << 31)

/* ---- chunks ---------------------------------------------------------------- */

void pgl_chunk_init(pgl_chunk *c, int max_rows, size_t max_bytes)
{
    memset(c, 0, sizeof *c);
    sb_init(&c->data, NULL, ROW_MAX + max_bytes);
    sb_init(&c->wm, NULL, 1 << 16);
    c->max_rows = max_rows > 0 ? max_rows : 1;
    c->max_bytes = max_bytes;
    c->a = arena_new(0);
}

void pgl_chunk_free(pgl_chunk *c)
{
    sb_free(&c->data);
    sb_free(&c->wm);
    free(c->off);
    free(c->tag);
    free(c->failed);
    free(c->error);
    arena_free(c->a);
    memset(c, 0, sizeof *c);
}

void pgl_chunk_clear(pgl_chunk *c)
{
    sb_clear(&c->data);
    sb_clear(&c->wm);
    c->has_wm = 0;
    c->n = 0;
    arena_reset(c->a);
}

int pgl_chunk_full(const pgl_chunk *c, size_t len)
{
    return c->n >= c->max_rows || (c->n > 0 && c->data.len + len > c->max_bytes);
}

sl_err pgl_chunk_add(pgl_chunk *c, const char *row, size_t len, long long tag)
{
    if (len > ROW_MAX)
        return SL_ETOOBIG;
    if (c->n + 2 > c->cap) {
        int cap = c->cap ? c->cap * 2 : 1024;
        c->off = xrealloc(c->off, (size_t)cap * sizeof *c->off);
        c->tag = xrealloc(c->tag, (size_t)cap * sizeof *c->tag);
        c->failed = xrealloc(c->failed, (size_t)cap);
        c->error = xrealloc(c->error, (size_t)cap * sizeof *c->error);
        c->cap = cap;
    }
    c->off[c->n] = c->data.len;
    sl_err e = sb_append(&c->data, row, len);
    if (e == SL_OK && (len == 0 || row[len - 1] != '\n'))
        e = sb_putc(&c->data, '\n');
    if (e != SL_OK) {
        c->data.len = c->off[c->n];
        return e;
    }
    c->tag[c->n] = tag;
    c->failed[c->n] = 0;
    c->error[c->n] = NULL;
    c->n++;
    c->off[c->n] = c->data.len;
    return SL_OK;
}

/* ---- the loader -------------------------------------------------------------- */

int pgl_row_error(const char *st)
{
    return strncmp(st, "22", 2) == 0       /* data exception */
           || strncmp(st, "23", 2) == 0    /* integrity constraint violation */
           || strcmp(st, "54000") == 0     /* program limit (an index row too big) */
           || strcmp(st, "P0001") == 0;    /* raised by a trigger */
}

static const char *pk_list(arena *a, const tsync *t)
{
    sbuf b;
    sb_init(&b, a, (size_t)1 << 20);
    for (int k = 0; k < t->npk; k++)
        sb_printf(&b, "%s%s", k ? ", " : "", db_quote_ident(a, t->cols[t->pk[k]].name));
    return sb_str(&b);
}

/* INSERT ... ON CONFLICT (pk) DO UPDATE from the temporary table, the last
 * row of a key winning; in retry mode an update never takes a row back to
 * an older watermark. */
static const char *merge_sql(arena *a, const tsync *t, int retry)
{
    const char *pk = pk_list(a, t);
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    sb_printf(&b, "INSERT INTO %s AS t (%s, _sluice_run_id, _sluice_synced_at)"
                  " SELECT DISTINCT ON (%s) %s, %s, now() FROM %s ORDER BY %s, ctid DESC"
                  " ON CONFLICT (%s) DO UPDATE SET ",
              t->q_target, t->q_cols, pk, t->q_cols, t->run_id_text, t->q_tmp, pk, pk);
    for (int i = 0; i < t->ncols; i++) {
        if (t->cols[i].pk)
            continue;
        const char *c = db_quote_ident(a, t->cols[i].name);
        sb_printf(&b, "%s = EXCLUDED.%s, ", c, c);
    }
    sb_puts(&b, "_sluice_run_id = EXCLUDED._sluice_run_id,"
                " _sluice_synced_at = EXCLUDED._sluice_synced_at");
    if (retry && t->wm >= 0) {
        const char *w = db_quote_ident(a, t->cols[t->wm].name);
        sb_printf(&b, " WHERE t.%s IS NULL OR EXCLUDED.%s IS NULL OR EXCLUDED.%s >= t.%s", w, w,
                  w, w);
    }
    return sb_str(&b);
}

static const char *insert_sql(arena *a, const tsync *t)
{
    if (t->mode == TS_APPEND)
        return arena_printf(a, "INSERT INTO %s (%s, _sluice_run_id, _sluice_synced_at,"
                               " _sluice_row_hash) SELECT %s, %s, now(), %s FROM %s"
                               " ON CONFLICT (_sluice_row_hash) DO NOTHING",
                            t->q_target, t->q_cols, t->q_cols, t->run_id_text, t->hash_expr,
                            t->q_tmp);
    return arena_printf(a, "INSERT INTO %s (%s, _sluice_run_id, _sluice_synced_at)"
                           " SELECT %s, %s, now() FROM %s",
                        t->q_target, t->q_cols, t->q_cols, t->run_id_text, t->q_tmp);
}

/* The merge (or insert) as a statement that also says what it stored:
 * WITH m AS (<write> RETURNING <NOT NULL columns>) SELECT count(*),
 * count(*) FILTER (WHERE c IS NULL), ... FROM m - the rows written, and
 * the NULLs among them (after defaults and triggers) in each column the
 * source declares NOT NULL. */
static const char *counted(arena *a, const tsync *t, const char *write)
{
    sbuf ret, sel;
    sb_init(&ret, a, (size_t)1 << 24);
    sb_init(&sel, a, (size_t)1 << 24);
    sb_puts(&ret, "1");
    for (int i = 0; i < t->ncols; i++) {
        if (!t->cols[i].notnull)
            continue;
        const char *c = db_quote_ident(a, t->cols[i].name);
        sb_printf(&ret, ", %s", c);
        sb_printf(&sel, ", count(*) FILTER (WHERE %s IS NULL)", c);
    }
    return arena_printf(a, "WITH m AS (%s RETURNING %s) SELECT count(*)%s FROM m", write,
                        sb_str(&ret), sb_str(&sel));
}

sl_err pgl_init(pgl_loader *l, db *dst, arena *a, tsync *t, int into_shadow, int retry,
                sl_errbuf *eb)
{
    memset(l, 0, sizeof *l);
    l->dst = dst;
    l->t = t;
    l->a = a;
    l->into_shadow = into_shadow;
    l->retry = retry;
    l->nulls = arena_calloc(a, (size_t)t->ncols, sizeof *l->nulls);
    sb_init(&l->scratch, NULL, SCRATCH_MAX);
    sb_init(&l->line, NULL, SCRATCH_MAX);
    if (t->q_raw && !retry)
        l->raw_sql = arena_printf(a, "COPY %s (_sluice_run_id, _data) FROM STDIN", t->q_raw);
    l->dead_sql = arena_printf(a, "INSERT INTO %s (pipeline_id, run_id, source_name,"
                                  " source_schema, table_name, row_data, error_text)"
                                  " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)", t->q_dead);
    if (into_shadow) {
        l->copy_sql = arena_printf(a, "COPY %s (%s) FROM STDIN", t->q_shadow, t->q_cols);
        return SL_OK;
    }
    l->copy_sql = arena_printf(a, "COPY %s (%s) FROM STDIN", t->q_tmp, t->q_cols);
    l->merge_sql = counted(a, t, t->npk > 0 ? merge_sql(a, t, retry) : insert_sql(a, t));
    db_rollback(dst);
    sl_err e = db_exec(dst, eb, arena_printf(a, "DROP TABLE IF EXISTS %s", t->q_tmp), 0, NULL);
    if (e == SL_OK)
        e = db_exec(dst, eb, arena_printf(a, "CREATE TEMPORARY TABLE _sluice_load"
                                             " ON COMMIT DELETE ROWS AS SELECT %s FROM %s"
                                             " WITH NO DATA", t->q_cols, t->q_target),
                    0, NULL);
    return e;
}

void pgl_done(pgl_loader *l)
{
    if (!l->into_shadow && l->dst && db_conn(l->dst)) {
        sl_errbuf ignore;
        db_rollback(l->dst);
        db_exec(l->dst, &ignore, "DROP TABLE IF EXISTS pg_temp._sluice_load", 0, NULL);
    }
    sb_free(&l->scratch);
    sb_free(&l->line);
}

/* ---- loading ----------------------------------------------------------------- */

static sl_err copy_rows(db *dst, const char *sql, const pgl_chunk *c, int lo, int hi,
                        sl_errbuf *eb)
{
    sl_err e = db_copy_in_begin(dst, eb, sql);
    if (e != SL_OK)
        return e;
    e = db_copy_in_put(dst, eb, c->data.ptr + c->off[lo], c->off[hi] - c->off[lo]);
    if (e != SL_OK) {
        sl_errbuf ignore;
        db_copy_in_end(dst, &ignore, "sluice: sending the rows failed");
        return e;
    }
    return db_copy_in_end(dst, eb, NULL);
}

/* Raw mode: every row of c as {"column": value} JSON into the raw table. */
static sl_err load_raw(pgl_loader *l, const pgl_chunk *c, sl_errbuf *eb)
{
    const tsync *t = l->t;
    const char *names[t->ncols];
    enum ct_kind kinds[t->ncols];
    for (int i = 0; i < t->ncols; i++) {
        names[i] = t->cols[i].name;
        kinds[i] = t->cols[i].kind;
    }
    sl_err e = db_copy_in_begin(l->dst, eb, l->raw_sql);
    for (int i = 0; i < c->n && e == SL_OK; i++) {
        sb_clear(&l->line);
        sb_clear(&l->scratch);
        e = ct_row_json(c->data.ptr + c->off[i], c->off[i + 1] - c->off[i], names, kinds,
                        t->ncols, &l->line, &l->scratch);
        sb_clear(&l->line);
        if (e == SL_OK)
            e = sb_printf(&l->line, "%s\t", t->run_id_text);
        if (e == SL_OK)
            e = ct_encode(l->scratch.ptr, l->scratch.len, &l->line);
        if (e == SL_OK)
            e = sb_putc(&l->line, '\n');
        if (e == SL_ETOOBIG)
            e = sl_fail(eb, e, "a row is too big for raw mode's JSON");
        if (e == SL_OK)
            e = db_copy_in_put(l->dst, eb, l->line.ptr, l->line.len);
    }
    if (e != SL_OK) {
        sl_errbuf ignore;
        db_copy_in_end(l->dst, &ignore, "sluice: raw rows failed");
        return e;
    }
    return db_copy_in_end(l->dst, eb, NULL);
}

static sl_err exec(db *d, sl_errbuf *eb, const char *sql)
{
    return db_exec(d, eb, sql, 0, NULL);
}

/* After the rows of an attempt are in: the merge, and what it stored. */
static sl_err merge(pgl_loader *l, int depth, sl_errbuf *eb)
{
    if (!l->merge_sql)
        return SL_OK;
    PGresult *r;
    sl_err e = db_query(l->dst, NULL, eb, &r, l->merge_sql, 0, NULL);
    if (e != SL_OK)
        return e;
    l->written += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    for (int i = 0, f = 1; i < l->t->ncols; i++)
        if (l->t->cols[i].notnull)
            l->nulls[i] += strtoll(PQgetvalue(r, 0, f++), NULL, 10);
    PQclear(r);
    if (depth > 0) /* the next attempt starts from an empty table */
        e = db_exec(l->dst, eb, "TRUNCATE pg_temp._sluice_load", 0, NULL);
    return e;
}

/* After a failed attempt under the savepoint: back to before it. Returns
 * SL_OK when the failure was about the data (so splitting may help), with
 * why the text of it; else the error. */
static sl_err undo_attempt(pgl_loader *l, pgl_chunk *c, sl_err failure, const char **why,
                           sl_errbuf *eb)
{
    char state[6];
    snprintf(state, sizeof state, "%s", db_sqlstate(l->dst));
    if (failure != SL_EDB || !pgl_row_error(state))
        return failure;
    *why = arena_printf(c->a, "%s (SQLSTATE %s)", eb->msg, state);
    sl_err e = exec(l->dst, eb, "ROLLBACK TO SAVEPOINT sluice_chunk");
    if (e == SL_OK)
        e = exec(l->dst, eb, "RELEASE SAVEPOINT sluice_chunk");
    return e;
}

static sl_err load_range(pgl_loader *l, pgl_chunk *c, int lo, int hi, int depth,
                         sl_errbuf *eb);

/* Rows [lo, hi) failed together (why): single rows are marked failed,
 * more are split in halves and tried again. */
static sl_err split(pgl_loader *l, pgl_chunk *c, int lo, int hi, int depth, const char *why,
                    sl_errbuf *eb)
{
    if (hi - lo == 1) {
        c->failed[lo] = 1;
        c->error[lo] = why;
        return SL_OK;
    }
    int mid = lo + (hi - lo) / 2;
    sl_err e = load_range(l, c, lo, mid, depth + 1, eb);
    if (e == SL_OK)
        e = load_range(l, c, mid, hi, depth + 1, eb);
    return e;
}

/* Rows [lo, hi) under a savepoint, sent now; on a data error, split. */
static sl_err load_range(pgl_loader *l, pgl_chunk *c, int lo, int hi, int depth, sl_errbuf *eb)
{
    sl_err e = exec(l->dst, eb, "SAVEPOINT sluice_chunk");
    if (e != SL_OK)
        return e;
    e = copy_rows(l->dst, l->copy_sql, c, lo, hi, eb);
    if (e == SL_OK)
        e = merge(l, depth, eb);
    if (e == SL_OK)
        return exec(l->dst, eb, "RELEASE SAVEPOINT sluice_chunk");
    const char *why = NULL;
    e = undo_attempt(l, c, e, &why, eb);
    return e == SL_OK ? split(l, c, lo, hi, depth, why, eb) : e;
}

sl_err pgl_stream_begin(pgl_loader *l, sl_errbuf *eb)
{
    sl_err e = exec(l->dst, eb, "SAVEPOINT sluice_chunk");
    if (e == SL_OK)
        e = db_copy_in_begin(l->dst, eb, l->copy_sql);
    l->streaming = e == SL_OK;
    return e;
}

sl_err pgl_stream_row(pgl_loader *l, const char *row, size_t len, sl_errbuf *eb)
{
    return db_copy_in_put(l->dst, eb, row, len);
}

void pgl_stream_abort(pgl_loader *l)
{
    if (!l->streaming)
        return;
    sl_errbuf ignore;
    db_copy_in_end(l->dst, &ignore, "sluice: the chunk was abandoned");
    l->streaming = 0;
}

/* The streamed chunk: finish its COPY and merge; on a data error, split. */
static sl_err finish_stream(pgl_loader *l, pgl_chunk *c, sl_errbuf *eb)
{
    l->streaming = 0;
    sl_err e = db_copy_in_end(l->dst, eb, NULL);
    if (e == SL_OK)
        e = merge(l, 0, eb);
    if (e == SL_OK)
        return exec(l->dst, eb, "RELEASE SAVEPOINT sluice_chunk");
    const char *why = NULL;
    e = undo_attempt(l, c, e, &why, eb);
    return e == SL_OK ? split(l, c, 0, c->n, 0, why, eb) : e;
}

sl_err pgl_load(pgl_loader *l, pgl_chunk *c, sl_errbuf *eb)
{
    sl_err e;
    if (l->streaming)
        e = finish_stream(l, c, eb);
    else
        e = c->n > 0 ? load_range(l, c, 0, c->n, 0, eb) : SL_OK;
    if (e == SL_OK && l->raw_sql && c->n > 0)
        e = load_raw(l, c, eb);
    if (e != SL_OK)
        return e;
    long long bad = 0;
    for (int i = 0; i < c->n; i++)
        bad += c->failed[i];
    l->failed += bad;
    l->loaded += c->n - bad;
    return SL_OK;
}

sl_err pgl_dead_letters(pgl_loader *l, pgl_chunk *c, sl_errbuf *eb)
{
    const tsync *t = l->t;
    const char *names[t->ncols];
    for (int i = 0; i < t->ncols; i++)
        names[i] = t->cols[i].name;
    sl_err e = SL_OK;
    for (int i = 0; i < c->n && e == SL_OK; i++) {
        if (!c->failed[i])
            continue;
        sb_clear(&l->scratch);
        e = ct_row_json(c->data.ptr + c->off[i], c->off[i + 1] - c->off[i], names, NULL,
                        t->ncols, &l->line, &l->scratch);
        if (e != SL_OK)
            return sl_fail(eb, e, "a failed row is too big to keep as a dead letter");
        const char *p[] = {t->cfg->pipeline_id, t->run_id_text, t->cfg->source_name,
                           t->pt->schema, t->pt->source_table, sb_str(&l->scratch),
                           c->error[i]};
        e = db_exec(l->dst, eb, l->dead_sql, 7, p);
    }
    return e;
}
