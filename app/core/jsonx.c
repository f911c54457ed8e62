/* jsonx.c - small helpers over jansson (see jsonx.h): parse into an arena,
 * dump into an arena, and typed getters with defaults. */
#include "jsonx.h"

#include <stdlib.h>
#include <string.h>

static void decref_cb(void *p)
{
    json_decref((json_t *)p);
}

json_t *jsonx_own(arena *a, json_t *v)
{
    if (a && v)
        arena_cleanup(a, decref_cb, v);
    return v;
}

json_t *jsonx_parse(arena *a, sl_errbuf *eb, const char *buf, size_t len)
{
    json_error_t err;
    if (!buf && len) {
        sl_fail(eb, SL_EINVAL, "no JSON input");
        return NULL;
    }
    json_t *v = json_loadb(buf ? buf : "", len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!v) {
        sl_fail(eb, SL_EPARSE, "invalid JSON at line %d, column %d: %s", err.line, err.column,
                err.text);
        return NULL;
    }
    return jsonx_own(a, v);
}

char *jsonx_dump(arena *a, const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!s)
        return arena_strdup(a, "null");
    char *r = arena_strdup(a, s);
    free(s);
    return r;
}

const char *jsonx_str(const json_t *obj, const char *key, const char *def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

long long jsonx_int(const json_t *obj, const char *key, long long def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int jsonx_bool(const json_t *obj, const char *key, int def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}
