/* account.c - plumbing shared by the account commands (see account.h):
 * getopt_long parsing with one option table, validation of emails and
 * roles, the database connection, user lookup, password input (terminal
 * without echo, or the first line of stdin), aligned tables, audit rows.
 *
 * Nothing here prints or logs a password; the password buffer belongs to
 * the caller, who wipes it. */
#include "account.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "jsonx.h"
#include "uuid.h"

/* ---- subcommands and options ------------------------------------------------- */

static void group_usage(FILE *out, const char *group, const char *about,
                        const acct_subcmd *subs, size_t nsubs)
{
    fprintf(out, "usage: sluice %s <command> [options]\n\n%s\n\ncommands:\n", group, about);
    for (size_t i = 0; i < nsubs; i++)
        fprintf(out, "  %-14s %s\n", subs[i].name, subs[i].help);
    fprintf(out, "\nRun `sluice %s <command> --help` for a command's options.\n", group);
}

int acct_dispatch(const char *group, const char *about, const acct_subcmd *subs, size_t nsubs,
                  int argc, char **argv, const sl_config *cfg)
{
    if (argc < 2) {
        group_usage(stderr, group, about, subs, nsubs);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        group_usage(stdout, group, about, subs, nsubs);
        return 0;
    }
    for (size_t i = 0; i < nsubs; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1, cfg);
    fprintf(stderr, "sluice %s: unknown command '%s'\n\n", group, sub);
    group_usage(stderr, group, about, subs, nsubs);
    return 2;
}

static const struct {
    unsigned bit;
    const char *name;
    int has_arg;
} OPTS[] = {
    {ACCT_O_EMAIL, "email", required_argument},
    {ACCT_O_ROLE, "role", required_argument},
    {ACCT_O_NAME, "name", required_argument},
    {ACCT_O_IF_MISSING, "if-missing", no_argument},
    {ACCT_O_EXPIRES_DAYS, "expires-days", required_argument},
    {ACCT_O_ID, "id", required_argument},
    {ACCT_O_FILE, "file", required_argument},
};
#define NOPTS ((int)(sizeof OPTS / sizeof OPTS[0]))

int acct_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sluice %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int usage_error(const acct_cmd *c, const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice %s: ", c->cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun `sluice %s --help` for its options.\n", c->cmd);
    return 2;
}

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n;
        unsigned long cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

static int has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Check one option's value; returns NULL when fine, else what is wrong. */
static const char *check_value(unsigned bit, const char *v, acct_opts *o)
{
    if (bit != ACCT_O_IF_MISSING && (!v || !*v))
        return "must not be empty";
    switch (bit) {
    case ACCT_O_EMAIL:
        if (!acct_email_valid(v))
            return "is not an email address (local@domain, no spaces, at most 254 bytes)";
        o->email = v;
        break;
    case ACCT_O_ROLE:
        if (!acct_role_valid(v))
            return "must be admin, editor or viewer";
        o->role = v;
        break;
    case ACCT_O_NAME:
        if (!utf8_valid(v) || utf8_chars(v) > ACCT_NAME_MAX || has_control(v))
            return "must be at most 200 characters of UTF-8 text without control characters";
        o->name = v;
        break;
    case ACCT_O_IF_MISSING:
        o->if_missing = 1;
        break;
    case ACCT_O_EXPIRES_DAYS: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < 1 || n > ACCT_EXPIRES_DAYS_MAX)
            return "must be a whole number of days from 1 to 3650";
        o->expires_days = (int)n;
        break;
    }
    case ACCT_O_ID:
        if (!uuid_valid(v))
            return "must be a UUID (as `sluice token list` shows it)";
        o->id = v;
        break;
    case ACCT_O_FILE:
        o->file = v;
        break;
    }
    return NULL;
}

int acct_parse(const acct_cmd *c, int argc, char **argv, acct_opts *o)
{
    struct option longopts[NOPTS + 2];
    int n = 0;
    memset(o, 0, sizeof *o);
    for (int i = 0; i < NOPTS; i++)
        if (c->allowed & OPTS[i].bit)
            longopts[n++] = (struct option){OPTS[i].name, OPTS[i].has_arg, NULL, i + 1};
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    unsigned seen = 0;
    opterr = 0;
    optind = 0; /* glibc: 0 re-initialises getopt (main's argv[0] is consumed) */
    for (;;) {
        int ch = getopt_long(argc, argv, "+:h", longopts, NULL);
        if (ch == -1)
            break;
        if (ch == 'h') {
            fputs(c->usage, stdout);
            return 0;
        }
        if (ch == ':')
            return usage_error(c, "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?') {
            if (optopt > 0 && optopt <= NOPTS)
                return usage_error(c, "option '%s' takes no value", argv[optind - 1]);
            return usage_error(c, "unknown option '%s'", argv[optind - 1]);
        }
        unsigned bit = OPTS[ch - 1].bit;
        const char *why = check_value(bit, optarg, o);
        if (why) {
            fprintf(stderr, "sluice %s: --%s %s\n", c->cmd, OPTS[ch - 1].name, why);
            return 2;
        }
        seen |= bit;
    }
    if (optind < argc)
        return usage_error(c, "unexpected argument '%s'", argv[optind]);
    for (int i = 0; i < NOPTS; i++)
        if ((c->required & OPTS[i].bit) && !(seen & OPTS[i].bit))
            return usage_error(c, "--%s is required", OPTS[i].name);
    return -1;
}

int acct_email_valid(const char *s)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    const char *at = strchr(s, '@');
    if (len == 0 || len > ACCT_EMAIL_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    return utf8_valid(s);
}

int acct_role_valid(const char *s)
{
    return s && (strcmp(s, "admin") == 0 || strcmp(s, "editor") == 0 ||
                 strcmp(s, "viewer") == 0);
}

/* ---- database ----------------------------------------------------------------- */

db *acct_connect(const char *cmd, const sl_config *cfg)
{
    if (!cfg->database_url[0]) {
        acct_fail(cmd, "database_url is not set (set SLUICE_DATABASE_URL to the control "
                       "database, e.g. postgresql://sluice@localhost/sluice)");
        return NULL;
    }
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d)
        acct_fail(cmd, "%s", eb.msg);
    return d;
}

int acct_start(acct_run *r, const char *cmd, const sl_config *cfg)
{
    memset(r, 0, sizeof *r);
    r->cmd = cmd;
    r->d = acct_connect(cmd, cfg);
    if (!r->d)
        return 1;
    r->a = arena_new(0);
    return 0;
}

int acct_finish(acct_run *r, int rc)
{
    if (r->d) {
        db_rollback(r->d);
        db_close(r->d);
    }
    arena_free(r->a);
    r->d = NULL;
    r->a = NULL;
    return rc;
}

int acct_dbfail(acct_run *r)
{
    return acct_fail(r->cmd, "%s", r->eb.msg);
}

int acct_open(const acct_cmd *c, int argc, char **argv, const sl_config *cfg, acct_opts *o,
              acct_run *r)
{
    int rc = acct_parse(c, argc, argv, o);
    if (rc >= 0)
        return rc;
    return acct_start(r, c->cmd, cfg) ? 1 : -1;
}

sl_err acct_find_user(db *d, arena *a, sl_errbuf *eb, const char *email, int lock,
                      acct_user *u)
{
    PGresult *r;
    const char *sql = lock ? "SELECT id, email, name, role, active FROM sluice.users"
                             " WHERE lower(email) = lower($1) FOR UPDATE"
                           : "SELECT id, email, name, role, active FROM sluice.users"
                             " WHERE lower(email) = lower($1)";
    sl_err e = db_query(d, a, eb, &r, sql, 1, (const char *[]){email});
    if (e != SL_OK)
        return e;
    if (PQntuples(r) != 1)
        return sl_fail(eb, SL_ENOTFOUND, "no user with email %s", email);
    u->id = PQgetvalue(r, 0, 0);
    u->email = PQgetvalue(r, 0, 1);
    u->name = PQgetvalue(r, 0, 2);
    u->role = PQgetvalue(r, 0, 3);
    u->active = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
    return SL_OK;
}

sl_err acct_audit(db *d, arena *a, sl_errbuf *eb, const char *action, const char *object_type,
                  const char *object_id, json_t *details)
{
    const char *js = details ? jsonx_dump(a, details) : NULL;
    json_decref(details);
    const char *params[] = {action, object_type, object_id, js};
    return db_exec(d, eb,
                   "INSERT INTO sluice.audit_log"
                   " (actor_id, actor_email, action, object_type, object_id, details)"
                   " VALUES (NULL, 'cli', $1, $2, $3, $4::jsonb)",
                   4, params);
}

sl_err acct_commit(acct_run *r, const char *action, const char *object_type,
                   const char *object_id, json_t *details)
{
    sl_err e = acct_audit(r->d, r->a, &r->eb, action, object_type, object_id, details);
    return e == SL_OK ? db_commit(r->d, &r->eb) : e;
}

/* ---- passwords ------------------------------------------------------------------ */

static struct termios saved_tio;

static void restore_tty_and_die(int sig)
{
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    signal(sig, SIG_DFL);
    raise(sig);
}

enum { LINE_OK, LINE_EOF, LINE_ERR, LINE_LONG, LINE_NUL };

/* Read one line from fd, byte by byte, without the newline. */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int status = LINE_OK, any = 0;
    for (;;) {
        char ch;
        ssize_t got = read(fd, &ch, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            status = LINE_ERR;
            break;
        }
        if (got == 0) {
            if (!any)
                status = LINE_EOF;
            break;
        }
        any = 1;
        if (ch == '\n')
            break;
        if (status != LINE_OK)
            continue; /* drain the rest of a bad line */
        if (ch == '\0')
            status = LINE_NUL;
        else if (n + 1 >= cap)
            status = LINE_LONG;
        else
            buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return status;
}

/* Read a line from the terminal on stdin with echo off. */
static int read_noecho(const char *prompt, char *buf, size_t cap, size_t *len)
{
    struct termios off;
    struct sigaction sa = {0}, old[4];
    static const int sigs[4] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
    if (tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return LINE_ERR;
    off = saved_tio;
    off.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    off.c_lflag |= ICANON;
    sa.sa_handler = restore_tty_and_die;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &sa, &old[i]);
    fputs(prompt, stderr);
    fflush(stderr);
    int status = LINE_ERR;
    /* TCSANOW, not TCSAFLUSH: both lines may be pasted at once. */
    if (tcsetattr(STDIN_FILENO, TCSANOW, &off) == 0) {
        status = read_line(STDIN_FILENO, buf, cap, len);
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    }
    fputc('\n', stderr);
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &old[i], NULL);
    return status;
}

static int line_problem(const char *cmd, int status)
{
    switch (status) {
    case LINE_EOF:
        return acct_fail(cmd, "no password given: write it as the first line of stdin "
                              "(e.g. printf '%%s\\n' \"$PASSWORD\" | sluice %s ...)",
                         cmd);
    case LINE_ERR:
        return acct_fail(cmd, "cannot read the password from stdin: %s", strerror(errno));
    case LINE_LONG:
        return acct_fail(cmd, "the password is longer than %d bytes", ACCT_PASSWORD_MAX);
    case LINE_NUL:
        return acct_fail(cmd, "the password contains a NUL byte");
    }
    return 0;
}

int acct_read_password(const char *cmd, const char *prompt, char *buf, size_t cap)
{
    size_t len = 0;
    int status;
    if (cap > ACCT_PASSWORD_MAX + 1)
        cap = ACCT_PASSWORD_MAX + 1;
    if (isatty(STDIN_FILENO)) {
        char again[ACCT_PASSWORD_MAX + 1];
        size_t len2 = 0;
        status = read_noecho(prompt, buf, cap, &len);
        if (status == LINE_OK)
            status = read_noecho("Repeat the password: ", again, sizeof again, &len2);
        int same = status == LINE_OK && len == len2 && memcmp(buf, again, len) == 0;
        sodium_memzero(again, sizeof again);
        if (status != LINE_OK)
            return line_problem(cmd, status);
        if (!same)
            return acct_fail(cmd, "the two passwords do not match; nothing changed");
    } else {
        status = read_line(STDIN_FILENO, buf, cap, &len);
        if (status != LINE_OK)
            return line_problem(cmd, status);
    }
    if (!utf8_valid(buf))
        return acct_fail(cmd, "the password is not valid UTF-8 text");
    if (utf8_chars(buf) < ACCT_PASSWORD_MIN)
        return acct_fail(cmd, "the password is too short: it needs at least %d characters",
                         ACCT_PASSWORD_MIN);
    return 0;
}

/* ---- tables ----------------------------------------------------------------------- */

/* Display width of s in code points (control characters count as one '?'). */
static size_t text_width(const char *s)
{
    return utf8_chars(s);
}

static void put_cell(FILE *out, const char *s, size_t width, int last)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        if ((*p & 0xC0) != 0x80)
            w++;
    }
    if (!last)
        for (; w < width + 2; w++)
            fputc(' ', out);
}

void acct_print_table(FILE *out, const PGresult *r, const char *const *headers)
{
    int ncols = PQnfields(r), nrows = PQntuples(r);
    size_t width[32] = {0};
    if (ncols > 32)
        ncols = 32;
    for (int c = 0; c < ncols; c++) {
        width[c] = text_width(headers[c]);
        for (int i = 0; i < nrows; i++) {
            const char *v = PQgetisnull(r, i, c) ? "-" : PQgetvalue(r, i, c);
            size_t w = text_width(v);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (int c = 0; c < ncols; c++)
        put_cell(out, headers[c], width[c], c == ncols - 1);
    fputc('\n', out);
    for (int i = 0; i < nrows; i++) {
        for (int c = 0; c < ncols; c++)
            put_cell(out, PQgetisnull(r, i, c) ? "-" : PQgetvalue(r, i, c), width[c],
                     c == ncols - 1);
        fputc('\n', out);
    }
}
