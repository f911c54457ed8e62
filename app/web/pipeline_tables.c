/* pipeline_tables.c - the tables of a pipeline on its edit page: the
 * tables form (sync mode, load mode, watermark override, lookback,
 * enabled, remove, per table) and the picker that adds tables chosen
 * from discovery or typed as schema.table. Both carry the version they
 * were loaded from and refuse (409) a save over a newer one. */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "pipeline_form.h"
#include "worker.h"

/* --- tables --------------------------------------------------------------------------- */

/* The rows of the tables form as typed: t_count rows t{i}_*. */
static json_t *rows_from_form(request *r)
{
    json_t *rows = json_array();
    long long n = 0;
    params_int(form_str(r, "t_count"), 0, PL_MAX_TABLES, &n);
    for (long long i = 0; i < n; i++) {
        const char *table = form_get(r, arena_printf(r->a, "t%lld_table", i));
        if (!table)
            continue;
        json_t *o = json_object();
        const char *fields[][2] = {{"schema", "schema"}, {"table", "table"},
                                   {"target", "target"}, {"sync_mode", "sync"},
                                   {"load_mode", "load"}, {"wm", "wm"},
                                   {"lookback", "lookback"}};
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
            const char *s = form_str(r, arena_printf(r->a, "t%lld_%s", i, fields[k][1]));
            json_object_set_new(o, fields[k][0], json_string(params_utf8_len(s) >= 0 ? s : ""));
        }
        json_object_set_new(o, "enabled",
                            json_boolean(form_bool(r, arena_printf(r->a, "t%lld_enabled", i))));
        json_object_set_new(o, "remove",
                            json_boolean(form_bool(r, arena_printf(r->a, "t%lld_remove", i))));
        json_array_append_new(rows, o);
    }
    return rows;
}

/* Tables from the form's rows (removed ones left out); map[k] is the row
 * of table k, for putting errors back on their rows. */
static void tables_from_rows(request *r, json_t *rows, pipeline *p, int *map, json_t *errors)
{
    size_t i;
    json_t *o;
    p->tables = arena_calloc(r->a, json_array_size(rows) + 1, sizeof *p->tables);
    p->ntables = 0;
    json_array_foreach(rows, i, o) {
        if (json_is_true(json_object_get(o, "remove")))
            continue;
        pl_table *t = &p->tables[p->ntables];
        /* Copies: the tables outlive rows. */
        t->source_schema = arena_strdup(r->a, pf_val(o, "schema"));
        t->source_table = arena_strdup(r->a, pf_val(o, "table"));
        t->target_table = *pf_val(o, "target") ? arena_strdup(r->a, pf_val(o, "target")) : NULL;
        t->sync_mode = arena_strdup(r->a, pf_val(o, "sync_mode"));
        t->load_mode = *pf_val(o, "load_mode") ? arena_strdup(r->a, pf_val(o, "load_mode"))
                                                : NULL;
        t->watermark_column = *pf_val(o, "wm") ? arena_strdup(r->a, pf_val(o, "wm")) : NULL;
        t->enabled = json_is_true(json_object_get(o, "enabled"));
        if (!pl_parse_lookback(pf_val(o, "lookback"), &t->lookback_seconds))
            json_object_set_new(errors, arena_printf(r->a, "tables[%d].lookback_seconds",
                                                     p->ntables),
                                json_string("must be seconds, or a number with s, m, h or d "
                                            "(at most 365d)"));
        map[p->ntables++] = (int)i;
    }
}

/* Put "tables[k].field" errors on their rows as errors.{target, sync_mode, ...}. */
static void errors_to_rows(request *r, json_t *rows, const int *map, int n, json_t *errors)
{
    static const char *const keys[][2] = {
        {"source_table", "table"}, {"source_schema", "table"}, {"target_table", "target"},
        {"sync_mode", "sync_mode"}, {"load_mode", "load_mode"},
        {"watermark_column", "wm"}, {"lookback_seconds", "lookback"}, {"enabled", "enabled"},
    };
    for (int k = 0; k < n; k++) {
        json_t *row = json_array_get(rows, (size_t)map[k]);
        json_t *re = json_object();
        for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
            json_t *m = json_object_get(errors, arena_printf(r->a, "tables[%d].%s", k,
                                                             keys[j][0]));
            if (m && !json_object_get(re, keys[j][1]))
                json_object_set(re, keys[j][1], m);
        }
        json_object_set_new(row, "errors", re);
    }
}

void h_pipeline_tables_save(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    int base = pf_form_version(r);
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        pf_edit_fail(r, e, &eb);
        return;
    }
    json_t *rows = rows_from_form(r), *errors = json_object();
    int *map = arena_calloc(r->a, json_array_size(rows) + 1, sizeof *map);
    tables_from_rows(r, rows, &ed.next, map, errors);
    const char *message = form_str(r, "message");
    if (params_utf8_len(message) > PL_MESSAGE_MAX || params_has_control(message))
        message = "";
    if (base != ed.cur.version) {
        pf_edit_view v = {.rows = rows,
                       .conflict = pf_conflict_box(r, &ed.cur, NULL, base, "table changes were")};
        pl_edit_abort(r);
        json_decref(errors);
        pf_edit_page(r, 409, &ed.cur, &v);
        return;
    }
    e = pl_validate(r, &ed.next, &ed.cur, 1, NULL, errors, &eb);
    if (e) {
        pl_edit_abort(r);
        json_decref(rows);
        json_decref(errors);
        web_db_error(r, e, &eb);
        return;
    }
    if (json_object_size(errors) > 0) {
        pl_edit_abort(r);
        errors_to_rows(r, rows, map, ed.next.ntables, errors);
        json_decref(errors);
        pf_edit_view v = {.rows = rows, .tables_invalid = 1, .form_version = base};
        pf_edit_page(r, 422, &ed.cur, &v);
        return;
    }
    pl_saved saved;
    e = pl_edit_commit(r, &ed, "pipeline.update", *message ? message : "tables changed",
                       &saved, errors, &eb);
    json_decref(rows);
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    page_done(r, arena_printf(r->a, "/pipelines/%s/edit#tables", id),
              saved.changed ? arena_printf(r->a, "Tables saved (version %d).", saved.version)
                            : "No changes to save.");
}

/* Add one table to p unless it is there; sync mode from discovery. */
static void add_table(request *r, pipeline *p, const char *schema, const char *table,
                      const pl_discovery *disc, sbuf *names)
{
    for (int k = 0; k < p->ntables; k++)
        if (strcmp(p->tables[k].source_schema, schema) == 0 &&
            strcmp(p->tables[k].source_table, table) == 0)
            return;
    pl_table *t = &p->tables[p->ntables++];
    memset(t, 0, sizeof *t);
    t->source_schema = schema;
    t->source_table = table;
    const conn_table *ct = disc->error ? NULL : pl_discovered(disc, schema, table);
    t->sync_mode = ct && ct->watermark ? "incremental" : "full_refresh";
    t->enabled = 1;
    sb_printf(names, "%s%s%s%s", names->len ? ", " : "", schema, *schema ? "." : "", table);
}

void h_pipeline_tables_add(request *r)
{
    sl_errbuf eb = {0};
    const char *id = pf_id_param(r);
    if (!id)
        return;
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    int base = pf_form_version(r);
    pl_edit ed;
    sl_err e = pl_edit_begin(r, id, &ed, &eb);
    if (e) {
        pf_edit_fail(r, e, &eb);
        return;
    }
    if (base != ed.cur.version) {
        pf_edit_view v = {.conflict = pf_conflict_box(r, &ed.cur, NULL, base,
                                                "tables were")};
        pl_edit_abort(r);
        pf_edit_page(r, 409, &ed.cur, &v);
        return;
    }
    pl_discovery disc = {0};
    e = pl_discover(r, ed.cur.source_id, &disc, &eb);
    if (e && e != SL_ENOTFOUND) {
        pl_edit_abort(r);
        web_db_error(r, e, &eb);
        return;
    }
    long long count = 0;
    params_int(form_str(r, "add_count"), 0, 100000, &count);
    size_t room = (size_t)ed.cur.ntables + (size_t)count + 64;
    pl_table *list = arena_calloc(r->a, room, sizeof *list);
    if (ed.cur.ntables)
        memcpy(list, ed.cur.tables, (size_t)ed.cur.ntables * sizeof *list);
    ed.next.tables = list;
    sbuf names;
    sb_init(&names, r->a, 64 * 1024);
    json_t *add_errors = json_object();
    for (long long i = 0; i < count; i++) {
        const char *v = form_get(r, arena_printf(r->a, "add%lld", i));
        if (!v)
            continue;
        json_t *key = json_loads(v, 0, NULL);
        const char *schema = json_string_value(json_array_get(key, 0));
        const char *table = json_string_value(json_array_get(key, 1));
        if (schema && table && *table && (size_t)ed.next.ntables < room)
            add_table(r, &ed.next, arena_strdup(r->a, schema), arena_strdup(r->a, table), &disc,
                      &names);
        json_decref(key);
    }
    /* One "schema.table" (or "table") per line or comma. */
    const char *typed = form_str(r, "manual");
    const char **manual = arena_calloc(r->a, strlen(typed) / 2 + 2, sizeof *manual);
    int nmanual = 0;
    for (const char *p = typed; *p;) {
        size_t len = strcspn(p, ",\r\n");
        const char *t = params_trim(r->a, arena_strndup(r->a, p, len));
        if (*t)
            manual[nmanual++] = t;
        p += len;
        if (*p)
            p++;
    }
    for (int i = 0; i < nmanual && (size_t)ed.next.ntables < room; i++) {
        const char *dot = strchr(manual[i], '.');
        const char *schema = dot ? arena_strndup(r->a, manual[i], (size_t)(dot - manual[i]))
                                 : "";
        const char *table = dot ? dot + 1 : manual[i];
        if (!*table || (dot && !*schema)) {
            page_field_error(add_errors, "manual",
                             arena_printf(r->a, "\"%s\" is not schema.table", manual[i]));
            continue;
        }
        add_table(r, &ed.next, schema, table, &disc, &names);
    }
    if (!json_object_size(add_errors) && ed.next.ntables == ed.cur.ntables)
        page_field_error(add_errors, "manual", "choose at least one table that is not "
                                               "already in the pipeline, or type its name");
    json_t *errors = json_object();
    if (!json_object_size(add_errors)) {
        e = pl_validate(r, &ed.next, &ed.cur, 1, &disc, errors, &eb);
        if (e) {
            pl_edit_abort(r);
            json_decref(add_errors);
            json_decref(errors);
            web_db_error(r, e, &eb);
            return;
        }
        /* Errors of the added tables are the picker's. */
        const char *key;
        json_t *m;
        json_object_foreach(errors, key, m) {
            page_field_error(add_errors, "manual", json_string_value(m));
        }
    }
    if (json_object_size(add_errors)) {
        pl_edit_abort(r);
        json_decref(errors);
        json_object_set_new(add_errors, "typed", json_string(typed));
        pf_edit_view v = {.add_errors = add_errors};
        pf_edit_page(r, 422, &ed.cur, &v);
        return;
    }
    json_decref(add_errors);
    const char *message = form_str(r, "message");
    if (!*message || params_utf8_len(message) > PL_MESSAGE_MAX || params_has_control(message))
        message = arena_printf(r->a, "added %s", arena_strndup(r->a, sb_str(&names), 400));
    pl_saved saved;
    e = pl_edit_commit(r, &ed, "pipeline.update", message, &saved, errors, &eb);
    json_decref(errors);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    page_done(r, arena_printf(r->a, "/pipelines/%s/edit#tables", id),
              arena_printf(r->a, "Added %s (version %d).", sb_str(&names), saved.version));
}

