//! Reading an uploaded CSV or pasted text from a multipart form, counting bytes as
//! they stream so an oversized upload is refused before it is read to the end.

use crate::merge::recipients::{CsvError, Limits, parse};
use leptos::server_fn::codec::MultipartData;

/// Returns the file name (or "pasted text") and the CSV as text.
pub async fn read(data: MultipartData) -> Result<(String, String), String> {
    let limits = Limits::default();
    let too_large = || {
        CsvError::TooLarge {
            max_bytes: limits.max_bytes,
        }
        .to_string()
    };
    let mut multipart = data
        .into_inner()
        .ok_or_else(|| "The upload could not be read.".to_string())?;
    let mut total = 0usize;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut pasted: Vec<u8> = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| "The upload could not be read. Try again.".to_string())?
    {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|_| "The upload was interrupted. Try again.".to_string())?
        {
            total += chunk.len();
            if total > limits.max_bytes + 64 * 1024 || bytes.len() + chunk.len() > limits.max_bytes
            {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csv_file" if !bytes.is_empty() => {
                file = Some((file_name.unwrap_or_else(|| "recipients.csv".into()), bytes));
            }
            "csv_text" => pasted = bytes,
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
    Ok((display_name(&name), text))
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
