//! The api's one error type. Every failure a handler can meet maps to an RFC 9457
//! `application/problem+json` answer; internal causes are logged with the request
//! and answered generically, never shown to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub use cms_shared::problem::{FieldError, Problem};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the resource does not exist")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the slot was taken meanwhile: choose another (nearest_slots lists the closest free ones)"
    )]
    SlotTaken {
        nearest: Vec<cms_shared::slots::Slot>,
    },
    #[error("the media is in use: remove it from what uses it (used_by), or delete with force=true as an admin")]
    InUse {
        used_by: Vec<cms_shared::media::MediaUse>,
    },
    #[error(
        "the resource changed since it was read: fetch it again and retry with its current ETag"
    )]
    PreconditionFailed,
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected a body of type application/json")]
    UnsupportedMediaType,
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("too many attempts; retry after {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the service is busy or a dependency is unavailable; retry shortly")]
    Unavailable(String),
    /// The database connection broke or the server is shutting down or
    /// starting: 503 like `Unavailable`, and the connection is not reused.
    #[error("the database is unavailable; retry shortly")]
    DatabaseLost(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "malformed-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::SlotTaken { .. } => "slot-taken",
            ApiError::InUse { .. } => "in-use",
            ApiError::PreconditionFailed => "precondition-failed",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::Validation(_) => "validation-failed",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Unavailable(_) | ApiError::DatabaseLost(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The text the client sees: internal causes stay in the log.
    fn public_detail(&self) -> String {
        match self {
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            ApiError::Unavailable(_) | ApiError::DatabaseLost(_) => {
                "the service is busy or a dependency is unavailable; retry shortly".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::SlotTaken { .. } | ApiError::InUse { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::DatabaseLost(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let problem = Problem {
            problem_type: format!("https://cms.invalid/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.public_detail(),
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            nearest_slots: match self {
                ApiError::SlotTaken { nearest } => Some(nearest.clone()),
                _ => None,
            },
            used_by: match self {
                ApiError::InUse { used_by } => Some(used_by.clone()),
                _ => None,
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable(_) | ApiError::DatabaseLost(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(problem)
    }
}

/// Constraint names from the migrations, mapped to what the client did wrong.
fn constraint_error(kind: &DatabaseErrorKind, constraint: Option<&str>) -> Option<ApiError> {
    let error = match (kind, constraint?) {
        (DatabaseErrorKind::UniqueViolation, "tenants_slug_key") => {
            ApiError::Conflict("a tenant with this slug already exists".into())
        }
        (DatabaseErrorKind::UniqueViolation, "users_email_key") => {
            ApiError::Conflict("a user with this email already exists".into())
        }
        (DatabaseErrorKind::UniqueViolation, "domains_host_key") => {
            ApiError::Conflict("this host is already attached to a site".into())
        }
        (DatabaseErrorKind::UniqueViolation, "memberships_tenant_user_key") => {
            ApiError::Conflict("the user is already a member of this tenant".into())
        }
        (DatabaseErrorKind::UniqueViolation, "pages_site_locale_path_key") => {
            ApiError::Conflict("another page of this site already has this path and locale".into())
        }
        (DatabaseErrorKind::UniqueViolation, "pages_live_path_key") => ApiError::Conflict(
            "another published page of this site answers on this path and locale".into(),
        ),
        (DatabaseErrorKind::UniqueViolation, "custom_modules_tenant_key_key") => {
            ApiError::Conflict("a custom module with this key already exists".into())
        }
        (DatabaseErrorKind::UniqueViolation, "clinics_tenant_slug") => {
            ApiError::Conflict("another clinic already has this slug".into())
        }
        (DatabaseErrorKind::UniqueViolation, "specializations_tenant_slug") => {
            ApiError::Conflict("another specialization already has this slug".into())
        }
        (DatabaseErrorKind::UniqueViolation, "service_categories_tenant_slug") => {
            ApiError::Conflict("another service category already has this slug".into())
        }
        (DatabaseErrorKind::UniqueViolation, "services_tenant_slug") => {
            ApiError::Conflict("another service already has this slug".into())
        }
        (DatabaseErrorKind::UniqueViolation, "doctors_tenant_slug") => {
            ApiError::Conflict("another doctor already has this slug".into())
        }
        (DatabaseErrorKind::UniqueViolation, "doctors_tenant_user") => {
            ApiError::Conflict("this account is already linked to another doctor".into())
        }
        (DatabaseErrorKind::ForeignKeyViolation, "appointments_clinic_id_fkey")
        | (DatabaseErrorKind::ForeignKeyViolation, "appointments_doctor_id_fkey")
        | (DatabaseErrorKind::ForeignKeyViolation, "appointments_service_id_fkey") => {
            ApiError::Conflict("appointments still refer to it".into())
        }
        (DatabaseErrorKind::ForeignKeyViolation, "doctors_specialization_id_fkey") => {
            ApiError::Conflict("doctors still have this specialization".into())
        }
        (DatabaseErrorKind::ForeignKeyViolation, "reviews_patient_id_fkey")
        | (DatabaseErrorKind::ForeignKeyViolation, "appointments_patient_id_fkey") => {
            ApiError::Conflict("appointments still refer to this patient".into())
        }
        (DatabaseErrorKind::ForeignKeyViolation, "services_category_id_fkey") => {
            ApiError::Conflict("services still belong to this category".into())
        }
        (DatabaseErrorKind::CheckViolation, "memberships_role_check") => {
            ApiError::invalid("role", "is not a known role")
        }
        (DatabaseErrorKind::CheckViolation, "tenants_status_check") => {
            ApiError::invalid("status", "must be active or suspended")
        }
        _ => return None,
    };
    Some(error)
}

/// Messages of the server ending sessions (SQLSTATE class 57: admin or
/// crash shutdown) or not yet taking them (57P03); diesel reports their kind
/// as `Unknown` while the connection still looks open.
fn server_going_away(message: &str) -> bool {
    message.contains("terminating connection")
        || message.contains("the database system is shutting down")
        || message.contains("the database system is starting up")
        || message.contains("the database system is in recovery mode")
}

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => ApiError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                constraint_error(kind, info.constraint_name()).unwrap_or_else(|| match kind {
                    DatabaseErrorKind::SerializationFailure => {
                        ApiError::Unavailable(error.to_string())
                    }
                    DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand => {
                        ApiError::DatabaseLost(error.to_string())
                    }
                    _ if server_going_away(info.message()) => {
                        ApiError::DatabaseLost(error.to_string())
                    }
                    _ => ApiError::internal(&error),
                })
            }
            _ => ApiError::internal(&error),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(error: r2d2::Error) -> Self {
        ApiError::Unavailable(format!("database pool: {error}"))
    }
}
