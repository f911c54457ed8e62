/* pipeline_model.h - pipelines and their tables as the console and the API
 * share them: loading, input from forms and JSON, validation, snapshots
 * and ETags, and the one write path that appends a version.
 *
 * Every change goes through pl_edit_begin() (a transaction holding the
 * pipeline row FOR UPDATE) and pl_edit_commit() (row, tables, a new row in
 * sluice.pipeline_versions, the current pointer and the audit entry, then
 * COMMIT), or pl_create(). Pages and API differ only in how they read the
 * input and show the outcome. Everything here lives in the request arena;
 * json_t values returned are new references the caller owns. */
#ifndef SL_PIPELINE_MODEL_H
#define SL_PIPELINE_MODEL_H

#include <jansson.h>
#include <time.h>

#include "sync/connector.h"
#include "http.h"

#define PL_NAME_MAX 200        /* characters */
#define PL_DESC_MAX 2000       /* characters */
#define PL_IDENT_MAX 63        /* bytes: schema and column overrides */
#define PL_TABLE_NAME_MAX 128  /* bytes: source schema / table names */
#define PL_MAX_TABLES 500
#define PL_LOOKBACK_MAX 31536000LL /* a year, in seconds */
#define PL_MESSAGE_MAX 500     /* characters of a change note */
#define PL_FIRES 3             /* next fire times shown */

typedef struct {
    const char *source_schema;    /* "" when the source has none */
    const char *source_table;
    const char *target_table;     /* NULL: same as source_table */
    const char *sync_mode;        /* incremental | full_refresh */
    const char *load_mode;        /* NULL: the pipeline's; direct | raw */
    const char *watermark_column; /* NULL: picked automatically */
    long long lookback_seconds;
    int enabled;
} pl_table;

typedef struct {
    const char *id;               /* NULL before it is created */
    const char *name, *description;
    const char *source_id, *destination_id;
    const char *status;           /* active | paused */
    const char *schedule;         /* five-field cron; NULL: manual only */
    const char *timezone;
    long long max_retries, timeout_seconds;
    const char *depends_on;       /* a pipeline id or NULL */
    const char *load_mode;        /* direct | raw */
    const char *target_schema;    /* NULL: the destination's */
    int deleted;
    int ntables;
    pl_table *tables;
    /* Read from the database; not part of the configuration. */
    int version;
    const char *etag;             /* without quotes; NULL before version 1 */
    const char *created_at, *updated_at;        /* ISO 8601 UTC */
    const char *source_name, *destination_name, *depends_on_name;
} pipeline;

/* The result of a write. */
typedef struct {
    const char *id;
    int changed;                  /* 0: the new state equalled the old; nothing written */
    int version;
    const char *etag;
} pl_saved;

/* A pipeline being changed: cur as locked, next the caller's copy. */
typedef struct {
    pipeline cur;
    pipeline next;
    json_t *audit_extra;          /* merged into the audit details (borrowed), or NULL */
} pl_edit;

/* What discovery of a source found (see pl_discover). */
typedef struct {
    int done;                     /* discovery was attempted */
    const char *error;            /* NULL on success, else why it failed */
    conn_table *tables;
    int n;
} pl_discovery;

/* A new pipeline with the defaults (active, UTC, 3 retries, 3600 s,
 * direct, manual schedule, no tables). */
void pl_defaults(pipeline *p);

/* Load pipeline id (with its tables, ordered) into p. lock: FOR UPDATE
 * (inside a transaction). SL_ENOTFOUND when id is malformed, unknown or
 * deleted; SL_EDB / SL_EDBDOWN otherwise. */
sl_err pl_load(request *r, const char *id, int lock, pipeline *p, sl_errbuf *eb);

/* The canonical snapshot of p's configuration and tables (a new
 * reference): every config field, status, deleted, and the tables in
 * order. Two pipelines are the same configuration iff their snapshots
 * dump to the same text. */
json_t *pl_snapshot(const pipeline *p);
/* Canonical text of a snapshot: sorted keys, compact; in the arena. */
char *pl_canonical(arena *a, const json_t *snapshot);
/* The ETag of a version: "<version>-<first 20 hex of sha256(canonical)>". */
char *pl_etag(arena *a, int version, const json_t *snapshot);
/* Restore p's configuration and tables from a stored snapshot (the
 * identity and read-only fields are kept). SL_EPARSE when it is not one. */
sl_err pl_from_snapshot(arena *a, const json_t *snapshot, pipeline *p);

/* The API's representation (a new reference): config, id, version, etag,
 * timestamps, names of the source, destination and dependency, and the
 * tables when with_tables is set. */
json_t *pl_api_json(const pipeline *p, int with_tables);
/* One table as the API shows it (a new reference). */
json_t *pl_table_json(const pl_table *t);

/* Apply the JSON object body to p: every known field present replaces
 * the value in p (null sets nullable fields to NULL); "tables", when
 * present, replaces the whole list. Read-only fields (id, version, etag,
 * created_at, updated_at, *_name, table_count) and "message" are ignored;
 * unknown fields and type errors go to errors. */
void pl_apply_json(arena *a, const json_t *body, pipeline *p, json_t *errors);
/* Parse a JSON array of tables into *tables (errors under "tables[i].x"). */
void pl_tables_from_json(arena *a, const json_t *arr, pl_table **tables, int *n,
                         json_t *errors);

/* Parse a lookback: seconds, or a number with suffix s, m, h or d. 1 on
 * success (0 .. PL_LOOKBACK_MAX), 0 otherwise. */
int pl_parse_lookback(const char *s, long long *out);
/* The shortest way to write a lookback ("0", "90s", "15m", "2h", "7d"). */
char *pl_format_lookback(arena *a, long long seconds);

/* Check p as it would be saved. cur is the stored pipeline (NULL when
 * creating): incremental tables that were already stored as such skip the
 * watermark check. check_tables: look up new incremental tables in the
 * source (discovery, filled into disc when given) and refuse those
 * without a watermark. Field messages go to errors (keys as in the API:
 * "name", "schedule", "tables[2].sync_mode"). SL_EDB / SL_EDBDOWN only for
 * database failures; invalid input is SL_OK with errors non-empty. */
sl_err pl_validate(request *r, pipeline *p, const pipeline *cur, int check_tables,
                   pl_discovery *disc, json_t *errors, sl_errbuf *eb);

/* Discover the tables of source source_id (after its schema and table
 * filters), with a short connect timeout. A source that cannot be reached
 * is not an error: d->error says why. SL_ENOTFOUND for an unknown source,
 * SL_EDB / SL_EDBDOWN for control-database failures. */
sl_err pl_discover(request *r, const char *source_id, pl_discovery *d, sl_errbuf *eb);
/* The discovered table schema.table, or NULL. */
const conn_table *pl_discovered(const pl_discovery *d, const char *schema, const char *table);

/* Pipelines (not deleted) ordered by (lower(name), id), without their
 * tables (ntables is the count, tables is NULL: use pl_api_json(p, 0)):
 * after pipeline id `after` (forward) or before `before` (backward;
 * returned in ascending order all the same), at most
 * limit + 1 of them so the caller can tell whether there are more. *n
 * gets the count. SL_EDB / SL_EDBDOWN. */
sl_err pl_list(request *r, const char *after, const char *before, int limit, pipeline **out,
               int *n, sl_errbuf *eb);

/* Create p (validated by the caller) in one transaction with version 1
 * and its audit row. SL_ECONFLICT with errors.name when the name was
 * taken meanwhile; SL_EDB / SL_EDBDOWN. */
sl_err pl_create(request *r, pipeline *p, const char *message, pl_saved *out, json_t *errors,
                 sl_errbuf *eb);

/* Begin a transaction, lock pipeline id and fill ed->cur and ed->next
 * (a copy). SL_ENOTFOUND (rolled back) when it is missing or deleted. */
sl_err pl_edit_begin(request *r, const char *id, pl_edit *ed, sl_errbuf *eb);
/* Write ed->next over ed->cur: when the snapshots are equal nothing is
 * written and the transaction is rolled back (out->changed = 0);
 * otherwise the row, the tables, a new version (message; author r's
 * principal), the current pointer and an audit row (action, with the
 * version numbers) are written and committed. On failure everything is
 * rolled back: SL_ECONFLICT with errors.name for a name taken meanwhile,
 * SL_EDB / SL_EDBDOWN. */
sl_err pl_edit_commit(request *r, pl_edit *ed, const char *action, const char *message,
                      pl_saved *out, json_t *errors, sl_errbuf *eb);
/* Give up an edit: roll back. */
void pl_edit_abort(request *r);

/* The next n fire times of schedule in zone tz after now, into out.
 * Returns how many were found (0 for a manual schedule or a bad one). */
int pl_next_fires(const char *schedule, const char *tz, time_t now, time_t *out, int n);
/* t as "YYYY-MM-DD HH:MM ZZZ" in zone tz (the zone's abbreviation), in a. */
char *pl_format_time(arena *a, time_t t, const char *tz);

/* The fields of snapshot a and b that differ, for a diff view (a new
 * reference): {fields: [{key, label, old, new}], tables_added: [name],
 * tables_removed: [name], tables_changed: [{table, changes: [{key, label,
 * old, new}]}], has_fields, tables_differ,
 * tables_reordered, same: bool}. Values are display text; ids of sources,
 * destinations and pipelines show their names (looked up with r). */
json_t *pl_diff(request *r, const json_t *a, const json_t *b);
/* A label for a snapshot key ("max_retries" -> "Max retries"). */
const char *pl_label(const char *key);
/* Display text for value v of key (ids by name, null as "—"), in r->a. */
const char *pl_display(request *r, const char *key, const json_t *v);

#endif
