/* snowflake.c - 64-bit time-ordered ids (see snowflake.h).
 *
 * sf_make() is pure arithmetic; sf_next() keeps the last millisecond and
 * sequence of this process (not thread-safe: the binaries are processes, not
 * threads). Ids from one process and shard are strictly increasing even
 * when the wall clock steps backwards: we keep using the last millisecond
 * seen. With the sign bit clear, 40 bits of milliseconds last until 2058. */
#include "snowflake.h"

#include <time.h>

#define SF_SEQ_MAX ((1 << SF_SEQ_BITS) - 1)
#define SF_SHARD_MAX ((1 << SF_SHARD_BITS) - 1)
#define SF_TIME_SHIFT (SF_SHARD_BITS + SF_SEQ_BITS)

static int64_t last_ms = -1;
static int last_seq;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sf_make(int64_t unix_ms, int shard, int seq)
{
    uint64_t t = unix_ms > SF_EPOCH_MS ? (uint64_t)(unix_ms - SF_EPOCH_MS) : 0;
    uint64_t id = (t << SF_TIME_SHIFT) | ((uint64_t)(shard & SF_SHARD_MAX) << SF_SEQ_BITS) |
                  (uint64_t)(seq & SF_SEQ_MAX);
    return (int64_t)(id & (uint64_t)INT64_MAX);
}

int64_t sf_next(int shard)
{
    int64_t ms = now_ms();
    if (ms < last_ms)
        ms = last_ms; /* the clock went backwards: stay on the last ms */
    if (ms == last_ms) {
        if (last_seq < SF_SEQ_MAX) {
            last_seq++;
            return sf_make(ms, shard, last_seq);
        }
        /* This millisecond is used up: wait for the next one, unless the
         * clock is far behind (then move on logically). */
        int64_t t;
        int spins = 0;
        while ((t = now_ms()) <= last_ms && t >= last_ms - 1 && spins++ < 1000000)
            ;
        ms = t > last_ms ? t : last_ms + 1;
    }
    last_ms = ms;
    last_seq = 0;
    return sf_make(ms, shard, 0);
}

int64_t sf_unix_ms(int64_t id)
{
    return (int64_t)((uint64_t)id >> SF_TIME_SHIFT) + SF_EPOCH_MS;
}

int64_t sf_floor_for_ms(int64_t unix_ms)
{
    return sf_make(unix_ms, 0, 0);
}
