/* err.c - error codes to text, and the failf-style error buffer. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *sl_strerror(sl_err code)
{
    switch (code) {
    case SL_OK: return "ok";
    case SL_EINVAL: return "invalid input";
    case SL_ETOOBIG: return "too large";
    case SL_ENOTFOUND: return "not found";
    case SL_EPARSE: return "parse error";
    case SL_EIO: return "I/O error";
    case SL_EDB: return "database error";
    case SL_EDBDOWN: return "database unavailable";
    case SL_ECONFIG: return "configuration error";
    case SL_EAUTH: return "authentication required";
    case SL_EFORBIDDEN: return "forbidden";
    case SL_ECONFLICT: return "conflict";
    case SL_ETIMEOUT: return "timed out";
    case SL_ECRYPTO: return "cryptographic failure";
    case SL_EUNSUPPORTED: return "not supported";
    case SL_ECHANGED: return "changed unexpectedly";
    case SL_EINTERNAL: return "internal error";
    case SL_ERR_COUNT_: break;
    }
    return "unknown error";
}

sl_err sl_fail(sl_errbuf *eb, sl_err code, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        eb->code = code;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void sl_errbuf_clear(sl_errbuf *eb)
{
    if (eb) {
        eb->code = SL_OK;
        eb->msg[0] = '\0';
    }
}
