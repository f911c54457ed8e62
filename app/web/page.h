/* page.h - server-rendered pages: the common context and rendering.
 *
 * Every page is a template under templates/ that extends "layout". The
 * context a template sees always has: title, user {id, email, name, role,
 * is_admin, is_editor}, signed_in, csrf (the token for forms), flash (a list
 * of {kind, message}), nav.<section> = true for the active section, and
 * version. Handlers add their own keys to the object page_ctx() returns. */
#ifndef SL_PAGE_H
#define SL_PAGE_H

#include <jansson.h>

#include "http.h"

struct worker;

/* Load templates from <share>/templates into the worker (worker start-up);
 * non-zero when they fail to compile, with the reason logged. */
int page_init(struct worker *w);

/* A new context object with the common keys; the caller adds its own and
 * hands it to page_render (which takes the reference). */
json_t *page_ctx(request *r, const char *title, const char *nav);

/* Render template name with ctx (stolen) as an HTML response. A template
 * failure answers 500 with a plain page and logs the reason. */
void page_render(request *r, int status, const char *name, json_t *ctx);

/* Queue a message for the next page this browser renders (kind: "ok",
 * "error", "info"). */
void page_flash(request *r, const char *kind, const char *message);

/* Redirect after a successful form post, with a flash message. */
void page_done(request *r, const char *location, const char *message);

/* Field-level errors for forms: add to an object { field: message }. */
void page_field_error(json_t *errors, const char *field, const char *message);

#endif
