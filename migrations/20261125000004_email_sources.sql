-- What the user wrote for a message from Write email (Markdown with placeholders,
-- and the values given for them), so a queued message can be reopened and edited.
ALTER TABLE emails
    ADD COLUMN subject_source text,
    ADD COLUMN body_source    text,
    ADD COLUMN merge_values   jsonb NOT NULL DEFAULT '{}';
