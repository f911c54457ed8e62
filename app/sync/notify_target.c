/* notify_target.c - notification targets as they are stored: the
 * delivery settings, the checks of a target's fields, the masks that stand
 * for secrets on pages and in the API, and the sealed secret part (see
 * sql/008_notifications.sql for the columns and notify.h for the API).
 *
 * The secret part of a target (webhook URLs, a bot token, a signing
 * secret) is a JSON object sealed with the keyring; it is opened only to
 * send, into the caller's arena. */
#include <curl/curl.h>
#include <string.h>

#include "jsonx.h"
#include "keyring.h"
#include "log.h"
#include "notify.h"
#include "settings.h"
#include "webhook_sig.h"

void notify_env_load(db *d, arena *a, const char *base_url, notify_env *env)
{
    memset(env, 0, sizeof *env);
    json_t *o = NULL;
    sl_errbuf eb = {0};
    sl_err e = d ? settings_get(d, a, "notifications", &o, &eb) : SL_ENOTFOUND;
    if (e && e != SL_ENOTFOUND)
        log_warn("notifications settings: %s (using the defaults)", eb.msg);
    const char *tb = jsonx_str(o, "telegram_base", NULL);
    env->telegram_base = tb && notify_check_url(tb) == NULL ? tb : NOTIFY_TELEGRAM_BASE;
    env->base_url = base_url && *base_url ? arena_strdup(a, base_url) : NULL;
    env->allow_private = settings_obj_bool(o, "allow_private_networks", 0);
    env->timeout_seconds =
        (int)settings_obj_int(o, "timeout_seconds", NOTIFY_TIMEOUT_DEFAULT, 1, NOTIFY_TIMEOUT_MAX);
    env->max_attempts = (int)settings_obj_int(o, "max_attempts", 8, 1, 100);
    env->base_backoff_seconds = (int)settings_obj_int(o, "base_backoff_seconds", 10, 1, 86400);
}

/* --- checks ------------------------------------------------------------------------------- */

static int has_space_or_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

const char *notify_check_url(const char *url)
{
    if (!url || !*url)
        return "enter the URL";
    if (strlen(url) > NOTIFY_URL_MAX)
        return "must be at most 2048 bytes";
    if (has_space_or_control(url))
        return "must not contain spaces or control characters";
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return "must start with https:// (or http://)";
    const char *auth = strstr(url, "://") + 3;
    if (*auth == '/' || *auth == '?' || *auth == '#' || *auth == '\0')
        return "must name a host";
    CURLU *u = curl_url();
    char *host = NULL, *frag = NULL;
    const char *why = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        why = "is not a valid URL";
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        why = "must name a host";
    else if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK && frag)
        why = "must not have a #fragment";
    curl_free(host);
    curl_free(frag);
    curl_url_cleanup(u);
    return why;
}

const char *notify_check_bot_token(const char *t)
{
    /* <bot id>:<secret>, e.g. 123456789:AAH...; the secret is base64url-ish. */
    if (!t || !*t)
        return "enter the bot token";
    size_t digits = strspn(t, "0123456789");
    if (digits == 0 || digits > 20 || t[digits] != ':')
        return "must look like 123456789:AA... (from @BotFather)";
    const char *s = t + digits + 1;
    size_t n = strlen(s);
    if (n < 20 || n > 200 ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return "must look like 123456789:AA... (from @BotFather)";
    return NULL;
}

const char *notify_check_chat_id(const char *c)
{
    if (!c || !*c)
        return "enter the chat id";
    size_t n = strlen(c);
    if (c[0] == '@') {
        /* A public channel's username: 5 to 32 of [A-Za-z0-9_]. */
        if (n < 6 || n > 33 ||
            strspn(c + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                n - 1)
            return "must be a number (e.g. -1001234567890) or @channelname";
        return NULL;
    }
    const char *d = c[0] == '-' ? c + 1 : c;
    size_t dn = strlen(d);
    if (dn == 0 || dn > 20 || strspn(d, "0123456789") != dn)
        return "must be a number (e.g. -1001234567890) or @channelname";
    return NULL;
}

const char *notify_check_secret(const char *s)
{
    unsigned char key[WEBHOOK_SIG_KEY_MAX];
    size_t len;
    if (!s || !*s)
        return "enter the signing secret, or leave it blank to have one made";
    if (strncmp(s, WEBHOOK_SIG_PREFIX, strlen(WEBHOOK_SIG_PREFIX)) != 0)
        return "must start with whsec_";
    int ok = webhook_sig_key(s, key, &len);
    memset(key, 0, sizeof key);
    return ok ? NULL : "must be whsec_ followed by base64 of 16 to 64 bytes";
}

/* --- masks -------------------------------------------------------------------------------- */

/* A path segment that names a thing rather than holds a key: letters only
 * ("services", "api", "webhooks"), or v + digits ("v10"). */
static int plain_word(const char *p, size_t n)
{
    if (n == 0 || n > 20)
        return 0;
    size_t letters = 0;
    while (letters < n && ((p[letters] >= 'a' && p[letters] <= 'z') ||
                           (p[letters] >= 'A' && p[letters] <= 'Z')))
        letters++;
    if (letters == n)
        return 1;
    if (n >= 2 && (p[0] == 'v' || p[0] == 'V')) {
        for (size_t i = 1; i < n; i++)
            if (p[i] < '0' || p[i] > '9')
                return 0;
        return 1;
    }
    return 0;
}

/* The first up to 4 characters of [p, p+n) (whole UTF-8 sequences). */
static const char *first4(arena *a, const char *p, size_t n)
{
    size_t i = 0;
    int chars = 0;
    while (i < n && chars < 4) {
        i++;
        while (i < n && ((unsigned char)p[i] & 0xc0) == 0x80)
            i++;
        chars++;
    }
    return arena_strndup(a, p, i);
}

const char *notify_mask_url(arena *a, const char *url, int host_only)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    const char *out = "(invalid URL)";
    if (u && url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        out = arena_printf(a, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
        const char *p = path ? path : "";
        while (*p == '/')
            p++;
        if (host_only) {
            if (*p)
                out = arena_printf(a, "%s/\xe2\x80\xa6", out);
        } else if (*p) {
            /* Plain words stay; the next segment shows 4 characters; the rest is ****. */
            for (;;) {
                size_t n = strcspn(p, "/");
                if (plain_word(p, n) && p[n] == '/') {
                    out = arena_printf(a, "%s/%.*s", out, (int)n, p);
                    p += n + 1;
                    continue;
                }
                if (p[n] == '/' && n > 0)
                    out = arena_printf(a, "%s/%s\xe2\x80\xa6/****", out, first4(a, p, n));
                else
                    out = arena_printf(a, "%s/****", out);
                break;
            }
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return notify_clip(a, out, NOTIFY_URL_MAX * 4); /* valid UTF-8 whatever came in */
}

const char *notify_mask_token(arena *a, const char *token)
{
    if (!token || !*token)
        return "****";
    size_t n = strcspn(token, ":");
    return notify_clip(a, arena_printf(a, "%s\xe2\x80\xa6:****", first4(a, token, n < 4 ? n : 4)),
                       64);
}

/* --- the sealed part ---------------------------------------------------------------------- */

char *notify_target_seal(arena *a, const json_t *secret)
{
    return keyring_seal(a, jsonx_dump(a, secret));
}

sl_err notify_target_secret(arena *a, const char *secret_enc, json_t **out, sl_errbuf *eb)
{
    *out = NULL;
    char *plain = NULL;
    sl_err e = keyring_open(a, secret_enc ? secret_enc : "", &plain, eb);
    if (e == SL_ECRYPTO || e == SL_ECONFIG)
        return sl_fail(eb, SL_ECRYPTO,
                       "the target's secrets cannot be opened with this secret key (was the key"
                       " changed?); edit the target and enter them again");
    if (e)
        return sl_fail(eb, SL_EPARSE, "the target's sealed secrets are damaged; edit the target"
                                      " and enter them again");
    json_t *v = jsonx_parse(a, NULL, plain, strlen(plain));
    if (!json_is_object(v))
        return sl_fail(eb, SL_EPARSE, "the target's sealed secrets are not a JSON object");
    *out = v;
    return SL_OK;
}

sl_err notify_target_open(arena *a, const char *config_json, const char *secret_enc,
                          json_t **out, sl_errbuf *eb)
{
    *out = NULL;
    json_t *cfg = jsonx_parse(a, NULL, config_json ? config_json : "{}",
                              strlen(config_json ? config_json : "{}"));
    if (!json_is_object(cfg))
        return sl_fail(eb, SL_EPARSE, "the target's config is not a JSON object");
    json_t *sec;
    sl_err e = notify_target_secret(a, secret_enc, &sec, eb);
    if (e)
        return e;
    json_t *merged = jsonx_own(a, json_deep_copy(cfg));
    json_object_update(merged, sec);
    *out = merged;
    return SL_OK;
}
