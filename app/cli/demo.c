/* demo.c - `sluice demo setup`: register the demo shop that `make run`
 * offers a new user, and queue its first run.
 *
 * scripts/stack.sh loads scripts/demo.sql into the database sluice_demo of
 * the embedded cluster, then runs this with the cluster's password on
 * stdin. In one control-database transaction it registers the PostgreSQL
 * source "Demo shop" (password sealed under the master key) unless it
 * exists, and the pipeline "demo_shop" from it into the default
 * destination: its row, its tables, version 1 (the same snapshot and ETag
 * the console's pipeline model writes: see app/web/pipeline_model.c,
 * pl_snapshot and pl_etag), the audit rows, and a queued run (trigger
 * manual) for the next `sluice tick`. When the pipeline exists already it
 * does nothing, so running it on every start is harmless. The password is
 * never printed and is wiped from memory when done. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "cli.h"
#include "clihelp.h"
#include "cronexpr.h"
#include "crypto.h"
#include "jsonx.h"
#include "sync/run.h"

#define CMD "demo setup"
#define DEMO_LOCK_SQL "SELECT pg_advisory_xact_lock(hashtext('sluice.demo'))"
#define DEMO_SOURCE "Demo shop"
#define DEMO_PIPELINE "demo_shop"
#define DEMO_SCHEDULE "0 * * * *" /* the console's "Every hour" preset */
#define DEMO_TZ "UTC"
#define DEMO_DESCRIPTION                                                                      \
    "The demo shop that make run sets up: customers, orders and events sync "             \
    "incrementally on updated_at; page_views (no primary key) and countries (no "           \
    "watermark column) are refreshed in full. Delete it whenever you like."

/* The demo's tables in scripts/demo.sql, in pipeline order. */
static const struct {
    const char *table;
    const char *sync_mode;
} DEMO_TABLES[] = {
    {"customers", "incremental"},  {"orders", "incremental"},    {"events", "incremental"},
    {"page_views", "full_refresh"}, {"countries", "full_refresh"},
};
#define NDEMO_TABLES (sizeof DEMO_TABLES / sizeof DEMO_TABLES[0])

static const char USAGE[] =
    "usage: sluice demo setup --host H --port P --user U [--database D] [--no-run]\n"
    "\n"
    "Register the demo: a PostgreSQL source \"" DEMO_SOURCE "\" (database D, default\n"
    "sluice_demo, as loaded from scripts/demo.sql) and a pipeline \"" DEMO_PIPELINE "\" from\n"
    "it into the default destination: customers, orders and events incremental,\n"
    "page_views and countries full refresh, every hour. Then queue its first run\n"
    "(trigger manual) for the next `sluice tick`, unless --no-run.\n"
    "\n"
    "The password is the first line of stdin (empty: none); it is stored sealed\n"
    "with the secret key. An existing source \"" DEMO_SOURCE "\" is reused; when the\n"
    "pipeline exists nothing is done. On success the last line of output is\n"
    "\"run ID queued\", \"pipeline exists\" or \"no run queued\".\n"
    "scripts/stack.sh runs this on start (see SLUICE_DEMO there).\n"
    "\n"
    "  --host H      host name or address of the demo database\n"
    "  --port P      port, 1 to 65535\n"
    "  --user U      user name\n"
    "  --database D  database name (default sluice_demo)\n"
    "  --no-run      register only; queue no run\n"
    "  --help        this text\n";

typedef struct {
    const char *host, *port, *user, *database;
    int no_run;
} demo_opts;

/* Parse argv; -1 to go on, else the exit status. */
static int parse(int argc, char **argv, demo_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},     {"port", required_argument, NULL, 'p'},
        {"user", required_argument, NULL, 'u'},     {"database", required_argument, NULL, 'd'},
        {"no-run", no_argument, NULL, 'n'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->database = "sluice_demo";
    opterr = 0;
    optind = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, "+:h", longopts, NULL);
        if (ch == -1)
            break;
        switch (ch) {
        case 'H': o->host = optarg; break;
        case 'p': o->port = optarg; break;
        case 'u': o->user = optarg; break;
        case 'd': o->database = optarg; break;
        case 'n': o->no_run = 1; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case ':':
            return clihelp_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
        default: return clihelp_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return clihelp_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    const char *missing = !o->host ? "--host" : !o->port ? "--port" : !o->user ? "--user" : NULL;
    if (missing)
        return clihelp_usage_error(CMD, "%s is required", missing);
    if (!clihelp_port_ok(o->port))
        return clihelp_usage_error(CMD, "--port must be a number from 1 to 65535, not '%s'",
                                   o->port);
    if (!*o->host || !*o->database || !*o->user)
        return clihelp_usage_error(CMD, "%s",
                                   "--host, --database and --user must not be empty");
    return -1;
}

/* The id of the source "Demo shop", registering it when missing (*created
 * set then); NULL after printing why. */
static const char *ensure_source(acct_run *r, const demo_opts *o, const char *sealed,
                                 int *created)
{
    PGresult *res;
    if (db_query(r->d, r->a, &r->eb, &res,
                 "SELECT id FROM sluice.sources WHERE lower(name) = lower($1)", 1,
                 (const char *[]){DEMO_SOURCE}))
        goto fail;
    *created = 0;
    if (PQntuples(res) == 1)
        return PQgetvalue(res, 0, 0);
    if (db_query(r->d, r->a, &r->eb, &res,
                 "INSERT INTO sluice.sources (name, type, host, port, database, username,"
                 " password_enc, schema_include) VALUES ($1, 'postgresql', $2, $3::int, $4, $5,"
                 " $6, '{public}') RETURNING id",
                 6, (const char *[]){DEMO_SOURCE, o->host, o->port, o->database, o->user, sealed}))
        goto fail;
    const char *id = PQgetvalue(res, 0, 0);
    json_t *d = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:b, s:[s], s:s}", "name",
                          DEMO_SOURCE, "type", "postgresql", "host", o->host, "port",
                          (int)strtol(o->port, NULL, 10), "database", o->database, "user",
                          o->user, "has_password", sealed != NULL, "schema_include", "public",
                          "via", "sluice demo setup");
    if (acct_audit(r->d, r->a, &r->eb, "source.create", "source", id, d))
        goto fail;
    *created = 1;
    return id;
fail:
    acct_dbfail(r);
    return NULL;
}

/* The pipeline's version 1 snapshot: the shape of pl_snapshot() in
 * app/web/pipeline_model.c (keep them in step), a new reference. */
static json_t *snapshot(const char *source_id, const char *dest_id)
{
    json_t *tables = json_array();
    for (size_t i = 0; i < NDEMO_TABLES; i++)
        json_array_append_new(
            tables, json_pack("{s:s, s:s, s:n, s:s, s:n, s:n, s:i, s:b}", "source_schema",
                              "public", "source_table", DEMO_TABLES[i].table, "target_table",
                              "sync_mode", DEMO_TABLES[i].sync_mode, "load_mode",
                              "watermark_column", "lookback_seconds", 0, "enabled", 1));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:n, s:s, s:n, s:b, s:o}",
                     "name", DEMO_PIPELINE, "description", DEMO_DESCRIPTION, "source_id",
                     source_id, "destination_id", dest_id, "status", "active", "schedule",
                     DEMO_SCHEDULE, "timezone", DEMO_TZ, "max_retries", 3, "timeout_seconds",
                     3600, "depends_on", "load_mode", "direct", "target_schema", "deleted", 0,
                     "tables", tables);
}

/* The next fire time of the schedule as epoch seconds text, or NULL. */
static const char *next_run_at(arena *a)
{
    cron_expr ce;
    time_t t;
    if (cron_parse(DEMO_SCHEDULE, &ce, NULL) || cron_next(&ce, DEMO_TZ, time(NULL), &t, NULL))
        return NULL;
    return arena_printf(a, "%lld", (long long)t);
}

/* Insert the pipeline, its tables, version 1 and the audit row; the new id
 * in *id. SL_* with r->eb filled. */
static sl_err create_pipeline(acct_run *r, const char *source_id, const char *dest_id,
                              const char **id)
{
    PGresult *res;
    sl_err e = db_query(r->d, r->a, &r->eb, &res,
                        "INSERT INTO sluice.pipelines (name, description, source_id,"
                        " destination_id, schedule, timezone, next_run_at)"
                        " VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint))"
                        " RETURNING id",
                        7,
                        (const char *[]){DEMO_PIPELINE, DEMO_DESCRIPTION, source_id, dest_id,
                                         DEMO_SCHEDULE, DEMO_TZ, next_run_at(r->a)});
    if (e)
        return e;
    *id = PQgetvalue(res, 0, 0);
    json_t *snap = jsonx_own(r->a, snapshot(source_id, dest_id));
    /* The tables with their positions, for the insert (as the console's). */
    json_t *rows = jsonx_own(r->a, json_deep_copy(json_object_get(snap, "tables")));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        json_object_set_new(row, "position", json_integer((json_int_t)i));
    const char *tables = jsonx_dump(r->a, rows);
    /* Canonical text and ETag exactly as pl_canonical() and pl_etag(). */
    char *s = json_dumps(snap, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        sl_panic("demo: out of memory");
    const char *canon = arena_strdup(r->a, s);
    free(s);
    const char *etag = arena_printf(r->a, "1-%.20s", cr_sha256_hex(r->a, canon, strlen(canon)));
    e = db_exec(r->d, &r->eb,
                "INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table,"
                " target_table, sync_mode, load_mode, watermark_column, lookback_seconds,"
                " enabled, position)"
                " SELECT $1, t.source_schema, t.source_table, t.target_table, t.sync_mode,"
                " t.load_mode, t.watermark_column, t.lookback_seconds, t.enabled, t.position"
                " FROM jsonb_to_recordset($2::jsonb) AS t(source_schema text,"
                " source_table text, target_table text, sync_mode text, load_mode text,"
                " watermark_column text, lookback_seconds integer, enabled boolean,"
                " position integer)",
                2, (const char *[]){*id, tables});
    if (!e)
        e = db_query(r->d, r->a, &r->eb, &res,
                     "INSERT INTO sluice.pipeline_versions (pipeline_id, version, snapshot,"
                     " etag, message, author_email) VALUES ($1, 1, $2::jsonb, $3, $4, 'cli')"
                     " RETURNING id",
                     4, (const char *[]){*id, canon, etag, "demo set up by make run"});
    if (!e)
        e = db_exec(r->d, &r->eb,
                    "UPDATE sluice.pipelines SET version = 1, current_version_id = $2"
                    " WHERE id = $1",
                    2, (const char *[]){*id, PQgetvalue(res, 0, 0)});
    if (e)
        return e;
    json_t *d = json_pack("{s:s, s:i, s:s, s:s}", "name", DEMO_PIPELINE, "version", 1,
                          "message", "demo set up by make run", "via", "sluice demo setup");
    return acct_audit(r->d, r->a, &r->eb, "pipeline.create", "pipeline", *id, d);
}

static void print_source(const demo_opts *o, const char *id, int created)
{
    if (created)
        printf("created source \"%s\" (%s, %s:%s/%s)\n", DEMO_SOURCE, id, o->host, o->port,
               o->database);
    else
        printf("source \"%s\" exists (%s)\n", DEMO_SOURCE, id);
}

/* Register what is missing and queue the first run; 0 done. */
static int setup(acct_run *r, const demo_opts *o, const char *sealed)
{
    PGresult *res;
    if (db_begin(r->d, &r->eb) || db_exec(r->d, &r->eb, DEMO_LOCK_SQL, 0, NULL))
        return acct_dbfail(r);
    int created;
    const char *source_id = ensure_source(r, o, sealed, &created);
    if (!source_id)
        return 1;
    if (db_query(r->d, r->a, &r->eb, &res,
                 "SELECT id FROM sluice.pipelines WHERE lower(name) = lower($1)"
                 " AND deleted_at IS NULL",
                 1, (const char *[]){DEMO_PIPELINE}))
        return acct_dbfail(r);
    if (PQntuples(res) == 1) {
        if (db_commit(r->d, &r->eb))
            return acct_dbfail(r);
        print_source(o, source_id, created);
        printf("pipeline %s exists (%s)\npipeline exists\n", DEMO_PIPELINE,
               PQgetvalue(res, 0, 0));
        return 0;
    }
    if (db_query(r->d, r->a, &r->eb, &res,
                 "SELECT id FROM sluice.destinations WHERE is_default", 0, NULL))
        return acct_dbfail(r);
    if (PQntuples(res) != 1)
        return acct_fail(CMD, "there is no default destination to sync the demo into; "
                              "register one first (sluice destination add-local)");
    const char *dest_id = PQgetvalue(res, 0, 0), *id;
    int64_t run = 0;
    if (create_pipeline(r, source_id, dest_id, &id) ||
        (!o->no_run &&
         run_queue(r->d, id, "manual", NULL, NULL, NULL, &run, &r->eb) != SL_OK) ||
        db_commit(r->d, &r->eb))
        return acct_dbfail(r);
    print_source(o, source_id, created);
    printf("created pipeline %s (%s), %zu tables, every hour\n", DEMO_PIPELINE, id,
           NDEMO_TABLES);
    if (o->no_run)
        printf("no run queued\n");
    else
        printf("run %lld queued\n", (long long)run);
    return 0;
}

static int demo_setup(int argc, char **argv, const sl_config *cfg)
{
    demo_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    acct_run r;
    const char *sealed;
    rc = clihelp_start_sealed(&r, CMD, cfg, &sealed);
    if (rc)
        return rc;
    return acct_finish(&r, setup(&r, &o, sealed));
}

static const acct_subcmd SUBS[] = {
    {"setup", demo_setup, "register the demo source and pipeline, queue its first run"},
};

int cmd_demo(int argc, char **argv, const sl_config *cfg)
{
    return acct_dispatch("demo", "The demo shop that `make run` sets up.", SUBS,
                         sizeof SUBS / sizeof SUBS[0], argc, argv, cfg);
}
