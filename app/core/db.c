/* db.c - libpq wrapper: connections that reconnect, parameterised queries
 * whose results live in an arena, transactions, COPY helpers, quoting.
 *
 * A db handle owns one PGconn (or none yet, for db_open_lazy) and a heap
 * copy of the conninfo. Every call starts with db_ensure(), which reconnects
 * a connection that broke; a call that finds the server gone returns
 * SL_EDBDOWN and the next call tries again. A transaction that was open when
 * the connection broke is gone with it: until db_rollback(), db_begin() or
 * db_commit() acknowledges that, statements are refused with SL_EDBDOWN
 * rather than silently run outside the transaction.
 *
 * Queries always go through PQexecParams (text parameters, extended
 * protocol: one statement per call). The one exception is db_exec_script(),
 * for trusted multi-statement files (migrations).
 *
 * Error messages never contain the conninfo, and any password from it is
 * masked should libpq echo it back. */
#include "db.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define KEEPALIVE_IDLE "30"
#define KEEPALIVE_INTERVAL "10"
#define KEEPALIVE_COUNT "3"
#define COPY_CHUNK_MAX (1 << 30) /* PQputCopyData takes an int length */

struct db {
    PGconn *conn;          /* NULL until the first connect */
    char *conninfo;        /* heap copy; never printed */
    int connect_timeout;   /* seconds; 0 for the libpq default */
    int ever_connected;    /* a later connect counts as a reconnect */
    int in_tx;             /* last known state: inside a transaction block */
    int tx_lost;           /* the connection broke inside a transaction */
    int copy_in;           /* between db_copy_in_begin and db_copy_in_end */
    int adopted;           /* db_adopt: never reconnect */
    unsigned long reconnects;
    long long changes;     /* rows affected by the last command */
    char sqlstate[6];
};

/* ---- messages ------------------------------------------------------------ */

/* Replace every occurrence of secret in msg (in place) by "****". */
static void mask_secret(char *msg, size_t cap, const char *secret, size_t slen)
{
    if (!secret || slen == 0)
        return;
    char *p = msg;
    while ((p = strstr(p, secret)) != NULL) {
        if (slen < 4 && strlen(msg) + 4 - slen >= cap)
            return;
        size_t tail = strlen(p + slen);
        memmove(p + 4, p + slen, tail + 1);
        memcpy(p, "****", 4);
        p += 4;
    }
}

/* Mask the password of conninfo, decoded and as written, inside msg. */
static void scrub_password(char *msg, size_t cap, const char *conninfo)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (opts) {
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (strcmp(o->keyword, "password") == 0 && o->val)
                mask_secret(msg, cap, o->val, strlen(o->val));
        PQconninfoFree(opts);
    }
    PQfreemem(perr);
    /* The raw userinfo password of a URL, in case it was not decodable. */
    const char *s = strstr(conninfo, "://");
    if (!s)
        return;
    s += 3;
    size_t auth = strcspn(s, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < auth; i++)
        if (s[i] == '@')
            at = s + i; /* mask up to the last '@': more, never less */
    if (!at)
        return;
    const char *colon = memchr(s, ':', (size_t)(at - s));
    if (colon && at > colon + 1) {
        char raw[256];
        size_t n = (size_t)(at - colon - 1);
        if (n < sizeof raw) {
            memcpy(raw, colon + 1, n);
            raw[n] = '\0';
            mask_secret(msg, cap, raw, n);
        }
    }
}

/* Copy a libpq message into eb without the trailing newline(s). */
static sl_err fail_pq(db *d, sl_errbuf *eb, sl_err code, const char *prefix, const char *pqmsg)
{
    char msg[SL_ERRBUF_SIZE];
    snprintf(msg, sizeof msg, "%s%s", prefix, pqmsg && *pqmsg ? pqmsg : "unknown error");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    char *w = msg; /* newlines and tabs become one space */
    for (const char *p = msg; *p; p++) {
        int ws = *p == '\n' || *p == '\t' || *p == '\r';
        if (ws && w > msg && w[-1] == ' ')
            continue;
        *w++ = ws ? ' ' : *p;
    }
    *w = '\0';
    if (d && d->conninfo)
        scrub_password(msg, sizeof msg, d->conninfo);
    return sl_fail(eb, code, "%s", msg);
}

/* ---- connecting ---------------------------------------------------------- */

/* Server notices go to the log instead of libpq's bare stderr lines: NOTICE
 * and below at debug level ("already exists, skipping"), WARNING as warn. */
static void on_notice(void *arg, const PGresult *r)
{
    (void)arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    if (!msg)
        return;
    if (sev && strcmp(sev, "WARNING") == 0)
        log_warn("database: %s", msg);
    else
        log_debug("database: %s: %s", sev ? sev : "NOTICE", msg);
}

static sl_err connect_now(db *d, sl_errbuf *eb)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", d->connect_timeout > 0 ? d->connect_timeout : 0);
    /* Later keywords override earlier ones: the conninfo (dbname, expanded)
     * may override application name, timeout and keepalives; the client
     * encoding is ours, because quoting relies on UTF-8. */
    const char *keys[] = {"application_name", "connect_timeout", "keepalives",
                          "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "dbname", "client_encoding", NULL};
    const char *vals[] = {"sluice", d->connect_timeout > 0 ? timeout : NULL, "1",
                          KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT,
                          d->conninfo, "UTF8", NULL};
    if (d->adopted) {
        d->copy_in = 0;
        if (d->in_tx) {
            d->in_tx = 0;
            d->tx_lost = 1;
        }
        return sl_fail(eb, SL_EDBDOWN, "database connection lost");
    }
    if (d->conn) {
        PQfinish(d->conn);
        d->conn = NULL;
    }
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c)
        return sl_fail(eb, SL_EDBDOWN, "database connection: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        sl_err e = fail_pq(d, eb, SL_EDBDOWN, "database connection failed: ", PQerrorMessage(c));
        PQfinish(c);
        return e;
    }
    PQsetNoticeReceiver(c, on_notice, NULL);
    d->conn = c;
    if (d->ever_connected)
        d->reconnects++;
    d->ever_connected = 1;
    d->copy_in = 0;
    if (d->in_tx) {
        d->in_tx = 0;
        d->tx_lost = 1;
    }
    return SL_OK;
}

db *db_open_lazy(const char *conninfo, int connect_timeout)
{
    db *d = xcalloc(1, sizeof *d);
    d->conninfo = xstrdup(conninfo ? conninfo : "");
    d->connect_timeout = connect_timeout;
    return d;
}

db *db_adopt(PGconn *conn)
{
    db *d = db_open_lazy("", 0);
    d->conn = conn;
    d->adopted = 1;
    d->ever_connected = 1;
    return d;
}

db *db_open(const char *conninfo, int connect_timeout, sl_errbuf *eb)
{
    db *d = db_open_lazy(conninfo, connect_timeout);
    if (connect_now(d, eb) != SL_OK) {
        db_close(d);
        return NULL;
    }
    return d;
}

void db_close(db *d)
{
    if (!d)
        return;
    if (d->conn)
        PQfinish(d->conn);
    if (d->conninfo) {
        memset(d->conninfo, 0, strlen(d->conninfo));
        free(d->conninfo);
    }
    free(d);
}

/* Remember whether a transaction block is open, while the state is known. */
static void note_tx(db *d)
{
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK)
        return;
    PGTransactionStatusType t = PQtransactionStatus(d->conn);
    if (t == PQTRANS_IDLE)
        d->in_tx = 0;
    else if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
        d->in_tx = 1;
}

/* An idle connection whose server went away has usually been sent a
 * termination message and EOF: read them now (without blocking) so that
 * the break is noticed before a statement is sent, not after. */
static void probe_idle(db *d)
{
    for (int i = 0; i < 4 && PQstatus(d->conn) == CONNECTION_OK; i++) {
        struct pollfd p = {.fd = PQsocket(d->conn), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, 0) <= 0)
            return;
        if (!PQconsumeInput(d->conn))
            return;
    }
}

sl_err db_ensure(db *d, sl_errbuf *eb)
{
    if (d->conn && PQstatus(d->conn) == CONNECTION_OK) {
        if (!d->copy_in && PQtransactionStatus(d->conn) == PQTRANS_IDLE)
            probe_idle(d);
        if (PQstatus(d->conn) == CONNECTION_OK)
            return SL_OK;
    }
    return connect_now(d, eb);
}

PGconn *db_conn(db *d)
{
    return d->conn && PQstatus(d->conn) == CONNECTION_OK ? d->conn : NULL;
}

const char *db_sqlstate(const db *d)
{
    return d->sqlstate;
}

unsigned long db_reconnects(const db *d)
{
    return d->reconnects;
}

long long db_changes(const db *d)
{
    return d->changes;
}

/* ---- results ------------------------------------------------------------- */

static void clear_result(void *r)
{
    PQclear(r);
}

static int is_down_state(const char *st)
{
    return strncmp(st, "08", 2) == 0       /* connection exception */
           || strcmp(st, "57P01") == 0     /* admin_shutdown */
           || strcmp(st, "57P02") == 0     /* crash_shutdown */
           || strcmp(st, "57P03") == 0;    /* cannot_connect_now */
}

/* Leave a COPY state someone entered through the wrong function. */
static void drain(db *d, PGresult *r)
{
    if (r && PQresultStatus(r) == PGRES_COPY_IN) {
        PQputCopyEnd(d->conn, "COPY must use db_copy_in_*");
    } else if (r && PQresultStatus(r) == PGRES_COPY_OUT) {
        char *buf;
        while (PQgetCopyData(d->conn, &buf, 0) > 0)
            PQfreemem(buf);
    }
    PGresult *x;
    while ((x = PQgetResult(d->conn)) != NULL)
        PQclear(x);
}

/* Translate a result: SL_OK when its status is want (or TUPLES_OK for
 * COMMAND_OK), else the error, with sqlstate and transaction bookkeeping. */
static sl_err check_result(db *d, sl_errbuf *eb, PGresult *r, ExecStatusType want, int was_in_tx)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    sl_err err = SL_OK;
    if (st == want || (want == PGRES_COMMAND_OK &&
                       (st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY))) {
        const char *n = r ? PQcmdTuples(r) : "";
        d->changes = *n ? strtoll(n, NULL, 10) : 0;
    } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        drain(d, r);
        err = sl_fail(eb, SL_EINVAL, "COPY statements go through db_copy_in_* / db_copy_out");
    } else {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(d->sqlstate, sizeof d->sqlstate, "%s", state ? state : "");
        int down = PQstatus(d->conn) != CONNECTION_OK || (state && is_down_state(state));
        const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *msg = primary ? primary : (r ? PQresultErrorMessage(r) : "");
        if (!msg || !*msg)
            msg = PQerrorMessage(d->conn);
        err = fail_pq(d, eb, down ? SL_EDBDOWN : SL_EDB, down ? "database unavailable: " : "",
                      msg);
    }
    if (PQstatus(d->conn) == CONNECTION_OK) {
        note_tx(d);
    } else if (was_in_tx) {
        d->in_tx = 0;
        d->tx_lost = 1;
    }
    return err;
}

/* A plain "ROLLBACK" / "ABORT" (not ROLLBACK TO SAVEPOINT). */
static int is_rollback(const char *sql)
{
    sql += strspn(sql, " \t\r\n");
    size_t n = 0;
    if (strncasecmp(sql, "ROLLBACK", 8) == 0)
        n = 8;
    else if (strncasecmp(sql, "ABORT", 5) == 0)
        n = 5;
    else
        return 0;
    sql += n;
    sql += strspn(sql, " \t\r\n");
    if (strncasecmp(sql, "WORK", 4) == 0 || strncasecmp(sql, "TRANSACTION", 11) == 0)
        sql += strcspn(sql, " \t\r\n;");
    sql += strspn(sql, " \t\r\n;");
    return *sql == '\0';
}

/* Everything a statement needs first: a live connection, no COPY in
 * progress, no transaction silently lost. */
static sl_err prepare(db *d, sl_errbuf *eb, const char *sql)
{
    d->sqlstate[0] = '\0';
    d->changes = 0;
    if (!sql)
        return sl_fail(eb, SL_EINVAL, "no SQL given");
    if (d->copy_in)
        return sl_fail(eb, SL_EINVAL, "a COPY FROM STDIN is in progress");
    sl_err err = db_ensure(d, eb);
    if (err != SL_OK)
        return err;
    if (d->tx_lost)
        return sl_fail(eb, SL_EDBDOWN,
                       "database connection was lost inside a transaction; roll back");
    return SL_OK;
}

sl_err db_query(db *d, arena *a, sl_errbuf *eb, PGresult **out, const char *sql, int nparams,
                const char *const *params)
{
    if (out)
        *out = NULL;
    if (d->tx_lost && sql && is_rollback(sql)) {
        d->tx_lost = 0;
        d->sqlstate[0] = '\0';
        return SL_OK;
    }
    sl_err err = prepare(d, eb, sql);
    if (err != SL_OK)
        return err;
    if (nparams < 0 || (nparams > 0 && !params))
        return sl_fail(eb, SL_EINVAL, "bad parameter list");
    int was_in_tx = d->in_tx;
    PGresult *r = PQexecParams(d->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    err = check_result(d, eb, r, PGRES_COMMAND_OK, was_in_tx);
    if (err != SL_OK || !out) {
        PQclear(r);
        return err;
    }
    if (a)
        arena_cleanup(a, clear_result, r);
    *out = r;
    return SL_OK;
}

sl_err db_exec(db *d, sl_errbuf *eb, const char *sql, int nparams, const char *const *params)
{
    return db_query(d, NULL, eb, NULL, sql, nparams, params);
}

sl_err db_query_value(db *d, arena *a, sl_errbuf *eb, char **value, const char *sql,
                      int nparams, const char *const *params)
{
    PGresult *r;
    *value = NULL;
    sl_err err = db_query(d, NULL, eb, &r, sql, nparams, params);
    if (err != SL_OK)
        return err;
    if (PQntuples(r) < 1 || PQnfields(r) < 1) {
        PQclear(r);
        return sl_fail(eb, SL_ENOTFOUND, "no rows");
    }
    if (!PQgetisnull(r, 0, 0))
        *value = arena_memdup(a, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    PQclear(r);
    return SL_OK;
}

/* Run a trusted multi-statement script through the simple protocol. An
 * error message carries the line the failing statement starts on. */
sl_err db_exec_script(db *d, sl_errbuf *eb, const char *sql)
{
    sl_err err = prepare(d, eb, sql);
    if (err != SL_OK)
        return err;
    int was_in_tx = d->in_tx;
    PGresult *r = PQexec(d->conn, sql);
    err = check_result(d, eb, r, PGRES_COMMAND_OK, was_in_tx);
    const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (err == SL_EDB && pos && eb) {
        long p = strtol(pos, NULL, 10); /* 1-based, in characters */
        long line = 1;
        long chars = 0;
        for (const unsigned char *s = (const unsigned char *)sql; *s && chars < p - 1; s++) {
            if ((*s & 0xC0) != 0x80)
                chars++;
            if (*s == '\n')
                line++;
        }
        char msg[SL_ERRBUF_SIZE];
        snprintf(msg, sizeof msg, "line %ld: %.480s", line, eb->msg);
        sl_fail(eb, SL_EDB, "%s", msg);
    }
    PQclear(r);
    return err;
}

/* ---- transactions -------------------------------------------------------- */

sl_err db_begin(db *d, sl_errbuf *eb)
{
    d->tx_lost = 0; /* whatever was lost before is acknowledged by starting anew */
    sl_err err = db_ensure(d, eb);
    if (err != SL_OK)
        return err;
    if (PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        return sl_fail(eb, SL_EINVAL, "a transaction is already open");
    return db_exec(d, eb, "BEGIN", 0, NULL);
}

sl_err db_commit(db *d, sl_errbuf *eb)
{
    if (d->tx_lost) {
        d->tx_lost = 0;
        return sl_fail(eb, SL_EDBDOWN,
                       "database connection was lost inside the transaction; not committed");
    }
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
        d->in_tx = 0;
        return sl_fail(eb, SL_EDBDOWN, "database connection lost; transaction not committed");
    }
    if (PQtransactionStatus(d->conn) == PQTRANS_IDLE)
        return sl_fail(eb, SL_EINVAL, "no transaction is open");
    d->sqlstate[0] = '\0';
    int was_in_tx = d->in_tx;
    PGresult *r = PQexecParams(d->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    sl_err err = check_result(d, eb, r, PGRES_COMMAND_OK, was_in_tx);
    /* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK. */
    if (err == SL_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        snprintf(d->sqlstate, sizeof d->sqlstate, "25P02");
        err = sl_fail(eb, SL_EDB, "transaction was rolled back after an error");
    }
    PQclear(r);
    if (err == SL_EDBDOWN)
        d->tx_lost = 0; /* reported here; the transaction is over either way */
    return err;
}

void db_rollback(db *d)
{
    d->tx_lost = 0;
    d->in_tx = 0;
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK)
        return;
    if (d->copy_in) {
        PQputCopyEnd(d->conn, "rolled back");
        drain(d, NULL);
        d->copy_in = 0;
    }
    if (PQtransactionStatus(d->conn) == PQTRANS_IDLE)
        return;
    PGresult *r = PQexecParams(d->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
    PQclear(r);
    note_tx(d);
}

/* ---- COPY ---------------------------------------------------------------- */

sl_err db_copy_in_begin(db *d, sl_errbuf *eb, const char *copy_sql)
{
    sl_err err = prepare(d, eb, copy_sql);
    if (err != SL_OK)
        return err;
    int was_in_tx = d->in_tx;
    PGresult *r = PQexecParams(d->conn, copy_sql, 0, NULL, NULL, NULL, NULL, 0);
    if (r && PQresultStatus(r) == PGRES_COPY_IN) {
        PQclear(r);
        d->copy_in = 1;
        return SL_OK;
    }
    if (r && PQresultStatus(r) == PGRES_COPY_OUT) {
        drain(d, r);
        PQclear(r);
        return sl_fail(eb, SL_EINVAL, "not a COPY FROM STDIN statement");
    }
    err = check_result(d, eb, r, PGRES_COPY_IN, was_in_tx);
    PQclear(r);
    return err != SL_OK ? err : sl_fail(eb, SL_EINVAL, "not a COPY FROM STDIN statement");
}

static sl_err copy_conn_error(db *d, sl_errbuf *eb)
{
    int down = PQstatus(d->conn) != CONNECTION_OK;
    if (down) {
        d->copy_in = 0;
        if (d->in_tx) {
            d->in_tx = 0;
            d->tx_lost = 1;
        }
    }
    return fail_pq(d, eb, down ? SL_EDBDOWN : SL_EDB, down ? "database unavailable: " : "COPY: ",
                   PQerrorMessage(d->conn));
}

sl_err db_copy_in_put(db *d, sl_errbuf *eb, const void *data, size_t len)
{
    if (!d->copy_in || !d->conn)
        return sl_fail(eb, SL_EINVAL, "no COPY FROM STDIN in progress");
    const char *p = data;
    while (len > 0) {
        int n = len > COPY_CHUNK_MAX ? COPY_CHUNK_MAX : (int)len;
        if (PQputCopyData(d->conn, p, n) != 1)
            return copy_conn_error(d, eb);
        p += n;
        len -= (size_t)n;
    }
    return SL_OK;
}

sl_err db_copy_in_end(db *d, sl_errbuf *eb, const char *errmsg)
{
    if (!d->copy_in || !d->conn)
        return sl_fail(eb, SL_EINVAL, "no COPY FROM STDIN in progress");
    int was_in_tx = d->in_tx;
    if (PQputCopyEnd(d->conn, errmsg) != 1) {
        sl_err err = copy_conn_error(d, eb);
        d->copy_in = 0;
        return err;
    }
    d->copy_in = 0;
    PGresult *r = PQgetResult(d->conn);
    sl_err err;
    if (errmsg) {
        /* The server answers an abort with an error: that is the success. */
        err = SL_OK;
        if (PQstatus(d->conn) != CONNECTION_OK)
            err = check_result(d, eb, r, PGRES_COMMAND_OK, was_in_tx);
        else
            note_tx(d);
    } else {
        err = check_result(d, eb, r, PGRES_COMMAND_OK, was_in_tx);
    }
    PQclear(r);
    if (PQstatus(d->conn) == CONNECTION_OK) {
        drain(d, NULL);
        note_tx(d);
    }
    return err;
}

/* Ask the server to stop the statement in progress (best effort). */
static void cancel_query(db *d)
{
    PGcancel *c = PQgetCancel(d->conn);
    if (c) {
        char buf[256];
        PQcancel(c, buf, (int)sizeof buf);
        PQfreeCancel(c);
    }
}

sl_err db_copy_out(db *d, sl_errbuf *eb, const char *copy_sql, db_copy_cb cb, void *arg)
{
    sl_err err = prepare(d, eb, copy_sql);
    if (err != SL_OK)
        return err;
    int was_in_tx = d->in_tx;
    PGresult *r = PQexecParams(d->conn, copy_sql, 0, NULL, NULL, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != PGRES_COPY_OUT) {
        if (r && PQresultStatus(r) == PGRES_COPY_IN) {
            drain(d, r);
            PQclear(r);
            return sl_fail(eb, SL_EINVAL, "not a COPY TO STDOUT statement");
        }
        err = check_result(d, eb, r, PGRES_COPY_OUT, was_in_tx);
        PQclear(r);
        return err != SL_OK ? err : sl_fail(eb, SL_EINVAL, "not a COPY TO STDOUT statement");
    }
    PQclear(r);
    int stopped = 0;
    long long rows = 0;
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(d->conn, &buf, 0);
        if (n > 0) {
            if (!stopped && cb(buf, (size_t)n, arg) != 0) {
                stopped = 1;
                cancel_query(d);
            }
            rows++;
            PQfreemem(buf);
            continue;
        }
        if (n == -2)
            err = copy_conn_error(d, eb);
        break;
    }
    if (PQstatus(d->conn) == CONNECTION_OK) {
        r = PQgetResult(d->conn);
        if (!stopped && err == SL_OK)
            err = check_result(d, eb, r, PGRES_COMMAND_OK, was_in_tx);
        PQclear(r);
        drain(d, NULL);
        note_tx(d);
    } else if (err == SL_OK) {
        err = copy_conn_error(d, eb);
    }
    if (stopped && err == SL_OK)
        err = sl_fail(eb, SL_EINVAL, "COPY stopped by the callback");
    if (err == SL_OK)
        d->changes = rows;
    return err;
}

/* ---- quoting ------------------------------------------------------------- */

/* Double every quote character q in s, wrapped in q; prefix before. */
static char *quote_with(arena *a, const char *s, char q, const char *prefix, int bs)
{
    size_t len = strlen(s), plen = strlen(prefix);
    size_t extra = 0;
    for (const char *p = s; *p; p++)
        if (*p == q || (bs && *p == '\\'))
            extra++;
    char *out = arena_alloc(a, plen + len + extra + 3);
    char *o = out;
    memcpy(o, prefix, plen);
    o += plen;
    *o++ = q;
    for (const char *p = s; *p; p++) {
        if (*p == q || (bs && *p == '\\'))
            *o++ = *p;
        *o++ = *p;
    }
    *o++ = q;
    *o = '\0';
    return out;
}

char *db_quote_ident(arena *a, const char *ident)
{
    if (!ident)
        return NULL;
    return quote_with(a, ident, '"', "", 0);
}

char *db_quote_literal(arena *a, const char *lit)
{
    if (!lit)
        return NULL;
    /* As PQescapeLiteral: backslashes make it an E'' string, which reads
     * the same whatever standard_conforming_strings says. */
    if (strchr(lit, '\\'))
        return quote_with(a, lit, '\'', " E", 1);
    return quote_with(a, lit, '\'', "", 0);
}

char *db_quote_ident_n(arena *a, const char *ident, size_t len)
{
    if (!ident || memchr(ident, '\0', len))
        return NULL;
    return db_quote_ident(a, arena_memdup(a, ident, len));
}
