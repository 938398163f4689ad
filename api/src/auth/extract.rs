//! Request extractors that carry who is calling, each building on the last:
//! `AuthUser` (a valid access token) -> `TenantCtx` (acting in a tenant, with a
//! role and a transaction helper that sets the RLS scope) and `PlatformAdmin`.
//! Authorization in a handler then reads as one line: `ctx.require(Permission::X)?`.

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use diesel::PgConnection;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::roles::{Permission, Role};
use super::tokens::Claims;
use crate::db::audit::{Actor, Audit};
use crate::db::positions::{self, Lsn};
use crate::db::{users, Scope};
use crate::error::ApiError;
use crate::http::request_id::RequestId;
use crate::state::AppState;

/// The caller of a request with a valid, unrevoked access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub claims: Claims,
    pub request_id: Option<String>,
}

impl AuthUser {
    pub fn user_id(&self) -> Uuid {
        self.claims.sub
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.claims.sub),
            request_id: self.request_id.clone(),
        }
    }
}

/// Key under which a revoked access token's id is remembered until it expires.
pub fn revoked_token_key(jti: Uuid) -> String {
    format!("revoked-jti:{jti}")
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("an access token is required (Authorization: Bearer ...)".into())
    })?;
    value
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = state(req);
        let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
        Box::pin(async move {
            let state = state?;
            let claims = state.config.signing_key.verify(&token?)?;
            if state.kv.has_flag(&revoked_token_key(claims.jti)).await {
                return Err(ApiError::Unauthorized(
                    "the access token has been revoked".into(),
                ));
            }
            let auth = AuthUser { claims, request_id };
            // With replicas, the user's reads see their newest write even
            // when the client did not send its position back.
            if state.db.replicas().is_some() {
                let last_write = state
                    .kv
                    .get_value(&crate::http::consistency::last_write_key(auth.user_id()))
                    .await
                    .and_then(|text| Lsn::parse(&text))
                    .unwrap_or_default();
                positions::note_user(auth.user_id(), last_write);
            }
            Ok(auth)
        })
    }
}

/// The caller acting in a tenant (the token's `tid`) with their role there.
pub struct TenantCtx {
    pub user: AuthUser,
    pub tenant_id: Uuid,
    pub role: Role,
    state: web::Data<AppState>,
}

impl TenantCtx {
    /// 403 unless the caller's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }

    /// Audit records of this caller's writes in this tenant.
    pub fn audit(&self) -> Audit {
        Audit {
            actor: self.user.actor(),
            tenant_id: self.tenant_id,
        }
    }

    /// Runs `job` in one transaction scoped to this tenant and user by RLS.
    pub async fn tx<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.state
            .db
            .tx(Scope::tenant(self.tenant_id, self.user.user_id()), job)
            .await
    }
}

impl TenantCtx {
    /// Runs `job` in a `READ ONLY` transaction scoped like `tx`, on a read
    /// replica when one has this user's writes (see `Db::read`).
    pub async fn read<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.state
            .db
            .read(Scope::tenant(self.tenant_id, self.user.user_id()), job)
            .await
    }
}

impl FromRequest for TenantCtx {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        let state = state(req);
        Box::pin(async move {
            let user = user.await?;
            let (Some(tenant_id), Some(role)) = (user.claims.tid, user.claims.role.as_deref())
            else {
                return Err(ApiError::Forbidden(
                    "this token acts in no tenant: log in with a tenant or call /auth/switch-tenant".into(),
                ));
            };
            let role = role
                .parse::<Role>()
                .map_err(|_| ApiError::Unauthorized("unknown role in token".into()))?;
            Ok(TenantCtx {
                user,
                tenant_id,
                role,
                state: state?,
            })
        })
    }
}

/// A caller whose account is a platform admin (checked in the database on every
/// request, so revoking the flag takes effect at once).
pub struct PlatformAdmin {
    pub user: AuthUser,
    state: web::Data<AppState>,
}

impl PlatformAdmin {
    /// Audit records of this admin's writes to `tenant_id`.
    pub fn audit_in(&self, tenant_id: Uuid) -> Audit {
        Audit {
            actor: self.user.actor(),
            tenant_id,
        }
    }

    /// Runs `job` in a transaction scoped to `tenant_id` (for its audit record).
    pub async fn tx_in<T, F>(&self, tenant_id: Uuid, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.state
            .db
            .tx(Scope::tenant(tenant_id, self.user.user_id()), job)
            .await
    }

    pub async fn tx<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.state
            .db
            .tx(Scope::user(self.user.user_id()), job)
            .await
    }
}

impl FromRequest for PlatformAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        let state = state(req);
        Box::pin(async move {
            let user = user.await?;
            let state = state?;
            let user_id = user.user_id();
            let is_admin = state
                .db
                .tx(Scope::user(user_id), move |conn| {
                    Ok(users::find(conn, user_id)?.is_some_and(|row| row.is_platform_admin))
                })
                .await?;
            if !is_admin {
                return Err(ApiError::Forbidden(
                    "only platform admins manage tenants".into(),
                ));
            }
            Ok(PlatformAdmin { user, state })
        })
    }
}
