//! "Download my data": one zip with the account's templates, contacts,
//! suppression list and every message as CSV, and its files as they were
//! uploaded (docs/accounts.md, "Download and delete").
//!
//! The zip is written to an anonymous temporary file by a blocking thread,
//! fed page by page through a small channel, so neither a long history nor
//! large files are held in memory at once; the finished file is then streamed.

use crate::domain::UserId;
use crate::error::AppError;
use crate::state::AppState;
use std::io::{Seek, SeekFrom, Write};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// Messages read per query.
const PAGE: i64 = 2_000;

enum Piece {
    /// A new entry: its name, and whether to compress it.
    Start(String, bool),
    Bytes(Vec<u8>),
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

fn csv_bytes(rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        // Addresses and subjects may come from other people's CSVs: none runs
        // as a formula in a spreadsheet.
        let row = row
            .iter()
            .map(|c| crate::unsubscribe::ssr::import::spreadsheet_safe(c));
        out.write_record(row).map_err(AppError::internal)?;
    }
    out.into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

/// A name that stays inside its folder of the zip.
fn entry_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match clean.trim_matches('.') {
        "" => "file".into(),
        trimmed => trimmed.to_string(),
    }
}

/// Builds the zip of `user_id`'s data; the file is rewound, ready to send.
pub async fn build(state: &AppState, user_id: UserId) -> Result<std::fs::File, AppError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(4);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<std::fs::File> {
        let mut zip = zip::ZipWriter::new(tempfile::tempfile()?);
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        while let Some(piece) = rx.blocking_recv() {
            match piece {
                Piece::Start(name, compress) => {
                    zip.start_file(name, if compress { deflated } else { stored })?
                }
                Piece::Bytes(bytes) => zip.write_all(&bytes)?,
            }
        }
        let mut file = zip.finish()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    });
    let produced = produce(state, user_id, &tx).await;
    drop(tx);
    let file = writer
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    produced?;
    Ok(file)
}

async fn produce(
    state: &AppState,
    user_id: UserId,
    tx: &tokio::sync::mpsc::Sender<Piece>,
) -> Result<(), AppError> {
    let send = |piece: Piece| async move {
        tx.send(piece)
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("the zip writer stopped")))
    };
    let pool = &state.pool;

    let templates = crate::templates::ssr::repo::export(pool, user_id).await?;
    send(Piece::Start("templates.csv".into(), true)).await?;
    send(Piece::Bytes(csv_bytes(
        std::iter::once(
            ["name", "subject", "body", "created", "updated"]
                .map(String::from)
                .to_vec(),
        )
        .chain(
            templates
                .into_iter()
                .map(|(name, subject, body, created, updated)| {
                    vec![
                        name,
                        subject,
                        body,
                        when(Some(created)),
                        when(Some(updated)),
                    ]
                }),
        ),
    )?))
    .await?;

    let contacts = crate::emails::read::contacts(pool, user_id).await?;
    send(Piece::Start("contacts.csv".into(), true)).await?;
    send(Piece::Bytes(csv_bytes(
        std::iter::once(
            ["address", "messages_sent", "last_sent"]
                .map(String::from)
                .to_vec(),
        )
        .chain(
            contacts
                .into_iter()
                .map(|(address, n, last)| vec![address, n.to_string(), when(last)]),
        ),
    )?))
    .await?;

    let suppressed = crate::unsubscribe::ssr::repo::all(pool, user_id).await?;
    send(Piece::Start("suppression.csv".into(), true)).await?;
    send(Piece::Bytes(csv_bytes(
        std::iter::once(["address", "reason", "since"].map(String::from).to_vec()).chain(
            suppressed
                .into_iter()
                .map(|s| vec![s.address, s.reason.as_str().to_string(), s.since_iso]),
        ),
    )?))
    .await?;

    send(Piece::Start("messages.csv".into(), true)).await?;
    send(Piece::Bytes(csv_bytes([[
        "id", "created", "status", "sent", "to", "cc", "bcc", "subject", "text", "error",
    ]
    .map(String::from)
    .to_vec()])?))
    .await?;
    let mut after = None;
    loop {
        let page = crate::emails::read::export_page(pool, user_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() as i64 == PAGE;
        send(Piece::Bytes(csv_bytes(page.into_iter().map(|m| {
            vec![
                m.id.to_string(),
                when(Some(m.created_at)),
                m.status,
                when(m.sent_at),
                m.to_addrs.join(", "),
                m.cc_addrs.join(", "),
                m.bcc_addrs.join(", "),
                m.subject,
                m.body_text,
                m.last_error.unwrap_or_default(),
            ]
        }))?))
        .await?;
        if !full {
            break;
        }
    }

    for (kind, name, key) in crate::files::ssr::repo::keys(pool, user_id).await? {
        let mut object = match state.storage.get(&key).await {
            Ok(o) => o,
            Err(crate::storage::StorageError::NotFound) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "export: a file could not be read");
                return Err(AppError::Unavailable);
            }
        };
        send(Piece::Start(
            format!("files/{kind}/{}", entry_name(&name)),
            false,
        ))
        .await?;
        use futures::StreamExt;
        while let Some(chunk) = object.body.next().await {
            let chunk = chunk.map_err(|_| AppError::Unavailable)?;
            send(Piece::Bytes(chunk.to_vec())).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_names_stay_in_their_folder() {
        assert_eq!(super::entry_name("CV.pdf"), "CV.pdf");
        assert_eq!(super::entry_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(super::entry_name(".."), "file");
        assert_eq!(super::entry_name("a\\b\nc"), "a_b_c");
    }
}
