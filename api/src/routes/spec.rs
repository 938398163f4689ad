//! `/api/v1/openapi.json`: the OpenAPI document of this api (the docs UI at
//! `/api/docs/` reads it). Rendered once at startup.

use actix_web::{get, web, HttpResponse};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(openapi_json);
}

/// The rendered document, shared by every worker.
pub struct SpecJson(pub web::Bytes);

/// This OpenAPI document.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "application/json", description = "OpenAPI 3.1 document")))]
#[get("/openapi.json")]
async fn openapi_json(spec: web::Data<SpecJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.clone()) // Bytes: a reference-count bump, not a copy
}
