//! Standard Webhooks signatures (the `standardwebhooks` crate): secrets are
//! `whsec_<base64 of 32 random bytes>`, a signature is
//! `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, several are
//! space-separated (while a rotated secret is still valid).

use base64::Engine;
use standardwebhooks::Webhook;
use uuid::Uuid;

use crate::secrets::{Keys, Sealed};

/// A new endpoint secret.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The `webhook-signature` header: one signature per secret.
pub fn signature(
    secrets: &[&str],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, String> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let webhook = Webhook::new(secret).map_err(|_| "an endpoint secret is malformed")?;
        let signed = webhook
            .sign(message_id, timestamp, body)
            .map_err(|err| format!("cannot sign: {err}"))?;
        signatures.push(signed);
    }
    Ok(signatures.join(" "))
}

/// A secret as stored: sealed under `CMS_SECRETS_KEY` with the tenant as
/// associated data, so a database dump alone cannot forge deliveries.
pub fn seal(keys: &Keys, tenant: Uuid, secret: &str) -> String {
    keys.seal(tenant, secret.as_bytes()).to_text()
}

/// The secret a stored value holds. Values stored before secrets were sealed
/// (`whsec_...` in the clear) are read as they are; rotation replaces them.
pub fn open(keys: &Keys, tenant: Uuid, stored: &str) -> Result<String, String> {
    if stored.starts_with("whsec_") {
        return Ok(stored.to_owned());
    }
    let sealed = Sealed::from_text(stored).ok_or("the stored secret is malformed")?;
    let bytes = keys
        .open(tenant, &sealed)
        .map_err(|err| format!("the endpoint secret does not open: {err}"))?;
    String::from_utf8(bytes).map_err(|_| "the endpoint secret is malformed".to_owned())
}

/// The `webhook-id` of a message: `msg_<uuid without dashes>`.
pub fn message_id(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}

/// A message id as the api shows it (`msg_...`) or a bare uuid.
pub fn parse_message_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw.strip_prefix("msg_").unwrap_or(raw)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_ids_round_trip() {
        let (old, new) = (generate_secret(), generate_secret());
        let id = message_id(Uuid::now_v7());
        let header = signature(&[&new, &old], &id, 1_700_000_000, b"{}").unwrap_or_default();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|sig| sig.starts_with("v1,")));
        assert_eq!(parse_message_id(&id).map(message_id), Some(id));
    }

    #[test]
    fn stored_secrets_are_sealed_per_tenant() {
        let keys = Keys::new([7; 32], None);
        let (tenant, secret) = (Uuid::now_v7(), generate_secret());
        let stored = seal(&keys, tenant, &secret);
        assert!(!stored.contains(secret.trim_start_matches("whsec_")));
        assert_eq!(open(&keys, tenant, &stored), Ok(secret.clone()));
        assert!(open(&keys, Uuid::now_v7(), &stored).is_err());
        assert_eq!(open(&keys, tenant, &secret), Ok(secret.clone()), "legacy");
        assert!(open(&keys, tenant, "junk").is_err());
    }
}
