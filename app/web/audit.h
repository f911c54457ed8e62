/* audit.h - the audit trail of every change made through the web.
 *
 * Handlers call audit_write() for what they changed, in the same database
 * transaction when they have one. The dispatcher writes a generic row for
 * any state-changing request that succeeded without one, so nothing goes
 * unrecorded. details must never hold a secret. */
#ifndef SL_AUDIT_H
#define SL_AUDIT_H

#include <jansson.h>

#include "http.h"

/* Record action on (object_type, object_id) by r's principal, from r's
 * address, with details (borrowed, may be NULL). actor_email overrides the
 * principal's email (for failed sign-ins; may be NULL). Failures are
 * logged and returned; the caller decides whether they matter. */
sl_err audit_write(request *r, const char *action, const char *object_type,
                   const char *object_id, const json_t *details, const char *actor_email);

/* The dispatcher's safety net (see above). */
void audit_fallback(request *r);

#endif
