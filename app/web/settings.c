/* settings.c - the settings page (/settings) and GET/PATCH /api/v1/settings:
 * every field of the catalog (app/core/setcat.h), grouped in sections, with
 * typed validation and an audited change.
 *
 * Everyone signed in may read the settings (none of them is a secret);
 * only admins change them (the routes table says so). The page has one
 * form per section: a save reads only that section's fields, so unchecking
 * a box in one section never touches another. A save locks the rows it
 * changes, writes only the fields whose value changed (merged into the
 * row: keys the catalog does not know are kept), and records
 * 'settings.update' with {changed: {"group.field": {before, after}}}. The
 * retention panel (retention.c) sits under the sections. */
#include <string.h>

#include "audit.h"
#include "connform.h"
#include "features.h"
#include "form.h"
#include "handlers.h"
#include "jsonx.h"
#include "page.h"
#include "retention.h"
#include "setcat.h"
#include "worker.h"

/* The stored object of each group the catalog edits ({group: object};
 * a group without a row is absent). Lives in r's arena. With lock, the
 * rows are locked (FOR UPDATE) in the open transaction. */
static sl_err load_groups(request *r, int lock, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    *out = NULL;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        lock ? "SELECT key, value::text FROM sluice.settings"
                               " WHERE jsonb_typeof(value) = 'object' ORDER BY key FOR UPDATE"
                             : "SELECT key, value::text FROM sluice.settings"
                               " WHERE jsonb_typeof(value) = 'object' ORDER BY key",
                        0, NULL);
    if (e)
        return e;
    json_t *g = jsonx_own(r->a, json_object());
    for (int i = 0; i < PQntuples(res); i++) {
        const char *key = PQgetvalue(res, i, 0), *text = PQgetvalue(res, i, 1);
        if (!setcat_group_known(key))
            continue;
        json_t *v = jsonx_parse(r->a, NULL, text, strlen(text));
        if (json_is_object(v))
            json_object_set(g, key, v);
    }
    *out = g;
    return SL_OK;
}

/* A section is shown when it is not optional or its group's row exists. */
static int section_present(const setcat_section *s, const json_t *groups)
{
    return !s->optional || json_object_get(groups, s->key) != NULL;
}

static int group_present(const char *group, const json_t *groups)
{
    const setcat_section *s = setcat_section_find(group);
    return !s || section_present(s, groups);
}

/* {group: {field: effective value}} of every present group. */
static json_t *effective(const json_t *groups)
{
    json_t *out = json_object();
    size_t n;
    const setcat_field *f = setcat_fields(&n);
    for (size_t i = 0; i < n; i++) {
        if (!group_present(f[i].group, groups))
            continue;
        json_t *g = json_object_get(out, f[i].group);
        if (!g) {
            g = json_object();
            json_object_set_new(out, f[i].group, g);
        }
        json_object_set_new(g, f[i].name,
                            setcat_value(&f[i], json_object_get(groups, f[i].group)));
    }
    return out;
}

/* --- saving ----------------------------------------------------------------------------- */

/* Apply changes ({group: {field: checked value}}) in one transaction.
 * Returns 0 when it answered nothing yet and *changed tells how many fields
 * changed; on errors (cross-field rules, into errors under "group.field")
 * it returns 0 with errors filled and nothing saved; 1 after answering (a
 * database failure). */
static int save(request *r, const json_t *changes, json_t *errors, int *changed)
{
    sl_errbuf eb = {0};
    *changed = 0;
    db_rollback(r->db);
    json_t *groups = NULL;
    sl_err e = db_begin(r->db, &eb);
    if (!e)
        e = load_groups(r, 1, &groups, &eb);
    if (e) {
        db_rollback(r->db);
        web_db_error(r, e, &eb);
        return 1;
    }
    json_t *diff = jsonx_own(r->a, json_object());
    json_t *writes = jsonx_own(r->a, json_object());
    const char *group;
    json_t *fields;
    json_object_foreach((json_t *)changes, group, fields) {
        json_t *stored = json_object_get(groups, group);
        json_t *merged = jsonx_own(r->a, stored ? json_deep_copy(stored) : json_object());
        json_object_update(merged, fields);
        const char *bad = NULL;
        const char *msg = setcat_check_group(r->a, group, merged, &bad);
        if (msg) {
            page_field_error(errors, arena_printf(r->a, "%s.%s", group, bad), msg);
            continue;
        }
        const char *name;
        json_t *v;
        json_object_foreach(fields, name, v) {
            const setcat_field *f = setcat_find(group, name);
            json_t *before = jsonx_own(r->a, setcat_value(f, stored));
            if (json_equal(before, v))
                continue;
            json_object_set_new(diff, arena_printf(r->a, "%s.%s", group, name),
                                json_pack("{s:O, s:O}", "before", before, "after", v));
            json_t *w = json_object_get(writes, group);
            if (!w) {
                w = json_object();
                json_object_set_new(writes, group, w);
            }
            json_object_set(w, name, v);
        }
    }
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        return 0;
    }
    json_object_foreach(writes, group, fields) {
        if (e)
            break;
        e = db_exec(r->db, &eb,
                    "INSERT INTO sluice.settings (key, value, updated_by)"
                    " VALUES ($1, $2::jsonb, $3)"
                    " ON CONFLICT (key) DO UPDATE SET value = CASE WHEN"
                    " jsonb_typeof(sluice.settings.value) = 'object' THEN sluice.settings.value"
                    " ELSE '{}'::jsonb END || EXCLUDED.value, updated_at = now(),"
                    " updated_by = EXCLUDED.updated_by",
                    3,
                    (const char *[]){group, jsonx_dump(r->a, fields),
                                     r->user_email ? r->user_email : "system"});
    }
    if (!e && json_object_size(writes) > 0) {
        const char *keys = "";
        json_object_foreach(writes, group, fields)
            keys = *keys ? arena_printf(r->a, "%s,%s", keys, group) : group;
        json_t *d = json_pack("{s:O}", "changed", diff);
        e = audit_write(r, "settings.update", "settings", keys, d, NULL);
        json_decref(d);
        if (e)
            sl_fail(&eb, e, "the change could not be recorded in the audit log");
    }
    if (!e)
        e = db_commit(r->db, &eb);
    if (e) {
        db_rollback(r->db);
        web_db_error(r, e, &eb);
        return 1;
    }
    features_forget(r);
    *changed = (int)json_object_size(diff);
    if (!*changed)
        r->audited = 1; /* nothing changed: nothing for the audit fallback to record */
    return 0;
}

/* --- the page ----------------------------------------------------------------------------- */

static const char *text_of(request *r, const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return arena_printf(r->a, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return arena_printf(r->a, "%g", json_real_value(v));
    return "";
}

/* One input of the page. typed: {"group.field": text} the person sent
 * (their values win over stored ones), may be NULL. */
static json_t *field_ctx(request *r, const setcat_field *f, const json_t *groups,
                         const json_t *typed, const json_t *errors)
{
    const char *name = arena_printf(r->a, "%s.%s", f->group, f->name);
    json_t *v = jsonx_own(r->a, setcat_value(f, json_object_get(groups, f->group)));
    const json_t *t = typed ? json_object_get(typed, name) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "id", json_string(arena_printf(r->a, "s-%s-%s", f->group, f->name)));
    json_object_set_new(o, "label", json_string(f->label));
    if (f->unit)
        json_object_set_new(o, "unit", json_string(f->unit));
    if (f->help)
        json_object_set_new(o, "help", json_string(f->help));
    if (f->type == SETCAT_BOOL) {
        json_object_set_new(o, "is_bool", json_true());
        json_object_set_new(o, "checked",
                            json_boolean(t ? json_is_true(t) : json_is_true(v)));
    } else {
        json_object_set_new(o, f->type == SETCAT_URL ? "is_url" : "is_number", json_true());
        json_object_set_new(o, "value", json_string(t ? text_of(r, t) : text_of(r, v)));
        if (f->type != SETCAT_URL) {
            json_object_set_new(o, "min", json_integer(f->min));
            json_object_set_new(o, "max", json_integer(f->max));
            json_object_set_new(o, "step", json_string(f->type == SETCAT_INT ? "1" : "any"));
            json_object_set_new(o, "inputmode",
                                json_string(f->type == SETCAT_INT ? "numeric" : "decimal"));
        } else {
            json_object_set_new(o, "maxlength", json_integer(f->max));
        }
    }
    const json_t *err = errors ? json_object_get(errors, name) : NULL;
    if (err)
        json_object_set(o, "error", (json_t *)err);
    return o;
}

static void render(request *r, int status, const json_t *groups, const char *section,
                   const json_t *typed, json_t *errors)
{
    json_t *ctx = page_ctx(r, "Settings", "settings");
    json_t *list = json_array();
    size_t ns, nf;
    const setcat_section *s = setcat_sections(&ns);
    const setcat_field *f = setcat_fields(&nf);
    for (size_t i = 0; i < ns; i++) {
        if (!section_present(&s[i], groups))
            continue;
        int mine = section && strcmp(section, s[i].key) == 0;
        json_t *fields = json_array();
        for (size_t k = 0; k < nf; k++)
            if (strcmp(f[k].section, s[i].key) == 0)
                json_array_append_new(fields, field_ctx(r, &f[k], groups, mine ? typed : NULL,
                                                        mine ? errors : NULL));
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b}", "key", s[i].key, "title",
                              s[i].title, "intro", s[i].intro, "fields", fields, "invalid",
                              mine && json_object_size(errors) > 0);
        json_array_append_new(list, o);
    }
    json_object_set_new(ctx, "sections", list);
    json_object_set_new(ctx, "can_edit", json_boolean(r->role >= ROLE_ADMIN));
    json_object_set_new(ctx, "retention", retention_panel(r));
    json_decref(errors);
    page_render(r, status, "settings/index", ctx);
}

void h_settings_page(request *r)
{
    sl_errbuf eb = {0};
    json_t *groups = NULL;
    sl_err e = load_groups(r, 0, &groups, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    render(r, 200, groups, NULL, NULL, NULL);
}

void h_settings_save(request *r)
{
    sl_errbuf eb = {0};
    if (form_parse(r, &eb) != SL_OK) {
        http_error(r, 400, eb.msg);
        return;
    }
    const setcat_section *sec = setcat_section_find(form_get(r, "section"));
    json_t *groups = NULL;
    sl_err e = load_groups(r, 0, &groups, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (!sec || !section_present(sec, groups)) {
        http_error(r, 400, "the form names no section of the settings");
        return;
    }
    json_t *changes = jsonx_own(r->a, json_object());
    json_t *typed = jsonx_own(r->a, json_object());
    json_t *errors = json_object();
    size_t n;
    const setcat_field *f = setcat_fields(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].section, sec->key) != 0)
            continue;
        const char *name = arena_printf(r->a, "%s.%s", f[i].group, f[i].name);
        const char *text = form_get(r, name);
        if (f[i].type == SETCAT_BOOL)
            text = form_bool(r, name) ? "1" : NULL;
        const char *msg = NULL;
        json_t *v = setcat_check_text(r->a, &f[i], text, &msg);
        if (f[i].type == SETCAT_BOOL)
            json_object_set_new(typed, name, json_boolean(text != NULL));
        else
            json_object_set_new(typed, name, json_string(text ? text : ""));
        if (!v) {
            page_field_error(errors, name, arena_printf(r->a, "%s %s.", f[i].label, msg));
            continue;
        }
        json_t *g = json_object_get(changes, f[i].group);
        if (!g) {
            g = json_object();
            json_object_set_new(changes, f[i].group, g);
        }
        json_object_set_new(g, f[i].name, v);
    }
    int changed = 0;
    if (json_object_size(errors) == 0 && save(r, changes, errors, &changed)) {
        json_decref(errors);
        return;
    }
    if (json_object_size(errors) > 0) {
        render(r, 422, groups, sec->key, typed, errors);
        return;
    }
    json_decref(errors);
    page_done(r, arena_printf(r->a, "/settings#%s", sec->key),
              changed ? arena_printf(r->a, "%s settings saved.", sec->title)
                      : "Nothing changed.");
}

/* --- the API ------------------------------------------------------------------------------ */

static void send_settings(request *r, int status)
{
    sl_errbuf eb = {0};
    json_t *groups = NULL;
    sl_err e = load_groups(r, 0, &groups, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, status, effective(groups));
}

void h_api_settings_get(request *r)
{
    if (r->query && *r->query) {
        http_problem(r, 422, "this resource takes no query parameters", NULL);
        return;
    }
    send_settings(r, 200);
}

void h_api_settings_patch(request *r)
{
    json_t *body = conn_json_body(r);
    if (!body)
        return;
    sl_errbuf eb = {0};
    json_t *groups = NULL;
    sl_err e = load_groups(r, 0, &groups, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *errors = json_object();
    json_t *changes = jsonx_own(r->a, json_object());
    const char *group;
    json_t *fields;
    json_object_foreach(body, group, fields) {
        if (!setcat_group_known(group) || !group_present(group, groups)) {
            page_field_error(errors, group, "no such group of settings");
            continue;
        }
        if (!json_is_object(fields)) {
            page_field_error(errors, group, "must be an object of settings");
            continue;
        }
        const char *name;
        json_t *v;
        json_object_foreach(fields, name, v) {
            const char *key = arena_printf(r->a, "%s.%s", group, name);
            const setcat_field *f = setcat_find(group, name);
            const char *msg = NULL;
            json_t *ok = f ? setcat_check_json(r->a, f, v, &msg) : NULL;
            if (!f) {
                page_field_error(errors, key, "no such setting");
                continue;
            }
            if (!ok) {
                page_field_error(errors, key, msg);
                continue;
            }
            json_t *g = json_object_get(changes, group);
            if (!g) {
                g = json_object();
                json_object_set_new(changes, group, g);
            }
            json_object_set_new(g, name, ok);
        }
    }
    int changed = 0;
    if (json_object_size(errors) == 0 && save(r, changes, errors, &changed)) {
        json_decref(errors);
        return;
    }
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "some settings are not valid; nothing was saved", errors);
        return;
    }
    json_decref(errors);
    send_settings(r, 200);
}
