/* check_run.c - unit tests for app/sync/run.c against a real PostgreSQL
 * (SLUICE_TEST_DATABASE_URL; skipped without it unless CI=true): queue
 * and NOTIFY, claim and the one-running-run-per-pipeline rule, claim-next
 * under competing processes, logs and progress written as they happen
 * (throttled), cancel flags, table statistics, finish totals and events in
 * one transaction, the stale-heartbeat reaper and cancels. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/migrate.h"
#include "log.h"
#include "pgtest.h"
#include "sync/run.h"

static const char *g_url;
static char g_prefix[64];
static char g_dbname[96];
static char g_conninfo[1000];
static db *g_db;
static char g_p1[40], g_p2[40], g_p3[40]; /* pipelines; p3 gets deleted */

/* First column of the first row of sql on the test database ("" for NULL,
 * "<none>" without rows); a static buffer. */
static const char *q1(const char *sql)
{
    static char out[4096];
    PGconn *c = PQconnectdb(g_conninfo);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        ck_abort_msg("%s: %s", sql, PQerrorMessage(c));
    snprintf(out, sizeof out, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "<none>");
    PQclear(r);
    PQfinish(c);
    return out;
}

static const char *qf(const char *fmt, long long id)
{
    char sql[2048];
    snprintf(sql, sizeof sql, fmt, id);
    return q1(sql);
}

static void exec_sql(const char *sql)
{
    ck_assert_msg(pgt_run(g_conninfo, sql) == 0, "%s", sql);
}

static void setup(void)
{
    ck_assert_int_eq(pgt_create_db(g_url, g_prefix, g_dbname, sizeof g_dbname, g_conninfo,
                                   sizeof g_conninfo),
                     0);
    sl_errbuf eb = {0};
    g_db = db_open(g_conninfo, 5, &eb);
    ck_assert_msg(g_db != NULL, "%s", eb.msg);
    int applied = 0;
    ck_assert_msg(migrate_run(g_db, "sql", &applied, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(pgt_seed_endpoints(g_conninfo), 0);
    snprintf(g_p1, sizeof g_p1, "%s", "10000000-0000-4000-8000-000000000001");
    snprintf(g_p2, sizeof g_p2, "%s", "10000000-0000-4000-8000-000000000002");
    snprintf(g_p3, sizeof g_p3, "%s", "10000000-0000-4000-8000-000000000003");
    exec_sql("INSERT INTO sluice.pipelines (id, name, source_id, destination_id) VALUES"
             " ('10000000-0000-4000-8000-000000000001', 'orders',"
             "  '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),"
             " ('10000000-0000-4000-8000-000000000002', 'events',"
             "  '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),"
             " ('10000000-0000-4000-8000-000000000003', 'gone',"
             "  '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002')");
    exec_sql("INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table,"
             " enabled) VALUES"
             " ('10000000-0000-4000-8000-000000000001', 'public', 'orders', true),"
             " ('10000000-0000-4000-8000-000000000001', 'public', 'customers', true),"
             " ('10000000-0000-4000-8000-000000000001', 'public', 'old', false)");
}

static void teardown(void)
{
    db_close(g_db);
    g_db = NULL;
    pgt_drop_db(g_url, g_dbname);
}

static int64_t queue(const char *pipeline, const char *trigger, const char *opts)
{
    sl_errbuf eb = {0};
    int64_t id = 0;
    json_t *o = opts ? json_loads(opts, 0, NULL) : NULL;
    sl_err e = run_queue(g_db, pipeline, trigger, o, NULL, "ed@example.com", &id, &eb);
    json_decref(o);
    ck_assert_msg(e == SL_OK, "%s", eb.msg);
    ck_assert(id > 0);
    return id;
}

START_TEST(test_queue)
{
    PGconn *l = PQconnectdb(g_conninfo);
    PQclear(PQexec(l, "LISTEN sluice_runs"));
    int64_t id = queue(g_p1, "manual", "{\"full_refresh\": true}");
    ck_assert_str_eq(qf("SELECT status FROM sluice_runs.runs WHERE id = %lld", id), "queued");
    ck_assert_str_eq(qf("SELECT trigger || ' ' || requested_by_email || ' ' || options::text"
                        " FROM sluice_runs.runs WHERE id = %lld", id),
                     "manual ed@example.com {\"full_refresh\": true}");
    /* The NOTIFY carries the run id. */
    int got = 0;
    for (int i = 0; i < 50 && !got; i++) {
        PQconsumeInput(l);
        PGnotify *n;
        while ((n = PQnotifies(l))) {
            char want[32];
            snprintf(want, sizeof want, "%lld", (long long)id);
            ck_assert_str_eq(n->relname, "sluice_runs");
            ck_assert_str_eq(n->extra, want);
            got = 1;
            PQfreemem(n);
        }
        if (!got)
            usleep(20000);
    }
    ck_assert_int_eq(got, 1);
    PQfinish(l);

    sl_errbuf eb = {0};
    int64_t none = 0;
    ck_assert_int_eq(run_queue(g_db, "10000000-0000-4000-8000-00000000ffff", "manual", NULL,
                               NULL, NULL, &none, &eb),
                     SL_ENOTFOUND);
    ck_assert_int_eq(run_queue(g_db, "not-a-uuid", "manual", NULL, NULL, NULL, &none, &eb),
                     SL_ENOTFOUND);
    ck_assert_int_eq(run_queue(g_db, g_p1, "bogus", NULL, NULL, NULL, &none, &eb), SL_EINVAL);
    exec_sql("UPDATE sluice.pipelines SET deleted_at = now()"
             " WHERE id = '10000000-0000-4000-8000-000000000003'");
    ck_assert_int_eq(run_queue(g_db, g_p3, "manual", NULL, NULL, NULL, &none, &eb),
                     SL_ENOTFOUND);
    ck_assert_int_eq(none, 0);
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice_runs.runs"), "1");
}
END_TEST

START_TEST(test_claim)
{
    int64_t a = queue(g_p1, "manual", NULL);
    int64_t b = queue(g_p1, "manual", NULL);
    sl_errbuf eb = {0};
    run_ctx *rc = NULL, *rc2 = NULL;
    ck_assert_msg(run_claim(g_conninfo, a, &rc, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(run_id(rc), a);
    ck_assert_str_eq(run_pipeline_id(rc), g_p1);
    ck_assert(json_is_object(run_options(rc)));
    ck_assert_str_eq(qf("SELECT status || ' ' || (started_at IS NOT NULL)::text || ' '"
                        " || (heartbeat_at IS NOT NULL)::text || ' ' || tables_total"
                        " FROM sluice_runs.runs WHERE id = %lld", a),
                     "running true true 2");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT (claimed_by LIKE '%%:%ld')::text FROM sluice_runs.runs"
             " WHERE id = %lld", (long)getpid(), (long long)a);
    ck_assert_str_eq(q1(sql), "true");
    /* The same run again: not queued any more. */
    ck_assert_int_eq(run_claim(g_conninfo, a, &rc2, &eb), SL_ECONFLICT);
    ck_assert_ptr_null(rc2);
    ck_assert_ptr_nonnull(strstr(eb.msg, "not queued"));
    /* Another run of the same pipeline: the unique index says no. */
    ck_assert_int_eq(run_claim(g_conninfo, b, &rc2, &eb), SL_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(eb.msg, "already running"));
    ck_assert_str_eq(qf("SELECT status FROM sluice_runs.runs WHERE id = %lld", b), "queued");
    /* claim-next passes over it; nothing else is queued. */
    ck_assert_int_eq(run_claim_next(g_conninfo, &rc2, &eb), SL_ENOTFOUND);
    /* run_start is refused too, and leaves nothing behind. */
    ck_assert_int_eq(run_start(g_conninfo, g_p1, "cli", NULL, &rc2, &eb), SL_ECONFLICT);
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice_runs.runs"), "2");
    ck_assert_int_eq(run_claim(g_conninfo, 999, &rc2, &eb), SL_ENOTFOUND);

    int64_t c = queue(g_p2, "manual", "{\"tables\": [\"x\"]}");
    ck_assert_msg(run_claim_next(g_conninfo, &rc2, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(run_id(rc2), c);
    ck_assert_str_eq(qf("SELECT tables_total FROM sluice_runs.runs WHERE id = %lld", c), "1");
    ck_assert_int_eq(run_finish(rc2, "success", NULL, &eb), SL_OK);

    ck_assert_int_eq(run_finish(rc, "success", NULL, &eb), SL_OK);
    /* Now b is next. */
    ck_assert_msg(run_claim_next(g_conninfo, &rc, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(run_id(rc), b);
    ck_assert_int_eq(run_finish(rc, "failed", "boom", &eb), SL_OK);
    ck_assert_str_eq(qf("SELECT status || ' ' || error FROM sluice_runs.runs WHERE id = %lld",
                        b),
                     "failed boom");

    /* A queued run of a pipeline deleted since is skipped, not run. */
    int64_t d = queue(g_p3, "manual", NULL);
    exec_sql("UPDATE sluice.pipelines SET deleted_at = now()"
             " WHERE id = '10000000-0000-4000-8000-000000000003'");
    ck_assert_int_eq(run_claim_next(g_conninfo, &rc, &eb), SL_ENOTFOUND);
    ck_assert_str_eq(qf("SELECT status || ' ' || skip_reason FROM sluice_runs.runs"
                        " WHERE id = %lld", d),
                     "skipped pipeline deleted");
}
END_TEST

START_TEST(test_start)
{
    sl_errbuf eb = {0};
    run_ctx *rc = NULL;
    json_t *o = json_pack("{s:[s]}", "tables", "public.orders");
    ck_assert_msg(run_start(g_conninfo, g_p1, "cli", o, &rc, &eb) == SL_OK, "%s", eb.msg);
    json_decref(o);
    ck_assert_str_eq(qf("SELECT status || ' ' || trigger || ' ' || tables_total || ' '"
                        " || (options->'tables'->>0) FROM sluice_runs.runs WHERE id = %lld",
                        run_id(rc)),
                     "running cli 1 public.orders");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(run_options(rc),
                                                                      "tables"), 0)),
                     "public.orders");
    /* run_db is a connection of its own, usable for reading. */
    char *v = NULL;
    arena *a = arena_new(0);
    ck_assert_int_eq(db_query_value(run_db(rc), a, &eb, &v,
                                    "SELECT name FROM sluice.pipelines WHERE id = $1", 1,
                                    (const char *[]){g_p1}),
                     SL_OK);
    ck_assert_str_eq(v, "orders");
    arena_free(a);
    ck_assert_int_eq(run_finish(rc, "success", NULL, &eb), SL_OK);
    ck_assert_int_eq(run_start(g_conninfo, "nope", "cli", NULL, &rc, &eb), SL_ENOTFOUND);
    ck_assert_int_eq(run_start(g_conninfo, "10000000-0000-4000-8000-00000000ffff", "cli", NULL,
                               &rc, &eb),
                     SL_ENOTFOUND);
}
END_TEST

static int g_hook_logs, g_hook_progress, g_hook_final;
static long long g_hook_rows;

static void on_log(enum run_level level, const char *table, const char *msg, void *arg)
{
    (void)arg;
    (void)table;
    if (level == RUN_WARN && strcmp(msg, "hooked") == 0)
        g_hook_logs++;
}

static void on_progress(const run_progress_info *p, void *arg)
{
    (void)arg;
    g_hook_progress++;
    g_hook_rows = p->rows_done;
    if (p->final)
        g_hook_final++;
}

START_TEST(test_logs_and_progress)
{
    sl_errbuf eb = {0};
    run_ctx *rc = NULL;
    ck_assert_int_eq(run_start(g_conninfo, g_p1, "cli", NULL, &rc, &eb), SL_OK);
    long long id = run_id(rc);

    /* Logs are there at once, not at the end. */
    run_log(rc, RUN_INFO, NULL, "starting %d tables", 2);
    run_log(rc, RUN_ERROR, "public.orders", "bad byte \xff here");
    ck_assert_str_eq(qf("SELECT string_agg(level || ':' || coalesce(table_name, '-') || ':'"
                        " || message, '|' ORDER BY id) FROM sluice_runs.run_logs"
                        " WHERE run_id = %lld", id),
                     "info:-:starting 2 tables|error:public.orders:bad byte ? here");

    /* Progress: the first write goes through, the next within a second
     * does not (unless forced), a later one does. */
    ck_assert_int_eq(run_progress(rc, 10, 100, "public.orders", 0), 0);
    ck_assert_str_eq(qf("SELECT rows_done || '/' || rows_estimate || ' ' || current_table"
                        " FROM sluice_runs.runs WHERE id = %lld", id),
                     "10/100 public.orders");
    const char *hb1 = qf("SELECT heartbeat_at::text FROM sluice_runs.runs WHERE id = %lld", id);
    char first_hb[64];
    snprintf(first_hb, sizeof first_hb, "%s", hb1);
    ck_assert_int_eq(run_progress(rc, 5, -1, NULL, 0), 0);
    ck_assert_str_eq(qf("SELECT rows_done FROM sluice_runs.runs WHERE id = %lld", id), "10");
    ck_assert_int_eq(run_progress(rc, 5, -1, NULL, 1), 0);
    ck_assert_str_eq(qf("SELECT rows_done || '/' || rows_estimate FROM sluice_runs.runs"
                        " WHERE id = %lld", id),
                     "20/100");
    ck_assert_int_eq(run_progress(rc, 1, -1, NULL, 0), 0);
    ck_assert_str_eq(qf("SELECT rows_done FROM sluice_runs.runs WHERE id = %lld", id), "20");
    usleep(1100 * 1000);
    ck_assert_int_eq(run_progress(rc, 1, 200, "public.customers", 0), 0);
    ck_assert_str_eq(qf("SELECT rows_done || '/' || rows_estimate || ' ' || current_table"
                        " FROM sluice_runs.runs WHERE id = %lld", id),
                     "22/200 public.customers");
    /* The heartbeat moves with the progress. */
    ck_assert_str_ne(qf("SELECT heartbeat_at::text FROM sluice_runs.runs WHERE id = %lld", id),
                     first_hb);

    /* Hooks: progress after each write, logs instead of the process log. */
    run_hooks h = {on_progress, on_log, NULL};
    run_set_hooks(rc, &h);
    run_log(rc, RUN_WARN, NULL, "hooked");
    ck_assert_int_eq(g_hook_logs, 1);
    ck_assert_int_eq(run_progress(rc, 3, -1, NULL, 1), 0);
    ck_assert_int_eq(g_hook_progress, 1);
    ck_assert_int_eq(g_hook_rows, 25);

    /* A cancel asked for in the database is seen with the next write. */
    ck_assert_int_eq(run_cancel_seen(rc), 0);
    char sql[200];
    snprintf(sql, sizeof sql,
             "UPDATE sluice_runs.runs SET cancel_requested = true WHERE id = %lld", id);
    exec_sql(sql);
    ck_assert_int_eq(run_progress(rc, 0, -1, NULL, 0), 0); /* throttled: not seen yet */
    ck_assert_int_eq(run_progress(rc, 0, -1, NULL, 1), 1);
    ck_assert_int_eq(run_cancel_seen(rc), 1);
    ck_assert_int_eq(run_finish(rc, "cancelled", "cancelled", &eb), SL_OK);
    ck_assert_int_eq(g_hook_final, 1);
    ck_assert_str_eq(qf("SELECT status || ' ' || rows_done FROM sluice_runs.runs"
                        " WHERE id = %lld", id),
                     "cancelled 25");
    ck_assert_str_eq(qf("SELECT string_agg(type, ',') FROM sluice_events.events"
                        " WHERE correlation_id = '%lld'", id),
                     "run.cancelled");

    /* A local request (a signal handler's) works without the database. */
    ck_assert_int_eq(run_start(g_conninfo, g_p1, "cli", NULL, &rc, &eb), SL_OK);
    ck_assert_int_eq(run_progress(rc, 1, -1, NULL, 0), 0);
    run_request_cancel(rc);
    ck_assert_int_eq(run_progress(rc, 1, -1, NULL, 0), 1);
    ck_assert_int_eq(run_finish(rc, "cancelled", NULL, &eb), SL_OK);
}
END_TEST

START_TEST(test_tables_and_finish)
{
    sl_errbuf eb = {0};
    run_ctx *rc = NULL;
    ck_assert_int_eq(run_start(g_conninfo, g_p1, "cli", NULL, &rc, &eb), SL_OK);
    long long id = run_id(rc);
    run_table t1 = {.source_schema = "public", .source_table = "orders",
                    .target_table = "orders", .mode = "incremental",
                    .watermark_column = "updated_at", .watermark_before = "2024-01-01"};
    run_table_begin(rc, &t1);
    ck_assert_str_eq(qf("SELECT status || ' ' || mode || ' ' || watermark_before"
                        " FROM sluice_runs.run_table_stats WHERE run_id = %lld", id),
                     "running incremental 2024-01-01");
    ck_assert_str_eq(qf("SELECT current_table FROM sluice_runs.runs WHERE id = %lld", id),
                     "public.orders");
    t1.rows_extracted = 100;
    t1.rows_loaded = 98;
    t1.rows_failed = 2;
    run_table_update(rc, &t1);
    ck_assert_str_eq(qf("SELECT rows_extracted || ' ' || rows_loaded || ' ' || rows_failed"
                        " FROM sluice_runs.run_table_stats WHERE run_id = %lld", id),
                     "100 98 2");
    t1.watermark_after = "2024-02-01";
    run_table_end(rc, &t1, "success", NULL);
    ck_assert_str_eq(qf("SELECT status || ' ' || watermark_after || ' '"
                        " || (duration_ms >= 0)::text || ' ' || (finished_at IS NOT NULL)::text"
                        " FROM sluice_runs.run_table_stats WHERE run_id = %lld", id),
                     "success 2024-02-01 true true");
    ck_assert_str_eq(qf("SELECT tables_done FROM sluice_runs.runs WHERE id = %lld", id), "1");

    run_table t2 = {.source_table = "customers", .mode = "full_refresh",
                    .rows_extracted = 50, .rows_loaded_raw = 50, .rows_loaded = 50};
    run_table_begin(rc, &t2);
    run_table_update(rc, &t2);
    const char *cols[] = {"email", "name"};
    run_quality(rc, "customers", "not_null", "failed", 0, 3, cols, 2, "3 NULLs in email, name");
    run_quality(rc, "public.orders", "row_count", "passed", 100, 98, NULL, 0, NULL);
    ck_assert_str_eq(qf("SELECT string_agg(check_type || ':' || status || ':'"
                        " || coalesce(array_to_string(columns, ','), '-') || ':'"
                        " || coalesce(round(discrepancy_pct)::text, '-'), '|' ORDER BY id)"
                        " FROM sluice_runs.quality_log WHERE run_id = %lld", id),
                     "not_null:failed:email,name:-|row_count:passed:-:2");
    json_t *drift = json_pack("{s:s, s:s}", "table", "public.orders", "column", "note");
    run_event(rc, "schema.drifted", drift);
    json_decref(drift);
    ck_assert_str_eq(qf("SELECT data->>'column' || ' ' || (data->>'run_id' = '%lld')::text"
                        " FROM sluice_events.events WHERE type = 'schema.drifted'", id),
                     "note true");

    /* Finishing is one transaction: when its last statement fails,
     * nothing of it is left. */
    exec_sql("CREATE FUNCTION public.no_quality() RETURNS trigger LANGUAGE plpgsql AS"
             " $$ BEGIN IF NEW.type = 'quality.failed' AND NEW.data->>'error' = 'boom'"
             " THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$");
    exec_sql("CREATE TRIGGER no_quality BEFORE INSERT ON sluice_events.events_default"
             " FOR EACH ROW EXECUTE FUNCTION public.no_quality()");
    ck_assert_int_eq(run_finish(rc, "failed", "boom", &eb), SL_EDB);
    ck_assert_str_eq(qf("SELECT status || ' ' || rows_loaded || ' ' || (error IS NULL)::text"
                        " FROM sluice_runs.runs WHERE id = %lld", id),
                     "running 0 true");
    ck_assert_str_eq(qf("SELECT count(*) FROM sluice_events.events"
                        " WHERE correlation_id = '%lld' AND type LIKE 'run.%%'", id),
                     "0");
    ck_assert_str_eq(qf("SELECT status FROM sluice_runs.run_table_stats WHERE run_id = %lld"
                        " AND source_table = 'customers'", id),
                     "running");

    /* Again, for real. */
    ck_assert_int_eq(run_claim(g_conninfo, id, &rc, &eb), SL_ECONFLICT); /* still running */
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE sluice_runs.runs SET status = 'queued' WHERE id = %lld",
             id);
    exec_sql(sql);
    ck_assert_msg(run_claim(g_conninfo, id, &rc, &eb) == SL_OK, "%s", eb.msg);
    run_table_end(rc, &t2, "success", NULL);
    ck_assert_int_eq(run_finish(rc, "success", NULL, &eb), SL_OK);
    ck_assert_str_eq(qf("SELECT status || ' ' || rows_extracted || ' ' || rows_loaded || ' '"
                        " || dead_letters || ' ' || quality_failures || ' '"
                        " || (finished_at IS NOT NULL)::text || ' '"
                        " || coalesce(current_table, '-')"
                        " FROM sluice_runs.runs WHERE id = %lld", id),
                     "success 150 148 2 1 true -");
    ck_assert_str_eq(qf("SELECT string_agg(type, ',' ORDER BY id) FROM sluice_events.events"
                        " WHERE correlation_id = '%lld' AND type <> 'schema.drifted'", id),
                     "run.succeeded,dead_letters.created,quality.failed");
    ck_assert_str_eq(qf("SELECT data->>'run_id' = '%lld' AND stream = 'pipeline:' ||"
                        " (data->>'pipeline_id')"
                        " FROM sluice_events.events WHERE type = 'run.succeeded'", id),
                     "t");
    ck_assert_str_eq(q1("SELECT concat_ws(' ', data->>'pipeline_name', data->>'status',"
                        " data->>'rows', data->>'dead_letters', jsonb_typeof(data->'error'),"
                        " jsonb_typeof(data->'duration_ms'))"
                        " FROM sluice_events.events WHERE type = 'run.succeeded'"),
                     "orders success 148 2 null number");
    ck_assert_str_eq(q1("SELECT (data->>'quality_failures') || ' '"
                        " || (data->'checks'->0->>'check')"
                        " FROM sluice_events.events WHERE type = 'quality.failed'"),
                     "1 not_null");
    ck_assert_str_eq(qf("SELECT string_agg(status, ',' ORDER BY source_table)"
                        " FROM sluice_runs.run_table_stats WHERE run_id = %lld", id),
                     "success,success");
}
END_TEST

START_TEST(test_reap_and_cancel)
{
    sl_errbuf eb = {0};
    run_ctx *rc = NULL;
    ck_assert_int_eq(run_start(g_conninfo, g_p1, "cli", NULL, &rc, &eb), SL_OK);
    long long id = run_id(rc);
    run_table t = {.source_table = "orders"};
    run_table_begin(rc, &t);
    int failed = -1, skipped = -1;
    /* A fresh heartbeat is left alone. */
    ck_assert_int_eq(run_reap_stale(g_db, 120, &failed, &skipped, &eb), SL_OK);
    ck_assert_int_eq(failed, 0);
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE sluice_runs.runs SET heartbeat_at = now() - interval '5 minutes'"
             " WHERE id = %lld", id);
    exec_sql(sql);
    int64_t q = queue(g_p3, "manual", NULL);
    exec_sql("UPDATE sluice.pipelines SET deleted_at = now()"
             " WHERE id = '10000000-0000-4000-8000-000000000003'");
    ck_assert_int_eq(run_reap_stale(g_db, 120, &failed, &skipped, &eb), SL_OK);
    ck_assert_int_eq(failed, 1);
    ck_assert_int_eq(skipped, 1);
    ck_assert_str_eq(qf("SELECT status || ' ' || (error LIKE 'heartbeat lost%%')::text"
                        " FROM sluice_runs.runs WHERE id = %lld", id),
                     "failed true");
    ck_assert_str_eq(qf("SELECT status FROM sluice_runs.run_table_stats WHERE run_id = %lld",
                        id),
                     "failed");
    ck_assert_str_eq(qf("SELECT type FROM sluice_events.events WHERE correlation_id = '%lld'",
                        id),
                     "run.failed");
    ck_assert_str_eq(qf("SELECT level FROM sluice_runs.run_logs WHERE run_id = %lld", id),
                     "error");
    ck_assert_str_eq(qf("SELECT status FROM sluice_runs.runs WHERE id = %lld", q), "skipped");
    /* The process that lost its heartbeat learns on its next write and
     * cannot finish over the reaper's verdict. */
    ck_assert_int_eq(run_progress(rc, 1, -1, NULL, 1), 1);
    ck_assert_int_eq(run_finish(rc, "success", NULL, &eb), SL_ECONFLICT);
    ck_assert_str_eq(qf("SELECT status FROM sluice_runs.runs WHERE id = %lld", id), "failed");

    /* Cancels: a queued run at once, a running one by request. */
    const char *st = NULL;
    int64_t a = queue(g_p1, "manual", NULL);
    ck_assert_int_eq(run_cancel(g_db, a, &st, &eb), SL_OK);
    ck_assert_str_eq(st, "cancelled");
    ck_assert_str_eq(qf("SELECT status || ' ' || error FROM sluice_runs.runs WHERE id = %lld",
                        a),
                     "cancelled cancelled before it started");
    ck_assert_str_eq(qf("SELECT type || ' ' || jsonb_typeof(data->'duration_ms')"
                        " FROM sluice_events.events WHERE correlation_id = '%lld'", a),
                     "run.cancelled null");
    ck_assert_int_eq(run_cancel(g_db, a, &st, &eb), SL_OK);
    ck_assert_str_eq(st, "cancelled");
    ck_assert_int_eq(run_start(g_conninfo, g_p1, "cli", NULL, &rc, &eb), SL_OK);
    ck_assert_int_eq(run_cancel(g_db, run_id(rc), &st, &eb), SL_OK);
    ck_assert_str_eq(st, "running");
    ck_assert_str_eq(qf("SELECT cancel_requested::text FROM sluice_runs.runs WHERE id = %lld",
                        run_id(rc)),
                     "true");
    ck_assert_int_eq(run_progress(rc, 0, -1, NULL, 1), 1);
    ck_assert_int_eq(run_finish(rc, "cancelled", NULL, &eb), SL_OK);
    ck_assert_int_eq(run_cancel(g_db, 12345, &st, &eb), SL_ENOTFOUND);
}
END_TEST

/* Competing claimers (separate processes, like ticks on many hosts): every
 * queued run is claimed exactly once, and never two of one pipeline at a
 * time. */
START_TEST(test_claim_competition)
{
    enum { NPROC = 5, NRUNS = 12 };
    const char *pls[] = {g_p1, g_p2};
    for (int i = 0; i < NRUNS; i++)
        queue(pls[i % 2], "manual", NULL);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t kids[NPROC];
    for (int k = 0; k < NPROC; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            close(fds[0]);
            for (;;) {
                run_ctx *rc = NULL;
                sl_errbuf eb = {0};
                sl_err e = run_claim_next(g_conninfo, &rc, &eb);
                if (e == SL_ENOTFOUND)
                    break;
                if (e)
                    _exit(2);
                long long id = run_id(rc);
                usleep(20000);
                if (run_finish(rc, "success", NULL, &eb) != SL_OK)
                    _exit(3);
                if (write(fds[1], &id, sizeof id) != sizeof id)
                    _exit(4);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    long long got[NRUNS * 2];
    int n = 0;
    long long id;
    while (read(fds[0], &id, sizeof id) == sizeof id && n < NRUNS * 2)
        got[n++] = id;
    close(fds[0]);
    for (int k = 0; k < NPROC; k++) {
        int status;
        waitpid(kids[k], &status, 0);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    ck_assert_int_eq(n, NRUNS);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            ck_assert(got[i] != got[j]);
    ck_assert_str_eq(q1("SELECT count(*) FILTER (WHERE status = 'success') || '/' || count(*)"
                        " FROM sluice_runs.runs"),
                     "12/12");
    /* Runs of one pipeline never overlapped. */
    ck_assert_str_eq(q1("SELECT count(*) FROM sluice_runs.runs a JOIN sluice_runs.runs b"
                        " ON a.pipeline_id = b.pipeline_id AND a.id < b.id"
                        " AND a.started_at < b.finished_at AND b.started_at < a.finished_at"),
                     "0");
}
END_TEST

int main(void)
{
    int must_fail = 0;
    g_url = pgt_url("check_run", &must_fail);
    if (!g_url)
        return must_fail ? EXIT_FAILURE : EXIT_SUCCESS;
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    log_init("test", LOG_ERROR);
    snprintf(g_prefix, sizeof g_prefix, "sluice_trun_%ld", (long)getpid());
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("pg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_queue);
    tcase_add_test(tc, test_claim);
    tcase_add_test(tc, test_start);
    tcase_add_test(tc, test_logs_and_progress);
    tcase_add_test(tc, test_tables_and_finish);
    tcase_add_test(tc, test_reap_and_cancel);
    tcase_add_test(tc, test_claim_competition);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    pgt_drop_dbs_like(g_url, g_prefix);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
