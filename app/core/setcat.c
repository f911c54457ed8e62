/* setcat.c - the catalog of editable settings (see setcat.h): one table of
 * fields, their sections, and the checks of values typed into the settings
 * page or sent to PATCH /api/v1/settings.
 *
 * Defaults here agree with the rows the migrations seed (sql/001, 006,
 * 008, 010); the scheduler (app/cli/scheduler.c) and the notifier
 * (app/sync/notify_target.c) read their own fields with the same ranges. */
#include "setcat.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

#define DAYS_MAX 36500 /* a hundred years: as good as "forever" */

static const setcat_section sections[] = {
    {"retention", "Retention",
     "What the reaper keeps. 0 keeps everything of that kind. Pipelines can override the "
     "run and quality limits on their own page.", 0},
    {"scheduler", "Scheduler", "How many runs go at once and how failed runs are retried.", 0},
    {"notifications", "Notifications", "How notifications are sent to every target.", 1},
    {"quality", "Quality checks", "How strict the checks after each table's sync are.", 0},
    {"features", "Feature flags",
     "A feature turned off disappears from the console and its pages and API answer 404. "
     "Nothing is deleted: turning it on again brings everything back.", 0},
};

#define INT_F(g, n, s, lo, hi, d, label, unit, help)                                       \
    {g, n, s, SETCAT_INT, lo, hi, d, NULL, label, unit, help}
#define BOOL_F(g, n, d, label, help) {g, n, g, SETCAT_BOOL, 0, 1, d, NULL, label, NULL, help}

static const setcat_field fields[] = {
    INT_F("retention", "runs_max_per_pipeline", "retention", 0, 1000000, 100,
          "Runs kept per pipeline", "runs", "The newest runs of each pipeline are kept."),
    INT_F("retention", "runs_max_age_days", "retention", 0, DAYS_MAX, 90, "Run age", "days",
          "Finished runs older than this are deleted with their stats and quality results."),
    INT_F("retention", "run_logs_max_age_days", "retention", 0, DAYS_MAX, 30, "Run log age",
          "days", "Log lines older than this are deleted (whole partitions by partition upkeep)."),
    INT_F("retention", "quality_log_max_per_table", "retention", 0, 1000000, 100,
          "Quality results kept per table", "results",
          "The newest quality results of each table of each pipeline are kept."),
    INT_F("retention", "quality_log_max_age_days", "retention", 0, DAYS_MAX, 90,
          "Quality result age", "days", NULL),
    INT_F("retention", "audit_log_max_age_days", "retention", 0, DAYS_MAX, 365, "Audit log age",
          "days", NULL),
    INT_F("retention", "pipelines_purge_after_days", "retention", 0, 3650, 30,
          "Purge deleted pipelines after", "days",
          "A deleted pipeline is removed for good, with its runs, versions and triggers, this "
          "long after it was deleted. 0 never purges."),
    INT_F("scheduler", "stuck_run_timeout_seconds", "retention", 60, 86400, 120,
          "Stuck-run timeout", "seconds",
          "A running run without a heartbeat for this long has failed (scheduler setting)."),
    INT_F("retention", "landing_files_max_age_days", "retention", 0, DAYS_MAX, 30,
          "Processed landing files age", "days",
          "Processed files of landing zones older than this are removed (a zone may say less)."),
    INT_F("retention", "events_max_age_days", "retention", 0, DAYS_MAX, 30, "Event age", "days",
          NULL),
    INT_F("retention", "messages_max_age_days", "retention", 0, DAYS_MAX, 14,
          "Delivered notifications age", "days",
          "Delivered outbox messages older than this are deleted; dead letters stay."),
    INT_F("retention", "login_attempts_max_age_days", "retention", 1, 3650, 1,
          "Sign-in attempts age", "days",
          "Only the last 15 minutes matter for throttling; the audit log keeps sign-ins."),
    INT_F("retention", "reaper_interval_minutes", "retention", 1, 10080, 60,
          "Reaper interval", "minutes", "How often the tick runs the reaper."),
    INT_F("retention", "reaper_batch_size", "retention", 10, 100000, 5000, "Reaper batch size",
          "rows", "Rows deleted per statement: small batches keep locks short."),
    INT_F("retention", "reaper_time_budget_seconds", "retention", 1, 3600, 60,
          "Reaper time budget", "seconds",
          "A run stops after this long and the next tick carries on."),

    INT_F("scheduler", "max_concurrent_runs", "scheduler", 1, 1000, 4, "Runs at once", "runs",
          "Across every host."),
    INT_F("scheduler", "default_max_retries", "scheduler", 0, 20, 3, "Default retries",
          "retries", "For pipelines that do not set their own."),
    INT_F("scheduler", "retry_base_seconds", "scheduler", 1, 86400, 30, "First retry after",
          "seconds", "Doubles with each attempt."),
    INT_F("scheduler", "retry_max_seconds", "scheduler", 1, 604800, 3600, "Longest retry wait",
          "seconds", NULL),

    {"notifications", "telegram_base", "notifications", SETCAT_URL, 0, 500, 0,
     "https://api.telegram.org", "Telegram API base", NULL,
     "Where Telegram messages are sent (change only for a proxy)."},
    BOOL_F("notifications", "allow_private_networks", 0, "Allow private networks",
           "Lets targets on loopback and private addresses be called (off guards against "
           "SSRF)."),
    INT_F("notifications", "max_attempts", "notifications", 1, 100, 8, "Attempts per message",
          "attempts", "Then the message goes to the dead-letter stream."),
    INT_F("notifications", "timeout_seconds", "notifications", 1, 120, 10,
          "Timeout per attempt", "seconds", "Connecting included."),
    INT_F("notifications", "base_backoff_seconds", "notifications", 1, 86400, 10,
          "First retry after", "seconds", "Doubles with each attempt, with jitter."),

    {"quality", "row_count_threshold_pct", "quality", SETCAT_NUM, 0, 100, 0, NULL,
     "Row count tolerance", "%", "0: source and destination counts must agree exactly."},

    BOOL_F("features", "quality_checks", 1, "Quality checks",
           "Row count and NOT NULL checks after each table's sync."),
    BOOL_F("features", "landing_zones", 1, "Landing zones", "File uploads into zones."),
    BOOL_F("features", "audit_log", 1, "Audit log page",
           "Turning it off hides the page and its API; changes are still recorded."),
    BOOL_F("features", "pipeline_triggers", 1, "Triggers",
           "Runs started by upstream pipelines, uploads and webhooks."),
    BOOL_F("features", "pipeline_versions", 1, "Version history",
           "History, diff and rollback; versions are still recorded for concurrency control."),
};

const setcat_field *setcat_fields(size_t *n)
{
    *n = sizeof fields / sizeof fields[0];
    return fields;
}

const setcat_section *setcat_sections(size_t *n)
{
    *n = sizeof sections / sizeof sections[0];
    return sections;
}

const setcat_field *setcat_find(const char *group, const char *name)
{
    for (size_t i = 0; group && name && i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].group, group) == 0 && strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

const setcat_section *setcat_section_find(const char *key)
{
    for (size_t i = 0; key && i < sizeof sections / sizeof sections[0]; i++)
        if (strcmp(sections[i].key, key) == 0)
            return &sections[i];
    return NULL;
}

int setcat_group_known(const char *group)
{
    for (size_t i = 0; group && i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].group, group) == 0)
            return 1;
    return 0;
}

long long setcat_int(const json_t *obj, const char *group, const char *name)
{
    const setcat_field *f = setcat_find(group, name);
    if (!f || f->type != SETCAT_INT)
        sl_panic("setcat_int: %s.%s is not an integer setting of the catalog", group, name);
    return settings_obj_int(obj, name, (long long)f->def, f->min, f->max);
}

/* --- checks --------------------------------------------------------------------------- */

static const char *range_msg(arena *a, const setcat_field *f)
{
    if (f->type == SETCAT_INT)
        return arena_printf(a, "must be a whole number from %lld to %lld", f->min, f->max);
    return arena_printf(a, "must be a number from %lld to %lld", f->min, f->max);
}

static int url_ok(const char *s, long long max)
{
    size_t n = strlen(s);
    if (n == 0 || (long long)n > max)
        return 0;
    const char *rest;
    if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else
        return 0;
    if (!*rest || *rest == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return 0;
    return 1;
}

json_t *setcat_check_json(arena *a, const setcat_field *f, const json_t *v, const char **msg)
{
    *msg = NULL;
    switch (f->type) {
    case SETCAT_BOOL:
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        *msg = "must be true or false";
        return NULL;
    case SETCAT_URL:
        if (json_is_string(v) && url_ok(json_string_value(v), f->max))
            return json_incref((json_t *)v);
        *msg = arena_printf(a, "must be an http:// or https:// URL of at most %lld characters",
                            f->max);
        return NULL;
    case SETCAT_INT:
        if (json_is_integer(v)) {
            json_int_t n = json_integer_value(v);
            if (n >= f->min && n <= f->max)
                return json_integer(n);
        } else if (json_is_real(v)) {
            double x = json_real_value(v);
            if (isfinite(x) && x == floor(x) && x >= (double)f->min && x <= (double)f->max)
                return json_integer((json_int_t)x);
        }
        *msg = range_msg(a, f);
        return NULL;
    case SETCAT_NUM:
        if (json_is_number(v)) {
            double x = json_number_value(v);
            if (isfinite(x) && x >= (double)f->min && x <= (double)f->max)
                return json_is_integer(v) ? json_integer(json_integer_value(v)) : json_real(x);
        }
        *msg = range_msg(a, f);
        return NULL;
    }
    *msg = "unknown kind of setting";
    return NULL;
}

/* s without leading and trailing white space, in a. */
static char *trimmed(arena *a, const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return arena_strndup(a, s, n);
}

json_t *setcat_check_text(arena *a, const setcat_field *f, const char *text, const char **msg)
{
    *msg = NULL;
    if (f->type == SETCAT_BOOL)
        return json_boolean(text && *text && strcmp(text, "0") != 0 && strcmp(text, "off") != 0 &&
                            strcmp(text, "false") != 0);
    const char *s = text ? trimmed(a, text) : "";
    if (!*s) {
        *msg = "enter a value";
        return NULL;
    }
    if (f->type == SETCAT_URL) {
        json_t *v = json_string(s);
        json_t *out = v ? setcat_check_json(a, f, v, msg) : NULL;
        json_decref(v);
        if (!v)
            *msg = "must be valid UTF-8 text";
        return out;
    }
    char *end = NULL;
    errno = 0;
    if (f->type == SETCAT_INT) {
        long long n = strtoll(s, &end, 10);
        if (errno || *end || !(isdigit((unsigned char)*s) || *s == '-') || n < f->min ||
            n > f->max) {
            *msg = range_msg(a, f);
            return NULL;
        }
        return json_integer(n);
    }
    double x = strtod(s, &end);
    if (errno || *end || !(isdigit((unsigned char)*s) || *s == '.') || !isfinite(x) ||
        x < (double)f->min || x > (double)f->max) {
        *msg = range_msg(a, f);
        return NULL;
    }
    return x == floor(x) && fabs(x) < 1e15 ? json_integer((json_int_t)x) : json_real(x);
}

json_t *setcat_value(const setcat_field *f, const json_t *obj)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, f->name) : NULL;
    if (v) {
        arena *a = arena_new(0);
        const char *msg;
        json_t *ok = setcat_check_json(a, f, v, &msg);
        arena_free(a);
        if (ok)
            return ok;
    }
    switch (f->type) {
    case SETCAT_BOOL:
        return json_boolean(f->def != 0);
    case SETCAT_URL:
        return json_string(f->def_text ? f->def_text : "");
    case SETCAT_INT:
        return json_integer((json_int_t)f->def);
    case SETCAT_NUM:
        break;
    }
    return f->def == floor(f->def) ? json_integer((json_int_t)f->def) : json_real(f->def);
}

const char *setcat_check_group(arena *a, const char *group, const json_t *merged,
                               const char **field)
{
    (void)a;
    *field = NULL;
    if (strcmp(group, "scheduler") == 0) {
        long long base = setcat_int(merged, "scheduler", "retry_base_seconds");
        long long max = setcat_int(merged, "scheduler", "retry_max_seconds");
        if (max < base) {
            *field = "retry_max_seconds";
            return "must not be shorter than the first retry's wait";
        }
    }
    return NULL;
}
