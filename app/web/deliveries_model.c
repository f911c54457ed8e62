/* deliveries_model.c - reading a target's delivery attempts and the outbox
 * messages, and the audited changes to dead letters (retry, discard); see
 * deliveries.h. Everything runs on the request's connection; the changes
 * are one transaction each with their audit row. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "deliveries.h"
#include "jsonx.h"
#include "params.h"
#include "uuid.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define AUDIT_IDS_MAX "100" /* message ids named in one audit row */

int dlv_id_ok(const char *s)
{
    long long v;
    return s && params_int(s, 1, 9223372036854775807LL, &v);
}

static const char *num(request *r, long long v)
{
    return arena_printf(r->a, "%lld", v);
}

sl_err dlv_target(request *r, const char *id, PGresult **res, sl_errbuf *eb)
{
    if (!id || !uuid_valid(id))
        return sl_fail(eb, SL_ENOTFOUND, "no such target");
    sl_err e = db_query(r->db, r->a, eb, res,
                        "SELECT t.id::text, t.name, t.type, t.active, t.disabled_reason,"
                        " coalesce(c.queued, 0), coalesce(c.delivered, 0), coalesce(c.dead, 0)"
                        " FROM sluice.notification_targets t LEFT JOIN LATERAL"
                        " (SELECT count(*) FILTER (WHERE status = 'queued') AS queued,"
                        " count(*) FILTER (WHERE status = 'delivered') AS delivered,"
                        " count(*) FILTER (WHERE status = 'dead') AS dead"
                        " FROM sluice_events.messages m WHERE m.target_id = t.id) c ON true"
                        " WHERE t.id = $1::uuid",
                        1, (const char *[]){id});
    if (!e && PQntuples(*res) == 0)
        return sl_fail(eb, SL_ENOTFOUND, "no such target");
    return e;
}

#define ATTEMPT_COLUMNS                                                                     \
    "SELECT a.id::text, a.message_id::text, a.attempt, " TS("a.at") ", a.status_code,"       \
    " a.latency_ms, a.error, a.response_excerpt, a.outcome,"                               \
    " CASE WHEN a.attempt = 0 THEN 'test' ELSE m.event_type END"                   \
    " FROM sluice_events.delivery_attempts a"                                               \
    " LEFT JOIN sluice_events.messages m ON m.id = a.message_id WHERE a.target_id = $1::uuid"

sl_err dlv_attempts(request *r, const char *target, const char *before, const char *after,
                    long long limit, PGresult **res, sl_errbuf *eb)
{
    const char *p[] = {target, after ? after : before, num(r, limit + 1)};
    if (after)
        return db_query(r->db, r->a, eb, res,
                        ATTEMPT_COLUMNS " AND a.id > $2::bigint ORDER BY a.id ASC LIMIT $3::int",
                        3, p);
    return db_query(r->db, r->a, eb, res,
                    ATTEMPT_COLUMNS " AND ($2::bigint IS NULL OR a.id < $2::bigint)"
                    " ORDER BY a.id DESC LIMIT $3::int",
                    3, p);
}

sl_err dlv_attempts_beyond(request *r, const char *target, const char *id, int dir, int *yes,
                           sl_errbuf *eb)
{
    char *v = NULL;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              dir > 0 ? "SELECT EXISTS (SELECT 1 FROM"
                                        " sluice_events.delivery_attempts WHERE target_id ="
                                        " $1::uuid AND id > $2::bigint)"
                                      : "SELECT EXISTS (SELECT 1 FROM"
                                        " sluice_events.delivery_attempts WHERE target_id ="
                                        " $1::uuid AND id < $2::bigint)",
                              2, (const char *[]){target, id});
    if (!e)
        *yes = v && strcmp(v, "t") == 0;
    return e;
}

#define MESSAGE_COLUMNS                                                                     \
    "SELECT m.id::text, m.target_id::text, t.name, m.event_id::text, m.event_type,"        \
    " m.pipeline_id::text, m.status, m.attempts, m.max_attempts, " TS("m.created_at") ","  \
    " " TS("m.visible_at") ", " TS("m.delivered_at") ", " TS("m.dead_at") ","              \
    " m.last_status, m.last_error, m.payload::text"                                         \
    " FROM sluice_events.messages m"                                                        \
    " LEFT JOIN sluice.notification_targets t ON t.id = m.target_id"
#define MESSAGE_FILTER                                                                      \
    " WHERE ($1::uuid IS NULL OR m.target_id = $1::uuid)"                                   \
    " AND ($2::text IS NULL OR m.status = $2::text)"

sl_err dlv_messages(request *r, const char *target, const char *status, const char *before,
                    const char *after, long long limit, PGresult **res, sl_errbuf *eb)
{
    const char *p[] = {target, status, after ? after : before, num(r, limit + 1)};
    if (after)
        return db_query(r->db, r->a, eb, res,
                        MESSAGE_COLUMNS MESSAGE_FILTER
                        " AND m.id > $3::bigint ORDER BY m.id ASC LIMIT $4::int",
                        4, p);
    return db_query(r->db, r->a, eb, res,
                    MESSAGE_COLUMNS MESSAGE_FILTER
                    " AND ($3::bigint IS NULL OR m.id < $3::bigint)"
                    " ORDER BY m.id DESC LIMIT $4::int",
                    4, p);
}

sl_err dlv_messages_beyond(request *r, const char *target, const char *status, const char *id,
                           int dir, int *yes, sl_errbuf *eb)
{
    char *v = NULL;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              dir > 0 ? "SELECT EXISTS (SELECT 1 FROM sluice_events.messages m"
                                        MESSAGE_FILTER " AND m.id > $3::bigint)"
                                      : "SELECT EXISTS (SELECT 1 FROM sluice_events.messages m"
                                        MESSAGE_FILTER " AND m.id < $3::bigint)",
                              3, (const char *[]){target, status, id});
    if (!e)
        *yes = v && strcmp(v, "t") == 0;
    return e;
}

sl_err dlv_message(request *r, const char *id, PGresult **res, sl_errbuf *eb)
{
    if (!dlv_id_ok(id))
        return sl_fail(eb, SL_ENOTFOUND, "no such message");
    sl_err e = db_query(r->db, r->a, eb, res, MESSAGE_COLUMNS " WHERE m.id = $1::bigint", 1,
                        (const char *[]){id});
    if (!e && PQntuples(*res) == 0)
        return sl_fail(eb, SL_ENOTFOUND, "no such message");
    return e;
}

/* --- JSON ---------------------------------------------------------------------------- */

static json_t *str_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static json_t *int_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col)
               ? json_null()
               : json_integer(strtoll(PQgetvalue(res, i, col), NULL, 10));
}

/* "2024-05-31T12:34:56.789Z" as "2024-05-31 12:34:56". */
static json_t *shown_time(request *r, PGresult *res, int i, int col)
{
    if (PQgetisnull(res, i, col))
        return json_null();
    char *s = arena_printf(r->a, "%.19s", PQgetvalue(res, i, col));
    if (strlen(s) > 10)
        s[10] = ' ';
    return json_string(s);
}

json_t *dlv_attempt_json(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, DC_ID)));
    json_object_set_new(o, "message_id", json_string(PQgetvalue(res, i, DC_MESSAGE)));
    json_object_set_new(o, "event_type", str_or_null(res, i, DC_EVENT));
    json_object_set_new(o, "attempt", int_or_null(res, i, DC_ATTEMPT));
    json_object_set_new(o, "at", json_string(PQgetvalue(res, i, DC_AT)));
    json_object_set_new(o, "status_code", int_or_null(res, i, DC_CODE));
    json_object_set_new(o, "latency_ms", int_or_null(res, i, DC_MS));
    json_object_set_new(o, "error", str_or_null(res, i, DC_ERROR));
    json_object_set_new(o, "response_excerpt", str_or_null(res, i, DC_EXCERPT));
    json_object_set_new(o, "outcome", json_string(PQgetvalue(res, i, DC_OUTCOME)));
    return o;
}

json_t *dlv_attempt_page_json(request *r, PGresult *res, int i)
{
    json_t *o = dlv_attempt_json(r, res, i);
    const char *outcome = PQgetvalue(res, i, DC_OUTCOME);
    json_object_set_new(o, "at_shown", shown_time(r, res, i, DC_AT));
    json_object_set_new(o, "ok", json_boolean(strcmp(outcome, "delivered") == 0));
    json_object_set_new(o, "outcome_label",
                        json_string(strcmp(outcome, "delivered") == 0 ? "delivered"
                                    : strcmp(outcome, "retry") == 0  ? "failed, will retry"
                                    : strcmp(outcome, "lost") == 0   ? "no result (deliverer "
                                                                       "stopped)"
                                                                     : "failed, dead-lettered"));
    json_object_set_new(o, "latency", PQgetisnull(res, i, DC_MS)
                                          ? json_null()
                                          : json_string(arena_printf(r->a, "%s ms",
                                                                     PQgetvalue(res, i, DC_MS))));
    return o;
}

json_t *dlv_message_json(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, MC_ID)));
    json_object_set_new(o, "target_id", json_string(PQgetvalue(res, i, MC_TARGET)));
    json_object_set_new(o, "target_name", str_or_null(res, i, MC_TARGET_NAME));
    json_object_set_new(o, "event_id", json_string(PQgetvalue(res, i, MC_EVENT_ID)));
    json_object_set_new(o, "event_type", json_string(PQgetvalue(res, i, MC_EVENT)));
    json_object_set_new(o, "pipeline_id", str_or_null(res, i, MC_PIPELINE));
    json_object_set_new(o, "status", json_string(PQgetvalue(res, i, MC_STATUS)));
    json_object_set_new(o, "attempts", int_or_null(res, i, MC_ATTEMPTS));
    json_object_set_new(o, "max_attempts", int_or_null(res, i, MC_MAX));
    json_object_set_new(o, "created_at", str_or_null(res, i, MC_CREATED));
    json_object_set_new(o, "next_attempt_at", strcmp(PQgetvalue(res, i, MC_STATUS), "queued") == 0
                                                  ? str_or_null(res, i, MC_VISIBLE)
                                                  : json_null());
    json_object_set_new(o, "delivered_at", str_or_null(res, i, MC_DELIVERED));
    json_object_set_new(o, "dead_at", str_or_null(res, i, MC_DEAD));
    json_object_set_new(o, "last_status_code", int_or_null(res, i, MC_LAST_STATUS));
    json_object_set_new(o, "last_error", str_or_null(res, i, MC_LAST_ERROR));
    const char *p = PQgetvalue(res, i, MC_PAYLOAD);
    json_t *data = jsonx_parse(r->a, NULL, p, strlen(p));
    json_object_set_new(o, "data", data ? json_incref(data) : json_object());
    return o;
}

json_t *dlv_message_page_json(request *r, PGresult *res, int i)
{
    json_t *o = dlv_message_json(r, res, i);
    json_object_set_new(o, "created_shown", shown_time(r, res, i, MC_CREATED));
    json_object_set_new(o, "dead_shown", shown_time(r, res, i, MC_DEAD));
    json_t *data = json_object_get(o, "data");
    const char *pipeline = jsonx_str(data, "pipeline_name", NULL);
    const char *run = jsonx_str(data, "run_id", NULL);
    json_object_set_new(o, "pipeline_name", pipeline ? json_string(pipeline) : json_null());
    json_object_set_new(o, "run_id", run && dlv_id_ok(run) ? json_string(run) : json_null());
    json_object_set_new(o, "index", json_integer(i));
    return o;
}

/* --- changes ------------------------------------------------------------------------- */

/* "{1,2,3}" of the selected ids (each checked), or NULL when one is bad. */
static const char *id_array(request *r, const dlv_select *sel)
{
    size_t cap = 3 + (size_t)sel->n * 21;
    char *out = arena_alloc(r->a, cap), *q = out;
    *q++ = '{';
    for (int i = 0; i < sel->n; i++) {
        if (!dlv_id_ok(sel->ids[i]))
            return NULL;
        size_t len = strlen(sel->ids[i]);
        if (i)
            *q++ = ',';
        memcpy(q, sel->ids[i], len);
        q += len;
    }
    *q++ = '}';
    *q = '\0';
    return out;
}

/* The audit row of a change to count dead letters named in ids_json. */
static sl_err audit_change(request *r, const char *action, const dlv_select *sel,
                           long long count, long long blocked, const char *ids_json)
{
    json_t *d = json_object();
    json_object_set_new(d, "count", json_integer(count));
    if (blocked)
        json_object_set_new(d, "blocked", json_integer(blocked));
    if (sel->all)
        json_object_set_new(d, "all", json_true());
    if (sel->target)
        json_object_set_new(d, "target_id", json_string(sel->target));
    json_t *ids = ids_json ? jsonx_parse(r->a, NULL, ids_json, strlen(ids_json)) : NULL;
    if (ids)
        json_object_set(d, "message_ids", ids);
    int one = !sel->all && sel->n == 1;
    sl_err e = audit_write(r, action, one ? "notification_message" : "notification_target",
                           one ? sel->ids[0] : sel->target, d, NULL);
    json_decref(d);
    return e;
}

#define SELECTED                                                                            \
    " m.status = 'dead' AND ($1::uuid IS NULL OR m.target_id = $1::uuid)"                   \
    " AND ($3::boolean OR m.id = ANY ($2::bigint[]))"

/* Run sql (a change over SELECTED answering count, blocked, ids JSON) and
 * its audit row in one transaction. */
static sl_err change(request *r, const char *action, const char *sql, const dlv_select *sel,
                     long long *count, long long *blocked, sl_errbuf *eb)
{
    *count = 0;
    if (blocked)
        *blocked = 0;
    if (sel->target && !uuid_valid(sel->target))
        return sl_fail(eb, SL_ENOTFOUND, "no such target");
    if (!sel->all && (sel->n <= 0 || sel->n > DLV_SELECT_MAX))
        return sl_fail(eb, SL_EINVAL, "name 1 to %d messages", DLV_SELECT_MAX);
    if (sel->all && !sel->target)
        return sl_fail(eb, SL_EINVAL, "all needs a target");
    const char *ids = sel->all ? "{}" : id_array(r, sel);
    if (!ids)
        return sl_fail(eb, SL_EINVAL, "a message id is not a positive integer");
    PGresult *res;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (!e)
        e = db_query(r->db, r->a, eb, &res, sql, 3,
                     (const char *[]){sel->target, ids, sel->all ? "true" : "false"});
    if (!e) {
        *count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (blocked)
            *blocked = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        if (*count > 0)
            e = audit_change(r, action, sel, *count, blocked ? *blocked : 0,
                             PQgetvalue(res, 0, 2));
    }
    if (!e)
        e = db_commit(r->db, eb);
    if (e)
        db_rollback(r->db);
    return e;
}

sl_err dlv_retry(request *r, const dlv_select *sel, long long *count, long long *blocked,
                 sl_errbuf *eb)
{
    long long b = 0;
    sl_err e = change(
        r, "notification_message.retry",
        "WITH sel AS (SELECT m.id, coalesce(t.active, false) AS ok"
        " FROM sluice_events.messages m"
        " LEFT JOIN sluice.notification_targets t ON t.id = m.target_id"
        " WHERE" SELECTED " FOR UPDATE OF m),"
        " up AS (UPDATE sluice_events.messages m SET status = 'queued', attempts = 0,"
        " visible_at = now(), dead_at = NULL, locked_by = NULL, last_status = NULL,"
        " last_error = NULL FROM sel WHERE m.id = sel.id AND sel.ok RETURNING m.id)"
        " SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM sel WHERE NOT ok),"
        " (SELECT coalesce(jsonb_agg(id::text ORDER BY id), '[]')::text"
        " FROM (SELECT id FROM up ORDER BY id LIMIT " AUDIT_IDS_MAX ") x)",
        sel, count, &b, eb);
    if (blocked)
        *blocked = b;
    return e;
}

sl_err dlv_discard(request *r, const dlv_select *sel, long long *count, sl_errbuf *eb)
{
    return change(r, "notification_message.discard",
                  "WITH d AS (DELETE FROM sluice_events.messages m WHERE" SELECTED
                  " RETURNING m.id)"
                  " SELECT (SELECT count(*) FROM d), 0,"
                  " (SELECT coalesce(jsonb_agg(id::text ORDER BY id), '[]')::text"
                  " FROM (SELECT id FROM d ORDER BY id LIMIT " AUDIT_IDS_MAX ") x)",
                  sel, count, NULL, eb);
}
