-- Unsubscribe and suppression (docs/unsubscribe.md).
--
-- A user's suppression list: addresses that never get another message from
-- them. `address` is lowercased (addresses compare case-insensitively);
-- `reason` says how it got there.
CREATE TABLE suppressions (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address    text NOT NULL CHECK (address = lower(address) AND length(address) BETWEEN 3 AND 254),
    reason     text NOT NULL CHECK (reason IN ('unsubscribed', 'added', 'imported', 'bounced')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, address)
);
CREATE INDEX suppressions_user_created_idx ON suppressions (user_id, created_at DESC, address);

-- A message whose To is on the list ends `suppressed`; a Cc or Bcc on it is
-- dropped from the message and kept here, so Sent can say so.
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'uncertain', 'cancelled', 'suppressed'));
ALTER TABLE emails ADD COLUMN suppressed_addrs text[] NOT NULL DEFAULT '{}';

-- The one-click unsubscribe URL (RFC 8058) sent as List-Unsubscribe, set when
-- the message links to it, has one To and no Cc or Bcc, and the app is on https.
ALTER TABLE emails ADD COLUMN list_unsubscribe text;

-- The Sent page lists finished mail: suppressed is finished.
DROP INDEX emails_user_finished_idx;
CREATE INDEX emails_user_finished_idx ON emails (user_id, updated_at DESC)
    WHERE status IN ('sent', 'failed', 'uncertain', 'suppressed');
