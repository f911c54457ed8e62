/* notify.h - notification targets: render a message for a service and send
 * one HTTP request to it.
 *
 * Target types: slack (incoming webhook URL), discord (webhook URL),
 * telegram (bot token + chat id), webhook (any URL, signed per the Standard
 * Webhooks spec with a per-target `whsec_` secret). A target's config, as
 * notify_render takes it, is one JSON object with the secret fields already
 * opened: {url} for slack and discord, {bot_token, chat_id} for telegram,
 * {url, secret} for webhook. notify_target_open() builds it from a
 * notification_targets row (sql/008_notifications.sql). Service API bases
 * are configurable (settings) so tests can point them at a local receiver.
 * Every outgoing connection passes the SSRF guard.
 *
 * Files: notify.c (events, rendering, signing, text clipping),
 * notify_http.c (sending, the SSRF guard, Retry-After), notify_target.c
 * (stored targets: fields, validation, masking, sealing, settings).
 * Strings returned live in the arena passed in; nothing here logs a URL
 * with its path or query, a token or a secret. */
#ifndef SL_NOTIFY_H
#define SL_NOTIFY_H

#include <jansson.h>
#include <sys/socket.h>
#include <time.h>

#include "arena.h"
#include "db.h"
#include "err.h"

#define NOTIFY_EXCERPT_MAX 1024     /* bytes of a receiver's answer kept */
#define NOTIFY_URL_MAX 2048         /* bytes of a target URL */
#define NOTIFY_TIMEOUT_DEFAULT 10   /* seconds per attempt */
#define NOTIFY_TIMEOUT_MAX 120
#define NOTIFY_TELEGRAM_BASE "https://api.telegram.org"

/* Limits of the services, in UTF-16 code units (which is at least the
 * number of characters, so a text within a limit is within it however the
 * service counts). */
#define NOTIFY_SLACK_SECTION_MAX 3000  /* a section block's text */
#define NOTIFY_SLACK_FIELD_MAX 2000    /* one field of a section */
#define NOTIFY_SLACK_HEADER_MAX 150    /* a header block's text */
#define NOTIFY_SLACK_TEXT_MAX 40000    /* the top-level fallback text */
#define NOTIFY_DISCORD_TITLE_MAX 256
#define NOTIFY_DISCORD_DESC_MAX 4096
#define NOTIFY_DISCORD_FIELD_MAX 1024
#define NOTIFY_DISCORD_EMBED_MAX 6000  /* title + description + fields + footer */
#define NOTIFY_DISCORD_CONTENT_MAX 2000
#define NOTIFY_TELEGRAM_TEXT_MAX 4096

/* Embed colours (Discord) by outcome. */
#define NOTIFY_COLOUR_SUCCESS 0x2EB67D /* green */
#define NOTIFY_COLOUR_FAILED 0xE01E5A  /* red */
#define NOTIFY_COLOUR_WARNING 0xECB22E /* amber: quality, dead letters, drift, rejected */
#define NOTIFY_COLOUR_NEUTRAL 0x9E9E9E /* grey: cancelled, skipped, anything else */

/* Where and how to send: settings that apply to every target. */
typedef struct {
    const char *slack_base;      /* unused: a Slack target's URL is its own; for symmetry */
    const char *discord_base;    /* unused likewise */
    const char *telegram_base;   /* default "https://api.telegram.org" */
    const char *base_url;        /* the console's public URL, for links to runs */
    int allow_private;           /* SSRF guard off for private/loopback networks */
    int timeout_seconds;         /* per attempt; 0: 10 */
    int max_attempts;            /* for the delivery loop: attempts before dead-lettering */
    int base_backoff_seconds;    /* for the delivery loop: the first retry's wait */
} notify_env;

/* A rendered request: method POST, url, content type, body, headers
 * (NULL-terminated "Name: value" strings). Lives in the arena. */
typedef struct {
    const char *url;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char **headers;
    const char *url_masked;      /* url without secrets, for logs and pages */
    const char *const *secrets;  /* NULL-terminated: texts never to show (scrubbed from
                                    errors and answers by notify_send) */
} notify_request;

/* What came back. */
typedef struct {
    int status;                  /* HTTP status, 0 when no answer */
    long latency_ms;
    long retry_after_seconds;    /* from Retry-After, -1 when absent */
    const char *body_excerpt;    /* first 1 KiB of the answer (valid UTF-8, secrets
                                    scrubbed), "" when none */
    const char *error;           /* transport error (refused, timeout, SSRF guard), or NULL */
} notify_result;

/* --- events -------------------------------------------------------------------------- */

/* The events a subscription may choose, NULL-terminated, in display order:
 * run.succeeded, run.failed, quality.failed, dead_letters.created,
 * schema.drifted, landing.file_rejected. */
extern const char *const notify_events[];

/* 1 when event is one of notify_events. */
int notify_event_valid(const char *event);

/* A short label for people ("Run failed"); the event itself when unknown. */
const char *notify_event_label(const char *event);

/* 1 when type is a target type (slack, discord, telegram, webhook). */
int notify_type_valid(const char *type);

/* A sample run.succeeded event for "Send test" (pipeline "sluice test",
 * 1,234 rows in 5.7 s, "test": true), linking to link when not NULL
 * (data.run_url). A new reference the caller owns. */
json_t *notify_sample_event(const char *link);

/* --- rendering ----------------------------------------------------------------------- */

/* Render event (type e.g. "run.failed", data as appended to the event
 * stream) for a target of type with config. msg_id is the message's id
 * (used as webhook-id). timestamp is seconds since the epoch (the body's
 * RFC 3339 time and webhook-timestamp). The link to the run is
 * data.run_url when given, else <env->base_url>/runs/<data.run_id>.
 * SL_EINVAL (eb says which field) for an unknown type or missing config. */
sl_err notify_render(arena *a, const notify_env *env, const char *type, const json_t *config,
                     const char *event_type, const json_t *event_data, const char *msg_id,
                     long long timestamp, notify_request *out, sl_errbuf *eb);

/* The Standard Webhooks signature header value "v1,<base64>" for
 * id.timestamp.body under secret "whsec_<base64 key>". NULL for a malformed
 * secret. (webhook_sig.c does the HMAC; receivers verify with it too.) */
const char *notify_sign(arena *a, const char *secret, const char *msg_id, long long timestamp,
                        const char *body, size_t body_len);

/* s cut to at most max UTF-16 code units on a code point boundary, with
 * "…" (which counts 1) ending a text that was cut. Invalid UTF-8 bytes
 * become U+FFFD. Lives in a (s itself when it fits and is valid). */
const char *notify_clip(arena *a, const char *s, size_t max);

/* Length of s in UTF-16 code units (invalid bytes count 1 each). */
size_t notify_u16len(const char *s);

/* seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ", in a. */
const char *notify_rfc3339(arena *a, long long seconds);

/* --- sending ------------------------------------------------------------------------- */

/* Send one request with libcurl: POST, no redirects (a 3xx is the answer),
 * http and https only, no proxy from the environment, per-attempt timeout
 * (connect included), SSRF guard on the resolved address at connect time.
 * Always fills res; returns SL_OK when an HTTP answer arrived (any status),
 * else SL_ETIMEOUT (timed out), SL_EFORBIDDEN (the guard refused every
 * address; res->error says which and why, before any connection was
 * made) or SL_EIO (anything else). res->error and eb never hold the URL's
 * path, query or userinfo. Thread-safe (each call its own client). */
sl_err notify_send(arena *a, const notify_env *env, const notify_request *req,
                   notify_result *res, sl_errbuf *eb);

/* A reusable HTTP client: keeps connections (and DNS answers) alive between
 * notify_send_on calls to the same host, which matters when a deliverer
 * sends thousands of messages. One per thread at a time; never shared.
 * notify_conn_new aborts on allocation failure; the caller frees with
 * notify_conn_free (NULL is fine). A connection opened while the guard
 * allowed private networks is dropped when a later call does not. */
typedef struct notify_conn notify_conn;
notify_conn *notify_conn_new(void);
void notify_conn_free(notify_conn *c);

/* notify_send on conn's kept connections (conn NULL: a one-off client, as
 * notify_send). Same results and guard. */
sl_err notify_send_on(notify_conn *conn, arena *a, const notify_env *env,
                      const notify_request *req, notify_result *res, sl_errbuf *eb);

/* What the SSRF guard sees in an address. */
enum notify_addr_class {
    NOTIFY_ADDR_PUBLIC = 0,    /* anything else: allowed */
    NOTIFY_ADDR_LOOPBACK,      /* 127/8, ::1 */
    NOTIFY_ADDR_PRIVATE,       /* 10/8, 172.16/12, 192.168/16 */
    NOTIFY_ADDR_SHARED,        /* 100.64/10 (carrier-grade NAT) */
    NOTIFY_ADDR_LINK_LOCAL,    /* 169.254/16, fe80::/10 */
    NOTIFY_ADDR_UNIQUE_LOCAL,  /* fc00::/7 */
    NOTIFY_ADDR_UNSPECIFIED,   /* 0/8, :: */
    NOTIFY_ADDR_MULTICAST,     /* 224/4, ff00::/8 */
    NOTIFY_ADDR_RESERVED,      /* 240/4 with 255.255.255.255, 192.0.0/24, 198.18/15,
                                  the documentation nets, an unknown family */
};

/* Classify an IPv4 or IPv6 socket address. IPv6 forms that carry an IPv4
 * address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64
 * 64:ff9b::/96, 6to4 2002::/16) are classified by that address. */
enum notify_addr_class notify_addr_classify(const struct sockaddr *sa);

/* "loopback", "private", ... ("public" for NOTIFY_ADDR_PUBLIC); static. */
const char *notify_addr_class_name(enum notify_addr_class c);

/* 1 when the guard lets a connection to class c through: public always;
 * loopback, private, shared, link-local, unique-local and unspecified
 * only with allow_private; multicast and reserved never. */
int notify_addr_allowed(enum notify_addr_class c, int allow_private);

/* Seconds to wait from a Retry-After value: delay-seconds, or an HTTP date
 * (IMF-fixdate, RFC 850 or asctime form) minus now (0 when it is past).
 * -1 when value is NULL or neither form. Capped at 1 year. */
long notify_retry_after(const char *value, time_t now);

/* --- stored targets (notify_target.c) ------------------------------------------------ */

/* The settings every delivery reads: sluice.settings 'notifications'
 * (defaults as in sql/008_notifications.sql, and on any database error)
 * and base_url (the console's public URL, may be NULL). Strings live in a. */
void notify_env_load(db *d, arena *a, const char *base_url, notify_env *env);

/* The config notify_render takes for a stored target: config_json (the
 * config column as text) merged with secret_enc opened by the keyring.
 * SL_ECRYPTO when the secret cannot be opened (wrong key: the message says
 * what to do), SL_EPARSE when either part is not a JSON object. *out
 * lives in a. */
sl_err notify_target_open(arena *a, const char *config_json, const char *secret_enc,
                          json_t **out, sl_errbuf *eb);

/* url for display: scheme://host[:port] then, when host_only is 0, the
 * leading path segments that are plain words, the first 4 characters of
 * the next segment and "…" then "/" and four asterisks (Slack:
 * "https://hooks.slack.com/services/T000…/" + "****");
 * with host_only, "/…" stands for any path. Userinfo and query never
 * appear. "(invalid URL)" when url does not parse. */
const char *notify_mask_url(arena *a, const char *url, int host_only);

/* A Telegram bot token for display: its first 4 characters, "…:****". */
const char *notify_mask_token(arena *a, const char *token);

/* Field checks for target forms: NULL when v is fine, else what is wrong
 * (a static message for people, naming no part of v). URLs: http or https
 * with a host, at most NOTIFY_URL_MAX bytes, no spaces, no fragment. Bot
 * tokens: <digits>:<20..200 of [A-Za-z0-9_-]>. Chat ids: an integer (may
 * be negative) or @channelname. Secrets: whsec_ + base64 of 16..64 bytes. */
const char *notify_check_url(const char *v);
const char *notify_check_bot_token(const char *v);
const char *notify_check_chat_id(const char *v);
const char *notify_check_secret(const char *v);

/* secret (the JSON object of a target's secret fields) sealed with the
 * keyring, for the secret_enc column; in a. Panics before keyring_load. */
char *notify_target_seal(arena *a, const json_t *secret);

/* secret_enc opened into its JSON object (in a). SL_ECRYPTO when the key
 * does not open it, SL_EPARSE when it is damaged; eb says what to do. */
sl_err notify_target_secret(arena *a, const char *secret_enc, json_t **out, sl_errbuf *eb);

#endif
