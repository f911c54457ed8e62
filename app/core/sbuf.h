/* sbuf.h - bounded, growable byte buffer (after curl's dynbuf).
 *
 * Every buffer has a cap set at init; growing past it fails with
 * SL_ETOOBIG and leaves the contents as they were. Memory comes from an
 * arena (freed with it) or, when the arena is NULL, from the heap
 * (sb_free releases it). The contents are always NUL-terminated. */
#ifndef SL_SBUF_H
#define SL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

typedef struct {
    char *ptr;   /* contents, NUL-terminated; NULL until the first append */
    size_t len;  /* bytes used, not counting the NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* the cap on len */
    arena *a;    /* owner of ptr, or NULL for the heap */
} sbuf;

void sb_init(sbuf *b, arena *a, size_t max);
sl_err sb_append(sbuf *b, const void *p, size_t n);
sl_err sb_puts(sbuf *b, const char *s);
sl_err sb_putc(sbuf *b, char c);
sl_err sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sl_err sb_vprintf(sbuf *b, const char *fmt, va_list ap);
/* Contents as a C string; "" for an empty buffer. Owned by the buffer. */
const char *sb_str(const sbuf *b);
/* Forget the contents, keep the memory. */
void sb_clear(sbuf *b);
/* Release heap memory (no-op for arena buffers). */
void sb_free(sbuf *b);

#endif
