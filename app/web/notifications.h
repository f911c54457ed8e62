/* notifications.h - notification targets and subscriptions in the console
 * and the JSON API: notifications.c (targets: list, new, show, edit,
 * delete, "Send test", the "all pipelines" subscription) and
 * notification_subs.c (a pipeline's subscriptions: the section on the
 * pipeline page and /api/v1/pipelines/{id}/notifications).
 *
 * Secrets (webhook URLs, bot tokens, signing secrets) are sealed in
 * secret_enc and never appear in a page, a JSON answer, a log line or the
 * audit trail; pages and answers show masks (notify_mask_url). A signing
 * secret sluice makes is shown once, in the answer that made it.
 * Everything returned lives in the request arena. */
#ifndef SL_WEB_NOTIFICATIONS_H
#define SL_WEB_NOTIFICATIONS_H

#include <jansson.h>

#include "http.h"

#define NOTIF_NAME_MAX 200 /* characters of a target's name */
#define NOTIF_PAGE 50      /* targets per list page */

/* ctx.notifications = {pipeline_id, items (this pipeline's subscriptions:
 * id, target_id, target_name, type_label, events_text, active), has_items,
 * global (targets that hear every pipeline), targets (choices for the add
 * form), has_targets, events (checkboxes)} for the pipeline page's partial
 * notifications/pipeline. Failures are logged; ctx is left without it. */
void notif_put_pipeline(request *r, json_t *ctx, const char *pipeline_id);

/* --- shared by notifications.c and notification_subs.c ------------------------------- */

/* "Slack", "Discord", "Telegram", "Webhook" (type itself when unknown). */
const char *notif_type_label(const char *type);

/* Checkbox rows [{value, label, checked, id}] for every subscribable
 * event; checked from chosen (a JSON array of strings, may be NULL).
 * prefix makes the ids unique on a page. */
json_t *notif_event_boxes(const json_t *chosen, const char *prefix);

/* The events ticked in a parsed form (fields "event:<name>"), as a new
 * JSON array in notify_events order. */
json_t *notif_events_from_form(request *r);

/* Check a JSON value as an events list: an array of distinct known event
 * names. NULL when fine (*out: a new sorted array in notify_events
 * order), else a message. allow_empty: [] is fine (no subscription). */
const char *notif_events_check(const json_t *v, int allow_empty, json_t **out);

/* "Run failed, Schema drift" for a JSON array of events, in the arena. */
const char *notif_events_text(request *r, const json_t *events);

#endif
