/* page.c - page context, template rendering, flash messages, error pages.
 *
 * Templates are compiled once per worker in page_init(); a render writes
 * into the request's output buffer. The flash message travels in a short
 * cookie that the next rendered page shows and clears. */
#include "page.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "features.h"
#include "form.h"
#include "log.h"
#include "router.h"
#include "tpl.h"
#include "worker.h"

#define FLASH_COOKIE "sluice_flash"
#define PAGE_MAX (8 * 1024 * 1024)

extern void (*http_error_page_hook)(request *r, int status, const char *detail);

static void error_page(request *r, int status, const char *detail)
{
    json_t *ctx = page_ctx(r, http_reason(status), NULL);
    json_object_set_new(ctx, "status", json_integer(status));
    json_object_set_new(ctx, "reason", json_string(http_reason(status)));
    if (detail)
        json_object_set_new(ctx, "detail", json_string(detail));
    page_render(r, status, "error", ctx);
}

int page_init(struct worker *w)
{
    char dir[CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/templates", w->cfg->share_dir);
    sl_errbuf eb = {0};
    tpl_set *s = tpl_set_new();
    if (tpl_set_load_dir(s, dir, &eb) != SL_OK) {
        log_error("templates: %s", eb.msg);
        tpl_set_free(s);
        return 1;
    }
    w->tpl = s;
    http_error_page_hook = error_page;
    return 0;
}

static json_t *take_flash(request *r)
{
    json_t *list = json_array();
    const char *c = cookie_get(r, FLASH_COOKIE);
    if (!c || !*c)
        return list;
    cookie_set(r, FLASH_COOKIE, "", 0);
    const char *bar = strchr(c, '|');
    if (!bar)
        return list;
    char *kind = http_decode(r->a, c, (size_t)(bar - c), 1);
    char *msg = http_decode(r->a, bar + 1, strlen(bar + 1), 1);
    if (!kind || !msg || !*msg)
        return list;
    if (strcmp(kind, "ok") != 0 && strcmp(kind, "error") != 0)
        kind = "info";
    json_array_append_new(list, json_pack("{s:s, s:s}", "kind", kind, "message", msg));
    return list;
}

static char *urlencode(arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) * 3 + 1), *q = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            *q++ = (char)*p;
        else
            q += snprintf(q, 4, "%%%02X", *p);
    }
    *q = '\0';
    return out;
}

void page_flash(request *r, const char *kind, const char *message)
{
    char *v = arena_printf(r->a, "%s|%s", urlencode(r->a, kind),
                           urlencode(r->a, arena_strndup(r->a, message, 300)));
    cookie_set(r, FLASH_COOKIE, v, 60);
}

void page_done(request *r, const char *location, const char *message)
{
    if (message)
        page_flash(r, "ok", message);
    http_redirect(r, 303, location);
}

void page_field_error(json_t *errors, const char *field, const char *message)
{
    if (!json_object_get(errors, field))
        json_object_set_new(errors, field, json_string(message));
}

json_t *page_ctx(request *r, const char *title, const char *nav)
{
    json_t *ctx = json_object();
    json_object_set_new(ctx, "title", json_string(title ? title : "sluice"));
    json_object_set_new(ctx, "version", json_string(SLUICE_VERSION));
    json_object_set_new(ctx, "signed_in", json_boolean(r->role > ROLE_PUBLIC));
    if (r->role > ROLE_PUBLIC) {
        json_t *u = json_object();
        json_object_set_new(u, "id", json_string(r->user_id ? r->user_id : ""));
        json_object_set_new(u, "email", json_string(r->user_email ? r->user_email : ""));
        json_object_set_new(u, "name", json_string(r->user_name && *r->user_name
                                                       ? r->user_name
                                                       : (r->user_email ? r->user_email : "")));
        json_object_set_new(u, "role", json_string(auth_role_name(r->role)));
        json_object_set_new(u, "is_admin", json_boolean(r->role >= ROLE_ADMIN));
        json_object_set_new(u, "is_editor", json_boolean(r->role >= ROLE_EDITOR));
        json_object_set_new(ctx, "user", u);
        json_object_set_new(ctx, "features", features_json(r)); /* features.<flag> */
    }
    json_object_set_new(ctx, "csrf", json_string(auth_csrf_token(r)));
    json_object_set_new(ctx, "flash", take_flash(r));
    json_t *navs = json_object();
    if (nav)
        json_object_set_new(navs, nav, json_true());
    json_object_set_new(ctx, "nav", navs);
    return ctx;
}

void page_render(request *r, int status, const char *name, json_t *ctx)
{
    sl_errbuf eb = {0};
    sl_err e = SL_ENOTFOUND;
    if (r->w && r->w->tpl) {
        sbuf out;
        sb_init(&out, r->a, PAGE_MAX);
        e = tpl_render(r->w->tpl, name, ctx, &out, &eb);
        if (e == SL_OK) {
            json_decref(ctx);
            http_send(r, status, "text/html; charset=utf-8", out.ptr, out.len);
            return;
        }
    }
    json_decref(ctx);
    log_error("template %s: %s", name, eb.msg[0] ? eb.msg : sl_strerror(e));
    static const char fallback[] = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                                   "<title>Error - sluice</title></head><body><h1>Something "
                                   "went wrong</h1><p>The page could not be shown.</p>"
                                   "</body></html>\n";
    http_send(r, 500, "text/html; charset=utf-8", fallback, sizeof fallback - 1);
}
