/* check_notify.c - unit tests for app/sync/notify*.c: the exact body of
 * each format (Slack, Discord, Telegram, webhook) for a success, a failure
 * and text full of HTML and markdown specials; long errors and emoji cut
 * within each service's limit on code point boundaries; colours and
 * details by event; the webhook signature recomputed here with libsodium;
 * the SSRF classifier (IPv4, IPv6, mapped and embedded forms, edges);
 * Retry-After (seconds, the three date forms, junk); URL and token masks
 * and the field checks; and notify_send against a small HTTP server in a
 * thread (status and answer, Retry-After, a redirect not followed, a hang
 * timed out, the guard refusing 127.0.0.1, localhost and 10.0.0.1 before
 * any connection). */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonx.h"
#include "sync/notify.h"
#include "webhook_sig.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_2Yp"
#define TS 1717158896LL /* 2024-05-31T12:34:56Z */
#define ELL "\xe2\x80\xa6"
#define GRIN "\xf0\x9f\x98\x80" /* U+1F600, two UTF-16 units */

static arena *A;
static notify_env ENV;

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    A = arena_new(0);
    memset(&ENV, 0, sizeof ENV);
    ENV.base_url = "https://sluice.example.com";
    ENV.telegram_base = "https://api.telegram.org";
    ENV.timeout_seconds = 5;
}

static void teardown(void)
{
    arena_free(A);
}

static json_t *config(void)
{
    return jsonx_own(A, json_pack("{s:s, s:s, s:s, s:s}", "url",
                                  "https://hooks.example.com/services/T000/B000/XXXX",
                                  "bot_token", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "chat_id",
                                  "-100123", "secret", SECRET));
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    ck_assert_msg(v != NULL, "not JSON: %s (%s)", err.text, text);
    return jsonx_own(A, v);
}

static notify_request render(const char *type, const char *event, const json_t *data)
{
    notify_request r;
    sl_errbuf eb = {0};
    sl_err e = notify_render(A, &ENV, type, config(), event, data, MSG_ID, TS, &r, &eb);
    ck_assert_msg(e == SL_OK, "%s/%s: %s", type, event, eb.msg);
    ck_assert_uint_eq(r.body_len, strlen(r.body));
    parse(r.body); /* valid JSON, hence valid UTF-8 */
    return r;
}

/* --- exact bodies ------------------------------------------------------------------------- */

static const char *const cases[] = {
    "{\"run_id\":\"42\",\"pipeline_id\":\"7d1c2a40-0000-4000-8000-000000000001\","
    "\"pipeline_name\":\"orders\",\"status\":\"success\",\"rows\":1234,\"duration_ms\":5678,"
    "\"error\":null,\"dead_letters\":0}",
    "{\"run_id\":\"43\",\"pipeline_id\":\"7d1c2a40-0000-4000-8000-000000000001\","
    "\"pipeline_name\":\"orders\",\"status\":\"failed\",\"rows\":0,\"duration_ms\":850,"
    "\"error\":\"could not connect to server: Connection refused\",\"dead_letters\":0}",
    "{\"run_id\":\"44\",\"pipeline_id\":\"7d1c2a40-0000-4000-8000-000000000001\","
    "\"pipeline_name\":\"a<b>&\\\"c\\\"\",\"status\":\"failed\",\"rows\":12,"
    "\"duration_ms\":3723000,\"error\":\"<script>alert(1)</script> & \\\"q\\\" `x` *y*\","
    "\"dead_letters\":2}",
};
static const char *const case_events[] = {"run.succeeded", "run.failed", "run.failed"};
static const char *const types[] = {"slack", "discord", "telegram", "webhook"};

static const char *const bodies[] = {
    /* case 0, slack */
     "{\"text\":\"Run succeeded: orders - Rows: 1,234, Duration: 5.7 s, Run: 42\\n<h"
     "ttps://sluice.example.com/runs/42|Open run>\",\"blocks\":[{\"type\":\"header\""
     ",\"text\":{\"type\":\"plain_text\",\"text\":\"Run succeeded: orders\",\"emoji\""
     ":true}},{\"type\":\"section\",\"fields\":[{\"type\":\"mrkdwn\",\"text\":\"*Pip"
     "eline*\\norders\"},{\"type\":\"mrkdwn\",\"text\":\"*Outcome*\\nsucceeded\"},{\""
     "type\":\"mrkdwn\",\"text\":\"*Rows*\\n1,234\"},{\"type\":\"mrkdwn\",\"text\":\""
     "*Duration*\\n5.7 s\"},{\"type\":\"mrkdwn\",\"text\":\"*Run*\\n42\"}]},{\"type\""
     ":\"actions\",\"elements\":[{\"type\":\"button\",\"text\":{\"type\":\"plain_tex"
     "t\",\"text\":\"Open run\"},\"url\":\"https://sluice.example.com/runs/42\"}]}]}",
    /* case 0, discord */
     "{\"embeds\":[{\"title\":\"Run succeeded: orders\",\"url\":\"https://sluice.exa"
     "mple.com/runs/42\",\"color\":3061373,\"fields\":[{\"name\":\"Pipeline\",\"valu"
     "e\":\"orders\",\"inline\":true},{\"name\":\"Outcome\",\"value\":\"succeeded\","
     "\"inline\":true},{\"name\":\"Rows\",\"value\":\"1,234\",\"inline\":true},{\"na"
     "me\":\"Duration\",\"value\":\"5.7 s\",\"inline\":true},{\"name\":\"Run\",\"val"
     "ue\":\"42\",\"inline\":true}],\"footer\":{\"text\":\"sluice\"},\"timestamp\":\""
     "2024-05-31T12:34:56Z\"}],\"allowed_mentions\":{\"parse\":[]}}",
    /* case 0, telegram */
     "{\"chat_id\":\"-100123\",\"text\":\"<b>Run succeeded: orders</b>\\nRows: 1,234"
     "\\nDuration: 5.7 s\\nRun: 42\\n<a href=\\\"https://sluice.example.com/runs/42\\"
     "\">Open run</a>\",\"parse_mode\":\"HTML\",\"disable_web_page_preview\":true}",
    /* case 0, webhook */
     "{\"type\":\"run.succeeded\",\"timestamp\":\"2024-05-31T12:34:56Z\",\"data\":{\""
     "run_id\":\"42\",\"pipeline_id\":\"7d1c2a40-0000-4000-8000-000000000001\",\"pip"
     "eline_name\":\"orders\",\"status\":\"success\",\"rows\":1234,\"duration_ms\":5"
     "678,\"error\":null,\"dead_letters\":0,\"run_url\":\"https://sluice.example.com"
     "/runs/42\"}}",
    /* case 1, slack */
     "{\"text\":\"Run failed: orders - Rows: 0, Duration: 850 ms, Run: 43\\nError: c"
     "ould not connect to server: Connection refused\\n<https://sluice.example.com/r"
     "uns/43|Open run>\",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain"
     "_text\",\"text\":\"Run failed: orders\",\"emoji\":true}},{\"type\":\"section\""
     ",\"fields\":[{\"type\":\"mrkdwn\",\"text\":\"*Pipeline*\\norders\"},{\"type\":"
     "\"mrkdwn\",\"text\":\"*Outcome*\\nfailed\"},{\"type\":\"mrkdwn\",\"text\":\"*R"
     "ows*\\n0\"},{\"type\":\"mrkdwn\",\"text\":\"*Duration*\\n850 ms\"},{\"type\":\""
     "mrkdwn\",\"text\":\"*Run*\\n43\"}]},{\"type\":\"section\",\"text\":{\"type\":\""
     "mrkdwn\",\"text\":\"*Error*\\n```could not connect to server: Connection refus"
     "ed```\"}},{\"type\":\"actions\",\"elements\":[{\"type\":\"button\",\"text\":{\""
     "type\":\"plain_text\",\"text\":\"Open run\"},\"url\":\"https://sluice.example."
     "com/runs/43\"}]}]}",
    /* case 1, discord */
     "{\"embeds\":[{\"title\":\"Run failed: orders\",\"url\":\"https://sluice.exampl"
     "e.com/runs/43\",\"description\":\"**Error**\\n```\\ncould not connect to serve"
     "r: Connection refused\\n```\",\"color\":14687834,\"fields\":[{\"name\":\"Pipel"
     "ine\",\"value\":\"orders\",\"inline\":true},{\"name\":\"Outcome\",\"value\":\""
     "failed\",\"inline\":true},{\"name\":\"Rows\",\"value\":\"0\",\"inline\":true},"
     "{\"name\":\"Duration\",\"value\":\"850 ms\",\"inline\":true},{\"name\":\"Run\""
     ",\"value\":\"43\",\"inline\":true}],\"footer\":{\"text\":\"sluice\"},\"timesta"
     "mp\":\"2024-05-31T12:34:56Z\"}],\"allowed_mentions\":{\"parse\":[]}}",
    /* case 1, telegram */
     "{\"chat_id\":\"-100123\",\"text\":\"<b>Run failed: orders</b>\\nRows: 0\\nDura"
     "tion: 850 ms\\nRun: 43\\n\\n<b>Error</b>\\n<pre>could not connect to server: C"
     "onnection refused</pre>\\n<a href=\\\"https://sluice.example.com/runs/43\\\">O"
     "pen run</a>\",\"parse_mode\":\"HTML\",\"disable_web_page_preview\":true}",
    /* case 1, webhook */
     "{\"type\":\"run.failed\",\"timestamp\":\"2024-05-31T12:34:56Z\",\"data\":{\"ru"
     "n_id\":\"43\",\"pipeline_id\":\"7d1c2a40-0000-4000-8000-000000000001\",\"pipel"
     "ine_name\":\"orders\",\"status\":\"failed\",\"rows\":0,\"duration_ms\":850,\"e"
     "rror\":\"could not connect to server: Connection refused\",\"dead_letters\":0,"
     "\"run_url\":\"https://sluice.example.com/runs/43\"}}",
    /* case 2, slack */
     "{\"text\":\"Run failed: a&lt;b&gt;&amp;\\\"c\\\" - Rows: 12, Duration: 1 h 2 m"
     "in, Dead letters: 2, Run: 44\\nError: &lt;script&gt;alert(1)&lt;/script&gt; &a"
     "mp; \\\"q\\\" `x` *y*\\n<https://sluice.example.com/runs/44|Open run>\",\"bloc"
     "ks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"Run fa"
     "iled: a<b>&\\\"c\\\"\",\"emoji\":true}},{\"type\":\"section\",\"fields\":[{\"t"
     "ype\":\"mrkdwn\",\"text\":\"*Pipeline*\\na&lt;b&gt;&amp;\\\"c\\\"\"},{\"type\""
     ":\"mrkdwn\",\"text\":\"*Outcome*\\nfailed\"},{\"type\":\"mrkdwn\",\"text\":\"*"
     "Rows*\\n12\"},{\"type\":\"mrkdwn\",\"text\":\"*Duration*\\n1 h 2 min\"},{\"typ"
     "e\":\"mrkdwn\",\"text\":\"*Dead letters*\\n2\"},{\"type\":\"mrkdwn\",\"text\":"
     "\"*Run*\\n44\"}]},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\""
     ":\"*Error*\\n```&lt;script&gt;alert(1)&lt;/script&gt; &amp; \\\"q\\\" \xcb\x8bx"
     "\xcb\x8b *y*```\"}},{\"type\":\"actions\",\"elements\":[{\"type\":\"button\",\""
     "text\":{\"type\":\"plain_text\",\"text\":\"Open run\"},\"url\":\"https://sluic"
     "e.example.com/runs/44\"}]}]}",
    /* case 2, discord */
     "{\"embeds\":[{\"title\":\"Run failed: a<b>&\\\"c\\\"\",\"url\":\"https://sluic"
     "e.example.com/runs/44\",\"description\":\"**Error**\\n```\\n<script>alert(1)</"
     "script> & \\\"q\\\" \xcb\x8bx\xcb\x8b *y*\\n```\",\"color\":14687834,\"fields\""
     ":[{\"name\":\"Pipeline\",\"value\":\"a<b\\\\>&\\\"c\\\"\",\"inline\":true},{\""
     "name\":\"Outcome\",\"value\":\"failed\",\"inline\":true},{\"name\":\"Rows\",\""
     "value\":\"12\",\"inline\":true},{\"name\":\"Duration\",\"value\":\"1 h 2 min\""
     ",\"inline\":true},{\"name\":\"Dead letters\",\"value\":\"2\",\"inline\":true},"
     "{\"name\":\"Run\",\"value\":\"44\",\"inline\":true}],\"footer\":{\"text\":\"sl"
     "uice\"},\"timestamp\":\"2024-05-31T12:34:56Z\"}],\"allowed_mentions\":{\"parse"
     "\":[]}}",
    /* case 2, telegram */
     "{\"chat_id\":\"-100123\",\"text\":\"<b>Run failed: a&lt;b&gt;&amp;&quot;c&quot"
     ";</b>\\nRows: 12\\nDuration: 1 h 2 min\\nDead letters: 2\\nRun: 44\\n\\n<b>Err"
     "or</b>\\n<pre>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; `x` *y"
     "*</pre>\\n<a href=\\\"https://sluice.example.com/runs/44\\\">Open run</a>\",\""
     "parse_mode\":\"HTML\",\"disable_web_page_preview\":true}",
    /* case 2, webhook */
     "{\"type\":\"run.failed\",\"timestamp\":\"2024-05-31T12:34:56Z\",\"data\":{\"ru"
     "n_id\":\"44\",\"pipeline_id\":\"7d1c2a40-0000-4000-8000-000000000001\",\"pipel"
     "ine_name\":\"a<b>&\\\"c\\\"\",\"status\":\"failed\",\"rows\":12,\"duration_ms\""
     ":3723000,\"error\":\"<script>alert(1)</script> & \\\"q\\\" `x` *y*\",\"dead_le"
     "tters\":2,\"run_url\":\"https://sluice.example.com/runs/44\"}}",
};

START_TEST(test_exact_bodies)
{
    int c = _i / 4;
    const char *type = types[_i % 4];
    notify_request r = render(type, case_events[c], parse(cases[c]));
    ck_assert_msg(strcmp(r.body, bodies[_i]) == 0, "case %d %s:\n got %s\nwant %s", c, type,
                  r.body, bodies[_i]);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_str_eq(r.headers[0], "Content-Type: application/json");
}
END_TEST

START_TEST(test_urls_and_headers)
{
    json_t *d = parse(cases[0]);
    notify_request r = render("telegram", "run.succeeded", d);
    ck_assert_str_eq(r.url, "https://api.telegram.org/bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "/sendMessage");
    ck_assert_str_eq(r.url_masked, "https://api.telegram.org/bot1234" ELL ":****/sendMessage");
    ENV.telegram_base = "http://127.0.0.1:8999/";
    r = render("telegram", "run.succeeded", d);
    ck_assert_str_eq(r.url, "http://127.0.0.1:8999/bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "/sendMessage");
    r = render("slack", "run.succeeded", d);
    ck_assert_str_eq(r.url, "https://hooks.example.com/services/T000/B000/XXXX");
    ck_assert_str_eq(r.url_masked, "https://hooks.example.com/services/T000" ELL "/****");
    ck_assert_ptr_null(r.headers[2]);
    r = render("webhook", "run.succeeded", d);
    ck_assert_str_eq(r.url_masked, "https://hooks.example.com/" ELL);
    ck_assert_str_eq(r.headers[2], "webhook-id: " MSG_ID);
    ck_assert_str_eq(r.headers[3], "webhook-timestamp: 1717158896");
    ck_assert_str_eq(r.headers[4], "webhook-signature: v1,6cB3KgZ/IjFcr5rIpvDK7IRuEz/OE8TD3iCEcevf"
                                   "WAM=");
    ck_assert_ptr_null(r.headers[5]);
    /* The secrets notify_send scrubs: the URL, its path, and the signing secret. */
    int n = 0, url = 0, path = 0, secret = 0;
    for (const char *const *s = r.secrets; *s; s++, n++) {
        url |= strcmp(*s, "https://hooks.example.com/services/T000/B000/XXXX") == 0;
        path |= strcmp(*s, "/services/T000/B000/XXXX") == 0;
        secret |= strcmp(*s, SECRET) == 0;
    }
    ck_assert_int_eq(n, 3);
    ck_assert(url && path && secret);
    /* No base URL, no run id: no link anywhere. */
    ENV.base_url = NULL;
    r = render("slack", "run.succeeded", d);
    ck_assert_ptr_null(strstr(r.body, "Open run"));
    ck_assert_ptr_null(strstr(r.body, "actions"));
}
END_TEST

/* The signature, recomputed from the spec: base64(HMAC-SHA256(key, id.ts.body)). */
START_TEST(test_signature_verifies)
{
    json_t *d = parse(cases[2]);
    notify_request r = render("webhook", "run.failed", d);
    const char *sig = r.headers[4] + strlen("webhook-signature: ");
    ck_assert_int_eq(strncmp(sig, "v1,", 3), 0);

    unsigned char key[64], mac[crypto_auth_hmacsha256_BYTES];
    size_t klen;
    const char *b64 = SECRET + 6;
    ck_assert_int_eq(sodium_base642bin(key, sizeof key, b64, strlen(b64), NULL, &klen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    const char *signed_text = arena_printf(A, "%s.%lld.%s", MSG_ID, TS, r.body);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signed_text, strlen(signed_text));
    crypto_auth_hmacsha256_final(&st, mac);
    char want[64];
    sodium_bin2base64(want, sizeof want, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    ck_assert_str_eq(sig + 3, want);

    ck_assert_int_eq(webhook_sig_verify(SECRET, MSG_ID, "1717158896", r.body, r.body_len, sig),
                     WEBHOOK_SIG_OK);
    ck_assert_int_eq(webhook_sig_verify(SECRET, MSG_ID, "1717158897", r.body, r.body_len, sig),
                     WEBHOOK_SIG_MISMATCH);
    ck_assert_int_eq(webhook_sig_verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", MSG_ID,
                                        "1717158896", r.body, r.body_len, sig),
                     WEBHOOK_SIG_MISMATCH);
    ck_assert_str_eq(notify_sign(A, SECRET, MSG_ID, TS, r.body, r.body_len), sig);
    ck_assert_ptr_null(notify_sign(A, "whsec_!!", MSG_ID, TS, r.body, r.body_len));

    /* The body: {type, timestamp, data} with the event's data and the run's link. */
    json_t *b = parse(r.body);
    ck_assert_str_eq(jsonx_str(b, "type", ""), "run.failed");
    ck_assert_str_eq(jsonx_str(b, "timestamp", ""), "2024-05-31T12:34:56Z");
    ck_assert_str_eq(jsonx_str(json_object_get(b, "data"), "run_url", ""),
                     "https://sluice.example.com/runs/44");
    ck_assert_int_eq(jsonx_int(json_object_get(b, "data"), "dead_letters", -1), 2);
}
END_TEST

START_TEST(test_render_refusals)
{
    notify_request r;
    sl_errbuf eb = {0};
    json_t *d = parse(cases[0]);
    ck_assert_int_eq(notify_render(A, &ENV, "email", config(), "run.failed", d, MSG_ID, TS, &r,
                                   &eb), SL_EINVAL);
    ck_assert_int_eq(notify_render(A, &ENV, "slack", NULL, "run.failed", d, MSG_ID, TS, &r, &eb),
                     SL_EINVAL);
    json_t *partial = jsonx_own(A, json_pack("{s:s}", "bot_token", "1:x"));
    ck_assert_int_eq(notify_render(A, &ENV, "telegram", partial, "run.failed", d, MSG_ID, TS, &r,
                                   &eb), SL_EINVAL);
    ck_assert_str_eq(eb.msg, "telegram target: no chat_id in its config");
    ck_assert_int_eq(notify_render(A, &ENV, "webhook", partial, "run.failed", d, MSG_ID, TS, &r,
                                   NULL), SL_EINVAL);
    json_t *bad = jsonx_own(A, json_pack("{s:s, s:s}", "url", "https://x.example", "secret",
                                         "whsec_short"));
    ck_assert_int_eq(notify_render(A, &ENV, "webhook", bad, "run.failed", d, MSG_ID, TS, &r,
                                   &eb), SL_EINVAL);
    ck_assert_str_eq(eb.msg, "webhook target: the signing secret is unusable");
    ck_assert_int_eq(notify_render(A, &ENV, "webhook", config(), "run.failed", d, "", TS, &r,
                                   &eb), SL_EINVAL);
}
END_TEST

/* --- limits ------------------------------------------------------------------------------- */

static const char *repeat(const char *s, int n)
{
    size_t l = strlen(s);
    char *out = arena_alloc(A, l * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(out + l * (size_t)i, s, l);
    out[l * (size_t)n] = '\0';
    return out;
}

static json_t *failed_with(const char *error, const char *name)
{
    return jsonx_own(A, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "run_id", "9",
                                  "pipeline_name", name, "status", "failed", "rows",
                                  (json_int_t)1, "duration_ms", (json_int_t)1, "error", error,
                                  "dead_letters", (json_int_t)0));
}

static const char *slack_error_text(const char *body)
{
    json_t *blocks = json_object_get(parse(body), "blocks");
    json_t *sec = json_array_get(blocks, 2);
    ck_assert_str_eq(jsonx_str(sec, "type", ""), "section");
    return jsonx_str(json_object_get(sec, "text"), "text", "");
}

static const char *ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    ck_assert_msg(n >= t && strcmp(s + n - t, tail) == 0, "'%.40s...' does not end with '%s'",
                  s, tail);
    return s;
}

START_TEST(test_long_error_cut)
{
    json_t *d = failed_with(repeat("x", 10000), "orders");
    /* Slack: the section is exactly 3000 units: *Error*\n``` + 2985 x + … + ```. */
    const char *t = slack_error_text(render("slack", "run.failed", d).body);
    ck_assert_str_eq(t, arena_printf(A, "*Error*\n```%s" ELL "```", repeat("x", 2985)));
    ck_assert_uint_eq(notify_u16len(t), NOTIFY_SLACK_SECTION_MAX);
    json_t *sb = parse(render("slack", "run.failed", d).body);
    ck_assert_uint_le(notify_u16len(jsonx_str(sb, "text", "")), NOTIFY_SLACK_TEXT_MAX);
    ends_with(jsonx_str(sb, "text", ""), ELL "\n<https://sluice.example.com/runs/9|Open run>");

    /* Discord: the description at its 4096 limit, the embed under 6000. */
    json_t *embed = json_array_get(json_object_get(parse(render("discord", "run.failed",
                                                                  d).body), "embeds"), 0);
    const char *desc = jsonx_str(embed, "description", "");
    ck_assert_uint_eq(notify_u16len(desc), NOTIFY_DISCORD_DESC_MAX);
    ends_with(desc, "xx" ELL "\n```");
    size_t total = notify_u16len(jsonx_str(embed, "title", "")) + notify_u16len(desc) + 6;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(embed, "fields"), i, f)
        total += notify_u16len(jsonx_str(f, "name", "")) +
                 notify_u16len(jsonx_str(f, "value", ""));
    ck_assert_uint_le(total, NOTIFY_DISCORD_EMBED_MAX);

    /* Telegram: the text at its 4096 limit, the <pre> closed, the link kept. */
    json_t *tg = parse(render("telegram", "run.failed", d).body);
    const char *text = jsonx_str(tg, "text", "");
    ck_assert_uint_eq(notify_u16len(text), NOTIFY_TELEGRAM_TEXT_MAX);
    ends_with(text, "x" ELL "</pre>\n<a href=\"https://sluice.example.com/runs/9\">Open run</a>");

    /* A huge pipeline name: the header within 150, the title within 256. */
    d = failed_with("e", repeat("n", 1000));
    json_t *hdr = json_array_get(json_object_get(parse(render("slack", "run.failed", d).body),
                                                 "blocks"), 0);
    ck_assert_uint_eq(notify_u16len(jsonx_str(json_object_get(hdr, "text"), "text", "")), 150);
    embed = json_array_get(json_object_get(parse(render("discord", "run.failed", d).body),
                                           "embeds"), 0);
    ck_assert_uint_eq(notify_u16len(jsonx_str(embed, "title", "")), 256);
}
END_TEST

/* Emoji are two UTF-16 units: cuts never split one (nor its UTF-8 bytes). */
START_TEST(test_emoji_cut)
{
    json_t *d = failed_with(repeat(GRIN, 3000), "orders " GRIN);
    /* 14 units of frame, 2986 for the text: 1492 emoji (2984) + "…" (1). */
    const char *t = slack_error_text(render("slack", "run.failed", d).body);
    ck_assert_str_eq(t, arena_printf(A, "*Error*\n```%s" ELL "```", repeat(GRIN, 1492)));
    ck_assert_uint_eq(notify_u16len(t), 2999);

    json_t *tg = parse(render("telegram", "run.failed", d).body);
    const char *text = jsonx_str(tg, "text", "");
    ck_assert_uint_le(notify_u16len(text), NOTIFY_TELEGRAM_TEXT_MAX);
    ck_assert_uint_ge(notify_u16len(text), NOTIFY_TELEGRAM_TEXT_MAX - 1);
    const char *pre = strstr(text, "<pre>") + 5;
    size_t n = (size_t)(strstr(pre, ELL "</pre>") - pre);
    ck_assert_uint_eq(n % 4, 0);
    ck_assert_int_eq(memcmp(pre, repeat(GRIN, (int)(n / 4)), n), 0);
    ck_assert_ptr_nonnull(strstr(text, "<b>Run failed: orders " GRIN "</b>"));

    json_t *embed = json_array_get(json_object_get(parse(render("discord", "run.failed",
                                                                  d).body), "embeds"), 0);
    const char *desc = jsonx_str(embed, "description", "");
    ck_assert_uint_le(notify_u16len(desc), NOTIFY_DISCORD_DESC_MAX);
    ck_assert_uint_ge(notify_u16len(desc), NOTIFY_DISCORD_DESC_MAX - 1);
    ends_with(desc, GRIN ELL "\n```");
}
END_TEST

static const struct {
    const char *in;
    size_t max;
    const char *want;
} clips[] = {
    {"hello", 5, "hello"},
    {"hello!", 5, "hell" ELL},
    {"h\xc3\xa9llo w\xc3\xb6rld", 5, "h\xc3\xa9ll" ELL},
    {GRIN GRIN GRIN, 4, GRIN ELL},
    {GRIN GRIN, 4, GRIN GRIN},
    {GRIN GRIN, 3, GRIN ELL},
    {GRIN GRIN, 2, ELL},
    {"abc", 0, ""},
    {"abc", 1, ELL},
    {"", 3, ""},
    {"a\xff" "b", 10, "a\xef\xbf\xbd" "b"},               /* invalid byte */
    {"a\xe2\x82", 10, "a\xef\xbf\xbd\xef\xbf\xbd"},      /* cut sequence */
    {"\xc0\xaf", 10, "\xef\xbf\xbd\xef\xbf\xbd"},        /* overlong '/' */
    {"\xed\xa0\x80", 10, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
    {"\xef\xbf\xbd" "x", 10, "\xef\xbf\xbd" "x"},        /* a real U+FFFD stays */
};

START_TEST(test_clip)
{
    ck_assert_str_eq(notify_clip(A, clips[_i].in, clips[_i].max), clips[_i].want);
    ck_assert_uint_le(notify_u16len(notify_clip(A, clips[_i].in, clips[_i].max)), clips[_i].max);
}
END_TEST

/* --- events ------------------------------------------------------------------------------- */

static const struct {
    const char *event;
    int colour;
    const char *title;
} colours[] = {
    {"run.succeeded", NOTIFY_COLOUR_SUCCESS, "Run succeeded: orders"},
    {"run.failed", NOTIFY_COLOUR_FAILED, "Run failed: orders"},
    {"quality.failed", NOTIFY_COLOUR_WARNING, "Quality check failed: orders"},
    {"dead_letters.created", NOTIFY_COLOUR_WARNING, "Dead letters created: orders"},
    {"schema.drifted", NOTIFY_COLOUR_WARNING, "Schema drift: orders"},
    {"landing.file_rejected", NOTIFY_COLOUR_WARNING, "Landing file rejected: orders"},
    {"run.cancelled", NOTIFY_COLOUR_NEUTRAL, "Run cancelled: orders"},
    {"run.skipped", NOTIFY_COLOUR_NEUTRAL, "Run skipped: orders"},
    {"something.else", NOTIFY_COLOUR_NEUTRAL, "something.else: orders"},
};

START_TEST(test_colours)
{
    json_t *d = jsonx_own(A, json_pack("{s:s, s:s}", "pipeline_name", "orders", "run_id", "1"));
    json_t *embed = json_array_get(json_object_get(parse(render("discord", colours[_i].event,
                                                                  d).body), "embeds"), 0);
    ck_assert_int_eq(jsonx_int(embed, "color", -1), colours[_i].colour);
    ck_assert_str_eq(jsonx_str(embed, "title", ""), colours[_i].title);
}
END_TEST

START_TEST(test_event_details)
{
    json_t *q = parse("{\"run_id\":\"5\",\"pipeline_name\":\"p\",\"rows\":10,\"dead_letters\":0,"
                      "\"quality_failures\":2,\"checks\":[{\"table\":\"shop.orders\","
                      "\"check\":\"row_count\",\"message\":\"10 of 12 rows\"},{\"table\":"
                      "\"shop.items\",\"check\":\"nulls\",\"message\":"
                      "\"sku is NULL in 3 rows\"}]}");
    const char *t = jsonx_str(parse(render("telegram", "quality.failed", q).body), "text", "");
    ck_assert_str_eq(t, "<b>Quality check failed: p</b>\nRows: 10\nFailed checks: 2\nRun: 5\n\n"
                        "<b>Failed checks</b>\n<pre>shop.orders: row_count - 10 of 12 rows\n"
                        "shop.items: nulls - sku is NULL in 3 rows</pre>\n"
                        "<a href=\"https://sluice.example.com/runs/5\">Open run</a>");
    json_t *dr = parse("{\"run_id\":\"6\",\"pipeline_name\":\"p\",\"source_schema\":\"shop\","
                       "\"source_table\":\"orders\",\"added\":[{\"column\":\"note\",\"type\":"
                       "\"text\"}],\"dropped\":[\"fax\"],\"retyped\":[{\"column\":\"n\",\"from\":"
                       "\"integer\",\"to\":\"bigint\"}]}");
    t = jsonx_str(parse(render("telegram", "schema.drifted", dr).body), "text", "");
    ck_assert_str_eq(t, "<b>Schema drift: p</b>\nTable: shop.orders\nRun: 6\n\n<b>Changes</b>\n"
                        "<pre>added note (text)\ndropped fax\nretyped n from integer to bigint"
                        "</pre>\n<a href=\"https://sluice.example.com/runs/6\">Open run</a>");
    json_t *lf = parse("{\"zone_name\":\"uploads\",\"file_name\":\"a.csv\",\"reason\":"
                       "\"not UTF-8\"}");
    t = jsonx_str(parse(render("telegram", "landing.file_rejected", lf).body), "text", "");
    ck_assert_str_eq(t, "<b>Landing file rejected: uploads</b>\nZone: uploads\nFile: a.csv\n\n"
                        "<b>Reason</b>\n<pre>not UTF-8</pre>");
    lf = parse("{\"zone_id\":\"z\",\"zone_name\":\"uploads\",\"file_id\":\"9\","
               "\"file_name\":\"b.csv\",\"table\":\"landing.orders\",\"rows_loaded\":0,"
               "\"rows_rejected\":1200,\"reason\":\"1200 bad records, nothing loaded\"}");
    t = jsonx_str(parse(render("telegram", "landing.file_rejected", lf).body), "text", "");
    ck_assert_str_eq(t, "<b>Landing file rejected: uploads</b>\nTable: landing.orders\n"
                        "Zone: uploads\nFile: b.csv\nRejected records: 1,200\n\n<b>Reason</b>\n"
                        "<pre>1200 bad records, nothing loaded</pre>");
    json_t *dl = parse("{\"run_id\":\"7\",\"pipeline_name\":\"p\",\"rows\":5,\"dead_letters\":"
                       "1234}");
    t = jsonx_str(parse(render("slack", "dead_letters.created", dl).body), "text", "");
    ck_assert_str_eq(t, "Dead letters created: p - Rows: 5, Dead letters: 1,234, Run: 7\n"
                        "<https://sluice.example.com/runs/7|Open run>");

    /* The sample of "Send test" links where it is told to. */
    json_t *s = jsonx_own(A, notify_sample_event("https://sluice.example.com/notifications/x"));
    t = jsonx_str(parse(render("telegram", "run.succeeded", s).body), "text", "");
    ck_assert_str_eq(t, "<b>Run succeeded: sluice test</b>\nRows: 1,234\nDuration: 5.7 s\n"
                        "<a href=\"https://sluice.example.com/notifications/x\">Open</a>");

    ck_assert(notify_event_valid("schema.drifted"));
    ck_assert(!notify_event_valid("run.cancelled"));
    ck_assert(!notify_event_valid(NULL));
    ck_assert_str_eq(notify_event_label("dead_letters.created"), "Dead letters created");
    ck_assert(notify_type_valid("telegram"));
    ck_assert(!notify_type_valid("Slack"));
    int n = 0;
    while (notify_events[n])
        n++;
    ck_assert_int_eq(n, 6);
}
END_TEST

/* --- the SSRF guard ----------------------------------------------------------------------- */

static const struct {
    const char *addr;
    enum notify_addr_class want;
} addrs[] = {
    {"8.8.8.8", NOTIFY_ADDR_PUBLIC},
    {"1.1.1.1", NOTIFY_ADDR_PUBLIC},
    {"127.0.0.1", NOTIFY_ADDR_LOOPBACK},
    {"127.255.255.254", NOTIFY_ADDR_LOOPBACK},
    {"126.255.255.255", NOTIFY_ADDR_PUBLIC},
    {"128.0.0.0", NOTIFY_ADDR_PUBLIC},
    {"10.0.0.1", NOTIFY_ADDR_PRIVATE},
    {"10.255.255.255", NOTIFY_ADDR_PRIVATE},
    {"11.0.0.0", NOTIFY_ADDR_PUBLIC},
    {"9.255.255.255", NOTIFY_ADDR_PUBLIC},
    {"172.16.0.0", NOTIFY_ADDR_PRIVATE},
    {"172.31.255.255", NOTIFY_ADDR_PRIVATE},
    {"172.15.255.255", NOTIFY_ADDR_PUBLIC},
    {"172.32.0.0", NOTIFY_ADDR_PUBLIC},
    {"192.168.0.1", NOTIFY_ADDR_PRIVATE},
    {"192.169.0.1", NOTIFY_ADDR_PUBLIC},
    {"100.64.0.1", NOTIFY_ADDR_SHARED},
    {"100.127.255.255", NOTIFY_ADDR_SHARED},
    {"100.128.0.0", NOTIFY_ADDR_PUBLIC},
    {"169.254.169.254", NOTIFY_ADDR_LINK_LOCAL},
    {"169.255.0.1", NOTIFY_ADDR_PUBLIC},
    {"0.0.0.0", NOTIFY_ADDR_UNSPECIFIED},
    {"0.1.2.3", NOTIFY_ADDR_UNSPECIFIED},
    {"224.0.0.1", NOTIFY_ADDR_MULTICAST},
    {"239.255.255.255", NOTIFY_ADDR_MULTICAST},
    {"240.0.0.1", NOTIFY_ADDR_RESERVED},
    {"255.255.255.255", NOTIFY_ADDR_RESERVED},
    {"192.0.2.1", NOTIFY_ADDR_RESERVED},
    {"198.18.0.1", NOTIFY_ADDR_RESERVED},
    {"198.20.0.1", NOTIFY_ADDR_PUBLIC},
    {"::", NOTIFY_ADDR_UNSPECIFIED},
    {"::1", NOTIFY_ADDR_LOOPBACK},
    {"::2", NOTIFY_ADDR_UNSPECIFIED},            /* compatible 0.0.0.2 */
    {"::ffff:127.0.0.1", NOTIFY_ADDR_LOOPBACK},  /* mapped */
    {"::ffff:10.0.0.1", NOTIFY_ADDR_PRIVATE},
    {"::ffff:192.168.1.1", NOTIFY_ADDR_PRIVATE},
    {"::ffff:169.254.169.254", NOTIFY_ADDR_LINK_LOCAL},
    {"::ffff:8.8.8.8", NOTIFY_ADDR_PUBLIC},
    {"::ffff:0:0", NOTIFY_ADDR_UNSPECIFIED},
    {"::10.0.0.1", NOTIFY_ADDR_PRIVATE},         /* compatible */
    {"64:ff9b::7f00:1", NOTIFY_ADDR_LOOPBACK},   /* NAT64 of 127.0.0.1 */
    {"64:ff9b::808:808", NOTIFY_ADDR_PUBLIC},
    {"2002:0a00:0001::1", NOTIFY_ADDR_PRIVATE},  /* 6to4 of 10.0.0.1 */
    {"2002:0808:0808::1", NOTIFY_ADDR_PUBLIC},
    {"fe80::1", NOTIFY_ADDR_LINK_LOCAL},
    {"febf:ffff::1", NOTIFY_ADDR_LINK_LOCAL},
    {"fec0::1", NOTIFY_ADDR_UNIQUE_LOCAL},
    {"fc00::1", NOTIFY_ADDR_UNIQUE_LOCAL},
    {"fdff:ffff::1", NOTIFY_ADDR_UNIQUE_LOCAL},
    {"fe00::1", NOTIFY_ADDR_PUBLIC},
    {"ff02::1", NOTIFY_ADDR_MULTICAST},
    {"2001:db8::1", NOTIFY_ADDR_RESERVED},
    {"2606:4700:4700::1111", NOTIFY_ADDR_PUBLIC},
    {"2a00:1450:4001::200e", NOTIFY_ADDR_PUBLIC},
};

START_TEST(test_addr_classes)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(addrs[_i].addr, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, addrs[_i].addr, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, addrs[_i].addr, &in->sin_addr), 1);
    }
    enum notify_addr_class c = notify_addr_classify((struct sockaddr *)&ss);
    ck_assert_msg(c == addrs[_i].want, "%s: %s, want %s", addrs[_i].addr,
                  notify_addr_class_name(c), notify_addr_class_name(addrs[_i].want));
    int public = addrs[_i].want == NOTIFY_ADDR_PUBLIC;
    int never = addrs[_i].want == NOTIFY_ADDR_MULTICAST || addrs[_i].want == NOTIFY_ADDR_RESERVED;
    ck_assert_int_eq(notify_addr_allowed(c, 0), public);
    ck_assert_int_eq(notify_addr_allowed(c, 1), !never);
}
END_TEST

START_TEST(test_addr_other_family)
{
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNIX;
    ck_assert_int_eq(notify_addr_classify(&sa), NOTIFY_ADDR_RESERVED);
    ck_assert_int_eq(notify_addr_classify(NULL), NOTIFY_ADDR_RESERVED);
    ck_assert_str_eq(notify_addr_class_name(NOTIFY_ADDR_UNIQUE_LOCAL), "unique-local");
}
END_TEST

/* --- Retry-After -------------------------------------------------------------------------- */

#define NOW 1445412400L /* 2015-10-21T07:26:40Z: 80 s before the dates below */

static const struct {
    const char *v;
    long want;
} retries[] = {
    {"120", 120},
    {"0", 0},
    {" 5 ", 5},
    {"Wed, 21 Oct 2015 07:28:00 GMT", 80},
    {"Wednesday, 21-Oct-15 07:28:00 GMT", 80},
    {"Wed Oct 21 07:28:00 2015", 80},
    {"Wed, 21 Oct 2015 07:00:00 GMT", 0},        /* past */
    {"99999999999", 366L * 24 * 3600},          /* capped */
    {"Wed, 21 Oct 2099 07:28:00 GMT", 366L * 24 * 3600},
    {"-5", -1},
    {"1.5", -1},
    {"5s", -1},
    {"", -1},
    {"soon", -1},
    {"Wed, 21 Oct 2015 07:28:00 PST", -1},
    {"Wed, 32 Oct 2015 07:28:00 GMT", -1},
};

START_TEST(test_retry_after)
{
    ck_assert_int_eq(notify_retry_after(retries[_i].v, NOW), retries[_i].want);
}
END_TEST

START_TEST(test_retry_after_null)
{
    ck_assert_int_eq(notify_retry_after(NULL, NOW), -1);
}
END_TEST

/* --- masks and checks --------------------------------------------------------------------- */

static const struct {
    const char *url;
    int host_only;
    const char *want;
} masks[] = {
    {"https://hooks.slack.com/services/T0001/B0002/abcdefSECRET", 0,
     "https://hooks.slack.com/services/T000" ELL "/****"},
    {"https://discord.com/api/webhooks/123456789/tokenSECRET", 0,
     "https://discord.com/api/webhooks/1234" ELL "/****"},
    {"https://discord.com/api/v10/webhooks/123456789/tokenSECRET", 0,
     "https://discord.com/api/v10/webhooks/1234" ELL "/****"},
    {"https://example.com/SECRET", 0, "https://example.com/****"},
    {"https://example.com/words/only", 0, "https://example.com/words/****"},
    {"https://example.com", 0, "https://example.com"},
    {"https://user:pass@example.com:8443/hook/SECRET?token=SECRET", 1,
     "https://example.com:8443/" ELL},
    {"http://127.0.0.1:9000/hook", 1, "http://127.0.0.1:9000/" ELL},
    {"https://example.com/", 1, "https://example.com"},
    {"not a url", 0, "(invalid URL)"},
    {NULL, 0, "(invalid URL)"},
};

START_TEST(test_masks)
{
    ck_assert_str_eq(notify_mask_url(A, masks[_i].url, masks[_i].host_only), masks[_i].want);
    ck_assert_ptr_null(strstr(notify_mask_url(A, masks[_i].url, masks[_i].host_only), "SECRET"));
}
END_TEST

START_TEST(test_checks)
{
    ck_assert_str_eq(notify_mask_token(A, "123456789:AAHsecret"), "1234" ELL ":****");
    ck_assert_str_eq(notify_mask_token(A, "12:AAHsecret"), "12" ELL ":****");
    ck_assert_str_eq(notify_mask_token(A, NULL), "****");

    ck_assert_ptr_null(notify_check_url("https://hooks.slack.com/services/T/B/x"));
    ck_assert_ptr_null(notify_check_url("http://127.0.0.1:9000/hook?x=1"));
    ck_assert_ptr_null(notify_check_url("https://[::1]:8443/x"));
    ck_assert_ptr_nonnull(notify_check_url(""));
    ck_assert_ptr_nonnull(notify_check_url("ftp://example.com/x"));
    ck_assert_ptr_nonnull(notify_check_url("file:///etc/passwd"));
    ck_assert_ptr_nonnull(notify_check_url("https://exa mple.com/"));
    ck_assert_ptr_nonnull(notify_check_url("https://example.com/\n"));
    ck_assert_ptr_nonnull(notify_check_url("https://example.com/#frag"));
    ck_assert_ptr_nonnull(notify_check_url("https:///path"));
    ck_assert_ptr_nonnull(notify_check_url(repeat("https://example.com/", 120)));

    ck_assert_ptr_null(notify_check_bot_token("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
    ck_assert_ptr_nonnull(notify_check_bot_token("AAH:123"));
    ck_assert_ptr_nonnull(notify_check_bot_token("123456789:short"));
    ck_assert_ptr_nonnull(notify_check_bot_token("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5/ALDsaw"));
    ck_assert_ptr_nonnull(notify_check_bot_token(""));

    ck_assert_ptr_null(notify_check_chat_id("-1001234567890"));
    ck_assert_ptr_null(notify_check_chat_id("42"));
    ck_assert_ptr_null(notify_check_chat_id("@my_channel"));
    ck_assert_ptr_nonnull(notify_check_chat_id("@ab"));
    ck_assert_ptr_nonnull(notify_check_chat_id("-"));
    ck_assert_ptr_nonnull(notify_check_chat_id("12a"));
    ck_assert_ptr_nonnull(notify_check_chat_id(""));

    ck_assert_ptr_null(notify_check_secret(SECRET));
    ck_assert_ptr_null(notify_check_secret(webhook_sig_secret_new(A)));
    ck_assert_ptr_nonnull(notify_check_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    ck_assert_ptr_nonnull(notify_check_secret("whsec_abc"));
    ck_assert_ptr_nonnull(notify_check_secret(""));

    notify_env env;
    notify_env_load(NULL, A, "https://c.example", &env);
    ck_assert_str_eq(env.telegram_base, "https://api.telegram.org");
    ck_assert_str_eq(env.base_url, "https://c.example");
    ck_assert_int_eq(env.allow_private, 0);
    ck_assert_int_eq(env.timeout_seconds, 10);
    ck_assert_int_eq(env.max_attempts, 8);
    ck_assert_int_eq(env.base_backoff_seconds, 10);
}
END_TEST

/* --- notify_send against a server in a thread --------------------------------------------- */

typedef struct {
    int fd, port;
    const char *answer;     /* the whole response, sent after reading a request */
    int hang;               /* read the request, then answer nothing */
    int keepalive;          /* serve further requests on the same connection */
    int requests, accepts;
    char first[512];        /* the first request's head */
    pthread_t th;
} server;

/* Read one request (head and Content-Length body) from c into buf; 0 at
 * the end of the connection. */
static int read_request(int c, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t k;
    buf[0] = '\0';
    while (n < cap - 1 && (k = read(c, buf + n, cap - 1 - n)) > 0) {
        n += (size_t)k;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "content-length:");
        if (end && (!cl || n >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10)))
            return 1;
    }
    return n > 0;
}

static void *serve(void *p)
{
    server *s = p;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        s->accepts++;
        char buf[8192];
        while (read_request(c, buf, sizeof buf)) {
            if (s->requests++ == 0)
                snprintf(s->first, sizeof s->first, "%.*s", (int)strcspn(buf, "\r"), buf);
            if (s->hang) {
                sleep(3);
                break;
            }
            ssize_t w = write(c, s->answer, strlen(s->answer));
            (void)w;
            if (!s->keepalive)
                break;
        }
        close(c);
    }
}

static void server_start(server *s, const char *answer)
{
    memset(s, 0, sizeof *s);
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&in, sizeof in), 0);
    ck_assert_int_eq(listen(s->fd, 8), 0);
    socklen_t len = sizeof in;
    getsockname(s->fd, (struct sockaddr *)&in, &len);
    s->port = ntohs(in.sin_port);
    pthread_create(&s->th, NULL, serve, s);
}

static void server_stop(server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
}

static notify_request plain_request(const char *url)
{
    notify_request r;
    memset(&r, 0, sizeof r);
    r.url = url;
    r.body = "{\"x\":1}";
    r.body_len = 7;
    static const char *h[] = {"Content-Type: application/json", NULL};
    r.headers = h;
    static const char *sec[] = {"/hook/SECRET-PATH", NULL};
    r.secrets = sec;
    return r;
}

START_TEST(test_send_answers)
{
    server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 35\r\nConnection: close\r\n\r\n"
                     "ok: you posted to /hook/SECRET-PATH");
    ENV.allow_private = 1;
    notify_request r = plain_request(arena_printf(A, "http://127.0.0.1:%d/hook/SECRET-PATH",
                                                  s.port));
    notify_result res;
    sl_errbuf eb = {0};
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, &eb), SL_OK);
    server_stop(&s);
    ck_assert_int_eq(res.status, 200);
    ck_assert_ptr_null(res.error);
    ck_assert_int_eq(res.retry_after_seconds, -1);
    ck_assert_str_eq(res.body_excerpt, "ok: you posted to ****");
    ck_assert_int_ge(res.latency_ms, 0);
    ck_assert_int_eq(s.requests, 1);
    ck_assert_str_eq(s.first, "POST /hook/SECRET-PATH HTTP/1.1");
}
END_TEST

START_TEST(test_send_retry_after_and_redirect)
{
    server s;
    server_start(&s, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 4\r\n"
                     "Connection: close\r\n\r\nslow");
    ENV.allow_private = 1;
    notify_request r = plain_request(arena_printf(A, "http://127.0.0.1:%d/x", s.port));
    notify_result res;
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_OK);
    server_stop(&s);
    ck_assert_int_eq(res.status, 429);
    ck_assert_int_eq(res.retry_after_seconds, 7);
    ck_assert_str_eq(res.body_excerpt, "slow");

    server_start(&s, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n");
    r = plain_request(arena_printf(A, "http://127.0.0.1:%d/x", s.port));
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_OK);
    server_stop(&s);
    ck_assert_int_eq(res.status, 302);
    ck_assert_int_eq(s.requests, 1);
    ck_assert_str_eq(res.body_excerpt, "");
}
END_TEST

START_TEST(test_send_long_answer)
{
    char *ans = arena_printf(A, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3000\r\n"
                                "Connection: close\r\n\r\n%s\x01%s", repeat("\xc3\xa9", 511),
                             repeat("y", 2977));
    server s;
    server_start(&s, ans);
    ENV.allow_private = 1;
    notify_request r = plain_request(arena_printf(A, "http://127.0.0.1:%d/x", s.port));
    notify_result res;
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_OK);
    server_stop(&s);
    ck_assert_int_eq(res.status, 500);
    /* 1024 bytes kept: 511 é, the control byte as a space, then 1 y. */
    ck_assert_str_eq(res.body_excerpt, arena_printf(A, "%s y", repeat("\xc3\xa9", 511)));
}
END_TEST

START_TEST(test_send_timeout)
{
    server s;
    server_start(&s, "");
    s.hang = 1;
    ENV.allow_private = 1;
    ENV.timeout_seconds = 1;
    notify_request r = plain_request(arena_printf(A, "http://127.0.0.1:%d/x", s.port));
    notify_result res;
    sl_errbuf eb = {0};
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, &eb), SL_ETIMEOUT);
    ck_assert_int_eq(res.status, 0);
    ck_assert_str_eq(res.error, "no answer from 127.0.0.1 within 1 s");
    ck_assert_int_ge(res.latency_ms, 900);
    ck_assert_int_lt(res.latency_ms, 2900);
    server_stop(&s);
}
END_TEST

START_TEST(test_send_guard)
{
    server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    ENV.allow_private = 0;
    const char *urls[] = {arena_printf(A, "http://127.0.0.1:%d/hook/SECRET-PATH", s.port),
                          arena_printf(A, "http://localhost:%d/hook/SECRET-PATH", s.port),
                          arena_printf(A, "http://[::ffff:127.0.0.1]:%d/x", s.port),
                          "http://10.0.0.1:9/hook/SECRET-PATH", "http://169.254.169.254/x",
                          "http://[fd00::1]:9/x", "http://0.0.0.0:9/x"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        notify_request r = plain_request(urls[i]);
        notify_result res;
        sl_errbuf eb = {0};
        ck_assert_msg(notify_send(A, &ENV, &r, &res, &eb) == SL_EFORBIDDEN, "%s: %s", urls[i],
                      res.error ? res.error : "(answered)");
        ck_assert_int_eq(res.status, 0);
        ck_assert_ptr_nonnull(strstr(res.error, "refused by the SSRF guard before connecting to"));
        ck_assert_ptr_null(strstr(res.error, "SECRET"));
        ck_assert_str_eq(eb.msg, res.error);
        ck_assert_int_lt(res.latency_ms, 1000); /* refused, not timed out */
    }
    notify_request r = plain_request("http://10.0.0.1:9/hook/SECRET-PATH");
    notify_result res;
    notify_send(A, &ENV, &r, &res, NULL);
    ck_assert_str_eq(res.error, "refused by the SSRF guard before connecting to 10.0.0.1: "
                                "10.0.0.1 is a private address (allow_private_networks in the "
                                "notifications settings lets targets reach private networks)");
    r = plain_request("http://localhost:9/x");
    notify_send(A, &ENV, &r, &res, NULL);
    ck_assert_msg(strncmp(res.error, "refused by the SSRF guard before connecting to localhost: "
                                     "127.0.0.1 is a loopback address (", 91) == 0 ||
                      strncmp(res.error, "refused by the SSRF guard before connecting to "
                                         "localhost: ::1 is a loopback address (", 85) == 0,
                  "%s", res.error);
    r = plain_request("http://224.0.0.1:9/x");
    ENV.allow_private = 1;
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_EFORBIDDEN);
    ck_assert_str_eq(res.error, "refused by the SSRF guard before connecting to 224.0.0.1: "
                                "224.0.0.1 is a multicast address");
    ENV.allow_private = 0;
    ck_assert_int_eq(s.requests, 0);

    /* Allowed: the same server answers. */
    ENV.allow_private = 1;
    r = plain_request(urls[1]);
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_OK);
    ck_assert_int_eq(res.status, 200);
    server_stop(&s);
    ck_assert_int_eq(s.requests, 1);
}
END_TEST

/* A kept client reuses its connection, and drops it when the guard tightens. */
START_TEST(test_send_conn)
{
    server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s.keepalive = 1;
    notify_conn *conn = notify_conn_new();
    ENV.allow_private = 1;
    notify_request r = plain_request(arena_printf(A, "http://127.0.0.1:%d/x", s.port));
    notify_result res;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(notify_send_on(conn, A, &ENV, &r, &res, NULL), SL_OK);
        ck_assert_int_eq(res.status, 200);
        ck_assert_str_eq(res.body_excerpt, "ok");
    }
    ck_assert_int_eq(s.requests, 3);
    ck_assert_int_eq(s.accepts, 1);
    ENV.allow_private = 0;
    ck_assert_int_eq(notify_send_on(conn, A, &ENV, &r, &res, NULL), SL_EFORBIDDEN);
    ck_assert_int_eq(s.requests, 3);
    /* One-off sends open a connection each. */
    ENV.allow_private = 1;
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_OK);
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_OK);
    notify_conn_free(conn);
    notify_conn_free(NULL);
    server_stop(&s);
    ck_assert_int_eq(s.requests, 5);
    ck_assert_int_eq(s.accepts, 3);
}
END_TEST

START_TEST(test_send_errors)
{
    /* A closed port: no answer, SL_EIO, nothing of the path in the message. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&in, sizeof in);
    socklen_t len = sizeof in;
    getsockname(fd, (struct sockaddr *)&in, &len);
    int port = ntohs(in.sin_port);
    close(fd);
    ENV.allow_private = 1;
    notify_request r = plain_request(arena_printf(A, "http://127.0.0.1:%d/hook/SECRET-PATH",
                                                  port));
    notify_result res;
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_EIO);
    ck_assert_int_eq(res.status, 0);
    ck_assert_ptr_nonnull(res.error);
    ck_assert_ptr_null(strstr(res.error, "SECRET"));
    /* Only http and https. */
    r = plain_request("ftp://127.0.0.1/x");
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_EIO);
    r = plain_request("gopher://127.0.0.1/x");
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_EIO);
    /* Nothing to send. */
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(notify_send(A, &ENV, &r, &res, NULL), SL_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("render");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_exact_bodies, 0, sizeof bodies / sizeof bodies[0]);
    tcase_add_test(tc, test_urls_and_headers);
    tcase_add_test(tc, test_signature_verifies);
    tcase_add_test(tc, test_render_refusals);
    tcase_add_test(tc, test_long_error_cut);
    tcase_add_test(tc, test_emoji_cut);
    tcase_add_loop_test(tc, test_clip, 0, sizeof clips / sizeof clips[0]);
    tcase_add_loop_test(tc, test_colours, 0, sizeof colours / sizeof colours[0]);
    tcase_add_test(tc, test_event_details);
    suite_add_tcase(s, tc);

    TCase *tg = tcase_create("guard");
    tcase_add_checked_fixture(tg, setup, teardown);
    tcase_add_loop_test(tg, test_addr_classes, 0, sizeof addrs / sizeof addrs[0]);
    tcase_add_test(tg, test_addr_other_family);
    tcase_add_loop_test(tg, test_retry_after, 0, sizeof retries / sizeof retries[0]);
    tcase_add_test(tg, test_retry_after_null);
    tcase_add_loop_test(tg, test_masks, 0, sizeof masks / sizeof masks[0]);
    tcase_add_test(tg, test_checks);
    suite_add_tcase(s, tg);

    TCase *ts = tcase_create("send");
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_set_timeout(ts, 30);
    tcase_add_test(ts, test_send_answers);
    tcase_add_test(ts, test_send_retry_after_and_redirect);
    tcase_add_test(ts, test_send_long_answer);
    tcase_add_test(ts, test_send_timeout);
    tcase_add_test(ts, test_send_guard);
    tcase_add_test(ts, test_send_conn);
    tcase_add_test(ts, test_send_errors);
    suite_add_tcase(s, ts);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
