/* pg_dest.h - the PostgreSQL destination's tables: the checkpoint and dead
 * letter tables, the typed table and its drift, raw tables, and the shadow
 * table a full refresh loads and swaps in. */
#ifndef SL_PG_DEST_H
#define SL_PG_DEST_H

#include "db.h"
#include "sync/tsync.h"

/* What pgd_ensure_target found and did. Names live in the arena. */
typedef struct {
    int created;         /* the typed table did not exist and was created */
    int nadded, ndropped, nretyped;
    const char **added, **added_type;        /* new source columns, now added */
    const char **dropped;                    /* kept at the destination, NULL from now on */
    const char **retyped, **retyped_from, **retyped_to;
} pgd_drift;

/* Settings for the destination session, on top of pgx_connect's: memory
 * for sorting a chunk (work_mem), the temporary load table (temp_buffers)
 * and building a shadow's indexes (maintenance_work_mem). Before any
 * temporary table is used. */
sl_err pgd_session(db *dst, sl_errbuf *eb);

/* Fill t's destination names (q_schema, q_target, q_shadow, q_tmp, q_raw
 * when raw, q_state, q_dead, q_cols, hash_expr) from its configuration and
 * source columns. Needs t->cfg, t->pt, t->cols. */
void pgd_names(arena *a, tsync *t);

/* Create, when missing, the raw and target schemas, <raw>._sluice_state and
 * <raw>._dead_letters (under an advisory lock, so two runs do not race).
 * Errors from the destination (SL_EDB, SL_EDBDOWN). */
sl_err pgd_ensure_meta(db *dst, arena *a, const pl_config *cfg, sl_errbuf *eb);

/* Create the typed table when missing (source columns and types, primary
 * key, _sluice_run_id, _sluice_synced_at); otherwise add the source
 * columns it lacks, and note columns dropped or retyped at the source
 * (each change is reported once: the column's comment remembers it).
 * With hash set (append mode) also make sure of _sluice_row_hash and its
 * unique index. The raw table too in raw mode. *drift says what changed. */
sl_err pgd_ensure_target(db *dst, arena *a, tsync *t, int hash, pgd_drift *drift,
                         sl_errbuf *eb);

/* The checkpoint of t: *wm the watermark text (NULL when none or when it
 * belongs to another watermark column), *found whether a row exists. */
sl_err pgd_checkpoint(db *dst, arena *a, const tsync *t, char **wm, int *found,
                      sl_errbuf *eb);

/* Whether the typed table has no rows. */
sl_err pgd_target_empty(db *dst, arena *a, const tsync *t, int *empty, sl_errbuf *eb);

/* How pgd_state_write moves a checkpoint. */
enum pgd_state_how {
    PGD_STATE_ADVANCE, /* the watermark only moves forward (compared as the column's type);
                        * rows adds up: a chunk of an incremental run */
    PGD_STATE_REWIND,  /* the watermark is set as given; rows adds up: a backfill's first */
    PGD_STATE_RESET    /* watermark and rows are set as given: a full refresh */
};

/* Write t's checkpoint in the current transaction, moving it as how says.
 * wm may be NULL (no new watermark: ADVANCE keeps the old one). The
 * resulting watermark and row total go to *wm_out (in a; may be NULL)
 * and *rows_out (may be NULL). Errors from the destination. */
sl_err pgd_state_write(db *dst, arena *a, const tsync *t, const char *wm, long long rows,
                       enum pgd_state_how how, char **wm_out, long long *rows_out,
                       sl_errbuf *eb);

/* Start a full refresh: BEGIN, then the shadow table like the typed one
 * (columns, defaults, checks; no indexes yet) whose _sluice_run_id
 * defaults to this run. The transaction stays open until pgd_shadow_swap
 * commits it (or the caller rolls it back). */
sl_err pgd_shadow_begin(db *dst, arena *a, tsync *t, sl_errbuf *eb);

/* After loading: drop that default, fill _sluice_row_hash when the table
 * has one, add the primary key and rebuild the typed table's other
 * indexes on the shadow. With scan set, one scan counts the shadow's rows
 * into *count and the NULLs of each column the source declares NOT NULL
 * into nulls[i] (else the caller knows them and they are left alone). */
sl_err pgd_shadow_finish(db *dst, arena *a, tsync *t, int scan, long long *count,
                         long long *nulls, sl_errbuf *eb);

/* Swap the shadow in and COMMIT: grants copied, then DROP + RENAME; or,
 * when the typed table has what that would lose (views over it, foreign
 * keys to it, triggers, row-level security, a publication, another
 * owner), DELETE + INSERT of its rows instead. Readers see the old rows
 * until the commit and the new ones after it. */
sl_err pgd_shadow_swap(db *dst, arena *a, tsync *t, sl_errbuf *eb);

#endif
