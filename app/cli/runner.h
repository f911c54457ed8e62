/* runner.h - run one claimed run through the sync engine and record how it
 * ended; the stop signals of the processes that do so (`sluice sync`,
 * `sluice tick`). */
#ifndef SL_RUNNER_H
#define SL_RUNNER_H

#include "err.h"
#include "sync/run.h"
#include "sync/sync.h"

/* Install SIGINT / SIGTERM handlers: the first signal asks the run in
 * progress (if any) to stop at its next chunk boundary and makes
 * runner_stopping() true; a second one of the same kind ends the process
 * the default way. */
void runner_signals(void);
/* 1 once a stop signal has arrived. */
int runner_stopping(void);
/* The signal that asked to stop (0 when none). */
int runner_stop_signal(void);

/* Run rc with opts (sync_run), log a failure or a cancel in the run's log,
 * and finish it: success, cancelled (a cancel was requested: by the
 * console or API, or by a stop signal) or failed (with the engine's
 * message). Frees rc. Returns the status recorded ("success", "failed",
 * "cancelled"; a static string). *finish_error (may be NULL) receives the
 * code of run_finish when the end could not be recorded. */
const char *runner_execute(run_ctx *rc, const sync_opts *opts, sl_err *finish_error);
/* runner_execute with a time limit: once timeout_seconds (0: none) have
 * passed since the call, a cancel is requested (the engine stops at its
 * next chunk boundary) and the run is recorded "failed" with the error
 * "timed out after N s ..." instead of "cancelled" (a stop signal still
 * makes it "cancelled"). */
const char *runner_execute_limited(run_ctx *rc, const sync_opts *opts, int timeout_seconds,
                                   sl_err *finish_error);

#endif
