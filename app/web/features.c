/* features.c - feature flags per request and the dispatch-level gate (see
 * features.h).
 *
 * The flags are cached per worker for the request in hand: the cache is
 * keyed by the worker and its served-request count, so the next request
 * reads them again (one small query per request at most, none for public
 * routes that no flag governs). */
#include "features.h"

#include <string.h>

#include "log.h"
#include "router.h"
#include "setcat.h"
#include "settings.h"
#include "worker.h"

#define MAX_FLAGS 16

static struct {
    const struct worker *w;
    unsigned long served;
    int valid;
    int n;
    const char *names[MAX_FLAGS];
    int on[MAX_FLAGS];
} cache;

static const struct {
    const char *flag, *message;
} messages[] = {
    {"quality_checks", "quality checks are turned off"},
    {"landing_zones", "landing zones are turned off"},
    {"audit_log", "the audit log is turned off"},
    {"pipeline_triggers", "triggers are turned off"},
    {"pipeline_versions", "version history is turned off"},
};

const char *features_off_message(const char *flag)
{
    for (size_t i = 0; flag && i < sizeof messages / sizeof messages[0]; i++)
        if (strcmp(messages[i].flag, flag) == 0)
            return messages[i].message;
    return NULL;
}

static void load(request *r)
{
    if (cache.valid && r->w && cache.w == r->w && cache.served == r->w->served)
        return;
    json_t *obj = NULL;
    sl_errbuf eb = {0};
    sl_err e = settings_get(r->db, r->a, "features", &obj, &eb);
    if (e && e != SL_ENOTFOUND)
        log_warn("features: could not read the flags (all on): %s", eb.msg);
    size_t n;
    const setcat_field *f = setcat_fields(&n);
    cache.n = 0;
    for (size_t i = 0; i < n && cache.n < MAX_FLAGS; i++) {
        if (strcmp(f[i].group, "features") != 0)
            continue;
        cache.names[cache.n] = f[i].name;
        cache.on[cache.n] = settings_obj_bool(obj, f[i].name, f[i].def != 0);
        cache.n++;
    }
    cache.w = r->w;
    cache.served = r->w ? r->w->served : 0;
    cache.valid = r->w != NULL;
}

int feature_enabled(request *r, const char *name)
{
    load(r);
    for (int i = 0; name && i < cache.n; i++)
        if (strcmp(cache.names[i], name) == 0)
            return cache.on[i];
    return 1; /* not a flag: nothing turns it off */
}

json_t *features_json(request *r)
{
    load(r);
    json_t *o = json_object();
    for (int i = 0; i < cache.n; i++)
        json_object_set_new(o, cache.names[i], json_boolean(cache.on[i]));
    return o;
}

void features_forget(request *r)
{
    (void)r;
    cache.valid = 0;
}

/* 1 when segment [s, s + n) equals word. */
static int seg_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

const char *features_route_flag(const char *pattern)
{
    if (!pattern || *pattern != '/')
        return NULL;
    const char *p = pattern;
    if (strncmp(p, "/api/v1/", 8) == 0)
        p += 7;
    /* p is "/first/..." */
    const char *first = p + 1;
    size_t first_n = strcspn(first, "/");
    if (first_n >= 7 && strncmp(first, "landing", 7) == 0)
        return "landing_zones";
    if (seg_is(first, first_n, "audit"))
        return "audit_log";
    if (seg_is(first, first_n, "hooks"))
        return "pipeline_triggers";
    int pipelines = seg_is(first, first_n, "pipelines");
    for (const char *s = first; *s;) {
        size_t n = strcspn(s, "/");
        if (seg_is(s, n, "triggers"))
            return "pipeline_triggers";
        if (pipelines && (seg_is(s, n, "versions") || seg_is(s, n, "rollback")))
            return "pipeline_versions";
        if (seg_is(s, n, "quality"))
            return "quality_checks";
        s += n;
        if (*s == '/')
            s++;
    }
    return NULL;
}

int features_gate(request *r)
{
    const char *flag = r->route ? features_route_flag(r->route->pattern) : NULL;
    /* Pages show the flags in their navigation: read them now, before a
     * handler's transaction could fail and make the read fail with it. */
    if (!flag && r->role > ROLE_PUBLIC && !router_is_api(r->route))
        load(r);
    if (!flag || feature_enabled(r, flag))
        return 1;
    http_error(r, 404, features_off_message(flag));
    return 0;
}
