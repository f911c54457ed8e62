/* metrics.c - shared-memory counters for the pool (see metrics.h).
 *
 * Layout: a header of pool-wide counters, then per route (plus one row for
 * requests that matched no route) a count per status slot and a latency
 * histogram. Status codes outside the known list share an "other" slot. */
#include "metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#include "arena.h"

static const int status_codes[] = {200, 201, 202, 204, 301, 302, 303, 304, 400, 401, 403, 404,
                                   405, 409, 410, 412, 413, 415, 422, 428, 429, 500, 502, 503,
                                   504};
#define NSTATUS (sizeof status_codes / sizeof status_codes[0])
#define SLOT_OTHER NSTATUS
#define NSLOTS (NSTATUS + 1)

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct route_stats {
    uint64_t by_status[NSLOTS];
    uint64_t bucket[NBUCKETS]; /* non-cumulative; rendered cumulatively */
    uint64_t count;
    uint64_t sum_us;
};

struct shared {
    uint64_t worker_restarts;
    uint64_t worker_crashes;
    uint64_t db_errors;
    int64_t workers;
    size_t nroutes;
    struct route_stats routes[]; /* nroutes + 1; the last: unmatched */
};

static struct shared *g;

void metrics_init(size_t nroutes)
{
    size_t size = sizeof(struct shared) + (nroutes + 1) * sizeof(struct route_stats);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        sl_panic("metrics: cannot map %zu bytes of shared memory", size);
    g = p;
    g->nroutes = nroutes;
}

static void add(uint64_t *p, uint64_t n)
{
    __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void metrics_request(int route, int status, double seconds)
{
    if (!g)
        return;
    struct route_stats *rs = &g->routes[route < 0 || (size_t)route >= g->nroutes
                                            ? g->nroutes
                                            : (size_t)route];
    size_t slot = SLOT_OTHER;
    for (size_t i = 0; i < NSTATUS; i++)
        if (status_codes[i] == status)
            slot = i;
    add(&rs->by_status[slot], 1);
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (seconds <= buckets[i]) {
            add(&rs->bucket[i], 1);
            break;
        }
    }
    add(&rs->count, 1);
    add(&rs->sum_us, seconds > 0 ? (uint64_t)(seconds * 1e6) : 0);
}

void metrics_worker_restart(int crashed)
{
    if (!g)
        return;
    add(&g->worker_restarts, 1);
    if (crashed)
        add(&g->worker_crashes, 1);
}

void metrics_set_workers(int n)
{
    if (g)
        __atomic_store_n(&g->workers, n, __ATOMIC_RELAXED);
}

void metrics_db_error(void)
{
    if (g)
        add(&g->db_errors, 1);
}

sl_err metrics_render(sbuf *out, const char *(*route_name)(int i))
{
    sl_err e = SL_OK;
    if (!g)
        return SL_EINTERNAL;
#define P(...)                                                                                 \
    do {                                                                                       \
        if ((e = sb_printf(out, __VA_ARGS__)) != SL_OK)                                        \
            return e;                                                                          \
    } while (0)
    P("# HELP sluice_http_requests_total HTTP requests by route and status.\n");
    P("# TYPE sluice_http_requests_total counter\n");
    for (size_t r = 0; r <= g->nroutes; r++) {
        const char *name = r == g->nroutes ? "unmatched" : route_name((int)r);
        for (size_t s = 0; s < NSLOTS; s++) {
            uint64_t v = get(&g->routes[r].by_status[s]);
            if (!v)
                continue;
            if (s == SLOT_OTHER)
                P("sluice_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", name,
                  (unsigned long long)v);
            else
                P("sluice_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", name,
                  status_codes[s], (unsigned long long)v);
        }
    }
    P("# HELP sluice_http_request_duration_seconds Request latency by route.\n");
    P("# TYPE sluice_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= g->nroutes; r++) {
        const struct route_stats *rs = &g->routes[r];
        uint64_t count = get(&rs->count);
        if (!count)
            continue;
        const char *name = r == g->nroutes ? "unmatched" : route_name((int)r);
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += get(&rs->bucket[b]);
            P("sluice_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", name,
              buckets[b], (unsigned long long)cum);
        }
        P("sluice_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", name,
          (unsigned long long)count);
        P("sluice_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
          (double)get(&rs->sum_us) / 1e6);
        P("sluice_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
          (unsigned long long)count);
    }
    P("# HELP sluice_web_worker_restarts_total Workers replaced by the master.\n");
    P("# TYPE sluice_web_worker_restarts_total counter\n");
    P("sluice_web_worker_restarts_total %llu\n", (unsigned long long)get(&g->worker_restarts));
    P("# HELP sluice_web_worker_crashes_total Workers that exited abnormally.\n");
    P("# TYPE sluice_web_worker_crashes_total counter\n");
    P("sluice_web_worker_crashes_total %llu\n", (unsigned long long)get(&g->worker_crashes));
    P("# HELP sluice_web_workers Live workers.\n");
    P("# TYPE sluice_web_workers gauge\n");
    P("sluice_web_workers %lld\n", (long long)__atomic_load_n(&g->workers, __ATOMIC_RELAXED));
    P("# HELP sluice_db_errors_total Database errors seen by workers.\n");
    P("# TYPE sluice_db_errors_total counter\n");
    P("sluice_db_errors_total %llu\n", (unsigned long long)get(&g->db_errors));
#undef P
    return e;
}
