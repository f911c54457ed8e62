/* connector.h - one interface for every database sluice talks to.
 *
 * A connector is a table of functions for one database type, found by name
 * with connector_for(). Connections are opaque. Everything a connector
 * returns lives in the arena it is given. Errors are translated here, at
 * the boundary, into sl_err plus a message a person can act on ("password
 * authentication failed for user \"x\"", "connection refused: is the server
 * running on db.example:5432?"), never containing the password. */
#ifndef SL_CONNECTOR_H
#define SL_CONNECTOR_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

/* How to reach a database; password is already decrypted. */
typedef struct {
    const char *type;      /* "postgresql", "mysql", "mariadb", "clickhouse" */
    const char *host;
    int port;              /* 0: the type's default */
    const char *database;
    const char *user;
    const char *password;  /* may be NULL or "" */
    const char *ssl_mode;  /* disable | prefer | require | verify-ca | verify-full */
    int connect_timeout;   /* seconds; 0: 10 */
} conn_params;

typedef struct {
    const char *name;
    const char *type;      /* the source's own type text, e.g. "numeric(12,2)" */
    int nullable;
    int pk_position;       /* 1-based position in the primary key, 0 if not in it */
} conn_column;

typedef struct {
    const char *schema;    /* PostgreSQL schema, or the MySQL database */
    const char *name;
    long long est_rows;    /* planner estimate; -1 when unknown */
    int ncols;
    conn_column *cols;
    int has_pk;
    const char *watermark; /* the column sluice would pick, or NULL: full refresh */
} conn_table;

struct connector {
    const char *type;
    int default_port;
    int can_source;        /* may be a pipeline's source */
    int can_destination;   /* may be a pipeline's destination */
    /* Connect; SL_EDBDOWN (cannot reach), SL_EAUTH (credentials refused),
     * SL_ENOTFOUND (no such database), SL_ETIMEOUT, with a message. */
    sl_err (*open)(const conn_params *p, void **conn, sl_errbuf *eb);
    void (*close)(void *conn);
    /* Server version text, for test-connection results. */
    sl_err (*version)(void *conn, arena *a, char **out, sl_errbuf *eb);
    /* Tables with their columns, primary keys and row estimates, in the
     * given schemas (NULL/0: the default schemas, all non-system ones for
     * PostgreSQL, the connection's database for MySQL), ordered by schema
     * and name. */
    sl_err (*list_tables)(void *conn, arena *a, const char *const *schemas, int nschemas,
                          conn_table **out, int *n, sl_errbuf *eb);
};

/* The connector for a type name, or NULL for an unknown or unsupported one
 * (connector_unsupported_reason() then says why, e.g. mongodb; it returns
 * NULL for a supported type, and its text is valid until the next call in
 * the same thread). */
const struct connector *connector_for(const char *type);
const char *connector_unsupported_reason(const char *type);

/* Open, ask the version, close: what "Test connection" does. On success
 * *version holds the server version (in a) and *elapsed_ms the time taken
 * (set on failure too). An unknown type is SL_EINVAL, mongodb
 * SL_EUNSUPPORTED; otherwise the connector's open/version errors. */
sl_err connector_test(const conn_params *p, arena *a, char **version, long *elapsed_ms,
                      sl_errbuf *eb);

/* Table filters: patterns are globs (`*`, `?`, `[abc]`) matched against the
 * table name, or against "schema.table" when the pattern has a dot; a
 * leading `!` makes a pattern exclude. A table is kept when there are no
 * include patterns or one matches, and no exclude pattern matches. */
int glob_match(const char *pattern, const char *s);
int table_selected(const char *const *patterns, int npatterns, const char *schema,
                   const char *table);

/* The watermark column sluice would pick for t: override if it names a
 * column, else the first of updated_at, modified_at, last_modified, updated,
 * created_at whose type is a timestamp, date or integer; NULL means full
 * refresh. The name returned is t's own spelling (names compare ignoring
 * case, an exact match first); an override naming no column gives NULL,
 * for the caller to report. */
const char *pick_watermark(const conn_table *t, const char *override);

/* Whether a column type (the source's own text, e.g. "timestamp(6) with time
 * zone", "datetime(3)", "bigint(20) unsigned") can serve as a watermark:
 * PostgreSQL timestamp/timestamptz/date/integer types, MySQL
 * datetime/timestamp/date/integer types (not tinyint(1), a boolean). */
int connector_watermark_type(const char *type);

/* ---- for the connector files ------------------------------------------- */

/* The connectors, one file each. The opaque connection of pg_connector is
 * a PGconn *, of mysql_connector and mariadb_connector a MYSQL *; the
 * ClickHouse one is private to ch_conn.c. */
extern const struct connector pg_connector;       /* pg_conn.c */
extern const struct connector mysql_connector;    /* mysql_conn.c */
extern const struct connector mariadb_connector;  /* mysql_conn.c */
extern const struct connector clickhouse_connector; /* ch_conn.c */

/* p's port, or the connector's default when it is 0. */
int connector_port(const conn_params *p, const struct connector *c);
/* p's connect timeout in seconds, or 10 when it is 0 or negative. */
int connector_timeout(const conn_params *p);

/* Check p before connecting: one host name or IP address (no control
 * characters, no Unix-socket path, no host list), a port in
 * range, user and database names without control characters, a password
 * without line breaks, a known ssl_mode. SL_EINVAL with a message. */
sl_err connector_check_params(const conn_params *p, sl_errbuf *eb);
/* p's ssl_mode, or "prefer" when it is NULL or empty. */
const char *connector_ssl_mode(const conn_params *p);

/* The messages every connector gives for the same failures, so a person
 * reads the same words whatever the database; each fills eb and returns
 * the code (SL_EDBDOWN, SL_EDBDOWN, SL_ETIMEOUT). */
sl_err connector_fail_refused(sl_errbuf *eb, const char *host, int port);
sl_err connector_fail_resolve(sl_errbuf *eb, const char *host);
sl_err connector_fail_timeout(sl_errbuf *eb, const char *host, int port, int seconds);

/* Replace every occurrence of secret (when it is at least 3 bytes) in the
 * NUL-terminated msg with "***", in place, truncating to cap. For messages
 * from client libraries that might echo a connection string. */
void connector_scrub(char *msg, size_t cap, const char *secret);

#endif
