/* trigger.h - firing one pipeline trigger: its cooldown, the run it queues
 * and its bookkeeping, all inside the caller's control-database transaction.
 *
 * Two callers: the event consumer of `sluice tick` (app/cli/triggers.c:
 * pipeline_success and landing_zone_upload triggers, from the event stream)
 * and the webhook receiver of sluice-web (app/web/hooks.c). Because the
 * queued run, the trigger's counters and whatever the caller records beside
 * them (a consumer offset, a webhook receipt) commit together, a fire is
 * never lost and never doubled by a crash between them. */
#ifndef SL_TRIGGER_H
#define SL_TRIGGER_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "err.h"

typedef enum {
    TRIGGER_FIRED = 0,   /* a run was queued */
    TRIGGER_SUPPRESSED,  /* within cooldown_seconds of the last fire: counted, nothing queued */
    TRIGGER_PAUSED,      /* its pipeline is paused: nothing queued, nothing counted */
    TRIGGER_GONE,        /* no such trigger, disabled, or its pipeline was deleted */
} trigger_outcome;

typedef struct {
    trigger_outcome outcome;
    int64_t run_id;            /* FIRED: the queued run */
    long long retry_after;     /* SUPPRESSED: seconds until the cooldown is over */
    char pipeline_id[40];      /* the trigger's pipeline ("" when GONE) */
    char type[24];             /* the trigger's type ("" when GONE) */
} trigger_result;

/* Fire trigger id. d must be inside a transaction (the row lock has to
 * last until the caller commits). Locks the
 * trigger row (FOR UPDATE), so concurrent fires of one trigger queue one
 * run per cooldown. FIRED: run_queue(pipeline, run_trigger, options plus
 * {"trigger_id": id}) and last_fired_at = now(), fire_count + 1,
 * last_run_id; SUPPRESSED: suppressed_count + 1, last_suppressed_at.
 * options (may be NULL) is borrowed. Database failures return SL_EDB /
 * SL_EDBDOWN with eb filled; the caller rolls back. */
sl_err trigger_fire(db *d, const char *id, const char *run_trigger, const json_t *options,
                    trigger_result *out, sl_errbuf *eb);

/* A word for an outcome ("fired", "suppressed", "paused", "gone"); static. */
const char *trigger_outcome_name(trigger_outcome o);

#endif
