/* log.c - JSON-lines logging on stderr (see log.h).
 *
 * One write(2) per line so lines from several workers sharing stderr do not
 * interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *g_component = "sluice";
static enum log_level g_level = LOG_INFO;
static char g_request_id[64];
static char g_route[128];

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *component, enum log_level level)
{
    g_component = component;
    g_level = level;
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_context(const char *request_id, const char *route)
{
    snprintf(g_request_id, sizeof g_request_id, "%s", request_id ? request_id : "");
    snprintf(g_route, sizeof g_route, "%s", route ? route : "");
}

static void emit(enum log_level level, json_t *fields, const char *fmt, va_list ap)
{
    if (level < g_level) {
        json_decref(fields);
        return;
    }
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(tv.tv_usec / 1000));

    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "pid", json_integer(getpid()));
    json_object_set_new(line, "component", json_string(g_component));
    json_object_set_new(line, "msg", json_stringn_nocheck(msg, strlen(msg)));
    if (g_request_id[0])
        json_object_set_new(line, "request_id", json_string(g_request_id));
    if (g_route[0])
        json_object_set_new(line, "route", json_string(g_route));
    if (fields) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *s = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (!s)
        return;
    size_t n = strlen(s);
    s[n] = '\n'; /* overwrite the NUL: one write per line */
    ssize_t w = write(STDERR_FILENO, s, n + 1);
    (void)w;
    free(s);
}

void sl_log(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, fmt, ap);
    va_end(ap);
}

void sl_log_fields(enum log_level level, json_t *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, fields, fmt, ap);
    va_end(ap);
}
