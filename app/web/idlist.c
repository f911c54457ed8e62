/* idlist.c - filtered, keyset-paged lists keyed by a snowflake id, shared by
 * the audit log and the event stream (see idlist.h). */
#include "idlist.h"

#include <string.h>

#include "page.h"
#include "params.h"
#include "worker.h"

char *idlist_like_escape(arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) * 2 + 1), *q = out;
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *q++ = '\\';
        *q++ = *s;
    }
    *q = '\0';
    return out;
}

const char *idlist_text(request *r, const char *name, json_t *errors)
{
    const char *v = params_query(r, name, errors);
    return v ? params_trim(r->a, v) : "";
}

void idlist_check_text(request *r, const char *v, long max, const char *field, json_t *errors)
{
    long n = params_utf8_len(v);
    if (n < 0)
        page_field_error(errors, field, "must be valid UTF-8 text");
    else if (n > max)
        page_field_error(errors, field, arena_printf(r->a, "must be at most %ld characters", max));
    else if (params_has_control(v))
        page_field_error(errors, field, "must not contain control characters");
}

int idlist_id_ok(const char *s)
{
    long long id;
    return params_int(s, 1, 9223372036854775807LL, &id);
}

void idlist_match(request *r, const char *v, const char **exact, const char **pattern)
{
    size_t n = strlen(v);
    if (v[n - 1] == '*')
        *pattern = arena_printf(r->a, "%s%%",
                                idlist_like_escape(r->a, arena_strndup(r->a, v, n - 1)));
    else if (v[n - 1] == '.')
        *pattern = arena_printf(r->a, "%s%%", idlist_like_escape(r->a, v));
    else
        *exact = v;
}

static int check_date(const char *v, const char *field, int api, json_t *errors)
{
    if (!*v)
        return 0;
    if (params_date(v))
        return 1;
    page_field_error(errors, field, api ? "must be a date as YYYY-MM-DD"
                                        : "Enter a real date as YYYY-MM-DD, e.g. 2024-05-31.");
    return 0;
}

void idlist_dates(const char *from, const char *to, int api, json_t *errors)
{
    int from_ok = check_date(from, "from", api, errors);
    int to_ok = check_date(to, "to", api, errors);
    if (from_ok && to_ok && strcmp(from, to) > 0)
        page_field_error(errors, "to", api ? "must not be before from"
                                           : "The end date must not be before the start date.");
}

/* An API cursor holds one field: the id of the last row of the page before. */
static int cursor_ok(const char *const *f)
{
    return idlist_id_ok(f[0]);
}

/* A page's ?before= / ?after=: an id, or NULL (errors[name] when it is
 * malformed). */
static const char *check_cursor(request *r, const idlist_kind *k, const char *name,
                                json_t *errors)
{
    const char *v = params_query(r, name, errors);
    if (!v)
        return NULL;
    if (!idlist_id_ok(v)) {
        page_field_error(errors, name,
                         arena_printf(r->a, "must be %s (a positive integer)", k->id_what));
        return NULL;
    }
    return v;
}

void idlist_paging(request *r, const idlist_kind *k, int api, idlist_query *q,
                   json_t *errors)
{
    q->limit = k->page;
    if (api) {
        const char *key[1];
        params_page(r, 1, cursor_ok, key, &q->limit, errors);
        q->before = key[0];
        return;
    }
    q->before = check_cursor(r, k, "before", errors);
    q->after = check_cursor(r, k, "after", errors);
    if (q->before && q->after)
        page_field_error(errors, "after", "use either before or after, not both");
}

void idlist_blank_invalid(const char **v[], int n)
{
    for (int i = 0; i < n; i++)
        if (params_utf8_len(*v[i]) < 0)
            *v[i] = "";
}

/* One page of rows: newest first from before (or the newest), or, with
 * after, the oldest ones newer than after (rows then come oldest first). At
 * most limit + 1 rows, so the caller can tell whether more exist. */
static sl_err fetch(request *r, const idlist_kind *k, const idlist_query *q, PGresult **res,
                    sl_errbuf *eb)
{
    const char *params[] = {q->sql[0], q->sql[1], q->sql[2], q->sql[3], q->sql[4],
                            q->after ? q->after : q->before,
                            arena_printf(r->a, "%lld", q->limit + 1)};
    const char *sql = q->after ? " AND id > $6::bigint ORDER BY id ASC LIMIT $7::int"
                               : " AND ($6::bigint IS NULL OR id < $6::bigint)"
                                 " ORDER BY id DESC LIMIT $7::int";
    return db_query(r->db, r->a, eb, res,
                    arena_printf(r->a, "%s%s%s", k->select_sql, k->filter_sql, sql), 7, params);
}

/* Whether rows matching q exist beyond id: newer (dir > 0) or older. */
static sl_err exists_beyond(request *r, const idlist_kind *k, const idlist_query *q,
                            const char *id, int dir, int *yes, sl_errbuf *eb)
{
    const char *params[] = {q->sql[0], q->sql[1], q->sql[2], q->sql[3], q->sql[4], id};
    char *v;
    sl_err e = db_query_value(r->db, r->a, eb, &v,
                              arena_printf(r->a,
                                           "SELECT EXISTS (SELECT 1 FROM %s WHERE%s AND id %c"
                                           " $6::bigint)",
                                           k->table, k->filter_sql, dir > 0 ? '>' : '<'),
                              6, params);
    if (!e)
        *yes = v && strcmp(v, "t") == 0;
    return e;
}

int idlist_page(request *r, const idlist_kind *k, const idlist_query *q, idlist_row_fn row,
                idlist_link_fn link, const void *f, json_t **items, json_t **pager)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = fetch(r, k, q, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    int n = PQntuples(res), shown = n > k->page ? k->page : n;
    json_t *list = json_array();
    /* With after, rows come oldest first: show them newest first. */
    for (int i = 0; i < shown; i++)
        json_array_append_new(list, row(r, res, q->after ? shown - 1 - i : i));
    int newer = 0, older = 0;
    const char *newest_id = NULL, *oldest_id = NULL;
    if (shown) {
        newest_id = PQgetvalue(res, q->after ? shown - 1 : 0, 0);
        oldest_id = PQgetvalue(res, q->after ? 0 : shown - 1, 0);
    }
    if (q->after) {
        newer = n > k->page;
        if (shown)
            e = exists_beyond(r, k, q, oldest_id, -1, &older, &eb);
    } else {
        older = n > k->page;
        if (shown && q->before)
            e = exists_beyond(r, k, q, newest_id, 1, &newer, &eb);
    }
    if (e) {
        json_decref(list);
        web_db_error(r, e, &eb);
        return -1;
    }
    json_t *p = json_object();
    if (newer)
        json_object_set_new(p, "newer", json_string(link(r, f, "after", newest_id)));
    if (older)
        json_object_set_new(p, "older", json_string(link(r, f, "before", oldest_id)));
    if (!shown && (q->before || q->after))
        json_object_set_new(p, "newest", json_string(link(r, f, NULL, NULL)));
    *items = list;
    *pager = p;
    return 0;
}

void idlist_api(request *r, const idlist_kind *k, const idlist_query *q, idlist_row_fn row)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = fetch(r, k, q, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < q->limit; i++)
        json_array_append_new(items, row(r, res, i));
    const char *next = NULL;
    if (n > q->limit)
        next = params_cursor_make(r->a, 1, (const char *[]){PQgetvalue(res, (int)q->limit - 1,
                                                                         0)});
    http_send_json(r, 200, params_page_json(items, next));
}

const char *idlist_link(request *r, const char *path, const char *const *names,
                        const char *const *vals, int n, const char *cursor, const char *id)
{
    char *q = "";
    for (int i = 0; i < n; i++)
        if (*vals[i])
            q = arena_printf(r->a, "%s%s=%s&", q, names[i], params_urlencode(r->a, vals[i]));
    if (cursor)
        q = arena_printf(r->a, "%s%s=%s&", q, cursor, id);
    size_t len = strlen(q);
    if (len)
        q[len - 1] = '\0';
    return len ? arena_printf(r->a, "%s?%s", path, q) : path;
}

const char *idlist_val(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

json_t *idlist_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

const char *idlist_at_shown(request *r, const char *at)
{
    char *shown = arena_printf(r->a, "%.19s", at);
    if (strlen(shown) > 10)
        shown[10] = ' ';
    return shown;
}
