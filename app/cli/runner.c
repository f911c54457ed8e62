/* runner.c - one run through the engine, start to recorded end (see
 * runner.h), and the stop signals around it.
 *
 * The signal handler only sets flags: run_request_cancel() is
 * async-signal-safe, and the run it points at is cleared before the run is
 * freed, in the thread the handler interrupts (the run's heartbeat thread
 * blocks every signal). */
#include <signal.h>
#include <string.h>

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

const char *runner_execute(run_ctx *rc, const sync_opts *opts, sl_err *finish_error)
{
    g_current = rc;
    if (g_stop)
        run_request_cancel(rc);
    sl_errbuf eb = {0};
    sl_err e = sync_run(rc, opts, &eb);
    const char *status = "success", *error = NULL;
    if (e != SL_OK && run_cancel_seen(rc)) {
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
