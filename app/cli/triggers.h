/* triggers.h - the event consumer that fires pipeline_success and
 * landing_zone_upload triggers: `sluice tick` calls triggers_tick() on each
 * pass; `sluice triggers` does one catch-up by hand. */
#ifndef SL_TRIGGERS_H
#define SL_TRIGGERS_H

#include "db.h"
#include "err.h"

#define TRIGGERS_CONSUMER "triggers"  /* its row in sluice_events.consumer_offsets */
#define TRIGGERS_BATCH 500            /* relevant events per transaction */
#define TRIGGERS_TICK_BATCHES 20      /* batches one tick pass reads at most */
#define TRIGGERS_RECEIPT_KEEP "10 minutes" /* webhook receipts: twice the replay window */
#define TRIGGERS_STALL_WARN 60        /* warn when an open transaction holds events back
                                         this many seconds */

typedef struct {
    int busy;              /* another process holds the consumer: nothing was done */
    int batches;           /* transactions committed */
    long long events;      /* run.succeeded / landing.file_uploaded events read */
    int fired;             /* runs queued */
    int suppressed;        /* fires swallowed by a cooldown */
    int paused;            /* fires into paused pipelines (dropped) */
    long long offset;      /* the consumer's offset afterwards */
    long long held_back;   /* events newer than the offset left for later because
                              a transaction older than them was still open */
    long oldest_pid;       /* that transaction's backend (0: none) */
    long long oldest_age;  /* and how long it has been open, seconds */
} triggers_stats;

/* Read the event stream after the 'triggers' offset, in id order, up to
 * max_batches batches of TRIGGERS_BATCH relevant events, each batch in one
 * transaction on d: every enabled trigger an event matches is fired
 * (trigger_fire; cooldowns apply) and the offset moves past the batch, so
 * each event fires its triggers exactly once. Only one process consumes at
 * a time (the offset row is taken FOR UPDATE SKIP LOCKED; st->busy says
 * another had it). Events are read only below the oldest still-open
 * writing transaction's start, so an event committed late is never
 * skipped. Old webhook receipts are pruned afterwards. SL_EDB / SL_EDBDOWN
 * when the database fails (that batch is rolled back whole). d must not
 * be inside a transaction. */
sl_err triggers_process(db *d, int max_batches, triggers_stats *st, sl_errbuf *eb);

/* One pass for `sluice tick`: triggers_process with TRIGGERS_TICK_BATCHES,
 * what it did logged (info when something fired). Never fails. */
void triggers_tick(db *d);

#endif
