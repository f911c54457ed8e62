/* partman.h - partition maintenance of the tables partitioned by snowflake
 * id (sluice.partitioned_tables): premake, moving rows out of the default
 * partition, retention.
 *
 * The work itself is SQL (sql/011_partitions.sql): sluice.partition_plan()
 * says what is due, sluice.ensure_partition() makes one partition (moving
 * the rows of its range out of the default partition first, in batches, in
 * the transaction that attaches it), sluice.drop_partition() drops or
 * archives one. pm_run() drives them: one plan query (all that happens when
 * nothing is due), then per table, under a session advisory lock of its own
 * (hashtext('sluice.partitions.' || table); a table another process holds
 * is left to it), one transaction per action with a short lock_timeout. A
 * lock not granted in time leaves the rest of that table for the next run
 * ("busy, retry later"), never an error. Each table with something done
 * gets last_run_at / last_result / last_error in the registry. Used by
 * `sluice partitions`, the tick's "partitions" job and the console. */
#ifndef SL_PARTMAN_H
#define SL_PARTMAN_H

#include "db.h"
#include "err.h"

#define PM_LOCK_TIMEOUT_MS 2000 /* the default wait for a lock, per action */

/* One action, as pm_run reports it. Strings live until the callback
 * returns. */
typedef struct {
    const char *table;      /* the registered table, e.g. "sluice_runs.run_logs" */
    const char *action;     /* create | drop | archive | error */
    const char *partition;  /* schema-qualified; NULL for some errors */
    const char *from_ts;    /* the range, as the server prints timestamptz (may be NULL) */
    const char *to_ts;
    const char *detail;     /* why it is due (premake, rows in the default ...) */
    const char *outcome;    /* planned | done | exists | busy | failed | skipped */
    long long rows_moved;   /* create: rows moved out of the default partition */
    const char *error;      /* busy / failed: the server's message */
} pm_event;

typedef void (*pm_report_fn)(void *arg, const pm_event *ev);

typedef struct {
    const char *at;         /* the clock: a timestamptz literal; NULL: the server's now() */
    const char *table;      /* only this registered table; NULL: all */
    int dry_run;            /* report the plan ("planned"), change nothing */
    int record_idle;        /* also record "nothing to do" on tables with nothing due */
    int lock_timeout_ms;    /* 0: PM_LOCK_TIMEOUT_MS */
    double budget_seconds;  /* start no action after this long (0: no limit) */
    pm_report_fn report;    /* every action planned or tried (may be NULL) */
    void *arg;
} pm_opts;

typedef struct {
    int tables;             /* tables that had something due */
    int actions;            /* actions planned */
    int created, dropped, archived;
    long long rows_moved;
    int busy;               /* tables left for later: a lock was not granted in time,
                               or another process was maintaining them */
    int failed;             /* tables with an error (recorded in last_error) */
    int partial;            /* tables cut short by the budget */
} pm_summary;

/* Do the partition maintenance that is due (see above) on d, which must not
 * be in a transaction and is left without one. *s (required) receives the
 * counts. SL_ENOTFOUND when o->table is not a registered table; SL_EDB /
 * SL_EDBDOWN when the plan cannot be read. Errors of single tables are not
 * failures of the call: they are counted in s->failed, reported and
 * recorded. */
sl_err pm_run(db *d, const pm_opts *o, pm_summary *s, sl_errbuf *eb);

/* "created 2 partitions (1,234 rows moved out of the default), dropped 1"
 * for one table's counts; "nothing to do" when all are 0. Lives in a. */
const char *pm_result_text(arena *a, int created, long long rows_moved, int dropped,
                           int archived);

/* n with thousands separators ("1,234,567"), into buf (cap >= 28). */
void pm_group(char *buf, size_t cap, long long n);

#endif
