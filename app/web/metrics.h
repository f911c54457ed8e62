/* metrics.h - request counters shared by every worker of the pool.
 *
 * The master maps one shared anonymous region before forking; workers add
 * to it with atomic increments, and /metrics renders it in Prometheus text
 * format. Nothing here allocates after metrics_init(). */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stddef.h>

#include "sbuf.h"

/* Map the shared region for nroutes routes. Aborts on failure. Call once,
 * in the master, before forking. */
void metrics_init(size_t nroutes);

/* One finished request: route index (-1 when no route matched), status,
 * duration in seconds. */
void metrics_request(int route, int status, double seconds);
/* A worker was replaced (crashed: it did not exit cleanly). */
void metrics_worker_restart(int crashed);
/* Current number of live workers (set by the master). */
void metrics_set_workers(int n);
/* A database error seen by a worker. */
void metrics_db_error(void);

/* Append the exposition text. route_name(i) gives the label of route i. */
sl_err metrics_render(sbuf *out, const char *(*route_name)(int i));

#endif
