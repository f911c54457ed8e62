/* landing_preview.c - GET /landing/{id}/preview: the rows most recently
 * loaded into a landing zone's table, read through the destination.
 *
 * Up to PREVIEW_ROWS rows, newest file first and in file order within it,
 * each value cut to PREVIEW_CELL bytes; the destination is asked under a
 * short statement_timeout so a slow warehouse cannot hold a worker. What
 * cannot be shown (no table yet, destination unreachable, not PostgreSQL)
 * is said on the page instead. Nothing is changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connform.h"
#include "handlers.h"
#include "page.h"
#include "uuid.h"
#include "worker.h"

#define PREVIEW_ROWS 20
#define PREVIEW_CELL 200

static const char *const dest_types[] = {"postgresql", "mysql", "clickhouse", NULL};
static const conn_kind DEST = {
    "sluice.destinations", "destination", "Destination", "/destinations", dest_types,
    "PostgreSQL, MySQL or ClickHouse", 0, "destination_id",
};

static const char Q_ZONE[] =
    "SELECT z.name, z.target_table, coalesce(nullif(z.target_schema, ''), d.target_schema),"
    "       d.id::text, d.type, d.name"
    " FROM sluice.landing_zones z JOIN sluice.destinations d ON d.id = z.destination_id"
    " WHERE z.id = $1::uuid";

/* s cut to PREVIEW_CELL bytes at a character boundary, "..." marking a cut. */
static json_t *cell(request *r, const char *s)
{
    size_t n = strlen(s);
    if (n <= PREVIEW_CELL)
        return json_string(s);
    size_t k = PREVIEW_CELL;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return json_string(arena_printf(r->a, "%.*s...", (int)k, s));
}

/* The rows into ctx ("columns", "rows"), or a problem for people. */
static const char *read_rows(request *r, const conn_params *cp, const char *schema,
                             const char *table, const char *dest, json_t *ctx)
{
    void *conn = NULL;
    sl_errbuf ceb = {0};
    if (pg_connector.open(cp, &conn, &ceb) != SL_OK)
        return arena_printf(r->a, "the destination \"%s\" cannot be reached: %s", dest,
                            conn_scrub(r->a, ceb.msg, cp->password));
    PGconn *c = conn;
    PQclear(PQexec(c, "SET statement_timeout = '5s'"));
    PQclear(PQexec(c, "SET default_transaction_read_only = on"));
    const char *sql = arena_printf(r->a, "SELECT * FROM %s.%s ORDER BY _sluice_file_id DESC,"
                                         " _sluice_line LIMIT %d",
                                   db_quote_ident(r->a, schema), db_quote_ident(r->a, table),
                                   PREVIEW_ROWS);
    PGresult *res = PQexec(c, sql);
    const char *problem = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "42P01") == 0)
            problem = "nothing has been loaded yet: the table does not exist";
        else
            problem = arena_printf(r->a, "reading %s.%s at \"%s\" failed: %s", schema, table,
                                   dest, conn_scrub(r->a, PQresultErrorMessage(res),
                                                    cp->password));
    } else {
        json_t *cols = json_array(), *rows = json_array();
        for (int k = 0; k < PQnfields(res); k++)
            json_array_append_new(cols, json_string(PQfname(res, k)));
        for (int i = 0; i < PQntuples(res); i++) {
            json_t *vals = json_array();
            for (int k = 0; k < PQnfields(res); k++)
                json_array_append_new(vals, PQgetisnull(res, i, k)
                                                ? json_pack("{s:b}", "null", 1)
                                                : json_pack("{s:o}", "v",
                                                            cell(r, PQgetvalue(res, i, k))));
            json_array_append_new(rows, json_pack("{s:o}", "values", vals));
        }
        json_object_set_new(ctx, "has_rows", json_boolean(PQntuples(res) > 0));
        json_object_set_new(ctx, "columns", cols);
        json_object_set_new(ctx, "rows", rows);
    }
    PQclear(res);
    PQfinish(c);
    return problem;
}

void h_landing_preview(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, "there is no such landing zone");
        return;
    }
    PGresult *z;
    sl_errbuf eb = {0};
    sl_err e = db_query(r->db, r->a, &eb, &z, Q_ZONE, 1, (const char *[]){id});
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (PQntuples(z) != 1) {
        http_error(r, 404, "there is no such landing zone");
        return;
    }
    const char *name = PQgetvalue(z, 0, 0), *table = PQgetvalue(z, 0, 1);
    const char *schema = PQgetvalue(z, 0, 2), *type = PQgetvalue(z, 0, 4);
    const char *dest = PQgetvalue(z, 0, 5);
    json_t *ctx = page_ctx(r, arena_printf(r->a, "%s: loaded rows", name), "landing");
    json_object_set_new(ctx, "zone", json_pack("{s:s, s:s}", "id", id, "name", name));
    json_object_set_new(ctx, "table", json_string(arena_printf(r->a, "%s.%s", schema, table)));
    json_object_set_new(ctx, "limit", json_integer(PREVIEW_ROWS));
    const char *problem = NULL;
    conn_params cp;
    memset(&cp, 0, sizeof cp);
    sl_errbuf ceb = {0};
    if (strcmp(type, "postgresql") != 0)
        problem = arena_printf(r->a, "previewing a %s destination is not supported", type);
    else if (conn_params_for(r, &DEST, PQgetvalue(z, 0, 3), &cp, &ceb) != SL_OK)
        problem = arena_printf(r->a, "the destination \"%s\" cannot be read: %s", dest,
                               ceb.msg);
    else
        problem = read_rows(r, &cp, schema, table, dest, ctx);
    if (problem)
        json_object_set_new(ctx, "problem", json_string(problem));
    page_render(r, 200, "landing/preview", ctx);
}
