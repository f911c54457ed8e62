/* events.c - reading the event stream: the /events page, GET /api/v1/events
 * and GET /api/v1/events/consumers.
 *
 * Filters (page and API alike): type (exact, or a prefix when it ends in
 * "." or "*": "run." matches run.*), stream (exact, e.g. "pipeline:<uuid>"
 * or "settings:retention"), pipeline (a pipeline id: its stream), from / to
 * (YYYY-MM-DD, inclusive, UTC). Events come newest first with keyset
 * pagination on the snowflake id: the page walks with ?before= / ?after=,
 * the API with ?limit= and an opaque ?cursor= ({items, next_cursor}). Ids
 * are strings in JSON (they pass 2^53). Bad filters answer 422 with a
 * message per field. The consumers panel shows sluice_events.consumer_lag:
 * each consumer's offset, the time of the event it has read up to, and how
 * many events lie beyond it. */
#include <string.h>

#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "uuid.h"
#include "worker.h"

#define EVENTS_PAGE 50
#define TYPE_MAX 100
#define STREAM_MAX 300

typedef struct {
    const char *type, *stream, *pipeline, *from, *to; /* raw, "" when absent */
    const char *before, *after;                       /* ids or NULL */
    long long limit;
    const char *sql[5]; /* $1 type exact, $2 type pattern, $3 stream, $4/$5 dates */
} ev_filter;

#define FILTER_SQL                                                                          \
    " ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR type LIKE $2)"               \
    " AND ($3::text IS NULL OR stream = $3)"                                                \
    " AND ($4::date IS NULL OR at >= $4::date::timestamp AT TIME ZONE 'UTC')"               \
    " AND ($5::date IS NULL OR at < ($5::date + 1)::timestamp AT TIME ZONE 'UTC')"

#define COLUMNS_SQL                                                                         \
    "SELECT id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"   \
    " stream, type, data::text, metadata::text, correlation_id, causation_id"               \
    " FROM sluice_events.events WHERE"

enum { C_ID, C_AT, C_STREAM, C_TYPE, C_DATA, C_META, C_CORR, C_CAUSE };

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

static int cursor_ok(const char *const *f)
{
    return id_ok(f[0]);
}

static const char *check_cursor(request *r, const char *name, json_t *errors)
{
    const char *v = params_query(r, name, errors);
    if (!v)
        return NULL;
    if (!id_ok(v)) {
        page_field_error(errors, name, "must be an event id (a positive integer)");
        return NULL;
    }
    return v;
}

static void check_date(const char *v, const char *field, int api, json_t *errors)
{
    if (*v && !params_date(v))
        page_field_error(errors, field, api ? "must be a date as YYYY-MM-DD"
                                            : "Enter a real date as YYYY-MM-DD, e.g. 2024-05-31.");
}

static void parse_filter(request *r, ev_filter *f, json_t *errors, int api)
{
    memset(f, 0, sizeof *f);
    f->type = query_text(r, "type", errors);
    f->stream = query_text(r, "stream", errors);
    f->pipeline = query_text(r, "pipeline", errors);
    f->from = query_text(r, "from", errors);
    f->to = query_text(r, "to", errors);
    f->limit = EVENTS_PAGE;
    if (*f->type) {
        check_text(r, f->type, TYPE_MAX, "type", errors);
        size_t n = strlen(f->type);
        if (f->type[n - 1] == '*')
            f->sql[1] = arena_printf(r->a, "%s%%",
                                     like_escape(r->a, arena_strndup(r->a, f->type, n - 1)));
        else if (f->type[n - 1] == '.')
            f->sql[1] = arena_printf(r->a, "%s%%", like_escape(r->a, f->type));
        else
            f->sql[0] = f->type;
    }
    if (*f->stream) {
        check_text(r, f->stream, STREAM_MAX, "stream", errors);
        f->sql[2] = f->stream;
    }
    if (*f->pipeline) {
        if (!uuid_valid(f->pipeline))
            page_field_error(errors, "pipeline", api ? "must be a pipeline id (a UUID)"
                                                     : "Choose a pipeline from the list.");
        else if (*f->stream && strcmp(f->stream + (strncmp(f->stream, "pipeline:", 9) == 0
                                                       ? 9 : 0), f->pipeline) != 0)
            page_field_error(errors, "stream", "names another stream than the pipeline's");
        else
            f->sql[2] = arena_printf(r->a, "pipeline:%s", f->pipeline);
    }
    check_date(f->from, "from", api, errors);
    check_date(f->to, "to", api, errors);
    if (*f->from && *f->to && params_date(f->from) && params_date(f->to) &&
        strcmp(f->from, f->to) > 0)
        page_field_error(errors, "to", api ? "must not be before from"
                                           : "The end date must not be before the start date.");
    f->sql[3] = *f->from ? f->from : NULL;
    f->sql[4] = *f->to ? f->to : NULL;
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

static sl_err fetch(request *r, const ev_filter *f, PGresult **res, sl_errbuf *eb)
{
    const char *params[] = {f->sql[0], f->sql[1], f->sql[2], f->sql[3], f->sql[4],
                            f->after ? f->after : f->before,
                            arena_printf(r->a, "%lld", f->limit + 1)};
    if (f->after)
        return db_query(r->db, r->a, eb, res,
                        COLUMNS_SQL FILTER_SQL " AND id > $6::bigint ORDER BY id ASC"
                                               " LIMIT $7::int",
                        7, params);
    return db_query(r->db, r->a, eb, res,
                    COLUMNS_SQL FILTER_SQL " AND ($6::bigint IS NULL OR id < $6::bigint)"
                                           " ORDER BY id DESC LIMIT $7::int",
                    7, params);
}

static sl_err exists_beyond(request *r, const ev_filter *f, const char *id, int dir, int *yes,
                            sl_errbuf *eb)
{
    const char *params[] = {f->sql[0], f->sql[1], f->sql[2], f->sql[3], f->sql[4], id};
    char *v;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              dir > 0 ? "SELECT EXISTS (SELECT 1 FROM sluice_events.events WHERE"
                                        FILTER_SQL " AND id > $6::bigint)"
                                      : "SELECT EXISTS (SELECT 1 FROM sluice_events.events WHERE"
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

/* A jsonb column as a JSON value (a new reference). */
static json_t *json_col(request *r, PGresult *res, int i, int col)
{
    const char *t = val(res, i, col);
    json_t *v = t ? jsonx_parse(r->a, NULL, t, strlen(t)) : NULL;
    return v ? json_incref(v) : json_object();
}

static json_t *api_item(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, C_ID)));
    json_object_set_new(o, "at", json_string(PQgetvalue(res, i, C_AT)));
    json_object_set_new(o, "stream", json_string(PQgetvalue(res, i, C_STREAM)));
    json_object_set_new(o, "type", json_string(PQgetvalue(res, i, C_TYPE)));
    json_object_set_new(o, "data", json_col(r, res, i, C_DATA));
    json_object_set_new(o, "metadata", json_col(r, res, i, C_META));
    json_object_set_new(o, "correlation_id", jstr_or_null(val(res, i, C_CORR)));
    json_object_set_new(o, "causation_id", jstr_or_null(val(res, i, C_CAUSE)));
    return o;
}

static json_t *page_item(request *r, PGresult *res, int i)
{
    const char *at = PQgetvalue(res, i, C_AT);
    char *shown = arena_printf(r->a, "%.19s", at);
    if (strlen(shown) > 10)
        shown[10] = ' ';
    const char *stream = PQgetvalue(res, i, C_STREAM);
    json_t *data = json_col(r, res, i, C_DATA);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, C_ID)));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "at_shown", json_string(shown));
    json_object_set_new(o, "stream", json_string(stream));
    json_object_set_new(o, "type", json_string(PQgetvalue(res, i, C_TYPE)));
    json_object_set_new(o, "data", json_string(jsonx_dump(r->a, data)));
    if (strncmp(stream, "pipeline:", 9) == 0 && uuid_valid(stream + 9))
        json_object_set_new(o, "pipeline_id", json_string(stream + 9));
    const char *run = jsonx_str(data, "run_id", NULL);
    if (run && id_ok(run))
        json_object_set_new(o, "run_id", json_string(run));
    json_decref(data);
    return o;
}

/* --- consumers --------------------------------------------------------------------------- */

static sl_err consumers(request *r, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    *out = NULL;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT consumer, last_event_id::text,"
                        " CASE WHEN last_event_id > 0 THEN to_char(sluice.snowflake_ts("
                        "last_event_id) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,"
                        " newest_id::text, events_behind::text,"
                        " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                        " FROM sluice_events.consumer_lag ORDER BY consumer",
                        0, NULL);
    if (e)
        return e;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        long long behind = 0;
        params_int(PQgetvalue(res, i, 4), 0, 9223372036854775807LL, &behind);
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:s, s:I, s:s, s:b}", "consumer",
                            PQgetvalue(res, i, 0), "last_event_id", PQgetvalue(res, i, 1),
                            "last_event_at", jstr_or_null(val(res, i, 2)), "newest_id",
                            PQgetvalue(res, i, 3), "events_behind", (json_int_t)behind,
                            "updated_at", PQgetvalue(res, i, 5), "caught_up", behind == 0));
    }
    *out = list;
    return SL_OK;
}

/* --- the page ---------------------------------------------------------------------------- */

static const char *page_link(request *r, const ev_filter *f, const char *cursor, const char *id)
{
    const char *names[] = {"type", "stream", "pipeline", "from", "to"};
    const char *vals[] = {f->type, f->stream, f->pipeline, f->from, f->to};
    char *q = "";
    for (int i = 0; i < 5; i++)
        if (*vals[i])
            q = arena_printf(r->a, "%s%s=%s&", q, names[i], params_urlencode(r->a, vals[i]));
    if (cursor)
        q = arena_printf(r->a, "%s%s=%s&", q, cursor, id);
    size_t n = strlen(q);
    if (n)
        q[n - 1] = '\0';
    return n ? arena_printf(r->a, "/events?%s", q) : "/events";
}

/* Pipelines for the filter's list, the chosen one selected. */
static json_t *pipeline_choices(request *r, const char *chosen)
{
    PGresult *res;
    json_t *list = json_array();
    if (db_query(r->db, r->a, NULL, &res,
                 "SELECT id, name FROM sluice.pipelines WHERE deleted_at IS NULL"
                 " ORDER BY lower(name), id LIMIT 1000",
                 0, NULL) != SL_OK)
        return list;
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "id", PQgetvalue(res, i, 0),
                                              "name", PQgetvalue(res, i, 1), "selected",
                                              strcmp(PQgetvalue(res, i, 0), chosen) == 0));
    return list;
}

static void blank_invalid(ev_filter *f)
{
    const char **v[] = {&f->type, &f->stream, &f->pipeline, &f->from, &f->to};
    for (int i = 0; i < 5; i++)
        if (params_utf8_len(*v[i]) < 0)
            *v[i] = "";
}

static void render_page(request *r, int status, const ev_filter *f, json_t *errors,
                        json_t *items, json_t *pager)
{
    json_t *ctx = page_ctx(r, "Events", "events");
    json_object_set_new(ctx, "f", json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", f->type,
                                            "stream", f->stream, "pipeline", f->pipeline, "from",
                                            f->from, "to", f->to));
    json_object_set_new(ctx, "pipelines", pipeline_choices(r, f->pipeline));
    json_object_set_new(ctx, "filtered", json_boolean(*f->type || *f->stream || *f->pipeline ||
                                                      *f->from || *f->to));
    json_object_set_new(ctx, "invalid", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "has_events", json_boolean(json_array_size(items) > 0));
    json_object_set_new(ctx, "events", items ? items : json_array());
    json_object_set_new(ctx, "pager", pager ? pager : json_object());
    json_t *cons = NULL;
    sl_errbuf eb = {0};
    if (consumers(r, &cons, &eb) != SL_OK)
        cons = json_array();
    json_object_set_new(ctx, "has_consumers", json_boolean(json_array_size(cons) > 0));
    json_object_set_new(ctx, "consumers", cons);
    page_render(r, status, "events/list", ctx);
}

void h_events_page(request *r)
{
    ev_filter f;
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
    int n = PQntuples(res), shown = n > EVENTS_PAGE ? EVENTS_PAGE : n;
    json_t *items = json_array();
    for (int k = 0; k < shown; k++)
        json_array_append_new(items, page_item(r, res, f.after ? shown - 1 - k : k));
    json_t *pager = json_object();
    int newer = 0, older = 0;
    const char *newest_id = NULL, *oldest_id = NULL;
    if (shown) {
        newest_id = PQgetvalue(res, f.after ? shown - 1 : 0, C_ID);
        oldest_id = PQgetvalue(res, f.after ? 0 : shown - 1, C_ID);
    }
    if (f.after) {
        newer = n > EVENTS_PAGE;
        if (shown)
            e = exists_beyond(r, &f, oldest_id, -1, &older, &eb);
    } else {
        older = n > EVENTS_PAGE;
        if (shown && f.before)
            e = exists_beyond(r, &f, newest_id, 1, &newer, &eb);
    }
    if (e) {
        json_decref(errors);
        json_decref(items);
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
    render_page(r, 200, &f, errors, items, pager);
}

/* --- the API ----------------------------------------------------------------------------- */

void h_api_events(request *r)
{
    static const char *const declared[] = {"type", "stream", "pipeline", "from", "to",
                                           "limit", "cursor", NULL};
    ev_filter f;
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
        next = params_cursor_make(r->a, 1,
                                  (const char *[]){PQgetvalue(res, (int)f.limit - 1, C_ID)});
    http_send_json(r, 200, params_page_json(items, next));
}

void h_api_event_consumers(request *r)
{
    json_t *errors = json_object();
    static const char *const declared[] = {NULL};
    if (params_undeclared(r, declared, errors) > 0) {
        http_problem(r, 422, "this resource takes no query parameters", errors);
        return;
    }
    json_decref(errors);
    json_t *list = NULL;
    sl_errbuf eb = {0};
    sl_err e = consumers(r, &list, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, 200, json_pack("{s:o}", "items", list));
}
