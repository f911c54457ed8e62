/* upload.c - streaming uploads into a landing zone: request body ->
 * temporary file with its SHA-256 -> fsync, rename, record (see upload.h).
 *
 * The order of the final step is: fsync each file, open a transaction,
 * lock the zone (one advisory lock per zone, so two uploads of the same
 * bytes cannot both miss each other as duplicates), insert the rows, events
 * and audit rows, rename the temporary files to their ids, fsync the
 * directory, commit. A failure before the commit undoes both sides; a crash
 * between the rename and the commit can leave a file named by an id that
 * has no row (never a row without its file). Temporary files that a killed
 * worker left behind are swept from a zone's directory after an hour. */
#include "upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "multipart.h"

#define STALE_TMP_SECONDS 3600
#define EXT_MAX 16 /* bytes of an extension kept when a long name is cut */
#define CT_MAX 255

/* --- names --------------------------------------------------------------------------- */

/* The code point of the UTF-8 sequence at s (at most n bytes) and its
 * length in *len, or -1 (then *len is 1) for an invalid one. */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t need;
    long cp, min;
    if ((s[0] & 0xe0) == 0xc0) {
        need = 2, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 3, cp = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        need = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n < need)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *len = need;
    return cp;
}

/* Characters a name never keeps: controls and the invisible marks that
 * reorder text ("evil\u202Etxt.exe" shows as "evilexe.txt"). */
static int dropped(long cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The length of s cut to at most max bytes at a character boundary (s is
 * valid UTF-8). */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t i = max;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    return i;
}

char *upload_clean_name(arena *a, const char *raw)
{
    if (!raw)
        return NULL;
    const char *base = raw;
    for (const char *p = raw; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = strlen(base);
    char *out = arena_alloc(a, n + 1);
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)base;
    for (size_t i = 0; i < n;) {
        size_t len;
        long cp = utf8_next(s + i, n - i, &len);
        if (cp < 0)
            out[o++] = '_';
        else if (!dropped(cp)) {
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    /* Trim surrounding spaces. */
    char *b = out;
    while (*b == ' ')
        b++;
    size_t m = strlen(b);
    while (m > 0 && b[m - 1] == ' ')
        m--;
    b[m] = '\0';
    if (m == 0 || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
        return NULL;
    if (m <= UPLOAD_NAME_MAX)
        return b;
    /* Too long: cut the stem, keep a short extension. */
    const char *dot = strrchr(b, '.');
    size_t ext = dot && dot != b ? strlen(dot) : 0;
    if (ext > EXT_MAX)
        ext = 0;
    size_t stem = utf8_cut(b, m - ext, UPLOAD_NAME_MAX - ext);
    memmove(b + stem, b + m - ext, ext + 1);
    return b;
}

/* --- files --------------------------------------------------------------------------- */

static int failed(upload *u, int status, const char *why)
{
    if (!u->status) {
        u->status = status;
        u->why = why;
    }
    return u->status;
}

static int io_failed(upload *u, const char *what, const char *path)
{
    int err = errno;
    log_error("landing upload: %s %s: %s", what, path, strerror(err));
    if (err == ENOSPC || err == EDQUOT)
        return failed(u, 507, "there is no room left on the server's disk");
    return failed(u, 500, "the file could not be stored on the server");
}

static void setup(upload *u, request *r, const upload_zone *zone)
{
    memset(u, 0, sizeof *u);
    u->r = r;
    u->zone = *zone;
    for (int i = 0; i < UPLOAD_MAX_FILES; i++)
        u->files[i].fd = -1;
}

/* Remove temporary files a killed worker left (older than an hour: a live
 * upload writes all the time, and nginx drops a client idle for 60 s). */
static void sweep_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t cutoff = time(NULL) - STALE_TMP_SECONDS;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, ".tmp-", 5) != 0 ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_mtime >= cutoff)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            log_info("landing: removed stale temporary file %s/%s", dir, e->d_name);
    }
    closedir(d);
}

/* <var>/landing/<zone id>, made when missing. */
static int prepare_dir(upload *u)
{
    request *r = u->r;
    const char *top = arena_printf(r->a, "%s/landing", r->cfg->var_dir);
    u->dir = arena_printf(r->a, "%s/%s", top, u->zone.id);
    if (mkdir(top, 0750) != 0 && errno != EEXIST)
        return io_failed(u, "mkdir", top);
    if (mkdir(u->dir, 0750) != 0 && errno != EEXIST)
        return io_failed(u, "mkdir", u->dir);
    sweep_stale(u->dir);
    return 0;
}

/* Start file f: a new temporary file, a fresh hash. */
static int begin_file(upload *u, upload_file *f, const char *name, const char *ctype)
{
    request *r = u->r;
    f->name = name;
    f->content_type = arena_strndup(r->a, ctype && *ctype ? ctype : "application/octet-stream",
                                    CT_MAX);
    for (int attempt = 0; attempt < 3; attempt++) {
        const char *path = arena_printf(r->a, "%s/.tmp-%s", u->dir, cr_token_new(r->a, 12));
        f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (f->fd >= 0) {
            f->tmp = path;
            break;
        }
        if (errno != EEXIST)
            return io_failed(u, "open", path);
    }
    if (f->fd < 0)
        return failed(u, 500, "no temporary file could be made");
    sha256_init(&f->sha);
    u->cur = f;
    return 0;
}

static int file_write(upload *u, const char *p, size_t n)
{
    upload_file *f = u->cur;
    if (!f)
        return 0;
    if (f->size + (long long)n > u->zone.max_file_bytes)
        return failed(u, 413,
                      arena_printf(u->r->a,
                                   "the file is larger than this zone's limit of %lld bytes",
                                   u->zone.max_file_bytes));
    sha256_update(&f->sha, p, n);
    f->size += (long long)n;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_failed(u, "write", f->tmp);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The file is complete: durable on disk, its hash known. */
static int end_file(upload *u)
{
    upload_file *f = u->cur;
    u->cur = NULL;
    if (!f)
        return 0;
    if (fsync(f->fd) != 0)
        return io_failed(u, "fsync", f->tmp);
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0)
        return io_failed(u, "close", f->tmp);
    unsigned char h[SHA256_BYTES];
    sha256_final(&f->sha, h);
    sodium_bin2hex(f->sha256, sizeof f->sha256, h, sizeof h);
    return 0;
}

static void drop_file(upload_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp && unlink(f->tmp) != 0 && errno != ENOENT)
        log_error("landing upload: unlink %s: %s", f->tmp, strerror(errno));
    if (f->final && unlink(f->final) != 0 && errno != ENOENT)
        log_error("landing upload: unlink %s: %s", f->final, strerror(errno));
    f->tmp = f->final = NULL;
}

/* Remove every file of the request (after a failure). */
static void discard(upload *u)
{
    for (int i = 0; i < u->nfiles; i++)
        drop_file(&u->files[i]);
    u->cur = NULL;
}

/* --- recording ----------------------------------------------------------------------- */

/* The row of file f (the duplicate check and the id in one statement). */
#define INSERT_SQL                                                                           \
    "WITH d AS (SELECT min(id) AS dup FROM sluice.landing_files WHERE sha256 = $4"          \
    " AND zone_id = $1::uuid AND status <> 'purged' AND duplicate_of IS NULL),"              \
    " n AS (SELECT sluice.snowflake_id() AS id)"                                             \
    " INSERT INTO sluice.landing_files (id, zone_id, original_name, stored_name, size_bytes," \
    " sha256, content_type, status, error, uploaded_by, uploaded_by_email, duplicate_of)"    \
    " SELECT n.id, $1::uuid, $2, CASE WHEN d.dup IS NULL THEN n.id::text END, $3::bigint,"   \
    " $4, $5, CASE WHEN d.dup IS NULL THEN 'uploaded' ELSE 'rejected' END,"                  \
    " CASE WHEN d.dup IS NOT NULL THEN 'identical to file ' || d.dup END, $6::uuid, $7,"      \
    " d.dup FROM n, d RETURNING id, duplicate_of"

/* The event and its notifications, in one statement (009_outbox.sql). */
#define EVENT_SQL                                                                            \
    "WITH e AS (INSERT INTO sluice_events.events (stream, type, data)"                       \
    " VALUES ('landing:' || $1, 'landing.file_uploaded', $2::jsonb)"                         \
    " RETURNING id, stream, type, data)"                                                     \
    " SELECT sluice_events.enqueue_event(e.id, e.stream, e.type, e.data) FROM e"

static int db_failed(upload *u, sl_err e, const sl_errbuf *eb)
{
    db_rollback(u->r->db);
    metrics_db_error();
    log_error("landing upload: database: %s", eb->msg[0] ? eb->msg : sl_strerror(e));
    return failed(u, e == SL_EDBDOWN ? 503 : 500,
                  e == SL_EDBDOWN ? "the database is unavailable; try again shortly"
                                  : "the upload could not be recorded");
}

static sl_err record_file(upload *u, upload_file *f, sl_errbuf *eb)
{
    request *r = u->r;
    PGresult *res;
    const char *size = arena_printf(r->a, "%lld", f->size);
    sl_err e = db_query(r->db, r->a, eb, &res, INSERT_SQL, 7,
                        (const char *[]){u->zone.id, f->name, size, f->sha256, f->content_type,
                                         r->user_id, r->user_email});
    if (e)
        return e;
    f->id = arena_strdup(r->a, PQgetvalue(res, 0, 0));
    f->duplicate_of =
        PQgetisnull(res, 0, 1) ? NULL : arena_strdup(r->a, PQgetvalue(res, 0, 1));
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "zone_id", u->zone.id, "zone",
                          u->zone.name, "file_id", f->id, "name", f->name, "size",
                          (json_int_t)f->size, "sha256", f->sha256);
    if (!f->duplicate_of) {
        json_t *ev = json_deep_copy(d);
        json_object_set_new(ev, "zone_name", json_string(u->zone.name));
        char *data = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        e = db_exec(r->db, eb, EVENT_SQL, 2, (const char *[]){u->zone.id, data});
        free(data);
    }
    if (!e) {
        json_object_set_new(d, "duplicate_of",
                            f->duplicate_of ? json_string(f->duplicate_of) : json_null());
        e = audit_write(r, "landing.upload", "landing_file", f->id, d, NULL);
        if (e)
            sl_fail(eb, e, "the audit row could not be written");
    }
    json_decref(d);
    return e;
}

/* Record every file, put the bytes in place, commit. */
static int commit(upload *u)
{
    request *r = u->r;
    sl_errbuf eb = {0};
    db_rollback(r->db);
    sl_err e = db_begin(r->db, &eb);
    PGresult *res;
    if (!e)
        e = db_query(r->db, r->a, &eb, &res,
                     "SELECT pg_advisory_xact_lock(hashtext('sluice.landing:' || $1)),"
                     " EXISTS (SELECT 1 FROM sluice.landing_zones WHERE id = $1::uuid"
                     " FOR SHARE)",
                     1, (const char *[]){u->zone.id});
    if (e)
        return db_failed(u, e, &eb);
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        db_rollback(r->db);
        return failed(u, 404, "the landing zone was deleted during the upload");
    }
    for (int i = 0; i < u->nfiles; i++)
        if ((e = record_file(u, &u->files[i], &eb)) != SL_OK)
            return db_failed(u, e, &eb);
    for (int i = 0; i < u->nfiles; i++) {
        upload_file *f = &u->files[i];
        if (f->duplicate_of) {
            drop_file(f); /* the bytes are the original's: not kept twice */
            continue;
        }
        const char *final = arena_printf(r->a, "%s/%s", u->dir, f->id);
        if (rename(f->tmp, final) != 0) {
            db_rollback(r->db);
            return io_failed(u, "rename", f->tmp);
        }
        f->tmp = NULL;
        f->final = final;
    }
    int dfd = open(u->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        if (dfd >= 0)
            close(dfd);
        db_rollback(r->db);
        return io_failed(u, "fsync", u->dir);
    }
    close(dfd);
    if ((e = db_commit(r->db, &eb)) != SL_OK)
        return db_failed(u, e, &eb);
    for (int i = 0; i < u->nfiles; i++)
        u->files[i].final = NULL; /* committed: theirs now */
    return 0;
}

/* --- reading the body ---------------------------------------------------------------- */

static int body_failed(upload *u, const sl_errbuf *eb)
{
    if (eb->code == SL_ETOOBIG)
        return failed(u, 413, arena_strdup(u->r->a, eb->msg));
    log_warn("landing upload cut off: %s", eb->msg);
    return failed(u, 400, "the upload was cut off before it was complete");
}

int upload_raw(request *r, const upload_zone *zone, const char *raw_name, upload *u)
{
    setup(u, r, zone);
    const char *name = upload_clean_name(r->a, raw_name);
    if (!name)
        return failed(u, 422,
                      "the file name is empty once paths and control characters are removed");
    /* Refused before a byte is read when the length says so. */
    if (r->content_length > zone->max_file_bytes)
        return failed(u, 413,
                      arena_printf(r->a,
                                   "the file is larger than this zone's limit of %lld bytes",
                                   zone->max_file_bytes));
    if (prepare_dir(u))
        return u->status;
    u->nfiles = 1;
    if (begin_file(u, &u->files[0], name, r->content_type))
        goto fail;
    char *buf = arena_alloc(r->a, UPLOAD_CHUNK);
    sl_errbuf eb = {0};
    for (;;) {
        long n = http_body_read(r, buf, UPLOAD_CHUNK, &eb);
        if (n < 0) {
            body_failed(u, &eb);
            goto fail;
        }
        if (n == 0)
            break;
        if (file_write(u, buf, (size_t)n))
            goto fail;
    }
    if (end_file(u) || commit(u))
        goto fail;
    return 0;
fail:
    discard(u);
    return u->status;
}

static int on_part(void *ud, const mp_part *part)
{
    upload *u = ud;
    if (!part->filename) {
        u->skipping = 1; /* a plain form field: not stored */
        return 0;
    }
    if (u->nfiles >= UPLOAD_MAX_FILES)
        return failed(u, 422, "send at most 64 files at once");
    const char *name = upload_clean_name(u->r->a, part->filename);
    int empty = part->filename[0] == '\0';
    if (!name && !empty)
        return failed(u, 422,
                      arena_printf(u->r->a,
                                   "the file name of part %d is empty once paths and control "
                                   "characters are removed",
                                   part->index + 1));
    upload_file *f = &u->files[u->nfiles++];
    f->empty_name = empty;
    return begin_file(u, f, name, part->content_type);
}

static int on_data(void *ud, const char *p, size_t n)
{
    upload *u = ud;
    return u->skipping ? 0 : file_write(u, p, n);
}

static int on_part_end(void *ud)
{
    upload *u = ud;
    if (u->skipping) {
        u->skipping = 0;
        return 0;
    }
    upload_file *f = u->cur;
    if (f && f->empty_name) {
        if (f->size > 0)
            return failed(u, 422, "a file was sent without a name");
        /* No file chosen in a browser's file field: nothing to store. */
        drop_file(f);
        u->cur = NULL;
        u->nfiles--;
        memset(f, 0, sizeof *f);
        f->fd = -1;
        return 0;
    }
    return end_file(u);
}

int upload_multipart(request *r, const upload_zone *zone, upload *u)
{
    static const mp_callbacks cb = {on_part, on_data, on_part_end};
    setup(u, r, zone);
    char boundary[MP_BOUNDARY_MAX + 1];
    if (strncasecmp(r->content_type, "multipart/form-data", 19) != 0)
        return failed(u, 415, "send the files as multipart/form-data");
    if (!mp_boundary(r->content_type, boundary))
        return failed(u, 400, "the multipart/form-data body has no valid boundary");
    if (prepare_dir(u))
        return u->status;
    mp_parser *p = mp_init(arena_alloc(r->a, mp_parser_size()), boundary,
                           UPLOAD_MAX_FILES + 16, &cb, u);
    char *buf = arena_alloc(r->a, UPLOAD_CHUNK);
    sl_errbuf eb = {0};
    mp_err me = MP_OK;
    for (;;) {
        long n = http_body_read(r, buf, UPLOAD_CHUNK, &eb);
        if (n < 0) {
            body_failed(u, &eb);
            goto fail;
        }
        if (n == 0)
            break;
        if ((me = mp_feed(p, buf, (size_t)n)) != MP_OK)
            break;
    }
    if (me == MP_OK)
        me = mp_finish(p);
    if (me != MP_OK) {
        /* A callback's own refusal (413, 422, disk) is already set. */
        failed(u, me == MP_ETOOMANY ? 422 : 400,
               arena_printf(r->a, "the multipart body is malformed: %s", mp_strerror(p)));
        goto fail;
    }
    if (u->nfiles == 0) {
        failed(u, 422, "choose at least one file to upload");
        goto fail;
    }
    if (commit(u))
        goto fail;
    return 0;
fail:
    discard(u);
    return u->status;
}
