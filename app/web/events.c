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
#include "idlist.h"
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
    idlist_query q; /* sql: $1 type exact, $2 type pattern, $3 stream, $4/$5 dates */
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

static const idlist_kind KIND = {COLUMNS_SQL, "sluice_events.events", FILTER_SQL,
                                 "an event id", EVENTS_PAGE};

static void parse_filter(request *r, ev_filter *f, json_t *errors, int api)
{
    memset(f, 0, sizeof *f);
    f->type = idlist_text(r, "type", errors);
    f->stream = idlist_text(r, "stream", errors);
    f->pipeline = idlist_text(r, "pipeline", errors);
    f->from = idlist_text(r, "from", errors);
    f->to = idlist_text(r, "to", errors);
    if (*f->type) {
        idlist_check_text(r, f->type, TYPE_MAX, "type", errors);
        idlist_match(r, f->type, &f->q.sql[0], &f->q.sql[1]);
    }
    if (*f->stream) {
        idlist_check_text(r, f->stream, STREAM_MAX, "stream", errors);
        f->q.sql[2] = f->stream;
    }
    if (*f->pipeline) {
        if (!uuid_valid(f->pipeline))
            page_field_error(errors, "pipeline", api ? "must be a pipeline id (a UUID)"
                                                     : "Choose a pipeline from the list.");
        else if (*f->stream && strcmp(f->stream + (strncmp(f->stream, "pipeline:", 9) == 0
                                                       ? 9 : 0), f->pipeline) != 0)
            page_field_error(errors, "stream", "names another stream than the pipeline's");
        else
            f->q.sql[2] = arena_printf(r->a, "pipeline:%s", f->pipeline);
    }
    idlist_dates(f->from, f->to, api, errors);
    f->q.sql[3] = *f->from ? f->from : NULL;
    f->q.sql[4] = *f->to ? f->to : NULL;
    idlist_paging(r, &KIND, api, &f->q, errors);
}

/* A jsonb column as a JSON value (a new reference). */
static json_t *json_col(request *r, PGresult *res, int i, int col)
{
    const char *t = idlist_val(res, i, col);
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
    json_object_set_new(o, "correlation_id", idlist_str_or_null(idlist_val(res, i, C_CORR)));
    json_object_set_new(o, "causation_id", idlist_str_or_null(idlist_val(res, i, C_CAUSE)));
    return o;
}

static json_t *page_item(request *r, PGresult *res, int i)
{
    const char *at = PQgetvalue(res, i, C_AT);
    const char *shown = idlist_at_shown(r, at);
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
    if (run && idlist_id_ok(run))
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
                            "last_event_at", idlist_str_or_null(idlist_val(res, i, 2)),
                            "newest_id", PQgetvalue(res, i, 3), "events_behind", (json_int_t)behind,
                            "updated_at", PQgetvalue(res, i, 5), "caught_up", behind == 0));
    }
    *out = list;
    return SL_OK;
}

/* --- the page ---------------------------------------------------------------------------- */

static const char *page_link(request *r, const void *fv, const char *cursor, const char *id)
{
    const ev_filter *f = fv;
    static const char *const names[] = {"type", "stream", "pipeline", "from", "to"};
    const char *vals[] = {f->type, f->stream, f->pipeline, f->from, f->to};
    return idlist_link(r, "/events", names, vals, 5, cursor, id);
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
        idlist_blank_invalid((const char **[]){&f.type, &f.stream, &f.pipeline, &f.from, &f.to},
                             5);
        render_page(r, 422, &f, errors, NULL, NULL);
        return;
    }
    json_t *items, *pager;
    if (idlist_page(r, &KIND, &f.q, page_item, page_link, &f, &items, &pager)) {
        json_decref(errors);
        return;
    }
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
    idlist_api(r, &KIND, &f.q, api_item);
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
