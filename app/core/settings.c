/* settings.c - typed reads of sluice.settings with defaults (see
 * settings.h). One query per settings_get; callers that read several
 * fields of one row read the object once and use settings_obj_*. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "jsonx.h"
#include "log.h"
#include "settings.h"

sl_err settings_get(db *d, arena *a, const char *key, json_t **out, sl_errbuf *eb)
{
    *out = NULL;
    if (!key || !*key)
        return sl_fail(eb, SL_EINVAL, "settings: no key");
    char *text = NULL;
    sl_err e = db_query_value(d, a, eb, &text,
                              "SELECT value::text FROM sluice.settings WHERE key = $1", 1,
                              (const char *[]){key});
    if (e == SL_ENOTFOUND || (!e && !text))
        return sl_fail(eb, SL_ENOTFOUND, "settings: no row '%s'", key);
    if (e)
        return e;
    json_t *v = jsonx_parse(a, NULL, text, strlen(text));
    if (!json_is_object(v))
        return sl_fail(eb, SL_ENOTFOUND, "settings: '%s' is not a JSON object", key);
    *out = v;
    return SL_OK;
}

long long settings_obj_int(const json_t *obj, const char *field, long long def, long long min,
                           long long max)
{
    const json_t *v = json_is_object(obj) && field ? json_object_get(obj, field) : NULL;
    long long n;
    if (json_is_integer(v)) {
        n = (long long)json_integer_value(v);
    } else if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x) || x != floor(x) || x < (double)LLONG_MIN || x >= (double)LLONG_MAX)
            return def;
        n = (long long)x;
    } else {
        return def;
    }
    return n < min || n > max ? def : n;
}

int settings_obj_bool(const json_t *obj, const char *field, int def)
{
    return json_is_object(obj) && field ? jsonx_bool(obj, field, def) : def;
}

/* The row, or NULL (a database error is logged). */
static json_t *row(db *d, arena *a, const char *key)
{
    json_t *obj = NULL;
    sl_errbuf eb = {0};
    sl_err e = settings_get(d, a, key, &obj, &eb);
    if (e && e != SL_ENOTFOUND)
        log_warn("settings: could not read '%s' (using defaults): %s", key, eb.msg);
    return obj;
}

long long settings_int_range(db *d, const char *key, const char *field, long long def,
                             long long min, long long max)
{
    arena *a = arena_new(0);
    json_t *obj = row(d, a, key);
    long long n = settings_obj_int(obj, field, def, LLONG_MIN, LLONG_MAX);
    if (n < min || n > max) {
        log_warn("settings: %s.%s = %lld is outside %lld..%lld; using %lld", key, field, n, min,
                 max, def);
        n = def;
    }
    arena_free(a);
    return n;
}

long long settings_int(db *d, const char *key, const char *field, long long def)
{
    return settings_int_range(d, key, field, def, LLONG_MIN, LLONG_MAX);
}

int settings_bool(db *d, const char *key, const char *field, int def)
{
    arena *a = arena_new(0);
    int b = settings_obj_bool(row(d, a, key), field, def);
    arena_free(a);
    return b;
}

int settings_feature(db *d, const char *name)
{
    return settings_bool(d, "features", name, 1);
}
