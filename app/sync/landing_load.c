/* landing_load.c - load uploaded landing files into their zone's
 * destination table (landing.h has the steps and the crash story).
 *
 * A file is read from disk in blocks (never whole): CSV through
 * landing_csv.c, JSON Lines through landing_jsonl.c; each record becomes a
 * COPY text row of the zone's columns plus _sluice_file_id and
 * _sluice_line, and goes through pg_load.c's chunks (COPY straight into
 * the table, the rows the server refuses isolated by halving). Names in
 * SQL text are quoted; values are parameters. Everything of one file lives
 * in one arena, freed when the file is done. */
#include "sync/landing.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonx.h"
#include "keyring.h"
#include "log.h"
#include "sync/copytext.h"
#include "sync/landing_parse.h"
#include "sync/pg_dest.h"
#include "sync/pg_extract.h"
#include "sync/pg_load.h"

#define READ_BLOCK 65536
#define CHUNK_ROWS 10000
#define CHUNK_BYTES ((size_t)8 << 20)
#define FIRST_BAD 5               /* bad lines named in a rejected file's error */
#define DL_FIELD_MAX 65536        /* bytes of one value kept in a dead letter */
#define DDL_LOCK_SQL "SELECT pg_advisory_xact_lock(hashtext('sluice.destination_ddl'))"
#define FILE_LOCK "hashtext('sluice.landing.' || $1)"

/* Outcomes of one file. */
enum outcome { OUT_LOADED, OUT_REJECTED, OUT_RETRY };

typedef struct {
    arena *a;
    /* the file */
    const char *id, *zone_id, *name, *stored, *path;
    /* the zone */
    const char *zone_name;
    int csv;
    char delim, quote;
    int header, declared, reject, raw;
    const char *declared_json;
    const char *dest_type, *dest_name;
    conn_params dest;
    const char *raw_schema, *target_schema, *table;
    const char *q_target, *q_raw, *q_dead;
    /* the columns */
    int ncols, cap;
    char **names;
    lp_type *types;
    lp_infer *inf;
    int exists;           /* the table is there already */
    int *map;             /* CSV with a header: field position -> column, -1 unknown */
    int nmap;             /* fields a CSV record must have */
    int header_seen;      /* the header record of this pass was read */
    /* the load */
    db *dst;
    pgl_loader ld;
    pgl_chunk chunk;
    sbuf row, dl, scratch;
    lp_field *fields;     /* one record in column order */
    int rejecting;        /* reject mode and a bad record was seen: nothing more is sent */
    long long bad;        /* records that did not load */
    int nfirst;
    sbuf first;           /* the first FIRST_BAD reasons */
    const char *fatal;    /* why the file cannot be loaded at all */
    sl_err err;           /* a destination error that stops the load */
    sl_errbuf eb;
    int pass;             /* 1: inference, 2: load */
    arena *la;            /* per record: decoded strings, messages; reset by each */
    lj_member *members;   /* one JSON line's members */
} lfile;

/* ---- the zone -------------------------------------------------------------------- */

static const char Q_ZONE[] =
    "SELECT z.name, z.format, z.csv_delimiter, z.csv_quote, z.csv_header, z.schema_mode,"
    "       z.declared_columns::text, z.on_mismatch, z.load_mode, z.target_table,"
    "       coalesce(nullif(z.target_schema, ''), d.target_schema), d.raw_schema,"
    "       d.type, d.host, d.port, d.database, d.username, d.password_enc, d.ssl_mode, d.name"
    " FROM sluice.landing_zones z JOIN sluice.destinations d ON d.id = z.destination_id"
    " WHERE z.id = $1::uuid";

static const char *col(arena *a, PGresult *r, int c)
{
    return arena_strdup(a, PQgetisnull(r, 0, c) ? "" : PQgetvalue(r, 0, c));
}

/* Read the zone and its destination. SL_ENOTFOUND when the zone is gone. */
static sl_err read_zone(db *d, lfile *f, sl_errbuf *eb)
{
    PGresult *r;
    sl_err e = db_query(d, f->a, eb, &r, Q_ZONE, 1, (const char *[]){f->zone_id});
    if (e != SL_OK)
        return e;
    if (PQntuples(r) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "the zone is gone");
    f->zone_name = col(f->a, r, 0);
    f->csv = strcmp(PQgetvalue(r, 0, 1), "jsonl") != 0;
    f->delim = *PQgetvalue(r, 0, 2) ? *PQgetvalue(r, 0, 2) : ',';
    f->quote = *PQgetvalue(r, 0, 3) ? *PQgetvalue(r, 0, 3) : '"';
    f->header = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
    f->declared = strcmp(PQgetvalue(r, 0, 5), "declared") == 0;
    f->declared_json = col(f->a, r, 6);
    f->reject = strcmp(PQgetvalue(r, 0, 7), "load_partial") != 0;
    f->raw = strcmp(PQgetvalue(r, 0, 8), "raw") == 0;
    f->table = col(f->a, r, 9);
    f->target_schema = col(f->a, r, 10);
    f->raw_schema = col(f->a, r, 11);
    f->dest_type = col(f->a, r, 12);
    f->dest_name = col(f->a, r, 19);
    conn_params *p = &f->dest;
    memset(p, 0, sizeof *p);
    p->type = f->dest_type;
    p->host = col(f->a, r, 13);
    p->port = (int)strtol(PQgetvalue(r, 0, 14), NULL, 10);
    p->database = col(f->a, r, 15);
    p->user = col(f->a, r, 16);
    p->ssl_mode = col(f->a, r, 18);
    const char *sealed = PQgetisnull(r, 0, 17) ? NULL : PQgetvalue(r, 0, 17);
    if (sealed && *sealed) {
        char *plain = NULL;
        sl_errbuf kb = {0};
        e = keyring_open(f->a, sealed, &plain, &kb);
        if (e != SL_OK)
            return sl_fail(eb, e, "cannot open the destination password: %s", kb.msg);
        p->password = plain;
    }
    return SL_OK;
}

static void wipe_password(lfile *f)
{
    if (f->dest.password)
        sodium_memzero((char *)f->dest.password, strlen(f->dest.password));
    f->dest.password = NULL;
}

/* ---- columns ----------------------------------------------------------------------- */

static int add_column(lfile *f, const char *name, lp_type t)
{
    if (f->ncols == f->cap) {
        int cap = f->cap ? f->cap * 2 : 16;
        char **names = arena_calloc(f->a, (size_t)cap, sizeof *names);
        lp_type *types = arena_calloc(f->a, (size_t)cap, sizeof *types);
        lp_infer *inf = arena_calloc(f->a, (size_t)cap, sizeof *inf);
        if (f->ncols) {
            memcpy(names, f->names, (size_t)f->ncols * sizeof *names);
            memcpy(types, f->types, (size_t)f->ncols * sizeof *types);
            memcpy(inf, f->inf, (size_t)f->ncols * sizeof *inf);
        }
        f->names = names;
        f->types = types;
        f->inf = inf;
        f->cap = cap;
    }
    f->names[f->ncols] = arena_strdup(f->a, name);
    f->types[f->ncols] = t;
    lp_infer_init(&f->inf[f->ncols]);
    return f->ncols++;
}

static int find_column(const lfile *f, const char *name, int hint)
{
    if (hint >= 0 && hint < f->ncols && strcmp(f->names[hint], name) == 0)
        return hint;
    for (int i = 0; i < f->ncols; i++)
        if (strcmp(f->names[i], name) == 0)
            return i;
    return -1;
}

/* The zone's declared columns: [{name, type}]. */
static int declared_columns(lfile *f)
{
    json_error_t jerr;
    json_t *arr = json_loads(f->declared_json, 0, &jerr);
    int ok = json_is_array(arr) && json_array_size(arr) > 0;
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        lp_type t;
        if (!ok || !name || !type || lp_type_parse(type, &t) != 0) {
            f->fatal = arena_printf(f->a, "the zone declares a column the loader cannot use "
                                          "(%s %s)", name ? name : "?", type ? type : "?");
            ok = 0;
            break;
        }
        char *id = lp_ident(f->a, name, strlen(name), (int)i + 1);
        if (find_column(f, id, -1) >= 0) {
            f->fatal = arena_printf(f->a, "the zone declares column %s twice", id);
            ok = 0;
            break;
        }
        add_column(f, id, t);
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        f->fatal = "the zone's schema is declared but has no columns";
    json_decref(arr);
    return ok && !f->fatal ? 0 : -1;
}

/* A CSV header: its names, made safe and distinct. In a. */
static char **header_names(lfile *f, const lp_field *fl, int nf)
{
    char **names = arena_calloc(f->a, (size_t)nf + 1, sizeof *names);
    for (int i = 0; i < nf; i++)
        names[i] = lp_ident(f->a, fl[i].p ? fl[i].p : "", fl[i].n, i + 1);
    lp_dedupe(f->a, names, nf);
    return names;
}

/* Map a header onto the known columns (every column once, nothing else). */
static void map_header(lfile *f, char **names, int nf)
{
    f->map = arena_calloc(f->a, (size_t)nf + 1, sizeof *f->map);
    f->nmap = nf;
    char *seen = arena_calloc(f->a, (size_t)f->ncols + 1, 1);
    for (int i = 0; i < nf; i++) {
        int c = find_column(f, names[i], i);
        f->map[i] = c;
        if (c < 0) {
            f->fatal = arena_printf(f->a, "the header has column %s, which the zone does not "
                                          "declare", names[i]);
            return;
        }
        seen[c] = 1;
    }
    for (int c = 0; c < f->ncols; c++) {
        if (!seen[c]) {
            f->fatal = arena_printf(f->a, "the header lacks the declared column %s",
                                    f->names[c]);
            return;
        }
    }
}

/* ---- bad records ----------------------------------------------------------------- */

/* A short, printable excerpt of a value for messages. In a. */
static const char *excerpt(arena *a, const char *s, size_t n)
{
    char buf[48];
    size_t o = 0;
    for (size_t i = 0; i < n && o < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[o] = '\0';
    return arena_printf(a, "\"%s%s\"", buf, n > 40 ? "..." : "");
}

static void note_first(lfile *f, const char *reason)
{
    if (f->nfirst++ < FIRST_BAD)
        sb_printf(&f->first, "%s%s", f->nfirst > 1 ? "; " : "", reason);
}

/* Append the JSON of a dead letter's record to f->dl. */
static void dl_fields(lfile *f, const lp_field *fl, int nf)
{
    sb_puts(&f->dl, ",\"fields\":[");
    for (int i = 0; i < nf; i++) {
        if (i)
            sb_putc(&f->dl, ',');
        if (fl[i].kind == LP_NULL) {
            sb_puts(&f->dl, "null");
            continue;
        }
        size_t n = fl[i].n > DL_FIELD_MAX ? DL_FIELD_MAX : fl[i].n;
        ct_json_string(fl[i].p, n, &f->dl);
    }
    sb_putc(&f->dl, ']');
}

/* A bad record: counted, named in the error, and with load_partial kept
 * as a dead letter (fields: CSV fields; text: a JSON line; row: a COPY row
 * the destination refused). */
static void bad_record(lfile *f, long long line, const char *reason, const lp_field *fl, int nf,
                       const char *text, size_t text_n, const char *row, size_t row_n)
{
    f->bad++;
    const char *msg = arena_printf(f->la, "line %lld: %s", line, reason);
    note_first(f, msg);
    if (f->reject) {
        f->rejecting = 1;
        return;
    }
    if (f->err != SL_OK)
        return;
    sb_clear(&f->dl);
    sb_printf(&f->dl, "{\"line\":%lld,\"file_id\":\"%s\",\"file\":", line, f->id);
    ct_json_string(f->name, strlen(f->name), &f->dl);
    if (fl) {
        dl_fields(f, fl, nf);
    } else if (text) {
        sb_puts(&f->dl, ",\"text\":");
        ct_json_string(text, text_n > DL_FIELD_MAX ? DL_FIELD_MAX : text_n, &f->dl);
    } else if (row) {
        const char **names = (const char **)f->names;
        enum ct_kind kinds[f->ncols > 0 ? f->ncols : 1];
        for (int i = 0; i < f->ncols; i++)
            kinds[i] = lp_type_kind(f->types[i]);
        sb_puts(&f->dl, ",\"row\":");
        sb_clear(&f->scratch);
        if (ct_row_json(row, row_n, names, kinds, f->ncols, &f->scratch, &f->dl) != SL_OK)
            sb_puts(&f->dl, "null");
    }
    sb_putc(&f->dl, '}');
    const char *p[] = {f->zone_id, f->id, arena_printf(f->la, "landing:%s", f->zone_name),
                       f->target_schema, f->table, sb_str(&f->dl), msg};
    f->err = db_exec(f->dst, &f->eb,
                     arena_printf(f->la, "INSERT INTO %s (pipeline_id, run_id, source_name,"
                                        " source_schema, table_name, row_data, error_text)"
                                        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
                                  f->q_dead), 7, p);
}

/* ---- loading rows ---------------------------------------------------------------- */

/* Raw mode: the chunk's loaded rows as JSON into the raw table. */
static sl_err load_raw(lfile *f, pgl_chunk *c)
{
    const char **names = (const char **)f->names;
    enum ct_kind kinds[f->ncols > 0 ? f->ncols : 1];
    for (int i = 0; i < f->ncols; i++)
        kinds[i] = lp_type_kind(f->types[i]);
    sl_err e = db_copy_in_begin(f->dst, &f->eb,
                                arena_printf(c->a, "COPY %s (_sluice_file_id, _sluice_line,"
                                                   " _data) FROM STDIN", f->q_raw));
    for (int i = 0; i < c->n && e == SL_OK; i++) {
        if (c->failed[i])
            continue;
        sb_clear(&f->scratch);
        sb_clear(&f->dl);
        e = ct_row_json(c->data.ptr + c->off[i], c->off[i + 1] - c->off[i], names, kinds,
                        f->ncols, &f->dl, &f->scratch);
        sb_clear(&f->dl);
        if (e == SL_OK)
            e = sb_printf(&f->dl, "%s\t%lld\t", f->id, c->tag[i]);
        if (e == SL_OK)
            e = ct_encode(f->scratch.ptr, f->scratch.len, &f->dl);
        if (e == SL_OK)
            e = sb_putc(&f->dl, '\n');
        if (e == SL_ETOOBIG)
            e = sl_fail(&f->eb, e, "a row is too big for raw mode's JSON");
        if (e == SL_OK)
            e = db_copy_in_put(f->dst, &f->eb, f->dl.ptr, f->dl.len);
    }
    if (e != SL_OK) {
        sl_errbuf ignore;
        db_copy_in_end(f->dst, &ignore, "sluice: raw rows failed");
        return e;
    }
    return db_copy_in_end(f->dst, &f->eb, NULL);
}

/* Send the chunk; rows the destination refused become bad records. */
static void flush(lfile *f)
{
    pgl_chunk *c = &f->chunk;
    if (c->n == 0 || f->err != SL_OK || f->rejecting || f->fatal) {
        pgl_chunk_clear(c);
        return;
    }
    f->err = pgl_load(&f->ld, c, &f->eb);
    if (f->err == SL_OK && f->raw)
        f->err = load_raw(f, c);
    for (int i = 0; i < c->n && f->err == SL_OK; i++) {
        if (!c->failed[i])
            continue;
        const char *why = c->error[i] ? c->error[i] : "refused by the destination";
        bad_record(f, c->tag[i], arena_printf(f->la, "the destination refused it: %s", why),
                   NULL, 0, NULL, 0, c->data.ptr + c->off[i], c->off[i + 1] - c->off[i]);
    }
    pgl_chunk_clear(c);
}

/* A record in column order (f->fields): check, convert, queue. */
static void load_record(lfile *f, long long line, const lp_field *raw_fields, int nraw,
                        const char *text, size_t text_n)
{
    lp_bad bad;
    sb_clear(&f->row);
    if (lp_row_copy(f->types, f->ncols, f->fields, f->ncols, &f->row, &bad) != 0) {
        const char *reason = bad.col < 0 ? bad.why
                                         : arena_printf(f->la, "column %s: %s %s",
                                                        f->names[bad.col],
                                                        excerpt(f->la, f->fields[bad.col].p,
                                                                f->fields[bad.col].n),
                                                        bad.why);
        bad_record(f, line, reason, raw_fields, nraw, text, text_n, NULL, 0);
        return;
    }
    if (f->rejecting || f->err != SL_OK)
        return;
    if (sb_printf(&f->row, "\t%s\t%lld\n", f->id, line) != SL_OK) {
        bad_record(f, line, "is too long", raw_fields, nraw, text, text_n, NULL, 0);
        return;
    }
    if (pgl_chunk_full(&f->chunk, f->row.len))
        flush(f);
    if (pgl_chunk_add(&f->chunk, f->row.ptr, f->row.len, line) != SL_OK)
        bad_record(f, line, "is too long", raw_fields, nraw, text, text_n, NULL, 0);
}

/* ---- CSV records ------------------------------------------------------------------- */

static int csv_record(void *arg, long long line, const lp_field *fl, int nf, const char *error)
{
    lfile *f = arg;
    if (f->fatal || f->err != SL_OK)
        return 1;
    arena_reset(f->la);
    if (f->header && !f->header_seen) {
        f->header_seen = 1;
        if (error) {
            f->fatal = arena_printf(f->a, "line %lld: the header %s", line, error);
            return 1;
        }
        char **names = header_names(f, fl, nf);
        if (f->pass == 1 && !f->declared) {
            for (int i = 0; i < nf; i++)
                add_column(f, names[i], LT_TEXT);
        }
        map_header(f, names, nf);
        return f->fatal != NULL;
    }
    if (f->pass == 1) {
        if (!f->header && f->ncols == 0 && !error) { /* the first record says how many */
            for (int i = 0; i < nf; i++)
                add_column(f, arena_printf(f->a, "column_%d", i + 1), LT_TEXT);
            f->nmap = nf;
        }
        if (!error && nf == f->nmap)
            for (int i = 0; i < nf; i++)
                lp_infer_add(&f->inf[f->map ? f->map[i] : i], &fl[i]);
        return 0;
    }
    if (error) {
        bad_record(f, line, error, fl, nf, NULL, 0, NULL, 0);
        return 0;
    }
    int want = f->map ? f->nmap : f->ncols;
    if (nf != want) {
        bad_record(f, line, arena_printf(f->la, "has %d field%s, expected %d", nf,
                                         nf == 1 ? "" : "s", want), fl, nf, NULL, 0, NULL, 0);
        return 0;
    }
    for (int i = 0; i < nf; i++)
        f->fields[f->map ? f->map[i] : i] = fl[i];
    load_record(f, line, fl, nf, NULL, 0);
    return 0;
}

/* ---- JSON lines -------------------------------------------------------------------- */

static int json_line(void *arg, long long line, const char *p, size_t n, int too_long)
{
    lfile *f = arg;
    if (f->fatal || f->err != SL_OK)
        return 1;
    arena_reset(f->la);
    if (too_long) {
        if (f->pass == 2)
            bad_record(f, line, "is longer than 64 MiB", NULL, 0, p, 256, NULL, 0);
        return 0;
    }
    arena_reset(f->la);
    arena *a = f->la;
    lj_member *m = f->members;
    const char *why = NULL;
    int nm = lj_object(a, p, n, m, LJ_MEMBERS_MAX, &why);
    if (nm < 0) {
        if (f->pass == 2)
            bad_record(f, line, why, NULL, 0, p, n, NULL, 0);
        return 0;
    }
    if (f->pass == 1) {
        for (int i = 0; i < nm; i++) {
            const char *name = lp_ident(a, m[i].key, m[i].key_n, i + 1);
            int c = find_column(f, name, i);
            if (c < 0)
                c = add_column(f, name, LT_TEXT);
            lp_infer_add(&f->inf[c], &m[i].v);
        }
        return 0;
    }
    for (int c = 0; c < f->ncols; c++)
        f->fields[c] = (lp_field){LP_NULL, NULL, 0, NULL, 0};
    for (int i = 0; i < nm; i++) {
        const char *name = lp_ident(a, m[i].key, m[i].key_n, i + 1);
        int c = find_column(f, name, i);
        if (c < 0) {
            bad_record(f, line, arena_printf(a, "has key %s, which is not a column", name),
                       NULL, 0, p, n, NULL, 0);
            return 0;
        }
        if (f->fields[c].kind != LP_NULL) {
            bad_record(f, line, arena_printf(a, "has two keys for column %s", name), NULL,
                       0, p, n, NULL, 0);
            return 0;
        }
        f->fields[c] = m[i].v;
    }
    load_record(f, line, NULL, 0, p, n);
    return 0;
}

/* ---- passes ---------------------------------------------------------------------- */

/* Read the whole file once through the CSV or JSON Lines reader. */
static void read_pass(lfile *f, int pass)
{
    f->pass = pass;
    f->header_seen = 0;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        f->fatal = arena_printf(f->a, "the stored file cannot be read (%s)", strerror(errno));
        return;
    }
    lcsv *cx = f->csv ? lcsv_new(f->delim, f->quote, csv_record, f) : NULL;
    lj_reader *jx = f->csv ? NULL : lj_new(json_line, f);
    char *buf = xmalloc(READ_BLOCK);
    sl_errbuf fatal = {0};
    sl_err e = SL_OK;
    for (;;) {
        ssize_t got = read(fd, buf, READ_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            f->fatal = arena_printf(f->a, "reading the stored file failed (%s)",
                                    strerror(errno));
            break;
        }
        if (got == 0) {
            e = cx ? lcsv_finish(cx, &fatal) : lj_finish(jx);
            break;
        }
        e = cx ? lcsv_feed(cx, buf, (size_t)got, &fatal) : lj_feed(jx, buf, (size_t)got);
        if (e != SL_OK)
            break;
    }
    if (e == SL_ETOOBIG && !f->fatal)
        f->fatal = arena_strdup(f->a, fatal.msg);
    free(buf);
    lcsv_free(cx);
    lj_free(jx);
    close(fd);
}

/* After the inference pass: each column's type. */
static void settle_types(lfile *f)
{
    if (f->ncols == 0 && !f->fatal)
        f->fatal = f->header ? "the file has no header" : "the file has no records";
    for (int i = 0; i < f->ncols; i++)
        f->types[i] = lp_infer_type(&f->inf[i]);
}

/* ---- the destination table ------------------------------------------------------- */

static const char Q_COLUMNS[] =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
    " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum";

/* Compare the table (when it exists) with the file's columns. */
static sl_err check_table(lfile *f)
{
    PGresult *r;
    sl_err e = db_query(f->dst, f->a, &f->eb, &r, Q_COLUMNS, 1, (const char *[]){f->q_target});
    if (e != SL_OK)
        return e;
    int n = PQntuples(r);
    f->exists = n > 0;
    if (!f->exists)
        return SL_OK;
    int meta = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(PQgetvalue(r, i, 0), "_sluice_file_id") == 0 ||
            strcmp(PQgetvalue(r, i, 0), "_sluice_line") == 0)
            meta++;
    if (meta != 2) {
        f->fatal = arena_printf(f->a, "the table %s.%s exists but was not made by a landing "
                                      "zone (no _sluice_file_id and _sluice_line)",
                                f->target_schema, f->table);
        return SL_OK;
    }
    for (int c = 0; c < f->ncols; c++) {
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (strcmp(PQgetvalue(r, i, 0), f->names[c]) == 0)
                found = i;
        if (found < 0) {
            f->fatal = arena_printf(f->a, "the table %s.%s has no column %s", f->target_schema,
                                    f->table, f->names[c]);
            return SL_OK;
        }
        if (!f->declared)
            f->types[c] = lp_type_of_pg(PQgetvalue(r, found, 1));
    }
    return SL_OK;
}

static sl_err exec(lfile *f, const char *sql)
{
    return db_exec(f->dst, &f->eb, sql, 0, NULL);
}

/* Create what is missing; forget this file's earlier rows. In the load's
 * transaction. */
static sl_err prepare(lfile *f)
{
    sl_err e = exec(f, DDL_LOCK_SQL);
    if (e == SL_OK && !f->exists) {
        sbuf b;
        sb_init(&b, f->a, (size_t)1 << 24);
        sb_printf(&b, "CREATE TABLE IF NOT EXISTS %s (", f->q_target);
        for (int i = 0; i < f->ncols; i++)
            sb_printf(&b, "%s %s, ", db_quote_ident(f->a, f->names[i]),
                      lp_type_sql(f->types[i]));
        sb_puts(&b, "_sluice_file_id bigint NOT NULL, _sluice_line bigint NOT NULL,"
                    " _sluice_loaded_at timestamptz NOT NULL DEFAULT now())");
        e = exec(f, sb_str(&b));
        if (e == SL_OK)
            e = exec(f, arena_printf(f->a, "CREATE INDEX IF NOT EXISTS %s ON %s"
                                           " (_sluice_file_id)",
                                     db_quote_ident(f->a, arena_printf(f->a, "%.40s__sluice_file",
                                                                       f->table)),
                                     f->q_target));
    }
    if (e == SL_OK && f->raw)
        e = exec(f, arena_printf(f->a, "CREATE TABLE IF NOT EXISTS %s ("
                                       " _sluice_file_id bigint NOT NULL,"
                                       " _sluice_line bigint NOT NULL,"
                                       " _sluice_loaded_at timestamptz NOT NULL DEFAULT now(),"
                                       " _data jsonb NOT NULL)", f->q_raw));
    const char *p[] = {f->id};
    if (e == SL_OK)
        e = db_exec(f->dst, &f->eb, arena_printf(f->a, "DELETE FROM %s WHERE _sluice_file_id"
                                                       " = $1::bigint", f->q_target), 1, p);
    if (e == SL_OK && f->raw)
        e = db_exec(f->dst, &f->eb, arena_printf(f->a, "DELETE FROM %s WHERE _sluice_file_id"
                                                       " = $1::bigint", f->q_raw), 1, p);
    if (e == SL_OK)
        e = db_exec(f->dst, &f->eb, arena_printf(f->a, "DELETE FROM %s WHERE pipeline_id ="
                                                       " $1::uuid AND run_id = $2::bigint",
                                                 f->q_dead),
                    2, (const char *[]){f->zone_id, f->id});
    return e;
}

/* The loader of pg_load.c, pointed at the typed table: the file's columns
 * and the two meta columns, COPY straight in (its "shadow" mode). */
static sl_err init_loader(lfile *f, tsync *t)
{
    memset(t, 0, sizeof *t);
    t->ncols = f->ncols + 2;
    t->cols = arena_calloc(f->a, (size_t)t->ncols, sizeof *t->cols);
    sbuf b;
    sb_init(&b, f->a, (size_t)1 << 24);
    for (int i = 0; i < f->ncols; i++) {
        t->cols[i].name = f->names[i];
        t->cols[i].dest_type = lp_type_sql(f->types[i]);
        sb_printf(&b, "%s, ", db_quote_ident(f->a, f->names[i]));
    }
    t->cols[f->ncols].name = "_sluice_file_id";
    t->cols[f->ncols + 1].name = "_sluice_line";
    sb_puts(&b, "_sluice_file_id, _sluice_line");
    t->q_cols = sb_str(&b);
    t->q_target = t->q_shadow = f->q_target;
    t->q_dead = f->q_dead;
    return pgl_init(&f->ld, f->dst, f->a, t, 1, 0, &f->eb);
}

/* The load pass in one destination transaction. */
static sl_err load(lfile *f)
{
    tsync t;
    sl_err e = init_loader(f, &t);
    if (e != SL_OK)
        return e;
    pgl_chunk_init(&f->chunk, CHUNK_ROWS, CHUNK_BYTES);
    f->fields = arena_calloc(f->a, (size_t)f->ncols + 1, sizeof *f->fields);
    db_rollback(f->dst);
    e = db_begin(f->dst, &f->eb);
    if (e == SL_OK)
        e = prepare(f);
    if (e == SL_OK) {
        f->err = SL_OK;
        read_pass(f, 2);
        flush(f);
        e = f->err;
    }
    if (e == SL_OK && !f->fatal && !f->rejecting)
        e = db_commit(f->dst, &f->eb);
    else
        db_rollback(f->dst);
    pgl_chunk_free(&f->chunk);
    pgl_done(&f->ld);
    return e;
}

/* Everything between the claim and the record of the outcome. Returns the
 * outcome; f->fatal / f->eb say why for a rejected / retried file. */
static enum outcome load_file(db *d, lfile *f)
{
    sl_errbuf eb = {0};
    sl_err e = read_zone(d, f, &eb);
    if (e == SL_ENOTFOUND) {
        f->fatal = "the zone is gone";
        return OUT_REJECTED;
    }
    if (e != SL_OK) {
        f->eb = eb;
        return OUT_RETRY;
    }
    if (strcmp(f->dest_type, "postgresql") != 0) {
        f->fatal = arena_printf(f->a, "the destination \"%s\" is %s: landing zones load into "
                                      "PostgreSQL", f->dest_name, f->dest_type);
        return OUT_REJECTED;
    }
    if (f->declared && declared_columns(f) != 0)
        return OUT_REJECTED;
    f->q_target = arena_printf(f->a, "%s.%s", db_quote_ident(f->a, f->target_schema),
                               db_quote_ident(f->a, f->table));
    f->q_dead = arena_printf(f->a, "%s._dead_letters", db_quote_ident(f->a, f->raw_schema));
    f->q_raw = arena_printf(f->a, "%s.%s", db_quote_ident(f->a, f->raw_schema),
                            db_quote_ident(f->a, arena_printf(f->a, "landing_%s_raw",
                                                              plconf_ident(f->a,
                                                                           f->zone_name))));
    if (!f->stored || !*f->stored) {
        f->fatal = "the file's bytes are not kept";
        return OUT_REJECTED;
    }
    if (access(f->path, R_OK) != 0) {
        f->fatal = arena_printf(f->a, "the stored file is missing (%s)", strerror(errno));
        return OUT_REJECTED;
    }
    if (!f->declared) {
        read_pass(f, 1);
        settle_types(f);
        if (f->fatal)
            return OUT_REJECTED;
    }
    e = pgx_connect(&f->dest, "destination", &f->dst, &f->eb);
    wipe_password(f);
    if (e != SL_OK)
        return OUT_RETRY;
    pl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.raw_schema = f->raw_schema;
    cfg.target_schema = f->target_schema;
    e = pgd_ensure_meta(f->dst, f->a, &cfg, &f->eb);
    if (e == SL_OK)
        e = check_table(f);
    if (e == SL_OK && !f->fatal) {
        f->map = NULL;
        e = load(f);
    }
    if (e != SL_OK)
        return OUT_RETRY;
    return f->fatal || f->rejecting ? OUT_REJECTED : OUT_LOADED;
}

/* ---- the control database ---------------------------------------------------------- */

static const char Q_CLAIM[] =
    "UPDATE sluice.landing_files f SET status = 'loading', error = NULL"
    " WHERE f.id = (SELECT id FROM sluice.landing_files WHERE status = 'uploaded'"
    "  AND id > $1::bigint ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)"
    " RETURNING f.id::text, f.zone_id::text, f.original_name, f.stored_name,"
    "  pg_advisory_lock(hashtext('sluice.landing.' || f.id::text))::text";

/* Claim the next file after `after`. 1 claimed (f filled), 0 none, -1 error. */
static int claim(db *d, lfile *f, const char *var_dir, long long after, sl_errbuf *eb)
{
    char a[24];
    snprintf(a, sizeof a, "%lld", after);
    PGresult *r;
    db_rollback(d);
    sl_err e = db_begin(d, eb);
    if (e == SL_OK)
        e = db_query(d, f->a, eb, &r, Q_CLAIM, 1, (const char *[]){a});
    if (e != SL_OK) {
        db_rollback(d);
        return -1;
    }
    if (PQntuples(r) == 0) {
        db_rollback(d);
        return 0;
    }
    f->id = col(f->a, r, 0);
    f->zone_id = col(f->a, r, 1);
    f->name = col(f->a, r, 2);
    f->stored = PQgetisnull(r, 0, 3) ? NULL : col(f->a, r, 3);
    f->path = arena_printf(f->a, "%s/landing/%s/%s", var_dir, f->zone_id,
                           f->stored ? f->stored : "-");
    if (db_commit(d, eb) != SL_OK)
        return -1;
    return 1;
}

static void unlock_file(db *d, const char *id)
{
    db_rollback(d);
    db_exec(d, NULL, "SELECT pg_advisory_unlock(" FILE_LOCK ")", 1, (const char *[]){id});
}

/* Record the outcome and its event (landing.h, step 4). */
static sl_err finish(db *d, lfile *f, enum outcome o, sl_errbuf *eb)
{
    char loaded[24], bad[24];
    snprintf(loaded, sizeof loaded, "%lld", o == OUT_LOADED ? f->ld.loaded : 0LL);
    snprintf(bad, sizeof bad, "%lld", f->bad);
    const char *error = NULL;
    if (o == OUT_RETRY) {
        error = arena_printf(f->a, "not loaded yet, will try again: %s", f->eb.msg);
        return db_exec(d, eb, "UPDATE sluice.landing_files SET status = 'uploaded', error = $2"
                              " WHERE id = $1::bigint AND status = 'loading'",
                       2, (const char *[]){f->id, error});
    }
    if (o == OUT_REJECTED)
        error = f->fatal ? f->fatal
                         : arena_printf(f->a, "%lld bad record%s, nothing loaded: %s%s", f->bad,
                                        f->bad == 1 ? "" : "s", sb_str(&f->first),
                                        f->bad > FIRST_BAD ? "; ..." : "");
    else if (f->bad > 0)
        error = arena_printf(f->a, "%lld bad record%s in dead letters: %s%s", f->bad,
                             f->bad == 1 ? "" : "s", sb_str(&f->first),
                             f->bad > FIRST_BAD ? "; ..." : "");
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "zone_id", f->zone_id,
                             "zone_name", f->zone_name ? f->zone_name : "", "file_id", f->id,
                             "file_name", f->name, "table",
                             f->table ? arena_printf(f->a, "%s.%s", f->target_schema, f->table)
                                      : "",
                             "rows_loaded", (json_int_t)strtoll(loaded, NULL, 10),
                             "rows_rejected", (json_int_t)f->bad);
    if (error)
        json_object_set_new(data, o == OUT_REJECTED ? "reason" : "error", json_string(error));
    const char *djson = jsonx_dump(f->a, data);
    json_decref(data);
    const char *type = o == OUT_LOADED ? "landing.file_loaded" : "landing.file_rejected";
    const char *p[] = {f->id, o == OUT_LOADED ? "loaded" : "rejected", loaded, bad, error,
                       arena_printf(f->a, "landing:%s", f->zone_id), type, djson};
    return db_exec(d, eb,
                   "WITH u AS (UPDATE sluice.landing_files SET status = $2,"
                   "  rows_loaded = $3::bigint, rows_rejected = $4::bigint, error = $5,"
                   "  loaded_at = now() WHERE id = $1::bigint RETURNING id),"
                   " e AS (INSERT INTO sluice_events.events (stream, type, data)"
                   "  SELECT $6, $7, $8::jsonb FROM u RETURNING id, stream, type, data)"
                   " SELECT sluice_events.enqueue_event(e.id, e.stream, e.type, e.data) FROM e"
                   " WHERE e.type = 'landing.file_rejected'",
                   8, p);
}

int landing_reset_stuck(db *d, sl_errbuf *eb)
{
    arena *a = arena_new(0);
    PGresult *r;
    db_rollback(d);
    sl_err e = db_query(d, a, eb, &r, "SELECT id::text FROM sluice.landing_files"
                                      " WHERE status = 'loading' ORDER BY id", 0, NULL);
    int n = 0;
    for (int i = 0; e == SL_OK && i < PQntuples(r); i++) {
        const char *p[] = {PQgetvalue(r, i, 0)};
        char *got = NULL;
        e = db_query_value(d, a, eb, &got, "SELECT pg_try_advisory_lock(" FILE_LOCK ")", 1, p);
        if (e != SL_OK || strcmp(got, "t") != 0)
            continue;
        PGresult *u;
        e = db_query(d, a, eb, &u, "UPDATE sluice.landing_files SET status = 'uploaded',"
                                   " error = 'a load was interrupted; loading again'"
                                   " WHERE id = $1::bigint AND status = 'loading' RETURNING 1",
                     1, p);
        if (e == SL_OK)
            n += PQntuples(u);
        db_exec(d, NULL, "SELECT pg_advisory_unlock(" FILE_LOCK ")", 1, p);
    }
    arena_free(a);
    return e == SL_OK ? n : -1;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sl_err landing_ingest(db *d, const landing_opts *o, landing_counts *n, sl_errbuf *eb)
{
    memset(n, 0, sizeof *n);
    int reset = landing_reset_stuck(d, eb);
    if (reset < 0)
        return SL_EDB;
    n->reset = reset;
    if (reset)
        log_warn("landing: %d file(s) left loading by a loader that stopped: loading again",
                 reset);
    double start = mono();
    long long after = 0;
    for (;;) {
        if ((o->stop && o->stop()) || (o->max_seconds > 0 && mono() - start > o->max_seconds))
            break;
        lfile f;
        memset(&f, 0, sizeof f);
        f.a = arena_new(0);
        int got = claim(d, &f, o->var_dir, after, eb);
        if (got <= 0) {
            arena_free(f.a);
            if (got < 0)
                return SL_EDB;
            break;
        }
        after = strtoll(f.id, NULL, 10);
        n->files++;
        sb_init(&f.row, NULL, (size_t)1 << 30);
        sb_init(&f.dl, NULL, (size_t)1 << 30);
        sb_init(&f.scratch, NULL, (size_t)1 << 30);
        sb_init(&f.first, f.a, 4096);
        f.la = arena_new(0);
        f.members = xcalloc(LJ_MEMBERS_MAX, sizeof *f.members);
        enum outcome out = load_file(d, &f);
        wipe_password(&f);
        if (f.dst)
            db_close(f.dst);
        sl_errbuf fe = {0};
        if (finish(d, &f, out, &fe) != SL_OK)
            log_error("landing: file %s: the outcome could not be recorded: %s", f.id, fe.msg);
        unlock_file(d, f.id);
        if (out == OUT_LOADED) {
            n->loaded++;
            n->rows_loaded += f.ld.loaded;
            n->rows_rejected += f.bad;
            log_info("landing: file %s (%s) loaded into %s.%s: %lld row(s), %lld bad", f.id,
                     f.name, f.target_schema, f.table, f.ld.loaded, f.bad);
        } else if (out == OUT_REJECTED) {
            n->rejected++;
            n->rows_rejected += f.bad;
            log_warn("landing: file %s (%s) rejected: %s", f.id, f.name,
                     f.fatal ? f.fatal : sb_str(&f.first));
        } else {
            n->retry++;
            log_warn("landing: file %s (%s) not loaded, will try again: %s", f.id, f.name,
                     f.eb.msg);
        }
        sb_free(&f.row);
        sb_free(&f.dl);
        sb_free(&f.scratch);
        free(f.members);
        arena_free(f.la);
        arena_free(f.a);
    }
    return SL_OK;
}
