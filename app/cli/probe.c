/* probe.c - `sluice source-probe`: connect to a database the way a pipeline
 * would and print, as JSON, whether it worked, the server version, and the
 * tables sluice would see (columns, primary keys, row estimates, watermark).
 *
 * For operators checking credentials and grants from the host that runs
 * sluice, and for the connector tests. It needs no control database. The
 * password comes from SLUICE_PROBE_PASSWORD, never from the command line
 * (which other users can read in ps), and is never printed. Not listed in
 * `sluice --help`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sync/connector.h"

#define PROBE_MAX_LIST 64 /* --schema / --table occurrences */

static const char USAGE[] =
    "usage: sluice source-probe --type TYPE --host HOST [--port N] [--database DB]\n"
    "                           [--user USER] [--ssl-mode MODE] [--timeout SECONDS]\n"
    "                           [--schema NAME]... [--table PATTERN]... [--watermark COL]\n"
    "                           [--no-tables]\n"
    "\n"
    "Connect to a database as a pipeline would and print one JSON object:\n"
    "\n"
    "  {\"ok\": true, \"type\": ..., \"version\": \"MariaDB 10.11...\", \"elapsed_ms\": 12,\n"
    "   \"error\": null, \"code\": null,\n"
    "   \"tables\": [{\"schema\", \"name\", \"est_rows\" (null: unknown), \"has_pk\",\n"
    "               \"watermark\" (null: full refresh),\n"
    "               \"columns\": [{\"name\", \"type\", \"nullable\", \"pk_position\"}]}]}\n"
    "\n"
    "On failure ok is false and error says what went wrong (\"password authentication\n"
    "failed ...\", \"connection refused ...\"); the exit status is then 1.\n"
    "\n"
    "  --type TYPE        postgresql, mysql, mariadb or clickhouse\n"
    "  --host HOST        server name or address\n"
    "  --port N           default: the type's (5432, 3306, 8123)\n"
    "  --database DB      database to connect to\n"
    "  --user USER        user name; the password is read from SLUICE_PROBE_PASSWORD\n"
    "  --ssl-mode MODE    disable, prefer (default), require, verify-ca, verify-full\n"
    "  --timeout SECONDS  connect timeout (default 10)\n"
    "  --schema NAME      list tables in this schema (PostgreSQL) or database (MySQL);\n"
    "                     repeatable; default: every non-system schema (PostgreSQL),\n"
    "                     the connection's database (MySQL)\n"
    "  --table PATTERN    table filter, as in a pipeline: a glob (* ? [abc] [!x]) on the\n"
    "                     table name, or on schema.table when it has a dot; a leading !\n"
    "                     excludes; repeatable\n"
    "  --watermark COL    the watermark override to try on every table\n"
    "  --no-tables        only connect and read the version\n"
    "  --help             this text\n";

typedef struct {
    conn_params p;
    const char *schemas[PROBE_MAX_LIST];
    int nschemas;
    const char *tables[PROBE_MAX_LIST];
    int ntables;
    const char *watermark;
    int no_tables;
} probe_opts;

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* 0: parsed; 1: --help printed; 2: usage error printed. */
static int parse(int argc, char **argv, probe_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 1;
        }
        if (strcmp(a, "--no-tables") == 0) {
            o->no_tables = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "sluice source-probe: %s '%s'\n",
                    strncmp(a, "--", 2) ? "unexpected argument" : "missing value for", a);
            return 2;
        }
        const char *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--type") == 0)
            o->p.type = v;
        else if (strcmp(a, "--host") == 0)
            o->p.host = v;
        else if (strcmp(a, "--port") == 0)
            bad = parse_int(v, 1, 65535, &o->p.port);
        else if (strcmp(a, "--database") == 0)
            o->p.database = v;
        else if (strcmp(a, "--user") == 0)
            o->p.user = v;
        else if (strcmp(a, "--ssl-mode") == 0)
            o->p.ssl_mode = v;
        else if (strcmp(a, "--timeout") == 0)
            bad = parse_int(v, 1, 3600, &o->p.connect_timeout);
        else if (strcmp(a, "--watermark") == 0)
            o->watermark = v;
        else if (strcmp(a, "--schema") == 0 && o->nschemas < PROBE_MAX_LIST)
            o->schemas[o->nschemas++] = v;
        else if (strcmp(a, "--table") == 0 && o->ntables < PROBE_MAX_LIST)
            o->tables[o->ntables++] = v;
        else {
            fprintf(stderr, "sluice source-probe: unknown or repeated too often: '%s'\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "sluice source-probe: %s: '%s' is not a valid number\n", a, v);
            return 2;
        }
    }
    if (!o->p.type || !o->p.host) {
        fprintf(stderr, "sluice source-probe: --type and --host are required\n\n%s", USAGE);
        return 2;
    }
    o->p.password = getenv("SLUICE_PROBE_PASSWORD");
    return 0;
}

/* A JSON string, or "?" for text that is not UTF-8 (jansson refuses it). */
static json_t *jstr(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_string(s ? "?" : "");
}

static json_t *table_json(const conn_table *t, const char *override)
{
    json_t *cols = json_array();
    for (int k = 0; k < t->ncols; k++) {
        const conn_column *c = &t->cols[k];
        json_t *col = json_object();
        json_object_set_new(col, "name", jstr(c->name));
        json_object_set_new(col, "type", jstr(c->type));
        json_object_set_new(col, "nullable", json_boolean(c->nullable));
        json_object_set_new(col, "pk_position", json_integer(c->pk_position));
        json_array_append_new(cols, col);
    }
    const char *wm = override ? pick_watermark(t, override) : t->watermark;
    json_t *o = json_object();
    json_object_set_new(o, "schema", jstr(t->schema));
    json_object_set_new(o, "name", jstr(t->name));
    json_object_set_new(o, "est_rows", t->est_rows < 0 ? json_null() : json_integer(t->est_rows));
    json_object_set_new(o, "has_pk", json_boolean(t->has_pk));
    json_object_set_new(o, "watermark", wm ? jstr(wm) : json_null());
    json_object_set_new(o, "columns", cols);
    if (override && !wm) {
        json_t *msg = json_sprintf("no column named \"%s\"", override);
        json_object_set_new(o, "watermark_error", msg ? msg : jstr("no such column"));
    }
    return o;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Open, version, list; fills out. Returns SL_OK or the first failure. */
static sl_err probe(const probe_opts *o, arena *a, json_t *out, sl_errbuf *eb)
{
    const struct connector *c = connector_for(o->p.type);
    if (!c) {
        const char *why = connector_unsupported_reason(o->p.type);
        return sl_fail(eb, strncmp(why, "unknown", 7) == 0 ? SL_EINVAL : SL_EUNSUPPORTED, "%s",
                       why);
    }
    long t0 = now_ms();
    void *conn = NULL;
    char *version = NULL;
    sl_err e = c->open(&o->p, &conn, eb);
    if (e == SL_OK)
        e = c->version(conn, a, &version, eb);
    json_object_set_new(out, "elapsed_ms", json_integer(now_ms() - t0));
    if (version)
        json_object_set_new(out, "version", jstr(version));
    if (e != SL_OK || o->no_tables) {
        c->close(conn);
        return e;
    }
    conn_table *t = NULL;
    int n = 0;
    sl_errbuf leb = {0};
    sl_err le = c->list_tables(conn, a, o->schemas, o->nschemas, &t, &n, &leb);
    c->close(conn);
    if (le == SL_EUNSUPPORTED) {
        json_object_set_new(out, "tables_error", jstr(leb.msg));
        return SL_OK;
    }
    if (le != SL_OK)
        return sl_fail(eb, le, "%s", leb.msg);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        if (table_selected(o->tables, o->ntables, t[i].schema, t[i].name))
            json_array_append_new(arr, table_json(&t[i], o->watermark));
    json_object_set_new(out, "tables", arr);
    return SL_OK;
}

int cmd_source_probe(int argc, char **argv, const sl_config *cfg)
{
    (void)cfg;
    probe_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    arena *a = arena_new(0);
    json_t *out = json_object();
    json_object_set_new(out, "ok", json_false());
    json_object_set_new(out, "type", jstr(o.p.type));
    json_object_set_new(out, "version", json_null());
    json_object_set_new(out, "elapsed_ms", json_null());
    json_object_set_new(out, "error", json_null());
    json_object_set_new(out, "code", json_null());
    sl_errbuf eb = {0};
    sl_err e = probe(&o, a, out, &eb);
    json_object_set_new(out, "ok", json_boolean(e == SL_OK));
    if (e != SL_OK) {
        json_object_set_new(out, "error", jstr(eb.msg[0] ? eb.msg : sl_strerror(e)));
        json_object_set_new(out, "code", jstr(sl_strerror(e)));
    }
    char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(out);
    arena_free(a);
    return e == SL_OK ? 0 : 1;
}
