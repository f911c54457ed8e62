/* jsonx.h - small helpers over jansson.
 *
 * Values passed in are borrowed unless the name says "steal". Strings
 * returned live in the given arena. */
#ifndef SL_JSONX_H
#define SL_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

/* Parse a buffer (which need not be NUL-terminated); NULL and eb filled
 * (SL_EPARSE, with line/column) on failure. The result is registered on a
 * for decref. */
json_t *jsonx_parse(arena *a, sl_errbuf *eb, const char *buf, size_t len);
/* Compact serialisation into the arena; never NULL. */
char *jsonx_dump(arena *a, const json_t *v);
/* Register v for json_decref on arena reset; returns v. */
json_t *jsonx_own(arena *a, json_t *v);
/* obj[key] as a string, or def when missing or not a string. */
const char *jsonx_str(const json_t *obj, const char *key, const char *def);
/* obj[key] as an integer, or def when missing or not an integer. */
long long jsonx_int(const json_t *obj, const char *key, long long def);
/* obj[key] as a bool (true/false only), or def. */
int jsonx_bool(const json_t *obj, const char *key, int def);

#endif
