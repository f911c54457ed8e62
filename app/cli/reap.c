/* reap.c - `sluice reap`: apply the retention settings now (the tick does
 * it every reaper_interval_minutes through app/core/reaper.c).
 *
 * Prints what was deleted per category (or, with --dry-run, what would
 * be); --json prints the reaper's result object instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonx.h"
#include "log.h"
#include "reaper.h"

static const char USAGE[] =
    "usage: sluice reap [--dry-run] [--budget SECONDS] [--batch ROWS] [--json]\n"
    "\n"
    "Apply the retention settings (the console's Settings page, sluice.settings\n"
    "'retention', and each pipeline's overrides) now: expired sessions, old\n"
    "sign-in attempts and webhook receipts, run logs and events older than their\n"
    "age (rows of the default partition; whole old partitions are dropped by\n"
    "partition upkeep), quality results by age and beyond the newest N per table,\n"
    "old audit entries, pipelines deleted long enough ago (with their runs,\n"
    "versions and triggers), finished runs beyond the newest N per pipeline or\n"
    "older than the run age, and processed landing files. Rows go in batches of\n"
    "reaper_batch_size, each committed alone. The tick does the same every\n"
    "reaper_interval_minutes; only one process reaps at a time.\n"
    "\n"
    "  --dry-run          count what would be deleted; change nothing\n"
    "  --budget SECONDS   stop starting batches after this long (default: no limit;\n"
    "                     the tick uses reaper_time_budget_seconds)\n"
    "  --batch ROWS       rows per statement (default: reaper_batch_size)\n"
    "  --json             print the result as JSON\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 when every category ran, 1 when one failed or the database\n"
    "could not be reached (or another process was reaping), 2 for a usage error.\n";

static int parse_num(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return 0;
    long long v = strtoll(s, &end, 10);
    if (*end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static void print_result(const reaper_result *res, int dry)
{
    long long total = 0;
    printf("%s in %.2f s%s:\n", dry ? "retention dry run (nothing deleted)" : "retention applied",
           (double)res->duration_ms / 1000.0,
           res->complete ? "" : " (out of time: the next run carries on)");
    for (int c = 0; c < REAP_NCATS; c++) {
        printf("  %-18s %lld\n", reaper_category_name((reap_category)c), res->counts[c]);
        total += res->counts[c];
    }
    printf("  %-18s %lld%s\n", "total", total, dry ? " would be deleted" : " deleted");
    if (res->error[0])
        printf("error: %s\n", res->error);
}

int cmd_reap(int argc, char **argv, const sl_config *cfg)
{
    reaper_opts o = {.budget_seconds = -1, .var_dir = cfg->var_dir};
    int json = 0;
    for (int i = 1; i < argc; i++) {
        long long v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            o.dry_run = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--budget") == 0 && i + 1 < argc &&
                   parse_num(argv[i + 1], 1, 86400, &v)) {
            o.budget_seconds = (double)v;
            i++;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc &&
                   parse_num(argv[i + 1], 1, 1000000, &v)) {
            o.batch_size = v;
            i++;
        } else {
            fprintf(stderr, "sluice reap: bad argument '%s'\nRun `sluice reap --help`.\n",
                    argv[i]);
            return 2;
        }
    }
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        log_error("reap: control database unavailable: %s", eb.msg);
        return 1;
    }
    reaper_result res;
    sl_err e = reaper_run(d, &o, &res, &eb);
    db_close(d);
    if (e) {
        log_error("reap: %s", eb.msg);
        return 1;
    }
    if (json) {
        arena *a = arena_new(0);
        json_t *j = reaper_result_json(&res, o.dry_run);
        printf("%s\n", jsonx_dump(a, j));
        json_decref(j);
        arena_free(a);
    } else {
        print_result(&res, o.dry_run);
    }
    return res.errors ? 1 : 0;
}
