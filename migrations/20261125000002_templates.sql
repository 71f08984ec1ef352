-- Reusable emails. The body is kept as the user wrote it (Markdown) and, derived
-- once at save time, as sanitised HTML and a plain-text alternative.
CREATE TABLE templates (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    subject       text NOT NULL,
    body_markdown text NOT NULL,
    body_html     text NOT NULL,
    body_text     text NOT NULL,
    placeholders  text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX templates_user_updated_idx ON templates (user_id, updated_at DESC);
CREATE UNIQUE INDEX templates_user_name_key ON templates (user_id, lower(name));
