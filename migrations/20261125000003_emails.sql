-- A CSV import, kept in Postgres between upload and queueing (Redis never holds
-- the only copy of anything).
CREATE TABLE merge_imports (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name   text NOT NULL,
    csv         text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merge_imports_user_idx ON merge_imports (user_id, created_at DESC);

-- Every message, from queued to its end. See DESIGN.md "Delivery".
CREATE TABLE emails (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    template_id      uuid REFERENCES templates (id) ON DELETE SET NULL,
    import_id        uuid REFERENCES merge_imports (id) ON DELETE SET NULL,
    to_addrs         text[] NOT NULL,
    cc_addrs         text[] NOT NULL DEFAULT '{}',
    bcc_addrs        text[] NOT NULL DEFAULT '{}',
    subject          text NOT NULL,
    body_html        text NOT NULL,
    body_text        text NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'uncertain', 'cancelled')),
    send_at          timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    last_error       text,
    message_id       text,
    gmail_message_id text,
    gmail_thread_id  text,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(to_addrs) + cardinality(cc_addrs) + cardinality(bcc_addrs) BETWEEN 1 AND 100)
);
CREATE INDEX emails_user_status_send_at_idx ON emails (user_id, status, send_at, id);
CREATE INDEX emails_due_idx ON emails (send_at) WHERE status = 'queued';
