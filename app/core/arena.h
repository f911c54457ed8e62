/* arena.h - region allocator with cleanups, after nginx pools.
 *
 * An arena hands out memory that lives until arena_reset() or arena_free().
 * Non-memory resources (PGresult, json_t, fds) register a cleanup that runs,
 * last registered first, on reset and free. Allocation failure aborts the
 * process with a message (the pool master respawns a worker): callers never
 * check for NULL. */
#ifndef SL_ARENA_H
#define SL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

/* A new arena whose blocks are at least block_size bytes (0: 16 KiB).
 * The caller frees it with arena_free(). */
arena *arena_new(size_t block_size);

/* Run cleanups and release every block. NULL is fine. */
void arena_free(arena *a);

/* Run cleanups and forget every allocation; keeps the first block. */
void arena_reset(arena *a);

/* n bytes aligned for any type; never NULL. */
void *arena_alloc(arena *a, size_t n);
/* As arena_alloc, zeroed. */
void *arena_calloc(arena *a, size_t count, size_t size);

/* Copies that live in the arena. arena_strndup stops at n bytes or a NUL. */
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_memdup(arena *a, const void *p, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena *a, const char *fmt, va_list ap);

/* Register fn(ptr) to run at the next reset or free. */
void arena_cleanup(arena *a, void (*fn)(void *), void *ptr);

/* Bytes handed out since the last reset (for tests and metrics). */
size_t arena_used(const arena *a);

/* Heap allocation that aborts on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Print a message and abort: for allocation failure and broken invariants. */
void sl_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
