/* pipeline_check.c - is this pipeline valid as it would be saved? Field
 * checks, references (source, destination, dependency), dependency cycles
 * (a recursive CTE over depends_on), table checks with discovery of the
 * source (incremental needs a watermark), and schedule previews.
 *
 * Messages are short lower-case clauses that read after the field's
 * label ("Schedule: hour: 25 is out of range 0-23") and are the same for
 * the console and the API. Entry points: pl_validate, pl_discover,
 * pl_next_fires, pl_format_time. */
#include "pipeline_model.h"

#include <stdlib.h>
#include <string.h>

#include "cronexpr.h"
#include "keyring.h"
#include "params.h"
#include "uuid.h"

#define DISCOVER_TIMEOUT 5   /* seconds to connect to a source */
#define SCHEDULE_MAX 200     /* bytes of a cron expression */
#define TZ_MAX 64            /* bytes of a time zone name */
#define CYCLE_LOCK "SELECT pg_advisory_xact_lock(hashtext('sluice.pipelines.depends_on'))"

static void err(json_t *errors, const char *key, const char *msg)
{
    if (!json_object_get(errors, key))
        json_object_set_new(errors, key, json_string(msg));
}

static void terr(request *r, json_t *errors, int i, const char *key, const char *msg)
{
    err(errors, arena_printf(r->a, "tables[%d].%s", i, key), msg);
}

static int is_one_of(const char *s, const char *const *set)
{
    for (int i = 0; s && set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

/* Letters, digits and '_', not starting with a digit, 1..PL_IDENT_MAX bytes.
 * dollar: '$' allowed too (column names of MySQL and PostgreSQL). */
static int ident_ok(const char *s, int dollar)
{
    size_t n = strlen(s);
    if (n == 0 || n > PL_IDENT_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (dollar && c == '$')))
            return 0;
    }
    return 1;
}

/* One line of text, valid UTF-8, at most max characters (0: required). */
static const char *text_problem(const char *s, long max, int required, int multiline)
{
    long n = params_utf8_len(s);
    if (required && !*s)
        return "is required";
    if (n < 0)
        return "must be valid UTF-8 text";
    if (n > max)
        return max == PL_NAME_MAX   ? "must be at most 200 characters"
               : max == PL_DESC_MAX ? "must be at most 2000 characters"
                                    : "is too long";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t'))) ||
            *p == 0x7f)
            return multiline ? "must not contain control characters"
                             : "must be one line of text";
    return NULL;
}

/* A JSON array from text (a new reference; [] when it is not one). */
static json_t *parse_array(const char *text)
{
    json_t *v = json_loads(text ? text : "", 0, NULL);
    if (!json_is_array(v)) {
        json_decref(v);
        v = json_array();
    }
    return v;
}

/* --- references and cycles -------------------------------------------------------- */

/* 1 when the query with one parameter returns a row, 0 when not, -1 on error. */
static int exists(request *r, const char *sql, const char *param, sl_errbuf *eb)
{
    PGresult *res;
    if (db_query(r->db, r->a, eb, &res, sql, 1, (const char *[]){param}) != SL_OK)
        return -1;
    return PQntuples(res) > 0;
}

/* The cycle p would close by depending on p->depends_on, as "a -> b -> a",
 * or NULL. */
static sl_err find_cycle(request *r, const pipeline *p, const char **cycle, sl_errbuf *eb)
{
    *cycle = NULL;
    if (!p->id || !p->depends_on)
        return SL_OK;
    if (strcmp(p->id, p->depends_on) == 0) {
        *cycle = arena_printf(r->a, "would create a cycle: %s -> %s", p->name, p->name);
        return SL_OK;
    }
    /* Serialise dependency changes so two edits cannot close a cycle
     * together (each would pass alone). Only inside a transaction. */
    if (PQtransactionStatus(db_conn(r->db)) == PQTRANS_INTRANS) {
        sl_err e = db_exec(r->db, eb, CYCLE_LOCK, 0, NULL);
        if (e)
            return e;
    }
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "WITH RECURSIVE chain (id, depends_on, names, ids) AS ("
                        " SELECT p.id, p.depends_on, ARRAY[p.name], ARRAY[p.id]"
                        " FROM sluice.pipelines p WHERE p.id = $1::uuid"
                        " UNION ALL"
                        " SELECT p.id, p.depends_on, c.names || p.name, c.ids || p.id"
                        " FROM chain c JOIN sluice.pipelines p ON p.id = c.depends_on"
                        " WHERE c.id <> $2::uuid AND NOT p.id = ANY (c.ids))"
                        " SELECT array_to_json(names) FROM chain WHERE id = $2::uuid LIMIT 1",
                        2, (const char *[]){p->depends_on, p->id});
    if (e || PQntuples(res) == 0)
        return e;
    json_t *names = parse_array(PQgetvalue(res, 0, 0));
    sbuf b;
    sb_init(&b, r->a, 4096);
    sb_printf(&b, "would create a cycle: %s", p->name);
    /* names runs from the dependency to p itself (stored name): show p's
     * new name at both ends. */
    size_t n = json_array_size(names);
    for (size_t i = 0; i + 1 < n; i++)
        sb_printf(&b, " -> %s", json_string_value(json_array_get(names, i)));
    sb_printf(&b, " -> %s", p->name);
    json_decref(names);
    *cycle = sb_str(&b);
    return SL_OK;
}

/* --- tables ---------------------------------------------------------------------- */

static const char *table_label(request *r, const pl_table *t)
{
    return *t->source_schema ? arena_printf(r->a, "%s.%s", t->source_schema, t->source_table)
                             : t->source_table;
}

/* The stored table with the same name, or NULL. */
static const pl_table *stored(const pipeline *cur, const pl_table *t)
{
    for (int i = 0; cur && i < cur->ntables; i++)
        if (strcmp(cur->tables[i].source_schema, t->source_schema) == 0 &&
            strcmp(cur->tables[i].source_table, t->source_table) == 0)
            return &cur->tables[i];
    return NULL;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int has_column(const conn_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return 1;
    return 0;
}

static void check_table_fields(request *r, const pl_table *t, int i, json_t *errors)
{
    static const char *const sync_modes[] = {"incremental", "full_refresh", NULL};
    static const char *const load_modes[] = {"direct", "raw", NULL};
    const char *msg;
    if (!*t->source_table)
        terr(r, errors, i, "source_table", "is required");
    else if ((msg = text_problem(t->source_table, PL_TABLE_NAME_MAX, 1, 0)) != NULL)
        terr(r, errors, i, "source_table", msg);
    if ((msg = text_problem(t->source_schema, PL_TABLE_NAME_MAX, 0, 0)) != NULL)
        terr(r, errors, i, "source_schema", msg);
    if (t->target_table && !ident_ok(t->target_table, 0))
        terr(r, errors, i, "target_table",
             "must be letters, digits and _ (not starting with a digit), at most 63");
    if (!is_one_of(t->sync_mode, sync_modes))
        terr(r, errors, i, "sync_mode", "must be incremental or full_refresh");
    if (t->load_mode && !is_one_of(t->load_mode, load_modes))
        terr(r, errors, i, "load_mode", "must be inherit (null), direct or raw");
    if (t->watermark_column && !ident_ok(t->watermark_column, 1))
        terr(r, errors, i, "watermark_column",
             "must be a column name: letters, digits, _ and $, at most 63");
    if (t->lookback_seconds < 0 || t->lookback_seconds > PL_LOOKBACK_MAX)
        terr(r, errors, i, "lookback_seconds", "must be from 0 to 31536000 seconds (365d)");
}

/* Check new or changed tables against the source: they exist (when the
 * source answers), and incremental ones have a watermark column. */
static sl_err check_against_source(request *r, const pipeline *p, const pipeline *cur,
                                   pl_discovery *disc, json_t *errors, sl_errbuf *eb)
{
    for (int i = 0; i < p->ntables; i++) {
        const pl_table *t = &p->tables[i], *old = stored(cur, t);
        int incremental = strcmp(t->sync_mode, "incremental") == 0;
        if (old && (!incremental || (strcmp(old->sync_mode, "incremental") == 0 &&
                                     same_str(old->watermark_column, t->watermark_column))))
            continue; /* stored already, and nothing about its watermark changed */
        if (json_object_get(errors, arena_printf(r->a, "tables[%d].source_table", i)))
            continue;
        if (!disc->done) {
            sl_err e = pl_discover(r, p->source_id, disc, eb);
            if (e == SL_ENOTFOUND)
                return SL_OK; /* the source field has the error */
            if (e)
                return e;
        }
        const char *name = table_label(r, t);
        if (disc->error) {
            if (incremental && !t->watermark_column)
                terr(r, errors, i, "sync_mode",
                     arena_printf(r->a, "incremental needs a watermark column, and the source "
                                        "could not be checked (discovery failed: %s): set a "
                                        "watermark column or choose full_refresh",
                                  disc->error));
            continue;
        }
        const conn_table *ct = pl_discovered(disc, t->source_schema, t->source_table);
        if (!ct) {
            terr(r, errors, i, "source_table",
                 arena_printf(r->a, "%s is not among the source's tables (after its filters)",
                              name));
            continue;
        }
        if (t->watermark_column && !has_column(ct, t->watermark_column)) {
            terr(r, errors, i, "watermark_column",
                 arena_printf(r->a, "%s has no column %s", name, t->watermark_column));
            continue;
        }
        if (incremental && !t->watermark_column && !pick_watermark(ct, NULL))
            terr(r, errors, i, "sync_mode",
                 arena_printf(r->a, "%s has no watermark column (updated_at, modified_at, "
                                    "last_modified, updated or created_at): choose "
                                    "full_refresh or set a watermark column", name));
    }
    return SL_OK;
}

static void check_tables(request *r, const pipeline *p, json_t *errors)
{
    for (int i = 0; i < p->ntables; i++) {
        check_table_fields(r, &p->tables[i], i, errors);
        for (int j = 0; j < i; j++)
            if (strcmp(p->tables[i].source_schema, p->tables[j].source_schema) == 0 &&
                strcmp(p->tables[i].source_table, p->tables[j].source_table) == 0) {
                terr(r, errors, i, "source_table",
                     arena_printf(r->a, "%s is listed twice", table_label(r, &p->tables[i])));
                break;
            }
    }
}

/* --- the pipeline --------------------------------------------------------------- */

static void check_fields(request *r, pipeline *p, json_t *errors)
{
    static const char *const statuses[] = {"active", "paused", NULL};
    static const char *const load_modes[] = {"direct", "raw", NULL};
    const char *msg;
    if ((msg = text_problem(p->name, PL_NAME_MAX, 1, 0)) != NULL)
        err(errors, "name", msg);
    if ((msg = text_problem(p->description, PL_DESC_MAX, 0, 1)) != NULL)
        err(errors, "description", msg);
    if (!is_one_of(p->status, statuses))
        err(errors, "status", "must be active or paused");
    if (p->schedule) {
        cron_expr ce;
        sl_errbuf ceb = {0};
        if (strlen(p->schedule) > SCHEDULE_MAX)
            err(errors, "schedule", "is too long");
        else if (cron_parse(p->schedule, &ce, &ceb) != SL_OK)
            err(errors, "schedule", arena_strdup(r->a, ceb.msg));
    }
    if (!*p->timezone)
        err(errors, "timezone", "is required (e.g. UTC or Europe/Berlin)");
    else if (strlen(p->timezone) > TZ_MAX || params_has_control(p->timezone) ||
             !cron_tz_valid(p->timezone))
        err(errors, "timezone", "is not a time zone this system knows (e.g. UTC, "
                                "Europe/Berlin, America/New_York)");
    if (p->max_retries < 0 || p->max_retries > 20)
        err(errors, "max_retries", "must be from 0 to 20");
    if (p->timeout_seconds < 10 || p->timeout_seconds > 604800)
        err(errors, "timeout_seconds", "must be from 10 to 604800 seconds (7 days)");
    if (!is_one_of(p->load_mode, load_modes))
        err(errors, "load_mode", "must be direct or raw");
    if (p->target_schema && !ident_ok(p->target_schema, 0))
        err(errors, "target_schema",
            "must be letters, digits and _ (not starting with a digit), at most 63");
    if (p->ntables > PL_MAX_TABLES)
        err(errors, "tables", "at most 500 tables per pipeline");
}

static sl_err check_refs(request *r, pipeline *p, json_t *errors, sl_errbuf *eb)
{
    int found;
    if (!*p->source_id) {
        err(errors, "source_id", "is required: choose a source");
    } else if (!uuid_valid(p->source_id)) {
        err(errors, "source_id", "no such source");
    } else {
        found = exists(r, "SELECT 1 FROM sluice.sources WHERE id = $1", p->source_id, eb);
        if (found < 0)
            return eb->code;
        if (!found)
            err(errors, "source_id", "no such source");
    }
    if (!p->destination_id) {
        char *def = NULL;
        sl_err e = db_query_value(r->db, r->a, eb, &def,
                                  "SELECT id FROM sluice.destinations WHERE is_default", 0,
                                  NULL);
        if (e && e != SL_ENOTFOUND)
            return e;
        if (def)
            p->destination_id = def;
        else
            err(errors, "destination_id", "is required: there is no default destination");
    } else if (!uuid_valid(p->destination_id)) {
        err(errors, "destination_id", "no such destination");
    } else {
        found = exists(r, "SELECT 1 FROM sluice.destinations WHERE id = $1", p->destination_id,
                       eb);
        if (found < 0)
            return eb->code;
        if (!found)
            err(errors, "destination_id", "no such destination");
    }
    if (p->depends_on) {
        if (!uuid_valid(p->depends_on)) {
            err(errors, "depends_on", "no such pipeline");
        } else if (!p->id || strcmp(p->id, p->depends_on) != 0) {
            found = exists(r, "SELECT 1 FROM sluice.pipelines WHERE id = $1"
                              " AND deleted_at IS NULL", p->depends_on, eb);
            if (found < 0)
                return eb->code;
            if (!found)
                err(errors, "depends_on", "no such pipeline");
        }
        if (!json_object_get(errors, "depends_on")) {
            const char *cycle;
            sl_err e = find_cycle(r, p, &cycle, eb);
            if (e)
                return e;
            if (cycle)
                err(errors, "depends_on", cycle);
        }
    }
    if (!json_object_get(errors, "name") && *p->name) {
        found = 0;
        PGresult *res;
        sl_err e = db_query(r->db, r->a, eb, &res,
                            "SELECT 1 FROM sluice.pipelines WHERE lower(name) = lower($1)"
                            " AND deleted_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)",
                            2, (const char *[]){p->name, p->id});
        if (e)
            return e;
        if (PQntuples(res) > 0)
            err(errors, "name", arena_printf(r->a, "another pipeline is already called \"%s\"",
                                             p->name));
    }
    return SL_OK;
}

sl_err pl_validate(request *r, pipeline *p, const pipeline *cur, int check_source,
                   pl_discovery *disc, json_t *errors, sl_errbuf *eb)
{
    pl_discovery local = {0};
    if (!disc)
        disc = &local;
    check_fields(r, p, errors);
    check_tables(r, p, errors);
    sl_err e = check_refs(r, p, errors, eb);
    if (e)
        return e;
    if (check_source && !json_object_get(errors, "source_id")) {
        /* A new source means every table is new to it. */
        const pipeline *base = cur && strcmp(cur->source_id, p->source_id) == 0 ? cur : NULL;
        e = check_against_source(r, p, base, disc, errors, eb);
    }
    return e;
}

/* --- discovery ------------------------------------------------------------------ */

/* Strings of a JSON array column into a NULL-terminated list. */
static const char **str_list(request *r, const char *json_text, int *n)
{
    json_t *arr = parse_array(json_text);
    size_t count = json_array_size(arr);
    const char **out = arena_calloc(r->a, count + 1, sizeof *out);
    int k = 0;
    for (size_t i = 0; i < count; i++)
        if (json_is_string(json_array_get(arr, i)))
            out[k++] = arena_strdup(r->a, json_string_value(json_array_get(arr, i)));
    json_decref(arr);
    *n = k;
    return out;
}

sl_err pl_discover(request *r, const char *source_id, pl_discovery *d, sl_errbuf *eb)
{
    memset(d, 0, sizeof *d);
    if (!source_id || !uuid_valid(source_id))
        return SL_ENOTFOUND;
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT type, host, port, database, username, password_enc, ssl_mode,"
                        " array_to_json(schema_include), array_to_json(table_filters)"
                        " FROM sluice.sources WHERE id = $1",
                        1, (const char *[]){source_id});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return SL_ENOTFOUND;
    d->done = 1;
    conn_params cp = {0};
    cp.type = PQgetvalue(res, 0, 0);
    cp.host = PQgetvalue(res, 0, 1);
    cp.port = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
    cp.database = PQgetvalue(res, 0, 3);
    cp.user = PQgetvalue(res, 0, 4);
    cp.ssl_mode = PQgetvalue(res, 0, 6);
    cp.connect_timeout = DISCOVER_TIMEOUT;
    const struct connector *c = connector_for(cp.type);
    if (!c) {
        d->error = connector_unsupported_reason(cp.type);
        d->error = arena_strdup(r->a, d->error ? d->error : "no connector for this type");
        return SL_OK;
    }
    sl_errbuf ceb = {0};
    if (!PQgetisnull(res, 0, 5)) {
        char *pw;
        if (keyring_open(r->a, PQgetvalue(res, 0, 5), &pw, &ceb) != SL_OK) {
            d->error = "the stored password cannot be decrypted with this secret key; "
                       "enter the source's password again";
            return SL_OK;
        }
        cp.password = pw;
    }
    int nschemas, nfilters;
    const char **schemas = str_list(r, PQgetvalue(res, 0, 7), &nschemas);
    const char **filters = str_list(r, PQgetvalue(res, 0, 8), &nfilters);
    void *conn = NULL;
    conn_table *tables = NULL;
    int n = 0;
    if (c->open(&cp, &conn, &ceb) != SL_OK) {
        d->error = arena_strdup(r->a, ceb.msg[0] ? ceb.msg : "cannot connect");
        return SL_OK;
    }
    sl_err le = c->list_tables(conn, r->a, nschemas ? schemas : NULL, nschemas, &tables, &n,
                               &ceb);
    c->close(conn);
    if (le != SL_OK) {
        d->error = arena_strdup(r->a, ceb.msg[0] ? ceb.msg : "cannot list the tables");
        return SL_OK;
    }
    d->tables = arena_calloc(r->a, n ? (size_t)n : 1, sizeof *d->tables);
    for (int i = 0; i < n; i++) {
        if (!table_selected(filters, nfilters, tables[i].schema, tables[i].name))
            continue;
        conn_table *t = &d->tables[d->n++];
        *t = tables[i];
        if (!t->watermark)
            t->watermark = pick_watermark(t, NULL);
    }
    return SL_OK;
}

const conn_table *pl_discovered(const pl_discovery *d, const char *schema, const char *table)
{
    for (int i = 0; d && i < d->n; i++)
        if (strcmp(d->tables[i].name, table) == 0 &&
            strcmp(d->tables[i].schema ? d->tables[i].schema : "", schema ? schema : "") == 0)
            return &d->tables[i];
    return NULL;
}

/* --- schedules -------------------------------------------------------------------- */

int pl_next_fires(const char *schedule, const char *tz, time_t now, time_t *out, int n)
{
    cron_expr ce;
    if (!schedule || cron_parse(schedule, &ce, NULL) != SL_OK)
        return 0;
    time_t t = now;
    int k = 0;
    while (k < n && cron_next(&ce, tz, t, &t, NULL) == SL_OK)
        out[k++] = t;
    return k;
}

char *pl_format_time(arena *a, time_t t, const char *tz)
{
    const char *old = getenv("TZ");
    char *saved = old ? arena_strdup(a, old) : NULL;
    setenv("TZ", tz && *tz ? tz : "UTC", 1);
    tzset();
    struct tm tm;
    char buf[80] = "";
    if (localtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %Z", &tm);
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    return arena_strdup(a, buf);
}
