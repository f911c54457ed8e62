// fuzz-sources: app/core/webhook_sig.c app/core/arena.c app/core/err.c
// fuzz-libs: libsodium
/* fuzz_webhook_sig.c - libFuzzer target for Standard Webhooks header parsing
 * (webhook_sig_verify, webhook_sig_check_time, webhook_sig_key).
 *
 * The input is split at the first four newlines into: the webhook-signature
 * header, webhook-id, webhook-timestamp, the secret; the rest is the body.
 * Invariants beyond memory safety:
 *   - verify answers one of the enum's values, and OK exactly when a
 *     space-separated entry of the header is, byte for byte, the signature
 *     webhook_sig_sign makes (a reference written here; base64 decoding
 *     must not accept a second spelling of the same MAC);
 *   - the real signature, put before or after the fuzzed header, always
 *     verifies, and the fuzzed header verifies the same under the same
 *     inputs twice;
 *   - an unusable secret is BAD_SECRET (when the headers are present);
 *   - check_time agrees with a reference parse of the timestamp.
 * Build and run through tests/fuzz/run.sh. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does header hold token as one of its space-separated entries? */
static int has_entry(const char *header, const char *token)
{
    size_t tl = strlen(token);
    const char *p = header;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == tl && memcmp(p, token, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static enum webhook_sig_result ref_time(const char *ts, time_t now)
{
    if (!*ts)
        return WEBHOOK_SIG_MISSING;
    size_t n = strlen(ts);
    if (n > 18 || strspn(ts, "0123456789") != n)
        return WEBHOOK_SIG_BAD_TIMESTAMP;
    long long v = strtoll(ts, NULL, 10);
    if (v < (long long)now - WEBHOOK_SIG_TOLERANCE)
        return WEBHOOK_SIG_TOO_OLD;
    if (v > (long long)now + WEBHOOK_SIG_TOLERANCE)
        return WEBHOOK_SIG_TOO_NEW;
    return WEBHOOK_SIG_OK;
}

static void fail(const char *what, const char *header)
{
    fprintf(stderr, "fuzz_webhook_sig: %s (header \"%s\")\n", what, header);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arena *a;
    if (!a) {
        if (sodium_init() < 0)
            abort();
        a = arena_new(0);
    }
    arena_reset(a);
    if (size > 64 * 1024)
        return 0;
    char *buf = arena_alloc(a, size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';

    /* header \n id \n timestamp \n secret \n body */
    char *part[4];
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        part[i] = p;
        char *nl = memchr(p, '\n', (size_t)(buf + size - p));
        if (!nl) {
            /* Too few parts: the remaining ones are empty. */
            for (int j = i + 1; j < 4; j++)
                part[j] = buf + size;
            p = buf + size;
            break;
        }
        *nl = '\0';
        p = nl + 1;
    }
    const char *header = part[0], *id = part[1], *ts = part[2], *secret = part[3];
    const char *body = p;
    size_t blen = (size_t)(buf + size - p);
    /* A NUL inside a header field ends it, as it would in C strings. */

    enum webhook_sig_result got = webhook_sig_verify(secret, id, ts, body, blen, header);
    if (got > WEBHOOK_SIG_TOO_NEW)
        fail("result out of range", header);
    if (webhook_sig_verify(secret, id, ts, body, blen, header) != got)
        fail("not deterministic", header);

    unsigned char key[WEBHOOK_SIG_KEY_MAX];
    size_t klen;
    int usable = webhook_sig_key(secret, key, &klen);
    if (usable && (klen < WEBHOOK_SIG_KEY_MIN || klen > WEBHOOK_SIG_KEY_MAX))
        fail("key length out of range", header);
    int present = *id && *ts && *header;
    if (!present) {
        if (got != WEBHOOK_SIG_MISSING)
            fail("missing parts not reported", header);
    } else if (!usable) {
        if (got != WEBHOOK_SIG_BAD_SECRET)
            fail("unusable secret not reported", header);
    } else {
        char *sig = webhook_sig_sign(a, secret, id, ts, body, blen);
        if (!sig || strncmp(sig, "v1,", 3) != 0)
            fail("sign failed with a usable secret", header);
        int want = has_entry(header, sig);
        if ((got == WEBHOOK_SIG_OK) != want)
            fail(want ? "the exact signature was not accepted"
                      : "accepted without the exact signature",
                 header);
        char *before = arena_printf(a, "%s %s", sig, header);
        char *after = arena_printf(a, "%s %s", header, sig);
        if (webhook_sig_verify(secret, id, ts, body, blen, before) != WEBHOOK_SIG_OK ||
            webhook_sig_verify(secret, id, ts, body, blen, after) != WEBHOOK_SIG_OK ||
            webhook_sig_verify(secret, id, ts, body, blen, sig) != WEBHOOK_SIG_OK)
            fail("the real signature beside the header was refused", header);
    }

    time_t now = 1700000000;
    if (webhook_sig_check_time(ts, now, WEBHOOK_SIG_TOLERANCE) != ref_time(ts, now))
        fail("check_time disagrees with the reference", ts);
    return 0;
}
