//! Unsubscribe links: the token in `/u/TOKEN`, the URL, the footer, and when a
//! message may carry `List-Unsubscribe` (docs/unsubscribe.md).
//!
//! A token names one sender and one recipient address: AES-256-GCM under a key
//! derived (HKDF-SHA256) from `APP_SECRET_KEY`, over the user id and the
//! lowercased address, with the version byte as associated data, base64url.
//! Checking one needs no database, it does not show the address, and it cannot
//! be made without the key. Links made under `APP_SECRET_KEY_PREVIOUS` still
//! open after a rotation.

use crate::domain::{EmailAddress, UserId};
use crate::merge::render::Rendered;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretBox;
use uuid::Uuid;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
/// The longest token a valid address can make (254 bytes), with room to spare:
/// anything longer is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 512;

/// The placeholder a template uses for the recipient's unsubscribe link.
pub const PLACEHOLDER: &str = crate::merge::scan::UNSUBSCRIBE_URL;

#[derive(Clone)]
pub struct Links {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
    base_url: String,
    one_click: bool,
}

fn cipher(master: &SecretBox<[u8; 32]>) -> Aes256Gcm {
    crate::crypto::subkey_cipher(master, b"unsubscribe links v1")
}

impl Links {
    /// `base_url` is `APP_BASE_URL`; one-click headers need it to be https
    /// (RFC 8058).
    pub fn new(
        current: &SecretBox<[u8; 32]>,
        previous: Option<&SecretBox<[u8; 32]>>,
        base_url: &str,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        Links {
            current: cipher(current),
            previous: previous.map(cipher),
            one_click: base_url.starts_with("https://"),
            base_url,
        }
    }

    /// Whether messages may carry `List-Unsubscribe` (the app is on https).
    pub fn one_click(&self) -> bool {
        self.one_click
    }

    pub fn token(&self, user: UserId, address: &EmailAddress) -> String {
        let mut plain = user.as_uuid().as_bytes().to_vec();
        plain.extend_from_slice(address.normalized().as_bytes());
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .current
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &[VERSION],
                },
            )
            .expect("AES-GCM encryption of a short value");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn url(&self, user: UserId, address: &EmailAddress) -> String {
        format!("{}/u/{}", self.base_url, self.token(user, address))
    }

    /// The link for `to`, or one that shows where each recipient's link goes
    /// when there is no recipient yet (a preview).
    pub fn url_for(&self, user: UserId, to: Option<&EmailAddress>) -> String {
        match to {
            Some(a) => self.url(user, a),
            None => format!("{}/u/(a link for each recipient)", self.base_url),
        }
    }

    /// The sender and the (lowercased) address a token names, or `None` for
    /// anything we did not make.
    pub fn open(&self, token: &str) -> Option<(UserId, String)> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (&version, rest) = raw.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN + 16 + 16 {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let payload = || Payload {
            msg: sealed,
            aad: &[VERSION],
        };
        let plain = self
            .current
            .decrypt(Nonce::from_slice(nonce), payload())
            .ok()
            .or_else(|| {
                self.previous
                    .as_ref()?
                    .decrypt(Nonce::from_slice(nonce), payload())
                    .ok()
            })?;
        let (id, address) = plain.split_at(16);
        let user = UserId::from_uuid(Uuid::from_slice(id).ok()?);
        let address = String::from_utf8(address.to_vec()).ok()?;
        Some((user, address))
    }
}

/// What a message says about unsubscribing, decided when it is queued.
pub struct Unsubscribe {
    pub url: String,
    /// Whether `List-Unsubscribe` goes with it.
    pub header: bool,
}

impl Unsubscribe {
    /// For a message to `to` (its first To) that is rendered with `url` as
    /// `{{ unsubscribe_url }}`. `footer` asks for the footer line. The message
    /// carries the header when it links to the URL, has one To and no Cc or
    /// Bcc, and the app is on https.
    pub fn decide(links: &Links, url: String, one_recipient: bool) -> Self {
        Unsubscribe {
            header: one_recipient && links.one_click(),
            url,
        }
    }

    /// Appends the footer to both parts.
    pub fn add_footer(&self, message: &mut Rendered) {
        message.html.push_str(&format!(
            "\n<p style=\"color:#6b7280;font-size:12px\">Don\u{2019}t want these emails? <a href=\"{url}\">Unsubscribe</a>.</p>\n",
            url = self.url
        ));
        message.text.push_str(&format!(
            "\n\nDon\u{2019}t want these emails? Unsubscribe: {}\n",
            self.url
        ));
    }

    /// Decides for a message rendered with `url`, adds the footer when asked
    /// for, and returns the `List-Unsubscribe` value to store with it.
    pub fn apply(
        links: &Links,
        url: String,
        one_recipient: bool,
        footer: bool,
        message: &mut Rendered,
    ) -> Option<String> {
        let u = Unsubscribe::decide(links, url, one_recipient);
        if footer {
            u.add_footer(message);
        }
        u.list_header(message)
    }

    /// The `List-Unsubscribe` value to store with the message: only when the
    /// rendered message links to the URL at all (the footer or the placeholder).
    pub fn list_header(&self, message: &Rendered) -> Option<String> {
        let linked = message.html.contains(&self.url) || message.text.contains(&self.url);
        (self.header && linked).then(|| self.url.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new([b; 32]))
    }

    fn ada() -> EmailAddress {
        EmailAddress::parse("Ada.Lovelace@Example.com").unwrap()
    }

    #[test]
    fn a_token_opens_to_its_sender_and_address_and_hides_the_address() {
        let links = Links::new(&key(1), None, "https://mail.example.com/");
        let user = UserId::from_uuid(Uuid::now_v7());
        let token = links.token(user, &ada());
        // Not "ada" alone: three letters turn up in random base64 now and then.
        assert!(!token.to_lowercase().contains("lovelace"));
        assert!(!token.to_lowercase().contains("example"));
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            links.open(&token),
            Some((user, "ada.lovelace@example.com".into()))
        );
        assert!(
            links
                .url(user, &ada())
                .starts_with("https://mail.example.com/u/")
        );
        assert!(links.one_click());
        assert!(!Links::new(&key(1), None, "http://127.0.0.1:3000").one_click());
    }

    #[test]
    fn tampered_foreign_and_oversized_tokens_are_refused() {
        let links = Links::new(&key(1), None, "https://x.example");
        let token = links.token(UserId::from_uuid(Uuid::now_v7()), &ada());
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(links.open(&URL_SAFE_NO_PAD.encode(&raw)), None);
        let other = Links::new(&key(2), None, "https://x.example");
        assert_eq!(other.open(&token), None);
        assert_eq!(links.open(""), None);
        assert_eq!(links.open("not base64 at all!"), None);
        assert_eq!(links.open(&"A".repeat(MAX_TOKEN_LEN + 1)), None);
    }

    #[test]
    fn tokens_made_under_the_previous_key_still_open() {
        let old = Links::new(&key(1), None, "https://x.example");
        let user = UserId::from_uuid(Uuid::now_v7());
        let token = old.token(user, &ada());
        let rotated = Links::new(&key(2), Some(&key(1)), "https://x.example");
        assert_eq!(rotated.open(&token).map(|(u, _)| u), Some(user));
        // New tokens are made with the new key.
        let fresh = rotated.token(user, &ada());
        assert_eq!(old.open(&fresh), None);
        assert!(
            Links::new(&key(2), None, "https://x.example")
                .open(&fresh)
                .is_some()
        );
    }

    #[test]
    fn the_header_needs_one_recipient_https_and_a_link_in_the_message() {
        let links = Links::new(&key(1), None, "https://x.example");
        let url = links.url(UserId::from_uuid(Uuid::now_v7()), &ada());
        let mut message = Rendered {
            subject: "Hi".into(),
            html: "<p>Hi</p>".into(),
            text: "Hi".into(),
        };
        let u = Unsubscribe::decide(&links, url.clone(), true);
        assert_eq!(u.list_header(&message), None, "no link in the message");
        u.add_footer(&mut message);
        assert!(
            message
                .html
                .contains(&format!("<a href=\"{url}\">Unsubscribe</a>"))
        );
        assert!(message.text.ends_with(&format!("Unsubscribe: {url}\n")));
        assert_eq!(u.list_header(&message), Some(url.clone()));
        let several = Unsubscribe::decide(&links, url.clone(), false);
        assert_eq!(several.list_header(&message), None);
        let http = Links::new(&key(1), None, "http://x.example");
        assert_eq!(
            Unsubscribe::decide(&http, url, true).list_header(&message),
            None
        );
    }
}
