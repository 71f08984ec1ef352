//! Files: a resume, a cover letter and any number of attachments, kept in object
//! storage and attached to messages when they are sent.

#[cfg(feature = "ssr")]
pub mod ssr;

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Gmail's limit for one message's attachments.
pub const MESSAGE_ATTACHMENTS_MAX_BYTES: u64 = 25 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    Resume,
    CoverLetter,
    Attachment,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Resume => "resume",
            FileKind::CoverLetter => "cover_letter",
            FileKind::Attachment => "attachment",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "resume" => Some(FileKind::Resume),
            "cover_letter" => Some(FileKind::CoverLetter),
            "attachment" => Some(FileKind::Attachment),
            _ => None,
        }
    }

    /// "resume", "cover letter", "attachment": for sentences.
    pub fn noun(self) -> &'static str {
        match self {
            FileKind::Resume => "resume",
            FileKind::CoverLetter => "cover letter",
            FileKind::Attachment => "attachment",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    pub id: Uuid,
    pub kind: FileKind,
    pub name: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// Queued messages that will attach it.
    pub queued_uses: i64,
}

impl FileView {
    /// The label of its checkbox in Write email and Mail merge.
    pub fn choice_label(&self) -> String {
        let size = format_size(self.size_bytes);
        match self.kind {
            FileKind::Resume => format!("Include resume ({}, {size})", self.name),
            FileKind::CoverLetter => format!("Include cover letter ({}, {size})", self.name),
            FileKind::Attachment => format!("Attach {} ({size})", self.name),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesPage {
    pub resume: Option<FileView>,
    pub cover_letter: Option<FileView>,
    pub attachments: Vec<FileView>,
    pub max_bytes: u64,
    /// Stored copies of deleted files that storage has not confirmed removing yet.
    pub pending_deletions: i64,
    /// What the user's files take, and the most they may.
    pub used_bytes: u64,
    pub quota_bytes: u64,
}

/// Why a file over the limit is refused (by the browser or the server).
pub fn too_large_message(max_bytes: u64) -> String {
    format!(
        "That file is larger than {}, the most one file may be. Make it smaller (for a PDF, export it again with smaller images) and upload it again.",
        format_size(max_bytes)
    )
}

/// "912 bytes", "312 KB", "2.4 MB".
pub fn format_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes < KB {
        format!("{bytes} bytes")
    } else if bytes < MB {
        format!("{} KB", bytes.div_ceil(KB))
    } else {
        let tenths = (bytes * 10).div_ceil(MB);
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    }
}

#[server(endpoint = "files/list")]
pub async fn get_files() -> Result<FilesPage, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    ssr::repo::page(&state, user_id).await
}

/// Uploads (or replaces) a file: a plain multipart form, read as it streams.
/// Goes back to `/files` saying what happened, next to the form it came from.
#[server(endpoint = "files/upload", input = MultipartFormData)]
pub async fn upload_file(data: MultipartData) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let result = match crate::limits::per_user(&state, user_id, crate::limits::Costly::Upload).await
    {
        Ok(()) => ssr::upload::upload(&state, user_id, &headers, data).await,
        Err(e @ AppError::RateLimited { .. }) => Err(ssr::upload::UploadError {
            kind: None,
            message: e.to_string(),
        }),
        Err(e) => return Err(e),
    };
    let back = match result {
        Ok((kind, name, replaced)) => format!(
            "/files?{}={}",
            if replaced { "replaced" } else { "saved" },
            query(&format!("{}:{name}", kind.as_str()))
        ),
        Err(e) => format!(
            "/files?error={}&for={}",
            query(&e.message),
            e.kind.map(FileKind::as_str).unwrap_or("attachment")
        ),
    };
    leptos_axum::redirect(&back);
    Ok(())
}

/// Deletes a file and its stored copy.
#[server(endpoint = "files/delete")]
pub async fn delete_file(id: Uuid) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let (name, removed) = ssr::repo::delete(&state, user_id, id).await?;
    leptos_axum::redirect(&format!(
        "/files?deleted={}{}",
        query(&name),
        if removed { "" } else { "&pending=1" }
    ));
    Ok(())
}

#[cfg(feature = "ssr")]
fn query(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::format_size;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_size(912), "912 bytes");
        assert_eq!(format_size(312 * 1024), "312 KB");
        assert_eq!(format_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(format_size(2_500_000), "2.4 MB");
    }
}
