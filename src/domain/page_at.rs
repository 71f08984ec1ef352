//! Where a page of a long list starts (docs/lists.md): at the start, after or
//! before one row, or at the end. A list is read from its index by a row's sort
//! key, never by counting rows to skip, so page 1,000 costs what page 1 does.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A row's place in a list: its sort time, in microseconds since 1970 (what
/// Postgres keeps), and its id, which breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RowKey {
    pub micros: i64,
    pub id: Uuid,
}

impl RowKey {
    /// `1764712345123456_<uuid>`, as the address carries it.
    pub fn parse(raw: &str) -> Option<RowKey> {
        let (micros, id) = raw.split_once('_')?;
        Some(RowKey {
            micros: micros.parse().ok()?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

impl std::fmt::Display for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.micros, self.id)
    }
}

impl From<RowKey> for String {
    fn from(k: RowKey) -> String {
        k.to_string()
    }
}

impl TryFrom<String> for RowKey {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        RowKey::parse(&raw).ok_or_else(|| format!("not a row key: {raw:?}"))
    }
}

/// Which page of a list to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PageAt {
    /// The first rows (the newest, or the soonest due).
    #[default]
    Start,
    /// The rows that follow this one.
    After(RowKey),
    /// The rows that come just before this one.
    Before(RowKey),
    /// The last rows (the oldest, or the latest due).
    End,
}

impl PageAt {
    /// The page an address asks for (`?after=`, `?before=` or `?at=end`).
    /// Anything unreadable is the start.
    pub fn from_query(after: Option<&str>, before: Option<&str>, at: Option<&str>) -> PageAt {
        if let Some(k) = after.and_then(RowKey::parse) {
            PageAt::After(k)
        } else if let Some(k) = before.and_then(RowKey::parse) {
            PageAt::Before(k)
        } else if at == Some("end") {
            PageAt::End
        } else {
            PageAt::Start
        }
    }

    /// The query parameter that asks for this page, or "" for the start.
    pub fn query(self) -> String {
        match self {
            PageAt::Start => String::new(),
            PageAt::After(k) => format!("after={k}"),
            PageAt::Before(k) => format!("before={k}"),
            PageAt::End => "at=end".into(),
        }
    }
}

impl From<PageAt> for String {
    fn from(p: PageAt) -> String {
        p.query()
    }
}

impl TryFrom<String> for PageAt {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        if raw.is_empty() {
            return Ok(PageAt::Start);
        }
        let (key, value) = raw
            .split_once('=')
            .ok_or_else(|| format!("not a page: {raw:?}"))?;
        let page = match key {
            "after" => PageAt::from_query(Some(value), None, None),
            "before" => PageAt::from_query(None, Some(value), None),
            "at" => PageAt::from_query(None, None, Some(value)),
            _ => PageAt::Start,
        };
        if page == PageAt::Start {
            return Err(format!("not a page: {raw:?}"));
        }
        Ok(page)
    }
}

/// The links a page of a list shows: to the rows before its first and after
/// its last, when there are any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paging {
    /// The first row's key, if rows come before it.
    pub before: Option<RowKey>,
    /// The last row's key, if rows come after it.
    pub after: Option<RowKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_survives_the_address_and_nonsense_is_the_start() {
        let k = RowKey {
            micros: 1_764_712_345_123_456,
            id: Uuid::from_u128(7),
        };
        for p in [
            PageAt::Start,
            PageAt::After(k),
            PageAt::Before(k),
            PageAt::End,
        ] {
            assert_eq!(PageAt::try_from(String::from(p)), Ok(p));
        }
        assert_eq!(
            PageAt::from_query(Some(&k.to_string()), None, None),
            PageAt::After(k)
        );
        assert_eq!(
            RowKey::parse("-5_00000000-0000-0000-0000-000000000007").map(|k| k.micros),
            Some(-5)
        );
        for bad in [
            "",
            "12",
            "x_00000000-0000-0000-0000-000000000007",
            "12_nope",
            "12_",
        ] {
            assert_eq!(RowKey::parse(bad), None, "{bad}");
            assert_eq!(
                PageAt::from_query(Some(bad), Some(bad), Some("start")),
                PageAt::Start
            );
        }
        assert!(PageAt::try_from("after=12".to_string()).is_err());
        assert!(PageAt::try_from("page=2".to_string()).is_err());
    }
}
