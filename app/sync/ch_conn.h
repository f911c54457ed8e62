/* ch_conn.h - what ch_conn.c offers besides the connector table: requests
 * on an open ClickHouse connection, for the destination (ch_dest.c). */
#ifndef SL_CH_CONN_H
#define SL_CH_CONN_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

/* POST query (in the URL) with body (len bytes; NULL for none: the query
 * itself is the body) on conn, an open clickhouse_connector connection;
 * the answer goes to answer (may be NULL). Errors as the connector
 * translates them (SL_EDBDOWN, SL_EAUTH, SL_EDB with ClickHouse's first
 * line). Nothing is retried. */
sl_err ch_conn_post(void *conn, const char *query, const char *body, size_t len,
                    sbuf *answer, sl_errbuf *eb);

/* The server's version text as it said at connect ("18.16.1"). */
const char *ch_conn_version(void *conn);

#endif
