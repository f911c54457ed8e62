/* sync.h - the table-sync engine: one run of one pipeline.
 *
 * Follows DESIGN.md section 5. Per table: describe the source, ensure the
 * destination tables (adding drifted columns), read the checkpoint from the
 * destination's _sluice_state, extract in one consistent snapshot
 * `WHERE wm >= checkpoint - lookback ORDER BY wm`, and load chunk by chunk:
 * COPY into a temporary table, merge into the typed table by primary key
 * and write the new checkpoint in the same destination transaction. Rows
 * that cannot be loaded go to _dead_letters; full refresh loads a shadow
 * table and swaps it in atomically. Memory is bounded by the chunk. */
#ifndef SL_SYNC_H
#define SL_SYNC_H

#include <jansson.h>

#include "err.h"
#include "run.h"

typedef struct {
    const char *only_table;     /* "schema.table" or "table"; NULL: every enabled table */
    const json_t *tables;       /* or an array of such names (borrowed); NULL: all */
    int full_refresh;           /* reload every selected table through a shadow table */
    const char *backfill_from;  /* restart incremental tables from this watermark value */
    int retry_dead_letters;     /* only re-apply the tables' unresolved dead letters */
    long chunk_rows;            /* rows per destination transaction; 0: 50,000 */
    long chunk_bytes;           /* bytes per chunk; 0: 16 MiB */
} sync_opts;

/* Run the pipeline of rc with options. Returns SL_OK when every table
 * synced (dead letters do not fail a run), else the first error, with the
 * message in eb; the caller then calls run_finish(). Stops at the next
 * chunk boundary when run_progress() reports a cancel (returns
 * SL_ECONFLICT with the message "cancelled"). Secrets are
 * opened with keyring_open(): the caller must have loaded the key. */
sl_err sync_run(run_ctx *rc, const sync_opts *opts, sl_errbuf *eb);

/* Options from a run's options JSON (as queued by the console or API):
 * "tables" (array of names), "full_refresh", "backfill_from",
 * "retry_dead_letters", "chunk_rows", "chunk_bytes". Strings and the
 * array are borrowed from the run (valid while rc is). */
void sync_opts_from_run(run_ctx *rc, sync_opts *opts);

#endif
