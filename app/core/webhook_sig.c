/* webhook_sig.c - Standard Webhooks signatures: secrets, HMAC-SHA256 signing,
 * verification of a (possibly multi-entry) webhook-signature header, and the
 * timestamp window (see webhook_sig.h).
 *
 * Keys live on the stack and are wiped before returning; no function here
 * allocates except into the caller's arena. */
#include "webhook_sig.h"

#include <sodium.h>
#include <string.h>

#define SIG_BYTES crypto_auth_hmacsha256_BYTES
#define B64 sodium_base64_VARIANT_ORIGINAL

/* 1 when [p, p+n) is base64 text: the standard alphabet, then at most two
 * '=' at the end. Checked before decoding because sodium_base642bin reads
 * some bytes above 0x7f as alphabet characters (sign extension), which
 * would give one MAC several spellings. */
static int b64_text(const char *p, size_t n)
{
    size_t i = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            break;
    }
    if (n - i > 2)
        return 0;
    for (; i < n; i++)
        if (p[i] != '=')
            return 0;
    return 1;
}

const char *webhook_sig_strerror(enum webhook_sig_result r)
{
    switch (r) {
    case WEBHOOK_SIG_OK: return "signature verified";
    case WEBHOOK_SIG_MISSING: return "webhook-id, webhook-timestamp or webhook-signature missing";
    case WEBHOOK_SIG_BAD_SECRET: return "the signing secret is unusable";
    case WEBHOOK_SIG_NO_V1: return "webhook-signature has no v1 signature";
    case WEBHOOK_SIG_MISMATCH: return "signature does not match";
    case WEBHOOK_SIG_BAD_TIMESTAMP: return "webhook-timestamp is not a number of seconds";
    case WEBHOOK_SIG_TOO_OLD: return "webhook-timestamp is too old";
    case WEBHOOK_SIG_TOO_NEW: return "webhook-timestamp is too far in the future";
    }
    return "unknown result";
}

char *webhook_sig_secret_new(arena *a)
{
    unsigned char raw[WEBHOOK_SIG_SECRET_BYTES];
    randombytes_buf(raw, sizeof raw);
    size_t plen = strlen(WEBHOOK_SIG_PREFIX);
    size_t blen = sodium_base64_encoded_len(sizeof raw, B64);
    char *out = arena_alloc(a, plen + blen);
    memcpy(out, WEBHOOK_SIG_PREFIX, plen);
    sodium_bin2base64(out + plen, blen, raw, sizeof raw, B64);
    sodium_memzero(raw, sizeof raw);
    return out;
}

int webhook_sig_key(const char *secret, unsigned char key[WEBHOOK_SIG_KEY_MAX], size_t *len)
{
    *len = 0;
    if (!secret)
        return 0;
    size_t plen = strlen(WEBHOOK_SIG_PREFIX);
    if (strncmp(secret, WEBHOOK_SIG_PREFIX, plen) == 0)
        secret += plen;
    size_t n = strlen(secret);
    const char *end = NULL;
    size_t got = 0;
    if (n == 0 || !b64_text(secret, n) ||
        sodium_base642bin(key, WEBHOOK_SIG_KEY_MAX, secret, n, NULL, &got, &end, B64) != 0 ||
        end != secret + n || got < WEBHOOK_SIG_KEY_MIN) {
        sodium_memzero(key, WEBHOOK_SIG_KEY_MAX);
        return 0;
    }
    *len = got;
    return 1;
}

/* HMAC-SHA256 of msg_id "." timestamp "." body under secret into mac; 0
 * when the secret is unusable. */
static int mac_of(const char *secret, const char *msg_id, const char *timestamp,
                  const void *body, size_t n, unsigned char mac[SIG_BYTES])
{
    unsigned char key[WEBHOOK_SIG_KEY_MAX];
    size_t klen;
    if (!webhook_sig_key(secret, key, &klen))
        return 0;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg_id, strlen(msg_id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    if (n)
        crypto_auth_hmacsha256_update(&st, body, n);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(key, sizeof key);
    return 1;
}

char *webhook_sig_sign(arena *a, const char *secret, const char *msg_id, const char *timestamp,
                       const void *body, size_t n)
{
    unsigned char mac[SIG_BYTES];
    if (!msg_id || !timestamp || (n && !body) ||
        !mac_of(secret, msg_id, timestamp, body, n, mac))
        return NULL;
    size_t blen = sodium_base64_encoded_len(sizeof mac, B64);
    char *out = arena_alloc(a, 3 + blen);
    memcpy(out, "v1,", 3);
    sodium_bin2base64(out + 3, blen, mac, sizeof mac, B64);
    sodium_memzero(mac, sizeof mac);
    return out;
}

/* Does the base64 text [p, p+n) decode to exactly the 32 bytes of mac?
 * Constant time in the comparison; malformed base64 is simply no. */
static int entry_matches(const char *p, size_t n, const unsigned char mac[SIG_BYTES])
{
    unsigned char got[SIG_BYTES];
    size_t len = 0;
    const char *end = NULL;
    /* base64 of 32 bytes is 44 characters with padding: anything else is no. */
    if (n != sodium_base64_encoded_len(SIG_BYTES, B64) - 1 || !b64_text(p, n))
        return 0;
    if (sodium_base642bin(got, sizeof got, p, n, NULL, &len, &end, B64) != 0 || end != p + n ||
        len != SIG_BYTES)
        return 0;
    int ok = crypto_verify_32(got, mac) == 0;
    sodium_memzero(got, sizeof got);
    return ok;
}

enum webhook_sig_result webhook_sig_verify(const char *secret, const char *msg_id,
                                           const char *timestamp, const void *body, size_t n,
                                           const char *sig_header)
{
    if (!msg_id || !*msg_id || !timestamp || !*timestamp || !sig_header || !*sig_header ||
        (n && !body))
        return WEBHOOK_SIG_MISSING;
    unsigned char mac[SIG_BYTES];
    if (!mac_of(secret, msg_id, timestamp, body, n, mac))
        return WEBHOOK_SIG_BAD_SECRET;
    int v1 = 0, ok = 0;
    const char *p = sig_header;
    while (*p && !ok) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len > 3 && memcmp(p, "v1,", 3) == 0) {
            v1 = 1;
            ok = entry_matches(p + 3, len - 3, mac);
        }
        p += len;
    }
    sodium_memzero(mac, sizeof mac);
    return ok ? WEBHOOK_SIG_OK : v1 ? WEBHOOK_SIG_MISMATCH : WEBHOOK_SIG_NO_V1;
}

enum webhook_sig_result webhook_sig_check_time(const char *timestamp, time_t now,
                                               long tolerance)
{
    if (!timestamp || !*timestamp)
        return WEBHOOK_SIG_MISSING;
    long long ts = 0;
    size_t i = 0;
    for (; timestamp[i]; i++) {
        if (timestamp[i] < '0' || timestamp[i] > '9' || i >= 18)
            return WEBHOOK_SIG_BAD_TIMESTAMP;
        ts = ts * 10 + (timestamp[i] - '0');
    }
    if (tolerance < 0)
        tolerance = 0;
    if (ts < (long long)now - tolerance)
        return WEBHOOK_SIG_TOO_OLD;
    if (ts > (long long)now + tolerance)
        return WEBHOOK_SIG_TOO_NEW;
    return WEBHOOK_SIG_OK;
}
