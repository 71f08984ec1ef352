-- Forms that queue mail carry a key made when the page was rendered. The first
-- submit records it here, with what it queued, in the transaction that queued
-- it; a repeat (double click, a retry after a slow network, the back button)
-- gets that result back instead of queueing again. Kept 7 days.
CREATE TABLE submissions (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          uuid NOT NULL,
    -- SHA-256 of what the form said, so a repeat with other content is told apart.
    fingerprint  bytea NOT NULL,
    -- The message it queued (Write email), and how many (a merge).
    first_email  uuid,
    queued       bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX submissions_created_idx ON submissions (created_at);

-- Imports expire (docs/limits.md); each expiry looks for messages still using
-- the import, and deleting one sets their import_id to NULL: both by this index.
CREATE INDEX emails_import_idx ON emails (import_id) WHERE import_id IS NOT NULL;
CREATE INDEX merge_imports_created_idx ON merge_imports (created_at);
