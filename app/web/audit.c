/* audit.c - writes to sluice.audit_log (see audit.h). */
#include "audit.h"

#include <string.h>

#include "changes.h"
#include "jsonx.h"
#include "log.h"
#include "router.h"
#include "worker.h"

sl_err audit_write(request *r, const char *action, const char *object_type,
                   const char *object_id, const json_t *details, const char *actor_email)
{
    sl_errbuf eb = {0};
    const char *params[] = {
        r->user_id,
        actor_email ? actor_email : r->user_email,
        action,
        object_type,
        object_id,
        details ? jsonx_dump(r->a, details) : NULL,
        r->remote_addr,
        r->request_id,
    };
    sl_err e = db_exec(r->db, &eb,
                       "INSERT INTO sluice.audit_log (actor_id, actor_email, action, object_type,"
                       " object_id, details, remote_addr, request_id)"
                       " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)",
                       8, params);
    if (e) {
        log_error("audit: cannot record %s: %s", action, eb.msg);
        return e;
    }
    r->audited = 1;
    /* Every change is also an event on the stream (changes.h). */
    return changes_event(r, action, object_type, object_id, details);
}

void audit_fallback(request *r)
{
    if (r->audited || !r->route || r->status >= 400)
        return;
    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0 ||
        strcmp(r->method, "OPTIONS") == 0)
        return;
    json_t *d = json_pack("{s:s, s:s, s:i}", "method", r->method, "path", r->path, "status",
                          r->status);
    audit_write(r, arena_printf(r->a, "http.%s", r->method), "route", r->route->pattern, d,
                NULL);
    json_decref(d);
}
