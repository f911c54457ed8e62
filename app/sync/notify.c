/* notify.c - notification messages: the events people subscribe to, one
 * summary of an event (title, outcome, facts, detail, link), and its
 * rendering for Slack (blocks with a text fallback), Discord (an embed
 * coloured by outcome), Telegram (sendMessage, HTML parse mode) and signed
 * webhooks ({type, timestamp, data} per the Standard Webhooks spec), each
 * within the service's length limits (see notify.h).
 *
 * Texts are cut on code point boundaries with an ellipsis, after escaping
 * is accounted for, so an escape sequence is never split. Everything
 * lives in the caller's arena. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "webhook_sig.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0"
#endif
#define USER_AGENT "sluice/" SLUICE_VERSION " (notifications)"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one UTF-16 unit */
#define FACTS_MAX 8
#define FALLBACK_DETAIL_MAX 500  /* units of the detail in Slack's fallback text */
#define DISCORD_FACT_MAX 256     /* units of a field value (keeps the embed under 6000) */
#define TELEGRAM_FACT_MAX 300

const char *const notify_events[] = {"run.succeeded",  "run.failed",
                                     "quality.failed", "dead_letters.created",
                                     "schema.drifted", "landing.file_rejected",
                                     NULL};

static const struct {
    const char *event, *label, *outcome;
    int colour;
} event_info[] = {
    {"run.succeeded", "Run succeeded", "succeeded", NOTIFY_COLOUR_SUCCESS},
    {"run.failed", "Run failed", "failed", NOTIFY_COLOUR_FAILED},
    {"quality.failed", "Quality check failed", "quality checks failed", NOTIFY_COLOUR_WARNING},
    {"dead_letters.created", "Dead letters created", "rows went to dead letters",
     NOTIFY_COLOUR_WARNING},
    {"schema.drifted", "Schema drift", "the source schema changed", NOTIFY_COLOUR_WARNING},
    {"landing.file_rejected", "Landing file rejected", "file rejected", NOTIFY_COLOUR_WARNING},
    {"run.cancelled", "Run cancelled", "cancelled", NOTIFY_COLOUR_NEUTRAL},
    {"run.skipped", "Run skipped", "skipped", NOTIFY_COLOUR_NEUTRAL},
};
#define NEVENTS (sizeof event_info / sizeof event_info[0])

int notify_event_valid(const char *event)
{
    for (int i = 0; event && notify_events[i]; i++)
        if (strcmp(event, notify_events[i]) == 0)
            return 1;
    return 0;
}

const char *notify_event_label(const char *event)
{
    for (size_t i = 0; event && i < NEVENTS; i++)
        if (strcmp(event, event_info[i].event) == 0)
            return event_info[i].label;
    return event ? event : "";
}

int notify_type_valid(const char *type)
{
    static const char *const types[] = {"slack", "discord", "telegram", "webhook", NULL};
    for (int i = 0; type && types[i]; i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

json_t *notify_sample_event(const char *link)
{
    json_t *d = json_pack("{s:n, s:n, s:s, s:s, s:I, s:I, s:n, s:I, s:b}", "run_id",
                          "pipeline_id", "pipeline_name", "sluice test", "status", "success",
                          "rows", (json_int_t)1234, "duration_ms", (json_int_t)5678, "error",
                          "dead_letters", (json_int_t)0, "test", 1);
    if (link)
        json_object_set_new(d, "run_url", json_string(link));
    return d;
}

/* --- UTF-8 and clipping ------------------------------------------------------------------- */

/* Decode the code point at s (which is not at its NUL): *cp gets it (U+FFFD
 * for an invalid sequence) and the return value its length in bytes. */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = c;
    return n;
}

size_t notify_u16len(const char *s)
{
    size_t units = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        unsigned cp;
        p += utf8_next(p, &cp);
        units += cp >= 0x10000 ? 2 : 1;
    }
    return units;
}

/* What a code point becomes in the output: its escape (NULL: itself). */
typedef const char *(*escaper)(unsigned cp);

static const char *esc_none(unsigned cp)
{
    (void)cp;
    return NULL;
}

/* Slack mrkdwn: & < > as entities. */
static const char *esc_slack(unsigned cp)
{
    switch (cp) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    }
    return NULL;
}

/* Telegram HTML parse mode: & < > " as entities. */
static const char *esc_html(unsigned cp)
{
    switch (cp) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    }
    return NULL;
}

/* Discord markdown: a backslash before the characters that format. */
static const char *esc_discord(unsigned cp)
{
    switch (cp) {
    case '\\': return "\\\\";
    case '*': return "\\*";
    case '_': return "\\_";
    case '~': return "\\~";
    case '`': return "\\`";
    case '|': return "\\|";
    case '>': return "\\>";
    case '[': return "\\[";
    case ']': return "\\]";
    }
    return NULL;
}

/* Inside a code block (Slack, Discord): only a run of backticks could end
 * it early; each one becomes a modifier letter grave accent. */
static const char *esc_code(unsigned cp)
{
    return cp == '`' ? "\xcb\x8b" : NULL;
}

/* Slack code block: mrkdwn entities and backticks. */
static const char *esc_slack_code(unsigned cp)
{
    const char *e = esc_slack(cp);
    return e ? e : esc_code(cp);
}

/* s escaped by esc and cut so that the result (with "…" when cut) is at
 * most max UTF-16 units; never splits a code point or an escape. Invalid
 * bytes become U+FFFD. */
static const char *clip_esc(arena *a, const char *s, size_t max, escaper esc)
{
    if (!s)
        s = "";
    size_t cap = strlen(s) * 8 + 8, n = 0, units = 0;
    char *out = arena_alloc(a, cap);
    size_t cut = 0; /* the longest prefix of out that leaves room for the ellipsis */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        size_t len = utf8_next(p, &cp);
        const char *e = esc(cp);
        const char *piece = e ? e : (const char *)p;
        size_t plen = e ? strlen(e) : len, punits = e ? notify_u16len(e) : cp >= 0x10000 ? 2 : 1;
        if (!e && cp == 0xfffd && len == 1) {
            piece = "\xef\xbf\xbd";
            plen = 3;
        }
        if (units + punits > max) {
            if (max == 0)
                return "";
            memcpy(out + cut, ELLIPSIS, sizeof ELLIPSIS);
            return out;
        }
        memcpy(out + n, piece, plen);
        n += plen;
        units += punits;
        if (units + 1 <= max)
            cut = n;
        p += len;
    }
    out[n] = '\0';
    return out;
}

const char *notify_clip(arena *a, const char *s, size_t max)
{
    return clip_esc(a, s, max, esc_none);
}

const char *notify_rfc3339(arena *a, long long seconds)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return "1970-01-01T00:00:00Z";
    return arena_strdup(a, buf);
}

/* --- the summary of an event -------------------------------------------------------------- */

typedef struct {
    const char *name, *value;
} fact;

typedef struct {
    const char *label;         /* "Run failed" */
    const char *outcome;       /* "failed" */
    const char *subject;       /* the pipeline's name (or the zone's) */
    const char *title;         /* "Run failed: orders" */
    int colour;
    fact facts[FACTS_MAX];
    int nfacts;
    const char *detail_label;  /* "Error", "Quality checks", "Changes", "Reason", or NULL */
    const char *detail;        /* raw text, may be long */
    const char *link;          /* the run page, or NULL */
    const char *link_text;     /* "Open run" */
} summary;

/* 1234567 -> "1,234,567" */
static const char *thousands(arena *a, long long v)
{
    char digits[32], out[48];
    int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v), k = 0;
    if (v < 0)
        out[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
    return arena_strdup(a, out);
}

/* 850 -> "850 ms", 5678 -> "5.7 s", 59960 -> "1 min 0 s", 65000 -> "1 min 5 s",
 * 3723000 -> "1 h 2 min" */
static const char *duration_text(arena *a, long long ms)
{
    if (ms < 1000)
        return arena_printf(a, "%lld ms", ms < 0 ? 0 : ms);
    long long tenths = (ms + 50) / 100;
    if (tenths < 600)
        return arena_printf(a, "%lld.%lld s", tenths / 10, tenths % 10);
    long long s = ms / 1000;
    if (s < 3600)
        return arena_printf(a, "%lld min %lld s", s / 60, s % 60);
    return arena_printf(a, "%lld h %lld min", s / 3600, (s % 3600) / 60);
}

static void add_fact(summary *s, const char *name, const char *value)
{
    if (value && *value && s->nfacts < FACTS_MAX) {
        s->facts[s->nfacts].name = name;
        s->facts[s->nfacts].value = value;
        s->nfacts++;
    }
}

static const char *text_or_number(arena *a, const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return arena_printf(a, "%lld", (long long)json_integer_value(v));
    return NULL;
}

/* "table: check - message" lines of quality.failed's checks. */
static const char *quality_text(arena *a, const json_t *checks)
{
    const char *out = "";
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        const char *table = jsonx_str(c, "table", ""), *check = jsonx_str(c, "check", "");
        const char *msg = jsonx_str(c, "message", "");
        out = arena_printf(a, "%s%s%s%s%s%s", out, i ? "\n" : "", table, *table ? ": " : "",
                           check, *msg ? arena_printf(a, " - %s", msg) : "");
        if (strlen(out) > 16384)
            break;
    }
    return out;
}

/* "added a (int); dropped b; retyped c int -> bigint" of schema.drifted. */
static const char *drift_text(arena *a, const json_t *d)
{
    const char *out = "";
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(d, "added"), i, c)
        out = arena_printf(a, "%s%sadded %s (%s)", out, *out ? "\n" : "",
                           jsonx_str(c, "column", "?"), jsonx_str(c, "type", "?"));
    json_array_foreach(json_object_get(d, "dropped"), i, c)
        out = arena_printf(a, "%s%sdropped %s", out, *out ? "\n" : "",
                           json_is_string(c) ? json_string_value(c) : "?");
    json_array_foreach(json_object_get(d, "retyped"), i, c)
        out = arena_printf(a, "%s%sretyped %s from %s to %s", out, *out ? "\n" : "",
                           jsonx_str(c, "column", "?"), jsonx_str(c, "from", "?"),
                           jsonx_str(c, "to", "?"));
    return out;
}

static void summarise(arena *a, const notify_env *env, const char *type, const json_t *d,
                      summary *s)
{
    memset(s, 0, sizeof *s);
    s->label = type;
    s->outcome = type;
    s->colour = NOTIFY_COLOUR_NEUTRAL;
    for (size_t i = 0; i < NEVENTS; i++)
        if (strcmp(type, event_info[i].event) == 0) {
            s->label = event_info[i].label;
            s->outcome = event_info[i].outcome;
            s->colour = event_info[i].colour;
        }
    s->subject = jsonx_str(d, "pipeline_name", NULL);
    if (!s->subject || !*s->subject)
        s->subject = jsonx_str(d, "zone_name", NULL);
    s->title = s->subject && *s->subject ? arena_printf(a, "%s: %s", s->label, s->subject)
                                         : s->label;

    add_fact(s, "Pipeline", jsonx_str(d, "pipeline_name", NULL));
    add_fact(s, "Outcome", s->outcome);
    json_t *v = json_object_get(d, "rows");
    if (json_is_integer(v))
        add_fact(s, "Rows", thousands(a, (long long)json_integer_value(v)));
    v = json_object_get(d, "duration_ms");
    if (json_is_integer(v))
        add_fact(s, "Duration", duration_text(a, (long long)json_integer_value(v)));
    long long dead = jsonx_int(d, "dead_letters", 0);
    if (dead > 0)
        add_fact(s, "Dead letters", thousands(a, dead));
    long long qf = jsonx_int(d, "quality_failures", 0);
    if (qf > 0)
        add_fact(s, "Failed checks", thousands(a, qf));
    const char *table = jsonx_str(d, "source_table", NULL);
    if (table) {
        const char *schema = jsonx_str(d, "source_schema", "");
        add_fact(s, "Table", *schema ? arena_printf(a, "%s.%s", schema, table) : table);
    }
    if (!table)
        add_fact(s, "Table", jsonx_str(d, "table", NULL));
    add_fact(s, "Zone", jsonx_str(d, "zone_name", NULL));
    add_fact(s, "File", jsonx_str(d, "file_name", NULL));
    v = json_object_get(d, "rows_rejected");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        add_fact(s, "Rejected records", thousands(a, (long long)json_integer_value(v)));
    add_fact(s, "Run", text_or_number(a, json_object_get(d, "run_id")));

    if (strcmp(type, "quality.failed") == 0 && json_array_size(json_object_get(d, "checks"))) {
        s->detail_label = "Failed checks";
        s->detail = quality_text(a, json_object_get(d, "checks"));
    } else if (strcmp(type, "schema.drifted") == 0) {
        s->detail_label = "Changes";
        s->detail = drift_text(a, d);
    } else if (strcmp(type, "landing.file_rejected") == 0 && jsonx_str(d, "reason", NULL)) {
        s->detail_label = "Reason";
        s->detail = jsonx_str(d, "reason", NULL);
    }
    if (!s->detail || !*s->detail) {
        const char *err = jsonx_str(d, "error", NULL);
        s->detail_label = err && *err ? "Error" : NULL;
        s->detail = err && *err ? err : NULL;
    }

    const char *run = text_or_number(a, json_object_get(d, "run_id"));
    const char *url = jsonx_str(d, "run_url", NULL);
    const char *base = env && env->base_url ? env->base_url : "";
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    if (url && *url)
        s->link = url;
    else if (run && *run && bl > 0)
        s->link = arena_printf(a, "%.*s/runs/%s", (int)bl, base, run);
    s->link_text = url && *url ? "Open" : "Open run";
}

/* --- the four formats --------------------------------------------------------------------- */

/* Text forms (Slack's fallback, Telegram) leave out the facts their title
 * already says. */
static int in_text(const fact *f)
{
    return strcmp(f->name, "Pipeline") != 0 && strcmp(f->name, "Outcome") != 0;
}

static json_t *slack_field(arena *a, const char *name, const char *value)
{
    size_t room = NOTIFY_SLACK_FIELD_MAX - notify_u16len(name) - 3;
    return json_pack("{s:s, s:s}", "type", "mrkdwn", "text",
                     arena_printf(a, "*%s*\n%s", name, clip_esc(a, value, room, esc_slack)));
}

static json_t *render_slack(arena *a, const summary *s)
{
    json_t *blocks = json_array();
    json_array_append_new(
        blocks, json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text", "type",
                          "plain_text", "text", clip_esc(a, s->title, NOTIFY_SLACK_HEADER_MAX,
                                                         esc_none),
                          "emoji", 1));
    json_t *fields = json_array();
    for (int i = 0; i < s->nfacts && i < 10; i++)
        json_array_append_new(fields, slack_field(a, s->facts[i].name, s->facts[i].value));
    json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "fields", fields));
    if (s->detail) {
        /* "*Error*\n```" + text + "```" within the section limit. */
        size_t room = NOTIFY_SLACK_SECTION_MAX - notify_u16len(s->detail_label) - 9;
        const char *t = arena_printf(a, "*%s*\n```%s```", s->detail_label,
                                     clip_esc(a, s->detail, room, esc_slack_code));
        json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section",
                                                "text", "type", "mrkdwn", "text", t));
    }
    if (s->link)
        json_array_append_new(
            blocks, json_pack("{s:s, s:[{s:s, s:{s:s, s:s}, s:s}]}", "type", "actions",
                              "elements", "type", "button", "text", "type", "plain_text",
                              "text", s->link_text, "url", s->link));

    /* The fallback (notifications, old clients): title, facts, detail, link. */
    const char *text = clip_esc(a, s->title, NOTIFY_SLACK_HEADER_MAX, esc_slack);
    for (int i = 0, k = 0; i < s->nfacts; i++)
        if (in_text(&s->facts[i]))
            text = arena_printf(a, "%s%s%s: %s", text, k++ ? ", " : " - ", s->facts[i].name,
                                clip_esc(a, s->facts[i].value, 200, esc_slack));
    if (s->detail)
        text = arena_printf(a, "%s\n%s: %s", text, s->detail_label,
                            clip_esc(a, s->detail, FALLBACK_DETAIL_MAX, esc_slack));
    if (s->link)
        text = arena_printf(a, "%s\n<%s|%s>", text, s->link, s->link_text);
    return json_pack("{s:s, s:o}", "text", notify_clip(a, text, NOTIFY_SLACK_TEXT_MAX),
                     "blocks", blocks);
}

static json_t *render_discord(arena *a, const summary *s, long long timestamp)
{
    const char *title = clip_esc(a, s->title, NOTIFY_DISCORD_TITLE_MAX, esc_none);
    size_t used = notify_u16len(title) + strlen("sluice");
    json_t *fields = json_array();
    for (int i = 0; i < s->nfacts; i++) {
        const char *v = clip_esc(a, s->facts[i].value, DISCORD_FACT_MAX, esc_discord);
        used += notify_u16len(s->facts[i].name) + notify_u16len(v);
        json_array_append_new(fields, json_pack("{s:s, s:s, s:b}", "name", s->facts[i].name,
                                                "value", v, "inline", 1));
    }
    json_t *embed = json_pack("{s:s}", "title", title);
    if (s->link)
        json_object_set_new(embed, "url", json_string(s->link));
    if (s->detail) {
        /* "**Error**\n```\n" + text + "\n```" within the description and the embed. */
        size_t over = notify_u16len(s->detail_label) + 13;
        size_t room = NOTIFY_DISCORD_DESC_MAX - over;
        if (used + NOTIFY_DISCORD_DESC_MAX > NOTIFY_DISCORD_EMBED_MAX)
            room = NOTIFY_DISCORD_EMBED_MAX - used - over;
        json_object_set_new(embed, "description",
                            json_string(arena_printf(a, "**%s**\n```\n%s\n```", s->detail_label,
                                                     clip_esc(a, s->detail, room, esc_code))));
    }
    json_object_set_new(embed, "color", json_integer(s->colour));
    json_object_set_new(embed, "fields", fields);
    json_object_set_new(embed, "footer", json_pack("{s:s}", "text", "sluice"));
    json_object_set_new(embed, "timestamp", json_string(notify_rfc3339(a, timestamp)));
    return json_pack("{s:[o], s:{s:[]}}", "embeds", embed, "allowed_mentions", "parse");
}

static json_t *render_telegram(arena *a, const summary *s, const char *chat_id)
{
    const char *head = arena_printf(a, "<b>%s</b>", clip_esc(a, s->title, 256, esc_html));
    for (int i = 0; i < s->nfacts; i++)
        if (in_text(&s->facts[i]))
            head = arena_printf(a, "%s\n%s: %s", head, s->facts[i].name,
                                clip_esc(a, s->facts[i].value, TELEGRAM_FACT_MAX, esc_html));
    const char *tail = "";
    if (s->link)
        tail = arena_printf(a, "\n<a href=\"%s\">%s</a>", clip_esc(a, s->link, 8192, esc_html),
                            s->link_text);
    const char *text;
    if (s->detail) {
        const char *lead = arena_printf(a, "%s\n\n<b>%s</b>\n<pre>", head, s->detail_label);
        size_t fixed = notify_u16len(lead) + strlen("</pre>") + notify_u16len(tail);
        size_t room = fixed < NOTIFY_TELEGRAM_TEXT_MAX ? NOTIFY_TELEGRAM_TEXT_MAX - fixed : 0;
        text = arena_printf(a, "%s%s</pre>%s", lead, clip_esc(a, s->detail, room, esc_html),
                            tail);
    } else {
        text = arena_printf(a, "%s%s", head, tail);
    }
    return json_pack("{s:s, s:s, s:s, s:b}", "chat_id", chat_id, "text", text, "parse_mode",
                     "HTML", "disable_web_page_preview", 1);
}

/* {type, timestamp, data}: data as the event has it, plus run_url. */
static json_t *render_webhook(arena *a, const summary *s, const char *type, const json_t *data,
                              long long timestamp)
{
    json_t *d = json_is_object(data) ? json_deep_copy(data) : json_object();
    if (s->link && !json_object_get(d, "run_url"))
        json_object_set_new(d, "run_url", json_string(s->link));
    return json_pack("{s:s, s:s, s:o}", "type", type, "timestamp", notify_rfc3339(a, timestamp),
                     "data", d);
}

const char *notify_sign(arena *a, const char *secret, const char *msg_id, long long timestamp,
                        const char *body, size_t body_len)
{
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", timestamp);
    return webhook_sig_sign(a, secret, msg_id, ts, body, body_len);
}

static const char **headers(arena *a, int n, ...)
{
    const char **h = arena_alloc(a, (size_t)(n + 1) * sizeof *h);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        h[i] = va_arg(ap, const char *);
    va_end(ap);
    h[n] = NULL;
    return h;
}

/* config[key] as a non-empty string, or NULL after filling eb (SL_EINVAL). */
static const char *need(const json_t *config, const char *key, const char *type, sl_errbuf *eb)
{
    const char *v = jsonx_str(config, key, NULL);
    if (!v || !*v) {
        sl_fail(eb, SL_EINVAL, "%s target: no %s in its config", type, key);
        return NULL;
    }
    return v;
}

/* The texts notify_send must never show: the secret itself and, for a
 * URL, its userinfo and its path with the query (where webhook services
 * keep their tokens), in case a message quotes them apart. */
static const char **secrets_list(arena *a, const char *s1, const char *s2)
{
    const char **l = arena_alloc(a, 6 * sizeof *l);
    int n = 0;
    const char *in[2] = {s1, s2};
    for (int i = 0; i < 2; i++) {
        const char *s = in[i];
        if (!s || !*s)
            continue;
        l[n++] = s;
        const char *scheme = strstr(s, "://");
        if (!scheme)
            continue;
        const char *auth = scheme + 3, *path = auth + strcspn(auth, "/?#");
        const char *at = memchr(auth, '@', (size_t)(path - auth));
        if (at && at > auth)
            l[n++] = arena_strndup(a, auth, (size_t)(at - auth));
        if (strlen(path) > 1)
            l[n++] = path;
    }
    l[n] = NULL;
    return l;
}

sl_err notify_render(arena *a, const notify_env *env, const char *type, const json_t *config,
                     const char *event_type, const json_t *event_data, const char *msg_id,
                     long long timestamp, notify_request *out, sl_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (!type || !notify_type_valid(type))
        return sl_fail(eb, SL_EINVAL, "unknown target type '%s'", type ? type : "");
    if (!event_type || !*event_type)
        return sl_fail(eb, SL_EINVAL, "no event type");
    if (!json_is_object(config))
        return sl_fail(eb, SL_EINVAL, "%s target: no config", type);
    summary s;
    summarise(a, env, event_type, event_data, &s);
    out->content_type = "application/json";
    json_t *body;
    const char *ua = "User-Agent: " USER_AGENT;
    const char *ct = "Content-Type: application/json";
    if (strcmp(type, "slack") == 0 || strcmp(type, "discord") == 0) {
        const char *url = need(config, "url", type, eb);
        if (!url)
            return SL_EINVAL;
        out->url = url;
        out->url_masked = notify_mask_url(a, url, 0);
        out->secrets = secrets_list(a, url, NULL);
        body = type[0] == 's' ? render_slack(a, &s) : render_discord(a, &s, timestamp);
        out->headers = headers(a, 2, ct, ua);
    } else if (strcmp(type, "telegram") == 0) {
        const char *token = need(config, "bot_token", type, eb);
        const char *chat = token ? need(config, "chat_id", type, eb) : NULL;
        if (!chat)
            return SL_EINVAL;
        const char *base = env && env->telegram_base && *env->telegram_base
                               ? env->telegram_base
                               : NOTIFY_TELEGRAM_BASE;
        size_t bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        out->url = arena_printf(a, "%.*s/bot%s/sendMessage", (int)bl, base, token);
        out->url_masked = arena_printf(a, "%.*s/bot%s/sendMessage", (int)bl, base,
                                       notify_mask_token(a, token));
        out->secrets = secrets_list(a, token, NULL);
        body = render_telegram(a, &s, chat);
        out->headers = headers(a, 2, ct, ua);
    } else {
        const char *url = need(config, "url", type, eb);
        const char *secret = url ? need(config, "secret", type, eb) : NULL;
        if (!secret)
            return SL_EINVAL;
        if (!msg_id || !*msg_id || strlen(msg_id) > WEBHOOK_SIG_ID_MAX)
            return sl_fail(eb, SL_EINVAL, "webhook target: no message id");
        out->url = url;
        out->url_masked = notify_mask_url(a, url, 1);
        out->secrets = secrets_list(a, url, secret);
        body = render_webhook(a, &s, event_type, event_data, timestamp);
        out->body = jsonx_dump(a, body);
        json_decref(body);
        out->body_len = strlen(out->body);
        const char *sig = notify_sign(a, secret, msg_id, timestamp, out->body, out->body_len);
        if (!sig)
            return sl_fail(eb, SL_EINVAL, "webhook target: the signing secret is unusable");
        out->headers = headers(a, 5, ct, ua, arena_printf(a, "webhook-id: %s", msg_id),
                               arena_printf(a, "webhook-timestamp: %lld", timestamp),
                               arena_printf(a, "webhook-signature: %s", sig));
        return SL_OK;
    }
    out->body = jsonx_dump(a, body);
    json_decref(body);
    out->body_len = strlen(out->body);
    return SL_OK;
}
