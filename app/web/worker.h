/* worker.h - one FastCGI worker process: the accept loop and dispatch.
 *
 * A worker owns one libpq connection (made lazily, remade after failures),
 * one request arena reset at the top of every iteration, and the compiled
 * templates. It serves until told to stop or until max_requests. */
#ifndef SL_WORKER_H
#define SL_WORKER_H

#include "config.h"
#include "db.h"
#include "http.h"

struct tpl_set;

struct worker {
    const sl_config *cfg;
    db *db;
    arena *a;
    struct tpl_set *tpl;
    int index;
    unsigned long served;
};

/* Called in each new worker before it accepts (templates, keys); non-zero
 * means the worker cannot serve and exits, and the master backs off. */
extern int (*worker_init_hook)(struct worker *w);

/* Run the accept loop on listen_fd; returns the process exit status. */
int worker_main(const sl_config *cfg, int listen_fd, int index);

/* Serve one request that is already accepted (also used by tests). */
void worker_handle(struct worker *w, void *fcgi_request);

/* A database call failed: log it, count it, and answer 503 (server down)
 * or 500. */
void web_db_error(request *r, sl_err e, const sl_errbuf *eb);

#endif
