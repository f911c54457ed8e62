/* pool.h - the pre-forked FastCGI pool master, the way php-fpm works.
 *
 * pool_run() opens the unix socket, forks cfg->web_workers workers, and
 * then only supervises: respawns workers that exit (immediately after a
 * normal life, with exponential backoff while they die at start), rolls
 * every worker on SIGHUP (new ones first, then the old ones drain), and on
 * SIGTERM/SIGINT drains the workers, removes the socket and returns. */
#ifndef SL_POOL_H
#define SL_POOL_H

#include "config.h"

/* Returns the exit status for the master process (0 after a clean drain). */
int pool_run(const sl_config *cfg);

#endif
