/* source.h - the source side of a table sync, one interface for every
 * source database (DESIGN.md section 4: open, close, describe, extract).
 *
 * The engine (tablesync.c) only talks to a source through these calls, so
 * PostgreSQL (src_pg.c, over pg_extract.c) and MySQL / MariaDB
 * (my_extract.c) are two implementations of one algorithm. What a source
 * promises:
 *
 *   - describe fills the tsync's source half: columns with their source
 *     type and the PostgreSQL type the destination creates, NOT NULLs, the
 *     primary key, a row estimate, and the watermark column;
 *   - every call between src_snapshot() and src_end() reads one
 *     consistent snapshot of the table;
 *   - extract streams rows as PostgreSQL COPY text (fields separated by
 *     tabs, \N for NULL, backslash escapes, one "\n" per row) in the text
 *     forms PostgreSQL reads back exactly, ordered by the watermark when
 *     asked; memory is bounded by a row, never by the table;
 *   - a watermark value it printed (a field of such a row, or
 *     src_max_watermark) is a valid `from` for the next run.
 *
 * A session is opened per run and reopened by the engine when it is no
 * longer alive (src_alive). Values a source cannot carry exactly are
 * reported through the session's note hook (e.g. a MySQL zero date loaded
 * as NULL), never by failing the load. */
#ifndef SL_SOURCE_H
#define SL_SOURCE_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "sync/connector.h"
#include "sync/tsync.h"

/* A row of COPY text (len bytes, ending in "\n"); non-zero stops the
 * extraction. */
typedef int (*src_row_cb)(const char *row, size_t len, void *arg);
/* A note about a value that was changed on the way (msg names the column
 * and the row's key); the text is only valid during the call. */
typedef void (*src_note_cb)(void *arg, const char *msg);

struct src_ops {
    const char *name;   /* "postgresql", "mysql" */
    /* what names the side; messages start with it ("source: ...") */
    sl_err (*open)(const conn_params *p, const char *what, void **h, sl_errbuf *eb);
    void (*close)(void *h);
    int (*alive)(void *h);
    sl_err (*snapshot)(void *h, sl_errbuf *eb);
    void (*end)(void *h);
    sl_err (*describe)(void *h, arena *a, tsync *t, sl_errbuf *eb);
    sl_err (*max_watermark)(void *h, arena *a, const tsync *t, char **out, sl_errbuf *eb);
    long long (*estimate)(void *h, arena *a, const tsync *t, const char *from);
    sl_err (*extract)(void *h, arena *a, const tsync *t, const char *from, int ordered,
                      src_row_cb cb, void *arg, src_note_cb note, void *note_arg,
                      sl_errbuf *eb);
};

extern const struct src_ops src_pg_ops;     /* src_pg.c */
extern const struct src_ops src_mysql_ops;  /* my_extract.c: MySQL and MariaDB */

typedef struct src_session src_session;

/* The implementation for a source type ("postgresql", "mysql", "mariadb"),
 * or NULL when sluice cannot read from that type. */
const struct src_ops *src_ops_for(const char *type);

/* Open a session on p (its type picks the implementation). what names the
 * side in messages ("source"). SL_EUNSUPPORTED for a type that cannot be
 * a source, else the connector's errors (SL_EDBDOWN, SL_EAUTH, ...). The
 * caller owns *out (src_close). */
sl_err src_open(const conn_params *p, const char *what, src_session **out, sl_errbuf *eb);
/* Close and free; NULL is fine. */
void src_close(src_session *s);
/* Whether the connection still works (0 after a broken or abandoned one). */
int src_alive(const src_session *s);
/* The notes of the following extractions go to note(arg, msg); NULL drops
 * them. */
void src_set_note(src_session *s, src_note_cb note, void *arg);

/* Start the table's snapshot (ending any open one; reconnecting when an
 * abandoned extraction closed the connection). */
sl_err src_snapshot(src_session *s, sl_errbuf *eb);
/* End the snapshot (nothing to commit). Never fails visibly. */
void src_end(src_session *s);

/* Describe t->pt's table into t (q_source, cols, npk, pk, est_rows, wm,
 * wm_temporal), everything in a. SL_ENOTFOUND when the table does not
 * exist, SL_EINVAL when the configured watermark column is missing or of
 * a type that cannot be a watermark, SL_EUNSUPPORTED for no columns. */
sl_err src_describe(src_session *s, arena *a, tsync *t, sl_errbuf *eb);

/* The largest watermark in the snapshot, as extract prints it, into *out
 * (in a; NULL when the table has no value). */
sl_err src_max_watermark(src_session *s, arena *a, const tsync *t, char **out, sl_errbuf *eb);

/* Roughly how many rows src_extract(from) will give; -1 when unknown. */
long long src_estimate(src_session *s, arena *a, const tsync *t, const char *from);

/* Stream t's rows to cb: all of them when from is NULL, else those whose
 * watermark is at least from (minus the table's lookback for dates and
 * timestamps) and those whose watermark is NULL; ordered by the watermark
 * when ordered is set. A stop by cb returns SL_EINVAL (the caller knows
 * why); other errors are the source's, with eb saying what. */
sl_err src_extract(src_session *s, arena *a, const tsync *t, const char *from, int ordered,
                   src_row_cb cb, void *arg, sl_errbuf *eb);

/* For implementations: pick t's watermark column as discovery does (the
 * table's override, else the usual names; pick_watermark()), judging each
 * column by its source type (by_source_type) or by the PostgreSQL type it
 * becomes. Sets t->wm (-1 for none) and t->wm_temporal (the destination
 * type is a date or a timestamp). SL_EINVAL when the override names no
 * column, or one of a type that cannot be a watermark. */
sl_err src_pick_watermark(tsync *t, int by_source_type, sl_errbuf *eb);

#endif
