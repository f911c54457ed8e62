/* reaper.h - retention: deleting what the 'retention' settings (and each
 * pipeline's overrides) say is no longer kept, in bounded batches, and
 * recording what was done in sluice.reaper_status.
 *
 * Callers: `sluice reap` (app/cli/reap.c), the tick's 'reaper' job every
 * reaper_interval_minutes, and POST /api/v1/admin/retention/run. One
 * process reaps at a time (a session advisory lock, the same one the
 * tick's job takes, so the job's own call re-enters it).
 *
 * What goes, category by category (settings fields in brackets; 0 keeps
 * everything of that kind):
 *   sessions          expired or idle past their idle_timeout
 *   login_attempts    older than [login_attempts_max_age_days]
 *   webhook_receipts  older than twice the webhook replay window (10 min)
 *   run_logs          older than [run_logs_max_age_days], rows of the
 *                     default partition only (or of the whole table when it
 *                     is not partitioned): whole partitions are dropped by
 *                     partition upkeep, which the reaper never fights
 *   quality           results older than [quality_log_max_age_days], then
 *                     all but the newest [quality_log_max_per_table] of
 *                     each (pipeline, table)
 *   events            older than [events_max_age_days], default partition
 *                     only (as run_logs); consumers' offsets are not
 *                     waited for
 *   audit             older than [audit_log_max_age_days]
 *   pipelines         soft-deleted more than [pipelines_purge_after_days]
 *                     ago: their runs first (in batches, counted as runs),
 *                     then the pipeline row, whose tables, versions,
 *                     triggers and subscriptions go with it; its source and
 *                     destination can then be deleted
 *   runs              finished runs beyond the newest
 *                     [runs_max_per_pipeline] of their pipeline, or older
 *                     than [runs_max_age_days] (queued and running runs are
 *                     never touched); their stats, quality results and log
 *                     lines go with them
 *   landing_files     loaded or rejected files of zones with auto_purge,
 *                     older than the zone's processed_max_age_days (capped
 *                     by [landing_files_max_age_days] unless that is 0):
 *                     their bytes under <var>/landing/<zone>/ are deleted
 *                     and the row stays, as 'purged' (a purge is counted
 *                     once; nothing happens without opts.var_dir)
 *   messages          delivered notification messages (the outbox) older
 *                     than [messages_max_age_days]; dead letters stay until
 *                     a person retries or discards them
 * Per-pipeline overrides (sluice.pipelines.retention): runs_max_per_pipeline,
 * runs_max_age_days, quality_log_max_per_table.
 * Counts are rows deleted directly; rows that go with them (a run's stats,
 * logs and quality results) are not counted again. A dry run counts what
 * would go, in the same order, and changes nothing (not even the status). */
#ifndef SL_REAPER_H
#define SL_REAPER_H

#include <jansson.h>

#include "arena.h"
#include "db.h"
#include "err.h"

typedef enum {
    REAP_SESSIONS = 0,
    REAP_LOGIN_ATTEMPTS,
    REAP_WEBHOOK_RECEIPTS,
    REAP_RUN_LOGS,
    REAP_QUALITY,
    REAP_EVENTS,
    REAP_AUDIT,
    REAP_PIPELINES,
    REAP_RUNS,
    REAP_LANDING_FILES,
    REAP_MESSAGES,
    REAP_NCATS
} reap_category;

typedef struct {
    int dry_run;             /* count only */
    double budget_seconds;   /* stop starting batches after this; 0: the setting
                                reaper_time_budget_seconds; < 0: no limit */
    long long batch_size;    /* rows per statement; 0: the setting reaper_batch_size */
    const char *var_dir;     /* SLUICE_VAR (landing files); NULL: they are left alone */
} reaper_opts;

typedef struct {
    long long counts[REAP_NCATS]; /* deleted (dry run: would be) */
    int complete;            /* every category finished inside the budget */
    int errors;              /* categories that failed (the others still ran) */
    long long duration_ms;
    char error[SL_ERRBUF_SIZE]; /* the first failure, "category: message"; "" none */
} reaper_result;

/* "sessions", "login_attempts", ... (the keys of reaper_result_json and of
 * reaper_status.last_counts). */
const char *reaper_category_name(reap_category c);

/* Apply retention once on d (which must not be inside a transaction; each
 * batch commits by itself, under a 5 s lock_timeout). A category that fails
 * is recorded in res (errors, error) and the others still run; the run is
 * then still SL_OK. Unless dry_run, sluice.reaper_status gets the counts
 * added, last_run_at, the duration, complete and the first error, and a
 * 'retention.completed' event is appended when anything was deleted.
 * SL_ECONFLICT when another process is reaping (nothing done);
 * SL_EDB / SL_EDBDOWN when the settings or the status cannot be read or
 * written. */
sl_err reaper_run(db *d, const reaper_opts *o, reaper_result *res, sl_errbuf *eb);

/* *due = 1 when the tick should reap now: never reaped, the last run ran
 * out of budget, or it was reaper_interval_minutes ago or more. */
sl_err reaper_due(db *d, int *due, sl_errbuf *eb);

/* res as {"dry_run", "complete", "duration_ms", "errors", "error",
 * "counts": {category: n}, "total"}; a new reference the caller owns. */
json_t *reaper_result_json(const reaper_result *res, int dry_run);

/* sluice.reaper_status as JSON: last_run_at, last_duration_ms,
 * last_complete, last_error, last_counts, runs and the cumulative
 * counters {category: n} (plus runs_failed: stuck runs the scheduler
 * failed). *out is a new reference the caller owns. SL_EDB / SL_EDBDOWN. */
sl_err reaper_status_json(db *d, arena *a, json_t **out, sl_errbuf *eb);

/* Add n stuck runs failed by the scheduler to reaper_status.runs_failed
 * (failures are logged only). */
void reaper_note_failed_runs(db *d, int n);

#endif
