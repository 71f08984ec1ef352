//! What a file is, from its bytes, and the name it is shown and attached under.

use crate::files::FileKind;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Docx,
    Png,
    Jpeg,
    Text,
}

impl FileType {
    fn describe(self) -> &'static str {
        match self {
            FileType::Pdf => "a PDF",
            FileType::Docx => "a Word document (.docx)",
            FileType::Png => "a PNG image",
            FileType::Jpeg => "a JPEG image",
            FileType::Text => "a text file",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Pdf => &["pdf"],
            FileType::Docx => &["docx"],
            FileType::Png => &["png"],
            FileType::Jpeg => &["jpg", "jpeg"],
            FileType::Text => &["txt", "csv", "text"],
        }
    }

    fn of_extension(ext: &str) -> Option<FileType> {
        [
            FileType::Pdf,
            FileType::Docx,
            FileType::Png,
            FileType::Jpeg,
            FileType::Text,
        ]
        .into_iter()
        .find(|t| t.extensions().contains(&ext))
    }

    /// The MIME type of a file of this type named `name`.
    pub fn content_type(self, name: &str) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Text if extension(name).as_deref() == Some("csv") => "text/csv",
            FileType::Text => "text/plain",
        }
    }
}

/// Watches an upload go by: its first bytes, and whether it is all UTF-8 text.
#[derive(Default)]
pub struct Sniffer {
    head: Vec<u8>,
    /// Still plausible as text: valid UTF-8 so far, no NUL or stray control bytes.
    text: bool,
    /// The bytes of a UTF-8 sequence cut by a chunk boundary.
    carry: Vec<u8>,
    seen: u64,
}

impl Sniffer {
    pub fn new() -> Self {
        Sniffer {
            text: true,
            ..Default::default()
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.head.len() < 16 {
            let take = (16 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.seen += chunk.len() as u64;
        if !self.text {
            return;
        }
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(chunk);
        let valid = match std::str::from_utf8(&bytes) {
            Ok(s) => s,
            Err(e) if e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4 => {
                self.carry = bytes[e.valid_up_to()..].to_vec();
                // Checked just above.
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                self.text = false;
                return;
            }
        };
        if valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
        {
            self.text = false;
        }
    }

    /// The type of the whole file, now at `path`. Reads the end of a ZIP to tell
    /// a Word document from any other ZIP.
    pub fn finish(self, path: &Path) -> Option<FileType> {
        let head = &self.head;
        if head.starts_with(b"%PDF-") {
            Some(FileType::Pdf)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileType::Png)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileType::Jpeg)
        } else if head.starts_with(b"PK\x03\x04") {
            is_docx(path).unwrap_or(false).then_some(FileType::Docx)
        } else if self.text && self.carry.is_empty() && self.seen > 0 {
            Some(FileType::Text)
        } else {
            None
        }
    }
}

/// A ZIP whose central directory names `word/document.xml` and `[Content_Types].xml`.
fn is_docx(path: &Path) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KB.
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0; tail_len as usize];
    file.read_exact(&mut tail)?;
    let Some(eocd) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(false);
    };
    let record = &tail[eocd..];
    if record.len() < 22 {
        return Ok(false);
    }
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    let (size, offset) = (u32_at(record, 12) as u64, u32_at(record, 16) as u64);
    if size > 8 * 1024 * 1024 || offset + size > len {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut dir = vec![0; size as usize];
    file.read_exact(&mut dir)?;
    let (mut document, mut types) = (false, false);
    let mut i = 0;
    while i + 46 <= dir.len() && &dir[i..i + 4] == b"PK\x01\x02" {
        let name_len = u16_at(&dir, i + 28);
        let skip = 46 + name_len + u16_at(&dir, i + 30) + u16_at(&dir, i + 32);
        let Some(name) = dir.get(i + 46..i + 46 + name_len) else {
            return Ok(false);
        };
        document |= name == b"word/document.xml";
        types |= name == b"[Content_Types].xml";
        i += skip;
    }
    Ok(document && types)
}

/// The lower-case extension of a name, if it has one.
pub fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 10).then(|| ext.to_ascii_lowercase())
}

/// A name fit to show and to attach: no path, no control characters or
/// characters that file systems and mail clients trip on, at most 100 characters.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let mut out = String::with_capacity(base.len());
    for c in base.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c.is_control() || matches!(c, '"' | '*' | ':' | '<' | '>' | '?' | '|') {
            continue;
        }
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_matches([' ', '.']).to_string();
    if out.chars().count() <= 100 {
        return out;
    }
    match extension(&out) {
        Some(ext) => {
            let stem: String = out.chars().take(99 - ext.len()).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => out.chars().take(100).collect(),
    }
}

/// Checks the upload's content against what it is for and its name, and gives
/// the name to keep. Every refusal says what to do.
pub fn accept(raw_name: &str, kind: FileKind, found: Option<FileType>) -> Result<String, String> {
    let mut name = clean_name(raw_name);
    let shown = if name.is_empty() {
        "The file".to_string()
    } else {
        format!("“{name}”")
    };
    let Some(found) = found else {
        return Err(match kind {
            FileKind::Attachment => format!(
                "{shown} is not a type of file MailMerger can attach. Upload a PDF, a Word document (.docx), a PNG or JPEG image, or a text or CSV file."
            ),
            _ => format!(
                "{shown} is not a PDF. Your {} must be a PDF: save it as a PDF and upload that.",
                kind.noun()
            ),
        });
    };
    // A name that claims another type is the first thing to point out.
    if let Some(claimed) = extension(&name).and_then(|ext| FileType::of_extension(&ext))
        && claimed != found
    {
        return Err(format!(
            "{shown} is not {}: its content is {}. Files are checked by what they contain, not by their name.",
            claimed.describe(),
            found.describe()
        ));
    }
    if kind != FileKind::Attachment && found != FileType::Pdf {
        return Err(format!(
            "Your {} must be a PDF, and {shown} is {}. Save it as a PDF and upload that.",
            kind.noun(),
            found.describe()
        ));
    }
    match extension(&name) {
        Some(ext) if found.extensions().contains(&ext.as_str()) => {}
        Some(ext) => {
            return Err(format!(
                "{shown} is {}, but its name ends in .{ext}. Rename it to end in .{} and upload it again.",
                found.describe(),
                found.extensions()[0]
            ));
        }
        None => {
            if name.is_empty() {
                name = match kind {
                    FileKind::Resume => "resume".into(),
                    FileKind::CoverLetter => "cover-letter".into(),
                    FileKind::Attachment => "attachment".into(),
                };
            }
            name = format!("{name}.{}", found.extensions()[0]);
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(bytes: &[u8]) -> Option<FileType> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let mut s = Sniffer::new();
        // In awkward pieces, as a network would deliver them.
        for chunk in bytes.chunks(3) {
            s.feed(chunk);
        }
        s.finish(&path)
    }

    /// The smallest ZIP with the given entry names (stored, empty).
    fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for name in names {
            let offset = out.len() as u32;
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(name.as_bytes());
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let dir_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&dir_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), Some(FileType::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(FileType::Jpeg)
        );
        assert_eq!(
            sniff("name,email\nZoë,z@x.io\n".as_bytes()),
            Some(FileType::Text)
        );
        assert_eq!(
            sniff(&zip(&["[Content_Types].xml", "word/document.xml"])),
            Some(FileType::Docx)
        );
        assert_eq!(
            sniff(&zip(&["[Content_Types].xml", "xl/workbook.xml"])),
            None
        );
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(sniff(b"text with a \0 NUL"), None);
        assert_eq!(sniff(b"\xC3"), None, "cut-off UTF-8 is not text");
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn names_lose_paths_and_dangerous_characters() {
        assert_eq!(clean_name("C:\\Users\\ada\\CV 2026.pdf"), "CV 2026.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\"b<c>\r\n  d.pdf"), "abc d.pdf");
        assert_eq!(clean_name("...hidden."), "hidden");
        let long = format!("{}.pdf", "x".repeat(300));
        let cleaned = clean_name(&long);
        assert_eq!(cleaned.chars().count(), 100);
        assert!(cleaned.ends_with(".pdf"));
    }

    #[test]
    fn the_content_must_match_the_purpose_and_the_name() {
        assert_eq!(
            accept("cv.pdf", FileKind::Resume, Some(FileType::Pdf)).unwrap(),
            "cv.pdf"
        );
        assert_eq!(
            accept("", FileKind::Resume, Some(FileType::Pdf)).unwrap(),
            "resume.pdf"
        );
        assert_eq!(
            accept("scan", FileKind::Attachment, Some(FileType::Png)).unwrap(),
            "scan.png"
        );
        let e = accept("resume.pdf", FileKind::Resume, None).unwrap_err();
        assert!(e.contains("“resume.pdf” is not a PDF"), "{e}");
        let e = accept("photo.pdf", FileKind::Attachment, Some(FileType::Png)).unwrap_err();
        assert!(
            e.contains("is not a PDF: its content is a PNG image"),
            "{e}"
        );
        let e = accept("cv.docx", FileKind::Resume, Some(FileType::Docx)).unwrap_err();
        assert!(e.contains("must be a PDF"), "{e}");
        let e = accept("tool.exe", FileKind::Attachment, None).unwrap_err();
        assert!(e.contains("not a type of file"), "{e}");
        let e = accept("notes.bin", FileKind::Attachment, Some(FileType::Text)).unwrap_err();
        assert!(e.contains("ends in .bin"), "{e}");
    }
}
