//! Reading an uploaded CSV or pasted text from a multipart form, counting bytes as
//! they stream so an oversized upload is refused before it is read to the end.

use crate::merge::recipients::{CsvError, Limits, parse};
use crate::server::multipart::{self, Form, ReadError};
use leptos::server_fn::codec::MultipartData;

/// Room for the form's other fields and the multipart framing.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// An upload: the file name (or "pasted text"), the CSV as text, and the
/// form's other short fields (such as the campaign it is for).
pub struct Upload {
    pub file_name: String,
    pub csv: String,
    pub fields: std::collections::HashMap<String, String>,
}

/// The most a form field other than the CSV may hold.
const FIELD_MAX: usize = 200;

/// Reads the CSV of an upload form; see [`Upload`].
pub async fn read(data: MultipartData) -> Result<(String, String), String> {
    read_upload(data).await.map(|u| (u.file_name, u.csv))
}

pub async fn read_upload(data: MultipartData) -> Result<Upload, String> {
    let limits = Limits::default();
    let max = limits.max_bytes as u64;
    let error = |e: ReadError| match e {
        ReadError::TooLarge => CsvError::TooLarge {
            max_bytes: limits.max_bytes,
        }
        .to_string(),
        other => other.message().to_string(),
    };
    let mut form = Form::of(data).map_err(error)?;
    // Counted over the whole form, so many fields cannot add up to more.
    let mut read = 0u64;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut pasted: Vec<u8> = Vec::new();
    let mut fields = std::collections::HashMap::new();
    while let Some(mut field) = form.next().await.map_err(error)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = multipart::read_all(&mut field, &mut read, max + FORM_OVERHEAD)
            .await
            .map_err(error)?;
        if bytes.len() as u64 > max {
            return Err(error(ReadError::TooLarge));
        }
        match name.as_str() {
            "csv_file" if !bytes.is_empty() => {
                file = Some((file_name.unwrap_or_else(|| "recipients.csv".into()), bytes));
            }
            "csv_text" => pasted = bytes,
            other if bytes.len() <= FIELD_MAX && fields.len() < 8 => {
                if let Ok(text) = String::from_utf8(bytes) {
                    fields.insert(other.to_string(), text);
                }
            }
            _ => {}
        }
    }
    let (name, bytes) = match file {
        Some(f) => f,
        None if !String::from_utf8_lossy(&pasted).trim().is_empty() => {
            ("pasted text".to_string(), pasted)
        }
        None => return Err("Choose a CSV file, or paste your recipients.".into()),
    };
    // Check it now, so a broken file is reported on the page it came from.
    parse(&bytes, limits).map_err(|e| e.to_string())?;
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .to_vec();
    let text = String::from_utf8(bytes).map_err(|_| "The file is not UTF-8 text.".to_string())?;
    Ok(Upload {
        file_name: display_name(&name),
        csv: text,
        fields,
    })
}

/// The name shown for an uploaded file: cleaned as every upload's name is.
fn display_name(raw: &str) -> String {
    let clean = crate::files::ssr::sniff::clean_name(raw);
    if clean.is_empty() {
        "recipients.csv".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(display_name("C:\\Users\\ada\\list.csv"), "list.csv");
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("a\u{0}b\r\n.csv"), "ab .csv");
        assert_eq!(display_name(""), "recipients.csv");
    }
}
