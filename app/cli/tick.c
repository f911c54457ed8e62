/* tick.c - `sluice tick`: one pass of everything that is due.
 *
 * Cron starts a tick every minute on any number of hosts. Each kind of work
 * (schedules, runs, notifications, partitions, retention, landing ingest) is
 * claimed in PostgreSQL, so overlapping ticks never do the same work twice.
 * This round the tick only checks that the control database answers and
 * logs; the jobs arrive with their features. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "log.h"

int cmd_tick(int argc, char **argv, const sl_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: sluice tick\n\n"
                   "Does the work that is due: queued runs, schedules, notifications,\n"
                   "partition maintenance, retention. Cron runs it every minute; the local\n"
                   "stack runs it every 30 seconds. Safe to run on many hosts at once.\n");
            return 0;
        }
        fprintf(stderr, "sluice tick: unexpected argument '%s'\n", argv[i]);
        return 2;
    }
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        log_error("tick: control database unavailable: %s", eb.msg);
        return 1;
    }
    log_info("tick: nothing due");
    db_close(d);
    return 0;
}
