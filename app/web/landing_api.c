/* landing_api.c - the JSON API of landing zones and their files:
 *   GET/POST /api/v1/landing-zones, GET/PATCH/DELETE
 *   /api/v1/landing-zones/{zone}, GET/POST /api/v1/landing-zones/{zone}/files,
 *   PUT /api/v1/landing-zones/{zone}/files/{filename}.
 *
 * {zone} is a zone's id or its name (any case). Zone bodies take the
 * fields of the zone (undeclared ones are 422); DELETE refuses a zone with
 * files (409) unless ?purge=true. Uploads: PUT sends one file as the raw
 * body (Content-Length or chunked) named by the last path segment;
 * POST sends multipart/form-data with any number of file parts (up to 64).
 * Both answer 201: PUT with the file, POST with {"files": [...]}; a file
 * identical to one already in the zone comes back with status "rejected"
 * and duplicate_of set. Lists follow the paging convention (?limit=,
 * ?cursor=; {items, next_cursor}). */
#include <stdlib.h>
#include <string.h>

#include "connform.h"
#include "handlers.h"
#include "landing.h"
#include "page.h"
#include "params.h"
#include "upload.h"
#include "uuid.h"
#include "worker.h"

static void not_found(request *r)
{
    http_problem(r, 404, "no such landing zone", NULL);
}

static PGresult *zone_param(request *r)
{
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_load(r, http_path_param(r, "zone"), 0, &res, &eb);
    if (e == SL_ENOTFOUND) {
        not_found(r);
        return NULL;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return NULL;
    }
    return res;
}

static void send_zone(request *r, int status, const char *id)
{
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_load(r, id, 0, &res, &eb);
    if (e == SL_ENOTFOUND) {
        not_found(r);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (status == 201)
        http_add_header(r, "Location", arena_printf(r->a, "/api/v1/landing-zones/%s", id));
    http_send_json(r, status, lz_zone_api_json(r, res, 0));
}

static int zone_cursor_ok(const char *const *f)
{
    return uuid_valid(f[1]);
}

void h_api_landing_zones_list(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[2];
    params_page(r, 2, zone_cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_list(r, key[0], key[1], 0, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, lz_zone_api_json(r, res, i));
    const char *next = NULL;
    if (n > limit) {
        int last = (int)limit - 1;
        next = params_cursor_make(r->a, 2, (const char *[]){PQgetvalue(res, last, ZC_LNAME),
                                                            PQgetvalue(res, last, ZC_ID)});
    }
    http_send_json(r, 200, params_page_json(items, next));
}

void h_api_landing_zone_get(request *r)
{
    PGresult *res = zone_param(r);
    if (res)
        http_send_json(r, 200, lz_zone_api_json(r, res, 0));
}

/* Store f for zone id (NULL: a new zone) and answer. */
static void store(request *r, const char *id, lz_fields *f, json_t *errors)
{
    const char *saved;
    sl_errbuf eb = {0};
    sl_err e = lz_store(r, id, f, 0, errors, &saved, &eb);
    if (e == SL_EINVAL) {
        http_problem(r, 422, id ? "the landing zone was not changed"
                                : "the landing zone was not created",
                     errors);
        return;
    }
    json_decref(errors);
    if (e == SL_ENOTFOUND) {
        not_found(r);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    send_zone(r, id ? 200 : 201, saved);
}

void h_api_landing_zone_create(request *r)
{
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    lz_fields f;
    lz_defaults(r, &f);
    json_t *errors = json_object();
    lz_from_json(r, body, &f, errors);
    store(r, NULL, &f, errors);
}

void h_api_landing_zone_patch(request *r)
{
    PGresult *res = zone_param(r);
    if (!res)
        return;
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    lz_fields f;
    lz_from_row(r, res, &f);
    json_t *errors = json_object();
    lz_from_json(r, body, &f, errors);
    store(r, PQgetvalue(res, 0, ZC_ID), &f, errors);
}

void h_api_landing_zone_delete(request *r)
{
    static const char *const declared[] = {"purge", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    const char *purge = params_query(r, "purge", errors);
    if (purge && strcmp(purge, "true") != 0 && strcmp(purge, "false") != 0)
        page_field_error(errors, "purge", "must be true or false");
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    PGresult *res = zone_param(r);
    if (!res)
        return;
    const char *name, *why = NULL;
    long long nfiles;
    sl_errbuf eb = {0};
    sl_err e = lz_delete(r, PQgetvalue(res, 0, ZC_ID), purge && strcmp(purge, "true") == 0,
                         &name, &nfiles, &why, &eb);
    if (e == SL_ECONFLICT) {
        http_problem(r, 409,
                     arena_printf(r->a, "%s Delete with ?purge=true to remove them too.", why),
                     NULL);
        return;
    }
    if (e == SL_ENOTFOUND) {
        not_found(r);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_set_status(r, 204);
}

static int file_cursor_ok(const char *const *f)
{
    long long v;
    return params_int(f[0], 1, 9223372036854775807LL, &v);
}

void h_api_landing_files_list(request *r)
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[1];
    params_page(r, 1, file_cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    PGresult *zone = zone_param(r);
    if (!zone)
        return;
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_files(r, PQgetvalue(zone, 0, ZC_ID), key[0], NULL, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, lz_file_api_json(r, res, i));
    const char *next = NULL;
    if (n > limit)
        next = params_cursor_make(r->a, 1, (const char *[]){PQgetvalue(res, (int)limit - 1,
                                                                       FC_ID)});
    http_send_json(r, 200, params_page_json(items, next));
}

/* Answer an upload: the failure, or 201 with the files (one object for
 * PUT, {"files": [...]} for multipart). */
static void answer_upload(request *r, int status, upload *u, int single)
{
    if (status) {
        http_problem(r, status, u->why, NULL);
        return;
    }
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_file_rows(r, u, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (single) {
        http_send_json(r, 201, lz_file_api_json(r, res, 0));
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, lz_file_api_json(r, res, i));
    http_send_json(r, 201, json_pack("{s:o}", "files", items));
}

void h_api_landing_file_put(request *r)
{
    PGresult *zone = zone_param(r);
    if (!zone)
        return;
    upload_zone z;
    lz_upload_zone(zone, &z);
    upload u;
    int status = upload_raw(r, &z, http_path_param(r, "filename"), &u);
    answer_upload(r, status, &u, 1);
}

void h_api_landing_files_post(request *r)
{
    PGresult *zone = zone_param(r);
    if (!zone)
        return;
    upload_zone z;
    lz_upload_zone(zone, &z);
    upload u;
    int status = upload_multipart(r, &z, &u);
    answer_upload(r, status, &u, 0);
}
