//! Who is an admin, and what the Admin page reads.

use super::{AdminUser, AdminView};
use crate::config::SignupPolicy;
use crate::domain::{UserId, UserView};
use crate::error::AppError;
use crate::state::AppState;

/// The most users the page lists.
pub const LISTED: i64 = 500;

/// Named in `ADMIN_EMAILS`, and the address verified (someone else could have
/// registered it, unverified).
pub fn is_admin(state: &AppState, user: &UserView) -> bool {
    user.email_verified
        && state
            .config
            .admin_emails
            .contains(&user.email.trim().to_lowercase())
}

/// The boundary of the admin server functions: anyone else gets "not found",
/// as if the page did not exist.
pub async fn admin() -> Result<(AppState, UserId), AppError> {
    let user = crate::auth::ssr::session::current_user()
        .await?
        .ok_or(AppError::Unauthorized)?;
    let state = crate::auth::ssr::state();
    if !is_admin(&state, &user) {
        return Err(AppError::NotFound);
    }
    Ok((state, user.id))
}

pub async fn users(state: &AppState, admin: UserId) -> Result<AdminView, AppError> {
    let rows = sqlx::query!(
        r#"SELECT u.id AS "id!: UserId", u.name, u.email, u.created_at,
                  u.email_verified_at IS NOT NULL AS "verified!",
                  u.suspended_at IS NOT NULL AS "suspended!",
                  (SELECT count(*) FROM templates t WHERE t.user_id = u.id) AS "templates!",
                  (SELECT coalesce(sum(f.size_bytes), 0)::bigint FROM files f WHERE f.user_id = u.id) AS "files!"
           FROM users u ORDER BY u.created_at, u.id LIMIT $1"#,
        LISTED + 1
    )
    .fetch_all(&state.pool)
    .await?;
    let more = rows.len() as i64 > LISTED;
    let ids: Vec<UserId> = rows.iter().take(LISTED as usize).map(|r| r.id).collect();
    let mail = crate::emails::read::per_user(&state.pool, &ids).await?;
    let zone = crate::settings::ssr::zone::UserZone::of_user(&state.pool, admin).await?;
    let users = rows
        .into_iter()
        .take(LISTED as usize)
        .map(|r| {
            let (queued, sent_today) = mail.get(&r.id).copied().unwrap_or((0, 0));
            AdminUser {
                id: r.id.to_string(),
                name: r.name,
                email: r.email,
                verified: r.verified,
                suspended: r.suspended,
                is_you: r.id == admin,
                created: zone.day(r.created_at),
                templates: r.templates,
                queued,
                sent_today,
                files_bytes: r.files,
            }
        })
        .collect();
    let signup = match &state.config.signup {
        SignupPolicy::Open => "open".to_string(),
        SignupPolicy::Domains(d) => format!("open to {}", d.join(", ")),
        SignupPolicy::Closed => "closed".to_string(),
    };
    Ok(AdminView {
        users,
        more,
        signup,
    })
}
