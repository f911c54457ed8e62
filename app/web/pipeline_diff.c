/* pipeline_diff.c - what changed between two pipeline snapshots, field by
 * field, and how each value reads to a person (ids by name, null as the
 * default it stands for).
 *
 * Used by the history's diff view and by the edit form's conflict box.
 * Entry points: pl_diff, pl_label, pl_display. */
#include "pipeline_model.h"

#include <string.h>

#include "uuid.h"

/* Pipeline keys in display order, with labels. */
static const struct {
    const char *key, *label;
} fields[] = {
    {"name", "Name"},
    {"description", "Description"},
    {"status", "Status"},
    {"source_id", "Source"},
    {"destination_id", "Destination"},
    {"schedule", "Schedule"},
    {"timezone", "Time zone"},
    {"max_retries", "Max retries"},
    {"timeout_seconds", "Timeout (seconds)"},
    {"depends_on", "Depends on"},
    {"load_mode", "Load mode"},
    {"target_schema", "Target schema"},
    {"deleted", "Deleted"},
    {"tables", "Tables"},
    {"source_schema", "Source schema"},
    {"source_table", "Source table"},
    {"target_table", "Target table"},
    {"sync_mode", "Sync mode"},
    {"watermark_column", "Watermark column"},
    {"lookback_seconds", "Lookback"},
    {"enabled", "Enabled"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* The table-level keys compared (source_schema/source_table name the row). */
static const char *const table_keys[] = {"target_table", "sync_mode", "load_mode",
                                         "watermark_column", "lookback_seconds", "enabled",
                                         NULL};

const char *pl_label(const char *key)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].key, key) == 0)
            return fields[i].label;
    return key;
}

/* The name of the row id in table (a trusted constant), or NULL. */
static const char *name_of(request *r, const char *table, const char *id)
{
    if (!uuid_valid(id))
        return NULL;
    char *v = NULL;
    const char *sql = strcmp(table, "sources") == 0  ? "SELECT name FROM sluice.sources"
                                                       " WHERE id = $1"
                      : strcmp(table, "destinations") == 0 ? "SELECT name FROM"
                                                             " sluice.destinations WHERE id = $1"
                                                           : "SELECT name FROM sluice.pipelines"
                                                             " WHERE id = $1";
    if (db_query_value(r->db, r->a, NULL, &v, sql, 1, (const char *[]){id}) != SL_OK)
        return NULL;
    return v;
}

const char *pl_display(request *r, const char *key, const json_t *v)
{
    if (!v || json_is_null(v)) {
        if (strcmp(key, "schedule") == 0)
            return "manual only";
        if (strcmp(key, "load_mode") == 0)
            return "inherit";
        if (strcmp(key, "watermark_column") == 0)
            return "automatic";
        if (strcmp(key, "target_schema") == 0)
            return "the destination's";
        if (strcmp(key, "target_table") == 0)
            return "same as source";
        return "\xe2\x80\x94";
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "yes" : "no";
    if (json_is_integer(v)) {
        if (strcmp(key, "lookback_seconds") == 0)
            return pl_format_lookback(r->a, json_integer_value(v));
        return arena_printf(r->a, "%lld", (long long)json_integer_value(v));
    }
    if (!json_is_string(v))
        return "";
    const char *s = json_string_value(v);
    const char *table = strcmp(key, "source_id") == 0        ? "sources"
                        : strcmp(key, "destination_id") == 0 ? "destinations"
                        : strcmp(key, "depends_on") == 0     ? "pipelines"
                                                             : NULL;
    if (table) {
        const char *name = name_of(r, table, s);
        return name ? name : arena_printf(r->a, "(deleted) %s", s);
    }
    if (!*s)
        return "(empty)";
    return arena_strdup(r->a, s);
}

static json_t *change(request *r, const char *key, const json_t *a, const json_t *b)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "key", key, "label", pl_label(key), "old",
                     pl_display(r, key, a), "new", pl_display(r, key, b));
}

static const char *table_name(request *r, const json_t *t)
{
    const char *schema = json_string_value(json_object_get(t, "source_schema"));
    const char *name = json_string_value(json_object_get(t, "source_table"));
    if (!name)
        name = "?";
    return schema && *schema ? arena_printf(r->a, "%s.%s", schema, name) : name;
}

static const json_t *find_table(request *r, const json_t *tables, const char *name,
                                size_t *index)
{
    for (size_t i = 0; i < json_array_size(tables); i++)
        if (strcmp(table_name(r, json_array_get(tables, i)), name) == 0) {
            *index = i;
            return json_array_get(tables, i);
        }
    return NULL;
}

static void diff_tables(request *r, const json_t *ta, const json_t *tb, json_t *out)
{
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();
    int reordered = 0;
    size_t pos = 0, idx;
    for (size_t i = 0; i < json_array_size(tb); i++) {
        const json_t *t = json_array_get(tb, i);
        const char *name = table_name(r, t);
        const json_t *old = find_table(r, ta, name, &idx);
        if (!old) {
            json_array_append_new(added, json_string(name));
            continue;
        }
        if (idx < pos)
            reordered = 1;
        pos = idx;
        json_t *changes = json_array();
        for (int k = 0; table_keys[k]; k++) {
            const json_t *va = json_object_get(old, table_keys[k]);
            const json_t *vb = json_object_get(t, table_keys[k]);
            if (!json_equal(va ? va : json_null(), vb ? vb : json_null()))
                json_array_append_new(changes, change(r, table_keys[k], va, vb));
        }
        if (json_array_size(changes))
            json_array_append_new(changed,
                                  json_pack("{s:s, s:o}", "table", name, "changes", changes));
        else
            json_decref(changes);
    }
    for (size_t i = 0; i < json_array_size(ta); i++) {
        const char *name = table_name(r, json_array_get(ta, i));
        if (!find_table(r, tb, name, &idx))
            json_array_append_new(removed, json_string(name));
    }
    int any = json_array_size(added) || json_array_size(removed) || json_array_size(changed) ||
              reordered;
    json_object_set_new(out, "tables_added", added);
    json_object_set_new(out, "tables_removed", removed);
    json_object_set_new(out, "tables_changed", changed);
    json_object_set_new(out, "tables_reordered", json_boolean(reordered));
    json_object_set_new(out, "tables_differ", json_boolean(any));
}

json_t *pl_diff(request *r, const json_t *a, const json_t *b)
{
    json_t *out = json_object(), *list = json_array();
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *key = fields[i].key;
        if (strcmp(key, "tables") == 0)
            break;
        const json_t *va = json_object_get(a, key), *vb = json_object_get(b, key);
        if (!json_equal(va ? va : json_null(), vb ? vb : json_null()))
            json_array_append_new(list, change(r, key, va, vb));
    }
    int nfields = (int)json_array_size(list);
    json_object_set_new(out, "fields", list);
    json_object_set_new(out, "has_fields", json_boolean(nfields > 0));
    diff_tables(r, json_object_get(a, "tables"), json_object_get(b, "tables"), out);
    json_object_set_new(out, "same", json_boolean(nfields == 0 &&
                                                  !json_is_true(json_object_get(
                                                      out, "tables_differ"))));
    return out;
}
