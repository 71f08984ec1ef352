//! Recipients from a CSV file or pasted text.
//!
//! UTF-8 with or without a BOM; comma, semicolon or tab separated (detected from
//! the header line); quoted fields, embedded newlines and CRLF. The first row is
//! the header, normalised into keys. Rows keep the line they start on, so every
//! problem can be reported where the user will look for it.

use super::scan::normalize_key;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: usize,
    pub max_bytes: usize,
    pub max_columns: usize,
    /// The longest column name, in characters.
    pub max_header_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 10_000,
            max_bytes: 5 * 1024 * 1024,
            max_columns: 100,
            max_header_chars: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("The file is empty. The first row should name the columns, such as email,first_name.")]
    Empty,
    #[error("The file is larger than {} MB. Split it into smaller files.", .max_bytes / (1024 * 1024))]
    TooLarge { max_bytes: usize },
    #[error("The file has more than {max_rows} recipients. Split it into smaller files.")]
    TooManyRows { max_rows: usize },
    #[error("Line {line} is not UTF-8 text. Save the file as \"CSV UTF-8\" and try again.")]
    NotUtf8 { line: u64 },
    #[error("Line {line} could not be read: {message}")]
    Malformed { line: u64, message: String },
    #[error("Two columns are both called \"{key}\". Rename one of them.")]
    DuplicateColumn { key: String },
    #[error(
        "The file has {columns} columns; a merge can use at most {max_columns}. Remove the columns you do not need."
    )]
    TooManyColumns { columns: usize, max_columns: usize },
    #[error(
        "Column {column}'s name is longer than {max_chars} characters. Is the first row really the column names?"
    )]
    HeaderTooLong { column: usize, max_chars: usize },
}

/// One row, compactly: its non-empty cells' text back to back, and for each cell
/// its column and where its text ends. A cell costs its bytes and 8 more, so a
/// parse takes a small multiple of the file's size (docs/limits.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line of the file the row starts on (the header is line 1).
    pub line: u64,
    /// The table's column keys, shared by every row.
    columns: Arc<[String]>,
    text: String,
    cells: Vec<(u16, u32)>,
    /// Cells beyond the header's columns that are not empty.
    pub extra_cells: usize,
}

impl Row {
    /// No value in any column (and nothing beyond them).
    pub fn is_empty(&self) -> bool {
        self.extra_cells == 0 && self.cells.is_empty()
    }

    /// The row's values by normalised column key, in column order. Short rows
    /// lack the last keys; empty cells are not there.
    pub fn values(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0usize;
        self.cells.iter().map(move |&(column, end)| {
            let value = &self.text[start..end as usize];
            start = end as usize;
            (self.columns[column as usize].as_str(), value)
        })
    }

    /// The value in the column `key`, if it is not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The values as a map, kept with a queued message so it can be edited.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.values()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Normalised keys, in column order.
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// The column that holds addresses: `email` or `email_address`.
    pub fn email_column(&self) -> Option<&str> {
        ["email", "email_address", "e_mail", "e_mail_address"]
            .into_iter()
            .find(|c| self.columns.iter().any(|k| k == c))
    }
}

/// Picks the delimiter that splits the header line into the most fields.
fn detect_delimiter(text: &str) -> u8 {
    let header = first_record_text(text);
    let count = |d: char| {
        let mut n = 0;
        let mut quoted = false;
        for c in header.chars() {
            match c {
                '"' => quoted = !quoted,
                c if c == d && !quoted => n += 1,
                _ => {}
            }
        }
        n
    };
    [(b',', count(',')), (b';', count(';')), (b'\t', count('\t'))]
        .into_iter()
        .max_by_key(|&(d, n)| (n, d == b','))
        .map_or(b',', |(d, _)| d)
}

/// The header line, honouring quotes that span lines.
fn first_record_text(text: &str) -> &str {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => return &text[..i],
            _ => {}
        }
    }
    text
}

pub fn parse(bytes: &[u8], limits: Limits) -> Result<Table, CsvError> {
    if bytes.len() > limits.max_bytes {
        return Err(CsvError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| CsvError::NotUtf8 {
        line: bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1,
    })?;
    if text.trim().is_empty() {
        return Err(CsvError::Empty);
    }

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(detect_delimiter(text))
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());

    let headers = reader.headers().map_err(|e| malformed(&e))?.clone();
    if headers.len() > limits.max_columns {
        return Err(CsvError::TooManyColumns {
            columns: headers.len(),
            max_columns: limits.max_columns,
        });
    }
    let mut columns: Vec<String> = Vec::with_capacity(headers.len());
    let mut seen = std::collections::HashSet::with_capacity(headers.len());
    for (i, raw) in headers.iter().enumerate() {
        if raw.trim().chars().count() > limits.max_header_chars {
            return Err(CsvError::HeaderTooLong {
                column: i + 1,
                max_chars: limits.max_header_chars,
            });
        }
        let mut key = normalize_key(raw);
        if key.is_empty() {
            key = format!("column_{}", i + 1);
        }
        if !seen.insert(key.clone()) {
            return Err(CsvError::DuplicateColumn { key });
        }
        columns.push(key);
    }

    let keys: Arc<[String]> = columns.clone().into();
    let mut rows = Vec::new();
    // csv's own line numbers skip blank lines; count newlines up to each record's
    // first byte instead, so the numbers match what an editor shows.
    let mut counted_to = 0usize;
    let mut line = 1u64;
    for record in reader.records() {
        let record = record.map_err(|e| malformed(&e))?;
        let start = record.position().map_or(counted_to, |p| p.byte() as usize);
        let start =
            start + text[start..].len() - text[start..].trim_start_matches(['\r', '\n']).len();
        line += text.as_bytes()[counted_to..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted_to = start;
        // Empty cells are not kept: a missing value and an empty one mean the same
        // to a merge, and a file of commas must not cost anything per cell.
        let mut text = String::new();
        let mut cells = Vec::new();
        for (column, value) in record.iter().take(keys.len()).enumerate() {
            let value = value.trim();
            if !value.is_empty() {
                text.push_str(value);
                cells.push((column as u16, text.len() as u32));
            }
        }
        text.shrink_to_fit();
        cells.shrink_to_fit();
        let extra_cells = record
            .iter()
            .skip(columns.len())
            .filter(|v| !v.trim().is_empty())
            .count();
        let row = Row {
            line,
            columns: keys.clone(),
            text,
            cells,
            extra_cells,
        };
        // Blank lines between rows are not recipients, nor worth reporting.
        if record.len() <= 1 && row.is_empty() {
            continue;
        }
        if rows.len() == limits.max_rows {
            return Err(CsvError::TooManyRows {
                max_rows: limits.max_rows,
            });
        }
        rows.push(row);
    }
    Ok(Table { columns, rows })
}

fn malformed(e: &csv::Error) -> CsvError {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => CsvError::NotUtf8 {
            line: pos.as_ref().map_or(0, |p| p.line()),
        },
        _ => CsvError::Malformed {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        parse(text.as_bytes(), Limits::default()).unwrap()
    }

    fn col<'a>(t: &'a Table, key: &str) -> Vec<&'a str> {
        t.rows.iter().map(|r| r.get(key).unwrap_or("")).collect()
    }

    #[test]
    fn reads_comma_semicolon_and_tab_files() {
        for sep in [",", ";", "\t"] {
            let t = table(&format!(
                "Email{sep}First Name\na@x.io{sep}Ada\nb@x.io{sep}Bob\n"
            ));
            assert_eq!(t.columns, ["email", "first_name"], "sep {sep:?}");
            assert_eq!(col(&t, "first_name"), ["Ada", "Bob"], "sep {sep:?}");
        }
    }

    #[test]
    fn a_bom_and_crlf_are_handled() {
        let t = table("\u{feff}email,name\r\na@x.io,Ada\r\nb@x.io,Bob\r\n");
        assert_eq!(t.columns, ["email", "name"]);
        assert_eq!(col(&t, "name"), ["Ada", "Bob"]);
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_newlines() {
        let t = table("email,note\na@x.io,\"Hello, \"\"friend\"\"\nsecond line\"\nb@x.io,plain\n");
        assert_eq!(col(&t, "note"), ["Hello, \"friend\"\nsecond line", "plain"]);
        // the row after the embedded newline starts on line 4
        assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn semicolons_inside_quotes_do_not_fool_detection() {
        let t = table("\"a;b\",c\n1,2\n");
        assert_eq!(t.columns, ["a_b", "c"]);
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_stay_true() {
        let t = table("email,name\n\na@x.io,Ada\n\n\nb@x.io,Bob\n");
        assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 6]);
    }

    #[test]
    fn rows_of_empty_cells_are_kept_as_empty_rows() {
        let t = table("email,name\n,\na@x.io,Ada\n");
        assert!(t.rows[0].is_empty());
        assert!(!t.rows[1].is_empty());
    }

    #[test]
    fn short_rows_lack_values_and_long_rows_count_extra_cells() {
        let t = table("email,name,company\na@x.io,Ada\nb@x.io,Bob,ACME,surprise,\n");
        assert_eq!(t.rows[0].get("company"), None);
        assert_eq!(t.rows[0].extra_cells, 0);
        assert_eq!(t.rows[1].extra_cells, 1);
    }

    #[test]
    fn empty_cells_count_as_missing() {
        let t = table("email,name\na@x.io,   \n");
        assert_eq!(t.rows[0].get("name"), None);
        assert_eq!(t.rows[0].get("email"), Some("a@x.io"));
    }

    #[test]
    fn the_email_column_is_found_by_its_normalised_name() {
        assert_eq!(
            table("Name,E-mail Address\nA,a@x.io\n").email_column(),
            Some("e_mail_address")
        );
        assert_eq!(table("EMAIL\na@x.io\n").email_column(), Some("email"));
        assert_eq!(table("who\na@x.io\n").email_column(), None);
    }

    #[test]
    fn duplicate_and_blank_headers() {
        assert_eq!(
            parse(b"Email,email\n", Limits::default()),
            Err(CsvError::DuplicateColumn {
                key: "email".into()
            })
        );
        assert_eq!(table("email,,x\n").columns, ["email", "column_2", "x"]);
    }

    #[test]
    fn too_many_columns_or_a_huge_header_are_refused() {
        let header: Vec<String> = (0..256).map(|i| format!("c{i}")).collect();
        let err = parse(header.join(",").as_bytes(), Limits::default()).unwrap_err();
        assert_eq!(
            err,
            CsvError::TooManyColumns {
                columns: 256,
                max_columns: 100
            }
        );
        assert!(err.to_string().contains("at most 100"), "{err}");
        let long = format!(
            "email,{}
",
            "n".repeat(10_000)
        );
        let err = parse(long.as_bytes(), Limits::default()).unwrap_err();
        assert_eq!(
            err,
            CsvError::HeaderTooLong {
                column: 2,
                max_chars: 100
            }
        );
    }

    #[test]
    fn a_file_of_commas_keeps_no_cells() {
        // The shape that asked for 26 GB: wide headers, rows of nothing but commas.
        let header: Vec<String> = (0..100).map(|i| format!("{}{i}", "h".repeat(90))).collect();
        let mut text = header.join(",") + "\n";
        let row = ",".repeat(99) + "x\n";
        while text.len() + row.len() < 5 * 1024 * 1024 - 1 {
            text.push_str(&row);
        }
        let t = parse(
            text.as_bytes(),
            Limits {
                max_rows: 100_000,
                ..Limits::default()
            },
        )
        .unwrap();
        assert!(t.rows.len() > 10_000);
        assert!(t.rows.iter().all(|r| r.values().count() == 1));
    }

    #[test]
    fn limits_are_enforced_with_a_clear_error() {
        let limits = Limits {
            max_rows: 2,
            max_bytes: 1024,
            ..Limits::default()
        };
        assert!(parse(b"email\na@x.io\nb@x.io\n", limits).is_ok());
        assert_eq!(
            parse(b"email\na@x.io\nb@x.io\nc@x.io\n", limits),
            Err(CsvError::TooManyRows { max_rows: 2 })
        );
        let big = vec![b'a'; 2048];
        assert_eq!(
            parse(&big, limits),
            Err(CsvError::TooLarge { max_bytes: 1024 })
        );
    }

    #[test]
    fn not_utf8_and_empty_input_are_explained() {
        assert_eq!(
            parse(b"email\n\xff\xfe\n", Limits::default()),
            Err(CsvError::NotUtf8 { line: 2 })
        );
        assert_eq!(parse(b"  \n", Limits::default()), Err(CsvError::Empty));
    }
}
