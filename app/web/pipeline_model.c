/* pipeline_model.c - pipelines in memory and in the database: load, JSON in
 * and out, snapshots and ETags, and the write path that appends a version.
 *
 * A change is one transaction: the pipeline row is locked FOR UPDATE
 * (pl_edit_begin), the caller checks its precondition and validates, then
 * pl_edit_commit writes the row and the tables, appends the version whose
 * snapshot is pl_snapshot() of the new state, moves the current pointer and
 * records the audit entry before COMMIT. Validation lives in
 * pipeline_check.c, diffs in pipeline_diff.c. */
#include "pipeline_model.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "jsonx.h"
#include "params.h"
#include "uuid.h"

#define ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Columns of the pipeline query, in this order. */
enum { P_ID, P_NAME, P_DESC, P_SRC, P_DST, P_STATUS, P_SCHED, P_TZ, P_RETRIES, P_TIMEOUT,
       P_DEP, P_LOAD, P_TSCHEMA, P_VERSION, P_ETAG, P_CREATED, P_UPDATED, P_SRC_NAME,
       P_DST_NAME, P_DEP_NAME };

#define PIPELINE_SQL                                                                         \
    "SELECT p.id, p.name, p.description, p.source_id, p.destination_id, p.status,"          \
    " p.schedule, p.timezone, p.max_retries, p.timeout_seconds, p.depends_on, p.load_mode,"  \
    " p.target_schema, p.version, v.etag, " ISO("p.created_at") ", " ISO("p.updated_at") "," \
    " s.name, d.name, dp.name"                                                               \
    " FROM sluice.pipelines p"                                                               \
    " JOIN sluice.sources s ON s.id = p.source_id"                                           \
    " JOIN sluice.destinations d ON d.id = p.destination_id"                                 \
    " LEFT JOIN sluice.pipelines dp ON dp.id = p.depends_on"                                 \
    " LEFT JOIN sluice.pipeline_versions v ON v.id = p.current_version_id"                   \
    " WHERE p.id = $1::uuid AND p.deleted_at IS NULL"

void pl_defaults(pipeline *p)
{
    memset(p, 0, sizeof *p);
    p->name = "";
    p->description = "";
    p->source_id = "";
    p->status = "active";
    p->timezone = "UTC";
    p->max_retries = 3;
    p->timeout_seconds = 3600;
    p->load_mode = "direct";
}

static const char *col(PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static long long col_int(PGresult *res, int row, int c)
{
    return strtoll(PQgetvalue(res, row, c), NULL, 10);
}

static sl_err load_tables(request *r, const char *id, pipeline *p, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT source_schema, source_table, target_table, sync_mode, load_mode,"
                        " watermark_column, lookback_seconds, enabled"
                        " FROM sluice.pipeline_tables WHERE pipeline_id = $1"
                        " ORDER BY position, source_schema, source_table",
                        1, (const char *[]){id});
    if (e)
        return e;
    int n = PQntuples(res);
    p->ntables = n;
    p->tables = arena_calloc(r->a, n ? (size_t)n : 1, sizeof *p->tables);
    for (int i = 0; i < n; i++) {
        pl_table *t = &p->tables[i];
        t->source_schema = PQgetvalue(res, i, 0);
        t->source_table = PQgetvalue(res, i, 1);
        t->target_table = col(res, i, 2);
        t->sync_mode = PQgetvalue(res, i, 3);
        t->load_mode = col(res, i, 4);
        t->watermark_column = col(res, i, 5);
        t->lookback_seconds = col_int(res, i, 6);
        t->enabled = strcmp(PQgetvalue(res, i, 7), "t") == 0;
    }
    return SL_OK;
}

sl_err pl_load(request *r, const char *id, int lock, pipeline *p, sl_errbuf *eb)
{
    if (!id || !uuid_valid(id))
        return SL_ENOTFOUND;
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        lock ? PIPELINE_SQL " FOR UPDATE OF p" : PIPELINE_SQL, 1,
                        (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return SL_ENOTFOUND;
    pl_defaults(p);
    p->id = PQgetvalue(res, 0, P_ID);
    p->name = PQgetvalue(res, 0, P_NAME);
    p->description = PQgetvalue(res, 0, P_DESC);
    p->source_id = PQgetvalue(res, 0, P_SRC);
    p->destination_id = PQgetvalue(res, 0, P_DST);
    p->status = PQgetvalue(res, 0, P_STATUS);
    p->schedule = col(res, 0, P_SCHED);
    p->timezone = PQgetvalue(res, 0, P_TZ);
    p->max_retries = col_int(res, 0, P_RETRIES);
    p->timeout_seconds = col_int(res, 0, P_TIMEOUT);
    p->depends_on = col(res, 0, P_DEP);
    p->load_mode = PQgetvalue(res, 0, P_LOAD);
    p->target_schema = col(res, 0, P_TSCHEMA);
    p->version = (int)col_int(res, 0, P_VERSION);
    p->etag = col(res, 0, P_ETAG);
    p->created_at = PQgetvalue(res, 0, P_CREATED);
    p->updated_at = PQgetvalue(res, 0, P_UPDATED);
    p->source_name = PQgetvalue(res, 0, P_SRC_NAME);
    p->destination_name = PQgetvalue(res, 0, P_DST_NAME);
    p->depends_on_name = col(res, 0, P_DEP_NAME);
    return load_tables(r, p->id, p, eb);
}

sl_err pl_list(request *r, const char *after, const char *before, int limit, pipeline **out,
               int *n, sl_errbuf *eb)
{
    PGresult *res;
    const char *lim = arena_printf(r->a, "%d", limit + 1);
    const char *cols = "SELECT p.id, p.name, p.description, p.source_id, p.destination_id,"
                       " p.status, p.schedule, p.timezone, p.max_retries, p.timeout_seconds,"
                       " p.depends_on, p.load_mode, p.target_schema, p.version, v.etag, "
                       ISO("p.created_at") ", " ISO("p.updated_at") ", s.name, d.name, dp.name,"
                       " (SELECT count(*) FROM sluice.pipeline_tables t"
                       " WHERE t.pipeline_id = p.id)"
                       " FROM sluice.pipelines p"
                       " JOIN sluice.sources s ON s.id = p.source_id"
                       " JOIN sluice.destinations d ON d.id = p.destination_id"
                       " LEFT JOIN sluice.pipelines dp ON dp.id = p.depends_on"
                       " LEFT JOIN sluice.pipeline_versions v ON v.id = p.current_version_id"
                       " WHERE p.deleted_at IS NULL";
    sl_err e;
    if (before)
        e = db_query(r->db, r->a, eb, &res,
                     arena_printf(r->a, "%s AND (lower(p.name), p.id) < (SELECT lower(name), id"
                                        " FROM sluice.pipelines WHERE id = $1::uuid)"
                                        " ORDER BY lower(p.name) DESC, p.id DESC LIMIT $2::int",
                                  cols),
                     2, (const char *[]){before, lim});
    else
        e = db_query(r->db, r->a, eb, &res,
                     arena_printf(r->a, "%s AND ($1::uuid IS NULL OR (lower(p.name), p.id) >"
                                        " (SELECT lower(name), id FROM sluice.pipelines"
                                        " WHERE id = $1::uuid))"
                                        " ORDER BY lower(p.name), p.id LIMIT $2::int",
                                  cols),
                     2, (const char *[]){after, lim});
    if (e)
        return e;
    int count = PQntuples(res);
    pipeline *list = arena_calloc(r->a, count ? (size_t)count : 1, sizeof *list);
    for (int k = 0; k < count; k++) {
        /* Backward pages come newest-first: store them in ascending order,
         * keeping the extra row (if any) last so callers can drop it. */
        int i = k;
        if (before)
            i = count > limit ? (k < limit ? limit - 1 - k : limit) : count - 1 - k;
        pipeline *p = &list[i];
        pl_defaults(p);
        p->id = PQgetvalue(res, k, P_ID);
        p->name = PQgetvalue(res, k, P_NAME);
        p->description = PQgetvalue(res, k, P_DESC);
        p->source_id = PQgetvalue(res, k, P_SRC);
        p->destination_id = PQgetvalue(res, k, P_DST);
        p->status = PQgetvalue(res, k, P_STATUS);
        p->schedule = col(res, k, P_SCHED);
        p->timezone = PQgetvalue(res, k, P_TZ);
        p->max_retries = col_int(res, k, P_RETRIES);
        p->timeout_seconds = col_int(res, k, P_TIMEOUT);
        p->depends_on = col(res, k, P_DEP);
        p->load_mode = PQgetvalue(res, k, P_LOAD);
        p->target_schema = col(res, k, P_TSCHEMA);
        p->version = (int)col_int(res, k, P_VERSION);
        p->etag = col(res, k, P_ETAG);
        p->created_at = PQgetvalue(res, k, P_CREATED);
        p->updated_at = PQgetvalue(res, k, P_UPDATED);
        p->source_name = PQgetvalue(res, k, P_SRC_NAME);
        p->destination_name = PQgetvalue(res, k, P_DST_NAME);
        p->depends_on_name = col(res, k, P_DEP_NAME);
        p->ntables = (int)col_int(res, k, P_DEP_NAME + 1);
    }
    *out = list;
    *n = count;
    return SL_OK;
}

/* --- snapshots --------------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *pl_table_json(const pl_table *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "source_schema", json_string(t->source_schema));
    json_object_set_new(o, "source_table", json_string(t->source_table));
    json_object_set_new(o, "target_table", str_or_null(t->target_table));
    json_object_set_new(o, "sync_mode", json_string(t->sync_mode));
    json_object_set_new(o, "load_mode", str_or_null(t->load_mode));
    json_object_set_new(o, "watermark_column", str_or_null(t->watermark_column));
    json_object_set_new(o, "lookback_seconds", json_integer(t->lookback_seconds));
    json_object_set_new(o, "enabled", json_boolean(t->enabled));
    return o;
}

json_t *pl_snapshot(const pipeline *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "description", json_string(p->description));
    json_object_set_new(o, "source_id", json_string(p->source_id));
    json_object_set_new(o, "destination_id", str_or_null(p->destination_id));
    json_object_set_new(o, "status", json_string(p->status));
    json_object_set_new(o, "schedule", str_or_null(p->schedule));
    json_object_set_new(o, "timezone", json_string(p->timezone));
    json_object_set_new(o, "max_retries", json_integer(p->max_retries));
    json_object_set_new(o, "timeout_seconds", json_integer(p->timeout_seconds));
    json_object_set_new(o, "depends_on", str_or_null(p->depends_on));
    json_object_set_new(o, "load_mode", json_string(p->load_mode));
    json_object_set_new(o, "target_schema", str_or_null(p->target_schema));
    json_object_set_new(o, "deleted", json_boolean(p->deleted));
    json_t *tables = json_array();
    for (int i = 0; i < p->ntables; i++)
        json_array_append_new(tables, pl_table_json(&p->tables[i]));
    json_object_set_new(o, "tables", tables);
    return o;
}

char *pl_canonical(arena *a, const json_t *snapshot)
{
    char *s = json_dumps(snapshot, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        sl_panic("pl_canonical: out of memory");
    char *out = arena_strdup(a, s);
    free(s);
    return out;
}

char *pl_etag(arena *a, int version, const json_t *snapshot)
{
    const char *c = pl_canonical(a, snapshot);
    const char *hex = cr_sha256_hex(a, c, strlen(c));
    return arena_printf(a, "%d-%.20s", version, hex);
}

/* A snapshot string that may be null; *out untouched when the key is
 * missing. 0 when the value has the wrong type. */
static int snap_str(arena *a, const json_t *o, const char *key, int nullable, const char **out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 1;
    if (json_is_null(v) && nullable) {
        *out = NULL;
        return 1;
    }
    if (!json_is_string(v))
        return 0;
    *out = arena_strdup(a, json_string_value(v));
    return 1;
}

static int snap_int(const json_t *o, const char *key, long long *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 1;
    if (!json_is_integer(v))
        return 0;
    *out = json_integer_value(v);
    return 1;
}

sl_err pl_from_snapshot(arena *a, const json_t *snapshot, pipeline *p)
{
    if (!json_is_object(snapshot))
        return SL_EPARSE;
    int ok = snap_str(a, snapshot, "name", 0, &p->name) &&
             snap_str(a, snapshot, "description", 0, &p->description) &&
             snap_str(a, snapshot, "source_id", 0, &p->source_id) &&
             snap_str(a, snapshot, "destination_id", 1, &p->destination_id) &&
             snap_str(a, snapshot, "status", 0, &p->status) &&
             snap_str(a, snapshot, "schedule", 1, &p->schedule) &&
             snap_str(a, snapshot, "timezone", 0, &p->timezone) &&
             snap_int(snapshot, "max_retries", &p->max_retries) &&
             snap_int(snapshot, "timeout_seconds", &p->timeout_seconds) &&
             snap_str(a, snapshot, "depends_on", 1, &p->depends_on) &&
             snap_str(a, snapshot, "load_mode", 0, &p->load_mode) &&
             snap_str(a, snapshot, "target_schema", 1, &p->target_schema);
    if (!ok)
        return SL_EPARSE;
    const json_t *tables = json_object_get(snapshot, "tables");
    if (!json_is_array(tables))
        return SL_EPARSE;
    json_t *errors = json_object();
    pl_table *list;
    int n;
    pl_tables_from_json(a, tables, &list, &n, errors);
    int bad = json_object_size(errors) > 0;
    json_decref(errors);
    if (bad)
        return SL_EPARSE;
    p->tables = list;
    p->ntables = n;
    return SL_OK;
}

/* --- JSON API ---------------------------------------------------------------------- */

json_t *pl_api_json(const pipeline *p, int with_tables)
{
    pipeline bare = *p;
    if (!with_tables)
        bare.ntables = 0; /* list rows carry a count, not the tables */
    json_t *o = pl_snapshot(&bare);
    json_object_del(o, "deleted");
    if (!with_tables) {
        json_object_del(o, "tables");
        json_object_set_new(o, "table_count", json_integer(p->ntables));
    }
    json_object_set_new(o, "id", str_or_null(p->id));
    json_object_set_new(o, "version", json_integer(p->version));
    json_object_set_new(o, "etag", str_or_null(p->etag));
    json_object_set_new(o, "source_name", str_or_null(p->source_name));
    json_object_set_new(o, "destination_name", str_or_null(p->destination_name));
    json_object_set_new(o, "depends_on_name", str_or_null(p->depends_on_name));
    json_object_set_new(o, "created_at", str_or_null(p->created_at));
    json_object_set_new(o, "updated_at", str_or_null(p->updated_at));
    return o;
}

static const char *const readonly_keys[] = {
    "id", "version", "etag", "created_at", "updated_at", "source_name", "destination_name",
    "depends_on_name", "table_count", "next_fire_times", "message", NULL,
};

static int is_readonly(const char *key)
{
    for (int i = 0; readonly_keys[i]; i++)
        if (strcmp(key, readonly_keys[i]) == 0)
            return 1;
    return 0;
}

/* Take a string field: trimmed; null allowed (-> NULL, or "" when
 * empty_for_null) when nullable; "" becomes NULL when blank_null. */
static void take_str(arena *a, const json_t *body, const char *key, int nullable,
                     int blank_null, const char **out, json_t *errors)
{
    const json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (json_is_null(v)) {
        if (nullable)
            *out = NULL;
        else
            json_object_set_new(errors, key, json_string("must be a string"));
        return;
    }
    if (!json_is_string(v)) {
        json_object_set_new(errors, key, json_string(nullable ? "must be a string or null"
                                                              : "must be a string"));
        return;
    }
    const char *s = params_trim(a, json_string_value(v));
    *out = (blank_null && !*s) ? NULL : s;
}

static void take_int(const json_t *body, const char *key, long long *out, json_t *errors)
{
    const json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (!json_is_integer(v))
        json_object_set_new(errors, key, json_string("must be an integer"));
    else
        *out = json_integer_value(v);
}

static int known_key(const char *key)
{
    static const char *const keys[] = {
        "name", "description", "source_id", "destination_id", "status", "schedule",
        "timezone", "max_retries", "timeout_seconds", "depends_on", "load_mode",
        "target_schema", "tables", NULL,
    };
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return is_readonly(key);
}

void pl_apply_json(arena *a, const json_t *body, pipeline *p, json_t *errors)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        if (!known_key(key))
            json_object_set_new(errors, key, json_string("unknown field"));
    }
    take_str(a, body, "name", 0, 0, &p->name, errors);
    const char *desc = p->description;
    take_str(a, body, "description", 1, 0, &desc, errors);
    p->description = desc ? desc : "";
    take_str(a, body, "source_id", 0, 0, &p->source_id, errors);
    take_str(a, body, "destination_id", 1, 1, &p->destination_id, errors);
    take_str(a, body, "status", 0, 0, &p->status, errors);
    take_str(a, body, "schedule", 1, 1, &p->schedule, errors);
    take_str(a, body, "timezone", 0, 0, &p->timezone, errors);
    take_int(body, "max_retries", &p->max_retries, errors);
    take_int(body, "timeout_seconds", &p->timeout_seconds, errors);
    take_str(a, body, "depends_on", 1, 1, &p->depends_on, errors);
    take_str(a, body, "load_mode", 0, 0, &p->load_mode, errors);
    take_str(a, body, "target_schema", 1, 1, &p->target_schema, errors);
    const json_t *tables = json_object_get(body, "tables");
    if (tables) {
        if (!json_is_array(tables)) {
            json_object_set_new(errors, "tables", json_string("must be an array of tables"));
        } else {
            pl_tables_from_json(a, tables, &p->tables, &p->ntables, errors);
        }
    }
}

static void table_error(json_t *errors, int i, const char *key, const char *msg)
{
    char k[64];
    snprintf(k, sizeof k, "tables[%d].%s", i, key);
    if (!json_object_get(errors, k))
        json_object_set_new(errors, k, json_string(msg));
}

static void table_str(arena *a, const json_t *o, int i, const char *key, int nullable,
                      const char **out, json_t *errors)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return;
    if (json_is_null(v) && nullable) {
        *out = NULL;
    } else if (!json_is_string(v)) {
        table_error(errors, i, key, nullable ? "must be a string or null" : "must be a string");
    } else {
        const char *s = params_trim(a, json_string_value(v));
        *out = (nullable && !*s) ? NULL : s;
    }
}

/* One table from JSON; defaults: schema "", incremental, inherit, enabled. */
static void table_from_json(arena *a, const json_t *o, int i, pl_table *t, json_t *errors)
{
    static const char *const keys[] = {"source_schema", "source_table", "target_table",
                                       "sync_mode", "load_mode", "watermark_column",
                                       "lookback_seconds", "enabled", NULL};
    memset(t, 0, sizeof *t);
    t->source_schema = "";
    t->source_table = "";
    t->sync_mode = "incremental";
    t->enabled = 1;
    if (!json_is_object(o)) {
        table_error(errors, i, "source_table", "each table must be an object");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int known = 0;
        for (int k = 0; keys[k]; k++)
            known |= strcmp(key, keys[k]) == 0;
        if (!known)
            table_error(errors, i, key, "unknown field");
    }
    const char *schema = "";
    table_str(a, o, i, "source_schema", 1, &schema, errors);
    t->source_schema = schema ? schema : "";
    table_str(a, o, i, "source_table", 0, &t->source_table, errors);
    table_str(a, o, i, "target_table", 1, &t->target_table, errors);
    table_str(a, o, i, "sync_mode", 0, &t->sync_mode, errors);
    table_str(a, o, i, "load_mode", 1, &t->load_mode, errors);
    if (t->load_mode && strcmp(t->load_mode, "inherit") == 0)
        t->load_mode = NULL;
    table_str(a, o, i, "watermark_column", 1, &t->watermark_column, errors);
    v = json_object_get(o, "lookback_seconds");
    if (json_is_integer(v)) {
        t->lookback_seconds = json_integer_value(v);
    } else if (json_is_string(v)) {
        if (!pl_parse_lookback(json_string_value(v), &t->lookback_seconds))
            table_error(errors, i, "lookback_seconds",
                        "must be seconds (0 to 31536000) or a number with s, m, h or d");
    } else if (v && !json_is_null(v)) {
        table_error(errors, i, "lookback_seconds", "must be an integer or a string like \"2h\"");
    }
    v = json_object_get(o, "enabled");
    if (v && !json_is_boolean(v))
        table_error(errors, i, "enabled", "must be true or false");
    else if (v)
        t->enabled = json_is_true(v);
}

void pl_tables_from_json(arena *a, const json_t *arr, pl_table **tables, int *n,
                         json_t *errors)
{
    size_t count = json_array_size(arr);
    if (count > PL_MAX_TABLES) {
        json_object_set_new(errors, "tables", json_string("at most 500 tables per pipeline"));
        count = PL_MAX_TABLES;
    }
    pl_table *list = arena_calloc(a, count ? count : 1, sizeof *list);
    for (size_t i = 0; i < count; i++)
        table_from_json(a, json_array_get(arr, i), (int)i, &list[i], errors);
    *tables = list;
    *n = (int)count;
}

int pl_parse_lookback(const char *s, long long *out)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    long long mult = 1;
    char unit = s[n - 1];
    if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
        mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
        n--;
    }
    if (n == 0 || n > 12)
        return 0;
    char digits[16];
    memcpy(digits, s, n);
    digits[n] = '\0';
    long long v;
    if (digits[0] == '-' || !params_int(digits, 0, PL_LOOKBACK_MAX, &v))
        return 0;
    if (v > PL_LOOKBACK_MAX / mult)
        return 0;
    *out = v * mult;
    return 1;
}

char *pl_format_lookback(arena *a, long long s)
{
    if (s == 0)
        return arena_strdup(a, "0");
    if (s % 86400 == 0)
        return arena_printf(a, "%lldd", s / 86400);
    if (s % 3600 == 0)
        return arena_printf(a, "%lldh", s / 3600);
    if (s % 60 == 0)
        return arena_printf(a, "%lldm", s / 60);
    return arena_printf(a, "%llds", s);
}

/* --- writes ------------------------------------------------------------------------ */

/* The next run time to store: epoch seconds as text, or NULL (manual,
 * paused or no fire time). */
static const char *next_run(request *r, const pipeline *p)
{
    time_t t;
    if (!p->schedule || strcmp(p->status, "active") != 0 || p->deleted)
        return NULL;
    if (pl_next_fires(p->schedule, p->timezone, time(NULL), &t, 1) != 1)
        return NULL;
    return arena_printf(r->a, "%lld", (long long)t);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Tables as JSON text for the write statements (with their positions). */
static char *tables_param(request *r, const pipeline *p)
{
    json_t *arr = json_array();
    for (int i = 0; i < p->ntables; i++) {
        json_t *t = pl_table_json(&p->tables[i]);
        json_object_set_new(t, "position", json_integer(i));
        json_array_append_new(arr, t);
    }
    char *s = jsonx_dump(r->a, arr);
    json_decref(arr);
    return s;
}

static sl_err write_tables(request *r, const pipeline *p, sl_errbuf *eb)
{
    const char *params[] = {p->id, tables_param(r, p)};
    sl_err e = db_exec(r->db, eb,
                       "DELETE FROM sluice.pipeline_tables pt WHERE pt.pipeline_id = $1"
                       " AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb)"
                       " AS t(source_schema text, source_table text)"
                       " WHERE t.source_schema = pt.source_schema"
                       " AND t.source_table = pt.source_table)",
                       2, params);
    if (e || p->ntables == 0)
        return e;
    return db_exec(r->db, eb,
                   "INSERT INTO sluice.pipeline_tables (pipeline_id, source_schema, source_table,"
                   " target_table, sync_mode, load_mode, watermark_column, lookback_seconds,"
                   " enabled, position)"
                   " SELECT $1, t.source_schema, t.source_table, t.target_table, t.sync_mode,"
                   " t.load_mode, t.watermark_column, t.lookback_seconds, t.enabled, t.position"
                   " FROM jsonb_to_recordset($2::jsonb) AS t(source_schema text,"
                   " source_table text, target_table text, sync_mode text, load_mode text,"
                   " watermark_column text, lookback_seconds integer, enabled boolean,"
                   " position integer)"
                   " ON CONFLICT (pipeline_id, source_schema, source_table) DO UPDATE SET"
                   " target_table = EXCLUDED.target_table, sync_mode = EXCLUDED.sync_mode,"
                   " load_mode = EXCLUDED.load_mode,"
                   " watermark_column = EXCLUDED.watermark_column,"
                   " lookback_seconds = EXCLUDED.lookback_seconds,"
                   " enabled = EXCLUDED.enabled, position = EXCLUDED.position,"
                   " updated_at = now()",
                   2, params);
}

/* Append version number `version` of p (snapshot snap), move the current
 * pointer, and return the etag. */
static sl_err append_version(request *r, const pipeline *p, int version, const json_t *snap,
                             const char *message, const char **etag, sl_errbuf *eb)
{
    char *v = arena_printf(r->a, "%d", version);
    char *tag = pl_etag(r->a, version, snap);
    PGresult *res;
    const char *params[] = {p->id, v, pl_canonical(r->a, snap), tag, message ? message : "",
                            r->user_id, r->user_email};
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "INSERT INTO sluice.pipeline_versions (pipeline_id, version, snapshot,"
                        " etag, message, author_id, author_email)"
                        " VALUES ($1, $2::int, $3::jsonb, $4, $5, $6::uuid, $7) RETURNING id",
                        7, params);
    if (e)
        return e;
    e = db_exec(r->db, eb,
                "UPDATE sluice.pipelines SET version = $2::int, current_version_id = $3"
                " WHERE id = $1",
                3, (const char *[]){p->id, v, PQgetvalue(res, 0, 0)});
    if (e)
        return e;
    *etag = tag;
    return SL_OK;
}

/* The keys of the snapshot that differ between a and b, as a JSON array. */
static json_t *changed_keys(const json_t *a, const json_t *b)
{
    json_t *list = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)b, key, v) {
        if (!json_equal(v, json_object_get(a, key)))
            json_array_append_new(list, json_string(key));
    }
    return list;
}

static sl_err audit(request *r, const char *action, const pipeline *p, int from, int to,
                    json_t *changed, const char *message, const json_t *extra, sl_errbuf *eb)
{
    json_t *d = json_object();
    if (extra)
        json_object_update(d, (json_t *)extra);
    json_object_set_new(d, "name", json_string(p->name));
    json_object_set_new(d, "version", json_integer(to));
    if (from)
        json_object_set_new(d, "previous_version", json_integer(from));
    if (changed)
        json_object_set(d, "changed", changed);
    if (message && *message)
        json_object_set_new(d, "message", json_string(message));
    sl_err e = audit_write(r, action, "pipeline", p->id, d, NULL);
    json_decref(d);
    if (e)
        return sl_fail(eb, SL_EDB, "could not record %s in the audit log", action);
    return SL_OK;
}

/* A unique violation on the name: turn it into a field error. */
static sl_err name_taken(request *r, const pipeline *p, json_t *errors, sl_errbuf *eb)
{
    db_rollback(r->db);
    json_object_set_new(errors, "name",
                        json_string(arena_printf(r->a, "another pipeline is already called "
                                                       "\"%s\"", p->name)));
    return sl_fail(eb, SL_ECONFLICT, "name taken");
}

static int unique_violation(request *r, sl_err e)
{
    return e == SL_EDB && strcmp(db_sqlstate(r->db), "23505") == 0;
}

sl_err pl_create(request *r, pipeline *p, const char *message, pl_saved *out, json_t *errors,
                 sl_errbuf *eb)
{
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    PGresult *res;
    const char *params[] = {
        p->name, p->description, p->source_id, p->destination_id, p->status, p->schedule,
        p->timezone, arena_printf(r->a, "%lld", p->max_retries),
        arena_printf(r->a, "%lld", p->timeout_seconds), p->depends_on, p->load_mode,
        p->target_schema, next_run(r, p), r->user_id,
    };
    e = db_query(r->db, r->a, eb, &res,
                 "INSERT INTO sluice.pipelines (name, description, source_id, destination_id,"
                 " status, schedule, timezone, max_retries, timeout_seconds, depends_on,"
                 " load_mode, target_schema, next_run_at, created_by)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int, $9::int, $10, $11, $12,"
                 " to_timestamp($13::bigint), $14::uuid) RETURNING id",
                 14, params);
    if (unique_violation(r, e))
        return name_taken(r, p, errors, eb);
    if (e)
        goto fail;
    p->id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    if ((e = write_tables(r, p, eb)) != SL_OK)
        goto fail;
    json_t *snap = pl_snapshot(p);
    const char *etag;
    e = append_version(r, p, 1, snap, message, &etag, eb);
    json_decref(snap);
    if (e)
        goto fail;
    if ((e = audit(r, "pipeline.create", p, 0, 1, NULL, message, NULL, eb)) != SL_OK)
        goto fail;
    if ((e = db_commit(r->db, eb)) != SL_OK)
        goto fail;
    out->id = p->id;
    out->changed = 1;
    out->version = p->version = 1;
    out->etag = p->etag = etag;
    return SL_OK;
fail:
    db_rollback(r->db);
    return e;
}

sl_err pl_edit_begin(request *r, const char *id, pl_edit *ed, sl_errbuf *eb)
{
    if (!id || !uuid_valid(id))
        return SL_ENOTFOUND;
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    e = pl_load(r, id, 1, &ed->cur, eb);
    if (e) {
        db_rollback(r->db);
        return e;
    }
    ed->next = ed->cur;
    ed->audit_extra = NULL;
    /* The tables are the caller's to change: give next its own array. */
    ed->next.tables = arena_calloc(r->a, ed->cur.ntables ? (size_t)ed->cur.ntables : 1,
                                   sizeof *ed->next.tables);
    if (ed->cur.ntables)
        memcpy(ed->next.tables, ed->cur.tables, (size_t)ed->cur.ntables * sizeof(pl_table));
    return SL_OK;
}

void pl_edit_abort(request *r)
{
    db_rollback(r->db);
}

sl_err pl_edit_commit(request *r, pl_edit *ed, const char *action, const char *message,
                      pl_saved *out, json_t *errors, sl_errbuf *eb)
{
    pipeline *p = &ed->next, *c = &ed->cur;
    json_t *old = pl_snapshot(c), *snap = pl_snapshot(p);
    memset(out, 0, sizeof *out);
    out->id = c->id;
    if (json_equal(old, snap)) {
        json_decref(old);
        json_decref(snap);
        db_rollback(r->db);
        out->version = c->version;
        out->etag = c->etag;
        return SL_OK;
    }
    int recompute = !same(p->schedule, c->schedule) || strcmp(p->timezone, c->timezone) != 0 ||
                    strcmp(p->status, c->status) != 0 || p->deleted;
    const char *params[] = {
        p->id, p->name, p->description, p->source_id, p->destination_id, p->status,
        p->schedule, p->timezone, arena_printf(r->a, "%lld", p->max_retries),
        arena_printf(r->a, "%lld", p->timeout_seconds), p->depends_on, p->load_mode,
        p->target_schema, p->deleted ? "t" : "f", recompute ? "t" : "f", next_run(r, p),
    };
    sl_err e = db_exec(r->db, eb,
                       "UPDATE sluice.pipelines SET name = $2, description = $3,"
                       " source_id = $4, destination_id = $5, status = $6, schedule = $7,"
                       " timezone = $8, max_retries = $9::int, timeout_seconds = $10::int,"
                       " depends_on = $11, load_mode = $12, target_schema = $13,"
                       " deleted_at = CASE WHEN $14::boolean THEN coalesce(deleted_at, now())"
                       " ELSE NULL END,"
                       " next_run_at = CASE WHEN $15::boolean THEN to_timestamp($16::bigint)"
                       " ELSE next_run_at END,"
                       " updated_at = now() WHERE id = $1",
                       16, params);
    json_t *changed = changed_keys(old, snap);
    if (unique_violation(r, e)) {
        json_decref(old);
        json_decref(snap);
        json_decref(changed);
        return name_taken(r, p, errors, eb);
    }
    if (!e && !json_equal(json_object_get(old, "tables"), json_object_get(snap, "tables")))
        e = write_tables(r, p, eb);
    const char *etag = NULL;
    if (!e)
        e = append_version(r, p, c->version + 1, snap, message, &etag, eb);
    if (!e)
        e = audit(r, action, p, c->version, c->version + 1, changed, message, ed->audit_extra,
                  eb);
    json_decref(old);
    json_decref(snap);
    json_decref(changed);
    if (!e)
        e = db_commit(r->db, eb);
    if (e) {
        db_rollback(r->db);
        return e;
    }
    out->changed = 1;
    out->version = p->version = c->version + 1;
    out->etag = p->etag = etag;
    return SL_OK;
}
