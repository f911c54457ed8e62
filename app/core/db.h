/* db.h - libpq wrapper: connections that reconnect, parameterised queries
 * whose results live in an arena, transactions, COPY helpers, identifier
 * quoting.
 *
 * A db handle is owned by the caller (db_close). Results returned by
 * db_query are registered on the given arena and cleared with it, so a
 * handler's early return leaks nothing. Every function that can fail
 * returns an sl_err and fills eb: SL_EDBDOWN when the server cannot be
 * reached (the caller may answer 503 and try again later; the next call
 * reconnects by itself), SL_EDB for an error the server reported (eb->msg
 * holds the server's message, and db_sqlstate() its SQLSTATE). */
#ifndef SL_DB_H
#define SL_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

typedef struct db db;

/* Connect with a libpq conninfo or URL. On failure returns NULL and fills
 * eb (SL_EDBDOWN). connect_timeout in seconds (0: libpq default). The
 * connection gets application_name=sluice, TCP keepalives and a UTF-8
 * client encoding; settings in the conninfo win, except the encoding. */
db *db_open(const char *conninfo, int connect_timeout, sl_errbuf *eb);
/* A handle that is not yet connected: the first use connects. Never NULL. */
db *db_open_lazy(const char *conninfo, int connect_timeout);
void db_close(db *d);
/* Wrap a connection opened elsewhere (a connector's); the handle owns it
 * from now on (db_close finishes it). Such a handle never reconnects: once
 * its connection breaks, every call fails with SL_EDBDOWN. Never NULL. */
db *db_adopt(PGconn *conn);

/* Make sure the connection is usable, reconnecting when it is not.
 * SL_OK or SL_EDBDOWN. Cheap when the connection is fine. */
sl_err db_ensure(db *d, sl_errbuf *eb);
/* The raw connection (NULL when not connected). */
PGconn *db_conn(db *d);
/* SQLSTATE of the last server error ("" when none). */
const char *db_sqlstate(const db *d);
/* Number of reconnects made so far (for metrics/tests). */
unsigned long db_reconnects(const db *d);
/* Rows affected by the last successful command (INSERT/UPDATE/DELETE,
 * SELECT row count, rows copied by a COPY); 0 after a failure. */
long long db_changes(const db *d);

/* Run sql with text parameters $1..$n (NULL entries are SQL NULL).
 * On success *out (if out is not NULL) receives a result that lives in a
 * (freed at arena reset). Commands and queries both go through here.
 * With a == NULL and out != NULL the caller owns *out (PQclear). One
 * statement per call (extended protocol); COPY is refused (SL_EINVAL).
 * A transaction open when the connection broke is lost with it: until
 * db_rollback() (or db_begin / db_commit, which report it) statements fail
 * with SL_EDBDOWN instead of running outside the transaction. Calling
 * db_rollback() at the start of each unit of work is cheap and resets this. */
sl_err db_query(db *d, arena *a, sl_errbuf *eb, PGresult **out, const char *sql, int nparams,
                const char *const *params);

/* db_query without a result. */
sl_err db_exec(db *d, sl_errbuf *eb, const char *sql, int nparams, const char *const *params);
/* Convenience: first column of first row as an arena string, NULL for SQL
 * NULL; SL_ENOTFOUND when there are no rows. */
sl_err db_query_value(db *d, arena *a, sl_errbuf *eb, char **value, const char *sql,
                      int nparams, const char *const *params);

/* Run a trusted, multi-statement SQL script (our own migration files) with
 * the simple protocol. Never for text that contains input: no parameters.
 * SL_EDB messages start with "line N:" when the server gave a position. */
sl_err db_exec_script(db *d, sl_errbuf *eb, const char *sql);

/* db_begin refuses (SL_EINVAL) when a transaction is already open.
 * db_commit fails with SL_EDB (sqlstate 25P02) when the transaction had
 * failed and was rolled back, SL_EDBDOWN when the connection was lost. */
sl_err db_begin(db *d, sl_errbuf *eb);
sl_err db_commit(db *d, sl_errbuf *eb);
/* Never fails visibly; safe to call outside a transaction. */
void db_rollback(db *d);

/* COPY ... FROM STDIN: start, send data (any chunking), finish. db_copy_end
 * with errmsg != NULL aborts the COPY (SL_OK once aborted; inside a
 * transaction, the transaction is then failed). Between begin and end no
 * other statement may run on the handle. db_changes() gives rows copied. */
sl_err db_copy_in_begin(db *d, sl_errbuf *eb, const char *copy_sql);
sl_err db_copy_in_put(db *d, sl_errbuf *eb, const void *data, size_t len);
sl_err db_copy_in_end(db *d, sl_errbuf *eb, const char *errmsg);

/* COPY ... TO STDOUT: calls cb(data, len, arg) for each row buffer until the
 * end; a non-zero return from cb stops the copy with SL_EINVAL. */
typedef int (*db_copy_cb)(const char *data, size_t len, void *arg);
sl_err db_copy_out(db *d, sl_errbuf *eb, const char *copy_sql, db_copy_cb cb, void *arg);

/* Quote an identifier / literal for SQL text, into the arena. */
char *db_quote_ident(arena *a, const char *ident);
char *db_quote_literal(arena *a, const char *lit);
/* Quote the first len bytes of ident; NULL when they contain a NUL byte.
 * Quoting is done here (no connection needed): identifiers in double quotes
 * with inner quotes doubled; literals in single quotes with inner quotes
 * doubled, as a " E'...'" string with doubled backslashes when they contain
 * a backslash (the same text PQescapeLiteral makes for a UTF-8 client).
 * Both return NULL for a NULL input. */
char *db_quote_ident_n(arena *a, const char *ident, size_t len);

#endif
