//! Issuing a session: an access token and a refresh token of a family, written
//! in the caller's transaction (scoped by RLS to the user).

use chrono::Utc;
use diesel::PgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::roles::Role;
use super::tokens::{hash_refresh_token, new_refresh_token, Claims};
use crate::db::refresh_tokens::{self, RefreshToken};
use crate::error::ApiError;
use crate::state::AppState;

/// What login, refresh and switch-tenant answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// EdDSA JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque, single use: exchange it at `/auth/refresh` for a new pair.
    /// Absent when the request asked for it in the `cms_refresh` cookie
    /// (`session_cookie`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Issues a pair for `user_id` acting in `tenant` (if any); `family` continues
/// a rotation chain, `None` starts a new one.
pub fn issue(
    conn: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
    tenant: Option<(Uuid, Role)>,
    family: Option<Uuid>,
) -> Result<TokenPair, ApiError> {
    let now = Utc::now();
    let access_ttl = state.config.access_token_ttl;
    let claims = Claims {
        sub: user_id,
        tid: tenant.map(|(id, _)| id),
        role: tenant.map(|(_, role)| role.as_str().to_owned()),
        iat: now.timestamp(),
        exp: now.timestamp() + access_ttl.as_secs() as i64,
        jti: Uuid::now_v7(),
    };
    let access_token = state.config.signing_key.sign(&claims)?;
    let refresh_token = new_refresh_token(user_id);
    let refresh_ttl =
        chrono::Duration::from_std(state.config.refresh_token_ttl).map_err(ApiError::internal)?;
    refresh_tokens::insert(
        conn,
        &RefreshToken {
            id: Uuid::now_v7(),
            user_id,
            tenant_id: tenant.map(|(id, _)| id),
            family_id: family.unwrap_or_else(Uuid::now_v7),
            token_hash: hash_refresh_token(&refresh_token),
            expires_at: now + refresh_ttl,
            rotated_at: None,
            revoked_at: None,
            created_at: now,
        },
    )?;
    Ok(TokenPair {
        access_token,
        refresh_token: Some(refresh_token),
        token_type: "Bearer",
        expires_in: access_ttl.as_secs(),
    })
}
