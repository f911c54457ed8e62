/* idlist.h - filtered, newest-first lists keyed by a snowflake id and paged
 * by keyset, on a console page (?before= / ?after=) and in the API (?limit=
 * and an opaque ?cursor=): the plumbing auditlog.c and events.c share.
 *
 * Every query takes the resource's five filter parameters as $1..$5; the
 * id cursor is $6 and the row limit $7. Everything returned lives in the
 * request arena unless said otherwise. */
#ifndef SL_IDLIST_H
#define SL_IDLIST_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"

/* What differs between the lists. Every string is a trusted constant
 * (pasted into SQL). */
typedef struct {
    const char *select_sql; /* "SELECT id::text, ... FROM <table> WHERE": id first */
    const char *table;      /* "sluice.audit_log" */
    const char *filter_sql; /* the WHERE conditions over $1..$5 */
    const char *id_what;    /* "an audit entry id": cursor error messages */
    int page;               /* rows per console page */
} idlist_kind;

/* The paging half of a parsed filter. */
typedef struct {
    const char *before, *after; /* cursors (decimal ids) or NULL */
    long long limit;
    const char *sql[5];         /* $1..$5; NULL when a filter is not in use */
} idlist_query;

typedef json_t *(*idlist_row_fn)(request *r, PGresult *res, int i);
/* The page's link keeping the filters, with cursor=id when cursor is not
 * NULL; f is the caller's filter. */
typedef const char *(*idlist_link_fn)(request *r, const void *f, const char *cursor,
                                      const char *id);

/* Query parameter name, trimmed; "" when absent (errors[name] when it is
 * repeated or malformed). */
const char *idlist_text(request *r, const char *name, json_t *errors);
/* errors[field] unless v is UTF-8 text of at most max characters without
 * control characters. */
void idlist_check_text(request *r, const char *v, long max, const char *field, json_t *errors);
/* Whether s is a positive 64-bit integer (an id). */
int idlist_id_ok(const char *s);
/* s with LIKE's wildcards and escape character escaped (backslash). */
char *idlist_like_escape(arena *a, const char *s);
/* v (not "") as an exact match (*exact = v) or, ending in "*" or ".", a LIKE
 * prefix pattern (*pattern; "*" dropped, wildcards escaped). */
void idlist_match(request *r, const char *v, const char **exact, const char **pattern);
/* Check the dates from and to ("" when absent): each YYYY-MM-DD, to not
 * before from; messages for the API or the page. */
void idlist_dates(const char *from, const char *to, int api, json_t *errors);
/* Read the paging parameters into q (limit, sql untouched otherwise): the
 * API's limit and cursor, or the page's before / after. */
void idlist_paging(request *r, const idlist_kind *k, int api, idlist_query *q,
                   json_t *errors);
/* Invalid UTF-8 in any of the n strings *v[i] becomes "" (so the page can
 * show the form with its errors). */
void idlist_blank_invalid(const char **v[], int n);

/* Answer the console page's rows: fill *items (row() of each, newest first)
 * and *pager ({newer, older, newest} links made by link(r, f, ...)), both
 * new references owned by the caller. Non-zero after answering a database
 * error (nothing to free). */
int idlist_page(request *r, const idlist_kind *k, const idlist_query *q, idlist_row_fn row,
                idlist_link_fn link, const void *f, json_t **items, json_t **pager);
/* Answer the API: {items, next_cursor} with row() of each (answers). */
void idlist_api(request *r, const idlist_kind *k, const idlist_query *q, idlist_row_fn row);
/* path?name=value&...&cursor=id with the non-empty values (URL-encoded),
 * or path alone. */
const char *idlist_link(request *r, const char *path, const char *const *names,
                        const char *const *vals, int n, const char *cursor, const char *id);

/* Column col of row i, or NULL when it is NULL. */
const char *idlist_val(PGresult *res, int i, int col);
/* s as a JSON string, or null when s is NULL (a new reference). */
json_t *idlist_str_or_null(const char *s);
/* An ISO timestamp "YYYY-MM-DDTHH:MM:SS..." shown as "YYYY-MM-DD HH:MM:SS". */
const char *idlist_at_shown(request *r, const char *at);

#endif
