/* deliveries.c - the deliveries page of a notification target
 * (/notifications/{id}/deliveries): every attempt (time, status code,
 * latency, error, the answer's first KiB), newest first, and the target's
 * dead letters with Retry and Discard, one message at a time or in bulk.
 *
 * The two lists page independently with keyset links (?before= / ?after=
 * for attempts, ?dead_before= / ?dead_after= for dead letters). Retry
 * posts and redirects back (303) with a flash message. Discard is behind a
 * confirmation that works without JavaScript: a GET page for one message
 * or for all of them, and for a selection the bulk form's POST answers
 * with the confirmation page (the final POST carries confirm=yes). A bulk
 * selection is the checkboxes m.0 .. m.N of the dead-letter table (or
 * all=1). Changes are audited (deliveries_model.c). */
#include <stdlib.h>
#include <string.h>

#include "deliveries.h"
#include "form.h"
#include "handlers.h"
#include "page.h"
#include "params.h"
#include "worker.h"

/* The target of the {id} path parameter (one row, TG_*), or NULL after
 * answering 404 / 5xx. */
static PGresult *load_target(request *r)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = dlv_target(r, http_path_param(r, "id"), &res, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, "no such notification target");
        return NULL;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return NULL;
    }
    return res;
}

static json_t *target_json(PGresult *t)
{
    int active = strcmp(PQgetvalue(t, 0, TG_ACTIVE), "t") == 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "id", PQgetvalue(t, 0, TG_ID),
                          "name", PQgetvalue(t, 0, TG_NAME), "type", PQgetvalue(t, 0, TG_TYPE),
                          "active", active, "queued",
                          (json_int_t)strtoll(PQgetvalue(t, 0, TG_QUEUED), NULL, 10),
                          "delivered",
                          (json_int_t)strtoll(PQgetvalue(t, 0, TG_DELIVERED), NULL, 10), "dead",
                          (json_int_t)strtoll(PQgetvalue(t, 0, TG_DEAD), NULL, 10));
    json_object_set_new(o, "any_dead", json_boolean(strcmp(PQgetvalue(t, 0, TG_DEAD), "0") != 0));
    json_object_set_new(o, "disabled_reason", PQgetisnull(t, 0, TG_DISABLED)
                                                  ? json_null()
                                                  : json_string(PQgetvalue(t, 0, TG_DISABLED)));
    return o;
}

static const char *back(request *r, const char *target)
{
    return arena_printf(r->a, "/notifications/%s/deliveries", target);
}

/* A page cursor from the query (an id), NULL when absent; *bad set when
 * it is malformed. */
static const char *cursor(request *r, const char *name, int *bad)
{
    const char *v = http_query(r, name);
    if (v && !dlv_id_ok(v)) {
        *bad = 1;
        return NULL;
    }
    return v;
}

/* One list of the page, paged by its own pair of cursors. */
typedef struct {
    const char *before, *after;   /* ids */
    const char *bname, *aname;    /* their query names */
    int newer, older;
    const char *newest_id, *oldest_id;
} pager;

/* Rows of res (at most DLV_PAGE + 1, newest first or, with after, oldest
 * first) as an array of item() newest first; fills the pager's ends. */
static json_t *rows(request *r, PGresult *res, pager *p, int id_col,
                    json_t *(*item)(request *, PGresult *, int))
{
    int n = PQntuples(res), shown = n > DLV_PAGE ? DLV_PAGE : n;
    json_t *arr = json_array();
    for (int k = 0; k < shown; k++)
        json_array_append_new(arr, item(r, res, p->after ? shown - 1 - k : k));
    if (shown) {
        p->newest_id = PQgetvalue(res, p->after ? shown - 1 : 0, id_col);
        p->oldest_id = PQgetvalue(res, p->after ? 0 : shown - 1, id_col);
    }
    if (p->after)
        p->newer = n > DLV_PAGE;
    else
        p->older = n > DLV_PAGE;
    return arr;
}

static json_t *pager_json(request *r, const char *target, const pager *p, const char *anchor)
{
    json_t *o = json_object();
    const char *base = back(r, target);
    if (p->newer)
        json_object_set_new(o, "newer", json_string(arena_printf(r->a, "%s?%s=%s#%s", base,
                                                                 p->aname, p->newest_id,
                                                                 anchor)));
    if (p->older)
        json_object_set_new(o, "older", json_string(arena_printf(r->a, "%s?%s=%s#%s", base,
                                                                 p->bname, p->oldest_id,
                                                                 anchor)));
    if ((p->before || p->after) && !p->newest_id)
        json_object_set_new(o, "newest", json_string(arena_printf(r->a, "%s#%s", base, anchor)));
    return o;
}

void h_deliveries_page(request *r)
{
    PGresult *t = load_target(r);
    if (!t)
        return;
    const char *target = PQgetvalue(t, 0, TG_ID);
    int bad = 0;
    pager pa = {.bname = "before", .aname = "after"};
    pager pd = {.bname = "dead_before", .aname = "dead_after"};
    pa.before = cursor(r, "before", &bad);
    pa.after = cursor(r, "after", &bad);
    pd.before = cursor(r, "dead_before", &bad);
    pd.after = cursor(r, "dead_after", &bad);
    if (bad) {
        http_error(r, 422, "a page link is malformed (before, after, dead_before and "
                           "dead_after take an id)");
        return;
    }
    sl_errbuf eb = {0};
    PGresult *ares, *dres;
    sl_err e = dlv_attempts(r, target, pa.before, pa.after, DLV_PAGE, &ares, &eb);
    if (!e)
        e = dlv_messages(r, target, "dead", pd.before, pd.after, DLV_PAGE, &dres, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    json_t *attempts = rows(r, ares, &pa, DC_ID, dlv_attempt_page_json);
    json_t *dead = rows(r, dres, &pd, MC_ID, dlv_message_page_json);
    /* The other end of each list: are there entries beyond what is shown? */
    if (pa.after && pa.oldest_id)
        e = dlv_attempts_beyond(r, target, pa.oldest_id, -1, &pa.older, &eb);
    else if (pa.before && pa.newest_id)
        e = dlv_attempts_beyond(r, target, pa.newest_id, 1, &pa.newer, &eb);
    if (!e && pd.after && pd.oldest_id)
        e = dlv_messages_beyond(r, target, "dead", pd.oldest_id, -1, &pd.older, &eb);
    else if (!e && pd.before && pd.newest_id)
        e = dlv_messages_beyond(r, target, "dead", pd.newest_id, 1, &pd.newer, &eb);
    if (e) {
        json_decref(attempts);
        json_decref(dead);
        web_db_error(r, e, &eb);
        return;
    }
    json_t *tj = target_json(t);
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Deliveries · %s", PQgetvalue(t, 0, TG_NAME)),
                           "notifications");
    json_object_set_new(ctx, "target", tj);
    json_object_set_new(ctx, "has_attempts", json_boolean(json_array_size(attempts) > 0));
    json_object_set_new(ctx, "attempts", attempts);
    json_object_set_new(ctx, "attempts_pager", pager_json(r, target, &pa, "attempts"));
    json_object_set_new(ctx, "has_dead", json_boolean(json_array_size(dead) > 0));
    json_object_set_new(ctx, "dead", dead);
    json_object_set_new(ctx, "dead_pager", pager_json(r, target, &pd, "dead-letters"));
    page_render(r, 200, "notifications/deliveries", ctx);
}

/* --- changes ----------------------------------------------------------------------- */

/* The selection of a bulk form: all=1, or the ids in m.0 .. m.N. */
static void selection(request *r, const char *target, dlv_select *sel)
{
    memset(sel, 0, sizeof *sel);
    sel->target = target;
    sel->all = form_bool(r, "all");
    const char **ids = arena_calloc(r->a, DLV_SELECT_MAX, sizeof *ids);
    for (int i = 0; i < DLV_SELECT_MAX; i++) {
        const char *v = form_get(r, arena_printf(r->a, "m.%d", i));
        if (v && dlv_id_ok(v))
            ids[sel->n++] = v;
    }
    sel->ids = ids;
}

/* Parse the form; 0 after answering (a malformed body). */
static int parse(request *r)
{
    sl_errbuf eb = {0};
    sl_err e = form_parse(r, &eb);
    if (e) {
        http_error(r, http_status_for(e), eb.msg);
        return 0;
    }
    return 1;
}

static const char *plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Retry sel and redirect back with what happened. */
static void retry(request *r, const char *target, const dlv_select *sel)
{
    long long count = 0, blocked = 0;
    sl_errbuf eb = {0};
    sl_err e = dlv_retry(r, sel, &count, &blocked, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (blocked)
        page_flash(r, "error", "The target is disabled: enable it before retrying its dead "
                               "letters.");
    else if (count == 0)
        page_flash(r, "info", "Nothing to retry: those messages are not dead letters any more.");
    if (count > 0)
        page_done(r, back(r, target),
                  arena_printf(r->a, "%lld dead %s queued again; %s will be delivered within a "
                                     "minute.",
                               count, plural(count, "letter", "letters"),
                               plural(count, "it", "they")));
    else
        http_redirect(r, 303, arena_printf(r->a, "%s#dead-letters", back(r, target)));
}

void h_message_retry(request *r)
{
    PGresult *t = load_target(r);
    if (!t || !parse(r))
        return;
    const char *mid = http_path_param(r, "mid");
    if (!dlv_id_ok(mid)) {
        http_error(r, 404, "no such message");
        return;
    }
    const char *target = PQgetvalue(t, 0, TG_ID);
    dlv_select sel = {.target = target, .ids = (const char *[]){mid}, .n = 1};
    retry(r, target, &sel);
}

void h_dead_letters_retry(request *r)
{
    PGresult *t = load_target(r);
    if (!t || !parse(r))
        return;
    const char *target = PQgetvalue(t, 0, TG_ID);
    dlv_select sel;
    selection(r, target, &sel);
    if (!sel.all && sel.n == 0) {
        page_flash(r, "error", "Select the dead letters to retry first.");
        http_redirect(r, 303, arena_printf(r->a, "%s#dead-letters", back(r, target)));
        return;
    }
    retry(r, target, &sel);
}

/* The confirmation page for discarding sel (ids listed, or all of them). */
static void confirm_page(request *r, PGresult *t, const dlv_select *sel, long long count,
                         const char *action)
{
    json_t *ids = json_array();
    for (int i = 0; i < sel->n; i++)
        json_array_append_new(ids, json_pack("{s:i, s:s}", "index", i, "id", sel->ids[i]));
    json_t *ctx = page_ctx(r, "Discard dead letters", "notifications");
    json_object_set_new(ctx, "target", target_json(t));
    json_object_set_new(ctx, "ids", ids);
    json_object_set_new(ctx, "all", json_boolean(sel->all));
    json_object_set_new(ctx, "count", json_integer(count));
    json_object_set_new(ctx, "one", json_boolean(count == 1));
    json_object_set_new(ctx, "none", json_boolean(count == 0));
    json_object_set_new(ctx, "action", json_string(action));
    json_object_set_new(ctx, "back", json_string(back(r, PQgetvalue(t, 0, TG_ID))));
    page_render(r, 200, "notifications/discard", ctx);
}

void h_message_discard_form(request *r)
{
    PGresult *t = load_target(r);
    if (!t)
        return;
    const char *target = PQgetvalue(t, 0, TG_ID);
    sl_errbuf eb = {0};
    PGresult *m;
    sl_err e = dlv_message(r, http_path_param(r, "mid"), &m, &eb);
    if (e == SL_ENOTFOUND || (!e && strcmp(PQgetvalue(m, 0, MC_TARGET), target) != 0)) {
        http_error(r, 404, "no such message");
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    const char *mid = PQgetvalue(m, 0, MC_ID);
    int dead = strcmp(PQgetvalue(m, 0, MC_STATUS), "dead") == 0;
    dlv_select sel = {.target = target, .ids = (const char *[]){mid}, .n = 1};
    confirm_page(r, t, &sel, dead ? 1 : 0,
                 arena_printf(r->a, "/notifications/%s/messages/%s/discard", target, mid));
}

void h_dead_letters_discard_form(request *r)
{
    PGresult *t = load_target(r);
    if (!t)
        return;
    dlv_select sel = {.target = PQgetvalue(t, 0, TG_ID), .all = 1};
    confirm_page(r, t, &sel, strtoll(PQgetvalue(t, 0, TG_DEAD), NULL, 10),
                 arena_printf(r->a, "/notifications/%s/dead-letters/discard", sel.target));
}

/* Discard sel and redirect back with what happened. */
static void discard(request *r, const char *target, const dlv_select *sel)
{
    long long count = 0;
    sl_errbuf eb = {0};
    sl_err e = dlv_discard(r, sel, &count, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (count == 0) {
        page_flash(r, "info", "Nothing to discard: those messages are not dead letters any "
                              "more.");
        http_redirect(r, 303, arena_printf(r->a, "%s#dead-letters", back(r, target)));
        return;
    }
    page_done(r, back(r, target),
              arena_printf(r->a, "%lld dead %s discarded.", count,
                           plural(count, "letter", "letters")));
}

void h_message_discard(request *r)
{
    PGresult *t = load_target(r);
    if (!t || !parse(r))
        return;
    const char *mid = http_path_param(r, "mid");
    if (!dlv_id_ok(mid)) {
        http_error(r, 404, "no such message");
        return;
    }
    const char *target = PQgetvalue(t, 0, TG_ID);
    dlv_select sel = {.target = target, .ids = (const char *[]){mid}, .n = 1};
    discard(r, target, &sel);
}

void h_dead_letters_discard(request *r)
{
    PGresult *t = load_target(r);
    if (!t || !parse(r))
        return;
    const char *target = PQgetvalue(t, 0, TG_ID);
    dlv_select sel;
    selection(r, target, &sel);
    if (!sel.all && sel.n == 0) {
        page_flash(r, "error", "Select the dead letters to discard first.");
        http_redirect(r, 303, arena_printf(r->a, "%s#dead-letters", back(r, target)));
        return;
    }
    if (strcmp(form_str(r, "confirm"), "yes") != 0) {
        confirm_page(r, t, &sel,
                     sel.all ? strtoll(PQgetvalue(t, 0, TG_DEAD), NULL, 10) : sel.n,
                     arena_printf(r->a, "/notifications/%s/dead-letters/discard", target));
        return;
    }
    discard(r, target, &sel);
}
