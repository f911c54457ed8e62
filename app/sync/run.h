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

/* Append an event (schema.drifted, ...) to sluice_events.events now. data
 * is borrowed. */
void run_event(run_ctx *rc, const char *type, const json_t *data);

/* Finish: status success | failed | cancelled, error text or NULL. In one
 * transaction: the run row (totals summed from run_table_stats), an event
 * run.succeeded / run.failed / run.cancelled (plus dead_letters.created and
 * quality.failed when there were any). Frees rc. */
sl_err run_finish(run_ctx *rc, const char *status, const char *error, sl_errbuf *eb);

#endif
