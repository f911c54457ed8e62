// fuzz-sources: app/web/multipart.c
/* fuzz_multipart.c - libFuzzer target for the multipart/form-data push
 * parser (mp_init, mp_feed, mp_finish, mp_boundary).
 *
 * Input: the first line is a Content-Type header; its boundary is used when
 * mp_boundary accepts it, else "XyZ". The next two bytes seed the chunk
 * sizes; the rest is the body. Invariants beyond memory safety:
 *   - the bytes reported as part data never exceed the body's bytes;
 *   - feeding the body in random chunks (1 byte to all of it) gives exactly
 *     the events and the verdict of feeding it at once (names, file names,
 *     content types, data, part ends, the error);
 *   - at most max_parts parts; part strings are NUL-terminated and shorter
 *     than the header limit;
 *   - after an error, feeding more calls nothing and returns the same error.
 * Build and run through tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 8

/* A running digest of the events (FNV-1a over a tagged stream), and the
 * bytes of data seen. */
typedef struct {
    uint64_t h;
    size_t data_bytes;
    int parts, ends, open, after_error;
} trace;

static void mix(trace *t, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        t->h ^= s[i];
        t->h *= 1099511628211ULL;
    }
}

static void mix_str(trace *t, const char *s)
{
    size_t n = strlen(s);
    if (n >= MP_HEADER_MAX)
        abort();
    mix(t, s, n + 1);
}

static int on_part(void *ud, const mp_part *part)
{
    trace *t = ud;
    if (t->after_error || t->open)
        abort();
    t->open = 1;
    t->parts++;
    mix(t, "P", 1);
    mix_str(t, part->name);
    mix_str(t, part->filename ? part->filename : "\x01none");
    mix_str(t, part->content_type);
    if (part->index != t->parts - 1)
        abort();
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    trace *t = ud;
    if (t->after_error || !t->open || n == 0)
        abort();
    /* Data is hashed per byte, so how it is chunked does not matter. */
    mix(t, p, n);
    t->data_bytes += n;
    return 0;
}

static int on_end(void *ud)
{
    trace *t = ud;
    if (t->after_error || !t->open)
        abort();
    t->open = 0;
    t->ends++;
    mix(t, "E", 1);
    return 0;
}

static const mp_callbacks CB = {on_part, on_data, on_end};

static mp_err parse(const char *boundary, const char *body, size_t n, unsigned seed, trace *t)
{
    static _Alignas(max_align_t) char mem[64 * 1024];
    if (mp_parser_size() > sizeof mem)
        abort();
    memset(t, 0, sizeof *t);
    t->h = 14695981039346656037ULL;
    mp_parser *p = mp_init(mem, boundary, MAX_PARTS, &CB, t);
    if (!p)
        abort();
    size_t at = 0;
    mp_err e = MP_OK;
    unsigned x = seed * 2654435761u + 1;
    while (at < n && e == MP_OK) {
        size_t chunk = n - at;
        if (seed) {
            x = x * 1103515245u + 12345u;
            chunk = 1 + (x >> 8) % (x & 0x100 ? 7 : 4096);
            if (chunk > n - at)
                chunk = n - at;
        }
        e = mp_feed(p, body + at, chunk);
        at += chunk;
    }
    mp_err f = mp_finish(p);
    if (e != MP_OK && f != e)
        abort(); /* errors stick */
    if (e == MP_OK)
        e = f;
    if (e != MP_OK) {
        t->after_error = 1;
        if (mp_feed(p, "--XyZ\r\n\r\nx", 10) != e || !mp_strerror(p)[0])
            abort();
        t->after_error = 0;
    }
    if (mp_parts(p) > MAX_PARTS || t->parts > mp_parts(p))
        abort();
    if (t->data_bytes > n)
        abort();
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t ctlen = nl ? (size_t)(nl - in) : 0;
    char ct[256], boundary[MP_BOUNDARY_MAX + 1] = "XyZ";
    if (nl && ctlen < sizeof ct) {
        memcpy(ct, in, ctlen);
        ct[ctlen] = '\0';
        char b[MP_BOUNDARY_MAX + 1];
        if (mp_boundary(ct, b)) {
            size_t bn = strlen(b);
            if (bn < 1 || bn > MP_BOUNDARY_MAX)
                abort();
            memcpy(boundary, b, bn + 1);
        }
    }
    size_t off = nl ? ctlen + 1 : 0;
    unsigned seed = 0;
    if (size - off >= 2) {
        seed = (unsigned)(unsigned char)in[off] | (unsigned)(unsigned char)in[off + 1] << 8;
        off += 2;
    }
    trace whole, chunked;
    mp_err a = parse(boundary, in + off, size - off, 0, &whole);
    mp_err b = parse(boundary, in + off, size - off, seed | 1, &chunked);
    if (a != b || whole.h != chunked.h || whole.data_bytes != chunked.data_bytes ||
        whole.parts != chunked.parts || whole.ends != chunked.ends)
        abort();
    return 0;
}
