/* triggers.c - the event consumer behind pipeline_success and
 * landing_zone_upload triggers, and the `sluice triggers` command.
 *
 * The consumer reads sluice_events.events after its offset (consumer
 * 'triggers' in sluice_events.consumer_offsets) in id order. For each
 * run.succeeded event it fires the enabled pipeline_success triggers whose
 * upstream_pipeline_id is the event's pipeline (runs with trigger
 * 'dependency'); for each landing.file_uploaded event, the enabled
 * landing_zone_upload triggers of that zone (by zone_id, or zone_name
 * ignoring case, as zone names are unique; trigger 'landing'). A trigger
 * made after an event is not fired by it. Cooldowns are trigger_fire()'s:
 * a burst within cooldown_seconds fires once and the rest are counted as
 * suppressed.
 *
 * Exactly once: the offset row is locked (FOR UPDATE SKIP LOCKED: one
 * consumer at a time, others see "busy"), the batch's runs are queued and
 * the offset moves, all in one transaction. A crash anywhere before the
 * commit leaves neither runs nor offset; after it, both.
 *
 * Late commits: event ids are snowflakes taken when the row is inserted, so
 * a transaction that inserted an event and commits after a later event was
 * committed would be passed over by a plain "id > offset". The consumer
 * therefore reads only ids below the start of the oldest open transaction
 * that may have written (pg_stat_activity: client backends of this
 * database with an xid or a snapshot), which an event of that transaction
 * cannot precede. This assumes the writers of events connect as the same
 * role as sluice (or that sluice may read all statistics): other roles'
 * sessions are invisible in pg_stat_activity. */
#include "triggers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli.h"
#include "jsonx.h"
#include "log.h"
#include "settings.h"
#include "sync/trigger.h"

#define EVENT_TYPES "('run.succeeded', 'landing.file_uploaded')"

/* The first id that may still be in flight (below it, every event is
 * committed and visible), and the pid and age (s) of the oldest open
 * transaction that sets it (NULL when none). */
#define HORIZON_SQL                                                                          \
    "SELECT sluice.partition_id_for_ts(least(now(), o.xact_start)), o.pid,"                  \
    " extract(epoch FROM now() - o.xact_start)::bigint"                                      \
    " FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT a.pid, a.xact_start"                     \
    " FROM pg_stat_activity a WHERE a.datname = current_database()"                          \
    " AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'"                   \
    " AND (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)"                         \
    " AND a.xact_start IS NOT NULL ORDER BY a.xact_start LIMIT 1) o ON true"

/* Up to TRIGGERS_BATCH relevant events after $1 below $2: how many, the
 * last id. */
#define BATCH_SQL                                                                            \
    "SELECT count(*), max(id) FROM (SELECT id FROM sluice_events.events"                     \
    " WHERE id > $1::bigint AND id < $2::bigint AND type IN " EVENT_TYPES                    \
    " ORDER BY id LIMIT $3::int) b"

/* Every (event, trigger) pair of the batch ($1, $2], in event order. */
#define MATCH_SQL                                                                            \
    "SELECT e.id, e.type, t.id, coalesce(e.data ->> 'run_id', ''),"                          \
    " coalesce(e.data ->> 'file_id', '')"                                                    \
    " FROM sluice_events.events e JOIN sluice.pipeline_triggers t"                           \
    " ON t.enabled AND t.created_at <= e.at AND ("                                           \
    " (e.type = 'run.succeeded' AND t.type = 'pipeline_success'"                             \
    " AND t.config ->> 'upstream_pipeline_id' = e.data ->> 'pipeline_id')"                   \
    " OR (e.type = 'landing.file_uploaded' AND t.type = 'landing_zone_upload'"               \
    " AND (t.config ->> 'zone_id' = e.data ->> 'zone_id'"                                    \
    " OR lower(t.config ->> 'zone_name') = lower(e.data ->> 'zone_name'))))"                 \
    " WHERE e.id > $1::bigint AND e.id <= $2::bigint AND e.type IN " EVENT_TYPES             \
    " ORDER BY e.id, t.id"

/* Lock the consumer's row. 1 with *offset set, 0 when another process
 * holds it, -1 on failure. Makes the row on first use. */
static int lock_offset(db *d, arena *a, long long *offset, sl_errbuf *eb)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res;
        if (db_query(d, a, eb, &res,
                     "SELECT last_event_id FROM sluice_events.consumer_offsets"
                     " WHERE consumer = $1 FOR UPDATE SKIP LOCKED",
                     1, (const char *[]){TRIGGERS_CONSUMER}))
            return -1;
        if (PQntuples(res) == 1) {
            *offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            return 1;
        }
        if (attempt == 0 &&
            db_query(d, a, eb, &res,
                     "INSERT INTO sluice_events.consumer_offsets (consumer) VALUES ($1)"
                     " ON CONFLICT (consumer) DO NOTHING RETURNING 1",
                     1, (const char *[]){TRIGGERS_CONSUMER}))
            return -1;
        if (attempt == 0 && PQntuples(res) == 0)
            return 0; /* it exists: someone holds it */
    }
    return 0;
}

/* Fire row i of a MATCH_SQL result. */
static sl_err fire_match(db *d, PGresult *res, int i, triggers_stats *st, sl_errbuf *eb)
{
    const char *event = PQgetvalue(res, i, 0), *type = PQgetvalue(res, i, 1);
    const char *tid = PQgetvalue(res, i, 2);
    int upstream = strcmp(type, "run.succeeded") == 0;
    json_t *opts = json_pack("{s:s, s:s}", "event_id", event, "event_type", type);
    const char *ref = PQgetvalue(res, i, upstream ? 3 : 4);
    if (*ref)
        json_object_set_new(opts, upstream ? "upstream_run_id" : "file_id", json_string(ref));
    trigger_result tr;
    sl_err e = trigger_fire(d, tid, upstream ? "dependency" : "landing", opts, &tr, eb);
    json_decref(opts);
    if (e)
        return e;
    switch (tr.outcome) {
    case TRIGGER_FIRED:
        st->fired++;
        log_info("triggers: trigger %s (%s) queued run %lld of pipeline %s for event %s", tid,
                 tr.type, (long long)tr.run_id, tr.pipeline_id, event);
        break;
    case TRIGGER_SUPPRESSED:
        st->suppressed++;
        log_info("triggers: trigger %s suppressed for event %s: cooldown, %lld s left", tid,
                 event, tr.retry_after);
        break;
    case TRIGGER_PAUSED:
        st->paused++;
        log_info("triggers: trigger %s not fired for event %s: pipeline %s is paused", tid,
                 event, tr.pipeline_id);
        break;
    case TRIGGER_GONE:
        break;
    }
    return SL_OK;
}

/* One batch in one transaction. *more: a full batch was read (there may be
 * more). 0 busy (nothing done), 1 done, -1 failed (rolled back). */
static int one_batch(db *d, arena *a, triggers_stats *st, int *more, sl_errbuf *eb)
{
    *more = 0;
    long long off = 0;
    db_rollback(d);
    if (db_begin(d, eb))
        return -1;
    int got = lock_offset(d, a, &off, eb);
    if (got <= 0) {
        db_rollback(d);
        return got;
    }
    const char *horizon = NULL;
    char *offs = arena_printf(a, "%lld", off), *hi = offs;
    PGresult *res;
    sl_err e = db_query(d, a, eb, &res, HORIZON_SQL, 0, NULL);
    if (!e) {
        horizon = PQgetvalue(res, 0, 0);
        st->oldest_pid = PQgetisnull(res, 0, 1) ? 0 : strtol(PQgetvalue(res, 0, 1), NULL, 10);
        st->oldest_age = PQgetisnull(res, 0, 2) ? 0 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    }
    if (!e)
        e = db_query(d, a, eb, &res, BATCH_SQL, 3,
                     (const char *[]){offs, horizon, arena_printf(a, "%d", TRIGGERS_BATCH)});
    if (!e) {
        long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        st->events += n;
        if (n >= TRIGGERS_BATCH) {
            hi = arena_strdup(a, PQgetvalue(res, 0, 1));
            *more = 1;
        } else {
            /* Everything below the horizon has been seen: move past it all,
             * other event types included. */
            e = db_query_value(d, a, eb, &hi,
                               "SELECT coalesce(max(id), $1::bigint) FROM sluice_events.events"
                               " WHERE id > $1::bigint AND id < $2::bigint",
                               2, (const char *[]){offs, horizon});
        }
    }
    if (!e)
        e = db_query(d, a, eb, &res, MATCH_SQL, 2, (const char *[]){offs, hi});
    for (int i = 0; !e && i < PQntuples(res); i++)
        e = fire_match(d, res, i, st, eb);
    if (!e)
        e = db_exec(d, eb,
                    "UPDATE sluice_events.consumer_offsets SET last_event_id = $2::bigint,"
                    " updated_at = now() WHERE consumer = $1",
                    2, (const char *[]){TRIGGERS_CONSUMER, hi});
    if (!e && !*more) {
        PGresult *held;
        e = db_query(d, a, eb, &held,
                     "SELECT count(*) FROM sluice_events.events WHERE id > $1::bigint",
                     1, (const char *[]){hi});
        if (!e)
            st->held_back = strtoll(PQgetvalue(held, 0, 0), NULL, 10);
    }
    if (!e)
        e = db_commit(d, eb);
    if (e) {
        db_rollback(d);
        return -1;
    }
    st->offset = strtoll(hi, NULL, 10);
    st->batches++;
    return 1;
}

sl_err triggers_process(db *d, int max_batches, triggers_stats *st, sl_errbuf *eb)
{
    memset(st, 0, sizeof *st);
    arena *a = arena_new(0);
    sl_err e = SL_OK;
    for (int b = 0; b < max_batches; b++) {
        int more = 0;
        int got = one_batch(d, a, st, &more, eb);
        arena_reset(a);
        if (got < 0) {
            e = eb && eb->code ? eb->code : SL_EDB;
            break;
        }
        if (got == 0) {
            st->busy = b == 0;
            break;
        }
        if (!more)
            break;
    }
    if (!e && !st->busy)
        db_exec(d, NULL,
                "DELETE FROM sluice.webhook_receipts"
                " WHERE received_at < now() - interval '" TRIGGERS_RECEIPT_KEEP "'",
                0, NULL);
    arena_free(a);
    return e;
}

void triggers_tick(db *d)
{
    triggers_stats st;
    sl_errbuf eb = {0};
    if (!settings_feature(d, "pipeline_triggers")) {
        log_debug("triggers: turned off (features.pipeline_triggers)");
        return;
    }
    if (triggers_process(d, TRIGGERS_TICK_BATCHES, &st, &eb) != SL_OK) {
        log_error("triggers: could not read the event stream: %s", eb.msg);
        return;
    }
    if (st.held_back > 0 && st.oldest_age >= TRIGGERS_STALL_WARN)
        log_warn("triggers: %lld newer event(s) wait for the transaction of pid %ld, open for"
                 " %lld s (an event it wrote would come before them)",
                 st.held_back, st.oldest_pid, st.oldest_age);
    if (st.busy)
        log_debug("triggers: another process is firing triggers");
    else if (st.fired || st.suppressed || st.paused)
        log_info("triggers: %lld event(s): %d run(s) queued, %d suppressed by cooldowns,"
                 " %d for paused pipelines",
                 st.events, st.fired, st.suppressed, st.paused);
}

/* --- the command -------------------------------------------------------------------- */

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sluice triggers\n\n"
            "Fires event triggers now, as each `sluice tick` pass does: reads the event\n"
            "stream after the 'triggers' consumer offset; each run.succeeded event\n"
            "queues the pipelines whose pipeline_success trigger watches that\n"
            "pipeline (trigger 'dependency'), each landing.file_uploaded event those\n"
            "with a landing_zone_upload trigger on that zone (trigger 'landing'),\n"
            "unless a trigger fired less than its cooldown_seconds ago. Prints what it\n"
            "did. Safe beside running ticks: one process consumes at a time, and each\n"
            "event fires its triggers once. Nothing happens while the pipeline_triggers\n"
            "feature is off (events wait for it to come back on).\n\n"
            "  --help   this text\n");
    return out == stdout ? 0 : 2;
}

int cmd_triggers(int argc, char **argv, const sl_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout);
        fprintf(stderr, "sluice triggers: unexpected argument '%s'\n", argv[i]);
        return usage(stderr);
    }
    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        fprintf(stderr, "sluice triggers: control database unavailable: %s\n", eb.msg);
        return 1;
    }
    if (!settings_feature(d, "pipeline_triggers")) {
        db_close(d);
        printf("triggers: turned off (the pipeline_triggers feature); nothing done\n");
        return 0;
    }
    triggers_stats st;
    sl_err e = triggers_process(d, 1000000, &st, &eb);
    db_close(d);
    if (e) {
        fprintf(stderr, "sluice triggers: %s\n", eb.msg);
        return 1;
    }
    if (st.busy) {
        printf("triggers: another process is firing triggers now; nothing done\n");
        return 0;
    }
    printf("triggers: %lld event(s), %d run(s) queued, %d suppressed by cooldowns,"
           " %d for paused pipelines; offset %lld, %lld newer event(s) held back",
           st.events, st.fired, st.suppressed, st.paused, st.offset, st.held_back);
    if (st.held_back > 0 && st.oldest_pid)
        printf(" (waiting for the transaction of pid %ld, open %lld s)", st.oldest_pid,
               st.oldest_age);
    printf("\n");
    return 0;
}
