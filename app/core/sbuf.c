/* sbuf.c - bounded growable buffer (see sbuf.h). */
#include "sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(sbuf *b, arena *a, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->a = a;
}

static sl_err grow(sbuf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SL_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SL_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    if (b->a) {
        char *p = arena_alloc(b->a, cap);
        if (b->len)
            memcpy(p, b->ptr, b->len);
        b->ptr = p;
    } else {
        b->ptr = xrealloc(b->ptr, cap);
    }
    b->cap = cap;
    return SL_OK;
}

sl_err sb_append(sbuf *b, const void *p, size_t n)
{
    sl_err e = grow(b, n);
    if (e)
        return e;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return SL_OK;
}

sl_err sb_puts(sbuf *b, const char *s)
{
    return sb_append(b, s, strlen(s));
}

sl_err sb_putc(sbuf *b, char c)
{
    return sb_append(b, &c, 1);
}

sl_err sb_vprintf(sbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SL_EINVAL;
    sl_err e = grow(b, (size_t)n);
    if (e)
        return e;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SL_OK;
}

sl_err sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_err e = sb_vprintf(b, fmt, ap);
    va_end(ap);
    return e;
}

const char *sb_str(const sbuf *b)
{
    return b->ptr ? b->ptr : "";
}

void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void sb_free(sbuf *b)
{
    if (!b->a)
        free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}
