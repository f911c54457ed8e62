/* pg_load.h - loading chunks of COPY text rows into a PostgreSQL
 * destination: COPY into a temporary table and merge (or append, or COPY
 * straight into a shadow table), with the rows that cannot load isolated
 * into _dead_letters while the rest loads. */
#ifndef SL_PG_LOAD_H
#define SL_PG_LOAD_H

#include "db.h"
#include "sbuf.h"
#include "sync/tsync.h"

/* A chunk: up to its byte cap of COPY text rows (one row bigger than the
 * cap is a chunk of its own), with per-row marks the load fills in.
 * Heap memory, reused from chunk to chunk: memory is bounded by the chunk,
 * never by the table. */
typedef struct {
    sbuf data;            /* the rows, each ending in "\n" */
    size_t *off;          /* row i is data[off[i], off[i + 1]) */
    long long *tag;       /* per row: the dead letter it came from (retries), else 0 */
    char *failed;         /* per row: it went to dead letters */
    const char **error;   /* per failed row: why (in a) */
    int n, cap;
    size_t max_bytes;     /* flush when the next row would pass this */
    int max_rows;
    sbuf wm;              /* the last non-NULL watermark text added */
    int has_wm;
    arena *a;             /* per chunk: error texts; reset by pgl_chunk_clear */
} pgl_chunk;

void pgl_chunk_init(pgl_chunk *c, int max_rows, size_t max_bytes);
void pgl_chunk_free(pgl_chunk *c);
/* Forget the rows (keeps the memory for the next chunk). */
void pgl_chunk_clear(pgl_chunk *c);
/* Whether a row of len bytes should go into a new chunk (this one is full
 * by rows, or would pass its byte cap and is not empty). */
int pgl_chunk_full(const pgl_chunk *c, size_t len);
/* Add a row (len bytes; a missing final "\n" is added). SL_ETOOBIG for a
 * row over 1 GiB. */
sl_err pgl_chunk_add(pgl_chunk *c, const char *row, size_t len, long long tag);

/* A table's loader: its SQL, built once, and working buffers. */
typedef struct {
    db *dst;
    tsync *t;
    arena *a;
    int into_shadow;      /* COPY straight into the shadow table (full refresh) */
    int retry;            /* re-applying dead letters: an older row never wins */
    const char *copy_sql, *merge_sql, *raw_sql, *dead_sql;
    sbuf scratch, line;
    long long *nulls;     /* per column: NULLs stored where the source says NOT NULL */
    long long loaded;     /* rows loaded so far (sent and not refused) */
    long long written;    /* rows the merges inserted or updated: fewer than loaded when a
                           * key repeats, an appended row was there already, or a retry
                           * met a newer row */
    long long failed;     /* rows isolated so far */
    int streaming;        /* a chunk's COPY is open (pgl_stream_begin) */
} pgl_loader;

/* Set up a loader for t on dst (in a, which must outlive it): the SQL,
 * and, unless into_shadow, the session's temporary table (ON COMMIT
 * DELETE ROWS) with t's columns. Errors from the destination. */
sl_err pgl_init(pgl_loader *l, db *dst, arena *a, tsync *t, int into_shadow, int retry,
                sl_errbuf *eb);
void pgl_done(pgl_loader *l);

/* Streaming a chunk while it is read: pgl_stream_begin opens a savepoint
 * and the COPY (into the temporary table, or the shadow) in the caller's
 * open transaction, before the chunk's first row; pgl_stream_row sends a
 * row (which the caller also adds to the chunk, for when the chunk has to
 * be split); pgl_load then finishes it. Errors from the destination. */
sl_err pgl_stream_begin(pgl_loader *l, sl_errbuf *eb);
sl_err pgl_stream_row(pgl_loader *l, const char *row, size_t len, sl_errbuf *eb);
/* End a stream that will not be loaded (the transaction is then the
 * caller's to roll back). */
void pgl_stream_abort(pgl_loader *l);

/* Load chunk c inside the caller's open transaction (no BEGIN / COMMIT
 * here): the rows into the typed (or shadow) table (finishing the stream
 * when one is open, else sending them now), then in raw mode every row
 * into the raw table as JSON. When the load fails with an error about the
 * data (SQLSTATE class 22 or 23, a raised exception, a program limit), the
 * chunk is split in halves under savepoints, down to single rows, which
 * are marked failed with their error; every other row loads. Any other
 * error is returned (the transaction is then unusable). Adds to l->loaded
 * and l->failed. */
sl_err pgl_load(pgl_loader *l, pgl_chunk *c, sl_errbuf *eb);

/* Write c's failed rows to _dead_letters (row as JSON, the error), in the
 * current transaction. */
sl_err pgl_dead_letters(pgl_loader *l, pgl_chunk *c, sl_errbuf *eb);

/* Whether sqlstate names an error about a row's data, which isolating the
 * row can get around. */
int pgl_row_error(const char *sqlstate);

#endif
