/* migrate.c - forward-only SQL migrations, and the `sluice migrate` command.
 *
 * Files are <dir>/NNN_name.sql, applied in order of NNN. Each pending file
 * runs in its own transaction together with the row that records it in
 * sluice.schema_migrations (version, name, sha256 checksum). A session
 * advisory lock serialises concurrent runs (twenty hosts starting at once
 * apply each file exactly once); an applied file whose checksum changed
 * stops everything (SL_ECHANGED) before anything is applied.
 *
 * Entry points: migrate_run() (library), cmd_migrate() (CLI). The file
 * list and checksums live in a private arena per call. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "cli.h"
#include "log.h"

/* pg_advisory_lock key: "sluiceMG" read as a big-endian int64. */
#define MIGRATE_LOCK_KEY "8317151707346062663"
#define MIGRATE_MAX_FILE (16 * 1024 * 1024)
#define MIGRATE_MAX_FILES 10000
#define MIGRATE_MAX_VERSION 999999999L

struct mfile {
    long version;
    char *file;        /* "001_foundation.sql" */
    char *path;        /* dir/file */
    char *sql;         /* contents, NUL-terminated */
    char checksum[crypto_hash_sha256_BYTES * 2 + 1];
    char *applied_sum; /* checksum recorded in the database, or NULL */
    char *applied_at;  /* when it was applied, or NULL */
};

struct mset {
    struct mfile *v;
    size_t n, cap;
};

/* "NNN_name.sql": digits, '_', a name of [A-Za-z0-9_.-], ".sql". Returns the
 * version, or -1 when the name does not match. */
static long parse_name(const char *name)
{
    const char *p = name;
    while (*p >= '0' && *p <= '9')
        p++;
    size_t digits = (size_t)(p - name);
    if (digits == 0 || digits > 9 || *p != '_')
        return -1;
    size_t len = strlen(name);
    if (len < 5 || strcmp(name + len - 4, ".sql") != 0 || (size_t)(p - name) + 1 >= len - 4)
        return -1;
    for (const char *q = p + 1; q < name + len - 4; q++) {
        char c = *q;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(name, &end, 10);
    if (errno || end != p || v < 0 || v > MIGRATE_MAX_VERSION)
        return -1;
    return v;
}

static int cmp_version(const void *a, const void *b)
{
    const struct mfile *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static sl_err read_file(arena *a, struct mfile *f, sl_errbuf *eb)
{
    FILE *fp = fopen(f->path, "rb");
    if (!fp)
        return sl_fail(eb, SL_EIO, "migration %s: %s", f->path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MIGRATE_MAX_FILE) {
        fclose(fp);
        return sl_fail(eb, SL_EIO, "migration %s: not a regular file under %d bytes", f->path,
                       MIGRATE_MAX_FILE);
    }
    size_t size = (size_t)st.st_size;
    char *buf = arena_alloc(a, size + 1);
    size_t got = fread(buf, 1, size, fp);
    int bad = ferror(fp) || got != size;
    fclose(fp);
    if (bad)
        return sl_fail(eb, SL_EIO, "migration %s: short read", f->path);
    buf[size] = '\0';
    if (memchr(buf, '\0', size))
        return sl_fail(eb, SL_EPARSE, "migration %s: contains a NUL byte", f->path);
    f->sql = buf;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)buf, size);
    sodium_bin2hex(f->checksum, sizeof f->checksum, h, sizeof h);
    return SL_OK;
}

/* List, sort and read the migration files of dir. */
static sl_err scan_dir(arena *a, const char *dir, struct mset *s, sl_errbuf *eb)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return sl_fail(eb, SL_EIO, "migrations directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    sl_err err = SL_OK;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        long v = parse_name(de->d_name);
        if (v < 0) {
            log_warn("migrations: ignoring %s/%s (not NNN_name.sql)", dir, de->d_name);
            continue;
        }
        if (s->n == MIGRATE_MAX_FILES) {
            err = sl_fail(eb, SL_ETOOBIG, "more than %d migration files", MIGRATE_MAX_FILES);
            break;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 32;
            struct mfile *nv = arena_calloc(a, cap, sizeof *nv);
            if (s->n)
                memcpy(nv, s->v, s->n * sizeof *nv);
            s->v = nv;
            s->cap = cap;
        }
        struct mfile *f = &s->v[s->n++];
        memset(f, 0, sizeof *f);
        f->version = v;
        f->file = arena_strdup(a, de->d_name);
        f->path = arena_printf(a, "%s/%s", dir, de->d_name);
    }
    closedir(dp);
    if (err != SL_OK)
        return err;
    qsort(s->v, s->n, sizeof *s->v, cmp_version);
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i].version == s->v[i - 1].version)
            return sl_fail(eb, SL_EINVAL, "migrations %s and %s have the same number",
                           s->v[i - 1].file, s->v[i].file);
    for (size_t i = 0; i < s->n; i++)
        if ((err = read_file(a, &s->v[i], eb)) != SL_OK)
            return err;
    return SL_OK;
}

static struct mfile *find_version(struct mset *s, long v)
{
    struct mfile key = {.version = v};
    return bsearch(&key, s->v, s->n, sizeof *s->v, cmp_version);
}

/* Read sluice.schema_migrations into the set; warn about versions the
 * directory does not have (a newer sluice migrated this database). */
static sl_err load_applied(db *d, arena *a, struct mset *s, sl_errbuf *eb)
{
    PGresult *r;
    sl_err err = db_query(d, a, eb, &r,
                          "SELECT version, name, checksum, applied_at"
                          " FROM sluice.schema_migrations ORDER BY version",
                          0, NULL);
    if (err != SL_OK)
        return err;
    for (int i = 0; i < PQntuples(r); i++) {
        long v = strtol(PQgetvalue(r, i, 0), NULL, 10);
        struct mfile *f = find_version(s, v);
        if (!f) {
            log_warn("migrations: version %ld (%s) is applied but has no file here", v,
                     PQgetvalue(r, i, 1));
            continue;
        }
        f->applied_sum = PQgetvalue(r, i, 2);
        f->applied_at = PQgetvalue(r, i, 3);
    }
    return SL_OK;
}

static sl_err verify_applied(struct mset *s, sl_errbuf *eb)
{
    for (size_t i = 0; i < s->n; i++) {
        struct mfile *f = &s->v[i];
        if (f->applied_sum && strcmp(f->applied_sum, f->checksum) != 0)
            return sl_fail(eb, SL_ECHANGED,
                           "migration %s was changed after it was applied (checksum %.12s..., "
                           "applied %.12s...); add a new migration instead",
                           f->path, f->checksum, f->applied_sum);
    }
    return SL_OK;
}

static sl_err apply_one(db *d, struct mfile *f, sl_errbuf *eb)
{
    char ver[24];
    snprintf(ver, sizeof ver, "%ld", f->version);
    const char *params[] = {ver, f->file, f->checksum};
    sl_err err = db_begin(d, eb);
    if (err == SL_OK)
        err = db_exec_script(d, eb, f->sql);
    if (err == SL_OK)
        err = db_exec(d, eb,
                      "INSERT INTO sluice.schema_migrations (version, name, checksum)"
                      " VALUES ($1, $2, $3)",
                      3, params);
    if (err == SL_OK)
        err = db_commit(d, eb);
    if (err != SL_OK) {
        char msg[SL_ERRBUF_SIZE];
        snprintf(msg, sizeof msg, "%.480s", eb ? eb->msg : "");
        db_rollback(d);
        return sl_fail(eb, err, "migration %s failed: %s", f->file, msg);
    }
    log_info("migrations: applied %s", f->file);
    return SL_OK;
}

static const char *BOOTSTRAP_SQL[] = {
    "CREATE SCHEMA IF NOT EXISTS sluice",
    "CREATE TABLE IF NOT EXISTS sluice.schema_migrations ("
    " version int PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())",
    NULL,
};

static sl_err run_locked(db *d, arena *a, struct mset *s, int *applied, sl_errbuf *eb)
{
    sl_err err = SL_OK;
    for (int i = 0; BOOTSTRAP_SQL[i] && err == SL_OK; i++)
        err = db_exec(d, eb, BOOTSTRAP_SQL[i], 0, NULL);
    if (err == SL_OK)
        err = load_applied(d, a, s, eb);
    if (err == SL_OK)
        err = verify_applied(s, eb);
    for (size_t i = 0; i < s->n && err == SL_OK; i++) {
        if (s->v[i].applied_sum)
            continue;
        err = apply_one(d, &s->v[i], eb);
        if (err == SL_OK)
            (*applied)++;
    }
    return err;
}

sl_err migrate_run(db *d, const char *sql_dir, int *applied, sl_errbuf *eb)
{
    int count = 0;
    if (applied)
        *applied = 0;
    if (sodium_init() < 0)
        return sl_fail(eb, SL_ECRYPTO, "libsodium failed to initialise");
    arena *a = arena_new(0);
    struct mset s = {0};
    sl_err err = scan_dir(a, sql_dir, &s, eb);
    if (err == SL_OK)
        err = db_exec(d, eb, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL);
    if (err == SL_OK) {
        err = run_locked(d, a, &s, &count, eb);
        /* On a broken connection the lock went with the session. */
        if (db_conn(d)) {
            sl_errbuf ub;
            db_rollback(d);
            db_exec(d, &ub, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL);
        }
    }
    arena_free(a);
    if (applied)
        *applied = count;
    return err;
}

/* ---- sluice migrate -------------------------------------------------------- */

static void usage(FILE *out)
{
    fputs("usage: sluice migrate [--dir DIR] [--status]\n"
          "\n"
          "Apply pending SQL migrations (DIR/NNN_name.sql, in order) to the control\n"
          "database. Safe to run concurrently and repeatedly.\n"
          "\n"
          "  --dir DIR   migrations directory (default: <share_dir>/sql)\n"
          "  --status    list migrations and whether each is applied; change nothing\n"
          "  --help      this text\n"
          "\n"
          "Exit status: 0 done, 1 failed, 2 usage error.\n",
          out);
}

/* Print each migration and its state. Returns the exit status. */
static int print_status(db *d, const char *dir)
{
    sl_errbuf eb = {0};
    arena *a = arena_new(0);
    struct mset s = {0};
    int rc = 1;
    char *exists = NULL;
    if (scan_dir(a, dir, &s, &eb) != SL_OK)
        goto out;
    if (db_query_value(d, a, &eb, &exists,
                       "SELECT to_regclass('sluice.schema_migrations') IS NOT NULL", 0,
                       NULL) != SL_OK)
        goto out;
    if (exists && strcmp(exists, "t") == 0 && load_applied(d, a, &s, &eb) != SL_OK)
        goto out;
    int pending = 0, changed = 0;
    for (size_t i = 0; i < s.n; i++) {
        struct mfile *f = &s.v[i];
        const char *state = "pending";
        if (f->applied_sum && strcmp(f->applied_sum, f->checksum) != 0) {
            state = "CHANGED since applied";
            changed++;
        } else if (f->applied_sum) {
            state = "applied";
        } else {
            pending++;
        }
        printf("%-6ld %-40s %s%s%s\n", f->version, f->file, state,
               f->applied_at ? " " : "", f->applied_at ? f->applied_at : "");
    }
    printf("%zu migrations, %d pending%s\n", s.n, pending, changed ? ", some CHANGED" : "");
    rc = changed ? 1 : 0;
out:
    if (rc && eb.code != SL_OK)
        fprintf(stderr, "sluice migrate: %s\n", eb.msg);
    arena_free(a);
    return rc;
}

int cmd_migrate(int argc, char **argv, const sl_config *cfg)
{
    const char *dir = NULL;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--status") == 0) {
            status = 1;
        } else if (strcmp(arg, "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(arg, "--dir=", 6) == 0 && arg[6]) {
            dir = arg + 6;
        } else {
            fprintf(stderr, "sluice migrate: unknown or incomplete argument '%s'\n", arg);
            usage(stderr);
            return 2;
        }
    }
    char defdir[CFG_STR + 8];
    if (!dir) {
        snprintf(defdir, sizeof defdir, "%s/sql", cfg->share_dir[0] ? cfg->share_dir : ".");
        dir = defdir;
    }
    if (!cfg->database_url[0]) {
        fprintf(stderr, "sluice migrate: database_url is not set (SLUICE_DATABASE_URL)\n");
        return 1;
    }
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        fprintf(stderr, "sluice migrate: %s\n", eb.msg);
        return 1;
    }
    int rc;
    if (status) {
        rc = print_status(d, dir);
    } else {
        int n = 0;
        sl_err err = migrate_run(d, dir, &n, &eb);
        if (err != SL_OK) {
            fprintf(stderr, "sluice migrate: %s\n", eb.msg);
            if (n > 0)
                fprintf(stderr, "sluice migrate: %d migration%s applied before the failure\n",
                        n, n == 1 ? " was" : "s were");
            rc = 1;
        } else {
            if (n == 0)
                printf("database is up to date\n");
            else
                printf("applied %d migration%s\n", n, n == 1 ? "" : "s");
            rc = 0;
        }
    }
    db_close(d);
    return rc;
}
