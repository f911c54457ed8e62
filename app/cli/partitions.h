/* partitions.h - the tick's partition maintenance job (partitions.c; the
 * command itself is cmd_partitions in cli.h). */
#ifndef SL_PARTITIONS_H
#define SL_PARTITIONS_H

#include "db.h"

/* Partition maintenance that is due at `at` (a timestamptz literal; NULL:
 * the server's now()), as the tick's housekeeping job "partitions": one
 * plan query when nothing is due; what was done logged. Never fails; d is
 * left outside a transaction. */
void partitions_job(db *d, const char *at);

#endif
