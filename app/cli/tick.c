/* tick.c - `sluice tick`: the work that is due, then a watch for more.
 *
 * Cron starts a tick every minute on any number of hosts. Each kind of work
 * is claimed in PostgreSQL, so overlapping ticks never do the same work
 * twice. A tick:
 *   1. housekeeping: the jobs of tick_jobs[], each run by one host at a
 *      time (tick_job: a session advisory lock per job name; a tick that
 *      does not get it leaves the job to the one that has it);
 *   2. a pass (tick_pass): due schedules become queued (or skipped) runs
 *      (sched_due); failed automatic runs get their retries (sched_retries);
 *      then queued runs are claimed oldest first, never more than the
 *      settings' max_concurrent_runs running across all hosts
 *      (sched_claim), and run one after another, each under its
 *      pipeline's timeout_seconds, with due schedules looked at again
 *      before each claim. A tick that runs a long sync keeps going; the
 *      next tick starts beside it and takes other work;
 *   3. LISTENs on sluice_runs (run_queue NOTIFYs it; so does every run this
 *      tick finishes, since a freed slot may let a waiting run start) until
 *      tick_seconds after its start, waking at least every POLL_SECONDS and
 *      at each minute boundary of the clock for due schedules and retries.
 * The clock is the database's now(), or SLUICE_NOW for tests (scheduler.h).
 * SIGINT / SIGTERM: the run in progress stops at its next chunk boundary
 * and is recorded cancelled; no new run is claimed. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "keyring.h"
#include "sync/landing.h"
#include "log.h"
#include "outbox.h"
#include "partitions.h"
#include "reaper.h"
#include "runner.h"
#include "scheduler.h"
#include "settings.h"
#include "triggers.h"

#define POLL_SECONDS 5      /* look at the queue at least this often while waiting */
#define NOTIFY_JOB_SECONDS 20 /* the notify job stops claiming after this long */
#define LANDING_JOB_SECONDS 30 /* the landing_ingest job claims no file after this long */
#define CHANNEL "sluice_runs"

typedef struct {
    const sl_config *cfg;
    db *d;                  /* the tick's own connection: LISTEN, scheduling, housekeeping */
    sched_clock clock;
    sched_settings set;
    unsigned long reconnects;
    int ran, succeeded, failed, cancelled;
    int scheduled, skipped, retries;
} tick;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- housekeeping ------------------------------------------------------------------- */

typedef void (*tick_job_fn)(tick *t);

/* Stuck runs: no heartbeat for stuck_run_timeout_seconds -> failed
 * ("heartbeat lost"; retried by the next step under the retry rules);
 * queued runs of deleted pipelines -> skipped. */
static void job_stuck_runs(tick *t)
{
    sl_errbuf eb = {0};
    int failed = 0, skipped = 0;
    if (sched_reap(t->d, &t->clock, &t->set, &failed, &skipped, &eb) != SL_OK) {
        log_warn("tick: could not check for stuck runs: %s", eb.msg);
        return;
    }
    if (failed)
        log_warn("tick: %d run(s) failed: heartbeat lost for over %d s", failed,
                 t->set.stuck_run_timeout_seconds);
    reaper_note_failed_runs(t->d, failed);
    if (skipped)
        log_info("tick: %d queued run(s) skipped: their pipeline was deleted", skipped);
}

/* Retention (reaper.h): every reaper_interval_minutes, within
 * reaper_time_budget_seconds; a run cut short by the budget carries on in
 * the next tick. */
static void job_reaper(tick *t)
{
    sl_errbuf eb = {0};
    int due = 0;
    if (reaper_due(t->d, &due, &eb) != SL_OK) {
        log_warn("tick: retention: %s", eb.msg);
        return;
    }
    if (!due)
        return;
    reaper_opts o = {.var_dir = t->cfg->var_dir};
    reaper_result res;
    if (reaper_run(t->d, &o, &res, &eb) != SL_OK) {
        log_warn("tick: retention: %s", eb.msg);
        return;
    }
    long long total = 0;
    for (int c = 0; c < REAP_NCATS; c++)
        total += res.counts[c];
    if (total || res.errors || !res.complete)
        log_info("tick: retention: %lld row(s) deleted in %lld ms%s%s%s", total,
                 res.duration_ms, res.complete ? "" : " (out of time; continues next tick)",
                 res.error[0] ? "; " : "", res.error);
}

/* Notifications: deliver the outbox messages that are due (outbox.h), for
 * at most NOTIFY_JOB_SECONDS, so the tick gets on with its runs. */
static void job_notify(tick *t)
{
    sl_errbuf eb = {0};
    if (!keyring_key()) {
        unsigned char key[CR_KEY_BYTES];
        sl_err e = keyring_load(t->cfg, t->d, key, &eb);
        sodium_memzero(key, sizeof key);
        if (e) {
            log_warn("tick: notifications not delivered: %s", eb.msg);
            return;
        }
    }
    outbox_opts o = {.max_seconds = NOTIFY_JOB_SECONDS, .stop = runner_stopping};
    outbox_counts n = {0};
    if (outbox_run(t->d, t->cfg->base_url[0] ? t->cfg->base_url : NULL, &o, &n, &eb) != SL_OK)
        log_warn("tick: notifications: %s", eb.msg);
    if (n.claimed)
        log_info("tick: notifications: %ld delivered, %ld to retry, %ld dead-lettered",
                 n.delivered, n.retried, n.dead);
}

/* Partition maintenance (partitions.h): one plan query when nothing is due. */
static void job_partitions(tick *t)
{
    arena *a = arena_new(0);
    partitions_job(t->d, sched_clock_sql(&t->clock, a));
    arena_free(a);
}

/* Landing zones (sync/landing.h): uploaded files loaded into their tables,
 * claiming none after LANDING_JOB_SECONDS; nothing while the landing_zones
 * flag is off (the files wait). */
static void job_landing_ingest(tick *t)
{
    if (!settings_feature(t->d, "landing_zones"))
        return;
    sl_errbuf eb = {0};
    if (!keyring_key()) {
        unsigned char key[CR_KEY_BYTES];
        sl_err e = keyring_load(t->cfg, t->d, key, &eb);
        sodium_memzero(key, sizeof key);
        if (e) {
            log_warn("tick: landing files not loaded: %s", eb.msg);
            return;
        }
    }
    landing_opts o = {.var_dir = t->cfg->var_dir, .max_seconds = LANDING_JOB_SECONDS,
                      .stop = runner_stopping};
    landing_counts n;
    if (landing_ingest(t->d, &o, &n, &eb) != SL_OK)
        log_warn("tick: landing files: %s", eb.msg);
    else if (n.files)
        log_info("tick: landing files: %d loaded, %d rejected, %d to try again", n.loaded,
                 n.rejected, n.retry);
}

/* The housekeeping jobs, in the order a tick runs them. A job runs on the
 * tick's connection (not inside a transaction; it leaves none open) and
 * only in the one tick that holds its lock, so it must be safe to skip in
 * this tick and to run in the next. A later job (outbox delivery,
 * partition upkeep, retention, landing ingest) is one more row here. */
static const struct {
    const char *name;       /* also the lock's name: hashtext('sluice.tick.' || name) */
    tick_job_fn fn;
} tick_jobs[] = {
    {"stuck_runs", job_stuck_runs},
    {"notify", job_notify},
    {"partitions", job_partitions},
    {"reaper", job_reaper},
    {"landing_ingest", job_landing_ingest},
};

/* Run fn as job `name` if no other process is running that job now.
 * Returns 1 when it ran, 0 when another holds it (or the lock could not
 * be asked for). */
static int tick_job(tick *t, const char *name, tick_job_fn fn)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *got = NULL;
    db_rollback(t->d);
    sl_err e = db_query_value(t->d, a, &eb, &got,
                              "SELECT pg_try_advisory_lock(hashtext('sluice.tick.' || $1))", 1,
                              (const char *[]){name});
    int ran = 0;
    if (e)
        log_warn("tick: job %s: could not take its lock: %s", name, eb.msg);
    else if (strcmp(got, "t") != 0)
        log_debug("tick: job %s: another process is doing it", name);
    else {
        fn(t);
        ran = 1;
        db_rollback(t->d);
        db_exec(t->d, NULL, "SELECT pg_advisory_unlock(hashtext('sluice.tick.' || $1))", 1,
                (const char *[]){name});
    }
    arena_free(a);
    return ran;
}

static void tick_housekeeping(tick *t)
{
    for (size_t i = 0; i < sizeof tick_jobs / sizeof tick_jobs[0]; i++)
        tick_job(t, tick_jobs[i].name, tick_jobs[i].fn);
}

/* --- scheduling --------------------------------------------------------------------- */

/* Due schedules -> queued or skipped runs. */
static void tick_schedules(tick *t)
{
    sched_due_counts n = {0};
    sl_errbuf eb = {0};
    if (sched_due(t->d, &t->clock, &n, &eb) != SL_OK)
        log_error("tick: could not look at due schedules: %s", eb.msg);
    t->scheduled += n.queued;
    t->skipped += n.skipped;
}

/* Failed automatic runs -> retries (after their backoff). */
static void tick_retries(tick *t)
{
    int n = 0;
    sl_errbuf eb = {0};
    if (sched_retries(t->d, &t->clock, &t->set, &n, &eb) != SL_OK)
        log_error("tick: could not queue retries: %s", eb.msg);
    t->retries += n;
}

/* Claim one run and run it. 0 when there was nothing to claim (or the
 * claim failed), 1 when a run ran. */
static int tick_run_one(tick *t)
{
    run_ctx *rc = NULL;
    sl_errbuf eb = {0};
    int at_limit = 0;
    sl_err e = sched_claim(t->d, t->cfg->database_url, &t->clock, t->set.max_concurrent_runs,
                           &rc, &at_limit, &eb);
    if (e == SL_ENOTFOUND) {
        if (at_limit)
            log_debug("tick: %d run(s) running already (max_concurrent_runs)",
                      t->set.max_concurrent_runs);
        return 0;
    }
    if (e) {
        log_error("tick: could not claim a run: %s", eb.msg);
        return 0;
    }
    long long id = run_id(rc);
    int timeout = sched_timeout_of(t->d, run_pipeline_id(rc));
    log_info("tick: running run %lld of pipeline %s", id, run_pipeline_id(rc));
    sync_opts so;
    sync_opts_from_run(rc, &so);
    sl_err fe = SL_OK;
    const char *status = runner_execute_limited(rc, &so, timeout, &fe);
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
    /* A slot is free: waiting ticks may claim a run the limit held back. */
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", id);
    db_rollback(t->d);
    db_exec(t->d, NULL, "SELECT pg_notify('" CHANNEL "', $1)", 1, (const char *[]){idt});
    if (strcmp(status, "failed") == 0)
        tick_retries(t);
    return 1;
}

/* Step 2: schedules, triggers, retries, then the queue until nothing more
 * may be claimed (or a stop signal). */
static void tick_pass(tick *t)
{
    sched_settings_load(t->d, &t->set);
    tick_schedules(t);
    /* Event triggers (pipeline_success, landing_zone_upload) queue their
     * runs here, between the schedules and the retries (triggers.h; one
     * process at a time; webhooks queue theirs in sluice-web). */
    if (settings_feature(t->d, "pipeline_triggers")) /* the feature flag (Settings) */
        triggers_tick(t->d);
    tick_retries(t);
    /* Files uploaded since the last pass load now, not at the next tick. */
    tick_job(t, "landing_ingest", job_landing_ingest);
    while (!runner_stopping() && tick_run_one(t))
        tick_schedules(t);
    /* Runs finished in this pass enqueued their notifications: send them
     * now rather than at the next tick. */
    tick_job(t, "notify", job_notify);
}

/* --- waiting ------------------------------------------------------------------------ */

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

/* Seconds until just past the clock's next minute boundary. */
static double to_next_minute(const tick *t)
{
    double e = sched_clock_epoch(&t->clock);
    return (floor(e / 60.0) + 1.0) * 60.0 - e + 0.05;
}

/* Wait until a notification arrives, POLL_SECONDS pass, the clock reaches
 * a minute boundary, the deadline comes or a signal arrives. */
static void wait_for_work(tick *t, double deadline)
{
    double left = deadline - now_s();
    if (left <= 0)
        return;
    if (left > POLL_SECONDS)
        left = POLL_SECONDS;
    double minute = to_next_minute(t);
    if (minute < left)
        left = minute;
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

/* --- the command -------------------------------------------------------------------- */

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sluice tick [--once]\n\n"
            "Does the work that is due: housekeeping (stuck runs are failed), due\n"
            "schedules become queued runs (once, however many slots were missed; a\n"
            "slot whose pipeline is still queued or running, or whose upstream\n"
            "(depends_on) failed or is running, is recorded as a skipped run),\n"
            "failed scheduled runs get retries with exponential backoff, and queued\n"
            "runs are claimed (oldest first, at most max_concurrent_runs running on\n"
            "all hosts together) and run, each within its pipeline's timeout_seconds.\n"
            "Then it waits for newly queued runs (LISTEN sluice_runs), starting each\n"
            "within a second, and looks at the schedules again at each minute, until\n"
            "tick_seconds (SLUICE_TICK_SECONDS, default 55) after its start; a tick\n"
            "still running a sync then keeps going. Cron runs it every minute; the\n"
            "local stack runs it in a loop. Safe to run on many hosts at once: every\n"
            "run is claimed once. SIGINT / SIGTERM stop the run in progress at its\n"
            "next chunk boundary (recorded cancelled). Each pass also delivers the\n"
            "notifications that are due (the notify job; see `sluice notify --help`).\n\n"
            "Settings (sluice.settings 'scheduler'): max_concurrent_runs (4),\n"
            "default_max_retries (3), retry_base_seconds (30), retry_max_seconds\n"
            "(3600), stuck_run_timeout_seconds (120).\n\n"
            "  --once   do what is due now and exit, without waiting\n"
            "  --help   this text\n\n"
            "For tests only: SLUICE_NOW=2026-01-02T03:04:05Z makes the tick's clock start\n"
            "at that instant (UTC without an offset) for due schedules, stuck runs and\n"
            "retry backoff. Never set it in production.\n");
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
    sl_err e = sched_clock_init(&t.clock, t.d, getenv("SLUICE_NOW"), &eb);
    if (e) {
        log_error("tick: %s", eb.msg);
        db_close(t.d);
        return e == SL_EINVAL ? 2 : 1;
    }
    if (t.clock.set)
        log_warn("tick: SLUICE_NOW is set: the scheduler's clock is off by %.0f s (tests only)",
                 t.clock.offset);
    sched_settings_load(t.d, &t.set);
    tick_housekeeping(&t);
    unsigned char key[CR_KEY_BYTES];
    e = keyring_load(cfg, t.d, key, &eb);
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
    if (t.scheduled || t.skipped || t.retries)
        log_info("tick: schedules: %d run(s) queued, %d skipped; %d retr%s queued", t.scheduled,
                 t.skipped, t.retries, t.retries == 1 ? "y" : "ies");
    if (t.ran)
        log_info("tick: %d run(s): %d succeeded, %d failed, %d cancelled", t.ran, t.succeeded,
                 t.failed, t.cancelled);
    else
        log_info("tick: nothing due");
    db_close(t.d);
    return runner_stopping() ? 1 : 0;
}
