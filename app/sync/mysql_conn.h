/* mysql_conn.h - what mysql_conn.c (the MySQL / MariaDB connector) offers
 * beyond the connector interface, for the source that reads through it
 * (my_extract.c). The connection is the MYSQL handle. */
#ifndef SL_MYSQL_CONN_H
#define SL_MYSQL_CONN_H

#include "sync/connector.h"

/* Open like the connector's open (p->type "mysql" or "mariadb"), with a
 * read timeout of read_timeout seconds (0: none) on every later read, so a
 * server that stops answering fails a query instead of hanging it. Same
 * errors as open; the caller closes *conn with mysql_close. */
sl_err mysql_conn_open_reader(const conn_params *p, int read_timeout, void **conn,
                              sl_errbuf *eb);

/* One table as discovery describes it (columns with their COLUMN_TYPE,
 * MariaDB's JSON columns named "json", primary key, TABLE_ROWS estimate,
 * the watermark it would pick) into *out, in a. SL_ENOTFOUND when schema
 * has no such base table; SL_EDB / SL_EDBDOWN from the server. */
sl_err mysql_conn_describe(void *conn, arena *a, const char *schema, const char *table,
                           conn_table **out, sl_errbuf *eb);

#endif
