/* landing.h - loading landing files into their zone's destination table
 * (landing_load.c). Processed files are purged by the reaper
 * (app/core/reaper.h, category landing_files).
 *
 * Caller: the tick's 'landing_ingest' job (app/cli/tick.c), one process at
 * a time (the job's lock); claiming is safe with more (FOR UPDATE SKIP
 * LOCKED and a per-file advisory lock).
 *
 * A file's load, step by step:
 *   1. claim: the oldest 'uploaded' file becomes 'loading' and the control
 *      connection takes the session lock hashtext('sluice.landing.<id>') in
 *      the same transaction. A 'loading' file whose lock nobody holds was
 *      left by a loader that died: it goes back to 'uploaded'.
 *   2. inference (schema_mode infer): one pass over the file for the
 *      columns and their types (landing_parse.h says how).
 *   3. one destination transaction: the typed table is created when it is
 *      missing (the columns, _sluice_file_id bigint, _sluice_line bigint,
 *      _sluice_loaded_at timestamptz, an index on _sluice_file_id); an
 *      existing one must have every column of the file (else the file is
 *      rejected: a mismatch); rows of this file id are deleted (from the
 *      table, the raw table and _dead_letters) so a second load of the same
 *      file replaces the first; then the file streams through, each record
 *      checked and turned into a COPY row, loaded in chunks (pg_load.c,
 *      which isolates what the server still refuses); raw mode also writes
 *      <raw_schema>.landing_<zone>_raw (_sluice_file_id, _sluice_line,
 *      _data jsonb). A bad record: with on_mismatch reject, nothing is
 *      loaded (rolled back) and the file is rejected with the first few
 *      lines and reasons; with load_partial it goes to
 *      <raw_schema>._dead_letters (pipeline_id = the zone, run_id = the file,
 *      source_name 'landing:<zone>', row_data {line, file_id, file, fields
 *      | text | row}, error_text "line N: ...") and the rest loads.
 *   4. after the destination commit, one control transaction: the file's
 *      status, rows_loaded, rows_rejected, error and loaded_at, and an event
 *      (landing.file_loaded, or landing.file_rejected with its notification
 *      messages enqueued: sluice_events.enqueue_event).
 * A crash between 3 and 4 leaves the file 'loading' with its rows
 * committed; step 1 puts it back and the next load deletes and reloads the
 * same rows: the file's rows are there once. A destination that cannot be
 * reached (or another failure that is not the file's) puts the file back
 * to 'uploaded' with the error, for the next tick. */
#ifndef SL_LANDING_H
#define SL_LANDING_H

#include "db.h"
#include "err.h"

typedef struct {
    const char *var_dir;     /* files are <var_dir>/landing/<zone id>/<stored name> */
    double max_seconds;      /* claim no new file after this long; 0: no limit */
    int (*stop)(void);       /* non-zero: claim no new file (may be NULL) */
} landing_opts;

typedef struct {
    int files;               /* files claimed */
    int loaded, rejected;    /* how they ended */
    int retry;               /* put back for later (destination down, ...) */
    int reset;               /* 'loading' files of dead loaders put back */
    long long rows_loaded, rows_rejected;
} landing_counts;

/* Load uploaded files, oldest first, until none is left, the time is up
 * or o->stop says so. The keyring must be loaded (destination passwords).
 * d must not be inside a transaction. Returns SL_OK when the queue could
 * be read (each file's outcome is in its row and in *n; failures are
 * logged), else the control database's error. */
sl_err landing_ingest(db *d, const landing_opts *o, landing_counts *n, sl_errbuf *eb);

/* Put 'loading' files whose loader is gone back to 'uploaded'. Returns how
 * many, or -1 on a database error (eb). */
int landing_reset_stuck(db *d, sl_errbuf *eb);

#endif
