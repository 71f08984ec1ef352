//! One page of a long list, read from its index by sort key (docs/lists.md,
//! "Pages"): the rows after (or before) a row, never an OFFSET, so the last
//! page costs what the first does.

use crate::domain::{PageAt, Paging, RowKey};
use time::OffsetDateTime;

/// Which way a read goes: in the list's order, or against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    Forward,
    Backward,
}

/// A key before every row a list can hold, and one after, in list order.
#[derive(Debug, Clone, Copy)]
pub struct Ends {
    pub start: RowKey,
    pub end: RowKey,
}

/// Microseconds of 0001-01-01 and of 9999-12-31 (Postgres keeps both), with
/// the smallest and largest ids: no row sorts beyond them.
const EARLIEST: RowKey = RowKey {
    micros: -62_135_596_800_000_000,
    id: uuid::Uuid::nil(),
};
const LATEST: RowKey = RowKey {
    micros: 253_402_214_400_000_000,
    id: uuid::Uuid::max(),
};

impl Ends {
    /// A list in ascending order of time (the queue: soonest due first).
    pub const OLDEST_FIRST: Ends = Ends {
        start: EARLIEST,
        end: LATEST,
    };
    /// A list in descending order of time (Sent: newest first).
    pub const NEWEST_FIRST: Ends = Ends {
        start: LATEST,
        end: EARLIEST,
    };
}

/// A row's key: its sort time (to the microsecond, as Postgres keeps it) and id.
pub fn key(at: OffsetDateTime, id: uuid::Uuid) -> RowKey {
    RowKey {
        micros: (at.unix_timestamp_nanos() / 1_000) as i64,
        id,
    }
}

/// The time of a key, for the query.
pub fn time_of(key: RowKey) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(key.micros as i128 * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The page `at` of a list, `limit` rows, and its links. `fetch(toward, key,
/// n)` reads up to `n` rows strictly beyond `key` going `toward`, nearest
/// first. An address naming a row past the end (it was deleted, or sent) shows
/// the nearest end instead of nothing.
pub async fn page<T, F, Fut>(
    at: PageAt,
    limit: i64,
    ends: Ends,
    key_of: impl Fn(&T) -> RowKey,
    fetch: F,
) -> Result<(Vec<T>, Paging), sqlx::Error>
where
    F: Fn(Toward, RowKey, i64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, sqlx::Error>>,
{
    let mut at = at;
    loop {
        let (toward, from) = match at {
            PageAt::Start => (Toward::Forward, ends.start),
            PageAt::After(k) => (Toward::Forward, k),
            PageAt::Before(k) => (Toward::Backward, k),
            PageAt::End => (Toward::Backward, ends.end),
        };
        let mut rows = fetch(toward, from, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        if rows.is_empty() {
            match at {
                PageAt::After(_) => at = PageAt::End,
                PageAt::Before(_) => at = PageAt::Start,
                _ => return Ok((rows, Paging::default())),
            }
            continue;
        }
        if toward == Toward::Backward {
            rows.reverse();
        }
        let first = key_of(&rows[0]);
        let last = key_of(&rows[rows.len() - 1]);
        // The other side: nothing before the start or after the end; past a
        // row, one probe of the index says whether anything is there.
        let (before, after) = match toward {
            Toward::Forward => (
                at != PageAt::Start && !fetch(Toward::Backward, first, 1).await?.is_empty(),
                more,
            ),
            Toward::Backward => (
                more,
                at != PageAt::End && !fetch(Toward::Forward, last, 1).await?.is_empty(),
            ),
        };
        return Ok((
            rows,
            Paging {
                before: before.then_some(first),
                after: after.then_some(last),
            },
        ));
    }
}
