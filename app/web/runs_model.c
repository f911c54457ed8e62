/* runs_model.c - runs for the console and the API (see runs.h): queries,
 * the JSON views both show, display text, and queueing / cancelling on a
 * person's behalf with their audit rows.
 *
 * The run bookkeeping itself (claims, progress, finishing) is
 * app/sync/run.c; this file only reads what it writes, and asks it to
 * queue and cancel. Dead letters live at the destination, so they are
 * read through the destination's own connection (with short timeouts),
 * and a destination that cannot be read is reported, never an error
 * page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "connform.h"
#include "jsonx.h"
#include "log.h"
#include "page.h"
#include "params.h"
#include "runs.h"
#include "sync/run.h"
#include "uuid.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define ISO_MS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define RC_COLS                                                                            \
    "SELECT r.id::text, r.pipeline_id::text, p.name, p.deleted_at IS NOT NULL, r.status,"  \
    " r.trigger, r.options::text, r.requested_by::text, r.requested_by_email, r.attempt,"  \
    " " ISO("r.queued_at") ", " ISO("r.started_at") ", " ISO("r.finished_at") ","           \
    " " ISO("r.heartbeat_at") ","                                                           \
    " (extract(epoch FROM coalesce(r.finished_at, CASE WHEN r.status = 'running'"           \
    " THEN now() END) - r.started_at) * 1000)::bigint,"                                     \
    " r.claimed_by, r.cancel_requested, r.tables_total, r.tables_done, r.current_table,"    \
    " r.rows_done, r.rows_estimate, " ISO("r.progress_at") ", r.rows_extracted,"            \
    " r.rows_loaded, r.dead_letters, r.quality_failures, r.error, r.skip_reason,"           \
    " r.retry_of::text,"                                                                    \
    " extract(epoch FROM now() - coalesce(r.finished_at, r.started_at, r.queued_at))::bigint" \
    " FROM sluice_runs.runs r JOIN sluice.pipelines p ON p.id = r.pipeline_id"

#define FILTER_SQL                                                                          \
    " WHERE ($1::uuid IS NULL OR r.pipeline_id = $1::uuid)"                                 \
    " AND ($2::text IS NULL OR r.status = $2)"                                              \
    " AND ($3::date IS NULL OR r.queued_at >= $3::date::timestamp AT TIME ZONE 'UTC')"      \
    " AND ($4::date IS NULL OR r.queued_at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC')"

static const char *const statuses[] = {"queued", "running", "success", "failed", "cancelled",
                                       "skipped", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};

static const char *const dest_types[] = {"postgresql", "mysql", "clickhouse", NULL};
static const conn_kind DEST = {
    "sluice.destinations", "destination", "Destination", "/destinations", dest_types,
    "PostgreSQL, MySQL or ClickHouse", 0, "destination_id",
};

/* --- small helpers ------------------------------------------------------------------ */

static const char *val(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *jint(PGresult *res, int i, int col)
{
    const char *s = val(res, i, col);
    return s ? json_integer(strtoll(s, NULL, 10)) : json_null();
}

static long long lval(PGresult *res, int i, int col)
{
    const char *s = val(res, i, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

int runs_id_ok(const char *s)
{
    long long id;
    return s && params_int(s, 1, 9223372036854775807LL, &id);
}

int runs_level_ok(const char *s)
{
    return in_list(s, levels);
}

/* n with thousands separators, in a. */
static const char *grouped(arena *a, long long n)
{
    char raw[32], out[48];
    int len = snprintf(raw, sizeof raw, "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0)
        out[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
    return arena_strdup(a, out);
}

static const char *ago(arena *a, long long s)
{
    if (s < 60)
        return "just now";
    if (s < 3600)
        return arena_printf(a, "%lld min ago", s / 60);
    if (s < 2 * 86400)
        return arena_printf(a, "%lld h ago", s / 3600);
    return arena_printf(a, "%lld days ago", s / 86400);
}

static const char *duration_text(arena *a, long long ms)
{
    if (ms < 1000)
        return arena_printf(a, "%lld ms", ms);
    if (ms < 60000)
        return arena_printf(a, "%.1f s", (double)ms / 1000.0);
    long long s = ms / 1000;
    if (s < 3600)
        return arena_printf(a, "%lld min %lld s", s / 60, s % 60);
    return arena_printf(a, "%lld h %lld min", s / 3600, s / 60 % 60);
}

/* "2024-05-01T10:00:00Z" -> "2024-05-01 10:00:00", in a; NULL stays NULL. */
static const char *shown(arena *a, const char *iso)
{
    if (!iso)
        return NULL;
    char *s = arena_strdup(a, iso);
    size_t n = strlen(s);
    if (n > 10 && s[10] == 'T')
        s[10] = ' ';
    if (n && s[n - 1] == 'Z')
        s[n - 1] = '\0';
    return s;
}

static const char *badge(const char *status)
{
    if (strcmp(status, "success") == 0)
        return "badge-ok";
    if (strcmp(status, "failed") == 0)
        return "badge-off";
    if (strcmp(status, "running") == 0)
        return "badge-run";
    if (strcmp(status, "cancelled") == 0)
        return "badge-warn";
    return "badge-plain";
}

static const char *status_verb(const char *status)
{
    if (strcmp(status, "success") == 0)
        return "succeeded";
    if (strcmp(status, "running") == 0)
        return "started";
    return status; /* queued, failed, cancelled, skipped */
}

/* --- filters and lists -------------------------------------------------------------- */

static const char *query_text(request *r, const char *name, json_t *errors)
{
    const char *v = params_query(r, name, errors);
    return v ? params_trim(r->a, v) : "";
}

static const char *check_cursor(request *r, const char *name, json_t *errors)
{
    const char *v = params_query(r, name, errors);
    if (!v || !*v)
        return NULL;
    if (!runs_id_ok(v)) {
        page_field_error(errors, name, "must be a run id (a positive integer)");
        return NULL;
    }
    return v;
}

void runs_parse_filter(request *r, runs_filter *f, json_t *errors, int api)
{
    memset(f, 0, sizeof *f);
    f->pipeline = query_text(r, "pipeline", errors);
    f->status = query_text(r, "status", errors);
    f->from = query_text(r, "from", errors);
    f->to = query_text(r, "to", errors);
    f->limit = RUNS_PAGE;
    if (*f->pipeline && !uuid_valid(f->pipeline))
        page_field_error(errors, "pipeline", "must be a pipeline id");
    if (*f->status && !in_list(f->status, statuses))
        page_field_error(errors, "status",
                         "must be queued, running, success, failed, cancelled or skipped");
    int from_ok = 0, to_ok = 0;
    const char *date_msg = api ? "must be a date as YYYY-MM-DD"
                               : "Enter a real date as YYYY-MM-DD, e.g. 2024-05-31.";
    if (*f->from && !(from_ok = params_date(f->from)))
        page_field_error(errors, "from", date_msg);
    if (*f->to && !(to_ok = params_date(f->to)))
        page_field_error(errors, "to", date_msg);
    if (from_ok && to_ok && strcmp(f->from, f->to) > 0)
        page_field_error(errors, "to", api ? "must not be before from"
                                           : "The end date must not be before the start date.");
    if (api) {
        f->before = check_cursor(r, "cursor", errors);
        const char *s = params_query(r, "limit", errors);
        if (s && !params_int(s, 1, RUNS_API_MAX, &f->limit))
            page_field_error(errors, "limit", "must be an integer from 1 to 200");
    } else {
        f->before = check_cursor(r, "before", errors);
        f->after = check_cursor(r, "after", errors);
        if (f->before && f->after)
            page_field_error(errors, "after", "use either before or after, not both");
    }
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

sl_err runs_fetch(request *r, const runs_filter *f, PGresult **res, sl_errbuf *eb)
{
    const char *params[] = {nz(f->pipeline), nz(f->status), nz(f->from), nz(f->to),
                            f->after ? f->after : f->before,
                            arena_printf(r->a, "%lld", f->limit + 1)};
    if (f->after)
        return db_query(r->db, r->a, eb, res,
                        RC_COLS FILTER_SQL " AND r.id > $5::bigint ORDER BY r.id ASC"
                        " LIMIT $6::int",
                        6, params);
    return db_query(r->db, r->a, eb, res,
                    RC_COLS FILTER_SQL " AND ($5::bigint IS NULL OR r.id < $5::bigint)"
                    " ORDER BY r.id DESC LIMIT $6::int",
                    6, params);
}

sl_err runs_exist_beyond(request *r, const runs_filter *f, const char *id, int dir, int *yes,
                         sl_errbuf *eb)
{
    const char *params[] = {nz(f->pipeline), nz(f->status), nz(f->from), nz(f->to), id};
    char *v = NULL;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              dir > 0 ? "SELECT EXISTS (SELECT 1 FROM sluice_runs.runs r"
                                        FILTER_SQL " AND r.id > $5::bigint)"
                                      : "SELECT EXISTS (SELECT 1 FROM sluice_runs.runs r"
                                        FILTER_SQL " AND r.id < $5::bigint)",
                              5, params);
    if (!e)
        *yes = v && strcmp(v, "t") == 0;
    return e;
}

sl_err runs_load(request *r, const char *id, PGresult **res, sl_errbuf *eb)
{
    sl_err e = db_query(r->db, r->a, eb, res, RC_COLS " WHERE r.id = $1::bigint", 1,
                        (const char *[]){id});
    if (!e && PQntuples(*res) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no such run");
    return e;
}

/* --- views -------------------------------------------------------------------------- */

static int percent(const char *status, long long done, long long est, int *known)
{
    *known = 1;
    if (strcmp(status, "success") == 0)
        return 100;
    if (est > 0)
        return done >= est ? 100 : (int)(done * 100 / est);
    *known = 0;
    return 0;
}

json_t *runs_api_json(request *r, PGresult *res, int i)
{
    const char *id = PQgetvalue(res, i, RC_ID), *status = PQgetvalue(res, i, RC_STATUS);
    const char *opts = PQgetvalue(res, i, RC_OPTIONS);
    json_t *options = jsonx_parse(r->a, NULL, opts, strlen(opts));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "pipeline_id", json_string(PQgetvalue(res, i, RC_PIPELINE_ID)));
    json_object_set_new(o, "pipeline_name", json_string(PQgetvalue(res, i, RC_PIPELINE_NAME)));
    json_object_set_new(o, "pipeline_deleted",
                        json_boolean(strcmp(PQgetvalue(res, i, RC_PIPELINE_DELETED), "t") == 0));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "active", json_boolean(strcmp(status, "queued") == 0 ||
                                                  strcmp(status, "running") == 0));
    json_object_set_new(o, "trigger", json_string(PQgetvalue(res, i, RC_TRIGGER)));
    json_object_set_new(o, "options", options ? json_incref(options) : json_object());
    json_object_set_new(o, "requested_by", jstr(val(res, i, RC_REQ_BY)));
    json_object_set_new(o, "requested_by_email", jstr(val(res, i, RC_REQ_EMAIL)));
    json_object_set_new(o, "attempt", jint(res, i, RC_ATTEMPT));
    json_object_set_new(o, "retry_of", jstr(val(res, i, RC_RETRY_OF)));
    json_object_set_new(o, "queued_at", jstr(val(res, i, RC_QUEUED)));
    json_object_set_new(o, "started_at", jstr(val(res, i, RC_STARTED)));
    json_object_set_new(o, "finished_at", jstr(val(res, i, RC_FINISHED)));
    json_object_set_new(o, "heartbeat_at", jstr(val(res, i, RC_HEARTBEAT)));
    json_object_set_new(o, "duration_ms", jint(res, i, RC_DURATION_MS));
    json_object_set_new(o, "claimed_by", jstr(val(res, i, RC_CLAIMED_BY)));
    json_object_set_new(o, "cancel_requested",
                        json_boolean(strcmp(PQgetvalue(res, i, RC_CANCEL_REQ), "t") == 0));
    long long done = lval(res, i, RC_ROWS_DONE);
    long long est = val(res, i, RC_ROWS_ESTIMATE) ? lval(res, i, RC_ROWS_ESTIMATE) : -1;
    int known;
    int pct = percent(status, done, est, &known);
    json_t *p = json_object();
    json_object_set_new(p, "rows_done", json_integer(done));
    json_object_set_new(p, "rows_estimate", est < 0 ? json_null() : json_integer(est));
    json_object_set_new(p, "percent", known ? json_integer(pct) : json_null());
    json_object_set_new(p, "current_table", jstr(val(res, i, RC_CURRENT_TABLE)));
    json_object_set_new(p, "tables_done", jint(res, i, RC_TABLES_DONE));
    json_object_set_new(p, "tables_total", jint(res, i, RC_TABLES_TOTAL));
    json_object_set_new(p, "updated_at", jstr(val(res, i, RC_PROGRESS_AT)));
    json_object_set_new(o, "progress", p);
    json_object_set_new(o, "rows_extracted", jint(res, i, RC_ROWS_EXTRACTED));
    json_object_set_new(o, "rows_loaded", jint(res, i, RC_ROWS_LOADED));
    json_object_set_new(o, "dead_letters", jint(res, i, RC_DEAD_LETTERS));
    json_object_set_new(o, "quality_failures", jint(res, i, RC_QUALITY_FAILURES));
    json_object_set_new(o, "error", jstr(val(res, i, RC_ERROR)));
    json_object_set_new(o, "skip_reason", jstr(val(res, i, RC_SKIP_REASON)));
    json_object_set_new(o, "links",
                        json_pack("{s:s, s:s, s:s, s:s}", "self",
                                  arena_printf(r->a, "/api/v1/runs/%s", id), "html",
                                  arena_printf(r->a, "/runs/%s", id), "logs",
                                  arena_printf(r->a, "/api/v1/runs/%s/logs", id), "pipeline",
                                  arena_printf(r->a, "/api/v1/pipelines/%s",
                                               PQgetvalue(res, i, RC_PIPELINE_ID))));
    return o;
}

/* What the run was asked to do, in words. */
static const char *mode_text(request *r, const json_t *options, const char *trigger)
{
    const char *what = "sync";
    if (jsonx_bool(options, "retry_dead_letters", 0))
        what = "retry dead letters";
    else if (jsonx_bool(options, "full_refresh", 0))
        what = "full refresh";
    else if (jsonx_str(options, "backfill_from", NULL))
        what = arena_printf(r->a, "backfill from %s", jsonx_str(options, "backfill_from", ""));
    const json_t *tables = json_object_get(options, "tables");
    if (json_is_array(tables) && json_array_size(tables) > 0) {
        size_t k;
        json_t *t;
        const char *list = "";
        json_array_foreach(tables, k, t) {
            if (json_is_string(t))
                list = arena_printf(r->a, "%s%s%s", list, *list ? ", " : "",
                                    json_string_value(t));
        }
        what = arena_printf(r->a, "%s of %s", what, list);
    }
    (void)trigger;
    return what;
}

json_t *runs_page_json(request *r, PGresult *res, int i)
{
    json_t *o = runs_api_json(r, res, i);
    const char *status = PQgetvalue(res, i, RC_STATUS);
    const char *trigger = PQgetvalue(res, i, RC_TRIGGER);
    json_object_set_new(o, "badge", json_string(badge(status)));
    json_object_set_new(o, "is_queued", json_boolean(strcmp(status, "queued") == 0));
    json_object_set_new(o, "is_running", json_boolean(strcmp(status, "running") == 0));
    json_object_set_new(o, "is_success", json_boolean(strcmp(status, "success") == 0));
    json_object_set_new(o, "queued_shown", jstr(shown(r->a, val(res, i, RC_QUEUED))));
    json_object_set_new(o, "started_shown", jstr(shown(r->a, val(res, i, RC_STARTED))));
    json_object_set_new(o, "finished_shown", jstr(shown(r->a, val(res, i, RC_FINISHED))));
    json_object_set_new(o, "heartbeat_shown", jstr(shown(r->a, val(res, i, RC_HEARTBEAT))));
    const char *dur = val(res, i, RC_DURATION_MS);
    json_object_set_new(o, "duration_text",
                        dur ? json_string(duration_text(r->a, strtoll(dur, NULL, 10)))
                            : json_null());
    const char *when = ago(r->a, lval(res, i, RC_AGE_S));
    json_object_set_new(o, "ago", json_string(when));
    json_object_set_new(o, "when_text",
                        json_string(arena_printf(r->a, "%s %s", status_verb(status), when)));
    const char *email = val(res, i, RC_REQ_EMAIL);
    json_object_set_new(o, "who",
                        json_string(email ? email
                                    : strcmp(trigger, "cli") == 0 ? "command line"
                                    : strcmp(trigger, "scheduled") == 0 ? "schedule"
                                                                       : "system"));
    json_object_set_new(o, "mode_text",
                        json_string(mode_text(r, json_object_get(o, "options"), trigger)));
    long long done = lval(res, i, RC_ROWS_DONE);
    long long est = val(res, i, RC_ROWS_ESTIMATE) ? lval(res, i, RC_ROWS_ESTIMATE) : -1;
    json_object_set_new(o, "rows_done_text", json_string(grouped(r->a, done)));
    json_object_set_new(o, "rows_estimate_text",
                        est >= 0 ? json_string(grouped(r->a, est)) : json_null());
    json_object_set_new(o, "rows_loaded_text",
                        json_string(grouped(r->a, lval(res, i, RC_ROWS_LOADED))));
    json_object_set_new(o, "rows_extracted_text",
                        json_string(grouped(r->a, lval(res, i, RC_ROWS_EXTRACTED))));
    json_object_set_new(o, "show_bar",
                        json_boolean(json_is_true(json_object_get(o, "active")) ||
                                     json_is_integer(json_object_get(
                                         json_object_get(o, "progress"), "percent"))));
    json_object_set_new(o, "tables_known", json_boolean(lval(res, i, RC_TABLES_TOTAL) > 0));
    json_object_set_new(o, "has_dead_letters",
                        json_boolean(lval(res, i, RC_DEAD_LETTERS) > 0));
    json_object_set_new(o, "has_quality_failures",
                        json_boolean(lval(res, i, RC_QUALITY_FAILURES) > 0));
    return o;
}

/* --- for the Pipelines pages -------------------------------------------------------- */

void runs_put_last(request *r, json_t *items)
{
    if (!json_is_array(items) || json_array_size(items) == 0)
        return;
    const char *ids = "";
    size_t k;
    json_t *it;
    json_array_foreach(items, k, it) {
        const char *id = jsonx_str(it, "id", NULL);
        if (id && uuid_valid(id))
            ids = arena_printf(r->a, "%s%s%s", ids, *ids ? "," : "", id);
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        "SELECT p.id::text, l.id::text, l.status, " ISO("l.at") ","
                        " extract(epoch FROM now() - l.at)::bigint,"
                        " extract(epoch FROM now() - s.finished_at)::bigint"
                        " FROM unnest($1::uuid[]) AS p(id)"
                        " LEFT JOIN LATERAL (SELECT id, status,"
                        " coalesce(finished_at, started_at, queued_at) AS at"
                        " FROM sluice_runs.runs WHERE pipeline_id = p.id ORDER BY id DESC"
                        " LIMIT 1) l ON true"
                        " LEFT JOIN LATERAL (SELECT finished_at FROM sluice_runs.runs"
                        " WHERE pipeline_id = p.id AND status = 'success' ORDER BY id DESC"
                        " LIMIT 1) s ON true",
                        1, (const char *[]){arena_printf(r->a, "{%s}", ids)});
    if (e) {
        sl_log(LOG_WARN, "runs: last runs of pipelines: %s", eb.msg);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *pid = PQgetvalue(res, i, 0);
        json_array_foreach(items, k, it) {
            if (strcmp(jsonx_str(it, "id", ""), pid) != 0)
                continue;
            json_t *last = json_null();
            if (val(res, i, 1)) {
                const char *st = PQgetvalue(res, i, 2);
                last = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, i, 1),
                                 "status", st, "badge", badge(st), "text",
                                 arena_printf(r->a, "%s %s", status_verb(st),
                                              ago(r->a, lval(res, i, 4))),
                                 "at", PQgetvalue(res, i, 3));
            }
            json_object_set_new(it, "last_run", last);
            json_object_set_new(it, "freshness",
                                json_string(val(res, i, 5)
                                                ? arena_printf(r->a, "synced %s",
                                                               ago(r->a, lval(res, i, 5)))
                                                : "never synced"));
        }
    }
}

void runs_put_pipeline(request *r, json_t *ctx, const char *pipeline_id)
{
    if (!pipeline_id || !uuid_valid(pipeline_id))
        return;
    json_t *one = json_pack("[{s:s}]", "id", pipeline_id);
    runs_put_last(r, one);
    json_t *p = json_array_get(one, 0);
    runs_filter f = {.pipeline = pipeline_id, .status = "", .from = "", .to = "", .limit = 5};
    sl_errbuf eb = {0};
    PGresult *res;
    if (runs_fetch(r, &f, &res, &eb) != SL_OK) {
        sl_log(LOG_WARN, "runs: recent runs of pipeline %s: %s", pipeline_id, eb.msg);
        json_decref(one);
        return;
    }
    json_t *recent = json_array();
    int active = 0;
    for (int i = 0; i < PQntuples(res) && i < 5; i++) {
        json_t *run = runs_page_json(r, res, i);
        active |= json_is_true(json_object_get(run, "active"));
        json_array_append_new(recent, run);
    }
    json_t *s = json_object();
    json_object_set_new(s, "pipeline_id", json_string(pipeline_id));
    json_object_set(s, "last_run", json_object_get(p, "last_run") ? json_object_get(p, "last_run")
                                                                  : json_null());
    json_object_set_new(s, "freshness", json_string(jsonx_str(p, "freshness", "never synced")));
    json_object_set_new(s, "has_recent", json_boolean(json_array_size(recent) > 0));
    json_object_set_new(s, "recent", recent);
    json_object_set_new(s, "active", json_boolean(active));
    json_object_set_new(ctx, "run_summary", s);
    json_decref(one);
}

/* --- tables, quality, logs ---------------------------------------------------------- */

sl_err runs_tables(request *r, const char *id, int api, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    *out = NULL;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT source_schema, source_table, target_table, status, mode,"
                        " rows_extracted, rows_loaded_raw, rows_loaded, rows_failed,"
                        " watermark_column, watermark_before, watermark_after,"
                        " " ISO("started_at") ", " ISO("finished_at") ","
                        " coalesce(duration_ms, CASE WHEN status = 'running' THEN"
                        " (extract(epoch FROM now() - started_at) * 1000)::bigint END), error"
                        " FROM sluice_runs.run_table_stats WHERE run_id = $1::bigint"
                        " ORDER BY started_at, source_schema, source_table",
                        1, (const char *[]){id});
    if (e)
        return e;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *schema = PQgetvalue(res, i, 0), *table = PQgetvalue(res, i, 1);
        json_t *o = json_object();
        json_object_set_new(o, "source_schema", json_string(schema));
        json_object_set_new(o, "source_table", json_string(table));
        json_object_set_new(o, "target_table", jstr(val(res, i, 2)));
        json_object_set_new(o, "status", json_string(PQgetvalue(res, i, 3)));
        json_object_set_new(o, "mode", jstr(val(res, i, 4)));
        json_object_set_new(o, "rows_extracted", jint(res, i, 5));
        json_object_set_new(o, "rows_loaded_raw", jint(res, i, 6));
        json_object_set_new(o, "rows_loaded", jint(res, i, 7));
        json_object_set_new(o, "rows_failed", jint(res, i, 8));
        json_object_set_new(o, "watermark_column", jstr(val(res, i, 9)));
        json_object_set_new(o, "watermark_before", jstr(val(res, i, 10)));
        json_object_set_new(o, "watermark_after", jstr(val(res, i, 11)));
        json_object_set_new(o, "started_at", jstr(val(res, i, 12)));
        json_object_set_new(o, "finished_at", jstr(val(res, i, 13)));
        json_object_set_new(o, "duration_ms", jint(res, i, 14));
        json_object_set_new(o, "error", jstr(val(res, i, 15)));
        if (!api) {
            json_object_set_new(o, "label",
                                json_string(*schema ? arena_printf(r->a, "%s.%s", schema, table)
                                                    : table));
            json_object_set_new(o, "badge", json_string(badge(PQgetvalue(res, i, 3))));
            json_object_set_new(o, "extracted_text", json_string(grouped(r->a, lval(res, i, 5))));
            json_object_set_new(o, "raw_text", json_string(grouped(r->a, lval(res, i, 6))));
            json_object_set_new(o, "loaded_text", json_string(grouped(r->a, lval(res, i, 7))));
            json_object_set_new(o, "failed_text", json_string(grouped(r->a, lval(res, i, 8))));
            json_object_set_new(o, "has_failed", json_boolean(lval(res, i, 8) > 0));
            json_object_set_new(o, "duration_text",
                                val(res, i, 14)
                                    ? json_string(duration_text(r->a, lval(res, i, 14)))
                                    : json_null());
        }
        json_array_append_new(arr, o);
    }
    *out = arr;
    return SL_OK;
}

sl_err runs_quality(request *r, const char *id, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    *out = NULL;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT table_name, check_type, status, expected, actual,"
                        " round(discrepancy_pct::numeric, 2)::text, array_to_json(columns)::text,"
                        " message, " ISO("checked_at")
                        " FROM sluice_runs.quality_log WHERE run_id = $1::bigint ORDER BY id",
                        1, (const char *[]){id});
    if (e)
        return e;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cols = val(res, i, 6);
        json_t *c = cols ? jsonx_parse(r->a, NULL, cols, strlen(cols)) : NULL;
        const char *st = PQgetvalue(res, i, 2);
        json_t *o = json_object();
        json_object_set_new(o, "table", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(o, "check", json_string(PQgetvalue(res, i, 1)));
        json_object_set_new(o, "status", json_string(st));
        json_object_set_new(o, "badge", json_string(strcmp(st, "passed") == 0   ? "badge-ok"
                                                    : strcmp(st, "failed") == 0 ? "badge-off"
                                                                                : "badge-warn"));
        json_object_set_new(o, "expected", jint(res, i, 3));
        json_object_set_new(o, "actual", jint(res, i, 4));
        json_object_set_new(o, "discrepancy_pct",
                            val(res, i, 5) ? json_real(strtod(PQgetvalue(res, i, 5), NULL))
                                           : json_null());
        json_object_set_new(o, "columns", c ? json_incref(c) : json_array());
        const char *ctext = "";
        for (size_t k = 0; c && k < json_array_size(c); k++)
            ctext = arena_printf(r->a, "%s%s%s", ctext, k ? ", " : "",
                                 json_string_value(json_array_get(c, k)));
        json_object_set_new(o, "columns_text", *ctext ? json_string(ctext) : json_null());
        json_object_set_new(o, "message", jstr(val(res, i, 7)));
        json_object_set_new(o, "checked_at", json_string(PQgetvalue(res, i, 8)));
        json_array_append_new(arr, o);
    }
    *out = arr;
    return SL_OK;
}

/* {level, ...} of levels at least min, as an array literal. */
static const char *levels_from(request *r, const char *min)
{
    const char *out = "";
    int on = !min || !*min;
    for (int i = 0; levels[i]; i++) {
        if (!on && strcmp(levels[i], min) == 0)
            on = 1;
        if (on)
            out = arena_printf(r->a, "%s%s%s", out, *out ? "," : "", levels[i]);
    }
    return arena_printf(r->a, "{%s}", out);
}

sl_err runs_logs(request *r, const char *id, const runs_log_query *q, json_t **items, int *more,
                 sl_errbuf *eb)
{
    PGresult *res;
    *items = NULL;
    *more = 0;
    const char *params[] = {id, levels_from(r, q->min_level),
                            q->tail ? q->before_id : q->after_id,
                            arena_printf(r->a, "%lld", q->limit + 1)};
    sl_err e = db_query(r->db, r->a, eb, &res,
                        q->tail ? "SELECT id::text, " ISO_MS("at") ", level, table_name, message"
                                  " FROM sluice_runs.run_logs WHERE run_id = $1::bigint"
                                  " AND level = ANY ($2::text[])"
                                  " AND ($3::bigint IS NULL OR id < $3::bigint)"
                                  " ORDER BY id DESC LIMIT $4::int"
                                : "SELECT id::text, " ISO_MS("at") ", level, table_name, message"
                                  " FROM sluice_runs.run_logs WHERE run_id = $1::bigint"
                                  " AND level = ANY ($2::text[])"
                                  " AND ($3::bigint IS NULL OR id > $3::bigint)"
                                  " ORDER BY id ASC LIMIT $4::int",
                        4, params);
    if (e)
        return e;
    int n = PQntuples(res);
    *more = n > q->limit;
    if (*more)
        n = (int)q->limit;
    json_t *arr = json_array();
    for (int k = 0; k < n; k++) {
        int i = q->tail ? n - 1 - k : k;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(o, "at", json_string(PQgetvalue(res, i, 1)));
        json_object_set_new(o, "level", json_string(PQgetvalue(res, i, 2)));
        json_object_set_new(o, "table", jstr(val(res, i, 3)));
        json_object_set_new(o, "message", json_string(PQgetvalue(res, i, 4)));
        json_array_append_new(arr, o);
    }
    *items = arr;
    return SL_OK;
}

/* --- dead letters ------------------------------------------------------------------- */

/* One dead letter from its row as JSON (column names as the seed has
 * them, with a few likely alternatives). */
static json_t *dead_letter(request *r, const json_t *row)
{
    const json_t *data = json_object_get(row, "row_data");
    if (!data)
        data = json_object_get(row, "row");
    const char *text = data ? jsonx_dump(r->a, data) : "";
    if (strlen(text) > 1000)
        text = arena_printf(r->a, "%.997s...", text);
    json_t *id = json_object_get(row, "id");
    const char *schema = jsonx_str(row, "source_schema", "");
    const char *table = jsonx_str(row, "table_name", jsonx_str(row, "table", ""));
    const char *state = jsonx_str(row, "resolved_at", NULL)  ? "resolved"
                        : jsonx_str(row, "retried_at", NULL) ? "retried"
                                                             : "open";
    return json_pack("{s:o, s:s, s:s, s:s, s:o, s:s}", "id",
                     json_is_string(id) ? json_incref(id)
                     : json_is_integer(id) ? json_string(jsonx_dump(r->a, id))
                                           : json_null(),
                     "table", *schema ? arena_printf(r->a, "%s.%s", schema, table) : table,
                     "error", jsonx_str(row, "error_text", jsonx_str(row, "error", "")), "row",
                     text, "failed_at", jstr(jsonx_str(row, "failed_at", NULL)), "state", state);
}

sl_err runs_dead_letters(request *r, const char *id, json_t **items, const char **problem,
                         sl_errbuf *eb)
{
    *items = NULL;
    *problem = NULL;
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT d.id::text, d.type, d.raw_schema, d.name"
                        " FROM sluice_runs.runs r JOIN sluice.pipelines p ON p.id = r.pipeline_id"
                        " JOIN sluice.destinations d ON d.id = p.destination_id"
                        " WHERE r.id = $1::bigint",
                        1, (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(res) != 1) {
        *problem = "the pipeline's destination is gone";
        return SL_OK;
    }
    const char *type = PQgetvalue(res, 0, 1), *schema = PQgetvalue(res, 0, 2);
    const char *name = PQgetvalue(res, 0, 3);
    if (strcmp(type, "postgresql") != 0) {
        *problem = arena_printf(r->a, "reading dead letters from a %s destination is not "
                                      "supported yet", type);
        return SL_OK;
    }
    conn_params cp;
    memset(&cp, 0, sizeof cp);
    sl_errbuf ceb = {0};
    if (conn_params_for(r, &DEST, PQgetvalue(res, 0, 0), &cp, &ceb) != SL_OK) {
        *problem = arena_printf(r->a, "the destination \"%s\" cannot be read: %s", name,
                                ceb.msg);
        return SL_OK;
    }
    void *conn = NULL;
    if (pg_connector.open(&cp, &conn, &ceb) != SL_OK) {
        *problem = arena_printf(r->a, "the destination \"%s\" cannot be reached: %s", name,
                                conn_scrub(r->a, ceb.msg, cp.password));
        return SL_OK;
    }
    PGconn *c = conn;
    PQclear(PQexec(c, "SET statement_timeout = '5s'"));
    const char *sql = arena_printf(r->a,
                                   "SELECT to_jsonb(x)::text FROM %s._dead_letters x"
                                   " WHERE x.run_id::text = $1 ORDER BY x.failed_at, x.id"
                                   " LIMIT %d",
                                   db_quote_ident(r->a, schema), RUNS_DEAD_MAX + 1);
    PGresult *dl = PQexecParams(c, sql, 1, NULL, (const char *[]){id}, NULL, NULL, 0);
    if (PQresultStatus(dl) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(dl, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "42P01") == 0)
            *problem = arena_printf(r->a, "the destination \"%s\" has no %s._dead_letters "
                                          "table", name, schema);
        else
            *problem = arena_printf(r->a, "reading %s._dead_letters at \"%s\" failed: %s",
                                    schema, name,
                                    conn_scrub(r->a, PQresultErrorMessage(dl), cp.password));
    } else {
        json_t *arr = json_array();
        for (int i = 0; i < PQntuples(dl); i++) {
            const char *t = PQgetvalue(dl, i, 0);
            json_t *row = jsonx_parse(r->a, NULL, t, strlen(t));
            if (row)
                json_array_append_new(arr, dead_letter(r, row));
        }
        *items = arr;
    }
    PQclear(dl);
    pg_connector.close(conn);
    return SL_OK;
}

sl_err runs_dead_tables(request *r, const char *id, const char ***tables, int *n,
                        sl_errbuf *eb)
{
    PGresult *res;
    *tables = NULL;
    *n = 0;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT CASE WHEN source_schema <> '' THEN source_schema || '.'"
                        " ELSE '' END || source_table FROM sluice_runs.run_table_stats"
                        " WHERE run_id = $1::bigint AND rows_failed > 0 ORDER BY 1",
                        1, (const char *[]){id});
    if (e)
        return e;
    *n = PQntuples(res);
    *tables = arena_calloc(r->a, (size_t)*n + 1, sizeof **tables);
    for (int i = 0; i < *n; i++)
        (*tables)[i] = PQgetvalue(res, i, 0);
    return SL_OK;
}

/* --- queue and cancel --------------------------------------------------------------- */

sl_err runs_check_request(request *r, const char *pipeline_id, runs_request *rq, json_t *errors,
                          int *found, sl_errbuf *eb)
{
    *found = 0;
    if (!pipeline_id || !uuid_valid(pipeline_id))
        return SL_OK;
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT t.source_schema, t.source_table FROM sluice.pipelines p"
                        " LEFT JOIN sluice.pipeline_tables t ON t.pipeline_id = p.id"
                        " WHERE p.id = $1::uuid AND p.deleted_at IS NULL",
                        1, (const char *[]){pipeline_id});
    if (e)
        return e;
    if (PQntuples(res) == 0)
        return SL_OK;
    *found = 1;
    static const char *const modes[] = {"sync", "full_refresh", "backfill", NULL};
    if (!rq->mode || !*rq->mode)
        rq->mode = "sync";
    if (!in_list(rq->mode, modes))
        page_field_error(errors, "mode", "must be sync, full_refresh or backfill");
    const char *bf = rq->backfill_from ? params_trim(r->a, rq->backfill_from) : "";
    if (rq->mode && strcmp(rq->mode, "backfill") == 0) {
        long n = params_utf8_len(bf);
        if (!*bf)
            page_field_error(errors, "backfill_from",
                             "Enter the watermark value to start from, e.g. 2024-01-01.");
        else if (n < 0 || params_has_control(bf))
            page_field_error(errors, "backfill_from", "must be one line of text");
        else if (n > RUNS_BACKFILL_MAX)
            page_field_error(errors, "backfill_from", "must be at most 200 characters");
        rq->backfill_from = bf;
    } else if (*bf) {
        page_field_error(errors, "backfill_from", "only goes with mode backfill");
    } else {
        rq->backfill_from = NULL;
    }
    if (rq->ntables > RUNS_TABLES_MAX) {
        page_field_error(errors, "tables", "name at most 500 tables");
        return SL_OK;
    }
    /* Each named table must be one of the pipeline's; duplicates go. */
    int kept = 0;
    for (int k = 0; k < rq->ntables; k++) {
        const char *t = rq->tables[k];
        int ok = 0, dup = 0;
        for (int i = 0; !ok && t && i < PQntuples(res); i++) {
            if (PQgetisnull(res, i, 1))
                continue;
            const char *s = PQgetvalue(res, i, 0), *n = PQgetvalue(res, i, 1);
            ok = strcmp(t, n) == 0 ||
                 (*s && strcmp(t, arena_printf(r->a, "%s.%s", s, n)) == 0);
        }
        if (!ok) {
            page_field_error(errors, "tables",
                             arena_printf(r->a, "'%s' is not a table of this pipeline",
                                          t && params_utf8_len(t) >= 0 ? t : "?"));
            return SL_OK;
        }
        for (int j = 0; j < kept; j++)
            dup |= strcmp(rq->tables[j], t) == 0;
        if (!dup)
            rq->tables[kept++] = t;
    }
    rq->ntables = kept;
    return SL_OK;
}

sl_err runs_queue_for(request *r, const char *pipeline_id, const runs_request *rq,
                      int64_t *run_id, sl_errbuf *eb)
{
    json_t *opts = jsonx_own(r->a, json_object());
    const char *trigger = "manual";
    if (rq->retry_dead_letters) {
        json_object_set_new(opts, "retry_dead_letters", json_true());
        trigger = "retry";
    }
    if (strcmp(rq->mode, "full_refresh") == 0) {
        json_object_set_new(opts, "full_refresh", json_true());
        trigger = "full_refresh";
    } else if (strcmp(rq->mode, "backfill") == 0) {
        json_object_set_new(opts, "backfill_from", json_string(rq->backfill_from));
        trigger = "backfill";
    }
    if (rq->ntables > 0) {
        json_t *arr = json_array();
        for (int i = 0; i < rq->ntables; i++)
            json_array_append_new(arr, json_string(rq->tables[i]));
        json_object_set_new(opts, "tables", arr);
    }
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (!e)
        e = run_queue(r->db, pipeline_id, trigger, opts, r->user_id, r->user_email, run_id, eb);
    if (!e) {
        const char *id = arena_printf(r->a, "%lld", (long long)*run_id);
        json_t *details = json_pack("{s:s, s:s, s:s, s:O}", "pipeline_id", pipeline_id,
                                    "mode", rq->mode, "trigger", trigger, "options", opts);
        e = audit_write(r, rq->retry_dead_letters ? "run.retry_dead_letters" : "run.queue",
                        "run", id, details, NULL);
        json_decref(details);
        if (e)
            sl_fail(eb, e, "could not write the audit entry");
    }
    if (!e)
        e = db_commit(r->db, eb);
    if (e)
        db_rollback(r->db);
    return e;
}

sl_err runs_cancel_for(request *r, const char *id, const char **status, sl_errbuf *eb)
{
    char *before = NULL;
    sl_err e = db_query_value(r->db, r->a, eb, &before,
                              "SELECT status FROM sluice_runs.runs WHERE id = $1::bigint", 1,
                              (const char *[]){id});
    if (e == SL_ENOTFOUND)
        return sl_fail(eb, SL_ENOTFOUND, "no such run");
    if (e)
        return e;
    e = run_cancel(r->db, strtoll(id, NULL, 10), status, eb);
    if (e)
        return e;
    json_t *details = json_pack("{s:s, s:s}", "before", before, "after",
                                *status ? *status : "?");
    if (strcmp(before, "running") == 0 && *status && strcmp(*status, "running") == 0)
        json_object_set_new(details, "cancel_requested", json_true());
    audit_write(r, "run.cancel", "run", id, details, NULL);
    json_decref(details);
    return SL_OK;
}
