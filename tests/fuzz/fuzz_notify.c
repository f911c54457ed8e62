// fuzz-sources: app/sync/notify.c app/sync/notify_target.c app/core/arena.c app/core/err.c
// fuzz-sources: app/core/jsonx.c app/core/webhook_sig.c app/core/keyring.c app/core/crypto.c
// fuzz-sources: app/core/settings.c app/core/db.c app/core/log.c app/core/config.c
// fuzz-sources: app/core/sbuf.c app/sync/notify_http.c
// fuzz-libs: libsodium jansson libcurl
/* fuzz_notify.c - libFuzzer target for the text handling of notifications:
 * notify_clip, notify_retry_after, notify_mask_url / notify_mask_token
 * and notify_render of every type with fuzzed event text.
 *
 * The input is split at the first three newlines into: a pipeline name,
 * an error text, a URL (also used as the bot token), and the rest (a
 * Retry-After value). The first two bytes pick the clip limit. Invariants
 * beyond memory safety:
 *   - a clip is valid UTF-8 within its limit, and the input itself when
 *     the input is valid UTF-8 that fits;
 *   - Retry-After is -1 or within 0 .. one year;
 *   - masks are valid UTF-8 and never show the URL's query or the token
 *     past its first four characters;
 *   - every rendered body is JSON (so valid UTF-8), and Slack's section,
 *     Discord's description and Telegram's text keep their limits.
 * Build and run through tests/fuzz/run.sh. */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "sync/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when s is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n, cp, min;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

static const char *part(arena *a, const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl ? nl : end;
    char *s = arena_strndup(a, (const char *)*p, (size_t)(stop - *p));
    *p = nl ? nl + 1 : end;
    return s;
}

static const char *slack_section(json_t *body)
{
    json_t *blocks = json_object_get(body, "blocks");
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b) {
        const char *t = jsonx_str(json_object_get(b, "text"), "text", NULL);
        if (t && strcmp(jsonx_str(b, "type", ""), "section") == 0)
            return t;
    }
    return "";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        if (sodium_init() < 0)
            abort();
        init = 1;
    }
    if (size < 2)
        return 0;
    size_t max = ((size_t)data[0] << 8 | data[1]) % 5000;
    arena *a = arena_new(0);
    const uint8_t *p = data + 2, *end = data + size;
    const char *name = part(a, &p, end), *error = part(a, &p, end);
    const char *url = part(a, &p, end), *rest = part(a, &p, end);

    const char *c = notify_clip(a, error, max);
    if (!utf8_ok(c) || notify_u16len(c) > max)
        abort();
    if (utf8_ok(error) && notify_u16len(error) <= max && strcmp(c, error) != 0)
        abort();

    long ra = notify_retry_after(rest, 1700000000);
    if (ra < -1 || ra > 366L * 24 * 3600)
        abort();

    for (int host_only = 0; host_only < 2; host_only++) {
        const char *m = notify_mask_url(a, url, host_only);
        const char *q = strchr(url, '?');
        if (!utf8_ok(m) || (q && strlen(q) > 8 && strstr(m, q)))
            abort();
    }
    const char *mt = notify_mask_token(a, url);
    if (!utf8_ok(mt) || (strlen(url) > 12 && strstr(mt, url + 4)))
        abort();

    /* Rendering takes JSON data: only valid UTF-8 gets that far. */
    if (utf8_ok(name) && utf8_ok(error) && utf8_ok(url)) {
        notify_env env = {0};
        env.base_url = "https://sluice.example.com";
        json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "url", "https://h.example/a/b",
                                "bot_token", "1:x", "chat_id", "1", "secret",
                                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:I}", "run_id", "1", "pipeline_name", name,
                               "error", error, "rows", (json_int_t)size, "duration_ms",
                               (json_int_t)max);
        static const char *const types[] = {"slack", "discord", "telegram", "webhook"};
        static const char *const events[] = {"run.failed", "schema.drifted", "quality.failed"};
        for (int t = 0; t < 4 && cfg && ev; t++) {
            notify_request r;
            if (notify_render(a, &env, types[t], cfg, events[size % 3], ev, "msg_1",
                              1700000000, &r, NULL) != SL_OK)
                abort();
            json_t *b = json_loadb(r.body, r.body_len, 0, NULL);
            if (!b)
                abort();
            if ((t == 0 && notify_u16len(slack_section(b)) > NOTIFY_SLACK_SECTION_MAX) ||
                (t == 1 && notify_u16len(jsonx_str(json_array_get(json_object_get(b, "embeds"),
                                                                 0),
                                                  "description", "")) >
                               NOTIFY_DISCORD_DESC_MAX) ||
                (t == 2 && notify_u16len(jsonx_str(b, "text", "")) > NOTIFY_TELEGRAM_TEXT_MAX))
                abort();
            json_decref(b);
        }
        json_decref(cfg);
        json_decref(ev);
    }
    arena_free(a);
    return 0;
}
