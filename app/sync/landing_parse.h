/* landing_parse.h - reading landing files: column types and the checks a
 * value must pass, type inference, column names, CSV (libcsv) and JSON
 * Lines (jansson) records, and turning a record into one COPY text row.
 *
 * Nothing here touches a database: landing_load.c drives these over a file
 * on disk, streaming (memory is bounded by the longest record, never by the
 * file). Three files implement it: landing_types.c (types, values, names,
 * inference, rows), landing_csv.c (CSV), landing_jsonl.c (JSON Lines).
 *
 * Types (a zone's declared columns, or inferred):
 *   int          -2147483648..2147483647, optional sign, no fraction
 *   bigint       the 64-bit range, the same form
 *   numeric      [+-]digits[.digits][e[+-]digits] (also ".5", "5."); no NaN/Infinity
 *   boolean      true/false, t/f, yes/no, y/n, on/off, 1/0 (any case) -> t / f
 *   date         YYYY-MM-DD, a real calendar day, years 0001-9999
 *   timestamptz  YYYY-MM-DD[T or space]HH:MM[:SS[.fraction]] with an optional Z or
 *                +HH[:MM] / -HHMM offset; without one the time is UTC
 *   text         any valid UTF-8 without NUL bytes
 *   jsonb        one JSON value
 * Every value must be valid UTF-8 without NUL. Around the value of a
 * non-text type, spaces are ignored, and an empty value is NULL. In CSV an
 * empty unquoted field is NULL and a quoted empty one ("") is the empty
 * text.
 *
 * Inference: a first pass over the file keeps, per column, the types every
 * non-empty value fits and picks the first of bigint, numeric, boolean,
 * date, timestamptz, else text. Integers with a leading zero ("007") stay
 * text (codes, not numbers), as does a column with no value at all; 1/0
 * make bigint, not boolean. In JSON Lines: numbers are bigint / numeric,
 * true/false boolean, strings date / timestamptz / text, and a column
 * with any object or array is jsonb. */
#ifndef SL_LANDING_PARSE_H
#define SL_LANDING_PARSE_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "sbuf.h"
#include "sync/copytext.h"

/* ---- types (landing_types.c) ------------------------------------------------ */

typedef enum {
    LT_TEXT = 0,
    LT_INT,
    LT_BIGINT,
    LT_NUMERIC,
    LT_BOOL,
    LT_DATE,
    LT_TIMESTAMPTZ,
    LT_JSONB,
    LT_ANY          /* an existing column of another type: only UTF-8 is checked here,
                     * the destination judges the rest */
} lp_type;

/* A declared type name (int, integer, bigint, numeric, boolean, bool,
 * date, timestamptz, text, jsonb; any case) into *out. 0, or -1 when the
 * name is unknown. */
int lp_type_parse(const char *name, lp_type *out);
/* The name people read ("bigint"). */
const char *lp_type_name(lp_type t);
/* The SQL type a new table gets ("integer", "timestamp with time zone"). */
const char *lp_type_sql(lp_type t);
/* The checks for an existing column, from its format_type() text:
 * integer/smallint -> int, bigint, numeric(...)/real/double precision ->
 * numeric, boolean, date, timestamp[tz] -> timestamptz, text/varchar/char
 * -> text, json/jsonb -> jsonb, anything else LT_ANY. */
lp_type lp_type_of_pg(const char *format_type);
/* How raw mode writes a column of type t in JSON. */
enum ct_kind lp_type_kind(lp_type t);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points
 * past U+10FFFF) without NUL bytes. */
int lp_utf8_ok(const char *s, size_t n);

/* ---- fields and values -------------------------------------------------------- */

enum lp_kind {
    LP_NULL = 0,  /* CSV: empty and unquoted; JSON: null or a missing key */
    LP_TEXT,      /* CSV: the field's bytes; JSON: a string, decoded (raw: with quotes) */
    LP_JNUMBER,   /* JSON number: p is its text */
    LP_JBOOL,     /* JSON true / false: p is "true" / "false" */
    LP_JCOMPOSITE /* JSON object or array: p is its text */
};

/* One value of a record. For JSON, raw/raw_n is the value's JSON text
 * (for LP_TEXT, the quoted string; for the others the same as p). */
typedef struct {
    enum lp_kind kind;
    const char *p;
    size_t n;
    const char *raw;
    size_t raw_n;
} lp_field;

/* Check f as a value of type t and append it as one COPY text field (or
 * \N) to out. Returns NULL when it fits, else why not ("is not an
 * integer", "is out of range for int", "is not valid UTF-8", ...: a
 * static phrase about the value) and out is left as it was. A value past
 * out's cap is "is too long". */
const char *lp_value_copy(lp_type t, const lp_field *f, sbuf *out);

/* ---- names ------------------------------------------------------------------ */

/* A safe column name for s[0..n): ASCII letters lower-cased, digits kept,
 * every run of anything else one '_', no '_' at either end, "c_" before a
 * leading digit, at most 63 bytes; "column_<pos>" (pos 1-based) when
 * nothing is left. In a. */
char *lp_ident(arena *a, const char *s, size_t n, int pos);
/* Make names[0..n) distinct (and distinct from _sluice_file_id,
 * _sluice_line and _sluice_loaded_at): a repeat gets "_2", "_3", ...
 * (the first free one). Names replaced are new strings in a. */
void lp_dedupe(arena *a, char **names, int n);

/* ---- inference ---------------------------------------------------------------- */

typedef struct {
    unsigned cand;   /* the types every value so far fits (bits of lp_type) */
    int values;      /* non-NULL values seen */
    int composite;   /* a JSON object or array was seen */
} lp_infer;

void lp_infer_init(lp_infer *s);
/* Account for one value. */
void lp_infer_add(lp_infer *s, const lp_field *f);
/* The column's type (see the top of this file). */
lp_type lp_infer_type(const lp_infer *s);

/* ---- rows ------------------------------------------------------------------- */

/* Why a record did not become a row: col is the 0-based column (-1 for
 * the record as a whole), why a static phrase. */
typedef struct {
    int col;
    const char *why;
    int nfields;     /* col == -1: how many fields the record has */
} lp_bad;

/* Append fields f[0..nf) as values of types[0..ncols) to out, each field
 * separated by a tab, without the final newline. The record must have
 * exactly ncols fields. Returns 0, or -1 with *bad filled and out as it
 * was. */
int lp_row_copy(const lp_type *types, int ncols, const lp_field *f, int nf, sbuf *out,
                lp_bad *bad);

/* ---- CSV (landing_csv.c) ------------------------------------------------------- */

#define LCSV_FIELD_MAX ((size_t)64 << 20)  /* one field; more is fatal (an unclosed quote?) */
#define LCSV_ROW_MAX ((size_t)64 << 20)    /* one record's fields together */
#define LCSV_FIELDS_MAX 4096               /* fields of one record */

/* A record: line is the physical line (1-based, counting "\n") where it
 * starts; error, when not NULL, says why it is malformed (its fields are
 * then what could be read, possibly none). Return non-zero to stop. */
typedef int (*lcsv_record_fn)(void *arg, long long line, const lp_field *f, int nf,
                              const char *error);

typedef struct lcsv lcsv;

/* A CSV reader with delimiter delim and quote character quote, handing
 * records to fn. CSV_STRICT is off (a stray quote inside a field is
 * kept), spaces are data, an empty unquoted field is NULL, quoted fields
 * may hold delimiters and newlines ("" is a quote), lines end in LF or
 * CRLF, a UTF-8 byte order mark at the start is skipped and empty lines
 * are skipped. The caller frees it with lcsv_free. */
lcsv *lcsv_new(char delim, char quote, lcsv_record_fn fn, void *arg);
/* Feed the next n bytes of the file. SL_OK; SL_ETOOBIG when a field passed
 * LCSV_FIELD_MAX (the file cannot be read on: *fatal says why and the
 * line); SL_ECONFLICT when fn asked to stop. */
sl_err lcsv_feed(lcsv *x, const char *buf, size_t n, sl_errbuf *fatal);
/* The end of the file: the last record (without its newline), or a
 * record whose quote never closes (handed over with an error). Same
 * returns as lcsv_feed. */
sl_err lcsv_finish(lcsv *x, sl_errbuf *fatal);
/* Lines read so far (the physical line the reader is on). */
long long lcsv_line(const lcsv *x);
void lcsv_free(lcsv *x);

/* ---- JSON Lines (landing_jsonl.c) ------------------------------------------------ */

#define LJ_LINE_MAX ((size_t)64 << 20)     /* one line */
#define LJ_MEMBERS_MAX 4096                /* keys of one object */

/* A line (without "\n" or a final "\r"): line number (1-based), bytes;
 * too_long set when it passed LJ_LINE_MAX (p then holds its start).
 * Blank lines are not handed over. Return non-zero to stop. */
typedef int (*lj_line_fn)(void *arg, long long line, const char *p, size_t n, int too_long);

typedef struct lj_reader lj_reader;

/* A line splitter (a UTF-8 byte order mark at the start is skipped). */
lj_reader *lj_new(lj_line_fn fn, void *arg);
/* Feed bytes; SL_ECONFLICT when fn asked to stop. */
sl_err lj_feed(lj_reader *x, const char *buf, size_t n);
/* The last line, when the file does not end in a newline. */
sl_err lj_finish(lj_reader *x);
void lj_free(lj_reader *x);

/* One key of an object: its name decoded (in a) and its value. */
typedef struct {
    const char *key;
    size_t key_n;
    lp_field v;
} lj_member;

/* Split the JSON text line[0..n) into the members of one object (up to
 * max into m, decoded strings in a). Returns how many, or -1 with *why
 * set: "is not valid JSON (<jansson's message>)", "is not a JSON object",
 * "has a key twice", "has more than 4096 keys". *why lives in a. */
int lj_object(arena *a, const char *line, size_t n, lj_member *m, int max, const char **why);

#endif
