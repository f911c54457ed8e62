-- 008_notifications.sql - where notifications go (targets: Slack, Discord,
-- Telegram, signed webhooks), which events of which pipelines each one
-- hears (subscriptions), and the settings every delivery reads. The queue
-- that carries messages to targets is 009_outbox.sql.
--
-- notification_targets.config holds only what may be shown (by type):
--   slack, discord  {"url_hint": "https://hooks.slack.com/services/T000…/****"}
--   telegram        {"chat_id": "-1001234567890", "token_hint": "1234…:****"}
--   webhook         {"url_hint": "https://example.com/…"}
-- secret_enc holds the rest as JSON sealed with the master key ("sb1:...",
-- see app/core/keyring.h), opened only to send:
--   slack, discord  {"url": "<incoming webhook URL>"}
--   telegram        {"bot_token": "<bot token>"}
--   webhook         {"url": "<URL>", "secret": "whsec_<base64>"}
-- (app/sync/notify_target.c reads and writes both; nothing else should.)

CREATE TABLE IF NOT EXISTS sluice.notification_targets (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    type             text NOT NULL CHECK (type IN ('slack', 'discord', 'telegram', 'webhook')),
    config           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    secret_enc       text NOT NULL CHECK (secret_enc <> ''),
    active           boolean NOT NULL DEFAULT true,
    disabled_reason  text,                    -- why it stopped (e.g. "410 Gone from the receiver")
    last_tested_at   timestamptz,             -- the last "Send test"
    last_test_status integer,                 -- its HTTP status (0: no answer)
    last_test_ms     integer,
    last_test_error  text,                    -- transport error or why the status is a failure
    last_test_answer text,                    -- the first KiB of the receiver's answer
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS notification_targets_name_key
    ON sluice.notification_targets (lower(name));

-- Which events a target hears: of one pipeline, or (pipeline_id NULL) of
-- every pipeline. At most one row per (pipeline, target) and one global
-- row per target.
CREATE TABLE IF NOT EXISTS sluice.pipeline_notifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_id  uuid REFERENCES sluice.pipelines (id) ON DELETE CASCADE,
    target_id    uuid NOT NULL REFERENCES sluice.notification_targets (id) ON DELETE CASCADE,
    events       text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                     'run.succeeded', 'run.failed', 'quality.failed', 'dead_letters.created',
                     'schema.drifted', 'landing.file_rejected']::text[]),
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_notifications_key
    ON sluice.pipeline_notifications (pipeline_id, target_id) WHERE pipeline_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_notifications_global_key
    ON sluice.pipeline_notifications (target_id) WHERE pipeline_id IS NULL;
CREATE INDEX IF NOT EXISTS pipeline_notifications_target_idx
    ON sluice.pipeline_notifications (target_id);

-- The active targets that hear event_type of pipeline (its own
-- subscriptions and the "all pipelines" ones), each once: what the outbox
-- enqueues a message for, in the transaction that records the event.
CREATE OR REPLACE FUNCTION sluice.notification_recipients(pipeline uuid, event_type text)
RETURNS TABLE (target_id uuid)
LANGUAGE sql STABLE
AS $$
    SELECT DISTINCT n.target_id
      FROM sluice.pipeline_notifications n
      JOIN sluice.notification_targets t ON t.id = n.target_id AND t.active
     WHERE (n.pipeline_id = pipeline OR n.pipeline_id IS NULL)
       AND event_type = ANY (n.events)
$$;

-- Delivery settings (read through app/sync/notify.h's notify_env_load; a
-- missing or out-of-range key means its default):
--   telegram_base           the Bot API's base URL (tests point it at a local receiver)
--   allow_private_networks  let targets resolve to loopback, private, link-local and
--                           unique-local addresses (self-hosted receivers)
--   timeout_seconds         per attempt, connect included (1..120)
--   max_attempts            attempts before a message is dead-lettered (1..100)
--   base_backoff_seconds    the first retry's wait; doubles per attempt, with jitter (1..86400)
INSERT INTO sluice.settings (key, value, updated_by) VALUES
    ('notifications', '{
        "telegram_base": "https://api.telegram.org",
        "allow_private_networks": false,
        "timeout_seconds": 10,
        "max_attempts": 8,
        "base_backoff_seconds": 10
    }', 'system')
ON CONFLICT (key) DO NOTHING;
