/* sync.h - the table-sync engine: one run of one pipeline.
 *
 * Follows DESIGN.md section 5. Per table: describe the source, ensure the
 * destination tables (adding drifted columns), read the checkpoint from the
 * destination's _sluice_state, extract in one consistent snapshot
 * `WHERE wm >= checkpoint - lookback ORDER BY wm`, and load chunk by chunk:
 * COPY into a temporary table, merge into the typed table by primary key
 * and write the new checkpoint in the same destination transaction. Rows
 * that cannot be loaded go to _dead_letters; full refresh loads a shadow
 * table and swaps it in atomically. Memory is bounded by the chunk.
 *
 * The rules, as a user sees them (PostgreSQL to PostgreSQL):
 *
 * Exactness. Rows travel as COPY text, never re-encoded, with the same
 *   session settings on both sides (DateStyle ISO, TimeZone UTC,
 *   IntervalStyle postgres, extra_float_digits 3, bytea_output hex). The
 *   typed table has the source's column types (format_type), except that
 *   enums become text (arrays of them text[]), domains their base type,
 *   and types from outside pg_catalog text; plus _sluice_run_id and
 *   _sluice_synced_at. Source NOT NULLs are not copied (the quality check
 *   looks for NULLs instead); the primary key is.
 * Modes. Full refresh when asked (run or table), when the table has no
 *   watermark column (the override, else updated_at, modified_at,
 *   last_modified, updated, created_at of a timestamp, date or integer
 *   type), or when it has no primary key and no watermark column was
 *   configured for it. A table without a primary key but with a configured
 *   watermark column is appended to: each row carries _sluice_row_hash
 *   (md5 of the row's text) under a unique index, so rows read again at
 *   the boundary are not duplicated; the price is that rows identical in
 *   every column collapse into one (and after a column is added, rows read
 *   again once at the boundary may appear twice). Everything else is
 *   incremental, merged by primary key.
 * Watermarks. A chunk's checkpoint is its last watermark, as the source
 *   printed it; it only moves forward (a lookback never moves it back).
 *   The lookback (lookback_seconds) is subtracted for date and timestamp
 *   watermarks; an integer watermark has none (re-reading "the last N
 *   seconds" means nothing for a sequence). Rows whose watermark is NULL
 *   are read on every run and merged by key, so they are never lost (their
 *   cost is paid on every run); a NOT NULL column has no such rows.
 *   backfill_from starts the run there instead of the checkpoint, and the
 *   checkpoint then moves on from there (it may go back).
 * First load. An incremental table with no checkpoint and an empty typed
 *   table is loaded like a full refresh (one streamed COPY into a shadow,
 *   the checkpoint being the snapshot's max watermark).
 * Full refresh. The shadow is made like the typed table (columns kept for
 *   drift, defaults, checks, NOT NULLs added at the destination), loaded
 *   by streaming the source's COPY into it, given the primary key and the
 *   typed table's other indexes and grants, then swapped in with the
 *   checkpoint in one transaction: readers see the old rows until then.
 *   When views or foreign keys depend on the typed table, its rows are
 *   replaced instead of the table (same transaction, same visibility).
 * Drift. A column added at the source is added at the destination before
 *   loading; a column dropped at the source stays (NULL in new rows); a
 *   retyped column keeps its destination type (rows whose new values do
 *   not fit become dead letters; drop the destination column or table to
 *   take the new type). Each is logged as a warning and a schema.drifted
 *   event once (the destination column's comment remembers it).
 * Dead letters. A row the destination refuses for its data (SQLSTATE
 *   class 22 or 23, a trigger's exception, a program limit) is set aside
 *   in <raw>._dead_letters with the error and the row as JSON of the
 *   source's text; the rest of its chunk loads. A run with
 *   {"retry_dead_letters": true} re-applies a table's unresolved ones
 *   through the same load: loaded ones are resolved (also when a newer
 *   version of the row is already there, which is kept), the others get
 *   the new error.
 * Quality. Per table: rows extracted against rows loaded plus dead letters
 *   (for a full refresh: against the rows in the new table plus dead
 *   letters), within settings "quality".row_count_threshold_pct (default
 *   0: exact); and NULLs, in this run's rows, of columns the source
 *   declares NOT NULL.
 * Cancels stop at the next chunk boundary: committed chunks and their
 *   checkpoint stay; an unfinished full refresh leaves the old table.
 * Other sources. MySQL and MariaDB sources (source.h, my_extract.c) go
 *   through the same algorithm and rules: one consistent snapshot per
 *   table, rows turned into COPY text on the way (types mapped as the
 *   README's table says), the checkpoint as that text and read back at full
 *   precision. A value PostgreSQL cannot hold (a zero date) becomes NULL
 *   and is logged as a warning with the row's key; a destination NOT NULL
 *   makes that row a dead letter. Rows whose watermark is a zero date are
 *   read on every run, like NULL ones.
 * Other destinations. MySQL / MariaDB and ClickHouse destinations (dest.h,
 *   dstsync.c, my_dest.c, ch_dest.c) follow the same watermark, chunk and
 *   full refresh rules without dead letters (a refused row fails the
 *   table) or raw mode; MySQL commits each chunk with its checkpoint,
 *   ClickHouse writes the checkpoint to the control database after the
 *   insert is acknowledged (at least once; ReplacingMergeTree collapses
 *   repeats by key). */
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
