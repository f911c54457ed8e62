/* params.h - declared request parameters: checking that a query string
 * holds only the names a handler declares, and strict parsers for the
 * values handlers take from forms, query strings and JSON (integers, dates,
 * UTF-8 text, email addresses), plus URL-encoding for links that carry filters along,
 * and the paging convention every JSON API list follows: ?limit= (1..200,
 * default 50) and ?cursor= (an opaque string the server made), answered as
 * {items, next_cursor}.
 *
 * Nothing here answers the request: checks return a verdict and, where an
 * errors object is given, add { name: message } entries to it for
 * http_problem() or a page's field errors. */
#ifndef SL_PARAMS_H
#define SL_PARAMS_H

#include <jansson.h>

#include "http.h"

/* Add "unknown parameter" to errors for every query-string name of r that
 * is not in declared (a NULL-terminated list), and "bad escape" under the
 * raw name for one that does not decode. Returns how many were added. */
int params_undeclared(const request *r, const char *const *declared, json_t *errors);

/* The decoded value of query parameter name (first occurrence), or NULL
 * when it is absent. A value that is present but does not decode (bad
 * percent-escape, NUL or control character) is NULL too, and adds
 * errors[name] = "bad escape or control character", so it is refused
 * instead of being mistaken for an absent filter. */
const char *params_query(const request *r, const char *name, json_t *errors);

/* Parse s as a decimal integer in [min, max]: optional '-', then digits,
 * nothing else (no spaces, no '+', no empty string). 1 and *out set on
 * success; 0 otherwise (*out untouched). */
int params_int(const char *s, long long min, long long max, long long *out);

/* 1 when s is a calendar date written YYYY-MM-DD (years 0001-9999, months
 * and days that exist, 29 February only in leap years); 0 otherwise. */
int params_date(const char *s);

/* Number of characters (code points) in s, or -1 when s is not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF count as
 * invalid). */
long params_utf8_len(const char *s);

/* 1 when s holds a C0 control character (including tab, CR, LF) or DEL. */
int params_has_control(const char *s);

#define PARAMS_EMAIL_MAX 254 /* bytes */

/* 1 when s looks like an email address: local@domain, exactly one '@', at
 * most PARAMS_EMAIL_MAX bytes of valid UTF-8, no white space, control
 * characters or <>()[],;:"\ , and a domain of dot-separated non-empty labels
 * that do not start or end with '-' ("admin@localhost" is fine); 0 otherwise. */
int params_email(const char *s);

/* s with every byte outside [A-Za-z0-9-_.~] percent-encoded, for use in a
 * query string; lives in a. */
char *params_urlencode(arena *a, const char *s);

/* s without leading and trailing ASCII white space; lives in a (s itself
 * when there is nothing to trim). */
const char *params_trim(arena *a, const char *s);

/* 1 when s is a UTC time written YYYY-MM-DDTHH:MM:SS, optionally with a
 * fraction of 1 to 6 digits, then 'Z' (what the key columns of cursors are
 * printed as, e.g. "2024-05-31T12:34:56.123456Z"); 0 otherwise. */
int params_timestamp(const char *s);

/* --- API paging ---------------------------------------------------------------------- */

#define PARAMS_LIMIT_DEFAULT 50 /* rows in an API page without ?limit= */
#define PARAMS_LIMIT_MAX 200    /* the largest ?limit= */
#define PARAMS_CURSOR_MAX 2048  /* bytes of an encoded cursor */
#define PARAMS_CURSOR_FIELDS 4  /* the most key fields a cursor holds */

/* An opaque page cursor holding the n (1..PARAMS_CURSOR_FIELDS) key fields
 * of a row: base64url without padding of the fields joined by '\n'. The
 * fields must be UTF-8 text without control characters (ids, timestamps,
 * lowercased names), and one field alone must not be empty, or
 * params_cursor_parse refuses the cursor. Lives in a. */
char *params_cursor_make(arena *a, int n, const char *const *fields);

/* Decode a cursor made by params_cursor_make into exactly n fields
 * (fields[i] live in a). 1 on success; 0 when it is empty, longer than
 * PARAMS_CURSOR_MAX, not base64url without padding, holds another number
 * of fields, or a field that is not UTF-8 or holds a control character
 * (fields then untouched). What each field must look like is the caller's
 * business. */
int params_cursor_parse(arena *a, const char *cursor, int n, const char **fields);

/* The paging parameters of an API list (declare "limit" and "cursor" to
 * params_undeclared as well). *limit gets ?limit= (PARAMS_LIMIT_DEFAULT
 * when absent; errors.limit when it is not an integer in
 * 1..PARAMS_LIMIT_MAX). fields[0..n) get ?cursor= decoded by
 * params_cursor_parse and accepted by check (NULL: any fields), or all NULL
 * when there is no cursor; errors.cursor when it is malformed or refused.
 * Returns 1 when a good cursor was given, 0 otherwise. */
int params_page(const request *r, int n, int (*check)(const char *const *fields),
                const char **fields, long long *limit, json_t *errors);

/* The body of an API list page: {"items": items (stolen), "next_cursor":
 * next_cursor, or null when NULL (the last page)}. The caller owns it. */
json_t *params_page_json(json_t *items, const char *next_cursor);

#endif
