/* zz_sync_stub.c - TEMPORARY stand-in for the sync engine (app/sync/sync.c,
 * being written) so that `sluice` links meanwhile; DELETE THIS FILE when
 * sync.c lands.
 *
 * Its definitions are weak and the file sorts after the engine's in
 * libsluice-core.a, so once the engine's object is in the archive the
 * linker takes that one. A run through the stub fails with a message that
 * says so. */
#include "sync.h"

__attribute__((weak)) sl_err sync_run(run_ctx *rc, const sync_opts *opts, sl_errbuf *eb)
{
    (void)opts;
    run_log(rc, RUN_ERROR, NULL, "the sync engine is not built into this binary yet");
    return sl_fail(eb, SL_EUNSUPPORTED, "the sync engine is not built into this binary yet");
}

__attribute__((weak)) void sync_opts_from_run(run_ctx *rc, sync_opts *opts)
{
    (void)rc;
    *opts = (sync_opts){0};
}
