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
    const char *before, *after;             /* cursors (decimal ids) or NULL */
    long long limit;
    const char *sql[5]; /* $1 actor pattern, $2 exact action, $3 action pattern, $4/$5 dates */
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

/* s with LIKE's wildcards and escape character escaped (backslash). */
static char *like_escape(arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) * 2 + 1), *q = out;
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *q++ = '\\';
        *q++ = *s;
    }
    *q = '\0';
    return out;
}

static const char *query_text(request *r, const char *name, json_t *errors)
{
    const char *v = params_query(r, name, errors);
    return v ? params_trim(r->a, v) : "";
}

static void check_text(request *r, const char *v, long max, const char *field, json_t *errors)
{
    long n = params_utf8_len(v);
    if (n < 0)
        page_field_error(errors, field, "must be valid UTF-8 text");
    else if (n > max)
        page_field_error(errors, field, arena_printf(r->a, "must be at most %ld characters", max));
    else if (params_has_control(v))
        page_field_error(errors, field, "must not contain control characters");
}

static int id_ok(const char *s)
{
    long long id;
    return params_int(s, 1, 9223372036854775807LL, &id);
}

/* An API cursor holds one field: the id of the last entry of the page
 * before. */
static int cursor_ok(const char *const *f)
{
    return id_ok(f[0]);
}

/* A page's ?before= / ?after=: an entry id, or NULL (errors[name] when
 * it is malformed). */
static const char *check_cursor(request *r, const char *name, json_t *errors)
{
    const char *v = params_query(r, name, errors);
    if (!v)
        return NULL;
    if (!id_ok(v)) {
        page_field_error(errors, name, "must be an audit entry id (a positive integer)");
        return NULL;
    }
    return v;
}

/* Read and check the filters of r into f; problems go into errors. */
static void parse_filter(request *r, audit_filter *f, json_t *errors, int api)
{
    memset(f, 0, sizeof *f);
    f->actor = query_text(r, "actor", errors);
    f->action = query_text(r, "action", errors);
    f->from = query_text(r, "from", errors);
    f->to = query_text(r, "to", errors);
    f->limit = AUDIT_PAGE;

    if (*f->actor) {
        check_text(r, f->actor, ACTOR_MAX, "actor", errors);
        f->sql[0] = arena_printf(r->a, "%%%s%%", like_escape(r->a, f->actor));
    }
    if (*f->action) {
        check_text(r, f->action, ACTION_MAX, "action", errors);
        size_t n = strlen(f->action);
        if (f->action[n - 1] == '*') {
            char *p = arena_strndup(r->a, f->action, n - 1);
            f->sql[2] = arena_printf(r->a, "%s%%", like_escape(r->a, p));
        } else if (f->action[n - 1] == '.') {
            f->sql[2] = arena_printf(r->a, "%s%%", like_escape(r->a, f->action));
        } else {
            f->sql[1] = f->action;
        }
    }
    int from_ok = 0, to_ok = 0;
    if (*f->from) {
        from_ok = params_date(f->from);
        if (!from_ok)
            page_field_error(errors, "from",
                             api ? "must be a date as YYYY-MM-DD"
                                 : "Enter a real date as YYYY-MM-DD, e.g. 2024-05-31.");
        f->sql[3] = f->from;
    }
    if (*f->to) {
        to_ok = params_date(f->to);
        if (!to_ok)
            page_field_error(errors, "to",
                             api ? "must be a date as YYYY-MM-DD"
                                 : "Enter a real date as YYYY-MM-DD, e.g. 2024-05-31.");
        f->sql[4] = f->to;
    }
    if (from_ok && to_ok && strcmp(f->from, f->to) > 0)
        page_field_error(errors, "to", api ? "must not be before from"
                                           : "The end date must not be before the start date.");

    if (api) {
        const char *key[1];
        params_page(r, 1, cursor_ok, key, &f->limit, errors);
        f->before = key[0];
        return;
    }
    f->before = check_cursor(r, "before", errors);
    f->after = check_cursor(r, "after", errors);
    if (f->before && f->after)
        page_field_error(errors, "after", "use either before or after, not both");
}

/* One page of entries: newest first from before (or the newest), or, with
 * after, the oldest ones newer than after (rows then come oldest first). At
 * most limit + 1 rows, so the caller can tell whether more exist. */
static sl_err fetch(request *r, const audit_filter *f, PGresult **res, sl_errbuf *eb)
{
    const char *params[] = {f->sql[0], f->sql[1], f->sql[2], f->sql[3], f->sql[4],
                            f->after ? f->after : f->before,
                            arena_printf(r->a, "%lld", f->limit + 1)};
    if (f->after)
        return db_query(r->db, r->a, eb, res,
                        COLUMNS_SQL FILTER_SQL " AND id > $6::bigint"
                        " ORDER BY id ASC LIMIT $7::int",
                        7, params);
    return db_query(r->db, r->a, eb, res,
                    COLUMNS_SQL FILTER_SQL " AND ($6::bigint IS NULL OR id < $6::bigint)"
                    " ORDER BY id DESC LIMIT $7::int",
                    7, params);
}

/* Whether entries matching f exist beyond id: newer (dir > 0) or older. */
static sl_err exists_beyond(request *r, const audit_filter *f, const char *id, int dir, int *yes,
                            sl_errbuf *eb)
{
    const char *params[] = {f->sql[0], f->sql[1], f->sql[2], f->sql[3], f->sql[4], id};
    char *v;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              dir > 0 ? "SELECT EXISTS (SELECT 1 FROM sluice.audit_log WHERE"
                                        FILTER_SQL " AND id > $6::bigint)"
                                      : "SELECT EXISTS (SELECT 1 FROM sluice.audit_log WHERE"
                                        FILTER_SQL " AND id < $6::bigint)",
                              6, params);
    if (!e)
        *yes = v && strcmp(v, "t") == 0;
    return e;
}

static const char *val(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

static json_t *jstr_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
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
    json_object_set_new(o, "actor_id", jstr_or_null(val(res, i, C_ACTOR_ID)));
    json_object_set_new(o, "actor_email", jstr_or_null(val(res, i, C_ACTOR_EMAIL)));
    json_object_set_new(o, "action", json_string(PQgetvalue(res, i, C_ACTION)));
    json_object_set_new(o, "object_type", jstr_or_null(val(res, i, C_OTYPE)));
    json_object_set_new(o, "object_id", jstr_or_null(val(res, i, C_OID)));
    json_object_set_new(o, "details", details_json(r, val(res, i, C_DETAILS)));
    json_object_set_new(o, "remote_addr", jstr_or_null(val(res, i, C_ADDR)));
    json_object_set_new(o, "request_id", jstr_or_null(val(res, i, C_REQID)));
    return o;
}

static json_t *page_item(request *r, PGresult *res, int i)
{
    const char *at = PQgetvalue(res, i, C_AT);
    char *shown = arena_printf(r->a, "%.19s", at);
    if (strlen(shown) > 10)
        shown[10] = ' ';
    const char *email = val(res, i, C_ACTOR_EMAIL);
    const char *details = val(res, i, C_DETAILS);
    json_t *d = details ? jsonx_parse(r->a, NULL, details, strlen(details)) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, C_ID)));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "at_shown", json_string(shown));
    json_object_set_new(o, "actor", json_string(email ? email : "system"));
    json_object_set_new(o, "system", json_boolean(!email));
    json_object_set_new(o, "action", json_string(PQgetvalue(res, i, C_ACTION)));
    /* Absent values are null, which templates treat as false ("" is true). */
    json_object_set_new(o, "object_type", jstr_or_null(val(res, i, C_OTYPE)));
    json_object_set_new(o, "object_id", jstr_or_null(val(res, i, C_OID)));
    json_object_set_new(o, "remote_addr", jstr_or_null(val(res, i, C_ADDR)));
    json_object_set_new(o, "details", details ? json_string(d ? jsonx_dump(r->a, d) : details)
                                              : json_null());
    return o;
}

/* /audit?<filters>&<cursor>=<id>: the filters kept, "&" separated. */
static const char *page_link(request *r, const audit_filter *f, const char *cursor,
                             const char *id)
{
    const char *names[] = {"actor", "action", "from", "to"};
    const char *vals[] = {f->actor, f->action, f->from, f->to};
    char *q = "";
    for (int i = 0; i < 4; i++)
        if (*vals[i])
            q = arena_printf(r->a, "%s%s=%s&", q, names[i], params_urlencode(r->a, vals[i]));
    if (cursor)
        q = arena_printf(r->a, "%s%s=%s&", q, cursor, id);
    size_t n = strlen(q);
    if (n)
        q[n - 1] = '\0';
    return n ? arena_printf(r->a, "/audit?%s", q) : "/audit";
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

/* Strings that do not survive as JSON strings (invalid UTF-8) are blanked
 * so the page can still show the form with its errors. */
static void blank_invalid(audit_filter *f)
{
    const char **v[] = {&f->actor, &f->action, &f->from, &f->to};
    for (int i = 0; i < 4; i++)
        if (params_utf8_len(*v[i]) < 0)
            *v[i] = "";
}

void h_audit_page(request *r)
{
    audit_filter f;
    json_t *errors = json_object();
    parse_filter(r, &f, errors, 0);
    if (json_object_size(errors) > 0) {
        blank_invalid(&f);
        render_page(r, 422, &f, errors, NULL, NULL);
        return;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = fetch(r, &f, &res, &eb);
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res), shown = n > AUDIT_PAGE ? AUDIT_PAGE : n;
    json_t *entries = json_array();
    /* With after, rows come oldest first: show them newest first. */
    for (int k = 0; k < shown; k++)
        json_array_append_new(entries, page_item(r, res, f.after ? shown - 1 - k : k));
    json_t *pager = json_object();
    int newer = 0, older = 0;
    const char *newest_id = NULL, *oldest_id = NULL;
    if (shown) {
        newest_id = PQgetvalue(res, f.after ? shown - 1 : 0, C_ID);
        oldest_id = PQgetvalue(res, f.after ? 0 : shown - 1, C_ID);
    }
    if (f.after) {
        newer = n > AUDIT_PAGE;
        if (shown)
            e = exists_beyond(r, &f, oldest_id, -1, &older, &eb);
    } else {
        older = n > AUDIT_PAGE;
        if (shown && f.before)
            e = exists_beyond(r, &f, newest_id, 1, &newer, &eb);
    }
    if (e) {
        json_decref(errors);
        json_decref(entries);
        json_decref(pager);
        web_db_error(r, e, &eb);
        return;
    }
    if (newer)
        json_object_set_new(pager, "newer", json_string(page_link(r, &f, "after", newest_id)));
    if (older)
        json_object_set_new(pager, "older", json_string(page_link(r, &f, "before", oldest_id)));
    if (!shown && (f.before || f.after))
        json_object_set_new(pager, "newest", json_string(page_link(r, &f, NULL, NULL)));
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
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = fetch(r, &f, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < f.limit; i++)
        json_array_append_new(items, api_item(r, res, i));
    const char *next = NULL;
    if (n > f.limit)
        next = params_cursor_make(r->a, 1, (const char *[]){PQgetvalue(res, (int)f.limit - 1,
                                                                         C_ID)});
    http_send_json(r, 200, params_page_json(items, next));
}
