/* run.c - a run's life in the control database (see run.h): queue, claim,
 * logs, progress, per-table stats, finish, and the housekeeping around it
 * (stale heartbeats, cancels).
 *
 * A run_ctx owns a private control-database connection for its
 * bookkeeping, where every write autocommits as it happens; a second one,
 * opened on first use, that run_db() hands to the engine (which may hold
 * transactions on it); and a heartbeat thread that stamps heartbeat_at
 * every HEARTBEAT_SECONDS and notices cancel requests while the engine is
 * busy inside a long chunk. The bookkeeping connection is shared with that
 * thread under rc->mu. Finishing (run_finish, a queued run's cancel, a
 * lost heartbeat) goes through one function, finish_tx, that writes the
 * run row, its unfinished table rows and its events in one transaction. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonx.h"
#include "log.h"
#include "run.h"
#include "uuid.h"

#define HEARTBEAT_SECONDS 20    /* the reaper fails runs silent for 2 minutes */
#define PROGRESS_INTERVAL_MS 1000
#define LOG_MAX 8192            /* bytes of one log message */
#define ERROR_MAX 4000          /* bytes of a run's or table's error text */
#define CONNECT_TIMEOUT 10      /* seconds */
#define CLAIM_ATTEMPTS 100      /* claim races lost in one run_claim_next */

struct run_ctx {
    db *w;                      /* bookkeeping writes; guarded by mu */
    db *cfg;                    /* run_db(): connects on first use */
    arena *a;                   /* lives with rc */
    arena *tmp;                 /* per write, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t hb;
    int hb_started, hb_stop;
    int64_t id;
    char id_text[24];
    char pipeline_id[UUID_STRLEN + 1];
    const char *pipeline_name;
    json_t *options;
    long long rows_done, estimate;
    char *table;                /* current table, heap, or NULL */
    int tables_done, tables_total;
    struct timespec t0, last_write;
    int written;                /* a progress write has happened */
    volatile sig_atomic_t cancel_local;
    atomic_int cancel_db;
    run_hooks hooks;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* --- small helpers ------------------------------------------------------------------ */

static long long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static const char *num(arena *a, long long v)
{
    return arena_printf(a, "%lld", v);
}

/* v, or SQL NULL when negative. */
static const char *num_or_null(arena *a, long long v)
{
    return v < 0 ? NULL : num(a, v);
}

/* A copy of s in a that is valid UTF-8 (bad bytes become '?') and at most
 * max bytes, cut at a character boundary. */
static char *clean_text(arena *a, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        n = max;
    char *out = arena_strndup(a, s, n);
    unsigned char *p = (unsigned char *)out, *end = p + n;
    while (p < end) {
        int len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                            : (*p & 0xF8) == 0xF0 ? 4 : 0;
        int ok = len > 0 && p + len <= end && !(len == 2 && *p < 0xC2);
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && len == 3)
            ok = !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] >= 0xA0);
        if (ok && len == 4)
            ok = !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] >= 0x90) &&
                 p[0] <= 0xF4;
        if (!ok) {
            /* A character cut by the length cap ends the text there. */
            if (len > 1 && p + len > end && (size_t)(end - (unsigned char *)out) == max) {
                *p = '\0';
                break;
            }
            *p = '?';
            len = 1;
        }
        p += len;
    }
    return out;
}

static const char *table_label(arena *a, const char *schema, const char *table)
{
    if (!table)
        return NULL;
    return schema && *schema ? arena_printf(a, "%s.%s", schema, table) : table;
}

static void lock(run_ctx *rc)
{
    pthread_mutex_lock(&rc->mu);
}

static void unlock(run_ctx *rc)
{
    arena_reset(rc->tmp);
    pthread_mutex_unlock(&rc->mu);
}

/* A bookkeeping statement; the result lives in rc->tmp. Failures are
 * logged (the run goes on: bookkeeping never stops a sync). */
static sl_err wq(run_ctx *rc, PGresult **res, const char *what, const char *sql, int n,
                 const char *const *params)
{
    sl_errbuf eb = {0};
    sl_err e = db_query(rc->w, rc->tmp, &eb, res, sql, n, params);
    if (e)
        log_warn("run %s: could not record %s: %s", rc->id_text, what, eb.msg);
    return e;
}

static int cancelled(const run_ctx *rc)
{
    return rc->cancel_local || atomic_load(&rc->cancel_db);
}

/* Note cancel_requested / status from a RETURNING cancel_requested, status. */
static void note_cancel(run_ctx *rc, PGresult *res)
{
    if (PQntuples(res) != 1) {
        atomic_store(&rc->cancel_db, 1); /* the run row is gone */
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0 || strcmp(PQgetvalue(res, 0, 1), "running") != 0)
        atomic_store(&rc->cancel_db, 1);
}

/* --- the heartbeat thread ----------------------------------------------------------- */

static void *heartbeat_main(void *arg)
{
    run_ctx *rc = arg;
    arena *a = arena_new(0);
    pthread_mutex_lock(&rc->mu);
    while (!rc->hb_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HEARTBEAT_SECONDS;
        pthread_cond_timedwait(&rc->cv, &rc->mu, &until);
        if (rc->hb_stop)
            break;
        PGresult *res;
        if (db_query(rc->w, a, NULL, &res,
                     "UPDATE sluice_runs.runs SET heartbeat_at = now() WHERE id = $1"
                     " RETURNING cancel_requested, status",
                     1, (const char *[]){rc->id_text}) == SL_OK)
            note_cancel(rc, res);
        arena_reset(a);
    }
    pthread_mutex_unlock(&rc->mu);
    arena_free(a);
    return NULL;
}

static void heartbeat_start(run_ctx *rc)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals go to the main thread */
    rc->hb_started = pthread_create(&rc->hb, NULL, heartbeat_main, rc) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!rc->hb_started)
        log_warn("run %s: no heartbeat thread; heartbeats come with progress only",
                 rc->id_text);
}

static void heartbeat_stop(run_ctx *rc)
{
    if (!rc->hb_started)
        return;
    pthread_mutex_lock(&rc->mu);
    rc->hb_stop = 1;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
    pthread_join(rc->hb, NULL);
    rc->hb_started = 0;
}

/* --- contexts ----------------------------------------------------------------------- */

static run_ctx *rc_new(const char *conninfo, sl_errbuf *eb)
{
    db *w = db_open(conninfo, CONNECT_TIMEOUT, eb);
    if (!w)
        return NULL;
    run_ctx *rc = xcalloc(1, sizeof *rc);
    rc->w = w;
    rc->cfg = db_open_lazy(conninfo, CONNECT_TIMEOUT);
    rc->a = arena_new(0);
    rc->tmp = arena_new(0);
    pthread_mutex_init(&rc->mu, NULL);
    pthread_cond_init(&rc->cv, NULL);
    rc->estimate = -1;
    atomic_init(&rc->cancel_db, 0);
    return rc;
}

static void rc_free(run_ctx *rc)
{
    if (!rc)
        return;
    heartbeat_stop(rc);
    db_close(rc->w);
    db_close(rc->cfg);
    json_decref(rc->options);
    free(rc->table);
    arena_free(rc->tmp);
    arena_free(rc->a);
    pthread_cond_destroy(&rc->cv);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

static const char *claimed_by(arena *a)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    return arena_printf(a, "%s:%ld", host, (long)getpid());
}

/* Fill rc from a row of (id, pipeline_id, pipeline name, options, tables_total)
 * and start the clock and the heartbeat. */
static void rc_claimed(run_ctx *rc, PGresult *res)
{
    rc->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(rc->id_text, sizeof rc->id_text, "%lld", (long long)rc->id);
    snprintf(rc->pipeline_id, sizeof rc->pipeline_id, "%s", PQgetvalue(res, 0, 1));
    rc->pipeline_name = arena_strdup(rc->a, PQgetvalue(res, 0, 2));
    const char *opts = PQgetvalue(res, 0, 3);
    rc->options = json_loads(opts, 0, NULL);
    if (!json_is_object(rc->options)) {
        json_decref(rc->options);
        rc->options = json_object();
    }
    rc->tables_total = (int)strtol(PQgetvalue(res, 0, 4), NULL, 10);
    clock_gettime(CLOCK_MONOTONIC, &rc->t0);
    heartbeat_start(rc);
}

/* started_at is the claim statement's time, not its transaction's: a claim
 * that waited for another run of the pipeline to finish starts after it.
 * The number of tables a run will sync: its options' "tables", else the
 * pipeline's enabled tables. Over a row r of sluice_runs.runs. */
#define TABLES_TOTAL_SQL                                                                    \
    "CASE WHEN jsonb_typeof(r.options->'tables') = 'array'"                                \
    " AND jsonb_array_length(r.options->'tables') > 0"                                      \
    " THEN jsonb_array_length(r.options->'tables')"                                         \
    " ELSE (SELECT count(*) FROM sluice.pipeline_tables t"                                  \
    " WHERE t.pipeline_id = r.pipeline_id AND t.enabled) END"

#define CLAIM_SQL                                                                           \
    "UPDATE sluice_runs.runs r SET status = 'running', started_at = statement_timestamp()," \
    " heartbeat_at = now(), progress_at = now(), claimed_by = $2,"                          \
    " tables_total = " TABLES_TOTAL_SQL                                                     \
    " FROM sluice.pipelines p WHERE r.id = $1 AND r.status = 'queued'"                      \
    " AND p.id = r.pipeline_id AND p.deleted_at IS NULL"                                    \
    " RETURNING r.id, r.pipeline_id, p.name, r.options::text, r.tables_total"

#define SKIP_DELETED_SQL                                                                    \
    "UPDATE sluice_runs.runs SET status = 'skipped', finished_at = now(),"                  \
    " skip_reason = 'pipeline deleted' WHERE id = $1 AND status = 'queued'"

/* --- queue and claim ---------------------------------------------------------------- */

static int trigger_ok(const char *t)
{
    static const char *const ok[] = {"scheduled", "manual", "full_refresh", "backfill", "retry",
                                     "dependency", "webhook", "landing", "cli", NULL};
    for (int i = 0; t && ok[i]; i++)
        if (strcmp(t, ok[i]) == 0)
            return 1;
    return 0;
}

sl_err run_queue(db *d, const char *pipeline_id, const char *trigger, const json_t *options,
                 const char *requested_by, const char *requested_by_email, int64_t *run_id,
                 sl_errbuf *eb)
{
    if (!pipeline_id || !uuid_valid(pipeline_id))
        return sl_fail(eb, SL_ENOTFOUND, "no such pipeline");
    if (!trigger_ok(trigger))
        return sl_fail(eb, SL_EINVAL, "unknown trigger '%s'", trigger ? trigger : "");
    if (requested_by && !uuid_valid(requested_by))
        requested_by = NULL;
    arena *a = arena_new(0);
    const char *opts = options ? jsonx_dump(a, options) : "{}";
    PGresult *res;
    sl_err e = db_query(d, a, eb, &res,
                        "INSERT INTO sluice_runs.runs (pipeline_id, trigger, options,"
                        " requested_by, requested_by_email)"
                        " SELECT id, $2, $3::jsonb, $4::uuid, $5 FROM sluice.pipelines"
                        " WHERE id = $1::uuid AND deleted_at IS NULL RETURNING id",
                        5,
                        (const char *[]){pipeline_id, trigger, opts, requested_by,
                                         requested_by_email});
    if (!e && PQntuples(res) != 1)
        e = sl_fail(eb, SL_ENOTFOUND, "no such pipeline");
    if (!e) {
        const char *id = PQgetvalue(res, 0, 0);
        if (run_id)
            *run_id = strtoll(id, NULL, 10);
        e = db_exec(d, eb, "SELECT pg_notify('sluice_runs', $1)", 1, (const char *[]){id});
    }
    arena_free(a);
    return e;
}

/* Why run id could not be claimed (the claim updated no row). */
static sl_err claim_refused(run_ctx *rc, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(rc->w, rc->tmp, eb, &res,
                        "SELECT r.status, p.deleted_at IS NOT NULL FROM sluice_runs.runs r"
                        " JOIN sluice.pipelines p ON p.id = r.pipeline_id WHERE r.id = $1",
                        1, (const char *[]){rc->id_text});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no run %s", rc->id_text);
    const char *status = PQgetvalue(res, 0, 0);
    if (strcmp(status, "queued") == 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        db_exec(rc->w, NULL, SKIP_DELETED_SQL, 1, (const char *[]){rc->id_text});
        return sl_fail(eb, SL_ECONFLICT, "run %s skipped: its pipeline was deleted",
                       rc->id_text);
    }
    return sl_fail(eb, SL_ECONFLICT, "run %s is %s, not queued", rc->id_text, status);
}

sl_err run_claim(const char *conninfo, int64_t run_id, run_ctx **out, sl_errbuf *eb)
{
    *out = NULL;
    run_ctx *rc = rc_new(conninfo, eb);
    if (!rc)
        return eb ? eb->code : SL_EDBDOWN;
    snprintf(rc->id_text, sizeof rc->id_text, "%lld", (long long)run_id);
    PGresult *res;
    sl_err e = db_query(rc->w, rc->tmp, eb, &res, CLAIM_SQL, 2,
                        (const char *[]){rc->id_text, claimed_by(rc->tmp)});
    if (e == SL_EDB && strcmp(db_sqlstate(rc->w), "23505") == 0)
        e = sl_fail(eb, SL_ECONFLICT, "the pipeline of run %s is already running",
                    rc->id_text);
    else if (!e && PQntuples(res) != 1)
        e = claim_refused(rc, eb);
    if (e) {
        rc_free(rc);
        return e;
    }
    rc_claimed(rc, res);
    arena_reset(rc->tmp);
    *out = rc;
    return SL_OK;
}

sl_err run_claim_next(const char *conninfo, run_ctx **out, sl_errbuf *eb)
{
    *out = NULL;
    run_ctx *rc = rc_new(conninfo, eb);
    if (!rc)
        return eb ? eb->code : SL_EDBDOWN;
    const char *skip = "{}";     /* runs whose claim lost a race in this call */
    const char *by = claimed_by(rc->a);
    sl_err e = SL_ENOTFOUND;
    for (int attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        arena_reset(rc->tmp);
        char *id = NULL;
        e = db_begin(rc->w, eb);
        if (!e)
            e = db_query_value(rc->w, rc->tmp, eb, &id,
                               "SELECT r.id FROM sluice_runs.runs r WHERE r.status = 'queued'"
                               " AND r.id <> ALL ($1::bigint[]) AND NOT EXISTS (SELECT 1"
                               " FROM sluice_runs.runs x WHERE x.pipeline_id = r.pipeline_id"
                               " AND x.status = 'running')"
                               " ORDER BY r.id FOR UPDATE OF r SKIP LOCKED LIMIT 1",
                               1, (const char *[]){skip});
        if (e) {
            db_rollback(rc->w);
            break;
        }
        PGresult *res;
        e = db_query(rc->w, rc->tmp, eb, &res, CLAIM_SQL, 2, (const char *[]){id, by});
        if (e == SL_EDB && strcmp(db_sqlstate(rc->w), "23505") == 0) {
            /* Another tick claimed a run of the same pipeline meanwhile. */
            db_rollback(rc->w);
            skip = arena_printf(rc->a, "%.*s%s%s}", (int)strlen(skip) - 1, skip,
                                strlen(skip) > 2 ? "," : "", id);
            e = SL_ENOTFOUND;
            continue;
        }
        if (!e && PQntuples(res) != 1) {
            /* Its pipeline was deleted: skip the run and look again. */
            e = db_exec(rc->w, eb, SKIP_DELETED_SQL, 1, (const char *[]){id});
            if (!e)
                e = db_commit(rc->w, eb);
            if (e) {
                db_rollback(rc->w);
                break;
            }
            e = SL_ENOTFOUND;
            continue;
        }
        if (!e)
            e = db_commit(rc->w, eb);
        if (e) {
            db_rollback(rc->w);
            break;
        }
        rc_claimed(rc, res);
        arena_reset(rc->tmp);
        *out = rc;
        return SL_OK;
    }
    rc_free(rc);
    if (e == SL_ENOTFOUND)
        sl_fail(eb, SL_ENOTFOUND, "no queued run to claim");
    return e;
}

sl_err run_start(const char *conninfo, const char *pipeline_id, const char *trigger,
                 const json_t *options, run_ctx **out, sl_errbuf *eb)
{
    *out = NULL;
    if (!pipeline_id || !uuid_valid(pipeline_id))
        return sl_fail(eb, SL_ENOTFOUND, "no such pipeline");
    if (!trigger_ok(trigger))
        return sl_fail(eb, SL_EINVAL, "unknown trigger '%s'", trigger ? trigger : "");
    run_ctx *rc = rc_new(conninfo, eb);
    if (!rc)
        return eb ? eb->code : SL_EDBDOWN;
    const char *opts = options ? jsonx_dump(rc->tmp, options) : "{}";
    PGresult *res;
    /* Inserted as running in one statement: when the pipeline is running
     * already, the unique index refuses it and nothing is left queued. */
    sl_err e = db_query(rc->w, rc->tmp, eb, &res,
                        "WITH ins AS (INSERT INTO sluice_runs.runs AS r (pipeline_id, status,"
                        " trigger, options, started_at, heartbeat_at, progress_at, claimed_by)"
                        " SELECT id, 'running', $2, $3::jsonb, now(), now(), now(), $4"
                        " FROM sluice.pipelines WHERE id = $1::uuid AND deleted_at IS NULL"
                        " RETURNING r.*)"
                        " SELECT ins.id, ins.pipeline_id, p.name, ins.options::text, 0"
                        " FROM ins JOIN sluice.pipelines p ON p.id = ins.pipeline_id",
                        4, (const char *[]){pipeline_id, trigger, opts, claimed_by(rc->tmp)});
    if (e == SL_EDB && strcmp(db_sqlstate(rc->w), "23505") == 0) {
        char *other = NULL;
        db_query_value(rc->w, rc->tmp, NULL, &other,
                       "SELECT id FROM sluice_runs.runs WHERE pipeline_id = $1"
                       " AND status = 'running'", 1, (const char *[]){pipeline_id});
        e = sl_fail(eb, SL_ECONFLICT, "the pipeline is already running (run %s)",
                    other ? other : "?");
    } else if (!e && PQntuples(res) != 1) {
        e = sl_fail(eb, SL_ENOTFOUND, "no such pipeline");
    }
    if (e) {
        rc_free(rc);
        return e;
    }
    rc_claimed(rc, res);
    /* tables_total as a claim computes it. */
    PGresult *t;
    if (db_query(rc->w, rc->tmp, NULL, &t,
                 "UPDATE sluice_runs.runs r SET tables_total = " TABLES_TOTAL_SQL
                 " WHERE r.id = $1 RETURNING r.tables_total",
                 1, (const char *[]){rc->id_text}) == SL_OK && PQntuples(t) == 1)
        rc->tables_total = (int)strtol(PQgetvalue(t, 0, 0), NULL, 10);
    arena_reset(rc->tmp);
    *out = rc;
    return SL_OK;
}

/* --- accessors ---------------------------------------------------------------------- */

int64_t run_id(const run_ctx *rc)
{
    return rc->id;
}

const char *run_pipeline_id(const run_ctx *rc)
{
    return rc->pipeline_id;
}

const json_t *run_options(const run_ctx *rc)
{
    return rc->options;
}

db *run_db(run_ctx *rc)
{
    return rc->cfg;
}

void run_set_hooks(run_ctx *rc, const run_hooks *h)
{
    if (h)
        rc->hooks = *h;
    else
        memset(&rc->hooks, 0, sizeof rc->hooks);
}

void run_request_cancel(run_ctx *rc)
{
    rc->cancel_local = 1;
}

int run_cancel_seen(const run_ctx *rc)
{
    return cancelled(rc);
}

/* --- logs and progress -------------------------------------------------------------- */

void run_log(run_ctx *rc, enum run_level level, const char *table, const char *fmt, ...)
{
    if ((unsigned)level > RUN_ERROR)
        level = RUN_ERROR;
    lock(rc);
    va_list ap;
    va_start(ap, fmt);
    char *raw = arena_vprintf(rc->tmp, fmt, ap);
    va_end(ap);
    char *msg = clean_text(rc->tmp, raw, LOG_MAX);
    const char *tbl = table ? clean_text(rc->tmp, table, 512) : NULL;
    wq(rc, NULL, "a log line",
       "INSERT INTO sluice_runs.run_logs (run_id, level, table_name, message)"
       " VALUES ($1, $2, $3, $4)",
       4, (const char *[]){rc->id_text, level_names[level], tbl, msg});
    if (rc->hooks.log) {
        char *copy = xstrdup(msg), *tcopy = tbl ? xstrdup(tbl) : NULL;
        unlock(rc);
        rc->hooks.log(level, tcopy, copy, rc->hooks.arg);
        free(copy);
        free(tcopy);
        return;
    }
    json_t *fields = json_pack("{s:s}", "run_id", rc->id_text);
    if (tbl)
        json_object_set_new(fields, "table", json_string(tbl));
    static const enum log_level map[] = {LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR};
    sl_log_fields(map[level], fields, "%s", msg);
    unlock(rc);
}

static void progress_info(const run_ctx *rc, run_progress_info *p, int final)
{
    p->rows_done = rc->rows_done;
    p->rows_estimate = rc->estimate;
    p->current_table = rc->table;
    p->tables_done = rc->tables_done;
    p->tables_total = rc->tables_total;
    p->elapsed = (double)ms_since(&rc->t0) / 1000.0;
    p->final = final;
}

/* Write the progress counters and the heartbeat; note a cancel. */
static void write_progress(run_ctx *rc)
{
    lock(rc);
    PGresult *res;
    if (wq(rc, &res, "progress",
           "UPDATE sluice_runs.runs SET rows_done = $2, rows_estimate = $3,"
           " current_table = $4, tables_done = $5, progress_at = now(), heartbeat_at = now()"
           " WHERE id = $1 RETURNING cancel_requested, status",
           5,
           (const char *[]){rc->id_text, num(rc->tmp, rc->rows_done),
                            num_or_null(rc->tmp, rc->estimate),
                            rc->table ? clean_text(rc->tmp, rc->table, 512) : NULL,
                            num(rc->tmp, rc->tables_done)}) == SL_OK)
        note_cancel(rc, res);
    clock_gettime(CLOCK_MONOTONIC, &rc->last_write);
    rc->written = 1;
    unlock(rc);
    if (rc->hooks.progress) {
        run_progress_info p;
        progress_info(rc, &p, 0);
        rc->hooks.progress(&p, rc->hooks.arg);
    }
}

static void set_table(run_ctx *rc, const char *table)
{
    if (!table || (rc->table && strcmp(rc->table, table) == 0))
        return;
    free(rc->table);
    rc->table = xstrdup(table);
}

int run_progress(run_ctx *rc, long long rows_delta, long long estimate, const char *table,
                 int force)
{
    rc->rows_done += rows_delta;
    if (rc->rows_done < 0)
        rc->rows_done = 0;
    if (estimate >= 0)
        rc->estimate = estimate;
    set_table(rc, table);
    if (force || !rc->written || ms_since(&rc->last_write) >= PROGRESS_INTERVAL_MS)
        write_progress(rc);
    return cancelled(rc);
}

/* --- per-table statistics ----------------------------------------------------------- */

static const char *schema_of(const run_table *t)
{
    return t->source_schema ? t->source_schema : "";
}

void run_table_begin(run_ctx *rc, const run_table *t)
{
    if (!t || !t->source_table)
        return;
    lock(rc);
    wq(rc, NULL, "table statistics",
       "INSERT INTO sluice_runs.run_table_stats AS s (run_id, source_schema, source_table,"
       " target_table, mode, watermark_column, watermark_before, status, started_at)"
       " VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', now())"
       " ON CONFLICT (run_id, source_schema, source_table) DO UPDATE SET"
       " target_table = EXCLUDED.target_table, mode = EXCLUDED.mode,"
       " watermark_column = EXCLUDED.watermark_column,"
       " watermark_before = EXCLUDED.watermark_before, status = 'running',"
       " started_at = now(), finished_at = NULL, duration_ms = NULL, error = NULL",
       7,
       (const char *[]){rc->id_text, schema_of(t), t->source_table, t->target_table, t->mode,
                        t->watermark_column, t->watermark_before});
    const char *label = table_label(rc->tmp, t->source_schema, t->source_table);
    set_table(rc, label);
    unlock(rc);
    write_progress(rc);
}

/* The UPDATE of run_table_update / run_table_end; ending adds status,
 * finished_at, duration and error ($12, $13). */
#define TABLE_SET_SQL                                                                       \
    "UPDATE sluice_runs.run_table_stats SET target_table = coalesce($4, target_table),"     \
    " mode = coalesce($5, mode), rows_extracted = $6, rows_loaded_raw = $7,"               \
    " rows_loaded = $8, rows_failed = $9,"                                                  \
    " watermark_column = coalesce($10, watermark_column),"                                  \
    " watermark_before = coalesce($11, watermark_before),"                                  \
    " watermark_after = coalesce($12, watermark_after)"

static void table_write(run_ctx *rc, const run_table *t, const char *status, const char *error)
{
    arena *a = rc->tmp;
    const char *p[] = {rc->id_text, schema_of(t), t->source_table, t->target_table, t->mode,
                       num(a, t->rows_extracted < 0 ? 0 : t->rows_extracted),
                       num(a, t->rows_loaded_raw < 0 ? 0 : t->rows_loaded_raw),
                       num(a, t->rows_loaded < 0 ? 0 : t->rows_loaded),
                       num(a, t->rows_failed < 0 ? 0 : t->rows_failed), t->watermark_column,
                       t->watermark_before, t->watermark_after, status,
                       error ? clean_text(a, error, ERROR_MAX) : NULL};
    if (!status)
        wq(rc, NULL, "table statistics",
           TABLE_SET_SQL " WHERE run_id = $1 AND source_schema = $2 AND source_table = $3", 12,
           p);
    else
        wq(rc, NULL, "table statistics",
           TABLE_SET_SQL ", status = $13, finished_at = now(),"
           " duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint,"
           " error = $14"
           " WHERE run_id = $1 AND source_schema = $2 AND source_table = $3",
           14, p);
}

void run_table_update(run_ctx *rc, const run_table *t)
{
    if (!t || !t->source_table)
        return;
    lock(rc);
    table_write(rc, t, NULL, NULL);
    unlock(rc);
}

void run_table_end(run_ctx *rc, const run_table *t, const char *status, const char *error)
{
    if (!t || !t->source_table)
        return;
    static const char *const ok[] = {"success", "failed", "cancelled", "skipped", NULL};
    const char *st = "failed";
    for (int i = 0; status && ok[i]; i++)
        if (strcmp(status, ok[i]) == 0)
            st = ok[i];
    lock(rc);
    table_write(rc, t, st, error);
    rc->tables_done++;
    unlock(rc);
    write_progress(rc);
}

/* --- quality and events ------------------------------------------------------------- */

void run_quality(run_ctx *rc, const char *table, const char *check_type, const char *status,
                 long long expected, long long actual, const char *const *columns, int ncolumns,
                 const char *message)
{
    if (!table || !check_type || !status)
        return;
    lock(rc);
    const char *cols = NULL;
    if (columns && ncolumns > 0) {
        json_t *arr = json_array();
        for (int i = 0; i < ncolumns; i++)
            if (columns[i])
                json_array_append_new(arr, json_string(clean_text(rc->tmp, columns[i], 512)));
        cols = jsonx_dump(rc->tmp, arr);
        json_decref(arr);
    }
    const char *pct = NULL;
    if (expected > 0 && actual >= 0) {
        long long diff = actual > expected ? actual - expected : expected - actual;
        pct = arena_printf(rc->tmp, "%.6f", 100.0 * (double)diff / (double)expected);
    } else if (expected == 0 && actual == 0) {
        pct = "0";
    }
    wq(rc, NULL, "a quality check",
       "INSERT INTO sluice_runs.quality_log (run_id, pipeline_id, table_name, check_type,"
       " status, expected, actual, discrepancy_pct, columns, message)"
       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
       " CASE WHEN $9::jsonb IS NULL THEN NULL"
       " ELSE ARRAY(SELECT jsonb_array_elements_text($9::jsonb)) END, $10)",
       10,
       (const char *[]){rc->id_text, rc->pipeline_id, clean_text(rc->tmp, table, 512),
                        check_type, status, num_or_null(rc->tmp, expected),
                        num_or_null(rc->tmp, actual), pct, cols,
                        message ? clean_text(rc->tmp, message, LOG_MAX) : NULL});
    unlock(rc);
}

void run_event(run_ctx *rc, const char *type, const json_t *data)
{
    if (!type)
        return;
    lock(rc);
    json_t *d = json_is_object(data) ? json_deep_copy(data) : json_object();
    if (!json_object_get(d, "run_id"))
        json_object_set_new(d, "run_id", json_string(rc->id_text));
    if (!json_object_get(d, "pipeline_id"))
        json_object_set_new(d, "pipeline_id", json_string(rc->pipeline_id));
    if (!json_object_get(d, "pipeline_name"))
        json_object_set_new(d, "pipeline_name", json_string(rc->pipeline_name));
    const char *text = jsonx_dump(rc->tmp, d);
    json_decref(d);
    /* With its notifications (the outbox), in the same statement. */
    wq(rc, NULL, "an event",
       "WITH e AS (INSERT INTO sluice_events.events (stream, type, data, metadata,"
       " correlation_id) VALUES ('pipeline:' || $1, $2, $3::jsonb,"
       " jsonb_build_object('run_id', $4::text), $4) RETURNING id, stream, type, data)"
       " SELECT sluice_events.enqueue_event(id, stream, type, data) FROM e",
       4, (const char *[]){rc->pipeline_id, type, text, rc->id_text});
    unlock(rc);
}

/* --- finishing ---------------------------------------------------------------------- */

static const char *finished_status(const char *s)
{
    static const char *const ok[] = {"success", "failed", "cancelled", "skipped", NULL};
    for (int i = 0; s && ok[i]; i++)
        if (strcmp(s, ok[i]) == 0)
            return ok[i];
    return NULL;
}

static const char *event_type(const char *status)
{
    if (strcmp(status, "success") == 0)
        return "run.succeeded";
    if (strcmp(status, "cancelled") == 0)
        return "run.cancelled";
    if (strcmp(status, "skipped") == 0)
        return "run.skipped";
    return "run.failed";
}

/* Inside a transaction on d: finish run id, which must be in status
 * `from`, as status with error: its unfinished table rows, the run row
 * (totals summed from run_table_stats, rows_done at least rows_done
 * unless negative, tables_done unless negative) and its events.
 * SL_ECONFLICT when the run is not in status `from`. */
static sl_err finish_tx(db *d, arena *a, const char *id, const char *from, const char *status,
                        const char *error, long long rows_done, int tables_done, sl_errbuf *eb)
{
    const char *err = error ? clean_text(a, error, ERROR_MAX) : NULL;
    sl_err e = db_exec(d, eb,
                       "UPDATE sluice_runs.run_table_stats SET status = CASE $2"
                       " WHEN 'success' THEN 'success' WHEN 'cancelled' THEN 'cancelled'"
                       " WHEN 'skipped' THEN 'skipped' ELSE 'failed' END, finished_at = now(),"
                       " duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint,"
                       " error = coalesce(error, CASE WHEN $2 = 'failed' THEN $3 END)"
                       " WHERE run_id = $1 AND status = 'running'",
                       3, (const char *[]){id, status, err});
    if (e)
        return e;
    PGresult *res;
    e = db_query(d, a, eb, &res,
                 "UPDATE sluice_runs.runs r SET status = $2, error = $3, finished_at = now(),"
                 " heartbeat_at = CASE WHEN r.status = 'running' THEN now()"
                 " ELSE r.heartbeat_at END,"
                 " progress_at = now(), current_table = NULL,"
                 " rows_done = greatest(r.rows_done, coalesce($5::bigint, 0)),"
                 " tables_done = coalesce($6::int, r.tables_done),"
                 " rows_extracted = s.ex, rows_loaded = s.lo, dead_letters = s.fa,"
                 " quality_failures = (SELECT count(*) FROM sluice_runs.quality_log q"
                 " WHERE q.run_id = r.id AND q.status = 'failed')"
                 " FROM (SELECT coalesce(sum(rows_extracted), 0) AS ex,"
                 " coalesce(sum(rows_loaded), 0) AS lo, coalesce(sum(rows_failed), 0) AS fa"
                 " FROM sluice_runs.run_table_stats WHERE run_id = $1) s, sluice.pipelines p"
                 " WHERE r.id = $1 AND r.status = $4 AND p.id = r.pipeline_id"
                 " RETURNING r.pipeline_id, p.name, r.rows_loaded, r.dead_letters,"
                 " r.quality_failures,"
                 " (extract(epoch FROM r.finished_at - r.started_at) * 1000)::bigint",
                 6,
                 (const char *[]){id, status, err, from, num_or_null(a, rows_done),
                                  tables_done < 0 ? NULL : num(a, tables_done)});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return sl_fail(eb, SL_ECONFLICT, "run %s is not %s any more", id, from);
    const char *pid = PQgetvalue(res, 0, 0);
    long long rows = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    long long dead = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    long long qfail = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:I}", "run_id", id,
                             "pipeline_id", pid, "pipeline_name", PQgetvalue(res, 0, 1),
                             "status", status, "rows", (json_int_t)rows, "duration_ms",
                             PQgetisnull(res, 0, 5)
                                 ? json_null()
                                 : json_integer(strtoll(PQgetvalue(res, 0, 5), NULL, 10)),
                             "error", err ? json_string(err) : json_null(), "dead_letters",
                             (json_int_t)dead);
    const char *text = jsonx_dump(a, data);
    json_decref(data);
/* Each event enqueues its notifications (the outbox, sql/009_outbox.sql) in
 * the statement that appends it, so both commit with the run's outcome. */
#define EVENT_SQL                                                                           \
    "WITH e AS (INSERT INTO sluice_events.events (stream, type, data, metadata,"           \
    " correlation_id) VALUES ('pipeline:' || $1, $2, $3::jsonb,"                            \
    " jsonb_build_object('run_id', $4::text), $4) RETURNING id, stream, type, data)"       \
    " SELECT sluice_events.enqueue_event(id, stream, type, data) FROM e"
    e = db_exec(d, eb, EVENT_SQL, 4, (const char *[]){pid, event_type(status), text, id});
    if (!e && dead > 0)
        e = db_exec(d, eb, EVENT_SQL, 4, (const char *[]){pid, "dead_letters.created", text, id});
    if (!e && qfail > 0)
        e = db_exec(d, eb,
                    "WITH e AS (INSERT INTO sluice_events.events (stream, type, data,"
                    " metadata, correlation_id) SELECT 'pipeline:' || $1, 'quality.failed',"
                    " $3::jsonb || jsonb_build_object('quality_failures', count(*), 'checks',"
                    " jsonb_agg(jsonb_build_object('table', table_name, 'check', check_type,"
                    " 'message', message) ORDER BY id)),"
                    " jsonb_build_object('run_id', $2::text), $2"
                    " FROM sluice_runs.quality_log"
                    " WHERE run_id = $2::bigint AND status = 'failed'"
                    " RETURNING id, stream, type, data)"
                    " SELECT sluice_events.enqueue_event(id, stream, type, data) FROM e",
                    3, (const char *[]){pid, id, text});
#undef EVENT_SQL
    return e;
}

sl_err run_finish(run_ctx *rc, const char *status, const char *error, sl_errbuf *eb)
{
    heartbeat_stop(rc);
    const char *st = finished_status(status);
    if (!st) {
        log_error("run %s: run_finish with unknown status '%s'; recorded as failed",
                  rc->id_text, status ? status : "(null)");
        st = "failed";
        if (!error)
            error = "internal error: the run ended with an unknown status";
    }
    sl_err e = SL_OK;
    lock(rc);
    db_rollback(rc->w);
    e = db_begin(rc->w, eb);
    if (!e)
        e = finish_tx(rc->w, rc->tmp, rc->id_text, "running", st, error, rc->rows_done,
                      rc->tables_done, eb);
    if (!e)
        e = db_commit(rc->w, eb);
    if (e)
        db_rollback(rc->w);
    unlock(rc);
    if (e)
        log_error("run %s: could not record its end (%s): %s", rc->id_text, st,
                  eb ? eb->msg : sl_strerror(e));
    if (rc->hooks.progress) {
        run_progress_info p;
        progress_info(rc, &p, 1);
        rc->hooks.progress(&p, rc->hooks.arg);
    }
    rc_free(rc);
    return e;
}

/* --- housekeeping and cancels ------------------------------------------------------- */

sl_err run_reap_stale(db *d, int stale_seconds, int *failed, int *skipped, sl_errbuf *eb)
{
    return run_reap_stale_at(d, stale_seconds, NULL, failed, skipped, eb);
}

sl_err run_reap_stale_at(db *d, int stale_seconds, const char *now, int *failed, int *skipped,
                         sl_errbuf *eb)
{
    if (failed)
        *failed = 0;
    if (skipped)
        *skipped = 0;
    arena *a = arena_new(0);
    PGresult *res;
    db_rollback(d);
    sl_err e = db_begin(d, eb);
    if (!e)
        e = db_query(d, a, eb, &res,
                     "SELECT id, coalesce(claimed_by, 'unknown'),"
                     " extract(epoch FROM coalesce($2::timestamptz, now())"
                     " - coalesce(heartbeat_at, started_at))::bigint"
                     " FROM sluice_runs.runs WHERE status = 'running'"
                     " AND coalesce(heartbeat_at, started_at, queued_at)"
                     " < coalesce($2::timestamptz, now()) - make_interval(secs => $1::int)"
                     " ORDER BY id FOR UPDATE SKIP LOCKED",
                     2, (const char *[]){num(a, stale_seconds), now});
    for (int i = 0; !e && i < PQntuples(res); i++) {
        const char *msg = arena_printf(a,
                                       "heartbeat lost: the process running it (%s) stopped "
                                       "reporting %s seconds ago",
                                       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
        e = finish_tx(d, a, PQgetvalue(res, i, 0), "running", "failed", msg, -1, -1, eb);
        if (!e)
            e = db_exec(d, eb,
                        "INSERT INTO sluice_runs.run_logs (run_id, level, message)"
                        " VALUES ($1, 'error', $2)",
                        2, (const char *[]){PQgetvalue(res, i, 0), msg});
        if (!e && failed)
            (*failed)++;
    }
    if (!e) {
        e = db_exec(d, eb,
                    "UPDATE sluice_runs.runs r SET status = 'skipped', finished_at = now(),"
                    " skip_reason = 'pipeline deleted' FROM sluice.pipelines p"
                    " WHERE p.id = r.pipeline_id AND r.status = 'queued'"
                    " AND p.deleted_at IS NOT NULL",
                    0, NULL);
        if (!e && skipped)
            *skipped = (int)db_changes(d);
    }
    if (!e)
        e = db_commit(d, eb);
    if (e) {
        db_rollback(d);
        if (failed)
            *failed = 0;
        if (skipped)
            *skipped = 0;
    }
    arena_free(a);
    return e;
}

sl_err run_cancel(db *d, int64_t id, const char **status, sl_errbuf *eb)
{
    static const char *const known[] = {"queued", "running", "success", "failed", "cancelled",
                                        "skipped", NULL};
    arena *a = arena_new(0);
    const char *id_text = num(a, id);
    char *cur = NULL;
    db_rollback(d);
    sl_err e = db_begin(d, eb);
    if (!e)
        e = db_query_value(d, a, eb, &cur,
                           "SELECT status FROM sluice_runs.runs WHERE id = $1 FOR UPDATE", 1,
                           (const char *[]){id_text});
    if (e == SL_ENOTFOUND)
        sl_fail(eb, SL_ENOTFOUND, "no run %s", id_text);
    const char *now = cur;
    if (!e && strcmp(cur, "queued") == 0) {
        e = finish_tx(d, a, id_text, "queued", "cancelled", "cancelled before it started", -1,
                      -1, eb);
        now = "cancelled";
    } else if (!e && strcmp(cur, "running") == 0) {
        e = db_exec(d, eb, "UPDATE sluice_runs.runs SET cancel_requested = true WHERE id = $1",
                    1, (const char *[]){id_text});
    }
    if (!e)
        e = db_commit(d, eb);
    if (e)
        db_rollback(d);
    if (status) {
        *status = NULL;
        for (int i = 0; !e && known[i]; i++)
            if (strcmp(now, known[i]) == 0)
                *status = known[i];
    }
    arena_free(a);
    return e;
}
