/* connform.h - what the Sources and Destinations resources share: the
 * connection fields (name, type, host, port, database, user, password, SSL
 * mode) read from a form or a JSON body and checked field by field; the
 * password rules (sealed with the keyring before storing, never sent back);
 * "Test connection"; opaque keyset cursors on (lower(name), id); and the
 * transaction, audit and JSON-body plumbing both files need.
 *
 * Everything returned lives in the request arena. Functions that answer
 * the request say so; the others only fill structs and error objects. */
#ifndef SL_CONNFORM_H
#define SL_CONNFORM_H

#include <jansson.h>
#include <libpq-fe.h>

#include "sync/connector.h"
#include "http.h"

#define CONN_NAME_MAX 200     /* characters */
#define CONN_HOST_MAX 253     /* bytes */
#define CONN_TEXT_MAX 255     /* bytes: database, user */
#define CONN_PASSWORD_MAX 1024 /* bytes */
#define CONN_TEST_TIMEOUT 5   /* seconds: test connection, discover */
#define CONN_PAGE 50          /* rows per list page */
#define CONN_API_MAX 200      /* largest API limit */

/* What differs between sources and destinations. Every string is a
 * trusted constant (table is pasted into SQL). */
typedef struct {
    const char *table;         /* "sluice.sources" */
    const char *object;        /* "source": audit object type, actions "source.*" */
    const char *noun;          /* "Source": messages */
    const char *path;          /* "/sources" */
    const char *const *types;  /* accepted types, NULL-terminated */
    const char *types_text;    /* "PostgreSQL, MySQL or MariaDB" */
    int offer_mongodb;         /* show MongoDB as "not supported yet" in the form */
    const char *fk_column;     /* "source_id": the pipelines column pointing here */
} conn_kind;

/* What to do with the stored password. */
enum conn_pw { CONN_PW_KEEP = 0, CONN_PW_SET, CONN_PW_CLEAR };

/* The connection fields of one source or destination. */
typedef struct {
    const char *name, *type, *host, *database, *user, *ssl_mode;
    const char *port_text;  /* as typed ("" = the type's default) */
    int port;               /* set by conn_fields_check */
    enum conn_pw pw;        /* KEEP on edit when left blank; SET with password */
    const char *password;   /* plaintext when pw == CONN_PW_SET; never rendered */
    int had_password;       /* the stored row has one (edit forms) */
    int clear_requested;    /* the form's "clear password" box was ticked */
} conn_fields;

/* The columns every query selects first (both tables have them), in the
 * order of enum conn_col; resource files append their own after them. */
#define CONN_ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define CONN_COLS                                                                            \
    "id, name, type, host, port, database, username, password_enc IS NOT NULL, ssl_mode,"   \
    " status, " CONN_ISO("last_tested_at") ", last_test_ms, last_error, server_version, "   \
    CONN_ISO("created_at") ", " CONN_ISO("updated_at") ", lower(name)"
enum conn_col { CC_ID, CC_NAME, CC_TYPE, CC_HOST, CC_PORT, CC_DATABASE, CC_USER, CC_HAS_PW,
                CC_SSL, CC_STATUS, CC_TESTED, CC_TEST_MS, CC_ERROR, CC_VERSION, CC_CREATED,
                CC_UPDATED, CC_LNAME, CC_NCOLS };

/* --- fields -------------------------------------------------------------------------- */

/* Fill f from a parsed form (form_parse done): name, type, host, port,
 * database, user, password, clear_password, ssl_mode. editing: a blank
 * password keeps the stored one; otherwise it means "no password". */
void conn_fields_from_form(request *r, conn_fields *f, int editing);

/* Fill f from row 0 of a CONN_COLS result (for edit forms and PATCH). */
void conn_fields_from_row(conn_fields *f, PGresult *res);

/* Apply the connection members of a JSON object to f: name, type, host,
 * port (integer or null = default), database, user, password (string sets,
 * null clears, absent keeps), ssl_mode. Wrong JSON types go to errors.
 * Other members are left for the caller. */
void conn_fields_from_json(request *r, const json_t *body, conn_fields *f, json_t *errors);

/* Check f for kind k, adding { field: message } to errors; fills f->port
 * with the type's default when none was given. Refuses MongoDB (and other
 * known-but-unsupported types) with the connector's reason. */
void conn_fields_check(request *r, const conn_kind *k, conn_fields *f, json_t *errors);

/* The form context for f: name, type options, host, port, port
 * placeholder, database, user, ssl options, has_password (editing). Never
 * the password. */
json_t *conn_form_ctx(request *r, const conn_kind *k, const conn_fields *f, int editing);

/* The sealed password to store for f: SQL NULL for none, the stored value
 * (keep) is the caller's business: returns NULL for CONN_PW_KEEP too, so
 * callers branch on f->pw. */
const char *conn_sealed_password(request *r, const conn_fields *f);

/* 1 when another row of k (not except_id, which may be NULL) has this name
 * case-insensitively, 0 when none, -1 after answering a database error. */
int conn_name_taken(request *r, const conn_kind *k, const char *name, const char *except_id);

/* The default port of a type (0 when unknown). */
int conn_default_port(const char *type);

/* Split s at commas, white space and newlines into non-empty items
 * (duplicates dropped, order kept); *n gets the count. Lives in a. */
const char **conn_split_list(arena *a, const char *s, int *n);

/* --- JSON views -------------------------------------------------------------------- */

/* The API's view of the common columns of row i (has_password, never the
 * password). */
json_t *conn_api_json(PGresult *res, int i);
/* The pages' view: the API's plus display strings (endpoint, badge,
 * last_tested). */
json_t *conn_page_json(request *r, PGresult *res, int i);

/* --- test connection ---------------------------------------------------------------- */

typedef struct {
    int ok;
    const char *name;       /* the row's name */
    const char *status;     /* "connected" | "error" */
    long elapsed_ms;
    const char *version;    /* server version, NULL on failure */
    const char *error;      /* the connector's message, NULL on success */
    const char *tested_at;  /* ISO time recorded */
} conn_test_result;

/* Load row id of k, decrypt its password, connect with a short timeout,
 * ask the version, and record status, time, duration, error and version
 * on the row with an audit entry ("<object>.test"), in one transaction.
 * SL_OK with *out filled whether or not the connection worked;
 * SL_ENOTFOUND for an unknown id; SL_EDB / SL_EDBDOWN otherwise. */
sl_err conn_test(request *r, const conn_kind *k, const char *id, conn_test_result *out,
                 sl_errbuf *eb);

/* POST .../{id}/test for a page: run conn_test, then redirect to the
 * detail page with a flash message saying how it went. Answers always. */
void conn_test_page(request *r, const conn_kind *k);
/* POST /api/v1/.../{id}/test: {ok, status, elapsed_ms, server_version,
 * error, tested_at} (200 whether or not the connection worked). */
void conn_test_api(request *r, const conn_kind *k);

/* Connection parameters for row id of k (password decrypted into the
 * arena; connect_timeout CONN_TEST_TIMEOUT). SL_ENOTFOUND for an unknown
 * id; SL_ECRYPTO when the stored password cannot be opened (message says
 * what to do). */
sl_err conn_params_for(request *r, const conn_kind *k, const char *id, conn_params *p,
                       sl_errbuf *eb);

/* msg with every occurrence of secret replaced by "********" (secret NULL
 * or "": msg itself). Connectors never put passwords in messages; this is
 * the belt to their braces. */
const char *conn_scrub(arena *a, const char *msg, const char *secret);

/* --- lists and cursors -------------------------------------------------------------- */

/* An opaque cursor for the row (lname, id): params_cursor_make's, in a. */
char *conn_cursor_make(arena *a, const char *lname, const char *id);
/* Decode a cursor; 1 and *lname, *id set, or 0 when it is malformed (see
 * params_cursor_parse) or id is not a UUID. */
int conn_cursor_parse(arena *a, const char *cursor, const char **lname, const char **id);

/* Rows of k ordered by (lower(name), id): after the cursor (forward), or
 * before it (backward: fetched in descending order; the caller reverses).
 * cols is a trusted column list. At most limit + 1 rows. */
sl_err conn_list(request *r, const conn_kind *k, const char *cols, const char *cursor_lname,
                 const char *cursor_id, int backward, int limit, PGresult **res,
                 sl_errbuf *eb);

/* The list page's rows and pager: reads ?after= / ?before= cursors
 * (malformed: 400), fetches a page and sets ctx.items (via row_json),
 * ctx.has_items, ctx.paged, ctx.newer, ctx.older. Returns 0, or -1 after
 * answering (ctx then released). */
int conn_list_page(request *r, const conn_kind *k, const char *cols, json_t *ctx,
                   json_t *(*row_json)(request *r, PGresult *res, int i));

/* The API list: declared params limit (1..200, default 50) and cursor;
 * answers {items, next_cursor} using row_json, or 422 for bad params. */
void conn_list_api(request *r, const conn_kind *k, const char *cols,
                   json_t *(*row_json)(request *r, PGresult *res, int i));

/* --- request plumbing --------------------------------------------------------------- */

/* The {id} path parameter when it is a UUID; otherwise answers 404 ("no
 * such source") and returns NULL. */
const char *conn_id_param(request *r, const conn_kind *k);

/* Load row id of k with cols (FOR UPDATE when lock: inside a transaction,
 * rolled back on failure). 1 found; 0 answered 404; -1 answered an error. */
int conn_load(request *r, const conn_kind *k, const char *cols, const char *id, int lock,
              PGresult **res);

/* Read the request body as a JSON object (application/json). NULL after
 * answering 415, 413, 400 or 422. */
json_t *conn_json_body(request *r);

/* Begin a transaction (after a rollback of anything stale); non-zero
 * after answering a database error. */
int conn_begin(request *r);
/* Roll back and answer the database error. */
void conn_tx_fail(request *r, sl_err e, const sl_errbuf *eb);
/* Write the audit row (details stolen) inside the transaction; non-zero
 * after rolling back and answering 500 when it fails. */
int conn_audit(request *r, const conn_kind *k, const char *action, const char *id,
               json_t *details);
/* Commit; non-zero after answering a database error. */
int conn_commit(request *r);

/* A JSON array of the text in a json-array column (NULL/invalid: []). */
json_t *conn_json_array_col(PGresult *res, int i, int col);

/* Why row id of k cannot be deleted because pipelines refer to it (a
 * message naming them), NULL when none do, or "" after answering a
 * database error (the open transaction, if any, rolled back). */
const char *conn_pipelines_refusal(request *r, const conn_kind *k, const char *id);

/* Add {from, to} (both stolen) under changes[field] when they differ. */
void conn_change(json_t *changes, const char *field, json_t *from, json_t *to);

/* Problem detail for a failed API change, and the field check for unknown
 * members: every member of body not in allowed (NULL-terminated) gets
 * "unknown field", or "read-only field" when it is in readonly. */
void conn_json_unknown(const json_t *body, const char *const *allowed,
                       const char *const *readonly, json_t *errors);

/* --- shared handlers ----------------------------------------------------------------- */

/* A row of a query on cols as JSON (a new reference). */
typedef json_t *(*conn_row_fn)(request *r, PGresult *res, int i);

/* What the shared handlers below need beyond conn_kind: the resource's
 * columns, page names and row views. Every string is a trusted constant. */
typedef struct {
    const conn_kind *k;
    const char *cols;     /* SELECT list: CONN_COLS and the resource's own columns */
    const char *title;    /* "Sources": the list page's title */
    const char *section;  /* "sources": nav section and template folder */
    const char *var;      /* "s": the row's name in the show and delete templates */
    conn_row_fn page_row; /* the row as the console shows it */
    conn_row_fn api_row;  /* the row as the API returns it */
} conn_view;

/* Delete row id: 0 deleted and committed (*name set), 1 refused (*why
 * set, rolled back), -1 answered. */
typedef int (*conn_delete_fn)(request *r, const char *id, const char **name, const char **why);

/* Why row 0 of res (v->cols) cannot be deleted, NULL when it can, or ""
 * after answering an error. */
typedef const char *(*conn_refusal_fn)(request *r, PGresult *res);

/* GET <path>: the list page (answers). */
void conn_list_handler(request *r, const conn_view *v);
/* GET <path>/{id}: the detail page (answers). */
void conn_show_page(request *r, const conn_view *v);
/* GET <path>/{id}/delete: the confirmation, or the refusal refusal() gives
 * (answers). */
void conn_delete_form(request *r, const conn_view *v, conn_refusal_fn refusal);
/* POST <path>/{id}/delete: delete with del; a refusal shows the delete page
 * again with 409, success redirects to the list (answers). */
void conn_delete_handler(request *r, const conn_view *v, conn_delete_fn del);
/* GET /api/v1<path>/{id} (answers). */
void conn_get_api(request *r, const conn_view *v);
/* DELETE /api/v1<path>/{id} with del: 204, 409 refused (answers). */
void conn_delete_api(request *r, const conn_view *v, conn_delete_fn del);
/* Answer a stored change with row id as it now is (201 adds Location). */
void conn_answer_row(request *r, const conn_view *v, int status, const char *id);

/* Answer an API store's outcome rc (0 stored, 1 invalid, -1 answered
 * already): 422 "the <object> was not <verb>" with errors, or row id as it
 * now is with status (201 adds Location). errors is stolen. */
void conn_api_stored(request *r, const conn_view *v, int rc, const char *verb, json_t *errors,
                     int status, const char *id);

/* Inside the open transaction, delete row 0 of res (v->cols, locked) and
 * audit "<object>.delete" with its name, type, host and database plus the
 * members of extra (stolen; may be NULL), then commit. 0 done; 1 a foreign
 * key refused it (*why = in_use, rolled back); -1 answered. */
int conn_delete_row(request *r, const conn_kind *k, PGresult *res, const char *in_use,
                    json_t *extra, const char **why);

#endif
