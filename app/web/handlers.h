/* handlers.h - every route handler, grouped by the file that defines it.
 * routes.c wires them into the routes table. */
#ifndef SL_HANDLERS_H
#define SL_HANDLERS_H

#include "http.h"

/* health.c */
void h_healthz(request *r);
void h_metrics(request *r);

/* login.c */
void h_login_form(request *r);
void h_login(request *r);
void h_logout(request *r);
void h_dashboard(request *r);

#endif
