-- Uploaded files. The bytes live in object storage under `storage_key`; a row is
-- written only after its object is stored, so no row points at a missing object.
CREATE TABLE files (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('resume', 'cover_letter', 'attachment')),
    -- Sanitised: the name shown and the attachment's file name.
    name         text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       bytea NOT NULL,
    storage_key  text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_user_idx ON files (user_id, kind, lower(name));
-- One resume and one cover letter per user; attachment names are unique per user,
-- so a CSV column can name one.
CREATE UNIQUE INDEX files_one_per_kind ON files (user_id, kind) WHERE kind <> 'attachment';
CREATE UNIQUE INDEX files_attachment_name ON files (user_id, lower(name)) WHERE kind = 'attachment';

-- Objects to remove from storage. Written in the transaction that deletes or
-- replaces a file's row; removed once the store confirms. A sweep retries the rest.
CREATE TABLE storage_deletions (
    storage_key     text PRIMARY KEY,
    user_id         uuid NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX storage_deletions_due_idx ON storage_deletions (next_attempt_at);

-- What each message attaches. Files are read when the message is sent; a file
-- deleted meanwhile leaves `file_id` NULL and the message fails, naming it.
CREATE TABLE email_attachments (
    email_id  uuid NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    position  smallint NOT NULL,
    file_id   uuid REFERENCES files (id) ON DELETE SET NULL,
    -- The name when it was queued, for the failure reason.
    name      text NOT NULL,
    PRIMARY KEY (email_id, position)
);
CREATE INDEX email_attachments_file_idx ON email_attachments (file_id);
