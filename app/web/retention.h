/* retention.h - the retention panel of the settings page and running the
 * reaper from the web (retention.c), and per-pipeline retention overrides
 * (pipeline_retention.c). The reaper itself is app/core/reaper.c. */
#ifndef SL_RETENTION_H
#define SL_RETENTION_H

#include <jansson.h>

#include "http.h"

#define RETENTION_WEB_BUDGET 20 /* seconds a run from the web may take at most */

/* The reaper's status for a page: last run, its duration and result, and a
 * row per category with the last run's count and the running total. A new
 * reference; on a database failure {"unavailable": true} (logged). */
json_t *retention_panel(request *r);

#endif
