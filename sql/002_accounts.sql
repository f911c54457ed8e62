-- 002_accounts.sql - console users, sessions, API tokens, login throttling,
-- and the audit log.
--
-- Secrets are never stored: passwords as argon2id hashes, session and API
-- tokens as hashes of the random token (bytea), looked up by that hash.

CREATE TABLE IF NOT EXISTS sluice.users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email <> '' AND email = btrim(email)),
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL DEFAULT 'viewer' CHECK (role IN ('admin', 'editor', 'viewer')),
    password_hash text,                  -- argon2id (libsodium string); NULL: no password login
    active        boolean NOT NULL DEFAULT true,
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique regardless of case (without depending on citext):
-- look users up with WHERE lower(email) = lower($1).
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON sluice.users (lower(email));

-- A console session. The browser holds a random token; we keep its hash.
-- expires_at is absolute; a session also ends after idle_timeout without
-- requests (last_seen_at), unless keep_signed_in.
CREATE TABLE IF NOT EXISTS sluice.sessions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash     bytea NOT NULL UNIQUE,
    user_id        uuid NOT NULL REFERENCES sluice.users (id) ON DELETE CASCADE,
    csrf_token     text NOT NULL,
    keep_signed_in boolean NOT NULL DEFAULT false,
    idle_timeout   interval NOT NULL DEFAULT interval '2 hours',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    remote_addr    text,
    user_agent     text
);

CREATE INDEX IF NOT EXISTS sessions_user_idx ON sluice.sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sluice.sessions (expires_at);

-- API bearer tokens. prefix is the first characters of the token, shown in
-- the console so people can tell their tokens apart.
CREATE TABLE IF NOT EXISTS sluice.api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES sluice.users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    expires_at   timestamptz             -- NULL: does not expire
);

CREATE INDEX IF NOT EXISTS api_tokens_user_idx ON sluice.api_tokens (user_id);

-- Login attempts, for throttling by account and by address. email is
-- stored lowercased; the reaper prunes old rows.
CREATE TABLE IF NOT EXISTS sluice.login_attempts (
    id          bigserial PRIMARY KEY,
    email       text,
    remote_addr text,
    at          timestamptz NOT NULL DEFAULT now(),
    success     boolean NOT NULL DEFAULT false
);

CREATE INDEX IF NOT EXISTS login_attempts_email_idx ON sluice.login_attempts (email, at);
CREATE INDEX IF NOT EXISTS login_attempts_addr_idx ON sluice.login_attempts (remote_addr, at);

-- Every change, by whom, from where. actor_id is deliberately not a foreign
-- key: the trail outlives the user (actor_email keeps the name). Ids are
-- snowflakes, so id order is time order.
CREATE TABLE IF NOT EXISTS sluice.audit_log (
    id          bigint PRIMARY KEY DEFAULT sluice.snowflake_id(),
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,                    -- NULL for the system (cron, CLI without a user)
    actor_email text,
    action      text NOT NULL,           -- e.g. 'user.create', 'pipeline.update', 'login.failed'
    object_type text,
    object_id   text,
    details     jsonb,
    remote_addr text,
    request_id  text
);

CREATE INDEX IF NOT EXISTS audit_log_at_idx ON sluice.audit_log (at DESC);
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON sluice.audit_log (actor_id, at DESC);
CREATE INDEX IF NOT EXISTS audit_log_action_idx ON sluice.audit_log (action, at DESC);
