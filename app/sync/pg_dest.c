/* pg_dest.c - the PostgreSQL destination's tables: checkpoints, dead
 * letters, typed tables and their drift, raw tables, and the shadow table
 * of a full refresh.
 *
 * Layout (DESIGN.md section 3): <raw_schema> (default staging) holds
 * _sluice_state (the checkpoints, written in the same transaction as the
 * data they describe), _dead_letters, and in raw mode
 * <source>_<table>_raw; <target_schema> (default analytics) holds the
 * typed tables with _sluice_run_id and _sluice_synced_at. Every name in SQL
 * text is quoted here; values go as parameters.
 *
 * A full refresh happens in one destination transaction: the shadow table
 * is created like the typed one (so columns kept for drift, defaults and
 * checks survive), loaded, indexed (primary key and the typed table's own
 * indexes, built after the load), and swapped in; the old table stays
 * readable until the commit. */
#include "sync/pg_dest.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

#define DDL_LOCK_SQL "SELECT pg_advisory_xact_lock(hashtext('sluice.destination_ddl'))"
#define TMP_TABLE "pg_temp._sluice_load"

static sl_err exec(db *d, sl_errbuf *eb, const char *sql)
{
    return db_exec(d, eb, sql, 0, NULL);
}

static const char *qname(arena *a, const char *schema, const char *name)
{
    return arena_printf(a, "%s.%s", db_quote_ident(a, schema), db_quote_ident(a, name));
}

sl_err pgd_session(db *dst, sl_errbuf *eb)
{
    return exec(dst, eb, "SELECT set_config('work_mem', '64MB', false),"
                         " set_config('temp_buffers', '64MB', false),"
                         " set_config('maintenance_work_mem', '256MB', false)");
}

void pgd_names(arena *a, tsync *t)
{
    const pl_config *cfg = t->cfg;
    const char *table = t->pt->target_table;
    t->q_schema = db_quote_ident(a, cfg->target_schema);
    t->q_raw_schema = db_quote_ident(a, cfg->raw_schema);
    t->q_target = qname(a, cfg->target_schema, table);
    t->shadow_name = arena_printf(a, "%s__sluice_shadow", table);
    t->q_shadow = qname(a, cfg->target_schema, t->shadow_name);
    t->q_tmp = TMP_TABLE;
    t->q_state = qname(a, cfg->raw_schema, "_sluice_state");
    t->q_dead = qname(a, cfg->raw_schema, "_dead_letters");
    t->q_raw = t->pt->raw
                   ? qname(a, cfg->raw_schema,
                           arena_printf(a, "%s_%s_raw", plconf_ident(a, cfg->source_name),
                                        t->pt->source_table))
                   : NULL;
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            sb_puts(&b, ", ");
        sb_puts(&b, db_quote_ident(a, t->cols[i].name));
    }
    t->q_cols = arena_strdup(a, sb_str(&b));
    t->hash_expr = arena_printf(a, "md5(ROW(%s)::text)", t->q_cols);
}

/* ---- meta tables ----------------------------------------------------------- */

sl_err pgd_ensure_meta(db *dst, arena *a, const pl_config *cfg, sl_errbuf *eb)
{
    const char *raw = db_quote_ident(a, cfg->raw_schema);
    const char *target = db_quote_ident(a, cfg->target_schema);
    const char *state = qname(a, cfg->raw_schema, "_sluice_state");
    const char *dead = qname(a, cfg->raw_schema, "_dead_letters");
    const char *stmts[] = {
        DDL_LOCK_SQL,
        arena_printf(a, "CREATE SCHEMA IF NOT EXISTS %s", raw),
        arena_printf(a, "CREATE SCHEMA IF NOT EXISTS %s", target),
        arena_printf(a, "CREATE TABLE IF NOT EXISTS %s ("
                        " pipeline_id uuid NOT NULL, source_schema text NOT NULL,"
                        " source_table text NOT NULL, watermark_column text, watermark text,"
                        " rows bigint NOT NULL DEFAULT 0, run_id bigint,"
                        " updated_at timestamptz NOT NULL DEFAULT now(),"
                        " PRIMARY KEY (pipeline_id, source_schema, source_table))", state),
        arena_printf(a, "CREATE TABLE IF NOT EXISTS %s ("
                        " id bigserial PRIMARY KEY, pipeline_id uuid NOT NULL,"
                        " run_id bigint NOT NULL, source_name text NOT NULL,"
                        " source_schema text NOT NULL, table_name text NOT NULL,"
                        " row_data jsonb NOT NULL, error_text text,"
                        " failed_at timestamptz NOT NULL DEFAULT now(),"
                        " retried_at timestamptz, resolved_at timestamptz)", dead),
        arena_printf(a, "CREATE INDEX IF NOT EXISTS _dead_letters_open_idx ON %s"
                        " (pipeline_id, source_schema, table_name, id)"
                        " WHERE resolved_at IS NULL", dead),
        arena_printf(a, "CREATE INDEX IF NOT EXISTS _dead_letters_run_idx ON %s (run_id)",
                     dead),
    };
    db_rollback(dst);
    sl_err e = db_begin(dst, eb);
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0] && e == SL_OK; i++)
        e = exec(dst, eb, stmts[i]);
    if (e == SL_OK)
        return db_commit(dst, eb);
    db_rollback(dst);
    return e;
}

/* ---- the typed table ------------------------------------------------------- */

static sl_err create_target(db *dst, arena *a, const tsync *t, int hash, sl_errbuf *eb)
{
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    sb_printf(&b, "CREATE TABLE %s (", t->q_target);
    for (int i = 0; i < t->ncols; i++)
        sb_printf(&b, "%s %s, ", db_quote_ident(a, t->cols[i].name), t->cols[i].dest_type);
    sb_puts(&b, "_sluice_run_id bigint NOT NULL,"
                " _sluice_synced_at timestamptz NOT NULL DEFAULT now()");
    if (hash)
        sb_puts(&b, ", _sluice_row_hash text");
    if (t->npk > 0) {
        sb_puts(&b, ", PRIMARY KEY (");
        for (int k = 0; k < t->npk; k++)
            sb_printf(&b, "%s%s", k ? ", " : "", db_quote_ident(a, t->cols[t->pk[k]].name));
        sb_putc(&b, ')');
    }
    sb_putc(&b, ')');
    return exec(dst, eb, sb_str(&b));
}

static const char Q_TARGET_COLUMNS[] =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
    "       coalesce(col_description(a.attrelid, a.attnum), '')"
    " FROM pg_attribute a"
    " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum";

static int source_column(const tsync *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

static int is_meta(const char *name)
{
    return strncmp(name, "_sluice_", 8) == 0;
}

#define NOTE_DROPPED "sluice: dropped at the source"
#define NOTE_TYPE "sluice: the source type is "

/* Note col's comment as note (NULL clears it). */
static sl_err set_note(db *dst, arena *a, const tsync *t, const char *col, const char *note,
                       sl_errbuf *eb)
{
    return exec(dst, eb, arena_printf(a, "COMMENT ON COLUMN %s.%s IS %s", t->q_target,
                                      db_quote_ident(a, col),
                                      note ? db_quote_literal(a, note) : "NULL"));
}

/* Compare the typed table's columns with the source's; add, note, report. */
static sl_err reconcile(db *dst, arena *a, tsync *t, PGresult *r, pgd_drift *dr,
                        int *has_hash, sl_errbuf *eb)
{
    int n = PQntuples(r);
    char *present = arena_calloc(a, (size_t)t->ncols + 1, 1);
    size_t cap = (size_t)t->ncols + (size_t)n + 1;
    dr->added = arena_calloc(a, cap, sizeof(char *));
    dr->added_type = arena_calloc(a, cap, sizeof(char *));
    dr->dropped = arena_calloc(a, cap, sizeof(char *));
    dr->retyped = arena_calloc(a, cap, sizeof(char *));
    dr->retyped_from = arena_calloc(a, cap, sizeof(char *));
    dr->retyped_to = arena_calloc(a, cap, sizeof(char *));
    sl_err e = SL_OK;
    for (int i = 0; i < n && e == SL_OK; i++) {
        const char *name = PQgetvalue(r, i, 0), *type = PQgetvalue(r, i, 1);
        const char *note = PQgetvalue(r, i, 2);
        int s = source_column(t, name);
        if (strcmp(name, "_sluice_row_hash") == 0)
            *has_hash = 1;
        if (is_meta(name))
            continue;
        if (s < 0) {
            if (strcmp(note, NOTE_DROPPED) != 0) {
                dr->dropped[dr->ndropped++] = arena_strdup(a, name);
                e = set_note(dst, a, t, name, NOTE_DROPPED, eb);
            }
            continue;
        }
        present[s] = 1;
        const char *want = t->cols[s].dest_type;
        const char *type_note = arena_printf(a, NOTE_TYPE "%s", want);
        if (strcmp(type, want) != 0) {
            if (strcmp(note, type_note) != 0) {
                dr->retyped[dr->nretyped] = arena_strdup(a, name);
                dr->retyped_from[dr->nretyped] = arena_strdup(a, type);
                dr->retyped_to[dr->nretyped++] = want;
                e = set_note(dst, a, t, name, type_note, eb);
            }
        } else if (strcmp(note, NOTE_DROPPED) == 0 || strncmp(note, NOTE_TYPE, 27) == 0) {
            e = set_note(dst, a, t, name, NULL, eb); /* back as it was */
        }
    }
    for (int s = 0; s < t->ncols && e == SL_OK; s++) {
        if (present[s])
            continue;
        dr->added[dr->nadded] = t->cols[s].name;
        dr->added_type[dr->nadded++] = t->cols[s].dest_type;
        e = exec(dst, eb, arena_printf(a, "ALTER TABLE %s ADD COLUMN %s %s", t->q_target,
                                       db_quote_ident(a, t->cols[s].name),
                                       t->cols[s].dest_type));
    }
    return e;
}

/* Append mode: _sluice_row_hash filled for every row, duplicates gone (the
 * documented price: identical rows collapse), a unique index on it. */
static sl_err ensure_hash(db *dst, arena *a, const tsync *t, int has_hash, sl_errbuf *eb)
{
    sl_err e = SL_OK;
    if (!has_hash)
        e = exec(dst, eb, arena_printf(a, "ALTER TABLE %s ADD COLUMN _sluice_row_hash text",
                                       t->q_target));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "UPDATE %s SET _sluice_row_hash = %s"
                                          " WHERE _sluice_row_hash IS NULL",
                                       t->q_target, t->hash_expr));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "DELETE FROM %s x USING %s y"
                                          " WHERE x._sluice_row_hash = y._sluice_row_hash"
                                          " AND x.ctid > y.ctid", t->q_target, t->q_target));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s"
                                          " (_sluice_row_hash)",
                                       db_quote_ident(a, arena_printf(a, "%s__sluice_row_hash",
                                                                      t->pt->target_table)),
                                       t->q_target));
    return e;
}

static sl_err ensure_raw(db *dst, arena *a, const tsync *t, sl_errbuf *eb)
{
    return exec(dst, eb, arena_printf(a, "CREATE TABLE IF NOT EXISTS %s ("
                                         " _sluice_id bigserial PRIMARY KEY,"
                                         " _sluice_run_id bigint NOT NULL,"
                                         " _sluice_extracted_at timestamptz NOT NULL"
                                         "  DEFAULT now(),"
                                         " _data jsonb NOT NULL)", t->q_raw));
}

sl_err pgd_ensure_target(db *dst, arena *a, tsync *t, int hash, pgd_drift *drift,
                         sl_errbuf *eb)
{
    memset(drift, 0, sizeof *drift);
    db_rollback(dst);
    sl_err e = db_begin(dst, eb);
    if (e == SL_OK)
        e = exec(dst, eb, DDL_LOCK_SQL);
    PGresult *r = NULL;
    const char *p[] = {t->q_target};
    if (e == SL_OK)
        e = db_query(dst, a, eb, &r, Q_TARGET_COLUMNS, 1, p);
    int has_hash = 0;
    if (e == SL_OK && PQntuples(r) == 0) {
        drift->created = 1;
        has_hash = hash;
        e = create_target(dst, a, t, hash, eb);
    } else if (e == SL_OK) {
        e = reconcile(dst, a, t, r, drift, &has_hash, eb);
    }
    if (e == SL_OK && hash)
        e = ensure_hash(dst, a, t, has_hash, eb);
    if (e == SL_OK && t->q_raw)
        e = ensure_raw(dst, a, t, eb);
    if (e == SL_OK)
        return db_commit(dst, eb);
    db_rollback(dst);
    return e;
}

/* ---- checkpoints ------------------------------------------------------------- */

sl_err pgd_checkpoint(db *dst, arena *a, const tsync *t, char **wm, int *found, sl_errbuf *eb)
{
    *wm = NULL;
    *found = 0;
    const char *sql = arena_printf(a, "SELECT watermark, watermark_column FROM %s"
                                      " WHERE pipeline_id = $1 AND source_schema = $2"
                                      " AND source_table = $3", t->q_state);
    const char *p[] = {t->cfg->pipeline_id, t->pt->schema, t->pt->source_table};
    PGresult *r;
    sl_err e = db_query(dst, a, eb, &r, sql, 3, p);
    if (e != SL_OK || PQntuples(r) == 0)
        return e;
    *found = 1;
    const char *col = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
    if (!PQgetisnull(r, 0, 0) && t->wm >= 0 && col && strcmp(col, t->cols[t->wm].name) == 0)
        *wm = arena_strdup(a, PQgetvalue(r, 0, 0));
    return SL_OK;
}

sl_err pgd_target_empty(db *dst, arena *a, const tsync *t, int *empty, sl_errbuf *eb)
{
    char *v = NULL;
    sl_err e = db_query_value(dst, a, eb, &v,
                              arena_printf(a, "SELECT NOT EXISTS (SELECT 1 FROM %s)",
                                           t->q_target), 0, NULL);
    *empty = e == SL_OK && v && strcmp(v, "t") == 0;
    return e;
}

sl_err pgd_state_write(db *dst, arena *a, const tsync *t, const char *wm, long long rows,
                       enum pgd_state_how how, char **wm_out, long long *rows_out,
                       sl_errbuf *eb)
{
    const char *set;
    if (how == PGD_STATE_RESET) {
        set = "watermark = EXCLUDED.watermark, rows = EXCLUDED.rows";
    } else if (how == PGD_STATE_REWIND) {
        set = "watermark = EXCLUDED.watermark, rows = s.rows + EXCLUDED.rows";
    } else {
        const char *type = t->cols[t->wm].dest_type;
        set = arena_printf(a, "watermark = CASE"
                              " WHEN s.watermark_column IS DISTINCT FROM EXCLUDED.watermark_column"
                              "  THEN EXCLUDED.watermark"
                              " WHEN EXCLUDED.watermark IS NULL THEN s.watermark"
                              " WHEN s.watermark IS NULL THEN EXCLUDED.watermark"
                              " WHEN EXCLUDED.watermark::%s > s.watermark::%s"
                              "  THEN EXCLUDED.watermark ELSE s.watermark END,"
                              " rows = s.rows + EXCLUDED.rows", type, type);
    }
    const char *sql = arena_printf(
        a, "INSERT INTO %s AS s (pipeline_id, source_schema, source_table, watermark_column,"
           " watermark, rows, run_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
           " ON CONFLICT (pipeline_id, source_schema, source_table) DO UPDATE SET %s,"
           " watermark_column = EXCLUDED.watermark_column, run_id = EXCLUDED.run_id,"
           " updated_at = now() RETURNING watermark, rows", t->q_state, set);
    const char *p[] = {t->cfg->pipeline_id, t->pt->schema, t->pt->source_table,
                       t->wm >= 0 ? t->cols[t->wm].name : NULL, wm,
                       arena_printf(a, "%lld", rows), t->run_id_text};
    PGresult *r;
    sl_err e = db_query(dst, a, eb, &r, sql, 7, p);
    if (e != SL_OK)
        return e;
    if (wm_out)
        *wm_out = PQgetisnull(r, 0, 0) ? NULL : arena_strdup(a, PQgetvalue(r, 0, 0));
    if (rows_out)
        *rows_out = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    return SL_OK;
}

/* ---- the shadow table -------------------------------------------------------- */

sl_err pgd_shadow_begin(db *dst, arena *a, tsync *t, sl_errbuf *eb)
{
    db_rollback(dst);
    sl_err e = db_begin(dst, eb);
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "DROP TABLE IF EXISTS %s", t->q_shadow));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "CREATE TABLE %s (LIKE %s INCLUDING ALL"
                                          " EXCLUDING INDEXES)", t->q_shadow, t->q_target));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "ALTER TABLE %s ALTER COLUMN _sluice_run_id"
                                          " SET DEFAULT %s", t->q_shadow, t->run_id_text));
    if (e != SL_OK)
        db_rollback(dst);
    return e;
}

/* The typed table's indexes other than its primary key, each as a CREATE
 * INDEX on the shadow ($2) under a temporary name ($3_<n>). */
static const char Q_INDEXES[] =
    "SELECT c.relname, 'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END"
    "  || 'INDEX ' || quote_ident($3 || '_' || row_number() OVER (ORDER BY c.relname))"
    "  || ' ON ' || $2 || substr(d.def, strpos(d.def, d.tbl) + length(d.tbl) - 7),"
    "  $3 || '_' || row_number() OVER (ORDER BY c.relname)"
    " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
    " CROSS JOIN LATERAL (SELECT pg_get_indexdef(i.indexrelid) AS def,"
    "  ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(t.relname) || ' USING ' AS tbl) d"
    " WHERE i.indrelid = to_regclass($1) AND NOT i.indisprimary AND strpos(d.def, d.tbl) > 0"
    " ORDER BY c.relname";

/* The primary key's name on the typed table, or <table>_pkey. */
static const char Q_PKEY_NAME[] =
    "SELECT coalesce((SELECT c.relname::text FROM pg_index i JOIN pg_class c"
    " ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1) AND i.indisprimary),"
    " left($2, 58) || '_pkey')";

/* Build the primary key and the other indexes on the shadow, remembering
 * in t which temporary name becomes which name after the swap. */
static sl_err build_indexes(db *dst, arena *a, tsync *t, sl_errbuf *eb)
{
    sl_err e = SL_OK;
    PGresult *r;
    const char *p[] = {t->q_target, t->q_shadow, arena_printf(a, "sluice_%s", t->run_id_text)};
    e = db_query(dst, a, eb, &r, Q_INDEXES, 3, p);
    if (e != SL_OK)
        return e;
    int n = PQntuples(r);
    t->nidx = 0;
    t->idx_tmp = arena_calloc(a, (size_t)n + 1, sizeof(char *));
    t->idx_name = arena_calloc(a, (size_t)n + 1, sizeof(char *));
    if (t->npk > 0) {
        const char *pp[] = {t->q_target, t->pt->target_table};
        char *pkname = NULL;
        e = db_query_value(dst, a, eb, &pkname, Q_PKEY_NAME, 2, pp);
        const char *tmp = arena_printf(a, "sluice_%s_pk", t->run_id_text);
        sbuf b;
        sb_init(&b, a, (size_t)1 << 20);
        sb_printf(&b, "ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (", t->q_shadow,
                  db_quote_ident(a, tmp));
        for (int k = 0; k < t->npk; k++)
            sb_printf(&b, "%s%s", k ? ", " : "", db_quote_ident(a, t->cols[t->pk[k]].name));
        sb_putc(&b, ')');
        if (e == SL_OK)
            e = exec(dst, eb, sb_str(&b));
        t->idx_tmp[t->nidx] = tmp;
        t->idx_name[t->nidx++] = pkname;
    }
    for (int i = 0; e == SL_OK && i < n; i++) {
        e = exec(dst, eb, PQgetvalue(r, i, 1));
        t->idx_tmp[t->nidx] = arena_strdup(a, PQgetvalue(r, i, 2));
        t->idx_name[t->nidx++] = arena_strdup(a, PQgetvalue(r, i, 0));
    }
    return e;
}

sl_err pgd_shadow_finish(db *dst, arena *a, tsync *t, int scan, long long *count,
                         long long *nulls, sl_errbuf *eb)
{
    sl_err e = exec(dst, eb, arena_printf(a, "ALTER TABLE %s ALTER COLUMN _sluice_run_id"
                                             " DROP DEFAULT", t->q_shadow));
    char *hash = NULL;
    const char *p[] = {t->q_shadow};
    if (e == SL_OK)
        e = db_query_value(dst, a, eb, &hash,
                           "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)"
                           " AND attname = '_sluice_row_hash' AND NOT attisdropped", 1, p);
    if (e == SL_ENOTFOUND)
        e = SL_OK;
    else if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "UPDATE %s SET _sluice_row_hash = %s", t->q_shadow,
                                       t->hash_expr));
    if (e == SL_OK)
        e = build_indexes(dst, a, t, eb);
    if (e != SL_OK || !scan)
        return e;
    /* one scan for the row count and the NULLs in NOT NULL source columns */
    sbuf b;
    sb_init(&b, a, (size_t)1 << 24);
    sb_puts(&b, "SELECT count(*)");
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].notnull)
            sb_printf(&b, ", count(*) FILTER (WHERE %s IS NULL)",
                      db_quote_ident(a, t->cols[i].name));
    sb_printf(&b, " FROM %s", t->q_shadow);
    PGresult *r;
    e = db_query(dst, a, eb, &r, sb_str(&b), 0, NULL);
    if (e != SL_OK)
        return e;
    *count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    for (int i = 0, f = 1; i < t->ncols; i++)
        nulls[i] = t->cols[i].notnull ? strtoll(PQgetvalue(r, 0, f++), NULL, 10) : 0;
    return SL_OK;
}

/* GRANTs of the typed table, repeated on the shadow. */
static sl_err copy_grants(db *dst, arena *a, const tsync *t, sl_errbuf *eb)
{
    static const char q[] =
        "SELECT format('GRANT %s ON %s TO %s', x.privilege_type, $2::text,"
        "  CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee))"
        "  END) || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END"
        " FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) x"
        " WHERE c.oid = to_regclass($1) AND x.grantee <> c.relowner";
    const char *p[] = {t->q_target, t->q_shadow};
    PGresult *r;
    sl_err e = db_query(dst, a, eb, &r, q, 2, p);
    for (int i = 0; e == SL_OK && i < PQntuples(r); i++)
        e = exec(dst, eb, PQgetvalue(r, i, 0));
    return e;
}

/* Whether the typed table has something a drop and rename would lose or
 * break: views over it, foreign keys to it, its own triggers or row-level
 * security, membership of a publication, or an owner other than us. */
static sl_err has_dependents(db *dst, arena *a, const tsync *t, int *yes, sl_errbuf *eb)
{
    static const char q[] =
        "SELECT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid"
        "  WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass($1)"
        "  AND w.ev_class <> d.refobjid)"
        " OR EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f'"
        "  AND confrelid = to_regclass($1))"
        " OR EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1)"
        "  AND NOT tgisinternal)"
        " OR EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = to_regclass($1))"
        " OR EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass($1)"
        "  AND (relrowsecurity OR relowner <> (SELECT oid FROM pg_roles"
        "   WHERE rolname = current_user)))";
    const char *p[] = {t->q_target};
    char *v = NULL;
    sl_err e = db_query_value(dst, a, eb, &v, q, 1, p);
    *yes = e == SL_OK && v && strcmp(v, "t") == 0;
    return e;
}

/* Keep the typed table (its dependents need it): replace its rows. */
static sl_err swap_rows(db *dst, arena *a, const tsync *t, sl_errbuf *eb)
{
    static const char q[] =
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
        " WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped"
        " AND attgenerated = ''";
    const char *p[] = {t->q_shadow};
    char *cols = NULL;
    sl_err e = db_query_value(dst, a, eb, &cols, q, 1, p);
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "DELETE FROM %s", t->q_target));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "INSERT INTO %s (%s) SELECT %s FROM %s", t->q_target,
                                       cols, cols, t->q_shadow));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "DROP TABLE %s", t->q_shadow));
    return e;
}

/* Drop the typed table and rename the shadow (and its indexes) into place. */
static sl_err swap_tables(db *dst, arena *a, const tsync *t, sl_errbuf *eb)
{
    sl_err e = exec(dst, eb, arena_printf(a, "DROP TABLE %s", t->q_target));
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "ALTER TABLE %s RENAME TO %s", t->q_shadow,
                                       db_quote_ident(a, t->pt->target_table)));
    for (int i = 0; e == SL_OK && i < t->nidx; i++)
        e = exec(dst, eb, arena_printf(a, "ALTER INDEX %s.%s RENAME TO %s", t->q_schema,
                                       db_quote_ident(a, t->idx_tmp[i]),
                                       db_quote_ident(a, t->idx_name[i])));
    return e;
}

sl_err pgd_shadow_swap(db *dst, arena *a, tsync *t, sl_errbuf *eb)
{
    int dependents = 0;
    sl_err e = copy_grants(dst, a, t, eb);
    if (e == SL_OK)
        e = has_dependents(dst, a, t, &dependents, eb);
    if (e == SL_OK)
        e = exec(dst, eb, arena_printf(a, "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE",
                                       t->q_target));
    if (e == SL_OK)
        e = dependents ? swap_rows(dst, a, t, eb) : swap_tables(dst, a, t, eb);
    if (e == SL_OK)
        return db_commit(dst, eb);
    db_rollback(dst);
    return e;
}
