/* quality.c - the quality checks a sync runs per table: row counts against
 * a threshold (default exact), NULLs in columns the source declares NOT
 * NULL. Results go to the run's quality log through run_quality(). */
#include "sync/quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double quality_threshold(db *control)
{
    char *v = NULL;
    sl_errbuf ignore;
    arena *a = arena_new(0);
    double pct = 0;
    if (db_query_value(control, a, &ignore, &v,
                       "SELECT (value->>'row_count_threshold_pct')::float8 FROM sluice.settings"
                       " WHERE key = 'quality' AND jsonb_typeof(value) = 'object'",
                       0, NULL) == SL_OK && v) {
        char *end;
        pct = strtod(v, &end);
        if (*end || !isfinite(pct) || pct < 0)
            pct = 0;
    }
    arena_free(a);
    return pct;
}

double quality_discrepancy(long long expected, long long actual)
{
    long long diff = expected > actual ? expected - actual : actual - expected;
    return 100.0 * (double)diff / (double)(expected > 0 ? expected : 1);
}

int quality_row_count(run_ctx *rc, const char *table, long long expected, long long actual,
                      double threshold_pct, const char *what)
{
    double pct = quality_discrepancy(expected, actual);
    int passed = expected == actual || (threshold_pct > 0 && pct <= threshold_pct);
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %lld expected, %lld found (%.4g%% off, threshold %.4g%%)",
             what, expected, actual, pct, threshold_pct);
    run_quality(rc, table, "row_count", passed ? "passed" : "failed", expected, actual, NULL, 0,
                msg);
    return passed;
}

int quality_not_null(run_ctx *rc, const char *table, const tsync *t, const long long *nulls)
{
    int required = 0, bad = 0;
    long long total = 0;
    const char *cols[t->ncols > 0 ? t->ncols : 1];
    for (int i = 0; i < t->ncols; i++) {
        if (!t->cols[i].notnull)
            continue;
        required++;
        if (nulls[i] > 0) {
            cols[bad++] = t->cols[i].name;
            total += nulls[i];
        }
    }
    if (!required)
        return 1;
    char msg[256];
    if (bad)
        snprintf(msg, sizeof msg, "%lld NULL value(s) in %d column(s) the source declares "
                                  "NOT NULL", total, bad);
    else
        snprintf(msg, sizeof msg, "no NULLs in the %d column(s) the source declares NOT NULL",
                 required);
    run_quality(rc, table, "not_null", bad ? "failed" : "passed", 0, total, bad ? cols : NULL,
                bad, msg);
    return !bad;
}
