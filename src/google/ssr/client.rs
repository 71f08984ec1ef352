//! Calls to Google: the OAuth web-server flow (PKCE), userinfo and revoke. Every
//! URL and the timeout come from configuration, so tests point it at the fake.

use crate::config::GoogleConfig;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;
use url::Url;

pub const GMAIL_SEND: &str = "https://www.googleapis.com/auth/gmail.send";
/// Headers and labels, never bodies: what stop on reply reads (a restricted
/// scope, asked for only when the user turns it on).
pub const GMAIL_METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";
pub const IDENTITY_SCOPES: [&str; 3] = ["openid", "email", "profile"];

type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub struct GoogleClient {
    oauth: OAuthClient,
    /// No redirects: an OAuth endpoint that redirects is not to be followed.
    http: reqwest::Client,
    userinfo_url: Url,
    revoke_url: Url,
    pub gmail_api_url: Url,
}

/// Why we are sending the user to Google.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum Intent {
    /// "Sign in with Google": identity only.
    SignIn,
    /// "Connect Gmail": adds gmail.send, offline, with consent.
    Connect,
    /// "Turn on stop on reply": gmail.send and gmail.metadata (incremental
    /// consent: what was granted before is kept).
    Replies,
}

pub struct AuthStart {
    pub url: Url,
    pub state: String,
    pub verifier: String,
}

/// Tokens as Google returned them.
pub struct Tokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<Duration>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
    /// The hosted domain of a Google Workspace account (absent for gmail.com).
    #[serde(default)]
    pub hd: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// The refresh token (or code) is dead: revoked, expired, or replaced.
    #[error("Google refused the grant (invalid_grant)")]
    InvalidGrant,
    #[error("Google answered {0}")]
    Refused(String),
    #[error("could not reach Google: {0}")]
    Network(String),
}

impl GoogleClient {
    pub fn new(config: &GoogleConfig, redirect: Url, timeout: Duration) -> anyhow::Result<Self> {
        let oauth = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                config.client_secret.expose_secret().to_string(),
            ))
            .set_auth_uri(AuthUrl::from_url(config.auth_url.clone()))
            .set_token_uri(TokenUrl::from_url(config.token_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()?;
        Ok(GoogleClient {
            oauth,
            http,
            userinfo_url: config.userinfo_url.clone(),
            revoke_url: config.revoke_url.clone(),
            gmail_api_url: config.gmail_api_url.clone(),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The consent URL, with a fresh `state` and PKCE verifier to keep in the session.
    pub fn authorize_url(&self, intent: Intent, login_hint: Option<&str>) -> AuthStart {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .oauth
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_scopes(IDENTITY_SCOPES.iter().map(|s| Scope::new(s.to_string())));
        if intent == Intent::Replies {
            request = request.add_scope(Scope::new(GMAIL_METADATA.into()));
        }
        if intent != Intent::SignIn {
            request = request
                .add_scope(Scope::new(GMAIL_SEND.into()))
                .add_extra_param("access_type", "offline")
                .add_extra_param("prompt", "consent")
                .add_extra_param("include_granted_scopes", "true");
        }
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, state) = request.url();
        AuthStart {
            url,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(&self, code: &str, verifier: &str) -> Result<Tokens, GoogleError> {
        let response = self
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(tokens(&response))
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Tokens, GoogleError> {
        let token = RefreshToken::new(refresh_token.expose_secret().to_string());
        let response = self
            .oauth
            .exchange_refresh_token(&token)
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(tokens(&response))
    }

    #[tracing::instrument(skip_all)]
    pub async fn userinfo(&self, access_token: &SecretString) -> Result<UserInfo, GoogleError> {
        let response = self
            .http
            .get(self.userinfo_url.clone())
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| GoogleError::Network(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(GoogleError::Refused(format!(
                "{} to userinfo",
                response.status()
            )));
        }
        response
            .json::<UserInfo>()
            .await
            .map_err(|e| GoogleError::Refused(format!("an unreadable userinfo ({e})")))
    }

    /// Revokes a token (and with it its refresh token). oauth2's own revoke refuses
    /// plain-http URLs, which the fake uses, so this is a plain POST.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, token: &SecretString) -> Result<(), GoogleError> {
        let response = self
            .http
            .post(self.revoke_url.clone())
            .form(&[("token", token.expose_secret())])
            .send()
            .await
            .map_err(|e| GoogleError::Network(e.without_url().to_string()))?;
        let status = response.status();
        // 400 invalid_token: already revoked, which is what we wanted.
        if status.is_success() || status == reqwest::StatusCode::BAD_REQUEST {
            Ok(())
        } else {
            Err(GoogleError::Refused(format!("{status} to revoke")))
        }
    }
}

fn tokens(response: &oauth2::basic::BasicTokenResponse) -> Tokens {
    Tokens {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().clone())),
        expires_in: response.expires_in(),
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> GoogleError {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::InvalidGrant => GoogleError::InvalidGrant,
            other => GoogleError::Refused(other.to_string()),
        },
        RequestTokenError::Request(e) => GoogleError::Network(e.to_string()),
        RequestTokenError::Parse(e, _) => {
            GoogleError::Refused(format!("an unreadable answer ({e})"))
        }
        RequestTokenError::Other(e) => GoogleError::Refused(e),
    }
}

/// Whether the granted scopes let us send mail.
pub fn can_send(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == GMAIL_SEND)
}

/// Whether the granted scopes let us read message headers (stop on reply).
pub fn can_read(scopes: &[String]) -> bool {
    scopes.iter().any(|s| {
        s == GMAIL_METADATA
            || s == "https://www.googleapis.com/auth/gmail.readonly"
            || s == "https://mail.google.com/"
    })
}
