/* form.h - urlencoded form bodies and cookies.
 *
 * form_parse() reads the body (application/x-www-form-urlencoded) into the
 * request arena once; form_get() looks fields up. Values are decoded and
 * free of NUL and control characters other than tab, CR and LF. */
#ifndef SL_FORM_H
#define SL_FORM_H

#include "http.h"

/* Enough for a pipeline's tables form: ~9 fields per table, 500 tables.
 * The field table is one arena allocation per parsed form (128 KiB). */
#define FORM_MAX_FIELDS 8192

/* Parse the request body as a urlencoded form. SL_EUNSUPPORTED for another
 * content type, SL_EPARSE for a bad escape or too many fields, SL_ETOOBIG
 * past the route's body limit. Idempotent. */
sl_err form_parse(request *r, sl_errbuf *eb);
/* A field's value (first occurrence), or NULL. */
const char *form_get(request *r, const char *name);
/* A field's value with surrounding white space trimmed; "" when missing. */
const char *form_str(request *r, const char *name);
/* 1 when a checkbox-style field is present and not "0"/"off"/"false". */
int form_bool(request *r, const char *name);

/* A cookie's value from the Cookie header, or NULL. */
const char *cookie_get(const request *r, const char *name);
/* Set a cookie: Path=/, HttpOnly, SameSite=Lax, Secure behind https.
 * max_age < 0: a session cookie; 0: delete it. */
void cookie_set(request *r, const char *name, const char *value, long max_age);

#endif
