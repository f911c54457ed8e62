/* copytext.h - PostgreSQL COPY text format: split a row into fields, decode
 * and encode field escapes, turn a row into a JSON object and back.
 *
 * Rows travel between databases as COPY text and are passed through
 * untouched; only a few fields (the watermark, dead letters, raw mode) are
 * ever looked into, with these functions. A row is the bytes one COPY TO
 * STDOUT row delivers: fields separated by tabs, "\N" for NULL, ending in
 * "\n" (the newline is optional here). Nothing here allocates except into
 * the sbuf it is given. */
#ifndef SL_COPYTEXT_H
#define SL_COPYTEXT_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "sbuf.h"

/* One field of a row, still escaped: p points into the row. */
typedef struct {
    const char *p;
    size_t len;
    int null;   /* the field is exactly \N */
} ct_field;

/* Split row (len bytes, a trailing "\n" ignored) into fields. Stores at
 * most max fields in f (f may be NULL when max is 0) and returns how many
 * fields the row has (which may exceed max). A row of zero bytes has one
 * empty field, as COPY reads it. */
int ct_split(const char *row, size_t len, ct_field *f, int max);

/* Field number i (0-based) of row into *out. Returns 0, or -1 when the row
 * has fewer fields. */
int ct_field_at(const char *row, size_t len, int i, ct_field *out);

/* Append field f's value with escapes decoded (\b \f \n \r \t \v \\,
 * octal \ooo, hex \xhh, any other \c is c; a lone backslash at the end is
 * dropped, as the server does) to b. A NULL field appends nothing.
 * SL_ETOOBIG when b's cap is reached. */
sl_err ct_decode(const ct_field *f, sbuf *b);

/* Append n bytes of s as one COPY text field (backslash, \b \f \n \r \t
 * \v escaped; other bytes as they are) to b. SL_ETOOBIG at b's cap. */
sl_err ct_encode(const char *s, size_t n, sbuf *b);

/* What a column's values look like in JSON (ct_row_json). */
enum ct_kind {
    CT_TEXT = 0, /* a JSON string */
    CT_NUMBER,   /* a JSON number when the text is one (not NaN/Infinity), else a string */
    CT_BOOL,     /* t / f as true / false, else a string */
    CT_JSON      /* the value itself when it is valid JSON, else a string */
};

/* Append row as a JSON object {"name": value, ...} to out: names[i] names
 * field i; kinds (NULL: every column CT_TEXT) says how values are written;
 * NULL fields are null. Fields beyond ncols are ignored and missing ones
 * are null. Strings are valid UTF-8 JSON: invalid bytes and NUL become
 * U+FFFD (so the text always loads into jsonb). SL_ETOOBIG at out's cap;
 * scratch is working space (cleared here, its cap bounds one value). */
sl_err ct_row_json(const char *row, size_t len, const char *const *names,
                   const enum ct_kind *kinds, int ncols, sbuf *scratch, sbuf *out);

/* Append a JSON string (quoted, escaped as ct_row_json does) for n bytes
 * of s to out. SL_ETOOBIG at out's cap. */
sl_err ct_json_string(const char *s, size_t n, sbuf *out);

/* The reverse of ct_row_json for the columns names[0..ncols): append one
 * COPY text row (with its "\n") to out, taking obj[names[i]]: a missing key
 * or null is \N, a string its text, any other value its compact JSON text
 * (true, 12.5, {"a":1}). SL_EINVAL when obj is not an object, SL_ETOOBIG
 * at out's cap. */
sl_err ct_row_from_json(const json_t *obj, const char *const *names, int ncols, sbuf *out);

#endif
