/* runs.h - runs as the console and the API show them (runs_model.c):
 * lists with filters and keyset pagination, one run with its progress,
 * table statistics, logs, quality results and dead letters, and queueing
 * and cancelling on behalf of a person (validated and audited).
 *
 * runs.c (pages) and runs_api.c (JSON) share everything here; the
 * Pipelines pages use runs_put_last() and runs_put_pipeline(). Strings
 * live in the request arena; json_t results are new references the
 * caller owns. */
#ifndef SL_WEB_RUNS_H
#define SL_WEB_RUNS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "http.h"

#define RUNS_PAGE 50          /* runs per list page (and the API's default limit) */
#define RUNS_API_MAX 200      /* largest API limit */
#define RUNS_LOG_TAIL 200     /* log lines a run page shows at once */
#define RUNS_LOG_API_MAX 1000 /* largest limit of GET /runs/{id}/logs */
#define RUNS_DEAD_MAX 100     /* dead letters a run page shows */
#define RUNS_BACKFILL_MAX 200 /* characters of a backfill value */
#define RUNS_TABLES_MAX 500   /* tables one request may name */

/* --- for the Pipelines pages ------------------------------------------------------- */

/* For every object in items (a JSON array of pipelines with "id"), add
 * "last_run": {id, status, badge, text ("succeeded 5 min ago"), at} of
 * its newest run and "freshness": "synced 5 min ago" / "never synced"
 * (from its newest successful run). Pipelines without runs get
 * last_run null. Database failures are logged and leave items as they
 * were. Render with the partial runs/last_run. */
void runs_put_last(request *r, json_t *items);

/* ctx.run_summary = {pipeline_id, last_run, freshness, recent: [up to 5
 * runs], active (a run is queued or running)} for the pipeline page's
 * partial runs/pipeline_actions. Failures are logged; ctx is left
 * without it. */
void runs_put_pipeline(request *r, json_t *ctx, const char *pipeline_id);

/* --- list filters ------------------------------------------------------------------ */

typedef struct {
    const char *pipeline, *status, *from, *to; /* as typed ("" when absent) */
    const char *before, *after;                /* cursors (decimal run ids) or NULL */
    long long limit;
} runs_filter;

/* Read and check ?pipeline= (a UUID), ?status=, ?from= / ?to=
 * (YYYY-MM-DD, on the queued time, UTC), ?before= (and for pages
 * ?after=; for the API ?cursor= is before and ?limit=). Problems go into
 * errors as { field: message }. */
void runs_parse_filter(request *r, runs_filter *f, json_t *errors, int api);

/* Runs matching f, newest first from before (or the newest), or with
 * after the oldest ones newer than after (then ascending); at most
 * f->limit + 1 rows, in RUN_* column order. */
sl_err runs_fetch(request *r, const runs_filter *f, PGresult **res, sl_errbuf *eb);
/* Whether runs matching f exist with ids above (dir > 0) or below id. */
sl_err runs_exist_beyond(request *r, const runs_filter *f, const char *id, int dir, int *yes,
                         sl_errbuf *eb);

/* --- one run ----------------------------------------------------------------------- */

/* Columns of the queries above and of runs_load. */
enum { RC_ID, RC_PIPELINE_ID, RC_PIPELINE_NAME, RC_PIPELINE_DELETED, RC_STATUS,
       RC_TRIGGER, RC_OPTIONS, RC_REQ_BY, RC_REQ_EMAIL, RC_ATTEMPT, RC_QUEUED,
       RC_STARTED, RC_FINISHED, RC_HEARTBEAT, RC_DURATION_MS, RC_CLAIMED_BY,
       RC_CANCEL_REQ, RC_TABLES_TOTAL, RC_TABLES_DONE, RC_CURRENT_TABLE, RC_ROWS_DONE,
       RC_ROWS_ESTIMATE, RC_PROGRESS_AT, RC_ROWS_EXTRACTED, RC_ROWS_LOADED,
       RC_DEAD_LETTERS, RC_QUALITY_FAILURES, RC_ERROR, RC_SKIP_REASON, RC_RETRY_OF,
       RC_AGE_S, RC_NCOLS };

/* The run ids accepted in paths: decimal, positive. */
int runs_id_ok(const char *s);

/* Load run id (a valid id). SL_ENOTFOUND when there is none. */
sl_err runs_load(request *r, const char *id, PGresult **res, sl_errbuf *eb);

/* Row i as the API shows it: every column, "progress" {rows_done,
 * rows_estimate, percent, current_table, tables_done, tables_total,
 * updated_at}, "active", and "links". Ids are strings. */
json_t *runs_api_json(request *r, PGresult *res, int i);
/* Row i as pages show it: the API's view plus display text (times,
 * duration, badge, "5 min ago", requested by). */
json_t *runs_page_json(request *r, PGresult *res, int i);

/* Per-table statistics of run id, ordered by start: an array (API view
 * when api, else with display text). */
sl_err runs_tables(request *r, const char *id, int api, json_t **out, sl_errbuf *eb);
/* Quality results of run id (oldest first). */
sl_err runs_quality(request *r, const char *id, json_t **out, sl_errbuf *eb);

/* Log lines of run id with level at least min_level ("debug" .. "error";
 * NULL: all). Ascending after after_id (NULL: from the start), or with
 * tail the newest `limit` before before_id (NULL: the end), returned
 * oldest first. At most limit + 1 rows are read: *more says whether there
 * were more in the direction read. */
typedef struct {
    const char *min_level;
    const char *after_id, *before_id;
    int tail;
    long long limit;
} runs_log_query;
sl_err runs_logs(request *r, const char *id, const runs_log_query *q, json_t **items, int *more,
                 sl_errbuf *eb);
/* 1 when s is a level name. */
int runs_level_ok(const char *s);

/* Dead letters of run id from its destination's <raw_schema>._dead_letters
 * (at most RUNS_DEAD_MAX + 1 rows: {id, table, error, row, failed_at}).
 * When the destination cannot be read, *items is NULL and *problem says
 * why (a message for people). SL_OK either way, unless the control
 * database fails. */
sl_err runs_dead_letters(request *r, const char *id, json_t **items, const char **problem,
                         sl_errbuf *eb);

/* --- changes (audited) --------------------------------------------------------------- */

/* What a person asks for when queueing a run. */
typedef struct {
    const char *mode;          /* sync | full_refresh | backfill */
    const char *backfill_from; /* for backfill */
    const char **tables;       /* NULL: every enabled table */
    int ntables;
    int retry_dead_letters;
} runs_request;

/* Check rq for pipeline_id: the mode, the backfill value, the tables
 * (each "schema.table" or "table" of the pipeline). Problems go into
 * errors (keys mode, backfill_from, tables); *found = 0 when the
 * pipeline does not exist (or was deleted). */
sl_err runs_check_request(request *r, const char *pipeline_id, runs_request *rq, json_t *errors,
                          int *found, sl_errbuf *eb);

/* Queue the run rq (checked) asks for, by r's principal, with its audit
 * row, in one transaction; *run_id gets its id. SL_ENOTFOUND when the
 * pipeline is gone. */
sl_err runs_queue_for(request *r, const char *pipeline_id, const runs_request *rq,
                      int64_t *run_id, sl_errbuf *eb);

/* Cancel run id (see run_cancel), audited. *status is what the run is
 * now. SL_ENOTFOUND for an unknown run. */
sl_err runs_cancel_for(request *r, const char *id, const char **status, sl_errbuf *eb);

/* Tables of run id that had dead letters ("schema.table" or "table"). */
sl_err runs_dead_tables(request *r, const char *id, const char ***tables, int *n,
                        sl_errbuf *eb);

#endif
