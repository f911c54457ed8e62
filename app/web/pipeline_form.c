/* pipeline_form.c - what the Pipelines pages share: the pipeline form's
 * values (what the person typed, as strings) and their conversion into a
 * pipeline, schedule presets and previews, select options, the detail
 * view, the conflict box, and the edit page (pipeline form, tables form
 * and the table picker fed by discovery). See pipeline_form.h. */
#include "pipeline_form.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "jsonx.h"
#include "page.h"
#include "params.h"
#include "uuid.h"
#include "worker.h"


/* Schedule presets offered beside the free cron field. */
static const struct {
    const char *value, *label, *expr;
} presets[] = {
    {"5m", "Every 5 minutes", "*/5 * * * *"},
    {"15m", "Every 15 minutes", "*/15 * * * *"},
    {"hourly", "Every hour", "0 * * * *"},
    {"6h", "Every 6 hours", "0 */6 * * *"},
    {"daily", "Daily at 03:00", "0 3 * * *"},
    {"weekly", "Weekly, Monday 03:00", "0 3 * * 1"},
    {"manual", "Manual only (no schedule)", NULL},
    {"custom", "Custom cron expression", NULL},
};
#define NPRESETS (sizeof presets / sizeof presets[0])

/* The form fields of a pipeline, as they travel between vals and forms. */
static const char *const val_keys[] = {
    "name", "description", "source_id", "destination_id", "status", "schedule_preset",
    "schedule", "timezone", "max_retries", "timeout_seconds", "depends_on", "load_mode",
    "target_schema", "message", NULL,
};

/* --- small helpers ------------------------------------------------------------------ */

const char *pf_id_param(request *r)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, "no such pipeline");
        return NULL;
    }
    return id;
}

const char *pf_val(const json_t *vals, const char *key)
{
    const char *s = json_string_value(json_object_get(vals, key));
    return s ? s : "";
}

/* The preset whose expression is schedule ("manual" for none, "custom"). */
static const char *preset_for(const char *schedule)
{
    if (!schedule)
        return "manual";
    for (size_t i = 0; i < NPRESETS; i++)
        if (presets[i].expr && strcmp(presets[i].expr, schedule) == 0)
            return presets[i].value;
    return "custom";
}

/* How a schedule reads in lists: the preset's label or the expression. */
const char *pf_schedule_text(request *r, const char *schedule, const char *tz)
{
    const char *p = preset_for(schedule);
    if (strcmp(p, "manual") == 0)
        return "manual";
    for (size_t i = 0; i < NPRESETS; i++)
        if (strcmp(presets[i].value, p) == 0 && presets[i].expr)
            return strcmp(tz, "UTC") == 0 ? presets[i].label
                                          : arena_printf(r->a, "%s (%s)", presets[i].label, tz);
    return strcmp(tz, "UTC") == 0 ? schedule : arena_printf(r->a, "%s (%s)", schedule, tz);
}

json_t *pf_vals_from_pipeline(request *r, const pipeline *p)
{
    json_t *v = json_object();
    json_object_set_new(v, "name", json_string(p->name));
    json_object_set_new(v, "description", json_string(p->description));
    json_object_set_new(v, "source_id", json_string(p->source_id ? p->source_id : ""));
    json_object_set_new(v, "destination_id",
                        json_string(p->destination_id ? p->destination_id : ""));
    json_object_set_new(v, "status", json_string(p->status));
    json_object_set_new(v, "schedule_preset", json_string(preset_for(p->schedule)));
    json_object_set_new(v, "schedule", json_string(p->schedule ? p->schedule : ""));
    json_object_set_new(v, "timezone", json_string(p->timezone));
    json_object_set_new(v, "max_retries", json_string(arena_printf(r->a, "%lld",
                                                                   p->max_retries)));
    json_object_set_new(v, "timeout_seconds",
                        json_string(arena_printf(r->a, "%lld", p->timeout_seconds)));
    json_object_set_new(v, "depends_on", json_string(p->depends_on ? p->depends_on : ""));
    json_object_set_new(v, "load_mode", json_string(p->load_mode));
    json_object_set_new(v, "target_schema", json_string(p->target_schema ? p->target_schema
                                                                         : ""));
    json_object_set_new(v, "message", json_string(""));
    return v;
}

json_t *pf_vals_from_form(request *r)
{
    json_t *v = json_object();
    for (int i = 0; val_keys[i]; i++) {
        const char *s = strcmp(val_keys[i], "description") == 0 ? form_get(r, "description")
                                                                 : form_str(r, val_keys[i]);
        json_object_set_new(v, val_keys[i], json_string(s && params_utf8_len(s) >= 0 ? s : ""));
    }
    return v;
}

static void parse_num(request *r, const json_t *vals, const char *key, long long *out,
                      json_t *errors)
{
    const char *s = pf_val(vals, key);
    if (!*s)
        page_field_error(errors, key, "is required");
    else if (!params_int(s, -1000000000LL, 1000000000LL, out))
        page_field_error(errors, key, "must be a whole number");
}

/* Turn form values into p's fields (the model checks them later). */
/* vals[key] copied into the arena, so p outlives vals; opt: "" -> NULL. */
static const char *take(request *r, const json_t *vals, const char *key, int opt)
{
    const char *s = pf_val(vals, key);
    return opt && !*s ? NULL : arena_strdup(r->a, s);
}

void pf_apply_vals(request *r, const json_t *vals, pipeline *p, json_t *errors)
{
    p->name = take(r, vals, "name", 0);
    p->description = take(r, vals, "description", 0);
    p->source_id = take(r, vals, "source_id", 0);
    p->destination_id = take(r, vals, "destination_id", 1);
    p->status = take(r, vals, "status", 0);
    const char *preset = pf_val(vals, "schedule_preset");
    const char *typed = take(r, vals, "schedule", 1);
    int known = 0;
    for (size_t i = 0; i < NPRESETS; i++)
        if (strcmp(presets[i].value, preset) == 0) {
            known = 1;
            p->schedule = presets[i].expr;
        }
    if (!known || strcmp(preset, "custom") == 0) {
        if (!typed)
            page_field_error(errors, "schedule",
                             "enter a cron expression, or choose a preset or Manual only");
        p->schedule = typed;
    }
    p->timezone = take(r, vals, "timezone", 0);
    parse_num(r, vals, "max_retries", &p->max_retries, errors);
    parse_num(r, vals, "timeout_seconds", &p->timeout_seconds, errors);
    p->depends_on = take(r, vals, "depends_on", 1);
    p->load_mode = take(r, vals, "load_mode", 0);
    p->target_schema = take(r, vals, "target_schema", 1);
}

const char *pf_note(request *r, const json_t *vals, json_t *errors)
{
    const char *m = take(r, vals, "message", 0);
    long n = params_utf8_len(m);
    if (n > PL_MESSAGE_MAX)
        page_field_error(errors, "message", "must be at most 500 characters");
    else if (params_has_control(m))
        page_field_error(errors, "message", "must be one line of text");
    return m;
}

/* [{value, label, selected}] from a query of (id, name[, is_default]). */
static sl_err options(request *r, const char *sql, const char *param, const char *selected,
                      const char *none_label, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res, sql, param ? 1 : 0,
                        param ? (const char *[]){param} : NULL);
    if (e)
        return e;
    json_t *list = json_array();
    if (none_label)
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "value", "", "label",
                                              none_label, "selected", !*selected));
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        const char *label = PQgetvalue(res, i, 1);
        if (PQnfields(res) > 2 && strcmp(PQgetvalue(res, i, 2), "t") == 0)
            label = arena_printf(r->a, "%s (default)", label);
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "value", id, "label", label,
                                              "selected", strcmp(id, selected) == 0));
    }
    *out = list;
    return SL_OK;
}

json_t *pf_choice(const char *const *values, const char *const *labels, const char *sel)
{
    json_t *list = json_array();
    for (int i = 0; values[i]; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "value", values[i], "label",
                                              labels[i], "selected",
                                              strcmp(values[i], sel) == 0));
    return list;
}

/* {fires: [{local, utc}], fires_note} for a schedule preview. */
void pf_put_fires(request *r, json_t *ctx, const char *schedule, const char *tz)
{
    json_t *list = json_array();
    time_t t[PL_FIRES];
    int n = pl_next_fires(schedule, tz, time(NULL), t, PL_FIRES);
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "local",
                                              pl_format_time(r->a, t[i], tz), "utc",
                                              pl_format_time(r->a, t[i], "UTC")));
    json_object_set_new(ctx, "fires", list);
    json_object_set_new(ctx, "fires_zone", json_string(tz));
    json_object_set_new(ctx, "fires_utc_differs", json_boolean(strcmp(tz, "UTC") != 0));
    if (!schedule)
        json_object_set_new(ctx, "fires_note",
                            json_string("Manual only: it runs when someone starts it."));
    else if (n == 0)
        json_object_set_new(ctx, "fires_note",
                            json_string("No fire times: fix the schedule or time zone."));
}

/* Everything the pipeline form needs besides vals and errors. */
sl_err pf_form_ctx(request *r, json_t *ctx, const json_t *vals, const char *self_id,
                       sl_errbuf *eb)
{
    static const char *const statuses[] = {"active", "paused", NULL};
    static const char *const status_labels[] = {"Active", "Paused", NULL};
    static const char *const loads[] = {"direct", "raw", NULL};
    static const char *const load_labels[] = {"Direct (typed tables only)",
                                              "Raw (JSON staging tables, then typed)", NULL};
    json_t *sources, *dests, *deps;
    sl_err e = options(r, "SELECT id, name FROM sluice.sources ORDER BY lower(name), id"
                          " LIMIT 1000",
                       NULL, pf_val(vals, "source_id"), "Choose a source", &sources, eb);
    if (e)
        return e;
    json_object_set_new(ctx, "sources", sources);
    json_object_set_new(ctx, "no_sources", json_boolean(json_array_size(sources) <= 1));
    e = options(r, "SELECT id, name, is_default FROM sluice.destinations"
                   " ORDER BY is_default DESC, lower(name), id LIMIT 1000",
                NULL, pf_val(vals, "destination_id"), NULL, &dests, eb);
    if (e)
        return e;
    json_object_set_new(ctx, "destinations", dests);
    json_object_set_new(ctx, "no_destinations", json_boolean(json_array_size(dests) == 0));
    e = options(r, "SELECT id, name FROM sluice.pipelines WHERE deleted_at IS NULL"
                   " AND id IS DISTINCT FROM $1::uuid ORDER BY lower(name), id LIMIT 1000",
                self_id ? self_id : "00000000-0000-0000-0000-000000000000",
                pf_val(vals, "depends_on"), "Nothing (runs on its own schedule)", &deps, eb);
    if (e)
        return e;
    json_object_set_new(ctx, "pipelines", deps);
    json_object_set_new(ctx, "statuses",
                        pf_choice(statuses, status_labels, pf_val(vals, "status")));
    json_object_set_new(ctx, "load_modes",
                        pf_choice(loads, load_labels, pf_val(vals, "load_mode")));
    json_t *pl = json_array();
    for (size_t i = 0; i < NPRESETS; i++)
        json_array_append_new(pl, json_pack("{s:s, s:s, s:o, s:b}", "value", presets[i].value,
                                            "label", presets[i].label, "expr",
                                            presets[i].expr ? json_string(presets[i].expr)
                                                            : json_null(),
                                            "selected",
                                            strcmp(presets[i].value,
                                                   pf_val(vals, "schedule_preset")) == 0));
    json_object_set_new(ctx, "presets", pl);
    /* Preview what the typed schedule would do (when it parses). */
    pipeline tmp;
    pl_defaults(&tmp);
    json_t *scratch = json_object();
    pf_apply_vals(r, vals, &tmp, scratch);
    json_decref(scratch);
    pf_put_fires(r, ctx, tmp.schedule, *tmp.timezone ? tmp.timezone : "UTC");
    return SL_OK;
}

/* --- detail ------------------------------------------------------------------------- */

static json_t *table_rows_view(request *r, const pipeline *p)
{
    json_t *list = json_array();
    for (int i = 0; i < p->ntables; i++) {
        const pl_table *t = &p->tables[i];
        json_t *o = pl_table_json(t);
        json_object_set_new(o, "label", json_string(*t->source_schema
                                                        ? arena_printf(r->a, "%s.%s",
                                                                       t->source_schema,
                                                                       t->source_table)
                                                        : t->source_table));
        json_object_set_new(o, "load_mode_text",
                            json_string(t->load_mode ? t->load_mode
                                                     : arena_printf(r->a, "inherit (%s)",
                                                                    p->load_mode)));
        json_object_set_new(o, "watermark_text",
                            json_string(t->watermark_column ? t->watermark_column
                                                            : "automatic"));
        json_object_set_new(o, "lookback_text",
                            json_string(pl_format_lookback(r->a, t->lookback_seconds)));
        json_array_append_new(list, o);
    }
    return list;
}

/* The pipeline as the detail page shows it. */
json_t *pf_pipeline_view(request *r, const pipeline *p)
{
    json_t *o = pl_api_json(p, 0);
    /* The page names the time zone itself; a preset's name comes with its
     * expression, a custom expression once. */
    const char *text = p->schedule ? pf_schedule_text(r, p->schedule, "UTC") : "manual only";
    json_object_set_new(o, "schedule_text", json_string(text));
    json_object_set_new(o, "schedule_named",
                        json_boolean(p->schedule && strcmp(text, p->schedule) != 0));
    json_object_set_new(o, "paused", json_boolean(strcmp(p->status, "paused") == 0));
    json_object_set_new(o, "has_description", json_boolean(*p->description != '\0'));
    json_object_set_new(o, "target_schema_text",
                        json_string(p->target_schema ? p->target_schema
                                                     : "the destination's target schema"));
    json_object_set_new(o, "tables", table_rows_view(r, p));
    json_object_set_new(o, "has_tables", json_boolean(p->ntables > 0));
    return o;
}

/* Load pipeline id for a page: 1 found; 0 answered 404; -1 answered an error. */
int pf_load(request *r, const char *id, pipeline *p)
{
    sl_errbuf eb = {0};
    sl_err e = pl_load(r, id, 0, p, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such pipeline");
        return 0;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    return 1;
}

/* --- edit ----------------------------------------------------------------------------- */


/* Rows of the tables form from stored tables (errors: none). */
static json_t *rows_from_tables(request *r, const pl_table *tables, int n)
{
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const pl_table *t = &tables[i];
        json_t *o = json_object();
        json_object_set_new(o, "schema", json_string(t->source_schema));
        json_object_set_new(o, "table", json_string(t->source_table));
        json_object_set_new(o, "target", json_string(t->target_table ? t->target_table : ""));
        json_object_set_new(o, "sync_mode", json_string(t->sync_mode));
        json_object_set_new(o, "load_mode", json_string(t->load_mode ? t->load_mode : ""));
        json_object_set_new(o, "wm", json_string(t->watermark_column ? t->watermark_column
                                                                     : ""));
        json_object_set_new(o, "lookback",
                            json_string(pl_format_lookback(r->a, t->lookback_seconds)));
        json_object_set_new(o, "enabled", json_boolean(t->enabled));
        json_object_set_new(o, "remove", json_false());
        json_array_append_new(list, o);
    }
    return list;
}

/* Decorate rows for the template: index, label, option lists, errors. */
static void finish_rows(request *r, json_t *rows, const pl_discovery *disc)
{
    static const char *const syncs[] = {"incremental", "full_refresh", NULL};
    static const char *const sync_labels[] = {"Incremental", "Full refresh", NULL};
    /* When discovery found no watermark and none is named. */
    static const char *const sync_labels_nowm[] = {"Incremental (name a watermark column)",
                                                   "Full refresh", NULL};
    static const char *const loads[] = {"", "direct", "raw", NULL};
    static const char *const load_labels[] = {"Inherit", "Direct", "Raw", NULL};
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o) {
        const char *schema = pf_val(o, "schema"), *table = pf_val(o, "table");
        const conn_table *ct = disc && !disc->error ? pl_discovered(disc, schema, table) : NULL;
        int nowm = ct && !ct->watermark && !*pf_val(o, "wm");
        json_object_set_new(o, "i", json_integer((json_int_t)i));
        json_object_set_new(o, "label", json_string(*schema ? arena_printf(r->a, "%s.%s",
                                                                           schema, table)
                                                            : table));
        json_object_set_new(o, "syncs", pf_choice(syncs, nowm ? sync_labels_nowm : sync_labels,
                                                  pf_val(o, "sync_mode")));
        json_object_set_new(o, "loads", pf_choice(loads, load_labels, pf_val(o, "load_mode")));
        if (ct)
            json_object_set_new(o, "found_wm", json_string(ct->watermark ? ct->watermark
                                                                         : "none"));
        if (!json_object_get(o, "errors"))
            json_object_set_new(o, "errors", json_object());
    }
}

/* The picker: discovered tables not yet chosen. */
static json_t *picker(request *r, const pl_discovery *d, const pipeline *p)
{
    json_t *list = json_array();
    for (int i = 0; i < d->n; i++) {
        const conn_table *t = &d->tables[i];
        const char *schema = t->schema ? t->schema : "";
        int chosen = 0;
        for (int k = 0; k < p->ntables; k++)
            chosen |= strcmp(p->tables[k].source_schema, schema) == 0 &&
                      strcmp(p->tables[k].source_table, t->name) == 0;
        json_t *key = json_pack("[s, s]", schema, t->name);
        json_t *o = json_object();
        json_object_set_new(o, "i", json_integer(i));
        json_object_set_new(o, "value", json_string(jsonx_dump(r->a, key)));
        json_decref(key);
        json_object_set_new(o, "label", json_string(*schema ? arena_printf(r->a, "%s.%s",
                                                                           schema, t->name)
                                                            : t->name));
        json_object_set_new(o, "watermark", t->watermark ? json_string(t->watermark)
                                                         : json_null());
        json_object_set_new(o, "rows", json_string(t->est_rows >= 0
                                                       ? arena_printf(r->a, "~%lld rows",
                                                                      t->est_rows)
                                                       : "row count unknown"));
        json_object_set_new(o, "columns", json_integer(t->ncols));
        json_object_set_new(o, "has_pk", json_boolean(t->has_pk));
        json_object_set_new(o, "chosen", json_boolean(chosen));
        json_array_append_new(list, o);
    }
    return list;
}

void pf_edit_page(request *r, int status, const pipeline *p, pf_edit_view *v)
{
    sl_errbuf eb = {0};
    json_t *vals = v->vals ? v->vals : pf_vals_from_pipeline(r, p);
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Edit %s", p->name), "pipelines");
    sl_err e = pf_form_ctx(r, ctx, vals, p->id, &eb);
    pl_discovery disc = {0};
    if (!e)
        e = pl_discover(r, p->source_id, &disc, &eb);
    if (e == SL_ENOTFOUND)
        e = SL_OK;
    if (e) {
        json_decref(ctx);
        json_decref(vals);
        json_decref(v->errors);
        json_decref(v->rows);
        json_decref(v->add_errors);
        json_decref(v->conflict);
        web_db_error(r, e, &eb);
        return;
    }
    json_t *errors = v->errors ? v->errors : json_object();
    json_t *rows = v->rows ? v->rows : rows_from_tables(r, p->tables, p->ntables);
    finish_rows(r, rows, &disc);
    json_object_set_new(ctx, "p", pf_pipeline_view(r, p));
    json_object_set_new(ctx, "vals", vals);
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "has_errors", json_boolean(json_object_size(errors) > 0));
    json_object_set_new(ctx, "rows", rows);
    json_object_set_new(ctx, "has_rows", json_boolean(json_array_size(rows) > 0));
    json_object_set_new(ctx, "row_count", json_integer((json_int_t)json_array_size(rows)));
    json_object_set_new(ctx, "tables_invalid", json_boolean(v->tables_invalid));
    json_object_set_new(ctx, "add_errors", v->add_errors ? v->add_errors : json_object());
    json_object_set_new(ctx, "form_version",
                        json_integer(v->form_version ? v->form_version : p->version));
    if (disc.error)
        json_object_set_new(ctx, "discovery_error", json_string(disc.error));
    json_t *pick = picker(r, &disc, p);
    json_object_set_new(ctx, "pick_count", json_integer((json_int_t)json_array_size(pick)));
    json_object_set_new(ctx, "has_pick", json_boolean(json_array_size(pick) > 0));
    json_object_set_new(ctx, "pick", pick);
    if (v->conflict)
        json_object_set_new(ctx, "conflict", v->conflict);
    page_render(r, status, "pipelines/edit", ctx);
}

/* The version the form was loaded from; 0 when missing or malformed. */
int pf_form_version(request *r)
{
    long long v;
    return params_int(form_str(r, "version"), 1, 2147483647, &v) ? (int)v : 0;
}

/* The conflict box: who saved which version when, their values beside
 * the typed ones (mine), and a link to the diff since the form's base. */
json_t *pf_conflict_box(request *r, const pipeline *cur, const pipeline *mine, int base,
                            const char *what)
{
    PGresult *res;
    const char *author = "someone", *at = "";
    if (db_query(r->db, r->a, NULL, &res,
                 "SELECT coalesce(author_email, 'someone'),"
                 " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'"
                 " FROM sluice.pipeline_versions WHERE pipeline_id = $1 AND version = $2::int",
                 2, (const char *[]){cur->id, arena_printf(r->a, "%d", cur->version)}) == SL_OK &&
        PQntuples(res) == 1) {
        author = PQgetvalue(res, 0, 0);
        at = PQgetvalue(res, 0, 1);
    }
    json_t *o = json_object();
    json_object_set_new(o, "message",
                        json_string(arena_printf(r->a,
                                                 "Someone else changed this pipeline (version "
                                                 "%d by %s at %s) while you were editing. Your "
                                                 "%s not saved.",
                                                 cur->version, author, at, what)));
    json_object_set_new(o, "version", json_integer(cur->version));
    json_object_set_new(o, "author", json_string(author));
    json_object_set_new(o, "at", json_string(at));
    if (base > 0 && base < cur->version)
        json_object_set_new(o, "diff_url",
                            json_string(arena_printf(r->a,
                                                     "/pipelines/%s/versions/diff?from=%d&to=%d",
                                                     cur->id, base, cur->version)));
    json_t *rows = json_array();
    if (mine) {
        json_t *theirs = pl_snapshot(cur), *yours = pl_snapshot(mine);
        json_t *d = pl_diff(r, theirs, yours);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(d, "fields"), i, c) {
            json_array_append_new(rows, json_pack("{s:O, s:O, s:O}", "label",
                                                  json_object_get(c, "label"), "theirs",
                                                  json_object_get(c, "old"), "yours",
                                                  json_object_get(c, "new")));
        }
        json_decref(d);
        json_decref(theirs);
        json_decref(yours);
    }
    json_object_set_new(o, "has_rows", json_boolean(json_array_size(rows) > 0));
    json_object_set_new(o, "rows", rows);
    return o;
}

/* Answer a failed edit transaction's error (rolled back already). */
void pf_edit_fail(request *r, sl_err e, const sl_errbuf *eb)
{
    if (e == SL_ENOTFOUND)
        http_error(r, 404, "no such pipeline");
    else
        web_db_error(r, e, eb);
}

