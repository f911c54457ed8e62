/* pgtest.h - helpers for unit tests that need a real PostgreSQL.
 *
 * The server comes from SLUICE_TEST_DATABASE_URL (a libpq URL to a database
 * the test may create tables and databases in). Without it the tests that
 * need it are skipped with a message, unless CI=true, where that is a
 * failure. Tests create uniquely named schemas / databases and drop them,
 * so they can run repeatedly and side by side. Header-only (static
 * functions): include it from one test file. */
#ifndef SL_PGTEST_H
#define SL_PGTEST_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* The test server URL, or NULL. *must_fail is set when it is missing but
 * required (CI=true). Prints the skip message itself. */
static const char *pgt_url(const char *suite, int *must_fail)
{
    const char *url = getenv("SLUICE_TEST_DATABASE_URL");
    const char *ci = getenv("CI");
    *must_fail = 0;
    if (url && *url)
        return url;
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "%s: SLUICE_TEST_DATABASE_URL is not set and CI=true: failing\n", suite);
        *must_fail = 1;
    } else {
        fprintf(stderr, "%s: SKIP tests that need PostgreSQL (set SLUICE_TEST_DATABASE_URL)\n",
                suite);
    }
    return NULL;
}

/* A name unique to this process and call: prefix_<pid>_<usec>_<n>. */
static __attribute__((unused)) void pgt_unique(char *out, size_t cap, const char *prefix)
{
    static unsigned n;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(out, cap, "%s_%ld_%ld_%u", prefix, (long)getpid(),
             (long)(tv.tv_usec + (tv.tv_sec % 1000) * 1000000L), n++);
}

static void pgt_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Run one command on a fresh connection to url; 0 on success. */
static __attribute__((unused)) int pgt_run(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, pgt_quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
        if (rc)
            fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "pgtest: connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return rc;
}

/* The conninfo of url with its database replaced by dbname, into out. */
static __attribute__((unused)) void pgt_url_for_db(char *out, size_t cap, const char *url,
                                                  const char *dbname)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    size_t len = 0;
    out[0] = '\0';
    if (!opts) {
        PQfreemem(err);
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (!v)
            continue;
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s='", o->keyword);
        for (const char *p = v; *p && len + 3 < cap; p++) {
            if (*p == '\'' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        if (len + 3 < cap) {
            out[len++] = '\'';
            out[len++] = ' ';
            out[len] = '\0';
        }
    }
    PQconninfoFree(opts);
}

/* Create a fresh database named prefix_<unique>; its name goes to name,
 * its conninfo to conninfo. */
static __attribute__((unused)) int pgt_create_db(const char *url, const char *prefix, char *name,
                                                 size_t ncap, char *conninfo, size_t ccap)
{
    char sql[256];
    pgt_unique(name, ncap, prefix);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (pgt_run(url, sql) != 0)
        return -1;
    pgt_url_for_db(conninfo, ccap, url, name);
    return 0;
}

/* The source and destination rows pipelines in run and scheduler tests
 * hang off (a migrated database is assumed). Returns 0, or -1 on error. */
#define PGT_SOURCE_ID "00000000-0000-4000-8000-000000000001"
#define PGT_DEST_ID "00000000-0000-4000-8000-000000000002"
static __attribute__((unused)) int pgt_seed_endpoints(const char *conninfo)
{
    return pgt_run(conninfo,
                   "INSERT INTO sluice.sources (id, name, type, host, port)"
                   " VALUES ('" PGT_SOURCE_ID "', 'src', 'postgresql', '127.0.0.1', 5432);"
                   " INSERT INTO sluice.destinations (id, name, type, host, port)"
                   " VALUES ('" PGT_DEST_ID "', 'dst', 'postgresql', '127.0.0.1', 5432)");
}

static __attribute__((unused)) void pgt_drop_db(const char *url, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgt_run(url, sql);
}

/* Drop every database whose name starts with prefix (leftovers of tests
 * that failed before their own cleanup). prefix must be [a-z0-9_]. */
static __attribute__((unused)) void pgt_drop_dbs_like(const char *url, const char *prefix)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) == CONNECTION_OK) {
        char like[128];
        snprintf(like, sizeof like, "%s\\_%%", prefix);
        const char *p[] = {like};
        PGresult *r = PQexecParams(c, "SELECT datname FROM pg_database WHERE datname LIKE $1", 1,
                                   NULL, p, NULL, NULL, 0);
        for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
            pgt_drop_db(url, PQgetvalue(r, i, 0));
        PQclear(r);
    }
    PQfinish(c);
}

#endif
