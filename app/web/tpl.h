/* tpl.h - mustache templates: compile once, render many times.
 *
 * The engine follows the mustache spec (interpolation, sections, inverted
 * sections, partials, comments, set delimiters, standalone lines) plus the
 * optional ~inheritance module ({{<parent}}{{$block}}...{{/block}}{{/parent}})
 * used for page layouts. Lambdas are not supported. Data is a jansson json_t.
 *
 * Escaping is the default: {{x}} HTML-escapes & < > " ' while {{{x}}} and
 * {{&x}} write the value raw. Only false, null, a missing name and the empty
 * array are falsy; 0, "" and {} are truthy (the spec's `!!data`, Ruby-style).
 * Numbers interpolate as integers or the shortest decimal that round-trips
 * (1.5 -> "1.5", 2.0 -> "2"); true/false as "true"/"false"; null, objects
 * and arrays as "".
 *
 * A tpl_set owns compiled templates, addressed by name for partials and
 * parents. Sets are built at worker start and are read-only afterwards, so
 * one set may serve every request. */
#ifndef SL_TPL_H
#define SL_TPL_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "sbuf.h"

typedef struct tpl_set tpl_set;

/* Limits. A render that exceeds one fails with SL_ETOOBIG (never a crash). */
#define TPL_MAX_NEST 100            /* sections/blocks nested in one template */
#define TPL_MAX_PARTIAL_DEPTH 64    /* partials/parents inside each other */
#define TPL_MAX_DEPTH 512           /* render recursion, context stack entries */
#define TPL_MAX_FILE (1024 * 1024)  /* bytes per template file (load_dir) */
#define TPL_DEFAULT_MAX_STEPS (16u * 1024 * 1024) /* nodes visited per render */

/* An empty set. Never NULL; the caller frees it with tpl_set_free(). */
tpl_set *tpl_set_new(void);

/* Free the set and every template in it. NULL is fine. */
void tpl_set_free(tpl_set *s);

/* Compile src (len bytes, need not be NUL-terminated) under name, replacing
 * a template of the same name. Returns SL_EPARSE with "template 'name',
 * line L, column C: ..." in eb for malformed input (the set is unchanged),
 * SL_EINVAL for an empty name. The set copies what it needs. */
sl_err tpl_set_add(tpl_set *s, const char *name, const char *src, size_t len, sl_errbuf *eb);

/* Add every *.mustache file under dir, recursively (hidden entries are
 * skipped), named by its path relative to dir without the extension:
 * "layout", "partials/nav", "users/list". Fails with SL_EIO (unreadable
 * dir or file), SL_ETOOBIG (a file over TPL_MAX_FILE) or SL_EPARSE; on
 * failure templates added before the bad file stay in the set. */
sl_err tpl_set_load_dir(tpl_set *s, const char *dir, sl_errbuf *eb);

/* 1 if the set holds a template called name, else 0. */
int tpl_set_has(const tpl_set *s, const char *name);

/* Cap on nodes visited by one render (default TPL_DEFAULT_MAX_STEPS); a
 * guard against templates whose blocks or partials expand exponentially. */
void tpl_set_max_steps(tpl_set *s, size_t steps);

/* Render template name against data (NULL = no data) and append the output
 * to out. Missing partials and parents render as "". Fails with
 * SL_ENOTFOUND (no such template), SL_ETOOBIG (out's cap, or a limit above
 * was exceeded: partial recursion, nesting, steps). On failure out is
 * truncated back to its length on entry. */
sl_err tpl_render(const tpl_set *s, const char *name, const json_t *data, sbuf *out,
                  sl_errbuf *eb);

/* Compile src and render it in one go, for tests and one-off messages.
 * partials is an object of name -> template source, or NULL. Fails as
 * tpl_set_add and tpl_render do, and with SL_EINVAL when a partial is not a
 * string. */
sl_err tpl_render_string(const char *src, size_t len, const json_t *data,
                         const json_t *partials, sbuf *out, sl_errbuf *eb);

/* Append s (n bytes, NULs allowed) to out with & < > " ' replaced by &amp;
 * &lt; &gt; &quot; &#39;. Fails with SL_ETOOBIG at out's cap, leaving out as
 * it was on entry. */
sl_err tpl_escape_html(sbuf *out, const char *s, size_t n);

#endif
