/* trigger.c - firing one pipeline trigger inside the caller's transaction:
 * the cooldown check on the locked trigger row, run_queue(), and the
 * trigger's counters (see trigger.h). */
#include "trigger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jsonx.h"
#include "run.h"
#include "uuid.h"

const char *trigger_outcome_name(trigger_outcome o)
{
    switch (o) {
    case TRIGGER_FIRED: return "fired";
    case TRIGGER_SUPPRESSED: return "suppressed";
    case TRIGGER_PAUSED: return "paused";
    case TRIGGER_GONE: return "gone";
    }
    return "unknown";
}

/* Columns: pipeline id, type, enabled, pipeline status, pipeline deleted,
 * cooling (within the cooldown), seconds left of it. */
#define LOCK_SQL                                                                             \
    "SELECT t.pipeline_id, t.type, t.enabled, p.status, p.deleted_at IS NOT NULL,"           \
    " t.last_fired_at IS NOT NULL"                                                           \
    " AND t.last_fired_at > now() - make_interval(secs => t.cooldown_seconds),"              \
    " greatest(1, ceil(extract(epoch FROM t.last_fired_at"                                   \
    " + make_interval(secs => t.cooldown_seconds) - now())))::bigint"                        \
    " FROM sluice.pipeline_triggers t JOIN sluice.pipelines p ON p.id = t.pipeline_id"       \
    " WHERE t.id = $1::uuid FOR UPDATE OF t"

static sl_err suppressed(db *d, const char *id, sl_errbuf *eb)
{
    return db_exec(d, eb,
                   "UPDATE sluice.pipeline_triggers SET suppressed_count = suppressed_count + 1,"
                   " last_suppressed_at = now() WHERE id = $1::uuid",
                   1, (const char *[]){id});
}

static sl_err fired(db *d, arena *a, const char *id, int64_t run_id, sl_errbuf *eb)
{
    return db_exec(d, eb,
                   "UPDATE sluice.pipeline_triggers SET last_fired_at = now(),"
                   " fire_count = fire_count + 1, last_run_id = $2::bigint WHERE id = $1::uuid",
                   2, (const char *[]){id, arena_printf(a, "%lld", (long long)run_id)});
}

sl_err trigger_fire(db *d, const char *id, const char *run_trigger, const json_t *options,
                    trigger_result *out, sl_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    out->outcome = TRIGGER_GONE;
    if (!id || !uuid_valid(id))
        return SL_OK;
    arena *a = arena_new(0);
    PGresult *res;
    sl_err e = db_query(d, a, eb, &res, LOCK_SQL, 1, (const char *[]){id});
    if (e || PQntuples(res) != 1)
        goto out;
    snprintf(out->pipeline_id, sizeof out->pipeline_id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->type, sizeof out->type, "%s", PQgetvalue(res, 0, 1));
    if (strcmp(PQgetvalue(res, 0, 2), "t") != 0 || strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
        out->pipeline_id[0] = out->type[0] = '\0';
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 3), "active") != 0) {
        out->outcome = TRIGGER_PAUSED;
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
        out->outcome = TRIGGER_SUPPRESSED;
        out->retry_after = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
        e = suppressed(d, id, eb);
        goto out;
    }
    json_t *opts = json_is_object(options) ? json_deep_copy(options) : json_object();
    json_object_set_new(opts, "trigger_id", json_string(id));
    e = run_queue(d, out->pipeline_id, run_trigger, opts, NULL, NULL, &out->run_id, eb);
    json_decref(opts);
    if (e == SL_ENOTFOUND) { /* deleted since the lock: nothing to fire into */
        out->outcome = TRIGGER_GONE;
        e = SL_OK;
        goto out;
    }
    if (!e) {
        out->outcome = TRIGGER_FIRED;
        e = fired(d, a, id, out->run_id, eb);
    }
out:
    arena_free(a);
    return e;
}
