/* dashboard.c - the overview page (GET /): cards (active pipelines, rows
 * synced and failed runs in the last 24 hours, runs going now), two charts
 * of the last 14 days (rows synced per day, run outcomes per day; drawn
 * by svgchart.c), the last runs, the pipelines that need attention
 * (failing: the latest decisive run failed; stale: no success within twice
 * the schedule's interval) and recent audit activity.
 *
 * Days are UTC days, bucketed by when a run finished (skipped runs: when
 * they were queued). Run windows also bound the run id (a snowflake whose
 * high bits are the queue time) so the primary key index does the work on
 * a long history: a run finishes within days of being queued (a timeout
 * is at most 7 days), so ids of runs queued 22 days back cover 14 days of
 * finishes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cronexpr.h"
#include "handlers.h"
#include "log.h"
#include "page.h"
#include "pipeline_form.h"
#include "runs.h"
#include "svgchart.h"
#include "worker.h"

#define DAYS 14
#define RECENT_RUNS 10
#define ATTENTION_MAX 2000   /* pipelines examined for the attention list */
#define ATTENTION_SHOWN 12   /* of them listed */
#define STALE_FIRES 8        /* fire times looked at for a schedule's interval */
#define ERROR_SHOWN "200"    /* characters of a run's error in a reason */
#define CHART_MAX (1024 * 1024)

#define ID_WINDOW "sluice.partition_id_for_ts(now() - interval '22 days')"

/* The runs of pipeline p, written as a range so that the planner walks
 * runs_pipeline_idx (pipeline_id, id DESC) for "the newest such run":
 * with "pipeline_id = p.id ORDER BY id DESC" it may walk the primary key
 * backwards instead, which reads every run for a pipeline that has none. */
#define ONE_PIPELINE "pipeline_id >= p.id AND pipeline_id <= p.id"

/* "5 minutes", "2 hours", "3 days": the largest unit that fits twice. */
static const char *span_text(arena *a, long long s)
{
    if (s >= 2 * 86400)
        return arena_printf(a, "%lld days", s / 86400);
    if (s >= 2 * 3600)
        return arena_printf(a, "%lld hours", s / 3600);
    if (s >= 2 * 60)
        return arena_printf(a, "%lld minutes", s / 60);
    return arena_printf(a, "%lld seconds", s);
}

static const char *ago_text(arena *a, long long s)
{
    if (s < 60)
        return "just now";
    if (s < 3600)
        return arena_printf(a, "%lld min ago", s / 60);
    if (s < 2 * 86400)
        return arena_printf(a, "%lld h ago", s / 3600);
    return arena_printf(a, "%lld days ago", s / 86400);
}

static long long num(PGresult *res, int i, int c)
{
    return PQgetisnull(res, i, c) ? 0 : strtoll(PQgetvalue(res, i, c), NULL, 10);
}

static const char *grouped(arena *a, long long v)
{
    char g[32];
    svgc_group(g, sizeof g, v);
    return arena_strdup(a, g);
}

/* --- cards --------------------------------------------------------------------------- */

static sl_err put_cards(request *r, json_t *ctx, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(
        r->db, r->a, eb, &res,
        "SELECT (SELECT count(*) FROM sluice.pipelines"
        "        WHERE deleted_at IS NULL AND status = 'active'),"
        " (SELECT count(*) FROM sluice.pipelines WHERE deleted_at IS NULL),"
        " (SELECT coalesce(sum(rows_loaded), 0) FROM sluice_runs.runs"
        "  WHERE id >= " ID_WINDOW " AND finished_at > now() - interval '24 hours'),"
        " (SELECT count(*) FROM sluice_runs.runs WHERE id >= " ID_WINDOW
        "  AND status = 'failed' AND finished_at > now() - interval '24 hours'),"
        " (SELECT count(*) FROM sluice_runs.runs WHERE status = 'running'),"
        " (SELECT count(*) FROM sluice_runs.runs WHERE status = 'queued'),"
        " to_char((now() - interval '24 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        0, NULL);
    if (e)
        return e;
    long long active = num(res, 0, 0), live = num(res, 0, 1);
    const char *since = PQgetvalue(res, 0, 6);
    json_t *c = json_object();
    json_object_set_new(c, "active", json_string(grouped(r->a, active)));
    json_object_set_new(c, "paused", json_string(grouped(r->a, live - active)));
    json_object_set_new(c, "has_paused", json_boolean(live > active));
    json_object_set_new(c, "rows", json_string(grouped(r->a, num(res, 0, 2))));
    json_object_set_new(c, "failed", json_string(grouped(r->a, num(res, 0, 3))));
    json_object_set_new(c, "any_failed", json_boolean(num(res, 0, 3) > 0));
    json_object_set_new(c, "running", json_string(grouped(r->a, num(res, 0, 4))));
    json_object_set_new(c, "queued", json_string(grouped(r->a, num(res, 0, 5))));
    json_object_set_new(c, "rows_link", json_string(arena_printf(r->a, "/runs?from=%s", since)));
    json_object_set_new(c, "failed_link",
                        json_string(arena_printf(r->a, "/runs?status=failed&from=%s", since)));
    json_object_set_new(ctx, "cards", c);
    return SL_OK;
}

/* --- charts -------------------------------------------------------------------------- */

static const char *chart_html(request *r, const svgc_chart *c, int stacked)
{
    sbuf b;
    sb_init(&b, r->a, CHART_MAX);
    sl_errbuf eb = {0};
    sl_err e = stacked ? svgc_stacked(&b, c, &eb) : svgc_bar(&b, c, &eb);
    if (e) {
        sl_log(LOG_WARN, "dashboard: %s", eb.msg);
        return "";
    }
    return arena_strdup(r->a, sb_str(&b));
}

static sl_err put_charts(request *r, json_t *ctx, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(
        r->db, r->a, eb, &res,
        "WITH days AS (SELECT (now() AT TIME ZONE 'UTC')::date - (13 - k) AS day"
        "              FROM generate_series(0, 13) AS k),"
        " agg AS (SELECT (coalesce(finished_at, queued_at) AT TIME ZONE 'UTC')::date AS day,"
        "  sum(rows_loaded) AS rows,"
        "  count(*) FILTER (WHERE status = 'success') AS ok,"
        "  count(*) FILTER (WHERE status = 'failed') AS failed,"
        "  count(*) FILTER (WHERE status = 'cancelled') AS cancelled,"
        "  count(*) FILTER (WHERE status = 'skipped') AS skipped"
        "  FROM sluice_runs.runs"
        "  WHERE id >= " ID_WINDOW
        "  AND status IN ('success', 'failed', 'cancelled', 'skipped')"
        "  AND coalesce(finished_at, queued_at) >="
        "      ((now() AT TIME ZONE 'UTC')::date - 13)::timestamp AT TIME ZONE 'UTC'"
        "  GROUP BY 1)"
        " SELECT to_char(day, 'Mon FMDD'), coalesce(rows, 0), coalesce(ok, 0),"
        " coalesce(failed, 0), coalesce(cancelled, 0), coalesce(skipped, 0)"
        " FROM days LEFT JOIN agg USING (day) ORDER BY day",
        0, NULL);
    if (e)
        return e;
    int n = PQntuples(res) > DAYS ? DAYS : PQntuples(res);
    const char **labels = arena_calloc(r->a, DAYS, sizeof *labels);
    int64_t rows[DAYS], outcomes[DAYS * 4];
    for (int i = 0; i < n; i++) {
        labels[i] = PQgetvalue(res, i, 0);
        rows[i] = num(res, i, 1);
        for (int s = 0; s < 4; s++)
            outcomes[i * 4 + s] = num(res, i, 2 + s);
    }
    static const svgc_series rows_series[] = {{"rows", "#1f6feb"}};
    static const svgc_series outcome_series[] = {
        {"success", "#1a7f37"}, {"failed", "#c62828"}, {"cancelled", "#d4a72c"},
        {"skipped", "#9ca3af"}};
    svgc_chart rc = {.id = "chart-rows", .title = "Rows synced per day (UTC)",
                     .unit = "rows", .x_name = "Day",
                     .empty_text = "No rows synced in the last 14 days.", .nseries = 1,
                     .series = rows_series, .n = n, .labels = labels, .values = rows};
    svgc_chart oc = {.id = "chart-outcomes", .title = "Run outcomes per day (UTC)",
                     .unit = "runs", .x_name = "Day",
                     .empty_text = "No finished runs in the last 14 days.", .nseries = 4,
                     .series = outcome_series, .n = n, .labels = labels, .values = outcomes};
    json_object_set_new(ctx, "chart_rows", json_string(chart_html(r, &rc, 0)));
    json_object_set_new(ctx, "chart_outcomes", json_string(chart_html(r, &oc, 1)));
    return SL_OK;
}

/* --- the last runs ------------------------------------------------------------------- */

static sl_err put_runs(request *r, json_t *ctx, sl_errbuf *eb)
{
    runs_filter f = {.pipeline = "", .status = "", .from = "", .to = "",
                     .limit = RECENT_RUNS};
    PGresult *res;
    sl_err e = runs_fetch(r, &f, &res, eb);
    if (e)
        return e;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res) && i < RECENT_RUNS; i++)
        json_array_append_new(list, runs_page_json(r, res, i));
    json_object_set_new(ctx, "has_runs", json_boolean(json_array_size(list) > 0));
    json_object_set_new(ctx, "runs", list);
    return SL_OK;
}

/* --- failing and stale pipelines ----------------------------------------------------- */

/* The longest gap between the next fire times of schedule in tz after
 * now: the interval a success is expected in. 0 when it cannot be told
 * (bad expression, fewer than two fires within the cron horizon). */
static long long schedule_interval(const char *schedule, const char *tz, time_t now)
{
    cron_expr ce;
    time_t t[STALE_FIRES];
    int got = 0;
    if (cron_parse(schedule, &ce, NULL) != SL_OK ||
        cron_next_n(&ce, tz, now, t, STALE_FIRES, &got, NULL) != SL_OK || got < 2)
        return 0;
    long long gap = 0;
    for (int i = 1; i < got; i++)
        if ((long long)(t[i] - t[i - 1]) > gap)
            gap = (long long)(t[i] - t[i - 1]);
    return gap;
}

enum { A_ID, A_NAME, A_STATUS, A_SCHEDULE, A_TZ, A_CREATED, A_RUN_ID, A_RUN_STATUS,
       A_RUN_ERROR, A_RUN_AGE, A_SUCCESS_AT, A_NOW };

static json_t *attention_item(request *r, PGresult *res, int i)
{
    json_t *reasons = json_array();
    int failing = 0, stale = 0;
    const char *rst = PQgetisnull(res, i, A_RUN_STATUS) ? "" : PQgetvalue(res, i, A_RUN_STATUS);
    if (strcmp(rst, "failed") == 0) {
        failing = 1;
        const char *err = PQgetisnull(res, i, A_RUN_ERROR) ? "" : PQgetvalue(res, i, A_RUN_ERROR);
        json_t *why = json_pack("{s:s, s:s}", "text",
                                arena_printf(r->a, "The latest run failed %s",
                                             ago_text(r->a, num(res, i, A_RUN_AGE))),
                                "run_id", PQgetvalue(res, i, A_RUN_ID));
        if (*err)
            json_object_set_new(why, "error", json_string(err));
        json_array_append_new(reasons, why);
    }
    const char *schedule = PQgetisnull(res, i, A_SCHEDULE) ? NULL : PQgetvalue(res, i, A_SCHEDULE);
    if (schedule && *schedule && strcmp(PQgetvalue(res, i, A_STATUS), "active") == 0) {
        const char *tz = PQgetvalue(res, i, A_TZ);
        time_t now = (time_t)num(res, i, A_NOW);
        long long every = schedule_interval(schedule, tz, now);
        int ever = !PQgetisnull(res, i, A_SUCCESS_AT);
        long long since = now - (ever ? num(res, i, A_SUCCESS_AT) : num(res, i, A_CREATED));
        if (every > 0 && since > 2 * every) {
            stale = 1;
            char *sched = arena_strdup(r->a, pf_schedule_text(r, schedule, tz));
            if (sched[0] >= 'A' && sched[0] <= 'Z' && sched[1] >= 'a' && sched[1] <= 'z')
                sched[0] = (char)(sched[0] - 'A' + 'a'); /* "Every hour" -> "every hour" */
            json_array_append_new(
                reasons,
                json_pack("{s:s}", "text",
                          ever ? arena_printf(r->a, "No successful run for %s; it runs %s, "
                                                    "so one was due within %s",
                                              span_text(r->a, since), sched,
                                              span_text(r->a, 2 * every))
                               : arena_printf(r->a, "Never synced successfully in the %s "
                                                    "since it was created; it runs %s",
                                              span_text(r->a, since), sched)));
        }
    }
    if (!failing && !stale) {
        json_decref(reasons);
        return NULL;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, A_ID)));
    json_object_set_new(o, "name", json_string(PQgetvalue(res, i, A_NAME)));
    json_object_set_new(o, "failing", json_boolean(failing));
    json_object_set_new(o, "stale", json_boolean(stale));
    json_object_set_new(o, "paused", json_boolean(strcmp(PQgetvalue(res, i, A_STATUS),
                                                         "paused") == 0));
    json_object_set_new(o, "reasons", reasons);
    return o;
}

static sl_err put_attention(request *r, json_t *ctx, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(
        r->db, r->a, eb, &res,
        "SELECT p.id::text, p.name, p.status, p.schedule, p.timezone,"
        " extract(epoch FROM p.created_at)::bigint,"
        " l.id::text, l.status, left(l.error, " ERROR_SHOWN "),"
        " extract(epoch FROM now() - l.at)::bigint,"
        " extract(epoch FROM s.finished_at)::bigint,"
        " extract(epoch FROM now())::bigint"
        " FROM sluice.pipelines p"
        " LEFT JOIN LATERAL (SELECT id, status, error, coalesce(finished_at, queued_at) AS at"
        "   FROM sluice_runs.runs WHERE " ONE_PIPELINE " AND status IN ('success', 'failed')"
        "   ORDER BY pipeline_id, id DESC LIMIT 1) l ON true"
        " LEFT JOIN LATERAL (SELECT finished_at FROM sluice_runs.runs"
        "   WHERE " ONE_PIPELINE " AND status = 'success'"
        "   ORDER BY pipeline_id, id DESC LIMIT 1) s ON true"
        " WHERE p.deleted_at IS NULL ORDER BY lower(p.name), p.id LIMIT $1::int",
        1, (const char *[]){arena_printf(r->a, "%d", ATTENTION_MAX)});
    if (e)
        return e;
    json_t *failing = json_array(), *stale = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *it = attention_item(r, res, i);
        if (it)
            json_array_append_new(json_is_true(json_object_get(it, "failing")) ? failing
                                                                                 : stale,
                                  it);
    }
    /* Failing first, then the merely stale; each by name. */
    json_array_extend(failing, stale);
    json_decref(stale);
    size_t all = json_array_size(failing);
    while (json_array_size(failing) > ATTENTION_SHOWN)
        json_array_remove(failing, json_array_size(failing) - 1);
    if (all > ATTENTION_SHOWN)
        json_object_set_new(ctx, "attention_more",
                            json_integer((json_int_t)(all - ATTENTION_SHOWN)));
    json_object_set_new(ctx, "has_attention", json_boolean(json_array_size(failing) > 0));
    json_object_set_new(ctx, "attention", failing);
    return SL_OK;
}

/* --- audit --------------------------------------------------------------------------- */

static sl_err put_audit(request *r, json_t *ctx, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                        " to_char(at AT TIME ZONE 'UTC', 'Mon DD HH24:MI'),"
                        " coalesce(actor_email, 'system'), action"
                        " FROM sluice.audit_log ORDER BY id DESC LIMIT 6",
                        0, NULL);
    if (e)
        return e;
    json_t *recent = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(recent, json_pack("{s:s, s:s, s:s, s:s}", "at",
                                                PQgetvalue(res, i, 0), "at_short",
                                                PQgetvalue(res, i, 1), "actor",
                                                PQgetvalue(res, i, 2), "action",
                                                PQgetvalue(res, i, 3)));
    json_object_set_new(ctx, "has_recent", json_boolean(json_array_size(recent) > 0));
    json_object_set_new(ctx, "recent", recent);
    return SL_OK;
}

void h_dashboard(request *r)
{
    sl_errbuf eb = {0};
    json_t *ctx = page_ctx(r, "Dashboard", "dashboard");
    sl_err e = put_cards(r, ctx, &eb);
    if (!e)
        e = put_charts(r, ctx, &eb);
    if (!e)
        e = put_runs(r, ctx, &eb);
    if (!e)
        e = put_attention(r, ctx, &eb);
    if (!e)
        e = put_audit(r, ctx, &eb);
    if (e) {
        json_decref(ctx);
        web_db_error(r, e, &eb);
        return;
    }
    page_render(r, 200, "dashboard", ctx);
}
