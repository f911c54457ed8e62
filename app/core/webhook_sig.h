/* webhook_sig.h - Standard Webhooks signatures (https://www.standardwebhooks.com):
 * secrets, signing, verifying, and the timestamp window.
 *
 * A message is signed as HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")
 * and sent as the header `webhook-signature: v1,<base64>`; a header may list
 * several space-separated signatures (during a secret rotation, or other
 * versions), and it verifies when any v1 entry matches. The secret is
 * "whsec_" + base64 of the key bytes; the HMAC key is the decoded part.
 * Nothing here logs, copies into error text, or keeps a secret. The binary
 * must have called sodium_init(). */
#ifndef SL_WEBHOOK_SIG_H
#define SL_WEBHOOK_SIG_H

#include <stddef.h>
#include <time.h>

#include "arena.h"

#define WEBHOOK_SIG_PREFIX "whsec_"
#define WEBHOOK_SIG_SECRET_BYTES 32   /* random bytes of a new secret */
#define WEBHOOK_SIG_KEY_MIN 16        /* shortest key accepted (bytes) */
#define WEBHOOK_SIG_KEY_MAX 64        /* longest key accepted (bytes) */
#define WEBHOOK_SIG_TOLERANCE 300     /* seconds a timestamp may be off either way */
#define WEBHOOK_SIG_ID_MAX 256        /* bytes of a webhook-id */

/* What a check found. */
enum webhook_sig_result {
    WEBHOOK_SIG_OK = 0,
    WEBHOOK_SIG_MISSING,       /* a header (id, timestamp or signature) is absent or empty */
    WEBHOOK_SIG_BAD_SECRET,    /* the secret is not whsec_<base64> of 16..64 bytes */
    WEBHOOK_SIG_NO_V1,         /* the signature header has no v1 entry */
    WEBHOOK_SIG_MISMATCH,      /* no v1 entry matches (bad base64 counts as no match) */
    WEBHOOK_SIG_BAD_TIMESTAMP, /* the timestamp is not a decimal count of seconds */
    WEBHOOK_SIG_TOO_OLD,       /* the timestamp is further in the past than the tolerance */
    WEBHOOK_SIG_TOO_NEW,       /* ... or in the future */
};

/* A short English phrase for a result ("signature does not match"); static. */
const char *webhook_sig_strerror(enum webhook_sig_result r);

/* A new secret: "whsec_" + base64 of WEBHOOK_SIG_SECRET_BYTES random bytes,
 * in the arena. */
char *webhook_sig_secret_new(arena *a);

/* Decode secret (with or without the "whsec_" prefix) into key; *len gets
 * its length. 1 on success, 0 when it is not base64 of
 * WEBHOOK_SIG_KEY_MIN..WEBHOOK_SIG_KEY_MAX bytes (key is then zeroed). */
int webhook_sig_key(const char *secret, unsigned char key[WEBHOOK_SIG_KEY_MAX], size_t *len);

/* The signature header value "v1,<base64>" for one message, in the arena;
 * NULL when the secret is unusable. body may be NULL when n is 0. */
char *webhook_sig_sign(arena *a, const char *secret, const char *msg_id, const char *timestamp,
                       const void *body, size_t n);

/* Verify a received message: WEBHOOK_SIG_OK when some v1 entry of
 * sig_header (entries separated by spaces) is the signature of
 * msg_id.timestamp.body under secret, compared in constant time. Any
 * argument may be NULL (MISSING). The timestamp is not judged here (see
 * webhook_sig_check_time); it is only part of the signed text. */
enum webhook_sig_result webhook_sig_verify(const char *secret, const char *msg_id,
                                           const char *timestamp, const void *body, size_t n,
                                           const char *sig_header);

/* Judge timestamp (decimal seconds since the epoch, at most 18 digits)
 * against now: OK within tolerance seconds either way, else TOO_OLD /
 * TOO_NEW, BAD_TIMESTAMP when it is not digits, MISSING when NULL/empty. */
enum webhook_sig_result webhook_sig_check_time(const char *timestamp, time_t now,
                                               long tolerance);

#endif
