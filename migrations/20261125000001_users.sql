-- People who use MailMerger. An account has a password, a Google sign-in
-- (added later), or both.
CREATE TABLE users (
    id               uuid PRIMARY KEY,
    email            text NOT NULL,
    name             text NOT NULL,
    password_hash    text,
    time_zone        text NOT NULL DEFAULT 'UTC',
    daily_send_cap   integer NOT NULL DEFAULT 400 CHECK (daily_send_cap > 0),
    send_gap_seconds integer NOT NULL DEFAULT 0 CHECK (send_gap_seconds >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Email addresses are unique without regard to case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
