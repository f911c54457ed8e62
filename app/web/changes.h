/* changes.h - every audited change is also an event on the stream.
 *
 * audit_write() calls changes_event() after it records a change, so the
 * event log sees configuration changes (pipelines, sources, destinations,
 * triggers, settings, users, tokens, ...) without any handler doing more
 * than auditing. One place decides what becomes an event: every audited
 * action except sign-in and sign-out (login, login.*, logout: sessions,
 * not changes). The event: type "config.changed", stream
 * "<object_type>:<object_id>" ("pipeline:<uuid>", like a run's events; just
 * "<object_type>" without an id), data {action, object_type, object_id,
 * actor, details} (details as audited: never a secret), metadata
 * {actor_id, request_id}, correlation_id the request id. */
#ifndef SL_CHANGES_H
#define SL_CHANGES_H

#include <jansson.h>

#include "http.h"

/* 1 when action becomes an event (see above). */
int changes_is_change(const char *action);

/* Append the event for an audited change, in r's current transaction when
 * it has one. SL_OK without doing anything for actions that are not
 * changes; SL_EDB / SL_EDBDOWN when the insert fails (logged). */
sl_err changes_event(request *r, const char *action, const char *object_type,
                     const char *object_id, const json_t *details);

#endif
