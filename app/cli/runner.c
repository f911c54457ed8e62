/* runner.c - one run through the engine, start to recorded end (see
 * runner.h), and the stop signals around it.
 *
 * The signal handler only sets flags: run_request_cancel() is
 * async-signal-safe, and the run it points at is cleared before the run is
 * freed, in the thread the handler interrupts (the run's heartbeat thread
 * blocks every signal). A time limit is a watchdog thread (signals blocked
 * too) that requests the cancel when the limit passes; the run is then
 * recorded failed ("timed out"), not cancelled. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "runner.h"

static volatile sig_atomic_t g_stop;
static run_ctx *volatile g_current;

static void on_signal(int sig)
{
    if (g_stop == sig) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    g_stop = sig;
    run_ctx *rc = g_current;
    if (rc)
        run_request_cancel(rc);
}

void runner_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a waiting select() returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int runner_stopping(void)
{
    return g_stop != 0;
}

int runner_stop_signal(void)
{
    return (int)g_stop;
}

/* The watchdog of a run with a time limit. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started, stop, fired;
    struct timespec deadline;   /* CLOCK_MONOTONIC */
    run_ctx *rc;
} watchdog;

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop && !w->fired) {
        int rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
        if (rc == ETIMEDOUT && !w->stop) {
            w->fired = 1;
            run_request_cancel(w->rc);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(watchdog *w, run_ctx *rc, int seconds)
{
    memset(w, 0, sizeof *w);
    if (seconds <= 0)
        return;
    w->rc = rc;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    w->deadline.tv_sec += seconds;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals go to the main thread */
    w->started = pthread_create(&w->th, NULL, watchdog_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!w->started) {
        log_warn("run %lld: no watchdog thread; its timeout of %d s is not enforced",
                 (long long)run_id(rc), seconds);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
}

/* Stop the watchdog; 1 when it had fired. */
static int watchdog_stop(watchdog *w)
{
    if (!w->started)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->started = 0;
    return w->fired;
}

const char *runner_execute(run_ctx *rc, const sync_opts *opts, sl_err *finish_error)
{
    return runner_execute_limited(rc, opts, 0, finish_error);
}

const char *runner_execute_limited(run_ctx *rc, const sync_opts *opts, int timeout_seconds,
                                   sl_err *finish_error)
{
    g_current = rc;
    if (g_stop)
        run_request_cancel(rc);
    watchdog w;
    watchdog_start(&w, rc, timeout_seconds);
    sl_errbuf eb = {0};
    sl_err e = sync_run(rc, opts, &eb);
    int timed_out = watchdog_stop(&w);
    const char *status = "success", *error = NULL;
    char tbuf[96];
    if (e != SL_OK && timed_out && !g_stop) {
        status = "failed";
        snprintf(tbuf, sizeof tbuf, "timed out after %d s (the pipeline's timeout_seconds)",
                 timeout_seconds);
        error = tbuf;
        run_log(rc, RUN_ERROR, NULL,
                "%s; stopped at a chunk boundary, what was committed before stays", error);
    } else if (e != SL_OK && run_cancel_seen(rc)) {
        status = "cancelled";
        error = g_stop ? (g_stop == SIGINT ? "cancelled: interrupted (SIGINT)"
                                           : "cancelled: the process was told to stop (SIGTERM)")
                       : "cancelled on request";
        run_log(rc, RUN_WARN, NULL,
                "%s; stopped at a chunk boundary, what was committed before stays", error);
    } else if (e != SL_OK) {
        status = "failed";
        error = eb.msg[0] ? eb.msg : sl_strerror(e);
        run_log(rc, RUN_ERROR, NULL, "run failed: %s", error);
    }
    g_current = NULL;
    sl_errbuf feb = {0};
    sl_err fe = run_finish(rc, status, error, &feb);
    if (finish_error)
        *finish_error = fe;
    return status;
}
