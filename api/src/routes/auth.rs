//! `/api/v1/auth`: login, refresh (rotation with reuse detection), logout, me,
//! switch-tenant, and the JWKS other services verify tokens with. Login,
//! refresh and switch-tenant can keep the refresh token in an httpOnly cookie
//! instead of the body (`auth::session_cookie`).

use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::{revoked_token_key, AuthUser};
use crate::auth::roles::Role;
use crate::auth::session::{self, TokenPair};
use crate::auth::session_cookie;
use crate::auth::tokens::{hash_refresh_token, refresh_token_user, Jwks};
use crate::auth::{password, rate_limit};
use crate::db::memberships::{self, TenantRole};
use crate::db::{refresh_tokens, tenants, users, Scope};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{rules, ValidJson, Validate};
use crate::state::AppState;
use diesel::PgConnection;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(switch_tenant)
        .service(jwks);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Tenant slug or id; defaults to the user's first tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Keep the refresh token in an httpOnly `cms_refresh` cookie (path
    /// `/api/v1/auth`, `SameSite=Strict`) instead of the answer's body: for
    /// browser apps served by this api, such as `/admin`.
    #[serde(default)]
    pub session_cookie: bool,
}

impl Validate for LoginRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::email(&mut errors, "email", &self.email);
        if self.password.is_empty() || self.password.len() > 1024 {
            errors.push(FieldError::new("password", "must be 1 to 1024 characters"));
        }
        errors
    }
}

const BAD_CREDENTIALS: &str = "the email or password is wrong";

/// Finds the caller's membership in the tenant named by slug or id.
fn membership_in(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
) -> Result<(Uuid, Role), ApiError> {
    let no_access = || ApiError::Forbidden(format!("you are not a member of tenant {key:?}"));
    let tenant = tenants::find_by_key(conn, key)?
        .filter(|tenant| tenant.status == "active")
        .ok_or_else(no_access)?;
    let membership = memberships::find_for_user(conn, tenant.id, user_id)?.ok_or_else(no_access)?;
    Ok((tenant.id, membership.role))
}

/// Log in with email and password.
///
/// Rate limited per client IP and per account (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem),
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        email,
        password,
        tenant,
        session_cookie: in_cookie,
    } = body.0;
    let ip = crate::http::client_ip(&req, &state.config)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    rate_limit::check_login(&state.kv, &state.config, &ip, &email).await?;

    let lookup_email = email.clone();
    let user = state
        .db
        .tx(Scope::global(), move |conn| {
            users::find_by_email(conn, &lookup_email).map_err(Into::into)
        })
        .await?;
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let password_ok = state
        .cpu
        .run(move || {
            Ok(match stored_hash {
                Some(hash) => password::verify(&hash, &password),
                None => password::dummy_verify(&password),
            })
        })
        .await?;
    let user = match user {
        Some(user) if password_ok => user,
        _ => return Err(ApiError::Unauthorized(BAD_CREDENTIALS.into())),
    };

    let user_id = user.id;
    let state_in_tx = state.clone();
    let pair = state
        .db
        .tx(Scope::user(user_id), move |conn| {
            let tenant = match tenant {
                Some(key) => Some(membership_in(conn, user_id, &key)?),
                None => memberships::tenants_of_user(conn, user_id)?
                    .into_iter()
                    .next()
                    .map(|m| (m.tenant_id, m.role)),
            };
            session::issue(conn, &state_in_tx, user_id, tenant, None)
        })
        .await?;
    tracing::info!(user_id = %user_id, "login succeeded");
    Ok(session_cookie::answer(
        &req,
        pair,
        in_cookie,
        state.config.refresh_token_ttl,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; leave it out to use the `cms_refresh` cookie
    /// (the new one is then set in the cookie too).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl Validate for RefreshRequest {
    fn validate(&self) -> Vec<FieldError> {
        match &self.refresh_token {
            Some(token) if token.is_empty() || token.len() > 200 => {
                vec![FieldError::new("refresh_token", "must be a refresh token")]
            }
            _ => Vec::new(),
        }
    }
}

enum RefreshOutcome {
    Issued(TokenPair),
    Rejected(&'static str),
}

/// Exchange a refresh token for a new pair.
///
/// Each refresh token works once. Presenting one that was already used revokes
/// every token of its login (a stolen token is useless once either party uses it).
/// Without `refresh_token` in the body the `cms_refresh` cookie is used, and
/// the new token replaces it there (a refused one is cleared).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem), (status = 422, body = Problem))
)]
#[post("/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let in_cookie = body.0.refresh_token.is_none();
    let Some(token) = body.0.refresh_token.or_else(|| session_cookie::read(&req)) else {
        return Err(ApiError::Unauthorized(
            "no refresh token: send refresh_token or the cms_refresh cookie".into(),
        ));
    };
    let invalid =
        || ApiError::Unauthorized("the refresh token is invalid, expired or revoked".into());
    // A refused cookie is cleared, so the browser stops sending it.
    let refused = |req: &HttpRequest| {
        let mut response = invalid().error_response();
        if in_cookie {
            session_cookie::clear_on(req, &mut response);
        }
        response
    };
    let Some(user_id) = refresh_token_user(&token) else {
        return Ok(refused(&req));
    };
    let hash = hash_refresh_token(&token);
    let state_in_tx = state.clone();
    // Rejections are returned as Ok so that a family revocation commits.
    let outcome = state
        .db
        .tx(Scope::user(user_id), move |conn| {
            let Some(row) = refresh_tokens::lock_by_hash(conn, &hash)? else {
                return Ok(RefreshOutcome::Rejected("unknown"));
            };
            if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
                return Ok(RefreshOutcome::Rejected("revoked or expired"));
            }
            if row.rotated_at.is_some() {
                refresh_tokens::revoke_family(conn, row.family_id)?;
                return Ok(RefreshOutcome::Rejected("reused: family revoked"));
            }
            refresh_tokens::mark_rotated(conn, row.id)?;
            let tenant = match row.tenant_id {
                None => None,
                Some(tenant_id) => match membership_in(conn, user_id, &tenant_id.to_string()) {
                    Ok(tenant) => Some(tenant),
                    Err(_) => {
                        refresh_tokens::revoke_family(conn, row.family_id)?;
                        return Ok(RefreshOutcome::Rejected("membership gone: family revoked"));
                    }
                },
            };
            session::issue(conn, &state_in_tx, user_id, tenant, Some(row.family_id))
                .map(RefreshOutcome::Issued)
        })
        .await?;
    match outcome {
        RefreshOutcome::Issued(pair) => Ok(session_cookie::answer(
            &req,
            pair,
            in_cookie,
            state.config.refresh_token_ttl,
        )),
        RefreshOutcome::Rejected(reason) => {
            tracing::warn!(user_id = %user_id, reason, "refresh rejected");
            Ok(refused(&req))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The session's refresh token: its whole family is revoked. Without
    /// it, the `cms_refresh` cookie's token is, and the cookie is cleared.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl Validate for LogoutRequest {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// End the session: the access token stops working at once and the refresh
/// token's family is revoked.
#[utoipa::path(
    tag = "auth",
    request_body = LogoutRequest,
    responses((status = 204), (status = 401, body = Problem)),
    security(("bearer" = []))
)]
#[post("/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: ValidJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let cookie = session_cookie::read(&req);
    let remaining = (user.claims.exp - Utc::now().timestamp()).max(1) as u64;
    state
        .kv
        .set_flag(
            &revoked_token_key(user.claims.jti),
            std::time::Duration::from_secs(remaining),
        )
        .await;
    if let Some(token) = body.0.refresh_token.or_else(|| cookie.clone()) {
        let hash = hash_refresh_token(&token);
        state
            .db
            .tx(Scope::user(user.user_id()), move |conn| {
                if let Some(row) = refresh_tokens::lock_by_hash(conn, &hash)? {
                    refresh_tokens::revoke_family(conn, row.family_id)?;
                }
                Ok(())
            })
            .await?;
    }
    let mut response = HttpResponse::NoContent().finish();
    if cookie.is_some() {
        session_cookie::clear_on(&req, &mut response);
    }
    Ok(response)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_platform_admin: bool,
    /// The tenant the token acts in.
    pub tenant_id: Option<Uuid>,
    pub role: Option<String>,
    /// Every tenant the user belongs to.
    pub memberships: Vec<TenantRole>,
}

/// The calling user, the tenant the token acts in, and all their tenants.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)),
    security(("bearer" = []))
)]
#[get("/auth/me")]
async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<web::Json<MeResponse>, ApiError> {
    let claims = user.claims.clone();
    let me = state
        .db
        .read(Scope::user(claims.sub), move |conn| {
            let row = users::find(conn, claims.sub)?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
            Ok(MeResponse {
                id: row.id,
                email: row.email,
                name: row.name,
                is_platform_admin: row.is_platform_admin,
                tenant_id: claims.tid,
                role: claims.role.clone(),
                memberships: memberships::tenants_of_user(conn, claims.sub)?,
            })
        })
        .await?;
    Ok(web::Json(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchTenantRequest {
    /// Tenant slug or id.
    pub tenant: String,
    /// Set the new refresh token in the `cms_refresh` cookie (see login).
    #[serde(default)]
    pub session_cookie: bool,
}

impl Validate for SwitchTenantRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::text(&mut errors, "tenant", &self.tenant, 100);
        errors
    }
}

/// Get a new token pair acting in another of the caller's tenants.
#[utoipa::path(
    tag = "auth",
    request_body = SwitchTenantRequest,
    responses(
        (status = 200, body = TokenPair), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/auth/switch-tenant")]
async fn switch_tenant(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: ValidJson<SwitchTenantRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = user.user_id();
    let SwitchTenantRequest {
        tenant: key,
        session_cookie: in_cookie,
    } = body.0;
    let state_in_tx = state.clone();
    let pair = state
        .db
        .tx(Scope::user(user_id), move |conn| {
            let tenant = membership_in(conn, user_id, &key)?;
            session::issue(conn, &state_in_tx, user_id, Some(tenant), None)
        })
        .await?;
    Ok(session_cookie::answer(
        &req,
        pair,
        in_cookie,
        state.config.refresh_token_ttl,
    ))
}

/// The public keys access tokens are signed with (JWKS, RFC 7517).
#[utoipa::path(tag = "auth", responses((status = 200, body = Jwks)))]
#[get("/auth/jwks.json")]
async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.config.signing_key.jwks())
}
