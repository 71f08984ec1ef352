-- Google accounts: sign-in identity (keyed on Google's `sub`) and, once the user
-- connects Gmail, the encrypted tokens the delivery loop sends with.
CREATE TABLE google_accounts (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    google_sub       text NOT NULL UNIQUE,
    email            text NOT NULL,
    scopes           text[] NOT NULL DEFAULT '{}',
    -- AES-256-GCM: nonce || ciphertext, with the row id as associated data.
    access_token     bytea,
    refresh_token    bytea,
    token_expires_at timestamptz,
    -- none: signed in with Google only; connected: can send; disconnected: Google
    -- refused the refresh token, the user's mail is held until they reconnect.
    gmail_status     text NOT NULL DEFAULT 'none'
                     CHECK (gmail_status IN ('none', 'connected', 'disconnected')),
    gmail_error      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Pacing, shared by every server instance: the user's next free sending slot.
ALTER TABLE users ADD COLUMN pace_next_at timestamptz NOT NULL DEFAULT '-infinity';

ALTER TABLE emails
    -- When the loop took it (counts towards the rolling 24-hour cap).
    ADD COLUMN claimed_at timestamptz,
    -- The claim that owns a `sending` row, so a late result from an expired lease
    -- cannot overwrite what came after.
    ADD COLUMN lease_id   uuid,
    -- gmail, smtp or outbox: where it went.
    ADD COLUMN transport  text,
    -- When it may go next: its scheduled time, or later for a retry.
    ADD COLUMN due_at     timestamptz GENERATED ALWAYS AS
        (greatest(send_at, coalesce(next_attempt_at, send_at))) STORED;

DROP INDEX emails_due_idx;
CREATE INDEX emails_due_idx ON emails (due_at) WHERE status = 'queued';
CREATE INDEX emails_user_due_idx ON emails (user_id, due_at, id) WHERE status = 'queued';
CREATE INDEX emails_lease_idx ON emails (lease_until) WHERE status = 'sending';
CREATE INDEX emails_user_claimed_idx ON emails (user_id, claimed_at) WHERE claimed_at IS NOT NULL;
CREATE INDEX emails_user_finished_idx ON emails (user_id, updated_at DESC)
    WHERE status IN ('sent', 'failed', 'uncertain');

-- Every insert, reschedule and retry wakes the delivery loops (LISTEN mm_delivery).
-- Postgres folds identical notifications within one transaction into one.
CREATE FUNCTION emails_notify_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mm_delivery', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER emails_notify_delivery
    AFTER INSERT OR UPDATE OF status, send_at, next_attempt_at ON emails
    FOR EACH ROW WHEN (NEW.status = 'queued')
    EXECUTE FUNCTION emails_notify_delivery();
