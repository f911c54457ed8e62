/* hooks.c - the webhook receiver: POST /api/v1/hooks/{trigger-id} queues a
 * run of the trigger's pipeline when the request is signed with the
 * trigger's secret per Standard Webhooks (webhook_sig.h).
 *
 * The route is public: the signature is the authentication, so no session
 * or token is looked at (a stray session cookie changes nothing, and the
 * request acts for nobody) and CSRF does not apply (auth.c). In order:
 *   404  unknown id, not a webhook trigger, disabled, or its pipeline
 *        deleted (one answer for all, before anything else is judged);
 *   401  webhook-id, webhook-timestamp or webhook-signature missing, or no
 *        v1 signature matching HMAC-SHA256(secret, id.timestamp.body);
 *   400  a timestamp more than WEBHOOK_SIG_TOLERANCE seconds off, a
 *        malformed webhook-id, or a webhook-id this trigger accepted
 *        before (a replay; ids are kept twice the window);
 *   409  the pipeline is paused (nothing recorded: the sender may retry);
 *   200  {"suppressed": true, "retry_after"}: within the cooldown;
 *   202  {"run_id", "status": "queued"}.
 * The receipt, the queued run, the trigger's counters and the audit row
 * commit together. The secret is opened only to compute the MAC and is
 * never logged or echoed. */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "handlers.h"
#include "keyring.h"
#include "log.h"
#include "router.h"
#include "sync/trigger.h"
#include "uuid.h"
#include "webhook_sig.h"
#include "worker.h"

#define GONE "no such trigger, or it is disabled"

/* A webhook-id: 1..WEBHOOK_SIG_ID_MAX visible ASCII characters. */
static int msg_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WEBHOOK_SIG_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* The sealed secret of enabled webhook trigger id; NULL after answering
 * (404 or a database error). */
static const char *load_secret(request *r, const char *id)
{
    if (!id || !uuid_valid(id)) {
        http_problem(r, 404, GONE, NULL);
        return NULL;
    }
    sl_errbuf eb = {0};
    char *sealed = NULL;
    sl_err e = db_query_value(r->db, r->a, &eb, &sealed,
                              "SELECT t.secret_enc FROM sluice.pipeline_triggers t"
                              " JOIN sluice.pipelines p ON p.id = t.pipeline_id"
                              " WHERE t.id = $1::uuid AND t.type = 'webhook' AND t.enabled"
                              " AND p.deleted_at IS NULL AND t.secret_enc IS NOT NULL",
                              1, (const char *[]){id});
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, GONE, NULL);
        return NULL;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return NULL;
    }
    return sealed;
}

/* Check the signature and the timestamp; 1 when the request may go on,
 * else 0 after answering. */
static int authentic(request *r, const char *id, const char *sealed, const char *msg_id,
                     const char *ts)
{
    const char *sig = http_header(r, "webhook-signature");
    if (!msg_id || !*msg_id || !ts || !*ts || !sig || !*sig) {
        log_warn("webhook %s refused: signature headers missing", id);
        http_problem(r, 401, "webhook-id, webhook-timestamp and webhook-signature are required",
                     NULL);
        return 0;
    }
    char *secret = NULL;
    sl_errbuf eb = {0};
    if (keyring_open(r->a, sealed, &secret, &eb) != SL_OK) {
        log_error("webhook %s: cannot open its secret: %s", id, eb.msg);
        http_problem(r, 500, "the trigger's secret cannot be read", NULL);
        return 0;
    }
    enum webhook_sig_result v =
        webhook_sig_verify(secret, msg_id, ts, r->body ? r->body : "", r->body_len, sig);
    sodium_memzero(secret, strlen(secret));
    if (v != WEBHOOK_SIG_OK) {
        log_warn("webhook %s refused: %s", id, webhook_sig_strerror(v));
        http_problem(r, 401, "the webhook signature is missing or does not match", NULL);
        return 0;
    }
    v = webhook_sig_check_time(ts, time(NULL), WEBHOOK_SIG_TOLERANCE);
    if (v != WEBHOOK_SIG_OK) {
        log_warn("webhook %s refused: %s", id, webhook_sig_strerror(v));
        http_problem(r, 400,
                     arena_printf(r->a, "%s: it must be within %d seconds of the server's clock",
                                  webhook_sig_strerror(v), WEBHOOK_SIG_TOLERANCE),
                     NULL);
        return 0;
    }
    if (!msg_id_ok(msg_id)) {
        http_problem(r, 400, "webhook-id must be 1 to 256 visible ASCII characters", NULL);
        return 0;
    }
    return 1;
}

/* Record the receipt and fire, in one transaction. Answers. */
static void deliver(request *r, const char *id, const char *msg_id)
{
    sl_errbuf eb = {0};
    PGresult *res;
    trigger_result tr = {.outcome = TRIGGER_GONE};
    db_rollback(r->db);
    sl_err e = db_begin(r->db, &eb);
    if (!e)
        e = db_exec(r->db, &eb,
                    "DELETE FROM sluice.webhook_receipts WHERE trigger_id = $1::uuid"
                    " AND received_at < now() - interval '10 minutes'",
                    1, (const char *[]){id});
    if (!e)
        e = db_query(r->db, r->a, &eb, &res,
                     "INSERT INTO sluice.webhook_receipts (trigger_id, msg_id)"
                     " VALUES ($1::uuid, $2) ON CONFLICT DO NOTHING RETURNING 1",
                     2, (const char *[]){id, msg_id});
    if (!e && PQntuples(res) == 0) {
        db_rollback(r->db);
        log_warn("webhook %s refused: webhook-id %s was received before", id, msg_id);
        http_problem(r, 400, "this webhook-id was received already (a replay)", NULL);
        return;
    }
    json_t *opts = json_pack("{s:s}", "webhook_id", msg_id);
    if (!e)
        e = trigger_fire(r->db, id, "webhook", opts, &tr, &eb);
    json_decref(opts);
    if (!e && (tr.outcome == TRIGGER_GONE || tr.outcome == TRIGGER_PAUSED)) {
        db_rollback(r->db);
        if (tr.outcome == TRIGGER_GONE)
            http_problem(r, 404, GONE, NULL);
        else
            http_problem(r, 409, "the trigger's pipeline is paused; nothing was queued", NULL);
        return;
    }
    const char *run = tr.outcome == TRIGGER_FIRED ? arena_printf(r->a, "%lld",
                                                                 (long long)tr.run_id)
                                                  : NULL;
    if (!e && run)
        e = db_exec(r->db, &eb,
                    "UPDATE sluice.webhook_receipts SET run_id = $3::bigint"
                    " WHERE trigger_id = $1::uuid AND msg_id = $2",
                    3, (const char *[]){id, msg_id, run});
    if (!e) {
        json_t *d = json_pack("{s:s, s:s, s:s, s:o}", "pipeline_id", tr.pipeline_id,
                              "webhook_id", msg_id, "outcome", trigger_outcome_name(tr.outcome),
                              "run_id", run ? json_string(run) : json_null());
        e = audit_write(r, "trigger.webhook", "pipeline_trigger", id, d, "webhook");
        json_decref(d);
        if (!e)
            e = db_commit(r->db, &eb);
    }
    if (e) {
        db_rollback(r->db);
        web_db_error(r, e, &eb);
        return;
    }
    if (run) {
        log_info("webhook %s: run %s of pipeline %s queued (webhook-id %s)", id, run,
                 tr.pipeline_id, msg_id);
        http_add_header(r, "Location", arena_printf(r->a, "/api/v1/runs/%s", run));
        http_send_json(r, 202,
                       json_pack("{s:s, s:s, s:s}", "run_id", run, "status", "queued",
                                 "pipeline_id", tr.pipeline_id));
        return;
    }
    log_info("webhook %s: suppressed by its cooldown (%lld s left; webhook-id %s)", id,
             tr.retry_after, msg_id);
    http_send_json(r, 200,
                   json_pack("{s:b, s:I}", "suppressed", 1, "retry_after",
                             (json_int_t)tr.retry_after));
}

void h_api_hook(request *r)
{
    /* Signed, not signed in: whatever cookie came along, this acts for nobody. */
    r->user_id = r->user_email = r->user_name = NULL;
    r->session_id = r->csrf_token = NULL;
    r->role = ROLE_PUBLIC;
    r->via_token = 0;

    const char *id = http_path_param(r, "id");
    const char *sealed = load_secret(r, id);
    if (!sealed)
        return;
    long long max = r->route && r->route->max_body ? r->route->max_body : r->cfg->web_max_body;
    sl_errbuf eb = {0};
    sl_err e = http_read_body(r, (size_t)max, &eb);
    if (e) {
        http_problem(r, e == SL_ETOOBIG ? 413 : 400, eb.msg, NULL);
        return;
    }
    const char *msg_id = http_header(r, "webhook-id");
    const char *ts = http_header(r, "webhook-timestamp");
    if (!authentic(r, id, sealed, msg_id, ts))
        return;
    deliver(r, id, msg_id);
}
