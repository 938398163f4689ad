//! Secrets sealed at rest with ChaCha20-Poly1305 under `CMS_SECRETS_KEY`:
//! notification provider credentials and webhook signing secrets. Each sealed value names its key (`key_id`, the first
//! 8 bytes of the key's SHA-256 in hex), so after a rotation values sealed
//! with `CMS_SECRETS_KEY_OLD` still open until they are saved again. The
//! tenant id is the associated data: a value copied to another tenant does
//! not open.

pub mod reseal;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A value sealed under one key.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The current key and, while rotating, the previous one.
#[derive(Clone)]
pub struct Keys {
    current: [u8; 32],
    old: Option<[u8; 32]>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("sealed with key {0}, which is neither CMS_SECRETS_KEY nor CMS_SECRETS_KEY_OLD")]
    UnknownKey(String),
    #[error("the sealed value does not open (tampered, or another tenant's)")]
    Corrupt,
}

/// The text form of a sealed value, for a text column:
/// `sealed:v1:{key_id}:{nonce}:{ciphertext}` (base64, no padding).
const TEXT_PREFIX: &str = "sealed:v1:";

impl Sealed {
    pub fn to_text(&self) -> String {
        use base64::engine::general_purpose::STANDARD_NO_PAD;
        use base64::Engine;
        format!(
            "{TEXT_PREFIX}{}:{}:{}",
            self.key_id,
            STANDARD_NO_PAD.encode(&self.nonce),
            STANDARD_NO_PAD.encode(&self.ciphertext)
        )
    }

    /// `None` when `text` is not the text form of a sealed value.
    pub fn from_text(text: &str) -> Option<Sealed> {
        use base64::engine::general_purpose::STANDARD_NO_PAD;
        use base64::Engine;
        let mut parts = text.strip_prefix(TEXT_PREFIX)?.split(':');
        let (key_id, nonce, ciphertext) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Sealed {
            key_id: key_id.to_owned(),
            nonce: STANDARD_NO_PAD.decode(nonce).ok()?,
            ciphertext: STANDARD_NO_PAD.decode(ciphertext).ok()?,
        })
    }
}

pub fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(key)[..8])
}

impl Keys {
    pub fn new(current: [u8; 32], old: Option<[u8; 32]>) -> Self {
        Keys { current, old }
    }

    /// The id new values are sealed under.
    pub fn current_key_id(&self) -> String {
        key_id(&self.current)
    }

    pub fn seal(&self, tenant: Uuid, plaintext: &[u8]) -> Sealed {
        let cipher = ChaCha20Poly1305::new(&Key::from(self.current));
        let nonce: [u8; 12] = rand::random();
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: tenant.as_bytes(),
                },
            )
            .unwrap_or_default();
        Sealed {
            key_id: key_id(&self.current),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub fn open(&self, tenant: Uuid, sealed: &Sealed) -> Result<Vec<u8>, SecretError> {
        let key = [Some(self.current), self.old]
            .into_iter()
            .flatten()
            .find(|key| key_id(key) == sealed.key_id)
            .ok_or_else(|| SecretError::UnknownKey(sealed.key_id.clone()))?;
        let nonce =
            <[u8; 12]>::try_from(sealed.nonce.as_slice()).map_err(|_| SecretError::Corrupt)?;
        ChaCha20Poly1305::new(&Key::from(key))
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: tenant.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_and_tenant_only() {
        let tenant = Uuid::now_v7();
        let old = Keys::new([1; 32], None);
        let sealed = old.seal(tenant, b"{\"api_id\":\"secret\"}");
        assert!(!sealed
            .ciphertext
            .windows(6)
            .any(|window| window == b"secret"));
        assert_eq!(
            old.open(tenant, &sealed).unwrap_or_default(),
            b"{\"api_id\":\"secret\"}"
        );
        assert_eq!(old.open(Uuid::now_v7(), &sealed), Err(SecretError::Corrupt));
        // Rotated: the old key still opens, a new seal uses the new key.
        let rotated = Keys::new([2; 32], Some([1; 32]));
        assert!(rotated.open(tenant, &sealed).is_ok());
        assert_ne!(rotated.seal(tenant, b"x").key_id, sealed.key_id);
        // The text form round-trips; anything else is not a sealed value.
        assert!(Sealed::from_text(&sealed.to_text()) == Some(sealed.clone()));
        assert!(Sealed::from_text("whsec_abc").is_none());
        assert!(Sealed::from_text(&format!("{}:x", sealed.to_text())).is_none());
        // The old key dropped: refused, naming the key.
        let dropped = Keys::new([2; 32], None);
        assert!(matches!(
            dropped.open(tenant, &sealed),
            Err(SecretError::UnknownKey(_))
        ));
    }
}
