//! Changing a step of a campaign that has started: the step takes a copy of
//! another template, and its messages not yet claimed are rendered again from
//! it; one already claimed keeps what it was claimed with. A template the
//! recipients cannot fill in is refused at the edit, and nothing changes.

use super::repo::{self, table_of};
use crate::campaigns::CampaignStatus;
use crate::domain::{EmailAddress, UserId};
use crate::emails::campaign::{Rewrite, queued_at_step, rewrite_queued};
use crate::error::AppError;
use crate::merge::plan::fill;
use crate::state::AppState;
use crate::unsubscribe::ssr::links::Unsubscribe;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Gives step `position` a copy of the user's template `template_id`.
/// Returns how many queued messages were rendered again.
pub async fn change_step(
    state: &AppState,
    user_id: UserId,
    id: Uuid,
    position: i16,
    template_id: Uuid,
) -> Result<u64, AppError> {
    // Another user's campaign is not found, whatever the template.
    repo::load(&state.pool, user_id, id).await?;
    let field = format!("step{position}");
    let refuse = |m: String| AppError::field(field.clone(), m);
    let template = repo::compile_template(&state.pool, user_id, template_id)
        .await
        .map_err(refuse)?;
    let parts = crate::templates::ssr::repo::parts(&state.pool, user_id, template_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let source = crate::templates::ssr::repo::get(&state.pool, user_id, template_id)
        .await?
        .ok_or(AppError::NotFound)?;

    let mut tx = state.pool.begin().await?;
    let stored = repo::load_in(&mut tx, user_id, id, true).await?;
    if !matches!(
        stored.status,
        CampaignStatus::Running | CampaignStatus::Paused
    ) {
        return Err(AppError::BadRequest(
            "Only a running or paused campaign's steps change here; a draft's change in its settings."
                .into(),
        ));
    }
    let steps = repo::steps(&mut tx, id).await?;
    if !steps.iter().any(|s| s.position == position) {
        return Err(AppError::NotFound);
    }
    let csv = stored.csv.clone();
    let table = state.rendering.run(move || table_of(&csv)).await??;
    repo::fits_columns(&template, &table.columns).map_err(refuse)?;

    // Every message still queued at this step, rendered again for its
    // recipient; any that cannot be is refused with its address.
    let queued = queued_at_step(&mut tx, user_id, id, position).await?;
    let recipient_ids: Vec<Uuid> = queued.iter().map(|q| q.1).collect();
    let recipients: HashMap<Uuid, (String, serde_json::Value)> = sqlx::query!(
        "SELECT id, to_addr, merge_values FROM campaign_recipients WHERE id = ANY($1)",
        &recipient_ids
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.id, (r.to_addr, r.merge_values)))
    .collect();
    let mut rows = Vec::with_capacity(queued.len());
    for (email_id, recipient_id, subject) in queued {
        let Some((to, values)) = recipients.get(&recipient_id) else {
            continue;
        };
        let Ok(address) = EmailAddress::parse(to) else {
            continue;
        };
        let values: BTreeMap<String, String> =
            serde_json::from_value(values.clone()).unwrap_or_default();
        let url = state.links.url(user_id, &address);
        let mut message = fill(
            &template,
            values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            Some(&url),
        )
        .map_err(|e| refuse(format!("For {to}: {e}")))?;
        // A follow-up keeps step 1's subject, as a reply in its thread.
        if position > 1 {
            message.subject = subject;
        }
        let list_unsubscribe = Unsubscribe::apply(
            &state.links,
            url,
            true,
            stored.unsubscribe_footer,
            &mut message,
        );
        rows.push(Rewrite {
            id: email_id,
            subject: message.subject,
            html: message.html,
            text: message.text,
            list_unsubscribe,
        });
    }
    sqlx::query!(
        "UPDATE campaign_steps SET template_id = $3, subject = $4, body_source = $5,
                body_html = $6, body_text = $7
         WHERE campaign_id = $1 AND position = $2",
        id,
        position,
        template_id,
        parts.subject,
        source.body,
        parts.html,
        parts.text,
    )
    .execute(&mut *tx)
    .await?;
    let changed = rewrite_queued(&mut tx, user_id, rows, &parts.subject, &source.body).await?;
    tx.commit().await?;
    tracing::info!(%user_id, campaign = %id, position, changed, "campaign step changed");
    Ok(changed)
}
