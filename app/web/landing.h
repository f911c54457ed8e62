/* landing.h - landing zones as the console and the API manage them
 * (landing_model.c): the zone's fields and their checks, loading a zone by
 * id or name, the audited changes (create, update, delete with purge), and
 * the views of zones and files.
 *
 * landing.c (pages, the upload form) and landing_api.c (JSON) share
 * everything here; upload.c does the uploads themselves. Strings live in
 * the request arena; json_t results are new references the caller owns. */
#ifndef SL_WEB_LANDING_H
#define SL_WEB_LANDING_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"
#include "upload.h"

#define LZ_PAGE 50                 /* zones or files per page */
#define LZ_NAME_MAX 63             /* characters of a zone name */
#define LZ_DESCRIPTION_MAX 2000
#define LZ_COLUMNS_MAX 500         /* declared columns */
#define LZ_AGE_MAX 3650            /* days */
#define LZ_DEFAULT_MAX_FILE (1LL << 30)

/* Columns of the zone queries (lz_load, lz_list). */
enum { ZC_ID, ZC_NAME, ZC_DESCRIPTION, ZC_DEST_ID, ZC_DEST_NAME, ZC_SCHEMA, ZC_EFF_SCHEMA,
       ZC_TABLE, ZC_FORMAT, ZC_DELIM, ZC_QUOTE, ZC_HEADER, ZC_SCHEMA_MODE, ZC_COLUMNS,
       ZC_MISMATCH, ZC_LOAD_MODE, ZC_MAX_FILE, ZC_AGE, ZC_PURGE, ZC_CREATED_BY, ZC_CREATED,
       ZC_UPDATED, ZC_LNAME, ZC_FILES, ZC_BYTES, ZC_NCOLS };

/* Columns of the file queries (lz_files, lz_file_rows). */
enum { FC_ID, FC_ZONE_ID, FC_NAME, FC_STORED, FC_SIZE, FC_SHA, FC_CTYPE, FC_STATUS, FC_LOADED,
       FC_REJECTED, FC_ERROR, FC_BY, FC_BY_EMAIL, FC_UPLOADED, FC_LOADED_AT, FC_PURGED_AT,
       FC_DUP, FC_SIZE_PRETTY, FC_NCOLS };

/* A zone as a person asks for it. Every field is set (defaults first). */
typedef struct {
    const char *name, *description, *destination_id, *target_schema, *target_table;
    const char *format;            /* csv | jsonl */
    const char *csv_delimiter;     /* "," ";" "\t" "|" */
    const char *csv_quote;         /* "\"" or "'" */
    int csv_header;
    const char *schema_mode;       /* declared | infer */
    json_t *columns;               /* [{name, type}], owned by the request arena */
    const char *columns_text;      /* pages: the text area as typed */
    const char *on_mismatch;       /* reject | load_partial */
    const char *load_mode;         /* direct | raw */
    long long max_file_bytes;
    long long age_days;
    int auto_purge;
    const char *max_text, *age_text; /* pages: the numbers as typed (MiB, days) */
    int columns_given;             /* the API body had declared_columns */
} lz_fields;

/* The defaults of a new zone (columns: an empty array the arena owns). */
void lz_defaults(request *r, lz_fields *f);

/* Read the fields of a parsed form into f (over its current values).
 * Problems of shape (a size that is not a number, a columns line that is
 * not "name type") go into errors under the form's field names. */
void lz_from_form(request *r, lz_fields *f, json_t *errors);

/* Read a JSON body into f: only the fields given change; unknown and
 * read-only fields and wrong types go into errors. */
void lz_from_json(request *r, const json_t *body, lz_fields *f, json_t *errors);

/* Fill f from row 0 of a zone query. */
void lz_from_row(request *r, PGresult *res, lz_fields *f);

/* The zone's declared columns as the text area shows them ("id int\n..."). */
const char *lz_columns_text(request *r, const json_t *columns);

/* Zone by id (a UUID) or, when key is not one, by name (any case). lock: FOR
 * UPDATE (in a transaction). SL_ENOTFOUND when there is none (also for a
 * key that is neither). One row in ZC_* order. */
sl_err lz_load(request *r, const char *key, int lock, PGresult **res, sl_errbuf *eb);

/* The upload target of row 0 of a zone query. */
void lz_upload_zone(PGresult *res, upload_zone *z);

/* Zones by (lower(name), id) after the key (both NULL: from the start), or
 * before it when backwards (then in reverse order); at most limit + 1 rows. */
sl_err lz_list(request *r, const char *after_lname, const char *after_id, int backwards,
               int limit, PGresult **res, sl_errbuf *eb);

/* Files of zone_id newest first: below the id before_id (NULL: from the
 * newest), or above after_id when it is given (then oldest first); at most
 * limit + 1 rows. */
sl_err lz_files(request *r, const char *zone_id, const char *below_id, const char *above_id,
                int limit, PGresult **res, sl_errbuf *eb);

/* The rows of the files u just stored, in its order. */
sl_err lz_file_rows(request *r, const upload *u, PGresult **res, sl_errbuf *eb);

/* Destinations a zone may load into: [{id, name, selected}]. */
sl_err lz_destination_choices(request *r, const char *selected, json_t **out, sl_errbuf *eb);

/* Views. */
json_t *lz_zone_api_json(request *r, PGresult *res, int i);
json_t *lz_zone_page_json(request *r, PGresult *res, int i);
json_t *lz_file_api_json(request *r, PGresult *res, int i);
json_t *lz_file_page_json(request *r, PGresult *res, int i);

/* What an upload did, for people: "a.csv stored (12 kB); b.csv is identical
 * to file 123 (not stored again)". */
const char *lz_upload_summary(request *r, const upload *u);

/* --- changes: one transaction each, audited ------------------------------------------ */

/* Check f (names, choices, the destination exists, the name is free) and
 * store it: a new zone (id NULL; *out_id gets its id) or zone id. SL_EINVAL
 * with errors filled (form field names when form is set, API names
 * otherwise); SL_ENOTFOUND when zone id is gone; other errors from the
 * database (eb). */
sl_err lz_store(request *r, const char *id, lz_fields *f, int form, json_t *errors,
                const char **out_id, sl_errbuf *eb);

/* Delete zone id. Refused with SL_ECONFLICT (*why set) when it has files,
 * unless purge: then its files' rows go with it and their bytes are
 * removed from disk after the commit. SL_ENOTFOUND when it is gone. *name
 * gets its name, *nfiles how many files it had. */
sl_err lz_delete(request *r, const char *id, int purge, const char **name, long long *nfiles,
                 const char **why, sl_errbuf *eb);

#endif
