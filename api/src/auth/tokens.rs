//! Access tokens: EdDSA (Ed25519) JWTs with a `kid` header, verified with that
//! algorithm only; the public key is published as a JWKS so other services can
//! verify without a shared secret. Refresh tokens: opaque random strings whose
//! SHA-256 hash is stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// The api's signing key and everything derived from it.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    public_x: String,
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The tenant the token acts in; absent for a platform admin without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// The user's role in `tid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
}

/// Claims of a preview token: read access to one page's draft, nothing else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PreviewClaims {
    /// The page.
    pub page: Uuid,
    pub tid: Uuid,
    pub exp: i64,
    pub iat: i64,
}

/// The `typ` header of preview tokens; access tokens carry `JWT`. Each kind is
/// refused where the other is expected.
const PREVIEW_TYP: &str = "preview+jwt";

/// A JSON Web Key Set with the api's public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
    pub kid: String,
    /// The Ed25519 public key, base64url.
    pub x: String,
}

impl SigningKey {
    /// Loads a PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|err| format!("not a PKCS#8 PEM Ed25519 private key: {err}"))?;
        Self::from_dalek(&key)
    }

    /// A new random key, as PKCS#8 PEM (what `api gen-key` prints).
    pub fn generate_pem() -> Result<String, String> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        key.to_pkcs8_pem(Default::default())
            .map(|pem| pem.to_string())
            .map_err(|err| err.to_string())
    }

    fn from_dalek(key: &ed25519_dalek::SigningKey) -> Result<Self, String> {
        let der = key.to_pkcs8_der().map_err(|err| err.to_string())?;
        let public = key.verifying_key().to_bytes();
        let kid = hex::encode(&Sha256::digest(public)[..8]);
        Ok(SigningKey {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            kid,
            public_x: URL_SAFE_NO_PAD.encode(public),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        self.sign_typed("JWT", claims)
    }

    pub fn sign_preview(&self, claims: &PreviewClaims) -> Result<String, ApiError> {
        self.sign_typed(PREVIEW_TYP, claims)
    }

    fn sign_typed<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Verifies an access token: signature, algorithm (EdDSA only), `kid`,
    /// `typ` and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.verify_typed(token, "JWT", &["exp", "iat", "sub", "jti"])
            .map_err(|_| ApiError::Unauthorized("the access token is invalid or expired".into()))
    }

    /// Verifies a preview token the same way.
    pub fn verify_preview(&self, token: &str) -> Result<PreviewClaims, ApiError> {
        self.verify_typed(token, PREVIEW_TYP, &["exp", "iat"])
            .map_err(|_| ApiError::Unauthorized("the preview token is invalid or expired".into()))
    }

    fn verify_typed<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        required: &[&str],
    ) -> Result<T, ()> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| ())?;
        let expected = header.alg == Algorithm::EdDSA
            && header.kid.as_deref() == Some(self.kid.as_str())
            && header.typ.as_deref() == Some(typ);
        if !expected {
            return Err(());
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 5;
        validation.set_required_spec_claims(required);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| ())
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![Jwk {
                kty: "OKP",
                crv: "Ed25519",
                alg: "EdDSA",
                key_use: "sig",
                kid: self.kid.clone(),
                x: self.public_x.clone(),
            }],
        }
    }
}

/// A new opaque refresh token: `<user id>.<256 random bits>`. The user id lets
/// the lookup run under that user's row-level-security scope.
pub fn new_refresh_token(user_id: Uuid) -> String {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    format!("{}.{}", user_id.simple(), URL_SAFE_NO_PAD.encode(secret))
}

/// The user a refresh token claims to belong to (checked by the hash lookup).
pub fn refresh_token_user(token: &str) -> Option<Uuid> {
    let (user, secret) = token.split_once('.')?;
    if secret.len() != 43 {
        return None;
    }
    Uuid::try_parse(user).ok()
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::now_v7(),
            tid: Some(Uuid::now_v7()),
            role: Some("editor".into()),
            exp: now + exp_offset,
            iat: now,
            jti: Uuid::now_v7(),
        }
    }

    #[test]
    fn signs_and_verifies_round_trip() {
        let key = SigningKey::from_pem(&SigningKey::generate_pem().unwrap()).unwrap();
        let claims = claims(60);
        let token = key.sign(&claims).unwrap();
        assert_eq!(key.verify(&token).unwrap(), claims);
    }

    #[test]
    fn rejects_other_keys_and_expired_tokens() {
        let key = SigningKey::from_pem(&SigningKey::generate_pem().unwrap()).unwrap();
        let other = SigningKey::from_pem(&SigningKey::generate_pem().unwrap()).unwrap();
        assert!(key.verify(&other.sign(&claims(60)).unwrap()).is_err());
        assert!(key.verify(&key.sign(&claims(-60)).unwrap()).is_err());
    }

    #[test]
    fn preview_and_access_tokens_are_not_interchangeable() {
        let key = SigningKey::from_pem(&SigningKey::generate_pem().unwrap()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let preview = key
            .sign_preview(&PreviewClaims {
                page: Uuid::now_v7(),
                tid: Uuid::now_v7(),
                exp: now + 60,
                iat: now,
            })
            .unwrap();
        assert!(key.verify_preview(&preview).is_ok());
        assert!(key.verify(&preview).is_err());
        assert!(key.verify_preview(&key.sign(&claims(60)).unwrap()).is_err());
    }

    #[test]
    fn refresh_tokens_name_their_user() {
        let user = Uuid::now_v7();
        let token = new_refresh_token(user);
        assert_eq!(refresh_token_user(&token), Some(user));
        assert_eq!(refresh_token_user("garbage"), None);
        assert_ne!(
            hash_refresh_token(&token),
            hash_refresh_token(&new_refresh_token(user))
        );
    }
}
