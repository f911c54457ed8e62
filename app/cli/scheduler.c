/* scheduler.c - the scheduler side of `sluice tick` (see scheduler.h):
 * the clock (SLUICE_NOW for tests), the 'scheduler' settings, due
 * schedules into queued or skipped runs, retries with backoff and jitter,
 * stuck runs, and claiming under the global concurrency limit.
 *
 * The clock reaches SQL as a parameter, `coalesce($n::timestamptz,
 * now())`, so without SLUICE_NOW every host goes by the database server's
 * time, never by its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cronexpr.h"
#include "log.h"
#include "scheduler.h"
#include "settings.h"

#define CLAIM_ATTEMPTS 100      /* claims lost to a race in one sched_claim */
#define DUE_MAX 10000           /* pipelines handled in one sched_due (a guard) */
#define CLAIM_LOCK "SELECT pg_advisory_xact_lock(hashtext('sluice.runs.claim'))"
#define NOW_SQL(n) "coalesce($" #n "::timestamptz, now())"

/* --- the clock ---------------------------------------------------------------------- */

static double real_epoch(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sl_err sched_clock_init(sched_clock *c, db *d, const char *text, sl_errbuf *eb)
{
    memset(c, 0, sizeof *c);
    if (!text || !*text)
        return SL_OK;
    arena *a = arena_new(0);
    char *v = NULL;
    /* Without an offset the text is UTC, whatever the session's zone. */
    sl_err e = db_query_value(d, a, eb, &v,
                              "SELECT extract(epoch FROM CASE"
                              " WHEN $1 ~ '[0-9]:[0-9]{2}(:[0-9]{2}(\\.[0-9]*)?)?"
                              " *(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$'"
                              " THEN $1::timestamptz"
                              " ELSE $1::timestamp AT TIME ZONE 'UTC' END)::float8",
                              1, (const char *[]){text});
    if (e == SL_EDB)
        e = sl_fail(eb, SL_EINVAL, "SLUICE_NOW='%s' is not a timestamp (2026-01-02T03:04:05Z)",
                    text);
    double t = 0;
    if (!e) {
        char *end = NULL;
        t = v ? strtod(v, &end) : NAN;
        if (!v || *end || !isfinite(t))
            e = sl_fail(eb, SL_EINVAL, "SLUICE_NOW='%s' is not a finite time", text);
    }
    if (!e) {
        c->set = 1;
        c->offset = t - real_epoch();
    }
    arena_free(a);
    return e;
}

double sched_clock_epoch(const sched_clock *c)
{
    return real_epoch() + (c->set ? c->offset : 0);
}

const char *sched_clock_sql(const sched_clock *c, arena *a)
{
    if (!c || !c->set)
        return NULL;
    double t = sched_clock_epoch(c);
    time_t s = (time_t)floor(t);
    long us = (long)((t - (double)s) * 1e6);
    if (us > 999999)
        us = 999999;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return arena_printf(a, "%s.%06ld+00", buf, us);
}

/* --- settings ----------------------------------------------------------------------- */

void sched_settings_load(db *d, sched_settings *s)
{
    arena *a = arena_new(0);
    json_t *o = NULL;
    sl_errbuf eb = {0};
    sl_err e = settings_get(d, a, "scheduler", &o, &eb);
    if (e && e != SL_ENOTFOUND)
        log_warn("scheduler: settings unreadable, using defaults: %s", eb.msg);
    s->max_concurrent_runs = (int)settings_obj_int(o, "max_concurrent_runs", 4, 1, 1000);
    s->default_max_retries = (int)settings_obj_int(o, "default_max_retries", 3, 0, 20);
    s->retry_base_seconds = (int)settings_obj_int(o, "retry_base_seconds", 30, 1, 86400);
    s->retry_max_seconds = (int)settings_obj_int(o, "retry_max_seconds", 3600, 1, 604800);
    s->stuck_run_timeout_seconds =
        (int)settings_obj_int(o, "stuck_run_timeout_seconds", 120, 60, 86400);
    if (s->retry_max_seconds < s->retry_base_seconds)
        s->retry_max_seconds = s->retry_base_seconds;
    arena_free(a);
}

/* --- due schedules ------------------------------------------------------------------ */

/* The next fire time after now as SQL text ("infinity" when the schedule
 * can never fire; a warning says why). */
static const char *next_fire(arena *a, const char *name, const char *schedule, const char *tz,
                             double now)
{
    cron_expr ce;
    sl_errbuf eb = {0};
    time_t next;
    sl_err e = cron_parse(schedule, &ce, &eb);
    if (!e)
        e = cron_next(&ce, tz, (time_t)floor(now), &next, &eb);
    if (e) {
        log_warn("scheduler: pipeline %s: schedule '%s' (%s) never fires: %s", name, schedule,
                 tz, eb.msg);
        return "infinity";
    }
    struct tm tm;
    gmtime_r(&next, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
    return arena_strdup(a, buf);
}

/* Why the due slot of pipeline id must be skipped, or NULL to queue it. */
static sl_err skip_reason(db *d, arena *a, const char *id, const char *upstream,
                          const char **reason, sl_errbuf *eb)
{
    *reason = NULL;
    PGresult *res;
    sl_err e = db_query(d, a, eb, &res,
                        "SELECT status, id FROM sluice_runs.runs WHERE pipeline_id = $1"
                        " AND status IN ('queued', 'running')"
                        " ORDER BY status = 'running' DESC, id LIMIT 1",
                        1, (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(res) == 1) {
        *reason = strcmp(PQgetvalue(res, 0, 0), "running") == 0 ? "already running"
                                                                 : "already queued";
        return SL_OK;
    }
    if (!upstream)
        return SL_OK;
    /* The upstream's latest run that did something (skipped slots do not count). */
    e = db_query(d, a, eb, &res,
                 "SELECT u.name, (SELECT r.status FROM sluice_runs.runs r"
                 " WHERE r.pipeline_id = u.id AND r.status <> 'skipped'"
                 " ORDER BY r.id DESC LIMIT 1)"
                 " FROM sluice.pipelines u WHERE u.id = $1 AND u.deleted_at IS NULL",
                 1, (const char *[]){upstream});
    if (e || PQntuples(res) != 1 || PQgetisnull(res, 0, 1))
        return e;
    const char *name = PQgetvalue(res, 0, 0), *st = PQgetvalue(res, 0, 1);
    if (strcmp(st, "failed") == 0)
        *reason = arena_printf(a, "upstream %s failed", name);
    else if (strcmp(st, "running") == 0 || strcmp(st, "queued") == 0)
        *reason = arena_printf(a, "upstream %s is running", name);
    return SL_OK;
}

/* Record a slot that did not run: a finished 'skipped' run and its event. */
static sl_err record_skip(db *d, arena *a, const char *id, const char *name, const char *reason,
                          sl_errbuf *eb)
{
    char *run = NULL;
    sl_err e = db_query_value(d, a, eb, &run,
                              "INSERT INTO sluice_runs.runs (pipeline_id, status, trigger,"
                              " finished_at, skip_reason) VALUES ($1, 'skipped', 'scheduled',"
                              " now(), $2) RETURNING id",
                              2, (const char *[]){id, reason});
    if (!e)
        e = db_exec(d, eb,
                    "INSERT INTO sluice_events.events (stream, type, data, metadata,"
                    " correlation_id) VALUES ('pipeline:' || $1, 'run.skipped',"
                    " jsonb_build_object('run_id', $2::text, 'pipeline_id', $1::text,"
                    " 'pipeline_name', $3::text, 'status', 'skipped', 'trigger', 'scheduled',"
                    " 'reason', $4::text), jsonb_build_object('run_id', $2::text), $2)",
                    4, (const char *[]){id, run, name, reason});
    if (!e)
        log_info("scheduler: pipeline %s: scheduled run skipped (%s), run %s", name, reason,
                 run);
    return e;
}

/* One due pipeline, locked in the open transaction: a run or a skip, and
 * the next fire time. Row: id, name, schedule, timezone, next_run_at IS
 * NULL, now (epoch), depends_on. */
static sl_err due_one(db *d, arena *a, PGresult *res, sched_due_counts *n, sl_errbuf *eb)
{
    const char *id = PQgetvalue(res, 0, 0), *name = PQgetvalue(res, 0, 1);
    const char *next = next_fire(a, name, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                                 strtod(PQgetvalue(res, 0, 5), NULL));
    int computing = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    const char *upstream = PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6);
    sl_err e = SL_OK;
    if (computing) {
        n->computed++;
    } else {
        const char *reason = NULL;
        e = skip_reason(d, a, id, upstream, &reason, eb);
        if (!e && reason) {
            e = record_skip(d, a, id, name, reason, eb);
            n->skipped += !e;
        } else if (!e) {
            int64_t run = 0;
            e = run_queue(d, id, "scheduled", NULL, NULL, NULL, &run, eb);
            if (!e) {
                n->queued++;
                log_info("scheduler: pipeline %s: scheduled run %lld queued", name,
                         (long long)run);
            }
        }
    }
    if (!e)
        e = db_exec(d, eb,
                    "UPDATE sluice.pipelines SET next_run_at = $2::timestamptz WHERE id = $1",
                    2, (const char *[]){id, next});
    return e;
}

/* Queued runs the scheduler made (scheduled slots, automatic retries) of
 * pipelines paused since are skipped, with their run.skipped events: a
 * pause stops what the scheduler started, not what people asked for. */
#define PAUSED_SQL                                                                          \
    "WITH s AS (UPDATE sluice_runs.runs r SET status = 'skipped', finished_at = now(),"     \
    " skip_reason = 'pipeline paused' FROM sluice.pipelines p"                              \
    " WHERE p.id = r.pipeline_id AND p.status = 'paused' AND r.status = 'queued'"           \
    " AND (r.trigger = 'scheduled' OR (r.trigger = 'retry' AND r.retry_of IS NOT NULL))"    \
    " RETURNING r.id, r.pipeline_id, p.name, r.trigger)"                                    \
    " INSERT INTO sluice_events.events (stream, type, data, metadata, correlation_id)"      \
    " SELECT 'pipeline:' || s.pipeline_id, 'run.skipped', jsonb_build_object('run_id',"     \
    " s.id::text, 'pipeline_id', s.pipeline_id::text, 'pipeline_name', s.name, 'status',"  \
    " 'skipped', 'trigger', s.trigger, 'reason', 'pipeline paused'),"                       \
    " jsonb_build_object('run_id', s.id::text), s.id::text FROM s"

sl_err sched_due(db *d, const sched_clock *c, sched_due_counts *counts, sl_errbuf *eb)
{
    sched_due_counts n = {0};
    arena *a = arena_new(0), *keep = arena_new(0);
    const char *done = "{}";    /* pipelines handled in this call */
    db_rollback(d);
    sl_err e = db_exec(d, eb, PAUSED_SQL, 0, NULL);
    if (!e && db_changes(d) > 0) {
        n.skipped += (int)db_changes(d);
        log_info("scheduler: %lld queued scheduled run(s) or retries skipped: pipeline paused",
                 db_changes(d));
    }
    for (int i = 0; !e && i < DUE_MAX; i++) {
        arena_reset(a);
        db_rollback(d);
        e = db_begin(d, eb);
        PGresult *res = NULL;
        if (!e)
            e = db_query(d, a, eb, &res,
                         "SELECT p.id, p.name, p.schedule, p.timezone, p.next_run_at IS NULL,"
                         " extract(epoch FROM " NOW_SQL(1) ")::float8, p.depends_on"
                         " FROM sluice.pipelines p"
                         " WHERE p.status = 'active' AND p.deleted_at IS NULL"
                         " AND p.schedule IS NOT NULL AND btrim(p.schedule) <> ''"
                         " AND (p.next_run_at IS NULL OR p.next_run_at <= " NOW_SQL(1) ")"
                         " AND p.id <> ALL ($2::uuid[])"
                         " ORDER BY p.next_run_at NULLS FIRST, p.id"
                         " FOR UPDATE OF p SKIP LOCKED LIMIT 1",
                         2, (const char *[]){sched_clock_sql(c, a), done});
        if (!e && PQntuples(res) == 0) {
            e = db_commit(d, eb);
            break;
        }
        if (!e) {
            done = arena_printf(keep, "%.*s%s%s}", (int)strlen(done) - 1, done,
                                strlen(done) > 2 ? "," : "", PQgetvalue(res, 0, 0));
            e = due_one(d, a, res, &n, eb);
        }
        if (!e)
            e = db_commit(d, eb);
        if (e)
            break;
    }
    if (e)
        db_rollback(d);
    arena_free(a);
    arena_free(keep);
    if (counts)
        *counts = n;
    return e;
}

/* --- retries ------------------------------------------------------------------------ */

/* The failed runs to retry, the retry runs themselves (ON CONFLICT: one
 * per attempt, whoever gets there first), and a line in each failed run's
 * log saying when the next attempt comes. $1 clock, $2 default max
 * retries, $3 base, $4 cap (seconds). */
#define RETRY_SQL                                                                           \
    "WITH f AS (SELECT r.id, r.pipeline_id, r.options, r.attempt,"                          \
    " coalesce(r.retry_of, r.id) AS first_id,"                                              \
    " coalesce(p.max_retries, $2::int) AS max_retries"                                      \
    " FROM sluice_runs.runs r JOIN sluice.pipelines p ON p.id = r.pipeline_id"              \
    " WHERE r.status = 'failed' AND r.finished_at > now() - interval '1 day'"               \
    " AND (r.trigger IN ('scheduled', 'dependency', 'webhook', 'landing')"                  \
    " OR (r.trigger = 'retry' AND r.retry_of IS NOT NULL))"                                 \
    " AND p.status = 'active' AND p.deleted_at IS NULL"                                     \
    " AND r.attempt <= coalesce(p.max_retries, $2::int)"                                    \
    " AND NOT EXISTS (SELECT 1 FROM sluice_runs.runs x WHERE x.pipeline_id = r.pipeline_id" \
    " AND x.id > r.id AND x.status <> 'skipped')),"                                         \
    " ins AS (INSERT INTO sluice_runs.runs (pipeline_id, trigger, options, attempt,"        \
    " retry_of, not_before)"                                                                \
    " SELECT f.pipeline_id, 'retry', f.options, f.attempt + 1, f.first_id,"                 \
    " " NOW_SQL(1) " + make_interval(secs => least($4::float8,"                             \
    " least($3::float8 * power(2::float8, f.attempt - 1), $4::float8)"                      \
    " * (0.8 + 0.4 * random())))"                                                           \
    " FROM f ORDER BY f.id"                                                                 \
    " ON CONFLICT (retry_of, attempt) WHERE retry_of IS NOT NULL DO NOTHING"                \
    " RETURNING id, pipeline_id, attempt, retry_of, not_before),"                           \
    " logged AS (INSERT INTO sluice_runs.run_logs (run_id, level, message)"                 \
    " SELECT f.id, 'info', format('attempt %s of %s queued as run %s, not before %s',"     \
    " ins.attempt, f.max_retries + 1, ins.id,"                                              \
    " to_char(ins.not_before AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'))"         \
    " FROM ins JOIN f ON f.first_id = ins.retry_of AND f.attempt = ins.attempt - 1)"        \
    " SELECT ins.id, ins.pipeline_id, ins.attempt, ins.retry_of,"                           \
    " extract(epoch FROM ins.not_before - " NOW_SQL(1) ")::int FROM ins"

sl_err sched_retries(db *d, const sched_clock *c, const sched_settings *s, int *queued,
                     sl_errbuf *eb)
{
    if (queued)
        *queued = 0;
    arena *a = arena_new(0);
    PGresult *res;
    db_rollback(d);
    sl_err e = db_query(d, a, eb, &res, RETRY_SQL, 4,
                        (const char *[]){sched_clock_sql(c, a),
                                         arena_printf(a, "%d", s->default_max_retries),
                                         arena_printf(a, "%d", s->retry_base_seconds),
                                         arena_printf(a, "%d", s->retry_max_seconds)});
    for (int i = 0; !e && i < PQntuples(res); i++)
        log_info("scheduler: pipeline %s: retry run %s (attempt %s, retry of run %s) queued"
                 " to start in %s s",
                 PQgetvalue(res, i, 1), PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
                 PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    if (!e && queued)
        *queued = PQntuples(res);
    arena_free(a);
    return e;
}

/* --- stuck runs --------------------------------------------------------------------- */

sl_err sched_reap(db *d, const sched_clock *c, const sched_settings *s, int *failed,
                  int *skipped, sl_errbuf *eb)
{
    arena *a = arena_new(0);
    sl_err e = run_reap_stale_at(d, s->stuck_run_timeout_seconds, sched_clock_sql(c, a), failed,
                                 skipped, eb);
    arena_free(a);
    return e;
}

/* --- claiming ----------------------------------------------------------------------- */

/* The oldest claimable run: queued, due on the clock ($1), not refused in
 * this call ($2), its pipeline not running. */
#define NEXT_SQL                                                                            \
    "SELECT r.id FROM sluice_runs.runs r WHERE r.status = 'queued'"                         \
    " AND (r.not_before IS NULL OR r.not_before <= " NOW_SQL(1) ")"                         \
    " AND r.id <> ALL ($2::bigint[]) AND NOT EXISTS (SELECT 1"                              \
    " FROM sluice_runs.runs x WHERE x.pipeline_id = r.pipeline_id"                          \
    " AND x.status = 'running') ORDER BY r.id LIMIT 1"

sl_err sched_claim(db *d, const char *conninfo, const sched_clock *c, int max_running,
                   run_ctx **out, int *at_limit, sl_errbuf *eb)
{
    *out = NULL;
    if (at_limit)
        *at_limit = 0;
    arena *a = arena_new(0), *keep = arena_new(0);
    const char *skip = "{}";    /* runs whose claim was refused in this call */
    char *id = NULL;
    /* Nothing to claim: say so without queueing for the lock. */
    db_rollback(d);
    sl_err e = db_query_value(d, a, eb, &id, NEXT_SQL, 2,
                              (const char *[]){sched_clock_sql(c, a), skip});
    for (int attempt = 0; !e && attempt < CLAIM_ATTEMPTS; attempt++) {
        arena_reset(a);
        db_rollback(d);
        char *running = NULL;
        id = NULL;
        e = db_begin(d, eb);
        if (!e)
            e = db_exec(d, eb, CLAIM_LOCK, 0, NULL);
        if (!e)
            e = db_query_value(d, a, eb, &running,
                               "SELECT count(*) FROM sluice_runs.runs WHERE status = 'running'",
                               0, NULL);
        if (!e && strtol(running, NULL, 10) >= max_running) {
            if (at_limit)
                *at_limit = 1;
            e = SL_ENOTFOUND;
            break;
        }
        if (!e)
            e = db_query_value(d, a, eb, &id, NEXT_SQL, 2,
                               (const char *[]){sched_clock_sql(c, a), skip});
        if (e)
            break;
        /* Claimed on the run's own connection and committed there, while
         * this transaction still holds the lock: the next claimer counts it. */
        sl_errbuf ceb = {0};
        e = run_claim(conninfo, strtoll(id, NULL, 10), out, &ceb);
        db_commit(d, NULL);
        if (e == SL_ECONFLICT) {
            log_debug("scheduler: run %s not claimed: %s", id, ceb.msg);
            skip = arena_printf(keep, "%.*s%s%s}", (int)strlen(skip) - 1, skip,
                                strlen(skip) > 2 ? "," : "", id);
            e = SL_OK;
            continue;
        }
        if (e && eb)
            *eb = ceb;
        break;
    }
    if (!e && !*out)
        e = SL_ENOTFOUND; /* every claim lost its race */
    db_rollback(d);
    arena_free(a);
    arena_free(keep);
    if (e == SL_ENOTFOUND)
        sl_fail(eb, SL_ENOTFOUND, "no queued run may be claimed now");
    return e;
}

int sched_timeout_of(db *d, const char *pipeline_id)
{
    arena *a = arena_new(0);
    char *v = NULL;
    int t = 0;
    if (db_query_value(d, a, NULL, &v,
                       "SELECT timeout_seconds FROM sluice.pipelines WHERE id = $1", 1,
                       (const char *[]){pipeline_id}) == SL_OK && v)
        t = (int)strtol(v, NULL, 10);
    arena_free(a);
    return t > 0 ? t : 0;
}
