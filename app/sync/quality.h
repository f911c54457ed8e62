/* quality.h - per-table quality checks of a sync run, recorded with
 * run_quality(): the row count discrepancy against a threshold, and NULLs
 * where the source declares NOT NULL. */
#ifndef SL_QUALITY_H
#define SL_QUALITY_H

#include "sync/run.h"
#include "sync/tsync.h"

/* The allowed row count discrepancy in percent: settings key "quality",
 * field "row_count_threshold_pct" in the control database, else 0 (the
 * counts must agree exactly). Never fails (a bad value means 0). */
double quality_threshold(db *control);

/* The discrepancy between expected and actual in percent of expected
 * (of 1 when expected is 0). */
double quality_discrepancy(long long expected, long long actual);

/* Record the row count check for table: expected rows (extracted from the
 * source), actual (loaded, or counted at the destination, plus dead
 * letters); what says what was compared. Returns 1 when it passed. */
int quality_row_count(run_ctx *rc, const char *table, long long expected, long long actual,
                      double threshold_pct, const char *what);

/* Record the NOT NULL check: nulls[i] is the NULL count of t's column i
 * over this run's rows. Nothing is recorded when the source declares no
 * NOT NULL column. Returns 1 when it passed. */
int quality_not_null(run_ctx *rc, const char *table, const tsync *t, const long long *nulls);

#endif
