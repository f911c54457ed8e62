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

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there
 * are not one (overlong forms, surrogates and > U+10FFFF are invalid, as
 * jansson holds them). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        if (c == 0xf4)
            hi = 0x8f; /* > U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Replace every byte that is not part of valid UTF-8 with '?', in place, so
 * that jansson accepts the string and the line is never dropped. */
static void utf8_sanitize(char *str)
{
    unsigned char *s = (unsigned char *)str;
    while (*s) {
        size_t n = utf8_seq(s); /* stops at the NUL: it is not a continuation byte */
        if (n == 0) {
            *s++ = '?';
        } else {
            s += n;
        }
    }
}

void log_set_context(const char *request_id, const char *route)
{
    snprintf(g_request_id, sizeof g_request_id, "%s", request_id ? request_id : "");
    snprintf(g_route, sizeof g_route, "%s", route ? route : "");
    utf8_sanitize(g_request_id);
    utf8_sanitize(g_route);
}

static void emit(enum log_level level, json_t *fields, const char *fmt, va_list ap)
{
    if (level < g_level) {
        json_decref(fields);
        return;
    }
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    utf8_sanitize(msg); /* also mends a sequence cut by the truncation above */

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[96]; /* room for any int fields: keeps -Wformat-truncation quiet */
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(tv.tv_usec / 1000));

    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "pid", json_integer(getpid()));
    json_object_set_new(line, "component", json_string(g_component));
    json_object_set_new(line, "msg", json_string(msg));
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
