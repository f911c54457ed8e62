/* partman.c - partition maintenance: the plan, then each table under its
 * own advisory lock, one transaction per action (see partman.h).
 *
 * Everything that knows about partitions is SQL (sql/011_partitions.sql);
 * this file decides order, locks, time limits and what is recorded. A table
 * is planned twice: once for all tables (the only query when nothing is
 * due), and again once its lock is held, since another process may have
 * done the work in between. */
#include "partman.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define PLAN_SQL                                                                              \
    "SELECT table_name, action, partition, from_ts, to_ts, detail"                            \
    " FROM sluice.partition_plan(coalesce($1::timestamptz, now()), $2)"
#define LOCK_KEY "hashtext('sluice.partitions.' || $1)"
#define RESULT_MAX 1000 /* characters of a message kept in the registry */

/* The counts of one table in one run. */
typedef struct {
    int created, dropped, archived, failed, busy, partial;
    long long rows_moved;
    const char *error;     /* the first error (arena) */
    const char *busy_msg;  /* the lock that was not granted (arena) */
    const char **analyze;  /* tables that received rows, to ANALYZE (arena) */
    int nanalyze, capanalyze;
} table_run;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pm_group(char *buf, size_t cap, long long n)
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0 && o + 1 < cap)
        buf[o++] = '-';
    for (int i = 0; i < len && o + 1 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 1 < cap)
            buf[o++] = ',';
        if (o + 1 < cap)
            buf[o++] = digits[i];
    }
    if (cap)
        buf[o < cap ? o : cap - 1] = '\0';
}

const char *pm_result_text(arena *a, int created, long long rows_moved, int dropped,
                           int archived)
{
    char rows[32];
    pm_group(rows, sizeof rows, rows_moved);
    const char *out = "";
    if (created)
        out = arena_printf(a, "created %d partition%s", created, created == 1 ? "" : "s");
    if (rows_moved)
        out = arena_printf(a, "%s%smoved %s row%s out of the default partition", out,
                           *out ? ", " : "", rows, rows_moved == 1 ? "" : "s");
    if (dropped)
        out = arena_printf(a, "%s%sdropped %d", out, *out ? ", " : "", dropped);
    if (archived)
        out = arena_printf(a, "%s%sarchived %d", out, *out ? ", " : "", archived);
    return *out ? out : "nothing to do";
}

static const char *val(PGresult *res, int i, int c)
{
    return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* The server's message without the trailing newline, shortened for the
 * registry. */
static const char *clip(arena *a, const char *msg)
{
    if (!msg)
        return NULL;
    char *s = arena_strdup(a, msg);
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    if (n > RESULT_MAX)
        s[RESULT_MAX] = '\0';
    return s;
}

static void report(const pm_opts *o, PGresult *plan, int i, const char *outcome,
                   long long rows, const char *error)
{
    if (!o->report)
        return;
    pm_event ev = {.table = val(plan, i, 0), .action = val(plan, i, 1),
                   .partition = val(plan, i, 2), .from_ts = val(plan, i, 3),
                   .to_ts = val(plan, i, 4), .detail = val(plan, i, 5), .outcome = outcome,
                   .rows_moved = rows, .error = error};
    o->report(o->arg, &ev);
}

/* 1 when the last error means "try again later": a lock not granted in
 * lock_timeout, or a deadlock this run lost. */
static int is_busy(db *d)
{
    const char *st = db_sqlstate(d);
    return strcmp(st, "55P03") == 0 || strcmp(st, "40P01") == 0;
}

/* Run one planned action (row i of plan) in its own transaction. */
static sl_err do_action(db *d, arena *a, const pm_opts *o, PGresult *plan, int i,
                        const char *timeout, table_run *tr, sl_errbuf *eb)
{
    const char *action = val(plan, i, 1), *part = val(plan, i, 2);
    const char *table = val(plan, i, 0);
    sl_err e = db_begin(d, eb);
    if (!e)
        e = db_exec(d, eb, "SELECT set_config('lock_timeout', $1, true)", 1,
                    (const char *[]){timeout});
    if (e) {
        db_rollback(d);
        return e;
    }
    PGresult *res = NULL;
    if (strcmp(action, "create") == 0) {
        e = db_query(d, a, eb, &res,
                     "SELECT created, rows_moved, partition::text FROM sluice.ensure_partition("
                     " $1::regclass, $2::timestamptz, $3::timestamptz, NULL,"
                     " (SELECT batch_rows FROM sluice.partitioned_tables WHERE table_name = $4))",
                     4, (const char *[]){table, val(plan, i, 3), val(plan, i, 4), table});
    } else {
        const char *schema = NULL;
        if (strcmp(action, "archive") == 0) {
            PGresult *s = NULL;
            e = db_query(d, a, eb, &s,
                         "SELECT archive_schema FROM sluice.partitioned_tables"
                         " WHERE table_name = $1", 1, (const char *[]){table});
            if (!e && PQntuples(s) == 1)
                schema = PQgetvalue(s, 0, 0);
        }
        if (!e)
            e = db_query(d, a, eb, &res,
                         "SELECT sluice.drop_partition($1::regclass, $2,"
                         " coalesce($3::timestamptz, now()))",
                         3, (const char *[]){part, schema, o->at});
    }
    if (!e)
        e = db_commit(d, eb);
    if (e) {
        int busy = is_busy(d);
        db_rollback(d);
        const char *msg = clip(a, eb->msg);
        if (busy) {
            tr->busy = 1;
            tr->busy_msg = msg;
            report(o, plan, i, "busy", 0, msg);
            log_info("partitions: %s: %s %s: busy, retry later (%s)", table, action,
                     part ? part : "", msg);
            return SL_OK;
        }
        if (e == SL_EDBDOWN)
            return e;
        tr->failed++;
        if (!tr->error)
            tr->error = msg;
        report(o, plan, i, "failed", 0, msg);
        log_warn("partitions: %s: %s %s failed: %s", table, action, part ? part : "", msg);
        return SL_OK;
    }
    if (strcmp(action, "create") == 0) {
        int created = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        long long rows = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        tr->created += created;
        tr->rows_moved += rows;
        /* partition::text: the name as this session resolves it (a STABLE
         * function here would not see the table the call just made). */
        if (rows > 0 && *PQgetvalue(res, 0, 2)) {
            if (tr->nanalyze == tr->capanalyze) {
                int cap = tr->capanalyze ? tr->capanalyze * 2 : 8;
                const char **na = arena_calloc(a, (size_t)cap, sizeof *na);
                if (tr->nanalyze)
                    memcpy(na, tr->analyze, (size_t)tr->nanalyze * sizeof *na);
                tr->analyze = na;
                tr->capanalyze = cap;
            }
            tr->analyze[tr->nanalyze++] = arena_strdup(a, PQgetvalue(res, 0, 2));
        }
        report(o, plan, i, created ? "done" : "exists", rows, NULL);
        char g[32];
        pm_group(g, sizeof g, rows);
        if (created)
            log_info("partitions: %s: created %s [%s, %s)%s%s%s", table, part,
                     val(plan, i, 3), val(plan, i, 4), rows ? ", moved " : "",
                     rows ? g : "", rows ? " rows out of the default partition" : "");
    } else {
        const char *what = PQgetvalue(res, 0, 0);
        if (strcmp(what, "archived") == 0)
            tr->archived++;
        else
            tr->dropped++;
        report(o, plan, i, "done", 0, NULL);
        log_info("partitions: %s: %s %s (%s)", table, what, part, val(plan, i, 5));
    }
    return SL_OK;
}

/* Refresh the planner's numbers of the tables rows went into and of the
 * default partition they left (for the estimates on the partitions page). */
static void analyze_moved(db *d, arena *a, const char *table, table_run *tr)
{
    if (!tr->rows_moved)
        return;
    char *def = NULL;
    sl_errbuf eb = {0};
    if (db_query_value(d, a, &eb, &def,
                       "SELECT partdefid::regclass::text FROM pg_partitioned_table"
                       " WHERE partrelid = to_regclass($1) AND partdefid <> 0",
                       1, (const char *[]){table}) == SL_OK && def && *def)
        db_exec(d, NULL, arena_printf(a, "ANALYZE %s", def), 0, NULL); /* never bare */
    for (int i = 0; i < tr->nanalyze; i++)
        db_exec(d, NULL, arena_printf(a, "ANALYZE %s", tr->analyze[i]), 0, NULL);
}

/* Write what happened to table into the registry (and the reaper's count of
 * dropped partitions). */
static void record(db *d, arena *a, const char *table, const table_run *tr)
{
    const char *result = pm_result_text(a, tr->created, tr->rows_moved, tr->dropped,
                                        tr->archived);
    if (tr->busy)
        result = arena_printf(a, "%s%sbusy, retry later: %s",
                              strcmp(result, "nothing to do") == 0 ? "" : result,
                              strcmp(result, "nothing to do") == 0 ? "" : "; ", tr->busy_msg);
    else if (tr->partial)
        result = arena_printf(a, "%s; out of time, the rest at the next run", result);
    if (tr->failed)
        result = arena_printf(a, "%s; %d action%s failed", result, tr->failed,
                              tr->failed == 1 ? "" : "s");
    sl_errbuf eb = {0};
    if (db_exec(d, &eb,
                "UPDATE sluice.partitioned_tables SET last_run_at = now(), last_result = $2,"
                " last_error = $3 WHERE table_name = $1",
                3, (const char *[]){table, result, tr->error}) != SL_OK)
        log_warn("partitions: %s: could not record the result: %s", table, eb.msg);
    int gone = tr->dropped + tr->archived;
    if (gone) {
        char n[16];
        snprintf(n, sizeof n, "%d", gone);
        db_exec(d, NULL,
                "UPDATE sluice.reaper_status SET partitions_dropped = partitions_dropped + $1,"
                " updated_at = now() WHERE id = 1",
                1, (const char *[]){n});
    }
}

/* Maintain one table whose plan rows are first..last-1 of plan. */
static sl_err run_table(db *d, const pm_opts *o, PGresult *plan, int first, int last,
                        double t0, pm_summary *s, sl_errbuf *eb)
{
    const char *table = val(plan, first, 0);
    s->tables++;
    s->actions += last - first;
    if (o->dry_run) {
        for (int i = first; i < last; i++)
            report(o, plan, i, "planned", 0, NULL);
        return SL_OK;
    }
    arena *a = arena_new(0);
    char *got = NULL;
    sl_err e = db_query_value(d, a, eb, &got, "SELECT pg_try_advisory_lock(" LOCK_KEY ")", 1,
                              (const char *[]){table});
    if (e) {
        arena_free(a);
        return e;
    }
    if (strcmp(got, "t") != 0) {
        s->busy++;
        for (int i = first; i < last; i++)
            report(o, plan, i, "busy", 0, "another maintenance run is working on this table");
        log_info("partitions: %s: another process is maintaining it", table);
        arena_free(a);
        return SL_OK;
    }
    /* Under the lock: what is due now (another run may have done it). */
    PGresult *mine = NULL;
    e = db_query(d, a, eb, &mine, PLAN_SQL, 2, (const char *[]){o->at, table});
    if (!e && PQntuples(mine) == 0) {
        /* Done by the process that had the lock: its result stands. */
        db_exec(d, NULL, "SELECT pg_advisory_unlock(" LOCK_KEY ")", 1, (const char *[]){table});
        arena_free(a);
        return SL_OK;
    }
    table_run tr = {0};
    const char *timeout = arena_printf(
        a, "%dms", o->lock_timeout_ms > 0 ? o->lock_timeout_ms : PM_LOCK_TIMEOUT_MS);
    int n = e ? 0 : PQntuples(mine);
    for (int i = 0; i < n && !e; i++) {
        const char *action = val(mine, i, 1);
        if (tr.busy) {
            report(o, mine, i, "skipped", 0, "an earlier action of this table was busy");
            continue;
        }
        if (o->budget_seconds > 0 && mono_s() - t0 > o->budget_seconds) {
            tr.partial = 1;
            report(o, mine, i, "skipped", 0, "out of time: at the next run");
            continue;
        }
        if (strcmp(action, "error") == 0) {
            tr.failed++;
            if (!tr.error)
                tr.error = clip(a, val(mine, i, 5));
            report(o, mine, i, "failed", 0, val(mine, i, 5));
            log_warn("partitions: %s: %s", table, val(mine, i, 5));
            continue;
        }
        e = do_action(d, a, o, mine, i, timeout, &tr, eb);
    }
    if (e != SL_EDBDOWN) {
        analyze_moved(d, a, table, &tr);
        record(d, a, table, &tr);
    }
    db_exec(d, NULL, "SELECT pg_advisory_unlock(" LOCK_KEY ")", 1, (const char *[]){table});
    s->created += tr.created;
    s->dropped += tr.dropped;
    s->archived += tr.archived;
    s->rows_moved += tr.rows_moved;
    s->busy += tr.busy;
    s->failed += tr.failed ? 1 : 0;
    s->partial += tr.partial;
    arena_free(a);
    return e;
}

/* "nothing to do" on the registered tables without plan rows, unless
 * another process holds them. */
static void record_idle(db *d, arena *a, const pm_opts *o, PGresult *plan)
{
    PGresult *all = NULL;
    if (db_query(d, a, NULL, &all,
                 "SELECT table_name FROM sluice.partitioned_tables"
                 " WHERE $1::text IS NULL OR table_name = $1",
                 1, (const char *[]){o->table}) != SL_OK)
        return;
    for (int i = 0; i < PQntuples(all); i++) {
        const char *t = PQgetvalue(all, i, 0);
        int planned = 0;
        for (int j = 0; j < PQntuples(plan) && !planned; j++)
            planned = strcmp(PQgetvalue(plan, j, 0), t) == 0;
        if (planned)
            continue;
        db_exec(d, NULL,
                "UPDATE sluice.partitioned_tables SET last_run_at = now(),"
                " last_result = 'nothing to do', last_error = NULL"
                " WHERE table_name = $1 AND pg_try_advisory_xact_lock(" LOCK_KEY ")",
                1, (const char *[]){t});
    }
}

sl_err pm_run(db *d, const pm_opts *o, pm_summary *s, sl_errbuf *eb)
{
    memset(s, 0, sizeof *s);
    double t0 = mono_s();
    arena *a = arena_new(0);
    db_rollback(d);
    sl_err e = SL_OK;
    if (o->table) {
        char *v = NULL;
        e = db_query_value(d, a, eb, &v,
                           "SELECT 1 FROM sluice.partitioned_tables WHERE table_name = $1", 1,
                           (const char *[]){o->table});
        if (e == SL_ENOTFOUND)
            e = sl_fail(eb, SL_ENOTFOUND, "%s is not a registered partitioned table "
                        "(sluice.partitioned_tables)", o->table);
    }
    PGresult *plan = NULL;
    if (!e)
        e = db_query(d, a, eb, &plan, PLAN_SQL, 2, (const char *[]){o->at, o->table});
    if (e) {
        arena_free(a);
        return e;
    }
    int n = PQntuples(plan);
    for (int i = 0; i < n && !e;) {
        int j = i + 1;
        while (j < n && strcmp(PQgetvalue(plan, j, 0), PQgetvalue(plan, i, 0)) == 0)
            j++;
        e = run_table(d, o, plan, i, j, t0, s, eb);
        i = j;
    }
    if (!e && o->record_idle && !o->dry_run)
        record_idle(d, a, o, plan);
    db_rollback(d);
    arena_free(a);
    return e;
}
