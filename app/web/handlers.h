/* handlers.h - every route handler, grouped by the file that defines it.
 * routes.c wires them into the routes table. */
#ifndef SL_HANDLERS_H
#define SL_HANDLERS_H

#include "http.h"

/* health.c */
void h_healthz(request *r);
void h_metrics(request *r);
void h_home(request *r);

#endif
