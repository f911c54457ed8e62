/* scheduler.h - the scheduler side of `sluice tick`: the clock, due
 * schedules into queued runs (or skipped ones, with the reason), retries
 * with backoff, and claiming under a global concurrency limit.
 *
 * Every step is safe on any number of hosts at once: due pipelines are
 * taken with FOR UPDATE SKIP LOCKED, each retry attempt exists once (a
 * unique index), and claiming counts running runs and claims the next one
 * under one advisory lock. Settings come from sluice.settings 'scheduler'
 * (sched_settings_load). */
#ifndef SL_SCHEDULER_H
#define SL_SCHEDULER_H

#include "arena.h"
#include "db.h"
#include "err.h"
#include "sync/run.h"

/* The time the scheduler goes by: the database server's now(), or, for
 * tests only, SLUICE_NOW (a timestamp; UTC when it has no offset), which
 * then goes on ticking from that instant as the process runs. It governs
 * due schedules, stuck-run detection, retry backoff and which retries are
 * due; run durations (timeouts) are real elapsed time either way. */
typedef struct {
    int set;         /* SLUICE_NOW was given */
    double offset;   /* SLUICE_NOW minus the real time when it was read, seconds */
} sched_clock;

/* Read the clock from text (SLUICE_NOW; NULL or "" means the real clock),
 * parsed by the server on d. SL_EINVAL naming the text when it is not a
 * timestamp; SL_EDB / SL_EDBDOWN when d fails. */
sl_err sched_clock_init(sched_clock *c, db *d, const char *text, sl_errbuf *eb);
/* The clock as a timestamptz literal for SQL parameters ("2026-01-02
 * 03:04:05.678901+00", in a), or NULL for the server's now(). */
const char *sched_clock_sql(const sched_clock *c, arena *a);
/* The clock in Unix seconds (the host's real time plus the offset). */
double sched_clock_epoch(const sched_clock *c);

/* The 'scheduler' settings, each with its default when missing or out of
 * range. */
typedef struct {
    int max_concurrent_runs;        /* 4: runs 'running' at once, all hosts */
    int default_max_retries;        /* 3: when a pipeline's max_retries is NULL */
    int retry_base_seconds;         /* 30: the first retry's backoff */
    int retry_max_seconds;          /* 3600: the backoff's cap */
    int stuck_run_timeout_seconds;  /* 120: no heartbeat this long: failed */
} sched_settings;

/* Fill s from sluice.settings 'scheduler' (defaults when it cannot be read;
 * never fails). */
void sched_settings_load(db *d, sched_settings *s);

typedef struct {
    int queued;     /* scheduled runs queued */
    int skipped;    /* slots recorded as skipped runs */
    int computed;   /* pipelines whose missing next_run_at was computed */
} sched_due_counts;

/* Due schedules: each active pipeline with a schedule whose next_run_at
 * has come (clock c) gets, in its own transaction, ONE run (trigger
 * 'scheduled') or a 'skipped' run with its reason ("already running",
 * "already queued", "upstream NAME failed", "upstream NAME is running"),
 * and next_run_at moves to the schedule's next fire time after now, so a
 * schedule fires once after downtime however many slots it missed. A NULL
 * next_run_at is computed without firing; a schedule that can never fire
 * (bad expression or zone) gets 'infinity' and a warning. Queued
 * scheduled runs and automatic retries of pipelines paused since are
 * skipped ("pipeline paused"). d must not be in
 * a transaction. Counts go to *n (may be NULL). SL_EDB / SL_EDBDOWN on a
 * database failure (the pipelines done before it stay done). */
sl_err sched_due(db *d, const sched_clock *c, sched_due_counts *n, sl_errbuf *eb);

/* Retries: every recently failed run (in the last day) of an automatic
 * trigger (scheduled, dependency, webhook, landing, or itself a retry)
 * whose pipeline is active, has attempts left (attempt <= max_retries, or
 * s->default_max_retries when NULL) and has no newer run, gets a retry:
 * trigger 'retry', attempt + 1, retry_of = the first run's id, not_before
 * = clock + base * 2^(attempt-1) capped at max, with +-20% jitter (and
 * still at most max). Runs people asked for (manual, full_refresh,
 * backfill, cli) are not retried. Idempotent: at most one run per
 * attempt. *queued (may be NULL) receives how many were queued. */
sl_err sched_retries(db *d, const sched_clock *c, const sched_settings *s, int *queued,
                     sl_errbuf *eb);

/* Stuck runs: 'running' runs without a heartbeat for
 * s->stuck_run_timeout_seconds (clock c) become failed ("heartbeat lost";
 * sched_retries then retries them under the rules), and queued runs of
 * deleted pipelines skipped. Counts as run_reap_stale_at. */
sl_err sched_reap(db *d, const sched_clock *c, const sched_settings *s, int *failed,
                  int *skipped, sl_errbuf *eb);

/* Claim the oldest queued run that is due (not_before passed on clock c)
 * and whose pipeline is not running, unless max_running runs are running
 * already (counted across every host): the count and the claim happen
 * under one advisory lock, so concurrent ticks never exceed the limit.
 * *out receives the run (its own connection made from conninfo; see
 * run_claim). SL_ENOTFOUND when nothing may be claimed now; then
 * *at_limit (may be NULL) is 1 when the limit was the reason. d must not
 * be in a transaction. */
sl_err sched_claim(db *d, const char *conninfo, const sched_clock *c, int max_running,
                   run_ctx **out, int *at_limit, sl_errbuf *eb);

/* The pipeline's timeout_seconds (0 when it cannot be read). */
int sched_timeout_of(db *d, const char *pipeline_id);

#endif
