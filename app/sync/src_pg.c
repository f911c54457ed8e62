/* src_pg.c - PostgreSQL as a sync source: the source interface (source.h)
 * over pg_extract.c.
 *
 * The handle is the db session pgx_connect() opened; a snapshot is a
 * REPEATABLE READ READ ONLY transaction, and extraction is the server's
 * own COPY (SELECT ...) TO STDOUT, passed through untouched (its text is
 * already what the destination reads). PostgreSQL sources change no value
 * on the way, so they never call the note hook. */
#include "db.h"
#include "sync/pg_extract.h"
#include "sync/source.h"

static sl_err pg_open(const conn_params *p, const char *what, void **h, sl_errbuf *eb)
{
    db *d = NULL;
    sl_err e = pgx_connect(p, what, &d, eb);
    *h = d;
    return e;
}

static void pg_close(void *h)
{
    db_close(h);
}

static int pg_alive(void *h)
{
    return h && db_conn(h) != NULL;
}

static sl_err pg_snapshot(void *h, sl_errbuf *eb)
{
    return pgx_snapshot(h, eb);
}

static void pg_end(void *h)
{
    db_rollback(h);
}

static sl_err pg_describe(void *h, arena *a, tsync *t, sl_errbuf *eb)
{
    sl_err e = pgx_describe(h, a, t, eb);
    return e == SL_OK ? src_pick_watermark(t, 0, eb) : e;
}

static sl_err pg_max_watermark(void *h, arena *a, const tsync *t, char **out, sl_errbuf *eb)
{
    return pgx_max_watermark(h, a, t, out, eb);
}

static long long pg_estimate(void *h, arena *a, const tsync *t, const char *from)
{
    return pgx_estimate(h, a, t, pgx_where(a, t, from));
}

static sl_err pg_extract(void *h, arena *a, const tsync *t, const char *from, int ordered,
                         src_row_cb cb, void *arg, src_note_cb note, void *note_arg,
                         sl_errbuf *eb)
{
    return db_copy_out(h, eb, pgx_copy_sql(a, t, pgx_where(a, t, from), ordered), cb, arg);
}

const struct src_ops src_pg_ops = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .alive = pg_alive,
    .snapshot = pg_snapshot,
    .end = pg_end,
    .describe = pg_describe,
    .max_watermark = pg_max_watermark,
    .estimate = pg_estimate,
    .extract = pg_extract,
};
