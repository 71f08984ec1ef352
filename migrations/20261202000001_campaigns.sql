-- Campaigns: a sequence of steps sent to the recipients of a CSV, each later
-- step a reply in step 1's Gmail thread (docs/campaigns.md).

CREATE TABLE campaigns (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status             text NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'running', 'paused', 'finished', 'cancelled')),
    -- The recipients as uploaded (kept with the campaign: imports expire).
    file_name          text NOT NULL,
    csv                text NOT NULL,
    email_column       text,
    -- A column holding each recipient's IANA time zone; empty cells use time_zone.
    zone_column        text,
    -- The sender's time zone when the campaign was made.
    time_zone          text NOT NULL,
    -- The send window: days of the week as bits (Monday = 1, Sunday = 64) and
    -- minutes after local midnight, start < end <= 1440.
    window_days        smallint NOT NULL DEFAULT 31 CHECK (window_days BETWEEN 1 AND 127),
    window_start       smallint NOT NULL DEFAULT 540 CHECK (window_start BETWEEN 0 AND 1439),
    window_end         smallint NOT NULL DEFAULT 1020 CHECK (window_end BETWEEN 1 AND 1440),
    starts_at          timestamptz,
    unsubscribe_footer boolean NOT NULL DEFAULT false,
    -- The address step 1 went from: thread ids belong to that mailbox.
    sender_address     text,
    -- Why it is paused when MailMerger paused it (another Gmail address).
    paused_reason      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    ended_at           timestamptz,
    CHECK (window_start < window_end)
);
CREATE INDEX campaigns_user_idx ON campaigns (user_id, created_at DESC, id);

-- Step 1 goes at the start; step k > 1 `delay_days` calendar days after step
-- k - 1 went, in the recipient's time zone. The template is chosen while the
-- campaign is a draft and copied (subject, source, compiled parts) when it starts.
CREATE TABLE campaign_steps (
    campaign_id    uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position       smallint NOT NULL CHECK (position BETWEEN 1 AND 10),
    template_id    uuid REFERENCES templates (id) ON DELETE SET NULL,
    delay_days     smallint NOT NULL DEFAULT 0 CHECK (delay_days BETWEEN 0 AND 365),
    subject        text,
    body_source    text,
    body_html      text,
    body_text      text,
    -- The files each message of the step attaches, and their names then (a
    -- file deleted since fails the message, naming it).
    attach         uuid[] NOT NULL DEFAULT '{}',
    attach_names   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (campaign_id, position)
);

-- One row a recipient. `address` is lowercased; `state` is where its sequence
-- stands: active (a step queued or to come), waiting (a step ended uncertain:
-- the user decides), replied, unsubscribed, failed, finished, cancelled.
CREATE TABLE campaign_recipients (
    id            uuid PRIMARY KEY,
    campaign_id   uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address       text NOT NULL CHECK (address = lower(address)),
    to_addr       text NOT NULL,
    line          integer NOT NULL,
    merge_values  jsonb NOT NULL DEFAULT '{}',
    time_zone     text,
    state         text NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'waiting', 'replied', 'unsubscribed', 'failed',
                                   'finished', 'cancelled')),
    steps_sent    smallint NOT NULL DEFAULT 0,
    thread_id     text,
    first_subject text,
    stopped_reason text,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, address)
);
CREATE INDEX campaign_recipients_state_idx ON campaign_recipients (campaign_id, state);
CREATE INDEX campaign_recipients_user_address_idx ON campaign_recipients (user_id, address)
    WHERE state IN ('active', 'waiting');

-- A message of a campaign: its recipient and step. A step is queued at most
-- once per recipient, whatever runs twice.
ALTER TABLE emails
    ADD COLUMN campaign_recipient_id uuid REFERENCES campaign_recipients (id) ON DELETE SET NULL,
    ADD COLUMN campaign_step smallint;
CREATE UNIQUE INDEX emails_campaign_step_idx ON emails (campaign_recipient_id, campaign_step)
    WHERE campaign_recipient_id IS NOT NULL;

-- Within an account, one-off mail goes first, then follow-ups, then step 1 of
-- new recipients: a claim takes due mail in this order (0, 1, 2), then by due
-- time. A plain column (set by the enqueue) so that adding it rewrites nothing.
ALTER TABLE emails ADD COLUMN claim_order smallint NOT NULL DEFAULT 0
    CHECK (claim_order BETWEEN 0 AND 2);
CREATE INDEX emails_user_order_due_idx ON emails (user_id, claim_order, due_at, id)
    WHERE status = 'queued';
