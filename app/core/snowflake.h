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
 * sequence of the current one runs out). */
int64_t sf_next(int shard);
/* Unix milliseconds of an id. */
int64_t sf_unix_ms(int64_t id);
/* Smallest id at or after a Unix-ms time: the lower bound of a partition. */
int64_t sf_floor_for_ms(int64_t unix_ms);

#endif
