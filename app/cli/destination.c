/* destination.c - `sluice destination add-local`: register the embedded
 * stack's own PostgreSQL as the default destination on first start.
 *
 * scripts/stack.sh runs it after migrations with the cluster's password on
 * stdin. It does nothing when any destination exists (so it is safe to run
 * on every start), and otherwise inserts one PostgreSQL destination, marked
 * default, with the password sealed under the master key (keyring_load
 * first, so a wrong key file is refused before anything is stored). It
 * takes the same advisory lock as the console's destination writes. The
 * password is never printed and is wiped from memory when done. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "clihelp.h"
#include "jsonx.h"

#define CMD "destination add-local"
#define DEST_LOCK_SQL "SELECT pg_advisory_xact_lock(hashtext('sluice.destinations'))"

static const char USAGE[] =
    "usage: sluice destination add-local --host H --port P --database D --user U\n"
    "                                    [--name N]\n"
    "\n"
    "Register a PostgreSQL database as the default destination, unless any\n"
    "destination exists (then it does nothing). The password is the first line\n"
    "of stdin (empty: none); it is stored sealed with the secret key.\n"
    "scripts/stack.sh uses this to offer the embedded database on first start.\n"
    "\n"
    "  --name N      the destination's name (default \"Local warehouse\")\n"
    "  --host H      host name or address\n"
    "  --port P      port, 1 to 65535\n"
    "  --database D  database name\n"
    "  --user U      user name\n"
    "  --help        this text\n";

typedef struct {
    const char *name, *host, *port, *database, *user;
} add_opts;

/* Parse argv; -1 to go on, else the exit status. */
static int parse(int argc, char **argv, add_opts *o)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},     {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},     {"database", required_argument, NULL, 'd'},
        {"user", required_argument, NULL, 'u'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->name = "Local warehouse";
    opterr = 0;
    optind = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, "+:h", longopts, NULL);
        if (ch == -1)
            break;
        switch (ch) {
        case 'n': o->name = optarg; break;
        case 'H': o->host = optarg; break;
        case 'p': o->port = optarg; break;
        case 'd': o->database = optarg; break;
        case 'u': o->user = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case ':':
            return clihelp_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
        default: return clihelp_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return clihelp_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    const char *missing = !o->host ? "--host" : !o->port ? "--port" : !o->database ? "--database"
                          : !o->user ? "--user" : NULL;
    if (missing)
        return clihelp_usage_error(CMD, "%s is required", missing);
    if (!clihelp_port_ok(o->port))
        return clihelp_usage_error(CMD, "--port must be a number from 1 to 65535, not '%s'",
                                   o->port);
    if (!*o->name || strlen(o->name) > 200 || !*o->host || !*o->database || !*o->user)
        return clihelp_usage_error(CMD, "%s",
                                   "--name, --host, --database and --user must not be empty "
                                   "(name: at most 200 bytes)");
    return -1;
}

/* Insert the destination unless one exists; 0 done (or nothing to do). */
static int add_local(acct_run *r, const add_opts *o, const char *sealed)
{
    char *count;
    if (db_begin(r->d, &r->eb) || db_exec(r->d, &r->eb, DEST_LOCK_SQL, 0, NULL) ||
        db_query_value(r->d, r->a, &r->eb, &count, "SELECT count(*) FROM sluice.destinations",
                       0, NULL))
        return acct_dbfail(r);
    if (strcmp(count, "0") != 0) {
        printf("a destination exists already; nothing to do\n");
        return 0;
    }
    PGresult *res;
    if (db_query(r->d, r->a, &r->eb, &res,
                 "INSERT INTO sluice.destinations (name, type, host, port, database, username,"
                 " password_enc, is_default) VALUES ($1, 'postgresql', $2, $3::int, $4, $5, $6,"
                 " true) RETURNING id",
                 6, (const char *[]){o->name, o->host, o->port, o->database, o->user, sealed}))
        return acct_dbfail(r);
    const char *id = PQgetvalue(res, 0, 0);
    json_t *d = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:b, s:b, s:s}", "name", o->name,
                          "type", "postgresql", "host", o->host, "port",
                          (int)strtol(o->port, NULL, 10), "database", o->database, "user",
                          o->user, "has_password", sealed != NULL, "default", 1, "via",
                          "sluice destination add-local");
    if (acct_audit(r->d, r->a, &r->eb, "destination.create", "destination", id, d) ||
        db_commit(r->d, &r->eb))
        return acct_dbfail(r);
    printf("created destination \"%s\" (%s:%s/%s, default)\n", o->name, o->host, o->port,
           o->database);
    return 0;
}

static int dest_add_local(int argc, char **argv, const sl_config *cfg)
{
    add_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    acct_run r;
    const char *sealed;
    rc = clihelp_start_sealed(&r, CMD, cfg, &sealed);
    if (rc)
        return rc;
    return acct_finish(&r, add_local(&r, &o, sealed));
}

static const acct_subcmd SUBS[] = {
    {"add-local", dest_add_local, "register a database as the default destination if none"},
};

int cmd_destination(int argc, char **argv, const sl_config *cfg)
{
    return acct_dispatch("destination", "Destinations from the command line.", SUBS,
                         sizeof SUBS / sizeof SUBS[0], argc, argv, cfg);
}
