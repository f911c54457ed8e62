/* partitions.c - `sluice partitions`: partition maintenance by hand, and
 * the tick's "partitions" job (both drive pm_run, app/core/partman.h).
 *
 * By hand it prints one line per action and a summary, records "nothing to
 * do" on tables with nothing due, and exits 0 unless an action failed
 * (busy tables are not failures: the next run does them). --list prints
 * the sluice.partitions view. The clock is the server's now(), or
 * SLUICE_NOW for tests (scheduler.h), like the tick's. */
#include "partitions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli.h"
#include "log.h"
#include "partman.h"
#include "scheduler.h"

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sluice partitions [--dry-run] [--table SCHEMA.TABLE] [--list]\n\n"
            "Maintains the tables partitioned by snowflake id that are registered in\n"
            "sluice.partitioned_tables (each tick does this too):\n"
            "  - makes the partition holding now and `premake` more after it (day, week\n"
            "    or month wide, UTC), and past ranges that hold rows in the default\n"
            "    partition, moving those rows out of the default first (in batches of\n"
            "    batch_rows, in the transaction that attaches the partition);\n"
            "  - drops partitions entirely older than the table's retention, or detaches\n"
            "    them into archive_schema when archive is on; never the partition holding\n"
            "    now, never the default partition.\n"
            "Each action waits at most 2 s for a lock; a table whose lock is not granted\n"
            "is left for the next run (\"busy, retry later\"), and so is a table another\n"
            "process is maintaining. Results go to last_run_at / last_result /\n"
            "last_error of the registry and to the console's partitions page.\n\n"
            "  --dry-run        print what is due, change nothing\n"
            "  --table T        only the registered table T (e.g. sluice_runs.run_logs)\n"
            "  --list           print every partition (the sluice.partitions view) and exit\n"
            "  --help           this text\n\n"
            "Exit status: 0 done (busy tables included), 1 an action failed or the\n"
            "database is unavailable, 2 usage.\n\n"
            "For tests only: SLUICE_NOW=2026-01-02T03:04:05Z sets the clock (as for\n"
            "`sluice tick`). Never set it in production.\n");
    return out == stdout ? 0 : 2;
}

/* "2026-11-21 00:00:00+00" -> "2026-11-21 00:00" (the server's text). */
static void short_ts(char *out, size_t cap, const char *ts)
{
    if (!ts) {
        snprintf(out, cap, "?");
        return;
    }
    snprintf(out, cap, "%.16s", ts);
}

static void print_event(void *arg, const pm_event *ev)
{
    (void)arg;
    char from[24], to[24], rows[32];
    short_ts(from, sizeof from, ev->from_ts);
    short_ts(to, sizeof to, ev->to_ts);
    printf("%s: %s %s", ev->table, ev->action, ev->partition ? ev->partition : "-");
    if (ev->from_ts)
        printf(" [%s, %s)", from, to);
    printf(": %s", ev->outcome);
    if (strcmp(ev->outcome, "done") == 0 && ev->rows_moved > 0) {
        pm_group(rows, sizeof rows, ev->rows_moved);
        printf(", %s row%s moved out of the default partition", rows,
               ev->rows_moved == 1 ? "" : "s");
    }
    if (ev->error)
        printf(" (%s)", ev->error);
    else if (ev->detail && strcmp(ev->outcome, "planned") == 0)
        printf(" (%s)", ev->detail);
    printf("\n");
}

static int list_partitions(db *d, const char *table)
{
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    PGresult *res = NULL;
    sl_err e = db_query(d, a, &eb, &res,
                        "SELECT table_name, partition, is_default,"
                        " coalesce(to_char(from_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ''),"
                        " coalesce(to_char(to_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ''),"
                        " coalesce(est_rows::text, '?'), pg_size_pretty(size_bytes)"
                        " FROM sluice.partitions WHERE $1::text IS NULL OR table_name = $1"
                        " ORDER BY table_name, is_default DESC, from_id",
                        1, (const char *[]){table});
    if (e) {
        fprintf(stderr, "sluice partitions: %s\n", eb.msg);
        arena_free(a);
        return 1;
    }
    printf("%-28s %-40s %-35s %12s %10s\n", "table", "partition", "range (UTC)", "est. rows",
           "size");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *range = strcmp(PQgetvalue(res, i, 2), "t") == 0
                                ? "default"
                                : arena_printf(a, "%s .. %s", PQgetvalue(res, i, 3),
                                               PQgetvalue(res, i, 4));
        printf("%-28s %-40s %-35s %12s %10s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               range, PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
    }
    arena_free(a);
    return 0;
}

int cmd_partitions(int argc, char **argv, const sl_config *cfg)
{
    pm_opts o = {.record_idle = 1, .report = print_event};
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout);
        if (strcmp(argv[i], "--dry-run") == 0)
            o.dry_run = 1;
        else if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else if (strcmp(argv[i], "--table") == 0 && i + 1 < argc && argv[i + 1][0])
            o.table = argv[++i];
        else if (strncmp(argv[i], "--table=", 8) == 0 && argv[i][8])
            o.table = argv[i] + 8;
        else {
            fprintf(stderr, "sluice partitions: unexpected argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        fprintf(stderr, "sluice partitions: control database unavailable: %s\n", eb.msg);
        return 1;
    }
    if (list) {
        int rc = list_partitions(d, o.table);
        db_close(d);
        return rc;
    }
    sched_clock clock;
    sl_err e = sched_clock_init(&clock, d, getenv("SLUICE_NOW"), &eb);
    if (e) {
        fprintf(stderr, "sluice partitions: %s\n", eb.msg);
        db_close(d);
        return e == SL_EINVAL ? 2 : 1;
    }
    arena *a = arena_new(0);
    o.at = sched_clock_sql(&clock, a);
    pm_summary s;
    e = pm_run(d, &o, &s, &eb);
    db_close(d);
    arena_free(a);
    if (e) {
        fprintf(stderr, "sluice partitions: %s\n", eb.msg);
        return e == SL_ENOTFOUND ? 2 : 1;
    }
    char rows[32];
    pm_group(rows, sizeof rows, s.rows_moved);
    if (o.dry_run)
        printf("partitions: %d action%s due on %d table%s (dry run: nothing done)\n", s.actions,
               s.actions == 1 ? "" : "s", s.tables, s.tables == 1 ? "" : "s");
    else
        printf("partitions: %d created (%s rows moved out of default partitions), %d dropped,"
               " %d archived; %d table%s busy (retry later), %d failed\n",
               s.created, rows, s.dropped, s.archived, s.busy, s.busy == 1 ? "" : "s",
               s.failed);
    return s.failed ? 1 : 0;
}

void partitions_job(db *d, const char *at)
{
    pm_opts o = {.at = at};
    pm_summary s;
    sl_errbuf eb = {0};
    if (pm_run(d, &o, &s, &eb) != SL_OK) {
        log_warn("tick: partitions: %s", eb.msg);
        return;
    }
    if (s.created || s.dropped || s.archived || s.failed || s.busy)
        log_info("tick: partitions: %d created, %lld row(s) moved out of default partitions, "
                 "%d dropped, %d archived, %d table(s) busy, %d failed",
                 s.created, s.rows_moved, s.dropped, s.archived, s.busy, s.failed);
}
