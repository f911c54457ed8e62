/* sync.c - `sluice sync PIPELINE`: run one pipeline now, in the foreground.
 *
 * The run is recorded like any other (trigger 'cli'): it shows in the
 * console while it goes. On a terminal a progress line is redrawn in place
 * (rows, rows/s, ETA, current table) with the run's log lines scrolling
 * above it; otherwise the log lines are printed plainly, with a progress
 * line every PLAIN_PROGRESS_SECONDS. Ctrl-C (or SIGTERM) asks the run to
 * stop at the next chunk boundary and records it cancelled; a second
 * Ctrl-C ends the process at once. The exit status is 0 only when the run
 * succeeded. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jsonx.h"
#include "keyring.h"
#include "log.h"
#include "runner.h"

#define CMD "sync"
#define PLAIN_PROGRESS_SECONDS 10
#define BAR_WIDTH 24

static const char USAGE[] =
    "usage: sluice sync PIPELINE [--table T] [--full-refresh] [--backfill-from VALUE]\n"
    "\n"
    "Run one pipeline now, in the foreground, and wait for it. PIPELINE is the\n"
    "pipeline's name or id. The run is recorded (trigger \"cli\") and shows in the\n"
    "console. On a terminal a progress line shows rows, rows/s, ETA and the\n"
    "current table; otherwise the run's log lines are printed. Ctrl-C stops the\n"
    "run at the next chunk boundary (what was committed stays) and records it\n"
    "cancelled; a second Ctrl-C quits at once.\n"
    "\n"
    "  --table T             only this table (\"schema.table\" or \"table\")\n"
    "  --full-refresh        reload the tables completely (through a shadow table)\n"
    "  --backfill-from VALUE restart incremental tables from this watermark value\n"
    "  --help                this text\n"
    "\n"
    "Exit status: 0 when the run succeeded, 1 when it failed or was cancelled,\n"
    "2 for a usage error.\n";

typedef struct {
    const char *pipeline, *table, *backfill_from;
    int full_refresh;
} sync_args;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice " CMD ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun `sluice " CMD " --help` for its options.\n");
    return 2;
}

/* Parse argv; -1 to go on, else the exit status. */
static int parse(int argc, char **argv, sync_args *o)
{
    static const struct option longopts[] = {
        {"table", required_argument, NULL, 't'},
        {"full-refresh", no_argument, NULL, 'f'},
        {"backfill-from", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    opterr = 0;
    optind = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, ":h", longopts, NULL);
        if (ch == -1)
            break;
        switch (ch) {
        case 't': o->table = optarg; break;
        case 'f': o->full_refresh = 1; break;
        case 'b': o->backfill_from = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("%s", "which pipeline? Give its name or id");
    o->pipeline = argv[optind++];
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!*o->pipeline)
        return usage_error("%s", "the pipeline name is empty");
    if (o->table && !*o->table)
        return usage_error("%s", "--table needs a table name");
    if (o->backfill_from && !*o->backfill_from)
        return usage_error("%s", "--backfill-from needs a value");
    if (o->full_refresh && o->backfill_from)
        return usage_error("%s", "--full-refresh and --backfill-from do not go together");
    return -1;
}

/* --- output ------------------------------------------------------------------------- */

typedef struct {
    int tty;
    int debug;              /* print debug lines too */
    int bar_shown;          /* a progress line is on screen (tty) */
    char bar[512];          /* the last one drawn */
    time_t last_plain;      /* last plain progress line */
} view;

/* n with thousands separators, into buf. */
static const char *grouped(char *buf, size_t cap, long long n)
{
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0 && o + 1 < cap)
        buf[o++] = '-';
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *duration(char *buf, size_t cap, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* The progress text (without a bar for plain output). */
static void progress_text(const run_progress_info *p, int with_bar, char *out, size_t cap)
{
    char done[32], est[32], rate[32], eta[32];
    double r = p->elapsed > 0.2 ? (double)p->rows_done / p->elapsed : 0;
    size_t n = 0;
    if (p->rows_estimate > 0) {
        double frac = (double)p->rows_done / (double)p->rows_estimate;
        if (frac > 1)
            frac = 1;
        if (with_bar) {
            int fill = (int)(frac * BAR_WIDTH);
            n += (size_t)snprintf(out + n, cap - n, "[");
            for (int i = 0; i < BAR_WIDTH && n + 2 < cap; i++)
                out[n++] = i < fill ? '#' : '.';
            n += (size_t)snprintf(out + n, cap - n, "] ");
        }
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%3d%%  %s / %s rows",
                              (int)(frac * 100), grouped(done, sizeof done, p->rows_done),
                              grouped(est, sizeof est, p->rows_estimate));
    } else {
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s rows",
                              grouped(done, sizeof done, p->rows_done));
    }
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "  %s rows/s",
                          grouped(rate, sizeof rate, (long long)r));
    if (p->rows_estimate > p->rows_done && r > 0 && !p->final)
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "  ETA %s",
                              duration(eta, sizeof eta,
                                       (double)(p->rows_estimate - p->rows_done) / r));
    if (p->tables_total > 0)
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "  tables %d/%d", p->tables_done,
                              p->tables_total);
    if (p->current_table && !p->final)
        snprintf(out + n, n < cap ? cap - n : 0, "  %s", p->current_table);
}

static void draw_bar(view *v)
{
    int w = term_width() - 1;
    printf("\r\033[K%.*s", w, v->bar);
    fflush(stdout);
    v->bar_shown = 1;
}

static void on_progress(const run_progress_info *p, void *arg)
{
    view *v = arg;
    if (v->tty) {
        progress_text(p, 1, v->bar, sizeof v->bar);
        draw_bar(v);
        if (p->final) {
            printf("\n");
            v->bar_shown = 0;
        }
        return;
    }
    time_t now = time(NULL);
    if (!p->final && now - v->last_plain < PLAIN_PROGRESS_SECONDS)
        return;
    v->last_plain = now;
    char text[512];
    progress_text(p, 0, text, sizeof text);
    printf("progress: %s\n", text);
    fflush(stdout);
}

static void on_log(enum run_level level, const char *table, const char *message, void *arg)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    view *v = arg;
    if (level == RUN_DEBUG && !v->debug)
        return;
    char at[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (v->tty && v->bar_shown)
        printf("\r\033[K");
    printf("%s %-5s %s%s%s%s\n", at, names[level], table ? "[" : "", table ? table : "",
           table ? "] " : "", message);
    if (v->tty && v->bar_shown)
        draw_bar(v);
    fflush(stdout);
}

/* --- the command -------------------------------------------------------------------- */

/* The id and name of the live pipeline called (or with id) name. */
static int find_pipeline(db *d, arena *a, const char *name, const char **id,
                         const char **pname)
{
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = db_query(d, a, &eb, &res,
                        "SELECT id, name FROM sluice.pipelines WHERE deleted_at IS NULL"
                        " AND (id::text = lower($1) OR lower(name) = lower($1))"
                        " ORDER BY (id::text = lower($1)) DESC LIMIT 1",
                        1, (const char *[]){name});
    if (e) {
        fprintf(stderr, "sluice " CMD ": %s\n", eb.msg);
        return 1;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "sluice " CMD ": no pipeline is called '%s' or has that id\n", name);
        return 1;
    }
    *id = PQgetvalue(res, 0, 0);
    *pname = PQgetvalue(res, 0, 1);
    return -1;
}

/* The recorded outcome, as one line. */
static void summary(db *d, arena *a, int64_t id, const char *status)
{
    PGresult *res;
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", (long long)id);
    if (db_query(d, a, NULL, &res,
                 "SELECT rows_loaded, dead_letters, quality_failures, error,"
                 " extract(epoch FROM finished_at - started_at) FROM sluice_runs.runs"
                 " WHERE id = $1",
                 1, (const char *[]){idt}) != SL_OK ||
        PQntuples(res) != 1) {
        printf("run %s: %s\n", idt, status);
        return;
    }
    char rows[32], dead[32];
    double secs = strtod(PQgetvalue(res, 0, 4), NULL);
    printf("run %s: %s, %s rows loaded in %.1f s", idt, status,
           grouped(rows, sizeof rows, strtoll(PQgetvalue(res, 0, 0), NULL, 10)), secs);
    long long dl = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    if (dl > 0)
        printf(", %s dead letters", grouped(dead, sizeof dead, dl));
    long q = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    if (q > 0)
        printf(", %ld quality checks failed", q);
    printf("\n");
    if (!PQgetisnull(res, 0, 3) && strcmp(status, "success") != 0)
        fprintf(stderr, "sluice " CMD ": %s\n", PQgetvalue(res, 0, 3));
}

static json_t *run_options_for(const sync_args *o)
{
    json_t *opts = json_object();
    if (o->table)
        json_object_set_new(opts, "tables", json_pack("[s]", o->table));
    if (o->full_refresh)
        json_object_set_new(opts, "full_refresh", json_true());
    if (o->backfill_from)
        json_object_set_new(opts, "backfill_from", json_string(o->backfill_from));
    return opts;
}

int cmd_sync(int argc, char **argv, const sl_config *cfg)
{
    sync_args o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        fprintf(stderr, "sluice " CMD ": control database unavailable: %s\n", eb.msg);
        return 1;
    }
    unsigned char key[CR_KEY_BYTES];
    sl_err e = keyring_load(cfg, d, key, &eb);
    sodium_memzero(key, sizeof key);
    if (e) {
        fprintf(stderr, "sluice " CMD ": %s\n", eb.msg);
        db_close(d);
        return 1;
    }
    arena *a = arena_new(0);
    const char *id = NULL, *name = NULL;
    rc = find_pipeline(d, a, o.pipeline, &id, &name);
    if (rc >= 0) {
        arena_free(a);
        db_close(d);
        return rc;
    }
    json_t *opts = run_options_for(&o);
    run_ctx *run = NULL;
    e = run_start(cfg->database_url, id, "cli", opts, &run, &eb);
    json_decref(opts);
    if (e) {
        fprintf(stderr, "sluice " CMD ": %s: %s\n", name, eb.msg);
        arena_free(a);
        db_close(d);
        return 1;
    }
    int64_t run_no = run_id(run);
    view v = {.tty = isatty(STDOUT_FILENO),
              .debug = log_level_parse(cfg->log_level) == LOG_DEBUG};
    run_hooks hooks = {on_progress, on_log, &v};
    run_set_hooks(run, &hooks);
    runner_signals();
    printf("run %lld: syncing pipeline \"%s\"%s\n", (long long)run_no, name,
           v.tty ? " (Ctrl-C stops at the next chunk)" : "");
    fflush(stdout);
    sync_opts so;
    sync_opts_from_run(run, &so);
    if (o.table)
        so.only_table = o.table;
    if (o.full_refresh)
        so.full_refresh = 1;
    if (o.backfill_from)
        so.backfill_from = o.backfill_from;
    sl_err fe = SL_OK;
    const char *status = runner_execute(run, &so, &fe);
    if (fe != SL_OK)
        fprintf(stderr, "sluice " CMD ": the run's end could not be recorded (%s); the console "
                        "will show it failed once its heartbeat is missed\n",
                sl_strerror(fe));
    summary(d, a, run_no, status);
    arena_free(a);
    db_close(d);
    return strcmp(status, "success") == 0 && fe == SL_OK ? 0 : 1;
}
