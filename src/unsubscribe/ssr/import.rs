//! Importing addresses into the suppression list from a CSV file, and the
//! export (`GET /suppression/export.csv`).

use super::repo;
use crate::auth::ssr::session;
use crate::domain::{EmailAddress, UserId};
use crate::error::AppError;
use crate::server::multipart::{self, Form, ReadError};
use crate::state::AppState;
use crate::unsubscribe::{MAX_IMPORT_ROWS, Reason};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::server_fn::codec::MultipartData;
use tower_sessions::Session;

/// The largest file an import reads.
pub const MAX_IMPORT_BYTES: u64 = 4 * 1024 * 1024;
/// The bad lines named in the result; the rest are counted.
const NAMED_BAD_LINES: usize = 20;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: u64,
    /// Valid addresses that were on the list already.
    pub already: u64,
    /// Lines that hold no valid address (the first few), and how many there were.
    pub bad_lines: Vec<u64>,
    pub bad: u64,
}

impl ImportReport {
    /// Where the form goes back to, saying what happened.
    pub fn query(&self) -> String {
        let lines: Vec<String> = self.bad_lines.iter().map(u64::to_string).collect();
        format!(
            "/suppression?imported={}&already={}&bad={}&bad_lines={}",
            self.added,
            self.already,
            self.bad,
            lines.join(",")
        )
    }
}

/// The addresses of a CSV file: a column called email, email address or
/// address, else the first column; blank cells are skipped.
pub fn addresses(csv: &[u8]) -> Result<(Vec<String>, Vec<u64>, u64), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv));
    let mut column = 0usize;
    let mut found = Vec::new();
    let mut bad_lines = Vec::new();
    let mut bad = 0u64;
    for (i, record) in reader.byte_records().enumerate() {
        let record = record.map_err(|_| "The file could not be read as CSV.".to_string())?;
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        let cell = |n: usize| {
            String::from_utf8_lossy(record.get(n).unwrap_or_default())
                .trim()
                .to_string()
        };
        if i == 0 {
            let header = (0..record.len()).find(|&n| {
                matches!(
                    crate::merge::normalize_key(&cell(n)).as_str(),
                    "email" | "e_mail" | "email_address" | "address"
                )
            });
            if let Some(n) = header {
                column = n;
                continue;
            }
        }
        let raw = cell(column);
        if raw.is_empty() {
            continue;
        }
        match EmailAddress::parse(&raw) {
            Ok(a) => found.push(a.normalized()),
            Err(_) => {
                bad += 1;
                if bad_lines.len() < NAMED_BAD_LINES {
                    bad_lines.push(line);
                }
            }
        }
        if found.len() > MAX_IMPORT_ROWS {
            return Err(format!(
                "The file has more than {MAX_IMPORT_ROWS} addresses. Split it and import each part."
            ));
        }
    }
    found.sort();
    found.dedup();
    Ok((found, bad_lines, bad))
}

/// Reads the form's `file` and adds its addresses; `Err(message)` is shown
/// next to the import form.
pub async fn import(
    state: &AppState,
    user: UserId,
    data: MultipartData,
) -> Result<Result<ImportReport, String>, AppError> {
    let too_large = || {
        format!(
            "The file is larger than {} MB. Split it and import each part.",
            MAX_IMPORT_BYTES / (1024 * 1024)
        )
    };
    let message = |e: ReadError| match e {
        ReadError::TooLarge => too_large(),
        other => other.message().to_string(),
    };
    let mut form = match Form::of(data) {
        Ok(f) => f,
        Err(e) => return Ok(Err(message(e))),
    };
    let mut bytes = None;
    let mut read = 0u64;
    loop {
        let mut field = match form.next().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Ok(Err(message(e))),
        };
        let is_file = field.name() == Some("file");
        match multipart::read_all(&mut field, &mut read, MAX_IMPORT_BYTES).await {
            Ok(b) if is_file => bytes = Some(b),
            Ok(_) => {}
            Err(e) => return Ok(Err(message(e))),
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return Ok(Err("Choose a CSV file first.".into()));
    };
    let parsed = state.rendering.run(move || addresses(&bytes)).await?;
    let (found, bad_lines, bad) = match parsed {
        Ok(p) => p,
        Err(message) => return Ok(Err(message)),
    };
    let mut tx = state.pool.begin().await?;
    let added = repo::add(&mut tx, user, &found, Reason::Imported).await?;
    tx.commit().await?;
    tracing::info!(%user, added, bad, "suppression list imported");
    Ok(Ok(ImportReport {
        added,
        already: found.len() as u64 - added,
        bad_lines,
        bad,
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/suppression/export.csv", get(export))
}

/// The whole list as CSV: address, reason, since.
async fn export(State(state): State<AppState>, session: Session) -> Response {
    let user = match session::user_id(&session).await {
        Ok(Some(id)) => id,
        Ok(None) => return Redirect::to("/login?next=%2Fsuppression").into_response(),
        Err(e) => return e.into_response(),
    };
    let rows = match repo::all(&state.pool, user).await {
        Ok(rows) => rows,
        Err(e) => return AppError::from(e).into_response(),
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["address", "reason", "since"]);
    for r in &rows {
        let _ = out.write_record([
            spreadsheet_safe(&r.address).as_str(),
            r.reason.as_str(),
            &r.since_iso,
        ]);
    }
    let body = out.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"suppression-list.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first)
/// starts with `'` instead. Every CSV we hand out goes through it.
pub fn spreadsheet_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_names_the_column_else_the_first_is_used() {
        let (found, bad_lines, bad) = addresses(
            b"Name,E-mail\nAda,ADA@x.io\nBob,not an address\n,\nCy,cy@x.io\nDup,ada@x.io\n",
        )
        .unwrap();
        assert_eq!(found, ["ada@x.io", "cy@x.io"]);
        assert_eq!((bad_lines, bad), (vec![3], 1));
        let (found, _, bad) = addresses(b"\xEF\xBB\xBFa@x.io\nb@x.io,extra\n").unwrap();
        assert_eq!(
            (found, bad),
            (vec!["a@x.io".to_string(), "b@x.io".to_string()], 0)
        );
    }

    #[test]
    fn formulas_do_not_reach_a_spreadsheet() {
        assert_eq!(spreadsheet_safe("=cmd@x.io"), "'=cmd@x.io");
        assert_eq!(spreadsheet_safe("ada@x.io"), "ada@x.io");
    }
}
