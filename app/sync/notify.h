/* notify.h - notification targets: render a message for a service and send
 * one HTTP request to it.
 *
 * Target types: slack (incoming webhook URL), discord (webhook URL),
 * telegram (bot token + chat id), webhook (any URL, signed per the Standard
 * Webhooks spec with a per-target `whsec_` secret). A target's config is a
 * JSON object whose secret fields are already decrypted by the caller.
 * Service API bases are configurable (settings) so tests can point them at
 * a local receiver. Every outgoing connection passes the SSRF guard. */
#ifndef SL_NOTIFY_H
#define SL_NOTIFY_H

#include <jansson.h>

#include "arena.h"
#include "err.h"

/* Where and how to send: settings that apply to every target. */
typedef struct {
    const char *slack_base;      /* unused for slack (the URL is the target's); kept for symmetry */
    const char *discord_base;    /* unused likewise */
    const char *telegram_base;   /* default "https://api.telegram.org" */
    const char *base_url;        /* the console's public URL, for links to runs */
    int allow_private;           /* SSRF guard off for private/loopback networks */
    int timeout_seconds;         /* per attempt; 0: 10 */
} notify_env;

/* A rendered request: method POST, url, content type, body, headers
 * (NULL-terminated "Name: value" strings). Lives in the arena. */
typedef struct {
    const char *url;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char **headers;
} notify_request;

/* What came back. */
typedef struct {
    int status;                  /* HTTP status, 0 when no answer */
    long latency_ms;
    long retry_after_seconds;    /* from Retry-After, -1 when absent */
    const char *body_excerpt;    /* first 1 KiB of the answer, for the deliveries page */
    const char *error;           /* transport error (refused, timeout, SSRF guard), or NULL */
} notify_result;

/* Render event (type e.g. "run.failed", data as appended to the event
 * stream) for a target of type with config. msg_id is the message's id
 * (used as webhook-id). SL_EINVAL for an unknown type or missing config. */
sl_err notify_render(arena *a, const notify_env *env, const char *type, const json_t *config,
                     const char *event_type, const json_t *event_data, const char *msg_id,
                     long long timestamp, notify_request *out, sl_errbuf *eb);

/* Send one request with libcurl: no redirects, per-attempt timeout, SSRF
 * guard on the resolved address at connect time. Always fills res; returns
 * SL_OK when an HTTP answer arrived (any status), else SL_EIO/SL_ETIMEOUT/
 * SL_EFORBIDDEN (guard). */
sl_err notify_send(arena *a, const notify_env *env, const notify_request *req,
                   notify_result *res, sl_errbuf *eb);

/* The Standard Webhooks signature header value "v1,<base64>" for
 * id.timestamp.body under secret "whsec_<base64 key>". NULL for a malformed
 * secret. */
const char *notify_sign(arena *a, const char *secret, const char *msg_id, long long timestamp,
                        const char *body, size_t body_len);

#endif
