/* connform.c - connection fields, passwords, test connection, cursors and
 * request plumbing shared by sources.c and destinations.c (see connform.h).
 *
 * Passwords: read from the form or the JSON body, checked, sealed with
 * keyring_seal() and stored as password_enc; opened with keyring_open()
 * only to connect. They are never put in a response, a log line, an audit
 * entry or an error message (connector messages are scrubbed as well). */
#include "connform.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "form.h"
#include "jsonx.h"
#include "keyring.h"
#include "page.h"
#include "params.h"
#include "router.h"
#include "uuid.h"
#include "worker.h"

static const struct {
    const char *type, *label;
    int port;
} type_info[] = {
    {"postgresql", "PostgreSQL", 5432}, {"mysql", "MySQL", 3306},
    {"mariadb", "MariaDB", 3306},       {"clickhouse", "ClickHouse", 8123},
    {"mongodb", "MongoDB", 27017},
};
#define NTYPES (sizeof type_info / sizeof type_info[0])

static const struct {
    const char *value, *label;
} ssl_modes[] = {
    {"disable", "disable: no TLS"},
    {"prefer", "prefer: TLS when the server offers it"},
    {"require", "require: TLS, certificate not checked"},
    {"verify-ca", "verify-ca: TLS, certificate signed by a trusted CA"},
    {"verify-full", "verify-full: TLS, certificate and host name checked"},
};
#define NSSL (sizeof ssl_modes / sizeof ssl_modes[0])

static const char *type_label(const char *type)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(type, type_info[i].type) == 0)
            return type_info[i].label;
    return type;
}

int conn_default_port(const char *type)
{
    const struct connector *c = connector_for(type);
    if (c && c->default_port > 0)
        return c->default_port;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(type, type_info[i].type) == 0)
            return type_info[i].port;
    return 0;
}

static int kind_has_type(const conn_kind *k, const char *type)
{
    for (const char *const *t = k->types; *t; t++)
        if (strcmp(*t, type) == 0)
            return 1;
    return 0;
}

/* --- fields -------------------------------------------------------------------------- */

void conn_fields_from_form(request *r, conn_fields *f, int editing)
{
    f->name = form_str(r, "name");
    f->type = form_str(r, "type");
    f->host = form_str(r, "host");
    f->port_text = form_str(r, "port");
    f->database = form_str(r, "database");
    f->user = form_str(r, "user");
    f->ssl_mode = form_str(r, "ssl_mode");
    if (!*f->ssl_mode)
        f->ssl_mode = "prefer";
    /* Not trimmed: a password may start or end with a space. */
    const char *pw = form_get(r, "password");
    f->clear_requested = form_bool(r, "clear_password");
    if (pw && *pw) {
        f->pw = CONN_PW_SET;
        f->password = pw;
    } else if (editing) {
        f->pw = f->clear_requested ? CONN_PW_CLEAR : CONN_PW_KEEP;
    } else {
        f->pw = CONN_PW_CLEAR;
    }
}

void conn_fields_from_row(conn_fields *f, PGresult *res)
{
    f->name = PQgetvalue(res, 0, CC_NAME);
    f->type = PQgetvalue(res, 0, CC_TYPE);
    f->host = PQgetvalue(res, 0, CC_HOST);
    f->port_text = PQgetvalue(res, 0, CC_PORT);
    f->database = PQgetvalue(res, 0, CC_DATABASE);
    f->user = PQgetvalue(res, 0, CC_USER);
    f->ssl_mode = PQgetvalue(res, 0, CC_SSL);
    f->had_password = strcmp(PQgetvalue(res, 0, CC_HAS_PW), "t") == 0;
    f->pw = CONN_PW_KEEP;
    f->password = NULL;
}

/* body[key] as trimmed text into *dst when present; wrong type: errors. */
static void json_text(request *r, const json_t *body, const char *key, const char **dst,
                      json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    if (!json_is_string(v)) {
        page_field_error(errors, key, "must be a string");
        return;
    }
    *dst = params_trim(r->a, json_string_value(v));
}

void conn_fields_from_json(request *r, const json_t *body, conn_fields *f, json_t *errors)
{
    json_text(r, body, "name", &f->name, errors);
    json_text(r, body, "type", &f->type, errors);
    json_text(r, body, "host", &f->host, errors);
    json_text(r, body, "database", &f->database, errors);
    json_text(r, body, "user", &f->user, errors);
    json_text(r, body, "ssl_mode", &f->ssl_mode, errors);
    json_t *v = json_object_get(body, "port");
    if (v) {
        if (json_is_null(v))
            f->port_text = "";
        else if (json_is_integer(v))
            f->port_text = arena_printf(r->a, "%lld", (long long)json_integer_value(v));
        else
            page_field_error(errors, "port", "must be an integer from 1 to 65535, or null");
    }
    v = json_object_get(body, "password");
    if (v) {
        if (json_is_null(v) || (json_is_string(v) && !*json_string_value(v))) {
            f->pw = CONN_PW_CLEAR;
            f->password = NULL;
        } else if (json_is_string(v)) {
            f->pw = CONN_PW_SET;
            f->password = arena_strdup(r->a, json_string_value(v));
        } else {
            page_field_error(errors, "password", "must be a string, or null to clear it");
        }
    }
}

/* Host names and IP addresses: letters, digits, '.', '-', '_', ':' (IPv6),
 * not starting with '-' or '.'. No paths, no spaces, no URLs. */
static int host_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > CONN_HOST_MAX || h[0] == '-' || h[0] == '.')
        return 0;
    for (const char *p = h; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':'))
            return 0;
    }
    return 1;
}

/* A required one-line text field of at most max bytes. */
static void check_text(json_t *errors, const char *field, const char *v, size_t max,
                       const char *empty_msg)
{
    if (!*v)
        page_field_error(errors, field, empty_msg);
    else if (params_utf8_len(v) < 0)
        page_field_error(errors, field, "must be valid UTF-8 text");
    else if (strlen(v) > max)
        page_field_error(errors, field, "is too long");
    else if (params_has_control(v))
        page_field_error(errors, field, "must be one line of text without control characters");
}

void conn_fields_check(request *r, const conn_kind *k, conn_fields *f, json_t *errors)
{
    long n = params_utf8_len(f->name);
    if (!*f->name)
        page_field_error(errors, "name", "enter a name");
    else if (n < 0)
        page_field_error(errors, "name", "must be valid UTF-8 text");
    else if (n > CONN_NAME_MAX)
        page_field_error(errors, "name", "must be at most 200 characters");
    else if (params_has_control(f->name))
        page_field_error(errors, "name", "must be one line of text without control characters");

    int type_ok = 0;
    if (!*f->type) {
        page_field_error(errors, "type", arena_printf(r->a, "choose a type: %s", k->types_text));
    } else if (kind_has_type(k, f->type)) {
        type_ok = 1;
    } else {
        /* MongoDB gets the connector's own "not supported yet". */
        const char *why = connector_unsupported_reason(f->type);
        if (connector_for(f->type))
            why = arena_printf(r->a, "%s cannot be a %s; choose %s", type_label(f->type),
                               k->object, k->types_text);
        else if (!why || strcasecmp(f->type, "mongodb") != 0)
            why = arena_printf(r->a, "%s; choose %s", why ? why : "unknown type",
                               k->types_text);
        page_field_error(errors, "type", why);
    }

    if (!*f->host)
        page_field_error(errors, "host", "enter the server's host name or IP address");
    else if (!host_ok(f->host))
        page_field_error(errors, "host",
                         "enter a host name or IP address (letters, digits, '.', '-', ':')");

    long long port = 0;
    if (!*f->port_text) {
        f->port = type_ok ? conn_default_port(f->type) : 0;
    } else if (params_int(f->port_text, 1, 65535, &port)) {
        f->port = (int)port;
    } else {
        page_field_error(errors, "port", "enter a port from 1 to 65535, or leave it blank");
    }
    if (type_ok && f->port == 0 && !json_object_get(errors, "port"))
        page_field_error(errors, "port", "enter a port from 1 to 65535");

    check_text(errors, "database", f->database, CONN_TEXT_MAX, "enter the database name");
    check_text(errors, "user", f->user, CONN_TEXT_MAX, "enter the user name to connect as");

    if (f->pw == CONN_PW_SET) {
        if (f->clear_requested)
            page_field_error(errors, "password",
                             "type a new password or tick \"clear password\", not both");
        else if (strlen(f->password) > CONN_PASSWORD_MAX)
            page_field_error(errors, "password", "must be at most 1024 bytes");
        else if (params_utf8_len(f->password) < 0)
            page_field_error(errors, "password", "must be valid UTF-8 text");
        else if (params_has_control(f->password))
            page_field_error(errors, "password", "must not contain control characters");
    }

    int ssl_ok = 0;
    for (size_t i = 0; i < NSSL; i++)
        ssl_ok |= strcmp(f->ssl_mode, ssl_modes[i].value) == 0;
    if (!ssl_ok)
        page_field_error(errors, "ssl_mode",
                         "choose disable, prefer, require, verify-ca or verify-full");
}

json_t *conn_form_ctx(request *r, const conn_kind *k, const conn_fields *f, int editing)
{
    json_t *ctx = json_object();
    json_object_set_new(ctx, "name", json_string(f->name));
    json_object_set_new(ctx, "host", json_string(f->host));
    json_object_set_new(ctx, "port", json_string(f->port_text));
    json_object_set_new(ctx, "database", json_string(f->database));
    json_object_set_new(ctx, "user", json_string(f->user));
    json_t *types = json_array();
    json_t *ports = json_array();
    for (const char *const *t = k->types; *t; t++) {
        json_array_append_new(types, json_pack("{s:s, s:s, s:b, s:b}", "value", *t, "label",
                                               type_label(*t), "selected",
                                               strcmp(*t, f->type) == 0, "disabled", 0));
        json_array_append_new(ports, json_string(arena_printf(r->a, "%s %d", type_label(*t),
                                                              conn_default_port(*t))));
    }
    if (k->offer_mongodb)
        json_array_append_new(types, json_pack("{s:s, s:s, s:b, s:b}", "value", "mongodb",
                                               "label", "MongoDB (not supported yet)",
                                               "selected", 0, "disabled", 1));
    json_object_set_new(ctx, "types", types);
    /* "PostgreSQL 5432, MySQL 3306, MariaDB 3306" */
    char *hint = "";
    for (size_t i = 0; i < json_array_size(ports); i++)
        hint = arena_printf(r->a, "%s%s%s", hint, i ? ", " : "",
                            json_string_value(json_array_get(ports, i)));
    json_decref(ports);
    json_object_set_new(ctx, "port_hint", json_string(hint));
    json_t *ssl = json_array();
    for (size_t i = 0; i < NSSL; i++)
        json_array_append_new(ssl, json_pack("{s:s, s:s, s:b}", "value", ssl_modes[i].value,
                                             "label", ssl_modes[i].label, "selected",
                                             strcmp(ssl_modes[i].value, f->ssl_mode) == 0));
    json_object_set_new(ctx, "ssl_modes", ssl);
    json_object_set_new(ctx, "editing", json_boolean(editing));
    json_object_set_new(ctx, "has_password", json_boolean(editing && f->had_password));
    json_object_set_new(ctx, "clear_password", json_boolean(f->clear_requested));
    /* A password typed into a form that failed is not sent back. */
    json_object_set_new(ctx, "retype_password", json_boolean(f->pw == CONN_PW_SET));
    return ctx;
}

const char *conn_sealed_password(request *r, const conn_fields *f)
{
    if (f->pw != CONN_PW_SET || !f->password || !*f->password)
        return NULL;
    return keyring_seal(r->a, f->password);
}

int conn_name_taken(request *r, const conn_kind *k, const char *name, const char *except_id)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        arena_printf(r->a,
                                     "SELECT 1 FROM %s WHERE lower(name) = lower($1)"
                                     " AND ($2::uuid IS NULL OR id <> $2::uuid)",
                                     k->table),
                        2, (const char *[]){name, except_id});
    if (e) {
        web_db_error(r, e, &eb);
        return -1;
    }
    return PQntuples(res) > 0;
}

const char **conn_split_list(arena *a, const char *s, int *n)
{
    size_t cap = strlen(s) / 2 + 2;
    const char **items = arena_alloc(a, cap * sizeof *items);
    *n = 0;
    const char *p = s;
    while (*p) {
        p += strspn(p, ", \t\r\n");
        size_t len = strcspn(p, ", \t\r\n");
        if (len == 0)
            break;
        char *item = arena_strndup(a, p, len);
        int dup = 0;
        for (int i = 0; i < *n; i++)
            dup |= strcmp(items[i], item) == 0;
        if (!dup && (size_t)*n < cap)
            items[(*n)++] = item;
        p += len;
    }
    return items;
}

/* --- JSON views ---------------------------------------------------------------------- */

static json_t *col_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

json_t *conn_api_json(PGresult *res, int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(PQgetvalue(res, i, CC_ID)));
    json_object_set_new(o, "name", json_string(PQgetvalue(res, i, CC_NAME)));
    json_object_set_new(o, "type", json_string(PQgetvalue(res, i, CC_TYPE)));
    json_object_set_new(o, "host", json_string(PQgetvalue(res, i, CC_HOST)));
    json_object_set_new(o, "port", json_integer(strtol(PQgetvalue(res, i, CC_PORT), NULL, 10)));
    json_object_set_new(o, "database", json_string(PQgetvalue(res, i, CC_DATABASE)));
    json_object_set_new(o, "user", json_string(PQgetvalue(res, i, CC_USER)));
    json_object_set_new(o, "has_password",
                        json_boolean(strcmp(PQgetvalue(res, i, CC_HAS_PW), "t") == 0));
    json_object_set_new(o, "ssl_mode", json_string(PQgetvalue(res, i, CC_SSL)));
    json_object_set_new(o, "status", json_string(PQgetvalue(res, i, CC_STATUS)));
    json_object_set_new(o, "last_tested_at", col_or_null(res, i, CC_TESTED));
    json_object_set_new(o, "last_test_ms",
                        PQgetisnull(res, i, CC_TEST_MS)
                            ? json_null()
                            : json_integer(strtol(PQgetvalue(res, i, CC_TEST_MS), NULL, 10)));
    json_object_set_new(o, "last_error", col_or_null(res, i, CC_ERROR));
    json_object_set_new(o, "server_version", col_or_null(res, i, CC_VERSION));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, CC_CREATED)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(res, i, CC_UPDATED)));
    return o;
}

/* "2024-05-31T12:34:56Z" -> "2024-05-31 12:34:56 UTC". */
static const char *short_time(request *r, const char *iso)
{
    if (!iso || strlen(iso) < 19)
        return iso;
    char *s = arena_printf(r->a, "%.19s UTC", iso);
    s[10] = ' ';
    return s;
}

json_t *conn_page_json(request *r, PGresult *res, int i)
{
    json_t *o = conn_api_json(res, i);
    const char *host = PQgetvalue(res, i, CC_HOST);
    const char *status = PQgetvalue(res, i, CC_STATUS);
    json_object_set_new(o, "type_label", json_string(type_label(PQgetvalue(res, i, CC_TYPE))));
    json_object_set_new(o, "endpoint",
                        json_string(arena_printf(r->a, strchr(host, ':') ? "[%s]:%s/%s"
                                                                           : "%s:%s/%s",
                                                 host, PQgetvalue(res, i, CC_PORT),
                                                 PQgetvalue(res, i, CC_DATABASE))));
    json_object_set_new(o, "status_label",
                        json_string(strcmp(status, "registered") == 0 ? "not tested" : status));
    json_object_set_new(o, "badge", json_string(strcmp(status, "connected") == 0 ? "badge-ok"
                                                : strcmp(status, "error") == 0   ? "badge-off"
                                                                                 : ""));
    json_object_set_new(o, "is_error", json_boolean(strcmp(status, "error") == 0));
    json_object_set_new(o, "is_connected", json_boolean(strcmp(status, "connected") == 0));
    if (!PQgetisnull(res, i, CC_TESTED))
        json_object_set_new(o, "last_tested",
                            json_string(short_time(r, PQgetvalue(res, i, CC_TESTED))));
    json_object_set_new(o, "created", json_string(short_time(r, PQgetvalue(res, i, CC_CREATED))));
    json_object_set_new(o, "updated", json_string(short_time(r, PQgetvalue(res, i, CC_UPDATED))));
    return o;
}

json_t *conn_json_array_col(PGresult *res, int i, int col)
{
    if (PQgetisnull(res, i, col))
        return json_array();
    const char *s = PQgetvalue(res, i, col);
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    if (!json_is_array(v)) {
        json_decref(v);
        return json_array();
    }
    return v;
}

/* --- test connection ----------------------------------------------------------------- */

const char *conn_scrub(arena *a, const char *msg, const char *secret)
{
    if (!msg || !secret || !*secret || !strstr(msg, secret))
        return msg;
    size_t sl = strlen(secret);
    char *out = arena_alloc(a, strlen(msg) * 8 / (sl < 8 ? sl : 8) + strlen(msg) + 9);
    char *q = out;
    for (const char *p = msg; *p;) {
        if (strncmp(p, secret, sl) == 0) {
            memcpy(q, "********", 8);
            q += 8;
            p += sl;
        } else {
            *q++ = *p++;
        }
    }
    *q = '\0';
    return out;
}

/* Load the connection columns of row id; *name gets the row's name. */
static sl_err load_params(request *r, const conn_kind *k, const char *id, conn_params *p,
                          const char **name, sl_errbuf *eb)
{
    PGresult *res;
    memset(p, 0, sizeof *p);
    sl_err e = db_query(r->db, r->a, eb, &res,
                        arena_printf(r->a,
                                     "SELECT name, type, host, port, database, username,"
                                     " password_enc, ssl_mode FROM %s WHERE id = $1",
                                     k->table),
                        1, (const char *[]){id});
    if (e)
        return e;
    if (PQntuples(res) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no such %s", k->object);
    *name = PQgetvalue(res, 0, 0);
    p->type = PQgetvalue(res, 0, 1);
    p->host = PQgetvalue(res, 0, 2);
    p->port = (int)strtol(PQgetvalue(res, 0, 3), NULL, 10);
    p->database = PQgetvalue(res, 0, 4);
    p->user = PQgetvalue(res, 0, 5);
    p->ssl_mode = PQgetvalue(res, 0, 7);
    p->connect_timeout = CONN_TEST_TIMEOUT;
    if (PQgetisnull(res, 0, 6))
        return SL_OK;
    char *plain = NULL;
    sl_errbuf ceb = {0};
    if (keyring_open(r->a, PQgetvalue(res, 0, 6), &plain, &ceb) != SL_OK)
        return sl_fail(eb, SL_ECRYPTO,
                       "the stored password cannot be decrypted with this server's secret key; "
                       "enter the password again (Edit)");
    p->password = plain;
    return SL_OK;
}

sl_err conn_params_for(request *r, const conn_kind *k, const char *id, conn_params *p,
                       sl_errbuf *eb)
{
    const char *name;
    return load_params(r, k, id, p, &name, eb);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect and ask the version; fills out->ok/status/elapsed/version/error. */
static void run_test(request *r, const conn_params *p, conn_test_result *out)
{
    sl_errbuf ceb = {0};
    char *version = NULL;
    long ms = 0, t0 = now_ms();
    sl_err e;
    if (!connector_for(p->type)) {
        const char *why = connector_unsupported_reason(p->type);
        e = sl_fail(&ceb, SL_EUNSUPPORTED, "%s",
                    why ? why : "there is no connector for this type");
    } else {
        e = connector_test(p, r->a, &version, &ms, &ceb);
    }
    out->ok = e == SL_OK;
    out->status = out->ok ? "connected" : "error";
    out->elapsed_ms = out->ok && ms > 0 ? ms : now_ms() - t0;
    out->version = out->ok ? (version ? version : "") : NULL;
    if (!out->ok) {
        const char *msg = arena_strdup(r->a, ceb.msg[0] ? ceb.msg : sl_strerror(e));
        out->error = conn_scrub(r->a, msg, p->password);
    }
}

sl_err conn_test(request *r, const conn_kind *k, const char *id, conn_test_result *out,
                 sl_errbuf *eb)
{
    conn_params p;
    memset(out, 0, sizeof *out);
    db_rollback(r->db);
    sl_err e = load_params(r, k, id, &p, &out->name, eb);
    if (e == SL_ECRYPTO) {
        out->ok = 0;
        out->status = "error";
        out->error = arena_strdup(r->a, eb->msg);
    } else if (e) {
        return e;
    } else {
        /* No transaction is open while we wait for the other server. */
        run_test(r, &p, out);
    }

    char *ms = arena_printf(r->a, "%ld", out->elapsed_ms);
    PGresult *res;
    if ((e = db_begin(r->db, eb)) != SL_OK)
        return e;
    e = db_query(r->db, r->a, eb, &res,
                 arena_printf(r->a,
                              "UPDATE %s SET status = $2, last_tested_at = now(),"
                              " last_test_ms = $3::int, last_error = $4, server_version = $5"
                              " WHERE id = $1 RETURNING " CONN_ISO("last_tested_at"),
                              k->table),
                 5, (const char *[]){id, out->status, ms, out->error, out->version});
    if (!e && PQntuples(res) != 1)
        e = sl_fail(eb, SL_ENOTFOUND, "no such %s", k->object);
    if (!e) {
        out->tested_at = PQgetvalue(res, 0, 0);
        json_t *d = json_pack("{s:s, s:b, s:s, s:I}", "name", out->name, "ok", out->ok,
                              "status", out->status, "elapsed_ms", (json_int_t)out->elapsed_ms);
        if (out->error)
            json_object_set_new(d, "error", json_string(out->error));
        if (out->version)
            json_object_set_new(d, "server_version", json_string(out->version));
        if (audit_write(r, arena_printf(r->a, "%s.test", k->object), k->object, id, d, NULL))
            e = sl_fail(eb, SL_EDB, "could not record the test in the audit log");
        json_decref(d);
    }
    if (!e)
        e = db_commit(r->db, eb);
    if (e)
        db_rollback(r->db);
    return e;
}

static const char *test_path(request *r, const conn_kind *k, const char *id)
{
    return arena_printf(r->a, "%s/%s", k->path, id);
}

void conn_test_page(request *r, const conn_kind *k)
{
    const char *id = conn_id_param(r, k);
    if (!id)
        return;
    sl_errbuf eb = {0};
    conn_test_result t;
    sl_err e = conn_test(r, k, id, &t, &eb);
    if (e == SL_ENOTFOUND) {
        http_error(r, 404, arena_printf(r->a, "no such %s", k->object));
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    if (t.ok)
        page_flash(r, "ok", arena_printf(r->a, "Connected to %s in %ld ms (server %s).", t.name,
                                         t.elapsed_ms, t.version));
    else
        page_flash(r, "error", arena_printf(r->a, "Connection to %s failed: %s", t.name,
                                            t.error));
    http_redirect(r, 303, test_path(r, k, id));
}

void conn_test_api(request *r, const conn_kind *k)
{
    const char *id = conn_id_param(r, k);
    if (!id)
        return;
    sl_errbuf eb = {0};
    conn_test_result t;
    sl_err e = conn_test(r, k, id, &t, &eb);
    if (e == SL_ENOTFOUND) {
        http_problem(r, 404, arena_printf(r->a, "no such %s", k->object), NULL);
        return;
    }
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    http_send_json(r, 200,
                   json_pack("{s:b, s:s, s:I, s:o, s:o, s:s}", "ok", t.ok, "status", t.status,
                             "elapsed_ms", (json_int_t)t.elapsed_ms, "server_version",
                             t.version ? json_string(t.version) : json_null(), "error",
                             t.error ? json_string(t.error) : json_null(), "tested_at",
                             t.tested_at));
}

/* --- lists and cursors --------------------------------------------------------------- */

char *conn_cursor_make(arena *a, const char *lname, const char *id)
{
    return params_cursor_make(a, 2, (const char *[]){lname, id});
}

/* A (lname, id) cursor's fields are what a row would give. */
static int cursor_ok(const char *const *f)
{
    return uuid_valid(f[1]);
}

int conn_cursor_parse(arena *a, const char *cursor, const char **lname, const char **id)
{
    const char *f[2];
    if (!params_cursor_parse(a, cursor, 2, f) || !cursor_ok(f))
        return 0;
    *lname = f[0];
    *id = f[1];
    return 1;
}

sl_err conn_list(request *r, const conn_kind *k, const char *cols, const char *cursor_lname,
                 const char *cursor_id, int backward, int limit, PGresult **res,
                 sl_errbuf *eb)
{
    const char *sql =
        backward ? arena_printf(r->a,
                                "SELECT %s FROM %s WHERE (lower(name), id) < ($1::text, $2::uuid)"
                                " ORDER BY lower(name) DESC, id DESC LIMIT $3::int",
                                cols, k->table)
                 : arena_printf(r->a,
                                "SELECT %s FROM %s WHERE $1::text IS NULL"
                                " OR (lower(name), id) > ($1::text, $2::uuid)"
                                " ORDER BY lower(name), id LIMIT $3::int",
                                cols, k->table);
    return db_query(r->db, r->a, eb, res, sql, 3,
                    (const char *[]){cursor_lname, cursor_id,
                                     arena_printf(r->a, "%d", limit + 1)});
}

static const char *row_cursor(request *r, PGresult *res, int i)
{
    return conn_cursor_make(r->a, PQgetvalue(res, i, CC_LNAME), PQgetvalue(res, i, CC_ID));
}

int conn_list_page(request *r, const conn_kind *k, const char *cols, json_t *ctx,
                   json_t *(*row_json)(request *r, PGresult *res, int i))
{
    const char *after = http_query(r, "after"), *before = http_query(r, "before");
    const char *lname = NULL, *id = NULL;
    if (after && !*after)
        after = NULL;
    if (before && !*before)
        before = NULL;
    if ((after && before) || (after && !conn_cursor_parse(r->a, after, &lname, &id)) ||
        (before && !conn_cursor_parse(r->a, before, &lname, &id))) {
        json_decref(ctx);
        http_error(r, 400, "the page link is malformed");
        return -1;
    }
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = conn_list(r, k, cols, lname, id, before != NULL, CONN_PAGE, &res, &eb);
    if (e) {
        json_decref(ctx);
        web_db_error(r, e, &eb);
        return -1;
    }
    int n = PQntuples(res);
    int more = n > CONN_PAGE;
    if (more)
        n = CONN_PAGE;
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, row_json(r, res, before ? n - 1 - i : i));
    if (n > 0) {
        int first = before ? n - 1 : 0, last = before ? 0 : n - 1;
        if (after || (before && more))
            json_object_set_new(ctx, "newer", json_string(row_cursor(r, res, first)));
        if ((!before && more) || before)
            json_object_set_new(ctx, "older", json_string(row_cursor(r, res, last)));
    }
    json_object_set_new(ctx, "items", items);
    json_object_set_new(ctx, "has_items", json_boolean(n > 0));
    json_object_set_new(ctx, "paged", json_boolean(after || before));
    return 0;
}

void conn_list_api(request *r, const conn_kind *k, const char *cols,
                   json_t *(*row_json)(request *r, PGresult *res, int i))
{
    static const char *const declared[] = {"limit", "cursor", NULL};
    json_t *errors = json_object();
    params_undeclared(r, declared, errors);
    long long limit;
    const char *key[2];
    params_page(r, 2, cursor_ok, key, &limit, errors);
    if (json_object_size(errors) > 0) {
        http_problem(r, 422, "invalid query parameters", errors);
        return;
    }
    json_decref(errors);
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = conn_list(r, k, cols, key[0], key[1], 0, (int)limit, &res, &eb);
    if (e) {
        web_db_error(r, e, &eb);
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, row_json(r, res, i));
    http_send_json(r, 200, params_page_json(items, n > limit ? row_cursor(r, res, (int)limit - 1)
                                                             : NULL));
}

/* --- request plumbing ---------------------------------------------------------------- */

const char *conn_id_param(request *r, const conn_kind *k)
{
    const char *id = http_path_param(r, "id");
    if (!id || !uuid_valid(id)) {
        http_error(r, 404, arena_printf(r->a, "no such %s", k->object));
        return NULL;
    }
    return id;
}

int conn_load(request *r, const conn_kind *k, const char *cols, const char *id, int lock,
              PGresult **res)
{
    sl_errbuf eb = {0};
    sl_err e = db_query(r->db, r->a, &eb, res,
                        arena_printf(r->a, "SELECT %s FROM %s WHERE id = $1%s", cols, k->table,
                                     lock ? " FOR UPDATE" : ""),
                        1, (const char *[]){id});
    if (e) {
        if (lock)
            conn_tx_fail(r, e, &eb);
        else
            web_db_error(r, e, &eb);
        return -1;
    }
    if (PQntuples(*res) != 1) {
        if (lock)
            db_rollback(r->db);
        http_error(r, 404, arena_printf(r->a, "no such %s", k->object));
        return 0;
    }
    return 1;
}

static int is_json_type(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

json_t *conn_json_body(request *r)
{
    sl_errbuf eb = {0};
    if (*r->content_type && !is_json_type(r->content_type)) {
        http_problem(r, 415, "send the body as application/json", NULL);
        return NULL;
    }
    long long max = r->route && r->route->max_body ? r->route->max_body : r->cfg->web_max_body;
    sl_err e = http_read_body(r, (size_t)max, &eb);
    if (e) {
        http_problem(r, e == SL_ETOOBIG ? 413 : 400, eb.msg, NULL);
        return NULL;
    }
    json_t *body = jsonx_parse(r->a, &eb, r->body ? r->body : "", r->body_len);
    if (!body) {
        http_problem(r, 400, arena_printf(r->a, "the body is not valid JSON: %s", eb.msg), NULL);
        return NULL;
    }
    if (!json_is_object(body)) {
        http_problem(r, 422, "the body must be a JSON object", NULL);
        return NULL;
    }
    return body;
}

void conn_tx_fail(request *r, sl_err e, const sl_errbuf *eb)
{
    db_rollback(r->db);
    web_db_error(r, e, eb);
}

int conn_begin(request *r)
{
    sl_errbuf eb = {0};
    db_rollback(r->db);
    sl_err e = db_begin(r->db, &eb);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return 1;
    }
    return 0;
}

int conn_audit(request *r, const conn_kind *k, const char *action, const char *id,
               json_t *details)
{
    sl_err e = audit_write(r, action, k->object, id, details, NULL);
    json_decref(details);
    if (e) {
        db_rollback(r->db);
        http_error(r, 500, "the change could not be recorded in the audit log");
        return 1;
    }
    return 0;
}

int conn_commit(request *r)
{
    sl_errbuf eb = {0};
    sl_err e = db_commit(r->db, &eb);
    if (e) {
        conn_tx_fail(r, e, &eb);
        return 1;
    }
    return 0;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

void conn_json_unknown(const json_t *body, const char *const *allowed,
                       const char *const *readonly, json_t *errors)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        if (in_list(allowed, key))
            continue;
        page_field_error(errors, key, in_list(readonly, key) ? "is read-only" : "unknown field");
    }
}

const char *conn_pipelines_refusal(request *r, const conn_kind *k, const char *id)
{
    sl_errbuf eb = {0};
    PGresult *res;
    sl_err e = db_query(r->db, r->a, &eb, &res,
                        arena_printf(r->a,
                                     "SELECT name, deleted_at IS NOT NULL FROM sluice.pipelines"
                                     " WHERE %s = $1 ORDER BY deleted_at IS NOT NULL, lower(name)",
                                     k->fk_column),
                        1, (const char *[]){id});
    if (e) {
        conn_tx_fail(r, e, &eb);
        return "";
    }
    int n = PQntuples(res), live = 0;
    const char *names = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(PQgetvalue(res, i, 1), "t") == 0)
            continue;
        if (live < 5)
            names = arena_printf(r->a, "%s%s%s", names, live ? ", " : "", PQgetvalue(res, i, 0));
        live++;
    }
    if (live > 5)
        names = arena_printf(r->a, "%s and %d more", names, live - 5);
    if (live > 0)
        return arena_printf(r->a,
                            "This %s is used by %d pipeline%s (%s). Delete those pipelines or "
                            "move them to another %s first.",
                            k->object, live, live == 1 ? "" : "s", names, k->object);
    if (n > 0)
        return arena_printf(r->a,
                            "This %s is still referenced by %d deleted pipeline%s that %s not "
                            "been purged yet; it can be deleted once they are.",
                            k->object, n, n == 1 ? "" : "s", n == 1 ? "has" : "have");
    return NULL;
}

void conn_change(json_t *changes, const char *field, json_t *from, json_t *to)
{
    if (!json_equal(from, to)) {
        json_object_set_new(changes, field, json_pack("{s:o, s:o}", "from", from, "to", to));
        return;
    }
    json_decref(from);
    json_decref(to);
}

/* --- shared handlers ----------------------------------------------------------------- */

void conn_list_handler(request *r, const conn_view *v)
{
    json_t *ctx = page_ctx(r, v->title, v->section);
    if (conn_list_page(r, v->k, v->cols, ctx, v->page_row) != 0)
        return;
    page_render(r, 200, arena_printf(r->a, "%s/list", v->section), ctx);
}

void conn_show_page(request *r, const conn_view *v)
{
    const char *id = conn_id_param(r, v->k);
    PGresult *res;
    if (!id || conn_load(r, v->k, v->cols, id, 0, &res) != 1)
        return;
    json_t *ctx = page_ctx(r, PQgetvalue(res, 0, CC_NAME), v->section);
    json_object_set_new(ctx, v->var, v->page_row(r, res, 0));
    json_object_set_new(ctx, "can_edit", json_boolean(r->role >= ROLE_EDITOR));
    page_render(r, 200, arena_printf(r->a, "%s/show", v->section), ctx);
}

static void delete_page(request *r, const conn_view *v, int status, PGresult *res,
                        const char *refusal)
{
    json_t *ctx = page_ctx(r, arena_printf(r->a, "Delete %s", PQgetvalue(res, 0, CC_NAME)),
                           v->section);
    json_object_set_new(ctx, v->var, v->page_row(r, res, 0));
    if (refusal)
        json_object_set_new(ctx, "refusal", json_string(refusal));
    page_render(r, status, arena_printf(r->a, "%s/delete", v->section), ctx);
}

void conn_delete_form(request *r, const conn_view *v, conn_refusal_fn refusal)
{
    const char *id = conn_id_param(r, v->k);
    PGresult *res;
    if (!id || conn_load(r, v->k, v->cols, id, 0, &res) != 1)
        return;
    const char *why = refusal(r, res);
    if (why && !*why)
        return;
    delete_page(r, v, 200, res, why);
}

void conn_delete_handler(request *r, const conn_view *v, conn_delete_fn del)
{
    const char *id = conn_id_param(r, v->k);
    const char *name, *why;
    if (!id)
        return;
    int rc = del(r, id, &name, &why);
    if (rc == 1) {
        PGresult *res;
        if (conn_load(r, v->k, v->cols, id, 0, &res) == 1)
            delete_page(r, v, 409, res, why);
        return;
    }
    if (rc == 0)
        page_done(r, v->k->path, arena_printf(r->a, "%s %s deleted.", v->k->noun, name));
}

void conn_get_api(request *r, const conn_view *v)
{
    const char *id = conn_id_param(r, v->k);
    PGresult *res;
    if (!id || conn_load(r, v->k, v->cols, id, 0, &res) != 1)
        return;
    http_send_json(r, 200, v->api_row(r, res, 0));
}

void conn_delete_api(request *r, const conn_view *v, conn_delete_fn del)
{
    const char *id = conn_id_param(r, v->k);
    const char *name, *why;
    if (!id)
        return;
    int rc = del(r, id, &name, &why);
    if (rc == 1)
        http_problem(r, 409, why, NULL);
    else if (rc == 0)
        http_set_status(r, 204);
}

void conn_answer_row(request *r, const conn_view *v, int status, const char *id)
{
    PGresult *res;
    if (conn_load(r, v->k, v->cols, id, 0, &res) != 1)
        return;
    if (status == 201)
        http_add_header(r, "Location", arena_printf(r->a, "/api/v1%s/%s", v->k->path, id));
    http_send_json(r, status, v->api_row(r, res, 0));
}

void conn_api_stored(request *r, const conn_view *v, int rc, const char *verb, json_t *errors,
                     int status, const char *id)
{
    if (rc == 1) {
        http_problem(r, 422, arena_printf(r->a, "the %s was not %s", v->k->object, verb),
                     errors);
        return;
    }
    json_decref(errors);
    if (rc == 0)
        conn_answer_row(r, v, status, id);
}

int conn_delete_row(request *r, const conn_kind *k, PGresult *res, const char *in_use,
                    json_t *extra, const char **why)
{
    const char *id = PQgetvalue(res, 0, CC_ID);
    sl_errbuf eb = {0};
    sl_err e = db_exec(r->db, &eb, arena_printf(r->a, "DELETE FROM %s WHERE id = $1", k->table),
                       1, (const char *[]){id});
    if (e == SL_EDB && strcmp(db_sqlstate(r->db), "23503") == 0) {
        json_decref(extra);
        db_rollback(r->db);
        *why = in_use;
        return 1;
    }
    if (e) {
        json_decref(extra);
        conn_tx_fail(r, e, &eb);
        return -1;
    }
    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "name", PQgetvalue(res, 0, CC_NAME), "type",
                          PQgetvalue(res, 0, CC_TYPE), "host", PQgetvalue(res, 0, CC_HOST),
                          "database", PQgetvalue(res, 0, CC_DATABASE));
    if (extra) {
        json_object_update(d, extra);
        json_decref(extra);
    }
    if (conn_audit(r, k, arena_printf(r->a, "%s.delete", k->object), id, d) || conn_commit(r))
        return -1;
    return 0;
}
