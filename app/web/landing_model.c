/* landing_model.c - landing zones for the console and the API: fields and
 * their checks, loading by id or name, lists of zones and files, views, and
 * the audited changes (see landing.h).
 *
 * A zone's name is slug-like (letters, digits, '-', '_', '.'; never a UUID,
 * so {zone} in a URL can be either) and unique whatever its case. Target
 * schema, table and column names are plain identifiers that the loader
 * quotes. Every change is one transaction with its audit row. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "connform.h"
#include "form.h"
#include "jsonx.h"
#include "landing.h"
#include "log.h"
#include "page.h"
#include "params.h"
#include "uuid.h"

#define ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define ZONE_COLS                                                                            \
    "z.id, z.name, z.description, z.destination_id, d.name, z.target_schema,"               \
    " coalesce(z.target_schema, d.target_schema), z.target_table, z.format,"                \
    " z.csv_delimiter, z.csv_quote, z.csv_header, z.schema_mode, z.declared_columns,"        \
    " z.on_mismatch, z.load_mode, z.max_file_bytes, z.processed_max_age_days,"               \
    " z.auto_purge, z.created_by, " ISO("z.created_at") ", " ISO("z.updated_at") ","        \
    " lower(z.name),"                                                                        \
    " (SELECT count(*) FROM sluice.landing_files f WHERE f.zone_id = z.id),"                 \
    " (SELECT coalesce(sum(f.size_bytes), 0) FROM sluice.landing_files f"                    \
    " WHERE f.zone_id = z.id AND f.stored_name IS NOT NULL AND f.status <> 'purged')"         \
    " FROM sluice.landing_zones z JOIN sluice.destinations d ON d.id = z.destination_id"

#define FILE_COLS                                                                            \
    "f.id, f.zone_id, f.original_name, f.stored_name, f.size_bytes, f.sha256,"              \
    " f.content_type, f.status, f.rows_loaded, f.rows_rejected, f.error, f.uploaded_by,"     \
    " f.uploaded_by_email, " ISO("f.uploaded_at") ", " ISO("f.loaded_at") ", "              \
    ISO("f.purged_at") ", f.duplicate_of, pg_size_pretty(f.size_bytes)"                      \
    " FROM sluice.landing_files f"

static const char *const formats[] = {"csv", "jsonl", NULL};
static const char *const schema_modes[] = {"declared", "infer", NULL};
static const char *const mismatches[] = {"reject", "load_partial", NULL};
static const char *const load_modes[] = {"direct", "raw", NULL};
static const char *const col_types[] = {"int",  "bigint", "numeric", "boolean", "date",
                                        "timestamptz", "text", "jsonb", NULL};

/* Delimiters and quotes: the character and the word a form sends. */
static const struct {
    const char *ch, *word, *label;
} delims[] = {{",", "comma", "comma"},
              {";", "semicolon", "semicolon"},
              {"\t", "tab", "tab"},
              {"|", "pipe", "pipe (|)"}},
  quotes[] = {{"\"", "double", "double quote (\")"}, {"'", "single", "single quote (')"}};

#define NDELIMS (sizeof delims / sizeof delims[0])
#define NQUOTES (sizeof quotes / sizeof quotes[0])

static int in_list(const char *const *list, const char *s)
{
    for (; s && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* Letters, digits, '_', not starting with a digit, 1..63 bytes. */
static int ident_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LZ_NAME_MAX || s[0] == '-' || s[0] == '_' || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* --- fields -------------------------------------------------------------------------- */

void lz_defaults(request *r, lz_fields *f)
{
    memset(f, 0, sizeof *f);
    f->name = f->description = f->destination_id = f->target_schema = f->target_table = "";
    f->format = "csv";
    f->csv_delimiter = ",";
    f->csv_quote = "\"";
    f->csv_header = 1;
    f->schema_mode = "infer";
    f->columns = jsonx_own(r->a, json_array());
    f->columns_text = "";
    f->on_mismatch = "reject";
    f->load_mode = "direct";
    f->max_file_bytes = LZ_DEFAULT_MAX_FILE;
    f->age_days = 30;
    f->auto_purge = 1;
    f->max_text = "1024";
    f->age_text = "30";
}

const char *lz_columns_text(request *r, const json_t *columns)
{
    sbuf b;
    sb_init(&b, r->a, 1 << 20);
    size_t i;
    json_t *c;
    json_array_foreach(columns, i, c)
        sb_printf(&b, "%s%s %s", i ? "\n" : "", jsonx_str(c, "name", ""),
                  jsonx_str(c, "type", ""));
    return arena_strdup(r->a, sb_str(&b));
}

/* Parse the text area: one "name type" (or "name: type") per line; blank
 * lines are skipped. */
static json_t *parse_columns(request *r, const char *text, json_t *errors)
{
    json_t *cols = json_array();
    int line = 0;
    for (const char *s = text; *s;) {
        size_t n = strcspn(s, "\n");
        line++;
        char *l = arena_strndup(r->a, s, n);
        s += n + (s[n] == '\n');
        for (char *c = l; *c; c++)
            if (*c == '\r' || *c == '\t' || *c == ':' || *c == ',')
                *c = ' ';
        char *a = l;
        while (*a == ' ')
            a++;
        if (!*a)
            continue;
        char *sp = strchr(a, ' ');
        char *t = sp;
        while (t && *t == ' ')
            t++;
        char *te = t ? t + strcspn(t, " ") : NULL;
        const char *rest = te;
        while (rest && *rest == ' ')
            rest++;
        if (!sp || !t || !*t || (rest && *rest)) {
            page_field_error(errors, "declared_columns",
                             arena_printf(r->a, "line %d: write one column per line as "
                                                "'name type', e.g. 'amount numeric'",
                                          line));
            continue;
        }
        *sp = '\0';
        *te = '\0';
        json_array_append_new(cols, json_pack("{s:s, s:s}", "name", a, "type", t));
    }
    return cols;
}

void lz_from_form(request *r, lz_fields *f, json_t *errors)
{
    f->name = form_str(r, "name");
    f->description = form_str(r, "description");
    f->destination_id = form_str(r, "destination_id");
    f->target_schema = form_str(r, "target_schema");
    f->target_table = form_str(r, "target_table");
    f->format = form_str(r, "format");
    const char *d = form_str(r, "csv_delimiter"), *q = form_str(r, "csv_quote");
    f->csv_delimiter = "";
    for (size_t i = 0; i < NDELIMS; i++)
        if (strcmp(d, delims[i].word) == 0)
            f->csv_delimiter = delims[i].ch;
    f->csv_quote = "";
    for (size_t i = 0; i < NQUOTES; i++)
        if (strcmp(q, quotes[i].word) == 0)
            f->csv_quote = quotes[i].ch;
    f->csv_header = form_bool(r, "csv_header");
    f->schema_mode = form_str(r, "schema_mode");
    f->columns_text = form_str(r, "declared_columns");
    f->columns = jsonx_own(r->a, parse_columns(r, f->columns_text, errors));
    f->on_mismatch = form_str(r, "on_mismatch");
    f->load_mode = form_str(r, "load_mode");
    f->max_text = form_str(r, "max_file_mb");
    long long mb;
    if (params_int(f->max_text, 1, UPLOAD_ZONE_MAX >> 20, &mb))
        f->max_file_bytes = mb << 20;
    else
        page_field_error(errors, "max_file_mb", "Enter a whole number of MiB from 1 to 8192.");
    f->age_text = form_str(r, "processed_max_age_days");
    if (!params_int(f->age_text, 1, LZ_AGE_MAX, &f->age_days))
        page_field_error(errors, "processed_max_age_days",
                         "Enter a whole number of days from 1 to 3650.");
    f->auto_purge = form_bool(r, "auto_purge");
    /* Columns only mean something for a declared schema. */
    if (strcmp(f->schema_mode, "infer") == 0) {
        f->columns = jsonx_own(r->a, json_array());
        json_object_del(errors, "declared_columns");
    }
}

static void json_text(request *r, const json_t *body, const char *key, const char **dst,
                      int nullable, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (json_is_null(v) && nullable)
        *dst = "";
    else if (!json_is_string(v))
        page_field_error(errors, key, nullable ? "must be a string or null" : "must be a string");
    else
        *dst = params_trim(r->a, json_string_value(v));
}

static void json_flag(const json_t *body, const char *key, int *dst, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (!json_is_boolean(v))
        page_field_error(errors, key, "must be true or false");
    else
        *dst = json_is_true(v);
}

static void json_num(const json_t *body, const char *key, long long *dst, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (!json_is_integer(v))
        page_field_error(errors, key, "must be an integer");
    else
        *dst = json_integer_value(v);
}

void lz_from_json(request *r, const json_t *body, lz_fields *f, json_t *errors)
{
    static const char *const allowed[] = {
        "name", "description", "destination_id", "target_schema", "target_table", "format",
        "csv_delimiter", "csv_quote", "csv_header", "schema_mode", "declared_columns",
        "on_mismatch", "load_mode", "max_file_bytes", "processed_max_age_days", "auto_purge",
        NULL};
    static const char *const readonly[] = {"id", "destination", "effective_target_schema",
                                           "created_by", "created_at", "updated_at", "files",
                                           "stored_bytes", NULL};
    conn_json_unknown(body, allowed, readonly, errors);
    json_text(r, body, "name", &f->name, 0, errors);
    json_text(r, body, "description", &f->description, 0, errors);
    json_text(r, body, "destination_id", &f->destination_id, 0, errors);
    json_text(r, body, "target_schema", &f->target_schema, 1, errors);
    json_text(r, body, "target_table", &f->target_table, 0, errors);
    json_text(r, body, "format", &f->format, 0, errors);
    json_text(r, body, "schema_mode", &f->schema_mode, 0, errors);
    json_text(r, body, "on_mismatch", &f->on_mismatch, 0, errors);
    json_text(r, body, "load_mode", &f->load_mode, 0, errors);
    /* Delimiter and quote are single characters: not trimmed (tab). */
    static const char *const chars[] = {"csv_delimiter", "csv_quote"};
    const char **cdst[] = {&f->csv_delimiter, &f->csv_quote};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, chars[i]);
        if (v && !json_is_string(v))
            page_field_error(errors, chars[i], "must be a string");
        else if (v)
            *cdst[i] = arena_strdup(r->a, json_string_value(v));
    }
    json_flag(body, "csv_header", &f->csv_header, errors);
    json_flag(body, "auto_purge", &f->auto_purge, errors);
    json_num(body, "max_file_bytes", &f->max_file_bytes, errors);
    json_num(body, "processed_max_age_days", &f->age_days, errors);
    json_t *cols = json_object_get(body, "declared_columns");
    if (cols) {
        f->columns_given = 1;
        if (!json_is_array(cols))
            page_field_error(errors, "declared_columns",
                             "must be an array of {\"name\", \"type\"} objects");
        else
            f->columns = jsonx_own(r->a, json_deep_copy(cols));
    }
}

void lz_from_row(request *r, PGresult *res, lz_fields *f)
{
    lz_defaults(r, f);
    f->name = PQgetvalue(res, 0, ZC_NAME);
    f->description = PQgetvalue(res, 0, ZC_DESCRIPTION);
    f->destination_id = PQgetvalue(res, 0, ZC_DEST_ID);
    f->target_schema = PQgetvalue(res, 0, ZC_SCHEMA); /* "" for NULL */
    f->target_table = PQgetvalue(res, 0, ZC_TABLE);
    f->format = PQgetvalue(res, 0, ZC_FORMAT);
    f->csv_delimiter = PQgetvalue(res, 0, ZC_DELIM);
    f->csv_quote = PQgetvalue(res, 0, ZC_QUOTE);
    f->csv_header = strcmp(PQgetvalue(res, 0, ZC_HEADER), "t") == 0;
    f->schema_mode = PQgetvalue(res, 0, ZC_SCHEMA_MODE);
    f->columns = jsonx_own(r->a, conn_json_array_col(res, 0, ZC_COLUMNS));
    f->columns_text = lz_columns_text(r, f->columns);
    f->on_mismatch = PQgetvalue(res, 0, ZC_MISMATCH);
    f->load_mode = PQgetvalue(res, 0, ZC_LOAD_MODE);
    f->max_file_bytes = strtoll(PQgetvalue(res, 0, ZC_MAX_FILE), NULL, 10);
    f->age_days = strtoll(PQgetvalue(res, 0, ZC_AGE), NULL, 10);
    f->auto_purge = strcmp(PQgetvalue(res, 0, ZC_PURGE), "t") == 0;
    f->max_text = arena_printf(r->a, "%lld", (f->max_file_bytes + (1 << 20) - 1) >> 20);
    f->age_text = PQgetvalue(res, 0, ZC_AGE);
}

/* Shape checks (no database). form: field names as the form has them. */
static void check(request *r, lz_fields *f, int form, json_t *errors)
{
    long nlen = params_utf8_len(f->name);
    if (!*f->name)
        page_field_error(errors, "name", "Enter a name.");
    else if (nlen < 0 || !name_ok(f->name) || uuid_valid(f->name))
        page_field_error(errors, "name",
                         "Use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter "
                         "or digit.");
    long dlen = params_utf8_len(f->description);
    if (dlen < 0 || dlen > LZ_DESCRIPTION_MAX)
        page_field_error(errors, "description", "Use at most 2000 characters of text.");
    for (const char *c = f->description; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\n' && *c != '\r' && *c != '\t') || *c == 0x7f)
            page_field_error(errors, "description", "Remove the control characters.");
    if (!uuid_valid(f->destination_id))
        page_field_error(errors, "destination_id", "Choose a destination.");
    if (*f->target_schema && !ident_ok(f->target_schema))
        page_field_error(errors, "target_schema",
                         "Use 1 to 63 letters, digits and underscores, not starting with a "
                         "digit (or leave it empty for the destination's schema).");
    if (!*f->target_table)
        page_field_error(errors, "target_table", "Enter the table the files load into.");
    else if (!ident_ok(f->target_table))
        page_field_error(errors, "target_table",
                         "Use 1 to 63 letters, digits and underscores, not starting with a "
                         "digit.");
    if (!in_list(formats, f->format))
        page_field_error(errors, "format", "Choose CSV or JSON Lines.");
    int dok = 0, qok = 0;
    for (size_t i = 0; i < NDELIMS; i++)
        dok |= strcmp(f->csv_delimiter, delims[i].ch) == 0;
    for (size_t i = 0; i < NQUOTES; i++)
        qok |= strcmp(f->csv_quote, quotes[i].ch) == 0;
    if (!dok)
        page_field_error(errors, "csv_delimiter",
                         form ? "Choose a delimiter."
                              : "must be one of \",\", \";\", \"\\t\", \"|\"");
    if (!qok)
        page_field_error(errors, "csv_quote",
                         form ? "Choose a quote character." : "must be \"\\\"\" or \"'\"");
    if (!in_list(schema_modes, f->schema_mode))
        page_field_error(errors, "schema_mode", "Choose declared columns or inferred types.");
    int declared = strcmp(f->schema_mode, "declared") == 0;
    size_t ncols = json_array_size(f->columns);
    if (!declared && ncols > 0) {
        if (f->columns_given)
            page_field_error(errors, "declared_columns",
                             "only a zone with schema_mode \"declared\" has columns");
        json_array_clear(f->columns);
        ncols = 0;
    }
    if (declared && ncols == 0 && !json_object_get(errors, "declared_columns"))
        page_field_error(errors, "declared_columns", "Declare at least one column.");
    if (ncols > LZ_COLUMNS_MAX)
        page_field_error(errors, "declared_columns", "Declare at most 500 columns.");
    json_t *seen = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(f->columns, i, c) {
        const char *cn = jsonx_str(c, "name", NULL), *ct = jsonx_str(c, "type", NULL);
        const char *msg = NULL;
        if (!json_is_object(c) || !cn || !ct || json_object_size(c) != 2)
            msg = "each column is {\"name\": ..., \"type\": ...}";
        else if (!ident_ok(cn))
            msg = arena_printf(r->a, "column '%s': use letters, digits and underscores, not "
                                     "starting with a digit",
                               cn);
        else if (!in_list(col_types, ct))
            msg = arena_printf(r->a, "column %s: the type must be one of int, bigint, "
                                     "numeric, boolean, date, timestamptz, text, jsonb",
                               cn);
        else {
            char *lc = arena_strdup(r->a, cn);
            for (char *p = lc; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            if (json_object_get(seen, lc))
                msg = arena_printf(r->a, "column %s is declared twice", cn);
            json_object_set_new(seen, lc, json_true());
        }
        if (msg) {
            page_field_error(errors, "declared_columns", msg);
            break;
        }
    }
    json_decref(seen);
    if (!in_list(mismatches, f->on_mismatch))
        page_field_error(errors, "on_mismatch",
                         "Choose what happens to a file that does not fit.");
    if (!in_list(load_modes, f->load_mode))
        page_field_error(errors, "load_mode", "Choose direct or raw.");
    if (!form && (f->max_file_bytes < 1 || f->max_file_bytes > UPLOAD_ZONE_MAX))
        page_field_error(errors, "max_file_bytes", "must be from 1 to 8589934592 (8 GiB)");
    if (!form && (f->age_days < 1 || f->age_days > LZ_AGE_MAX))
        page_field_error(errors, "processed_max_age_days", "must be from 1 to 3650");
}

/* --- loading ------------------------------------------------------------------------- */

sl_err lz_load(request *r, const char *key, int lock, PGresult **res, sl_errbuf *eb)
{
    int by_id = key && uuid_valid(key);
    if (!key || (!by_id && !name_ok(key)))
        return sl_fail(eb, SL_ENOTFOUND, "no such landing zone");
    const char *sql = arena_printf(r->a, "SELECT " ZONE_COLS " WHERE %s%s",
                                   by_id ? "z.id = $1::uuid" : "lower(z.name) = lower($1)",
                                   lock ? " FOR UPDATE OF z" : "");
    sl_err e = db_query(r->db, r->a, eb, res, sql, 1, (const char *[]){key});
    if (e)
        return e;
    if (PQntuples(*res) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no such landing zone");
    return SL_OK;
}

void lz_upload_zone(PGresult *res, upload_zone *z)
{
    z->id = PQgetvalue(res, 0, ZC_ID);
    z->name = PQgetvalue(res, 0, ZC_NAME);
    z->max_file_bytes = strtoll(PQgetvalue(res, 0, ZC_MAX_FILE), NULL, 10);
}

sl_err lz_list(request *r, const char *after_lname, const char *after_id, int backwards,
               int limit, PGresult **res, sl_errbuf *eb)
{
    const char *lim = arena_printf(r->a, "%d", limit + 1);
    if (!after_lname)
        return db_query(r->db, r->a, eb, res,
                        "SELECT " ZONE_COLS " ORDER BY lower(z.name), z.id LIMIT $1::int", 1,
                        (const char *[]){lim});
    return db_query(r->db, r->a, eb, res,
                    backwards ? "SELECT " ZONE_COLS " WHERE (lower(z.name), z.id) <"
                                " ($1, $2::uuid) ORDER BY lower(z.name) DESC, z.id DESC"
                                " LIMIT $3::int"
                              : "SELECT " ZONE_COLS " WHERE (lower(z.name), z.id) >"
                                " ($1, $2::uuid) ORDER BY lower(z.name), z.id LIMIT $3::int",
                    3, (const char *[]){after_lname, after_id, lim});
}

sl_err lz_files(request *r, const char *zone_id, const char *below_id, const char *above_id,
                int limit, PGresult **res, sl_errbuf *eb)
{
    const char *lim = arena_printf(r->a, "%d", limit + 1);
    if (above_id)
        return db_query(r->db, r->a, eb, res,
                        "SELECT " FILE_COLS " WHERE f.zone_id = $1::uuid AND f.id > $2::bigint"
                        " ORDER BY f.id LIMIT $3::int",
                        3, (const char *[]){zone_id, above_id, lim});
    return db_query(r->db, r->a, eb, res,
                    "SELECT " FILE_COLS " WHERE f.zone_id = $1::uuid"
                    " AND ($2::bigint IS NULL OR f.id < $2::bigint)"
                    " ORDER BY f.id DESC LIMIT $3::int",
                    3, (const char *[]){zone_id, below_id, lim});
}

sl_err lz_file_rows(request *r, const upload *u, PGresult **res, sl_errbuf *eb)
{
    sbuf b;
    sb_init(&b, r->a, 64 * 32);
    sb_putc(&b, '{');
    for (int i = 0; i < u->nfiles; i++)
        sb_printf(&b, "%s%s", i ? "," : "", u->files[i].id);
    sb_putc(&b, '}');
    return db_query(r->db, r->a, eb, res,
                    "SELECT " FILE_COLS " WHERE f.id = ANY($1::bigint[])"
                    " ORDER BY array_position($1::bigint[], f.id)",
                    1, (const char *[]){sb_str(&b)});
}

sl_err lz_destination_choices(request *r, const char *selected, json_t **out, sl_errbuf *eb)
{
    PGresult *res;
    sl_err e = db_query(r->db, r->a, eb, &res,
                        "SELECT id, name, is_default FROM sluice.destinations"
                        " ORDER BY lower(name), id LIMIT 1000",
                        0, NULL);
    if (e)
        return e;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        int sel = selected && *selected ? strcmp(id, selected) == 0
                                        : strcmp(PQgetvalue(res, i, 2), "t") == 0;
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "id", id, "name",
                                              PQgetvalue(res, i, 1), "selected", sel));
    }
    *out = list;
    return SL_OK;
}

/* --- views --------------------------------------------------------------------------- */

static json_t *str_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static json_int_t num(PGresult *res, int i, int col)
{
    return (json_int_t)strtoll(PQgetvalue(res, i, col), NULL, 10);
}

json_t *lz_zone_api_json(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, ZC_ID)));
    json_object_set_new(o, "name", json_string(PQgetvalue(res, i, ZC_NAME)));
    json_object_set_new(o, "description", json_string(PQgetvalue(res, i, ZC_DESCRIPTION)));
    json_object_set_new(o, "destination_id", json_string(PQgetvalue(res, i, ZC_DEST_ID)));
    json_object_set_new(o, "destination", json_string(PQgetvalue(res, i, ZC_DEST_NAME)));
    json_object_set_new(o, "target_schema", str_or_null(res, i, ZC_SCHEMA));
    json_object_set_new(o, "effective_target_schema",
                        json_string(PQgetvalue(res, i, ZC_EFF_SCHEMA)));
    json_object_set_new(o, "target_table", json_string(PQgetvalue(res, i, ZC_TABLE)));
    json_object_set_new(o, "format", json_string(PQgetvalue(res, i, ZC_FORMAT)));
    json_object_set_new(o, "csv_delimiter", json_string(PQgetvalue(res, i, ZC_DELIM)));
    json_object_set_new(o, "csv_quote", json_string(PQgetvalue(res, i, ZC_QUOTE)));
    json_object_set_new(o, "csv_header",
                        json_boolean(strcmp(PQgetvalue(res, i, ZC_HEADER), "t") == 0));
    json_object_set_new(o, "schema_mode", json_string(PQgetvalue(res, i, ZC_SCHEMA_MODE)));
    json_t *cols = json_loads(PQgetvalue(res, i, ZC_COLUMNS), 0, NULL);
    json_object_set_new(o, "declared_columns", json_is_array(cols) ? cols : json_array());
    if (cols && !json_is_array(cols))
        json_decref(cols);
    json_object_set_new(o, "on_mismatch", json_string(PQgetvalue(res, i, ZC_MISMATCH)));
    json_object_set_new(o, "load_mode", json_string(PQgetvalue(res, i, ZC_LOAD_MODE)));
    json_object_set_new(o, "max_file_bytes", json_integer(num(res, i, ZC_MAX_FILE)));
    json_object_set_new(o, "processed_max_age_days", json_integer(num(res, i, ZC_AGE)));
    json_object_set_new(o, "auto_purge",
                        json_boolean(strcmp(PQgetvalue(res, i, ZC_PURGE), "t") == 0));
    json_object_set_new(o, "files", json_integer(num(res, i, ZC_FILES)));
    json_object_set_new(o, "stored_bytes", json_integer(num(res, i, ZC_BYTES)));
    json_object_set_new(o, "created_by", str_or_null(res, i, ZC_CREATED_BY));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, ZC_CREATED)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(res, i, ZC_UPDATED)));
    (void)r;
    return o;
}

/* "1.5 GiB" */
static const char *pretty_bytes(request *r, long long n)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        return arena_printf(r->a, "%lld %s", n, n == 1 ? "byte" : "bytes");
    return arena_printf(r->a, v < 10 && v != (long long)v ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const char *short_time(request *r, const char *iso)
{
    if (!iso || strlen(iso) < 19)
        return iso;
    char *s = arena_printf(r->a, "%.19s UTC", iso);
    s[10] = ' ';
    return s;
}

json_t *lz_zone_page_json(request *r, PGresult *res, int i)
{
    json_t *o = lz_zone_api_json(r, res, i);
    const char *fmt = PQgetvalue(res, i, ZC_FORMAT);
    int csv = strcmp(fmt, "csv") == 0;
    const char *delim = PQgetvalue(res, i, ZC_DELIM), *quote = PQgetvalue(res, i, ZC_QUOTE);
    const char *dl = delim, *ql = quote;
    for (size_t k = 0; k < NDELIMS; k++)
        if (strcmp(delim, delims[k].ch) == 0)
            dl = delims[k].label;
    for (size_t k = 0; k < NQUOTES; k++)
        if (strcmp(quote, quotes[k].ch) == 0)
            ql = quotes[k].label;
    json_object_set_new(o, "is_csv", json_boolean(csv));
    json_object_set_new(o, "format_label",
                        json_string(csv ? arena_printf(r->a, "CSV, %s-separated, %s, %s", dl,
                                                       ql,
                                                       strcmp(PQgetvalue(res, i, ZC_HEADER),
                                                              "t") == 0
                                                           ? "with a header line"
                                                           : "no header line")
                                        : "JSON Lines"));
    int declared = strcmp(PQgetvalue(res, i, ZC_SCHEMA_MODE), "declared") == 0;
    json_object_set_new(o, "declared", json_boolean(declared));
    json_object_set_new(o, "mismatch_label",
                        json_string(strcmp(PQgetvalue(res, i, ZC_MISMATCH), "reject") == 0
                                        ? "reject the whole file"
                                        : "load the rows that fit, dead-letter the rest"));
    json_object_set_new(o, "load_label",
                        json_string(strcmp(PQgetvalue(res, i, ZC_LOAD_MODE), "raw") == 0
                                        ? "raw JSONB copy in the staging schema"
                                        : "typed table"));
    json_object_set_new(o, "max_file", json_string(pretty_bytes(r, num(res, i, ZC_MAX_FILE))));
    json_object_set_new(o, "stored", json_string(pretty_bytes(r, num(res, i, ZC_BYTES))));
    json_object_set_new(o, "schema_default", json_boolean(PQgetisnull(res, i, ZC_SCHEMA)));
    json_object_set_new(o, "created", json_string(short_time(r, PQgetvalue(res, i, ZC_CREATED))));
    json_object_set_new(o, "updated", json_string(short_time(r, PQgetvalue(res, i, ZC_UPDATED))));
    return o;
}

json_t *lz_file_api_json(request *r, PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, FC_ID)));
    json_object_set_new(o, "zone_id", json_string(PQgetvalue(res, i, FC_ZONE_ID)));
    json_object_set_new(o, "name", json_string(PQgetvalue(res, i, FC_NAME)));
    json_object_set_new(o, "stored_name", str_or_null(res, i, FC_STORED));
    json_object_set_new(o, "size_bytes", json_integer(num(res, i, FC_SIZE)));
    json_object_set_new(o, "sha256", json_string(PQgetvalue(res, i, FC_SHA)));
    json_object_set_new(o, "content_type", json_string(PQgetvalue(res, i, FC_CTYPE)));
    json_object_set_new(o, "status", json_string(PQgetvalue(res, i, FC_STATUS)));
    json_object_set_new(o, "rows_loaded", json_integer(num(res, i, FC_LOADED)));
    json_object_set_new(o, "rows_rejected", json_integer(num(res, i, FC_REJECTED)));
    json_object_set_new(o, "error", str_or_null(res, i, FC_ERROR));
    json_object_set_new(o, "uploaded_by", str_or_null(res, i, FC_BY));
    json_object_set_new(o, "uploaded_by_email", str_or_null(res, i, FC_BY_EMAIL));
    json_object_set_new(o, "uploaded_at", json_string(PQgetvalue(res, i, FC_UPLOADED)));
    json_object_set_new(o, "loaded_at", str_or_null(res, i, FC_LOADED_AT));
    json_object_set_new(o, "purged_at", str_or_null(res, i, FC_PURGED_AT));
    json_object_set_new(o, "duplicate_of", str_or_null(res, i, FC_DUP));
    (void)r;
    return o;
}

json_t *lz_file_page_json(request *r, PGresult *res, int i)
{
    json_t *o = lz_file_api_json(r, res, i);
    const char *st = PQgetvalue(res, i, FC_STATUS);
    const char *badge = strcmp(st, "loaded") == 0     ? "badge-ok"
                        : strcmp(st, "rejected") == 0 ? "badge-off"
                        : strcmp(st, "loading") == 0  ? "badge-run"
                        : strcmp(st, "purged") == 0   ? ""
                                                      : "badge-warn";
    json_object_set_new(o, "badge", json_string(badge));
    json_object_set_new(o, "size", json_string(PQgetvalue(res, i, FC_SIZE_PRETTY)));
    json_object_set_new(o, "sha_short",
                        json_string(arena_strndup(r->a, PQgetvalue(res, i, FC_SHA), 12)));
    json_object_set_new(o, "uploaded",
                        json_string(short_time(r, PQgetvalue(res, i, FC_UPLOADED))));
    int settled = strcmp(st, "loaded") == 0 || strcmp(st, "rejected") == 0;
    json_object_set_new(o, "has_counts", json_boolean(settled && PQgetisnull(res, i, FC_DUP)));
    return o;
}

const char *lz_upload_summary(request *r, const upload *u)
{
    sbuf b;
    sb_init(&b, r->a, 4096);
    sb_puts(&b, u->nfiles == 1 ? "Uploaded: " : "Uploaded " );
    if (u->nfiles != 1)
        sb_printf(&b, "%d files: ", u->nfiles);
    for (int i = 0; i < u->nfiles; i++) {
        const upload_file *f = &u->files[i];
        if (f->duplicate_of)
            sb_printf(&b, "%s%s is identical to file %s (not stored again)", i ? "; " : "",
                      f->name, f->duplicate_of);
        else
            sb_printf(&b, "%s%s (%s) stored as file %s", i ? "; " : "", f->name,
                      pretty_bytes(r, f->size), f->id);
    }
    sb_putc(&b, '.');
    return arena_strdup(r->a, sb_str(&b));
}

/* --- changes ------------------------------------------------------------------------- */

static json_t *fields_json(const lz_fields *f)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:b, s:s, s:O, s:s, s:s, s:I,"
                     " s:I, s:b}",
                     "name", f->name, "description", f->description, "destination_id",
                     f->destination_id, "target_schema",
                     *f->target_schema ? json_string(f->target_schema) : json_null(),
                     "target_table", f->target_table, "format", f->format, "csv_delimiter",
                     f->csv_delimiter, "csv_quote", f->csv_quote, "csv_header", f->csv_header,
                     "schema_mode", f->schema_mode, "declared_columns", f->columns,
                     "on_mismatch", f->on_mismatch, "load_mode", f->load_mode,
                     "max_file_bytes", (json_int_t)f->max_file_bytes,
                     "processed_max_age_days", (json_int_t)f->age_days, "auto_purge",
                     f->auto_purge);
}

static sl_err tx_fail(request *r, sl_err e)
{
    db_rollback(r->db);
    return e;
}

sl_err lz_store(request *r, const char *id, lz_fields *f, int form, json_t *errors,
                const char **out_id, sl_errbuf *eb)
{
    check(r, f, form, errors);
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    if (e)
        return e;
    PGresult *old = NULL, *res;
    if (id && (e = lz_load(r, id, 1, &old, eb)) != SL_OK)
        return tx_fail(r, e);
    if (!json_object_get(errors, "destination_id")) {
        e = db_query(r->db, r->a, eb, &res,
                     "SELECT 1 FROM sluice.destinations WHERE id = $1::uuid", 1,
                     (const char *[]){f->destination_id});
        if (e)
            return tx_fail(r, e);
        if (PQntuples(res) == 0)
            page_field_error(errors, "destination_id", "Choose a destination that exists.");
    }
    if (!json_object_get(errors, "name")) {
        e = db_query(r->db, r->a, eb, &res,
                     "SELECT 1 FROM sluice.landing_zones WHERE lower(name) = lower($1)"
                     " AND id IS DISTINCT FROM $2::uuid",
                     2, (const char *[]){f->name, id ? PQgetvalue(old, 0, ZC_ID) : NULL});
        if (e)
            return tx_fail(r, e);
        if (PQntuples(res) > 0)
            page_field_error(errors, "name", "A landing zone with this name already exists.");
    }
    if (json_object_size(errors) > 0) {
        db_rollback(r->db);
        return sl_fail(eb, SL_EINVAL, "the landing zone is not valid");
    }
    char *cols = json_dumps(f->columns, JSON_COMPACT);
    const char *params[] = {
        f->name, f->description, f->destination_id, *f->target_schema ? f->target_schema : NULL,
        f->target_table, f->format, f->csv_delimiter, f->csv_quote, f->csv_header ? "t" : "f",
        f->schema_mode, cols, f->on_mismatch, f->load_mode,
        arena_printf(r->a, "%lld", f->max_file_bytes), arena_printf(r->a, "%lld", f->age_days),
        f->auto_purge ? "t" : "f", id ? PQgetvalue(old, 0, ZC_ID) : r->user_id};
    if (!id)
        e = db_query(r->db, r->a, eb, &res,
                     "INSERT INTO sluice.landing_zones (name, description, destination_id,"
                     " target_schema, target_table, format, csv_delimiter, csv_quote,"
                     " csv_header, schema_mode, declared_columns, on_mismatch, load_mode,"
                     " max_file_bytes, processed_max_age_days, auto_purge, created_by)"
                     " VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8, $9::boolean, $10,"
                     " $11::jsonb, $12, $13, $14::bigint, $15::int, $16::boolean, $17::uuid)"
                     " RETURNING id",
                     17, params);
    else
        e = db_query(r->db, r->a, eb, &res,
                     "UPDATE sluice.landing_zones SET name = $1, description = $2,"
                     " destination_id = $3::uuid, target_schema = $4, target_table = $5,"
                     " format = $6, csv_delimiter = $7, csv_quote = $8, csv_header = $9::boolean,"
                     " schema_mode = $10, declared_columns = $11::jsonb, on_mismatch = $12,"
                     " load_mode = $13, max_file_bytes = $14::bigint,"
                     " processed_max_age_days = $15::int, auto_purge = $16::boolean,"
                     " updated_at = now() WHERE id = $17::uuid RETURNING id",
                     17, params);
    free(cols);
    if (e == SL_EDB && strcmp(db_sqlstate(r->db), "23505") == 0) {
        db_rollback(r->db);
        page_field_error(errors, "name", "A landing zone with this name already exists.");
        return sl_fail(eb, SL_EINVAL, "the landing zone is not valid");
    }
    if (e)
        return tx_fail(r, e);
    const char *new_id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    json_t *now = fields_json(f), *details;
    if (!id) {
        details = now;
    } else {
        lz_fields o;
        lz_from_row(r, old, &o);
        json_t *was = fields_json(&o), *changes = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(now, k, v) {
            json_t *w = json_object_get(was, k);
            if (!json_equal(v, w))
                json_object_set_new(changes, k, json_pack("{s:O, s:O}", "from", w, "to", v));
        }
        details = json_pack("{s:s, s:o}", "name", f->name, "changes", changes);
        json_decref(was);
        json_decref(now);
    }
    e = audit_write(r, id ? "landing_zone.update" : "landing_zone.create", "landing_zone",
                    new_id, details, NULL);
    json_decref(details);
    if (e)
        return tx_fail(r, sl_fail(eb, e, "the change could not be recorded in the audit log"));
    if ((e = db_commit(r->db, eb)) != SL_OK)
        return tx_fail(r, e);
    *out_id = new_id;
    return SL_OK;
}

/* Remove <var>/landing/<id> and the files in it (after the rows are gone). */
static void remove_zone_dir(request *r, const char *id)
{
    const char *dir = arena_printf(r->a, "%s/landing/%s", r->cfg->var_dir, id);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            log_error("landing: cannot open %s: %s", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            log_error("landing: cannot remove %s/%s: %s", dir, e->d_name, strerror(errno));
    }
    closedir(d);
    if (rmdir(dir) != 0)
        log_error("landing: cannot remove %s: %s", dir, strerror(errno));
}

sl_err lz_delete(request *r, const char *id, int purge, const char **name, long long *nfiles,
                 const char **why, sl_errbuf *eb)
{
    db_rollback(r->db);
    sl_err e = db_begin(r->db, eb);
    PGresult *res;
    if (e || (e = lz_load(r, id, 1, &res, eb)) != SL_OK)
        return tx_fail(r, e);
    const char *zid = PQgetvalue(res, 0, ZC_ID);
    *name = PQgetvalue(res, 0, ZC_NAME);
    *nfiles = strtoll(PQgetvalue(res, 0, ZC_FILES), NULL, 10);
    if (*nfiles > 0 && !purge) {
        db_rollback(r->db);
        *why = arena_printf(r->a, "The zone has %lld file%s (%s stored).", *nfiles,
                            *nfiles == 1 ? "" : "s",
                            pretty_bytes(r, strtoll(PQgetvalue(res, 0, ZC_BYTES), NULL, 10)));
        return sl_fail(eb, SL_ECONFLICT, "%s", *why);
    }
    e = db_exec(r->db, eb, "DELETE FROM sluice.landing_zones WHERE id = $1::uuid", 1,
                (const char *[]){zid});
    if (e)
        return tx_fail(r, e);
    json_t *d = json_pack("{s:s, s:I, s:b}", "name", *name, "files", (json_int_t)*nfiles,
                          "purged", *nfiles > 0);
    e = audit_write(r, "landing_zone.delete", "landing_zone", zid, d, NULL);
    json_decref(d);
    if (e)
        return tx_fail(r, sl_fail(eb, e, "the change could not be recorded in the audit log"));
    if ((e = db_commit(r->db, eb)) != SL_OK)
        return tx_fail(r, e);
    remove_zone_dir(r, zid);
    return SL_OK;
}
