/* multipart.h - a push parser for multipart/form-data bodies (RFC 7578 on
 * RFC 2046's framing).
 *
 * Feed it the body in chunks of any size, as they arrive; it calls back with
 * each part's headers (the form field name, the file name, the content
 * type) and then the part's bytes, never buffering a body: memory is the
 * parser struct (about 25 KiB), whatever the size of the upload. Rules:
 *   - delimiters are CRLF "--" boundary; the first one may open the body
 *     without a CRLF before it; anything before it (the preamble) and after
 *     the close delimiter (the epilogue) is ignored;
 *   - after a boundary, transport padding (spaces and tabs) is allowed before
 *     the CRLF; "--" after a boundary closes the body;
 *   - lines end with CRLF: a body whose lines end with a bare LF is refused
 *     (its boundaries are never found, so it ends without a close delimiter,
 *     and a bare LF in part headers is MP_EPARSE);
 *   - part headers are at most MP_HEADER_MAX bytes (MP_EHEADERS beyond) and
 *     may not hold NUL or bare CR/LF; folded lines are unfolded; unknown
 *     headers are ignored;
 *   - Content-Disposition: name and filename as tokens or quoted strings
 *     (backslash escapes \" and \\; other backslashes stay, as old browsers
 *     send Windows paths unescaped); filename* (RFC 5987 / RFC 2231, with
 *     continuations filename*0*, filename*1, ...) in UTF-8 or US-ASCII wins
 *     over filename; one in another charset, with a bad escape or a NUL is
 *     ignored. Names are reported as sent: sanitising is the caller's job;
 *   - at most max_parts parts (MP_ETOOMANY beyond);
 *   - a body that ends before its close delimiter is MP_ETRUNCATED (from
 *     mp_finish).
 * The bytes reported as part data never exceed the bytes fed. */
#ifndef SL_MULTIPART_H
#define SL_MULTIPART_H

#include <stddef.h>

#define MP_BOUNDARY_MAX 70      /* RFC 2046 */
#define MP_HEADER_MAX 8192      /* bytes of one part's header block */
#define MP_MAX_PARTS_DEFAULT 64

typedef enum {
    MP_OK = 0,
    MP_EPARSE,     /* malformed framing or headers */
    MP_EHEADERS,   /* a part's headers exceed MP_HEADER_MAX */
    MP_ETOOMANY,   /* more than max_parts parts */
    MP_ETRUNCATED, /* the body ended before the close delimiter */
    MP_EABORTED,   /* a callback returned non-zero */
} mp_err;

/* One part as its headers describe it. Strings are NUL-terminated and live
 * in the parser until the next part's headers are parsed. */
typedef struct {
    const char *name;         /* the form field's name; "" when none */
    const char *filename;     /* decoded file name; NULL: not a file part */
    const char *content_type; /* "" when the part has none */
    int index;                /* 0 for the first part */
} mp_part;

typedef struct {
    /* A part's headers were read; its data follows. */
    int (*on_part)(void *ud, const mp_part *part);
    /* Some bytes of the current part (n > 0). */
    int (*on_data)(void *ud, const char *p, size_t n);
    /* The current part is complete. */
    int (*on_part_end)(void *ud);
} mp_callbacks;

typedef struct mp_parser mp_parser;

/* Bytes a parser needs (for the caller's allocator). */
size_t mp_parser_size(void);

/* Set up the parser in mem (mp_parser_size() bytes, suitably aligned) for
 * boundary (without the leading "--"). max_parts <= 0 means
 * MP_MAX_PARTS_DEFAULT. Returns the parser, or NULL when the boundary is
 * not 1..70 characters of RFC 2046's bchars (or ends with a space). The
 * caller owns mem; there is nothing to free. */
mp_parser *mp_init(void *mem, const char *boundary, int max_parts, const mp_callbacks *cb,
                   void *ud);

/* Feed the next n bytes of the body. MP_OK, or the first error; after an
 * error every further call returns the same error and calls nothing. */
mp_err mp_feed(mp_parser *p, const char *data, size_t n);

/* The body is over: MP_OK when the close delimiter was seen (the current
 * part was ended then), MP_ETRUNCATED when it was not, or the earlier
 * error. */
mp_err mp_finish(mp_parser *p);

/* Parts whose headers have been parsed so far. */
int mp_parts(const mp_parser *p);

/* Why the parser stopped, for people ("the part headers are larger than
 * 8192 bytes"); static storage. */
const char *mp_strerror(const mp_parser *p);

/* The boundary parameter of a Content-Type header ("multipart/form-data;
 * boundary=xyz", quoted or not) copied into out (MP_BOUNDARY_MAX + 1
 * bytes). 1 on success; 0 when the type is not multipart/form-data or the
 * boundary is missing or invalid. */
int mp_boundary(const char *content_type, char *out);

#endif
