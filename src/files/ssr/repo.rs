//! The `files`, `storage_deletions` and `email_attachments` tables.

use crate::domain::UserId;
use crate::error::AppError;
use crate::files::{FileKind, FileView, FilesPage, MESSAGE_ATTACHMENTS_MAX_BYTES, format_size};
use crate::state::AppState;
use sqlx::PgConnection;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub struct NewFile {
    pub user_id: UserId,
    pub kind: FileKind,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Vec<u8>,
    pub key: String,
}

fn kind_of(raw: &str) -> FileKind {
    FileKind::parse(raw).unwrap_or(FileKind::Attachment)
}

/// The user's files, with how many queued messages will attach each.
#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn list(pool: &PgPool, user_id: UserId) -> Result<Vec<FileView>, AppError> {
    let uses = crate::emails::read::pending_file_uses(pool, user_id).await?;
    let rows = sqlx::query!(
        r#"SELECT f.id, f.kind, f.name, f.content_type, f.size_bytes
           FROM files f WHERE f.user_id = $1
           ORDER BY array_position(ARRAY['resume', 'cover_letter', 'attachment'], f.kind), lower(f.name)"#,
        user_id as UserId
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FileView {
            id: r.id,
            kind: kind_of(&r.kind),
            name: r.name,
            content_type: r.content_type,
            size_bytes: r.size_bytes as u64,
            queued_uses: uses.get(&r.id).copied().unwrap_or(0),
        })
        .collect())
}

pub async fn page(state: &AppState, user_id: UserId) -> Result<FilesPage, AppError> {
    let mut page = FilesPage {
        max_bytes: state.config.upload_max_bytes,
        quota_bytes: state.config.limits.storage_quota_bytes,
        ..Default::default()
    };
    for file in list(&state.pool, user_id).await? {
        page.used_bytes += file.size_bytes;
        match file.kind {
            FileKind::Resume => page.resume = Some(file),
            FileKind::CoverLetter => page.cover_letter = Some(file),
            FileKind::Attachment => page.attachments.push(file),
        }
    }
    page.pending_deletions = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM storage_deletions WHERE user_id = $1"#,
        user_id as UserId
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(page)
}

/// One of the user's files, for download.
pub struct Stored {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub key: String,
}

pub async fn stored(pool: &PgPool, user_id: UserId, id: Uuid) -> Result<Option<Stored>, AppError> {
    Ok(sqlx::query!(
        "SELECT name, content_type, size_bytes, storage_key FROM files WHERE id = $1 AND user_id = $2",
        id,
        user_id as UserId
    )
    .fetch_optional(pool)
    .await?
    .map(|r| Stored {
        name: r.name,
        content_type: r.content_type,
        size: r.size_bytes as u64,
        key: r.storage_key,
    }))
}

/// Writes the row of a stored object. A resume, a cover letter or an attachment
/// of the same name replaces the earlier one in place (same id, so queued
/// messages send the new one) and its old object is scheduled for deletion.
/// Returns whether it replaced one; an error is a sentence for the user.
pub async fn save(state: &AppState, new: &NewFile) -> Result<bool, String> {
    let failed = |e: sqlx::Error| {
        tracing::error!(error = %e, "saving a file row failed");
        "The file could not be saved. Nothing was changed; try again.".to_string()
    };
    let mut tx = state.pool.begin().await.map_err(failed)?;
    // One writer of a user's files at a time.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))",
        new.user_id.to_string()
    )
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    let existing = sqlx::query!(
        "SELECT id, storage_key FROM files
         WHERE user_id = $1 AND kind = $2 AND (kind <> 'attachment' OR lower(name) = lower($3))",
        new.user_id as UserId,
        new.kind.as_str(),
        new.name,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed)?;
    // The quota, counted under the same lock: what the user keeps besides the
    // file this one replaces.
    let others = sqlx::query_scalar!(
        r#"SELECT coalesce(sum(size_bytes), 0)::bigint AS "n!" FROM files
           WHERE user_id = $1 AND id IS DISTINCT FROM $2"#,
        new.user_id as UserId,
        existing.as_ref().map(|e| e.id),
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(failed)? as u64;
    let quota = state.config.limits.storage_quota_bytes;
    if others + new.size > quota {
        return Err(format!(
            "“{}” was not saved: your files would take {}, over your {} of storage. Delete files you no longer need, then upload it again.",
            new.name,
            crate::files::format_size(others + new.size),
            crate::files::format_size(quota)
        ));
    }
    // One statement writes the row: a new one, or the replaced one under its id.
    let id = existing
        .as_ref()
        .map(|old| old.id)
        .unwrap_or_else(Uuid::now_v7);
    sqlx::query!(
        "INSERT INTO files (id, user_id, kind, name, content_type, size_bytes, sha256, storage_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET name = $4, content_type = $5, size_bytes = $6, sha256 = $7,
             storage_key = $8, updated_at = now()",
        id,
        new.user_id as UserId,
        new.kind.as_str(),
        new.name,
        new.content_type,
        new.size as i64,
        new.sha256,
        new.key,
    )
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    if let Some(old) = &existing {
        // Messages not sent yet will attach it under its new name.
        crate::emails::rename_pending_attachments(&mut tx, old.id, &new.name)
            .await
            .map_err(failed)?;
        schedule_deletion(&mut tx, new.user_id, &old.storage_key)
            .await
            .map_err(failed)?;
    }
    let replaced = existing.map(|old| old.storage_key);
    tx.commit().await.map_err(failed)?;
    if let Some(old) = &replaced {
        remove_object(state, old).await;
    }
    Ok(replaced.is_some())
}

async fn schedule_deletion(
    tx: &mut Transaction<'_, Postgres>,
    user_id: UserId,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO storage_deletions (storage_key, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        key,
        user_id as UserId
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored key of each of the account's files, with its kind and name (for
/// "Download my data").
pub async fn keys(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT kind, name, storage_key FROM files WHERE user_id = $1 ORDER BY kind, lower(name)",
        user_id as UserId
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.kind, r.name, r.storage_key))
        .collect())
}

/// Schedules every object of the account for deletion, in the caller's
/// transaction (the account is being deleted: its rows go, the scheduled
/// deletions stay until storage confirms).
pub async fn schedule_all(
    tx: &mut Transaction<'_, Postgres>,
    user_id: UserId,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO storage_deletions (storage_key, user_id)
         SELECT storage_key, user_id FROM files WHERE user_id = $1
         ON CONFLICT DO NOTHING",
        user_id as UserId
    )
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Deletes the object of a scheduled deletion now. Returns whether storage
/// confirmed; if not, the sweep tries again later.
async fn remove_object(state: &AppState, key: &str) -> bool {
    match state.storage.delete(key).await {
        Ok(()) => {
            let _ = sqlx::query!("DELETE FROM storage_deletions WHERE storage_key = $1", key)
                .execute(&state.pool)
                .await;
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not delete a stored object; the sweep will retry");
            let _ = sqlx::query!(
                "UPDATE storage_deletions SET attempts = attempts + 1, last_error = $2,
                     next_attempt_at = now() + interval '1 minute'
                 WHERE storage_key = $1",
                key,
                e.to_string()
            )
            .execute(&state.pool)
            .await;
            false
        }
    }
}

/// Deletes one of the user's files: the row (queued messages that attach it will
/// fail, naming it), then its object. Returns its name and whether the object is
/// gone already.
#[tracing::instrument(skip_all, fields(%user_id, file_id = %id))]
pub async fn delete(
    state: &AppState,
    user_id: UserId,
    id: Uuid,
) -> Result<(String, bool), AppError> {
    let mut tx = state.pool.begin().await?;
    let row = sqlx::query!(
        "DELETE FROM files WHERE id = $1 AND user_id = $2 RETURNING name, storage_key",
        id,
        user_id as UserId
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    schedule_deletion(&mut tx, user_id, &row.storage_key).await?;
    tx.commit().await?;
    let removed = remove_object(state, &row.storage_key).await;
    tracing::info!(removed, "file deleted");
    Ok((row.name, removed))
}

/// Retries deletions that storage has not confirmed. Returns how many it removed.
pub async fn sweep(state: &AppState) -> Result<usize, sqlx::Error> {
    let due = sqlx::query_scalar!(
        "UPDATE storage_deletions SET next_attempt_at = now() + interval '5 minutes'
         WHERE storage_key IN (SELECT storage_key FROM storage_deletions WHERE next_attempt_at <= now()
                               ORDER BY next_attempt_at LIMIT 100 FOR UPDATE SKIP LOCKED)
         RETURNING storage_key"
    )
    .fetch_all(&state.pool)
    .await?;
    let mut removed = 0;
    for key in due {
        if remove_object(state, &key).await {
            removed += 1;
        }
    }
    Ok(removed)
}

/// The chosen files (ids from a form) among the user's `files`, in order, with
/// their names and sizes; refused next to the `attach` field when one is not the
/// user's or they add up to more than Gmail takes.
pub fn chosen(files: &[FileView], ids: &[Uuid]) -> Result<Vec<(Uuid, String, u64)>, AppError> {
    let mut out: Vec<(Uuid, String, u64)> = Vec::with_capacity(ids.len());
    for id in ids {
        let file = files.iter().find(|f| f.id == *id).ok_or_else(|| {
            AppError::field(
                "attach",
                "One of the chosen files no longer exists. Reload the page and choose again.",
            )
        })?;
        if !out.iter().any(|(i, _, _)| i == id) {
            out.push((file.id, file.name.clone(), file.size_bytes));
        }
    }
    let total: u64 = out.iter().map(|(_, _, size)| size).sum();
    if total > MESSAGE_ATTACHMENTS_MAX_BYTES {
        return Err(AppError::field(
            "attach",
            format!(
                "These files add up to {}; Gmail takes at most 25 MB per message. Choose fewer.",
                format_size(total)
            ),
        ));
    }
    Ok(out)
}

/// Attaches `files` (id and name) to every message in `emails`, in the caller's
/// transaction. `per_email` adds one more file to some messages (a CSV column).
pub async fn attach(
    tx: &mut Transaction<'_, Postgres>,
    emails: &[Uuid],
    files: &[(Uuid, String, u64)],
    per_email: &[Option<(Uuid, String)>],
) -> Result<(), AppError> {
    let mut email_ids = Vec::new();
    let mut positions: Vec<i16> = Vec::new();
    let mut file_ids = Vec::new();
    let mut names = Vec::new();
    for (i, email) in emails.iter().enumerate() {
        let extra = per_email.get(i).cloned().flatten();
        let all = files
            .iter()
            .map(|(id, name, _)| (*id, name.clone()))
            .chain(extra.filter(|(id, _)| !files.iter().any(|(f, _, _)| f == id)));
        for (position, (file_id, name)) in all.enumerate() {
            email_ids.push(*email);
            positions.push(position as i16);
            file_ids.push(file_id);
            names.push(name);
        }
    }
    for start in (0..email_ids.len()).step_by(5_000) {
        let end = (start + 5_000).min(email_ids.len());
        sqlx::query!(
            "INSERT INTO email_attachments (email_id, position, file_id, name)
             SELECT * FROM UNNEST($1::uuid[], $2::int2[], $3::uuid[], $4::text[])",
            &email_ids[start..end],
            &positions[start..end],
            &file_ids[start..end],
            &names[start..end],
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Every message in `emails` attaches these files (id and name), in order, in
/// the caller's transaction. A file deleted since it was chosen is attached
/// by name only, and delivery fails the message saying so.
pub async fn attach_named(
    conn: &mut PgConnection,
    user_id: UserId,
    emails: &[Uuid],
    files: &[(Uuid, String)],
) -> Result<(), sqlx::Error> {
    if files.is_empty() || emails.is_empty() {
        return Ok(());
    }
    let (ids, names): (Vec<Uuid>, Vec<String>) = files.iter().cloned().unzip();
    let positions: Vec<i16> = (0..files.len() as i16).collect();
    sqlx::query!(
        "INSERT INTO email_attachments (email_id, position, file_id, name)
         SELECT e.id, x.position, f.id, x.name
         FROM unnest($1::uuid[]) AS e(id)
         CROSS JOIN unnest($2::int2[], $3::uuid[], $4::text[]) AS x(position, file_id, name)
         LEFT JOIN files f ON f.id = x.file_id AND f.user_id = $5",
        emails,
        &positions,
        &ids,
        &names,
        user_id as UserId,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The files a queued message attaches, for editing it in Write email.
pub async fn attached_to(pool: &PgPool, email_id: Uuid) -> Result<Vec<Uuid>, AppError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT file_id AS "file_id!" FROM email_attachments
           WHERE email_id = $1 AND file_id IS NOT NULL ORDER BY position"#,
        email_id
    )
    .fetch_all(pool)
    .await?)
}

/// Replaces what a queued message attaches (editing it in Write email).
pub async fn reattach(
    tx: &mut Transaction<'_, Postgres>,
    email_id: Uuid,
    files: &[(Uuid, String, u64)],
) -> Result<(), AppError> {
    sqlx::query!(
        "DELETE FROM email_attachments WHERE email_id = $1",
        email_id
    )
    .execute(&mut **tx)
    .await?;
    attach(tx, &[email_id], files, &[]).await
}

/// What the delivery loop attaches: for each message, its files in order, with
/// the stored object when the file still exists.
pub struct Attachment {
    pub email_id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// `None`: the file was deleted after the message was queued.
    pub key: Option<String>,
}

pub async fn for_emails(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<Attachment>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT a.email_id, coalesce(f.name, a.name) AS "name!", f.content_type AS "content_type?",
                  f.size_bytes AS "size_bytes?", f.storage_key AS "storage_key?"
           FROM email_attachments a
           JOIN emails e ON e.id = a.email_id
           LEFT JOIN files f ON f.id = a.file_id AND f.user_id = e.user_id
           WHERE a.email_id = ANY($1)
           ORDER BY a.email_id, a.position"#,
        ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Attachment {
            email_id: r.email_id,
            name: r.name,
            content_type: r
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: r.size_bytes.unwrap_or(0) as u64,
            key: r.storage_key,
        })
        .collect())
}
