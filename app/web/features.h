/* features.h - feature flags as the web sees them: read once per request,
 * put in every page's context (features.<name>), and enforced for whole
 * groups of routes at dispatch, so a route added later under a flagged
 * path is covered without touching it.
 *
 * Flags (sluice.settings 'features'; on unless stored as false):
 *   quality_checks     the engine skips quality checks when off (no routes)
 *   landing_zones      /landing*, /api/v1/landing* answer 404
 *   audit_log          /audit, /api/v1/audit answer 404; audit_write never
 *                      stops recording (a security trail is not optional):
 *                      turning the flag on shows everything recorded
 *   pipeline_triggers  routes with a "triggers" segment and /api/v1/hooks/{id}
 *                      answer 404, and the tick fires no triggers
 *   pipeline_versions  routes with a "versions" or "rollback" segment under
 *                      a pipeline answer 404; versions are still recorded,
 *                      so ETag / If-Match concurrency control keeps working
 * A refused route answers 404 with "<feature> are turned off" (problem+json
 * on the API). */
#ifndef SL_FEATURES_H
#define SL_FEATURES_H

#include <jansson.h>

#include "http.h"

/* 1 when feature name is on for this request. The 'features' row is read
 * at most once per request (a database error counts every flag as on). */
int feature_enabled(request *r, const char *name);

/* {name: true/false} for every flag of the catalog; a new reference. */
json_t *features_json(request *r);

/* The flag that governs a route pattern ("/landing-zones/{id}" ->
 * "landing_zones"), or NULL for routes no flag governs. */
const char *features_route_flag(const char *pattern);

/* What a person reads when a route is refused: "landing zones are turned
 * off". Static storage; NULL for an unknown flag. */
const char *features_off_message(const char *flag);

/* Dispatch's check, after routing and auth: 1 when r's route may run; 0
 * after answering 404 because its feature is off. */
int features_gate(request *r);

/* Forget this request's cached flags (after the settings were changed). */
void features_forget(request *r);

#endif
