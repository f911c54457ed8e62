/* plconf.c - load a pipeline's source, destination and tables from the
 * control database for one run, opening the sealed passwords.
 *
 * Two queries: the pipeline joined to its source and destination, then its
 * enabled tables in their configured order. Everything lands in the
 * caller's arena; plconf_wipe() clears the two passwords when the run is
 * done with them. */
#include "sync/plconf.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "sync/dest.h"
#include "sync/source.h"

static const char Q_PIPELINE[] =
    "SELECT p.name, s.name, s.type, s.host, s.port, s.database, s.username, s.password_enc,"
    "       s.ssl_mode, d.type, d.host, d.port, d.database, d.username, d.password_enc,"
    "       d.ssl_mode, d.raw_schema, coalesce(nullif(p.target_schema, ''), d.target_schema),"
    "       p.load_mode"
    " FROM sluice.pipelines p"
    " JOIN sluice.sources s ON s.id = p.source_id"
    " JOIN sluice.destinations d ON d.id = p.destination_id"
    " WHERE p.id = $1::uuid AND p.deleted_at IS NULL";

static const char Q_TABLES[] =
    "SELECT source_schema, source_table, coalesce(nullif(target_table, ''), source_table),"
    "       sync_mode, coalesce(load_mode, $2), nullif(watermark_column, ''), lookback_seconds"
    " FROM sluice.pipeline_tables"
    " WHERE pipeline_id = $1::uuid AND enabled"
    " ORDER BY position, source_schema, source_table";

static const char *val(arena *a, PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return arena_strdup(a, PQgetvalue(r, row, col));
}

/* One side's connection parameters from columns col.. of row 0, opening
 * the sealed password. */
static sl_err conn_from(arena *a, PGresult *r, int col, const char *side, conn_params *p,
                        sl_errbuf *eb)
{
    memset(p, 0, sizeof *p);
    p->type = val(a, r, 0, col);
    p->host = val(a, r, 0, col + 1);
    p->port = (int)strtol(PQgetvalue(r, 0, col + 2), NULL, 10);
    p->database = val(a, r, 0, col + 3);
    p->user = val(a, r, 0, col + 4);
    p->ssl_mode = val(a, r, 0, col + 6);
    int source = strcmp(side, "source") == 0;
    if (!p->type || (strcmp(p->type, "postgresql") != 0 && !(source && src_ops_for(p->type)) &&
                     !(!source && dst_ops_for(p->type))))
        return sl_fail(eb, SL_EUNSUPPORTED, "the %s is %s: this engine syncs PostgreSQL, MySQL "
                                            "or MariaDB into PostgreSQL, MySQL, MariaDB or "
                                            "ClickHouse", side,
                       p->type ? p->type : "unknown");
    const char *sealed = val(a, r, 0, col + 5);
    if (sealed && *sealed) {
        char *plain = NULL;
        sl_errbuf kb = {0};
        sl_err e = keyring_open(a, sealed, &plain, &kb);
        if (e != SL_OK)
            return sl_fail(eb, e, "cannot open the %s password: %s", side, kb.msg);
        p->password = plain;
    }
    return SL_OK;
}

static sl_err load_tables(db *d, arena *a, const char *pipeline_id, const char *load_mode,
                          pl_config *out, sl_errbuf *eb)
{
    const char *params[] = {pipeline_id, load_mode};
    PGresult *r;
    sl_err e = db_query(d, a, eb, &r, Q_TABLES, 2, params);
    if (e != SL_OK)
        return e;
    /* no schema configured: PostgreSQL's public, MySQL's connection database */
    const char *default_schema = "public";
    if (strcmp(out->source.type, "postgresql") != 0 && out->source.database)
        default_schema = out->source.database;
    out->ntables = PQntuples(r);
    out->tables = arena_calloc(a, (size_t)(out->ntables ? out->ntables : 1), sizeof(pl_table));
    for (int i = 0; i < out->ntables; i++) {
        pl_table *t = &out->tables[i];
        t->source_schema = val(a, r, i, 0);
        t->schema = *t->source_schema ? t->source_schema : default_schema;
        t->source_table = val(a, r, i, 1);
        t->target_table = val(a, r, i, 2);
        t->full_refresh = strcmp(PQgetvalue(r, i, 3), "full_refresh") == 0;
        t->raw = strcmp(PQgetvalue(r, i, 4), "raw") == 0;
        t->watermark_column = val(a, r, i, 5);
        t->lookback_seconds = strtol(PQgetvalue(r, i, 6), NULL, 10);
    }
    return SL_OK;
}

sl_err plconf_load(db *d, arena *a, const char *pipeline_id, pl_config *out, sl_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    const char *params[] = {pipeline_id};
    PGresult *r;
    sl_err e = db_query(d, a, eb, &r, Q_PIPELINE, 1, params);
    if (e != SL_OK)
        return e;
    if (PQntuples(r) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "pipeline %s does not exist", pipeline_id);
    out->pipeline_id = arena_strdup(a, pipeline_id);
    out->name = val(a, r, 0, 0);
    out->source_name = val(a, r, 0, 1);
    e = conn_from(a, r, 2, "source", &out->source, eb);
    if (e == SL_OK)
        e = conn_from(a, r, 9, "destination", &out->dest, eb);
    if (e != SL_OK) {
        plconf_wipe(out);
        return e;
    }
    out->raw_schema = val(a, r, 0, 16);
    out->target_schema = val(a, r, 0, 17);
    const char *load_mode = val(a, r, 0, 18);
    e = load_tables(d, a, pipeline_id, load_mode, out, eb);
    if (e != SL_OK)
        plconf_wipe(out);
    return e;
}

void plconf_wipe(pl_config *cfg)
{
    const char *pw[] = {cfg->source.password, cfg->dest.password};
    for (int i = 0; i < 2; i++)
        if (pw[i])
            sodium_memzero((char *)pw[i], strlen(pw[i]));
    cfg->source.password = cfg->dest.password = NULL;
}

char *plconf_ident(arena *a, const char *name)
{
    size_t n = strlen(name);
    char *out = arena_alloc(a, n + sizeof "source");
    size_t o = 0;
    int gap = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (isalnum(c) && c < 0x80) {
            if (gap && o > 0)
                out[o++] = '_';
            gap = 0;
            out[o++] = (char)tolower(c);
        } else {
            gap = 1;
        }
    }
    if (o == 0) {
        memcpy(out, "source", sizeof "source");
        return out;
    }
    out[o] = '\0';
    return out;
}
