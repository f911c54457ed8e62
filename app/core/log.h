/* log.h - JSON-lines logging on stderr.
 *
 * Each line: {"time":"2026-01-02T03:04:05.678Z","level":"info","pid":1,
 * "component":"web","msg":"...", <context>, <fields>}. The context (request
 * id, route) is per-process and set by the web worker around each request. */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* component names the binary ("web", "cli"); level is the minimum printed. */
void log_init(const char *component, enum log_level level);
/* Parse "debug" / "info" / "warn" / "error"; -1 if unknown. */
int log_level_parse(const char *s);
/* Set or clear (NULL) the request context added to every line. */
void log_set_context(const char *request_id, const char *route);

void sl_log(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As sl_log with extra fields merged into the line; steals the reference to
 * fields (which may be NULL). */
void sl_log_fields(enum log_level level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) sl_log(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) sl_log(LOG_INFO, __VA_ARGS__)
#define log_warn(...) sl_log(LOG_WARN, __VA_ARGS__)
#define log_error(...) sl_log(LOG_ERROR, __VA_ARGS__)

#endif
