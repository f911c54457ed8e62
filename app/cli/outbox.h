/* outbox.h - delivering the notification outbox (sluice_events.messages,
 * sql/009_outbox.sql): claim, render, send, record, retry or dead-letter.
 *
 * A deliverer claims a batch of visible queued messages in one statement
 * (FOR UPDATE SKIP LOCKED; attempts + 1, locked_by = this process,
 * visible_at = now() + the visibility timeout), so concurrent ticks and
 * `sluice notify` processes never take the same message, and the messages
 * of a deliverer that stops (kill -9, a lost host) are taken again once
 * its claim times out; the attempt it lost is recorded then ("lost").
 * Messages are rendered and sent (app/sync/notify.h) by a few threads at
 * once (the next batch is claimed as soon as fewer jobs than threads are
 * left); each result is recorded as soon as it arrives, with its attempt
 * row, in one statement per handful of results:
 *   2xx                          delivered
 *   410                          dead, and the target is disabled (audited)
 *   408, 429, 5xx, 3xx (redirects are not followed), no answer (timeout,
 *   refused, reset)              queued again after the backoff, or dead
 *                                after max_attempts
 *   other 4xx, SSRF guard refusal, unknown or inactive target, a secret
 *   that does not open, a render error   dead at once
 * The webhook-id of a message is its id (the same in every attempt), so a
 * receiver can drop repeats: delivery is at least once. */
#ifndef SL_OUTBOX_H
#define SL_OUTBOX_H

#include "db.h"
#include "err.h"

#define OUTBOX_RETRY_AFTER_MAX 86400 /* a Retry-After longer than this counts as this */
#define OUTBOX_JITTER 0.2            /* backoff jitter: +-20% */

/* The settings the loop reads (sluice.settings 'notifications', with the
 * defaults of sql/008_notifications.sql and sql/009_outbox.sql). */
typedef struct {
    int max_attempts;                /* 8 (1..100); new messages copy it */
    int base_backoff_seconds;        /* 10 (1..86400) */
    int max_backoff_seconds;         /* 21600 (1..604800) */
    int visibility_timeout_seconds;  /* 300 (10..86400) */
    int batch_size;                  /* 100 (1..1000) */
    int concurrency;                 /* 8 (1..64) */
    int timeout_seconds;             /* 10 (1..120): per attempt */
} outbox_settings;

/* Read the settings (defaults on any problem; never fails). */
void outbox_settings_load(db *d, outbox_settings *s);

/* The visibility timeout a claim of batch messages uses: the setting, but
 * never less than the batch can take with every attempt timing out behind
 * the jobs claimed before it ((ceil(batch / concurrency) + 1) *
 * (timeout + 1) + 5 seconds). */
int outbox_visibility(const outbox_settings *s, int batch);

/* Seconds to wait after failed attempt number attempt (1 for the first):
 * base * 2^(attempt - 1), at most max, times 1 + jitter (jitter in
 * [-OUTBOX_JITTER, OUTBOX_JITTER]; out-of-range values are clamped), and
 * never less than retry_after (-1: none; capped at OUTBOX_RETRY_AFTER_MAX). */
double outbox_backoff(int base, int max, int attempt, double jitter, long retry_after);

enum outbox_verdict {
    OUTBOX_DELIVERED = 0,  /* 2xx */
    OUTBOX_RETRY,          /* try again later (or dead when attempts are used up) */
    OUTBOX_DEAD,           /* permanent failure: dead at once */
    OUTBOX_GONE            /* 410: dead, and the target is disabled */
};

/* What one attempt's outcome means: send_err is notify_send's return,
 * status the HTTP status (meaningful when send_err is SL_OK). */
enum outbox_verdict outbox_classify(sl_err send_err, int status);

/* "delivered", "retry", "dead", "gone"; static. */
const char *outbox_verdict_name(enum outbox_verdict v);

typedef struct {
    int batch;             /* messages per claim; 0: the setting */
    int max_batches;       /* stop after this many claims; 0: no limit */
    int drain;             /* when nothing is visible, wait for queued messages that will be
                              (retries) instead of returning */
    double max_seconds;    /* stop claiming after this long; 0: no limit */
    int (*stop)(void);     /* stop claiming when it returns 1; may be NULL */
} outbox_opts;

typedef struct {
    long claimed;          /* messages claimed */
    long delivered;
    long retried;          /* attempts that failed and will be tried again */
    long dead;             /* messages dead-lettered */
    long disabled;         /* targets disabled (410) */
    long expired;          /* claims of stopped deliverers taken over (lost attempts) */
} outbox_counts;

/* Deliver what is due: claim, send, record, until no message is visible
 * (or the options say stop). base_url is the console's public URL for
 * links (may be NULL). The keyring must be loaded (keyring_load) to open
 * targets' secrets. Counts add to *n (may be NULL). SL_OK, or SL_EDB /
 * SL_EDBDOWN when claiming or recording failed (results already recorded
 * stay; claimed messages come back after their visibility timeout).
 * Runs its own threads; returns when they are done. */
sl_err outbox_run(db *d, const char *base_url, const outbox_opts *o, outbox_counts *n,
                  sl_errbuf *eb);

/* This process's claim owner name ("host:pid:random"); static. */
const char *outbox_owner(void);

#endif
