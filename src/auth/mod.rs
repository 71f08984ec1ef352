//! Accounts with email and password: sign up, log in, log out, and who is logged in.
//!
//! The server functions here are the whole API of this feature; the pages in
//! `crate::pages::auth` only render forms for them.

use crate::domain::UserView;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub mod ssr;

pub const SIGNUP_CLOSED: &str =
    "Sign-up is closed on this server. Ask whoever runs it to create an account for you.";

/// Creates an account and logs it in.
#[server(endpoint = "signup")]
pub async fn signup(name: String, email: String, password: String) -> Result<(), AppError> {
    use crate::domain::{EmailAddress, Password, PersonName};
    use crate::error::FieldErrors;

    let mut errors = FieldErrors::default();
    let name = errors.check("name", PersonName::parse(&name));
    let email = errors.check("email", EmailAddress::parse(&email));
    let password = errors.check("password", Password::parse(password));
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(errors.into_error());
    };

    let state = ssr::state();
    match &state.config.signup {
        crate::config::SignupPolicy::Closed => {
            return Err(AppError::BadRequest(SIGNUP_CLOSED.into()));
        }
        policy @ crate::config::SignupPolicy::Domains(domains)
            if !policy.allows_address(email.as_str()) =>
        {
            return Err(AppError::field(
                "email",
                format!(
                    "Sign-up here is only for addresses at {}.",
                    domains.join(", ")
                ),
            ));
        }
        _ => {}
    }
    let ip = ssr::client_ip().await;
    ssr::throttle::signup_allowed(&state, ip.as_deref()).await?;
    // Before the expensive hash: an address already registered needs none.
    if ssr::users::find_credentials(&state.pool, &email.normalized())
        .await?
        .is_some()
    {
        return Err(AppError::field(
            "email",
            "An account with this email already exists. Log in instead.",
        ));
    }
    let hash = ssr::password::hash(&state.hashing, password).await?;
    let user_id = ssr::users::create(&state.pool, &name, &email, &hash, false).await?;
    tracing::info!(%user_id, "account created");
    crate::accounts::ssr::start_verification(&state, user_id, name.as_str(), email.as_str())
        .await?;

    ssr::session::log_in(user_id).await?;
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Logs in with email and password, then goes to `next` (a local path) or the
/// dashboard.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: String) -> Result<(), AppError> {
    use crate::domain::safe_next_path;

    let state = ssr::state();
    let email_key = email.trim().to_lowercase();
    if email_key.is_empty() {
        return Err(AppError::field("email", "Enter your email address."));
    }
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }

    if email_key.len() > 254 {
        // No address is longer (RFC 5321); nothing to look up or count.
        return Err(AppError::WrongCredentials);
    }

    let ip = ssr::client_ip().await;
    let throttle = ssr::throttle::LoginThrottle::new(&state, &email_key, ip.as_deref());
    throttle.attempt().await?;

    let user = ssr::users::find_credentials(&state.pool, &email_key).await?;
    let verified = ssr::password::verify(
        &state.hashing,
        password,
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(AppError::WrongCredentials);
    };
    throttle.succeeded().await?;
    // Said only to someone who knows the password.
    if user.suspended {
        return Err(AppError::BadRequest(
            "This account is suspended. Ask whoever runs this server.".into(),
        ));
    }

    ssr::session::log_in(user.id).await?;
    tracing::info!(user_id = %user.id, "logged in");
    let target = safe_next_path(next.trim()).unwrap_or("/dashboard");
    leptos_axum::redirect(target);
    Ok(())
}

/// Ends the session on the server, so the old cookie is worthless.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    ssr::session::log_out().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The logged-in user, or `None`.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    ssr::session::current_user().await
}
