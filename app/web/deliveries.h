/* deliveries.h - the notification outbox as the console and the API read
 * and change it (deliveries_model.c): a target's delivery attempts, the
 * messages (the dead-letter stream is status 'dead'), and the two changes
 * people make to dead letters: retry (queued again, attempts from 0,
 * visible now) and discard (deleted; their attempts stay in the log).
 *
 * deliveries.c (pages) and deliveries_api.c (JSON) share everything here.
 * Rows come in DC_* / MC_* column order; strings live in the request
 * arena; json_t results are new references the caller owns. */
#ifndef SL_WEB_DELIVERIES_H
#define SL_WEB_DELIVERIES_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"

#define DLV_PAGE 50          /* attempts / dead letters per page */
#define DLV_SELECT_MAX 200   /* messages one bulk action may name */

/* Columns of dlv_target. */
enum { TG_ID, TG_NAME, TG_TYPE, TG_ACTIVE, TG_DISABLED, TG_QUEUED, TG_DELIVERED, TG_DEAD,
       TG_NCOLS };
/* Columns of dlv_attempts. */
enum { DC_ID, DC_MESSAGE, DC_ATTEMPT, DC_AT, DC_CODE, DC_MS, DC_ERROR, DC_EXCERPT, DC_OUTCOME,
       DC_EVENT, DC_NCOLS };
/* Columns of dlv_messages and dlv_message. */
enum { MC_ID, MC_TARGET, MC_TARGET_NAME, MC_EVENT_ID, MC_EVENT, MC_PIPELINE, MC_STATUS,
       MC_ATTEMPTS, MC_MAX, MC_CREATED, MC_VISIBLE, MC_DELIVERED, MC_DEAD, MC_LAST_STATUS,
       MC_LAST_ERROR, MC_PAYLOAD, MC_NCOLS };

/* 1 when s is a message or attempt id (a positive 64-bit integer). */
int dlv_id_ok(const char *s);

/* Target id with its message counts (one row, TG_*). SL_ENOTFOUND for a
 * malformed or unknown id. */
sl_err dlv_target(request *r, const char *id, PGresult **res, sl_errbuf *eb);

/* Attempts of target id, newest first: before an attempt id (NULL: from
 * the newest), or with after, the oldest ones newer than after (rows then
 * come oldest first). At most limit + 1 rows (DC_*). */
sl_err dlv_attempts(request *r, const char *target, const char *before, const char *after,
                    long long limit, PGresult **res, sl_errbuf *eb);

/* Messages newest first, of target (NULL: every target) with status
 * (NULL: any), before / after a message id as dlv_attempts. At most
 * limit + 1 rows (MC_*). */
sl_err dlv_messages(request *r, const char *target, const char *status, const char *before,
                    const char *after, long long limit, PGresult **res, sl_errbuf *eb);

/* One message (MC_*). SL_ENOTFOUND for a malformed or unknown id. */
sl_err dlv_message(request *r, const char *id, PGresult **res, sl_errbuf *eb);

/* Whether messages exist beyond id in the order of dlv_messages / of
 * dlv_attempts (dir > 0: newer, else older). */
sl_err dlv_messages_beyond(request *r, const char *target, const char *status, const char *id,
                           int dir, int *yes, sl_errbuf *eb);
sl_err dlv_attempts_beyond(request *r, const char *target, const char *id, int dir, int *yes,
                           sl_errbuf *eb);

/* Row i as the API shows it. */
json_t *dlv_attempt_json(request *r, PGresult *res, int i);
json_t *dlv_message_json(request *r, PGresult *res, int i);
/* The same for pages: API fields plus display text (times, labels). */
json_t *dlv_attempt_page_json(request *r, PGresult *res, int i);
json_t *dlv_message_page_json(request *r, PGresult *res, int i);

/* Which dead letters a change applies to: those of ids[0..n) (message ids,
 * checked with dlv_id_ok) or, with all, every one; of target (NULL: any
 * target; then ids must be given). */
typedef struct {
    const char *target;
    const char *const *ids;
    int n;
    int all;
} dlv_select;

/* Retry the selected dead letters, in one transaction with its audit row
 * (notification_message.retry): status queued, attempts 0, visible now.
 * Messages of a deleted or disabled target are not retried:
 * *blocked counts them (may be NULL). *count gets how many were queued.
 * Messages that are not dead (any more) are left alone. */
sl_err dlv_retry(request *r, const dlv_select *sel, long long *count, long long *blocked,
                 sl_errbuf *eb);

/* Delete the selected dead letters, in one transaction with its audit row
 * (notification_message.discard). *count gets how many. */
sl_err dlv_discard(request *r, const dlv_select *sel, long long *count, sl_errbuf *eb);

#endif
