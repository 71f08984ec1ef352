-- Stop on reply (docs/replies.md): reading the sender's Gmail with the opt-in
-- gmail.metadata scope, headers and labels only.

-- One row an account that turned it on: where its history was read up to, how
-- fresh that is, and the read units spent in the last minute.
CREATE TABLE mailbox_reads (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled      boolean NOT NULL DEFAULT false,
    -- The mailbox the history id belongs to: another address starts again.
    address      text,
    -- Gmail's historyId (a uint64, kept as Gmail writes it).
    history_id   text,
    -- The clock (mm_now()) at the start of the last complete read: nothing
    -- that arrived before it is unread.
    checked_at   timestamptz,
    status       text NOT NULL DEFAULT 'new'
                 CHECK (status IN ('new', 'ok', 'failed', 'not_granted', 'revoked')),
    error        text,
    -- The newest message ids seen, to page back to after a history 404.
    recent_ids   text[] NOT NULL DEFAULT '{}',
    -- Read units spent in the last 60 seconds (real time, as Google counts).
    spent_at     timestamptz[] NOT NULL DEFAULT '{}',
    spent_units  integer[] NOT NULL DEFAULT '{}',
    -- One read at a time per account, across instances.
    lease_until  timestamptz,
    recovered_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- What a read found: every message it classified, so that a second read (or
-- a recovery after a 404) never costs a second messages.get, and a user's
-- correction holds.
CREATE TABLE mailbox_messages (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    gmail_id     text NOT NULL,
    thread_id    text NOT NULL,
    kind         text NOT NULL
                 CHECK (kind IN ('reply', 'auto', 'bounce', 'wrote', 'ours', 'other')),
    -- The user's correction of `kind`, which a later read never overrides.
    corrected    text CHECK (corrected IN ('reply', 'auto')),
    from_addr    text,
    -- A bounce's failed recipients (X-Failed-Recipients).
    failed_addrs text[] NOT NULL DEFAULT '{}',
    received_at  timestamptz NOT NULL,
    -- The campaign recipient it was attributed to, if any.
    recipient_id uuid REFERENCES campaign_recipients (id) ON DELETE SET NULL,
    -- The uncertain message it showed went out.
    email_id     uuid REFERENCES emails (id) ON DELETE SET NULL,
    read_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, gmail_id)
);
CREATE INDEX mailbox_messages_recipient_idx ON mailbox_messages (recipient_id)
    WHERE recipient_id IS NOT NULL;
CREATE INDEX mailbox_messages_bounces_idx ON mailbox_messages (user_id, received_at DESC)
    WHERE kind = 'bounce' AND recipient_id IS NULL;

-- Out-of-office replies stop a sequence only where the campaign says so.
ALTER TABLE campaigns ADD COLUMN stop_on_auto boolean NOT NULL DEFAULT false;

-- A bounce ends a sequence (and lists the address); so does a message the user
-- wrote to them by hand in the thread.
ALTER TABLE campaign_recipients DROP CONSTRAINT campaign_recipients_state_check;
ALTER TABLE campaign_recipients ADD CONSTRAINT campaign_recipients_state_check
    CHECK (state IN ('active', 'waiting', 'replied', 'bounced', 'wrote', 'unsubscribed',
                     'failed', 'finished', 'cancelled'));
-- Finding the sequence a message belongs to: by thread, or by the address it
-- came from.
CREATE INDEX campaign_recipients_user_thread_idx ON campaign_recipients (user_id, thread_id)
    WHERE thread_id IS NOT NULL;

-- A message found in the mailbox that MailMerger sent is known by its Gmail id.
CREATE INDEX emails_user_gmail_id_idx ON emails (user_id, gmail_message_id)
    WHERE gmail_message_id IS NOT NULL;

-- The Message-ID Gmail gave a campaign message (it replaces ours on API
-- sends), read back with the metadata scope: later steps carry it in
-- In-Reply-To and References. Empty when the message is gone from the mailbox.
ALTER TABLE emails ADD COLUMN rfc_message_id text;
CREATE INDEX emails_rfc_message_id_unread_idx ON emails (user_id, sent_at)
    WHERE status = 'sent' AND rfc_message_id IS NULL AND campaign_recipient_id IS NOT NULL
      AND gmail_message_id IS NOT NULL;
