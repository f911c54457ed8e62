/* pipeline_api.h - plumbing the pipeline API handlers share
 * (pipelines_api.c defines it; pipeline_versions.c uses it too): ids,
 * JSON bodies, change notes, ETag / If-Match, and sending a pipeline. */
#ifndef SL_PIPELINE_API_H
#define SL_PIPELINE_API_H

#include <jansson.h>

#include "http.h"
#include "pipeline_model.h"

/* The {id} path parameter when it is a UUID; otherwise answers 404
 * (problem+json) and returns NULL. */
const char *pa_id(request *r);

/* The request body as JSON (an object or an array), owned by r's arena.
 * optional: an empty body reads as {}. NULL after answering 415, 413, 400
 * or 422. */
json_t *pa_body(request *r, int optional);

/* body.message (a change note; "" when absent); errors.message when it is
 * not a string of at most 500 characters on one line. */
const char *pa_message(request *r, const json_t *body, json_t *errors);

/* Inside an edit (pl_edit_begin): 1 when If-Match holds cur's ETag (or
 * "*"); otherwise rolls back, answers 428 (no If-Match) or 412 (stale;
 * the problem has current_etag and current_version) and returns 0. */
int pa_precondition(request *r, const pipeline *cur);

/* Add `ETag: "<etag>"` (nothing for NULL). */
void pa_etag_header(request *r, const char *etag);

/* 422 problem+json with errors (stolen). */
void pa_validation_failed(request *r, const char *what, json_t *errors);

/* Load pipeline id and answer with it (tables, next fire times) and its
 * ETag; 201 adds Location. 404 when it is gone. */
void pa_send_pipeline(request *r, int status, const char *id);

#endif
