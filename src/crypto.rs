//! Encryption at rest for OAuth tokens: AES-256-GCM with a random nonce, under a
//! key derived (HKDF-SHA256) from `APP_SECRET_KEY`, and the owning row's id plus
//! the column name as associated data, so a ciphertext copied to another row or
//! column does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use uuid::Uuid;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
#[error("a stored token could not be decrypted (wrong APP_SECRET_KEY, or the row was altered)")]
pub struct DecryptError;

/// An AES-256-GCM cipher under the subkey of `APP_SECRET_KEY` for one use:
/// HKDF-SHA256 with the salt "mailmerger" and `info` naming the use, so no two
/// uses share a key.
pub fn subkey_cipher(master: &SecretBox<[u8; 32]>, info: &[u8]) -> Aes256Gcm {
    let hk = Hkdf::<Sha256>::new(Some(b"mailmerger"), master.expose_secret());
    let mut key = [0u8; 32];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    hk.expand(info, &mut key)
        .expect("32 bytes from HKDF-SHA256");
    let cipher = Aes256Gcm::new_from_slice(&key).expect("a 32-byte key");
    key.fill(0);
    cipher
}

impl TokenCipher {
    pub fn new(master: &SecretBox<[u8; 32]>) -> Self {
        TokenCipher {
            cipher: subkey_cipher(master, b"oauth tokens at rest v1"),
        }
    }

    fn aad(row: Uuid, column: &str) -> Vec<u8> {
        let mut aad = row.as_bytes().to_vec();
        aad.extend_from_slice(column.as_bytes());
        aad
    }

    /// `nonce || ciphertext`.
    pub fn encrypt(&self, row: Uuid, column: &str, plaintext: &SecretString) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let aad = Self::aad(row, column);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of a short token");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(
        &self,
        row: Uuid,
        column: &str,
        stored: &[u8],
    ) -> Result<SecretString, DecryptError> {
        if stored.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let aad = Self::aad(row, column);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| DecryptError)
    }
}

/// Whether `a` equals `b`, in a time that says nothing about where they
/// differ: both are hashed first, and the equal-length digests compared whole.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest;
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> TokenCipher {
        TokenCipher::new(&SecretBox::new(Box::new([byte; 32])))
    }

    #[test]
    fn a_token_comes_back_only_for_its_own_row_and_column() {
        let c = cipher(7);
        let row = Uuid::new_v4();
        let token = SecretString::from("1//refresh-abc");
        let stored = c.encrypt(row, "refresh_token", &token);
        assert!(
            !stored.windows(7).any(|w| w == b"refresh"),
            "plaintext visible"
        );
        assert_eq!(
            c.decrypt(row, "refresh_token", &stored)
                .unwrap()
                .expose_secret(),
            "1//refresh-abc"
        );
        assert!(c.decrypt(Uuid::new_v4(), "refresh_token", &stored).is_err());
        assert!(c.decrypt(row, "access_token", &stored).is_err());
        assert!(cipher(8).decrypt(row, "refresh_token", &stored).is_err());
    }

    #[test]
    fn the_same_token_encrypts_differently_each_time() {
        let c = cipher(1);
        let row = Uuid::new_v4();
        let t = SecretString::from("ya29.x");
        assert_ne!(c.encrypt(row, "a", &t), c.encrypt(row, "a", &t));
    }
}
