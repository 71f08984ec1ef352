-- Accounts people can trust (docs/accounts.md): verified addresses, links for
-- verification, password reset and a change of address, and an index of each
-- account's sessions.

-- When the address was shown to belong to the account: a link followed, or
-- Google said so. Accounts from before this migration count as verified (a
-- first run must go on working as it did).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;
-- Every session that started before this is over (a reset password, a claim,
-- "Log out everywhere").
ALTER TABLE users ADD COLUMN sessions_not_before timestamptz NOT NULL DEFAULT '-infinity';

-- An admin suspended the account: it cannot log in, its sessions are over,
-- and its mail is held (not lost) until it is unsuspended.
ALTER TABLE users ADD COLUMN suspended_at timestamptz;

-- The links we mail. A link is `<id>.<secret>`: the row is found by its id and
-- the secret compared, in constant time, with its SHA-256 here; the secret
-- itself is never stored. A link works once, before it expires.
CREATE TABLE account_links (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify', 'reset', 'change_email')),
    -- The address the link was sent to: the one it verifies, or the new one.
    email       text NOT NULL,
    secret_hash bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX account_links_user_idx ON account_links (user_id, purpose);
CREATE INDEX account_links_expires_idx ON account_links (expires_at);

-- The sessions of each account. The session record in Redis (keyed by its
-- cookie's id) names its row here; a session whose row is gone is over, so an
-- account's sessions can be listed and ended without knowing their ids.
CREATE TABLE user_sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL DEFAULT now(),
    -- Written at most every few minutes, not on every request.
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    user_agent   text NOT NULL DEFAULT '',
    ip           text
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id, started_at);
CREATE INDEX user_sessions_seen_idx ON user_sessions (last_seen_at);
