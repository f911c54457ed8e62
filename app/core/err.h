/* err.h - the project's one error enum, and an error buffer for details.
 *
 * Functions return sl_err (0 = SL_OK). Human-readable details go into an
 * sl_errbuf the caller passes (may be NULL), filled with sl_fail(). */
#ifndef SL_ERR_H
#define SL_ERR_H

#include <stddef.h>

typedef enum {
    SL_OK = 0,        /* success */
    SL_EINVAL,        /* invalid argument or input */
    SL_ETOOBIG,       /* a size cap was exceeded */
    SL_ENOTFOUND,     /* the thing asked for does not exist */
    SL_EPARSE,        /* input could not be parsed */
    SL_EIO,           /* file or socket I/O failed (errno in the details) */
    SL_EDB,           /* the database answered with an error */
    SL_EDBDOWN,       /* the database cannot be reached */
    SL_ECONFIG,       /* configuration is invalid */
    SL_EAUTH,         /* not authenticated */
    SL_EFORBIDDEN,    /* authenticated but not allowed */
    SL_ECONFLICT,     /* conflicts with current state (unique key, version) */
    SL_ETIMEOUT,      /* an operation took too long */
    SL_ECRYPTO,       /* a cryptographic operation failed */
    SL_EUNSUPPORTED,  /* valid request, but not supported */
    SL_ECHANGED,      /* something that must not change did (migration checksum) */
    SL_EINTERNAL,     /* a bug: an invariant did not hold */
    SL_ERR_COUNT_     /* number of codes; not an error */
} sl_err;

#define SL_ERRBUF_SIZE 512

typedef struct {
    sl_err code;
    char msg[SL_ERRBUF_SIZE];
} sl_errbuf;

/* Static text for a code; never NULL. */
const char *sl_strerror(sl_err code);

/* Record code and a printf-style message in eb (if not NULL); returns code,
 * so callers can `return sl_fail(eb, SL_EINVAL, "bad %s", what);`. */
sl_err sl_fail(sl_errbuf *eb, sl_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear an error buffer. */
void sl_errbuf_clear(sl_errbuf *eb);

#endif
