/* account.h - what the account commands (`sluice user`, `token`, `key`)
 * share: option parsing, error messages, the control-database connection,
 * looking a user up by email, reading a password, printing a table, and
 * writing the audit trail.
 *
 * Messages go to stderr as "sluice <cmd>: message". Strings returned live
 * in the arena the caller passes. */
#ifndef SL_ACCOUNT_H
#define SL_ACCOUNT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"

#define ACCT_EMAIL_MAX 254
#define ACCT_NAME_MAX 200      /* characters */
#define ACCT_PASSWORD_MIN 8    /* characters (UTF-8 code points) */
#define ACCT_PASSWORD_MAX 1024 /* bytes */
#define ACCT_EXPIRES_DAYS_MAX 3650

/* Options a subcommand may accept (bits of acct_cmd.allowed / required). */
enum {
    ACCT_O_EMAIL = 1u << 0,        /* --email E */
    ACCT_O_ROLE = 1u << 1,         /* --role R (checked: admin|editor|viewer) */
    ACCT_O_NAME = 1u << 2,         /* --name N (UTF-8, no control characters) */
    ACCT_O_IF_MISSING = 1u << 3,   /* --if-missing */
    ACCT_O_EXPIRES_DAYS = 1u << 4, /* --expires-days D (1..ACCT_EXPIRES_DAYS_MAX) */
    ACCT_O_ID = 1u << 5,           /* --id UUID */
    ACCT_O_FILE = 1u << 6,         /* --file PATH */
};

typedef struct {
    const char *cmd;   /* "user add", for messages */
    const char *usage; /* the --help text */
    unsigned allowed;  /* ACCT_O_* bits */
    unsigned required; /* ACCT_O_* bits that must be given */
} acct_cmd;

typedef struct {
    const char *email, *role, *name, *id, *file; /* NULL when not given */
    int if_missing;
    int expires_days; /* 0 when not given */
} acct_opts;

typedef struct {
    char *id, *email, *name, *role;
    int active;
} acct_user;

/* One subcommand of a command group (`sluice user add`). fn gets argv with
 * argv[0] = the subcommand's name. */
typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv, const sl_config *cfg);
    const char *help;
} acct_subcmd;

/* Run the subcommand argv[1] of group (argv[0] is the group's name):
 * no subcommand prints the group's usage on stderr (exit 2), --help / -h /
 * help prints it on stdout (0), an unknown one is a usage error (2).
 * Returns the subcommand's exit status otherwise. */
int acct_dispatch(const char *group, const char *about, const acct_subcmd *subs, size_t nsubs,
                  int argc, char **argv, const sl_config *cfg);

/* Parse argv (argv[0] is the subcommand's own name) with getopt_long.
 * Returns -1 to go on, or the exit status to return now: 0 after --help
 * (usage on stdout), 2 for an unknown option, a missing or malformed value,
 * a missing required option or a stray argument (a message on stderr that
 * names the problem and points at --help). Values are checked (email shape,
 * role, UUID, day count, name) and point into argv. */
int acct_parse(const acct_cmd *c, int argc, char **argv, acct_opts *o);

/* Print "sluice <cmd>: <message>" on stderr; returns 1 (the exit status). */
int acct_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when s looks like an email address: local@domain, one '@', no spaces or
 * control characters, at most ACCT_EMAIL_MAX bytes. */
int acct_email_valid(const char *s);
/* 1 for "admin", "editor", "viewer". */
int acct_role_valid(const char *s);

/* What a database command holds for its run: its name, an arena, a
 * connection, an error buffer. */
typedef struct {
    const char *cmd;
    arena *a;
    db *d;
    sl_errbuf eb;
} acct_run;

/* Connect (acct_connect) and make the arena. Returns 0, or 1 after printing
 * why (nothing to release then). */
int acct_start(acct_run *r, const char *cmd, const sl_config *cfg);
/* Roll back whatever is open (a no-op after a commit), close, free; returns
 * rc, so commands can `return acct_finish(&r, 0);`. */
int acct_finish(acct_run *r, int rc);
/* Print r->eb's message as this command's error; returns 1. */
int acct_dbfail(acct_run *r);

/* What every database subcommand does first: parse argv against c
 * (acct_parse) into *o, then start *r (acct_start). Returns -1 to go on
 * (the caller ends with acct_finish), or the exit status to return now. */
int acct_open(const acct_cmd *c, int argc, char **argv, const sl_config *cfg, acct_opts *o,
              acct_run *r);

/* Append the audit row (acct_audit; details stolen) and commit r's open
 * transaction. SL_EDB / SL_EDBDOWN with r->eb filled on failure (the
 * caller's acct_finish rolls back). */
sl_err acct_commit(acct_run *r, const char *action, const char *object_type,
                   const char *object_id, json_t *details);

/* Connect to cfg->database_url. On failure prints why (including an unset
 * SLUICE_DATABASE_URL) and returns NULL. The caller closes the handle. */
db *acct_connect(const char *cmd, const sl_config *cfg);

/* Find a user by email, case-insensitively, optionally locking the row
 * (FOR UPDATE, inside the caller's transaction). SL_ENOTFOUND when there is
 * none (eb: "no user with email E", so acct_dbfail reports it); SL_EDB /
 * SL_EDBDOWN with eb filled. Fields live in a. */
sl_err acct_find_user(db *d, arena *a, sl_errbuf *eb, const char *email, int lock,
                      acct_user *u);

/* Read a password: from a terminal, prompt on stderr with echo off, twice,
 * and require both to match; otherwise the first line of stdin (trailing
 * "\n" or "\r\n" removed). Checks it is UTF-8 text of ACCT_PASSWORD_MIN
 * characters to ACCT_PASSWORD_MAX bytes, as the console does. Writes it
 * NUL-terminated into buf (cap bytes, at least ACCT_PASSWORD_MAX + 1); the
 * caller wipes it (sodium_memzero).
 * Returns 0, or 1 after printing why. Reads stdin byte by byte, so nothing
 * past the first line is consumed and no copy sits in a stdio buffer. */
int acct_read_password(const char *cmd, const char *prompt, char *buf, size_t cap);

/* Append a row to sluice.audit_log done by the CLI (actor_id NULL,
 * actor_email 'cli'). details (may be NULL) is stolen. Never pass secrets. */
sl_err acct_audit(db *d, arena *a, sl_errbuf *eb, const char *action, const char *object_type,
                  const char *object_id, json_t *details);

/* Print the rows of r as aligned columns under headers (one per column of
 * r), control characters shown as '?'. SQL NULL prints as "-". */
void acct_print_table(FILE *out, const PGresult *r, const char *const *headers);

#endif
