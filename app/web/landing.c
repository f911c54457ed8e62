/* landing.c - landing zone pages: the list, new / edit forms, the zone's
 * page (its settings, its files newest first with keyset paging, and the
 * upload form), delete behind a confirmation page, and the upload form's
 * POST /landing/{id}/files.
 *
 * The upload form posts multipart/form-data with the CSRF token in its
 * action URL (?_csrf=), so the body streams to disk without being parsed
 * by the guard first. Without JavaScript the answer is a redirect to the
 * zone page with a flash naming each file's outcome (or the zone page again
 * with the error and its status); static/js/upload.js sends the same form
 * with XMLHttpRequest for a progress bar, asks for JSON, and then goes to
 * the zone page, which shows the same flash. */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "handlers.h"
#include "landing.h"
#include "page.h"
#include "params.h"
#include "upload.h"
#include "uuid.h"
#include "worker.h"

typedef struct {
    const char *value, *label;
} choice;

static const choice formats[] = {{"csv", "CSV"}, {"jsonl", "JSON Lines (one JSON object a line)"}};
static const choice delimiters[] = {{"comma", "Comma (,)"},
                                    {"semicolon", "Semicolon (;)"},
                                    {"tab", "Tab"},
                                    {"pipe", "Pipe (|)"}};
static const char *const delimiter_chars[] = {",", ";", "\t", "|"};
static const choice quotes[] = {{"double", "Double quote (\")"}, {"single", "Single quote (')"}};
static const char *const quote_chars[] = {"\"", "'"};
static const choice schema_modes[] = {
    {"infer", "Infer the types from the data"},
    {"declared", "Declared columns (below)"}};
static const choice mismatches[] = {
    {"reject", "Reject the whole file"},
    {"load_partial", "Load the rows that fit; dead-letter the rest"}};
static const choice load_modes[] = {{"direct", "Typed table in the target schema"},
                                    {"raw", "Raw JSONB copy in the staging schema"}};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *choices(const choice *c, size_t n, const char *selected)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "value", c[i].value, "label",
                                              c[i].label, "selected",
                                              selected && strcmp(selected, c[i].value) == 0));
    return list;
}

/* The form's word for a character ("," -> "comma"). */
static const char *word_for(const char *ch, const choice *c, const char *const *chars,
                            size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ch, chars[i]) == 0)
            return c[i].value;
    return "";
}

static void not_found(request *r)
{
    http_error(r, 404, "no such landing zone");
}

/* Load the zone of the {id} parameter; answers 404 / the database error
 * and returns NULL when it cannot. */
static PGresult *zone_param(request *r, int lock)
{
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_load(r, http_path_param(r, "id"), lock, &res, &eb);
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

/* --- the list -------------------------------------------------------------------------- */

static int cursor_fields(request *r, const char *c, const char **lname, const char **id)
{
    const char *f[2];
    if (!params_cursor_parse(r->a, c, 2, f) || !uuid_valid(f[1]))
        return 0;
    *lname = f[0];
    *id = f[1];
    return 1;
}

static const char *row_cursor(request *r, PGresult *res, int i)
{
    return params_cursor_make(r->a, 2, (const char *[]){PQgetvalue(res, i, ZC_LNAME),
                                                        PQgetvalue(res, i, ZC_ID)});
}

void h_landing_list(request *r)
{
    const char *after = http_query(r, "after"), *before = http_query(r, "before");
    const char *lname = NULL, *id = NULL;
    after = after && *after ? after : NULL;
    before = before && *before ? before : NULL;
    if ((after && before) || (after && !cursor_fields(r, after, &lname, &id)) ||
        (before && !cursor_fields(r, before, &lname, &id))) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_list(r, lname, id, before != NULL, LZ_PAGE, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res), more = n > LZ_PAGE;
    if (more)
        n = LZ_PAGE;
    json_t *ctx = page_ctx(r, "Landing zones", "landing");
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, lz_zone_page_json(r, res, before ? n - 1 - i : i));
    if (n > 0) {
        int first = before ? n - 1 : 0, last = before ? 0 : n - 1;
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(row_cursor(r, res, first)));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(row_cursor(r, res, last)));
    }
    json_object_set_new(ctx, "items", items);
    json_object_set_new(ctx, "has_items", json_boolean(n > 0));
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    page_render(r, 200, "landing/list", ctx);
}

/* --- forms ----------------------------------------------------------------------------- */

static void form_page(request *r, int status, const char *id, const lz_fields *f,
                      json_t *errors)
{
    sl_errbuf eb = {0};
    json_t *dests;
    sl_err e = lz_destination_choices(r, f->destination_id, &dests, &eb);
    if (e) {
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    const char *title = id ? arena_printf(r->a, "Edit %s", f->name) : "New landing zone";
    json_t *ctx = page_ctx(r, title, "landing");
    json_t *fc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "name", f->name,
                           "description", f->description, "target_schema", f->target_schema,
                           "target_table", f->target_table, "declared_columns",
                           f->columns_text, "max_file_mb", f->max_text,
                           "processed_max_age_days", f->age_text, "csv_header", f->csv_header,
                           "auto_purge", f->auto_purge);
    json_object_set_new(fc, "destinations", dests);
    json_object_set_new(fc, "has_destinations", json_boolean(json_array_size(dests) > 0));
    json_object_set_new(fc, "formats", choices(formats, N(formats), f->format));
    json_object_set_new(fc, "delimiters",
                        choices(delimiters, N(delimiters),
                                word_for(f->csv_delimiter, delimiters, delimiter_chars,
                                         N(delimiters))));
    json_object_set_new(fc, "quotes", choices(quotes, N(quotes),
                                              word_for(f->csv_quote, quotes, quote_chars,
                                                       N(quotes))));
    json_object_set_new(fc, "schema_modes", choices(schema_modes, N(schema_modes),
                                                    f->schema_mode));
    json_object_set_new(fc, "mismatches", choices(mismatches, N(mismatches), f->on_mismatch));
    json_object_set_new(fc, "load_modes", choices(load_modes, N(load_modes), f->load_mode));
    json_object_set_new(ctx, "f", fc);
    json_object_set_new(ctx, "action", json_string(id ? arena_printf(r->a, "/landing/%s", id)
                                                      : "/landing"));
    if (id) {
        json_object_set_new(ctx, "id", json_string(id));
        json_object_set_new(ctx, "heading", json_string(title));
    }
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "errors", errors);
    page_render(r, status, "landing/form", ctx);
}

void h_landing_new(request *r)
{
    lz_fields f;
    lz_defaults(r, &f);
    form_page(r, 200, NULL, &f, json_object());
}

/* Create (id NULL) or update from the posted form. */
static void save(request *r, const char *id)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    lz_fields f;
    lz_defaults(r, &f);
    json_t *errors = json_object();
    lz_from_form(r, &f, errors);
    const char *saved;
    sl_err e = lz_store(r, id, &f, 1, errors, &saved, &eb);
    if (e == SL_EINVAL) {
        form_page(r, 422, id, &f, errors);
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
    page_done(r, arena_printf(r->a, "/landing/%s", saved),
              arena_printf(r->a, id ? "Landing zone %s saved." : "Landing zone %s created.",
                           f.name));
}

void h_landing_create(request *r)
{
    save(r, NULL);
}

void h_landing_edit(request *r)
{
    PGresult *res = zone_param(r, 0);
    if (!res)
        return;
    lz_fields f;
    lz_from_row(r, res, &f);
    form_page(r, 200, PQgetvalue(res, 0, ZC_ID), &f, json_object());
}

void h_landing_update(request *r)
{
    PGresult *res = zone_param(r, 0);
    if (res)
        save(r, PQgetvalue(res, 0, ZC_ID));
}

/* --- the zone's page ------------------------------------------------------------------- */

static int id_ok(const char *s)
{
    long long v;
    return s && params_int(s, 1, 9223372036854775807LL, &v);
}

/* Render the zone of res with its files; error (may be NULL) is shown
 * above the upload form, with status. */
static void show_page(request *r, int status, PGresult *zone, const char *error)
{
    const char *after = http_query(r, "after"), *before = http_query(r, "before");
    after = after && *after ? after : NULL;
    before = before && *before ? before : NULL;
    if (status == 200 && ((after && !id_ok(after)) || (before && !id_ok(before)) ||
                          (after && before))) {
        http_error(r, 400, "the page link is malformed");
        return;
    }
    if (status != 200)
        after = before = NULL;
    const char *zid = PQgetvalue(zone, 0, ZC_ID);
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_files(r, zid, after, before, LZ_PAGE, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res), more = n > LZ_PAGE;
    if (more)
        n = LZ_PAGE;
    json_t *ctx = page_ctx(r, PQgetvalue(zone, 0, ZC_NAME), "landing");
    json_t *files = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(files, lz_file_page_json(r, res, before ? n - 1 - i : i));
    if (n > 0) {
        int first = before ? n - 1 : 0, last = before ? 0 : n - 1;
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(PQgetvalue(res, first, FC_ID)));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(PQgetvalue(res, last, FC_ID)));
    }
    json_object_set_new(ctx, "z", lz_zone_page_json(r, zone, 0));
    json_object_set_new(ctx, "files", files);
    json_object_set_new(ctx, "has_files", json_boolean(n > 0));
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    json_object_set_new(ctx, "can_edit", json_boolean(r->role >= ROLE_EDITOR));
    if (error)
        json_object_set_new(ctx, "upload_error", json_string(error));
    page_render(r, status, "landing/show", ctx);
}

void h_landing_show(request *r)
{
    PGresult *zone = zone_param(r, 0);
    if (zone)
        show_page(r, 200, zone, NULL);
}

void h_landing_upload(request *r)
{
    PGresult *zone = zone_param(r, 0);
    if (!zone)
        return;
    upload_zone z;
    lz_upload_zone(zone, &z);
    upload u;
    int status = upload_multipart(r, &z, &u);
    int json = http_wants_json(r);
    if (status) {
        if (json)
            http_problem(r, status, u.why, NULL);
        else
            show_page(r, status, zone, u.why);
        return;
    }
    const char *summary = lz_upload_summary(r, &u);
    page_flash(r, "ok", summary);
    const char *location = arena_printf(r->a, "/landing/%s", z.id);
    if (!json) {
        http_redirect(r, 303, location);
        return;
    }
    PGresult *res;
    sl_errbuf eb = {0};
    sl_err e = lz_file_rows(r, &u, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, lz_file_api_json(r, res, i));
    http_send_json(r, 201, json_pack("{s:o, s:s, s:s}", "files", items, "message", summary,
                                     "location", location));
}

/* --- delete ---------------------------------------------------------------------------- */

static void delete_page(request *r, int status, PGresult *zone, const char *refusal)
{
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Delete %s", PQgetvalue(zone, 0, ZC_NAME)),
                           "landing");
    json_t *z = lz_zone_page_json(r, zone, 0);
    json_object_set_new(ctx, "has_files",
                        json_boolean(strtoll(PQgetvalue(zone, 0, ZC_FILES), NULL, 10) > 0));
    json_object_set_new(ctx, "z", z);
    if (refusal)
        json_object_set_new(ctx, "refusal", json_string(refusal));
    page_render(r, status, "landing/delete", ctx);
}

void h_landing_delete_form(request *r)
{
    PGresult *zone = zone_param(r, 0);
    if (zone)
        delete_page(r, 200, zone, NULL);
}

void h_landing_delete(request *r)
{
    sl_errbuf eb = {0};
    PGresult *zone = zone_param(r, 0);
    if (!zone)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const char *name, *why = NULL;
    long long nfiles;
    sl_err e = lz_delete(r, PQgetvalue(zone, 0, ZC_ID), form_bool(r, "purge"), &name, &nfiles,
                         &why, &eb);
    if (e == SL_ECONFLICT) {
        delete_page(r, 409, zone,
                    arena_printf(r->a, "%s Tick \"Also delete its files\" to delete them with "
                                       "the zone.",
                                 why));
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
    page_done(r, "/landing",
              nfiles ? arena_printf(r->a, "Landing zone %s and its %lld file%s deleted.", name,
                                    nfiles, nfiles == 1 ? "" : "s")
                     : arena_printf(r->a, "Landing zone %s deleted.", name));
}
