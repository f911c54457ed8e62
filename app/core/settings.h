/* settings.h - typed reads of sluice.settings (key -> JSON object) with
 * defaults.
 *
 * Each row of sluice.settings holds one JSON object ("retention",
 * "features", "scheduler", ...); a field is read with a default that
 * applies when the row or the field is missing, has the wrong type, or is
 * out of the range the caller allows. Reads never fail visibly: a database
 * error also gives the default (and a warning in the log), so a setting can
 * never stop a tick. Rows and fields the code reads are listed where the
 * migration seeds them (sql/001_foundation.sql, sql/006_scheduler.sql). */
#ifndef SL_SETTINGS_H
#define SL_SETTINGS_H

#include <jansson.h>

#include "arena.h"
#include "db.h"
#include "err.h"

/* The object stored under key. *out lives in a (decref'd at its reset).
 * SL_ENOTFOUND when there is no such row or its value is not an object;
 * SL_EDB / SL_EDBDOWN from the query (eb filled). */
sl_err settings_get(db *d, arena *a, const char *key, json_t **out, sl_errbuf *eb);

/* obj[field] as an integer within [min, max], else def. A JSON number with
 * an integral value counts (4 and 4.0); strings do not. obj may be NULL. */
long long settings_obj_int(const json_t *obj, const char *field, long long def, long long min,
                           long long max);
/* obj[field] as true / false, else def. obj may be NULL. */
int settings_obj_bool(const json_t *obj, const char *field, int def);

/* One field read straight from the database: settings_get + the above.
 * settings_int allows any integer; settings_int_range only [min, max]
 * (a value outside gives def and a warning in the log). */
long long settings_int(db *d, const char *key, const char *field, long long def);
long long settings_int_range(db *d, const char *key, const char *field, long long def,
                             long long min, long long max);
int settings_bool(db *d, const char *key, const char *field, int def);

/* Feature flags: the 'features' row ({"quality_checks": true, ...}). A flag
 * is on unless it is stored as false, so a missing row or field (or a
 * database error) leaves every feature on. Names: quality_checks,
 * landing_zones, audit_log, pipeline_triggers, pipeline_versions
 * (app/core/setcat.c lists them). */
int settings_feature(db *d, const char *name);

#endif
