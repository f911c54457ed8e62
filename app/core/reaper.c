/* reaper.c - retention in bounded batches (see reaper.h for what goes).
 *
 * Every delete is one autocommitted statement of at most batch_size rows,
 * `WITH d AS (DELETE ... WHERE key IN (SELECT key ... LIMIT $n) RETURNING
 * 1) SELECT count(*) FROM d`, repeated until a batch comes back short or the
 * time budget is spent, so locks stay short and a big backlog drains over
 * several runs. A dry run counts the same rows with the same predicates, in
 * the same order, so its counts are what a real run would delete. */
#include "reaper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonx.h"
#include "log.h"
#include "setcat.h"
#include "settings.h"

#define LOCK_KEY "hashtext('sluice.tick.reaper')" /* the tick job's lock (tick.c) */
#define LOCK_TIMEOUT "5s"
/* Twice the webhook replay window: app/cli/triggers.h TRIGGERS_RECEIPT_KEEP. */
#define RECEIPT_KEEP "10 minutes"
#define ACTIVE_RUNS "('queued', 'running')"
#define OLDER(col, p) col " < now() - make_interval(days => " p "::int)"

static const char *const cat_names[REAP_NCATS] = {
    "sessions", "login_attempts", "webhook_receipts", "run_logs", "quality",
    "events",   "audit",          "pipelines",        "runs",     "landing_files",
    "messages",
};

/* The cumulative counter of each category in sluice.reaper_status. */
static const char *const cat_columns[REAP_NCATS] = {
    "sessions_pruned", "login_attempts_pruned", "webhook_receipts_pruned", "run_logs_pruned",
    "quality_pruned",  "events_pruned",         "audit_pruned",            "pipelines_purged",
    "runs_pruned",     "landing_files_cleaned",
    "messages_pruned",
};

const char *reaper_category_name(reap_category c)
{
    return c >= 0 && c < REAP_NCATS ? cat_names[c] : "?";
}

typedef struct {
    db *d;
    arena *a;
    const json_t *set;  /* the 'retention' object, or NULL (defaults) */
    int dry;
    long long batch;
    double deadline;    /* monotonic seconds; 0: no limit */
    reaper_result *res;
    const char *var_dir; /* SLUICE_VAR: landing files live under it; NULL: none */
} reap;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 while another batch may start; 0 (and the run incomplete) after the
 * budget. */
static int time_left(reap *r)
{
    if (r->deadline > 0 && mono() >= r->deadline) {
        r->res->complete = 0;
        return 0;
    }
    return 1;
}

static long long setting(reap *r, const char *name)
{
    return setcat_int(r->set, "retention", name);
}

static const char *num(reap *r, long long n)
{
    return arena_printf(r->a, "%lld", n);
}

/* A per-pipeline override of a retention field (the pipeline's retention
 * object as text, may be NULL), in the catalog's range, else def. */
static long long override(reap *r, const char *text, const char *name, long long def)
{
    const setcat_field *f = setcat_find("retention", name);
    json_t *o = text ? jsonx_parse(r->a, NULL, text, strlen(text)) : NULL;
    return f ? settings_obj_int(o, name, def, f->min, f->max) : def;
}

/* counts[cat] += the count sql gives. */
static sl_err count_into(reap *r, int cat, const char *sql, int n, const char *const *p,
                         sl_errbuf *eb)
{
    char *v = NULL;
    sl_err e = db_query_value(r->d, r->a, eb, &v, sql, n, p);
    if (!e && v)
        r->res->counts[cat] += strtoll(v, NULL, 10);
    return e;
}

/* Run del (whose last parameter, $n+1, is the batch size, and which
 * answers the count of rows it deleted) until a batch comes back short or
 * the budget is spent; counts[cat] gets the rows. *done (may be NULL) is 1
 * when nothing is left. */
static sl_err batches(reap *r, int cat, const char *del, int n, const char *const *p, int *done,
                      sl_errbuf *eb)
{
    const char **q = arena_calloc(r->a, (size_t)n + 1, sizeof *q);
    for (int i = 0; i < n; i++)
        q[i] = p[i];
    q[n] = num(r, r->batch);
    if (done)
        *done = 0;
    while (time_left(r)) {
        char *v = NULL;
        sl_err e = db_query_value(r->d, r->a, eb, &v, del, n + 1, q);
        if (e)
            return e;
        long long got = v ? strtoll(v, NULL, 10) : 0;
        r->res->counts[cat] += got;
        if (got < r->batch) {
            if (done)
                *done = 1;
            break;
        }
    }
    return SL_OK;
}

/* Delete (or count) the rows of one category that a predicate over $1..$n
 * selects: del deletes one batch, count counts them all. */
static sl_err apply(reap *r, int cat, const char *del, const char *count, int n,
                    const char *const *p, sl_errbuf *eb)
{
    if (r->dry)
        return count_into(r, cat, count, n, p, eb);
    return batches(r, cat, del, n, p, NULL, eb);
}

/* The relation whose rows the reaper may delete for table: its default
 * partition when it is partitioned (NULL: it has none), the table itself
 * when it is not, NULL when it does not exist. Quoted for SQL text. */
static sl_err row_target(reap *r, const char *table, const char **out, sl_errbuf *eb)
{
    char *v = NULL;
    *out = NULL;
    sl_err e = db_query_value(r->d, r->a, eb, &v,
                              "SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname)"
                              " FROM pg_class c"
                              " LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid"
                              " JOIN pg_class t ON t.oid = CASE WHEN c.relkind = 'p'"
                              " THEN pt.partdefid ELSE c.oid END"
                              " JOIN pg_namespace n ON n.oid = t.relnamespace"
                              " WHERE c.oid = to_regclass($1)",
                              1, (const char *[]){table});
    if (e == SL_ENOTFOUND)
        return SL_OK;
    if (!e)
        *out = v;
    return e;
}

/* --- categories ----------------------------------------------------------------------- */

static sl_err reap_sessions(reap *r, sl_errbuf *eb)
{
#define EXPIRED "expires_at <= now() OR last_seen_at <= now() - idle_timeout"
    return apply(r, REAP_SESSIONS,
                 "WITH d AS (DELETE FROM sluice.sessions WHERE id IN (SELECT id FROM"
                 " sluice.sessions WHERE " EXPIRED " LIMIT $1::int) RETURNING 1)"
                 " SELECT count(*) FROM d",
                 "SELECT count(*) FROM sluice.sessions WHERE " EXPIRED, 0, NULL, eb);
#undef EXPIRED
}

static sl_err reap_login_attempts(reap *r, sl_errbuf *eb)
{
    const char *days = num(r, setting(r, "login_attempts_max_age_days"));
    return apply(r, REAP_LOGIN_ATTEMPTS,
                 "WITH d AS (DELETE FROM sluice.login_attempts WHERE id IN (SELECT id FROM"
                 " sluice.login_attempts WHERE " OLDER("at", "$1") " ORDER BY id LIMIT $2::int)"
                 " RETURNING 1) SELECT count(*) FROM d",
                 "SELECT count(*) FROM sluice.login_attempts WHERE " OLDER("at", "$1"), 1,
                 (const char *[]){days}, eb);
}

static sl_err reap_webhook_receipts(reap *r, sl_errbuf *eb)
{
    const char *t = NULL;
    sl_err e = row_target(r, "sluice.webhook_receipts", &t, eb);
    if (e || !t)
        return e;
#define OLD_RECEIPT "received_at < now() - interval '" RECEIPT_KEEP "'"
    return apply(r, REAP_WEBHOOK_RECEIPTS,
                 "WITH d AS (DELETE FROM sluice.webhook_receipts w USING (SELECT trigger_id,"
                 " msg_id FROM sluice.webhook_receipts WHERE " OLD_RECEIPT " LIMIT $1::int) v"
                 " WHERE w.trigger_id = v.trigger_id AND w.msg_id = v.msg_id RETURNING 1)"
                 " SELECT count(*) FROM d",
                 "SELECT count(*) FROM sluice.webhook_receipts WHERE " OLD_RECEIPT, 0, NULL, eb);
#undef OLD_RECEIPT
}

/* Rows of table's default partition (or of the table, unpartitioned)
 * whose `at` is older than days. */
static sl_err reap_aged_rows(reap *r, int cat, const char *table, long long days,
                             sl_errbuf *eb)
{
    if (days <= 0)
        return SL_OK;
    const char *t = NULL;
    sl_err e = row_target(r, table, &t, eb);
    if (e || !t)
        return e;
    const char *del = arena_printf(r->a,
                                   "WITH d AS (DELETE FROM %s WHERE id IN (SELECT id FROM %s"
                                   " WHERE " OLDER("at", "$1") " ORDER BY id LIMIT $2::int)"
                                   " RETURNING 1) SELECT count(*) FROM d",
                                   t, t);
    const char *count =
        arena_printf(r->a, "SELECT count(*) FROM %s WHERE " OLDER("at", "$1"), t);
    return apply(r, cat, del, count, 1, (const char *[]){num(r, days)}, eb);
}

static sl_err reap_run_logs(reap *r, sl_errbuf *eb)
{
    return reap_aged_rows(r, REAP_RUN_LOGS, "sluice_runs.run_logs",
                          setting(r, "run_logs_max_age_days"), eb);
}

static sl_err reap_events(reap *r, sl_errbuf *eb)
{
    return reap_aged_rows(r, REAP_EVENTS, "sluice_events.events",
                          setting(r, "events_max_age_days"), eb);
}

static sl_err reap_audit(reap *r, sl_errbuf *eb)
{
    long long days = setting(r, "audit_log_max_age_days");
    if (days <= 0)
        return SL_OK;
    return apply(r, REAP_AUDIT,
                 "WITH d AS (DELETE FROM sluice.audit_log WHERE id IN (SELECT id FROM"
                 " sluice.audit_log WHERE " OLDER("at", "$1") " ORDER BY id LIMIT $2::int)"
                 " RETURNING 1) SELECT count(*) FROM d",
                 "SELECT count(*) FROM sluice.audit_log WHERE " OLDER("at", "$1"), 1,
                 (const char *[]){num(r, days)}, eb);
}

/* Quality results: by age, then beyond the newest N of each table. The
 * per-table step looks only at results younger than the age, so a dry run
 * (where the old ones are still there) counts what a real run deletes. */
#define Q_YOUNG "($3::int = 0 OR checked_at >= now() - make_interval(days => $3::int))"
static sl_err reap_quality_table(reap *r, const char *pid, const char *table, long long keep,
                                 const char *days, sl_errbuf *eb)
{
    char *cut = NULL;
    sl_err e = db_query_value(r->d, r->a, eb, &cut,
                              "SELECT id FROM sluice_runs.quality_log WHERE pipeline_id = $1"
                              " AND table_name = $2 AND " Q_YOUNG
                              " ORDER BY id DESC OFFSET $4::bigint - 1 LIMIT 1",
                              4, (const char *[]){pid, table, days, num(r, keep)});
    if (e == SL_ENOTFOUND)
        return SL_OK;
    if (e)
        return e;
    return apply(r, REAP_QUALITY,
                 "WITH d AS (DELETE FROM sluice_runs.quality_log WHERE id IN (SELECT id FROM"
                 " sluice_runs.quality_log WHERE pipeline_id = $1 AND table_name = $2"
                 " AND " Q_YOUNG " AND id < $4::bigint ORDER BY id LIMIT $5::int) RETURNING 1)"
                 " SELECT count(*) FROM d",
                 "SELECT count(*) FROM sluice_runs.quality_log WHERE pipeline_id = $1"
                 " AND table_name = $2 AND " Q_YOUNG " AND id < $4::bigint",
                 4, (const char *[]){pid, table, days, cut}, eb);
}

static sl_err reap_quality(reap *r, sl_errbuf *eb)
{
    long long age = setting(r, "quality_log_max_age_days");
    const char *days = num(r, age);
    sl_err e = SL_OK;
    if (age > 0)
        e = apply(r, REAP_QUALITY,
                  "WITH d AS (DELETE FROM sluice_runs.quality_log WHERE id IN (SELECT id FROM"
                  " sluice_runs.quality_log WHERE " OLDER("checked_at", "$1")
                  " ORDER BY id LIMIT $2::int) RETURNING 1) SELECT count(*) FROM d",
                  "SELECT count(*) FROM sluice_runs.quality_log WHERE "
                  OLDER("checked_at", "$1"),
                  1, (const char *[]){days}, eb);
    if (e || !time_left(r))
        return e;
    long long keep = setting(r, "quality_log_max_per_table");
    PGresult *res;
    e = db_query(r->d, r->a, eb, &res,
                 "SELECT g.pipeline_id, g.table_name, g.n, p.retention::text FROM"
                 " (SELECT pipeline_id, table_name, count(*) AS n FROM sluice_runs.quality_log"
                 " WHERE ($1::int = 0 OR checked_at >= now() - make_interval(days => $1::int))"
                 " GROUP BY 1, 2) g LEFT JOIN sluice.pipelines p ON p.id = g.pipeline_id"
                 " ORDER BY 1, 2",
                 1, (const char *[]){days});
    for (int i = 0; !e && i < PQntuples(res) && time_left(r); i++) {
        const char *ov = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
        long long n = override(r, ov, "quality_log_max_per_table", keep);
        if (n > 0 && strtoll(PQgetvalue(res, i, 2), NULL, 10) > n)
            e = reap_quality_table(r, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), n, days, eb);
    }
    return e;
}
#undef Q_YOUNG

/* One batch of a pipeline's runs (and their log lines): $1 the pipeline,
 * then what the predicate takes, the batch size last. */
#define RUNS_DEL(pred, nb)                                                                   \
    "WITH d AS (DELETE FROM sluice_runs.runs WHERE id IN (SELECT id FROM sluice_runs.runs"    \
    " WHERE pipeline_id = $1 AND " pred " ORDER BY id LIMIT " nb "::int) RETURNING id),"     \
    " l AS (DELETE FROM sluice_runs.run_logs WHERE run_id IN (SELECT id FROM d))"            \
    " SELECT count(*) FROM d"

static sl_err reap_pipelines(reap *r, sl_errbuf *eb)
{
    long long purge = setting(r, "pipelines_purge_after_days");
    if (purge <= 0)
        return SL_OK;
    const char *days = num(r, purge);
    PGresult *res;
    sl_err e = db_query(r->d, r->a, eb, &res,
                        "SELECT id FROM sluice.pipelines WHERE deleted_at IS NOT NULL"
                        " AND " OLDER("deleted_at", "$1") " ORDER BY deleted_at, id",
                        1, (const char *[]){days});
    for (int i = 0; !e && i < PQntuples(res) && time_left(r); i++) {
        const char *id = PQgetvalue(res, i, 0);
        if (r->dry) {
            r->res->counts[REAP_PIPELINES]++;
            e = count_into(r, REAP_RUNS,
                           "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = $1", 1,
                           (const char *[]){id}, eb);
            continue;
        }
        int done = 0;
        e = batches(r, REAP_RUNS, RUNS_DEL("true", "$2"), 1, (const char *[]){id}, &done, eb);
        if (e || !done)
            break;
        char *v = NULL;
        e = db_query_value(r->d, r->a, eb, &v,
                           "WITH d AS (DELETE FROM sluice.pipelines WHERE id = $1"
                           " AND deleted_at IS NOT NULL AND " OLDER("deleted_at", "$2")
                           " RETURNING 1) SELECT count(*) FROM d",
                           2, (const char *[]){id, days});
        if (!e && v)
            r->res->counts[REAP_PIPELINES] += strtoll(v, NULL, 10);
    }
    return e;
}

/* Finished runs beyond the newest N of their pipeline or older than the
 * age: $2 the id of the Nth newest run (NULL: no count limit), $3 days. */
#define RUN_PRED                                                                             \
    "status NOT IN " ACTIVE_RUNS " AND (id < $2::bigint OR ($3::int > 0"                      \
    " AND coalesce(finished_at, queued_at) < now() - make_interval(days => $3::int)))"

static sl_err reap_pipeline_runs(reap *r, const char *pid, long long keep, long long age,
                                 sl_errbuf *eb)
{
    char *cut = NULL;
    if (keep > 0) {
        sl_err e = db_query_value(r->d, r->a, eb, &cut,
                                  "SELECT id FROM sluice_runs.runs WHERE pipeline_id = $1"
                                  " ORDER BY id DESC OFFSET $2::bigint - 1 LIMIT 1",
                                  2, (const char *[]){pid, num(r, keep)});
        if (e && e != SL_ENOTFOUND)
            return e;
    }
    if (!cut && age <= 0)
        return SL_OK;
    return apply(r, REAP_RUNS, RUNS_DEL(RUN_PRED, "$4"),
                 "SELECT count(*) FROM sluice_runs.runs WHERE pipeline_id = $1 AND " RUN_PRED, 3,
                 (const char *[]){pid, cut, num(r, age)}, eb);
}

static sl_err reap_runs(reap *r, sl_errbuf *eb)
{
    long long keep = setting(r, "runs_max_per_pipeline");
    long long age = setting(r, "runs_max_age_days");
    const char *purge = num(r, setting(r, "pipelines_purge_after_days"));
    PGresult *res;
    /* Pipelines the purge step takes whole are left to it (a dry run still
     * sees them). */
    sl_err e = db_query(r->d, r->a, eb, &res,
                        "SELECT p.id, p.retention::text FROM sluice.pipelines p"
                        " WHERE EXISTS (SELECT 1 FROM sluice_runs.runs x"
                        " WHERE x.pipeline_id = p.id)"
                        " AND NOT ($1::int > 0 AND p.deleted_at IS NOT NULL"
                        " AND " OLDER("p.deleted_at", "$1") ") ORDER BY p.id",
                        1, (const char *[]){purge});
    for (int i = 0; !e && i < PQntuples(res) && time_left(r); i++) {
        const char *ov = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
        e = reap_pipeline_runs(r, PQgetvalue(res, i, 0),
                               override(r, ov, "runs_max_per_pipeline", keep),
                               override(r, ov, "runs_max_age_days", age), eb);
    }
    return e;
}
#undef RUN_PRED
#undef RUNS_DEL

/* Processed landing files (sql/013_landing.sql): loaded or rejected files
 * of zones with auto_purge, older than the zone's processed_max_age_days
 * (capped by the global setting when that is not 0), become 'purged': the
 * row stays as a record, its bytes are deleted. $1 the global days. */
#define LF_DUE                                                                               \
    " FROM sluice.landing_files f JOIN sluice.landing_zones z ON z.id = f.zone_id"          \
    " WHERE f.status IN ('loaded', 'rejected') AND z.auto_purge"                             \
    " AND coalesce(f.loaded_at, f.uploaded_at) < now() - make_interval(days => CASE"        \
    " WHEN $1::int > 0 THEN least(z.processed_max_age_days, $1::int)"                       \
    " ELSE z.processed_max_age_days END)"

/* Delete <var>/landing/<zone>/<name>; a name that is not a plain file name
 * is refused, a file already gone is fine. */
static void unlink_landing(reap *r, const char *zone, const char *name)
{
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strchr(zone, '/')) {
        log_warn("reaper: landing file %s/%s: not a plain name; left alone", zone, name);
        return;
    }
    const char *path = arena_printf(r->a, "%s/landing/%s/%s", r->var_dir, zone, name);
    if (unlink(path) != 0 && errno != ENOENT)
        log_warn("reaper: could not delete %s: %s", path, strerror(errno));
}

static sl_err reap_landing_files(reap *r, sl_errbuf *eb)
{
    char *v = NULL;
    sl_err e = db_query_value(r->d, r->a, eb, &v,
                              "SELECT to_regclass('sluice.landing_files') IS NOT NULL"
                              " AND to_regclass('sluice.landing_zones') IS NOT NULL",
                              0, NULL);
    if (e || strcmp(v, "t") != 0)
        return e;
    const char *days = num(r, setting(r, "landing_files_max_age_days"));
    if (r->dry)
        return count_into(r, REAP_LANDING_FILES, "SELECT count(*)" LF_DUE, 1,
                          (const char *[]){days}, eb);
    if (!r->var_dir) /* without the directory the bytes could not go: leave them */
        return SL_OK;
    const char *batch = num(r, r->batch);
    while (time_left(r)) {
        PGresult *res;
        e = db_query(r->d, r->a, eb, &res,
                     "WITH v AS (SELECT f.id, f.zone_id, f.stored_name" LF_DUE
                     " ORDER BY f.id LIMIT $2::int FOR UPDATE OF f SKIP LOCKED),"
                     " u AS (UPDATE sluice.landing_files f SET status = 'purged',"
                     " purged_at = now(), stored_name = NULL FROM v WHERE f.id = v.id"
                     " RETURNING v.zone_id, v.stored_name)"
                     " SELECT zone_id, stored_name FROM u",
                     2, (const char *[]){days, batch});
        if (e)
            return e;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++)
            if (!PQgetisnull(res, i, 1))
                unlink_landing(r, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        r->res->counts[REAP_LANDING_FILES] += n;
        if (n < r->batch)
            break;
    }
    return SL_OK;
}
#undef LF_DUE

/* Delivered outbox messages (sql/009_outbox.sql) past their age. */
static sl_err reap_messages(reap *r, sl_errbuf *eb)
{
    long long days = setting(r, "messages_max_age_days");
    const char *t = NULL;
    sl_err e = days > 0 ? row_target(r, "sluice_events.messages", &t, eb) : SL_OK;
    if (e || !t)
        return e;
#define MSG_OLD "status = 'delivered' AND " OLDER("delivered_at", "$1")
    return apply(r, REAP_MESSAGES,
                 "WITH d AS (DELETE FROM sluice_events.messages WHERE id IN (SELECT id FROM"
                 " sluice_events.messages WHERE " MSG_OLD " ORDER BY id LIMIT $2::int)"
                 " RETURNING 1) SELECT count(*) FROM d",
                 "SELECT count(*) FROM sluice_events.messages WHERE " MSG_OLD, 1,
                 (const char *[]){num(r, days)}, eb);
#undef MSG_OLD
}

typedef sl_err (*reap_fn)(reap *r, sl_errbuf *eb);

static const reap_fn steps[REAP_NCATS] = {
    reap_sessions, reap_login_attempts, reap_webhook_receipts, reap_run_logs, reap_quality,
    reap_events,   reap_audit,          reap_pipelines,        reap_runs,     reap_landing_files,
    reap_messages,
};

/* --- the run -------------------------------------------------------------------------- */

json_t *reaper_result_json(const reaper_result *res, int dry_run)
{
    json_t *counts = json_object();
    long long total = 0;
    for (int c = 0; c < REAP_NCATS; c++) {
        json_object_set_new(counts, cat_names[c], json_integer(res->counts[c]));
        total += res->counts[c];
    }
    return json_pack("{s:b, s:b, s:I, s:i, s:o, s:o, s:I}", "dry_run", dry_run, "complete",
                     res->complete, "duration_ms", (json_int_t)res->duration_ms, "errors",
                     res->errors, "error", res->error[0] ? json_string(res->error) : json_null(),
                     "counts", counts, "total", (json_int_t)total);
}

static sl_err record(reap *r, sl_errbuf *eb)
{
    json_t *j = reaper_result_json(r->res, 0);
    const char *counts = jsonx_dump(r->a, json_object_get(j, "counts"));
    long long total = json_integer_value(json_object_get(j, "total"));
    const char *whole = jsonx_dump(r->a, j);
    json_decref(j);
    char *set = "";
    for (int c = 0; c < REAP_NCATS; c++)
        set = arena_printf(r->a, "%s, %s = %s + ($4::jsonb ->> '%s')::bigint", set,
                           cat_columns[c], cat_columns[c], cat_names[c]);
    const char *sql = arena_printf(r->a,
                                   "UPDATE sluice.reaper_status SET last_run_at = now(),"
                                   " last_error = $1, last_duration_ms = $2::bigint,"
                                   " last_complete = $3::boolean, last_counts = $4::jsonb,"
                                   " runs = runs + 1, updated_at = now()%s WHERE id = 1",
                                   set);
    db_exec(r->d, NULL, "INSERT INTO sluice.reaper_status (id) VALUES (1) ON CONFLICT DO NOTHING",
            0, NULL);
    sl_err e = db_exec(r->d, eb, sql, 4,
                       (const char *[]){r->res->error[0] ? r->res->error : NULL,
                                        num(r, r->res->duration_ms),
                                        r->res->complete ? "true" : "false", counts});
    if (!e && total > 0)
        e = db_exec(r->d, eb,
                    "INSERT INTO sluice_events.events (stream, type, data)"
                    " VALUES ('retention', 'retention.completed', $1::jsonb)",
                    1, (const char *[]){whole});
    return e;
}

static void run_steps(reap *r)
{
    for (int c = 0; c < REAP_NCATS && time_left(r); c++) {
        sl_errbuf ce = {0};
        sl_err e = steps[c](r, &ce);
        if (!e)
            continue;
        db_rollback(r->d);
        r->res->errors++;
        log_warn("reaper: %s: %s", cat_names[c], ce.msg[0] ? ce.msg : sl_strerror(e));
        if (!r->res->error[0])
            snprintf(r->res->error, sizeof r->res->error, "%s: %.400s", cat_names[c],
                     ce.msg[0] ? ce.msg : sl_strerror(e));
    }
}

sl_err reaper_run(db *d, const reaper_opts *o, reaper_result *res, sl_errbuf *eb)
{
    memset(res, 0, sizeof *res);
    res->complete = 1;
    double t0 = mono();
    arena *a = arena_new(0);
    reap r = {.d = d, .a = a, .dry = o && o->dry_run, .res = res,
              .var_dir = o && o->var_dir && *o->var_dir ? o->var_dir : NULL};
    char *got = NULL;
    db_rollback(d);
    sl_err e = db_query_value(d, a, eb, &got, "SELECT pg_try_advisory_lock(" LOCK_KEY ")", 0,
                              NULL);
    if (e) {
        arena_free(a);
        return e;
    }
    if (strcmp(got, "t") != 0) {
        arena_free(a);
        return sl_fail(eb, SL_ECONFLICT, "another process is applying retention right now");
    }
    json_t *set = NULL;
    sl_errbuf se = {0};
    e = settings_get(d, a, "retention", &set, &se);
    if (e == SL_ENOTFOUND)
        e = SL_OK; /* no row: every default */
    else if (e)
        sl_fail(eb, e, "%s", se.msg);
    if (!e) /* RESET at the end: a web worker's session goes on serving */
        e = db_exec(d, eb, "SET lock_timeout = '" LOCK_TIMEOUT "'", 0, NULL);
    if (!e) {
        r.set = set;
        r.batch = o && o->batch_size > 0 ? o->batch_size : setting(&r, "reaper_batch_size");
        double budget = o && o->budget_seconds != 0
                            ? o->budget_seconds
                            : (double)setting(&r, "reaper_time_budget_seconds");
        r.deadline = budget > 0 ? t0 + budget : 0;
        run_steps(&r);
        res->duration_ms = (long long)((mono() - t0) * 1000.0);
        if (!r.dry)
            e = record(&r, eb);
        db_exec(d, NULL, "RESET lock_timeout", 0, NULL);
    }
    db_exec(d, NULL, "SELECT pg_advisory_unlock(" LOCK_KEY ")", 0, NULL);
    arena_free(a);
    return e;
}

sl_err reaper_due(db *d, int *due, sl_errbuf *eb)
{
    arena *a = arena_new(0);
    json_t *set = NULL;
    sl_errbuf se = {0};
    settings_get(d, a, "retention", &set, &se);
    const char *mins = arena_printf(a, "%lld", setcat_int(set, "retention",
                                                          "reaper_interval_minutes"));
    char *v = NULL;
    sl_err e = db_query_value(d, a, eb, &v,
                              "SELECT coalesce((SELECT last_run_at IS NULL OR NOT last_complete"
                              " OR last_run_at <= now() - make_interval(mins => $1::int)"
                              " FROM sluice.reaper_status WHERE id = 1), true)",
                              1, (const char *[]){mins});
    *due = !e && v && strcmp(v, "t") == 0;
    arena_free(a);
    return e;
}

sl_err reaper_status_json(db *d, arena *a, json_t **out, sl_errbuf *eb)
{
    *out = NULL;
    char *cols = "";
    for (int c = 0; c < REAP_NCATS; c++)
        cols = arena_printf(a, "%s, '%s', %s", cols, cat_names[c], cat_columns[c]);
    char *v = NULL;
    sl_err e = db_query_value(
        d, a, eb, &v,
        arena_printf(a,
                     "SELECT json_build_object('last_run_at', to_char(last_run_at AT TIME ZONE"
                     " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'last_duration_ms',"
                     " last_duration_ms, 'last_complete', last_complete, 'last_error',"
                     " last_error, 'last_counts', last_counts, 'runs', runs, 'runs_failed',"
                     " runs_failed, 'totals', json_build_object(%s))::text"
                     " FROM sluice.reaper_status WHERE id = 1",
                     cols + 2),
        0, NULL);
    if (e == SL_ENOTFOUND) {
        *out = json_pack("{s:n, s:n, s:b, s:n, s:{}, s:i, s:i, s:{}}", "last_run_at",
                         "last_duration_ms", "last_complete", 1, "last_error", "last_counts",
                         "runs", 0, "runs_failed", 0, "totals");
        return SL_OK;
    }
    if (e)
        return e;
    json_t *j = jsonx_parse(a, eb, v, strlen(v));
    if (!j)
        return sl_fail(eb, SL_EINTERNAL, "reaper status: %s", eb->msg);
    *out = json_incref(j);
    return SL_OK;
}

void reaper_note_failed_runs(db *d, int n)
{
    if (n <= 0)
        return;
    char num_s[24];
    snprintf(num_s, sizeof num_s, "%d", n);
    sl_errbuf eb = {0};
    if (db_exec(d, &eb,
                "UPDATE sluice.reaper_status SET runs_failed = runs_failed + $1::bigint,"
                " updated_at = now() WHERE id = 1",
                1, (const char *[]){num_s}) != SL_OK)
        log_warn("reaper: could not count %d failed stuck run(s): %s", n, eb.msg);
}
