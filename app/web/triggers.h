/* triggers.h - pipeline triggers as the console and the API manage them
 * (triggers_model.c): loading, views, validation, and the audited changes
 * (create, update, delete, rotate a webhook's secret).
 *
 * triggers.c (pages) and triggers_api.c (JSON) share everything here; the
 * pipeline page uses trg_put_pipeline(). A webhook trigger's secret leaves
 * the server exactly twice in its life: in the answer that creates it and
 * in the answer that rotates it; loads never read secret_enc. Strings live
 * in the request arena; json_t results are new references the caller
 * owns. */
#ifndef SL_WEB_TRIGGERS_H
#define SL_WEB_TRIGGERS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"

#define TRIGGERS_PAGE 50              /* triggers per page (card and list) */
#define TRIGGER_COOLDOWN_DEFAULT 60
#define TRIGGER_COOLDOWN_MAX 604800   /* a week */
#define TRIGGER_ZONE_MAX 200          /* characters of a zone name */
#define TRIGGER_CHOICES_MAX 1000      /* pipelines offered as upstreams */

/* Columns of the trigger queries (trg_load, trg_list). */
enum { TC_ID, TC_PIPELINE_ID, TC_PIPELINE_NAME, TC_TYPE, TC_CONFIG, TC_COOLDOWN, TC_ENABLED,
       TC_LAST_FIRED, TC_LAST_RUN, TC_FIRES, TC_SUPPRESSED, TC_LAST_SUPPRESSED,
       TC_CREATED_BY, TC_CREATED, TC_UPDATED, TC_UP_NAME, TC_UP_DELETED, TC_KEY, TC_NCOLS };

/* 1 when s names a trigger type. */
int trg_type_ok(const char *s);

/* What a person asks for. NULL / -1: not given (create: defaults; update:
 * unchanged). */
typedef struct {
    const char *type;       /* pipeline_success | landing_zone_upload | webhook */
    const char *upstream;   /* pipeline_success: the upstream pipeline's id */
    const char *zone;       /* landing_zone_upload: the zone's name */
    long long cooldown;     /* 0..TRIGGER_COOLDOWN_MAX */
    int enabled;            /* 0 / 1 */
} trg_input;

/* Check the shape of in (no database): the type, the cooldown, and the
 * config field its type needs (and no other). Problems go into errors;
 * config fields are keyed prefix + name ("config." for the API, "" for
 * pages). creating: the type is required and config fields are too. */
void trg_check(const trg_input *in, const char *cur_type, int creating, const char *prefix,
               json_t *errors);

/* Trigger id with its pipeline (not deleted). lock: FOR UPDATE OF the
 * trigger (inside a transaction). SL_ENOTFOUND for a malformed or unknown
 * id, or a deleted pipeline. One row in TC_* order. */
sl_err trg_load(request *r, const char *id, int lock, PGresult **res, sl_errbuf *eb);

/* Triggers of pipeline_id in (created_at, id) order after the key
 * (after_at: created_at at full precision, after_id; both NULL: from the
 * start); at most limit + 1 rows. */
sl_err trg_list(request *r, const char *pipeline_id, const char *after_at, const char *after_id,
                int limit, PGresult **res, sl_errbuf *eb);

/* The URL a webhook trigger is called at (base_url + /api/v1/hooks/<id>). */
const char *trg_hook_url(request *r, const char *id);

/* Row i as the API shows it (never a secret). */
json_t *trg_api_json(request *r, PGresult *res, int i);
/* Row i for pages: the API's view plus display text (summary, times). */
json_t *trg_page_json(request *r, PGresult *res, int i);

/* ctx.triggers = {items (first TRIGGERS_PAGE), has_items, more} for the
 * pipeline page's partial triggers/card. Failures are logged; ctx is left
 * without it (and the card away), as it is while the pipeline_triggers
 * feature is off. */
void trg_put_pipeline(request *r, json_t *ctx, const char *pipeline_id);

/* Pipelines a pipeline_success trigger of self may watch (every other
 * pipeline that is not deleted, by name): [{id, name, selected}]. */
sl_err trg_upstream_choices(request *r, const char *self, const char *selected, json_t **out,
                            sl_errbuf *eb);

/* Names of the landing zones, by name, for the zone field's suggestions
 * ([{name}]; empty when there are none or they cannot be read). */
json_t *trg_zone_choices(request *r);

/* --- changes: one transaction each, audited ------------------------------------------ */

/* Create a trigger of pipeline_id from in (checked by trg_check). SL_OK:
 * *id is its id and, for a webhook, *secret the new secret (else NULL).
 * SL_EINVAL with errors filled: the upstream is unknown, deleted, the
 * pipeline itself or would close a loop, or the same upstream / zone has a
 * trigger already. SL_ENOTFOUND: the pipeline is gone. */
sl_err trg_create(request *r, const char *pipeline_id, const trg_input *in, const char *prefix,
                  json_t *errors, const char **id, const char **secret, sl_errbuf *eb);

/* Change trigger id's cooldown, enabled flag or config (in checked by
 * trg_check against its type). *changed: something was different.
 * SL_EINVAL with errors as trg_create; SL_ENOTFOUND. */
sl_err trg_update(request *r, const char *id, const trg_input *in, const char *prefix,
                  json_t *errors, int *changed, sl_errbuf *eb);

/* Delete trigger id. SL_ENOTFOUND when there is none. *pipeline_id (may
 * be NULL) gets its pipeline. */
sl_err trg_delete(request *r, const char *id, const char **pipeline_id, sl_errbuf *eb);

/* Give webhook trigger id a new secret (the old one stops working at
 * once); *secret is the new one. SL_EUNSUPPORTED for another type,
 * SL_ENOTFOUND. */
sl_err trg_rotate(request *r, const char *id, const char **secret, sl_errbuf *eb);

#endif
