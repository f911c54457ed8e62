/* plconf.h - a pipeline's configuration as the sync engine reads it: the
 * source and destination (credentials opened with the keyring), the
 * schemas, the load mode and the enabled tables. */
#ifndef SL_PLCONF_H
#define SL_PLCONF_H

#include "arena.h"
#include "db.h"
#include "err.h"
#include "sync/connector.h"

typedef struct {
    const char *source_schema;    /* as configured ("" for the default schema) */
    const char *schema;           /* resolved when none was configured: "public", or a
                                   * MySQL source's database */
    const char *source_table;
    const char *target_table;     /* the configured target, else source_table */
    int full_refresh;             /* sync_mode full_refresh */
    int raw;                      /* load mode raw (the table's, else the pipeline's) */
    const char *watermark_column; /* the override, or NULL */
    long lookback_seconds;
} pl_table;

typedef struct {
    const char *pipeline_id;
    const char *name;
    const char *source_name;
    conn_params source, dest;     /* passwords decrypted (in the arena) */
    const char *raw_schema;       /* the destination's (default staging) */
    const char *target_schema;    /* the pipeline's, else the destination's */
    int ntables;
    pl_table *tables;             /* enabled tables, in configured order */
} pl_config;

/* Read pipeline pipeline_id from the control database d into *out (every
 * string in a). SL_ENOTFOUND for a missing or deleted pipeline,
 * SL_EUNSUPPORTED when the source is not PostgreSQL, MySQL or MariaDB or the
 * destination not PostgreSQL, MySQL or MariaDB (dest.h),
 * SL_ECRYPTO / SL_ECONFIG when a password cannot be opened (keyring),
 * SL_EDB / SL_EDBDOWN from the database; eb says which. */
sl_err plconf_load(db *d, arena *a, const char *pipeline_id, pl_config *out, sl_errbuf *eb);

/* Wipe the decrypted passwords in cfg (call when done with it). */
void plconf_wipe(pl_config *cfg);

/* The source name as an identifier fragment for raw tables: lower case,
 * every run of other characters than [a-z0-9] one '_' ("Prod DB" ->
 * "prod_db"); "source" when nothing is left. In a. */
char *plconf_ident(arena *a, const char *name);

#endif
