//! Standard Webhooks signatures (the `standardwebhooks` crate): secrets are
//! `whsec_<base64 of 32 random bytes>`, a signature is
//! `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, several are
//! space-separated (while a rotated secret is still valid).

use base64::Engine;
use standardwebhooks::Webhook;
use uuid::Uuid;

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
}
