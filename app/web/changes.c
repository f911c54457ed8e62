/* changes.c - a "config.changed" event for every audited change (see
 * changes.h); audit.c calls it. */
#include "changes.h"

#include <string.h>

#include "jsonx.h"
#include "log.h"

int changes_is_change(const char *action)
{
    if (!action || !*action)
        return 0;
    return strcmp(action, "login") != 0 && strncmp(action, "login.", 6) != 0 &&
           strcmp(action, "logout") != 0;
}

sl_err changes_event(request *r, const char *action, const char *object_type,
                     const char *object_id, const json_t *details)
{
    if (!changes_is_change(action))
        return SL_OK;
    const char *type = object_type && *object_type ? object_type : "config";
    const char *stream = object_id && *object_id ? arena_printf(r->a, "%s:%s", type, object_id)
                                                 : type;
    json_t *data = json_pack("{s:s, s:o, s:o, s:o, s:O}", "action", action, "object_type",
                             object_type ? json_string(object_type) : json_null(), "object_id",
                             object_id ? json_string(object_id) : json_null(), "actor",
                             r->user_email ? json_string(r->user_email) : json_null(), "details",
                             details ? details : json_null());
    json_t *meta = json_pack("{s:o, s:o}", "actor_id",
                             r->user_id ? json_string(r->user_id) : json_null(), "request_id",
                             r->request_id ? json_string(r->request_id) : json_null());
    const char *params[] = {stream, jsonx_dump(r->a, data), jsonx_dump(r->a, meta),
                            r->request_id};
    json_decref(data);
    json_decref(meta);
    sl_errbuf eb = {0};
    sl_err e = db_exec(r->db, &eb,
                       "INSERT INTO sluice_events.events (stream, type, data, metadata,"
                       " correlation_id) VALUES ($1, 'config.changed', $2::jsonb, $3::jsonb, $4)",
                       4, params);
    if (e)
        log_error("changes: cannot append the event of %s: %s", action, eb.msg);
    return e;
}
