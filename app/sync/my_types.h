/* my_types.h - MySQL / MariaDB column types as PostgreSQL types, and their
 * values (as the text protocol delivers them) as PostgreSQL COPY text.
 *
 * The mapping is the README's table ("MySQL / MariaDB sources"); the
 * PostgreSQL type names are written as format_type() prints them, so the
 * destination's drift check sees no change from run to run. */
#ifndef SL_MY_TYPES_H
#define SL_MY_TYPES_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "sbuf.h"
#include "sync/copytext.h"

/* How a value's text becomes a COPY field. */
enum myt_conv {
    MYT_TEXT,      /* the text, COPY-escaped (strings, enum, json, time, uuid, ...) */
    MYT_NUMBER,    /* digits and signs as they are (integers, decimal, year, float) */
    MYT_BOOL,      /* tinyint(1): 0 is f, anything else t */
    MYT_BYTES,     /* binary strings: bytea hex, \\x0a1b... */
    MYT_DATE,      /* date; a zero or impossible date becomes NULL (noted) */
    MYT_DATETIME,  /* datetime, the same */
    MYT_TIMESTAMP, /* timestamp, read in UTC: the same, with "+00" */
    MYT_SET,       /* 'a,b' becomes the array {a,b} */
    MYT_BIT        /* the value's bytes as a string of n 0s and 1s */
};

typedef struct {
    const char *pg_type;  /* the PostgreSQL type, as format_type() prints it */
    enum myt_conv conv;
    enum ct_kind kind;    /* for raw mode's JSON */
    int bits;             /* bit(n): n */
    int as_double;        /* select as a double: FLOAT's text is rounded to 6 digits */
} myt_type;

/* Map a MySQL COLUMN_TYPE (information_schema's text, e.g. "int(10)
 * unsigned", "decimal(12,2)", "datetime(6)", "set('a','b')", or "json"
 * for MariaDB's JSON columns) to *out. Strings are static or in a. Types
 * it does not know become text. Never fails. */
void myt_map(arena *a, const char *column_type, myt_type *out);

/* Append the value v (n bytes, as the text protocol delivers it; not NULL)
 * of a column of type ty to out as one COPY text field. *changed is set
 * to 1 when the value could not be carried and became NULL (a zero date),
 * else left alone. scratch is working space. SL_ETOOBIG at out's cap. */
sl_err myt_put(const myt_type *ty, const char *v, size_t n, sbuf *out, sbuf *scratch,
               int *changed);

/* Whether v (n bytes) is a date PostgreSQL can hold: YYYY-MM-DD with a
 * year from 1 to 9999 and a day that exists in its month (what follows
 * the date is not looked at). */
int myt_valid_date(const char *v, size_t n);

/* A watermark value (a checkpoint as the destination printed it, or a
 * backfill_from a person typed) as a MySQL expression for a column of
 * PostgreSQL type pg_type, into a: integers as they are (only digits and
 * a sign are accepted); dates as CAST('YYYY-MM-DD' AS DATE); date-times
 * ("YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]", an optional zone Z / +HH /
 * +HH:MM) as CAST('...' AS DATETIME(6)), the zone applied for timestamptz
 * columns (CONVERT_TZ to UTC) and ignored otherwise, as PostgreSQL does.
 * NULL when the text is not such a value. */
const char *myt_literal(arena *a, const char *pg_type, const char *text);

#endif
