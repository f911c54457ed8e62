/* pipeline_form.h - helpers the Pipelines pages share (pipelines.c,
 * pipeline_tables.c, pipeline_versions.c): form values, previews, views,
 * the conflict box and the edit page. Everything lives in the request
 * arena; json_t results are new references. Functions that answer the
 * request say so. */
#ifndef SL_PIPELINE_FORM_H
#define SL_PIPELINE_FORM_H

#include <jansson.h>

#include "http.h"
#include "pipeline_model.h"

/* What the edit page shows besides the stored pipeline; pf_edit_page
 * takes the references. */
typedef struct {
    json_t *vals;       /* pipeline form values; NULL: the stored ones */
    json_t *errors;     /* pipeline form errors; NULL: none */
    json_t *rows;       /* tables form rows; NULL: the stored tables */
    int tables_invalid; /* the tables form was refused */
    json_t *add_errors; /* picker errors ({manual, typed}); NULL: none */
    json_t *conflict;   /* the conflict box (pf_conflict_box), or NULL */
    int form_version;   /* the version the forms carry (0: the stored one) */
} pf_edit_view;

/* The {id} path parameter when it is a UUID; otherwise answers 404 and
 * returns NULL. */
const char *pf_id_param(request *r);
/* Load pipeline id: 1 found; 0 answered 404; -1 answered an error. */
int pf_load(request *r, const char *id, pipeline *p);
/* Answer the error of a failed pl_edit_begin (404 or a database error). */
void pf_edit_fail(request *r, sl_err e, const sl_errbuf *eb);
/* The form's "version" field (the version it was loaded from); 0 when
 * missing or malformed. */
int pf_form_version(request *r);

/* vals[key] as a string ("" when missing). */
const char *pf_val(const json_t *vals, const char *key);
/* Form values of a stored pipeline / of the posted form. */
json_t *pf_vals_from_pipeline(request *r, const pipeline *p);
json_t *pf_vals_from_form(request *r);
/* Set p's fields from form values (copied into the arena: p does not
 * depend on vals); conversion errors (numbers, an empty custom schedule)
 * go to errors. The model checks the rest. */
void pf_apply_vals(request *r, const json_t *vals, pipeline *p, json_t *errors);
/* The change note of vals (errors.message when it is too long). */
const char *pf_note(request *r, const json_t *vals, json_t *errors);

/* [{value, label, selected}] for a select. */
json_t *pf_choice(const char *const *values, const char *const *labels, const char *sel);
/* How a schedule reads: a preset's label or the expression (+ zone). */
const char *pf_schedule_text(request *r, const char *schedule, const char *tz);
/* ctx.fires ([{local, utc}] for the next three fire times), fires_zone,
 * fires_utc_differs, fires_note. */
void pf_put_fires(request *r, json_t *ctx, const char *schedule, const char *tz);
/* Selects and previews of the pipeline form for vals (self_id: the
 * pipeline being edited, left out of "depends on"). */
sl_err pf_form_ctx(request *r, json_t *ctx, const json_t *vals, const char *self_id,
                   sl_errbuf *eb);
/* The pipeline as pages show it (the API fields plus display text and
 * its tables). */
json_t *pf_pipeline_view(request *r, const pipeline *p);

/* The conflict box for a save based on version `base` of cur: who saved
 * the current version and when, the fields where theirs differs from
 * mine (may be NULL), and a link to the diff. what: "changes were". */
json_t *pf_conflict_box(request *r, const pipeline *cur, const pipeline *mine, int base,
                        const char *what);
/* Render the edit page of p (answers the request; takes v's references). */
void pf_edit_page(request *r, int status, const pipeline *p, pf_edit_view *v);

#endif
