//! An upload, from the multipart stream to a stored object and its row.
//!
//! The file is counted while it streams and spooled to a temporary file (never
//! held whole in memory); one byte over the limit ends the read. Only once the
//! object is stored is the row written, so no row points at a missing object.

use super::repo;
use super::sniff::{self, Sniffer};
use crate::domain::UserId;
use crate::files::{FileKind, too_large_message};
use crate::server::multipart::{self, Form, ReadError};
use crate::state::AppState;
use leptos::server_fn::codec::MultipartData;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Room for the form's other fields and the multipart framing.
const FORM_OVERHEAD: u64 = 16 * 1024;

/// The most a refused upload is read (and thrown away) for: twice the limit.
fn drain_limit(max: u64) -> u64 {
    2 * max + FORM_OVERHEAD
}

/// A refusal, shown next to the form it came from.
#[derive(Debug)]
pub struct UploadError {
    pub kind: Option<FileKind>,
    pub message: String,
}

fn refuse(kind: Option<FileKind>, message: impl Into<String>) -> UploadError {
    UploadError {
        kind,
        message: message.into(),
    }
}

/// A received file, waiting in a temporary file that is removed on drop.
pub struct Spooled {
    pub path: tempfile::TempPath,
    pub len: u64,
    pub sha256: Vec<u8>,
    pub raw_name: String,
    pub sniffer: Sniffer,
}

fn too_large(kind: Option<FileKind>, max: u64) -> UploadError {
    refuse(kind, too_large_message(max))
}

/// Stores the uploaded file. Returns its kind, its name and whether it replaced
/// an earlier one.
pub async fn upload(
    state: &AppState,
    user_id: UserId,
    headers: &axum::http::HeaderMap,
    data: MultipartData,
) -> Result<(FileKind, String, bool), UploadError> {
    let max = state.config.upload_max_bytes;
    // Refused before a byte is read when the browser says how much is coming.
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > drain_limit(max)) {
        return Err(too_large(None, max));
    }
    // A browser that declared a little too much gets to finish sending (discarded)
    // so that it reads the answer; resetting the connection would show it an error
    // page instead. Anything larger, or undeclared, is cut off at the limit.
    let drain = declared.is_some();
    let (kind, spooled) = receive(data, max, drain).await?;
    let path = spooled.path.to_path_buf();
    let sniffer = spooled.sniffer;
    let found = tokio::task::spawn_blocking(move || sniffer.finish(&path))
        .await
        .map_err(|_| refuse(Some(kind), "The upload could not be checked. Try again."))?;
    let name = sniff::accept(&spooled.raw_name, kind, found)
        .map_err(|message| refuse(Some(kind), message))?;
    // `accept` refuses an unknown type, so this is always there.
    let found = found.ok_or_else(|| refuse(Some(kind), "The file type is not supported."))?;
    let new = repo::NewFile {
        user_id,
        kind,
        content_type: found.content_type(&name).to_string(),
        name,
        size: spooled.len,
        sha256: spooled.sha256,
        key: crate::storage::new_key(user_id),
    };
    if let Err(e) = state
        .storage
        .put(&new.key, &spooled.path, new.size, &new.content_type)
        .await
    {
        tracing::error!(%user_id, error = %e, "upload: storage refused the file");
        return Err(refuse(
            Some(kind),
            format!(
                "File storage is not answering, so “{}” was not saved. Nothing was changed; try again in a minute.",
                new.name
            ),
        ));
    }
    match repo::save(state, &new).await {
        Ok(replaced) => {
            tracing::info!(%user_id, kind = kind.as_str(), size = new.size, replaced, "file stored");
            Ok((kind, new.name, replaced))
        }
        Err(e) => {
            // The row was not written: take the object back out.
            if let Err(e) = state.storage.delete(&new.key).await {
                tracing::warn!(error = %e, "upload: could not remove the object of a failed save");
            }
            Err(refuse(Some(kind), e))
        }
    }
}

/// Reads the form: `kind`, then `file`, spooled and counted. With `drain`, a file
/// over the limit is read on (to `drain_limit`) without being kept.
async fn receive(
    data: MultipartData,
    max: u64,
    drain: bool,
) -> Result<(FileKind, Spooled), UploadError> {
    let unreadable = |kind, e: ReadError| match e {
        ReadError::TooLarge => too_large(kind, max),
        other => refuse(kind, other.message()),
    };
    let mut form = Form::of(data).map_err(|e| unreadable(None, e))?;
    let mut kind = None;
    let mut spooled = None;
    while let Some(mut field) = form.next().await.map_err(|e| unreadable(kind, e))? {
        match field.name().unwrap_or_default() {
            "kind" => {
                let value = multipart::read_all(&mut field, &mut 0, 64)
                    .await
                    .map_err(|_| refuse(None, ReadError::Unreadable.message()))?;
                kind = FileKind::parse(String::from_utf8_lossy(&value).trim());
            }
            "file" => {
                let raw_name = field.file_name().unwrap_or_default().to_string();
                let saving = || refuse(kind, "The upload could not be saved. Try again.");
                let temp = tempfile::NamedTempFile::new()
                    .map_err(|e| {
                        tracing::error!(error = %e, "upload: no temporary file");
                        saving()
                    })?
                    .into_temp_path();
                let mut out = tokio::fs::File::create(&temp).await.map_err(|_| saving())?;
                let mut hash = Sha256::new();
                let mut sniffer = Sniffer::new();
                let mut len = 0u64;
                loop {
                    let chunk = match multipart::chunk(&mut field, &mut len, max).await {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) => break,
                        Err(ReadError::TooLarge) => {
                            if drain {
                                multipart::discard(&mut field, len, drain_limit(max)).await;
                            }
                            return Err(too_large(kind, max));
                        }
                        Err(e) => return Err(unreadable(kind, e)),
                    };
                    hash.update(&chunk);
                    sniffer.feed(&chunk);
                    out.write_all(&chunk).await.map_err(|_| saving())?;
                }
                out.flush().await.map_err(|_| saving())?;
                if len == 0 {
                    if raw_name.is_empty() {
                        return Err(refuse(kind, "Choose a file first."));
                    }
                    return Err(refuse(kind, format!("“{raw_name}” is empty.")));
                }
                spooled = Some(Spooled {
                    path: temp,
                    len,
                    sha256: hash.finalize().to_vec(),
                    raw_name,
                    sniffer,
                });
            }
            _ => {}
        }
    }
    let kind = kind.ok_or_else(|| refuse(None, "The upload could not be read."))?;
    let spooled = spooled.ok_or_else(|| refuse(Some(kind), "Choose a file first."))?;
    Ok((kind, spooled))
}
