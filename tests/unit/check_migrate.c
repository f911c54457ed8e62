/* check_migrate.c - unit tests for app/cli/migrate.c against a real
 * PostgreSQL (SLUICE_TEST_DATABASE_URL; see pgtest.h). Every test works in
 * a fresh database of its own, dropped at the end; migration files live in
 * a temporary directory. Also applies the real sql/ directory and checks
 * the SQL snowflake functions against app/core/snowflake.c. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "db.h"
#include "log.h"
#include "cli/migrate.h"
#include "pgtest.h"
#include "snowflake.h"

static const char *g_url;

/* One fresh database and one temp dir per test. */
static char g_prefix[64]; /* sluice_tm_<pid of main>: main drops leftovers */
static char g_dbname[96];
static char g_conninfo[1000];
static char g_dir[256];

static void fresh(void)
{
    ck_assert_int_eq(pgt_create_db(g_url, g_prefix, g_dbname, sizeof g_dbname, g_conninfo,
                                   sizeof g_conninfo),
                     0);
    snprintf(g_dir, sizeof g_dir, "/tmp/sluice_t_mig_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void cleanup(void)
{
    char cmd[512];
    pgt_drop_db(g_url, g_dbname);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_file_in(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%.255s/%.200s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_file(const char *name, const char *text)
{
    write_file_in(g_dir, name, text);
}

static db *open_db(void)
{
    sl_errbuf eb = {0};
    db *d = db_open(g_conninfo, 5, &eb);
    ck_assert_msg(d != NULL, "db_open: %s", eb.msg);
    return d;
}

/* First column of the first row of sql, into a static buffer. */
static const char *value(db *d, const char *sql)
{
    static char out[256];
    arena *a = arena_new(0);
    sl_errbuf eb = {0};
    char *v = NULL;
    ck_assert_msg(db_query_value(d, a, &eb, &v, sql, 0, NULL) == SL_OK, "%s: %s", sql, eb.msg);
    snprintf(out, sizeof out, "%s", v ? v : "(null)");
    arena_free(a);
    return out;
}

static void sha256_hex(const char *text, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(out, 65, h, sizeof h);
}

#define M1 "CREATE TABLE IF NOT EXISTS sluice.t_one (id int PRIMARY KEY);\n"
#define M2                                                                                  \
    "-- two statements in one file\n"                                                       \
    "CREATE TABLE IF NOT EXISTS sluice.t_two (id int PRIMARY KEY, v text);\n"               \
    "INSERT INTO sluice.t_two VALUES (1, 'it''s; not -- a split') ON CONFLICT DO NOTHING;\n"
#define M3 "ALTER TABLE sluice.t_two ADD COLUMN IF NOT EXISTS w int;\n"

START_TEST(test_apply_and_rerun)
{
    fresh();
    write_file("001_one.sql", M1);
    write_file("002_two.sql", M2);
    write_file("README.txt", "not a migration");
    write_file("3_bad name.sql", "SELECT broken syntax here");
    write_file("abc_x.sql", "SELECT broken syntax here");
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_msg(migrate_run(d, g_dir, &applied, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(applied, 2);
    ck_assert_str_eq(value(d, "SELECT count(*) FROM sluice.schema_migrations"), "2");
    ck_assert_str_eq(value(d, "SELECT string_agg(version || ':' || name, ',' ORDER BY version)"
                              " FROM sluice.schema_migrations"),
                     "1:001_one.sql,2:002_two.sql");
    char sum[65];
    sha256_hex(M2, sum);
    ck_assert_str_eq(value(d, "SELECT checksum FROM sluice.schema_migrations WHERE version = 2"),
                     sum);
    ck_assert_str_eq(value(d, "SELECT v FROM sluice.t_two"), "it's; not -- a split");

    /* Second run: nothing to do. */
    applied = -1;
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_OK);
    ck_assert_int_eq(applied, 0);

    /* A new file: only it is applied. */
    write_file("003_three.sql", M3);
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_OK);
    ck_assert_int_eq(applied, 1);
    ck_assert_str_eq(value(d, "SELECT count(*) FROM sluice.schema_migrations"), "3");
    /* The advisory lock was released: another session can take it. */
    db *d2 = open_db();
    ck_assert_str_eq(value(d2, "SELECT pg_try_advisory_lock(8317151707346062663)"), "t");
    db_close(d2);
    db_close(d);
    cleanup();
}
END_TEST

START_TEST(test_changed_file_refused)
{
    fresh();
    write_file("001_one.sql", M1);
    write_file("002_two.sql", M2);
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_OK);
    ck_assert_int_eq(applied, 2);

    write_file("002_two.sql", M2 "-- an innocent comment\n");
    write_file("003_three.sql", M3);
    sl_errbuf_clear(&eb);
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_ECHANGED);
    ck_assert_int_eq(eb.code, SL_ECHANGED);
    ck_assert_int_eq(applied, 0);
    ck_assert_msg(strstr(eb.msg, "002_two.sql") != NULL, "%s", eb.msg);
    /* Nothing after it ran either. */
    ck_assert_str_eq(value(d, "SELECT count(*) FROM sluice.schema_migrations"), "2");
    ck_assert_str_eq(value(d, "SELECT count(*) FROM information_schema.columns"
                              " WHERE table_name = 't_two' AND column_name = 'w'"),
                     "0");
    /* Restored: fine again. */
    write_file("002_two.sql", M2);
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_OK);
    ck_assert_int_eq(applied, 1);
    db_close(d);
    cleanup();
}
END_TEST

START_TEST(test_duplicate_number)
{
    fresh();
    write_file("001_one.sql", M1);
    write_file("002_two.sql", M2);
    write_file("002_other.sql", M3);
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_EINVAL);
    ck_assert_int_eq(applied, 0);
    ck_assert_ptr_nonnull(strstr(eb.msg, "002_two.sql"));
    ck_assert_ptr_nonnull(strstr(eb.msg, "002_other.sql"));
    ck_assert_str_eq(value(d, "SELECT to_regclass('sluice.schema_migrations') IS NULL"), "t");
    /* "2" and "002" are the same number too. */
    char path[512];
    snprintf(path, sizeof path, "%s/002_other.sql", g_dir);
    ck_assert_int_eq(unlink(path), 0);
    write_file("2_again.sql", M3);
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_EINVAL);
    db_close(d);
    cleanup();
}
END_TEST

START_TEST(test_failing_file_rolls_back)
{
    fresh();
    write_file("001_one.sql", M1);
    write_file("002_bad.sql", "CREATE TABLE sluice.t_partial (id int);\n"
                              "\n"
                              "SELEC oops;\n");
    write_file("003_three.sql", "CREATE TABLE sluice.t_three (id int);\n");
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_EDB);
    ck_assert_int_eq(applied, 1);
    ck_assert_msg(strstr(eb.msg, "002_bad.sql") != NULL, "%s", eb.msg);
    ck_assert_msg(strstr(eb.msg, "line 3") != NULL, "%s", eb.msg);
    ck_assert_str_eq(value(d, "SELECT count(*) FROM sluice.schema_migrations"), "1");
    ck_assert_str_eq(value(d, "SELECT to_regclass('sluice.t_partial') IS NULL"), "t");
    ck_assert_str_eq(value(d, "SELECT to_regclass('sluice.t_three') IS NULL"), "t");
    /* The lock was released and the connection is usable. */
    ck_assert_str_eq(value(d, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND"
                              " database = (SELECT oid FROM pg_database"
                              " WHERE datname = current_database())"), "0");
    /* Fixed: the rest applies. */
    write_file("002_bad.sql", "CREATE TABLE sluice.t_partial (id int);\n");
    ck_assert_int_eq(migrate_run(d, g_dir, &applied, &eb), SL_OK);
    ck_assert_int_eq(applied, 2);
    db_close(d);
    cleanup();
}
END_TEST

START_TEST(test_missing_dir)
{
    fresh();
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_int_eq(migrate_run(d, "/nonexistent/sluice/sql", &applied, &eb), SL_EIO);
    ck_assert_ptr_nonnull(strstr(eb.msg, "/nonexistent/sluice/sql"));
    db_close(d);
    cleanup();
}
END_TEST

/* Four processes migrate one fresh database at once: each file runs
 * exactly once (the counter table proves it) and nobody fails. */
START_TEST(test_concurrent)
{
    enum { PROCS = 4, FILES = 6 };
    fresh();
    write_file("001_counter.sql", "CREATE TABLE sluice.t_runs (version int);\n"
                                  "INSERT INTO sluice.t_runs VALUES (1);\n");
    for (int v = 2; v <= FILES; v++) {
        char name[32], sql[160];
        snprintf(name, sizeof name, "%03d_step.sql", v);
        snprintf(sql, sizeof sql,
                 "SELECT pg_sleep(0.05);\nINSERT INTO sluice.t_runs VALUES (%d);\n", v);
        write_file(name, sql);
    }
    int fds[PROCS][2];
    pid_t pids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        ck_assert_int_eq(pipe(fds[i]), 0);
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            close(fds[i][0]);
            sl_errbuf eb = {0};
            int applied = 0;
            db *d = db_open(g_conninfo, 10, &eb);
            sl_err e = d ? migrate_run(d, g_dir, &applied, &eb) : SL_EDBDOWN;
            char line[600];
            int n = snprintf(line, sizeof line, "%d %d %s", (int)e, applied, eb.msg);
            if (write(fds[i][1], line, (size_t)n) < 0)
                _exit(3);
            db_close(d);
            _exit(e == SL_OK ? 0 : 1);
        }
        close(fds[i][1]);
    }
    int total = 0;
    for (int i = 0; i < PROCS; i++) {
        char line[600] = {0};
        ssize_t n = read(fds[i][0], line, sizeof line - 1);
        close(fds[i][0]);
        int status = 0;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "child %d: %s", i, line);
        int e = -1, applied = -1;
        ck_assert_int_eq(sscanf(line, "%d %d", &e, &applied), 2);
        ck_assert_int_eq(e, SL_OK);
        total += applied;
    }
    ck_assert_int_eq(total, FILES);
    db *d = open_db();
    ck_assert_str_eq(value(d, "SELECT count(*) FROM sluice.schema_migrations"), "6");
    ck_assert_str_eq(value(d, "SELECT count(*) || '/' || count(DISTINCT version)"
                              " FROM sluice.t_runs"),
                     "6/6");
    db_close(d);
    cleanup();
}
END_TEST

/* The real sql/ directory: SLUICE_SQL_DIR, else found from the working
 * directory or the test binary (build/tests/check_migrate -> ../../sql). */
static const char *real_sql_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("SLUICE_SQL_DIR");
    char probe[PATH_MAX + 32];
    if (env && *env)
        return env;
    const char *cands[] = {"sql", "../sql", "../../sql"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        snprintf(probe, sizeof probe, "%s/001_foundation.sql", cands[i]);
        if (access(probe, R_OK) == 0)
            return cands[i];
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(dir, sizeof dir, "%.4000s/../../sql", exe);
        snprintf(probe, sizeof probe, "%s/001_foundation.sql", dir);
        if (access(probe, R_OK) == 0)
            return dir;
    }
    return NULL;
}

static int count_sql_files(const char *dir)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -cE '^[0-9]+_[A-Za-z0-9_.-]+\\.sql$'", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

START_TEST(test_real_sql_twice)
{
    const char *dir = real_sql_dir();
    ck_assert_msg(dir != NULL, "cannot find sql/ (set SLUICE_SQL_DIR)");
    int nfiles = count_sql_files(dir);
    ck_assert_int_ge(nfiles, 2);
    fresh();
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_msg(migrate_run(d, dir, &applied, &eb) == SL_OK, "%s", eb.msg);
    ck_assert_int_eq(applied, nfiles);
    ck_assert_int_eq(migrate_run(d, dir, &applied, &eb), SL_OK);
    ck_assert_int_eq(applied, 0);

    /* The foundation and accounts objects are there. */
    const char *rels[] = {"sluice.settings", "sluice.reaper_status", "sluice.users",
                          "sluice.sessions", "sluice.api_tokens", "sluice.login_attempts",
                          "sluice.audit_log", "sluice.schema_migrations"};
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        const char *p[] = {rels[i]};
        arena *a = arena_new(0);
        char *v = NULL;
        ck_assert_int_eq(db_query_value(d, a, &eb, &v, "SELECT to_regclass($1) IS NOT NULL", 1, p),
                         SL_OK);
        ck_assert_msg(strcmp(v, "t") == 0, "%s missing", rels[i]);
        arena_free(a);
    }
    ck_assert_str_eq(value(d, "SELECT count(*) FROM pg_namespace WHERE nspname IN"
                              " ('sluice', 'sluice_state', 'sluice_runs', 'sluice_events')"),
                     "4");
    ck_assert_str_eq(value(d, "SELECT count(*) FROM sluice.reaper_status"), "1");
    ck_assert_str_eq(value(d, "SELECT value->>'audit_log_max_age_days' FROM sluice.settings"
                              " WHERE key = 'retention'"),
                     "365");
    /* Every file is idempotent on its own: running them all again by hand
     * (as a restore onto an existing schema would) must not fail. */
    for (int v = 1;; v++) {
        char pat[PATH_MAX + 64];
        snprintf(pat, sizeof pat, "ls '%s'/%03d_*.sql 2>/dev/null | head -1", dir, v);
        FILE *p = popen(pat, "r");
        char path[PATH_MAX] = {0};
        char *got = fgets(path, sizeof path, p);
        pclose(p);
        if (!got)
            break;
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        static char sql[1 << 20];
        size_t n = fread(sql, 1, sizeof sql - 1, f);
        sql[n] = '\0';
        fclose(f);
        ck_assert_msg(db_exec_script(d, &eb, sql) == SL_OK, "%s again: %s", path, eb.msg);
    }

    /* Users: email unique regardless of case; role checked. */
    const char *u1[] = {"Ada@Example.com", "admin"};
    const char *u2[] = {"ada@example.COM", "viewer"};
    const char *u3[] = {"bob@example.com", "root"};
    const char *ins = "INSERT INTO sluice.users (email, role) VALUES ($1, $2)";
    ck_assert_int_eq(db_exec(d, &eb, ins, 2, u1), SL_OK);
    ck_assert_int_eq(db_exec(d, &eb, ins, 2, u2), SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "23505");
    ck_assert_int_eq(db_exec(d, &eb, ins, 2, u3), SL_EDB);
    ck_assert_str_eq(db_sqlstate(d), "23514");
    /* Audit rows get snowflake ids. */
    ck_assert_int_eq(db_exec(d, &eb, "INSERT INTO sluice.audit_log (action) VALUES ('test')", 0,
                             NULL),
                     SL_OK);
    ck_assert_str_eq(value(d, "SELECT abs(extract(epoch FROM sluice.snowflake_ts(id) - at)) < 5"
                              " FROM sluice.audit_log"),
                     "t");
    db_close(d);
    cleanup();
}
END_TEST

START_TEST(test_snowflake_sql)
{
    const char *dir = real_sql_dir();
    ck_assert_ptr_nonnull(dir);
    fresh();
    db *d = open_db();
    sl_errbuf eb = {0};
    int applied = -1;
    ck_assert_int_eq(migrate_run(d, dir, &applied, &eb), SL_OK);

    /* Increasing, within one statement and across statements. */
    ck_assert_str_eq(value(d, "SELECT bool_and(id > prev) FROM (SELECT id, lag(id) OVER"
                              " (ORDER BY n) AS prev FROM (SELECT n, sluice.snowflake_id() AS id"
                              " FROM generate_series(1, 5000) n) s) t WHERE prev IS NOT NULL"),
                     "t");
    long long prev = 0;
    for (int i = 0; i < 20; i++) {
        long long id = strtoll(value(d, "SELECT sluice.snowflake_id()"), NULL, 10);
        ck_assert_int_gt(id, prev);
        prev = id;
    }
    /* The id's time is now, per the C decoder. */
    long long id = strtoll(value(d, "SELECT sluice.snowflake_id(7)"), NULL, 10);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ck_assert_int_lt(llabs(sf_unix_ms(id) - now_ms), 5000);
    ck_assert_int_eq((id >> 18) & 31, 7);
    ck_assert_int_eq(db_exec(d, &eb, "SELECT sluice.snowflake_id(32)", 0, NULL), SL_EDB);

    /* partition_id_for_ts agrees with sf_floor_for_ms. */
    ck_assert_str_eq(value(d, "SELECT sluice.partition_id_for_ts('2024-01-01T00:00Z')"), "0");
    long long ms = 1748781296789LL; /* 2025-06-01T12:34:56.789Z */
    ck_assert_str_eq(value(d, "SELECT (extract(epoch FROM '2025-06-01T12:34:56.789Z'::timestamptz)"
                              " * 1000)::bigint"),
                     "1748781296789");
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)sf_floor_for_ms(ms));
    ck_assert_str_eq(value(d, "SELECT sluice.partition_id_for_ts('2025-06-01T12:34:56.789Z')"),
                     want);
    ck_assert_str_eq(want, "375089030036979712"); /* (ms - epoch) << 23, by hand */
    snprintf(want, sizeof want, "%lld", (long long)sf_floor_for_ms(1609459200000LL));
    ck_assert_str_eq(value(d, "SELECT sluice.partition_id_for_ts('2021-01-01T00:00Z')"), want);
    /* An id made now lies in [floor(now - 1 min), floor(now + 1 min)). */
    ck_assert_str_eq(value(d, "SELECT sluice.snowflake_id() BETWEEN"
                              " sluice.partition_id_for_ts(now() - interval '1 minute') AND"
                              " sluice.partition_id_for_ts(now() + interval '1 minute')"),
                     "t");
    db_close(d);
    cleanup();
}
END_TEST

/* ---- sluice migrate ------------------------------------------------------ */

static int run_cmd(sl_config *cfg, char *out, size_t cap, int argc, char **argv)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    int rc = cmd_migrate(argc, argv, cfg);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return rc;
}

START_TEST(test_cmd_migrate)
{
    fresh();
    char sqldir[512], other[512];
    snprintf(sqldir, sizeof sqldir, "%s/sql", g_dir);
    snprintf(other, sizeof other, "%s/other", g_dir);
    ck_assert_int_eq(mkdir(sqldir, 0700), 0);
    ck_assert_int_eq(mkdir(other, 0700), 0);
    write_file_in(sqldir, "001_one.sql", M1);
    write_file_in(sqldir, "002_two.sql", M2);
    write_file_in(other, "001_one.sql", "-- different\n" M1);

    sl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s", g_conninfo);
    snprintf(cfg.share_dir, sizeof cfg.share_dir, "%s", g_dir);
    cfg.db_connect_timeout = 5;
    char out[4096];

    char *help[] = {"migrate", "--help", NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 2, help), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: sluice migrate"));
    char *bad[] = {"migrate", "--bogus", NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 2, bad), 2);
    char *nodir[] = {"migrate", "--dir", NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 2, nodir), 2);

    char *status[] = {"migrate", "--status", NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 2, status), 0);
    ck_assert_msg(strstr(out, "001_one.sql") && strstr(out, "2 pending"), "%s", out);

    char *plain[] = {"migrate", NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 1, plain), 0);
    ck_assert_str_eq(out, "applied 2 migrations\n");
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 1, plain), 0);
    ck_assert_str_eq(out, "database is up to date\n");
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 2, status), 0);
    ck_assert_msg(strstr(out, "0 pending") && strstr(out, "applied"), "%s", out);

    /* --dir, and a failure exits 1. */
    char *withdir[] = {"migrate", "--dir", other, NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 3, withdir), 1);
    char *st2[] = {"migrate", "--status", "--dir", other, NULL};
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 4, st2), 1);
    ck_assert_msg(strstr(out, "CHANGED") != NULL, "%s", out);

    snprintf(cfg.database_url, sizeof cfg.database_url,
             "postgresql://x:topsecret@127.0.0.1:1/none");
    ck_assert_int_eq(run_cmd(&cfg, out, sizeof out, 1, plain), 1);
    cleanup();
}
END_TEST

int main(void)
{
    int must_fail = 0;
    g_url = pgt_url("check_migrate", &must_fail);
    if (!g_url)
        return must_fail ? EXIT_FAILURE : EXIT_SUCCESS;
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    log_init("test", LOG_ERROR);
    snprintf(g_prefix, sizeof g_prefix, "sluice_tm_%ld", (long)getpid());
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("pg");
    tcase_add_test(tc, test_apply_and_rerun);
    tcase_add_test(tc, test_changed_file_refused);
    tcase_add_test(tc, test_duplicate_number);
    tcase_add_test(tc, test_failing_file_rolls_back);
    tcase_add_test(tc, test_missing_dir);
    tcase_add_test(tc, test_concurrent);
    tcase_add_test(tc, test_real_sql_twice);
    tcase_add_test(tc, test_snowflake_sql);
    tcase_add_test(tc, test_cmd_migrate);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    pgt_drop_dbs_like(g_url, g_prefix);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
