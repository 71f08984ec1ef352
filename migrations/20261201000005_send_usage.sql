-- The daily cap's ledger and the accounts with queued mail (docs/delivery.md,
-- "The daily cap").
--
-- Recipients claimed per account per minute: the claim adds what it takes, and
-- a message that leaves the counted statuses (sending, sent, uncertain) without
-- having gone (failed, or back to the queue) takes its recipients off the
-- minute it was claimed in. `minute_end` is the end of that minute, so a claim
-- leaves the rolling 24 hours at most a minute late, never early. Reading an
-- account's use is at most 1,440 rows, however much it sent.
CREATE TABLE send_usage (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    minute_end timestamptz NOT NULL,
    recipients integer NOT NULL CHECK (recipients >= 0),
    PRIMARY KEY (user_id, minute_end)
);

INSERT INTO send_usage (user_id, minute_end, recipients)
SELECT user_id, date_bin('1 minute', claimed_at, timestamptz 'epoch') + interval '1 minute',
       sum(cardinality(to_addrs) + cardinality(cc_addrs) + cardinality(bcc_addrs))
FROM emails
WHERE claimed_at > now() - interval '25 hours' AND status IN ('sending', 'sent', 'uncertain')
GROUP BY 1, 2;

-- An account parked because it reached its cap (not for its pace): a message
-- that goes back unsent frees a place, and such an account is looked at again
-- at once.
ALTER TABLE users ADD COLUMN cap_parked boolean NOT NULL DEFAULT false;

-- The daily cap no longer reads the messages.
DROP INDEX emails_user_claimed_idx;

-- Every account with queued mail and the earliest time any of it is due: one
-- index probe per account (a loose index scan over emails_user_due_idx), so an
-- account with a large backlog does not hide the others from a claim, and
-- accounts without queued mail cost nothing.
CREATE VIEW queued_accounts AS
WITH RECURSIVE q AS (
    (SELECT e.user_id, e.due_at FROM emails e
     WHERE e.status = 'queued'
     ORDER BY e.user_id, e.due_at LIMIT 1)
    UNION ALL
    SELECT n.user_id, n.due_at
    FROM q CROSS JOIN LATERAL (
        SELECT e.user_id, e.due_at FROM emails e
        WHERE e.status = 'queued' AND e.user_id > q.user_id
        ORDER BY e.user_id, e.due_at LIMIT 1
    ) n
)
SELECT user_id, due_at AS first_due FROM q;
