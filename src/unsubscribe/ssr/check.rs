//! The claim-time check of the suppression list: asked about every message a
//! claim is about to take, so an address that unsubscribed after its message
//! was queued still gets nothing (docs/unsubscribe.md).

use super::repo;
use crate::emails::{ClaimCheck, ClaimContext, Verdict};
use crate::unsubscribe::Reason;
use async_trait::async_trait;
use sqlx::PgConnection;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A message whose To is suppressed ends `suppressed`; a suppressed Cc or Bcc
/// is dropped from its message, which goes to the rest.
pub struct NotSuppressed;

#[async_trait]
impl ClaimCheck for NotSuppressed {
    fn name(&self) -> &'static str {
        "not_suppressed"
    }

    async fn messages(
        &self,
        conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        if claim.candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = claim.candidates.iter().map(|c| c.id).collect();
        let hits = sqlx::query!(
            r#"SELECT e.id AS "id!", a.address AS "address!", a.field AS "field!",
                      s.reason, s.created_at
               FROM emails e
               CROSS JOIN LATERAL (
                   SELECT lower(t) AS address, 'to' AS field FROM unnest(e.to_addrs) t
                   UNION ALL SELECT lower(c), 'cc' FROM unnest(e.cc_addrs) c
                   UNION ALL SELECT lower(b), 'bcc' FROM unnest(e.bcc_addrs) b) a
               JOIN suppressions s ON s.user_id = e.user_id AND s.address = a.address
               WHERE e.id = ANY($1)"#,
            &ids,
        )
        .fetch_all(conn)
        .await?;
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let mut to: BTreeMap<Uuid, String> = BTreeMap::new();
        let mut dropped: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        for h in hits {
            if h.field == "to" {
                let reason = Reason::parse(&h.reason).unwrap_or(Reason::Added);
                to.entry(h.id)
                    .or_insert_with(|| repo::not_sent_because(&h.address, reason, h.created_at));
            } else {
                dropped.entry(h.id).or_default().push(h.address);
            }
        }
        let mut verdicts: Vec<Verdict> = to
            .into_iter()
            .map(|(id, reason)| Verdict::Suppress { id, reason })
            .collect();
        verdicts.extend(
            dropped
                .into_iter()
                .map(|(id, addresses)| Verdict::DropRecipients { id, addresses }),
        );
        Ok(verdicts)
    }
}
