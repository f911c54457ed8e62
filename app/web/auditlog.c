/* auditlog.c - reading the audit trail: the /audit page and GET /api/v1/audit.
 *
 * (audit.c writes the trail; this file only reads it.) Both answer the same
 * filters: actor (email substring, case-insensitive; "system" matches rows
 * without an actor), action (exact, or a prefix when it ends in "." or
 * "*": "user." matches user.*), from / to (YYYY-MM-DD, inclusive, UTC).
 * Entries come newest first with keyset pagination on the snowflake id:
 * on the page, ?before=<id> walks to older entries and ?after=<id> back to
 * newer ones; the API follows the common convention (params_page): ?limit=
 * and ?cursor=, an opaque cursor holding the last id, answered as
 * {items, next_cursor}. Bad filters answer 422 with a message per field,
 * never 500. */
#include <string.h>

#include "handlers.h"
#include "idlist.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "worker.h"

#define AUDIT_PAGE 50
#define ACTOR_MAX 254
#define ACTION_MAX 100

/* Parsed filters. Raw values are what the user typed (for forms and links);
 * the SQL parameters are NULL when a filter is not in use. */
typedef struct {
    const char *actor, *action, *from, *to; /* raw, "" when absent */
    idlist_query q; /* sql: $1 actor pattern, $2 exact action, $3 action pattern, $4/$5 dates */
} audit_filter;

/* The WHERE clause shared by every query here, over $1..$5 as above. */
#define FILTER_SQL                                                                          \
    " ($1::text IS NULL OR coalesce(actor_email, 'system') ILIKE $1)"                       \
    " AND ($2::text IS NULL OR action = $2)"                                                \
    " AND ($3::text IS NULL OR action LIKE $3)"                                             \
    " AND ($4::date IS NULL OR at >= $4::date::timestamp AT TIME ZONE 'UTC')"               \
    " AND ($5::date IS NULL OR at < ($5::date + 1)::timestamp AT TIME ZONE 'UTC')"

#define COLUMNS_SQL                                                                         \
    "SELECT id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"   \
    " actor_id::text, actor_email, action, object_type, object_id, details::text,"          \
    " remote_addr, request_id FROM sluice.audit_log WHERE"

enum { C_ID, C_AT, C_ACTOR_ID, C_ACTOR_EMAIL, C_ACTION, C_OTYPE, C_OID, C_DETAILS, C_ADDR,
       C_REQID };

static const idlist_kind KIND = {COLUMNS_SQL, "sluice.audit_log", FILTER_SQL,
                                 "an audit entry id", AUDIT_PAGE};

/* Read and check the filters of r into f; problems go into errors. */
static void parse_filter(request *r, audit_filter *f, json_t *errors, int api)
{
    memset(f, 0, sizeof *f);
    f->actor = idlist_text(r, "actor", errors);
    f->action = idlist_text(r, "action", errors);
    f->from = idlist_text(r, "from", errors);
    f->to = idlist_text(r, "to", errors);
    if (*f->actor) {
        idlist_check_text(r, f->actor, ACTOR_MAX, "actor", errors);
        f->q.sql[0] = arena_printf(r->a, "%%%s%%", idlist_like_escape(r->a, f->actor));
    }
    if (*f->action) {
        idlist_check_text(r, f->action, ACTION_MAX, "action", errors);
        idlist_match(r, f->action, &f->q.sql[1], &f->q.sql[2]);
    }
    idlist_dates(f->from, f->to, api, errors);
    f->q.sql[3] = *f->from ? f->from : NULL;
    f->q.sql[4] = *f->to ? f->to : NULL;
    idlist_paging(r, &KIND, api, &f->q, errors);
}

/* details as a JSON value ({} when NULL). */
static json_t *details_json(request *r, const char *text)
{
    if (!text)
        return json_object();
    json_t *v = jsonx_parse(r->a, NULL, text, strlen(text));
    return v ? json_incref(v) : json_string(text);
}

static json_t *api_item(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, C_ID)));
    json_object_set_new(o, "at", json_string(PQgetvalue(res, i, C_AT)));
    json_object_set_new(o, "actor_id", idlist_str_or_null(idlist_val(res, i, C_ACTOR_ID)));
    json_object_set_new(o, "actor_email", idlist_str_or_null(idlist_val(res, i, C_ACTOR_EMAIL)));
    json_object_set_new(o, "action", json_string(PQgetvalue(res, i, C_ACTION)));
    json_object_set_new(o, "object_type", idlist_str_or_null(idlist_val(res, i, C_OTYPE)));
    json_object_set_new(o, "object_id", idlist_str_or_null(idlist_val(res, i, C_OID)));
    json_object_set_new(o, "details", details_json(r, idlist_val(res, i, C_DETAILS)));
    json_object_set_new(o, "remote_addr", idlist_str_or_null(idlist_val(res, i, C_ADDR)));
    json_object_set_new(o, "request_id", idlist_str_or_null(idlist_val(res, i, C_REQID)));
    return o;
}

static json_t *page_item(request *r, PGresult *res, int i)
{
    const char *at = PQgetvalue(res, i, C_AT);
    const char *shown = idlist_at_shown(r, at);
    const char *email = idlist_val(res, i, C_ACTOR_EMAIL);
    const char *details = idlist_val(res, i, C_DETAILS);
    json_t *d = details ? jsonx_parse(r->a, NULL, details, strlen(details)) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, C_ID)));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "at_shown", json_string(shown));
    json_object_set_new(o, "actor", json_string(email ? email : "system"));
    json_object_set_new(o, "system", json_boolean(!email));
    json_object_set_new(o, "action", json_string(PQgetvalue(res, i, C_ACTION)));
    /* Absent values are null, which templates treat as false ("" is true). */
    json_object_set_new(o, "object_type", idlist_str_or_null(idlist_val(res, i, C_OTYPE)));
    json_object_set_new(o, "object_id", idlist_str_or_null(idlist_val(res, i, C_OID)));
    json_object_set_new(o, "remote_addr", idlist_str_or_null(idlist_val(res, i, C_ADDR)));
    json_object_set_new(o, "details", details ? json_string(d ? jsonx_dump(r->a, d) : details)
                                              : json_null());
    return o;
}

/* /audit?<filters>&<cursor>=<id>: the filters kept. */
static const char *page_link(request *r, const void *fv, const char *cursor, const char *id)
{
    const audit_filter *f = fv;
    static const char *const names[] = {"actor", "action", "from", "to"};
    const char *vals[] = {f->actor, f->action, f->from, f->to};
    return idlist_link(r, "/audit", names, vals, 4, cursor, id);
}

static void render_page(request *r, int status, const audit_filter *f, json_t *errors,
                        json_t *entries, json_t *pager)
{
    json_t *ctx = page_ctx(r, "Audit log", "audit");
    json_object_set_new(ctx, "f", json_pack("{s:s, s:s, s:s, s:s}", "actor", f->actor, "action",
                                            f->action, "from", f->from, "to", f->to));
    json_object_set_new(ctx, "filtered",
                        json_boolean(*f->actor || *f->action || *f->from || *f->to));
    json_object_set_new(ctx, "invalid", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "has_entries", json_boolean(json_array_size(entries) > 0));
    json_object_set_new(ctx, "entries", entries ? entries : json_array());
    json_object_set_new(ctx, "pager", pager ? pager : json_object());
    page_render(r, status, "audit/list", ctx);
}

void h_audit_page(request *r)
{
    audit_filter f;
    json_t *errors = json_object();
    parse_filter(r, &f, errors, 0);
    if (json_object_size(errors) > 0) {
        /* Strings that do not survive as JSON strings (invalid UTF-8) are
         * blanked so the page can still show the form with its errors. */
        idlist_blank_invalid((const char **[]){&f.actor, &f.action, &f.from, &f.to}, 4);
        render_page(r, 422, &f, errors, NULL, NULL);
        return;
    }
    json_t *entries, *pager;
    if (idlist_page(r, &KIND, &f.q, page_item, page_link, &f, &entries, &pager)) {
        json_decref(errors);
        return;
    }
    render_page(r, 200, &f, errors, entries, pager);
}

void h_api_audit(request *r)
{
    static const char *const declared[] = {"actor", "action", "from", "to", "limit", "cursor",
                                           NULL};
    audit_filter f;
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    parse_filter(r, &f, errors, 1);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    idlist_api(r, &KIND, &f.q, api_item);
}
