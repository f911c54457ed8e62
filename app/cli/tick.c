/* tick.c - `sluice tick`: the work that is due, then a short watch for more.
 *
 * Cron starts a tick every minute on any number of hosts. Each kind of work
 * is claimed in PostgreSQL, so overlapping ticks never do the same work
 * twice. A tick:
 *   1. housekeeping: runs whose heartbeat stopped (STALE_SECONDS) are
 *      failed, queued runs of deleted pipelines skipped (run_reap_stale);
 *   2. runs: claims queued runs oldest first (run_claim_next: FOR UPDATE
 *      SKIP LOCKED, one running run per pipeline) and runs them, one after
 *      another, until none is left;
 *   3. stays up to tick_seconds after its start LISTENing on the
 *      sluice_runs channel (run_queue NOTIFYs it), so a run queued from the
 *      console starts within a second, and exits when that time is up.
 * Schedules, retries, concurrency limits, notifications, partitions and
 * retention join as further steps in tick_pass() / tick_housekeeping().
 * SIGINT / SIGTERM: the run in progress stops at its next chunk boundary
 * and is recorded cancelled; no new run is claimed. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "keyring.h"
#include "log.h"
#include "runner.h"

#define STALE_SECONDS 120   /* a running run silent this long has failed */
#define POLL_SECONDS 5      /* look at the queue at least this often while waiting */
#define CHANNEL "sluice_runs"

typedef struct {
    const sl_config *cfg;
    db *d;                  /* the tick's own connection: LISTEN, housekeeping */
    unsigned long reconnects;
    int ran, succeeded, failed, cancelled;
} tick;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Step 1 (and the seam for the reaper's other jobs). */
static void tick_housekeeping(tick *t)
{
    sl_errbuf eb = {0};
    int failed = 0, skipped = 0;
    if (run_reap_stale(t->d, STALE_SECONDS, &failed, &skipped, &eb) != SL_OK) {
        log_warn("tick: could not check for stale runs: %s", eb.msg);
        return;
    }
    if (failed)
        log_warn("tick: %d run(s) failed: heartbeat lost for over %d s", failed,
                 STALE_SECONDS);
    if (skipped)
        log_info("tick: %d queued run(s) skipped: their pipeline was deleted", skipped);
}

/* Step 2: claim and run queued runs until none is left (or a stop signal).
 * Later: due schedules -> queued runs (before), retries and concurrency
 * limits (in run_claim_next), notifications (after). */
static void tick_pass(tick *t)
{
    while (!runner_stopping()) {
        run_ctx *rc = NULL;
        sl_errbuf eb = {0};
        sl_err e = run_claim_next(t->cfg->database_url, &rc, &eb);
        if (e == SL_ENOTFOUND)
            return;
        if (e) {
            log_error("tick: could not claim a run: %s", eb.msg);
            return;
        }
        log_info("tick: running run %lld of pipeline %s", (long long)run_id(rc),
                 run_pipeline_id(rc));
        long long id = run_id(rc);
        sync_opts so;
        sync_opts_from_run(rc, &so);
        sl_err fe = SL_OK;
        const char *status = runner_execute(rc, &so, &fe);
        t->ran++;
        if (strcmp(status, "success") == 0)
            t->succeeded++;
        else if (strcmp(status, "cancelled") == 0)
            t->cancelled++;
        else
            t->failed++;
        if (fe)
            log_error("tick: run %lld ended %s but that could not be recorded (%s)", id, status,
                      sl_strerror(fe));
        else
            log_info("tick: run %lld: %s", id, status);
    }
}

static int listen_now(tick *t)
{
    sl_errbuf eb = {0};
    if (db_exec(t->d, &eb, "LISTEN " CHANNEL, 0, NULL) != SL_OK) {
        log_warn("tick: LISTEN failed: %s", eb.msg);
        return -1;
    }
    t->reconnects = db_reconnects(t->d);
    return 0;
}

/* Wait until a notification arrives, POLL_SECONDS pass, the deadline
 * comes or a signal arrives. */
static void wait_for_work(tick *t, double deadline)
{
    double left = deadline - now_s();
    if (left <= 0)
        return;
    if (left > POLL_SECONDS)
        left = POLL_SECONDS;
    sl_errbuf eb = {0};
    if (db_ensure(t->d, &eb) != SL_OK || db_reconnects(t->d) != t->reconnects) {
        if (db_conn(t->d) && listen_now(t) == 0)
            return; /* reconnected: look at the queue at once */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        return;
    }
    PGconn *c = db_conn(t->d);
    int fd = PQsocket(c);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    struct timeval tv = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    int n = select(fd + 1, &rd, NULL, NULL, &tv);
    if (n < 0 && errno != EINTR)
        log_warn("tick: select: %s", strerror(errno));
    if (n > 0 && !PQconsumeInput(c)) {
        log_warn("tick: the control database connection broke while waiting");
        db_ensure(t->d, NULL);
        return;
    }
    PGnotify *note;
    while ((note = PQnotifies(c)) != NULL)
        PQfreemem(note);
}

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sluice tick [--once]\n\n"
            "Does the work that is due: stale runs are failed, queued runs are claimed\n"
            "(oldest first) and run. Then it waits for newly queued runs (LISTEN\n"
            "sluice_runs), starting each within a second, until tick_seconds\n"
            "(SLUICE_TICK_SECONDS, default 55) after its start. Cron runs it every\n"
            "minute; the local stack runs it in a loop. Safe to run on many hosts at\n"
            "once: every run is claimed once. SIGINT / SIGTERM stop the run in progress\n"
            "at its next chunk boundary (recorded cancelled).\n\n"
            "  --once   do what is due now and exit, without waiting\n"
            "  --help   this text\n");
    return out == stdout ? 0 : 2;
}

int cmd_tick(int argc, char **argv, const sl_config *cfg)
{
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout);
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
            continue;
        }
        fprintf(stderr, "sluice tick: unexpected argument '%s'\n", argv[i]);
        return 2;
    }
    double deadline = now_s() + cfg->tick_seconds;
    sl_errbuf eb = {0};
    tick t = {.cfg = cfg};
    t.d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!t.d) {
        log_error("tick: control database unavailable: %s", eb.msg);
        return 1;
    }
    tick_housekeeping(&t);
    unsigned char key[CR_KEY_BYTES];
    sl_err e = keyring_load(cfg, t.d, key, &eb);
    sodium_memzero(key, sizeof key);
    if (e) {
        log_error("tick: cannot run syncs: %s", eb.msg);
        db_close(t.d);
        return 1;
    }
    runner_signals();
    if (!once)
        listen_now(&t);
    for (;;) {
        tick_pass(&t);
        if (once || runner_stopping() || now_s() >= deadline)
            break;
        wait_for_work(&t, deadline);
        if (runner_stopping())
            break;
    }
    if (t.ran)
        log_info("tick: %d run(s): %d succeeded, %d failed, %d cancelled", t.ran, t.succeeded,
                 t.failed, t.cancelled);
    else
        log_info("tick: nothing due");
    db_close(t.d);
    return runner_stopping() ? 1 : 0;
}
