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
 * Everything returned lives in the request arena.
 *
 * Files: notification_model.c (targets: loading, views, checks, storing,
 * "Send test"), notifications.c (their pages), notifications_api.c
 * (/api/v1/notification-targets), notification_subs.c (subscriptions). */
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

/* --- the targets resource (notification_model.c), for notifications.c and
 * notifications_api.c ----------------------------------------------------------------- */

#include <libpq-fe.h>

#define NOTIF_ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Every query on targets selects these (table alias t), in enum order;
 * notif_load appends the sealed secret_enc as column NT_NCOLS. */
#define NOTIF_COLS                                                                           \
    "t.id, t.name, t.type, t.config::text, t.active, t.disabled_reason, "                    \
    NOTIF_ISO("t.last_tested_at") ", t.last_test_status, t.last_test_ms, t.last_test_error," \
    " t.last_test_answer, " NOTIF_ISO("t.created_at") ", " NOTIF_ISO("t.updated_at") ","     \
    " lower(t.name),"                                                                        \
    " (SELECT array_to_json(g.events)::text FROM sluice.pipeline_notifications g"            \
    " WHERE g.target_id = t.id AND g.pipeline_id IS NULL),"                                  \
    " (SELECT count(*) FROM sluice.pipeline_notifications s"                                 \
    " WHERE s.target_id = t.id AND s.pipeline_id IS NOT NULL)"
enum { NT_ID, NT_NAME, NT_TYPE, NT_CONFIG, NT_ACTIVE, NT_DISABLED, NT_TESTED, NT_TSTATUS,
       NT_TMS, NT_TERROR, NT_TANSWER, NT_CREATED, NT_UPDATED, NT_LNAME, NT_GLOBAL, NT_NSUBS,
       NT_NCOLS };

/* The target types in display order, NULL-terminated. */
extern const char *const notif_types[];

/* One line for people about a type ("An incoming webhook of a Slack app
 * posts to one channel."); "" when unknown. */
const char *notif_type_hint(const char *type);

/* A target as a form or a body describes it. Secrets are "" when not
 * typed (keep the stored one on edit). */
typedef struct {
    const char *name, *type, *chat_id;
    const char *url, *bot_token, *secret;
    int active;
    int rotate;                /* make a new signing secret */
    json_t *global;            /* all-pipelines events to set, or NULL: unchanged */
    int retype;                /* a secret was typed into a form that failed */
} notif_fields;

/* The outcome of "Send test". */
typedef struct {
    int ok, status;
    long latency_ms;
    const char *name, *url, *error, *answer, *tested_at;
} notif_test;

/* The {id} path parameter when it is a UUID; else answers 404, NULL. */
const char *notif_id_param(request *r);

/* Row id with NOTIF_COLS and secret_enc (FOR UPDATE when lock, inside
 * the open transaction, rolled back on failure). 1 found; 0 answered
 * 404; -1 answered an error. */
int notif_load(request *r, const char *id, int lock, PGresult **res);

/* A JSON-array text column as a new array ([] for NULL or junk). */
json_t *notif_col_array(request *r, PGresult *res, int i, int col);
/* The config column of row i (an object; masks and the chat id). */
json_t *notif_config(request *r, PGresult *res, int i);

/* Row i as the API shows it (masks, never secrets), and as pages do
 * (plus labels, badges and texts). New references. */
json_t *notif_api_row(request *r, PGresult *res, int i);
json_t *notif_page_row(request *r, PGresult *res, int i);

/* Fill f: defaults (active), from a parsed form (editing: the type is
 * not read, "active" is a checkbox), from row 0 of a notif_load result,
 * or from a JSON body's members (wrong JSON types go to errors). */
void notif_defaults(notif_fields *f);
void notif_from_form(request *r, notif_fields *f, int editing);
void notif_from_row(request *r, notif_fields *f, PGresult *res);
void notif_from_json(request *r, const json_t *body, notif_fields *f, json_t *errors);

/* Validate f and store it in the transaction the caller began: insert
 * (old NULL) or update row 0 of old (locked), with the all-pipelines
 * subscription when f->global is set and the audit row. 0 stored and
 * committed (*id_out; *made: a signing secret sluice made, to show once,
 * or NULL); 1 invalid (errors filled, rolled back, nothing answered); -1
 * answered. */
int notif_store(request *r, PGresult *old, notif_fields *f, json_t *errors,
                const char **id_out, const char **made);

/* Delete target id with its audit row. 0 deleted (*name set); -1
 * answered (404 or an error). */
int notif_delete(request *r, const char *id, const char **name);

/* Set (events non-empty) or remove the all-pipelines subscription of
 * target id, inside the open transaction. */
sl_err notif_set_global(request *r, const char *id, const json_t *events, sl_errbuf *eb);

/* Send the sample message to target id now (no transaction open while
 * waiting), then record the outcome on the row with an audit row. SL_OK
 * with *t filled whether or not it was delivered; SL_ENOTFOUND; SL_EDB /
 * SL_EDBDOWN. */
sl_err notif_send_test(request *r, const char *id, notif_test *t, sl_errbuf *eb);

/* Keyset pages on (lower(name), id): rows after the cursor (lname, id;
 * NULL: from the start), or before it (descending; the caller reverses),
 * at most limit + 1. notif_cursor makes a row's cursor, notif_cursor_ok
 * checks a decoded one. */
sl_err notif_list(request *r, const char *lname, const char *id, int backward, int limit,
                  PGresult **res, sl_errbuf *eb);
const char *notif_cursor(request *r, PGresult *res, int i);
int notif_cursor_ok(const char *const *f);

#endif
