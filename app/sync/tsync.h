/* tsync.h - one table's sync as the engine's files share it: what the
 * source said about the table, how it is loaded, and the destination names
 * (already quoted for SQL text).
 *
 * sync.c fills it table by table (the source describes the table through
 * source.h: src_pg.c / pg_extract.c for PostgreSQL, my_extract.c for MySQL;
 * pg_dest.c names and prepares the destination); pg_load.c reads it. It
 * lives in the run's table arena. */
#ifndef SL_TSYNC_H
#define SL_TSYNC_H

#include "sync/copytext.h"
#include "sync/plconf.h"

typedef struct {
    const char *name;
    const char *src_type;    /* the source's own type text: format_type(), or MySQL's
                              * COLUMN_TYPE */
    const char *dest_type;   /* at the destination, as format_type() prints it: enums
                              * text, domains their base type, MySQL types mapped */
    int notnull;             /* NOT NULL at the source */
    int pk;                  /* 1-based position in the primary key, 0 if not in it */
    enum ct_kind kind;       /* how raw mode writes it in JSON */
} ts_column;

enum ts_mode {
    TS_MERGE,    /* incremental, merged by primary key */
    TS_APPEND,   /* incremental without a primary key: append, deduplicated by row hash */
    TS_FULL      /* full refresh through a shadow table */
};

typedef struct {
    const pl_config *cfg;
    const pl_table *pt;
    long long run_id;
    char run_id_text[24];

    /* the source table (the source's describe) */
    const char *q_source;    /* "schema"."table", or `db`.`table` for MySQL */
    int ncols;
    ts_column *cols;
    int npk;
    int *pk;                 /* column indexes in key order */
    long long est_rows;      /* planner estimate, -1 unknown */
    int wm;                  /* watermark column index, -1 for none */
    int wm_temporal;         /* date / timestamp: the lookback applies */

    enum ts_mode mode;

    /* the destination (pg_dest.c) */
    const char *q_schema, *q_raw_schema;
    const char *q_target;    /* "analytics"."orders" */
    const char *q_shadow;    /* "analytics"."orders__sluice_shadow" */
    const char *shadow_name; /* orders__sluice_shadow (unquoted) */
    const char *q_tmp;       /* the session's temporary load table */
    const char *q_raw;       /* "staging"."source_orders_raw", or NULL when not raw */
    const char *q_state, *q_dead;
    const char *q_cols;      /* "a", "b", ... every source column */
    const char *hash_expr;   /* md5(ROW(...)::text) over the source columns */

    /* a full refresh's indexes, built on the shadow under temporary names
     * and renamed to the typed table's names by the swap */
    int nidx;
    const char **idx_tmp, **idx_name;
} tsync;

#endif
