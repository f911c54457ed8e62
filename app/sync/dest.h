/* dest.h - the destination side of a table sync for destinations other
 * than PostgreSQL (MySQL / MariaDB in my_dest.c, ClickHouse in
 * ch_dest.c), and the per-table algorithm over it (dstsync.c).
 *
 * PostgreSQL destinations keep their own path (pg_dest.c, pg_load.c,
 * tablesync.c: COPY, dead letters, raw mode); these destinations go
 * through a simpler one with the same checkpoint rules: each chunk of
 * COPY text rows is loaded (merged by primary key) and the checkpoint is
 * written in the same destination transaction when the destination has
 * transactions (MySQL); a destination without them (ClickHouse) keeps
 * its checkpoint in the control database, written only after the
 * destination acknowledged the chunk (at least once). A full refresh
 * loads a shadow table and swaps it in.
 * Rows a destination refuses fail the chunk (no dead letters yet); raw
 * mode and append mode (no key) are loaded as full refreshes. */
#ifndef SL_DEST_H
#define SL_DEST_H

#include "arena.h"
#include "connector.h"
#include "err.h"
#include "sync/tsync.h"

struct dst_ops {
    const char *name;
    int ckpt_in_control;  /* the checkpoint lives in the control database's
                           * sluice_state.watermarks, not at the destination */
    /* Connect; the connector's errors. *h owned by the caller (close). */
    sl_err (*open)(const conn_params *p, void **h, sl_errbuf *eb);
    void (*close)(void *h);
    int (*alive)(void *h);
    /* The checkpoint table, when missing. */
    sl_err (*ensure_meta)(void *h, arena *a, sl_errbuf *eb);
    /* Create the typed table from t's columns, or add the columns it
     * lacks; the names of added columns go to *added (n in *nadded), and
     * *created says whether it was made. */
    sl_err (*ensure_target)(void *h, arena *a, const tsync *t, int *created,
                            const char ***added, int *nadded, sl_errbuf *eb);
    /* t's checkpoint text (NULL when none, or for another column). */
    sl_err (*checkpoint)(void *h, arena *a, const tsync *t, char **wm, sl_errbuf *eb);
    /* Whether the typed table has no rows. */
    sl_err (*target_empty)(void *h, arena *a, const tsync *t, int *empty, sl_errbuf *eb);
    /* A chunk: begin, rows (COPY text, n of them back to back, each
     * ending in "\n"), then commit with the checkpoint (wm may be NULL:
     * keep the old one; rows adds up unless reset) or rollback.
     * into_shadow loads the full refresh's shadow table instead. */
    sl_err (*begin)(void *h, sl_errbuf *eb);
    sl_err (*load)(void *h, arena *a, const tsync *t, int into_shadow, const char *rows,
                   size_t len, int n, sl_errbuf *eb);
    sl_err (*commit)(void *h, arena *a, const tsync *t, const char *wm, long long rows,
                     int reset, sl_errbuf *eb);
    void (*rollback)(void *h);
    /* Full refresh: a fresh empty shadow like the typed table; then the
     * swap (atomic for readers), after which commit() writes the
     * checkpoint. */
    sl_err (*shadow_begin)(void *h, arena *a, const tsync *t, sl_errbuf *eb);
    sl_err (*shadow_swap)(void *h, arena *a, const tsync *t, sl_errbuf *eb);
};

extern const struct dst_ops dst_mysql_ops;      /* my_dest.c: MySQL and MariaDB */
extern const struct dst_ops dst_clickhouse_ops; /* ch_dest.c */

/* The implementation for a destination type ("mysql", "mariadb",
 * "clickhouse"), or NULL
 * for PostgreSQL (its own path) and types that cannot be a destination. */
const struct dst_ops *dst_ops_for(const char *type);

#endif
