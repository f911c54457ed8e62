/* outbox.c - the notification outbox's deliverer: claim a batch of visible
 * messages, render each for its target, send them a few at a time on
 * worker threads, and record every result as it arrives (see outbox.h for
 * the rules).
 *
 * Threads: the calling thread owns the database connection, claims,
 * renders and records; the worker threads only send (notify_send_on, each
 * with its own kept connections), each on a job whose arena nobody else
 * touches until the job comes back. A
 * job's whole life: claimed -> (target looked up, rendered) -> sent by a
 * worker -> judged -> recorded -> freed. Entry point: outbox_run(). */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonx.h"
#include "log.h"
#include "outbox.h"
#include "settings.h"
#include "sync/notify.h"

#define RECORD_MAX 64         /* results recorded by one statement at most */
#define ERROR_MAX 1000        /* UTF-16 units of an error text kept */
#define EXPIRE_LIMIT 1000     /* exhausted lost claims dead-lettered per batch */
#define DRAIN_POLL 1.0        /* seconds between looks at the queue while draining */

/* --- settings and rules ----------------------------------------------------------- */

void outbox_settings_load(db *d, outbox_settings *s)
{
    arena *a = arena_new(0);
    json_t *o = NULL;
    sl_errbuf eb = {0};
    sl_err e = settings_get(d, a, "notifications", &o, &eb);
    if (e && e != SL_ENOTFOUND)
        log_warn("notify: could not read the settings (using defaults): %s", eb.msg);
    s->max_attempts = (int)settings_obj_int(o, "max_attempts", 8, 1, 100);
    s->base_backoff_seconds = (int)settings_obj_int(o, "base_backoff_seconds", 10, 1, 86400);
    s->max_backoff_seconds = (int)settings_obj_int(o, "max_backoff_seconds", 21600, 1, 604800);
    s->visibility_timeout_seconds =
        (int)settings_obj_int(o, "visibility_timeout_seconds", 300, 10, 86400);
    s->batch_size = (int)settings_obj_int(o, "batch_size", 100, 1, 1000);
    s->concurrency = (int)settings_obj_int(o, "concurrency", 8, 1, 64);
    s->timeout_seconds = (int)settings_obj_int(o, "timeout_seconds", NOTIFY_TIMEOUT_DEFAULT, 1,
                                               NOTIFY_TIMEOUT_MAX);
    arena_free(a);
}

int outbox_visibility(const outbox_settings *s, int batch)
{
    int conc = s->concurrency > 0 ? s->concurrency : 1;
    long rounds = ((long)batch + conc - 1) / conc + 1; /* + the jobs still queued before it */
    long need = rounds * (s->timeout_seconds + 1) + 5;
    return need > s->visibility_timeout_seconds ? (int)need : s->visibility_timeout_seconds;
}

double outbox_backoff(int base, int max, int attempt, double jitter, long retry_after)
{
    if (base < 1)
        base = 1;
    if (max < base)
        max = base;
    if (attempt < 1)
        attempt = 1;
    double d = (double)base * pow(2.0, attempt > 60 ? 60 : attempt - 1);
    if (d > max)
        d = max;
    if (!(jitter >= -OUTBOX_JITTER))
        jitter = -OUTBOX_JITTER;
    if (jitter > OUTBOX_JITTER)
        jitter = OUTBOX_JITTER;
    d *= 1.0 + jitter;
    if (retry_after > OUTBOX_RETRY_AFTER_MAX)
        retry_after = OUTBOX_RETRY_AFTER_MAX;
    if (retry_after >= 0 && d < (double)retry_after)
        d = (double)retry_after;
    return d;
}

enum outbox_verdict outbox_classify(sl_err send_err, int status)
{
    if (send_err == SL_EFORBIDDEN)
        return OUTBOX_DEAD; /* the SSRF guard: the address will not become allowed by waiting */
    if (send_err != SL_OK)
        return OUTBOX_RETRY;
    if (status >= 200 && status <= 299)
        return OUTBOX_DELIVERED;
    if (status == 410)
        return OUTBOX_GONE;
    if (status >= 400 && status <= 499 && status != 408 && status != 429)
        return OUTBOX_DEAD;
    return OUTBOX_RETRY; /* 408, 429, 5xx, 3xx and anything odd */
}

const char *outbox_verdict_name(enum outbox_verdict v)
{
    switch (v) {
    case OUTBOX_DELIVERED:
        return "delivered";
    case OUTBOX_RETRY:
        return "retry";
    case OUTBOX_DEAD:
        return "dead";
    case OUTBOX_GONE:
        return "gone";
    }
    return "dead";
}

static pthread_once_t owner_once = PTHREAD_ONCE_INIT;
static char owner_name[128];

static void owner_init(void)
{
    char host[64];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    if (sodium_init() < 0)
        sl_panic("sodium_init failed");
    snprintf(owner_name, sizeof owner_name, "%s:%ld:%08x", host, (long)getpid(),
             (unsigned)randombytes_random());
}

const char *outbox_owner(void)
{
    pthread_once(&owner_once, owner_init);
    return owner_name;
}

/* --- jobs and the worker pool ------------------------------------------------------ */

/* A claimed batch: the claim's rows, its targets (opened), and how many
 * of its jobs are not recorded yet; freed with the last of them. */
typedef struct {
    arena *a;
    int left;
} batch;

typedef struct job {
    struct job *next;
    arena *a;                  /* everything of this job */
    batch *b;                  /* the batch it came in (its rendering may point into it) */
    const char *id, *target_id;
    int attempt, max_attempts;
    notify_request req;
    const char *problem;       /* set: not sent, dead at once for this reason */
    sl_err send_err;
    notify_result res;
    double at;                 /* when the attempt started, epoch seconds */
    /* the judgement */
    const char *outcome;       /* delivered | retry | dead */
    const char *error;         /* this attempt's error, or NULL */
    const char *reason;        /* the message's last_error, or NULL */
    const char *disable;       /* disable the target with this reason, or NULL */
    double delay;              /* retry: seconds until visible */
} job;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job *todo, *todo_tail, *finished;
    int quit;
    const notify_env *env;
    pthread_t *threads;
    int nthreads;
} pool;

static double epoch_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
    pool *p = arg;
    notify_conn *conn = notify_conn_new(); /* this thread's kept connections */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->todo && !p->quit)
            pthread_cond_wait(&p->work, &p->mu);
        job *j = p->todo;
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            notify_conn_free(conn);
            return NULL;
        }
        p->todo = j->next;
        if (!p->todo)
            p->todo_tail = NULL;
        pthread_mutex_unlock(&p->mu);

        sl_errbuf eb = {0};
        j->at = epoch_now();
        j->send_err = notify_send_on(conn, j->a, p->env, &j->req, &j->res, &eb);
        if (j->send_err && !j->res.error)
            j->res.error = arena_strdup(j->a, eb.msg[0] ? eb.msg : sl_strerror(j->send_err));

        pthread_mutex_lock(&p->mu);
        j->next = p->finished;
        p->finished = j;
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void pool_start(pool *p, const notify_env *env, int n)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->env = env;
    p->threads = xcalloc((size_t)n, sizeof *p->threads);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            sl_panic("notify: cannot start a delivery thread");
        p->nthreads++;
    }
}

static void pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}

static void pool_submit(pool *p, job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->todo_tail)
        p->todo_tail->next = j;
    else
        p->todo = j;
    p->todo_tail = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* Wait for at least one finished job; returns them all (a list). */
static job *pool_collect(pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->finished)
        pthread_cond_wait(&p->done, &p->mu);
    job *list = p->finished;
    p->finished = NULL;
    pthread_mutex_unlock(&p->mu);
    return list;
}

/* --- one delivery run ------------------------------------------------------------- */

typedef struct {
    db *d;
    const outbox_opts *o;
    outbox_settings set;
    notify_env env;
    arena *env_a;
    outbox_counts *n;
    pool pool;
    int started;               /* the pool's threads run (from the first message on) */
    int batch;
    int visibility;
} ctx;

/* A cached target of one batch. */
typedef struct {
    const char *id;
    const char *type;
    json_t *config;            /* opened; NULL when problem is set */
    const char *problem;
} target;

static const char *clip(arena *a, const char *s)
{
    return s ? notify_clip(a, s, ERROR_MAX) : NULL;
}

/* Decide what j's result means and fill outcome, error, reason, disable,
 * delay. */
static void judge(ctx *c, job *j)
{
    arena *a = j->a;
    if (j->problem) {
        j->outcome = "dead";
        j->error = clip(a, j->problem);
        j->reason = j->error;
        return;
    }
    enum outbox_verdict v = outbox_classify(j->send_err, j->res.status);
    const char *err = NULL;
    if (j->send_err)
        err = j->res.error ? j->res.error : sl_strerror(j->send_err);
    else if (v != OUTBOX_DELIVERED)
        err = j->res.status >= 300 && j->res.status <= 399
                  ? arena_printf(a, "HTTP %d (redirects are not followed)", j->res.status)
                  : arena_printf(a, "HTTP %d", j->res.status);
    j->error = clip(a, err);
    switch (v) {
    case OUTBOX_DELIVERED:
        j->outcome = "delivered";
        break;
    case OUTBOX_GONE:
        j->outcome = "dead";
        j->reason = "HTTP 410 Gone: the receiver asked to stop; the target is disabled";
        j->disable = arena_printf(a, "the receiver answered 410 Gone to message %s", j->id);
        break;
    case OUTBOX_DEAD:
        j->outcome = "dead";
        j->reason = arena_printf(a, "%s (permanent: not retried)", j->error);
        break;
    case OUTBOX_RETRY:
        if (j->attempt >= j->max_attempts) {
            j->outcome = "dead";
            j->reason = arena_printf(a, "gave up after %d attempt%s; the last: %s", j->attempt,
                                     j->attempt == 1 ? "" : "s", j->error);
        } else {
            double u = ((double)randombytes_uniform(2000001) / 1000000.0 - 1.0) * OUTBOX_JITTER;
            j->outcome = "retry";
            j->reason = j->error;
            j->delay = outbox_backoff(c->set.base_backoff_seconds, c->set.max_backoff_seconds,
                                      j->attempt, u, j->res.retry_after_seconds);
        }
        break;
    }
}

#define RECORD_SQL                                                                          \
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, target_id uuid," \
    " attempt int, at float8, code int, ms int, error text, excerpt text, outcome text,"   \
    " delay float8, reason text, disable text)),"                                           \
    " a AS (INSERT INTO sluice_events.delivery_attempts (message_id, target_id, attempt, at," \
    " status_code, latency_ms, error, response_excerpt, outcome)"                           \
    " SELECT id, target_id, attempt, to_timestamp(at), code, ms, error, excerpt, outcome"   \
    " FROM r),"                                                                             \
    " m AS (UPDATE sluice_events.messages m SET"                                            \
    " status = CASE r.outcome WHEN 'retry' THEN 'queued' ELSE r.outcome END,"               \
    " delivered_at = CASE WHEN r.outcome = 'delivered' THEN now() END,"                     \
    " dead_at = CASE WHEN r.outcome = 'dead' THEN now() END,"                               \
    " visible_at = CASE WHEN r.outcome = 'retry'"                                           \
    " THEN now() + make_interval(secs => r.delay) ELSE now() END,"                         \
    " locked_by = NULL, last_status = r.code, last_error = r.reason"                        \
    " FROM r WHERE m.id = r.id AND m.status = 'queued'"                                     \
    " AND (m.locked_by = $2 OR r.outcome = 'delivered')),"                                  \
    " t AS (UPDATE sluice.notification_targets t SET active = false,"                      \
    " disabled_reason = r.disable, updated_at = now()"                                      \
    " FROM r WHERE r.disable IS NOT NULL AND t.id = r.target_id AND t.active"              \
    " RETURNING t.id, t.name, r.disable, r.id AS message_id)"                               \
    " INSERT INTO sluice.audit_log (action, object_type, object_id, details)"               \
    " SELECT 'notification_target.disable', 'notification_target', id::text,"               \
    " jsonb_build_object('name', name, 'reason', disable, 'message_id', message_id::text,"  \
    " 'by', 'sluice notify') FROM t"

/* Record the judged jobs of list (at most RECORD_MAX) in one statement. */
static sl_err record_some(ctx *c, job *list, int count, sl_errbuf *eb)
{
    json_t *arr = json_array();
    for (job *j = list; j && count-- > 0; j = j->next) {
        int sent = !j->problem;
        json_t *o = json_pack("{s:s, s:s, s:i, s:f}", "id", j->id, "target_id", j->target_id,
                              "attempt", j->attempt, "at", j->at);
        json_object_set_new(o, "code", sent && j->res.status > 0
                                            ? json_integer(j->res.status)
                                            : json_null());
        json_object_set_new(o, "ms", sent ? json_integer(j->res.latency_ms) : json_null());
        json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
        json_object_set_new(o, "excerpt", sent && j->res.body_excerpt && *j->res.body_excerpt
                                              ? json_string(j->res.body_excerpt)
                                              : json_null());
        json_object_set_new(o, "outcome", json_string(j->outcome));
        json_object_set_new(o, "delay", json_real(j->delay));
        json_object_set_new(o, "reason", j->reason ? json_string(j->reason) : json_null());
        json_object_set_new(o, "disable", j->disable ? json_string(j->disable) : json_null());
        json_array_append_new(arr, o);
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!text)
        return sl_fail(eb, SL_EINTERNAL, "notify: could not encode results");
    db_rollback(c->d);
    sl_err e = db_exec(c->d, eb, RECORD_SQL, 2, (const char *[]){text, outbox_owner()});
    free(text);
    return e;
}

/* Judge, count, log and record every job of list, then free them. */
static sl_err record(ctx *c, job *list, sl_errbuf *eb)
{
    sl_err e = SL_OK;
    for (job *j = list; j; j = j->next) {
        judge(c, j);
        if (strcmp(j->outcome, "delivered") == 0) {
            c->n->delivered++;
            log_debug("notify: message %s delivered to target %s (HTTP %d, %ld ms)", j->id,
                      j->target_id, j->res.status, j->res.latency_ms);
        } else if (strcmp(j->outcome, "retry") == 0) {
            c->n->retried++;
            log_debug("notify: message %s to target %s: attempt %d failed (%s); next in %.0f s",
                     j->id, j->target_id, j->attempt, j->error, j->delay);
        } else {
            c->n->dead++;
            log_warn("notify: message %s to target %s is dead-lettered: %s", j->id,
                     j->target_id, j->reason);
        }
        if (j->disable) {
            c->n->disabled++;
            log_warn("notify: target %s disabled: %s", j->target_id, j->disable);
        }
    }
    job *j = list;
    while (j && !e) {
        e = record_some(c, j, RECORD_MAX, eb);
        for (int i = 0; i < RECORD_MAX && j; i++)
            j = j->next;
    }
    while (list) {
        job *next = list->next;
        batch *b = list->b;
        arena_free(list->a);
        if (b && --b->left == 0) {
            arena_free(b->a);
            free(b);
        }
        list = next;
    }
    return e;
}

/* Claims whose deliverer stopped during the last allowed attempt: dead,
 * with the lost attempt recorded. */
static sl_err expire_exhausted(ctx *c, sl_errbuf *eb)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", EXPIRE_LIMIT);
    db_rollback(c->d);
    sl_err e = db_exec(
        c->d, eb,
        "WITH d AS (UPDATE sluice_events.messages m SET status = 'dead', dead_at = now(),"
        " locked_by = NULL, last_status = NULL,"
        " last_error = 'gave up after ' || m.attempts || ' attempts; the last: no result"
        " recorded (the process delivering it, ' || coalesce(o.prev, 'unknown')"
        " || ', stopped)'"
        " FROM (SELECT id, locked_by AS prev FROM sluice_events.messages"
        " WHERE status = 'queued' AND visible_at <= now() AND attempts >= max_attempts"
        " ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED) o"
        " WHERE m.id = o.id RETURNING m.id, m.target_id, m.attempts, o.prev)"
        " INSERT INTO sluice_events.delivery_attempts (message_id, target_id, attempt, error,"
        " outcome) SELECT id, target_id, attempts, 'no result recorded: the process"
        " delivering it (' || coalesce(prev, 'unknown') || ') stopped', 'lost' FROM d",
        1, (const char *[]){lim});
    if (!e) {
        long k = (long)db_changes(c->d);
        c->n->expired += k;
        c->n->dead += k;
        if (k)
            log_warn("notify: %ld message(s) dead-lettered: their deliverer stopped during "
                     "the last attempt",
                     k);
    }
    return e;
}

enum { K_ID, K_TARGET, K_EVENT, K_PAYLOAD, K_ATTEMPTS, K_MAX, K_PREV, K_TYPE, K_CONFIG,
       K_SECRET, K_ACTIVE, K_DISABLED };

/* Claim up to c->batch visible messages (their targets joined). The
 * attempts of claims that expired are recorded as lost here. */
static sl_err claim(ctx *c, arena *a, PGresult **res, sl_errbuf *eb)
{
    char vis[16], lim[16];
    snprintf(vis, sizeof vis, "%d", c->visibility);
    snprintf(lim, sizeof lim, "%d", c->batch);
    db_rollback(c->d);
    return db_query(
        c->d, a, eb, res,
        "WITH c AS (UPDATE sluice_events.messages m SET attempts = m.attempts + 1,"
        " locked_by = $1, visible_at = now() + make_interval(secs => $2::int)"
        " FROM (SELECT id, locked_by AS prev FROM sluice_events.messages"
        " WHERE status = 'queued' AND visible_at <= now() AND attempts < max_attempts"
        " ORDER BY id LIMIT $3::int FOR UPDATE SKIP LOCKED) o"
        " WHERE m.id = o.id RETURNING m.id, m.target_id, m.event_type, m.payload, m.attempts,"
        " m.max_attempts, o.prev),"
        " lost AS (INSERT INTO sluice_events.delivery_attempts (message_id, target_id,"
        " attempt, error, outcome) SELECT id, target_id, attempts - 1,"
        " 'no result recorded: the process delivering it (' || prev || ') stopped', 'lost'"
        " FROM c WHERE prev IS NOT NULL)"
        " SELECT c.id::text, c.target_id::text, c.event_type, c.payload::text, c.attempts,"
        " c.max_attempts, c.prev, t.type, t.config::text, t.secret_enc, t.active,"
        " t.disabled_reason"
        " FROM c LEFT JOIN sluice.notification_targets t ON t.id = c.target_id"
        " ORDER BY c.id",
        3, (const char *[]){outbox_owner(), vis, lim});
}

/* The target of row i, looked up in (or added to) the batch's cache. */
static target *target_of(arena *a, PGresult *res, int i, target *cache, int *ncache)
{
    const char *id = PQgetvalue(res, i, K_TARGET);
    for (int k = 0; k < *ncache; k++)
        if (strcmp(cache[k].id, id) == 0)
            return &cache[k];
    target *t = &cache[(*ncache)++];
    memset(t, 0, sizeof *t);
    t->id = id;
    if (PQgetisnull(res, i, K_TYPE)) {
        t->problem = "the target was deleted";
        return t;
    }
    t->type = PQgetvalue(res, i, K_TYPE);
    if (strcmp(PQgetvalue(res, i, K_ACTIVE), "t") != 0) {
        t->problem = PQgetisnull(res, i, K_DISABLED)
                         ? "the target is inactive"
                         : arena_printf(a, "the target is disabled: %s",
                                        PQgetvalue(res, i, K_DISABLED));
        return t;
    }
    sl_errbuf eb = {0};
    if (notify_target_open(a, PQgetvalue(res, i, K_CONFIG), PQgetvalue(res, i, K_SECRET),
                           &t->config, &eb) != SL_OK) {
        t->problem = arena_printf(a, "the target's settings cannot be opened: %s", eb.msg);
        t->config = NULL;
    }
    return t;
}

/* Make the job of row i: rendered and ready to send, or with a problem. */
static job *make_job(ctx *c, PGresult *res, int i, target *t)
{
    arena *a = arena_new(0);
    job *j = arena_calloc(a, 1, sizeof *j);
    j->a = a;
    j->id = arena_strdup(a, PQgetvalue(res, i, K_ID));
    j->target_id = arena_strdup(a, PQgetvalue(res, i, K_TARGET));
    j->attempt = (int)strtol(PQgetvalue(res, i, K_ATTEMPTS), NULL, 10);
    j->max_attempts = (int)strtol(PQgetvalue(res, i, K_MAX), NULL, 10);
    j->at = epoch_now();
    if (t->problem) {
        j->problem = arena_strdup(a, t->problem);
        return j;
    }
    sl_errbuf eb = {0};
    const char *text = PQgetvalue(res, i, K_PAYLOAD);
    json_t *data = jsonx_parse(a, &eb, text, strlen(text));
    if (!data) {
        j->problem = arena_printf(a, "the event's data is not JSON: %s", eb.msg);
        return j;
    }
    if (notify_render(a, &c->env, t->type, t->config, PQgetvalue(res, i, K_EVENT), data, j->id,
                      (long long)time(NULL), &j->req, &eb) != SL_OK)
        j->problem = arena_printf(a, "cannot render the message: %s", eb.msg);
    return j;
}

/* Claim a batch and hand its jobs to the threads; jobs that cannot be
 * sent (a problem) are recorded at once. *claimed gets the number
 * claimed, *sent the number now with the threads. */
static sl_err claim_batch(ctx *c, int *claimed, int *sent, sl_errbuf *eb)
{
    *claimed = *sent = 0;
    sl_err e = expire_exhausted(c, eb);
    if (e)
        return e;
    batch *b = xcalloc(1, sizeof *b);
    b->a = arena_new(0);
    PGresult *res = NULL;
    e = claim(c, b->a, &res, eb);
    int n = e ? 0 : PQntuples(res);
    if (n == 0) {
        arena_free(b->a);
        free(b);
        return e;
    }
    *claimed = n;
    b->left = n;
    c->n->claimed += n;
    target *cache = arena_calloc(b->a, (size_t)n, sizeof *cache);
    int ncache = 0;
    job *failed = NULL;
    for (int i = 0; i < n; i++) {
        if (!PQgetisnull(res, i, K_PREV)) {
            c->n->expired++;
            log_warn("notify: message %s: taking over the claim of %s, which stopped",
                     PQgetvalue(res, i, K_ID), PQgetvalue(res, i, K_PREV));
        }
        job *j = make_job(c, res, i, target_of(b->a, res, i, cache, &ncache));
        j->b = b;
        if (j->problem) {
            j->next = failed;
            failed = j;
            continue;
        }
        if (!c->started) {
            pool_start(&c->pool, &c->env, c->set.concurrency);
            c->started = 1;
        }
        pool_submit(&c->pool, j);
        (*sent)++;
    }
    return failed ? record(c, failed, eb) : SL_OK;
}

/* 1 when no more batches may be claimed (a stop, the time or batch limit). */
static int limited(ctx *c, int batches, double t0)
{
    return (c->o->stop && c->o->stop()) ||
           (c->o->max_seconds > 0 && mono_now() - t0 >= c->o->max_seconds) ||
           (c->o->max_batches > 0 && batches >= c->o->max_batches);
}

/* Seconds until the next queued message is visible; -1 when none is
 * queued (or the database did not say). */
static double next_visible(ctx *c)
{
    arena *a = arena_new(0);
    char *v = NULL;
    double out = -1;
    db_rollback(c->d);
    if (db_query_value(c->d, a, NULL, &v,
                       "SELECT extract(epoch FROM min(visible_at) - now())::float8"
                       " FROM sluice_events.messages WHERE status = 'queued'",
                       0, NULL) == SL_OK &&
        v)
        out = strtod(v, NULL);
    if (out < 0 && v)
        out = 0;
    arena_free(a);
    return out;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

sl_err outbox_run(db *d, const char *base_url, const outbox_opts *o, outbox_counts *n,
                  sl_errbuf *eb)
{
    static const outbox_opts none = {0};
    outbox_counts local = {0};
    ctx c = {.d = d, .o = o ? o : &none, .n = n ? n : &local};
    pthread_once(&curl_once, curl_init);
    outbox_owner();
    db_rollback(d);
    outbox_settings_load(d, &c.set);
    c.env_a = arena_new(0);
    notify_env_load(d, c.env_a, base_url, &c.env);
    c.set.timeout_seconds = c.env.timeout_seconds > 0 ? c.env.timeout_seconds
                                                      : NOTIFY_TIMEOUT_DEFAULT;
    c.batch = c.o->batch > 0 ? c.o->batch : c.set.batch_size;
    c.visibility = outbox_visibility(&c.set, c.batch);

    /* The next batch is claimed as soon as fewer jobs than threads are
     * left, so the threads never wait for a claim; every job sent is
     * collected and recorded before returning, even after an error. */
    double t0 = mono_now();
    sl_err e = SL_OK;
    int outstanding = 0, batches = 0, exhausted = 0;
    for (;;) {
        int limit = limited(&c, batches, t0);
        if (!e && !limit && !exhausted && outstanding < c.set.concurrency) {
            int claimed = 0, sent = 0;
            e = claim_batch(&c, &claimed, &sent, eb);
            outstanding += sent;
            if (!e && claimed > 0)
                batches++;
            else if (!e)
                exhausted = 1;
            continue;
        }
        if (outstanding > 0) {
            job *done = pool_collect(&c.pool);
            for (job *j = done; j; j = j->next)
                outstanding--;
            sl_err re = record(&c, done, e ? NULL : eb);
            if (!e)
                e = re;
            continue;
        }
        if (e || limit || !c.o->drain)
            break;
        /* Draining: wait for the next queued message to be due. */
        double wait = next_visible(&c);
        if (wait < 0)
            break;
        if (wait > DRAIN_POLL)
            wait = DRAIN_POLL;
        if (wait < 0.02)
            wait = 0.02;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
        exhausted = 0;
    }
    if (c.started)
        pool_stop(&c.pool);
    arena_free(c.env_a);
    return e;
}
