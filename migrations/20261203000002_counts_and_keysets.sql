-- Pages that stay fast as an account's history grows (docs/lists.md).

-- How many of each account's messages are in each status, kept exact by the
-- triggers below in the transaction that changes `emails`. The table is
-- append-only for writers: a statement adds one row of changes per (account,
-- status) it moved, so writers never wait for each other on a counter row and
-- cannot deadlock; a reader sums an account's rows. The housekeeping folds
-- them into one row per (account, status) every minute (`emails::counts`).
CREATE TABLE email_counts (
    user_id uuid   NOT NULL,
    status  text   NOT NULL,
    n       bigint NOT NULL
);
CREATE INDEX email_counts_user_idx ON email_counts (user_id, status) INCLUDE (n);

CREATE FUNCTION email_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Rows of an account deleted in this statement (its cascade) are not
    -- counted: the account's counts went with it.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO email_counts (user_id, status, n)
        SELECT c.user_id, c.status, count(*)
        FROM new_rows c WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
        GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO email_counts (user_id, status, n)
        SELECT c.user_id, c.status, -count(*)
        FROM old_rows c WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
        GROUP BY 1, 2;
    ELSE
        INSERT INTO email_counts (user_id, status, n)
        SELECT c.user_id, c.status, sum(c.d)
        FROM (SELECT user_id, status, 1 AS d FROM new_rows
              UNION ALL
              SELECT user_id, status, -1 AS d FROM old_rows) c
        WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
        GROUP BY 1, 2
        HAVING sum(c.d) <> 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER emails_count_insert AFTER INSERT ON emails
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION email_counts_change();
CREATE TRIGGER emails_count_update AFTER UPDATE ON emails
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION email_counts_change();
CREATE TRIGGER emails_count_delete AFTER DELETE ON emails
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION email_counts_change();

CREATE FUNCTION email_counts_forget_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM email_counts WHERE user_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_forget_email_counts AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION email_counts_forget_user();

-- The counts of the messages there are now. The triggers exist already and
-- hold a lock on `emails` until this migration commits, so nothing is missed
-- or counted twice.
INSERT INTO email_counts (user_id, status, n)
SELECT user_id, status, count(*) FROM emails GROUP BY 1, 2;

-- The lists read a page after (or before) a row's sort key, which ends in `id`:
-- the queue by when it is due, Sent newest first, all of it or one status.
-- `queued_accounts` and the claim read the queued part of the first index.
DROP INDEX emails_user_due_idx;
CREATE INDEX emails_user_due_idx ON emails (user_id, due_at, id)
    WHERE status IN ('queued', 'sending');
DROP INDEX emails_user_finished_idx;
CREATE INDEX emails_user_finished_idx ON emails (user_id, updated_at DESC, id DESC)
    WHERE status IN ('sent', 'failed', 'uncertain', 'suppressed');
CREATE INDEX emails_user_status_finished_idx ON emails (user_id, status, updated_at DESC, id DESC)
    WHERE status IN ('sent', 'failed', 'uncertain', 'suppressed');
-- The progress bar counts what is due now from emails_user_status_send_at_idx
-- and what finished since a moment from emails_user_status_finished_idx, both
-- from the index alone.
