/* form.c - urlencoded forms and cookies (see form.h). */
#include "form.h"

#include <string.h>
#include <strings.h>

#include "router.h"

struct form {
    int n;
    const char *names[FORM_MAX_FIELDS];
    const char *values[FORM_MAX_FIELDS];
};

/* The parsed form hangs off the request through this arena-owned slot. */
static struct form *form_of(request *r)
{
    return (struct form *)r->form;
}

sl_err form_parse(request *r, sl_errbuf *eb)
{
    if (r->form)
        return SL_OK;
    struct form *f = arena_calloc(r->a, 1, sizeof *f);
    if (r->content_length > 0 &&
        strncasecmp(r->content_type, "application/x-www-form-urlencoded", 33) != 0)
        return sl_fail(eb, SL_EUNSUPPORTED, "expected a urlencoded form, got '%s'",
                       r->content_type);
    long long max = r->route && r->route->max_body ? r->route->max_body : r->cfg->web_max_body;
    sl_err e = http_read_body(r, (size_t)max, eb);
    if (e)
        return e;
    const char *p = r->body;
    const char *end = r->body + r->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *kend = eq ? eq : stop;
            if (f->n >= FORM_MAX_FIELDS)
                return sl_fail(eb, SL_EPARSE, "too many form fields");
            char *k = http_decode(r->a, p, (size_t)(kend - p), 1);
            char *v = eq ? http_decode(r->a, eq + 1, (size_t)(stop - eq - 1), 1)
                         : arena_strdup(r->a, "");
            if (!k || !v)
                return sl_fail(eb, SL_EPARSE, "the form has a bad escape or a control character");
            f->names[f->n] = k;
            f->values[f->n] = v;
            f->n++;
        }
        p = stop + 1;
    }
    r->form = f;
    return SL_OK;
}

const char *form_get(request *r, const char *name)
{
    struct form *f = form_of(r);
    if (!f)
        return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

const char *form_str(request *r, const char *name)
{
    const char *v = form_get(r, name);
    if (!v)
        return "";
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    return arena_strndup(r->a, v, n);
}

int form_bool(request *r, const char *name)
{
    const char *v = form_get(r, name);
    return v && strcmp(v, "0") != 0 && strcasecmp(v, "off") != 0 &&
           strcasecmp(v, "false") != 0;
}

const char *cookie_get(const request *r, const char *name)
{
    const char *h = http_header(r, "Cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *semi = strchr(h, ';');
        size_t len = semi ? (size_t)(semi - h) : strlen(h);
        if (len > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=')
            return arena_strndup(r->a, h + nlen + 1, len - nlen - 1);
        h = semi;
    }
    return NULL;
}

void cookie_set(request *r, const char *name, const char *value, long max_age)
{
    char *v;
    if (max_age < 0)
        v = arena_printf(r->a, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s", name, value,
                         r->https ? "; Secure" : "");
    else
        v = arena_printf(r->a, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name,
                         max_age ? value : "", max_age, r->https ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", v);
}
