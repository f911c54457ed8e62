/* pg_extract.h - the PostgreSQL source side of a sync: sessions with fixed
 * output settings, describing a table, one snapshot per table, the COPY
 * statement that extracts it. */
#ifndef SL_PG_EXTRACT_H
#define SL_PG_EXTRACT_H

#include "db.h"
#include "sync/tsync.h"

/* Connect with p (through the PostgreSQL connector, so failures read as
 * "password authentication failed for user ...") and fix the settings
 * that make COPY text exact and the same on both sides: DateStyle ISO,
 * TimeZone UTC, IntervalStyle postgres, extra_float_digits 3, bytea_output
 * hex, and no statement or idle-in-transaction timeouts. what names the
 * side in messages ("source"). The caller owns *out (db_close). */
sl_err pgx_connect(const conn_params *p, const char *what, db **out, sl_errbuf *eb);

/* Start the table's snapshot: BEGIN ISOLATION LEVEL REPEATABLE READ READ
 * ONLY. End it with db_rollback() (nothing to commit). */
sl_err pgx_snapshot(db *src, sl_errbuf *eb);

/* Describe t->pt's source table into t (q_source, cols, pk, est_rows) in a.
 * SL_ENOTFOUND when the table does not exist. */
sl_err pgx_describe(db *src, arena *a, tsync *t, sl_errbuf *eb);

/* max(watermark)::text in the current snapshot into *out (NULL when the
 * table has no non-NULL value). */
sl_err pgx_max_watermark(db *src, arena *a, const tsync *t, char **out, sl_errbuf *eb);

/* The WHERE clause (with its leading " WHERE") that reads rows whose
 * watermark is at least from (minus the lookback for temporal types; an
 * integer watermark has no lookback), plus the rows whose watermark is
 * NULL (none when the column is NOT NULL); "" when from is NULL (read
 * all). */
const char *pgx_where(arena *a, const tsync *t, const char *from);

/* How many rows the extraction will give, roughly: the exact count for
 * small tables, else the planner's estimate. -1 when unknown. */
long long pgx_estimate(db *src, arena *a, const tsync *t, const char *where);

/* COPY (SELECT <columns> FROM <table><where> [ORDER BY wm]) TO STDOUT. */
const char *pgx_copy_sql(arena *a, const tsync *t, const char *where, int ordered);

#endif
