-- 007_triggers.sql - event triggers: a pipeline queued when an upstream
-- pipeline succeeds, when a file lands in a zone, or when a signed webhook
-- arrives; the consumer offsets through which they read the event stream;
-- and the webhook ids seen recently (replay refusal).
--
-- pipeline_triggers.config by type:
--   pipeline_success     {"upstream_pipeline_id": "<uuid>"}
--   landing_zone_upload  {"zone_name": "<name>"} (or {"zone_id": "<uuid>"})
--   webhook              {}            (the signing secret is secret_enc)
-- secret_enc is the webhook signing secret ("whsec_" + base64 of 32 random
-- bytes), sealed with the master key ("sb1:..."); it is shown once, when it
-- is made or rotated, and never again.

CREATE TABLE IF NOT EXISTS sluice.pipeline_triggers (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_id       uuid NOT NULL REFERENCES sluice.pipelines (id) ON DELETE CASCADE,
    type              text NOT NULL
                      CHECK (type IN ('pipeline_success', 'landing_zone_upload', 'webhook')),
    config            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    secret_enc        text,
    cooldown_seconds  integer NOT NULL DEFAULT 60 CHECK (cooldown_seconds BETWEEN 0 AND 604800),
    enabled           boolean NOT NULL DEFAULT true,
    last_fired_at     timestamptz,
    last_run_id       bigint,                    -- the run the last fire queued
    fire_count        bigint NOT NULL DEFAULT 0, -- runs queued by this trigger
    suppressed_count  bigint NOT NULL DEFAULT 0, -- fires swallowed by the cooldown
    last_suppressed_at timestamptz,
    created_by        uuid,
    created_by_email  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'webhook') = (secret_enc IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS pipeline_triggers_pipeline_idx
    ON sluice.pipeline_triggers (pipeline_id, created_at, id);
-- "Which triggers watch upstream X / zone Z": the event consumer's lookups.
CREATE INDEX IF NOT EXISTS pipeline_triggers_upstream_idx
    ON sluice.pipeline_triggers ((config ->> 'upstream_pipeline_id'))
    WHERE type = 'pipeline_success' AND enabled;
CREATE INDEX IF NOT EXISTS pipeline_triggers_zone_idx
    ON sluice.pipeline_triggers ((config ->> 'zone_name'))
    WHERE type = 'landing_zone_upload' AND enabled;
-- One trigger per pipeline and upstream / zone: a second would only double-fire.
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_triggers_upstream_key
    ON sluice.pipeline_triggers (pipeline_id, (config ->> 'upstream_pipeline_id'))
    WHERE type = 'pipeline_success';
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_triggers_zone_key
    ON sluice.pipeline_triggers
       (pipeline_id, (coalesce(config ->> 'zone_id', config ->> 'zone_name')))
    WHERE type = 'landing_zone_upload';

-- Webhook message ids accepted recently, per trigger: an exact replay inside
-- the timestamp window is refused. Rows older than twice the window are
-- pruned (by the receiver and by the tick).
CREATE TABLE IF NOT EXISTS sluice.webhook_receipts (
    trigger_id   uuid NOT NULL REFERENCES sluice.pipeline_triggers (id) ON DELETE CASCADE,
    msg_id       text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    run_id       bigint,                       -- NULL when the cooldown swallowed it
    PRIMARY KEY (trigger_id, msg_id)
);
CREATE INDEX IF NOT EXISTS webhook_receipts_age_idx ON sluice.webhook_receipts (received_at);

-- How far each consumer of sluice_events.events has read: every event with
-- id <= last_event_id has been handled. A consumer moves its offset in the
-- same transaction as the work the events caused, so each event is handled
-- exactly once.
CREATE TABLE IF NOT EXISTS sluice_events.consumer_offsets (
    consumer       text PRIMARY KEY CHECK (consumer <> ''),
    last_event_id  bigint NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sluice_events.consumer_offsets (consumer) VALUES ('triggers')
ON CONFLICT (consumer) DO NOTHING;

-- Each consumer's lag: the newest event id and how many events lie beyond
-- its offset (0: caught up).
CREATE OR REPLACE VIEW sluice_events.consumer_lag AS
SELECT o.consumer,
       o.last_event_id,
       coalesce(n.newest_id, 0) AS newest_id,
       (SELECT count(*) FROM sluice_events.events e WHERE e.id > o.last_event_id)
           AS events_behind,
       o.updated_at
FROM sluice_events.consumer_offsets o
CROSS JOIN (SELECT max(id) AS newest_id FROM sluice_events.events) n;
