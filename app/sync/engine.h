/* engine.h - what the sync engine's files (sync.c, tablesync.c,
 * dlretry.c) share about the run in progress. Internal to app/sync. */
#ifndef SL_ENGINE_H
#define SL_ENGINE_H

#include "db.h"
#include "sync/dest.h"
#include "sync/pg_dest.h"
#include "sync/pg_load.h"
#include "sync/plconf.h"
#include "sync/run.h"
#include "sync/source.h"
#include "sync/sync.h"
#include "sync/tsync.h"

#define ENGINE_CHUNK_ROWS 50000
#define ENGINE_CHUNK_BYTES ((size_t)16 << 20)

typedef struct {
    run_ctx *rc;
    const sync_opts *opts;
    pl_config cfg;
    src_session *src;        /* the source (source.h): PostgreSQL, MySQL or MariaDB */
    db *dst;                 /* a PostgreSQL destination, or NULL with xops */
    const struct dst_ops *xops; /* another destination (dest.h): MySQL, MariaDB */
    void *xd;                /* its session */
    int chunk_rows;
    size_t chunk_bytes;
    double threshold_pct;     /* row count check */
    int quality_off;          /* feature flag quality_checks is off: no checks */
    long long rows_done;      /* rows moved by the tables finished so far */
    int cancelled;            /* a cancel stopped a table */
} engine;

/* One table: everything from the snapshot to the stats. SL_ECONFLICT
 * ("cancelled") when a cancel stopped it; else its error, already in its
 * stats row and the run's log. */
sl_err tablesync_run(engine *en, const pl_table *pt, sl_errbuf *eb);

/* Describe t's source table in a fresh snapshot (src_snapshot,
 * src_describe) and name its destination objects. */
sl_err tablesync_prepare(engine *en, arena *a, tsync *t, sl_errbuf *eb);

/* Re-apply the unresolved dead letters of t (prepared) through the same
 * merge; those that load are marked resolved, the others get the new
 * error and retried_at. st's counters are updated. */
sl_err dlretry_table(engine *en, arena *a, tsync *t, run_table *st, sl_errbuf *eb);

/* t's sync into a destination other than PostgreSQL (dstsync.c), after
 * tablesync prepared t and chose its mode; st begun. */
sl_err dstsync_table(engine *en, arena *a, tsync *t, run_table *st, sl_errbuf *eb);

/* Mirror t's checkpoint into the control database's
 * sluice_state.watermarks (informational; failures are logged only). */
void engine_mirror(engine *en, const tsync *t, const char *wm, long long rows);

#endif
