/* run.h - a run's life in the control database: queue, claim, log,
 * progress, per-table stats, finish.
 *
 * Everything a run records is written as it happens (autocommit on a
 * control-database connection of the run's own), never saved up for the
 * end, so the console can show a live run and a crashed run leaves its
 * story behind. run_finish() updates the run and appends its event in one
 * transaction (the outbox of later notifications hangs off that). */
#ifndef SL_RUN_H
#define SL_RUN_H

#include <jansson.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "err.h"

enum run_level { RUN_DEBUG, RUN_INFO, RUN_WARN, RUN_ERROR };

/* Queue a run of pipeline_id. trigger: manual | full_refresh | backfill |
 * scheduled | retry | dependency | webhook | landing | cli. options (may be
 * NULL; borrowed): {"tables":[...], "full_refresh":true,
 * "backfill_from":"..."}. requested_by may be NULL. *run_id receives the
 * new id. Sends NOTIFY sluice_runs so an idle tick wakes up. SL_ENOTFOUND
 * for a missing or deleted pipeline. */
sl_err run_queue(db *d, const char *pipeline_id, const char *trigger, const json_t *options,
                 const char *requested_by, const char *requested_by_email, int64_t *run_id,
                 sl_errbuf *eb);

/* A run being executed. Owned by the caller of run_open (run_close). */
typedef struct run_ctx run_ctx;

/* Claim queued run run_id for this process (queued -> running, started_at,
 * heartbeat, claimed_by). SL_ECONFLICT when it is not queued any more or
 * the pipeline already has a running run. The context holds its own
 * control-database connection made from conninfo. */
sl_err run_claim(const char *conninfo, int64_t run_id, run_ctx **out, sl_errbuf *eb);
/* Create and claim a run in one step (for `sluice sync` in the foreground). */
sl_err run_start(const char *conninfo, const char *pipeline_id, const char *trigger,
                 const json_t *options, run_ctx **out, sl_errbuf *eb);

int64_t run_id(const run_ctx *rc);
const char *run_pipeline_id(const run_ctx *rc);
/* The run's options (borrowed). */
const json_t *run_options(const run_ctx *rc);
/* The run's control-database connection (for reading configuration). */
db *run_db(run_ctx *rc);

/* Append a log line (also to the process log). table may be NULL. */
void run_log(run_ctx *rc, enum run_level level, const char *table, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Progress: add rows moved, set the estimate (-1: keep) and current table
 * (NULL: keep). Written at most once a second (and always when force is
 * set), together with the heartbeat. Returns 1 when a cancel has been
 * requested, so the engine can stop at the next chunk boundary. */
int run_progress(run_ctx *rc, long long rows_delta, long long estimate, const char *table,
                 int force);

/* Per-table statistics row: begin inserts it ('running'); update writes the
 * counters; end sets status, finished_at, duration and error. */
typedef struct {
    const char *source_schema, *source_table, *target_table;
    const char *mode;                 /* incremental | full_refresh | append */
    long long rows_extracted, rows_loaded_raw, rows_loaded, rows_failed;
    const char *watermark_column, *watermark_before, *watermark_after;
} run_table;
void run_table_begin(run_ctx *rc, const run_table *t);
void run_table_update(run_ctx *rc, const run_table *t);
void run_table_end(run_ctx *rc, const run_table *t, const char *status, const char *error);

/* Record a quality check result. */
void run_quality(run_ctx *rc, const char *table, const char *check_type, const char *status,
                 long long expected, long long actual, const char *const *columns, int ncolumns,
                 const char *message);

/* Append an event (schema.drifted, ...) to sluice_events.events now, with
 * its notification messages (sluice_events.enqueue_event, the outbox) in
 * the same statement. data is borrowed. */
void run_event(run_ctx *rc, const char *type, const json_t *data);

/* ---- added for the runner, the CLI and the console ----------------------- */

/* What a progress hook sees: the run's counters as just written. */
typedef struct {
    long long rows_done;
    long long rows_estimate;     /* -1: unknown */
    const char *current_table;   /* NULL: none */
    int tables_done, tables_total;
    double elapsed;              /* seconds since the run was claimed */
    int final;                   /* 1 on the last call (from run_finish) */
} run_progress_info;

/* Callbacks for a foreground run (`sluice sync`). progress is called after
 * each progress write (so at most about once a second, and from
 * run_finish with final set); log with each run_log line, and when it is
 * set it replaces the process log for those lines. Either may be NULL. */
typedef struct {
    void (*progress)(const run_progress_info *p, void *arg);
    void (*log)(enum run_level level, const char *table, const char *message, void *arg);
    void *arg;
} run_hooks;
void run_set_hooks(run_ctx *rc, const run_hooks *h);

/* Ask the run to stop at the next chunk boundary (run_progress then
 * returns 1). Async-signal-safe: for SIGINT / SIGTERM handlers. */
void run_request_cancel(run_ctx *rc);
/* 1 once a cancel was requested (locally, or in the database by the
 * console / API, or the run stopped being 'running' under us). */
int run_cancel_seen(const run_ctx *rc);

/* Claim the oldest queued run whose pipeline has no running run (SELECT
 * ... FOR UPDATE SKIP LOCKED, then the claim, in one transaction), so
 * concurrent ticks take different runs and never the same one twice.
 * SL_ENOTFOUND when nothing can be claimed now. */
sl_err run_claim_next(const char *conninfo, run_ctx **out, sl_errbuf *eb);

/* Housekeeping before claiming (on d, in its own transaction): 'running'
 * runs whose heartbeat is older than stale_seconds become 'failed'
 * ("heartbeat lost", with their run.failed event and their unfinished
 * table rows failed); queued runs of deleted pipelines become 'skipped'.
 * Counts go to *failed and *skipped (either may be NULL). */
sl_err run_reap_stale(db *d, int stale_seconds, int *failed, int *skipped, sl_errbuf *eb);
/* As run_reap_stale, with "now" given: now is a timestamptz as text (the
 * scheduler's clock, see SLUICE_NOW) or NULL for the server's now(). */
sl_err run_reap_stale_at(db *d, int stale_seconds, const char *now, int *failed, int *skipped,
                         sl_errbuf *eb);

/* Cancel run run_id (on d, in its own transaction; d must not be in one):
 * a queued run becomes 'cancelled' at once (with its run.cancelled event),
 * a running one gets cancel_requested and stops at its next chunk
 * boundary. *status (may be NULL) receives the run's status afterwards
 * ("cancelled", "running", or a finished status when it was already
 * over: nothing is changed then), as a static string. SL_ENOTFOUND for an
 * unknown run. */
sl_err run_cancel(db *d, int64_t run_id, const char **status, sl_errbuf *eb);

/* Finish: status success | failed | cancelled, error text or NULL. In one
 * transaction: the run row (totals summed from run_table_stats), an event
 * run.succeeded / run.failed / run.cancelled (plus dead_letters.created and
 * quality.failed when there were any), and each event's notification
 * messages for the subscribed targets (the transactional outbox,
 * sql/009_outbox.sql). Frees rc. */
sl_err run_finish(run_ctx *rc, const char *status, const char *error, sl_errbuf *eb);

#endif
