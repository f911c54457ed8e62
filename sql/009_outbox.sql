-- 009_outbox.sql - the notification outbox: one message per (event,
-- subscribed target), every delivery attempt, the dead-letter stream, the
-- enqueue functions producers call, and the delivery settings.
--
-- Producers append an event and enqueue its messages in the same
-- transaction (run_finish does it in the statement that appends the event:
-- `WITH e AS (INSERT INTO sluice_events.events ... RETURNING ...) SELECT
-- sluice_events.enqueue_event(...) FROM e`), so a message exists exactly
-- when its event was committed. `sluice notify` (and each tick) claims
-- visible queued messages with FOR UPDATE SKIP LOCKED, hides them for the
-- visibility timeout and delivers them (app/cli/outbox.c):
--
--   queued --2xx--> delivered
--   queued --429/408/5xx/3xx/transport error--> queued again, visible after
--            the backoff (attempts < max_attempts) or dead
--   queued --other 4xx, 410 (the target is disabled), unknown or inactive
--            target, render error--> dead
--   dead --retry (console/API)--> queued with attempts 0
--
-- The dead-letter stream is the messages with status 'dead' (and the view
-- sluice_events.dead_letters). Targets are not foreign keys: a message
-- outlives its target and then dies with the reason "target deleted", and
-- attempts outlive discarded messages (the deliveries page is a log).

CREATE TABLE IF NOT EXISTS sluice_events.messages (
    id            bigint PRIMARY KEY DEFAULT sluice.snowflake_id(),
    target_id     uuid NOT NULL,
    event_id      bigint NOT NULL,
    event_type    text NOT NULL,
    pipeline_id   uuid,                          -- NULL: not about one pipeline
    payload       jsonb NOT NULL DEFAULT '{}',   -- the event's data
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'delivered', 'dead')),
    attempts      int NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- claims so far
    max_attempts  int NOT NULL DEFAULT 8 CHECK (max_attempts BETWEEN 1 AND 100),
    visible_at    timestamptz NOT NULL DEFAULT now(), -- next attempt / end of a claim
    locked_by     text,                          -- the deliverer holding the claim
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    dead_at       timestamptz,
    last_status   int,                           -- HTTP status of the last attempt
    last_error    text                           -- why the last attempt failed / why dead
);
-- The claim's scan: visible queued messages, oldest first.
CREATE INDEX IF NOT EXISTS messages_status_visible_idx
    ON sluice_events.messages (status, visible_at);
-- Per target (the deliveries page, dead letters of one target).
CREATE INDEX IF NOT EXISTS messages_target_idx
    ON sluice_events.messages (target_id, status, id);
-- An event is enqueued for a target once, however often it is asked.
CREATE UNIQUE INDEX IF NOT EXISTS messages_event_target_key
    ON sluice_events.messages (event_id, target_id);

-- Every attempt to deliver a message (also attempts lost with a deliverer
-- that stopped mid-attempt, recorded when the message is claimed again).
CREATE TABLE IF NOT EXISTS sluice_events.delivery_attempts (
    id                bigint PRIMARY KEY DEFAULT sluice.snowflake_id(),
    message_id        bigint NOT NULL,
    target_id         uuid NOT NULL,
    attempt           int NOT NULL,
    at                timestamptz NOT NULL DEFAULT now(),
    status_code       int,                       -- NULL: no HTTP answer
    latency_ms        int,
    error             text,
    response_excerpt  text,                      -- the first KiB of the answer
    outcome           text NOT NULL DEFAULT 'retry'
                      CHECK (outcome IN ('delivered', 'retry', 'dead', 'lost'))
);
CREATE INDEX IF NOT EXISTS delivery_attempts_target_idx
    ON sluice_events.delivery_attempts (target_id, id);
CREATE INDEX IF NOT EXISTS delivery_attempts_message_idx
    ON sluice_events.delivery_attempts (message_id, id);

-- The dead-letter stream.
CREATE OR REPLACE VIEW sluice_events.dead_letters AS
SELECT id, target_id, event_id, event_type, pipeline_id, payload, attempts, max_attempts,
       created_at, dead_at, last_status, last_error AS reason
FROM sluice_events.messages
WHERE status = 'dead';

-- More delivery settings in the 'notifications' row of 008 (read by
-- app/cli/outbox.c; a missing or out-of-range field means its default;
-- values already there are kept). 008 has max_attempts, base_backoff_seconds
-- (the delay after the first failed attempt; doubles per attempt, +-20%
-- jitter, never less than the receiver's Retry-After) and timeout_seconds.
--   max_backoff_seconds         the backoff's cap (1..604800)
--   visibility_timeout_seconds  a claimed message is hidden this long; when its
--                               deliverer stops, the next one takes it after that
--                               (10..86400; never less than a batch can take)
--   batch_size                  messages claimed at once (1..1000)
--   concurrency                 requests in flight at once per deliverer (1..64)
INSERT INTO sluice.settings (key, value, updated_by) VALUES
    ('notifications', '{
        "max_backoff_seconds": 21600,
        "visibility_timeout_seconds": 300,
        "batch_size": 100,
        "concurrency": 8
    }', 'system')
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value || sluice.settings.value;

-- max_attempts for new messages: the setting, when it is an integer in 1..100.
CREATE OR REPLACE FUNCTION sluice_events.notify_max_attempts()
RETURNS int
LANGUAGE sql STABLE
AS $$
    SELECT coalesce((SELECT CASE WHEN (value ->> 'max_attempts') ~ '^[0-9]{1,3}$'
                                 THEN CASE WHEN (value ->> 'max_attempts')::int BETWEEN 1 AND 100
                                           THEN (value ->> 'max_attempts')::int END END
                     FROM sluice.settings WHERE key = 'notifications'), 8)
$$;

-- Enqueue the messages of one event given by its fields: one per active
-- target subscribed to its type, for its pipeline (data.pipeline_id, else
-- the stream 'pipeline:<uuid>') or for all pipelines (008's
-- sluice.notification_recipients). For use in the statement that appends
-- the event (from its CTE's RETURNING), where the new row is not visible
-- to a query yet. Returns the
-- number of messages made (0 when the event was enqueued before).
CREATE OR REPLACE FUNCTION sluice_events.enqueue_event(p_event_id bigint, p_stream text,
                                                       p_type text, p_data jsonb)
RETURNS int
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    re  constant text := '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
    pid text := coalesce(p_data ->> 'pipeline_id', substring(p_stream FROM '^pipeline:(.*)$'));
    n   int;
BEGIN
    IF pid IS NULL OR pid !~* re THEN
        pid := NULL;
    END IF;
    INSERT INTO sluice_events.messages (target_id, event_id, event_type, pipeline_id, payload,
                                        max_attempts)
    SELECT r.target_id, p_event_id, p_type, pid::uuid, coalesce(p_data, '{}'),
           sluice_events.notify_max_attempts()
    FROM sluice.notification_recipients(pid::uuid, p_type) r
    ON CONFLICT (event_id, target_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The same for an event already appended (by id), for producers that
-- append first: `SELECT sluice_events.enqueue_notifications(id)` in the
-- appending transaction. 0 when there is no such event.
CREATE OR REPLACE FUNCTION sluice_events.enqueue_notifications(p_event_id bigint)
RETURNS int
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    n int := 0;
    e record;
BEGIN
    SELECT id, stream, type, data INTO e FROM sluice_events.events WHERE id = p_event_id;
    IF FOUND THEN
        n := sluice_events.enqueue_event(e.id, e.stream, e.type, e.data);
    END IF;
    RETURN n;
END
$$;
