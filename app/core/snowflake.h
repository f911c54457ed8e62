/* snowflake.h - 64-bit time-ordered ids.
 *
 * id = ((ms - SF_EPOCH_MS) << 23) | (shard << 18) | seq, epoch
 * 2024-01-01T00:00Z, shard 0..31, seq 0..262143 per millisecond. Because time
 * sits in the high bits, a time window is an id range: the SQL twins
 * sluice.snowflake_id() and sluice.partition_id_for_ts() agree with these. */
#ifndef SL_SNOWFLAKE_H
#define SL_SNOWFLAKE_H

#include <stdint.h>

#define SF_EPOCH_MS 1704067200000LL
#define SF_SHARD_BITS 5
#define SF_SEQ_BITS 18

/* Compose an id; ms is Unix milliseconds. */
int64_t sf_make(int64_t unix_ms, int shard, int seq);
/* Next id for this process (monotonic; waits for the next ms when the
 * sequence of the current one runs out). Unique within this process only:
 * two processes using the same shard in the same millisecond make equal
 * ids (each counts its own sequence from 0). So rows that several
 * processes write into one table take their ids from the database
 * (sluice.snowflake_id(), one sequence for everyone), as every table does
 * today; sf_next is for a single writer, or for writers given distinct
 * shards. */
int64_t sf_next(int shard);
/* Unix milliseconds of an id. */
int64_t sf_unix_ms(int64_t id);
/* Smallest id at or after a Unix-ms time: the lower bound of a partition. */
int64_t sf_floor_for_ms(int64_t unix_ms);

#endif
